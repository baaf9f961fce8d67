/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smallfiles.c - metadata-heavy workload: create, stat, unlink many files.
 *
 * Usage: smallfiles DIR [COUNT] [SIZE]
 *
 * In DIR (which must exist and should be empty) it creates COUNT files
 * (default 20000) named f000000, f000001, ..., each written with SIZE bytes
 * (default 1024) and closed; then stat()s every one; then unlinks every one.
 * Each phase is timed on its own and reported in operations per second, one
 * operation being one file (open+write+close, stat, unlink).
 *
 * Nothing is fsync()ed: this measures the metadata path (LOOKUP, CREATE,
 * GETATTR, UNLINK for a FUSE filesystem) and the daemon's per-file costs,
 * not the disk.
 *
 * Prints one JSON object: {"files": N, "size": S, "create_ops": ...,
 * "stat_ops": ..., "unlink_ops": ...}.  Exit 0, or 1 on the first error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each phase returns 0 or -errno, having printed what failed. */

static int phase_create(int dfd, unsigned long n, const char *buf,
			size_t size)
{
	char name[32];
	unsigned long i;
	int err;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%06lu", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			goto fail;
		if (size && write(fd, buf, size) != (ssize_t)size) {
			err = errno ? errno : EIO;
			close(fd);
			errno = err;
			goto fail;
		}
		if (close(fd) < 0)
			goto fail;
	}
	return 0;
fail:
	err = errno;
	fprintf(stderr, "smallfiles: create %s: %s\n", name, strerror(err));
	return -err;
}

static int phase_stat(int dfd, unsigned long n, size_t size)
{
	char name[32];
	unsigned long i;
	struct stat st;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%06lu", i);
		if (fstatat(dfd, name, &st, 0) < 0) {
			int err = errno;

			fprintf(stderr, "smallfiles: stat %s: %s\n", name,
				strerror(err));
			return -err;
		}
		if ((size_t)st.st_size != size) {
			fprintf(stderr, "smallfiles: %s has size %lld, not %zu\n",
				name, (long long)st.st_size, size);
			return -EIO;
		}
	}
	return 0;
}

static int phase_unlink(int dfd, unsigned long n)
{
	char name[32];
	unsigned long i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%06lu", i);
		if (unlinkat(dfd, name, 0) < 0) {
			int err = errno;

			fprintf(stderr, "smallfiles: unlink %s: %s\n", name,
				strerror(err));
			return -err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 20000;
	size_t size = 1024;
	double t0, t1, t2, t3;
	char *buf;
	int dfd, ret = 1;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s DIR [COUNT] [SIZE]\n", argv[0]);
		return 1;
	}
	if (argc >= 3)
		n = strtoul(argv[2], NULL, 10);
	if (argc >= 4)
		size = strtoul(argv[3], NULL, 10);
	if (n == 0) {
		fprintf(stderr, "smallfiles: bad COUNT\n");
		return 1;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		perror("smallfiles: malloc");
		return 1;
	}
	memset(buf, 'x', size);
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		fprintf(stderr, "smallfiles: open %s: %s\n", argv[1],
			strerror(errno));
		goto out_free;
	}

	t0 = now_s();
	if (phase_create(dfd, n, buf, size))
		goto out_close;
	t1 = now_s();
	if (phase_stat(dfd, n, size))
		goto out_close;
	t2 = now_s();
	if (phase_unlink(dfd, n))
		goto out_close;
	t3 = now_s();

	printf("{\"files\": %lu, \"size\": %zu, \"create_ops\": %.1f, "
	       "\"stat_ops\": %.1f, \"unlink_ops\": %.1f}\n", n, size,
	       n / (t1 - t0), n / (t2 - t1), n / (t3 - t2));
	ret = 0;
out_close:
	close(dfd);
out_free:
	free(buf);
	return ret;
}
