# SPDX-License-Identifier: GPL-2.0-or-later
# sqlite_writer.py DB WHO N MODE [MMAP] - N write transactions on DB, each
# inserting one row (WHO, i) and incrementing the single counter row, and
# in between a read transaction checking that the counter equals the row
# count: a lost update or a stale read shows as a mismatch.
# MODE is the journal mode (delete or wal); MMAP the mmap_size (default 0).
import sqlite3
import sys

db, who, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
mmap = int(sys.argv[5]) if len(sys.argv) > 5 else 0
con = sqlite3.connect(db, timeout=60, isolation_level=None)
con.execute("PRAGMA busy_timeout=60000")
con.execute("PRAGMA mmap_size=%d" % mmap)
got = con.execute("PRAGMA journal_mode").fetchone()[0]
if got != mode:
    sys.exit("%s: journal_mode is %s, not %s" % (who, got, mode))
def run(i):
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO t(who, i, pad) VALUES (?, ?, randomblob(300))",
                (who, i))
    con.execute("UPDATE c SET n = n + 1")
    con.execute("COMMIT")
    con.execute("BEGIN")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    cnt = con.execute("SELECT n FROM c").fetchone()[0]
    mine = con.execute("SELECT count(*) FROM t WHERE who = ?",
                       (who,)).fetchone()[0]
    con.execute("COMMIT")
    if rows != cnt or mine != i + 1:
        sys.exit("%s: after %d commits: %d rows, counter %d, %d mine" %
                 (who, i + 1, rows, cnt, mine))


for i in range(n):
    try:
        run(i)
    except sqlite3.Error as e:
        # the extended code tells which system call failed; the sizes of
        # the -wal file through this path and, if given, in the backing
        # directory tell whose view was stale
        import os
        sizes = ["%s %s" % (p, os.stat(p).st_size if os.path.exists(p)
                            else "-")
                 for p in [db + "-wal"] + ([os.environ["BK_DB"] + "-wal"]
                                           if os.environ.get("BK_DB")
                                           else [])]
        sys.exit("%s: transaction %d: %s (%s); sizes: %s" %
                 (who, i + 1, e, getattr(e, "sqlite_errorname", "?"),
                  ", ".join(sizes)))
con.close()
