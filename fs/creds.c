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
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	cr->umask = ctx->umask & 0777;
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

/*
 * The kernel's capable(@cap) for the caller of @req, as the daemon can tell
 * it: bit @cap of CapEff in /proc/PID/status, counted only when the caller
 * is in our user namespace (capable() asks about the initial one, and
 * CapEff is relative to the task's own).  Without a readable status (the
 * caller is gone, PID 0 from another pid namespace) it falls back to
 * "uid 0".  Used where a backing filesystem's answer depends on the
 * caller's capability and the kernel's FUSE client does not check it
 * itself (listxattr of trusted.* names).
 */
bool fs_caller_capable(fuse_req_t req, int cap)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[64], line[256];
	struct stat ours, theirs;
	unsigned long long eff;
	bool found = false;
	FILE *f;

	if (ctx->pid <= 0)
		return ctx->uid == 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)ctx->pid);
	if (stat(path, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
	    (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	f = fopen(path, "re");
	if (!f)
		return ctx->uid == 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	}
	fclose(f);
	if (!found)
		return ctx->uid == 0;
	return (eff >> cap) & 1;
}

/*
 * umask is a property of the fs_struct, shared by all our threads; a
 * thread that creates for callers takes a private copy once (the daemon's
 * own umask is 0, fs.c, and stays 0 between creations).
 */
static __thread int umask_private;	/* 0 not tried, 1 private, -1 failed */

bool fs_umask_push(struct fs *fs, const struct fs_creds *cr, mode_t *mode)
{
	if (!cr || !atomic_load_explicit(&fs->dont_mask, memory_order_relaxed))
		return false;
	if (!umask_private) {
		umask_private = unshare(CLONE_FS) ? -1 : 1;
		if (umask_private < 0)
			fuse_log(FUSE_LOG_WARNING,
				 "mmapfs: unshare(CLONE_FS): %s: umask applied by the daemon, ignoring default ACLs\n",
				 strerror(errno));
	}
	if (umask_private < 0) {
		*mode &= ~cr->umask;
		return false;
	}
	umask(cr->umask);
	return true;
}

void fs_umask_pop(void)
{
	umask(0);
}
