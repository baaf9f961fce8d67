#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/python_mmap.sh - Python's mmap module on the mount.
#
# MAP_SHARED stores seen by read() and by other processes without flush()
# (A1), flush() = msync(MS_SYNC) reaching the backing file (B1), write()
# seen through the mapping (A2), fork() (A4), resize() growing and shrinking
# the file (ftruncate + mremap, C4), ACCESS_COPY stores staying private (A3)
# and page-aligned offsets (D1).  The steps are in python_mmap.py; the final
# file is compared with the expected bytes on the mount and, after
# unmounting, in the backing directory.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python mmap subprocess
r_need cmp
r_start

r_timeout 40 "$PY" "$top_srcdir/tests/real/python_mmap.py" run \
	"$MNT/file" "$BACKING/file" "$T_TMP/expected" || t_fail "python_mmap.py run"
cmp "$T_TMP/expected" "$MNT/file" || t_fail "$MNT/file differs from the expected bytes"

r_finish
cmp "$T_TMP/expected" "$BACKING/file" ||
	t_fail "$BACKING/file differs from the expected bytes after unmount"
echo "PASS: $R_SCRIPT"
exit 0
