// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stats.c - the cache counters for people: as "name value" lines on the
 * statistics socket, as readable text for mmapfs-stat, and as log lines on
 * SIGUSR1.  The daemon's end of the socket is in stats_server.c; this file
 * is shared with mmapfs-stat and calls nothing in pagecache/.
 *
 * The socket is an abstract Unix socket named after the mount's device
 * number ("@mmapfs/stats/0:52"): a client finds it with stat(MOUNTPOINT)
 * alone, it needs no file in /run, and it disappears with the daemon.  A
 * connection gets one snapshot and is closed.  Only root and the daemon's
 * own user are answered (SO_PEERCRED), as with a 0600 file.  The serving
 * thread never touches the mount itself, so it cannot wait on a FUSE
 * request, and takes no lock but pc_stats_read()'s.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"

#define F(x) { #x, offsetof(struct pc_stats, x) }
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	F(cache_size), F(cached_bytes), F(dirty_bytes), F(writeback_bytes),
	F(hits), F(misses), F(readahead_pages), F(bytes_read),
	F(bytes_written), F(writeback_requests), F(evictions),
	F(writeback_errors), F(throttle_waits), F(throttle_wait_ns),
	F(syncs), F(mappings),
};
#undef F

#define NFIELDS (sizeof(stat_fields) / sizeof(stat_fields[0]))

static uint64_t *field(struct pc_stats *s, size_t i)
{
	return (uint64_t *)((char *)s + stat_fields[i].off);
}

int daemon_stats_encode(const struct pc_stats *s, char *buf, size_t len)
{
	struct pc_stats c = *s;
	size_t i, n = 0;
	int r;

	for (i = 0; i < NFIELDS; i++) {
		r = snprintf(buf + n, len - n, "%s %" PRIu64 "\n",
			     stat_fields[i].name, *field(&c, i));
		if (r < 0 || (size_t)r >= len - n)
			return -ENOSPC;
		n += (size_t)r;
	}
	return (int)n;
}

int daemon_stats_decode(const char *text, struct pc_stats *s)
{
	const char *p = text;
	char name[64];
	uint64_t v;
	size_t i;
	int n, seen = 0;

	memset(s, 0, sizeof(*s));
	while (*p) {
		if (sscanf(p, "%63s %" SCNu64 "%n", name, &v, &n) != 2)
			return -EINVAL;
		for (i = 0; i < NFIELDS; i++) {
			if (!strcmp(name, stat_fields[i].name)) {
				*field(s, i) = v;
				seen++;
			}
		}
		p += n;
		while (*p == '\n' || *p == ' ')
			p++;
	}
	/* unknown names are newer counters: fine; missing ones are not */
	return seen == (int)NFIELDS ? 0 : -EINVAL;
}

void daemon_format_bytes(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double d = (double)v;
	int i = -1;

	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64 "B", v);
	else
		snprintf(buf, len, "%.1f%ciB", d, units[i]);
}

int daemon_stats_lines(const struct pc_stats *s, const struct pc_stats *prev,
		       double secs, char lines[][160], int max)
{
	char a[32], b[32], c[32];
	uint64_t lookups = s->hits + s->misses;
	int n = 0;

	if (max < 8)
		return 0;
	daemon_format_bytes(s->cached_bytes, a, sizeof(a));
	daemon_format_bytes(s->cache_size, b, sizeof(b));
	snprintf(lines[n++], 160, "cache:      %s used of %s (%.1f%%), %" PRIu64
		 " evictions, %" PRIu64 " files mapped", a, b,
		 s->cache_size ? 100.0 * (double)s->cached_bytes /
				 (double)s->cache_size : 0.0,
		 s->evictions, s->mappings);
	if (lookups)
		snprintf(c, sizeof(c), "%.1f%%",
			 100.0 * (double)s->hits / (double)lookups);
	else
		snprintf(c, sizeof(c), "n/a");
	snprintf(lines[n++], 160, "reads:      %" PRIu64 " hits, %" PRIu64
		 " misses, hit ratio %s, %" PRIu64 " pages read ahead",
		 s->hits, s->misses, c, s->readahead_pages);
	daemon_format_bytes(s->dirty_bytes, a, sizeof(a));
	daemon_format_bytes(s->writeback_bytes, b, sizeof(b));
	snprintf(lines[n++], 160, "dirty:      %s dirty, %s in flight", a, b);
	daemon_format_bytes(s->bytes_written, a, sizeof(a));
	snprintf(lines[n++], 160, "write-back: %s written in %" PRIu64
		 " requests, %" PRIu64 " errors, %" PRIu64 " fsyncs", a,
		 s->writeback_requests, s->writeback_errors, s->syncs);
	daemon_format_bytes(s->bytes_read, a, sizeof(a));
	snprintf(lines[n++], 160, "backing:    %s read from the backing files",
		 a);
	snprintf(lines[n++], 160, "throttle:   %" PRIu64
		 " writer waits, %.3f s waited in all", s->throttle_waits,
		 (double)s->throttle_wait_ns / 1e9);
	if (prev && secs > 0) {
		uint64_t dw = s->bytes_written - prev->bytes_written;
		uint64_t dr = s->bytes_read - prev->bytes_read;
		uint64_t dh = s->hits - prev->hits;
		uint64_t dm = s->misses - prev->misses;

		daemon_format_bytes((uint64_t)((double)dw / secs), a, sizeof(a));
		daemon_format_bytes((uint64_t)((double)dr / secs), b, sizeof(b));
		snprintf(c, sizeof(c), "%.1f%%",
			 dh + dm ? 100.0 * (double)dh / (double)(dh + dm) : 0.0);
		snprintf(lines[n++], 160, "last %.1fs: write-back %s/s, backing reads %s/s, hit ratio %s",
			 secs, a, b, dh + dm ? c : "n/a");
	}
	return n;
}

/* ---- the socket --------------------------------------------------------- */

void daemon_stats_sockname(unsigned int maj, unsigned int min,
			   struct sockaddr_un *sa, unsigned int *salen)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "mmapfs/stats/%u:%u", maj, min);
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     (size_t)n);
}

int daemon_mountinfo_dev(FILE *f, const char *path, unsigned int *maj,
			 unsigned int *min)
{
	char *line = NULL, mnt[4096];
	size_t cap = 0;
	unsigned int a, b;
	int found = 0;

	/* "36 35 0:52 / /mnt/point rw ... - fuse.mmapfs /b rw": last wins */
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &a, &b, mnt) != 3)
			continue;
		daemon_mountinfo_unescape(mnt);
		if (strcmp(mnt, path))
			continue;
		*maj = a;
		*min = b;
		found = 1;
	}
	free(line);
	return found;
}
