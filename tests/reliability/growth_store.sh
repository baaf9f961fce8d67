#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# growth_store.sh - reliability finding 12: stores made through a mapping
# into the old tail of the EOF page, after a write() grew the file past it,
# reach the file (growth_store.c has the details).
#
# Twice: with -o max_threads=1, where the daemon can never wait on the
# kernel (it once cut those stores out of the next write-back in most
# rounds); and with the defaults, where the stale store past the old EOF
# must also read as zero (C2).  GROWTH_ROUNDS: 200.
. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir

GS=${top_builddir:-.}/tests/reliability/growth_store
[ -x "$GS" ] || t_fail "$GS not built"
ROUNDS=${GROWTH_ROUNDS:-200}

for mode in keep zero; do
	BK=$T_TMP/backing.$mode MP=$T_TMP/mnt.$mode
	T_LOG=$T_TMP/daemon.$mode.log
	if [ $mode = keep ]; then
		t_mount "$BK" "$MP" -o max_threads=1
	else
		t_mount "$BK" "$MP"
	fi
	"$GS" "$MP/f" "$BK/f" "$ROUNDS" $mode || {
		t_umount "$MP"
		tail -n 20 "$T_LOG" >&2
		t_fail "stores after a growth were lost ($mode)"
	}
	t_umount "$MP" || t_fail "the daemon exited non-zero at unmount ($mode)"
	grep 'old EOF page' "$T_LOG"
done
echo "PASS"
exit 0
