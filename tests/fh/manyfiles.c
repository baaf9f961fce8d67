// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * manyfiles.c - the workload of tests/fh/many_files.sh.
 *
 * Usage: manyfiles create|stat|verify|count DIR N
 *
 *   create  make DIR/f000000 ... f<N-1>, each written with its own content
 *           (its name and number, repeated to 100 + i % 300 bytes) and
 *           closed, like bench/smallfiles
 *   stat    stat() every one: a regular file of that size
 *   verify  read every one back and compare the content
 *   count   readdir DIR: exactly N entries besides . and ..
 *
 * Exit 0, or 1 with the first failure printed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONTENT 512

/* The content of file @i into @buf; returns its length. */
static size_t content(unsigned long i, char *buf)
{
	size_t len = 100 + i % 300, n = 0;
	char word[32];
	int w = snprintf(word, sizeof(word), "f%06lu:%lu;", i, i * 7919);

	while (n < len) {
		size_t k = (size_t)w < len - n ? (size_t)w : len - n;

		memcpy(buf + n, word, k);
		n += k;
	}
	return len;
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "manyfiles: %s %s: %s\n", what, name,
		errno ? strerror(errno) : "wrong result");
	return 1;
}

int main(int argc, char **argv)
{
	char name[32], want[MAX_CONTENT], got[MAX_CONTENT + 1];
	unsigned long n, i;
	struct stat st;
	int dfd;

	if (argc != 4) {
		fprintf(stderr, "usage: manyfiles create|stat|verify|count DIR N\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return fail("open", argv[2]);

	if (!strcmp(argv[1], "count")) {
		DIR *d = fdopendir(dfd);
		struct dirent *e;
		unsigned long seen = 0;

		if (!d)
			return fail("fdopendir", argv[2]);
		errno = 0;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				seen++;
		if (errno) {
			int r = fail("readdir", argv[2]);

			closedir(d);
			return r;
		}
		closedir(d);	/* (LeakSanitizer counts it otherwise) */
		if (seen != n) {
			fprintf(stderr, "manyfiles: %lu entries, want %lu\n",
				seen, n);
			return 1;
		}
		return 0;
	}

	for (i = 0; i < n; i++) {
		size_t len = content(i, want);
		ssize_t r;
		int fd;

		snprintf(name, sizeof(name), "f%06lu", i);
		errno = 0;
		if (!strcmp(argv[1], "create")) {
			fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL,
				    0644);
			if (fd < 0)
				return fail("create", name);
			if (write(fd, want, len) != (ssize_t)len)
				return fail("write", name);
			if (close(fd))
				return fail("close", name);
		} else if (!strcmp(argv[1], "stat")) {
			if (fstatat(dfd, name, &st, 0))
				return fail("stat", name);
			if (!S_ISREG(st.st_mode) || st.st_size != (off_t)len)
				return fail("stat (type or size)", name);
		} else if (!strcmp(argv[1], "verify")) {
			fd = openat(dfd, name, O_RDONLY);
			if (fd < 0)
				return fail("open", name);
			r = read(fd, got, sizeof(got));
			if (r < 0)
				return fail("read", name);
			if ((size_t)r != len || memcmp(got, want, len))
				return fail("content of", name);
			if (close(fd))
				return fail("close", name);
		} else {
			fprintf(stderr, "manyfiles: unknown mode %s\n",
				argv[1]);
			return 2;
		}
	}
	return 0;
}
