/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * renameat2.c - renameat2(2) with flags, for tests/ops/ scripts.
 *
 * coreutils has no way to ask for RENAME_NOREPLACE or RENAME_EXCHANGE
 * (mv -n checks in user space before renaming), so the scripts call this:
 *
 *	renameat2 none|noreplace|exchange|whiteout OLD NEW
 *
 * Exit status 0 when the call succeeded; otherwise the errno's name
 * (EEXIST, ENOENT, ...) on standard output and exit status 1.  Exit status
 * 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

static const struct {
	const char *name;
	unsigned int flags;
} modes[] = {
	{ "none", 0 },
	{ "noreplace", RENAME_NOREPLACE },
	{ "exchange", RENAME_EXCHANGE },
	{ "whiteout", RENAME_WHITEOUT },
};

int main(int argc, char **argv)
{
	size_t i;
	int err;

	if (argc != 4)
		goto usage;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			break;
	if (i == sizeof(modes) / sizeof(modes[0]))
		goto usage;

	if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], modes[i].flags) == 0)
		return 0;
	err = errno;
	printf("%s\n", strerrorname_np(err) ? strerrorname_np(err) : "unknown");
	return 1;

usage:
	fprintf(stderr,
		"usage: renameat2 none|noreplace|exchange|whiteout OLD NEW\n");
	return 2;
}
