// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * b2_fsync_durable - SEMANTICS B2.
 *
 * fsync()/fdatasync() on a descriptor of the file make the whole file
 * durable, whether the data came from write() or from stores into a mapping.
 *
 * Rounds, each checked against the raw backing file right after the call
 * returns (no sleep: the daemon's own write-back comes seconds later):
 *   1. pwrite() at scattered offsets, then fsync() of the same descriptor;
 *   2. pwrite() through one descriptor, fdatasync() of another;
 *   3. stores through a mapping, fsync() of the mapped descriptor;
 *   4. stores by a child through its own mapping (still mapped), then
 *      fsync() of an O_RDONLY descriptor in the parent (FUSE sends FSYNC
 *      with the read-only fh; the daemon must treat it as per inode);
 *   5. pwrite() growing the file, stores into the new part through a fresh
 *      mapping, fdatasync(): size and data both in the backing file.
 *
 * Broken rule looks like: the backing file lags behind right after the
 * call returned, or is shorter than the file after round 5.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 32

static size_t ps, len;
static const char *file, *bpath;
static struct t_barrier bar;

static void check_backing(size_t n, unsigned int seed, const char *what)
{
	char *buf = malloc(n);

	T_CHECK(buf, "out of memory");
	T_CHECK(t_read_file(bpath, buf, n, 0) == n,
		"%s: backing file is short (%lld bytes)", what,
		(long long)t_size(bpath));
	t_check_pattern(buf, n, seed, 0, what);
	free(buf);
}

/* Write pattern SEED over the whole file in scattered pwrite()s. */
static void pwrite_scattered(int fd, unsigned int seed)
{
	char *buf = malloc(len);
	size_t chunk = ps + 123, off;

	T_CHECK(buf, "out of memory");
	t_fill(buf, len, seed, 0);
	/* Odd chunks first, then even ones: no sequential stream. */
	for (off = chunk; off < len; off += 2 * chunk)
		t_pwrite(fd, buf + off, off + chunk > len ? len - off : chunk,
			 (off_t)off);
	for (off = 0; off < len; off += 2 * chunk)
		t_pwrite(fd, buf + off, off + chunk > len ? len - off : chunk,
			 (off_t)off);
	free(buf);
}

static int child(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *map =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	(void)arg;
	t_barrier_child(&bar);
	t_store(map, len, 4, 0);
	t_barrier_wait(&bar);
	/* Keep the dirty mapping until the parent has checked. */
	t_barrier_wait(&bar);
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	volatile char *map;
	int fd, fd2, rfd;
	size_t big;
	char *buf;
	pid_t pid;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("b2");
	bpath = t_backing_path("b2");
	fd = t_create(file, len, 0);
	t_fsync(fd);

	/* 1 */
	pwrite_scattered(fd, 1);
	t_fsync(fd);
	check_backing(len, 1, "1: pwrite + fsync");

	/* 2 */
	fd2 = t_open(file, O_RDWR, 0);
	pwrite_scattered(fd, 2);
	T_CHECK(fdatasync(fd2) == 0, "fdatasync: %m");
	check_backing(len, 2, "2: pwrite + fdatasync of another descriptor");

	/* 3 */
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map, len, 3, 0);
	t_fsync(fd);
	check_backing(len, 3, "3: stores + fsync");

	/* 4 */
	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);
	t_barrier_wait(&bar);
	rfd = t_open(file, O_RDONLY, 0);
	t_fsync(rfd);
	check_backing(len, 4,
		      "4: child's stores + fsync of a read-only descriptor");
	t_barrier_wait(&bar);
	t_wait_ok(pid);
	t_close(rfd);
	t_munmap((void *)map, len);

	/* 5 */
	big = 2 * len;
	buf = malloc(big);
	T_CHECK(buf, "out of memory");
	t_fill(buf, big, 5, 0);
	t_pwrite(fd, buf + len, len, (off_t)len);
	map = t_mmap(big, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map, len, 5, 0);
	T_CHECK(fdatasync(fd) == 0, "fdatasync: %m");
	T_CHECK(t_size(bpath) == (off_t)big,
		"5: backing size %lld after fdatasync, expected %zu",
		(long long)t_size(bpath), big);
	check_backing(big, 5, "5: grown file + fdatasync");
	free(buf);
	t_munmap((void *)map, big);
	t_close(fd2);
	t_close(fd);
	return 0;
}
