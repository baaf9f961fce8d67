#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# examples/demo.sh - the main job on an embedded default: mount a demo
# backing directory with mmapfs, run a real program that shares a
# MAP_SHARED page between processes on the mount, show that the bytes are in
# the backing file, show SIGBUS after a truncation, and unmount.
#
#   examples/demo.sh [DEMO_DIR]      (run by `make demo`, as root)
set -eu

: "${top_builddir:=.}"
: "${MMAPFS:=$top_builddir/mmapfs}"
counter=$top_builddir/examples/mmap-counter
dir=${1:-${DEMO_DIR:-/tmp/mmapfs-demo}}
backing=$dir/backing
mnt=$dir/mnt
pid=

say() { printf '\n== %s\n' "$*"; }
mounted() { awk -v m="$mnt" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }
cleanup() {
	rc=$?
	if mounted; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ] && ! command -v fusermount3 >/dev/null; then
	echo "demo: needs root or fusermount3 (Debian package fuse3)" >&2
	exit 1
fi
mkdir -p "$backing" "$mnt"
mounted && { echo "demo: $mnt is already mounted; unmount it first" >&2; exit 1; }
rm -f "$backing/counter.dat" "$backing/shrink.dat"

say "mounting $backing on $mnt"
"$MMAPFS" -f "$backing" "$mnt" &
pid=$!
i=0
until mounted; do
	kill -0 "$pid" 2>/dev/null || { echo "demo: mmapfs exited" >&2; exit 1; }
	i=$((i + 1)); [ $i -lt 200 ] || { echo "demo: mount timed out" >&2; exit 1; }
	sleep 0.05
done
grep " $mnt " /proc/mounts

say "4 processes count to 400000 in one MAP_SHARED page of $mnt/counter.dat"
"$counter" "$mnt/counter.dat" 4 100000

say "the backing file $backing/counter.dat after msync(MS_SYNC)"
printf 'title:   %s\n' "$(head -c 64 "$backing/counter.dat" | tr -d '\000')"
printf 'counter: %s\n' "$(od -An -t u8 -j 64 -N 8 "$backing/counter.dat" | tr -d ' ')"

say "a file shrinks under a mapping: touching the page past the new end raises SIGBUS"
python3 - "$mnt/shrink.dat" <<'PY'
import mmap, os, signal, sys
path = sys.argv[1]
ps = mmap.PAGESIZE
with open(path, "wb") as f:
    f.write(b"x" * (2 * ps))
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 2 * ps, mmap.MAP_SHARED)
print("mapped 2 pages; page 1 starts with", m[ps:ps + 4])
if os.fork() == 0:
    os.truncate(path, ps // 2)      # another process shrinks the file
    os._exit(0)
os.wait()
print("file truncated to", os.fstat(fd).st_size, "bytes; tail of page 0 reads",
      m[ps // 2:ps // 2 + 4])
pid = os.fork()
if pid == 0:
    m[ps]                           # touch page 1: wholly past EOF
    os._exit(0)
_, st = os.waitpid(pid, 0)
sig = os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0
print("child touching page 1:", signal.Signals(sig).name if sig else "no signal")
sys.exit(0 if sig == signal.SIGBUS else 1)
PY

say "unmounting"
umount "$mnt"
wait "$pid"
rc=$?
pid=
echo "mmapfs exited with status $rc"
[ $rc -eq 0 ] && echo "demo finished: the data is in $backing"
exit $rc
