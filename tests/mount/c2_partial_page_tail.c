// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * c2_partial_page_tail - SEMANTICS C2.
 *
 * The last partial page is mapped whole: the bytes past EOF read as zero, a
 * program may store into them, and those stores are never carried to the
 * file nor change its size - also when the file is later extended while
 * that page is still dirty (ext4 zeroes the tail then).
 *
 * Part 1: a file of one page and 1000 bytes, mapped two pages MAP_SHARED.
 * The tail of page 1 reads zero; stores into it raise no signal and read
 * back; after msync(MS_SYNC), munmap() and close() the size is unchanged
 * (on the mount and in the backing file), read() stops at EOF, and the
 * backing file holds exactly the data.
 *
 * Part 2 (extension): the same, but with the page dirty past EOF (stored,
 * msync(MS_SYNC), stored again) while *another process* extends the file
 * with ftruncate() to three pages.  Then the old tail must read as zero
 * through read(), through the still-live mapping and, after fsync(), in the
 * backing file; page 2 likewise.  Part 3 does the same with the extension
 * made by a pwrite() past EOF in another process.
 *
 * Broken rule looks like: the size grew, or the backing file got the bytes
 * stored past EOF (the write-back was not cropped at EOF), or after the
 * extension the bytes stored past the old EOF appear in the file (the dirty
 * page was written back whole once the size had grown).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define TAIL 1000
#define SEED_DATA 1
#define SEED_JUNK 9
#define SEED_JUNK2 10
#define SEED_WRITE 11

static size_t ps;
static off_t size;
static const char *ext_file;
static int ext_by_write;

static void check_data(const char *path, const char *what)
{
	char *buf = malloc(4 * ps);
	size_t n;

	T_CHECK(buf, "out of memory");
	n = t_read_file(path, buf, 4 * ps, 0);
	T_CHECK(n == (size_t)size,
		"%s: read() returned %zu bytes, size is %lld", what, n,
		(long long)size);
	t_check_pattern(buf, n, SEED_DATA, 0, what);
	free(buf);
}

static int extender(void *arg)
{
	int fd = t_open(ext_file, O_RDWR, 0);
	char buf[100];

	(void)arg;
	if (ext_by_write) {
		t_fill(buf, sizeof(buf), SEED_WRITE, (off_t)(3 * ps) - 100);
		t_pwrite(fd, buf, sizeof(buf), (off_t)(3 * ps) - 100);
	} else {
		t_ftruncate(fd, (off_t)(3 * ps));
	}
	t_close(fd);
	return 0;
}

static void part1(void)
{
	const char *path = t_path("c2");
	volatile char *map;
	char c;
	int fd;

	fd = t_create(path, (size_t)size, SEED_DATA);
	t_fsync(fd);
	map = t_mmap(2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_check_pattern(map, (size_t)size, SEED_DATA, 0, "1: data");
	t_check_zero(map + size, 2 * ps - (size_t)size, size,
		     "1: tail of the partial page");
	T_CHECK(t_probe_write(map + 2 * ps - 1, 'x') == 0,
		"1: store into the last byte of the partial page faulted");
	t_store(map + size, 2 * ps - (size_t)size, SEED_JUNK, size);
	t_check_pattern(map + size, 2 * ps - (size_t)size, SEED_JUNK, size,
			"1: stores past EOF read back");
	t_msync((void *)map, 2 * ps, MS_SYNC);
	T_CHECK(t_fsize(fd) == size, "1: size became %lld after msync",
		(long long)t_fsize(fd));
	T_CHECK(pread(fd, &c, 1, size) == 0, "1: read() at EOF returned data");
	check_data(t_backing_path("c2"), "1: backing file after msync");
	t_munmap((void *)map, 2 * ps);
	t_close(fd);
	T_CHECK(t_size(path) == size, "1: size became %lld after close",
		(long long)t_size(path));
	check_data(path, "1: read() after munmap+close");
	check_data(t_backing_path("c2"), "1: backing file after munmap+close");
}

static void part_extend(const char *name, int by_write, const char *tag)
{
	char *buf = malloc(3 * ps), what[96];
	volatile char *map;
	off_t new_size = (off_t)(3 * ps);
	int fd;

	T_CHECK(buf, "out of memory");
	ext_file = t_path(name);
	ext_by_write = by_write;
	fd = t_create(ext_file, (size_t)size, SEED_DATA);
	t_fsync(fd);
	map = t_mmap(3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map + size, 2 * ps - (size_t)size, SEED_JUNK, size);
	t_msync((void *)map, 3 * ps, MS_SYNC);
	/* Dirty again, and leave it dirty. */
	t_store(map + size, 2 * ps - (size_t)size, SEED_JUNK2, size);

	t_wait_ok(t_fork(extender, NULL));
	T_CHECK(t_fsize(fd) == new_size, "%s: size is %lld after extension",
		tag, (long long)t_fsize(fd));

	snprintf(what, sizeof(what), "%s: read() of the old tail", tag);
	T_CHECK(t_pread(fd, buf, 3 * ps, 0) == 3 * ps, "%s: short read", tag);
	t_check_pattern(buf, (size_t)size, SEED_DATA, 0, what);
	t_check_zero(buf + size,
		     (size_t)(new_size - size) - (by_write ? 100 : 0), size,
		     what);
	snprintf(what, sizeof(what), "%s: mapping of the old tail", tag);
	t_check_zero(map + size,
		     (size_t)(new_size - size) - (by_write ? 100 : 0), size,
		     what);

	t_fsync(fd);
	snprintf(what, sizeof(what), "%s: backing file after fsync", tag);
	T_CHECK(t_read_file(t_backing_path(name), buf, 3 * ps, 0) == 3 * ps,
		"%s: backing file is short", tag);
	t_check_pattern(buf, (size_t)size, SEED_DATA, 0, what);
	t_check_zero(buf + size,
		     (size_t)(new_size - size) - (by_write ? 100 : 0), size,
		     what);
	if (by_write)
		t_check_pattern(buf + new_size - 100, 100, SEED_WRITE,
				new_size - 100, what);
	t_munmap((void *)map, 3 * ps);
	t_close(fd);
	free(buf);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	ps = t_page_size();
	size = (off_t)ps + TAIL;
	part1();
	part_extend("c2-trunc", 0, "2 (ftruncate)");
	part_extend("c2-write", 1, "3 (pwrite)");
	return 0;
}
