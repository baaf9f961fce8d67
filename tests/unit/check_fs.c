// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_fs.c - unit tests of fs/ that need no mount: name validation, the
 * attribute merge, the inode table (keying, lookup counts, resurrection,
 * growth, zombies kept for dirty data), and the fs_do_*() work behind the
 * handlers, run directly against a backing directory under /tmp.
 *
 * The tests call the fs_do_*() functions the FUSE handlers call, with the
 * fuse_ino_t values the kernel would hold; no session exists.  Tests that
 * need a page cache create a real one (pagecache/, its fault-injection
 * build), with write-back slow enough that data stays dirty while the test
 * looks at it, or failing where a test needs it to stay dirty for sure.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* ---- Fixture: a backing directory and a struct fs over it ------------- */

static char t_dir[64];
static struct fs *t_fs;
static struct pc_cache *t_cache;

static void t_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", t_dir, name);
}

static void t_write_file(const char *name, const char *data)
{
	char p[256];
	FILE *f;

	t_path(p, sizeof(p), name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(data, f);
	fclose(f);
}

static void t_read_file(const char *name, char *buf, size_t len)
{
	char p[256];
	ssize_t n;
	int fd;

	t_path(p, sizeof(p), name);
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, len - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
}

static void setup_fs(void)
{
	struct fs_config cfg = {
		.attr_timeout = 1.0,
		.entry_timeout = 1.0,
	};

	strcpy(t_dir, "/tmp/check_fs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t_dir));
	cfg.backing_dir = t_dir;
	ck_assert_int_eq(fs_create(&cfg, &t_fs), 0);
}

/* The same, with a cache that writes back only when asked to. */
static void setup_fs_cache(void)
{
	struct pc_config pc;

	setup_fs();
	pc_config_default(&pc);
	pc.cache_size = 16 << 20;
	pc.dirty_bytes = 4 << 20;
	pc.dirty_background_bytes = 2 << 20;
	pc.dirty_expire_ms = 3600 * 1000;
	pc.writeback_interval_ms = 60 * 1000;
	pc.no_uring = true;
	ck_assert_int_eq(pc_cache_create(&pc, &t_cache), 0);
	ck_assert_int_eq(fs_start(t_fs, t_cache, NULL), 0);
}

static void teardown_fs(void)
{
	char cmd[128];

	if (t_fs)
		fs_stop(t_fs);
	if (t_cache)
		ck_assert_int_eq(pc_cache_destroy(t_cache), 0);
	fs_destroy(t_fs);
	t_fs = NULL;
	t_cache = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct fs_inode *t_lookup(fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	ck_assert_int_eq(fs_do_lookup(t_fs, parent, name, &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	return fs_inode_of(t_fs, e.ino);
}

/* ---- names.c ------------------------------------------------------------ */

START_TEST(test_name_check)
{
	char longname[NAME_MAX + 2];

	ck_assert_int_eq(fs_name_check("a"), 0);
	ck_assert_int_eq(fs_name_check(".a"), 0);
	ck_assert_int_eq(fs_name_check("..."), 0);
	ck_assert_int_eq(fs_name_check("a b\tc"), 0);
	ck_assert_int_eq(fs_name_check(""), -EINVAL);
	ck_assert_int_eq(fs_name_check("."), -EINVAL);
	ck_assert_int_eq(fs_name_check(".."), -EINVAL);
	ck_assert_int_eq(fs_name_check("a/b"), -EINVAL);
	ck_assert_int_eq(fs_name_check("/"), -EINVAL);
	ck_assert_int_eq(fs_name_check("../etc"), -EINVAL);
	ck_assert_int_eq(fs_name_check(NULL), -EINVAL);

	memset(longname, 'x', NAME_MAX);
	longname[NAME_MAX] = '\0';
	ck_assert_int_eq(fs_name_check(longname), 0);
	longname[NAME_MAX] = 'x';
	longname[NAME_MAX + 1] = '\0';
	ck_assert_int_eq(fs_name_check(longname), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_proc_path)
{
	char p[FS_PROC_PATH_MAX];

	fs_proc_path(p, 7);
	ck_assert_str_eq(p, "/proc/self/fd/7");
	fs_proc_path(p, 2147483647);
	ck_assert_str_eq(p, "/proc/self/fd/2147483647");
}
END_TEST

/* ---- attr.c ------------------------------------------------------------- */

START_TEST(test_attr_merge)
{
	struct stat st;
	struct timespec older = { 100, 5 }, newer = { 200, 7 };

	memset(&st, 0, sizeof(st));
	st.st_size = 10;
	st.st_blocks = 8;
	st.st_mtim = (struct timespec){ 150, 0 };
	st.st_ctim = (struct timespec){ 150, 0 };

	/* The cache's mtime is the file's mtime, even if the backing one is
	 * later (our own write-back moved it); ctime never goes back. */
	fs_attr_merge(&st, 5000, older, false);
	ck_assert_int_eq(st.st_size, 5000);
	ck_assert_int_eq(st.st_mtim.tv_sec, 100);
	ck_assert_int_eq(st.st_ctim.tv_sec, 150);

	/* No cache mtime: the backing one stands. */
	st.st_mtim = (struct timespec){ 150, 0 };
	fs_attr_merge(&st, 5000, (struct timespec){ 0, 0 }, false);
	ck_assert_int_eq(st.st_mtim.tv_sec, 150);
	ck_assert_int_eq(st.st_blocks, 8);	/* clean: backing blocks */

	/* A newer one wins for mtime and ctime. */
	fs_attr_merge(&st, 5000, newer, true);
	ck_assert_int_eq(st.st_mtim.tv_sec, 200);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 7);
	ck_assert_int_eq(st.st_ctim.tv_sec, 200);
	/* Dirty: at least ceil(5000 / 512) = 10 blocks, never 0. */
	ck_assert_int_eq(st.st_blocks, 10);

	st.st_blocks = 100;
	fs_attr_merge(&st, 5000, newer, true);
	ck_assert_int_eq(st.st_blocks, 100);	/* never lowered */

	/* A shrink is reported as is (the kernel must see it). */
	fs_attr_merge(&st, 0, (struct timespec){ 0, 0 }, false);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 200);
}
END_TEST

/* ---- inode.c: the table ------------------------------------------------- */

START_TEST(test_lookup_basic)
{
	struct fuse_entry_param e;
	struct fs_inode *f, *d;
	char p[256];

	t_write_file("f", "hello");
	t_path(p, sizeof(p), "d");
	ck_assert_int_eq(mkdir(p, 0755), 0);

	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "f", &e), 0);
	f = fs_inode_of(t_fs, e.ino);
	ck_assert(S_ISREG(e.attr.st_mode));
	ck_assert_int_eq(e.attr.st_size, 5);
	ck_assert(S_ISREG(f->type));
	ck_assert_uint_eq(f->nlookup, 1);
	ck_assert_uint_eq(e.generation, f->generation);
	ck_assert(e.attr_timeout == 1.0 && e.entry_timeout == 1.0);

	d = t_lookup(FUSE_ROOT_ID, "d");
	ck_assert(S_ISDIR(d->type));
	ck_assert_ptr_ne(d, f);
	ck_assert_uint_ne(d->generation, f->generation);
	ck_assert_uint_eq(fs_table_count(t_fs), 2);

	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "nope", &e),
			 -ENOENT);
	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "..", &e), -EINVAL);
	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "d/../f", &e),
			 -EINVAL);
	ck_assert_uint_eq(fs_table_count(t_fs), 2);

	/* The root's nodeid is FUSE_ROOT_ID, never its address. */
	ck_assert_uint_eq(fs_ino_of(t_fs, fs_inode_of(t_fs, FUSE_ROOT_ID)),
			  FUSE_ROOT_ID);
	fs_inode_forget(t_fs, f, 1);
	fs_inode_forget(t_fs, d, 1);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
}
END_TEST

START_TEST(test_hard_links_share_inode)
{
	struct fs_inode *a, *b;
	char pa[256], pb[256];

	t_write_file("a", "x");
	t_path(pa, sizeof(pa), "a");
	t_path(pb, sizeof(pb), "b");
	ck_assert_int_eq(link(pa, pb), 0);
	a = t_lookup(FUSE_ROOT_ID, "a");
	b = t_lookup(FUSE_ROOT_ID, "b");
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(a->nlookup, 2);
	ck_assert_uint_eq(fs_table_count(t_fs), 1);
	fs_inode_forget(t_fs, a, 2);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
}
END_TEST

START_TEST(test_forget_counts_and_resurrection)
{
	struct fs_inode *a, *again;

	t_write_file("a", "x");
	a = t_lookup(FUSE_ROOT_ID, "a");
	t_lookup(FUSE_ROOT_ID, "a");
	t_lookup(FUSE_ROOT_ID, "a");
	ck_assert_uint_eq(a->nlookup, 3);
	fs_inode_forget(t_fs, a, 2);
	ck_assert_uint_eq(fs_table_count(t_fs), 1);
	/* A lookup between partial forgets finds the same inode. */
	again = t_lookup(FUSE_ROOT_ID, "a");
	ck_assert_ptr_eq(again, a);
	ck_assert_uint_eq(a->nlookup, 2);
	/* Our own reference keeps it past the kernel's last forget. */
	fs_inode_get(t_fs, a);
	fs_inode_forget(t_fs, a, 2);
	ck_assert_uint_eq(fs_table_count(t_fs), 1);
	fs_inode_put(t_fs, a);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
	/* And a new lookup builds a new one. */
	again = t_lookup(FUSE_ROOT_ID, "a");
	ck_assert_uint_eq(again->nlookup, 1);
	fs_inode_forget(t_fs, again, 1);
	/* FORGET of the root is ignored. */
	fs_inode_forget(t_fs, fs_inode_of(t_fs, FUSE_ROOT_ID), 1000);
	ck_assert_int_ge(fs_inode_of(t_fs, FUSE_ROOT_ID)->fd, 0);
}
END_TEST

START_TEST(test_table_grows)
{
	enum { N = 3000 };
	static struct fs_inode *ino[N];
	char name[32];
	int i;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		t_write_file(name, "");
		ino[i] = t_lookup(FUSE_ROOT_ID, name);
	}
	ck_assert_uint_eq(fs_table_count(t_fs), N);
	ck_assert_uint_ge(t_fs->nbuckets, N);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ck_assert_ptr_eq(t_lookup(FUSE_ROOT_ID, name), ino[i]);
	}
	for (i = 0; i < N; i++)
		fs_inode_forget(t_fs, ino[i], 2);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
}
END_TEST

/* ---- entry.c: names are never followed ---------------------------------- */

START_TEST(test_symlinks_not_followed)
{
	struct fuse_entry_param e;
	struct fuse_file_info fi;
	struct fs_inode *l;
	char p[256], lp[256], buf[64];

	/* A symlink in the backing dir to an absolute path (could be /etc). */
	t_write_file("victim", "untouched");
	t_path(p, sizeof(p), "victim");
	t_path(lp, sizeof(lp), "l");
	ck_assert_int_eq(symlink(p, lp), 0);
	l = t_lookup(FUSE_ROOT_ID, "l");
	ck_assert(S_ISLNK(l->type));
	/* Used as a directory, it stays a symlink: ENOTDIR. */
	ck_assert_int_eq(fs_do_lookup(t_fs, fs_ino_of(t_fs, l), "x", &e),
			 -ENOTDIR);
	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, fs_ino_of(t_fs, l), "x",
				     S_IFREG | 0644, 0, NULL, &e), -ENOTDIR);
	/* Creating over it (no O_EXCL) neither follows nor truncates. */
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_WRONLY | O_CREAT | O_TRUNC;
	ck_assert_int_eq(fs_do_create(t_fs, NULL, FUSE_ROOT_ID, "l", 0644,
				      &fi, &e), -EEXIST);
	t_read_file("victim", buf, sizeof(buf));
	ck_assert_str_eq(buf, "untouched");
	fs_inode_forget(t_fs, l, 1);
}
END_TEST

START_TEST(test_create_over_fifo_does_not_block)
{
	struct fuse_entry_param e;
	struct fuse_file_info fi;
	char p[256];

	t_path(p, sizeof(p), "fifo");
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_RDONLY | O_CREAT;
	ck_assert_int_eq(fs_do_create(t_fs, NULL, FUSE_ROOT_ID, "fifo", 0644,
				      &fi, &e), -EEXIST);
	fi.flags = O_RDWR | O_CREAT | O_EXCL;
	ck_assert_int_eq(fs_do_create(t_fs, NULL, FUSE_ROOT_ID, "fifo", 0644,
				      &fi, &e), -EEXIST);
}
END_TEST

START_TEST(test_mknod_link_rename_unlink)
{
	struct fuse_entry_param e, e2;
	struct fs_inode *d, *f;
	struct stat st;
	char buf[64];
	int fd;

	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, FUSE_ROOT_ID, "d",
				     S_IFDIR | 0750, 0, NULL, &e), 0);
	d = fs_inode_of(t_fs, e.ino);
	ck_assert(S_ISDIR(e.attr.st_mode));
	ck_assert_int_eq(e.attr.st_mode & 07777, 0750);	/* umask(0) */

	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, e.ino, "f", S_IFREG | 0600,
				     0, NULL, &e2), 0);
	f = fs_inode_of(t_fs, e2.ino);
	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, e.ino, "f", S_IFREG | 0600,
				     0, NULL, &e2), -EEXIST);
	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, e.ino, "p", S_IFIFO | 0600,
				     0, NULL, &e2), 0);
	ck_assert(S_ISFIFO(e2.attr.st_mode));
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e2.ino), 1);
	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, e.ino, "s", S_IFLNK | 0777,
				     0, "f", &e2), 0);
	ck_assert(S_ISLNK(e2.attr.st_mode));
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e2.ino), 1);

	/* link: same inode, one more lookup, nlink 2 */
	ck_assert_int_eq(fs_do_link(t_fs, fs_ino_of(t_fs, f), FUSE_ROOT_ID,
				    "hard", &e2), 0);
	ck_assert_ptr_eq(fs_inode_of(t_fs, e2.ino), f);
	ck_assert_int_eq(e2.attr.st_nlink, 2);
	ck_assert_uint_eq(f->nlookup, 2);

	/* rename with RENAME_NOREPLACE and RENAME_EXCHANGE */
	t_write_file("x", "X");
	t_write_file("y", "Y");
	ck_assert_int_eq(fs_do_rename(t_fs, FUSE_ROOT_ID, "x", FUSE_ROOT_ID,
				      "y", RENAME_NOREPLACE), -EEXIST);
	ck_assert_int_eq(fs_do_rename(t_fs, FUSE_ROOT_ID, "x", FUSE_ROOT_ID,
				      "y", RENAME_EXCHANGE), 0);
	t_read_file("x", buf, sizeof(buf));
	ck_assert_str_eq(buf, "Y");
	ck_assert_int_eq(fs_do_rename(t_fs, FUSE_ROOT_ID, "x", e.ino, "moved",
				      0), 0);
	t_read_file("d/moved", buf, sizeof(buf));
	ck_assert_str_eq(buf, "Y");
	ck_assert_int_eq(fs_do_rename(t_fs, FUSE_ROOT_ID, "y", FUSE_ROOT_ID,
				      "..", 0), -EINVAL);

	/* unlink and rmdir; the unlinked inode lives on through its fd
	 * (with file handles: while the LRU keeps it, as here) */
	ck_assert_int_eq(fs_do_unlink(t_fs, e.ino, "f", false), 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, FUSE_ROOT_ID, "hard", false), 0);
	fd = fs_inode_fd_get(t_fs, f);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	fs_inode_fd_put(t_fs, f);
	ck_assert_int_eq(st.st_nlink, 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, FUSE_ROOT_ID, "d", true),
			 -ENOTEMPTY);
	ck_assert_int_eq(fs_do_unlink(t_fs, e.ino, "p", false), 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, e.ino, "s", false), 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, e.ino, "moved", false), 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, FUSE_ROOT_ID, "d", true), 0);
	ck_assert_int_eq(fs_do_unlink(t_fs, FUSE_ROOT_ID, "d", true), -ENOENT);
	fs_inode_forget(t_fs, f, 2);
	fs_inode_forget(t_fs, d, 1);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
}
END_TEST

START_TEST(test_create_as_caller)
{
	struct fs_creds cr = { .uid = 4321, .gid = 8765, .ngroups = 0 };
	struct fuse_entry_param e;
	struct stat st;
	char p[256];

	if (geteuid() != 0)
		return;		/* only root creates as somebody else */
	ck_assert_int_eq(chmod(t_dir, 0777), 0);
	ck_assert_int_eq(fs_do_mknod(t_fs, &cr, FUSE_ROOT_ID, "theirs",
				     S_IFREG | 0644, 0, NULL, &e), 0);
	ck_assert_int_eq(e.attr.st_uid, 4321);
	ck_assert_int_eq(e.attr.st_gid, 8765);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 1);
	ck_assert_int_eq(fs_do_mknod(t_fs, &cr, FUSE_ROOT_ID, "dir",
				     S_IFDIR | 0755, 0, NULL, &e), 0);
	ck_assert_int_eq(e.attr.st_uid, 4321);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 1);
	/* This thread is root again afterwards. */
	ck_assert_int_eq(fs_do_mknod(t_fs, NULL, FUSE_ROOT_ID, "mine",
				     S_IFREG | 0644, 0, NULL, &e), 0);
	ck_assert_int_eq(e.attr.st_uid, 0);
	ck_assert_int_eq(e.attr.st_gid, 0);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 1);
	/* And the caller's own permissions apply to the backing dir. */
	ck_assert_int_eq(chmod(t_dir, 0755), 0);
	ck_assert_int_eq(fs_do_mknod(t_fs, &cr, FUSE_ROOT_ID, "denied",
				     S_IFREG | 0644, 0, NULL, &e), -EACCES);
	t_path(p, sizeof(p), "denied");
	ck_assert_int_eq(stat(p, &st), -1);
}
END_TEST

/* ---- file.c: data through the cache ------------------------------------- */

static struct fs_file *t_create(const char *name, int flags,
				struct fuse_entry_param *e)
{
	struct fuse_file_info fi;

	memset(&fi, 0, sizeof(fi));
	fi.flags = flags | O_CREAT;
	ck_assert_int_eq(fs_do_create(t_fs, NULL, FUSE_ROOT_ID, name, 0644,
				      &fi, e), 0);
	ck_assert_int_eq(fi.direct_io, 0);
	ck_assert_int_eq(fi.keep_cache, 0);	/* first open */
	return fs_file_of(&fi);
}

START_TEST(test_attrs_carry_cached_size)
{
	struct fuse_entry_param e;
	struct fs_file *file;
	struct pc_mapping *m;
	struct stat st, bst;
	char p[256];

	file = t_create("f", O_RDWR, &e);
	m = fs_inode_mapping(file->inode);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(pc_write(m, "0123456789", 10, 8190, false), 10);

	/* The backing file is still empty; every reply says 8200. */
	t_path(p, sizeof(p), "f");
	ck_assert_int_eq(stat(p, &bst), 0);
	ck_assert_int_eq(bst.st_size, 0);
	ck_assert_int_eq(fs_inode_stat(t_fs, file->inode, &st), 0);
	ck_assert_int_eq(st.st_size, 8200);
	ck_assert_int_ge(st.st_blocks, (8200 + 511) / 512);
	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "f", &e), 0);
	ck_assert_int_eq(e.attr.st_size, 8200);

	/* Truncation goes through the cache and reaches the backing file. */
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = 100 }, FUSE_SET_ATTR_SIZE,
				       &st), 0);
	ck_assert_int_eq(st.st_size, 100);
	ck_assert_int_eq(pc_size(m), 100);
	ck_assert_int_eq(stat(p, &bst), 0);
	ck_assert_int_eq(bst.st_size, 100);

	fs_file_close(t_fs, file);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 2);
}
END_TEST

START_TEST(test_set_mtime_after_cached_write)
{
	struct timespec set = { 981173106, 0 };	/* 2001-02-03 04:05:06 */
	struct fuse_entry_param e;
	struct fs_file *file;
	struct stat st, bst;
	char p[256];

	file = t_create("f", O_RDWR, &e);
	ck_assert_int_eq(pc_write(fs_inode_mapping(file->inode), "data", 4,
				  0, false), 4);
	/* cp -p: write, then set the times; the later write-back must not
	 * move them, and the cached write's time must not hide them. */
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_mtim = set, .st_atim = set },
				       FUSE_SET_ATTR_MTIME |
				       FUSE_SET_ATTR_ATIME, &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, set.tv_sec);
	ck_assert_int_eq(st.st_size, 4);
	t_path(p, sizeof(p), "f");
	ck_assert_int_eq(stat(p, &bst), 0);
	ck_assert_int_eq(bst.st_size, 4);	/* written back first */
	ck_assert_int_eq(bst.st_mtim.tv_sec, set.tv_sec);
	ck_assert_int_eq(pc_mapping_dirty_bytes(fs_inode_mapping(file->inode)),
			 0);

	/* A later write moves mtime again. */
	ck_assert_int_eq(pc_write(fs_inode_mapping(file->inode), "more", 4,
				  4, false), 4);
	ck_assert_int_eq(fs_inode_stat(t_fs, file->inode, &st), 0);
	ck_assert_int_gt(st.st_mtim.tv_sec, set.tv_sec);

	fs_file_close(t_fs, file);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 1);
}
END_TEST

START_TEST(test_open_trunc_and_keep_cache)
{
	struct fuse_entry_param e;
	struct fuse_file_info fi;
	struct fs_file *file;
	struct stat st;

	t_write_file("f", "some old contents");
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_RDONLY;
	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "f", &e), 0);
	ck_assert_int_eq(fs_do_open(t_fs, e.ino, &fi), 0);
	ck_assert_int_eq(fi.keep_cache, 0);
	file = fs_file_of(&fi);
	ck_assert_int_eq(file->inode->nopen, 1);

	memset(&fi, 0, sizeof(fi));
	fi.flags = O_WRONLY | O_TRUNC | O_APPEND;
	ck_assert_int_eq(fs_do_open(t_fs, e.ino, &fi), 0);
	ck_assert_int_eq(fi.keep_cache, 1);	/* mapping already there */
	ck_assert_int_eq(fi.direct_io, 0);
	/* our descriptor never carries O_APPEND: the kernel sends offsets */
	ck_assert_int_eq(fcntl(fs_file_of(&fi)->fd, F_GETFL) & O_APPEND, 0);
	ck_assert_int_eq(fs_inode_stat(t_fs, file->inode, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(file->inode->nopen, 2);
	ck_assert(pc_mapping_writable(fs_inode_mapping(file->inode)));

	fs_file_close(t_fs, fs_file_of(&fi));
	fs_file_close(t_fs, file);
	fs_inode_forget(t_fs, fs_inode_of(t_fs, e.ino), 1);
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
}
END_TEST

/*
 * Growing a file whose size is not page-aligned guards the rest of the old
 * EOF page: the kernel may launder its copy, with stores made past the old
 * EOF, once the size has grown (C2).  Shrinking disarms the guard.
 */
START_TEST(test_eof_guard_on_extending_truncate)
{
	off_t ps = (off_t)pc_page_size();
	struct fuse_entry_param e;
	struct fs_file *file;
	struct fs_inode *inode;
	struct stat st;

	file = t_create("g", O_RDWR, &e);
	inode = file->inode;
	ck_assert_int_eq(pc_write(fs_inode_mapping(inode), "abc", 3, ps + 100,
				  false), 3);
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = 3 * ps },
				       FUSE_SET_ATTR_SIZE, &st), 0);
	ck_assert_int_eq(st.st_size, 3 * ps);
	ck_assert_int_eq(inode->guard_start, ps + 103);
	ck_assert_int_eq(inode->guard_end, 2 * ps);
	ck_assert_int_eq(inode->dropped_page, 3 * ps);	/* the new EOF page */
	ck_assert(inode->kernel_cached);

	/* within the same page: the guard ends at the new size */
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = ps + 10 },
				       FUSE_SET_ATTR_SIZE, &st), 0);
	ck_assert_int_eq(inode->guard_end, 0);		/* shrink: none */
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = ps + 20 },
				       FUSE_SET_ATTR_SIZE, &st), 0);
	ck_assert_int_eq(inode->guard_start, ps + 10);
	ck_assert_int_eq(inode->guard_end, ps + 20);
	/* page-aligned old size: nothing to guard */
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = 2 * ps },
				       FUSE_SET_ATTR_SIZE, &st), 0);
	ck_assert_int_eq(fs_do_setattr(t_fs, e.ino, &(struct stat){
					.st_size = 4 * ps },
				       FUSE_SET_ATTR_SIZE, &st), 0);
	ck_assert_int_eq(inode->guard_end, 0);

	fs_file_close(t_fs, file);
	fs_inode_forget(t_fs, inode, 1);
}
END_TEST

/*
 * A forgotten inode with dirty data stays findable: the next lookup gets the
 * same mapping (and its size), never a second one reading stale bytes.
 */
START_TEST(test_zombie_keeps_dirty_mapping)
{
	struct fuse_entry_param e;
	struct fs_file *file;
	struct fs_inode *inode;
	struct pc_mapping *m;
	char buf[64];

	/* Write-back fails until told otherwise: the data stays dirty. */
	pc_fault_set(t_cache, PC_FAULT_WRITE, EIO, UINT_MAX);
	file = t_create("z", O_RDWR, &e);
	inode = file->inode;
	m = fs_inode_mapping(inode);
	ck_assert_int_eq(pc_write(m, "dirty data", 10, 0, false), 10);
	fs_file_close(t_fs, file);
	fs_inode_forget(t_fs, inode, 1);
	ck_assert_uint_eq(fs_table_count(t_fs), 1);
	ck_assert_uint_eq(fs_table_zombies(t_fs), 1);
	ck_assert_uint_eq(fs_inode_reap(t_fs, false), 0);	/* dirty */

	ck_assert_int_eq(fs_do_lookup(t_fs, FUSE_ROOT_ID, "z", &e), 0);
	ck_assert_ptr_eq(fs_inode_of(t_fs, e.ino), inode);
	ck_assert_ptr_eq(fs_inode_mapping(inode), m);
	ck_assert_int_eq(e.attr.st_size, 10);
	ck_assert_uint_eq(fs_table_zombies(t_fs), 0);

	fs_inode_forget(t_fs, inode, 1);
	ck_assert_uint_eq(fs_table_zombies(t_fs), 1);
	pc_fault_set(t_cache, PC_FAULT_WRITE, 0, 0);
	ck_assert_int_eq(pc_write_and_wait(m, 0, -1, true), 0);
	fs_inode_reap(t_fs, false);	/* if the reaper thread did not */
	ck_assert_uint_eq(fs_table_count(t_fs), 0);
	t_read_file("z", buf, sizeof(buf));
	ck_assert_str_eq(buf, "dirty data");
}
END_TEST

/* ---- Suites ------------------------------------------------------------- */

static Suite *make_fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc;

	tc = tcase_create("pure");
	tcase_add_test(tc, test_name_check);
	tcase_add_test(tc, test_proc_path);
	tcase_add_test(tc, test_attr_merge);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup_fs, teardown_fs);
	tcase_add_test(tc, test_lookup_basic);
	tcase_add_test(tc, test_hard_links_share_inode);
	tcase_add_test(tc, test_forget_counts_and_resurrection);
	tcase_add_test(tc, test_table_grows);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("entries");
	tcase_add_checked_fixture(tc, setup_fs, teardown_fs);
	tcase_add_test(tc, test_symlinks_not_followed);
	tcase_add_test(tc, test_create_over_fifo_does_not_block);
	tcase_add_test(tc, test_mknod_link_rename_unlink);
	tcase_add_test(tc, test_create_as_caller);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup_fs_cache, teardown_fs);
	tcase_add_test(tc, test_attrs_carry_cached_size);
	tcase_add_test(tc, test_set_mtime_after_cached_write);
	tcase_add_test(tc, test_open_trunc_and_keep_cache);
	tcase_add_test(tc, test_eof_guard_on_extending_truncate);
	tcase_add_test(tc, test_zombie_keeps_dirty_mapping);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(make_fs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
