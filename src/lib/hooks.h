/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef FERRY_HOOKS_H
#define FERRY_HOOKS_H

#include "error.h"
#include "spec.h"

const char *ferry_hook_kind_name(enum ferry_hook_kind kind);

/* Runs every hook of one kind in order with the OCI state on stdin.  The
 * first failure stops the list; the error quotes the hook's stderr.
 * Poststart and poststop failures are the caller's to downgrade to
 * warnings (the spec says so). */
int ferry_hooks_run(const ferry_spec_t *spec, enum ferry_hook_kind kind, const char *state_json, ferry_error_t *err);

#endif
