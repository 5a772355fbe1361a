/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v1 resource files: OCI resources as the v1 controllers spell
 * them.  The numbers follow runc so that a config means the same thing
 * under either runtime: a memory/limit or swap of 0 means "leave alone",
 * -1 means unlimited, and OCI's swap is memory+swap (memory.memsw.*).
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

#define FREEZE_TIMEOUT_NS (2000ull * 1000 * 1000)

/* ---- memory ------------------------------------------------------------ */

int
cg_v1_set_memory(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	int64_t limit = res->has_mem_limit ? res->mem_limit : 0;
	int64_t swap = res->has_mem_swap ? res->mem_swap : 0;
	bool swap_first = false;

	if (limit < -1 || swap < -1)
		return ferry_error_set(err, EINVAL, "memory: negative limit %" PRId64, limit < -1 ? limit : swap);
	/* Unlimited memory with swap left unset means unlimited memory+swap
	 * (else the old memsw limit would still cap the cgroup). */
	if (limit == -1 && swap == 0 && cg_exists(dfd, "memory.memsw.limit_in_bytes"))
		swap = -1;
	if (swap != 0 && !cg_exists(dfd, "memory.memsw.limit_in_bytes"))
		return ferry_error_set(err, ENOTSUP,
				       "memory.swap: memory.memsw.limit_in_bytes is missing (swap accounting is off: "
				       "boot with swapaccount=1)");
	if (limit > 0 && swap > 0 && swap < limit)
		return ferry_error_set(err, EINVAL,
				       "memory.swap (%" PRId64 ") is memory+swap and must be >= memory.limit (%" PRId64 ")",
				       swap, limit);
	/* The kernel keeps memsw >= memory at every moment: when raising
	 * the limits, memsw must go first; when lowering, memory first. */
	if (limit != 0 && swap != 0) {
		uint64_t cur;
		ferry_error_t e = FERRY_ERROR_INIT;

		if (cg_read_u64(dfd, "memory.limit_in_bytes", &cur, &e) < 0) {
			ferry_error_clear(&e);
			cur = 0;
		}
		swap_first = swap == -1 || cur < (uint64_t) swap;
	}
	if (swap_first && cg_writef(cg, dfd, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap) < 0)
		return -1;
	if (limit != 0 && cg_writef(cg, dfd, "memory.limit_in_bytes", err, "%" PRId64, limit) < 0)
		return -1;
	if (!swap_first && swap != 0 &&
	    cg_writef(cg, dfd, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap) < 0)
		return -1;
	if (res->has_mem_reservation && res->mem_reservation != 0 &&
	    cg_writef(cg, dfd, "memory.soft_limit_in_bytes", err, "%" PRId64, res->mem_reservation) < 0)
		return -1;
	if (res->has_mem_swappiness) {
		if (res->mem_swappiness > 100)
			return ferry_error_set(err, EINVAL, "memory.swappiness: %" PRIu64 " is not in 0..100",
					       res->mem_swappiness);
		if (cg_writef(cg, dfd, "memory.swappiness", err, "%" PRIu64, res->mem_swappiness) < 0)
			return -1;
	}
	if (res->disable_oom_killer && cg_write(cg, dfd, "memory.oom_control", "1", err) < 0)
		return -1;
	return 0;
}

/* ---- cpu --------------------------------------------------------------- */

int
cg_v1_set_cpu(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	bool period_pending = false;

	/* Realtime: the period first, since the runtime is checked
	 * against it. */
	if (res->has_cpu_rt_period && res->cpu_rt_period != 0 &&
	    cg_writef(cg, dfd, "cpu.rt_period_us", err, "%" PRIu64, res->cpu_rt_period) < 0)
		return -1;
	if (res->has_cpu_rt_runtime && res->cpu_rt_runtime != 0 &&
	    cg_writef(cg, dfd, "cpu.rt_runtime_us", err, "%" PRId64, res->cpu_rt_runtime) < 0)
		return ferry_error_prefix(err, "cpu.realtimeRuntime (the parent cgroups need a realtime budget too)");
	/* An idle group cannot take a weight; leave idle first, enter it
	 * last. */
	if (res->has_cpu_idle && res->cpu_idle == 0 && cg_write(cg, dfd, "cpu.idle", "0", err) < 0)
		return -1;
	if (res->has_cpu_shares && res->cpu_shares != 0) {
		uint64_t got;

		if (cg_writef(cg, dfd, "cpu.shares", err, "%" PRIu64, res->cpu_shares) < 0)
			return -1;
		/* The kernel clamps to 2..262144 silently: say so. */
		if (!cg->fake && cg_read_u64(dfd, "cpu.shares", &got, err) == 0 && got != res->cpu_shares)
			return ferry_error_set(err, ERANGE, "cpu.shares: %" PRIu64 " is out of range, the kernel set %" PRIu64,
					       res->cpu_shares, got);
		ferry_error_clear(err);
	}
	/* A new period below the current one can be refused (EINVAL) while
	 * the old quota/new period would exceed the parent's; then write
	 * the quota first and the period after it. */
	if (res->has_cpu_period && res->cpu_period != 0) {
		if (cg_writef(cg, dfd, "cpu.cfs_period_us", err, "%" PRIu64, res->cpu_period) < 0) {
			if (err->errno_ != EINVAL || !res->has_cpu_quota || res->cpu_quota == 0)
				return -1;
			ferry_error_clear(err);
			period_pending = true;
		}
	}
	if (res->has_cpu_quota && res->cpu_quota != 0) {
		if (cg_writef(cg, dfd, "cpu.cfs_quota_us", err, "%" PRId64, res->cpu_quota < 0 ? -1 : res->cpu_quota) <
		    0)
			return -1;
		if (period_pending && cg_writef(cg, dfd, "cpu.cfs_period_us", err, "%" PRIu64, res->cpu_period) < 0)
			return -1;
	}
	if (res->has_cpu_idle && res->cpu_idle != 0 &&
	    cg_writef(cg, dfd, "cpu.idle", err, "%" PRId64, res->cpu_idle) < 0)
		return -1;
	return 0;
}

int
cg_v1_set_cpuset(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	/* mems first: a task moved by a cpus change must be allowed to run
	 * on its node already. */
	if (res->cpu_mems && *res->cpu_mems && cg_write(cg, dfd, "cpuset.mems", res->cpu_mems, err) < 0)
		return -1;
	if (res->cpu_cpus && *res->cpu_cpus && cg_write(cg, dfd, "cpuset.cpus", res->cpu_cpus, err) < 0)
		return -1;
	return 0;
}

int
cg_v1_cpuset_inherit(const struct ferry_cgroup *cg, int parent_dfd, int dfd, ferry_error_t *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *cur = NULL, *up = NULL;

		if (cg_read(dfd, files[i], &cur, err) < 0)
			return -1;
		if (*cur != '\0')
			continue;
		if (cg_read(parent_dfd, files[i], &up, err) < 0)
			return ferry_error_prefix(err, "parent");
		if (*up == '\0')
			return ferry_error_set(err, EINVAL, "%s: the parent cgroup has none to inherit", files[i]);
		if (cg_write(cg, dfd, files[i], up, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- pids -------------------------------------------------------------- */

int
cg_v1_set_pids(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	if (res->pids_limit <= 0)
		return cg_write(cg, dfd, "pids.max", "max", err);
	return cg_writef(cg, dfd, "pids.max", err, "%" PRId64, res->pids_limit);
}

/* ---- blkio ------------------------------------------------------------- */

static int
write_throttle(const struct ferry_cgroup *cg, int dfd, const char *file, const struct ferry_throttle *t, size_t n,
	       ferry_error_t *err)
{
	/* One "major:minor rate" per write: the kernel parses one rule at
	 * a time.  A rate of 0 removes that device's limit. */
	for (size_t i = 0; i < n; i++) {
		if (cg_writef(cg, dfd, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor,
			      t[i].rate) < 0)
			return -1;
	}
	return 0;
}

int
cg_v1_set_blkio(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	/* CFQ's blkio.weight went away with CFQ (Linux 5.0); BFQ offers
	 * blkio.bfq.weight with the same 1..1000 range. */
	const char *wfile = cg_exists(dfd, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
	const char *wdfile = cg_exists(dfd, "blkio.weight_device") ? "blkio.weight_device" : "blkio.bfq.weight_device";
	bool leaf_warned = false;

	if (res->has_blkio_weight && res->blkio_weight != 0) {
		if (!cg_exists(dfd, wfile))
			return ferry_error_set(err, ENOTSUP,
					       "blockIO.weight: neither blkio.weight nor blkio.bfq.weight exists (no "
					       "proportional I/O scheduler on this kernel)");
		if (cg_writef(cg, dfd, wfile, err, "%u", (unsigned int) res->blkio_weight) < 0)
			return -1;
	}
	if (res->has_blkio_leaf_weight && res->blkio_leaf_weight != 0) {
		if (cg_exists(dfd, "blkio.leaf_weight")) {
			unsigned int lw = res->blkio_leaf_weight;

			if (cg_writef(cg, dfd, "blkio.leaf_weight", err, "%u", lw) < 0)
				return -1;
		} else {
			pr_warn("%s: blockIO.leafWeight ignored: blkio.leaf_weight is gone with CFQ", cg->path);
			leaf_warned = true;
		}
	}
	for (size_t i = 0; i < res->n_blkio_weight_devices; i++) {
		const struct ferry_weight_device *w = &res->blkio_weight_devices[i];

		if (w->has_weight && cg_writef(cg, dfd, wdfile, err, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
					       (unsigned int) w->weight) < 0)
			return -1;
		if (!w->has_leaf_weight)
			continue;
		if (cg_exists(dfd, "blkio.leaf_weight_device")) {
			if (cg_writef(cg, dfd, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u", w->major,
				      w->minor, (unsigned int) w->leaf_weight) < 0)
				return -1;
		} else if (!leaf_warned) {
			pr_warn("%s: blockIO.weightDevice[].leafWeight ignored: gone with CFQ", cg->path);
			leaf_warned = true;
		}
	}
	if (write_throttle(cg, dfd, "blkio.throttle.read_bps_device", res->throttle_read_bps, res->n_throttle_read_bps,
			   err) < 0 ||
	    write_throttle(cg, dfd, "blkio.throttle.write_bps_device", res->throttle_write_bps,
			   res->n_throttle_write_bps, err) < 0 ||
	    write_throttle(cg, dfd, "blkio.throttle.read_iops_device", res->throttle_read_iops,
			   res->n_throttle_read_iops, err) < 0 ||
	    write_throttle(cg, dfd, "blkio.throttle.write_iops_device", res->throttle_write_iops,
			   res->n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

/* ---- hugetlb ----------------------------------------------------------- */

int
cg_v1_set_hugetlb(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct ferry_hugepage_limit *l = &res->hugepage_limits[i];
		_cleanup_free_ char *file = NULL;

		if (!cg_page_size_valid(l->page_size))
			return ferry_error_set(err, EINVAL, "hugepageLimits: invalid page size \"%s\"", l->page_size);
		file = xasprintf("hugetlb.%s.limit_in_bytes", l->page_size);
		if (!cg_exists(dfd, file))
			return ferry_error_set(err, ENOTSUP, "hugepageLimits: %s: this host has no %s huge pages", file,
					       l->page_size);
		if (cg_writef(cg, dfd, file, err, "%" PRIu64, l->limit) < 0)
			return -1;
	}
	return 0;
}

/* ---- devices ----------------------------------------------------------- */

static void
rule_text(const struct ferry_device_rule *r, char *buf, size_t len)
{
	char maj[24], min[24];

	if (r->type == 'a') {
		snprintf(buf, len, "a");
		return;
	}
	if (r->major < 0)
		snprintf(maj, sizeof(maj), "*");
	else
		snprintf(maj, sizeof(maj), "%" PRId64, r->major);
	if (r->minor < 0)
		snprintf(min, sizeof(min), "*");
	else
		snprintf(min, sizeof(min), "%" PRId64, r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, r->access[0] ? r->access : "rwm");
}

static int
write_rule(const struct ferry_cgroup *cg, int dfd, const struct ferry_device_rule *r, ferry_error_t *err)
{
	char text[96];

	if (r->type != 'a' && r->type != 'c' && r->type != 'b')
		return ferry_error_set(err, EINVAL, "devices: invalid type '%c'", r->type);
	if (strspn(r->access, "rwm") != strlen(r->access))
		return ferry_error_set(err, EINVAL, "devices: invalid access \"%s\"", r->access);
	rule_text(r, text, sizeof(text));
	return cg_write(cg, dfd, r->allow ? "devices.allow" : "devices.deny", text, err);
}

int
cg_v1_set_devices(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	/* Deny everything, then replay the rules in order (a later rule
	 * refines an earlier one), then the devices every container needs.
	 * The kernel applies each write to the current set, so this is
	 * exactly the OCI "list of rules, last match wins" model.
	 * "a" on devices.allow is refused in a cgroup with children, so a
	 * leading allow-all rule goes in as written. */
	if (cg_write(cg, dfd, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < res->n_devices; i++)
		if (write_rule(cg, dfd, &res->devices[i], err) < 0)
			return ferry_error_prefix(err, "devices[%zu]", i);
	for (size_t i = 0; i < ferry_cgroup_n_default_device_rules; i++)
		if (write_rule(cg, dfd, &ferry_cgroup_default_device_rules[i], err) < 0)
			return ferry_error_prefix(err, "default device rules");
	return 0;
}

/* ---- freezer ----------------------------------------------------------- */

int
cg_v1_is_frozen(int dfd, bool *frozen, ferry_error_t *err)
{
	_cleanup_free_ char *state = NULL;

	if (cg_read(dfd, "freezer.state", &state, err) < 0)
		return -1;
	/* FREEZING is not frozen: some task has not stopped yet. */
	*frozen = strcmp(state, "FROZEN") == 0;
	return 0;
}

int
cg_v1_freeze(const struct ferry_cgroup *cg, int dfd, bool freeze, ferry_error_t *err)
{
	const char *want = freeze ? "FROZEN" : "THAWED";
	uint64_t deadline = ferry_now_ns() + FREEZE_TIMEOUT_NS;
	unsigned int delay_us = 100;

	if (cg_write(cg, dfd, "freezer.state", want, err) < 0)
		return -1;
	for (unsigned int round = 0;; round++) {
		_cleanup_free_ char *state = NULL;
		struct timespec ts;

		if (cg_read(dfd, "freezer.state", &state, err) < 0)
			return -1;
		if (strcmp(state, want) == 0)
			return 0;
		if (ferry_now_ns() >= deadline)
			break;
		/* While FREEZING, writing FROZEN again makes the kernel
		 * retry the tasks that were not frozen yet (new forks). */
		if (freeze && round % 10 == 9 && cg_write(cg, dfd, "freezer.state", want, err) < 0)
			return -1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long) delay_us * 1000;
		nanosleep(&ts, NULL);
		if (delay_us < 10000)
			delay_us *= 2;
	}
	if (freeze) {
		ferry_error_t e = FERRY_ERROR_INIT;

		/* Do not leave it half frozen. */
		if (cg_write(cg, dfd, "freezer.state", "THAWED", &e) < 0)
			ferry_error_clear(&e);
	}
	return ferry_error_set(err, ETIMEDOUT,
			       "freezer.state: not %s after %llu ms (a task in uninterruptible sleep?)", want,
			       (unsigned long long) (FREEZE_TIMEOUT_NS / 1000000));
}
