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
#define FDS_MIN			0ULL	/* 0: scaled from the limit */
#define FDS_MAX			(1ULL << 30)

/*
 * The one description of every -o option.  --help prints it
 * (daemon_print_help), tests/unit/man_options prints it as roff for the
 * OPTIONS section of docs/mmapfs.8 (tests/unit/man_sync.sh fails when the
 * man page differs), and the conversions below take their ranges from it,
 * so the documented range is the enforced one.
 */
const struct daemon_optdoc daemon_optdocs[] = {
	{ "cache_size", "SIZE", DAEMON_OPT_SIZE, CACHE_SIZE_MIN, CACHE_SIZE_MAX,
	  "File data cached in the daemon, at most: the daemon's memory is this plus a few MiB." },
	{ "dirty_bytes", "SIZE", DAEMON_OPT_SIZE, DIRTY_MIN, 0,
	  "Writers wait while more than this much cached data is dirty (not yet written to the backing files); at most cache_size/2. Default cache_size/4 when cache_size is given." },
	{ "dirty_background_bytes", "SIZE", DAEMON_OPT_SIZE, DIRTY_MIN / 2, 0,
	  "Background write-back starts above this much dirty data; at most dirty_bytes. Default dirty_bytes/2 when cache_size or dirty_bytes is given." },
	{ "dirty_expire_ms", "N", DAEMON_OPT_UINT, 0, MS_MAX,
	  "Write back data that has been dirty longer than this many milliseconds." },
	{ "writeback_interval_ms", "N", DAEMON_OPT_UINT, 1, INTERVAL_MS_MAX,
	  "How often, in milliseconds, the flusher looks for expired dirty data." },
	{ "mapped_flush_ms", "N", DAEMON_OPT_UINT_OFF, FLUSH_MS_MIN, MS_MAX,
	  "syncfs() the mount this often (milliseconds) to pull pages dirtied through shared mappings out of the kernel, which would otherwise keep them up to 30 s." },
	{ "attr_timeout", "SECONDS", DAEMON_OPT_SECONDS, 0, (uint64_t)TIMEOUT_MAX,
	  "How long the kernel may cache file attributes." },
	{ "entry_timeout", "SECONDS", DAEMON_OPT_SECONDS, 0, (uint64_t)TIMEOUT_MAX,
	  "How long the kernel may cache names." },
	{ "max_threads", "N", DAEMON_OPT_UINT, 1, THREADS_MAX,
	  "FUSE worker threads, at most." },
	{ "revalidate_ms", "N", DAEMON_OPT_UINT, 1, INTERVAL_MS_MAX,
	  "Check backing files in use for changes made outside the mount this often, in milliseconds (inotify sees write() and truncation at once; this catches stores through outside mappings). Files not open through the mount and idle for 10 s are checked once a second." },
	{ "max_path_fds", "N", DAEMON_OPT_UINT, FDS_MIN, FDS_MAX,
	  "O_PATH descriptors of files and directories the kernel knows kept open, at most; the others are reopened by file handle when used (needs root and a backing filesystem with file handles; otherwise each known inode holds one). 0 picks the open-file limit / 8, never below 64." },
	{ "max_file_fds", "N", DAEMON_OPT_UINT, FDS_MIN, FDS_MAX,
	  "Descriptors of cached files no I/O is using kept open, at most; the others are closed and reopened by file handle when needed (as for max_path_fds). Open files hold one more each. 0 picks the open-file limit / 4, never below 64." },
	{ "lock_coherence", NULL, DAEMON_OPT_FLAG, 0, 0,
	  "For several mounts of one backing directory (hosts sharing it): releasing a write lock (fcntl or flock) first writes everything this mount changed to the backing files, and taking a lock first drops what others changed, so data written under a lock is seen by the next holder on another mount. Costs about 0.3 ms per write-lock release; SQLite in WAL mode releases one per query. Locks are forwarded to the backing files either way." },
	{ "local_locks", NULL, DAEMON_OPT_FLAG, 0, 0,
	  "Keep fcntl and flock locks in the kernel of this host instead of forwarding them to the backing files: no round trip per lock (SQLite takes several per query), but they then exclude only processes using this mount, not other mounts or programs working on BACKING_DIR directly." },
	{ "no_revalidate", NULL, DAEMON_OPT_FLAG, 0, 0,
	  "Promise that nothing but this mount changes BACKING_DIR: outside changes are not watched for (they are then seen only by chance)." },
	{ "no_uring", NULL, DAEMON_OPT_FLAG, 0, 0,
	  "Write back with pwritev() instead of io_uring (also chosen by itself when io_uring is unavailable)." },
	{ "drop_backing_cache", NULL, DAEMON_OPT_FLAG, 0, 0,
	  "Once written data is durable, drop it from the backing filesystem's page cache (posix_fadvise DONTNEED): the daemon's cache holds it, so it is not cached a third time. Saves memory; a page evicted from the daemon's cache is then read from the device again." },
	{ "loglevel", "LEVEL", DAEMON_OPT_LEVEL, 0, 0,
	  "Least severe message logged: error, warning, info or debug (-d means debug). Messages go to standard error with -f, to syslog (facility daemon) otherwise." },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const struct daemon_optdoc *optdoc(const char *name)
{
	const struct daemon_optdoc *o;

	for (o = daemon_optdocs; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	abort();		/* a name below is not in the table */
}

void daemon_optdoc_default(const struct daemon_optdoc *o, char *buf,
			   size_t len)
{
	struct pc_config d;

	pc_config_default(&d);
	if (!strcmp(o->name, "cache_size"))
		daemon_format_size(d.cache_size, buf, len);
	else if (!strcmp(o->name, "dirty_bytes"))
		daemon_format_size(d.dirty_bytes, buf, len);
	else if (!strcmp(o->name, "dirty_background_bytes"))
		daemon_format_size(d.dirty_background_bytes, buf, len);
	else if (!strcmp(o->name, "dirty_expire_ms"))
		snprintf(buf, len, "%u", d.dirty_expire_ms);
	else if (!strcmp(o->name, "writeback_interval_ms"))
		snprintf(buf, len, "%u", d.writeback_interval_ms);
	else if (!strcmp(o->name, "mapped_flush_ms"))
		snprintf(buf, len, "%u", DAEMON_MAPPED_FLUSH_MS);
	else if (!strcmp(o->name, "attr_timeout") ||
		 !strcmp(o->name, "entry_timeout"))
		snprintf(buf, len, "%.1f", DAEMON_TIMEOUT);
	else if (!strcmp(o->name, "max_threads"))
		snprintf(buf, len, "%u", DAEMON_MAX_THREADS);
	else if (!strcmp(o->name, "revalidate_ms"))
		snprintf(buf, len, "%u", DAEMON_REVALIDATE_MS);
	else if (!strcmp(o->name, "max_path_fds") ||
		 !strcmp(o->name, "max_file_fds"))
		snprintf(buf, len, "0");
	else if (!strcmp(o->name, "loglevel"))
		snprintf(buf, len, "info");
	else
		snprintf(buf, len, "off");
}

void daemon_optdoc_range(const struct daemon_optdoc *o, char *buf,
			 size_t len)
{
	char lo[32], hi[32];

	switch (o->kind) {
	case DAEMON_OPT_SIZE:
		daemon_format_size(o->min, lo, sizeof(lo));
		if (o->max)
			daemon_format_size(o->max, hi, sizeof(hi));
		else
			snprintf(hi, sizeof(hi), "%s",
				 !strcmp(o->name, "dirty_bytes") ?
				 "cache_size/2" : "dirty_bytes");
		snprintf(buf, len,
			 "bytes with an optional K, M, G or T suffix, from %s to %s",
			 lo, hi);
		break;
	case DAEMON_OPT_UINT:
	case DAEMON_OPT_UINT_OFF:
		snprintf(buf, len, "%san integer from %" PRIu64 " to %" PRIu64,
			 o->kind == DAEMON_OPT_UINT_OFF ? "0 (off) or " : "",
			 o->min, o->max);
		break;
	case DAEMON_OPT_SECONDS:
		snprintf(buf, len, "seconds from %" PRIu64 " to %" PRIu64
			 " (e.g. 0.5)", o->min, o->max);
		break;
	case DAEMON_OPT_LEVEL:
		snprintf(buf, len, "one of error, warning, info, debug");
		break;
	case DAEMON_OPT_FLAG:
		snprintf(buf, len, "a flag without a value");
		break;
	}
}

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
	char *loglevel;
	char *revalidate_ms;
	char *max_path_fds;
	char *max_file_fds;
	int no_uring;
	int no_revalidate;
	int lock_coherence;
	int local_locks;
	int drop_backing_cache;

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
	RAW("loglevel=%s", loglevel),
	RAW("revalidate_ms=%s", revalidate_ms),
	RAW("max_path_fds=%s", max_path_fds),
	RAW("max_file_fds=%s", max_file_fds),
	{ "no_revalidate", offsetof(struct raw_opts, no_revalidate), 1 },
	{ "lock_coherence", offsetof(struct raw_opts, lock_coherence), 1 },
	{ "local_locks", offsetof(struct raw_opts, local_locks), 1 },
	{ "no_uring", offsetof(struct raw_opts, no_uring), 1 },
	{ "drop_backing_cache", offsetof(struct raw_opts, drop_backing_cache), 1 },
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
	free(raw->loglevel);
	free(raw->revalidate_ms);
	free(raw->max_path_fds);
	free(raw->max_file_fds);
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

static int conv_uint(const char *name, const char *val, unsigned int *out,
		     char *err, size_t errlen)
{
	const struct daemon_optdoc *o = optdoc(name);
	bool zero_ok = o->kind == DAEMON_OPT_UINT_OFF;
	unsigned long long v;
	char range[128];
	char *end;

	daemon_optdoc_range(o, range, sizeof(range));
	if (*val < '0' || *val > '9')
		return bad(err, errlen, name, val, "not a number", range);
	errno = 0;
	v = strtoull(val, &end, 10);
	if (*end)
		return bad(err, errlen, name, val, "not a number", range);
	if (errno == ERANGE ||
	    ((v < o->min || v > o->max) && !(zero_ok && !v)))
		return bad(err, errlen, name, val, "out of range", range);
	*out = (unsigned int)v;
	return 0;
}

static int conv_seconds(const char *name, const char *val, double *out,
			char *err, size_t errlen)
{
	const struct daemon_optdoc *o = optdoc(name);
	char range[128];
	char *end;
	double v;

	daemon_optdoc_range(o, range, sizeof(range));
	errno = 0;
	v = strtod(val, &end);
	if (end == val || *end || errno == ERANGE || !isfinite(v))
		return bad(err, errlen, name, val, "not a number", range);
	if (v < (double)o->min || v > (double)o->max)
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
	    conv_size("cache_size", raw->cache_size,
		      optdoc("cache_size")->min, optdoc("cache_size")->max,
		      &pc->cache_size, err, errlen))
		return -1;
	if (raw->dirty_bytes) {
		if (conv_size("dirty_bytes", raw->dirty_bytes,
			      optdoc("dirty_bytes")->min, pc->cache_size / 2, &pc->dirty_bytes, err,
			      errlen))
			return -1;
	} else if (raw->cache_size) {
		pc->dirty_bytes = pc->cache_size / 4;
	}
	if (raw->dirty_background_bytes) {
		if (conv_size("dirty_background_bytes",
			      raw->dirty_background_bytes,
			      optdoc("dirty_background_bytes")->min,
			      pc->dirty_bytes, &pc->dirty_background_bytes,
			      err, errlen))
			return -1;
	} else if (raw->cache_size || raw->dirty_bytes) {
		pc->dirty_background_bytes = pc->dirty_bytes / 2;
	}
	if (raw->dirty_expire_ms &&
	    conv_uint("dirty_expire_ms", raw->dirty_expire_ms,
		      &pc->dirty_expire_ms, err, errlen))
		return -1;
	if (raw->writeback_interval_ms &&
	    conv_uint("writeback_interval_ms", raw->writeback_interval_ms,
		      &pc->writeback_interval_ms, err, errlen))
		return -1;
	if (raw->mapped_flush_ms &&
	    conv_uint("mapped_flush_ms", raw->mapped_flush_ms,
		      &cfg->mapped_flush_ms, err, errlen))
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
	    conv_uint("max_threads", raw->max_threads, &cfg->max_threads,
		      err, errlen))
		return -1;
	if (raw->loglevel) {
		lvl = daemon_parse_loglevel(raw->loglevel);
		if (lvl < 0)
			return bad(err, errlen, "loglevel", raw->loglevel,
				   "unknown level",
				   "one of error, warning, info, debug");
		cfg->loglevel = lvl;
	}
	if (raw->revalidate_ms &&
	    conv_uint("revalidate_ms", raw->revalidate_ms,
		      &cfg->revalidate_ms, err, errlen))
		return -1;
	if (raw->max_path_fds &&
	    conv_uint("max_path_fds", raw->max_path_fds, &cfg->max_path_fds,
		      err, errlen))
		return -1;
	if (raw->max_file_fds &&
	    conv_uint("max_file_fds", raw->max_file_fds, &pc->max_fds,
		      err, errlen))
		return -1;
	if (raw->no_revalidate)
		cfg->no_revalidate = true;
	if (raw->lock_coherence)
		cfg->lock_coherence = true;
	if (raw->local_locks)
		cfg->local_locks = true;
	if (cfg->local_locks && cfg->lock_coherence) {
		snprintf(err, errlen,
			 "options 'lock_coherence' and 'local_locks' exclude each other: coherence through locks needs the locks forwarded to the backing files; drop one of them");
		return -1;
	}
	if (raw->no_uring)
		pc->no_uring = true;
	if (raw->drop_backing_cache)
		pc->drop_backing_cache = true;

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

/* Print @text in the column @col..78; the cursor is at column @at. */
static void print_wrapped(FILE *f, const char *text, int col, int at)
{
	const int width = 79 - col;
	const char *p = text;

	if (at > col) {
		fputc('\n', f);
		at = 0;
	}
	fprintf(f, "%*s", col - at, "");
	while (*p) {
		const char *brk = NULL, *q;

		if ((int)strlen(p) <= width) {
			fprintf(f, "%s\n", p);
			return;
		}
		for (q = p; *q && (q - p <= width || !brk); q++)
			if (*q == ' ')
				brk = q;
		if (!brk)
			brk = p + strlen(p);
		fprintf(f, "%.*s\n", (int)(brk - p), p);
		p = *brk ? brk + 1 : brk;
		if (*p)
			fprintf(f, "%*s", col, "");
	}
}

void daemon_print_help(FILE *f, const char *prog)
{
	const struct daemon_optdoc *o;
	char def[32], range[128], text[1024];
	int n;

	fprintf(f, usage_line, prog);
	fprintf(f,
"\n       %s BACKING_DIR MOUNTPOINT -o opt[,opt...]   (mount.fuse3 form)\n"
"\n"
"Serve BACKING_DIR at MOUNTPOINT.  File data goes through mmapfs's own page\n"
"cache, so mmap() behaves as on a local filesystem.  Always mounted with\n"
"-o default_permissions.  Runs in the background unless -f is given.\n"
"\n"
"mmapfs options (sizes take K, M, G, T suffixes):\n", prog);
	for (o = daemon_optdocs; o->name; o++) {
		daemon_optdoc_default(o, def, sizeof(def));
		daemon_optdoc_range(o, range, sizeof(range));
		n = fprintf(f, "    -o %s%s%s", o->name, o->arg ? "=" : "",
			    o->arg ? o->arg : "");
		if (o->kind == DAEMON_OPT_FLAG)
			snprintf(text, sizeof(text), "%s", o->help);
		else
			snprintf(text, sizeof(text), "%s (default %s; %s)",
				 o->help, def, range);
		print_wrapped(f, text, 32, n);
	}
	fprintf(f,
"\n"
"Signals: SIGTERM, SIGINT, SIGHUP write back and unmount; SIGUSR1 logs the\n"
"cache counters.  'mmapfs-stat MOUNTPOINT' shows them live.\n"
"See mmapfs(8) for the semantics, files and exit status.\n\n");
}

/* The roff of one option, for docs/mmapfs.8 (tests/unit/man_options). */
void daemon_print_man_options(FILE *f)
{
	const struct daemon_optdoc *o;
	char def[32], range[128];
	const char *p;

	for (o = daemon_optdocs; o->name; o++) {
		daemon_optdoc_default(o, def, sizeof(def));
		daemon_optdoc_range(o, range, sizeof(range));
		fprintf(f, ".TP\n.B \\-o %s%s%s\n", o->name,
			o->arg ? "=" : "", o->arg ? o->arg : "");
		for (p = o->help; *p; p++) {
			if (*p == '-' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('\n', f);
		if (o->kind != DAEMON_OPT_FLAG)
			fprintf(f, "Default: %s.  Valid: %s.\n", def, range);
	}
}
