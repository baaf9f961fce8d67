// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * b3_async_reaches_file - SEMANTICS B3.
 *
 * msync(MS_ASYNC) returns at once; with or without it, dirty pages -
 * written with write() or stored through a mapping - reach the backing file
 * within a bounded, configurable time (default a few seconds).
 *
 * Three files, set up one after the other and then watched together:
 *   a. stores through a MAP_SHARED mapping, then msync(MS_ASYNC), which must
 *      return within 1 s (it starts nothing on Linux);
 *   b. stores through a mapping and nothing else;
 *   c. pwrite() and nothing else.
 * No fsync, no msync(MS_SYNC), no munmap, no close: every mapping and
 * descriptor stays alive (close and the last munmap would make the kernel
 * write back on their own).  The raw backing files are polled every 100 ms;
 * all three must hold the new bytes within BOUND_S seconds.  The bound is
 * generous: the daemon pulls dirty mapped pages from the kernel about every
 * second and writes back after about three.
 *
 * Broken rule looks like: a backing file still holding the old bytes after
 * BOUND_S seconds (the data only moves at close/munmap/fsync, or the kernel's
 * 30 s flusher is all that moves mapped pages), or msync(MS_ASYNC) blocking.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPAGES 16
#define BOUND_S 15.0
#define MS_ASYNC_BOUND_S 1.0

struct watched {
	const char *name;
	const char *how;
	unsigned int seed;
	double done; /* seconds after the start when seen, or 0 */
};

int main(int argc, char **argv)
{
	struct watched w[] = {
		{"b3-async", "stores + msync(MS_ASYNC)", 2, 0},
		{"b3-store", "stores alone", 3, 0},
		{"b3-write", "pwrite() alone", 4, 0},
	};
	size_t ps, len, i, left = 3;
	volatile char *map_a, *map_b;
	int fd_a, fd_b, fd_c;
	char *buf;
	double t0, t;

	t_init(argc, argv);
	ps = t_page_size();
	len = NPAGES * ps;
	buf = malloc(len);
	T_CHECK(buf, "out of memory");

	/* The old contents are durable before anything is dirtied. */
	fd_a = t_create(t_path(w[0].name), len, 1);
	fd_b = t_create(t_path(w[1].name), len, 1);
	fd_c = t_create(t_path(w[2].name), len, 1);
	t_fsync(fd_a);
	t_fsync(fd_b);
	t_fsync(fd_c);
	map_a = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_a, 0);
	map_b = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_b, 0);

	t0 = t_now();
	t_store(map_a, len, w[0].seed, 0);
	t = t_now();
	t_msync((void *)map_a, len, MS_ASYNC);
	T_CHECK(t_now() - t < MS_ASYNC_BOUND_S, "msync(MS_ASYNC) took %.3f s",
		t_now() - t);
	t_store(map_b, len, w[1].seed, 0);
	t_fill(buf, len, w[2].seed, 0);
	t_pwrite(fd_c, buf, len, 0);

	while (left) {
		t = t_now() - t0;
		for (i = 0; i < 3; i++) {
			if (w[i].done)
				continue;
			if (t_read_file(t_backing_path(w[i].name), buf, len,
					0) == len &&
			    t_pattern_mismatch(buf, len, w[i].seed, 0) < 0) {
				w[i].done = t > 0 ? t : 1e-9;
				left--;
				printf("%s: in the backing file after %.1f s\n",
				       w[i].how, t);
			}
		}
		if (!left)
			break;
		if (t > BOUND_S) {
			for (i = 0; i < 3; i++)
				if (!w[i].done)
					t_log("%s: not in the backing file "
					      "after %.0f s",
					      w[i].how, BOUND_S);
			t_fail("dirty data did not reach the backing file");
		}
		t_sleep_ms(100);
	}

	/* Only now let go: mappings and descriptors were alive all along. */
	t_munmap((void *)map_a, len);
	t_munmap((void *)map_b, len);
	t_close(fd_a);
	t_close(fd_b);
	t_close(fd_c);
	free(buf);
	return 0;
}
