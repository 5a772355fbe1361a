/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding and vetting the CRIU binary.  CRIU is the checkpoint engine;
 * ferry never reimplements it. */
#ifndef FERRY_CRIU_H
#define FERRY_CRIU_H

#include "context.h"
#include <stddef.h>

#include "error.h"

struct ferry_criu_version {
	int major, minor, sublevel;
};

/* In order: --criu / FERRY_CRIU (ctx->criu_path), the provisioned prefix
 * (FERRY_CRIU_PREFIX/usr/sbin/criu), then PATH.  Caller frees. */
int ferry_criu_locate(const ferry_ctx_t *ctx, char **path, ferry_error_t *err);
int ferry_criu_get_version(const char *path, struct ferry_criu_version *v, ferry_error_t *err);
/* Locates CRIU and checks it is recent enough for this kernel: CRIU < 4.2
 * cannot dump TCP sockets on kernels >= 6.16. The error says how to fix. */
int ferry_criu_require(const ferry_ctx_t *ctx, char **path, struct ferry_criu_version *v, ferry_error_t *err);
/* Kernel version of this host. */
void ferry_kernel_version(int *major, int *minor);

/* Runs a command, capturing stdout+stderr (at most max bytes kept).
 * Returns the exit status (or 128+signal), -1 when it could not run. */
int ferry_run_capture(char *const argv[], char **output, size_t max, ferry_error_t *err);

#endif
