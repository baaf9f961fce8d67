// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t.c - helpers for the mount tests (see t.h).
 *
 * Plain libc and POSIX only: the tests run against any directory, and must
 * build and pass on a local filesystem without FUSE.
 */
#include "config.h"

#include "tests/lib/t.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mnt_dir;
static const char *backing_dir;

/* ---- Set-up ---- */

void t_init(int argc, char **argv)
{
	mnt_dir = argc > 1 ? argv[1] : getenv("MNT");
	backing_dir = argc > 2 ? argv[2] : getenv("BACKING");
	if (!mnt_dir || !*mnt_dir)
		t_skip("no directory: run as %s MNT [BACKING] or set MNT",
		       argc > 0 ? argv[0] : "test");
	if (!backing_dir || !*backing_dir)
		backing_dir = mnt_dir;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

const char *t_mnt(void)
{
	if (!mnt_dir)
		t_init(0, NULL);
	return mnt_dir;
}

const char *t_backing(void)
{
	if (!backing_dir)
		t_init(0, NULL);
	return backing_dir;
}

static char *join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *s = malloc(len);

	if (!s)
		t_fail("out of memory");
	snprintf(s, len, "%s/%s", dir, name);
	return s;
}

char *t_path(const char *name)
{
	return join(t_mnt(), name);
}

char *t_backing_path(const char *name)
{
	return join(t_backing(), name);
}

size_t t_page_size(void)
{
	static size_t page;

	if (!page) {
		long v = sysconf(_SC_PAGESIZE);

		if (v <= 0)
			t_fail("sysconf(_SC_PAGESIZE): %s", strerror(errno));
		page = (size_t)v;
	}
	return page;
}

/* ---- Failing and reporting ---- */

static void vreport(const char *file, int line, const char *tag,
		    const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fflush(stdout);
	fprintf(stderr, "%s:%d: [pid %d] %s%s\n", file, line, (int)getpid(),
		tag, msg);
}

noreturn void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(file, line, "FAIL: ", fmt, ap);
	va_end(ap);
	exit(1);
}

noreturn void t_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("SKIP: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(77);
}

void t_log_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(file, line, "", fmt, ap);
	va_end(ap);
}

noreturn void t_check_failed(const char *file, int line, const char *cond,
			     const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t_fail_at(file, line, "%s (check: %s)", msg, cond);
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0:
		return "0";
	case EINVAL:
		return "EINVAL";
	case EACCES:
		return "EACCES";
	case ENOMEM:
		return "ENOMEM";
	case ENOSPC:
		return "ENOSPC";
	case EIO:
		return "EIO";
	case EBADF:
		return "EBADF";
	case ENODEV:
		return "ENODEV";
	case EPERM:
		return "EPERM";
	case EFBIG:
		return "EFBIG";
	case EOVERFLOW:
		return "EOVERFLOW";
	case EDQUOT:
		return "EDQUOT";
	default:
		return strerror(e);
	}
}

void t_check_errno_at(const char *file, int line, const char *what, long ret,
		      int got, int want)
{
	if (ret != -1)
		t_fail_at(file, line, "%s returned %ld, expected -1 with %s",
			  what, ret, errno_name(want));
	if (got != want)
		t_fail_at(file, line, "%s failed with %s (%s), expected %s",
			  what, errno_name(got), strerror(got),
			  errno_name(want));
}

/* ---- Files ---- */

int t_open_at(const char *file, int line, const char *path, int flags,
	      mode_t mode)
{
	int fd;

	do
		fd = open(path, flags, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		t_fail_at(file, line, "open(%s, 0%o): %s", path, flags,
			  strerror(errno));
	return fd;
}

void t_close_at(const char *file, int line, int fd)
{
	if (close(fd))
		t_fail_at(file, line, "close(%d): %s", fd, strerror(errno));
}

void t_pwrite_at(const char *file, int line, int fd, const void *buf,
		 size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			t_fail_at(file, line,
				  "pwrite(fd %d, %zu bytes at %lld): %s", fd,
				  len, (long long)off, strerror(errno));
		if (n == 0)
			t_fail_at(file, line, "pwrite(fd %d) wrote nothing",
				  fd);
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

size_t t_pread_at(const char *file, int line, int fd, void *buf, size_t len,
		  off_t off)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			t_fail_at(file, line,
				  "pread(fd %d, %zu bytes at %lld): %s", fd,
				  len - done, (long long)(off + (off_t)done),
				  strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return done;
}

void t_ftruncate_at(const char *file, int line, int fd, off_t len)
{
	if (ftruncate(fd, len))
		t_fail_at(file, line, "ftruncate(fd %d, %lld): %s", fd,
			  (long long)len, strerror(errno));
}

void t_fsync_at(const char *file, int line, int fd)
{
	if (fsync(fd))
		t_fail_at(file, line, "fsync(fd %d): %s", fd, strerror(errno));
}

off_t t_fsize_at(const char *file, int line, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		t_fail_at(file, line, "fstat(fd %d): %s", fd, strerror(errno));
	return st.st_size;
}

off_t t_size_at(const char *file, int line, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		t_fail_at(file, line, "stat(%s): %s", path, strerror(errno));
	return st.st_size;
}

int t_create_at(const char *file, int line, const char *path, size_t len,
		unsigned int seed)
{
	int fd = t_open_at(file, line, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf;

	if (!len)
		return fd;
	buf = malloc(len);
	if (!buf)
		t_fail_at(file, line, "out of memory");
	t_fill(buf, len, seed, 0);
	t_pwrite_at(file, line, fd, buf, len, 0);
	free(buf);
	/* The starting content is set-up, not under test: make it durable so
	 * that checks of the backing file never race with write-back. */
	if (fsync(fd))
		t_fail_at(file, line, "fsync(%s): %s", path, strerror(errno));
	return fd;
}

size_t t_read_file_at(const char *file, int line, const char *path, void *buf,
		      size_t len, off_t off)
{
	int fd = t_open_at(file, line, path, O_RDONLY, 0);
	size_t n = t_pread_at(file, line, fd, buf, len, off);

	t_close_at(file, line, fd);
	return n;
}

/* ---- Memory mappings ---- */

void *t_mmap_at(const char *file, int line, size_t len, int prot, int flags,
		int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		t_fail_at(file, line,
			  "mmap(%zu bytes, prot %#x, flags %#x, fd %d, off "
			  "%lld): %s",
			  len, prot, flags, fd, (long long)off,
			  strerror(errno));
	return p;
}

void t_munmap_at(const char *file, int line, void *addr, size_t len)
{
	if (munmap(addr, len))
		t_fail_at(file, line, "munmap(%p, %zu): %s", addr, len,
			  strerror(errno));
}

void t_msync_at(const char *file, int line, void *addr, size_t len, int flags)
{
	if (msync(addr, len, flags))
		t_fail_at(file, line, "msync(%p, %zu, %#x): %s", addr, len,
			  flags, strerror(errno));
}

/* ---- Data patterns ---- */

/* One 64-bit word of pattern per 8 file bytes (splitmix64 of seed and word). */
static uint64_t pattern_word(unsigned int seed, uint64_t word)
{
	uint64_t x = word * 0x9e3779b97f4a7c15ULL ^
		     ((uint64_t)seed + 1) * 0xd1b54a32d192ed03ULL;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

unsigned char t_pattern_byte(unsigned int seed, off_t off)
{
	uint64_t w = pattern_word(seed, (uint64_t)off / 8);
	unsigned char c = (unsigned char)(w >> (8 * ((uint64_t)off % 8)));

	return c ? c : 0x5a;
}

void t_fill(void *buf, size_t len, unsigned int seed, off_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = t_pattern_byte(seed, off + (off_t)i);
}

void t_store(volatile void *addr, size_t len, unsigned int seed, off_t off)
{
	volatile unsigned char *p = addr;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = t_pattern_byte(seed, off + (off_t)i);
}

long t_pattern_mismatch(const volatile void *buf, size_t len, unsigned int seed,
			off_t off)
{
	const volatile unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != t_pattern_byte(seed, off + (off_t)i))
			return (long)i;
	return -1;
}

/*
 * Fail, describing a mismatch: its file offset, the bytes found and expected
 * there, and how many of the bytes from there on differ (a few means a torn
 * store, all of them a lost or stale range).
 */
static void report_mismatch(const char *file, int line,
			    const volatile unsigned char *p, size_t len,
			    long at, const char *want_desc, int zero,
			    unsigned int seed, off_t off, const char *what)
{
	char found[64] = "", want[64] = "";
	size_t i, n = len - (size_t)at < 8 ? len - (size_t)at : 8;
	size_t bad = 0;

	for (i = 0; i < n; i++) {
		unsigned char w =
			zero ? 0 : t_pattern_byte(seed, off + at + (off_t)i);

		snprintf(found + 3 * i, 4, "%02x ", p[at + (long)i]);
		snprintf(want + 3 * i, 4, "%02x ", w);
	}
	for (i = (size_t)at; i < len; i++)
		if (zero ? p[i] != 0
			 : p[i] != t_pattern_byte(seed, off + (off_t)i))
			bad++;
	t_fail_at(file, line,
		  "%s: byte at file offset %lld differs from %s (%zu of %zu "
		  "bytes from there differ): found %sexpected %s",
		  what, (long long)(off + at), want_desc, bad, len - (size_t)at,
		  found, want);
}

void t_check_pattern_at(const char *file, int line, const volatile void *buf,
			size_t len, unsigned int seed, off_t off,
			const char *what)
{
	long at = t_pattern_mismatch(buf, len, seed, off);
	char desc[32];

	if (at < 0)
		return;
	snprintf(desc, sizeof(desc), "pattern %u", seed);
	report_mismatch(file, line, buf, len, at, desc, 0, seed, off, what);
}

void t_check_zero_at(const char *file, int line, const volatile void *buf,
		     size_t len, off_t off, const char *what)
{
	const volatile unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			report_mismatch(file, line, p, len, (long)i, "zero", 1,
					0, off, what);
}

void t_check_file_at(const char *file, int line, const char *path, size_t len,
		     unsigned int seed, off_t off, const char *what)
{
	char *buf = malloc(len ? len : 1);
	size_t n;

	if (!buf)
		t_fail_at(file, line, "out of memory");
	n = t_read_file_at(file, line, path, buf, len, off);
	if (n != len)
		t_fail_at(file, line,
			  "%s: %s holds %zu bytes at offset %lld, expected %zu",
			  what, path, n, (long long)off, len);
	t_check_pattern_at(file, line, buf, len, seed, off, what);
	free(buf);
}

/* ---- Signals ---- */

static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probe_armed;

static void probe_handler(int sig)
{
	if (probe_armed) {
		probe_armed = 0;
		siglongjmp(probe_env, sig);
	}
	/*
	 * Not inside a probe: a real crash.  Restore the default action and
	 * return; the faulting access repeats and the signal kills us.
	 */
	signal(sig, SIG_DFL);
}

static void probe_install(void)
{
	static int installed;
	struct sigaction sa;

	if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		t_fail("sigaction: %s", strerror(errno));
}

int t_probe_read_val(const volatile char *p, char *val)
{
	volatile char c = 0;
	int sig;

	probe_install();
	sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_armed = 1;
	c = *p;
	probe_armed = 0;
	if (val)
		*val = c;
	return 0;
}

int t_probe_read(const volatile char *p)
{
	return t_probe_read_val(p, NULL);
}

int t_probe_write(volatile char *p, char v)
{
	int sig;

	probe_install();
	sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_armed = 1;
	*p = v;
	probe_armed = 0;
	return 0;
}

const char *t_sig_name(int sig)
{
	static __thread char buf[32];

	switch (sig) {
	case 0:
		return "no signal";
	case SIGBUS:
		return "SIGBUS";
	case SIGSEGV:
		return "SIGSEGV";
	default:
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
}

/* ---- Processes ---- */

pid_t t_fork_at(const char *file, int line, int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		t_fail_at(file, line, "fork: %s", strerror(errno));
	if (pid == 0) {
		int ret = fn(arg);

		fflush(NULL);
		_exit(ret);
	}
	return pid;
}

int t_wait_at(const char *file, int line, pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			t_fail_at(file, line, "waitpid(%d): %s", (int)pid,
				  strerror(errno));
	return status;
}

void t_wait_ok_at(const char *file, int line, pid_t pid)
{
	int status = t_wait_at(file, line, pid);

	if (WIFSIGNALED(status))
		t_fail_at(file, line, "child %d was killed by %s", (int)pid,
			  t_sig_name(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_fail_at(file, line, "child %d exited with status %d",
			  (int)pid, WEXITSTATUS(status));
}

void t_barrier_init(struct t_barrier *b)
{
	if (pipe(b->to_child) || pipe(b->to_parent))
		t_fail("pipe: %s", strerror(errno));
	b->rfd = b->wfd = -1;
}

void t_barrier_parent(struct t_barrier *b)
{
	close(b->to_child[0]);
	close(b->to_parent[1]);
	b->rfd = b->to_parent[0];
	b->wfd = b->to_child[1];
}

void t_barrier_child(struct t_barrier *b)
{
	close(b->to_child[1]);
	close(b->to_parent[0]);
	b->rfd = b->to_child[0];
	b->wfd = b->to_parent[1];
}

void t_barrier_wait_at(const char *file, int line, struct t_barrier *b)
{
	char c = 'b';
	ssize_t n;

	if (b->rfd < 0)
		t_fail_at(file, line,
			  "barrier used before t_barrier_parent/child");
	do
		n = write(b->wfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		t_fail_at(file, line, "barrier: the other side is gone (%s)",
			  n < 0 ? strerror(errno) : "short write");
	do
		n = read(b->rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		t_fail_at(file, line, "barrier: the other side exited (%s)",
			  n < 0 ? strerror(errno) : "end of file");
}

void t_gate_init(struct t_gate *g)
{
	if (pipe(g->fd))
		t_fail("pipe: %s", strerror(errno));
}

void t_gate_wait(struct t_gate *g)
{
	char c;
	ssize_t n;

	close(g->fd[1]);
	do
		n = read(g->fd[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(g->fd[0]);
}

void t_gate_open(struct t_gate *g)
{
	close(g->fd[0]);
	close(g->fd[1]);
}

void *t_shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap(anonymous, %zu): %s", len, strerror(errno));
	return p;
}

/* ---- Time ---- */

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double t_now(void)
{
	return (double)t_now_ns() / 1e9;
}

void t_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static const char *alarm_msg;

static void alarm_handler(int sig)
{
	static const char pre[] = "FAIL: timed out: ";
	const char *m = alarm_msg ? alarm_msg : "";

	(void)sig;
	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, m, strlen(m)) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

void t_alarm(unsigned int seconds, const char *msg)
{
	struct sigaction sa;

	alarm_msg = msg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}
