/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What migrate.c and migrate_net.c share: one migration's state on the
 * source.  Not part of the library's interface.
 */
#ifndef FERRY_MIGRATE_INTERNAL_H
#define FERRY_MIGRATE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cgroup.h"
#include "context.h"
#include "criu_stats.h"
#include "error.h"
#include "migrate.h"
#include "migrate_guard.h"
#include "netmove.h"
#include "relay.h"
#include "spec.h"
#include "state.h"
#include "tls.h"
#include "transfer.h"
#include "wire.h"

#define MAX_PHASES 16

struct phase {
	const char *name;
	double start, end;
};

struct mig {
	const ferry_ctx_t *ctx;
	const struct ferry_migrate_opts *o;
	ferry_tls_creds_t *creds;
	ferry_tls_t *t;
	char host[256];
	char port[16];
	char dest_name[256];
	unsigned char token[FERRY_WIRE_TOKEN_LEN];
	int ps_fd;        /* CRIU's end of the local pages socket (stop-copy) */
	int ps_port;      /* where a lazy dump's page server listens */
	ferry_relay_t *relay;
	uint64_t page_bytes;
	int timeout_ms;

	enum ferry_migrate_mode mode;
	char mode_why[256];
	bool tcp_established;

	struct ferry_state *st;
	ferry_spec_t *spec;
	char *criu;
	char *work;   /* our work dir for this migration */
	int images_fd;
	int rootfs_fd;
	bool sync_rootfs; /* writable and not shared: synced again while frozen */
	bool was_paused;
	bool froze; /* we froze the cgroup (CRIU leaves it frozen on a rollback) */
	ferry_cgroup_t *cg; /* opened before the freeze, frozen in freeze_first */

	struct phase phases[MAX_PHASES];
	size_t n_phases;
	double t0, t_freeze, t_committed, t_end;

	struct ferry_transfer_stats presync, images, final_sync;
	struct ferry_criu_stats dump_stats;
	int64_t restore_ms, ip_ms, postcopy_ms;
	int64_t postcopy_pages; /* copied in by the destination's lazy-pages daemon */
	bool ip_removed[64];

	bool committed;
	bool uncertain;
	bool handed_off; /* lazy: CRIU serves the pages, the destination restores */
	double t_handoff;
	ferry_error_t cb_err;
	ferry_guard_t *guard; /* takes over if this process dies (migrate_guard.c) */
	bool restore_sent;    /* the destination may have run a copy with our IPs */
	/* The destination holds the IPs' packets until its restore is done
	 * (nethold.h): it can (can_hold), and HOLD was sent (held). */
	bool can_hold;
	bool held;
	int64_t hold_ms;
	int64_t held_packets; /* RESTORED: how many waited there */
	uint64_t ips_moved;   /* the IPs release_ips() removed or HOLD gave away, for announcing again */
	bool gated;	      /* new connections to the IPs dropped (gate_new_conns) */
	/* ferry locks the network itself, CRIU none (ferry_net_lock_addr):
	 * the IPs' TCP from the freeze on, and the tree's other connections
	 * (extra), which go again with a rollback or after the commit. */
	bool own_lock;
	struct ferry_net_lock_prep lock_prep; /* its tool, started before the freeze */
	struct ferry_tcp_conn *extra;
	size_t n_extra;
	bool extra_locked;
};

/* migrate_net.c */
/* The addresses release_ips took down here, back with an announcement. */
void mig_restore_ips(struct mig *m);
/* After a rollback that reached the destination's restore: once its
 * session has ended, the addresses are announced here again. */
void mig_announce_again(struct mig *m);
/* Removes the service IPs here and lists them for RESTORE. */
json_t *mig_release_ips(struct mig *m, ferry_error_t *err);
void mig_gate_new_conns(struct mig *m, bool on);
int mig_lock_network(struct mig *m, ferry_error_t *err);
void mig_unlock_network(struct mig *m);

#endif
