#!/bin/sh
# exec.sh: runs one more process in a running container (tsminc-runtime exec). It joins the
# container's cgroups, then enters the namespaces of the container's init with nsenter (its root and
# pid namespace too) and runs the command through confine with its own environment, working folder,
# ids, groups and limits, under the container's seccomp filter and capabilities, as enter.sh runs
# the container's command. In the guest the ctl reader starts it, its stdio on ports tsminc plugged
# in for it, and it reports the status on a port of its own; on the host (ns mode) it runs on the
# caller's stdio and leaves with the status. Nothing it reads is ever evaluated.
#
# exec.sh [--ports ID] [--in-tty ROWS COLS] [--confine PATH] [--join FILE]... INIT DIR
#   --ports ID       stdin, stdout and stderr are the ports tsminc.exec.ID.stdin, .stdout and .stderr;
#                    the status goes to tsminc.exec.ID.status. With DIR/tty ("ROWS COLS": exec -t)
#                    the process runs on a pseudo-terminal of the guest that busybox's script relays
#                    to the ports; this script runs again inside it, with --in-tty
#   --in-tty R C     on that terminal: its size, and the status left in DIR/status for the outer run
#   --confine PATH   the confine helper (default /lib/ermine/confine)
#   --join FILE      a cgroup.procs file of the container's to join first (repeatable)
#   INIT             the container's init (or its command, with --no-init), as seen here
#   DIR              args, env and cwd (NUL-ended entries), and confine (confine's words, one line)
set -u

PORTS=""
IN_TTY=""
CONFINE=/lib/ermine/confine
JOIN=""
STATUS_PORT=""

die() {
	echo "tsminc: $*" >&2
	[ -z "$STATUS_PORT" ] || echo 125 >"$STATUS_PORT"
	exit 125
}

# The session's ports appear a moment after tsminc plugs them in: look until all four are there.
open_ports() {
	tries=0
	while :; do
		found=0
		for port in /sys/class/virtio-ports/*; do
			read -r name <"$port/name" 2>/dev/null || continue
			case "$name" in
			"tsminc.exec.$PORTS."*) found=$((found + 1)) ;;
			esac
		done
		[ "$found" -lt 4 ] || break
		tries=$((tries + 1))
		[ "$tries" -lt 200 ] || die "the ports of exec $PORTS never appeared"
		sleep 0.02
	done
	for port in /sys/class/virtio-ports/*; do
		read -r name <"$port/name" 2>/dev/null || continue
		case "$name" in
		"tsminc.exec.$PORTS.stdin") exec <"/dev/${port##*/}" ;;
		"tsminc.exec.$PORTS.stdout") exec >"/dev/${port##*/}" ;;
		"tsminc.exec.$PORTS.stderr") exec 2>"/dev/${port##*/}" ;;
		"tsminc.exec.$PORTS.status") STATUS_PORT=/dev/${port##*/} ;;
		esac
	done
}

while [ "$#" -gt 2 ]; do
	case "$1" in
	--ports) PORTS=$2 && shift 2 ;;
	--in-tty) IN_TTY="$2 $3" && shift 3 ;;
	--confine) CONFINE=$2 && shift 2 ;;
	--join) JOIN="$JOIN $2" && shift 2 ;;
	*) die "exec.sh: unknown option $1" ;;
	esac
done
[ "$#" -eq 2 ] || die "usage: exec.sh [--ports ID] [--confine PATH] [--join FILE]... INIT DIR"
INIT=$1
DIR=$2

[ -z "$PORTS" ] || open_ports
# shellcheck disable=SC2086 # the cgroup.procs paths tsminc gave: no spaces
for procs in $JOIN; do
	echo $$ >"$procs" || die "cannot join the container's cgroup $procs"
done
# exec -t: this script again, on a new pseudo-terminal relayed to the ports; every word of the
# command line script hands its shell is a path or a number of tsminc's.
if [ -n "$PORTS" ] && [ -f "$DIR/tty" ]; then
	read -r rows cols <"$DIR/tty" || die "cannot read the terminal's size"
	case "$rows$cols" in '' | *[!0-9]*) die "bad terminal size" ;; esac
	SHELL=/bin/sh script -q -c "sh $0 --in-tty $rows $cols --confine $CONFINE $INIT $DIR" /dev/null
	status=125
	read -r status <"$DIR/status"
	echo "$status" >"$STATUS_PORT"
	exit "$status"
fi
if [ -n "$IN_TTY" ] && [ "$IN_TTY" != "0 0" ]; then
	# shellcheck disable=SC2086 # two numbers
	stty rows ${IN_TTY% *} cols ${IN_TTY#* } || die "cannot size the terminal"
fi
if [ -n "$IN_TTY" ]; then
	# Where later resizes go (enter.sh's resize_exec): this shell's terminal, for as long as it waits.
	echo $$ >"$DIR/pid"
fi
read -r WORDS <"$DIR/confine" || die "cannot read the process's confinement"
# busybox ash's read -d '' splits at NUL bytes, which no path or argument can hold.
# shellcheck disable=SC3045
IFS= read -r -d '' CWD <"$DIR/cwd" || die "cannot read the process's working folder"
exec 9<"$CONFINE" || die "cannot open $CONFINE"
exec 6<"$DIR/env" || die "cannot read the process's environment"
# The arguments, each read into a variable of its own, then "$@" from references to them in one go:
# eval sees only "$a1" "$a2" ..., never an argument's text.
n=1
refs=""
# shellcheck disable=SC3045
while IFS= read -r -d '' "a$n"; do
	refs="$refs \"\$a$n\""
	n=$((n + 1))
done <"$DIR/args"
eval "set -- $refs"
[ "$#" -gt 0 ] || die "exec: no command"
# confine runs from descriptor 9 through the container's own /proc; the words are letters, digits,
# "-" and ":" (tsminc checks), so splitting them is safe.
# shellcheck disable=SC2086
nsenter -t "$INIT" -m -u -i -n -p -r -- /proc/self/fd/9 $WORDS --env-fd 6 --cwd "$CWD" -- "$@"
status=$?
[ -z "$IN_TTY" ] || echo "$status" >"$DIR/status"
[ -z "$STATUS_PORT" ] || echo "$status" >"$STATUS_PORT"
exit "$status"
