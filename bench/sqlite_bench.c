/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sqlite_bench.c - SQLite in WAL mode with memory-mapped I/O.
 *
 * Usage: sqlite_bench DBFILE [ROWS] [ROWS_PER_TXN] [LOOKUPS]
 *
 * Phase 1 (inserts): a fresh database with journal_mode=WAL and
 * mmap_size=268435456 (256 MiB), one table kv(k INTEGER PRIMARY KEY, v BLOB);
 * ROWS rows (default 200000) with 100-byte values are inserted in
 * transactions of ROWS_PER_TXN (default 1000).  Keys are a permutation of
 * 0..ROWS-1 in scattered order, so every transaction dirties pages all over
 * the b-tree rather than appending at its right edge.  synchronous is left
 * at SQLite's default (FULL): every commit fsyncs the WAL, and automatic
 * checkpoints (every 1000 WAL pages) write the database file and fsync it.
 * The -shm index is a shared mapping in any case, which is what makes this
 * a test of a filesystem's mmap.
 *
 * Phase 2 (lookups): the database is closed (SQLite checkpoints and removes
 * the WAL), reopened with the same pragmas, and LOOKUPS (default 20000)
 * point queries on random keys read their value.  With mmap_size set, SQLite
 * reads b-tree pages straight from the mapping of the database file.
 *
 * Prints one JSON object: {"rows": ..., "insert_rows_per_s": ...,
 * "lookups": ..., "lookups_per_s": ..., "insert_s": ..., "lookup_s": ...}.
 * Exit 0, or 1 on any SQLite error (with its message on stderr).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define VALUE_SIZE	100

static const char *const pragmas =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA mmap_size=268435456;";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic, so every filesystem sees the same keys. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static int fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_bench: %s: %s\n", what,
		db ? sqlite3_errmsg(db) : "out of memory");
	return -EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sqlite_bench: %s: %s\n", sql,
			msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int db_open(const char *path, sqlite3 **db)
{
	if (sqlite3_open(path, db) != SQLITE_OK)
		return fail(*db, "open");
	return exec(*db, pragmas);
}

/* Largest step below @n that is coprime with it: i * step mod n then visits
 * every key once, in an order that jumps across the whole key range. */
static uint64_t scatter_step(uint64_t n)
{
	uint64_t s = n / 2 + n / 7 + 1;

	for (;;) {
		uint64_t a = s, b = n;

		while (b) {
			uint64_t t = a % b;

			a = b;
			b = t;
		}
		if (a == 1)
			return s;
		s++;
	}
}

static int insert_rows(sqlite3 *db, uint64_t rows, uint64_t per_txn)
{
	uint64_t step = scatter_step(rows), seed = 42, i;
	unsigned char value[VALUE_SIZE];
	sqlite3_stmt *st;
	int ret = 0;

	if (exec(db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v BLOB)"))
		return -EIO;
	if (sqlite3_prepare_v2(db, "INSERT INTO kv(k, v) VALUES(?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return fail(db, "prepare insert");
	for (i = 0; i < rows && !ret; i++) {
		size_t j;

		if (i % per_txn == 0 && exec(db, "BEGIN")) {
			ret = -EIO;
			break;
		}
		for (j = 0; j < VALUE_SIZE; j += 8) {
			uint64_t r = rnd(&seed);

			memcpy(value + j, &r, VALUE_SIZE - j < 8 ?
			       VALUE_SIZE - j : 8);
		}
		sqlite3_bind_int64(st, 1, (sqlite3_int64)(i * step % rows));
		sqlite3_bind_blob(st, 2, value, VALUE_SIZE, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = fail(db, "insert");
		sqlite3_reset(st);
		if ((i + 1) % per_txn == 0 || i + 1 == rows)
			if (!ret && exec(db, "COMMIT"))
				ret = -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

static int lookup_rows(sqlite3 *db, uint64_t rows, uint64_t lookups)
{
	uint64_t seed = 7, i, bytes = 0;
	sqlite3_stmt *st;
	int ret = 0;

	if (sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return fail(db, "prepare select");
	for (i = 0; i < lookups; i++) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)(rnd(&seed) % rows));
		if (sqlite3_step(st) != SQLITE_ROW) {
			ret = fail(db, "select: key not found or error");
			break;
		}
		bytes += (uint64_t)sqlite3_column_bytes(st, 0);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!ret && bytes != lookups * VALUE_SIZE) {
		fprintf(stderr, "sqlite_bench: lookups returned %llu bytes\n",
			(unsigned long long)bytes);
		ret = -EIO;
	}
	return ret;
}

/* Remove DBFILE and its -wal and -shm companions left by an earlier run. */
static void remove_db(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char name[4096];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, sfx[i]);
		unlink(name);
	}
}

int main(int argc, char **argv)
{
	uint64_t rows = 200000, per_txn = 1000, lookups = 20000;
	double t0, t1, t2, t3;
	sqlite3 *db = NULL;

	if (argc < 2 || argc > 5) {
		fprintf(stderr,
			"usage: %s DBFILE [ROWS] [ROWS_PER_TXN] [LOOKUPS]\n",
			argv[0]);
		return 1;
	}
	if (argc >= 3)
		rows = strtoull(argv[2], NULL, 10);
	if (argc >= 4)
		per_txn = strtoull(argv[3], NULL, 10);
	if (argc >= 5)
		lookups = strtoull(argv[4], NULL, 10);
	if (!rows || !per_txn) {
		fprintf(stderr, "sqlite_bench: ROWS and ROWS_PER_TXN must be > 0\n");
		return 1;
	}
	remove_db(argv[1]);

	if (db_open(argv[1], &db))
		goto fail;
	t0 = now_s();
	if (insert_rows(db, rows, per_txn))
		goto fail;
	t1 = now_s();
	/* The final checkpoint on close is not part of either phase. */
	if (sqlite3_close(db) != SQLITE_OK) {
		fail(db, "close");
		goto fail;
	}
	db = NULL;

	if (db_open(argv[1], &db))
		goto fail;
	t2 = now_s();
	if (lookup_rows(db, rows, lookups))
		goto fail;
	t3 = now_s();
	if (sqlite3_close(db) != SQLITE_OK) {
		fail(db, "close");
		goto fail;
	}

	printf("{\"rows\": %llu, \"insert_rows_per_s\": %.1f, "
	       "\"lookups\": %llu, \"lookups_per_s\": %.1f, "
	       "\"insert_s\": %.3f, \"lookup_s\": %.3f}\n",
	       (unsigned long long)rows, rows / (t1 - t0),
	       (unsigned long long)lookups,
	       lookups ? lookups / (t3 - t2) : 0.0, t1 - t0, t3 - t2);
	remove_db(argv[1]);
	return 0;
fail:
	/* sqlite3_close_v2 also frees a handle that a failed close kept */
	sqlite3_close_v2(db);
	return 1;
}
