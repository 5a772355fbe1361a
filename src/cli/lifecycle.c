/* SPDX-License-Identifier: GPL-2.0-or-later */
/* create, start, run, delete, kill, pause, resume: parse and call the library. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"
#include "util.h"

enum {
	OPT_BUNDLE = 'b',
	OPT_DETACH = 'd',
	OPT_CONSOLE = 1000,
	OPT_PIDFILE,
	OPT_NOPIVOT,
	OPT_NOKEYRING,
	OPT_PRESERVE,
	OPT_KEEP,
};

static const struct option create_opts[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ "no-pivot", no_argument, NULL, OPT_NOPIVOT },
	{ "no-new-keyring", no_argument, NULL, OPT_NOKEYRING },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char create_usage[] = "[--bundle DIR] [--console-socket PATH] [--pid-file PATH] [--no-pivot] "
				   "[--no-new-keyring] [--preserve-fds N] CONTAINER-ID";
static const char run_usage[] = "[-d|--detach] [--keep] [--bundle DIR] [--console-socket PATH] [--pid-file PATH] "
				"[--no-pivot] [--no-new-keyring] [--preserve-fds N] CONTAINER-ID";

static int
parse_create(int argc, char **argv, bool is_run, struct ferry_run_opts *o, ferry_error_t *err)
{
	const char *verb = is_run ? "run" : "create";
	const char *usage = is_run ? run_usage : create_usage;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, verb, is_run ? "b:dh" : "b:h", create_opts, usage, err)) != -1) {
		uint64_t n;

		switch (c) {
		case OPT_BUNDLE:
			o->create.bundle = optarg;
			break;
		case OPT_CONSOLE:
			o->create.console_socket = optarg;
			break;
		case OPT_PIDFILE:
			o->create.pid_file = optarg;
			break;
		case OPT_NOPIVOT:
			o->create.no_pivot = true;
			break;
		case OPT_NOKEYRING:
			o->create.no_new_keyring = true;
			break;
		case OPT_PRESERVE:
			if (ferry_parse_u64(optarg, &n) < 0 || n > 1024)
				return ferry_error_set(err, EINVAL, "%s: --preserve-fds: \"%s\" is not a number 0-1024",
						       verb, optarg);
			o->create.preserve_fds = (int) n;
			break;
		case OPT_DETACH:
		case OPT_KEEP:
			if (!is_run)
				return ferry_error_set(err, EINVAL, "%s: unknown option '%s'", verb, argv[optind - 1]);
			if (c == OPT_DETACH)
				o->detach = true;
			else
				o->keep = true;
			break;
		default:
			return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, verb, usage, err) < 0)
		return -1;
	o->create.id = argv[optind];
	/* LISTEN_FDS from systemd socket activation are passed on too. */
	if (getenv("LISTEN_FDS")) {
		uint64_t n;
		if (ferry_parse_u64(getenv("LISTEN_FDS"), &n) == 0 && n < 1024)
			o->create.preserve_fds += (int) n;
	}
	return 0;
}

int
ferry_cmd_create(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	struct ferry_run_opts o = { 0 };
	struct ferry_create_result res;

	if (parse_create(argc, argv, false, &o, err) < 0)
		return -1;
	o.create.stdio = FERRY_STDIO_INHERIT;
	return ferry_container_create(ctx, &o.create, &res, err);
}

int
ferry_cmd_run(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	struct ferry_run_opts o = { 0 };
	int status = 0;

	if (parse_create(argc, argv, true, &o, err) < 0)
		return -1;
	if (ferry_container_run(ctx, &o, &status, err) < 0)
		return -1;
	return status;
}

static const struct option id_only_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
one_id(int argc, char **argv, const char *verb, const char **id, ferry_error_t *err)
{
	int c;

	while ((c = ferry_cli_getopt(argc, argv, verb, "h", id_only_opts, "CONTAINER-ID", err)) != -1)
		if (c < 0)
			return -1;
	if (ferry_cli_need_args(argc, argv, 1, 1, verb, "CONTAINER-ID", err) < 0)
		return -1;
	*id = argv[optind];
	return 0;
}

int
ferry_cmd_start(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	const char *id;

	if (one_id(argc, argv, "start", &id, err) < 0)
		return -1;
	return ferry_container_start(ctx, id, err);
}

int
ferry_cmd_pause(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	const char *id;

	if (one_id(argc, argv, "pause", &id, err) < 0)
		return -1;
	return ferry_container_pause(ctx, id, true, err);
}

int
ferry_cmd_resume(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	const char *id;

	if (one_id(argc, argv, "resume", &id, err) < 0)
		return -1;
	return ferry_container_pause(ctx, id, false, err);
}

int
ferry_cmd_delete(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-f|--force] CONTAINER-ID...";
	bool force = false;
	int c, ret = 0;

	while ((c = ferry_cli_getopt(argc, argv, "delete", "fh", opts, usage, err)) != -1) {
		if (c == 'f')
			force = true;
		else
			return -1;
	}
	if (ferry_cli_need_args(argc, argv, 1, -1, "delete", usage, err) < 0)
		return -1;
	/* runc deletes each id given and reports the failures. */
	for (int i = optind; i < argc; i++) {
		if (ferry_container_delete(ctx, argv[i], force, err) < 0) {
			if (i + 1 < argc) {
				_cleanup_free_ char *m = ferry_error_string(err);
				fprintf(stderr, "ferry: %s\n", m);
				ferry_error_clear(err);
				ret = 1;
				continue;
			}
			return -1;
		}
	}
	return ret;
}

int
ferry_cmd_kill(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-a|--all] CONTAINER-ID [SIGNAL]";
	bool all = false;
	int c, sig = SIGTERM;

	while ((c = ferry_cli_getopt(argc, argv, "kill", "ah", opts, usage, err)) != -1) {
		if (c == 'a')
			all = true;
		else
			return -1;
	}
	if (ferry_cli_need_args(argc, argv, 1, 2, "kill", usage, err) < 0)
		return -1;
	if (optind + 1 < argc) {
		sig = ferry_signal_parse(argv[optind + 1]);
		if (sig <= 0)
			return ferry_error_set(err, EINVAL,
					       "kill: unknown signal \"%s\" (expected a name like TERM, SIGKILL or "
					       "a number)",
					       argv[optind + 1]);
	}
	return ferry_container_kill(ctx, argv[optind], sig, all, err);
}
