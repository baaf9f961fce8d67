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
 * Life cycle (driven by daemon/):
 *   fs_create()        before the session exists: checks the backing dir,
 *                      builds the root inode.  Starts no thread (the daemon
 *                      may still fork to daemonize).
 *   fuse_session_new(..., &fs_ops, sizeof(fs_ops), fs)
 *   fs_start()         after mounting and daemonizing: attaches the cache
 *                      and the session, starts fs/'s own threads.
 *   ... session loop ...
 *   fs_stop()          stops fs/'s threads, drops every inode's mapping
 *                      reference (dirty data stays in the cache, which
 *                      the daemon then syncs).
 *   fs_destroy()
 */
#ifndef MMAPFS_FS_H
#define MMAPFS_FS_H

#include <stdbool.h>

struct fuse_session;
struct fuse_lowlevel_ops;
struct pc_cache;
struct fs;

struct fs_config {
	const char *backing_dir;	/* absolute path of BACKING_DIR */
	double attr_timeout;		/* seconds the kernel may cache attrs */
	double entry_timeout;		/* seconds the kernel may cache names */
	bool debug;			/* log every request */
};

/* The operations table; the session's userdata must be the struct fs. */
extern const struct fuse_lowlevel_ops fs_ops;

/*
 * fs_create - open the backing directory and build the root inode.
 * Returns 0 or -errno (a message naming the path is printed to stderr).
 */
int fs_create(const struct fs_config *cfg, struct fs **out);

/* fs_start - attach the cache and the session; start fs/ threads. */
int fs_start(struct fs *fs, struct pc_cache *cache, struct fuse_session *se);

/* fs_stop - stop fs/ threads and release every inode's cached mapping. */
void fs_stop(struct fs *fs);

void fs_destroy(struct fs *fs);

#endif /* MMAPFS_FS_H */
