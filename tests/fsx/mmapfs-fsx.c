// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tests/fsx/mmapfs-fsx.c - a randomized file exerciser in the manner of
 * xfstests' fsx, aimed at mmap() (SEMANTICS.md rule E2).
 *
 * One file, an in-memory model of it, and a long seeded random mix of
 * pread, pwrite, loads and stores through MAP_SHARED mappings, stores
 * through MAP_PRIVATE mappings, ftruncate, fsync, fdatasync, msync and
 * close/reopen.  After every operation the bytes it saw and the file size
 * (fstat) are compared with the model; every --check-every operations and at
 * the end the whole file is, through read() and through a mapping.  The
 * first difference ends the run: the seed, the operation number, the last
 * LOG_DEPTH operations with their arguments and the differing bytes are
 * printed to stderr and the exit status is 1.  A run is a pure function of
 * its seed when --procs is 1, so a failure is replayed with --seed.
 *
 * The model of a region (the whole file unless --procs):
 *   good[0, size) is what the file holds there; good[size, maxlen) is all
 *   zero.  Growing the file (ftruncate, or a write past EOF) therefore needs
 *   no work in the model, and the new bytes are checked against zeros: a
 *   grown file never shows stale data (C4), whatever was stored past EOF
 *   before (C2).
 *
 *   Bytes past EOF in the last partial page are mapped and may be stored to
 *   (C2).  Such stores never reach read() nor the size, but the page cache
 *   keeps them until write-back zeroes them again, so a mapping may show
 *   them for a while.  tail_dirty records that we stored there: while it is
 *   set nothing is expected of those bytes through a mapping; while it is
 *   clear they must read as zero.  It clears when a truncate shrinks the
 *   file (the kernel zeroes the rest of the new last page, C3) or when the
 *   file grows past the end of that page (it is then wholly inside the file
 *   and [old EOF, new EOF) must read as zero).
 *
 * Written bytes are never zero, so data where a hole belongs and a hole
 * where data belongs are both always visible as a difference.
 *
 * --procs N forks N processes on one shared file.  Process k owns the bytes
 * [k * maxlen, (k + 1) * maxlen) and keeps its own model of them; only the
 * last one may change the file size (truncate, writes past EOF, stores past
 * EOF), the others' regions always lie inside the file, so every model stays
 * exact whatever the interleaving.  Each process also keeps a MAP_SHARED
 * mapping of the whole file, so the same file is mapped by all of them at
 * once while the last one truncates it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_DEPTH	20		/* operations shown on failure */
#define MAX_PROCS	64
#define PROG		"mmapfs-fsx"

enum fsx_op {
	OP_READ,
	OP_WRITE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_MAPPRIVATE,
	OP_TRUNCATE,
	OP_FSYNC,
	OP_FDATASYNC,
	OP_REOPEN,
	OP_SIGBUS,
	OP_NR,
};

/*
 * The mix.  Weights are relative; an operation a process may not do (no
 * mmap, or it does not own EOF) gets weight 0 there.
 */
static const struct {
	const char *name;
	unsigned int weight;
	bool mmap;		/* needs mmap enabled */
	bool eof;		/* changes or probes the size: EOF owner */
} op_desc[OP_NR] = {
	[OP_READ]	= { "read",		16, false, false },
	[OP_WRITE]	= { "write",		18, false, false },
	[OP_MAPREAD]	= { "mapread",		14, true,  false },
	[OP_MAPWRITE]	= { "mapwrite",		18, true,  false },
	[OP_MAPPRIVATE]	= { "mapprivate",	 4, true,  false },
	[OP_TRUNCATE]	= { "truncate",		 8, false, true },
	[OP_FSYNC]	= { "fsync",		 2, false, false },
	[OP_FDATASYNC]	= { "fdatasync",	 2, false, false },
	[OP_REOPEN]	= { "reopen",		 2, false, false },
	[OP_SIGBUS]	= { "sigbus-probe",	 2, true,  true },
};

/* How an operation went about it; printed in the operation log. */
enum {
	F_PERSIST	= 1 << 0,	/* through the long-lived mapping */
	F_TAIL		= 1 << 1,	/* and past EOF, last page */
	F_MS_SYNC	= 1 << 2,
	F_MS_ASYNC	= 1 << 3,
	F_SKIPPED	= 1 << 4,	/* nothing to do: the file is empty */
	F_READBACK	= 1 << 5,	/* read the bytes back with pread */
};

/* One logged operation.  Offsets are relative to the process's region. */
struct op_rec {
	unsigned long nr;
	enum fsx_op op;
	unsigned int flags;
	size_t off;		/* truncate: the new size */
	size_t len;
	size_t tail_off;	/* F_TAIL: the stores past EOF */
	size_t tail_len;
	size_t size_before;
	size_t size_after;
};

struct fsx_opts {
	unsigned long long seed;
	unsigned long nops;
	size_t maxlen;			/* region (file) size limit */
	size_t maxoplen;		/* longest read, write or store */
	unsigned int nprocs;
	unsigned long check_every;	/* full compare period, 0 = never */
	bool use_mmap;
	bool verbose;
	bool self_test_corrupt;
	bool no_eof_stores;		/* diagnostic: no stores past EOF */
	bool sync_before_growth;	/* work around the kernel's EOF race */
	const char *dir;
	const char *file;		/* name inside dir */
	const char *dump_model;		/* where the final model goes */
};

/* Everything one process knows; one per process, never shared. */
struct fsx {
	const struct fsx_opts *o;
	const char *path;
	int fd;
	unsigned int proc;
	bool owns_eof;		/* last region: may change the size */
	off_t base;		/* file offset of region byte 0 */
	off_t eof_floor;	/* the file is never shorter than this */
	size_t size;		/* region bytes inside the file */
	bool tail_dirty;	/* stored past EOF since zeroed (see top) */
	unsigned char *good;	/* the model: maxlen bytes */
	unsigned char *buf;	/* bytes to write, bytes read */
	unsigned char *snap;	/* bytes copied out of a mapping */
	unsigned char *map;	/* MAP_SHARED of the whole file, or NULL */
	size_t map_len;
	unsigned int weight_sum;
	uint64_t rng;
	unsigned long opnr;	/* current operation, 1-based */
	unsigned long corrupt_at;	/* --self-test-corrupt: when */
	struct op_rec log[LOG_DEPTH];
	struct op_rec *cur;
	unsigned long count[OP_NR];
	unsigned long tail_stores;	/* MAP_SHARED stores past EOF */
};

static size_t pgsz;
static unsigned char *zeros;	/* pgsz zero bytes */

/*
 * Faults while touching a mapping.  Every load or store through a mapping
 * runs armed: a SIGBUS or SIGSEGV then jumps back so that it is reported
 * like any other difference (or, for the SIGBUS probe, expected).
 */
static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;
static volatile sig_atomic_t fault_sig;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fault_armed) {
		/* Not ours to explain: die of it as we would have. */
		signal(sig, SIG_DFL);
		return;
	}
	fault_armed = 0;
	fault_sig = sig;
	fault_addr = si->si_addr;
	siglongjmp(fault_env, 1);
}

static int install_fault_handler(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_fault,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		return -errno;
	return 0;
}

/*
 * memcpy() where either side may be a mapping; 0 or the fault's signal.
 * The barriers keep the copy between the two stores to fault_armed: only
 * volatile accesses are ordered among themselves, a memcpy() is not.
 */
static int guarded_copy(void *dst, const void *src, size_t len)
{
	if (sigsetjmp(fault_env, 1))
		return fault_sig;
	fault_armed = 1;
	__asm__ __volatile__("" ::: "memory");
	memcpy(dst, src, len);
	__asm__ __volatile__("" ::: "memory");
	fault_armed = 0;
	return 0;
}

/* Load one byte of a mapping; 0 or the fault's signal. */
static int guarded_load(const volatile unsigned char *p)
{
	if (sigsetjmp(fault_env, 1))
		return fault_sig;
	fault_armed = 1;
	(void)*p;
	fault_armed = 0;
	return 0;
}

/* ---- random numbers: splitmix64, the same sequence on every libc ---- */

static uint64_t rnd(struct fsx *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. */
static size_t rnd_below(struct fsx *f, size_t n)
{
	return n ? (size_t)(rnd(f) % n) : 0;
}

/* Random bytes, never zero (see the top of the file). */
static void fill_random(struct fsx *f, unsigned char *p, size_t len)
{
	while (len) {
		uint64_t r = rnd(f);
		int i;

		for (i = 0; i < 8 && len; i++, len--, r >>= 8)
			*p++ = (r & 0xff) ? (r & 0xff) : 0x5a;
	}
}

/* ---- positions ---- */

static off_t pg_down(off_t x)
{
	return x - x % (off_t)pgsz;
}

static off_t pg_up(off_t x)
{
	return pg_down(x + (off_t)pgsz - 1);
}

/* The file offset of region byte @local. */
static off_t fpos(const struct fsx *f, size_t local)
{
	return f->base + (off_t)local;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Bytes past EOF that belong to the last partial page, as region offsets
 * [f->size, *end); false when EOF is page aligned (or not ours).
 */
static bool tail_range(const struct fsx *f, size_t *end)
{
	off_t eof = fpos(f, f->size);

	if (!f->owns_eof || eof % (off_t)pgsz == 0)
		return false;
	*end = (size_t)(pg_up(eof) - f->base);
	return true;
}

/* ---- failure reports ---- */

static void print_rec(const struct fsx *f, const struct op_rec *r)
{
	fprintf(stderr, "  %8lu %-12s", r->nr, op_desc[r->op].name);
	switch (r->op) {
	case OP_TRUNCATE:
		fprintf(stderr, " to 0x%zx", r->off);
		break;
	case OP_FSYNC:
	case OP_FDATASYNC:
	case OP_REOPEN:
		break;
	case OP_SIGBUS:
		fprintf(stderr, " page at 0x%zx", r->off);
		break;
	default:
		if (!(r->flags & F_SKIPPED))
			fprintf(stderr, " 0x%zx..0x%zx (%zu bytes)", r->off,
				r->off + r->len, r->len);
		break;
	}
	fprintf(stderr, "  size 0x%zx", r->size_before);
	if (r->size_after != r->size_before)
		fprintf(stderr, " -> 0x%zx", r->size_after);
	if (r->flags & F_PERSIST)
		fprintf(stderr, "  long-lived map");
	else if (r->op == OP_MAPREAD || r->op == OP_MAPWRITE ||
		 r->op == OP_MAPPRIVATE)
		fprintf(stderr, "  fresh map");
	if (r->flags & F_TAIL)
		fprintf(stderr, "  past-EOF 0x%zx..0x%zx", r->tail_off,
			r->tail_off + r->tail_len);
	if (r->flags & F_MS_SYNC)
		fprintf(stderr, "  msync(MS_SYNC)");
	if (r->flags & F_MS_ASYNC)
		fprintf(stderr, "  msync(MS_ASYNC)");
	if (r->flags & F_READBACK)
		fprintf(stderr, "  +readback");
	if (r->flags & F_SKIPPED)
		fprintf(stderr, "  (skipped: empty)");
	if (r == f->cur)
		fprintf(stderr, "   <-- failed here");
	fputc('\n', stderr);
}

static void fail_head(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_head(struct fsx *f, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (f->o->nprocs > 1)
		fprintf(stderr,
			"%s: FAILED: seed %llu, proc %u of %u, op %lu: ", PROG,
			f->o->seed, f->proc, f->o->nprocs, f->opnr);
	else
		fprintf(stderr, "%s: FAILED: seed %llu, op %lu: ", PROG,
			f->o->seed, f->opnr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn)) fail_tail(struct fsx *f)
{
	unsigned long last = f->opnr > f->o->nops ? f->o->nops : f->opnr;
	unsigned long first = last >= LOG_DEPTH ? last - LOG_DEPTH + 1 : 1;
	unsigned long n;

	if (f->cur)
		f->cur->size_after = f->size;
	fprintf(stderr, "last %lu operations", last - first + 1);
	if (f->o->nprocs > 1)
		fprintf(stderr, " (offsets relative to this region, which "
			"starts at file offset 0x%llx)", (long long)f->base);
	fprintf(stderr, ":\n");
	for (n = first; n && n <= last; n++)
		print_rec(f, &f->log[n % LOG_DEPTH]);
	fprintf(stderr, "replay: %s --seed %llu --ops %lu --maxlen %zu "
		"--maxoplen %zu --check-every %lu%s%s%s%s%s DIR\n", PROG,
		f->o->seed, f->o->nops, f->o->maxlen, f->o->maxoplen,
		f->o->check_every, f->o->use_mmap ? "" : " --no-mmap",
		f->o->no_eof_stores ? " --no-eof-stores" : "",
		f->o->sync_before_growth ? " --sync-before-growth" : "",
		f->o->nprocs > 1 ? " --procs N (not deterministic)" : "",
		f->o->self_test_corrupt ? " --self-test-corrupt" : "");
	exit(1);
}

static void fail(struct fsx *f, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void fail(struct fsx *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_head(f, "%s", msg);
	fail_tail(f);
}

static void hex_row(const unsigned char *p, size_t from, size_t row,
		    size_t lo, size_t hi)
{
	size_t i;

	for (i = row; i < row + 16; i++) {
		if (i >= lo && i < hi)
			fprintf(stderr, " %02x", p[i - from]);
		else
			fprintf(stderr, " --");
	}
}

/*
 * check_bytes - compare @got with @expect, both @len bytes that stand for
 * region offsets [@off, @off + @len); on a difference report it and exit.
 */
static void check_bytes(struct fsx *f, const char *what, size_t off,
			const unsigned char *got, const unsigned char *expect,
			size_t len)
{
	size_t i, first = 0, last = 0, ndiff = 0, row;

	if (memcmp(got, expect, len) == 0)
		return;
	for (i = 0; i < len; i++) {
		if (got[i] == expect[i])
			continue;
		if (!ndiff++)
			first = i;
		last = i;
	}
	fail_head(f, "%s: data mismatch in 0x%zx..0x%zx (file size 0x%llx)",
		  what, off, off + len, (long long)fpos(f, f->size));
	fprintf(stderr, "first differing offset 0x%llx (file offset 0x%llx)"
		", %zu of %zu bytes differ, last at 0x%zx\n",
		(long long)(off + first), (long long)fpos(f, off + first),
		ndiff, len, off + last);
	fprintf(stderr, "  offset      expected%43sgot\n", "");
	for (row = (off + first) & ~(size_t)15;
	     row < off + len && row < ((off + first) & ~(size_t)15) + 48;
	     row += 16) {
		fprintf(stderr, "  0x%08zx ", row);
		hex_row(expect, off, row, off, off + len);
		fprintf(stderr, "  |");
		hex_row(got, off, row, off, off + len);
		fputc('\n', stderr);
	}
	fail_tail(f);
}

/* ---- plain I/O ---- */

static ssize_t pread_full(int fd, void *p, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)p + done, len - done,
				  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t pwrite_full(int fd, const void *p, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)p + done, len - done,
				   off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void check_size(struct fsx *f, const char *what)
{
	off_t want = fpos(f, f->size);
	struct stat st;

	if (fstat(f->fd, &st))
		fail(f, "%s: fstat: %s", what, strerror(errno));
	if (f->owns_eof && st.st_size != want)
		fail(f, "%s: file size is 0x%llx, expected 0x%llx", what,
		     (long long)st.st_size, (long long)want);
	if (!f->owns_eof && st.st_size < f->eof_floor)
		fail(f, "%s: file size is 0x%llx, expected at least 0x%llx",
		     what, (long long)st.st_size, (long long)f->eof_floor);
}

/* pread region bytes [off, off + len), all inside the file; compare. */
static void verify_pread(struct fsx *f, const char *what, size_t off,
			 size_t len)
{
	ssize_t n = pread_full(f->fd, f->buf, len, fpos(f, off));

	if (n < 0)
		fail(f, "%s: pread(0x%zx, %zu): %s", what, off, len,
		     strerror((int)-n));
	if ((size_t)n != len)
		fail(f, "%s: pread(0x%zx, %zu) returned %zd bytes", what, off,
		     len, n);
	check_bytes(f, what, off, f->buf, f->good + off, len);
}

/* Past EOF read() sees nothing, whatever was stored there (C2). */
static void verify_eof_read(struct fsx *f, const char *what)
{
	size_t back = min_sz(f->size, 16);
	ssize_t n;

	n = pread_full(f->fd, f->buf, back + pgsz, fpos(f, f->size - back));
	if (n < 0)
		fail(f, "%s: pread at EOF: %s", what, strerror((int)-n));
	if ((size_t)n != back)
		fail(f, "%s: pread(0x%zx, %zu) across EOF 0x%zx returned %zd "
		     "bytes, expected %zu", what, f->size - back, back + pgsz,
		     f->size, n, back);
	check_bytes(f, what, f->size - back, f->buf, f->good + f->size - back,
		    back);
}

/* ---- mappings ---- */

/* A window of region bytes [off, end) seen through a mapping. */
struct view {
	unsigned char *mem;	/* what mmap() returned; NULL: f->map */
	size_t mem_len;
	off_t mem_off;		/* file offset of mem[0] */
	unsigned char *p;	/* region byte 'off' */
	off_t p_off;		/* file offset of p[0] */
	size_t len;		/* end - off */
};

static void view_open(struct fsx *f, struct view *v, bool persist,
		      size_t off, size_t end, int prot, int flags)
{
	off_t lo = fpos(f, off), hi = fpos(f, end);

	v->p_off = lo;
	v->len = end - off;
	if (persist) {
		v->mem = NULL;
		v->mem_len = 0;
		v->mem_off = 0;
		v->p = f->map + lo;
		return;
	}
	v->mem_off = pg_down(lo);
	v->mem_len = (size_t)(pg_up(hi) - v->mem_off);
	v->mem = mmap(NULL, v->mem_len, prot, flags, f->fd, v->mem_off);
	if (v->mem == MAP_FAILED)
		fail(f, "mmap(%zu bytes at file offset 0x%llx, %s): %s",
		     v->mem_len, (long long)v->mem_off,
		     flags & MAP_PRIVATE ? "MAP_PRIVATE" : "MAP_SHARED",
		     strerror(errno));
	v->p = v->mem + (lo - v->mem_off);
}

static void view_close(struct fsx *f, struct view *v)
{
	if (v->mem && munmap(v->mem, v->mem_len))
		fail(f, "munmap: %s", strerror(errno));
}

static void view_msync(struct fsx *f, struct view *v, int how)
{
	unsigned char *start;
	size_t len;

	if (v->mem) {
		start = v->mem;
		len = v->mem_len;
	} else {
		off_t a = pg_down(v->p_off);

		start = f->map + a;
		len = (size_t)(pg_up(v->p_off + (off_t)v->len) - a);
	}
	if (msync(start, len, how))
		fail(f, "msync(%s) of %zu bytes: %s",
		     how == MS_SYNC ? "MS_SYNC" : "MS_ASYNC", len,
		     strerror(errno));
}

static void __attribute__((noreturn))
fault_fail(struct fsx *f, const struct view *v, const char *what)
{
	const unsigned char *mem = v->mem ? v->mem : f->map;
	long long at = (long long)((const unsigned char *)fault_addr - mem) +
		       (long long)v->mem_off;

	fail(f, "%s: %s touching file offset 0x%llx (file size 0x%llx)",
	     what, fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV", at,
	     (long long)fpos(f, f->size));
}

/* Copy @len bytes from window offset @rel into @dst. */
static void view_load(struct fsx *f, const struct view *v, size_t rel,
		      void *dst, size_t len, const char *what)
{
	if (guarded_copy(dst, v->p + rel, len))
		fault_fail(f, v, what);
}

/* Store @len bytes from @src at window offset @rel. */
static void view_store(struct fsx *f, const struct view *v, size_t rel,
		       const void *src, size_t len, const char *what)
{
	if (guarded_copy(v->p + rel, src, len))
		fault_fail(f, v, what);
}

/*
 * Through the long-lived mapping, compare region bytes [off, off + len)
 * with the model, and the bytes past EOF in the last page with zeros when
 * @tail and nothing has been stored there.
 */
static void verify_map(struct fsx *f, const char *what, size_t off,
		       size_t len, bool tail)
{
	size_t end = off + len, tend = 0;
	struct view v;

	if (!f->map)
		return;
	tail = tail && !f->tail_dirty && tail_range(f, &tend);
	view_open(f, &v, true, off, tail ? tend : end, 0, 0);
	view_load(f, &v, 0, f->snap, v.len, what);
	check_bytes(f, what, off, f->snap, f->good + off, len);
	if (tail)
		check_bytes(f, "long-lived map past EOF (C2, C3)", f->size,
			    f->snap + (f->size - off), zeros, tend - f->size);
}

/* ---- the model ---- */

/*
 * The file's size changed to @new_size.  Past the old EOF the model holds
 * zeros already; what stays to decide is tail_dirty (see the top): a
 * shrink zeroes the rest of the new last page, growth past the end of the
 * old last page leaves a fresh one.  Growth inside that page zeroes only
 * up to the new EOF (ext4 leaves a write's tail as it was), so the flag
 * stays.
 */
static void model_resize(struct fsx *f, size_t new_size)
{
	off_t old_eof = fpos(f, f->size), new_eof = fpos(f, new_size);

	if (new_size < f->size) {
		memset(f->good + new_size, 0, f->size - new_size);
		f->tail_dirty = false;
	} else if (new_size > f->size && new_eof >= pg_up(old_eof)) {
		f->tail_dirty = false;
	}
	f->size = new_size;
}

/* What an extension's check is about: C2 when we stored past EOF before. */
static const char *grow_rule(bool was_dirty, const char *what)
{
	return was_dirty ? "bytes stored past EOF before the file grew "
			   "must read as zero (C2)" : what;
}

/*
 * A range of region bytes in [0, limit), limit > 0: short ones most of the
 * time, often straddling or starting at a page boundary of the file.
 */
static void pick_range(struct fsx *f, size_t limit, size_t *offp,
		       size_t *lenp)
{
	size_t maxl = min_sz(limit, f->o->maxoplen), len, off;

	switch (rnd_below(f, 10)) {
	case 0: case 1: case 2: case 3:
		len = 1 + rnd_below(f, min_sz(maxl, 128));
		break;
	case 4: case 5: case 6:
		len = 1 + rnd_below(f, min_sz(maxl, 2 * pgsz));
		break;
	default:
		len = 1 + rnd_below(f, maxl);
		break;
	}
	if (rnd_below(f, 4) == 0) {
		off_t pg = pg_down(fpos(f, rnd_below(f, limit)));
		size_t at = pg > f->base ? (size_t)(pg - f->base) : 0;

		off = at - rnd_below(f, min_sz(at, len) + 1);
	} else {
		off = rnd_below(f, limit - len + 1);
	}
	if (off + len > limit)
		off = limit - len;
	*offp = off;
	*lenp = len;
}

/* A new size for truncate: anywhere, at a page boundary, or near EOF. */
static size_t pick_size(struct fsx *f)
{
	size_t max = f->o->maxlen, ns;
	off_t pg;

	switch (rnd_below(f, 4)) {
	case 0:
		ns = rnd_below(f, max + 1);
		break;
	case 1:
		pg = pg_down(fpos(f, rnd_below(f, max + 1)));
		ns = pg > f->base ? (size_t)(pg - f->base) : 0;
		ns = ns + rnd_below(f, 3);
		ns = ns ? ns - 1 : 0;
		break;
	case 2:
		ns = f->size + rnd_below(f, 4 * pgsz);
		ns = ns > 2 * pgsz ? ns - 2 * pgsz : 0;
		break;
	default:
		ns = rnd_below(f, pgsz + 1);
		break;
	}
	return ns > max ? max : ns;
}

/* ---- operations ---- */

static void op_read(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t limit = f->size, off, len, want;
	ssize_t n;

	/* Sometimes cross or start past EOF: the read must come back short. */
	if (f->owns_eof && rnd_below(f, 8) == 0)
		limit = f->o->maxlen;
	if (!limit) {
		r->flags |= F_SKIPPED;
		return;
	}
	pick_range(f, limit, &off, &len);
	r->off = off;
	r->len = len;
	want = off >= f->size ? 0 : min_sz(len, f->size - off);
	n = pread_full(f->fd, f->buf, len, fpos(f, off));
	if (n < 0)
		fail(f, "pread(0x%zx, %zu): %s", off, len, strerror((int)-n));
	if ((size_t)n != want)
		fail(f, "pread(0x%zx, %zu) returned %zd bytes, expected %zu",
		     off, len, n, want);
	check_bytes(f, "pread", off, f->buf, f->good + off, want);
}

/*
 * --sync-before-growth: write back the page that holds an unaligned EOF
 * before a write(2) that grows the file.  The FUSE kernel (6.17 and later,
 * iomap write-back) loses such a write's bytes in that page when another
 * process makes it write the page back, dirty from mapped stores, while
 * the write is in flight: write-back zeroes the page past the old i_size
 * after write(2) copied its data there (docs/semantics.md, "known kernel
 * bug").  A clean page is not written back, so the race cannot happen;
 * only this process stores into the page that holds EOF (it owns the last
 * region), so it stays clean until the write.
 */
static void clean_eof_page(struct fsx *f)
{
	off_t eof = fpos(f, f->size), pg = pg_down(eof);

	if (!f->map || eof % (off_t)pgsz == 0)
		return;
	if (msync(f->map + pg, pgsz, MS_SYNC))
		fail(f, "msync(MS_SYNC) of the page holding EOF: %s",
		     strerror(errno));
}

static void op_write(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t max = f->o->maxlen, old = f->size, off, len;
	bool was_dirty = f->tail_dirty;
	ssize_t n;

	pick_range(f, max, &off, &len);
	/* A third of the writes land around EOF: appends, small holes. */
	if (f->owns_eof && rnd_below(f, 3) == 0) {
		off = f->size + rnd_below(f, 2 * pgsz);
		off = off > pgsz ? off - pgsz : 0;
		if (off > max - 1)
			off = max - 1;
		len = min_sz(len, max - off);
	}
	r->off = off;
	r->len = len;
	fill_random(f, f->buf, len);
	if (f->o->sync_before_growth && off + len > f->size)
		clean_eof_page(f);
	n = pwrite_full(f->fd, f->buf, len, fpos(f, off));
	if (n < 0)
		fail(f, "pwrite(0x%zx, %zu): %s", off, len, strerror((int)-n));
	memcpy(f->good + off, f->buf, len);
	if (off + len > f->size)
		model_resize(f, off + len);
	check_size(f, "size after write");
	/* A write past EOF leaves a hole that reads as zero (C4). */
	if (off > old) {
		verify_pread(f, grow_rule(was_dirty, "hole left by a write "
					  "past EOF (C4)"), old,
			     off + len - old);
	} else if (rnd_below(f, 2)) {
		r->flags |= F_READBACK;
		verify_pread(f, "read back after write", off, len);
	}
}

static void op_mapread(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t off, len, end, tend = 0;
	bool persist, tail;
	struct view v;

	if (!f->size) {
		r->flags |= F_SKIPPED;
		return;
	}
	pick_range(f, f->size, &off, &len);
	persist = f->map && rnd_below(f, 2);
	r->off = off;
	r->len = len;
	r->flags |= persist ? F_PERSIST : 0;
	/* A window reaching the last page also checks the zeros past EOF. */
	end = off + len;
	tail = !f->tail_dirty && tail_range(f, &tend) &&
	       fpos(f, end) > pg_down(fpos(f, f->size));
	view_open(f, &v, persist, off, tail ? tend : end, PROT_READ,
		  MAP_SHARED);
	view_load(f, &v, 0, f->snap, v.len, "mapped read");
	view_close(f, &v);
	check_bytes(f, "mapped read", off, f->snap, f->good + off, len);
	if (tail)
		check_bytes(f, "mapped read past EOF (C2)", f->size,
			    f->snap + (f->size - off), zeros, tend - f->size);
}

static void op_mapwrite(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t off, len, end, tend = 0, toff = 0, tlen = 0;
	bool persist, tail;
	unsigned int how;
	struct view v;

	if (!f->size) {
		r->flags |= F_SKIPPED;
		return;
	}
	pick_range(f, f->size, &off, &len);
	end = off + len;
	tail = tail_range(f, &tend) && rnd_below(f, 4) == 0 &&
	       !f->o->no_eof_stores;
	if (tail) {
		toff = f->size + rnd_below(f, tend - f->size);
		tlen = 1 + rnd_below(f, tend - toff);
		end = tend;
		r->flags |= F_TAIL;
		r->tail_off = toff;
		r->tail_len = tlen;
	}
	persist = f->map && rnd_below(f, 2);
	how = (unsigned int)rnd_below(f, 3);
	r->off = off;
	r->len = len;
	r->flags |= (persist ? F_PERSIST : 0) |
		    (how == 1 ? F_MS_SYNC : how == 2 ? F_MS_ASYNC : 0);
	fill_random(f, f->buf, len + tlen);

	view_open(f, &v, persist, off, end, PROT_READ | PROT_WRITE,
		  MAP_SHARED);
	view_store(f, &v, 0, f->buf, len, "mapped store");
	if (tail)
		view_store(f, &v, toff - off, f->buf + len, tlen,
			   "mapped store past EOF");
	if (how)
		view_msync(f, &v, how == 1 ? MS_SYNC : MS_ASYNC);
	view_close(f, &v);

	memcpy(f->good + off, f->buf, len);
	if (tail) {
		f->tail_dirty = true;
		f->tail_stores++;
	}
	/* Stores never change the size, past EOF neither (C2, C5). */
	check_size(f, "size after mapped store");
	if (tail)
		verify_eof_read(f, "read across EOF after a store past it "
				"(C2)");
	/* Visible to read() at once, without msync (A1). */
	if (rnd_below(f, 4)) {
		r->flags |= F_READBACK;
		verify_pread(f, "read after mapped store (A1)", off, len);
	}
}

static void op_mapprivate(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t off, len, end, tend = 0, tlen = 0;
	bool tail;
	struct view v;

	if (!f->size) {
		r->flags |= F_SKIPPED;
		return;
	}
	pick_range(f, f->size, &off, &len);
	end = off + len;
	tail = tail_range(f, &tend) && rnd_below(f, 4) == 0;
	if (tail) {
		tlen = tend - f->size;
		end = tend;
		r->flags |= F_TAIL;
		r->tail_off = f->size;
		r->tail_len = tlen;
	}
	r->off = off;
	r->len = len;
	fill_random(f, f->buf, len + tlen);

	view_open(f, &v, false, off, end, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE);
	/* Before the first store a private mapping shows the file. */
	view_load(f, &v, 0, f->snap, len, "MAP_PRIVATE load");
	check_bytes(f, "MAP_PRIVATE mapping before any store", off, f->snap,
		    f->good + off, len);
	view_store(f, &v, 0, f->buf, len, "MAP_PRIVATE store");
	if (tail)
		view_store(f, &v, f->size - off, f->buf + len, tlen,
			   "MAP_PRIVATE store past EOF");
	if (rnd_below(f, 2)) {
		r->flags |= F_MS_SYNC;
		view_msync(f, &v, MS_SYNC);
	}
	view_load(f, &v, 0, f->snap, len, "MAP_PRIVATE load");
	check_bytes(f, "MAP_PRIVATE mapping after our stores", off, f->snap,
		    f->buf, len);
	view_close(f, &v);

	/* Copy-on-write: nothing reaches the file or other mappings (A3). */
	verify_pread(f, "read after MAP_PRIVATE store (A3)", off, len);
	if (tail)
		verify_eof_read(f, "read across EOF after a MAP_PRIVATE store");
	verify_map(f, "long-lived map after MAP_PRIVATE store (A3)", off, len,
		   tail);
}

static void op_truncate(struct fsx *f)
{
	struct op_rec *r = f->cur;
	size_t old = f->size, ns = pick_size(f), back;
	bool was_dirty = f->tail_dirty;

	r->off = ns;
	if (ftruncate(f->fd, fpos(f, ns)))
		fail(f, "ftruncate(0x%llx): %s", (long long)fpos(f, ns),
		     strerror(errno));
	model_resize(f, ns);
	check_size(f, "size after ftruncate");
	if (ns > old) {
		/* The new bytes are zeros, never stale data (C2, C4). */
		back = min_sz(old, 16);
		verify_pread(f, grow_rule(was_dirty, "read after extending "
					  "truncate (C4)"),
			     old - back, ns - old + back);
		if (rnd_below(f, 2))
			verify_map(f, grow_rule(was_dirty, "long-lived map "
						"after extending truncate "
						"(C4)"),
				   old - back, ns - old + back, true);
	} else if (ns < old && ns && rnd_below(f, 2)) {
		/* The rest of the new last page reads as zero (C3). */
		back = min_sz(ns, 16);
		verify_map(f, "long-lived map after shrinking truncate (C3)",
			   ns - back, back, true);
	}
}

static void op_sync(struct fsx *f, bool data_only)
{
	if (data_only ? fdatasync(f->fd) : fsync(f->fd))
		fail(f, "%s: %s", data_only ? "fdatasync" : "fsync",
		     strerror(errno));
}

static void op_reopen(struct fsx *f)
{
	/* close() reports write-back errors not yet seen (B5). */
	if (close(f->fd))
		fail(f, "close: %s", strerror(errno));
	f->fd = open(f->path, O_RDWR);
	if (f->fd < 0)
		fail(f, "reopen %s: %s", f->path, strerror(errno));
}

/* A load from a page wholly past EOF raises SIGBUS (C1, C3). */
static void op_sigbus(struct fsx *f)
{
	struct op_rec *r = f->cur;
	off_t first = pg_up(fpos(f, f->size));
	off_t limit = pg_up(fpos(f, f->o->maxlen));
	size_t npages = limit > first ? (size_t)((limit - first) /
						 (off_t)pgsz) : 1;
	off_t pg = first + (off_t)(rnd_below(f, npages) * pgsz);
	size_t at = rnd_below(f, pgsz);
	bool persist = f->map && pg + (off_t)pgsz <= (off_t)f->map_len &&
		       rnd_below(f, 2);
	unsigned char *mem;
	int sig;

	r->off = (size_t)(pg - f->base);
	r->flags |= persist ? F_PERSIST : 0;
	if (persist) {
		mem = f->map + pg;
	} else {
		mem = mmap(NULL, pgsz, PROT_READ, MAP_SHARED, f->fd, pg);
		if (mem == MAP_FAILED)
			fail(f, "mmap of the page at 0x%llx past EOF: %s",
			     (long long)pg, strerror(errno));
	}
	sig = guarded_load(mem + at);
	if (!persist)
		munmap(mem, pgsz);
	if (sig != SIGBUS)
		fail(f, "load at file offset 0x%llx, in a page wholly past "
		     "EOF 0x%llx: %s, expected SIGBUS (C1)",
		     (long long)(pg + (off_t)at),
		     (long long)fpos(f, f->size),
		     sig ? "SIGSEGV" : "no fault");
}

/* ---- whole-file checks ---- */

static void check_all(struct fsx *f, const char *why)
{
	/* One page more than the region: the read must stop at EOF. */
	size_t ask = f->owns_eof ? f->o->maxlen + pgsz : f->o->maxlen;
	char what[128];
	ssize_t n;

	check_size(f, why);
	n = pread_full(f->fd, f->buf, ask, f->base);
	if (n < 0)
		fail(f, "%s: pread of the whole file: %s", why,
		     strerror((int)-n));
	if ((size_t)n != f->size)
		fail(f, "%s: reading the whole file returned %zd bytes, "
		     "expected %zu", why, n, f->size);
	snprintf(what, sizeof(what), "%s, through read()", why);
	check_bytes(f, what, 0, f->buf, f->good, f->size);
	snprintf(what, sizeof(what), "%s, through the long-lived map", why);
	verify_map(f, what, 0, f->size, true);
}

static void __attribute__((noreturn)) self_test_corrupt(struct fsx *f)
{
	unsigned char c;
	off_t at;
	int fd2;

	fd2 = open(f->path, O_RDWR);
	if (fd2 < 0)
		fail(f, "self-test: open: %s", strerror(errno));
	if (f->size) {
		at = fpos(f, rnd_below(f, f->size));
		if (pread(fd2, &c, 1, at) != 1)
			fail(f, "self-test: pread: %s", strerror(errno));
		c ^= 0xff;
	} else {
		at = fpos(f, 0);
		c = 0x5a;
	}
	if (pwrite(fd2, &c, 1, at) != 1)
		fail(f, "self-test: pwrite: %s", strerror(errno));
	close(fd2);
	fprintf(stderr, "%s: self-test: changed the byte at file offset "
		"0x%llx through a second descriptor\n", PROG, (long long)at);
	check_all(f, "full check after self-test corruption");
	fprintf(stderr, "%s: self-test: the corruption was NOT detected\n",
		PROG);
	exit(3);
}

/* ---- one process's run ---- */

static void fsx_init(struct fsx *f, const struct fsx_opts *o,
		     const char *path, unsigned int proc)
{
	size_t bufsz = o->maxlen + 2 * pgsz;
	unsigned int i;

	memset(f, 0, sizeof(*f));
	f->o = o;
	f->path = path;
	f->proc = proc;
	f->owns_eof = proc == o->nprocs - 1;
	f->base = (off_t)proc * (off_t)o->maxlen;
	f->eof_floor = (off_t)(o->nprocs - 1) * (off_t)o->maxlen;
	f->size = f->owns_eof ? 0 : o->maxlen;
	/* Each process its own stream; proc 0's is the same for any N. */
	f->rng = o->seed + proc * 0xd1b54a32d192ed03ULL;
	rnd(f);
	f->good = calloc(1, bufsz);
	f->buf = malloc(bufsz);
	f->snap = malloc(bufsz);
	if (!f->good || !f->buf || !f->snap) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(2);
	}
	f->fd = open(path, O_RDWR);
	if (f->fd < 0) {
		fprintf(stderr, "%s: open %s: %s\n", PROG, path,
			strerror(errno));
		exit(1);
	}
	if (o->use_mmap) {
		f->map_len = (size_t)pg_up((off_t)o->nprocs *
					   (off_t)o->maxlen);
		f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, f->fd, 0);
		if (f->map == MAP_FAILED)
			fail(f, "mmap of the whole file: %s", strerror(errno));
	}
	for (i = 0; i < OP_NR; i++) {
		if (op_desc[i].mmap && !o->use_mmap)
			continue;
		if (op_desc[i].eof && !f->owns_eof)
			continue;
		f->weight_sum += op_desc[i].weight;
	}
	if (o->self_test_corrupt && proc == 0)
		f->corrupt_at = o->nops / 2 ? o->nops / 2 : 1;
}

static enum fsx_op pick_op(struct fsx *f)
{
	size_t w = rnd_below(f, f->weight_sum);
	unsigned int i;

	for (i = 0; i < OP_NR; i++) {
		if (op_desc[i].mmap && !f->o->use_mmap)
			continue;
		if (op_desc[i].eof && !f->owns_eof)
			continue;
		if (w < op_desc[i].weight)
			return (enum fsx_op)i;
		w -= op_desc[i].weight;
	}
	return OP_READ;
}

static void do_op(struct fsx *f, enum fsx_op op)
{
	switch (op) {
	case OP_READ:
		op_read(f);
		break;
	case OP_WRITE:
		op_write(f);
		break;
	case OP_MAPREAD:
		op_mapread(f);
		break;
	case OP_MAPWRITE:
		op_mapwrite(f);
		break;
	case OP_MAPPRIVATE:
		op_mapprivate(f);
		break;
	case OP_TRUNCATE:
		op_truncate(f);
		break;
	case OP_FSYNC:
		op_sync(f, false);
		break;
	case OP_FDATASYNC:
		op_sync(f, true);
		break;
	case OP_REOPEN:
		op_reopen(f);
		break;
	case OP_SIGBUS:
		op_sigbus(f);
		break;
	case OP_NR:
		break;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The model as the file should be: region bytes at their file offsets. */
static void dump_model(struct fsx *f)
{
	const char *path = f->o->dump_model;
	int fd, flags = O_WRONLY | O_CREAT;
	ssize_t n;

	/* With several processes the parent created it empty already. */
	if (f->o->nprocs == 1)
		flags |= O_TRUNC;
	fd = open(path, flags, 0644);
	if (fd < 0)
		fail(f, "--dump-model %s: %s", path, strerror(errno));
	n = pwrite_full(fd, f->good, f->size, f->base);
	if (n < 0)
		fail(f, "--dump-model %s: %s", path, strerror((int)-n));
	if (f->owns_eof && ftruncate(fd, fpos(f, f->size)))
		fail(f, "--dump-model %s: %s", path, strerror(errno));
	if (close(fd))
		fail(f, "--dump-model %s: %s", path, strerror(errno));
}

static int fsx_run(struct fsx *f)
{
	unsigned long nops = f->o->nops, tenth = nops / 10;
	double t0 = now(), dt;
	struct op_rec *r;
	enum fsx_op op;

	for (f->opnr = 1; f->opnr <= nops; f->opnr++) {
		op = pick_op(f);
		r = &f->log[f->opnr % LOG_DEPTH];
		memset(r, 0, sizeof(*r));
		r->nr = f->opnr;
		r->op = op;
		r->size_before = f->size;
		f->cur = r;
		do_op(f, op);
		r->size_after = f->size;
		f->count[op]++;
		check_size(f, op_desc[op].name);
		if (f->o->check_every && f->opnr % f->o->check_every == 0)
			check_all(f, "periodic full check");
		if (f->corrupt_at && f->opnr >= f->corrupt_at && f->size)
			self_test_corrupt(f);
		if (f->o->verbose && tenth && f->opnr % tenth == 0)
			printf("%s: proc %u: %lu%% (%lu ops), size 0x%zx\n",
			       PROG, f->proc, f->opnr / tenth * 10, f->opnr,
			       f->size);
	}
	f->cur = NULL;
	if (f->corrupt_at)
		self_test_corrupt(f);
	check_all(f, "final check");
	/* Once more through a fresh descriptor. */
	op_reopen(f);
	check_all(f, "final check after reopen");
	if (f->o->dump_model)
		dump_model(f);
	dt = now() - t0;
	if (f->o->nprocs > 1)
		printf("%s: proc %u: ", PROG, f->proc);
	else
		printf("%s: ", PROG);
	printf("seed %llu: %lu ops in %.2f s (%.0f ops/s): read %lu "
	       "write %lu mapread %lu mapwrite %lu (%lu past EOF) "
	       "mapprivate %lu truncate %lu fsync %lu fdatasync %lu "
	       "reopen %lu sigbus %lu; all checks passed, ",
	       f->o->seed, nops, dt, dt > 0 ? (double)nops / dt : 0.0,
	       f->count[OP_READ], f->count[OP_WRITE], f->count[OP_MAPREAD],
	       f->count[OP_MAPWRITE], f->tail_stores,
	       f->count[OP_MAPPRIVATE], f->count[OP_TRUNCATE],
	       f->count[OP_FSYNC], f->count[OP_FDATASYNC],
	       f->count[OP_REOPEN], f->count[OP_SIGBUS]);
	if (f->owns_eof)
		printf("final size 0x%llx\n", (long long)fpos(f, f->size));
	else
		printf("region 0x%llx..0x%llx\n", (long long)f->base,
		       (long long)fpos(f, f->size));
	if (f->map)
		munmap(f->map, f->map_len);
	close(f->fd);
	free(f->good);
	free(f->buf);
	free(f->snap);
	return 0;
}

/* ---- set-up ---- */

static int create_file(const struct fsx_opts *o, const char *path)
{
	off_t floor = (off_t)(o->nprocs - 1) * (off_t)o->maxlen;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: create %s: %s\n", PROG, path,
			strerror(errno));
		return -1;
	}
	/* Every region but the last lies inside the file from the start. */
	if (floor && ftruncate(fd, floor)) {
		fprintf(stderr, "%s: ftruncate %s: %s\n", PROG, path,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (o->dump_model && o->nprocs > 1) {
		fd = open(o->dump_model, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			fprintf(stderr, "%s: --dump-model %s: %s\n", PROG,
				o->dump_model, strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int run_procs(const struct fsx_opts *o, const char *path)
{
	pid_t pids[MAX_PROCS];
	unsigned int i, j, left;
	int rc = 0, status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < o->nprocs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "%s: fork: %s\n", PROG,
				strerror(errno));
			for (j = 0; j < i; j++)
				kill(pids[j], SIGTERM);
			rc = 1;
			left = i;
			goto reap;
		}
		if (pids[i] == 0) {
			struct fsx f;

			fsx_init(&f, o, path, i);
			exit(fsx_run(&f));
		}
	}
	left = o->nprocs;
reap:
	while (left) {
		pid = wait(&status);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		left--;
		for (i = 0; i < o->nprocs; i++)
			if (pids[i] == pid)
				pids[i] = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		if (!rc) {
			if (WIFSIGNALED(status))
				fprintf(stderr, "%s: a process died of signal "
					"%d\n", PROG, WTERMSIG(status));
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			/* One failure is the report; stop the others. */
			for (i = 0; i < o->nprocs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
		}
	}
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
"usage: " PROG " [options] DIR\n"
"Randomized file exerciser (fsx) with mmap: checks read, write, MAP_SHARED\n"
"and MAP_PRIVATE loads and stores, truncate, fsync and msync of one file\n"
"in DIR against an in-memory model.  Exit status 0: no difference found;\n"
"1: a difference (seed, operation log and bytes on stderr); 2: usage.\n"
"\n"
"  --seed N           random seed (default: from the clock; always printed)\n"
"  --ops N            operations per process (default 10000)\n"
"  --maxlen BYTES     file (region) size limit, k/m suffix (default 256k)\n"
"  --maxoplen BYTES   longest read/write/store (default min(maxlen, 64k))\n"
"  --check-every N    compare the whole file every N ops (default 100,\n"
"                     0 = only at the end)\n"
"  --procs N          N processes, each on its own region [k*maxlen,\n"
"                     (k+1)*maxlen) of one shared file, all mapping it\n"
"  --no-mmap          only read/write/truncate/sync/reopen\n"
"  --file NAME        the file in DIR (default fsx.<pid>); it is created\n"
"                     afresh and left in place at the end\n"
"  --dump-model PATH  at the end write the model (what the file must hold)\n"
"  --self-test-corrupt  half way, change one byte through a second\n"
"                     descriptor behind the model's back: the run must\n"
"                     then fail (exit 1); exit 3 if it did not notice\n"
"  --no-eof-stores    diagnostic only: no MAP_SHARED stores past EOF, to\n"
"                     look past a known C2 failure (the tests never use it)\n"
"  --sync-before-growth  msync(MS_SYNC) the page holding an unaligned EOF\n"
"                     before each write(2) that grows the file: avoids a\n"
"                     FUSE kernel bug that loses such writes when another\n"
"                     process writes that page back at the same moment\n"
"                     (docs/semantics.md); used with --procs\n"
"  --verbose          progress every 10%%\n"
"  --help\n");
}

static int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || v > SIZE_MAX / 2)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int parse_ulong(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		return -EINVAL;
	return 0;
}

enum {
	OPT_SEED = 256,
	OPT_OPS,
	OPT_MAXLEN,
	OPT_MAXOPLEN,
	OPT_CHECK_EVERY,
	OPT_PROCS,
	OPT_NO_MMAP,
	OPT_FILE,
	OPT_DUMP_MODEL,
	OPT_SELF_TEST,
	OPT_NO_EOF_STORES,
	OPT_SYNC_BEFORE_GROWTH,
	OPT_VERBOSE,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "seed",		required_argument, NULL, OPT_SEED },
	{ "ops",		required_argument, NULL, OPT_OPS },
	{ "maxlen",		required_argument, NULL, OPT_MAXLEN },
	{ "maxoplen",		required_argument, NULL, OPT_MAXOPLEN },
	{ "check-every",	required_argument, NULL, OPT_CHECK_EVERY },
	{ "procs",		required_argument, NULL, OPT_PROCS },
	{ "no-mmap",		no_argument,	   NULL, OPT_NO_MMAP },
	{ "file",		required_argument, NULL, OPT_FILE },
	{ "dump-model",	required_argument, NULL, OPT_DUMP_MODEL },
	{ "self-test-corrupt",	no_argument, NULL, OPT_SELF_TEST },
	{ "no-eof-stores",	no_argument, NULL, OPT_NO_EOF_STORES },
	{ "sync-before-growth",	no_argument, NULL, OPT_SYNC_BEFORE_GROWTH },
	{ "verbose",		no_argument,	   NULL, OPT_VERBOSE },
	{ "help",		no_argument,	   NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct fsx_opts *o)
{
	unsigned long long v;
	bool have_seed = false;
	int c, err = 0;

	*o = (struct fsx_opts) {
		.nops = 10000,
		.maxlen = 256 << 10,
		.nprocs = 1,
		.check_every = 100,
		.use_mmap = true,
	};
	while ((c = getopt_long(argc, argv, "v", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_SEED:
			err = parse_ulong(optarg, &o->seed);
			have_seed = true;
			break;
		case OPT_OPS:
			err = parse_ulong(optarg, &v);
			o->nops = (unsigned long)v;
			break;
		case OPT_MAXLEN:
			err = parse_size(optarg, &o->maxlen);
			break;
		case OPT_MAXOPLEN:
			err = parse_size(optarg, &o->maxoplen);
			break;
		case OPT_CHECK_EVERY:
			err = parse_ulong(optarg, &v);
			o->check_every = (unsigned long)v;
			break;
		case OPT_PROCS:
			err = parse_ulong(optarg, &v);
			if (!err && (v < 1 || v > MAX_PROCS))
				err = -EINVAL;
			o->nprocs = (unsigned int)v;
			break;
		case OPT_NO_MMAP:
			o->use_mmap = false;
			break;
		case OPT_FILE:
			o->file = optarg;
			break;
		case OPT_DUMP_MODEL:
			o->dump_model = optarg;
			break;
		case OPT_SELF_TEST:
			o->self_test_corrupt = true;
			break;
		case OPT_NO_EOF_STORES:
			o->no_eof_stores = true;
			break;
		case OPT_SYNC_BEFORE_GROWTH:
			o->sync_before_growth = true;
			break;
		case 'v':
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (err) {
			fprintf(stderr, "%s: bad value '%s' for --%s\n", PROG,
				optarg, long_opts[c - OPT_SEED].name);
			return err;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->dir = argv[optind];
	if (!o->maxlen || !o->nops) {
		fprintf(stderr, "%s: --maxlen and --ops must be > 0\n", PROG);
		return -EINVAL;
	}
	if (!o->maxoplen)
		o->maxoplen = min_sz(o->maxlen, 64 << 10);
	o->maxoplen = min_sz(o->maxoplen, o->maxlen);
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o->seed = ((unsigned long long)ts.tv_sec * 1000003ULL ^
			   (unsigned long long)ts.tv_nsec ^
			   ((unsigned long long)getpid() << 32)) %
			  1000000000ULL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char defname[64], *path;
	struct fsx_opts o;
	struct fsx f;
	int ret;

	if (parse_args(argc, argv, &o))
		return 2;
	pgsz = (size_t)sysconf(_SC_PAGESIZE);
	zeros = calloc(1, pgsz);
	if (!zeros)
		return 2;
	if (!o.file) {
		snprintf(defname, sizeof(defname), "fsx.%ld", (long)getpid());
		o.file = defname;
	}
	if (asprintf(&path, "%s/%s", o.dir, o.file) < 0)
		return 2;
	ret = install_fault_handler();
	if (ret) {
		fprintf(stderr, "%s: sigaction: %s\n", PROG, strerror(-ret));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: seed %llu, %lu ops%s, maxlen %zu, maxoplen %zu, "
	       "check every %lu, mmap %s, file %s\n", PROG, o.seed, o.nops,
	       o.nprocs > 1 ? " per process" : "", o.maxlen, o.maxoplen,
	       o.check_every, o.use_mmap ? "on" : "off", path);
	if (o.nprocs > 1)
		printf("%s: %u processes, region k = "
		       "[k * %zu, (k + 1) * %zu)\n", PROG, o.nprocs,
		       o.maxlen, o.maxlen);
	if (create_file(&o, path))
		return 1;
	if (o.nprocs > 1) {
		ret = run_procs(&o, path);
		if (!ret)
			printf("%s: all %u processes passed\n", PROG,
			       o.nprocs);
	} else {
		fsx_init(&f, &o, path, 0);
		ret = fsx_run(&f);
	}
	free(path);
	free(zeros);
	return ret;
}
