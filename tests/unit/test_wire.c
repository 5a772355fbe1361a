/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration wire protocol's decoders (what a hostile peer can send),
 * and mutual TLS: a session works, and a peer from another CA, an expired
 * certificate, or a server that is not the host dialled is refused.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "tap.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

static void
hdr(uint8_t out[8], uint32_t type, uint32_t len)
{
	uint32_t t = htobe32(type), l = htobe32(len);
	memcpy(out, &t, 4);
	memcpy(out + 4, &l, 4);
}

static void
test_decoders(void)
{
	uint8_t pre[FERRY_WIRE_PREAMBLE_LEN], h[8];
	enum ferry_conn_kind kind;
	uint32_t type, len, idx;
	uint64_t off;
	const void *data;
	size_t dlen;
	json_t *j = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	uint8_t fd[12 + 5] = { 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 42, 'h', 'e', 'l', 'l', 'o' };

	ferry_wire_preamble_encode(pre, FERRY_CONN_PAGES);
	ok(ferry_wire_preamble_decode(pre, &kind, &e) == 0 && kind == FERRY_CONN_PAGES, "preamble round trip");
	pre[0] = 'X';
	ok(ferry_wire_preamble_decode(pre, &kind, &e) < 0 && strstr(e.msg, "bad magic"), "bad magic refused: %s", e.msg);
	ferry_error_clear(&e);
	ferry_wire_preamble_encode(pre, FERRY_CONN_CONTROL);
	pre[9] = 9;
	ok(ferry_wire_preamble_decode(pre, &kind, &e) < 0 && strstr(e.msg, "version"), "other version refused: %s", e.msg);
	ferry_error_clear(&e);
	ferry_wire_preamble_encode(pre, FERRY_CONN_CONTROL);
	pre[11] = 7;
	ok(ferry_wire_preamble_decode(pre, &kind, &e) < 0 && strstr(e.msg, "kind"), "unknown kind refused: %s", e.msg);
	ferry_error_clear(&e);
	ferry_wire_preamble_encode(pre, FERRY_CONN_CONTROL);
	pre[15] = 1;
	ok(ferry_wire_preamble_decode(pre, &kind, &e) < 0, "reserved bytes must be zero");
	ferry_error_clear(&e);

	hdr(h, FERRY_MSG_HELLO, 100);
	ok(ferry_wire_header_decode(h, &type, &len, &e) == 0 && type == FERRY_MSG_HELLO && len == 100, "header decoded");
	hdr(h, 0, 1);
	ok(ferry_wire_header_decode(h, &type, &len, &e) < 0 && strstr(e.msg, "unknown record type 0"), "type 0 refused");
	ferry_error_clear(&e);
	hdr(h, FERRY_MSG__MAX, 1);
	ok(ferry_wire_header_decode(h, &type, &len, &e) < 0, "type past the last refused");
	ferry_error_clear(&e);
	hdr(h, FERRY_MSG_HELLO, 64u << 10 | 1);
	ok(ferry_wire_header_decode(h, &type, &len, &e) < 0 && strstr(e.msg, "at most"), "oversized HELLO refused: %s",
	   e.msg);
	ferry_error_clear(&e);
	hdr(h, FERRY_MSG_FILE_DATA, 12 + FERRY_WIRE_CHUNK + 1);
	ok(ferry_wire_header_decode(h, &type, &len, &e) < 0, "oversized FILE_DATA refused before allocation");
	ferry_error_clear(&e);
	hdr(h, FERRY_MSG_MANIFEST, FERRY_WIRE_MAX_JSON);
	ok(ferry_wire_header_decode(h, &type, &len, &e) == 0, "a large manifest is allowed");
	hdr(h, FERRY_MSG_MANIFEST, 0xffffffffu);
	ok(ferry_wire_header_decode(h, &type, &len, &e) < 0, "a 4 GiB manifest is not");
	ferry_error_clear(&e);

	ok(ferry_wire_json_decode(FERRY_MSG_HELLO, "{\"a\":1}", 7, &j, &e) == 0 && json_is_object(j), "JSON object");
	json_decref(j);
	ok(ferry_wire_json_decode(FERRY_MSG_HELLO, "[1]", 3, &j, &e) < 0 && strstr(e.msg, "not a JSON object"),
	   "JSON array refused");
	ferry_error_clear(&e);
	ok(ferry_wire_json_decode(FERRY_MSG_HELLO, "{\"a\":1,\"a\":2}", 13, &j, &e) < 0, "duplicate keys refused");
	ferry_error_clear(&e);
	ok(ferry_wire_json_decode(FERRY_MSG_HELLO, "{\"a\":", 5, &j, &e) < 0 && strstr(e.msg, "bad JSON"),
	   "truncated JSON refused");
	ferry_error_clear(&e);
	ok(ferry_wire_json_decode(FERRY_MSG_FILE_DATA, "{}", 2, &j, &e) < 0, "FILE_DATA is never JSON");
	ferry_error_clear(&e);

	ok(ferry_wire_file_data_decode(fd, sizeof(fd), &idx, &off, &data, &dlen, &e) == 0 && idx == 7 && off == 42 &&
		   dlen == 5 && memcmp(data, "hello", 5) == 0,
	   "FILE_DATA decoded");
	ok(ferry_wire_file_data_decode(fd, 11, &idx, &off, &data, &dlen, &e) < 0, "short FILE_DATA refused");
	ferry_error_clear(&e);

	{
		json_t *o = json_pack("{s:s, s:i, s:b, s:i}", "s", "x", "n", 5, "b", 1, "big", 100);
		const char *sv;
		int64_t iv = 0;
		bool bv = false;
		ok(ferry_wire_get_str(o, "s", true, &sv, &e) == 0 && strcmp(sv, "x") == 0, "get_str");
		ok(ferry_wire_get_str(o, "n", true, &sv, &e) < 0 && strstr(e.msg, "\"n\": not a string"),
		   "get_str names the field");
		ferry_error_clear(&e);
		ok(ferry_wire_get_str(o, "missing", true, &sv, &e) < 0 && strstr(e.msg, "missing"), "required field");
		ferry_error_clear(&e);
		ok(ferry_wire_get_int(o, "n", true, 0, 10, &iv, &e) == 0 && iv == 5, "get_int");
		ok(ferry_wire_get_int(o, "big", true, 0, 10, &iv, &e) < 0 && strstr(e.msg, "out of range"), "range checked");
		ferry_error_clear(&e);
		ok(ferry_wire_get_bool(o, "b", &bv, &e) == 0 && bv, "get_bool");
		json_decref(o);
	}
}

/* ------------------------------------------------------------------ TLS */

static char certdir[] = "/tmp/ferry-test-wire.XXXXXX";

static char *
cert(const char *dir, const char *f)
{
	return xasprintf("%s/%s/%s", certdir, dir, f);
}

struct server_arg {
	int fd;
	const char *dir;
	const char *name;
	ferry_tls_t *t;
	ferry_error_t err;
	int ret;
	bool echo;
};

static void *
server_main(void *p)
{
	struct server_arg *a = p;
	_cleanup_free_ char *ca = cert("good", "ca.pem"), *c = cert(a->dir, "srv.pem"), *k = cert(a->dir, "srv-key.pem");
	struct ferry_tls_paths paths = { ca, c, k };
	ferry_tls_creds_t *creds = NULL;

	a->ret = ferry_tls_creds_load(&paths, &creds, &a->err);
	if (a->ret == 0)
		a->ret = ferry_tls_server(a->fd, creds, 5000, &a->t, &a->err);
	else
		close(a->fd);
	if (a->ret == 0 && a->echo) {
		json_t *j = NULL;
		if (ferry_wire_expect(a->t, FERRY_MSG_HELLO, "client", &j, &a->err) == 0) {
			ferry_wire_send_json(a->t, FERRY_MSG_HELLO_OK, j, &a->err);
			json_decref(j);
		}
		ferry_wire_send_error(a->t, "no more");
	}
	ferry_tls_close(a->t);
	a->t = NULL;
	ferry_tls_creds_free(creds);
	return NULL;
}

/* One handshake: the server uses certdir/srv_dir, the client certdir/cli_dir
 * (both trusting good/ca.pem unless cli_ca says otherwise). */
static int
session(const char *srv_dir, const char *cli_dir, const char *cli_ca_dir, const char *peer, bool echo,
	ferry_error_t *cli_err, ferry_error_t *srv_err)
{
	int sv[2];
	pthread_t th;
	struct server_arg a = { .dir = srv_dir, .echo = echo, .err = FERRY_ERROR_INIT };
	_cleanup_free_ char *ca = cert(cli_ca_dir, "ca.pem"), *c = cert(cli_dir, "cli.pem"), *k = cert(cli_dir, "cli-key.pem");
	struct ferry_tls_paths paths = { ca, c, k };
	ferry_tls_creds_t *creds = NULL;
	ferry_tls_t *t = NULL;
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	a.fd = sv[1];
	pthread_create(&th, NULL, server_main, &a);
	ret = ferry_tls_creds_load(&paths, &creds, cli_err);
	if (ret == 0)
		ret = ferry_tls_client(sv[0], creds, peer, 5000, &t, cli_err);
	else
		close(sv[0]);
	if (ret == 0 && echo) {
		json_t *hello = json_pack("{s:i}", "version", 1), *back = NULL;
		ret = ferry_wire_send_json(t, FERRY_MSG_HELLO, hello, cli_err);
		if (ret == 0)
			ret = ferry_wire_expect(t, FERRY_MSG_HELLO_OK, "server", &back, cli_err);
		ok(ret == 0 && back && json_integer_value(json_object_get(back, "version")) == 1, "a record round trip");
		json_decref(back);
		json_decref(hello);
		ok(ferry_wire_expect(t, FERRY_MSG_HELLO_OK, "server", NULL, cli_err) == -2 &&
			   strstr(cli_err->msg, "server: no more"),
		   "an ERROR record becomes the peer's words (-2): %s", cli_err->msg ? cli_err->msg : "");
		ferry_error_clear(cli_err);
	}
	ferry_tls_close(t);
	ferry_tls_creds_free(creds);
	pthread_join(th, NULL);
	*srv_err = a.err;
	return ret < 0 || a.ret < 0 ? -1 : 0;
}

static int
mkcerts(const char *sub, const char *extra_env)
{
	_cleanup_free_ char *cmd =
		xasprintf("cd %s/%s && %s sh -c '" FERRY_SOURCE_ROOT "/scripts/mkcerts . srv=10.9.9.9 cli=10.9.9.8' "
			  ">/dev/null 2>&1",
			  certdir, sub, extra_env ? extra_env : "");
	_cleanup_free_ char *dir = xasprintf("%s/%s", certdir, sub);
	if (mkdir(dir, 0700) < 0)
		return -1;
	return system(cmd);
}

static time_t
two_years_later(time_t *t)
{
	time_t now = time(NULL) + 2 * 366 * 24 * 3600;
	if (t)
		*t = now;
	return now;
}

static void
test_tls(void)
{
	ferry_error_t ce = FERRY_ERROR_INIT, se = FERRY_ERROR_INIT;

	if (mkdtemp(certdir) == NULL || mkcerts("good", NULL) != 0 || mkcerts("evil", NULL) != 0) {
		ok(0, "make test certificates with scripts/mkcerts");
		return;
	}
	/* "evil" has its own CA; "short" certificates live 400 days from good's CA. */
	{
		_cleanup_free_ char *cmd = xasprintf("mkdir %s/short && cp %s/good/ca.pem %s/good/ca-key.pem %s/short/ && cd %s/short && "
						     "HOST_DAYS=400 " FERRY_SOURCE_ROOT "/scripts/mkcerts . srv=10.9.9.9 cli=10.9.9.8 >/dev/null 2>&1",
						     certdir, certdir, certdir, certdir, certdir);
		ok(system(cmd) == 0, "short-lived certificates made");
	}

	ok(session("good", "good", "good", "10.9.9.9", true, &ce, &se) == 0, "mutual TLS between two hosts of one CA");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);

	ok(session("good", "evil", "good", "10.9.9.9", false, &ce, &se) < 0 && se.msg && strstr(se.msg, "not accepted"),
	   "a client certificate from another CA is refused by the server: %s", se.msg ? se.msg : "");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);

	ok(session("evil", "good", "good", "10.9.9.9", false, &ce, &se) < 0 && ce.msg && strstr(ce.msg, "not accepted"),
	   "a server certificate from another CA is refused by the client: %s", ce.msg ? ce.msg : "");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);

	ok(session("good", "good", "good", "10.9.9.7", false, &ce, &se) < 0 && ce.msg && strstr(ce.msg, "not accepted"),
	   "a server whose certificate names another host is refused: %s", ce.msg ? ce.msg : "");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);

	/* Two years from now the 400-day certificates have expired (the CA,
	 * 825 days, has not). */
	gnutls_global_set_time_function(two_years_later);
	ok(session("good", "short", "good", "10.9.9.9", false, &ce, &se) < 0 && se.msg && strstr(se.msg, "expired"),
	   "an expired client certificate is refused: %s", se.msg ? se.msg : "");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);
	ok(session("short", "good", "good", "10.9.9.9", false, &ce, &se) < 0 && ce.msg && strstr(ce.msg, "expired"),
	   "an expired server certificate is refused: %s", ce.msg ? ce.msg : "");
	ferry_error_clear(&ce);
	ferry_error_clear(&se);
	gnutls_global_set_time_function(NULL);

	{
		struct ferry_tls_paths p = { "/nonexistent/ca.pem", "x", "y" };
		ferry_tls_creds_t *c = NULL;
		ok(ferry_tls_creds_load(&p, &c, &ce) < 0 && strstr(ce.msg, "/nonexistent/ca.pem"),
		   "a missing CA file is named: %s", ce.msg);
		ferry_error_clear(&ce);
		p.ca = NULL;
		ok(ferry_tls_creds_load(&p, &c, &ce) < 0 && strstr(ce.msg, "--ca"), "no CA given: %s", ce.msg);
		ferry_error_clear(&ce);
	}
	{
		_cleanup_free_ char *cmd = xasprintf("rm -rf %s", certdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", certdir);
	}
}

int
main(void)
{
	/* A refused handshake closes the socket under the other side. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_decoders();
	test_tls();
	return tap_done();
}
