#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/install/mount_fstab.sh - "mount -t fuse.mmapfs" and an fstab line
# work through the mount helper, as they will after "make install".
#
# mount(8) runs /sbin/mount.fuse.mmapfs; the helper must reach mmapfs and
# mount.fuse3 whatever PATH mount(8) had.  So the test runs mount(8) with
# PATH=/usr/bin:/bin (no build dir, no /usr/local/bin), and the helper is
# the one the build generated, rewritten to point at the build dir instead
# of $(bindir).  To put it in /sbin without touching the machine, the test
# re-runs itself in a private mount namespace (unshare -m) and binds a
# scratch copy of /sbin (links to the real programs plus the helper) over
# it, and a scratch /run/mount over the real one (libmount's utab).  Every
# mount it makes lives only in that namespace and dies with it.
#
# Checked: the mount appears as fuse.mmapfs with the given options; the
# daemon runs in the background (mount returned, daemon alive, not our
# child) and logs nothing to our terminal; fstab-only options (nofail,
# _netdev, noauto, x-systemd.*, comment=) are dropped; data written on the
# mount reaches the backing dir at umount, after which the daemon exits;
# a bad option in fstab fails the mount with mmapfs's message and leaves
# nothing mounted.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
helper=${top_builddir:-.}/mount.fuse.mmapfs
[ -r "$helper" ] || t_fail "$helper not built"
command -v unshare >/dev/null || { echo "SKIP: no unshare" >&2; exit 77; }
[ -x /sbin/mount.fuse3 ] || { echo "SKIP: no /sbin/mount.fuse3 (fuse3 package)" >&2; exit 77; }

if [ -z "${T_IN_NS:-}" ]; then
	T_IN_NS=1 exec unshare -m --propagation private "${SHELL:-/bin/sh}" "$0" "$@"
fi

t_tmpdir
T=$T_TMP
mkdir -p "$T/bin" "$T/sbin" "$T/utab" "$T/b" "$T/m"
MMAPFS_ABS=$(cd "$(dirname "$MMAPFS")" && pwd)/$(basename "$MMAPFS")
ln -s "$MMAPFS_ABS" "$T/bin/mmapfs"
sed -e "s|^PATH='[^']*'|PATH='$T/bin'|" "$helper" >"$T/sbin/mount.fuse.mmapfs"
chmod 755 "$T/sbin/mount.fuse.mmapfs"
grep -q "^PATH='$T/bin'" "$T/sbin/mount.fuse.mmapfs" || t_fail "cannot point the helper at the build dir"
helper_fuse3=$(sed -n "s/^MOUNT_FUSE3='\(.*\)'$/\1/p" "$helper")
[ -x "$helper_fuse3" ] || t_fail "the helper runs '$helper_fuse3', which does not exist"

# The scratch /sbin holds copies, never links or binds of the real files:
# the EXIT trap removes $T with rm -rf, which must not reach the system.
# The helper and mount.fuse3 are all that mount(8) and the helper run
# from there.  /sbin is usually a link to usr/sbin: bind over its target.
cp "$helper_fuse3" "$T/sbin/${helper_fuse3##*/}" || t_fail "copy $helper_fuse3"
sbin=$(readlink -f /sbin)
mount --bind "$T/sbin" "$sbin" || { echo "SKIP: cannot bind mounts here" >&2; exit 77; }
case $helper_fuse3 in
/sbin/*|"$sbin"/*) ;;
*) t_fail "the helper runs '$helper_fuse3', outside /sbin: the test cannot stage it" ;;
esac
if [ -d /run/mount ]; then
	mount --bind "$T/utab" /run/mount || t_fail "bind over /run/mount"
fi
T_MOUNTS="$T/m"
export PATH=/usr/bin:/bin
command -v mmapfs >/dev/null &&
	echo "note: an mmapfs is installed on PATH=$PATH; the helper must still prefer $T/bin" >&2

daemon_pid() { pgrep -f "^mmapfs $T/b $T/m" | head -n 1; }

# check_mount HOW - the mount is up, in the background, and works
check_mount() {
	t_is_mounted "$T/m" || t_fail "$1: nothing mounted on $T/m"
	type=$(findmnt -n -o FSTYPE "$T/m")
	[ "$type" = fuse.mmapfs ] || t_fail "$1: type $type, expected fuse.mmapfs"
	pid=$(daemon_pid)
	[ -n "$pid" ] || t_fail "$1: no daemon process"
	ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
	[ "$ppid" != "$$" ] || t_fail "$1: the daemon is our child: it did not go to the background"
	T_PIDS="$T_PIDS $pid"
	echo "data $1" >"$T/m/f" || t_fail "$1: write on the mount"
	[ "$(cat "$T/m/f")" = "data $1" ] || t_fail "$1: read back"
}

# unmount_check HOW - umount; the daemon exits and the data is in backing
unmount_check() {
	pid=$(daemon_pid)
	umount "$T/m" || t_fail "$1: umount"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && t_fail "$1: daemon still running 10 s after umount"
		sleep 0.1
	done
	[ "$(cat "$T/b/f")" = "data $1" ] || t_fail "$1: data not in the backing dir after umount"
	echo "ok: $1"
}

# 1. mount -t with options, PATH without mmapfs, empty environment
env -i PATH=/usr/bin:/bin mount -t fuse.mmapfs -o cache_size=64M,noatime,loglevel=warning \
	"$T/b" "$T/m" >"$T/out" 2>&1 || { cat "$T/out" >&2; t_fail "mount -t fuse.mmapfs failed"; }
[ -s "$T/out" ] && { cat "$T/out" >&2; t_fail "mount -t printed something"; }
check_mount "mount -t"
findmnt -n -o OPTIONS "$T/m" | grep -q noatime || t_fail "mount -t: noatime not applied"
ps -o args= -p "$(daemon_pid)" | grep -q "cache_size=64M" || t_fail "mount -t: cache_size not passed"
unmount_check "mount -t"

# 2. an fstab line with the options of a real fstab
cat >"$T/fstab" <<EOT
# test fstab
$T/b	$T/m	fuse.mmapfs	defaults,cache_size=32M,nofail,_netdev,noauto,x-systemd.requires=/,comment=x	0 0
EOT
env -i PATH=/usr/bin:/bin mount -T "$T/fstab" "$T/m" >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; t_fail "mount -T FSTAB MOUNTPOINT failed"; }
check_mount "fstab"
args=$(ps -o args= -p "$(daemon_pid)")
for o in nofail _netdev noauto x-systemd comment defaults; do
	case $args in *$o*) t_fail "fstab: '$o' reached the daemon: $args" ;; esac
done
case $args in *cache_size=32M*) ;; *) t_fail "fstab: cache_size not passed: $args" ;; esac
unmount_check "fstab"

# 3. mount -a with the same fstab minus noauto, then by source
sed -e 's/noauto,//' "$T/fstab" >"$T/fstab2"
env -i PATH=/usr/bin:/bin mount -a -T "$T/fstab2" >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; t_fail "mount -a -T failed"; }
check_mount "mount -a"
unmount_check "mount -a"

# 4. a bad option: mount fails with mmapfs's one-line reason, nothing mounted
printf '%s\t%s\tfuse.mmapfs\tcache_size=1K\t0 0\n' "$T/b" "$T/m" >"$T/fstab3"
if env -i PATH=/usr/bin:/bin mount -T "$T/fstab3" "$T/m" >"$T/out" 2>&1; then
	t_fail "fstab with cache_size=1K mounted"
fi
grep -q "cache_size=1K" "$T/out" || { cat "$T/out" >&2; t_fail "bad option: message does not name the option"; }
t_is_mounted "$T/m" && t_fail "bad option: something is mounted"
echo "ok: bad option refused: $(cat "$T/out")"
exit 0
