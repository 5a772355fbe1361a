/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guardian of a migration's source side: a process forked by `ferry
 * migrate` before the freeze that does nothing while `ferry migrate` lives
 * and, if it dies without saying it is done (kill -9, a crash), leaves the
 * container in one well-defined place.  See migrate_guard.c.
 */
#ifndef FERRY_MIGRATE_GUARD_H
#define FERRY_MIGRATE_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "context.h"
#include "error.h"
#include "netmove.h"
#include "state.h"

/* What `ferry migrate` tells its guardian, in the order it happens. */
enum ferry_guard_note {
	FERRY_GUARD_CRIU = 'c',      /* value: the pid of CRIU (swrk) */
	FERRY_GUARD_FROZE = 'f',     /* we froze the cgroup: a rollback thaws it */
	FERRY_GUARD_IPS = 'i',       /* value: bit mask of --move-ip addresses removed here */
	FERRY_GUARD_HELD = 'o',      /* value: bit mask of addresses HOLD gave the destination */
	FERRY_GUARD_COMMIT = 'x',    /* stop-copy: COMMIT sent, the destination owns it */
	FERRY_GUARD_HANDOFF = 'h',   /* lazy: COMMIT sent, the page transfer decides */
	FERRY_GUARD_SETTLED = 'd',   /* `ferry migrate` finished its own clean-up: exit */
};

struct ferry_guard_info {
	const char *id;
	const char *work; /* the work dir: its images (memory) go, the logs stay */
	const struct ferry_state *st; /* the source's state at the start */
	const struct ferry_ipaddr *ips;
	size_t n_ips;
	bool lazy;
};

typedef struct ferry_guard ferry_guard_t;

/* Forks the guardian.  Call before any thread exists: the child goes on
 * with the library (malloc, locks), which is only safe after a fork from a
 * single-threaded process. */
int ferry_guard_start(const ferry_ctx_t *ctx, const struct ferry_guard_info *gi, ferry_guard_t **out,
		      ferry_error_t *err);
/* Async-signal-safe (a write(2) on a pipe); NULL g is a no-op. */
void ferry_guard_note(ferry_guard_t *g, enum ferry_guard_note what, uint64_t value);
/* Settled, then waits for the guardian to exit; frees g. */
void ferry_guard_stop(ferry_guard_t *g);

#endif
