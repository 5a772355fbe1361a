/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: each verb parses its options and calls the library. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "context.h"
#include "error.h"
#include "generate.h"

struct ferry_verb {
	const char *name;
	int (*fn)(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err);
	const char *summary;
	/* It puts a process into a container (a fork of ferry until that
	 * execs): run it from a sealed copy of the binary (sealed_exe.h). */
	bool enters_container;
};

/* Every verb's options are parsed with this so that "--help" exits 0 with
 * the usage text (Podman probes "checkpoint --help") and errors name the
 * verb and the option. Returns the getopt result; on a usage error it sets
 * *err and returns -2. */
int ferry_cli_getopt(int argc, char **argv, const char *verb, const char *shortopts, const struct option *longopts,
		     const char *usage, ferry_error_t *err);
/* Rewrites runc-style "-name" long options to "--name" in argv[first..]
 * (up to the first operand), as urfave/cli accepts them. */
void ferry_cli_accept_single_dash_long(int argc, char **argv, int first, const char *shortopts,
				       const struct option *longopts);
/* Checks that exactly nmin..nmax positional arguments remain. */
int ferry_cli_need_args(int argc, char **argv, int nmin, int nmax, const char *verb, const char *usage,
			ferry_error_t *err);

/* generate's command line, parsed (values borrowed from argv). Apart from
 * the verb so that tests/fuzz/fuzz_generate.c can drive the real parser. */
struct ferry_cli_generate_args {
	struct ferry_generate_opts opts;
	const char *template_path; /* --template, or NULL */
	const char *output_path;   /* --output, or NULL */
};
/* argv[0] is the verb; getopt's state must be reset (optind = 0) first.
 * "--help" prints the usage and exits, as for every verb. */
int ferry_cli_generate_parse(int argc, char **argv, struct ferry_cli_generate_args *out, ferry_error_t *err);

#define FERRY_CLI_HELP_EXIT (-100) /* returned by verbs after printing --help */

#define DECLARE_VERB(name) int ferry_cmd_##name(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)

DECLARE_VERB(spec);
DECLARE_VERB(create);
DECLARE_VERB(start);
DECLARE_VERB(run);
DECLARE_VERB(state);
DECLARE_VERB(list);
DECLARE_VERB(kill);
DECLARE_VERB(delete);
DECLARE_VERB(exec);
DECLARE_VERB(ps);
DECLARE_VERB(pause);
DECLARE_VERB(resume);
DECLARE_VERB(features);
DECLARE_VERB(check);
DECLARE_VERB(generate);
DECLARE_VERB(checkpoint);
DECLARE_VERB(restore);
DECLARE_VERB(migrate);
DECLARE_VERB(serve);
DECLARE_VERB(update);
DECLARE_VERB(events);

#endif
