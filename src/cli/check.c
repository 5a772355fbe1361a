/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hostcheck.h"

int
ferry_cmd_check(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_check_result *r = NULL;
	size_t n = 0;
	int c, failed = 0;

	while ((c = ferry_cli_getopt(argc, argv, "check", "h", opts, "", err)) != -1)
		return -1;
	if (ferry_cli_need_args(argc, argv, 0, 0, "check", "", err) < 0)
		return -1;
	ferry_hostcheck_run(ctx, &r, &n);
	for (size_t i = 0; i < n; i++) {
		const char *mark = r[i].ok ? "ok" : r[i].level == FERRY_CHECK_REQUIRED ? "FAIL" : "no";
		printf("%-5s %-18s %s\n", mark, r[i].name, r[i].detail);
		if (!r[i].ok && r[i].fix)
			printf("      %-18s fix: %s\n", "", r[i].fix);
		if (!r[i].ok && r[i].level == FERRY_CHECK_REQUIRED)
			failed++;
	}
	ferry_hostcheck_free(r, n);
	/* Only what the runtime itself needs decides the exit status;
	 * missing migration features are reported, not fatal. */
	return failed ? 1 : 0;
}
