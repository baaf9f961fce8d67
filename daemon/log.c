// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c - one line per message, to stderr or syslog.
 *
 * libfuse logs through fuse_log(), sometimes one line in several calls
 * ("unknown option(s): `" ... "'\n"), so its fragments are collected until
 * the newline.  Its message about unknown options is rewritten into ours,
 * naming the option and what to do.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_level = LOG_INFO;		/* log_lock */
static bool log_syslog;				/* log_lock */
static char fuse_line[1024];			/* log_lock */
static size_t fuse_line_len;			/* log_lock */
static bool saw_unknown;			/* log_lock */

static const char *const level_names[] = {
	[LOG_ERR] = "error",
	[LOG_WARNING] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

int daemon_parse_loglevel(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && !strcmp(s, level_names[i]))
			return (int)i;
	return -1;
}

void daemon_log_setup(bool use_syslog, int level)
{
	pthread_mutex_lock(&log_lock);
	if (use_syslog && !log_syslog)
		openlog("mmapfs", LOG_PID, LOG_DAEMON);
	log_syslog = use_syslog;
	log_level = level;
	pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock.  @msg is one line, without the newline. */
static void emit(int level, const char *msg)
{
	if (level > log_level)
		return;
	if (log_syslog)
		syslog(level, "%s", msg);
	else
		fprintf(stderr, "mmapfs: %s\n", msg);
}

static void vlog_locked(int level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	emit(level, buf);
}

void daemon_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pthread_mutex_lock(&log_lock);
	vlog_locked(level, fmt, ap);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}

/* One complete line from libfuse (or fs/, which logs through fuse_log). */
static void fuse_line_done(int level)
{
	static const char unknown[] = "fuse: unknown option(s): `";
	static const char ours[] = "mmapfs: ";
	char msg[sizeof(fuse_line) + 64];
	char *s = fuse_line;
	size_t n;

	if (!strncmp(s, unknown, sizeof(unknown) - 1)) {
		s += sizeof(unknown) - 1;
		n = strlen(s);
		if (n && s[n - 1] == '\'')
			s[n - 1] = '\0';
		snprintf(msg, sizeof(msg),
			 "unknown option '%s'; see 'mmapfs --help' for the options",
			 s);
		saw_unknown = true;
		emit(LOG_ERR, msg);
		return;
	}
	if (!strncmp(s, ours, sizeof(ours) - 1))
		s += sizeof(ours) - 1;
	emit(level, s);
}

void daemon_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char frag[sizeof(fuse_line)];
	const char *p, *nl;
	size_t n;

	vsnprintf(frag, sizeof(frag), fmt, ap);
	pthread_mutex_lock(&log_lock);
	for (p = frag; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > sizeof(fuse_line) - 1 - fuse_line_len)
			n = sizeof(fuse_line) - 1 - fuse_line_len;
		memcpy(fuse_line + fuse_line_len, p, n);
		fuse_line_len += n;
		fuse_line[fuse_line_len] = '\0';
		if (!nl)
			break;
		fuse_line_done((int)level);
		fuse_line_len = 0;
		fuse_line[0] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

bool daemon_log_saw_unknown_option(void)
{
	bool r;

	pthread_mutex_lock(&log_lock);
	r = saw_unknown;
	pthread_mutex_unlock(&log_lock);
	return r;
}
