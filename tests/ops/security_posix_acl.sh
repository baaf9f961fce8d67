#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/security_posix_acl.sh - regression test of a difference found
# by security.sh: POSIX ACLs of backing files were stored and shown
# through the mount but not enforced (the FUSE kernel checks the mode bits
# alone unless the filesystem wants FUSE_CAP_POSIX_ACL), so a named-user
# entry that denies nobody what "other" allows let nobody read the file.
# Compared with a plain directory beside the mount: ACLs set there and
# through the mount, one set directly in the backing dir, a default ACL.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python errno struct
r_need setpriv
r_root || r_skip "needs root"
r_start -o allow_other
[ -n "${T_NOMOUNT:-}" ] && r_skip "T_NOMOUNT: compares with the mount itself"
REF=$T_TMP/ref
mkdir "$REF"
chmod 755 "$T_TMP" "$REF" "$MNT"
: >"$T_TMP/probe"
"$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "system.posix_acl_access", b"\2\0\0\0\1\0\6\0\377\377\377\377\4\0\4\0\377\377\377\377\40\0\4\0\377\377\377\377")' "$T_TMP/probe" 2>/dev/null ||
	r_skip "the backing filesystem has no POSIX ACLs"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# acls DIR: files with ACLs (deny nobody, grant nobody), an ACL directory.
acls() {
	"$PY" - "$1" <<'PY'
import os, struct, sys
d = sys.argv[1]
N = 0xffffffff
def acl(*e):
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e)
def mk(name, mode, a):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(name + "\n")
    os.chmod(path, mode)
    os.setxattr(path, "system.posix_acl_access", a)
mk("deny", 0o644, acl((1, 6, N), (2, 0, 65534), (4, 4, N), (0x10, 4, N), (0x20, 4, N)))
mk("grant", 0o600, acl((1, 6, N), (2, 6, 65534), (4, 0, N), (0x10, 6, N), (0x20, 0, N)))
os.mkdir(os.path.join(d, "dir"), 0o755)
a = acl((1, 7, N), (2, 7, 65534), (4, 5, N), (0x10, 7, N), (0x20, 5, N))
os.setxattr(os.path.join(d, "dir"), "system.posix_acl_access", a)
os.setxattr(os.path.join(d, "dir"), "system.posix_acl_default", a)
PY
}
acls "$REF" || t_fail "ACLs on the reference"
acls "$MNT" || t_fail "ACLs through the mount"
# One set in the backing dir behind the mount's back, on a file not yet
# looked up through it.
echo backing >"$BACKING/deny-outside" && chmod 644 "$BACKING/deny-outside"
cp -a "$BACKING/deny-outside" "$REF/deny-outside"
for d in "$REF" "$BACKING"; do
	"$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "system.posix_acl_access", os.getxattr(sys.argv[2], "system.posix_acl_access"))' \
		"$d/deny-outside" "$REF/deny" || t_fail "copy the ACL to $d"
done
try() {	# try DIR: what nobody gets
	for f in deny grant deny-outside; do
		printf '%s read: ' "$f"
		$NOBODY cat "$1/$f" >/dev/null 2>&1 && echo OK || echo denied
		printf '%s append: ' "$f"
		$NOBODY sh -c "echo x >>'$1/$f'" 2>/dev/null && echo OK || echo denied
	done
	printf 'create in dir: '
	$NOBODY sh -c "umask 022; echo x >'$1/dir/new'" 2>/dev/null && echo OK || echo denied
	printf 'its mode and ACL: '
	"$PY" -c 'import os, stat, sys; p = sys.argv[1]
print("%o" % stat.S_IMODE(os.stat(p).st_mode), os.getxattr(p, "system.posix_acl_access").hex())' "$1/dir/new" 2>&1
}
ref=$(try "$REF")
mnt=$(try "$MNT")
r_eq "what nobody may do (reference, then mount)" "$ref" "$mnt"
case $ref in
*"deny read: denied"*"grant read: OK"*) ;;
*) t_fail "the reference does not enforce ACLs as expected: $ref" ;;
esac
r_finish
echo "PASS: $R_SCRIPT"
exit 0
