// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * a2_write_visible_in_map - SEMANTICS A2.
 *
 * A write()/pwrite() to the file is visible through every existing
 * MAP_SHARED mapping of that region.
 *
 * The parent and a child each map the file MAP_SHARED (own open, own mmap)
 * and fault every page in.  Then, in turn, the child pwrite()s an unaligned
 * range that straddles a page boundary, the parent write()s through a
 * descriptor opened O_WRONLY after lseek(), and a third process writes with
 * O_APPEND inside the mapped length (the file was made shorter first).  After
 * each write both mappings must show the new bytes at once, the bytes around
 * them unchanged; nobody calls msync() or fsync().
 *
 * Broken rule looks like: a mapping still shows the old bytes (the kernel
 * page cache was bypassed, or the daemon's READ served a stale copy when the
 * page was refaulted), or neighbouring bytes changed (a write-back of a
 * stale page over the write).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define SEED_OLD 1
#define SEED_CHILD 2
#define SEED_PARENT 3
#define SEED_APPEND 4

static const char *file;
static struct t_barrier bar;
static size_t ps, len;

/* The ranges each writer writes; the rest keeps SEED_OLD. */
static off_t child_off, parent_off;
static size_t child_len, parent_len;
static off_t append_off;
static size_t append_len;

/* Check that [*pos, off) holds the old bytes and [off, off + n) SEED. */
static void check_run(volatile char *map, off_t *pos, off_t off, size_t n,
		      unsigned int seed, const char *what)
{
	t_check_pattern(map + *pos, (size_t)(off - *pos), SEED_OLD, *pos, what);
	t_check_pattern(map + off, n, seed, off, what);
	*pos = off + (off_t)n;
}

/* Check the whole mapping after the writes of steps 1..STEP. */
static void check_map(volatile char *map, int step, const char *who)
{
	char what[128];
	off_t pos = 0;

	snprintf(what, sizeof(what), "%s, step %d", who, step);
	if (step >= 1)
		check_run(map, &pos, child_off, child_len, SEED_CHILD, what);
	if (step >= 2)
		check_run(map, &pos, parent_off, parent_len, SEED_PARENT, what);
	if (step >= 3)
		check_run(map, &pos, append_off, append_len, SEED_APPEND, what);
	check_run(map, &pos, (off_t)len, 0, SEED_OLD, what);
}

static int appender(void *arg)
{
	int fd = t_open(file, O_WRONLY | O_APPEND, 0);
	char *buf = malloc(append_len);
	ssize_t n;

	(void)arg;
	T_CHECK(buf, "out of memory");
	t_fill(buf, append_len, SEED_APPEND, append_off);
	n = write(fd, buf, append_len);
	T_CHECK(n == (ssize_t)append_len, "append wrote %zd of %zu bytes", n,
		append_len);
	free(buf);
	t_close(fd);
	return 0;
}

static int child(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *map =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *buf = malloc(child_len);

	(void)arg;
	T_CHECK(buf, "out of memory");
	t_barrier_child(&bar);
	check_map(map, 0, "child");
	t_barrier_wait(&bar);

	/* Step 1: pwrite() across the boundary of pages 0 and 1. */
	t_fill(buf, child_len, SEED_CHILD, child_off);
	t_pwrite(fd, buf, child_len, child_off);
	check_map(map, 1, "child's map after its own pwrite");
	t_barrier_wait(&bar);

	/* Step 2: the parent's write(). */
	t_barrier_wait(&bar);
	check_map(map, 2, "child's map after the parent's write()");
	t_barrier_wait(&bar);

	/* Step 3: the O_APPEND write. */
	t_barrier_wait(&bar);
	check_map(map, 3, "child's map after the O_APPEND write");
	free(buf);
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	volatile char *map;
	char *buf;
	pid_t pid;
	int fd, wfd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	child_off = (off_t)ps - 123;
	child_len = 300;
	parent_off = (off_t)(2 * ps) + 7;
	parent_len = ps + 1;
	append_off = (off_t)(3 * ps) + 500;
	append_len = 1000;
	file = t_path("a2");
	t_close(t_create(file, len, SEED_OLD));

	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);

	fd = t_open(file, O_RDWR, 0);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check_map(map, 0, "parent");
	t_barrier_wait(&bar);

	/* Step 1: the child's pwrite(). */
	t_barrier_wait(&bar);
	check_map(map, 1, "parent's map after the child's pwrite");

	/* Step 2: write() through an O_WRONLY descriptor after lseek(). */
	buf = malloc(parent_len);
	T_CHECK(buf, "out of memory");
	t_fill(buf, parent_len, SEED_PARENT, parent_off);
	wfd = t_open(file, O_WRONLY, 0);
	T_CHECK(lseek(wfd, parent_off, SEEK_SET) == parent_off, "lseek");
	T_CHECK(write(wfd, buf, parent_len) == (ssize_t)parent_len,
		"short write()");
	t_close(wfd);
	free(buf);
	check_map(map, 2, "parent's map after its own write()");
	t_barrier_wait(&bar);

	/*
	 * Step 3: cut the file to append_off, append the bytes, and restore
	 * the length with the old pattern, so that every byte is again
	 * known.  The mappings stay in place throughout; the cut may not
	 * be touched by anyone while it lasts (it would SIGBUS, C3).
	 */
	t_barrier_wait(&bar);
	t_ftruncate(fd, append_off);
	t_wait_ok(t_fork(appender, NULL));
	T_CHECK(t_fsize(fd) == append_off + (off_t)append_len,
		"size after append is %lld", (long long)t_fsize(fd));
	buf = malloc(len);
	T_CHECK(buf, "out of memory");
	t_fill(buf, len, SEED_OLD, 0);
	t_pwrite(fd, buf + append_off + append_len,
		 len - (size_t)append_off - append_len,
		 append_off + (off_t)append_len);
	free(buf);
	check_map(map, 3, "parent's map after the O_APPEND write");
	t_barrier_wait(&bar);
	t_wait_ok(pid);

	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}
