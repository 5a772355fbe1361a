/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry serve`'s two processes per session and the closed set of
 * messages between them (privsep.h has the framing).
 *
 * The network process (serve_net.c) runs as nobody in an empty chroot.
 * It does the TLS handshakes, reads and checks every message of the
 * migration protocol (wire.h), and asks the monitor (serve.c, root) for
 * the few things it cannot do: one request per step of the protocol, with
 * typed fields.  The monitor answers each request with one message (COMMIT
 * in lazy mode: two, COMMITTED then POSTCOPY).  While it works on an answer
 * the monitor may tell the network process to act on the pages connection
 * (CTL_*); those are answered at once with CTL_DONE or CTL_FAILED.
 *
 * Any message a side does not expect ends the session (the monitor rolls
 * back).  Fields are listed with each type.
 */
#ifndef FERRY_SERVE_PS_H
#define FERRY_SERVE_PS_H

#include "context.h"
#include "error.h"
#include "migrate.h"
#include "tls.h"

enum serve_ps_type {
	/* network process -> monitor */
	SPS_HELLO = 1,   /* str peer subject */
	SPS_PREFLIGHT,   /* str id, u32 mode, u32 tcp, str config, str rootfs, str bundle, str? shared, bytes cpuinfo */
	SPS_MANIFEST,    /* u32 tree (0 rootfs, 1 images), u32 final, manifest */
	SPS_FILE_OPEN,   /* u32 index */
	SPS_FILE_DONE,   /* u32 index, u64 bytes written */
	SPS_FILES_END,   /* - */
	SPS_DUMP,        /* str? images (shared mode) */
	SPS_RESTORE,     /* u32 tcp (0, 1, 2: as the preflight said), u32 n, n x str address */
	SPS_COMMIT,      /* - */
	SPS_BYE,         /* - */
	SPS_FAIL,        /* u32 the source gave up, str why (no answer) */
	SPS_HOLD,        /* u32 n, n x str address */

	/* monitor -> network process: answers */
	SPS_OK = 32,     /* - */
	SPS_ERROR,       /* u32 errno, str message */
	SPS_HELLO_OK,    /* str host, str criu version, u32 features, str token */
	SPS_PREFLIGHT_OK, /* str rootfs plan */
	SPS_NEED,        /* u64 bytes, u32 n, n x u32 index */
	SPS_FD,          /* - and one descriptor */
	SPS_DUMP_READY,  /* - */
	SPS_RESTORED,    /* u64 restore ms, u64 packets held and let through */
	SPS_COMMITTED,   /* u64 ip ms */
	SPS_POSTCOPY,    /* u32 ok, u64 ms, str? error */
	SPS_HOLDING,     /* u64 ms, u32 queue */

	/* monitor -> network process: the pages connection */
	SPS_CTL_PAGES = 64,  /* - and the accepted pages socket: do the TLS handshake */
	SPS_CTL_RELAY_START, /* - and CRIU's end: relay it to the pages connection */
	SPS_CTL_RELAY_FINISH, /* u32 CRIU succeeded: end with TLS's goodbye, else cut */
	SPS_CTL_RELAY_ABORT,  /* - cut it now */
	SPS_CTL_DONE = 96,    /* - */
	SPS_CTL_FAILED,       /* str why */
};

#define SPS_FEATURE_LAZY (1u << 0)
#define SPS_FEATURE_MEM_TRACK (1u << 1)
#define SPS_FEATURE_PIPE_MAX_OK (1u << 2)
#define SPS_FEATURE_HOLD (1u << 3)

enum { SPS_TREE_ROOTFS = 0, SPS_TREE_IMAGES = 1 };

#define DEFAULT_WORK_ROOT "/run/ferry-serve"
#define DEFAULT_BUNDLE_ROOT "/var/lib/ferry/bundles"
#define OWNED_MARK ".ferry-owned"


/* A control connection's session (serve.c), in the process the listener
 * (serve_listen.c) forked for it: 0 migrated in, 1 failed, -1 ended before
 * its first request (a refused handshake). */
int ferry_serve_session(const ferry_ctx_t *ctx, const struct ferry_serve_opts *o, ferry_tls_creds_t *creds, int fd,
			const char *peer);

/* The network process, after it dropped its privileges: serves the
 * control connection fd until the session ends; returns its exit code. */
int ferry_serve_net_main(int sock, int fd, ferry_tls_creds_t *creds, int timeout_ms, const char *peer);

#endif
