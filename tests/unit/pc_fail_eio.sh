#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# pc_fail_eio.sh - a real EIO under the page cache's write-back.
#
# The failing device: an ext4 (no journal, errors=continue) on a loop
# device whose image file lives on a second ext4 on a second loop device.
# "chattr +i" on the image makes every write the loop device passes down
# fail (ext4 refuses writes to an immutable file, the loop driver turns
# that into an I/O error), "chattr -i" repairs it.  No device-mapper needed,
# so this runs where dm-error/dm-flakey are not in the kernel.
#
# pc_fail_driver writes a file through the cache while the device works,
# breaks it, rewrites the file: pc_write_and_wait must fail with EIO and
# keep the data dirty; after the repair a retry must succeed.  The inner
# filesystem is then remounted and the file read back, so the bytes are
# known to be on the device and not merely in its page cache.  Root only;
# exit 77 without loop devices or ext4.  Everything is unmounted and
# detached on every exit path.

if [ "$(id -u)" != 0 ]; then echo "SKIP: not root" >&2; exit 77; fi
DRIVER=${top_builddir:-.}/tests/unit/pc_fail_driver
if [ ! -x "$DRIVER" ]; then echo "FAIL: $DRIVER not built" >&2; exit 1; fi
for tool in losetup mkfs.ext4 chattr; do
	command -v $tool >/dev/null 2>&1 ||
		{ echo "SKIP: $tool missing" >&2; exit 77; }
done
grep -qw ext4 /proc/filesystems || { echo "SKIP: no ext4" >&2; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/pc_fail_eio.XXXXXX") || exit 1
OUTER=$T/outer INNER=$T/inner IMG=$T/outer/inner.img
L1='' L2=''

# shellcheck disable=SC2317 # called by cleanup
mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	rc=$?
	[ -f "$IMG" ] && chattr -i "$IMG" 2>/dev/null
	mounted "$INNER" && { umount "$INNER" 2>/dev/null || umount -l "$INNER"; }
	[ -n "$L2" ] && losetup -d "$L2" 2>/dev/null
	mounted "$OUTER" && { umount "$OUTER" 2>/dev/null || umount -l "$OUTER"; }
	[ -n "$L1" ] && losetup -d "$L1" 2>/dev/null
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$OUTER" "$INNER" || exit 1
truncate -s 128M "$T/outer.img" || fail "truncate"
L1=$(losetup -f --show "$T/outer.img" 2>/dev/null) || skip "no loop device"
mkfs.ext4 -q -F "$L1" >/dev/null 2>&1 || fail "mkfs.ext4 (outer)"
mount "$L1" "$OUTER" || skip "cannot mount ext4"
truncate -s 64M "$IMG" || fail "truncate"
L2=$(losetup -f --show "$IMG" 2>/dev/null) || skip "no second loop device"
mkfs.ext4 -q -F -O ^has_journal "$L2" >/dev/null 2>&1 ||
	fail "mkfs.ext4 (inner)"
mount -o errors=continue "$L2" "$INNER" || fail "mount inner ext4"

SIZE=$((4 * 1024 * 1024))
for engine in uring no_uring; do
	opt=
	[ $engine = no_uring ] && opt=-n
	echo "pc_fail_eio: $engine"
	rm -f "$INNER/data"
	"$DRIVER" $opt eio "$INNER/data" $SIZE \
		"chattr +i '$IMG'" "chattr -i '$IMG'" || fail "$engine"
	# drop the inner filesystem's page cache: read from the device
	umount "$INNER" || fail "umount inner"
	mount -o errors=continue "$L2" "$INNER" || fail "remount inner"
	"$DRIVER" verify "$INNER/data" $SIZE ||
		fail "$engine: the retried data is not on the device"
done
echo "PASS: pc_fail_eio"
exit 0
