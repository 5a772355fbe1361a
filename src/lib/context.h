/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The explicit library context: everything a library call needs to know
 * about the caller's choices (CONVENTIONS.md 5: no global mutable state).
 */
#ifndef FERRY_CONTEXT_H
#define FERRY_CONTEXT_H

#include <stdbool.h>

typedef struct ferry_ctx {
	const char *state_root; /* --root, default FERRY_DEFAULT_ROOT */
	const char *criu_path;  /* --criu or FERRY_CRIU; NULL = locate */
	const char *log_path;   /* --log, passed on to helpers we spawn */
	int log_json;           /* --log-format json */
	bool debug;
	bool systemd_cgroup; /* --systemd-cgroup (accepted; cgroupfs paths are used) */
	const char *self_exe; /* path of the ferry binary, for re-exec helpers */
} ferry_ctx_t;

#endif
