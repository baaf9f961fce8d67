// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * c1_sigbus_past_eof - SEMANTICS C1.
 *
 * Touching a mapped page that lies wholly past end of file raises SIGBUS.
 *
 * The file is written to 4 pages of data and then cut to one page and 1000
 * bytes, so that the old bytes are still around wherever a cache or the
 * backing file's blocks might keep them.  It is mapped 4 pages long,
 * MAP_SHARED and MAP_PRIVATE, in this process and in a child:
 *   - pages 2 and 3 (wholly past EOF) raise SIGBUS on read and on store;
 *   - page 0 and the first 1000 bytes of page 1 hold the data, the rest of
 *     page 1 reads as zero (not the old bytes);
 *   - an empty file mapped one page raises SIGBUS at its first byte;
 *   - nothing of this changes the size.
 *
 * Broken rule looks like: a page past EOF readable (zeros or old bytes: the
 * kernel was told a larger size than the file has), or the partial page
 * showing the old bytes past EOF (a READ reply longer than the file).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4
#define TAIL 1000

static size_t ps, len;
static off_t size;
static const char *file;

static void check_map(volatile char *map, const char *kind)
{
	char what[96];
	size_t pg;
	int sig;

	snprintf(what, sizeof(what), "%s: data below EOF", kind);
	t_check_pattern(map, (size_t)size, 1, 0, what);
	snprintf(what, sizeof(what), "%s: tail of the partial page", kind);
	t_check_zero(map + size, 2 * ps - (size_t)size, size, what);
	for (pg = 2; pg < NPAGES; pg++) {
		sig = t_probe_read(map + pg * ps);
		T_CHECK(sig == SIGBUS, "%s: read of page %zu past EOF: %s",
			kind, pg, t_sig_name(sig));
		sig = t_probe_read(map + pg * ps + ps - 1);
		T_CHECK(sig == SIGBUS,
			"%s: read of the last byte of page %zu: %s", kind, pg,
			t_sig_name(sig));
		sig = t_probe_write(map + pg * ps + 5, 'x');
		T_CHECK(sig == SIGBUS, "%s: store into page %zu past EOF: %s",
			kind, pg, t_sig_name(sig));
	}
}

static void check_all(const char *who)
{
	int fd = t_open(file, O_RDWR, 0);
	volatile char *shared =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	volatile char *priv =
		t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char what[64];

	snprintf(what, sizeof(what), "%s, MAP_SHARED", who);
	check_map(shared, what);
	snprintf(what, sizeof(what), "%s, MAP_PRIVATE", who);
	check_map(priv, what);
	T_CHECK(t_fsize(fd) == size, "%s: size became %lld", who,
		(long long)t_fsize(fd));
	t_munmap((void *)shared, len);
	t_munmap((void *)priv, len);
	t_close(fd);
}

static int child(void *arg)
{
	(void)arg;
	check_all("child");
	return 0;
}

int main(int argc, char **argv)
{
	volatile char *map;
	int fd, sig;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	size = (off_t)ps + TAIL;
	file = t_path("c1");
	fd = t_create(file, len, 1);
	t_fsync(fd);
	t_ftruncate(fd, size);
	t_close(fd);

	check_all("parent");
	t_wait_ok(t_fork(child, NULL));
	T_CHECK(t_size(t_backing_path("c1")) == size,
		"backing size became %lld",
		(long long)t_size(t_backing_path("c1")));

	/* An empty file: even its first page is past EOF. */
	fd = t_create(t_path("c1-empty"), 0, 0);
	map = t_mmap(ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sig = t_probe_read(map);
	T_CHECK(sig == SIGBUS, "read of an empty file's mapping: %s",
		t_sig_name(sig));
	sig = t_probe_write(map, 'x');
	T_CHECK(sig == SIGBUS, "store into an empty file's mapping: %s",
		t_sig_name(sig));
	T_CHECK(t_fsize(fd) == 0, "empty file grew to %lld",
		(long long)t_fsize(fd));
	t_munmap((void *)map, ps);
	t_close(fd);
	return 0;
}
