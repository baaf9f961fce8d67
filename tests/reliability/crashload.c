// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * crashload - a seeded workload that the daemon is SIGKILLed under, and the
 * checker that judges what survived.
 *
 *	crashload run SEED DIR LOG [NOPS]
 *	crashload check SEED DIR LOG
 *
 * "run" works on NFILES files named c<SEED>-<n> in DIR (the mount): a seeded
 * random mix of pwrite(), stores through a MAP_SHARED mapping, ftruncate(),
 * fsync(), fdatasync() and msync(MS_SYNC), until NOPS operations are done or
 * one fails (the daemon died: ENOTCONN, or SIGBUS on a store).  The op
 * sequence depends on SEED only, so the checker can replay it.  LOG (a file
 * outside the mount) gets "B i" before op i starts and "S i" once sync op i
 * returned 0; the log is fdatasync()ed after every "S" line, before the next
 * op, so the checker never believes in a sync that did not return.
 *
 * "check" replays the sequence up to the last op begun and, per file, takes
 * the model's content at that file's last returned sync (the snapshot) and
 * the ops on it begun after that (the maybe-applied ops, the last perhaps
 * half done).  Then every byte of the file in DIR must be the snapshot's
 * byte, or a byte that one of the maybe-applied ops wrote there, or zero
 * where one of them truncated below it; the size must lie between the
 * smallest and the largest size the file had since the snapshot.  So a
 * synced byte that is missing, garbage, or data truncated before the sync
 * coming back are all failures.  It prints one line of figures.
 *
 * Exit status: 0 run ended (killed or not) / check passed; 1 check failed
 * or a setup error; 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 3
#define MAXSZ (768 * 1024)
#define MAXIO (96 * 1024)

enum op_kind { OP_WRITE, OP_STORE, OP_TRUNC, OP_FSYNC, OP_FDATASYNC, OP_MSYNC };

struct op {
	int file;
	enum op_kind kind;
	uint64_t off, len; /* WRITE, STORE; len of TRUNC = new size */
	uint64_t key;	   /* the data pattern of WRITE and STORE */
};

struct model {
	uint8_t *data; /* MAXSZ bytes, zero past size */
	uint64_t size;
};

static uint64_t rng;

static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint8_t pattern(uint64_t key, uint64_t off)
{
	uint64_t x = key + off * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (uint8_t)(x >> 56);
}

/* The next op, drawn against the models (which only gen_apply changes). */
static void gen_op(struct op *op, const struct model *m)
{
	uint64_t r = next_rand() % 100;
	const struct model *fm;

	op->file = (int)(next_rand() % NFILES);
	op->key = next_rand();
	fm = &m[op->file];
	if (r < 35) {
		op->kind = OP_WRITE;
	} else if (r < 65) {
		op->kind = fm->size ? OP_STORE : OP_WRITE;
	} else if (r < 75) {
		op->kind = OP_TRUNC;
	} else if (r < 85) {
		op->kind = OP_FSYNC;
	} else if (r < 92) {
		op->kind = OP_FDATASYNC;
	} else {
		op->kind = OP_MSYNC;
	}
	switch (op->kind) {
	case OP_WRITE:
		op->off = next_rand() % (MAXSZ - 1);
		op->len = 1 + next_rand() % MAXIO;
		if (op->off + op->len > MAXSZ)
			op->len = MAXSZ - op->off;
		break;
	case OP_STORE:
		op->off = next_rand() % fm->size;
		op->len = 1 + next_rand() % MAXIO;
		if (op->off + op->len > fm->size)
			op->len = fm->size - op->off;
		break;
	case OP_TRUNC:
		/* Often to a page boundary, often to 0 or a short size. */
		op->len = next_rand() % (MAXSZ + 1);
		if (next_rand() % 3 == 0)
			op->len &= ~4095ULL;
		if (next_rand() % 8 == 0)
			op->len = next_rand() % 3 ? 0 : 1 + next_rand() % 5000;
		op->off = 0;
		break;
	default:
		op->off = op->len = 0;
	}
}

static void gen_apply(const struct op *op, struct model *m)
{
	struct model *fm = &m[op->file];
	uint64_t i;

	switch (op->kind) {
	case OP_WRITE:
	case OP_STORE:
		for (i = 0; i < op->len; i++)
			fm->data[op->off + i] = pattern(op->key, op->off + i);
		if (op->off + op->len > fm->size)
			fm->size = op->off + op->len;
		break;
	case OP_TRUNC:
		if (op->len < fm->size)
			memset(fm->data + op->len, 0, fm->size - op->len);
		fm->size = op->len;
		break;
	default:
		break;
	}
}

static int is_sync(enum op_kind k)
{
	return k == OP_FSYNC || k == OP_FDATASYNC || k == OP_MSYNC;
}

static void models_init(struct model *m)
{
	int f;

	for (f = 0; f < NFILES; f++) {
		m[f].data = calloc(1, MAXSZ);
		m[f].size = 0;
		if (!m[f].data) {
			perror("calloc");
			exit(1);
		}
	}
}

static void models_free(struct model *m)
{
	int f;

	for (f = 0; f < NFILES; f++)
		free(m[f].data);
}

static void file_name(char *buf, size_t sz, const char *dir,
		      unsigned long long seed, int f)
{
	snprintf(buf, sz, "%s/c%llu-%d", dir, seed, f);
}

/* -- run */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t in_store;

static void on_bus(int sig)
{
	(void)sig;
	if (in_store)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

static int logfd = -1;

static void log_line(char c, unsigned long i, int sync)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%c %lu\n", c, i);

	if (write(logfd, buf, (size_t)n) != n) {
		perror("log write");
		exit(1);
	}
	if (sync && fdatasync(logfd)) {
		perror("log fdatasync");
		exit(1);
	}
}

/* Store @op's pattern through @map; -1 with errno EFAULT on SIGBUS. */
static int do_store(uint8_t *map, const struct op *op)
{
	uint64_t k;

	if (sigsetjmp(bus_jmp, 1)) {
		in_store = 0;
		errno = EFAULT;
		return -1;
	}
	in_store = 1;
	for (k = 0; k < op->len; k++)
		map[op->off + k] = pattern(op->key, op->off + k);
	in_store = 0;
	return 0;
}

static int do_run(unsigned long long seed, const char *dir, const char *log,
		  unsigned long nops)
{
	struct model m[NFILES];
	int fd[NFILES];
	uint8_t *map[NFILES];
	struct sigaction sa = {.sa_handler = on_bus};
	char name[4096];
	unsigned long i;
	uint8_t *buf = malloc(MAXIO);
	int f;

	if (!buf)
		return 1;
	models_init(m);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (logfd < 0) {
		perror(log);
		return 1;
	}
	sigaction(SIGBUS, &sa, NULL);
	for (f = 0; f < NFILES; f++) {
		file_name(name, sizeof(name), dir, seed, f);
		fd[f] = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd[f] < 0) {
			perror(name);
			return 1;
		}
		map[f] = mmap(NULL, MAXSZ, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fd[f], 0);
		if (map[f] == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
	}
	rng = seed;
	for (i = 0; i < nops; i++) {
		struct op op;
		uint64_t k;
		int r = 0;

		gen_op(&op, m);
		log_line('B', i, 0);
		switch (op.kind) {
		case OP_WRITE:
			for (k = 0; k < op.len; k++)
				buf[k] = pattern(op.key, op.off + k);
			r = pwrite(fd[op.file], buf, op.len, (off_t)op.off) ==
					    (ssize_t)op.len
				    ? 0
				    : -1;
			break;
		case OP_STORE:
			r = do_store(map[op.file], &op);
			break;
		case OP_TRUNC:
			r = ftruncate(fd[op.file], (off_t)op.len);
			break;
		case OP_FSYNC:
			r = fsync(fd[op.file]);
			break;
		case OP_FDATASYNC:
			r = fdatasync(fd[op.file]);
			break;
		case OP_MSYNC:
			r = msync(map[op.file], MAXSZ, MS_SYNC);
			break;
		}
		if (r) {
			printf("op %lu stopped: %s\n", i, strerror(errno));
			break;
		}
		if (is_sync(op.kind))
			log_line('S', i, 1);
		gen_apply(&op, m);
	}
	if (i == nops)
		log_line('D', i, 1);
	printf("ran %lu ops\n", i);
	models_free(m);
	free(buf);
	return 0;
}

/* -- check */

struct maybe {
	unsigned long n;
	struct op *ops;
};

static int do_check(unsigned long long seed, const char *dir, const char *log)
{
	struct model m[NFILES], snap[NFILES];
	long last_sync[NFILES];
	uint64_t lo[NFILES], hi[NFILES];
	struct maybe mb[NFILES] = {{0, NULL}};
	unsigned long nbegun = 0, nsync = 0, i, checked = 0, synced_bytes = 0;
	char line[128], name[4096];
	FILE *lf = fopen(log, "r");
	uint8_t *got = malloc(MAXSZ + 1);
	int f, bad = 0;

	if (!lf || !got) {
		perror(log);
		return 1;
	}
	for (f = 0; f < NFILES; f++)
		last_sync[f] = -1;
	models_init(m);
	models_init(snap);
	/* Pass 1: how far did it get, and which syncs returned. */
	{
		long *sync_at = NULL;
		size_t nsa = 0;

		while (fgets(line, sizeof(line), lf)) {
			unsigned long v;

			if (sscanf(line + 2, "%lu", &v) != 1)
				continue;
			if (line[0] == 'B' && v + 1 > nbegun)
				nbegun = v + 1;
			if (line[0] == 'S') {
				sync_at = realloc(sync_at,
						  (nsa + 1) * sizeof(*sync_at));
				sync_at[nsa++] = (long)v;
			}
		}
		fclose(lf);
		/* Pass 2: replay; note each file's last returned sync. */
		rng = seed;
		{
			struct op *all = calloc(nbegun + 1, sizeof(*all));
			size_t s = 0;

			for (i = 0; i < nbegun; i++) {
				gen_op(&all[i], m);
				gen_apply(&all[i], m);
				while (s < nsa && (unsigned long)sync_at[s] < i)
					s++;
				if (s < nsa && (unsigned long)sync_at[s] == i) {
					last_sync[all[i].file] = (long)i;
					nsync++;
				}
			}
			/* Pass 3: snapshots and maybe-applied ops. */
			for (f = 0; f < NFILES; f++)
				m[f].size = 0, memset(m[f].data, 0, MAXSZ);
			for (f = 0; f < NFILES; f++) {
				snap[f].size = 0;
				lo[f] = hi[f] = 0;
			}
			for (i = 0; i < nbegun; i++) {
				struct op *op = &all[i];

				f = op->file;
				gen_apply(op, m);
				if ((long)i <= last_sync[f]) {
					snap[f].size = m[f].size;
					memcpy(snap[f].data, m[f].data, MAXSZ);
					lo[f] = hi[f] = m[f].size;
					continue;
				}
				mb[f].ops = realloc(
					mb[f].ops, (mb[f].n + 1) * sizeof(*op));
				mb[f].ops[mb[f].n++] = *op;
				if (m[f].size < lo[f])
					lo[f] = m[f].size;
				if (m[f].size > hi[f])
					hi[f] = m[f].size;
			}
			free(all);
		}
		free(sync_at);
	}
	for (f = 0; f < NFILES; f++) {
		struct stat st;
		ssize_t n;
		uint64_t o;
		int fd;

		file_name(name, sizeof(name), dir, seed, f);
		fd = open(name, O_RDONLY);
		if (fd < 0) {
			printf("FAIL %s: %s\n", name, strerror(errno));
			bad = 1;
			continue;
		}
		fstat(fd, &st);
		if ((uint64_t)st.st_size < lo[f] ||
		    (uint64_t)st.st_size > hi[f]) {
			printf("FAIL %s: size %lld, expected %llu..%llu "
			       "(synced size %llu at op %ld, %lu ops since)\n",
			       name, (long long)st.st_size,
			       (unsigned long long)lo[f],
			       (unsigned long long)hi[f],
			       (unsigned long long)snap[f].size, last_sync[f],
			       mb[f].n);
			bad = 1;
		}
		n = pread(fd, got, MAXSZ + 1, 0);
		close(fd);
		if (n < 0) {
			printf("FAIL %s: read: %s\n", name, strerror(errno));
			bad = 1;
			continue;
		}
		if (n > MAXSZ)
			n = MAXSZ;
		for (o = 0; o < (uint64_t)n; o++) {
			uint8_t want = o < snap[f].size ? snap[f].data[o] : 0;
			unsigned long j;
			int ok = got[o] == want;

			for (j = 0; !ok && j < mb[f].n; j++) {
				const struct op *op = &mb[f].ops[j];

				if ((op->kind == OP_WRITE ||
				     op->kind == OP_STORE) &&
				    o >= op->off && o < op->off + op->len &&
				    got[o] == pattern(op->key, o))
					ok = 1;
				if (op->kind == OP_TRUNC && op->len <= o &&
				    got[o] == 0)
					ok = 1;
			}
			checked++;
			if (o < snap[f].size && last_sync[f] >= 0)
				synced_bytes++;
			if (!ok) {
				printf("FAIL %s: byte %llu is 0x%02x, synced "
				       "0x%02x (synced size %llu at op %ld, "
				       "%lu ops since)\n",
				       name, (unsigned long long)o, got[o],
				       want, (unsigned long long)snap[f].size,
				       last_sync[f], mb[f].n);
				bad = 1;
				break;
			}
		}
	}
	printf("check seed %llu: %lu ops begun, %lu syncs returned, %lu bytes "
	       "checked (%lu under a sync): %s\n",
	       seed, nbegun, nsync, checked, synced_bytes, bad ? "FAIL" : "ok");
	models_free(m);
	models_free(snap);
	for (f = 0; f < NFILES; f++)
		free(mb[f].ops);
	free(got);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long long seed;

	if (argc < 5)
		goto usage;
	seed = strtoull(argv[2], NULL, 0);
	if (!strcmp(argv[1], "run"))
		return do_run(seed, argv[3], argv[4],
			      argc > 5 ? strtoul(argv[5], NULL, 0) : 1000000);
	if (!strcmp(argv[1], "check"))
		return do_check(seed, argv[3], argv[4]);
usage:
	fprintf(stderr, "usage: crashload run SEED DIR LOG [NOPS]\n"
			"       crashload check SEED DIR LOG\n");
	return 2;
}
