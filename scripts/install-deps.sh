#!/bin/sh
# install-deps.sh: installs the Debian packages tsminc and tsermine need (run as root; used by setup.sh and CI).
set -eu
packages="
  qemu-system-x86 qemu-system-arm
  build-essential bc bison flex perl libelf-dev libssl-dev cpio xz-utils bzip2 tar
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  shellcheck ca-certificates debootstrap util-linux time
"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086 # the list is split into package names on purpose
$sudo apt-get install -y -q --no-install-recommends $packages
