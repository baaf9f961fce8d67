// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loadmix - many threads mixing mapped stores, writes, reads, truncates and
 * syncs on shared and private files, each checking what it reads.
 *
 *	loadmix MNT EXPECT NTHREADS SECONDS PROGRESS SEED
 *
 * NSHARED shared files (SHSZ each) are mapped MAP_SHARED once and cut into
 * one slice per thread; each thread also owns one private file (up to
 * PRIVSZ, truncated up and down) with its own MAP_SHARED mapping.  A thread
 * writes only its own slice and its own private file, so it keeps an exact
 * model of both and checks every read (pread and mapped loads) against it:
 * another thread's traffic on the same file and the same pages must never
 * show.  It also maps its private file MAP_PRIVATE now and then, stores
 * there and checks the store stays private.  Syncs are fsync, fdatasync and
 * msync(MS_SYNC) of shared and private files.
 *
 * The total op count goes to PROGRESS (overwritten once a second) for the
 * shell's watchdog.  At the end every thread fsyncs, checks its whole slice
 * and file through pread, and the expected content of every file is
 * written to EXPECT (a directory outside the mount), so the shell can
 * compare the backing files after unmount.  Exit 0 if every check passed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NSHARED 4
#define SHSZ (4 * 1024 * 1024)
#define PRIVSZ (512 * 1024)
#define MAXIO (32 * 1024)
#define HIST 64

struct thr {
	pthread_t tid;
	int idx;
	uint64_t rng;
	int shfile;	       /* which shared file */
	uint64_t sloff, sllen; /* its slice */
	uint8_t *slice;	       /* model of the slice */
	int pfd;	       /* private file */
	uint8_t *pmap;	       /* MAP_SHARED, PRIVSZ */
	uint8_t *pmodel;
	uint64_t psize;
	uint8_t *buf;
	unsigned long ops, syncs, bytes_checked, bytes_written;
	int failed;
	/* the last HIST operations on the private file, printed when a
	 * check of it fails: which one wrote the byte that came back wrong */
	struct hist {
		unsigned long op;
		char what;	/* W pwrite, S store, T truncate, R read,
				 * P MAP_PRIVATE, Y sync */
		uint64_t off, len, size_before;
		struct timespec when;
	} hist[HIST];
	unsigned int nhist;
};

static const char *mnt;
static int shfd[NSHARED];
static uint8_t *shmap[NSHARED];
static atomic_ulong total_ops;
static atomic_int stop;
static atomic_int any_failed;

static uint64_t rnd(struct thr *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fail(struct thr *t, const char *what, uint64_t off, int got,
		 int want)
{
	fprintf(stderr,
		"FAIL thread %d op %lu: %s at %llu: got 0x%02x want 0x%02x "
		"(%s)\n",
		t->idx, t->ops, what, (unsigned long long)off, got, want,
		strerror(errno));
	t->failed = 1;
	atomic_store(&any_failed, 1);
}

static void fill(struct thr *t, uint8_t *p, uint64_t len)
{
	uint64_t v = rnd(t), i;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0)
			v = v * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (uint8_t)(v >> (56 - (i & 7) * 8));
	}
}

static void record(struct thr *t, char what, uint64_t off, uint64_t len)
{
	struct hist *h = &t->hist[t->nhist++ % HIST];

	h->op = t->ops;
	h->what = what;
	h->off = off;
	h->len = len;
	h->size_before = t->psize;
	clock_gettime(CLOCK_MONOTONIC, &h->when);
}

/* The private file's recent history, oldest first; '*' marks operations
 * whose range covers @bad (truncates always count). */
static void dump_hist(struct thr *t, uint64_t bad)
{
	unsigned int n = t->nhist < HIST ? t->nhist : HIST;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "thread %d private file, last %u operations "
			"(size now %llu):\n", t->idx, n,
		(unsigned long long)t->psize);
	for (unsigned int k = t->nhist - n; k != t->nhist; k++) {
		const struct hist *h = &t->hist[k % HIST];
		bool covers = h->what == 'T' ||
			      (bad >= h->off && bad < h->off + h->len);

		fprintf(stderr, "  %c op %lu %c off %llu len %llu size %llu, "
				"%.3f s ago\n", covers ? '*' : ' ', h->op,
			h->what, (unsigned long long)h->off,
			(unsigned long long)h->len,
			(unsigned long long)h->size_before,
			(double)(now.tv_sec - h->when.tv_sec) +
				(now.tv_nsec - h->when.tv_nsec) / 1e9);
	}
}

static int check(struct thr *t, const char *what, const uint8_t *got,
		 const uint8_t *want, uint64_t len, uint64_t base)
{
	uint64_t i, last, nbad = 0, nzero = 0;

	t->bytes_checked += len;
	if (!memcmp(got, want, len))
		return 0;
	for (i = 0; got[i] == want[i]; i++)
		;
	errno = 0;
	fail(t, what, base + i, got[i], want[i]);
	for (last = i; last < len; last++)
		if (got[last] != want[last]) {
			nbad++;
			nzero += !got[last];
		}
	for (last = len; last > 0 && got[last - 1] == want[last - 1]; last--)
		;
	fprintf(stderr, "  %llu of %llu bytes differ in [%llu, %llu), %llu "
			"of them read as zero\n",
		(unsigned long long)nbad, (unsigned long long)len,
		(unsigned long long)(base + i),
		(unsigned long long)(base + last),
		(unsigned long long)nzero);
	if (strstr(what, "private"))
		dump_hist(t, base + i);
	return -1;
}

static void range(struct thr *t, uint64_t size, uint64_t *off, uint64_t *len)
{
	*off = rnd(t) % size;
	*len = 1 + rnd(t) % MAXIO;
	if (*off + *len > size)
		*len = size - *off;
}

static void one_op(struct thr *t)
{
	uint8_t *sm = shmap[t->shfile] + t->sloff;
	int sfd = shfd[t->shfile];
	uint64_t off, len, r = rnd(t) % 100;
	ssize_t n;

	if (r < 15) { /* store into the shared slice */
		range(t, t->sllen, &off, &len);
		fill(t, t->slice + off, len);
		memcpy(sm + off, t->slice + off, len);
		t->bytes_written += len;
	} else if (r < 28) { /* pwrite into the shared slice */
		range(t, t->sllen, &off, &len);
		fill(t, t->slice + off, len);
		n = pwrite(sfd, t->slice + off, len, (off_t)(t->sloff + off));
		if (n != (ssize_t)len)
			fail(t, "pwrite shared", off, (int)n, 0);
		t->bytes_written += len;
	} else if (r < 38) { /* pread the shared slice */
		range(t, t->sllen, &off, &len);
		n = pread(sfd, t->buf, len, (off_t)(t->sloff + off));
		if (n != (ssize_t)len)
			fail(t, "pread shared", off, (int)n, (int)len);
		else
			check(t, "pread shared", t->buf, t->slice + off, len,
			      t->sloff + off);
	} else if (r < 45) { /* load through the shared mapping */
		range(t, t->sllen, &off, &len);
		check(t, "mapped load shared", sm + off, t->slice + off, len,
		      t->sloff + off);
	} else if (r < 55) { /* pwrite the private file (may extend) */
		range(t, PRIVSZ, &off, &len);
		fill(t, t->pmodel + off, len);
		/*
		 * A write(2) that grows the file from inside a dirty, mapped
		 * EOF page loses its bytes when the kernel writes that page
		 * back at the same moment (a FUSE kernel bug,
		 * docs/semantics.md; tests/fsx/eof_growth_race.sh): write
		 * the page back first, the documented workaround.  Seen here
		 * once as zeros in a private file.
		 */
		if (off + len > t->psize && t->psize % 4096)
			msync(t->pmap + (t->psize & ~(uint64_t)4095), 4096,
			      MS_SYNC);
		record(t, 'W', off, len);
		n = pwrite(t->pfd, t->pmodel + off, len, (off_t)off);
		if (n != (ssize_t)len)
			fail(t, "pwrite private", off, (int)n, 0);
		if (off + len > t->psize)
			t->psize = off + len;
		t->bytes_written += len;
	} else if (r < 65 && t->psize) { /* store into the private file */
		range(t, t->psize, &off, &len);
		fill(t, t->pmodel + off, len);
		record(t, 'S', off, len);
		memcpy(t->pmap + off, t->pmodel + off, len);
		t->bytes_written += len;
	} else if (r < 72) { /* truncate the private file */
		uint64_t ns = rnd(t) % (PRIVSZ + 1);

		if (rnd(t) % 4 == 0)
			ns = 0;
		record(t, 'T', ns, 0);
		if (ftruncate(t->pfd, (off_t)ns))
			fail(t, "ftruncate", ns, 0, 0);
		if (ns < t->psize)
			memset(t->pmodel + ns, 0, t->psize - ns);
		t->psize = ns;
	} else if (r < 80) { /* read the private file, size included */
		struct stat st;

		if (fstat(t->pfd, &st) || (uint64_t)st.st_size != t->psize)
			fail(t, "fstat size private", (uint64_t)st.st_size, 0,
			     0);
		if (!t->psize)
			return;
		range(t, t->psize, &off, &len);
		record(t, 'R', off, len);
		n = pread(t->pfd, t->buf, len, (off_t)off);
		if (n != (ssize_t)len)
			fail(t, "pread private", off, (int)n, (int)len);
		else
			check(t, "pread private", t->buf, t->pmodel + off, len,
			      off);
		if (rnd(t) % 2)
			check(t, "mapped load private", t->pmap + off,
			      t->pmodel + off, len, off);
	} else if (r < 84 && t->psize >= 4096) { /* MAP_PRIVATE stays private */
		uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE, t->pfd, 0);
		uint8_t c;

		if (p == MAP_FAILED) {
			fail(t, "mmap MAP_PRIVATE", 0, 0, 0);
			return;
		}
		record(t, 'P', 0, 1);
		c = (uint8_t)~t->pmodel[0];
		p[0] = c;
		if (p[0] != c)
			fail(t, "MAP_PRIVATE store", 0, p[0], c);
		if (pread(t->pfd, t->buf, 1, 0) != 1 ||
		    t->buf[0] != t->pmodel[0])
			fail(t, "MAP_PRIVATE leaked", 0, t->buf[0],
			     t->pmodel[0]);
		munmap(p, 4096);
	} else { /* a sync of one kind or another */
		int k = (int)(rnd(t) % 5), e = 0;

		if (k >= 2)
			record(t, 'Y', (uint64_t)k, 0);

		switch (k) {
		case 0:
			e = fsync(sfd);
			break;
		case 1:
			e = msync(shmap[t->shfile] + (t->sloff & ~4095ULL),
				  t->sllen, MS_SYNC);
			break;
		case 2:
			e = fsync(t->pfd);
			break;
		case 3:
			e = fdatasync(t->pfd);
			break;
		default:
			e = msync(t->pmap, PRIVSZ, MS_SYNC);
		}
		if (e)
			fail(t, "sync", (uint64_t)k, 0, 0);
		t->syncs++;
	}
}

static void *worker(void *arg)
{
	struct thr *t = arg;

	while (!atomic_load(&stop) && !t->failed) {
		one_op(t);
		t->ops++;
		atomic_fetch_add(&total_ops, 1);
	}
	return NULL;
}

static int write_file(const char *path, const uint8_t *p, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd)) {
		perror(path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *expect, *progress;
	int nthr, secs, i, per, rc = 0;
	unsigned long long seed;
	struct thr *th;
	char path[4096];
	uint8_t *whole;
	time_t end;
	unsigned long ops = 0, syncs = 0, chk = 0, wr = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: loadmix MNT EXPECT NTHREADS SECONDS "
				"PROGRESS SEED\n");
		return 2;
	}
	mnt = argv[1];
	expect = argv[2];
	nthr = atoi(argv[3]);
	secs = atoi(argv[4]);
	progress = argv[5];
	seed = strtoull(argv[6], NULL, 0);
	if (nthr < NSHARED || nthr % NSHARED) {
		fprintf(stderr, "NTHREADS must be a multiple of %d\n", NSHARED);
		return 2;
	}
	per = nthr / NSHARED;
	for (i = 0; i < NSHARED; i++) {
		snprintf(path, sizeof(path), "%s/shared-%d", mnt, i);
		shfd[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (shfd[i] < 0 || ftruncate(shfd[i], SHSZ)) {
			perror(path);
			return 1;
		}
		shmap[i] = mmap(NULL, SHSZ, PROT_READ | PROT_WRITE, MAP_SHARED,
				shfd[i], 0);
		if (shmap[i] == MAP_FAILED) {
			perror("mmap shared");
			return 1;
		}
	}
	th = calloc((size_t)nthr, sizeof(*th));
	for (i = 0; i < nthr; i++) {
		struct thr *t = &th[i];

		t->idx = i;
		t->rng = seed * 1000003ULL + (uint64_t)i;
		t->shfile = i % NSHARED;
		t->sllen = SHSZ / per;
		t->sloff = (uint64_t)(i / NSHARED) * t->sllen;
		t->slice = calloc(1, t->sllen);
		t->pmodel = calloc(1, PRIVSZ);
		t->buf = malloc(MAXIO);
		snprintf(path, sizeof(path), "%s/priv-%d", mnt, i);
		t->pfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (t->pfd < 0) {
			perror(path);
			return 1;
		}
		t->pmap = mmap(NULL, PRIVSZ, PROT_READ | PROT_WRITE, MAP_SHARED,
			       t->pfd, 0);
		if (t->pmap == MAP_FAILED || !t->slice || !t->pmodel ||
		    !t->buf) {
			perror("setup");
			return 1;
		}
	}
	for (i = 0; i < nthr; i++)
		if (pthread_create(&th[i].tid, NULL, worker, &th[i])) {
			perror("pthread_create");
			return 1;
		}
	end = time(NULL) + secs;
	while (time(NULL) < end && !atomic_load(&any_failed)) {
		char b[32];
		int pf, n;

		sleep(1);
		n = snprintf(b, sizeof(b), "%lu\n", atomic_load(&total_ops));
		pf = open(progress, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (pf >= 0) {
			if (write(pf, b, (size_t)n) != n)
				perror(progress);
			close(pf);
		}
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nthr; i++)
		pthread_join(th[i].tid, NULL);
	/* Final: sync, check everything through pread, write the expectation.
	 */
	whole = malloc(SHSZ);
	for (i = 0; i < NSHARED; i++)
		if (fsync(shfd[i])) {
			perror("final fsync");
			rc = 1;
		}
	for (i = 0; i < nthr; i++) {
		struct thr *t = &th[i];
		uint8_t *got = malloc(PRIVSZ + 1);
		ssize_t n;

		if (fsync(t->pfd))
			fail(t, "final fsync private", 0, 0, 0);
		n = pread(shfd[t->shfile], got, t->sllen, (off_t)t->sloff);
		if (n != (ssize_t)t->sllen)
			fail(t, "final pread shared", 0, (int)n, 0);
		else
			check(t, "final shared", got, t->slice, t->sllen,
			      t->sloff);
		n = pread(t->pfd, got, PRIVSZ + 1, 0);
		if (n != (ssize_t)t->psize)
			fail(t, "final private size", (uint64_t)n, 0, 0);
		else
			check(t, "final private", got, t->pmodel, t->psize, 0);
		free(got);
		snprintf(path, sizeof(path), "%s/priv-%d", expect, i);
		if (write_file(path, t->pmodel, t->psize))
			rc = 1;
		rc |= t->failed;
		ops += t->ops;
		syncs += t->syncs;
		chk += t->bytes_checked;
		wr += t->bytes_written;
	}
	for (i = 0; i < NSHARED; i++) {
		int j;

		for (j = i; j < nthr; j += NSHARED)
			memcpy(whole + th[j].sloff, th[j].slice, th[j].sllen);
		snprintf(path, sizeof(path), "%s/shared-%d", expect, i);
		if (write_file(path, whole, SHSZ))
			rc = 1;
	}
	for (i = 0; i < nthr; i++) {
		free(th[i].slice);
		free(th[i].pmodel);
		free(th[i].buf);
	}
	free(th);
	free(whole);
	printf("loadmix: %d threads, %d s, %lu ops, %lu syncs, %lu bytes "
	       "written, %lu bytes checked: %s\n",
	       nthr, secs, ops, syncs, wr, chk, rc ? "FAIL" : "ok");
	return rc;
}
