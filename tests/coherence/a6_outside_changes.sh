#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_outside_changes.sh - SEMANTICS A6 and C3 (outside case).
#
# One mount; for each kind of outside change - write(), pwrite() past EOF,
# ftruncate() down and up, a store through a mapping of the backing file
# followed by msync(), an outside write next to and into a page we hold
# dirty - a process holding a mapping of the file on the
# mount must see it, through the mapping and through read(), within the
# bound outside.c asserts (2 s; the latency is printed).  The daemon's
# shutdown line must count the outside changes it took.
#
# Broken rule looks like: "not seen after 2000 ms" (no detection, or the
# kernel not told), a SIGBUS killing the helper (growth not made visible
# to mappers), or old bytes through read() (our cache not invalidated).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
BIN=${top_builddir:-.}/tests/coherence
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
t_mount "$BK" "$MP" ${A6_MOUNT_OPTS:-}

for c in write extend shrink grow mapstore overlap; do
	"$BIN/outside" "$c" "$MP" "$BK" || {
		cat "$T_LOG" >&2
		t_fail "case $c"
	}
done

t_umount "$MP" || t_fail "daemon exit status"
grep 'watcher:' "$T_LOG"
n=$(sed -n 's/.*[^0-9]\([0-9][0-9]*\) outside changes.*/\1/p' "$T_LOG")
[ "${n:-0}" -ge 6 ] || t_fail "daemon took ${n:-0} outside changes, want >= 6"
exit 0
