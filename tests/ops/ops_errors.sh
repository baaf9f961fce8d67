#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/ops_errors.sh - the errno an ext4 user gets, through the mount.
#
# ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG, EACCES for an
# unprivileged user (the mount has allow_other, the daemon runs as root),
# and the backing directory as a jail: symlinks in it are served as
# symlinks and never followed by the daemon, and nothing is created or
# changed outside it.
#
# The backing dir and the mount point sit at different depths under T_TMP
# (b/backing and m/mnt), so that a relative symlink "../x" names a different
# place when the kernel resolves it on the mount (T_TMP/m/x) than when the
# daemon would resolve it in the backing dir (T_TMP/b/x).

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python errno
r_need setpriv stat readlink getfattr setfattr
R_BACKING_REL=b/backing R_MNT_REL=m/mnt
r_start -o allow_other
chmod 755 "$T_TMP" "$T_TMP/m" "$MNT"
[ -d "$T_TMP/b" ] && chmod 755 "$T_TMP/b"
M=$MNT B=$BACKING
echo data >"$M/file"
mkdir -p "$M/dir/sub" "$M/empty"
echo in >"$M/dir/sub/f"

############################################################ ENOENT
r_errno ENOENT 'os.stat(a[0])' "$M/missing"
r_errno ENOENT 'os.lstat(a[0])' "$M/missing"
r_errno ENOENT 'os.open(a[0], os.O_RDONLY)' "$M/missing"
r_errno ENOENT 'os.open(a[0], os.O_CREAT | os.O_WRONLY)' "$M/missing-dir/f"
r_errno ENOENT 'os.mkdir(a[0])' "$M/missing-dir/d"
r_errno ENOENT 'os.unlink(a[0])' "$M/missing"
r_errno ENOENT 'os.rmdir(a[0])' "$M/missing"
r_errno ENOENT 'os.rename(a[0], a[1])' "$M/missing" "$M/other"
r_errno ENOENT 'os.link(a[0], a[1])' "$M/missing" "$M/other"
r_errno ENOENT 'os.readlink(a[0])' "$M/missing"
r_errno ENOENT 'os.chmod(a[0], 0o600)' "$M/missing"
r_errno ENOENT 'os.truncate(a[0], 0)' "$M/missing"
r_errno ENOENT 'os.listdir(a[0])' "$M/missing"
ln -s missing "$M/dangling"
r_errno ENOENT 'os.stat(a[0])' "$M/dangling"
r_errno ENOENT 'os.open(a[0], os.O_RDONLY)' "$M/dangling"
# Gone from the backing dir behind the mount's back: the next lookup fails.
echo x >"$M/vanishing"
stat "$M/vanishing" >/dev/null
rm "$B/vanishing"
[ -n "${T_NOMOUNT:-}" ] || sleep 1.5	# attribute and entry timeouts
r_errno ENOENT 'os.open(a[0], os.O_RDONLY)' "$M/vanishing"

############################################################ EEXIST
r_errno EEXIST 'os.mkdir(a[0])' "$M/dir"
r_errno EEXIST 'os.mkdir(a[0])' "$M/file"
r_errno EEXIST 'os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)' "$M/file"
r_errno EEXIST 'os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)' "$M/dir"
r_errno EEXIST 'os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)' "$M/dangling"
r_errno EEXIST 'os.link(a[0], a[1])' "$M/file" "$M/dangling"
r_errno EEXIST 'os.symlink("x", a[0])' "$M/file"
r_errno EEXIST 'os.mkfifo(a[0])' "$M/dir"
r_errno EEXIST 'os.mknod(a[0])' "$M/file"

############################################################ ENOTDIR
r_errno ENOTDIR 'os.stat(a[0])' "$M/file/x"
r_errno ENOTDIR 'os.open(a[0], os.O_RDONLY)' "$M/file/x"
r_errno ENOTDIR 'os.open(a[0], os.O_CREAT | os.O_WRONLY)' "$M/file/x"
r_errno ENOTDIR 'os.mkdir(a[0])' "$M/file/x"
r_errno ENOTDIR 'os.rmdir(a[0])' "$M/file"
r_errno ENOTDIR 'os.listdir(a[0])' "$M/file"
r_errno ENOTDIR 'os.open(a[0], os.O_RDONLY | os.O_DIRECTORY)' "$M/file"
r_errno ENOTDIR 'os.rename(a[0], a[1])' "$M/empty" "$M/file"

############################################################ EISDIR
r_errno EISDIR 'os.open(a[0], os.O_WRONLY)' "$M/dir"
r_errno EISDIR 'os.open(a[0], os.O_RDWR)' "$M/dir"
r_errno EISDIR 'os.open(a[0], os.O_CREAT | os.O_WRONLY)' "$M/dir"
r_errno EISDIR 'os.unlink(a[0])' "$M/dir"
r_errno EISDIR 'os.rename(a[0], a[1])' "$M/file" "$M/empty"
r_errno EISDIR 'os.read(os.open(a[0], os.O_RDONLY | os.O_DIRECTORY), 10)' "$M/dir"
r_errno EISDIR 'os.truncate(a[0], 0)' "$M/dir"

############################################################ ENOTEMPTY
r_errno ENOTEMPTY 'os.rmdir(a[0])' "$M/dir"
r_errno ENOTEMPTY 'os.rename(a[0], a[1])' "$M/empty" "$M/dir"
mkdir "$M/empty2"
r_errno ENOTEMPTY 'os.rename(a[0], a[1])' "$M/empty2" "$M/dir"
r_errno EINVAL 'os.rename(a[0], a[1])' "$M/dir" "$M/dir/sub/into-itself"

############################################################ ENAMETOOLONG
n255=$(printf '%0255d' 0) n256=$(printf '%0256d' 0)
r_errno OK 'os.close(os.open(a[0], os.O_CREAT | os.O_WRONLY))' "$M/$n255"
[ -f "$B/$n255" ] || t_fail "a 255-byte name is missing in the backing dir"
r_errno OK 'os.mkdir(a[0])' "$M/d$(printf '%0254d' 0)"
r_errno ENAMETOOLONG 'os.open(a[0], os.O_CREAT | os.O_WRONLY)' "$M/$n256"
r_errno ENAMETOOLONG 'os.stat(a[0])' "$M/$n256"
r_errno ENAMETOOLONG 'os.mkdir(a[0])' "$M/$n256"
r_errno ENAMETOOLONG 'os.symlink("x", a[0])' "$M/$n256"
r_errno ENAMETOOLONG 'os.rename(a[0], a[1])' "$M/file" "$M/$n256"
r_errno ENAMETOOLONG 'os.link(a[0], a[1])' "$M/file" "$M/$n256"
r_errno ENAMETOOLONG 'os.stat(a[0])' "$M/$n256/x"
[ -z "$(cd "$B" && find . -name "$n256*")" ] || t_fail "a 256-byte name exists in the backing dir"

############################################################ EACCES
if r_root; then
	NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	# nb STMT ARGS...: r_errno as nobody.
	nb() {
		nb_want=$1 nb_stmt=$2; shift 2
		nb_got=$($NOBODY "$PY" -c "import errno, os, sys
a = sys.argv[1:]
try:
    $nb_stmt
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
else:
    print('OK')" "$@" 2>&1)
		r_eq "as nobody: $nb_stmt with a = [$*]" "$nb_want" "$nb_got"
	}
	echo secret >"$M/secret" && chmod 600 "$M/secret"
	echo public >"$M/public" && chmod 644 "$M/public"
	mkdir "$M/closed" && echo in >"$M/closed/f" && chmod 700 "$M/closed"
	mkdir "$M/rodir" && echo in >"$M/rodir/f" && chmod 755 "$M/rodir"
	mkdir "$M/nobodys" && chown 65534:65534 "$M/nobodys"
	echo mine >"$M/nobodys/mine" && chown 65534:65534 "$M/nobodys/mine" &&
		chmod 600 "$M/nobodys/mine"
	# Controls: nobody reaches the mount and what is open to all.
	nb OK 'os.stat(a[0])' "$M"
	nb OK 'assert open(a[0]).read() == "public\n"' "$M/public"
	nb OK 'os.listdir(a[0])' "$M/rodir"
	nb OK 'assert open(a[0]).read() == "mine\n"' "$M/nobodys/mine"
	nb OK 'os.close(os.open(a[0], os.O_CREAT | os.O_WRONLY, 0o600))' "$M/nobodys/new"
	r_eq "owner of a file created by nobody" "65534 65534" "$(stat -c '%u %g' "$B/nobodys/new")"
	# Denied.
	nb EACCES 'os.open(a[0], os.O_RDONLY)' "$M/secret"
	nb EACCES 'os.open(a[0], os.O_WRONLY)' "$M/public"
	nb EACCES 'os.open(a[0], os.O_WRONLY | os.O_TRUNC)' "$M/public"
	nb EACCES 'os.truncate(a[0], 0)' "$M/public"
	nb EACCES 'os.listdir(a[0])' "$M/closed"
	nb EACCES 'os.stat(a[0])' "$M/closed/f"
	nb EACCES 'os.open(a[0], os.O_CREAT | os.O_WRONLY)' "$M/rodir/new"
	nb EACCES 'os.mkdir(a[0])' "$M/rodir/newdir"
	nb EACCES 'os.unlink(a[0])' "$M/rodir/f"
	nb EACCES 'os.rename(a[0], a[1])' "$M/rodir/f" "$M/rodir/g"
	nb EPERM 'os.chmod(a[0], 0o666)' "$M/secret"
	nb EPERM 'os.chown(a[0], 65534, 65534)' "$M/secret"
	nb EPERM 'os.utime(a[0], (0, 0))' "$M/public"
	nb EACCES 'os.utime(a[0], None)' "$M/public"
	r_eq "content of the 0600 file after nobody's attempts" secret "$(cat "$B/secret")"
	r_eq "content of the 0644 file after nobody's attempts" public "$(cat "$B/public")"
	r_eq "mode of the 0600 file after nobody's attempts" 600 "$(stat -c %a "$B/secret")"
	[ -e "$B/rodir/new" ] && t_fail "nobody created rodir/new"
	[ -e "$B/rodir/f" ] || t_fail "nobody removed rodir/f"
fi

############################################################ the jail
# Symlinks placed in the backing dir from outside, and made on the mount.
OUT=$T_TMP/outside
mkdir "$OUT" && echo decoy >"$OUT/decoy" || t_fail "mkdir $OUT"
chmod 644 "$OUT/decoy"
ln -s /etc/passwd "$B/passwd-link"
ln -s "$OUT/decoy" "$B/decoy-link"
ln -s "$OUT" "$B/out-dir"
ln -s ../escape "$B/rel-escape"
ln -s /etc/passwd "$M/passwd-link2"
for l in passwd-link passwd-link2; do
	r_eq "type of $l" "symbolic link 11" "$(stat -c '%F %s' "$M/$l")"
	r_eq "readlink $l" /etc/passwd "$(readlink "$M/$l")"
	# Following it is the kernel's job on the client side, as on ext4.
	cmp /etc/passwd "$M/$l" || t_fail "reading through $l is not /etc/passwd"
done
r_eq "readlink passwd-link2 in the backing dir" /etc/passwd "$(readlink "$B/passwd-link2")"
r_eq "type of out-dir" "symbolic link" "$(stat -c %F "$M/out-dir")"
# Operations on a symlink itself must not reach its target.
before=$(stat -c '%u %g %Y %a' "$OUT/decoy")
if r_root; then
	chown -h 4321:4321 "$M/decoy-link" || t_fail "chown -h decoy-link"
	r_eq "owner of decoy-link after chown -h" "4321 4321" "$(stat -c '%u %g' "$B/decoy-link")"
fi
touch -h -d '2003-03-03 03:03:03' "$M/decoy-link" || t_fail "touch -h decoy-link"
r_eq "mtime of decoy-link after touch -h" 1046660583 "$(stat -c %Y "$B/decoy-link")"
r_errno EPERM 'os.setxattr(a[0], "user.x", b"1", follow_symlinks=False)' "$M/decoy-link"
setfattr -n user.mark -v outside "$OUT/decoy" 2>/dev/null &&
	r_errno ENODATA 'os.getxattr(a[0], "user.mark", follow_symlinks=False)' "$M/decoy-link"
r_errno OK 'assert "user.mark" not in os.listxattr(a[0], follow_symlinks=False)' "$M/decoy-link"
ln -P "$M/decoy-link" "$M/decoy-hardlink" || t_fail "ln -P (link to the symlink itself)"
r_eq "type of a hard link to a symlink" "symbolic link" "$(stat -c %F "$B/decoy-hardlink")"
r_eq "the decoy outside, after all that" "$before" "$(stat -c '%u %g %Y %a' "$OUT/decoy")"
r_eq "the decoy's content" decoy "$(cat "$OUT/decoy")"
[ "$(stat -c %h "$OUT/decoy")" = 1 ] || t_fail "the decoy outside got a hard link"
# Creating through symlinks: O_EXCL never follows; a plain O_CREAT through
# a dangling relative link creates where the kernel resolves it from the
# mount (T_TMP/m/escape, as on ext4), never where the daemon would resolve
# it from the backing dir (T_TMP/b/escape).
r_errno EEXIST 'os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)' "$M/rel-escape"
[ -e "$T_TMP/m/escape" ] && t_fail "O_EXCL through a symlink created its target"
r_errno OK 'os.close(os.open(a[0], os.O_CREAT | os.O_WRONLY, 0o644))' "$M/rel-escape"
[ -e "$T_TMP/b/escape" ] && t_fail "creating through $M/rel-escape created $T_TMP/b/escape"
[ -f "$T_TMP/m/escape" ] || t_fail "creating through $M/rel-escape did not create $T_TMP/m/escape (ext4 does)"
rm -f "$T_TMP/m/escape"
# ".." of the mount's root is the mount point's parent, not the backing's.
r_eq "inode of $M/.." "$(stat -c '%d %i' "$T_TMP/m")" "$(stat -c '%d %i' "$M/..")"
r_errno ENOENT 'os.stat(a[0])' "$M/../backing"
# Nothing but what this test made exists outside the backing dir.
r_eq "files outside the backing dir" \
	"./outside ./outside/decoy" \
	"$(cd "$T_TMP" && find . -path ./b/backing -prune -o -path ./m/mnt -prune -o \
		-path ./m -o -path ./b -o -path . -o -name daemon.log -o -print | sort | tr '\n' ' ' | sed 's/ $//')"

r_finish
echo "PASS: $R_SCRIPT"
exit 0
