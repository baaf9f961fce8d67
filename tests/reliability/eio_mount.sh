#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# eio_mount.sh - a real EIO from the backing device, through a mount.
#
# The backing directory is an ext4 (no journal, errors=continue) on a loop
# device whose image lives on a second ext4 on a second loop device;
# "chattr +i" on the image makes every write the inner device passes down
# fail with EIO, "chattr -i" repairs it (the trick of
# tests/unit/pc_fail_eio.sh: no device-mapper needed).  Through mmapfs:
# while the device fails, fsync() after write() and msync(MS_SYNC) after
# stores through a mapping fail with EIO; after the repair an fsync from a
# new open file succeeds (the daemon kept the data dirty and retried), the
# daemon unmounts with exit status 0, and after remounting the inner
# filesystem (its page cache gone) the device holds the last data written.
# Root only; 77 without loop devices or ext4.
. "${top_srcdir:-.}/tests/lib/mount.sh"

MT=${top_builddir:-.}/tests/mount/maptool
t_require_fuse
[ -x "$MT" ] || t_fail "$MT not built"
for tool in losetup mkfs.ext4 chattr; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool missing" >&2; exit 77; }
done
grep -qw ext4 /proc/filesystems || { echo "SKIP: no ext4" >&2; exit 77; }
t_tmpdir
OUTER=$T_TMP/outer INNER=$T_TMP/inner IMG=$T_TMP/outer/inner.img MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
L1='' L2=''

# Runs before mount.sh's own cleanup (which unmounts mmapfs first: chained).
eio_cleanup() {
	rc=$?
	for m in $T_MOUNTS; do
		t_is_mounted "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	[ -f "$IMG" ] && chattr -i "$IMG" 2>/dev/null
	t_is_mounted "$INNER" && { umount "$INNER" 2>/dev/null || umount -l "$INNER"; }
	[ -n "$L2" ] && losetup -d "$L2" 2>/dev/null
	t_is_mounted "$OUTER" && { umount "$OUTER" 2>/dev/null || umount -l "$OUTER"; }
	[ -n "$L1" ] && losetup -d "$L1" 2>/dev/null
	(exit $rc)
	t_cleanup
}
trap eio_cleanup EXIT
skip() { echo "SKIP: $*" >&2; exit 77; }

mkdir -p "$OUTER" "$INNER" || exit 1
truncate -s 128M "$T_TMP/outer.img" || t_fail "truncate"
L1=$(losetup -f --show "$T_TMP/outer.img" 2>/dev/null) || skip "no loop device"
mkfs.ext4 -q -F "$L1" >/dev/null 2>&1 || t_fail "mkfs.ext4 (outer)"
mount "$L1" "$OUTER" || skip "cannot mount ext4"
truncate -s 64M "$IMG" || t_fail "truncate"
L2=$(losetup -f --show "$IMG" 2>/dev/null) || skip "no second loop device"
mkfs.ext4 -q -F -O ^has_journal "$L2" >/dev/null 2>&1 || t_fail "mkfs.ext4 (inner)"
mount -o errors=continue "$L2" "$INNER" || t_fail "mount inner ext4"

t_mount "$INNER" "$MP"
F=$MP/data
"$MT" "$F" pwrite:0:4M:1 fsync || t_fail "write while the device works"

chattr +i "$IMG" || t_fail "chattr +i"
out=$("$MT" "$F" pwrite:0:4M:2 fsync 2>&1) && t_fail "fsync succeeded while the device fails"
case "$out" in *"fsync"*"Input/output error"*) ;; *) t_fail "write+fsync: got '$out', want EIO at fsync" ;; esac
echo "device failing: write() then fsync(): EIO"
out=$("$MT" "$F" map:4M store:0:4M:3 msync 2>&1) && t_fail "msync succeeded while the device fails"
case "$out" in *"msync"*"Input/output error"*) ;; *) t_fail "store+msync: got '$out', want EIO at msync" ;; esac
echo "device failing: stores then msync(MS_SYNC): EIO"

chattr -i "$IMG" || t_fail "chattr -i"
"$MT" "$F" fsync || t_fail "fsync after the repair failed: the daemon did not keep and retry the data"
"$MT" "$F" verify:0:4M:3 || t_fail "the mount does not read the last data after the repair"
t_umount "$MP" || { cat "$T_LOG" >&2; t_fail "daemon exit status not 0 at unmount after the repair"; }
umount "$INNER" || t_fail "umount inner"
mount -o errors=continue "$L2" "$INNER" || t_fail "remount inner"
"$MT" -r "$INNER/data" verify:0:4M:3 || t_fail "the device does not hold the retried data"
echo "PASS: EIO at fsync and msync while the device fails; after the repair every byte reached the device"
exit 0
