/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the config parser: config.json and process.json
 * come from whoever wrote the bundle, and the agent will parse configs
 * that arrive over the network inside checkpoint images.
 *
 *   tests/run-all fuzz   (builds build-fuzz with clang, runs every target)
 *   build-fuzz/tests/fuzz/fuzz_spec -max_total_time=30 tests/fuzz/corpus/spec
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "spec.h"
#include "util.h"

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
	/* unknown capabilities and relative mount destinations warn */
	ferry_log_set_handler(quiet, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	ferry_spec_t *spec = NULL;
	struct ferry_process *proc = NULL;

	if (ferry_spec_parse((const char *) data, size, "config.json", &spec, &err) == 0) {
		/* what a successful parse promises its users */
		if (spec->oci_version == NULL || spec->root_path == NULL || spec->process == NULL ||
		    spec->process->args == NULL || spec->process->args[0] == NULL || spec->process->cwd[0] != '/' ||
		    memcmp(spec->raw, data, size) != 0)
			__builtin_trap();
		for (size_t i = 0; i < spec->n_mounts; i++)
			if (ferry_spec_parse_mount_options(&spec->mounts[i], &err) < 0)
				__builtin_trap();
		ferry_spec_free(spec);
	} else if (err.msg == NULL || spec != NULL) {
		__builtin_trap();
	}
	ferry_error_clear(&err);

	if (ferry_spec_parse_process((const char *) data, size, "process.json", &proc, &err) == 0)
		ferry_process_free(proc);
	else if (err.msg == NULL)
		__builtin_trap();
	ferry_error_clear(&err);
	return 0;
}
