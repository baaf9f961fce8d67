// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * names.c - what a directory entry name may be, and /proc/self/fd paths.
 *
 * The kernel only ever sends single, valid path components, but every name
 * is checked anyway before it reaches an *at() call on a backing directory:
 * a "..", or a name with a '/', would let a request walk out of the backing
 * tree.  The check costs a strnlen and a memchr.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fs/fs_i.h"

bool fs_is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

int fs_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, NAME_MAX + 1);
	if (len == 0)
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (fs_is_dot_or_dotdot(name))
		return -EINVAL;
	if (memchr(name, '/', len))
		return -EINVAL;
	return 0;
}

void fs_proc_path(char *buf, int fd)
{
	snprintf(buf, FS_PROC_PATH_MAX, "/proc/self/fd/%d", fd);
}
