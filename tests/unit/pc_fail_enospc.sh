#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# pc_fail_enospc.sh - a real ENOSPC under the page cache's write-back.
#
# Mounts a 1 MiB tmpfs, takes 256 KiB of it with a filler file, and has
# pc_fail_driver write 900 KiB into it through the cache: pc_write_and_wait
# must fail with ENOSPC and keep the data dirty; the driver then removes the
# filler and its retry must put every byte in the file.  Runs on io_uring and
# on the preadv/pwritev path.  Root only (exit 77 otherwise); everything
# mounted is unmounted on every exit path.

if [ "$(id -u)" != 0 ]; then echo "SKIP: not root" >&2; exit 77; fi
DRIVER=${top_builddir:-.}/tests/unit/pc_fail_driver
if [ ! -x "$DRIVER" ]; then echo "FAIL: $DRIVER not built" >&2; exit 1; fi

T=$(mktemp -d "${TMPDIR:-/tmp}/pc_fail_enospc.XXXXXX") || exit 1
MNT=$T/mnt

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	rc=$?
	if awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$MNT" || exit 1
if ! mount -t tmpfs -o size=1m,mode=0755 pc_fail_enospc "$MNT"; then
	echo "SKIP: cannot mount a tmpfs" >&2
	exit 77
fi

for engine in uring no_uring; do
	opt=
	[ $engine = no_uring ] && opt=-n
	rm -f "$MNT/data" "$MNT/filler"
	dd if=/dev/zero of="$MNT/filler" bs=4096 count=64 2>/dev/null ||
		{ echo "FAIL: cannot write the filler" >&2; exit 1; }
	echo "pc_fail_enospc: $engine"
	"$DRIVER" $opt enospc "$MNT/data" $((900 * 1024)) \
		"rm -f '$MNT/filler'" || { echo "FAIL: $engine" >&2; exit 1; }
done
echo "PASS: pc_fail_enospc"
exit 0
