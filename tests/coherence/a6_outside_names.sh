#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# a6_outside_names.sh - SEMANTICS A6, names: a name renamed, replaced,
# created or unlinked outside resolves to the new state on the mount.
#
# Mounted with entry_timeout=60, so the kernel would keep its old answer
# for a minute if nobody told it.  After each outside change the mount must
# show the new state within 2 s (the latency is printed): the renamed file
# under its new name with its data, a new file under the old name, a
# created name visible, an unlinked name gone; a process that had the old
# file mapped keeps its mapping (A5).
#
# Broken rule looks like: "not seen after 2000 ms" - the kernel still
# resolving the old name to the old inode (directories not watched, or
# the entry not expired).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
BK=$T_TMP/backing
MP=$T_TMP/mnt
T_LOG=$T_TMP/daemon.log
mkdir -p "$BK"
echo old > "$BK/a"
echo gone > "$BK/c"
t_mount "$BK" "$MP" -o entry_timeout=60,attr_timeout=60

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for WHAT CMD... - poll CMD until it succeeds, at most 2 s
wait_for() {
	what=$1; shift
	t0=$(ms)
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(ms) - t0 )) -gt 2000 ] && t_fail "$what: not seen after 2000 ms"
		sleep 0.005
	done
	echo "$what: seen after $(( $(ms) - t0 )) ms"
}
has() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
absent() { ! ls "$1"; }

# The kernel caches all three names (and a negative entry for d).
has "$MP/a" old || t_fail "a"
has "$MP/c" gone || t_fail "c"
ls "$MP/d" 2>/dev/null && t_fail "d exists"

mv "$BK/a" "$BK/b"
echo new > "$BK/a"
wait_for "outside rename + new file under the old name" has "$MP/a" new
wait_for "renamed file under its new name" has "$MP/b" old
rm "$BK/c"
wait_for "outside unlink" absent "$MP/c"
echo created > "$BK/d"
wait_for "outside create" has "$MP/d" created

t_umount "$MP" || t_fail "daemon exit status"
grep 'watcher:' "$T_LOG"
exit 0
