#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/install/stats_output.sh - the counters can be read on a live mount:
# mmapfs-stat (readable and raw, once and with -i), and SIGUSR1 to the log.
#
# Writes 8 MiB through the mount, fsyncs, reads through the backing file's
# cache, then checks that the numbers say so: cache_size is the option
# given, at least 8 MiB were written back without errors, the readable
# report has every line, -i adds the rates line, SIGUSR1 logs the report
# and the daemon keeps serving.  mmapfs-stat on a directory that is not an
# mmapfs mount exits 1 naming it; as another user (the mount has no
# allow_other) it exits 1 saying why.

. "${top_srcdir:-.}/tests/real/lib.sh"
[ -n "${T_NOMOUNT:-}" ] && r_skip "T_NOMOUNT=1: there is no daemon to ask"
STAT=${top_builddir:-.}/mmapfs-stat
[ -x "$STAT" ] || t_fail "$STAT not built"
t_require_fuse
r_start -o cache_size=64M,loglevel=info

dd if=/dev/urandom of="$MNT/f" bs=1M count=8 conv=fsync status=none || t_fail "write 8M"
r_timeout 20 cat "$MNT/f" >/dev/null || t_fail "read back"

r_timeout 10 "$STAT" -r "$MNT" >"$T_TMP/raw" || t_fail "mmapfs-stat -r"
val() { awk -v k="$1" '$1 == k { print $2 }' "$T_TMP/raw"; }
r_eq "cache_size" 67108864 "$(val cache_size)"
[ "$(val bytes_written)" -ge 8388608 ] || t_fail "bytes_written $(val bytes_written) < 8 MiB after fsync"
r_eq "writeback_errors" 0 "$(val writeback_errors)"
[ "$(val cached_bytes)" -le 67108864 ] || t_fail "cached_bytes above cache_size"
for k in dirty_bytes writeback_bytes hits misses throttle_waits syncs; do
	[ -n "$(val $k)" ] || t_fail "raw output lacks $k"
done

r_timeout 10 "$STAT" "$MNT" >"$T_TMP/human" || t_fail "mmapfs-stat"
for w in "cache:" "used of 64.0MiB" "hit ratio" "dirty:" "in flight" \
	 "write-back:" "0 errors" "throttle:"; do
	grep -q -- "$w" "$T_TMP/human" || { cat "$T_TMP/human" >&2; t_fail "report lacks '$w'"; }
done
r_timeout 10 "$STAT" -i 0.2 -c 2 "$MNT" >"$T_TMP/rep" || t_fail "mmapfs-stat -i 0.2 -c 2"
r_eq "reports with -c 2" 2 "$(grep -c '^  cache:' "$T_TMP/rep")"
grep -q "last 0\.[0-9]s: write-back" "$T_TMP/rep" || { cat "$T_TMP/rep" >&2; t_fail "-i gives no rates"; }
echo "ok: mmapfs-stat"; cat "$T_TMP/human"

kill -USR1 "$T_PID" || t_fail "kill -USR1"
i=0
until grep -q "statistics of '.*': *$" "$T_LOG" && grep -q "write-back:" "$T_LOG"; do
	i=$((i + 1)); [ $i -gt 50 ] && t_fail "SIGUSR1 logged no statistics"
	sleep 0.1
done
echo more >>"$MNT/f" || t_fail "the daemon stopped serving after SIGUSR1"
echo "ok: SIGUSR1"

# Another user cannot even reach a mount without allow_other: say so.
if command -v setpriv >/dev/null; then
	chmod 755 "$T_TMP" && cp "$STAT" "$T_TMP/mmapfs-stat" && chmod 755 "$T_TMP/mmapfs-stat" ||
		t_fail "copy mmapfs-stat for nobody"
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$T_TMP/mmapfs-stat" "$MNT" >"$T_TMP/out" 2>&1; then
		t_fail "mmapfs-stat as nobody succeeded"
	fi
	grep -q "allow_other" "$T_TMP/out" || { cat "$T_TMP/out" >&2; t_fail "as nobody: the message does not explain"; }
	echo "ok: another user: $(cat "$T_TMP/out")"
fi

if "$STAT" / >"$T_TMP/out" 2>&1; then t_fail "mmapfs-stat / succeeded"; fi
grep -q "'/'" "$T_TMP/out" || { cat "$T_TMP/out" >&2; t_fail "the message does not name /"; }
echo "ok: not a mount: $(cat "$T_TMP/out")"
r_finish
