#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# lock_coherence.sh - data written under a lock on one mmapfs mount, with
# write() and with stores into a shared mapping (never msync()ed), is seen
# on a second mount of the same backing directory - by read() and through
# a mapping made before - as soon as that mount takes the lock: no sleep,
# no waiting for the watcher.  Two processes, one per mount, take turns
# for ROUNDS rounds; each has the file cached (read and mapped) throughout.
# Then the same with a program on the backing file taking turns with
# mount 1.
#
# Broken rule looks like: the reader seeing the previous round's bytes
# (its mount's caches not revalidated when the lock was granted, or the
# writer's mount not writing back before the unlock).

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
L=${top_builddir:-.}/tests/locks/lockt
BK=$T_TMP/backing
MP1=$T_TMP/mnt1
MP2=$T_TMP/mnt2
S=$T_TMP/sync
T_LOG=$T_TMP/daemon.log
ROUNDS=${ROUNDS:-20}
mkdir -p "$S"
t_mount "$BK" "$MP1" -o lock_coherence
P1=$T_PID
t_mount "$BK" "$MP2" -o lock_coherence
P2=$T_PID
head -c 65536 /dev/zero | tr '\0' 'z' >"$BK/f"
head -c 65536 /dev/zero | tr '\0' 'z' >"$BK/g"

# steps NAME DIR FILE MAPPED: the lockt steps of player NAME (a or b):
# a writes in odd rounds, b in even ones; each waits for the other's turn.
steps() {
	n=$1 dir=$2 file=$3 mapped=$4
	echo "open:$dir/$file:rw pr:0:zzzz"
	[ "$mapped" = 1 ] && echo "mr:8192:zzzz"
	# both have the old bytes cached before anybody writes
	o=a
	[ "$n" = a ] && o=b
	echo "touch:$S/$file.ready$n wait:$S/$file.ready$o"
	i=1
	while [ $i -le "$ROUNDS" ]; do
		v=$(printf 'v%03d' $i)
		w=b
		[ $((i % 2)) = 1 ] && w=a
		if [ "$n" = "$w" ]; then
			[ $i -gt 1 ] && echo "wait:$S/$file.$((i - 1))"
			echo "lk:setlkw:w:0:0:ok pw:0:$v pw:5000:$v"
			if [ "$mapped" = 1 ]; then
				echo "mw:8192:$v mw:40000:$v"
			else
				echo "pw:8192:$v pw:40000:$v"
			fi
			echo "lk:setlk:u:0:0:ok touch:$S/$file.$i"
		else
			echo "wait:$S/$file.$i lk:setlkw:r:0:0:ok pr:0:$v pr:5000:$v"
			[ "$mapped" = 1 ] &&
				echo "mr:8192:$v mr:40000:$v pr:8192:$v pr:40000:$v"
			echo "lk:setlk:u:0:0:ok"
		fi
		i=$((i + 1))
	done
}

# Two mounts, write() and mapped stores.
"$L" $(steps a "$MP1" f 1) & A=$!
"$L" $(steps b "$MP2" f 1) & B=$!
wait $A || { kill $B 2>/dev/null; cat "$T_LOG" >&2; t_fail "mount 1 player"; }
wait $B || { cat "$T_LOG" >&2; t_fail "mount 2 player"; }

# Mount 1 and a program on the backing file (write() only: an outside
# mapping's stores reach the backing file's page cache at once).
"$L" $(steps a "$MP1" g 1) & A=$!
"$L" $(steps b "$BK" g 0) & B=$!
wait $A || { kill $B 2>/dev/null; cat "$T_LOG" >&2; t_fail "mount 1 player (outside)"; }
wait $B || { cat "$T_LOG" >&2; t_fail "outside player"; }

t_umount "$MP1" "$P1" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 1 exit status $rc"; }
t_umount "$MP2" "$P2" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 2 exit status $rc"; }
grep 'locks:' "$T_LOG"
exit 0
