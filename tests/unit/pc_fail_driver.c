// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pc_fail_driver.c - drives pagecache/ against a backing file on a real
 * filesystem that fails, for tests/unit/pc_fail_enospc.sh and
 * pc_fail_eio.sh (which build the failing filesystem as root).
 *
 *   pc_fail_driver [-n] enospc FILE SIZE FIXCMD
 *	Write SIZE bytes through the cache into FILE, on a filesystem that
 *	has less room than that.  pc_write_and_wait must fail with ENOSPC,
 *	errseq must report it once per opener, the data must stay dirty and
 *	new dirtying writes must fail.  Then FIXCMD (a shell command) frees
 *	space and a retry must write every byte.
 *
 *   pc_fail_driver [-n] eio FILE SIZE BREAKCMD FIXCMD
 *	Write SIZE bytes and make them durable while the device is healthy,
 *	run BREAKCMD (the device now fails writes), rewrite them: the next
 *	pc_write_and_wait must fail with EIO, errseq reports it, the data
 *	stays dirty.  FIXCMD repairs the device and a retry must succeed.
 *	The caller then remounts and runs "verify" to prove the bytes are on
 *	the device and not only in the backing filesystem's page cache.
 *
 *   pc_fail_driver verify FILE SIZE
 *	FILE must hold the data the "eio" run wrote last.
 *
 * -n runs the cache on its preadv/pwritev path instead of io_uring.
 * Exit status: 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagecache/pagecache.h"

#define SEED_FIRST 0x51
#define SEED_LAST 0x52

static const char *t_prog = "pc_fail_driver";

#define t_fail(...) do { \
	fprintf(stderr, "%s: FAIL: ", t_prog); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	exit(1); \
} while (0)

/* Never zero, different on every byte of a page. */
static unsigned char t_pat(uint64_t seed, uint64_t off)
{
	uint64_t z = seed * 0x100000001b3ULL + off / 8;
	unsigned char b;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	b = (unsigned char)(z >> (off % 8 * 8));
	return b ? b : 0x5a;
}

static unsigned char *t_pattern(size_t size, uint64_t seed)
{
	unsigned char *buf = malloc(size);
	size_t i;

	if (!buf)
		t_fail("malloc %zu", size);
	for (i = 0; i < size; i++)
		buf[i] = t_pat(seed, i);
	return buf;
}

/* FILE, read through a descriptor of its own, is exactly @expect. */
static void t_verify_file(const char *path, const unsigned char *expect,
			  size_t size)
{
	unsigned char *buf = malloc(size);
	size_t done = 0, i;
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !buf)
		t_fail("open %s: %s", path, strerror(errno));
	if (fstat(fd, &st))
		t_fail("fstat: %s", strerror(errno));
	if (st.st_size != (off_t)size)
		t_fail("%s is %lld bytes, expected %zu", path,
		       (long long)st.st_size, size);
	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

		if (n <= 0)
			t_fail("pread %s at %zu: %s", path, done,
			       n ? strerror(errno) : "EOF");
		done += (size_t)n;
	}
	for (i = 0; i < size; i++)
		if (buf[i] != expect[i])
			t_fail("%s: byte %zu is 0x%02x, expected 0x%02x", path,
			       i, buf[i], expect[i]);
	close(fd);
	free(buf);
}

static void t_run(const char *cmd)
{
	int st = system(cmd);

	if (st != 0)
		t_fail("command failed (status %d): %s", st, cmd);
}

static struct pc_cache *t_cache(bool no_uring)
{
	struct pc_config cfg;
	struct pc_cache *c;
	const char *msg;
	int ret;

	pc_config_default(&cfg);
	cfg.cache_size = 64 << 20;
	cfg.dirty_bytes = 32 << 20;
	cfg.dirty_background_bytes = 16 << 20;
	/* nothing is written back unless the driver asks */
	cfg.dirty_expire_ms = 600000;
	cfg.writeback_interval_ms = 1000;
	cfg.no_uring = no_uring;
	msg = pc_config_check(&cfg);
	if (msg)
		t_fail("pc_config_check: %s", msg);
	ret = pc_cache_create(&cfg, &c);
	if (ret)
		t_fail("pc_cache_create: %s", strerror(-ret));
	return c;
}

static struct pc_mapping *t_map(struct pc_cache *c, const char *path,
				int flags)
{
	struct pc_mapping *m;
	int fd = open(path, O_RDWR | O_CLOEXEC | flags, 0644);
	int ret;

	if (fd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	ret = pc_mapping_create(c, fd, &m);
	if (ret)
		t_fail("pc_mapping_create: %s", strerror(-ret));
	return m;
}

static void t_write(struct pc_mapping *m, const unsigned char *buf,
		    size_t size)
{
	/* in 64 KiB pieces, as the FUSE layer would */
	const size_t piece = 64 << 10;
	size_t off;

	for (off = 0; off < size; off += piece) {
		size_t len = size - off < piece ? size - off : piece;
		ssize_t n = pc_write(m, buf + off, len, (off_t)off, false);

		if (n != (ssize_t)len)
			t_fail("pc_write(%zu, %zu) = %zd (%s)", off, len, n,
			       n < 0 ? strerror((int)-n) : "short");
	}
}

/*
 * The error @err has just been returned by pc_write_and_wait: check what
 * follows from it.  @s0 was sampled before the error.
 */
static void t_check_failed(struct pc_mapping *m, pc_errseq_t *s0, int err,
			   const char *what)
{
	size_t ps = pc_page_size();
	pc_errseq_t s1;
	unsigned char b = 1;
	ssize_t n;
	int ret;

	if (pc_mapping_dirty_bytes(m) == 0)
		t_fail("%s: the data is no longer dirty after the failure",
		       what);
	s1 = pc_errseq_sample(m);
	ret = pc_errseq_check_and_advance(m, &s1);
	if (ret != err)
		t_fail("%s: an opener after the unseen error got %d, expected %d",
		       what, ret, err);
	ret = pc_errseq_check_and_advance(m, s0);
	if (ret != err)
		t_fail("%s: the opener before the error got %d, expected %d",
		       what, ret, err);
	ret = pc_errseq_check_and_advance(m, s0);
	if (ret != 0)
		t_fail("%s: the error was reported twice to one opener (%d)",
		       what, ret);
	/* dirtying a clean page fails while write-back fails */
	if (!pc_has_dirty_range(m, 0, (off_t)ps)) {
		n = pc_write(m, &b, 1, 0, false);
		if (n != err)
			t_fail("%s: pc_write to a clean page while write-back fails returned %zd, expected %d",
			       what, n, err);
	}
}

static int t_enospc(bool no_uring, const char *path, size_t size,
		    const char *fixcmd)
{
	unsigned char *data = t_pattern(size, SEED_LAST);
	struct pc_cache *c = t_cache(no_uring);
	struct pc_mapping *m = t_map(c, path, O_CREAT | O_TRUNC);
	pc_errseq_t s0 = pc_errseq_sample(m);
	int ret;

	t_write(m, data, size);
	ret = pc_write_and_wait(m, 0, -1, true);
	if (ret != -ENOSPC)
		t_fail("write_and_wait on a full filesystem returned %d (%s), expected -ENOSPC",
		       ret, strerror(-ret));
	t_check_failed(m, &s0, -ENOSPC, "ENOSPC");
	/* a second attempt fails the same way */
	ret = pc_write_and_wait(m, 0, -1, false);
	if (ret != -ENOSPC)
		t_fail("second write_and_wait returned %d, expected -ENOSPC",
		       ret);
	t_run(fixcmd);
	ret = pc_write_and_wait(m, 0, -1, true);
	if (ret)
		t_fail("write_and_wait after freeing space: %s",
		       strerror(-ret));
	if (pc_mapping_dirty_bytes(m))
		t_fail("%zu bytes still dirty after a successful retry",
		       pc_mapping_dirty_bytes(m));
	t_verify_file(path, data, size);
	/* s0 saw the first failure, not the second */
	ret = pc_errseq_check_and_advance(m, &s0);
	if (ret != -ENOSPC)
		t_fail("the second failure reached the opener as %d", ret);
	ret = pc_errseq_check_and_advance(m, &s0);
	if (ret)
		t_fail("an error after the successful retry: %d", ret);
	pc_mapping_put(m);
	ret = pc_cache_destroy(c);
	if (ret)
		t_fail("pc_cache_destroy: %s", strerror(-ret));
	free(data);
	return 0;
}

static int t_eio(bool no_uring, const char *path, size_t size,
		 const char *breakcmd, const char *fixcmd)
{
	unsigned char *first = t_pattern(size, SEED_FIRST);
	unsigned char *last = t_pattern(size, SEED_LAST);
	struct pc_cache *c = t_cache(no_uring);
	struct pc_mapping *m = t_map(c, path, O_CREAT | O_TRUNC);
	pc_errseq_t s0;
	int ret;

	/* allocate the blocks while the device works */
	t_write(m, first, size);
	ret = pc_write_and_wait(m, 0, -1, false);
	if (ret)
		t_fail("write_and_wait on the healthy device: %s",
		       strerror(-ret));
	s0 = pc_errseq_sample(m);
	t_run(breakcmd);
	t_write(m, last, size);
	ret = pc_write_and_wait(m, 0, -1, true);
	if (ret != -EIO)
		t_fail("write_and_wait on the failing device returned %d (%s), expected -EIO",
		       ret, strerror(-ret));
	t_check_failed(m, &s0, -EIO, "EIO");
	t_run(fixcmd);
	ret = pc_write_and_wait(m, 0, -1, true);
	if (ret)
		t_fail("write_and_wait after the device was repaired: %s",
		       strerror(-ret));
	if (pc_mapping_dirty_bytes(m))
		t_fail("%zu bytes still dirty after a successful retry",
		       pc_mapping_dirty_bytes(m));
	ret = pc_errseq_check_and_advance(m, &s0);
	if (ret)
		t_fail("an error after the successful retry: %d", ret);
	t_verify_file(path, last, size);
	pc_mapping_put(m);
	ret = pc_cache_destroy(c);
	if (ret)
		t_fail("pc_cache_destroy: %s", strerror(-ret));
	free(first);
	free(last);
	return 0;
}

static void t_usage(void)
{
	fprintf(stderr,
		"usage: %s [-n] enospc FILE SIZE FIXCMD\n"
		"       %s [-n] eio FILE SIZE BREAKCMD FIXCMD\n"
		"       %s verify FILE SIZE\n", t_prog, t_prog, t_prog);
	exit(1);
}

int main(int argc, char **argv)
{
	bool no_uring = false;
	size_t size;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		no_uring = true;
		argv++;
		argc--;
	}
	if (argc < 4)
		t_usage();
	size = strtoul(argv[3], NULL, 0);
	if (!size)
		t_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "enospc") && argc == 5)
		return t_enospc(no_uring, argv[2], size, argv[4]);
	if (!strcmp(argv[1], "eio") && argc == 6)
		return t_eio(no_uring, argv[2], size, argv[4], argv[5]);
	if (!strcmp(argv[1], "verify") && argc == 4) {
		unsigned char *last = t_pattern(size, SEED_LAST);

		t_verify_file(argv[2], last, size);
		free(last);
		return 0;
	}
	t_usage();
	return 1;
}
