// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * a3_private_cow - SEMANTICS A3.
 *
 * Stores into a MAP_PRIVATE mapping are copy-on-write: never visible to
 * other processes, to read(), nor carried to the file.
 *
 * The parent maps the file MAP_PRIVATE and stores into two pages; a child
 * that maps the same file MAP_SHARED, and read() in both processes, must
 * still see the old bytes.  The parent then calls msync(MS_SYNC) on the
 * private mapping (allowed, and a no-op for private pages), fsync() on its
 * descriptor, munmap() and close(); the backing file must still hold the old
 * bytes, and so must a fresh read() on the mount.  The private copy itself
 * must keep the stores while a shared store elsewhere goes on.
 *
 * Broken rule looks like: the old pattern is replaced by the private stores
 * in the child's mapping, in read(), or in the backing file (a daemon that
 * treats every WRITE, or every mapped page, as shared would do that).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define SEED_OLD 1
#define SEED_PRIV 2

static const char *file;
static struct t_barrier bar;
static size_t ps, len;

static void check_old(int fd, const char *what)
{
	char *buf = malloc(len);

	T_CHECK(buf, "out of memory");
	T_CHECK(t_pread(fd, buf, len, 0) == len, "%s: short read", what);
	t_check_pattern(buf, len, SEED_OLD, 0, what);
	free(buf);
}

static int child(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *map =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	(void)arg;
	t_barrier_child(&bar);
	t_check_pattern(map, len, SEED_OLD, 0, "child: shared map before");
	t_barrier_wait(&bar);
	/* The parent has stored into its private mapping. */
	t_barrier_wait(&bar);
	t_check_pattern(map, len, SEED_OLD, 0,
			"child: shared map after the parent's private stores");
	check_old(fd, "child: read() after the parent's private stores");
	t_barrier_wait(&bar);
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	volatile char *priv;
	char *path;
	pid_t pid;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("a3");
	t_close(t_create(file, len, SEED_OLD));

	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);

	fd = t_open(file, O_RDWR, 0);
	priv = t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	t_check_pattern(priv, len, SEED_OLD, 0, "parent: private map before");
	t_barrier_wait(&bar);

	/* A whole page and a few bytes of another. */
	t_store(priv + ps, ps, SEED_PRIV, (off_t)ps);
	t_store(priv + 3 * ps + 17, 33, SEED_PRIV, (off_t)(3 * ps + 17));
	t_check_pattern(priv + ps, ps, SEED_PRIV, (off_t)ps,
			"parent: own private copy");
	check_old(fd, "parent: read() after private stores");
	t_barrier_wait(&bar);
	t_barrier_wait(&bar);
	t_wait_ok(pid);

	/* Durability points must not carry private pages anywhere. */
	t_msync((void *)priv, len, MS_SYNC);
	t_fsync(fd);
	t_check_pattern(priv + 3 * ps + 17, 33, SEED_PRIV, (off_t)(3 * ps + 17),
			"parent: private copy after msync");
	t_munmap((void *)priv, len);
	t_fsync(fd);
	t_close(fd);

	path = t_backing_path("a3");
	t_check_file(path, len, SEED_OLD, 0, "backing file after munmap+close");
	T_CHECK(t_size(path) == (off_t)len, "backing size changed to %lld",
		(long long)t_size(path));
	fd = t_open(file, O_RDONLY, 0);
	check_old(fd, "fresh read() on the mount after munmap+close");
	t_close(fd);
	return 0;
}
