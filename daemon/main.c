// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * main.c - mmapfs: mount, serve, and on the way out bring every dirty page
 * (the kernel's and ours) to the backing files before exiting.
 *
 * The order of main() and the two threads are described in daemon.h.  The
 * exit status is 0 only if the session ended normally (umount or a signal)
 * and all cached data reached the backing files; bad input exits 1 with
 * one line and nothing mounted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"

struct daemon {
	struct daemon_config cfg;
	struct fs *fs;
	struct fuse_session *se;
	struct pc_cache *cache;
	pthread_t main_thread;

	pthread_t sig_thread;
	bool sig_running;
	pthread_t flush_thread;
	bool flush_running;
	struct daemon_stats_server *stats;	/* NULL: not serving */

	dev_t backing_dev;		/* the backing directory we mounted */
	ino_t backing_ino;
	bool backing_moved_logged;	/* flush thread only */

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* wakes the flush thread */
	bool flush_stop;		/* lock */

	_Atomic bool stopping;		/* the session loop returned */
	_Atomic int caught;		/* the signal that ended us, or 0 */
};

/* ---- syncing the mount -------------------------------------------------- */

/* ---- the mapped-flush thread -------------------------------------------- */

/*
 * The backing directory is served through the descriptor opened at mount
 * time, so a directory renamed, replaced or deleted behind our back keeps
 * being served (as a process's working directory would be) - and nothing
 * else tells the operator.  Checked once a pass: log it once.
 */
static void backing_check(struct daemon *d)
{
	struct stat st;

	/* Under the mount point, the path would lead through our own mount:
	 * no call on it from our threads (see fs/kflush.c). */
	if (d->backing_moved_logged ||
	    daemon_path_inside(d->cfg.backing_real, d->cfg.mountpoint_real))
		return;
	if (stat(d->cfg.backing_real, &st) == 0 &&
	    st.st_dev == d->backing_dev && st.st_ino == d->backing_ino)
		return;
	d->backing_moved_logged = true;
	daemon_log(LOG_WARNING,
		   "the backing directory '%s' was moved, replaced or deleted while mounted: '%s' keeps serving the directory it mounted, wherever it is now; unmount and mount again to serve what is at '%s' now",
		   d->cfg.backing_real, d->cfg.mountpoint_real,
		   d->cfg.backing_real);
}

/* Period of the flush thread when mapped_flush_ms is off: only the check. */
#define BACKING_CHECK_MS	1000

static void *flush_main(void *arg)
{
	struct daemon *d = arg;
	unsigned int ms = d->cfg.mapped_flush_ms ? d->cfg.mapped_flush_ms
						 : BACKING_CHECK_MS;
	uint64_t last_check = 0, now;
	struct timespec t;
	int r;

	pthread_mutex_lock(&d->lock);
	while (!d->flush_stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += ms / 1000;
		t.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &t);
		if (d->flush_stop)
			break;
		pthread_mutex_unlock(&d->lock);
		if (d->cfg.mapped_flush_ms) {
			r = fs_sync_kernel(d->fs, false);
			if (r)
				daemon_log(LOG_DEBUG,
					   "periodic syncfs of '%s': %s",
					   d->cfg.mountpoint_real,
					   strerror(-r));
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		now = (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
		if (now - last_check >= BACKING_CHECK_MS) {
			last_check = now;
			backing_check(d);
		}
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int flush_start(struct daemon *d)
{
	struct stat st;
	int r;

	if (stat(d->cfg.backing_real, &st))
		return -errno;
	d->backing_dev = st.st_dev;
	d->backing_ino = st.st_ino;
	r = pthread_create(&d->flush_thread, NULL, flush_main, d);
	if (r)
		return -r;
	d->flush_running = true;
	return 0;
}

static void flush_stop(struct daemon *d)
{
	if (!d->flush_running)
		return;
	pthread_mutex_lock(&d->lock);
	d->flush_stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->flush_thread, NULL);
	d->flush_running = false;
}

/* ---- the signal thread -------------------------------------------------- */

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* SIGUSR2 only interrupts the loop thread's wait; nothing to do here. */
static void wake_handler(int sig)
{
	(void)sig;
}

static void *signal_main(void *arg)
{
	struct daemon *d = arg;
	struct timespec pause = { 0, 50 * 1000000L };
	sigset_t set;
	int sig, r;

	signal_set(&set);
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (atomic_load(&d->stopping))
			return NULL;
		if (sig == SIGUSR1) {
			/* from outside: main() sets stopping before its own */
#ifdef PC_FAULT_INJECTION
			daemon_fault_apply(d->cache);	/* test daemon only */
#endif
			daemon_stats_log(d->cache, d->cfg.mountpoint_real);
			continue;
		}
		break;
	}
	atomic_store(&d->caught, sig);
	daemon_log(LOG_INFO, "%s: writing back and unmounting '%s'",
		   strsignal(sig), d->cfg.mountpoint_real);

	/* 1. The kernel's dirty mapped pages, while the workers serve:
	 * fsync() of every file open for writing waits for all of them
	 * (syncfs alone may return before the last WRITE reached us). */
	r = fs_sync_kernel(d->fs, true);
	if (r)
		daemon_log(LOG_WARNING,
			   "syncfs of '%s': %s; pages stored through mappings may still be in the kernel and are written back at unmount",
			   d->cfg.mountpoint_real, strerror(-r));
	/* 2. Ours. */
	r = pc_cache_sync_all(d->cache);
	if (r)
		daemon_log(LOG_ERR,
			   "writing back the cache to '%s' failed: %s; retrying at exit (check free space and the backing filesystem)",
			   d->cfg.backing_real, strerror(-r));
	/* 3. End the session: unmounting aborts the connection, which
	 * wakes the workers. */
	fuse_session_exit(d->se);
	fuse_session_unmount(d->se);
	/* 4. The loop's own thread waits on a semaphore only a worker
	 * posts; interrupt it until the loop has returned. */
	while (!atomic_load(&d->stopping)) {
		pthread_kill(d->main_thread, SIGUSR2);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int signal_start(struct daemon *d)
{
	int r;

	r = pthread_create(&d->sig_thread, NULL, signal_main, d);
	if (r)
		return -r;
	d->sig_running = true;
	return 0;
}

/* Called after the loop returned: let the signal thread finish or quit. */
static void signal_stop(struct daemon *d)
{
	atomic_store(&d->stopping, true);
	if (!d->sig_running)
		return;
	pthread_kill(d->sig_thread, SIGUSR1);
	pthread_join(d->sig_thread, NULL);
	d->sig_running = false;
}

/* ---- set-up ------------------------------------------------------------- */

/* The page cache's warnings go where ours go (syslog when daemonized). */
static void pagecache_log(const char *msg)
{
	daemon_log(LOG_WARNING, "%s", msg);
}

/*
 * With file handles the daemon's descriptors are bounded (open files plus
 * max_path_fds plus the cache's max_fds, both scaled from this limit, so
 * it is raised before they are computed); without them it holds one per
 * inode the kernel knows (O_PATH) and one per cached regular file.  Raise
 * the soft limit to the hard one; as root, raise both to fs.nr_open, since
 * a hard limit of some thousands (a common default) would make a large
 * tree fail with EMFILE in the second case.
 */
static void raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (geteuid() == 0) {
		f = fopen("/proc/sys/fs/nr_open", "re");
		if (f) {
			if (fscanf(f, "%lu", &nr_open) != 1)
				nr_open = 0;
			fclose(f);
		}
		if (nr_open > rl.rlim_max) {
			struct rlimit want = { nr_open, nr_open };

			if (!setrlimit(RLIMIT_NOFILE, &want))
				return;
		}
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		daemon_log(LOG_WARNING,
			   "cannot raise the open-file limit (RLIMIT_NOFILE) to %llu: %s; large trees may fail with EMFILE: raise the hard limit (ulimit -Hn, or LimitNOFILE= in systemd)",
			   (unsigned long long)rl.rlim_max, strerror(errno));
}

/* -o fsname=BACKING (commas and backslashes escaped for -o parsing). */
static int add_mount_opts(struct daemon *d)
{
	const char *p;
	char *opt, *w;

	if (fuse_opt_add_arg(&d->cfg.args, "-odefault_permissions"))
		return -ENOMEM;
	if (d->cfg.fsname_given)
		return 0;
	opt = malloc(strlen("-ofsname=") + 2 * strlen(d->cfg.backing_real) +
		     1);
	if (!opt)
		return -ENOMEM;
	w = stpcpy(opt, "-ofsname=");
	for (p = d->cfg.backing_real; *p; p++) {
		if (*p == ',' || *p == '\\')
			*w++ = '\\';
		*w++ = *p;
	}
	*w = '\0';
	if (fuse_opt_add_arg(&d->cfg.args, opt)) {
		free(opt);
		return -ENOMEM;
	}
	free(opt);
	return 0;
}

static int block_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: the signal must interrupt the loop's wait. */
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	signal_set(&set);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int run_loop(struct daemon *d)
{
	struct fuse_loop_config *lc;
	int r;

	if (d->cfg.singlethread)
		return fuse_session_loop(d->se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_max_threads(lc, d->cfg.max_threads);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	r = fuse_session_loop_mt(d->se, lc);
	fuse_loop_cfg_destroy(lc);
	return r;
}

static void print_version(void)
{
	printf("mmapfs %s\n", PACKAGE_VERSION);
	printf("FUSE library version %s\n", fuse_pkgversion());
	fflush(stdout);		/* fusermount3 --version prints next */
	fuse_lowlevel_version();
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct fs_config fc;
	pthread_condattr_t ca;
	char err[1024];
	int r, status = 1;
	bool mounted = false;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d.cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&d.stopping, false);
	atomic_init(&d.caught, 0);
	fuse_set_log_func(daemon_fuse_log);

	if (daemon_parse_args(argc, argv, &d.cfg, err, sizeof(err))) {
		daemon_log(LOG_ERR, "%s", err);
		goto out_cfg;
	}
	if (d.cfg.show_help) {
		daemon_print_help(stdout, argv[0]);
		/*
		 * Not fuse_cmdline_help(): it advertises clone_fd,
		 * max_idle_threads and a max_threads default of 10, none of
		 * which is how the daemon runs its loop (run_loop()).
		 */
		printf("General options:\n"
		       "    -h   --help            print this help\n"
		       "    -V   --version         print the version\n"
		       "    -d   -o debug          log every request (implies -f)\n"
		       "    -f                     stay in the foreground, log to stderr\n"
		       "    -s                     serve with one thread\n"
		       "\nFUSE mount options:\n");
		fflush(stdout);
		fuse_lowlevel_help();
		status = 0;
		goto out_cfg;
	}
	if (d.cfg.show_version) {
		print_version();
		status = 0;
		goto out_cfg;
	}
	daemon_log_setup(false, d.cfg.loglevel);
	if (daemon_check_paths(&d.cfg, err, sizeof(err))) {
		daemon_log(LOG_ERR, "%s", err);
		goto out_cfg;
	}
	raise_nofile();

	fc = (struct fs_config){
		.backing_dir = d.cfg.backing_real,
		.mountpoint = d.cfg.mountpoint_real,
		.attr_timeout = d.cfg.attr_timeout,
		.entry_timeout = d.cfg.entry_timeout,
		.max_threads = d.cfg.singlethread ? 1 : d.cfg.max_threads,
		.revalidate_ms = d.cfg.revalidate_ms,
		.max_path_fds = d.cfg.max_path_fds,
		.no_revalidate = d.cfg.no_revalidate,
		.lock_coherence = d.cfg.lock_coherence,
		.local_locks = d.cfg.local_locks,
		.debug = d.cfg.debug,
	};
	if (fs_create(&fc, &d.fs))
		goto out_cfg;
	if (add_mount_opts(&d)) {
		daemon_log(LOG_ERR,
			   "out of memory while building the mount options; nothing was mounted");
		goto out_fs;
	}
	d.se = fuse_session_new(&d.cfg.args, &fs_ops, sizeof(fs_ops), d.fs);
	if (!d.se) {
		if (!daemon_log_saw_unknown_option())
			daemon_log(LOG_ERR,
				   "cannot create the FUSE session (see above); nothing was mounted");
		goto out_fs;
	}
	r = block_signals();
	if (r) {
		daemon_log(LOG_ERR,
			   "cannot block signals: %s; nothing was mounted",
			   strerror(-r));
		goto out_session;
	}
	if (fuse_session_mount(d.se, d.cfg.mountpoint_real)) {
		daemon_log(LOG_ERR,
			   "cannot mount on '%s' (see above); check the mount point and /dev/fuse",
			   d.cfg.mountpoint_real);
		goto out_session;
	}
	mounted = true;
	if (fuse_daemonize(d.cfg.foreground)) {
		daemon_log(LOG_ERR,
			   "cannot go to the background (see above); '%s' is unmounted again: run with -f to stay in the foreground",
			   d.cfg.mountpoint_real);
		goto out_unmount;
	}
	if (!d.cfg.foreground)
		daemon_log_setup(true, d.cfg.loglevel);
	/* Best effort: it only matters if we are ever killed. */
	r = daemon_guardian_start(d.cfg.mountpoint_real);
	if (r && r != -ENOENT)
		daemon_log(LOG_WARNING,
			   "cannot start the guardian process: %s; if the daemon is ever killed while a thread waits on its own mount, abort the connection by hand (/sys/fs/fuse/connections/N/abort)",
			   strerror(-r));
	/* From here on threads may exist: no more fork. */
	d.main_thread = pthread_self();

	d.cfg.pc.log = pagecache_log;
	r = pc_cache_create(&d.cfg.pc, &d.cache);
	if (r) {
		daemon_log(LOG_ERR,
			   "cannot create the page cache (cache_size=%zu bytes): %s; '%s' is unmounted again: lower -o cache_size or free memory",
			   d.cfg.pc.cache_size, strerror(-r),
			   d.cfg.mountpoint_real);
		goto out_unmount;
	}
	if (fs_start(d.fs, d.cache, d.se))
		goto out_cache;
	r = signal_start(&d);
	if (!r)
		r = flush_start(&d);
	if (r) {
		daemon_log(LOG_ERR,
			   "cannot start a thread: %s; '%s' is unmounted again: check memory and the process limit (ulimit -u)",
			   strerror(-r), d.cfg.mountpoint_real);
		/* Nothing is served yet: just take everything down. */
		fuse_session_exit(d.se);
		signal_stop(&d);
		goto out_fs_stop;
	}
	r = daemon_stats_start(d.cache, d.cfg.mountpoint_real, &d.stats);
	if (r)
		daemon_log(LOG_WARNING,
			   "cannot serve statistics for '%s': %s; mmapfs-stat will not answer (SIGUSR1 still logs them)",
			   d.cfg.mountpoint_real, strerror(-r));
	daemon_log(LOG_INFO, "serving '%s' on '%s' (cache %zu bytes, %s)",
		   d.cfg.backing_real, d.cfg.mountpoint_real,
		   d.cfg.pc.cache_size,
		   pc_cache_uses_uring(d.cache) ? "io_uring" : "pwritev");

	r = run_loop(&d);

	signal_stop(&d);
	flush_stop(&d);
	if (fs_init_refused(d.fs))
		goto out_fs_stop;
	if (r && !atomic_load(&d.caught)) {
		daemon_log(LOG_ERR,
			   "the FUSE session of '%s' ended with an error: %s; the cache is written back now, see the kernel log (dmesg) for the cause",
			   d.cfg.mountpoint_real, strerror(r < 0 ? -r : r));
		goto out_fs_stop;
	}
	status = 0;

out_fs_stop:
	daemon_stats_stop(d.stats);
	fs_stop(d.fs);
	/* Retries what failed in the signal thread: this result decides. */
	r = pc_cache_sync_all(d.cache);
	if (r) {
		daemon_log(LOG_ERR,
			   "writing back the cache failed: %s; data may be missing from '%s': free space or fix the backing filesystem, then restore the newest files from their writers",
			   strerror(-r), d.cfg.backing_real);
		status = 1;
	}
out_cache:
	r = pc_cache_destroy(d.cache);
	if (r) {
		daemon_log(LOG_ERR,
			   "writing back the cache failed: %s; data may be missing from '%s'",
			   strerror(-r), d.cfg.backing_real);
		status = 1;
	}
out_unmount:
	if (mounted)
		fuse_session_unmount(d.se);
out_session:
	fuse_session_destroy(d.se);
out_fs:
	fs_destroy(d.fs);
out_cfg:
	daemon_config_free(&d.cfg);
	pthread_cond_destroy(&d.cond);
	pthread_mutex_destroy(&d.lock);
	return status;
}
