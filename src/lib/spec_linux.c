/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "linux" object of config.json (config-linux.md): namespaces, ID
 * mappings, sysctl, cgroup resources, seccomp, devices, masked and
 * read-only paths, personality and time namespace offsets.
 *
 * Values are checked here against what the kernel interface can take at
 * all (a uint16 weight, an access string made of r, w and m); whether a
 * particular host accepts them (a cgroup controller being present, a
 * seccomp architecture libseccomp knows) is for the code that applies
 * them, which can say which host and which file refused.
 */
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "spec.h"
#include "spec_internal.h"
#include "util.h"

#define NS_EXPECTED "pid, network, mount, ipc, uts, user, cgroup, time"

static int
parse_namespaces(struct spec_parser *p, const json_t *arr, struct ferry_linux *l)
{
	json_t *v;
	size_t i;

	l->namespaces = xmalloc0(json_array_size(arr) * sizeof(*l->namespaces));
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);
		struct ferry_namespace *ns = &l->namespaces[i];
		_cleanup_free_ char *type = NULL;

		if (!json_is_object(v))
			return sp_type_error(p, "an object", v);
		if (sp_required(p, sp_get_str(p, v, "type", &type), "type", "one of " NS_EXPECTED) < 0)
			return -1;
		ns->type = ferry_ns_from_name(type);
		if (ns->type < 0) {
			_cleanup_free_ char *q = sp_quote(type);

			return sp_error_at(p, "type", "unknown namespace type %s (expected one of " NS_EXPECTED ")", q);
		}
		/* "If a namespace type is specified more than once, the
		 * runtime MUST generate an error." */
		for (size_t j = 0; j < i; j++)
			if (l->namespaces[j].type == ns->type)
				return sp_error_at(p, "type", "duplicate namespace type \"%s\" (also in [%zu])", type, j);
		l->n_namespaces = i + 1;
		/* The path is opened in the runtime's mount namespace, so a
		 * relative one would depend on ferry's working directory. */
		if (GET_FIELD(p, v, "path", fv, sp_abs_path(p, fv, &ns->path)) < 0)
			return -1;
		sp_pop(p, m);
	}
	return 0;
}

/* ---- resources --------------------------------------------------------- */

static int
get_opt_u64(struct spec_parser *p, const json_t *o, const char *key, uint64_t max, bool *has, uint64_t *out)
{
	int r = sp_get_u64(p, o, key, max, out);

	if (r > 0)
		*has = true;
	return r < 0 ? -1 : 0;
}

static int
get_opt_i64(struct spec_parser *p, const json_t *o, const char *key, int64_t min, int64_t max, bool *has,
	    int64_t *out)
{
	int r = sp_get_i64(p, o, key, min, max, out);

	if (r > 0)
		*has = true;
	return r < 0 ? -1 : 0;
}

static int
get_opt_u16(struct spec_parser *p, const json_t *o, const char *key, bool *has, uint16_t *out)
{
	uint64_t u;
	int r = sp_get_u64(p, o, key, UINT16_MAX, &u);

	if (r > 0) {
		*has = true;
		*out = u;
	}
	return r < 0 ? -1 : 0;
}

static int
parse_memory(struct spec_parser *p, const json_t *o, struct ferry_resources *r)
{
	/* -1 is "unlimited" for the cgroup files; other negatives are not
	 * a size.  kernel and kernelTCP are deprecated (kmem is gone from
	 * cgroup v2 and from recent kernels) and, like runc, ignored. */
	if (get_opt_i64(p, o, "limit", -1, INT64_MAX, &r->has_mem_limit, &r->mem_limit) < 0 ||
	    get_opt_i64(p, o, "reservation", -1, INT64_MAX, &r->has_mem_reservation, &r->mem_reservation) < 0 ||
	    get_opt_i64(p, o, "swap", -1, INT64_MAX, &r->has_mem_swap, &r->mem_swap) < 0 ||
	    get_opt_u64(p, o, "swappiness", 100, &r->has_mem_swappiness, &r->mem_swappiness) < 0 ||
	    sp_get_bool(p, o, "disableOOMKiller", &r->disable_oom_killer) < 0)
		return -1;
	return 0;
}

static int
parse_cpu(struct spec_parser *p, const json_t *o, struct ferry_resources *r)
{
	if (get_opt_u64(p, o, "shares", UINT64_MAX, &r->has_cpu_shares, &r->cpu_shares) < 0 ||
	    get_opt_i64(p, o, "quota", -1, INT64_MAX, &r->has_cpu_quota, &r->cpu_quota) < 0 ||
	    get_opt_u64(p, o, "burst", UINT64_MAX, &r->has_cpu_burst, &r->cpu_burst) < 0 ||
	    get_opt_u64(p, o, "period", UINT64_MAX, &r->has_cpu_period, &r->cpu_period) < 0 ||
	    get_opt_i64(p, o, "realtimeRuntime", -1, INT64_MAX, &r->has_cpu_rt_runtime, &r->cpu_rt_runtime) < 0 ||
	    get_opt_u64(p, o, "realtimePeriod", UINT64_MAX, &r->has_cpu_rt_period, &r->cpu_rt_period) < 0 ||
	    /* cpu.idle takes 0 or 1 */
	    get_opt_i64(p, o, "idle", 0, 1, &r->has_cpu_idle, &r->cpu_idle) < 0 ||
	    sp_get_str(p, o, "cpus", &r->cpu_cpus) < 0 || sp_get_str(p, o, "mems", &r->cpu_mems) < 0)
		return -1;
	return 0;
}

static int
get_major_minor(struct spec_parser *p, const json_t *o, int64_t *major, int64_t *minor)
{
	if (sp_required(p, sp_get_i64(p, o, "major", 0, INT64_MAX, major), "major", "an integer") < 0 ||
	    sp_required(p, sp_get_i64(p, o, "minor", 0, INT64_MAX, minor), "minor", "an integer") < 0)
		return -1;
	return 0;
}

static int
parse_throttle(struct spec_parser *p, const json_t *o, const char *key, struct ferry_throttle **out, size_t *n)
{
	json_t *arr, *v;
	size_t i, mark;
	int r = sp_get_arr(p, o, key, &arr);

	if (r <= 0)
		return r;
	*out = xmalloc0(json_array_size(arr) * sizeof(**out));
	*n = json_array_size(arr);
	mark = sp_push_key(p, key);
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);

		if (!json_is_object(v))
			return sp_type_error(p, "an object", v);
		if (get_major_minor(p, v, &(*out)[i].major, &(*out)[i].minor) < 0 ||
		    sp_required(p, sp_get_u64(p, v, "rate", UINT64_MAX, &(*out)[i].rate), "rate", "an integer") < 0)
			return -1;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

static int
parse_block_io(struct spec_parser *p, const json_t *o, struct ferry_resources *r)
{
	json_t *arr, *v;
	size_t i, mark;
	int ret;

	if (get_opt_u16(p, o, "weight", &r->has_blkio_weight, &r->blkio_weight) < 0 ||
	    get_opt_u16(p, o, "leafWeight", &r->has_blkio_leaf_weight, &r->blkio_leaf_weight) < 0)
		return -1;
	ret = sp_get_arr(p, o, "weightDevice", &arr);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		r->blkio_weight_devices = xmalloc0(json_array_size(arr) * sizeof(*r->blkio_weight_devices));
		r->n_blkio_weight_devices = json_array_size(arr);
		mark = sp_push_key(p, "weightDevice");
		json_array_foreach (arr, i, v) {
			size_t m = sp_push_index(p, i);
			struct ferry_weight_device *w = &r->blkio_weight_devices[i];

			if (!json_is_object(v))
				return sp_type_error(p, "an object", v);
			if (get_major_minor(p, v, &w->major, &w->minor) < 0 ||
			    get_opt_u16(p, v, "weight", &w->has_weight, &w->weight) < 0 ||
			    get_opt_u16(p, v, "leafWeight", &w->has_leaf_weight, &w->leaf_weight) < 0)
				return -1;
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}
	if (parse_throttle(p, o, "throttleReadBpsDevice", &r->throttle_read_bps, &r->n_throttle_read_bps) < 0 ||
	    parse_throttle(p, o, "throttleWriteBpsDevice", &r->throttle_write_bps, &r->n_throttle_write_bps) < 0 ||
	    parse_throttle(p, o, "throttleReadIOPSDevice", &r->throttle_read_iops, &r->n_throttle_read_iops) < 0 ||
	    parse_throttle(p, o, "throttleWriteIOPSDevice", &r->throttle_write_iops, &r->n_throttle_write_iops) < 0)
		return -1;
	return 0;
}

static int
parse_hugepages(struct spec_parser *p, const json_t *arr, struct ferry_resources *r)
{
	json_t *v;
	size_t i;

	r->hugepage_limits = xmalloc0(json_array_size(arr) * sizeof(*r->hugepage_limits));
	r->n_hugepage_limits = json_array_size(arr);
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);
		struct ferry_hugepage_limit *h = &r->hugepage_limits[i];

		if (!json_is_object(v))
			return sp_type_error(p, "an object", v);
		if (sp_required(p, sp_get_str(p, v, "pageSize", &h->page_size), "pageSize", "a size such as \"2MB\"") < 0 ||
		    sp_required(p, sp_get_u64(p, v, "limit", UINT64_MAX, &h->limit), "limit", "an integer") < 0)
			return -1;
		if (h->page_size[0] == '\0')
			return sp_error_at(p, "pageSize", "expected a size such as \"2MB\", got \"\"");
		sp_pop(p, m);
	}
	return 0;
}

static int
parse_device_rule(struct spec_parser *p, const json_t *o, struct ferry_device_rule *d)
{
	_cleanup_free_ char *type = NULL, *access = NULL;
	int r;

	if (!json_is_object(o))
		return sp_type_error(p, "an object", o);
	if (sp_required(p, sp_get_bool(p, o, "allow", &d->allow), "allow", "a boolean") < 0)
		return -1;
	d->type = 'a';
	r = sp_get_str(p, o, "type", &type);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 && strcmp(type, "c") != 0) {
			_cleanup_free_ char *q = sp_quote(type);

			return sp_error_at(p, "type", "unknown device type %s (expected one of a, b, c)", q);
		}
		d->type = type[0];
	}
	/* Absent (or null) is the wildcard "*"; -1 is how Go writes it. */
	d->major = d->minor = -1;
	if (sp_get_i64(p, o, "major", -1, INT64_MAX, &d->major) < 0 ||
	    sp_get_i64(p, o, "minor", -1, INT64_MAX, &d->minor) < 0)
		return -1;
	r = sp_get_str(p, o, "access", &access);
	if (r < 0)
		return -1;
	if (r == 0) {
		/* An unset access means every access, like crun. */
		strcpy(d->access, "rwm");
		return 0;
	}
	/* Kept in canonical "rwm" order so that it always fits access[4]. */
	for (const char *c = access; *c; c++) {
		if (*c != 'r' && *c != 'w' && *c != 'm') {
			_cleanup_free_ char *q = sp_quote(access);

			return sp_error_at(p, "access", "invalid device access %s (expected letters from \"rwm\")", q);
		}
	}
	r = 0;
	for (const char *c = "rwm"; *c; c++)
		if (strchr(access, *c))
			d->access[r++] = *c;
	d->access[r] = '\0';
	return 0;
}

static int
parse_resources(struct spec_parser *p, const json_t *o, struct ferry_resources *r)
{
	json_t *sub, *v;
	size_t i, mark;
	int ret;

	r->present = true;
#define SUBOBJ(key, fn) \
	do { \
		ret = sp_get_obj(p, o, key, &sub); \
		if (ret < 0) \
			return -1; \
		if (ret > 0) { \
			mark = sp_push_key(p, key); \
			if (fn(p, sub, r) < 0) \
				return -1; \
			sp_pop(p, mark); \
		} \
	} while (0)
	SUBOBJ("memory", parse_memory);
	SUBOBJ("cpu", parse_cpu);
	SUBOBJ("blockIO", parse_block_io);
#undef SUBOBJ
	ret = sp_get_obj(p, o, "pids", &sub);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		mark = sp_push_key(p, "pids");
		/* runc reads 0 as "unset" and -1 as "max"; both pass. */
		if (sp_required(p, sp_get_i64(p, sub, "limit", INT64_MIN, INT64_MAX, &r->pids_limit), "limit",
				"an integer") < 0)
			return -1;
		r->has_pids_limit = true;
		sp_pop(p, mark);
	}
	ret = sp_get_arr(p, o, "hugepageLimits", &sub);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		mark = sp_push_key(p, "hugepageLimits");
		if (parse_hugepages(p, sub, r) < 0)
			return -1;
		sp_pop(p, mark);
	}
	ret = sp_get_arr(p, o, "devices", &sub);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		r->devices = xmalloc0(json_array_size(sub) * sizeof(*r->devices));
		r->n_devices = json_array_size(sub);
		mark = sp_push_key(p, "devices");
		json_array_foreach (sub, i, v) {
			size_t m = sp_push_index(p, i);

			if (parse_device_rule(p, v, &r->devices[i]) < 0)
				return -1;
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}
	return sp_get_map(p, o, "unified", &r->unified, &r->n_unified) < 0 ? -1 : 0;
}

static void
resources_free(struct ferry_resources *r)
{
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->blkio_weight_devices);
	free(r->throttle_read_bps);
	free(r->throttle_write_bps);
	free(r->throttle_read_iops);
	free(r->throttle_write_iops);
	for (size_t i = 0; r->hugepage_limits && i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	free(r->devices);
	spec_kv_free(r->unified, r->n_unified);
}

/* ---- seccomp ----------------------------------------------------------- */

static int
get_seccomp_action(struct spec_parser *p, const json_t *o, const char *key, char **out)
{
	if (sp_required(p, sp_get_str(p, o, key, out), key, "an action such as \"SCMP_ACT_ERRNO\"") < 0)
		return -1;
	if (!spec_seccomp_action_valid(*out)) {
		_cleanup_free_ char *q = sp_quote(*out);

		return sp_error_at(p, key,
				   "unknown seccomp action %s (expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)",
				   q);
	}
	return 0;
}

/* "When the action doesn't support an errno, the runtime MUST print an
 * error and fail."  Only ERRNO and TRACE carry one. */
static int
get_errno_ret(struct spec_parser *p, const json_t *o, const char *key, const char *action, bool *has,
	      unsigned int *out)
{
	uint32_t e;
	int r = sp_get_u32(p, o, key, &e);

	if (r <= 0)
		return r;
	if (strcmp(action, "SCMP_ACT_ERRNO") != 0 && strcmp(action, "SCMP_ACT_TRACE") != 0)
		return sp_error_at(p, key, "%s takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)", action);
	*has = true;
	*out = e;
	return 0;
}

static int
parse_seccomp_arg(struct spec_parser *p, const json_t *o, struct ferry_seccomp_arg *a)
{
	uint64_t idx;

	if (!json_is_object(o))
		return sp_type_error(p, "an object", o);
	/* A system call has at most six arguments. */
	if (sp_required(p, sp_get_u64(p, o, "index", 5, &idx), "index", "an integer from 0 to 5") < 0 ||
	    sp_required(p, sp_get_u64(p, o, "value", UINT64_MAX, &a->value), "value", "an integer") < 0 ||
	    sp_get_u64(p, o, "valueTwo", UINT64_MAX, &a->value_two) < 0 ||
	    sp_required(p, sp_get_str(p, o, "op", &a->op), "op", "an operator such as \"SCMP_CMP_EQ\"") < 0)
		return -1;
	a->index = idx;
	if (!spec_seccomp_op_valid(a->op)) {
		_cleanup_free_ char *q = sp_quote(a->op);

		return sp_error_at(p, "op",
				   "unknown seccomp operator %s (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)",
				   q);
	}
	return 0;
}

static int
parse_seccomp_rule(struct spec_parser *p, const json_t *o, struct ferry_seccomp_rule *rule)
{
	json_t *arr, *v;
	size_t i, mark;
	int r;

	if (!json_is_object(o))
		return sp_type_error(p, "an object", o);
	r = sp_get_strv(p, o, "names", false, &rule->names);
	if (r < 0)
		return -1;
	if (r == 0 || rule->names[0] == NULL)
		return r == 0 ? sp_missing(p, "names", "a non-empty array of system call names")
			      : sp_error_at(p, "names", "expected a non-empty array of system call names, got an empty array");
	if (get_seccomp_action(p, o, "action", &rule->action) < 0 ||
	    get_errno_ret(p, o, "errnoRet", rule->action, &rule->has_errno, &rule->errno_ret) < 0)
		return -1;
	r = sp_get_arr(p, o, "args", &arr);
	if (r <= 0)
		return r;
	rule->args = xmalloc0(json_array_size(arr) * sizeof(*rule->args));
	rule->n_args = json_array_size(arr);
	mark = sp_push_key(p, "args");
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);

		if (parse_seccomp_arg(p, v, &rule->args[i]) < 0)
			return -1;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

static int
check_strv(struct spec_parser *p, const char *key, char **v, bool (*valid)(const char *), const char *what)
{
	for (size_t i = 0; v && v[i]; i++) {
		if (!valid(v[i])) {
			size_t mark = sp_push_key(p, key);
			_cleanup_free_ char *q = sp_quote(v[i]);

			sp_push_index(p, i);
			sp_error(p, "unknown %s %s", what, q);
			sp_pop(p, mark);
			return -1;
		}
	}
	return 0;
}

/* Which architectures exist is libseccomp's to say (its version decides);
 * the form is checked here so that a typo fails before anything runs. */
static bool
arch_well_formed(const char *s)
{
	return strncmp(s, "SCMP_ARCH_", 10) == 0 && s[10] != '\0';
}

static int
parse_seccomp(struct spec_parser *p, const json_t *o, struct ferry_seccomp *s)
{
	json_t *arr, *v;
	size_t i, mark;
	int r;

	if (get_seccomp_action(p, o, "defaultAction", &s->default_action) < 0 ||
	    get_errno_ret(p, o, "defaultErrnoRet", s->default_action, &s->has_default_errno, &s->default_errno) < 0 ||
	    sp_get_strv(p, o, "architectures", false, &s->architectures) < 0 ||
	    check_strv(p, "architectures", s->architectures, arch_well_formed,
		       "architecture (expected SCMP_ARCH_ and a name, e.g. SCMP_ARCH_X86_64)") < 0 ||
	    sp_get_strv(p, o, "flags", false, &s->flags) < 0 ||
	    check_strv(p, "flags", s->flags, spec_seccomp_flag_valid,
		       "seccomp flag (expected one of SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)") < 0 ||
	    sp_get_str(p, o, "listenerPath", &s->listener_path) < 0 ||
	    sp_get_str(p, o, "listenerMetadata", &s->listener_metadata) < 0)
		return -1;
	r = sp_get_arr(p, o, "syscalls", &arr);
	if (r < 0)
		return -1;
	if (r > 0) {
		s->rules = xmalloc0(json_array_size(arr) * sizeof(*s->rules));
		s->n_rules = json_array_size(arr);
		mark = sp_push_key(p, "syscalls");
		json_array_foreach (arr, i, v) {
			size_t m = sp_push_index(p, i);

			if (parse_seccomp_rule(p, v, &s->rules[i]) < 0)
				return -1;
			/* The notify fd has to go somewhere. */
			if (strcmp(s->rules[i].action, "SCMP_ACT_NOTIFY") == 0 && s->listener_path == NULL)
				return sp_error_at(p, "action", "SCMP_ACT_NOTIFY needs .linux.seccomp.listenerPath");
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}
	/* The runtime keeps making system calls after the filter is loaded
	 * (it still has to send the listener fd to listenerPath); with a
	 * notifying default they would wait on a supervisor that has no fd
	 * yet.  runc refuses it for the same reason. */
	if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
		return sp_error_at(p, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
	return 0;
}

static void
seccomp_free(struct ferry_seccomp *s)
{
	if (s == NULL)
		return;
	free(s->default_action);
	ferry_strv_free(s->architectures);
	ferry_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; s->rules && i < s->n_rules; i++) {
		ferry_strv_free(s->rules[i].names);
		free(s->rules[i].action);
		for (size_t j = 0; s->rules[i].args && j < s->rules[i].n_args; j++)
			free(s->rules[i].args[j].op);
		free(s->rules[i].args);
	}
	free(s->rules);
	free(s);
}

/* ---- devices, personality, time offsets -------------------------------- */

static int
parse_device(struct spec_parser *p, const json_t *o, struct ferry_device *d)
{
	_cleanup_free_ char *type = NULL;
	uint64_t mode;
	int r;

	if (!json_is_object(o))
		return sp_type_error(p, "an object", o);
	r = GET_FIELD(p, o, "path", fv, sp_abs_path(p, fv, &d->path));
	if (sp_required(p, r, "path", "an absolute path") < 0)
		return -1;
	if (sp_required(p, sp_get_str(p, o, "type", &type), "type", "one of c, b, u, p") < 0)
		return -1;
	if (strcmp(type, "c") != 0 && strcmp(type, "b") != 0 && strcmp(type, "u") != 0 && strcmp(type, "p") != 0) {
		_cleanup_free_ char *q = sp_quote(type);

		return sp_error_at(p, "type", "unknown device type %s (expected one of c, b, u, p)", q);
	}
	d->type = type[0];
	/* A FIFO has no device number; the others need one for mknod. */
	if (d->type == 'p') {
		if (sp_get_i64(p, o, "major", 0, INT64_MAX, &d->major) < 0 ||
		    sp_get_i64(p, o, "minor", 0, INT64_MAX, &d->minor) < 0)
			return -1;
	} else if (get_major_minor(p, o, &d->major, &d->minor) < 0) {
		return -1;
	}
	/* Podman writes the host device's whole st_mode here, type bits
	 * (S_IFCHR...) included, and runc takes it: only the permission bits
	 * are used (devices.c), the type comes from "type". */
	r = sp_get_u64(p, o, "fileMode", S_IFMT | 07777, &mode);
	if (r < 0)
		return -1;
	if (r > 0) {
		d->has_mode = true;
		d->file_mode = mode & 07777;
	}
	r = sp_get_u32(p, o, "uid", &d->uid);
	if (r < 0)
		return -1;
	d->has_uid = r > 0;
	r = sp_get_u32(p, o, "gid", &d->gid);
	if (r < 0)
		return -1;
	d->has_gid = r > 0;
	return 0;
}

static int
parse_personality(struct spec_parser *p, const json_t *o, struct ferry_linux *l)
{
	if (sp_required(p, sp_get_str(p, o, "domain", &l->personality_domain), "domain", "LINUX or LINUX32") < 0)
		return -1;
	if (strcmp(l->personality_domain, "LINUX") != 0 && strcmp(l->personality_domain, "LINUX32") != 0) {
		_cleanup_free_ char *q = sp_quote(l->personality_domain);

		return sp_error_at(p, "domain", "unknown personality domain %s (expected LINUX or LINUX32)", q);
	}
	if (sp_get_strv(p, o, "flags", false, &l->personality_flags) < 0)
		return -1;
	l->has_personality = true;
	return 0;
}

static int
parse_time_offset(struct spec_parser *p, const json_t *o, const char *key, int64_t *secs, uint32_t *nsecs)
{
	json_t *t;
	uint64_t ns;
	size_t mark;
	int r = sp_get_obj(p, o, key, &t);

	if (r <= 0)
		return r;
	mark = sp_push_key(p, key);
	if (sp_get_i64(p, t, "secs", INT64_MIN, INT64_MAX, secs) < 0)
		return -1;
	/* timens_offsets takes a normalised timespec */
	r = sp_get_u64(p, t, "nanosecs", 999999999, &ns);
	if (r < 0)
		return -1;
	if (r > 0)
		*nsecs = ns;
	sp_pop(p, mark);
	return 0;
}

/* ---- linux ------------------------------------------------------------- */

static bool
propagation_valid(const char *s)
{
	static const char *const names[] = { "shared",  "slave",  "private",  "unbindable",
					     "rshared", "rslave", "rprivate", "runbindable" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

int
spec_parse_linux(struct spec_parser *p, const json_t *o, struct ferry_linux *l)
{
	json_t *sub, *v;
	size_t i, mark;
	int r;

	r = sp_get_arr(p, o, "namespaces", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "namespaces");
		if (parse_namespaces(p, sub, l) < 0)
			return -1;
		sp_pop(p, mark);
	}
	if (sp_get_idmaps(p, o, "uidMappings", &l->uid_mappings, &l->n_uid_mappings) < 0 ||
	    sp_get_idmaps(p, o, "gidMappings", &l->gid_mappings, &l->n_gid_mappings) < 0 ||
	    sp_get_map(p, o, "sysctl", &l->sysctl, &l->n_sysctl) < 0)
		return -1;
	r = sp_get_obj(p, o, "resources", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "resources");
		if (parse_resources(p, sub, &l->resources) < 0)
			return -1;
		sp_pop(p, mark);
	}
	if (sp_get_str(p, o, "cgroupsPath", &l->cgroups_path) < 0)
		return -1;
	r = sp_get_str(p, o, "rootfsPropagation", &l->rootfs_propagation);
	if (r < 0)
		return -1;
	if (r > 0 && !propagation_valid(l->rootfs_propagation)) {
		_cleanup_free_ char *q = sp_quote(l->rootfs_propagation);

		return sp_error_at(p, "rootfsPropagation",
				   "unknown propagation %s (expected one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable)",
				   q);
	}
	r = sp_get_obj(p, o, "seccomp", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		l->seccomp = xmalloc0(sizeof(*l->seccomp));
		mark = sp_push_key(p, "seccomp");
		if (parse_seccomp(p, sub, l->seccomp) < 0)
			return -1;
		sp_pop(p, mark);
	}
	/* Both are paths inside the container and resolved from its root. */
	if (sp_get_strv(p, o, "maskedPaths", true, &l->masked_paths) < 0 ||
	    sp_get_strv(p, o, "readonlyPaths", true, &l->readonly_paths) < 0 ||
	    sp_get_str(p, o, "mountLabel", &l->mount_label) < 0)
		return -1;
	r = sp_get_arr(p, o, "devices", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		l->devices = xmalloc0(json_array_size(sub) * sizeof(*l->devices));
		l->n_devices = json_array_size(sub);
		mark = sp_push_key(p, "devices");
		json_array_foreach (sub, i, v) {
			size_t m = sp_push_index(p, i);

			if (parse_device(p, v, &l->devices[i]) < 0)
				return -1;
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}
	r = sp_get_obj(p, o, "personality", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "personality");
		if (parse_personality(p, sub, l) < 0)
			return -1;
		sp_pop(p, mark);
	}
	r = sp_get_obj(p, o, "timeOffsets", &sub);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "timeOffsets");
		if (parse_time_offset(p, sub, "monotonic", &l->time_offset_monotonic_secs,
				      &l->time_offset_monotonic_nsecs) < 0 ||
		    parse_time_offset(p, sub, "boottime", &l->time_offset_boottime_secs, &l->time_offset_boottime_nsecs) <
			    0)
			return -1;
		sp_pop(p, mark);
	}
	return 0;
}

void
spec_linux_free(struct ferry_linux *l)
{
	for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	spec_kv_free(l->sysctl, l->n_sysctl);
	resources_free(&l->resources);
	free(l->cgroups_path);
	free(l->rootfs_propagation);
	seccomp_free(l->seccomp);
	ferry_strv_free(l->masked_paths);
	ferry_strv_free(l->readonly_paths);
	free(l->mount_label);
	for (size_t i = 0; l->devices && i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->personality_domain);
	ferry_strv_free(l->personality_flags);
}

int
ferry_spec_parse_resources(const char *json, size_t len, const char *name, struct ferry_resources *out,
			   ferry_error_t *err)
{
	struct spec_parser p = { .name = name ? name : "resources", .err = err };
	ferry_error_t local = FERRY_ERROR_INIT;
	json_t *top;
	int r = -1;

	if (p.err == NULL)
		p.err = &local;
	ferry_error_clear(p.err);
	memset(out, 0, sizeof(*out));
	top = sp_load(&p, json, len);
	if (top != NULL) {
		r = parse_resources(&p, top, out);
		json_decref(top);
		if (r < 0) {
			resources_free(out);
			memset(out, 0, sizeof(*out));
		}
	}
	free(p.path);
	ferry_error_clear(&local);
	return r < 0 ? -1 : 0;
}

void
ferry_resources_free(struct ferry_resources *r)
{
	if (r == NULL)
		return;
	resources_free(r);
	memset(r, 0, sizeof(*r));
}
