// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dir.c - directories: opendir, readdir, readdirplus, releasedir, fsyncdir.
 *
 * A directory handle is a DIR stream on a descriptor opened through the
 * inode's O_PATH descriptor; offsets are the backing filesystem's d_off
 * cookies (telldir/seekdir values), as in passthrough_ll.
 *
 * READDIRPLUS entries carry attributes, and the kernel applies them like a
 * LOOKUP reply: a wrong size truncates live mappings of that file (the
 * bindfs/libfuse 3.17.1 SIGBUS).  So every entry is either looked up
 * completely (counting a lookup, which the kernel will FORGET) or sent
 * with nodeid 0, which the kernel lists without touching any inode ("."
 * and "..", and names whose lookup failed for a reason other than having
 * vanished).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs_i.h"

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *inode = fs_inode_of(fs, ino);
	struct fs_dir *d;
	int fd, r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return fs_reply_err(req, -ENOMEM);
	r = -pthread_mutex_init(&d->lock, NULL);
	if (r)
		goto err_free;
	r = fs_inode_fd_get(fs, inode);
	if (r < 0)
		goto err_mutex;
	fd = openat(r, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd == -1 ? -errno : 0;
	fs_inode_fd_put(fs, inode);
	if (r)
		goto err_mutex;
	d->dp = fdopendir(fd);
	if (!d->dp) {
		r = -errno;
		close(fd);
		goto err_mutex;
	}
	d->inode = inode;
	fs_inode_get(fs, inode);
	fs_handle_add(fs, &d->h, true);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		fs_handle_del(fs, &d->h);
		closedir(d->dp);
		fs_inode_put(fs, inode);
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
	return;

err_mutex:
	pthread_mutex_destroy(&d->lock);
err_free:
	free(d);
	fs_reply_err(req, r);
}

/* Fill a READDIRPLUS entry for @name; 0, -ENOENT (skip it) or -errno. */
static int dirplus_entry(struct fs *fs, fuse_ino_t dirino,
			 const struct dirent *de, struct fuse_entry_param *e)
{
	int r;

	if (!fs_is_dot_or_dotdot(de->d_name)) {
		r = fs_do_lookup(fs, dirino, de->d_name, e);
		if (r != -ENOENT && r != 0)
			goto no_attr;
		return r;
	}
no_attr:
	/* nodeid 0: the kernel lists the name and keeps no attributes. */
	memset(e, 0, sizeof(*e));
	e->attr.st_ino = de->d_ino;
	e->attr.st_mode = (mode_t)de->d_type << 12;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct fs_dir *d = fs_dir_of(fi);
	size_t used = 0, n;
	char *buf;
	int r = 0;

	buf = malloc(size);
	if (!buf)
		return fs_reply_err(req, -ENOMEM);

	pthread_mutex_lock(&d->lock);
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct fuse_entry_param e;
		struct stat st;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				r = errno ? -errno : 0;
				break;
			}
		}
		if (plus) {
			r = dirplus_entry(fs, ino, d->entry, &e);
			if (r == -ENOENT) {
				/* Vanished since readdir(): skip it. */
				r = 0;
				goto next;
			}
			n = fuse_add_direntry_plus(req, buf + used,
						   size - used,
						   d->entry->d_name, &e,
						   d->entry->d_off);
			if (n > size - used) {
				if (e.ino)
					fs_inode_forget(fs,
						fs_inode_of(fs, e.ino), 1);
				break;
			}
		} else {
			memset(&st, 0, sizeof(st));
			st.st_ino = d->entry->d_ino;
			st.st_mode = (mode_t)d->entry->d_type << 12;
			n = fuse_add_direntry(req, buf + used, size - used,
					      d->entry->d_name, &st,
					      d->entry->d_off);
			if (n > size - used)
				break;
		}
		used += n;
next:
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	pthread_mutex_unlock(&d->lock);

	/*
	 * An error can only be reported before the first entry: the entries
	 * already in the buffer carry lookup counts the kernel must get.
	 */
	if (r && used == 0)
		fs_reply_err(req, r);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_dir *d = fs_dir_of(fi);

	(void)ino;
	fs_handle_del(fs, &d->h);
	closedir(d->dp);
	fs_inode_put(fs, d->inode);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi)
{
	int fd = dirfd(fs_dir_of(fi)->dp);
	int r;

	(void)ino;
	r = datasync ? fdatasync(fd) : fsync(fd);
	fs_reply_err(req, r ? -errno : 0);
}
