#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/build_c_project.sh - copy a small C project onto the mount,
# build it with make and run it.
#
# The compiler writes objects and temporary files, ar builds a static
# library, ld writes the program (ld.gold, when installed, writes its output
# through a MAP_SHARED mapping of a file it has just ftruncate()d), and the
# kernel then maps the program from the mount to execute it.  make decides
# what to rebuild from mtimes: a second make must do nothing, and touching a
# header must rebuild exactly the objects that include it.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_need make cc ar cmp
r_start

SRC=$T_TMP/src
mkdir -p "$SRC" || t_fail "mkdir $SRC"
cat >"$SRC/calc.h" <<'EOF'
#ifndef CALC_H
#define CALC_H
long calc_fib(int n);
long calc_sum(const long *v, int n);
#endif
EOF
cat >"$SRC/calc.c" <<'EOF'
#include "calc.h"
long calc_fib(int n)
{
	long a = 0, b = 1;
	while (n-- > 0) {
		long t = a + b;
		a = b;
		b = t;
	}
	return a;
}
long calc_sum(const long *v, int n)
{
	long s = 0;
	while (n-- > 0)
		s += *v++;
	return s;
}
EOF
cat >"$SRC/text.h" <<'EOF'
#ifndef TEXT_H
#define TEXT_H
#include <stddef.h>
size_t text_count(const char *s, char c);
const char *text_greeting(void);
#endif
EOF
cat >"$SRC/text.c" <<'EOF'
#include "text.h"
size_t text_count(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}
const char *text_greeting(void)
{
	return "hello from mmapfs";
}
EOF
cat >"$SRC/main.c" <<'EOF'
#include <stdio.h>
#include "calc.h"
#include "text.h"
/* 256 KiB of initialised data: the program's file is a few pages long. */
static long table[32768] = { 1, 2, 3 };
int main(void)
{
	long v[5] = { 1, 2, 3, 4, 5 };
	table[32767] = 4;
	printf("%s\n", text_greeting());
	printf("fib(50)=%ld sum=%ld s=%zu t=%ld\n", calc_fib(50),
	       calc_sum(v, 5), text_count("mississippi", 's'),
	       table[0] + table[1] + table[2] + table[32767]);
	return 0;
}
EOF
cat >"$SRC/Makefile" <<'EOF'
CC ?= cc
CFLAGS = -O2 -Wall
all: prog
libutil.a: calc.o text.o
	rm -f $@
	ar rcs $@ calc.o text.o
calc.o: calc.c calc.h
text.o: text.c text.h
main.o: main.c calc.h text.h
prog: main.o libutil.a
	$(CC) -o $@ main.o libutil.a
prog-gold: main.o libutil.a
	$(CC) -fuse-ld=gold -o $@ main.o libutil.a
clean:
	rm -f *.o *.a prog prog-gold
EOF
WANT="hello from mmapfs
fib(50)=12586269025 sum=15 s=4 t=10"

cp -r "$SRC" "$MNT/proj" || t_fail "cp -r $SRC $MNT/proj"
for f in calc.h calc.c text.h text.c main.c Makefile; do
	cmp "$SRC/$f" "$MNT/proj/$f" || t_fail "copy of $f differs on the mount"
done
M() { r_timeout 50 make -C "$MNT/proj" --no-print-directory "$@"; }

M -j2 >"$T_TMP/make1.out" 2>&1 || { cat "$T_TMP/make1.out" >&2; t_fail "make -j2"; }
r_eq "output of the program built on the mount" "$WANT" "$(r_timeout 10 "$MNT/proj/prog")"

# Nothing changed: nothing to rebuild.
M -q all || t_fail "make -q: the tree is not up to date right after make"
# Touch one header: exactly its dependents are rebuilt.
sleep 1
touch "$MNT/proj/text.h"
M >"$T_TMP/make3.out" 2>&1 || { cat "$T_TMP/make3.out" >&2; t_fail "make after touch"; }
grep -q 'text\.c' "$T_TMP/make3.out" || { cat "$T_TMP/make3.out" >&2; t_fail "touching text.h did not rebuild text.o"; }
grep -q 'main\.c' "$T_TMP/make3.out" || { cat "$T_TMP/make3.out" >&2; t_fail "touching text.h did not rebuild main.o"; }
! grep -q 'calc\.c' "$T_TMP/make3.out" || { cat "$T_TMP/make3.out" >&2; t_fail "touching text.h rebuilt calc.o"; }
M -q all || t_fail "make -q after the rebuild: not up to date"
r_eq "output of the rebuilt program" "$WANT" "$(r_timeout 10 "$MNT/proj/prog")"

if command -v ld.gold >/dev/null 2>&1; then
	M prog-gold >"$T_TMP/make4.out" 2>&1 ||
		{ cat "$T_TMP/make4.out" >&2; t_fail "make prog-gold (ld.gold)"; }
	r_eq "output of the program linked by ld.gold" "$WANT" \
		"$(r_timeout 10 "$MNT/proj/prog-gold")"
else
	echo "$R_SCRIPT: ld.gold not installed, skipping the gold link" >&2
fi

# The same build in a plain directory must give the same objects (no -g:
# nothing names the directory), so a difference is a corrupted write.
cp -r "$SRC" "$T_TMP/ref" && make -C "$T_TMP/ref" -s prog >/dev/null 2>&1 ||
	t_fail "reference build in $T_TMP/ref"
for f in calc.o text.o main.o; do
	cmp "$T_TMP/ref/$f" "$MNT/proj/$f" || t_fail "$f built on the mount differs from the reference build"
done

r_finish
r_eq "output of the program run from the backing dir" "$WANT" \
	"$(r_timeout 10 "$BACKING/proj/prog")"
for f in calc.o text.o main.o; do
	cmp "$T_TMP/ref/$f" "$BACKING/proj/$f" ||
		t_fail "$BACKING/proj/$f differs from the reference build after unmount"
done
echo "PASS: $R_SCRIPT"
exit 0
