/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs.h - the FUSE low-level filesystem over a backing directory.
 *
 * fs/ answers the kernel's requests.  Metadata operations go straight to the
 * backing directory, always relative to an inode's O_PATH descriptor (no path
 * is ever resolved by name from the root, no symlink is ever followed inside
 * the daemon).  The data of regular files goes through pagecache/: every
 * regular-file inode that has been opened owns one struct pc_mapping, kept
 * until the kernel forgets the inode, and every attribute reply carries the
 * mapping's logical size and times.
 *
 * Data flows one way: kernel -> fs/ -> pagecache/ -> backing files.
 *
 * REFERENCES AND LIFETIMES
 *
 *   An inode (struct fs_inode, fs_i.h) is the fuse_ino_t the kernel holds.
 *   It has two counts, as the kernel's own inodes do: nlookup, the kernel's
 *   lookup count (raised by every reply that hands out the inode, lowered by
 *   FORGET), and refcount, ours (one per open file or directory handle).  It
 *   is freed only when both are zero *and* its mapping holds no dirty or
 *   in-flight page: until then a forgotten inode stays findable (a "zombie"),
 *   so that a new lookup of the same file gets the same mapping back instead
 *   of a second, incoherent one reading stale bytes from the backing file.
 *   The root inode belongs to struct fs and is never freed by FORGET.
 *
 * Life cycle (driven by daemon/):
 *   fs_create()        before the session exists: checks the backing dir,
 *                      builds the root inode, sets the process umask to 0
 *                      (the kernel already applied the caller's).  Starts
 *                      no thread (the daemon may still fork to daemonize).
 *   fuse_session_new(..., &fs_ops, sizeof(fs_ops), fs)
 *   fs_start()         after mounting and daemonizing: attaches the cache
 *                      and the session, starts fs/'s own threads (the
 *                      zombie reaper, the notifier, the watcher).
 *   ... session loop ...
 *   fs_stop()          stops fs/'s threads, drops every inode's mapping
 *                      reference (dirty data stays in the cache, which
 *                      the daemon then syncs).
 *   fs_destroy()
 *
 * Descriptors: with file handles (fs_i.h, DESCRIPTORS) the daemon holds one
 * per open file, at most max_path_fds O_PATH ones and at most the cache's
 * max_fds of cached files, plus one per mount under the backing directory.
 * Without them (not root, or a filesystem without handles) every inode the
 * kernel knows holds one O_PATH descriptor and every cached file one more:
 * then the daemon must raise RLIMIT_NOFILE.
 */
#ifndef MMAPFS_FS_H
#define MMAPFS_FS_H

/*
 * The libfuse API level all of mmapfs compiles against: 3.12 brings the
 * fuse_loop_cfg_* interface used by the daemon.  Include this header before
 * any FUSE header.
 */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <stdbool.h>

struct fuse_session;
struct fuse_lowlevel_ops;
struct pc_cache;
struct fs;

struct fs_config {
	const char *backing_dir;	/* absolute path of BACKING_DIR */
	const char *mountpoint;		/* absolute path of the mount point
					 * (lock.c syncfs()s a clone of it
					 * when a lock is released); may be
					 * NULL */
	double attr_timeout;		/* seconds the kernel may cache attrs */
	double entry_timeout;		/* seconds the kernel may cache names */
	unsigned int max_threads;	/* FUSE workers (1: single-threaded):
					 * a handler may wait for another
					 * worker only if there are several */
	unsigned int revalidate_ms;	/* poll active backing files for
					 * outside changes this often */
	bool no_revalidate;		/* nothing else changes the backing
					 * dir: don't watch for it */
	bool lock_coherence;		/* a lock release publishes, an
					 * acquisition revalidates (lock.c) */
	bool local_locks;		/* the kernel keeps locks to itself:
					 * nothing is forwarded */
	bool debug;			/* log every request */
	unsigned int max_path_fds;	/* O_PATH descriptors cached, at most
					 * (0: RLIMIT_NOFILE / 8) */
};

/* The operations table; the session's userdata must be the struct fs. */
extern const struct fuse_lowlevel_ops fs_ops;

/*
 * fs_create - open the backing directory and build the root inode.
 * Returns 0 or -errno (a message naming the path is logged with fuse_log).
 */
int fs_create(const struct fs_config *cfg, struct fs **out);

/*
 * fs_start - attach the cache and the session; start fs/ threads.
 * Must be called before the session loop runs: no request is served
 * without a cache.  Returns 0 or -errno.
 */
int fs_start(struct fs *fs, struct pc_cache *cache, struct fuse_session *se);

/* fs_stop - stop fs/ threads and release every inode's cached mapping.
 * Call after the session loop has returned (no request may run). */
void fs_stop(struct fs *fs);

/* fs_destroy - close every descriptor and free everything. */
void fs_destroy(struct fs *fs);

/*
 * fs_sync_kernel - pull the kernel's pages dirtied through shared mappings
 * of this mount to us (as WRITEs our workers answer), from a short-lived
 * child so that no thread of ours waits on its own mount (fs/kflush.c):
 * fsync() of every file open for writing if @fsync_writers (waits for
 * every such page; shutdown), then syncfs() of the mount (the periodic
 * mapped flush).  Needs cfg.mountpoint and the session serving.  Returns 0
 * or -errno.
 */
int fs_sync_kernel(struct fs *fs, bool fsync_writers);

/*
 * fs_init_refused - true if the kernel's INIT lacked a capability mmapfs
 * cannot work without (FUSE_EXPLICIT_INVAL_DATA, Linux >= 5.2); the session
 * then ended at once and the daemon must exit with an error.
 */
bool fs_init_refused(const struct fs *fs);

#endif /* MMAPFS_FS_H */
