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
#include "util.h"

static const struct ferry_verb verbs[] = {
	{ "spec", ferry_cmd_spec, "create a new specification file (config.json)" },
	{ "create", ferry_cmd_create, "create a container" },
	{ "start", ferry_cmd_start, "execute the user process in a created container" },
	{ "run", ferry_cmd_run, "create and run a container" },
	{ "state", ferry_cmd_state, "output the state of a container" },
	{ "list", ferry_cmd_list, "list containers started by ferry with the given root" },
	{ "kill", ferry_cmd_kill, "send a signal to the container's init process" },
	{ "delete", ferry_cmd_delete, "delete any resources held by the container" },
	{ "exec", ferry_cmd_exec, "execute a new process inside the container" },
	{ "ps", ferry_cmd_ps, "show the processes running inside the container" },
	{ "update", ferry_cmd_update, "update the resource limits of a container" },
	{ "events", ferry_cmd_events, "display container events and resource usage statistics" },
	{ "pause", ferry_cmd_pause, "suspend all processes inside the container" },
	{ "resume", ferry_cmd_resume, "resume all processes suspended by pause" },
	{ "features", ferry_cmd_features, "show the enabled features" },
	{ "check", ferry_cmd_check, "check this host's kernel and CRIU features ferry uses" },
	{ "generate", ferry_cmd_generate, "generate a config.json (oci-runtime-tool's flags)" },
	{ "checkpoint", ferry_cmd_checkpoint, "checkpoint a running container (CRIU)" },
	{ "restore", ferry_cmd_restore, "restore a container from a checkpoint (CRIU)" },
	{ "migrate", ferry_cmd_migrate, "move a running container to another host (live migration)" },
	{ "serve", ferry_cmd_serve, "receive migrating containers (the agent on every host)" },
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

static const struct option *
find_long(const struct option *longopts, const char *name, size_t len)
{
	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/*
 * runc's option parser (urfave/cli) takes "-name" as well as "--name", and
 * its callers rely on it: go-runc, which containerd's shim uses, passes
 * "-no-subreaper" to restore.  getopt would read that as the short options
 * -n -o -..., so an argument that is exactly a long option's name after a
 * single dash (runc does not take abbreviations there either) is rewritten
 * to "--name" before parsing.  Only the options before the first operand
 * are looked at: what follows "exec ID" is the command's own.  The new
 * strings live until exit, as argv does.
 */
static void
accept_single_dash_long(int argc, char **argv, int first, const char *shortopts, const struct option *longopts)
{
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct option *o;
		size_t len;

		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
			return;
		if (a[1] == '-') {
			o = find_long(longopts, a + 2, strcspn(a + 2, "="));
			if (o && o->has_arg == required_argument && strchr(a, '=') == NULL)
				i++;
			continue;
		}
		eq = strchr(a + 1, '=');
		len = eq ? (size_t) (eq - (a + 1)) : strlen(a + 1);
		if (len > 1 && (o = find_long(longopts, a + 1, len)) != NULL) {
			argv[i] = xasprintf("-%s", a);
			if (o->has_arg == required_argument && eq == NULL)
				i++;
			continue;
		}
		/* a cluster of short options: the one taking a value ends it */
		for (const char *c = a + 1; *c; c++) {
			const char *spec = *c == ':' ? NULL : strchr(shortopts, *c);

			if (spec && spec[1] == ':') {
				if (c[1] == '\0')
					i++;
				break;
			}
		}
	}
}

int
ferry_cli_getopt(int argc, char **argv, const char *verb, const char *shortopts, const struct option *longopts,
		 const char *usage_text, ferry_error_t *err)
{
	char optstring[128];
	int c;

	/* "+": options end at the first argument (exec ID CMD -x); ":": tell a
	 * missing value apart from an unknown option.  A verb whose
	 * shortopts start with '*' takes options after its arguments too
	 * (`migrate ID --to HOST`). */
	if (shortopts[0] == '*')
		snprintf(optstring, sizeof(optstring), ":%s", shortopts + 1);
	else
		snprintf(optstring, sizeof(optstring), "+:%s", shortopts);
	if (optind == 0) /* the verb's first call (main resets optind) */
		accept_single_dash_long(argc, argv, 1, shortopts[0] == '*' ? shortopts + 1 : shortopts, longopts);
	opterr = 0;
	c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c == 'h') {
		printf("Usage: ferry %s %s\n", verb, usage_text);
		exit(EXIT_SUCCESS);
	}
	if (c == '?' || c == ':') {
		const char *bad = argv[optind - 1];

		if (c == ':')
			ferry_error_set(err, 0, "%s: option '%s' needs a value\nUsage: ferry %s %s", verb, bad, verb,
					usage_text);
		else
			ferry_error_set(err, 0, "%s: unknown option '%s'\nUsage: ferry %s %s", verb, bad, verb,
					usage_text);
		return -2;
	}
	return c;
}

int
ferry_cli_need_args(int argc, char **argv, int nmin, int nmax, const char *verb, const char *usage_text,
		    ferry_error_t *err)
{
	int n = argc - optind;

	(void) argv;
	if (n < nmin)
		return ferry_error_set(err, 0, "%s: missing argument\nUsage: ferry %s %s", verb, verb, usage_text);
	if (nmax >= 0 && n > nmax)
		return ferry_error_set(err, 0, "%s: too many arguments (\"%s\")\nUsage: ferry %s %s", verb,
				       argv[optind + nmax], verb, usage_text);
	return 0;
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
	ssize_t n;
	int c, ret;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		ctx.self_exe = self;
	}
	if (getenv("FERRY_CRIU") && *getenv("FERRY_CRIU"))
		ctx.criu_path = getenv("FERRY_CRIU");

	accept_single_dash_long(argc, argv, 1, "vh", global_opts);
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

	/* The verb sees argv[0] = its name, like a program of its own. */
	argc -= optind;
	argv += optind;
	optind = 0; /* full getopt re-initialisation */
	ret = verb->fn(&ctx, argc, argv, &err);
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
