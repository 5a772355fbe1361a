/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor of a `ferry serve` session, shared by its two files:
 * serve.c (the steps of a migration) and serve_criu.c (the CRIU helper
 * processes of a session: the page server or lazy-pages daemon, and the
 * watch over the daemon during a lazy restore).
 */
#ifndef FERRY_SERVE_INTERNAL_H
#define FERRY_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "checkpoint.h"
#include "container.h"
#include "migrate.h"
#include "nethold.h"
#include "netmove.h"
#include "spec.h"
#include "wire.h"
#include "xfer.h"

struct sess {
	const ferry_ctx_t *ctx;
	const struct ferry_serve_opts *o;
	const char *peer;   /* address, then also the certificate subject, for logs */
	char *who;
	int sock;           /* the network process */
	pid_t net_pid;
	bool hello_done;
	bool pages_ready;   /* it has the pages connection, TLS done */
	bool relay_on;      /* and relays it to CRIU */
	int timeout_ms;
	char tokenhex[2 * FERRY_WIRE_TOKEN_LEN + 1];
	char *dir; /* <work_root>/<token> */
	char *images, *work;
	int pages_listen;
	char *criu;

	char *id;
	enum ferry_migrate_mode mode;
	bool tcp_established;
	ferry_spec_t *spec;
	json_t *config;
	char *src_rootfs, *src_bundle, *shared_dir;
	char *bundle;   /* what the restore uses */
	char *rootfs;   /* absolute */
	bool bundle_made;
	bool in_place;
	int rootfs_fd, images_fd;

	pid_t criu_pid; /* page server or lazy-pages daemon */
	int ps_fd;
	bool restored;
	bool committed;
	/* The transfer in progress (MANIFEST to FILES_END). */
	struct {
		bool active, noop;
		struct ferry_xfer_manifest m;
		int dirfd; /* not owned */
		size_t *need, n_need;
		bool *wanted;
		int fd;
		size_t cur;
	} x;

	struct ferry_ipaddr ips[64];
	bool ip_added[64];
	size_t n_ips;
	/* Opened once the IPs are here, so that COMMIT only sends (closing
	 * a packet socket takes an RCU grace period): ann[0..n_ann). */
	struct ferry_announcer ann[64];
	size_t n_ann;
	/* The source handed its addresses over before it froze (HOLD):
	 * they are here and announced, their packets wait in hold until the
	 * restore is done (nethold.h). */
	struct ferry_hold hold;
	bool held;
	double t_restored;
	/* The restore made ready at DUMP, before the source freezes. */
	ferry_restore_staged_t *staged;
	struct ferry_restore_opts staged_ro;
	char *staged_cg;
};



/* serve.c */
int net_ctl(struct sess *s, uint32_t type, int fd, const uint32_t *arg, ferry_error_t *err);
bool relay_end(struct sess *s, bool finish, ferry_error_t *why);

/* serve_criu.c */
int spawn_criu_pages(struct sess *s, ferry_error_t *err);
void stop_criu(struct sess *s);
int wait_criu(struct sess *s, int timeout_ms, const char *log, ferry_error_t *err);

/*
 * A lazy restore waits for pages the restorer itself touches.  If the
 * lazy-pages daemon dies meanwhile (the source went away, or aborted
 * after handing off), nothing will ever serve them and the restore would
 * wait forever: this thread watches the daemon for the restore's duration
 * and, when it dies, kills everything in the container's cgroup (the
 * restoring CRIU included), so that the restore fails and rolls back.
 */
struct lazy_watch {
	pthread_t th;
	pid_t daemon;
	char *cg_path;
	const struct ferry_ipaddr *ips; /* dropped before the kill, as in rollback() */
	const bool *ip_added;
	size_t n_ips;
	atomic_bool stop;
	bool reaped; /* the daemon died during the restore; status below */
	int status;
};

void *lazy_watch_main(void *arg);

#endif
