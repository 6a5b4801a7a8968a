#!/bin/sh
# install-deps.sh: installs the Debian packages tsminc and tsermine need (run as root; used by setup.sh and CI).
# erofs-utils: mkfs.erofs packs --qemu runs' root disks (src/host/root-disk.ts).
set -eu
# podman drives tsminc-runtime in the OCI tests and runs with runc for comparison: crun refuses cgroup v1
# hybrid hosts. The tests pass podman the flags these hosts need (test/helpers/podman.ts), so no
# containers.conf is written. docker.io (dockerd 20.10, with containerd, runc and tini) drives it too:
# its tests start a containerd and a dockerd of their own (test/helpers/docker.ts). runsc (gVisor) is
# the bench's other comparison for podman run.
packages="
  qemu-system-x86 qemu-system-arm erofs-utils
  build-essential bc bison flex perl libelf-dev libssl-dev cpio xz-utils bzip2 tar lz4
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  shellcheck ca-certificates debootstrap util-linux time qemu-user-static slirp4netns
  docker-registry skopeo openssl apache2-utils zstd
  podman runc docker.io runsc
"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# docker.io's and containerd's services are not started by the install (a system dockerd changes the
# host's network: a bridge, iptables rules, IP forwarding): a policy-rc.d says no for them while apt
# runs, unless the machine has one of its own, which then decides.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	$sudo tee "$policy" >/dev/null <<-'EOF'
		#!/bin/sh
		# install-deps.sh's, while apt-get runs: docker's and containerd's services are not started.
		for arg in "$@"; do
			case $arg in docker | docker.* | containerd | containerd.*) exit 101 ;; esac
		done
		exit 0
	EOF
	$sudo chmod 755 "$policy"
	trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -q
# shellcheck disable=SC2086 # the list is split into package names on purpose
$sudo apt-get install -y -q --no-install-recommends $packages

# ns-mode --arch runs foreign programs through qemu-user, which binfmt_misc hands them to. Debian's
# package registers its handlers only under systemd and outside containers: register those of the
# ermine arches but the host's own (each line of /usr/lib/binfmt.d is what the kernel's register file
# takes), if the kernel lets us. The names are the arch table's binfmtName (src/core/arch.ts; a unit
# test checks that they agree).
handlers="qemu-x86_64 qemu-aarch64 qemu-arm"
host_handler=qemu-$(uname -m)
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
	$sudo mount -t binfmt_misc binfmt_misc "$binfmt" ||
		echo "install-deps: cannot mount binfmt_misc: ns-mode --arch arm64|arm will not work here" >&2
fi
for name in $handlers; do
	[ "$name" != "$host_handler" ] || continue
	if [ -e "$binfmt/register" ] && [ ! -e "$binfmt/$name" ]; then
		$sudo sh -c "cat /usr/lib/binfmt.d/$name.conf >$binfmt/register" ||
			echo "install-deps: cannot register $name with binfmt_misc" >&2
	fi
done

# --network user as a user (--nopriv) needs /dev/net/tun, which Debian's udev rule makes 0666; on a
# machine without udev (a container, a minimal VM) it can stay 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	$sudo chmod 0666 /dev/net/tun || echo "install-deps: cannot open /dev/net/tun to users: --nopriv --network user will not work here" >&2
fi

# The image tests start registries of their own (docker-registry, on 127.0.0.1, with their own
# storage); the package's own service, where systemd starts it, would listen on :5000 for nothing.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled docker-registry >/dev/null 2>&1; then
	$sudo systemctl disable --now docker-registry || true
fi
