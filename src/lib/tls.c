/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <dlfcn.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config.h"
#include "log.h"
#include "tls.h"
#include "util.h"

/*
 * GnuTLS is loaded when TLS is first needed, not linked: linked, it and the
 * eight libraries it pulls in (p11-kit, nettle, gmp, ...) are mapped,
 * relocated and initialised by the constructor of every ferry command,
 * about 1.2 ms each, twice for the commands that re-execute themselves
 * from their sealed copy (sealed_exe.c), when only migrate and serve use
 * it.  The header still declares every function, so each pointer below
 * has the library's own prototype.  The library is never unloaded.
 */
#define GNUTLS_FUNCS(X) \
	X(gnutls_strerror) \
	X(gnutls_error_is_fatal) \
	X(gnutls_certificate_allocate_credentials) \
	X(gnutls_certificate_set_x509_trust_file) \
	X(gnutls_certificate_set_x509_key_file) \
	X(gnutls_certificate_free_credentials) \
	X(gnutls_certificate_get_peers) \
	X(gnutls_certificate_server_set_request) \
	X(gnutls_certificate_verification_status_print) \
	X(gnutls_x509_crt_init) \
	X(gnutls_x509_crt_import) \
	X(gnutls_x509_crt_get_dn) \
	X(gnutls_x509_crt_deinit) \
	X(gnutls_init) \
	X(gnutls_deinit) \
	X(gnutls_set_default_priority) \
	X(gnutls_credentials_set) \
	X(gnutls_session_set_verify_cert) \
	X(gnutls_session_get_verify_cert_status) \
	X(gnutls_transport_set_int2) \
	X(gnutls_handshake_set_timeout) \
	X(gnutls_handshake) \
	X(gnutls_record_send) \
	X(gnutls_record_recv) \
	X(gnutls_record_check_pending) \
	X(gnutls_bye)

struct gnutls_api {
#define X(f) __typeof__(&f) f;
	GNUTLS_FUNCS(X)
#undef X
	/* gnutls_free is a variable holding the library's free() */
	gnutls_free_function *free;
};

struct ferry_tls_creds {
	struct gnutls_api api;
	gnutls_certificate_credentials_t x509;
};

struct ferry_tls {
	const struct gnutls_api *api; /* the credentials' (which outlive every session) */
	gnutls_session_t s;
	int fd;
	char peer[256];
};

static int
gnutls_load(struct gnutls_api *api, ferry_error_t *err)
{
	void *h = dlopen(FERRY_GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return ferry_error_set(err, ENOENT, "TLS: load %s: %s", FERRY_GNUTLS_SONAME, dlerror());
#define X(f) \
	if ((api->f = (__typeof__(&f)) dlsym(h, #f)) == NULL) \
		return ferry_error_set(err, ENOENT, "TLS: %s has no %s", FERRY_GNUTLS_SONAME, #f);
	GNUTLS_FUNCS(X)
#undef X
	api->free = (gnutls_free_function *) dlsym(h, "gnutls_free");
	if (api->free == NULL)
		return ferry_error_set(err, ENOENT, "TLS: %s has no gnutls_free", FERRY_GNUTLS_SONAME);
	return 0;
}

static int
tls_err(const struct gnutls_api *api, ferry_error_t *err, int rc, const char *what)
{
	return ferry_error_set(err, EPROTO, "%s: %s", what, api->gnutls_strerror(rc));
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
	if (gnutls_load(&c->api, err) < 0) {
		free(c);
		return -1;
	}
	rc = c->api.gnutls_certificate_allocate_credentials(&c->x509);
	if (rc < 0) {
		tls_err(&c->api, err, rc, "TLS credentials");
		free(c);
		return -1;
	}
	rc = c->api.gnutls_certificate_set_x509_trust_file(c->x509, p->ca, GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		if (rc == 0)
			ferry_error_set(err, EINVAL, "%s: no CA certificate in it", p->ca);
		else
			tls_err(&c->api, err, rc, p->ca);
		ferry_tls_creds_free(c);
		return -1;
	}
	rc = c->api.gnutls_certificate_set_x509_key_file(c->x509, p->cert, p->key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		ferry_error_set(err, EINVAL, "certificate %s / key %s: %s", p->cert, p->key,
				c->api.gnutls_strerror(rc));
		ferry_tls_creds_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
ferry_tls_creds_free(ferry_tls_creds_t *c)
{
	if (c == NULL)
		return;
	c->api.gnutls_certificate_free_credentials(c->x509);
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
	certs = t->api->gnutls_certificate_get_peers(t->s, &n);
	if (certs == NULL || n == 0 || t->api->gnutls_x509_crt_init(&crt) < 0)
		return;
	if (t->api->gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0)
		t->api->gnutls_x509_crt_get_dn(crt, t->peer, &len);
	t->api->gnutls_x509_crt_deinit(crt);
}

static int
handshake(int fd, ferry_tls_creds_t *c, bool server, const char *peer_name, int timeout_ms, ferry_tls_t **out,
	  ferry_error_t *err)
{
	const struct gnutls_api *api = &c->api;
	ferry_tls_t *t = xmalloc0(sizeof(*t));
	int rc;

	t->api = api;
	t->fd = fd;
	rc = api->gnutls_init(&t->s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
	if (rc < 0) {
		free(t);
		close(fd);
		return tls_err(api, err, rc, "TLS session");
	}
	if ((rc = api->gnutls_set_default_priority(t->s)) < 0 ||
	    (rc = api->gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, c->x509)) < 0)
		goto fail;
	if (server) {
		/* Mutual: no certificate, no session. */
		api->gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
		api->gnutls_session_set_verify_cert(t->s, NULL, 0);
	} else {
		/* No SNI: the agent has one certificate, and peers are often
		 * dialled by IP address, which SNI cannot carry. */
		api->gnutls_session_set_verify_cert(t->s, peer_name, 0);
	}
	api->gnutls_transport_set_int2(t->s, fd, fd);
	if (timeout_ms > 0) {
		api->gnutls_handshake_set_timeout(t->s, (unsigned int) timeout_ms);
		ferry_tls_set_timeout(t, timeout_ms);
	}
	do {
		rc = api->gnutls_handshake(t->s);
	} while (rc < 0 && api->gnutls_error_is_fatal(rc) == 0 && rc != GNUTLS_E_AGAIN);
	if (rc < 0) {
		if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t why = { 0 };
			unsigned int status = api->gnutls_session_get_verify_cert_status(t->s);
			api->gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
			ferry_error_set(err, EACCES, "TLS handshake: the %s's certificate is not accepted: %s",
					server ? "client" : "server", why.data ? (char *) why.data : "verification failed");
			(*api->free)(why.data);
		} else if (rc == GNUTLS_E_AGAIN) {
			ferry_error_set(err, ETIMEDOUT, "TLS handshake: no answer within %d ms", timeout_ms);
		} else {
			tls_err(api, err, rc, "TLS handshake");
		}
		api->gnutls_deinit(t->s);
		close(fd);
		free(t);
		return -1;
	}
	remember_peer(t);
	*out = t;
	return 0;
fail:
	api->gnutls_deinit(t->s);
	close(fd);
	free(t);
	return tls_err(api, err, rc, "TLS session");
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
		ssize_t n = t->api->gnutls_record_send(t->s, p, len);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN)
			return ferry_error_set(err, ETIMEDOUT, "send: the peer stopped reading");
		if (n < 0)
			return tls_err(t->api, err, (int) n, "send");
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
		ssize_t n = t->api->gnutls_record_recv(t->s, p, len);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN)
			return ferry_error_set(err, ETIMEDOUT, "receive: the peer went silent");
		if (n == 0)
			return ferry_error_set(err, ECONNRESET, "the peer closed the connection");
		if (n < 0)
			return tls_err(t->api, err, (int) n, "receive");
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
	t->api->gnutls_bye(t->s, GNUTLS_SHUT_WR);
	t->api->gnutls_deinit(t->s);
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
	t->api->gnutls_deinit(t->s);
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
		ssize_t n = t->api->gnutls_record_recv(t->s, buf, len);
		if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
			continue;
		/* Without TLS's goodbye the peer did not end its stream, it
		 * broke it (a relay that was aborted, a host that died): an
		 * error, so that whoever reads on is told (relay.c). */
		if (n < 0)
			return tls_err(t->api, err, (int) n, "receive");
		return n;
	}
}

bool
ferry_tls_pending(ferry_tls_t *t)
{
	return t->api->gnutls_record_check_pending(t->s) > 0;
}

void
ferry_tls_shutdown_write(ferry_tls_t *t)
{
	t->api->gnutls_bye(t->s, GNUTLS_SHUT_WR);
}
