/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running ferry from a sealed in-memory copy of its binary, so that no
 * process inside a container can reach the host's ferry binary through
 * /proc/PID/exe (runc's CVE-2019-5736).
 */
#ifndef FERRY_SEALED_EXE_H
#define FERRY_SEALED_EXE_H

#include <stdbool.h>

#include "error.h"

/* Whether /proc/self/exe is already a sealed copy (write, grow, shrink and
 * seal seals all set). */
bool ferry_sealed_exe_is_self(void);

/*
 * Unless it is already one, re-executes the running binary from a sealed
 * memfd copy of it with the same argv and environment. Returns 0 when
 * already running from a sealed copy; otherwise returns only on failure,
 * with *err set.
 */
int ferry_sealed_exe_reexec(char *const argv[], ferry_error_t *err);

#endif
