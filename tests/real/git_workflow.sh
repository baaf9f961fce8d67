#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/real/git_workflow.sh - git init, add, commit, gc, fsck and clone.
#
# git writes loose objects with write() + rename(), packs with write() and
# reads packs and indexes through mmap() (core.packedGitWindowSize); gc
# repacks and prunes; a local clone hard-links objects, a --no-local clone
# runs pack-objects and index-pack.  Every object is checked with fsck --full
# on the mount, and again from the backing directory after unmounting.

. "${top_srcdir:-.}/tests/real/lib.sh"
r_need git awk cmp head
r_start

HOME=$T_TMP/home
XDG_CONFIG_HOME=$HOME/.config
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME=mmapfs-test GIT_AUTHOR_EMAIL=test@mmapfs.invalid
GIT_COMMITTER_NAME=mmapfs-test GIT_COMMITTER_EMAIL=test@mmapfs.invalid
export HOME XDG_CONFIG_HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME \
	GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
mkdir -p "$HOME"
# Small pack windows: pack reads go through many mmap()/munmap() calls.
git config --global core.packedGitWindowSize 64k
git config --global core.packedGitLimit 1m
git config --global init.defaultBranch main
git config --global gc.auto 0

REPO=$MNT/repo
G() { r_timeout 50 git "$@"; }

# The tree: 12 directories of 3 levels, 25 text files and one binary file
# of up to 64 KiB in each directory: 300+ files.
mkdir "$REPO" || t_fail "mkdir $REPO"
n=0
for a in 0 1 2; do
	for b in 0 1 2 3; do
		d=$REPO/src$a/lib$b/deep
		mkdir -p "$d" || t_fail "mkdir -p $d"
		i=0
		while [ $i -lt 25 ]; do
			awk -v a=$a -v b=$b -v i=$i 'BEGIN {
				for (l = 0; l < 20 + i * 7; l++)
					printf "line %d of file %d in %d/%d: %08x\n",
					    l, i, a, b, (l * 2654435761 + i) % 4294967296
			}' >"$d/../f$i.txt" || t_fail "writing $d/../f$i.txt"
			i=$((i + 1)); n=$((n + 1))
		done
		head -c $(( (a * 4 + b + 1) * 5000 )) /dev/urandom >"$d/blob.bin" ||
			t_fail "writing $d/blob.bin"
		n=$((n + 1))
	done
done
[ $n -ge 300 ] || t_fail "generated only $n files"

G -C "$REPO" init -q || t_fail "git init"
G -C "$REPO" add -A || t_fail "git add"
G -C "$REPO" commit -q -m "first" || t_fail "git commit (first)"

# Second commit: modify, append, delete, rename, add.
for f in "$REPO"/src0/lib*/f1*.txt; do echo "modified" >>"$f"; done
head -c 70000 /dev/urandom >"$REPO/src1/lib2/deep/blob.bin"
G -C "$REPO" rm -q src2/lib3/f3.txt src2/lib3/f4.txt || t_fail "git rm"
G -C "$REPO" mv src2/lib0/f5.txt src2/lib0/renamed.txt || t_fail "git mv"
echo new >"$REPO/src2/new.txt"
G -C "$REPO" add -A || t_fail "git add (second)"
G -C "$REPO" commit -q -m "second" || t_fail "git commit (second)"
# Third commit through commit -a.
echo "third" >>"$REPO/src1/lib1/f7.txt"
G -C "$REPO" commit -q -a -m "third" || t_fail "git commit -a (third)"

G -C "$REPO" gc -q || t_fail "git gc"
[ -z "$(find "$REPO/.git/objects" -path '*/objects/[0-9a-f][0-9a-f]/*' -type f)" ] ||
	t_fail "git gc left loose objects"
ls "$REPO"/.git/objects/pack/*.pack >/dev/null 2>&1 || t_fail "git gc wrote no pack"
G -C "$REPO" fsck --full --strict --no-progress || t_fail "git fsck --full on the mount"
r_eq "git status --porcelain after commits" "" "$(G -C "$REPO" status --porcelain)"

# Clones within the mount: hard-linked objects, then the pack protocol.
G clone -q "$REPO" "$MNT/clone-local" || t_fail "git clone (local, hard links)"
G clone -q --no-local "$REPO" "$MNT/clone-pack" || t_fail "git clone --no-local"
for c in repo clone-local clone-pack; do
	r_eq "git log count in $c" 3 "$(G -C "$MNT/$c" log --oneline | wc -l)"
	G -C "$MNT/$c" fsck --full --strict --no-progress || t_fail "git fsck in $MNT/$c"
done
for c in clone-local clone-pack; do
	r_eq "HEAD of $c" "$(G -C "$REPO" rev-parse HEAD)" \
		"$(G -C "$MNT/$c" rev-parse HEAD)"
	(cd "$MNT/$c" && find . -path ./.git -prune -o -type f -print | sort) >"$T_TMP/files.$c"
	(cd "$REPO" && find . -path ./.git -prune -o -type f -print | sort) >"$T_TMP/files.repo"
	cmp "$T_TMP/files.repo" "$T_TMP/files.$c" || t_fail "file list of $c differs from repo"
	while read -r f; do
		cmp "$REPO/$f" "$MNT/$c/$f" || t_fail "$c: $f differs from the original"
	done <"$T_TMP/files.repo"
done
# A clone's checkout reads back what the first commit's blobs hold.
r_eq "blob id of src0/lib0/deep/blob.bin in clone-pack" \
	"$(G -C "$REPO" hash-object src0/lib0/deep/blob.bin)" \
	"$(G -C "$MNT/clone-pack" rev-parse HEAD:src0/lib0/deep/blob.bin)"

r_finish
for c in repo clone-local clone-pack; do
	git -C "$BACKING/$c" fsck --full --strict --no-progress ||
		t_fail "git fsck in $BACKING/$c after unmount"
	r_eq "git log count in $BACKING/$c after unmount" 3 \
		"$(git -C "$BACKING/$c" log --oneline | wc -l)"
	r_eq "git status in $BACKING/$c after unmount" "" \
		"$(git -C "$BACKING/$c" status --porcelain)"
done
echo "PASS: $R_SCRIPT"
exit 0
