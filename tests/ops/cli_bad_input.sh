#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ops/cli_bad_input.sh - bad command lines fail cleanly.
#
# Each bad invocation must exit 1 with one line naming the offending path
# or option, and leave nothing mounted; each is tried in the foreground
# (-f) and daemonizing.  --help exits 0 and lists cache_size; --version
# exits 0.  A mount point that is already mounted is refused and the
# existing mount keeps working.
#
# This test needs the daemon itself: with T_NOMOUNT=1 it is skipped.

. "${top_srcdir:-.}/tests/real/lib.sh"
[ -n "${T_NOMOUNT:-}" ] && r_skip "T_NOMOUNT=1: there is no daemon to call"
r_need timeout setpriv
t_require_fuse
t_tmpdir
chmod 755 "$T_TMP"
cd "$T_TMP" || t_fail "cd $T_TMP"
mkdir backing mnt unreadable
echo x >backing/f
echo x >afile
chmod 000 unreadable
ln -s backing alias
# Every mount point used here is cleaned up by mount.sh's EXIT trap, should
# a bad invocation mount it after all (mnt up to three times: stacked).
T_MOUNTS="$T_MOUNTS $T_TMP/mnt $T_TMP/mnt $T_TMP/backing/sub $T_TMP/backing"
# nobody may not reach the build tree: give it its own copy of the daemon.
cp "$MMAPFS" "$T_TMP/mmapfs" && chmod 755 "$T_TMP/mmapfs" || t_fail "cp $MMAPFS"

our_mounts() { grep -c " $T_TMP" /proc/mounts; }

# bad WANT_RE DESC [PREFIX...] -- ARGS...: run "$MMAPFS ARGS" (with -f and
# without), each must exit 1, print exactly one line matching WANT_RE
# (grep -E), and mount nothing.  PREFIX runs the daemon (setpriv ...).
bad() {
	b_re=$1 b_desc=$2; shift 2
	b_pre=
	while [ "$1" != -- ]; do b_pre="$b_pre $1"; shift; done
	shift
	for b_f in -f ""; do
		b_n0=$(our_mounts)
		# shellcheck disable=SC2086 # b_pre and b_f are lists of words
		timeout -k 2 10 $b_pre "$MMAPFS" $b_f "$@" >"$T_TMP/out" 2>&1
		b_st=$?
		b_what="$b_desc: mmapfs $b_f $*"
		[ $b_st -eq 1 ] || { cat "$T_TMP/out" >&2; t_fail "$b_what: exit status $b_st, expected 1"; }
		[ "$(our_mounts)" = "$b_n0" ] || { grep " $T_TMP" /proc/mounts >&2; t_fail "$b_what: left a mount"; }
		b_lines=$(wc -l <"$T_TMP/out")
		[ "$b_lines" -eq 1 ] || { cat "$T_TMP/out" >&2; t_fail "$b_what: printed $b_lines lines, expected 1"; }
		grep -q -E -e "$b_re" "$T_TMP/out" ||
			{ cat "$T_TMP/out" >&2; t_fail "$b_what: the message does not name $b_re"; }
		echo "ok: $b_what -> $(cat "$T_TMP/out")"
	done
}

[ "$(our_mounts)" = 0 ] || t_fail "something is mounted under $T_TMP already"

# Paths.
bad "$T_TMP/nonexistent|nonexistent" "missing BACKING_DIR" -- "$T_TMP/nonexistent" "$T_TMP/mnt"
bad "$T_TMP/afile|afile" "BACKING_DIR is a file" -- "$T_TMP/afile" "$T_TMP/mnt"
bad "$T_TMP/nomnt|nomnt" "missing MOUNTPOINT" -- "$T_TMP/backing" "$T_TMP/nomnt"
bad "$T_TMP/afile|afile" "MOUNTPOINT is a file" -- "$T_TMP/backing" "$T_TMP/afile"
mkdir backing/sub
bad "backing" "MOUNTPOINT inside BACKING_DIR" -- "$T_TMP/backing" "$T_TMP/backing/sub"
bad "backing|alias" "MOUNTPOINT inside BACKING_DIR (through a symlink)" -- \
	"$T_TMP/alias" "$T_TMP/backing/sub"
bad "backing" "MOUNTPOINT equal to BACKING_DIR" -- "$T_TMP/backing" "$T_TMP/backing"
bad "backing" "MOUNTPOINT equal to BACKING_DIR (relative)" -- backing ./backing/
rmdir backing/sub
# Unreadable backing dir: root without CAP_DAC_OVERRIDE/DAC_READ_SEARCH
# (can still mount), then nobody.
bad "$T_TMP/unreadable|unreadable" "BACKING_DIR mode 000, root without DAC capabilities" \
	setpriv --inh-caps=-dac_override,-dac_read_search \
	--bounding-set=-dac_override,-dac_read_search -- "$T_TMP/unreadable" "$T_TMP/mnt"
real_mmapfs=$MMAPFS MMAPFS=$T_TMP/mmapfs
bad "$T_TMP/unreadable|unreadable" "BACKING_DIR mode 000, as nobody" \
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$T_TMP/unreadable" "$T_TMP/mnt"
MMAPFS=$real_mmapfs

# Options.
bad "frobnicate" "unknown option" -- -o frobnicate "$T_TMP/backing" "$T_TMP/mnt"
bad "cache_size" "malformed cache_size" -- -o cache_size=abc "$T_TMP/backing" "$T_TMP/mnt"
bad "cache_size" "empty cache_size" -- -o cache_size= "$T_TMP/backing" "$T_TMP/mnt"
bad "lock_coherence.*local_locks" "contradicting lock options" -- -o lock_coherence,local_locks "$T_TMP/backing" "$T_TMP/mnt"

# Missing arguments: exit 1 and a message, nothing mounted.
for args in "" "$T_TMP/backing"; do
	# shellcheck disable=SC2086 # args is 0 or 1 word
	timeout -k 2 10 "$MMAPFS" -f $args >"$T_TMP/out" 2>&1
	st=$?
	[ $st -eq 1 ] || { cat "$T_TMP/out" >&2; t_fail "mmapfs -f $args: exit status $st, expected 1"; }
	[ -s "$T_TMP/out" ] || t_fail "mmapfs -f $args: no message"
	[ "$(our_mounts)" = 0 ] || t_fail "mmapfs -f $args: left a mount"
	echo "ok: mmapfs -f $args -> $(head -n 1 "$T_TMP/out")"
done

# --help, --version.
timeout 10 "$MMAPFS" --help >"$T_TMP/out" 2>&1
st=$?
[ $st -eq 0 ] || { cat "$T_TMP/out" >&2; t_fail "mmapfs --help: exit status $st, expected 0"; }
grep -q cache_size "$T_TMP/out" || { cat "$T_TMP/out" >&2; t_fail "mmapfs --help does not list cache_size"; }
timeout 10 "$MMAPFS" --version >"$T_TMP/out" 2>&1
st=$?
[ $st -eq 0 ] || { cat "$T_TMP/out" >&2; t_fail "mmapfs --version: exit status $st, expected 0"; }
grep -q '[0-9]' "$T_TMP/out" || { cat "$T_TMP/out" >&2; t_fail "mmapfs --version prints no version"; }
[ "$(our_mounts)" = 0 ] || t_fail "--help or --version left a mount"

# A mount point that is already mounted.
T_LOG=$T_TMP/daemon.log
t_mount "$T_TMP/backing" "$T_TMP/mnt"
first=$T_PID
mkdir backing2
bad "$T_TMP/mnt|mnt" "MOUNTPOINT already mounted" -- "$T_TMP/backing2" "$T_TMP/mnt"
r_eq "mounts on $T_TMP/mnt" 1 "$(awk -v m="$T_TMP/mnt" '$2 == m' /proc/mounts | wc -l)"
r_eq "the first mount still serves its file" x "$(timeout 10 cat "$T_TMP/mnt/f")"
t_umount "$T_TMP/mnt" "$first" || t_fail "the first daemon did not exit 0 at umount"
[ "$(our_mounts)" = 0 ] || t_fail "a mount is left under $T_TMP"
echo "PASS: $R_SCRIPT"
exit 0
