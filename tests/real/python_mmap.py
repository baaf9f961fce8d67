# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/python_mmap.py - the Python side of python_mmap.sh.
#
#   python_mmap.py run FILE BACKING_FILE EXPECTED_OUT
#       the whole scenario on FILE (on the mount); BACKING_FILE is the same
#       file seen in the backing directory; EXPECTED_OUT receives the bytes
#       FILE must hold at the end.
#   python_mmap.py peek FILE OFFSET HEXBYTES SIZE
#       (child) FILE must be SIZE bytes long and hold HEXBYTES at OFFSET,
#       both through its own MAP_SHARED mapping and through read().
#   python_mmap.py poke FILE OFFSET HEXBYTES
#       (child) store HEXBYTES at OFFSET through a MAP_SHARED mapping, then
#       exit without flush() or close().
#
# The parent keeps an in-memory model of the file and compares it with the
# file after every step.
import mmap
import os
import subprocess
import sys

PAGE = mmap.PAGESIZE


def fail(msg):
    print("FAIL: python_mmap.py: " + msg, file=sys.stderr)
    sys.exit(1)


def check(what, want, got):
    if want != got:
        fail("%s: expected %r, got %r" % (what, want[:64], got[:64]))


def pread_all(path):
    with open(path, "rb") as f:
        return f.read()


def child(*args):
    r = subprocess.run([sys.executable, __file__] + [str(a) for a in args])
    if r.returncode != 0:
        fail("child %s exited %d" % (args[0], r.returncode))


def peek(path, off, data, size):
    st = os.stat(path)
    check("child: size of " + path, size, st.st_size)
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            check("child: bytes at %d through its mapping" % off, data,
                  m[off:off + len(data)])
        check("child: bytes at %d through read()" % off, data,
              os.pread(f.fileno(), len(data), off))


def poke(path, off, data):
    f = open(path, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    m[off:off + len(data)] = data
    os._exit(0)  # no flush, no munmap, no close: the kernel cleans up


def run(path, backing, expected_out):
    # The initial file: 3 pages and 100 bytes of a pattern, by write().
    model = bytearray((i * 7) % 251 for i in range(3 * PAGE + 100))
    with open(path, "wb") as f:
        f.write(model)
    fd = os.open(path, os.O_RDWR)
    rfd = os.open(path, os.O_RDONLY)  # a second, independent descriptor
    mm = mmap.mmap(fd, 0)  # MAP_SHARED, PROT_READ | PROT_WRITE
    check("length of the mapping", len(model), len(mm))
    check("mapping shows the written file", bytes(model), mm[:])

    # A1: stores are visible to read() and to another process at once.
    stores = [(10, b"ABCDEFGHIJ"), (PAGE - 3, b"straddle"),
              (2 * PAGE + 5, b"page two"), (3 * PAGE + 90, b"last")]
    for off, data in stores:
        mm[off:off + len(data)] = data
        model[off:off + len(data)] = data
    check("read() after stores, before flush", bytes(model),
          os.pread(rfd, len(model) + 10, 0))
    for off, data in stores:
        child("peek", path, off, data.hex(), len(model))

    # B1: after flush() (msync(MS_SYNC)) the backing file holds the stores.
    mm.flush()
    b = pread_all(backing)
    for off, data in stores:
        check("backing file at %d after flush()" % off, data,
              b[off:off + len(data)])

    # A2: write() is visible through the mapping.
    os.pwrite(fd, b"via pwrite", PAGE + 7)
    model[PAGE + 7:PAGE + 17] = b"via pwrite"
    check("mapping after pwrite()", b"via pwrite", mm[PAGE + 7:PAGE + 17])

    # A1 the other way: another process's stores appear in our mapping.
    child("poke", path, 2 * PAGE + 100, b"from child".hex())
    model[2 * PAGE + 100:2 * PAGE + 110] = b"from child"
    check("mapping after the child's stores", bytes(model), mm[:])
    check("read() after the child's stores", bytes(model),
          os.pread(rfd, len(model) + 10, 0))

    # A4: fork() - MAP_SHARED stays shared, ACCESS_COPY is copy-on-write.
    cp = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
    pid = os.fork()
    if pid == 0:
        mm[PAGE:PAGE + 6] = b"forked"
        cp[0:7] = b"private"
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    check("forked child's status", 0, status)
    model[PAGE:PAGE + 6] = b"forked"
    check("shared mapping after the forked child's store", b"forked",
          mm[PAGE:PAGE + 6])
    check("private mapping after the forked child's store", bytes(model[0:7]),
          cp[0:7])
    cp.close()

    # mm.resize() grows the file: ftruncate() then mremap().
    old = len(model)
    new = 5 * PAGE + 3
    mm.resize(new)
    model.extend(bytes(new - old))
    check("st_size after resize() to %d" % new, new, os.fstat(fd).st_size)
    check("length of the mapping after resize()", new, len(mm))
    check("grown part reads as zero in the mapping", bytes(new - old),
          mm[old:new])
    check("grown part reads as zero through read()", bytes(new - old),
          os.pread(rfd, new - old, old))
    tail = b"in the grown part"
    mm[4 * PAGE + 1:4 * PAGE + 1 + len(tail)] = tail
    model[4 * PAGE + 1:4 * PAGE + 1 + len(tail)] = tail
    mm[new - 3:new] = b"END"
    model[new - 3:new] = b"END"
    child("peek", path, 4 * PAGE + 1, tail.hex(), new)
    child("peek", path, new - 3, b"END".hex(), new)
    mm.flush()
    os.fsync(fd)
    check("backing file after resize(), flush() and fsync()", bytes(model),
          pread_all(backing))

    # mm.resize() shrinks the file.
    small = 2 * PAGE + 50
    mm.resize(small)
    del model[small:]
    check("st_size after resize() to %d" % small, small, os.fstat(fd).st_size)
    check("mapping after shrinking resize()", bytes(model), mm[:])
    check("read() after shrinking resize()", bytes(model),
          os.pread(rfd, new, 0))
    child("peek", path, small - 10, bytes(model[small - 10:]).hex(), small)
    mm.flush()
    os.fsync(fd)
    check("backing file after the shrinking resize()", bytes(model),
          pread_all(backing))

    # A3: ACCESS_COPY (MAP_PRIVATE) stores stay private.
    cp = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
    cp[0:5] = b"COPY!"
    cp[PAGE + 2:PAGE + 9] = b"private"
    cp.flush()  # a no-op for ACCESS_COPY; must not carry anything
    check("ACCESS_COPY mapping sees its own stores", b"COPY!", cp[0:5])
    check("shared mapping after ACCESS_COPY stores", bytes(model), mm[:])
    check("read() after ACCESS_COPY stores", bytes(model),
          os.pread(rfd, small, 0))
    child("peek", path, 0, bytes(model[0:5]).hex(), small)
    child("peek", path, PAGE + 2, bytes(model[PAGE + 2:PAGE + 9]).hex(), small)
    cp.close()

    # D1: a page-aligned offset maps exactly those bytes; others fail.
    with mmap.mmap(fd, PAGE, offset=PAGE) as part:
        check("mapping at offset PAGE", bytes(model[PAGE:2 * PAGE]), part[:])
    try:
        mmap.mmap(fd, 10, offset=1)
        fail("mmap() at offset 1 succeeded")
    except (OSError, ValueError):
        pass

    mm.flush()
    mm.close()
    os.close(fd)
    os.close(rfd)
    check("final file through read()", bytes(model), pread_all(path))
    with open(expected_out, "wb") as f:
        f.write(model)
    print("python_mmap.py: all steps passed (final size %d)" % len(model))


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "run":
        run(a[1], a[2], a[3])
    elif len(a) == 5 and a[0] == "peek":
        peek(a[1], int(a[2]), bytes.fromhex(a[3]), int(a[4]))
    elif len(a) == 4 and a[0] == "poke":
        poke(a[1], int(a[2]), bytes.fromhex(a[3]))
    else:
        print("usage: see the comment at the top of python_mmap.py",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
