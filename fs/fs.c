// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs.c - the filesystem object: creation, INIT negotiation, start/stop of
 * fs/'s threads (the zombie reaper here, the notifier in notify.c, the
 * watcher in watch.c), and the
 * operations table.
 *
 * INIT decides the kernel's cache mode for every file (FUSE-KERNEL.md §1,
 * §9 rule 1): cached write-through I/O, no writeback cache (the kernel would
 * then ignore the sizes we report), explicit instead of automatic data
 * invalidation (automatic invalidation would throw away and unmap the whole
 * cache of a file every time its mtime moves, i.e. after each of our own
 * write-backs), no HANDLE_KILLPRIV (the kernel clears set-id bits itself
 * with a SETATTR), no splice (our data lives in our own pages).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* The reaper looks for zombies that write-back has made clean this often. */
#define FS_REAP_INTERVAL_MS	1000

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	fuse_log(FUSE_LOG_DEBUG,
		 "mmapfs: INIT: protocol %u.%u, kernel capable 0x%x, libfuse wants 0x%x\n",
		 conn->proto_major, conn->proto_minor, conn->capable,
		 conn->want);

	/*
	 * No ATOMIC_O_TRUNC: with it the kernel takes our OPEN as the whole
	 * truncation and skips the SETATTR of open(O_TRUNC) - and with that
	 * SETATTR the clearing of set-user-ID and set-group-ID bits it asked
	 * for (fuse_do_setattr returns early on ATTR_OPEN).  ext4 clears them
	 * when a user without CAP_FSETID opens a set-id file with O_TRUNC.
	 * Without it the kernel strips O_TRUNC from OPEN and sends
	 * SETATTR(size 0, mode) itself, deciding the bits as for truncate(2).
	 * Found by tests/ops/security.sh; regression test
	 * tests/ops/security_otrunc_setid.sh.
	 */
	conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_WRITEBACK_CACHE |
			FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_SPLICE_READ |
			FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	if (!(conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)) {
		fuse_log(FUSE_LOG_ERR,
			 "mmapfs: the kernel's FUSE (protocol %u.%u) lacks FUSE_EXPLICIT_INVAL_DATA; mmapfs needs Linux 5.2 or newer (protocol 7.30)\n",
			 conn->proto_major, conn->proto_minor);
		atomic_store(&fs->init_refused, true);
		/*
		 * Wanting a capability the kernel lacks makes libfuse refuse
		 * INIT (EPROTO) and end the session: exactly what we need.
		 */
	}
	conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
	/*
	 * POSIX ACLs: without this capability the kernel stores and returns
	 * system.posix_acl_* through us but checks permissions against the
	 * mode bits alone (fuse_get_inode_acl returns no ACL), so an ACL entry
	 * that denies a named user what "other" allows was ignored on the
	 * mount, and one that grants was too.  With it the kernel checks the
	 * backing file's ACL (fetched with GETXATTR, cached) as ext4 does;
	 * the backing filesystem itself keeps ACL and mode in step on chmod
	 * and inherits default ACLs.  Found by tests/ops/security.sh;
	 * regression test tests/ops/security_posix_acl.sh.
	 */
	if ((conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK)) {
		conn->want |= FUSE_CAP_POSIX_ACL;
		/*
		 * ... and the umask: ext4 ignores it under a default ACL.  The
		 * kernel would apply it before sending us the mode; with
		 * DONT_MASK it sends it apart and each creation makes it the
		 * creating thread's umask (fs_umask_push), so that the backing
		 * filesystem decides as for the caller.
		 */
		conn->want |= FUSE_CAP_DONT_MASK;
		atomic_store(&fs->dont_mask, true);
	}
	/* Locks are forwarded to the backing files (lock.c), so that they
	 * exclude other mounts and outside programs - unless -o local_locks:
	 * without these capabilities the kernel keeps locks to itself. */
	if (!fs->cfg.local_locks) {
		if (conn->capable & FUSE_CAP_POSIX_LOCKS)
			conn->want |= FUSE_CAP_POSIX_LOCKS;
		if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
			conn->want |= FUSE_CAP_FLOCK_LOCKS;
	} else {
		conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	}
	conn->max_background = 64;
	conn->max_write = FS_MAX_IO;

	fuse_log(FUSE_LOG_DEBUG,
		 "mmapfs: INIT: want 0x%x, max_write %u, max_background %u, max_readahead %u\n",
		 conn->want, conn->max_write, conn->max_background,
		 conn->max_readahead);
}

bool fs_init_refused(const struct fs *fs)
{
	return atomic_load(&((struct fs *)fs)->init_refused);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init		= fs_init,
	.lookup		= fs_lookup,
	.forget		= fs_forget,
	.forget_multi	= fs_forget_multi,
	.getattr	= fs_getattr,
	.setattr	= fs_setattr,
	.readlink	= fs_readlink,
	.mknod		= fs_mknod,
	.mkdir		= fs_mkdir,
	.unlink		= fs_unlink,
	.rmdir		= fs_rmdir,
	.symlink	= fs_symlink,
	.rename		= fs_rename,
	.link		= fs_link,
	.open		= fs_open,
	.create		= fs_create_file,
	.read		= fs_read,
	.write_buf	= fs_write_buf,
	.flush		= fs_flush,
	.release	= fs_release,
	.fsync		= fs_fsync,
	.opendir	= fs_opendir,
	.readdir	= fs_readdir,
	.readdirplus	= fs_readdirplus,
	.releasedir	= fs_releasedir,
	.fsyncdir	= fs_fsyncdir,
	.statfs		= fs_statfs,
	.setxattr	= fs_setxattr,
	.getxattr	= fs_getxattr,
	.listxattr	= fs_listxattr,
	.removexattr	= fs_removexattr,
	.access		= fs_access,
	.fallocate	= fs_fallocate,
	.lseek		= fs_lseek,
	.copy_file_range = fs_copy_file_range,
	.getlk		= fs_getlk,
	.setlk		= fs_setlk,
	.flock		= fs_flock,
};

static int save_groups(struct fs *fs)
{
	int n = getgroups(0, NULL);

	if (n < 0)
		return -errno;
	fs->groups = calloc(n ? n : 1, sizeof(*fs->groups));
	if (!fs->groups)
		return -ENOMEM;
	n = getgroups(n, fs->groups);
	if (n < 0)
		return -errno;
	fs->ngroups = n;
	return 0;
}

int fs_create(const struct fs_config *cfg, struct fs **out)
{
	struct fs *fs;
	struct stat st;
	int r;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->cfg = *cfg;
	fs->root.fd = -1;
	fs->inotify_fd = -1;
	fs->watch_wake = -1;
	fs->lock_tree = -1;
	fs->cfg.backing_dir = strdup(cfg->backing_dir);
	fs->cfg.mountpoint = cfg->mountpoint ? strdup(cfg->mountpoint) : NULL;
	if (!fs->cfg.backing_dir || (cfg->mountpoint && !fs->cfg.mountpoint)) {
		r = -ENOMEM;
		goto err_free;
	}
	r = fs_table_init(fs);
	if (r)
		goto err_free;
	r = -pthread_key_create(&fs->buf_key, free);
	if (r)
		goto err_table;
	r = -pthread_mutex_init(&fs->root.lock, NULL);
	if (r)
		goto err_key;

	fs->root.fd = open(cfg->backing_dir,
			   O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root.fd == -1 ||
	    fstatat(fs->root.fd, "", &st, AT_EMPTY_PATH)) {
		r = -errno;
		fuse_log(FUSE_LOG_ERR,
			 "mmapfs: cannot open backing directory '%s': %s; check that it exists and that the daemon may read it\n",
			 cfg->backing_dir, strerror(-r));
		goto err_root;
	}
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 1;
	fs->root.refcount = 1;		/* struct fs's own: never freed */
	fs->root.dropped_page = -1;
	atomic_init(&fs->root.mapping, NULL);
	fs_handles_init(fs, cfg->max_path_fds);

	fs->euid = geteuid();
	fs->egid = getegid();
	fs->as_root = fs->euid == 0;
	r = save_groups(fs);
	if (r)
		goto err_root;
	r = -pthread_mutex_init(&fs->reaper_lock, NULL);
	if (r)
		goto err_groups;
	r = -pthread_cond_init(&fs->reaper_cond, NULL);
	if (r)
		goto err_reaper_lock;
	fs->handles.prev = fs->handles.next = &fs->handles;
	if (pthread_mutex_init(&fs->handles_lock, NULL) ||
	    pthread_mutex_init(&fs->watch_lock, NULL) ||
	    pthread_mutex_init(&fs->notify_lock, NULL) ||
	    pthread_cond_init(&fs->notify_cond, NULL) ||
	    pthread_cond_init(&fs->notify_done, NULL) ||
	    pthread_mutex_init(&fs->lock_lock, NULL) ||
	    pthread_cond_init(&fs->lock_cond, NULL) ||
	    pthread_mutex_init(&fs->events_lock, NULL)) {
		r = -ENOMEM;
		goto err_reaper_cond;
	}

	/* The kernel has applied the caller's umask to every mode it sends. */
	umask(0);
	*out = fs;
	return 0;

err_reaper_cond:
	pthread_cond_destroy(&fs->reaper_cond);
err_reaper_lock:
	pthread_mutex_destroy(&fs->reaper_lock);
err_groups:
	free(fs->groups);
err_root:
	fs_mounts_close(fs);
	if (fs->root.fd != -1)
		close(fs->root.fd);
	pthread_mutex_destroy(&fs->root.lock);
err_key:
	pthread_key_delete(fs->buf_key);
err_table:
	fs_table_destroy(fs);
err_free:
	free((char *)fs->cfg.backing_dir);
	free((char *)fs->cfg.mountpoint);
	free(fs);
	return r;
}

/*
 * The reaper frees zombies (forgotten inodes kept for their dirty data)
 * once write-back has cleaned them.  It never runs while nothing is to be
 * done: the check is one counter read under the table lock.
 */
static void *reaper_main(void *arg)
{
	struct fs *fs = arg;
	struct timespec t;

	pthread_mutex_lock(&fs->reaper_lock);
	while (!fs->reaper_stop) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += FS_REAP_INTERVAL_MS / 1000;
		t.tv_nsec += (FS_REAP_INTERVAL_MS % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fs->reaper_cond, &fs->reaper_lock, &t);
		if (fs->reaper_stop)
			break;
		pthread_mutex_unlock(&fs->reaper_lock);
		if (fs_table_zombies(fs))
			fs_inode_reap(fs, false);
		pthread_mutex_lock(&fs->reaper_lock);
	}
	pthread_mutex_unlock(&fs->reaper_lock);
	return NULL;
}

int fs_start(struct fs *fs, struct pc_cache *cache, struct fuse_session *se)
{
	int r;

	fs->cache = cache;
	fs->se = se;
	fs->reaper_stop = false;
	r = -pthread_create(&fs->reaper, NULL, reaper_main, fs);
	if (!r) {
		fs->reaper_running = true;
		if (se)
			r = fs_notify_start(fs);
		if (!r && se)
			r = fs_watch_start(fs);
		if (!r && se)
			r = fs_lock_start(fs);
	}
	if (r) {
		fuse_log(FUSE_LOG_ERR,
			 "mmapfs: cannot start a thread: %s; check memory and the process limit (ulimit -u)\n",
			 strerror(-r));
		fs_stop(fs);
	}
	return r;
}

void fs_stop(struct fs *fs)
{
	/* Lock waiters use the watcher and the notifier: they go first. */
	fs_lock_stop(fs);
	/* The watcher queues notifications: it stops first. */
	fs_watch_stop(fs);
	if (fs->notify_running)	/* once: fs_stop may run twice */
		fuse_log(FUSE_LOG_INFO,
			 "mmapfs: old EOF page after a growth: %llu tails zeroed, %llu drops, %llu neither in time, %llu write-backs cut by the truncation guard (%llu bytes)\n",
			 (unsigned long long)atomic_load(&fs->eof_stats.zeroed),
			 (unsigned long long)atomic_load(&fs->eof_stats.drops),
			 (unsigned long long)atomic_load(&fs->eof_stats.late),
			 (unsigned long long)atomic_load(&fs->eof_stats.cut),
			 (unsigned long long)atomic_load(&fs->eof_stats.cut_bytes));
	fs_notify_stop(fs);
	if (fs->reaper_running) {
		pthread_mutex_lock(&fs->reaper_lock);
		fs->reaper_stop = true;
		pthread_cond_signal(&fs->reaper_cond);
		pthread_mutex_unlock(&fs->reaper_lock);
		pthread_join(fs->reaper, NULL);
		fs->reaper_running = false;
	}
	/* Zombies go with their mappings: the cache keeps dirty data. */
	fs_inode_reap(fs, true);
	fs_table_put_mappings(fs);
}

void fs_handle_add(struct fs *fs, struct fs_handle *h, bool dir)
{
	h->dir = dir;
	pthread_mutex_lock(&fs->handles_lock);
	h->next = &fs->handles;
	h->prev = fs->handles.prev;
	fs->handles.prev->next = h;
	fs->handles.prev = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

void fs_handle_del(struct fs *fs, struct fs_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
}

/* Handles the kernel never released: the session is over, free them. */
static void handles_free(struct fs *fs)
{
	struct fs_handle *h, *next;

	for (h = fs->handles.next; h != &fs->handles; h = next) {
		next = h->next;
		if (h->dir) {
			struct fs_dir *d = (struct fs_dir *)h;

			closedir(d->dp);
			pthread_mutex_destroy(&d->lock);
			free(d);
		} else {
			struct fs_file *f = (struct fs_file *)h;

			close(f->fd);
			if (f->flock_fd >= 0)
				close(f->flock_fd);
			free(f);
		}
	}
	fs->handles.prev = fs->handles.next = &fs->handles;
}

void fs_destroy(struct fs *fs)
{
	if (!fs)
		return;
	fs_stop(fs);
	handles_free(fs);
	fs_table_destroy(fs);
	/* Last: the cache (destroyed before us) reopened files through
	 * these. */
	fs_mounts_close(fs);
	close(fs->root.fd);
	pthread_mutex_destroy(&fs->root.lock);
	/* Worker threads freed theirs on exit; this thread's is left. */
	free(pthread_getspecific(fs->buf_key));
	pthread_setspecific(fs->buf_key, NULL);
	pthread_key_delete(fs->buf_key);
	pthread_cond_destroy(&fs->reaper_cond);
	pthread_mutex_destroy(&fs->reaper_lock);
	pthread_cond_destroy(&fs->notify_done);
	pthread_cond_destroy(&fs->notify_cond);
	pthread_mutex_destroy(&fs->notify_lock);
	pthread_mutex_destroy(&fs->handles_lock);
	pthread_mutex_destroy(&fs->watch_lock);
	pthread_mutex_destroy(&fs->lock_lock);
	pthread_cond_destroy(&fs->lock_cond);
	pthread_mutex_destroy(&fs->events_lock);
	free(fs->groups);
	free((char *)fs->cfg.backing_dir);
	free((char *)fs->cfg.mountpoint);
	free(fs);
}
