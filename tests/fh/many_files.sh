#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# many_files.sh - the daemon's descriptors do not grow with the number of
# inodes the kernel knows (issue #8).
#
# The test shell and the daemon run with an open-file limit of 4096 (soft
# and hard).  30,000 files are created and written through the mount, then
# stat()ed, listed and read back: before file handles the daemon held three
# descriptors per written file (O_PATH, the cached file's, the watch's) and
# failed with EMFILE after about 1,300 files.  While the kernel still knows
# every inode, the daemon must hold fewer descriptors than its limit allows
# (open files + max_path_fds + max_file_fds, both scaled from the limit).
# After unmounting (exit status 0) the backing directory must hold every
# file with its content.
#
# Skips (77) when the backing filesystem has no file handles or the daemon
# cannot open them: then the old one-descriptor-per-inode rule applies.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir

N=30000
LIMIT=4096
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
MF=${top_builddir:-.}/tests/fh/manyfiles

ulimit -n "$LIMIT" || t_fail "cannot set the open-file limit to $LIMIT"
t_mount "$BK" "$MP"
if grep -q 'file handles unusable' "$T_LOG"; then
	echo "SKIP: $(grep 'file handles unusable' "$T_LOG")" >&2
	exit 77
fi
mkdir "$MP/d" || t_fail "mkdir"

"$MF" create "$MP/d" "$N" || t_fail "creating $N files through the mount"
"$MF" stat "$MP/d" "$N" || t_fail "stat of $N files through the mount"

# The kernel still knows all of them: count what the daemon holds.
fds=$(ls "/proc/$T_PID/fd" | wc -l)
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$T_PID/limits")
opath=0
for f in /proc/"$T_PID"/fdinfo/*; do
	# O_PATH is 010000000 (octal) in the flags field.
	fl=$(awk '/^flags:/ { print $2 }' "$f" 2>/dev/null) || continue
	[ -n "$fl" ] || continue
	[ $(( 0$fl & 010000000 )) -ne 0 ] && opath=$((opath + 1))
done
echo "daemon descriptors after $N files: $fds ($opath O_PATH), limit $soft"
[ "$fds" -lt "$soft" ] || t_fail "the daemon holds $fds descriptors, limit $soft"
[ "$fds" -lt "$N" ] || t_fail "the daemon holds $fds descriptors for $N files"

"$MF" count "$MP/d" "$N" || t_fail "listing the directory through the mount"
"$MF" verify "$MP/d" "$N" || t_fail "reading $N files back through the mount"
grep -q 'Too many open files' "$T_LOG" && t_fail "the daemon ran out of descriptors: $(grep -m1 'Too many open files' "$T_LOG")"

t_umount "$MP" || t_fail "the daemon exited with status $?"
"$MF" count "$BK/d" "$N" || t_fail "the backing directory after unmounting"
"$MF" verify "$BK/d" "$N" || t_fail "the backing files after unmounting"
echo "PASS: $N files through the mount with an open-file limit of $LIMIT"
