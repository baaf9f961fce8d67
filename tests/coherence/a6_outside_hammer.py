# SPDX-License-Identifier: GPL-2.0-or-later
# a6_outside_hammer.py MNT BACKING SECONDS MODE - outside writers hammer a
# file while programs on the mount map it, store into it, write it and read
# it.
#
# The file has NPAGES pages; every page is shared byte-wise by four
# writers, each owning a quarter of it:
#   [0, 1/4)    outside writer 0: pwrite() into the backing file
#   [1/4, 1/2)  outside writer 1: pwrite() into the backing file
#   [1/2, 1)    ours, two writers, one quarter each; MODE "write": pwrite()
#               on the mount, fsync() now and then, after each write its
#               bytes must show in a mapping on the mount; MODE "map":
#               stores through a MAP_SHARED mapping on the mount,
#               msync(MS_SYNC) now and then, after each store its bytes must
#               read back through read() on the mount.  "At once", or within
#               1 s: the late ones are counted (docs/semantics.md, A6
#               limits)
# Each writer writes one value over its whole quarter of a random page, and
# remembers the last value of each of its quarters.  A reader on the mount
# maps the file and reads it all the time (no SIGBUS, no error).  The
# outside changes make the daemon drop and re-read the file and invalidate
# the kernel's pages over and over, under our own dirty data.
#
# At the end (outside writers stopped, ours synced, the daemon given time to
# take the last outside change over): every byte of the backing file and of
# a fresh read through the mount is the last value its owner wrote - none
# of ours lost, none of theirs overwritten by a stale copy of ours.  Each
# process reports progress to a pipe; a writer stalled for 30 s (a
# deadlock) fails the run.
import mmap
import os
import random
import signal
import sys
import time

mnt, bk, secs, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
PS = mmap.PAGESIZE
Q = PS // 4
NPAGES = 64
SIZE = NPAGES * PS
name = "hammer-" + mode
bpath = os.path.join(bk, name)
mpath = os.path.join(mnt, name)

with open(bpath, "wb") as f:
    f.write(b"\0" * SIZE)
    f.flush()
    os.fsync(f.fileno())


def quarter(page, q):
    return page * PS + q * Q


late = 0


def seen(ok):
    """True if ok() holds at once or within 1 s; counts the late ones.

    A write() racing with the kernel invalidation of an outside change can
    be hidden from mappings for a moment (docs/semantics.md, A6 limits)."""
    global late
    if ok():
        return True
    late += 1
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        if ok():
            return True
        time.sleep(0.001)
    return False


def writer(kind, q, seed, end, wfd):
    rnd = random.Random(seed)
    last = [0] * NPAGES
    n = 0
    if kind == "outside":
        fd = os.open(bpath, os.O_RDWR)
    else:
        fd = os.open(mpath, os.O_RDWR)
        m = mmap.mmap(fd, SIZE, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE)
    while time.monotonic() < end:
        page = rnd.randrange(NPAGES)
        v = rnd.randrange(1, 256)
        off = quarter(page, q)
        data = bytes([v]) * Q
        if kind == "outside":
            os.pwrite(fd, data, off)
            if rnd.random() < 0.02:
                time.sleep(0.002)
        elif kind == "map":
            m[off:off + Q] = data
            if not seen(lambda: os.pread(fd, Q, off) == data):
                sys.exit("map: a store at %d not seen by read() on the "
                         "mount within 1 s: %r..." %
                         (off, os.pread(fd, 8, off)))
            if rnd.random() < 0.05:
                m.flush()
        else:
            os.pwrite(fd, data, off)
            if not seen(lambda: m[off:off + Q] == data):
                sys.exit("write: a write at %d not seen in a mapping on "
                         "the mount within 1 s: %r..." %
                         (off, m[off:off + 8]))
            if rnd.random() < 0.05:
                os.fsync(fd)
        last[page] = v
        n += 1
        if n % 50 == 0:
            os.write(wfd, b"%d\n" % q)
    if kind == "map":
        m.flush()
    if kind != "outside":
        os.fsync(fd)
    if late:
        sys.stderr.write("%s writer: %d of %d seen late (not at once)\n" %
                         (kind, late, n))
    os.write(wfd, ("done %d %s\n" % (q, " ".join(map(str, last)))).encode())
    return 0


def reader(end, wfd):
    fd = os.open(mpath, os.O_RDONLY)
    m = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
    n = 0
    while time.monotonic() < end:
        s = 0
        for p in range(NPAGES):
            s += m[p * PS + random.randrange(PS)]
        os.pread(fd, PS, random.randrange(NPAGES) * PS)
        n += 1
        if n % 20 == 0:
            os.write(wfd, b"r\n")
    os.write(wfd, b"done r\n")
    return 0


end = time.monotonic() + secs
rfd, wfd = os.pipe()
kids = []
if mode == "write":
    roles = [("outside", 0), ("outside", 1), ("write", 2), ("write", 3)]
else:
    roles = [("outside", 0), ("outside", 1), ("map", 2), ("map", 3)]
for kind, q in roles:
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            rc = writer(kind, q, 1000 + q, end, wfd)
        except BaseException as e:  # any failure ends the child non-zero
            sys.stderr.write("%s writer: %r\n" % (kind, e))
            rc = 1
        os._exit(rc if isinstance(rc, int) else 1)
    kids.append(pid)
pid = os.fork()
if pid == 0:
    os.close(rfd)
    try:
        rc = reader(end, wfd)
    except BaseException as e:
        sys.stderr.write("reader: %r\n" % (e,))
        rc = 1
    os._exit(rc)
kids.append(pid)
os.close(wfd)

# Watch progress: a child that reports nothing for 30 s is stuck.
last_seen = {k: time.monotonic() for k in ["0", "1", "2", "3", "r"]}
finals = {}
buf = b""
os.set_blocking(rfd, False)
failed = None
while len(finals) < 4 or "r" not in last_seen or last_seen["r"] != -1:
    try:
        chunk = os.read(rfd, 65536)
    except BlockingIOError:
        chunk = None
    if chunk == b"":
        break
    if chunk:
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            w = line.decode().split()
            if w[0] == "done":
                if w[1] == "r":
                    last_seen["r"] = -1
                else:
                    finals[int(w[1])] = [int(x) for x in w[2:]]
                    last_seen[w[1]] = -1
            else:
                last_seen[w[0]] = time.monotonic()
    now = time.monotonic()
    stuck = [k for k, t in last_seen.items() if t != -1 and now - t > 30]
    if stuck:
        failed = "no progress for 30 s from %s (deadlock?)" % stuck
        break
    time.sleep(0.05)
if failed:
    for k in kids:
        os.kill(k, signal.SIGKILL)
bad = 0
for k in kids:
    _, st = os.waitpid(k, 0)
    if st != 0:
        bad += 1
if failed:
    sys.exit(failed)
if bad or len(finals) != 4:
    sys.exit("%d processes failed" % bad)

# Let the daemon take the last outside writes over, then compare.
expect = bytearray(SIZE)
for q, last in finals.items():
    for p, v in enumerate(last):
        expect[quarter(p, q):quarter(p, q) + Q] = bytes([v]) * Q
deadline = time.monotonic() + 10
while True:
    with open(mpath, "rb") as f:
        seen = f.read()
    if seen == bytes(expect) or time.monotonic() > deadline:
        break
    time.sleep(0.05)
with open(bpath, "rb") as f:
    back = f.read()
# Our own bytes must all be there, in the backing file and through the
# mount.  Outside bytes must all be in the backing file (nothing of ours
# written over them), and through the mount within 10 s of the writers
# stopping: they were stale in our cache in about 1 run of 10 under load
# until an outside change that found one of our pages dirty made the
# watcher compare the file once clean (docs/reliability.md, finding 18).
stale_outside = 0
for what, got in (("backing file", back), ("read through the mount", seen)):
    for i in range(SIZE):
        if got[i] == expect[i]:
            continue
        q = (i % PS) // Q
        if what != "backing file" and q < 2:
            stale_outside += 1
            continue
        # which cache is stale: the kernel's (dropped by DONTNEED) or ours
        fd = os.open(mpath, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        again = os.pread(fd, 1, i)[0]
        os.close(fd)
        sys.exit("%s: byte %d (page %d, quarter %d) is %d, its owner wrote "
                 "%d last (%d after dropping the kernel's clean pages)" %
                 (what, i, i // PS, q, got[i], expect[i], again))
# Where the stale outside bytes sit: an O_DIRECT read goes past the
# kernel's page cache to the daemon, so what it shows stale is stale in
# our cache; the rest is stale in the kernel's (clean or dirty) pages.
stale_ours = 0
stale_pages = set()
if stale_outside:
    fd = os.open(mpath, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, SIZE)
    os.preadv(fd, [buf], 0)
    os.close(fd)
    again = bytes(buf)
    for i in range(SIZE):
        if seen[i] != expect[i] and (i % PS) // Q < 2:
            stale_pages.add(i // PS)
            if again[i] != expect[i]:
                stale_ours += 1
if stale_outside:
    sys.exit("read through the mount: %d outside bytes in %d pages still "
             "stale 10 s after the writers stopped, %d of them in the "
             "daemon's cache too (O_DIRECT read); the backing file is right"
             % (stale_outside, len(stale_pages), stale_ours))
print("%s mode, 4 writers x %d pages: every byte is its owner's last value "
      "in the backing file and through the mount; outside bytes still "
      "stale through the mount after 10 s: %d" % (mode, NPAGES, stale_outside))
