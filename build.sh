#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build.sh - the whole set-up on a fresh Debian 12 machine, in one command.
#
#   ./build.sh demo    install what is missing, build, run the demo
#   ./build.sh check   install what is missing, build, run `make check`
#   ./build.sh bench   install what is missing, build, run `make bench`
#   ./build.sh deps    only install what is missing
#
# Packages are installed here (apt-get, as root) and never by `make check`.
# CONFIGURE_FLAGS is passed to ./configure (CI uses --enable-werror).
set -eu
cd "$(dirname "$0")"

# build, run-time and test dependencies, all Debian 12 packages
PKGS="gcc make autoconf automake pkg-config libc6-dev
libfuse3-dev fuse3 liburing-dev check
python3 sqlite3 python3-lmdb git attr util-linux procps psmisc
binutils coreutils findutils diffutils gawk
e2fsprogs dmsetup kmod valgrind"
BENCH_PKGS="fio bindfs sqlite3 libsqlite3-dev gnuplot-nox"

want=$PKGS
[ "${1:-}" = bench ] && want="$PKGS $BENCH_PKGS"
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing Debian packages:$missing" >&2
		echo "build.sh: run as root, or: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "build.sh: installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing
fi

target=${1:-demo}
[ "$target" = deps ] && exit 0
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" all
# VERBOSE=1: the log of a failed test is printed, so that CI's output
# says why, not only which.
exec make VERBOSE=1 "$target"
