// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * attr.c - the attributes every reply carries: the backing file's, with the
 * logical size and times of our cache laid over them.
 *
 * Every struct stat we hand the kernel moves its i_size: a size smaller
 * than the truth truncates live mappings (pages past it are zapped, touches
 * get SIGBUS), so the size always comes from pc_size(), which includes data
 * not yet written back.  The kernel never updates mtime/ctime itself in
 * write-through mode (S_NOCMTIME), so ours must advance on writes: the
 * mtime is that of the last write into the cache (pc_mtime) when there is
 * one — our own write-back moves the backing file's mtime to the time of
 * the write-back, and the commit after it sets it back to pc_mtime — and
 * the backing file's otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "fs/fs_i.h"

static bool ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

void fs_attr_merge(struct stat *st, off_t size, struct timespec mtime,
		   bool dirty)
{
	st->st_size = size;
	if (mtime.tv_sec || mtime.tv_nsec)
		st->st_mtim = mtime;
	if (ts_after(mtime, st->st_ctim))
		st->st_ctim = mtime;
	if (dirty && size > 0) {
		blkcnt_t need = (blkcnt_t)((size + 511) / 512);

		if (st->st_blocks < need)
			st->st_blocks = need;
	}
}

void fs_inode_fill_attr(struct fs_inode *inode, struct stat *st)
{
	struct pc_mapping *m = fs_inode_mapping(inode);
	struct timespec mtime;

	if (!m)
		return;
	mtime = pc_mtime(m);
	fs_attr_merge(st, pc_size(m), mtime, pc_mapping_dirty_bytes(m) > 0);
}

int fs_inode_stat(struct fs *fs, struct fs_inode *inode, struct stat *st)
{
	int fd = fs_inode_fd_get(fs, inode), r = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		r = -errno;
	fs_inode_fd_put(fs, inode);
	if (!r)
		fs_inode_fill_attr(inode, st);
	return r;
}
