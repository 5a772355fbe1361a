/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"
#include "tls.h"
#include "util.h"

struct ferry_tls_creds {
	gnutls_certificate_credentials_t x509;
};

struct ferry_tls {
	gnutls_session_t s;
	int fd;
	char peer[256];
};

static int
tls_err(ferry_error_t *err, int rc, const char *what)
{
	return ferry_error_set(err, EPROTO, "%s: %s", what, gnutls_strerror(rc));
}

int
ferry_tls_creds_load(const struct ferry_tls_paths *p, ferry_tls_creds_t **out, ferry_error_t *err)
{
	ferry_tls_creds_t *c;
	int rc;

	if (p->ca == NULL || p->cert == NULL || p->key == NULL)
		return ferry_error_set(err, EINVAL, "TLS needs a CA (--ca), a certificate (--cert) and a key (--key)");
	for (const char *const *f = (const char *const[]){ p->ca, p->cert, p->key, NULL }; *f; f++)
		if (access(*f, R_OK) < 0)
			return ferry_error_sys(err, "%s", *f);
	c = xmalloc0(sizeof(*c));
	rc = gnutls_certificate_allocate_credentials(&c->x509);
	if (rc < 0) {
		free(c);
		return tls_err(err, rc, "TLS credentials");
	}
	rc = gnutls_certificate_set_x509_trust_file(c->x509, p->ca, GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		ferry_tls_creds_free(c);
		return rc == 0 ? ferry_error_set(err, EINVAL, "%s: no CA certificate in it", p->ca)
			       : tls_err(err, rc, p->ca);
	}
	rc = gnutls_certificate_set_x509_key_file(c->x509, p->cert, p->key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		ferry_tls_creds_free(c);
		return ferry_error_set(err, EINVAL, "certificate %s / key %s: %s", p->cert, p->key, gnutls_strerror(rc));
	}
	*out = c;
	return 0;
}

void
ferry_tls_creds_free(ferry_tls_creds_t *c)
{
	if (c == NULL)
		return;
	gnutls_certificate_free_credentials(c->x509);
	free(c);
}

void
ferry_tls_creds_freep(ferry_tls_creds_t **c)
{
	ferry_tls_creds_free(*c);
	*c = NULL;
}

int
ferry_tls_set_timeout(ferry_tls_t *t, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

	/* Kernel timeouts on a blocking socket: GnuTLS then sees EAGAIN and
	 * the read or write fails instead of waiting for a dead peer. */
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

static void
remember_peer(ferry_tls_t *t)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	gnutls_x509_crt_t crt;
	size_t len = sizeof(t->peer);

	snprintf(t->peer, sizeof(t->peer), "?");
	certs = gnutls_certificate_get_peers(t->s, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0)
		gnutls_x509_crt_get_dn(crt, t->peer, &len);
	gnutls_x509_crt_deinit(crt);
}

static int
handshake(int fd, ferry_tls_creds_t *c, bool server, const char *peer_name, int timeout_ms, ferry_tls_t **out,
	  ferry_error_t *err)
{
	ferry_tls_t *t = xmalloc0(sizeof(*t));
	int rc;

	t->fd = fd;
	rc = gnutls_init(&t->s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
	if (rc < 0) {
		free(t);
		close(fd);
		return tls_err(err, rc, "TLS session");
	}
	if ((rc = gnutls_set_default_priority(t->s)) < 0 ||
	    (rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, c->x509)) < 0)
		goto fail;
	if (server) {
		/* Mutual: no certificate, no session. */
		gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_cert(t->s, NULL, 0);
	} else {
		/* No SNI: the agent has one certificate, and peers are often
		 * dialled by IP address, which SNI cannot carry. */
		gnutls_session_set_verify_cert(t->s, peer_name, 0);
	}
	gnutls_transport_set_int(t->s, fd);
	if (timeout_ms > 0) {
		gnutls_handshake_set_timeout(t->s, (unsigned int) timeout_ms);
		ferry_tls_set_timeout(t, timeout_ms);
	}
	do {
		rc = gnutls_handshake(t->s);
	} while (rc < 0 && gnutls_error_is_fatal(rc) == 0 && rc != GNUTLS_E_AGAIN);
	if (rc < 0) {
		if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t why = { 0 };
			unsigned int status = gnutls_session_get_verify_cert_status(t->s);
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
			ferry_error_set(err, EACCES, "TLS handshake: the %s's certificate is not accepted: %s",
					server ? "client" : "server", why.data ? (char *) why.data : "verification failed");
			gnutls_free(why.data);
		} else if (rc == GNUTLS_E_AGAIN) {
			ferry_error_set(err, ETIMEDOUT, "TLS handshake: no answer within %d ms", timeout_ms);
		} else {
			tls_err(err, rc, "TLS handshake");
		}
		gnutls_deinit(t->s);
		close(fd);
		free(t);
		return -1;
	}
	remember_peer(t);
	*out = t;
	return 0;
fail:
	gnutls_deinit(t->s);
	close(fd);
	free(t);
	return tls_err(err, rc, "TLS session");
}

int
ferry_tls_client(int fd, ferry_tls_creds_t *c, const char *peer_name, int timeout_ms, ferry_tls_t **out,
		 ferry_error_t *err)
{
	return handshake(fd, c, false, peer_name, timeout_ms, out, err);
}

int
ferry_tls_server(int fd, ferry_tls_creds_t *c, int timeout_ms, ferry_tls_t **out, ferry_error_t *err)
{
	return handshake(fd, c, true, NULL, timeout_ms, out, err);
}

const char *
ferry_tls_peer(const ferry_tls_t *t)
{
	return t->peer;
}

int
ferry_tls_fd(const ferry_tls_t *t)
{
	return t->fd;
}

int
ferry_tls_write_all(ferry_tls_t *t, const void *buf, size_t len, ferry_error_t *err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = gnutls_record_send(t->s, p, len);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN)
			return ferry_error_set(err, ETIMEDOUT, "send: the peer stopped reading");
		if (n < 0)
			return tls_err(err, (int) n, "send");
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int
ferry_tls_read_full(ferry_tls_t *t, void *buf, size_t len, ferry_error_t *err)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = gnutls_record_recv(t->s, p, len);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN)
			return ferry_error_set(err, ETIMEDOUT, "receive: the peer went silent");
		if (n == 0)
			return ferry_error_set(err, ECONNRESET, "the peer closed the connection");
		if (n < 0)
			return tls_err(err, (int) n, "receive");
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

void
ferry_tls_close(ferry_tls_t *t)
{
	if (t == NULL)
		return;
	/* Best effort and bounded: a dead peer must not hold us. */
	ferry_tls_set_timeout(t, 1000);
	gnutls_bye(t->s, GNUTLS_SHUT_WR);
	gnutls_deinit(t->s);
	close(t->fd);
	free(t);
}

void
ferry_tls_abort(ferry_tls_t *t)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (t == NULL)
		return;
	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	gnutls_deinit(t->s);
	close(t->fd);
	free(t);
}

void
ferry_tls_closep(ferry_tls_t **t)
{
	ferry_tls_close(*t);
	*t = NULL;
}

ssize_t
ferry_tls_recv_some(ferry_tls_t *t, void *buf, size_t len, ferry_error_t *err)
{
	for (;;) {
		ssize_t n = gnutls_record_recv(t->s, buf, len);
		if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
			continue;
		/* Without TLS's goodbye the peer did not end its stream, it
		 * broke it (a relay that was aborted, a host that died): an
		 * error, so that whoever reads on is told (relay.c). */
		if (n < 0)
			return tls_err(err, (int) n, "receive");
		return n;
	}
}

bool
ferry_tls_pending(ferry_tls_t *t)
{
	return gnutls_record_check_pending(t->s) > 0;
}

void
ferry_tls_shutdown_write(ferry_tls_t *t)
{
	gnutls_bye(t->s, GNUTLS_SHUT_WR);
}
