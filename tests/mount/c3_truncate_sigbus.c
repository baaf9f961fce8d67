// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * c3_truncate_sigbus - SEMANTICS C3 (truncation through the mount; the
 * outside case belongs with A6).
 *
 * After a shrinking truncate by any process, pages past the new EOF raise
 * SIGBUS when touched, and the tail of the new last page reads as zero.
 *
 * The parent maps a 6-page file MAP_SHARED and MAP_PRIVATE, reads every
 * page, dirties pages 3 and 5 of the shared mapping (never synced) and
 * copies page 4 of the private one.  A child process cuts the file with
 * ftruncate() to 1 page + 1000 bytes.  In the parent, at once:
 *   - pages 2..5 raise SIGBUS on read and store, in both mappings (the
 *     private copy of page 4 is gone too);
 *   - page 0 and the first 1000 bytes of page 1 are unchanged, the rest of
 *     page 1 reads as zero in both mappings and through read();
 *   - the size is 1 page + 1000 bytes on the mount and, after fsync(), in
 *     the backing file, read raw: the stores into pages 3 and 5 were never
 *     written past EOF, not even later (checked again after msync and after
 *     munmap, which are write-back points for anything left dirty).
 * A second round stores into the zeroed tail of page 1 and truncates again,
 * in the child, to 100 bytes: page 1 now raises SIGBUS as well.
 *
 * Broken rule looks like: a page past the new EOF still readable (the daemon
 * answered the SETATTR with the old size, or a later attribute reply
 * restored it), old bytes in the tail of page 1, or the backing file
 * longer than the new size / holding stored bytes (a write-back of a dirty
 * page past EOF that landed after the truncation and re-extended the file).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 6
#define TAIL 1000
#define SEED_DATA 1
#define SEED_DIRTY 2
#define SEED_PRIV 3

static size_t ps, len;
static const char *file;
static off_t cut_to;

static int cutter(void *arg)
{
	int fd = t_open(file, O_RDWR, 0);

	(void)arg;
	t_ftruncate(fd, cut_to);
	t_close(fd);
	return 0;
}

static void check_sigbus(volatile char *map, size_t from_pg, const char *kind)
{
	size_t pg;
	int sig;

	for (pg = from_pg; pg < NPAGES; pg++) {
		sig = t_probe_read(map + pg * ps + 17);
		T_CHECK(sig == SIGBUS,
			"%s: read of page %zu past the new EOF: %s", kind, pg,
			t_sig_name(sig));
		sig = t_probe_write(map + pg * ps, 'x');
		T_CHECK(sig == SIGBUS,
			"%s: store into page %zu past the new EOF: %s", kind,
			pg, t_sig_name(sig));
	}
}

static void check_backing(off_t size, const char *what)
{
	const char *bpath = t_backing_path("c3");
	char *buf = malloc(len);
	size_t n;

	T_CHECK(buf, "out of memory");
	T_CHECK(t_size(bpath) == size,
		"%s: backing size is %lld, expected %lld", what,
		(long long)t_size(bpath), (long long)size);
	n = t_read_file(bpath, buf, len, 0);
	T_CHECK(n == (size_t)size, "%s: read %zu bytes of the backing file",
		what, n);
	t_check_pattern(buf, n, SEED_DATA, 0, what);
	free(buf);
}

int main(int argc, char **argv)
{
	volatile char *shared, *priv;
	char *buf;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	file = t_path("c3");
	buf = malloc(len);
	T_CHECK(buf, "out of memory");
	fd = t_create(file, len, SEED_DATA);
	t_fsync(fd);
	shared = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	priv = t_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	t_check_pattern(shared, len, SEED_DATA, 0, "shared before");
	t_check_pattern(priv, len, SEED_DATA, 0, "private before");
	t_store(shared + 3 * ps, ps, SEED_DIRTY, (off_t)(3 * ps));
	t_store(shared + 5 * ps + 10, 10, SEED_DIRTY, (off_t)(5 * ps + 10));
	t_store(priv + 4 * ps, ps, SEED_PRIV, (off_t)(4 * ps));

	/* Round 1: another process cuts the file to 1 page + 1000 bytes. */
	cut_to = (off_t)ps + TAIL;
	t_wait_ok(t_fork(cutter, NULL));
	T_CHECK(t_fsize(fd) == cut_to, "size after the cut is %lld",
		(long long)t_fsize(fd));
	check_sigbus(shared, 2, "1: MAP_SHARED");
	check_sigbus(priv, 2, "1: MAP_PRIVATE");
	t_check_pattern(shared, (size_t)cut_to, SEED_DATA, 0,
			"1: MAP_SHARED below the new EOF");
	t_check_pattern(priv, (size_t)cut_to, SEED_DATA, 0,
			"1: MAP_PRIVATE below the new EOF");
	t_check_zero(shared + cut_to, 2 * ps - (size_t)cut_to, cut_to,
		     "1: MAP_SHARED tail of the new last page");
	t_check_zero(priv + cut_to, 2 * ps - (size_t)cut_to, cut_to,
		     "1: MAP_PRIVATE tail of the new last page");
	T_CHECK(t_pread(fd, buf, len, 0) == (size_t)cut_to,
		"1: read() does not stop at the new EOF");
	t_check_pattern(buf, (size_t)cut_to, SEED_DATA, 0, "1: read()");
	t_fsync(fd);
	check_backing(cut_to, "1: backing file after fsync");
	t_msync((void *)shared, len, MS_SYNC);
	check_backing(cut_to, "1: backing file after msync of the whole map");

	/* Round 2: dirty the tail past EOF, cut to 100 bytes. */
	t_store(shared + cut_to, 2 * ps - (size_t)cut_to, SEED_DIRTY, cut_to);
	cut_to = 100;
	t_wait_ok(t_fork(cutter, NULL));
	check_sigbus(shared, 1, "2: MAP_SHARED");
	check_sigbus(priv, 1, "2: MAP_PRIVATE");
	t_check_pattern(shared, (size_t)cut_to, SEED_DATA, 0,
			"2: MAP_SHARED below the new EOF");
	t_check_zero(shared + cut_to, ps - (size_t)cut_to, cut_to,
		     "2: MAP_SHARED tail of page 0");
	t_check_zero(priv + cut_to, ps - (size_t)cut_to, cut_to,
		     "2: MAP_PRIVATE tail of page 0");
	t_fsync(fd);
	check_backing(cut_to, "2: backing file after fsync");

	t_munmap((void *)shared, len);
	t_munmap((void *)priv, len);
	t_close(fd);
	/* munmap and close are write-back points: still nothing past EOF. */
	check_backing(cut_to, "2: backing file after munmap+close");
	T_CHECK(t_size(file) == cut_to, "size on the mount is %lld",
		(long long)t_size(file));
	free(buf);
	return 0;
}
