// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * c5_no_append_via_map - SEMANTICS C5.
 *
 * mmap() cannot append: stores beyond EOF do not grow the file; a program
 * grows the file first (ftruncate), then maps.
 *
 * 1. A file of 1 page + 100 bytes is mapped 4 pages MAP_SHARED.  Storing
 *    into the rest of page 1 works but does not grow the file; storing into
 *    page 2 raises SIGBUS.  After msync(MS_SYNC), munmap() and close(), the
 *    size is still 1 page + 100 bytes on the mount and in the backing file.
 * 2. The way that works: ftruncate() to 4 pages first, map, store into all
 *    4 pages, msync(MS_SYNC): the size is 4 pages and the backing file holds
 *    the stores.  An empty file grown with ftruncate() the same way too.
 *
 * Broken rule looks like: a store past EOF that "works" (no SIGBUS on page 2)
 * or a file that grew through stores (write-back not cropped at EOF); or,
 * for the right way, stores lost after the file was grown.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 4

int main(int argc, char **argv)
{
	size_t ps, len;
	volatile char *map;
	off_t size;
	char *path, *bpath;
	int fd, sig;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	size = (off_t)ps + 100;
	path = t_path("c5");
	bpath = t_backing_path("c5");

	/* 1 */
	fd = t_create(path, (size_t)size, 1);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map + size, 2 * ps - (size_t)size, 2, size);
	T_CHECK(t_fsize(fd) == size, "1: stores past EOF grew the file to %lld",
		(long long)t_fsize(fd));
	sig = t_probe_write(map + 2 * ps, 'x');
	T_CHECK(sig == SIGBUS, "1: store into page 2, past EOF: %s",
		t_sig_name(sig));
	sig = t_probe_write(map + 3 * ps + 7, 'x');
	T_CHECK(sig == SIGBUS, "1: store into page 3, past EOF: %s",
		t_sig_name(sig));
	t_msync((void *)map, 2 * ps, MS_SYNC);
	T_CHECK(t_fsize(fd) == size, "1: size is %lld after msync",
		(long long)t_fsize(fd));
	t_munmap((void *)map, len);
	t_close(fd);
	T_CHECK(t_size(path) == size, "1: size is %lld after munmap+close",
		(long long)t_size(path));
	T_CHECK(t_size(bpath) == size, "1: backing size is %lld",
		(long long)t_size(bpath));
	t_check_file(bpath, (size_t)size, 1, 0, "1: backing file");

	/* 2: grow first, then map. */
	fd = t_open(path, O_RDWR, 0);
	t_ftruncate(fd, (off_t)len);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map, len, 3, 0);
	t_msync((void *)map, len, MS_SYNC);
	T_CHECK(t_fsize(fd) == (off_t)len, "2: size is %lld",
		(long long)t_fsize(fd));
	t_check_file(bpath, len, 3, 0, "2: backing file after ftruncate+store");
	t_munmap((void *)map, len);
	t_close(fd);

	fd = t_create(t_path("c5-empty"), 0, 0);
	t_ftruncate(fd, (off_t)len);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check_zero(map, len, 0, "2: empty file grown by ftruncate");
	t_store(map, len, 4, 0);
	t_msync((void *)map, len, MS_SYNC);
	t_check_file(t_backing_path("c5-empty"), len, 4, 0,
		     "2: backing file of the grown empty file");
	t_munmap((void *)map, len);
	t_close(fd);
	return 0;
}
