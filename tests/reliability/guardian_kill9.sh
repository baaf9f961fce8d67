#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# guardian_kill9.sh - reliability finding 6: a daemon SIGKILLed while one of
# its threads waits in the kernel on its own mount must still die, and the
# mount must fail (ENOTCONN) instead of hanging every process that uses it.
#
# stuck_kill.c puts a daemon thread into that wait (a page drop waiting for
# a page a writer holds locked until the daemon answers) and SIGKILLs the
# daemon there.  The guardian process (daemon/guardian.c) must then abort
# the connection: the daemon must be gone within 10 s and its log must say
# so.  GUARD_ROUNDS (3) such kills are wanted, in at most 10 times as many
# tries (a try that misses the window is not counted); if the state is
# never reached, the test is skipped (77).  With MMAPFS_NO_GUARDIAN=1 in the
# environment the daemon starts no guardian and this test fails: it hangs
# until the test aborts the connection itself.
. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir

SK=${top_builddir:-.}/tests/reliability/stuck_kill
[ -x "$SK" ] || t_fail "$SK not built"
WANT=${GUARD_ROUNDS:-3}


done_n=0 try=0
while [ $done_n -lt "$WANT" ] && [ $try -lt $((WANT * 10)) ]; do
	try=$((try + 1))
	B=$T_TMP/backing.$try M=$T_TMP/mnt.$try
	T_LOG=$T_TMP/daemon.$try.log
	t_mount "$B" "$M"
	conn=$(t_conn_of "$M")
	# Not waited for: with a hung mount it could not even exit (its
	# close() of FILE would wait for the dead daemon too).
	"$SK" "$M/f" "$T_PID" >"$T_TMP/sk.$try" 2>&1 &
	SKP=$!
	w=0
	while ! grep -q 'killed while' "$T_TMP/sk.$try" &&
	    kill -0 $SKP 2>/dev/null && [ $w -lt 100 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	if ! grep -q 'killed while' "$T_TMP/sk.$try"; then
		wait $SKP
		rc=$?
		cat "$T_TMP/sk.$try"
		[ $rc -eq 3 ] || { t_kill9 "$M"; t_fail "stuck_kill failed"; }
		t_umount "$M" || t_fail "the daemon exited non-zero at unmount"
		continue
	fi
	cat "$T_TMP/sk.$try"
	if ! t_daemon_gone "$T_PID" 10; then
		echo "--- daemon $T_PID threads 10 s after SIGKILL:" >&2
		t_dump_stacks "$T_PID"
		t_abort_conn "$conn"
		t_daemon_gone "$T_PID" 10
		wait "$T_PID" 2>/dev/null
		wait $SKP
		umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
		[ "$T_FUSECTL_MOUNTED" = 1 ] && umount "$T_FUSECTL"
		t_fail "try $try: the SIGKILLed daemon could not die (finding 6); the test aborted connection $conn"
	fi
	wait "$T_PID" 2>/dev/null
	wait $SKP
	grep -q 'aborted its FUSE connection' "$T_LOG" ||
		{ cat "$T_LOG" >&2; umount "$M" 2>/dev/null || umount -l "$M"; t_fail "try $try: the daemon died, but the guardian did not say it aborted the connection"; }
	grep 'aborted its FUSE connection' "$T_LOG"
	umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
	done_n=$((done_n + 1))
done
if [ $done_n -eq 0 ]; then
	echo "SKIP: the stuck state was never reached in $try tries"
	exit 77
fi
[ $done_n -ge "$WANT" ] || t_fail "only $done_n of $WANT kills in the stuck state in $try tries"
echo "PASS: $done_n daemons killed while a thread waited in the kernel on their own mount died ($try tries)"
exit 0
