# SPDX-License-Identifier: GPL-2.0-or-later
# a6_dirty_bytes.py MNT1 MNT2 BACKING - other bytes of a page we changed
# survive our write-back (pagecache.h, DIRTY BYTES).  Three writers change
# different bytes of page 0 of one file at nearly the same time:
#   - a mapping on mount 2 stores 4 bytes and is not yet synced (the page is
#     dirty in mount 2's kernel, on top of the copy it read earlier);
#   - write() through mount 2 changes 4 other bytes (dirty in our cache);
#   - then a program on the backing file and a write() + fsync on mount 1
#     change other bytes; mount 2 notices the outside change and takes it
#     over.
# After msync and fsync on mount 2 the backing file must hold every
# writer's bytes, and mount 2's mapping must show all of them too.
# Whole-page write-back puts mount 2's stale copy of the others' bytes back.
import mmap
import os
import sys
import time

mnt1, mnt2, bk = sys.argv[1:4]
name = "dirty_bytes"
PS = mmap.PAGESIZE
base = bytes([0x61]) * (2 * PS)
with open(os.path.join(bk, name), "wb") as f:
    f.write(base)
    f.flush()
    os.fsync(f.fileno())

f2 = os.open(os.path.join(mnt2, name), os.O_RDWR)
m2 = mmap.mmap(f2, 2 * PS, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
assert m2[0:PS] == base[0:PS], "mount 2 does not read the file"
f1 = os.open(os.path.join(mnt1, name), os.O_RDWR)
assert os.pread(f1, PS, 0) == base[0:PS], "mount 1 does not read the file"

expect = bytearray(base)


def put(off, data):
    expect[off:off + len(data)] = data


# mount 2: a mapped store (kernel-dirty) and a write() (dirty in our cache)
m2[8:12] = b"MAP2"
put(8, b"MAP2")
os.pwrite(f2, b"WRT2", 40)
put(40, b"WRT2")
m2[PS + 100:PS + 104] = b"MAP2"
put(PS + 100, b"MAP2")
# the others: a program on the backing file, and mount 1
fo = os.open(os.path.join(bk, name), os.O_RDWR)
os.pwrite(fo, b"OUT!", 0)
os.pwrite(fo, b"OUT!", PS + 200)
os.fsync(fo)
os.close(fo)
put(0, b"OUT!")
put(PS + 200, b"OUT!")
os.pwrite(f1, b"MNT1", 24)
os.fsync(f1)
put(24, b"MNT1")

# mount 2 notices (inotify) and takes the change over; give it time,
# then make everything of mount 2 durable
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if m2[0:4] == b"OUT!" and m2[24:28] == b"MNT1":
        break
    time.sleep(0.01)
m2.flush()
os.fsync(f2)
with open(os.path.join(bk, name), "rb") as f:
    got = f.read()
bad = [i for i in range(len(expect)) if got[i] != expect[i]]
if bad:
    i = bad[0]
    sys.exit("backing byte %d is %r, expected %r (%d bytes differ): "
             "a write-back put a stale copy back" %
             (i, got[i:i + 4], bytes(expect[i:i + 4]), len(bad)))
seen = bytes(m2[:])
bad = [i for i in range(len(expect)) if seen[i] != expect[i]]
if bad:
    i = bad[0]
    sys.exit("mount 2's mapping shows %r at %d, expected %r" %
             (seen[i:i + 4], i, bytes(expect[i:i + 4])))
m2.close()
os.close(f2)
os.close(f1)
print("all four writers' bytes are in the backing file and in the mapping")
