/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pagecache.h - a bounded user-space page cache with io_uring write-back.
 *
 * This module caches the contents of backing files in page-sized pages and
 * writes dirty pages back with io_uring.  It knows nothing of FUSE: its only
 * dependencies are libc, pthreads and liburing.  The FUSE layer (fs/) calls
 * in; nothing here ever calls out.
 *
 * VOCABULARY (the kernel's, with the same meanings)
 *
 *   cache     One struct pc_cache per process: the memory budget, the list
 *             used for eviction, the dirty-mapping list and the write-back
 *             thread with its io_uring.
 *   mapping   One struct pc_mapping per backing file (the kernel's
 *             address_space).  It owns a descriptor of the backing file
 *             opened read-write (or read-only) without O_APPEND/O_DIRECT, an
 *             index of its pages by page index, and the file's *logical size*.
 *   page      PAGE_SIZE bytes of one mapping at index = offset / PAGE_SIZE.
 *
 * LOGICAL SIZE
 *
 *   i_size is what the file's size is *now*, as every reader must see it: it
 *   includes data written into the cache and not yet written back (it may be
 *   larger than the backing file) and truncations (applied to the backing file
 *   at once, so it is never smaller for long).  Write-back never writes a byte
 *   at or past i_size: the last page is cropped, pages wholly past it are not
 *   written.  Bytes of a page past i_size are always zero in the cache.
 *
 * PAGE STATES (flags of struct pc_page, all protected by mapping->lock)
 *
 *   UPTODATE   data holds the file's contents.  A page without it is being
 *              filled (it is then LOCKED) and must not be read.
 *   LOCKED     a read from the backing file is filling the page; anybody else
 *              who needs the page waits on mapping->wait.  Never held across
 *              a return to the caller.
 *   DIRTY      data is newer than the backing file.  Set by pc_write() and by
 *              a failed write-back or commit; cleared when the page is
 *              *submitted* for write-back (the kernel's
 *              folio_clear_dirty_for_io).
 *   WRITEBACK  a write of this page to the backing file is in flight.  At
 *              most one write of a page is in flight at any time, so writes of
 *              one page never complete out of order.
 *   UNSTABLE   the last write of the page reached the backing file but the
 *              backing file has not been fdatasync()ed since (NFS's
 *              "unstable" pages).  Such a page is never evicted: if the
 *              commit fails, the page becomes DIRTY again and is rewritten.
 *
 *   Transitions:
 *
 *     (absent) --fill--> LOCKED --read done--> UPTODATE
 *     UPTODATE --pc_write--> UPTODATE|DIRTY
 *     DIRTY --submit--> WRITEBACK        (dirty cleared)
 *     WRITEBACK --pc_write--> WRITEBACK|DIRTY   (re-dirtied during write-back:
 *                                     it stays dirty and is written again)
 *     WRITEBACK --success--> UNSTABLE    (|DIRTY if re-dirtied meanwhile)
 *     WRITEBACK --error--> DIRTY         (kept, retried; error to errseq)
 *     UNSTABLE --commit ok--> (clean)    UNSTABLE --commit failed--> DIRTY
 *     clean UPTODATE --evict/invalidate/truncate--> (absent)
 *
 *   A page that is DIRTY, WRITEBACK or UNSTABLE is never evicted nor dropped
 *   by an invalidation; only truncation removes it (after waiting for its
 *   write).  Writers may copy into a page under write-back: the in-flight
 *   write may then carry a mix of old and new bytes, which is harmless
 *   because the page is dirty again and the next write-back (at the latest
 *   the next fsync) writes the final bytes after the in-flight one completed.
 *
 * DIRTY BYTES
 *
 *   Write-back writes the bytes that were written, not whole pages (as NFS
 *   writes a page's dirty byte range): a DIRTY page carries a mask with one
 *   bit per byte (page->dmask), or none when the whole page is dirty.  This
 *   matters when somebody else writes other bytes of the same page of the
 *   backing file - another mmapfs mount of the same directory, or a program
 *   on the backing file: SQLite's wal-index keeps fields updated under
 *   different locks by different processes in one page, and writing back
 *   our whole page would put our stale copy of their fields over theirs.
 *   pc_write() marks exactly the bytes it copies; with PC_WRITE_CHANGED
 *   (the kernel's write-back of a mapped page, which always sends the whole
 *   page) only the bytes that differ from our cached copy - the copy the
 *   kernel read from us - so a store to 4 bytes writes back 4 bytes, with
 *   gaps of up to 3 equal bytes between changed ones bridged (no field of
 *   4 bytes or more fits in them).  That exactness costs a write per run
 *   (a database page with a few hundred scattered changed bytes took ~100
 *   writes: msync of 32 such pages went from ~1 to ~11 ms), so it applies
 *   only once somebody else is known to write the file: the caller says so
 *   with pc_mapping_set_exact (fs/ does at the first outside change seen
 *   and the first lock taken on the file).  Until then a page that differs
 *   is dirty whole, as it was before per-byte write-back.  When
 *   a mask fills up it is freed (whole page).  When the page is submitted
 *   for write-back its mask moves into the request, which writes one run
 *   of dirty bytes per write (a page re-dirtied meanwhile starts a new
 *   mask); a failed write merges it back.  Masks cost
 *   page_size / 8 bytes each and are capped at max_pages / 2 of them
 *   (cache_size / 16): past the cap, and after a failed commit, the page is
 *   dirty whole again - correct for one writer, only coarser when two
 *   write the same page.
 *   The diff needs the copy the kernel read.  When an outside change makes
 *   us refresh pages the kernel may still hold (and dirty),
 *   pc_invalidate_range_keep_base keeps each dropped page's data as a
 *   ghost, the diff base of PC_WRITE_CHANGED, until the caller has made
 *   the kernel drop its pages and calls pc_ghosts_drop.
 *
 * LOCK ORDER (outermost first)
 *
 *   mapping->lock     short mutex: the page index, page flags and data,
 *     |               i_size, counts, errseq.  Never held across io_uring
 *     |               submit/wait or any blocking syscall; condition waits on
 *     |               mapping->wait drop it.
 *     +-- cache->lock     short mutex: the SIEVE list, the dirty-mapping list,
 *           |             the ring pool.
 *           +-- cache->wb_lock   the write-back thread's kick flag.
 *
 *   The evictor holds cache->lock and only *try*-locks a mapping->lock,
 *   which keeps the order above deadlock-free.
 *
 *   cache->fd_lock    leaf under mapping->lock: the LRU of backing
 *                     descriptors that can be reopened (pc_mapping_set_reopen)
 *                     and their count.  Trimming it holds fd_lock and only
 *                     *try*-locks the other mappings' locks.
 *
 * DESCRIPTORS
 *
 *   A mapping given a file handle (pc_mapping_set_reopen) may have its
 *   backing descriptor closed while no I/O uses it (nr_io == 0, not
 *   quiesced, no commit running) whenever more than max_fds such
 *   descriptors are open, least recently used first - dirty or not (a busy
 *   one counts as used; if none is idle the count stays above max_fds
 *   until the write-back thread trims after its pass): the
 *   next I/O reopens it with open_by_handle_at, in the access mode it had,
 *   under mapping->lock (the one syscall that may run under it, and only
 *   for an idle file).  fdatasync() works on the inode, so pages written
 *   through the old descriptor are committed through the new one.  If the
 *   reopen finds the file deleted (ESTALE: nothing held it, so nothing can
 *   read it again) the mapping's I/O completes without touching anything
 *   from then on - write-back and commits succeed, reads see end of file -
 *   as ext4 drops the pages of a deleted file nobody holds; pc_truncate
 *   returns ENOENT.  Any other failure (EMFILE after trimming) fails that
 *   I/O with EBADF, like a write-back error, and is retried later.
 *
 *   Quiescing replaces a sleeping truncate lock: every I/O on a mapping's
 *   descriptor is counted (nr_io) while it runs; pc_truncate() raises
 *   "quiesce", waits for nr_io to drain, ftruncate()s without any lock, then
 *   lowers it.  No I/O starts while quiesce is raised, so no write-back can
 *   complete after the ftruncate and re-extend the file, and no fill can
 *   bring back removed bytes.
 *
 * MEMORY
 *
 *   At most cache_size bytes of page data are allocated.  Clean, unlocked,
 *   not-under-write-back pages are evicted with SIEVE (a FIFO with a visited
 *   bit and a moving hand: a hit only sets a bit, no lock, no list move, and it
 *   resists scans better than LRU).  When every page is dirty or under
 *   write-back, allocation waits for write-back to free some.
 *   Per-page overhead on x86-64: struct pc_page is 56 bytes (64 with
 *   malloc's header) and a dense index costs a 560-byte node per 64 pages,
 *   about 9 bytes per page: some 73 bytes per 4096-byte page, 1.8 %, and
 *   one bit per page for the free-slot bitmap.  Page data lives in one
 *   region of address space reserved for cache_size at creation and made
 *   usable 256 pages at a time, kept by the cache, so the daemon's memory
 *   stays within cache_size plus that overhead
 *   (tests/mount/e3_memory_bound.sh measures it: peak RSS with
 *   cache_size=64M stays under 112 MiB while 2 GiB are written and read).
 *
 * WRITE-BACK
 *
 *   A background thread (one io_uring per batch, taken from a pool).  It writes a mapping's dirty pages
 *   when the cache's dirty bytes exceed dirty_background_bytes or when the
 *   mapping has been dirty longer than dirty_expire_ms (checked every
 *   writeback_interval_ms), and a mapping queued by pc_writeback_start (a
 *   close) at once.  The dirty-mapping list is kept oldest first; a scan
 *   walks all of it (every writeback_interval_ms, or above the background
 *   threshold), while a pass woken by pc_writeback_start takes only the
 *   queued mappings, so that closing many freshly written files costs no
 *   walk of all of them.  Adjacent dirty pages are coalesced into one
 *   IORING_OP_WRITEV of at most max_write_pages pages.  Writers that would push
 *   dirty bytes past dirty_bytes wait while write-back makes progress.
 *   pc_write_and_wait() (fsync) writes the mapping's dirty pages itself on a
 *   ring from a small pool and waits only for them and for that mapping's
 *   in-flight writes, then fdatasync()s/fsync()s the backing file.  When it
 *   writes more than one batch (queue_depth requests), each batch's range
 *   is handed to the backing filesystem's write-out (sync_file_range
 *   SYNC_FILE_RANGE_WRITE) while the next is written, so the disk works
 *   while we copy (EARLY WRITE-OUT in writeback.c).
 *   pc_writeback_range() is the same without the fdatasync and without the
 *   write-out.  Pages handed out one after the other are adjacent in memory
 *   (PAGE DATA in pagecache.c), so a run of them is written as one iovec.
 *
 * ERRORS (errseq, as lib/errseq.c)
 *
 *   A failed write-back records its error in the mapping's errseq and leaves
 *   the pages dirty.  Each opener samples the errseq when it opens
 *   (pc_errseq_sample) and checks it at fsync/close
 *   (pc_errseq_check_and_advance): each error is reported once to each
 *   opener, and an error nobody has seen is reported to openers that come
 *   after it.  While a mapping's write-back is failing, a pc_write() that would
 *   dirty a page that is not already dirty fails with that error.
 *
 * All functions return 0 or a byte count on success and -errno on failure,
 * and may be called from any number of threads at once.
 */
#ifndef MMAPFS_PAGECACHE_H
#define MMAPFS_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct pc_cache;
struct pc_mapping;

/* An opener's sample of a mapping's write-back error sequence. */
typedef uint32_t pc_errseq_t;

/* ---- Configuration ---------------------------------------------------- */

struct pc_config {
	size_t cache_size;		/* bytes of page data, at most */
	size_t dirty_bytes;		/* writers wait above this */
	size_t dirty_background_bytes;	/* background write-back above this */
	unsigned int dirty_expire_ms;	/* write back data older than this */
	unsigned int writeback_interval_ms; /* how often the flusher looks */
	unsigned int max_write_pages;	/* pages coalesced into one write */
	unsigned int queue_depth;	/* io_uring entries per ring */
	unsigned int readahead_pages;	/* sequential read-ahead window */
	bool no_uring;			/* use preadv/pwritev, never io_uring */
	/* After each successful commit, drop the backing file's clean pages
	 * from the backing filesystem's page cache (POSIX_FADV_DONTNEED):
	 * we hold the data, so the kernel need not hold it a second time.
	 * A later miss then reads from the device. */
	bool drop_backing_cache;
	/* Reopenable backing descriptors kept open, at most (0: a quarter
	 * of RLIMIT_NOFILE, at least 64). */
	unsigned int max_fds;
	/* Where the cache's warnings go (one line, no newline); NULL means
	 * standard error.  A daemon in the background points it at syslog. */
	void (*log)(const char *msg);
};

/*
 * pc_config_default - fill @cfg with defaults scaled to this machine:
 * cache_size = min(1 GiB, RAM / 8), dirty_bytes = cache_size / 4,
 * dirty_background_bytes = dirty_bytes / 2, dirty_expire_ms = 3000,
 * writeback_interval_ms = 500, max_write_pages = 256, queue_depth = 64,
 * readahead_pages = 32.
 */
void pc_config_default(struct pc_config *cfg);

/*
 * pc_config_check - validate @cfg.  Returns NULL if it is usable, else a
 * static message naming the field and its valid range.
 */
const char *pc_config_check(const struct pc_config *cfg);

/* ---- The cache ---------------------------------------------------------- */

/*
 * pc_cache_create - allocate the cache and start its write-back thread.
 * If io_uring cannot be set up (or cfg->no_uring), logs one line to stderr
 * and uses the preadv/pwritev path.  Returns 0 and sets *out, or -errno.
 */
int pc_cache_create(const struct pc_config *cfg, struct pc_cache **out);

/*
 * pc_cache_sync_all - write back every dirty page of every mapping, wait,
 * then fdatasync each backing file written.  Returns the first error, but
 * goes on with the other mappings after one fails.  Used at unmount and
 * SIGTERM.
 */
int pc_cache_sync_all(struct pc_cache *c);

/*
 * pc_cache_destroy - stop the write-back thread and free everything.  Dirty
 * data still cached is written back first (pc_cache_sync_all); the return
 * value is that of the sync.  Every mapping must have been put.
 */
int pc_cache_destroy(struct pc_cache *c);

/* true if the cache runs on io_uring, false on the preadv/pwritev path. */
bool pc_cache_uses_uring(const struct pc_cache *c);

/* ---- Mappings ----------------------------------------------------------- */

/*
 * pc_mapping_create - start caching the backing file open at @fd.
 * The mapping takes ownership of @fd (it closes it when freed).  @fd must be
 * open O_RDWR or O_RDONLY, without O_APPEND or O_DIRECT.  The logical size
 * starts as the backing file's size.  Returns with one reference held.
 */
int pc_mapping_create(struct pc_cache *c, int fd, struct pc_mapping **out);

/* Take / drop a reference.  A mapping with dirty or in-flight pages stays
 * alive (the cache holds its own reference) until it is clean; then the last
 * put frees its pages and closes its descriptor. */
void pc_mapping_get(struct pc_mapping *m);
void pc_mapping_put(struct pc_mapping *m);

/*
 * pc_mapping_set_fd - replace the backing descriptor (e.g. upgrade from
 * O_RDONLY to O_RDWR).  Takes ownership of @fd; the old one is closed once
 * no I/O uses it.
 */
void pc_mapping_set_fd(struct pc_mapping *m, int fd);

/* pc_mapping_writable - true if the backing descriptor is open for write. */
bool pc_mapping_writable(struct pc_mapping *m);

/*
 * pc_mapping_set_reopen - let the cache close @m's backing descriptor when
 * idle and reopen it with open_by_handle_at(@mount_fd, @handle) (a struct
 * file_handle, copied) when needed: see DESCRIPTORS.  @mount_fd must stay
 * open until the cache is destroyed.  Returns 0 or -ENOMEM (then nothing
 * changes).
 */
int pc_mapping_set_reopen(struct pc_mapping *m, int mount_fd,
			  const void *handle);

/*
 * pc_mapping_fstat - fstat() the backing file: through the descriptor lent
 * by pc_mapping_lend_fd if there is one, else the mapping's own (reopened
 * by handle if it was closed).
 */
int pc_mapping_fstat(struct pc_mapping *m, struct stat *st);

/*
 * pc_mapping_lend_fd - let pc_mapping_fstat use @fd, a descriptor of the
 * same backing file the caller keeps open (a file open through the mount),
 * instead of reopening the mapping's own by handle once the cache closed
 * it.  With many files open and idle, polling them would otherwise reopen
 * and close one descriptor per check and evict another's (the LRU holds
 * max_fds).  Replaces whatever was lent; -1 lends none.  If @old (>= 0) is
 * given, the swap happens only if @old is what is lent now.  Returns once
 * no fstat() uses the previous descriptor: the caller may then close it.
 */
void pc_mapping_lend_fd(struct pc_mapping *m, int old, int fd);

/* pc_mapping_has_fd - the backing descriptor is open now (a hint). */
bool pc_mapping_has_fd(struct pc_mapping *m);

/* pc_cache_fds - reopenable backing descriptors open now (tests). */
unsigned long pc_cache_fds(struct pc_cache *c);

/* pc_fd_trim - close idle descriptors past max_fds (the write-back thread
 * calls it after each pass: a burst of busy files may have left more). */
void pc_fd_trim(struct pc_cache *c);

/* ---- Data --------------------------------------------------------------- */

/*
 * pc_read - copy up to @len bytes at @off into @buf.  Returns the number of
 * bytes copied, which is @len unless the read reaches the logical end of file
 * (a read is never short before EOF), 0 at or past EOF, or -errno.  Missing
 * pages are filled from the backing file with batched reads; sequential
 * readers get read-ahead.  Bytes past the backing file's end and inside the
 * logical size read as zeros.
 */
ssize_t pc_read(struct pc_mapping *m, void *buf, size_t len, off_t off);

/*
 * pc_write - copy @len bytes from @buf into the cache at @off and mark the
 * bytes dirty; the logical size grows to off + len if that is larger (before
 * any page becomes dirty).  A partial page is first filled from the backing
 * file unless it lies wholly past min(i_size, backing size).  May wait
 * (dirty throttling).  Returns @len or -errno (-EFBIG past the maximum file
 * size, the stored write-back error while write-back of this mapping is
 * failing and the write would dirty a clean page, -ENOMEM).
 * @flags:
 *   PC_WRITE_LIMIT_TO_SIZE  bytes at or past the logical size are discarded
 *        instead of growing the file (the kernel's page write-back must never
 *        extend a file): the return value is still @len.
 *   PC_WRITE_CHANGED  for the kernel's write-back of whole pages of which
 *        a program changed a few bytes: a page equal to the cached one
 *        stays clean; one that differs becomes dirty whole - or, once the
 *        mapping is exact (pc_mapping_set_exact) or against a ghost, only
 *        in the bytes that differ (see DIRTY BYTES).  A page not cached is
 *        taken whole.
 */
#define PC_WRITE_LIMIT_TO_SIZE	1u
#define PC_WRITE_CHANGED	2u
ssize_t pc_write(struct pc_mapping *m, const void *buf, size_t len, off_t off,
		 unsigned int flags);

/*
 * pc_mapping_set_exact - somebody else writes this backing file too (an
 * outside change was seen, or locks on it are shared with others): from
 * now on PC_WRITE_CHANGED dirties only the bytes that differ.  Sticky.
 */
void pc_mapping_set_exact(struct pc_mapping *m);

/*
 * pc_truncate - set the logical size to @size: pages wholly past it are
 * dropped (after their in-flight write-back completed), the tail of the new
 * last page is zeroed, the backing file is ftruncate()d.  A write-back that
 * completes later can neither extend the file again nor bring back removed
 * bytes.  Growing fills the new range with zeros (a hole).
 */
int pc_truncate(struct pc_mapping *m, off_t size);

/*
 * pc_invalidate_range_keep_base - pc_invalidate_range, keeping a copy of
 * each clean page it drops (up to PC_GHOSTS_MAX per mapping) as the base
 * that PC_WRITE_CHANGED diffs the kernel's write-backs against, until
 * pc_ghosts_drop().  For a caller that will then make the kernel drop its
 * own pages: a page the kernel read from us before the invalidation and
 * dirtied since must be diffed against what it read, not against the
 * refreshed page, or the bytes somebody else changed would be taken for
 * the program's and written back stale.
 */
#define PC_GHOSTS_MAX	1024
long pc_invalidate_range_keep_base(struct pc_mapping *m, off_t start,
				   off_t end);
void pc_ghosts_drop(struct pc_mapping *m);
/*
 * pc_ghosts_forget - the kernel is reading bytes [@off, @off + @len) from us
 * (or being given them): it holds no older copy of those pages any more,
 * so their ghosts must not be the base of its later write-backs - those
 * start from what it reads now.
 */
void pc_ghosts_forget(struct pc_mapping *m, off_t off, size_t len);

/*
 * pc_cached_differs - does a clean cached page of @m differ from the backing
 * file?  Only for a file of at most @max bytes (false if larger): reads the
 * whole backing file and compares every clean page we hold.  For a change
 * that neither inotify nor the file's stat can tell from our own write-back
 * (both happened at once: the stat shows the last of them).  Conservatively
 * true if the file cannot be read or a truncation is in progress.  With
 * @complete, tells whether every cached page was compared (false: some
 * were dirty, in flight or being filled, and their other bytes may be the
 * stale ones).
 */
bool pc_cached_differs(struct pc_mapping *m, off_t max, bool *complete);

/*
 * pc_invalidate_range - forget cached pages in [start, end) (end = -1: to the
 * end of the file) because the backing file was changed by somebody else.
 * Clean pages are dropped; dirty, in-flight and unstable pages are kept
 * (their written bytes are ours and will be written back: the last writer
 * wins per byte), but their other bytes stay as they were before the
 * change: the caller must refresh them once the page is clean
 * (pc_mapping_synced, pc_cached_differs; fs/watch.c does).
 * Pages being filled are waited for and then dropped: their read may have
 * happened before the change.
 * Also re-reads the backing size: if the backing file is now smaller than
 * the logical size and no dirty page lies past its end, the logical size
 * shrinks to it (an outside truncation); if it is larger, it grows.
 * Returns the number of pages dropped.
 */
long pc_invalidate_range(struct pc_mapping *m, off_t start, off_t end);

/*
 * pc_backing_mods - for a caller that watches the backing file for changes
 * made by others (fstat, inotify) and must not take ours for theirs.
 * Returns a sequence number that moves at the start and at the end of every
 * change this mapping makes to its backing file: each write-back write, the
 * ftruncate of pc_truncate, the futimens of a commit.  *@busy is true while
 * one is in progress (the file may already show it).  *@size is the size
 * the backing file has as far as our own changes go.  A watcher that reads
 * the sequence, fstat()s, and reads it again unchanged and not busy knows
 * the stat shows no change of ours in progress.  Takes mapping->lock.
 */
uint64_t pc_backing_mods(struct pc_mapping *m, bool *busy, off_t *size);

/*
 * pc_write_and_wait - make [start, end) (end = -1: whole file) durable:
 * wait for that mapping's in-flight writes, write its dirty pages, wait for
 * them, then fdatasync (@datasync) or fsync the backing file.  Returns 0 or
 * the -errno of the write or sync; the error is also recorded in errseq.
 */
int pc_write_and_wait(struct pc_mapping *m, off_t start, off_t end,
		      bool datasync);

/*
 * pc_writeback_range - write the dirty pages of [start, end) (end = -1: whole
 * file) back to the backing file and wait for them, without committing (the
 * kernel's filemap_write_and_wait_range; pc_write_and_wait is this followed
 * by the fdatasync).  On return the data is in the backing file, where other
 * readers of it see it, but not durable: the pages are UNSTABLE until a
 * pc_write_and_wait, or the write-back thread (writeback.c, "commit"),
 * commits them.  Like pc_write_and_wait it first waits for the mapping's writes in
 * flight, and the write-back thread leaves the mapping alone meanwhile.
 * Returns 0 or the -errno of a write; the error is also recorded in errseq
 * and the failed pages stay dirty.
 */
int pc_writeback_range(struct pc_mapping *m, off_t start, off_t end);

/*
 * pc_writeback_start - queue the mapping's dirty pages for background
 * write-back now (close-to-open visibility); does not wait.
 */
void pc_writeback_start(struct pc_mapping *m);

/* ---- Sizes and times ---------------------------------------------------- */

/* pc_size - the logical size. */
off_t pc_size(struct pc_mapping *m);

/*
 * pc_mtime - the time of the last pc_write/pc_truncate that changed data, or
 * {0, 0} if none happened since the mapping was created (or since
 * pc_mtime_reset).  This is the file's mtime as users must see it: the
 * write-back moves the backing file's mtime to the time of the write-back,
 * and the commit after it sets the backing mtime back to this value.
 */
struct timespec pc_mtime(struct pc_mapping *m);

/*
 * pc_mtime_reset - forget the logical mtime (after the caller set the
 * backing file's times itself, e.g. utimensat through the mount).
 */
void pc_mtime_reset(struct pc_mapping *m);

/*
 * pc_has_dirty_range - true if any page overlapping [start, end) is dirty or
 * under write-back (used for SEEK_DATA: cached dirty data counts as data).
 */
bool pc_has_dirty_range(struct pc_mapping *m, off_t start, off_t end);

/* Bytes in this mapping that are dirty or under write-back. */
size_t pc_mapping_dirty_bytes(struct pc_mapping *m);

/*
 * pc_mapping_synced - true if nothing of this mapping waits to be written
 * or committed: no dirty, in-flight or unstable page, no commit running or
 * owed (a pc_write_and_wait now would only repeat an fdatasync).
 */
bool pc_mapping_synced(struct pc_mapping *m);

/*
 * pc_mapping_write_seq - when this mapping last took a write: a number from
 * a counter of the whole cache, so that mappings can be written back in
 * the order their data came in (0: never written).
 */
uint64_t pc_mapping_write_seq(struct pc_mapping *m);

/* ---- Errors (errseq) ---------------------------------------------------- */

/* pc_errseq_sample - what a new opener starts from (an error nobody has seen
 * yet is still reported to it). */
pc_errseq_t pc_errseq_sample(struct pc_mapping *m);

/*
 * pc_errseq_check_and_advance - if a write-back error happened since *@since,
 * return it (-errno) and advance *@since so it is reported once; else 0.
 */
int pc_errseq_check_and_advance(struct pc_mapping *m, pc_errseq_t *since);

/* ---- Statistics (read without locks; values may be a moment old) -------- */

struct pc_stats {
	uint64_t cache_size;		/* configured bytes */
	uint64_t cached_bytes;		/* page data allocated */
	uint64_t dirty_bytes;		/* dirty, not under write-back */
	uint64_t writeback_bytes;	/* under write-back */
	uint64_t hits;			/* pages found uptodate by pc_read */
	uint64_t misses;		/* pages pc_read had to fill */
	uint64_t readahead_pages;	/* pages filled ahead of the reader */
	uint64_t bytes_read;		/* from backing files */
	uint64_t bytes_written;		/* to backing files by write-back */
	uint64_t writeback_requests;	/* writes submitted */
	uint64_t writeback_iovecs;	/* their iovecs: one per run of pages
					 * adjacent in memory too */
	uint64_t evictions;		/* clean pages evicted */
	uint64_t writeback_errors;	/* failed write-back requests */
	uint64_t throttle_waits;	/* writers that waited on dirty_bytes */
	uint64_t throttle_wait_ns;	/* total time they waited */
	uint64_t syncs;			/* pc_write_and_wait calls */
	uint64_t writeouts;		/* early write-outs those started */
	uint64_t mappings;		/* live mappings */
};

void pc_stats_read(struct pc_cache *c, struct pc_stats *out);

/* The page size used by the cache (sysconf(_SC_PAGESIZE)). */
size_t pc_page_size(void);

#ifdef PC_FAULT_INJECTION
/* ---- Fault injection (test builds only: libpagecache_fi.a) -------------- */

enum pc_fault_op {
	PC_FAULT_WRITE,		/* write-back writes */
	PC_FAULT_FSYNC,		/* fdatasync/fsync of backing files */
	PC_FAULT_READ,		/* fills */
};

#define PC_FAULT_SHORT	(-1)	/* transfer only half: must be resubmitted */
#define PC_FAULT_DELAY	(-2)	/* complete 20 ms late */

/*
 * pc_fault_set - make the next @count operations of kind @op fail with
 * errno @err (EIO, ENOSPC, EDQUOT, EAGAIN, EINTR, ...) or behave as
 * PC_FAULT_SHORT / PC_FAULT_DELAY.  @count = 0 clears the fault;
 * UINT_MAX means "until cleared".
 */
void pc_fault_set(struct pc_cache *c, enum pc_fault_op op, int err,
		  unsigned int count);
#endif

#endif /* MMAPFS_PAGECACHE_H */
