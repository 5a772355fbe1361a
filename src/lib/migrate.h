/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live migration: `ferry migrate` (the source, migrate.c) and `ferry serve`
 * (the destination agent, serve.c).  docs/migration.md describes the phases
 * and the commit rule; docs/wire.md the protocol.
 */
#ifndef FERRY_MIGRATE_H
#define FERRY_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "context.h"
#include "error.h"
#include "netmove.h"
#include "tls.h"

#define FERRY_MIGRATE_PORT 7070

enum ferry_migrate_mode {
	FERRY_MIGRATE_AUTO = 0,
	FERRY_MIGRATE_LAZY,      /* post-copy: memory served from the source on demand */
	FERRY_MIGRATE_STOP_COPY, /* memory streamed while frozen */
	FERRY_MIGRATE_SHARED,    /* the article's flow: images through a directory both hosts see */
	FERRY_MIGRATE_PRE_COPY,  /* iterative pre-dumps, then a short final dump (needs soft-dirty) */
};

const char *ferry_migrate_mode_name(enum ferry_migrate_mode m);
int ferry_migrate_mode_parse(const char *s, enum ferry_migrate_mode *out, ferry_error_t *err);

struct ferry_migrate_opts {
	const char *id;
	const char *to; /* HOST[:PORT], [V6]:PORT */
	enum ferry_migrate_mode mode;
	const char *shared_dir;
	const struct ferry_ipaddr *ips;
	size_t n_ips;
	int tcp_established; /* -1: when the container has established connections */
	unsigned int downtime_budget_ms;
	bool preflight_only;
	bool json;     /* events as JSON lines on stdout */
	bool progress; /* a progress line on stderr */
	struct ferry_tls_paths tls;
	const char *work_dir; /* NULL: /run/ferry-migrate */
	int timeout_ms;       /* per network wait; 0: 30 s */
};

int ferry_migrate(const ferry_ctx_t *ctx, const struct ferry_migrate_opts *o, ferry_error_t *err);

struct ferry_serve_opts {
	const char *listen; /* ADDR:PORT */
	struct ferry_tls_paths tls;
	const char *work_root;     /* sessions (images, logs); NULL: /run/ferry-serve */
	const char *bundle_root;   /* bundles of received containers; NULL: /var/lib/ferry/bundles */
	const char *cgroup_parent; /* NULL: each container's own cgroupsPath */
	int max_sessions;          /* 0: 4 */
	int timeout_ms;            /* 0: 30 s */
	bool once;                 /* exit after the first migration session ends */
};

int ferry_serve(const ferry_ctx_t *ctx, const struct ferry_serve_opts *o, ferry_error_t *err);

/* Fault injection (test builds): true when FERRY_FAULT names this point. */
bool ferry_fault(const char *point);

#endif
