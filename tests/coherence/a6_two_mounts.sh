#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_two_mounts.sh - SEMANTICS A6 across two mmapfs mounts.
#
# Two mmapfs processes serve the same backing directory at two mount
# points.  A store plus msync(MS_SYNC) in a mapping on mount 1 must become
# visible in a mapping (and read()) on mount 2, and a truncate on mount 1
# must make the pages past the new end raise SIGBUS on mount 2 - each within
# the bound outside.c asserts (2 s; the latency is printed).
#
# Broken rule looks like: mount 2 showing the old bytes or the old size
# (it does not notice mount 1's write-back or ftruncate of the backing file).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
BIN=${top_builddir:-.}/tests/coherence
BK=$T_TMP/backing
MP1=$T_TMP/mnt1
MP2=$T_TMP/mnt2
T_LOG=$T_TMP/daemon.log
t_mount "$BK" "$MP1"
P1=$T_PID
t_mount "$BK" "$MP2"
P2=$T_PID

for c in two-store two-trunc; do
	"$BIN/outside" "$c" "$MP1" "$BK" "$MP2" || {
		cat "$T_LOG" >&2
		t_fail "case $c"
	}
done

t_umount "$MP1" "$P1" || t_fail "daemon 1 exit status"
t_umount "$MP2" "$P2" || t_fail "daemon 2 exit status"
grep 'watcher:' "$T_LOG"
exit 0
