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
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs/fs_i.h"

#define FS_TABLE_MIN_BUCKETS	1024

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
	return 0;
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

/* Caller holds table_lock. */
static struct fs_inode *table_find(struct fs *fs, dev_t dev, ino_t ino)
{
	struct fs_inode *p;

	p = fs->buckets[inode_hash(dev, ino) & (fs->nbuckets - 1)];
	for (; p; p = p->hash_next)
		if (p->ino == ino && p->dev == dev)
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
	close(inode->fd);
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
	struct fs_inode *inode, *fresh;
	int r;

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
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->fd = fd;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = 1;
	fresh->dropped_page = -1;
	atomic_init(&fresh->mapping, NULL);

	pthread_mutex_lock(&fs->table_lock);
	inode = table_find(fs, st->st_dev, st->st_ino);
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
	pthread_mutex_unlock(&fs->table_lock);

	if (fresh) {
		/* Lost the race, or known already: keep the hashed one. */
		close(fresh->fd);
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

struct fs_inode *fs_inode_find_get(struct fs *fs, dev_t dev, ino_t ino)
{
	struct fs_inode *inode;

	pthread_mutex_lock(&fs->table_lock);
	inode = table_find(fs, dev, ino);
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

		if (fstat(pinned[i]->fd, &st) == 0 && st.st_nlink == 0)
			pc_truncate(fs_inode_mapping(pinned[i]), 0);
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
			if (m)
				pc_mapping_put(m);
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
