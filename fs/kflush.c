// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kflush.c - pull the kernel's dirty mapped pages of our own mount to us,
 * without any thread of the daemon ever waiting for an answer from its own
 * mount.
 *
 * WHY A CHILD
 *
 *   Pages dirtied through shared mappings stay in the kernel until it
 *   writes them back (as WRITEs we answer).  To pull them now the daemon
 *   must call into its own mount: open the mount (an OPENDIR), open a file
 *   by its FUSE handle (an OPEN), fsync() it (WRITEs, an FSYNC), syncfs().
 *   A task waiting for the answer to a request the daemon has already read
 *   cannot be killed.  If that task were a thread of the daemon and the
 *   daemon got SIGKILL, it could never finish dying: its /dev/fuse
 *   descriptor would stay open, the kernel would never abort the
 *   connection, and every process on the mount would hang for good
 *   (docs/reliability.md, finding 6).
 *
 *   So these calls are made by a short-lived child that shares our memory
 *   (clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: nothing of the
 *   cache is copied, and the calling thread sleeps until the child exits)
 *   but has its own descriptor table, from which it first closes everything
 *   except the descriptors it needs - never /dev/fuse.  If the daemon dies,
 *   /dev/fuse closes with it, the kernel aborts the connection, the child's
 *   request fails and the child exits.  The child uses system calls only.
 *
 * WHY FSYNC AND NOT ONLY SYNCFS
 *
 *   syncfs() of a FUSE mount was seen to return before the WRITE of a page
 *   stored just before had reached us (tests/locks/lock_coherence.sh, about
 *   one store in ten), while fsync() waits for the file's writes in flight
 *   (fuse_sync_writes).  Callers that need the pages now (a lock release,
 *   shutdown) name the files to fsync(); the rest gets a syncfs().
 *
 * THE MOUNT DESCRIPTOR
 *
 *   Files are opened by handle relative to a directory descriptor on a
 *   detached clone of the mount (open_tree: the mount itself is never made
 *   busy; open_by_handle_at refuses an O_PATH descriptor, so the clone's
 *   root is opened, which is an OPENDIR).  Making one costs about 200 us;
 *   a caller may keep it: the child then sends it back over a socket
 *   (SCM_RIGHTS) and later children inherit it.  Holding it keeps the
 *   superblock alive after an umount, so holders close it when idle.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/fs_i.h"

/* statfs f_type of a FUSE mount (linux/magic.h has no name for it) */
#define FS_FUSE_SUPER_MAGIC	0x65735546

struct kflush_args {
	const char *mnt;
	int dir;			/* >= 0: use it; else make one */
	int sock;			/* >= 0: send a new dir back on it */
	const struct fs_fuse_handle *h;
	size_t n;
	bool syncfs;
};

/* Close every descriptor from 3 up but @a and @b (-1: none). */
static void close_all_but(int a, int b)
{
	int keep[2], k = 0;
	unsigned int lo = 3;

	if (a >= 3)
		keep[k++] = a;
	if (b >= 3 && b != a)
		keep[k++] = b;
	if (k == 2 && keep[0] > keep[1]) {
		keep[0] = b;
		keep[1] = a;
	}
	for (int i = 0; i < k; i++) {
		if ((unsigned int)keep[i] > lo)
			close_range(lo, (unsigned int)keep[i] - 1, 0);
		lo = (unsigned int)keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

static void send_fd(int sock, int fd)
{
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	sendmsg(sock, &msg, MSG_NOSIGNAL);
}

static int recv_fd(int sock)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The child: system calls only (it runs on the caller's memory). */
static int kflush_child(void *arg)
{
	const struct kflush_args *a = arg;
	int dir = a->dir, tree, fd;
	struct statfs sf;

	close_all_but(a->dir, a->sock);
	if (dir < 0) {
		tree = open_tree(AT_FDCWD, a->mnt,
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tree >= 0) {
			dir = openat(tree, ".",
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(tree);
		} else {
			/* no privilege for a clone: the mount itself,
			 * closed again when we exit */
			dir = open(a->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (dir < 0)
			_exit(errno & 0xff);
		/* After umount -l the path leads to whatever lies beneath:
		 * never sync (or keep) another filesystem. */
		if (fstatfs(dir, &sf) || sf.f_type != FS_FUSE_SUPER_MAGIC)
			_exit(ENOENT);
		if (a->sock >= 0 && tree >= 0)
			send_fd(a->sock, dir);
	}
	for (size_t i = 0; i < a->n; i++) {
		fd = open_by_handle_at(dir, (struct file_handle *)&a->h[i],
				       O_RDONLY | O_CLOEXEC | O_NOATIME);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	if (a->syncfs && syncfs(dir))
		_exit(errno & 0xff);
	_exit(0);
}

#define KFLUSH_STACK	(64 * 1024)

int fs_kflush(struct fs *fs, int *dirp, const struct fs_fuse_handle *h,
	      size_t n, bool do_syncfs)
{
	struct kflush_args a = {
		.mnt = fs->cfg.mountpoint,
		.dir = dirp ? *dirp : -1,
		.sock = -1,
		.h = h,
		.n = n,
		.syncfs = do_syncfs,
	};
	int sv[2] = { -1, -1 }, status, r = 0;
	char *stack;
	pid_t pid;

	if (!a.mnt)
		return -EINVAL;
	stack = malloc(KFLUSH_STACK);
	if (!stack)
		return -ENOMEM;
	if (dirp && *dirp < 0 &&
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0)
		a.sock = sv[1];
	pid = clone(kflush_child, stack + KFLUSH_STACK,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0) {
		r = -errno;
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status))
			r = -WEXITSTATUS(status);
		else
			r = -EINTR;
	}
	if (sv[0] >= 0) {
		int fd = recv_fd(sv[0]);

		if (fd >= 0)
			*dirp = fd;
		close(sv[0]);
		close(sv[1]);
	}
	free(stack);
	return r;
}

void fs_fuse_handle_of(struct fs *fs, struct fs_inode *inode,
		       struct fs_fuse_handle *h)
{
	uint64_t nodeid = fs_ino_of(fs, inode);

	/* the FUSE kernel's FILEID_INO64_GEN (0x81): nodeid, generation */
	h->h.handle_bytes = sizeof(h->id);
	h->h.handle_type = 0x81;
	h->id[0] = (uint32_t)(nodeid >> 32);
	h->id[1] = (uint32_t)nodeid;
	h->id[2] = (uint32_t)inode->generation;
}

int fs_sync_kernel(struct fs *fs, bool fsync_writers)
{
	struct fs_fuse_handle *h = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (fsync_writers && atomic_load(&fs->open_writers))
		fs_table_writers(fs, &h, &n, &cap);
	r = fs_kflush(fs, NULL, h, n, true);
	free(h);
	return r;
}
