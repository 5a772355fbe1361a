/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2 resource files.  OCI resources are written in v1 terms; the
 * conversions below are runc's (and crun's), so that one config gives
 * the same limits whichever runtime runs it:
 *   cpu.shares [2..262144]  -> cpu.weight [1..10000], log-quadratic, 1024 -> 100
 *   blkio weight [10..1000] -> io.weight [1..10000], linear
 *   memory.swap (mem+swap)  -> memory.swap.max (swap alone) = swap - limit
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

#define FREEZE_TIMEOUT_NS (2000ull * 1000 * 1000)

/* ---- conversions ------------------------------------------------------- */

uint64_t
ferry_cgroup_shares_to_weight(uint64_t shares)
{
	double l, exponent;

	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	/* The curve through (2, 1), (1024, 100) and (262144, 10000) in
	 * log space: the v1 and v2 defaults map onto each other, which the
	 * old linear formula (1024 -> 39) did not.  runc >= 1.3.2, crun >= 1.23. */
	l = log2((double) shares);
	exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
	return (uint64_t) ceil(pow(10.0, exponent));
}

uint64_t
ferry_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight <= 10)
		return 1;
	if (weight >= 1000)
		return 10000;
	return 1 + (weight - 10) * 9999 / 990;
}

int
ferry_cgroup_swap_to_v2(int64_t swap, int64_t limit, bool *set, int64_t *out, ferry_error_t *err)
{
	*set = false;
	*out = 0;
	/* As on v1: unlimited memory with swap unset is unlimited swap. */
	if (limit == -1 && swap == 0) {
		*set = true;
		*out = -1;
		return 0;
	}
	if (swap == 0)
		return 0;
	if (swap == -1) {
		*set = true;
		*out = -1;
		return 0;
	}
	if (swap < -1 || limit < -1)
		return ferry_error_set(err, EINVAL, "memory: negative limit %" PRId64, swap < -1 ? swap : limit);
	if (limit == 0 || limit == -1)
		return ferry_error_set(err, EINVAL, "memory.swap: a swap limit needs a memory limit");
	if (swap < limit)
		return ferry_error_set(err, EINVAL,
				       "memory.swap (%" PRId64 ") is memory+swap and must be >= memory.limit (%" PRId64 ")",
				       swap, limit);
	*set = true;
	*out = swap - limit;
	return 0;
}

static void
fmt_limit(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* ---- controllers ------------------------------------------------------- */

int
cg_v2_enable_controllers(const struct ferry_cgroup *cg, int dfd, ferry_error_t *err)
{
	static const char *const wanted[] = { "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc" };
	_cleanup_free_ char *avail = NULL, *enabled = NULL, *all = NULL;
	_cleanup_strv_ char **add = xmalloc0(sizeof(char *));
	ferry_error_t e = FERRY_ERROR_INIT;

	if (cg_read(dfd, "cgroup.controllers", &avail, err) < 0)
		return -1;
	if (cg_read(dfd, "cgroup.subtree_control", &enabled, &e) < 0) {
		ferry_error_clear(&e);
		enabled = xstrdup("");
	}
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		_cleanup_free_ char *a = xasprintf(" %s ", avail), *en = xasprintf(" %s ", enabled);
		_cleanup_free_ char *w = xasprintf(" %s ", wanted[i]);

		for (char *p = a; *p; p++)
			if (*p == '\n')
				*p = ' ';
		for (char *p = en; *p; p++)
			if (*p == '\n')
				*p = ' ';
		if (strstr(a, w) && !strstr(en, w))
			ferry_strv_append(&add, wanted[i]);
	}
	if (add[0] == NULL)
		return 0;
	all = xstrdup("");
	for (char **c = add; *c; c++) {
		char *t = xasprintf("%s%s+%s", all, c == add ? "" : " ", *c);

		free(all);
		all = t;
	}
	if (cg_write(cg, dfd, "cgroup.subtree_control", all, &e) == 0)
		return 0;
	ferry_error_clear(&e);
	/* One refused controller (cpuset and cpu refuse when realtime
	 * tasks or processes sit in the way) must not cost the others. */
	for (char **c = add; *c; c++) {
		if (cg_writef(cg, dfd, "cgroup.subtree_control", &e, "+%s", *c) < 0)
			pr_warn("cannot enable the %s controller: %s: %s", *c, e.msg, strerror(e.errno_));
		ferry_error_clear(&e);
	}
	return 0;
}

/* ---- memory ------------------------------------------------------------ */

int
cg_v2_set_memory(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	int64_t limit = res->has_mem_limit ? res->mem_limit : 0;
	int64_t swap = res->has_mem_swap ? res->mem_swap : 0;
	int64_t swapmax;
	bool set;
	char buf[32];

	if (limit < -1)
		return ferry_error_set(err, EINVAL, "memory: negative limit %" PRId64, limit);
	if (ferry_cgroup_swap_to_v2(swap, limit, &set, &swapmax, err) < 0)
		return -1;
	if (set) {
		fmt_limit(buf, sizeof(buf), swapmax);
		if (cg_write(cg, dfd, "memory.swap.max", buf, err) < 0) {
			/* No swap accounting: "no limit" and "no swap"
			 * are what the kernel does anyway. */
			if (err->errno_ != ENOENT || (swapmax != -1 && swapmax != 0))
				return -1;
			ferry_error_clear(err);
		}
	}
	if (limit != 0) {
		fmt_limit(buf, sizeof(buf), limit);
		if (cg_write(cg, dfd, "memory.max", buf, err) < 0)
			return -1;
	}
	if (res->has_mem_reservation && res->mem_reservation != 0) {
		fmt_limit(buf, sizeof(buf), res->mem_reservation);
		if (cg_write(cg, dfd, "memory.low", buf, err) < 0)
			return -1;
	}
	if (res->has_mem_swappiness)
		pr_warn("%s: memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness", cg->path);
	if (res->disable_oom_killer)
		pr_warn("%s: memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer", cg->path);
	return 0;
}

/* ---- cpu --------------------------------------------------------------- */

int
cg_v2_set_cpu(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	if ((res->has_cpu_rt_runtime && res->cpu_rt_runtime != 0) ||
	    (res->has_cpu_rt_period && res->cpu_rt_period != 0))
		return ferry_error_set(err, ENOTSUP,
				       "cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU budget");
	/* An idle group refuses a weight: leave idle before, enter after. */
	if (res->has_cpu_idle && res->cpu_idle == 0 && cg_write(cg, dfd, "cpu.idle", "0", err) < 0)
		return -1;
	if (res->has_cpu_shares && res->cpu_shares != 0 &&
	    cg_writef(cg, dfd, "cpu.weight", err, "%" PRIu64, ferry_cgroup_shares_to_weight(res->cpu_shares)) < 0)
		return -1;
	if ((res->has_cpu_quota && res->cpu_quota != 0) || (res->has_cpu_period && res->cpu_period != 0)) {
		_cleanup_free_ char *quota = NULL;
		_cleanup_free_ char *cur = NULL;

		if (res->has_cpu_quota && res->cpu_quota != 0) {
			quota = res->cpu_quota > 0 ? xasprintf("%" PRId64, res->cpu_quota) : xstrdup("max");
		} else {
			/* Only the period changes: keep the quota (runc
			 * would reset it to max). */
			ferry_error_t e = FERRY_ERROR_INIT;

			if (cg_read(dfd, "cpu.max", &cur, &e) == 0 && *cur) {
				cur[strcspn(cur, " ")] = '\0';
				quota = xstrdup(cur);
			} else {
				quota = xstrdup("max");
			}
			ferry_error_clear(&e);
		}
		if (res->has_cpu_period && res->cpu_period != 0) {
			if (cg_writef(cg, dfd, "cpu.max", err, "%s %" PRIu64, quota, res->cpu_period) < 0)
				return -1;
		} else if (cg_write(cg, dfd, "cpu.max", quota, err) < 0) {
			return -1;
		}
	}
	if (res->has_cpu_idle && res->cpu_idle != 0 &&
	    cg_writef(cg, dfd, "cpu.idle", err, "%" PRId64, res->cpu_idle) < 0)
		return -1;
	return 0;
}

int
cg_v2_set_cpuset(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	/* cpuset keeps its v1 file names and ordering rule on cgroup2. */
	return cg_v1_set_cpuset(cg, dfd, res, err);
}

int
cg_v2_set_pids(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	if (res->pids_limit <= 0)
		return cg_write(cg, dfd, "pids.max", "max", err);
	return cg_writef(cg, dfd, "pids.max", err, "%" PRId64, res->pids_limit);
}

/* ---- io ---------------------------------------------------------------- */

struct io_dev {
	int64_t major, minor;
	uint64_t v[4]; /* rbps wbps riops wiops */
	bool has[4];
};

static void
io_add(struct io_dev **devs, size_t *n, const struct ferry_throttle *t, size_t nt, int k)
{
	for (size_t i = 0; i < nt; i++) {
		struct io_dev *d = NULL;

		for (size_t j = 0; j < *n; j++)
			if ((*devs)[j].major == t[i].major && (*devs)[j].minor == t[i].minor)
				d = &(*devs)[j];
		if (d == NULL) {
			*devs = xrealloc(*devs, (*n + 1) * sizeof(**devs));
			d = &(*devs)[(*n)++];
			memset(d, 0, sizeof(*d));
			d->major = t[i].major;
			d->minor = t[i].minor;
		}
		d->v[k] = t[i].rate;
		d->has[k] = true;
	}
}

int
cg_v2_set_io(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops" };
	/* With BFQ, io.bfq.weight takes blkio's 1..1000 range unchanged;
	 * io.weight (iocost) needs the conversion. */
	bool bfq = cg_exists(dfd, "io.bfq.weight");
	_cleanup_free_ struct io_dev *devs = NULL;
	size_t n = 0;

	if (res->has_blkio_weight && res->blkio_weight != 0) {
		if (bfq) {
			if (cg_writef(cg, dfd, "io.bfq.weight", err, "%u", (unsigned int) res->blkio_weight) < 0)
				return -1;
		} else if (cg_writef(cg, dfd, "io.weight", err, "%" PRIu64,
				     ferry_cgroup_blkio_to_io_weight(res->blkio_weight)) < 0) {
			return -1;
		}
	}
	if ((res->has_blkio_leaf_weight && res->blkio_leaf_weight != 0))
		pr_warn("%s: blockIO.leafWeight ignored: cgroup v2 has no leaf weight", cg->path);
	for (size_t i = 0; i < res->n_blkio_weight_devices; i++) {
		const struct ferry_weight_device *w = &res->blkio_weight_devices[i];
		uint64_t weight;

		if (!w->has_weight)
			continue;
		weight = bfq ? w->weight : ferry_cgroup_blkio_to_io_weight(w->weight);
		if (cg_writef(cg, dfd, bfq ? "io.bfq.weight" : "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64,
			      w->major, w->minor, weight) < 0)
			return -1;
	}
	io_add(&devs, &n, res->throttle_read_bps, res->n_throttle_read_bps, 0);
	io_add(&devs, &n, res->throttle_write_bps, res->n_throttle_write_bps, 1);
	io_add(&devs, &n, res->throttle_read_iops, res->n_throttle_read_iops, 2);
	io_add(&devs, &n, res->throttle_write_iops, res->n_throttle_write_iops, 3);
	/* One line per device with all its limits; 0 means no limit, as a
	 * 0 rate removes the rule on v1. */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *line = xasprintf("%" PRId64 ":%" PRId64, devs[i].major, devs[i].minor);

		for (int k = 0; k < 4; k++) {
			char *t;

			if (!devs[i].has[k])
				continue;
			t = devs[i].v[k] ? xasprintf("%s %s=%" PRIu64, line, keys[k], devs[i].v[k])
					 : xasprintf("%s %s=max", line, keys[k]);
			free(line);
			line = t;
		}
		if (cg_write(cg, dfd, "io.max", line, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- hugetlb ----------------------------------------------------------- */

int
cg_v2_set_hugetlb(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct ferry_hugepage_limit *l = &res->hugepage_limits[i];
		_cleanup_free_ char *file = NULL, *rsvd = NULL;

		if (!cg_page_size_valid(l->page_size))
			return ferry_error_set(err, EINVAL, "hugepageLimits: invalid page size \"%s\"", l->page_size);
		file = xasprintf("hugetlb.%s.max", l->page_size);
		rsvd = xasprintf("hugetlb.%s.rsvd.max", l->page_size);
		if (!cg_exists(dfd, file))
			return ferry_error_set(err, ENOTSUP, "hugepageLimits: %s: this host has no %s huge pages", file,
					       l->page_size);
		/* The reservation limit makes mmap() fail up front instead
		 * of a SIGBUS at the first touch of a page over the limit. */
		if (cg_exists(dfd, rsvd) && cg_writef(cg, dfd, rsvd, err, "%" PRIu64, l->limit) < 0)
			return -1;
		if (cg_writef(cg, dfd, file, err, "%" PRIu64, l->limit) < 0)
			return -1;
	}
	return 0;
}

/* ---- unified ----------------------------------------------------------- */

int
cg_v2_set_unified(const struct ferry_cgroup *cg, const struct cg_hier *h, int dfd,
		  const struct ferry_resources *res, ferry_error_t *err)
{
	for (size_t i = 0; i < res->n_unified; i++) {
		const char *key = res->unified[i].key, *value = res->unified[i].value;
		const char *dot = key ? strchr(key, '.') : NULL;

		/* A key is a file name in this cgroup's directory and
		 * nothing else. */
		if (key == NULL || *key == '\0' || strchr(key, '/') || strstr(key, "..") || dot == NULL || dot == key)
			return ferry_error_set(err, EINVAL, "unified: invalid key \"%s\"", key ? key : "");
		if (value == NULL)
			return ferry_error_set(err, EINVAL, "unified.%s: missing value", key);
		if (cg->layout != FERRY_CGROUP_V2) {
			_cleanup_free_ char *ctl = xasprintf("%.*s", (int) (dot - key), key);

			if (strcmp(ctl, "cgroup") != 0 && !cg_hier_has(h, ctl))
				return ferry_error_set(err, ENOTSUP,
						       "unified.%s: the %s controller is not on the cgroup2 hierarchy "
						       "of this %s host",
						       key, ctl, ferry_cgroup_layout_name(cg->layout));
		}
		if (cg_write(cg, dfd, key, value, err) < 0) {
			if (err->errno_ == ENOENT)
				return ferry_error_set(err, ENOENT,
						       "unified.%s: no such cgroup file (unknown key, or its "
						       "controller is not enabled)",
						       key);
			return ferry_error_prefix(err, "unified");
		}
	}
	return 0;
}

/* ---- freezer ----------------------------------------------------------- */

int
cg_v2_is_frozen(int dfd, bool *frozen, ferry_error_t *err)
{
	uint64_t v;

	if (cg_read_keyed(dfd, "cgroup.events", "frozen", &v, err) < 0)
		return -1;
	*frozen = v == 1;
	return 0;
}

int
cg_v2_freeze(const struct ferry_cgroup *cg, int dfd, bool freeze, ferry_error_t *err)
{
	uint64_t deadline = ferry_now_ns() + FREEZE_TIMEOUT_NS;
	unsigned int delay_us = 100;

	if (cg_write(cg, dfd, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
		return -1;
	/* cgroup.freeze is the wish; cgroup.events "frozen" the fact,
	 * once every task has reached the signal-delivery stop. */
	for (;;) {
		struct timespec ts;
		bool frozen;

		if (cg_v2_is_frozen(dfd, &frozen, err) < 0)
			return -1;
		if (frozen == freeze)
			return 0;
		if (ferry_now_ns() >= deadline)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = (long) delay_us * 1000;
		nanosleep(&ts, NULL);
		if (delay_us < 10000)
			delay_us *= 2;
	}
	if (freeze) {
		ferry_error_t e = FERRY_ERROR_INIT;

		if (cg_write(cg, dfd, "cgroup.freeze", "0", &e) < 0)
			ferry_error_clear(&e);
	}
	return ferry_error_set(err, ETIMEDOUT, "cgroup.events: not %s after %llu ms", freeze ? "frozen" : "thawed",
			       (unsigned long long) (FREEZE_TIMEOUT_NS / 1000000));
}
