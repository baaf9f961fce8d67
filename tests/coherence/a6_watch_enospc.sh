#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_watch_enospc.sh - SEMANTICS A6 when inotify watches run out: a file
# the daemon cannot watch (inotify_add_watch fails with ENOSPC) is polled
# instead, the daemon says so in one log line however many watches fail,
# and outside changes to such a file are still seen through an existing
# mapping and read() on the mount within the poll bound.
#
# HOW THE WATCHES RUN OUT: for real, not by fault injection.  The whole
# test body runs in a new user and mount namespace (unshare --user
# --map-root-user --mount; it re-executes itself there).  inotify watches
# are counted per user per user namespace and limited at every level, so
# writing /proc/sys/user/max_inotify_watches there (its root may) limits
# only this namespace: the daemon, started inside it, gets a genuine ENOSPC
# from inotify_add_watch after WATCHES watches, while the global
# fs.inotify.max_user_watches - which other tests mounting as root in
# parallel under make -j depend on - is left alone.  The FUSE mount is made
# inside the namespace (FUSE may be mounted by a user namespace's root in a
# mount namespace it owns): it is invisible outside and cannot outlive the
# namespace; the EXIT trap of tests/lib/mount.sh unmounts it anyway.
#
# One difference from a normal mount: in a user namespace the kernel
# refuses open_by_handle_at on non-directories, so the daemon logs "file
# handles unusable" and keeps one descriptor per inode.  The watcher's
# fallback does not depend on that (a check fstat()s the mapping's
# descriptor either way).
#
# Steps (WATCHES = 5: the root directory's watch plus four files):
#   1. w-write, w-extend, w-shrink, w-grow are opened through the mount:
#      with the root directory they take every watch (checked in the
#      daemon's /proc fdinfo of its inotify descriptor).
#   2. outside.c's write, extend (pwrite past EOF), shrink and grow
#      (ftruncate) cases on new files p-*: each one's watch fails with
#      ENOSPC, so only the poll (every revalidate_ms while open) can see
#      the change; the latency is printed and must stay under
#      A6_ENOSPC_BOUND_MS (generous: the log line promises 1 s).
#   3. 20 more files created through the mount (20 more ENOSPCs).
#   4. the same cases on the watched w-* files: they still work.
#   5. the daemon's inotify descriptor still holds exactly the 5 watches,
#      none on a p-* file; the "out of inotify watches" line is in the log
#      exactly once; the shutdown line counts the outside changes.
#
# Broken rule looks like: "not seen after ... ms" for a p-* file (no
# polling fallback), the log line missing or repeated, or more watches
# than the limit (the namespace limit not applied: the test then says so
# rather than passing without an ENOSPC).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse

if [ -z "$A6_ENOSPC_IN_NS" ]; then
	# Outside the namespace: only check that one can be made.
	command -v unshare >/dev/null ||
		{ echo "SKIP: no unshare(1)" >&2; exit 77; }
	if ! unshare --user --map-root-user --mount true 2>/dev/null; then
		echo "SKIP: cannot create a user namespace (user.max_user_namespaces, or a container forbids it)" >&2
		exit 77
	fi
	A6_ENOSPC_IN_NS=1 exec unshare --user --map-root-user --mount \
		--propagation private "${SHELL:-/bin/sh}" "$0" "$@"
	t_fail "exec unshare"
fi

WATCHES=5
LIM=/proc/sys/user/max_inotify_watches
BOUND=${A6_ENOSPC_BOUND_MS:-5000}
[ -w "$LIM" ] || t_fail "$LIM not writable in the user namespace"
echo "$WATCHES" >"$LIM" || t_fail "cannot set $LIM"
[ "$(cat "$LIM")" = "$WATCHES" ] || t_fail "$LIM is $(cat "$LIM")"
echo "inotify watches: $WATCHES in this user namespace (global fs.inotify.max_user_watches $(cat /proc/sys/fs/inotify/max_user_watches), untouched)"

t_tmpdir
BIN=${top_builddir:-.}/tests/coherence
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
CASES="write extend shrink grow"
mkdir -p "$BK"
# Three pages of 'A', as outside.c starts every case: its setup then
# changes nothing but the times and the watched files' sizes stay put.
for c in $CASES; do
	head -c 12288 /dev/zero | tr '\0' A >"$BK/w-$c"
done
t_mount "$BK" "$MP"

# The daemon's inotify watches: one backing inode number (hex) a line.
watched() {
	for f in /proc/$T_PID/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:inotify" ] || continue
		sed -n 's/^inotify wd:[0-9]* ino:\([0-9a-f]*\) .*/\1/p' \
			"/proc/$T_PID/fdinfo/${f##*/}"
	done
}
ino_hex() { printf '%x\n' "$(stat -c %i "$1")"; }
is_watched() { watched | grep -qx "$(ino_hex "$1")"; }
enospc_lines() { grep -c 'out of inotify watches' "$T_LOG"; }

# 1. Use up every watch: the root directory (at the first LOOKUP) and
# the four w-* files (at their first open).
for c in $CASES; do
	cat "$MP/w-$c" >/dev/null || t_fail "read $MP/w-$c"
done
n=$(watched | wc -l)
[ "$n" -eq "$WATCHES" ] || { watched >&2; t_fail "daemon holds $n inotify watches, want $WATCHES"; }
is_watched "$BK" || t_fail "the root directory is not watched"
for c in $CASES; do
	is_watched "$BK/w-$c" || t_fail "w-$c is not watched"
done
[ "$(enospc_lines)" -eq 0 ] || t_fail "ENOSPC logged before the watches ran out"

# 2. Files beyond the limit: polled only.
for c in $CASES; do
	OUTSIDE_FILE=p-$c OUTSIDE_BOUND_MS=$BOUND \
		"$BIN/outside" "$c" "$MP" "$BK" || {
		cat "$T_LOG" >&2
		t_fail "case $c on an unwatched file"
	}
	is_watched "$BK/p-$c" && t_fail "p-$c got a watch beyond the limit"
done
[ "$(enospc_lines)" -eq 1 ] || { cat "$T_LOG" >&2; t_fail "ENOSPC logged $(enospc_lines) times after the first failures, want 1"; }

# 3. Many more failures: still one line.
for i in $(seq 20); do
	echo "x$i" >"$MP/more$i" || t_fail "create more$i"
done

# 4. Files within the limit: still watched, still seen.
for c in $CASES; do
	OUTSIDE_FILE=w-$c OUTSIDE_BOUND_MS=$BOUND \
		"$BIN/outside" "$c" "$MP" "$BK" || {
		cat "$T_LOG" >&2
		t_fail "case $c on a watched file"
	}
done

# 5. The watches are those of step 1, the log line came once.
n=$(watched | wc -l)
[ "$n" -eq "$WATCHES" ] || t_fail "daemon holds $n inotify watches at the end, want $WATCHES"
for c in $CASES; do
	is_watched "$BK/w-$c" || t_fail "w-$c lost its watch"
done
grep 'out of inotify watches' "$T_LOG"
[ "$(enospc_lines)" -eq 1 ] || t_fail "ENOSPC logged $(enospc_lines) times, want exactly 1"

t_umount "$MP" || { cat "$T_LOG" >&2; t_fail "daemon exit status"; }
grep 'watcher:' "$T_LOG"
n=$(sed -n 's/.*[^0-9]\([0-9][0-9]*\) outside changes.*/\1/p' "$T_LOG")
[ "${n:-0}" -ge 8 ] || t_fail "daemon took ${n:-0} outside changes, want >= 8"
exit 0
