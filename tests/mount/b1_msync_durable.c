// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * b1_msync_durable - SEMANTICS B1.
 *
 * When msync(MS_SYNC) returns, the modified pages of that range are in the
 * backing file (and fdatasync of the backing file has completed).
 *
 * A file of 64 pages is mapped MAP_SHARED.  Several rounds, each with a new
 * pattern:
 *   - the test stores into a run of pages in the middle, and a child process
 *     stores through its own mapping into other pages of the same range;
 *   - the parent calls msync(MS_SYNC) on exactly that range of its mapping;
 *   - at once (no sleep: the daemon's own write-back comes seconds later)
 *     the backing file, read raw, must hold every stored byte of the range,
 *     including the child's (msync writes back the file's dirty pages of the
 *     range, whoever dirtied them).
 * A last round dirties many scattered single bytes across the whole file and
 * msyncs the whole mapping.  The file size must never change.
 *
 * "On stable storage" cannot be observed without pulling the plug; the
 * durability_kill9.sh test kills the daemon right after msync() instead.
 *
 * Broken rule looks like: the backing file still shows the previous round's
 * pattern right after msync() returned (the daemon acknowledged FSYNC before
 * its own dirty pages reached the backing file).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 64
#define ROUNDS 8

static size_t ps, len;
static volatile char *map;
static const char *file;
static struct t_barrier bar;

/* Pages [first, first + n) of round R: the parent stores the even ones. */
#define RANGE_FIRST 8
#define RANGE_PAGES 24

static int child(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *cmap =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int r;
	size_t pg;

	(void)arg;
	t_barrier_child(&bar);
	for (r = 1; r <= ROUNDS; r++) {
		t_barrier_wait(&bar);
		for (pg = RANGE_FIRST + 1; pg < RANGE_FIRST + RANGE_PAGES;
		     pg += 2)
			t_store(cmap + pg * ps, ps, 100 + r, (off_t)(pg * ps));
		t_barrier_wait(&bar);
	}
	t_munmap((void *)cmap, len);
	t_close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char *bpath, *buf;
	size_t pg, first = RANGE_FIRST, n = RANGE_PAGES;
	pid_t pid;
	int fd, r;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("b1");
	bpath = t_backing_path("b1");
	fd = t_create(file, len, 100);
	t_fsync(fd);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	buf = malloc(len);
	T_CHECK(buf, "out of memory");

	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);

	for (r = 1; r <= ROUNDS; r++) {
		char what[96];

		t_barrier_wait(&bar);
		for (pg = first; pg < first + n; pg += 2)
			t_store(map + pg * ps, ps, 100 + r, (off_t)(pg * ps));
		t_barrier_wait(&bar);
		t_msync((void *)(map + first * ps), n * ps, MS_SYNC);

		snprintf(what, sizeof(what),
			 "round %d: backing file right after msync(MS_SYNC)",
			 r);
		T_CHECK(t_read_file(bpath, buf, n * ps, (off_t)(first * ps)) ==
				n * ps,
			"backing file is short");
		t_check_pattern(buf, n * ps, 100 + r, (off_t)(first * ps),
				what);
	}
	t_wait_ok(pid);

	/* Scattered single bytes over the whole file, then the whole map. */
	for (pg = 0; pg < NPAGES; pg++) {
		off_t off = (off_t)(pg * ps + (pg * 37) % ps);

		t_store(map + off, 1, 200, off);
	}
	t_msync((void *)map, len, MS_SYNC);
	T_CHECK(t_read_file(bpath, buf, len, 0) == len,
		"backing file is short");
	for (pg = 0; pg < NPAGES; pg++) {
		off_t off = (off_t)(pg * ps + (pg * 37) % ps);

		t_check_pattern(
			buf + off, 1, 200, off,
			"scattered byte in the backing file after msync");
	}
	T_CHECK(t_size(bpath) == (off_t)len, "backing size is %lld",
		(long long)t_size(bpath));
	T_CHECK(t_fsize(fd) == (off_t)len, "size is %lld",
		(long long)t_fsize(fd));
	free(buf);
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}
