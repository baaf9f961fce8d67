// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * e1_atomic_counter - SEMANTICS E1.
 *
 * Many processes updating one shared page with atomic instructions see one
 * memory: the final value is exact, and after msync() the backing file
 * holds it.
 *
 * NPROC processes (half open and map the file themselves, half inherit the
 * parent's mapping) wait at a common start line, then each does NITER
 * increments of two 64-bit counters on the same page: one with an atomic
 * fetch-add at the start of the page, one with a compare-and-swap loop in
 * the middle of it; every 1000 iterations a process also stores its own
 * slot (a word per process at the end of the page) and, now and then, calls
 * msync(MS_ASYNC) or msync(MS_SYNC), so that write-back runs while the
 * others keep storing (on FUSE each write-back write-protects the page and
 * the next store waits for it).  When all have exited both counters must
 * equal NPROC * NITER exactly; after msync(MS_SYNC) the backing file, read
 * raw, must hold both values and every slot.
 *
 * Broken rule looks like: a count short of the total (two processes saw two
 * different pages: the daemon's cache and the kernel's page cache diverged,
 * or a page was refaulted from a stale copy mid-run), or the backing file
 * holding an older value after msync(MS_SYNC).
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define NPROC 16
#define NITER 1000000

#define OFF_ADD 0
#define OFF_CAS 2048

static const char *file;
static volatile char *parent_map;
static struct t_gate gate;
static size_t ps;

/* What process ID leaves in its slot after I iterations. */
static uint64_t slot_word(int id, int i)
{
	return 0x5107000000000000ULL | ((uint64_t)id << 32) | (uint64_t)i;
}

static int worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	volatile char *map = parent_map;
	uint64_t *add, *cas, *slot;
	int fd = -1, i;

	if (id % 2) {
		fd = t_open(file, O_RDWR, 0);
		map = t_mmap(ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	add = (uint64_t *)(map + OFF_ADD);
	cas = (uint64_t *)(map + OFF_CAS);
	slot = (uint64_t *)(map + ps) - 1 - id;
	t_gate_wait(&gate);
	for (i = 1; i <= NITER; i++) {
		uint64_t old = __atomic_load_n(cas, __ATOMIC_RELAXED);

		__atomic_fetch_add(add, 1, __ATOMIC_SEQ_CST);
		while (!__atomic_compare_exchange_n(cas, &old, old + 1, 0,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED))
			;
		if (i % 1000 == 0) {
			__atomic_store_n(slot, slot_word(id, i),
					 __ATOMIC_RELEASE);
			if (i % 20000 == 0)
				t_msync((void *)map, ps,
					(i / 20000 + id) % 2 ? MS_SYNC
							     : MS_ASYNC);
		}
	}
	if (fd >= 0) {
		t_munmap((void *)map, ps);
		t_close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t want = (uint64_t)NPROC * NITER, got[2];
	uint64_t *buf;
	pid_t pids[NPROC];
	double t0;
	int fd, i;

	t_init(argc, argv);
	ps = t_page_size();
	file = t_path("e1");
	fd = t_open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	t_ftruncate(fd, (off_t)ps);
	t_fsync(fd);
	parent_map = t_mmap(ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_alarm(600, "e1: the workers did not finish in 600 s");

	t_gate_init(&gate);
	for (i = 0; i < NPROC; i++)
		pids[i] = t_fork(worker, (void *)(intptr_t)i);
	t0 = t_now();
	t_gate_open(&gate);
	for (i = 0; i < NPROC; i++)
		t_wait_ok(pids[i]);
	printf("%d processes x %d increments in %.1f s\n", NPROC, NITER,
	       t_now() - t0);

	got[0] = __atomic_load_n((uint64_t *)(parent_map + OFF_ADD),
				 __ATOMIC_SEQ_CST);
	got[1] = __atomic_load_n((uint64_t *)(parent_map + OFF_CAS),
				 __ATOMIC_SEQ_CST);
	T_CHECK(got[0] == want, "fetch-add counter is %llu, expected %llu",
		(unsigned long long)got[0], (unsigned long long)want);
	T_CHECK(got[1] == want, "CAS counter is %llu, expected %llu",
		(unsigned long long)got[1], (unsigned long long)want);

	t_msync((void *)parent_map, ps, MS_SYNC);
	buf = malloc(ps);
	T_CHECK(buf, "out of memory");
	T_CHECK(t_read_file(t_backing_path("e1"), buf, ps, 0) == ps,
		"backing file is short");
	T_CHECK(buf[OFF_ADD / 8] == want,
		"backing file: fetch-add counter is %llu, expected %llu",
		(unsigned long long)buf[OFF_ADD / 8], (unsigned long long)want);
	T_CHECK(buf[OFF_CAS / 8] == want,
		"backing file: CAS counter is %llu, expected %llu",
		(unsigned long long)buf[OFF_CAS / 8], (unsigned long long)want);
	for (i = 0; i < NPROC; i++)
		T_CHECK(buf[ps / 8 - 1 - (size_t)i] == slot_word(i, NITER),
			"backing file: slot %d is %#llx, expected %#llx", i,
			(unsigned long long)buf[ps / 8 - 1 - (size_t)i],
			(unsigned long long)slot_word(i, NITER));
	free(buf);
	t_munmap((void *)parent_map, ps);
	t_close(fd);
	return 0;
}
