#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/security_otrunc_setid.sh - regression test of a difference
# found by security.sh: open(O_TRUNC) by a user without CAP_FSETID left the
# set-user-ID and set-group-ID bits of the file on the mount (the FUSE
# kernel skips its SETATTR, and with it the bits' clearing, when the
# filesystem does O_TRUNC atomically in OPEN); ext4 clears them.  Compared
# with a plain directory beside the mount, for another user and the owner,
# and for root (who keeps them on both).

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python errno
r_need setpriv stat
r_root || r_skip "needs root"
r_start -o allow_other
[ -n "${T_NOMOUNT:-}" ] && r_skip "T_NOMOUNT: compares with the mount itself"
REF=$T_TMP/ref
mkdir "$REF"
chmod 755 "$T_TMP" "$REF" "$MNT"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
DAEMON="setpriv --reuid=1 --regid=1 --clear-groups"
otrunc='import os, sys; os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC))'
for d in "$REF" "$MNT"; do
	for f in other owner root; do
		echo data >"$d/$f" && chown 1:1 "$d/$f" && chmod 6777 "$d/$f"
	done
	$NOBODY "$PY" -c "$otrunc" "$d/other" || t_fail "nobody's O_TRUNC on $d"
	$DAEMON "$PY" -c "$otrunc" "$d/owner" || t_fail "the owner's O_TRUNC on $d"
	"$PY" -c "$otrunc" "$d/root" || t_fail "root's O_TRUNC on $d"
done
for f in other owner root; do
	r_eq "mode and size of $f after O_TRUNC" "$(stat -c '%a %s' "$REF/$f")" "$(stat -c '%a %s' "$MNT/$f")"
done
r_eq "mode of nobody's truncation on the mount" "777 0" "$(stat -c '%a %s' "$MNT/other")"
r_eq "mode of root's truncation on the mount" "6777 0" "$(stat -c '%a %s' "$MNT/root")"
# Data written after an O_TRUNC through the mount lands as on ext4.
for d in "$REF" "$MNT"; do
	echo old-longer-content >"$d/data"
	$PY -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"new\n"); os.close(fd)' "$d/data"
done
r_eq "content after O_TRUNC + write" "$(cat "$REF/data")" "$(cat "$MNT/data")"
r_finish
r_eq "backing content after unmount" "new" "$(cat "$BACKING/data")"
r_eq "backing mode of nobody's truncation" "777" "$(stat -c %a "$BACKING/other")"
echo "PASS: $R_SCRIPT"
exit 0
