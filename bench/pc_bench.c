/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pc_bench.c - micro-benchmark of pagecache/ alone, without FUSE.
 *
 * Usage: pc_bench [-s WRITE_MIB] [-r REPS] [-h HIT_MIB] [-n HIT_OPS] DIR
 *
 * Write + write-back.  WRITE_MIB (default 1024) of data are written in
 * 1 MiB chunks into one new file in DIR and made durable, three ways, in
 * turn, REPS times (default 3), and the median is reported:
 *
 *   pwrite    pwrite() of each chunk, then fdatasync(): the kernel's page
 *             cache and write-back, the reference.  The chunk is one hot
 *             1 MiB buffer (it stays in the CPU cache).
 *   pwrite-held  the same from WRITE_MIB MiB of distinct memory: the fair
 *             reference for write-back of a dirty cache holding WRITE_MIB
 *             (the "plain pwritev of the same data").
 *   pc        pc_write() of each chunk into one mapping, then
 *             pc_write_and_wait(datasync): the cache with pc_config_default()
 *             (cache_size = min(1 GiB, RAM/8), dirty_bytes = cache_size/4):
 *             writers are throttled and background write-back overlaps with
 *             the copying, as in the daemon.
 *   pc-roomy  the same with cache_size = 2 * WRITE_MIB and dirty_bytes =
 *             WRITE_MIB, so nothing is throttled and pc_write_and_wait does
 *             all the write-back: the cost of the io_uring write path alone.
 *   held      as pc-roomy with write-back held off (dirty_expire_ms one
 *             hour): the whole cache is dirty when pc_write_and_wait
 *             starts, and only that call is timed (writeback_only): write-
 *             back of a held dirty cache, to compare with pwrite-held.
 *
 * Each timing starts before the first write and stops when the data is
 * durable; creating the cache and opening the file are not timed.  The
 * system's dirty memory is flushed (sync) before each one.
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
 * Prints one JSON object to stdout (keys are documented in the output
 * itself); progress goes to stderr.  Exit 0, or 1 on any error.
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
#include <time.h>
#include <unistd.h>

#include "pagecache/pagecache.h"

#define CHUNK		(1u << 20)
#define MAX_REPS	32
#define HIT_IO		4096u

struct opts {
	const char *dir;
	unsigned long write_mib;
	unsigned int reps;
	unsigned long hit_mib;
	unsigned long hit_ops;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fill_chunk(unsigned char *buf)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < CHUNK; i += 8) {
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

/*
 * Seconds to pwrite @mib chunks and fdatasync, or a negative -errno.  Chunk
 * i comes from @buf + i * @stride: stride 0 writes one hot 1 MiB buffer
 * again and again, stride CHUNK writes @mib MiB of distinct memory - the
 * fair reference for writing back a dirty cache that holds that much.
 */
static double run_pwrite(const char *path, const unsigned char *buf,
			 size_t stride, unsigned long mib)
{
	uint64_t t0, t1;
	unsigned long i;
	int fd = open_new(path);

	if (fd < 0)
		return fd;
	sync();
	t0 = now_ns();
	for (i = 0; i < mib; i++) {
		if (pwrite(fd, buf + i * stride, CHUNK, (off_t)i * CHUNK) !=
		    CHUNK) {
			perror("pc_bench: pwrite");
			close(fd);
			return -EIO;
		}
	}
	if (fdatasync(fd) < 0) {
		perror("pc_bench: fdatasync");
		close(fd);
		return -EIO;
	}
	t1 = now_ns();
	close(fd);
	unlink(path);
	return (t1 - t0) / 1e9;
}

/*
 * Seconds to pc_write @mib chunks and pc_write_and_wait with @cfg; the
 * seconds of the pc_write_and_wait alone go to *@wb_s.
 */
static double run_pc(const char *path, const unsigned char *buf,
		     unsigned long mib, const struct pc_config *cfg,
		     bool *uring, double *wb_s)
{
	uint64_t tw;
	struct pc_mapping *m;
	struct pc_cache *c;
	uint64_t t0, t1;
	unsigned long i;
	double ret;
	int fd, err;

	err = pc_cache_create(cfg, &c);
	if (err) {
		fprintf(stderr, "pc_bench: pc_cache_create: %s\n",
			strerror(-err));
		return err;
	}
	*uring = pc_cache_uses_uring(c);
	fd = open_new(path);
	if (fd < 0) {
		ret = fd;
		goto out_cache;
	}
	err = pc_mapping_create(c, fd, &m);
	if (err) {
		fprintf(stderr, "pc_bench: pc_mapping_create: %s\n",
			strerror(-err));
		close(fd);
		ret = err;
		goto out_cache;
	}
	sync();
	t0 = now_ns();
	for (i = 0; i < mib; i++) {
		ssize_t n = pc_write(m, buf, CHUNK, (off_t)i * CHUNK, false);

		if (n != CHUNK) {
			fprintf(stderr, "pc_bench: pc_write: %s\n",
				n < 0 ? strerror((int)-n) : "short");
			ret = -EIO;
			goto out_put;
		}
	}
	tw = now_ns();
	err = pc_write_and_wait(m, 0, -1, true);
	t1 = now_ns();
	*wb_s = (t1 - tw) / 1e9;
	if (err) {
		fprintf(stderr, "pc_bench: pc_write_and_wait: %s\n",
			strerror(-err));
		ret = err;
		goto out_put;
	}
	ret = (t1 - t0) / 1e9;
out_put:
	pc_mapping_put(m);
out_cache:
	err = pc_cache_destroy(c);
	if (err && ret >= 0)
		ret = err;
	unlink(path);
	return ret;
}

static int bench_write(const struct opts *o, const char *path)
{
	double t_pw[MAX_REPS], t_pc[MAX_REPS], t_roomy[MAX_REPS];
	double t_wb[MAX_REPS], t_held[MAX_REPS], t_pwbig[MAX_REPS], unused;
	struct pc_config def, roomy, held;
	unsigned char *buf, *big;
	unsigned long i;
	bool uring = false;
	unsigned int r;
	double mib = (double)o->write_mib;

	buf = malloc(CHUNK);
	big = malloc(o->write_mib * CHUNK);
	if (!buf || !big) {
		free(buf);
		free(big);
		return -ENOMEM;
	}
	fill_chunk(buf);
	for (i = 0; i < o->write_mib; i++)
		memcpy(big + i * CHUNK, buf, CHUNK);
	pc_config_default(&def);
	roomy = def;
	roomy.cache_size = 2 * o->write_mib * CHUNK;
	roomy.dirty_bytes = o->write_mib * CHUNK;
	roomy.dirty_background_bytes = roomy.dirty_bytes;
	/* "held": nothing is written back before pc_write_and_wait, which
	 * then writes the whole dirty cache: write-back alone vs pwritev. */
	held = roomy;
	held.dirty_expire_ms = 3600 * 1000;
	held.writeback_interval_ms = 60 * 1000;

	for (r = 0; r < o->reps; r++) {
		fprintf(stderr, "pc_bench: write %lu MiB, rep %u/%u\n",
			o->write_mib, r + 1, o->reps);
		t_pw[r] = run_pwrite(path, buf, 0, o->write_mib);
		t_pwbig[r] = t_pw[r] < 0 ? -1 :
			     run_pwrite(path, big, CHUNK, o->write_mib);
		t_pc[r] = t_pw[r] < 0 ? -1 :
			  run_pc(path, buf, o->write_mib, &def, &uring,
				 &unused);
		t_roomy[r] = t_pc[r] < 0 ? -1 :
			     run_pc(path, buf, o->write_mib, &roomy, &uring,
				    &unused);
		t_held[r] = t_roomy[r] < 0 ? -1 :
			    run_pc(path, buf, o->write_mib, &held, &uring,
				   &t_wb[r]);
		if (t_pw[r] < 0 || t_pwbig[r] < 0 || t_pc[r] < 0 ||
		    t_roomy[r] < 0 || t_held[r] < 0) {
			free(buf);
			free(big);
			return -EIO;
		}
	}
	free(buf);
	free(big);

	printf("\"write\": {\"mib\": %lu, \"reps\": %u, \"uring\": %s, "
	       "\"default_cache_size\": %zu, \"default_dirty_bytes\": %zu, "
	       "\"roomy_cache_size\": %zu, \"roomy_dirty_bytes\": %zu, ",
	       o->write_mib, o->reps, uring ? "true" : "false",
	       def.cache_size, def.dirty_bytes, roomy.cache_size,
	       roomy.dirty_bytes);
	printf("\"pwrite_s\": [");
	for (r = 0; r < o->reps; r++)
		printf("%s%.4f", r ? ", " : "", t_pw[r]);
	printf("], \"pwrite_held_s\": [");
	for (r = 0; r < o->reps; r++)
		printf("%s%.4f", r ? ", " : "", t_pwbig[r]);
	printf("], \"pc_s\": [");
	for (r = 0; r < o->reps; r++)
		printf("%s%.4f", r ? ", " : "", t_pc[r]);
	printf("], \"pc_roomy_s\": [");
	for (r = 0; r < o->reps; r++)
		printf("%s%.4f", r ? ", " : "", t_roomy[r]);
	printf("], \"writeback_only_s\": [");
	for (r = 0; r < o->reps; r++)
		printf("%s%.4f", r ? ", " : "", t_wb[r]);
	printf("], \"pwrite_mib_s\": %.1f, \"pwrite_held_mib_s\": %.1f, "
	       "\"pc_mib_s\": %.1f, "
	       "\"pc_roomy_mib_s\": %.1f, \"writeback_only_mib_s\": %.1f}",
	       mib / median(t_pw, o->reps), mib / median(t_pwbig, o->reps),
	       mib / median(t_pc, o->reps),
	       mib / median(t_roomy, o->reps), mib / median(t_wb, o->reps));
	return 0;
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
	fill_chunk(buf);
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

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s WRITE_MIB] [-r REPS] [-h HIT_MIB] [-n HIT_OPS] DIR\n",
		prog);
	exit(1);
}

int main(int argc, char **argv)
{
	struct opts o = { .write_mib = 1024, .reps = 3, .hit_mib = 64,
			  .hit_ops = 2000000 };
	char path[4096];
	int opt, err;

	while ((opt = getopt(argc, argv, "s:r:h:n:")) != -1) {
		switch (opt) {
		case 's':
			o.write_mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.reps = (unsigned int)strtoul(optarg, NULL, 10);
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

	printf("{\"page_size\": %zu, ", pc_page_size());
	err = bench_write(&o, path);
	if (!err) {
		printf(", ");
		err = bench_hit(&o, path);
	}
	printf("}\n");
	if (err) {
		fprintf(stderr, "pc_bench: failed: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
