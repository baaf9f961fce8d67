// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * options.c - the command line: one fuse_opt table for our -o options, the
 * two positional arguments, then libfuse's fuse_parse_cmdline() for -f, -d,
 * -s, -h, -V.  Whatever is left (mount options such as allow_other, and
 * anything unknown) goes to fuse_session_new(), which names unknown options.
 *
 * Values are taken as strings and converted here, so that a bad one gives
 * one line naming the option, the value and the valid range.  The cache
 * defaults come from pc_config_default(); when only cache_size is given,
 * dirty_bytes and dirty_background_bytes keep their default proportions
 * (1/4, then 1/2) of it, so "-o cache_size=64M" alone is always valid.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

/* Ranges of our own (pc_config_check() has the last word on the cache). */
#define CACHE_SIZE_MIN		(1ULL << 20)
#define CACHE_SIZE_MAX		(1ULL << 40)
#define DIRTY_MIN		(64ULL << 10)
#define MS_MAX			3600000ULL
#define INTERVAL_MS_MAX		60000ULL
#define FLUSH_MS_MIN		10ULL
#define TIMEOUT_MAX		86400.0
#define THREADS_MAX		1024ULL

/* Raw option strings, filled by fuse_opt_parse() through offsetof. */
struct raw_opts {
	char *cache_size;
	char *dirty_bytes;
	char *dirty_background_bytes;
	char *dirty_expire_ms;
	char *writeback_interval_ms;
	char *mapped_flush_ms;
	char *attr_timeout;
	char *entry_timeout;
	char *max_threads;
	char *revalidate_ms;
	char *loglevel;
	int no_uring;
	int no_revalidate;

	char *pos[2];			/* BACKING_DIR, MOUNTPOINT */
	char *extra;			/* a third positional argument */
	int fsname_given;
	int subtype_given;
};

enum { KEY_FSNAME = 1, KEY_SUBTYPE };

#define RAW(t, f) { t, offsetof(struct raw_opts, f), 0 }

static const struct fuse_opt daemon_opts[] = {
	RAW("cache_size=%s", cache_size),
	RAW("dirty_bytes=%s", dirty_bytes),
	RAW("dirty_background_bytes=%s", dirty_background_bytes),
	RAW("dirty_expire_ms=%s", dirty_expire_ms),
	RAW("writeback_interval_ms=%s", writeback_interval_ms),
	RAW("mapped_flush_ms=%s", mapped_flush_ms),
	RAW("attr_timeout=%s", attr_timeout),
	RAW("entry_timeout=%s", entry_timeout),
	RAW("max_threads=%s", max_threads),
	RAW("revalidate_ms=%s", revalidate_ms),
	{ "no_revalidate", offsetof(struct raw_opts, no_revalidate), 1 },
	RAW("loglevel=%s", loglevel),
	{ "no_uring", offsetof(struct raw_opts, no_uring), 1 },
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	FUSE_OPT_END
};

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct raw_opts *raw = data;
	char **slot;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		slot = !raw->pos[0] ? &raw->pos[0] :
		       !raw->pos[1] ? &raw->pos[1] : &raw->extra;
		if (!*slot)
			*slot = strdup(arg);
		return 0;
	case KEY_FSNAME:
		raw->fsname_given = 1;
		return 1;
	case KEY_SUBTYPE:
		raw->subtype_given = 1;
		return 1;
	default:
		return 1;	/* libfuse's, or unknown: pass it on */
	}
}

static void raw_free(struct raw_opts *raw)
{
	free(raw->cache_size);
	free(raw->dirty_bytes);
	free(raw->dirty_background_bytes);
	free(raw->dirty_expire_ms);
	free(raw->writeback_interval_ms);
	free(raw->mapped_flush_ms);
	free(raw->attr_timeout);
	free(raw->entry_timeout);
	free(raw->max_threads);
	free(raw->revalidate_ms);
	free(raw->loglevel);
	free(raw->extra);
}

int daemon_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && !strcmp(end, "iB"))
		end += 2;
	else if (shift && (!strcmp(end, "B") || !strcmp(end, "b")))
		end += 1;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void daemon_format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t u = 1ULL << (10 * (i + 1));

		if (v && v % u == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / u, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

static int bad(char *err, size_t errlen, const char *name, const char *val,
	       const char *why, const char *range)
{
	snprintf(err, errlen,
		 "bad value for option '%s=%s': %s; give %s", name, val, why,
		 range);
	return -1;
}

static int conv_size(const char *name, const char *val, uint64_t min,
		     uint64_t max, size_t *out, char *err, size_t errlen)
{
	char range[128], lo[32], hi[32];
	uint64_t v;
	int r;

	daemon_format_size(min, lo, sizeof(lo));
	daemon_format_size(max, hi, sizeof(hi));
	snprintf(range, sizeof(range),
		 "bytes with an optional K, M, G or T suffix, from %s to %s",
		 lo, hi);
	r = daemon_parse_size(val, &v);
	if (r)
		return bad(err, errlen, name, val,
			   r == -ERANGE ? "too large" : "not a size", range);
	if (v < min || v > max)
		return bad(err, errlen, name, val, "out of range", range);
	*out = (size_t)v;
	return 0;
}

static int conv_uint(const char *name, const char *val, uint64_t min,
		     uint64_t max, bool zero_ok, unsigned int *out,
		     char *err, size_t errlen)
{
	char range[128];
	unsigned long long v;
	char *end;

	snprintf(range, sizeof(range), "%san integer from %" PRIu64
		 " to %" PRIu64, zero_ok ? "0 (off) or " : "", min, max);
	if (*val < '0' || *val > '9')
		return bad(err, errlen, name, val, "not a number", range);
	errno = 0;
	v = strtoull(val, &end, 10);
	if (*end)
		return bad(err, errlen, name, val, "not a number", range);
	if (errno == ERANGE || ((v < min || v > max) && !(zero_ok && !v)))
		return bad(err, errlen, name, val, "out of range", range);
	*out = (unsigned int)v;
	return 0;
}

static int conv_seconds(const char *name, const char *val, double *out,
			char *err, size_t errlen)
{
	static const char range[] = "seconds from 0 to 86400 (e.g. 0.5)";
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (end == val || *end || errno == ERANGE || !isfinite(v))
		return bad(err, errlen, name, val, "not a number", range);
	if (v < 0 || v > TIMEOUT_MAX)
		return bad(err, errlen, name, val, "out of range", range);
	*out = v;
	return 0;
}

/* Convert and check our options; 0 or -1 with @err set. */
static int raw_convert(const struct raw_opts *raw, struct daemon_config *cfg,
		       char *err, size_t errlen)
{
	struct pc_config *pc = &cfg->pc;
	const char *msg;
	int lvl;

	if (raw->cache_size &&
	    conv_size("cache_size", raw->cache_size, CACHE_SIZE_MIN,
		      CACHE_SIZE_MAX, &pc->cache_size, err, errlen))
		return -1;
	if (raw->dirty_bytes) {
		if (conv_size("dirty_bytes", raw->dirty_bytes, DIRTY_MIN,
			      pc->cache_size / 2, &pc->dirty_bytes, err,
			      errlen))
			return -1;
	} else if (raw->cache_size) {
		pc->dirty_bytes = pc->cache_size / 4;
	}
	if (raw->dirty_background_bytes) {
		if (conv_size("dirty_background_bytes",
			      raw->dirty_background_bytes, DIRTY_MIN / 2,
			      pc->dirty_bytes, &pc->dirty_background_bytes,
			      err, errlen))
			return -1;
	} else if (raw->cache_size || raw->dirty_bytes) {
		pc->dirty_background_bytes = pc->dirty_bytes / 2;
	}
	if (raw->dirty_expire_ms &&
	    conv_uint("dirty_expire_ms", raw->dirty_expire_ms, 0, MS_MAX,
		      false, &pc->dirty_expire_ms, err, errlen))
		return -1;
	if (raw->writeback_interval_ms &&
	    conv_uint("writeback_interval_ms", raw->writeback_interval_ms, 1,
		      INTERVAL_MS_MAX, false, &pc->writeback_interval_ms, err,
		      errlen))
		return -1;
	if (raw->mapped_flush_ms &&
	    conv_uint("mapped_flush_ms", raw->mapped_flush_ms, FLUSH_MS_MIN,
		      MS_MAX, true, &cfg->mapped_flush_ms, err, errlen))
		return -1;
	if (raw->attr_timeout &&
	    conv_seconds("attr_timeout", raw->attr_timeout,
			 &cfg->attr_timeout, err, errlen))
		return -1;
	if (raw->entry_timeout &&
	    conv_seconds("entry_timeout", raw->entry_timeout,
			 &cfg->entry_timeout, err, errlen))
		return -1;
	if (raw->max_threads &&
	    conv_uint("max_threads", raw->max_threads, 1, THREADS_MAX, false,
		      &cfg->max_threads, err, errlen))
		return -1;
	if (raw->revalidate_ms &&
	    conv_uint("revalidate_ms", raw->revalidate_ms, 1, INTERVAL_MS_MAX,
		      false, &cfg->revalidate_ms, err, errlen))
		return -1;
	if (raw->no_revalidate)
		cfg->no_revalidate = true;
	if (raw->loglevel) {
		lvl = daemon_parse_loglevel(raw->loglevel);
		if (lvl < 0)
			return bad(err, errlen, "loglevel", raw->loglevel,
				   "unknown level",
				   "one of error, warning, info, debug");
		cfg->loglevel = lvl;
	}
	if (raw->no_uring)
		pc->no_uring = true;

	msg = pc_config_check(pc);
	if (msg) {
		snprintf(err, errlen,
			 "bad cache configuration: %s; see 'mmapfs --help'",
			 msg);
		return -1;
	}
	return 0;
}

static const char usage_line[] =
	"usage: %s [options] BACKING_DIR MOUNTPOINT";

int daemon_parse_args(int argc, char **argv, struct daemon_config *cfg,
		      char *err, size_t errlen)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd;
	struct raw_opts raw;
	int r = -1;

	memset(cfg, 0, sizeof(*cfg));
	memset(&raw, 0, sizeof(raw));
	memset(&cmd, 0, sizeof(cmd));
	pc_config_default(&cfg->pc);
	cfg->mapped_flush_ms = DAEMON_MAPPED_FLUSH_MS;
	cfg->attr_timeout = DAEMON_TIMEOUT;
	cfg->entry_timeout = DAEMON_TIMEOUT;
	cfg->max_threads = DAEMON_MAX_THREADS;
	cfg->revalidate_ms = DAEMON_REVALIDATE_MS;
	cfg->loglevel = LOG_INFO;
	err[0] = '\0';

	/* Rebuilds args (allocated): cfg->args owns them from now on. */
	r = fuse_opt_parse(&args, &raw, daemon_opts, opt_proc);
	cfg->backing_dir = raw.pos[0];
	cfg->mountpoint = raw.pos[1];
	cfg->fsname_given = raw.fsname_given;
	if (r == -1) {
		snprintf(err, errlen,
			 "cannot parse the command line; see '%s --help'",
			 argv[0]);
		goto out;
	}
	r = -1;
	/* fuse.mmapfs in /proc/mounts, whatever the program is called */
	if (!raw.subtype_given && fuse_opt_add_arg(&args, "-osubtype=mmapfs")) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0) {
		snprintf(err, errlen,
			 "cannot parse the command line; see '%s --help'",
			 argv[0]);
		goto out;
	}
	cfg->foreground = cmd.foreground;
	cfg->debug = cmd.debug;
	cfg->singlethread = cmd.singlethread;
	cfg->show_help = cmd.show_help;
	cfg->show_version = cmd.show_version;
	if (cfg->debug)
		cfg->loglevel = LOG_DEBUG;
	if (cfg->show_help || cfg->show_version) {
		r = 0;
		goto out;
	}

	if (raw_convert(&raw, cfg, err, errlen))
		goto out;
	if (cfg->debug)
		cfg->loglevel = LOG_DEBUG;	/* -d wins over loglevel= */
	if (raw.extra) {
		snprintf(err, errlen,
			 "unexpected argument '%s': only BACKING_DIR and MOUNTPOINT are positional; %s",
			 raw.extra, "see 'mmapfs --help'");
		goto out;
	}
	if (!cfg->backing_dir || !cfg->mountpoint) {
		char usage[128];

		snprintf(usage, sizeof(usage), usage_line, argv[0]);
		snprintf(err, errlen, "missing %s; %s",
			 cfg->backing_dir ? "MOUNTPOINT" :
					    "BACKING_DIR and MOUNTPOINT",
			 usage);
		goto out;
	}
	r = 0;
out:
	cfg->args = args;
	free(cmd.mountpoint);
	raw_free(&raw);
	return r;
}

void daemon_config_free(struct daemon_config *cfg)
{
	free(cfg->backing_dir);
	free(cfg->mountpoint);
	free(cfg->backing_real);
	free(cfg->mountpoint_real);
	fuse_opt_free_args(&cfg->args);
	memset(cfg, 0, sizeof(*cfg));
}

void daemon_print_help(FILE *f, const char *prog)
{
	struct pc_config d;
	char cs[32], db[32], dbb[32];

	pc_config_default(&d);
	daemon_format_size(d.cache_size, cs, sizeof(cs));
	daemon_format_size(d.dirty_bytes, db, sizeof(db));
	daemon_format_size(d.dirty_background_bytes, dbb, sizeof(dbb));
	fprintf(f, usage_line, prog);
	fprintf(f,
"\n       %s BACKING_DIR MOUNTPOINT -o opt[,opt...]   (mount.fuse3 form)\n"
"\n"
"Serve BACKING_DIR at MOUNTPOINT.  File data goes through mmapfs's own page\n"
"cache, so mmap() behaves as on a local filesystem.  Always mounted with\n"
"-o default_permissions.\n"
"\n"
"mmapfs options (sizes take K, M, G, T suffixes):\n"
"    -o cache_size=SIZE          file data cached, at most (default %s)\n"
"    -o dirty_bytes=SIZE         writers wait above this much dirty data\n"
"                                (default %s; cache_size/4 if cache_size given)\n"
"    -o dirty_background_bytes=SIZE\n"
"                                write-back starts above this much dirty data\n"
"                                (default %s; dirty_bytes/2 if either given)\n"
"    -o dirty_expire_ms=N        write back data dirty longer than this\n"
"                                (default %u)\n"
"    -o writeback_interval_ms=N  how often the flusher looks (default %u)\n"
"    -o mapped_flush_ms=N        syncfs() the mount this often to pull pages\n"
"                                dirtied through mappings out of the kernel;\n"
"                                0 = off (default %u)\n"
"    -o attr_timeout=SECONDS     kernel attribute cache time (default %.1f)\n"
"    -o entry_timeout=SECONDS    kernel name cache time (default %.1f)\n"
"    -o max_threads=N            FUSE worker threads, at most (default %u)\n"
"    -o revalidate_ms=N          check backing files in use for changes made\n"
"                                outside the mount this often (inotify sees\n"
"                                write() and truncate at once; this catches\n"
"                                stores through outside mappings); files not\n"
"                                open through the mount and idle for 10 s\n"
"                                back off to once a second (default %u)\n"
"    -o no_revalidate            nothing but this mount changes BACKING_DIR:\n"
"                                don't watch for outside changes (they are\n"
"                                then seen only by chance)\n"
"    -o no_uring                 write back with pwritev, not io_uring\n"
"    -o loglevel=LEVEL           error, warning, info or debug (default info;\n"
"                                -d means debug); stderr with -f, else syslog\n"
"\n",
		prog, cs, db, dbb, d.dirty_expire_ms, d.writeback_interval_ms,
		DAEMON_MAPPED_FLUSH_MS, DAEMON_TIMEOUT, DAEMON_TIMEOUT,
		DAEMON_MAX_THREADS, DAEMON_REVALIDATE_MS);
}
