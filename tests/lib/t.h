/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * t.h - helpers for the mount tests in tests/mount/.
 *
 * Every mount test is a small program that checks one rule of SEMANTICS.md
 * with real processes.  tests/lib/run-test.sh mounts a fresh backing
 * directory and runs the program as
 *
 *	prog MNT BACKING
 *
 * (also exported as the environment variables MNT and BACKING).  The program
 * works on files under MNT and, where the rule is about what reaches the
 * backing file, reads the same names raw under BACKING.  When MNT and BACKING
 * are one plain directory (ext4, tmpfs) every test must pass: that is how a
 * test proves it asks exactly what the kernel gives on a local filesystem.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (automake's convention).
 *
 * FAILING
 *
 *   Nothing here returns an error to the caller: every helper that can fail
 *   prints file:line, what it was doing and strerror(errno), and exits 1.
 *   A test therefore reads as the sequence of things it expects.  Helpers
 *   whose *result* is what the test checks (t_probe_read(), t_try_mmap())
 *   return it instead.
 *
 *   The file:line printed is the caller's: the helpers are macros around
 *   t_*_at() functions that take __FILE__ and __LINE__.
 *
 * PROCESSES
 *
 *   t_fork() runs a function in a child which exits with its return value
 *   (or 1 if it calls t_fail()); t_wait_ok() fails the test unless the child
 *   exited 0.  Standard streams are flushed before fork() so that nothing is
 *   printed twice.  A struct t_barrier is a pair of pipes between a parent
 *   and one child: both sides meet at every t_barrier_wait(), as often as
 *   they like; if the other side has died the survivor fails instead of
 *   hanging.  A struct t_gate releases any number of children at once (the
 *   parent closes a pipe they all wait on).
 *
 * SIGNALS
 *
 *   t_probe_read()/t_probe_write() touch one byte with SIGBUS and SIGSEGV
 *   caught (sigsetjmp/siglongjmp) and say which signal, if any, the access
 *   raised.  Outside a probe the two signals keep their default action, so a
 *   stray SIGBUS still kills the test (and the test fails).
 */
#ifndef MMAPFS_TESTS_T_H
#define MMAPFS_TESTS_T_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/* ---- Set-up ---- */

/*
 * t_init - remember the mount and backing directories.
 *
 * argv[1] (else $MNT) is the directory the test works in, argv[2] (else
 * $BACKING, else the same as MNT) the backing directory of that mount.  Skips
 * (exit 77) if neither is given.  Also makes stdout line-buffered so that
 * output of parents and children interleaves sensibly.
 */
void t_init(int argc, char **argv);

/* The directories from t_init(). */
const char *t_mnt(void);
const char *t_backing(void);

/*
 * t_path - NAME joined to the mount directory; t_backing_path - to the
 * backing directory.  The strings are allocated and never freed (tests are
 * short-lived).
 */
char *t_path(const char *name);
char *t_backing_path(const char *name);

/* sysconf(_SC_PAGESIZE), cached. */
size_t t_page_size(void);

/* ---- Failing and reporting ---- */

/* Print "file:line: FAIL: message" and exit 1. */
noreturn void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define t_fail(...) t_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Print "SKIP: message" and exit 77. */
noreturn void t_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Print "file:line: message" to stderr and carry on. */
void t_log_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define t_log(...) t_log_at(__FILE__, __LINE__, __VA_ARGS__)

/* Fail with the condition's text and a message unless COND holds. */
#define T_CHECK(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			t_check_failed(__FILE__, __LINE__, #cond,              \
				       __VA_ARGS__);                           \
	} while (0)
noreturn void t_check_failed(const char *file, int line, const char *cond,
			     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * T_CHECK_ERRNO - fail unless the expression returned -1 with errno ERR.
 * For checking that a call is refused with exactly the right error.
 */
#define T_CHECK_ERRNO(expr, err)                                               \
	do {                                                                   \
		long t_ret_ = (long)(expr);                                    \
		t_check_errno_at(__FILE__, __LINE__, #expr, t_ret_, errno,     \
				 err);                                         \
	} while (0)
void t_check_errno_at(const char *file, int line, const char *what, long ret,
		      int got, int want);

/* ---- Files ---- */

/* open(2); fails the test on error. */
#define t_open(path, flags, mode)                                              \
	t_open_at(__FILE__, __LINE__, path, flags, mode)
int t_open_at(const char *file, int line, const char *path, int flags,
	      mode_t mode);

/* close(2); fails the test on error (close reports write-back errors). */
#define t_close(fd) t_close_at(__FILE__, __LINE__, fd)
void t_close_at(const char *file, int line, int fd);

/* pwrite(2) of all LEN bytes (loops over short writes). */
#define t_pwrite(fd, buf, len, off)                                            \
	t_pwrite_at(__FILE__, __LINE__, fd, buf, len, off)
void t_pwrite_at(const char *file, int line, int fd, const void *buf,
		 size_t len, off_t off);

/*
 * pread(2) until LEN bytes or end of file; returns the number of bytes read
 * (less than LEN only at end of file).
 */
#define t_pread(fd, buf, len, off)                                             \
	t_pread_at(__FILE__, __LINE__, fd, buf, len, off)
size_t t_pread_at(const char *file, int line, int fd, void *buf, size_t len,
		  off_t off);

#define t_ftruncate(fd, len) t_ftruncate_at(__FILE__, __LINE__, fd, len)
void t_ftruncate_at(const char *file, int line, int fd, off_t len);

#define t_fsync(fd) t_fsync_at(__FILE__, __LINE__, fd)
void t_fsync_at(const char *file, int line, int fd);

/* st_size of an open file / of a path. */
#define t_fsize(fd) t_fsize_at(__FILE__, __LINE__, fd)
off_t t_fsize_at(const char *file, int line, int fd);
#define t_size(path) t_size_at(__FILE__, __LINE__, path)
off_t t_size_at(const char *file, int line, const char *path);

/*
 * t_create - create (or truncate) PATH read-write, write LEN bytes of the
 * pattern SEED at offset 0, fsync it (set-up is durable, so a test never
 * races with write-back when it reads the backing file), and return the
 * descriptor.
 */
#define t_create(path, len, seed)                                              \
	t_create_at(__FILE__, __LINE__, path, len, seed)
int t_create_at(const char *file, int line, const char *path, size_t len,
		unsigned int seed);

/*
 * t_read_file - read up to LEN bytes at OFF from PATH through a descriptor of
 * its own (opened and closed here).  Returns the number of bytes read.
 * Used to look at the backing file "raw", without the test's descriptors.
 */
#define t_read_file(path, buf, len, off)                                       \
	t_read_file_at(__FILE__, __LINE__, path, buf, len, off)
size_t t_read_file_at(const char *file, int line, const char *path, void *buf,
		      size_t len, off_t off);

/* ---- Memory mappings ---- */

/* mmap(2); fails the test on MAP_FAILED. */
#define t_mmap(len, prot, flags, fd, off)                                      \
	t_mmap_at(__FILE__, __LINE__, len, prot, flags, fd, off)
void *t_mmap_at(const char *file, int line, size_t len, int prot, int flags,
		int fd, off_t off);

#define t_munmap(addr, len) t_munmap_at(__FILE__, __LINE__, addr, len)
void t_munmap_at(const char *file, int line, void *addr, size_t len);

#define t_msync(addr, len, flags)                                              \
	t_msync_at(__FILE__, __LINE__, addr, len, flags)
void t_msync_at(const char *file, int line, void *addr, size_t len, int flags);

/* ---- Data patterns ---- */

/*
 * A pattern is a byte sequence determined by (seed, file offset), so that
 * any range of a file can be checked on its own and a byte that landed at
 * the wrong offset, or came from another seed, is caught.  Seed 0 is not
 * special: use t_check_zero() for zeros.  No byte of a pattern is zero, so a
 * page of zeros never passes for data.
 */
unsigned char t_pattern_byte(unsigned int seed, off_t off);
void t_fill(void *buf, size_t len, unsigned int seed, off_t off);

/*
 * t_check_pattern - fail (naming WHAT, the first differing offset and the
 * bytes found) unless BUF holds LEN bytes of pattern SEED starting at file
 * offset OFF.  t_check_zero - the same for zeros.
 */
#define t_check_pattern(buf, len, seed, off, what)                             \
	t_check_pattern_at(__FILE__, __LINE__, buf, len, seed, off, what)
void t_check_pattern_at(const char *file, int line, const volatile void *buf,
			size_t len, unsigned int seed, off_t off,
			const char *what);
#define t_check_zero(buf, len, off, what)                                      \
	t_check_zero_at(__FILE__, __LINE__, buf, len, off, what)
void t_check_zero_at(const char *file, int line, const volatile void *buf,
		     size_t len, off_t off, const char *what);

/* Returns the index of the first byte that differs from the pattern, or -1. */
long t_pattern_mismatch(const volatile void *buf, size_t len, unsigned int seed,
			off_t off);

/*
 * t_check_file - read LEN bytes at OFF of PATH (own descriptor) and check
 * them against pattern SEED; fails if the file is shorter.
 */
#define t_check_file(path, len, seed, off, what)                               \
	t_check_file_at(__FILE__, __LINE__, path, len, seed, off, what)
void t_check_file_at(const char *file, int line, const char *path, size_t len,
		     unsigned int seed, off_t off, const char *what);

/* Store LEN bytes of pattern SEED for file offset OFF at ADDR (a mapping). */
void t_store(volatile void *addr, size_t len, unsigned int seed, off_t off);

/* ---- Signals ---- */

/*
 * t_probe_read - read the byte at P; returns 0, SIGBUS or SIGSEGV.
 * If VAL is not NULL and the read succeeded, the byte is stored there.
 * t_probe_write - store V at P; returns 0, SIGBUS or SIGSEGV.
 * Safe to use in several threads at once (the jump buffer is per thread).
 */
int t_probe_read(const volatile char *p);
int t_probe_read_val(const volatile char *p, char *val);
int t_probe_write(volatile char *p, char v);

/* "none", "SIGBUS", "SIGSEGV" or "signal N" for a probe result. */
const char *t_sig_name(int sig);

/* ---- Processes ---- */

/*
 * t_fork - run FN(ARG) in a child; the child exits with FN's return value.
 * Returns the child's pid in the parent.
 */
#define t_fork(fn, arg) t_fork_at(__FILE__, __LINE__, fn, arg)
pid_t t_fork_at(const char *file, int line, int (*fn)(void *), void *arg);

/* Wait for PID and fail unless it exited 0 (a signal death fails too). */
#define t_wait_ok(pid) t_wait_ok_at(__FILE__, __LINE__, pid)
void t_wait_ok_at(const char *file, int line, pid_t pid);

/* Wait for PID and return its raw wait status. */
#define t_wait(pid) t_wait_at(__FILE__, __LINE__, pid)
int t_wait_at(const char *file, int line, pid_t pid);

/*
 * struct t_barrier - two processes (a parent and one child) meeting
 * repeatedly.  t_barrier_init() before fork(); after fork() the parent calls
 * t_barrier_parent() and the child t_barrier_child(), which close the ends
 * the side does not use.  t_barrier_wait() returns once the other side has
 * reached its matching t_barrier_wait(); it fails the test if the other side
 * exited first.
 */
struct t_barrier {
	int to_child[2];
	int to_parent[2];
	int rfd; /* this side reads the other's arrivals here */
	int wfd; /* and announces its own here */
};

void t_barrier_init(struct t_barrier *b);
void t_barrier_parent(struct t_barrier *b);
void t_barrier_child(struct t_barrier *b);
#define t_barrier_wait(b) t_barrier_wait_at(__FILE__, __LINE__, b)
void t_barrier_wait_at(const char *file, int line, struct t_barrier *b);

/*
 * struct t_gate - a one-shot start line for any number of children.
 * t_gate_init() before forking the children; each child calls
 * t_gate_wait(), which returns when the parent calls t_gate_open().
 */
struct t_gate {
	int fd[2];
};

void t_gate_init(struct t_gate *g);
void t_gate_wait(struct t_gate *g);
void t_gate_open(struct t_gate *g);

/*
 * t_shared_alloc - LEN bytes of zeroed anonymous MAP_SHARED memory, for
 * results a child hands back to its parent.
 */
void *t_shared_alloc(size_t len);

/* ---- Time ---- */

/* CLOCK_MONOTONIC in seconds / nanoseconds. */
double t_now(void);
uint64_t t_now_ns(void);

/* Sleep MS milliseconds (restarted after signals). */
void t_sleep_ms(unsigned int ms);

/*
 * t_alarm - kill the test (exit 1, with MSG) if it is still running after
 * SECONDS.  A test whose rule says "bounded time" uses it so that a hang is
 * a failure, not a stuck build.  0 cancels.
 */
void t_alarm(unsigned int seconds, const char *msg);

#endif /* MMAPFS_TESTS_T_H */
