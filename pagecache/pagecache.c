// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pagecache.c - mappings, pages and the data operations: read with fill and
 * read-ahead, write with dirtying and throttling, truncate, invalidate,
 * eviction (SIEVE), errseq and statistics.
 *
 * The write-back engine and all I/O live in writeback.c.  The states, the
 * lock order and the quiescing rule are described in pagecache.h and
 * pagecache_i.h; every function here says which locks it expects.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagecache/pagecache_i.h"

/* Largest file we accept: the kernel's MAX_LFS_FILESIZE less one page. */
#define PC_MAX_FILE	((off_t)(LLONG_MAX - 65536))

/* ---- errseq (lib/errseq.c, in our words) ------------------------------- */

/*
 * Layout: bits 0..11 the errno, bit 12 "seen", bits 13..31 a counter that
 * moves when a new error is recorded after the previous one was seen.
 */
#define ERRSEQ_ERR_MASK	0xfffu
#define ERRSEQ_SEEN	(1u << 12)
#define ERRSEQ_CTR_INC	(1u << 13)

/* Caller holds m->lock. */
void pc_errseq_set_locked(struct pc_mapping *m, int err)
{
	pc_errseq_t old = m->wb_err, new;

	if (err < 0)
		err = -err;
	new = (old & ~(ERRSEQ_ERR_MASK | ERRSEQ_SEEN)) | (unsigned)err;
	if (old & ERRSEQ_SEEN)
		new += ERRSEQ_CTR_INC;
	else if (!(old & ERRSEQ_ERR_MASK))
		new += ERRSEQ_CTR_INC;	/* first error ever: make it differ */
	m->wb_err = new;
}

pc_errseq_t pc_errseq_sample(struct pc_mapping *m)
{
	pc_errseq_t v;

	pthread_mutex_lock(&m->lock);
	v = m->wb_err;
	pthread_mutex_unlock(&m->lock);
	/* An error nobody has seen is still reported to this opener. */
	if (!(v & ERRSEQ_SEEN))
		v = 0;
	return v;
}

int pc_errseq_check_and_advance(struct pc_mapping *m, pc_errseq_t *since)
{
	int err = 0;

	pthread_mutex_lock(&m->lock);
	if (m->wb_err != *since) {
		m->wb_err |= ERRSEQ_SEEN;
		*since = m->wb_err;
		err = -(int)(m->wb_err & ERRSEQ_ERR_MASK);
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- Configuration ------------------------------------------------------ */

size_t pc_page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

void pc_config_default(struct pc_config *cfg)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	size_t ram = pages > 0 ? (size_t)pages * pc_page_size() : (1ul << 30);
	size_t size = ram / 8;

	if (size > (1ul << 30))
		size = 1ul << 30;
	if (size < (16ul << 20))
		size = 16ul << 20;
	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_size = size;
	cfg->dirty_bytes = size / 4;
	cfg->dirty_background_bytes = size / 8;
	cfg->dirty_expire_ms = 3000;
	cfg->writeback_interval_ms = 500;
	cfg->max_write_pages = 256;
	cfg->queue_depth = 64;
	cfg->readahead_pages = 32;
}

const char *pc_config_check(const struct pc_config *cfg)
{
	size_t ps = pc_page_size();

	if (cfg->cache_size < 16 * ps)
		return "cache_size must be at least 16 pages (64 KiB)";
	if (cfg->dirty_bytes < 4 * ps || cfg->dirty_bytes > cfg->cache_size / 2)
		return "dirty_bytes must be between 4 pages and cache_size/2";
	if (cfg->dirty_background_bytes > cfg->dirty_bytes)
		return "dirty_background_bytes must not exceed dirty_bytes";
	if (cfg->dirty_expire_ms > 3600 * 1000)
		return "dirty_expire_ms must be between 0 and 3600000";
	if (cfg->writeback_interval_ms < 1 ||
	    cfg->writeback_interval_ms > 60 * 1000)
		return "writeback_interval_ms must be between 1 and 60000";
	if (cfg->max_write_pages < 1 || cfg->max_write_pages > 1024)
		return "max_write_pages must be between 1 and 1024";
	if (cfg->max_write_pages > IOV_MAX)
		return "max_write_pages must not exceed IOV_MAX";
	if (cfg->queue_depth < 4 || cfg->queue_depth > 4096)
		return "queue_depth must be between 4 and 4096";
	if (cfg->readahead_pages > 1024)
		return "readahead_pages must be between 0 and 1024";
	return NULL;
}

void pc_log(const struct pc_config *cfg, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg && cfg->log)
		cfg->log(msg);
	else
		fprintf(stderr, "mmapfs: %s\n", msg);
}

uint64_t pc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- SIEVE list and page allocation ------------------------------------- */

/* Caller holds c->lock. */
static void sieve_unlink(struct pc_cache *c, struct pc_page *p)
{
	if (!p->on_list)
		return;
	if (c->hand == p)
		c->hand = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		c->newest = p->older;
	if (p->older)
		p->older->newer = p->newer;
	else
		c->oldest = p->newer;
	p->newer = p->older = NULL;
	p->on_list = false;
}

/* Caller holds c->lock. */
static void sieve_insert(struct pc_cache *c, struct pc_page *p)
{
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
	p->on_list = true;
}

/*
 * Remove @p from its mapping's index; the caller holds m->lock and has
 * checked that the page is neither dirty, under write-back nor locked by
 * anybody else.  The page is not freed, and stays on the SIEVE list: only
 * the evictor, which holds cache->lock already, uses this directly.
 */
static void page_remove_locked(struct pc_mapping *m, struct pc_page *p)
{
	struct pc_page *gone = pc_radix_delete(&m->pages, p->index);

	(void)gone;
	assert(gone == p);
	assert(!(p->flags & (PG_DIRTY | PG_WRITEBACK | PG_UNSTABLE)));
	m->nr_pages--;
}

/*
 * Remove @p from its mapping's index *and* from the SIEVE list, before
 * m->lock is dropped: a page that is out of the index but still on the
 * list would be found by the evictor, removed a second time and freed
 * twice (found by tests/reliability/load_64.sh).  Caller holds m->lock;
 * the page is then the caller's to pc_page_free().
 */
static void page_detach_locked(struct pc_mapping *m, struct pc_page *p)
{
	page_remove_locked(m, p);
	pthread_mutex_lock(&m->cache->lock);
	sieve_unlink(m->cache, p);
	pthread_mutex_unlock(&m->cache->lock);
}

/*
 * PAGE DATA
 *
 * All page data lives in one region of data_slots = cache_size / page_size
 * page-sized slots (rounded up to a chunk), reserved with PROT_NONE when the
 * cache is created: reserving costs no memory and no commit charge.  The
 * region is made usable a chunk of PC_CHUNK_PAGES slots at a time, from its
 * start, only when no made-usable slot is free, and is kept until the cache
 * is destroyed (malloc's per-thread arenas would hold on to freed pages and
 * the daemon's memory would grow well past cache_size).
 *
 * Free slots are bits in data_free, found next-fit: the search starts after
 * the slot handed out last and wraps around.  So pages allocated one after
 * the other - a file written or read sequentially - get ascending, adjacent
 * slots whatever order earlier pages were freed in, and write-back sends a
 * run of them as one iovec.  With a LIFO free list they came back in
 * reverse order after the first use, and copying 1 GiB out of pages laid
 * out backwards was 20-25 % slower (bench/pc_bench; docs/performance.md):
 * ascending adjacent pages are what the CPU's prefetchers follow.
 * data_free_sum has one bit per word of data_free, so a search skips 4096
 * slots per word it reads.  data_lock is the innermost lock.
 */
#define PC_CHUNK_PAGES	256

static int data_init(struct pc_cache *c)
{
	unsigned long words, sum_words;

	c->data_slots = (c->max_pages + PC_CHUNK_PAGES - 1) / PC_CHUNK_PAGES *
			PC_CHUNK_PAGES;
	words = (c->data_slots + 63) / 64;
	sum_words = (words + 63) / 64;
	c->data_free = calloc(words, sizeof(uint64_t));
	c->data_free_sum = calloc(sum_words, sizeof(uint64_t));
	if (!c->data_free || !c->data_free_sum)
		return -ENOMEM;
	c->data_base = mmap(NULL, c->data_slots * c->page_size, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c->data_base == MAP_FAILED) {
		c->data_base = NULL;
		return -errno;
	}
	return 0;
}

static void data_mark_free_locked(struct pc_cache *c, unsigned long slot)
{
	c->data_free[slot / 64] |= 1ULL << (slot % 64);
	c->data_free_sum[slot / 4096] |= 1ULL << (slot / 64 % 64);
	c->data_nr_free++;
}

/* Make the next chunk of the region usable.  Caller holds data_lock. */
static int data_grow_locked(struct pc_cache *c)
{
	size_t sz = PC_CHUNK_PAGES * c->page_size;
	char *chunk = c->data_base + c->data_ready * c->page_size;

	if (c->data_ready >= c->data_slots)
		return -ENOMEM;
	if (mprotect(chunk, sz, PROT_READ | PROT_WRITE) < 0)
		return -errno;
	/* Fault it in with one call rather than 256 page faults.  Only an
	 * optimisation: without it (Linux < 5.14) the pages fault in when
	 * they are first written. */
#ifdef MADV_POPULATE_WRITE
	(void)madvise(chunk, sz, MADV_POPULATE_WRITE);
#endif
	for (unsigned long i = 0; i < PC_CHUNK_PAGES; i++)
		data_mark_free_locked(c, c->data_ready + i);
	c->data_ready += PC_CHUNK_PAGES;
	return 0;
}

/* The first set bit of data_free in [from, to) slots, or to.  @from is a
 * multiple of 64 or the search's start; both are <= data_ready. */
static unsigned long data_find_locked(struct pc_cache *c, unsigned long from,
				      unsigned long to)
{
	unsigned long w = from / 64;
	uint64_t bits;

	if (from >= to)
		return to;
	bits = c->data_free[w] & (~0ULL << (from % 64));
	while (!bits) {
		/* the next non-empty word, 64 words per summary word */
		unsigned long sw = (w + 1) / 64;
		uint64_t sum;

		if ((w + 1) * 64 >= to)
			return to;
		sum = c->data_free_sum[sw] & (~0ULL << ((w + 1) % 64));
		while (!sum) {
			if (++sw * 4096 >= to)
				return to;
			sum = c->data_free_sum[sw];
		}
		w = sw * 64 + (unsigned long)__builtin_ctzll(sum);
		if (w * 64 >= to)
			return to;
		bits = c->data_free[w];
	}
	from = w * 64 + (unsigned long)__builtin_ctzll(bits);
	return from < to ? from : to;
}

static char *data_alloc(struct pc_cache *c)
{
	unsigned long slot;

	pthread_mutex_lock(&c->data_lock);
	if (!c->data_nr_free && data_grow_locked(c)) {
		pthread_mutex_unlock(&c->data_lock);
		return NULL;
	}
	slot = data_find_locked(c, c->data_next, c->data_ready);
	if (slot == c->data_ready)
		slot = data_find_locked(c, 0, c->data_next);
	assert(slot < c->data_ready);
	c->data_free[slot / 64] &= ~(1ULL << (slot % 64));
	if (!c->data_free[slot / 64])
		c->data_free_sum[slot / 4096] &= ~(1ULL << (slot / 64 % 64));
	c->data_nr_free--;
	c->data_next = slot + 1 < c->data_ready ? slot + 1 : 0;
	pthread_mutex_unlock(&c->data_lock);
	return c->data_base + slot * c->page_size;
}

static void data_free(struct pc_cache *c, char *d)
{
	unsigned long slot = (unsigned long)(d - c->data_base) / c->page_size;

	pthread_mutex_lock(&c->data_lock);
	assert(slot < c->data_ready &&
	       !(c->data_free[slot / 64] & (1ULL << (slot % 64))));
	data_mark_free_locked(c, slot);
	pthread_mutex_unlock(&c->data_lock);
}

static void data_destroy(struct pc_cache *c)
{
	if (c->data_base)
		munmap(c->data_base, c->data_slots * c->page_size);
	free(c->data_free);
	free(c->data_free_sum);
	pthread_mutex_destroy(&c->data_lock);
}

void pc_page_free(struct pc_cache *c, struct pc_page *p)
{
	pthread_mutex_lock(&c->lock);
	sieve_unlink(c, p);
	pthread_mutex_unlock(&c->lock);
	pc_mask_free(c, p->dmask);
	data_free(c, p->data);
	free(p);
	atomic_fetch_sub(&c->nr_pages, 1);
	pthread_cond_broadcast(&c->space);
}

/*
 * Evict one clean page and hand its memory to the caller.  @held is the
 * mapping whose lock the caller holds (its pages can be taken without a
 * trylock), or NULL.  Caller holds c->lock.  Returns NULL if no page could
 * be evicted.
 */
static struct pc_page *evict_one_locked(struct pc_cache *c,
					struct pc_mapping *held)
{
	unsigned long budget = 2 * atomic_load(&c->nr_pages) + 2;

	while (budget--) {
		struct pc_page *p = c->hand ? c->hand : c->oldest;
		struct pc_mapping *m;

		if (!p)
			return NULL;
		c->hand = p->newer;
		if (atomic_exchange(&p->visited, false))
			continue;
		m = p->mapping;
		if (m != held && pthread_mutex_trylock(&m->lock))
			continue;
		if (p->flags & (PG_DIRTY | PG_WRITEBACK | PG_UNSTABLE |
				PG_LOCKED)) {
			if (m != held)
				pthread_mutex_unlock(&m->lock);
			continue;
		}
		page_remove_locked(m, p);
		if (m != held)
			pthread_mutex_unlock(&m->lock);
		sieve_unlink(c, p);
		atomic_fetch_add(&c->st.evictions, 1);
		return p;
	}
	return NULL;
}

/*
 * Get a page for @m at @index, not yet in the index.  Caller holds m->lock.
 * Never sleeps: returns NULL when the cache is full of pages that cannot be
 * evicted (dirty, under write-back, locked), and the caller must drop
 * m->lock and call wait_for_space().
 */
static struct pc_page *page_alloc_locked(struct pc_mapping *m, uint64_t index)
{
	struct pc_cache *c = m->cache;
	struct pc_page *p = NULL;
	unsigned long n = atomic_load(&c->nr_pages);

	while (n < c->max_pages) {
		if (atomic_compare_exchange_weak(&c->nr_pages, &n, n + 1)) {
			p = calloc(1, sizeof(*p));
			if (p && !(p->data = data_alloc(c))) {
				free(p);
				p = NULL;
			}
			if (!p) {
				atomic_fetch_sub(&c->nr_pages, 1);
				return NULL;
			}
			break;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (!p) {
		p = evict_one_locked(c, m);
		if (!p) {
			pthread_mutex_unlock(&c->lock);
			pc_wb_kick(c);
			return NULL;
		}
	}
	p->mapping = m;
	p->index = index;
	p->flags = 0;
	atomic_store(&p->visited, false);
	sieve_insert(c, p);
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* Wait (no lock held) until a page may have become free or evictable. */
static void wait_for_space(struct pc_cache *c)
{
	struct timespec ts;

	pc_wb_kick(c);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	pthread_cond_timedwait(&c->space, &c->lock, &ts);
	pthread_mutex_unlock(&c->lock);
}

/* ---- Dirty accounting --------------------------------------------------- */

/* Caller holds m->lock. */
void pc_mapping_dirty_list_add(struct pc_mapping *m)
{
	struct pc_cache *c = m->cache;

	pthread_mutex_lock(&c->lock);
	if (!m->on_dirty_list) {
		/* at the tail: the list stays in the order mappings became
		 * dirty, oldest first, as the write-back pass wants it */
		m->on_dirty_list = true;
		m->dl_next = NULL;
		m->dl_prev = c->dirty_tail;
		if (c->dirty_tail)
			c->dirty_tail->dl_next = m;
		else
			c->dirty_head = m;
		c->dirty_tail = m;
		c->nr_dirty_mappings++;
		m->sync_failed = false;
		atomic_fetch_add(&m->refcount, 1);	/* the cache's */
		m->dirtied_when_ms = pc_now_ms();
	}
	pthread_mutex_unlock(&c->lock);
}

/* true if @m has nothing dirty nor in flight.  Caller holds m->lock. */
bool pc_mapping_clean_locked(struct pc_mapping *m)
{
	return m->nr_dirty == 0 && m->nr_writeback == 0 &&
	       m->nr_unstable == 0;
}

/*
 * Take @m off the dirty list if it is clean, dropping the cache's reference.
 * Caller holds no lock (the put may free the mapping).
 */
void pc_mapping_dirty_list_del(struct pc_mapping *m)
{
	struct pc_cache *c = m->cache;
	bool drop = false;

	pthread_mutex_lock(&m->lock);
	if (pc_mapping_clean_locked(m)) {
		pthread_mutex_lock(&c->lock);
		if (m->on_dirty_list) {
			m->on_dirty_list = false;
			if (m->dl_prev)
				m->dl_prev->dl_next = m->dl_next;
			else
				c->dirty_head = m->dl_next;
			if (m->dl_next)
				m->dl_next->dl_prev = m->dl_prev;
			else
				c->dirty_tail = m->dl_prev;
			m->dl_prev = m->dl_next = NULL;
			c->nr_dirty_mappings--;
			drop = true;
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&m->lock);
	if (drop)
		pc_mapping_put(m);
}

/* ---- Dirty bytes (DIRTY BYTES in pagecache.h) --------------------------- */

static size_t mask_bytes(const struct pc_cache *c)
{
	return c->page_size / 8;
}

void pc_mask_free(struct pc_cache *c, uint64_t *mask)
{
	if (!mask)
		return;
	free(mask);
	atomic_fetch_sub(&c->nr_masks, 1);
}

/* A new all-clear mask, or NULL past the cap or without memory (the page
 * is then dirty whole). */
static uint64_t *mask_new(struct pc_cache *c)
{
	uint64_t *mask;

	if (atomic_fetch_add(&c->nr_masks, 1) >= c->max_pages / 2 + 1) {
		atomic_fetch_sub(&c->nr_masks, 1);
		return NULL;
	}
	mask = calloc(1, mask_bytes(c));
	if (!mask)
		atomic_fetch_sub(&c->nr_masks, 1);
	return mask;
}

static void mask_set(uint64_t *mask, size_t from, size_t to)
{
	while (from < to) {
		size_t w = from / 64, b = from % 64;
		size_t n = 64 - b < to - from ? 64 - b : to - from;

		mask[w] |= (n == 64 ? ~0ull : ((1ull << n) - 1) << b);
		from += n;
	}
}

static bool mask_full(const uint64_t *mask, size_t ps)
{
	for (size_t w = 0; w < ps / 64; w++)
		if (mask[w] != ~0ull)
			return false;
	return true;
}

bool pc_mask_next_run(const uint64_t *mask, size_t from, size_t end,
		      size_t *rs, size_t *re)
{
	size_t i = from;

	while (i < end && !(mask[i / 64] >> (i % 64) & 1)) {
		if (i % 64 == 0 && !mask[i / 64])
			i += 64;
		else
			i++;
	}
	if (i >= end)
		return false;
	*rs = i;
	while (i < end && (mask[i / 64] >> (i % 64) & 1)) {
		if (i % 64 == 0 && mask[i / 64] == ~0ull)
			i += 64;
		else
			i++;
	}
	*re = i < end ? i : end;
	return true;
}

/* The accounting of a page becoming DIRTY.  Caller holds m->lock. */
static void mark_dirty_locked(struct pc_mapping *m, struct pc_page *p)
{
	p->flags |= PG_DIRTY;
	pc_radix_tag_set(&m->pages, p->index, PC_TAG_DIRTY);
	m->nr_dirty++;
	atomic_fetch_add(&m->cache->nr_dirty, 1);
	if (m->nr_dirty == 1 && m->nr_writeback == 0)
		m->dirtied_when_ms = pc_now_ms();
	pc_mapping_dirty_list_add(m);
}

/* Mark @p dirty, every byte of it.  Caller holds m->lock. */
void pc_set_dirty_locked(struct pc_mapping *m, struct pc_page *p)
{
	pc_mask_free(m->cache, p->dmask);
	p->dmask = NULL;
	if (!(p->flags & PG_DIRTY))
		mark_dirty_locked(m, p);
}

void pc_set_dirty_bytes_locked(struct pc_mapping *m, struct pc_page *p,
			       size_t from, size_t to)
{
	size_t ps = m->cache->page_size;

	if (from >= to)
		return;
	if (from == 0 && to == ps)
		return pc_set_dirty_locked(m, p);
	if (p->flags & PG_DIRTY) {
		if (!p->dmask)
			return;		/* dirty whole already */
	} else {
		p->dmask = mask_new(m->cache);
		mark_dirty_locked(m, p);
		if (!p->dmask)
			return;
	}
	mask_set(p->dmask, from, to);
	if (mask_full(p->dmask, ps)) {
		pc_mask_free(m->cache, p->dmask);
		p->dmask = NULL;
	}
}

void pc_set_dirty_mask_locked(struct pc_mapping *m, struct pc_page *p,
			      uint64_t *mask)
{
	size_t ps = m->cache->page_size;

	if (!mask)
		return pc_set_dirty_locked(m, p);
	if (!(p->flags & PG_DIRTY)) {
		p->dmask = mask;
		mark_dirty_locked(m, p);
		return;
	}
	if (p->dmask) {
		for (size_t w = 0; w < ps / 64; w++)
			p->dmask[w] |= mask[w];
		if (mask_full(p->dmask, ps)) {
			pc_mask_free(m->cache, p->dmask);
			p->dmask = NULL;
		}
	}
	pc_mask_free(m->cache, mask);
}

/*
 * balance_dirty_pages, in short: while dirty and in-flight pages exceed the
 * limit, wait for write-back to make progress, in slices of at most 200 ms.
 * While @m's own write-back is failing, give up with its error instead of
 * waiting forever.  Caller holds no lock.
 */
static int balance_dirty(struct pc_mapping *m)
{
	struct pc_cache *c = m->cache;
	uint64_t t0 = 0;
	int err = 0;

	for (;;) {
		/* UNSTABLE pages are not counted: they are in the backing
		 * file already, and the write-back thread commits them when
		 * the cache runs short of clean pages. */
		unsigned long d = atomic_load(&c->nr_dirty) +
				  atomic_load(&c->nr_writeback);
		struct timespec ts;

		if (d > c->dirty_bg)
			pc_wb_kick(c);
		if (d < c->dirty_limit)
			break;
		pthread_mutex_lock(&m->lock);
		err = m->wb_failing;
		pthread_mutex_unlock(&m->lock);
		if (err)
			break;
		if (!t0) {
			t0 = now_ns();
			atomic_fetch_add(&c->st.throttle_waits, 1);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&c->lock);
		pthread_cond_timedwait(&c->space, &c->lock, &ts);
		pthread_mutex_unlock(&c->lock);
	}
	if (t0)
		atomic_fetch_add(&c->st.throttle_wait_ns, now_ns() - t0);
	return err;
}

/* ---- The cache ---------------------------------------------------------- */

static void clear_state_locked(struct pc_mapping *m, struct pc_page *p,
			       unsigned int flag);
/* A ghost: the data of a dropped clean page, and where it was. */
struct pc_ghost {
	uint64_t index;
	char data[];
};

static void ghosts_drop_locked(struct pc_mapping *m);

int pc_cache_create(const struct pc_config *cfg, struct pc_cache **out)
{
	struct pc_cache *c;
	const char *msg = pc_config_check(cfg);
	int ret;

	if (msg) {
		pc_log(cfg, "pagecache: %s", msg);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->page_size = pc_page_size();
	c->max_pages = cfg->cache_size / c->page_size;
	c->dirty_limit = cfg->dirty_bytes / c->page_size;
	c->dirty_bg = cfg->dirty_background_bytes / c->page_size;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->space, NULL);
	pthread_mutex_init(&c->wb_lock, NULL);
	pthread_cond_init(&c->wb_cond, NULL);
	pthread_mutex_init(&c->data_lock, NULL);
	pthread_mutex_init(&c->fd_lock, NULL);
	c->max_fds = cfg->max_fds;
	if (!c->max_fds) {
		struct rlimit rl;

		c->max_fds = 1024 / 4;
		if (!getrlimit(RLIMIT_NOFILE, &rl) &&
		    rl.rlim_cur != RLIM_INFINITY)
			c->max_fds = rl.rlim_cur / 4;
		if (c->max_fds < 64)
			c->max_fds = 64;
	}
#ifdef PC_FAULT_INJECTION
	pthread_mutex_init(&c->fault_lock, NULL);
#endif
	ret = data_init(c);
	if (ret) {
		pc_log(cfg, "pagecache: cannot reserve %zu bytes of address "
		       "space for the page data: %s", cfg->cache_size,
		       strerror(-ret));
	} else {
		ret = pc_wb_start(c);
	}
	if (ret) {
		data_destroy(c);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

bool pc_cache_uses_uring(const struct pc_cache *c)
{
	return c->uring;
}

int pc_cache_sync_all(struct pc_cache *c)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	c->sync_all++;
	for (struct pc_mapping *m = c->dirty_head; m; m = m->dl_next)
		m->sync_failed = false;
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		struct pc_mapping *m;
		int err;

		/* Take the first dirty mapping; each sync takes it off.  After
		 * an error, only those not failed in this call (sync_failed is
		 * ours, under cache->lock: wb_failing needs mapping->lock). */
		pthread_mutex_lock(&c->lock);
		for (m = c->dirty_head; m; m = m->dl_next)
			if (!m->sync_failed || !ret)
				break;
		if (m)
			atomic_fetch_add(&m->refcount, 1);
		pthread_mutex_unlock(&c->lock);
		if (!m)
			break;
		err = pc_write_and_wait(m, 0, -1, true);
		if (err && !ret)
			ret = err;
		if (err) {
			/* A failing mapping stays dirty; do not spin on it. */
			pthread_mutex_lock(&m->lock);
			if (!m->wb_failing)
				m->wb_failing = err;
			pthread_mutex_unlock(&m->lock);
			pthread_mutex_lock(&c->lock);
			m->sync_failed = true;
			pthread_mutex_unlock(&c->lock);
		}
		pc_mapping_put(m);
		if (err) {
			/* Try every other mapping once, then give up. */
			bool more = false;

			pthread_mutex_lock(&c->lock);
			for (m = c->dirty_head; m; m = m->dl_next)
				if (!m->sync_failed)
					more = true;
			pthread_mutex_unlock(&c->lock);
			if (!more)
				break;
		}
	}
	pthread_mutex_lock(&c->lock);
	c->sync_all--;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* The backing file's name for a message, as /proc knows it now. */
static void lost_path(int fd, char *buf, size_t len)
{
	char proc[32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, len - 1);
	if (n < 0)
		snprintf(buf, len, "(backing file, descriptor %d)", fd);
	else
		buf[n] = '\0';
}

int pc_cache_destroy(struct pc_cache *c)
{
	char path[PATH_MAX];
	int ret = pc_cache_sync_all(c);

	pc_wb_stop(c);
	/* Mappings that stayed dirty after failures hold the cache's ref. */
	for (;;) {
		struct pc_mapping *m;

		pthread_mutex_lock(&c->lock);
		m = c->dirty_head;
		if (m) {
			c->dirty_head = m->dl_next;
			if (c->dirty_head)
				c->dirty_head->dl_prev = NULL;
			else
				c->dirty_tail = NULL;
			c->nr_dirty_mappings--;
			m->on_dirty_list = false;
		}
		pthread_mutex_unlock(&c->lock);
		if (!m)
			break;
		pthread_mutex_lock(&m->lock);
		lost_path(m->fd, path, sizeof(path));
		pc_log(&c->cfg, "pagecache: %lu dirty pages of '%s' "
		       "could not be written back and are lost; the backing "
		       "filesystem kept failing: free space or repair it, "
		       "then restore the file from its writer",
		       m->nr_dirty + m->nr_unstable, path);
		for (uint64_t next = 0;;) {
			void *pp[64];
			size_t n = pc_radix_gang(&m->pages, next, pp, 64, -1);

			for (size_t i = 0; i < n; i++) {
				clear_state_locked(m, pp[i], PG_DIRTY);
				clear_state_locked(m, pp[i], PG_UNSTABLE);
				next = ((struct pc_page *)pp[i])->index + 1;
			}
			if (n < 64)
				break;
		}
		pthread_mutex_unlock(&m->lock);
		pc_mapping_put(m);
	}
	pc_rings_free(c);
	data_destroy(c);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->space);
	pthread_mutex_destroy(&c->wb_lock);
	pthread_cond_destroy(&c->wb_cond);
	pthread_mutex_destroy(&c->fd_lock);
	free(c);
	return ret;
}

void pc_stats_read(struct pc_cache *c, struct pc_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->cache_size = c->cfg.cache_size;
	s->cached_bytes = atomic_load(&c->nr_pages) * c->page_size;
	s->dirty_bytes = atomic_load(&c->nr_dirty) * c->page_size;
	s->writeback_bytes = atomic_load(&c->nr_writeback) * c->page_size;
	s->hits = atomic_load(&c->st.hits);
	s->misses = atomic_load(&c->st.misses);
	s->readahead_pages = atomic_load(&c->st.readahead);
	s->bytes_read = atomic_load(&c->st.bytes_read);
	s->bytes_written = atomic_load(&c->st.bytes_written);
	s->writeback_requests = atomic_load(&c->st.wb_requests);
	s->writeouts = atomic_load(&c->st.writeouts);
	s->writeback_iovecs = atomic_load(&c->st.wb_iovecs);
	s->evictions = atomic_load(&c->st.evictions);
	s->writeback_errors = atomic_load(&c->st.wb_errors);
	s->throttle_waits = atomic_load(&c->st.throttle_waits);
	s->throttle_wait_ns = atomic_load(&c->st.throttle_wait_ns);
	s->syncs = atomic_load(&c->st.syncs);
	s->mappings = atomic_load(&c->nr_mappings);
}

/* ---- Mappings ----------------------------------------------------------- */

int pc_mapping_create(struct pc_cache *c, int fd, struct pc_mapping **out)
{
	struct pc_mapping *m;
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & (O_APPEND | O_DIRECT))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cache = c;
	atomic_init(&m->refcount, 1);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wait, NULL);
	m->fd = fd;
	m->stat_fd = -1;
	m->writable = (fl & O_ACCMODE) == O_RDWR;
	m->i_size = st.st_size;
	m->backing_size = st.st_size;
	m->max_checked = st.st_size;
	atomic_fetch_add(&c->nr_mappings, 1);
	*out = m;
	return 0;
}

/* ---- Reopenable descriptors (DESCRIPTORS in pagecache.h) -------------- */

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static void wait_unquiesced(struct pc_mapping *m);

/* Descriptors closed by one trim, at most; entries looked at, at most. */
#define PC_FD_SCAN	64
#define PC_FD_LOOK	256

/* Caller holds fd_lock. */
static void fd_lru_del_locked(struct pc_cache *c, struct pc_mapping *m)
{
	if (m->fl_prev)
		m->fl_prev->fl_next = m->fl_next;
	else
		c->fd_head = m->fl_next;
	if (m->fl_next)
		m->fl_next->fl_prev = m->fl_prev;
	else
		c->fd_tail = m->fl_prev;
	m->fl_prev = m->fl_next = NULL;
	m->on_fd_lru = false;
	c->nr_fds--;
}

/* Caller holds fd_lock. */
static void fd_lru_add_locked(struct pc_cache *c, struct pc_mapping *m)
{
	m->fl_prev = NULL;
	m->fl_next = c->fd_head;
	if (c->fd_head)
		c->fd_head->fl_prev = m;
	else
		c->fd_tail = m;
	c->fd_head = m;
	m->on_fd_lru = true;
	c->nr_fds++;
}

/*
 * Caller holds fd_lock (and @self's lock, which is skipped; may be NULL):
 * close idle descriptors from the LRU's tail until at most max_fds are
 * open (all idle ones if @force).  Other mappings are only try-locked; a
 * busy one (I/O running: the oldest dirty files are the ones being
 * written back) is in use, so it moves to the front and the tail stays
 * worth scanning.  The descriptors go to @out (PC_FD_SCAN entries) for the
 * caller to close after dropping fd_lock; returns how many.
 */
static size_t fd_trim_locked(struct pc_cache *c, struct pc_mapping *self,
			     int *out, bool force)
{
	struct pc_mapping *m = c->fd_tail, *prev;
	size_t n = 0, looked = 0;

	while ((force || c->nr_fds > c->max_fds) && m && n < PC_FD_SCAN &&
	       looked++ < PC_FD_LOOK) {
		bool busy = true;

		prev = m->fl_prev;
		if (m != self && !pthread_mutex_trylock(&m->lock)) {
			/* Idle: no I/O holds the number, none may start
			 * before it is -1 (every start takes m->lock). */
			if (m->fd >= 0 && !m->nr_io && !m->quiesce &&
			    !m->commit_inflight) {
				out[n++] = m->fd;
				m->fd = -1;
				fd_lru_del_locked(c, m);
				busy = false;
			}
			pthread_mutex_unlock(&m->lock);
		}
		if (busy && m != c->fd_head) {
			fd_lru_del_locked(c, m);
			fd_lru_add_locked(c, m);
		}
		m = prev;
	}
	return n;
}

void pc_fd_trim(struct pc_cache *c)
{
	int out[PC_FD_SCAN];
	size_t n;

	do {
		pthread_mutex_lock(&c->fd_lock);
		n = fd_trim_locked(c, NULL, out, false);
		pthread_mutex_unlock(&c->fd_lock);
		close_fds(out, n);
	} while (n == PC_FD_SCAN);
}


int pc_mapping_fd_locked(struct pc_mapping *m)
{
	struct pc_cache *c = m->cache;
	int out[PC_FD_SCAN];
	size_t n = 0;
	int fd;

	if (!m->handle)
		return m->fd;
	if (m->gone) {
		errno = ESTALE;
		return PC_FD_GONE;
	}
	if (m->fd >= 0) {
		pthread_mutex_lock(&c->fd_lock);
		if (m->on_fd_lru && c->fd_head != m) {	/* to the front */
			fd_lru_del_locked(c, m);
			fd_lru_add_locked(c, m);
		}
		pthread_mutex_unlock(&c->fd_lock);
		return m->fd;
	}
	for (int tries = 0;; tries++) {
		fd = open_by_handle_at(m->mount_fd, m->handle,
				       (m->writable ? O_RDWR : O_RDONLY) |
				       O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 || tries ||
		    (errno != EMFILE && errno != ENFILE))
			break;
		/* Out of descriptors: give back idle ones, try again. */
		pthread_mutex_lock(&c->fd_lock);
		n = fd_trim_locked(c, m, out, true);
		pthread_mutex_unlock(&c->fd_lock);
		close_fds(out, n);
	}
	if (fd < 0 && errno == ESTALE) {
		m->gone = true;		/* for good: see PC_FD_GONE */
		return PC_FD_GONE;
	}
	if (fd < 0)
		return -1;
	m->fd = fd;
	pthread_mutex_lock(&c->fd_lock);
	fd_lru_add_locked(c, m);
	n = fd_trim_locked(c, m, out, false);
	pthread_mutex_unlock(&c->fd_lock);
	close_fds(out, n);
	return fd;
}

int pc_mapping_set_reopen(struct pc_mapping *m, int mount_fd,
			  const void *handle)
{
	const struct file_handle *h = handle;
	struct pc_cache *c = m->cache;
	struct file_handle *copy;
	int out[PC_FD_SCAN];
	size_t n = 0;

	copy = malloc(sizeof(*copy) + h->handle_bytes);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, h, sizeof(*copy) + h->handle_bytes);
	pthread_mutex_lock(&m->lock);
	if (m->handle) {
		pthread_mutex_unlock(&m->lock);
		free(copy);
		return 0;
	}
	m->handle = copy;
	m->mount_fd = mount_fd;
	if (m->fd >= 0) {
		pthread_mutex_lock(&c->fd_lock);
		fd_lru_add_locked(c, m);
		n = fd_trim_locked(c, m, out, false);
		pthread_mutex_unlock(&c->fd_lock);
	}
	pthread_mutex_unlock(&m->lock);
	close_fds(out, n);
	return 0;
}

int pc_mapping_fstat(struct pc_mapping *m, struct stat *st)
{
	int fd, r = 0;

	pthread_mutex_lock(&m->lock);
	if (m->stat_fd >= 0) {
		/* Lent: no reopen, and the LRU stays as I/O ordered it. */
		fd = m->stat_fd;
		m->stat_users++;
		pthread_mutex_unlock(&m->lock);
		if (fstat(fd, st) < 0)
			r = -errno;
		pthread_mutex_lock(&m->lock);
		m->stat_users--;
		pthread_cond_broadcast(&m->wait);
		pthread_mutex_unlock(&m->lock);
		return r;
	}
	wait_unquiesced(m);
	fd = pc_mapping_fd_locked(m);
	m->nr_io++;
	pthread_mutex_unlock(&m->lock);
	if (fd < 0)
		r = -EBADF;
	else if (fstat(fd, st) < 0)
		r = -errno;
	pthread_mutex_lock(&m->lock);
	m->nr_io--;
	pthread_cond_broadcast(&m->wait);
	pthread_mutex_unlock(&m->lock);
	return r;
}

void pc_mapping_lend_fd(struct pc_mapping *m, int old, int fd)
{
	pthread_mutex_lock(&m->lock);
	if (old < 0 || m->stat_fd == old) {
		m->stat_fd = fd;
		/* The previous one may be closed on return: nobody may
		 * still fstat() it (its number could be reused). */
		while (m->stat_users)
			pthread_cond_wait(&m->wait, &m->lock);
	}
	pthread_mutex_unlock(&m->lock);
}

bool pc_mapping_has_fd(struct pc_mapping *m)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = m->fd >= 0;
	pthread_mutex_unlock(&m->lock);
	return r;
}

unsigned long pc_cache_fds(struct pc_cache *c)
{
	unsigned long n;

	pthread_mutex_lock(&c->fd_lock);
	n = c->nr_fds;
	pthread_mutex_unlock(&c->fd_lock);
	return n;
}

void pc_mapping_get(struct pc_mapping *m)
{
	atomic_fetch_add(&m->refcount, 1);
}

/* Free every page of a mapping nobody uses any more. */
static void mapping_free(struct pc_mapping *m)
{
	struct pc_cache *c = m->cache;
	void *pp[64];
	size_t n;

	/* Off the descriptor LRU first: the trimmer may try-lock us. */
	pthread_mutex_lock(&c->fd_lock);
	if (m->on_fd_lru)
		fd_lru_del_locked(c, m);
	pthread_mutex_unlock(&c->fd_lock);
	/*
	 * Nobody holds a reference, but the evictor can still reach our
	 * pages through the SIEVE list: take them off it under m->lock (the
	 * evictor only try-locks it), so that it never touches this mapping
	 * again.
	 */
	pthread_mutex_lock(&m->lock);
	ghosts_drop_locked(m);
	while ((n = pc_radix_gang(&m->pages, 0, pp, 64, -1))) {
		for (size_t i = 0; i < n; i++) {
			struct pc_page *p = pp[i];

			p->flags = 0;
			pc_radix_delete(&m->pages, p->index);
			pthread_mutex_lock(&c->lock);
			sieve_unlink(c, p);
			pthread_mutex_unlock(&c->lock);
			pc_page_free(c, p);
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (m->fd >= 0)
		close(m->fd);
	free(m->handle);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wait);
	atomic_fetch_sub(&c->nr_mappings, 1);
	free(m);
}

void pc_mapping_put(struct pc_mapping *m)
{
	if (atomic_fetch_sub(&m->refcount, 1) == 1)
		mapping_free(m);
}

/*
 * Block new I/O on @m and wait for running I/O to drain.  Caller holds
 * m->lock (dropped while waiting).
 */
static void quiesce_begin(struct pc_mapping *m)
{
	m->quiesce++;
	while (m->nr_io)
		pthread_cond_wait(&m->wait, &m->lock);
}

static void quiesce_end(struct pc_mapping *m)
{
	m->quiesce--;
	pthread_cond_broadcast(&m->wait);
}

/* Wait until new I/O may start.  Caller holds m->lock. */
static void wait_unquiesced(struct pc_mapping *m)
{
	while (m->quiesce)
		pthread_cond_wait(&m->wait, &m->lock);
}

void pc_mapping_set_fd(struct pc_mapping *m, int fd)
{
	int old, fl = fcntl(fd, F_GETFL);

	pthread_mutex_lock(&m->lock);
	quiesce_begin(m);
	old = m->fd;
	m->fd = fd;
	m->writable = fl >= 0 && (fl & O_ACCMODE) == O_RDWR;
	if (m->handle) {
		pthread_mutex_lock(&m->cache->fd_lock);
		if (!m->on_fd_lru)	/* it was closed: counted again */
			fd_lru_add_locked(m->cache, m);
		pthread_mutex_unlock(&m->cache->fd_lock);
	}
	quiesce_end(m);
	pthread_mutex_unlock(&m->lock);
	if (old >= 0)
		close(old);
}

bool pc_mapping_writable(struct pc_mapping *m)
{
	bool w;

	pthread_mutex_lock(&m->lock);
	w = m->writable;
	pthread_mutex_unlock(&m->lock);
	return w;
}

off_t pc_size(struct pc_mapping *m)
{
	off_t s;

	pthread_mutex_lock(&m->lock);
	s = m->i_size;
	pthread_mutex_unlock(&m->lock);
	return s;
}

struct timespec pc_mtime(struct pc_mapping *m)
{
	struct timespec t;

	pthread_mutex_lock(&m->lock);
	t = m->mtime;
	pthread_mutex_unlock(&m->lock);
	return t;
}

size_t pc_mapping_dirty_bytes(struct pc_mapping *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = (m->nr_dirty + m->nr_writeback) * m->cache->page_size;
	pthread_mutex_unlock(&m->lock);
	return n;
}

bool pc_mapping_synced(struct pc_mapping *m)
{
	bool synced;

	pthread_mutex_lock(&m->lock);
	synced = !m->nr_dirty && !m->nr_writeback && !m->nr_unstable &&
		 !m->mtime_dirty && !m->commit_inflight;
	pthread_mutex_unlock(&m->lock);
	return synced;
}

bool pc_has_dirty_range(struct pc_mapping *m, off_t start, off_t end)
{
	size_t ps = m->cache->page_size;
	uint64_t first = (uint64_t)start / ps;
	uint64_t last = end < 0 ? UINT64_MAX : ((uint64_t)end + ps - 1) / ps;
	void *pp[1];
	bool found = false;

	pthread_mutex_lock(&m->lock);
	for (int t = PC_TAG_DIRTY; t <= PC_TAG_WRITEBACK && !found; t++)
		if (pc_radix_gang(&m->pages, first, pp, 1, t) &&
		    ((struct pc_page *)pp[0])->index < last)
			found = true;
	pthread_mutex_unlock(&m->lock);
	return found;
}

static void touch_mtime_locked(struct pc_mapping *m)
{
	clock_gettime(CLOCK_REALTIME, &m->mtime);
	m->mtime_dirty = true;
}

void pc_mtime_reset(struct pc_mapping *m)
{
	pthread_mutex_lock(&m->lock);
	m->mtime.tv_sec = 0;
	m->mtime.tv_nsec = 0;
	m->mtime_dirty = false;
	pthread_mutex_unlock(&m->lock);
}

/* ---- Filling pages from the backing file -------------------------------- */

/*
 * Make pages [first, first + nr) present and uptodate.  Missing pages are
 * allocated LOCKED, read with one vectored read per contiguous run (all runs
 * submitted together), then marked UPTODATE.  Pages being filled by someone
 * else are waited for.  Bytes past min(i_size, backing size) are zero.
 * Caller holds m->lock; it is dropped during I/O and waits.  Returns 0 or
 * -errno; on error no page of the range that this call inserted remains.
 */
static int fill_pages_locked(struct pc_mapping *m, uint64_t first,
			     uint64_t nr)
{
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	struct pc_page **new = NULL;
	struct pc_io *ios = NULL;
	struct iovec *iov = NULL;
	uint64_t i, n_new = 0;
	int n_io = 0, ret = 0, fd;
	off_t limit;

again:
	wait_unquiesced(m);
	/* Wait for pages somebody else is filling. */
	for (i = first; i < first + nr; i++) {
		struct pc_page *p = pc_radix_lookup(&m->pages, i);

		if (p && (p->flags & PG_LOCKED)) {
			pthread_cond_wait(&m->wait, &m->lock);
			goto again;
		}
	}
	new = malloc(nr * sizeof(*new));
	iov = malloc(nr * sizeof(*iov));
	ios = malloc(nr * sizeof(*ios));
	if (!new || !iov || !ios) {
		ret = -ENOMEM;
		goto out;
	}
	limit = m->i_size < m->backing_size ? m->i_size : m->backing_size;
	for (i = first; i < first + nr; i++) {
		struct pc_page *p = pc_radix_lookup(&m->pages, i);

		if (p)
			continue;
		p = page_alloc_locked(m, i);
		if (!p) {
			if (n_new)
				break;	/* fill what we have; caller loops */
			pthread_mutex_unlock(&m->lock);
			wait_for_space(c);
			pthread_mutex_lock(&m->lock);
			free(new);
			free(iov);
			free(ios);
			new = NULL;
			iov = NULL;
			ios = NULL;
			goto again;
		}
		ret = pc_radix_insert(&m->pages, i, p);
		if (ret) {
			pc_page_free(c, p);
			break;
		}
		m->nr_pages++;
		/* Every page this call inserts stays LOCKED until the end, so
		 * that our own later allocations cannot evict it. */
		p->flags = PG_LOCKED;
		new[n_new++] = p;
	}
	if (!n_new)
		goto out;
	/* One read per contiguous run of new pages that hold backing data;
	 * pages past min(i_size, backing size) are holes: zeros, no I/O. */
	for (i = 0; i < n_new; i++) {
		struct pc_page *p = new[i];

		if ((off_t)(p->index * ps) >= limit)
			continue;
		iov[i].iov_base = p->data;
		iov[i].iov_len = ps;
		if (n_io && new[i - 1]->index + 1 == p->index &&
		    ios[n_io - 1].iov + ios[n_io - 1].iovcnt == &iov[i] &&
		    ios[n_io - 1].iovcnt < IOV_MAX) {
			ios[n_io - 1].iovcnt++;
			ios[n_io - 1].len += ps;
			continue;
		}
		ios[n_io++] = (struct pc_io){
			.op = PC_IO_READ,
			.off = (off_t)(p->index * ps),
			.len = ps,
			.iov = &iov[i],
			.iovcnt = 1,
		};
	}
	for (i = 0; i < n_new; i++)
		memset(new[i]->data, 0, ps);
	fd = pc_mapping_fd_locked(m);
	for (int k = 0; k < n_io; k++)
		ios[k].fd = fd;
	m->nr_io++;
	pthread_mutex_unlock(&m->lock);
	pc_io_run(c, ios, n_io);
	pthread_mutex_lock(&m->lock);
	m->nr_io--;
	/* Pages were zeroed before the read, so a short read (end of the
	 * backing file) leaves zeros; bytes past i_size must be zero too,
	 * even if a truncate ran meanwhile and the backing file still had
	 * them when we read. */
	for (int k = 0; k < n_io; k++) {
		if (ios[k].done < 0 && !ret)
			ret = (int)ios[k].done;
		else if (ios[k].done > 0)
			atomic_fetch_add(&c->st.bytes_read,
					 (uint64_t)ios[k].done);
	}
	for (i = 0; i < n_new; i++) {
		struct pc_page *p = new[i];
		off_t pstart = (off_t)(p->index * ps);

		if (pstart + (off_t)ps > m->i_size)
			memset(p->data + (m->i_size > pstart ?
					  m->i_size - pstart : 0), 0,
			       m->i_size > pstart ?
			       ps - (size_t)(m->i_size - pstart) : ps);
	}
	for (i = 0; i < n_new; i++) {
		struct pc_page *p = new[i];

		p->flags &= ~PG_LOCKED;
		if (ret) {
			page_detach_locked(m, p);
			pthread_mutex_unlock(&m->lock);
			pc_page_free(c, p);
			pthread_mutex_lock(&m->lock);
		} else {
			p->flags |= PG_UPTODATE;
		}
	}
	pthread_cond_broadcast(&m->wait);
out:
	free(new);
	free(iov);
	free(ios);
	return ret;
}

/* ---- pc_read ------------------------------------------------------------ */

ssize_t pc_read(struct pc_mapping *m, void *buf, size_t len, off_t off)
{
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	size_t done = 0;
	int ret = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (off >= m->i_size) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if ((off_t)len > m->i_size - off)
		len = (size_t)(m->i_size - off);
	while (done < len) {
		off_t pos = off + (off_t)done;
		uint64_t idx = (uint64_t)pos / ps;
		size_t in = (size_t)pos % ps;
		size_t n = ps - in;
		struct pc_page *p;

		if (pos >= m->i_size)
			break;		/* a truncate raced with us */
		if (n > len - done)
			n = len - done;
		if ((off_t)n > m->i_size - pos)
			n = (size_t)(m->i_size - pos);
		p = pc_radix_lookup(&m->pages, idx);
		if (p && (p->flags & PG_UPTODATE)) {
			atomic_store(&p->visited, true);
			memcpy((char *)buf + done, p->data + in, n);
			done += n;
			atomic_fetch_add(&c->st.hits, 1);
			continue;
		}
		{
			/* Miss: fill the missing run up to the end of the
			 * request, plus read-ahead for sequential readers. */
			uint64_t last = ((uint64_t)(off + (off_t)len) - 1) / ps;
			uint64_t eof_idx = ((uint64_t)m->i_size + ps - 1) / ps;
			uint64_t end = last + 1, cnt;

			if (idx == m->ra_next || idx == 0) {
				uint64_t ra = c->cfg.readahead_pages;

				end += ra;
				if (end > eof_idx)
					end = eof_idx;
				if (end > last + 1)
					atomic_fetch_add(&c->st.readahead,
							 end - last - 1);
			}
			/* never more than a quarter of the cache at once */
			cnt = end - idx;
			if (cnt > c->max_pages / 4)
				cnt = c->max_pages / 4 ? c->max_pages / 4 : 1;
			atomic_fetch_add(&c->st.misses, 1);
			ret = fill_pages_locked(m, idx, cnt);
			if (ret)
				break;
		}
	}
	m->ra_next = ((uint64_t)(off + (off_t)done) + ps - 1) / ps;
	pthread_mutex_unlock(&m->lock);
	if (ret && !done)
		return ret;
	return (ssize_t)done;
}

void pc_mapping_set_exact(struct pc_mapping *m)
{
	pthread_mutex_lock(&m->lock);
	m->exact_bytes = true;
	pthread_mutex_unlock(&m->lock);
}

/* ---- pc_write ----------------------------------------------------------- */

/*
 * Copy @n bytes from @src to @dst (at byte @in of page @p) and mark dirty
 * those that differ (PC_WRITE_CHANGED) - once the mapping is exact
 * (pc_mapping_set_exact) or against a ghost; else the whole range if any
 * byte differs.  Exact: the bytes that differ and the gaps of up to PC_CHANGED_GAP
 * equal bytes between them.  A gap that short cannot hold a whole field
 * of 4 bytes or more that somebody else wrote (SQLite's wal-index fields
 * are 4 and 8 bytes), so bridging it writes no foreign field back.
 * Caller holds m->lock.
 */
#define PC_CHANGED_GAP	3

static void copy_changed_locked(struct pc_mapping *m, struct pc_page *p,
				size_t in, const char *src, size_t n,
				const char *base)
{
	char *dst = p->data + in;
	size_t i = 0;

	if (!base && !m->exact_bytes) {
		/* Nobody else is known to write this file: a changed page
		 * is written back whole (one write, coalesced with its
		 * neighbours), an unchanged one not at all. */
		if (memcmp(dst, src, n)) {
			memcpy(dst, src, n);
			pc_set_dirty_bytes_locked(m, p, in, in + n);
		}
		return;
	}
	/* the copy the kernel started from: ours, or the ghost of it */
	base = base ? base + in : dst;
	while (i < n) {
		size_t j;

		/* skip equal bytes, 64 at a time where possible */
		while (i + 64 <= n && !memcmp(base + i, src + i, 64))
			i += 64;
		while (i < n && base[i] == src[i])
			i++;
		if (i == n)
			break;
		j = i + 1;
		for (;;) {
			size_t k;

			while (j < n && base[j] != src[j])
				j++;
			/* Bridge a gap of at most PC_CHANGED_GAP equal bytes
			 * before the next changed one: random data written
			 * whole would otherwise make a run per byte that
			 * happens to be equal (1 in 256), 16 writes a page.
			 * Only where our copy holds those same bytes (not a
			 * ghost's refreshed outside bytes), so the run writes
			 * back what we hold anyway. */
			for (k = j; k < n && k - j < PC_CHANGED_GAP &&
			     base[k] == src[k] && dst[k] == src[k]; k++)
				;
			if (k >= n || base[k] == src[k])
				break;	/* no changed byte right after it */
			j = k;
		}
		memcpy(dst + i, src + i, j - i);
		pc_set_dirty_bytes_locked(m, p, in + i, in + j);
		i = j;
	}
}

ssize_t pc_write(struct pc_mapping *m, const void *buf, size_t len, off_t off,
		 unsigned int flags)
{
	bool limit_to_size = flags & PC_WRITE_LIMIT_TO_SIZE;
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	off_t end;
	size_t done = 0;
	int ret;

	if (off < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (off > PC_MAX_FILE || (off_t)len > PC_MAX_FILE - off)
		return -EFBIG;
	ret = balance_dirty(m);
	pthread_mutex_lock(&m->lock);
	end = off + (off_t)len;
	if (limit_to_size) {
		/* The kernel's write-back never extends the file. */
		if (end > m->i_size)
			end = m->i_size;
		if (off >= end) {
			pthread_mutex_unlock(&m->lock);
			return (ssize_t)len;
		}
	}
	if (end > m->max_checked) {
		/*
		 * Past what the backing filesystem takes (ext4: 16 TiB with 4
		 * KiB blocks) the write would fail only at write-back; fail it
		 * now with EFBIG, as ext4 does.  lseek() beyond s_maxbytes is
		 * EINVAL, and costs no I/O.
		 */
		if (lseek(pc_mapping_fd_locked(m), end - 1, SEEK_SET) < 0 &&
		    errno == EINVAL) {
			pthread_mutex_unlock(&m->lock);
			return -EFBIG;
		}
		m->max_checked = end;
	}
	if (m->wb_failing) {
		/* Refuse to dirty more while write-back keeps failing. */
		for (off_t pos = off; pos < end;
		     pos = (off_t)(((uint64_t)pos / ps + 1) * ps)) {
			struct pc_page *p =
				pc_radix_lookup(&m->pages, (uint64_t)pos / ps);

			if (!p || !(p->flags & PG_DIRTY)) {
				ret = m->wb_failing;
				pthread_mutex_unlock(&m->lock);
				return ret;
			}
		}
	} else if (ret) {
		/* throttling gave up, but the mapping recovered meanwhile */
		ret = 0;
	}
	while (off + (off_t)done < end) {
		off_t pos = off + (off_t)done;
		uint64_t idx = (uint64_t)pos / ps;
		size_t in = (size_t)pos % ps;
		size_t n = ps - in;
		struct pc_page *p;
		const char *ghost;
		bool cached = true;

		if ((off_t)n > end - pos)
			n = (size_t)(end - pos);
		p = pc_radix_lookup(&m->pages, idx);
		if (p && (p->flags & PG_LOCKED)) {
			pthread_cond_wait(&m->wait, &m->lock);
			continue;
		}
		ghost = NULL;
		if ((flags & PC_WRITE_CHANGED) && m->nr_ghosts) {
			struct pc_ghost *g = pc_radix_lookup(&m->ghosts, idx);

			if (g)
				ghost = g->data;
		}
		if (!p && ghost) {
			/* the kernel's page started from the ghost: diff
			 * against it, over the file's present bytes */
			ret = fill_pages_locked(m, idx, 1);
			if (ret)
				break;
			continue;
		}
		if (!p) {
			off_t limit = m->i_size < m->backing_size ?
				      m->i_size : m->backing_size;
			off_t pstart = (off_t)(idx * ps);

			if (n == ps || pstart >= limit) {
				/* whole page, or nothing to keep: no read */
				p = page_alloc_locked(m, idx);
				if (!p) {
					pthread_mutex_unlock(&m->lock);
					wait_for_space(c);
					pthread_mutex_lock(&m->lock);
					continue;
				}
				ret = pc_radix_insert(&m->pages, idx, p);
				if (ret) {
					pc_page_free(c, p);
					break;
				}
				m->nr_pages++;
				/* a whole page is overwritten just below */
				if (n != ps)
					memset(p->data, 0, ps);
				p->flags = PG_UPTODATE;
				cached = false;
			} else {
				ret = fill_pages_locked(m, idx, 1);
				if (ret)
					break;
				continue;
			}
		}
		/* The size grows before the page becomes dirty, so that
		 * write-back never crops the new bytes away. */
		if (pos + (off_t)n > m->i_size)
			m->i_size = pos + (off_t)n;
		if ((flags & PC_WRITE_CHANGED) && cached) {
			copy_changed_locked(m, p, in,
					    (const char *)buf + done, n,
					    ghost);
		} else {
			memcpy(p->data + in, (const char *)buf + done, n);
			pc_set_dirty_bytes_locked(m, p, in, in + n);
		}
		atomic_store(&p->visited, true);
		done += n;
	}
	if (done) {
		touch_mtime_locked(m);
		m->write_seq = atomic_fetch_add(&c->write_seq, 1) + 1;
	}
	pthread_mutex_unlock(&m->lock);
	if (ret && !done)
		return ret;
	if (ret)
		return (ssize_t)done;
	return (ssize_t)len;
}

/* ---- pc_truncate -------------------------------------------------------- */

/* Zero the bytes of the page holding @size that lie past it (C2: the tail
 * of the last page reads as zeros).  Caller holds m->lock. */
static void zero_tail_locked(struct pc_mapping *m, off_t size)
{
	size_t ps = m->cache->page_size;
	size_t in = (size_t)(size % (off_t)ps);
	struct pc_page *p;

	if (!in)
		return;
	p = pc_radix_lookup(&m->pages, (uint64_t)size / ps);
	if (p && (p->flags & PG_UPTODATE))
		memset(p->data + in, 0, ps - in);
}

enum drop_mode {
	DROP_CLEAN,		/* only clean pages */
	DROP_CLEAN_FILLED,	/* clean pages, waiting for fills in flight:
				 * a fill may have read the backing file
				 * before the change being invalidated */
	DROP_CLEAN_UNSTABLE,	/* and written-but-uncommitted ones */
	DROP_ALL,		/* everything, waiting for I/O (truncate) */
};

/* Forget that @p is @flag (a PG_DIRTY or PG_UNSTABLE page being dropped). */
static void clear_state_locked(struct pc_mapping *m, struct pc_page *p,
			       unsigned int flag)
{
	struct pc_cache *c = m->cache;

	if (!(p->flags & flag))
		return;
	p->flags &= ~flag;
	if (flag == PG_DIRTY) {
		pc_mask_free(c, p->dmask);
		p->dmask = NULL;
		pc_radix_tag_clear(&m->pages, p->index, PC_TAG_DIRTY);
		m->nr_dirty--;
		atomic_fetch_sub(&c->nr_dirty, 1);
	} else {
		pc_radix_tag_clear(&m->pages, p->index, PC_TAG_UNSTABLE);
		m->nr_unstable--;
		atomic_fetch_sub(&c->nr_unstable, 1);
	}
}

/*
 * Drop the pages with index in [@from, @to) that @mode allows.  With
 * DROP_ALL, pages being filled or under write-back are waited for.  Caller
 * holds m->lock (dropped while waiting and freeing).  Returns the number of
 * pages dropped.
 */
/* Keep a copy of clean page @p's data as its diff base (the first one
 * kept wins: it is the oldest copy the kernel may have read).  Caller
 * holds m->lock. */
static void ghost_keep_locked(struct pc_mapping *m, struct pc_page *p)
{
	size_t ps = m->cache->page_size;
	struct pc_ghost *g;

	if (m->nr_ghosts >= PC_GHOSTS_MAX ||
	    pc_radix_lookup(&m->ghosts, p->index))
		return;
	g = malloc(sizeof(*g) + ps);
	if (!g)
		return;
	g->index = p->index;
	memcpy(g->data, p->data, ps);
	if (pc_radix_insert(&m->ghosts, p->index, g)) {
		free(g);
		return;
	}
	m->nr_ghosts++;
}

static void ghosts_drop_locked(struct pc_mapping *m)
{
	void *pp[64];
	size_t n;

	while ((n = pc_radix_gang(&m->ghosts, 0, pp, 64, -1))) {
		for (size_t i = 0; i < n; i++) {
			struct pc_ghost *g = pp[i];

			pc_radix_delete(&m->ghosts, g->index);
			free(g);
			m->nr_ghosts--;
		}
	}
}

void pc_ghosts_forget(struct pc_mapping *m, off_t off, size_t len)
{
	size_t ps = m->cache->page_size;
	uint64_t first, last;

	if (!len || off < 0)
		return;
	first = (uint64_t)off / ps;
	last = ((uint64_t)off + len - 1) / ps;
	pthread_mutex_lock(&m->lock);
	for (uint64_t i = first; m->nr_ghosts && i <= last; i++) {
		struct pc_ghost *g = pc_radix_delete(&m->ghosts, i);

		if (g) {
			free(g);
			m->nr_ghosts--;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void pc_ghosts_drop(struct pc_mapping *m)
{
	pthread_mutex_lock(&m->lock);
	ghosts_drop_locked(m);
	pthread_mutex_unlock(&m->lock);
}

static long drop_pages_locked(struct pc_mapping *m, uint64_t from,
			      uint64_t to, enum drop_mode mode)
{
	struct pc_cache *c = m->cache;
	long dropped = 0;
	uint64_t next = from;
	void *pp[64];
	size_t n;

	while (next < to && (n = pc_radix_gang(&m->pages, next, pp, 64, -1))) {
		size_t i;

		for (i = 0; i < n; i++) {
			struct pc_page *p = pp[i];

			if (p->index >= to) {
				next = to;
				break;
			}
			next = p->index + 1;
			if ((p->flags & PG_LOCKED) &&
			    mode == DROP_CLEAN_FILLED) {
				pthread_cond_wait(&m->wait, &m->lock);
				next = p->index;
				break;
			}
			if (p->flags & (PG_LOCKED | PG_WRITEBACK)) {
				if (mode != DROP_ALL)
					continue;
				/* wait, then look at this index again */
				pthread_cond_wait(&m->wait, &m->lock);
				next = p->index;
				break;
			}
			if ((p->flags & PG_DIRTY) && mode != DROP_ALL)
				continue;
			if ((p->flags & PG_UNSTABLE) &&
			    (mode == DROP_CLEAN || mode == DROP_CLEAN_FILLED))
				continue;
			if (m->keep_ghosts && !(p->flags & PG_DIRTY))
				ghost_keep_locked(m, p);
			clear_state_locked(m, p, PG_DIRTY);
			clear_state_locked(m, p, PG_UNSTABLE);
			page_detach_locked(m, p);
			pthread_mutex_unlock(&m->lock);
			pc_page_free(c, p);
			pthread_mutex_lock(&m->lock);
			dropped++;
			/* the index may have changed while unlocked */
			break;
		}
		if (i == n && n < 64)
			break;
	}
	return dropped;
}

int pc_truncate(struct pc_mapping *m, off_t size)
{
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	uint64_t keep;
	int ret = 0, fd;

	if (size < 0)
		return -EINVAL;
	if (size > PC_MAX_FILE)
		return -EFBIG;
	pthread_mutex_lock(&m->lock);
	/* No write-back or fill may run while the backing file changes size:
	 * a write completing after the ftruncate would extend it again. */
	quiesce_begin(m);
	m->i_size = size;
	m->nr_mod++;		/* the ftruncate below is our own change */
	m->mod_seq++;
	keep = ((uint64_t)size + ps - 1) / ps;
	drop_pages_locked(m, keep, UINT64_MAX, DROP_ALL);
	zero_tail_locked(m, size);
	/* Stable until quiesce_end: the trimmer skips quiesced mappings.
	 * If it cannot be reopened the pages are dropped all the same (a
	 * file that is gone: ESTALE, reported as ENOENT). */
	fd = pc_mapping_fd_locked(m);
	if (fd < 0)
		ret = errno == ESTALE ? -ENOENT : -errno;
	pthread_mutex_unlock(&m->lock);
	if (fd >= 0 && ftruncate(fd, size) < 0)
		ret = -errno;
	pthread_mutex_lock(&m->lock);
	if (!ret)
		m->backing_size = size;
	else if (m->backing_size > size)
		m->backing_size = size;	/* never read the old tail back */
	m->nr_mod--;
	m->mod_seq++;
	touch_mtime_locked(m);
	quiesce_end(m);
	pthread_mutex_unlock(&m->lock);
	pc_mapping_dirty_list_del(m);
	return ret;
}

/* ---- Telling our own backing changes from others' ---------------------- */

uint64_t pc_backing_mods(struct pc_mapping *m, bool *busy, off_t *size)
{
	uint64_t seq;

	pthread_mutex_lock(&m->lock);
	seq = m->mod_seq;
	*busy = m->nr_mod > 0;
	*size = m->backing_size;
	pthread_mutex_unlock(&m->lock);
	return seq;
}

uint64_t pc_mapping_write_seq(struct pc_mapping *m)
{
	uint64_t seq;

	pthread_mutex_lock(&m->lock);
	seq = m->write_seq;
	pthread_mutex_unlock(&m->lock);
	return seq;
}

/* ---- pc_cached_differs -------------------------------------------------- */

bool pc_cached_differs(struct pc_mapping *m, off_t max, bool *complete)
{
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	size_t npages, n = 0;
	uint64_t *idx = NULL;
	char *snap = NULL, *back = NULL;
	bool differs = false;
	ssize_t got = 0;
	uint64_t seq = 0;
	off_t len;
	int fd;

	if (complete)
		*complete = true;
	pthread_mutex_lock(&m->lock);
	len = m->backing_size < max ? m->backing_size : max;
	if (m->quiesce || m->i_size > max || len <= 0) {
		/* a truncate in progress, too large to look at, or empty */
		differs = m->quiesce > 0;
		pthread_mutex_unlock(&m->lock);
		return differs;
	}
	npages = (size_t)((len + (off_t)ps - 1) / (off_t)ps);
	idx = malloc(npages * sizeof(*idx));
	snap = malloc(npages * ps);
	back = malloc(npages * ps);
	if (!idx || !snap || !back) {
		differs = true;
		goto out_locked;
	}
	/* our clean copies (dirty or in-flight pages are ours to write) */
	for (uint64_t i = 0; i < npages; i++) {
		struct pc_page *p = pc_radix_lookup(&m->pages, i);

		if (p && (p->flags & (PG_LOCKED | PG_DIRTY | PG_WRITEBACK)) &&
		    complete)
			*complete = false;	/* not compared: look again */
		if (!p || (p->flags & (PG_LOCKED | PG_DIRTY | PG_WRITEBACK)) ||
		    !(p->flags & PG_UPTODATE))
			continue;
		idx[n] = i;
		memcpy(snap + n * ps, p->data, ps);
		n++;
	}
	if (!n)
		goto out_locked;
	if (m->nr_mod) {
		/* a change of ours to the backing file is under way: the
		 * file may show it and our snapshot not, or the reverse */
		if (complete)
			*complete = false;
		goto out_locked;
	}
	seq = m->mod_seq;
	fd = pc_mapping_fd_locked(m);
	m->nr_io++;
	pthread_mutex_unlock(&m->lock);
	if (fd >= 0) {
		/*
		 * Read through a description of our own with O_NOATIME: this
		 * read is ours, not a program's, and must not move the file's
		 * atime (relatime would: ops_basic.sh saw it).  Without the
		 * right to O_NOATIME (not the owner, no CAP_FOWNER), the
		 * shared descriptor.
		 */
		char proc[40];
		int rfd;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rfd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
		got = pread(rfd >= 0 ? rfd : fd, back, (size_t)len, 0);
		if (rfd >= 0)
			close(rfd);
	}
	pthread_mutex_lock(&m->lock);
	m->nr_io--;
	pthread_cond_broadcast(&m->wait);
	if (m->mod_seq != seq || m->nr_mod) {
		/* We wrote, truncated or committed meanwhile: what the read
		 * saw is not comparable with the snapshot (a truncate of ours
		 * made the read short, finding 12).  Inconclusive: again
		 * later. */
		if (complete)
			*complete = false;
		goto out_locked;
	}
	if (fd < 0 || got != (ssize_t)len) {
		differs = fd != PC_FD_GONE;
		goto out_locked;
	}
	for (size_t k = 0; k < n && !differs; k++) {
		off_t pstart = (off_t)(idx[k] * ps);
		size_t cmp = ps;

		if (pstart + (off_t)ps > len)
			cmp = (size_t)(len - pstart);
		differs = memcmp(snap + k * ps, back + pstart, cmp) != 0;
	}
out_locked:
	pthread_mutex_unlock(&m->lock);
	free(idx);
	free(snap);
	free(back);
	return differs;
}

/* ---- pc_invalidate_range ------------------------------------------------ */

long pc_invalidate_range_keep_base(struct pc_mapping *m, off_t start,
				   off_t end)
{
	long dropped;

	pthread_mutex_lock(&m->lock);
	m->keep_ghosts = true;
	pthread_mutex_unlock(&m->lock);
	dropped = pc_invalidate_range(m, start, end);
	pthread_mutex_lock(&m->lock);
	m->keep_ghosts = false;
	pthread_mutex_unlock(&m->lock);
	return dropped;
}

long pc_invalidate_range(struct pc_mapping *m, off_t start, off_t end)
{
	size_t ps = m->cache->page_size;
	uint64_t first, last;
	struct stat st;
	long dropped;

	if (start < 0)
		start = 0;
	first = (uint64_t)start / ps;
	last = end < 0 ? UINT64_MAX : ((uint64_t)end + ps - 1) / ps;
	pthread_mutex_lock(&m->lock);
	dropped = drop_pages_locked(m, first, last, DROP_CLEAN_FILLED);
	/*
	 * Learn the backing size.  fstat is a syscall, so it runs without the
	 * lock; if one of our own writes completed meanwhile, the size it saw
	 * may predate that write and must not shrink the file: look again.
	 */
	for (int tries = 0;; tries++) {
		uint64_t gen;
		int fd;

		wait_unquiesced(m);
		gen = m->write_gen;
		fd = pc_mapping_fd_locked(m);
		m->nr_io++;
		pthread_mutex_unlock(&m->lock);
		if (fstat(fd, &st) < 0)
			st.st_size = -1;
		pthread_mutex_lock(&m->lock);
		m->nr_io--;
		pthread_cond_broadcast(&m->wait);
		if (gen == m->write_gen)
			break;
		if (tries == 3) {
			st.st_size = -1;	/* too busy to tell: keep sizes */
			break;
		}
	}
	/* From here to the size decision the lock is not dropped. */
	if (st.st_size >= 0) {
		bool ours_past_end = false;
		void *pp[1];
		uint64_t probe = (uint64_t)st.st_size / ps;

		/* Is any of our unwritten data past the new backing end? */
		for (int t = PC_TAG_DIRTY; t <= PC_TAG_WRITEBACK; t++)
			if (pc_radix_gang(&m->pages, probe, pp, 1, t))
				ours_past_end = true;
		m->backing_size = st.st_size;
		if (st.st_size > m->i_size) {
			m->i_size = st.st_size;
		} else if (st.st_size < m->i_size && !ours_past_end) {
			/* shrunk outside: follow it */
			uint64_t keep = ((uint64_t)st.st_size + ps - 1) / ps;

			m->i_size = st.st_size;
			zero_tail_locked(m, st.st_size);
			dropped += drop_pages_locked(m, keep, UINT64_MAX,
						     DROP_CLEAN_UNSTABLE);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return dropped;
}

/* ---- Syncing ------------------------------------------------------------ */

/* The pages [*first, *last] that pc_write_and_wait and pc_writeback_range
 * write for the byte range [start, end) (end < 0: to the end of the file). */
static void sync_range_pages(const struct pc_cache *c, off_t start, off_t end,
			     uint64_t *first, uint64_t *last)
{
	size_t ps = c->page_size;

	*first = start > 0 ? (uint64_t)start / ps : 0;
	*last = end < 0 ? UINT64_MAX : ((uint64_t)end + ps - 1) / ps;
}

int pc_writeback_range(struct pc_mapping *m, off_t start, off_t end)
{
	uint64_t first, last;
	int ret;

	sync_range_pages(m->cache, start, end, &first, &last);
	pthread_mutex_lock(&m->lock);
	/* as a sync: the write-back thread leaves this mapping alone */
	m->sync_waiters++;
	ret = pc_writeback_range_sync(m, first, last, false);
	m->sync_waiters--;
	pthread_cond_broadcast(&m->wait);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int pc_write_and_wait(struct pc_mapping *m, off_t start, off_t end,
		      bool datasync)
{
	struct pc_cache *c = m->cache;
	uint64_t first, last;
	int ret, err;

	sync_range_pages(c, start, end, &first, &last);
	atomic_fetch_add(&c->st.syncs, 1);
	pthread_mutex_lock(&m->lock);
	m->sync_waiters++;
	ret = pc_writeback_range_sync(m, first, last, true);
	/* Commit even after a write error: what did land must be durable,
	 * and UNSTABLE pages written by the engine become clean only here. */
	err = pc_commit_locked(m, datasync);
	if (!ret)
		ret = err;
	m->sync_waiters--;
	pthread_cond_broadcast(&m->wait);
	pthread_mutex_unlock(&m->lock);
	pc_mapping_dirty_list_del(m);
	return ret;
}

void pc_writeback_start(struct pc_mapping *m)
{
	bool kick;

	struct pc_cache *c = m->cache;

	pthread_mutex_lock(&m->lock);
	kick = m->wb_kick = m->nr_dirty > 0;
	if (kick) {
		/* The next pass takes the queued mappings without scanning
		 * the whole dirty list, which can hold many thousands. */
		pthread_mutex_lock(&c->lock);
		if (!m->on_kick_list) {
			m->on_kick_list = true;
			m->kick_next = NULL;
			if (c->kick_tail)
				c->kick_tail->kick_next = m;
			else
				c->kick_head = m;
			c->kick_tail = m;
			c->nr_kicked++;
			atomic_fetch_add(&m->refcount, 1);	/* the queue's */
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&m->lock);
	if (kick)
		pc_wb_kick(c);
}
