#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/install/install_layout.sh - "make install" puts every file where
# mount(8), man(1) and people look, and "make uninstall" removes them all.
#
# Installs into a scratch DESTDIR (nothing on the machine changes) with
# the configured directories, and checks: mmapfs and mmapfs-stat in
# $(bindir), mount.fuse.mmapfs in the mount helper dir and pointing at
# $(bindir), the man page and its two links in man8, the documents and the
# example mount unit in $(docdir) (named after its mount point, and
# accepted by systemd-analyze verify when that is installed).  Needs make
# and the configured build tree; no root.

b=${top_builddir:-.}
[ -f "$b/Makefile" ] || { echo "SKIP: no configured build tree" >&2; exit 77; }
command -v make >/dev/null || { echo "SKIP: no make" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/mmapfs-install.XXXXXX") || fail mktemp
trap 'rm -rf "$d"' EXIT

# The directories as configured (make expands ${prefix} and friends).
# MAKEFLAGS from the calling make (-j, jobserver) must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL
v() { make -s -C "$b" --no-print-directory -f Makefile -f - _print_var V="$1" <<'EOT'
_print_var:
	@echo $($(V))
EOT
}
bindir=$(v bindir) mandir=$(v mandir) docdir=$(v docdir) helperdir=$(v mounthelperdir)
[ -n "$bindir" ] && [ -n "$helperdir" ] || fail "cannot read the directories from $b/Makefile"

make -s -C "$b" install DESTDIR="$d" >"$d.log" 2>&1 || { cat "$d.log" >&2; rm -f "$d.log"; fail "make install"; }
rm -f "$d.log"
for f in "$bindir/mmapfs" "$bindir/mmapfs-stat" "$helperdir/mount.fuse.mmapfs"; do
	[ -x "$d$f" ] || fail "$f not installed (or not executable)"
done
for f in mmapfs.8 mmapfs-stat.8 mount.fuse.mmapfs.8; do
	[ -f "$d$mandir/man8/$f" ] || fail "$mandir/man8/$f not installed"
done
for f in user-guide.md semantics.md design.md benchmarks.md mnt-data.mount; do
	[ -f "$d$docdir/$f" ] || fail "$docdir/$f not installed"
done
grep -q "^PATH='$bindir'" "$d$helperdir/mount.fuse.mmapfs" ||
	fail "mount.fuse.mmapfs does not put $bindir first in PATH"
# The example mount unit: named after its Where=, and valid for systemd.
unit=$d$docdir/mnt-data.mount
where=$(sed -n 's/^Where=//p' "$unit")
if command -v systemd-escape >/dev/null; then
	[ "$(systemd-escape -p --suffix=mount "$where")" = mnt-data.mount ] ||
		fail "mnt-data.mount does not match Where=$where"
fi
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$unit" >"$d.verify" 2>&1 ||
		{ cat "$d.verify" >&2; rm -f "$d.verify"; fail "systemd-analyze verify mnt-data.mount"; }
	rm -f "$d.verify"
	echo "ok: systemd-analyze verify mnt-data.mount"
fi
"$d$bindir/mmapfs" --version >/dev/null || fail "installed mmapfs --version"
"$d$bindir/mmapfs-stat" -h >/dev/null || fail "installed mmapfs-stat -h"
echo "ok: installed $(find "$d" -type f | wc -l) files"

make -s -C "$b" uninstall DESTDIR="$d" >/dev/null 2>&1 || fail "make uninstall"
left=$(find "$d" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "ok: uninstall removed everything"
