#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_dirty_bytes.sh - SEMANTICS A6 with writers of different bytes of the
# same page: a mapped store and a write() on mount 2, a program on the
# backing file and a write() on mount 1.  Only the bytes each wrote are
# written back, so none is lost (a6_dirty_bytes.py says how).
#
# Broken rule looks like: "backing byte 0 is b'aaaa', expected b'OUT!'" -
# mount 2 wrote its whole page back over the others' bytes.

. "${top_srcdir:-.}/tests/real/lib.sh"
t_require_fuse
r_python mmap
t_tmpdir
BK=$T_TMP/backing
MP1=$T_TMP/mnt1
MP2=$T_TMP/mnt2
T_LOG=$T_TMP/daemon.log
t_mount "$BK" "$MP1"
P1=$T_PID
t_mount "$BK" "$MP2"
P2=$T_PID
r_timeout 60 "$PY" "${top_srcdir:-.}/tests/coherence/a6_dirty_bytes.py" \
	"$MP1" "$MP2" "$BK" || { cat "$T_LOG" >&2; t_fail "bytes lost"; }
t_umount "$MP1" "$P1" || t_fail "daemon 1 exit status"
t_umount "$MP2" "$P2" || t_fail "daemon 2 exit status"
exit 0
