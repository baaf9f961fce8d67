#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fsx/eof_growth_race.sh - the FUSE kernel's growing-write race.
#
# A write(2) that grows a file from inside the page holding an unaligned
# EOF loses its bytes when that page is dirty from mapped stores and
# another process makes the kernel write it back while the WRITE is in
# flight (docs/semantics.md, "known kernel bug").  The daemon cannot see
# or undo it: the kernel zeroes the bytes before it sends them.
#
# make check (no argument): with the EOF page written back first (the
# workaround documented for users), growing writes through mmapfs under
# both triggers lose nothing; and the same program finds no loss on the
# backing filesystem itself.
#
# `make check-kernel-race` (argument "show"): also run without the
# workaround on mmapfs and on bindfs (if installed), and print how many
# writes the kernel lost.  It exits 0 either way: that part shows a kernel
# bug, it does not test mmapfs.
. "${top_srcdir:-.}/tests/lib/mount.sh"

RACE=${top_builddir:-.}/tests/fsx/eof_growth_race
N=${RACE_ITERATIONS:-5000}

t_require_fuse
[ -x "$RACE" ] || t_fail "$RACE not built"
t_tmpdir
B=$T_TMP/backing M=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
mkdir -p "$B"

"$RACE" --iterations "$N" --trigger munmap "$B/direct" ||
	t_fail "growing writes lost on the backing filesystem itself"

t_mount "$B" "$M"
for trig in munmap syncfs; do
	"$RACE" --msync-first --iterations "$N" --trigger $trig "$M/f" ||
		t_fail "growing writes lost through mmapfs with a clean EOF page (trigger $trig)"
done
if [ "${1:-}" = show ]; then
	for trig in munmap syncfs; do
		"$RACE" --iterations "$N" --trigger $trig "$M/f"
	done
fi
t_umount "$M" || { cat "$T_LOG" >&2; t_fail "mmapfs did not exit cleanly"; }

if [ "${1:-}" = show ]; then
	if command -v bindfs >/dev/null 2>&1; then
		mkdir -p "$T_TMP/bind"
		bindfs "$B" "$T_TMP/bind" || t_fail "bindfs did not mount"
		for trig in munmap syncfs; do
			"$RACE" --iterations "$N" --trigger $trig "$T_TMP/bind/g"
		done
		fusermount3 -u "$T_TMP/bind" || umount -l "$T_TMP/bind"
	else
		echo "bindfs not installed: the comparison with bindfs is skipped"
	fi
fi
exit 0
