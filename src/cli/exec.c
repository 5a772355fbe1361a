/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"
#include "util.h"

enum {
	OPT_CONSOLE = 1000,
	OPT_PIDFILE,
	OPT_LABEL,
	OPT_APPARMOR,
	OPT_NNP,
	OPT_PRESERVE,
	OPT_IGNORE_PAUSED,
	OPT_CGROUP,
};

static const struct option opts[] = {
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "cwd", required_argument, NULL, 'w' },
	{ "env", required_argument, NULL, 'e' },
	{ "tty", no_argument, NULL, 't' },
	{ "user", required_argument, NULL, 'u' },
	{ "additional-gids", required_argument, NULL, 'g' },
	{ "process", required_argument, NULL, 'p' },
	{ "detach", no_argument, NULL, 'd' },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ "process-label", required_argument, NULL, OPT_LABEL },
	{ "apparmor", required_argument, NULL, OPT_APPARMOR },
	{ "no-new-privs", no_argument, NULL, OPT_NNP },
	{ "cap", required_argument, NULL, 'c' },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
	"[options] CONTAINER-ID COMMAND [ARGS...]\n"
	"   or: ferry exec [options] -p process.json CONTAINER-ID\n"
	"Options: --console-socket PATH, --cwd DIR, -e|--env K=V, -t|--tty, -u|--user UID[:GID],\n"
	"         -g|--additional-gids GID, -p|--process FILE, -d|--detach, --pid-file PATH,\n"
	"         --process-label L, --apparmor P, --no-new-privs, -c|--cap CAP, --preserve-fds N";

static int
parse_id(const char *s, const char *what, uint32_t *out, ferry_error_t *err)
{
	uint64_t v;

	if (ferry_parse_u64(s, &v) < 0 || v > UINT32_MAX - 1)
		return ferry_error_set(err, EINVAL, "exec: %s: \"%s\" is not a numeric id", what, s);
	*out = (uint32_t) v;
	return 0;
}

int
ferry_cmd_exec(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	struct ferry_exec_opts o = { 0 };
	_cleanup_strv_ char **env = NULL, **caps = NULL, **args = NULL;
	_cleanup_free_ gid_t *gids = NULL;
	int c, status = 0;

	while ((c = ferry_cli_getopt(argc, argv, "exec", "w:e:tu:g:p:dc:h", opts, usage, err)) != -1) {
		uint64_t n;

		switch (c) {
		case OPT_CONSOLE:
			o.console_socket = optarg;
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL)
				return ferry_error_set(err, EINVAL, "exec: --env \"%s\": expected KEY=VALUE", optarg);
			ferry_strv_append(&env, optarg);
			break;
		case 't':
			o.tty = true;
			break;
		case 'u': {
			_cleanup_free_ char *u = xstrdup(optarg);
			char *colon = strchr(u, ':');
			uint32_t uid = 0, gid = 0;

			if (colon)
				*colon = '\0';
			if (parse_id(u, "--user", &uid, err) < 0 || (colon && parse_id(colon + 1, "--user", &gid, err) < 0))
				return -1;
			o.has_user = true;
			o.uid = uid;
			o.gid = gid;
			break;
		}
		case 'g': {
			uint32_t g = 0;
			if (parse_id(optarg, "--additional-gids", &g, err) < 0)
				return -1;
			gids = xrealloc(gids, sizeof(gid_t) * (o.n_additional_gids + 1));
			gids[o.n_additional_gids++] = g;
			break;
		}
		case 'p':
			o.process_path = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case OPT_PIDFILE:
			o.pid_file = optarg;
			break;
		case OPT_LABEL:
			o.process_label = optarg;
			break;
		case OPT_APPARMOR:
			o.apparmor = optarg;
			break;
		case OPT_NNP:
			o.no_new_privs = true;
			break;
		case 'c':
			ferry_strv_append(&caps, optarg);
			break;
		case OPT_PRESERVE:
			if (ferry_parse_u64(optarg, &n) < 0 || n > 1024)
				return ferry_error_set(err, EINVAL, "exec: --preserve-fds: \"%s\" is not a number 0-1024",
						       optarg);
			o.preserve_fds = (int) n;
			break;
		case OPT_IGNORE_PAUSED:
			break;
		case OPT_CGROUP:
			return ferry_error_set(err, EOPNOTSUPP, "exec: --cgroup is not supported by ferry");
		default:
			return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, o.process_path ? 1 : 2, o.process_path ? 1 : -1, "exec", usage, err) < 0)
		return -1;
	o.id = argv[optind];
	for (int i = optind + 1; i < argc; i++)
		ferry_strv_append(&args, argv[i]);
	o.args = args;
	o.env = env;
	o.cap_add = caps;
	o.additional_gids = gids;
	if (ferry_container_exec(ctx, &o, &status, err) < 0)
		return -1;
	return status;
}
