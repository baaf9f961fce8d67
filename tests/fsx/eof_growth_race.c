// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * eof_growth_race - show the FUSE kernel's lost-growing-write race, and that
 * a clean EOF page avoids it.
 *
 * One process keeps the page holding an unaligned EOF dirty through a
 * MAP_SHARED mapping, then grows the file with pwrite() from inside that
 * page, reads the bytes back and shrinks the file again.  A second process
 * makes the kernel write the file's dirty pages back at the same time:
 * --trigger munmap maps and unmaps the file (a shared mapping's close runs
 * write_inode_now), --trigger syncfs calls syncfs(), --trigger none does
 * nothing.
 *
 * On the FUSE kernel of 6.17 and later, in write-through mode (mmapfs,
 * bindfs, any FUSE filesystem without writeback_cache), the pwrite copies
 * its bytes into the page-cache folio, unlocks it and only then sends the
 * WRITE; i_size moves after the reply.  A write-back of that folio in
 * between (iomap write-back) zeroes it past the old i_size, so the WRITE
 * carries zeros and the page cache keeps zeros: the bytes are lost.
 * --msync-first writes the EOF page back (msync MS_SYNC) before each
 * pwrite: a clean folio is not written back, and nothing is lost.
 *
 * Exit 0 if no write lost a byte, 1 if some did, 2 on usage or setup
 * errors.  Prints "lost L of N growing writes".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define OLD_SIZE	100	/* unaligned EOF inside page 0 */
#define LEN		64

static void usage(void)
{
	fprintf(stderr, "usage: eof_growth_race [--msync-first] "
		"[--trigger munmap|syncfs|none] [--iterations N] FILE\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "eof_growth_race: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The second process: make the kernel write dirty pages back, forever. */
static void trigger_loop(const char *path, const char *how)
{
	int fd = open(path, O_RDWR);
	long ps = sysconf(_SC_PAGESIZE);

	if (fd < 0)
		die("open (trigger)");
	for (;;) {
		if (!strcmp(how, "munmap")) {
			void *m = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, 0);

			if (m != MAP_FAILED)
				munmap(m, (size_t)ps);
		} else if (!strcmp(how, "syncfs")) {
			syncfs(fd);
		} else {
			pause();
		}
	}
}

int main(int argc, char **argv)
{
	const char *trigger = "munmap", *path = NULL;
	long iterations = 20000, lost = 0, i;
	bool msync_first = false;
	long ps = sysconf(_SC_PAGESIZE);
	char *map;
	pid_t pid;
	int fd, a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--msync-first"))
			msync_first = true;
		else if (!strcmp(argv[a], "--trigger") && a + 1 < argc)
			trigger = argv[++a];
		else if (!strcmp(argv[a], "--iterations") && a + 1 < argc)
			iterations = atol(argv[++a]);
		else if (argv[a][0] == '-' || path)
			usage();
		else
			path = argv[a];
	}
	if (!path || iterations <= 0 ||
	    (strcmp(trigger, "munmap") && strcmp(trigger, "syncfs") &&
	     strcmp(trigger, "none")))
		usage();

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	if (ftruncate(fd, OLD_SIZE))
		die("ftruncate");
	map = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		trigger_loop(path, trigger);

	for (i = 0; i < iterations; i++) {
		char buf[LEN], got[LEN];
		/* inside page 0, past the old EOF */
		off_t off = 2 * OLD_SIZE + (i % 7) * OLD_SIZE;

		memset(buf, 'a' + (int)(i % 26), sizeof(buf));
		map[i % OLD_SIZE] = (char)i;	/* dirty the EOF page */
		if (msync_first && msync(map, (size_t)ps, MS_SYNC))
			die("msync");
		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
			die("pwrite");
		if (pread(fd, got, sizeof(got), off) != (ssize_t)sizeof(got))
			die("pread");
		if (memcmp(buf, got, sizeof(buf)) && ++lost <= 3)
			fprintf(stderr, "iteration %ld: the write at %lld "
				"reads back as %02x..., not %02x\n", i,
				(long long)off, (unsigned char)got[0],
				(unsigned char)buf[0]);
		if (ftruncate(fd, OLD_SIZE))
			die("ftruncate");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("eof_growth_race: trigger %s%s: lost %ld of %ld growing "
	       "writes\n", trigger, msync_first ? ", msync first" : "",
	       lost, iterations);
	return lost ? 1 : 0;
}
