# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib/mount.sh - shell helpers for tests that mount mmapfs.
#
# Source it, then:
#   t_require_fuse            exit 77 (skip) unless root and /dev/fuse
#   t_tmpdir                  sets T_TMP to a fresh directory removed at exit
#   t_mount BACKING MNT [opts] start "$MMAPFS -f", wait until mounted; sets
#                             T_PID; the mount is undone on every exit path
#   t_umount MNT              unmount and wait for the daemon to exit;
#                             returns the daemon's exit status
#   t_kill9 MNT               SIGKILL the daemon, clean the dead mount
#   t_fail MSG                print and exit 1
#
# Every mount made through t_mount is recorded; an EXIT trap unmounts
# whatever is still mounted (and kills its daemon), so a failing test never
# leaves a mount behind.

: "${MMAPFS:=${top_builddir:-.}/mmapfs}"
T_MOUNTS=""
T_PIDS=""
T_TMP=""

# t_fail MSG - fail the test; the tail of the daemon's log goes with it
# (T_LOG usually lives in T_TMP, which the cleanup removes).
t_fail() {
	echo "FAIL: $*" >&2
	if [ -n "${T_LOG:-}" ] && [ -s "$T_LOG" ]; then
		echo "--- the last lines of the daemon log $T_LOG:" >&2
		tail -n 30 "$T_LOG" >&2
	fi
	exit 1
}

t_require_fuse() {
	if [ "$(id -u)" != 0 ]; then echo "SKIP: not root" >&2; exit 77; fi
	if [ ! -c /dev/fuse ]; then echo "SKIP: no /dev/fuse" >&2; exit 77; fi
	if [ ! -x "$MMAPFS" ]; then echo "FAIL: $MMAPFS not built" >&2; exit 1; fi
}

t_is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

# t_our_child PID: is PID alive and a child of this shell?
t_our_child() {
	[ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ]
}

t_cleanup() {
	rc=$?
	for m in $T_MOUNTS; do
		if t_is_mounted "$m"; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
		fi
	done
	# Only our own daemons: the pid of one that already exited may have
	# been given to an unrelated process (a long crash test starts
	# hundreds; it once SIGKILLed another test's daemon).  Ours are this
	# shell's children, so the parent pid tells.
	for p in $T_PIDS; do
		_t_i=0
		while t_our_child "$p" && [ $_t_i -lt 100 ]; do sleep 0.1; _t_i=$((_t_i + 1)); done
		t_our_child "$p" && kill -9 "$p" 2>/dev/null
	done
	[ -n "$T_TMP" ] && rm -rf "$T_TMP"
	exit $rc
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_tmpdir() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mmapfs-test.XXXXXX") || t_fail "mktemp"
}

# t_mount BACKING MNT [extra args...]
t_mount() {
	b=$1 m=$2; shift 2
	mkdir -p "$b" "$m"
	"$MMAPFS" -f "$@" "$b" "$m" 2>>"${T_LOG:-/dev/stderr}" &
	T_PID=$!
	T_PIDS="$T_PIDS $T_PID"
	T_MOUNTS="$T_MOUNTS $m"
	# _t_ names: a caller's loop counter must survive (fsx_long.sh's i
	# was reset by every mount and repeated seeds without end)
	_t_i=0
	while ! t_is_mounted "$m"; do
		if ! kill -0 "$T_PID" 2>/dev/null; then
			wait "$T_PID"; t_fail "mmapfs exited ($?) before mounting $m"
		fi
		_t_i=$((_t_i + 1)); [ $_t_i -gt 200 ] && t_fail "mount of $m did not appear in 10 s"
		sleep 0.05
	done
}

# t_umount MNT [PID] - returns the daemon's exit status
t_umount() {
	m=$1 p=${2:-$T_PID}
	umount "$m" || fusermount3 -u "$m" || return 1
	wait "$p"
}

t_kill9() {
	m=$1 p=${2:-$T_PID}
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	true
}

# t_daemon_gone PID SECS - wait until a killed daemon has no thread left (a
# zombie leader alone, or gone); false if a thread is still alive after SECS.
t_daemon_gone() {
	_t_g=0
	while [ -d "/proc/$1" ]; do
		_t_n=$(ls "/proc/$1/task" 2>/dev/null | wc -l)
		_t_st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ "$_t_st" = Z ] && [ "$_t_n" -le 1 ] && return 0
		_t_g=$((_t_g + 1))
		[ $_t_g -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# t_dump_stacks PID - every thread of PID with its wchan and kernel stack,
# to stderr (why a daemon hangs or cannot die).
t_dump_stacks() {
	for _t_t in /proc/"$1"/task/*; do
		echo "task ${_t_t##*/} ($(cat "$_t_t/comm" 2>/dev/null)): $(cat "$_t_t/wchan" 2>/dev/null)" >&2
		cat "$_t_t/stack" >&2 2>/dev/null
	done
}

# t_conn_of MNT - the FUSE connection number of the topmost mount on MNT,
# from mountinfo (never touch the mount of a hung daemon: that would hang).
t_conn_of() {
	awk -v m="$1" '$5 == m { split($3, a, ":"); c = a[2] } END { print c }' /proc/self/mountinfo
}

# t_abort_conn N - abort FUSE connection N through fusectl, mounting it if
# needed (T_FUSECTL_MOUNTED=1 then: the caller unmounts $T_FUSECTL).
T_FUSECTL=/sys/fs/fuse/connections
T_FUSECTL_MOUNTED=0
t_abort_conn() {
	[ -n "$1" ] || return 0
	if [ ! -d "$T_FUSECTL/$1" ]; then
		mount -t fusectl none "$T_FUSECTL" 2>/dev/null && T_FUSECTL_MOUNTED=1
	fi
	echo 1 >"$T_FUSECTL/$1/abort"
}
