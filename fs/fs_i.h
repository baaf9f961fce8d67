/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs_i.h - fs/ private structures: the inode table, open files, directory
 * handles, and the helpers the operation files share.
 *
 * INODES
 *
 *   struct fs_inode is keyed by (st_dev, st_ino) of the backing file, as in
 *   libfuse's passthrough_ll: hard links and repeated lookups share one
 *   inode, files on other filesystems mounted inside the backing directory
 *   are served too (hence the dev in the key).  The fuse_ino_t handed to the
 *   kernel is the inode's address (FUSE_ROOT_ID for the root); generation
 *   numbers are unique per struct, so a recycled address is never mistaken
 *   for the old inode.  Every operation reaches the backing file through
 *   an O_PATH descriptor of its inode: renames and unlinks in the backing
 *   directory don't disturb it.
 *
 * DESCRIPTORS (inode.c)
 *
 *   Holding one O_PATH descriptor per inode the kernel knows would tie the
 *   daemon's descriptor count to the size of the kernel's inode cache,
 *   which only memory pressure bounds (hard RLIMIT_NOFILE, fs.nr_open).  So
 *   when the backing filesystem supports file handles and the daemon may
 *   open them (CAP_DAC_READ_SEARCH), each inode keeps its handle
 *   (name_to_handle_at) and its O_PATH descriptor only while it is in a
 *   bounded LRU cache (-o max_path_fds); a miss reopens it with
 *   open_by_handle_at on a descriptor of the same mount.  A handle that
 *   went stale (ESTALE: the backing inode was deleted and nothing holds it
 *   any more) makes the operation fail with ENOENT.  Open files hold their
 *   own descriptor (fs_file.fd) and mappings theirs (which pagecache/ may
 *   also close and reopen by handle), so the data path never needs the
 *   O_PATH descriptor.
 *
 *   Without a descriptor the backing inode number can be reused by a new
 *   file once the old one is deleted.  The handle carries the filesystem's
 *   generation number, so the key is (dev, ino, handle): a recycled number
 *   is a different inode.  The root, and every inode when handles are
 *   unavailable (not root, EOPNOTSUPP: logged once), keep their descriptor
 *   for life, as before: then the open descriptor keeps the number from
 *   being reused, and (dev, ino) alone is unique.
 *
 *   A descriptor is used between fs_inode_fd_get() and fs_inode_fd_put():
 *   a pinned descriptor is never closed by the LRU, so its number cannot
 *   be reused for another file while a syscall still uses it.  Never call
 *   fs_inode_fd_get() under fs_creds_push(): open_by_handle_at needs the
 *   capability a non-root fsuid drops.
 *
 *   Life of an inode:
 *
 *     lookup/create/mkdir/...  (absent) --> hashed, nlookup = 1
 *     lookup again                      nlookup++
 *     open/opendir                      refcount++  (released: refcount--)
 *     FORGET n                          nlookup -= n
 *     nlookup == 0 && refcount == 0:
 *        mapping clean (or none)   --> unhashed and freed
 *        mapping dirty/in flight   --> ZOMBIE: still hashed, on fs->zombies;
 *                                      a lookup resurrects it (same mapping),
 *                                      the reaper frees it once clean
 *
 *   Requests from the kernel need no reference of their own: the kernel
 *   pins its inode while a request on it is in flight and sends FORGET only
 *   at eviction, after the last RELEASE (which it sends holding the inode).
 *   Our refcount covers what the kernel does not promise: open files and
 *   directory handles.
 *
 *   The mapping (regular files only) is created at the first open (or the
 *   first truncate) and kept until the inode is freed or fs_stop(); it is
 *   written once under inode->lock and read without it.
 *
 * LOCK ORDER (outermost first; none is held across a FUSE reply)
 *
 *   dir->lock           per directory handle: the DIR stream and its
 *     |                 position.  Held across readdir() of the backing
 *     |                 directory and the lookups READDIRPLUS makes.
 *     +-- fs->table_lock    short: the hash table, every inode's nlookup,
 *     |     |               refcount, zombie link; the generation counter.
 *     |     +-- mapping->lock   (pagecache's short locks) only through
 *     |                         pc_mapping_dirty_bytes() and
 *     |                         pc_writeback_start() when deciding
 *     |                         whether a forgotten inode can be freed.
 *     +-- inode->lock       per inode: nopen, mapping creation and upgrade,
 *           |               the EOF guard, the wb_err of
 *           |               every open file of the inode, its lock owners
 *           |               and their refs, each open file's flock_fd
 *           |               creation (lock.c).  May be held
 *           |               across open() of the backing file and
 *           |               pc_mapping_create/_set_fd; never across
 *           |               pc_read/pc_write/pc_truncate/pc_write_and_wait,
 *           |               a lock call that may wait, and never with
 *           |               table_lock.
 *           +-- mapping->lock   (pc_errseq_*, pc_mtime, pc_mapping_*).
 *
 *   fs->fd_lock         leaf: the O_PATH descriptor cache (every inode's
 *                       fd, fd_pins and LRU link, fs->nfds) and the mount
 *                       descriptors.  Taken alone, or inside table_lock
 *                       (a lookup installs the descriptor it opened before
 *                       a FORGET can free the new inode).  close() of
 *                       evicted descriptors waits until it is dropped;
 *                       open_by_handle_at runs without it.  A descriptor
 *                       is pinned before inode->lock is taken and unpinned
 *                       after it is dropped, never under it.
 *   fs->events_lock     held by whoever reads the inotify descriptor (the
 *     |                 watcher, or a lock operation draining it) until
 *     |                 it has acted on what it read; takes watch_lock and
 *     |                 notify_lock under it.  Taken with no other lock.
 *   watch->check_lock   per watch: one check at a time (the watcher's or
 *     |                 a lock operation's); held across fstat,
 *     |                 pc_write_and_wait, pc_invalidate_range and queueing
 *     |                 to the notifier; takes watch_lock and mapping
 *     |                 locks under it.  Taken with no other lock; never
 *     |                 two at once.
 *   fs->lock_lock       leaf: the lock waiters' queue (lock.c).  libfuse
 *                       calls lock.c's interrupt callback holding the
 *                       request's own lock, which is thus above it.
 *
 *   fs->watch_lock      leaf: the watcher's list, every inode->watch and
 *                       each watch's inotify descriptor and references
 *                       (watch.c).  Taken with no other lock held; only
 *                       inotify_rm_watch runs under it.  The watcher checks a
 *                       file (fstat, pc_backing_mods, pc_write_and_wait,
 *                       pc_invalidate_range, pc_read) holding none of our
 *                       locks, and reaches the kernel only by queueing to
 *                       the notifier (notify_lock, a leaf).
 *
 *   pagecache/ never calls back into fs/, so holding one of our locks while
 *   it takes its own cannot deadlock.
 *
 *   Some handler paths wait for another worker: a WRITE (fallocate,
 *   copy_file_range) that grows a file waits, before replying, for the
 *   notifier thread to make the kernel drop the page that held EOF, and the
 *   kernel may launder that page with a WRITE another worker must answer;
 *   a lock release fsync()s the locked file through the mount and
 *   syncfs()s it (OPEN, WRITE, FSYNC, FLUSH, RELEASE come back to other
 *   workers), and a lock acquisition waits for the notifier's
 *   invalidation (lock.c).  They hold none of our locks then, and at most
 *   max_threads / 2 handlers wait so at once (fs->notify_waiters).  No
 *   handler ever waits for a lock held elsewhere: the lock thread retries
 *   contended locks.  notify_lock is a leaf lock.
 */
#ifndef MMAPFS_FS_I_H
#define MMAPFS_FS_I_H

#include "fs/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pagecache/pagecache.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uintptr_t),
	       "fuse_ino_t must hold a pointer");

/* Largest READ/WRITE we negotiate (conn->max_write), and the per-thread
 * bounce buffer size (one page of slack for unaligned requests). */
#define FS_MAX_IO		(1024 * 1024)
#define FS_IO_BUF_SIZE		(FS_MAX_IO + 4096)

/* "/proc/self/fd/" + an int + NUL */
#define FS_PROC_PATH_MAX	32

/* Links of the O_PATH descriptor LRU (fs->fd_lock). */
struct fs_lru {
	struct fs_lru *prev, *next;
};

struct fs_inode {
	/* Identity: constant from creation to free. */
	dev_t dev;
	ino_t ino;
	/* The backing file's handle, or NULL: then fd is open for life. */
	struct file_handle *handle;
	int mount_fd;			/* with handle: fs->mounts' */
	mode_t type;			/* st_mode & S_IFMT */
	uint64_t generation;

	/* O_PATH|O_NOFOLLOW, or -1 while not cached (handle only).  Without
	 * a handle: constant.  With one: fs->fd_lock, like fd_pins (users
	 * between fs_inode_fd_get and _put) and lru (listed iff fd >= 0). */
	int fd;
	unsigned int fd_pins;
	struct fs_lru lru;

	/* protected by fs->table_lock */
	struct fs_inode *hash_next;
	uint64_t nlookup;		/* the kernel's lookup count */
	uint64_t refcount;		/* ours: open files, dir handles */
	bool zombie;			/* forgotten, mapping still dirty */
	struct fs_inode *zombie_prev;
	struct fs_inode *zombie_next;

	pthread_mutex_t lock;
	unsigned int nopen;		/* protected by lock */
	/* Regular files: those open (newest first), protected by lock.  The
	 * first one's descriptor is lent to the mapping for the watcher's
	 * fstat() (pc_mapping_lend_fd): file.c. */
	struct fs_file *open_files;
	/*
	 * [guard_start, guard_end): the part past the old EOF of the page
	 * that held EOF before a SETATTR grew the size, when it could not be
	 * zeroed in the kernel's copy; the kernel may still launder stale
	 * stores there (see file.c).  Empty if equal.  Protected by lock.
	 */
	off_t guard_start;
	off_t guard_end;
	/* Start of the page the kernel dropped at our request and has not
	 * brought back uptodate since (no READ, write-back or full-page
	 * WRITE of it seen); -1 if none.  Protected by lock. */
	off_t dropped_page;
	/* The kernel may hold uptodate pages of this file that it has not
	 * just written: set at its first READ, write-back or truncate. */
	_Atomic bool kernel_cached;
	/* Written under lock (once, or NULL at fs_stop); read without. */
	_Atomic(struct pc_mapping *) mapping;
	/* fs_now_ms() of a recent request on it (coarse, no lock): the
	 * watcher polls active files more often. */
	_Atomic uint64_t active_ms;
	/* nopen, for the watcher to read without the lock: a file open
	 * through the mount is polled as active. */
	atomic_uint nopen_hint;
	struct fs_watch *watch;		/* fs->watch_lock; watch.c */
	_Atomic bool dir_watched;	/* fs_watch_dir was called */
	_Atomic uint64_t meta_ops;	/* fs_meta_op_end(fs, this) */
	atomic_uint meta_busy;		/* such changes in progress */
	/* POSIX lock owners with a backing description (lock.c); lock. */
	struct fs_lock_owner *lock_owners;
	atomic_uint nwriters;		/* open files opened for writing */
};

/*
 * Every open file and directory handle is on fs->handles, so that those the
 * kernel never releases (the connection was aborted: SIGTERM on a busy
 * mount, umount -l) are freed by fs_destroy.
 */
struct fs_handle {
	struct fs_handle *prev;		/* fs->handles_lock */
	struct fs_handle *next;		/* fs->handles_lock */
	bool dir;			/* struct fs_dir, else struct fs_file */
};

/* One open regular file (fi->fh). */
struct fs_file {
	struct fs_handle h;		/* first: the handle list */
	struct fs_inode *inode;		/* holds a refcount */
	struct fs_file *open_next;	/* inode->lock: inode->open_files */
	int fd;				/* caller's flags minus O_APPEND,
					 * O_DIRECT, O_TRUNC, O_CREAT, O_EXCL:
					 * for fallocate, lseek and
					 * copy_file_range */
	pc_errseq_t wb_err;		/* protected by inode->lock */
	bool writer;			/* opened for writing (constant) */
	/* flock(): our own description of the backing file, -1 until the
	 * first flock (lock.c); set under inode->lock, closed at release */
	_Atomic int flock_fd;
	_Atomic bool flock_ex;		/* holds (held) LOCK_EX since the
					 * last release flush */
};

/* One open directory (fi->fh). */
struct fs_dir {
	struct fs_handle h;		/* first: the handle list */
	struct fs_inode *inode;		/* holds a refcount */
	pthread_mutex_t lock;
	DIR *dp;			/* protected by lock */
	struct dirent *entry;		/* read, not yet returned; lock */
	off_t offset;			/* position of dp; lock */
};

/* The caller's identity, for operations that create a file. */
struct fs_creds {
	uid_t uid;
	gid_t gid;
	int ngroups;			/* -1: unknown, use { gid } */
	gid_t groups[64];
	mode_t umask;			/* create, mknod, mkdir: the caller's
					 * umask, for fs_umask_push */
};

struct fs_notify_req;

struct fs {
	struct fs_config cfg;		/* backing_dir is our own copy */
	struct fs_inode root;
	bool as_root;			/* euid 0: create as the caller */
	/* The kernel sends modes without the caller's umask (DONT_MASK,
	 * with POSIX_ACL): creations apply it themselves (creds.c). */
	_Atomic bool dont_mask;
	uid_t euid;
	gid_t egid;
	int ngroups;			/* our supplementary groups, */
	gid_t *groups;			/* restored after each creation */

	pthread_mutex_t table_lock;
	struct fs_inode **buckets;	/* table_lock */
	size_t nbuckets;		/* table_lock; a power of two */
	size_t count;			/* table_lock; hashed inodes */
	struct fs_inode zombies;	/* table_lock; list head */
	size_t nzombies;		/* table_lock */
	uint64_t next_generation;	/* table_lock */

	/* The O_PATH descriptor cache (inode.c). */
	pthread_mutex_t fd_lock;	/* a leaf lock */
	bool use_handles;		/* constant after fs_create */
	struct fs_lru fd_lru;		/* fd_lock: most recent first */
	size_t nfds;			/* fd_lock: descriptors on fd_lru */
	size_t max_path_fds;		/* constant */
	struct fs_mount {
		int mount_id;
		int fd;			/* O_PATH on that mount; for life */
	} *mounts;			/* fd_lock */
	size_t nmounts;			/* fd_lock */

	struct pc_cache *cache;		/* set by fs_start */
	struct fuse_session *se;	/* set by fs_start */
	pthread_key_t buf_key;		/* per-thread I/O buffer */
	_Atomic bool init_refused;
	_Atomic unsigned int notify_waiters; /* handlers waiting on one */
	/* The old EOF page after a growth (file.c), logged at unmount. */
	struct {
		atomic_ullong zeroed;	/* its tail zeroed (notify_store) */
		atomic_ullong drops;	/* asked the kernel to drop it */
		atomic_ullong late;	/* neither zeroed nor dropped in time */
		atomic_ullong cut;	/* write-backs the guard cut */
		atomic_ullong cut_bytes; /* bytes they lost */
	} eof_stats;

	/* The notifier thread (notify.c). */
	pthread_mutex_t notify_lock;
	pthread_cond_t notify_cond;	/* wakes the notifier */
	pthread_cond_t notify_done;	/* wakes waiting handlers */
	struct fs_notify_req *notify_head; /* notify_lock */
	struct fs_notify_req *notify_tail; /* notify_lock */
	bool notify_stop;		/* notify_lock */
	bool notify_busy;		/* notify_lock: one is being sent */
	bool notify_running;
	pthread_t notifier;

	/*
	 * Kernel invalidations of file data, for fs_write_buf (notify.c):
	 * per slot (inode number % FS_INVAL_SLOTS) whether one is being sent
	 * and when the last one ended.  A write(2) the kernel copied into a
	 * cached folio just before an invalidation dropped that folio
	 * reaches us after a mapper may have read the page again from us -
	 * without the new bytes - so a WRITE arriving during or soon after
	 * one is invalidated again once cached.
	 */
#define FS_INVAL_SLOTS	256
	struct {
		atomic_uint busy;
		_Atomic uint64_t end_ms;
	} inval_slot[FS_INVAL_SLOTS];

	/* The watcher thread (watch.c). */
	pthread_mutex_t watch_lock;	/* a leaf lock */
	struct fs_watch *watch_list;	/* watch_lock: doubly linked */
	struct fs_watch **wd_buckets;	/* watch_lock: listed watches by
					 * inotify wd (watch.c) */
	pthread_t watcher;
	bool watch_running;
	int watch_wake;			/* eventfd: stop the watcher */
	int inotify_fd;			/* -1: polling only */
	size_t nwatches;		/* watch_lock */
	struct fs_watch **watch_heap;	/* watch_lock: file watches not being
					 * checked, by heap_at (watch.c) */
	size_t watch_heap_n, watch_heap_cap; /* watch_lock */
	_Atomic bool watch_enospc_logged;
	_Atomic bool expire_unsupported; /* kernel lacks expire_entry */
	/* Bumped after each UNLINK and RENAME we make: a ctime-only change
	 * the watcher sees after it moved is ours (watch.c). */
	_Atomic uint64_t meta_ops;
	atomic_uint meta_busy;		/* such changes in progress */
	struct fs_own_name {
		const struct fs_inode *dir;
		uint32_t hash;
		uint64_t ms;
	} own_names[256];		/* watch_lock: a ring */
	unsigned int own_next;		/* watch_lock */
	struct {
		atomic_ullong checks, outside, own, busy, invals, stores;
		atomic_ullong entries, own_entries, verified;
	} watch_stats;

	/* Locks (lock.c): waiters for a contended lock, retried by the
	 * lock thread so that no FUSE worker ever blocks on one. */
	pthread_mutex_t lock_lock;	/* a leaf lock */
	pthread_cond_t lock_cond;
	struct fs_lock_wait *lock_waits; /* lock_lock */
	unsigned int nlock_waits;	/* lock_lock */
	bool lock_stop;			/* lock_lock */
	bool lock_kick;			/* lock_lock: retry all now */
	bool lock_running;
	pthread_t locker;
	int lock_tree;			/* lock_lock: a cached directory fd
					 * on a clone of the mount, or -1 */
	bool lock_tree_busy;		/* lock_lock: lent out */
	uint64_t lock_tree_ms;		/* lock_lock: fs_now_ms of last use */
	atomic_uint open_writers;	/* open files opened for writing */
	_Atomic bool lock_flush_skip_logged;
	struct {
		atomic_ullong getlk, setlk, flock, waits, releases, acquires;
		atomic_ullong kernel_flushes, kernel_fsyncs, invals;
	} lock_stats;
	/* Serialises reading the inotify descriptor with acting on what
	 * was read (watch.c): a lock acquisition drains it itself. */
	pthread_mutex_t events_lock;

	pthread_mutex_t handles_lock;	/* a leaf lock */
	struct fs_handle handles;	/* handles_lock; list head */

	/* The zombie reaper thread. */
	pthread_mutex_t reaper_lock;
	pthread_cond_t reaper_cond;
	bool reaper_stop;		/* reaper_lock */
	bool reaper_running;
	pthread_t reaper;
};

/* ---- kflush.c ----------------------------------------------------------- */

/* A file handle of our own mount, as the FUSE kernel encodes it. */
struct fs_fuse_handle {
	struct file_handle h;
	uint32_t id[3];			/* the storage of h.f_handle */
};

void fs_fuse_handle_of(struct fs *fs, struct fs_inode *inode,
		       struct fs_fuse_handle *h);

/*
 * fs_kflush - from a child that holds no descriptor of ours but those it
 * needs (kflush.c): fsync() the @n files @h of our mount, then syncfs() it
 * if @do_syncfs.  *@dirp: a directory descriptor on a detached clone of the
 * mount to use, or -1 to make one and return it in *@dirp for reuse (the
 * caller closes it); @dirp NULL: make one for this call only.  Returns 0
 * or -errno of the opening or the syncfs.  No lock may be held: the calls
 * come back to our workers.
 */
int fs_kflush(struct fs *fs, int *dirp, const struct fs_fuse_handle *h,
	      size_t n, bool do_syncfs);

/* ---- names.c ------------------------------------------------------------ */

/*
 * fs_name_check - a name the kernel sends for a directory entry: 0 if it is
 * one path component, -EINVAL for "", ".", ".." or a name containing '/',
 * -ENAMETOOLONG past NAME_MAX bytes.
 */
int fs_name_check(const char *name);

/* fs_is_dot_or_dotdot - true for "." and "..". */
bool fs_is_dot_or_dotdot(const char *name);

/* fs_proc_path - "/proc/self/fd/<fd>" into @buf (FS_PROC_PATH_MAX bytes). */
void fs_proc_path(char *buf, int fd);

/* ---- inode.c ------------------------------------------------------------ */

int fs_table_init(struct fs *fs);
/* Free every hashed inode (fs_stop must have run). */
void fs_table_destroy(struct fs *fs);

/* fs_inode_of - the inode behind a fuse_ino_t; fs_ino_of - the reverse. */
struct fs_inode *fs_inode_of(struct fs *fs, fuse_ino_t ino);
fuse_ino_t fs_ino_of(struct fs *fs, const struct fs_inode *inode);

/*
 * fs_handles_init - decide whether inodes are identified by file handle
 * (see DESCRIPTORS above): probe the root, log one line if not.  Sets
 * fs->use_handles and fs->max_path_fds (@max, 0: scaled from
 * RLIMIT_NOFILE).
 */
void fs_handles_init(struct fs *fs, unsigned int max);
/* fs_mounts_close - close the mount descriptors (fs_destroy, last). */
void fs_mounts_close(struct fs *fs);

/*
 * fs_inode_lookup_fd - find or insert the inode of the O_PATH descriptor
 * @fd whose fstatat() is @st, and count one kernel lookup on it.  Takes
 * ownership of @fd (closed, or cached for the known inode).  Resurrects a
 * zombie.  Returns 0 and sets *out, or -errno (then @fd is closed).
 */
int fs_inode_lookup_fd(struct fs *fs, int fd, const struct stat *st,
		       struct fs_inode **out);

/*
 * fs_inode_fd_get - the inode's O_PATH descriptor, reopened by handle if
 * the LRU dropped it, pinned until fs_inode_fd_put(): >= 0, or -errno
 * (-ENOENT: the backing file is gone).  Takes and drops fd_lock only.
 */
int fs_inode_fd_get(struct fs *fs, struct fs_inode *inode);
void fs_inode_fd_put(struct fs *fs, struct fs_inode *inode);

/*
 * fs_handle_of - the handle of @name in @dirfd (not following a final
 * symlink; "" with AT_EMPTY_PATH in @flags: @dirfd itself) when inodes
 * are identified by handle; NULL otherwise or on failure.  free() it.
 */
struct file_handle *fs_handle_of(struct fs *fs, int dirfd, const char *name,
				 int flags, int *mount_id);

/* fs_inode_lookup_more - one more kernel lookup of a known inode (link). */
void fs_inode_lookup_more(struct fs *fs, struct fs_inode *inode);

/* fs_inode_forget - the kernel forgets @n lookups; frees at zero. */
void fs_inode_forget(struct fs *fs, struct fs_inode *inode, uint64_t n);

/* Our reference: taken by open files and directory handles. */
void fs_inode_get(struct fs *fs, struct fs_inode *inode);
void fs_inode_put(struct fs *fs, struct fs_inode *inode);
/* The hashed inode of (dev, ino, @handle: NULL if not by handle) with a
 * reference of ours, or NULL. */
struct fs_inode *fs_inode_find_get(struct fs *fs, dev_t dev, ino_t ino,
				   const struct file_handle *handle);

/*
 * fs_inode_reap - free zombies whose mapping has become clean (all of them,
 * clean or not, if @all: used by fs_stop once the session is over).
 * Returns the number freed.
 */
size_t fs_inode_reap(struct fs *fs, bool all);

/* fs_table_put_mappings - drop every inode's mapping reference (fs_stop). */
void fs_table_put_mappings(struct fs *fs);

/* Counts for tests and debug logs (taken under table_lock). */
/*
 * fs_table_writers - append the FUSE handle of every regular file open for
 * writing (nwriters > 0) to the array *h of *n used / *cap slots
 * (realloc()ed).  Under table_lock.  0 or -ENOMEM.
 */
int fs_table_writers(struct fs *fs, struct fs_fuse_handle **h, size_t *n,
		     size_t *cap);

size_t fs_table_count(struct fs *fs);
size_t fs_table_zombies(struct fs *fs);

/* fs_inode_mapping - the inode's mapping or NULL. */
static inline struct pc_mapping *fs_inode_mapping(struct fs_inode *inode)
{
	return atomic_load_explicit(&inode->mapping, memory_order_acquire);
}

/* ---- attr.c ------------------------------------------------------------- */

/*
 * fs_attr_merge - turn the backing file's @st into the logical attributes:
 * st_size = @size, mtime and ctime = the later of the backing time and
 * @mtime, and when @dirty at least ceil(size / 512) blocks (tools such as
 * tar take a file with st_blocks == 0 for a hole and would skip data we
 * have not written back yet).  Pure; unit-tested.
 */
void fs_attr_merge(struct stat *st, off_t size, struct timespec mtime,
		   bool dirty);

/*
 * fs_inode_fill_attr - @st holds fstatat() of the inode's descriptor;
 * merge the mapping's logical size and times into it if there is one.
 */
void fs_inode_fill_attr(struct fs_inode *inode, struct stat *st);

/* fs_inode_stat - fstatat() the inode and fill the logical attributes. */
int fs_inode_stat(struct fs *fs, struct fs_inode *inode, struct stat *st);

/* ---- file.c ------------------------------------------------------------- */

/*
 * fs_inode_mapping_ensure - the inode's mapping, created if needed (the
 * backing file reopened through /proc/self/fd read-write, read-only if
 * that is refused), upgraded to a writable descriptor if @want_write and
 * it is read-only.  *created tells whether this call made it (may be NULL).
 * Requires fs->cache.  Returns 0 or -errno.
 */
int fs_inode_mapping_ensure(struct fs *fs, struct fs_inode *inode,
			    bool want_write, struct pc_mapping **out,
			    bool *created);

/*
 * fs_eof_size_set - the logical size changes from @old to @new by a
 * truncation the kernel knows of (SETATTR, O_TRUNC), after which it drops
 * all its pages of the file.  Call before the reply.  If it grows, zero
 * the rest of the old EOF page in the kernel's copy, or if that cannot be
 * done guard it (see file.c); otherwise disarm the guard.
 */
void fs_eof_size_set(struct fs *fs, struct fs_inode *inode, off_t old,
		     off_t new);

/* Per-thread bounce buffer of at least @size bytes, or NULL. */
void *fs_thread_buf(struct fs *fs, size_t size);

/* fs_handle_add, fs_handle_del - keep the list of open handles (fs.c). */
void fs_handle_add(struct fs *fs, struct fs_handle *h, bool dir);
void fs_handle_del(struct fs *fs, struct fs_handle *h);

/* ---- notify.c ----------------------------------------------------------- */

int fs_notify_start(struct fs *fs);
void fs_notify_stop(struct fs *fs);

/*
 * fs_wait_budget_get - take one of the max_threads / 2 places for handlers
 * that wait on the kernel or on other workers (fs->notify_waiters); false
 * if none is free (always with max_threads 1).  fs_wait_budget_put gives
 * it back.
 */
bool fs_wait_budget_get(struct fs *fs);
void fs_wait_budget_put(struct fs *fs);

/*
 * fs_notify_inval - have the notifier thread send notify_inval_inode(@ino,
 * @off, @len) and wait up to @wait_ms (0: not at all) for it to be done.
 * Returns true if it was done in time; otherwise it is still carried out.
 * Call without any lock held.
 */
bool fs_notify_inval(struct fs *fs, fuse_ino_t ino, off_t off, off_t len,
		     unsigned int wait_ms);
/* The same, for an outside change (watch.c): marks the inode's inval_slot
 * for fs_write_buf. */
bool fs_notify_inval_outside(struct fs *fs, fuse_ino_t ino, unsigned int wait_ms);

/*
 * fs_notify_store - have the notifier thread send notify_store(@ino, @off,
 * @data, @len) (it takes ownership of @data, a malloc()ed buffer), waiting
 * as fs_notify_inval does.  Call without any lock held.
 */
bool fs_notify_store(struct fs *fs, fuse_ino_t ino, off_t off, void *data,
		     size_t len, unsigned int wait_ms);

/*
 * fs_notify_entry - have the notifier expire the kernel's entry @name in
 * directory @parent (notify_expire_entry; inval_entry on kernels without
 * it), without waiting.  Call without any lock held.
 */
bool fs_notify_entry(struct fs *fs, fuse_ino_t parent, const char *name);

/*
 * fs_notify_barrier - wait up to @wait_ms until everything queued to the
 * notifier before this call has been carried out (it is a FIFO).  Returns
 * true if so.  Call without any lock held.
 */
bool fs_notify_barrier(struct fs *fs, unsigned int wait_ms);

/* fs_notify_pending - something is queued to the notifier or being sent. */
bool fs_notify_pending(struct fs *fs);

/* ---- watch.c ------------------------------------------------------------ */

/*
 * The watcher thread: notices changes made to backing files outside this
 * mount and makes our cache and the kernel's follow them (SEMANTICS A6).
 * Not started with -o no_revalidate; then the other calls do nothing.
 */
int fs_watch_start(struct fs *fs);
void fs_watch_stop(struct fs *fs);

/*
 * fs_watch_add - start watching @inode's backing file, whose mapping @m
 * was just created.  Takes its own references (mapping, O_PATH descriptor).
 * Call without any lock held.
 */
void fs_watch_add(struct fs *fs, struct fs_inode *inode, struct pc_mapping *m);

/* fs_watch_del - stop watching @inode (it is being freed).  No lock held. */
void fs_watch_del(struct fs *fs, struct fs_inode *inode);

/*
 * fs_watch_dir - the kernel is about to cache names in directory @dir:
 * watch it, so that names created, removed or renamed there from outside
 * are expired in the kernel at once instead of after entry_timeout.
 * Cheap after the first call.  Call without any lock held.
 */
void fs_watch_dir(struct fs *fs, struct fs_inode *dir);

/*
 * fs_watch_own_name - this daemon is about to create, remove or rename
 * @name in @dir: the inotify event it causes is not an outside change.
 */
void fs_watch_own_name(struct fs *fs, struct fs_inode *dir, const char *name);

/* fs_watch_touch - a request used @inode: poll it as an active file. */
void fs_watch_touch(struct fs_inode *inode);

/*
 * fs_meta_op_begin, fs_meta_op_end - around a metadata change we make to
 * @inode (SETATTR, xattrs, LINK: its ctime, perhaps its times), or to an
 * inode we only know by name (@inode NULL: UNLINK, RENAME move only
 * ctime), so that the watcher takes the stat change for ours.
 */
static inline void fs_meta_op_begin(struct fs *fs, struct fs_inode *inode)
{
	atomic_fetch_add(inode ? &inode->meta_busy : &fs->meta_busy, 1);
}

static inline void fs_meta_op_end(struct fs *fs, struct fs_inode *inode)
{
	atomic_fetch_add(inode ? &inode->meta_ops : &fs->meta_ops, 1);
	atomic_fetch_sub(inode ? &inode->meta_busy : &fs->meta_busy, 1);
}

/*
 * fs_watch_lock_acquire - a lock on @inode was just granted through this
 * mount: before the reply, act on every outside change inotify has
 * reported so far (files and names, all of the mount), and fstat @inode's
 * backing file against the state our cache held at our last release: if it
 * differs, drop our clean pages and queue the kernel's invalidation.
 * Returns true if something was queued to the notifier (the caller waits
 * for it with fs_notify_barrier).  Call without any lock held.
 *
 * fs_watch_lock_release - a write lock is about to be released through
 * this mount: first take over outside changes inotify reported, then
 * write back and commit every file of the mount we changed since its last
 * baseline, and make the result the new baseline.  (The kernel's dirty
 * mapped pages must already have reached us: lock.c syncfs()s the mount.)
 * Returns as fs_watch_lock_acquire.  Call without any lock held.
 */
bool fs_watch_lock_acquire(struct fs *fs, struct fs_inode *inode);
bool fs_watch_lock_release(struct fs *fs);

/* A coarse monotonic clock in ms (CLOCK_MONOTONIC_COARSE). */
uint64_t fs_now_ms(void);

/* ---- lock.c ------------------------------------------------------------- */

/* The lock thread: retries waiters of contended locks (SETLKW, flock). */
int fs_lock_start(struct fs *fs);
void fs_lock_stop(struct fs *fs);

/*
 * fs_lock_flush_owner - FLUSH: the owner @owner closed a descriptor of
 * @inode: release all its POSIX locks on it (after publishing its writes
 * if it held a write lock).  Cheap when nothing was ever locked.
 */
void fs_lock_flush_owner(struct fs *fs, struct fs_inode *inode,
			 uint64_t owner);

/* fs_lock_release_file - RELEASE: drop the open file's flock and the OFD
 * locks taken through it. */
void fs_lock_release_file(struct fs *fs, struct fs_file *file);

/* fs_lock_inode_free - close the lock descriptions of a freed inode. */
void fs_lock_inode_free(struct fs_inode *inode);

void fs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct flock *lock);
void fs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      struct flock *lock, int sleep);
void fs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	      int op);

/* ---- creds.c ------------------------------------------------------------ */

/* fs_creds_of - the caller of @req (uid, gid, supplementary groups). */
void fs_creds_of(fuse_req_t req, struct fs_creds *cr);

/*
 * fs_creds_push - when the daemon runs as root and @cr is not root, switch
 * this thread's fsuid, fsgid and groups to @cr, so that what the next
 * syscall creates belongs to the caller.  Returns true if switched (then
 * fs_creds_pop must follow).  @cr may be NULL (no switch).
 */
bool fs_creds_push(struct fs *fs, const struct fs_creds *cr);
void fs_creds_pop(struct fs *fs);

/*
 * fs_caller_capable - whether the caller of @req has capability @cap
 * (CAP_SYS_ADMIN, ...) in our user namespace, from /proc/PID/status;
 * uid 0 when that cannot be read.
 */
bool fs_caller_capable(fuse_req_t req, int cap);

/*
 * fs_umask_push - before a syscall that creates a file, directory or node
 * for @cr: when the kernel left the caller's umask to us (fs->dont_mask),
 * make it this thread's umask, so that the backing filesystem applies it
 * exactly as for the caller: ignored under a default ACL, applied
 * otherwise.  Returns true if fs_umask_pop must follow.  If the thread
 * cannot have a umask of its own, the umask is taken out of *@mode
 * instead (default ACLs then see a masked mode).
 */
bool fs_umask_push(struct fs *fs, const struct fs_creds *cr, mode_t *mode);
void fs_umask_pop(void);

/* ---- entry.c / file.c / dir.c: the work behind each handler ------------- */

void fs_entry_init(struct fs *fs, struct fuse_entry_param *e);
int fs_do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		 struct fuse_entry_param *e);
/* fs_reply_entry - reply, and undo the lookup if the kernel never got it. */
void fs_reply_entry(fuse_req_t req, struct fs *fs,
		    const struct fuse_entry_param *e);
int fs_do_mknod(struct fs *fs, const struct fs_creds *cr, fuse_ino_t parent,
		const char *name, mode_t mode, dev_t rdev, const char *link,
		struct fuse_entry_param *e);
int fs_do_link(struct fs *fs, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname, struct fuse_entry_param *e);
int fs_do_unlink(struct fs *fs, fuse_ino_t parent, const char *name,
		 bool dir);
int fs_do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname,
		 unsigned int flags);
int fs_do_setattr(struct fs *fs, fuse_ino_t ino, const struct stat *attr,
		  int valid, struct stat *out);

int fs_do_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi);
int fs_do_create(struct fs *fs, const struct fs_creds *cr, fuse_ino_t parent,
		 const char *name, mode_t mode, struct fuse_file_info *fi,
		 struct fuse_entry_param *e);
void fs_file_close(struct fs *fs, struct fs_file *file);

/* Handlers, grouped by file; fs.c assembles fs_ops from them. */
void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_forget_multi(fuse_req_t req, size_t count,
		     struct fuse_forget_data *forgets);
void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		struct fuse_file_info *fi);
void fs_readlink(fuse_req_t req, fuse_ino_t ino);
void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
	      mode_t mode, dev_t rdev);
void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	      mode_t mode);
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name);
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags);
void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	     const char *newname);
void fs_statfs(fuse_req_t req, fuse_ino_t ino);
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void fs_access(fuse_req_t req, fuse_ino_t ino, int mask);

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* (not fs_create: that name is the constructor in fs.h) */
void fs_create_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv,
		  off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi);
void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
		  off_t len, struct fuse_file_info *fi);
void fs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi);
void fs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			off_t off_out, struct fuse_file_info *fi_out,
			size_t len, int flags);

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);

/* ---- helpers ------------------------------------------------------------ */

static inline struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct fs_file *fs_file_of(const struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

static inline struct fs_dir *fs_dir_of(const struct fuse_file_info *fi)
{
	return (struct fs_dir *)(uintptr_t)fi->fh;
}

/* fs_reply_err - reply 0 or the -errno @ret. */
static inline void fs_reply_err(fuse_req_t req, int ret)
{
	fuse_reply_err(req, -ret);
}

#define fs_debug(fs, ...)						\
	do {								\
		if ((fs)->cfg.debug)					\
			fuse_log(FUSE_LOG_DEBUG, __VA_ARGS__);		\
	} while (0)

#endif /* MMAPFS_FS_I_H */
