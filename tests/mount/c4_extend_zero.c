// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * c4_extend_zero - SEMANTICS C4.
 *
 * After an extending truncate or a write() past EOF, the new region reads as
 * zero (or as the written data), through read() and through any mapping -
 * never as stale bytes from before.  Previously SIGBUS pages become
 * accessible.
 *
 * The file is first 8 pages of data, made durable, then cut to 1 page + 100
 * bytes: the old bytes stay around in whatever caches them.  Mapped 8 pages
 * MAP_SHARED (pages 2..7 raise SIGBUS), then:
 *   1. another process extends it with ftruncate() to 4 pages: pages 2 and 3
 *      are now accessible and, with the tail of page 1, read zero through
 *      the mapping, through read() and (after fsync) in the backing file;
 *      pages 4..7 still raise SIGBUS;
 *   2. another process pwrite()s 50 bytes at 6 pages + 10: pages 4 and 5,
 *      and the bytes around the written ones in page 6, read zero; the
 *      written bytes read back; page 7 still raises SIGBUS.
 * A MAP_PRIVATE mapping made before the extension must show the same.
 *
 * Broken rule looks like: the old data (or anything but zero) in the
 * extended region (a cache that kept pages past EOF, or a READ reply that
 * served them), or SIGBUS on pages inside the new size (a stale size).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 8
#define SEED_OLD 1
#define SEED_WRITE 2

static size_t ps, len;
static const char *file;
static int step;

static int extender(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);
	char buf[50];

	(void)arg;
	if (step == 1) {
		t_ftruncate(fd, (off_t)(4 * ps));
	} else {
		t_fill(buf, sizeof(buf), SEED_WRITE, (off_t)(6 * ps + 10));
		t_pwrite(fd, buf, sizeof(buf), (off_t)(6 * ps + 10));
	}
	t_close(fd);
	return 0;
}

static void check_sigbus(volatile char *map, size_t from, const char *what)
{
	size_t pg;
	int sig;

	for (pg = from; pg < NPAGES; pg++) {
		sig = t_probe_read(map + pg * ps);
		T_CHECK(sig == SIGBUS, "%s: page %zu past EOF: %s", what, pg,
			t_sig_name(sig));
	}
}

/* Check BUF (a mapping or a read() buffer) holds the expected file. */
static void check_contents(const volatile char *buf, const char *what)
{
	off_t keep = (off_t)ps + 100;

	t_check_pattern(buf, (size_t)keep, SEED_OLD, 0, what);
	if (step == 1) {
		t_check_zero(buf + keep, 4 * ps - (size_t)keep, keep, what);
		return;
	}
	t_check_zero(buf + keep, 6 * ps + 10 - (size_t)keep, keep, what);
	t_check_pattern(buf + 6 * ps + 10, 50, SEED_WRITE, (off_t)(6 * ps + 10),
			what);
}

static void check_all(int fd, volatile char *shared, volatile char *priv,
		      off_t size)
{
	size_t end = ((size_t)size + ps - 1) / ps * ps; /* end of last page */
	char *buf = malloc(len), what[96];

	T_CHECK(buf, "out of memory");
	T_CHECK(t_fsize(fd) == size, "%d: size is %lld, expected %lld", step,
		(long long)t_fsize(fd), (long long)size);
	snprintf(what, sizeof(what), "%d: MAP_SHARED", step);
	check_contents(shared, what);
	t_check_zero(shared + size, end - (size_t)size, size, what);
	check_sigbus(shared, end / ps, what);
	snprintf(what, sizeof(what), "%d: MAP_PRIVATE", step);
	check_contents(priv, what);
	t_check_zero(priv + size, end - (size_t)size, size, what);
	check_sigbus(priv, end / ps, what);
	snprintf(what, sizeof(what), "%d: read()", step);
	T_CHECK(t_pread(fd, buf, len, 0) == (size_t)size, "%s: short", what);
	check_contents(buf, what);
	t_fsync(fd);
	snprintf(what, sizeof(what), "%d: backing file after fsync", step);
	T_CHECK(t_read_file(t_backing_path("c4"), buf, len, 0) == (size_t)size,
		"%s: wrong length", what);
	check_contents(buf, what);
	free(buf);
}

int main(int argc, char **argv)
{
	volatile char *shared, *priv;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("c4");
	fd = t_create(file, len, SEED_OLD);
	t_fsync(fd);
	shared = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check_pattern(shared, len, SEED_OLD, 0, "old contents");
	t_ftruncate(fd, (off_t)ps + 100);
	t_fsync(fd);
	priv = t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check_sigbus(shared, 2, "0: MAP_SHARED after the cut");
	check_sigbus(priv, 2, "0: MAP_PRIVATE after the cut");

	step = 1;
	t_wait_ok(t_fork(extender, NULL));
	check_all(fd, shared, priv, (off_t)(4 * ps));

	step = 2;
	t_wait_ok(t_fork(extender, NULL));
	check_all(fd, shared, priv, (off_t)(6 * ps + 60));

	t_munmap((void *)shared, len);
	t_munmap((void *)priv, len);
	t_close(fd);
	return 0;
}
