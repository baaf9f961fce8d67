/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - the mmapfs program: command line, checks, logging, threads.
 *
 *   mmapfs [options] BACKING_DIR MOUNTPOINT
 *   mmapfs BACKING_DIR MOUNTPOINT -o opt,...      (the mount.fuse3 form)
 *
 * Order of main(), which matters:
 *
 *   parse and validate everything (nothing is mounted on bad input)
 *   -> fs_create -> fuse_session_new
 *   -> block SIGTERM/SIGINT/SIGHUP/SIGUSR1 in this thread, so every later
 *      thread inherits the block and only the signal thread takes them
 *   -> fuse_session_mount -> fuse_daemonize (forks: no thread may exist yet)
 *   -> pc_cache_create -> fs_start -> signal thread, mapped-flush thread,
 *      stats thread
 *   -> session loop
 *   -> stop the signal, flush and stats threads -> fs_stop -> pc_cache_sync_all
 *   -> pc_cache_destroy -> fuse_session_unmount -> fuse_session_destroy.
 *
 * Threads owned here:
 *   signal thread   sigwait()s for SIGTERM, SIGINT, SIGHUP.  On one: syncfs
 *                   the mount while the workers still serve (the kernel then
 *                   sends its dirty mapped pages as WRITEs), write back the
 *                   whole cache, end the session and unmount, then wake the
 *                   loop's thread (SIGUSR2) until it has returned.  libfuse's
 *                   own handlers are not used: they close /dev/fuse, which
 *                   drops the kernel's dirty pages.  SIGUSR1 from outside
 *                   logs the statistics; main() sends one to make it quit
 *                   (after setting stopping).
 *   stats thread    answers mmapfs-stat on the statistics socket
 *                   (stats_server.c).
 *   flush thread    every mapped_flush_ms, syncfs() of the mount (from a
 *                   short-lived child, see sync_mount): pulls pages
 *                   dirtied through mappings out of the kernel, which would
 *                   otherwise keep them up to 30 s (SEMANTICS B3).  Once a
 *                   second it also checks that the backing directory is
 *                   still where it was mounted from, and logs once if not.
 */
#ifndef MMAPFS_DAEMON_H
#define MMAPFS_DAEMON_H

#include "fs/fs.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include <fuse_lowlevel.h>

#include "pagecache/pagecache.h"

/* ---- Configuration (options.c) ---------------------------------------- */

struct daemon_config {
	char *backing_dir;		/* as given on the command line */
	char *mountpoint;		/* as given */
	char *backing_real;		/* realpath(): daemon_check_paths */
	char *mountpoint_real;		/* the same for the mount point */

	struct pc_config pc;		/* cache_size, dirty_*, no_uring */
	unsigned int mapped_flush_ms;	/* 0: the flush thread only checks */
	double attr_timeout;		/* seconds */
	double entry_timeout;		/* seconds */
	unsigned int max_threads;	/* FUSE worker threads */
	unsigned int revalidate_ms;	/* outside-change polling, active */
	bool no_revalidate;		/* don't watch for outside changes */
	bool lock_coherence;		/* -o lock_coherence (fs/lock.c) */
	bool local_locks;		/* -o local_locks */
	unsigned int max_path_fds;	/* 0: fs/ scales it */
	int loglevel;			/* LOG_ERR .. LOG_DEBUG */

	bool foreground;		/* -f (or -d) */
	bool debug;			/* -d */
	bool singlethread;		/* -s */
	bool show_help;			/* -h, --help */
	bool show_version;		/* -V, --version */
	bool fsname_given;		/* -o fsname= on the command line */

	/* What is left for fuse_session_new(): mount options and unknowns. */
	struct fuse_args args;
};

/* Defaults of our own options. */
#define DAEMON_MAPPED_FLUSH_MS	1000
#define DAEMON_TIMEOUT		1.0
#define DAEMON_MAX_THREADS	16
#define DAEMON_REVALIDATE_MS	50

/*
 * daemon_parse_args - parse the whole command line into @cfg: our -o
 * options (validated, with the cache defaults from pc_config_default()
 * scaled to a given cache_size), the two positional arguments, and
 * libfuse's own (-f, -d, -s, -h, -V, ...).  Returns 0, or -1 with one line
 * in @err naming the option, the bad value and the valid range.  With
 * show_help or show_version set the positional arguments may be missing.
 * @cfg must be freed with daemon_config_free() either way.
 */
int daemon_parse_args(int argc, char **argv, struct daemon_config *cfg,
		      char *err, size_t errlen);
void daemon_config_free(struct daemon_config *cfg);

/*
 * The -o options of mmapfs, documented once (options.c).  --help, the man
 * page's OPTIONS section (daemon_print_man_options) and the parser's range
 * checks all read this table.  The last entry has name NULL.
 */
enum daemon_optkind {
	DAEMON_OPT_SIZE,	/* bytes, K/M/G/T suffixes; max 0: relative */
	DAEMON_OPT_UINT,	/* integer in [min, max] */
	DAEMON_OPT_UINT_OFF,	/* 0 (off) or an integer in [min, max] */
	DAEMON_OPT_SECONDS,	/* decimal seconds in [min, max] */
	DAEMON_OPT_LEVEL,	/* a log level name */
	DAEMON_OPT_FLAG,	/* no value */
};

struct daemon_optdoc {
	const char *name;	/* "cache_size" */
	const char *arg;	/* "SIZE"; NULL for a flag */
	enum daemon_optkind kind;
	uint64_t min;
	uint64_t max;
	const char *help;	/* what it does, in sentences */
};

extern const struct daemon_optdoc daemon_optdocs[];

/* The default of @o, and its valid values, as text for people. */
void daemon_optdoc_default(const struct daemon_optdoc *o, char *buf,
			   size_t len);
void daemon_optdoc_range(const struct daemon_optdoc *o, char *buf,
			 size_t len);

/* daemon_print_help - usage and our options with their defaults. */
void daemon_print_help(FILE *f, const char *prog);

/* daemon_print_man_options - the same options as roff (.TP entries) for
 * the OPTIONS section of docs/mmapfs.8. */
void daemon_print_man_options(FILE *f);

/*
 * daemon_parse_size - "4096", "64K", "256M", "1G", "1T" (binary units; an
 * optional trailing "iB" or "B").  Returns 0 or -EINVAL / -ERANGE.
 */
int daemon_parse_size(const char *s, uint64_t *out);

/* daemon_format_size - the shortest exact form ("256M", "1000"). */
void daemon_format_size(uint64_t v, char *buf, size_t len);

/* ---- Checks before mounting (checks.c) -------------------------------- */

/*
 * daemon_check_paths - the backing directory must be a readable,
 * searchable directory; the mount point a directory that is not the
 * backing directory, not inside it, and not already a FUSE mount; and
 * /dev/fuse must open.  Sets backing_real and mountpoint_real.
 * Returns 0, or -1 with one line in @err.
 */
int daemon_check_paths(struct daemon_config *cfg, char *err, size_t errlen);

/* daemon_path_inside - true if @path is @dir or lies below it (both
 * canonical, as from realpath()). */
bool daemon_path_inside(const char *path, const char *dir);

/* daemon_mountinfo_unescape - undo the \ooo escapes of /proc mount files,
 * in place. */
void daemon_mountinfo_unescape(char *s);

/*
 * daemon_mountinfo_find - read /proc/self/mountinfo-formatted @f and tell
 * whether the topmost mount at @path is a FUSE filesystem (fuse, fuse.*,
 * fuseblk).  Returns 1 (its type copied to @fstype and, if @conn is not
 * NULL, its FUSE connection number - the kernel's device number, the name
 * of its directory in /sys/fs/fuse/connections - to *@conn), 0, or -errno.
 */
int daemon_mountinfo_find(FILE *f, const char *path, char *fstype,
			  size_t len, unsigned long *conn);

/*
 * daemon_guardian_start - fork the guardian (guardian.c): a process that
 * aborts the FUSE connection of @mountpoint if the daemon is killed while
 * one of its threads waits in the kernel on its own mount.  Call after
 * mounting and daemonizing, before any thread exists.  Root only (else a
 * no-op).  Returns 0 or -errno.
 */
int daemon_guardian_start(const char *mountpoint);

/* ---- Logging (log.c) -------------------------------------------------- */

/*
 * Messages go to stderr ("mmapfs: ..." lines) until daemon_log_setup()
 * switches to syslog for a daemon in the background.  Levels are syslog's.
 * libfuse's own messages (fuse_log) are routed here too.
 */
void daemon_log_setup(bool use_syslog, int level);
void daemon_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void daemon_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap);
/* True once libfuse reported unknown options (already explained). */
bool daemon_log_saw_unknown_option(void);

/* Parse "error", "warning", "info", "debug"; -1 if none of them. */
int daemon_parse_loglevel(const char *s);

/* ---- Statistics (stats.c, shared with mmapfs-stat; stats_server.c) ---- */

struct sockaddr_un;
struct daemon_stats_server;

/*
 * daemon_stats_encode - @s as "name value\n" lines, the socket's wire
 * format (names are struct pc_stats's fields).  Returns the length, or
 * -ENOSPC.  daemon_stats_decode - the reverse; names it does not know are
 * skipped, a missing one is -EINVAL.
 */
int daemon_stats_encode(const struct pc_stats *s, char *buf, size_t len);
int daemon_stats_decode(const char *text, struct pc_stats *s);

/*
 * daemon_stats_lines - @s for people, one line per subject (cache, reads,
 * dirty, write-back, backing, throttle), plus rates since @prev when @prev
 * is given and @secs > 0.  Fills at most @max lines (needs 8); returns how
 * many.
 */
int daemon_stats_lines(const struct pc_stats *s, const struct pc_stats *prev,
		       double secs, char lines[][160], int max);

/* daemon_format_bytes - "512B", "1.5MiB": rounded, for people. */
void daemon_format_bytes(uint64_t v, char *buf, size_t len);

/* daemon_stats_sockname - the abstract socket of the mount whose device
 * number is @maj:@min. */
void daemon_stats_sockname(unsigned int maj, unsigned int min,
			   struct sockaddr_un *sa, unsigned int *salen);

/*
 * daemon_mountinfo_dev - the device number of the topmost mount at @path
 * in the /proc/self/mountinfo-formatted @f.  Returns 1 if found, else 0.
 */
int daemon_mountinfo_dev(FILE *f, const char *path, unsigned int *maj,
			 unsigned int *min);

/*
 * daemon_stats_start - serve @cache's counters on the statistics socket of
 * the mount at @mnt (which must be mounted).  Starts a thread: call after
 * daemonizing.  Returns 0 or -errno (*@out NULL).  daemon_stats_stop()
 * stops it; NULL is fine.
 */
int daemon_stats_start(struct pc_cache *cache, const char *mnt,
		       struct daemon_stats_server **out);
void daemon_stats_stop(struct daemon_stats_server *s);

/* daemon_stats_log - the counters to the log at level info (SIGUSR1). */
void daemon_stats_log(struct pc_cache *cache, const char *mnt);

#ifdef PC_FAULT_INJECTION
/* daemon_fault_apply - the test daemon's faults from $MMAPFS_FAULT_FILE
 * (fault.c, only in tests/reliability/mmapfs-fi). */
void daemon_fault_apply(struct pc_cache *cache);
#endif

#endif /* MMAPFS_DAEMON_H */
