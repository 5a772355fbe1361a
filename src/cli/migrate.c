/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `migrate` and `serve`: options and the agent's config file, handed to the
 * library (src/lib/migrate.c, src/lib/serve.c). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migrate.h"
#include "netmove.h"
#include "util.h"

enum {
	OPT_TO = 1000,
	OPT_MODE,
	OPT_SHARED_DIR,
	OPT_MOVE_IP,
	OPT_TCP_ESTABLISHED,
	OPT_NO_TCP_ESTABLISHED,
	OPT_DOWNTIME_BUDGET,
	OPT_PREFLIGHT,
	OPT_JSON,
	OPT_NO_PROGRESS,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_CONFIG,
	OPT_LISTEN,
	OPT_WORK_ROOT,
	OPT_BUNDLE_ROOT,
	OPT_CGROUP_PARENT,
	OPT_MAX_SESSIONS,
	OPT_ONCE,
	OPT_TIMEOUT,
};

/* What a config file (serve.conf) may set; the command line wins. */
struct conf {
	char *listen, *ca, *cert, *key, *work_root, *bundle_root, *cgroup_parent;
	char *max_sessions;
};

static void
conf_free(struct conf *c)
{
	free(c->listen);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->work_root);
	free(c->bundle_root);
	free(c->cgroup_parent);
	free(c->max_sessions);
}

/* "key = value" lines, '#' comments; an unknown key is an error. */
static int
conf_load(const char *path, struct conf *c, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len, lineno = 0;
	char *save = NULL;

	if (ferry_read_file(path, 1 << 20, &text, &len, err) < 0)
		return ferry_error_prefix(err, "--config");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *k, *v, *end;
		struct {
			const char *name;
			char **slot;
		} keys[] = {
			{ "listen", &c->listen },
			{ "ca", &c->ca },
			{ "cert", &c->cert },
			{ "key", &c->key },
			{ "work-root", &c->work_root },
			{ "bundle-root", &c->bundle_root },
			{ "cgroup-parent", &c->cgroup_parent },
			{ "max-sessions", &c->max_sessions },
		};
		bool known = false;

		lineno++;
		k = line + strspn(line, " \t");
		if (*k == '#' || *k == '\0')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL)
			return ferry_error_set(err, EINVAL, "%s:%zu: expected key = value", path, lineno);
		v = eq + 1 + strspn(eq + 1, " \t");
		for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'); end--)
			;
		*end = '\0';
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i].name) == 0) {
				free(*keys[i].slot);
				*keys[i].slot = xstrdup(v);
				known = true;
			}
		if (!known)
			return ferry_error_set(err, EINVAL,
					       "%s:%zu: unknown key \"%s\" (listen, ca, cert, key, work-root, "
					       "bundle-root, cgroup-parent, max-sessions)",
					       path, lineno, k);
	}
	return 0;
}

static int
parse_ms(const char *flag, const char *s, unsigned int *out, ferry_error_t *err)
{
	uint64_t v;

	if (ferry_parse_u64(s, &v) < 0 || v > 3600 * 1000)
		return ferry_error_set(err, EINVAL, "%s %s: expected milliseconds (0..3600000)", flag, s);
	*out = (unsigned int) v;
	return 0;
}

int
ferry_cmd_migrate(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "shared-dir", required_argument, NULL, OPT_SHARED_DIR },
		{ "move-ip", required_argument, NULL, OPT_MOVE_IP },
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
		{ "no-tcp-established", no_argument, NULL, OPT_NO_TCP_ESTABLISHED },
		{ "downtime-budget", required_argument, NULL, OPT_DOWNTIME_BUDGET },
		{ "preflight", no_argument, NULL, OPT_PREFLIGHT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "work-root", required_argument, NULL, OPT_WORK_ROOT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "--to HOST[:PORT] [--mode auto|lazy|stop-copy|shared|pre-copy] [--shared-dir DIR]\n"
			    "  [--move-ip ADDR/PREFIX[@DEV]]... [--tcp-established|--no-tcp-established]\n"
			    "  [--downtime-budget MS] [--preflight] [--json] [--no-progress]\n"
			    "  [--ca FILE --cert FILE --key FILE | --config FILE] [--timeout MS] CONTAINER-ID";
	struct ferry_migrate_opts o = { .tcp_established = -1, .progress = isatty(STDERR_FILENO) };
	struct ferry_ipaddr ips[64];
	struct conf conf = { 0 };
	const char *config = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	unsigned int timeout = 0;
	int c, ret = -1;

	while ((c = ferry_cli_getopt(argc, argv, "migrate", "*h", opts, usage, err)) != -1) {
		switch (c) {
		case OPT_TO: o.to = optarg; break;
		case OPT_MODE:
			if (ferry_migrate_mode_parse(optarg, &o.mode, err) < 0)
				goto out;
			break;
		case OPT_SHARED_DIR: o.shared_dir = optarg; break;
		case OPT_MOVE_IP:
			if (o.n_ips >= 64) {
				ferry_error_set(err, EINVAL, "--move-ip: at most 64 addresses");
				goto out;
			}
			if (ferry_ipaddr_parse(optarg, &ips[o.n_ips], err) < 0) {
				ferry_error_prefix(err, "--move-ip %s", optarg);
				goto out;
			}
			o.n_ips++;
			break;
		case OPT_TCP_ESTABLISHED: o.tcp_established = 1; break;
		case OPT_NO_TCP_ESTABLISHED: o.tcp_established = 0; break;
		case OPT_DOWNTIME_BUDGET:
			if (parse_ms("--downtime-budget", optarg, &o.downtime_budget_ms, err) < 0)
				goto out;
			break;
		case OPT_PREFLIGHT: o.preflight_only = true; break;
		case OPT_JSON: o.json = true; break;
		case OPT_NO_PROGRESS: o.progress = false; break;
		case OPT_CA: ca = optarg; break;
		case OPT_CERT: cert = optarg; break;
		case OPT_KEY: key = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_WORK_ROOT: o.work_dir = optarg; break;
		case OPT_TIMEOUT:
			if (parse_ms("--timeout", optarg, &timeout, err) < 0)
				goto out;
			o.timeout_ms = (int) timeout;
			break;
		default: goto out;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, "migrate", usage, err) < 0)
		goto out;
	if (o.to == NULL) {
		ferry_error_set(err, EINVAL, "migrate: --to HOST[:PORT] is required");
		goto out;
	}
	if (config && conf_load(config, &conf, err) < 0)
		goto out;
	o.tls.ca = ca ? ca : conf.ca;
	o.tls.cert = cert ? cert : conf.cert;
	o.tls.key = key ? key : conf.key;
	o.ips = ips;
	o.id = argv[optind];
	ret = ferry_migrate(ctx, &o, err);
out:
	conf_free(&conf);
	return ret;
}

int
ferry_cmd_serve(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "work-root", required_argument, NULL, OPT_WORK_ROOT },
		{ "bundle-root", required_argument, NULL, OPT_BUNDLE_ROOT },
		{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
		{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "--listen ADDR:PORT --ca FILE --cert FILE --key FILE [--config FILE]\n"
			    "  [--work-root DIR] [--bundle-root DIR] [--cgroup-parent PATH] [--max-sessions N]\n"
			    "  [--timeout MS] [--once]";
	struct ferry_serve_opts o = { 0 };
	struct conf conf = { 0 }, cli = { 0 };
	const char *config = NULL;
	unsigned int timeout = 0;
	int c, ret = -1;

	while ((c = ferry_cli_getopt(argc, argv, "serve", "h", opts, usage, err)) != -1) {
		switch (c) {
		case OPT_LISTEN: cli.listen = optarg; break;
		case OPT_CA: cli.ca = optarg; break;
		case OPT_CERT: cli.cert = optarg; break;
		case OPT_KEY: cli.key = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_WORK_ROOT: cli.work_root = optarg; break;
		case OPT_BUNDLE_ROOT: cli.bundle_root = optarg; break;
		case OPT_CGROUP_PARENT: cli.cgroup_parent = optarg; break;
		case OPT_MAX_SESSIONS: cli.max_sessions = optarg; break;
		case OPT_ONCE: o.once = true; break;
		case OPT_TIMEOUT:
			if (parse_ms("--timeout", optarg, &timeout, err) < 0)
				return -1;
			o.timeout_ms = (int) timeout;
			break;
		default: return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 0, 0, "serve", usage, err) < 0)
		return -1;
	if (config && conf_load(config, &conf, err) < 0)
		goto out;
#define PICK(f) (cli.f ? cli.f : conf.f)
	o.listen = PICK(listen);
	o.tls.ca = PICK(ca);
	o.tls.cert = PICK(cert);
	o.tls.key = PICK(key);
	o.work_root = PICK(work_root);
	o.bundle_root = PICK(bundle_root);
	o.cgroup_parent = PICK(cgroup_parent);
	if (PICK(max_sessions)) {
		uint64_t v;
		if (ferry_parse_u64(PICK(max_sessions), &v) < 0 || v == 0 || v > 256) {
			ferry_error_set(err, EINVAL, "max-sessions %s: expected 1..256", PICK(max_sessions));
			goto out;
		}
		o.max_sessions = (int) v;
	}
#undef PICK
	ret = ferry_serve(ctx, &o, err);
out:
	conf_free(&conf);
	return ret;
}
