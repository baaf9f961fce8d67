// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmapfs-stat.c - print the page-cache counters of a mounted mmapfs.
 *
 *   mmapfs-stat [-i SECONDS] [-c COUNT] [-r] MOUNTPOINT
 *
 * stat(MOUNTPOINT) gives the mount's device number, which names the
 * daemon's statistics socket (stats.c); one connection gets one snapshot.
 * With -i it repeats every SECONDS and adds the rates over the interval
 * (write-back throughput, backing reads, hit ratio); -r prints the raw
 * "name value" lines instead, for scripts.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"

static const char usage[] =
	"usage: mmapfs-stat [-i SECONDS] [-c COUNT] [-r] MOUNTPOINT\n"
	"  -i SECONDS  print again every SECONDS (e.g. 1 or 0.5), with rates\n"
	"  -c COUNT    stop after COUNT reports (default: 1, or forever with -i)\n"
	"  -r          raw \"name value\" lines\n";

/* One snapshot into @buf (NUL-terminated); 0 or -1 with a message. */
static int fetch(const char *mnt, dev_t dev, char *buf, size_t len)
{
	struct sockaddr_un sa;
	unsigned int salen;
	size_t n = 0;
	ssize_t r;
	int fd;

	daemon_stats_sockname(major(dev), minor(dev), &sa, &salen);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr,
			"mmapfs-stat: cannot create a Unix socket: %s; check the open-file limit (ulimit -n)\n",
			strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, salen)) {
		fprintf(stderr,
			"mmapfs-stat: '%s': no mmapfs daemon answers for this mount (%s); check that it is an mmapfs mount ('findmnt %s') and that its daemon runs\n",
			mnt, strerror(errno), mnt);
		close(fd);
		return -1;
	}
	while (n < len - 1) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (!n) {
		fprintf(stderr,
			"mmapfs-stat: '%s': the daemon sent nothing; only root and the user running the daemon may read its statistics\n",
			mnt);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pc_stats cur, prev;
	struct timespec t0, t1, pause;
	char buf[4096], lines[8][160];
	double interval = 0, secs;
	long count = -1;
	bool raw = false, have_prev = false;
	const char *mnt;
	struct stat st;
	char *end;
	int c, i, n;

	while ((c = getopt(argc, argv, "i:c:rh")) != -1) {
		switch (c) {
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(interval) ||
			    interval < 0.1 || interval > 86400) {
				fprintf(stderr,
					"mmapfs-stat: bad interval '-i %s'; give seconds from 0.1 to 86400\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			count = strtol(optarg, &end, 10);
			if (end == optarg || *end || count < 1) {
				fprintf(stderr,
					"mmapfs-stat: bad count '-c %s'; give a whole number from 1\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	mnt = argv[optind];
	if (count < 0)
		count = interval > 0 ? -1 : 1;
	if (stat(mnt, &st)) {
		if (errno == EACCES)
			fprintf(stderr,
				"mmapfs-stat: '%s': %s; without -o allow_other a FUSE mount is reachable only by the user who mounted it: run mmapfs-stat as that user or as root\n",
				mnt, strerror(errno));
		else
			fprintf(stderr,
				"mmapfs-stat: '%s': %s; give the mount point of an mmapfs mount\n",
				mnt, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	pause.tv_sec = (time_t)interval;
	pause.tv_nsec = (long)((interval - (double)pause.tv_sec) * 1e9);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (fetch(mnt, st.st_dev, buf, sizeof(buf)))
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (raw) {
			fputs(buf, stdout);
		} else {
			if (daemon_stats_decode(buf, &cur)) {
				fprintf(stderr,
					"mmapfs-stat: '%s': the daemon's answer is not understood; use the mmapfs-stat of the same version as the daemon (or -r)\n",
					mnt);
				return 1;
			}
			secs = (double)(t1.tv_sec - t0.tv_sec) +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
			n = daemon_stats_lines(&cur, have_prev ? &prev : NULL,
					       secs, lines, 8);
			printf("%s:\n", mnt);
			for (i = 0; i < n; i++)
				printf("  %s\n", lines[i]);
			prev = cur;
			have_prev = true;
		}
		t0 = t1;
		if (count > 0 && --count == 0)
			break;
		if (interval > 0)
			putchar('\n');
		if (fflush(stdout))
			return 1;
		nanosleep(&pause, NULL);
	}
	return fflush(stdout) ? 1 : 0;
}
