#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# sqlite_two_mounts.sh - one SQLite database written from two mmapfs mounts
# of the same backing directory at once (-o lock_coherence).  First in
# rollback-journal mode (journal_mode=DELETE: the database is protected by
# fcntl() locks alone), with a third writer working on the backing directory
# directly; then in WAL mode with mmap_size 256 MiB from the two mounts (the
# wal-index is shared memory: a program on the backing directory storing
# into it cannot be seen, docs/semantics.md "Locks").  Each writer commits N
# transactions (a row and a shared counter) and checks after each that the
# counter matches the row count and that all its own rows are there; at the
# end PRAGMA integrity_check is "ok" and the exact totals are read from the
# backing directory.
#
# The WAL run needs LOCKS_SQLITE_WAL=1 (make check-repeat sets it).  It
# once failed 2 of 20 runs under heavy load (SQLITE_IOERR_SHORT_READ: a
# read of the -wal file past the end mount 2 knew), not since the
# watcher's snapshot fix (45 runs), but one of those runs ended with a
# daemon's connection reported aborted at unmount, not explained: see
# docs/semantics.md ("Locks").
#
# Broken rule looks like: "database disk image is malformed", a counter
# behind the row count (an update lost because a mount wrote over it from
# a stale cache), or a writer that sees its own rows vanish.

. "${top_srcdir:-.}/tests/real/lib.sh"
t_require_fuse
r_python sqlite3
t_tmpdir
W=${top_srcdir:-.}/tests/locks/sqlite_writer.py
BK=$T_TMP/backing
MP1=$T_TMP/mnt1
MP2=$T_TMP/mnt2
T_LOG=$T_TMP/daemon.log
N=${SQLITE_N:-150}
t_mount "$BK" "$MP1" -o lock_coherence
P1=$T_PID
t_mount "$BK" "$MP2" -o lock_coherence
P2=$T_PID

run_mode() {
	mode=$1 mmap=$2 db=db_$1
	r_timeout 60 "$PY" -c "
import sqlite3
con = sqlite3.connect('$BK/$db', isolation_level=None)
con.execute('PRAGMA journal_mode=$mode')
con.execute('CREATE TABLE t(who TEXT, i INTEGER, pad BLOB)')
con.execute('CREATE TABLE c(n INTEGER)')
con.execute('INSERT INTO c VALUES (0)')
con.close()" || t_fail "$mode: creating the database"
	writers=$3
	BK_DB=$BK/$db r_timeout 300 "$PY" "$W" "$MP1/$db" m1 "$N" "$mode" "$mmap" & A=$!
	BK_DB=$BK/$db r_timeout 300 "$PY" "$W" "$MP2/$db" m2 "$N" "$mode" "$mmap" & B=$!
	C=""
	[ "$writers" = 3 ] &&
		{ r_timeout 300 "$PY" "$W" "$BK/$db" out "$N" "$mode" "$mmap" & C=$!; }
	ok=1
	wait $A || ok=0
	wait $B || ok=0
	[ -z "$C" ] || wait $C || ok=0
	[ $ok = 1 ] || t_fail "$mode: a writer failed"
	got=$(r_timeout 60 "$PY" -c "
import sqlite3
con = sqlite3.connect('$BK/$db', isolation_level=None)
print(con.execute('PRAGMA integrity_check').fetchone()[0],
      con.execute('SELECT count(*) FROM t').fetchone()[0],
      con.execute('SELECT n FROM c').fetchone()[0],
      con.execute('SELECT count(DISTINCT who || i) FROM t').fetchone()[0])")
	r_eq "$mode: integrity, rows, counter, distinct rows" \
		"ok $((writers * N)) $((writers * N)) $((writers * N))" "$got"
	echo "$mode: $got"
}

run_mode delete 0 3
[ "${LOCKS_SQLITE_WAL:-0}" = 1 ] && run_mode wal 268435456 2

t_umount "$MP1" "$P1" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 1 exit status $rc"; }
t_umount "$MP2" "$P2" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 2 exit status $rc"; }
grep 'locks:' "$T_LOG"
exit 0
