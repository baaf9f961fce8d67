// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * a5_close_unlink_keep_map - SEMANTICS A5.
 *
 * Once mmap() has returned, closing the descriptor does not affect the
 * mapping; unlinking or renaming the file does not either.
 *
 * 1. Map a file, close the descriptor: the mapping still reads the file,
 *    stores still reach it (read() through a fresh descriptor sees them).
 * 2. Rename the file: stores still reach it under the new name, and after
 *    msync(MS_SYNC) the backing file under the new name holds them.
 * 3. Create a new file with the *old* name: it is a different file, the
 *    mapping neither shows its bytes nor writes into it.
 * 4. Unlink the renamed file: the mapping still reads and stores (also in a
 *    child that inherits it and stores while the parent reads), msync(MS_SYNC)
 *    succeeds; the new file under the old name is untouched.
 *
 * Broken rule looks like: SIGBUS or stale/foreign bytes in the mapping after
 * close/rename/unlink (a daemon that resolves files by path would read or
 * write the wrong file), an msync() error, or the stores landing in the
 * new file that took the old name.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 3
#define SEED_OLD 1
#define SEED_AFTER_CLOSE 2
#define SEED_AFTER_RENAME 3
#define SEED_NEWFILE 4
#define SEED_AFTER_UNLINK 5
#define SEED_CHILD 6

static size_t ps, len;
static volatile char *map;
static struct t_barrier bar;

static void check_through_fd(const char *path, off_t off, size_t n,
			     unsigned int seed, const char *what)
{
	char *buf = malloc(n);

	T_CHECK(buf, "out of memory");
	T_CHECK(t_read_file(path, buf, n, off) == n, "%s: short read", what);
	t_check_pattern(buf, n, seed, off, what);
	free(buf);
}

static int child(void *arg)
{
	(void)arg;
	t_barrier_child(&bar);
	t_check_pattern(map + ps, ps, SEED_AFTER_UNLINK, (off_t)ps,
			"child: inherited mapping of the unlinked file");
	t_store(map + 2 * ps, ps, SEED_CHILD, (off_t)(2 * ps));
	t_barrier_wait(&bar);
	return 0;
}

int main(int argc, char **argv)
{
	char *name1, *name2, *bname1, *bname2;
	pid_t pid;
	int fd, fd2;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	name1 = t_path("a5-old");
	name2 = t_path("a5-new");
	bname1 = t_backing_path("a5-old");
	bname2 = t_backing_path("a5-new");

	/* 1. close */
	fd = t_create(name1, len, SEED_OLD);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_close(fd);
	t_check_pattern(map, len, SEED_OLD, 0, "mapping after close");
	t_store(map, ps, SEED_AFTER_CLOSE, 0);
	check_through_fd(name1, 0, ps, SEED_AFTER_CLOSE,
			 "read() of a store made after close");

	/* 2. rename */
	if (rename(name1, name2))
		t_fail("rename: %s", strerror(errno));
	t_check_pattern(map, ps, SEED_AFTER_CLOSE, 0, "mapping after rename");
	t_store(map + ps, ps, SEED_AFTER_RENAME, (off_t)ps);
	check_through_fd(name2, (off_t)ps, ps, SEED_AFTER_RENAME,
			 "read() under the new name");
	t_msync((void *)map, len, MS_SYNC);
	check_through_fd(bname2, 0, ps, SEED_AFTER_CLOSE,
			 "backing file under the new name, page 0");
	check_through_fd(bname2, (off_t)ps, ps, SEED_AFTER_RENAME,
			 "backing file under the new name, page 1");

	/* 3. a new file takes the old name */
	fd2 = t_create(name1, len, SEED_NEWFILE);
	t_close(fd2);
	t_check_pattern(map, ps, SEED_AFTER_CLOSE, 0,
			"mapping after a new file took the old name");
	t_check_pattern(map + 2 * ps, ps, SEED_OLD, (off_t)(2 * ps),
			"mapping after a new file took the old name");

	/* 4. unlink */
	if (unlink(name2))
		t_fail("unlink: %s", strerror(errno));
	t_check_pattern(map, ps, SEED_AFTER_CLOSE, 0, "mapping after unlink");
	t_store(map + ps, ps, SEED_AFTER_UNLINK, (off_t)ps);
	t_barrier_init(&bar);
	pid = t_fork(child, NULL);
	t_barrier_parent(&bar);
	t_barrier_wait(&bar);
	t_wait_ok(pid);
	t_check_pattern(map + 2 * ps, ps, SEED_CHILD, (off_t)(2 * ps),
			"parent: child's store into the unlinked file");
	t_check_pattern(map + ps, ps, SEED_AFTER_UNLINK, (off_t)ps,
			"parent: own store into the unlinked file");
	t_msync((void *)map, len, MS_SYNC);
	t_munmap((void *)map, len);

	/* The file that took the old name was never written. */
	check_through_fd(name1, 0, len, SEED_NEWFILE,
			 "new file under the old name (mount)");
	check_through_fd(bname1, 0, len, SEED_NEWFILE,
			 "new file under the old name (backing)");
	T_CHECK(t_size(name1) == (off_t)len, "new file's size is %lld",
		(long long)t_size(name1));
	T_CHECK(access(bname2, F_OK) && errno == ENOENT,
		"the unlinked name is back in the backing dir");
	return 0;
}
