// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lockt.c - run a sequence of lock and I/O steps given on the command line,
 * checking each result; the shell tests of tests/locks/ start several of
 * them (on two mounts and on the backing directory) and order them with
 * marker files.
 *
 *   lockt STEP...      exit 0 if every step gave what it expects, else 1
 *
 * Steps (fields separated by ':'):
 *   open:PATH:MODE         MODE rw, ro or wo; the current descriptor
 *   open2:PATH:MODE        a second descriptor of the same process
 *   close2                 close it (releases this process's POSIX locks)
 *   close                  close the current descriptor
 *   lk:CMD:TYPE:START:LEN:EXPECT
 *                          CMD setlk, setlkw, getlk or ofd (F_OFD_SETLK);
 *                          TYPE r, w or u;
 *                          EXPECT ok, EAGAIN, EINTR, EBADF; for getlk
 *                          none, r or w: the conflicting lock's type
 *   fl:OP:EXPECT           flock OP sh, ex, un, shnb, exnb
 *   pw:OFF:STR             pwrite STR at OFF
 *   pr:OFF:STR             pread strlen(STR) bytes at OFF, must equal STR
 *   mw:OFF:STR             store STR at OFF through a shared mapping of
 *                          the first 64 KiB (kept mapped, never msync()ed)
 *   mr:OFF:STR             the mapping must show STR at OFF
 *   alarm:MS               SIGALRM in MS ms (a handler, no SA_RESTART)
 *   t0                     start a stopwatch
 *   tmin:MS / tmax:MS      at least / at most MS ms since t0
 *   sleep:MS
 *   touch:PATH             create PATH (a marker for the other processes)
 *   wait:PATH              wait up to 20 s for PATH to exist
 *   pid                    print the l_pid a getlk saw last
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAP_LEN (64 * 1024)

static int fd = -1, fd2 = -1;
static char *map;
static struct timespec t0;
static pid_t last_pid;

static void on_alarm(int sig)
{
	(void)sig;
}

static long ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int open_mode(const char *m)
{
	if (!strcmp(m, "ro"))
		return O_RDONLY;
	if (!strcmp(m, "wo"))
		return O_WRONLY;
	return O_RDWR;
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "ok";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EDEADLK: return "EDEADLK";
	case ENOLCK: return "ENOLCK";
	default: return strerror(e);
	}
}

static int fail(const char *step, const char *fmt, const char *a,
		const char *b)
{
	fprintf(stderr, "lockt[%d]: %s: ", (int)getpid(), step);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static int step(char *s)
{
	char copy[512], *f[8] = { 0 }, *save = NULL;
	int n = 0, r, e;

	snprintf(copy, sizeof(copy), "%s", s);
	for (char *p = strtok_r(copy, ":", &save); p && n < 8;
	     p = strtok_r(NULL, ":", &save))
		f[n++] = p;
	if (!n)
		return 0;
	if (!strcmp(f[0], "open") || !strcmp(f[0], "open2")) {
		int *slot = f[0][4] ? &fd2 : &fd;

		*slot = open(f[1], open_mode(f[2] ? f[2] : "rw") | O_CREAT,
			     0644);
		if (*slot < 0)
			return fail(s, "%s%s", strerror(errno), "");
		return 0;
	}
	if (!strcmp(f[0], "close2")) {
		close(fd2);
		fd2 = -1;
		return 0;
	}
	if (!strcmp(f[0], "close")) {
		if (map)
			munmap(map, MAP_LEN);
		map = NULL;
		close(fd);
		fd = -1;
		return 0;
	}
	if (!strcmp(f[0], "lk") && n == 6) {
		struct flock fl = { .l_whence = SEEK_SET };
		int cmd = !strcmp(f[1], "setlkw") ? F_SETLKW :
			  !strcmp(f[1], "getlk") ? F_GETLK :
			  !strcmp(f[1], "ofd") ? F_OFD_SETLK : F_SETLK;
		char got[16];

		fl.l_type = f[2][0] == 'r' ? F_RDLCK :
			    f[2][0] == 'w' ? F_WRLCK : F_UNLCK;
		fl.l_start = atoll(f[3]);
		fl.l_len = atoll(f[4]);
		r = fcntl(fd, cmd, &fl);
		e = r ? errno : 0;
		if (e == EACCES)
			e = EAGAIN;
		if (cmd == F_GETLK && !e) {
			last_pid = fl.l_pid;
			snprintf(got, sizeof(got), "%s",
				 fl.l_type == F_UNLCK ? "none" :
				 fl.l_type == F_RDLCK ? "r" : "w");
		} else {
			snprintf(got, sizeof(got), "%s", err_name(e));
		}
		if (strcmp(got, f[5]))
			return fail(s, "got %s%s", got, "");
		return 0;
	}
	if (!strcmp(f[0], "fl") && n == 3) {
		int op = !strncmp(f[1], "sh", 2) ? LOCK_SH :
			 !strncmp(f[1], "ex", 2) ? LOCK_EX : LOCK_UN;

		if (strstr(f[1], "nb"))
			op |= LOCK_NB;
		r = flock(fd, op);
		e = r ? errno : 0;
		if (strcmp(err_name(e), f[2]))
			return fail(s, "got %s%s", err_name(e), "");
		return 0;
	}
	if ((!strcmp(f[0], "pw") || !strcmp(f[0], "pr")) && n == 3) {
		size_t len = strlen(f[2]);
		char buf[256] = { 0 };
		ssize_t k;

		if (f[0][1] == 'w') {
			k = pwrite(fd, f[2], len, atoll(f[1]));
			if (k != (ssize_t)len)
				return fail(s, "pwrite: %s%s", strerror(errno),
					    "");
			return 0;
		}
		k = pread(fd, buf, len < sizeof(buf) ? len : sizeof(buf) - 1,
			  atoll(f[1]));
		if (k < 0)
			return fail(s, "pread: %s%s", strerror(errno), "");
		buf[k] = 0;
		if (strcmp(buf, f[2]))
			return fail(s, "read '%s'%s", buf, "");
		return 0;
	}
	if ((!strcmp(f[0], "mw") || !strcmp(f[0], "mr")) && n == 3) {
		size_t len = strlen(f[2]);
		long off = atol(f[1]);

		if (!map) {
			struct stat st;

			if (fstat(fd, &st))
				return fail(s, "fstat%s%s", "", "");
			if (st.st_size < MAP_LEN && f[0][1] == 'w' &&
			    ftruncate(fd, MAP_LEN))
				return fail(s, "ftruncate: %s%s",
					    strerror(errno), "");
			int prot = PROT_READ;

			if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR)
				prot |= PROT_WRITE;
			map = mmap(NULL, MAP_LEN, prot, MAP_SHARED, fd, 0);
			if (map == MAP_FAILED) {
				map = NULL;
				return fail(s, "mmap: %s%s", strerror(errno),
					    "");
			}
		}
		if (f[0][1] == 'w') {
			memcpy(map + off, f[2], len);
			return 0;
		}
		if (memcmp(map + off, f[2], len)) {
			char buf[256];

			snprintf(buf, sizeof(buf), "%.*s", (int)len, map + off);
			return fail(s, "mapping shows '%s'%s", buf, "");
		}
		return 0;
	}
	if (!strcmp(f[0], "alarm") && n == 2) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { 0 };
		long ms = atol(f[1]);

		sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
		it.it_value.tv_sec = ms / 1000;
		it.it_value.tv_usec = (ms % 1000) * 1000;
		setitimer(ITIMER_REAL, &it, NULL);
		return 0;
	}
	if (!strcmp(f[0], "t0")) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		return 0;
	}
	if ((!strcmp(f[0], "tmin") || !strcmp(f[0], "tmax")) && n == 2) {
		long el = ms_since(&t0), lim = atol(f[1]);
		char b[32];

		snprintf(b, sizeof(b), "%ld", el);
		if (f[0][1] == 'm' && f[0][2] == 'i' ? el < lim : el > lim)
			return fail(s, "took %s ms%s", b, "");
		return 0;
	}
	if (!strcmp(f[0], "sleep") && n == 2) {
		usleep((useconds_t)atol(f[1]) * 1000);
		return 0;
	}
	if (!strcmp(f[0], "touch") && n == 2) {
		int t = open(f[1], O_WRONLY | O_CREAT, 0644);

		if (t < 0)
			return fail(s, "%s%s", strerror(errno), "");
		close(t);
		return 0;
	}
	if (!strcmp(f[0], "wait") && n == 2) {
		for (int i = 0; i < 20000; i++) {
			if (!access(f[1], F_OK))
				return 0;
			usleep(1000);
		}
		return fail(s, "timed out%s%s", "", "");
	}
	if (!strcmp(f[0], "pid")) {
		printf("%d\n", (int)last_pid);
		fflush(stdout);
		return 0;
	}
	return fail(s, "unknown step%s%s", "", "");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (step(argv[i]))
			return 1;
	return 0;
}
