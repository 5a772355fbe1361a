/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option parsing shared by the verbs. Apart from main.c so that a verb's
 * parser can be linked without ferry's main() (tests/fuzz/fuzz_generate.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int
ferry_cli_getopt(int argc, char **argv, const char *verb, const char *shortopts, const struct option *longopts,
		 const char *usage_text, ferry_error_t *err)
{
	char optstring[128];
	int c;

	/* "+": options end at the first argument (exec ID CMD -x); ":": tell a
	 * missing value apart from an unknown option. */
	snprintf(optstring, sizeof(optstring), "+:%s", shortopts);
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
