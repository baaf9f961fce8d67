// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_pagecache.c - unit tests of pagecache/, written against the contract
 * in pagecache/pagecache.h.
 *
 * Every test runs the cache over real backing files in a fresh directory
 * under /tmp and checks two things: what pc_read() returns, and - after a
 * pc_write_and_wait() - what a separate descriptor reads from the backing
 * file.  The tests that matter most compare a long random sequence of
 * operations with an in-memory model (the fsx method); the others pin down
 * one rule each (zeros past EOF, truncation, errseq, eviction, throttling,
 * write-back errors) or race real threads against the write-back thread.
 *
 * Environment:
 *   PC_SEED=N    seed of the random tests (printed on every failure)
 *   PC_STEPS=N   steps of each model run (default 1500)
 *   PC_QUICK=1   shorter runs, for valgrind
 *   PC_VARIANT=N run only variant N of the looped tests (to replay a seed)
 *   PC_TRACE=1   print every operation of the model runs as it happens
 *
 * This binary is linked without FUSE: it also proves that pagecache/ does
 * not depend on it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <liburing.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pagecache/pagecache.h"

/* ---- Shared helpers ------------------------------------------------------ */

static size_t PS;			/* page size */
static char t_base[64];			/* the run's directory, under /tmp */
static char t_dir[96];			/* this test's directory, in t_base */
static uint64_t t_seed;			/* base seed of the random tests */
static bool t_quick;			/* PC_QUICK: shorter runs */
static long t_variant = -1;		/* PC_VARIANT: the one loop index */
static bool t_trace;			/* PC_TRACE: print model operations */

/* In a looped test: skip this variant unless PC_VARIANT selects it. */
#define T_VARIANT() do { \
	if (t_variant >= 0 && _i != t_variant) \
		return; \
} while (0)

/* Failures seen by threads other than the test's own: Check's assertions
 * must only run on the test's thread (they exit or longjmp). */
static pthread_mutex_t t_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char t_fail_msg[1024];
static atomic_bool t_failed;

static void t_thread_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void t_thread_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t_fail_lock);
	if (!atomic_load(&t_failed)) {
		va_start(ap, fmt);
		vsnprintf(t_fail_msg, sizeof(t_fail_msg), fmt, ap);
		va_end(ap);
		atomic_store(&t_failed, true);
	}
	pthread_mutex_unlock(&t_fail_lock);
}

#define T_NO_THREAD_FAILURE() \
	ck_assert_msg(!atomic_load(&t_failed), "seed=%" PRIu64 ": %s", \
		      t_seed, t_fail_msg)

/* splitmix64: small, fast, and the same sequence everywhere. */
struct t_rng {
	uint64_t s;
};

static uint64_t t_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t t_rand(struct t_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return t_mix(r->s);
}

/* uniform in [0, n); n > 0 */
static uint64_t t_below(struct t_rng *r, uint64_t n)
{
	return t_rand(r) % n;
}

static void t_rand_bytes(struct t_rng *r, unsigned char *buf, size_t len)
{
	size_t i;
	uint64_t v = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = t_rand(r);
		buf[i] = (unsigned char)(v >> (i % 8 * 8));
	}
}

/* The byte at file offset @off of pattern @seed; never zero, so a zero
 * where pattern data belongs is always caught. */
static unsigned char t_pat(uint64_t seed, uint64_t off)
{
	unsigned char b = (unsigned char)(t_mix(seed * 0x100000001b3ULL +
						off / 8) >> (off % 8 * 8));

	return b ? b : 0x5a;
}

static void t_pat_fill(unsigned char *buf, size_t len, uint64_t off,
		       uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = t_pat(seed, off + i);
}

/* Index of the first byte where @a and @b differ, or -1. */
static long t_first_diff(const unsigned char *a, const unsigned char *b,
			 size_t len)
{
	size_t i;

	if (!memcmp(a, b, len))
		return -1;
	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* Index of the first non-zero byte, or -1. */
static long t_first_nonzero(const unsigned char *a, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i])
			return (long)i;
	return -1;
}

static void *t_malloc(size_t len)
{
	void *p = calloc(1, len ? len : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static unsigned long t_env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* Scale an iteration count down under PC_QUICK. */
static unsigned int t_n(unsigned int n)
{
	return t_quick ? (n / 8 ? n / 8 : 1) : n;
}

static void t_sleep_us(unsigned long us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void t_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", t_dir, name);
}

/* Read up to @len bytes at @off, stopping only at end of file. */
static ssize_t t_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void t_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + (off_t)done);

		ck_assert_msg(n > 0, "pwrite: %s", strerror(errno));
		done += (size_t)n;
	}
}

/* Create @path holding @size bytes of pattern @seed (zeros if seed is 0). */
static void t_make_file(const char *path, size_t size, uint64_t seed)
{
	unsigned char *buf = t_malloc(size);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	if (seed)
		t_pat_fill(buf, size, 0, seed);
	t_pwrite_full(fd, buf, size, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	free(buf);
}

static off_t t_file_size(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
		      strerror(errno));
	return st.st_size;
}

/*
 * t_check_backing - the backing file at @path must be exactly @size bytes
 * long and hold @expect, read through a descriptor of its own.
 */
static void t_check_backing(const char *path, const unsigned char *expect,
			    off_t size, const char *ctx)
{
	unsigned char *buf = t_malloc((size_t)size);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	long d;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_msg(st.st_size == size,
		      "%s: backing file is %lld bytes, expected %lld", ctx,
		      (long long)st.st_size, (long long)size);
	n = t_pread_full(fd, buf, (size_t)size, 0);
	ck_assert_msg(n == size, "%s: pread of backing got %zd", ctx, n);
	d = t_first_diff(buf, expect, (size_t)size);
	ck_assert_msg(d < 0,
		      "%s: backing byte %ld (page %ld) is 0x%02x, expected 0x%02x",
		      ctx, d, d / (long)PS, d >= 0 ? buf[d] : 0,
		      d >= 0 ? expect[d] : 0);
	close(fd);
	free(buf);
}

/*
 * t_check_read - pc_read of @len bytes at @off must return exactly
 * @expect_len bytes equal to @expect.
 */
static void t_check_read(struct pc_mapping *m, off_t off, size_t len,
			 const unsigned char *expect, size_t expect_len,
			 const char *ctx)
{
	unsigned char *buf = t_malloc(len);
	ssize_t n = pc_read(m, buf, len, off);
	long d;

	ck_assert_msg(n == (ssize_t)expect_len,
		      "%s: pc_read(off %lld, len %zu) returned %zd, expected %zu",
		      ctx, (long long)off, len, n, expect_len);
	d = t_first_diff(buf, expect, expect_len);
	ck_assert_msg(d < 0,
		      "%s: pc_read(off %lld): byte at file offset %lld is 0x%02x, expected 0x%02x",
		      ctx, (long long)off, (long long)(off + d),
		      d >= 0 ? buf[d] : 0, d >= 0 ? expect[d] : 0);
	free(buf);
}

/* Can this process set up an io_uring at all? */
static bool t_uring_works(void)
{
	static int works = -1;
	struct io_uring ring;

	if (works < 0) {
		works = io_uring_queue_init(4, &ring, 0) == 0;
		if (works)
			io_uring_queue_exit(&ring);
	}
	return works;
}

/*
 * t_cfg - a configuration for tests: @cache_pages pages of cache, half of
 * it allowed dirty, background write-back above a quarter, and a long
 * expiry so nothing is written back behind a test's back unless it asks.
 */
static void t_cfg(struct pc_config *cfg, size_t cache_pages, bool no_uring)
{
	pc_config_default(cfg);
	cfg->cache_size = cache_pages * PS;
	cfg->dirty_bytes = cfg->cache_size / 2;
	cfg->dirty_background_bytes = cfg->cache_size / 4;
	cfg->dirty_expire_ms = 60000;
	cfg->writeback_interval_ms = 100;
	cfg->max_write_pages = 16;
	cfg->queue_depth = 16;
	cfg->readahead_pages = cache_pages >= 64 ? 16 : 4;
	cfg->no_uring = no_uring;
}

static struct pc_cache *t_cache_new(const struct pc_config *cfg)
{
	const char *msg = pc_config_check(cfg);
	struct pc_cache *c = NULL;
	int ret;

	ck_assert_msg(msg == NULL, "pc_config_check rejected a test config: %s",
		      msg);
	ret = pc_cache_create(cfg, &c);
	ck_assert_msg(ret == 0, "pc_cache_create: %s", strerror(-ret));
	ck_assert_ptr_nonnull(c);
	if (cfg->no_uring)
		ck_assert_msg(!pc_cache_uses_uring(c),
			      "no_uring set, but the cache uses io_uring");
	else if (t_uring_works())
		ck_assert_msg(pc_cache_uses_uring(c),
			      "io_uring works here, but the cache does not use it");
	return c;
}

static struct pc_cache *t_cache(size_t cache_pages, bool no_uring)
{
	struct pc_config cfg;

	t_cfg(&cfg, cache_pages, no_uring);
	return t_cache_new(&cfg);
}

static void t_cache_destroy(struct pc_cache *c)
{
	int ret = pc_cache_destroy(c);

	ck_assert_msg(ret == 0, "pc_cache_destroy: %s", strerror(-ret));
}

/* Open @path (created if missing) with @flags and start caching it. */
static struct pc_mapping *t_map(struct pc_cache *c, const char *path,
				int flags)
{
	struct pc_mapping *m = NULL;
	int fd = open(path, flags | O_CREAT | O_CLOEXEC, 0644);
	int ret;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ret = pc_mapping_create(c, fd, &m);
	ck_assert_msg(ret == 0, "pc_mapping_create: %s", strerror(-ret));
	ck_assert_ptr_nonnull(m);
	return m;
}

static void t_write(struct pc_mapping *m, const void *buf, size_t len,
		    off_t off, unsigned int limit)
{
	ssize_t n = pc_write(m, buf, len, off, limit);

	ck_assert_msg(n == (ssize_t)len,
		      "pc_write(off %lld, len %zu%s) returned %zd (%s)",
		      (long long)off, len, limit ? ", limit" : "", n,
		      n < 0 ? strerror((int)-n) : "short");
}

static void t_sync(struct pc_mapping *m)
{
	int ret = pc_write_and_wait(m, 0, -1, true);

	ck_assert_msg(ret == 0, "pc_write_and_wait: %s", strerror(-ret));
}

/* Remove this test's directory (flat: files only). */
static void t_remove_dir(void)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;

	if (!t_dir[0])
		return;
	d = opendir(t_dir);
	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", t_dir,
				 de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(t_dir);
	t_dir[0] = '\0';
}

static void t_setup(void)
{
	/* A failed test exits without its teardown: main() removes t_base
	 * with whatever such tests left in it. */
	PS = pc_page_size();
	snprintf(t_dir, sizeof(t_dir), "%s/t.XXXXXX", t_base);
	ck_assert_ptr_nonnull(mkdtemp(t_dir));
	atomic_store(&t_failed, false);
	t_fail_msg[0] = '\0';
	/* Writes past RLIMIT_FSIZE then fail with EFBIG instead of killing. */
	signal(SIGXFSZ, SIG_IGN);
}

static void t_teardown(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	t_remove_dir();
}

/* ---- Configuration and life cycle ---------------------------------------- */

START_TEST(test_config_default)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	uint64_t ram = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t want = ram / 8 < (1ULL << 30) ? ram / 8 : (1ULL << 30);
	struct pc_config cfg;

	memset(&cfg, 0xff, sizeof(cfg));
	pc_config_default(&cfg);
	ck_assert_ptr_null(pc_config_check(&cfg));
	ck_assert_msg(cfg.cache_size <= want && cfg.cache_size + PS >= want,
		      "cache_size %zu, expected min(1 GiB, RAM / 8) = %" PRIu64,
		      cfg.cache_size, want);
	ck_assert_msg(cfg.dirty_bytes + PS >= cfg.cache_size / 4 &&
		      cfg.dirty_bytes <= cfg.cache_size / 4 + PS,
		      "dirty_bytes %zu, cache_size %zu", cfg.dirty_bytes,
		      cfg.cache_size);
	ck_assert_msg(cfg.dirty_background_bytes + PS >= cfg.dirty_bytes / 2 &&
		      cfg.dirty_background_bytes <= cfg.dirty_bytes / 2 + PS,
		      "dirty_background_bytes %zu, dirty_bytes %zu",
		      cfg.dirty_background_bytes, cfg.dirty_bytes);
	ck_assert_uint_eq(cfg.dirty_expire_ms, 3000);
	ck_assert_uint_eq(cfg.writeback_interval_ms, 500);
	ck_assert_uint_eq(cfg.max_write_pages, 256);
	ck_assert_uint_eq(cfg.queue_depth, 64);
	ck_assert_uint_eq(cfg.readahead_pages, 32);
	ck_assert(!cfg.no_uring);
}
END_TEST

START_TEST(test_config_check_rejects)
{
	struct pc_config cfg;
	const char *msg;

	pc_config_default(&cfg);
	cfg.cache_size = 0;
	msg = pc_config_check(&cfg);
	ck_assert_msg(msg && strstr(msg, "cache_size"),
		      "cache_size 0 accepted or message without the field: %s",
		      msg ? msg : "(null)");

	pc_config_default(&cfg);
	cfg.max_write_pages = 0;
	msg = pc_config_check(&cfg);
	ck_assert_msg(msg && strstr(msg, "max_write_pages"),
		      "max_write_pages 0 accepted or message without the field: %s",
		      msg ? msg : "(null)");

	pc_config_default(&cfg);
	cfg.queue_depth = 0;
	msg = pc_config_check(&cfg);
	ck_assert_msg(msg && strstr(msg, "queue_depth"),
		      "queue_depth 0 accepted or message without the field: %s",
		      msg ? msg : "(null)");
}
END_TEST

START_TEST(test_page_size)
{
	ck_assert_uint_eq(pc_page_size(), (size_t)sysconf(_SC_PAGESIZE));
}
END_TEST

/* Both engines start, count their mappings, and stop. */
START_TEST(test_create_destroy)
{
	struct pc_cache *c = t_cache(256, _i);
	struct pc_mapping *m1, *m2;
	struct pc_stats st;
	char p1[PATH_MAX], p2[PATH_MAX];

	T_VARIANT();

	t_path(p1, sizeof(p1), "a");
	t_path(p2, sizeof(p2), "b");
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.cache_size, 256 * PS);
	ck_assert_uint_eq(st.mappings, 0);
	ck_assert_uint_eq(st.cached_bytes, 0);
	m1 = t_map(c, p1, O_RDWR);
	m2 = t_map(c, p2, O_RDWR);
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.mappings, 2);
	ck_assert_int_eq(pc_size(m1), 0);
	ck_assert(pc_mapping_writable(m1));
	pc_mapping_put(m1);
	pc_mapping_put(m2);
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.mappings, 0);
	t_cache_destroy(c);
}
END_TEST

/* ---- One rule each ------------------------------------------------------- */

/* A read returns len bytes unless it reaches EOF, in one call, whatever the
 * alignment, cold or cached. */
START_TEST(test_read_never_short)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 3 * PS + 1234;
	const size_t offs[] = { 0, 1, PS - 1, PS, 2 * PS + 17, size - 1, size,
				size + 1, size + 3 * PS };
	const size_t lens[] = { 1, 100, PS, PS + 1, 3 * PS, size + PS };
	unsigned char *expect = t_malloc(size);
	char path[PATH_MAX], ctx[64];
	struct pc_mapping *m;
	size_t i, j;
	int pass;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 7);
	t_pat_fill(expect, size, 0, 7);
	for (pass = 0; pass < 3; pass++) {
		m = t_map(c, path, O_RDWR);
		ck_assert_int_eq(pc_size(m), (off_t)size);
		/* pass 0: every read cold; 1: warm; 2: one big cold read */
		if (pass == 2) {
			t_check_read(m, 0, size + 5 * PS, expect, size,
				     "one read of the whole file");
			pc_mapping_put(m);
			break;
		}
		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
				size_t off = offs[i], len = lens[j];
				size_t want = off >= size ? 0 :
					(len < size - off ? len : size - off);

				snprintf(ctx, sizeof(ctx), "pass %d", pass);
				t_check_read(m, (off_t)off, len,
					     expect + (off < size ? off : 0),
					     want, ctx);
			}
			if (pass == 0)
				ck_assert_int_ge(pc_invalidate_range(m, 0, -1),
						 0);
		}
		pc_mapping_put(m);
	}
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * Bytes inside the logical size but past the backing file's end read as
 * zeros: after a write far past EOF (a hole, nothing written back yet), and
 * after somebody else shrank the backing file behind the cache's back.
 */
START_TEST(test_zeros_past_backing_end)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t bsize = 2 * PS + 100, wroff = 5 * PS + 7;
	const size_t lsize = wroff + 10;
	unsigned char *expect = t_malloc(lsize);
	unsigned char data[10];
	char path[PATH_MAX], path2[PATH_MAX];
	struct pc_mapping *m;
	int fd;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, bsize, 3);
	m = t_map(c, path, O_RDWR);
	memset(data, 0xd7, sizeof(data));
	t_write(m, data, sizeof(data), (off_t)wroff, false);
	ck_assert_int_eq(pc_size(m), (off_t)lsize);
	t_pat_fill(expect, bsize, 0, 3);
	memcpy(expect + wroff, data, sizeof(data));
	t_check_read(m, 0, lsize + PS, expect, lsize, "hole before sync");
	/* the tail of the old last page, read on its own */
	t_check_read(m, (off_t)bsize, PS, expect + bsize, PS,
		     "old EOF page tail");
	t_sync(m);
	t_check_backing(path, expect, (off_t)lsize, "hole after sync");
	pc_mapping_put(m);

	/* somebody else shrinks the backing file; no invalidation yet */
	t_path(path2, sizeof(path2), "g");
	t_make_file(path2, 4 * PS, 9);
	m = t_map(c, path2, O_RDWR);
	ck_assert_int_eq(pc_size(m), (off_t)(4 * PS));
	fd = open(path2, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)PS + 10), 0);
	close(fd);
	memset(expect, 0, lsize);
	t_pat_fill(expect, PS + 10, 0, 9);
	t_check_read(m, 0, 4 * PS, expect, 4 * PS,
		     "backing shrunk behind the cache");
	/* the outside truncation is noticed by invalidation */
	ck_assert_int_ge(pc_invalidate_range(m, 0, -1), 0);
	ck_assert_int_eq(pc_size(m), (off_t)PS + 10);
	t_check_read(m, 0, 4 * PS, expect, PS + 10, "after invalidation");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* A write far past EOF leaves a hole of zeros, in the cache and on disk. */
START_TEST(test_write_far_past_eof)
{
	struct pc_cache *c = t_cache(4096, _i);
	const size_t off = 8 * 1024 * 1024 + 123, size = off + 100;
	unsigned char *expect = t_malloc(size);
	unsigned char data[100];
	char path[PATH_MAX];
	struct pc_mapping *m;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, PS, 5);
	m = t_map(c, path, O_RDWR);
	memset(data, 0x3c, sizeof(data));
	t_write(m, data, sizeof(data), (off_t)off, false);
	ck_assert_int_eq(pc_size(m), (off_t)size);
	t_pat_fill(expect, PS, 0, 5);
	memcpy(expect + off, data, sizeof(data));
	t_check_read(m, 0, size, expect, size, "far write, before sync");
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "far write, after sync");
	t_check_read(m, (off_t)PS, size, expect + PS, size - PS,
		     "far write, after sync");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * Shrink then grow exposes zeros, never the old bytes: with the pages clean
 * in the cache, dirty, absent, and written back before the shrink.
 */
START_TEST(test_truncate_shrink_grow)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 5 * PS, small = 2 * PS + 100, big = 6 * PS + 3;
	unsigned char *expect = t_malloc(big);
	unsigned char *buf = t_malloc(size);
	char path[PATH_MAX], ctx[64];
	struct pc_mapping *m;
	int state;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	for (state = 0; state < 4; state++) {
		t_make_file(path, size, 11);
		m = t_map(c, path, O_RDWR);
		t_pat_fill(expect, size, 0, 11);
		if (state == 0) {		/* clean, cached */
			ck_assert_int_eq(pc_read(m, buf, size, 0),
					 (ssize_t)size);
		} else if (state == 1) {	/* dirty */
			t_pat_fill(expect, size, 0, 12);
			t_write(m, expect, size, 0, false);
		} else if (state == 3) {	/* dirty, then written back */
			t_pat_fill(expect, size, 0, 13);
			t_write(m, expect, size, 0, false);
			t_sync(m);
		}				/* 2: nothing cached */
		snprintf(ctx, sizeof(ctx), "state %d shrink", state);
		ck_assert_int_eq(pc_truncate(m, (off_t)small), 0);
		ck_assert_int_eq(pc_size(m), (off_t)small);
		/* applied to the backing file at once */
		ck_assert_int_eq(t_file_size(path), (off_t)small);
		t_check_read(m, 0, size, expect, small, ctx);
		snprintf(ctx, sizeof(ctx), "state %d grow", state);
		ck_assert_int_eq(pc_truncate(m, (off_t)big), 0);
		ck_assert_int_eq(pc_size(m), (off_t)big);
		memset(expect + small, 0, big - small);
		t_check_read(m, 0, big + PS, expect, big, ctx);
		t_sync(m);
		t_check_backing(path, expect, (off_t)big, ctx);
		pc_mapping_put(m);
	}
	free(buf);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * The tail of the last page is zero after a shrink that splits a page, when
 * the file then grows by write or by truncate; bytes stored past EOF with
 * limit_to_size (a store into the mapped last page) never come back either.
 */
START_TEST(test_partial_tail_zero)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t cut = 2 * PS + 100;
	unsigned char *expect = t_malloc(4 * PS);
	unsigned char *buf = t_malloc(4 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	unsigned char one = 0x77;
	int variant;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	for (variant = 0; variant < 3; variant++) {
		memset(buf, 0xaa, 3 * PS);
		{
			int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

			ck_assert_int_ge(fd, 0);
			t_pwrite_full(fd, buf, 3 * PS, 0);
			close(fd);
		}
		m = t_map(c, path, O_RDWR);
		ck_assert_int_eq(pc_read(m, buf, 3 * PS, 0), (ssize_t)(3 * PS));
		memset(expect, 0xaa, 3 * PS);
		if (variant == 1) {
			/* the page that will be cut is dirty */
			memset(buf, 0xbb, PS);
			t_write(m, buf, PS, (off_t)(2 * PS), false);
			memset(expect + 2 * PS, 0xbb, PS);
		}
		ck_assert_int_eq(pc_truncate(m, (off_t)cut), 0);
		memset(expect + cut, 0, 4 * PS - cut);
		if (variant == 2) {
			/* a store past EOF into the last page: discarded */
			memset(buf, 0xcc, PS);
			t_write(m, buf, PS, (off_t)(2 * PS), true);
			ck_assert_int_eq(pc_size(m), (off_t)cut);
			memset(expect + 2 * PS, 0xcc, cut - 2 * PS);
			ck_assert_int_eq(pc_truncate(m, (off_t)(3 * PS)), 0);
			t_check_read(m, 0, 4 * PS, expect, 3 * PS,
				     "limit_to_size store past EOF, then grow");
			t_sync(m);
			t_check_backing(path, expect, (off_t)(3 * PS),
					"limit_to_size store past EOF, synced");
		} else {
			t_write(m, &one, 1, (off_t)(3 * PS + 10), false);
			expect[3 * PS + 10] = one;
			t_check_read(m, 0, 4 * PS, expect, 3 * PS + 11,
				     "cut page tail after growing write");
			t_sync(m);
			t_check_backing(path, expect, (off_t)(3 * PS + 11),
					"cut page tail, synced");
		}
		pc_mapping_put(m);
	}
	free(buf);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* limit_to_size writes never extend the file, in the cache or on disk. */
START_TEST(test_limit_to_size)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = PS + PS / 2;
	unsigned char *expect = t_malloc(4 * PS);
	unsigned char *data = t_malloc(2 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 21);
	m = t_map(c, path, O_RDWR);
	t_pat_fill(expect, size, 0, 21);
	memset(data, 0xe1, 2 * PS);
	t_write(m, data, 2 * PS, (off_t)PS, true);
	ck_assert_int_eq(pc_size(m), (off_t)size);
	memset(expect + PS, 0xe1, size - PS);
	t_check_read(m, 0, 4 * PS, expect, size, "limit write across EOF");
	ck_assert_int_eq(pc_read(m, data, PS, (off_t)size), 0);
	/* wholly past EOF: accepted and discarded */
	memset(data, 0xe2, PS);
	t_write(m, data, PS, (off_t)(3 * PS), true);
	ck_assert_int_eq(pc_size(m), (off_t)size);
	ck_assert(!pc_has_dirty_range(m, (off_t)(2 * PS), (off_t)(4 * PS)));
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "limit writes, synced");
	ck_assert_int_eq(pc_size(m), (off_t)size);
	pc_mapping_put(m);
	free(data);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * DIRTY BYTES: write-back writes the bytes written, not whole pages, so
 * that bytes of the same page changed meanwhile in the backing file by
 * somebody else (another mount, an outside program) survive.  With
 * PC_WRITE_CHANGED a whole-page write dirties only the bytes that differ
 * from the cached page.  A failed write keeps exactly those bytes dirty
 * and the retry writes them, and still nothing else.
 */
static void t_outside(const char *path, unsigned char *expect, off_t off,
		      size_t len, unsigned char v)
{
	unsigned char buf[64];
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ck_assert(fd >= 0 && len <= sizeof(buf));
	memset(buf, v, len);
	t_pwrite_full(fd, buf, len, off);
	close(fd);
	memset(expect + off, v, len);
}

START_TEST(test_dirty_bytes)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 3 * PS;
	unsigned char *expect = t_malloc(size);
	unsigned char *page = t_malloc(PS);
	unsigned char *ours = t_malloc(size);
	char path[PATH_MAX];
	struct pc_mapping *m;
	int ret;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 31);
	t_pat_fill(expect, size, 0, 31);
	m = t_map(c, path, O_RDWR);
	pc_mapping_set_exact(m);	/* others write the file */
	/* page 0 cached: the copy a mapper of the kernel would hold */
	ck_assert_int_eq(pc_read(m, page, PS, 0), (ssize_t)PS);

	/* the whole page back, unchanged: nothing becomes dirty */
	t_write(m, page, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	ck_assert(!pc_has_dirty_range(m, 0, (off_t)size));

	/* somebody else changes bytes of page 0 in the backing file ... */
	t_outside(path, expect, 10, 10, 0xaa);
	t_outside(path, expect, 3000, 10, 0xbb);
	/* ... and our mapper stores 4 bytes and 1 byte into its old copy */
	memset(page + 100, 0xcc, 4);
	page[2000] = 0xdd;
	memset(expect + 100, 0xcc, 4);
	expect[2000] = 0xdd;
	t_write(m, page, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	ck_assert(pc_has_dirty_range(m, 0, (off_t)PS));
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), PS);

	/* write(): 4 bytes of page 1 (filled from the backing file first),
	 * then somebody else writes other bytes of page 1 */
	memset(ours, 0xee, 4);
	t_write(m, ours, 4, (off_t)PS + 50, 0);
	memset(expect + PS + 50, 0xee, 4);
	t_outside(path, expect, (off_t)PS + 500, 10, 0x11);
	/* the same bytes written twice, and a run across a page boundary */
	memset(ours, 0x77, 8);
	t_write(m, ours, 8, (off_t)(2 * PS) - 4, 0);
	t_write(m, ours, 8, (off_t)(2 * PS) - 4, 0);
	memset(expect + 2 * PS - 4, 0x77, 8);
	t_outside(path, expect, (off_t)(2 * PS) + 100, 10, 0x22);

	/* a failing write-back keeps exactly those bytes dirty */
	pc_fault_set(c, PC_FAULT_WRITE, EIO, UINT_MAX);
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_int_eq(ret, -EIO);
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	ck_assert(pc_has_dirty_range(m, 0, (off_t)PS));
	ck_assert(pc_has_dirty_range(m, (off_t)PS, (off_t)(2 * PS)));
	/* more outside writes after the failure, then the retry */
	t_outside(path, expect, 40, 8, 0x33);
	t_outside(path, expect, (off_t)PS + 60, 8, 0x44);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size,
			"our bytes and the outside bytes, merged");
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	pc_mapping_put(m);
	free(ours);
	free(page);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * Until the mapping is exact, PC_WRITE_CHANGED writes a changed page back
 * whole (one write of the page, none for a page that did not change); once
 * exact, only the changed bytes, with gaps of up to 3 equal bytes between
 * them bridged.  bytes_written tells the two apart.
 */
START_TEST(test_changed_exact)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *page = t_malloc(PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st0, st1;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, PS, 43);
	m = t_map(c, path, O_RDWR);
	ck_assert_int_eq(pc_read(m, page, PS, 0), (ssize_t)PS);

	/* not exact: unchanged stays clean, changed goes whole */
	t_write(m, page, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	ck_assert(!pc_has_dirty_range(m, 0, (off_t)PS));
	page[10] ^= 0xff;
	page[2000] ^= 0xff;
	pc_stats_read(c, &st0);
	t_write(m, page, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	t_sync(m);
	pc_stats_read(c, &st1);
	ck_assert_uint_eq(st1.bytes_written - st0.bytes_written, PS);

	/* exact: bytes 10, 14 (a gap of 3: bridged) and 2000 - 6 bytes */
	pc_mapping_set_exact(m);
	page[10] ^= 0xff;
	page[14] ^= 0xff;
	page[2000] ^= 0xff;
	pc_stats_read(c, &st0);
	t_write(m, page, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	t_sync(m);
	pc_stats_read(c, &st1);
	ck_assert_uint_eq(st1.bytes_written - st0.bytes_written, 6);
	t_check_backing(path, page, (off_t)PS, "exact write-back");
	pc_mapping_put(m);
	free(page);
	t_cache_destroy(c);
}
END_TEST

/*
 * Ghosts: after pc_invalidate_range_keep_base() drops a page the kernel
 * read, a whole-page PC_WRITE_CHANGED of the kernel's (old) copy with one
 * byte stored is diffed against the dropped copy, so only that byte is
 * written and the outside change to the rest of the page survives - with
 * the page refetched first, and with it not cached at all.
 */
START_TEST(test_ghost_base)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 2 * PS;
	unsigned char *expect = t_malloc(size);
	unsigned char *kern = t_malloc(size);
	unsigned char *tmp = t_malloc(PS);
	char path[PATH_MAX];
	struct pc_mapping *m;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 41);
	t_pat_fill(expect, size, 0, 41);
	m = t_map(c, path, O_RDWR);
	pc_mapping_set_exact(m);	/* as fs/ does at an outside change */
	/* the kernel reads both pages */
	ck_assert_int_eq(pc_read(m, kern, size, 0), (ssize_t)size);
	/* somebody else changes bytes of both; we take it over */
	t_outside(path, expect, 100, 10, 0x5a);
	t_outside(path, expect, (off_t)PS + 100, 10, 0x5b);
	pc_invalidate_range_keep_base(m, 0, -1);
	/* page 0 is read again (a reader), page 1 is not */
	ck_assert_int_eq(pc_read(m, tmp, PS, 0), (ssize_t)PS);
	ck_assert_int_eq(tmp[100], 0x5a);
	/* the kernel's old copies come back with one byte stored each */
	kern[7] = 0x11;
	kern[PS + 7] = 0x22;
	expect[7] = 0x11;
	expect[PS + 7] = 0x22;
	t_write(m, kern, size, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size,
			"diffed against the dropped copies");
	pc_ghosts_drop(m);
	/* without a ghost the base is our refreshed page again */
	ck_assert_int_eq(pc_read(m, kern, size, 0), (ssize_t)size);
	kern[9] = 0x33;
	expect[9] = 0x33;
	t_write(m, kern, PS, 0, PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "after the ghosts went");
	pc_mapping_put(m);
	free(tmp);
	free(kern);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* Dirty accounting per mapping, per range and per cache. */
START_TEST(test_dirty_accounting)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *data = t_malloc(3 * PS);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	int ret;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, 8 * PS, 2);
	m = t_map(c, path, O_RDWR);
	pc_stats_read(c, &st0);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	ck_assert(!pc_has_dirty_range(m, 0, (off_t)(8 * PS)));
	memset(data, 1, 3 * PS);
	t_write(m, data, 3 * PS, (off_t)(2 * PS), false);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 3 * PS);
	ck_assert(pc_has_dirty_range(m, (off_t)(2 * PS), (off_t)(2 * PS + 1)));
	ck_assert(pc_has_dirty_range(m, (off_t)(4 * PS + PS - 1),
				     (off_t)(5 * PS)));
	ck_assert(pc_has_dirty_range(m, 0, (off_t)(8 * PS)));
	ck_assert(!pc_has_dirty_range(m, 0, (off_t)(2 * PS)));
	ck_assert(!pc_has_dirty_range(m, (off_t)(5 * PS), (off_t)(8 * PS)));
	pc_stats_read(c, &st);
	ck_assert_uint_ge(st.dirty_bytes + st.writeback_bytes, 3 * PS);
	ret = pc_write_and_wait(m, 0, -1, false);
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	ck_assert(!pc_has_dirty_range(m, 0, (off_t)(8 * PS)));
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.dirty_bytes, 0);
	ck_assert_uint_eq(st.writeback_bytes, 0);
	ck_assert_uint_eq(st.syncs, st0.syncs + 1);
	ck_assert_uint_ge(st.bytes_written, st0.bytes_written + 3 * PS);
	pc_mapping_put(m);
	free(data);
	t_cache_destroy(c);
}
END_TEST

/* mtime: zero until data changes, then the time of the change. */
START_TEST(test_mtime)
{
	struct pc_cache *c = t_cache(256, _i);
	struct timespec t0, t1, mt, mt2;
	unsigned char b = 1, buf[16];
	char path[PATH_MAX];
	struct pc_mapping *m;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, PS, 1);
	m = t_map(c, path, O_RDWR);
	mt = pc_mtime(m);
	ck_assert(mt.tv_sec == 0 && mt.tv_nsec == 0);
	ck_assert_int_eq(pc_read(m, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	mt = pc_mtime(m);
	ck_assert(mt.tv_sec == 0 && mt.tv_nsec == 0);
	clock_gettime(CLOCK_REALTIME, &t0);
	t_write(m, &b, 1, 5, false);
	clock_gettime(CLOCK_REALTIME, &t1);
	mt = pc_mtime(m);
	ck_assert_msg(mt.tv_sec >= t0.tv_sec - 1 && mt.tv_sec <= t1.tv_sec + 1,
		      "mtime %lld outside [%lld, %lld]", (long long)mt.tv_sec,
		      (long long)t0.tv_sec, (long long)t1.tv_sec);
	t_sleep_us(20000);
	ck_assert_int_eq(pc_truncate(m, 10), 0);
	mt2 = pc_mtime(m);
	ck_assert_msg(mt2.tv_sec > mt.tv_sec ||
		      (mt2.tv_sec == mt.tv_sec && mt2.tv_nsec > mt.tv_nsec),
		      "truncate did not move mtime");
	/* the commit leaves the logical mtime on the backing file */
	t_write(m, &b, 1, 3, false);
	mt = pc_mtime(m);
	t_sleep_us(20000);
	t_sync(m);
	{
		struct stat st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(st.st_mtim.tv_sec == mt.tv_sec &&
			      st.st_mtim.tv_nsec == mt.tv_nsec,
			      "backing mtime %lld.%09ld after commit, logical %lld.%09ld",
			      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			      (long long)mt.tv_sec, mt.tv_nsec);
	}
	pc_mtime_reset(m);
	mt = pc_mtime(m);
	ck_assert(mt.tv_sec == 0 && mt.tv_nsec == 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
}
END_TEST

/*
 * Invalidation drops clean pages and keeps dirty ones (ours win), and picks
 * up an outside growth and an outside shrink of the backing file.
 */
START_TEST(test_invalidate)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 8 * PS;
	unsigned char *expect = t_malloc(12 * PS);
	unsigned char *buf = t_malloc(12 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	long dropped;
	int fd;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 31);
	m = t_map(c, path, O_RDWR);
	ck_assert_int_eq(pc_read(m, buf, size, 0), (ssize_t)size);
	memset(buf, 0xb2, PS);
	t_write(m, buf, PS, (off_t)(2 * PS), false);

	/* somebody else rewrites the whole file */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	t_pat_fill(expect, size, 0, 32);
	t_pwrite_full(fd, expect, size, 0);
	dropped = pc_invalidate_range(m, 0, -1);
	ck_assert_msg(dropped == 7, "dropped %ld pages, expected the 7 clean",
		      dropped);
	memset(expect + 2 * PS, 0xb2, PS);
	t_check_read(m, 0, size, expect, size, "after outside rewrite");

	/* a range invalidation drops only that range */
	t_pat_fill(expect + 5 * PS, PS, 5 * PS, 33);
	t_pwrite_full(fd, expect + 5 * PS, PS, (off_t)(5 * PS));
	dropped = pc_invalidate_range(m, (off_t)(5 * PS), (off_t)(6 * PS));
	ck_assert_int_eq(dropped, 1);
	t_check_read(m, 0, size, expect, size, "after range invalidation");

	/* outside growth */
	t_pat_fill(expect + size, 4 * PS, size, 34);
	t_pwrite_full(fd, expect + size, 4 * PS, (off_t)size);
	ck_assert_int_ge(pc_invalidate_range(m, 0, -1), 0);
	ck_assert_int_eq(pc_size(m), (off_t)(12 * PS));
	t_check_read(m, 0, 13 * PS, expect, 12 * PS, "after outside growth");

	/* ours are written back over theirs */
	t_sync(m);
	t_check_backing(path, expect, (off_t)(12 * PS), "after sync");

	/* outside shrink, nothing dirty past it */
	ck_assert_int_eq(ftruncate(fd, (off_t)(3 * PS + 5)), 0);
	ck_assert_int_ge(pc_invalidate_range(m, 0, -1), 0);
	ck_assert_int_eq(pc_size(m), (off_t)(3 * PS + 5));
	t_check_read(m, 0, 12 * PS, expect, 3 * PS + 5,
		     "after outside shrink");

	/* outside shrink with our dirty page past it: our data survives */
	memset(buf, 0xb3, 100);
	t_write(m, buf, 100, (off_t)(2 * PS), false);
	memset(expect + 2 * PS, 0xb3, 100);
	ck_assert_int_eq(ftruncate(fd, (off_t)PS), 0);
	ck_assert_int_ge(pc_invalidate_range(m, 0, -1), 0);
	ck_assert_msg(pc_size(m) >= (off_t)(2 * PS + 100),
		      "size %lld dropped a dirty page", (long long)pc_size(m));
	t_check_read(m, (off_t)(2 * PS), 100, expect + 2 * PS, 100,
		     "dirty page past an outside shrink");
	close(fd);
	pc_mapping_put(m);
	free(buf);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* Replacing a read-only descriptor by a read-write one. */
START_TEST(test_set_fd)
{
	struct pc_cache *c = t_cache(256, _i);
	unsigned char *expect = t_malloc(2 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	int fd;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, 2 * PS, 41);
	m = t_map(c, path, O_RDONLY);
	ck_assert(!pc_mapping_writable(m));
	t_pat_fill(expect, 2 * PS, 0, 41);
	t_check_read(m, 0, 2 * PS, expect, 2 * PS, "read-only mapping");
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	pc_mapping_set_fd(m, fd);
	ck_assert(pc_mapping_writable(m));
	memset(expect + 100, 0x19, PS);
	t_write(m, expect + 100, PS, 100, false);
	t_sync(m);
	t_check_backing(path, expect, (off_t)(2 * PS), "after set_fd");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* The handle of @path into a malloc()ed struct file_handle, or NULL. */
static struct file_handle *t_handle(const char *path)
{
	struct file_handle *h = t_malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int id;

	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, h, &id, 0)) {
		free(h);
		return NULL;
	}
	return h;
}

/*
 * Reopenable descriptors: past max_fds the idle one is closed, dirty or
 * not, and reopened by handle for write-back; a file deleted meanwhile is
 * gone for good: its write-back succeeds without touching anything.
 */
START_TEST(test_reopen_by_handle)
{
	char pa[PATH_MAX], pb[PATH_MAX];
	unsigned char *expect = t_malloc(PS);
	struct file_handle *ha, *hb;
	struct pc_mapping *ma, *mb;
	struct pc_config cfg;
	struct pc_cache *c;
	int mfd, fd;

	T_VARIANT();
	t_path(pa, sizeof(pa), "a");
	t_path(pb, sizeof(pb), "b");
	t_make_file(pa, PS, 51);
	t_make_file(pb, PS, 52);
	mfd = open(t_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ha = t_handle(pa);
	hb = t_handle(pb);
	fd = ha ? open_by_handle_at(mfd, ha, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		/* not root, or no handles here: nothing to test */
		fprintf(stderr, "test_reopen_by_handle: no file handles in %s (%s): skipped\n",
			t_dir, strerror(errno));
		free(ha);
		free(hb);
		close(mfd);
		free(expect);
		return;
	}
	close(fd);

	t_cfg(&cfg, 256, _i);
	cfg.max_fds = 1;
	c = t_cache_new(&cfg);
	ma = t_map(c, pa, O_RDWR);
	mb = t_map(c, pb, O_RDWR);
	ck_assert_int_eq(pc_mapping_set_reopen(ma, mfd, ha), 0);
	memset(expect, 0xa1, PS);
	t_write(ma, expect, PS, 0, false);	/* dirty */
	ck_assert_int_eq(pc_mapping_set_reopen(mb, mfd, hb), 0);
	/* b's descriptor made two: a's, idle though dirty, was closed */
	ck_assert_uint_eq(pc_cache_fds(c), 1);
	ck_assert(!pc_mapping_has_fd(ma));
	ck_assert(pc_mapping_has_fd(mb));
	t_sync(ma);				/* reopens a, closes b */
	t_check_backing(pa, expect, (off_t)PS, "written back by handle");
	ck_assert(pc_mapping_has_fd(ma));
	ck_assert(!pc_mapping_has_fd(mb));
	ck_assert_uint_eq(pc_cache_fds(c), 1);

	/* b dirty with its descriptor closed, then deleted: gone */
	memset(expect, 0xb2, PS);
	t_write(mb, expect, PS, 0, false);	/* reopens b, closes a */
	t_write(ma, expect, PS, 0, false);	/* reopens a, closes b */
	ck_assert(!pc_mapping_has_fd(mb));
	ck_assert_int_eq(unlink(pb), 0);
	t_sync(mb);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(mb), 0);
	ck_assert_int_eq(pc_truncate(mb, 0), -ENOENT);
	t_sync(ma);
	t_check_backing(pa, expect, (off_t)PS, "a after b was gone");

	pc_mapping_put(ma);
	pc_mapping_put(mb);
	t_cache_destroy(c);
	close(mfd);
	free(ha);
	free(hb);
	free(expect);
}
END_TEST

/*
 * A lent descriptor (pc_mapping_lend_fd: a file open through the mount)
 * serves pc_mapping_fstat without reopening the mapping's own, so polling
 * many open files does not churn the LRU; only while it is lent.
 */
START_TEST(test_lend_fd)
{
	char pa[PATH_MAX], pb[PATH_MAX];
	struct file_handle *ha, *hb;
	struct pc_mapping *ma, *mb;
	struct pc_config cfg;
	struct stat st, want;
	struct pc_cache *c;
	int mfd, fd, la;

	T_VARIANT();
	t_path(pa, sizeof(pa), "a");
	t_path(pb, sizeof(pb), "b");
	t_make_file(pa, PS, 61);
	t_make_file(pb, PS, 62);
	mfd = open(t_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ha = t_handle(pa);
	hb = t_handle(pb);
	fd = ha ? open_by_handle_at(mfd, ha, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		fprintf(stderr, "test_lend_fd: no file handles in %s (%s): skipped\n",
			t_dir, strerror(errno));
		free(ha);
		free(hb);
		close(mfd);
		return;
	}
	close(fd);
	ck_assert_int_eq(stat(pa, &want), 0);

	t_cfg(&cfg, 256, _i);
	cfg.max_fds = 1;
	c = t_cache_new(&cfg);
	ma = t_map(c, pa, O_RDWR);
	mb = t_map(c, pb, O_RDWR);
	ck_assert_int_eq(pc_mapping_set_reopen(ma, mfd, ha), 0);
	ck_assert_int_eq(pc_mapping_set_reopen(mb, mfd, hb), 0);
	ck_assert(!pc_mapping_has_fd(ma));	/* b's evicted a's */

	la = open(pa, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(la, 0);
	pc_mapping_lend_fd(ma, -1, la);
	ck_assert_int_eq(pc_mapping_fstat(ma, &st), 0);
	ck_assert(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
	ck_assert(!pc_mapping_has_fd(ma));	/* not reopened */
	ck_assert(pc_mapping_has_fd(mb));	/* nor b evicted */
	ck_assert_uint_eq(pc_cache_fds(c), 1);

	/* Taking back a descriptor that is not the lent one changes nothing. */
	pc_mapping_lend_fd(ma, la + 1000, -1);
	ck_assert_int_eq(pc_mapping_fstat(ma, &st), 0);
	ck_assert(!pc_mapping_has_fd(ma));

	/* Taken back: fstat reopens the mapping's own again. */
	pc_mapping_lend_fd(ma, la, -1);
	close(la);
	ck_assert_int_eq(pc_mapping_fstat(ma, &st), 0);
	ck_assert(st.st_ino == want.st_ino);
	ck_assert(pc_mapping_has_fd(ma));
	ck_assert(!pc_mapping_has_fd(mb));

	pc_mapping_put(ma);
	pc_mapping_put(mb);
	t_cache_destroy(c);
	close(mfd);
	free(ha);
	free(hb);
}
END_TEST

/* Dirty data outlives the last put: destroy and sync_all write it back. */
START_TEST(test_put_dirty_then_destroy)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *expect = t_malloc(10 * PS);
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	struct pc_mapping *m1, *m2, *m3;

	T_VARIANT();

	t_path(p1, sizeof(p1), "a");
	t_path(p2, sizeof(p2), "b");
	t_path(p3, sizeof(p3), "c");
	t_pat_fill(expect, 10 * PS, 0, 51);
	m1 = t_map(c, p1, O_RDWR);
	m2 = t_map(c, p2, O_RDWR);
	m3 = t_map(c, p3, O_RDWR);
	t_write(m1, expect, 10 * PS - 3, 0, false);
	t_write(m2, expect, 3 * PS + 1, 0, false);
	t_write(m3, expect, 5 * PS, 0, false);
	ck_assert_int_eq(pc_cache_sync_all(c), 0);
	t_check_backing(p2, expect, (off_t)(3 * PS + 1), "sync_all");
	t_check_backing(p3, expect, (off_t)(5 * PS), "sync_all");
	/* m1 again, with new data, left dirty at its last put */
	t_pat_fill(expect, 10 * PS, 0, 52);
	t_write(m1, expect, 10 * PS - 3, 0, false);
	pc_mapping_put(m1);
	pc_mapping_put(m2);
	pc_mapping_put(m3);
	t_cache_destroy(c);
	t_check_backing(p1, expect, (off_t)(10 * PS - 3),
			"dirty at last put, written by destroy");
	free(expect);
}
END_TEST

/* Poll until the backing file equals @expect, for at most @ms. */
static bool t_wait_backing(const char *path, const unsigned char *expect,
			   size_t size, unsigned int ms)
{
	unsigned char *buf = t_malloc(size);
	uint64_t end = t_now_ns() + (uint64_t)ms * 1000000;
	bool ok = false;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	while (!ok && t_now_ns() < end) {
		struct stat st;

		ck_assert_int_eq(fstat(fd, &st), 0);
		ok = st.st_size == (off_t)size &&
		     t_pread_full(fd, buf, size, 0) == (ssize_t)size &&
		     !memcmp(buf, expect, size);
		if (!ok)
			t_sleep_us(5000);
	}
	close(fd);
	free(buf);
	return ok;
}

/* pc_writeback_start writes without being waited for. */
START_TEST(test_writeback_start)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *expect = t_malloc(6 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, 6 * PS, 0, 61);
	m = t_map(c, path, O_RDWR);
	t_write(m, expect, 6 * PS - 9, 0, false);
	pc_writeback_start(m);
	ck_assert_msg(t_wait_backing(path, expect, 6 * PS - 9, 10000),
		      "pc_writeback_start: data not in the backing file after 10 s");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * Many dirty mappings, none due: the write-back thread must neither spin
 * over them (it once took the newest 256 of the dirty list, found none
 * due, and started again at once, a core's worth of CPU) nor ignore the
 * ones past the first 256 (pc_writeback_start on the oldest mapping went
 * unanswered while the newest stayed dirty).
 */
#define T_MANY_MAPPINGS 600

static double t_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

START_TEST(test_many_dirty_mappings)
{
	struct pc_config cfg;
	struct pc_cache *c;
	struct pc_mapping **m = t_malloc(T_MANY_MAPPINGS * sizeof(*m));
	unsigned char *expect = t_malloc(PS);
	char path[PATH_MAX], name[32];
	double cpu;

	T_VARIANT();

	/* room for all: 600 dirty pages stay below the background threshold */
	t_cfg(&cfg, 8192, _i);
	cfg.writeback_interval_ms = 20;
	c = t_cache_new(&cfg);
	for (int i = 0; i < T_MANY_MAPPINGS; i++) {
		snprintf(name, sizeof(name), "m%03d", i);
		t_path(path, sizeof(path), name);
		m[i] = t_map(c, path, O_RDWR);
		t_pat_fill(expect, PS, 0, 300 + i);
		t_write(m[i], expect, PS, 0, false);
	}
	cpu = t_cpu_s();
	t_sleep_us(1000000);
	cpu = t_cpu_s() - cpu;
	ck_assert_msg(cpu < 0.5, "%.2f s of CPU in 1 s with %d dirty mappings "
		      "and nothing due: the write-back thread spins", cpu,
		      T_MANY_MAPPINGS);
	for (int i = 0; i < T_MANY_MAPPINGS; i++)
		ck_assert_uint_eq(pc_mapping_dirty_bytes(m[i]), PS);

	/* the oldest one, asked for, is written back */
	pc_writeback_start(m[0]);
	t_path(path, sizeof(path), "m000");
	t_pat_fill(expect, PS, 0, 300);
	ck_assert_msg(t_wait_backing(path, expect, PS, 10000),
		      "pc_writeback_start of the oldest of %d dirty mappings: "
		      "not written back within 10 s", T_MANY_MAPPINGS);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m[T_MANY_MAPPINGS - 1]), PS);
	for (int i = 0; i < T_MANY_MAPPINGS; i++)
		pc_mapping_put(m[i]);
	free(expect);
	free(m);
	t_cache_destroy(c);
}
END_TEST

/* Dirty data older than dirty_expire_ms is written back unasked. */
START_TEST(test_expire)
{
	struct pc_config cfg;
	struct pc_cache *c;
	unsigned char *expect = t_malloc(3 * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	uint64_t end;

	T_VARIANT();

	t_cfg(&cfg, 1024, _i);
	cfg.dirty_expire_ms = 100;
	cfg.writeback_interval_ms = 20;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, 3 * PS, 0, 71);
	m = t_map(c, path, O_RDWR);
	t_write(m, expect, 3 * PS, 0, false);
	ck_assert_msg(t_wait_backing(path, expect, 3 * PS, 5000),
		      "expired dirty data not written back within 5 s");
	end = t_now_ns() + 5000000000ULL;
	while (pc_mapping_dirty_bytes(m) && t_now_ns() < end)
		t_sleep_us(5000);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* Adjacent dirty pages are coalesced, at most max_write_pages a request. */
START_TEST(test_coalesce)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *expect = t_malloc(64 * PS);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	uint64_t reqs;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, 64 * PS, 0, 81);
	m = t_map(c, path, O_RDWR);
	t_write(m, expect, 64 * PS, 0, false);
	pc_stats_read(c, &st0);
	t_sync(m);
	pc_stats_read(c, &st);
	reqs = st.writeback_requests - st0.writeback_requests;
	ck_assert_msg(reqs >= 4 && reqs <= 16,
		      "64 adjacent dirty pages, max_write_pages 16: %" PRIu64
		      " write requests", reqs);
	ck_assert_uint_ge(st.bytes_written - st0.bytes_written, 64 * PS);
	t_check_backing(path, expect, (off_t)(64 * PS), "coalesced");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * Pages allocated one after the other get adjacent, ascending memory
 * (PAGE DATA in pagecache.c), whatever order earlier pages were freed in:
 * write-back then sends each request as one iovec.  Truncating frees the
 * pages in index order; a LIFO free list handed them back in reverse, and
 * every request of the second round had max_write_pages iovecs.
 */
START_TEST(test_data_layout)
{
	struct pc_cache *c = t_cache(1024, _i);
	unsigned char *expect = t_malloc(256 * PS);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	uint64_t reqs, iovs;
	int ret;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	for (int round = 0; round < 3; round++) {
		t_pat_fill(expect, 256 * PS, 0, 61 + (unsigned)round);
		t_write(m, expect, 256 * PS, 0, false);
		pc_stats_read(c, &st0);
		t_sync(m);
		pc_stats_read(c, &st);
		reqs = st.writeback_requests - st0.writeback_requests;
		iovs = st.writeback_iovecs - st0.writeback_iovecs;
		ck_assert_msg(reqs == 16 && iovs == reqs,
			      "round %d: 256 pages written in order, "
			      "max_write_pages 16: %" PRIu64 " requests with %"
			      PRIu64 " iovecs (16 and 16 expected)", round,
			      reqs, iovs);
		t_check_backing(path, expect, (off_t)(256 * PS), "layout");
		/* frees every page, in index order */
		ret = pc_truncate(m, 0);
		ck_assert_msg(ret == 0, "pc_truncate: %s", strerror(-ret));
		pc_stats_read(c, &st);
		ck_assert_uint_eq(st.cached_bytes, 0);
	}
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * EARLY WRITE-OUT (writeback.c): a sync of more than one batch (here
 * queue_depth 16 x max_write_pages 16 = 256 pages) hands each batch but the
 * last to the backing filesystem's write-out; a sync of one batch and
 * pc_writeback_range (no commit follows) do not.  The data is right either
 * way, and a write error in the middle of such a sync is still reported,
 * kept dirty and written by the retry.
 */
START_TEST(test_writeout)
{
	struct pc_cache *c = t_cache(4096, _i);
	const size_t size = 3 * 256 * PS;
	unsigned char *expect = t_malloc(size);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	pc_errseq_t es;
	int ret;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	es = pc_errseq_sample(m);
	t_pat_fill(expect, size, 0, 71);
	t_write(m, expect, size, 0, false);
	pc_stats_read(c, &st0);
	t_sync(m);
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeouts - st0.writeouts, 2);
	ck_assert_uint_eq(st.bytes_written - st0.bytes_written, size);
	t_check_backing(path, expect, (off_t)size, "sync with write-out");

	/* one batch: nothing to overlap */
	t_pat_fill(expect, 256 * PS, 0, 72);
	t_write(m, expect, 256 * PS, 0, false);
	pc_stats_read(c, &st0);
	t_sync(m);
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeouts, st0.writeouts);
	t_check_backing(path, expect, (off_t)size, "sync of one batch");

	/* no commit follows: no write-out */
	t_pat_fill(expect, size, 0, 73);
	t_write(m, expect, size, 0, false);
	pc_stats_read(c, &st0);
	ret = pc_writeback_range(m, 0, -1);
	ck_assert_msg(ret == 0, "pc_writeback_range: %s", strerror(-ret));
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeouts, st0.writeouts);
	t_check_backing(path, expect, (off_t)size, "pc_writeback_range");
	t_sync(m);

	/* a write error in a sync with write-out: reported once, kept,
	 * retried */
	t_pat_fill(expect, size, 0, 74);
	t_write(m, expect, size, 0, false);
	pc_fault_set(c, PC_FAULT_WRITE, EIO, 1);
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_msg(ret == -EIO, "sync with EIO injected: %d", ret);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &es), -EIO);
	ck_assert(pc_mapping_dirty_bytes(m) > 0);
	t_sync(m);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	t_check_backing(path, expect, (off_t)size, "retry after the fault");
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/*
 * pc_writeback_range writes the range's dirty pages and nothing else, leaves
 * the commit to pc_write_and_wait (which then writes nothing again), and
 * reports a failed write, keeping the page dirty for the retry.
 */
START_TEST(test_writeback_range)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 40 * PS + 100;
	unsigned char *expect = t_malloc(size), *buf = t_malloc(10 * PS);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	unsigned char b = 0x5a;
	pc_errseq_t es;
	int fd, ret;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, size, 0, 91);
	m = t_map(c, path, O_RDWR);
	es = pc_errseq_sample(m);
	t_write(m, expect, size, 0, false);
	pc_stats_read(c, &st0);
	ret = pc_writeback_range(m, (off_t)(10 * PS), (off_t)(20 * PS));
	ck_assert_msg(ret == 0, "pc_writeback_range: %s", strerror(-ret));
	ck_assert(pc_has_dirty_range(m, 0, (off_t)(10 * PS)));
	ck_assert(!pc_has_dirty_range(m, (off_t)(10 * PS), (off_t)(20 * PS)));
	ck_assert(pc_has_dirty_range(m, (off_t)(21 * PS), (off_t)size));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(t_pread_full(fd, buf, 10 * PS, (off_t)(10 * PS)),
			 (ssize_t)(10 * PS));
	close(fd);
	ck_assert_msg(t_first_diff(buf, expect + 10 * PS, 10 * PS) < 0,
		      "pc_writeback_range: the range is not in the backing file");
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.syncs, st0.syncs);
	ck_assert_uint_ge(st.bytes_written - st0.bytes_written, 10 * PS);

	ret = pc_writeback_range(m, 0, -1);
	ck_assert_msg(ret == 0, "pc_writeback_range: %s", strerror(-ret));
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	t_check_backing(path, expect, (off_t)size, "pc_writeback_range");
	ck_assert_msg(!pc_mapping_synced(m),
		      "written back but not committed, yet counted as synced");
	pc_stats_read(c, &st0);
	t_sync(m);
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.bytes_written, st0.bytes_written);
	ck_assert(pc_mapping_synced(m));

	pc_fault_set(c, PC_FAULT_WRITE, EIO, UINT_MAX);
	t_write(m, &b, 1, (off_t)PS + 3, false);
	expect[PS + 3] = b;
	ret = pc_writeback_range(m, 0, -1);
	ck_assert_msg(ret == -EIO, "pc_writeback_range with EIO injected: %d",
		      ret);
	ck_assert(pc_has_dirty_range(m, (off_t)PS, (off_t)(2 * PS)));
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &es), -EIO);
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	ret = pc_writeback_range(m, 0, -1);
	ck_assert_msg(ret == 0, "pc_writeback_range retry: %s", strerror(-ret));
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	t_check_backing(path, expect, (off_t)size, "retry after the fault");
	t_sync(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &es), 0);
	pc_mapping_put(m);
	free(buf);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* A sequential reader gets read-ahead. */
START_TEST(test_readahead)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t n = 256;
	unsigned char *expect = t_malloc(n * PS);
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st;
	size_t i;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_make_file(path, n * PS, 91);
	t_pat_fill(expect, n * PS, 0, 91);
	m = t_map(c, path, O_RDWR);
	for (i = 0; i < n; i++)
		t_check_read(m, (off_t)(i * PS), PS, expect + i * PS, PS,
			     "sequential");
	pc_stats_read(c, &st);
	ck_assert_msg(st.readahead_pages > 0 && st.misses < n,
		      "sequential read of %zu pages: misses %" PRIu64
		      ", readahead_pages %" PRIu64, n, st.misses,
		      st.readahead_pages);
	ck_assert_uint_ge(st.bytes_read, n * PS);
	pc_mapping_put(m);
	free(expect);
	t_cache_destroy(c);
}
END_TEST

/* ---- The reference model ------------------------------------------------- */

#define M_LOG 24

struct t_model {
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_config cfg;
	char path[PATH_MAX];
	unsigned char *data;	/* what the file holds; zero past size */
	unsigned char *buf;
	size_t max;		/* largest size the run makes */
	off_t size;
	struct t_rng rng;
	const char *variant;
	unsigned int step;
	char log[M_LOG][160];
	unsigned int nlog;
};

static void m_log(struct t_model *md, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void m_log(struct t_model *md, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(md->log[md->nlog % M_LOG], sizeof(md->log[0]), fmt, ap);
	va_end(ap);
	if (t_trace)
		fprintf(stderr, "%s: %s\n", md->variant,
			md->log[md->nlog % M_LOG]);
	md->nlog++;
}

static void m_fail(struct t_model *md, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void m_fail(struct t_model *md, const char *fmt, ...)
{
	char msg[512];
	unsigned int i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "model %s, PC_SEED=%" PRIu64 ", last operations:\n",
		md->variant, t_seed);
	i = md->nlog > M_LOG ? md->nlog - M_LOG : 0;
	for (; i < md->nlog; i++)
		fprintf(stderr, "  %s\n", md->log[i % M_LOG]);
	ck_abort_msg("model %s PC_SEED=%" PRIu64 " step %u: %s", md->variant,
		     t_seed, md->step, msg);
}

static void m_verify(struct t_model *md)
{
	off_t sz = pc_size(md->m);
	ssize_t n;
	long d;

	if (sz != md->size)
		m_fail(md, "pc_size %lld, model %lld", (long long)sz,
		       (long long)md->size);
	n = pc_read(md->m, md->buf, md->max + PS, 0);
	if (n != md->size)
		m_fail(md, "pc_read of the whole file returned %zd, size %lld",
		       n, (long long)md->size);
	d = t_first_diff(md->buf, md->data, (size_t)md->size);
	if (d >= 0)
		m_fail(md, "pc_read: byte %ld (page %ld) is 0x%02x, model 0x%02x",
		       d, d / (long)PS, md->buf[d], md->data[d]);
	if (md->cfg.cache_size < 64 * PS) {
		struct pc_stats st;

		pc_stats_read(md->c, &st);
		if (st.cached_bytes > md->cfg.cache_size)
			m_fail(md, "cached_bytes %" PRIu64 " > cache_size %zu",
			       st.cached_bytes, md->cfg.cache_size);
	}
}

/* After a write_and_wait of [start, end): the backing file holds the model
 * there (bytes past its end count as zeros); after a whole-file one, its
 * size is the logical size too. */
static void m_verify_backing(struct t_model *md, off_t start, off_t end)
{
	int fd = open(md->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	long d;

	if (fd < 0 || fstat(fd, &st))
		m_fail(md, "open/fstat backing: %s", strerror(errno));
	if (end < 0 && st.st_size != md->size)
		m_fail(md, "after write_and_wait the backing file is %lld bytes, model %lld",
		       (long long)st.st_size, (long long)md->size);
	if (end < 0 || end > md->size)
		end = md->size;
	if (start < end) {
		memset(md->buf, 0, (size_t)(end - start));
		n = t_pread_full(fd, md->buf, (size_t)(end - start), start);
		if (n < 0)
			m_fail(md, "pread backing: %s", strerror((int)-n));
		d = t_first_diff(md->buf, md->data + start,
				 (size_t)(end - start));
		if (d >= 0)
			m_fail(md, "backing byte %lld (page %lld) is 0x%02x, model 0x%02x",
			       (long long)(start + d),
			       (long long)((start + d) / (off_t)PS),
			       md->buf[d], md->data[start + d]);
	}
	close(fd);
}

static void m_op_write(struct t_model *md)
{
	struct t_rng *r = &md->rng;
	uint64_t k = t_below(r, 100);
	size_t size = (size_t)md->size, off, len;
	bool limit = false;
	unsigned char *src;
	ssize_t n;

	if (k < 35) {			/* anywhere, unaligned, crossing */
		off = t_below(r, size + 1);
		len = 1 + t_below(r, 2 * PS);
	} else if (k < 50) {		/* whole pages */
		off = t_below(r, size / PS + 2) * PS;
		len = (1 + t_below(r, 3)) * PS;
	} else if (k < 65) {		/* small */
		off = t_below(r, size + 64);
		len = 1 + t_below(r, 64);
	} else if (k < 75) {		/* append */
		off = size;
		len = 1 + t_below(r, 2 * PS);
	} else if (k < 85) {		/* far past EOF: a hole */
		off = size + PS + t_below(r, 16 * PS);
		len = 1 + t_below(r, PS);
	} else {			/* kernel write-back: never extends */
		off = t_below(r, size + PS);
		len = 1 + t_below(r, 2 * PS);
		limit = true;
	}
	if (len > md->max)
		len = md->max;
	if (off + len > md->max)
		off = md->max - len;
	src = md->buf;
	t_rand_bytes(r, src, len);
	m_log(md, "%u: write off %zu len %zu%s (size %zu)", md->step, off, len,
	      limit ? " limit_to_size" : "", size);
	n = pc_write(md->m, src, len, (off_t)off, limit);
	if (n != (ssize_t)len)
		m_fail(md, "pc_write(off %zu, len %zu) returned %zd", off, len,
		       n);
	if (limit) {
		if (off < size)
			memcpy(md->data + off, src,
			       (off + len < size ? off + len : size) - off);
	} else {
		memcpy(md->data + off, src, len);
		if ((off_t)(off + len) > md->size)
			md->size = (off_t)(off + len);
	}
}

static void m_op_read(struct t_model *md)
{
	struct t_rng *r = &md->rng;
	size_t size = (size_t)md->size;
	size_t off = t_below(r, size + PS), len = 1 + t_below(r, 3 * PS);
	size_t want = off >= size ? 0 : (len < size - off ? len : size - off);
	ssize_t n;
	long d;

	m_log(md, "%u: read off %zu len %zu", md->step, off, len);
	n = pc_read(md->m, md->buf, len, (off_t)off);
	if (n != (ssize_t)want)
		m_fail(md, "pc_read(off %zu, len %zu) returned %zd, expected %zu",
		       off, len, n, want);
	d = t_first_diff(md->buf, md->data + off, want);
	if (d >= 0)
		m_fail(md, "pc_read(off %zu): byte %zu is 0x%02x, model 0x%02x",
		       off, off + (size_t)d, md->buf[d], md->data[off + d]);
}

static void m_op_truncate(struct t_model *md)
{
	struct t_rng *r = &md->rng;
	size_t size = (size_t)md->size, nsize;
	int ret;

	if (t_below(r, 10) < 6) {
		nsize = t_below(r, size + 1);
		if (t_below(r, 4) == 0)
			nsize -= nsize % PS;
	} else {
		nsize = size + 1 + t_below(r, 8 * PS);
		if (nsize > md->max)
			nsize = md->max;
	}
	m_log(md, "%u: truncate %zu -> %zu", md->step, size, nsize);
	ret = pc_truncate(md->m, (off_t)nsize);
	if (ret)
		m_fail(md, "pc_truncate(%zu): %s", nsize, strerror(-ret));
	if (nsize < size)
		memset(md->data + nsize, 0, size - nsize);
	md->size = (off_t)nsize;
	if (t_file_size(md->path) > md->size)
		m_fail(md, "after pc_truncate(%zu) the backing file is %lld bytes",
		       nsize, (long long)t_file_size(md->path));
}

static void m_op_invalidate(struct t_model *md)
{
	struct t_rng *r = &md->rng;
	off_t start = (off_t)t_below(r, (uint64_t)md->size + PS);
	off_t end = t_below(r, 3) ? start + (off_t)t_below(r, 8 * PS) : -1;
	long n;

	if (t_below(r, 2))
		start -= start % (off_t)PS;
	m_log(md, "%u: invalidate [%lld, %lld)", md->step, (long long)start,
	      (long long)end);
	n = pc_invalidate_range(md->m, start, end);
	if (n < 0)
		m_fail(md, "pc_invalidate_range: %s", strerror((int)-n));
}

static void m_op_sync(struct t_model *md, bool whole)
{
	struct t_rng *r = &md->rng;
	off_t start = 0, end = -1;
	bool datasync = t_below(r, 2);
	int ret;

	if (!whole) {
		start = (off_t)t_below(r, (uint64_t)md->size + 1);
		end = start + 1 + (off_t)t_below(r, 6 * PS);
	}
	m_log(md, "%u: write_and_wait [%lld, %lld)%s", md->step,
	      (long long)start, (long long)end, datasync ? " datasync" : "");
	ret = pc_write_and_wait(md->m, start, end, datasync);
	if (ret)
		m_fail(md, "pc_write_and_wait: %s", strerror(-ret));
	m_verify_backing(md, start, end);
	if (whole && pc_mapping_dirty_bytes(md->m))
		m_fail(md, "%zu bytes still dirty after write_and_wait",
		       pc_mapping_dirty_bytes(md->m));
}

static void m_op_reopen(struct t_model *md)
{
	int fd, ret;

	m_log(md, "%u: sync, put, reopen", md->step);
	ret = pc_write_and_wait(md->m, 0, -1, true);
	if (ret)
		m_fail(md, "pc_write_and_wait: %s", strerror(-ret));
	m_verify_backing(md, 0, -1);
	pc_mapping_put(md->m);
	fd = open(md->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		m_fail(md, "reopen: %s", strerror(errno));
	ret = pc_mapping_create(md->c, fd, &md->m);
	if (ret)
		m_fail(md, "pc_mapping_create: %s", strerror(-ret));
}

/*
 * Variants: bit 0 = no_uring, bit 1 = a 16-page cache (eviction at every
 * step, allocations that wait for write-back).
 */
START_TEST(test_model)
{
	static const char *const names[] = { "uring", "no_uring",
					     "uring-tiny", "no_uring-tiny" };
	struct t_model *md = t_malloc(sizeof(*md));
	unsigned int steps = (unsigned int)t_env_ul("PC_STEPS", 1500);
	struct pc_stats st;
	int ret;

	T_VARIANT();

	if (t_quick)
		steps = t_n(steps);
	md->variant = names[_i];
	md->rng.s = t_seed * 4 + (uint64_t)_i;
	md->max = 96 * PS;
	md->data = t_malloc(md->max + PS);
	md->buf = t_malloc(md->max + 8 * PS);
	t_cfg(&md->cfg, _i & 2 ? 16 : 2048, _i & 1);
	/* write-back keeps happening behind the model's back */
	md->cfg.dirty_expire_ms = 30;
	md->cfg.writeback_interval_ms = 10;
	if (_i & 2) {
		md->cfg.dirty_bytes = 8 * PS;
		md->cfg.dirty_background_bytes = 4 * PS;
		md->cfg.max_write_pages = 4;
	}
	md->c = t_cache_new(&md->cfg);
	t_path(md->path, sizeof(md->path), "model");
	md->size = (off_t)(10 * PS + 77);
	t_make_file(md->path, (size_t)md->size, t_seed | 1);
	t_pat_fill(md->data, (size_t)md->size, 0, t_seed | 1);
	md->m = t_map(md->c, md->path, O_RDWR);
	m_verify(md);

	for (md->step = 0; md->step < steps; md->step++) {
		uint64_t k = t_below(&md->rng, 100);

		if (k < 35)
			m_op_write(md);
		else if (k < 55)
			m_op_read(md);
		else if (k < 65)
			m_op_truncate(md);
		else if (k < 75)
			m_op_invalidate(md);
		else if (k < 83)
			m_op_sync(md, true);
		else if (k < 88)
			m_op_sync(md, false);
		else if (k < 91) {
			m_log(md, "%u: writeback_start", md->step);
			pc_writeback_start(md->m);
		} else if (k < 93) {
			m_op_reopen(md);
		} else {
			unsigned long us = t_below(&md->rng, 2000);

			m_log(md, "%u: sleep %lu us", md->step, us);
			t_sleep_us(us);
		}
		m_verify(md);
	}
	m_log(md, "end: write_and_wait");
	ret = pc_write_and_wait(md->m, 0, -1, false);
	if (ret)
		m_fail(md, "final pc_write_and_wait: %s", strerror(-ret));
	m_verify_backing(md, 0, -1);
	pc_stats_read(md->c, &st);
	ck_assert_uint_eq(st.writeback_errors, 0);
	if (_i & 2)
		ck_assert_msg(st.evictions > 0,
			      "16-page cache, 96-page file: no eviction");
	pc_mapping_put(md->m);
	t_cache_destroy(md->c);
	/* the model's last state survives destroy as well */
	m_verify_backing(md, 0, -1);
	free(md->buf);
	free(md->data);
	free(md);
}
END_TEST

/* ---- Concurrency --------------------------------------------------------- */

/*
 * Shared-region records: each names its writer, its sequence number and
 * its slot, and its payload is derived from them, so a reader can tell a
 * whole record from a torn or stale-zero one.  A record never crosses a
 * page, and one pc_write copies into one page under the mapping's lock.
 */
#define REC_SIZE 256
#define REC_MAGIC 0x7265634bU

static void t_rec_fill(unsigned char *p, uint32_t tid, uint64_t seq,
		       uint64_t slot)
{
	uint32_t magic = REC_MAGIC;

	memcpy(p, &magic, 4);
	memcpy(p + 4, &tid, 4);
	memcpy(p + 8, &seq, 8);
	memcpy(p + 16, &slot, 8);
	t_pat_fill(p + 24, REC_SIZE - 24, 0,
		   ((uint64_t)tid << 48) ^ (seq << 16) ^ slot);
}

static bool t_rec_valid(const unsigned char *p, uint64_t slot)
{
	unsigned char want[REC_SIZE];
	uint32_t magic, tid;
	uint64_t seq, s;

	memcpy(&magic, p, 4);
	memcpy(&tid, p + 4, 4);
	memcpy(&seq, p + 8, 8);
	memcpy(&s, p + 16, 8);
	if (magic != REC_MAGIC || s != slot)
		return false;
	t_rec_fill(want, tid, seq, slot);
	return !memcmp(p, want, REC_SIZE);
}

#define CW_THREADS 8
#define CW_REGION 24	/* pages each thread owns */
#define CW_SHARED 16	/* pages everybody writes records into */

struct cw_ctx {
	struct pc_mapping *m;
	atomic_bool stop;
	unsigned int iters;
};

struct cw_thread {
	struct cw_ctx *ctx;
	pthread_t th;
	uint32_t tid;
	unsigned char *mine;	/* what this thread's region must hold */
};

static void *cw_writer(void *arg)
{
	struct cw_thread *t = arg;
	struct pc_mapping *m = t->ctx->m;
	const size_t region = CW_REGION * PS;
	const off_t base = (off_t)(t->tid * region);
	const off_t shared = (off_t)(CW_THREADS * region);
	const uint64_t slots = CW_SHARED * PS / REC_SIZE;
	unsigned char *buf = malloc(region + REC_SIZE);
	struct t_rng r = { t_seed ^ (0x1000ULL * (t->tid + 1)) };
	unsigned int i;

	if (!buf) {
		t_thread_fail("malloc");
		return NULL;
	}
	for (i = 0; i < t->ctx->iters && !atomic_load(&t_failed); i++) {
		uint64_t k = t_below(&r, 100);
		ssize_t n;

		if (k < 70) {
			size_t off = t_below(&r, region);
			size_t len = 1 + t_below(&r, 3 * PS);

			if (off + len > region)
				len = region - off;
			t_rand_bytes(&r, t->mine + off, len);
			n = pc_write(m, t->mine + off, len,
				     base + (off_t)off, false);
			if (n != (ssize_t)len)
				t_thread_fail("writer %u: pc_write(%lld, %zu) = %zd",
					      t->tid,
					      (long long)(base + (off_t)off),
					      len, n);
		} else if (k < 95) {
			uint64_t slot = t_below(&r, slots);

			t_rec_fill(buf, t->tid, i + 1, slot);
			n = pc_write(m, buf, REC_SIZE,
				     shared + (off_t)(slot * REC_SIZE), false);
			if (n != REC_SIZE)
				t_thread_fail("writer %u: record pc_write = %zd",
					      t->tid, n);
		} else {
			long d;

			n = pc_read(m, buf, region, base);
			d = n == (ssize_t)region ?
				t_first_diff(buf, t->mine, region) : 0;
			if (d >= 0)
				t_thread_fail("writer %u: read back own region: n %zd, byte %lld is 0x%02x, wrote 0x%02x",
					      t->tid, n,
					      (long long)(base + d),
					      n == (ssize_t)region ? buf[d] : 0,
					      t->mine[d]);
		}
	}
	free(buf);
	return NULL;
}

/* Keeps reading the shared region: every record must always be whole. */
static void *cw_reader(void *arg)
{
	struct cw_ctx *ctx = arg;
	const size_t len = CW_SHARED * PS;
	const off_t shared = (off_t)(CW_THREADS * CW_REGION * PS);
	unsigned char *buf = malloc(len);
	uint64_t s;

	if (!buf) {
		t_thread_fail("malloc");
		return NULL;
	}
	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		ssize_t n = pc_read(ctx->m, buf, len, shared);

		if (n != (ssize_t)len) {
			t_thread_fail("reader: pc_read of the shared region = %zd",
				      n);
			break;
		}
		for (s = 0; s < len / REC_SIZE; s++)
			if (!t_rec_valid(buf + s * REC_SIZE, s)) {
				t_thread_fail("reader: record %" PRIu64
					      " (file offset %lld) torn or lost",
					      s, (long long)(shared +
					      (off_t)(s * REC_SIZE)));
				break;
			}
	}
	free(buf);
	return NULL;
}

/* Keeps calling fsync: each must succeed. */
static void *cw_syncer(void *arg)
{
	struct cw_ctx *ctx = arg;

	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		int ret = pc_write_and_wait(ctx->m, 0, -1, true);

		if (ret)
			t_thread_fail("syncer: pc_write_and_wait: %s",
				      strerror(-ret));
		t_sleep_us(3000);
	}
	return NULL;
}

/*
 * 8 writers on disjoint and overlapping ranges, a reader and an fsync
 * caller, with background write-back running all the time.
 * Variants: bit 0 = no_uring, bit 1 = a cache smaller than the file.
 */
START_TEST(test_concurrent_writers)
{
	const size_t region = CW_REGION * PS;
	const size_t size = CW_THREADS * region + CW_SHARED * PS;
	struct cw_thread th[CW_THREADS];
	unsigned char *expect = t_malloc(size), *buf = t_malloc(size);
	pthread_t reader, syncer;
	struct pc_config cfg;
	struct pc_cache *c;
	struct cw_ctx ctx;
	char path[PATH_MAX];
	struct pc_stats st;
	unsigned int i;
	uint64_t s;
	int fd;

	T_VARIANT();

	t_cfg(&cfg, _i & 2 ? 64 : 2048, _i & 1);
	cfg.dirty_bytes = 32 * PS;
	cfg.dirty_background_bytes = 8 * PS;
	cfg.dirty_expire_ms = 20;
	cfg.writeback_interval_ms = 10;
	cfg.max_write_pages = 8;
	c = t_cache_new(&cfg);

	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, size, 0, 101);
	for (s = 0; s < CW_SHARED * PS / REC_SIZE; s++)
		t_rec_fill(expect + CW_THREADS * region + s * REC_SIZE, 99, 0,
			   s);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	t_pwrite_full(fd, expect, size, 0);
	close(fd);

	memset(&ctx, 0, sizeof(ctx));
	ctx.m = t_map(c, path, O_RDWR);
	ctx.iters = t_n(600);
	for (i = 0; i < CW_THREADS; i++) {
		th[i].ctx = &ctx;
		th[i].tid = i;
		th[i].mine = expect + i * region;
		ck_assert_int_eq(pthread_create(&th[i].th, NULL, cw_writer,
						&th[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&reader, NULL, cw_reader, &ctx), 0);
	ck_assert_int_eq(pthread_create(&syncer, NULL, cw_syncer, &ctx), 0);
	for (i = 0; i < CW_THREADS; i++)
		pthread_join(th[i].th, NULL);
	atomic_store(&ctx.stop, true);
	pthread_join(reader, NULL);
	pthread_join(syncer, NULL);
	T_NO_THREAD_FAILURE();

	t_sync(ctx.m);
	/* the shared region: whatever won, the cache and the disk agree and
	 * every record is whole */
	ck_assert_int_eq(pc_read(ctx.m, buf, size, 0), (ssize_t)size);
	memcpy(expect + CW_THREADS * region, buf + CW_THREADS * region,
	       CW_SHARED * PS);
	for (s = 0; s < CW_SHARED * PS / REC_SIZE; s++)
		ck_assert_msg(t_rec_valid(expect + CW_THREADS * region +
					  s * REC_SIZE, s),
			      "record %" PRIu64 " torn", s);
	t_check_read(ctx.m, 0, size, expect, size, "after the writers");
	t_check_backing(path, expect, (off_t)size, "after the writers");
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeback_errors, 0);
	ck_assert_uint_le(st.cached_bytes, cfg.cache_size);
	pc_mapping_put(ctx.m);
	t_cache_destroy(c);
	free(buf);
	free(expect);
}
END_TEST

struct rd_ctx {
	struct pc_mapping *m;
	const char *path;
	atomic_uint_fast64_t done;	/* last value whose pc_write returned */
	atomic_bool finished;
	uint64_t n;
	unsigned int syncs;
};

#define RD_OFF(ps) ((off_t)(ps) / 2)
#define RD_LEN(ps) (2 * (ps))

static void *rd_writer(void *arg)
{
	struct rd_ctx *ctx = arg;
	const size_t len = RD_LEN(PS);
	uint64_t *buf = malloc(len), v;
	size_t i;

	if (!buf) {
		t_thread_fail("malloc");
		return NULL;
	}
	for (v = 1; v <= ctx->n && !atomic_load(&t_failed); v++) {
		ssize_t n;

		for (i = 0; i < len / 8; i++)
			buf[i] = v;
		n = pc_write(ctx->m, buf, len, RD_OFF(PS), false);
		if (n != (ssize_t)len) {
			t_thread_fail("writer: pc_write = %zd", n);
			break;
		}
		atomic_store(&ctx->done, v);
	}
	atomic_store(&ctx->finished, true);
	free(buf);
	return NULL;
}

/*
 * A writer keeps rewriting two pages (straddling three) with an increasing
 * counter while this thread calls pc_write_and_wait: every call must leave
 * at least the value whose write had returned before it began on disk, and
 * after the last one the disk holds the last value.
 */
START_TEST(test_redirty_during_writeback)
{
	const size_t len = RD_LEN(PS);
	uint64_t *disk = t_malloc(len), *mem = t_malloc(len);
	struct pc_config cfg;
	struct pc_cache *c;
	struct rd_ctx ctx;
	char path[PATH_MAX];
	pthread_t writer;
	struct pc_stats st;
	size_t i;
	int fd;

	T_VARIANT();

	t_cfg(&cfg, 1024, _i);
	cfg.dirty_expire_ms = 5;
	cfg.writeback_interval_ms = 5;
	cfg.dirty_background_bytes = PS;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	t_make_file(path, 4 * PS, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.m = t_map(c, path, O_RDWR);
	ctx.path = path;
	ctx.n = t_quick ? 2000 : 40000;
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pthread_create(&writer, NULL, rd_writer, &ctx), 0);
	while (!atomic_load(&ctx.finished) && !atomic_load(&t_failed)) {
		uint64_t before = atomic_load(&ctx.done), after;
		int ret = pc_write_and_wait(ctx.m, 0, -1, ctx.syncs & 1);

		if (ret) {
			t_thread_fail("pc_write_and_wait: %s", strerror(-ret));
			break;
		}
		ctx.syncs++;
		if (t_pread_full(fd, disk, len, RD_OFF(PS)) != (ssize_t)len) {
			t_thread_fail("short pread of the backing file");
			break;
		}
		/* background write-back may have written newer values since */
		after = atomic_load(&ctx.done);
		for (i = 0; i < len / 8; i++)
			if (disk[i] < before || disk[i] > after + 1) {
				t_thread_fail("sync %u: backing word %zu (offset %lld) holds %" PRIu64
					      ", but %" PRIu64 " was written before the sync began (and %" PRIu64 " at most after)",
					      ctx.syncs, i,
					      (long long)(RD_OFF(PS) +
							  (off_t)(i * 8)),
					      disk[i], before, after + 1);
				break;
			}
	}
	pthread_join(writer, NULL);
	T_NO_THREAD_FAILURE();
	ck_assert_uint_ge(ctx.syncs, 2);
	t_sync(ctx.m);
	ck_assert_int_eq(pc_read(ctx.m, mem, len, RD_OFF(PS)), (ssize_t)len);
	ck_assert_int_eq(t_pread_full(fd, disk, len, RD_OFF(PS)),
			 (ssize_t)len);
	for (i = 0; i < len / 8; i++) {
		ck_assert_msg(mem[i] == ctx.n, "cache word %zu: %" PRIu64
			      ", last written %" PRIu64, i, mem[i], ctx.n);
		ck_assert_msg(disk[i] == ctx.n, "backing word %zu: %" PRIu64
			      ", last written %" PRIu64 " (after %u syncs)",
			      i, disk[i], ctx.n, ctx.syncs);
	}
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeback_errors, 0);
	close(fd);
	pc_mapping_put(ctx.m);
	t_cache_destroy(c);
	free(mem);
	free(disk);
}
END_TEST

/*
 * An invalidation (outside-change check) racing with the write-back of our
 * own extending writes: the backing file is shorter than the logical size
 * only because our data is not written yet, so the size must stay.
 */
START_TEST(test_invalidate_vs_writeback)
{
	struct pc_config cfg;
	struct pc_cache *c;
	unsigned char *expect = t_malloc(64 * PS);
	struct t_rng r = { t_seed * 37 + (uint64_t)_i };
	char path[PATH_MAX];
	struct pc_mapping *m;
	unsigned int i;
	off_t size = 0;

	T_VARIANT();
	t_cfg(&cfg, 1024, _i);
	cfg.dirty_expire_ms = 1;
	cfg.writeback_interval_ms = 1;
	cfg.dirty_background_bytes = PS;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	for (i = 0; i < t_n(8000); i++) {
		size_t len = 1 + t_below(&r, 2 * PS);
		off_t now;

		if (size + (off_t)len > (off_t)(64 * PS)) {
			ck_assert_int_eq(pc_truncate(m, 0), 0);
			memset(expect, 0, 64 * PS);
			size = 0;
		}
		t_rand_bytes(&r, expect + size, len);
		t_write(m, expect + size, len, size, false);
		size += (off_t)len;
		if (t_below(&r, 2))
			pc_writeback_start(m);
		if (t_below(&r, 2))
			t_sleep_us(t_below(&r, 100));
		ck_assert_int_ge(pc_invalidate_range(m, 0, -1), 0);
		now = pc_size(m);
		ck_assert_msg(now == size,
			      "PC_SEED=%" PRIu64 " iteration %u: invalidation during write-back changed the size from %lld to %lld",
			      t_seed, i, (long long)size, (long long)now);
	}
	t_check_read(m, 0, (size_t)size + PS, expect, (size_t)size,
		     "after invalidations");
	t_sync(m);
	t_check_backing(path, expect, size, "after invalidations");
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/*
 * Truncation racing with background write-back, checked against a model:
 * dirty some pages, kick write-back, truncate while it is in flight, maybe
 * grow again.  The backing file is never longer than the logical size right
 * after a truncate, and truncated bytes never come back - neither in the
 * cache nor on disk, not even from a write that completes late.
 */
START_TEST(test_truncate_vs_writeback)
{
	struct t_model *md = t_malloc(sizeof(*md));
	unsigned int rounds = t_n(400), round, j;
	int ret;

	T_VARIANT();

	md->variant = _i ? "truncate-no_uring" : "truncate-uring";
	md->rng.s = t_seed * 7 + (uint64_t)_i;
	md->max = 64 * PS;
	md->data = t_malloc(md->max + PS);
	md->buf = t_malloc(md->max + 8 * PS);
	t_cfg(&md->cfg, 1024, _i);
	md->cfg.dirty_background_bytes = PS;
	md->cfg.dirty_expire_ms = 1;
	md->cfg.writeback_interval_ms = 1;
	md->cfg.max_write_pages = 4;
	md->c = t_cache_new(&md->cfg);
	t_path(md->path, sizeof(md->path), "trunc");
	md->m = t_map(md->c, md->path, O_RDWR);
	md->size = 0;

	for (round = 0; round < rounds; round++) {
		unsigned int nw = 1 + (unsigned int)t_below(&md->rng, 8);
		off_t s1, s2;

		md->step = round;
		for (j = 0; j < nw; j++) {
			size_t off = t_below(&md->rng, md->max - 2 * PS);
			size_t len = 1 + t_below(&md->rng, 2 * PS);

			t_rand_bytes(&md->rng, md->buf, len);
			m_log(md, "%u: write off %zu len %zu", round, off, len);
			if (pc_write(md->m, md->buf, len, (off_t)off, false) !=
			    (ssize_t)len)
				m_fail(md, "pc_write failed");
			memcpy(md->data + off, md->buf, len);
			if ((off_t)(off + len) > md->size)
				md->size = (off_t)(off + len);
		}
		if (t_below(&md->rng, 2))
			pc_writeback_start(md->m);
		t_sleep_us(t_below(&md->rng, 300));
		s1 = (off_t)t_below(&md->rng, (uint64_t)md->size + 1);
		m_log(md, "%u: truncate %lld -> %lld", round,
		      (long long)md->size, (long long)s1);
		ret = pc_truncate(md->m, s1);
		if (ret)
			m_fail(md, "pc_truncate: %s", strerror(-ret));
		memset(md->data + s1, 0, (size_t)(md->size - s1));
		md->size = s1;
		if (t_file_size(md->path) > s1)
			m_fail(md, "backing file %lld bytes right after truncate to %lld",
			       (long long)t_file_size(md->path),
			       (long long)s1);
		if (t_below(&md->rng, 2)) {
			s2 = s1 + (off_t)t_below(&md->rng, 16 * PS);
			if (s2 > (off_t)md->max)
				s2 = (off_t)md->max;
			m_log(md, "%u: truncate up to %lld", round,
			      (long long)s2);
			ret = pc_truncate(md->m, s2);
			if (ret)
				m_fail(md, "pc_truncate: %s", strerror(-ret));
			md->size = s2;
		}
		m_verify(md);
		if (t_below(&md->rng, 4) == 0) {
			t_sleep_us(2000);
			if (t_file_size(md->path) > md->size)
				m_fail(md, "backing file %lld bytes, logical size %lld: a late write-back extended it",
				       (long long)t_file_size(md->path),
				       (long long)md->size);
		}
		if (round % 10 == 9)
			m_op_sync(md, true);
	}
	m_op_sync(md, true);
	t_sleep_us(50000);
	m_verify_backing(md, 0, -1);
	pc_mapping_put(md->m);
	t_cache_destroy(md->c);
	m_verify_backing(md, 0, -1);
	free(md->buf);
	free(md->data);
	free(md);
}
END_TEST

#define TC_MAX_PAGES 48

struct tc_ctx {
	struct pc_mapping *m;
	atomic_bool stop;
};

struct tc_thread {
	struct tc_ctx *ctx;
	pthread_t th;
	uint64_t seed;
};

static void *tc_writer(void *arg)
{
	struct tc_thread *t = arg;
	struct tc_ctx *ctx = t->ctx;
	struct t_rng r = { t->seed };
	unsigned char *buf = malloc(2 * PS);

	if (!buf) {
		t_thread_fail("malloc");
		return NULL;
	}
	memset(buf, 0xa5, 2 * PS);
	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		size_t off = t_below(&r, (TC_MAX_PAGES - 2) * PS);
		size_t len = 1 + t_below(&r, 2 * PS);
		ssize_t n = pc_write(ctx->m, buf, len, (off_t)off, false);

		if (n != (ssize_t)len)
			t_thread_fail("writer: pc_write(%zu, %zu) = %zd", off,
				      len, n);
	}
	free(buf);
	return NULL;
}

static void *tc_truncater(void *arg)
{
	struct tc_thread *t = arg;
	struct tc_ctx *ctx = t->ctx;
	struct t_rng r = { t->seed };

	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		off_t size = (off_t)t_below(&r, TC_MAX_PAGES * PS);
		int ret = pc_truncate(ctx->m, size);

		if (ret)
			t_thread_fail("truncater: pc_truncate(%lld): %s",
				      (long long)size, strerror(-ret));
		t_sleep_us(t_below(&r, 1000));
	}
	return NULL;
}

static void *tc_reader(void *arg)
{
	struct tc_thread *t = arg;
	struct tc_ctx *ctx = t->ctx;
	struct t_rng r = { t->seed };
	unsigned char *buf = malloc(4 * PS);

	if (!buf) {
		t_thread_fail("malloc");
		return NULL;
	}
	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		size_t off = t_below(&r, TC_MAX_PAGES * PS);
		size_t len = 1 + t_below(&r, 4 * PS);
		ssize_t n = pc_read(ctx->m, buf, len, (off_t)off);
		ssize_t i;

		if (n < 0 || n > (ssize_t)len) {
			t_thread_fail("reader: pc_read(%zu, %zu) = %zd", off,
				      len, n);
			break;
		}
		/* only 0xa5 (written) and 0 (hole, truncated) exist */
		for (i = 0; i < n; i++)
			if (buf[i] != 0xa5 && buf[i] != 0) {
				t_thread_fail("reader: byte %lld is 0x%02x",
					      (long long)off + i, buf[i]);
				break;
			}
	}
	free(buf);
	return NULL;
}

static void *tc_syncer(void *arg)
{
	struct tc_thread *t = arg;
	struct tc_ctx *ctx = t->ctx;

	while (!atomic_load(&ctx->stop) && !atomic_load(&t_failed)) {
		int ret = pc_write_and_wait(ctx->m, 0, -1, false);

		if (ret)
			t_thread_fail("syncer: pc_write_and_wait: %s",
				      strerror(-ret));
		t_sleep_us(3000);
	}
	return NULL;
}

/*
 * Writers, a truncater, a reader and fsync callers at once; then a final
 * truncate while the write-back of everything they dirtied is in flight.
 */
START_TEST(test_truncate_chaos)
{
	static void *(*const fn[6])(void *) = {
		tc_writer, tc_writer, tc_writer, tc_truncater, tc_reader,
		tc_syncer,
	};
	unsigned int rounds = t_quick ? 2 : 6, round, i;
	struct tc_thread th[6];
	struct pc_config cfg;
	struct pc_cache *c;
	struct tc_ctx ctx;
	char path[PATH_MAX];
	unsigned char *buf = t_malloc((TC_MAX_PAGES + 8) * PS);
	struct t_rng r = { t_seed * 13 + (uint64_t)_i };
	int fd;

	T_VARIANT();

	t_cfg(&cfg, 1024, _i);
	cfg.dirty_background_bytes = 2 * PS;
	cfg.dirty_expire_ms = 2;
	cfg.writeback_interval_ms = 2;
	cfg.max_write_pages = 4;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	memset(&ctx, 0, sizeof(ctx));
	ctx.m = t_map(c, path, O_RDWR);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (round = 0; round < rounds; round++) {
		off_t sf = (off_t)t_below(&r, TC_MAX_PAGES * PS), grow;
		struct stat st;
		long d;

		atomic_store(&ctx.stop, false);
		for (i = 0; i < 6; i++) {
			th[i].ctx = &ctx;
			th[i].seed = t_seed * 31 + round * 10 + i;
			ck_assert_int_eq(pthread_create(&th[i].th, NULL, fn[i],
							&th[i]), 0);
		}
		t_sleep_us(300000);
		atomic_store(&ctx.stop, true);
		for (i = 0; i < 6; i++)
			pthread_join(th[i].th, NULL);
		T_NO_THREAD_FAILURE();

		/* the final truncate races with the write-back of all that */
		pc_writeback_start(ctx.m);
		ck_assert_int_eq(pc_truncate(ctx.m, sf), 0);
		grow = sf + 4 * (off_t)PS + 13;
		ck_assert_int_eq(pc_truncate(ctx.m, grow), 0);
		ck_assert_int_eq(pc_read(ctx.m, buf, (size_t)(grow - sf) + PS,
					 sf),
				 grow - sf);
		d = t_first_nonzero(buf, (size_t)(grow - sf));
		ck_assert_msg(d < 0, "round %u: cache byte %lld past the truncation to %lld is 0x%02x",
			      round, (long long)(sf + d), (long long)sf,
			      d >= 0 ? buf[d] : 0);
		t_sync(ctx.m);
		t_sleep_us(20000);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_msg(st.st_size == grow,
			      "round %u: backing file %lld bytes, expected %lld",
			      round, (long long)st.st_size, (long long)grow);
		memset(buf, 0, (size_t)grow);
		ck_assert_int_eq(t_pread_full(fd, buf, (size_t)grow, 0),
				 grow);
		d = t_first_nonzero(buf + sf, (size_t)(grow - sf));
		ck_assert_msg(d < 0, "round %u: backing byte %lld past the truncation to %lld is 0x%02x",
			      round, (long long)(sf + d), (long long)sf,
			      d >= 0 ? buf[sf + d] : 0);
		t_check_read(ctx.m, 0, (size_t)grow, buf, (size_t)grow,
			     "cache and backing agree");
	}
	close(fd);
	pc_mapping_put(ctx.m);
	t_cache_destroy(c);
	free(buf);
}
END_TEST

/* ---- Eviction and the memory bound --------------------------------------- */

struct ev_sampler {
	struct pc_cache *c;
	pthread_t th;
	atomic_bool stop;
	uint64_t limit;		/* cached_bytes never above */
	uint64_t dirty_limit;	/* dirty_bytes never above (0: no check) */
	uint64_t max_cached, max_dirty, samples;
};

static void *ev_sample(void *arg)
{
	struct ev_sampler *s = arg;
	struct pc_stats st;

	while (!atomic_load(&s->stop)) {
		pc_stats_read(s->c, &st);
		s->samples++;
		if (st.cached_bytes > s->max_cached)
			s->max_cached = st.cached_bytes;
		if (st.dirty_bytes > s->max_dirty)
			s->max_dirty = st.dirty_bytes;
		if (st.cached_bytes > s->limit)
			t_thread_fail("cached_bytes %" PRIu64
				      " above cache_size %" PRIu64,
				      st.cached_bytes, s->limit);
		if (s->dirty_limit && st.dirty_bytes > s->dirty_limit)
			t_thread_fail("dirty_bytes %" PRIu64 " above %" PRIu64,
				      st.dirty_bytes, s->dirty_limit);
		t_sleep_us(50);
	}
	return NULL;
}

static void ev_start(struct ev_sampler *s, struct pc_cache *c, uint64_t limit,
		     uint64_t dirty_limit)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->limit = limit;
	s->dirty_limit = dirty_limit;
	ck_assert_int_eq(pthread_create(&s->th, NULL, ev_sample, s), 0);
}

static void ev_stop(struct ev_sampler *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
}

/* A 32-page cache over a 512-page file: written, read in order and at
 * random, rewritten; never more than 32 pages of data. */
START_TEST(test_eviction_bound)
{
	const size_t cpages = 32, fpages = t_quick ? 128 : 512;
	const size_t size = fpages * PS;
	unsigned char *expect = t_malloc(size), *buf = t_malloc(8 * PS);
	struct t_rng r = { t_seed * 17 + (uint64_t)_i };
	struct ev_sampler smp;
	struct pc_config cfg;
	struct pc_cache *c;
	struct pc_mapping *m;
	char path[PATH_MAX];
	struct pc_stats st;
	size_t off, len;
	unsigned int i;

	T_VARIANT();

	t_cfg(&cfg, cpages, _i);
	cfg.dirty_bytes = 16 * PS;
	cfg.dirty_background_bytes = 8 * PS;
	cfg.dirty_expire_ms = 50;
	cfg.writeback_interval_ms = 10;
	cfg.max_write_pages = 8;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	ev_start(&smp, c, cfg.cache_size, 0);

	t_pat_fill(expect, size, 0, 111);
	for (off = 0; off < size; off += len) {
		len = 1 + t_below(&r, 5 * PS);
		if (off + len > size)
			len = size - off;
		t_write(m, expect + off, len, (off_t)off, false);
	}
	for (off = 0; off < size; off += len) {
		len = 3 * PS;
		t_check_read(m, (off_t)off, len, expect + off,
			     off + len > size ? size - off : len,
			     "sequential read");
	}
	for (i = 0; i < t_n(2000); i++) {
		off = t_below(&r, size);
		len = 1 + t_below(&r, 4 * PS);
		t_check_read(m, (off_t)off, len, expect + off,
			     off + len > size ? size - off : len,
			     "random read");
	}
	for (i = 0; i < t_n(500); i++) {
		off = t_below(&r, size - 2 * PS);
		len = 1 + t_below(&r, 2 * PS);
		t_rand_bytes(&r, expect + off, len);
		t_write(m, expect + off, len, (off_t)off, false);
	}
	t_check_read(m, 0, size, expect, size, "whole file in one read");
	t_sync(m);
	ev_stop(&smp);
	T_NO_THREAD_FAILURE();
	t_check_backing(path, expect, (off_t)size, "after eviction run");
	pc_stats_read(c, &st);
	ck_assert_msg(st.evictions > 0, "no eviction");
	ck_assert_uint_le(st.cached_bytes, cfg.cache_size);
	ck_assert_uint_le(smp.max_cached, cfg.cache_size);
	ck_assert_uint_gt(smp.samples, 10);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(buf);
	free(expect);
}
END_TEST

/* Twelve files share a 32-page cache. */
START_TEST(test_eviction_many_mappings)
{
	enum { NF = 12, FP = 8 };
	struct pc_mapping *m[NF];
	char path[NF][PATH_MAX], name[16];
	unsigned char *expect[NF];
	struct ev_sampler smp;
	struct pc_cache *c = t_cache(32, _i);
	struct pc_stats st;
	int f, round;

	T_VARIANT();

	ev_start(&smp, c, 32 * PS, 0);
	for (f = 0; f < NF; f++) {
		snprintf(name, sizeof(name), "f%d", f);
		t_path(path[f], sizeof(path[f]), name);
		t_make_file(path[f], FP * PS, 200 + (uint64_t)f);
		expect[f] = t_malloc(FP * PS);
		t_pat_fill(expect[f], FP * PS, 0, 200 + (uint64_t)f);
		m[f] = t_map(c, path[f], O_RDWR);
	}
	for (round = 0; round < 3; round++) {
		for (f = 0; f < NF; f++)
			t_check_read(m[f], 0, FP * PS + 1, expect[f], FP * PS,
				     "many mappings");
		for (f = 0; f < NF; f++) {
			size_t off = (size_t)(f * 97 + round * 1000) %
				     ((FP - 1) * PS);

			memset(expect[f] + off, 0x40 + round, PS);
			t_write(m[f], expect[f] + off, PS, (off_t)off, false);
		}
		for (f = 0; f < NF; f++)
			t_sync(m[f]);
	}
	ev_stop(&smp);
	T_NO_THREAD_FAILURE();
	for (f = 0; f < NF; f++) {
		t_check_backing(path[f], expect[f], FP * PS, "many mappings");
		pc_mapping_put(m[f]);
		free(expect[f]);
	}
	pc_stats_read(c, &st);
	ck_assert_uint_gt(st.evictions, 0);
	t_cache_destroy(c);
}
END_TEST

/* ---- Throttling ---------------------------------------------------------- */

/*
 * dirty_bytes of 8 pages and a long expiry: a writer of 512 pages must wait
 * for write-back (throttle_waits) and finish, never failing, never holding
 * much more than dirty_bytes dirty.
 */
START_TEST(test_throttle)
{
	const size_t pages = t_quick ? 128 : 512, size = pages * PS;
	unsigned char *expect = t_malloc(size);
	struct t_rng r = { t_seed * 19 + (uint64_t)_i };
	struct ev_sampler smp;
	struct pc_config cfg;
	struct pc_cache *c;
	struct pc_mapping *m;
	char path[PATH_MAX];
	struct pc_stats st;
	size_t off, len;

	T_VARIANT();

	t_cfg(&cfg, 1024, _i);
	cfg.dirty_bytes = 8 * PS;
	cfg.dirty_background_bytes = 4 * PS;
	cfg.dirty_expire_ms = 600000;
	cfg.writeback_interval_ms = 50;
	cfg.max_write_pages = 4;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	/* one write touches at most two pages */
	ev_start(&smp, c, cfg.cache_size, cfg.dirty_bytes + 2 * PS);
	t_pat_fill(expect, size, 0, 121);
	/* Every write-back write completes 20 ms late, so the writer must
	 * outrun write-back and wait (without it, whether it ever waits
	 * depends on the machine: write-back of a lone small run is a plain
	 * pwritev, often as fast as the writer). */
	pc_fault_set(c, PC_FAULT_WRITE, PC_FAULT_DELAY, UINT_MAX);
	for (off = 0; off < size; off += len) {
		len = t_below(&r, 2) ? PS : 1 + t_below(&r, PS);
		if (off + len > size)
			len = size - off;
		t_write(m, expect + off, len, (off_t)off, false);
	}
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	ev_stop(&smp);
	T_NO_THREAD_FAILURE();
	pc_stats_read(c, &st);
	ck_assert_msg(st.throttle_waits > 0,
		      "%zu pages written with dirty_bytes of 8 pages, no throttle wait",
		      pages);
	ck_assert_uint_gt(st.throttle_wait_ns, 0);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "after throttled writes");
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/* ---- Write-back errors --------------------------------------------------- */

static void t_fsize_limit(rlim_t bytes)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	if (rl.rlim_max != RLIM_INFINITY && bytes > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * A real write-back error without root: RLIMIT_FSIZE makes the backing
 * file refuse bytes past a limit (EFBIG), the first write-back of the page
 * across it is short.  errseq reports the error once to each opener
 * sampled before it, and to one sampled after it while nobody has seen it;
 * the data stays dirty; new dirtying writes fail; a retry after the limit
 * is lifted writes everything.
 */
START_TEST(test_errseq_real_error)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t limit = 4 * PS + 100, size = 6 * PS;
	unsigned char *expect = t_malloc(size);
	pc_errseq_t sa, sb, sc, sd;
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st;
	unsigned char b = 0x11;
	int ret;

	T_VARIANT();

	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, size, 0, 131);
	m = t_map(c, path, O_RDWR);
	t_write(m, expect, 4 * PS, 0, false);
	t_sync(m);
	sa = pc_errseq_sample(m);
	sb = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), 0);

	t_fsize_limit(limit);
	t_write(m, expect + 4 * PS, 2 * PS, (off_t)(4 * PS), false);
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_msg(ret == -EFBIG, "write_and_wait past RLIMIT_FSIZE: %d (%s)",
		      ret, strerror(-ret));
	ck_assert_msg(pc_mapping_dirty_bytes(m) > 0,
		      "failed pages are no longer dirty");
	ck_assert(pc_has_dirty_range(m, (off_t)(5 * PS), (off_t)(6 * PS)));
	pc_stats_read(c, &st);
	ck_assert_uint_gt(st.writeback_errors, 0);

	/* nobody has seen it: a new opener gets it */
	sc = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), 0);
	/* once to each earlier opener */
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), 0);
	/* seen by now: a later opener does not get it */
	sd = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sd), 0);

	/* while failing: dirtying a clean page fails, a dirty one is fine */
	ck_assert_int_eq(pc_write(m, &b, 1, 10, false), -EFBIG);
	ck_assert_int_eq(pc_write(m, &b, 1, (off_t)(5 * PS + 10), false), 1);
	expect[5 * PS + 10] = b;
	/* and the data is still what was written */
	t_check_read(m, 0, size, expect, size, "cache while failing");

	/* a second failure is a new error for everybody */
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_int_eq(ret, -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sd), -EFBIG);

	/* the fault goes away: the retry writes every byte */
	t_fsize_limit(RLIM_INFINITY);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "retry after the error");
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sd), 0);
	/* sc and sb have not seen the second error yet */
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), -EFBIG);
	/* and clean pages can be dirtied again */
	t_write(m, &b, 1, 10, false);
	expect[10] = b;
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "write after recovery");
	sd = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sd), 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/* A background write-back error reaches errseq without any fsync, and the
 * pages are retried in the background once the fault is gone. */
START_TEST(test_background_error)
{
	struct pc_config cfg;
	struct pc_cache *c;
	const size_t size = 3 * PS;
	unsigned char *expect = t_malloc(size);
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st;
	pc_errseq_t s0, s1;
	uint64_t end;

	T_VARIANT();

	t_cfg(&cfg, 1024, _i);
	cfg.dirty_expire_ms = 20;
	cfg.writeback_interval_ms = 10;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, size, 0, 141);
	m = t_map(c, path, O_RDWR);
	s0 = pc_errseq_sample(m);
	t_fsize_limit(PS);
	t_write(m, expect, size, 0, false);
	end = t_now_ns() + 5000000000ULL;
	do {
		t_sleep_us(5000);
		pc_stats_read(c, &st);
	} while (!st.writeback_errors && t_now_ns() < end);
	ck_assert_msg(st.writeback_errors > 0,
		      "no background write-back error within 5 s");
	ck_assert_uint_gt(pc_mapping_dirty_bytes(m), 0);
	/* lift the fault first, so no new error can follow the checks */
	t_fsize_limit(RLIM_INFINITY);
	s1 = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s1), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s1), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), -EFBIG);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), 0);
	ck_assert_msg(t_wait_backing(path, expect, size, 15000),
		      "failed pages not retried by background write-back within 15 s");
	t_sync(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/* ---- Fault injection ----------------------------------------------------- */

static const int t_wb_errors[] = { EIO, ENOSPC, EDQUOT };

/*
 * A write-back write error (EIO, ENOSPC, EDQUOT; loop index / 2) reaches
 * pc_write_and_wait and errseq once per opener, keeps the data dirty, makes
 * dirtying a clean page fail, and a retry once the fault clears writes
 * every byte.
 */
START_TEST(test_fault_write_error)
{
	const int err = t_wb_errors[_i / 2];
	struct pc_cache *c = t_cache(1024, _i & 1);
	const size_t size = 4 * PS + 300;
	unsigned char *expect = t_malloc(size);
	pc_errseq_t sa, sb, sc;
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st;
	unsigned char b = 0x42;
	int ret;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, 4 * PS, 151);
	t_pat_fill(expect, 4 * PS, 0, 151);
	m = t_map(c, path, O_RDWR);
	sa = pc_errseq_sample(m);
	sb = pc_errseq_sample(m);
	pc_fault_set(c, PC_FAULT_WRITE, err, UINT_MAX);
	t_pat_fill(expect + PS, size - PS, PS, 152);
	t_write(m, expect + PS, size - PS, (off_t)PS, false);
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_msg(ret == -err, "write_and_wait with %s injected: %d",
		      strerror(err), ret);
	ck_assert_msg(pc_mapping_dirty_bytes(m) > 0,
		      "data no longer dirty after a failed write-back");
	ck_assert(pc_has_dirty_range(m, (off_t)PS, (off_t)(2 * PS)));
	ck_assert(pc_has_dirty_range(m, (off_t)(4 * PS), (off_t)size));
	pc_stats_read(c, &st);
	ck_assert_uint_gt(st.writeback_errors, 0);

	sc = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), 0);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sb), 0);

	ck_assert_int_eq(pc_write(m, &b, 1, 7, false), -err);
	ck_assert_int_eq(pc_write(m, &b, 1, (off_t)PS + 7, false), 1);
	expect[PS + 7] = b;
	t_check_read(m, 0, size + PS, expect, size, "while failing");
	ck_assert_int_eq(pc_write_and_wait(m, 0, -1, false), -err);

	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "retry after the fault");
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	/* the second failure was a new error for sa, then nothing more */
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sa), 0);
	sc = pc_errseq_sample(m);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &sc), 0);
	t_write(m, &b, 1, 7, false);
	expect[7] = b;
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "write after recovery");
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/*
 * Pages of the backing file @path resident in the kernel's page cache.
 * The mapping mincore() needs is PROT_NONE: Valgrind reads the first pages
 * of every file mapped readable (looking for debug information), which put
 * 4 pages into the page cache and failed test_drop_backing_cache under it.
 */
static size_t t_resident_pages(const char *path, size_t len)
{
	size_t n = (len + PS - 1) / PS, res = 0;
	unsigned char *vec = t_malloc(n);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	p = mmap(NULL, len, PROT_NONE, MAP_SHARED, fd, 0);
	ck_assert_msg(p != MAP_FAILED, "mmap: %s", strerror(errno));
	ck_assert_msg(mincore(p, len, vec) == 0, "mincore: %s",
		      strerror(errno));
	for (size_t i = 0; i < n; i++)
		res += vec[i] & 1;
	munmap(p, len);
	close(fd);
	free(vec);
	return res;
}

/*
 * drop_backing_cache: after a commit the backing file's pages leave the
 * backing filesystem's page cache (our cache still serves them); without
 * it they stay.  Skipped where the backing filesystem cannot drop them
 * (tmpfs: its page cache is the file).
 */
START_TEST(test_drop_backing_cache)
{
	const size_t size = 256 * PS;
	unsigned char *data = t_malloc(size), *got = t_malloc(size);
	char path[PATH_MAX];
	struct pc_config cfg;
	struct pc_mapping *m;
	struct pc_cache *c;
	struct statfs sf;

	T_VARIANT();
	ck_assert_int_eq(statfs(t_dir, &sf), 0);
	if (sf.f_type == TMPFS_MAGIC)
		goto out;
	for (int drop = 0; drop < 2; drop++) {
		t_cfg(&cfg, 1024, _i);
		cfg.drop_backing_cache = drop;
		c = t_cache_new(&cfg);
		t_path(path, sizeof(path), drop ? "drop" : "keep");
		t_pat_fill(data, size, 0, 40 + drop);
		m = t_map(c, path, O_RDWR | O_TRUNC);
		t_write(m, data, size, 0, false);
		t_sync(m);
		if (drop)
			ck_assert_msg(t_resident_pages(path, size) == 0,
				      "drop_backing_cache: %zu of 256 pages "
				      "still in the backing page cache",
				      t_resident_pages(path, size));
		else
			ck_assert_msg(t_resident_pages(path, size) == 256,
				      "without drop_backing_cache only %zu of "
				      "256 written pages are in the backing "
				      "page cache", t_resident_pages(path, size));
		/* our cache still has every byte */
		ck_assert_int_eq(pc_read(m, got, size, 0), (ssize_t)size);
		ck_assert_msg(!memcmp(got, data, size), "data differs");
		t_check_backing(path, data, (off_t)size, "after the commit");
		pc_mapping_put(m);
		t_cache_destroy(c);
	}
out:
	free(data);
	free(got);
}
END_TEST

/*
 * Short writes, EAGAIN, EINTR and late completions are retried or waited
 * for transparently: no error anywhere, every byte on disk.
 */
START_TEST(test_fault_transient)
{
	static const struct {
		enum pc_fault_op op;
		int err;
		const char *name;
	} faults[] = {
		{ PC_FAULT_WRITE, PC_FAULT_SHORT, "short write" },
		{ PC_FAULT_WRITE, EAGAIN, "write EAGAIN" },
		{ PC_FAULT_WRITE, EINTR, "write EINTR" },
		{ PC_FAULT_WRITE, PC_FAULT_DELAY, "write delay" },
		{ PC_FAULT_FSYNC, EINTR, "fsync EINTR" },
		{ PC_FAULT_READ, EAGAIN, "read EAGAIN" },
		{ PC_FAULT_READ, EINTR, "read EINTR" },
		{ PC_FAULT_READ, PC_FAULT_SHORT, "short read" },
		{ PC_FAULT_READ, PC_FAULT_DELAY, "read delay" },
	};
	struct pc_cache *c = t_cache(1024, _i);
	/* more than PC_IO_DIRECT_MAX (64 KiB): the requests go to the ring
	 * in the io_uring variant, where resubmission is tested */
	const size_t size = 20 * PS + 5;
	unsigned char *expect = t_malloc(size);
	char path[PATH_MAX];
	struct pc_mapping *m;
	struct pc_stats st;
	pc_errseq_t s0;
	size_t f;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	for (f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		t_make_file(path, size, 160 + f);
		t_pat_fill(expect, size, 0, 160 + f);
		m = t_map(c, path, O_RDWR);
		s0 = pc_errseq_sample(m);
		pc_fault_set(c, faults[f].op, faults[f].err, 6);
		if (faults[f].op == PC_FAULT_READ) {
			t_check_read(m, 0, size, expect, size, faults[f].name);
		} else {
			t_pat_fill(expect + 3, size - 3, 3, 170 + f);
			t_write(m, expect + 3, size - 3, 3, false);
			t_check_read(m, 0, size, expect, size, faults[f].name);
			t_sync(m);
			t_check_backing(path, expect, (off_t)size,
					faults[f].name);
		}
		ck_assert_msg(pc_errseq_check_and_advance(m, &s0) == 0,
			      "%s reached errseq", faults[f].name);
		pc_fault_set(c, faults[f].op, 0, 0);
		pc_mapping_put(m);
	}
	pc_stats_read(c, &st);
	ck_assert_uint_eq(st.writeback_errors, 0);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/*
 * A failed fdatasync: the error is reported, the pages that reached the
 * backing file are written again (their data is not known to be durable),
 * and a retry after the fault clears succeeds.
 */
START_TEST(test_fault_fsync)
{
	const int err = _i & 2 ? ENOSPC : EIO;
	struct pc_cache *c = t_cache(1024, _i & 1);
	const size_t size = 5 * PS;
	unsigned char *expect = t_malloc(size);
	struct pc_stats st0, st;
	char path[PATH_MAX];
	struct pc_mapping *m;
	pc_errseq_t s0;
	int ret;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_pat_fill(expect, size, 0, 181);
	m = t_map(c, path, O_RDWR);
	s0 = pc_errseq_sample(m);
	pc_fault_set(c, PC_FAULT_FSYNC, err, UINT_MAX);
	t_write(m, expect, size, 0, false);
	ret = pc_write_and_wait(m, 0, -1, true);
	ck_assert_msg(ret == -err, "write_and_wait with fsync failing: %d",
		      ret);
	ck_assert_msg(pc_mapping_dirty_bytes(m) > 0,
		      "data counted clean although its commit failed");
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), 0);
	ret = pc_write_and_wait(m, 0, -1, false);
	ck_assert_int_eq(ret, -err);
	pc_fault_set(c, PC_FAULT_FSYNC, 0, 0);
	pc_stats_read(c, &st0);
	t_sync(m);
	pc_stats_read(c, &st);
	ck_assert_msg(st.bytes_written - st0.bytes_written >= size,
		      "after a failed commit the retry wrote only %" PRIu64
		      " bytes of %zu", st.bytes_written - st0.bytes_written,
		      size);
	ck_assert_uint_eq(pc_mapping_dirty_bytes(m), 0);
	t_check_backing(path, expect, (off_t)size, "after fsync failures");
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), -err);
	ck_assert_int_eq(pc_errseq_check_and_advance(m, &s0), 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/* A failing fill is an error for the reader and for a partial-page
 * writer, never zeros or a short read; nothing is cached from it. */
START_TEST(test_fault_read_error)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 4 * PS;
	unsigned char *expect = t_malloc(size), *buf = t_malloc(size);
	char path[PATH_MAX];
	struct pc_mapping *m;
	unsigned char b = 9;
	ssize_t n;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 191);
	t_pat_fill(expect, size, 0, 191);
	m = t_map(c, path, O_RDWR);
	t_check_read(m, 0, PS, expect, PS, "before the fault");
	/* keep page 0 only (read-ahead brought the others in) */
	ck_assert_int_ge(pc_invalidate_range(m, (off_t)PS, -1), 0);
	pc_fault_set(c, PC_FAULT_READ, EIO, UINT_MAX);
	n = pc_read(m, buf, PS, (off_t)(2 * PS));
	ck_assert_msg(n == -EIO, "pc_read of an unreadable page: %zd", n);
	n = pc_write(m, &b, 1, (off_t)(3 * PS + 1), false);
	ck_assert_msg(n == -EIO, "partial write of an unreadable page: %zd", n);
	ck_assert_int_eq(pc_size(m), (off_t)size);
	/* what is cached still reads */
	t_check_read(m, 0, PS, expect, PS, "cached page while reads fail");
	pc_fault_set(c, PC_FAULT_READ, 0, 0);
	t_check_read(m, 0, size, expect, size, "after the read fault");
	t_sync(m);
	t_check_backing(path, expect, (off_t)size, "after the read fault");
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(buf);
	free(expect);
}
END_TEST

struct tf_ctx {
	struct pc_mapping *m;
	atomic_bool finished;
	ssize_t err;
	size_t written;
};

static void *tf_writer(void *arg)
{
	struct tf_ctx *ctx = arg;
	unsigned char *page = malloc(PS);
	size_t i;

	if (!page) {
		t_thread_fail("malloc");
		atomic_store(&ctx->finished, true);
		return NULL;
	}
	for (i = 0; i < 512; i++) {
		ssize_t n;

		t_pat_fill(page, PS, i * PS, 201);
		n = pc_write(ctx->m, page, PS, (off_t)(i * PS), false);
		if (n != (ssize_t)PS) {
			ctx->err = n;
			break;
		}
		ctx->written = i + 1;
	}
	free(page);
	atomic_store(&ctx->finished, true);
	return NULL;
}

/*
 * Write-back failing for good with a small dirty budget: a writer must get
 * the error instead of waiting forever, and what it wrote before is written
 * once the fault clears.
 */
START_TEST(test_fault_throttle_failing)
{
	struct pc_config cfg;
	struct pc_cache *c;
	struct tf_ctx ctx;
	char path[PATH_MAX];
	pthread_t th;
	unsigned char *expect;
	uint64_t end;

	T_VARIANT();
	t_cfg(&cfg, 1024, _i);
	cfg.dirty_bytes = 8 * PS;
	cfg.dirty_background_bytes = 4 * PS;
	cfg.dirty_expire_ms = 20;
	cfg.writeback_interval_ms = 10;
	c = t_cache_new(&cfg);
	t_path(path, sizeof(path), "f");
	memset(&ctx, 0, sizeof(ctx));
	ctx.m = t_map(c, path, O_RDWR);
	pc_fault_set(c, PC_FAULT_WRITE, EIO, UINT_MAX);
	ck_assert_int_eq(pthread_create(&th, NULL, tf_writer, &ctx), 0);
	end = t_now_ns() + 30000000000ULL;
	while (!atomic_load(&ctx.finished) && t_now_ns() < end)
		t_sleep_us(10000);
	ck_assert_msg(atomic_load(&ctx.finished),
		      "writer still blocked 30 s after write-back began failing (%zu pages written)",
		      ctx.written);
	pthread_join(th, NULL);
	T_NO_THREAD_FAILURE();
	ck_assert_msg(ctx.err == -EIO,
		      "writer ended with %zd after %zu pages, expected -EIO",
		      ctx.err, ctx.written);
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	t_sync(ctx.m);
	expect = t_malloc(ctx.written * PS);
	t_pat_fill(expect, ctx.written * PS, 0, 201);
	t_check_backing(path, expect, (off_t)(ctx.written * PS),
			"pages written before the error");
	pc_mapping_put(ctx.m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/*
 * Re-dirtied while its write is in flight (delayed 20 ms by the fault): the
 * page stays dirty and the next write-back writes the newer bytes.
 */
START_TEST(test_fault_redirty_in_flight)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t size = 3 * PS;
	unsigned char *expect = t_malloc(size);
	struct t_rng r = { t_seed * 29 + (uint64_t)_i };
	char path[PATH_MAX];
	struct pc_mapping *m;
	unsigned int round;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	t_make_file(path, size, 211);
	t_pat_fill(expect, size, 0, 211);
	m = t_map(c, path, O_RDWR);
	pc_fault_set(c, PC_FAULT_WRITE, PC_FAULT_DELAY, UINT_MAX);
	for (round = 0; round < t_n(16); round++) {
		size_t off = t_below(&r, size - 200);
		size_t len = 1 + t_below(&r, 200);

		t_rand_bytes(&r, expect, size);
		t_write(m, expect, size, 0, false);
		pc_writeback_start(m);
		t_sleep_us(5000);
		/* the write-back of the whole file is in flight now */
		t_rand_bytes(&r, expect + off, len);
		t_write(m, expect + off, len, (off_t)off, false);
		ck_assert_msg(pc_has_dirty_range(m, (off_t)off,
						 (off_t)(off + len)),
			      "round %u: page re-dirtied during write-back is not dirty",
			      round);
		t_sync(m);
		t_check_backing(path, expect, (off_t)size,
				"re-dirtied during write-back");
	}
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(expect);
}
END_TEST

/*
 * Truncation while delayed writes are in flight: the backing file is never
 * longer than the new size after pc_truncate returns, even once the
 * delayed writes complete, and the cut bytes never come back.
 */
START_TEST(test_fault_truncate_delayed_write)
{
	struct pc_cache *c = t_cache(1024, _i);
	const size_t max = 32 * PS;
	unsigned char *expect = t_malloc(max), *buf = t_malloc(max);
	struct t_rng r = { t_seed * 23 + (uint64_t)_i };
	unsigned int round;
	char path[PATH_MAX];
	struct pc_mapping *m;
	off_t size = 0;

	T_VARIANT();
	t_path(path, sizeof(path), "f");
	m = t_map(c, path, O_RDWR);
	pc_fault_set(c, PC_FAULT_WRITE, PC_FAULT_DELAY, UINT_MAX);
	for (round = 0; round < t_n(24); round++) {
		size_t off = t_below(&r, max / 2);
		size_t len = PS + t_below(&r, 8 * PS);
		off_t cut;

		t_rand_bytes(&r, expect + off, len);
		t_write(m, expect + off, len, (off_t)off, false);
		if ((off_t)(off + len) > size)
			size = (off_t)(off + len);
		pc_writeback_start(m);
		t_sleep_us(5000);
		cut = (off_t)t_below(&r, (uint64_t)size);
		ck_assert_int_eq(pc_truncate(m, cut), 0);
		ck_assert_msg(t_file_size(path) <= cut,
			      "round %u: backing %lld bytes right after truncate to %lld",
			      round, (long long)t_file_size(path),
			      (long long)cut);
		memset(expect + cut, 0, (size_t)(size - cut));
		size = cut;
		t_sleep_us(50000);
		ck_assert_msg(t_file_size(path) <= cut,
			      "round %u: a delayed write re-extended the backing file to %lld past %lld",
			      round, (long long)t_file_size(path),
			      (long long)cut);
		ck_assert_int_eq(pc_read(m, buf, PS, cut), 0);
		ck_assert_int_eq(pc_truncate(m, size + (off_t)PS), 0);
		size += (off_t)PS;
		t_check_read(m, 0, max, expect, (size_t)size, "after the cut");
	}
	t_sync(m);
	t_check_backing(path, expect, size, "delayed writes and truncation");
	pc_fault_set(c, PC_FAULT_WRITE, 0, 0);
	pc_mapping_put(m);
	t_cache_destroy(c);
	free(buf);
	free(expect);
}
END_TEST

/* ---- The suite ----------------------------------------------------------- */

static Suite *make_pagecache_suite(void)
{
	Suite *s = suite_create("pagecache");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_config_default);
	tcase_add_test(tc, test_config_check_rejects);
	tcase_add_test(tc, test_page_size);
	tcase_add_loop_test(tc, test_create_destroy, 0, 2);
	suite_add_tcase(s, tc);

	/* loop index: 0 = io_uring, 1 = preadv/pwritev */
	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_read_never_short, 0, 2);
	tcase_add_loop_test(tc, test_zeros_past_backing_end, 0, 2);
	tcase_add_loop_test(tc, test_write_far_past_eof, 0, 2);
	tcase_add_loop_test(tc, test_truncate_shrink_grow, 0, 2);
	tcase_add_loop_test(tc, test_partial_tail_zero, 0, 2);
	tcase_add_loop_test(tc, test_limit_to_size, 0, 2);
	tcase_add_loop_test(tc, test_dirty_bytes, 0, 2);
	tcase_add_loop_test(tc, test_ghost_base, 0, 2);
	tcase_add_loop_test(tc, test_changed_exact, 0, 2);
	tcase_add_loop_test(tc, test_dirty_accounting, 0, 2);
	tcase_add_loop_test(tc, test_mtime, 0, 2);
	tcase_add_loop_test(tc, test_invalidate, 0, 2);
	tcase_add_loop_test(tc, test_set_fd, 0, 2);
	tcase_add_loop_test(tc, test_reopen_by_handle, 0, 2);
	tcase_add_loop_test(tc, test_lend_fd, 0, 2);
	tcase_add_loop_test(tc, test_put_dirty_then_destroy, 0, 2);
	tcase_add_loop_test(tc, test_writeback_start, 0, 2);
	tcase_add_loop_test(tc, test_expire, 0, 2);
	tcase_add_loop_test(tc, test_many_dirty_mappings, 0, 2);
	tcase_add_loop_test(tc, test_coalesce, 0, 2);
	tcase_add_loop_test(tc, test_data_layout, 0, 2);
	tcase_add_loop_test(tc, test_writeout, 0, 2);
	tcase_add_loop_test(tc, test_writeback_range, 0, 2);
	tcase_add_loop_test(tc, test_readahead, 0, 2);
	tcase_add_loop_test(tc, test_drop_backing_cache, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, test_model, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_loop_test(tc, test_concurrent_writers, 0, 4);
	tcase_add_loop_test(tc, test_redirty_during_writeback, 0, 2);
	tcase_add_loop_test(tc, test_invalidate_vs_writeback, 0, 2);
	tcase_add_loop_test(tc, test_truncate_vs_writeback, 0, 2);
	tcase_add_loop_test(tc, test_truncate_chaos, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_eviction_bound, 0, 2);
	tcase_add_loop_test(tc, test_eviction_many_mappings, 0, 2);
	tcase_add_loop_test(tc, test_throttle, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_errseq_real_error, 0, 2);
	tcase_add_loop_test(tc, test_background_error, 0, 2);
	suite_add_tcase(s, tc);

	/* bit 0 of the loop index: no_uring */
	tc = tcase_create("fault");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_fault_write_error, 0, 6);
	tcase_add_loop_test(tc, test_fault_transient, 0, 2);
	tcase_add_loop_test(tc, test_fault_fsync, 0, 4);
	tcase_add_loop_test(tc, test_fault_read_error, 0, 2);
	tcase_add_loop_test(tc, test_fault_throttle_failing, 0, 2);
	tcase_add_loop_test(tc, test_fault_redirty_in_flight, 0, 2);
	tcase_add_loop_test(tc, test_fault_truncate_delayed_write, 0, 2);
	suite_add_tcase(s, tc);

	return s;
}

static int t_remove_one(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int main(void)
{
	SRunner *sr;
	int failed;

	t_seed = t_env_ul("PC_SEED", 0);
	if (!t_seed)
		t_seed = ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid();
	t_quick = t_env_ul("PC_QUICK", 0) != 0;
	t_trace = t_env_ul("PC_TRACE", 0) != 0;
	if (getenv("PC_VARIANT"))
		t_variant = (long)t_env_ul("PC_VARIANT", 0);
	printf("check_pagecache: PC_SEED=%" PRIu64 "%s\n", t_seed,
	       t_quick ? " PC_QUICK=1" : "");
	fflush(stdout);

	strcpy(t_base, "/tmp/check_pagecache.XXXXXX");
	if (!mkdtemp(t_base)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(make_pagecache_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(t_base, t_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (failed)
		printf("check_pagecache: failed with PC_SEED=%" PRIu64 "\n",
		       t_seed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
