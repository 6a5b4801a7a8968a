#!/bin/sh
# install-deps.sh: installs the Debian packages tsminc and tsermine need (run as root; used by setup.sh and CI).
set -eu
packages="
  qemu-system-x86 qemu-system-arm
  build-essential bc bison flex perl libelf-dev libssl-dev cpio xz-utils bzip2 tar lz4
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  shellcheck ca-certificates debootstrap util-linux time qemu-user-static
"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086 # the list is split into package names on purpose
$sudo apt-get install -y -q --no-install-recommends $packages

# Host-mode --arch runs foreign programs through qemu-user, which binfmt_misc hands them to. Debian's
# package registers its handlers only under systemd and outside containers: register the two tsminc
# runs (each line of /usr/lib/binfmt.d is what the kernel's register file takes), if the kernel lets us.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
	$sudo mount -t binfmt_misc binfmt_misc "$binfmt" ||
		echo "install-deps: cannot mount binfmt_misc: host-mode --arch arm64|arm will not work here" >&2
fi
for name in qemu-aarch64 qemu-arm; do
	if [ -e "$binfmt/register" ] && [ ! -e "$binfmt/$name" ]; then
		$sudo sh -c "cat /usr/lib/binfmt.d/$name.conf >$binfmt/register" ||
			echo "install-deps: cannot register $name with binfmt_misc" >&2
	fi
done
