/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry serve`'s network process: everything a peer sends is read,
 * decoded and checked here, as nobody in an empty chroot, and what the
 * session needs done is asked of the root monitor in typed requests
 * (serve_ps.h).  The peer's TLS handshake, the JSON of every message, the
 * base64 of the CPU image, the tree manifests and the file data framing
 * all stay on this side; file contents are written into descriptors the
 * monitor opened for exactly that file.
 *
 * What a compromised network process can do: ask the monitor for the
 * steps of a migration it could have asked for as a peer, with data that
 * passed the monitor's own checks.  It holds no path outside the chroot,
 * no capability, and writes only into the files the monitor handed it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "migrate.h"
#include "netmove.h"
#include "privsep.h"
#include "relay.h"
#include "serve_ps.h"
#include "spec.h"
#include "transfer.h"
#include "util.h"
#include "wire.h"

#undef LOG_PREFIX
#define LOG_PREFIX "serve: "

struct net {
	int sock; /* the monitor */
	ferry_tls_t *t;
	ferry_tls_creds_t *creds;
	ferry_tls_t *pages; /* the pages connection, until its relay starts */
	ferry_relay_t *relay;
	int timeout_ms;
	const char *peer;

	bool preflighted;
	enum ferry_migrate_mode mode;
	bool tcp_established;
};

/* The monitor broke the protocol between the two processes: nothing of
 * what it says can be trusted to mean what we think, so stop here. */
static void __attribute__((noreturn))
fatal(struct net *n, const char *what, uint32_t type)
{
	pr_err("network process: %s (message %u from the monitor)", what, type);
	if (n->relay)
		ferry_relay_abort(n->relay);
	ferry_tls_abort(n->pages);
	_exit(3);
}

/* True when the stream ended well (finish, and the goodbye came). */
static bool
relay_end(struct net *n, bool finish, ferry_error_t *e)
{
	bool ok = true;

	if (n->relay == NULL)
		return true;
	if (finish)
		ferry_relay_finish(n->relay);
	if (!finish || !ferry_relay_wait(n->relay, 3000)) {
		ferry_relay_abort(n->relay);
		ok = false;
	}
	if (ferry_relay_join(n->relay, NULL, NULL, e) < 0)
		ok = false;
	n->relay = NULL;
	return ok;
}

/* One CTL_* message: acts, answers. */
static void
control(struct net *n, struct ferry_ps_msg *m)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_ps_msg_ struct ferry_ps_msg a = { 0 };
	int r = 0;

	switch (m->type) {
	case SPS_CTL_PAGES: {
		int fd = ferry_ps_take_fd(m, 0);
		if (!ferry_ps_done(m) || fd < 0 || n->pages || n->relay)
			fatal(n, "bad CTL_PAGES", m->type);
		/* Mutual TLS on it too, with this session's CA. */
		r = ferry_tls_server(fd, n->creds, n->timeout_ms, &n->pages, &e);
		if (r < 0)
			ferry_error_prefix(&e, "pages connection");
		break;
	}
	case SPS_CTL_RELAY_START: {
		int fd = ferry_ps_take_fd(m, 0);
		if (!ferry_ps_done(m) || fd < 0 || n->pages == NULL || n->relay)
			fatal(n, "bad CTL_RELAY_START", m->type);
		r = ferry_relay_start(n->pages, fd, 0, true, &n->relay, &e);
		if (r < 0)
			close(fd);
		else
			n->pages = NULL;
		break;
	}
	case SPS_CTL_RELAY_FINISH: {
		bool finish = ferry_ps_get_u32(m) != 0;
		if (!ferry_ps_done(m))
			fatal(n, "bad CTL_RELAY_FINISH", m->type);
		if (!relay_end(n, finish, &e)) {
			if (!ferry_error_isset(&e))
				ferry_error_set(&e, EPIPE, "no goodbye from the source");
			r = -1;
		}
		break;
	}
	case SPS_CTL_RELAY_ABORT:
		if (!ferry_ps_done(m))
			fatal(n, "bad CTL_RELAY_ABORT", m->type);
		relay_end(n, false, &e);
		ferry_error_clear(&e);
		/* Also one not relayed yet, and without its goodbye. */
		ferry_tls_abort(n->pages);
		n->pages = NULL;
		break;
	default:
		fatal(n, "unexpected message", m->type);
	}
	ferry_ps_init(&a, r < 0 ? SPS_CTL_FAILED : SPS_CTL_DONE);
	if (r < 0)
		ferry_ps_put_str(&a, e.msg);
	ferry_error_clear(&e);
	if (ferry_ps_send(n->sock, &a, NULL, 0, &e) < 0)
		fatal(n, "the monitor went away", m->type);
}

/* The monitor's answer to a request, after any CTL_* that come first.
 * SPS_ERROR becomes err (monitor_failed set); any other type than want is
 * fatal. */
static int
await(struct net *n, uint32_t want, struct ferry_ps_msg *out, bool *monitor_failed, ferry_error_t *err)
{
	for (;;) {
		int r = ferry_ps_recv(n->sock, out, err);
		if (r < 0)
			fatal(n, err->msg, 0);
		if (r > 0)
			fatal(n, "the monitor went away", 0);
		if (out->type >= SPS_CTL_PAGES && out->type < SPS_CTL_DONE) {
			control(n, out);
			ferry_ps_free(out);
			continue;
		}
		if (out->type == SPS_ERROR) {
			uint32_t code = ferry_ps_get_u32(out);
			_cleanup_free_ char *msg = ferry_ps_get_str(out);
			if (!ferry_ps_done(out) || msg == NULL)
				fatal(n, "bad ERROR", out->type);
			*monitor_failed = true;
			ferry_ps_free(out);
			return ferry_error_set(err, (int) code, "%s", msg);
		}
		if (out->type != want)
			fatal(n, "unexpected answer", out->type);
		return 0;
	}
}

/* Sends the request in m and takes the answer of type want into m. */
static int
ask(struct net *n, struct ferry_ps_msg *m, uint32_t want, bool *monitor_failed, ferry_error_t *err)
{
	if (ferry_ps_send(n->sock, m, NULL, 0, err) < 0)
		fatal(n, err->msg, m->type);
	ferry_ps_free(m);
	return await(n, want, m, monitor_failed, err);
}

static int
reply(struct net *n, uint32_t type, json_t *j, ferry_error_t *err)
{
	int ret;

	if (j == NULL)
		j = json_object();
	ret = ferry_wire_send_json(n->t, type, j, err);
	json_decref(j);
	return ret;
}

/* ---------------------------------------------------------------- decoding */

static int
b64_decode(const char *in, unsigned char **out, size_t *len)
{
	size_t n = strlen(in), o = 0;
	unsigned char *buf;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 != 0)
		return -1;
	buf = malloc(n / 4 * 3 + 1);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char c = in[i];
		int v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=' && i >= n - 2)
			continue;
		else {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char) (acc >> bits);
		}
	}
	*out = buf;
	*len = o;
	return 0;
}

/* ---------------------------------------------------------------- steps */

static int
do_hello(struct net *n, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ char *host = NULL, *criu = NULL, *token = NULL;
	json_t *h = NULL;
	int64_t v = 0;
	uint32_t feat;
	int ret;

	if (ferry_wire_expect(n->t, FERRY_MSG_HELLO, "source", &h, err) < 0)
		return -1;
	ret = ferry_wire_get_int(h, "version", true, 0, 65535, &v, err);
	json_decref(h);
	if (ret < 0)
		return -1;
	if (v != FERRY_WIRE_VERSION)
		return ferry_error_set(err, EPROTO, "the source speaks protocol %" PRId64 ", this host %d", v,
				       FERRY_WIRE_VERSION);
	ferry_ps_init(&m, SPS_HELLO);
	ferry_ps_put_str(&m, ferry_tls_peer(n->t));
	if (ask(n, &m, SPS_HELLO_OK, mf, err) < 0)
		return -1;
	host = ferry_ps_get_str(&m);
	criu = ferry_ps_get_str(&m);
	feat = ferry_ps_get_u32(&m);
	token = ferry_ps_get_str(&m);
	if (!ferry_ps_done(&m) || !host || !criu || !token)
		fatal(n, "bad HELLO_OK", m.type);
	return reply(n, FERRY_MSG_HELLO_OK,
		     json_pack("{s:i, s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}}", "version", FERRY_WIRE_VERSION, "host",
			       host, "token", token, "criu", criu, "features", "lazy_pages",
			       (feat & SPS_FEATURE_LAZY) != 0, "mem_track", (feat & SPS_FEATURE_MEM_TRACK) != 0,
			       "pipe_max_ok", (feat & SPS_FEATURE_PIPE_MAX_OK) != 0, "hold",
			       (feat & SPS_FEATURE_HOLD) != 0),
		     err);
}

static int
do_preflight(struct net *n, const json_t *req, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ unsigned char *cpu = NULL;
	_cleanup_free_ char *plan = NULL;
	const char *id, *config, *rootfs, *bundle, *mode, *shared, *cpu64;
	ferry_spec_t *spec = NULL;
	bool tcp = false;
	size_t cpu_len = 0;

	if (n->preflighted)
		return ferry_error_set(err, EPROTO, "PREFLIGHT twice");
	if (ferry_wire_get_str(req, "id", true, &id, err) < 0 || ferry_wire_get_str(req, "config", true, &config, err) < 0 ||
	    ferry_wire_get_str(req, "rootfs", true, &rootfs, err) < 0 ||
	    ferry_wire_get_str(req, "bundle", true, &bundle, err) < 0 ||
	    ferry_wire_get_str(req, "mode", true, &mode, err) < 0 ||
	    ferry_wire_get_str(req, "shared_dir", false, &shared, err) < 0 ||
	    ferry_wire_get_str(req, "cpuinfo", true, &cpu64, err) < 0 ||
	    ferry_wire_get_bool(req, "tcp_established", &tcp, err) < 0)
		return ferry_error_prefix(err, "PREFLIGHT");
	if (!ferry_id_valid(id))
		return ferry_error_set(err, EINVAL, "invalid container id \"%s\"", id);
	if (ferry_migrate_mode_parse(mode, &n->mode, err) < 0 || n->mode == FERRY_MIGRATE_AUTO ||
	    n->mode == FERRY_MIGRATE_PRE_COPY)
		return ferry_error_set(err, EPROTO, "mode \"%s\" cannot be asked of a destination", mode);
	/* Checked here first, so that what reaches root is a valid config. */
	if (ferry_spec_parse(config, strlen(config), "config.json (from the source)", &spec, err) < 0)
		return -1;
	ferry_spec_free(spec);
	if (b64_decode(cpu64, &cpu, &cpu_len) < 0 || cpu_len == 0 || cpu_len > (1 << 20))
		return ferry_error_set(err, EPROTO, "\"cpuinfo\": not base64");
	if (rootfs[0] != '/' || bundle[0] != '/')
		return ferry_error_set(err, EINVAL, "the source's rootfs and bundle must be absolute paths");
	n->tcp_established = tcp;
	n->preflighted = true;
	ferry_ps_init(&m, SPS_PREFLIGHT);
	ferry_ps_put_str(&m, id);
	ferry_ps_put_u32(&m, (uint32_t) n->mode);
	ferry_ps_put_u32(&m, tcp);
	ferry_ps_put_str(&m, config);
	ferry_ps_put_str(&m, rootfs);
	ferry_ps_put_str(&m, bundle);
	ferry_ps_put_str(&m, shared);
	ferry_ps_put_bytes(&m, cpu, cpu_len);
	if (ask(n, &m, SPS_PREFLIGHT_OK, mf, err) < 0)
		return -1;
	plan = ferry_ps_get_str(&m);
	if (!ferry_ps_done(&m) || plan == NULL)
		fatal(n, "bad PREFLIGHT_OK", m.type);
	return reply(n, FERRY_MSG_PREFLIGHT_OK, json_pack("{s:s}", "rootfs", plan), err);
}

/* The transfer's sink: the monitor decides and opens, we write. */
struct net_sink {
	struct net *n;
	uint32_t tree;
	bool final;
	bool *mf;
};

/* A request whose answer is a bare OK. */
static int
ask_ok(struct net_sink *k, struct ferry_ps_msg *m, ferry_error_t *err)
{
	if (ask(k->n, m, SPS_OK, k->mf, err) < 0)
		return -1;
	if (!ferry_ps_done(m))
		fatal(k->n, "bad OK", m->type);
	return 0;
}

static int
sink_prepare(void *data, const struct ferry_xfer_manifest *xm, size_t **need, size_t *n_need, uint64_t *need_bytes,
	     ferry_error_t *err)
{
	struct net_sink *k = data;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	uint32_t cnt;

	ferry_ps_init(&m, SPS_MANIFEST);
	ferry_ps_put_u32(&m, k->tree);
	ferry_ps_put_u32(&m, k->final);
	ferry_ps_put_manifest(&m, xm);
	if (m.bad)
		return ferry_error_set(err, E2BIG, "manifest too large to pass on");
	if (ask(k->n, &m, SPS_NEED, k->mf, err) < 0)
		return -1;
	*need_bytes = ferry_ps_get_u64(&m);
	cnt = ferry_ps_get_u32(&m);
	if (m.bad || cnt > xm->n)
		fatal(k->n, "bad NEED", m.type);
	*need = xmalloc0((cnt ? cnt : 1) * sizeof(**need));
	for (uint32_t i = 0; i < cnt; i++) {
		uint32_t idx = ferry_ps_get_u32(&m);
		if (idx >= xm->n)
			fatal(k->n, "bad NEED index", m.type);
		(*need)[i] = idx;
	}
	if (!ferry_ps_done(&m))
		fatal(k->n, "bad NEED", m.type);
	*n_need = cnt;
	return 0;
}

static int
sink_open(void *data, const struct ferry_xfer_manifest *xm, size_t idx, ferry_error_t *err)
{
	struct net_sink *k = data;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	int fd;

	(void) xm;
	ferry_ps_init(&m, SPS_FILE_OPEN);
	ferry_ps_put_u32(&m, (uint32_t) idx);
	if (ask(k->n, &m, SPS_FD, k->mf, err) < 0)
		return -1;
	fd = ferry_ps_take_fd(&m, 0);
	if (fd < 0 || !ferry_ps_done(&m))
		fatal(k->n, "bad FD", m.type);
	return fd;
}

static int
sink_finish(void *data, int fd, const struct ferry_xfer_manifest *xm, size_t idx, uint64_t written,
	    ferry_error_t *err)
{
	struct net_sink *k = data;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };

	(void) fd;
	(void) xm;
	ferry_ps_init(&m, SPS_FILE_DONE);
	ferry_ps_put_u32(&m, (uint32_t) idx);
	ferry_ps_put_u64(&m, written);
	return ask_ok(k, &m, err);
}

static int
sink_done(void *data, const struct ferry_xfer_manifest *xm, ferry_error_t *err)
{
	struct net_sink *k = data;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };

	(void) xm;
	ferry_ps_init(&m, SPS_FILES_END);
	return ask_ok(k, &m, err);
}

static int
do_manifest(struct net *n, const json_t *msg, bool *mf, ferry_error_t *err)
{
	const char *tree;
	bool final = false;
	struct ferry_transfer_stats st;
	struct net_sink k = { .n = n, .mf = mf };
	const struct ferry_transfer_sink sink = {
		.prepare = sink_prepare, .open = sink_open, .finish = sink_finish, .done = sink_done, .data = &k
	};

	if (ferry_wire_get_str(msg, "tree", true, &tree, err) < 0 || ferry_wire_get_bool(msg, "final", &final, err) < 0)
		return ferry_error_prefix(err, "MANIFEST");
	if (!n->preflighted)
		return ferry_error_set(err, EPROTO, "MANIFEST before PREFLIGHT");
	if (strcmp(tree, "images") == 0)
		k.tree = SPS_TREE_IMAGES;
	else if (strcmp(tree, "rootfs") == 0)
		k.tree = SPS_TREE_ROOTFS;
	else
		return ferry_error_set(err, EPROTO, "MANIFEST of an unknown tree \"%s\"", tree);
	k.final = final;
	return ferry_transfer_recv(n->t, msg, &sink, &st, err);
}

static int
do_dump(struct net *n, const json_t *msg, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	const char *mode, *images;

	if (ferry_wire_get_str(msg, "mode", true, &mode, err) < 0 || ferry_wire_get_str(msg, "images", false, &images, err) < 0)
		return ferry_error_prefix(err, "DUMP");
	if (!n->preflighted)
		return ferry_error_set(err, EPROTO, "DUMP before PREFLIGHT");
	if (strcmp(mode, ferry_migrate_mode_name(n->mode)) != 0)
		return ferry_error_set(err, EPROTO, "DUMP in mode %s, PREFLIGHT said %s", mode,
				       ferry_migrate_mode_name(n->mode));
	if (images && images[0] != '/')
		return ferry_error_set(err, EINVAL, "DUMP: images \"%s\" is not an absolute path", images);
	ferry_ps_init(&m, SPS_DUMP);
	ferry_ps_put_str(&m, images);
	if (ask(n, &m, SPS_DUMP_READY, mf, err) < 0)
		return -1;
	if (!ferry_ps_done(&m))
		fatal(n, "bad DUMP_READY", m.type);
	return reply(n, FERRY_MSG_DUMP_READY, NULL, err);
}

/* The addresses of HOLD and RESTORE, checked, as the session reads them:
 * their count, then each (ips may be NULL: none). */
static int
put_ips(struct ferry_ps_msg *m, const json_t *ips, const char *what, ferry_error_t *err)
{
	json_t *v;
	size_t i;

	ferry_ps_put_u32(m, (uint32_t) json_array_size(ips));
	json_array_foreach (ips, i, v) {
		struct ferry_ipaddr a;
		if (!json_is_string(v) || ferry_ipaddr_parse(json_string_value(v), &a, err) < 0)
			return ferry_error_prefix(err, "%s: ips[%zu]", what, i);
		ferry_ps_put_str(m, json_string_value(v));
	}
	return 0;
}

static int
do_restore(struct net *n, const json_t *msg, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	json_t *ips = json_object_get(msg, "ips");
	bool tcp = n->tcp_established;
	uint64_t ms, held;

	if (ferry_wire_get_bool(msg, "tcp_established", &tcp, err) < 0)
		return ferry_error_prefix(err, "RESTORE");
	if (ips && (!json_is_array(ips) || json_array_size(ips) > 64))
		return ferry_error_set(err, EPROTO, "RESTORE: \"ips\" is not a list of at most 64 addresses");
	ferry_ps_init(&m, SPS_RESTORE);
	ferry_ps_put_u32(&m, tcp);
	if (put_ips(&m, ips, "RESTORE", err) < 0)
		return -1;
	if (ask(n, &m, SPS_RESTORED, mf, err) < 0)
		return -1;
	ms = ferry_ps_get_u64(&m);
	held = ferry_ps_get_u64(&m);
	if (!ferry_ps_done(&m))
		fatal(n, "bad RESTORED", m.type);
	return reply(n, FERRY_MSG_RESTORED,
		     json_pack("{s:I, s:I}", "restore_ms", (json_int_t) ms, "held", (json_int_t) held), err);
}

/* The source hands its service addresses over just before it freezes. */
static int
do_hold(struct net *n, const json_t *msg, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	json_t *ips = json_object_get(msg, "ips");
	uint64_t ms;
	uint32_t queue;

	if (!n->preflighted)
		return ferry_error_set(err, EPROTO, "HOLD before PREFLIGHT");
	if (!json_is_array(ips) || json_array_size(ips) == 0 || json_array_size(ips) > 64)
		return ferry_error_set(err, EPROTO, "HOLD: \"ips\" is not a list of 1 to 64 addresses");
	ferry_ps_init(&m, SPS_HOLD);
	if (put_ips(&m, ips, "HOLD", err) < 0)
		return -1;
	if (ask(n, &m, SPS_HOLDING, mf, err) < 0)
		return -1;
	ms = ferry_ps_get_u64(&m);
	queue = ferry_ps_get_u32(&m);
	if (!ferry_ps_done(&m))
		fatal(n, "bad HOLDING", m.type);
	return reply(n, FERRY_MSG_HOLDING, json_pack("{s:I, s:i}", "ms", (json_int_t) ms, "queue", (int) queue), err);
}

static int
do_commit(struct net *n, bool *mf, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ char *why = NULL;
	uint64_t ms, pages;
	bool ok;

	ferry_ps_init(&m, SPS_COMMIT);
	if (ask(n, &m, SPS_COMMITTED, mf, err) < 0)
		return -1;
	ms = ferry_ps_get_u64(&m);
	if (!ferry_ps_done(&m))
		fatal(n, "bad COMMITTED", m.type);
	if (reply(n, FERRY_MSG_COMMITTED, json_pack("{s:I}", "ip_ms", (json_int_t) ms), err) < 0)
		return -1;
	if (n->mode != FERRY_MIGRATE_LAZY)
		return 0;
	/* After the commit: the source serves pages until the last is in. */
	ferry_ps_free(&m);
	if (await(n, SPS_POSTCOPY, &m, mf, err) < 0)
		return -1;
	ok = ferry_ps_get_u32(&m) != 0;
	ms = ferry_ps_get_u64(&m);
	why = ferry_ps_get_str(&m);
	pages = ferry_ps_get_u64(&m);
	if (!ferry_ps_done(&m))
		fatal(n, "bad POSTCOPY", m.type);
	return reply(n, FERRY_MSG_POSTCOPY_DONE,
		     json_pack("{s:b, s:I, s:s*, s:I}", "ok", ok, "ms", (json_int_t) ms, "error", why, "pages",
			       (json_int_t) pages),
		     err);
}

/* After a failure: the monitor rolls back and may still need the pages
 * connection cut (CTL_*); we serve that until it closes its end. */
static void
drain(struct net *n)
{
	for (;;) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
		if (ferry_ps_recv(n->sock, &m, &e) != 0)
			break;
		if (m.type >= SPS_CTL_PAGES && m.type < SPS_CTL_DONE)
			control(n, &m);
		else
			fatal(n, "unexpected message after the failure", m.type);
	}
}

static void
fail(struct net *n, bool canceled, const char *why)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };

	ferry_ps_init(&m, SPS_FAIL);
	ferry_ps_put_u32(&m, canceled);
	ferry_ps_put_str(&m, why);
	ferry_ps_send(n->sock, &m, NULL, 0, &e);
}

static int
session(struct net *n)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	ferry_error_t *err = &e;
	bool mf = false, canceled = false;

	if (do_hello(n, &mf, err) < 0)
		goto failed;
	for (;;) {
		_cleanup_free_ char *buf = NULL;
		json_t *msg = NULL;
		uint32_t type;
		size_t len;
		int r = 0;

		if (ferry_wire_recv(n->t, &type, &buf, &len, err) < 0)
			goto failed;
		if (type == FERRY_MSG_FILE_DATA) {
			ferry_error_set(err, EPROTO, "file data outside a transfer");
			goto failed;
		}
		if (ferry_wire_json_decode(type, buf, len, &msg, err) < 0)
			goto failed;
		switch (type) {
		case FERRY_MSG_PREFLIGHT:
			r = do_preflight(n, msg, &mf, err);
			break;
		case FERRY_MSG_MANIFEST:
			r = do_manifest(n, msg, &mf, err);
			break;
		case FERRY_MSG_DUMP:
			r = do_dump(n, msg, &mf, err);
			break;
		case FERRY_MSG_HOLD:
			r = do_hold(n, msg, &mf, err);
			break;
		case FERRY_MSG_RESTORE:
			r = do_restore(n, msg, &mf, err);
			break;
		case FERRY_MSG_COMMIT:
			r = do_commit(n, &mf, err);
			break;
		case FERRY_MSG_ABORT:
		case FERRY_MSG_ERROR: {
			const char *why = json_string_value(json_object_get(msg, type == FERRY_MSG_ABORT ? "reason" : "error"));
			ferry_error_set(err, ECANCELED, "the source %s: %s", type == FERRY_MSG_ABORT ? "aborted" : "failed",
					why ? why : "(no reason)");
			r = -1;
			break;
		}
		case FERRY_MSG_BYE: {
			_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
			json_decref(msg);
			ferry_ps_init(&m, SPS_BYE);
			if (ask(n, &m, SPS_OK, &mf, err) < 0)
				goto failed;
			return 0;
		}
		default:
			r = ferry_error_set(err, EPROTO, "unexpected %s", ferry_wire_msg_name(type));
			break;
		}
		json_decref(msg);
		if (r < 0)
			goto failed;
	}
failed:
	/* Errors that ferry_transfer_recv saw from the source come as ECANCELED too. */
	canceled = err->errno_ == ECANCELED;
	/* Say why, unless it was the source that gave up. */
	if (!canceled) {
		_cleanup_free_ char *m = ferry_error_string(err);
		ferry_wire_send_error(n->t, m);
	}
	if (!mf) {
		_cleanup_free_ char *m = ferry_error_string(err);
		fail(n, canceled, m);
	}
	drain(n);
	return 1;
}

int
ferry_serve_net_main(int sock, int fd, ferry_tls_creds_t *creds, int timeout_ms, const char *peer)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	struct net n = { .sock = sock, .creds = creds, .timeout_ms = timeout_ms, .peer = peer };
	int rc;

	if (ferry_tls_server(fd, creds, 10000, &n.t, &e) < 0) {
		pr_warn("%s: refused: %s", peer, e.msg);
		return 1;
	}
	pr_info("%s: session with %s", peer, ferry_tls_peer(n.t));
	ferry_tls_set_timeout(n.t, timeout_ms);
	rc = session(&n);
	relay_end(&n, false, &e);
	ferry_tls_abort(n.pages);
	ferry_tls_close(n.t);
	return rc;
}
