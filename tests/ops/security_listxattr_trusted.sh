#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/security_listxattr_trusted.sh - regression test of a difference
# found by security.sh: listxattr on the mount showed an unprivileged user
# the trusted.* names of a file (the daemon lists as root, the FUSE kernel
# passes the list on), where ext4 lists them only to CAP_SYS_ADMIN.
# Checked on the mount and on a plain directory beside it: the same lists,
# also through the size query (getfattr asks for the size first), and root
# still sees them.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python errno
r_need setpriv getfattr
r_root || r_skip "needs root"
r_start -o allow_other
[ -n "${T_NOMOUNT:-}" ] && r_skip "T_NOMOUNT: compares with the mount itself"
REF=$T_TMP/ref
mkdir "$REF"
chmod 755 "$T_TMP" "$REF" "$MNT"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
for d in "$REF" "$MNT"; do
	echo x >"$d/f" && chmod 644 "$d/f"
	setfattr -n trusted.hidden -v 1 "$d/f" || t_fail "setfattr trusted on $d"
	setfattr -n user.seen -v 2 "$d/f" || t_fail "setfattr user on $d"
	setfattr -n security.seen -v 3 "$d/f" || t_fail "setfattr security on $d"
	echo y >"$d/only-trusted" && chmod 644 "$d/only-trusted"
	setfattr -n trusted.only -v 1 "$d/only-trusted"
done
list() {	# list WHO FILE: sorted names, by os.listxattr and by getfattr
	$1 "$PY" -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$2"
	$1 getfattr --absolute-names -m - "$2" 2>&1 | grep -v '^#' | sort | tr '\n' ' '
	echo
}
for f in f only-trusted; do
	r_eq "nobody's list of $f" "$(list "$NOBODY" "$REF/$f")" "$(list "$NOBODY" "$MNT/$f")"
	r_eq "root's list of $f" "$(list "" "$REF/$f")" "$(list "" "$MNT/$f")"
done
r_eq "nobody's list of f on the mount" "security.seen user.seen" \
	"$($NOBODY "$PY" -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$MNT/f")"
r_eq "root's list of f on the mount" "security.seen trusted.hidden user.seen" \
	"$("$PY" -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$MNT/f")"
r_finish
echo "PASS: $R_SCRIPT"
exit 0
