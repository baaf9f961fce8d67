#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/ops_basic.sh - the POSIX operations a program uses, on the mount,
# each compared byte for byte and attribute for attribute with what appears
# in the backing directory.
#
# Data written through the mount reaches the backing file at the latest
# when the file is fsync()ed (B2), so every comparison of contents is made
# after "sync FILE" (coreutils: fsync of that file).  Metadata (names, modes,
# owners, times, links, xattrs) is compared as it is.  At the end the whole
# tree is listed on the mount (types, sizes, modes, links, owners, mtimes,
# contents, xattrs) and, after unmounting, the backing dir must list the
# same (B4).

. "${top_srcdir:-.}/tests/real/lib.sh"
r_python errno socket
r_need cmp stat sync truncate fallocate setfattr getfattr df du find \
	sha256sum mkfifo mknod setpriv od
RENAMEAT2=${top_builddir:-.}/tests/ops/renameat2
[ -x "$RENAMEAT2" ] || t_fail "$RENAMEAT2 not built (make check builds it)"
TZ=UTC
export TZ
r_start -o allow_other
chmod 755 "$T_TMP"
M=$MNT B=$BACKING

attrs() { stat -c '%F size=%s mode=%a nlink=%h uid=%u gid=%g' "$1"; }

# same REL: REL has the same attributes (and, for a regular file after
# fsync, the same bytes) on the mount and in the backing dir.
same() {
	if [ -f "$M/$1" ] && [ ! -L "$M/$1" ]; then
		sync "$M/$1" || t_fail "sync (fsync) $M/$1"
		cmp "$M/$1" "$B/$1" || t_fail "$1: mount and backing differ after fsync"
	fi
	r_eq "attributes of $1 (backing dir, mount)" "$(attrs "$B/$1")" "$(attrs "$M/$1")"
}

# gone REL: REL exists neither on the mount nor in the backing dir.
gone() {
	[ -e "$M/$1" ] || [ -L "$M/$1" ] && t_fail "$1 still exists on the mount"
	[ -e "$B/$1" ] || [ -L "$B/$1" ] && t_fail "$1 still exists in the backing dir"
	return 0
}

# content REL TEXT: the file holds TEXT (trailing newlines aside: $(...)
# drops them), and the same bytes reach the backing dir.
content() {
	r_eq "content of $1 on the mount" "$2" "$(cat "$M/$1")"
	same "$1"
}

############################################################ create, write
echo "$R_SCRIPT: create, read, write, append" >&2
printf 'hello\n' >"$M/a" || t_fail "create $M/a"
content a hello
printf 'world\n' >>"$M/a"
printf 'again\n' >>"$M/a"
content a "hello
world
again"
# Overwrite in the middle without truncating.
printf 'HE' | dd of="$M/a" bs=1 seek=0 conv=notrunc status=none
content a "HEllo
world
again"

# O_APPEND from two processes at once: every record whole, none lost.
r_timeout 40 "$PY" - "$M/append" <<'EOF' || t_fail "O_APPEND from two processes"
import os, sys
path, n = sys.argv[1], 2000
pids = []
for w in (b"A", b"B"):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for i in range(n):
            os.write(fd, w + b"%062d\n" % i)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit("a writer failed")
data = open(path, "rb").read()
if len(data) != 2 * n * 64:
    sys.exit("size %d, expected %d" % (len(data), 2 * n * 64))
seen = {b"A": 0, b"B": 0}
for off in range(0, len(data), 64):
    rec = data[off:off + 64]
    w = rec[:1]
    if w not in seen or rec[63:] != b"\n" or int(rec[1:63]) != seen[w]:
        sys.exit("record at %d is %r (after %r)" % (off, rec, seen))
    seen[w] += 1
EOF
same append

# O_TRUNC
head -c 100000 /dev/urandom >"$M/trunc"
same trunc
printf 'short' >"$M/trunc"
content trunc short
: >"$M/trunc"
content trunc ""
r_eq "size after O_TRUNC" 0 "$(stat -c %s "$M/trunc")"

# O_EXCL
r_errno EEXIST "os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY)" "$M/a"
r_errno OK "os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)" "$M/excl"
r_eq "mode of a file made with O_EXCL, 0600" 600 "$(stat -c %a "$B/excl")"
same excl

############################################################ directories
echo "$R_SCRIPT: mkdir, rmdir, unlink" >&2
mkdir "$M/d" || t_fail "mkdir $M/d"
same d
[ -d "$B/d" ] || t_fail "mkdir: $B/d is not a directory"
rmdir "$M/d" || t_fail "rmdir $M/d"
gone d
mkdir -p "$M/x/y/z" && echo z >"$M/x/y/z/f" || t_fail "mkdir -p $M/x/y/z"
same x/y/z
same x/y/z/f
r_errno ENOTEMPTY "os.rmdir(a[0])" "$M/x"
r_errno ENOTEMPTY "os.rmdir(a[0])" "$M/x/y/z"
rm "$M/x/y/z/f" || t_fail "unlink $M/x/y/z/f"
gone x/y/z/f
rmdir "$M/x/y/z" "$M/x/y" "$M/x" || t_fail "rmdir the emptied tree"
gone x
r_eq "nlink of the root after mkdir of 2 subdirs" \
	"$(stat -c %h "$B")" "$(stat -c %h "$M")"

############################################################ links
echo "$R_SCRIPT: symlink, hard link" >&2
ln -s "some/../target path" "$M/sym" || t_fail "symlink"
r_eq "readlink on the mount" "some/../target path" "$(readlink "$M/sym")"
r_eq "readlink in the backing dir" "some/../target path" "$(readlink "$B/sym")"
r_eq "lstat size of the symlink" 19 "$(stat -c %s "$M/sym")"
same sym
ln -s a "$M/sym-to-a"
r_eq "reading through a symlink" "$(cat "$M/a")" "$(cat "$M/sym-to-a")"

printf 'linked\n' >"$M/h1"
ln "$M/h1" "$M/h2" || t_fail "link h1 h2"
r_eq "nlink after link on the mount" 2 "$(stat -c %h "$M/h1")"
r_eq "nlink after link in the backing dir" 2 "$(stat -c %h "$B/h1")"
same h1
same h2
printf 'through h2\n' >>"$M/h2"
content h1 "linked
through h2"
mkdir "$M/hd" && ln "$M/h1" "$M/hd/h3" || t_fail "link into a subdirectory"
r_eq "nlink after a second link" 3 "$(stat -c %h "$M/h2")"
rm "$M/h1"
r_eq "nlink after unlink" 2 "$(stat -c %h "$M/h2")"
same h2
same hd/h3
gone h1

############################################################ rename
echo "$R_SCRIPT: rename, mv -T, RENAME_NOREPLACE, RENAME_EXCHANGE" >&2
printf 'one' >"$M/r1"
mv "$M/r1" "$M/r2" || t_fail "mv r1 r2"
gone r1
content r2 one
printf 'three' >"$M/r3"
mv -f "$M/r3" "$M/r2" || t_fail "mv r3 over r2"
gone r3
content r2 three
mkdir -p "$M/da/sub" "$M/db" && printf 'in da' >"$M/da/sub/f"
mv -T "$M/da" "$M/db" || t_fail "mv -T da db (db an empty directory)"
gone da
content db/sub/f "in da"
mv "$M/r2" "$M/db/sub/moved" || t_fail "mv into a subdirectory"
content db/sub/moved three
mv "$M/db/sub/moved" "$M/r2" || t_fail "mv back out of a subdirectory"

printf 'NR1' >"$M/nr1"; printf 'NR2' >"$M/nr2"
r_eq "RENAME_NOREPLACE onto an existing name" EEXIST \
	"$("$RENAMEAT2" noreplace "$M/nr1" "$M/nr2")"
content nr1 NR1
content nr2 NR2
"$RENAMEAT2" noreplace "$M/nr1" "$M/nr3" || t_fail "RENAME_NOREPLACE to a new name"
gone nr1
content nr3 NR1
"$RENAMEAT2" exchange "$M/nr2" "$M/nr3" || t_fail "RENAME_EXCHANGE of two files"
content nr2 NR1
content nr3 NR2
mkdir "$M/xd" && printf 'in xd' >"$M/xd/f"
"$RENAMEAT2" exchange "$M/nr2" "$M/xd" || t_fail "RENAME_EXCHANGE of a file and a directory"
content nr2/f "in xd"
content xd NR1
r_eq "RENAME_EXCHANGE with a missing name" ENOENT \
	"$("$RENAMEAT2" exchange "$M/nr3" "$M/missing")"
content nr3 NR2

############################################################ chmod, chown
echo "$R_SCRIPT: chmod, chown" >&2
printf 'mode' >"$M/perm"
for mode in 640 600 755 4755 444; do
	chmod "$mode" "$M/perm" || t_fail "chmod $mode"
	r_eq "mode after chmod $mode (mount)" "$mode" "$(stat -c %a "$M/perm")"
	same perm
done
mkdir "$M/sticky" && chmod 1777 "$M/sticky"
same sticky
if r_root; then
	chown 1234:5678 "$M/perm" || t_fail "chown 1234:5678"
	r_eq "owner after chown (backing dir)" "1234 5678" "$(stat -c '%u %g' "$B/perm")"
	same perm
	chown 0:0 "$M/perm"
	ln -s perm "$M/perm-link"
	chown -h 4321:8765 "$M/perm-link" || t_fail "chown -h (lchown) of a symlink"
	r_eq "owner of the symlink after lchown" "4321 8765" "$(stat -c '%u %g' "$B/perm-link")"
	r_eq "owner of its target after lchown" "0 0" "$(stat -c '%u %g' "$B/perm")"
	same perm-link
	# A file created by another user is owned by that user.
	chmod 1777 "$M/sticky"
	# (The mount has allow_other; T_TMP is made searchable by all.)
	setpriv --reuid=1234 --regid=5678 --clear-groups sh -c ": >'$M/sticky/his'" ||
		t_fail "uid 1234 could not create a file in a 1777 directory"
	r_eq "owner of a file created by uid 1234" "1234 5678" "$(stat -c '%u %g' "$B/sticky/his")"
	same sticky/his
	setpriv --reuid=1234 --regid=5678 --clear-groups mkdir "$M/sticky/hisdir" ||
		t_fail "uid 1234 could not mkdir in a 1777 directory"
	r_eq "owner of a directory made by uid 1234" "1234 5678" "$(stat -c '%u %g' "$B/sticky/hisdir")"
fi

############################################################ times
echo "$R_SCRIPT: utimensat (touch, os.utime)" >&2
printf 'times' >"$M/tm"
sync "$M/tm"
tstamps() { stat -c '%x|%y' "$1"; }
touch -d '2001-02-03 04:05:06.123456789' "$M/tm" || t_fail "touch -d"
for p in "$M/tm" "$B/tm"; do
	r_eq "times after touch -d ($p)" \
		"2001-02-03 04:05:06.123456789 +0000|2001-02-03 04:05:06.123456789 +0000" \
		"$(tstamps "$p")"
done
"$PY" -c 'import os, sys; os.utime(sys.argv[1], ns=(1000000000123456789, 1100000000987654321))' "$M/tm" ||
	t_fail "os.utime(ns=...)"
for p in "$M/tm" "$B/tm"; do
	r_eq "st_atime_ns st_mtime_ns after os.utime ($p)" \
		"1000000000123456789 1100000000987654321" \
		"$("$PY" -c 'import os, sys; s = os.stat(sys.argv[1]); print(s.st_atime_ns, s.st_mtime_ns)' "$p")"
done
# touch -m -d: atime is UTIME_OMIT; touch -a -d: mtime is UTIME_OMIT.
touch -m -d '2010-01-01 00:00:00.5' "$M/tm"
for p in "$M/tm" "$B/tm"; do
	r_eq "times after touch -m -d (atime UTIME_OMIT) ($p)" \
		"2001-09-09 01:46:40.123456789 +0000|2010-01-01 00:00:00.500000000 +0000" \
		"$(tstamps "$p")"
done
touch -a -d '2011-01-01 00:00:00.25' "$M/tm"
for p in "$M/tm" "$B/tm"; do
	r_eq "times after touch -a -d (mtime UTIME_OMIT) ($p)" \
		"2011-01-01 00:00:00.250000000 +0000|2010-01-01 00:00:00.500000000 +0000" \
		"$(tstamps "$p")"
done
# touch -m: mtime UTIME_NOW, atime UTIME_OMIT.
t0=$(date +%s)
touch -m "$M/tm"
t1=$(date +%s)
for p in "$M/tm" "$B/tm"; do
	mt=$(stat -c %Y "$p")
	[ "$mt" -ge "$t0" ] && [ "$mt" -le "$t1" ] ||
		t_fail "mtime after touch -m (UTIME_NOW) on $p: $mt, not in [$t0, $t1]"
	r_eq "atime after touch -m (UTIME_OMIT) ($p)" \
		"2011-01-01 00:00:00.250000000 +0000" "$(stat -c %x "$p")"
done
# touch: both UTIME_NOW (utimensat with NULL times).
t0=$(date +%s)
touch "$M/tm"
t1=$(date +%s)
for p in "$M/tm" "$B/tm"; do
	for f in X Y; do
		tt=$(stat -c %$f "$p")
		[ "$tt" -ge "$t0" ] && [ "$tt" -le "$t1" ] ||
			t_fail "time %$f after touch (UTIME_NOW) on $p: $tt, not in [$t0, $t1]"
	done
done
# touch -h on a symlink sets the link's times, not its target's.
ln -s tm "$M/tm-link"
touch -h -d '2002-02-02 02:02:02' "$M/tm-link" || t_fail "touch -h on a symlink"
r_eq "mtime of a symlink after touch -h" "2002-02-02 02:02:02.000000000 +0000" "$(stat -c %y "$B/tm-link")"
[ "$(stat -c %Y "$B/tm")" -ge "$t0" ] || t_fail "touch -h on a symlink changed its target's mtime"

############################################################ truncate
echo "$R_SCRIPT: truncate" >&2
printf 'hello' >"$M/tr"
truncate -s 1M "$M/tr" || t_fail "truncate -s 1M"
r_eq "size after growing truncate" 1048576 "$(stat -c %s "$M/tr")"
{ printf 'hello'; head -c $((1048576 - 5)) /dev/zero; } >"$T_TMP/tr.want"
cmp "$T_TMP/tr.want" "$M/tr" || t_fail "grown file does not read as data + zeros"
same tr
truncate -s 3 "$M/tr" || t_fail "truncate -s 3"
content tr hel
truncate -s 10 "$M/tr"
r_eq "bytes after shrink then grow" "68656c00000000000000" \
	"$(od -An -tx1 "$M/tr" | tr -d ' \n')"
same tr

############################################################ special files
echo "$R_SCRIPT: mkfifo, socket, mknod" >&2
mkfifo "$M/fifo" || t_fail "mkfifo"
same fifo
r_eq "type of the fifo in the backing dir" fifo "$(stat -c %F "$B/fifo")"
r_timeout 10 sh -c "echo through >'$M/fifo'" &
writer=$!
r_eq "data through the fifo" through "$(r_timeout 10 cat "$M/fifo")"
wait $writer || t_fail "the fifo's writer failed"
r_timeout 20 "$PY" - "$M/sock" <<'EOF' || t_fail "AF_UNIX socket bound on the mount"
import socket, sys, threading
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
def serve():
    c, _ = srv.accept()
    c.sendall(c.recv(100).upper())
    c.close()
t = threading.Thread(target=serve)
t.start()
cl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cl.connect(path)
cl.sendall(b"ping")
if cl.recv(100) != b"PING":
    sys.exit("bad echo through the socket")
t.join()
EOF
r_eq "type of the socket in the backing dir" socket "$(stat -c %F "$B/sock")"
same sock
if r_root; then
	mknod "$M/null" c 1 3 || t_fail "mknod c 1 3"
	mknod "$M/loop" b 7 0 || t_fail "mknod b 7 0"
	for p in "$M" "$B"; do
		r_eq "char device ($p)" "character special file 1 3" "$(stat -c '%F %t %T' "$p/null")"
		r_eq "block device ($p)" "block special file 7 0" "$(stat -c '%F %t %T' "$p/loop")"
	done
	same null
	same loop
fi

############################################################ xattrs
echo "$R_SCRIPT: xattrs" >&2
printf 'x' >"$M/xa"
mkdir "$M/xdir"
setfattr -n user.color -v blue "$M/xa" || t_fail "setfattr user.color"
setfattr -n user.empty "$M/xa" || t_fail "setfattr user.empty (no value)"
setfattr -n user.dir -v d "$M/xdir" || t_fail "setfattr on a directory"
for p in "$M" "$B"; do
	r_eq "user.color ($p)" blue "$(getfattr --absolute-names --only-values -n user.color "$p/xa")"
	r_eq "user.empty ($p)" "" "$(getfattr --absolute-names --only-values -n user.empty "$p/xa")"
	r_eq "user.dir ($p)" d "$(getfattr --absolute-names --only-values -n user.dir "$p/xdir")"
done
# A 3000-byte binary value fits any backing fs; 60 KiB needs ext4's
# ea_inode (or another fs): the mount must answer what the backing fs does.
for size in 3000 61440; do
	: >"$T_TMP/probe"
	want=$("$PY" -c 'import os, sys
try:
    os.setxattr(sys.argv[1], "user.big", bytes(range(256)) * (int(sys.argv[2]) // 256))
    print("OK")
except OSError as e:
    import errno; print(errno.errorcode[e.errno])' "$T_TMP/probe" $size)
	r_errno "$want" 'os.setxattr(a[0], "user.big", bytes(range(256)) * (int(a[1]) // 256))' "$M/xa" $size
	if [ "$want" = OK ]; then
		for p in "$M" "$B"; do
			r_errno OK 'assert os.getxattr(a[0], "user.big") == bytes(range(256)) * (int(a[1]) // 256)' "$p/xa" $size
		done
	fi
	echo "$R_SCRIPT: a user.* xattr of $size bytes: $want" >&2
done
r_errno EEXIST 'os.setxattr(a[0], "user.color", b"red", os.XATTR_CREATE)' "$M/xa"
r_errno ENODATA 'os.setxattr(a[0], "user.nope", b"red", os.XATTR_REPLACE)' "$M/xa"
r_errno OK 'os.setxattr(a[0], "user.color", b"red", os.XATTR_REPLACE)' "$M/xa"
r_errno ENODATA 'os.getxattr(a[0], "user.nope")' "$M/xa"
list() { "$PY" -c 'import os, sys; print(" ".join(sorted(x for x in os.listxattr(sys.argv[1]) if x.startswith("user."))))' "$1"; }
r_eq "listxattr (backing, mount)" "$(list "$B/xa")" "$(list "$M/xa")"
for x in user.color user.empty; do
	case " $(list "$M/xa") " in
	*" $x "*) ;;
	*) t_fail "listxattr on the mount lacks $x: $(list "$M/xa")" ;;
	esac
done
setfattr -x user.color "$M/xa" || t_fail "setfattr -x user.color"
for p in "$M" "$B"; do
	r_errno ENODATA 'os.getxattr(a[0], "user.color")' "$p/xa"
done
r_errno ENODATA 'os.removexattr(a[0], "user.color")' "$M/xa"
r_eq "listxattr after removal (backing, mount)" "$(list "$B/xa")" "$(list "$M/xa")"

############################################################ statfs
echo "$R_SCRIPT: statfs, df" >&2
sf() { stat -f -c "$1" "$2"; }
r_eq "statfs total bytes (f_blocks * f_frsize)" \
	$(($(sf %b "$B") * $(sf %S "$B"))) $(($(sf %b "$M") * $(sf %S "$M")))
r_eq "statfs total inodes" "$(sf %c "$B")" "$(sf %c "$M")"
r_eq "statfs name length" "$(sf %l "$B")" "$(sf %l "$M")"
fb=$(($(sf %a "$B") * $(sf %S "$B"))) fm=$(($(sf %a "$M") * $(sf %S "$M")))
d=$((fb - fm)); [ $d -lt 0 ] && d=$((-d))
[ $d -le $((fb / 100 + 16777216)) ] ||
	t_fail "statfs available bytes: backing $fb, mount $fm"
r_eq "df size column" "$(df -P -B1 "$B" | awk 'NR == 2 { print $2 }')" \
	"$(df -P -B1 "$M" | awk 'NR == 2 { print $2 }')"

############################################################ fallocate
echo "$R_SCRIPT: fallocate" >&2
blocks() { stat -c %b "$B/$1"; }	# 512-byte units, in the backing dir
fallocate -l 1MiB "$M/fa" || t_fail "fallocate -l 1MiB"
r_eq "size after fallocate -l 1MiB" 1048576 "$(stat -c %s "$M/fa")"
head -c 1048576 /dev/zero >"$T_TMP/fa.want"
cmp "$T_TMP/fa.want" "$M/fa" || t_fail "fallocated file does not read as zeros"
same fa
[ "$(blocks fa)" -ge 2048 ] || t_fail "fallocate -l 1MiB allocated $(blocks fa) blocks in the backing file"
# Fill with data, then punch, zero and preallocate.
head -c 1048576 /dev/urandom >"$T_TMP/fa.want"
cp "$T_TMP/fa.want" "$M/fa"
same fa
b0=$(blocks fa)
zero() {	# zero FILE OFF LEN: the model of a hole or a zeroed range
	"$PY" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, bytes(int(sys.argv[3])), int(sys.argv[2]))' "$@"
}
fallocate -p -o 4096 -l 8192 "$M/fa" || t_fail "fallocate -p (punch hole)"
zero "$T_TMP/fa.want" 4096 8192
cmp "$T_TMP/fa.want" "$M/fa" || t_fail "after punching a hole: bytes differ"
same fa
[ "$(blocks fa)" -lt "$b0" ] || t_fail "punching a hole freed no block in the backing file ($b0 -> $(blocks fa))"
fallocate -z -o 65536 -l 10000 "$M/fa" || t_fail "fallocate -z (zero range)"
zero "$T_TMP/fa.want" 65536 10000
cmp "$T_TMP/fa.want" "$M/fa" || t_fail "after zeroing a range: bytes differ"
same fa
b1=$(blocks fa)
fallocate -n -o 1MiB -l 2MiB "$M/fa" || t_fail "fallocate -n (keep size)"
r_eq "size after fallocate -n" 1048576 "$(stat -c %s "$M/fa")"
cmp "$T_TMP/fa.want" "$M/fa" || t_fail "after fallocate -n: bytes differ"
same fa
[ "$(blocks fa)" -ge $((b1 + 4096)) ] || t_fail "fallocate -n -l 2MiB: backing blocks $b1 -> $(blocks fa)"
fallocate -z -o 1000000 -l 100000 "$M/fa" || t_fail "fallocate -z past EOF"
zero "$T_TMP/fa.want" 1000000 100000
r_eq "size after zeroing past EOF" 1100000 "$(stat -c %s "$M/fa")"
cmp "$T_TMP/fa.want" "$M/fa" || t_fail "after zeroing past EOF: bytes differ"
same fa

############################################################ SEEK_DATA/HOLE
echo "$R_SCRIPT: SEEK_DATA, SEEK_HOLE" >&2
# Data in [0, 64K) and [1M, 1M + 64K), size 2M; 64 KiB granularity holds
# for any block size up to 64 KiB.
r_timeout 20 "$PY" - "$M/sparse" "$B/sparse" <<'EOF' || t_fail "SEEK_DATA/SEEK_HOLE"
import errno, os, sys
K, M = 65536, 1 << 20
want = [("SEEK_HOLE", 0, K), ("SEEK_DATA", K, M), ("SEEK_DATA", 100, 100),
        ("SEEK_HOLE", M, M + K), ("SEEK_HOLE", M + K, M + K),
        ("SEEK_DATA", M + K, "ENXIO"), ("SEEK_HOLE", 2 * M - 1, 2 * M - 1),
        ("SEEK_DATA", 2 * M, "ENXIO"), ("SEEK_HOLE", 2 * M, "ENXIO")]
def check(path, when):
    fd = os.open(path, os.O_RDONLY)
    for how, off, res in want:
        try:
            got = os.lseek(fd, off, getattr(os, how))
        except OSError as e:
            got = errno.errorcode[e.errno]
        if got != res:
            sys.exit("%s: lseek(%d, %s) %s = %s, expected %s" %
                     (path, off, how, when, got, res))
    os.close(fd)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"d" * K, 0)
os.pwrite(fd, b"D" * K, M)
os.ftruncate(fd, 2 * M)
check(sys.argv[1], "before fsync")
os.fsync(fd)
check(sys.argv[1], "after fsync")
check(sys.argv[2], "after fsync (backing file)")
os.close(fd)
EOF

############################################################ copy_file_range
echo "$R_SCRIPT: copy_file_range" >&2
# Five rounds on fresh files: a stale page after the copy may depend on
# timing (write-back of the destination's first page).
r_timeout 40 "$PY" - "$M" "$B" <<'EOF' || t_fail "copy_file_range"
import os, sys
mnt, back = sys.argv[1:]
def copy(fin, fout, n, off_in, off_out):
    done = 0
    while done < n:
        k = os.copy_file_range(fin, fout, n - done, off_in + done, off_out + done)
        if k == 0:
            break
        done += k
    return done
def check(d, dst, path, what):
    got = os.pread(d, len(dst) + 100, 0)
    if got != bytes(dst):
        bad = [i for i in range(min(len(got), len(dst))) if got[i] != dst[i]]
        sys.exit("%s, %s: read %d bytes, expected %d; %d bytes differ, "
                 "first at %s: %r, expected %r" %
                 (path, what, len(got), len(dst), len(bad), bad[:1],
                  got[bad[0]:bad[0] + 8] if bad else b"",
                  bytes(dst[bad[0]:bad[0] + 8]) if bad else b""))
for r in range(5):
    src_p = os.path.join(mnt, "cfr-src%d" % r)
    dst_p = os.path.join(mnt, "cfr-dst%d" % r)
    src = os.urandom(1048576 + 123)
    dst = bytearray(b"x" * 300)
    with open(src_p, "wb") as f:
        f.write(src)
    with open(dst_p, "wb") as f:
        f.write(dst)
    s = os.open(src_p, os.O_RDONLY)
    d = os.open(dst_p, os.O_RDWR)
    n = copy(s, d, 500000, 4103, 100)
    if n != 500000:
        sys.exit("copied %d bytes, expected 500000" % n)
    dst[100:] = src[4103:4103 + 500000]
    check(d, dst, dst_p, "after copying 500000 bytes to offset 100")
    # Past the source's EOF the copy is short.
    n = copy(s, d, 1000, len(src) - 10, len(dst))
    if n != 10:
        sys.exit("copy across EOF: %d bytes, expected 10" % n)
    dst += src[-10:]
    check(d, dst, dst_p, "after copying across the source's EOF")
    # Within one file, non-overlapping, past its EOF: the gap reads as zeros.
    n = copy(d, d, 4096, 0, 600000)
    if n != 4096:
        sys.exit("copy within one file: %d bytes" % n)
    dst += bytes(600000 - len(dst)) + dst[0:4096]
    check(d, dst, dst_p, "after copying within the file")
    os.fsync(d)
    if open(os.path.join(back, "cfr-dst%d" % r), "rb").read() != bytes(dst):
        sys.exit("backing file of %s differs from the model after fsync" % dst_p)
    os.close(s)
    os.close(d)
EOF
same cfr-src0
same cfr-dst0

############################################################ readdir
echo "$R_SCRIPT: readdir of 2000 entries" >&2
mkdir "$M/big"
r_timeout 30 "$PY" - "$M/big" "$T_TMP/names" <<'EOF' || t_fail "creating 2000 entries"
import os, sys
names = []
for i in range(2000):
    n = "%04d-" % i + "n" * (i % 250)  # 5 to 254 bytes
    names.append(n)
    if i % 10 == 0:
        os.mkdir(os.path.join(sys.argv[1], n))
    else:
        os.close(os.open(os.path.join(sys.argv[1], n), os.O_CREAT | os.O_WRONLY, 0o644))
with open(sys.argv[2], "w") as f:
    f.write("".join(n + "\n" for n in sorted(names)))
EOF
for p in "$M" "$B"; do
	(cd "$p/big" && ls -A -1 | LC_ALL=C sort) >"$T_TMP/ls.out"
	cmp "$T_TMP/names" "$T_TMP/ls.out" || t_fail "ls -A of $p/big differs from the created names"
done
r_eq "readdir with d_type (dirs files)" "200 1800" \
	"$("$PY" -c 'import os, sys; e = list(os.scandir(sys.argv[1])); print(sum(x.is_dir(follow_symlinks=False) for x in e), sum(x.is_file(follow_symlinks=False) for x in e))' "$M/big")"
# Remove the 1000 entries with an odd number (all files), list again.
(cd "$M/big" && find . -maxdepth 1 -type f -name '*[13579]-*' -delete) || t_fail "rm half"
for p in "$M" "$B"; do
	r_eq "entries in $p/big after removing 1000" 1000 "$(ls -A "$p/big" | wc -l)"
done
r_eq "names after removals (backing, mount)" "$(ls -A "$B/big" | cksum)" "$(ls -A "$M/big" | cksum)"

############################################################ ls -l, du
echo "$R_SCRIPT: ls -l, du" >&2
for f in $(cd "$M" && find . -type f); do sync "$M/$f"; done
(cd "$B" && ls -lnR --time-style=+ .) >"$T_TMP/ls.b"
(cd "$M" && ls -lnR --time-style=+ .) >"$T_TMP/ls.m"
diff "$T_TMP/ls.b" "$T_TMP/ls.m" >&2 || t_fail "ls -lnR of backing dir (<) and mount (>) differ"
r_eq "du --apparent-size" "$(cd "$B" && du -s -B1 --apparent-size .)" \
	"$(cd "$M" && du -s -B1 --apparent-size .)"
r_eq "du (allocated blocks)" "$(cd "$B" && du -s -B1 .)" "$(cd "$M" && du -s -B1 .)"

############################################################ unmount
# The tree as the mount shows it must be what the backing dir holds after
# unmounting: types, sizes, modes, links, owners, mtimes, link targets,
# contents, user xattrs.
# (getfattr's complaints go into the listing: an xattr call that fails on
# one side only shows up in the difference.)
manifest() {
	(cd "$1" && find . -printf '%p %y %s %m %n %U %G %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum &&
		{ getfattr -R -h -d -m '^user\.' . 2>&1 || true; })
}
manifest "$M" >"$T_TMP/manifest.m" || t_fail "listing the mount"
r_finish
manifest "$B" >"$T_TMP/manifest.b" || t_fail "listing the backing dir"
diff "$T_TMP/manifest.m" "$T_TMP/manifest.b" >&2 ||
	t_fail "the tree on the mount (<) and in the backing dir after unmount (>) differ"
echo "PASS: $R_SCRIPT"
exit 0
