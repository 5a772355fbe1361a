/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry generate: each flag's effect on the JSON, each bad value's message,
 * and the seed article's exact command line.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "tap.h"
#include "util.h"

static char *last_error;

/* Runs ferry_generate on tmpl (NULL: the default) with "--name", "value"
 * pairs (value NULL for a bare boolean), ending with NULL. Returns the
 * parsed result, or NULL with the message in last_error. */
static json_t *
gen(const char *tmpl, ...)
{
	struct ferry_generate_opts o = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;
	const char *name;
	char *out = NULL;
	json_t *j = NULL;
	va_list ap;

	free(last_error);
	last_error = NULL;
	va_start(ap, tmpl);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		const struct ferry_generate_flag *f = ferry_generate_flag_find(name);

		if (f == NULL) {
			printf("# no such flag --%s\n", name);
			abort();
		}
		ferry_generate_opts_add(&o, f->key, f->name, value);
	}
	va_end(ap);
	if (ferry_generate(tmpl, &o, &out, &err) < 0) {
		last_error = ferry_error_string(&err);
	} else {
		j = json_loads(out, 0, NULL);
		if (j == NULL)
			printf("# output is not JSON:\n%s\n", out);
	}
	free(out);
	ferry_error_clear(&err);
	ferry_generate_opts_clear(&o);
	return j;
}

/* A tiny path language: "process.args[1]", "linux.namespaces[0].type". */
static json_t *
at(json_t *j, const char *path)
{
	char buf[256], *p = buf;

	snprintf(buf, sizeof(buf), "%s", path);
	while (j && *p) {
		char *end = p + strcspn(p, ".[");

		if (end != p) {
			char c = *end;

			*end = '\0';
			j = json_object_get(j, p);
			*end = c;
		}
		p = end;
		if (*p == '[') {
			j = json_array_get(j, strtoul(p + 1, &p, 10));
			p++; /* ']' */
		}
		if (*p == '.')
			p++;
	}
	return j;
}

static const char *
str_at(json_t *j, const char *path)
{
	return json_string_value(at(j, path));
}

static long long
int_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	return json_is_integer(v) ? json_integer_value(v) : -424242;
}

static size_t
len_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	return json_is_array(v) ? json_array_size(v) : json_object_size(v);
}

/* Index of the namespace of that type, or -1. */
static int
ns_index(json_t *j, const char *type)
{
	json_t *v;
	size_t i;

	json_array_foreach (at(j, "linux.namespaces"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
			return (int) i;
	return -1;
}

static json_t *
mount_at(json_t *j, const char *dest)
{
	json_t *v;
	size_t i;

	json_array_foreach (at(j, "mounts"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "destination")), dest) == 0)
			return v;
	return NULL;
}

/* The options of a mount, comma-joined, for one comparison. */
static char *
opts_of(json_t *m)
{
	char *s = xstrdup("");
	json_t *v;
	size_t i;

	json_array_foreach (json_object_get(m, "options"), i, v) {
		char *n = xasprintf("%s%s%s", s, i ? "," : "", json_string_value(v));

		free(s);
		s = n;
	}
	return s;
}

static bool
has_str(json_t *arr, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach (arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static void
test_default(void)
{
	json_t *j = gen(NULL, NULL);

	ok(j != NULL, "default: generates");
	is_str(str_at(j, "ociVersion"), "1.0.2-dev", "default: ociVersion is runtime-tools'");
	is_str(str_at(j, "hostname"), "mrsdalloway", "default: runtime-tools' hostname");
	is_str(str_at(j, "process.args[0]"), "sh", "default: args [sh]");
	ok(len_at(j, "process.args") == 1, "default: one arg");
	is_str(str_at(j, "process.env[1]"), "TERM=xterm", "default: TERM=xterm");
	is_str(str_at(j, "process.cwd"), "/", "default: cwd /");
	ok(at(j, "process.terminal") == NULL, "default: no terminal (omitted when false)");
	ok(int_at(j, "process.user.uid") == 0 && int_at(j, "process.user.gid") == 0, "default: uid 0 gid 0");
	ok(len_at(j, "process.capabilities.ambient") == 14 && len_at(j, "process.capabilities.bounding") == 14,
	   "default: 14 capabilities in each set, ambient included");
	is_str(str_at(j, "process.rlimits[0].type"), "RLIMIT_NOFILE", "default: RLIMIT_NOFILE");
	ok(int_at(j, "process.rlimits[0].hard") == 1024, "default: nofile 1024");
	is_str(str_at(j, "root.path"), "rootfs", "default: root.path rootfs");
	ok(at(j, "root.readonly") == NULL, "default: root not read-only");
	ok(len_at(j, "mounts") == 6, "default: six mounts");
	is_str(str_at(j, "mounts[5].destination"), "/sys", "default: /sys last");
	ok(len_at(j, "linux.namespaces") == 5 && ns_index(j, "network") == 1 && ns_index(j, "cgroup") < 0,
	   "default: pid network ipc uts mount namespaces");
	ok(at(j, "linux.resources.devices[0].allow") == json_false(), "default: deny-all device rule");
	is_str(str_at(j, "linux.seccomp.defaultAction"), "SCMP_ACT_ERRNO", "default: seccomp whitelist");
	ok(len_at(j, "linux.seccomp.syscalls[0].names") == 305, "default: 305 always-allowed syscalls");
	json_decref(j);
}

/* The seed article's command, word for word. */
static void
test_article(void)
{
	json_t *j = gen(NULL, "args", "/usr/sbin/httpd", "args", "-DFOREGROUND", "network", "host", "tmpfs", "/tmp",
			"tmpfs", "/run", "tmpfs", "/var/log/httpd", "tmpfs", "/run/httpd", "read-only", NULL, "bind",
			"/tmp/rhel7-httpd:/var/www/html", NULL);
	const char *tmpfs[] = { "/tmp", "/run", "/var/log/httpd", "/run/httpd" };
	int ntmpfs = 0;
	json_t *b;

	ok(j != NULL, "article: generates");
	ok(len_at(j, "process.args") == 2, "article: two args");
	is_str(str_at(j, "process.args[0]"), "/usr/sbin/httpd", "article: args[0]");
	is_str(str_at(j, "process.args[1]"), "-DFOREGROUND", "article: args[1]");
	ok(ns_index(j, "network") < 0, "article: no network namespace");
	ok(ns_index(j, "pid") >= 0 && ns_index(j, "mount") >= 0, "article: the other namespaces stay");
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs); i++) {
		json_t *m = mount_at(j, tmpfs[i]);
		_cleanup_free_ char *o = opts_of(m);

		if (m && strcmp(str_at(m, "type"), "tmpfs") == 0)
			ntmpfs++;
		is_str(o, "rw,noexec,nosuid,nodev,size=65536k", "article: tmpfs %s with runtime-tools' options",
		       tmpfs[i]);
	}
	ok(ntmpfs == 4, "article: four tmpfs mounts");
	ok(at(j, "root.readonly") == json_true(), "article: root.readonly true");
	b = mount_at(j, "/var/www/html");
	ok(b != NULL, "article: the bind mount");
	is_str(str_at(b, "source"), "/tmp/rhel7-httpd", "article: bind source");
	is_str(str_at(b, "type"), "bind", "article: bind type");
	{
		_cleanup_free_ char *o = opts_of(b);

		is_str(o, "rw,bind", "article: bind options rw,bind");
	}
	ok(len_at(j, "mounts") == 11, "article: default six + four tmpfs + one bind");
	json_decref(j);
}

static void
test_process_flags(void)
{
	json_t *j;

	j = gen(NULL, "args", "a", NULL);
	ok(len_at(j, "process.args") == 1 && strcmp(str_at(j, "process.args[0]"), "a") == 0,
	   "--args: the first replaces the default");
	json_decref(j);

	j = gen(NULL, "env", "FOO=bar", "env", "X=a=b", "env", "PATH=/bin", "env", "EMPTY=", NULL);
	is_str(str_at(j, "process.env[0]"), "PATH=/bin", "--env: replaces a variable in place");
	is_str(str_at(j, "process.env[2]"), "FOO=bar", "--env: appends a new one");
	is_str(str_at(j, "process.env[3]"), "X=a=b", "--env: value keeps later '='");
	is_str(str_at(j, "process.env[4]"), "EMPTY=", "--env: empty value");
	ok(len_at(j, "process.env") == 5, "--env: no duplicate PATH");
	json_decref(j);

	j = gen(NULL, "hostname", "web1", NULL);
	is_str(str_at(j, "hostname"), "web1", "--hostname");
	json_decref(j);

	j = gen(NULL, "cwd", "/srv", NULL);
	is_str(str_at(j, "process.cwd"), "/srv", "--cwd");
	json_decref(j);
	j = gen(NULL, "process-cwd", "/var", NULL);
	is_str(str_at(j, "process.cwd"), "/var", "--process-cwd");
	json_decref(j);

	j = gen(NULL, "uid", "1000", "gid", "4294967295", NULL);
	ok(int_at(j, "process.user.uid") == 1000, "--uid");
	ok(int_at(j, "process.user.gid") == 4294967295LL, "--gid up to 2^32-1");
	json_decref(j);
	j = gen(NULL, "process-uid", "7", "process-gid", "8", "process-groups", "10", "groups", "10", "groups", "11",
		"process-username", "daemon", NULL);
	ok(int_at(j, "process.user.uid") == 7 && int_at(j, "process.user.gid") == 8, "--process-uid/--process-gid");
	ok(len_at(j, "process.user.additionalGids") == 2 && int_at(j, "process.user.additionalGids[1]") == 11,
	   "--groups: added once each");
	is_str(str_at(j, "process.user.username"), "daemon", "--process-username");
	json_decref(j);

	j = gen(NULL, "process-terminal", NULL, NULL);
	ok(at(j, "process.terminal") == json_true(), "--process-terminal");
	json_decref(j);
	j = gen("{\"process\": {\"terminal\": true}}", "tty", "false", NULL);
	ok(j && at(j, "process.terminal") == NULL, "--tty=false clears it (left out, as Go does)");
	json_decref(j);

	j = gen(NULL, "no-new-privileges", NULL, "apparmor", "docker-default", "selinux-label", "system_u:r", NULL);
	ok(at(j, "process.noNewPrivileges") == json_true(), "--no-new-privileges");
	is_str(str_at(j, "process.apparmorProfile"), "docker-default", "--apparmor");
	is_str(str_at(j, "process.selinuxLabel"), "system_u:r", "--selinux-label");
	json_decref(j);

	j = gen(NULL, "process-rlimits-add", "RLIMIT_NOFILE:4096:2048", "rlimits-add", "nproc:10:5", NULL);
	ok(int_at(j, "process.rlimits[0].hard") == 4096 && int_at(j, "process.rlimits[0].soft") == 2048,
	   "--process-rlimits-add: replaces in place");
	is_str(str_at(j, "process.rlimits[1].type"), "RLIMIT_NPROC", "--rlimits-add: RLIMIT_ optional, any case");
	json_decref(j);
	j = gen(NULL, "process-rlimits-remove", "RLIMIT_NOFILE", NULL);
	ok(at(j, "process.rlimits") == NULL, "--process-rlimits-remove: the last one leaves none");
	json_decref(j);
	j = gen(NULL, "process-rlimits-remove-all", NULL, "rlimits-add", "CORE:0:0", NULL);
	ok(len_at(j, "process.rlimits") == 1 && strcmp(str_at(j, "process.rlimits[0].type"), "RLIMIT_CORE") == 0,
	   "--process-rlimits-remove-all runs before the adds");
	json_decref(j);
}

static void
test_root_flags(void)
{
	json_t *j;

	j = gen(NULL, "rootfs-readonly", NULL, "rootfs-path", "/var/lib/c/rootfs", NULL);
	ok(at(j, "root.readonly") == json_true(), "--rootfs-readonly");
	is_str(str_at(j, "root.path"), "/var/lib/c/rootfs", "--rootfs-path");
	json_decref(j);
	j = gen(NULL, "read-only", "true", "rootfs", "r", NULL);
	ok(at(j, "root.readonly") == json_true(), "--read-only=true");
	is_str(str_at(j, "root.path"), "r", "--rootfs (the 2016 name)");
	json_decref(j);
	j = gen("{\"root\": {\"path\": \"x\", \"readonly\": true}}", "read-only", "false", NULL);
	ok(j && at(j, "root.readonly") == NULL, "--read-only=false");
	is_str(str_at(j, "root.path"), "x", "a template's root.path is kept");
	json_decref(j);
}

static void
test_caps(void)
{
	json_t *j;

	j = gen(NULL, "cap-add", "net_admin", "cap-add", "CAP_SYS_TIME", "cap-add", "Sys_Time", NULL);
	ok(len_at(j, "process.capabilities.bounding") == 16, "--cap-add: two new capabilities, once each");
	ok(has_str(at(j, "process.capabilities.ambient"), "CAP_NET_ADMIN") &&
		   has_str(at(j, "process.capabilities.effective"), "CAP_NET_ADMIN") &&
		   has_str(at(j, "process.capabilities.inheritable"), "CAP_NET_ADMIN") &&
		   has_str(at(j, "process.capabilities.permitted"), "CAP_NET_ADMIN") &&
		   has_str(at(j, "process.capabilities.bounding"), "CAP_SYS_TIME"),
	   "--cap-add: CAP_ optional, any case, all five sets");
	json_decref(j);

	j = gen(NULL, "cap-drop", "CAP_CHOWN", NULL);
	ok(len_at(j, "process.capabilities.bounding") == 13 &&
		   !has_str(at(j, "process.capabilities.permitted"), "CAP_CHOWN"),
	   "--cap-drop");
	/* runtime-tools' removal moves the last element into the hole */
	is_str(str_at(j, "process.capabilities.bounding[0]"), "CAP_AUDIT_WRITE", "--cap-drop: runtime-tools' order");
	json_decref(j);

	j = gen(NULL, "cap-drop", "all", NULL);
	ok(j && at(j, "process.capabilities") != NULL && len_at(j, "process.capabilities") == 0,
	   "--cap-drop ALL: no capability left");
	json_decref(j);
	j = gen(NULL, "cap-add", "NET_BIND_SERVICE", "cap-drop", "ALL", NULL);
	ok(len_at(j, "process.capabilities.bounding") == 1, "--cap-drop ALL then the adds, in either order");
	json_decref(j);
	j = gen(NULL, "process-cap-drop-all", NULL, "cap-add", "kill", NULL);
	is_str(str_at(j, "process.capabilities.effective[0]"), "CAP_KILL", "--process-cap-drop-all");
	json_decref(j);
	j = gen(NULL, "cap-add", "ALL", NULL);
	ok(len_at(j, "process.capabilities.bounding") == 41, "--cap-add ALL: every known capability");
	json_decref(j);

	j = gen(NULL, "privileged", NULL, NULL);
	ok(len_at(j, "process.capabilities.inheritable") == 41 && at(j, "linux.seccomp") == NULL,
	   "--privileged: all capabilities, no seccomp");
	json_decref(j);
}

static void
test_namespaces(void)
{
	const char *flags[] = { "network", "pid", "mount", "ipc", "uts", "user", "cgroup" };
	json_t *j;

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		_cleanup_free_ char *path = xasprintf("/proc/1/ns/%s", flags[i]);
		int idx;

		j = gen(NULL, flags[i], "host", NULL);
		ok(j && ns_index(j, flags[i]) < 0, "--%s host: no %s namespace", flags[i], flags[i]);
		json_decref(j);
		j = gen(NULL, flags[i], "", NULL);
		idx = j ? ns_index(j, flags[i]) : -1;
		ok(idx >= 0 && json_object_get(json_array_get(at(j, "linux.namespaces"), idx), "path") == NULL,
		   "--%s \"\": a new namespace", flags[i]);
		json_decref(j);
		j = gen(NULL, flags[i], path, NULL);
		idx = j ? ns_index(j, flags[i]) : -1;
		is_str(idx >= 0 ? json_string_value(json_object_get(json_array_get(at(j, "linux.namespaces"), idx),
								      "path"))
				: NULL,
		       path, "--%s PATH: joins it", flags[i]);
		json_decref(j);
	}

	j = gen(NULL, "network", "/run/netns/a", NULL);
	ok(ns_index(j, "network") == 1, "--network PATH: replaces in place");
	json_decref(j);

	j = gen(NULL, "linux-namespace-add", "cgroup", "linux-namespace-add", "uts:/proc/9/ns/uts",
		"linux-namespace-remove", "ipc", NULL);
	ok(ns_index(j, "cgroup") == 4, "--linux-namespace-add NS: appended");
	ok(ns_index(j, "ipc") < 0, "--linux-namespace-remove");
	ok(ns_index(j, "uts") == 2, "--linux-namespace-add NS: replaces in place (ipc removed before it)");
	is_str(str_at(j, "linux.namespaces[2].path"), "/proc/9/ns/uts", "--linux-namespace-add NS:PATH");
	json_decref(j);

	j = gen(NULL, "linux-namespace-remove-all", NULL, "linux-namespace-add", "mount", NULL);
	ok(len_at(j, "linux.namespaces") == 1, "--linux-namespace-remove-all, then the adds");
	json_decref(j);
	j = gen(NULL, "linux-namespace-remove-all", NULL, NULL);
	ok(j && at(j, "linux.namespaces") == NULL && at(j, "linux.seccomp") != NULL,
	   "--linux-namespace-remove-all: the list is left out");
	json_decref(j);

	j = gen(NULL, "linux-uidmappings", "100000:0:65536", "gidmappings", "100000:0:65536", NULL);
	ok(ns_index(j, "user") >= 0, "--linux-uidmappings: a user namespace");
	ok(int_at(j, "linux.uidMappings[0].hostID") == 100000 && int_at(j, "linux.uidMappings[0].size") == 65536 &&
		   int_at(j, "linux.gidMappings[0].containerID") == 0,
	   "--uidmappings/--gidmappings");
	json_decref(j);
}

static void
test_mounts(void)
{
	json_t *j, *m;
	char *o;

	j = gen(NULL, "tmpfs", "/scratch:rw,size=1m,mode=1777", NULL);
	m = mount_at(j, "/scratch");
	o = opts_of(m);
	is_str(o, "rw,size=1m,mode=1777", "--tmpfs PATH:OPTIONS");
	free(o);
	is_str(str_at(m, "source"), "tmpfs", "--tmpfs: source tmpfs");
	json_decref(j);

	j = gen(NULL, "bind", "/a:/b:ro", "mount-bind", "/c:/d:ro:rbind", "bind", "/e:/f:ro,rslave", NULL);
	o = opts_of(mount_at(j, "/b"));
	is_str(o, "ro,bind", "--bind SRC:DST:ro: bind added");
	free(o);
	o = opts_of(mount_at(j, "/d"));
	is_str(o, "ro,rbind", "--mount-bind with rbind: no extra bind");
	free(o);
	o = opts_of(mount_at(j, "/f"));
	is_str(o, "ro,rslave,bind", "--bind with comma-separated options (the 2016 form)");
	free(o);
	json_decref(j);

	j = gen(NULL, "mounts-add",
		"{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv/data\", \"options\": "
		"[\"rbind\", \"ro\"]}",
		NULL);
	m = mount_at(j, "/data");
	ok(m != NULL && strcmp(str_at(m, "source"), "/srv/data") == 0 && len_at(m, "options") == 2,
	   "--mounts-add JSON");
	json_decref(j);

	j = gen(NULL, "mounts-remove", "/dev/mqueue", NULL);
	ok(len_at(j, "mounts") == 5 && mount_at(j, "/dev/mqueue") == NULL, "--mounts-remove");
	json_decref(j);
	j = gen(NULL, "mounts-remove-all", NULL, "mounts-add", "{\"destination\": \"/proc\", \"type\": \"proc\"}",
		NULL);
	ok(len_at(j, "mounts") == 1, "--mounts-remove-all, then the adds");
	json_decref(j);

	j = gen(NULL, "mount-cgroups", "ro", NULL);
	o = opts_of(mount_at(j, "/sys/fs/cgroup"));
	is_str(o, "nosuid,noexec,nodev,relatime,ro", "--mount-cgroups ro");
	free(o);
	json_decref(j);
	j = gen(NULL, "mount-cgroups", "no", NULL);
	ok(len_at(j, "mounts") == 6, "--mount-cgroups no");
	json_decref(j);
}

static void
test_linux_flags(void)
{
	json_t *j;

	j = gen(NULL, "linux-cgroups-path", "/ferry/web1", "linux-masked-paths", "/proc/kcore", "masked-paths",
		"/proc/keys", "linux-readonly-paths", "/proc/sys", "linux-sysctl", "net.ipv4.ip_forward=1", "sysctl",
		"kernel.msgmax=65536", "linux-mount-label", "system_u:object_r:x", "linux-rootfs-propagation",
		"slave", NULL);
	is_str(str_at(j, "linux.cgroupsPath"), "/ferry/web1", "--linux-cgroups-path");
	ok(len_at(j, "linux.maskedPaths") == 2, "--linux-masked-paths");
	is_str(str_at(j, "linux.readonlyPaths[0]"), "/proc/sys", "--linux-readonly-paths");
	/* sysctl keys contain dots, so no at() path for them */
	is_str(json_string_value(json_object_get(at(j, "linux.sysctl"), "net.ipv4.ip_forward")), "1",
	       "--linux-sysctl");
	ok(json_object_get(at(j, "linux.sysctl"), "kernel.msgmax") != NULL, "--sysctl");
	is_str(str_at(j, "linux.mountLabel"), "system_u:object_r:x", "--linux-mount-label");
	is_str(str_at(j, "linux.rootfsPropagation"), "slave", "--linux-rootfs-propagation");
	json_decref(j);

	j = gen(NULL, "linux-cpu-shares", "512", "linux-cpu-quota", "-1", "linux-cpu-period", "100000",
		"linux-cpus", "0-1", "linux-mems", "0", "linux-mem-limit", "268435456", "linux-mem-reservation",
		"1048576", "linux-mem-swap", "-1", "linux-pids-limit", "64", "linux-oom-score-adj", "-500", NULL);
	ok(int_at(j, "linux.resources.cpu.shares") == 512 && int_at(j, "linux.resources.cpu.quota") == -1 &&
		   int_at(j, "linux.resources.cpu.period") == 100000,
	   "--linux-cpu-shares/-quota/-period");
	is_str(str_at(j, "linux.resources.cpu.cpus"), "0-1", "--linux-cpus");
	is_str(str_at(j, "linux.resources.cpu.mems"), "0", "--linux-mems");
	ok(int_at(j, "linux.resources.memory.limit") == 268435456 &&
		   int_at(j, "linux.resources.memory.reservation") == 1048576 &&
		   int_at(j, "linux.resources.memory.swap") == -1,
	   "--linux-mem-limit/-reservation/-swap");
	ok(int_at(j, "linux.resources.pids.limit") == 64, "--linux-pids-limit");
	ok(int_at(j, "process.oomScoreAdj") == -500, "--linux-oom-score-adj");
	ok(len_at(j, "linux.resources.devices") == 1, "resources: the device rule stays");
	json_decref(j);

	j = gen(NULL, "label", "org.example.k=v=w", NULL);
	is_str(json_string_value(json_object_get(at(j, "annotations"), "org.example.k")), "v=w", "--label");
	json_decref(j);

	j = gen(NULL, "hooks-prestart-add", "{\"path\": \"/usr/bin/setup\", \"args\": [\"setup\", \"x\"]}",
		"hooks-poststop-add", "{\"path\": \"/bin/true\", \"timeout\": 5}", NULL);
	is_str(str_at(j, "hooks.prestart[0].path"), "/usr/bin/setup", "--hooks-prestart-add");
	ok(int_at(j, "hooks.poststop[0].timeout") == 5, "--hooks-poststop-add");
	json_decref(j);
	j = gen("{\"hooks\": {\"poststart\": [{\"path\": \"/a\"}]}}", "hooks-poststart-remove-all", NULL,
		"hooks-poststart-add", "{\"path\": \"/b\"}", NULL);
	ok(len_at(j, "hooks.poststart") == 1 && strcmp(str_at(j, "hooks.poststart[0].path"), "/b") == 0,
	   "--hooks-poststart-remove-all, then the adds");
	json_decref(j);
}

static void
test_template(void)
{
	json_t *j;

	j = gen("{\"ociVersion\": \"1.1.0\", \"process\": {\"args\": [\"x\"], \"cwd\": \"/\"}, \"custom\": 1}",
		"args", "y", NULL);
	ok(j != NULL, "template: accepted");
	is_str(str_at(j, "ociVersion"), "1.1.0", "template: its version is kept");
	is_str(str_at(j, "process.args[0]"), "y", "template: --args replaces its args");
	ok(int_at(j, "custom") == 1, "template: unknown members survive");
	ok(at(j, "linux") == NULL && at(j, "mounts") == NULL, "template: nothing of the default is added");
	json_decref(j);
	j = gen("{}", "network", "", NULL);
	is_str(str_at(j, "ociVersion"), "1.0.2-dev", "template: a missing version is filled in");
	is_str(str_at(j, "linux.namespaces[0].type"), "network", "template: lists are created as needed");
	json_decref(j);
}

#define EXPECT_ERROR(msg, ...) \
	do { \
		json_t *_j = gen(__VA_ARGS__, NULL); \
		ok(_j == NULL, "error: %s", msg); \
		is_str(last_error, msg, "message: %s", msg); \
		json_decref(_j); \
	} while (0)

static void
test_errors(void)
{
	EXPECT_ERROR("generate: --network: \"bogus\" is not a namespace path (expected host, an empty string or an "
		     "absolute path)",
		     NULL, "network", "bogus");
	EXPECT_ERROR("generate: --cgroup: \"proc/1/ns/cgroup\" is not a namespace path (expected host, an empty "
		     "string or an absolute path)",
		     NULL, "cgroup", "proc/1/ns/cgroup");
	EXPECT_ERROR("generate: --bind \"/a\": expected SRC:DST[:OPTIONS]", NULL, "bind", "/a");
	EXPECT_ERROR("generate: --bind \":/b\": expected SRC:DST[:OPTIONS]", NULL, "bind", ":/b");
	EXPECT_ERROR("generate: --mount-bind \"/a::ro\": expected SRC:DST[:OPTIONS]", NULL, "mount-bind", "/a::ro");
	EXPECT_ERROR("generate: --bind \"/a:b\": the mount point must be an absolute path", NULL, "bind", "/a:b");
	EXPECT_ERROR("generate: --cap-add: unknown capability \"CAP_FOO\"", NULL, "cap-add", "CAP_FOO");
	EXPECT_ERROR("generate: --cap-drop: unknown capability \"bar\"", NULL, "cap-drop", "bar");
	EXPECT_ERROR("generate: --tmpfs \"/a:rw:x\": expected PATH[:OPTIONS]", NULL, "tmpfs", "/a:rw:x");
	EXPECT_ERROR("generate: --tmpfs \":rw\": expected PATH[:OPTIONS]", NULL, "tmpfs", ":rw");
	EXPECT_ERROR("generate: --tmpfs \"tmp\": the mount point must be an absolute path", NULL, "tmpfs", "tmp");
	EXPECT_ERROR("generate: --env \"FOO\": expected KEY=VALUE", NULL, "env", "FOO");
	EXPECT_ERROR("generate: --env \"=x\": expected KEY=VALUE", NULL, "env", "=x");
	EXPECT_ERROR("generate: --label \"k\": expected KEY=VALUE", NULL, "label", "k");
	EXPECT_ERROR("generate: --linux-sysctl \"net.ipv4.ip_forward\": expected KEY=VALUE", NULL, "linux-sysctl",
		     "net.ipv4.ip_forward");
	EXPECT_ERROR("generate: --uid: \"-1\" is not a valid uid (expected 0..4294967295)", NULL, "uid", "-1");
	EXPECT_ERROR("generate: --process-gid: \"4294967296\" is not a valid gid (expected 0..4294967295)", NULL,
		     "process-gid", "4294967296");
	EXPECT_ERROR("generate: --groups: \"wheel\" is not a valid gid (expected 0..4294967295)", NULL, "groups",
		     "wheel");
	EXPECT_ERROR("generate: --cwd: \"srv\" is not an absolute path", NULL, "cwd", "srv");
	EXPECT_ERROR("generate: --rootfs-path: the root filesystem path is empty", NULL, "rootfs-path", "");
	EXPECT_ERROR("generate: --read-only: \"yes\" is not a boolean (expected true or false)", NULL, "read-only",
		     "yes");
	EXPECT_ERROR("generate: --linux-namespace-add: unknown namespace \"net\" (expected network, pid, mount, ipc, "
		     "uts, user or cgroup, optionally followed by :PATH)",
		     NULL, "linux-namespace-add", "net");
	EXPECT_ERROR("generate: --linux-namespace-add \"ipc:x\": the namespace path must be absolute", NULL,
		     "linux-namespace-add", "ipc:x");
	EXPECT_ERROR("generate: --linux-namespace-remove: unknown namespace \"time\" (expected network, pid, mount, "
		     "ipc, uts, user or cgroup)",
		     NULL, "linux-namespace-remove", "time");
	EXPECT_ERROR("generate: --mounts-add: invalid JSON: '[' or '{' expected near 'destination' (column 11)",
		     NULL, "mounts-add", "destination");
	EXPECT_ERROR("generate: --mounts-add: expected a JSON object (an OCI mount)", NULL, "mounts-add", "[]");
	EXPECT_ERROR("generate: --mounts-add: an OCI mount needs \"destination\"", NULL, "mounts-add",
		     "{\"type\": \"tmpfs\"}");
	EXPECT_ERROR("generate: --mounts-add: \"options\" must be an array of strings", NULL, "mounts-add",
		     "{\"destination\": \"/x\", \"options\": \"ro\"}");
	EXPECT_ERROR("generate: --mounts-add: unknown member \"destintion\" of an OCI mount", NULL, "mounts-add",
		     "{\"destintion\": \"/x\"}");
	EXPECT_ERROR("generate: --mounts-add: \"destination\" must be an absolute path", NULL, "mounts-add",
		     "{\"destination\": \"x\"}");
	EXPECT_ERROR("generate: --hooks-prestart-add: an OCI hook needs \"path\"", NULL, "hooks-prestart-add",
		     "{\"args\": []}");
	EXPECT_ERROR("generate: --hooks-poststop-add: \"timeout\" must be an integer", NULL, "hooks-poststop-add",
		     "{\"path\": \"/x\", \"timeout\": \"5\"}");
	EXPECT_ERROR("generate: --mount-cgroups: \"yes\" is not one of rw, ro, no", NULL, "mount-cgroups", "yes");
	EXPECT_ERROR("generate: --linux-rootfs-propagation: \"rslave\" is not a propagation mode of the OCI spec "
		     "(expected private, slave, shared or unbindable)",
		     NULL, "linux-rootfs-propagation", "rslave");
	EXPECT_ERROR("generate: --process-rlimits-add \"RLIMIT_NOFILE:10\": expected TYPE:HARD:SOFT", NULL,
		     "process-rlimits-add", "RLIMIT_NOFILE:10");
	EXPECT_ERROR("generate: --process-rlimits-add: unknown resource limit \"RLIMIT_FOO\"", NULL,
		     "process-rlimits-add", "RLIMIT_FOO:1:1");
	EXPECT_ERROR("generate: --rlimits-add \"NOFILE:1:2\": the soft limit is above the hard limit", NULL,
		     "rlimits-add", "NOFILE:1:2");
	EXPECT_ERROR("generate: --rlimits-add: \"18446744073709551615\" is not a valid hard limit (expected "
		     "0..9223372036854775807)",
		     NULL, "rlimits-add", "NOFILE:18446744073709551615:1");
	EXPECT_ERROR("generate: --linux-uidmappings \"0:0\": expected HOSTID:CONTAINERID:SIZE", NULL,
		     "linux-uidmappings", "0:0");
	EXPECT_ERROR("generate: --linux-pids-limit: \"many\" is not a valid process count (expected an integer)",
		     NULL, "linux-pids-limit", "many");
	EXPECT_ERROR("generate: --linux-cpu-shares: \"-2\" is not a valid share count (expected "
		     "0..9223372036854775807)",
		     NULL, "linux-cpu-shares", "-2");
	EXPECT_ERROR("generate: --linux-oom-score-adj: 1001 is out of range (expected -1000..1000)", NULL,
		     "linux-oom-score-adj", "1001");
	EXPECT_ERROR("generate: --masked-paths: \"proc/kcore\" is not an absolute path", NULL, "masked-paths",
		     "proc/kcore");
	EXPECT_ERROR("generate: template: line 1 column 4: '[' or '{' expected near 'nope'", "nope", "args", "x");
	EXPECT_ERROR("generate: template: expected a JSON object", "[1]", "args", "x");
	EXPECT_ERROR("generate: template: .process is not an object", "{\"process\": 1}", "args", "x");
	EXPECT_ERROR("generate: template: .linux.namespaces is not an array", "{\"linux\": {\"namespaces\": {}}}",
		     "network", "");
}

int
main(void)
{
	test_default();
	test_article();
	test_process_flags();
	test_root_flags();
	test_caps();
	test_namespaces();
	test_mounts();
	test_linux_flags();
	test_template();
	test_errors();
	free(last_error);
	return tap_done();
}
