// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * a4_fork_inherit - SEMANTICS A4.
 *
 * Across fork() a child inherits the parent's mappings: MAP_SHARED stays
 * shared both ways, MAP_PRIVATE becomes copy-on-write both ways.
 *
 * The parent maps one file twice, MAP_SHARED and MAP_PRIVATE, faults both in
 * (and dirties one private page before the fork), then forks.  In turn each
 * side stores into the shared mapping (the other must see it) and into the
 * private one, including the page that was copied before the fork (the
 * other must not see it, nor read(), nor the file).  Finally the
 * child exits and the parent checks the file through read() and, after
 * fsync(), the backing file: the shared stores of both are there, the
 * private ones of neither.
 *
 * Broken rule looks like: a shared store of one side missing on the other
 * side, or a private store leaking to the other side or into the file.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define SEED_OLD 1
#define SEED_PRE 2	/* private store before the fork */
#define SEED_S_PARENT 3 /* shared stores */
#define SEED_S_CHILD 4
#define SEED_P_PARENT 5 /* private stores after the fork */
#define SEED_P_CHILD 6

static struct t_barrier bar;
static size_t ps, len;
static volatile char *shared, *priv;
static int fd;

/*
 * Pages: 0 was stored privately before the fork (an anonymous COW page both
 * sides start from); 1 and 2 take the shared stores of the child and of the
 * parent; 3 takes private stores of both, each into its own half.  Private
 * stores go only to pages no one stores into through the shared mapping: an
 * untouched private page may show shared stores (Linux does), which is not
 * what this test is about.
 */
static int child(void *arg)
{
	size_t half = ps / 2;

	(void)arg;
	t_barrier_child(&bar);
	t_check_pattern(priv, ps, SEED_PRE, 0,
			"child: inherited private page 0");
	t_check_pattern(priv + ps, len - ps, SEED_OLD, (off_t)ps,
			"child: inherited private pages 1..");

	/* 1: the child stores into both mappings. */
	t_store(shared + ps, ps, SEED_S_CHILD, (off_t)ps);
	t_store(priv + 3 * ps, half, SEED_P_CHILD, (off_t)(3 * ps));
	t_store(priv, 10, SEED_P_CHILD, 0);
	t_barrier_wait(&bar);

	/* 2: the parent stored. */
	t_barrier_wait(&bar);
	t_check_pattern(shared + 2 * ps, ps, SEED_S_PARENT, (off_t)(2 * ps),
			"child: parent's shared store");
	t_check_pattern(priv + 3 * ps, half, SEED_P_CHILD, (off_t)(3 * ps),
			"child: own private store kept");
	t_check_pattern(priv + 3 * ps + half, ps - half, SEED_OLD,
			(off_t)(3 * ps + half),
			"child: parent's private store must not show");
	t_check_pattern(priv, 10, SEED_P_CHILD, 0,
			"child: own store into the inherited COW page");
	t_check_pattern(priv + 10, ps - 10, SEED_PRE, 10,
			"child: parent's store into the inherited COW page "
			"must not show");
	/* Exit with both mappings still in place. */
	return 0;
}

int main(int argc, char **argv)
{
	char *buf;
	pid_t pid;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	fd = t_create(t_path("a4"), len, SEED_OLD);
	shared = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	priv = t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	t_check_pattern(shared, len, SEED_OLD, 0, "shared before fork");
	t_check_pattern(priv, len, SEED_OLD, 0, "private before fork");
	t_store(priv, ps, SEED_PRE, 0);

	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);

	/* 1: the child stored. */
	t_barrier_wait(&bar);
	t_check_pattern(shared + ps, ps, SEED_S_CHILD, (off_t)ps,
			"parent: child's shared store");
	t_check_pattern(priv + 3 * ps, ps, SEED_OLD, (off_t)(3 * ps),
			"parent: child's private store must not show");
	t_check_pattern(priv, ps, SEED_PRE, 0,
			"parent: inherited COW page after the child's store");

	/* 2: the parent stores into both. */
	t_store(shared + 2 * ps, ps, SEED_S_PARENT, (off_t)(2 * ps));
	t_store(priv + 3 * ps + ps / 2, ps - ps / 2, SEED_P_PARENT,
		(off_t)(3 * ps + ps / 2));
	t_store(priv + 20, 10, SEED_P_PARENT, 20);
	t_barrier_wait(&bar);
	t_wait_ok(pid);

	/* read() and the file: shared stores only. */
	buf = malloc(len);
	T_CHECK(buf, "out of memory");
	T_CHECK(t_pread(fd, buf, len, 0) == len, "short read");
	t_check_pattern(buf, ps, SEED_OLD, 0, "read(): page 0");
	t_check_pattern(buf + ps, ps, SEED_S_CHILD, (off_t)ps,
			"read(): page 1");
	t_check_pattern(buf + 2 * ps, ps, SEED_S_PARENT, (off_t)(2 * ps),
			"read(): page 2");
	t_check_pattern(buf + 3 * ps, ps, SEED_OLD, (off_t)(3 * ps),
			"read(): page 3");
	t_fsync(fd);
	T_CHECK(t_read_file(t_backing_path("a4"), buf, len, 0) == len,
		"backing file is short");
	t_check_pattern(buf, ps, SEED_OLD, 0, "backing: page 0");
	t_check_pattern(buf + ps, ps, SEED_S_CHILD, (off_t)ps,
			"backing: page 1");
	t_check_pattern(buf + 2 * ps, ps, SEED_S_PARENT, (off_t)(2 * ps),
			"backing: page 2");
	t_check_pattern(buf + 3 * ps, ps, SEED_OLD, (off_t)(3 * ps),
			"backing: page 3");
	free(buf);
	t_check_pattern(priv + 3 * ps, ps / 2, SEED_OLD, (off_t)(3 * ps),
			"parent: private page 3, first half");
	t_check_pattern(priv + 3 * ps + ps / 2, ps - ps / 2, SEED_P_PARENT,
			(off_t)(3 * ps + ps / 2),
			"parent: own private store kept");
	t_check_pattern(priv + 20, 10, SEED_P_PARENT, 20,
			"parent: own store into the COW page kept");
	t_munmap((void *)shared, len);
	t_munmap((void *)priv, len);
	t_close(fd);
	return 0;
}
