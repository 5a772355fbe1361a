/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between container.c, container_ops.c, run.c and exec.c only. */
#ifndef FERRY_CONTAINER_INTERNAL_H
#define FERRY_CONTAINER_INTERNAL_H

#include <sys/types.h>

#include "error.h"
#include "spec.h"
#include "state.h"

int ferry_container_load(const struct ferry_container_dir *d, struct ferry_state **st, ferry_spec_t **spec,
			 ferry_error_t *err);

/* Waits for pid in the foreground: forwards signals to it, proxies a pty
 * master to our stdio when pty_master >= 0, and returns its exit status
 * (128+signal when it was killed). */
int ferry_wait_foreground(pid_t pid, int pty_master, int *exit_status, ferry_error_t *err);

/* In a restored container's directory until its state exists: the cgroup
 * path, for a delete of what a restore that died left. */
#define RESTORE_CGROUP_FILE "restore-cgroup"

#endif
