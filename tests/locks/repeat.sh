#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# repeat.sh N [TEST...] - run the coherence and lock tests (or the given
# scripts) N times each and report how many runs passed.  Run it from the
# build directory (make check-repeat N=20 does), after make check has built
# the helper programs.  Exit status 0 only if every run passed.
#
# Output: one line per test, "PASSED/N  test  (failed runs: ...)", and the
# logs of failed runs under repeat-logs/.

n=${1:-20}
shift 2>/dev/null
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
export top_srcdir top_builddir
# sqlite_two_mounts.sh: also the WAL run, which make check leaves out
LOCKS_SQLITE_WAL=${LOCKS_SQLITE_WAL:-1}
export LOCKS_SQLITE_WAL
if [ $# -eq 0 ]; then
	set -- $(ls "$top_srcdir"/tests/coherence/*.sh "$top_srcdir"/tests/locks/*.sh |
		grep -v '/repeat\.sh$')
fi
mkdir -p repeat-logs
all=0
for t in "$@"; do
	name=${t##*/}
	pass=0 failed=""
	i=1
	while [ $i -le "$n" ]; do
		if timeout 600 sh "$t" >"repeat-logs/$name.$i.log" 2>&1; then
			pass=$((pass + 1))
			# figures a passing run prints (the hammer's count of
			# outside bytes still stale) stay in one file
			grep -H 'stale through the mount' \
				"repeat-logs/$name.$i.log" \
				>>repeat-logs/figures.txt 2>/dev/null
			rm -f "repeat-logs/$name.$i.log"
		else
			failed="$failed $i"
		fi
		i=$((i + 1))
	done
	printf '%d/%d  %s%s\n' "$pass" "$n" "$name" \
		"${failed:+  (failed runs:$failed)}"
	[ "$pass" = "$n" ] || all=1
done
exit $all
