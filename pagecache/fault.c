// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fault.c - write-back fault injection, compiled only into
 * libpagecache_fi.a (tests).  The production library has no hook at all:
 * io_prepare() in writeback.c calls pc_fault_next() only when
 * PC_FAULT_INJECTION is defined.
 */
#include "config.h"

#include <limits.h>

#include "pagecache/pagecache_i.h"

void pc_fault_set(struct pc_cache *c, enum pc_fault_op op, int err,
		  unsigned int count)
{
	pthread_mutex_lock(&c->fault_lock);
	c->fault_err[op] = err;
	c->fault_count[op] = count;
	pthread_mutex_unlock(&c->fault_lock);
}

int pc_fault_next(struct pc_cache *c, int op)
{
	int f = 0;

	pthread_mutex_lock(&c->fault_lock);
	if (c->fault_count[op]) {
		f = c->fault_err[op];
		if (c->fault_count[op] != UINT_MAX)
			c->fault_count[op]--;
	}
	pthread_mutex_unlock(&c->fault_lock);
	return f;
}
