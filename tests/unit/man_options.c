// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * man_options.c - print the OPTIONS entries of docs/mmapfs.8 from the option
 * table in daemon/options.c, the same table --help prints.
 *
 * tests/unit/man_sync.sh compares this output with the man page, and
 * `make update-man` writes it into the man page, so the two cannot drift.
 */
#include "config.h"

#include <stdio.h>

#include "daemon/daemon.h"

int main(void)
{
	daemon_print_man_options(stdout);
	return fflush(stdout) ? 1 : 0;
}
