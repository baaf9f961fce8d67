// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * file.c - regular files: open, create, read, write, flush, release, fsync,
 * fallocate, lseek, copy_file_range.
 *
 * All data goes through the inode's struct pc_mapping (one per inode, shared
 * by every open file and every kernel write-back), so the bytes the kernel
 * reads are always the newest ones it wrote, whichever descriptor it used.
 * The backing descriptor of the mapping is opened read-write when possible,
 * never O_APPEND (the kernel resolves O_APPEND and sends the offset) and
 * never O_DIRECT (O_DIRECT opens are served from the cache like any other:
 * telling the kernel direct_io would make MAP_SHARED fail with ENODEV).
 *
 * Each open file also keeps a descriptor opened with the caller's flags for
 * the operations that act on the backing file itself (fallocate, lseek,
 * copy_file_range); before those, the inode's dirty pages are written back
 * so the backing file holds what the caller believes it holds.
 *
 * Cache mode: never direct_io, never noflush; keep_cache on every open but
 * the one that created the mapping (all writes pass through our cache, so
 * the kernel's cached pages of this inode stay coherent with it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* ---- the mapping -------------------------------------------------------- */

static bool readonly_fallback(int err)
{
	return err == EACCES || err == EROFS || err == EPERM ||
	       err == ETXTBSY;
}

int fs_inode_mapping_ensure(struct fs *fs, struct fs_inode *inode,
			    bool want_write, struct pc_mapping **out,
			    bool *created)
{
	char path[FS_PROC_PATH_MAX];
	struct pc_mapping *m;
	bool made = false;
	int fd, r = 0;

	if (created)
		*created = false;
	if (!S_ISREG(inode->type))
		return -EINVAL;
	m = fs_inode_mapping(inode);
	if (m && (!want_write || pc_mapping_writable(m))) {
		*out = m;
		return 0;
	}
	if (!fs->cache)
		return -EIO;

	/* fd_lock is a leaf: pinned before inode->lock, put after it. */
	fd = fs_inode_fd_get(fs, inode);
	if (fd < 0)
		return fd;
	fs_proc_path(path, fd);
	pthread_mutex_lock(&inode->lock);
	m = fs_inode_mapping(inode);
	if (!m) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd == -1 && !want_write && readonly_fallback(errno))
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd == -1) {
			r = -errno;
			goto out;
		}
		r = pc_mapping_create(fs->cache, fd, &m);
		if (r) {
			/* Ownership of fd passes only on success. */
			close(fd);
			goto out;
		}
		/* Its descriptor may then be closed while idle and reopened
		 * by handle (best effort: on ENOMEM it just stays open). */
		if (inode->handle)
			(void)pc_mapping_set_reopen(m, inode->mount_fd,
						    inode->handle);
		atomic_store_explicit(&inode->mapping, m,
				      memory_order_release);
		made = true;
		if (created)
			*created = true;
	} else if (want_write && !pc_mapping_writable(m)) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd == -1) {
			r = -errno;
			goto out;
		}
		pc_mapping_set_fd(m, fd);
	}
	*out = m;
out:
	pthread_mutex_unlock(&inode->lock);
	fs_inode_fd_put(fs, inode);
	if (!r && made)
		fs_watch_add(fs, inode, m);	/* outside changes: watch.c */
	return r;
}

/* ---- per-thread bounce buffer ------------------------------------------- */

struct fs_tbuf {
	size_t size;
	char data[];
};

void *fs_thread_buf(struct fs *fs, size_t size)
{
	struct fs_tbuf *b = pthread_getspecific(fs->buf_key), *nb;
	size_t want = size < FS_IO_BUF_SIZE ? FS_IO_BUF_SIZE : size;

	if (b && b->size >= size)
		return b->data;
	nb = malloc(sizeof(*nb) + want);
	if (!nb)
		return NULL;
	nb->size = want;
	if (pthread_setspecific(fs->buf_key, nb)) {
		free(nb);
		return NULL;
	}
	free(b);
	return nb->data;
}

/* ---- the page that held EOF -------------------------------------------- */

/*
 * Stores into the part of the last page past EOF are never file data (C2),
 * and ext4 zeroes them when the size grows (pagecache_isize_extended).  The
 * FUSE kernel does not: once the size has grown, its copy of that page,
 * perhaps dirty with such stores, is read from and written back whole.
 * So when the size grows from an unaligned EOF, before our reply:
 *
 *  - WRITE, fallocate, copy_file_range: we zero the gap in the kernel's
 *    copy of the old EOF page (eof_tail_zero) - or, for a WRITE that may
 *    hold that page locked until our reply, have the notifier drop it
 *    (eof_grown).
 *  - SETATTR: the same zeroing (fs_eof_size_set).  The kernel holds
 *    write-backs of the inode until the SETATTR is answered and then
 *    invalidates all its pages, laundering dirty ones under the new size.
 *    Only if the zeroing cannot be done (too many handlers waiting on the
 *    kernel) the inode's guard, [old size, end of that page), makes us
 *    drop those bytes from the first write-back WRITE that covers them; a
 *    READ of them (the kernel no longer has a copy) or a write(2) over all
 *    of them disarms it.  A store made into that range after the growth
 *    and before that write-back is dropped too: the guard is the last
 *    resort, never used for WRITEs (reliability finding 12).
 */
static off_t page_start(off_t v)
{
	return v / (off_t)pc_page_size() * (off_t)pc_page_size();
}

/* Guard [old, min(new, end of old's page)), or nothing.  Caller: lock. */
static void guard_arm_locked(struct fs_inode *inode, off_t old, off_t new)
{
	off_t end = page_start(old) + (off_t)pc_page_size();

	inode->guard_start = inode->guard_end = 0;
	if (new > old && old % (off_t)pc_page_size()) {
		inode->guard_start = old;
		inode->guard_end = new < end ? new : end;
	}
}

static bool eof_tail_zero(struct fs *fs, struct fs_inode *inode, off_t old,
			  off_t gap_end);

void fs_eof_size_set(struct fs *fs, struct fs_inode *inode, off_t old,
		     off_t new)
{
	off_t pend = page_start(old) + (off_t)pc_page_size();
	bool zeroed = false;

	if (new > old && old % (off_t)pc_page_size())
		zeroed = eof_tail_zero(fs, inode, old, new < pend ? new : pend);
	atomic_store(&inode->kernel_cached, true);	/* truncate: it may */
	pthread_mutex_lock(&inode->lock);
	guard_arm_locked(inode, old, zeroed ? old : new);
	/* A size change makes the kernel drop all its pages of the file. */
	inode->dropped_page = new != old ? page_start(new) : -1;
	pthread_mutex_unlock(&inode->lock);
}

enum eof_access {
	EOF_READ,		/* READ: the kernel had no copy of [off, end) */
	EOF_WRITEBACK,		/* write-back WRITE of its copy */
	EOF_WRITE,		/* write(2) data */
};

/*
 * Note what the kernel's request for [off, end) says about its copy of the
 * old EOF page.  Disarms the guard if the range overlaps it (a write(2):
 * if it contains it) and returns true with the guard in *gs, *ge.  Forgets
 * the dropped page once the kernel may hold it uptodate again: after a
 * READ of it or a write(2) of all of it.  (A write-back of a dropped page
 * can only be the laundering of that very drop.)
 */
static bool eof_seen(struct fs_inode *inode, off_t off, off_t end,
		     enum eof_access how, off_t *gs, off_t *ge)
{
	off_t dp;
	bool hit;

	pthread_mutex_lock(&inode->lock);
	if (how == EOF_WRITE)
		hit = inode->guard_end > inode->guard_start &&
		      off <= inode->guard_start && end >= inode->guard_end;
	else
		hit = off < inode->guard_end && end > inode->guard_start;
	if (hit) {
		*gs = inode->guard_start;
		*ge = inode->guard_end;
		inode->guard_start = inode->guard_end = 0;
	}
	dp = inode->dropped_page;
	if (dp >= 0 &&
	    ((how == EOF_WRITE && off <= dp &&
	      end >= dp + (off_t)pc_page_size()) ||
	     (how == EOF_READ && off < dp + (off_t)pc_page_size() &&
	      end > dp)))
		inode->dropped_page = -1;
	pthread_mutex_unlock(&inode->lock);
	return hit;
}

/* How long a handler waits for the kernel to drop the old EOF page. */
#define FS_DROP_LOCKED_WAIT_MS	20	/* it may be locked until we reply */

/*
 * Have the kernel drop its copy of the page at @pstart, waiting up to
 * @wait_ms; true if it is gone.  A dirty copy is laundered first, with a
 * WRITE another worker must answer: at most max_threads / 2 handlers wait
 * at once (none with -s); the others only queue the request.
 */
static bool eof_page_drop(struct fs *fs, struct fs_inode *inode,
			  off_t pstart, unsigned int wait_ms)
{
	unsigned int limit = fs->cfg.max_threads / 2;
	bool done;

	if (atomic_fetch_add(&fs->notify_waiters, 1) >= limit)
		wait_ms = 0;
	done = fs_notify_inval(fs, fs_ino_of(fs, inode), pstart,
			       (off_t)pc_page_size(), wait_ms);
	atomic_fetch_sub(&fs->notify_waiters, 1);
	return done;
}

/*
 * Zero [@old, @gap_end) in the kernel's copy of the old EOF page, as ext4's
 * pagecache_isize_extended zeroes the part of that page past the old EOF
 * when the size grows.  Called by a handler before its reply, so a store
 * made after the growth - file data - comes after the zeros and is kept.
 * notify_store copies into the folio under its lock (it may wait for a
 * READ or a laundering WRITE another worker answers, as a drop does), keeps
 * it dirty if it was, and moves the kernel's i_size up to @gap_end at most,
 * never past the size we are about to report.  This handler makes the call
 * itself, not the notifier: a queued store carried out after our reply
 * would zero stores made after the growth.  So it must not run when the
 * kernel may hold that folio locked until our reply (eof_grown) and, like
 * every wait on the kernel, only while fewer than max_threads / 2 handlers
 * wait so.  True if the kernel's copy holds zeros there (or it has none).
 */
static bool eof_tail_zero(struct fs *fs, struct fs_inode *inode, off_t old,
			  off_t gap_end)
{
	static const char zeros[4096 * 16];
	size_t len = (size_t)(gap_end - old);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);
	int err = -EBUSY;

	if (len > sizeof(zeros) || !fs->se)
		return false;
	bv.buf[0].mem = (void *)zeros;
	if (fs_wait_budget_get(fs)) {
		err = fuse_lowlevel_notify_store(fs->se, fs_ino_of(fs, inode),
						 old, &bv, 0);
		fs_wait_budget_put(fs);
	}
	atomic_fetch_add(err && err != -ENOENT ? &fs->eof_stats.late
					       : &fs->eof_stats.zeroed, 1);
	/* -ENOENT: the kernel has no such inode cached, so no copy */
	return !err || err == -ENOENT;
}

/*
 * The size grew from @old by a request for [start, end); called before its
 * reply, while the kernel's i_size is still @old.  @data: the request
 * wrote [start, end) (WRITE, copy_file_range); else it only allocated
 * (fallocate).  @locks_pages: the kernel may hold the pages of the request
 * locked until our reply (WRITE).
 *
 * Stores into the old EOF page past @old, made before the growth, must not
 * become file data (C2).  The kernel copies a WRITE into its pages and
 * unlocks each uptodate one at once; it goes on to the next page only after
 * an uptodate one (fuse_fill_write_pages).  So the EOF page is unlocked if
 * the request does not touch it or runs past it: then its gap is zeroed
 * (eof_tail_zero).  Otherwise - a WRITE that starts past @old and ends
 * inside that page - it may be locked until our reply, and then it is not
 * uptodate and holds no stale stores; or it is uptodate and unlocked.  We
 * cannot tell which, so the notifier drops it and we wait briefly.  Stale
 * stores need a page the kernel read, wrote back or truncated: files it
 * never did are skipped.
 *
 * If the page can be neither zeroed nor dropped in time, nothing is cut
 * from later write-backs: a store made after the growth cannot be told
 * from one made before it, and a guard that drops both lost file data
 * under load (reliability finding 12).  A stale store past EOF may then
 * reach the file: only where a program stored past EOF and the machine was
 * too loaded to zero it in time (docs/semantics.md).
 */
static void eof_grown(struct fs *fs, struct fs_inode *inode, off_t old,
		      off_t start, off_t end, bool data, bool locks_pages)
{
	off_t ps = (off_t)pc_page_size(), pstart = page_start(old);
	off_t pend = pstart + ps, gap_end = data ? start : end;
	bool dropped;

	if (gap_end > pend)
		gap_end = pend;
	if (gap_end <= old)
		return;			/* nothing stale became file data */
	if (!locks_pages || start >= pend || end > pend) {
		eof_tail_zero(fs, inode, old, gap_end);
		return;
	}
	if (!atomic_load(&inode->kernel_cached))
		return;
	pthread_mutex_lock(&inode->lock);
	dropped = inode->dropped_page == pstart;
	pthread_mutex_unlock(&inode->lock);
	if (dropped)
		return;			/* not uptodate there since */
	dropped = eof_page_drop(fs, inode, pstart, FS_DROP_LOCKED_WAIT_MS);
	atomic_fetch_add(&fs->eof_stats.drops, 1);
	if (!dropped)
		atomic_fetch_add(&fs->eof_stats.late, 1);
	if (dropped) {
		pthread_mutex_lock(&inode->lock);
		inode->dropped_page = pstart;
		pthread_mutex_unlock(&inode->lock);
	}
}

/* The kernel may now hold pages of @inode it did not just write. */
static void kernel_cached_set(struct fs_inode *inode)
{
	if (!atomic_load_explicit(&inode->kernel_cached, memory_order_relaxed))
		atomic_store(&inode->kernel_cached, true);
}

/* ---- open, create, release ---------------------------------------------- */

#define FS_FH_DROP_FLAGS \
	(O_APPEND | O_DIRECT | O_TRUNC | O_CREAT | O_EXCL | O_NOFOLLOW | \
	 O_NOCTTY)

/*
 * Attach an open file to @inode with the descriptor @fd: mapping (created
 * or upgraded), O_TRUNC through the cache, errseq sample.  On error the
 * caller still owns @fd.
 */
static int file_setup(struct fs *fs, struct fs_inode *inode, int fd,
		      struct fuse_file_info *fi)
{
	bool want_write = (fi->flags & O_ACCMODE) != O_RDONLY ||
			  (fi->flags & O_TRUNC);
	struct pc_mapping *m;
	struct fs_file *file;
	bool created;
	int r;

	r = fs_inode_mapping_ensure(fs, inode, want_write, &m, &created);
	if (r)
		return r;
	if (fi->flags & O_TRUNC) {
		/*
		 * Only a CREATE that found the file can carry O_TRUNC: without
		 * ATOMIC_O_TRUNC (fs.c) the kernel strips it from OPEN and
		 * truncates with a SETATTR.  The kernel drops its pages after
		 * our reply.
		 */
		fs_eof_size_set(fs, inode, pc_size(m), 0);
		r = pc_truncate(m, 0);
		if (r)
			return r;
	}
	file = malloc(sizeof(*file));
	if (!file)
		return -ENOMEM;
	file->inode = inode;
	file->fd = fd;
	file->writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	atomic_init(&file->flock_fd, -1);
	atomic_init(&file->flock_ex, false);
	if (file->writer) {
		atomic_fetch_add(&fs->open_writers, 1);
		atomic_fetch_add(&inode->nwriters, 1);
	}
	fs_handle_add(fs, &file->h, false);
	pthread_mutex_lock(&inode->lock);
	file->wb_err = pc_errseq_sample(m);
	/*
	 * The watcher fstat()s every open file each revalidate_ms.  When more
	 * files are open than the cache keeps descriptors for (max_file_fds),
	 * each check would reopen the mapping's by handle and evict another
	 * (10,000 open files: ~70 % of the daemon's CPU went there): lend it
	 * this file's own descriptor for that.  fs_file_close takes it back.
	 */
	file->open_next = inode->open_files;
	inode->open_files = file;
	if (!file->open_next)
		pc_mapping_lend_fd(m, -1, fd);
	inode->nopen++;
	atomic_store(&inode->nopen_hint, inode->nopen);
	pthread_mutex_unlock(&inode->lock);
	fs_inode_get(fs, inode);
	fs_watch_touch(inode);

	fi->fh = (uintptr_t)file;
	fi->direct_io = 0;
	fi->keep_cache = !created;
	fi->noflush = 0;
	return 0;
}

void fs_file_close(struct fs *fs, struct fs_file *file)
{
	struct fs_inode *inode = file->inode;
	struct fs_file **pp;
	struct pc_mapping *m;

	fs_handle_del(fs, &file->h);
	if (file->flock_fd >= 0)
		close(file->flock_fd);
	if (file->writer) {
		atomic_fetch_sub(&fs->open_writers, 1);
		atomic_fetch_sub(&inode->nwriters, 1);
	}
	pthread_mutex_lock(&inode->lock);
	for (pp = &inode->open_files; *pp; pp = &(*pp)->open_next) {
		if (*pp == file) {
			*pp = file->open_next;
			break;
		}
	}
	/* If ours is the lent descriptor, lend the next open file's (or
	 * none); this waits out an fstat() using ours, so it may be
	 * closed below.  (No mapping after fs_stop: nothing polls.) */
	m = atomic_load(&inode->mapping);
	if (m)
		pc_mapping_lend_fd(m, file->fd, inode->open_files ?
				   inode->open_files->fd : -1);
	inode->nopen--;
	atomic_store(&inode->nopen_hint, inode->nopen);
	pthread_mutex_unlock(&inode->lock);
	close(file->fd);
	fs_inode_put(fs, inode);
	free(file);
}

int fs_do_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_inode *inode = fs_inode_of(fs, ino);
	char path[FS_PROC_PATH_MAX];
	int fd, pfd, r;

	if (!S_ISREG(inode->type))
		return S_ISDIR(inode->type) ? -EISDIR : -EINVAL;
	pfd = fs_inode_fd_get(fs, inode);
	if (pfd < 0)
		return pfd;
	fs_proc_path(path, pfd);
	fd = open(path, (fi->flags & ~FS_FH_DROP_FLAGS) | O_CLOEXEC);
	r = fd == -1 ? -errno : 0;
	fs_inode_fd_put(fs, inode);
	if (r)
		return r;
	r = file_setup(fs, inode, fd, fi);
	if (r)
		close(fd);
	return r;
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	int r;

	r = fs_do_open(fs, ino, fi);
	if (r)
		return fs_reply_err(req, r);
	/* An interrupted open is never released by the kernel. */
	if (fuse_reply_open(req, fi))
		fs_file_close(fs, fs_file_of(fi));
}

/*
 * Create as the caller; the name is opened without following a symlink.
 * Without O_EXCL an existing file is opened instead, but only a regular
 * one: the kernel believed the name was free, and opening a FIFO or a
 * device that appeared meanwhile could block or have side effects.
 */
static int create_open(struct fs *fs, const struct fs_creds *cr,
		       int dfd, const char *name, mode_t mode, int flags)
{
	char path[FS_PROC_PATH_MAX];
	bool excl = flags & O_EXCL;
	struct stat st;
	bool switched, masked;
	int fd, pfd, r;

	flags = (flags & ~FS_FH_DROP_FLAGS) | O_CLOEXEC | O_NOFOLLOW;
	masked = fs_umask_push(fs, cr, &mode);
	switched = fs_creds_push(fs, cr);
	fd = openat(dfd, name, flags | O_CREAT | O_EXCL, mode & 07777);
	r = fd == -1 ? -errno : 0;
	if (switched)
		fs_creds_pop(fs);
	if (masked)
		fs_umask_pop();
	if (r != -EEXIST || excl)
		return r ? r : fd;

	pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd == -1)
		return -errno;
	if (fstatat(pfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = -EEXIST;
	} else {
		fs_proc_path(path, pfd);
		fd = open(path, flags & ~O_NOFOLLOW);
		r = fd == -1 ? -errno : fd;
	}
	close(pfd);
	return r;
}

int fs_do_create(struct fs *fs, const struct fs_creds *cr, fuse_ino_t parent,
		 const char *name, mode_t mode, struct fuse_file_info *fi,
		 struct fuse_entry_param *e)
{
	struct fs_inode *dir = fs_inode_of(fs, parent);
	char path[FS_PROC_PATH_MAX];
	struct fs_inode *inode;
	struct stat st;
	int fd, pfd, dfd, r;

	r = fs_name_check(name);
	if (r)
		return r;
	if (!S_ISDIR(dir->type))
		return -ENOTDIR;
	fs_watch_own_name(fs, dir, name);
	/* Pinned before create_open switches to the caller's fsuid:
	 * reopening by handle needs our capabilities. */
	dfd = fs_inode_fd_get(fs, dir);
	if (dfd < 0)
		return dfd;
	fd = create_open(fs, cr, dfd, name, mode, fi->flags);
	fs_inode_fd_put(fs, dir);
	if (fd < 0)
		return fd;

	/* The inode we opened, whatever the name points to by now. */
	fs_proc_path(path, fd);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd == -1) {
		r = -errno;
		goto err_fd;
	}
	if (fstatat(pfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
		close(pfd);
		goto err_fd;
	}
	r = fs_inode_lookup_fd(fs, pfd, &st, &inode);
	if (r)
		goto err_fd;
	r = file_setup(fs, inode, fd, fi);
	if (r)
		goto err_forget;
	fs_entry_init(fs, e);
	r = fs_inode_stat(fs, inode, &e->attr);
	if (r) {
		fs_file_close(fs, fs_file_of(fi));
		fs_inode_forget(fs, inode, 1);
		return r;
	}
	e->ino = fs_ino_of(fs, inode);
	e->generation = inode->generation;
	return 0;

err_forget:
	fs_inode_forget(fs, inode, 1);
err_fd:
	close(fd);
	return r;
}

void fs_create_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fs_creds cr;
	int r;

	fs_creds_of(req, &cr);
	r = fs_do_create(fs, &cr, parent, name, mode, fi, &e);
	if (r)
		return fs_reply_err(req, r);
	if (fuse_reply_create(req, &e, fi)) {
		fs_file_close(fs, fs_file_of(fi));
		fs_inode_forget(fs, fs_inode_of(fs, e.ino), 1);
	}
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	/* The open file's flock goes with it (after a release flush if it
	 * was exclusive: lock.c). */
	fs_lock_release_file(fs_of(req), fs_file_of(fi));
	/* Dirty data stays in the cache: RELEASE is no durability point. */
	fs_file_close(fs_of(req), fs_file_of(fi));
	fuse_reply_err(req, 0);
}

/* ---- data --------------------------------------------------------------- */

/*
 * READ: page-aligned readahead or any read(2) range.  pc_read never returns
 * short before the logical EOF: a short reply would shrink the kernel's
 * i_size and SIGBUS every mapper of the pages past it.
 */
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = fs_inode_of(fs, ino);
	struct pc_mapping *m = fs_inode_mapping(inode);
	ssize_t n;
	void *buf;

	off_t gs, ge;

	(void)fi;
	if (!m)
		return fs_reply_err(req, -EIO);
	buf = fs_thread_buf(fs, size);
	if (!buf)
		return fs_reply_err(req, -ENOMEM);
	fs_watch_touch(inode);
	/* The kernel has no copy of what it reads: nothing stale to guard. */
	eof_seen(inode, off, off + (off_t)size, EOF_READ, &gs, &ge);
	kernel_cached_set(inode);
	/* the kernel's copy of these pages starts from what it reads now */
	pc_ghosts_forget(m, off, size);
	n = pc_read(m, buf, size, off);
	if (n < 0)
		fs_reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, n);
}

/*
 * A write-back WRITE: never extends the file, and only the bytes that
 * differ from our copy become dirty - the program stored those; the others
 * are the kernel's copy of what it read from us, perhaps older than what
 * another mount has written into the backing file since (pagecache.h,
 * DIRTY BYTES).
 */
#define WB_FLAGS (PC_WRITE_LIMIT_TO_SIZE | PC_WRITE_CHANGED)

/* A WRITE this soon after a kernel invalidation of its inode's data is
 * invalidated again (fs_write_buf). */
#define FS_WRITE_REINVAL_MS	1000

/* A write-back WRITE without the guarded bytes [gs, ge); returns @size. */
static ssize_t write_around(struct pc_mapping *m, const char *data,
			    size_t size, off_t off, off_t gs, off_t ge)
{
	off_t end = off + (off_t)size;
	ssize_t n = 0;

	if (gs > off)
		n = pc_write(m, data, (size_t)(gs - off), off, WB_FLAGS);
	if (n >= 0 && end > ge)
		n = pc_write(m, data + (ge - off), (size_t)(end - ge), ge,
			     WB_FLAGS);
	return n < 0 ? n : (ssize_t)size;
}

/*
 * WRITE: write(2) data (writepage = 0, the caller's fh and pid) or the
 * kernel's write-back of mapped pages (writepage = 1, the fh of any
 * writable file of the inode, pid 0, cropped at the kernel's i_size).
 * Either way the inode's mapping takes it; a write-back never extends the
 * file (pc_write's limit_to_size: bytes past our size raced with a
 * truncation and ext4 would have dropped them).  The reply goes out as soon
 * as the data is in the cache: a slow reply to a write-back keeps the
 * kernel's folio under write-back and stalls every store into it.
 */
void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv,
		  off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = fs_inode_of(fs, ino);
	struct pc_mapping *m = fs_inode_mapping(inode);
	size_t size = fuse_buf_size(bufv);
	off_t old, gs, ge;
	const void *data;
	ssize_t n;
	int r;

	if (!m || !pc_mapping_writable(m)) {
		r = fs_inode_mapping_ensure(fs, inode, true, &m, NULL);
		if (r)
			return fs_reply_err(req, r);
	}
	if (bufv->count == 1 && bufv->idx == 0 && bufv->off == 0 &&
	    !(bufv->buf[0].flags & FUSE_BUF_IS_FD)) {
		data = bufv->buf[0].mem;
	} else {
		struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);

		dst.buf[0].mem = fs_thread_buf(fs, size);
		if (!dst.buf[0].mem)
			return fs_reply_err(req, -ENOMEM);
		n = fuse_buf_copy(&dst, bufv, 0);
		if (n < 0)
			return fs_reply_err(req, (int)n);
		size = n;
		data = dst.buf[0].mem;
	}
	fs_watch_touch(inode);
	if (fi->writepage) {
		kernel_cached_set(inode);
		if (eof_seen(inode, off, off + (off_t)size, EOF_WRITEBACK,
			     &gs, &ge)) {
			atomic_fetch_add(&fs->eof_stats.cut, 1);
			atomic_fetch_add(&fs->eof_stats.cut_bytes,
					 (unsigned long long)(ge - gs));
			n = write_around(m, data, size, off, gs, ge);
		}
		else
			n = pc_write(m, data, size, off, WB_FLAGS);
	} else {
		unsigned int slot = ino % FS_INVAL_SLOTS;

		eof_seen(inode, off, off + (off_t)size, EOF_WRITE, &gs, &ge);
		old = pc_size(m);
		n = pc_write(m, data, size, off, 0);
		if (n > 0 && off + n > old)
			eof_grown(fs, inode, old, off, off + n, true, true);
		/* A kernel invalidation may have dropped the folio this
		 * write's bytes were copied into, and a mapper read the page
		 * again without them (fs_i.h, inval_slot): drop it again,
		 * now that we have the bytes.  Not waited for: the writer
		 * may hold a folio of the range locked until our reply. */
		if (n > 0 && (atomic_load(&fs->inval_slot[slot].busy) ||
			      fs_now_ms() - atomic_load(
				      &fs->inval_slot[slot].end_ms) <
			      FS_WRITE_REINVAL_MS))
			fs_notify_inval(fs, ino, off, n, 0);
	}
	if (n < 0)
		fs_reply_err(req, (int)n);
	else
		fuse_reply_write(req, n);
}

/*
 * FLUSH (every close of a descriptor): start write-back for close-to-open
 * visibility to outside readers, and report a write-back error this open
 * file has not seen (close() returns it).  The closing owner's POSIX locks
 * on the file go now (the kernel sends no unlock for them: lock.c).
 */
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_file *file = fs_file_of(fi);
	struct pc_mapping *m = fs_inode_mapping(file->inode);
	int r = 0;

	(void)ino;
	fs_lock_flush_owner(fs_of(req), file->inode, fi->lock_owner);
	if (m) {
		pc_writeback_start(m);
		pthread_mutex_lock(&file->inode->lock);
		r = pc_errseq_check_and_advance(m, &file->wb_err);
		pthread_mutex_unlock(&file->inode->lock);
	}
	fs_reply_err(req, r);
}

/* The request comes from this daemon: one of its threads, or one of the
 * children that make its calls on the mount (kflush.c).  The kernel sends
 * the calling thread's id. */
static bool req_from_self(fuse_req_t req)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	char path[48], buf[256], *p;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)pid);
	if (stat(path, &st) == 0)
		return true;
	/* a child of ours: field 4 of /proc/PID/stat, after "(comm) S " */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] && p[3] == ' ' &&
	       atoi(p + 4) == (int)getpid();
}

/*
 * FSYNC is per inode: the kernel has already had all its dirty pages of the
 * inode answered (through any fh), and whatever any fh wrote must now reach
 * stable storage.  An error is reported once per open file (errseq); the
 * pages stay dirty for the next attempt.
 */
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi)
{
	struct fs_file *file = fs_file_of(fi);
	struct pc_mapping *m = fs_inode_mapping(file->inode);
	int r, e;

	(void)ino;
	if (!m)
		return fs_reply_err(req, -EIO);
	/*
	 * lock.c fsync()s a file through the mount at a write-lock release
	 * only to bring the kernel's dirty mapped pages here; it writes and
	 * commits after: no fdatasync for nothing on its behalf.
	 */
	if (pc_mapping_synced(m) && req_from_self(req))
		r = 0;
	else
		r = pc_write_and_wait(m, 0, -1, datasync != 0);
	pthread_mutex_lock(&file->inode->lock);
	e = pc_errseq_check_and_advance(m, &file->wb_err);
	pthread_mutex_unlock(&file->inode->lock);
	fs_reply_err(req, e ? e : r);
}

/*
 * Bring the backing file up to date before acting on it directly.  Pages
 * about to be invalidated must also be committed (@commit): an UNSTABLE
 * page (written, not yet fdatasync()ed) survives pc_invalidate_range()
 * and is not counted by pc_mapping_dirty_bytes().
 */
static int file_writeback(struct pc_mapping *m, bool commit)
{
	if (!commit && pc_mapping_dirty_bytes(m) == 0)
		return 0;
	return pc_write_and_wait(m, 0, -1, true);
}

static int do_fallocate(struct fs *fs, struct fs_file *file, int mode,
			off_t off, off_t len)
{
	struct pc_mapping *m = fs_inode_mapping(file->inode);
	off_t old;
	int r;

	/* The kernel lets nothing else through to FUSE. */
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!m)
		return -EIO;
	r = file_writeback(m, true);
	if (r)
		return r;
	old = pc_size(m);
	if (fallocate(file->fd, mode, off, len))
		return -errno;
	/* Drop the now stale clean pages; picks up a grown size too. */
	pc_invalidate_range(m, off, off + len);
	/* the backing file's times are the truth again */
	pc_mtime_reset(m);
	if (pc_size(m) > old)
		eof_grown(fs, file->inode, old, off, off + len, false, false);
	return 0;
}

void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
		  off_t len, struct fuse_file_info *fi)
{
	(void)ino;
	fs_reply_err(req, do_fallocate(fs_of(req), fs_file_of(fi), mode, off,
				       len));
}

/*
 * The kernel sends LSEEK only for SEEK_DATA and SEEK_HOLE, and it does not
 * write back its own dirty mapped pages first: data stored through a
 * mapping and not yet written back is not seen (as with any FUSE fs).
 * Ours is written back, so the backing file's extents are current.
 */
void fs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi)
{
	struct fs_file *file = fs_file_of(fi);
	struct pc_mapping *m = fs_inode_mapping(file->inode);
	off_t res;
	int r;

	(void)ino;
	if (m && (whence == SEEK_DATA || whence == SEEK_HOLE)) {
		r = file_writeback(m, false);
		if (r)
			return fs_reply_err(req, r);
	}
	res = lseek(file->fd, off, whence);
	if (res == -1)
		fs_reply_err(req, -errno);
	else
		fuse_reply_lseek(req, res);
}

void fs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			off_t off_out, struct fuse_file_info *fi_out,
			size_t len, int flags)
{
	struct fs_file *in = fs_file_of(fi_in), *out = fs_file_of(fi_out);
	struct pc_mapping *min = fs_inode_mapping(in->inode);
	struct pc_mapping *mout = fs_inode_mapping(out->inode);
	off_t start = off_out, old;
	ssize_t n;
	int r;

	(void)ino_in;
	(void)ino_out;
	if (!min || !mout)
		return fs_reply_err(req, -EIO);
	r = file_writeback(min, false);
	if (!r)
		r = file_writeback(mout, true);
	if (r)
		return fs_reply_err(req, r);
	old = pc_size(mout);
	n = copy_file_range(in->fd, &off_in, out->fd, &off_out, len,
			    (unsigned int)flags);
	if (n < 0)
		return fs_reply_err(req, -errno);
	if (n > 0) {
		pc_invalidate_range(mout, start, start + n);
		pc_mtime_reset(mout);
		if (pc_size(mout) > old)
			eof_grown(fs_of(req), out->inode, old, start,
				  start + n, true, false);
	}
	fuse_reply_write(req, n);
}
