#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# fault_mount.sh - write-back faults injected into a mounted daemon.
#
# Mounts tests/reliability/mmapfs-fi (the daemon linked with the
# fault-injection build of pagecache/; never installed) and runs
# faultmount, which makes it fail write-back writes with EIO, ENOSPC and
# EDQUOT, fail an fdatasync, and return short, EINTR, EAGAIN and late
# completions, and checks through the mount what fsync, msync and close
# report and what reaches the backing files.  Then unmounts: the daemon
# must exit 0 (nothing left unwritten).
. "${top_srcdir:-.}/tests/lib/mount.sh"

MMAPFS=${top_builddir:-.}/tests/reliability/mmapfs-fi
FM=${top_builddir:-.}/tests/reliability/faultmount
t_require_fuse
[ -x "$FM" ] || t_fail "$FM not built"
t_tmpdir
B=$T_TMP/backing M=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
: >"$T_LOG"
MMAPFS_FAULT_FILE=$T_TMP/faults
export MMAPFS_FAULT_FILE
t_mount "$B" "$M"
"$FM" "$M" "$B" "$T_PID" "$T_LOG" "$MMAPFS_FAULT_FILE" ||
	{ cat "$T_LOG" >&2; t_fail "faultmount (above)"; }
t_umount "$M" || { cat "$T_LOG" >&2; t_fail "mmapfs-fi did not exit 0 after the faults cleared"; }
exit 0
