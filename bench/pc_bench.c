/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pc_bench.c - micro-benchmark of pagecache/ alone, without FUSE.
 *
 * Usage: pc_bench [-s WRITE_MIB] [-r REPS] [-m METHODS] [-h HIT_MIB]
 *                 [-n HIT_OPS] DIR
 *
 * Write-back (issue #4's target: "write-back of a 1 GiB dirty cache at least
 * as fast as plain pwritev of the same data", the benchmark "write 1 GiB
 * through the cache and write it back vs pwrite+fdatasync").  WRITE_MIB
 * (default 1024) of data go into one new file in DIR and are made durable,
 * by each of the methods below, REPS times (default 7).  Every run is timed
 * in two phases:
 *
 *   write     until the data is in the backing filesystem (its page cache):
 *             the pwritev() calls, or pc_writeback_range() of the whole
 *             mapping (every dirty page written back and its write complete);
 *   sync      making it durable: fdatasync(), or pc_write_and_wait(datasync)
 *             (which then only commits: nothing is dirty any more);
 *
 * and the total.  The target is decided on the whole: pc_fsync (an fsync of
 * the held dirty cache, pc_write_and_wait in one call) against pwritev_held
 * + fdatasync, "fsync" in "target".  The write phase alone (pc_held's
 * pc_writeback_range against the pwritev calls: the same bytes copied from
 * memory into the same page cache) is reported beside it, "write".
 *
 *   pwritev_held  the reference: pwritev() of WRITE_MIB MiB held in memory
 *             (one distinct buffer, written and faulted in before the
 *             timing), in requests of the engine's largest size
 *             (max_write_pages pages: 1 MiB), one iovec each.
 *   pc_fsync  an fsync of a held dirty cache: as pc_held, but one timed
 *             pc_write_and_wait(datasync) does all (its phases cannot be
 *             told apart from outside: all of it counts as "write", sync
 *             is 0).  It writes in batches of queue_depth requests and hands
 *             each batch's range to the backing fs's write-out while the
 *             next is written (EARLY WRITE-OUT, pagecache/writeback.c).
 *   pwritev_writeout  pwritev_held doing the same by hand: after each batch
 *             of queue_depth requests, sync_file_range(SYNC_FILE_RANGE_WRITE)
 *             of it; then fdatasync.  Not a target: what a program that
 *             overlaps its own write-out gets without a cache.
 *   pc_held   write-back of a held dirty cache: WRITE_MIB MiB are
 *             pc_write()n into a cache with room for them (cache_size =
 *             2 * WRITE_MIB, dirty_bytes = WRITE_MIB) and write-back held
 *             off (dirty_expire_ms one hour), untimed; then
 *             pc_writeback_range() (write) and pc_write_and_wait() (sync)
 *             are timed.  The run fails if anything was written back before.
 *             Each pc method keeps its cache from run to run, as the daemon
 *             does (a new mapping each run): a cache created for every run
 *             left the write phase up to three times slower in some runs,
 *             with one thread busy (its fresh memory, we think: the
 *             kernel's free page reporting hands freed memory back to the
 *             host, and the next touch of it is slow), against the held
 *             buffer pwritev_held keeps.
 *   pwritev   pwritev() of one hot chunk again and again: what an
 *             application writing through the kernel's page cache pays.
 *   pc        pc_write() of the same chunks into a cache with
 *             pc_config_default() (writers throttled at dirty_bytes,
 *             background write-back overlapping the copying, as in the
 *             daemon), then pc_writeback_range(): the write phase includes
 *             copying into the cache.
 *   pc_roomy  as pc with pc_held's sizes (no throttling, no background
 *             write-back): copying in, then the engine writes everything.
 *
 * Same starting state: before each timed part the file is new (deleted and
 * created again), the system's dirty data is written (sync()) and the clean
 * page cache dropped (echo 1 > /proc/sys/vm/drop_caches, if we may; the
 * JSON says whether it happened).  The methods are interleaved: each
 * repetition runs all of them, in the order of METHODS in odd repetitions
 * and in the reverse order in even ones (A B B A ...), so that neither a
 * drift of the machine nor the after-effects of the previous run (the
 * discard of the deleted file, the host's cache) land on one method.  One
 * round of every method runs first as a warm-up and is not reported.
 * For each phase the process's CPU time (all threads, io_uring's workers
 * included) is recorded, and the CPU time the rest of the machine used
 * meanwhile (from /proc/stat): on a shared machine that is the noise.
 * METHODS: a comma-separated subset, default all seven.
 *
 * Hit path.  A HIT_MIB (default 64) file is written and read once through a
 * mapping to make every page uptodate, then HIT_OPS (default 2000000)
 * pc_read()s of 4 KiB at random page-aligned offsets are timed: ns per
 * operation, with one thread and with two threads on the same mapping (the
 * mapping's mutex is the shared point).  For scale the same offsets are read
 * with pread() from the kernel's (warm) page cache and with memcpy() from
 * a private buffer.  The hit count is checked: a miss in the timed loop
 * fails the run.
 *
 * Prints one JSON object to stdout, with the date, the nice value it ran
 * with and the load averages at the start and the end.  "write" holds, per
 * method, each repetition's seconds (write_s, sync_s, total_s, write_cpu_s,
 * sync_cpu_s, write_other_cpu_s, sync_other_cpu_s, in the order run) and the
 * median, minimum and maximum of each (KEY_median, KEY_min, KEY_max);
 * "target" the speed of pc_held relative to pwritev_held (reference seconds
 * / pc seconds) per phase ("write", "sync", "total") and, if pc_fsync ran,
 * of pc_fsync's whole against pwritev_held's total ("fsync": >= 1.0 meets
 * the target), each as the ratio of the medians and as the median, minimum
 * and maximum of the ratios within each repetition.
 * Progress goes to stderr.  Exit 0, or 1 on any error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pagecache/pagecache.h"

#define CHUNK		(1u << 20)
#define MAX_REPS	64
#define HIT_IO		4096u

struct opts {
	const char *dir;
	unsigned long write_mib;
	unsigned int reps;
	const char *methods;
	unsigned long hit_mib;
	unsigned long hit_ops;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU seconds of the whole process so far: every thread, io-wq's too. */
static double cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds the whole machine has been busy (not idle, not waiting for
 * I/O) since boot, from /proc/stat; 0 if it cannot be read. */
static double machine_busy_s(void)
{
	unsigned long long v[8] = { 0 };
	double busy = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	/* user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
		       (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return busy;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values; @v is sorted in place. */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fill_chunk(unsigned char *buf, size_t len)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t r = rnd(&s);

		memcpy(buf + i, &r, 8);
	}
}

static int open_new(const char *path)
{
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "pc_bench: open %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return fd;
}

/* ---- Write + write-back ------------------------------------------------- */

enum method { M_PWRITEV_HELD, M_PC_HELD, M_PC_FSYNC, M_PWRITEV_WRITEOUT,
	      M_PWRITEV, M_PC, M_PC_ROOMY, NR_METHODS };

static const char *const method_name[NR_METHODS] = {
	[M_PWRITEV_HELD] = "pwritev_held",
	[M_PC_HELD] = "pc_held",
	[M_PC_FSYNC] = "pc_fsync",
	[M_PWRITEV_WRITEOUT] = "pwritev_writeout",
	[M_PWRITEV] = "pwritev",
	[M_PC] = "pc",
	[M_PC_ROOMY] = "pc_roomy",
};

/* One run's measurements, in seconds.  "other" is the CPU time the rest
 * of the machine used meanwhile (10 ms ticks): the neighbours' share. */
struct run {
	double write_s, sync_s, write_cpu_s, sync_cpu_s;
	double write_other_s, sync_other_s;
};

/* Phase boundaries of one run. */
struct clock3 {
	uint64_t t[3];
	double cpu[3], busy[3];
};

static void clock_mark(struct clock3 *k, int i)
{
	k->t[i] = now_ns();
	k->cpu[i] = cpu_s();
	k->busy[i] = machine_busy_s();
}

static void clock_done(const struct clock3 *k, struct run *out)
{
	out->write_s = (double)(k->t[1] - k->t[0]) / 1e9;
	out->sync_s = (double)(k->t[2] - k->t[1]) / 1e9;
	out->write_cpu_s = k->cpu[1] - k->cpu[0];
	out->sync_cpu_s = k->cpu[2] - k->cpu[1];
	out->write_other_s = k->busy[1] - k->busy[0] - out->write_cpu_s;
	out->sync_other_s = k->busy[2] - k->busy[1] - out->sync_cpu_s;
	if (out->write_other_s < 0)
		out->write_other_s = 0;
	if (out->sync_other_s < 0)
		out->sync_other_s = 0;
}

struct wbench {
	const char *path;
	size_t total;		/* bytes written per run */
	size_t chunk;		/* bytes a request: the engine's largest */
	unsigned char *hot;	/* one chunk */
	unsigned char *held;	/* @total bytes, faulted in */
	struct pc_config def, roomy, held_cfg;
	struct pc_cache *cache[NR_METHODS];	/* one per pc method */
	bool uring;
	bool dropped;		/* every drop_caches succeeded */
};

/*
 * The same starting state before each timed part: nobody's dirty data
 * left to write, the clean page cache dropped (the backing file itself is
 * new, so none of its pages are cached anyway).  Returns false if the page
 * cache could not be dropped (not root).
 */
static bool settle(void)
{
	bool ok;
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok;
}

/* pwritev @w->total bytes from @src (@stride 0: the same chunk again and
 * again), then fdatasync.  With @writeout, sync_file_range(WRITE) of every
 * batch of queue_depth requests once it is written. */
static int run_pwritev(struct wbench *w, const unsigned char *src,
		       bool stride, bool writeout, struct run *out)
{
	size_t batch = (size_t)w->def.queue_depth * w->chunk;

	struct clock3 k;
	size_t off;
	int fd = open_new(w->path), err = 0;

	if (fd < 0)
		return fd;
	w->dropped &= settle();
	clock_mark(&k, 0);
	for (off = 0; off < w->total; off += w->chunk) {
		size_t n = w->total - off < w->chunk ? w->total - off
						      : w->chunk;
		struct iovec iov = {
			.iov_base = (void *)(src + (stride ? off : 0)),
			.iov_len = n,
		};

		if (pwritev(fd, &iov, 1, (off_t)off) != (ssize_t)n) {
			perror("pc_bench: pwritev");
			err = -EIO;
			goto out;
		}
		if (writeout && ((off + n) % batch == 0 || off + n == w->total))
			sync_file_range(fd, (off_t)((off + n - 1) / batch * batch),
					(off_t)batch, SYNC_FILE_RANGE_WRITE);
	}
	clock_mark(&k, 1);
	if (fdatasync(fd) < 0) {
		perror("pc_bench: fdatasync");
		err = -EIO;
		goto out;
	}
	clock_mark(&k, 2);
	clock_done(&k, out);
out:
	close(fd);
	unlink(w->path);
	return err;
}

static int pc_fill(struct wbench *w, struct pc_mapping *m)
{
	size_t off;

	for (off = 0; off < w->total; off += w->chunk) {
		size_t n = w->total - off < w->chunk ? w->total - off
						      : w->chunk;
		ssize_t r = pc_write(m, w->hot, n, (off_t)off, false);

		if (r != (ssize_t)n) {
			fprintf(stderr, "pc_bench: pc_write: %s\n",
				r < 0 ? strerror((int)-r) : "short");
			return -EIO;
		}
	}
	return 0;
}

/*
 * Through the cache of @meth (created with @cfg at its first run and kept,
 * as the daemon keeps its cache: its page memory is then as warm as the
 * held buffer of pwritev_held): pc_write @w->total bytes into a new
 * mapping (before the timing if @held, else timed), pc_writeback_range,
 * pc_write_and_wait.
 */
static int run_pc(struct wbench *w, enum method meth,
		  const struct pc_config *cfg, bool held, struct run *out)
{
	struct pc_stats st0, st;
	struct pc_mapping *m;
	struct pc_cache *c = w->cache[meth];
	struct clock3 k;
	int fd, err;

	if (!c) {
		err = pc_cache_create(cfg, &c);
		if (err) {
			fprintf(stderr, "pc_bench: pc_cache_create: %s\n",
				strerror(-err));
			return err;
		}
		w->cache[meth] = c;
		w->uring = pc_cache_uses_uring(c);
	}
	fd = open_new(w->path);
	if (fd < 0)
		return fd;
	err = pc_mapping_create(c, fd, &m);
	if (err) {
		fprintf(stderr, "pc_bench: pc_mapping_create: %s\n",
			strerror(-err));
		close(fd);
		unlink(w->path);
		return err;
	}
	pc_stats_read(c, &st0);
	if (held) {
		err = pc_fill(w, m);
		if (err)
			goto out_put;
		pc_stats_read(c, &st);
		if (st.bytes_written != st0.bytes_written ||
		    st.dirty_bytes != w->total) {
			fprintf(stderr, "pc_bench: write-back was not held "
				"off: %llu bytes written, %llu dirty\n",
				(unsigned long long)(st.bytes_written -
						     st0.bytes_written),
				(unsigned long long)st.dirty_bytes);
			err = -EIO;
			goto out_put;
		}
	}
	w->dropped &= settle();
	clock_mark(&k, 0);
	if (!held) {
		err = pc_fill(w, m);
		if (err)
			goto out_put;
	}
	/* pc_fsync: one call, as an fsync makes it; its phases cannot be
	 * told apart from outside, so all of it is in "write" */
	err = meth == M_PC_FSYNC ? pc_write_and_wait(m, 0, -1, true)
				 : pc_writeback_range(m, 0, -1);
	clock_mark(&k, 1);
	if (err) {
		fprintf(stderr, "pc_bench: pc_writeback_range: %s\n",
			strerror(-err));
		goto out_put;
	}
	if (pc_mapping_dirty_bytes(m)) {
		fprintf(stderr, "pc_bench: dirty data left after "
			"pc_writeback_range\n");
		err = -EIO;
		goto out_put;
	}
	err = pc_write_and_wait(m, 0, -1, true);
	clock_mark(&k, 2);
	if (err) {
		fprintf(stderr, "pc_bench: pc_write_and_wait: %s\n",
			strerror(-err));
		goto out_put;
	}
	pc_stats_read(c, &st);
	if (st.bytes_written - st0.bytes_written < w->total) {
		fprintf(stderr, "pc_bench: only %llu bytes written back\n",
			(unsigned long long)(st.bytes_written -
					     st0.bytes_written));
		err = -EIO;
		goto out_put;
	}
	clock_done(&k, out);
out_put:
	pc_mapping_put(m);
	unlink(w->path);
	return err;
}

static int run_method(struct wbench *w, enum method meth, struct run *out)
{
	switch (meth) {
	case M_PWRITEV_HELD:
	case M_PWRITEV_WRITEOUT:
		return run_pwritev(w, w->held, true,
				   meth == M_PWRITEV_WRITEOUT, out);
	case M_PC_HELD:
	case M_PC_FSYNC:
		return run_pc(w, meth, &w->held_cfg, true, out);
	case M_PWRITEV:
		return run_pwritev(w, w->hot, false, false, out);
	case M_PC:
		return run_pc(w, meth, &w->def, false, out);
	default:
		return run_pc(w, meth, &w->roomy, false, out);
	}
}

/* Parse METHODS into @list; returns how many, or 0 on an unknown name. */
static unsigned int parse_methods(const char *s, enum method *list)
{
	unsigned int n = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		int i;

		for (i = 0; i < NR_METHODS; i++)
			if (strlen(method_name[i]) == len &&
			    !strncmp(s, method_name[i], len))
				break;
		for (unsigned int j = 0; i < NR_METHODS && j < n; j++)
			if (list[j] == (enum method)i)
				i = NR_METHODS;
		if (i == NR_METHODS) {
			fprintf(stderr, "pc_bench: unknown or repeated "
				"method at %s\n", s);
			return 0;
		}
		list[n++] = (enum method)i;
		s += len;
		if (*s == ',')
			s++;
	}
	return n;
}

/* "KEY": [v, ...], "KEY_median": m, "KEY_min": a, "KEY_max": b */
static void print_series(const char *key, const double *v, unsigned int n)
{
	double s[MAX_REPS];
	unsigned int i;

	printf("\"%s\": [", key);
	for (i = 0; i < n; i++)
		printf("%s%.4f", i ? ", " : "", v[i]);
	memcpy(s, v, n * sizeof(*v));
	printf("], \"%s_median\": %.4f, ", key, median(s, n));
	printf("\"%s_min\": %.4f, \"%s_max\": %.4f", key, s[0], key, s[n - 1]);
}

/* Speed of pc_held relative to pwritev_held, on one phase's seconds. */
static void print_ratio(const char *key, const double *ref, const double *pc,
			unsigned int n)
{
	double r[MAX_REPS], a[MAX_REPS], b[MAX_REPS];
	unsigned int i;
	char name[32];

	for (i = 0; i < n; i++)
		r[i] = ref[i] / pc[i];
	memcpy(a, ref, n * sizeof(*a));
	memcpy(b, pc, n * sizeof(*b));

	printf("\"%s_ratio\": %.3f, ", key, median(a, n) / median(b, n));
	snprintf(name, sizeof(name), "%s_paired", key);
	print_series(name, r, n);
}

static int bench_write(const struct opts *o, const char *path)
{
	static struct run runs[NR_METHODS][MAX_REPS];
	enum method list[NR_METHODS];
	unsigned int n_meth = parse_methods(o->methods, list), r, i;
	struct wbench w = { .path = path, .dropped = true };
	bool seen[NR_METHODS] = { false }, held;
	double v[7][MAX_REPS];
	size_t off;
	int err = 0;

	if (!n_meth)
		return -EINVAL;
	for (i = 0; i < n_meth; i++)
		seen[list[i]] = true;
	pc_config_default(&w.def);
	w.total = o->write_mib * CHUNK;
	w.chunk = (size_t)w.def.max_write_pages * pc_page_size();
	w.roomy = w.def;
	w.roomy.cache_size = 2 * w.total;
	w.roomy.dirty_bytes = w.total;
	w.roomy.dirty_background_bytes = w.total;
	w.held_cfg = w.roomy;
	w.held_cfg.dirty_expire_ms = 3600 * 1000;
	w.held_cfg.writeback_interval_ms = 60 * 1000;
	w.hot = malloc(w.chunk);
	held = seen[M_PWRITEV_HELD] || seen[M_PWRITEV_WRITEOUT];
	w.held = held ? malloc(w.total) : NULL;
	if (!w.hot || (held && !w.held)) {
		err = -ENOMEM;
		goto out;
	}
	fill_chunk(w.hot, w.chunk);
	if (w.held)
		for (off = 0; off < w.total; off += w.chunk)
			memcpy(w.held + off, w.hot,
			       w.total - off < w.chunk ? w.total - off
						       : w.chunk);

	/* Repetition 0 is a warm-up, not reported: the first runs of a
	 * process were the slowest by far (the first allocations of this
	 * much memory, for either method). */
	for (r = 0; r <= o->reps; r++) {
		for (i = 0; i < n_meth; i++) {
			enum method meth = list[r % 2 ? i : n_meth - 1 - i];
			struct run warm, *x = r ? &runs[meth][r - 1] : &warm;

			err = run_method(&w, meth, x);
			if (err)
				goto out;
			fprintf(stderr, "pc_bench: %s %u/%u %-12s write %.3f s "
				"(cpu %.3f, others %.3f) + sync %.3f s = "
				"%.3f s\n", r ? "rep" : "warm-up", r, o->reps,
				method_name[meth], x->write_s, x->write_cpu_s,
				x->write_other_s, x->sync_s,
				x->write_s + x->sync_s);
		}
	}

	printf("\"write\": {\"mib\": %lu, \"reps\": %u, \"chunk_bytes\": %zu, "
	       "\"uring\": %s, \"drop_caches\": %s, \"methods\": [",
	       o->write_mib, o->reps, w.chunk, w.uring ? "true" : "false",
	       w.dropped ? "true" : "false");
	for (i = 0; i < n_meth; i++)
		printf("%s\"%s\"", i ? ", " : "", method_name[list[i]]);
	printf("], \"default_cache_size\": %zu, \"default_dirty_bytes\": %zu, "
	       "\"roomy_cache_size\": %zu, \"roomy_dirty_bytes\": %zu, "
	       "\"runs\": {", w.def.cache_size, w.def.dirty_bytes,
	       w.roomy.cache_size, w.roomy.dirty_bytes);
	for (i = 0; i < n_meth; i++) {
		static const char *const keys[7] = {
			"write_s", "sync_s", "total_s", "write_cpu_s",
			"sync_cpu_s", "write_other_cpu_s", "sync_other_cpu_s",
		};
		const struct run *x = runs[list[i]];

		for (r = 0; r < o->reps; r++) {
			v[0][r] = x[r].write_s;
			v[1][r] = x[r].sync_s;
			v[2][r] = x[r].write_s + x[r].sync_s;
			v[3][r] = x[r].write_cpu_s;
			v[4][r] = x[r].sync_cpu_s;
			v[5][r] = x[r].write_other_s;
			v[6][r] = x[r].sync_other_s;
		}
		printf("%s\"%s\": {", i ? ", " : "", method_name[list[i]]);
		for (unsigned int k = 0; k < 7; k++) {
			printf("%s", k ? ", " : "");
			print_series(keys[k], v[k], o->reps);
		}
		printf("}");
	}
	printf("}");
	if (seen[M_PWRITEV_HELD] && seen[M_PC_HELD]) {
		const struct run *a = runs[M_PWRITEV_HELD];
		const struct run *b = runs[M_PC_HELD];
		double ra[3][MAX_REPS], rb[3][MAX_REPS];

		for (r = 0; r < o->reps; r++) {
			ra[0][r] = a[r].write_s;
			rb[0][r] = b[r].write_s;
			ra[1][r] = a[r].sync_s;
			rb[1][r] = b[r].sync_s;
			ra[2][r] = a[r].write_s + a[r].sync_s;
			rb[2][r] = b[r].write_s + b[r].sync_s;
		}
		printf(", \"target\": {");
		print_ratio("write", ra[0], rb[0], o->reps);
		printf(", ");
		print_ratio("sync", ra[1], rb[1], o->reps);
		printf(", ");
		print_ratio("total", ra[2], rb[2], o->reps);
		if (seen[M_PC_FSYNC]) {
			for (r = 0; r < o->reps; r++)
				rb[0][r] = runs[M_PC_FSYNC][r].write_s +
					   runs[M_PC_FSYNC][r].sync_s;
			printf(", ");
			print_ratio("fsync", ra[2], rb[0], o->reps);
		}
		printf("}");
	}
	printf("}");
out:
	for (i = 0; i < NR_METHODS; i++) {
		int e = w.cache[i] ? pc_cache_destroy(w.cache[i]) : 0;

		if (e && !err) {
			fprintf(stderr, "pc_bench: pc_cache_destroy: %s\n",
				strerror(-e));
			err = e;
		}
	}
	free(w.hot);
	free(w.held);
	return err;
}

/* ---- Hit path ----------------------------------------------------------- */

struct hit_arg {
	struct pc_mapping *m;
	uint64_t pages;
	unsigned long ops;
	uint64_t seed;
	int err;
};

static void *hit_thread(void *p)
{
	struct hit_arg *a = p;
	unsigned char buf[HIT_IO];
	unsigned long i;

	for (i = 0; i < a->ops; i++) {
		off_t off = (off_t)(rnd(&a->seed) % a->pages) * HIT_IO;

		if (pc_read(a->m, buf, HIT_IO, off) != HIT_IO) {
			a->err = -EIO;
			break;
		}
	}
	return NULL;
}

/* ns per pc_read with @nthreads threads sharing the ops, or -errno. */
static double hit_run(struct pc_mapping *m, uint64_t pages,
		      unsigned long ops, unsigned int nthreads)
{
	struct hit_arg a[2];
	pthread_t th[2];
	uint64_t t0, t1;
	unsigned int i;

	for (i = 0; i < nthreads; i++) {
		a[i] = (struct hit_arg){ .m = m, .pages = pages,
					 .ops = ops / nthreads,
					 .seed = 1234567 + i };
	}
	t0 = now_ns();
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, hit_thread, &a[i]))
			return -EAGAIN;
	hit_thread(&a[0]);
	for (i = 1; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	for (i = 0; i < nthreads; i++)
		if (a[i].err)
			return a[i].err;
	/* wall time per operation: with two threads, throughput's inverse */
	return (double)(t1 - t0) / (double)(ops / nthreads * nthreads);
}

static int bench_hit(const struct opts *o, const char *path)
{
	uint64_t size = o->hit_mib * CHUNK, pages = size / HIT_IO, s, off;
	double ns1, ns2, ns_pread, ns_memcpy;
	unsigned char *buf, *src;
	struct pc_stats st0, st1;
	struct pc_config cfg;
	struct pc_mapping *m;
	struct pc_cache *c;
	unsigned long i;
	uint64_t t0, t1, sink = 0;
	int fd, err;

	buf = malloc(CHUNK);
	src = malloc(size);
	if (!buf || !src) {
		free(buf);
		free(src);
		return -ENOMEM;
	}
	fill_chunk(buf, CHUNK);
	for (off = 0; off < size; off += CHUNK)
		memcpy(src + off, buf, CHUNK);
	fd = open_new(path);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	if (pwrite(fd, src, size, 0) != (ssize_t)size || fsync(fd) < 0) {
		perror("pc_bench: writing the hit-path file");
		close(fd);
		err = -EIO;
		goto out_free;
	}

	/* Reference: pread() from the kernel's page cache, same offsets. */
	for (off = 0; off < size; off += CHUNK)
		if (pread(fd, buf, CHUNK, (off_t)off) != CHUNK)
			break;
	s = 1234567;
	t0 = now_ns();
	for (i = 0; i < o->hit_ops; i++)
		if (pread(fd, buf, HIT_IO,
			  (off_t)(rnd(&s) % pages * HIT_IO)) != HIT_IO)
			break;
	t1 = now_ns();
	ns_pread = (double)(t1 - t0) / (double)o->hit_ops;
	s = 1234567;
	t0 = now_ns();
	for (i = 0; i < o->hit_ops; i++) {
		memcpy(buf, src + rnd(&s) % pages * HIT_IO, HIT_IO);
		sink += buf[i % HIT_IO];
	}
	t1 = now_ns();
	ns_memcpy = (double)(t1 - t0) / (double)o->hit_ops;

	pc_config_default(&cfg);
	if (cfg.cache_size < 2 * size) {
		cfg.cache_size = 2 * size;
		cfg.dirty_bytes = cfg.cache_size / 4;
		cfg.dirty_background_bytes = cfg.dirty_bytes / 2;
	}
	err = pc_cache_create(&cfg, &c);
	if (err) {
		fprintf(stderr, "pc_bench: pc_cache_create: %s\n",
			strerror(-err));
		close(fd);
		goto out_free;
	}
	/* The mapping owns the descriptor from here on. */
	err = pc_mapping_create(c, fd, &m);
	if (err) {
		fprintf(stderr, "pc_bench: pc_mapping_create: %s\n",
			strerror(-err));
		close(fd);
		goto out_cache;
	}
	for (off = 0; off < size; off += CHUNK)
		if (pc_read(m, buf, CHUNK, (off_t)off) != CHUNK) {
			fprintf(stderr, "pc_bench: filling pc_read failed\n");
			err = -EIO;
			goto out_put;
		}

	fprintf(stderr, "pc_bench: hit path, %lu x 4 KiB pc_read\n",
		o->hit_ops);
	pc_stats_read(c, &st0);
	ns1 = hit_run(m, pages, o->hit_ops, 1);
	ns2 = ns1 < 0 ? ns1 : hit_run(m, pages, o->hit_ops, 2);
	pc_stats_read(c, &st1);
	if (ns1 < 0 || ns2 < 0) {
		fprintf(stderr, "pc_bench: timed pc_read failed\n");
		err = -EIO;
		goto out_put;
	}
	if (st1.misses != st0.misses) {
		fprintf(stderr, "pc_bench: %llu misses in the hit loop\n",
			(unsigned long long)(st1.misses - st0.misses));
		err = -EIO;
		goto out_put;
	}
	printf("\"hit\": {\"file_mib\": %lu, \"ops\": %lu, "
	       "\"pc_read_ns\": %.1f, \"pc_read_2threads_ns\": %.1f, "
	       "\"pread_ns\": %.1f, \"memcpy_ns\": %.1f, \"hits\": %llu, "
	       "\"sink\": %llu}",
	       o->hit_mib, o->hit_ops, ns1, ns2, ns_pread, ns_memcpy,
	       (unsigned long long)(st1.hits - st0.hits),
	       (unsigned long long)(sink & 1));
	err = 0;
out_put:
	pc_mapping_put(m);
out_cache:
	pc_cache_destroy(c);
out_free:
	unlink(path);
	free(buf);
	free(src);
	return err;
}

/* The 1, 5 and 15 minute load averages, as /proc/loadavg shows them. */
static void loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "re");
	float a = 0, b = 0, c = 0;

	if (!f || fscanf(f, "%f %f %f", &a, &b, &c) != 3)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s WRITE_MIB] [-r REPS] [-m METHODS] [-h HIT_MIB] "
		"[-n HIT_OPS] DIR\n",
		prog);
	exit(1);
}

int main(int argc, char **argv)
{
	struct opts o = { .write_mib = 1024, .reps = 7,
			  .methods = "pwritev_held,pc_fsync,pc_held,"
				     "pwritev_writeout,pwritev,pc,pc_roomy",
			  .hit_mib = 64, .hit_ops = 2000000 };
	char path[4096], load[64], date[64];
	time_t now = time(NULL);
	int opt, err, prio;

	while ((opt = getopt(argc, argv, "s:r:m:h:n:")) != -1) {
		switch (opt) {
		case 's':
			o.write_mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.reps = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o.methods = optarg;
			break;
		case 'h':
			o.hit_mib = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.hit_ops = strtoul(optarg, NULL, 10);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc - 1 || !o.write_mib || !o.reps ||
	    o.reps > MAX_REPS || !o.hit_mib || o.hit_ops < 2)
		usage(argv[0]);
	o.dir = argv[optind];
	snprintf(path, sizeof(path), "%s/pc_bench.dat", o.dir);

	loadavg(load, sizeof(load));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	printf("{\"page_size\": %zu, \"date\": \"%s\", \"nproc\": %ld, "
	       "\"nice\": %d, \"loadavg_start\": \"%s\", ", pc_page_size(),
	       date, sysconf(_SC_NPROCESSORS_ONLN), errno ? 0 : prio, load);
	err = bench_write(&o, path);
	if (!err) {
		printf(", ");
		err = bench_hit(&o, path);
	}
	loadavg(load, sizeof(load));
	printf(", \"loadavg_end\": \"%s\"}\n", load);
	if (err) {
		fprintf(stderr, "pc_bench: failed: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
