#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# e3_memory_bound.sh - SEMANTICS E3.
#
# The daemon's memory stays within its configured cache size plus a small
# fixed overhead, whatever the load; writers are slowed, not failed, when
# dirty pages pile up while write-back is making progress.
#
# With -o cache_size=64M:
#   write  four processes pwrite() 448 MiB each into their own files while a
#          fifth stores 256 MiB through a mapping (2 GiB in all, 32x the
#          cache, all at once): every writer must finish without an error
#          (throttled at most);
#   read   on a fresh mount (so the kernel's page cache of the files is gone
#          and every byte comes from the daemon), the five files are read
#          back, four through read() and one through a mapping, and checked.
# The daemon's VmHWM (peak resident set, from /proc/PID/status) is read at
# the end of each phase, before unmounting; it must stay at or below
# cache_size + OVERHEAD_MB.  The fixed overhead allowed is 48 MiB: program
# and libraries, thread stacks actually touched, libfuse's per-thread
# request buffers (1 MiB + a page each with max_write = 1 MiB), io_uring
# rings, page descriptors and the inode table.  VmRSS is also sampled every
# 0.2 s for the report.
#
# Skipped (77) when the daemon was built with a sanitizer: their shadow
# memory and quarantine make the resident set meaningless.
#
# Broken rule looks like: VmHWM above the bound (a cache that grows with the
# file instead of evicting, dirty data accepted without limit), or a writer
# that fails with ENOSPC/ENOMEM/EIO instead of waiting for write-back.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
. "${top_srcdir:-.}/tests/mount/helpers.sh"

CACHE_MB=64
OVERHEAD_MB=48
LIMIT_KB=$(((CACHE_MB + OVERHEAD_MB) * 1024))
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
MT=$H_BIN/maptool

# Free space for 2 GiB of backing files, with room to spare.
avail_kb=$(df -Pk "$T_TMP" | awk 'NR == 2 { print $4 }')
if [ "${avail_kb:-0}" -lt $((3 * 1024 * 1024)) ]; then
	echo "SKIP: less than 3 GiB free under $T_TMP" >&2
	exit 77
fi

sampler_start() { # LOG
	(
		while kill -0 "$T_PID" 2>/dev/null; do
			h_rss "$T_PID" >>"$1"
			sleep 0.2
		done
	) &
	SAMPLER=$!
}

# phase_end PHASE SAMPLES: check the peak, then unmount.
phase_end() {
	set -- "$1" "$2" "$(h_rss "$T_PID")"
	hwm_kb=${3#* }
	max_rss_kb=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }' "$2")
	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	echo "$1: daemon VmHWM ${hwm_kb} KiB, largest VmRSS sampled ${max_rss_kb} KiB, limit ${LIMIT_KB} KiB"
	[ -n "$hwm_kb" ] && [ "$hwm_kb" -gt 0 ] ||
		t_fail "$1: cannot read VmHWM of the daemon ($T_PID)"
	[ "$hwm_kb" -le "$LIMIT_KB" ] ||
		t_fail "$1: daemon VmHWM ${hwm_kb} KiB > cache ${CACHE_MB} MiB + ${OVERHEAD_MB} MiB"
	umount "$MP" || t_fail "$1: umount"
	h_wait_exit "$T_PID" 120
	[ "$H_STATUS" -eq 0 ] || t_fail "$1: daemon exited with $H_STATUS"
}

# -- write
t_mount "$BK" "$MP" -o cache_size=${CACHE_MB}M
if grep -q -E 'lib(a|t)san' "/proc/$T_PID/maps" 2>/dev/null; then
	echo "SKIP: the daemon is built with a sanitizer" >&2
	exit 77
fi
sampler_start "$T_TMP/rss-write"
t0=$(date +%s)
pids=""
for n in 1 2 3 4; do
	h_start w$n "$MP/w$n" pwrite:0:448M:$n close
	pids="$pids $H_PID"
done
h_start m5 "$MP/m5" size:256M map:256M store:0:256M:5 munmap close
pids="$pids $H_PID"
for p5 in $pids; do
	h_wait_exit "$p5" 1200
	[ "$H_STATUS" -eq 0 ] || {
		cat "$T_TMP"/w*.out "$T_TMP"/m5.out >&2
		t_fail "a writer failed (status $H_STATUS) instead of being slowed"
	}
done
echo "write: 2 GiB through the mount in $(($(date +%s) - t0)) s"
phase_end write "$T_TMP/rss-write"

# -- read, on a fresh mount
t_mount "$BK" "$MP" -o cache_size=${CACHE_MB}M
sampler_start "$T_TMP/rss-read"
t0=$(date +%s)
pids=""
for n in 1 2 3 4; do
	h_start r$n -r "$MP/w$n" checksize:448M verify:0:448M:$n
	pids="$pids $H_PID"
done
h_start r5 -r "$MP/m5" checksize:256M map:256M mverify:0:256M:5
pids="$pids $H_PID"
for p5 in $pids; do
	h_wait_exit "$p5" 1200
	[ "$H_STATUS" -eq 0 ] || {
		cat "$T_TMP"/r*.out >&2
		t_fail "a reader failed (status $H_STATUS)"
	}
done
echo "read: 2 GiB through the mount in $(($(date +%s) - t0)) s"
phase_end read "$T_TMP/rss-read"

echo "PASS: E3"
exit 0
