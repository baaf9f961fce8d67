// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_daemon.c - unit tests of daemon/ that need no mount: size and value
 * parsing, the whole command line (positional arguments, our -o options,
 * libfuse's flags, what is passed on to fuse_session_new), the messages for
 * bad values, the path checks, and /proc/self/mountinfo parsing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"

static char err[1024];

/* Parse a NULL-terminated argument list; returns daemon_parse_args(). */
static int t_parse(struct daemon_config *cfg, ...)
{
	char *argv[32];
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)"mmapfs";
	va_start(ap, cfg);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return daemon_parse_args(argc, argv, cfg, err, sizeof(err));
}

/* true if the args left for fuse_session_new contain @s somewhere */
static bool t_args_have(const struct daemon_config *cfg, const char *s)
{
	int i;

	for (i = 0; i < cfg->args.argc; i++)
		if (strstr(cfg->args.argv[i], s))
			return true;
	return false;
}

START_TEST(test_parse_size)
{
	static const struct { const char *s; uint64_t v; int r; } t[] = {
		{ "0", 0, 0 },
		{ "4096", 4096, 0 },
		{ "1K", 1024, 0 },
		{ "1k", 1024, 0 },
		{ "64M", 64ULL << 20, 0 },
		{ "2G", 2ULL << 30, 0 },
		{ "1T", 1ULL << 40, 0 },
		{ "3GiB", 3ULL << 30, 0 },
		{ "5MB", 5ULL << 20, 0 },
		{ "", 0, -EINVAL },
		{ "M", 0, -EINVAL },
		{ "-1", 0, -EINVAL },
		{ " 1", 0, -EINVAL },
		{ "1Q", 0, -EINVAL },
		{ "1.5G", 0, -EINVAL },
		{ "1Gx", 0, -EINVAL },
		{ "99999999999999999999", 0, -ERANGE },
		{ "17179869184G", 0, -ERANGE },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;

		ck_assert_msg(daemon_parse_size(t[i].s, &v) == t[i].r,
			      "'%s'", t[i].s);
		if (!t[i].r)
			ck_assert_msg(v == t[i].v, "'%s' -> %llu", t[i].s,
				      (unsigned long long)v);
	}
}
END_TEST

START_TEST(test_format_size)
{
	char b[32];

	daemon_format_size(1ULL << 30, b, sizeof(b));
	ck_assert_str_eq(b, "1G");
	daemon_format_size(256ULL << 20, b, sizeof(b));
	ck_assert_str_eq(b, "256M");
	daemon_format_size(1536ULL << 10, b, sizeof(b));
	ck_assert_str_eq(b, "1536K");
	daemon_format_size(1000, b, sizeof(b));
	ck_assert_str_eq(b, "1000");
	daemon_format_size(0, b, sizeof(b));
	ck_assert_str_eq(b, "0");
}
END_TEST

START_TEST(test_loglevel)
{
	ck_assert_int_eq(daemon_parse_loglevel("error"), LOG_ERR);
	ck_assert_int_eq(daemon_parse_loglevel("warning"), LOG_WARNING);
	ck_assert_int_eq(daemon_parse_loglevel("info"), LOG_INFO);
	ck_assert_int_eq(daemon_parse_loglevel("debug"), LOG_DEBUG);
	ck_assert_int_eq(daemon_parse_loglevel("loud"), -1);
	ck_assert_int_eq(daemon_parse_loglevel(""), -1);
}
END_TEST

START_TEST(test_args_defaults)
{
	struct daemon_config cfg;
	struct pc_config d;

	pc_config_default(&d);
	ck_assert_int_eq(t_parse(&cfg, "/b", "/m", NULL), 0);
	ck_assert_str_eq(cfg.backing_dir, "/b");
	ck_assert_str_eq(cfg.mountpoint, "/m");
	ck_assert_uint_eq(cfg.pc.cache_size, d.cache_size);
	ck_assert_uint_eq(cfg.pc.dirty_bytes, d.dirty_bytes);
	ck_assert_uint_eq(cfg.mapped_flush_ms, DAEMON_MAPPED_FLUSH_MS);
	ck_assert_uint_eq(cfg.max_threads, DAEMON_MAX_THREADS);
	ck_assert(cfg.attr_timeout == DAEMON_TIMEOUT);
	ck_assert(cfg.entry_timeout == DAEMON_TIMEOUT);
	ck_assert_int_eq(cfg.loglevel, LOG_INFO);
	ck_assert(!cfg.foreground && !cfg.debug && !cfg.singlethread);
	ck_assert(!cfg.pc.no_uring);
	daemon_config_free(&cfg);
}
END_TEST

START_TEST(test_args_options)
{
	struct daemon_config cfg;

	/* the mount.fuse3 form: options after the positional arguments */
	ck_assert_int_eq(t_parse(&cfg, "/b", "/m",
				 "-o", "cache_size=64M,dirty_expire_ms=250",
				 "-o", "no_uring,allow_other,attr_timeout=0.5",
				 "-o", "entry_timeout=0,max_threads=4",
				 "-o", "mapped_flush_ms=0,loglevel=warning",
				 "-f", NULL), 0);
	ck_assert_uint_eq(cfg.pc.cache_size, 64 << 20);
	/* dirty limits keep their proportions of a given cache_size */
	ck_assert_uint_eq(cfg.pc.dirty_bytes, 16 << 20);
	ck_assert_uint_eq(cfg.pc.dirty_background_bytes, 8 << 20);
	ck_assert_uint_eq(cfg.pc.dirty_expire_ms, 250);
	ck_assert(cfg.pc.no_uring);
	ck_assert(cfg.attr_timeout == 0.5);
	ck_assert(cfg.entry_timeout == 0.0);
	ck_assert_uint_eq(cfg.max_threads, 4);
	ck_assert_uint_eq(cfg.mapped_flush_ms, 0);
	ck_assert_int_eq(cfg.loglevel, LOG_WARNING);
	ck_assert(cfg.foreground);
	/* ours are consumed, the mount options are passed on */
	ck_assert(t_args_have(&cfg, "allow_other"));
	ck_assert(!t_args_have(&cfg, "cache_size"));
	ck_assert(!t_args_have(&cfg, "no_uring"));
	ck_assert(!t_args_have(&cfg, "max_threads"));
	ck_assert(!t_args_have(&cfg, "/b"));
	daemon_config_free(&cfg);

	ck_assert_int_eq(t_parse(&cfg, "-o", "dirty_bytes=8M", "-d", "-s",
				 "/b", "/m", NULL), 0);
	ck_assert_uint_eq(cfg.pc.dirty_bytes, 8 << 20);
	ck_assert_uint_eq(cfg.pc.dirty_background_bytes, 4 << 20);
	ck_assert(cfg.debug && cfg.foreground && cfg.singlethread);
	ck_assert_int_eq(cfg.loglevel, LOG_DEBUG);
	daemon_config_free(&cfg);

	/* an unknown option is left for fuse_session_new to name */
	ck_assert_int_eq(t_parse(&cfg, "/b", "/m", "-o", "bogus", NULL), 0);
	ck_assert(t_args_have(&cfg, "bogus"));
	daemon_config_free(&cfg);

	ck_assert_int_eq(t_parse(&cfg, "/b", "/m", "-o", "fsname=x", NULL), 0);
	ck_assert(cfg.fsname_given);
	ck_assert(t_args_have(&cfg, "fsname=x"));
	ck_assert(t_args_have(&cfg, "subtype=mmapfs"));
	daemon_config_free(&cfg);
	ck_assert_int_eq(t_parse(&cfg, "/b", "/m", "-o", "subtype=other",
				 NULL), 0);
	ck_assert(t_args_have(&cfg, "subtype=other"));
	ck_assert(!t_args_have(&cfg, "subtype=mmapfs"));
	daemon_config_free(&cfg);
}
END_TEST

/* Each bad value: -1, and one line naming option=value and the range. */
START_TEST(test_args_bad_values)
{
	static const struct { const char *opt, *want; } t[] = {
		{ "cache_size=12Q", "'cache_size=12Q': not a size" },
		{ "cache_size=100", "'cache_size=100': out of range" },
		{ "cache_size=2T", "from 1M to 1T" },
		{ "cache_size=64M,dirty_bytes=48M",
		  "'dirty_bytes=48M': out of range; give bytes with an optional K, M, G or T suffix, from 64K to 32M" },
		{ "dirty_bytes=8M,dirty_background_bytes=9M",
		  "'dirty_background_bytes=9M': out of range" },
		{ "dirty_expire_ms=abc", "'dirty_expire_ms=abc': not a number" },
		{ "dirty_expire_ms=3600001", "from 0 to 3600000" },
		{ "writeback_interval_ms=0", "from 1 to 60000" },
		{ "mapped_flush_ms=5", "0 (off) or an integer from 10 to" },
		{ "attr_timeout=-1", "'attr_timeout=-1': out of range" },
		{ "entry_timeout=soon", "'entry_timeout=soon': not a number" },
		{ "max_threads=0", "from 1 to 1024" },
		{ "max_threads=1x", "not a number" },
		{ "loglevel=loud", "one of error, warning, info, debug" },
	};
	struct daemon_config cfg;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(t_parse(&cfg, "/b", "/m", "-o", t[i].opt,
					 NULL), -1);
		ck_assert_msg(strstr(err, t[i].want), "%s: got \"%s\"",
			      t[i].opt, err);
		ck_assert_msg(!strchr(err, '\n'), "one line: %s", err);
		daemon_config_free(&cfg);
	}
}
END_TEST

START_TEST(test_args_positional)
{
	struct daemon_config cfg;

	ck_assert_int_eq(t_parse(&cfg, NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing BACKING_DIR and"));
	daemon_config_free(&cfg);
	ck_assert_int_eq(t_parse(&cfg, "/b", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing MOUNTPOINT"));
	daemon_config_free(&cfg);
	ck_assert_int_eq(t_parse(&cfg, "/b", "/m", "/x", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "unexpected argument '/x'"));
	daemon_config_free(&cfg);
	/* help and version need no positional arguments */
	ck_assert_int_eq(t_parse(&cfg, "--help", NULL), 0);
	ck_assert(cfg.show_help);
	daemon_config_free(&cfg);
	ck_assert_int_eq(t_parse(&cfg, "-V", NULL), 0);
	ck_assert(cfg.show_version);
	daemon_config_free(&cfg);
}
END_TEST

START_TEST(test_help_lists_defaults)
{
	struct pc_config d;
	char *buf = NULL, want[64];
	size_t len = 0;
	FILE *f;

	pc_config_default(&d);
	f = open_memstream(&buf, &len);
	daemon_print_help(f, "mmapfs");
	fclose(f);
	daemon_format_size(d.cache_size, want, sizeof(want));
	ck_assert_ptr_nonnull(strstr(buf, "cache_size=SIZE"));
	ck_assert_ptr_nonnull(strstr(buf, want));
	ck_assert_ptr_nonnull(strstr(buf, "mapped_flush_ms"));
	ck_assert_ptr_nonnull(strstr(buf, "no_uring"));
	ck_assert_ptr_nonnull(strstr(buf, "BACKING_DIR MOUNTPOINT"));
	free(buf);
}
END_TEST

START_TEST(test_path_inside)
{
	ck_assert(daemon_path_inside("/a/b", "/a"));
	ck_assert(daemon_path_inside("/a", "/a"));
	ck_assert(daemon_path_inside("/a/b/c", "/a/b"));
	ck_assert(!daemon_path_inside("/ab", "/a"));
	ck_assert(!daemon_path_inside("/a", "/a/b"));
	ck_assert(daemon_path_inside("/x", "/"));
	ck_assert(!daemon_path_inside("/b", "/a"));
}
END_TEST

static const char t_mountinfo[] =
	"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	"40 22 0:35 / /mnt/with\\040space rw shared:2 - fuse.mmapfs /b rw,user_id=0\n"
	"41 22 0:36 / /mnt/plain rw - tmpfs none rw\n"
	"42 22 0:37 / /mnt/dead rw - fuse /x rw\n"
	"43 22 0:38 / /mnt/covered rw - fuse.sshfs h: rw\n"
	"44 43 0:39 / /mnt/covered rw - tmpfs none rw\n"
	"45 22 0:40 / /mnt/blk rw master:3 - fuseblk /dev/sdb1 rw\n";

static int t_find(const char *path, char *type, size_t len)
{
	FILE *f = fmemopen((void *)t_mountinfo, sizeof(t_mountinfo) - 1, "r");
	int r;

	ck_assert_ptr_nonnull(f);
	r = daemon_mountinfo_find(f, path, type, len, NULL);
	fclose(f);
	return r;
}

START_TEST(test_mountinfo)
{
	char s[64], type[32];

	strcpy(s, "a\\040b\\011c\\134d\\");
	daemon_mountinfo_unescape(s);
	ck_assert_str_eq(s, "a b\tc\\d\\");

	ck_assert_int_eq(t_find("/mnt/with space", type, sizeof(type)), 1);
	ck_assert_str_eq(type, "fuse.mmapfs");
	ck_assert_int_eq(t_find("/mnt/plain", type, sizeof(type)), 0);
	ck_assert_int_eq(t_find("/mnt/dead", type, sizeof(type)), 1);
	ck_assert_str_eq(type, "fuse");
	/* a tmpfs mounted on top of a FUSE mount hides it */
	ck_assert_int_eq(t_find("/mnt/covered", type, sizeof(type)), 0);
	ck_assert_int_eq(t_find("/mnt/blk", type, sizeof(type)), 1);
	ck_assert_int_eq(t_find("/mnt", type, sizeof(type)), 0);
}
END_TEST

/* daemon_check_paths(@back, @mnt) must fail with @want in its message. */
static void t_check(const char *back, const char *mnt, const char *want)
{
	struct daemon_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backing_dir = strdup(back);
	cfg.mountpoint = strdup(mnt);
	ck_assert_int_eq(daemon_check_paths(&cfg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want), "%s", err);
	ck_assert_msg(!strchr(err, '\n'), "one line: %s", err);
	daemon_config_free(&cfg);
}

START_TEST(test_check_paths)
{
	char dir[64], b[128], m[128], file[128], inside[128];
	struct daemon_config cfg;

	strcpy(dir, "/tmp/check_daemon.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(m, sizeof(m), "%s/m", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(inside, sizeof(inside), "%s/b/in", dir);
	ck_assert_int_eq(mkdir(b, 0755), 0);
	ck_assert_int_eq(mkdir(m, 0755), 0);
	ck_assert_int_eq(mkdir(inside, 0755), 0);
	close(open(file, O_CREAT | O_WRONLY, 0644));

	t_check("/nonexistent/x", m,
		"backing directory '/nonexistent/x': No such file or directory");
	t_check(file, m, "Not a directory; give a directory, not a file");
	t_check(b, "/nonexistent/y",
		"mount point '/nonexistent/y': No such file or directory");
	t_check(b, file, "Not a directory; mount on a directory");
	t_check(b, b, "is the backing directory itself");
	t_check(b, inside, "is inside the backing directory");

	memset(&cfg, 0, sizeof(cfg));
	cfg.backing_dir = strdup(b);
	cfg.mountpoint = strdup(m);
	if (access("/dev/fuse", F_OK) == 0) {
		ck_assert_msg(daemon_check_paths(&cfg, err, sizeof(err)) == 0,
			      "%s", err);
		ck_assert_str_eq(cfg.backing_real, b);
		ck_assert_str_eq(cfg.mountpoint_real, m);
	}
	daemon_config_free(&cfg);
	rmdir(inside);
	rmdir(b);
	rmdir(m);
	unlink(file);
	rmdir(dir);
}
END_TEST

START_TEST(test_optdocs_match_parser)
{
	const struct daemon_optdoc *o;
	struct daemon_config cfg;
	char arg[128], range[128], def[32];
	int n = 0;

	/* every documented option is accepted with its documented default */
	for (o = daemon_optdocs; o->name; o++, n++) {
		daemon_optdoc_range(o, range, sizeof(range));
		ck_assert_msg(range[0], "%s has no range", o->name);
		if (o->kind == DAEMON_OPT_FLAG) {
			snprintf(arg, sizeof(arg), "%s", o->name);
		} else {
			daemon_optdoc_default(o, def, sizeof(def));
			snprintf(arg, sizeof(arg), "%s=%s", o->name, def);
		}
		ck_assert_msg(t_parse(&cfg, "-o", arg, "/b", "/m", NULL) == 0,
			      "-o %s refused", arg);
		daemon_config_free(&cfg);
	}
	ck_assert_int_ge(n, 10);
}
END_TEST

START_TEST(test_stats_roundtrip)
{
	struct pc_stats s, back;
	char buf[2048], lines[8][160];
	int n;

	memset(&s, 0, sizeof(s));
	s.cache_size = 64ULL << 20;
	s.cached_bytes = 8ULL << 20;
	s.hits = 3;
	s.misses = 1;
	s.bytes_written = 12345678901ULL;
	s.mappings = 7;
	n = daemon_stats_encode(&s, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "bytes_written 12345678901\n"));
	ck_assert_int_eq(daemon_stats_decode(buf, &back), 0);
	ck_assert_mem_eq(&s, &back, sizeof(s));
	/* unknown names are skipped, missing ones refused */
	strcat(buf, "newer_counter 5\n");
	ck_assert_int_eq(daemon_stats_decode(buf, &back), 0);
	ck_assert_int_eq(daemon_stats_decode("hits 1\n", &back), -EINVAL);
	ck_assert_int_eq(daemon_stats_encode(&s, buf, 16), -ENOSPC);

	n = daemon_stats_lines(&s, NULL, 0, lines, 8);
	ck_assert_int_eq(n, 6);
	ck_assert_ptr_nonnull(strstr(lines[0], "8.0MiB used of 64.0MiB (12.5%)"));
	ck_assert_ptr_nonnull(strstr(lines[1], "hit ratio 75.0%"));
	back = s;
	back.bytes_written -= 2ULL << 20;
	n = daemon_stats_lines(&s, &back, 2.0, lines, 8);
	ck_assert_int_eq(n, 7);
	ck_assert_ptr_nonnull(strstr(lines[6], "write-back 1.0MiB/s"));
}
END_TEST

START_TEST(test_mountinfo_dev)
{
	FILE *f = fmemopen((void *)t_mountinfo, sizeof(t_mountinfo) - 1, "r");
	unsigned int maj = 99, min = 99;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(daemon_mountinfo_dev(f, "/mnt/with space", &maj,
					      &min), 1);
	ck_assert_uint_eq(maj, 0);
	ck_assert_uint_eq(min, 35);
	rewind(f);
	/* the topmost of two mounts at one point */
	ck_assert_int_eq(daemon_mountinfo_dev(f, "/mnt/covered", &maj, &min),
			 1);
	ck_assert_uint_eq(min, 39);
	rewind(f);
	ck_assert_int_eq(daemon_mountinfo_dev(f, "/nowhere", &maj, &min), 0);
	fclose(f);
}
END_TEST

static Suite *make_daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_loglevel);
	suite_add_tcase(s, tc);

	tc = tcase_create("command line");
	tcase_add_test(tc, test_args_defaults);
	tcase_add_test(tc, test_args_options);
	tcase_add_test(tc, test_args_bad_values);
	tcase_add_test(tc, test_args_positional);
	tcase_add_test(tc, test_help_lists_defaults);
	tcase_add_test(tc, test_optdocs_match_parser);
	suite_add_tcase(s, tc);

	tc = tcase_create("statistics");
	tcase_add_test(tc, test_stats_roundtrip);
	tcase_add_test(tc, test_mountinfo_dev);
	suite_add_tcase(s, tc);

	tc = tcase_create("checks");
	tcase_add_test(tc, test_path_inside);
	tcase_add_test(tc, test_mountinfo);
	tcase_add_test(tc, test_check_paths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(make_daemon_suite());
	int failed;

	/* fuse_parse_cmdline prints its help to stdout: keep logs quiet */
	fuse_set_log_func(daemon_fuse_log);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
