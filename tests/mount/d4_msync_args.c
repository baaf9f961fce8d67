// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * d4_msync_args - SEMANTICS D4.
 *
 * msync(): an unaligned address is EINVAL; MS_SYNC together with MS_ASYNC
 * is EINVAL; an unmapped range is ENOMEM.
 *
 * On a 4-page MAP_SHARED mapping of the file:
 *   - address + 1 and address + page/2: EINVAL (with MS_SYNC and MS_ASYNC);
 *   - MS_SYNC|MS_ASYNC: EINVAL; an unknown flag bit: EINVAL;
 *   - a range containing a hole punched with munmap(): ENOMEM, and after a
 *     range wholly unmapped: ENOMEM;
 *   - the valid calls still work: MS_SYNC, MS_ASYNC, MS_INVALIDATE,
 *     MS_SYNC|MS_INVALIDATE, length 0, an unaligned length (rounded up to
 *     the page), and the MS_SYNC'd data is in the backing file.
 *
 * Broken rule looks like: a different errno or success where an error is
 * due (all decided by the kernel before FUSE), or a valid msync() that
 * fails (the daemon answered FSYNC with an error).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/t.h"

int main(int argc, char **argv)
{
	size_t ps, len;
	char *map, *bpath;
	int fd;

	t_init(argc, argv);
	ps = t_page_size();
	len = 4 * ps;
	fd = t_create(t_path("d4"), len, 1);
	bpath = t_backing_path("d4");
	map = t_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_store(map, len, 2, 0);

	T_CHECK_ERRNO(msync(map + 1, ps, MS_SYNC), EINVAL);
	T_CHECK_ERRNO(msync(map + 1, ps, MS_ASYNC), EINVAL);
	T_CHECK_ERRNO(msync(map + ps / 2, ps, MS_SYNC), EINVAL);
	T_CHECK_ERRNO(msync(map, len, MS_SYNC | MS_ASYNC), EINVAL);
	T_CHECK_ERRNO(msync(map, len, MS_SYNC | MS_ASYNC | MS_INVALIDATE),
		      EINVAL);
	T_CHECK_ERRNO(msync(map, len, 0x100), EINVAL);

	/* Valid calls. */
	T_CHECK(msync(map, len, MS_ASYNC) == 0, "MS_ASYNC: %m");
	T_CHECK(msync(map, len, MS_INVALIDATE) == 0, "MS_INVALIDATE: %m");
	T_CHECK(msync(map, 0, MS_SYNC) == 0, "length 0: %m");
	T_CHECK(msync(map, ps + 1, MS_SYNC) == 0, "unaligned length: %m");
	t_check_file(bpath, 2 * ps, 2, 0,
		     "backing file after msync of page+1 bytes");
	T_CHECK(msync(map, len, MS_SYNC | MS_INVALIDATE) == 0,
		"MS_SYNC|MS_INVALIDATE: %m");
	t_check_file(bpath, len, 2, 0, "backing file after MS_SYNC");
	t_check_pattern(map, len, 2, 0, "mapping after MS_INVALIDATE");

	/* A hole in the middle of the range. */
	t_munmap(map + ps, ps);
	T_CHECK_ERRNO(msync(map, len, MS_SYNC), ENOMEM);
	T_CHECK_ERRNO(msync(map, len, MS_ASYNC), ENOMEM);
	T_CHECK_ERRNO(msync(map + ps, ps, MS_SYNC), ENOMEM);
	T_CHECK(msync(map + 2 * ps, 2 * ps, MS_SYNC) == 0,
		"the mapped part after the hole: %m");
	t_munmap(map, len);
	T_CHECK_ERRNO(msync(map, len, MS_SYNC), ENOMEM);
	t_close(fd);
	return 0;
}
