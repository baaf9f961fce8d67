#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/sqlite_wal_mmap.sh - SQLite in WAL mode with memory-mapped I/O,
# two writers and a reader at once.
#
# The WAL index (db-shm) is a MAP_SHARED mapping that every connection reads
# and updates with plain stores and atomics: if two processes do not see one
# memory (A1), readers and writers disagree about the WAL and the database
# ends corrupt or rows go missing.  mmap_size makes SQLite read the database
# through a mapping while checkpoints write it with write() (A2).
#
# Each writer inserts 5000 rows, 10 per transaction, with a deterministic
# payload; a reader counts rows meanwhile (the count may never go down).
# The result is checked on the mount and again in the backing directory
# after unmounting.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_need sqlite3 awk
r_start

ROWS=5000	# per writer
PER_TX=10
DB=$MNT/test.db
cd "$T_TMP" || t_fail "cd $T_TMP"

# Settings every connection repeats: mmap_size and busy_timeout are per
# connection; journal_mode=WAL is stored in the database.
prologue() {
	cat <<EOF
.bail on
PRAGMA busy_timeout=30000;
PRAGMA mmap_size=268435456;
EOF
}

{
	prologue
	cat <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER NOT NULL, n INTEGER NOT NULL,
	payload TEXT NOT NULL);
EOF
} >init.sql
r_timeout 30 sqlite3 "$DB" <init.sql >init.out 2>&1 ||
	{ cat init.out >&2; t_fail "sqlite3: creating $DB"; }
r_eq "PRAGMA mmap_size on $DB" 268435456 "$(sed -n 2p init.out)"
r_eq "PRAGMA journal_mode on $DB" wal "$(sed -n 3p init.out)"

# writer.sql W: ROWS rows (n = 1..ROWS) in transactions of PER_TX rows.
for w in 1 2; do
	{
		prologue
		awk -v w=$w -v rows=$ROWS -v per=$PER_TX 'BEGIN {
			for (b = 0; b < rows; b += per) {
				print "BEGIN IMMEDIATE;"
				printf "WITH RECURSIVE c(x) AS (SELECT %d UNION ALL " \
				    "SELECT x + 1 FROM c WHERE x < %d) " \
				    "INSERT INTO t(w, n, payload) SELECT %d, x, " \
				    "printf(\"%%0300d\", x * 7919 + %d) FROM c;\n",
				    b + 1, b + per, w, w
				print "COMMIT;"
				# A full scan through the mapping and a pause,
				# outside the write lock: the other writer
				# gets its turn.
				printf "SELECT count(*) FROM t WHERE w = %d;\n", w
				print ".shell sleep 0.01"
			}
		}'
	} >writer$w.sql
done

# The reader: a new connection per query (each maps the WAL index anew),
# until both writers are done.
reader() {
	prologue >reader.sql
	echo "SELECT count(*) FROM t;" >>reader.sql
	while [ ! -e writers.done ]; do
		r_timeout 20 sqlite3 "$DB" <reader.sql >>reader.out 2>&1 || return 1
	done
}

r_timeout 50 sqlite3 "$DB" <writer1.sql >writer1.out 2>&1 &
p1=$!
r_timeout 50 sqlite3 "$DB" <writer2.sql >writer2.out 2>&1 &
p2=$!
reader &
p3=$!
wait $p1; st1=$?
wait $p2; st2=$?
: >writers.done
wait $p3; st3=$?
for w in 1 2; do
	st=$st1; [ $w = 2 ] && st=$st2
	[ "$st" -eq 0 ] || { tail -5 writer$w.out >&2; t_fail "writer $w: sqlite3 exited $st"; }
	# After its k-th commit a writer must count exactly k * PER_TX rows.
	grep -v -x -e 30000 -e 268435456 writer$w.out |
		awk -v per=$PER_TX -v rows=$ROWS -v w=$w '
		$0 != NR * per { print "writer " w ": after commit " NR " counted " $0 " rows, not " NR * per; exit 1 }
		END { if (NR * per != rows) { print "writer " w ": " NR " commits"; exit 1 } }' >&2 ||
		t_fail "writer $w did not see its own rows"
done
[ "$st3" -eq 0 ] || { tail -5 reader.out >&2; t_fail "reader: sqlite3 failed"; }
# Drop the pragmas' answers; then every count must be >= the previous one.
grep -v -x -e 30000 -e 268435456 reader.out | awk '
	!/^[0-9]+$/ { print "reader: unexpected line: " $0; bad = 1; exit 1 }
	$1 < last { print "reader: row count went down from " last " to " $1; bad = 1; exit 1 }
	{ last = $1 }
	END { exit bad }' >&2 || t_fail "reader saw inconsistent snapshots"

# check DBFILE WHERE: integrity and exact contents.
check() {
	{
		prologue
		cat <<EOF
PRAGMA integrity_check;
SELECT count(*) FROM t;
SELECT w, count(*), count(DISTINCT n), min(n), max(n) FROM t GROUP BY w ORDER BY w;
SELECT count(*) FROM t WHERE payload <> printf('%0300d', n * 7919 + w);
EOF
	} >check.sql
	r_timeout 30 sqlite3 "$1" <check.sql >check.out 2>&1 ||
		{ cat check.out >&2; t_fail "$2: sqlite3 check of $1 failed"; }
	cat >check.want <<EOF
30000
268435456
ok
$((2 * ROWS))
1|$ROWS|$ROWS|1|$ROWS
2|$ROWS|$ROWS|1|$ROWS
0
EOF
	diff check.want check.out >&2 ||
		t_fail "$2: contents of $1 differ (lines: busy_timeout, mmap_size, integrity_check, rows, per writer, bad payloads)"
}
echo "$R_SCRIPT: the reader ran $(grep -c -x 30000 reader.out) queries;" \
	"writers alternated $(sqlite3 "$DB" 'SELECT count(*) FROM t a JOIN t b
	ON b.id = a.id + 1 WHERE a.w <> b.w') times"
check "$DB" "on the mount"

r_finish
check "$BACKING/test.db" "in the backing dir after unmount"
echo "PASS: $R_SCRIPT"
exit 0
