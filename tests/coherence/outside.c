// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * outside.c - SEMANTICS A6 and C3's outside case: a change made to a
 * backing file behind the mount's back becomes visible through an existing
 * mapping on the mount and through read() on the mount within a bound.
 *
 *   outside CASE MNT BACKING [MNT2]
 *
 * CASE is one of
 *   write     pwrite() into the backing file
 *   extend    pwrite() past EOF of the backing file (new pages readable)
 *   shrink    ftruncate() of the backing file down (SIGBUS past the new
 *             EOF in the mount's mapping, zeros in the tail of the last page)
 *   grow      ftruncate() of the backing file up (SIGBUS pages readable)
 *   mapstore  a store through a MAP_SHARED mapping of the backing file,
 *             then msync()
 *   overlap   our write() through the mount, not yet written back, and an
 *             outside pwrite() into the same page and into another page:
 *             the other page shows the outside bytes; in our page our
 *             byte wins and the outside byte next to it stays (last
 *             writer per byte), both in the backing file
 *   two-store a store + msync() in a mapping on MNT, seen in a mapping on
 *             MNT2 (a second mmapfs mount of the same backing directory)
 *   two-trunc ftruncate() down on MNT, SIGBUS in a mapping on MNT2
 *
 * The mapping on the mount is made and touched before the change, so the
 * kernel holds its pages.  The latency from the change to the moment both
 * the mapping and read() show it is printed, and must stay under
 * OUTSIDE_BOUND_MS (generous: the promise is 100 ms on an idle machine).
 * Broken rule looks like: the old bytes or the old size forever (no
 * detection), or a SIGBUS on a page the outside change made valid.
 *
 * Environment (a6_watch_enospc.sh): $OUTSIDE_FILE names the file instead
 * of CASE, so that a case can run on a file the daemon already watches or
 * already failed to watch; $OUTSIDE_BOUND_MS replaces the bound.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

#define OUTSIDE_BOUND_MS	2000

static size_t ps;
static double bound_ms = OUTSIDE_BOUND_MS;

/* Poll @seen until it returns true or the bound passes; returns the ms. */
static double wait_for(const char *what, bool (*seen)(void *), void *arg)
{
	double t0 = t_now(), dt;

	for (;;) {
		dt = (t_now() - t0) * 1000.0;
		if (seen(arg))
			break;
		if (dt > bound_ms)
			t_fail("%s: not seen after %.0f ms", what, dt);
		t_sleep_ms(1);
	}
	printf("%s: seen after %.1f ms\n", what, dt);
	return dt;
}

struct view {
	volatile char *map;	/* on the mount (MNT2 for the two-* cases) */
	int fd;			/* on the mount, for read() */
	off_t off;		/* where to look */
	char want;		/* byte expected there */
	off_t size;		/* expected size, for shrink/grow */
};

/* The byte at v->off is v->want, through the mapping and read(). */
static bool byte_seen(void *arg)
{
	struct view *v = arg;
	char c = 0;

	if (t_probe_read_val(v->map + v->off, &c) != 0 || c != v->want)
		return false;
	if (pread(v->fd, &c, 1, v->off) != 1 || c != v->want)
		return false;
	return true;
}

/* The file ends at v->size: SIGBUS on the page past it, zero tail, and
 * read() stops there. */
static bool shrink_seen(void *arg)
{
	struct view *v = arg;
	off_t past = (v->size + (off_t)ps - 1) / (off_t)ps * (off_t)ps;
	char c;

	if (t_probe_read(v->map + past) != SIGBUS)
		return false;
	if (v->size % (off_t)ps &&
	    (t_probe_read_val(v->map + v->size, &c) != 0 || c != 0))
		return false;
	if (pread(v->fd, &c, 1, v->size) != 0)
		return false;
	return true;
}

/* The page at v->off is readable through the mapping and read(), as zero. */
static bool grow_seen(void *arg)
{
	struct view *v = arg;
	char c = 1;

	if (t_probe_read_val(v->map + v->off, &c) != 0 || c != 0)
		return false;
	if (pread(v->fd, &c, 1, v->off) != 1 || c != 0)
		return false;
	return true;
}

/* Open NAME on @mnt, map @pages pages of it shared, touch what exists. */
static volatile char *map_on(const char *mnt, const char *name, size_t pages,
			     int *fdp)
{
	char path[4096];
	volatile char *map;
	off_t size;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	fd = t_open(path, O_RDWR, 0);
	map = t_mmap(pages * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size = t_fsize(fd);
	for (off_t o = 0; o < size; o += (off_t)ps)
		(void)map[o];
	*fdp = fd;
	return map;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	const char *name, *env;
	char *bpath;
	struct view v = { 0 };
	int bfd;

	if (argc < 4) {
		fprintf(stderr, "usage: outside CASE MNT BACKING [MNT2]\n");
		return 1;
	}
	t_init(argc - 1, argv + 1);
	ps = t_page_size();
	env = getenv("OUTSIDE_BOUND_MS");
	if (env && atof(env) > 0)
		bound_ms = atof(env);
	t_alarm(30 + (unsigned int)(bound_ms / 1000), "outside: stuck");
	env = getenv("OUTSIDE_FILE");
	name = env && *env ? env : what;
	bpath = t_backing_path(name);

	/* Every case starts from a file of 3 pages of 'A' made outside. */
	bfd = t_open(bpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	{
		char *buf = malloc(3 * ps);

		memset(buf, 'A', 3 * ps);
		t_pwrite(bfd, buf, 3 * ps, 0);
		free(buf);
	}

	if (!strcmp(what, "write")) {
		v.map = map_on(t_mnt(), name, 3, &v.fd);
		v.off = (off_t)ps + 100;
		v.want = 'B';
		t_pwrite(bfd, "B", 1, v.off);
		wait_for("outside write", byte_seen, &v);
	} else if (!strcmp(what, "extend")) {
		v.map = map_on(t_mnt(), name, 6, &v.fd);
		v.off = 4 * (off_t)ps + 10;
		v.want = 'C';
		t_pwrite(bfd, "C", 1, v.off);
		wait_for("outside pwrite past EOF", byte_seen, &v);
		/* the hole before it reads as zeros */
		T_CHECK(v.map[3 * ps + 5] == 0, "hole not zero");
	} else if (!strcmp(what, "shrink")) {
		v.map = map_on(t_mnt(), name, 3, &v.fd);
		v.size = (off_t)ps + 100;
		t_ftruncate(bfd, v.size);
		wait_for("outside ftruncate shrink", shrink_seen, &v);
		T_CHECK(v.map[50] == 'A', "data before the new EOF changed");
		T_CHECK(t_fsize(v.fd) == v.size, "size %lld on the mount",
			(long long)t_fsize(v.fd));
	} else if (!strcmp(what, "grow")) {
		v.map = map_on(t_mnt(), name, 6, &v.fd);
		T_CHECK(t_probe_read(v.map + 4 * ps) == SIGBUS,
			"page past EOF readable before growing");
		v.off = 4 * (off_t)ps + 10;
		t_ftruncate(bfd, 5 * (off_t)ps);
		wait_for("outside ftruncate grow", grow_seen, &v);
	} else if (!strcmp(what, "mapstore")) {
		volatile char *bmap;

		v.map = map_on(t_mnt(), name, 3, &v.fd);
		v.off = 2 * (off_t)ps + 7;
		v.want = 'M';
		bmap = t_mmap(3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, bfd,
			      0);
		bmap[v.off] = 'M';
		t_msync((void *)bmap, 3 * ps, MS_SYNC);
		wait_for("store + msync in an outside mapping", byte_seen, &v);
	} else if (!strcmp(what, "overlap")) {
		char c;

		v.map = map_on(t_mnt(), name, 3, &v.fd);
		t_pwrite(v.fd, "O", 1, 10);		/* ours, dirty */
		t_pwrite(bfd, "X", 1, 20);		/* theirs, same page */
		v.off = 2 * (off_t)ps + 30;
		v.want = 'Y';
		t_pwrite(bfd, "Y", 1, v.off);		/* theirs, other page */
		wait_for("outside write next to our dirty page", byte_seen, &v);
		T_CHECK(t_pread(v.fd, &c, 1, 10) == 1 && c == 'O',
			"our dirty byte lost: '%c'", c);
		T_CHECK(v.map[10] == 'O', "our byte not in the mapping");
		/* per byte: their byte next to ours in the same page stays */
		T_CHECK(t_pread(v.fd, &c, 1, 20) == 1 && c == 'X',
			"the outside byte next to ours lost: '%c' at 20", c);
		T_CHECK(v.map[20] == 'X', "outside byte not in the mapping");
		t_fsync(v.fd);
		T_CHECK(t_read_file(bpath, &c, 1, 10) == 1 && c == 'O',
			"backing file lacks our byte: '%c'", c);
		T_CHECK(t_read_file(bpath, &c, 1, 20) == 1 && c == 'X',
			"backing file lost the outside byte next to ours: '%c'",
			c);
		T_CHECK(t_read_file(bpath, &c, 1, v.off) == 1 && c == 'Y',
			"backing file lost the outside byte: '%c'", c);
	} else if (!strcmp(what, "two-store") || !strcmp(what, "two-trunc")) {
		volatile char *map1;
		int fd1;

		if (argc < 5)
			t_fail("%s needs MNT2", what);
		map1 = map_on(t_mnt(), name, 3, &fd1);
		v.map = map_on(argv[4], name, 3, &v.fd);
		if (!strcmp(what, "two-store")) {
			v.off = (off_t)ps + 33;
			v.want = 'S';
			map1[v.off] = 'S';
			t_msync((void *)map1, 3 * ps, MS_SYNC);
			wait_for("store + msync on mount 1, mapping on mount 2",
				 byte_seen, &v);
		} else {
			v.size = 100;
			t_ftruncate(fd1, v.size);
			wait_for("truncate on mount 1, SIGBUS on mount 2",
				 shrink_seen, &v);
		}
	} else {
		t_fail("unknown case '%s'", what);
	}
	return 0;
}
