// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * d2_access_modes - SEMANTICS D2.
 *
 * The descriptor must be open for reading; PROT_WRITE with MAP_SHARED needs
 * it open read-write, else EACCES; PROT_WRITE with MAP_PRIVATE on a
 * read-only descriptor is allowed.
 *
 *   O_WRONLY: any mapping is EACCES (PROT_READ or PROT_WRITE, shared or
 *             private);
 *   O_RDONLY: PROT_READ shared and private work; PROT_WRITE|MAP_SHARED is
 *             EACCES, and so is a later mprotect(PROT_WRITE) of a shared
 *             read-only mapping; PROT_WRITE|MAP_PRIVATE works, its stores
 *             stay private (read() and the backing file unchanged);
 *   O_RDWR:   PROT_READ|PROT_WRITE|MAP_SHARED works and its stores reach
 *             the file.
 *
 * Broken rule looks like: a different errno, or a mapping that should have
 * been refused (these are all decided by the kernel before FUSE, but a
 * daemon that opens files with other modes than asked, or sets direct_io,
 * changes the outcome: MAP_SHARED on a direct_io file is ENODEV).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

int main(int argc, char **argv)
{
	size_t ps, len;
	volatile char *map;
	char *path;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = 2 * ps;
	path = t_path("d2");
	t_close(t_create(path, len, 1));

	fd = t_open(path, O_WRONLY, 0);
	T_CHECK_ERRNO(mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0), EACCES);
	T_CHECK_ERRNO(mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0), EACCES);
	T_CHECK_ERRNO(mmap(NULL, len, PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
	T_CHECK_ERRNO(
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
		EACCES);
	T_CHECK_ERRNO(mmap(NULL, len, PROT_WRITE, MAP_PRIVATE, fd, 0), EACCES);
	t_close(fd);

	fd = t_open(path, O_RDONLY, 0);
	T_CHECK_ERRNO(
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
		EACCES);
	T_CHECK_ERRNO(mmap(NULL, len, PROT_WRITE, MAP_SHARED, fd, 0), EACCES);

	map = t_mmap(len, PROT_READ, MAP_SHARED, fd, 0);
	t_check_pattern(map, len, 1, 0, "O_RDONLY, PROT_READ, MAP_SHARED");
	T_CHECK_ERRNO(mprotect((void *)map, len, PROT_READ | PROT_WRITE),
		      EACCES);
	t_munmap((void *)map, len);

	map = t_mmap(len, PROT_READ, MAP_PRIVATE, fd, 0);
	t_check_pattern(map, len, 1, 0, "O_RDONLY, PROT_READ, MAP_PRIVATE");
	t_munmap((void *)map, len);

	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	t_check_pattern(map, len, 1, 0, "O_RDONLY, PROT_WRITE, MAP_PRIVATE");
	t_store(map, len, 2, 0);
	t_check_pattern(map, len, 2, 0, "private stores read back");
	t_msync((void *)map, len, MS_SYNC);
	t_munmap((void *)map, len);
	t_close(fd);
	t_check_file(path, len, 1, 0, "read() after private stores");
	t_check_file(t_backing_path("d2"), len, 1, 0,
		     "backing file after private stores");

	fd = t_open(path, O_RDWR, 0);
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map + ps, ps, 3, (off_t)ps);
	t_msync((void *)map, len, MS_SYNC);
	t_munmap((void *)map, len);
	t_close(fd);
	t_check_file(t_backing_path("d2"), ps, 3, (off_t)ps,
		     "O_RDWR shared stores in the backing file");
	return 0;
}
