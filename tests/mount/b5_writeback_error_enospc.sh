#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# b5_writeback_error_enospc.sh - SEMANTICS B5 with a real ENOSPC.
#
# Mounts a 1 MiB tmpfs as the backing directory, mmapfs over it (with a
# 16 MiB cache, so that the driver's flood of writes exceeds it), and runs
# tests/mount/b5_writeback_error, which fills the tmpfs from outside and
# checks that fsync/msync/close report ENOSPC to every descriptor that has
# not seen it, that writers fail instead of hanging, and that after space is
# freed a retry of fsync succeeds with the data really in the backing file.
# Then unmounts mmapfs (the daemon must exit 0: nothing is left unwritable)
# and checks the backing file once more with the daemon gone.
#
# Both mounts are undone on every exit path: mmapfs first, then the tmpfs.
#
# Broken rule looks like: see b5_writeback_error.c.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
. "${top_srcdir:-.}/tests/mount/helpers.sh"

BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
mkdir -p "$BK" "$MP"

# mmapfs must go before the tmpfs under it, and before mount.sh removes
# $T_TMP.  Free the space first, so that the daemon can write what it still
# holds and exit.
b5_cleanup() {
	rm -f "$BK/filler"
	if t_is_mounted "$MP"; then
		umount "$MP" 2>/dev/null || umount -l "$MP" 2>/dev/null
	fi
	b5_i=0
	while kill -0 "$T_PID" 2>/dev/null && [ $b5_i -lt 100 ]; do
		sleep 0.1; b5_i=$((b5_i + 1))
	done
	kill -9 "$T_PID" 2>/dev/null
	if t_is_mounted "$BK"; then
		umount "$BK" 2>/dev/null || umount -l "$BK"
	fi
}
H_EXTRA_CLEANUP=b5_cleanup

if ! mount -t tmpfs -o size=1M,mode=0755 mmapfs-b5 "$BK"; then
	echo "SKIP: cannot mount a tmpfs" >&2
	exit 77
fi
t_mount "$BK" "$MP" -o cache_size=16M

"$H_BIN/b5_writeback_error" "$MP" "$BK" || t_fail "b5_writeback_error failed"

umount "$MP" || t_fail "umount $MP"
h_wait_exit "$T_PID" 60
[ "$H_STATUS" -eq 0 ] || t_fail "daemon exited with status $H_STATUS after umount"

"$H_BIN/maptool" -r "$BK/b5" checksize:256K verify:0:256K:2 ||
	t_fail "backing file after unmount"
echo "PASS: B5 ENOSPC"
exit 0
