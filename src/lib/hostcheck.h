/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `ferry check`: the kernel and CRIU features ferry uses on this host. */
#ifndef FERRY_HOSTCHECK_H
#define FERRY_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "context.h"

enum ferry_check_level {
	FERRY_CHECK_REQUIRED, /* the runtime does not work without it */
	FERRY_CHECK_FEATURE,  /* one feature (lazy pages, pre-copy, ...) needs it */
};

struct ferry_check_result {
	const char *name;
	enum ferry_check_level level;
	bool ok;
	char *detail; /* what was seen */
	char *fix;    /* how to fix it, NULL when ok */
};

/* Runs every check; fills *out (caller frees with ferry_hostcheck_free). */
int ferry_hostcheck_run(const ferry_ctx_t *ctx, struct ferry_check_result **out, size_t *n);
void ferry_hostcheck_free(struct ferry_check_result *r, size_t n);

/* Individual probes, used by checkpoint/migrate before calling CRIU. */
bool ferry_host_has_userfaultfd(void);
bool ferry_host_has_soft_dirty(void);
long ferry_host_pipe_max_size(void);
#define FERRY_LAZY_PIPE_MIN (4L << 20)
/* Raises fs.pipe-max-size to FERRY_LAZY_PIPE_MIN when lower; 0 when it is
 * (now) large enough. */
int ferry_host_raise_pipe_max_size(void);

#endif
