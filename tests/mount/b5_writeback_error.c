// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * b5_writeback_error - SEMANTICS B5, driven by b5_writeback_error_enospc.sh.
 *
 *	b5_writeback_error MNT BACKING
 *
 * BACKING must be a small filesystem of its own (the script mounts a 1 MiB
 * tmpfs) with mmapfs mounted from it on MNT.  Not a test by itself: run on an
 * ordinary backing directory it would never see an error.
 *
 * A write-back error is reported by the next fsync()/msync(MS_SYNC) and by
 * close() of each open file that has not yet seen it (errseq); the data stays
 * cached and dirty, so a later fsync() retries - and reports again if it
 * fails again.  Success is never reported for data that is not in the
 * backing file.  While write-back keeps failing, new writes that would dirty
 * more fail with that error instead of waiting forever.
 *
 *  1. Create F (256 KiB, sparse) and open it four times (fd1..fd4) *before*
 *     anything fails.  Fill the backing filesystem from outside the mount.
 *  2. Store pattern 1 into F through a MAP_SHARED mapping of fd1: fsync(fd1)
 *     fails with ENOSPC.  Store pattern 2 over it: msync(MS_SYNC) fails with
 *     ENOSPC again (the retry failed again).  fsync(fd2) fails with ENOSPC;
 *     close(fd4) fails with ENOSPC.
 *  3. With write-back of everything failing, write 256 MiB (16x the cache
 *     size the script mounts with) into another file G through pwrite():
 *     a write must fail with ENOSPC within WRITE_BOUND_S seconds - neither
 *     all of them succeed (the data cannot be anywhere) nor does one hang.
 *     Then cut G to 0 and remove it.
 *  4. Free the space (remove the filler).  fsync(fd1) succeeds (at the
 *     latest on the second try: a background retry may have failed after
 *     fd1 saw the error, and errseq reports that once), and right then the
 *     backing file holds pattern 2; so does read() on the mount.  fd2 the
 *     same.  fd3, which never looked, gets ENOSPC once, then success.
 *     close() of fd1..fd3 succeeds.
 *
 * Broken rule looks like: an fsync() that returns 0 while the backing file
 * lacks the data (the error was dropped, or the data dropped with it); an
 * error reported to only one descriptor; a retry that succeeds without
 * writing (the kernel or the daemon marked failed pages clean); a writer
 * blocked forever or every write accepted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define FSIZE (256 * 1024)
#define FLOOD (256u * 1024 * 1024)
#define CHUNK (1024 * 1024)
#define WRITE_BOUND_S 60.0

static void expect_err(int ret, int err, int want, const char *what)
{
	if (ret == 0)
		t_fail("%s succeeded, expected %s", what, strerror(want));
	if (err != want)
		t_fail("%s failed with '%s', expected '%s'", what,
		       strerror(err), strerror(want));
	printf("%s: %s, as due\n", what, strerror(err));
}

/* fsync FD; returns 0, or the errno of a failure (then tried once more). */
static int fsync_retry(int fd, const char *what)
{
	int err;

	if (fsync(fd) == 0)
		return 0;
	err = errno;
	T_CHECK(err == ENOSPC, "%s: first fsync failed with '%s'", what,
		strerror(err));
	printf("%s: ENOSPC once more (errseq), retrying\n", what);
	T_CHECK(fsync(fd) == 0, "%s: second fsync after freeing space: %m",
		what);
	return err;
}

static void fill_backing(const char *path)
{
	int fd = t_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char *buf = calloc(1, 4096);
	off_t total = 0;

	T_CHECK(buf, "out of memory");
	memset(buf, 0xa5, 4096);
	for (;;) {
		ssize_t n = write(fd, buf, 4096);

		if (n < 0 && errno == ENOSPC)
			break;
		T_CHECK(n > 0, "filling %s: %m", path);
		total += n;
	}
	t_close(fd);
	free(buf);
	printf("backing filesystem full after %lld bytes of filler\n",
	       (long long)total);
}

static void flood(const char *path)
{
	int fd = t_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(CHUNK);
	double t0 = t_now();
	size_t off;
	ssize_t n = 0;

	T_CHECK(buf, "out of memory");
	t_fill(buf, CHUNK, 7, 0);
	for (off = 0; off < FLOOD; off += CHUNK) {
		n = pwrite(fd, buf, CHUNK, (off_t)off);
		if (n < 0)
			break;
		T_CHECK(n == CHUNK, "flood: short write %zd at %zu", n, off);
		T_CHECK(t_now() - t0 < WRITE_BOUND_S,
			"flood: %zu MiB accepted in %.0f s, none failed",
			off >> 20, WRITE_BOUND_S);
	}
	T_CHECK(n < 0,
		"flood: all %u MiB accepted while write-back fails and the "
		"backing filesystem holds 1 MiB",
		FLOOD >> 20);
	expect_err(-1, errno, ENOSPC, "flood: pwrite while write-back fails");
	printf("flood: failed after %zu MiB, %.1f s\n", off >> 20,
	       t_now() - t0);
	T_CHECK(t_now() - t0 < WRITE_BOUND_S, "flood: took %.0f s",
		t_now() - t0);
	t_ftruncate(fd, 0);
	/* Its own unseen error may come back here; either is fine. */
	if (close(fd))
		T_CHECK(errno == ENOSPC, "close of the flood file: %m");
	T_CHECK(unlink(path) == 0, "unlink %s: %m", path);
	free(buf);
}

int main(int argc, char **argv)
{
	int fd1, fd2, fd3, fd4, r;
	char *file, *bfile, *filler;
	volatile char *map;
	char *buf;

	t_init(argc, argv);
	T_CHECK(strcmp(t_mnt(), t_backing()),
		"needs a mount over a small backing filesystem");
	/* Anything that hangs is a failure: ENOSPC must come back. */
	t_alarm(300, "b5: an operation hung while write-back was failing");
	file = t_path("b5");
	bfile = t_backing_path("b5");
	filler = t_backing_path("filler");
	buf = malloc(FSIZE);
	T_CHECK(buf, "out of memory");

	/* 1 */
	fd1 = t_open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	t_ftruncate(fd1, FSIZE);
	t_fsync(fd1);
	fd2 = t_open(file, O_RDWR, 0);
	fd3 = t_open(file, O_RDWR, 0);
	fd4 = t_open(file, O_RDWR, 0);
	fill_backing(filler);

	/* 2 */
	map = t_mmap(FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd1, 0);
	t_store(map, FSIZE, 1, 0);
	r = fsync(fd1);
	expect_err(r, errno, ENOSPC, "fsync(fd1) of stores into a full fs");
	t_store(map, FSIZE, 2, 0);
	r = msync((void *)map, FSIZE, MS_SYNC);
	expect_err(r, errno, ENOSPC, "msync(MS_SYNC), still full");
	r = fsync(fd2);
	expect_err(r, errno, ENOSPC, "fsync(fd2), opened before the error");
	r = close(fd4);
	expect_err(r, errno, ENOSPC, "close(fd4), opened before the error");
	t_check_pattern(map, FSIZE, 2, 0, "mapping while write-back fails");

	/* 3 */
	flood(t_path("b5-flood"));

	/* 4 */
	T_CHECK(unlink(filler) == 0, "unlink %s: %m", filler);
	fsync_retry(fd1, "fsync(fd1) after freeing space");
	T_CHECK(t_read_file(bfile, buf, FSIZE, 0) == FSIZE,
		"backing file is short after a successful fsync");
	t_check_pattern(buf, FSIZE, 2, 0,
			"backing file right after a successful fsync(fd1)");
	T_CHECK(t_pread(fd2, buf, FSIZE, 0) == FSIZE, "short read");
	t_check_pattern(buf, FSIZE, 2, 0, "read() on the mount");
	fsync_retry(fd2, "fsync(fd2) after freeing space");
	r = fsync(fd3);
	expect_err(r, errno, ENOSPC,
		   "fsync(fd3): first look at a file whose write-back failed");
	T_CHECK(fsync(fd3) == 0, "second fsync(fd3): %m");
	t_munmap((void *)map, FSIZE);
	t_close(fd1);
	t_close(fd2);
	t_close(fd3);
	t_check_file(bfile, FSIZE, 2, 0, "backing file after close");
	free(buf);
	return 0;
}
