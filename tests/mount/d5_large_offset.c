// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * d5_large_offset - SEMANTICS D5.
 *
 * Large files: a page-aligned offset far past 4 GiB in a sparse file maps,
 * stores and reads back correctly.
 *
 * A sparse file of 5 GiB + 4 pages (ftruncate only; nothing written below).
 * Mappings at exactly 4 GiB and at 5 GiB + 1 page: they read zero, take
 * stores; after msync(MS_SYNC) the bytes read back through pread() on the
 * mount at the same 64-bit offsets and raw from the backing file; the hole
 * in between still reads zero; an offset that would be the same modulo
 * 2^32 (1 GiB + 1 page) still reads zero (a truncated offset would find the
 * data there); the size is unchanged.
 *
 * Broken rule looks like: data at the wrong offset (32-bit truncation of
 * an offset anywhere), an EFBIG/EOVERFLOW, or the backing file not sparse
 * enough to exist (the daemon filled the hole: ENOSPC on small disks).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define GIB (1024LL * 1024 * 1024)

int main(int argc, char **argv)
{
	size_t ps;
	off_t size, off4, off5;
	volatile char *m4, *m5;
	char *buf, *bpath;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	size = 5 * GIB + 4 * (off_t)ps;
	off4 = 4 * GIB;
	off5 = 5 * GIB + (off_t)ps;
	bpath = t_backing_path("d5");
	buf = malloc(2 * ps);
	T_CHECK(buf, "out of memory");

	fd = t_open(t_path("d5"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	t_ftruncate(fd, size);
	m4 = t_mmap(ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off4);
	m5 = t_mmap(2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off5);
	t_check_zero(m4, ps, off4, "mapping at 4 GiB before stores");
	t_check_zero(m5, 2 * ps, off5,
		     "mapping at 5 GiB + 1 page before stores");
	t_store(m4, ps, 1, off4);
	t_store(m5 + 100, 2 * ps - 200, 2, off5 + 100);
	t_msync((void *)m4, ps, MS_SYNC);
	t_msync((void *)m5, 2 * ps, MS_SYNC);

	T_CHECK(t_pread(fd, buf, ps, off4) == ps, "short read at 4 GiB");
	t_check_pattern(buf, ps, 1, off4, "pread() at 4 GiB");
	T_CHECK(t_pread(fd, buf, 2 * ps, off5) == 2 * ps,
		"short read at 5 GiB");
	t_check_zero(buf, 100, off5, "pread() at 5 GiB + 1 page");
	t_check_pattern(buf + 100, 2 * ps - 200, 2, off5 + 100,
			"pread() at 5 GiB + 1 page");
	t_check_zero(buf + 2 * ps - 100, 100, off5 + 2 * (off_t)ps - 100,
		     "pread() at 5 GiB + 1 page");

	t_check_file(bpath, ps, 1, off4, "backing file at 4 GiB");
	t_check_file(bpath, 2 * ps - 200, 2, off5 + 100,
		     "backing file at 5 GiB + 1 page");
	T_CHECK(t_read_file(bpath, buf, ps, off4 + (off_t)ps) == ps, "short");
	t_check_zero(buf, ps, off4 + (off_t)ps, "backing file after 4 GiB");
	T_CHECK(t_read_file(bpath, buf, 2 * ps, 1 * GIB + (off_t)ps) == 2 * ps,
		"short");
	t_check_zero(buf, 2 * ps, 1 * GIB + (off_t)ps,
		     "backing file at 1 GiB + 1 page (5 GiB mod 2^32)");
	T_CHECK(t_pread(fd, buf, ps, 0) == ps, "short");
	t_check_zero(buf, ps, 0, "pread() at 0 (4 GiB mod 2^32)");
	T_CHECK(t_fsize(fd) == size, "size is %lld", (long long)t_fsize(fd));
	T_CHECK(t_size(bpath) == size, "backing size is %lld",
		(long long)t_size(bpath));

	t_munmap((void *)m4, ps);
	t_munmap((void *)m5, 2 * ps);
	t_close(fd);
	free(buf);
	return 0;
}
