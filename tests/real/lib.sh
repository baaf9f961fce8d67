# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/lib.sh - set-up shared by the script tests in tests/real/ and
# tests/ops/: one mount (or one plain directory) per script.
#
# Source it; it sources tests/lib/mount.sh, then offers:
#   r_start [opts...]       T_TMP fresh; BACKING and MNT set; mmapfs mounted
#                           on MNT over BACKING with "-f opts..." and its log
#                           in T_LOG.  R_BACKING_REL / R_MNT_REL (relative
#                           to T_TMP) change the default layout
#                           backing/ and mnt/.
#                           With T_NOMOUNT=1 nothing is mounted: MNT and
#                           BACKING are the same plain directory, so the
#                           script can be checked against the kernel's own
#                           filesystem (every expectation must hold there).
#   r_finish                unmount; fail unless the daemon exited 0
#   r_need PROG...          exit 77 unless every PROG is on PATH
#   r_python MODULE...      PY = a python3 that imports every MODULE, or 77
#   r_timeout SECS CMD...   CMD under timeout(1), so that a hung mount fails
#                           the test instead of hanging "make check"
#   r_eq WHAT WANT GOT      fail with "WHAT: expected WANT, got GOT" unless equal
#   r_errno WANT STMT ARG... run the Python statement STMT (os imported, the
#                           ARGs in the list a) and fail unless it raises
#                           OSError with errno WANT (a name: ENOENT), or
#                           succeeds when WANT is OK; needs r_python first
#   r_root                  true when running as root
# A failing script prints the tail of the daemon's log on its way out; the
# EXIT trap of mount.sh then unmounts and removes T_TMP.

. "${top_srcdir:-.}/tests/lib/mount.sh"

R_SCRIPT=${0##*/}

r_on_exit() {
	r_rc=$?
	if [ "$r_rc" -ne 0 ] && [ "$r_rc" -ne 77 ] && [ -n "${T_LOG:-}" ] &&
	   [ -s "$T_LOG" ]; then
		echo "--- $R_SCRIPT: daemon log (last 60 lines of $T_LOG):" >&2
		tail -n 60 "$T_LOG" >&2
	fi
	(exit "$r_rc")
	t_cleanup
}
trap r_on_exit EXIT

r_skip() { echo "SKIP: $R_SCRIPT: $*" >&2; exit 77; }

r_root() { [ "$(id -u)" = 0 ]; }

r_need() {
	for r_p in "$@"; do
		command -v "$r_p" >/dev/null 2>&1 || r_skip "$r_p not installed"
	done
}

r_python() {
	PY=
	# Debian's own interpreter first: it has the Debian python3-* modules
	# and any user can run it.
	for r_c in ${PYTHON3:-} /usr/bin/python3 python3; do
		command -v "$r_c" >/dev/null 2>&1 || continue
		r_imp="import sys"
		for r_m in "$@"; do r_imp="$r_imp; import $r_m"; done
		if "$r_c" -c "$r_imp" >/dev/null 2>&1; then PY=$r_c; return 0; fi
	done
	r_skip "no python3 with module(s): $*"
}

r_timeout() {
	r_secs=$1; shift
	timeout -k 10 "$r_secs" "$@"
	r_st=$?
	[ $r_st -eq 124 ] && echo "TIMEOUT after ${r_secs}s: $*" >&2
	return $r_st
}

r_eq() {
	[ "x$2" = "x$3" ] || t_fail "$1: expected '$2', got '$3'"
}

r_errno() {
	r_want=$1 r_stmt=$2; shift 2
	r_got=$(r_timeout 20 "$PY" -c "import errno, os, sys
a = sys.argv[1:]
try:
    $r_stmt
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
else:
    print('OK')" "$@" 2>&1)
	[ "x$r_got" = "x$r_want" ] ||
		t_fail "$r_stmt with a = [$*]: expected $r_want, got $r_got"
}

r_start() {
	if [ -z "${T_NOMOUNT:-}" ]; then
		r_need timeout
		t_require_fuse
	fi
	t_tmpdir
	if [ -n "${T_NOMOUNT:-}" ]; then
		BACKING=$T_TMP/${R_MNT_REL:-mnt}
		MNT=$BACKING
		mkdir -p "$BACKING" || t_fail "mkdir $BACKING"
		echo "$R_SCRIPT: T_NOMOUNT=1: plain directory $BACKING" >&2
		return 0
	fi
	BACKING=$T_TMP/${R_BACKING_REL:-backing}
	MNT=$T_TMP/${R_MNT_REL:-mnt}
	T_LOG=$T_TMP/daemon.log
	# shellcheck disable=SC2086 # MMAPFS_TEST_OPTS is a list of words
	t_mount "$BACKING" "$MNT" ${MMAPFS_TEST_OPTS:-} "$@"
}

r_finish() {
	[ -n "${T_NOMOUNT:-}" ] && return 0
	t_umount "$MNT"
	r_st=$?
	[ $r_st -eq 0 ] ||
		t_fail "umount $MNT: umount failed or daemon exited with status $r_st"
	if t_is_mounted "$MNT"; then t_fail "$MNT still mounted after umount"; fi
	return 0
}
