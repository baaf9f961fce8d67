// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmap-counter - the demo's "real program": several processes share one
 * MAP_SHARED page of a file and count together in it.
 *
 *   mmap-counter FILE [PROCS [INCREMENTS]]
 *
 * The file is created (or grown) to one page and mapped MAP_SHARED.  PROCS
 * child processes each add 1 to a counter in the page INCREMENTS times with
 * atomic instructions, and write a line of text saying they are done into
 * their own slot of the page.  The parent waits, calls msync(MS_SYNC) — the
 * durability point — and prints what the page holds.  On any filesystem
 * whose MAP_SHARED mappings are coherent the total is exactly
 * PROCS * INCREMENTS, and after msync() the backing file holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct page {
	char title[64];
	uint64_t counter;
	char lines[16][48];
};

int main(int argc, char **argv)
{
	long ps = sysconf(_SC_PAGESIZE);
	int procs = argc > 2 ? atoi(argv[2]) : 4;
	long incr = argc > 3 ? atol(argv[3]) : 100000;
	struct page *pg;
	int fd;

	if (argc < 2 || procs < 1 || procs > 16 || incr < 1) {
		fprintf(stderr, "usage: %s FILE [PROCS(1-16) [INCREMENTS]]\n",
			argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, ps) < 0) {
		fprintf(stderr, "mmap-counter: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	pg = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED) {
		fprintf(stderr, "mmap-counter: mmap %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	close(fd);	/* the mapping stays valid without the descriptor */
	memset(pg, 0, sizeof(*pg));
	snprintf(pg->title, sizeof(pg->title), "shared counter, %d processes",
		 procs);
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			for (long k = 0; k < incr; k++)
				__atomic_fetch_add(&pg->counter, 1,
						   __ATOMIC_SEQ_CST);
			snprintf(pg->lines[i], sizeof(pg->lines[i]),
				 "process %d (pid %d) added %ld\n", i,
				 (int)getpid(), incr);
			_exit(0);
		}
	}
	for (int i = 0; i < procs; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "mmap-counter: a child failed\n");
			return 1;
		}
	}
	if (msync(pg, (size_t)ps, MS_SYNC) < 0) {
		perror("msync");
		return 1;
	}
	printf("%s\n", pg->title);
	for (int i = 0; i < procs; i++)
		printf("  %s", pg->lines[i]);
	printf("counter = %llu (expected %llu): %s\n",
	       (unsigned long long)pg->counter,
	       (unsigned long long)procs * (unsigned long long)incr,
	       pg->counter == (uint64_t)procs * (uint64_t)incr ?
	       "every increment of every process was seen" : "LOST UPDATES");
	return pg->counter == (uint64_t)procs * (uint64_t)incr ? 0 : 1;
}
