// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * d1_offset_alignment - SEMANTICS D1.
 *
 * offset must be a multiple of the page size, else EINVAL; length 0 is
 * EINVAL.  A page-aligned non-zero offset maps exactly those bytes of the
 * file.
 *
 * Unaligned offsets (1, page/2, page-1, page+1) and length 0 (at offset 0
 * and at an aligned offset) must fail with EINVAL, MAP_SHARED and
 * MAP_PRIVATE alike.  Mapping at offsets 1, 2 and 5 pages (lengths of one
 * byte, one page and several pages; the last one reaching EOF exactly) must
 * show exactly the file's bytes from that offset, and a store through an
 * offset mapping must land at that offset of the file (read() and, after
 * msync, the backing file).
 *
 * Broken rule looks like: a mapping at offset N showing the bytes of
 * another offset (a READ answered for the wrong range), or an error other
 * than EINVAL.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 8

int main(int argc, char **argv)
{
	static const int flags[] = {MAP_SHARED, MAP_PRIVATE};
	size_t ps, len, i, k;
	off_t bad[4];
	struct {
		size_t pg, len;
	} good[] = {{1, 1}, {2, 0}, {5, 0}};
	volatile char *map;
	char what[96], buf[30];
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	bad[0] = 1;
	bad[1] = (off_t)ps / 2;
	bad[2] = (off_t)ps - 1;
	bad[3] = (off_t)ps + 1;
	good[1].len = ps;
	good[2].len = 3 * ps;
	fd = t_create(t_path("d1"), len, 1);

	for (k = 0; k < 2; k++) {
		for (i = 0; i < 4; i++)
			T_CHECK_ERRNO(
				mmap(NULL, ps, PROT_READ, flags[k], fd, bad[i]),
				EINVAL);
		T_CHECK_ERRNO(mmap(NULL, 0, PROT_READ, flags[k], fd, 0),
			      EINVAL);
		T_CHECK_ERRNO(mmap(NULL, 0, PROT_READ, flags[k], fd, (off_t)ps),
			      EINVAL);
	}

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		off_t off = (off_t)(good[i].pg * ps);

		for (k = 0; k < 2; k++) {
			map = t_mmap(good[i].len, PROT_READ | PROT_WRITE,
				     flags[k], fd, off);
			snprintf(what, sizeof(what),
				 "%s mapping at offset %lld, %zu bytes",
				 k ? "MAP_PRIVATE" : "MAP_SHARED",
				 (long long)off, good[i].len);
			t_check_pattern(map, good[i].len, 1, off, what);
			t_munmap((void *)map, good[i].len);
		}
	}

	/* A store through an offset mapping lands at that offset. */
	map = t_mmap(2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     (off_t)(3 * ps));
	t_store(map + ps + 10, 20, 2, (off_t)(4 * ps + 10));
	t_msync((void *)map, 2 * ps, MS_SYNC);
	T_CHECK(t_pread(fd, buf, 30, (off_t)(4 * ps)) == 30, "short");
	t_check_pattern(buf, 10, 1, (off_t)(4 * ps),
			"read(): bytes before the store");
	t_check_pattern(buf + 10, 20, 2, (off_t)(4 * ps + 10),
			"read(): store through the offset mapping");
	T_CHECK(t_read_file(t_backing_path("d1"), buf, 30, (off_t)(4 * ps)) ==
			30,
		"short");
	t_check_pattern(buf + 10, 20, 2, (off_t)(4 * ps + 10),
			"backing: store through the offset mapping");
	t_check_pattern(buf, 10, 1, (off_t)(4 * ps),
			"backing: bytes before the store");

	t_munmap((void *)map, 2 * ps);
	t_close(fd);
	return 0;
}
