// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * watch.c - the watcher thread: noticing changes made to backing files
 * behind the mount's back (SEMANTICS A6, and C3's outside case).
 *
 * Every regular file that has a mapping (it was opened or truncated
 * through the mount, so our cache and the kernel's may hold its pages) has
 * one struct fs_watch.  Two detectors feed one check:
 *
 *  - inotify, one watch per backing inode (added through
 *    /proc/self/fd/<O_PATH fd> of the inode, pinned for the call, so it
 *    follows the inode, not a name): sees
 *    write(), truncation and attribute changes at once.  It does not see
 *    stores made through another process's mapping, and watches are a
 *    limited resource: when inotify_add_watch fails with ENOSPC the file is
 *    only polled (logged once).
 *  - polling: fstat() of the backing file, adaptively - every revalidate_ms
 *    while the file is active (open through the mount, or a request on it
 *    or a change seen within FS_WATCH_ACTIVE_MS), then at intervals
 *    doubling up to FS_WATCH_IDLE_MS (a file closed but still cached, and
 *    perhaps still mapped: the kernel does not tell us about mappings).  This is the backstop for stores through outside
 *    mappings (the backing kernel moves mtime/ctime at the first store into
 *    a clean page) and for changes within one timestamp tick (ctime is
 *    compared in ns together with size and inode identity).
 *
 * A check compares the fstat() with the snapshot taken after the last
 * change we accounted for.  Our own write-back changes the backing file
 * too: pc_backing_mods() tells whether the pagecache has changed it since
 * the snapshot (or is changing it now).  A difference with no change of
 * ours in between is somebody else's: then, in this order (state published
 * in our cache before the kernel is told, FUSE-KERNEL.md §3.5):
 *
 *   0. if the kernel may hold pages dirtied through a mapping, it is told
 *      to drop its pages first (inval_inode, waited for up to
 *      FS_WATCH_PULL_WAIT_MS): it writes the dirty ones back to us before
 *      dropping them, while our cached copy of each page - the copy the
 *      kernel's page started from - is still there, so that only the
 *      bytes the program stored become dirty (pagecache.h, DIRTY BYTES)
 *      and the outside change to the other bytes survives.  A mapper may
 *      store again between steps 0 and 2: step 2 therefore keeps a copy
 *      of each page it drops as the diff base (ghost) until step 3 has
 *      made the kernel drop its pages (waited for with a barrier; on the
 *      watcher thread only - a lock acquisition's reaction does not wait
 *      and keeps no copies);
 *   1. our dirty pages are written back and everything committed - after
 *      those of every other file written before it (write_back_earlier)
 *      (pc_write_and_wait): ours overlap the outside change byte by byte
 *      and the last writer wins; committed pages become clean, so that
 *   2. pc_invalidate_range(0, end) drops every clean page and re-reads the
 *      backing size (an outside shrink is followed unless dirty data of
 *      ours lies past it; growth is taken over), and pc_mtime_reset()
 *      makes the backing file's times the truth again;
 *   3. the notifier thread sends inval_inode(ino, 0, 0): the kernel drops
 *      its pages and attributes; a mapper refaults and READs the new data,
 *      and a READ at or past the new end comes back short, so the kernel's
 *      i_size shrinks and pages past it raise SIGBUS;
 *   4. if the file grew, the notifier stores the new last page into the
 *      kernel (notify_store), which raises its i_size: mappers can touch
 *      the new pages at once, without waiting for a stat() to refresh it.
 *
 * Our metadata changes move ctime (and SETATTR the times): the handlers
 * bracket them with fs_meta_op_begin/_end, per inode where they know it
 * (SETATTR, xattrs, LINK), globally for UNLINK and RENAME; a check decides
 * nothing while one runs, and takes a size-preserving change after one for
 * ours.
 *
 * An outside change that lands while our own write-back of the same file
 * (or our metadata change) is in progress, and leaves the size where ours
 * put it, is taken for ours: it is noticed with the next change
 * (docs/semantics.md, A6).
 *
 * DIRECTORIES: every directory the kernel looks names up in gets an
 * inotify watch too (fs_watch_dir from LOOKUP).  A name created, removed
 * or renamed there from outside is expired in the kernel at once
 * (notify_expire_entry through the notifier), so the next use looks it up
 * again instead of trusting the old answer for entry_timeout.  Names we
 * change ourselves are recorded just before (fs_watch_own_name) and their
 * events skipped; should that small ring overflow, the cost is only an
 * extra LOOKUP.
 *
 * LOCKS: fs->watch_lock is a leaf lock (no other lock is taken under it,
 * and no syscall but inotify_rm_watch runs under it):
 * the list, each watch's inode pointer, inotify descriptor, refs and due
 * flag, and every inode->watch.  A check runs without any lock, holding a
 * reference on the watch, which holds a reference on the mapping, so an
 * inode freed meanwhile only detaches it.  A watch holds no descriptor of
 * its own: a file's check fstat()s the mapping's descriptor
 * (pc_mapping_fstat, which pagecache/ keeps valid or reopens by handle),
 * and a directory only needs one while its inotify watch is added.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* A file is active this long after a request on it or a change seen. */
#define FS_WATCH_ACTIVE_MS	10000
/* Idle files are still checked at least this often. */
#define FS_WATCH_IDLE_MS	1000
/* A file nobody has open whose cached descriptor the cache closed
 * (max_file_fds) is fstat()ed at most this often: each check would reopen
 * it by handle, and with a large tree that cost would be paid for every
 * such file every FS_WATCH_IDLE_MS.  Opening it through the mount makes it
 * polled again as usual within FS_WATCH_IDLE_MS, before which the kernel's
 * copy may be as old as that. */
#define FS_WATCH_CLOSED_MS	10000
/* Polls due this soon are made now, and walks come at most this often
 * unless inotify wakes us: each walk visits every watch, so with tens of
 * thousands of cached files waking for each due time apart would cost
 * more than the checks. */
#define FS_WATCH_SLACK_MS	20
/* A file up to this size whose change we took for ours is compared with
 * our cache once clean (verify_own). */
#define FS_WATCH_VERIFY_MAX	(256 << 10)
/* A locked file up to this size is compared with our cache at each
 * acquisition (lock_check). */
#define FS_LOCK_VERIFY_MAX	(1 << 20)
/* Longest wait for the kernel to write back its dirty pages before we
 * take an outside change over (step 0). */
#define FS_WATCH_PULL_WAIT_MS	2000
/* After our own change was seen in flight, look again this soon. */
#define FS_WATCH_RETRY_MS	10
/* At most one reaction to outside changes per file this often: a program
 * writing a file outside in small pieces must not make the kernel drop and
 * re-read the whole file for each. */
#define FS_WATCH_SPACING_MS	5

#define FS_WATCH_MASK	(IN_MODIFY | IN_ATTRIB)
#define FS_WATCH_DIR_MASK \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
/* An event for a name we changed ourselves comes within this. */
#define FS_OWN_NAME_MS		2000

#define FS_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Listed watches hashed by inotify wd: an event finds its watches without
 * walking the whole list (tens of thousands of cached files). */
#define FS_WD_BUCKETS		4096

struct fs_watch {
	struct fs_watch *prev, *next;	/* fs->watch_lock: the list */
	struct fs_watch *wd_next;	/* watch_lock: its wd bucket */
	struct fs_watch *heap_next;	/* watcher only: collect_due's list */
	struct fs_inode *inode;		/* watch_lock; NULL once freed */
	int wd;				/* watch_lock: inotify, or -1 */
	int refs;			/* watch_lock: list + checks */
	bool due;			/* watch_lock: inotify saw an event */
	size_t heap_idx;		/* watch_lock: 1 + its place in
					 * fs->watch_heap, 0 while out */
	uint64_t heap_at;		/* watch_lock: its key there */
	bool open;			/* watch_lock: open through the mount */
	bool dir;			/* constant: a directory's names */
	uint64_t active_ms;		/* watch_lock: copy of inode's */

	/* constant */
	fuse_ino_t ino;
	struct pc_mapping *m;		/* our reference; NULL for a dir */

	/* the watcher thread's only (set before the watch is listed) */
	bool have_snap;
	struct stat snap;		/* backing stat after the last
					 * change accounted for */
	uint64_t mods;			/* pc_backing_mods() of snap */
	uint64_t meta;			/* fs->meta_ops of snap */
	uint64_t imeta;			/* inode->meta_ops of snap */
	uint64_t next_ms;		/* next poll */
	unsigned int interval_ms;	/* current poll interval */
	uint64_t change_ms;		/* last outside change seen */
	uint64_t checked_ms;		/* last fstat */
	bool was_due;			/* inotify flagged this check */
	bool verify;			/* compare the cache with the file
					 * once it is clean (verify_own) */

	/*
	 * Lock coherence (fs_watch_lock_*): check_lock serialises checks of
	 * this watch (the watcher's and a lock operation's) and protects
	 * everything above from have_snap and the lock baseline below: the
	 * stat right after our last release flush or reaction, i.e. the
	 * backing state our cache is known to hold.  Unlike snap it never
	 * absorbs a change on a guess that it was ours.
	 */
	pthread_mutex_t check_lock;
	bool have_lsnap;
	struct stat lsnap;
	uint64_t lmods;			/* pc_backing_mods() of lsnap */
	bool lock_dirty;		/* watch_lock: inotify saw an event
					 * since the last lock check */
};

uint64_t fs_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static bool stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	       a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * fstat the backing file between two samples of our own changes.  Returns
 * true if the stat shows no change of ours in progress (then *mods is
 * their count); false if one ran meanwhile or the fstat failed.
 */
static bool snap_take(struct fs_watch *w, struct stat *st, uint64_t *mods,
		      off_t *our_size)
{
	uint64_t s1, s2;
	bool busy1, busy2;

	s1 = pc_backing_mods(w->m, &busy1, our_size);
	if (pc_mapping_fstat(w->m, st))
		return false;
	s2 = pc_backing_mods(w->m, &busy2, our_size);
	*mods = s2;
	return s1 == s2 && !busy1 && !busy2;
}

static void watch_free(struct fs_watch *w)
{
	pthread_mutex_destroy(&w->check_lock);
	if (w->m)
		pc_mapping_put(w->m);
	free(w);
}

static struct fs_watch **wd_bucket(struct fs *fs, int wd)
{
	return &fs->wd_buckets[(unsigned int)wd & (FS_WD_BUCKETS - 1)];
}

/* Caller holds watch_lock; @w is being listed (its wd is constant while
 * it is listed: only watch_release_locked clears it, after unlisting). */
static void wd_hash_add(struct fs *fs, struct fs_watch *w)
{
	struct fs_watch **b;

	if (w->wd < 0 || !fs->wd_buckets)
		return;
	b = wd_bucket(fs, w->wd);
	w->wd_next = *b;
	*b = w;
}

/* Caller holds watch_lock; @w is being unlisted. */
static void wd_hash_del(struct fs *fs, struct fs_watch *w)
{
	struct fs_watch **pp;

	if (w->wd < 0 || !fs->wd_buckets)
		return;
	for (pp = wd_bucket(fs, w->wd); *pp; pp = &(*pp)->wd_next) {
		if (*pp == w) {
			*pp = w->wd_next;
			break;
		}
	}
	w->wd_next = NULL;
}

/* Caller holds watch_lock: true if another listed watch shares @wd. */
static bool wd_shared_locked(struct fs *fs, const struct fs_watch *w)
{
	struct fs_watch *p;

	if (fs->wd_buckets) {
		for (p = *wd_bucket(fs, w->wd); p; p = p->wd_next)
			if (p != w && p->wd == w->wd)
				return true;
		return false;
	}
	for (p = fs->watch_list; p; p = p->next)
		if (p != w && p->wd == w->wd)
			return true;
	return false;
}

/* Caller holds watch_lock and dropped the last reference. */
/*
 * THE TIMER HEAP.  Every listed file watch that is not being checked sits
 * in fs->watch_heap, a binary min-heap keyed by heap_at: when it next
 * needs a look (its next poll, or now if inotify flagged it).  The
 * watcher pops what is due instead of walking every watch at each wake-up
 * (with 20,000 cached files the walk was most of its CPU time).  A key
 * may be earlier than needed (the watch is then looked at and put back),
 * never later.  All under watch_lock.
 */
static void heap_place(struct fs *fs, size_t i, struct fs_watch *w)
{
	fs->watch_heap[i] = w;
	w->heap_idx = i + 1;
}

static void heap_up(struct fs *fs, size_t i)
{
	struct fs_watch *w = fs->watch_heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (fs->watch_heap[parent]->heap_at <= w->heap_at)
			break;
		heap_place(fs, i, fs->watch_heap[parent]);
		i = parent;
	}
	heap_place(fs, i, w);
}

static void heap_down(struct fs *fs, size_t i)
{
	struct fs_watch *w = fs->watch_heap[i];
	size_t n = fs->watch_heap_n;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n &&
		    fs->watch_heap[c + 1]->heap_at < fs->watch_heap[c]->heap_at)
			c++;
		if (fs->watch_heap[c]->heap_at >= w->heap_at)
			break;
		heap_place(fs, i, fs->watch_heap[c]);
		i = c;
	}
	heap_place(fs, i, w);
}

/* Room for one more watch in the heap, taken when a watch is listed, so
 * that putting a watch back never fails.  Returns false without memory. */
static bool heap_reserve_locked(struct fs *fs)
{
	if (fs->nwatches + 1 > fs->watch_heap_cap) {
		size_t nc = fs->watch_heap_cap ? fs->watch_heap_cap * 2 : 64;
		struct fs_watch **a = realloc(fs->watch_heap, nc * sizeof(*a));

		if (!a)
			return false;
		fs->watch_heap = a;
		fs->watch_heap_cap = nc;
	}
	return true;
}

/* Put file watch @w in the heap at @at, or move it there: only sooner,
 * unless @force. */
static void heap_set_locked(struct fs *fs, struct fs_watch *w, uint64_t at,
			    bool force)
{
	if (w->dir || !w->inode)
		return;
	if (w->heap_idx) {
		uint64_t old = w->heap_at;

		if (at >= old && !force)
			return;
		w->heap_at = at;
		if (at < old)
			heap_up(fs, w->heap_idx - 1);
		else
			heap_down(fs, w->heap_idx - 1);
		return;
	}
	w->heap_at = at;
	heap_place(fs, fs->watch_heap_n++, w);
	heap_up(fs, fs->watch_heap_n - 1);
}

static void heap_del_locked(struct fs *fs, struct fs_watch *w)
{
	struct fs_watch *last;
	size_t i;

	if (!w->heap_idx)
		return;
	i = w->heap_idx - 1;
	w->heap_idx = 0;
	last = fs->watch_heap[--fs->watch_heap_n];
	if (last == w)
		return;
	heap_place(fs, i, last);
	heap_down(fs, i);
	heap_up(fs, last->heap_idx - 1);
}

/* @w's next poll moved to w->next_ms, perhaps sooner (a reaction from a
 * lock operation): let the heap know.  Caller holds w->check_lock. */
static void heap_sooner(struct fs *fs, struct fs_watch *w)
{
	pthread_mutex_lock(&fs->watch_lock);
	heap_set_locked(fs, w, w->next_ms, false);
	pthread_mutex_unlock(&fs->watch_lock);
}

static void watch_release_locked(struct fs *fs, struct fs_watch *w)
{
	if (w->wd >= 0 && fs->inotify_fd >= 0 && !wd_shared_locked(fs, w))
		inotify_rm_watch(fs->inotify_fd, w->wd);
	w->wd = -1;
}

/* Build and list a watch of @inode (a file with mapping @m, or a dir). */
static void watch_add(struct fs *fs, struct fs_inode *inode,
		      struct pc_mapping *m)
{
	char path[FS_PROC_PATH_MAX];
	struct fs_watch *w;
	off_t our_size;
	int fd, err;

	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	pthread_mutex_init(&w->check_lock, NULL);
	w->ino = fs_ino_of(fs, inode);
	w->inode = inode;
	w->refs = 1;
	w->wd = -1;
	w->dir = !m;
	if (m) {
		pc_mapping_get(m);
		w->m = m;
		w->interval_ms = fs->cfg.revalidate_ms;
		w->active_ms = fs_now_ms();
		w->next_ms = w->active_ms + w->interval_ms;
		w->meta = atomic_load(&fs->meta_ops);
		w->imeta = atomic_load(&inode->meta_ops);
		w->have_snap = snap_take(w, &w->snap, &w->mods, &our_size);
		/* The mapping is new: it caches nothing older than this. */
		w->have_lsnap = w->have_snap;
		w->lsnap = w->snap;
		w->lmods = w->mods;
	} else {
		w->next_ms = UINT64_MAX;	/* inotify only */
	}

	/* No lock held: the inode's descriptor may be reopened by handle. */
	fd = fs->inotify_fd >= 0 ? fs_inode_fd_get(fs, inode) : -1;
	if (fd >= 0) {
		fs_proc_path(path, fd);
		w->wd = inotify_add_watch(fs->inotify_fd, path, m ?
					  FS_WATCH_MASK : FS_WATCH_DIR_MASK);
		err = errno;
		fs_inode_fd_put(fs, inode);
		if (w->wd < 0 && err == ENOSPC &&
		    !atomic_exchange(&fs->watch_enospc_logged, true))
			fuse_log(FUSE_LOG_WARNING,
				 "mmapfs: out of inotify watches (fs.inotify.max_user_watches, or user.max_inotify_watches in a user namespace); files beyond it are only polled, outside write()s to them are seen within %u ms while open, %u ms when idle (%u ms if closed and out of the descriptor cache), outside renames after entry_timeout\n",
				 fs->cfg.revalidate_ms,
				 fs->cfg.revalidate_ms > FS_WATCH_IDLE_MS ?
				 fs->cfg.revalidate_ms : FS_WATCH_IDLE_MS,
				 FS_WATCH_CLOSED_MS);
	}

	pthread_mutex_lock(&fs->watch_lock);
	if (inode->watch) {
		/* Raced with another creator: keep the listed one. */
		w->inode = NULL;
		watch_release_locked(fs, w);
		pthread_mutex_unlock(&fs->watch_lock);
		watch_free(w);
		return;
	}
	if (!heap_reserve_locked(fs)) {
		w->inode = NULL;
		watch_release_locked(fs, w);
		pthread_mutex_unlock(&fs->watch_lock);
		watch_free(w);
		errno = ENOMEM;
		goto nomem;
	}
	inode->watch = w;
	w->prev = NULL;
	w->next = fs->watch_list;
	if (w->next)
		w->next->prev = w;
	fs->watch_list = w;
	wd_hash_add(fs, w);
	fs->nwatches++;
	heap_set_locked(fs, w, w->next_ms, false);
	pthread_mutex_unlock(&fs->watch_lock);
	return;
nomem:
	fuse_log(FUSE_LOG_ERR,
		 "mmapfs: cannot watch a backing file for outside changes: %s\n",
		 strerror(errno ? errno : ENOMEM));
}

void fs_watch_add(struct fs *fs, struct fs_inode *inode, struct pc_mapping *m)
{
	if (fs->watch_running)
		watch_add(fs, inode, m);
}

void fs_watch_dir(struct fs *fs, struct fs_inode *dir)
{
	if (!fs->watch_running || fs->inotify_fd < 0 ||
	    atomic_load_explicit(&dir->dir_watched, memory_order_relaxed) ||
	    atomic_exchange(&dir->dir_watched, true))
		return;
	watch_add(fs, dir, NULL);
}

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

void fs_watch_own_name(struct fs *fs, struct fs_inode *dir, const char *name)
{
	struct fs_own_name *o;

	if (!fs->watch_running ||
	    !atomic_load_explicit(&dir->dir_watched, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fs->watch_lock);
	o = &fs->own_names[fs->own_next++ % FS_ARRAY_SIZE(fs->own_names)];
	o->dir = dir;
	o->hash = name_hash(name);
	o->ms = fs_now_ms();
	pthread_mutex_unlock(&fs->watch_lock);
}

/* Caller holds watch_lock: consume a record of our own change of @name. */
static bool own_name_locked(struct fs *fs, const struct fs_inode *dir,
			    const char *name, uint64_t now)
{
	uint32_t h = name_hash(name);

	for (size_t i = 0; i < FS_ARRAY_SIZE(fs->own_names); i++) {
		struct fs_own_name *o = &fs->own_names[i];

		if (o->dir == dir && o->hash == h && o->ms &&
		    now - o->ms < FS_OWN_NAME_MS) {
			o->ms = 0;
			return true;
		}
	}
	return false;
}

/* A name changed in a watched directory: expire it unless we did it. */
static void dir_event(struct fs *fs, const struct inotify_event *ev)
{
	fuse_ino_t parent = 0;
	struct fs_watch *w;
	bool own = false;

	pthread_mutex_lock(&fs->watch_lock);
	for (w = fs->wd_buckets ? *wd_bucket(fs, ev->wd) : fs->watch_list; w;
	     w = fs->wd_buckets ? w->wd_next : w->next) {
		if (w->dir && w->wd == ev->wd && w->inode) {
			parent = w->ino;
			own = own_name_locked(fs, w->inode, ev->name,
					      fs_now_ms());
			break;
		}
	}
	pthread_mutex_unlock(&fs->watch_lock);
	if (!parent)
		return;
	if (own) {
		atomic_fetch_add(&fs->watch_stats.own_entries, 1);
		return;
	}
	atomic_fetch_add(&fs->watch_stats.entries, 1);
	fs_notify_entry(fs, parent, ev->name);
}

void fs_watch_del(struct fs *fs, struct fs_inode *inode)
{
	struct fs_watch *w;
	bool last;

	pthread_mutex_lock(&fs->watch_lock);
	w = inode->watch;
	if (!w) {
		pthread_mutex_unlock(&fs->watch_lock);
		return;
	}
	inode->watch = NULL;
	heap_del_locked(fs, w);
	w->inode = NULL;
	wd_hash_del(fs, w);
	if (w->prev)
		w->prev->next = w->next;
	else
		fs->watch_list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	fs->nwatches--;
	last = --w->refs == 0;
	if (last)
		watch_release_locked(fs, w);
	pthread_mutex_unlock(&fs->watch_lock);
	if (last)
		watch_free(w);
}

void fs_watch_touch(struct fs_inode *inode)
{
	uint64_t now = fs_now_ms();

	/* Coarse: one store per 100 ms at most, no lock. */
	if (now - atomic_load_explicit(&inode->active_ms,
				       memory_order_relaxed) >= 100)
		atomic_store_explicit(&inode->active_ms, now,
				      memory_order_relaxed);
}

/* Queue the kernel's part of the reaction (step 3 and 4 above). */
static void tell_kernel(struct fs *fs, struct fs_watch *w, off_t before,
			off_t after)
{
	off_t ps = (off_t)pc_page_size(), start;
	ssize_t n;
	char *buf;

	fs_notify_inval_outside(fs, w->ino, 0);
	atomic_fetch_add(&fs->watch_stats.invals, 1);
	if (after <= before || after == 0)
		return;
	start = (after - 1) / ps * ps;
	buf = malloc((size_t)ps);
	if (!buf)
		return;
	pc_ghosts_forget(w->m, start, (size_t)(after - start));
	n = pc_read(w->m, buf, (size_t)(after - start), start);
	if (n <= 0) {
		free(buf);
		return;
	}
	fs_notify_store(fs, w->ino, start, buf, (size_t)n, 0);
	atomic_fetch_add(&fs->watch_stats.stores, 1);
}

/* Our metadata changes: the global count, @w's inode's, and whether one
 * is in progress. */
struct meta_sample {
	uint64_t ops, iops;
	bool busy;
};

static void meta_sample(struct fs *fs, struct fs_watch *w,
			struct meta_sample *ms)
{
	ms->ops = atomic_load(&fs->meta_ops);
	ms->busy = atomic_load(&fs->meta_busy) > 0;
	ms->iops = 0;
	pthread_mutex_lock(&fs->watch_lock);
	if (w->inode) {
		ms->iops = atomic_load(&w->inode->meta_ops);
		ms->busy |= atomic_load(&w->inode->meta_busy) > 0;
	}
	pthread_mutex_unlock(&fs->watch_lock);
}

/*
 * Can the kernel hold pages of @w's file dirtied through a mapping?  Only
 * while a file is open for writing (a writable shared mapping holds its
 * open file) and the kernel has read pages from us.
 */
static bool kernel_may_be_dirty(struct fs *fs, struct fs_watch *w)
{
	bool dirty = false;

	pthread_mutex_lock(&fs->watch_lock);
	if (w->inode)
		dirty = atomic_load(&w->inode->nwriters) > 0 &&
			atomic_load(&w->inode->kernel_cached);
	pthread_mutex_unlock(&fs->watch_lock);
	return dirty;
}

/*
 * Append @w, with @fl, to the growing arrays *@a and *@f (*@n used, *@cap
 * allocated) and take a reference on it.  Caller holds watch_lock.
 * Returns false without memory (nothing appended).
 */
static bool watch_push_locked(struct fs_watch ***a, unsigned char **f,
			      size_t *n, size_t *cap, struct fs_watch *w,
			      unsigned char fl)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct fs_watch **na = realloc(*a, nc * sizeof(*na));
		unsigned char *nf;

		if (!na)
			return false;
		*a = na;
		nf = realloc(*f, nc);
		if (!nf)
			return false;
		*f = nf;
		*cap = nc;
	}
	w->refs++;
	(*a)[*n] = w;
	(*f)[(*n)++] = fl;
	return true;
}

static void sort_by_write_seq(struct fs_watch **ws, unsigned char *fl,
			      size_t n);
static void put_checked(struct fs *fs, struct fs_watch **ws, size_t n);

/*
 * Before step 1 writes @w's file back, write back every other file of the
 * mount whose last write came before the last write of @w's, oldest first:
 * a program on another mount may read them in the order they were written
 * here (SQLite: the -wal frames, then the -shm header that points to them;
 * step 0 may just have brought the header in).  No check_lock of the others
 * is taken (lock order); pc_backing_mods tells their checks it was ours.
 */
static void write_back_earlier(struct fs *fs, struct fs_watch *w)
{
	uint64_t mine = pc_mapping_write_seq(w->m);
	struct fs_watch **ws = NULL, *o;
	unsigned char *fl = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fs->watch_lock);
	for (o = fs->watch_list; o; o = o->next)
		if (o != w && !o->dir && o->inode &&
		    !watch_push_locked(&ws, &fl, &n, &cap, o, 0))
			break;	/* out of memory: write back fewer */
	pthread_mutex_unlock(&fs->watch_lock);
	sort_by_write_seq(ws, fl, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = pc_mapping_write_seq(ws[i]->m);

		if (seq == 0 || pc_mapping_synced(ws[i]->m))
			continue;
		if (seq > mine)
			break;
		pc_write_and_wait(ws[i]->m, 0, -1, true);
	}
	put_checked(fs, ws, n);
	free(ws);
	free(fl);
}

/*
 * Somebody else changed @w's backing file: take it over (steps 0-4 at the
 * top).  Caller holds w->check_lock.  Resets both baselines.
 */
static void react(struct fs *fs, struct fs_watch *w, uint64_t meta,
		  uint64_t imeta, uint64_t now)
{
	off_t our_size, before, after;
	bool kept;
	int r;

	/* Waits for the notifier only on the watcher thread: a FUSE worker
	 * (a lock acquisition) may wait only as lock.c allows. */
	bool wait = pthread_equal(pthread_self(), fs->watcher);
	bool kdirty = kernel_may_be_dirty(fs, w);

	atomic_fetch_add(&fs->watch_stats.outside, 1);
	/* somebody else writes this file: diff the kernel's write-backs of
	 * it byte by byte from now on (pagecache.h, DIRTY BYTES) */
	pc_mapping_set_exact(w->m);
	before = pc_size(w->m);
	if (kdirty)
		fs_notify_inval_outside(fs, w->ino,
					wait ? FS_WATCH_PULL_WAIT_MS : 0);
	write_back_earlier(fs, w);
	r = pc_write_and_wait(w->m, 0, -1, true);
	if (r)
		fuse_log(FUSE_LOG_WARNING,
			 "mmapfs: write-back before taking an outside change failed: %s\n",
			 strerror(-r));
	/*
	 * What we did is accounted for: snapshot now, before our cache is
	 * refreshed, so that an outside change landing from here on shows in
	 * the next check (after the refresh it would be in the snapshot but
	 * perhaps not in our pages).
	 */
	if (!snap_take(w, &w->snap, &w->mods, &our_size))
		w->have_snap = false;
	if (kdirty && wait)
		pc_invalidate_range_keep_base(w->m, 0, -1);
	else
		pc_invalidate_range(w->m, 0, -1);
	/* A page dirty, in flight or uncommitted now was kept: ours are the
	 * bytes written to it, but its other bytes are from before the
	 * change and nothing would refresh them - the change is taken.  A
	 * small file is compared byte for byte once clean (verify_own),
	 * which takes the difference over then (finding 18). */
	kept = !pc_mapping_synced(w->m);
	pc_mtime_reset(w->m);
	after = pc_size(w->m);
	tell_kernel(fs, w, before, after);
	if (kdirty && wait) {
		/* the kernel has dropped (and written back) every page it
		 * read before step 2: the kept bases are no longer needed */
		fs_notify_barrier(fs, FS_WATCH_PULL_WAIT_MS);
		pc_ghosts_drop(w->m);
	}
	fs_debug(fs, "mmapfs: outside change of inode %llu: size %lld -> %lld\n",
		 (unsigned long long)w->ino, (long long)before,
		 (long long)after);
	w->have_lsnap = w->have_snap;
	w->lsnap = w->snap;
	w->lmods = w->mods;
	w->meta = meta;
	w->imeta = imeta;
	w->change_ms = now;
	w->verify = kept && after <= FS_WATCH_VERIFY_MAX;
	w->interval_ms = fs->cfg.revalidate_ms;
	w->next_ms = now + fs->cfg.revalidate_ms;
	heap_sooner(fs, w);
}

/*
 * A change we took for our own write-back may have hidden an outside write
 * that landed at the same time (the stat shows only the last of them), and
 * nothing would ever show it again.  Compare our clean cached pages with
 * the file; a page that differs is an outside change.  Clears w->verify
 * when a difference was found or every page could be compared (none was
 * dirty, in flight or being filled).  Caller holds w->check_lock.  Returns true if one differs.
 */
static bool verify_own(struct fs *fs, struct fs_watch *w)
{
	bool complete;
	bool differs = pc_cached_differs(w->m, FS_WATCH_VERIFY_MAX, &complete);

	/* A page dirty during the comparison may hold the stale bytes
	 * next to ours: only a comparison of every page settles it. */
	if (differs || complete)
		w->verify = false;
	if (differs)
		atomic_fetch_add(&fs->watch_stats.verified, 1);
	return differs;
}

static void watch_check_locked(struct fs *fs, struct fs_watch *w,
			       uint64_t now)
{
	struct meta_sample m1, m2;
	unsigned int base = fs->cfg.revalidate_ms;
	unsigned int idle = base > FS_WATCH_IDLE_MS ? base : FS_WATCH_IDLE_MS;
	struct stat st = { 0 };	/* all zero if the fstat fails */
	uint64_t mods, meta, imeta;
	off_t our_size;
	bool stable;

	if (w->have_snap && !w->was_due && !w->open &&
	    now - w->checked_ms < FS_WATCH_CLOSED_MS &&
	    !pc_mapping_has_fd(w->m)) {
		w->next_ms = now + idle;
		return;
	}
	w->checked_ms = now;
	atomic_fetch_add(&fs->watch_stats.checks, 1);
	meta_sample(fs, w, &m1);
	stable = snap_take(w, &st, &mods, &our_size);
	meta_sample(fs, w, &m2);
	/* A metadata change of ours under way, or done during the fstat:
	 * the stat may show part of it. */
	if (m1.busy || m2.busy || m1.ops != m2.ops || m1.iops != m2.iops)
		stable = false;
	meta = m2.ops;
	imeta = m2.iops;
	if (!w->have_snap) {
		w->have_snap = stable;
		w->snap = st;
		w->mods = mods;
		w->meta = meta;
		w->imeta = imeta;
		w->next_ms = now + (stable ? base : FS_WATCH_RETRY_MS);
		return;
	}
	if (stat_same(&st, &w->snap)) {
		if (w->verify && stable && verify_own(fs, w)) {
			react(fs, w, meta, imeta, now);
			return;
		}
		/* Unchanged: back off unless the file is in use. */
		if (w->open || now - w->active_ms < FS_WATCH_ACTIVE_MS ||
		    now - w->change_ms < FS_WATCH_ACTIVE_MS || w->verify)
			w->interval_ms = base;
		else if (w->interval_ms < idle)
			w->interval_ms = w->interval_ms * 2 < idle ?
					 w->interval_ms * 2 : idle;
		w->next_ms = now + w->interval_ms;
		/* Only a quiet sample may move the baseline: one taken
		 * across our change may predate its effect on the stat. */
		if (stable) {
			w->mods = mods;
			w->meta = meta;
			w->imeta = imeta;
		}
		return;
	}
	if (!stable) {
		/* A change of ours is under way: the stat may show half of
		 * it.  Decide once it is over. */
		atomic_fetch_add(&fs->watch_stats.busy, 1);
		w->next_ms = now + FS_WATCH_RETRY_MS;
		return;
	}
	if (st.st_size == w->snap.st_size && mods == w->mods &&
	    (imeta != w->imeta ||
	     (meta != w->meta &&
	      st.st_mtim.tv_sec == w->snap.st_mtim.tv_sec &&
	      st.st_mtim.tv_nsec == w->snap.st_mtim.tv_nsec))) {
		/* Size unchanged, after a metadata change of ours: a
		 * SETATTR, xattr or LINK of this inode (ctime, perhaps the
		 * times), or some UNLINK or RENAME (ctime only).  An outside
		 * write at the same time would hide behind it too: compare
		 * a small file once clean, as after our own write-back. */
		atomic_fetch_add(&fs->watch_stats.own, 1);
		if (st.st_size <= FS_WATCH_VERIFY_MAX)
			w->verify = true;
		w->snap = st;
		w->meta = meta;
		w->imeta = imeta;
		w->next_ms = now + base;
		return;
	}
	if (mods != w->mods && st.st_size == our_size) {
		/* Our own write-back, truncate or commit - or that and an
		 * outside write at the same time: the stat shows the last.
		 * A small file is compared byte for byte once our data in it
		 * is written (verify_own).  (Not only when inotify flagged
		 * it: a check deferred while our write ran is a poll.) */
		atomic_fetch_add(&fs->watch_stats.own, 1);
		if (st.st_size <= FS_WATCH_VERIFY_MAX)
			w->verify = true;
		w->snap = st;
		w->mods = mods;
		w->meta = meta;
		w->imeta = imeta;
		w->next_ms = now + base;
		return;
	}

	/* Somebody else's change. */
	react(fs, w, meta, imeta, now);
}

static void watch_check(struct fs *fs, struct fs_watch *w, uint64_t now)
{
	pthread_mutex_lock(&w->check_lock);
	watch_check_locked(fs, w, now);
	pthread_mutex_unlock(&w->check_lock);
}

/* Mark the watches of inotify watch descriptor @wd (all if -1) due. */
static void mark_due(struct fs *fs, int wd)
{
	struct fs_watch *w;

	uint64_t now = fs_now_ms();

	pthread_mutex_lock(&fs->watch_lock);
	if (wd >= 0 && fs->wd_buckets) {
		for (w = *wd_bucket(fs, wd); w; w = w->wd_next)
			if (!w->dir && w->wd == wd) {
				w->due = w->lock_dirty = true;
				heap_set_locked(fs, w, now, false);
			}
	} else {
		for (w = fs->watch_list; w; w = w->next)
			if (!w->dir && (wd == -1 || w->wd == wd)) {
				w->due = w->lock_dirty = true;
				heap_set_locked(fs, w, now, false);
			}
	}
	pthread_mutex_unlock(&fs->watch_lock);
}

static void read_events(struct fs *fs)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;

	for (;;) {
		n = read(fs->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;
		     p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				mark_due(fs, -1);
			else if (ev->len && (ev->mask & FS_WATCH_DIR_MASK))
				dir_event(fs, ev);
			else if (ev->mask & FS_WATCH_MASK)
				mark_due(fs, ev->wd);
		}
	}
}

/*
 * Take a reference on every watch to check now into *@out (grown as
 * needed); returns how many, and in *@wait_ms how long until the next one
 * is due.
 */
static size_t collect_due(struct fs *fs, uint64_t now, struct fs_watch ***out,
			  size_t *cap, int *wait_ms)
{
	uint64_t next = now + FS_WATCH_IDLE_MS;
	struct fs_watch *w, *spaced = NULL;
	size_t n = 0;

	pthread_mutex_lock(&fs->watch_lock);
	while (fs->watch_heap_n &&
	       (w = fs->watch_heap[0])->heap_at <= now + FS_WATCH_SLACK_MS) {
		if (w->due && w->next_ms > now &&
		    now - w->change_ms < FS_WATCH_SPACING_MS) {
			/* stays due; goes back after this loop, which would
			 * pop it again if it went back now */
			heap_del_locked(fs, w);
			w->heap_at = w->change_ms + FS_WATCH_SPACING_MS;
			w->heap_next = spaced;
			spaced = w;
			continue;
		}
		if (!w->due && w->next_ms > now + FS_WATCH_SLACK_MS) {
			/* its key was earlier than needed */
			heap_set_locked(fs, w, w->next_ms, true);
			continue;
		}
		if (n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct fs_watch **a = realloc(*out, nc * sizeof(*a));

			if (!a) {
				next = now + FS_WATCH_RETRY_MS;
				break;		/* the rest next round */
			}
			*out = a;
			*cap = nc;
		}
		heap_del_locked(fs, w);	/* back in after its check */
		w->was_due = w->due;
		w->due = false;
		w->active_ms = atomic_load_explicit(&w->inode->active_ms,
						    memory_order_relaxed);
		w->open = atomic_load_explicit(&w->inode->nopen_hint,
					       memory_order_relaxed) > 0;
		w->refs++;
		(*out)[n++] = w;
	}
	while (spaced) {
		w = spaced;
		spaced = w->heap_next;
		heap_set_locked(fs, w, w->heap_at, true);
	}
	if (fs->watch_heap_n && fs->watch_heap[0]->heap_at < next)
		next = fs->watch_heap[0]->heap_at;
	pthread_mutex_unlock(&fs->watch_lock);
	*wait_ms = next > now ? (int)(next - now) : 0;
	return n;
}

/* After their checks, each watch still listed goes back in the heap at
 * its next poll, or now if inotify flagged it meanwhile. */
static void put_back(struct fs *fs, struct fs_watch **ws, size_t n,
		     uint64_t now)
{
	pthread_mutex_lock(&fs->watch_lock);
	for (size_t i = 0; i < n; i++)
		heap_set_locked(fs, ws[i], ws[i]->due ? now : ws[i]->next_ms,
				false);
	pthread_mutex_unlock(&fs->watch_lock);
}

static void put_checked(struct fs *fs, struct fs_watch **ws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fs_watch *w = ws[i];
		bool last;

		pthread_mutex_lock(&fs->watch_lock);
		last = --w->refs == 0;
		if (last)
			watch_release_locked(fs, w);
		pthread_mutex_unlock(&fs->watch_lock);
		if (last)
			watch_free(w);
	}
}

static void *watch_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_watch **ws = NULL;
	size_t cap = 0, n;
	struct pollfd pfd[2];
	int wait_ms = 0;
	uint64_t now;

	pfd[0].fd = fs->watch_wake;
	pfd[0].events = POLLIN;
	pfd[1].fd = fs->inotify_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, fs->inotify_fd >= 0 ? 2 : 1, wait_ms) > 0) {
			if (pfd[0].revents & POLLIN)
				break;		/* fs_watch_stop */
			if (fs->inotify_fd >= 0 && (pfd[1].revents & POLLIN)) {
				pthread_mutex_lock(&fs->events_lock);
				read_events(fs);
				pthread_mutex_unlock(&fs->events_lock);
			}
		}
		now = fs_now_ms();
		n = collect_due(fs, now, &ws, &cap, &wait_ms);
		for (size_t i = 0; i < n; i++)
			watch_check(fs, ws[i], now);
		put_back(fs, ws, n, fs_now_ms());
		put_checked(fs, ws, n);
		/* The checks moved their next times, beyond the slack: the
		 * next walk need not come sooner than that. */
		if (n && wait_ms > FS_WATCH_SLACK_MS)
			wait_ms = FS_WATCH_SLACK_MS;
		else if (wait_ms < 1)
			wait_ms = 1;
	}
	free(ws);
	return NULL;
}

/* ---- lock coherence (lock.c) -------------------------------------------- */

/*
 * Check @w for a change the lock baseline does not account for, and take
 * it over (react) if it is somebody else's.  @strict (the locked file, at
 * acquisition): any difference counts.  Otherwise a difference counts
 * unless we changed the file ourselves since the baseline and the size is
 * the one we gave it - then it is most likely ours (a writer of this mount
 * between its lock and its unlock) and is left to the release flush.
 * Returns true if it reacted (a kernel invalidation is queued).
 */
static bool lock_check(struct fs *fs, struct fs_watch *w, bool strict)
{
	struct meta_sample ms;
	struct stat st;
	uint64_t mods;
	off_t our_size = -1;
	bool reacted = false;

	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&w->check_lock);
	snap_take(w, &st, &mods, &our_size);
	if (!w->have_lsnap || !stat_same(&st, &w->lsnap)) {
		if (strict || !w->have_lsnap || mods == w->lmods ||
		    st.st_size != our_size)
			reacted = true;
	}
	/*
	 * The locked file, if small, is also compared byte for byte: another
	 * mount's write that landed while our own write-back of the file ran
	 * (under another lock: SQLite's wal-index is written under several)
	 * leaves a stat that shows only the last of the two, which our
	 * release then took as its baseline.
	 */
	if (!reacted && strict &&
	    pc_cached_differs(w->m, FS_LOCK_VERIFY_MAX, NULL))
		reacted = true;
	if (reacted) {
		meta_sample(fs, w, &ms);
		react(fs, w, ms.ops, ms.iops, fs_now_ms());
	}
	pthread_mutex_unlock(&w->check_lock);
	return reacted;
}

/*
 * Take a reference on the file watches to look at: @inode's (marked
 * strict), those inotify reported since the last lock check, and with @all
 * every one.  Returns how many; their flags in *@flags.
 */
#define LW_STRICT	1u
#define LW_EVENT	2u
static size_t lock_collect(struct fs *fs, struct fs_inode *inode, bool all,
			   struct fs_watch ***out, unsigned char **flags)
{
	struct fs_watch *w, **a = NULL;
	unsigned char *f = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&fs->watch_lock);
	for (w = fs->watch_list; w; w = w->next) {
		unsigned char fl = 0;

		if (w->dir || !w->inode)
			continue;
		if (inode && w->inode == inode)
			fl |= LW_STRICT;
		if (w->lock_dirty)
			fl |= LW_EVENT;
		if (!fl && !all)
			continue;
		if (!watch_push_locked(&a, &f, &n, &cap, w, fl))
			break;	/* out of memory: check fewer */
		w->lock_dirty = false;
	}
	pthread_mutex_unlock(&fs->watch_lock);
	*out = a;
	*flags = f;
	return n;
}

/* Read what inotify has queued so far and act on it (names expired,
 * files marked).  Returns true if something may have been queued to the
 * notifier. */
static bool lock_drain(struct fs *fs)
{
	unsigned long long e;

	if (fs->inotify_fd < 0)
		return false;
	e = atomic_load(&fs->watch_stats.entries);
	pthread_mutex_lock(&fs->events_lock);
	read_events(fs);
	pthread_mutex_unlock(&fs->events_lock);
	return atomic_load(&fs->watch_stats.entries) != e;
}

bool fs_watch_lock_acquire(struct fs *fs, struct fs_inode *inode)
{
	struct fs_watch **ws;
	unsigned char *fl;
	bool queued;
	size_t n;

	if (!fs->watch_running)
		return false;
	queued = lock_drain(fs);
	n = lock_collect(fs, inode, false, &ws, &fl);
	for (size_t i = 0; i < n; i++)
		if (lock_check(fs, ws[i], fl[i] & LW_STRICT))
			queued = true;
	put_checked(fs, ws, n);
	free(ws);
	free(fl);
	return queued;
}

/* Order @ws (and @fl with it) by when their mappings last took a write. */
struct seq_entry {
	uint64_t seq;
	struct fs_watch *w;
	unsigned char fl;
};

static int seq_cmp(const void *a, const void *b)
{
	const struct seq_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_by_write_seq(struct fs_watch **ws, unsigned char *fl,
			      size_t n)
{
	struct seq_entry *e = malloc(n * sizeof(*e));

	if (!e)
		return;		/* out of memory: list order */
	for (size_t i = 0; i < n; i++) {
		e[i].seq = pc_mapping_write_seq(ws[i]->m);
		e[i].w = ws[i];
		e[i].fl = fl[i];
	}
	qsort(e, n, sizeof(*e), seq_cmp);
	for (size_t i = 0; i < n; i++) {
		ws[i] = e[i].w;
		fl[i] = e[i].fl;
	}
	free(e);
}

bool fs_watch_lock_release(struct fs *fs)
{
	struct fs_watch **ws;
	unsigned char *fl;
	bool queued, busy;
	struct stat st;
	uint64_t mods;
	off_t sz;
	size_t n;
	int r;

	if (!fs->watch_running)
		return false;
	/* First whatever others changed: the flush must not absorb it. */
	queued = lock_drain(fs);
	n = lock_collect(fs, NULL, true, &ws, &fl);
	for (size_t i = 0; i < n; i++)
		if ((fl[i] & LW_EVENT) && lock_check(fs, ws[i], false))
			queued = true;
	/*
	 * Then ours: written, committed, and the result is the baseline -
	 * in the order the data came in.  A reader on another mount may read
	 * one file without the lock being released here (SQLite's WAL
	 * readers read the -shm header locklessly and take read locks the
	 * writer's lock does not exclude): the header, stored last, must not
	 * reach the backing directory before the frames it points to.
	 */
	sort_by_write_seq(ws, fl, n);
	for (size_t i = 0; i < n; i++) {
		struct fs_watch *w = ws[i];

		pthread_mutex_lock(&w->check_lock);
		mods = pc_backing_mods(w->m, &busy, &sz);
		if (busy || !w->have_lsnap || mods != w->lmods ||
		    !pc_mapping_synced(w->m)) {
			/* (an fdatasync only if something is owed) */
			r = pc_mapping_synced(w->m) ? 0 :
			    pc_write_and_wait(w->m, 0, -1, true);
			if (r)
				fuse_log(FUSE_LOG_WARNING,
					 "mmapfs: write-back at a lock release failed: %s\n",
					 strerror(-r));
			if (snap_take(w, &st, &mods, &sz)) {
				w->lsnap = st;
				w->lmods = mods;
				w->have_lsnap = true;
			}
		}
		pthread_mutex_unlock(&w->check_lock);
	}
	put_checked(fs, ws, n);
	free(ws);
	free(fl);
	return queued;
}

int fs_watch_start(struct fs *fs)
{
	int r;

	fs->watch_list = NULL;
	fs->inotify_fd = -1;
	if (fs->cfg.no_revalidate)
		return 0;
	/* NULL on ENOMEM: events then walk the whole list. */
	fs->wd_buckets = calloc(FS_WD_BUCKETS, sizeof(*fs->wd_buckets));
	fs->watch_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->watch_wake < 0) {
		r = -errno;
		free(fs->wd_buckets);
		fs->wd_buckets = NULL;
		return r;
	}
	fs->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fs->inotify_fd < 0)
		fuse_log(FUSE_LOG_WARNING,
			 "mmapfs: inotify unavailable (%s): outside changes are only polled\n",
			 strerror(errno));
	r = -pthread_create(&fs->watcher, NULL, watch_main, fs);
	if (r) {
		if (fs->inotify_fd >= 0)
			close(fs->inotify_fd);
		close(fs->watch_wake);
		fs->inotify_fd = -1;
		free(fs->wd_buckets);
		fs->wd_buckets = NULL;
		return r;
	}
	fs->watch_running = true;
	return 0;
}

void fs_watch_stop(struct fs *fs)
{
	struct fs_watch *w, *next;
	uint64_t one = 1;

	if (!fs->watch_running)
		return;
	if (write(fs->watch_wake, &one, sizeof(one)) < 0)
		fuse_log(FUSE_LOG_ERR, "mmapfs: cannot wake the watcher\n");
	pthread_join(fs->watcher, NULL);
	fs->watch_running = false;

	/* No check runs any more: only the list holds references. */
	pthread_mutex_lock(&fs->watch_lock);
	for (w = fs->watch_list; w; w = next) {
		next = w->next;
		if (w->inode)
			w->inode->watch = NULL;
		w->wd = -1;		/* the inotify descriptor goes whole */
		watch_free(w);
	}
	fs->watch_list = NULL;
	fs->nwatches = 0;
	free(fs->watch_heap);
	fs->watch_heap = NULL;
	fs->watch_heap_n = fs->watch_heap_cap = 0;
	free(fs->wd_buckets);
	fs->wd_buckets = NULL;
	pthread_mutex_unlock(&fs->watch_lock);
	if (fs->inotify_fd >= 0)
		close(fs->inotify_fd);
	close(fs->watch_wake);
	fs->inotify_fd = -1;

	fuse_log(FUSE_LOG_INFO,
		 "mmapfs: watcher: %llu checks, %llu outside changes, %llu own changes recognised, %llu deferred while ours ran, %llu invalidations, %llu stores, %llu outside names expired, %llu own names recognised, %llu found only by comparing\n",
		 (unsigned long long)atomic_load(&fs->watch_stats.checks),
		 (unsigned long long)atomic_load(&fs->watch_stats.outside),
		 (unsigned long long)atomic_load(&fs->watch_stats.own),
		 (unsigned long long)atomic_load(&fs->watch_stats.busy),
		 (unsigned long long)atomic_load(&fs->watch_stats.invals),
		 (unsigned long long)atomic_load(&fs->watch_stats.stores),
		 (unsigned long long)atomic_load(&fs->watch_stats.entries),
		 (unsigned long long)atomic_load(&fs->watch_stats.own_entries),
		 (unsigned long long)atomic_load(&fs->watch_stats.verified));
}
