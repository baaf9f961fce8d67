#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# recycled_inode.sh - a backing inode number reused by a new file is never
# taken for the inode the kernel still knows under that number.
#
# With file handles the daemon holds no descriptor of an idle inode (both
# descriptor caches are set small here and churned), so once the backing
# file is deleted its inode number can be reused.  "old" is written and
# read through the mount (the daemon caches its pages; the kernel keeps its
# inode), every descriptor of it is pushed out, it is deleted in the backing
# directory, and files are created there until one gets its inode number
# (ext4 reuses a freed number at once).  Reading that file through the
# mount must give the new file's content: a table keyed by (dev, ino) alone
# would hand out the old inode and its cached "OLD" pages.
#
# The backing directory is a small loop-mounted ext4 when possible (the
# freed number then comes back at once); else it is under TMPDIR.  Skips
# (77) without file handles, or if the backing filesystem did not reuse
# the number within 2000 files (tmpfs never does; a busy shared ext4 may
# hand it to somebody else).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir

BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log

# A small ext4 of our own, if loop devices work: nothing else allocates
# inodes there, so the freed number is the next one handed out.  Else the
# backing directory lives wherever T_TMP is.
LOOPMNT=
if command -v mkfs.ext4 >/dev/null && truncate -s 32M "$T_TMP/ext4.img" &&
   mkfs.ext4 -q -F "$T_TMP/ext4.img" >/dev/null 2>&1 && mkdir -p "$BK" &&
   mount -o loop "$T_TMP/ext4.img" "$BK" 2>/dev/null; then
	LOOPMNT=$BK
	T_MOUNTS="$T_MOUNTS $LOOPMNT"
fi

t_mount "$BK" "$MP" -o max_path_fds=16 -o max_file_fds=16
# The exit trap unmounts in list order: the FUSE mount before its backing.
[ -n "$LOOPMNT" ] && T_MOUNTS="$MP $LOOPMNT"
if grep -q 'file handles unusable' "$T_LOG"; then
	echo "SKIP: $(grep 'file handles unusable' "$T_LOG")" >&2
	exit 77
fi

printf 'OLD-CONTENT-OF-THE-FIRST-FILE' >"$MP/old" || t_fail "write old"
sync "$MP/old" || t_fail "fsync old"
[ "$(cat "$MP/old")" = OLD-CONTENT-OF-THE-FIRST-FILE ] || t_fail "read old"
old_ino=$(stat -c %i "$BK/old") || t_fail "stat old"
old_dev=$(stat -c %d "$BK/old")

# Push every descriptor of "old" out of both caches.
i=0
while [ $i -lt 64 ]; do
	printf "c$i" >"$MP/c$i" && cat "$MP/c$i" >/dev/null || t_fail "churn c$i"
	i=$((i + 1))
done
# The descriptor caches are trimmed when a descriptor is added and after
# each write-back pass; one that was busy at the first (its mapping's lock
# only try-locked) goes at a later pass: allow 10 s on a loaded machine.
held_fd() {
	for f in /proc/"$T_PID"/fd/*; do
		if [ "$(stat -L -c '%d %i' "$f" 2>/dev/null)" = "$old_dev $old_ino" ]; then
			echo "$f -> $(readlink "$f")"
			return 0
		fi
	done
	return 1
}
w=0
while held=$(held_fd); do
	w=$((w + 1))
	[ $w -ge 100 ] && t_fail "the daemon still holds a descriptor of old after 10 s ($held)"
	sleep 0.1
done

rm "$BK/old" || t_fail "rm old in the backing directory"
n=0 found=
while [ $n -lt 2000 ]; do
	printf "NEW-CONTENT-$n" >"$BK/new$n" || t_fail "create new$n"
	if [ "$(stat -c %i "$BK/new$n")" = "$old_ino" ]; then
		found=new$n
		break
	fi
	n=$((n + 1))
done
if [ -z "$found" ]; then
	echo "SKIP: $(stat -f -c %T "$BK") did not reuse inode $old_ino" >&2
	exit 77
fi
echo "$found got inode $old_ino of the deleted file"

got=$(cat "$MP/$found") || t_fail "read $found through the mount"
[ "$got" = "NEW-CONTENT-$n" ] ||
	t_fail "$found through the mount reads '$got', want 'NEW-CONTENT-$n'"
[ "$(stat -c %s "$MP/$found")" = "$(stat -c %s "$BK/$found")" ] ||
	t_fail "$found: size through the mount differs from the backing file"
printf 'UPDATED' >"$MP/$found" || t_fail "write $found"
sync "$MP/$found" || t_fail "fsync $found"
[ "$(cat "$BK/$found")" = UPDATED ] || t_fail "$found: the write did not reach the backing file"

t_umount "$MP" || t_fail "the daemon exited with status $?"
[ -n "$LOOPMNT" ] && { umount "$LOOPMNT" || t_fail "umount $LOOPMNT"; }
echo "PASS: recycled inode $old_ino served as the new file"
