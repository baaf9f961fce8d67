// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * checks.c - refuse bad paths before anything is mounted.
 *
 * Each failure is one line: what is wrong, with which path, and what to do.
 * The mount point must not be the backing directory nor lie inside it: the
 * daemon resolves names in the backing directory with *at() calls, which
 * cross mount points, so a lookup of the mount point's name would enter our
 * own mount and wait for itself.  A mount point that already carries a FUSE
 * mount (often a dead one after a crash: "Transport endpoint is not
 * connected") is refused with the command that clears it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"

bool daemon_path_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n))
		return false;
	/* "/" contains all; "/a" contains "/a" and "/a/...", not "/ab" */
	return n == 1 || path[n] == '\0' || path[n] == '/';
}

void daemon_mountinfo_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static bool is_fuse_type(const char *t)
{
	return !strcmp(t, "fuse") || !strcmp(t, "fuseblk") ||
	       !strncmp(t, "fuse.", 5);
}

int daemon_mountinfo_find(FILE *f, const char *path, char *fstype,
			  size_t len, unsigned long *conn)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	/*
	 * "36 35 98:0 /root /mnt/point rw,noatime master:1 - ext4 /dev/x rw"
	 * Field 5 is the mount point; the type follows the lone "-".  Later
	 * lines are mounted on top of earlier ones at the same point: the
	 * last match decides.
	 */
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mnt = NULL, *type = NULL;
		unsigned int major = 0, minor = 0;
		bool sep = false;
		int i = 0;

		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save), i++) {
			if (i == 2) {
				if (sscanf(tok, "%u:%u", &major, &minor) != 2)
					major = minor = 0;
			} else if (i == 4) {
				mnt = tok;
			} else if (sep) {
				type = tok;
				break;
			} else if (i > 5 && !strcmp(tok, "-")) {
				sep = true;
			}
		}
		if (!mnt || !type)
			continue;
		daemon_mountinfo_unescape(mnt);
		if (strcmp(mnt, path))
			continue;
		found = is_fuse_type(type);
		if (found)
			snprintf(fstype, len, "%s", type);
		/* the kernel's dev_t: 12 bits of major, then 20 of minor */
		if (found && conn)
			*conn = ((unsigned long)major << 20) | minor;
	}
	free(line);
	if (ferror(f))
		return -EIO;
	return found;
}

static int check_backing(struct daemon_config *cfg, char *err, size_t errlen)
{
	const char *p = cfg->backing_dir;
	struct stat st;

	if (stat(p, &st)) {
		snprintf(err, errlen,
			 "backing directory '%s': %s; give an existing directory",
			 p, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "backing directory '%s': %s; give a directory, not a file",
			 p, strerror(ENOTDIR));
		return -1;
	}
	if (access(p, R_OK | X_OK)) {
		snprintf(err, errlen,
			 "backing directory '%s': %s; the daemon needs read and search permission on it",
			 p, strerror(errno));
		return -1;
	}
	cfg->backing_real = realpath(p, NULL);
	if (!cfg->backing_real) {
		snprintf(err, errlen, "backing directory '%s': %s; give another path",
			 p, strerror(errno));
		return -1;
	}
	return 0;
}

static int check_mountpoint(struct daemon_config *cfg, char *err,
			    size_t errlen)
{
	const char *p = cfg->mountpoint;
	char fstype[64];
	struct stat st;
	FILE *f;
	int r;

	if (stat(p, &st)) {
		if (errno == ENOTCONN)
			snprintf(err, errlen,
				 "mount point '%s': %s; a dead FUSE mount is still there: run 'umount %s' (or 'fusermount3 -u %s')",
				 p, strerror(errno), p, p);
		else
			snprintf(err, errlen,
				 "mount point '%s': %s; create the directory first",
				 p, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "mount point '%s': %s; mount on a directory",
			 p, strerror(ENOTDIR));
		return -1;
	}
	cfg->mountpoint_real = realpath(p, NULL);
	if (!cfg->mountpoint_real) {
		snprintf(err, errlen, "mount point '%s': %s; give another path",
			 p, strerror(errno));
		return -1;
	}
	if (!strcmp(cfg->mountpoint_real, cfg->backing_real)) {
		snprintf(err, errlen,
			 "mount point '%s': it is the backing directory itself; choose a mount point outside the backing directory",
			 p);
		return -1;
	}
	if (daemon_path_inside(cfg->mountpoint_real, cfg->backing_real)) {
		snprintf(err, errlen,
			 "mount point '%s': it is inside the backing directory '%s'; choose a mount point outside it",
			 p, cfg->backing_real);
		return -1;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;	/* no /proc: let the mount itself decide */
	r = daemon_mountinfo_find(f, cfg->mountpoint_real, fstype,
				  sizeof(fstype), NULL);
	fclose(f);
	if (r > 0) {
		snprintf(err, errlen,
			 "mount point '%s': already a FUSE mount (%s); unmount it first: umount '%s'",
			 p, fstype, cfg->mountpoint_real);
		return -1;
	}
	return 0;
}

static int check_dev_fuse(char *err, size_t errlen)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	/* Without root, fusermount3 (set-user-ID) opens it for us. */
	if (errno == EACCES && geteuid() != 0)
		return 0;
	snprintf(err, errlen,
		 "cannot open '/dev/fuse': %s; load the fuse module (modprobe fuse) and check the device",
		 strerror(errno));
	return -1;
}

int daemon_check_paths(struct daemon_config *cfg, char *err, size_t errlen)
{
	if (check_backing(cfg, err, errlen))
		return -1;
	if (check_mountpoint(cfg, err, errlen))
		return -1;
	return check_dev_fuse(err, errlen);
}
