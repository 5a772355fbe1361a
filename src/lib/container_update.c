/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * update: new cgroup limits for a live container, as `runc update` sets
 * them.  The limits are applied through the same setters create uses
 * (cgroup_v1.c, cgroup_v2.c), then written into the container's config
 * copy (<root>/<id>/config.json) so that a later update, a checkpoint or
 * anything else that loads the config sees the limits in force.
 */
#define LOG_PREFIX "update: "
#include "container.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "cgroup.h"
#include "container_internal.h"
#include "log.h"
#include "util.h"

#define CONFIG_COPY "config.json"

/* The fields the command-line flags can set, as a LinuxResources object
 * (the names of runtime-spec's config-linux.md). */
static char *
flags_json(const struct ferry_resources *f)
{
	json_t *top = json_object(), *mem = json_object(), *cpu = json_object();
	char *s;

	if (f->has_mem_limit)
		json_object_set_new(mem, "limit", json_integer(f->mem_limit));
	if (f->has_mem_reservation)
		json_object_set_new(mem, "reservation", json_integer(f->mem_reservation));
	if (f->has_mem_swap)
		json_object_set_new(mem, "swap", json_integer(f->mem_swap));
	if (f->has_cpu_shares)
		json_object_set_new(cpu, "shares", json_integer((json_int_t) f->cpu_shares));
	if (f->has_cpu_quota)
		json_object_set_new(cpu, "quota", json_integer(f->cpu_quota));
	if (f->has_cpu_period)
		json_object_set_new(cpu, "period", json_integer((json_int_t) f->cpu_period));
	if (f->cpu_cpus)
		json_object_set_new(cpu, "cpus", json_string(f->cpu_cpus));
	if (f->cpu_mems)
		json_object_set_new(cpu, "mems", json_string(f->cpu_mems));
	if (json_object_size(mem))
		json_object_set(top, "memory", mem);
	if (json_object_size(cpu))
		json_object_set(top, "cpu", cpu);
	if (f->has_pids_limit)
		json_object_set_new(top, "pids", json_pack("{s:I}", "limit", (json_int_t) f->pids_limit));
	if (f->has_blkio_weight)
		json_object_set_new(top, "blockIO", json_pack("{s:i}", "weight", (int) f->blkio_weight));
	json_decref(mem);
	json_decref(cpu);
	s = json_dumps(top, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(top);
	return s;
}

static bool
flags_empty(const struct ferry_resources *f)
{
	return !f->has_mem_limit && !f->has_mem_reservation && !f->has_mem_swap && !f->has_cpu_shares &&
	       !f->has_cpu_quota && !f->has_cpu_period && !f->cpu_cpus && !f->cpu_mems && !f->has_pids_limit &&
	       !f->has_blkio_weight;
}

/* The update as one LinuxResources text: the -r object with the flags
 * laid over it (a flag wins over the same field in the file). */
static int
update_text(const struct ferry_update_opts *o, char **out, ferry_error_t *err)
{
	const char *name = o->resources_name ? o->resources_name : "resources";
	_cleanup_free_ char *flags = flags_json(&o->flags);

	if (flags == NULL)
		return ferry_error_set(err, ENOMEM, "cannot encode the flags as JSON");
	if (o->resources_json == NULL) {
		*out = steal_pointer(&flags);
		return 0;
	}
	return ferry_spec_merge_json(o->resources_json, o->resources_len, name, NULL, flags, strlen(flags),
				     "the command line", out, err);
}

int
ferry_container_update(const ferry_ctx_t *ctx, const struct ferry_update_opts *o, ferry_error_t *err)
{
	static const char *const res_path[] = { "linux", "resources", NULL };
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_spec_ ferry_spec_t *check = NULL;
	_cleanup_free_ char *text = NULL, *config = NULL, *merged = NULL;
	struct ferry_resources res = { 0 };
	enum ferry_status s;
	size_t config_len;
	int ret = -1;

	if (o->resources_json == NULL && flags_empty(&o->flags))
		return ferry_error_set(err, 0, "update %s: nothing to update: give --resources FILE or a limit flag",
				       o->id);
	/* Everything is checked before the container is touched: a bad
	 * value changes nothing. */
	if (update_text(o, &text, err) < 0 ||
	    ferry_spec_parse_resources(text, strlen(text), o->resources_name, &res, err) < 0)
		return ferry_error_prefix(err, "update %s", o->id);
	if (ferry_container_dir_open(ctx, o->id, &d, err) < 0) {
		ferry_resources_free(&res);
		return ferry_error_prefix(err, "update");
	}
	if (ferry_state_read(&d, &st, err) < 0)
		goto out;
	s = ferry_state_status(&d, st);
	if (s == FERRY_STATUS_STOPPED) {
		ferry_error_set(err, 0, "container \"%s\" is stopped: only a live container can be updated",
				o->id);
		goto out;
	}
	if (st->cgroup_path == NULL) {
		ferry_error_set(err, ENOENT, "container \"%s\" has no cgroup", o->id);
		goto out;
	}
	if (ferry_read_file_at(d.dir_fd, CONFIG_COPY, FERRY_SPEC_MAX_SIZE, &config, &config_len, err) < 0 ||
	    ferry_spec_merge_json(config, config_len, CONFIG_COPY, res_path, text, strlen(text), o->resources_name,
				  &merged, err) < 0 ||
	    ferry_spec_parse(merged, strlen(merged), CONFIG_COPY, &check, err) < 0)
		goto out;
	/* Raising the memory limit alone past the memory+swap limit in force
	 * would be refused by the kernel with a bare EINVAL; say which
	 * limit is in the way and what to give. */
	{
		const struct ferry_resources *m = &check->linux_.resources;

		if (m->has_mem_limit && m->has_mem_swap && m->mem_limit > 0 && m->mem_swap > 0 &&
		    m->mem_swap < m->mem_limit) {
			ferry_error_set(err, 0,
					"memory limit %" PRId64 " is above the memory+swap limit %" PRId64
					" in force: give --memory-swap (memory.swap) too, at least as large, or -1",
					m->mem_limit, m->mem_swap);
			goto out;
		}
	}
	if (ferry_cgroup_open(st->cgroup_path, &cg, err) < 0 || ferry_cgroup_update(cg, &res, err) < 0)
		goto out;
	/* After the cgroup took the values: the copy records limits that
	 * are in force, never ones the kernel refused. */
	if (ferry_write_file_replace_at(d.dir_fd, CONFIG_COPY, merged, strlen(merged), 0600, err) < 0) {
		ferry_error_prefix(err, "the new limits are applied, but saving them failed");
		goto out;
	}
	ret = 0;
out:
	ferry_resources_free(&res);
	ferry_container_dir_close(&d);
	return ret < 0 ? ferry_error_prefix(err, "update %s", o->id) : 0;
}
