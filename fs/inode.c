// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * inode.c - the inode table: (st_dev, st_ino) -> struct fs_inode.
 *
 * A chained hash table under one short mutex (fs->table_lock), doubled when
 * it holds more inodes than buckets.  Lookup counts and our own reference
 * counts live under the same mutex, so "find and count" and "uncount and
 * unhash" are each one critical section: a FORGET racing with a LOOKUP of
 * the same file either leaves the inode alive for the lookup or the lookup
 * builds a new one after it is gone; it never finds an inode being freed
 * (the resurrection problem passthrough_hp solves the same way).
 *
 * A forgotten inode whose mapping still holds dirty or in-flight pages is
 * kept hashed as a zombie (see fs_i.h) and freed by fs_inode_reap() once
 * write-back has cleaned it.  Freeing (pc_mapping_put, close) always
 * happens after the inode left the table and outside the lock.
 *
 * The O_PATH descriptors of inodes that have a file handle live in a
 * bounded LRU under fs->fd_lock (see DESCRIPTORS in fs_i.h): a lookup
 * installs the descriptor it opened, a use pins it (fs_inode_fd_get/_put),
 * and inserting past max_path_fds closes the least recently used unpinned
 * ones.  Two inodes may then share (dev, ino) - a deleted file that the
 * kernel still knows and a new file that got its number - and the handle
 * tells them apart.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fs/fs_i.h"

#define FS_TABLE_MIN_BUCKETS	1024
/* max_path_fds by default: this share of RLIMIT_NOFILE, at least MIN. */
#define FS_PATH_FDS_SHARE	8
#define FS_PATH_FDS_MIN		64
/* Evicting scans at most this many pinned descriptors from the tail. */
#define FS_LRU_SCAN		64

static size_t inode_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;
	return (size_t)(h ^ (h >> 29));
}

int fs_table_init(struct fs *fs)
{
	int r;

	fs->nbuckets = FS_TABLE_MIN_BUCKETS;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	if (!fs->buckets)
		return -ENOMEM;
	r = -pthread_mutex_init(&fs->table_lock, NULL);
	if (r) {
		free(fs->buckets);
		fs->buckets = NULL;
		return r;
	}
	fs->count = 0;
	fs->zombies.zombie_next = &fs->zombies;
	fs->zombies.zombie_prev = &fs->zombies;
	fs->nzombies = 0;
	fs->next_generation = 1;
	r = -pthread_mutex_init(&fs->fd_lock, NULL);
	if (r) {
		pthread_mutex_destroy(&fs->table_lock);
		free(fs->buckets);
		fs->buckets = NULL;
		return r;
	}
	fs->fd_lru.prev = fs->fd_lru.next = &fs->fd_lru;
	return 0;
}

/* ---- handles and the O_PATH descriptor cache ---------------------------- */

static bool handle_eq(const struct file_handle *a, const struct file_handle *b)
{
	if (!a || !b)
		return a == b;
	return a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       !memcmp(a->f_handle, b->f_handle, a->handle_bytes);
}

struct file_handle *fs_handle_of(struct fs *fs, int dirfd, const char *name,
				 int flags, int *mount_id)
{
	struct file_handle *h, *nh;

	if (!fs->use_handles)
		return NULL;
	h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	if (!h)
		return NULL;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dirfd, name, h, mount_id, flags)) {
		free(h);
		return NULL;	/* such an inode keeps its descriptor */
	}
	/* Kept per inode: only as large as this filesystem's handles. */
	nh = realloc(h, sizeof(*h) + h->handle_bytes);
	return nh ? nh : h;
}

/*
 * The descriptor of mount @id for open_by_handle_at, kept until
 * fs_destroy: one per mount met under the backing directory.  The kernel
 * refuses an O_PATH one there, so it is the directory @fd (O_PATH) opened
 * O_RDONLY; a non-directory on a mount not seen yet (a bind-mounted file)
 * gets none, and its inode keeps its O_PATH descriptor instead.  Returns
 * -1 on failure.
 */
static int mount_fd_of(struct fs *fs, int id, int fd, bool dir)
{
	char path[FS_PROC_PATH_MAX];
	struct fs_mount *nm;
	int r = -1;

	pthread_mutex_lock(&fs->fd_lock);
	for (size_t i = 0; i < fs->nmounts; i++) {
		if (fs->mounts[i].mount_id == id) {
			r = fs->mounts[i].fd;
			goto out;
		}
	}
	if (!dir)
		goto out;
	nm = realloc(fs->mounts, (fs->nmounts + 1) * sizeof(*nm));
	if (!nm)
		goto out;
	fs->mounts = nm;
	fs_proc_path(path, fd);
	r = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r >= 0)
		fs->mounts[fs->nmounts++] = (struct fs_mount){ id, r };
out:
	pthread_mutex_unlock(&fs->fd_lock);
	return r;
}

void fs_mounts_close(struct fs *fs)
{
	for (size_t i = 0; i < fs->nmounts; i++)
		close(fs->mounts[i].fd);
	free(fs->mounts);
	fs->mounts = NULL;
	fs->nmounts = 0;
}

void fs_handles_init(struct fs *fs, unsigned int max)
{
	struct file_handle *h;
	struct rlimit rl;
	int id, fd;
	const char *why = NULL;

	if (max) {
		fs->max_path_fds = max;
	} else {
		rlim_t n = 1024;

		if (!getrlimit(RLIMIT_NOFILE, &rl) &&
		    rl.rlim_cur != RLIM_INFINITY)
			n = rl.rlim_cur;
		fs->max_path_fds = n / FS_PATH_FDS_SHARE;
		if (fs->max_path_fds < FS_PATH_FDS_MIN)
			fs->max_path_fds = FS_PATH_FDS_MIN;
	}
	fs->use_handles = true;
	h = fs_handle_of(fs, fs->root.fd, "", AT_EMPTY_PATH, &id);
	fs->use_handles = false;
	if (!h) {
		why = strerror(errno);
	} else {
		/* Opening needs CAP_DAC_READ_SEARCH: try it once. */
		fd = mount_fd_of(fs, id, fs->root.fd, true);
		if (fd >= 0)
			fd = open_by_handle_at(fd, h, O_PATH | O_CLOEXEC);
		if (fd < 0)
			why = strerror(errno);
		else
			close(fd);
		free(h);
	}
	if (why) {
		fuse_log(FUSE_LOG_WARNING,
			 "mmapfs: file handles unusable on the backing directory (%s): one descriptor is held per inode the kernel knows; large trees may hit the open-file limit\n",
			 why);
		return;
	}
	fs->use_handles = true;
	fs_debug(fs, "mmapfs: inodes by file handle, at most %zu O_PATH descriptors cached\n",
		 fs->max_path_fds);
}

/* Caller holds fd_lock. */
static void lru_del_locked(struct fs *fs, struct fs_inode *inode)
{
	inode->lru.prev->next = inode->lru.next;
	inode->lru.next->prev = inode->lru.prev;
	inode->lru.prev = inode->lru.next = NULL;
	fs->nfds--;
}

/* Caller holds fd_lock. */
static void lru_add_locked(struct fs *fs, struct fs_inode *inode)
{
	inode->lru.next = fs->fd_lru.next;
	inode->lru.prev = &fs->fd_lru;
	fs->fd_lru.next->prev = &inode->lru;
	fs->fd_lru.next = &inode->lru;
	fs->nfds++;
}

#define lru_inode(l) \
	((struct fs_inode *)((char *)(l) - offsetof(struct fs_inode, lru)))

/*
 * Caller holds fd_lock: take descriptors off the LRU's unpinned tail until
 * it is within max_path_fds; they go to @out (at most FS_LRU_SCAN), for
 * the caller to close once it dropped the lock.  Returns how many.
 */
static size_t lru_trim_locked(struct fs *fs, int *out)
{
	struct fs_lru *l = fs->fd_lru.prev, *prev;
	size_t n = 0, scanned = 0;

	while (fs->nfds > fs->max_path_fds && l != &fs->fd_lru &&
	       scanned++ < FS_LRU_SCAN) {
		struct fs_inode *p = lru_inode(l);

		prev = l->prev;
		if (!p->fd_pins) {
			out[n++] = p->fd;
			p->fd = -1;
			lru_del_locked(fs, p);
		}
		l = prev;
	}
	return n;
}

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Put @fd in the cache for @inode (which has a handle and none cached),
 * pinned @pins times.  Caller holds fd_lock; returns fds to close. */
static size_t fd_install_locked(struct fs *fs, struct fs_inode *inode,
				int fd, unsigned int pins, int *out)
{
	inode->fd = fd;
	inode->fd_pins += pins;
	lru_add_locked(fs, inode);
	return lru_trim_locked(fs, out);
}

int fs_inode_fd_get(struct fs *fs, struct fs_inode *inode)
{
	int evicted[FS_LRU_SCAN];
	size_t n;
	int fd;

	if (!inode->handle)
		return inode->fd;	/* open for life */
	pthread_mutex_lock(&fs->fd_lock);
	if (inode->fd >= 0) {
		inode->fd_pins++;
		if (fs->fd_lru.next != &inode->lru) {	/* to the front */
			lru_del_locked(fs, inode);
			lru_add_locked(fs, inode);
		}
		fd = inode->fd;
		pthread_mutex_unlock(&fs->fd_lock);
		return fd;
	}
	pthread_mutex_unlock(&fs->fd_lock);

	/* A miss: reopen without the lock (it may read the disk). */
	fd = open_by_handle_at(inode->mount_fd, inode->handle,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE ? -ENOENT : -errno;

	pthread_mutex_lock(&fs->fd_lock);
	if (inode->fd >= 0) {
		/* Another thread reopened it meanwhile: use that one. */
		inode->fd_pins++;
		evicted[0] = fd;
		n = 1;
		fd = inode->fd;
	} else {
		n = fd_install_locked(fs, inode, fd, 1, evicted);
	}
	pthread_mutex_unlock(&fs->fd_lock);
	close_all(evicted, n);
	return fd;
}

void fs_inode_fd_put(struct fs *fs, struct fs_inode *inode)
{
	int evicted[FS_LRU_SCAN];
	size_t n = 0;

	if (!inode->handle)
		return;
	pthread_mutex_lock(&fs->fd_lock);
	assert(inode->fd_pins > 0);
	/* An unpinned descriptor may be over the limit now. */
	if (--inode->fd_pins == 0 && fs->nfds > fs->max_path_fds)
		n = lru_trim_locked(fs, evicted);
	pthread_mutex_unlock(&fs->fd_lock);
	close_all(evicted, n);
}

/* The inode is being freed: nobody pins its descriptor any more. */
static void inode_fd_drop(struct fs *fs, struct fs_inode *inode)
{
	int fd = inode->fd;

	if (inode->handle) {
		pthread_mutex_lock(&fs->fd_lock);
		assert(inode->fd_pins == 0);
		fd = inode->fd;
		if (fd >= 0)
			lru_del_locked(fs, inode);
		inode->fd = -1;
		pthread_mutex_unlock(&fs->fd_lock);
		free(inode->handle);
		inode->handle = NULL;
	}
	if (fd >= 0)
		close(fd);
}

struct fs_inode *fs_inode_of(struct fs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs->root;
	return (struct fs_inode *)(uintptr_t)ino;
}

fuse_ino_t fs_ino_of(struct fs *fs, const struct fs_inode *inode)
{
	if (inode == &fs->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)inode;
}

/* Caller holds table_lock.  @handle: NULL unless by handle. */
static struct fs_inode *table_find(struct fs *fs, dev_t dev, ino_t ino,
				   const struct file_handle *handle)
{
	struct fs_inode *p;

	p = fs->buckets[inode_hash(dev, ino) & (fs->nbuckets - 1)];
	for (; p; p = p->hash_next)
		if (p->ino == ino && p->dev == dev &&
		    handle_eq(p->handle, handle))
			return p;
	return NULL;
}

/* Caller holds table_lock.  Growing is best effort: on ENOMEM the chains
 * just get longer. */
static void table_grow(struct fs *fs)
{
	size_t n = fs->nbuckets * 2, i;
	struct fs_inode **b, *p, *next;

	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < fs->nbuckets; i++) {
		for (p = fs->buckets[i]; p; p = next) {
			size_t h = inode_hash(p->dev, p->ino) & (n - 1);

			next = p->hash_next;
			p->hash_next = b[h];
			b[h] = p;
		}
	}
	free(fs->buckets);
	fs->buckets = b;
	fs->nbuckets = n;
}

/* Caller holds table_lock. */
static void table_insert(struct fs *fs, struct fs_inode *inode)
{
	size_t h;

	if (fs->count >= fs->nbuckets)
		table_grow(fs);
	h = inode_hash(inode->dev, inode->ino) & (fs->nbuckets - 1);
	inode->hash_next = fs->buckets[h];
	fs->buckets[h] = inode;
	fs->count++;
}

/* Caller holds table_lock. */
static void table_remove(struct fs *fs, struct fs_inode *inode)
{
	struct fs_inode **pp;

	pp = &fs->buckets[inode_hash(inode->dev, inode->ino) &
			  (fs->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == inode) {
			*pp = inode->hash_next;
			inode->hash_next = NULL;
			fs->count--;
			return;
		}
	}
	assert(!"inode not in its hash chain");
}

/* Caller holds table_lock. */
static void zombie_unlink(struct fs *fs, struct fs_inode *inode)
{
	inode->zombie_prev->zombie_next = inode->zombie_next;
	inode->zombie_next->zombie_prev = inode->zombie_prev;
	inode->zombie_prev = inode->zombie_next = NULL;
	inode->zombie = false;
	fs->nzombies--;
}

/* Caller holds table_lock. */
static void zombie_link(struct fs *fs, struct fs_inode *inode)
{
	inode->zombie = true;
	inode->zombie_next = &fs->zombies;
	inode->zombie_prev = fs->zombies.zombie_prev;
	fs->zombies.zombie_prev->zombie_next = inode;
	fs->zombies.zombie_prev = inode;
	fs->nzombies++;
}

/* The inode is unreachable: drop its watch, mapping and descriptor. */
static void inode_free(struct fs *fs, struct fs_inode *inode)
{
	struct pc_mapping *m = fs_inode_mapping(inode);

	fs_watch_del(fs, inode);
	fs_lock_inode_free(inode);
	if (m)
		pc_mapping_put(m);
	inode_fd_drop(fs, inode);
	pthread_mutex_destroy(&inode->lock);
	free(inode);
}

/*
 * Caller holds table_lock and just dropped a count.  Returns true if the
 * inode left the table and the caller must inode_free() it after
 * unlocking; a forgotten inode with dirty data becomes a zombie instead.
 */
static bool inode_unused_locked(struct fs *fs, struct fs_inode *inode)
{
	struct pc_mapping *m;

	if (inode == &fs->root || inode->nlookup || inode->refcount)
		return false;
	m = fs_inode_mapping(inode);
	if (m && pc_mapping_dirty_bytes(m) > 0) {
		if (!inode->zombie) {
			zombie_link(fs, inode);
			/* Nobody will ask for this data soon: start now. */
			pc_writeback_start(m);
		}
		return false;
	}
	if (inode->zombie)
		zombie_unlink(fs, inode);
	table_remove(fs, inode);
	return true;
}

int fs_inode_lookup_fd(struct fs *fs, int fd, const struct stat *st,
		       struct fs_inode **out)
{
	int evicted[FS_LRU_SCAN];
	struct fs_inode *inode, *fresh;
	struct file_handle *h;
	size_t n = 0;
	int r, id;

	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	r = -pthread_mutex_init(&fresh->lock, NULL);
	if (r) {
		free(fresh);
		close(fd);
		return r;
	}
	/* No handle (none wanted, or this fs cannot make one): the
	 * descriptor stays open for life, as without handles. */
	h = fs_handle_of(fs, fd, "", AT_EMPTY_PATH, &id);
	if (h) {
		fresh->mount_fd = mount_fd_of(fs, id, fd,
					      S_ISDIR(st->st_mode));
		if (fresh->mount_fd < 0) {
			free(h);
			h = NULL;
		}
	}
	fresh->handle = h;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->fd = h ? -1 : fd;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = 1;
	fresh->dropped_page = -1;
	atomic_init(&fresh->mapping, NULL);

	pthread_mutex_lock(&fs->table_lock);
	inode = table_find(fs, st->st_dev, st->st_ino, h);
	if (inode) {
		inode->nlookup++;
		if (inode->zombie)
			zombie_unlink(fs, inode);
	} else {
		fresh->generation = fs->next_generation++;
		table_insert(fs, fresh);
		inode = fresh;
		fresh = NULL;
	}
	/*
	 * With a handle, the descriptor we opened goes to the cache if the
	 * inode has none there (a new inode: still under table_lock, so no
	 * FORGET can free it before its descriptor is in place; fd_lock
	 * nests inside table_lock only here and in nothing that takes
	 * table_lock under fd_lock).
	 */
	if (inode->handle) {
		pthread_mutex_lock(&fs->fd_lock);
		if (inode->fd < 0) {
			n = fd_install_locked(fs, inode, fd, 0, evicted);
			fd = -1;
		}
		pthread_mutex_unlock(&fs->fd_lock);
	} else if (!fresh) {
		fd = -1;	/* inserted above: it owns the descriptor */
	}
	pthread_mutex_unlock(&fs->table_lock);
	close_all(evicted, n);

	if (fd >= 0)
		close(fd);	/* known already, with a descriptor */
	if (fresh) {
		/* Lost the race, or known already: keep the hashed one
		 * (fresh->fd was -1 or the descriptor just closed). */
		free(fresh->handle);
		pthread_mutex_destroy(&fresh->lock);
		free(fresh);
	}
	*out = inode;
	return 0;
}

void fs_inode_lookup_more(struct fs *fs, struct fs_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->nlookup++;
	if (inode->zombie)
		zombie_unlink(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
}

void fs_inode_forget(struct fs *fs, struct fs_inode *inode, uint64_t n)
{
	bool dead;

	if (inode == &fs->root)
		return;
	pthread_mutex_lock(&fs->table_lock);
	assert(inode->nlookup >= n);
	inode->nlookup = inode->nlookup >= n ? inode->nlookup - n : 0;
	dead = inode_unused_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
	if (dead)
		inode_free(fs, inode);
}

struct fs_inode *fs_inode_find_get(struct fs *fs, dev_t dev, ino_t ino,
				   const struct file_handle *handle)
{
	struct fs_inode *inode;

	pthread_mutex_lock(&fs->table_lock);
	inode = table_find(fs, dev, ino, handle);
	if (inode)
		inode->refcount++;
	pthread_mutex_unlock(&fs->table_lock);
	return inode;
}

void fs_inode_get(struct fs *fs, struct fs_inode *inode)
{
	pthread_mutex_lock(&fs->table_lock);
	inode->refcount++;
	pthread_mutex_unlock(&fs->table_lock);
}

void fs_inode_put(struct fs *fs, struct fs_inode *inode)
{
	bool dead;

	pthread_mutex_lock(&fs->table_lock);
	assert(inode->refcount > 0);
	inode->refcount--;
	dead = inode_unused_locked(fs, inode);
	pthread_mutex_unlock(&fs->table_lock);
	if (dead)
		inode_free(fs, inode);
}

/*
 * A zombie whose backing file has no name left can never be opened again
 * through the mount: discard its dirty data instead of writing it back
 * (ext4 drops the pages of an unlinked, closed file too).  Without this, a
 * workload that creates, writes and unlinks many files keeps two
 * descriptors per file open until write-back, and runs into EMFILE.
 */
static void discard_unlinked(struct fs *fs)
{
	struct fs_inode **pinned;
	size_t n = 0, max;

	pthread_mutex_lock(&fs->table_lock);
	max = fs->nzombies;
	pinned = max ? malloc(max * sizeof(*pinned)) : NULL;
	if (!pinned) {
		pthread_mutex_unlock(&fs->table_lock);
		return;
	}
	for (struct fs_inode *p = fs->zombies.zombie_next;
	     p != &fs->zombies && n < max; p = p->zombie_next) {
		struct pc_mapping *m = fs_inode_mapping(p);

		if (m && pc_mapping_dirty_bytes(m) > 0) {
			p->refcount++;		/* pinned while we look */
			pinned[n++] = p;
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fd = fs_inode_fd_get(fs, pinned[i]);

		/* -ENOENT: the backing inode is gone altogether. */
		if (fd == -ENOENT ||
		    (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink == 0))
			pc_truncate(fs_inode_mapping(pinned[i]), 0);
		if (fd >= 0)
			fs_inode_fd_put(fs, pinned[i]);
		fs_inode_put(fs, pinned[i]);	/* frees it if now clean */
	}
	free(pinned);
}

size_t fs_inode_reap(struct fs *fs, bool all)
{
	struct fs_inode *p, *next, *dead = NULL;
	size_t n = 0;

	if (!all)
		discard_unlinked(fs);
	pthread_mutex_lock(&fs->table_lock);
	for (p = fs->zombies.zombie_next; p != &fs->zombies; p = next) {
		struct pc_mapping *m = fs_inode_mapping(p);

		next = p->zombie_next;
		if (!all && m && pc_mapping_dirty_bytes(m) > 0)
			continue;
		zombie_unlink(fs, p);
		table_remove(fs, p);
		p->hash_next = dead;	/* reuse the chain link */
		dead = p;
	}
	pthread_mutex_unlock(&fs->table_lock);

	for (p = dead; p; p = next) {
		next = p->hash_next;
		inode_free(fs, p);
		n++;
	}
	return n;
}

void fs_table_put_mappings(struct fs *fs)
{
	size_t i;
	struct fs_inode *p;
	struct pc_mapping *m;

	/* The session is over: no request runs, nothing races with us. */
	pthread_mutex_lock(&fs->table_lock);
	for (i = 0; i < fs->nbuckets; i++) {
		for (p = fs->buckets[i]; p; p = p->hash_next) {
			m = atomic_exchange(&p->mapping, NULL);
			if (m) {
				/* Files the kernel never released close
				 * their descriptors later (fs_destroy). */
				pc_mapping_lend_fd(m, -1, -1);
				pc_mapping_put(m);
			}
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	m = atomic_exchange(&fs->root.mapping, NULL);
	if (m)
		pc_mapping_put(m);
}

void fs_table_destroy(struct fs *fs)
{
	size_t i;
	struct fs_inode *p, *next;

	if (!fs->buckets)
		return;
	for (i = 0; i < fs->nbuckets; i++) {
		for (p = fs->buckets[i]; p; p = next) {
			next = p->hash_next;
			inode_free(fs, p);
		}
	}
	free(fs->buckets);
	fs->buckets = NULL;
	fs->count = 0;
	pthread_mutex_destroy(&fs->table_lock);
	pthread_mutex_destroy(&fs->fd_lock);
}

int fs_table_writers(struct fs *fs, struct fs_fuse_handle **h, size_t *n,
		     size_t *cap)
{
	int r = 0;

	pthread_mutex_lock(&fs->table_lock);
	for (size_t i = 0; i < fs->nbuckets && !r; i++) {
		for (struct fs_inode *p = fs->buckets[i]; p; p = p->hash_next) {
			if (!S_ISREG(p->type) || !atomic_load(&p->nwriters))
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? 2 * *cap : 16;
				struct fs_fuse_handle *nh =
					realloc(*h, nc * sizeof(**h));

				if (!nh) {
					r = -ENOMEM;
					break;
				}
				*h = nh;
				*cap = nc;
			}
			fs_fuse_handle_of(fs, p, &(*h)[(*n)++]);
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	return r;
}

size_t fs_table_count(struct fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->table_lock);
	n = fs->count;
	pthread_mutex_unlock(&fs->table_lock);
	return n;
}

size_t fs_table_zombies(struct fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->table_lock);
	n = fs->nzombies;
	pthread_mutex_unlock(&fs->table_lock);
	return n;
}
