/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json → struct ferry_spec: the platform-neutral parts (root,
 * process, mounts, hooks, annotations), the entry points and freeing.
 * The JSON layer (loading, paths, typed getters) is spec_json.c, the
 * linux object spec_linux.c, name tables and mount options
 * spec_tables.c, the default config spec_default.c.
 *
 * Unknown fields are ignored, as runc does, so that configs written for a
 * newer runtime-spec still load.  Fields we know are checked strictly:
 * wrong types, out-of-range numbers and missing REQUIRED fields are
 * errors that name the file and the JSON path.
 */
#define LOG_PREFIX "spec: "

#include <limits.h>
#include <sched.h>
#include <string.h>

#include "log.h"
#include "spec.h"
#include "spec_internal.h"
#include "util.h"

/* ---- process ----------------------------------------------------------- */

static int
parse_user(struct spec_parser *p, const json_t *user, struct ferry_process *proc)
{
	uint64_t umask;
	json_t *gids, *v;
	size_t i, mark;
	int r;

	/* runtime-spec marks uid and gid REQUIRED, but runc (through Go's
	 * zero values) has always read a missing one as 0, and configs in
	 * the wild rely on it. */
	if (sp_get_u32(p, user, "uid", &proc->uid) < 0 || sp_get_u32(p, user, "gid", &proc->gid) < 0)
		return -1;
	r = sp_get_u64(p, user, "umask", 0777, &umask);
	if (r < 0)
		return -1;
	if (r > 0) {
		proc->has_umask = true;
		proc->umask = umask;
	}
	r = sp_get_arr(p, user, "additionalGids", &gids);
	if (r <= 0)
		return r;
	proc->additional_gids = xmalloc0(json_array_size(gids) * sizeof(gid_t));
	proc->n_additional_gids = json_array_size(gids);
	mark = sp_push_key(p, "additionalGids");
	json_array_foreach (gids, i, v) {
		size_t m = sp_push_index(p, i);
		uint64_t g;

		if (sp_u64(p, v, UINT32_MAX, &g) < 0)
			return -1;
		proc->additional_gids[i] = g;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

static bool
cap_name_well_formed(const char *s)
{
	if (strncmp(s, "CAP_", 4) != 0 || s[4] == '\0')
		return false;
	for (s += 4; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/*
 * Capability names.  runc warns about and drops every name it does not
 * know.  We split that in two: a name that is not of the CAP_[A-Z0-9_]+
 * form is a typo ("cap_kill", "SYS_ADMIN", "CAP_SYS ADMIN") and an error,
 * because silently running without a capability the user asked for is a
 * debugging trap.  A well-formed name we do not know (a kernel newer than
 * ferry) or that the running kernel does not have (a config written on a
 * newer host) is dropped with a warning, as runc does, so that one config
 * works across hosts.
 */
static int
parse_cap_set(struct spec_parser *p, const json_t *caps, const char *key, int last, uint64_t *set)
{
	json_t *arr, *v;
	size_t i, mark;
	int r = sp_get_arr(p, caps, key, &arr);

	if (r <= 0)
		return r;
	mark = sp_push_key(p, key);
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);
		_cleanup_free_ char *name = NULL;
		int cap;

		if (sp_str(p, v, &name) < 0)
			return -1;
		if (!cap_name_well_formed(name)) {
			_cleanup_free_ char *q = sp_quote(name);

			return sp_error(p, "invalid capability name %s (expected CAP_ and an upper-case name, e.g. CAP_KILL)",
					q);
		}
		cap = ferry_cap_from_name(name);
		if (cap < 0)
			pr_warn("%s: %s: unknown capability %s, ignored", p->name, p->path, name);
		else if (cap > last)
			pr_warn("%s: %s: %s is not supported by the running kernel (last capability is %d), ignored",
				p->name, p->path, name, last);
		else
			*set |= 1ULL << cap;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

static int
parse_capabilities(struct spec_parser *p, const json_t *caps, struct ferry_capabilities *c)
{
	int last = ferry_cap_last();

	c->present = true;
	if (parse_cap_set(p, caps, "bounding", last, &c->bounding) < 0 ||
	    parse_cap_set(p, caps, "effective", last, &c->effective) < 0 ||
	    parse_cap_set(p, caps, "inheritable", last, &c->inheritable) < 0 ||
	    parse_cap_set(p, caps, "permitted", last, &c->permitted) < 0 ||
	    parse_cap_set(p, caps, "ambient", last, &c->ambient) < 0)
		return -1;
	return 0;
}

static int
parse_rlimits(struct spec_parser *p, const json_t *arr, struct ferry_process *proc)
{
	json_t *v;
	size_t i;

	proc->rlimits = xmalloc0(json_array_size(arr) * sizeof(*proc->rlimits));
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);
		struct ferry_rlimit *rl = &proc->rlimits[i];
		_cleanup_free_ char *type = NULL;

		if (!json_is_object(v))
			return sp_type_error(p, "an object", v);
		if (sp_required(p, sp_get_str(p, v, "type", &type), "type", "a string such as \"RLIMIT_NOFILE\"") < 0)
			return -1;
		/* the exact name: the lenient lookup is for the command line */
		rl->resource = ferry_rlimit_from_name(type);
		if (rl->resource < 0 || strcmp(ferry_rlimit_name(rl->resource), type) != 0) {
			_cleanup_free_ char *q = sp_quote(type);

			return sp_error_at(p, "type", "unknown resource limit %s (expected RLIMIT_ and a name from getrlimit(2), e.g. RLIMIT_NOFILE)",
					   q);
		}
		/* setrlimit takes one value per resource; a second entry
		 * would silently override the first. */
		for (size_t j = 0; j < i; j++)
			if (proc->rlimits[j].resource == rl->resource)
				return sp_error_at(p, "type", "duplicate resource limit %s (also in [%zu])", type, j);
		if (sp_required(p, sp_get_u64(p, v, "soft", UINT64_MAX, &rl->soft), "soft", "an integer") < 0)
			return -1;
		if (sp_required(p, sp_get_u64(p, v, "hard", UINT64_MAX, &rl->hard), "hard", "an integer") < 0)
			return -1;
		if (rl->soft > rl->hard)
			return sp_error_at(p, "soft", "%llu is above the hard limit %llu", (unsigned long long) rl->soft,
					   (unsigned long long) rl->hard);
		proc->n_rlimits = i + 1;
		sp_pop(p, m);
	}
	return 0;
}

static int
parse_io_priority(struct spec_parser *p, const json_t *io, struct ferry_process *proc)
{
	_cleanup_free_ char *cls = NULL;
	int64_t prio;

	if (sp_required(p, sp_get_str(p, io, "class", &cls), "class", "one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE") < 0)
		return -1;
	proc->io_priority_class = spec_ioprio_class_from_name(cls);
	if (proc->io_priority_class < 0) {
		_cleanup_free_ char *q = sp_quote(cls);

		return sp_error_at(p, "class",
				   "unknown I/O priority class %s (expected one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)",
				   q);
	}
	/* The kernel has 8 levels per class (IOPRIO_PRIO_DATA is 0..7). */
	if (sp_required(p, sp_get_i64(p, io, "priority", 0, 7, &prio), "priority", "an integer from 0 to 7") < 0)
		return -1;
	proc->io_priority = prio;
	proc->has_io_priority = true;
	return 0;
}

static int
parse_scheduler(struct spec_parser *p, const json_t *s, struct ferry_process *proc)
{
	_cleanup_free_ char *policy = NULL;
	json_t *flags, *v;
	int64_t n;
	size_t i, mark;
	int r;

	if (sp_required(p, sp_get_str(p, s, "policy", &policy), "policy", "a string such as \"SCHED_OTHER\"") < 0)
		return -1;
	proc->sched_policy = spec_sched_policy_from_name(policy);
	if (proc->sched_policy < 0) {
		_cleanup_free_ char *q = sp_quote(policy);

		return sp_error_at(p, "policy",
				   "unknown scheduling policy %s (expected one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE)",
				   q);
	}
	r = sp_get_i64(p, s, "nice", -20, 19, &n);
	if (r < 0)
		return -1;
	if (r > 0)
		proc->sched_nice = n;
	r = sp_get_i64(p, s, "priority", 0, INT32_MAX, &n);
	if (r < 0)
		return -1;
	if (r > 0)
		proc->sched_priority = n;
	if (sp_get_u64(p, s, "runtime", UINT64_MAX, &proc->sched_runtime) < 0 ||
	    sp_get_u64(p, s, "deadline", UINT64_MAX, &proc->sched_deadline) < 0 ||
	    sp_get_u64(p, s, "period", UINT64_MAX, &proc->sched_period) < 0)
		return -1;
	r = sp_get_arr(p, s, "flags", &flags);
	if (r < 0)
		return -1;
	proc->has_scheduler = true;
	if (r == 0)
		return 0;
	mark = sp_push_key(p, "flags");
	json_array_foreach (flags, i, v) {
		size_t m = sp_push_index(p, i);
		_cleanup_free_ char *name = NULL;
		uint64_t f;

		if (sp_str(p, v, &name) < 0)
			return -1;
		if (spec_sched_flag_from_name(name, &f) < 0) {
			_cleanup_free_ char *q = sp_quote(name);

			return sp_error(p, "unknown scheduler flag %s (expected SCHED_FLAG_ and a name from sched_setattr(2), e.g. SCHED_FLAG_RESET_ON_FORK)",
					q);
		}
		proc->sched_flags |= f;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

static int
check_env(struct spec_parser *p, char **env)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');

		/* execve() would pass these on, but getenv() could never
		 * find them; runc refuses them the same way. */
		if (eq == NULL || eq == env[i]) {
			size_t m = sp_push_key(p, "env");
			_cleanup_free_ char *q = sp_quote(env[i]);

			sp_push_index(p, i);
			sp_error(p, "invalid environment variable %s (expected NAME=VALUE)", q);
			sp_pop(p, m);
			return -1;
		}
	}
	return 0;
}

/* The process object at the current path; shared with exec -p. */
static int
parse_process(struct spec_parser *p, const json_t *obj, struct ferry_process *proc)
{
	json_t *o, *arr;
	int64_t n;
	int r;

	if (sp_get_bool(p, obj, "terminal", &proc->terminal) < 0)
		return -1;
	r = sp_get_obj(p, obj, "consoleSize", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "consoleSize");
		uint64_t h, w;

		/* struct winsize has unsigned short rows and columns */
		if (sp_required(p, sp_get_u64(p, o, "height", USHRT_MAX, &h), "height", "an integer") < 0)
			return -1;
		if (sp_required(p, sp_get_u64(p, o, "width", USHRT_MAX, &w), "width", "an integer") < 0)
			return -1;
		proc->console_height = h;
		proc->console_width = w;
		sp_pop(p, mark);
	}
	r = sp_get_obj(p, obj, "user", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "user");

		if (parse_user(p, o, proc) < 0)
			return -1;
		sp_pop(p, mark);
	}
	r = sp_get_strv(p, obj, "args", false, &proc->args);
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "args", "a non-empty array of strings");
	if (proc->args[0] == NULL)
		return sp_error_at(p, "args", "expected a non-empty array of strings, got an empty array");
	if (sp_get_strv(p, obj, "env", false, &proc->env) < 0 || check_env(p, proc->env) < 0)
		return -1;
	r = sp_get_str(p, obj, "cwd", &proc->cwd);
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "cwd", "an absolute path");
	if (proc->cwd[0] != '/') {
		_cleanup_free_ char *q = sp_quote(proc->cwd);

		return sp_error_at(p, "cwd", "expected an absolute path, got %s", q);
	}
	r = sp_get_obj(p, obj, "capabilities", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "capabilities");

		if (parse_capabilities(p, o, &proc->caps) < 0)
			return -1;
		sp_pop(p, mark);
	}
	r = sp_get_arr(p, obj, "rlimits", &arr);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "rlimits");

		if (parse_rlimits(p, arr, proc) < 0)
			return -1;
		sp_pop(p, mark);
	}
	if (sp_get_bool(p, obj, "noNewPrivileges", &proc->no_new_privileges) < 0 ||
	    sp_get_str(p, obj, "apparmorProfile", &proc->apparmor_profile) < 0 ||
	    sp_get_str(p, obj, "selinuxLabel", &proc->selinux_label) < 0)
		return -1;
	/* /proc/PID/oom_score_adj takes -1000..1000 and nothing else */
	r = sp_get_i64(p, obj, "oomScoreAdj", -1000, 1000, &n);
	if (r < 0)
		return -1;
	if (r > 0) {
		proc->has_oom_score_adj = true;
		proc->oom_score_adj = n;
	}
	r = sp_get_obj(p, obj, "ioPriority", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "ioPriority");

		if (parse_io_priority(p, o, proc) < 0)
			return -1;
		sp_pop(p, mark);
	}
	r = sp_get_obj(p, obj, "scheduler", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t mark = sp_push_key(p, "scheduler");

		if (parse_scheduler(p, o, proc) < 0)
			return -1;
		sp_pop(p, mark);
	}
	return 0;
}

void
ferry_process_free(struct ferry_process *proc)
{
	if (proc == NULL)
		return;
	free(proc->additional_gids);
	ferry_strv_free(proc->args);
	ferry_strv_free(proc->env);
	free(proc->cwd);
	free(proc->rlimits);
	free(proc->apparmor_profile);
	free(proc->selinux_label);
	free(proc);
}

/* ---- root, mounts, hooks ----------------------------------------------- */

static int
parse_root(struct spec_parser *p, const json_t *root, ferry_spec_t *spec)
{
	int r = sp_get_str(p, root, "path", &spec->root_path);

	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "path", "a string");
	if (spec->root_path[0] == '\0')
		return sp_error_at(p, "path", "expected a non-empty string, got \"\"");
	return sp_get_bool(p, root, "readonly", &spec->root_readonly) < 0 ? -1 : 0;
}

static int
parse_mount(struct spec_parser *p, const json_t *obj, struct ferry_mount *m)
{
	int r;

	if (!json_is_object(obj))
		return sp_type_error(p, "an object", obj);
	r = sp_get_str(p, obj, "destination", &m->destination);
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "destination", "a path");
	if (m->destination[0] == '\0')
		return sp_error_at(p, "destination", "expected a path, got \"\"");
	/* Old runtime-spec versions allowed destinations relative to the
	 * container's root, and runc still accepts them with a warning. */
	if (m->destination[0] != '/')
		pr_warn("%s: %s.destination: %s is not an absolute path; taken as relative to the root", p->name,
			p->path, m->destination);
	if (sp_get_str(p, obj, "type", &m->type) < 0 || sp_get_str(p, obj, "source", &m->source) < 0 ||
	    sp_get_strv(p, obj, "options", false, &m->options) < 0 ||
	    sp_get_idmaps(p, obj, "uidMappings", &m->uid_mappings, &m->n_uid_mappings) < 0 ||
	    sp_get_idmaps(p, obj, "gidMappings", &m->gid_mappings, &m->n_gid_mappings) < 0)
		return -1;
	/* An idmapped mount needs both maps to build its user namespace. */
	if ((m->uid_mappings == NULL) != (m->gid_mappings == NULL))
		return sp_error(p, "uidMappings and gidMappings must be given together");
	if (ferry_spec_parse_mount_options(m, p->err) < 0) {
		size_t mark = sp_push_key(p, "options");

		ferry_error_prefix(p->err, "%s: %s", p->name, p->path);
		sp_pop(p, mark);
		return -1;
	}
	return 0;
}

static void
mount_free(struct ferry_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	ferry_strv_free(m->options);
	free(m->data);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static const char *const hook_keys[FERRY_HOOK__COUNT] = {
	[FERRY_HOOK_PRESTART] = "prestart",
	[FERRY_HOOK_CREATE_RUNTIME] = "createRuntime",
	[FERRY_HOOK_CREATE_CONTAINER] = "createContainer",
	[FERRY_HOOK_START_CONTAINER] = "startContainer",
	[FERRY_HOOK_POSTSTART] = "poststart",
	[FERRY_HOOK_POSTSTOP] = "poststop",
};

static int
parse_hook(struct spec_parser *p, const json_t *obj, struct ferry_hook *h)
{
	int64_t t;
	int r;

	if (!json_is_object(obj))
		return sp_type_error(p, "an object", obj);
	r = GET_FIELD(p, obj, "path", v, sp_abs_path(p, v, &h->path));
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "path", "an absolute path");
	if (sp_get_strv(p, obj, "args", false, &h->args) < 0 || sp_get_strv(p, obj, "env", false, &h->env) < 0)
		return -1;
	/* "If set, timeout MUST be greater than zero." */
	r = sp_get_i64(p, obj, "timeout", 1, INT_MAX, &t);
	if (r < 0)
		return -1;
	if (r > 0)
		h->timeout = t;
	return 0;
}

static int
parse_hooks(struct spec_parser *p, const json_t *hooks, ferry_spec_t *spec)
{
	for (int k = 0; k < FERRY_HOOK__COUNT; k++) {
		json_t *arr, *v;
		size_t i, mark;
		int r = sp_get_arr(p, hooks, hook_keys[k], &arr);

		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		spec->hooks[k] = xmalloc0(json_array_size(arr) * sizeof(struct ferry_hook));
		spec->n_hooks[k] = json_array_size(arr);
		mark = sp_push_key(p, hook_keys[k]);
		json_array_foreach (arr, i, v) {
			size_t m = sp_push_index(p, i);

			if (parse_hook(p, v, &spec->hooks[k][i]) < 0)
				return -1;
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}
	return 0;
}

/* ---- the whole config -------------------------------------------------- */

static int
check_cross_fields(struct spec_parser *p, ferry_spec_t *spec)
{
	const struct ferry_linux *l = &spec->linux_;

	/* sethostname() in the host's UTS namespace would rename the host. */
	if ((spec->hostname || spec->domainname) && !ferry_spec_has_ns(spec, CLONE_NEWUTS))
		return sp_error_at(p, spec->hostname ? "hostname" : "domainname",
				   "setting it needs a UTS namespace (add {\"type\": \"uts\"} to .linux.namespaces)");
	if ((l->uid_mappings || l->gid_mappings) && !ferry_spec_has_ns(spec, CLONE_NEWUSER)) {
		size_t mark = sp_push_key(p, "linux");

		sp_error_at(p, l->uid_mappings ? "uidMappings" : "gidMappings",
			    "ID mappings need a user namespace (add {\"type\": \"user\"} to .linux.namespaces)");
		sp_pop(p, mark);
		return -1;
	}
	if ((l->time_offset_monotonic_secs || l->time_offset_monotonic_nsecs || l->time_offset_boottime_secs ||
	     l->time_offset_boottime_nsecs) &&
	    !ferry_spec_has_ns(spec, CLONE_NEWTIME)) {
		size_t mark = sp_push_key(p, "linux");

		sp_error_at(p, "timeOffsets",
			    "time offsets need a time namespace (add {\"type\": \"time\"} to .linux.namespaces)");
		sp_pop(p, mark);
		return -1;
	}
	return 0;
}

static int
parse_spec(struct spec_parser *p, const json_t *top, ferry_spec_t *spec)
{
	json_t *o, *arr, *v;
	size_t i, mark;
	int r;

	r = sp_get_str(p, top, "ociVersion", &spec->oci_version);
	if (r < 0)
		return -1;
	if (r == 0 || spec->oci_version[0] == '\0')
		return r == 0 ? sp_missing(p, "ociVersion", "a version string such as \"1.0.2\"")
			      : sp_error_at(p, "ociVersion", "expected a version string such as \"1.0.2\", got \"\"");
	r = sp_get_obj(p, top, "root", &o);
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "root", "an object with a path");
	mark = sp_push_key(p, "root");
	if (parse_root(p, o, spec) < 0)
		return -1;
	sp_pop(p, mark);

	r = sp_get_arr(p, top, "mounts", &arr);
	if (r < 0)
		return -1;
	if (r > 0) {
		spec->mounts = xmalloc0(json_array_size(arr) * sizeof(struct ferry_mount));
		spec->n_mounts = json_array_size(arr);
		mark = sp_push_key(p, "mounts");
		json_array_foreach (arr, i, v) {
			size_t m = sp_push_index(p, i);

			if (parse_mount(p, v, &spec->mounts[i]) < 0)
				return -1;
			sp_pop(p, m);
		}
		sp_pop(p, mark);
	}

	/* The runtime-spec lets process be absent until start; ferry always
	 * creates and starts from one config, so it is required here. */
	r = sp_get_obj(p, top, "process", &o);
	if (r < 0)
		return -1;
	if (r == 0)
		return sp_missing(p, "process", "an object");
	spec->process = xmalloc0(sizeof(*spec->process));
	mark = sp_push_key(p, "process");
	if (parse_process(p, o, spec->process) < 0)
		return -1;
	sp_pop(p, mark);

	if (sp_get_str(p, top, "hostname", &spec->hostname) < 0 ||
	    sp_get_str(p, top, "domainname", &spec->domainname) < 0)
		return -1;
	r = sp_get_obj(p, top, "hooks", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "hooks");
		if (parse_hooks(p, o, spec) < 0)
			return -1;
		sp_pop(p, mark);
	}
	if (sp_get_map(p, top, "annotations", &spec->annotations, &spec->n_annotations) < 0)
		return -1;
	r = sp_get_obj(p, top, "linux", &o);
	if (r < 0)
		return -1;
	if (r > 0) {
		mark = sp_push_key(p, "linux");
		if (spec_parse_linux(p, o, &spec->linux_) < 0)
			return -1;
		sp_pop(p, mark);
	}
	return check_cross_fields(p, spec);
}

int
ferry_spec_parse(const char *json, size_t len, const char *name, ferry_spec_t **out, ferry_error_t *err)
{
	struct spec_parser p = { .name = name ? name : "config.json", .err = err };
	ferry_error_t local = FERRY_ERROR_INIT;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	json_t *top;
	int r;

	/* The parser always fills an error; a caller that passes none
	 * still gets the -1. */
	if (p.err == NULL)
		p.err = &local;
	ferry_error_clear(p.err);
	top = sp_load(&p, json, len);
	if (top == NULL) {
		r = -1;
		goto out;
	}
	spec = xmalloc0(sizeof(*spec));
	spec->raw = xmalloc0(len + 1);
	memcpy(spec->raw, json, len);
	r = parse_spec(&p, top, spec);
	json_decref(top);
	if (r == 0)
		*out = steal_pointer(&spec);
out:
	free(p.path);
	ferry_error_clear(&local);
	return r < 0 ? -1 : 0;
}

int
ferry_spec_parse_process(const char *json, size_t len, const char *name, struct ferry_process **out,
			 ferry_error_t *err)
{
	struct spec_parser p = { .name = name ? name : "process.json", .err = err };
	ferry_error_t local = FERRY_ERROR_INIT;
	struct ferry_process *proc = NULL;
	json_t *top;
	int r = -1;

	if (p.err == NULL)
		p.err = &local;
	ferry_error_clear(p.err);
	top = sp_load(&p, json, len);
	if (top != NULL) {
		proc = xmalloc0(sizeof(*proc));
		r = parse_process(&p, top, proc);
		json_decref(top);
		if (r < 0)
			ferry_process_free(proc);
		else
			*out = proc;
	}
	free(p.path);
	ferry_error_clear(&local);
	return r < 0 ? -1 : 0;
}

int
ferry_spec_load(const char *path, ferry_spec_t **out, ferry_error_t *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (ferry_read_file(path, FERRY_SPEC_MAX_SIZE, &buf, &len, err) < 0)
		return -1;
	return ferry_spec_parse(buf, len, path, out, err);
}

void
ferry_spec_free(ferry_spec_t *spec)
{
	if (spec == NULL)
		return;
	free(spec->oci_version);
	free(spec->root_path);
	for (size_t i = 0; i < spec->n_mounts; i++)
		mount_free(&spec->mounts[i]);
	free(spec->mounts);
	ferry_process_free(spec->process);
	free(spec->hostname);
	free(spec->domainname);
	for (int k = 0; k < FERRY_HOOK__COUNT; k++) {
		for (size_t i = 0; i < spec->n_hooks[k]; i++) {
			free(spec->hooks[k][i].path);
			ferry_strv_free(spec->hooks[k][i].args);
			ferry_strv_free(spec->hooks[k][i].env);
		}
		free(spec->hooks[k]);
	}
	spec_kv_free(spec->annotations, spec->n_annotations);
	spec_linux_free(&spec->linux_);
	free(spec->raw);
	free(spec);
}

void
ferry_spec_freep(ferry_spec_t **spec)
{
	ferry_spec_free(*spec);
	*spec = NULL;
}

const struct ferry_namespace *
ferry_spec_get_ns(const ferry_spec_t *spec, int type)
{
	for (size_t i = 0; spec && i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == type)
			return &spec->linux_.namespaces[i];
	return NULL;
}

bool
ferry_spec_has_ns(const ferry_spec_t *spec, int type)
{
	return ferry_spec_get_ns(spec, type) != NULL;
}
