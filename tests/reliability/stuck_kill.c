// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stuck_kill - SIGKILL the daemon while one of its threads waits in the
 * kernel on its own mount (reliability finding 6; guardian_kill9.sh).
 *
 *   stuck_kill FILE DAEMON_PID
 *
 * FILE (on the mount) gets 1000 bytes; its first page is read (the daemon
 * then knows the kernel may cache it) and dropped from the kernel's cache
 * again (POSIX_FADV_DONTNEED).  A child then pwrite()s 10 bytes at 2000:
 * the kernel puts them in a new page that is not uptodate and keeps it
 * locked until the daemon answers the WRITE; the daemon, for a write that
 * grows the file inside its last page, has its notifier drop that page
 * (fs/file.c, eof_grown) - and the notifier waits for the lock.  As soon
 * as a daemon thread's kernel stack shows that wait, the daemon is
 * SIGKILLed: the WRITE is never answered, so that thread never returns.
 *
 * Exit 0: killed in that state.  Exit 3: the state was not seen before
 * the WRITE was answered (try again).  Exit 1: error.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A thread of @pid inside a page-cache invalidation or store notification. */
static int notifier_waits(pid_t pid)
{
	char path[384], buf[4096];
	struct dirent *e;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", (int)pid,
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		found = strstr(buf, "fuse_reverse_inval_inode") ||
			strstr(buf, "fuse_notify_store");
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	char data[1000], ten[10], page[4096];
	pid_t daemon, child;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: stuck_kill FILE DAEMON_PID\n");
		return 1;
	}
	daemon = (pid_t)atoi(argv[2]);
	memset(data, 'a', sizeof(data));
	memset(ten, 'b', sizeof(ten));
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, data, sizeof(data), 0) != sizeof(data) ||
	    pread(fd, page, sizeof(page), 0) != sizeof(data) ||
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
		perror(argv[1]);
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		/* answered, or failed with ENOTCONN once aborted */
		(void)!pwrite(fd, ten, sizeof(ten), 2000);
		_exit(0);
	}
	for (int i = 0; i < 2000; i++) {
		struct timespec ts = { 0, 100000 };	/* 0.1 ms */
		int status;

		if (notifier_waits(daemon)) {
			kill(daemon, SIGKILL);
			printf("stuck_kill: daemon %d killed while a thread waited in a notification\n",
			       (int)daemon);
			fflush(stdout);
			/* the child ends when the connection does */
			return 0;
		}
		if (waitpid(child, &status, WNOHANG) == child)
			return 3;	/* answered before we saw it */
		nanosleep(&ts, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 3;
}
