// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * notify.c - the notifier thread: invalidations sent to the kernel.
 *
 * fuse_lowlevel_notify_inval_inode() (and _store(), used by watch.c to make
 * an outside growth visible to mappers) is a synchronous write on /dev/fuse in
 * which the kernel locks the pages it drops - waiting for a page a request
 * in flight holds locked - and launders dirty ones with a WRITE that some
 * worker must answer (FUSE-KERNEL.md §3).  Handlers therefore never call it
 * themselves: they queue a request here and wait a bounded time for it
 * (fs_notify_inval), or not at all.  A request that outlives its waiter is
 * still carried out; it belongs to whichever side lets go last.
 *
 * One thread, one FIFO; an invalidation nobody waits for is not queued
 * twice.  Started by fs_start, stopped by fs_stop after the session ended
 * (the kernel then fails notifications at once).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/fs_i.h"

struct fs_notify_req {
	struct fs_notify_req *next;	/* fs->notify_lock */
	fuse_ino_t ino;
	off_t off;
	off_t len;
	void *data;			/* a store of len bytes (owned), or
					 * NULL: an invalidation */
	char *name;			/* an entry of directory ino to
					 * expire (owned), or NULL */
	int refs;			/* fs->notify_lock: queue + waiter */
	bool done;			/* fs->notify_lock */
	bool outside;			/* for an outside change: mark the
					 * inode's inval_slot */
};

static void req_put_locked(struct fs_notify_req *r)
{
	if (--r->refs == 0) {
		free(r->data);
		free(r->name);
		free(r);
	}
}

/*
 * Make the kernel look @name up again at its next use.  Expiring keeps the
 * dentry (it may be a mount point) and needs Linux 6.2; older kernels get
 * the dentry dropped instead.
 */
static int entry_expire(struct fs *fs, fuse_ino_t parent, const char *name)
{
	int err = -ENOSYS;

	if (!atomic_load(&fs->expire_unsupported))
		err = fuse_lowlevel_notify_expire_entry(fs->se, parent, name,
							strlen(name),
							FUSE_LL_EXPIRE_ONLY);
	if (err == -ENOSYS || err == -EINVAL) {
		atomic_store(&fs->expire_unsupported, true);
		err = fuse_lowlevel_notify_inval_entry(fs->se, parent, name,
						       strlen(name));
	}
	return err;
}

static void *notify_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_notify_req *r;
	int err;

	pthread_mutex_lock(&fs->notify_lock);
	for (;;) {
		while (!fs->notify_head && !fs->notify_stop)
			pthread_cond_wait(&fs->notify_cond, &fs->notify_lock);
		r = fs->notify_head;
		if (!r)
			break;		/* stopping, and nothing left */
		fs->notify_head = r->next;
		if (!fs->notify_head)
			fs->notify_tail = NULL;
		fs->notify_busy = true;
		pthread_mutex_unlock(&fs->notify_lock);

		if (fs->notify_stop) {
			err = -ENOTCONN;
		} else if (!r->ino) {
			err = 0;	/* a barrier (fs_notify_barrier) */
		} else if (r->name) {
			err = entry_expire(fs, r->ino, r->name);
		} else if (r->data) {
			struct fuse_bufvec bv =
				FUSE_BUFVEC_INIT((size_t)r->len);

			bv.buf[0].mem = r->data;
			err = fuse_lowlevel_notify_store(fs->se, r->ino, r->off,
							 &bv, 0);
		} else {
			unsigned int slot = r->ino % FS_INVAL_SLOTS;

			if (r->outside)
				atomic_fetch_add(&fs->inval_slot[slot].busy, 1);
			err = fuse_lowlevel_notify_inval_inode(fs->se, r->ino,
							       r->off, r->len);
			if (r->outside) {
				atomic_store(&fs->inval_slot[slot].end_ms,
					     fs_now_ms());
				atomic_fetch_sub(&fs->inval_slot[slot].busy, 1);
			}
		}
		/* -ENOENT: the kernel has no such inode cached; fine. */
		if (err && err != -ENOENT)
			fs_debug(fs, "mmapfs: notify_inval_inode %llu: %s\n",
				 (unsigned long long)r->ino, strerror(-err));

		pthread_mutex_lock(&fs->notify_lock);
		fs->notify_busy = false;
		r->done = true;
		pthread_cond_broadcast(&fs->notify_done);
		req_put_locked(r);
	}
	pthread_mutex_unlock(&fs->notify_lock);
	return NULL;
}

bool fs_wait_budget_get(struct fs *fs)
{
	if (atomic_fetch_add(&fs->notify_waiters, 1) < fs->cfg.max_threads / 2)
		return true;
	atomic_fetch_sub(&fs->notify_waiters, 1);
	return false;
}

void fs_wait_budget_put(struct fs *fs)
{
	atomic_fetch_sub(&fs->notify_waiters, 1);
}

int fs_notify_start(struct fs *fs)
{
	int r;

	fs->notify_stop = false;
	r = -pthread_create(&fs->notifier, NULL, notify_main, fs);
	if (!r)
		fs->notify_running = true;
	return r;
}

void fs_notify_stop(struct fs *fs)
{
	if (!fs->notify_running)
		return;
	pthread_mutex_lock(&fs->notify_lock);
	fs->notify_stop = true;
	pthread_cond_signal(&fs->notify_cond);
	pthread_mutex_unlock(&fs->notify_lock);
	pthread_join(fs->notifier, NULL);
	fs->notify_running = false;
}

static bool notify_queue(struct fs *fs, struct fs_notify_req *r,
			 unsigned int wait_ms)
{
	struct timespec t;
	bool done;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += wait_ms / 1000;
	t.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fs->notify_lock);
	if (fs->notify_tail)
		fs->notify_tail->next = r;
	else
		fs->notify_head = r;
	fs->notify_tail = r;
	pthread_cond_signal(&fs->notify_cond);
	while (wait_ms && !r->done &&
	       pthread_cond_timedwait(&fs->notify_done, &fs->notify_lock,
				      &t) != ETIMEDOUT)
		;
	done = r->done;
	req_put_locked(r);
	pthread_mutex_unlock(&fs->notify_lock);
	return done;
}

/*
 * An invalidation nobody waits for that is already queued, not yet started,
 * needs no twin: the kernel will drop the same pages once, after both
 * changes.  Caller holds notify_lock.
 */
static bool inval_queued_locked(struct fs *fs, fuse_ino_t ino, off_t off,
				off_t len)
{
	struct fs_notify_req *q;
	bool found = false;

	/* Only if nothing else for this inode is queued after it (a store
	 * behind it may carry bytes older than the new change). */
	for (q = fs->notify_head; q; q = q->next)
		if (q->ino == ino)
			found = q->off == off && q->len == len && !q->data &&
				!q->name;
	return found;
}

/* An invalidation of [@off, @off + @len) of @ino (0, 0: all); @outside
 * ones are never merged into a queued twin (they mark inval_slot). */
static bool notify_inval(struct fs *fs, fuse_ino_t ino, off_t off, off_t len,
			 unsigned int wait_ms, bool outside)
{
	struct fs_notify_req *r;
	bool dup;

	if (!fs->notify_running)
		return false;
	if (!wait_ms && !outside) {
		pthread_mutex_lock(&fs->notify_lock);
		dup = inval_queued_locked(fs, ino, off, len);
		pthread_mutex_unlock(&fs->notify_lock);
		if (dup)
			return false;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return false;
	r->ino = ino;
	r->off = off;
	r->len = len;
	r->outside = outside;
	r->refs = 2;
	return notify_queue(fs, r, wait_ms);
}

bool fs_notify_inval(struct fs *fs, fuse_ino_t ino, off_t off, off_t len,
		     unsigned int wait_ms)
{
	return notify_inval(fs, ino, off, len, wait_ms, false);
}

bool fs_notify_inval_outside(struct fs *fs, fuse_ino_t ino,
			     unsigned int wait_ms)
{
	return notify_inval(fs, ino, 0, 0, wait_ms, true);
}

bool fs_notify_store(struct fs *fs, fuse_ino_t ino, off_t off, void *data,
		     size_t len, unsigned int wait_ms)
{
	struct fs_notify_req *r;

	if (!fs->notify_running || !(r = calloc(1, sizeof(*r)))) {
		free(data);
		return false;
	}
	r->ino = ino;
	r->off = off;
	r->len = (off_t)len;
	r->data = data;
	r->refs = 2;
	return notify_queue(fs, r, wait_ms);
}

bool fs_notify_entry(struct fs *fs, fuse_ino_t parent, const char *name)
{
	struct fs_notify_req *r;

	if (!fs->notify_running || !(r = calloc(1, sizeof(*r))))
		return false;
	r->name = strdup(name);
	if (!r->name) {
		free(r);
		return false;
	}
	r->ino = parent;
	r->refs = 2;
	return notify_queue(fs, r, 0);
}

bool fs_notify_barrier(struct fs *fs, unsigned int wait_ms)
{
	struct fs_notify_req *r;

	if (!fs->notify_running || !(r = calloc(1, sizeof(*r))))
		return false;
	r->ino = 0;
	r->refs = 2;
	return notify_queue(fs, r, wait_ms);
}

bool fs_notify_pending(struct fs *fs)
{
	bool pending;

	pthread_mutex_lock(&fs->notify_lock);
	pending = fs->notify_head || fs->notify_busy;
	pthread_mutex_unlock(&fs->notify_lock);
	return pending;
}
