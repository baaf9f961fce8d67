# SPDX-License-Identifier: GPL-2.0-or-later
# tests/mount/helpers.sh - what the shell mount tests share beyond mount.sh.
#
# Source after tests/lib/mount.sh (and after t_tmpdir):
#   h_start NAME ARGS...   run "maptool ARGS..." in the background, its
#                          output in $T_TMP/NAME.out; sets H_PID
#   h_wait_ready NAME PID  wait (30 s) until that maptool printed "ready"
#   h_wait_exit PID SECS   wait for a child of this shell to exit; sets
#                          H_STATUS; fails the test if it is still running
#   h_stop PID             SIGKILL a maptool and reap it
#   h_rss PID              print the VmRSS and VmHWM of PID in KiB
#
# Every maptool started with h_start is killed on every exit path, before
# mount.sh's own clean-up unmounts (a live mapping keeps a mount busy).  A
# test with more to undo sets H_EXTRA_CLEANUP to the name of a function run
# after the maptools are gone and before mount.sh's clean-up.
#
# The daemon is started through a wrapper that restores the default action
# of SIGINT: t_mount starts it with "&", and a non-interactive shell starts
# background commands with SIGINT and SIGQUIT ignored (POSIX), which libfuse
# keeps (it installs its handlers only over SIG_DFL).  A daemon started from
# a terminal gets SIGINT; so must the tests' daemon.

H_BIN=${top_builddir:-.}/tests/mount
H_PIDS=""
H_EXTRA_CLEANUP=""
H_MMAPFS=$MMAPFS
MMAPFS=$T_TMP/mmapfs-default-sigint
printf '#!/bin/sh\nexec env --default-signal=INT "%s" "$@"\n' "$H_MMAPFS" \
	>"$MMAPFS"
chmod +x "$MMAPFS"

h_cleanup() {
	h_rc=$?
	for h_p in $H_PIDS; do
		kill -9 "$h_p" 2>/dev/null
		wait "$h_p" 2>/dev/null
	done
	[ -n "$H_EXTRA_CLEANUP" ] && "$H_EXTRA_CLEANUP"
	if [ $h_rc -ne 0 ] && [ -n "$T_LOG" ] && [ -s "$T_LOG" ]; then
		echo "--- daemon log:" >&2
		tail -n 50 "$T_LOG" >&2
	fi
	(exit $h_rc)
	t_cleanup
}
trap h_cleanup EXIT

h_start() {
	h_name=$1; shift
	"$H_BIN/maptool" "$@" >"$T_TMP/$h_name.out" 2>&1 &
	H_PID=$!
	H_PIDS="$H_PIDS $H_PID"
}

h_wait_ready() {
	h_i=0
	while ! grep -q '^ready$' "$T_TMP/$1.out" 2>/dev/null; do
		if ! kill -0 "$2" 2>/dev/null; then
			cat "$T_TMP/$1.out" >&2
			t_fail "maptool $1 exited before it was ready"
		fi
		h_i=$((h_i + 1))
		[ $h_i -gt 300 ] && t_fail "maptool $1 not ready in 30 s"
		sleep 0.1
	done
}

h_wait_exit() {
	h_i=0 h_max=$(($2 * 10))
	while kill -0 "$1" 2>/dev/null; do
		h_i=$((h_i + 1))
		[ $h_i -gt $h_max ] && t_fail "process $1 still running after $2 s"
		sleep 0.1
	done
	wait "$1"
	H_STATUS=$?
}

h_stop() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	true
}

h_rss() {
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' \
		"/proc/$1/status" 2>/dev/null
}
