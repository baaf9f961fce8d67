// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * writeback.c - all I/O of the page cache: vectored reads and writes
 * through io_uring (or preadv/pwritev when io_uring is not available), the
 * background write-back thread, synchronous write-back for fsync, and
 * commits.  A lone small request (one fill of up to 64 KiB, one run of
 * pages, every commit's fdatasync) is issued with a plain system call from
 * the calling thread: a ring would only add a hand-off to an io-wq worker
 * (pc_io_run).
 *
 * WRITE-BACK, STEP BY STEP
 *
 *   collect   (mapping->lock) take a run of adjacent DIRTY pages that are not
 *             under WRITEBACK, at most max_write_pages: clear DIRTY, set
 *             WRITEBACK, crop the last page at i_size, count the request in
 *             nr_io.  This is the kernel's folio_clear_dirty_for_io.
 *   submit    (no lock) one IORING_OP_WRITEV per run, up to queue_depth runs
 *             in flight, completions taken in any order; a short write is
 *             resubmitted for the rest, -EAGAIN/-EINTR are resubmitted.
 *             A sync adds the previous batch's write-out (EARLY WRITE-OUT).
 *   finish    (mapping->lock) clear WRITEBACK.  On error: DIRTY again,
 *             errseq set, the mapping is "failing" until a later write-back
 *             of all its dirty data and a commit succeed.  On success: the
 *             page becomes UNSTABLE (in the backing file, not yet durable),
 *             stamped with the mapping's write generation.
 *   commit    (no lock during the sync) fdatasync the backing file; UNSTABLE
 *             pages written before it started become clean, or DIRTY again
 *             if it failed.  An UNSTABLE page is never evicted: if the
 *             backing file's fdatasync fails, we still have the data to write
 *             again (fsyncgate: success is never reported for data that is
 *             not durable).  The background thread commits a mapping once it
 *             has been written back whole: in the pass that wrote its first
 *             UNSTABLE page, or later once that page is older than
 *             dirty_expire_ms, or at once when the cache is short of clean
 *             pages or nobody uses the file; fsync always commits.
 *
 * THREADS
 *
 *   The write-back thread owns one ring.  Synchronous callers (fills, fsync)
 *   take a ring from a pool (cache->ring_pool, cache->lock) and give it back,
 *   so rings are never shared between threads and their number is bounded by
 *   the number of concurrent callers.  io_uring's own worker pool is capped
 *   per ring with io_uring_register_iowq_max_workers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagecache/pagecache_i.h"

struct pc_ring {
	struct io_uring ring;
	struct pc_ring *next;		/* cache->lock, in the pool */
};

/* Largest single request pc_io_run issues itself rather than on a ring. */
#define PC_IO_DIRECT_MAX	(64 * 1024)

/* io_uring's bounded and unbounded worker limits per ring */
#ifndef PC_IOWQ_BOUNDED
#define PC_IOWQ_BOUNDED		4
#endif
#define PC_IOWQ_UNBOUNDED	4

/* ---- Rings -------------------------------------------------------------- */

static struct pc_ring *ring_new(struct pc_cache *c)
{
	struct pc_ring *r = calloc(1, sizeof(*r));
	unsigned int limits[2] = { PC_IOWQ_BOUNDED, PC_IOWQ_UNBOUNDED };
	int ret;

	if (!r)
		return NULL;
	ret = io_uring_queue_init(c->cfg.queue_depth, &r->ring, 0);
	if (ret < 0) {
		free(r);
		errno = -ret;
		return NULL;
	}
	/* Best effort: older kernels lack it, and that is no reason to fail. */
	io_uring_register_iowq_max_workers(&r->ring, limits);
	return r;
}

static void ring_free(struct pc_ring *r)
{
	io_uring_queue_exit(&r->ring);
	free(r);
}

static struct pc_ring *ring_get(struct pc_cache *c)
{
	struct pc_ring *r;

	pthread_mutex_lock(&c->lock);
	r = c->ring_pool;
	if (r)
		c->ring_pool = r->next;
	pthread_mutex_unlock(&c->lock);
	if (!r) {
		r = ring_new(c);
		if (r) {
			pthread_mutex_lock(&c->lock);
			c->nr_rings++;
			pthread_mutex_unlock(&c->lock);
		}
	}
	return r;
}

static void ring_put(struct pc_cache *c, struct pc_ring *r)
{
	pthread_mutex_lock(&c->lock);
	r->next = c->ring_pool;
	c->ring_pool = r;
	pthread_mutex_unlock(&c->lock);
}

void pc_rings_free(struct pc_cache *c)
{
	struct pc_ring *r;

	while ((r = c->ring_pool)) {
		c->ring_pool = r->next;
		ring_free(r);
	}
	if (c->wb_ring) {
		ring_free(c->wb_ring);
		c->wb_ring = NULL;
	}
}

/* ---- Vectored I/O to completion ----------------------------------------- */

/* Consume @n bytes from the front of an iovec array. */
static void iov_advance(struct pc_io *io, size_t n)
{
	while (n && io->iovcnt) {
		if (n < io->iov->iov_len) {
			io->iov->iov_base = (char *)io->iov->iov_base + n;
			io->iov->iov_len -= n;
			return;
		}
		n -= io->iov->iov_len;
		io->iov++;
		io->iovcnt--;
	}
}

/*
 * Account the result @res of one submission of @io.  Returns true if @io
 * must be submitted again (the rest of a short transfer, or a retry).
 */
/* io_prepare's verdict for I/O on PC_FD_GONE: done already set. */
#define PC_IO_SKIPPED	(-100000)

static bool io_account(struct pc_io *io, ssize_t res)
{
	if (res == PC_IO_SKIPPED)
		return false;
	if (res == -EAGAIN || res == -EINTR)
		return true;
	if (res < 0) {
		io->done = res;
		return false;
	}
	if (io->op == PC_IO_FSYNC || io->op == PC_IO_FDATASYNC ||
	    io->op == PC_IO_WRITEOUT) {
		io->done = 0;
		return false;
	}
	if (res == 0) {
		/* end of file for a read; a write that makes no progress */
		if (io->op == PC_IO_WRITE)
			io->done = -EIO;
		return false;
	}
	io->done += res;
	if ((size_t)io->done >= io->len)
		return false;
	iov_advance(io, (size_t)res);
	return true;
}

#ifdef PC_FAULT_INJECTION
/* fault kinds returned by pc_fault_next beyond plain errnos */
#define FAULT_SHORT	(-1)
#define FAULT_DELAY	(-2)

static int fault_for(struct pc_cache *c, const struct pc_io *io)
{
	switch (io->op) {
	case PC_IO_WRITE:
		return pc_fault_next(c, 0);
	case PC_IO_FSYNC:
	case PC_IO_FDATASYNC:
		return pc_fault_next(c, 1);
	case PC_IO_READ:
		return pc_fault_next(c, 2);
	case PC_IO_WRITEOUT:
		break;		/* advisory: nothing to inject */
	}
	return 0;
}
#endif

/* One synchronous attempt with plain syscalls.  Returns bytes or -errno. */
static ssize_t io_once_sync(struct pc_io *io, size_t limit)
{
	ssize_t r;
	off_t pos = io->off + (io->done > 0 ? io->done : 0);
	int cnt = io->iovcnt;
	struct iovec one;

	if (limit) {
		one.iov_base = io->iov->iov_base;
		one.iov_len = limit < io->iov->iov_len ? limit
						       : io->iov->iov_len;
	}
	switch (io->op) {
	case PC_IO_READ:
		r = preadv(io->fd, io->iov, cnt, pos);
		break;
	case PC_IO_WRITE:
		r = limit ? pwritev(io->fd, &one, 1, pos)
			  : pwritev(io->fd, io->iov, cnt, pos);
		break;
	case PC_IO_FSYNC:
		r = fsync(io->fd);
		break;
	case PC_IO_WRITEOUT:
		r = sync_file_range(io->fd, io->off, (off_t)io->len,
				    SYNC_FILE_RANGE_WRITE);
		break;
	default:
		r = fdatasync(io->fd);
		break;
	}
	return r < 0 ? -errno : r;
}

/*
 * Decide what to do with @io before it is issued: 0 = issue it whole,
 * > 0 = issue only that many bytes (a short write), < 0 = it has already
 * "completed" with that result (an injected fault).
 */
static ssize_t io_prepare(struct pc_cache *c, struct pc_io *io)
{
	if (io->fd == PC_FD_GONE) {
		/* The file is gone for good: nothing to write, read or
		 * sync (see PC_FD_GONE). */
		io->done = io->op == PC_IO_WRITE ? (ssize_t)io->len : 0;
		return PC_IO_SKIPPED;
	}
#ifdef PC_FAULT_INJECTION
	int f = fault_for(c, io);

	if (f == FAULT_DELAY) {
		usleep(20000);
	} else if (f == FAULT_SHORT && io->op == PC_IO_WRITE) {
		size_t n = io->len - (size_t)io->done;

		return n > 1 ? (ssize_t)(n / 2 < io->iov->iov_len ?
					  n / 2 : io->iov->iov_len) : 0;
	} else if (f > 0) {
		return -f;
	}
#else
	(void)c;
	(void)io;
#endif
	return 0;
}

static void io_run_sync(struct pc_cache *c, struct pc_io *io)
{
	for (;;) {
		ssize_t p = io_prepare(c, io), r;

		r = p < 0 ? p : io_once_sync(io, (size_t)p);
		if (!io_account(io, r))
			return;
	}
}

static void io_prep_sqe(struct io_uring_sqe *sqe, struct pc_io *io,
			size_t limit)
{
	off_t pos = io->off + (io->done > 0 ? io->done : 0);

	switch (io->op) {
	case PC_IO_READ:
		io_uring_prep_readv(sqe, io->fd, io->iov, io->iovcnt, pos);
		break;
	case PC_IO_WRITE:
		if (limit)
			io_uring_prep_write(sqe, io->fd, io->iov->iov_base,
					    (unsigned)limit, pos);
		else
			io_uring_prep_writev(sqe, io->fd, io->iov, io->iovcnt,
					     pos);
		break;
	case PC_IO_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, 0);
		break;
	case PC_IO_FDATASYNC:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	case PC_IO_WRITEOUT:
		/* its length is 32 bits here: a longer range is started in
		 * part, which is all an advisory write-out promises */
		io_uring_prep_sync_file_range(sqe, io->fd,
			io->len > 0x40000000 ? 0x40000000u : (unsigned)io->len,
			(uint64_t)io->off, SYNC_FILE_RANGE_WRITE);
		break;
	}
	/*
	 * No IOSQE_ASYNC on writes, although a buffered write to ext4 is only
	 * tried inline (IOCB_NOWAIT, refused at once) and then handed to
	 * io-wq anyway.  Handed over that way, io-wq serialises the writes to
	 * one file (it hashes them by inode).  With IOSQE_ASYNC (Linux 6.18,
	 * ext4) two or more io-wq workers wrote one file at once, and all but
	 * one spun on its inode lock (rwsem_spin_on_owner in perf): write-back
	 * of a 1 GiB dirty file took up to twice the CPU time of pwritev() and,
	 * on two CPUs, 1.6 to 1.8 times as long (medians of 9); without it,
	 * 1.1 to 1.2 times as long (bench/pc_bench, docs/benchmarks.md).
	 */
	io_uring_sqe_set_data(sqe, io);
}

static int io_run_ring(struct pc_cache *c, struct pc_ring *r,
		       struct pc_io *ios, int n)
{
	struct pc_io **queue = malloc((size_t)n * sizeof(*queue));
	unsigned int qd = c->cfg.queue_depth;
	int head = 0, count = n, inflight = 0;

	if (!queue)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		queue[i] = &ios[i];
	/* queue is a ring buffer of @n slots: each io is in it at most once */
	while (count || inflight) {
		struct io_uring_cqe *cqe;
		int ret;

		while (count && (unsigned)inflight < qd) {
			struct pc_io *io = queue[head];
			struct io_uring_sqe *sqe;
			ssize_t p;

			p = io_prepare(c, io);
			if (p < 0) {
				if (io_account(io, p))
					continue;	/* retry at once */
				head = (head + 1) % n;
				count--;
				continue;
			}
			sqe = io_uring_get_sqe(&r->ring);
			if (!sqe)
				break;
			io_prep_sqe(sqe, io, (size_t)p);
			head = (head + 1) % n;
			count--;
			inflight++;
		}
		if (!inflight)
			continue;
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			free(queue);
			return ret;
		}
		while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
			struct pc_io *io = io_uring_cqe_get_data(cqe);

			inflight--;
			if (io_account(io, cqe->res)) {
				queue[(head + count) % n] = io;
				count++;
			}
			io_uring_cqe_seen(&r->ring, cqe);
		}
	}
	free(queue);
	return 0;
}

int pc_io_run(struct pc_cache *c, struct pc_io *ios, int n)
{
	struct pc_ring *r = NULL;
	int ret = -1;

	for (int i = 0; i < n; i++)
		ios[i].done = 0;
	/*
	 * One small request has nothing to batch: the ring would only hand
	 * it to an io-wq worker (as a buffered write or an fsync always goes
	 * there) and wake us when that thread is done - two context
	 * switches on the path of an msync(MS_SYNC) of one page.  Issue it
	 * from this thread instead: measured here, msync(MS_SYNC) of one
	 * page went from 3.5x the backing filesystem's latency to about
	 * 2.2x, most of it from the fdatasync.  Batches of writes and reads
	 * and large ones stay on the ring; commits (one fdatasync each) are
	 * now always issued directly.
	 */
	if (n == 1 && (ios[0].op == PC_IO_FSYNC ||
		       ios[0].op == PC_IO_FDATASYNC ||
		       ios[0].len <= PC_IO_DIRECT_MAX)) {
		io_run_sync(c, &ios[0]);
		return 0;
	}
	if (c->uring)
		r = ring_get(c);
	if (r) {
		ret = io_run_ring(c, r, ios, n);
		ring_put(c, r);
	}
	if (ret) {
		/* no ring (or the ring broke): finish with plain syscalls */
		for (int i = 0; i < n; i++)
			if (ios[i].done >= 0 && (ios[i].op != PC_IO_WRITE ||
			    (size_t)ios[i].done < ios[i].len))
				io_run_sync(c, &ios[i]);
	}
	return 0;
}

/* ---- Collecting and finishing write-back requests ----------------------- */

/*
 * A write-back request: a run of whole pages written with one vectored
 * write (io), or one page with a byte mask (DIRTY BYTES in pagecache.h),
 * written as one write per run of dirty bytes (parts[0..nparts), each with
 * its own iov entry; io is then unused).
 */
struct wb_req {
	struct pc_mapping *m;
	struct pc_io io;
	unsigned int nr;
	struct pc_page **pages;
	struct iovec *iov;
	uint64_t *mask;			/* the masked page's dirty bytes */
	struct pc_io *parts;
	int nparts;
	int niov;			/* iovecs at collection (stats) */
};

static void req_free(struct wb_req *req)
{
	free(req->pages);
	free(req->iov);
	free(req->parts);
	req->pages = NULL;
	req->iov = NULL;
	req->parts = NULL;
}

/* The I/Os a request runs. */
static int req_nios(const struct wb_req *req)
{
	return req->mask ? req->nparts : 1;
}

static struct pc_io *req_ios(struct wb_req *req)
{
	return req->mask ? req->parts : &req->io;
}

/*
 * Build the request of masked page @p (DIRTY, not under write-back), whose
 * valid bytes end at @len: one part per run of dirty bytes.  Caller holds
 * m->lock.  Returns false (page untouched) without memory.
 */
static bool wb_collect_masked(struct pc_mapping *m, struct pc_page *p,
			      size_t len, struct wb_req *req)
{
	size_t ps = m->cache->page_size;
	off_t pstart = (off_t)(p->index * ps);
	size_t rs, re, from = 0;
	int n = 0;

	while (pc_mask_next_run(p->dmask, from, len, &rs, &re)) {
		n++;
		from = re;
	}
	req->pages = malloc(sizeof(*req->pages));
	req->iov = malloc((size_t)(n ? n : 1) * sizeof(*req->iov));
	req->parts = calloc((size_t)(n ? n : 1), sizeof(*req->parts));
	if (!req->pages || !req->iov || !req->parts) {
		req_free(req);
		return false;
	}
	req->pages[0] = p;
	req->nr = 1;
	req->mask = p->dmask;
	p->dmask = NULL;
	from = 0;
	for (int i = 0; i < n; i++) {
		pc_mask_next_run(req->mask, from, len, &rs, &re);
		req->iov[i].iov_base = p->data + rs;
		req->iov[i].iov_len = re - rs;
		req->parts[i].op = PC_IO_WRITE;
		req->parts[i].off = pstart + (off_t)rs;
		req->parts[i].len = re - rs;
		req->parts[i].iov = &req->iov[i];
		req->parts[i].iovcnt = 1;
		req->io.len += re - rs;
		from = re;
	}
	req->nparts = n;
	return true;
}

/*
 * Build one request from the dirty pages of @m at index >= *@next and
 * <= @last.  Caller holds m->lock.  Returns true if @req was built.
 */
static bool wb_collect(struct pc_mapping *m, uint64_t *next, uint64_t last,
		       struct wb_req *req)
{
	struct pc_cache *c = m->cache;
	size_t ps = c->page_size;
	unsigned int max = c->cfg.max_write_pages;
	void *pp[64];
	int niov = 0;

	memset(req, 0, sizeof(*req));
	for (;;) {
		size_t n = pc_radix_gang(&m->pages, *next, pp, 64,
					 PC_TAG_DIRTY);
		size_t i = 0;

		if (!n)
			return false;
		while (i < n && (((struct pc_page *)pp[i])->flags &
				 PG_WRITEBACK))
			i++;
		if (i == n) {
			*next = ((struct pc_page *)pp[n - 1])->index + 1;
			continue;
		}
		if (((struct pc_page *)pp[i])->index > last)
			return false;
		*next = ((struct pc_page *)pp[i])->index;
		break;
	}
	{
		struct pc_page *p = pc_radix_lookup(&m->pages, *next);
		off_t pstart = (off_t)(*next * ps);

		if (p->dmask && pstart < m->i_size) {
			size_t len = ps;

			if (pstart + (off_t)ps > m->i_size)
				len = (size_t)(m->i_size - pstart);
			if (!wb_collect_masked(m, p, len, req))
				return false;
		}
	}
	if (!req->mask) {
		req->pages = malloc(max * sizeof(*req->pages));
		req->iov = malloc(max * sizeof(*req->iov));
		if (!req->pages || !req->iov) {
			req_free(req);
			return false;
		}
	}
	/* the run: adjacent, dirty, not under write-back, inside i_size,
	 * whole pages (a masked page is a request of its own) */
	while (req->mask || (req->nr < max && *next <= last)) {
		struct pc_page *p = pc_radix_lookup(&m->pages, *next);
		off_t pstart = (off_t)(*next * ps);
		size_t len = ps;

		if (req->mask)
			p = req->pages[0];
		else if (!p || !(p->flags & PG_DIRTY) ||
			 (p->flags & PG_WRITEBACK) || p->dmask)
			break;
		p->flags &= ~PG_DIRTY;
		pc_radix_tag_clear(&m->pages, p->index, PC_TAG_DIRTY);
		m->nr_dirty--;
		atomic_fetch_sub(&c->nr_dirty, 1);
		(*next)++;
		if (pstart >= m->i_size)
			break;	/* cannot happen: truncate drops such pages */
		if (pstart + (off_t)ps > m->i_size)
			len = (size_t)(m->i_size - pstart);
		p->flags |= PG_WRITEBACK;
		pc_radix_tag_set(&m->pages, p->index, PC_TAG_WRITEBACK);
		m->nr_writeback++;
		atomic_fetch_add(&c->nr_writeback, 1);
		if (req->mask)
			break;	/* its parts are built */
		req->pages[req->nr] = p;
		if (niov && (char *)req->iov[niov - 1].iov_base +
			    req->iov[niov - 1].iov_len == p->data) {
			/* adjacent in memory too (see PAGE DATA in
			 * pagecache.c): one iovec for both */
			req->iov[niov - 1].iov_len += len;
		} else {
			req->iov[niov].iov_base = p->data;
			req->iov[niov].iov_len = len;
			niov++;
		}
		req->io.len += len;
		req->nr++;
		if (len < ps)
			break;
	}
	if (!req->nr) {
		req_free(req);
		return false;
	}
	req->m = m;
	req->io.op = PC_IO_WRITE;
	req->io.fd = pc_mapping_fd_locked(m);
	req->io.off = (off_t)(req->pages[0]->index * ps);
	req->io.iov = req->iov;
	req->io.iovcnt = niov;
	req->niov = req->mask ? req->nparts : niov;
	for (int i = 0; i < req->nparts; i++)
		req->parts[i].fd = req->io.fd;
	m->nr_io++;
	m->nr_mod++;
	m->mod_seq++;
	return true;
}

/* Back-off before the write-back thread retries a failing mapping. */
#define PC_RETRY_MS	1000

/* Finish a request after its I/O.  Caller holds m->lock.  Returns 0 or
 * the request's -errno. */
static int wb_finish(struct wb_req *req)
{
	struct pc_mapping *m = req->m;
	struct pc_cache *c = m->cache;
	struct pc_io *ios = req_ios(req);
	off_t end = 0;
	int err = 0;

	for (int i = 0; i < req_nios(req) && !err; i++) {
		if (ios[i].done < 0)
			err = (int)ios[i].done;
		else if ((size_t)ios[i].done < ios[i].len)
			err = -EIO;
		if (ios[i].off + (off_t)ios[i].len > end)
			end = ios[i].off + (off_t)ios[i].len;
	}
	if (!err) {

		m->write_gen++;
		if (end > m->backing_size)
			m->backing_size = end;
		atomic_fetch_add(&c->st.bytes_written, req->io.len);
	} else {
		pc_errseq_set_locked(m, err);
		m->wb_failing = err;
		m->retry_after_ms = pc_now_ms() + PC_RETRY_MS;
		atomic_fetch_add(&c->st.wb_errors, 1);
	}
	atomic_fetch_add(&c->st.wb_requests, 1);
	atomic_fetch_add(&c->st.wb_iovecs, (unsigned long long)req->niov);
	for (unsigned int i = 0; i < req->nr; i++) {
		struct pc_page *p = req->pages[i];

		p->flags &= ~PG_WRITEBACK;
		pc_radix_tag_clear(&m->pages, p->index, PC_TAG_WRITEBACK);
		m->nr_writeback--;
		atomic_fetch_sub(&c->nr_writeback, 1);
		if (err) {
			/* keep the data: dirty again, retried later */
			pc_set_dirty_mask_locked(m, p, req->mask);
			req->mask = NULL;
			continue;
		}
		p->written_gen = m->write_gen;
		if (!(p->flags & PG_UNSTABLE)) {
			p->flags |= PG_UNSTABLE;
			pc_radix_tag_set(&m->pages, p->index, PC_TAG_UNSTABLE);
			if (!m->nr_unstable)
				m->unstable_since_ms = pc_now_ms();
			m->nr_unstable++;
			atomic_fetch_add(&c->nr_unstable, 1);
		}
	}
	m->nr_io--;
	m->nr_mod--;
	m->mod_seq++;
	pthread_cond_broadcast(&m->wait);
	pthread_cond_broadcast(&c->space);
	pc_mask_free(c, req->mask);
	req->mask = NULL;
	req_free(req);
	return err;
}

/* Run @n requests (of any mappings) and finish them, and the advisory
 * @writeout alongside if not NULL.  No lock held. */
static void wb_run(struct pc_cache *c, struct wb_req *reqs, int n,
		   int *first_err, const struct pc_io *writeout)
{
	struct pc_io *ios;
	int nios = 0, k = 0;

	for (int i = 0; i < n; i++)
		nios += req_nios(&reqs[i]);
	ios = malloc((size_t)(nios + 1) * sizeof(*ios));
	if (ios) {
		for (int i = 0; i < n; i++)
			for (int j = 0; j < req_nios(&reqs[i]); j++)
				ios[k++] = req_ios(&reqs[i])[j];
		if (writeout)
			ios[k] = *writeout;
		if (nios)
			pc_io_run(c, ios, nios + (writeout != NULL));
		k = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < req_nios(&reqs[i]); j++)
				req_ios(&reqs[i])[j].done = ios[k++].done;
		free(ios);
	} else {
		for (int i = 0; i < n; i++) {
			for (int j = 0; j < req_nios(&reqs[i]); j++) {
				req_ios(&reqs[i])[j].done = 0;
				io_run_sync(c, &req_ios(&reqs[i])[j]);
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct pc_mapping *m = reqs[i].m;
		int err;

		pthread_mutex_lock(&m->lock);
		err = wb_finish(&reqs[i]);
		pthread_mutex_unlock(&m->lock);
		if (err && first_err && !*first_err)
			*first_err = err;
	}
}

/*
 * EARLY WRITE-OUT.  A sync writes in batches of queue_depth requests, then
 * commits.  The commit's fdatasync is where the backing filesystem sends
 * the data to its disk: ext4 allocates the delayed blocks and submits the
 * bios then, after all the copying, one after the other.  With @writeout,
 * the range of each batch is handed to the backing filesystem's write-out
 * (PC_IO_WRITEOUT) on the ring together with the next batch's writes: it
 * runs on another io-wq worker, so the disk writes the first batches while
 * later ones are still copied, and the commit waits for less.  Measured on
 * a 1 GiB sync (bench/pc_bench, pc_fsync): see docs/performance.md.  A sync
 * of one batch (up to queue_depth * max_write_pages pages, 64 MiB by
 * default) is unchanged; background write-back never does it (the data may
 * be written again soon, and the backing fs's own write-back decides).
 */
int pc_writeback_range_sync(struct pc_mapping *m, uint64_t first,
			    uint64_t last, bool writeout)
{
	struct pc_cache *c = m->cache;
	int n_max = (int)c->cfg.queue_depth;
	struct wb_req *reqs = malloc((size_t)n_max * sizeof(*reqs));
	struct pc_io wo = { .op = PC_IO_WRITEOUT };
	uint64_t next = first, lo, hi;
	int ret = 0;

	if (!reqs)
		return -ENOMEM;
	/* Writes already in flight carry older data: let them land first,
	 * so two writes of one page are never in flight together. */
	while (m->nr_writeback)
		pthread_cond_wait(&m->wait, &m->lock);
	for (;;) {
		int n = 0;

		while (m->quiesce)
			pthread_cond_wait(&m->wait, &m->lock);
		while (n < n_max && wb_collect(m, &next, last, &reqs[n]))
			n++;
		if (!n)
			break;
		/* this batch's pages, for its write-out with the next one */
		lo = UINT64_MAX;
		hi = 0;
		for (int i = 0; writeout && i < n; i++) {
			uint64_t a = reqs[i].pages[0]->index;
			uint64_t b = reqs[i].pages[reqs[i].nr - 1]->index + 1;

			lo = a < lo ? a : lo;
			hi = b > hi ? b : hi;
		}
		/* the previous batch's write-out, on this batch's descriptor
		 * (counted in nr_io by these requests until they finish) */
		wo.fd = reqs[0].io.fd;
		pthread_mutex_unlock(&m->lock);
		wb_run(c, reqs, n, &ret, wo.len ? &wo : NULL);
		if (wo.len)
			atomic_fetch_add(&c->st.writeouts, 1);
		pthread_mutex_lock(&m->lock);
		wo.off = (off_t)(lo * c->page_size);
		wo.len = hi > lo ? (size_t)(hi - lo) * c->page_size : 0;
	}
	/* and whatever somebody else started meanwhile */
	while (m->nr_writeback)
		pthread_cond_wait(&m->wait, &m->lock);
	free(reqs);
	return ret;
}

int pc_commit_locked(struct pc_mapping *m, bool datasync)
{
	struct pc_cache *c = m->cache;
	struct pc_io io = {
		.op = datasync ? PC_IO_FDATASYNC : PC_IO_FSYNC,
	};
	uint64_t gen, next = 0;
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT } };
	int err;

	while (m->commit_inflight || m->quiesce)
		pthread_cond_wait(&m->wait, &m->lock);
	gen = m->write_gen;
	m->commit_inflight = true;
	m->nr_io++;
	io.fd = pc_mapping_fd_locked(m);
	/* Once all our data is written, give the backing file the mtime
	 * the writes had through the mount (write-back itself moved it to
	 * the time of the write-back), so it survives a remount. */
	if (m->mtime_dirty && !m->nr_dirty && !m->nr_writeback) {
		times[1] = m->mtime;
		m->mtime_dirty = false;
		m->nr_mod++;		/* futimens: our own change */
		m->mod_seq++;
	} else {
		times[1].tv_nsec = UTIME_OMIT;
	}
	pthread_mutex_unlock(&m->lock);
	if (times[1].tv_nsec != UTIME_OMIT && io.fd != PC_FD_GONE &&
	    futimens(io.fd, times) < 0)
		pc_log(&c->cfg, "setting the mtime of a backing file "
		       "failed: %s", strerror(errno));
	pc_io_run(c, &io, 1);
	err = io.done < 0 ? (int)io.done : 0;
	/* Durable now: the backing fs's copy of what we hold is a third one
	 * (the FUSE kernel's, ours, its).  Clean pages only; advisory. */
	if (!err && c->cfg.drop_backing_cache && io.fd != PC_FD_GONE)
		posix_fadvise(io.fd, 0, 0, POSIX_FADV_DONTNEED);
	pthread_mutex_lock(&m->lock);
	if (times[1].tv_nsec != UTIME_OMIT) {
		m->nr_mod--;
		m->mod_seq++;
	}
	m->nr_io--;
	m->commit_inflight = false;
	for (;;) {
		void *pp[64];
		size_t n = pc_radix_gang(&m->pages, next, pp, 64,
					 PC_TAG_UNSTABLE);

		for (size_t i = 0; i < n; i++) {
			struct pc_page *p = pp[i];

			next = p->index + 1;
			if (p->written_gen > gen)
				continue;	/* written after we started */
			p->flags &= ~PG_UNSTABLE;
			pc_radix_tag_clear(&m->pages, p->index,
					   PC_TAG_UNSTABLE);
			m->nr_unstable--;
			atomic_fetch_sub(&c->nr_unstable, 1);
			if (err)
				pc_set_dirty_locked(m, p);
		}
		if (n < 64)
			break;
	}
	if (m->nr_unstable)
		m->unstable_since_ms = pc_now_ms();
	if (err) {
		pc_errseq_set_locked(m, err);
		m->wb_failing = err;
		m->retry_after_ms = pc_now_ms() + PC_RETRY_MS;
		atomic_fetch_add(&c->st.wb_errors, 1);
	} else if (!m->nr_dirty && !m->nr_writeback) {
		/* everything we hold is durable: no longer failing */
		m->wb_failing = 0;
	}
	pthread_cond_broadcast(&m->wait);
	pthread_cond_broadcast(&c->space);
	return err;
}

/* ---- The background write-back thread ----------------------------------- */

void pc_wb_kick(struct pc_cache *c)
{
	pthread_mutex_lock(&c->wb_lock);
	if (!c->wb_kicked) {
		c->wb_kicked = true;
		pthread_cond_signal(&c->wb_cond);
	}
	pthread_mutex_unlock(&c->wb_lock);
}

/* The first mapping pc_writeback_start queued, or NULL; its reference
 * goes to the caller.  Caller holds cache->lock. */
static struct pc_mapping *kick_pop_locked(struct pc_cache *c)
{
	struct pc_mapping *m = c->kick_head;

	if (m) {
		c->kick_head = m->kick_next;
		if (!c->kick_head)
			c->kick_tail = NULL;
		c->nr_kicked--;
		m->on_kick_list = false;
		m->kick_next = NULL;
	}
	return m;
}

/*
 * A pass's candidates.  A pass triggered by pc_writeback_start (a close)
 * takes only the mappings queued on the kick list; the whole dirty list is
 * scanned when the background threshold or memory pressure asks for it or
 * writeback_interval_ms after the last scan - never at every kick, or a
 * program closing thousands of freshly written files would make each
 * close cost a walk of all of them.  The dirty list is in the order the
 * mappings became dirty, oldest first, so when the queue depth runs out
 * the oldest data goes first.  Each candidate holds a reference; a
 * mapping on both lists is taken once (wb_pass_stamp).  Returns the
 * number of candidates; *more is set when some were left for lack of room.
 */
static size_t wb_candidates(struct pc_cache *c, bool scan, bool *more)
{
	size_t n = 0, want;
	uint64_t pass;

	pthread_mutex_lock(&c->lock);
	want = c->nr_kicked + (scan ? c->nr_dirty_mappings : 0);
	pthread_mutex_unlock(&c->lock);
	if (want > c->wb_cand_cap) {
		size_t cap = want + want / 2 + 16;
		struct pc_mapping **a = realloc(c->wb_cand, cap * sizeof(*a));

		if (a) {
			c->wb_cand = a;
			c->wb_cand_cap = cap;
		}
	}
	pthread_mutex_lock(&c->lock);
	pass = ++c->wb_pass_no;
	while (c->kick_head && n < c->wb_cand_cap) {
		struct pc_mapping *m = kick_pop_locked(c);

		m->wb_pass_stamp = pass;
		c->wb_cand[n++] = m;	/* the queue's reference moves here */
	}
	if (scan) {
		struct pc_mapping *m;

		for (m = c->dirty_head; m && n < c->wb_cand_cap;
		     m = m->dl_next) {
			if (m->wb_pass_stamp == pass)
				continue;
			m->wb_pass_stamp = pass;
			atomic_fetch_add(&m->refcount, 1);
			c->wb_cand[n++] = m;
		}
		if (m)
			*more = true;
	}
	if (c->kick_head)
		*more = true;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/*
 * One pass: write back expired (or, above the background threshold, all)
 * dirty candidates, queue_depth requests at a time; then commit candidates
 * whose written data is old enough, whose file nobody uses any more, or
 * when clean pages are scarce.  Returns true if there is more to do right
 * away.
 */
/* @since is at least @age ms before @now.  Times are taken outside the
 * locks, so @since may be after @now: then it is not (and an unsigned
 * now - since would say it is very old). */
static bool aged(uint64_t now, uint64_t since, uint64_t age)
{
	return now >= since && now - since >= age;
}

static bool wb_pass(struct pc_cache *c, bool timer)
{
	int n_req = 0, n_max = (int)c->cfg.queue_depth;
	struct wb_req *reqs = malloc((size_t)n_max * sizeof(*reqs));
	uint64_t now = pc_now_ms();
	unsigned long busy = atomic_load(&c->nr_dirty) +
			     atomic_load(&c->nr_writeback);
	bool over_bg = busy > c->dirty_bg;
	/*
	 * Commits (fdatasync) are expensive: they wait for the backing
	 * file's data to reach the disk.  They are due when the data is old,
	 * when nobody uses the file any more, or when written-but-uncommitted
	 * pages take half the cache or the cache has no free page left.
	 */
	bool pressure = atomic_load(&c->nr_pages) >= c->max_pages ||
			atomic_load(&c->nr_unstable) > c->max_pages / 2;
	bool scan = timer || over_bg || pressure ||
		    now - c->wb_last_scan_ms >= c->cfg.writeback_interval_ms;
	bool more = false;
	size_t n_cand;

	if (!reqs)
		return false;
	if (scan)
		c->wb_last_scan_ms = now;
	n_cand = wb_candidates(c, scan, &more);

	for (size_t i = 0; i < n_cand; i++) {
		struct pc_mapping *m = c->wb_cand[i];
		uint64_t next = 0;

		for (;;) {
			/* Only the lists and this pass hold it: nobody uses
			 * the file any more, so finish it now and free its
			 * descriptor. */
			bool orphan = atomic_load(&m->refcount) <= 2;
			bool due, full = false;

			pthread_mutex_lock(&m->lock);
			due = m->nr_dirty && !m->quiesce && !m->sync_waiters &&
			      (!m->wb_failing || now >= m->retry_after_ms) &&
			      (over_bg || pressure || m->wb_kick || orphan ||
			       aged(now, m->dirtied_when_ms,
				    c->cfg.dirty_expire_ms));
			if (due) {
				while (n_req < n_max &&
				       wb_collect(m, &next, UINT64_MAX,
						  &reqs[n_req]))
					n_req++;
				if (n_req == n_max)
					full = true;
				else
					m->wb_kick = false;
				/* the rest of the mapping is younger now */
				if (!m->nr_dirty)
					m->dirtied_when_ms = now;
			}
			pthread_mutex_unlock(&m->lock);
			if (!full)
				break;
			/* queue depth reached: write these, then go on */
			wb_run(c, reqs, n_req, NULL, NULL);
			n_req = 0;
		}
	}
	if (n_req)
		wb_run(c, reqs, n_req, NULL, NULL);
	free(reqs);

	for (size_t i = 0; i < n_cand; i++) {
		struct pc_mapping *m = c->wb_cand[i];
		bool orphan = atomic_load(&m->refcount) <= 2;

		/*
		 * A mapping this pass wrote back whole (its first UNSTABLE
		 * page is from this pass) is committed at once too.  Until
		 * session 5 that happened only because now - since wrapped
		 * around; every measurement was made with it, and it keeps
		 * UNSTABLE pages, which cannot be evicted, few.
		 */
		pthread_mutex_lock(&m->lock);
		if (m->nr_unstable && !m->nr_dirty && !m->nr_writeback &&
		    !m->sync_waiters && !m->commit_inflight && !m->quiesce &&
		    (pressure || orphan || m->unstable_since_ms >= now ||
		     aged(now, m->unstable_since_ms, c->cfg.dirty_expire_ms)))
			pc_commit_locked(m, true);
		pthread_mutex_unlock(&m->lock);
		pc_mapping_dirty_list_del(m);
		pc_mapping_put(m);
	}
	/* What was written back may have been too busy to close. */
	pc_fd_trim(c);
	return more;
}

static void *wb_thread(void *arg)
{
	struct pc_cache *c = arg;

	for (;;) {
		struct timespec ts;
		bool stop, more, timer;

		pthread_mutex_lock(&c->wb_lock);
		if (!c->wb_kicked && !c->wb_stop) {
			unsigned int ms = c->cfg.writeback_interval_ms;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (long)(ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->wb_cond, &c->wb_lock, &ts);
		}
		timer = !c->wb_kicked;
		c->wb_kicked = false;
		stop = c->wb_stop;
		pthread_mutex_unlock(&c->wb_lock);
		if (stop)
			break;
		more = wb_pass(c, timer);
		if (more)
			pc_wb_kick(c);
	}
	return NULL;
}

int pc_wb_start(struct pc_cache *c)
{
	int ret;

	c->uring = false;
	if (!c->cfg.no_uring) {
		struct pc_ring *r = ring_new(c);

		if (r) {
			c->uring = true;
			ring_put(c, r);
			c->nr_rings = 1;
		} else {
			pc_log(&c->cfg, "io_uring is not available "
			       "(%s); using preadv/pwritev instead",
			       strerror(errno));
		}
	}
	ret = pthread_create(&c->wb_thread, NULL, wb_thread, c);
	if (ret) {
		pc_rings_free(c);
		return -ret;
	}
	return 0;
}

void pc_wb_stop(struct pc_cache *c)
{
	pthread_mutex_lock(&c->wb_lock);
	c->wb_stop = true;
	pthread_cond_signal(&c->wb_cond);
	pthread_mutex_unlock(&c->wb_lock);
	pthread_join(c->wb_thread, NULL);
	/* what pc_writeback_start queued after the last pass */
	for (;;) {
		struct pc_mapping *m;

		pthread_mutex_lock(&c->lock);
		m = kick_pop_locked(c);
		pthread_mutex_unlock(&c->lock);
		if (!m)
			break;
		pc_mapping_put(m);
	}
	free(c->wb_cand);
	c->wb_cand = NULL;
	c->wb_cand_cap = 0;
}
