// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guardian.c - abort our FUSE connection when the daemon is killed but
 * cannot die (reliability finding 6).
 *
 * A SIGKILLed daemon normally dies at once: its /dev/fuse descriptor is
 * closed, the kernel aborts the connection, mappers get SIGBUS and callers
 * ENOTCONN.  But a daemon thread inside a notification (inval_inode or
 * store: fs/notify.c, fs/file.c) may be waiting, uninterruptibly, for a
 * folio lock that a writer holds while it waits for the answer to its
 * WRITE - an answer no thread is left to give.  That thread never exits,
 * the descriptor is never closed, and every process that touches the mount
 * hangs.  Writing 1 to /sys/fs/fuse/connections/N/abort ends every request
 * of the connection: the writer lets go of the folio, the thread finishes
 * its notification and exits, and the daemon is gone.
 *
 * The guardian is a child forked before the daemon starts any thread.  It
 * keeps no descriptor but stderr (not /dev/fuse, not the mount point as
 * its directory) and sleeps until the thread that forked it - the main
 * thread - exits (PR_SET_PDEATHSIG).  It then watches the daemon: if the
 * daemon is gone, or a zombie with no thread left, within GUARD_GRACE_MS,
 * it died normally and the guardian just exits; if its main thread is dead
 * but other threads are still there after that, it aborts the connection
 * (mounting fusectl first if nobody did), logs it, and exits.  A stray
 * SIGUSR1 while the daemon lives changes nothing.  Without root there is
 * no fusectl to write to, and no guardian.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"

#define FUSECTL		"/sys/fs/fuse/connections"
/* How long a killed daemon may take to die on its own. */
#define GUARD_GRACE_MS	1000

/* The FUSE connection number of the topmost mount on @mnt.  From
 * mountinfo: a stat() of the mount point would be a request that nobody
 * answers yet. */
static int conn_of(const char *mnt, unsigned long *conn)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char fstype[64];
	int r;

	if (!f)
		return 0;
	r = daemon_mountinfo_find(f, mnt, fstype, sizeof(fstype), conn);
	fclose(f);
	return r == 1;
}

enum daemon_state { DAEMON_ALIVE, DAEMON_GONE, DAEMON_STUCK };

/* From /proc/PID/status: its main thread alive, or dead with other
 * threads left (stuck), or no thread left at all (gone). */
static enum daemon_state daemon_state(pid_t pid)
{
	char path[64], buf[2048];
	int fd, threads = 0;
	char state = 'X';
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return DAEMON_GONE;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return DAEMON_GONE;
	buf[n] = '\0';
	p = strstr(buf, "\nState:");
	if (p)
		sscanf(p + 7, " %c", &state);
	p = strstr(buf, "\nThreads:");
	if (p)
		sscanf(p + 9, "%d", &threads);
	if (state != 'Z' && state != 'X')
		return DAEMON_ALIVE;
	return threads > 1 ? DAEMON_STUCK : DAEMON_GONE;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The daemon's state once it has left @from, or after GUARD_GRACE_MS. */
static enum daemon_state state_after(pid_t pid, enum daemon_state from)
{
	enum daemon_state s = daemon_state(pid);

	for (int waited = 0; s == from && waited < GUARD_GRACE_MS;
	     waited += 10) {
		sleep_ms(10);
		s = daemon_state(pid);
	}
	return s;
}

static int conn_abort(unsigned long conn)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), FUSECTL "/%lu/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    !mount("fusectl", FUSECTL, "fusectl", 0, NULL))
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

static void guardian_main(pid_t daemon, unsigned long conn,
			  const char *mnt)
{
	sigset_t set;
	int null;

	prctl(PR_SET_NAME, "mmapfs-guard");
	/* SIGUSR1 is waited for; terminal signals to the process group are
	 * the daemon's to act on (it blocks them and waits for them in a
	 * thread): stay. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGUSR1))
		_exit(0);
	if (chdir("/"))
		_exit(0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* /dev/fuse above all: holding it would keep the connection up. */
	if (close_range(3, ~0U, 0))
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* If it died before the prctl, no signal will come. */
	for (bool wait = getppid() == daemon;; wait = true) {
		enum daemon_state s;

		if (wait)
			sigwaitinfo(&set, NULL);
		/* Its main thread may still be on its way out. */
		s = state_after(daemon, DAEMON_ALIVE);
		if (s == DAEMON_ALIVE)
			continue;	/* a stray SIGUSR1 */
		/* Killed: give the other threads time to go. */
		if (s == DAEMON_STUCK)
			s = state_after(daemon, DAEMON_STUCK);
		if (s == DAEMON_GONE)
			_exit(0);
		if (s == DAEMON_STUCK) {
			int err = conn_abort(conn);

			if (err)
				daemon_log(LOG_ERR,
					   "the daemon serving '%s' was killed but cannot exit (a thread waits in the kernel for its own mount), and aborting FUSE connection %lu failed: %s; abort it by hand: echo 1 > " FUSECTL "/%lu/abort",
					   mnt, conn, strerror(-err), conn);
			else
				daemon_log(LOG_ERR,
					   "the daemon serving '%s' was killed but could not exit (a thread waited in the kernel for its own mount): aborted its FUSE connection %lu; programs using the mount get ENOTCONN, mount it again to serve it",
					   mnt, conn);
			_exit(err ? 1 : 0);
		}
	}
}

int daemon_guardian_start(const char *mountpoint)
{
	unsigned long conn;
	pid_t daemon = getpid(), pid;

	if (geteuid() != 0 || getenv("MMAPFS_NO_GUARDIAN"))
		return 0;
	if (!conn_of(mountpoint, &conn)) {
		daemon_log(LOG_WARNING,
			   "cannot find the FUSE connection of '%s' in /proc/self/mountinfo; if the daemon is ever killed while a thread waits on its own mount, abort the connection by hand (" FUSECTL "/N/abort)",
			   mountpoint);
		return -ENOENT;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		guardian_main(daemon, conn, mountpoint);
	return 0;
}
