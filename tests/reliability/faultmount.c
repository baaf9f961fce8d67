// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * faultmount - write-back faults injected into a mounted daemon
 * (tests/reliability/mmapfs-fi), checked through the mount.
 *
 * Usage: faultmount MNT BACKING DAEMON_PID DAEMON_LOG FAULT_FILE
 *
 * For each fault the program writes FAULT_FILE, sends SIGUSR1 to the
 * daemon and waits for the daemon to log that it applied it; then:
 *
 *  - EIO, ENOSPC, EDQUOT on every write-back write (until cleared): data
 *    written with write(2) and with stores + msync(MS_SYNC); fsync() and
 *    msync() fail with that errno, and fail again while the fault lasts
 *    (each retry is a new failure: never success for data not written);
 *    a second open file sees it once at its fsync(), and the later
 *    failures once more at its next one; a third open file at close();
 *    the backing file does not get the data; after the fault is cleared
 *    fsync() succeeds and every byte is in the backing file.
 *  - a failing fdatasync of the backing file (once): fsync() reports it,
 *    the next fsync() writes the data again and succeeds.
 *  - short writes, EINTR, EAGAIN and 20 ms late (so out of order)
 *    completions: retried without any error reaching anyone, every byte
 *    lands.
 *
 * Prints one line per case and a summary; exit 0 if all passed, 1 on the
 * first failure (with what differed), 2 on usage or set-up errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SIZE	(256 * 1024)	/* more than one write-back run */
#define PS	4096

static const char *mnt, *backing, *log_path, *fault_path;
static pid_t daemon_pid;
static unsigned int applied;	/* fault lines the daemon has logged */
static unsigned long cases, faults_injected, bytes_checked;

static void die(const char *what)
{
	fprintf(stderr, "faultmount: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned int count_applied(void)
{
	FILE *f = fopen(log_path, "r");
	char line[512];
	unsigned int n = 0;

	if (!f)
		die(log_path);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "fault injection: ") &&
		    !strstr(line, "bad line"))
			n++;
	fclose(f);
	return n;
}

/* Make the daemon apply @lines (one fault per line), and wait for it. */
static void inject(const char *lines)
{
	unsigned int want = applied;
	struct timespec pause = { 0, 10 * 1000000L };
	FILE *f = fopen(fault_path, "w");
	const char *p;

	if (!f)
		die(fault_path);
	fputs(lines, f);
	fclose(f);
	for (p = lines; *p; p++)
		want += *p == '\n';
	if (kill(daemon_pid, SIGUSR1))
		die("kill SIGUSR1");
	for (int i = 0; i < 500 && count_applied() < want; i++)
		nanosleep(&pause, NULL);
	if (count_applied() < want)
		fail("the daemon did not apply '%s' within 5 s", lines);
	applied = want;
	faults_injected++;
}

static void pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 12));
}

static void path_of(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

/* The backing file must (or must not) hold @want at offset 0. */
static void check_backing(const char *name, const unsigned char *want,
			  size_t len, bool must, const char *when)
{
	char path[4096];
	unsigned char *got = malloc(len);
	ssize_t n;
	int fd;

	path_of(path, sizeof(path), backing, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !got)
		die(path);
	n = pread(fd, got, len, 0);
	close(fd);
	if (must && (n != (ssize_t)len || memcmp(got, want, len)))
		fail("%s: the backing file does not hold the data %s", name,
		     when);
	if (!must && n == (ssize_t)len && !memcmp(got, want, len))
		fail("%s: the backing file holds the data %s, although "
		     "every write-back write failed", name, when);
	if (must)
		bytes_checked += len;
	free(got);
}

static int open_mnt(const char *name, int flags)
{
	char path[4096];
	int fd;

	path_of(path, sizeof(path), mnt, name);
	fd = open(path, flags, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

static void expect_err(int r, int err, const char *what)
{
	if (r == 0)
		fail("%s succeeded, expected %s", what, strerror(err));
	if (errno != err)
		fail("%s failed with %s, expected %s", what, strerror(errno),
		     strerror(err));
}

static void expect_ok(int r, const char *what)
{
	if (r)
		fail("%s failed: %s", what, strerror(errno));
}

/* A persistent write-back error @err, through write(2) and a mapping. */
static void case_persistent(const char *ename, int err)
{
	unsigned char *data = malloc(SIZE), *data2 = malloc(SIZE);
	char name[64], what[256], lines[64];
	int a, b, c;
	char *map;

	snprintf(name, sizeof(name), "persistent-%s", ename);
	pattern(data, SIZE, (unsigned int)err);
	pattern(data2, SIZE, (unsigned int)err + 1000);
	a = open_mnt(name, O_RDWR | O_CREAT | O_TRUNC);
	b = open_mnt(name, O_RDWR);
	c = open_mnt(name, O_RDWR);
	snprintf(lines, sizeof(lines), "write %s always\n", ename);
	inject(lines);
	if (pwrite(a, data, SIZE, 0) != SIZE)
		fail("%s: pwrite: %s (the data is only cached: it must "
		     "succeed)", name, strerror(errno));
	snprintf(what, sizeof(what), "%s: fsync of the writer", name);
	expect_err(fsync(a), err, what);
	snprintf(what, sizeof(what), "%s: a second fsync while the fault "
		 "lasts", name);
	expect_err(fsync(a), err, what);
	snprintf(what, sizeof(what), "%s: fsync of a second open file", name);
	expect_err(fsync(b), err, what);
	snprintf(what, sizeof(what), "%s: close of a third open file", name);
	expect_err(close(c), err, what);
	check_backing(name, data, SIZE, false, "while the fault lasts");

	/* the same through a mapping: msync(MS_SYNC) reports it */
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	if (map == MAP_FAILED)
		die("mmap");
	memcpy(map, data2, SIZE);
	snprintf(what, sizeof(what), "%s: msync(MS_SYNC) of mapped stores",
		 name);
	expect_err(msync(map, SIZE, MS_SYNC), err, what);
	check_backing(name, data2, SIZE, false, "after the failed msync");

	inject("write none 0\n");
	snprintf(what, sizeof(what), "%s: msync after the fault cleared",
		 name);
	expect_ok(msync(map, SIZE, MS_SYNC), what);
	check_backing(name, data2, SIZE, true, "after the fault cleared");
	/* b saw the failures up to its fsync, not the msync's: that one
	 * once (errseq), then nothing */
	snprintf(what, sizeof(what), "%s: fsync of the second open file, "
		 "which has not seen the msync's failure", name);
	expect_err(fsync(b), err, what);
	snprintf(what, sizeof(what), "%s: fsync of the second open file "
		 "again, after the retry succeeded", name);
	expect_ok(fsync(b), what);
	munmap(map, SIZE);
	snprintf(what, sizeof(what), "%s: close after success", name);
	expect_ok(close(b), what);
	expect_ok(close(a), what);
	printf("case %s: fsync, msync and close report %s once per open "
	       "file and failure, the data stays cached, and lands after the "
	       "fault clears\n", name, ename);
	cases++;
	free(data);
	free(data2);
}

/* One failing fdatasync of the backing file. */
static void case_sync_error(void)
{
	unsigned char *data = malloc(SIZE);
	const char *name = "sync-error";
	int a;

	pattern(data, SIZE, 77);
	a = open_mnt(name, O_RDWR | O_CREAT | O_TRUNC);
	if (pwrite(a, data, SIZE, 0) != SIZE)
		die("pwrite");
	inject("sync EIO 1\n");
	expect_err(fsync(a), EIO, "sync-error: fsync when fdatasync fails");
	inject("sync none 0\n");
	expect_ok(fsync(a), "sync-error: fsync after the fault cleared");
	check_backing(name, data, SIZE, true, "after the retry");
	expect_ok(close(a), "sync-error: close");
	printf("case %s: a failed fdatasync is reported, the pages are "
	       "written again and the next fsync succeeds\n", name);
	cases++;
	free(data);
}

/* Faults that must be retried without anyone seeing an error. */
static void case_transient(const char *lines, const char *label)
{
	unsigned char *data = malloc(SIZE);
	char name[64], what[256];
	int a, b;

	snprintf(name, sizeof(name), "transient-%s", label);
	pattern(data, SIZE, 99);
	a = open_mnt(name, O_RDWR | O_CREAT | O_TRUNC);
	b = open_mnt(name, O_RDWR);
	inject(lines);
	/* every other page first, then the rest: many separate runs */
	for (size_t off = 0; off < SIZE; off += 2 * PS)
		if (pwrite(a, data + off, PS, (off_t)off) != PS)
			die("pwrite");
	snprintf(what, sizeof(what), "%s: fsync", name);
	expect_ok(fsync(a), what);
	for (size_t off = PS; off < SIZE; off += 2 * PS)
		if (pwrite(a, data + off, PS, (off_t)off) != PS)
			die("pwrite");
	expect_ok(fsync(a), what);
	check_backing(name, data, SIZE, true, "after transient faults");
	snprintf(what, sizeof(what), "%s: fsync of a second open file", name);
	expect_ok(fsync(b), what);
	snprintf(what, sizeof(what), "%s: close", name);
	expect_ok(close(b), what);
	expect_ok(close(a), what);
	inject("write none 0\nsync none 0\n");
	printf("case %s: retried, no error reached any open file, every "
	       "byte landed\n", name);
	cases++;
	free(data);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: faultmount MNT BACKING DAEMON_PID "
			"DAEMON_LOG FAULT_FILE\n");
		return 2;
	}
	mnt = argv[1];
	backing = argv[2];
	daemon_pid = (pid_t)atol(argv[3]);
	log_path = argv[4];
	fault_path = argv[5];
	applied = count_applied();

	case_persistent("EIO", EIO);
	case_persistent("ENOSPC", ENOSPC);
	case_persistent("EDQUOT", EDQUOT);
	case_sync_error();
	case_transient("write short 40\n", "short");
	case_transient("write EINTR 40\n", "EINTR");
	case_transient("write EAGAIN 40\n", "EAGAIN");
	case_transient("write delay 40\n", "delay");
	case_transient("sync EINTR 3\n", "sync-EINTR");
	printf("faultmount: %lu cases passed, %lu fault settings injected, "
	       "%lu bytes checked in the backing files\n", cases,
	       faults_injected, bytes_checked);
	return 0;
}
