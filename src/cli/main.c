/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's entry point: global options (runc's), the verb table, and the one
 * place where errors are printed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "sealed_exe.h"
#include "util.h"

static const struct ferry_verb verbs[] = {
	{ "spec", ferry_cmd_spec, "create a new specification file (config.json)", false },
	{ "create", ferry_cmd_create, "create a container", true },
	{ "start", ferry_cmd_start, "execute the user process in a created container", false },
	{ "run", ferry_cmd_run, "create and run a container", true },
	{ "state", ferry_cmd_state, "output the state of a container", false },
	{ "list", ferry_cmd_list, "list containers started by ferry with the given root", false },
	{ "kill", ferry_cmd_kill, "send a signal to the container's init process", false },
	{ "delete", ferry_cmd_delete, "delete any resources held by the container", false },
	{ "exec", ferry_cmd_exec, "execute a new process inside the container", true },
	{ "ps", ferry_cmd_ps, "show the processes running inside the container", false },
	{ "update", ferry_cmd_update, "update the resource limits of a container", false },
	{ "events", ferry_cmd_events, "display container events and resource usage statistics", false },
	{ "pause", ferry_cmd_pause, "suspend all processes inside the container", false },
	{ "resume", ferry_cmd_resume, "resume all processes suspended by pause", false },
	{ "features", ferry_cmd_features, "show the enabled features", false },
	{ "check", ferry_cmd_check, "check this host's kernel and CRIU features ferry uses", false },
	{ "generate", ferry_cmd_generate, "generate a config.json (oci-runtime-tool's flags)", false },
	{ "checkpoint", ferry_cmd_checkpoint, "checkpoint a running container (CRIU)", false },
	{ "restore", ferry_cmd_restore, "restore a container from a checkpoint (CRIU)", false },
	{ "migrate", ferry_cmd_migrate, "move a running container to another host (live migration)", false },
	{ "serve", ferry_cmd_serve, "receive migrating containers (the agent on every host)", false },
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: ferry [global options] COMMAND [options] [arguments]\n\n"
		   "ferry is an OCI container runtime with live migration through CRIU.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "   %-12s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nGlobal options:\n"
		   "   --root PATH          state root (default " FERRY_DEFAULT_ROOT ")\n"
		   "   --log PATH           log file (default stderr)\n"
		   "   --log-format FMT     text or json\n"
		   "   --debug              log debug messages\n"
		   "   --criu PATH          the CRIU binary (default: $FERRY_CRIU, " FERRY_CRIU_PREFIX
		   ", PATH)\n"
		   "   --systemd-cgroup     accepted for runc compatibility\n"
		   "   --rootless VALUE     accepted for runc compatibility\n"
		   "   -v, --version        print the version\n"
		   "   -h, --help           this text\n");
}

enum {
	OPT_ROOT = 1000,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_CRIU,
	OPT_SYSTEMD_CGROUP,
	OPT_ROOTLESS,
};

static const struct option global_opts[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "criu", required_argument, NULL, OPT_CRIU },
	{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
	{ "rootless", required_argument, NULL, OPT_ROOTLESS },
	{ "version", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	ferry_ctx_t ctx = { .state_root = FERRY_DEFAULT_ROOT };
	static struct ferry_log_sink sink = { .fd = -1 };
	char self[PATH_MAX];
	const char *log_format = "text";
	const struct ferry_verb *verb = NULL;
	char **orig_argv = argv;
	ssize_t n;
	int c, ret;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		ctx.self_exe = self;
	}
	if (getenv("FERRY_CRIU") && *getenv("FERRY_CRIU"))
		ctx.criu_path = getenv("FERRY_CRIU");

	ferry_cli_accept_single_dash_long(argc, argv, 1, "vh", global_opts);
	opterr = 0;
	/* "+": stop at the verb; its options are its own. */
	while ((c = getopt_long(argc, argv, "+vh", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			ctx.state_root = optarg;
			break;
		case OPT_LOG:
			ctx.log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			log_format = optarg;
			break;
		case OPT_DEBUG:
			ctx.debug = true;
			break;
		case OPT_CRIU:
			ctx.criu_path = optarg;
			break;
		case OPT_SYSTEMD_CGROUP:
			ctx.systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
			break;
		case 'v':
			printf("ferry version %s\nspec: 1.2.0\n", FERRY_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "ferry: unknown global option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_FAILURE;
		}
	}

	if (strcmp(log_format, "json") == 0)
		ctx.log_json = 1;
	else if (strcmp(log_format, "text") != 0) {
		fprintf(stderr, "ferry: --log-format: unknown format '%s' (expected text or json)\n", log_format);
		return EXIT_FAILURE;
	}
	ferry_log_set_level(ctx.debug ? FERRY_LOG_DEBUG : FERRY_LOG_WARN);
	if (ctx.log_path) {
		sink.fd = open(ctx.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (sink.fd < 0) {
			fprintf(stderr, "ferry: --log %s: %s\n", ctx.log_path, strerror(errno));
			return EXIT_FAILURE;
		}
		sink.json = ctx.log_json;
		ferry_log_set_handler(ferry_log_fd_handler, &sink);
	}

	if (optind >= argc) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			verb = &verbs[i];
	if (verb == NULL) {
		fprintf(stderr, "ferry: unknown command '%s' (see 'ferry --help')\n", argv[optind]);
		return EXIT_FAILURE;
	}

	/* Before anything happens: re-executing repeats all of the above. */
	if (verb->enters_container && ferry_sealed_exe_reexec(orig_argv, &err) < 0) {
		ret = ferry_error_prefix(&err, "%s", verb->name);
	} else {
		/* The verb sees argv[0] = its name, like a program of its own. */
		argc -= optind;
		argv += optind;
		optind = 0; /* full getopt re-initialisation */
		ret = verb->fn(&ctx, argc, argv, &err);
	}
	if (ret < 0) {
		_cleanup_free_ char *msg = ferry_error_string(&err);

		/* Errors go to stderr always, and to the log too when there is one
		 * (containerd and Podman read runc's log file for the reason). */
		fprintf(stderr, "ferry: %s\n", msg ? msg : "error");
		if (ctx.log_path)
			ferry_log(FERRY_LOG_ERROR, 0, "", "%s", msg ? msg : "error");
		return err.status ? err.status : EXIT_FAILURE;
	}
	return ret;
}
