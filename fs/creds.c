// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * creds.c - create files as the caller when the daemon runs as root.
 *
 * With default_permissions the kernel has already checked the caller's
 * rights against the attributes we report (the backing file's own).  What
 * is left is ownership: a file, directory, node or symlink created through
 * the mount must belong to the caller, and in a set-group-ID directory to
 * the directory's group, exactly as the backing filesystem decides it.  So
 * the creating syscall runs with this thread's fsuid/fsgid and supplementary
 * groups switched to the caller's (the raw syscalls are per thread on Linux;
 * glibc's wrappers would change every thread of the process) and restored
 * right after.  The supplementary groups matter because a non-zero fsuid
 * drops CAP_DAC_OVERRIDE: the backing filesystem then checks the caller's
 * write permission on the directory itself, and a caller who may write there
 * only through a supplementary group would otherwise get EACCES.
 */
#include "config.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/fs_i.h"

void fs_creds_of(fuse_req_t req, struct fs_creds *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int n;

	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	n = fuse_req_getgroups(req, (int)(sizeof(cr->groups) /
					  sizeof(cr->groups[0])), cr->groups);
	if (n > (int)(sizeof(cr->groups) / sizeof(cr->groups[0])))
		n = sizeof(cr->groups) / sizeof(cr->groups[0]);
	cr->ngroups = n < 0 ? -1 : n;
}

bool fs_creds_push(struct fs *fs, const struct fs_creds *cr)
{
	if (!fs->as_root || !cr)
		return false;
	if (cr->uid == fs->euid && cr->gid == fs->egid)
		return false;
	/* Groups first, while this thread still has CAP_SETGID. */
	if (cr->ngroups >= 0)
		syscall(SYS_setgroups, (size_t)cr->ngroups, cr->groups);
	else
		syscall(SYS_setgroups, (size_t)1, &cr->gid);
	syscall(SYS_setfsgid, cr->gid);
	syscall(SYS_setfsuid, cr->uid);
	return true;
}

void fs_creds_pop(struct fs *fs)
{
	syscall(SYS_setfsuid, fs->euid);
	syscall(SYS_setfsgid, fs->egid);
	syscall(SYS_setgroups, (size_t)fs->ngroups, fs->groups);
}
