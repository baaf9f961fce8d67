/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pagecache_i.h - private structures of pagecache/.
 *
 * Read pagecache.h first: it defines the page states, the lock order and the
 * vocabulary.  This file adds the fields, each with the lock that protects
 * it, and the helpers shared by pagecache.c (data operations), writeback.c
 * (the write-back engine and synchronous I/O) and index.c (the page index).
 *
 * I/O QUIESCING
 *
 *   Every I/O that uses a mapping's descriptor (a fill, a write-back write, an
 *   fdatasync) is counted in mapping->nr_io while it runs.  pc_truncate() and
 *   pc_mapping_set_fd() raise mapping->quiesce, wait until nr_io is zero, do
 *   their blocking syscall (ftruncate, close) without mapping->lock, then
 *   drop quiesce.  While quiesce is raised no new I/O starts on the mapping,
 *   so no write can land after the ftruncate and re-extend the file, and no
 *   read can bring back bytes the truncate removed.
 */
#ifndef MMAPFS_PAGECACHE_I_H
#define MMAPFS_PAGECACHE_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pagecache/pagecache.h"

struct file_handle;

/*
 * pc_mapping_fd_locked - the backing descriptor for I/O about to be
 * counted in nr_io, reopened by handle if it was closed; -1 with errno
 * set if that failed (I/O on it then fails with EBADF), PC_FD_GONE (errno
 * ESTALE) if the backing file no longer exists.  Caller holds m->lock.
 */
int pc_mapping_fd_locked(struct pc_mapping *m);

/*
 * The descriptor of a mapping whose backing file was deleted while its
 * descriptor was closed (open_by_handle_at: ESTALE): nothing can ever read
 * that file again, so, as ext4 drops the pages of a deleted file nobody
 * holds, I/O on it completes at once without touching anything: writes
 * and syncs succeed (the pages become clean), reads find end of file.
 */
#define PC_FD_GONE	(-2)

/* ---- The page index: a radix tree with tags (index.c) ------------------ */

#define PC_RADIX_SHIFT	6
#define PC_RADIX_SLOTS	(1u << PC_RADIX_SHIFT)
#define PC_RADIX_MASK	(PC_RADIX_SLOTS - 1)

enum pc_tag {
	PC_TAG_DIRTY,		/* the page is DIRTY */
	PC_TAG_WRITEBACK,	/* the page is under WRITEBACK */
	PC_TAG_UNSTABLE,	/* the page is UNSTABLE */
	PC_NR_TAGS
};

struct pc_rnode {
	struct pc_rnode *parent;
	unsigned int shift;		/* index bits below this level */
	unsigned int offset;		/* our slot in parent */
	unsigned int count;		/* non-NULL slots */
	uint64_t tags[PC_NR_TAGS];	/* slot i's subtree holds a tagged item */
	void *slots[PC_RADIX_SLOTS];	/* nodes, or items when shift == 0 */
};

struct pc_radix {
	struct pc_rnode *root;		/* NULL when empty */
};

void *pc_radix_lookup(const struct pc_radix *r, uint64_t index);
int pc_radix_insert(struct pc_radix *r, uint64_t index, void *item);
void *pc_radix_delete(struct pc_radix *r, uint64_t index);
void pc_radix_tag_set(struct pc_radix *r, uint64_t index, enum pc_tag tag);
void pc_radix_tag_clear(struct pc_radix *r, uint64_t index, enum pc_tag tag);
bool pc_radix_tagged(const struct pc_radix *r, enum pc_tag tag);
/*
 * Fill @out with up to @max items whose index is >= @start, in index order;
 * with @tag >= 0 only items carrying that tag.  Returns how many.
 */
size_t pc_radix_gang(const struct pc_radix *r, uint64_t start, void **out,
		     size_t max, int tag);
/* Bytes of index nodes, for the overhead figure. */
size_t pc_radix_node_size(void);

/* ---- Pages -------------------------------------------------------------- */

enum {
	PG_UPTODATE	= 1u << 0,
	PG_LOCKED	= 1u << 1,
	PG_DIRTY	= 1u << 2,
	PG_WRITEBACK	= 1u << 3,
	PG_UNSTABLE	= 1u << 4,
};

struct pc_page {
	struct pc_mapping *mapping;	/* constant while in the index */
	uint64_t index;			/* constant while in the index */
	unsigned int flags;		/* PG_*, mapping->lock */
	atomic_bool visited;		/* SIEVE: set by hits, no lock */
	bool on_list;			/* cache->lock */
	struct pc_page *newer, *older;	/* SIEVE list, cache->lock */
	uint64_t written_gen;		/* mapping->lock: write_gen of the
					 * write that made it UNSTABLE */
	uint64_t *dmask;		/* mapping->lock: while DIRTY, the dirty
					 * bytes (bit per byte); NULL: all */
	char *data;			/* page_size bytes */
};

#define PC_PAGE_OVERHEAD (sizeof(struct pc_page))

/* ---- Mappings ----------------------------------------------------------- */

struct pc_mapping {
	struct pc_cache *cache;		/* constant */
	atomic_int refcount;		/* users + 1 while dirty (cache's) */

	pthread_mutex_t lock;		/* the short lock, see pagecache.h */
	pthread_cond_t wait;		/* page unlocked, write-back done,
					 * nr_io drained, quiesce dropped */
	struct pc_radix pages;		/* lock */
	int fd;				/* lock; replaced only when quiesced;
					 * -1 while closed (reopenable) */
	struct file_handle *handle;	/* lock: set once; NULL: never closed */
	int stat_fd;			/* lock: lent for fstat only, or -1
					 * (pc_mapping_lend_fd) */
	unsigned int stat_users;	/* lock: fstat()s on stat_fd running */
	int mount_fd;			/* with handle */
	bool gone;			/* lock: reopening found ESTALE */
	bool on_fd_lru;			/* cache->fd_lock */
	struct pc_mapping *fl_prev, *fl_next; /* cache->fd_lock */
	bool writable;			/* lock */
	off_t i_size;			/* lock: the logical size */
	off_t backing_size;		/* lock: what the backing file holds */
	off_t max_checked;		/* lock: the backing filesystem accepts
					 * files this large (lseek probe) */
	struct timespec mtime;		/* lock: logical mtime, 0 = none */
	bool mtime_dirty;		/* lock: backing mtime not yet set */
	unsigned long nr_pages;		/* lock */
	unsigned long nr_dirty;		/* lock: pages with PG_DIRTY */
	unsigned long nr_writeback;	/* lock: pages with PG_WRITEBACK */
	unsigned long nr_unstable;	/* lock: pages with PG_UNSTABLE */
	uint64_t write_gen;		/* lock: completed writes, counted */
	uint64_t mod_seq;		/* lock: +1 at the start and at the end
					 * of each change we make to the
					 * backing file (write, ftruncate,
					 * futimens): pc_backing_mods() */
	unsigned long nr_mod;		/* lock: such changes in progress */
	bool commit_inflight;		/* lock: an fdatasync is running */
	uint64_t unstable_since_ms;	/* lock: first UNSTABLE page */
	unsigned long nr_io;		/* lock: I/O on fd in progress */
	unsigned int quiesce;		/* lock: blockers of new I/O */
	unsigned int sync_waiters;	/* lock: pc_write_and_wait callers */
	pc_errseq_t wb_err;		/* lock */
	int wb_failing;			/* lock: -errno while write-back fails */
	uint64_t retry_after_ms;	/* lock: back-off after a failure */
	uint64_t dirtied_when_ms;	/* lock: when it became dirty */
	uint64_t ra_next;		/* lock: index a sequential read wants */
	bool wb_kick;			/* lock: write back at the next pass */
	struct pc_radix ghosts;		/* lock: index -> copy of the data of
					 * a clean page an invalidation
					 * dropped (pc_invalidate_range_keep_base),
					 * the diff base of PC_WRITE_CHANGED
					 * until pc_ghosts_drop */
	unsigned long nr_ghosts;	/* lock */
	bool keep_ghosts;		/* lock: drop_pages_locked keeps them */
	bool exact_bytes;		/* lock: PC_WRITE_CHANGED marks only
					 * the bytes that differ (sticky) */
	uint64_t write_seq;		/* lock: cache->write_seq at the last
					 * pc_write that changed data */

	bool on_dirty_list;		/* cache->lock */
	struct pc_mapping *dl_prev, *dl_next; /* cache->lock */
	bool sync_failed;		/* cache->lock: failed in the running
					 * pc_cache_sync_all */
	bool on_kick_list;		/* cache->lock */
	struct pc_mapping *kick_next;	/* cache->lock */
	uint64_t wb_pass_stamp;		/* cache->lock: the last pass that
					 * took it as a candidate */
};

/* ---- The cache ---------------------------------------------------------- */

struct pc_ring;

struct pc_cache {
	struct pc_config cfg;		/* constant */
	size_t page_size;		/* constant */
	unsigned long max_pages;	/* constant: cache_size / page_size */
	unsigned long dirty_limit;	/* constant: pages */
	unsigned long dirty_bg;		/* constant: pages */
	bool uring;			/* constant: io_uring works */

	pthread_mutex_t lock;		/* cache->lock */
	pthread_cond_t space;		/* a page became free or clean */
	struct pc_page *newest, *oldest, *hand;	/* SIEVE list, lock */
	struct pc_mapping *dirty_head;	/* dirty-mapping list, lock: oldest */
	struct pc_mapping *dirty_tail;	/* first, each holding a reference */
	unsigned long nr_dirty_mappings; /* lock: on the dirty list */
	struct pc_mapping *kick_head;	/* lock: pc_writeback_start's queue */
	struct pc_mapping *kick_tail;	/* for the next pass, each holding a */
	unsigned long nr_kicked;	/* reference; lock */
	struct pc_ring *ring_pool;	/* idle rings for sync I/O, lock */
	unsigned int nr_rings;		/* lock */
	unsigned int sync_all;		/* lock: pc_cache_sync_all running */

	/* Reopenable backing descriptors (see DESCRIPTORS in pagecache.h). */
	pthread_mutex_t fd_lock;
	struct pc_mapping *fd_head, *fd_tail; /* fd_lock: most recent first */
	unsigned long nr_fds;		/* fd_lock */
	unsigned long max_fds;		/* constant */

	/* Page data (data_lock, innermost; see data_alloc in pagecache.c):
	 * one region of data_slots pages reserved at creation, made usable a
	 * chunk at a time from its start, slots handed out next-fit from a
	 * bitmap of free slots.  Never more than cache_size rounded up to a
	 * chunk. */
	pthread_mutex_t data_lock;
	char *data_base;		/* constant: the reserved region */
	unsigned long data_slots;	/* constant: its size in pages */
	uint64_t *data_free;		/* data_lock: bit set = slot free */
	uint64_t *data_free_sum;	/* data_lock: bit w set = word w != 0 */
	unsigned long data_ready;	/* data_lock: slots made usable */
	unsigned long data_nr_free;	/* data_lock: bits set in data_free */
	unsigned long data_next;	/* data_lock: where the search starts */

	/* counters read without locks */
	atomic_ulong nr_pages;		/* allocated pages */
	atomic_ulong nr_dirty;		/* DIRTY pages (not in write-back) */
	atomic_ulong nr_writeback;	/* pages under write-back */
	atomic_ulong nr_unstable;	/* written, not yet fdatasync()ed */
	atomic_ulong nr_mappings;
	atomic_ulong nr_masks;		/* dirty byte masks allocated */
	atomic_ullong write_seq;	/* pc_write calls that changed data */
	struct {
		atomic_ullong hits, misses, readahead, bytes_read,
			bytes_written, wb_requests, evictions, wb_errors,
			throttle_waits, throttle_wait_ns, syncs, writeouts,
			wb_iovecs;
	} st;

	/* the write-back engine (writeback.c) */
	pthread_t wb_thread;
	pthread_mutex_t wb_lock;	/* innermost; wb_cond's */
	pthread_cond_t wb_cond;		/* kick the engine */
	bool wb_kicked;			/* wb_lock */
	bool wb_stop;			/* wb_lock */
	struct pc_ring *wb_ring;	/* engine's own ring, engine only */
	uint64_t wb_pass_no;		/* engine only: passes so far */
	uint64_t wb_last_scan_ms;	/* engine only: last dirty-list scan */
	struct pc_mapping **wb_cand;	/* engine only: a pass's candidates */
	size_t wb_cand_cap;		/* engine only */

#ifdef PC_FAULT_INJECTION
	pthread_mutex_t fault_lock;
	int fault_err[3];
	unsigned int fault_count[3];
#endif
};

/* ---- Helpers shared between the files ---------------------------------- */

uint64_t pc_now_ms(void);

/* A warning: to cfg.log, or to standard error. */
void pc_log(const struct pc_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* pagecache.c */
void pc_page_free(struct pc_cache *c, struct pc_page *p);
/* Mark the whole page dirty (any byte mask is dropped). */
void pc_set_dirty_locked(struct pc_mapping *m, struct pc_page *p);
/* Mark bytes [@from, @to) of the page dirty. */
void pc_set_dirty_bytes_locked(struct pc_mapping *m, struct pc_page *p,
			       size_t from, size_t to);
/* Mark the bytes of @mask dirty and take the mask over (freed or kept). */
void pc_set_dirty_mask_locked(struct pc_mapping *m, struct pc_page *p,
			      uint64_t *mask);
/* Free a mask taken from a page. */
void pc_mask_free(struct pc_cache *c, uint64_t *mask);
/*
 * The next run of set bits of @mask (a page of @ps bytes) at or after
 * @from, below @end: returns false if none, else sets [*@rs, *@re).
 */
bool pc_mask_next_run(const uint64_t *mask, size_t from, size_t end,
		      size_t *rs, size_t *re);
void pc_errseq_set_locked(struct pc_mapping *m, int err);
void pc_mapping_dirty_list_add(struct pc_mapping *m);
bool pc_mapping_clean_locked(struct pc_mapping *m);
void pc_mapping_dirty_list_del(struct pc_mapping *m);

/* writeback.c: synchronous vectored I/O on a pooled ring or preadv/pwritev */
/* PC_IO_WRITEOUT: start the backing filesystem's write-out of
 * [off, off + len) to its disk (sync_file_range(SYNC_FILE_RANGE_WRITE), the
 * kernel's filemap_fdatawrite_range) without waiting for it; advisory, its
 * result is not reported (the commit's fdatasync reports any error). */
enum pc_io_op {
	PC_IO_READ, PC_IO_WRITE, PC_IO_FSYNC, PC_IO_FDATASYNC, PC_IO_WRITEOUT
};

struct pc_io {
	int fd;
	enum pc_io_op op;
	off_t off;
	size_t len;			/* bytes wanted */
	struct iovec *iov;		/* advanced as bytes complete */
	int iovcnt;
	ssize_t done;			/* bytes done, or -errno */
};
/*
 * Run every I/O in @ios to completion: short transfers are resubmitted for
 * the rest, -EAGAIN/-EINTR retried; a read stops at end of file.  No lock
 * may be held.  Returns 0; each io->done says how it went.
 */
int pc_io_run(struct pc_cache *c, struct pc_io *ios, int n);

int pc_wb_start(struct pc_cache *c);
void pc_wb_stop(struct pc_cache *c);
void pc_wb_kick(struct pc_cache *c);
void pc_rings_free(struct pc_cache *c);

/*
 * Write back every dirty page of @m in pages [first, last] and wait.
 * Caller holds m->lock and has raised m->sync_waiters; the lock is dropped
 * and retaken.  With @writeout (the caller commits next), each batch's
 * range is handed to the backing filesystem's write-out while the next
 * batch is written.  Returns 0 or the first -errno.
 */
int pc_writeback_range_sync(struct pc_mapping *m, uint64_t first,
			    uint64_t last, bool writeout);

/*
 * Commit (fdatasync or fsync) @m's UNSTABLE pages: on success they become
 * clean, on failure DIRTY again and the error goes to errseq.  Caller holds
 * m->lock (dropped during the sync).  Returns 0 or -errno.
 */
int pc_commit_locked(struct pc_mapping *m, bool datasync);

#ifdef PC_FAULT_INJECTION
/* Returns 0, or the fault to apply to the next operation of kind @op. */
int pc_fault_next(struct pc_cache *c, int op);
#endif

#endif /* MMAPFS_PAGECACHE_I_H */
