/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oci-runtime-tool generate's flags, applied to a config.json tree.
 *
 * The semantics follow runtime-tools: its current library for the default
 * spec and capability/namespace/env/rlimit/mount edits, its 2016-2017 CLI
 * for the flags the seed article uses and that the current CLI no longer has
 * (--network and the other namespace shortcuts, --tmpfs, --bind, --read-only,
 * --cap-add/--cap-drop, --uid/--gid/--cwd). Where we are stricter or differ
 * on purpose, the comment at the handler says so; tests/conformance/ diffs
 * the result against the Go library for the article's flags and others.
 *
 * Flags take effect in a fixed order (apply_order[] below, runtime-tools'
 * own order), each key's occurrences in command-line order: so
 * "--cap-drop ALL --cap-add NET_ADMIN" means the same in either order.
 *
 * A --template is changed only where a flag says so: the command always
 * rewrote root.path and process.cwd to its defaults ("rootfs", "/"), which
 * made a template's own values impossible to keep.
 */
#include "generate.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

#define GENERATE_TEMPLATE_MAX (16u << 20)

/* The order in which flags take effect: runtime-tools' setupSpec() order. */
static const enum ferry_generate_key apply_order[] = {
	FERRY_GEN_HOSTNAME,
	FERRY_GEN_LABEL,
	FERRY_GEN_ROOTFS_PATH,
	FERRY_GEN_ROOTFS_READONLY,
	FERRY_GEN_UID,
	FERRY_GEN_USERNAME,
	FERRY_GEN_GID,
	FERRY_GEN_SELINUX_LABEL,
	FERRY_GEN_CWD,
	FERRY_GEN_APPARMOR,
	FERRY_GEN_NO_NEW_PRIVILEGES,
	FERRY_GEN_TERMINAL,
	FERRY_GEN_ARGS,
	FERRY_GEN_ENV,
	FERRY_GEN_GROUPS,
	FERRY_GEN_CGROUPS_PATH,
	FERRY_GEN_MASKED_PATHS,
	FERRY_GEN_READONLY_PATHS,
	FERRY_GEN_MOUNT_LABEL,
	FERRY_GEN_SYSCTL,
	FERRY_GEN_PRIVILEGED,
	/* drop-all first (the current CLI's order), so that "drop ALL, add X"
	 * leaves X; a plain --cap-drop comes after the adds (the 2016 order) */
	FERRY_GEN_CAP_DROP_ALL,
	FERRY_GEN_CAP_ADD,
	FERRY_GEN_CAP_DROP,
	FERRY_GEN_UIDMAPPINGS,
	FERRY_GEN_GIDMAPPINGS,
	FERRY_GEN_NS_NETWORK,
	FERRY_GEN_NS_PID,
	FERRY_GEN_NS_MOUNT,
	FERRY_GEN_NS_IPC,
	FERRY_GEN_NS_UTS,
	FERRY_GEN_NS_USER,
	FERRY_GEN_NS_CGROUP,
	FERRY_GEN_TMPFS,
	FERRY_GEN_MOUNT_CGROUPS,
	FERRY_GEN_BIND,
	FERRY_GEN_MOUNTS_REMOVE_ALL,
	FERRY_GEN_MOUNTS_REMOVE,
	FERRY_GEN_MOUNTS_ADD,
	FERRY_GEN_HOOKS_POSTSTART_REMOVE_ALL,
	FERRY_GEN_HOOKS_POSTSTART_ADD,
	FERRY_GEN_HOOKS_POSTSTOP_REMOVE_ALL,
	FERRY_GEN_HOOKS_POSTSTOP_ADD,
	FERRY_GEN_HOOKS_PRESTART_REMOVE_ALL,
	FERRY_GEN_HOOKS_PRESTART_ADD,
	FERRY_GEN_ROOTFS_PROPAGATION,
	FERRY_GEN_OOM_SCORE_ADJ,
	FERRY_GEN_CPU_SHARES,
	FERRY_GEN_CPU_PERIOD,
	FERRY_GEN_CPU_QUOTA,
	FERRY_GEN_PIDS_LIMIT,
	FERRY_GEN_CPUS,
	FERRY_GEN_MEMS,
	FERRY_GEN_MEM_LIMIT,
	FERRY_GEN_MEM_RESERVATION,
	FERRY_GEN_MEM_SWAP,
	FERRY_GEN_NAMESPACE_REMOVE_ALL,
	FERRY_GEN_NAMESPACE_ADD,
	FERRY_GEN_NAMESPACE_REMOVE,
	FERRY_GEN_RLIMITS_REMOVE_ALL,
	FERRY_GEN_RLIMITS_ADD,
	FERRY_GEN_RLIMITS_REMOVE,
};

/* Every capability runtime-tools knows (gocapability's list, kernel order):
 * what --cap-add accepts and what --privileged and "--cap-add ALL" grant. */
static const char *const known_caps[] = {
	"CAP_CHOWN",	       "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",	  "CAP_FSETID",
	"CAP_KILL",	       "CAP_SETGID",	     "CAP_SETUID",	    "CAP_SETPCAP",	  "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",	    "CAP_NET_RAW",	  "CAP_IPC_LOCK",
	"CAP_IPC_OWNER",       "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",	    "CAP_SYS_CHROOT",	  "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",       "CAP_SYS_ADMIN",	     "CAP_SYS_BOOT",	    "CAP_SYS_NICE",	  "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",	       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",	    "CAP_LEASE",	  "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",   "CAP_SETFCAP",	     "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",	  "CAP_SYSLOG",
	"CAP_WAKE_ALARM",      "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",	    "CAP_PERFMON",	  "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static const char *const cap_sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };

/* generate.Namespaces, and the schema's NamespaceType (no "time" in 1.0.2). */
static const char *const namespaces[] = { "network", "pid", "mount", "ipc", "uts", "user", "cgroup" };

static const char *const rlimits[] = {
	"RLIMIT_AS",	  "RLIMIT_CORE",   "RLIMIT_CPU",    "RLIMIT_DATA",	 "RLIMIT_FSIZE",  "RLIMIT_LOCKS",
	"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
	"RLIMIT_RTPRIO",  "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
};

/* runtime-tools' parseTmpfsMount default. */
static const char *const tmpfs_default_options[] = { "rw", "noexec", "nosuid", "nodev", "size=65536k" };

struct gen {
	json_t *spec;
	bool args_seen;
};

/* ---- JSON helpers ------------------------------------------------------- */

/* parent[key] as an object, created when missing or null. A template whose
 * member has another type is an error naming it. */
static json_t *
child_obj(json_t *parent, const char *key, const char *path, ferry_error_t *err)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL || json_is_null(v)) {
		v = json_object();
		json_object_set_new(parent, key, v);
	} else if (!json_is_object(v)) {
		ferry_error_set(err, 0, "template: %s is not an object", path);
		return NULL;
	}
	return v;
}

static json_t *
child_arr(json_t *parent, const char *key, const char *path, ferry_error_t *err)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL || json_is_null(v)) {
		v = json_array();
		json_object_set_new(parent, key, v);
	} else if (!json_is_array(v)) {
		ferry_error_set(err, 0, "template: %s is not an array", path);
		return NULL;
	}
	return v;
}

static json_t *
process_obj(struct gen *g, ferry_error_t *err)
{
	return child_obj(g->spec, "process", ".process", err);
}

static json_t *
linux_obj(struct gen *g, ferry_error_t *err)
{
	return child_obj(g->spec, "linux", ".linux", err);
}

static json_t *
resources_obj(struct gen *g, const char *sub, ferry_error_t *err)
{
	json_t *l = linux_obj(g, err), *r;

	if (l == NULL || (r = child_obj(l, "resources", ".linux.resources", err)) == NULL)
		return NULL;
	if (sub == NULL)
		return r;
	{
		_cleanup_free_ char *path = xasprintf(".linux.resources.%s", sub);

		return child_obj(r, sub, path, err);
	}
}

/* Go's omitempty: a false boolean is left out rather than written. */
static void
set_bool(json_t *obj, const char *key, bool v)
{
	if (v)
		json_object_set_new(obj, key, json_true());
	else
		json_object_del(obj, key);
}

static void
set_str_or_del(json_t *obj, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(obj, key, json_string(v));
	else
		json_object_del(obj, key);
}

static bool
str_eq_json(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Removes element i by moving the last one into its place: runtime-tools'
 * removeFunc for capability sets, so drops leave the same order it does. */
static void
array_remove_swap_last(json_t *a, size_t i)
{
	size_t last = json_array_size(a) - 1;

	if (i != last)
		json_array_set(a, i, json_array_get(a, last));
	json_array_remove(a, last);
}

/* ---- value parsers ------------------------------------------------------ */

static int
parse_bool(const struct ferry_generate_item *it, bool *out, ferry_error_t *err)
{
	if (it->value == NULL || strcmp(it->value, "true") == 0 || strcmp(it->value, "1") == 0)
		*out = true;
	else if (strcmp(it->value, "false") == 0 || strcmp(it->value, "0") == 0)
		*out = false;
	else
		return ferry_error_set(err, 0, "--%s: \"%s\" is not a boolean (expected true or false)", it->name,
				       it->value);
	return 0;
}

static int
parse_u32(const struct ferry_generate_item *it, const char *s, const char *what, uint32_t *out, ferry_error_t *err)
{
	uint64_t v;

	if (ferry_parse_u64(s, &v) < 0 || v > UINT32_MAX)
		return ferry_error_set(err, 0, "--%s: \"%s\" is not a valid %s (expected 0..4294967295)",
				       it->name, s, what);
	*out = (uint32_t) v;
	return 0;
}

/* Numbers are stored as JSON integers (int64): a larger unsigned value
 * could not be read back by ferry's own parser either. */
static int
parse_u63(const struct ferry_generate_item *it, const char *s, const char *what, json_int_t *out,
	  ferry_error_t *err)
{
	uint64_t v;

	if (ferry_parse_u64(s, &v) < 0 || v > INT64_MAX)
		return ferry_error_set(err, 0, "--%s: \"%s\" is not a valid %s (expected 0..%lld)", it->name, s,
				       what, (long long) INT64_MAX);
	*out = (json_int_t) v;
	return 0;
}

static int
parse_i64(const struct ferry_generate_item *it, const char *what, json_int_t *out, ferry_error_t *err)
{
	int64_t v;

	if (ferry_parse_i64(it->value, &v) < 0)
		return ferry_error_set(err, 0, "--%s: \"%s\" is not a valid %s (expected an integer)", it->name,
				       it->value, what);
	*out = (json_int_t) v;
	return 0;
}

/* "KEY=VALUE" with a non-empty KEY; value is everything after the first '='. */
static int
split_kv(const struct ferry_generate_item *it, char **key, const char **value, ferry_error_t *err)
{
	const char *eq = strchr(it->value, '=');

	if (eq == NULL || eq == it->value)
		return ferry_error_set(err, 0, "--%s \"%s\": expected KEY=VALUE", it->name, it->value);
	*key = strndup(it->value, eq - it->value);
	if (*key == NULL)
		return ferry_error_sys(err, "--%s", it->name);
	*value = eq + 1;
	return 0;
}

/* Splits s at every sep into a NULL-terminated vector (empty fields kept). */
static char **
split_all(const char *s, char sep)
{
	char **v = NULL;
	const char *p = s;

	for (;;) {
		const char *q = strchr(p, sep);
		_cleanup_free_ char *field = q ? strndup(p, q - p) : xstrdup(p);

		if (field == NULL)
			abort();
		ferry_strv_append(&v, field);
		if (q == NULL)
			return v;
		p = q + 1;
	}
}

/* "cap_net_admin", "NET_ADMIN", "CAP_NET_ADMIN" all give CAP_NET_ADMIN. */
static const char *
cap_lookup(const char *in)
{
	char buf[64];
	size_t n = 0;

	if (strncasecmp(in, "CAP_", 4) != 0)
		n = (size_t) snprintf(buf, sizeof(buf), "CAP_");
	for (const char *p = in; *p && n < sizeof(buf) - 1; p++)
		buf[n++] = (char) toupper((unsigned char) *p);
	buf[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(known_caps); i++)
		if (strcmp(buf, known_caps[i]) == 0)
			return known_caps[i];
	return NULL;
}

static bool
is_namespace(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		if (strcmp(s, namespaces[i]) == 0)
			return true;
	return false;
}

/* ---- handlers ----------------------------------------------------------- */

static int
caps_obj(struct gen *g, json_t **out, ferry_error_t *err)
{
	json_t *p = process_obj(g, err);

	if (p == NULL || (*out = child_obj(p, "capabilities", ".process.capabilities", err)) == NULL)
		return -1;
	return 0;
}

/* Empties all five sets, as runtime-tools' ClearProcessCapabilities (which
 * leaves "capabilities": {} once Go omits the empty lists). */
static int
caps_clear(struct gen *g, ferry_error_t *err)
{
	json_t *caps;

	if (caps_obj(g, &caps, err) < 0)
		return -1;
	for (size_t s = 0; s < ARRAY_SIZE(cap_sets); s++)
		json_object_del(caps, cap_sets[s]);
	return 0;
}

/* AddProcessCapability: append to each set that lacks it. */
static int
caps_add(struct gen *g, const char *cap, ferry_error_t *err)
{
	json_t *caps;

	if (caps_obj(g, &caps, err) < 0)
		return -1;
	for (size_t s = 0; s < ARRAY_SIZE(cap_sets); s++) {
		_cleanup_free_ char *path = xasprintf(".process.capabilities.%s", cap_sets[s]);
		json_t *set = child_arr(caps, cap_sets[s], path, err), *v;
		size_t i;
		bool found = false;

		if (set == NULL)
			return -1;
		json_array_foreach (set, i, v)
			if (json_is_string(v) && strcasecmp(json_string_value(v), cap) == 0)
				found = true;
		if (!found)
			json_array_append_new(set, json_string(cap));
	}
	return 0;
}

static int
caps_drop(struct gen *g, const char *cap, ferry_error_t *err)
{
	json_t *caps = json_object_get(json_object_get(g->spec, "process"), "capabilities");

	(void) err;
	if (!json_is_object(caps))
		return 0;
	for (size_t s = 0; s < ARRAY_SIZE(cap_sets); s++) {
		json_t *set = json_object_get(caps, cap_sets[s]);

		if (!json_is_array(set))
			continue;
		for (size_t i = 0; i < json_array_size(set);) {
			json_t *v = json_array_get(set, i);

			if (json_is_string(v) && strcasecmp(json_string_value(v), cap) == 0)
				array_remove_swap_last(set, i);
			else
				i++;
		}
	}
	return 0;
}

static int
h_caps(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *cap;

	if (strcasecmp(it->value, "ALL") == 0) {
		if (it->key == FERRY_GEN_CAP_DROP) /* applied in the drop-all phase */
			return caps_clear(g, err);
		for (size_t i = 0; i < ARRAY_SIZE(known_caps); i++)
			if (caps_add(g, known_caps[i], err) < 0)
				return -1;
		return 0;
	}
	cap = cap_lookup(it->value);
	if (cap == NULL)
		return ferry_error_set(err, 0, "--%s: unknown capability \"%s\"", it->name, it->value);
	return it->key == FERRY_GEN_CAP_ADD ? caps_add(g, cap, err) : caps_drop(g, cap, err);
}

/* SetupPrivileged(true): every capability, no LSM labels, no seccomp. */
static int
h_privileged(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *p, *l;
	bool on;

	if (parse_bool(it, &on, err) < 0)
		return -1;
	if (!on)
		return 0;
	if (caps_clear(g, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(known_caps); i++)
		if (caps_add(g, known_caps[i], err) < 0)
			return -1;
	if ((p = process_obj(g, err)) == NULL || (l = linux_obj(g, err)) == NULL)
		return -1;
	json_object_del(p, "selinuxLabel");
	json_object_del(p, "apparmorProfile");
	json_object_del(l, "seccomp");
	return 0;
}

/* AddOrReplaceLinuxNamespace: same position if present, else appended. */
static int
ns_add(struct gen *g, const char *ns, const char *path, ferry_error_t *err)
{
	json_t *l = linux_obj(g, err), *list, *v, *entry;
	size_t i;

	if (l == NULL || (list = child_arr(l, "namespaces", ".linux.namespaces", err)) == NULL)
		return -1;
	entry = json_pack("{s:s}", "type", ns);
	if (path && *path)
		json_object_set_new(entry, "path", json_string(path));
	json_array_foreach (list, i, v) {
		if (str_eq_json(json_object_get(v, "type"), ns)) {
			json_array_set_new(list, i, entry);
			return 0;
		}
	}
	json_array_append_new(list, entry);
	return 0;
}

/* RemoveLinuxNamespace: the first entry of that type, order kept. */
static void
ns_remove(struct gen *g, const char *ns)
{
	json_t *list = json_object_get(json_object_get(g->spec, "linux"), "namespaces"), *v;
	size_t i;

	json_array_foreach (list, i, v) {
		if (str_eq_json(json_object_get(v, "type"), ns)) {
			json_array_remove(list, i);
			return;
		}
	}
}

/* --network host|""|/path and its siblings (the 2016 CLI): "host" uses the
 * host's namespace, "" creates one, a path joins it. runtime-tools took any
 * other string as a path; a relative one is a typo here. */
static int
h_ns_shortcut(struct gen *g, const struct ferry_generate_item *it, const char *ns, ferry_error_t *err)
{
	if (strcmp(it->value, "host") == 0) {
		ns_remove(g, ns);
		return 0;
	}
	if (it->value[0] != '\0' && it->value[0] != '/')
		return ferry_error_set(err, 0,
				       "--%s: \"%s\" is not a namespace path (expected host, an empty string or an "
				       "absolute path)",
				       it->name, it->value);
	return ns_add(g, ns, it->value, err);
}

static int
h_namespace_add(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *colon = strchr(it->value, ':');
	_cleanup_free_ char *ns = colon ? strndup(it->value, colon - it->value) : xstrdup(it->value);
	const char *path = colon ? colon + 1 : "";

	if (ns == NULL)
		return ferry_error_sys(err, "--%s", it->name);
	if (!is_namespace(ns))
		return ferry_error_set(err, 0,
				       "--%s: unknown namespace \"%s\" (expected network, pid, mount, ipc, uts, user "
				       "or cgroup, optionally followed by :PATH)",
				       it->name, ns);
	if (colon && path[0] != '/')
		return ferry_error_set(err, 0, "--%s \"%s\": the namespace path must be absolute", it->name,
				       it->value);
	return ns_add(g, ns, path, err);
}

static int
h_namespace_remove(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	if (!is_namespace(it->value))
		return ferry_error_set(err, 0,
				       "--%s: unknown namespace \"%s\" (expected network, pid, mount, ipc, uts, user "
				       "or cgroup)",
				       it->name, it->value);
	ns_remove(g, it->value);
	return 0;
}

static int
append_mount(struct gen *g, json_t *mnt, ferry_error_t *err)
{
	json_t *mounts = child_arr(g->spec, "mounts", ".mounts", err);

	if (mounts == NULL) {
		json_decref(mnt);
		return -1;
	}
	json_array_append_new(mounts, mnt);
	return 0;
}

/* --tmpfs PATH[:OPTIONS], options comma-separated (parseTmpfsMount). */
static int
h_tmpfs(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *colon = strchr(it->value, ':');
	_cleanup_free_ char *dest = colon ? strndup(it->value, colon - it->value) : xstrdup(it->value);
	json_t *opts = json_array();

	if (dest == NULL)
		abort();
	if (dest[0] == '\0' || (colon && strchr(colon + 1, ':'))) {
		json_decref(opts);
		return ferry_error_set(err, 0, "--%s \"%s\": expected PATH[:OPTIONS]", it->name, it->value);
	}
	if (dest[0] != '/') {
		json_decref(opts);
		return ferry_error_set(err, 0, "--%s \"%s\": the mount point must be an absolute path", it->name,
				       it->value);
	}
	if (colon) {
		_cleanup_strv_ char **v = split_all(colon + 1, ',');

		/* "/tmp:" or "a,,b": no empty option strings (runtime-tools kept
		 * them; no runtime means anything by ""). */
		for (char **p = v; *p; p++)
			if (**p)
				json_array_append_new(opts, json_string(*p));
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(tmpfs_default_options); i++)
			json_array_append_new(opts, json_string(tmpfs_default_options[i]));
	}
	return append_mount(g,
			    json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", "tmpfs", "source", "tmpfs",
				      "options", opts),
			    err);
}

/*
 * --bind SRC:DST[:OPTIONS], options colon-separated (the 2017 CLI's
 * parseBindMount + AddBindMount): default "rw", and "bind" appended unless
 * "bind" or "rbind" is there, so it is a bind mount whatever the options. A
 * comma inside an option field splits too (the 2016 CLI took OPTIONS
 * comma-separated), so both spellings of "ro,rbind" work.
 */
static int
h_bind(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *c1 = strchr(it->value, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	_cleanup_free_ char *src = NULL, *dst = NULL;
	json_t *opts;
	bool has_bind = false;

	if (c1 == NULL || c1 == it->value || (c2 ? c2 == c1 + 1 : c1[1] == '\0'))
		return ferry_error_set(err, 0, "--%s \"%s\": expected SRC:DST[:OPTIONS]", it->name, it->value);
	src = strndup(it->value, c1 - it->value);
	dst = c2 ? strndup(c1 + 1, c2 - c1 - 1) : xstrdup(c1 + 1);
	if (src == NULL || dst == NULL)
		abort();
	if (dst[0] != '/')
		return ferry_error_set(err, 0, "--%s \"%s\": the mount point must be an absolute path", it->name,
				       it->value);
	opts = json_array();
	if (c2 && c2[1] != '\0') {
		_cleanup_strv_ char **fields = split_all(c2 + 1, ':');

		for (char **f = fields; *f; f++) {
			_cleanup_strv_ char **words = split_all(*f, ',');

			for (char **w = words; *w; w++) {
				if (**w == '\0')
					continue;
				if (strcmp(*w, "bind") == 0 || strcmp(*w, "rbind") == 0)
					has_bind = true;
				json_array_append_new(opts, json_string(*w));
			}
		}
	}
	if (json_array_size(opts) == 0)
		json_array_append_new(opts, json_string("rw"));
	if (!has_bind)
		json_array_append_new(opts, json_string("bind"));
	return append_mount(g,
			    json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "bind", "source", src,
				      "options", opts),
			    err);
}

/* --mount-cgroups rw|ro|no (AddCgroupsMount). */
static int
h_mount_cgroups(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	if (strcmp(it->value, "no") == 0)
		return 0;
	if (strcmp(it->value, "rw") != 0 && strcmp(it->value, "ro") != 0)
		return ferry_error_set(err, 0, "--%s: \"%s\" is not one of rw, ro, no", it->name, it->value);
	return append_mount(g,
			    json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination", "/sys/fs/cgroup", "type",
				      "cgroup", "source", "cgroup", "options", "nosuid", "noexec", "nodev", "relatime",
				      it->value),
			    err);
}

/* Parses a JSON object flag value and checks its members' types against the
 * spec (Go's json.Unmarshal into rspec.Mount / rspec.Hook would reject a
 * wrong type too; we also reject unknown members, which Go silently drops
 * and which are nearly always typos). */
struct member {
	const char *name;
	enum { M_STRING, M_STRINGS, M_INT, M_IDMAPS } type;
	bool required;
};

static json_t *
parse_object_flag(const struct ferry_generate_item *it, const struct member *members, size_t nmembers,
		  const char *what, ferry_error_t *err)
{
	json_error_t jerr;
	json_t *o = json_loads(it->value, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *key;

	if (o == NULL) {
		ferry_error_set(err, 0, "--%s: invalid JSON: %s (column %d)", it->name, jerr.text, jerr.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		ferry_error_set(err, 0, "--%s: expected a JSON object (an OCI %s)", it->name, what);
		goto fail;
	}
	json_object_foreach (o, key, v) {
		const struct member *m = NULL;
		bool ok = true;

		for (size_t i = 0; i < nmembers; i++)
			if (strcmp(members[i].name, key) == 0)
				m = &members[i];
		if (m == NULL) {
			ferry_error_set(err, 0, "--%s: unknown member \"%s\" of an OCI %s", it->name, key, what);
			goto fail;
		}
		switch (m->type) {
		case M_STRING:
			ok = json_is_string(v);
			break;
		case M_INT:
			ok = json_is_integer(v);
			break;
		case M_STRINGS:
		case M_IDMAPS: {
			size_t i;
			json_t *e;

			ok = json_is_array(v);
			json_array_foreach (v, i, e)
				ok = ok && (m->type == M_STRINGS ? json_is_string(e) : json_is_object(e));
			break;
		}
		}
		if (!ok) {
			ferry_error_set(err, 0, "--%s: \"%s\" must be %s", it->name, key,
					m->type == M_STRING ? "a string"
					: m->type == M_INT  ? "an integer"
					: m->type == M_STRINGS ? "an array of strings"
							       : "an array of id mappings");
			goto fail;
		}
	}
	for (size_t i = 0; i < nmembers; i++) {
		if (members[i].required && json_object_get(o, members[i].name) == NULL) {
			ferry_error_set(err, 0, "--%s: an OCI %s needs \"%s\"", it->name, what, members[i].name);
			goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int
h_mounts_add(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	static const struct member members[] = {
		{ "destination", M_STRING, true }, { "type", M_STRING, false },	     { "source", M_STRING, false },
		{ "options", M_STRINGS, false },   { "uidMappings", M_IDMAPS, false }, { "gidMappings", M_IDMAPS, false },
	};
	json_t *m = parse_object_flag(it, members, ARRAY_SIZE(members), "mount", err);

	if (m == NULL)
		return -1;
	if (json_string_value(json_object_get(m, "destination"))[0] != '/') {
		json_decref(m);
		return ferry_error_set(err, 0, "--%s: \"destination\" must be an absolute path", it->name);
	}
	return append_mount(g, m, err);
}

/* RemoveMount: the first mount at that destination. */
static int
h_mounts_remove(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *mounts = json_object_get(g->spec, "mounts"), *v;
	size_t i;

	(void) err;
	json_array_foreach (mounts, i, v) {
		if (str_eq_json(json_object_get(v, "destination"), it->value)) {
			json_array_remove(mounts, i);
			return 0;
		}
	}
	return 0;
}

static const char *
hook_kind(enum ferry_generate_key key)
{
	switch (key) {
	case FERRY_GEN_HOOKS_PRESTART_ADD:
	case FERRY_GEN_HOOKS_PRESTART_REMOVE_ALL:
		return "prestart";
	case FERRY_GEN_HOOKS_POSTSTART_ADD:
	case FERRY_GEN_HOOKS_POSTSTART_REMOVE_ALL:
		return "poststart";
	default:
		return "poststop";
	}
}

static int
h_hooks_add(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	static const struct member members[] = {
		{ "path", M_STRING, true },
		{ "args", M_STRINGS, false },
		{ "env", M_STRINGS, false },
		{ "timeout", M_INT, false },
	};
	const char *kind = hook_kind(it->key);
	_cleanup_free_ char *path = xasprintf(".hooks.%s", kind);
	json_t *h = parse_object_flag(it, members, ARRAY_SIZE(members), "hook", err), *hooks, *list;

	if (h == NULL)
		return -1;
	if (json_string_value(json_object_get(h, "path"))[0] != '/') {
		json_decref(h);
		return ferry_error_set(err, 0, "--%s: \"path\" must be an absolute path", it->name);
	}
	if ((hooks = child_obj(g->spec, "hooks", ".hooks", err)) == NULL ||
	    (list = child_arr(hooks, kind, path, err)) == NULL) {
		json_decref(h);
		return -1;
	}
	json_array_append_new(list, h);
	return 0;
}

static int
h_env(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	_cleanup_free_ char *key = NULL;
	_cleanup_free_ char *entry = NULL;
	const char *value;
	json_t *p, *env, *v;
	size_t i, klen;

	if (split_kv(it, &key, &value, err) < 0 || (p = process_obj(g, err)) == NULL ||
	    (env = child_arr(p, "env", ".process.env", err)) == NULL)
		return -1;
	klen = strlen(key);
	entry = xasprintf("%s=%s", key, value);
	/* Replace a variable of the same name. runtime-tools' env cache is
	 * keyed by whole "K=V" strings for the entries it starts with, so it
	 * appends a second PATH=... instead; the first one would then win. */
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);

		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			json_array_set_new(env, i, json_string(entry));
			return 0;
		}
	}
	json_array_append_new(env, json_string(entry));
	return 0;
}

static int
h_args(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *p = process_obj(g, err), *args;

	if (p == NULL)
		return -1;
	if (!g->args_seen) {
		json_object_set_new(p, "args", json_array());
		g->args_seen = true;
	}
	if ((args = child_arr(p, "args", ".process.args", err)) == NULL)
		return -1;
	json_array_append_new(args, json_string(it->value));
	return 0;
}

static int
h_id(struct gen *g, const struct ferry_generate_item *it, const char *field, ferry_error_t *err)
{
	json_t *p, *user;
	uint32_t id = 0;

	if (parse_u32(it, it->value, field, &id, err) < 0)
		return -1;
	if ((p = process_obj(g, err)) == NULL || (user = child_obj(p, "user", ".process.user", err)) == NULL)
		return -1;
	json_object_set_new(user, field, json_integer(id));
	return 0;
}

static int
h_groups(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *p, *user, *gids, *v;
	uint32_t gid = 0;
	size_t i;

	if (parse_u32(it, it->value, "gid", &gid, err) < 0)
		return -1;
	if ((p = process_obj(g, err)) == NULL || (user = child_obj(p, "user", ".process.user", err)) == NULL ||
	    (gids = child_arr(user, "additionalGids", ".process.user.additionalGids", err)) == NULL)
		return -1;
	json_array_foreach (gids, i, v)
		if (json_is_integer(v) && json_integer_value(v) == gid)
			return 0;
	json_array_append_new(gids, json_integer(gid));
	return 0;
}

static int
h_cwd(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *p;

	/* The spec requires an absolute cwd; runtime-tools did not check. */
	if (it->value[0] != '/')
		return ferry_error_set(err, 0, "--%s: \"%s\" is not an absolute path", it->name, it->value);
	if ((p = process_obj(g, err)) == NULL)
		return -1;
	json_object_set_new(p, "cwd", json_string(it->value));
	return 0;
}

static int
h_idmapping(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *field = it->key == FERRY_GEN_UIDMAPPINGS ? "uidMappings" : "gidMappings";
	_cleanup_strv_ char **parts = split_all(it->value, ':');
	_cleanup_free_ char *path = xasprintf(".linux.%s", field);
	uint32_t host = 0, cont = 0, size = 0;
	json_t *l, *list;

	if (ferry_strv_len(parts) != 3)
		return ferry_error_set(err, 0, "--%s \"%s\": expected HOSTID:CONTAINERID:SIZE", it->name,
				       it->value);
	if (parse_u32(it, parts[0], "host id", &host, err) < 0 ||
	    parse_u32(it, parts[1], "container id", &cont, err) < 0 || parse_u32(it, parts[2], "size", &size, err) < 0)
		return -1;
	/* A mapping means a new user namespace (runtime-tools adds it too). */
	if (ns_add(g, "user", "", err) < 0 || (l = linux_obj(g, err)) == NULL ||
	    (list = child_arr(l, field, path, err)) == NULL)
		return -1;
	json_array_append_new(list, json_pack("{s:I, s:I, s:I}", "containerID", (json_int_t) cont, "hostID",
					      (json_int_t) host, "size", (json_int_t) size));
	return 0;
}

static int
h_sysctl(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	_cleanup_free_ char *key = NULL;
	const char *value;
	json_t *l, *s;

	if (split_kv(it, &key, &value, err) < 0 || (l = linux_obj(g, err)) == NULL ||
	    (s = child_obj(l, "sysctl", ".linux.sysctl", err)) == NULL)
		return -1;
	json_object_set_new(s, key, json_string(value));
	return 0;
}

static int
h_label(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	_cleanup_free_ char *key = NULL;
	const char *value;
	json_t *a;

	if (split_kv(it, &key, &value, err) < 0 ||
	    (a = child_obj(g->spec, "annotations", ".annotations", err)) == NULL)
		return -1;
	json_object_set_new(a, key, json_string(value));
	return 0;
}

static int
h_linux_path_list(struct gen *g, const struct ferry_generate_item *it, const char *field, ferry_error_t *err)
{
	_cleanup_free_ char *path = xasprintf(".linux.%s", field);
	json_t *l, *list;

	if (it->value[0] != '/')
		return ferry_error_set(err, 0, "--%s: \"%s\" is not an absolute path", it->name, it->value);
	if ((l = linux_obj(g, err)) == NULL || (list = child_arr(l, field, path, err)) == NULL)
		return -1;
	json_array_append_new(list, json_string(it->value));
	return 0;
}

/*
 * runtime-tools also takes rprivate, rslave, rshared and runbindable, but the
 * OCI schema allows only these four, and every config we write must validate
 * against it; runc reads the four as the non-recursive modes, so mapping
 * "rslave" to "slave" would change the meaning. So the r-forms are refused.
 */
static int
h_propagation(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	static const char *const modes[] = { "private", "slave", "shared", "unbindable" };
	json_t *l;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (strcmp(it->value, modes[i]) == 0) {
			if ((l = linux_obj(g, err)) == NULL)
				return -1;
			json_object_set_new(l, "rootfsPropagation", json_string(it->value));
			return 0;
		}
	}
	return ferry_error_set(err, 0,
			       "--%s: \"%s\" is not a propagation mode of the OCI spec (expected private, slave, "
			       "shared or unbindable)",
			       it->name, it->value);
}

/* RLIMIT_NOFILE or NOFILE, any case. */
static const char *
rlimit_lookup(const char *in)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
		if (strcasecmp(in, rlimits[i]) == 0 || strcasecmp(in, rlimits[i] + strlen("RLIMIT_")) == 0)
			return rlimits[i];
	return NULL;
}

static int
h_rlimit(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	_cleanup_strv_ char **parts = NULL;
	const char *type;
	json_int_t hard = 0, soft = 0;
	json_t *p = json_object_get(g->spec, "process"), *list, *v;
	size_t i;

	if (it->key == FERRY_GEN_RLIMITS_ADD) {
		parts = split_all(it->value, ':');
		if (ferry_strv_len(parts) != 3)
			return ferry_error_set(err, 0, "--%s \"%s\": expected TYPE:HARD:SOFT", it->name,
					       it->value);
	}
	type = rlimit_lookup(parts ? parts[0] : it->value);
	if (type == NULL)
		return ferry_error_set(err, 0, "--%s: unknown resource limit \"%s\"", it->name,
				       parts ? parts[0] : it->value);
	if (it->key == FERRY_GEN_RLIMITS_REMOVE) {
		list = json_object_get(p, "rlimits");
		json_array_foreach (list, i, v) {
			if (str_eq_json(json_object_get(v, "type"), type)) {
				json_array_remove(list, i);
				break;
			}
		}
		return 0;
	}
	if (parse_u63(it, parts[1], "hard limit", &hard, err) < 0 ||
	    parse_u63(it, parts[2], "soft limit", &soft, err) < 0)
		return -1;
	if (soft > hard)
		return ferry_error_set(err, 0, "--%s \"%s\": the soft limit is above the hard limit", it->name,
				       it->value);
	if ((p = process_obj(g, err)) == NULL || (list = child_arr(p, "rlimits", ".process.rlimits", err)) == NULL)
		return -1;
	/* AddProcessRlimits: replace in place, or append. */
	json_array_foreach (list, i, v) {
		if (str_eq_json(json_object_get(v, "type"), type)) {
			json_object_set_new(v, "hard", json_integer(hard));
			json_object_set_new(v, "soft", json_integer(soft));
			return 0;
		}
	}
	json_array_append_new(list, json_pack("{s:s, s:I, s:I}", "type", type, "hard", hard, "soft", soft));
	return 0;
}

static int
h_resource(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	const char *sub, *field, *what;
	bool is_unsigned = true, is_string = false;
	json_int_t n = 0;
	json_t *obj;

	switch (it->key) {
	case FERRY_GEN_CPU_SHARES:
		sub = "cpu", field = "shares", what = "share count";
		break;
	case FERRY_GEN_CPU_QUOTA:
		sub = "cpu", field = "quota", what = "quota", is_unsigned = false;
		break;
	case FERRY_GEN_CPU_PERIOD:
		sub = "cpu", field = "period", what = "period";
		break;
	case FERRY_GEN_CPUS:
		sub = "cpu", field = "cpus", what = NULL, is_string = true;
		break;
	case FERRY_GEN_MEMS:
		sub = "cpu", field = "mems", what = NULL, is_string = true;
		break;
	case FERRY_GEN_MEM_LIMIT:
		sub = "memory", field = "limit", what = "byte count", is_unsigned = false;
		break;
	case FERRY_GEN_MEM_RESERVATION:
		sub = "memory", field = "reservation", what = "byte count", is_unsigned = false;
		break;
	case FERRY_GEN_MEM_SWAP:
		sub = "memory", field = "swap", what = "byte count", is_unsigned = false;
		break;
	default: /* FERRY_GEN_PIDS_LIMIT */
		sub = "pids", field = "limit", what = "process count", is_unsigned = false;
		break;
	}
	if (!is_string && (is_unsigned ? parse_u63(it, it->value, what, &n, err) : parse_i64(it, what, &n, err)) < 0)
		return -1;
	if ((obj = resources_obj(g, sub, err)) == NULL)
		return -1;
	json_object_set_new(obj, field, is_string ? json_string(it->value) : json_integer(n));
	return 0;
}

static int
h_oom_score_adj(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_int_t n = 0;
	json_t *p;

	if (parse_i64(it, "score", &n, err) < 0)
		return -1;
	if (n < -1000 || n > 1000)
		return ferry_error_set(err, 0, "--%s: %lld is out of range (expected -1000..1000)", it->name,
				       (long long) n);
	if ((p = process_obj(g, err)) == NULL)
		return -1;
	json_object_set_new(p, "oomScoreAdj", json_integer(n));
	return 0;
}

/* Sets process.<field> (or linux.<field>) to a string; "" removes it. */
static int
h_string(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *obj;
	const char *field;

	switch (it->key) {
	case FERRY_GEN_HOSTNAME:
		json_object_set_new(g->spec, "hostname", json_string(it->value));
		return 0;
	case FERRY_GEN_ROOTFS_PATH:
		if (it->value[0] == '\0')
			return ferry_error_set(err, 0, "--%s: the root filesystem path is empty", it->name);
		if ((obj = child_obj(g->spec, "root", ".root", err)) == NULL)
			return -1;
		json_object_set_new(obj, "path", json_string(it->value));
		return 0;
	case FERRY_GEN_USERNAME:
		if ((obj = process_obj(g, err)) == NULL ||
		    (obj = child_obj(obj, "user", ".process.user", err)) == NULL)
			return -1;
		set_str_or_del(obj, "username", it->value);
		return 0;
	case FERRY_GEN_APPARMOR:
	case FERRY_GEN_SELINUX_LABEL:
		field = it->key == FERRY_GEN_APPARMOR ? "apparmorProfile" : "selinuxLabel";
		if ((obj = process_obj(g, err)) == NULL)
			return -1;
		set_str_or_del(obj, field, it->value);
		return 0;
	default: /* FERRY_GEN_MOUNT_LABEL, FERRY_GEN_CGROUPS_PATH */
		field = it->key == FERRY_GEN_MOUNT_LABEL ? "mountLabel" : "cgroupsPath";
		if ((obj = linux_obj(g, err)) == NULL)
			return -1;
		set_str_or_del(obj, field, it->value);
		return 0;
	}
}

static int
h_bool(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	json_t *obj, *v;
	bool on;

	if (parse_bool(it, &on, err) < 0)
		return -1;
	switch (it->key) {
	case FERRY_GEN_ROOTFS_READONLY:
		if ((obj = child_obj(g->spec, "root", ".root", err)) == NULL)
			return -1;
		set_bool(obj, "readonly", on);
		return 0;
	case FERRY_GEN_TERMINAL:
	case FERRY_GEN_NO_NEW_PRIVILEGES:
		if ((obj = process_obj(g, err)) == NULL)
			return -1;
		set_bool(obj, it->key == FERRY_GEN_TERMINAL ? "terminal" : "noNewPrivileges", on);
		return 0;
	default:
		break;
	}
	/* the "remove all" switches: false is no request */
	if (!on)
		return 0;
	switch (it->key) {
	case FERRY_GEN_CAP_DROP_ALL:
		return caps_clear(g, err);
	case FERRY_GEN_NAMESPACE_REMOVE_ALL:
		if ((v = json_object_get(json_object_get(g->spec, "linux"), "namespaces")))
			json_array_clear(v);
		return 0;
	case FERRY_GEN_MOUNTS_REMOVE_ALL:
		if ((v = json_object_get(g->spec, "mounts")))
			json_array_clear(v);
		return 0;
	case FERRY_GEN_RLIMITS_REMOVE_ALL:
		if ((v = json_object_get(json_object_get(g->spec, "process"), "rlimits")))
			json_array_clear(v);
		return 0;
	default: /* the hooks */
		if ((v = json_object_get(json_object_get(g->spec, "hooks"), hook_kind(it->key))))
			json_array_clear(v);
		return 0;
	}
}

static int
apply_item(struct gen *g, const struct ferry_generate_item *it, ferry_error_t *err)
{
	switch (it->key) {
	case FERRY_GEN_ARGS:
		return h_args(g, it, err);
	case FERRY_GEN_ENV:
		return h_env(g, it, err);
	case FERRY_GEN_LABEL:
		return h_label(g, it, err);
	case FERRY_GEN_HOSTNAME:
	case FERRY_GEN_ROOTFS_PATH:
	case FERRY_GEN_USERNAME:
	case FERRY_GEN_APPARMOR:
	case FERRY_GEN_SELINUX_LABEL:
	case FERRY_GEN_MOUNT_LABEL:
	case FERRY_GEN_CGROUPS_PATH:
		return h_string(g, it, err);
	case FERRY_GEN_ROOTFS_READONLY:
	case FERRY_GEN_TERMINAL:
	case FERRY_GEN_NO_NEW_PRIVILEGES:
	case FERRY_GEN_CAP_DROP_ALL:
	case FERRY_GEN_NAMESPACE_REMOVE_ALL:
	case FERRY_GEN_MOUNTS_REMOVE_ALL:
	case FERRY_GEN_RLIMITS_REMOVE_ALL:
	case FERRY_GEN_HOOKS_PRESTART_REMOVE_ALL:
	case FERRY_GEN_HOOKS_POSTSTART_REMOVE_ALL:
	case FERRY_GEN_HOOKS_POSTSTOP_REMOVE_ALL:
		return h_bool(g, it, err);
	case FERRY_GEN_UID:
		return h_id(g, it, "uid", err);
	case FERRY_GEN_GID:
		return h_id(g, it, "gid", err);
	case FERRY_GEN_GROUPS:
		return h_groups(g, it, err);
	case FERRY_GEN_CWD:
		return h_cwd(g, it, err);
	case FERRY_GEN_MASKED_PATHS:
		return h_linux_path_list(g, it, "maskedPaths", err);
	case FERRY_GEN_READONLY_PATHS:
		return h_linux_path_list(g, it, "readonlyPaths", err);
	case FERRY_GEN_SYSCTL:
		return h_sysctl(g, it, err);
	case FERRY_GEN_PRIVILEGED:
		return h_privileged(g, it, err);
	case FERRY_GEN_CAP_ADD:
	case FERRY_GEN_CAP_DROP:
		return h_caps(g, it, err);
	case FERRY_GEN_UIDMAPPINGS:
	case FERRY_GEN_GIDMAPPINGS:
		return h_idmapping(g, it, err);
	case FERRY_GEN_NS_NETWORK:
	case FERRY_GEN_NS_PID:
	case FERRY_GEN_NS_MOUNT:
	case FERRY_GEN_NS_IPC:
	case FERRY_GEN_NS_UTS:
	case FERRY_GEN_NS_USER:
	case FERRY_GEN_NS_CGROUP:
		return h_ns_shortcut(g, it, namespaces[it->key - FERRY_GEN_NS_NETWORK], err);
	case FERRY_GEN_NAMESPACE_ADD:
		return h_namespace_add(g, it, err);
	case FERRY_GEN_NAMESPACE_REMOVE:
		return h_namespace_remove(g, it, err);
	case FERRY_GEN_TMPFS:
		return h_tmpfs(g, it, err);
	case FERRY_GEN_MOUNT_CGROUPS:
		return h_mount_cgroups(g, it, err);
	case FERRY_GEN_BIND:
		return h_bind(g, it, err);
	case FERRY_GEN_MOUNTS_REMOVE:
		return h_mounts_remove(g, it, err);
	case FERRY_GEN_MOUNTS_ADD:
		return h_mounts_add(g, it, err);
	case FERRY_GEN_HOOKS_PRESTART_ADD:
	case FERRY_GEN_HOOKS_POSTSTART_ADD:
	case FERRY_GEN_HOOKS_POSTSTOP_ADD:
		return h_hooks_add(g, it, err);
	case FERRY_GEN_ROOTFS_PROPAGATION:
		return h_propagation(g, it, err);
	case FERRY_GEN_OOM_SCORE_ADJ:
		return h_oom_score_adj(g, it, err);
	case FERRY_GEN_CPU_SHARES:
	case FERRY_GEN_CPU_QUOTA:
	case FERRY_GEN_CPU_PERIOD:
	case FERRY_GEN_CPUS:
	case FERRY_GEN_MEMS:
	case FERRY_GEN_MEM_LIMIT:
	case FERRY_GEN_MEM_RESERVATION:
	case FERRY_GEN_MEM_SWAP:
	case FERRY_GEN_PIDS_LIMIT:
		return h_resource(g, it, err);
	case FERRY_GEN_RLIMITS_ADD:
	case FERRY_GEN_RLIMITS_REMOVE:
		return h_rlimit(g, it, err);
	case FERRY_GEN__MAX:
		break;
	}
	return ferry_error_set(err, 0, "--%s: not a generate flag", it->name);
}

static bool
is_empty_container(json_t *v)
{
	return (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

static void
del_if_empty(json_t *obj, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_empty_container(json_object_get(obj, keys[i])))
			json_object_del(obj, keys[i]);
}

/* Go's encoder leaves out the empty lists and maps the spec declares
 * omitempty; doing the same keeps our output equal to runtime-tools' after
 * edits that empty them (dropping every capability, removing every
 * namespace). An empty list and an absent one mean the same to a runtime. */
static void
omit_empty(json_t *spec)
{
	static const char *const top[] = { "mounts", "annotations" };
	static const char *const in_process[] = { "rlimits", "env", "args" };
	static const char *const in_linux[] = { "namespaces",	 "sysctl",	"maskedPaths",
						"readonlyPaths", "uidMappings", "gidMappings" };
	json_t *process = json_object_get(spec, "process"), *linux_ = json_object_get(spec, "linux");

	del_if_empty(json_object_get(process, "capabilities"), cap_sets, ARRAY_SIZE(cap_sets));
	del_if_empty(spec, top, ARRAY_SIZE(top));
	del_if_empty(process, in_process, ARRAY_SIZE(in_process));
	del_if_empty(linux_, in_linux, ARRAY_SIZE(in_linux));
	/* Generator.Save drops a "linux" that would print as {}. */
	if (is_empty_container(linux_))
		json_object_del(spec, "linux");
}

/* "--cap-drop ALL" is --process-cap-drop-all: it takes effect before the
 * adds (Docker's meaning), whatever its place on the command line. */
static enum ferry_generate_key
effective_key(const struct ferry_generate_item *it)
{
	if (it->key == FERRY_GEN_CAP_DROP && strcasecmp(it->value, "ALL") == 0)
		return FERRY_GEN_CAP_DROP_ALL;
	return it->key;
}

int
ferry_generate(const char *template_json, const struct ferry_generate_opts *o, char **out_json,
	       ferry_error_t *err)
{
	struct gen g = { 0 };
	char *text;

	if (template_json) {
		json_error_t jerr;

		g.spec = json_loads(template_json, 0, &jerr);
		if (g.spec == NULL)
			return ferry_error_set(err, 0, "generate: template: line %d column %d: %s", jerr.line,
					       jerr.column, jerr.text);
		if (!json_is_object(g.spec)) {
			json_decref(g.spec);
			return ferry_error_set(err, 0, "generate: template: expected a JSON object");
		}
		/* runtime-tools fills in a missing version the same way */
		if (json_string_length(json_object_get(g.spec, "ociVersion")) == 0)
			json_object_set_new(g.spec, "ociVersion", json_string(FERRY_GENERATE_OCI_VERSION));
	} else {
		g.spec = ferry_generate_default_spec();
	}

	for (size_t k = 0; k < ARRAY_SIZE(apply_order); k++) {
		for (size_t i = 0; i < o->n; i++) {
			if (effective_key(&o->items[i]) != apply_order[k])
				continue;
			if (apply_item(&g, &o->items[i], err) < 0) {
				json_decref(g.spec);
				return ferry_error_prefix(err, "generate");
			}
		}
	}
	omit_empty(g.spec);

	text = json_dumps(g.spec, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(g.spec);
	if (text == NULL)
		return ferry_error_set(err, ENOMEM, "generate: cannot encode the configuration");
	*out_json = xasprintf("%s\n", text);
	free(text);
	return 0;
}

int
ferry_generate_file(const char *template_path, const struct ferry_generate_opts *o, const char *output_path,
		    ferry_error_t *err)
{
	_cleanup_free_ char *template = NULL, *out = NULL;

	if (template_path &&
	    ferry_read_file(template_path, GENERATE_TEMPLATE_MAX, &template, NULL, err) < 0)
		return ferry_error_prefix(err, "generate: --template");
	if (ferry_generate(template, o, &out, err) < 0)
		return -1;
	if (output_path == NULL) {
		if (ferry_write_all(STDOUT_FILENO, out, strlen(out)) < 0)
			return ferry_error_sys(err, "generate: write to stdout");
		return 0;
	}
	{
		/* Written beside the target and renamed over it, so a reader (or
		 * a runtime started right after) never sees half a config. */
		_cleanup_free_ char *copy = xstrdup(output_path);
		char *slash = strrchr(copy, '/');
		const char *dir = ".", *base = copy;
		_cleanup_close_ int dfd = -1;

		if (slash) {
			*slash = '\0';
			dir = slash == copy ? "/" : copy;
			base = slash + 1;
		}
		if (*base == '\0')
			return ferry_error_set(err, 0, "generate: --output %s: names a directory, not a file",
					       output_path);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return ferry_error_sys(err, "generate: --output %s: open %s", output_path, dir);
		if (ferry_write_file_atomic_at(dfd, base, out, strlen(out), 0644, err) < 0)
			return ferry_error_prefix(err, "generate: --output %s", output_path);
	}
	return 0;
}
