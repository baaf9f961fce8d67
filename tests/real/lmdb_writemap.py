# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/lmdb_writemap.py - the LMDB side of lmdb_writemap.sh.
#
#   lmdb_writemap.py write ENVDIR WRITER   one writer's turn (WRITER = 1, 2)
#   lmdb_writemap.py verify ENVDIR         check every key after both turns
#
# The environment is opened with writemap=True (MDB_WRITEMAP): LMDB maps
# data.mdb read-write with MAP_SHARED, stores B-tree pages straight into the
# mapping and makes commits durable with msync(MS_SYNC); its reader table
# lives in a MAP_SHARED mapping of lock.mdb.  Values are a function of key
# and writer, so the verifier recomputes what it expects.
import hashlib
import sys

import lmdb

MAP_SIZE = 8 << 20
PER_TXN = 50


def value(writer, i):
    """Between 16 and 1600 bytes, different for each writer and key."""
    seed = hashlib.sha256(b"%d:%d" % (writer, i)).digest()
    return (seed * 50)[: 16 + (i * 37) % 1585]


def key(i):
    return b"k%05d" % i


def plan(writer):
    """(puts, deletes) of one writer's turn, as index ranges."""
    if writer == 1:
        return range(0, 2000), range(0)
    # Writer 2 overwrites half of writer 1's keys, adds 1000 new ones and
    # deletes 100 of writer 1's.
    return range(1000, 3000), range(0, 100)


def expected():
    want = {}
    for w in (1, 2):
        puts, dels = plan(w)
        for i in puts:
            want[key(i)] = value(w, i)
        for i in dels:
            want.pop(key(i), None)
    return want


def open_env(path):
    return lmdb.open(path, map_size=MAP_SIZE, writemap=True, subdir=True,
                     max_dbs=0, sync=True, metasync=True)


def write(path, writer):
    env = open_env(path)
    puts, dels = plan(writer)
    puts = list(puts)
    for start in range(0, len(puts), PER_TXN):
        with env.begin(write=True) as txn:
            for i in puts[start:start + PER_TXN]:
                txn.put(key(i), value(writer, i))
    with env.begin(write=True) as txn:
        for i in dels:
            if not txn.delete(key(i)):
                fail("writer %d: key %r to delete is missing" %
                     (writer, key(i)))
    # Read back in the same process, through the same mapping.
    with env.begin() as txn:
        for i in puts:
            if txn.get(key(i)) != value(writer, i):
                fail("writer %d: key %r reads back wrong" %
                     (writer, key(i)))
    env.close()


def verify(path):
    env = open_env(path)
    want = expected()
    got = {}
    with env.begin() as txn:
        for k, v in txn.cursor():
            got[bytes(k)] = bytes(v)
    entries = env.stat()["entries"]
    env.close()
    if entries != len(want):
        fail("env.stat() has %d entries, expected %d" % (entries, len(want)))
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(k for k in want if k in got and got[k] != want[k])
    if missing or extra or wrong:
        fail("%d keys missing (first %r), %d unexpected (first %r), "
             "%d with wrong values (first %r)" %
             (len(missing), missing[:3], len(extra), extra[:3],
              len(wrong), wrong[:3]))
    print("verified %d keys" % len(want))


def fail(msg):
    print("FAIL: lmdb_writemap.py: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        verify(sys.argv[2])
    else:
        print("usage: lmdb_writemap.py write ENVDIR 1|2 | verify ENVDIR",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
