// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * growth_store - the regression test of reliability finding 12: a store
 * made through a shared mapping into the old tail of the EOF page, after a
 * write() that grew the file past that page, must reach the file.
 *
 *   growth_store FILE BACKING_FILE ROUNDS zero|keep
 *
 * Each round: FILE (on the mount) gets an unaligned size below one page,
 * is mapped MAP_SHARED over 3 pages and its first page faulted in; a byte
 * is stored past EOF (stale: never file data); pwrite() grows the file to
 * 2 pages + 150 bytes, leaving the rest of the old EOF page a gap; 64
 * bytes are stored into that gap (file data now); msync(MS_SYNC).  Then
 * both through the mount and in BACKING_FILE (the backing file: msync
 * made it durable) the 64 stored bytes must be there, and with "zero" the
 * stale byte must read as zero (C2).
 *
 * The daemon once armed a "guard" over the gap whenever it could not make
 * the kernel drop its copy of the EOF page in time, and cut the gap out of
 * the next write-back - with the stores made after the growth.  With
 * -o max_threads=1 it could never wait, so this lost the 64 bytes in most
 * rounds.  Exit 0 if every round passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fails;

static void check(const char *where, int round, const unsigned char *got,
		  unsigned char want, size_t len, long off)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != want) {
			fprintf(stderr,
				"FAIL round %d: %s at %ld: got 0x%02x want "
				"0x%02x\n",
				round, where, off + (long)i, got[i], want);
			fails++;
			return;
		}
}

int main(int argc, char **argv)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char data[4096], buf[64], grow[150];
	int rounds, zero;

	if (argc != 5) {
		fprintf(stderr,
			"usage: growth_store FILE BACKING_FILE ROUNDS zero|keep\n");
		return 2;
	}
	rounds = atoi(argv[3]);
	zero = !strcmp(argv[4], "zero");
	memset(data, 0x11, sizeof(data));
	memset(grow, 0x22, sizeof(grow));
	for (int r = 0; r < rounds && fails < 5; r++) {
		long old = 1000 + (r * 37) % 2900;	/* unaligned, < 4000 */
		long stale = old + 10, legit = old + 20;
		volatile unsigned char *map;
		int fd, bfd;

		fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || pwrite(fd, data, (size_t)old, 0) != old) {
			perror(argv[1]);
			return 1;
		}
		map = mmap(NULL, (size_t)(3 * ps), PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		if (map[0] != 0x11) {
			fprintf(stderr, "FAIL round %d: mapped byte 0\n", r);
			fails++;
		}
		map[stale] = 0x5a;	/* past EOF: never file data */
		if (pwrite(fd, grow, sizeof(grow), 2 * ps) !=
		    (ssize_t)sizeof(grow)) {
			perror("pwrite (growth)");
			return 1;
		}
		/* inside the file now: file data */
		memset((void *)(map + legit), 0xc3, sizeof(buf));
		if (msync((void *)map, (size_t)(3 * ps), MS_SYNC)) {
			perror("msync");
			return 1;
		}
		if (pread(fd, buf, sizeof(buf), legit) != (ssize_t)sizeof(buf))
			memset(buf, 0, sizeof(buf));
		check("read() of the store after the growth", r, buf, 0xc3,
		      sizeof(buf), legit);
		bfd = open(argv[2], O_RDONLY);
		if (bfd < 0 ||
		    pread(bfd, buf, sizeof(buf), legit) != (ssize_t)sizeof(buf))
			memset(buf, 0, sizeof(buf));
		check("backing file: the store after the growth", r, buf,
		      0xc3, sizeof(buf), legit);
		if (zero) {
			unsigned char c = 0xff;

			if (pread(bfd, &c, 1, stale) != 1)
				c = 0xff;
			check("backing file: the store past the old EOF", r,
			      &c, 0, 1, stale);
			c = 0xff;
			if (pread(fd, &c, 1, stale) != 1)
				c = 0xff;
			check("read() of the store past the old EOF", r, &c,
			      0, 1, stale);
		}
		if (bfd >= 0)
			close(bfd);
		munmap((void *)map, (size_t)(3 * ps));
		close(fd);
	}
	if (fails)
		return 1;
	printf("growth_store: %d rounds passed (%s)\n", rounds, argv[4]);
	return 0;
}
