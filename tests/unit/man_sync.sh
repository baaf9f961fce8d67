#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/unit/man_sync.sh - the man page's OPTIONS entries are the ones
# --help prints.
#
# Both come from the option table in daemon/options.c; the man page holds a
# copy (between the BEGIN OPTIONS and END OPTIONS marks) so that it can be
# read without building.  This fails when the copy is stale: run
# `make update-man`.  Also checks that --help names every option of the
# table, and that the man page's roff is clean (man --warnings) when man is
# installed.
man=${top_srcdir:-.}/docs/mmapfs.8
gen=${top_builddir:-.}/tests/unit/man_options

[ -r "$man" ] || { echo "FAIL: $man missing" >&2; exit 1; }
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
"$gen" >"$t/want" || { echo "FAIL: $gen failed" >&2; exit 1; }
sed -n '/^\.\\" BEGIN OPTIONS/,/^\.\\" END OPTIONS/p' "$man" |
	sed '1d;$d' >"$t/have"
if ! cmp -s "$t/want" "$t/have"; then
	diff -u "$t/have" "$t/want" >&2
	echo "FAIL: docs/mmapfs.8 OPTIONS differ from daemon/options.c; run 'make update-man'" >&2
	exit 1
fi
"${MMAPFS:-${top_builddir:-.}/mmapfs}" --help >"$t/help" ||
	{ echo "FAIL: mmapfs --help failed" >&2; exit 1; }
for o in $(sed -n 's/^\.B \\-o \([a-z_]*\).*/\1/p' "$t/want"); do
	grep -q -- "-o $o" "$t/help" ||
		{ echo "FAIL: --help does not list $o" >&2; exit 1; }
done
n=$(grep -c '^\.TP' "$t/want")
[ "$n" -ge 10 ] || { echo "FAIL: only $n options generated" >&2; exit 1; }
if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$man" >/dev/null 2>"$t/warn"
	if [ -s "$t/warn" ]; then
		cat "$t/warn" >&2
		echo "FAIL: roff warnings in docs/mmapfs.8" >&2
		exit 1
	fi
fi
echo "ok: $n options, man page and --help agree"
