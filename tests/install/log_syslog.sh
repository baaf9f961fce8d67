#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/install/log_syslog.sh - where the daemon's messages go: syslog when
# it runs in the background, standard error with -f; -o loglevel= filters.
#
# syslog(3) writes to the datagram socket /dev/log.  The test re-runs
# itself in a private mount namespace, covers /dev with a tmpfs holding
# only what the daemon needs (fuse, null, zero, urandom: bound from the
# real /dev) and its own /dev/log, read by a small Python listener.  The
# machine's /dev and its syslog never see anything.
#
# Checked: background with loglevel=info logs "serving ... on MNT" to
# syslog (facility daemon, tag mmapfs[PID]) and nothing to the terminal;
# SIGUSR1 logs the statistics there; loglevel=warning hides the info line;
# -f logs to standard error instead; a bad option is reported on standard
# error before anything is mounted, even without -f.

. "${top_srcdir:-.}/tests/lib/mount.sh"
t_require_fuse
command -v unshare >/dev/null || { echo "SKIP: no unshare" >&2; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3" >&2; exit 77; }

if [ -z "${T_IN_NS:-}" ]; then
	T_IN_NS=1 exec unshare -m --propagation private "${SHELL:-/bin/sh}" "$0" "$@"
fi

t_tmpdir
T=$T_TMP
LISTENER=
# Before mount.sh's trap removes $T: stop the listener and detach every
# mount this namespace made under $T and over /dev (lazily: the daemon
# may still hold /dev/fuse), so that rm -rf meets plain files only.
ns_cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
	t_is_mounted "$T/m" && { umount "$T/m" 2>/dev/null || umount -l "$T/m"; }
	for n in fuse null zero urandom; do umount -l "/dev/$n" 2>/dev/null; done
	t_is_mounted /dev && awk '$2 == "/dev" && $1 == "none"' /proc/mounts | grep -q . &&
		umount -l /dev 2>/dev/null
	for n in fuse null zero urandom; do umount -l "$T/dev/.$n" 2>/dev/null; done
}
trap 'rc=$?; ns_cleanup; (exit $rc); t_cleanup' EXIT
MMAPFS=$(cd "$(dirname "$MMAPFS")" && pwd)/$(basename "$MMAPFS")
mkdir -p "$T/b" "$T/m" "$T/dev"
# Bind the device nodes to keep first: the tmpfs hides the real ones.
for n in fuse null zero urandom; do
	: >"$T/dev/.$n" && mount --bind "/dev/$n" "$T/dev/.$n" ||
		{ echo "SKIP: cannot bind /dev/$n here" >&2; exit 77; }
done
mount -t tmpfs -o mode=755 none /dev || { echo "SKIP: cannot mount a tmpfs on /dev" >&2; exit 77; }
for n in fuse null zero urandom; do
	: >"/dev/$n" && mount --bind "$T/dev/.$n" "/dev/$n" || t_fail "bind /dev/$n back"
done

python3 - "$T/syslog" <<'EOT' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
EOT
LISTENER=$!
i=0
until [ -S /dev/log ]; do
	i=$((i + 1)); [ $i -gt 100 ] && t_fail "the syslog listener did not start"
	sleep 0.05
done
T_MOUNTS="$T/m"

wait_log() {	# wait_log FILE REGEX
	i=0
	until grep -q -E -e "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { cat "$1" >&2; t_fail "no '$2' in $1"; }
		sleep 0.05
	done
}

bg_pid() { pgrep -f "^$MMAPFS .*$T/b $T/m" | head -n 1; }

unmount_wait() {
	p=$(bg_pid)
	umount "$T/m" || t_fail "umount"
	i=0
	while [ -n "$p" ] && kill -0 "$p" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && t_fail "daemon still running after umount"
		sleep 0.1
	done
}

# 1. background, loglevel=info: to syslog, nothing on the terminal
"$MMAPFS" -o loglevel=info "$T/b" "$T/m" >"$T/out" 2>&1 || { cat "$T/out" >&2; t_fail "mmapfs in the background failed"; }
[ -s "$T/out" ] && { cat "$T/out" >&2; t_fail "the background daemon wrote to the terminal"; }
pid=$(bg_pid)
[ -n "$pid" ] || t_fail "no daemon running"
T_PIDS="$T_PIDS $pid"
# <30> = facility daemon (3) * 8 + info (6)
wait_log "$T/syslog" "^<30>.*mmapfs\\[$pid\\]: serving '.*' on '$T/m'"
kill -USR1 "$pid"
wait_log "$T/syslog" "mmapfs\\[$pid\\]: +write-back: "
unmount_wait
echo "ok: background daemon logs to syslog"

# 2. background, loglevel=warning: the info line is not logged
: >"$T/syslog"
"$MMAPFS" -o loglevel=warning "$T/b" "$T/m" >"$T/out" 2>&1 || { cat "$T/out" >&2; t_fail "mmapfs -o loglevel=warning failed"; }
pid=$(bg_pid)
T_PIDS="$T_PIDS $pid"
echo x >"$T/m/f" || t_fail "write"
unmount_wait
grep -q "serving" "$T/syslog" && { cat "$T/syslog" >&2; t_fail "loglevel=warning logged an info message"; }
echo "ok: loglevel=warning filters"

# 3. -f: standard error, not syslog
: >"$T/syslog"
T_LOG=$T/stderr
t_mount "$T/b" "$T/m" -o loglevel=info
wait_log "$T/stderr" "^mmapfs: serving '.*' on '$T/m'"
t_umount "$T/m" || t_fail "the -f daemon did not exit 0"
[ -s "$T/syslog" ] && { cat "$T/syslog" >&2; t_fail "-f logged to syslog"; }
echo "ok: -f logs to standard error"

# 4. a bad option without -f: the reason is on the terminal, nothing mounted
if "$MMAPFS" -o cache_size=1K "$T/b" "$T/m" >"$T/out" 2>&1; then t_fail "cache_size=1K accepted"; fi
grep -q "cache_size=1K" "$T/out" || { cat "$T/out" >&2; t_fail "bad option not reported on the terminal"; }
t_is_mounted "$T/m" && t_fail "bad option: mounted"
echo "ok: bad option reported on the terminal"
exit 0
