/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msync_latency.c - how long msync(MS_SYNC) of one dirty page takes.
 *
 * Usage: msync_latency FILE [ITERATIONS]
 *
 * FILE is created (or truncated) to 1 MiB and mapped MAP_SHARED.  Each
 * iteration stores into one page, then times msync(MS_SYNC) of exactly that
 * page.  The store is not timed: on a filesystem that write-protects clean
 * pages it takes a page fault (->page_mkwrite), which is the cost of dirtying,
 * not of syncing.  The pages are visited in turn (256 of them) rather than
 * always the same one, as a database dirtying scattered pages would.
 *
 * The first WARMUP iterations are discarded: they pay for faulting the
 * mapping in and for the filesystem's first journal commit on this file.
 *
 * Prints one JSON object: {"iterations": N, "median_us": ..., "p99_us": ...,
 * "mean_us": ..., "min_us": ..., "max_us": ...}.  Exit 0, or 1 on any error
 * (with a message on stderr).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FILE_PAGES	256
#define WARMUP		50

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at quantile @q of the sorted array @v of @n values (nearest
 * rank, as fio reports percentiles). */
static uint64_t quantile(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

int main(int argc, char **argv)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = FILE_PAGES * ps;
	unsigned long iters = 2000;
	uint64_t *lat, sum = 0;
	char *map;
	size_t i;
	int fd, ret = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE [ITERATIONS]\n", argv[0]);
		return 1;
	}
	if (argc == 3) {
		iters = strtoul(argv[2], NULL, 10);
		if (iters == 0) {
			fprintf(stderr, "msync_latency: bad ITERATIONS\n");
			return 1;
		}
	}
	lat = calloc(iters, sizeof(*lat));
	if (!lat) {
		perror("msync_latency: calloc");
		return 1;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "msync_latency: open %s: %s\n", argv[1],
			strerror(errno));
		goto out_free;
	}
	if (ftruncate(fd, (off_t)len) < 0) {
		perror("msync_latency: ftruncate");
		goto out_close;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("msync_latency: mmap");
		goto out_close;
	}
	/* Start from a file whose blocks are allocated and durable, so the
	 * timed msyncs overwrite in place as a database's would. */
	memset(map, 0x5a, len);
	if (msync(map, len, MS_SYNC) < 0) {
		perror("msync_latency: msync");
		goto out_unmap;
	}

	for (i = 0; i < iters + WARMUP; i++) {
		char *page = map + (i % FILE_PAGES) * ps;
		uint64_t t0, t1;

		memcpy(page + 64, &i, sizeof(i));
		t0 = now_ns();
		if (msync(page, ps, MS_SYNC) < 0) {
			perror("msync_latency: msync");
			goto out_unmap;
		}
		t1 = now_ns();
		if (i >= WARMUP) {
			lat[i - WARMUP] = t1 - t0;
			sum += t1 - t0;
		}
	}
	qsort(lat, iters, sizeof(*lat), cmp_u64);
	printf("{\"iterations\": %lu, \"median_us\": %.2f, \"p99_us\": %.2f, "
	       "\"mean_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f}\n",
	       iters, quantile(lat, iters, 0.5) / 1e3,
	       quantile(lat, iters, 0.99) / 1e3, (double)sum / iters / 1e3,
	       lat[0] / 1e3, lat[iters - 1] / 1e3);
	ret = 0;
out_unmap:
	munmap(map, len);
out_close:
	close(fd);
out_free:
	free(lat);
	return ret;
}
