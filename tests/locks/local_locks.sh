#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# local_locks.sh - with -o local_locks the kernel keeps locks to itself, as
# documented: they still exclude processes on this mount, but no longer a
# program on the backing file (nothing is forwarded).  The default
# (forwarded) is posix_locks.sh.
. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
L=${top_builddir:-.}/tests/locks/lockt
BK=$T_TMP/backing MP=$T_TMP/mnt S=$T_TMP/sync
T_LOG=$T_TMP/daemon.log
mkdir -p "$S"
t_mount "$BK" "$MP" -o local_locks
echo data >"$BK/f"
"$L" open:$MP/f:rw lk:setlk:w:0:10:ok touch:$S/a1 wait:$S/a2 &
H=$!
"$L" wait:$S/a1 open:$MP/f:rw lk:setlk:w:0:10:EAGAIN fl:exnb:ok fl:un:ok ||
	{ kill $H; t_fail "local_locks: a second process on the mount got the lock"; }
"$L" open:$BK/f:rw lk:setlk:w:0:10:ok ||
	{ kill $H; t_fail "local_locks: a program on the backing file was refused: the lock was forwarded"; }
touch "$S/a2"
wait $H || t_fail "local_locks: the holder failed"
t_umount "$MP" || { cat "$T_LOG" >&2; t_fail "daemon exit status not 0"; }
echo "PASS: local locks exclude on the mount only"
exit 0
