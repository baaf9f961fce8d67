/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * coherence_bench.c - how soon mmapfs sees changes made behind its back,
 * and what watching for them costs (issue #6; docs/semantics.md, A6).
 *
 * Usage: coherence_bench latency MNT BACKING [N] [--second-mount MNT2]
 *        coherence_bench idle MNT BACKING NFILES SECONDS DAEMON_PID [BASE_S]
 *
 * MNT is an mmapfs mount of the directory BACKING (MNT2 another mmapfs
 * mount of it).  Both modes work in a subdirectory they create in BACKING
 * ("coherence", "coherence-idle") and print one JSON object.
 *
 * LATENCY.  N times (default 200) per kind, at random 20-60 ms spacing,
 * the program changes a file outside the mount and times, from just before
 * the change, until the change is visible through the mount.  Every sample
 * writes a fresh value (a sequence number), so an old one is never taken
 * for the new.  The kinds, each on its own file, run in turn (a, b, c, ...,
 * a, b, ...), so a drift of the machine spreads over all of them:
 *
 *   pwrite_mmap   (a) pwrite() on the backing file; seen in a MAP_SHARED
 *                 mapping of the file on the mount
 *   pwrite_pread  (b) pwrite() on the backing file; seen by pread() on
 *                 the mount
 *   mstore_mmap   (c) a store through a MAP_SHARED mapping of the backing
 *                 file into a clean page (the backing kernel moves mtime
 *                 and ctime at that first store; nothing else tells us);
 *                 seen in the mount's mapping.  msync(MS_SYNC) of the
 *                 outside mapping after each sample, untimed, makes the
 *                 page clean again
 *   grow_fstat    (d) ftruncate() larger on the backing file; seen as the
 *                 new size by fstat() on the mount, and the new last byte
 *                 readable by pread()
 *   shrink_sigbus (e) ftruncate() smaller on the backing file; seen as
 *                 SIGBUS when touching the mount's mapping past the new
 *                 end (the file is grown back, untimed, between samples)
 *   two_mounts    (f) only with --second-mount: a store through a mapping
 *                 on MNT2 and msync(MS_SYNC) there; seen in a mapping on
 *                 MNT.  The time includes MNT2's msync
 *
 * Pollers look at the mount every POLL_US (plus timer slack) and sleep in
 * between, so that on a small machine they do not starve the daemon they
 * wait for.  A sample not seen within TIMEOUT_S is counted as a timeout and
 * left out of the quantiles.  The first WARMUP samples of each kind are
 * not recorded (first faults, first watch of the file).
 *
 * Prints {"samples": N, "timeout_s": T, "poll_us": P, "timeouts": ALL,
 * "kinds": {"pwrite_mmap": {"n": ...,
 * "timeouts": ..., "median_us": ..., "p90_us": ..., "p99_us": ...,
 * "max_us": ..., "samples_us": [...]}, ...}} (samples_us: every recorded
 * latency, in the order taken, so that several runs can be pooled).
 * Exit 0; 1 on an error or when a kind has no sample seen at all.
 *
 * IDLE.  What the watcher costs while nothing changes.  First, with
 * nothing opened yet (a fresh daemon), the daemon's CPU time over BASE_S
 * seconds (default SECONDS; 0 skips it, and "baseline" is null); then NFILES small files are created directly in
 * BACKING/coherence-idle, opened through the mount (RLIMIT_NOFILE is
 * raised to its hard limit first; too low a limit is an error) and one
 * byte of each read, so that each is cached, open and watched; after a
 * settling second the daemon's CPU time is taken again over SECONDS.  CPU
 * time is utime + stime of all the daemon's threads from
 * /proc/DAEMON_PID/stat.  After each window, if perf(1) can count the
 * daemon's fstat-family system calls (the watcher makes one per check),
 * their rate over PERF_S more seconds is reported too ("fstat_per_s"; null
 * without perf): apart, so that the tracing costs nothing in the CPU time.
 * The daemon's open descriptors are counted after the opens.
 *
 * Prints {"files": N, "seconds": S, "setup_s": ..., "daemon_fds": ...,
 * "baseline": {"cpu_s": ..., "cpu_pct": ..., "fstat_per_s": ...},
 * "open": {...}}.  Exit 0, or 1 on any error (with a message on stderr).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_US		25
#define TIMEOUT_S	5
#define WARMUP		3
#define SPACING_MIN_MS	20
#define SPACING_MAX_MS	60
#define NKINDS		6
#define PERF_S		2	/* seconds of counting the fstat rate */

static const char *const kind_names[NKINDS] = {
	"pwrite_mmap", "pwrite_pread", "mstore_mmap", "grow_fstat",
	"shrink_sigbus", "two_mounts",
};

static size_t ps;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at quantile @q of the sorted array @v of @n values (nearest
 * rank, as msync_latency and fio report percentiles). */
static uint64_t quantile(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

static void die_errno(const char *what, const char *path)
{
	fprintf(stderr, "coherence_bench: %s%s%s: %s\n", what,
		path ? " " : "", path ? path : "", strerror(errno));
	exit(1);
}

/* ---- latency ---------------------------------------------------------- */

/* SIGBUS from touching a mapping past the end of its file. */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* Read the word at @p; true if that raised SIGBUS. */
static bool touch_faults(const volatile uint64_t *p, uint64_t *val)
{
	if (sigsetjmp(bus_jmp, 1)) {
		return true;
	}
	bus_armed = 1;
	*val = *p;
	bus_armed = 0;
	return false;
}

struct kind {
	bool on;
	char *mpath, *bpath;	/* the file on the mount, in the backing dir */
	int mfd, bfd;		/* open there */
	char *mmap_m;		/* mapping on the mount (2 pages) */
	char *mmap_b;		/* mapping of the backing file (c), or on
				 * MNT2 (f) */
	int fd2;		/* (f): the file on MNT2 */
	off_t size;		/* (d): current size */
	uint64_t *lat;
	size_t n, timeouts;
};

static char *path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	if (!p) {
		perror("coherence_bench: malloc");
		exit(1);
	}
	snprintf(p, len, "%s/%s", dir, name);
	return p;
}

static void *map_shared(int fd, size_t len, const char *path)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die_errno("mmap", path);
	return p;
}

static void write_word(int fd, off_t off, uint64_t v, const char *path)
{
	if (pwrite(fd, &v, sizeof(v), off) != (ssize_t)sizeof(v))
		die_errno("pwrite", path);
}

/* Set up kind @k's file (2 pages of zeros, made in the backing dir). */
static void kind_setup(struct kind *k, int i, const char *mdir,
		       const char *bdir, const char *mnt2dir)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.dat", kind_names[i]);
	k->mpath = path_join(mdir, name);
	k->bpath = path_join(bdir, name);
	k->bfd = open(k->bpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (k->bfd < 0)
		die_errno("open", k->bpath);
	k->size = 2 * (off_t)ps;
	if (ftruncate(k->bfd, k->size) < 0)
		die_errno("ftruncate", k->bpath);
	if (fsync(k->bfd) < 0)
		die_errno("fsync", k->bpath);
	k->mfd = open(k->mpath, O_RDWR);
	if (k->mfd < 0)
		die_errno("open", k->mpath);
	k->mmap_m = map_shared(k->mfd, 2 * ps, k->mpath);
	/* Fault the mapping in: a change must invalidate a present page. */
	(void)*(volatile uint64_t *)k->mmap_m;
	if (i == 2) {
		k->mmap_b = map_shared(k->bfd, 2 * ps, k->bpath);
		(void)*(volatile uint64_t *)k->mmap_b;
	}
	if (i == 5) {
		char *p2 = path_join(mnt2dir, name);

		k->fd2 = open(p2, O_RDWR);
		if (k->fd2 < 0)
			die_errno("open", p2);
		k->mmap_b = map_shared(k->fd2, 2 * ps, p2);
		free(p2);
	}
}

/* Wait, polling every POLL_US, until seen(k, v) holds or the timeout.
 * Returns the time it held, or 0 on a timeout. */
#define WAIT_UNTIL(cond) ({						\
	uint64_t _end = now_ns() + (uint64_t)TIMEOUT_S * 1000000000u;	\
	uint64_t _t = 0;						\
	for (;;) {							\
		if (cond) {						\
			_t = now_ns();					\
			break;						\
		}							\
		if (now_ns() > _end)					\
			break;						\
		sleep_ns(POLL_US * 1000u);				\
	}								\
	_t;								\
})

static bool pread_sees(int fd, off_t off, uint64_t v)
{
	uint64_t x = 0;

	return pread(fd, &x, sizeof(x), off) == (ssize_t)sizeof(x) && x == v;
}

static bool grow_seen(struct kind *k)
{
	struct stat st;
	char c;

	return fstat(k->mfd, &st) == 0 && st.st_size == k->size &&
	       pread(k->mfd, &c, 1, k->size - 1) == 1;
}

static bool page1_faults(struct kind *k)
{
	uint64_t v;

	return touch_faults((volatile uint64_t *)(k->mmap_m + ps), &v);
}

/* One sample of kind @i with value @v: 0 if not seen in time, else ns. */
static uint64_t sample(struct kind *k, int i, uint64_t v)
{
	volatile uint64_t *mw = (volatile uint64_t *)k->mmap_m;
	uint64_t t0 = 0, t1 = 0;

	switch (i) {
	case 0:		/* pwrite, seen in the mapping */
		t0 = now_ns();
		write_word(k->bfd, 0, v, k->bpath);
		t1 = WAIT_UNTIL(*mw == v);
		break;
	case 1:		/* pwrite, seen by pread */
		t0 = now_ns();
		write_word(k->bfd, 0, v, k->bpath);
		t1 = WAIT_UNTIL(pread_sees(k->mfd, 0, v));
		break;
	case 2:		/* store into a clean page of an outside mapping */
		t0 = now_ns();
		*(volatile uint64_t *)k->mmap_b = v;
		t1 = WAIT_UNTIL(*mw == v);
		if (msync(k->mmap_b, ps, MS_SYNC) < 0)
			die_errno("msync", k->bpath);
		break;
	case 3:		/* growth: new size by fstat, and readable */
		k->size += (off_t)ps;
		t0 = now_ns();
		if (ftruncate(k->bfd, k->size) < 0)
			die_errno("ftruncate", k->bpath);
		t1 = WAIT_UNTIL(grow_seen(k));
		break;
	case 4:		/* shrink: SIGBUS past the new end */
		t0 = now_ns();
		if (ftruncate(k->bfd, (off_t)ps) < 0)
			die_errno("ftruncate", k->bpath);
		t1 = WAIT_UNTIL(page1_faults(k));
		/* Grow back (with the value in page 1) and wait, untimed,
		 * until the mount lets us touch it again. */
		if (ftruncate(k->bfd, 2 * (off_t)ps) < 0)
			die_errno("ftruncate", k->bpath);
		write_word(k->bfd, (off_t)ps, v, k->bpath);
		if (!WAIT_UNTIL(!page1_faults(k) &&
				*(volatile uint64_t *)(k->mmap_m + ps) == v)) {
			fprintf(stderr,
				"coherence_bench: %s: the regrown page is not seen after %d s\n",
				k->mpath, TIMEOUT_S);
			exit(1);
		}
		break;
	case 5:		/* a store + msync on the second mount */
		t0 = now_ns();
		*(volatile uint64_t *)k->mmap_b = v;
		if (msync(k->mmap_b, ps, MS_SYNC) < 0)
			die_errno("msync on the second mount", k->mpath);
		t1 = WAIT_UNTIL(*mw == v);
		break;
	}
	return t1 ? t1 - t0 : 0;
}

static void print_kind(const struct kind *k, int i, bool *first)
{
	uint64_t *s;
	size_t j;

	printf("%s\"%s\": {\"n\": %zu, \"timeouts\": %zu", *first ? "" : ", ",
	       kind_names[i], k->n, k->timeouts);
	*first = false;
	if (k->n) {
		s = malloc(k->n * sizeof(*s));
		if (!s) {
			perror("coherence_bench: malloc");
			exit(1);
		}
		memcpy(s, k->lat, k->n * sizeof(*s));
		qsort(s, k->n, sizeof(*s), cmp_u64);
		printf(", \"median_us\": %.1f, \"p90_us\": %.1f, "
		       "\"p99_us\": %.1f, \"max_us\": %.1f",
		       quantile(s, k->n, 0.5) / 1e3,
		       quantile(s, k->n, 0.9) / 1e3,
		       quantile(s, k->n, 0.99) / 1e3, s[k->n - 1] / 1e3);
		free(s);
	}
	printf(", \"samples_us\": [");
	for (j = 0; j < k->n; j++)
		printf("%s%.1f", j ? ", " : "", k->lat[j] / 1e3);
	printf("]}");
}

static int mode_latency(int argc, char **argv)
{
	struct kind kinds[NKINDS];
	const char *mnt2 = NULL;
	unsigned long n = 200, r;
	char *mdir, *bdir, *m2dir = NULL;
	struct sigaction sa;
	bool first = true;
	int i, ret = 0;
	uint64_t seq;
	unsigned short xsubi[3];
	size_t timeouts = 0;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--second-mount") && i + 1 < argc) {
			mnt2 = argv[i + 1];
			memmove(&argv[i], &argv[i + 2],
				(size_t)(argc - i - 1) * sizeof(*argv));
			argc -= 2;
			break;
		}
	}
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: coherence_bench latency MNT BACKING [N] [--second-mount MNT2]\n");
		return 1;
	}
	if (argc == 5) {
		n = strtoul(argv[4], NULL, 10);
		if (n == 0) {
			fprintf(stderr, "coherence_bench: bad N\n");
			return 1;
		}
	}
	/* Let the pollers' short sleeps be short. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		die_errno("sigaction", NULL);

	bdir = path_join(argv[3], "coherence");
	mdir = path_join(argv[2], "coherence");
	if (mkdir(bdir, 0755) < 0 && errno != EEXIST)
		die_errno("mkdir", bdir);
	if (mnt2)
		m2dir = path_join(mnt2, "coherence");
	memset(kinds, 0, sizeof(kinds));
	for (i = 0; i < NKINDS; i++) {
		struct kind *k = &kinds[i];

		k->on = i < 5 || mnt2;
		if (!k->on)
			continue;
		kind_setup(k, i, mdir, bdir, m2dir);
		k->lat = calloc(n, sizeof(*k->lat));
		if (!k->lat) {
			perror("coherence_bench: calloc");
			return 1;
		}
	}

	seq = now_ns() << 8;	/* fresh values, also across runs */
	xsubi[0] = (unsigned short)seq;
	xsubi[1] = (unsigned short)(seq >> 16);
	xsubi[2] = (unsigned short)getpid();
	for (r = 0; r < n + WARMUP; r++) {
		for (i = 0; i < NKINDS; i++) {
			struct kind *k = &kinds[i];
			uint64_t t, gap;

			if (!k->on)
				continue;
			gap = SPACING_MIN_MS * 1000000u + (uint64_t)(erand48(xsubi) *
				(SPACING_MAX_MS - SPACING_MIN_MS) * 1e6);
			sleep_ns(gap);
			t = sample(k, i, ++seq);
			if (r < WARMUP)
				continue;
			if (t)
				k->lat[k->n++] = t;
			else
				k->timeouts++;
		}
	}

	for (i = 0; i < NKINDS; i++)
		timeouts += kinds[i].timeouts;
	printf("{\"samples\": %lu, \"timeout_s\": %d, \"poll_us\": %d, "
	       "\"timeouts\": %zu, \"kinds\": {", n, TIMEOUT_S, POLL_US,
	       timeouts);
	for (i = 0; i < NKINDS; i++) {
		if (!kinds[i].on)
			continue;
		print_kind(&kinds[i], i, &first);
		if (!kinds[i].n) {
			fprintf(stderr, "coherence_bench: %s: no change seen within %d s\n",
				kind_names[i], TIMEOUT_S);
			ret = 1;
		}
	}
	printf("}}\n");
	fflush(stdout);

	for (i = 0; i < NKINDS; i++) {
		struct kind *k = &kinds[i];

		if (!k->on)
			continue;
		munmap(k->mmap_m, 2 * ps);
		if (k->mmap_b)
			munmap(k->mmap_b, 2 * ps);
		if (i == 5)
			close(k->fd2);
		close(k->mfd);
		close(k->bfd);
		unlink(k->bpath);
		free(k->mpath);
		free(k->bpath);
		free(k->lat);
	}
	rmdir(bdir);
	free(bdir);
	free(mdir);
	free(m2dir);
	return ret;
}

/* ---- idle ----------------------------------------------------------------- */

/* utime + stime of every thread of @pid, in clock ticks. */
static uint64_t cpu_ticks(pid_t pid)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	ssize_t len;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die_errno("open", path);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		die_errno("read", path);
	buf[len] = '\0';
	/* The command name is in parentheses and may hold anything. */
	p = strrchr(buf, ')');
	if (!p)
		goto bad;
	p += 2;
	/* p is at field 3 (state); utime and stime are fields 14 and 15. */
	for (field = 3; field < 14; field++) {
		p = strchr(p, ' ');
		if (!p)
			goto bad;
		p++;
	}
	if (sscanf(p, "%llu %llu", &ut, &st) != 2)
		goto bad;
	return ut + st;
bad:
	fprintf(stderr, "coherence_bench: cannot parse %s\n", path);
	exit(1);
}

static long count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct idle_result {
	double cpu_s, cpu_pct;
	double fstat_per_s;		/* < 0: not counted */
};

/*
 * Count @pid's fstat-family system calls over @secs seconds with perf stat.
 * Returns calls per second, or -1 if perf is missing or cannot count.
 */
static double fstat_rate(pid_t pid, unsigned int secs)
{
	char cmd[512], line[512];
	uint64_t t0, t1;
	double total = 0;
	int counted = 0;
	FILE *f;

	if (access("/usr/bin/perf", X_OK) && access("/usr/local/bin/perf", X_OK))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "perf stat -x, -e syscalls:sys_enter_newfstat,syscalls:sys_enter_newfstatat,syscalls:sys_enter_statx -p %d -- sleep %u 2>&1",
		 (int)pid, secs);
	t0 = now_ns();
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		double v = strtod(line, &end);

		if (end != line && *end == ',' && strstr(line, "syscalls:")) {
			total += v;
			counted++;
		}
	}
	t1 = now_ns();
	if (pclose(f) == 0 && counted)
		return total / ((double)(t1 - t0) / 1e9);
	fprintf(stderr, "coherence_bench: perf could not count system calls; fstat_per_s is null\n");
	return -1;
}

/* The daemon's CPU time over @secs idle seconds; then, separately so that
 * the tracing does not weigh on the CPU time, its fstat rate over
 * PERF_S seconds. */
static void idle_measure(pid_t pid, unsigned int secs, struct idle_result *r)
{
	long tck = sysconf(_SC_CLK_TCK);
	uint64_t c0, c1, t0, t1;
	double wall;

	c0 = cpu_ticks(pid);
	t0 = now_ns();
	sleep_ns((uint64_t)secs * 1000000000u);
	c1 = cpu_ticks(pid);
	t1 = now_ns();
	wall = (double)(t1 - t0) / 1e9;
	r->cpu_s = (double)(c1 - c0) / (double)tck;
	r->cpu_pct = 100.0 * r->cpu_s / wall;
	r->fstat_per_s = fstat_rate(pid, secs < PERF_S ? secs : PERF_S);
}

static void print_idle(const char *name, const struct idle_result *r)
{
	printf("\"%s\": {\"cpu_s\": %.3f, \"cpu_pct\": %.2f, \"fstat_per_s\": ",
	       name, r->cpu_s, r->cpu_pct);
	if (r->fstat_per_s < 0)
		printf("null}");
	else
		printf("%.0f}", r->fstat_per_s);
}

static int mode_idle(int argc, char **argv)
{
	struct idle_result base, open_r;
	unsigned long nfiles, i;
	unsigned int secs, base_s;
	char *mdir, *bdir, name[32];
	struct rlimit rl;
	uint64_t t0, t1;
	long dfds;
	pid_t pid;
	int *fds, dfd;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: coherence_bench idle MNT BACKING NFILES SECONDS DAEMON_PID [BASE_S]\n");
		return 1;
	}
	nfiles = strtoul(argv[4], NULL, 10);
	secs = (unsigned int)strtoul(argv[5], NULL, 10);
	base_s = argc == 8 ? (unsigned int)strtoul(argv[7], NULL, 10) : secs;
	pid = (pid_t)strtol(argv[6], NULL, 10);
	if (secs == 0 || pid <= 0) {
		fprintf(stderr, "coherence_bench: bad SECONDS or DAEMON_PID\n");
		return 1;
	}
	if (kill(pid, 0) < 0)
		die_errno("no daemon with pid", argv[6]);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die_errno("getrlimit", NULL);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < nfiles + 64) {
		fprintf(stderr,
			"coherence_bench: the hard open-file limit (%llu) is below NFILES + 64 = %lu: raise it (ulimit -Hn) or ask for fewer files\n",
			(unsigned long long)rl.rlim_max, nfiles + 64);
		return 1;
	}
	if (rl.rlim_cur < nfiles + 64) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? nfiles + 64 :
			      rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die_errno("setrlimit RLIMIT_NOFILE", NULL);
	}
	fds = calloc(nfiles ? nfiles : 1, sizeof(*fds));
	if (!fds) {
		perror("coherence_bench: calloc");
		return 1;
	}

	/* Baseline: a fresh daemon with nothing of ours open. */
	if (base_s)
		idle_measure(pid, base_s, &base);

	t0 = now_ns();
	bdir = path_join(argv[3], "coherence-idle");
	mdir = path_join(argv[2], "coherence-idle");
	if (mkdir(bdir, 0755) < 0 && errno != EEXIST)
		die_errno("mkdir", bdir);
	dfd = open(bdir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die_errno("open", bdir);
	for (i = 0; i < nfiles; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%06lu", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "coherence\n", 10) != 10)
			die_errno("create in the backing dir", name);
		close(fd);
	}
	close(dfd);
	dfd = open(mdir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die_errno("open", mdir);
	for (i = 0; i < nfiles; i++) {
		char c;

		snprintf(name, sizeof(name), "f%06lu", i);
		fds[i] = openat(dfd, name, O_RDONLY);
		if (fds[i] < 0) {
			fprintf(stderr,
				"coherence_bench: open %s/%s through the mount failed after %lu files: %s (the daemon holds %ld descriptors)\n",
				mdir, name, i, strerror(errno), count_fds(pid));
			return 1;
		}
		if (pread(fds[i], &c, 1, 0) != 1) {
			fprintf(stderr,
				"coherence_bench: read %s/%s through the mount failed after %lu files: %s\n",
				mdir, name, i, strerror(errno));
			return 1;
		}
	}
	t1 = now_ns();
	dfds = count_fds(pid);
	sleep_ns(1000000000u);		/* let the first checks settle */
	idle_measure(pid, secs, &open_r);

	printf("{\"files\": %lu, \"seconds\": %u, \"setup_s\": %.2f, "
	       "\"daemon_fds\": %ld, ", nfiles, secs, (double)(t1 - t0) / 1e9,
	       dfds);
	if (base_s)
		print_idle("baseline", &base);
	else
		printf("\"baseline\": null");
	printf(", ");
	print_idle("open", &open_r);
	printf("}\n");
	fflush(stdout);

	for (i = 0; i < nfiles; i++)
		close(fds[i]);
	close(dfd);
	free(fds);
	free(mdir);
	free(bdir);
	return 0;
}

int main(int argc, char **argv)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	if (argc >= 2 && !strcmp(argv[1], "latency"))
		return mode_latency(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "idle"))
		return mode_idle(argc, argv);
	fprintf(stderr,
		"usage: coherence_bench latency MNT BACKING [N] [--second-mount MNT2]\n"
		"       coherence_bench idle MNT BACKING NFILES SECONDS DAEMON_PID [BASE_S]\n");
	return 1;
}
