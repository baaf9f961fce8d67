// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * b6_mtime_advances - SEMANTICS B6.
 *
 * st_mtime and st_ctime advance after stores through a shared mapping, at
 * the latest after msync().
 *
 * Rounds, each after a pause of 50 ms so that the clock has moved past the
 * previous timestamps whatever their granularity:
 *   1. store into a clean page, msync(MS_SYNC): fstat() of the descriptor
 *      and stat() of the path (in a child process too) show an mtime and a
 *      ctime later than before;
 *   2. store again into the same page (clean again after the msync, so the
 *      kernel has to notice the new store), msync(MS_SYNC): later again;
 *   3. a child stores through its own mapping, the parent calls
 *      msync(MS_SYNC) on its own: later again;
 *   4. store, msync(MS_ASYNC) only: the times advance within the write-back
 *      bound of B3 (15 s; on ext4 at once, at the first store).
 * The size never changes.
 *
 * Broken rule looks like: mtime/ctime equal to (or older than) the values
 * before the stores (a daemon that reports the backing file's times before
 * its write-back, or forgets to bump times for write-back WRITEs).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define PAUSE_MS 50
#define ASYNC_BOUND_S 15.0

static const char *file;
static size_t ps, len;

static int ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static void get_times(int fd, struct stat *st)
{
	if (fd >= 0) {
		T_CHECK(fstat(fd, st) == 0, "fstat: %m");
	} else {
		T_CHECK(stat(file, st) == 0, "stat(%s): %m", file);
	}
}

static void check_advanced(const struct stat *before, const struct stat *now,
			   const char *what)
{
	T_CHECK(ts_after(&now->st_mtim, &before->st_mtim),
		"%s: st_mtime %lld.%09ld did not advance from %lld.%09ld", what,
		(long long)now->st_mtim.tv_sec, now->st_mtim.tv_nsec,
		(long long)before->st_mtim.tv_sec, before->st_mtim.tv_nsec);
	T_CHECK(ts_after(&now->st_ctim, &before->st_ctim),
		"%s: st_ctime %lld.%09ld did not advance from %lld.%09ld", what,
		(long long)now->st_ctim.tv_sec, now->st_ctim.tv_nsec,
		(long long)before->st_ctim.tv_sec, before->st_ctim.tv_nsec);
	T_CHECK(now->st_size == (off_t)len, "%s: size became %lld", what,
		(long long)now->st_size);
}

/* The times another process sees, by path, after round 1. */
static struct stat *seen_by_child;

static int stat_child(void *arg)
{
	(void)arg;
	get_times(-1, seen_by_child);
	return 0;
}

static int store_child(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *map =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	(void)arg;
	t_store(map + 2 * ps, ps, 4, (off_t)(2 * ps));
	/* munmap would flush on its own; leave the page dirty, just exit. */
	return 0;
}

int main(int argc, char **argv)
{
	struct stat before, now;
	volatile char *map;
	double t0;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("b6");
	fd = t_create(file, len, 1);
	t_fsync(fd);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check_pattern(map, len, 1, 0, "old contents");
	seen_by_child = t_shared_alloc(sizeof(*seen_by_child));

	/* 1 */
	get_times(fd, &before);
	t_sleep_ms(PAUSE_MS);
	t_store(map + ps, 100, 2, (off_t)ps);
	t_msync((void *)map, len, MS_SYNC);
	get_times(fd, &now);
	check_advanced(&before, &now, "1: fstat after store + msync(MS_SYNC)");
	get_times(-1, &now);
	check_advanced(&before, &now, "1: stat after store + msync(MS_SYNC)");
	t_wait_ok(t_fork(stat_child, NULL));
	check_advanced(
		&before, seen_by_child,
		"1: stat in another process after store + msync(MS_SYNC)");

	/* 2 */
	get_times(fd, &before);
	t_sleep_ms(PAUSE_MS);
	t_store(map + ps, 100, 3, (off_t)ps);
	t_msync((void *)map, len, MS_SYNC);
	get_times(fd, &now);
	check_advanced(&before, &now,
		       "2: second store into the same page + msync(MS_SYNC)");

	/* 3 */
	get_times(fd, &before);
	t_sleep_ms(PAUSE_MS);
	t_wait_ok(t_fork(store_child, NULL));
	t_msync((void *)map, len, MS_SYNC);
	get_times(fd, &now);
	check_advanced(&before, &now,
		       "3: another process's stores + msync(MS_SYNC) here");
	t_check_pattern(map + 2 * ps, ps, 4, (off_t)(2 * ps),
			"3: child's store");

	/* 4 */
	get_times(fd, &before);
	t_sleep_ms(PAUSE_MS);
	t_store(map + 3 * ps, 100, 5, (off_t)(3 * ps));
	t_msync((void *)map, len, MS_ASYNC);
	t0 = t_now();
	for (;;) {
		get_times(-1, &now);
		if (ts_after(&now.st_mtim, &before.st_mtim) &&
		    ts_after(&now.st_ctim, &before.st_ctim))
			break;
		if (t_now() - t0 > ASYNC_BOUND_S)
			check_advanced(&before, &now,
				       "4: store + msync(MS_ASYNC), after the "
				       "write-back bound");
		t_sleep_ms(100);
	}
	check_advanced(&before, &now, "4: store + msync(MS_ASYNC)");

	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}
