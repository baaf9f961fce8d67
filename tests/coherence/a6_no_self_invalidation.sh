#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_no_self_invalidation.sh - our own write-back is not an outside change.
#
# Heavy writing through the mount - write() with fsync()s, stores through a
# mapping with msync()s, truncations, chmod, utime, and creating, renaming,
# linking and unlinking names next to the file - makes
# this daemon change its backing files all the time.  The watcher must
# recognise every such change as its own: the daemon's shutdown line must
# report 0 outside changes (and so no invalidation sent to the kernel), 0
# outside names expired, and some own changes recognised (it did look).
#
# Broken rule looks like: a non-zero count of outside changes - each one
# throws away the kernel's and our cached pages of the file, an
# invalidation storm under any write load.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
t_mount "$BK" "$MP" -o revalidate_ms=5
python3 - "$MP/f" <<'PY' || t_fail "writer"
import mmap, os, sys, time
p = sys.argv[1]
d = os.path.dirname(p)
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 1 << 20)
m = mmap.mmap(fd, 1 << 20)
end = time.time() + 3
i = 0
while time.time() < end:
    os.pwrite(fd, bytes([i & 255]) * 65536, (i * 65536) % (1 << 20))
    m[(i * 4096) % (1 << 20)] = i & 255
    if i % 8 == 0:
        os.fsync(fd)
    if i % 16 == 0:
        m.flush()
    if i % 64 == 63:
        os.ftruncate(fd, 1 << 19)
        os.ftruncate(fd, 1 << 20)
    if i % 32 == 5:
        # metadata and names, ours too
        os.chmod(p, 0o600 if i % 64 < 32 else 0o644)
        os.utime(p)
        g = os.path.join(d, "g%d" % (i % 7))
        with open(g, "w") as f:
            f.write("x")
        os.rename(g, g + ".r")
        os.link(p, g + ".l")
        os.unlink(g + ".l")
        os.unlink(g + ".r")
    i += 1
m.close()
os.close(fd)
print("writer: %d rounds" % i)
PY
t_umount "$MP" || t_fail "daemon exit status"
line=$(grep 'watcher:' "$T_LOG") || t_fail "no watcher line in the log"
echo "$line"
out=$(echo "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) outside changes.*/\1/p')
names=$(echo "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) outside names.*/\1/p')
own=$(echo "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) own changes.*/\1/p')
[ "$out" = 0 ] || t_fail "$out of our own changes taken for outside ones"
[ "$names" = 0 ] || t_fail "$names of our own name changes taken for outside ones"
[ "${own:-0}" -gt 0 ] || t_fail "the watcher never saw our changes"
exit 0
