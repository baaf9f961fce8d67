// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * attr_logical_size - every attribute reply carries the logical size.
 *
 * A file of one page (durable) is mapped four pages long; pages 1..3 lie
 * past EOF.  A pwrite() then grows it to four pages; the data is only in
 * the daemon's cache, the backing file still holds one page.  After the
 * kernel's attribute cache expires, stat() from another process (GETATTR),
 * a directory listing with stat of each entry (READDIRPLUS / LOOKUP), and
 * an open() of the file all fetch fresh attributes, and each time:
 *   - the size must be four pages,
 *   - page 3 of the existing mapping must stay readable (no SIGBUS) and
 *     hold the written bytes.
 * Broken rule looks like: stat() saying one page (the backing file's size)
 * and the kernel truncating its cache to it, so touching page 3 of the
 * mapping raises SIGBUS — what a daemon does when a reply carries the
 * backing file's size instead of the logical one.  Then the file is
 * truncated to two pages and a stale larger size must not come back: stat
 * says two pages and page 3 raises SIGBUS.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/t.h"

static size_t ps;
static char *path;

/* Outlive the kernel's attribute cache (attr_timeout defaults to 1 s). */
static void attr_expire(void)
{
	usleep(1200 * 1000);
}

static int child_stat(void *want)
{
	off_t size = t_size(path);

	T_CHECK(size == *(off_t *)want, "stat() in another process: size %lld, "
		"expected %lld", (long long)size, (long long)*(off_t *)want);
	return 0;
}

static void check_listing(const char *dir, off_t want)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;

	T_CHECK(d != NULL, "opendir(%s)", dir);
	while ((e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, "f"))
			continue;
		T_CHECK(fstatat(dirfd(d), e->d_name, &st,
				AT_SYMLINK_NOFOLLOW) == 0, "fstatat");
		T_CHECK(st.st_size == want, "listing: size %lld, expected %lld",
			(long long)st.st_size, (long long)want);
		seen = 1;
	}
	closedir(d);
	T_CHECK(seen, "the file is missing from the listing");
}

int main(int argc, char **argv)
{
	volatile char *map;
	char *buf, *dir;
	off_t want;
	char v;
	int fd, sig;

	t_init(argc, argv);
	ps = t_page_size();
	path = t_path("f");
	dir = t_path("");
	t_close(t_create(path, ps, 1));

	fd = t_open(path, O_RDWR, 0);
	map = t_mmap(4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sig = t_probe_read(map + 3 * ps);
	T_CHECK(sig == SIGBUS, "page 3 before the write: %s, expected SIGBUS",
		t_sig_name(sig));

	buf = malloc(3 * ps);
	T_CHECK(buf != NULL, "malloc");
	t_fill(buf, 3 * ps, 2, (off_t)ps);
	t_pwrite(fd, buf, 3 * ps, (off_t)ps);
	want = (off_t)(4 * ps);

	for (int round = 0; round < 3; round++) {
		attr_expire();
		if (round == 0)
			t_wait_ok(t_fork(child_stat, &want));
		else if (round == 1)
			check_listing(dir, want);
		else
			t_close(t_open(path, O_RDONLY, 0));
		T_CHECK(t_size(path) == want, "round %d: size %lld", round,
			(long long)t_size(path));
		sig = t_probe_read_val(map + 3 * ps, &v);
		T_CHECK(sig == 0, "round %d: page 3 of the mapping: %s after "
			"the size was refreshed", round, t_sig_name(sig));
	}
	t_check_pattern(map + ps, 3 * ps, 2, (off_t)ps, "grown part, mapped");

	/* A smaller size must stick: no stale larger size comes back. */
	t_ftruncate(fd, (off_t)(2 * ps));
	want = (off_t)(2 * ps);
	attr_expire();
	t_wait_ok(t_fork(child_stat, &want));
	check_listing(dir, want);
	sig = t_probe_read(map + 3 * ps);
	T_CHECK(sig == SIGBUS, "page 3 after truncating to 2 pages: %s",
		t_sig_name(sig));
	t_munmap((void *)map, 4 * ps);
	t_close(fd);
	free(buf);
	return 0;
}
