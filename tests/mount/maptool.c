// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maptool - a tiny driver for the shell mount tests.
 *
 *	maptool [-r] FILE OP...
 *
 * opens FILE (read-write, created if missing; -r: read-only) and runs the
 * operations in order.  The shell tests use it to dirty pages through a
 * mapping held by a background process, to make data durable in a chosen
 * way, and to check a file against a pattern.  Sizes take K, M, G suffixes
 * (powers of 1024).  Patterns are t_fill()'s: (seed, file offset).
 *
 *   size:N             ftruncate to N
 *   map:LEN            mmap LEN bytes MAP_SHARED read-write at offset 0
 *                      (read-only with -r)
 *   store:OFF:LEN:SEED store a pattern into the mapping
 *   pwrite:OFF:LEN:SEED pwrite a pattern (in 1 MiB pieces)
 *   verify:OFF:LEN:SEED pread and check a pattern (the file must be long
 *                      enough)
 *   mverify:OFF:LEN:SEED check a pattern through the mapping
 *   checksize:N        fail unless fstat() says the size is N
 *   msync | msync_async  msync(MS_SYNC / MS_ASYNC) of the whole mapping
 *   fsync | fdatasync | syncfs
 *   munmap | close
 *   sleep:MS
 *   ready              print "ready" on stdout (for a waiting shell)
 *   hold               sleep until killed
 *
 * Exit status 0 when every operation succeeded, 1 (with a message) at the
 * first that failed.
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

#define CHUNK (1024 * 1024)

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G':
		v <<= 10; /* fall through */
	case 'M':
		v <<= 10; /* fall through */
	case 'K':
		v <<= 10;
		end++;
		break;
	default:
		break;
	}
	if (end == s || (*end && *end != ':'))
		t_fail("bad size '%s'", s);
	return v;
}

/* Parse "OFF:LEN:SEED" after the operation's name and colon. */
static void parse_range(const char *arg, off_t *off, size_t *len,
			unsigned int *seed)
{
	const char *p = arg, *q;

	*off = (off_t)parse_size(p);
	q = strchr(p, ':');
	if (!q)
		t_fail("expected OFF:LEN:SEED, got '%s'", arg);
	*len = (size_t)parse_size(q + 1);
	q = strchr(q + 1, ':');
	if (!q)
		t_fail("expected OFF:LEN:SEED, got '%s'", arg);
	*seed = (unsigned int)strtoul(q + 1, NULL, 0);
}

int main(int argc, char **argv)
{
	int ro = 0, fd, i;
	char *map = NULL, *buf;
	size_t map_len = 0;
	const char *file;

	if (argc > 1 && !strcmp(argv[1], "-r")) {
		ro = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: maptool [-r] FILE OP...\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	file = argv[1];
	fd = t_open(file, ro ? O_RDONLY : O_RDWR | O_CREAT, 0644);
	buf = malloc(CHUNK);
	T_CHECK(buf, "out of memory");

	for (i = 2; i < argc; i++) {
		const char *op = argv[i], *arg = strchr(op, ':');
		off_t off;
		size_t len, done, n;
		unsigned int seed;

		arg = arg ? arg + 1 : "";
		if (!strncmp(op, "size:", 5)) {
			t_ftruncate(fd, (off_t)parse_size(arg));
		} else if (!strncmp(op, "map:", 4)) {
			map_len = (size_t)parse_size(arg);
			map = t_mmap(map_len,
				     ro ? PROT_READ : PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
		} else if (!strncmp(op, "store:", 6)) {
			parse_range(arg, &off, &len, &seed);
			T_CHECK(map && (size_t)off + len <= map_len,
				"%s: outside the mapping", op);
			t_store(map + off, len, seed, off);
		} else if (!strncmp(op, "mverify:", 8)) {
			parse_range(arg, &off, &len, &seed);
			T_CHECK(map && (size_t)off + len <= map_len,
				"%s: outside the mapping", op);
			t_check_pattern(map + off, len, seed, off, op);
		} else if (!strncmp(op, "pwrite:", 7)) {
			parse_range(arg, &off, &len, &seed);
			for (done = 0; done < len; done += n) {
				n = len - done < CHUNK ? len - done : CHUNK;
				t_fill(buf, n, seed, off + (off_t)done);
				t_pwrite(fd, buf, n, off + (off_t)done);
			}
		} else if (!strncmp(op, "verify:", 7)) {
			parse_range(arg, &off, &len, &seed);
			for (done = 0; done < len; done += n) {
				n = len - done < CHUNK ? len - done : CHUNK;
				T_CHECK(t_pread(fd, buf, n,
						off + (off_t)done) == n,
					"%s: %s is short at %lld", op, file,
					(long long)(off + (off_t)done));
				t_check_pattern(buf, n, seed, off + (off_t)done,
						op);
			}
		} else if (!strncmp(op, "checksize:", 10)) {
			T_CHECK(t_fsize(fd) == (off_t)parse_size(arg),
				"%s: size of %s is %lld", op, file,
				(long long)t_fsize(fd));
		} else if (!strcmp(op, "msync")) {
			t_msync(map, map_len, MS_SYNC);
		} else if (!strcmp(op, "msync_async")) {
			t_msync(map, map_len, MS_ASYNC);
		} else if (!strcmp(op, "fsync")) {
			t_fsync(fd);
		} else if (!strcmp(op, "fdatasync")) {
			T_CHECK(fdatasync(fd) == 0, "fdatasync: %s",
				strerror(errno));
		} else if (!strcmp(op, "syncfs")) {
			T_CHECK(syncfs(fd) == 0, "syncfs: %s", strerror(errno));
		} else if (!strcmp(op, "munmap")) {
			t_munmap(map, map_len);
			map = NULL;
		} else if (!strcmp(op, "close")) {
			t_close(fd);
			fd = -1;
		} else if (!strncmp(op, "sleep:", 6)) {
			t_sleep_ms((unsigned int)strtoul(arg, NULL, 0));
		} else if (!strcmp(op, "ready")) {
			printf("ready\n");
			fflush(stdout);
		} else if (!strcmp(op, "hold")) {
			for (;;)
				pause();
		} else {
			t_fail("unknown operation '%s'", op);
		}
	}
	free(buf);
	return 0;
}
