/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config `ferry spec` writes: runc 1.1's `runc spec` (and `--rootless`)
 * field for field and in the same key order, except the hostname.  Users
 * diff the two, and tools written against runc's starter config expect
 * its shape.
 */
#include <jansson.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "spec.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static json_t *
strv(const char *const *v)
{
	json_t *a = json_array();

	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *
mount(const char *dst, const char *type, const char *src, const char *const *opts, bool rootless)
{
	json_t *m = json_object(), *o;

	json_object_set_new(m, "destination", json_string(dst));
	json_object_set_new(m, "type", json_string(type));
	json_object_set_new(m, "source", json_string(src));
	if (opts == NULL)
		return m;
	o = json_array();
	for (; *opts; opts++) {
		/* A rootless container maps one ID: uid=/gid= options
		 * naming others (devpts' gid=5) cannot work there. */
		if (rootless && (strncmp(*opts, "uid=", 4) == 0 || strncmp(*opts, "gid=", 4) == 0))
			continue;
		json_array_append_new(o, json_string(*opts));
	}
	json_object_set_new(m, "options", o);
	return m;
}

static json_t *
idmap(unsigned int host_id)
{
	json_t *a = json_array(), *m = json_object();

	json_object_set_new(m, "containerID", json_integer(0));
	json_object_set_new(m, "hostID", json_integer(host_id));
	json_object_set_new(m, "size", json_integer(1));
	json_array_append_new(a, m);
	return a;
}

static json_t *
ns(const char *type)
{
	json_t *n = json_object();

	json_object_set_new(n, "type", json_string(type));
	return n;
}

/* runc adds a cgroup namespace only on a pure cgroup v2 host: on v1 and
 * hybrid hosts the container's /sys/fs/cgroup is built from the host's v1
 * hierarchies, which a cgroup namespace would not make private anyway. */
static bool
cgroup2_unified(void)
{
	struct statfs sf;

	return statfs("/sys/fs/cgroup", &sf) == 0 && (unsigned long) sf.f_type == CGROUP2_SUPER_MAGIC;
}

char *
ferry_spec_default_json(bool rootless)
{
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					   "TERM=xterm", NULL };
	static const char *const args[] = { "sh", NULL };
	static const char *const dev_opts[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts_opts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
						NULL };
	static const char *const shm_opts[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const mq_opts[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys_opts[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const sys_rootless_opts[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg_opts[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
	static const char *const masked[] = { "/proc/acpi",	     "/proc/asound",	  "/proc/kcore",
					      "/proc/keys",	     "/proc/latency_stats", "/proc/timer_list",
					      "/proc/timer_stats", "/proc/sched_debug",	  "/sys/firmware",
					      "/proc/scsi",	     NULL };
	static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
						NULL };
	json_t *spec = json_object(), *proc = json_object(), *o, *a, *linux_ = json_object();
	char *out;

	json_object_set_new(spec, "ociVersion", json_string("1.0.2-dev"));

	json_object_set_new(proc, "terminal", json_true());
	o = json_object();
	json_object_set_new(o, "uid", json_integer(0));
	json_object_set_new(o, "gid", json_integer(0));
	json_object_set_new(proc, "user", o);
	json_object_set_new(proc, "args", strv(args));
	json_object_set_new(proc, "env", strv(env));
	json_object_set_new(proc, "cwd", json_string("/"));
	/*
	 * runc 1.1.2 dropped "inheritable" (CVE-2022-29162) but kept
	 * "ambient".  The kernel raises an ambient capability only if it is
	 * also inheritable, so these three never become ambient: runc 1.1
	 * ignores that failure, and runc 1.2 dropped "ambient" as well.  The
	 * code applying capabilities must skip, not fail on, ambient
	 * capabilities missing from the inheritable set.
	 */
	o = json_object();
	json_object_set_new(o, "bounding", strv(caps));
	json_object_set_new(o, "effective", strv(caps));
	json_object_set_new(o, "permitted", strv(caps));
	json_object_set_new(o, "ambient", strv(caps));
	json_object_set_new(proc, "capabilities", o);
	a = json_array();
	o = json_object();
	json_object_set_new(o, "type", json_string("RLIMIT_NOFILE"));
	json_object_set_new(o, "hard", json_integer(1024));
	json_object_set_new(o, "soft", json_integer(1024));
	json_array_append_new(a, o);
	json_object_set_new(proc, "rlimits", a);
	json_object_set_new(proc, "noNewPrivileges", json_true());
	json_object_set_new(spec, "process", proc);

	o = json_object();
	json_object_set_new(o, "path", json_string("rootfs"));
	json_object_set_new(o, "readonly", json_true());
	json_object_set_new(spec, "root", o);
	json_object_set_new(spec, "hostname", json_string("ferry"));

	a = json_array();
	json_array_append_new(a, mount("/proc", "proc", "proc", NULL, rootless));
	json_array_append_new(a, mount("/dev", "tmpfs", "tmpfs", dev_opts, rootless));
	json_array_append_new(a, mount("/dev/pts", "devpts", "devpts", pts_opts, rootless));
	json_array_append_new(a, mount("/dev/shm", "tmpfs", "shm", shm_opts, rootless));
	json_array_append_new(a, mount("/dev/mqueue", "mqueue", "mqueue", mq_opts, rootless));
	/* Without CAP_SYS_ADMIN in the initial user namespace a fresh
	 * sysfs cannot be mounted; the host's is bound instead. */
	if (rootless)
		json_array_append_new(a, mount("/sys", "none", "/sys", sys_rootless_opts, rootless));
	else
		json_array_append_new(a, mount("/sys", "sysfs", "sysfs", sys_opts, rootless));
	json_array_append_new(a, mount("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts, rootless));
	json_object_set_new(spec, "mounts", a);

	/* Key order follows runc's Go struct: mappings, resources,
	 * namespaces, masked and read-only paths. */
	if (rootless) {
		json_object_set_new(linux_, "uidMappings", idmap(geteuid()));
		json_object_set_new(linux_, "gidMappings", idmap(getegid()));
	} else {
		/* Rootless containers get no cgroup settings: an
		 * unprivileged user usually cannot write them. */
		json_t *res = json_object(), *rule = json_object();

		json_object_set_new(rule, "allow", json_false());
		json_object_set_new(rule, "access", json_string("rwm"));
		a = json_array();
		json_array_append_new(a, rule);
		json_object_set_new(res, "devices", a);
		json_object_set_new(linux_, "resources", res);
	}
	a = json_array();
	json_array_append_new(a, ns("pid"));
	/* A rootless user cannot configure a network namespace's
	 * interfaces, so it would only have loopback: runc leaves it out. */
	if (!rootless)
		json_array_append_new(a, ns("network"));
	json_array_append_new(a, ns("ipc"));
	json_array_append_new(a, ns("uts"));
	json_array_append_new(a, ns("mount"));
	if (cgroup2_unified())
		json_array_append_new(a, ns("cgroup"));
	if (rootless)
		json_array_append_new(a, ns("user"));
	json_object_set_new(linux_, "namespaces", a);
	json_object_set_new(linux_, "maskedPaths", strv(masked));
	json_object_set_new(linux_, "readonlyPaths", strv(readonly));
	json_object_set_new(spec, "linux", linux_);

	out = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	if (out == NULL) {
		fputs("ferry: out of memory\n", stderr);
		abort();
	}
	return out;
}
