/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the config parser (src/lib/spec*.c): the default config,
 * the seed article's config, every class of error with its exact text,
 * mount options, limits and the name tables.
 *
 * JSON in this file is written with ' for " (see J()) to stay readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "spec.h"
#include "tap.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* `runc spec` and `runc spec --rootless` of runc 1.1.5 (Debian 12),
 * compacted; ferry's differs only in the hostname. */
static const char runc_default[] =
	"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"effective\":[\"CAP_AUDIT_WRITE\","
	"\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
	"\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"runc\",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev\","
	"\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\","
	"\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\","
	"\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":\"/sys\","
	"\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},{\"destination\":\"/sys/fs/cgroup\","
	"\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,"
	"\"access\":\"rwm\"}]},\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
	"{\"type\":\"mount\"}],\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
	"\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],\"readonlyPaths\":[\"/proc/bus\","
	"\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";
static const char runc_rootless[] =
	"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"effective\":[\"CAP_AUDIT_WRITE\","
	"\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
	"\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"runc\",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":\"/dev\","
	"\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\","
	"\"ptmxmode=0666\",\"mode=0620\"]},{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\","
	"\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
	"\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\","
	"\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],\"linux\":{\"uidMappings\":[{\"containerID\":0,"
	"\"hostID\":0,\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":1}],\"namespaces\":[{\"type\":\"pid\"},"
	"{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"user\"}],\"maskedPaths\":[\"/proc/acpi\","
	"\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\","
	"\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\","
	"\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

/* ' → " */
static char *
J(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* A minimal valid config around a fragment of extra top-level fields. */
#define BASE "'ociVersion': '1.0.2', 'root': {'path': 'rootfs'}"
#define PROC "'process': {'args': ['sh'], 'cwd': '/'}"

/* Parses; returns the error text (caller frees) or NULL on success. */
static char *
parse_error_named(const char *json_q, const char *name)
{
	_cleanup_free_ char *json = J(json_q);
	ferry_error_t err = FERRY_ERROR_INIT;
	ferry_spec_t *spec = NULL;

	if (ferry_spec_parse(json, strlen(json), name, &spec, &err) == 0) {
		ferry_spec_free(spec);
		return NULL;
	}
	if (spec != NULL)
		printf("# spec set on failure\n");
	return err.msg ? err.msg : xstrdup("(error without message)");
}

static char *
parse_error(const char *json_q)
{
	return parse_error_named(json_q, "config.json");
}

#define is_err(json_q, expected) \
	do { \
		_cleanup_free_ char *_m = parse_error(json_q); \
		is_str(_m, expected, "error: %s", expected); \
	} while (0)

static ferry_spec_t *
parse_ok(const char *json_q)
{
	_cleanup_free_ char *json = J(json_q);
	ferry_error_t err = FERRY_ERROR_INIT;
	ferry_spec_t *spec = NULL;

	if (ferry_spec_parse(json, strlen(json), "config.json", &spec, &err) < 0) {
		printf("# unexpected error: %s\n", err.msg);
		ferry_error_clear(&err);
		return NULL;
	}
	return spec;
}

static const struct ferry_mount *
find_mount(const ferry_spec_t *s, const char *dst)
{
	for (size_t i = 0; s && i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dst) == 0)
			return &s->mounts[i];
	return NULL;
}

static bool
cgroup2_unified(void)
{
	struct statfs sf;

	return statfs("/sys/fs/cgroup", &sf) == 0 && (unsigned long) sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Warnings land here so that tests can see them (and they stay off the
 * TAP stream). */
struct captured {
	char buf[4096];
};

static void
capture_handler(enum ferry_log_level level, const char *msg, void *data)
{
	struct captured *c = data;
	size_t n = strlen(c->buf);

	(void) level;
	snprintf(c->buf + n, sizeof(c->buf) - n, "%s\n", msg);
}

/* ---- the default config ----------------------------------------------- */

static void
check_default_matches_runc(bool rootless)
{
	_cleanup_free_ char *ours = ferry_spec_default_json(rootless);
	json_t *a = json_loads(ours, 0, NULL), *b = json_loads(rootless ? runc_rootless : runc_default, 0, NULL);
	char *da, *db;

	ok(a != NULL, "default%s: ferry's output is JSON", rootless ? " (rootless)" : "");
	json_object_set_new(b, "hostname", json_string("ferry"));
	if (rootless) {
		json_t *lx = json_object_get(b, "linux");

		json_object_set_new(json_array_get(json_object_get(lx, "uidMappings"), 0), "hostID",
				    json_integer(geteuid()));
		json_object_set_new(json_array_get(json_object_get(lx, "gidMappings"), 0), "hostID",
				    json_integer(getegid()));
	}
	if (cgroup2_unified()) {
		json_t *nss = json_object_get(json_object_get(b, "linux"), "namespaces");
		json_t *cg = json_pack("{s:s}", "type", "cgroup");

		/* runc appends it after mount, before the rootless user ns */
		json_array_insert_new(nss, rootless ? json_array_size(nss) - 1 : json_array_size(nss), cg);
	}
	/* Compact dumps keep key order, so this checks the order too. */
	da = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	db = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	is_str(da, db, "default%s: same content and key order as runc 1.1 (hostname aside)", rootless ? " (rootless)" : "");
	ok(strstr(ours, "\n  \"process\": {\n    \"terminal\": true") != NULL, "default: indented by two spaces");
	free(da);
	free(db);
	json_decref(a);
	json_decref(b);
}

static void
test_default_spec(void)
{
	_cleanup_free_ char *json = ferry_spec_default_json(false);
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_spec_ ferry_spec_t *s = NULL;
	const struct ferry_mount *m;
	uint64_t caps = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);

	check_default_matches_runc(false);
	check_default_matches_runc(true);

	ok(ferry_spec_parse(json, strlen(json), "config.json", &s, &err) == 0, "default spec parses back");
	if (s == NULL) {
		printf("# %s\n", err.msg);
		ferry_error_clear(&err);
		return;
	}
	is_str(s->raw, json, "raw is the exact text");
	is_str(s->oci_version, "1.0.2-dev", "ociVersion");
	is_str(s->root_path, "rootfs", "root.path");
	ok(s->root_readonly, "root.readonly");
	is_str(s->hostname, "ferry", "hostname");
	ok(s->process->terminal, "terminal");
	ok(s->process->uid == 0 && s->process->gid == 0 && !s->process->has_umask, "user 0:0");
	ok(ferry_strv_len(s->process->args) == 1 && strcmp(s->process->args[0], "sh") == 0, "args [sh]");
	ok(ferry_strv_len(s->process->env) == 2 && strcmp(s->process->env[1], "TERM=xterm") == 0, "env");
	is_str(s->process->cwd, "/", "cwd");
	ok(s->process->caps.present && s->process->caps.bounding == caps && s->process->caps.effective == caps &&
		   s->process->caps.permitted == caps && s->process->caps.ambient == caps &&
		   s->process->caps.inheritable == 0,
	   "capabilities: AUDIT_WRITE, KILL, NET_BIND_SERVICE; no inheritable");
	ok(s->process->n_rlimits == 1 && s->process->rlimits[0].resource == RLIMIT_NOFILE &&
		   s->process->rlimits[0].soft == 1024 && s->process->rlimits[0].hard == 1024,
	   "rlimits: NOFILE 1024/1024");
	ok(s->process->no_new_privileges, "noNewPrivileges");
	ok(s->n_mounts == 7, "7 mounts");
	m = find_mount(s, "/dev");
	ok(m && m->flags == (MS_NOSUID | MS_STRICTATIME) && m->data && strcmp(m->data, "mode=755,size=65536k") == 0 &&
		   !m->bind,
	   "/dev: nosuid,strictatime + mode=755,size=65536k");
	m = find_mount(s, "/dev/pts");
	is_str(m ? m->data : NULL, "newinstance,ptmxmode=0666,mode=0620,gid=5", "/dev/pts data");
	m = find_mount(s, "/sys");
	ok(m && m->flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY) && m->data == NULL, "/sys: ro, no data");
	m = find_mount(s, "/proc");
	ok(m && m->options == NULL && m->flags == 0 && m->data == NULL, "/proc: no options");
	ok(ferry_spec_has_ns(s, CLONE_NEWPID) && ferry_spec_has_ns(s, CLONE_NEWNET) && ferry_spec_has_ns(s, CLONE_NEWIPC) &&
		   ferry_spec_has_ns(s, CLONE_NEWUTS) && ferry_spec_has_ns(s, CLONE_NEWNS) &&
		   !ferry_spec_has_ns(s, CLONE_NEWUSER),
	   "namespaces pid network ipc uts mount, no user");
	ok(ferry_spec_has_ns(s, CLONE_NEWCGROUP) == cgroup2_unified(), "cgroup namespace only on a cgroup2 host (as runc)");
	ok(ferry_spec_get_ns(s, CLONE_NEWPID) && ferry_spec_get_ns(s, CLONE_NEWPID)->path == NULL, "pid ns is new");
	ok(ferry_spec_get_ns(s, CLONE_NEWTIME) == NULL, "no time ns");
	ok(s->linux_.resources.present && s->linux_.resources.n_devices == 1 && !s->linux_.resources.devices[0].allow &&
		   s->linux_.resources.devices[0].type == 'a' && s->linux_.resources.devices[0].major == -1 &&
		   strcmp(s->linux_.resources.devices[0].access, "rwm") == 0,
	   "devices: deny all rwm");
	ok(ferry_strv_len(s->linux_.masked_paths) == 10 && ferry_strv_len(s->linux_.readonly_paths) == 5,
	   "10 masked, 5 read-only paths");
}

static void
test_default_rootless(void)
{
	_cleanup_free_ char *json = ferry_spec_default_json(true);
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_spec_ ferry_spec_t *s = NULL;
	const struct ferry_mount *m;

	ok(ferry_spec_parse(json, strlen(json), "config.json", &s, &err) == 0, "rootless default parses back");
	if (s == NULL) {
		ferry_error_clear(&err);
		return;
	}
	ok(ferry_spec_has_ns(s, CLONE_NEWUSER) && !ferry_spec_has_ns(s, CLONE_NEWNET), "rootless: user ns, no network ns");
	ok(s->linux_.n_uid_mappings == 1 && s->linux_.uid_mappings[0].host_id == geteuid() &&
		   s->linux_.uid_mappings[0].container_id == 0 && s->linux_.uid_mappings[0].size == 1,
	   "rootless: uid mapping 0 -> euid");
	ok(!s->linux_.resources.present, "rootless: no resources");
	m = find_mount(s, "/sys");
	ok(m && m->bind && m->recursive && (m->flags & MS_RDONLY), "rootless: /sys is an rbind, ro");
	m = find_mount(s, "/dev/pts");
	is_str(m ? m->data : NULL, "newinstance,ptmxmode=0666,mode=0620", "rootless: devpts without gid=5");
}

/* ---- the seed article's config ---------------------------------------- */

/* What oci-runtime-tool generate writes for the article's command line:
 * --args /usr/sbin/httpd --args -DFOREGROUND --network host --tmpfs x4
 * --read-only --bind /tmp/rhel7-httpd:/var/www/html */
static const char seed_config[] =
	"{'ociVersion': '1.0.2', 'root': {'path': 'rootfs', 'readonly': true},"
	" 'process': {'terminal': false, 'user': {'uid': 0, 'gid': 0},"
	"   'args': ['/usr/sbin/httpd', '-DFOREGROUND'],"
	"   'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],"
	"   'cwd': '/', 'capabilities': {'bounding': ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']},"
	"   'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}], 'noNewPrivileges': true},"
	" 'hostname': 'mrsdalloway',"
	" 'mounts': ["
	"  {'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
	"  {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw', 'noexec', 'nosuid', 'nodev', 'size=65536k']},"
	"  {'destination': '/run', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw', 'noexec', 'nosuid', 'nodev', 'size=65536k']},"
	"  {'destination': '/var/log/httpd', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw', 'noexec', 'nosuid', 'nodev', 'size=65536k']},"
	"  {'destination': '/run/httpd', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rw', 'noexec', 'nosuid', 'nodev', 'size=65536k']},"
	"  {'destination': '/var/www/html', 'type': 'bind', 'source': '/tmp/rhel7-httpd', 'options': ['rw', 'bind']},"
	"  {'destination': '/srv', 'type': 'none', 'source': '/tmp/x', 'options': ['rbind', 'rw', 'rprivate']}],"
	" 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'}],"
	"   'resources': {'devices': [{'allow': false, 'access': 'rwm'}]},"
	"   'maskedPaths': ['/proc/kcore'], 'readonlyPaths': ['/proc/sys']}}";

static void
test_seed_config(void)
{
	_cleanup_spec_ ferry_spec_t *s = parse_ok(seed_config);
	const char *tmpfs[] = { "/tmp", "/run", "/var/log/httpd", "/run/httpd" };
	const struct ferry_mount *m;

	ok(s != NULL, "seed: the article's config parses");
	if (s == NULL)
		return;
	ok(!ferry_spec_has_ns(s, CLONE_NEWNET), "seed: host network (no network namespace)");
	ok(s->root_readonly, "seed: read-only root");
	ok(ferry_strv_len(s->process->args) == 2 && strcmp(s->process->args[1], "-DFOREGROUND") == 0,
	   "seed: httpd -DFOREGROUND");
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs); i++) {
		m = find_mount(s, tmpfs[i]);
		ok(m && strcmp(m->type, "tmpfs") == 0 && m->flags == (MS_NOEXEC | MS_NOSUID | MS_NODEV) &&
			   m->clear == MS_RDONLY && m->propagation == 0 && !m->bind && m->data &&
			   strcmp(m->data, "size=65536k") == 0,
		   "seed: tmpfs %s: rw,noexec,nosuid,nodev + size=65536k", tmpfs[i]);
	}
	m = find_mount(s, "/var/www/html");
	ok(m && m->bind && !m->recursive && m->flags == MS_BIND && m->clear == MS_RDONLY && m->data == NULL &&
		   strcmp(m->source, "/tmp/rhel7-httpd") == 0,
	   "seed: /tmp/rhel7-httpd bound rw (bind, not recursive)");
	m = find_mount(s, "/srv");
	ok(m && m->bind && m->recursive && m->flags == (MS_BIND | MS_REC) && m->clear == MS_RDONLY &&
		   m->propagation == (MS_PRIVATE | MS_REC) && m->data == NULL,
	   "seed: rbind,rw,rprivate: bind+recursive, rprivate");
	ok(s->process->caps.bounding == ((1ULL << CAP_CHOWN) | (1ULL << CAP_NET_BIND_SERVICE)) &&
		   s->process->caps.effective == 0,
	   "seed: only the sets given are filled");
}

/* ---- mount options ----------------------------------------------------- */

static struct ferry_mount
mount_with(const char *type, const char *const *opts)
{
	struct ferry_mount m = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;

	m.type = type ? xstrdup(type) : NULL;
	for (; opts && *opts; opts++)
		ferry_strv_append(&m.options, *opts);
	if (ferry_spec_parse_mount_options(&m, &err) < 0) {
		printf("# %s\n", err.msg);
		ferry_error_clear(&err);
	}
	return m;
}

static void
mount_clear(struct ferry_mount *m)
{
	free(m->type);
	ferry_strv_free(m->options);
	free(m->data);
}

static void
test_mount_options(void)
{
	struct ferry_mount m;

	m = mount_with(NULL, (const char *[]){ "ro", "rw", NULL });
	ok(m.flags == 0 && m.clear == MS_RDONLY, "mount: ro,rw ends read-write (last wins)");
	mount_clear(&m);
	m = mount_with(NULL, (const char *[]){ "rw", "ro", "nosuid", "suid", "nodev", "noexec", "sync", "dirsync",
					       "remount", "mand", "noatime", "nodiratime", "relatime", "strictatime",
					       "lazytime", "silent", "iversion", "acl", "nosymfollow", NULL });
	ok(m.flags == (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK |
		       MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME | MS_SILENT |
		       MS_I_VERSION | MS_POSIXACL | MS_NOSYMFOLLOW) &&
		   m.clear == MS_NOSUID && m.data == NULL,
	   "mount: every flag that sets");
	mount_clear(&m);
	m = mount_with(NULL, (const char *[]){ "suid", "dev", "exec", "async", "nomand", "atime", "diratime",
					       "norelatime", "nostrictatime", "nolazytime", "loud", "noiversion",
					       "noacl", "symfollow", "defaults", NULL });
	ok(m.flags == 0 &&
		   m.clear == (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_MANDLOCK | MS_NOATIME |
			       MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME | MS_SILENT | MS_I_VERSION |
			       MS_POSIXACL | MS_NOSYMFOLLOW) &&
		   m.data == NULL,
	   "mount: every flag that clears; defaults is nothing");
	mount_clear(&m);

	const struct {
		const char *opt;
		unsigned long prop;
	} props[] = {
		{ "shared", MS_SHARED },
		{ "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },
		{ "rslave", MS_SLAVE | MS_REC },
		{ "private", MS_PRIVATE },
		{ "rprivate", MS_PRIVATE | MS_REC },
		{ "unbindable", MS_UNBINDABLE },
		{ "runbindable", MS_UNBINDABLE | MS_REC },
	};
	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		m = mount_with(NULL, (const char *[]){ props[i].opt, NULL });
		ok(m.propagation == props[i].prop && m.flags == 0 && m.data == NULL, "mount: propagation %s",
		   props[i].opt);
		mount_clear(&m);
	}
	m = mount_with(NULL, (const char *[]){ "shared", "rslave", NULL });
	ok(m.propagation == (MS_SLAVE | MS_REC), "mount: last propagation wins");
	mount_clear(&m);

	m = mount_with("none", (const char *[]){ "bind", NULL });
	ok(m.bind && !m.recursive && m.flags == MS_BIND, "mount: bind");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rbind", NULL });
	ok(m.bind && m.recursive && m.flags == (MS_BIND | MS_REC), "mount: rbind = bind + recursive");
	mount_clear(&m);
	m = mount_with("bind", NULL);
	ok(m.bind && !m.recursive && m.flags == MS_BIND, "mount: type bind alone is a bind mount");
	mount_clear(&m);
	m = mount_with("tmpfs", (const char *[]){ "tmpcopyup", "mode=755", "", "size=65536k", NULL });
	ok(m.tmpcopyup && !m.bind && m.data && strcmp(m.data, "mode=755,size=65536k") == 0,
	   "mount: tmpcopyup; data joined with ',' (empty entries dropped)");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rbind", "idmap", NULL });
	ok(m.idmap && !m.idmap_recursive, "mount: idmap");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rbind", "ridmap", NULL });
	ok(m.idmap && m.idmap_recursive, "mount: ridmap");
	mount_clear(&m);

	m = mount_with("none", (const char *[]){ "rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime",
						 "rnosymfollow", NULL });
	ok(m.rec_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
			      MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW) &&
		   m.rec_attr_clr == 0 && m.flags == (MS_BIND | MS_REC),
	   "mount: recursive attributes that set");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rro", "rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow", NULL });
	ok(m.rec_attr_set == 0 &&
		   m.rec_attr_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
				      MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW),
	   "mount: recursive attributes that clear (rrw undoes rro)");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rstrictatime", "rnoatime", NULL });
	ok(m.rec_attr_set == MOUNT_ATTR_NOATIME && m.rec_attr_clr == MOUNT_ATTR__ATIME,
	   "mount: recursive atime: last mode wins, whole field cleared");
	mount_clear(&m);
	m = mount_with("none", (const char *[]){ "rnoatime", "ratime", NULL });
	ok(m.rec_attr_set == MOUNT_ATTR_RELATIME && m.rec_attr_clr == MOUNT_ATTR__ATIME,
	   "mount: ratime returns to relatime");
	mount_clear(&m);
}

/* ---- errors ------------------------------------------------------------ */

static void
test_json_errors(void)
{
	_cleanup_free_ char *m = NULL, *m2 = NULL;

	is_err("{'ociVersion': '1.0.2',\n 'root': {\n   'path': x}}",
	       "config.json: line 3 column 12: invalid JSON: invalid token near 'x'");
	is_err("", "config.json: line 1 column 0: invalid JSON: '[' or '{' expected near end of file");
	is_err("[1, 2]", "config.json: .: expected an object, got an array");
	/* A literal too big for jansson is rewritten before parsing; the
	 * column of a later error must still be the user's. */
	m = parse_error("{'a': 18446744073709551616, 'b': x}");
	m2 = parse_error("{'a': 1.844674407370955161, 'b': x}");
	ok(m && m2 && strstr(m, "column 34") && strstr(m2, "column 34"),
	   "big integer: error column counts the original text (%s)", m ? m : "(null)");
	is_err("{18446744073709551616: 1}",
	       "config.json: line 1 column 21: invalid JSON: an object key must be a string");
	is_err("{'a': 18446744073709551616, 'b': '\\u0000'}",
	       "config.json: line 1 column 35: invalid JSON: \\u0000 is not allowed in a string");
	{
		_cleanup_free_ char *e = parse_error("{'a': '\\u0000'}");

		ok(e && strstr(e, "config.json: line 1 column ") && strstr(e, "invalid JSON"),
		   "\\u0000 refused by jansson itself (%s)", e ? e : "(null)");
	}
	{
		_cleanup_free_ char *e = parse_error_named("{", "/b/config.json");

		ok(e && strncmp(e, "/b/config.json: line 1 column 1: invalid JSON: ", 47) == 0,
		   "the file name is the one given (%s)", e ? e : "(null)");
	}
}

static void
test_required(void)
{
	is_err("{'root': {'path': 'rootfs'}, " PROC "}",
	       "config.json: .ociVersion: missing required field (expected a version string such as \"1.0.2\")");
	is_err("{'ociVersion': '', 'root': {'path': 'rootfs'}, " PROC "}",
	       "config.json: .ociVersion: expected a version string such as \"1.0.2\", got \"\"");
	is_err("{'ociVersion': '1.0.2', " PROC "}", "config.json: .root: missing required field (expected an object with a path)");
	is_err("{'ociVersion': '1.0.2', 'root': {'readonly': true}, " PROC "}",
	       "config.json: .root.path: missing required field (expected a string)");
	is_err("{'ociVersion': '1.0.2', 'root': {'path': ''}, " PROC "}",
	       "config.json: .root.path: expected a non-empty string, got \"\"");
	is_err("{" BASE "}", "config.json: .process: missing required field (expected an object)");
	is_err("{" BASE ", 'process': {'cwd': '/'}}",
	       "config.json: .process.args: missing required field (expected a non-empty array of strings)");
	is_err("{" BASE ", 'process': {'args': [], 'cwd': '/'}}",
	       "config.json: .process.args: expected a non-empty array of strings, got an empty array");
	is_err("{" BASE ", 'process': {'args': ['sh']}}",
	       "config.json: .process.cwd: missing required field (expected an absolute path)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': 'tmp'}}",
	       "config.json: .process.cwd: expected an absolute path, got \"tmp\"");
	is_err("{" BASE ", " PROC ", 'mounts': [{'type': 'tmpfs'}]}",
	       "config.json: .mounts[0].destination: missing required field (expected a path)");
	is_err("{" BASE ", " PROC ", 'hooks': {'prestart': [{'path': 'hook'}]}}",
	       "config.json: .hooks.prestart[0].path: expected an absolute path, got \"hook\"");
	is_err("{" BASE ", " PROC ", 'hooks': {'poststop': [{'args': []}]}}",
	       "config.json: .hooks.poststop[0].path: missing required field (expected an absolute path)");
	is_err("{" BASE ", " PROC ", 'hooks': {'createRuntime': [{'path': '/bin/true', 'timeout': 0}]}}",
	       "config.json: .hooks.createRuntime[0].timeout: 0 is out of range (expected an integer from 1 to 2147483647)");
	is_err("{" BASE ", " PROC ", 'linux': {'namespaces': [{'path': '/proc/1/ns/net'}]}}",
	       "config.json: .linux.namespaces[0].type: missing required field (expected one of pid, network, mount, ipc, uts, user, cgroup, time)");
}

static void
test_type_errors(void)
{
	is_err("{" BASE ", 'process': {'args': ['sh', 1], 'cwd': '/'}}",
	       "config.json: .process.args[1]: expected a string, got a number");
	is_err("{" BASE ", 'process': {'args': 'sh', 'cwd': '/'}}", "config.json: .process.args: expected an array, got a string");
	is_err("{" BASE ", 'process': {'terminal': 'yes', 'args': ['sh'], 'cwd': '/'}}",
	       "config.json: .process.terminal: expected a boolean, got a string");
	is_err("{" BASE ", 'process': []}", "config.json: .process: expected an object, got an array");
	is_err("{" BASE ", " PROC ", 'mounts': {}}", "config.json: .mounts: expected an array, got an object");
	is_err("{" BASE ", " PROC ", 'mounts': [{'destination': '/a', 'options': ['ro', true]}]}",
	       "config.json: .mounts[0].options[1]: expected a string, got a boolean");
	is_err("{" BASE ", " PROC ", 'hostname': 7}", "config.json: .hostname: expected a string, got a number");
	is_err("{" BASE ", " PROC ", 'linux': []}", "config.json: .linux: expected an object, got an array");
	is_err("{" BASE ", " PROC ", 'annotations': {'org.example/key': 1}}",
	       "config.json: .annotations[\"org.example/key\"]: expected a string, got a number");
	is_err("{" BASE ", " PROC ", 'linux': {'sysctl': {'net.ipv4.ip_forward': 1}}}",
	       "config.json: .linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got a number");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': '0'}}}",
	       "config.json: .process.user.uid: expected an integer, got a string");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': 1.5}}}",
	       "config.json: .process.user.uid: expected an integer, got 1.5");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': 1.0}}}",
	       "config.json: .process.user.uid: expected an integer, got 1.0");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'env': ['A=1', 'B']}}",
	       "config.json: .process.env[1]: invalid environment variable \"B\" (expected NAME=VALUE)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'env': ['=x']}}",
	       "config.json: .process.env[0]: invalid environment variable \"=x\" (expected NAME=VALUE)");
	/* Control characters are escaped in messages. */
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': 'a\\nb'}}",
	       "config.json: .process.cwd: expected an absolute path, got \"a\\x0ab\"");
}

static void
test_ranges(void)
{
	_cleanup_spec_ ferry_spec_t *s = NULL;

	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': 4294967296}}}",
	       "config.json: .process.user.uid: 4294967296 is out of range (expected an integer from 0 to 4294967295)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': -1}}}",
	       "config.json: .process.user.uid: -1 is out of range (expected an integer from 0 to 4294967295)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'gid': -9223372036854775809}}}",
	       "config.json: .process.user.gid: -9223372036854775809 is out of range (expected an integer from 0 to 4294967295)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'additionalGids': [5, 99999999999]}}}",
	       "config.json: .process.user.additionalGids[1]: 99999999999 is out of range (expected an integer from 0 to 4294967295)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'umask': 512}}}",
	       "config.json: .process.user.umask: 512 is out of range (expected an integer from 0 to 511)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'oomScoreAdj': -1001}}",
	       "config.json: .process.oomScoreAdj: -1001 is out of range (expected an integer from -1000 to 1000)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'consoleSize': {'height': 70000, 'width': 80}}}",
	       "config.json: .process.consoleSize.height: 70000 is out of range (expected an integer from 0 to 65535)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_CORE', 'soft': 0, 'hard': 18446744073709551616}]}}",
	       "config.json: .process.rlimits[0].hard: 18446744073709551616 is out of range (expected an integer from 0 to 18446744073709551615)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'memory': {'limit': 9223372036854775808}}}}",
	       "config.json: .linux.resources.memory.limit: 9223372036854775808 is out of range (expected an integer from -1 to 9223372036854775807)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'memory': {'limit': -2}}}}",
	       "config.json: .linux.resources.memory.limit: -2 is out of range (expected an integer from -1 to 9223372036854775807)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'memory': {'swappiness': 101}}}}",
	       "config.json: .linux.resources.memory.swappiness: 101 is out of range (expected an integer from 0 to 100)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'blockIO': {'weight': 65536}}}}",
	       "config.json: .linux.resources.blockIO.weight: 65536 is out of range (expected an integer from 0 to 65535)");
	is_err("{" BASE ", " PROC ", 'linux': {'uidMappings': [{'containerID': 0, 'hostID': 4294967296, 'size': 1}], 'namespaces': [{'type': 'user'}]}}",
	       "config.json: .linux.uidMappings[0].hostID: 4294967296 is out of range (expected an integer from 0 to 4294967295)");
	{
		char big[200];

		memset(big, '9', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		_cleanup_free_ char *cfg = xasprintf("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': %s}}}", big);
		_cleanup_free_ char *e = parse_error(cfg);
		ok(e && strstr(e, ".process.user.uid: 9999999999999999999999999999999999999999999999999999999999999999... is out of range"),
		   "a 199-digit number is cut in the message");
	}

	/* RLIM_INFINITY as Podman writes it: past jansson's long long. */
	s = parse_ok("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_CORE', 'soft': 18446744073709551615, 'hard': 18446744073709551615}, {'type': 'RLIMIT_NOFILE', 'soft': 9223372036854775807, 'hard': 9223372036854775808}]},"
		     " 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['personality'], 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': 18446744073709551615, 'op': 'SCMP_CMP_EQ'}]}]}}}");
	ok(s && s->process->rlimits[0].soft == UINT64_MAX && s->process->rlimits[0].hard == UINT64_MAX &&
		   s->process->rlimits[1].soft == (uint64_t) INT64_MAX && s->process->rlimits[1].hard == (uint64_t) INT64_MAX + 1,
	   "uint64 values up to 2^64-1 (RLIM_INFINITY) parse");
	ok(s && s->linux_.seccomp->rules[0].args[0].value == UINT64_MAX, "seccomp argument value 2^64-1 parses");
	ferry_spec_freep(&s);
	s = parse_ok("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'user': {'uid': 4294967295, 'gid': 0}}}");
	ok(s && s->process->uid == 4294967295u, "uid 2^32-1 is fine");
	ferry_spec_freep(&s);
	/* Podman's fileMode is the host's st_mode: 0020600 for a char device */
	s = parse_ok("{" BASE ", " PROC ", 'linux': {'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 8576}]}}");
	ok(s && s->linux_.n_devices == 1 && s->linux_.devices[0].has_mode && s->linux_.devices[0].file_mode == 0600,
	   "devices: fileMode with the file type bits keeps the permission bits");
	ferry_spec_freep(&s);
	is_err("{" BASE ", " PROC ", 'linux': {'devices': [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 1, 'fileMode': 65536}]}}",
	       "config.json: .linux.devices[0].fileMode: 65536 is out of range (expected an integer from 0 to 65535)");
	/* a big integer is a number, not a string, wherever a string is due */
	is_err("{" BASE ", " PROC ", 'hostname': 99999999999999999999}", "config.json: .hostname: expected a string, got a number");
}

static void
test_namespace_errors(void)
{
	is_err("{" BASE ", " PROC ", 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'uts'}, {'type': 'foo'}]}}",
	       "config.json: .linux.namespaces[2].type: unknown namespace type \"foo\" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)");
	is_err("{" BASE ", " PROC ", 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'mount'}, {'type': 'pid'}]}}",
	       "config.json: .linux.namespaces[2].type: duplicate namespace type \"pid\" (also in [0])");
	is_err("{" BASE ", " PROC ", 'linux': {'namespaces': [{'type': 'network', 'path': 'run/netns/x'}]}}",
	       "config.json: .linux.namespaces[0].path: expected an absolute path, got \"run/netns/x\"");
	is_err("{" BASE ", " PROC ", 'hostname': 'h', 'linux': {'namespaces': [{'type': 'pid'}]}}",
	       "config.json: .hostname: setting it needs a UTS namespace (add {\"type\": \"uts\"} to .linux.namespaces)");
	is_err("{" BASE ", " PROC ", 'linux': {'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}]}}",
	       "config.json: .linux.uidMappings: ID mappings need a user namespace (add {\"type\": \"user\"} to .linux.namespaces)");
	is_err("{" BASE ", " PROC ", 'linux': {'timeOffsets': {'monotonic': {'secs': 10}}}}",
	       "config.json: .linux.timeOffsets: time offsets need a time namespace (add {\"type\": \"time\"} to .linux.namespaces)");
	is_err("{" BASE ", " PROC ", 'linux': {'uidMappings': [{'containerID': 0, 'size': 1}]}}",
	       "config.json: .linux.uidMappings[0].hostID: missing required field (expected an integer)");
}

static void
test_process_errors(void)
{
	struct captured cap = { { 0 } };
	_cleanup_spec_ ferry_spec_t *s = NULL;

	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'capabilities': {'bounding': ['CAP_KILL', 'cap_chown']}}}",
	       "config.json: .process.capabilities.bounding[1]: invalid capability name \"cap_chown\" (expected CAP_ and an upper-case name, e.g. CAP_KILL)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'capabilities': {'ambient': ['SYS_ADMIN']}}}",
	       "config.json: .process.capabilities.ambient[0]: invalid capability name \"SYS_ADMIN\" (expected CAP_ and an upper-case name, e.g. CAP_KILL)");
	ferry_log_set_handler(capture_handler, &cap);
	s = parse_ok("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'capabilities': {'permitted': ['CAP_KILL', 'CAP_FUTURE_THING']}}}");
	ferry_log_set_handler(NULL, NULL);
	ok(s && s->process->caps.permitted == (1ULL << CAP_KILL), "a well-formed unknown capability is dropped");
	ok(strstr(cap.buf, "config.json: .process.capabilities.permitted[1]: unknown capability CAP_FUTURE_THING, ignored") != NULL,
	   "... with a warning naming the path");
	if (strstr(cap.buf, "CAP_FUTURE_THING") == NULL)
		printf("#   log: %s", cap.buf);
	ferry_spec_freep(&s);

	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_FOO', 'soft': 1, 'hard': 1}]}}",
	       "config.json: .process.rlimits[0].type: unknown resource limit \"RLIMIT_FOO\" (expected RLIMIT_ and a name from getrlimit(2), e.g. RLIMIT_NOFILE)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'nofile', 'soft': 1, 'hard': 1}]}}",
	       "config.json: .process.rlimits[0].type: unknown resource limit \"nofile\" (expected RLIMIT_ and a name from getrlimit(2), e.g. RLIMIT_NOFILE)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}, {'type': 'RLIMIT_NOFILE', 'soft': 2, 'hard': 2}]}}",
	       "config.json: .process.rlimits[1].type: duplicate resource limit RLIMIT_NOFILE (also in [0])");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 2048, 'hard': 1024}]}}",
	       "config.json: .process.rlimits[0].soft: 2048 is above the hard limit 1024");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1}]}}",
	       "config.json: .process.rlimits[0].hard: missing required field (expected an integer)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'ioPriority': {'class': 'IOPRIO_CLASS_FAST', 'priority': 1}}}",
	       "config.json: .process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_FAST\" (expected one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'ioPriority': {'class': 'IOPRIO_CLASS_BE', 'priority': 8}}}",
	       "config.json: .process.ioPriority.priority: 8 is out of range (expected an integer from 0 to 7)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'scheduler': {'policy': 'SCHED_FAST'}}}",
	       "config.json: .process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\" (expected one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'scheduler': {'policy': 'SCHED_OTHER', 'flags': ['SCHED_FLAG_X']}}}",
	       "config.json: .process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_X\" (expected SCHED_FLAG_ and a name from sched_setattr(2), e.g. SCHED_FLAG_RESET_ON_FORK)");
	is_err("{" BASE ", 'process': {'args': ['sh'], 'cwd': '/', 'scheduler': {'policy': 'SCHED_OTHER', 'nice': 20}}}",
	       "config.json: .process.scheduler.nice: 20 is out of range (expected an integer from -20 to 19)");
}

static void
test_linux_errors(void)
{
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_NOPE'}}}",
	       "config.json: .linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\" (expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'architectures': ['SCMP_ARCH_X86_64']}}}",
	       "config.json: .linux.seccomp.defaultAction: missing required field (expected an action such as \"SCMP_ACT_ERRNO\")");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'defaultErrnoRet': 1}}}",
	       "config.json: .linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['X86_64']}}}",
	       "config.json: .linux.seccomp.architectures[0]: unknown architecture (expected SCMP_ARCH_ and a name, e.g. SCMP_ARCH_X86_64) \"X86_64\"");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['kill'], 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}}}",
	       "config.json: .linux.seccomp.syscalls[0].args[0].index: 6 is out of range (expected an integer from 0 to 5)");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['kill'], 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': 1, 'op': 'EQ'}]}]}}}",
	       "config.json: .linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"EQ\" (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': [], 'action': 'SCMP_ACT_ERRNO'}]}}}",
	       "config.json: .linux.seccomp.syscalls[0].names: expected a non-empty array of system call names, got an empty array");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['kill'], 'action': 'SCMP_ACT_NOTIFY'}]}}}",
	       "config.json: .linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs .linux.seccomp.listenerPath");
	is_err("{" BASE ", " PROC ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ['SECCOMP_FILTER_FLAG_FAST']}}}",
	       "config.json: .linux.seccomp.flags[0]: unknown seccomp flag (expected one of SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) \"SECCOMP_FILTER_FLAG_FAST\"");
	is_err("{" BASE ", " PROC ", 'linux': {'devices': [{'path': '/dev/x', 'type': 'x', 'major': 1, 'minor': 1}]}}",
	       "config.json: .linux.devices[0].type: unknown device type \"x\" (expected one of c, b, u, p)");
	is_err("{" BASE ", " PROC ", 'linux': {'devices': [{'path': '/dev/x', 'type': 'c', 'minor': 1}]}}",
	       "config.json: .linux.devices[0].major: missing required field (expected an integer)");
	is_err("{" BASE ", " PROC ", 'linux': {'devices': [{'path': 'dev/x', 'type': 'p'}]}}",
	       "config.json: .linux.devices[0].path: expected an absolute path, got \"dev/x\"");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'devices': [{'allow': true, 'access': 'rwx'}]}}}",
	       "config.json: .linux.resources.devices[0].access: invalid device access \"rwx\" (expected letters from \"rwm\")");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'devices': [{'access': 'r'}]}}}",
	       "config.json: .linux.resources.devices[0].allow: missing required field (expected a boolean)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'devices': [{'allow': true, 'type': 'p'}]}}}",
	       "config.json: .linux.resources.devices[0].type: unknown device type \"p\" (expected one of a, b, c)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'pids': {}}}}",
	       "config.json: .linux.resources.pids.limit: missing required field (expected an integer)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'blockIO': {'throttleReadBpsDevice': [{'major': 8, 'minor': 0}]}}}}",
	       "config.json: .linux.resources.blockIO.throttleReadBpsDevice[0].rate: missing required field (expected an integer)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'hugepageLimits': [{'pageSize': '2MB', 'limit': -1}]}}}",
	       "config.json: .linux.resources.hugepageLimits[0].limit: -1 is out of range (expected an integer from 0 to 18446744073709551615)");
	is_err("{" BASE ", " PROC ", 'linux': {'resources': {'unified': {'memory.max': 5}}}}",
	       "config.json: .linux.resources.unified[\"memory.max\"]: expected a string, got a number");
	is_err("{" BASE ", " PROC ", 'linux': {'rootfsPropagation': 'shared-ish'}}",
	       "config.json: .linux.rootfsPropagation: unknown propagation \"shared-ish\" (expected one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable)");
	is_err("{" BASE ", " PROC ", 'linux': {'maskedPaths': ['/proc/kcore', 'proc/keys']}}",
	       "config.json: .linux.maskedPaths[1]: expected an absolute path, got \"proc/keys\"");
	is_err("{" BASE ", " PROC ", 'linux': {'personality': {'domain': 'LINUX64'}}}",
	       "config.json: .linux.personality.domain: unknown personality domain \"LINUX64\" (expected LINUX or LINUX32)");
	is_err("{" BASE ", " PROC ", 'linux': {'namespaces': [{'type': 'time'}], 'timeOffsets': {'boottime': {'secs': 1, 'nanosecs': 1000000000}}}}",
	       "config.json: .linux.timeOffsets.boottime.nanosecs: 1000000000 is out of range (expected an integer from 0 to 999999999)");
	is_err("{" BASE ", " PROC ", 'mounts': [{'destination': '/a', 'uidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]}]}",
	       "config.json: .mounts[0]: uidMappings and gidMappings must be given together");
}

/* ---- a config using every field ---------------------------------------- */

static const char full_config[] =
	"{'ociVersion': '1.2.0', 'root': {'path': '/b/rootfs', 'readonly': false},"
	" 'unknownTopLevel': {'ignored': [1, 2, 3]},"
	" 'process': {'terminal': true, 'consoleSize': {'height': 24, 'width': 80},"
	"   'user': {'uid': 1000, 'gid': 100, 'umask': 18, 'additionalGids': [5, 6, 7], 'username': 'ignored'},"
	"   'args': ['/bin/app', '--flag'], 'env': ['A=1', 'B='], 'cwd': '/work',"
	"   'capabilities': {'bounding': ['CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE'], 'effective': ['CAP_SYS_ADMIN'],"
	"     'inheritable': [], 'permitted': ['CAP_SYS_ADMIN'], 'ambient': null},"
	"   'rlimits': [{'type': 'RLIMIT_NPROC', 'soft': 10, 'hard': 20}, {'type': 'RLIMIT_RTTIME', 'soft': 1, 'hard': 1}],"
	"   'noNewPrivileges': false, 'apparmorProfile': 'ferry-default', 'selinuxLabel': 'system_u:system_r:container_t:s0',"
	"   'oomScoreAdj': -500, 'ioPriority': {'class': 'IOPRIO_CLASS_IDLE', 'priority': 7},"
	"   'scheduler': {'policy': 'SCHED_DEADLINE', 'nice': -5, 'priority': 0, 'flags': ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_UTIL_CLAMP_MAX'],"
	"     'runtime': 1000000, 'deadline': 2000000, 'period': 3000000}},"
	" 'hostname': 'full', 'domainname': 'example.org',"
	" 'mounts': [{'destination': 'relative/dest', 'type': 'tmpfs', 'source': 'tmpfs', 'options': null},"
	"   {'destination': '/data', 'type': 'none', 'source': '/srv/data', 'options': ['rbind', 'ridmap'],"
	"    'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}], 'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}]}],"
	" 'hooks': {'prestart': [{'path': '/bin/a'}], 'createRuntime': [{'path': '/bin/b', 'args': ['b', '1'], 'env': ['X=1'], 'timeout': 5}],"
	"   'createContainer': [{'path': '/bin/c'}, {'path': '/bin/c2'}], 'startContainer': [{'path': '/bin/d'}], 'poststart': [{'path': '/bin/e'}],"
	"   'poststop': [{'path': '/bin/f'}]},"
	" 'annotations': {'org.opencontainers.image.os': 'linux', 'x': ''},"
	" 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/var/run/netns/n1'}, {'type': 'mount'}, {'type': 'ipc'},"
	"     {'type': 'uts'}, {'type': 'user'}, {'type': 'cgroup'}, {'type': 'time'}],"
	"   'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}, {'containerID': 1, 'hostID': 100000, 'size': 65536}],"
	"   'gidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}],"
	"   'sysctl': {'net.ipv4.ip_forward': '1', 'kernel.msgmax': '8192'},"
	"   'resources': {'memory': {'limit': 536870912, 'reservation': 268435456, 'swap': -1, 'kernel': 1, 'swappiness': 60, 'disableOOMKiller': true},"
	"     'cpu': {'shares': 1024, 'quota': 50000, 'burst': 1000, 'period': 100000, 'realtimeRuntime': 950000, 'realtimePeriod': 1000000,"
	"       'cpus': '0-1', 'mems': '0', 'idle': 1},"
	"     'pids': {'limit': 100},"
	"     'blockIO': {'weight': 500, 'leafWeight': 300, 'weightDevice': [{'major': 8, 'minor': 0, 'weight': 600}],"
	"       'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}], 'throttleWriteBpsDevice': [{'major': 8, 'minor': 16, 'rate': 2}],"
	"       'throttleReadIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 3}], 'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 4}]},"
	"     'hugepageLimits': [{'pageSize': '2MB', 'limit': 209715200}],"
	"     'network': {'classID': 1048577}, 'rdma': {},"
	"     'devices': [{'allow': false, 'access': 'rwm'}, {'allow': true, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'mwr'},"
	"       {'allow': true, 'type': 'b', 'major': 8, 'minor': null, 'access': 'r'}],"
	"     'unified': {'memory.high': '1G', 'io.weight': 'default 100'}},"
	"   'cgroupsPath': '/ferry/full', 'rootfsPropagation': 'rslave',"
	"   'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1, 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],"
	"     'flags': ['SECCOMP_FILTER_FLAG_LOG'], 'listenerPath': '/run/seccomp.sock', 'listenerMetadata': 'meta',"
	"     'syscalls': [{'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},"
	"       {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 8, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
	"       {'names': ['mkdir'], 'action': 'SCMP_ACT_NOTIFY'}, {'names': ['kill'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 13}]},"
	"   'maskedPaths': ['/proc/kcore'], 'readonlyPaths': ['/proc/sys', '/proc/bus'], 'mountLabel': 'system_u:object_r:container_file_t:s0',"
	"   'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 438, 'uid': 0, 'gid': 0},"
	"     {'path': '/dev/fifo', 'type': 'p'}],"
	"   'personality': {'domain': 'LINUX32', 'flags': ['ADDR_NO_RANDOMIZE']},"
	"   'timeOffsets': {'monotonic': {'secs': -10, 'nanosecs': 5}, 'boottime': {'secs': 86400}, 'realtime': {'secs': 1}},"
	"   'intelRdt': {'closID': 'ignored'}}}";

static void
test_full_config(void)
{
	struct captured cap = { { 0 } };
	_cleanup_spec_ ferry_spec_t *s = NULL;
	const struct ferry_process *p;
	const struct ferry_linux *l;
	const struct ferry_resources *r;
	const struct ferry_seccomp *sc;
	const struct ferry_mount *m;

	ferry_log_set_handler(capture_handler, &cap);
	s = parse_ok(full_config);
	ferry_log_set_handler(NULL, NULL);
	ok(s != NULL, "full: a config using every field parses (unknown fields ignored)");
	if (s == NULL)
		return;
	p = s->process;
	l = &s->linux_;
	r = &l->resources;
	sc = l->seccomp;
	ok(p->console_height == 24 && p->console_width == 80, "full: consoleSize");
	ok(p->uid == 1000 && p->gid == 100 && p->has_umask && p->umask == 022 && p->n_additional_gids == 3 &&
		   p->additional_gids[2] == 7,
	   "full: user uid/gid/umask/additionalGids");
	ok(ferry_strv_len(p->env) == 2 && strcmp(p->env[1], "B=") == 0 && strcmp(p->cwd, "/work") == 0, "full: env, cwd");
	ok(p->caps.bounding == ((1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_CHECKPOINT_RESTORE)) &&
		   p->caps.effective == (1ULL << CAP_SYS_ADMIN) && p->caps.inheritable == 0 && p->caps.ambient == 0,
	   "full: capabilities incl. CAP_CHECKPOINT_RESTORE; null set is empty");
	ok(p->n_rlimits == 2 && p->rlimits[0].resource == RLIMIT_NPROC && p->rlimits[0].hard == 20 &&
		   p->rlimits[1].resource == RLIMIT_RTTIME,
	   "full: rlimits");
	ok(!p->no_new_privileges && strcmp(p->apparmor_profile, "ferry-default") == 0 &&
		   strcmp(p->selinux_label, "system_u:system_r:container_t:s0") == 0,
	   "full: nnp, apparmor, selinux");
	ok(p->has_oom_score_adj && p->oom_score_adj == -500, "full: oomScoreAdj");
	ok(p->has_io_priority && p->io_priority_class == 3 && p->io_priority == 7, "full: ioPriority");
	ok(p->has_scheduler && p->sched_policy == 6 && p->sched_nice == -5 && p->sched_flags == (0x01 | 0x40) &&
		   p->sched_runtime == 1000000 && p->sched_deadline == 2000000 && p->sched_period == 3000000,
	   "full: scheduler");
	is_str(s->domainname, "example.org", "full: domainname");
	m = find_mount(s, "relative/dest");
	ok(m && m->options == NULL && strstr(cap.buf, ".mounts[0].destination: relative/dest is not an absolute path"),
	   "full: relative destination kept, with a warning");
	m = find_mount(s, "/data");
	ok(m && m->idmap && m->idmap_recursive && m->n_uid_mappings == 1 && m->uid_mappings[0].host_id == 100000 &&
		   m->gid_mappings[0].size == 65536,
	   "full: idmapped mount with its own mappings");
	ok(s->n_hooks[FERRY_HOOK_PRESTART] == 1 && s->n_hooks[FERRY_HOOK_CREATE_RUNTIME] == 1 &&
		   s->n_hooks[FERRY_HOOK_CREATE_CONTAINER] == 2 && s->n_hooks[FERRY_HOOK_START_CONTAINER] == 1 &&
		   s->n_hooks[FERRY_HOOK_POSTSTART] == 1 && s->n_hooks[FERRY_HOOK_POSTSTOP] == 1,
	   "full: all six hook kinds");
	ok(s->hooks[FERRY_HOOK_CREATE_RUNTIME][0].timeout == 5 &&
		   strcmp(s->hooks[FERRY_HOOK_CREATE_RUNTIME][0].args[1], "1") == 0 &&
		   strcmp(s->hooks[FERRY_HOOK_CREATE_RUNTIME][0].env[0], "X=1") == 0 &&
		   s->hooks[FERRY_HOOK_PRESTART][0].timeout == 0,
	   "full: hook path/args/env/timeout");
	ok(s->n_annotations == 2 && strcmp(s->annotations[0].key, "org.opencontainers.image.os") == 0 &&
		   strcmp(s->annotations[1].value, "") == 0,
	   "full: annotations in order");
	ok(l->n_namespaces == 8 && strcmp(ferry_spec_get_ns(s, CLONE_NEWNET)->path, "/var/run/netns/n1") == 0 &&
		   ferry_spec_has_ns(s, CLONE_NEWTIME),
	   "full: eight namespaces, one joined by path");
	ok(l->n_uid_mappings == 2 && l->uid_mappings[1].container_id == 1 && l->uid_mappings[1].size == 65536 &&
		   l->n_gid_mappings == 1,
	   "full: uid/gid mappings");
	ok(l->n_sysctl == 2 && strcmp(l->sysctl[1].key, "kernel.msgmax") == 0 && strcmp(l->sysctl[1].value, "8192") == 0,
	   "full: sysctl");
	ok(r->has_mem_limit && r->mem_limit == 536870912 && r->mem_reservation == 268435456 && r->has_mem_swap &&
		   r->mem_swap == -1 && r->mem_swappiness == 60 && r->disable_oom_killer,
	   "full: memory");
	ok(r->cpu_shares == 1024 && r->cpu_quota == 50000 && r->has_cpu_burst && r->cpu_burst == 1000 &&
		   r->cpu_period == 100000 && r->cpu_rt_runtime == 950000 && r->cpu_rt_period == 1000000 &&
		   strcmp(r->cpu_cpus, "0-1") == 0 && strcmp(r->cpu_mems, "0") == 0 && r->has_cpu_idle && r->cpu_idle == 1,
	   "full: cpu");
	ok(r->has_pids_limit && r->pids_limit == 100, "full: pids");
	ok(r->blkio_weight == 500 && r->blkio_leaf_weight == 300 && r->n_blkio_weight_devices == 1 &&
		   r->blkio_weight_devices[0].has_weight && !r->blkio_weight_devices[0].has_leaf_weight &&
		   r->n_throttle_read_bps == 1 && r->throttle_read_bps[0].rate == 1048576 &&
		   r->throttle_write_bps[0].minor == 16 && r->throttle_read_iops[0].rate == 3 &&
		   r->throttle_write_iops[0].rate == 4,
	   "full: blockIO");
	ok(r->n_hugepage_limits == 1 && strcmp(r->hugepage_limits[0].page_size, "2MB") == 0 &&
		   r->hugepage_limits[0].limit == 209715200,
	   "full: hugepageLimits");
	ok(r->n_devices == 3 && r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].major == 1 &&
		   strcmp(r->devices[1].access, "rwm") == 0 && r->devices[2].minor == -1 &&
		   strcmp(r->devices[2].access, "r") == 0,
	   "full: device rules (access canonical, null minor is a wildcard)");
	ok(r->n_unified == 2 && strcmp(r->unified[1].value, "default 100") == 0, "full: unified");
	ok(strcmp(l->cgroups_path, "/ferry/full") == 0 && strcmp(l->rootfs_propagation, "rslave") == 0,
	   "full: cgroupsPath, rootfsPropagation");
	ok(sc && strcmp(sc->default_action, "SCMP_ACT_ERRNO") == 0 && sc->has_default_errno && sc->default_errno == 1 &&
		   ferry_strv_len(sc->architectures) == 2 && ferry_strv_len(sc->flags) == 1 &&
		   strcmp(sc->listener_path, "/run/seccomp.sock") == 0 && strcmp(sc->listener_metadata, "meta") == 0,
	   "full: seccomp header");
	ok(sc && sc->n_rules == 4 && ferry_strv_len(sc->rules[0].names) == 2 && sc->rules[1].n_args == 1 &&
		   sc->rules[1].args[0].value == 8 && strcmp(sc->rules[1].args[0].op, "SCMP_CMP_MASKED_EQ") == 0 &&
		   sc->rules[3].has_errno && sc->rules[3].errno_ret == 13 && !sc->rules[0].has_errno,
	   "full: seccomp rules");
	ok(ferry_strv_len(l->readonly_paths) == 2 && strcmp(l->mount_label, "system_u:object_r:container_file_t:s0") == 0,
	   "full: readonlyPaths, mountLabel");
	ok(l->n_devices == 2 && l->devices[0].type == 'c' && l->devices[0].major == 10 && l->devices[0].minor == 229 &&
		   l->devices[0].has_mode && l->devices[0].file_mode == 0666 && l->devices[0].has_uid &&
		   l->devices[1].type == 'p' && !l->devices[1].has_mode && !l->devices[1].has_uid,
	   "full: devices");
	ok(l->has_personality && strcmp(l->personality_domain, "LINUX32") == 0 &&
		   strcmp(l->personality_flags[0], "ADDR_NO_RANDOMIZE") == 0,
	   "full: personality");
	ok(l->time_offset_monotonic_secs == -10 && l->time_offset_monotonic_nsecs == 5 &&
		   l->time_offset_boottime_secs == 86400 && l->time_offset_boottime_nsecs == 0,
	   "full: timeOffsets");
}

/* ---- process.json, load ------------------------------------------------ */

static void
test_process_json(void)
{
	_cleanup_free_ char *good = J("{'args': ['ls', '-l'], 'cwd': '/tmp', 'user': {'uid': 33}, 'terminal': true}");
	_cleanup_free_ char *bad = J("{'args': ['ls', null], 'cwd': '/tmp'}");
	_cleanup_free_ char *bad2 = J("{'args': ['ls'], 'cwd': '/', 'capabilities': {'bounding': ['kill']}}");
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_process *p = NULL;

	ok(ferry_spec_parse_process(good, strlen(good), "process.json", &p, &err) == 0 && p && p->uid == 33 &&
		   p->terminal && strcmp(p->args[1], "-l") == 0,
	   "process.json parses");
	ferry_process_free(p);
	p = NULL;
	ok(ferry_spec_parse_process(bad, strlen(bad), "process.json", &p, &err) < 0 && p == NULL,
	   "process.json: bad args fail");
	is_str(err.msg, "process.json: .args[1]: expected a string, got null", "process.json: path starts at .");
	ok(ferry_spec_parse_process(bad2, strlen(bad2), "/tmp/p.json", &p, &err) < 0, "process.json: caps checked");
	is_str(err.msg,
	       "/tmp/p.json: .capabilities.bounding[0]: invalid capability name \"kill\" (expected CAP_ and an upper-case name, e.g. CAP_KILL)",
	       "process.json: file name as given");
	ok(ferry_spec_parse_process("[]", 2, NULL, &p, &err) < 0, "process.json: not an object");
	is_str(err.msg, "process.json: .: expected an object, got an array", "process.json: default name");
	ferry_error_clear(&err);
	ok(ferry_spec_parse_process("{", 1, NULL, &p, NULL) < 0, "a NULL error pointer is fine");
}

static void
test_load(void)
{
	char dir[] = "/tmp/test_spec.XXXXXX";
	_cleanup_free_ char *path = NULL, *big = NULL, *json = ferry_spec_default_json(false);
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_spec_ ferry_spec_t *s = NULL;
	int fd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	path = xasprintf("%s/config.json", dir);
	ok(ferry_spec_load(path, &s, &err) < 0 && err.errno_ == ENOENT, "load: missing file");
	big = xasprintf("open %s", path);
	is_str(err.msg, big, "load: message names the file");
	free(big);
	ferry_error_clear(&err);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok(fd >= 0 && write(fd, json, strlen(json)) == (ssize_t) strlen(json), "load: write config");
	close(fd);
	ok(ferry_spec_load(path, &s, &err) == 0 && s && strcmp(s->raw, json) == 0, "load: reads and parses");
	ferry_spec_freep(&s);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ok(fd >= 0 && write(fd, "{\"ociVersion\": 1}", 17) == 17, "load: write bad config");
	close(fd);
	ok(ferry_spec_load(path, &s, &err) < 0, "load: bad config fails");
	big = xasprintf("%s: .ociVersion: expected a string, got a number", path);
	is_str(err.msg, big, "load: errors prefixed with the path as given");
	ferry_error_clear(&err);
	/* FERRY_SPEC_MAX_SIZE: a sparse file one byte over */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ok(fd >= 0 && ftruncate(fd, FERRY_SPEC_MAX_SIZE + 1) == 0, "load: make an oversized file");
	close(fd);
	ok(ferry_spec_load(path, &s, &err) < 0 && err.errno_ == EFBIG, "load: larger than FERRY_SPEC_MAX_SIZE is refused");
	ferry_error_clear(&err);
	unlink(path);
	rmdir(dir);
}

/* ---- tables ------------------------------------------------------------ */

static void
test_tables(void)
{
	_cleanup_free_ char *last = NULL;
	bool round = true;

	for (int c = 0; c <= 40; c++)
		if (ferry_cap_name(c) == NULL || ferry_cap_from_name(ferry_cap_name(c)) != c)
			round = false;
	ok(round, "caps: names 0..40 round-trip");
	is_str(ferry_cap_name(CAP_CHECKPOINT_RESTORE), "CAP_CHECKPOINT_RESTORE", "caps: 40 is CAP_CHECKPOINT_RESTORE");
	is_str(ferry_cap_name(CAP_NET_BIND_SERVICE), "CAP_NET_BIND_SERVICE", "caps: 10");
	ok(ferry_cap_name(41) == NULL && ferry_cap_name(-1) == NULL, "caps: out of table is NULL");
	ok(ferry_cap_from_name("CAP_SYS_ADMIN") == CAP_SYS_ADMIN && ferry_cap_from_name("sys_admin") == CAP_SYS_ADMIN &&
		   ferry_cap_from_name("Cap_Kill") == CAP_KILL,
	   "caps: lookup is case-insensitive, CAP_ optional");
	ok(ferry_cap_from_name("CAP_FOO") == -1 && ferry_cap_from_name("") == -1 && ferry_cap_from_name(NULL) == -1,
	   "caps: unknown is -1");
	if (ferry_read_file("/proc/sys/kernel/cap_last_cap", 64, &last, NULL, NULL) == 0)
		ok(ferry_cap_last() == atoi(last), "caps: ferry_cap_last is the kernel's (%d)", ferry_cap_last());
	else
		ok(ferry_cap_last() == 40, "caps: ferry_cap_last falls back to 40");

	ok(ferry_signal_parse("KILL") == SIGKILL && ferry_signal_parse("SIGKILL") == SIGKILL &&
		   ferry_signal_parse("sigkill") == SIGKILL && ferry_signal_parse("9") == 9,
	   "signals: KILL, SIGKILL, sigkill, 9");
	ok(ferry_signal_parse("TERM") == SIGTERM && ferry_signal_parse("SIGHUP") == SIGHUP &&
		   ferry_signal_parse("winch") == SIGWINCH && ferry_signal_parse("SIGCHLD") == SIGCHLD &&
		   ferry_signal_parse("CLD") == SIGCHLD && ferry_signal_parse("IOT") == SIGABRT &&
		   ferry_signal_parse("SIGPWR") == SIGPWR && ferry_signal_parse("SYS") == SIGSYS,
	   "signals: names and aliases");
	ok(ferry_signal_parse("SIGRTMIN+3") == SIGRTMIN + 3 && ferry_signal_parse("rtmin") == SIGRTMIN &&
		   ferry_signal_parse("SIGRTMAX-2") == SIGRTMAX - 2 && ferry_signal_parse("RTMAX") == SIGRTMAX &&
		   ferry_signal_parse("SIGRTMIN+3") == 37,
	   "signals: real-time (SIGRTMIN+3 is 37, as systemd expects)");
	ok(ferry_signal_parse("SIGRTMIN+99") == -1 && ferry_signal_parse("SIGRTMIN-1") == -1 &&
		   ferry_signal_parse("SIGRTMIN+") == -1 && ferry_signal_parse("RTMAX+1") == -1,
	   "signals: real-time out of range");
	ok(ferry_signal_parse("0") == -1 && ferry_signal_parse("65") == -1 && ferry_signal_parse("64") == SIGRTMAX &&
		   ferry_signal_parse("99999999999999999999") == -1,
	   "signals: numbers 1..SIGRTMAX only");
	ok(ferry_signal_parse("FOO") == -1 && ferry_signal_parse("") == -1 && ferry_signal_parse(NULL) == -1 &&
		   ferry_signal_parse("-9") == -1 && ferry_signal_parse(" 9") == -1 && ferry_signal_parse("9x") == -1 &&
		   ferry_signal_parse("SIG") == -1 && ferry_signal_parse("SIGSIGKILL") == -1,
	   "signals: unknown is -1");

	ok(ferry_rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE && ferry_rlimit_from_name("RLIMIT_AS") == RLIMIT_AS &&
		   ferry_rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME && ferry_rlimit_from_name("nproc") == RLIMIT_NPROC &&
		   ferry_rlimit_from_name("RLIMIT_BOGUS") == -1,
	   "rlimits: by name");
	round = true;
	for (int r = 0; r < RLIMIT_NLIMITS; r++)
		if (ferry_rlimit_name(r) == NULL || ferry_rlimit_from_name(ferry_rlimit_name(r)) != r)
			round = false;
	ok(round && ferry_rlimit_name(RLIMIT_NLIMITS) == NULL, "rlimits: all 16 round-trip");

	ok(ferry_ns_from_name("pid") == CLONE_NEWPID && ferry_ns_from_name("network") == CLONE_NEWNET &&
		   ferry_ns_from_name("mount") == CLONE_NEWNS && ferry_ns_from_name("ipc") == CLONE_NEWIPC &&
		   ferry_ns_from_name("uts") == CLONE_NEWUTS && ferry_ns_from_name("user") == CLONE_NEWUSER &&
		   ferry_ns_from_name("cgroup") == CLONE_NEWCGROUP && ferry_ns_from_name("time") == CLONE_NEWTIME,
	   "namespaces: OCI names to CLONE_NEW*");
	ok(ferry_ns_from_name("net") == -1 && ferry_ns_from_name("PID") == -1, "namespaces: exact OCI names only");
	is_str(ferry_ns_name(CLONE_NEWNET), "network", "namespaces: CLONE_NEWNET is network");
	ok(ferry_ns_name(0) == NULL, "namespaces: unknown type is NULL");
}

/* `update -r`: a LinuxResources object alone, and the merge that keeps a
 * container's config copy in step. */
static void
test_resources_update(void)
{
	static const char *const res_path[] = { "linux", "resources", NULL };
	struct ferry_resources r;
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *upd = J("{'memory': {'limit': 134217728, 'swap': null}, 'pids': {'limit': -1}, "
				     "'cpu': {'quota': 50000, 'cpus': '0'}}");
	_cleanup_free_ char *bad = J("{'memory': {'limit': '1g'}}");
	_cleanup_free_ char *cfg = J("{" BASE ", " PROC ", 'rlimits': [{'hard': 18446744073709551615}], "
				     "'linux': {'resources': {'memory': {'limit': 1048576, 'reservation': 524288}}}}");
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	ok(ferry_spec_parse_resources(upd, strlen(upd), "res.json", &r, &err) == 0, "a LinuxResources object parses");
	ok(r.has_mem_limit && r.mem_limit == 134217728 && !r.has_mem_swap, "memory.limit set, null swap unset");
	ok(r.has_pids_limit && r.pids_limit == -1, "pids.limit -1");
	ok(r.has_cpu_quota && r.cpu_quota == 50000 && r.cpu_cpus && strcmp(r.cpu_cpus, "0") == 0, "cpu quota and cpus");
	ferry_resources_free(&r);
	ok(ferry_spec_parse_resources(bad, strlen(bad), "res.json", &r, &err) < 0, "a string limit is refused");
	is_str(err.msg, "res.json: .memory.limit: expected an integer, got a string", "the error names file and path");
	ferry_error_clear(&err);

	ok(ferry_spec_merge_json(cfg, strlen(cfg), "config.json", res_path, upd, strlen(upd), "res.json", &out, &err) == 0,
	   "merge into .linux.resources");
	ok(out && strstr(out, "18446744073709551615") && !strstr(out, "\\u0000"),
	   "a uint64 beyond jansson's range is written back as a number");
	ok(out && strstr(out, "\"limit\": 134217728") && strstr(out, "\"reservation\": 524288") &&
	   strstr(out, "\"quota\": 50000") && !strstr(out, "1048576"),
	   "objects merge key by key: new limit, old reservation kept, new cpu");
	ok(out && !strstr(out, "\"swap\""), "a null in the update is skipped");
	{
		ferry_spec_t *spec = NULL;

		ok(out && ferry_spec_parse(out, strlen(out), "config.json", &spec, &err) == 0 &&
		   spec->linux_.resources.mem_limit == 134217728,
		   "the merged config parses with the new limit");
		ferry_spec_free(spec);
		ferry_error_clear(&err);
	}
	ok(ferry_spec_merge_json("{}", 2, "config.json", res_path, upd, strlen(upd), "res.json", &out2, &err) == 0 && out2 &&
	   strstr(out2, "\"resources\""),
	   "missing .linux.resources is created");
	ferry_error_clear(&err);
}

int
main(void)
{
	test_default_spec();
	test_default_rootless();
	test_seed_config();
	test_mount_options();
	test_json_errors();
	test_required();
	test_type_errors();
	test_ranges();
	test_namespace_errors();
	test_process_errors();
	test_linux_errors();
	test_full_config();
	test_process_json();
	test_load();
	test_tables();
	test_resources_update();
	return tap_done();
}
