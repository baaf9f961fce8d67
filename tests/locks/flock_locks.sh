#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# flock_locks.sh - flock() through one mmapfs mount excludes a second mount
# of the same backing directory and a program on the backing file, and the
# other way round; the lock goes with the last close of the open file; a
# blocking flock waits and is woken by LOCK_UN; SIGALRM interrupts it.
#
# Broken rule looks like: two exclusive flocks granted at once on two
# mounts (the kernel locking per mount), or a lock that outlives close().

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
t_tmpdir
L=${top_builddir:-.}/tests/locks/lockt
BK=$T_TMP/backing
MP1=$T_TMP/mnt1
MP2=$T_TMP/mnt2
S=$T_TMP/sync
T_LOG=$T_TMP/daemon.log
mkdir -p "$S"
t_mount "$BK" "$MP1"
P1=$T_PID
t_mount "$BK" "$MP2"
P2=$T_PID
echo data >"$BK/f"

BG=""
bg() { "$L" "$@" & BG="$BG $!"; }
bg_wait() {
	for p in $BG; do wait "$p" || { cat "$T_LOG" >&2; t_fail "$1"; }; done
	BG=""
}
run() { c=$1; shift; "$L" "$@" || { cat "$T_LOG" >&2; t_fail "$c"; }; }

# 1. Exclusive on mount 1: refused on mount 2 and outside; released by close.
bg open:$MP1/f:ro fl:ex:ok touch:$S/a1 wait:$S/a2 close touch:$S/a3 wait:$S/a4
run "1 mount 2 refused" wait:$S/a1 open:$MP2/f:ro fl:exnb:EAGAIN fl:shnb:EAGAIN
run "1 outside refused" open:$BK/f:ro fl:exnb:EAGAIN
touch "$S/a2"
run "1 released by close" wait:$S/a3 open:$MP2/f:ro fl:exnb:ok fl:un:ok
run "1 outside after close" open:$BK/f:ro fl:exnb:ok
touch "$S/a4"
bg_wait "1 holder"

# 2. Shared outside: shared on both mounts is fine, exclusive is not.
bg open:$BK/f:ro fl:sh:ok touch:$S/b1 wait:$S/b2
run "2 shared" wait:$S/b1 open:$MP1/f:ro fl:shnb:ok
run "2 shared 2" open:$MP2/f:rw fl:shnb:ok
run "2 exclusive refused" open:$MP2/f:rw fl:exnb:EAGAIN
touch "$S/b2"
bg_wait "2 outside holder"

# 3. A blocking flock on mount 1 is woken by LOCK_UN on mount 2; an outside
#    waiter is woken by mount 1's close in turn.
bg open:$MP2/f:ro fl:ex:ok touch:$S/c1 sleep:400 fl:un:ok wait:$S/c2
run "3 woken" wait:$S/c1 open:$MP1/f:ro t0 fl:ex:ok tmin:300 tmax:5000
touch "$S/c2"
bg_wait "3 holder"

# 4. SIGALRM interrupts a blocked flock through the mount.
bg open:$MP2/f:ro fl:ex:ok touch:$S/d1 wait:$S/d2
run "4 EINTR" wait:$S/d1 open:$MP1/f:ro t0 alarm:300 fl:ex:EINTR tmin:250 \
	tmax:5000 fl:exnb:EAGAIN
touch "$S/d2"
bg_wait "4 holder"

# 5. flock and fcntl locks are independent (as on a local filesystem).
bg open:$MP1/f:rw fl:ex:ok touch:$S/e1 wait:$S/e2
run "5 independent" wait:$S/e1 open:$MP2/f:rw lk:setlk:w:0:0:ok
touch "$S/e2"
bg_wait "5 holder"

t_umount "$MP1" "$P1" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 1 exit status $rc"; }
t_umount "$MP2" "$P2" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 2 exit status $rc"; }
grep 'locks:' "$T_LOG"
exit 0
