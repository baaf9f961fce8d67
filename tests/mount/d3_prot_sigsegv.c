// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * d3_prot_sigsegv - SEMANTICS D3.
 *
 * A store into a page without PROT_WRITE (from mmap() or mprotect()) raises
 * SIGSEGV.
 *
 *   - PROT_READ|MAP_SHARED on an O_RDWR descriptor: reads work, a store
 *     raises SIGSEGV (also in a child that inherited the mapping), the file
 *     is unchanged;
 *   - mprotect(PROT_READ|PROT_WRITE): stores work and reach the file;
 *     mprotect(PROT_READ) again: SIGSEGV again, the earlier stores stay;
 *   - mprotect(PROT_NONE): even a read raises SIGSEGV;
 *   - PROT_READ|MAP_PRIVATE: a store raises SIGSEGV too.
 * SIGSEGV, not SIGBUS: the page is inside the file.
 *
 * Broken rule looks like: a store that goes through, or SIGBUS instead of
 * SIGSEGV (the daemon failed the page's READ).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

static volatile char *map;
static size_t ps, len;

static void expect(int sig, int want, const char *what)
{
	T_CHECK(sig == want, "%s: got %s, expected %s", what, t_sig_name(sig),
		t_sig_name(want));
}

static int child(void *arg)
{
	(void)arg;
	expect(t_probe_read(map + ps), 0,
	       "child: read of an inherited PROT_READ map");
	expect(t_probe_write(map + ps, 'x'), SIGSEGV,
	       "child: store into an inherited PROT_READ map");
	return 0;
}

int main(int argc, char **argv)
{
	char *path, *bpath;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = 2 * ps;
	path = t_path("d3");
	bpath = t_backing_path("d3");
	fd = t_create(path, len, 1);

	map = t_mmap(len, PROT_READ, MAP_SHARED, fd, 0);
	expect(t_probe_read(map), 0, "read of a PROT_READ map");
	expect(t_probe_write(map, 'x'), SIGSEGV, "store into a PROT_READ map");
	expect(t_probe_write(map + len - 1, 'x'), SIGSEGV,
	       "store into the last byte of a PROT_READ map");
	t_wait_ok(t_fork(child, NULL));
	t_check_pattern(map, len, 1, 0, "PROT_READ map after refused stores");
	t_check_file(path, len, 1, 0, "file after refused stores");

	T_CHECK(mprotect((void *)map, len, PROT_READ | PROT_WRITE) == 0,
		"mprotect(PROT_READ|PROT_WRITE): %m");
	t_store(map, ps, 2, 0);
	T_CHECK(mprotect((void *)map, len, PROT_READ) == 0,
		"mprotect(PROT_READ): %m");
	expect(t_probe_write(map + 5, 'x'), SIGSEGV,
	       "store after mprotect(PROT_READ) into a dirty page");
	expect(t_probe_write(map + ps + 5, 'x'), SIGSEGV,
	       "store after mprotect(PROT_READ) into a clean page");
	t_check_pattern(map, ps, 2, 0, "stores made while writable");
	t_msync((void *)map, len, MS_SYNC);
	t_check_file(bpath, ps, 2, 0,
		     "backing file: stores made while writable");
	t_check_file(bpath, ps, 1, (off_t)ps, "backing file: page 1");

	T_CHECK(mprotect((void *)map, len, PROT_NONE) == 0,
		"mprotect(PROT_NONE): %m");
	expect(t_probe_read(map), SIGSEGV, "read of a PROT_NONE map");
	expect(t_probe_write(map, 'x'), SIGSEGV, "store into a PROT_NONE map");
	t_munmap((void *)map, len);

	map = t_mmap(len, PROT_READ, MAP_PRIVATE, fd, 0);
	expect(t_probe_write(map, 'x'), SIGSEGV,
	       "store into a PROT_READ MAP_PRIVATE map");
	t_munmap((void *)map, len);
	t_close(fd);
	t_check_file(path, ps, 2, 0, "file at the end, page 0");
	t_check_file(path, ps, 1, (off_t)ps, "file at the end, page 1");
	return 0;
}
