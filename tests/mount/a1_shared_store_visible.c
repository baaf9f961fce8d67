// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * a1_shared_store_visible - SEMANTICS A1.
 *
 * A store into a MAP_SHARED mapping is visible, without msync(), to every
 * other process mapping the same region MAP_SHARED and to read().
 *
 * Two processes each open the file and map it MAP_SHARED themselves (no
 * inherited mapping).  Each stores into its own page; the other must see the
 * bytes in its mapping and through read() on a descriptor of its own, and a
 * third process that opens the file only afterwards must read them too.
 * No msync() or fsync() is called anywhere.
 *
 * Broken rule looks like: the other process's mapping or read() still shows
 * the old pattern (a daemon that maps with direct_io gets ENODEV from mmap;
 * one that serves reads from a stale cache shows the old bytes).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define SEED_OLD 1
#define SEED_PARENT 2
#define SEED_CHILD 3

static const char *file;
static struct t_barrier bar;

/* Check page PG of the file through MAP (a mapping) and through read(). */
static void check_page(volatile char *map, int fd, size_t pg, unsigned int seed,
		       const char *who)
{
	size_t ps = t_page_size();
	off_t off = (off_t)(pg * ps);
	char *buf = malloc(ps);

	T_CHECK(buf, "out of memory");
	t_check_pattern(map + off, ps, seed, off, who);
	T_CHECK(t_pread(fd, buf, ps, off) == ps, "short read of page %zu", pg);
	t_check_pattern(buf, ps, seed, off, who);
	free(buf);
}

static int child(void *arg)
{
	size_t ps = t_page_size(), len = NPAGES * ps;
	int fd = t_open(file, O_RDWR, 0);
	volatile char *map =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	(void)arg;
	t_barrier_child(&bar);
	/* Both have mapped and faulted the old bytes in. */
	t_check_pattern(map, len, SEED_OLD, 0, "child: old contents");
	t_barrier_wait(&bar);

	/* Round 1: the parent stored into page 1. */
	t_barrier_wait(&bar);
	check_page(map, fd, 1, SEED_PARENT,
		   "child: parent's store seen in child's mapping/read()");

	/* Round 2: the child stores into page 2 and a few bytes of page 3. */
	t_store(map + 2 * ps, ps, SEED_CHILD, (off_t)(2 * ps));
	t_store(map + 3 * ps + 100, 10, SEED_CHILD, (off_t)(3 * ps + 100));
	t_barrier_wait(&bar);

	/* Hold the mapping until the parent has checked. */
	t_barrier_wait(&bar);
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}

static int reader(void *arg)
{
	size_t ps = t_page_size();
	int fd = t_open(file, O_RDONLY, 0);
	char *buf = malloc(NPAGES * ps);

	(void)arg;
	T_CHECK(buf, "out of memory");
	T_CHECK(t_pread(fd, buf, NPAGES * ps, 0) == NPAGES * ps, "short read");
	t_check_pattern(buf, ps, SEED_OLD, 0, "reader: page 0");
	t_check_pattern(buf + ps, ps, SEED_PARENT, (off_t)ps, "reader: page 1");
	t_check_pattern(buf + 2 * ps, ps, SEED_CHILD, (off_t)(2 * ps),
			"reader: page 2");
	t_check_pattern(buf + 3 * ps + 100, 10, SEED_CHILD,
			(off_t)(3 * ps + 100), "reader: bytes in page 3");
	free(buf);
	t_close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	size_t ps, len;
	volatile char *map;
	pid_t pid;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("a1");
	t_close(t_create(file, len, SEED_OLD));

	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);

	fd = t_open(file, O_RDWR, 0);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check_pattern(map, len, SEED_OLD, 0, "parent: old contents");
	t_barrier_wait(&bar);

	/* Round 1: the parent stores into page 1. */
	t_store(map + ps, ps, SEED_PARENT, (off_t)ps);
	t_barrier_wait(&bar);

	/* Round 2: the child's stores. */
	t_barrier_wait(&bar);
	check_page(map, fd, 2, SEED_CHILD,
		   "parent: child's store seen in parent's mapping/read()");
	t_check_pattern(map + 3 * ps + 100, 10, SEED_CHILD,
			(off_t)(3 * ps + 100),
			"parent: child's bytes in page 3");

	/* A process that opens the file now reads every store. */
	t_wait_ok(t_fork(reader, NULL));
	t_barrier_wait(&bar);
	t_wait_ok(pid);

	/* The child's mapping is gone; its stores are still there. */
	check_page(map, fd, 2, SEED_CHILD, "parent: after child's munmap");
	check_page(map, fd, 0, SEED_OLD, "parent: untouched page 0");
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}
