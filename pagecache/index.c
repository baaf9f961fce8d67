// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * index.c - the page index of a mapping: a radix tree keyed by page index,
 * with per-slot tag bitmaps (dirty, writeback) like the kernel's xarray marks.
 *
 * Each node has 64 slots and covers 6 bits of the index; leaves (shift 0)
 * hold items.  The tree grows at the top when a larger index is inserted and
 * frees nodes as they empty, so a mapping of N pages costs about N * 8.2
 * bytes of nodes when dense.  A tag bit in a node says "some item below this
 * slot carries the tag", which makes "the next dirty page at or after index
 * i" a walk of one path instead of a scan, and gives write-back its pages in
 * index order (ready to be coalesced).
 *
 * The caller serialises all calls for one tree (mapping->lock).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "pagecache/pagecache_i.h"

static uint64_t node_span_bits(const struct pc_rnode *n)
{
	return n->shift + PC_RADIX_SHIFT;
}

/* true if @index fits under a root node of this shift */
static bool fits(const struct pc_rnode *n, uint64_t index)
{
	uint64_t bits = node_span_bits(n);

	return bits >= 64 || (index >> bits) == 0;
}

static struct pc_rnode *node_new(unsigned int shift)
{
	struct pc_rnode *n = calloc(1, sizeof(*n));

	if (n)
		n->shift = shift;
	return n;
}

size_t pc_radix_node_size(void)
{
	return sizeof(struct pc_rnode);
}

void *pc_radix_lookup(const struct pc_radix *r, uint64_t index)
{
	const struct pc_rnode *n = r->root;

	if (!n || !fits(n, index))
		return NULL;
	while (n) {
		void *slot = n->slots[(index >> n->shift) & PC_RADIX_MASK];

		if (n->shift == 0)
			return slot;
		n = slot;
	}
	return NULL;
}

/* Walk down to the leaf holding @index; NULL if absent. */
static struct pc_rnode *leaf_of(const struct pc_radix *r, uint64_t index)
{
	struct pc_rnode *n = r->root;

	if (!n || !fits(n, index))
		return NULL;
	while (n && n->shift)
		n = n->slots[(index >> n->shift) & PC_RADIX_MASK];
	return n;
}

int pc_radix_insert(struct pc_radix *r, uint64_t index, void *item)
{
	struct pc_rnode *n;

	if (!r->root) {
		r->root = node_new(0);
		if (!r->root)
			return -ENOMEM;
	}
	/* Grow at the top until the root covers @index. */
	while (!fits(r->root, index)) {
		struct pc_rnode *old = r->root;
		struct pc_rnode *top = node_new(old->shift + PC_RADIX_SHIFT);

		if (!top)
			return -ENOMEM;
		if (old->count) {
			top->slots[0] = old;
			top->count = 1;
			old->parent = top;
			old->offset = 0;
			for (int t = 0; t < PC_NR_TAGS; t++)
				if (old->tags[t])
					top->tags[t] = 1;
		} else {
			free(old);
		}
		r->root = top;
	}
	n = r->root;
	while (n->shift) {
		unsigned int off = (index >> n->shift) & PC_RADIX_MASK;
		struct pc_rnode *child = n->slots[off];

		if (!child) {
			child = node_new(n->shift - PC_RADIX_SHIFT);
			if (!child)
				return -ENOMEM;
			child->parent = n;
			child->offset = off;
			n->slots[off] = child;
			n->count++;
		}
		n = child;
	}
	if (n->slots[index & PC_RADIX_MASK])
		return -EEXIST;
	n->slots[index & PC_RADIX_MASK] = item;
	n->count++;
	return 0;
}

/* Clear tag bit @off in @n and upwards while nodes lose their last one. */
static void tag_clear_up(struct pc_rnode *n, unsigned int off, int tag)
{
	while (n) {
		n->tags[tag] &= ~(1ULL << off);
		if (n->tags[tag])
			return;
		off = n->offset;
		n = n->parent;
	}
}

void *pc_radix_delete(struct pc_radix *r, uint64_t index)
{
	struct pc_rnode *n = leaf_of(r, index);
	unsigned int off = index & PC_RADIX_MASK;
	void *item;

	if (!n || !n->slots[off])
		return NULL;
	item = n->slots[off];
	n->slots[off] = NULL;
	for (int t = 0; t < PC_NR_TAGS; t++)
		if (n->tags[t] & (1ULL << off))
			tag_clear_up(n, off, t);
	/* Free nodes that became empty, bottom up. */
	while (n && --n->count == 0) {
		struct pc_rnode *parent = n->parent;

		if (parent) {
			parent->slots[n->offset] = NULL;
			for (int t = 0; t < PC_NR_TAGS; t++)
				if (parent->tags[t] & (1ULL << n->offset))
					tag_clear_up(parent, n->offset, t);
		} else {
			r->root = NULL;
		}
		free(n);
		n = parent;
	}
	return item;
}

void pc_radix_tag_set(struct pc_radix *r, uint64_t index, enum pc_tag tag)
{
	struct pc_rnode *n = leaf_of(r, index);
	unsigned int off = index & PC_RADIX_MASK;

	if (!n || !n->slots[off])
		return;
	while (n) {
		if (n->tags[tag] & (1ULL << off))
			return;		/* ancestors already carry it */
		n->tags[tag] |= 1ULL << off;
		off = n->offset;
		n = n->parent;
	}
}

void pc_radix_tag_clear(struct pc_radix *r, uint64_t index, enum pc_tag tag)
{
	struct pc_rnode *n = leaf_of(r, index);
	unsigned int off = index & PC_RADIX_MASK;

	if (n && (n->tags[tag] & (1ULL << off)))
		tag_clear_up(n, off, tag);
}

bool pc_radix_tagged(const struct pc_radix *r, enum pc_tag tag)
{
	return r->root && r->root->tags[tag];
}

static size_t gang(const struct pc_rnode *n, uint64_t base, uint64_t start,
		   void **out, size_t max, int tag)
{
	size_t got = 0;
	unsigned int i = 0;
	uint64_t bits;

	if (start > base)
		i = (start - base) >> n->shift;
	bits = tag >= 0 ? n->tags[tag] : ~0ULL;
	for (; i < PC_RADIX_SLOTS && got < max; i++) {
		uint64_t rest = bits >> i;

		if (!rest)
			break;
		i += __builtin_ctzll(rest);	/* skip untagged slots */
		if (!n->slots[i])
			continue;
		if (n->shift == 0)
			out[got++] = n->slots[i];
		else
			got += gang(n->slots[i], base + ((uint64_t)i << n->shift),
				    start, out + got, max - got, tag);
	}
	return got;
}

size_t pc_radix_gang(const struct pc_radix *r, uint64_t start, void **out,
		     size_t max, int tag)
{
	const struct pc_rnode *n = r->root;

	if (!n || !max || !fits(n, start))
		return 0;
	return gang(n, 0, start, out, max, tag);
}
