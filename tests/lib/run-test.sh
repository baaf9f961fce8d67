#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib/run-test.sh - the automake LOG_COMPILER for every test.
#
#   tests/mount/<name> (a C program): mount a fresh backing dir with
#     "$MMAPFS -f", run the program with MNT and BACKING in its environment
#     (and as its two arguments), unmount on every exit path, and fail the
#     test if the daemon did not exit 0.
#   anything else: run it as it is (shell scripts with $SHELL).
# Exit status 77 = skipped.
t=$1; shift
case "$t" in
*.sh) exec "${SHELL:-/bin/sh}" "$t" "$@" ;;
*/tests/mount/*|tests/mount/*) ;;
*) exec "$t" "$@" ;;
esac

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
BACKING=$T_TMP/backing MNT=$T_TMP/mnt
export BACKING MNT
T_LOG=$T_TMP/daemon.log
t_mount "$BACKING" "$MNT" ${MMAPFS_TEST_OPTS:-}
"$t" "$MNT" "$BACKING" "$@"
rc=$?
if ! t_umount "$MNT"; then
	echo "FAIL: daemon did not exit cleanly; its log:" >&2
	cat "$T_LOG" >&2
	[ $rc -eq 0 ] && rc=1
fi
[ $rc -ne 0 ] && [ -s "$T_LOG" ] && { echo "--- daemon log:" >&2; tail -n 50 "$T_LOG" >&2; }
exit $rc
