#!/bin/sh
# enter.sh: enters a container and runs a command in it: new mount/uts/ipc/pid namespaces, proc, dev,
# sys, tmp, hostname, pivot_root, binds and tmpfs, then the command, confined by confine (masked paths,
# devices, seccomp, capabilities, ids), as PID 2 under this shell as PID 1. The one container entry
# of tsminc: run in the ermine guest and, with the image's static busybox, on the host. Runs as root (a user namespace's, with --nopriv). The command's
# arguments come NUL-separated from a file, so no shell ever re-reads them. Its busybox shell runs its
# own applets (mount, mkdir, umount...) by name, with no exec and whatever PATH says
# (FEATURE_SH_STANDALONE): they work after the pivot, and each exec saved is a millisecond.
#
# enter.sh [options] ROOT ARGSFILE
#   --name NAME        hostname in the container
#   --usedev           devtmpfs as /dev instead of a tmpfs with the basic nodes
#   --user UID[:GID]   run as these numeric ids
#   --groups G1:G2:... the command's supplementary groups (confine --groups)
#   --rlimit N:S:H     a resource limit of the command (confine --rlimit), repeatable
#   --caps HEX         the capabilities the command keeps (confine --caps)
#   --seccomp          the default seccomp filter (confine --seccomp)
#   --no-new-privs     no setuid or file capability can raise the command's privileges
#   --devices-cgroup D the cgroup (v2) folder whose device filter confine attaches: the container's
#   --mask             /proc and /sys paths read-only or masked, as docker leaves them (confine --mask)
#   --read-only        the container's root read-only; its tmpfs and binds stay writable (confine)
#   --mounts FILE      the container's own mounts, NUL-separated records KIND SRC DEST OPTS: bind (SRC a
#                      path outside the container, OPTS its flags ro,nosuid,nodev,noexec) or tmpfs
#                      (OPTS for mount -o); made in order after the pivot
#   --stdio tty|ports|inherit
#                      tty: the console is the controlling terminal; ports: virtio-serial ports
#                      tsminc.stdin/stdout/stderr carry the stdio; inherit (ns mode): the caller's
#                      stdio as it is, in the caller's session, so the terminal's Ctrl-C reaches it
#   --busybox PATH     the static busybox this runs with (default /bin/busybox)
#   --tty-size R C     terminal rows and columns (tty mode)
#   --confine PATH     the confine helper to run the command with
#   --net              a network namespace of its own, with only the loopback, up
#   --nopriv           running as a user namespace's root: device nodes are bound from the caller's
#                      /dev (mknod is not allowed) and /sys is bound when sysfs may not be mounted
#   --no-init          the command replaces this shell as the namespace's PID 1 (no init)
#   --interpreter P    the qemu-user binary the host's binfmt_misc looks up by path for the rootfs's
#                      foreign arch: bound read-only at the same path inside the container
#   --term TERM        the container's TERM (it runs on the caller's terminal); else it has none
#   --env FILE         the command's whole environment, NUL-separated KEY=VALUE entries (confine
#                      sets it byte for byte; --term and the default PATH and HOME then do not apply)
#   --path PATH        where the command is looked up (the container's PATH; default the usual one)
#   --workdir DIR      the folder the command starts in, made when missing (default /)
#   --debug            trace every step on stderr
set -u

NAME=""
USEDEV=0
USERSPEC=""
GROUPS_SPEC=""
RLIMITS=""
MOUNTS=""
CAPS=""
SECCOMP=0
NNP=0
DEVCG=""
MASK=0
READONLY=0
CONFINE_ARGS=""
STDIO="tty"
ROWS=""
COLS=""
CONFINE=/lib/ermine/confine
CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CONSOLE=""
BUSYBOX_PATH=/bin/busybox
NET=""
NOPRIV=0
INIT=1
INTERPRETER=""
TERM_NAME=""
ENVFILE=""
SEARCH_PATH=""
WORKDIR=""
# Where the pivot parks the old root.
OLD=/dev/shm

die() {
	echo "tsminc: $*" >&2
	exit 125
}

phase() {
	:;: "phase $1";:
	"$@"
}

# Sets PORT to the device node of the virtio-serial port named $1. Builtins only: under TCG every
# fork costs milliseconds.
port_device() {
	for port in /sys/class/virtio-ports/*; do
		if read -r name <"$port/name" && [ "$name" = "$1" ]; then
			PORT=/dev/${port##*/}
			return 0
		fi
	done 2>/dev/null
	return 1
}

# Sets INIT_PID to the container's init: the child of this shell once it has become unshare
# ($MAIN), besides the control reader ($SELF).
container_init() {
	INIT_PID=""
	for pid in $(pgrep -P "$MAIN"); do
		[ "$pid" = "$SELF" ] || INIT_PID=$pid
	done
	[ -n "$INIT_PID" ]
}

# Prints the container's command's pid once it runs: its init's child; with --no-init, the init
# itself. The init points its own stderr at /dev/null just before it starts the command (run_command):
# until then, a child of it is a step of the entry (a mount, say), not the command.
command_pid() {
	container_init || return 1
	if [ "$INIT" = 0 ]; then
		echo "$INIT_PID"
		return 0
	fi
	[ "$(readlink "/proc/$INIT_PID/fd/2")" = /dev/null ] || return 1
	pgrep -P "$INIT_PID"
}

# Sets JOB to the command's pid, waiting up to 10 s for it to run: a signal or an exec that comes
# before (an engine's kill or exec right after start) is for the container as it will be.
await_command() {
	tries=0
	until JOB=$(command_pid); do
		tries=$((tries + 1))
		[ "$tries" -le 200 ] || return 1
		usleep 50000
	done
}

signal_job() {
	await_command || return 0
	# shellcheck disable=SC2086 # one pid per word
	kill -"$1" $JOB
}

# Starts exec session $1 (hex): exec.sh on the ports tsminc plugged in for it, with the files it
# wrote to the share's exec/$1, in the cgroups of the container's init (the guest's job, devices).
start_exec() {
	case "$1" in '' | *[!0-9a-f]*) return 0 ;; esac
	await_command && container_init || return 0
	set -- --ports "$1" "$INIT_PID" "${ROOT%/*}/exec/$1"
	while IFS=: read -r _ controllers path; do
		case "$controllers" in
		"") set -- --join "/sys/fs/cgroup$path/cgroup.procs" "$@" ;;
		devices) set -- --join "/run/cgroup/devices$path/cgroup.procs" "$@" ;;
		esac
	done <"/proc/$INIT_PID/cgroup"
	"$BUSYBOX_PATH" sh "${0%/*}/exec.sh" --confine "$CONFINE" "$@" </dev/null >/dev/null 2>&1 &
}

# Resizes exec session $1's terminal to $2 rows and $3 columns: the terminal of exec.sh --in-tty,
# whose pid it left in the session's folder; its foreground process group gets SIGWINCH.
resize_exec() {
	case "$1:$2:$3" in *[!0-9a-f:]* | :* | *::*) return 0 ;; esac
	read -r pid <"${ROOT%/*}/exec/$1/pid" 2>/dev/null || return 0
	stty -F "/proc/$pid/fd/0" rows "$2" cols "$3"
}

# tsminc writes lines to the tsminc.ctl port: "ROWS COLS" when the user's terminal is resized (setting
# the console's size sends SIGWINCH to the container's foreground process group, as on a real tty),
# "signal N" for a signal the launcher forwards to the container's command (an OCI runtime's kill),
# "exec ID" for an exec session (tsminc-runtime exec) and "resize ID ROWS COLS" for its terminal.
follow_control() {
	port_device tsminc.ctl || return 0
	# The guest's init holds the port open as fd 9 (await_release) and a second open of a virtio port
	# fails: read from that one.
	{ : <&9; } 2>/dev/null || exec 9<"$PORT"
	MAIN=$$
	{
		# This reader's own pid (ash's $$ is its parent's): a builtin's redirection, no fork.
		read -r SELF _ </proc/self/stat
		while read -r first second third fourth <&3; do
			case "$first" in
			signal) case "$second" in '' | *[!0-9]*) ;; *) signal_job "$second" ;; esac ;;
			exec) start_exec "$second" ;;
			resize) resize_exec "$second" "$third" "$fourth" ;;
			*) [ -z "$CONSOLE" ] || stty -F "$CONSOLE" rows "$first" cols "$second" ;;
			esac
		done
	} 3<&9 >/dev/null 2>&1 &
}

open_stdio() {
	case "$STDIO" in
	ports)
		port_device tsminc.stdin || die "no stdin port"
		stdin=$PORT
		port_device tsminc.stdout || die "no stdout port"
		stdout=$PORT
		port_device tsminc.stderr || die "no stderr port"
		exec <"$stdin" >"$stdout" 2>"$PORT"
		;;
	inherit) ;;
	tty)
		# /dev/console cannot be a controlling terminal: use the tty device behind it.
		read -r CONSOLE </sys/class/tty/console/active
		CONSOLE=/dev/${CONSOLE##* }
		# shellcheck disable=SC2094 # a tty is read and written at once
		exec <"$CONSOLE" >"$CONSOLE" 2>&1
		if [ -n "$ROWS" ] && [ -n "$COLS" ]; then stty rows "$ROWS" cols "$COLS"; fi
		;;
	esac
}

# The container's own filesystems in $ROOT (proc, sys, tmp, a small /dev; see confine.c): one exec of
# confine, where the same in shell forks busybox about twenty times (a millisecond or more each under
# TCG). Mount points that are symlinks in the rootfs (debootstrap's first stage leaves proc ->
# /proc; a hostile rootfs may point tmp at a host path) are replaced, never followed.
mount_filesystems() {
	set -- --mount-root "$ROOT"
	[ "$USEDEV" = 0 ] || set -- "$@" --usedev
	[ "$NOPRIV" = 0 ] || set -- "$@" --nopriv
	[ "$STDIO" != tty ] || set -- "$@" --console "$CONSOLE"
	# confine says what failed, in one line.
	"$CONFINE" "$@" || exit 125
}

# Through /proc, not hostname(1): busybox's rejects names the kernel takes (tsminc passes any bytes
# but NUL and newline), and a name not set must never leave the host's in place silently.
set_hostname() {
	[ -z "$NAME" ] || printf '%s' "$NAME" >/proc/sys/kernel/hostname || die "cannot set the hostname"
}

bring_up_loopback() {
	[ -z "$NET" ] || ip link set lo up || die "cannot bring up the loopback"
}

# The container's cgroup, opened before the pivot hides the cgroup tree: confine joins it and
# attaches the device filter. In the VM it is made here, below the job's.
open_devices_cgroup() {
	[ -n "$DEVCG" ] || return 0
	[ -d "$DEVCG" ] || mkdir "$DEVCG" || die "cannot make the container's cgroup $DEVCG"
	exec 7<"$DEVCG" || die "cannot open the container's cgroup $DEVCG"
}

# confine's options, from this script's; confine is opened now, while the host's (or the initramfs's)
# files are still reachable. Every word is made of letters, digits, "-" and ":" (tsminc checks).
prepare_confine() {
	[ "$MASK" = 0 ] || CONFINE_ARGS="--mask"
	[ "$READONLY" = 0 ] || CONFINE_ARGS="$CONFINE_ARGS --read-only"
	[ -z "$CAPS" ] || CONFINE_ARGS="$CONFINE_ARGS --caps $CAPS"
	[ "$SECCOMP" = 0 ] || CONFINE_ARGS="$CONFINE_ARGS --seccomp"
	[ "$NNP" = 0 ] || CONFINE_ARGS="$CONFINE_ARGS --no-new-privs"
	[ -z "$DEVCG" ] || CONFINE_ARGS="$CONFINE_ARGS --devices-cgroup-fd 7"
	[ -z "$GROUPS_SPEC" ] || CONFINE_ARGS="$CONFINE_ARGS --groups $GROUPS_SPEC"
	CONFINE_ARGS="$CONFINE_ARGS$RLIMITS"
	if [ -n "$ENVFILE" ]; then
		exec 6<"$ENVFILE" || die "cannot read the environment"
		CONFINE_ARGS="$CONFINE_ARGS --env-fd 6"
	fi
	if [ -n "$USERSPEC" ]; then
		uid=${USERSPEC%%:*}
		gid=${USERSPEC#*:}
		[ "$gid" != "$USERSPEC" ] || gid=$uid
		CONFINE_ARGS="$CONFINE_ARGS --user $uid:$gid"
	fi
	[ -z "$CONFINE_ARGS" ] || exec 9<"$CONFINE" || die "cannot open $CONFINE"
}

pivot() {
	cd "$ROOT" || die "cannot enter $ROOT"
	pivot_root . dev/shm || die "pivot_root failed"
	cd / || die "cannot enter the new root"
}

# The container's mounts are made after the pivot, so the kernel resolves each target inside the
# container: a symlink in the rootfs that points at /etc makes a bind land on the container's /etc,
# never the host's. A bind's flags go on with confine, which keeps those the source mount has (a
# user namespace may not drop them). busybox ash's read -d '' splits at NUL bytes, which no path
# can hold.
# shellcheck disable=SC3045
own_mounts() {
	[ -n "$MOUNTS" ] || return 0
	while IFS= read -r -d '' kind && IFS= read -r -d '' src && IFS= read -r -d '' dest && IFS= read -r -d '' opts; do
		if [ "$kind" = tmpfs ]; then
			mkdir -p "$dest" || die "cannot make the tmpfs target $dest"
			mount -t tmpfs -o "$opts" tmpfs "$dest" || die "cannot mount a tmpfs on $dest"
			continue
		fi
		if [ -d "$OLD$src" ]; then
			mkdir -p "$dest" || die "cannot make the bind target $dest"
		elif [ ! -e "$dest" ]; then
			mkdir -p "$(dirname "$dest")" || die "cannot make the bind target $dest"
			: >"$dest" || die "cannot make the bind target $dest"
		fi
		mount --bind "$OLD$src" "$dest" || die "cannot bind $dest"
		[ -z "$opts" ] || "$OLD$CONFINE" --remount "$dest" "$opts" || exit 125
	done <"$OLD$MOUNTS"
}

# A binfmt_misc handler without the F flag makes the kernel open its interpreter by path, in the
# container's root, at each exec of a foreign program: it must be there, and never writable.
bind_interpreter() {
	[ -n "$INTERPRETER" ] || return 0
	if [ ! -e "$INTERPRETER" ]; then
		mkdir -p "$(dirname "$INTERPRETER")" || die "cannot make $INTERPRETER in the rootfs"
		: >"$INTERPRETER" || die "cannot make $INTERPRETER in the rootfs"
	fi
	mount --bind "$OLD$INTERPRETER" "$INTERPRETER" || die "cannot bind $INTERPRETER"
	mount -o remount,bind,ro "$INTERPRETER" || die "cannot make $INTERPRETER read-only"
}

detach_old_root() {
	umount -l "$OLD" || die "cannot detach the old root"
}

# Sets FOUND to the file the container would run for $1: itself if it holds a "/", else the first
# match in PATH (a program of the container, never a builtin of this shell). No subshell, no fork.
find_program() {
	case "$1" in
	*/*)
		FOUND=$1
		[ -e "$1" ]
		return
		;;
	esac
	dirs=$PATH:
	while [ -n "$dirs" ]; do
		dir=${dirs%%:*}
		dirs=${dirs#*:}
		if [ -f "${dir:-.}/$1" ] && [ -x "${dir:-.}/$1" ]; then
			FOUND=${dir:-.}/$1
			return 0
		fi
	done
	return 1
}

# Runs the command (the arguments read from ARGSFILE) in place of this shell.
# shellcheck disable=SC3045
run_command() {
	# Each argument goes into a variable of its own, and "$@" is made from references to them in one
	# go: eval only ever sees "$a1" "$a2" ..., never an argument's text, and appending to "$@" one by
	# one would copy it every time (minutes for 10000 arguments).
	n=0
	refs=""
	# shellcheck disable=SC2034 # arg is read by the eval
	while IFS= read -r -d '' arg; do
		n=$((n + 1))
		eval "a$n=\$arg"
		refs="$refs \"\$a$n\""
	done <&8
	exec 8<&-
	eval "set -- $refs"
	[ "$#" -gt 0 ] || set -- /bin/sh
	# The container's whole environment: PATH, HOME, and TERM on a terminal. The caller's (tokens,
	# paths, the kernel's leftovers in the VM) stays out; the launcher starts this with nothing else.
	unset OLDPWD
	PATH=${SEARCH_PATH:-$CONTAINER_PATH}
	HOME=/root
	case "$USERSPEC" in "" | 0 | 0:*) ;; *) HOME=/ ;; esac
	export PATH HOME
	if [ -n "$TERM_NAME" ]; then export TERM="$TERM_NAME"; else unset TERM; fi
	unset NAME USEDEV USERSPEC GROUPS_SPEC RLIMITS MOUNTS STDIO ROWS COLS CONFINE ROOT ARGS INSIDE CONSOLE OLD BUSYBOX_PATH NET NOPRIV INTERPRETER TERM_NAME SHLVL CAPS SECCOMP NNP DEVCG MASK READONLY ENVFILE SEARCH_PATH
	if [ -n "$WORKDIR" ]; then
		[ -d "$WORKDIR" ] || mkdir -p -- "$WORKDIR" || die "cannot make the working folder $WORKDIR"
		cd -- "$WORKDIR" || die "cannot enter the working folder $WORKDIR"
	fi
	unset WORKDIR
	find_program "$1" || {
		echo "tsminc: $1: command not found" >&2
		exit 127
	}
	path=$FOUND
	if [ -d "$path" ] || [ ! -x "$path" ]; then
		echo "tsminc: $1: permission denied" >&2
		exit 126
	fi
	shift
	if [ "$INIT" = 0 ]; then
		# --no-init: the command is PID 1 itself, as in Docker without --init. The kernel then shields
		# it from signals it does not handle, so Ctrl-C and kill -9 from inside do not stop it.
		# shellcheck disable=SC2086 # CONFINE_ARGS: see prepare_confine
		if [ -n "$CONFINE_ARGS" ]; then exec /proc/self/fd/9 $CONFINE_ARGS -- "$path" "$@"; fi
		exec "$path" "$@"
	fi
	# The command runs as PID 2: the kernel ignores default-action signals sent to a namespace's init,
	# so as PID 1 a plain `sleep` would shrug off Ctrl-C and `kill -9 $$`. This shell stays PID 1,
	# reaps orphans, and leaves with the command's status (128+n after signal n).
	# This shell's own stderr goes to /dev/null (ash would report "Killed" on it); the command gets the
	# real one back on its fd 2, inside a subshell, since ash applies a command's redirections in the
	# parent while it waits.
	exec 3>&2 2>/dev/null
	if [ -n "$CONFINE_ARGS" ]; then
		# confine runs from the descriptor opened before the pivot (see prepare_confine).
		# shellcheck disable=SC2086
		(exec /proc/self/fd/9 $CONFINE_ARGS -- "$path" "$@" 2>&3 3>&-)
	else
		(exec "$path" "$@" 2>&3 3>&-)
	fi
	exit
}

# Descriptors the caller left open without close-on-exec (a parent's pipe, say) must not reach the
# container: only stdin, stdout and stderr go on. The names come from the kernel: digits only.
close_stray_fds() {
	for fd in /proc/self/fd/*; do
		fd=${fd##*/}
		case "$fd" in
		0 | 1 | 2 | *[!0-9]*) ;;
		*) eval "exec $fd>&-" ;;
		esac
	done
}

inside() {
	phase close_stray_fds
	phase mount_filesystems
	phase set_hostname
	phase bring_up_loopback
	# Files of ours are opened now: after the pivot only the container and $OLD are reachable.
	phase open_devices_cgroup
	exec 8<"$ARGS" || die "cannot read the arguments"
	phase prepare_confine
	phase pivot
	phase own_mounts
	phase bind_interpreter
	phase detach_old_root
	run_command
}

# Sets the variables above from the options; the caller's "$@" stays whole for the re-exec.
parse_options() {
	while [ "$#" -gt 0 ]; do
		case "$1" in
		--name) NAME=$2 && shift 2 ;;
		--usedev) USEDEV=1 && shift ;;
		--user) USERSPEC=$2 && shift 2 ;;
		--groups) GROUPS_SPEC=$2 && shift 2 ;;
		--rlimit) RLIMITS="$RLIMITS --rlimit $2" && shift 2 ;;
		--caps) CAPS=$2 && shift 2 ;;
		--seccomp) SECCOMP=1 && shift ;;
		--no-new-privs) NNP=1 && shift ;;
		--devices-cgroup) DEVCG=$2 && shift 2 ;;
		--mask) MASK=1 && shift ;;
		--read-only) READONLY=1 && shift ;;
		--mounts) MOUNTS=$2 && shift 2 ;;
		--stdio) STDIO=$2 && shift 2 ;;
		--tty-size) ROWS=$2 && COLS=$3 && shift 3 ;;
		--confine) CONFINE=$2 && shift 2 ;;
		--inside) INSIDE=1 && shift ;;
		--console) CONSOLE=$2 && shift 2 ;;
		--busybox) BUSYBOX_PATH=$2 && shift 2 ;;
		--net) NET=-n && shift ;;
		--nopriv) NOPRIV=1 && shift ;;
		--no-init) INIT=0 && shift ;;
		--interpreter) INTERPRETER=$2 && shift 2 ;;
		--term) TERM_NAME=$2 && shift 2 ;;
		--env) ENVFILE=$2 && shift 2 ;;
		--path) SEARCH_PATH=$2 && shift 2 ;;
		--workdir) WORKDIR=$2 && shift 2 ;;
		--debug) set -x && shift ;;
		--) shift && break ;;
		-*) die "enter.sh: unknown option $1" ;;
		*) break ;;
		esac
	done
	[ "$#" -eq 2 ] || die "usage: enter.sh [options] ROOT ARGSFILE"
	ROOT=$1
	ARGS=$2
}

parse_options "$@"
if [ "${INSIDE:-0}" = 1 ]; then
	inside
else
	phase open_stdio
	phase follow_control
	# The container gets a session of its own; in tty mode the console is its controlling terminal,
	# so Ctrl-C reaches the command and nothing outside it.
	case "$STDIO" in
	# $NET is empty or -n: one word, or none.
	tty) exec unshare -m -u -i -p -f $NET -- setsid -c "$BUSYBOX_PATH" sh "$0" --inside --console "$CONSOLE" "$@" ;;
	# Without a terminal there is no controlling tty to keep apart: init's session does.
	ports) exec unshare -m -u -i -p -f $NET -- "$BUSYBOX_PATH" sh "$0" --inside "$@" ;;
	# On the host, the image's nsrun makes the namespaces and starts this with --inside.
	*) die "enter.sh: --stdio $STDIO starts at --inside" ;;
	esac
fi
