/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "featureset.h"

#include <jansson.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "spec.h"
#include "util.h"

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static bool
file_says_y(const char *path)
{
	char buf[8] = { 0 };
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return buf[0] == 'Y';
}

char *
ferry_features_json(void)
{
	static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
					     "poststart", "poststop" };
	static const char *const mount_opts[] = {
		"async",   "atime",	 "bind",      "defaults",   "dev",	    "diratime",	    "dirsync",
		"exec",	   "lazytime",	 "loud",      "mand",	    "noatime",	    "nodev",	    "nodiratime",
		"noexec",  "nolazytime", "nomand",    "norelatime", "nostrictatime", "nosuid",	    "private",
		"rbind",   "relatime",	 "remount",   "ro",	    "rprivate",	    "rshared",	    "rslave",
		"runbindable", "rw",	 "shared",    "silent",	    "slave",	    "strictatime", "suid",
		"sync",	   "tmpcopyup",	 "unbindable",
	};
	static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" };
	static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",	  "SCMP_ACT_KILL",
					       "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
					       "SCMP_ACT_TRACE", "SCMP_ACT_TRAP" };
	static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",	    "SCMP_CMP_LE",
						 "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE" };
	static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
	json_t *j = json_object(), *lx = json_object(), *caps = json_array(), *cg = json_object(), *sc = json_object();
	const struct scmp_version *v = seccomp_version();
	char *s;

	json_object_set_new(j, "ociVersionMin", json_string("1.0.0"));
	json_object_set_new(j, "ociVersionMax", json_string("1.2.0"));
	json_object_set_new(j, "hooks", strings(hooks, ARRAY_SIZE(hooks)));
	json_object_set_new(j, "mountOptions", strings(mount_opts, ARRAY_SIZE(mount_opts)));
	json_object_set_new(lx, "namespaces", strings(namespaces, ARRAY_SIZE(namespaces)));
	for (int c = 0; c <= ferry_cap_last(); c++)
		if (ferry_cap_name(c))
			json_array_append_new(caps, json_string(ferry_cap_name(c)));
	json_object_set_new(lx, "capabilities", caps);
	json_object_set_new(cg, "v1", json_true());
	json_object_set_new(cg, "v2", json_true());
	json_object_set_new(cg, "systemd", json_false());
	json_object_set_new(cg, "systemdUser", json_false());
	json_object_set_new(lx, "cgroup", cg);
	json_object_set_new(sc, "enabled", json_true());
	json_object_set_new(sc, "actions", strings(actions, ARRAY_SIZE(actions)));
	json_object_set_new(sc, "operators", strings(operators, ARRAY_SIZE(operators)));
	json_object_set_new(sc, "archs", strings(archs, ARRAY_SIZE(archs)));
	json_object_set_new(lx, "seccomp", sc);
	json_object_set_new(lx, "apparmor",
			    json_pack("{s:b}", "enabled", file_says_y("/sys/module/apparmor/parameters/enabled")));
	json_object_set_new(lx, "selinux", json_pack("{s:b}", "enabled", access("/sys/fs/selinux/enforce", F_OK) == 0));
	/* idmapped binds (open_tree + mount_setattr, 5.12+ with filesystem
	 * support) and recursive attributes (rro...) */
	json_object_set_new(lx, "mountExtensions", json_pack("{s:{s:b}}", "idmap", "enabled", true));
	json_object_set_new(j, "linux", lx);
	{
		char ver[32];
		snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
		json_object_set_new(j, "annotations",
				    json_pack("{s:s, s:s}",
					      "io.github.seccomp.libseccomp.version", ver, "org.ferry.version",
					      FERRY_VERSION));
	}
	s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}
