/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry generate [--template FILE] [--output FILE] [oci-runtime-tool flags]
 *
 * Option parsing only: the flag names come from the library's table, and
 * ferry_generate_file() does the rest.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "generate.h"
#include "util.h"

enum {
	OPT_TEMPLATE = 1000,
	OPT_OUTPUT,
	OPT_FLAG_BASE, /* + index into ferry_generate_flags[] */
};

/* The --help text, built from the flag table so the two cannot disagree. */
static char *
usage_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	fputs("[options]\n\n"
	      "Writes a config.json as oci-runtime-tool generate does: runtime-tools' default\n"
	      "Linux spec (or --template FILE), changed by the options below.\n\n"
	      "Options:\n"
	      "   --template FILE                    start from FILE instead of the default\n"
	      "   --output FILE                      write to FILE (atomically) instead of stdout\n",
	      f);
	for (const struct ferry_generate_flag *fl = ferry_generate_flags; fl->name; fl++) {
		char left[64];

		if (fl->help == NULL)
			continue;
		if (fl->arg == FERRY_GEN_VALUE)
			snprintf(left, sizeof(left), "--%s %s", fl->name, fl->metavar);
		else
			snprintf(left, sizeof(left), "--%s", fl->name);
		fprintf(f, "   %-34s %s\n", left, fl->help);
	}
	fputs("\nAlso accepted, as older runtime-tools releases spelled them:", f);
	for (const struct ferry_generate_flag *fl = ferry_generate_flags; fl->name; fl++)
		if (fl->help == NULL)
			fprintf(f, " --%s", fl->name);
	fputs("\nValues may follow as --flag VALUE or --flag=VALUE; booleans take --flag or\n"
	      "--flag=true|false. Repeatable options add one item each.",
	      f);
	fclose(f);
	return buf;
}

int
ferry_cli_generate_parse(int argc, char **argv, struct ferry_cli_generate_args *out, ferry_error_t *err)
{
	_cleanup_free_ char *usage = usage_text();
	_cleanup_free_ struct option *longopts = NULL;
	size_t nflags = 0, n = 0;
	int c;

	*out = (struct ferry_cli_generate_args) { 0 };
	while (ferry_generate_flags[nflags].name)
		nflags++;
	longopts = xmalloc0((nflags + 4) * sizeof(*longopts));
	longopts[n++] = (struct option) { "template", required_argument, NULL, OPT_TEMPLATE };
	longopts[n++] = (struct option) { "output", required_argument, NULL, OPT_OUTPUT };
	longopts[n++] = (struct option) { "help", no_argument, NULL, 'h' };
	for (size_t i = 0; i < nflags; i++) {
		const struct ferry_generate_flag *fl = &ferry_generate_flags[i];

		/* A boolean takes its value only as --flag=false, never from the
		 * next word: optional_argument does exactly that. */
		longopts[n++] = (struct option) { fl->name,
						  fl->arg == FERRY_GEN_VALUE ? required_argument : optional_argument,
						  NULL, OPT_FLAG_BASE + (int) i };
	}

	while ((c = ferry_cli_getopt(argc, argv, "generate", "h", longopts, usage, err)) != -1) {
		if (c == -2)
			goto fail;
		if (c == OPT_TEMPLATE) {
			out->template_path = optarg;
		} else if (c == OPT_OUTPUT) {
			out->output_path = optarg;
		} else {
			const struct ferry_generate_flag *fl = &ferry_generate_flags[c - OPT_FLAG_BASE];

			ferry_generate_opts_add(&out->opts, fl->key, fl->name, optarg);
		}
	}
	if (ferry_cli_need_args(argc, argv, 0, 0, "generate", usage, err) < 0)
		goto fail;
	return 0;
fail:
	ferry_generate_opts_clear(&out->opts);
	return -1;
}

int
ferry_cmd_generate(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	struct ferry_cli_generate_args a;
	int ret;

	(void) ctx;
	if (ferry_cli_generate_parse(argc, argv, &a, err) < 0)
		return -1;
	ret = ferry_generate_file(a.template_path, &a.opts, a.output_path, err);
	ferry_generate_opts_clear(&a.opts);
	return ret < 0 ? -1 : 0;
}
