/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `update` and `events`: runc's flags, handed to the library. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"
#include "util.h"

enum {
	OPT_MEMORY = 1000,
	OPT_MEMORY_RESERVATION,
	OPT_MEMORY_SWAP,
	OPT_CPU_SHARES,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_INTERVAL,
	OPT_STATS,
};

/* strtold also reads hex, exponents, "inf": only digits and a point
 * are numbers here, as in Go's parsers. */
static bool
plain_decimal(const char *s, const char *end)
{
	if (s == end)
		return false;
	for (; s < end; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return false;
	return true;
}

/* Sizes as runc reads them (go-units RAMInBytes): a number, optionally
 * with a fraction, an optional space and a binary unit k, m, g, t or p
 * (any case, "i" and "b" optional: 64m, 1.5G, 512KiB), or -1 for
 * unlimited. */
static int
parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	long double v;
	char *end;
	const char *u;

	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtold(s, &end);
	if (errno != 0 || !plain_decimal(s, end))
		return -1;
	if (*end == ' ')
		end++;
	if (*end && (u = strchr(units, *end | 0x20)) != NULL) {
		for (long i = 0; i <= u - units; i++)
			v *= 1024;
		end++;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v >= 9223372036854775807.0L)
		return -1;
	*out = (int64_t) v;
	return 0;
}

static int
bad_value(const char *flag, const char *value, const char *expected, ferry_error_t *err)
{
	return ferry_error_set(err, 0, "update: --%s: invalid value \"%s\" (expected %s)", flag, value, expected);
}

int
ferry_cmd_update(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-r|--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N]\n"
			    "       [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus LIST]\n"
			    "       [--cpuset-mems LIST] [--pids-limit N] [--blkio-weight N] CONTAINER-ID";
	struct ferry_update_opts o = { 0 };
	struct ferry_resources *f = &o.flags;
	_cleanup_free_ char *json = NULL;
	const char *resources = NULL;
	uint64_t u;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "update", "r:h", opts, usage, err)) != -1) {
		switch (c) {
		case 'r':
			resources = optarg;
			break;
		case OPT_MEMORY:
			if (parse_size(optarg, &f->mem_limit) < 0)
				return bad_value("memory", optarg, "bytes, a size such as 256m, or -1", err);
			f->has_mem_limit = true;
			break;
		case OPT_MEMORY_RESERVATION:
			if (parse_size(optarg, &f->mem_reservation) < 0)
				return bad_value("memory-reservation", optarg, "bytes, a size such as 128m, or -1", err);
			f->has_mem_reservation = true;
			break;
		case OPT_MEMORY_SWAP:
			if (parse_size(optarg, &f->mem_swap) < 0)
				return bad_value("memory-swap", optarg, "bytes of memory+swap, a size such as 1g, or -1",
						 err);
			f->has_mem_swap = true;
			break;
		case OPT_CPU_SHARES:
			if (ferry_parse_u64(optarg, &f->cpu_shares) < 0 || f->cpu_shares > INT64_MAX)
				return bad_value("cpu-shares", optarg, "a positive integer", err);
			f->has_cpu_shares = true;
			break;
		case OPT_CPU_QUOTA:
			if (ferry_parse_i64(optarg, &f->cpu_quota) < 0 || f->cpu_quota < -1)
				return bad_value("cpu-quota", optarg, "microseconds per period, or -1", err);
			f->has_cpu_quota = true;
			break;
		case OPT_CPU_PERIOD:
			if (ferry_parse_u64(optarg, &f->cpu_period) < 0 || f->cpu_period > INT64_MAX)
				return bad_value("cpu-period", optarg, "microseconds", err);
			f->has_cpu_period = true;
			break;
		case OPT_CPUSET_CPUS:
			f->cpu_cpus = optarg;
			break;
		case OPT_CPUSET_MEMS:
			f->cpu_mems = optarg;
			break;
		case OPT_PIDS_LIMIT:
			if (ferry_parse_i64(optarg, &f->pids_limit) < 0 || f->pids_limit < -1)
				return bad_value("pids-limit", optarg, "a number of processes, or -1 for no limit", err);
			f->has_pids_limit = true;
			break;
		case OPT_BLKIO_WEIGHT:
			if (ferry_parse_u64(optarg, &u) < 0 || u < 10 || u > 1000)
				return bad_value("blkio-weight", optarg, "10..1000", err);
			f->blkio_weight = (uint16_t) u;
			f->has_blkio_weight = true;
			break;
		default:
			return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, "update", usage, err) < 0)
		return -1;
	o.id = argv[optind];
	if (resources) {
		bool in = strcmp(resources, "-") == 0;

		o.resources_name = in ? "stdin" : resources;
		if (ferry_read_file(in ? "/proc/self/fd/0" : resources, FERRY_SPEC_MAX_SIZE, &json, &o.resources_len,
				    err) < 0)
			return ferry_error_prefix(err, "update: --resources");
		o.resources_json = json;
	}
	return ferry_container_update(ctx, &o, err);
}

/* Go's durations, as runc's --interval takes them: "5s", "100ms",
 * "1m30s"; units ns, us (or µs), ms, s, m, h. */
static int
parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *name;
		long double ms;
	} units[] = {
		{ "ns", 1e-6L }, { "us", 1e-3L }, { "\xc2\xb5s", 1e-3L }, { "ms", 1.0L },
		{ "s", 1e3L },	 { "m", 6e4L },	  { "h", 3.6e6L },
	};
	long double total = 0;

	if (*s == '\0')
		return -1;
	while (*s) {
		long double v;
		char *end;
		size_t best = 0, i, k = ARRAY_SIZE(units);

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtold(s, &end);
		if (errno != 0 || !plain_decimal(s, end))
			return -1;
		/* The longest unit that matches: "ms" before "m". */
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].name);

			if (strncmp(end, units[i].name, n) == 0 && n > best) {
				best = n;
				k = i;
			}
		}
		if (k == ARRAY_SIZE(units))
			return -1;
		total += v * units[k].ms;
		s = end + best;
	}
	if (total > 1e15L)
		return -1;
	*out = (uint64_t) total;
	return 0;
}

static int
print_event(const char *json, void *data)
{
	(void) data;
	if (printf("%s\n", json) < 0 || fflush(stdout) != 0)
		return -1;
	return 0;
}

int
ferry_cmd_events(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[--stats] [--interval DURATION] CONTAINER-ID";
	uint64_t interval_ms = 5000;
	bool stats = false;
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "events", "h", opts, usage, err)) != -1) {
		if (c == OPT_INTERVAL) {
			if (parse_duration_ms(optarg, &interval_ms) < 0 || interval_ms == 0)
				return ferry_error_set(err, 0,
						       "events: --interval: invalid duration \"%s\" (expected a Go "
						       "duration of at least 1ms such as 5s, 500ms or 1m)",
						       optarg);
		} else if (c == OPT_STATS) {
			stats = true;
		} else {
			return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, "events", usage, err) < 0)
		return -1;
	if (stats) {
		_cleanup_free_ char *json = NULL;

		if (ferry_container_stats(ctx, argv[optind], &json, err) < 0)
			return -1;
		return print_event(json, NULL) < 0 ? ferry_error_sys(err, "events: write") : 0;
	}
	return ferry_container_events(ctx, argv[optind], interval_ms, print_event, NULL, err);
}
