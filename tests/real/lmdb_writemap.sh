#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/lmdb_writemap.sh - LMDB with MDB_WRITEMAP (python3-lmdb).
#
# Two writer processes take turns (the second overwrites and deletes some of
# the first's keys), then a reader in a third process checks every key.  The
# data file is a sparse file as large as map_size whose pages LMDB fills by
# storing into a MAP_SHARED mapping, committing with msync(MS_SYNC) (A1, B1,
# page faults in holes).  After unmounting, the environment is opened again
# from the backing directory and checked once more.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python lmdb hashlib
r_start

SCRIPT=$top_srcdir/tests/real/lmdb_writemap.py
ENV=$MNT/env
mkdir "$ENV" || t_fail "mkdir $ENV"

r_timeout 40 "$PY" "$SCRIPT" write "$ENV" 1 || t_fail "LMDB writer 1"
r_timeout 40 "$PY" "$SCRIPT" write "$ENV" 2 || t_fail "LMDB writer 2"
r_timeout 40 "$PY" "$SCRIPT" verify "$ENV" || t_fail "LMDB reader on the mount"
cmp "$ENV/data.mdb" "$BACKING/env/data.mdb" ||
	t_fail "data.mdb on the mount and in the backing dir differ after msync"

r_finish
r_timeout 40 "$PY" "$SCRIPT" verify "$BACKING/env" ||
	t_fail "LMDB reader in the backing dir after unmount"
echo "PASS: $R_SCRIPT"
exit 0
