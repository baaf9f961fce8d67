// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stats_server.c - the daemon's end of the statistics socket, and the
 * SIGUSR1 dump of the counters to the log.
 *
 * One thread accepts connections on "@mmapfs/stats/MAJOR:MINOR" (see
 * stats.c) and answers each with one snapshot from pc_stats_read(); an
 * eventfd stops it.  It never touches the mount, so a busy or hung mount
 * cannot block it, and a client that does not read cannot block it either
 * (the snapshot is far smaller than a socket buffer; MSG_DONTWAIT).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"

struct daemon_stats_server {
	struct pc_cache *cache;
	int sock;
	int stop_fd;
	pthread_t thread;
};

static void serve_one(struct daemon_stats_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct pc_stats st;
	char buf[2048];
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		return;
	pc_stats_read(s->cache, &st);
	n = daemon_stats_encode(&st, buf, sizeof(buf));
	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		daemon_log(LOG_DEBUG, "statistics socket: send: %s",
			   strerror(errno));
}

static void *server_main(void *arg)
{
	struct daemon_stats_server *s = arg;
	struct pollfd p[2] = {
		{ .fd = s->sock, .events = POLLIN },
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			daemon_log(LOG_WARNING,
				   "statistics socket: poll: %s; mmapfs-stat will not answer",
				   strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		fd = accept4(s->sock, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(s, fd);
		close(fd);
	}
}

int daemon_stats_start(struct pc_cache *cache, const char *mnt,
		       struct daemon_stats_server **out)
{
	struct daemon_stats_server *s;
	struct sockaddr_un sa;
	socklen_t salen;
	unsigned int maj, min;
	FILE *f;
	int r, found;

	*out = NULL;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	found = daemon_mountinfo_dev(f, mnt, &maj, &min);
	fclose(f);
	if (!found)
		return -ENOENT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cache = cache;
	s->stop_fd = -1;
	s->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->sock < 0) {
		r = -errno;
		goto out_free;
	}
	daemon_stats_sockname(maj, min, &sa, &salen);
	if (bind(s->sock, (struct sockaddr *)&sa, salen) ||
	    listen(s->sock, 8)) {
		r = -errno;
		goto out_sock;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0) {
		r = -errno;
		goto out_sock;
	}
	r = -pthread_create(&s->thread, NULL, server_main, s);
	if (r)
		goto out_event;
	*out = s;
	return 0;

out_event:
	close(s->stop_fd);
out_sock:
	close(s->sock);
out_free:
	free(s);
	return r;
}

void daemon_stats_stop(struct daemon_stats_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	/* An eventfd write of 8 bytes fails only on overflow: not here. */
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		daemon_log(LOG_ERR,
			   "statistics socket: cannot stop its thread: %s",
			   strerror(errno));
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	close(s->sock);
	free(s);
}

void daemon_stats_log(struct pc_cache *cache, const char *mnt)
{
	char lines[8][160];
	struct pc_stats st;
	int i, n;

	pc_stats_read(cache, &st);
	n = daemon_stats_lines(&st, NULL, 0, lines, 8);
	daemon_log(LOG_INFO, "statistics of '%s':", mnt);
	for (i = 0; i < n; i++)
		daemon_log(LOG_INFO, "  %s", lines[i]);
}
