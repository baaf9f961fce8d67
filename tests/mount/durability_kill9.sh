#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# durability_kill9.sh - SEMANTICS B1, B2 and B4 with the daemon killed.
#
# What msync(MS_SYNC), fsync() and fdatasync() acknowledged must be in the
# backing file even if the daemon dies the next instant; what nobody synced
# must still land when the daemon is asked to stop (SIGTERM).
#
#   msync   a process stores 4 MiB through a mapping, msync(MS_SYNC), then
#           stores into the second half again (left dirty) and holds the
#           mapping; the daemon is killed with SIGKILL: the first half must be
#           in the backing file.
#   fsync   pwrite() 4 MiB + fsync(), then pwrite() over the first MiB (left
#           unsynced); stores through a mapping + fsync(); pwrite() +
#           fdatasync(): all held open while the daemon gets SIGKILL; every
#           synced byte must be there.
#   TERM    stores through a held mapping and pwrite() through a held
#           descriptor, never synced; SIGTERM: the daemon must exit 0 within
#           60 s and every byte must be there.
# Each round on a fresh mount of the same backing directory.
#
# Broken rule looks like: synced bytes missing after SIGKILL (the daemon
# replied to FSYNC before its write-back and fdatasync of the backing file
# completed), or unsynced bytes missing after SIGTERM.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
. "${top_srcdir:-.}/tests/mount/helpers.sh"

BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
MT=$H_BIN/maptool

check_backing() { # NAME SIZE OFF:LEN:SEED...
	k_f=$1 k_size=$2; shift 2
	k_args=""
	for k_r in "$@"; do k_args="$k_args verify:$k_r"; done
	# shellcheck disable=SC2086
	"$MT" -r "$BK/$k_f" checksize:"$k_size" $k_args ||
		t_fail "$ROUND: $k_f in the backing file"
}

# -- msync, then SIGKILL
ROUND=msync
t_mount "$BK" "$MP"
h_start k-msync "$MP/k-msync" size:4M map:4M store:0:4M:1 msync \
	store:2M:2M:2 ready hold
p1=$H_PID
h_wait_ready k-msync "$p1"
t_kill9 "$MP"
check_backing k-msync 4M 0:2M:1
h_stop "$p1"

# -- fsync / fdatasync, then SIGKILL
ROUND=fsync
t_mount "$BK" "$MP"
h_start k-write "$MP/k-write" pwrite:0:4M:3 fsync pwrite:0:1M:4 ready hold
p1=$H_PID
h_start k-mapfsync "$MP/k-mapfsync" size:4M map:4M store:0:4M:5 fsync \
	ready hold
p2=$H_PID
h_start k-fdatasync "$MP/k-fdatasync" pwrite:0:1M:6 fdatasync ready hold
p3=$H_PID
h_wait_ready k-write "$p1"
h_wait_ready k-mapfsync "$p2"
h_wait_ready k-fdatasync "$p3"
t_kill9 "$MP"
check_backing k-write 4M 1M:3M:3
check_backing k-mapfsync 4M 0:4M:5
check_backing k-fdatasync 1M 0:1M:6
h_stop "$p1"
h_stop "$p2"
h_stop "$p3"

# -- nothing synced, SIGTERM
ROUND=TERM
t_mount "$BK" "$MP"
h_start t-map "$MP/t-map" size:4M map:4M store:0:4M:7 ready hold
p1=$H_PID
h_start t-write "$MP/t-write" pwrite:0:2M:8 ready hold
p2=$H_PID
h_wait_ready t-map "$p1"
h_wait_ready t-write "$p2"
kill -TERM "$T_PID"
h_wait_exit "$T_PID" 60
[ "$H_STATUS" -eq 0 ] || t_fail "$ROUND: daemon exited with $H_STATUS"
check_backing t-map 4M 0:4M:7
check_backing t-write 2M 0:2M:8
h_stop "$p1"
h_stop "$p2"
t_is_mounted "$MP" && { umount "$MP" 2>/dev/null || umount -l "$MP"; }

echo "PASS: durability after SIGKILL and SIGTERM"
exit 0
