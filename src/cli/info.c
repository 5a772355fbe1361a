/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state, list, ps, spec, features. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "container.h"
#include "featureset.h"
#include "util.h"

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
ferry_cmd_state(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	_cleanup_free_ char *json = NULL;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "state", "h", help_only, "CONTAINER-ID", err)) != -1)
		return -1;
	if (ferry_cli_need_args(argc, argv, 1, 1, "state", "CONTAINER-ID", err) < 0)
		return -1;
	if (ferry_container_state(ctx, argv[optind], &json, err) < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}

int
ferry_cmd_list(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-f|--format table|json] [-q|--quiet]";
	struct ferry_container_info *l = NULL;
	const char *format = "table";
	bool quiet = false;
	size_t n = 0;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "list", "f:qh", opts, usage, err)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return -1;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return ferry_error_set(err, EINVAL, "list: --format: unknown format \"%s\" (expected table or json)",
				       format);
	if (ferry_cli_need_args(argc, argv, 0, 0, "list", usage, err) < 0)
		return -1;
	if (ferry_container_list(ctx, &l, &n, err) < 0)
		return -1;
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", l[i].state->id);
	} else if (strcmp(format, "json") == 0) {
		json_t *a = json_array();
		char *s;

		for (size_t i = 0; i < n; i++) {
			struct ferry_state *st = l[i].state;
			json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "id", st->id, "pid",
					      l[i].status == FERRY_STATUS_STOPPED ? 0 : st->pid, "status",
					      ferry_status_name(l[i].status), "bundle", st->bundle ? st->bundle : "",
					      "rootfs", st->rootfs ? st->rootfs : "", "created",
					      st->created ? st->created : "", "owner", st->owner ? st->owner : "");
			if (st->n_annotations) {
				json_t *an = json_object();
				for (size_t k = 0; k < st->n_annotations; k++)
					json_object_set_new(an, st->annotations[k].key,
							    json_string(st->annotations[k].value));
				json_object_set_new(o, "annotations", an);
			}
			json_array_append_new(a, o);
		}
		/* runc prints "null" for no containers; [] is what tools expect
		 * of an array and both parse. */
		s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(a);
	} else {
		printf("%-12s %-10s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++) {
			struct ferry_state *st = l[i].state;
			printf("%-12s %-10d %-10s %-40s %-31s %s\n", st->id,
			       l[i].status == FERRY_STATUS_STOPPED ? 0 : st->pid, ferry_status_name(l[i].status),
			       st->bundle ? st->bundle : "", st->created ? st->created : "",
			       st->owner && *st->owner ? st->owner : "root");
		}
	}
	ferry_container_info_free(l, n);
	return 0;
}

static bool
has_pid(const pid_t *pids, size_t n, long p)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

int
ferry_cmd_ps(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-f|--format table|json] CONTAINER-ID [ps options]";
	const char *format = "table";
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "ps", "f:h", opts, usage, err)) != -1) {
		if (c == 'f')
			format = optarg;
		else
			return -1;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return ferry_error_set(err, EINVAL, "ps: --format: unknown format \"%s\" (expected table or json)",
				       format);
	if (ferry_cli_need_args(argc, argv, 1, -1, "ps", usage, err) < 0)
		return -1;
	if (ferry_container_pids(ctx, argv[optind], &pids, &n, err) < 0)
		return -1;
	if (strcmp(format, "json") == 0) {
		if (optind + 1 < argc)
			return ferry_error_set(err, EINVAL, "ps: ps options cannot be used with --format json");
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int) pids[i]);
		printf("]\n");
		return 0;
	}
	/* As runc: run ps(1) with the given options (default -ef) and keep the
	 * header plus the lines whose PID column is one of the container's. */
	{
		char **psargv = xmalloc0(sizeof(char *) * (argc - optind + 3));
		int p[2], k = 0, pidcol = -1;
		_cleanup_fclose_ FILE *f = NULL;
		char *line = NULL;
		size_t cap = 0;
		pid_t child;
		bool header = true;
		int status;

		psargv[k++] = "ps";
		if (optind + 1 >= argc)
			psargv[k++] = "-ef";
		for (int i = optind + 1; i < argc; i++)
			psargv[k++] = argv[i];
		if (pipe2(p, O_CLOEXEC) < 0) {
			free(psargv);
			return ferry_error_sys(err, "ps: pipe");
		}
		child = fork();
		if (child == 0) {
			dup2(p[1], 1);
			execvp("ps", psargv);
			_exit(127);
		}
		free(psargv);
		close(p[1]);
		f = fdopen(p[0], "r");
		while (f && getline(&line, &cap, f) > 0) {
			if (header) {
				char *save = NULL, *copy = xstrdup(line);
				int col = 0;
				for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
					if (strcmp(t, "PID") == 0)
						pidcol = col;
				free(copy);
				header = false;
				fputs(line, stdout);
				continue;
			}
			{
				char *save = NULL, *copy = xstrdup(line);
				int col = 0;
				for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
					if (col == pidcol && has_pid(pids, n, strtol(t, NULL, 10)))
						fputs(line, stdout);
				free(copy);
			}
		}
		free(line);
		waitpid(child, &status, 0);
		if (pidcol < 0)
			return ferry_error_set(err, EINVAL, "ps: no PID column in the output of ps");
	}
	return 0;
}

int
ferry_cmd_spec(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 1000 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-b|--bundle DIR] [--rootless]";
	const char *bundle = ".";
	_cleanup_free_ char *json = NULL;
	_cleanup_close_ int dfd = -1;
	bool rootless = false;
	int c;

	(void) ctx;
	while ((c = ferry_cli_getopt(argc, argv, "spec", "b:h", opts, usage, err)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 1000)
			rootless = true;
		else
			return -1;
	}
	if (ferry_cli_need_args(argc, argv, 0, 0, "spec", usage, err) < 0)
		return -1;
	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferry_error_sys(err, "spec: bundle %s", bundle);
	/* Like runc: never overwrite an existing config. */
	if (faccessat(dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return ferry_error_set(err, EEXIST, "spec: %s/config.json already exists; remove it first", bundle);
	json = ferry_spec_default_json(rootless);
	{
		_cleanup_free_ char *withnl = xasprintf("%s\n", json);
		if (ferry_write_file_atomic_at(dfd, "config.json", withnl, strlen(withnl), 0644, err) < 0)
			return ferry_error_prefix(err, "spec");
	}
	return 0;
}

int
ferry_cmd_features(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	_cleanup_free_ char *json = NULL;
	int c;

	(void) ctx;
	while ((c = ferry_cli_getopt(argc, argv, "features", "h", help_only, "", err)) != -1)
		return -1;
	if (ferry_cli_need_args(argc, argv, 0, 0, "features", "", err) < 0)
		return -1;
	json = ferry_features_json();
	printf("%s\n", json);
	return 0;
}
