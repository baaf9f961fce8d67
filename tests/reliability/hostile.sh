#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile.sh - bad input and a hostile backing directory; the daemon must
# give the errno ext4 gives and keep serving.
#
#   errnos      "hostile MNT REF": 255/256-byte names, names with newlines
#               and bytes that are not UTF-8, long symlinks, huge xattrs,
#               pwrite/pread/ftruncate/mmap/fallocate at 2^63 - 4096, at
#               16 TiB and negative, zero and negative lengths; each compared
#               with the same call on REF, a plain directory beside the
#               backing one (ext4 here)
#   truncfault  4 processes fault on a 4 MiB mapping while the file is
#               truncated to 0 and regrown (SIGBUS is expected, nothing else)
#   read-only   the backing dir is a bind mount remounted read-only: create
#               and open for writing must fail with EROFS, as on ext4 (no
#               file may be open for writing at the remount, or it is EBUSY),
#               reads keep working; back to rw, writes work again
#   deleted     the backing directory is removed while mounted: creating
#               fails with ENOENT (as in a removed cwd on ext4), stat of the
#               root works
#   full        the backing dir is a 2 MiB tmpfs: writing 4 MiB gives ENOSPC
#               at the latest from fsync(), and after a plain rm the daemon
#               writes again (the space came back)
# After each case a file is written and read through the mount, and every
# mount must unmount with the daemon's exit status 0.  Cases that show an
# open daemon bug (docs/reliability.md) would run only with
# RELIABILITY_STRICT=1, which `make check-long` sets; none is open now.
. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir

HT=${top_builddir:-.}/tests/reliability/hostile
MT=${top_builddir:-.}/tests/mount/maptool
[ -x "$HT" ] || t_fail "$HT not built"
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
EXTRA_MOUNTS=""
hs_cleanup() {
	hs_rc=$?
	for m in $T_MOUNTS; do
		t_is_mounted "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	for m in $EXTRA_MOUNTS; do
		t_is_mounted "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	(exit $hs_rc)
	t_cleanup
}
trap hs_cleanup EXIT

alive() { # CASE
	printf 'still here' >"$MP/.alive-$1" && [ "$(cat "$MP/.alive-$1")" = "still here" ] ||
		t_fail "$1: the daemon stopped serving"
	rm -f "$MP/.alive-$1"
}
done_mount() { # CASE
	t_umount "$MP" || { tail -n 20 "$T_LOG" >&2; t_fail "$1: daemon exit status not 0 at unmount"; }
}

# -- errnos and truncfault
mkdir -p "$T_TMP/ref"
t_mount "$T_TMP/backing" "$MP"
"$HT" "$MP" "$T_TMP/ref" || t_fail "errnos differ from ext4"
"$HT" truncfault "$MP" || t_fail "truncate to 0 under mappers"
alive truncfault
done_mount errnos

# -- read-only backing (a bind mount remounted ro)
mkdir -p "$T_TMP/real" "$T_TMP/ro"
mount --bind "$T_TMP/real" "$T_TMP/ro" || t_fail "bind mount"
EXTRA_MOUNTS="$T_TMP/ro"
echo before >"$T_TMP/real/old"
t_mount "$T_TMP/ro" "$MP"
# No file may be open for writing on the bind mount, or remount,ro is EBUSY.
mount -o remount,ro,bind "$T_TMP/ro" || t_fail "remount ro"
out=$("$MT" "$MP/new" 2>&1) && t_fail "read-only: create succeeded"
case "$out" in *"Read-only file system"*) ;; *) t_fail "read-only: create gave '$out', want EROFS" ;; esac
[ "$(cat "$MP/old")" = before ] || t_fail "read-only: read"
out=$("$MT" "$MP/old" pwrite:0:8K:1 fsync 2>&1) &&
	t_fail "read-only: open for writing succeeded"
case "$out" in *"Read-only file system"*) ;; *) t_fail "read-only: open for writing gave '$out', want EROFS" ;; esac
mount -o remount,rw,bind "$T_TMP/ro" || t_fail "remount rw"
"$MT" "$MP/old" pwrite:0:8K:2 fsync verify:0:8K:2 ||
	t_fail "read-only: writes fail after going back to rw"
alive ro
done_mount ro
umount "$T_TMP/ro"
EXTRA_MOUNTS=""
cmp -s "$T_TMP/real/old" /dev/null && t_fail "read-only: data lost"
echo "read-only: EROFS at create and at open for writing, rw again afterwards: ok"

# -- backing directory deleted while mounted
mkdir -p "$T_TMP/del"
echo keep >"$T_TMP/del/f"
t_mount "$T_TMP/del" "$MP"
exec 3<"$MP/f"
rm -rf "$T_TMP/del"
out=$("$MT" "$MP/new" 2>&1) && t_fail "deleted: create succeeded"
case "$out" in *"No such file or directory"*) ;; *) t_fail "deleted: create gave '$out', want ENOENT" ;; esac
stat "$MP" >/dev/null || t_fail "deleted: stat of the root"
[ "$(cat <&3)" = keep ] || t_fail "deleted: read of a file open before"
ls "$MP" >/dev/null || t_fail "deleted: readdir of the root"
exec 3<&-
t_umount "$MP" || t_fail "deleted: daemon exit status not 0 at unmount"
echo "deleted: ENOENT at create, open file still readable: ok"

# -- backing directory replaced while mounted: the mount keeps serving the
# directory it mounted (as a working directory would stay), and the daemon
# tells the operator once.
mkdir -p "$T_TMP/rep"
echo first >"$T_TMP/rep/f"
t_mount "$T_TMP/rep" "$MP"
mv "$T_TMP/rep" "$T_TMP/rep.old"
mkdir "$T_TMP/rep"
echo second >"$T_TMP/rep/f"
got=$(cat "$MP/f" 2>&1)
if [ "$got" != first ]; then
	# seen once (docs/reliability.md, finding 23): say what was there
	grep " $MP " /proc/mounts >&2
	ls -la "$MP" "$T_TMP/rep.old" "$T_TMP/rep" >&2
	sleep 1
	echo "a second later: $(cat "$MP/f" 2>&1)" >&2
	t_fail "replaced: the mount no longer serves the mounted directory (read '$got', want 'first')"
fi
echo new >"$MP/new"
[ -f "$T_TMP/rep.old/new" ] || t_fail "replaced: a file created through the mount is not in the mounted directory"
[ ! -e "$T_TMP/rep/new" ] || t_fail "replaced: a file created through the mount went to the new directory"
i=0
until grep -q "backing directory '$T_TMP/rep' was moved, replaced or deleted" "$T_LOG"; do
	i=$((i + 1)); [ $i -gt 50 ] && t_fail "replaced: no log line for the operator within 5 s"
	sleep 0.1
done
alive replaced
done_mount replaced
echo "replaced: the mounted directory is still served, one log line: ok"

# -- backing filesystem full
mkdir -p "$T_TMP/small"
mount -t tmpfs -o size=2M tmpfs "$T_TMP/small" || t_fail "tmpfs"
EXTRA_MOUNTS="$T_TMP/small"
t_mount "$T_TMP/small" "$MP"
out=$("$MT" "$MP/fill" pwrite:0:4M:3 fsync 2>&1) &&
	t_fail "full: 4 MiB on a 2 MiB tmpfs succeeded"
case "$out" in *"No space left on device"*) ;; *) t_fail "full: got '$out', want ENOSPC" ;; esac
echo "full: $out"
# rm alone must free the space, as on ext4: the daemon drops the dirty
# pages of a file whose last name is gone and that nobody has open.
rm -f "$MP/fill"
"$MT" "$MP/after" pwrite:0:512K:4 fsync verify:0:512K:4 ||
	t_fail "full: cannot write after freeing space"
alive full
done_mount full
umount "$T_TMP/small"
EXTRA_MOUNTS=""
echo "full: ENOSPC, then writes again after rm: ok"
echo "PASS: hostile input"
exit 0
