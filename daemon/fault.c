// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fault.c - write-back fault injection from outside, for the test daemon
 * tests/reliability/mmapfs-fi only.  That program is daemon/ + fs/ linked
 * with pagecache/libpagecache_fi.a and compiled with PC_FAULT_INJECTION;
 * the installed mmapfs has neither this file nor the hooks.
 *
 * On SIGUSR1 the test daemon reads the file named by $MMAPFS_FAULT_FILE,
 * one fault per line:
 *
 *	OP ERR COUNT
 *
 * OP is write (write-back writes), sync (the backing file's fdatasync or
 * fsync) or read (fills); ERR is an errno name (EIO, ENOSPC, EDQUOT,
 * EINTR, EAGAIN), "short" (half the transfer: must be resubmitted),
 * "delay" (completes 20 ms late, so completions come back out of order)
 * or "none" (clears it); COUNT is how many operations fail, or "always".
 * Each applied line is logged ("fault injection: ..."), which is how a
 * test knows it took effect.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

static const struct {
	const char *name;
	int err;
} fault_errs[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EINTR", EINTR }, { "EAGAIN", EAGAIN },
	{ "short", PC_FAULT_SHORT }, { "delay", PC_FAULT_DELAY },
	{ "none", 0 },
};

static int fault_line(struct pc_cache *c, const char *line)
{
	char op[16], err[16], count[16];
	enum pc_fault_op o;
	unsigned long n;
	size_t i;

	if (sscanf(line, "%15s %15s %15s", op, err, count) != 3)
		return -EINVAL;
	if (!strcmp(op, "write"))
		o = PC_FAULT_WRITE;
	else if (!strcmp(op, "sync"))
		o = PC_FAULT_FSYNC;
	else if (!strcmp(op, "read"))
		o = PC_FAULT_READ;
	else
		return -EINVAL;
	for (i = 0; i < sizeof(fault_errs) / sizeof(fault_errs[0]); i++)
		if (!strcmp(err, fault_errs[i].name))
			break;
	if (i == sizeof(fault_errs) / sizeof(fault_errs[0]))
		return -EINVAL;
	if (!strcmp(count, "always"))
		n = UINT_MAX;
	else if ((n = strtoul(count, NULL, 10)) >= UINT_MAX)
		return -EINVAL;
	if (!fault_errs[i].err)
		n = 0;
	pc_fault_set(c, o, fault_errs[i].err, (unsigned int)n);
	daemon_log(LOG_NOTICE, "fault injection: %s %s %s", op, err, count);
	return 0;
}

void daemon_fault_apply(struct pc_cache *c)
{
	const char *path = getenv("MMAPFS_FAULT_FILE");
	char line[128];
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "re");
	if (!f) {
		daemon_log(LOG_ERR, "fault injection: %s: %s", path,
			   strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && line[0] != '\n' && fault_line(c, line))
			daemon_log(LOG_ERR, "fault injection: bad line '%.*s'",
				   (int)strcspn(line, "\n"), line);
	fclose(f);
}
