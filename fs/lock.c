// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lock.c - POSIX record locks (GETLK, SETLK, SETLKW) and flock() taken
 * through the mount, forwarded to the backing files, so that they exclude
 * programs on another mmapfs mount of the same directory and programs
 * working on the backing files directly.  And the coherence that goes with
 * them: data written under a lock on one mount is seen by the next holder
 * on another mount (docs/semantics.md, "Locks").
 *
 * FORWARDING
 *
 *   Backing locks are open file description (OFD) locks: they belong to a
 *   description, not to our process, so one process can hold many owners'
 *   locks and they conflict with each other as the owners' locks would.
 *
 *   - POSIX locks: the kernel names the owner (lock_owner: one per files
 *     table, i.e. per process unless it shares its table).  Each (inode,
 *     owner) gets its own description of the backing file, opened
 *     read-write (read-only or write-only if that is refused, as the lock
 *     type needs; a later lock needing the other mode then fails with
 *     EBADF).  OFD locks merge and split by range per description, as POSIX
 *     locks do per owner.  The kernel checks the caller's descriptor mode
 *     itself before sending SETLK (EBADF for a write lock on a read-only
 *     descriptor), so we never see such a request.
 *   - close() of any descriptor of the file by the owner releases all its
 *     locks on the file: the kernel sends no unlock for that, only FLUSH
 *     with the lock_owner, where fs_lock_flush_owner unlocks everything and
 *     closes the description (unless a waiter still uses it).
 *   - GETLK asks F_OFD_GETLK on the owner's description (its own locks do
 *     not conflict), or on the open file's descriptor if it has none.  An
 *     OFD lock reports no pid: the caller sees l_pid 0 (the FUSE kernel
 *     turns a pid it cannot map into 0), whoever holds the lock.
 *   - flock: the kernel's owner is the open file (struct file), which is
 *     one FUSE open file: each fs_file gets its own description for flock(2)
 *     (flock and OFD locks do not conflict with each other on Linux, as on
 *     a local filesystem).  It is unlocked and closed at RELEASE.
 *   - No deadlock detection: the kernel does none for OFD locks, so a
 *     cycle of SETLKW waiters across owners waits until interrupted
 *     (EDEADLK is never returned).
 *
 * WAITING (SETLKW, blocking flock)
 *
 *   No FUSE worker ever blocks on a lock: a worker first tries without
 *   blocking; if the lock is held it queues a waiter and returns.  The lock
 *   thread retries each waiter with the non-blocking call, at once after
 *   any unlock through this mount and otherwise on a backoff from 1 ms to
 *   FS_LOCK_RETRY_MAX_MS, and replies when it gets the lock.  An INTERRUPT
 *   (the caller got a signal) wakes it through fuse_req_interrupt_func and
 *   the waiter is answered EINTR.  So any number of waiters leaves the
 *   workers free to serve the unlock that ends the wait; the queue is
 *   capped at FS_LOCK_WAITERS_MAX (beyond: ENOLCK).  The price: no FIFO
 *   fairness against blocked waiters outside (the kernel wakes those at
 *   once), and up to FS_LOCK_RETRY_MAX_MS of latency after an unlock made
 *   elsewhere.
 *
 * COHERENCE
 *
 *   Releasing a lock that was a write lock (unlock, downgrade to a read
 *   lock, close, flock LOCK_UN or LOCK_SH after LOCK_EX): first, for an
 *   explicit unlock or downgrade, the kernel's dirty mapped pages are
 *   pulled - the locked file is fsync()ed through a detached clone of the
 *   mount, which is also syncfs()ed for the other files (only while some
 *   file is open for writing); at close the kernel has done that itself
 *   before FLUSH.  Then fs_watch_lock_release writes and commits every
 *   file of the mount we changed, then the backing lock is released.
 *   Acquiring any lock: once granted, fs_watch_lock_acquire takes over
 *   every outside change of the mount inotify has reported and fstat()s
 *   the locked file; we wait for the notifier to have dropped the kernel's
 *   stale pages before replying.  The scope is the whole mount, not the
 *   locked file, because lock protocols lock one file and write others
 *   (SQLite: the -shm file is locked while the -wal file is written).
 *   An OFD lock taken through the mount (F_OFD_SETLK: its owner is the
 *   open file) is released at that file's RELEASE.
 *
 *   Waiting on fsync/syncfs or the notifier needs other workers to answer
 *   the kernel's requests: at most max_threads / 2 handlers wait so at once
 *   (shared with file.c's waits); beyond it, and with -s, the kernel's
 *   mapped pages are not pulled and the kernel's invalidation is not
 *   awaited (logged once).
 *
 * LOCKS: the owner list of an inode and every owner's refs are protected
 * by inode->lock (a description is opened under it); fs->lock_lock (a
 * leaf) protects the waiter queue and the cached clone of the mount.  No fcntl or flock that can block runs
 * under either, and none of our locks is held across syncfs or a wait.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* Waiters queued at most (each holds a FUSE request, no thread). */
#define FS_LOCK_WAITERS_MAX	4096
/* Longest pause between two tries of a waiter. */
#define FS_LOCK_RETRY_MAX_MS	16
/* A cached clone of the mount is closed after this long unused. */
#define FS_LOCK_TREE_IDLE_MS	50
/* How long a reply waits for the notifier after an acquisition. */
#define FS_LOCK_INVAL_WAIT_MS	5000

struct fs_lock_owner {
	struct fs_lock_owner *next;	/* inode->lock */
	uint64_t owner;			/* the kernel's lock_owner */
	int fd;				/* our description */
	int accmode;			/* its O_ACCMODE */
	unsigned int refs;		/* inode->lock: listed + users */
	bool listed;			/* inode->lock */
	_Atomic bool wrlocked;		/* a write lock granted since the
					 * last release flush */
	/* The open file of its last lock request (compared, never
	 * dereferenced): an OFD lock taken through the mount (F_OFD_SETLK)
	 * has the open file as its owner and ends at its RELEASE. */
	_Atomic(const struct fs_file *) via;
};

struct fs_lock_wait {
	struct fs_lock_wait *next;	/* fs->lock_lock */
	fuse_req_t req;
	struct fs_inode *inode;
	struct fs_lock_owner *o;	/* POSIX: holds a ref */
	struct fs_file *file;		/* flock */
	struct flock fl;		/* POSIX */
	int op;				/* flock: LOCK_SH or LOCK_EX */
	uint64_t due_ms;
	unsigned int delay_ms;
};

/* ---- owners ------------------------------------------------------------- */

static bool mode_ok(int accmode, short type)
{
	if (type == F_RDLCK)
		return accmode != O_WRONLY;
	if (type == F_WRLCK)
		return accmode != O_RDONLY;
	return true;
}

/* Open a description of the backing file whose O_PATH descriptor is
 * @pfd, read-write if possible. */
static int open_backing(int pfd, short type, int *accmode)
{
	char path[FS_PROC_PATH_MAX];
	int fd;

	fs_proc_path(path, pfd);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	*accmode = O_RDWR;
	if (fd == -1 && (errno == EACCES || errno == EROFS ||
			 errno == EPERM || errno == ETXTBSY)) {
		*accmode = type == F_WRLCK ? O_WRONLY : O_RDONLY;
		fd = open(path, *accmode | O_CLOEXEC | O_NOCTTY);
	}
	return fd == -1 ? -errno : fd;
}

/*
 * The owner's entry of @inode with a reference, created (with a
 * description good for @type) if @create.  NULL with *err = 0 if absent.
 */
static struct fs_lock_owner *owner_get(struct fs *fs, struct fs_inode *inode,
				       uint64_t owner, bool create, short type,
				       int *err)
{
	struct fs_lock_owner *o;
	int fd, mode, pfd = -1;

	*err = 0;
	/* pinned before inode->lock, unpinned after (fs_i.h, fd_lock) */
	if (create) {
		pfd = fs_inode_fd_get(fs, inode);
		if (pfd < 0) {
			*err = pfd;
			return NULL;
		}
	}
	pthread_mutex_lock(&inode->lock);
	for (o = inode->lock_owners; o; o = o->next)
		if (o->owner == owner)
			break;
	if (o) {
		o->refs++;
	} else if (create) {
		fd = open_backing(pfd, type, &mode);
		o = fd < 0 ? NULL : calloc(1, sizeof(*o));
		if (!o) {
			*err = fd < 0 ? fd : -ENOMEM;
			if (fd >= 0)
				close(fd);
		} else {
			o->owner = owner;
			o->fd = fd;
			o->accmode = mode;
			o->refs = 2;
			o->listed = true;
			o->next = inode->lock_owners;
			inode->lock_owners = o;
		}
	}
	pthread_mutex_unlock(&inode->lock);
	if (pfd >= 0)
		fs_inode_fd_put(fs, inode);
	return o;
}

static void owner_put(struct fs_inode *inode, struct fs_lock_owner *o)
{
	bool last;

	pthread_mutex_lock(&inode->lock);
	last = --o->refs == 0;
	pthread_mutex_unlock(&inode->lock);
	if (last) {
		close(o->fd);		/* drops whatever it still holds */
		free(o);
	}
}

/*
 * Take @o off the list (its locks are gone; caller holds a reference),
 * unless a waiter still uses it: a lock it is granted later belongs to
 * the owner, as on a local filesystem.
 */
static void owner_unlist(struct fs_inode *inode, struct fs_lock_owner *o)
{
	struct fs_lock_owner **p;

	pthread_mutex_lock(&inode->lock);
	if (o->listed && o->refs <= 2) {
		for (p = &inode->lock_owners; *p; p = &(*p)->next) {
			if (*p == o) {
				*p = o->next;
				break;
			}
		}
		o->listed = false;
		o->refs--;		/* the list's */
	}
	pthread_mutex_unlock(&inode->lock);
}

void fs_lock_inode_free(struct fs_inode *inode)
{
	struct fs_lock_owner *o, *next;

	for (o = inode->lock_owners; o; o = next) {
		next = o->next;
		o->listed = false;
		if (--o->refs == 0) {
			close(o->fd);
			free(o);
		}
	}
	inode->lock_owners = NULL;
}

/* ---- coherence ---------------------------------------------------------- */

/* Handlers waiting for other workers: the budget file.c shares; the
 * first refusal is logged. */
static bool wait_budget_get(struct fs *fs)
{
	if (fs_wait_budget_get(fs))
		return true;
	if (!atomic_exchange(&fs->lock_flush_skip_logged, true))
		fuse_log(FUSE_LOG_WARNING,
			 "mmapfs: %s: lock releases do not pull pages stored through mappings, acquisitions do not wait for the kernel's invalidation (docs/semantics.md, L4)\n",
			 fs->cfg.max_threads < 2 ?
			 "single-threaded (-s)" :
			 "more than max_threads / 2 handlers waiting at once");
	return false;
}

/*
 * Pull the kernel's dirty mapped pages to us.  syncfs() alone was seen to
 * return, about once in ten, before the WRITE of a page stored just before
 * had reached us; fsync() waits for those.  So the locked file is fsync()ed
 * through the mount (opened by its FUSE file handle: OPEN, FSYNC, FLUSH and
 * RELEASE come back to us), and the rest of the mount gets a syncfs()
 * (best effort).  Only while a file is open for writing (a shared writable
 * mapping holds its open file).  The calls are made by a child
 * (fs_kflush, kflush.c): no thread of ours may wait on its own mount.
 *
 * The child works relative to a directory descriptor on a detached clone
 * of the mount.  Making one and dissolving it costs about 200 us (most of
 * it in close), so one is kept for reuse while lock releases come; the
 * lock thread closes it after FS_LOCK_TREE_IDLE_MS without use: while it is
 * open an unmounted mount stays alive, so an umount ends the session that
 * much later.
 */

/* The kept clone descriptor, lent to one caller at a time; -1 if none
 * (the child then makes one). */
static int tree_get(struct fs *fs, bool *cached)
{
	int dir = -1;

	pthread_mutex_lock(&fs->lock_lock);
	if (fs->lock_tree >= 0 && !fs->lock_tree_busy) {
		fs->lock_tree_busy = true;
		dir = fs->lock_tree;
	}
	pthread_mutex_unlock(&fs->lock_lock);
	*cached = dir >= 0;
	return dir;
}

static void tree_put(struct fs *fs, int dir, bool cached)
{
	pthread_mutex_lock(&fs->lock_lock);
	if (cached) {
		fs->lock_tree_busy = false;
		dir = -1;
	} else if (fs->lock_tree < 0 && fs->lock_running && !fs->lock_stop) {
		fs->lock_tree = dir;
		dir = -1;
	}
	fs->lock_tree_ms = fs_now_ms();
	pthread_cond_signal(&fs->lock_cond);	/* to close it when idle */
	pthread_mutex_unlock(&fs->lock_lock);
	if (dir >= 0)
		close(dir);
}

static void kernel_flush(struct fs *fs, struct fs_inode *inode)
{
	struct fs_fuse_handle fh;
	bool cached;
	size_t n = 0;
	int dir, r;

	if (!fs->cfg.mountpoint || !atomic_load(&fs->open_writers))
		return;
	if (!wait_budget_get(fs))
		return;
	dir = tree_get(fs, &cached);
	if (inode && S_ISREG(inode->type) && atomic_load(&inode->nwriters)) {
		fs_fuse_handle_of(fs, inode, &fh);
		n = 1;
	}
	r = fs_kflush(fs, &dir, &fh, n, true);
	if (r)
		fs_debug(fs, "mmapfs: flushing the kernel's pages at a lock release: %s\n",
			 strerror(-r));
	if (dir >= 0)
		tree_put(fs, dir, cached);
	if (n)
		atomic_fetch_add(&fs->lock_stats.kernel_fsyncs, 1);
	atomic_fetch_add(&fs->lock_stats.kernel_flushes, 1);
	fs_wait_budget_put(fs);
}

/*
 * A write lock on @inode is about to be released: publish what this mount
 * wrote.  @closing: the release comes from FLUSH (close) or RELEASE; the
 * kernel has then written back and waited for the file's dirty pages
 * itself (fuse_flush: write_inode_now and fuse_sync_writes before FLUSH;
 * an unmapped shared mapping is written back at munmap, before RELEASE),
 * so only our cache is left - and no path lookup of the mount point then
 * races with an umount that follows the last close (EBUSY).
 */
static void release_flush(struct fs *fs, struct fs_inode *inode,
			  bool closing)
{
	/* Off unless -o lock_coherence (one mount needs none of it; SQLite
	 * in WAL mode releases a write lock per query), and with
	 * -o no_revalidate nobody else reads the backing files. */
	if (!fs->cfg.lock_coherence || fs->cfg.no_revalidate)
		return;
	atomic_fetch_add(&fs->lock_stats.releases, 1);
	if (!closing)
		kernel_flush(fs, inode);
	if ((fs_watch_lock_release(fs) || fs_notify_pending(fs)) &&
	    wait_budget_get(fs)) {
		fs_notify_barrier(fs, FS_LOCK_INVAL_WAIT_MS);
		fs_wait_budget_put(fs);
	}
}

/* A lock on @inode was granted: see what others wrote before replying.
 * @worker: called by a FUSE worker (the wait is budgeted). */
static void acquire_check(struct fs *fs, struct fs_inode *inode, bool worker)
{
	struct pc_mapping *m = fs_inode_mapping(inode);

	/* A file that others may lock is one that others may write: the
	 * kernel's write-backs of it are diffed byte by byte from now on
	 * (pagecache.h, DIRTY BYTES), before any data under this lock. */
	if (m)
		pc_mapping_set_exact(m);
	if (!fs->cfg.lock_coherence || fs->cfg.no_revalidate)
		return;
	atomic_fetch_add(&fs->lock_stats.acquires, 1);
	if (fs_watch_lock_acquire(fs, inode))
		atomic_fetch_add(&fs->lock_stats.invals, 1);
	/* Also what the watcher queued on its own, just before. */
	else if (!fs_notify_pending(fs))
		return;
	if (worker && !wait_budget_get(fs))
		return;
	fs_notify_barrier(fs, FS_LOCK_INVAL_WAIT_MS);
	if (worker)
		fs_wait_budget_put(fs);
}

/* ---- the lock thread ---------------------------------------------------- */

static void lock_kick(struct fs *fs)
{
	pthread_mutex_lock(&fs->lock_lock);
	if (fs->lock_waits) {
		fs->lock_kick = true;
		pthread_cond_signal(&fs->lock_cond);
	}
	pthread_mutex_unlock(&fs->lock_lock);
}

/* libfuse calls this when the kernel interrupts a queued request; the wait
 * may be answered at any moment, so only the thread is woken. */
static void lock_interrupted(fuse_req_t req, void *data)
{
	(void)req;
	lock_kick(data);
}

static void wait_free(struct fs_lock_wait *w)
{
	if (w->o)
		owner_put(w->inode, w->o);
	free(w);
}

/* Try @w's lock without blocking: 0, -EAGAIN while held, or -errno. */
static int wait_try(struct fs_lock_wait *w)
{
	struct flock fl = w->fl;
	int fd;

	if (w->o)
		return fcntl(w->o->fd, F_OFD_SETLK, &fl) ? -errno : 0;
	fd = atomic_load(&w->file->flock_fd);
	if (flock(fd, w->op | LOCK_NB))
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static void wait_granted(struct fs *fs, struct fs_lock_wait *w)
{
	if (w->o) {
		if (w->fl.l_type == F_WRLCK)
			atomic_store(&w->o->wrlocked, true);
	} else if (w->op == LOCK_EX) {
		atomic_store(&w->file->flock_ex, true);
	}
	acquire_check(fs, w->inode, false);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void *lock_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_lock_wait *due, *w, *next, *keep;
	uint64_t now, next_ms;
	struct timespec t;
	int r;

	pthread_mutex_lock(&fs->lock_lock);
	while (!fs->lock_stop) {
		now = now_ms();
		next_ms = now + 1000;
		if (fs->lock_tree >= 0 && !fs->lock_tree_busy) {
			uint64_t idle = fs_now_ms() - fs->lock_tree_ms;

			if (idle >= FS_LOCK_TREE_IDLE_MS) {
				int dir = fs->lock_tree;

				fs->lock_tree = -1;
				pthread_mutex_unlock(&fs->lock_lock);
				close(dir);
				pthread_mutex_lock(&fs->lock_lock);
				continue;
			}
			if (now + FS_LOCK_TREE_IDLE_MS - idle < next_ms)
				next_ms = now + FS_LOCK_TREE_IDLE_MS - idle;
		}
		due = keep = NULL;
		for (w = fs->lock_waits; w; w = next) {
			next = w->next;
			if (fs->lock_kick || w->due_ms <= now) {
				w->next = due;
				due = w;
			} else {
				if (w->due_ms < next_ms)
					next_ms = w->due_ms;
				w->next = keep;
				keep = w;
			}
		}
		fs->lock_waits = keep;
		fs->lock_kick = false;
		if (!due) {
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += (long)(next_ms - now) * 1000000L;
			t.tv_sec += t.tv_nsec / 1000000000L;
			t.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&fs->lock_cond, &fs->lock_lock,
					       &t);
			continue;
		}
		pthread_mutex_unlock(&fs->lock_lock);

		for (w = due; w; w = next) {
			next = w->next;
			if (fuse_req_interrupted(w->req)) {
				r = -EINTR;
			} else {
				r = wait_try(w);
				if (!r)
					wait_granted(fs, w);
			}
			if (r == -EAGAIN) {
				w->delay_ms = w->delay_ms * 2;
				if (w->delay_ms > FS_LOCK_RETRY_MAX_MS)
					w->delay_ms = FS_LOCK_RETRY_MAX_MS;
				w->due_ms = now_ms() + w->delay_ms;
				pthread_mutex_lock(&fs->lock_lock);
				w->next = fs->lock_waits;
				fs->lock_waits = w;
				pthread_mutex_unlock(&fs->lock_lock);
				continue;
			}
			pthread_mutex_lock(&fs->lock_lock);
			fs->nlock_waits--;
			pthread_mutex_unlock(&fs->lock_lock);
			fuse_reply_err(w->req, -r);
			wait_free(w);
		}
		pthread_mutex_lock(&fs->lock_lock);
	}
	/* The session is over: nobody will unlock for them. */
	if (fs->lock_tree >= 0 && !fs->lock_tree_busy) {
		close(fs->lock_tree);
		fs->lock_tree = -1;
	}
	due = fs->lock_waits;
	fs->lock_waits = NULL;
	fs->nlock_waits = 0;
	pthread_mutex_unlock(&fs->lock_lock);
	for (w = due; w; w = next) {
		next = w->next;
		fuse_reply_err(w->req, EINTR);
		wait_free(w);
	}
	return NULL;
}

int fs_lock_start(struct fs *fs)
{
	int r;

	fs->lock_stop = false;
	r = -pthread_create(&fs->locker, NULL, lock_main, fs);
	if (!r)
		fs->lock_running = true;
	return r;
}

void fs_lock_stop(struct fs *fs)
{
	if (!fs->lock_running)
		return;
	pthread_mutex_lock(&fs->lock_lock);
	fs->lock_stop = true;
	pthread_cond_signal(&fs->lock_cond);
	pthread_mutex_unlock(&fs->lock_lock);
	pthread_join(fs->locker, NULL);
	fs->lock_running = false;
	fuse_log(FUSE_LOG_INFO,
		 "mmapfs: locks: %llu getlk, %llu setlk, %llu flock, %llu waited, %llu release flushes (%llu fsync, %llu syncfs), %llu acquisitions (%llu with invalidations)\n",
		 (unsigned long long)atomic_load(&fs->lock_stats.getlk),
		 (unsigned long long)atomic_load(&fs->lock_stats.setlk),
		 (unsigned long long)atomic_load(&fs->lock_stats.flock),
		 (unsigned long long)atomic_load(&fs->lock_stats.waits),
		 (unsigned long long)atomic_load(&fs->lock_stats.releases),
		 (unsigned long long)atomic_load(&fs->lock_stats.kernel_fsyncs),
		 (unsigned long long)atomic_load(&fs->lock_stats.kernel_flushes),
		 (unsigned long long)atomic_load(&fs->lock_stats.acquires),
		 (unsigned long long)atomic_load(&fs->lock_stats.invals));
}

/* Queue @w (the lock is held elsewhere); the lock thread answers it. */
static void wait_queue(struct fs *fs, struct fs_lock_wait *w)
{
	bool full;

	w->delay_ms = 1;
	w->due_ms = now_ms() + 1;
	pthread_mutex_lock(&fs->lock_lock);
	full = !fs->lock_running || fs->lock_stop ||
	       fs->nlock_waits >= FS_LOCK_WAITERS_MAX;
	if (!full) {
		fs->nlock_waits++;
		w->next = fs->lock_waits;
		fs->lock_waits = w;
		pthread_cond_signal(&fs->lock_cond);
	}
	pthread_mutex_unlock(&fs->lock_lock);
	if (full) {
		fuse_reply_err(w->req, ENOLCK);
		wait_free(w);
		return;
	}
	atomic_fetch_add(&fs->lock_stats.waits, 1);
	/* Calls lock_interrupted at once if already interrupted. */
	fuse_req_interrupt_func(w->req, lock_interrupted, fs);
}

/* ---- POSIX locks -------------------------------------------------------- */

static bool whole_file(const struct flock *fl)
{
	return fl->l_start == 0 && fl->l_len == 0;
}

void fs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct flock *lock)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = fs_inode_of(fs, ino);
	struct fs_file *file = fs_file_of(fi);
	struct fs_lock_owner *o;
	struct flock fl = *lock;
	int err, fd;

	atomic_fetch_add(&fs->lock_stats.getlk, 1);
	o = owner_get(fs, inode, fi->lock_owner, false, 0, &err);
	fd = o ? o->fd : file->fd;
	fl.l_whence = SEEK_SET;
	fl.l_pid = 0;
	err = fcntl(fd, F_OFD_GETLK, &fl) ? -errno : 0;
	if (o)
		owner_put(inode, o);
	if (err)
		return fs_reply_err(req, err);
	/* An OFD lock has no pid (-1); the kernel would turn it into 0. */
	fl.l_pid = 0;
	fuse_reply_lock(req, &fl);
}

void fs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct flock *lock, int sleep)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = fs_inode_of(fs, ino);
	struct fs_lock_owner *o;
	struct fs_lock_wait *w;
	struct flock fl = *lock;
	int err;

	atomic_fetch_add(&fs->lock_stats.setlk, 1);
	fl.l_whence = SEEK_SET;
	fl.l_pid = 0;
	if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK &&
	    fl.l_type != F_UNLCK)
		return fs_reply_err(req, -EINVAL);
	o = owner_get(fs, inode, fi->lock_owner, fl.l_type != F_UNLCK, fl.l_type,
		      &err);
	if (!o)
		return fs_reply_err(req, err);	/* unlock of nothing: 0 */
	if (!mode_ok(o->accmode, fl.l_type)) {
		owner_put(inode, o);
		return fs_reply_err(req, -EBADF);
	}
	atomic_store(&o->via, fs_file_of(fi));

	if (fl.l_type != F_WRLCK && atomic_load(&o->wrlocked)) {
		/* unlock or downgrade of what may be a write lock */
		release_flush(fs, inode, false);
		if (fl.l_type == F_UNLCK && whole_file(&fl))
			atomic_store(&o->wrlocked, false);
	}
	err = fcntl(o->fd, F_OFD_SETLK, &fl) ? -errno : 0;
	if (err == -EACCES)
		err = -EAGAIN;
	if (fl.l_type == F_UNLCK) {
		owner_put(inode, o);
		fs_reply_err(req, err);
		if (!err)
			lock_kick(fs);
		return;
	}
	if (!err) {
		if (fl.l_type == F_WRLCK)
			atomic_store(&o->wrlocked, true);
		acquire_check(fs, inode, true);
		owner_put(inode, o);
		return fs_reply_err(req, 0);
	}
	if (err != -EAGAIN || !sleep) {
		owner_put(inode, o);
		return fs_reply_err(req, err);
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		owner_put(inode, o);
		return fs_reply_err(req, -ENOLCK);
	}
	w->req = req;
	w->inode = inode;
	w->o = o;			/* the wait's reference */
	w->fl = fl;
	wait_queue(fs, w);
}

void fs_lock_flush_owner(struct fs *fs, struct fs_inode *inode,
			 uint64_t owner)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	struct fs_lock_owner *o;
	int err;

	o = owner_get(fs, inode, owner, false, 0, &err);
	if (!o)
		return;
	if (atomic_exchange(&o->wrlocked, false))
		release_flush(fs, inode, true);		/* FLUSH */
	if (fcntl(o->fd, F_OFD_SETLK, &fl))
		fs_debug(fs, "mmapfs: unlock at close: %s\n", strerror(errno));
	owner_unlist(inode, o);
	owner_put(inode, o);
	lock_kick(fs);
}

/* ---- flock -------------------------------------------------------------- */

/* The open file's flock description, opened at its first flock. */
static int flock_fd_get(struct fs *fs, struct fs_file *file)
{
	struct fs_inode *inode = file->inode;
	int fd, mode, pfd;

	fd = atomic_load(&file->flock_fd);
	if (fd >= 0)
		return fd;
	/* pinned before inode->lock, unpinned after (fs_i.h, fd_lock) */
	pfd = fs_inode_fd_get(fs, inode);
	if (pfd < 0)
		return pfd;
	pthread_mutex_lock(&inode->lock);
	fd = atomic_load(&file->flock_fd);
	if (fd < 0) {
		fd = open_backing(pfd, F_RDLCK, &mode);
		if (fd >= 0)
			atomic_store(&file->flock_fd, fd);
	}
	pthread_mutex_unlock(&inode->lock);
	fs_inode_fd_put(fs, inode);
	return fd;
}

void fs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      int op)
{
	struct fs *fs = fs_of(req);
	struct fs_file *file = fs_file_of(fi);
	bool nb = op & LOCK_NB;
	struct fs_lock_wait *w;
	int fd, err;

	(void)ino;
	atomic_fetch_add(&fs->lock_stats.flock, 1);
	op &= ~LOCK_NB;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return fs_reply_err(req, -EINVAL);
	if (op == LOCK_UN) {
		fd = atomic_load(&file->flock_fd);
		if (fd < 0)
			return fs_reply_err(req, 0);
		if (atomic_exchange(&file->flock_ex, false))
			release_flush(fs, file->inode, false);
		err = flock(fd, LOCK_UN) ? -errno : 0;
		fs_reply_err(req, err);
		lock_kick(fs);
		return;
	}
	fd = flock_fd_get(fs, file);
	if (fd < 0)
		return fs_reply_err(req, fd);
	if (op == LOCK_SH && atomic_exchange(&file->flock_ex, false))
		release_flush(fs, file->inode, false);	/* a downgrade */
	err = flock(fd, op | LOCK_NB) ? -errno : 0;
	if (err == -EWOULDBLOCK)
		err = -EAGAIN;
	if (!err) {
		if (op == LOCK_EX)
			atomic_store(&file->flock_ex, true);
		acquire_check(fs, file->inode, true);
		return fs_reply_err(req, 0);
	}
	if (err != -EAGAIN || nb)
		return fs_reply_err(req, err);
	w = calloc(1, sizeof(*w));
	if (!w)
		return fs_reply_err(req, -ENOLCK);
	w->req = req;
	w->inode = file->inode;
	w->file = file;
	w->op = op;
	wait_queue(fs, w);
}

/*
 * Owners whose last lock request came through @file and that are still
 * listed: OFD locks taken through the mount (a process's POSIX locks were
 * released by the FLUSH of each of its closes before).  Unlock and drop
 * them.
 */
static void release_ofd_owners(struct fs *fs, struct fs_file *file)
{
	struct fs_inode *inode = file->inode;
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	struct fs_lock_owner *o;

	for (;;) {
		pthread_mutex_lock(&inode->lock);
		for (o = inode->lock_owners; o; o = o->next)
			if (atomic_load(&o->via) == file)
				break;
		if (o) {
			o->refs++;
			atomic_store(&o->via, NULL);
		}
		pthread_mutex_unlock(&inode->lock);
		if (!o)
			return;
		if (atomic_exchange(&o->wrlocked, false))
			release_flush(fs, inode, true);
		if (fcntl(o->fd, F_OFD_SETLK, &fl))
			fs_debug(fs, "mmapfs: unlock at release: %s\n",
				 strerror(errno));
		owner_unlist(inode, o);
		owner_put(inode, o);
		lock_kick(fs);
	}
}

void fs_lock_release_file(struct fs *fs, struct fs_file *file)
{
	int fd;

	release_ofd_owners(fs, file);
	fd = atomic_exchange(&file->flock_fd, -1);
	if (fd < 0)
		return;
	if (atomic_exchange(&file->flock_ex, false))
		release_flush(fs, file->inode, true);
	close(fd);			/* drops the flock */
	lock_kick(fs);
}
