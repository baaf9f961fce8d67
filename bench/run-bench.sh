#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run-bench.sh - the benchmark behind `make bench`.
#
# Runs the same workloads on three configurations of one scratch directory
# on a local ext4 filesystem, and writes docs/benchmarks.md and
# docs/benchmarks-ratios.png from what it measured:
#
#   backing   the directory itself (the kernel's page cache, no FUSE)
#   mmapfs    mmapfs mounted over it
#   bindfs    bindfs mounted over it: a plain FUSE pass-through, the peer
#
# Interleaving.  For every repetition and every workload the three
# configurations run one after the other (backing, mmapfs, bindfs, backing,
# mmapfs, bindfs, ...), so a slow drift of the machine (a neighbour, the
# host's cache, the disk's state) spreads over the three columns instead of
# landing on one of them.  Each cell is the median of BENCH_REPS runs, with
# the minimum and maximum beside it.
#
# One daemon per measurement.  Each FUSE measurement mounts a fresh daemon
# and unmounts it afterwards, so mmapfs's own cache starts empty, the peak
# RSS (VmHWM) and the CPU time read from /proc/PID belong to that workload
# alone, and a crash spoils one cell, not the run.  "Cold" additionally
# means `sync; echo 3 > /proc/sys/vm/drop_caches` before the mount; "warm"
# means the file was read once through the same mount just before the timed
# part.
#
# Workloads (BENCH_WORKLOADS names): seq-write, seq-read-cold, seq-read-warm,
# rand-read-cold, rand-read-warm, rand-write, mmap-rand-read, mmap-rand-write
# (fio); smallfiles, sqlite, msync-latency (the programs in bench/);
# coherence (bench/coherence_bench, mmapfs only: see below); then pc_bench
# once, outside any mount.
#
# coherence (issue #6, docs/semantics.md A6).  Backing and bindfs have no
# notion of outside changes: only the mmapfs configuration runs it (the
# report says n/a for the others).  Each repetition, a fresh daemon and a second
# mmapfs mount of the same directory (MNTROOT/mmapfs2) for the two-mount
# kind; coherence_bench latency then times BENCH_COH_SAMPLES changes of
# each kind made outside the mount until they are visible through it (the
# report pools the samples of all repetitions: 200 in all by default).  In
# the first repetition only, coherence_bench idle opens BENCH_COH_FILES
# files through a fresh daemon and takes its CPU time over BENCH_COH_IDLE_S
# idle seconds, against the same daemon before the opens; then again with
# -o no_revalidate (no baseline there: no watcher to cost anything).
# About 2 minutes with the defaults.
#
# Sizes.  The sequential file (1 GiB) is as large as mmapfs's cache here, the
# random-I/O file (256 MiB) fits in it with room to spare, and time-based
# fio jobs run 5 s: long enough for a steady median on this machine, short
# enough that three repetitions of everything took under 10 minutes on
# 2 cores (the budget is 15), so a slower mmapfs still fits.
#
# Settings (environment):
#   BENCH_REPS=3          repetitions of everything
#   BENCH_QUICK=1         1 repetition and small sizes, for development
#   BENCH_DIR=/var/tmp/mmapfs-bench   scratch directory (local ext4, not tmpfs)
#   BENCH_SEQ_MIB=1024    sequential file size
#   BENCH_RAND_MIB=256    random-I/O file size
#   BENCH_RUNTIME=5       seconds per time-based fio job
#   BENCH_FILES=20000     small files created, stat()ed and unlinked
#   BENCH_SQLITE_ROWS=200000 BENCH_SQLITE_TXN=1000 BENCH_SQLITE_LOOKUPS=20000
#   BENCH_MSYNC_ITERS=2000
#   BENCH_COH_SAMPLES=67  latency samples per kind per repetition (default
#                         200 / BENCH_REPS, rounded up)
#   BENCH_COH_FILES=10000 files held open for the idle cost (issue #6).
#                         The daemon holds one descriptor per open file
#                         plus its caches, max_file_fds (RLIMIT_NOFILE / 4)
#                         and max_path_fds (/ 8): it fits about 5/8 of its
#                         limit in open files (12,500 under the hard limit
#                         of 20,000 of the benchmark machine, which root
#                         cannot raise there: no CAP_SYS_RESOURCE).  The
#                         harness raises its hard limit to fs.nr_open
#                         first where root may, and the daemon does too
#   BENCH_COH_IDLE_S=10   idle seconds measured, before and after the opens
#   BENCH_CACHE_SIZE=1073741824  mmapfs -o cache_size= (bytes)
#   BENCH_MMAPFS_OPTS=    more mmapfs -o options, comma-separated
#   BENCH_BINDFS_OPTS=    more bindfs arguments
#   BENCH_CONFIGS="backing mmapfs bindfs"   a subset, for development
#   BENCH_WORKLOADS="..."  a subset of the workloads (names below)
#   BENCH_PC=1            also run the pagecache micro-benchmark (pc_bench)
#   BENCH_PC_REPS=11      its repetitions (not BENCH_REPS: its write-back
#                         figures need at least 7 to say anything here;
#                         11 keep its 2 s outliers from deciding)
#   BENCH_PERF="WL..."    perf record -g the mmapfs daemon during these
#                         workloads (first repetition); the profiles are left
#                         in BENCH_DIR/run/perf-WL.{data,txt} and summed up
#                         in the report
#   BENCH_TIMEOUT=600     seconds before one measurement is killed
#   BENCH_OUT_MD, BENCH_OUT_PNG   where the report goes (default docs/)
#   MMAPFS, BENCH_BINDIR, top_srcdir   set by `make bench`
#
# Usage: run-bench.sh            run everything (as root)
#        run-bench.sh --check-deps   only check the required packages
#
# BENCH_DIR is kept between runs: its three input files (1.5 GiB) are laid
# out once and reused; delete the directory to reclaim the space.
#
# A measurement that fails (mount refused, daemon crashed, timeout) is
# recorded as failed, its log kept in BENCH_DIR/logs/, and the run goes on;
# the report marks the cell.  Exit status: 0 if every measurement succeeded,
# 1 on a missing dependency or setup error, 2 if some measurement failed.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$here/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MMAPFS:=$top_builddir/mmapfs}"
: "${BENCH_BINDIR:=$top_builddir/bench}"
: "${PYTHON:=python3}"

# ---- Dependencies --------------------------------------------------------

# Prints the Debian packages that are missing, one per line.
missing_packages() {
	command -v fio >/dev/null || echo fio
	command -v bindfs >/dev/null || echo bindfs
	command -v fusermount3 >/dev/null || echo fuse3
	command -v "$PYTHON" >/dev/null || echo python3
	# sqlite_bench is a C program against libsqlite3; the sqlite3 CLI is
	# not needed.
	[ -e /usr/include/sqlite3.h ] || echo libsqlite3-dev
	if ! command -v gnuplot >/dev/null &&
	   ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
		echo gnuplot-nox
	fi
	command -v perf >/dev/null || [ -z "${BENCH_PERF:-}" ] || echo linux-perf
}

check_deps() {
	local miss
	miss=$(missing_packages | tr '\n' ' ')
	miss=${miss% }
	if [ -n "$miss" ]; then
		echo "run-bench: missing Debian packages: $miss" >&2
		echo "run-bench: install them with:" >&2
		echo "    apt-get install -y $miss" >&2
		return 1
	fi
}

if [ "${1:-}" = --check-deps ]; then
	check_deps || exit 1
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [--check-deps]" >&2; exit 1; }
check_deps || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "run-bench: must run as root (drop_caches, mounts)" >&2
	exit 1
fi
if [ ! -c /dev/fuse ]; then
	echo "run-bench: no /dev/fuse" >&2
	exit 1
fi

# ---- Settings ------------------------------------------------------------

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	q_reps=1 q_seq=128 q_rand=32 q_rt=1 q_files=2000
	q_rows=20000 q_lookups=2000 q_msync=200 q_pc="-s 128 -h 16 -n 200000"
	q_pc_reps=1
	q_coh_files=500 q_coh_idle=2
else
	q_reps=3 q_seq=1024 q_rand=256 q_rt=5 q_files=20000
	q_rows=200000 q_lookups=20000 q_msync=2000 q_pc="" q_pc_reps=11
	q_coh_files=10000 q_coh_idle=10
fi
REPS=${BENCH_REPS:-$q_reps}
PC_REPS=${BENCH_PC_REPS:-$q_pc_reps}
DIR=${BENCH_DIR:-/var/tmp/mmapfs-bench}
SEQ_MIB=${BENCH_SEQ_MIB:-$q_seq}
RAND_MIB=${BENCH_RAND_MIB:-$q_rand}
RUNTIME=${BENCH_RUNTIME:-$q_rt}
FILES=${BENCH_FILES:-$q_files}
SQL_ROWS=${BENCH_SQLITE_ROWS:-$q_rows}
SQL_TXN=${BENCH_SQLITE_TXN:-1000}
SQL_LOOKUPS=${BENCH_SQLITE_LOOKUPS:-$q_lookups}
MSYNC_ITERS=${BENCH_MSYNC_ITERS:-$q_msync}
COH_SAMPLES=${BENCH_COH_SAMPLES:-$(( (200 + REPS - 1) / REPS ))}
COH_FILES=${BENCH_COH_FILES:-$q_coh_files}
# Open files: coherence_bench holds COH_FILES descriptors and each daemon
# one per open file and its caches, all sized from RLIMIT_NOFILE.  Root
# may raise the hard limit (with CAP_SYS_RESOURCE; in a container often
# not): try, then give the children the whole of it.
ulimit -Hn "$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 0)" 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -Hn)" != unlimited ] &&
   [ $((COH_FILES * 8 / 5 + 64)) -gt "$(ulimit -Hn)" ]; then
	echo "run-bench: WARNING: $COH_FILES open files may not fit in the daemon's open-file limit ($(ulimit -Hn)); set BENCH_COH_FILES lower or raise ulimit -Hn" >&2
fi
COH_IDLE_S=${BENCH_COH_IDLE_S:-$q_coh_idle}
CACHE_SIZE=${BENCH_CACHE_SIZE:-1073741824}
MMAPFS_OPTS="cache_size=$CACHE_SIZE${BENCH_MMAPFS_OPTS:+,$BENCH_MMAPFS_OPTS}"
read -r -a BINDFS_ARGS <<<"${BENCH_BINDFS_OPTS:-}"
TIMEOUT=${BENCH_TIMEOUT:-600}
OUT_MD=${BENCH_OUT_MD:-$top_srcdir/docs/benchmarks.md}
OUT_PNG=${BENCH_OUT_PNG:-$top_srcdir/docs/benchmarks-ratios.png}
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-backing mmapfs bindfs}"
ALL_WORKLOADS=(seq-write seq-read-cold seq-read-warm rand-read-cold
	rand-read-warm rand-write mmap-rand-read mmap-rand-write smallfiles
	sqlite msync-latency coherence)
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-${ALL_WORKLOADS[*]}}"

DATA=$DIR/data		# the backing directory shared by the three configs
MNTROOT=$DIR/mnt
RUN=$DIR/run		# raw results of this run
LOGS=$DIR/logs
RESULTS=$RUN/results.jsonl
COMMANDS=$RUN/commands.txt
CLK_TCK=$(getconf CLK_TCK)

for w in "${WORKLOADS[@]}"; do
	case " ${ALL_WORKLOADS[*]} " in
	*" $w "*) ;;
	*) echo "run-bench: unknown workload $w" >&2; exit 1 ;;
	esac
done
for c in "${CONFIGS[@]}"; do
	case $c in
	backing|mmapfs|bindfs) ;;
	*) echo "run-bench: unknown configuration $c" >&2; exit 1 ;;
	esac
done
for p in msync_latency smallfiles sqlite_bench pc_bench coherence_bench; do
	if [ ! -x "$BENCH_BINDIR/$p" ]; then
		echo "run-bench: $BENCH_BINDIR/$p is not built (use make bench)" >&2
		exit 1
	fi
done

# mmapfs is being written alongside this harness: when its binary does not
# exist yet, the run goes on without it and the report says so.
MMAPFS_MISSING=""
if [ ! -x "$MMAPFS" ]; then
	MMAPFS_MISSING="$MMAPFS was not built"
	echo "run-bench: WARNING: $MMAPFS_MISSING; the mmapfs column will be empty" >&2
	new=()
	for c in "${CONFIGS[@]}"; do [ "$c" = mmapfs ] || new+=("$c"); done
	CONFIGS=("${new[@]}")
fi

# ---- Mounts and cleanup --------------------------------------------------

CUR_MNT=""	# the FUSE mount point now mounted, if any
CUR_PID=""	# its daemon
CUR_MNT2="" CUR_PID2=""	# the second mmapfs mount of coh-latency
SF_LAST_END=""	# when the last smallfiles run ended (wl_prepare)
MMAPFS_EXTRA=""	# more -o options for this measurement (coh-idle-norv)
PERF_PID=""
CHILD_PID=""	# the workload now running, see run_child

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

# Unmount $CUR_MNT and wait for its daemon (it may be writing back).
# Returns the daemon's exit status; on a stuck daemon, detaches and kills.
unmount_current() {
	local rc=0 i=0
	if [ -n "$CUR_MNT2" ]; then
		if is_mounted "$CUR_MNT2"; then
			umount "$CUR_MNT2" 2>/dev/null || umount -l "$CUR_MNT2" 2>/dev/null || true
		else
			kill "$CUR_PID2" 2>/dev/null || true	# never mounted
		fi
		wait "$CUR_PID2" 2>/dev/null || true
		CUR_MNT2="" CUR_PID2=""
	fi
	[ -n "$CUR_MNT" ] || return 0
	if is_mounted "$CUR_MNT"; then
		umount "$CUR_MNT" 2>/dev/null || fusermount3 -u "$CUR_MNT" 2>/dev/null ||
			umount -l "$CUR_MNT" 2>/dev/null || true
	fi
	if [ -n "$CUR_PID" ]; then
		while kill -0 "$CUR_PID" 2>/dev/null && [ $i -lt 1200 ]; do
			sleep 0.05; i=$((i + 1))
		done
		if kill -0 "$CUR_PID" 2>/dev/null; then
			echo "run-bench: daemon $CUR_PID still running 60 s after unmount; killing it" >&2
			kill -9 "$CUR_PID" 2>/dev/null || true
			rc=1
		fi
		wait "$CUR_PID" 2>/dev/null || rc=$?
	fi
	if is_mounted "$CUR_MNT"; then
		umount -l "$CUR_MNT" 2>/dev/null || true
	fi
	CUR_MNT="" CUR_PID=""
	return $rc
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# timeout(1) passes the signal on to the workload it runs
	if [ -n "$CHILD_PID" ]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; fi
	unmount_current || true
	for m in "$MNTROOT/mmapfs2" "$MNTROOT/mmapfs" "$MNTROOT/bindfs"; do
		if is_mounted "$m"; then umount -l "$m" 2>/dev/null || true; fi
	done
	if grep -q " $MNTROOT/" /proc/mounts; then
		echo "run-bench: ERROR: a mount is left behind:" >&2
		grep " $MNTROOT/" /proc/mounts >&2
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mount_config CONFIG LOG - mount CONFIG over $DATA, set CUR_MNT/CUR_PID and
# TARGET (the directory the workload uses).  Returns 1 if it did not mount.
mount_config() {
	local cfg=$1 log=$2 i=0
	case $cfg in
	backing)
		TARGET=$DATA
		return 0 ;;
	mmapfs)
		CUR_MNT=$MNTROOT/mmapfs
		mkdir -p "$CUR_MNT"
		"$MMAPFS" -f -o "$MMAPFS_OPTS${MMAPFS_EXTRA:+,$MMAPFS_EXTRA}" \
			"$DATA" "$CUR_MNT" 2>>"$log" &
		CUR_PID=$! ;;
	bindfs)
		CUR_MNT=$MNTROOT/bindfs
		mkdir -p "$CUR_MNT"
		bindfs -f ${BINDFS_ARGS[@]+"${BINDFS_ARGS[@]}"} "$DATA" "$CUR_MNT" 2>>"$log" &
		CUR_PID=$! ;;
	esac
	TARGET=$CUR_MNT
	while ! is_mounted "$CUR_MNT"; do
		if ! kill -0 "$CUR_PID" 2>/dev/null; then
			echo "run-bench: $cfg exited before mounting" >>"$log"
			wait "$CUR_PID" 2>/dev/null || true
			CUR_MNT="" CUR_PID=""
			return 1
		fi
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "run-bench: $cfg did not mount in 10 s" >>"$log"
			unmount_current || true
			return 1
		fi
		sleep 0.05
	done
}

# mount_second LOG - a second mmapfs mount of $DATA on $MNTROOT/mmapfs2,
# with the same options (coh-latency's two-mount kind).  Returns 1 if it
# did not mount.
mount_second() {
	local log=$1 i=0
	CUR_MNT2=$MNTROOT/mmapfs2
	mkdir -p "$CUR_MNT2"
	"$MMAPFS" -f -o "$MMAPFS_OPTS" "$DATA" "$CUR_MNT2" 2>>"$log.second" &
	CUR_PID2=$!
	while ! is_mounted "$CUR_MNT2"; do
		i=$((i + 1))
		if ! kill -0 "$CUR_PID2" 2>/dev/null || [ $i -gt 200 ]; then
			echo "run-bench: the second mmapfs did not mount" >>"$log"
			return 1
		fi
		sleep 0.05
	done
}

# daemon_cpu_ticks PID - utime + stime of every thread of PID.  The command
# name in /proc/PID/stat is in parentheses and may hold spaces, so fields
# are counted after the last ')': utime and stime are then the 12th and 13th.
daemon_cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}

daemon_hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# The flush requests completed by the device under $DATA (field 16 of
# /sys/block/DEV/stat), or nothing if the kernel does not count them.
FLUSH_STAT=""
find_flush_stat() {
	local src dev
	src=$(df --output=source "$DATA" | tail -n1)
	dev=$(basename "$(readlink -f "$src")")
	if [ -r "/sys/class/block/$dev/stat" ] &&
	   [ "$(wc -w <"/sys/class/block/$dev/stat")" -ge 17 ]; then
		FLUSH_STAT=/sys/class/block/$dev/stat
	fi
}
device_flushes() {
	if [ -n "$FLUSH_STAT" ]; then awk '{ print $16 }' "$FLUSH_STAT"; else echo 0; fi
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# ---- Workloads -------------------------------------------------------------
#
# Files in $DATA, laid out once (untimed) by setup_files:
#   seq.dat   BENCH_SEQ_MIB   read by seq-read-*
#   rand.dat  BENCH_RAND_MIB  read by rand-read-* and mmap-rand-read
#   randw.dat BENCH_RAND_MIB  overwritten in place by rand-write and
#                             mmap-rand-write (already allocated, so the
#                             random writes do not extend or allocate)
# Written fresh by each run: w-seq.dat, msync.dat, sqlite/, smallfiles/.

FIO_COMMON=(--ioengine=psync --iodepth=1 --numjobs=1 --invalidate=0
	--fallocate=none --randrepeat=1 --output-format=json)

# wl_cold WL - 0 if the workload must start with every cache empty.
wl_cold() { case $1 in seq-read-cold|rand-read-cold) return 0 ;; esac; return 1; }

# wl_warm_file WL - the file read through the mount before the timed part.
wl_warm_file() {
	case $1 in
	seq-read-warm) echo seq.dat ;;
	rand-read-warm|mmap-rand-read) echo rand.dat ;;
	mmap-rand-write) echo randw.dat ;;
	esac
}

# wl_prepare WL - untimed clean-up in the backing directory, before mounting.
wl_prepare() {
	case $1 in
	seq-write) rm -f "$DATA/w-seq.dat" ;;
	smallfiles)
		rm -rf "$DATA/smallfiles"; mkdir "$DATA/smallfiles"
		# The scratch ext4 has no journal here: its inode allocator
		# then skips, one by one, every inode freed in the last
		# vm.dirty_expire_centisecs (+5 s) - recently_deleted() in
		# fs/ext4/ialloc.c.  Right after another configuration's
		# 20,000 unlinks, creating files was 7 times slower on the
		# backing fs itself (5,900 against 43,000 files/s), and which
		# configuration came after which decided the result.  So each
		# run starts when the last one's unlinks are that old.
		if [ -n "$SF_LAST_END" ]; then
			local recent wait_s
			recent=$(( $(cat /proc/sys/vm/dirty_expire_centisecs) / 100 + 6 ))
			wait_s=$(( SF_LAST_END + recent - $(date +%s) ))
			[ "$wait_s" -le 0 ] || sleep "$wait_s"
		fi ;;
	sqlite) rm -rf "$DATA/sqlite"; mkdir "$DATA/sqlite" ;;
	msync-latency) rm -f "$DATA/msync.dat" ;;
	coh-*) rm -rf "$DATA/coherence" "$DATA/coherence-idle" ;;
	esac
}

# wl_command WL OUT - prints nothing; sets CMD to the measurement command
# line, which writes its JSON to OUT.
wl_command() {
	local wl=$1 out=$2 t=$TARGET
	local seq=(--bs=1M --size="${SEQ_MIB}M")
	local rnd=(--bs=4k --size="${RAND_MIB}M")
	local tb=(--time_based --runtime="$RUNTIME")
	case $wl in
	seq-write) CMD=(fio --name="$wl" --filename="$t/w-seq.dat" "${FIO_COMMON[@]}"
		--rw=write "${seq[@]}" --end_fsync=1 --output="$out") ;;
	seq-read-cold) CMD=(fio --name="$wl" --filename="$t/seq.dat" "${FIO_COMMON[@]}"
		--rw=read "${seq[@]}" --output="$out") ;;
	seq-read-warm) CMD=(fio --name="$wl" --filename="$t/seq.dat" "${FIO_COMMON[@]}"
		--rw=read "${seq[@]}" "${tb[@]}" --output="$out") ;;
	# One pass at most (the random map never repeats a block), so every
	# read of the cold run is a miss; capped at RUNTIME seconds.
	rand-read-cold) CMD=(fio --name="$wl" --filename="$t/rand.dat" "${FIO_COMMON[@]}"
		--rw=randread "${rnd[@]}" --runtime="$RUNTIME" --output="$out") ;;
	rand-read-warm) CMD=(fio --name="$wl" --filename="$t/rand.dat" "${FIO_COMMON[@]}"
		--rw=randread "${rnd[@]}" "${tb[@]}" --output="$out") ;;
	rand-write) CMD=(fio --name="$wl" --filename="$t/randw.dat" "${FIO_COMMON[@]}"
		--rw=randwrite "${rnd[@]}" --fsync=32 "${tb[@]}" --output="$out") ;;
	mmap-rand-read) CMD=(fio --name="$wl" --filename="$t/rand.dat" "${FIO_COMMON[@]}"
		--ioengine=mmap --rw=randread "${rnd[@]}" "${tb[@]}" --output="$out") ;;
	# With the mmap engine, fsync=N makes every Nth operation a sync,
	# which the engine performs as msync(MS_SYNC) of the whole mapping
	# (fio engines/mmap.c); sync=1 would only open the file O_SYNC, which
	# stores through a mapping ignore.
	mmap-rand-write) CMD=(fio --name="$wl" --filename="$t/randw.dat" "${FIO_COMMON[@]}"
		--ioengine=mmap --rw=randwrite "${rnd[@]}" --fsync=32 "${tb[@]}" --output="$out") ;;
	smallfiles) CMD=("$BENCH_BINDIR/smallfiles" "$t/smallfiles" "$FILES" 1024) ;;
	sqlite) CMD=("$BENCH_BINDIR/sqlite_bench" "$t/sqlite/bench.db" "$SQL_ROWS"
		"$SQL_TXN" "$SQL_LOOKUPS") ;;
	msync-latency) CMD=("$BENCH_BINDIR/msync_latency" "$t/msync.dat" "$MSYNC_ITERS") ;;
	coh-latency) CMD=("$BENCH_BINDIR/coherence_bench" latency "$t" "$DATA"
		"$COH_SAMPLES" --second-mount "$MNTROOT/mmapfs2") ;;
	coh-idle) CMD=("$BENCH_BINDIR/coherence_bench" idle "$t" "$DATA"
		"$COH_FILES" "$COH_IDLE_S" "$CUR_PID") ;;
	coh-idle-norv) CMD=("$BENCH_BINDIR/coherence_bench" idle "$t" "$DATA"
		"$COH_FILES" "$COH_IDLE_S" "$CUR_PID" 0) ;;
	esac
}

# wl_metrics WL OUT - the measured values of a finished run, as
# "metric value" lines; fails if OUT does not hold them.
wl_metrics() {
	local wl=$1 out=$2 v r=$here/report.py
	case $wl in
	seq-write) v=$("$PYTHON" "$r" fio "$out" write bw_mib) ;;
	seq-read-*) v=$("$PYTHON" "$r" fio "$out" read bw_mib) ;;
	rand-read-*|mmap-rand-read) v=$("$PYTHON" "$r" fio "$out" read iops) ;;
	rand-write|mmap-rand-write) v=$("$PYTHON" "$r" fio "$out" write iops) ;;
	smallfiles) "$PYTHON" "$r" json "$out" smallfiles-create=create_ops \
		smallfiles-stat=stat_ops smallfiles-unlink=unlink_ops; return ;;
	sqlite) "$PYTHON" "$r" json "$out" sqlite-insert=insert_rows_per_s \
		sqlite-lookup=lookups_per_s; return ;;
	msync-latency) "$PYTHON" "$r" json "$out" msync-median=median_us \
		msync-p99=p99_us; return ;;
	# The full figures are in the JSON itself, which report.py reads.
	coh-latency) "$PYTHON" "$r" json "$out" \
		coh-pwrite-mmap-median=kinds.pwrite_mmap.median_us \
		coh-mstore-mmap-median=kinds.mstore_mmap.median_us \
		coh-timeouts=timeouts; return ;;
	coh-idle) "$PYTHON" "$r" json "$out" \
		coh-idle-base-cpu-pct=baseline.cpu_pct \
		coh-idle-cpu-pct=open.cpu_pct; return ;;
	coh-idle-norv) "$PYTHON" "$r" json "$out" \
		coh-idle-norv-cpu-pct=open.cpu_pct; return ;;
	esac
	echo "$wl $v"
}

setup_files() {
	local f mib
	mkdir -p "$DATA" "$MNTROOT" "$RUN" "$LOGS"
	for f in seq.dat:$SEQ_MIB rand.dat:$RAND_MIB randw.dat:$RAND_MIB; do
		mib=${f#*:} f=${f%%:*}
		if [ "$(stat -c %s "$DATA/$f" 2>/dev/null || echo 0)" != $((mib << 20)) ]; then
			rm -f "$DATA/$f"
			fio --name=layout --filename="$DATA/$f" --rw=write --bs=1M \
				--size="${mib}M" --end_fsync=1 --fallocate=none \
				--output-format=terse >/dev/null
		fi
	done
	sync
}

# ---- One measurement -------------------------------------------------------

# run_child OUT LOG CMD... - run CMD under a time limit with its stdout in OUT
# and stderr appended to LOG.  It runs in the background and is waited for,
# so that a signal to this script runs the cleanup at once (bash delays traps
# until a foreground child exits); cleanup() then kills CHILD_PID.
run_child() {
	local out=$1 log=$2 rc=0
	shift 2
	timeout -k 10 "$TIMEOUT" "$@" >"$out" 2>>"$log" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=""
	return $rc
}

# last_error LOG - the last line of LOG as a JSON string, for the report;
# not the counters mmapfs's watcher logs at every unmount, which would hide
# the error before them.
last_error() {
	grep -v '^mmapfs: watcher: ' "$1" | tail -n 1 |
		"$PYTHON" -c 'import json, sys; print(json.dumps(sys.stdin.read().strip()))'
}

# emit JSON-FIELDS... - append one line to the results.
emit() { echo "{$*}" >>"$RESULTS"; }

# measure STEP REP CONFIG WL - run one workload on one configuration.
# Returns 0; a failure is recorded in the results, not returned, so that the
# remaining cells are still measured.
measure() {
	local step=$1 rep=$2 cfg=$3 wl=$4
	local tag="$cfg-$wl-r$rep" log out cpu0=0 cpu1=0 hwm=0 rc=0 warm
	local metrics name value cpu_s shown="" t0 fl0=0 fl1=0
	t0=$(date +%s.%N)
	log=$LOGS/$tag.log out=$RUN/$tag.json
	: >"$log"
	printf '[%d/%d] %s %s rep %d ... ' "$step" "$TOTAL" "$cfg" "$wl" "$rep"

	wl_prepare "$wl"
	if wl_cold "$wl"; then drop_caches; else sync; fi
	MMAPFS_EXTRA=""
	[ "$wl" != coh-idle-norv ] || MMAPFS_EXTRA=no_revalidate
	if ! mount_config "$cfg" "$log"; then
		echo "FAILED (mount; see $log)"
		emit "\"rep\": $rep, \"config\": \"$cfg\", \"workload\": \"$wl\", \"ok\": false, \"error\": \"mount failed\", \"log\": $(last_error "$log")"
		return 0
	fi
	warm=$(wl_warm_file "$wl")
	if [ -n "$warm" ] && ! cat "$TARGET/$warm" >/dev/null 2>>"$log"; then
		rc=1
	fi
	if [ "$wl" = coh-latency ] && ! mount_second "$log"; then
		rc=1
	fi
	wl_command "$wl" "$out"
	if [ "$rep" = 1 ] && { [ "$cfg" = "${CONFIGS[0]}" ] || [[ $wl == coh-* ]]; }; then
		{ printf '%s:' "$wl"; printf ' %q' "${CMD[@]}"; echo; } >>"$COMMANDS"
	fi
	if [ -n "$CUR_PID" ]; then cpu0=$(daemon_cpu_ticks "$CUR_PID"); fi
	if [ "$cfg" = mmapfs ] && [ "$rep" = 1 ] &&
	   [[ " ${BENCH_PERF:-} " == *" $wl "* ]]; then
		perf record -g -p "$CUR_PID" -o "$RUN/perf-$wl.data" \
			>"$RUN/perf-$wl.log" 2>&1 &
		PERF_PID=$!
		sleep 1		# perf takes a moment to attach
	fi
	fl0=$(device_flushes)
	if [ $rc = 0 ]; then
		case $wl in
		smallfiles|sqlite|msync-latency|coh-*)
			run_child "$out" "$log" "${CMD[@]}" || rc=$? ;;
		*) run_child /dev/null "$log" "${CMD[@]}" || rc=$? ;;
		esac
		[ "$wl" != smallfiles ] || SF_LAST_END=$(date +%s)
	fi
	fl1=$(device_flushes)
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
		PERF_PID=""
		perf report -i "$RUN/perf-$wl.data" --no-children -g none \
			--sort=dso,sym --stdio >"$RUN/perf-$wl.txt" \
			2>>"$RUN/perf-$wl.log" || true
	fi
	if [ -n "$CUR_PID" ]; then
		cpu1=$(daemon_cpu_ticks "$CUR_PID")
		hwm=$(daemon_hwm_kib "$CUR_PID")
	fi
	if [ $rc = 0 ] && [ -n "$CUR_MNT" ] && ! kill -0 "$CUR_PID" 2>/dev/null; then
		rc=1		# the daemon died under the workload
	fi
	if ! unmount_current; then
		echo "run-bench: $cfg exited with an error at unmount" >>"$log"
		[ $rc != 0 ] || rc=1
	fi
	# A file the watcher could not watch would make the idle cost too low.
	if [ "$wl" = coh-idle ] && grep -q "cannot watch a backing file" "$log"; then
		echo "run-bench: the daemon could not watch every file" >>"$log"
		[ $rc != 0 ] || rc=1
	fi
	if [ $rc != 0 ] || ! metrics=$(wl_metrics "$wl" "$out" 2>>"$log") ||
	   [ -z "$metrics" ]; then
		echo "FAILED (status $rc; see $log)"
		emit "\"rep\": $rep, \"config\": \"$cfg\", \"workload\": \"$wl\", \"ok\": false, \"error\": \"status $rc\", \"log\": $(last_error "$log")"
		return 0
	fi
	cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / t }')
	# A durable msync needs at least one device cache flush; counting
	# them (the whole machine's, so an upper bound) exposes a filesystem
	# that answers msync without reaching the disk.  msync_latency makes
	# ITERS timed msyncs, 50 warm-up ones and one of the whole file.
	if [ "$wl" = msync-latency ] && [ -n "$FLUSH_STAT" ]; then
		metrics="$metrics
msync-flushes $(awk -v a="$fl0" -v b="$fl1" -v n="$MSYNC_ITERS" 'BEGIN { printf "%.2f", (b - a) / (n + 51) }')"
	fi
	while read -r name value; do
		if [ "$cfg" != backing ]; then
			emit "\"rep\": $rep, \"config\": \"$cfg\", \"workload\": \"$wl\", \"ok\": true, \"metric\": \"$name\", \"value\": $value, \"cpu_s\": $cpu_s, \"rss_kib\": $hwm"
		else
			emit "\"rep\": $rep, \"config\": \"$cfg\", \"workload\": \"$wl\", \"ok\": true, \"metric\": \"$name\", \"value\": $value"
		fi
		shown="$shown $name=$value"
	done <<<"$metrics"
	echo "${shown# } ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
}

# ---- Machine and versions ------------------------------------------------

write_meta() {
	local ndebug=no cfg_h=$top_builddir/config.h
	grep -q '^#define NDEBUG 1' "$cfg_h" 2>/dev/null && ndebug=yes
	"$PYTHON" - "$RUN/meta.json" <<EOF
import json, sys
json.dump({
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "host_nproc": "$(nproc)",
    "mem_total": "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)",
    "cpu_model": "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)",
    "kernel": "$(uname -srm)",
    "debian": "$(cat /etc/debian_version 2>/dev/null || echo '?')",
    "fio": "$(fio --version)",
    "bindfs": "$(bindfs --version 2>&1 | head -n1)",
    "libfuse": "$(pkg-config --modversion fuse3 2>/dev/null || echo '?')",
    "liburing": "$(pkg-config --modversion liburing 2>/dev/null || echo '?')",
    "sqlite": "$(pkg-config --modversion sqlite3 2>/dev/null || dpkg-query -W -f '${Version}' libsqlite3-0 2>/dev/null || echo '?')",
    "cc": "$(${CC:-cc} --version 2>/dev/null | head -n1)",
    "mmapfs_rev": "$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null || echo '?')",
    "mmapfs_missing": "$MMAPFS_MISSING",
    "ndebug": "$ndebug",
    "backing_fs": "$(df -T "$DATA" | awk 'NR == 2 { print $2 " on " $1 }')",
    "backing_mount_opts": "$(awk -v d="$(df --output=target "$DATA" | tail -n1)" '$2 == d { print $4; exit }' /proc/mounts)",
    "dir": "$DIR",
    "reps": $REPS,
    "seq_mib": $SEQ_MIB, "rand_mib": $RAND_MIB, "runtime": $RUNTIME,
    "files": $FILES, "sqlite_rows": $SQL_ROWS, "sqlite_txn": $SQL_TXN,
    "sqlite_lookups": $SQL_LOOKUPS, "msync_iters": $MSYNC_ITERS,
    "coh_samples": $COH_SAMPLES, "coh_files": $COH_FILES,
    "coh_idle_s": $COH_IDLE_S,
    "cache_size": $CACHE_SIZE,
    "mmapfs_cmd": "$MMAPFS -f -o $MMAPFS_OPTS BACKING MNT",
    "bindfs_cmd": "bindfs -f ${BENCH_BINDFS_OPTS:-}${BENCH_BINDFS_OPTS:+ }BACKING MNT",
    "configs": "${CONFIGS[*]}",
    "loadavg_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "nofile": "$(ulimit -Sn) soft, $(ulimit -Hn) hard",
    "quick": "${BENCH_QUICK:-0}",
}, open(sys.argv[1], "w"), indent=1)
EOF
}

# ---- Main ------------------------------------------------------------------

fstype=$(stat -f -c %T "$(dirname "$DIR")" 2>/dev/null || echo unknown)
case $fstype in
tmpfs|ramfs|fuse*)
	echo "run-bench: $DIR is on $fstype; use a disk filesystem (BENCH_DIR)" >&2
	exit 1 ;;
esac
for m in "$MNTROOT/mmapfs" "$MNTROOT/mmapfs2" "$MNTROOT/bindfs"; do
	if is_mounted "$m"; then
		echo "run-bench: $m is mounted (an earlier run?); unmount it first" >&2
		exit 1
	fi
done
rm -rf "$RUN" "$LOGS"
mkdir -p "$DIR" "$RUN" "$LOGS"
: >"$RESULTS"
: >"$COMMANDS"
start=$(date +%s)

echo "run-bench: laying out files in $DATA"
setup_files
find_flush_stat
write_meta

# coherence: its measurements, in repetition REP, on mmapfs only.
coh_parts() {
	echo coh-latency
	[ "$1" != 1 ] || echo coh-idle coh-idle-norv
}
has_mmapfs=0
for c in "${CONFIGS[@]}"; do [ "$c" != mmapfs ] || has_mmapfs=1; done
TOTAL=0
for rep in $(seq 1 "$REPS"); do
	for wl in "${WORKLOADS[@]}"; do
		if [ "$wl" = coherence ]; then
			TOTAL=$((TOTAL + $(coh_parts "$rep" | wc -w) * has_mmapfs))
		else
			TOTAL=$((TOTAL + ${#CONFIGS[@]}))
		fi
	done
done
[ "${BENCH_PC:-1}" = 1 ] && TOTAL=$((TOTAL + 1))
step=0
# smallfiles runs apart, one configuration at a time spread over the
# repetition (before the first workload, then after each further share of
# them), so that the other workloads fill the time ext4 wants between one
# run's unlinks and the next run's creates (wl_prepare) instead of a sleep.
has_sf=0
for w in "${WORKLOADS[@]}"; do [ "$w" != smallfiles ] || has_sf=1; done
sf_slot() {	# sf_slot I - the configuration indexes to run before workload I
	local n=${#WORKLOADS[@]} k=${#CONFIGS[@]} j
	for j in $(seq 0 $((k - 1))); do
		[ "$1" != $((j * n / k)) ] || echo "$j"
	done
}
for rep in $(seq 1 "$REPS"); do
	i=0
	for wl in "${WORKLOADS[@]}"; do
		if [ $has_sf = 1 ]; then
			for j in $(sf_slot $i); do
				step=$((step + 1))
				measure "$step" "$rep" "${CONFIGS[$j]}" smallfiles
			done
		fi
		i=$((i + 1))
		[ "$wl" != smallfiles ] || continue
		if [ "$wl" = coherence ]; then
			[ $has_mmapfs = 1 ] || continue
			for part in $(coh_parts "$rep"); do
				step=$((step + 1))
				measure "$step" "$rep" mmapfs "$part"
			done
			continue
		fi
		for cfg in "${CONFIGS[@]}"; do
			step=$((step + 1))
			measure "$step" "$rep" "$cfg" "$wl"
		done
	done
done

if [ "${BENCH_PC:-1}" = 1 ]; then
	step=$((step + 1))
	printf '[%d/%d] pagecache pc_bench (%d reps) ... ' "$step" "$TOTAL" "$PC_REPS"
	# shellcheck disable=SC2086 # q_pc is a list of options
	if run_child "$RUN/pc_bench.json" "$LOGS/pc_bench.log" \
		"$BENCH_BINDIR/pc_bench" -r "$PC_REPS" $q_pc "$DATA"; then
		echo "done"
	else
		echo "FAILED (see $LOGS/pc_bench.log)"
		rm -f "$RUN/pc_bench.json"
	fi
	echo "pc_bench: $BENCH_BINDIR/pc_bench -r $PC_REPS $q_pc $DATA" >>"$COMMANDS"
fi

elapsed=$(( $(date +%s) - start ))
cut -d' ' -f1-3 /proc/loadavg >"$RUN/loadavg_end"
rm -rf "$DATA/smallfiles" "$DATA/sqlite" "$DATA/w-seq.dat" "$DATA/msync.dat" \
	"$DATA/coherence" "$DATA/coherence-idle"
mkdir -p "$(dirname "$OUT_MD")" "$(dirname "$OUT_PNG")"
"$PYTHON" "$here/report.py" render --run "$RUN" --elapsed "$elapsed" \
	--md "$OUT_MD" --png "$OUT_PNG"
echo "run-bench: $(( elapsed / 60 )) min $(( elapsed % 60 )) s; report in $OUT_MD"
failed=no
[ -z "$MMAPFS_MISSING" ] || failed=yes
grep -q '"ok": false' "$RESULTS" && failed=yes
[ "${BENCH_PC:-1}" = 1 ] && [ ! -s "$RUN/pc_bench.json" ] && failed=yes
if [ $failed = yes ]; then
	echo "run-bench: some measurements failed; see $LOGS" >&2
	exit 2
fi
exit 0
