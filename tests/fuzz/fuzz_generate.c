/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for `ferry generate`'s command line: the input, split on
 * NUL bytes, is the argv after "generate". It goes through the verb's own
 * parser (src/cli/generate.c, getopt and the flag table) and then through
 * ferry_generate(), which turns the flags into a config.json. Build systems
 * and scripts pass user-supplied values straight into these flags (--bind,
 * --mounts-add JSON, --process-rlimits-add, ...).
 *
 *   tests/run-all fuzz   (builds build-fuzz with clang, runs every target)
 *   build-fuzz/tests/fuzz/fuzz_generate -max_total_time=30 tests/fuzz/corpus/generate
 */
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "generate.h"
#include "log.h"

#define MAX_ARGS 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(enum ferry_log_level level, const char *msg, void *data)
{
	(void) level;
	(void) msg;
	(void) data;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	ferry_log_set_handler(quiet, NULL);
	return 0;
}

/* "--help" (or a prefix getopt accepts, or -h) prints and exits by design. */
static int
asks_for_help(const char *arg)
{
	return strncmp(arg, "-h", 2) == 0 || strncmp(arg, "--he", 4) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_cli_generate_args a;
	char *buf, *argv[MAX_ARGS + 2];
	char *json = NULL;
	int argc = 0;

	/* NUL-terminated words; the last one need not be. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *) "generate";
	for (char *p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1) {
		if (asks_for_help(p))
			goto out;
		argv[argc++] = p;
	}
	argv[argc] = NULL;

	optind = 0; /* full getopt re-initialisation, as main() does */
	if (ferry_cli_generate_parse(argc, argv, &a, &err) < 0) {
		if (err.msg == NULL)
			__builtin_trap();
		goto out;
	}
	/* --template and --output name files: never touched here. */
	if (ferry_generate(NULL, &a.opts, &json, &err) == 0) {
		json_error_t jerr;
		json_t *j = json_loads(json, 0, &jerr);

		/* what generate promises: one JSON object with an ociVersion */
		if (j == NULL || !json_is_object(j) || !json_is_string(json_object_get(j, "ociVersion")))
			__builtin_trap();
		json_decref(j);
		free(json);
	} else if (err.msg == NULL || json != NULL) {
		__builtin_trap();
	}
	ferry_generate_opts_clear(&a.opts);
out:
	ferry_error_clear(&err);
	free(buf);
	return 0;
}
