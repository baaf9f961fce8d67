#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_outside_hammer.sh - SEMANTICS A6 under load: two programs hammer a
# backing file with pwrite() while programs on the mount map it, store into
# it, write it and read it, each writer owning a quarter of every page
# (a6_outside_hammer.py says how): first with write() on the mount, then
# with stores through mappings.  No crash, no deadlock (a 30 s progress
# watchdog), our stores and writes visible to us (within 1 s; the late
# ones counted), and at the end every byte of the backing file is its
# owner's last value, and so is every byte read through the mount within
# 10 s (an outside byte still stale then fails: finding 18).
#
# HAMMER_SECONDS: how long the writers run (default 10).
#
# Broken rule looks like: "backing file: byte 1024 (page 3, quarter 1) is
# 17, its owner wrote 200 last" (a stale page of ours written back over an
# outside write), or "map: a store at ... not seen by read()" (our own
# dirty data dropped by an invalidation).

. "${top_srcdir:-.}/tests/real/lib.sh"
t_require_fuse
r_python mmap
t_tmpdir
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
t_mount "$BK" "$MP"
for mode in write map; do
	r_timeout 300 "$PY" "${top_srcdir:-.}/tests/coherence/a6_outside_hammer.py" \
		"$MP" "$BK" "${HAMMER_SECONDS:-10}" $mode ||
		{ tail -n 30 "$T_LOG" >&2; t_fail "hammer, $mode mode"; }
done
t_umount "$MP" || t_fail "daemon exit status"
grep 'watcher:' "$T_LOG"
exit 0
