/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mutual TLS between `ferry migrate` and `ferry serve` (GnuTLS).
 *
 * Both sides present a certificate signed by the CA they were given and
 * verify the peer's against it during the handshake: a peer without a
 * certificate, with one from another CA, or with an expired one is refused
 * before a single request byte is read.  The client also checks that the
 * server's certificate names the host it dialled (DNS name or IP address
 * in subjectAltName).  The same PEM files are handed to CRIU for the
 * page-server connection, which CRIU secures with GnuTLS itself.
 */
#ifndef FERRY_TLS_H
#define FERRY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct ferry_tls_creds ferry_tls_creds_t;
typedef struct ferry_tls ferry_tls_t;

struct ferry_tls_paths {
	const char *ca;   /* PEM CA certificate(s) to trust */
	const char *cert; /* PEM certificate of this host */
	const char *key;  /* PEM private key, unencrypted */
};

int ferry_tls_creds_load(const struct ferry_tls_paths *p, ferry_tls_creds_t **out, ferry_error_t *err);
void ferry_tls_creds_free(ferry_tls_creds_t *c);
void ferry_tls_creds_freep(ferry_tls_creds_t **c);
#define _cleanup_tls_creds_ __attribute__((cleanup(ferry_tls_creds_freep)))

/* Handshake on a connected socket (which the session then owns and closes).
 * peer_name: what the server's certificate must name (client side), NULL
 * to check only the chain.  timeout_ms bounds the handshake and, from then
 * on, every single read or write (0: no bound). */
int ferry_tls_client(int fd, ferry_tls_creds_t *c, const char *peer_name, int timeout_ms, ferry_tls_t **out,
		     ferry_error_t *err);
int ferry_tls_server(int fd, ferry_tls_creds_t *c, int timeout_ms, ferry_tls_t **out, ferry_error_t *err);

/* The peer certificate's subject (for logs). */
const char *ferry_tls_peer(const ferry_tls_t *t);
int ferry_tls_fd(const ferry_tls_t *t);
int ferry_tls_set_timeout(ferry_tls_t *t, int timeout_ms);

int ferry_tls_write_all(ferry_tls_t *t, const void *buf, size_t len, ferry_error_t *err);
/* Reads exactly len bytes; the peer closing first is an error. */
int ferry_tls_read_full(ferry_tls_t *t, void *buf, size_t len, ferry_error_t *err);

/* For a relay: one read of what is there (0: the peer closed), whether
 * decrypted data waits inside the session (poll would not show it), and
 * a half-close of our direction. */
ssize_t ferry_tls_recv_some(ferry_tls_t *t, void *buf, size_t len, ferry_error_t *err);
bool ferry_tls_pending(ferry_tls_t *t);
void ferry_tls_shutdown_write(ferry_tls_t *t);

/* Sends close_notify (best effort), frees the session and closes the fd. */
void ferry_tls_close(ferry_tls_t *t);
/* Without TLS's goodbye, and with a reset: for a stream that broke, so
 * that the other end cannot take it for a finished one (relay.c). */
void ferry_tls_abort(ferry_tls_t *t);
void ferry_tls_closep(ferry_tls_t **t);
#define _cleanup_tls_ __attribute__((cleanup(ferry_tls_closep)))

#endif
