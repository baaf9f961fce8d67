#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# posix_locks.sh - fcntl() record locks taken through one mmapfs mount
# exclude a second mmapfs mount of the same backing directory and a program
# on the backing file, and the other way round; F_GETLK sees the conflict;
# a close() of another descriptor of the file by the owner releases its
# locks; F_SETLKW waits and is woken by the unlock; SIGALRM interrupts a
# blocked F_SETLKW with EINTR; the kernel refuses a write lock on a
# read-only descriptor (EBADF) before asking us; ranges split per owner;
# an OFD lock through the mount lasts until its own open file is closed;
# 40 waiters (more than the FUSE worker threads) do not stop the mount.
#
# Broken rule looks like: the second mount (or the backing file) getting a
# lock the first one holds (the daemon not forwarding locks, so the kernel
# locks per mount only), or a waiter that never returns.

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

# 1. Mount 1 holds a write lock on [0, 10): mount 2 and the backing file
#    are refused it; getlk sees it; a read lock elsewhere is fine; closing
#    another descriptor of the file on mount 1 releases it.
bg open:$MP1/f:rw lk:setlk:w:0:10:ok touch:$S/a1 wait:$S/a2 \
	open2:$MP1/f:ro close2 touch:$S/a3 wait:$S/a4
run "1 mount 2 refused" wait:$S/a1 open:$MP2/f:rw lk:setlk:w:0:10:EAGAIN \
	lk:setlk:r:5:1:EAGAIN lk:getlk:r:0:1:w lk:getlk:w:10:5:none \
	lk:setlk:r:20:5:ok
run "1 outside refused" open:$BK/f:rw lk:setlk:w:9:1:EAGAIN lk:getlk:w:0:0:w
touch "$S/a2"
run "1 released by close" wait:$S/a3 open:$MP2/f:rw lk:setlk:w:0:10:ok \
	lk:setlk:u:0:0:ok
run "1 outside after close" open:$BK/f:rw lk:setlk:w:0:10:ok
touch "$S/a4"
bg_wait "1 holder on mount 1"

# 2. An outside program holds it: both mounts are refused, see it.
bg open:$BK/f:rw lk:setlk:w:0:0:ok touch:$S/b1 wait:$S/b2
run "2 mount 1 refused" wait:$S/b1 open:$MP1/f:rw lk:setlk:r:100:1:EAGAIN \
	lk:getlk:r:3:1:w
run "2 mount 2 refused" open:$MP2/f:rw lk:setlk:w:0:1:EAGAIN
touch "$S/b2"
bg_wait "2 outside holder"
run "2 mount 1 after outside exit" open:$MP1/f:rw lk:setlk:w:0:0:ok

# 3. Mount 2 holds; a F_SETLKW on mount 1 waits and is woken by the unlock;
#    an outside F_SETLKW waits for mount 1 in turn.
bg open:$MP2/f:rw lk:setlk:w:0:10:ok touch:$S/c1 sleep:400 lk:setlk:u:0:10:ok \
	wait:$S/c2
run "3 setlkw woken" wait:$S/c1 open:$MP1/f:rw t0 lk:setlkw:w:0:10:ok tmin:300 \
	tmax:5000 touch:$S/c2 touch:$S/c3 sleep:300
touch "$S/c2"
bg_wait "3 holder on mount 2"
run "3 outside after" open:$BK/f:rw lk:setlk:w:0:10:ok

# 4. SIGALRM interrupts a blocked F_SETLKW through the mount: EINTR.
bg open:$MP2/f:rw lk:setlk:w:0:10:ok touch:$S/d1 wait:$S/d2
run "4 EINTR" wait:$S/d1 open:$MP1/f:rw t0 alarm:300 lk:setlkw:w:5:1:EINTR \
	tmin:250 tmax:5000 lk:setlk:w:5:1:EAGAIN
touch "$S/d2"
bg_wait "4 holder"

# 5. The kernel checks the descriptor's mode itself.
run "5 EBADF" open:$MP1/f:ro lk:setlk:w:0:1:EBADF lk:setlk:r:0:1:ok
run "5 EBADF wo" open:$MP1/f:wo lk:setlk:r:0:1:EBADF lk:setlk:w:0:1:ok

# 6. Locks merge and split by range per owner: unlock the middle of a
#    write lock, the other mount can take the middle only.
bg open:$MP1/f:rw lk:setlk:w:0:30:ok lk:setlk:u:10:10:ok touch:$S/e1 wait:$S/e2
run "6 split" wait:$S/e1 open:$MP2/f:rw lk:setlk:w:10:10:ok \
	lk:setlk:w:0:1:EAGAIN lk:setlk:w:29:1:EAGAIN lk:getlk:w:25:10:w
touch "$S/e2"
bg_wait "6 holder"

# 7. An OFD lock (F_OFD_SETLK) through the mount survives the close of
#    another descriptor and goes with the last close of its own (at the
#    kernel's RELEASE, which follows close() asynchronously: waited for).
bg open:$MP1/f:rw lk:ofd:w:0:10:ok open2:$MP1/f:ro close2 touch:$S/f1 \
	wait:$S/f2 close touch:$S/f3 wait:$S/f4
run "7 OFD kept" wait:$S/f1 open:$MP2/f:rw lk:setlk:w:0:10:EAGAIN
touch "$S/f2"
run "7 OFD released" wait:$S/f3 open:$MP2/f:rw t0 lk:setlkw:w:0:10:ok tmax:2000
run "7 OFD released outside" open:$BK/f:rw lk:setlk:w:0:10:ok
touch "$S/f4"
bg_wait "7 holder"

# 8. More waiters than FUSE worker threads (max_threads 16 by default):
#    none of them holds a worker, so the mount keeps serving; all get the
#    lock in turn once mount 2 lets go.
bg open:$MP2/f:rw lk:setlk:w:0:0:ok touch:$S/g1 wait:$S/g2 lk:setlk:u:0:0:ok
"$L" wait:$S/g1 || t_fail "8 holder"
W=""
for i in $(seq 1 40); do
	timeout 60 "$L" open:$MP1/f:rw lk:setlkw:w:0:0:ok pw:100:w$i \
		lk:setlk:u:0:0:ok & W="$W $!"
done
sleep 0.5
timeout 10 "$L" open:$MP1/f:ro pr:0:data open2:$MP1/g:rw close2 ||
	{ cat "$T_LOG" >&2; t_fail "8 the mount stopped serving"; }
touch "$S/g2"
for p in $W; do wait "$p" || { cat "$T_LOG" >&2; t_fail "8 a waiter"; }; done
bg_wait "8 holder"

t_umount "$MP1" "$P1" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 1 exit status $rc"; }
t_umount "$MP2" "$P2" || { rc=$?; cat "$T_LOG" >&2; t_fail "daemon 2 exit status $rc"; }
grep 'locks:' "$T_LOG"
exit 0
