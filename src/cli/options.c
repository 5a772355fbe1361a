/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option parsing shared by the verbs. Apart from main.c so that a verb's
 * parser can be linked without ferry's main() (tests/fuzz/fuzz_generate.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

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
/* The rewritten arguments live as long as argv (until exit); kept here so
 * that they stay reachable (LeakSanitizer in the fuzz build). */
static char *
keep_arg(char *a)
{
	static char **kept;
	static size_t n;
	char **t = realloc(kept, (n + 1) * sizeof(*t));

	if (t == NULL)
		return a;
	kept = t;
	kept[n++] = a;
	return a;
}

void
ferry_cli_accept_single_dash_long(int argc, char **argv, int first, const char *shortopts, const struct option *longopts)
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
			argv[i] = keep_arg(xasprintf("-%s", a));
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
		ferry_cli_accept_single_dash_long(argc, argv, 1, shortopts[0] == '*' ? shortopts + 1 : shortopts, longopts);
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
