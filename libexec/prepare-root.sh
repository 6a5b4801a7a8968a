#!/bin/sh
# prepare-root.sh: run by tsminc --qemu inside a private mount namespace (unshare --mount --propagation
# private), before qemu: mounts the container root into the tmpdir (an overlay on the rootfs, or the
# rootfs itself with --direct) and the bind sources under tmpdir/binds/, joins the run's cgroups
# (limits), then execs the rest of its arguments (qemu). Everything arrives as arguments; nothing is
# evaluated. The mounts end with the namespace. (Host mode's nsrun does the same in one process.)
#
# prepare-root.sh TMPDIR ROOTFS DIRECT NBINDS [SOURCE]... NCGROUPS [CGROUP_PROCS]... -- COMMAND [ARG]...
set -eu
tmp=$1
rootfs=$2
direct=$3
count=$4
shift 4

if [ "$direct" = 1 ]; then
	mount --bind "$rootfs" "$tmp/root"
else
	# The rootfs is bound to a path of ours first: overlay's option string cannot carry every path.
	# Relative paths, from inside the tmpdir: the options show in the container's /proc/self/mountinfo,
	# and must not tell it where on the host its tmpdir is.
	# Read-only by a remount of its own: a bind mount takes no flags but its own.
	mount --bind "$rootfs" "$tmp/lower"
	mount -o remount,bind,ro "$tmp/lower"
	(cd "$tmp" && mount -t overlay -o lowerdir=lower,upperdir=storage,workdir=work overlay root)
fi

i=0
while [ "$i" -lt "$count" ]; do
	mount --bind "$1" "$tmp/binds/$i"
	shift
	i=$((i + 1))
done

# Joined before anything else runs, so every process of the run is counted: "0" moves this shell.
count=$1
shift
i=0
while [ "$i" -lt "$count" ]; do
	echo 0 >"$1"
	shift
	i=$((i + 1))
done

# On a terminal (tsminc's pseudo-terminal) qemu must pass the guest's bytes through: the guest's
# tty already turns "\n" into "\r\n", and this one would add another "\r".
if [ -t 0 ]; then stty -onlcr; fi

[ "$1" = "--" ] && shift
exec "$@"
