#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# b4_unmount_flush.sh - SEMANTICS B4.
#
# munmap() and close() are not durability points, but nothing dirty is ever
# lost: unmounting, SIGTERM and SIGINT bring every dirty page - the
# kernel's and the daemon's - to the backing file before the daemon exits.
#
# Four rounds, each on a fresh mount of the same backing directory, each
# ending the daemon well before its own write-back (about 3 s) would have run:
#   umount   stores through a mapping, munmap, close, and pwrite()s, none
#            synced; the processes exit; umount at once.
#   TERM     a process holds a mapping: stores, syncfs() (the pages move to
#            the daemon's cache), more stores (these stay dirty in the
#            kernel), and another holds a descriptor with pwrite() data;
#            both stay alive while the daemon gets SIGTERM.
#   INT      the same with SIGINT.
#   lazy     a process holds dirty mapped pages, the mount is detached with
#            umount -l, then the process is killed: its exit writes the
#            pages back and the daemon must store them before it exits.
# Each time the daemon must exit with status 0 within 60 s, and the backing
# file, read after it is gone, must hold every byte.
#
# Broken rule looks like: the backing file holding the old bytes (the daemon
# exited without flushing its cache, or let libfuse's signal handler close
# /dev/fuse before pulling the kernel's dirty pages with syncfs), a daemon
# that does not exit, or one that exits non-zero.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
. "${top_srcdir:-.}/tests/mount/helpers.sh"

BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
MT=$H_BIN/maptool

check_backing() { # NAME SIZE SEED [OFF:LEN:SEED...]
	b4_f=$1 b4_size=$2; shift 2
	b4_args=""
	for b4_r in "$@"; do b4_args="$b4_args verify:$b4_r"; done
	# shellcheck disable=SC2086
	"$MT" -r "$BK/$b4_f" checksize:"$b4_size" $b4_args ||
		t_fail "$ROUND: $b4_f in the backing file after the daemon exited"
}

daemon_gone() { # how
	h_wait_exit "$T_PID" 60
	[ "$H_STATUS" -eq 0 ] ||
		t_fail "$ROUND: daemon exited with status $H_STATUS after $1"
}

# -- umount: nothing left open, nothing synced.
ROUND=umount
t_mount "$BK" "$MP"
"$MT" "$MP/u-map" size:4M map:4M store:0:4M:1 munmap close ||
	t_fail "$ROUND: maptool"
"$MT" "$MP/u-write" pwrite:0:3M:2 pwrite:100:5000:3 close ||
	t_fail "$ROUND: maptool"
umount "$MP" || t_fail "$ROUND: umount $MP"
daemon_gone umount
check_backing u-map 4M 0:4M:1
check_backing u-write 3M 0:100:2 100:5000:3 5100:3140628:2

# -- TERM and INT: live holders, dirty pages in the kernel and the daemon.
for SIG in TERM INT; do
	ROUND=$SIG
	# No periodic flush of mapped pages: only the signal path may bring
	# the kernel's dirty pages home, so a daemon that skips it fails.
	t_mount "$BK" "$MP" -o mapped_flush_ms=0
	h_start map-$SIG "$MP/s-map-$SIG" size:8M map:8M store:0:4M:11 \
		syncfs store:4M:4M:12 store:100:1000:13 ready hold
	map_pid=$H_PID
	h_start write-$SIG "$MP/s-write-$SIG" pwrite:0:2M:14 \
		pwrite:1M:5:15 ready hold
	write_pid=$H_PID
	h_wait_ready map-$SIG "$map_pid"
	h_wait_ready write-$SIG "$write_pid"
	kill -"$SIG" "$T_PID"
	daemon_gone "SIG$SIG"
	check_backing "s-map-$SIG" 8M 0:100:11 100:1000:13 1100:4193204:11 \
		4M:4M:12
	check_backing "s-write-$SIG" 2M 0:1M:14 1M:5:15 1048581:1048571:14
	h_stop "$map_pid"
	h_stop "$write_pid"
	# The daemon is gone; a mapping kept the mount busy: drop it.
	t_is_mounted "$MP" && { umount "$MP" 2>/dev/null || umount -l "$MP"; }
done

# -- lazy: detach while a mapping is dirty, then the holder dies.
ROUND=lazy
t_mount "$BK" "$MP"
h_start lazy "$MP/l-map" size:2M map:2M store:0:2M:21 ready hold
lazy_pid=$H_PID
h_wait_ready lazy "$lazy_pid"
umount -l "$MP" || t_fail "$ROUND: umount -l $MP"
h_stop "$lazy_pid"
daemon_gone "umount -l and the holder's exit"
check_backing l-map 2M 0:2M:21

echo "PASS: B4"
exit 0
