/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pages connection: CRIU talks to a local loopback socket, ferry
 * carries the bytes over mutual TLS between the hosts.
 *
 * CRIU can secure its page-server connection itself, but not one handed
 * over as an already connected socket (4.2.1 skips the TLS setup on that
 * path and crashes in the first send), and a lazy dump only listens on a
 * TCP port of its own.  A relay thread per side keeps the single agent
 * port, ferry's certificates and its timeouts, at the price of one more
 * copy of each page.
 */
#ifndef FERRY_RELAY_H
#define FERRY_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tls.h"

typedef struct ferry_relay ferry_relay_t;

/* A connected loopback TCP pair (CRIU gets one end as its ps socket). */
int ferry_loopback_pair(int fds[2], ferry_error_t *err);
/* A free loopback port (for a CRIU that must listen itself). */
int ferry_loopback_free_port(int *port, ferry_error_t *err);

/*
 * Starts copying between t and a local socket, both ways, until both
 * directions have ended.  local_fd >= 0: that socket (taken over);
 * local_fd < 0: connect to 127.0.0.1:connect_port, retrying until it
 * listens or the relay is aborted.  t is taken over too.
 */
int ferry_relay_start(ferry_tls_t *t, int local_fd, int connect_port, bool hold_bye, ferry_relay_t **out,
		      ferry_error_t *err);
/* hold_bye: when the local side ends, the TLS goodbye (which tells the
 * peer the stream is complete) waits for this; without it, an abort (no
 * goodbye) makes the peer see a broken stream. */
void ferry_relay_finish(ferry_relay_t *r);
/* Ends it now: both sockets are shut down (the peers see EOF). */
void ferry_relay_abort(ferry_relay_t *r);
/* Aborts, and a relay that was still waiting for a lazy dump's page
 * server connects to it and hangs up once it listens (within 5 s), so
 * that the dump fails at once instead of waiting for a client forever. */
void ferry_relay_abort_poke(ferry_relay_t *r);
/* True once the relay ended by itself (both directions closed, or an
 * error), waiting at most timeout_ms. */
bool ferry_relay_wait(ferry_relay_t *r, int timeout_ms);
/* Waits for the end; bytes received from / sent to the TLS peer. */
int ferry_relay_join(ferry_relay_t *r, uint64_t *from_peer, uint64_t *to_peer, ferry_error_t *err);

#endif
