/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flags of `ferry generate`: oci-runtime-tool generate's names, current
 * (--linux-*, --process-*) and of 2016-2017 (--network, --tmpfs, --bind,
 * --read-only, --cap-add, ...), the old ones that the article uses listed
 * with their own help and the rest as aliases. What each one does is in
 * generate.c.
 */
#include <string.h>

#include "generate.h"
#include "util.h"

/* clang-format off */
const struct ferry_generate_flag ferry_generate_flags[] = {
	{ "args", FERRY_GEN_ARGS, FERRY_GEN_VALUE, "ARG", "command to run; repeat: the first replaces the default, later ones append" },
	{ "env", FERRY_GEN_ENV, FERRY_GEN_VALUE, "KEY=VALUE", "set an environment variable (replaces one of the same name)" },
	{ "hostname", FERRY_GEN_HOSTNAME, FERRY_GEN_VALUE, "NAME", "the container's hostname" },
	{ "label", FERRY_GEN_LABEL, FERRY_GEN_VALUE, "KEY=VALUE", "add an annotation" },
	{ "rootfs-path", FERRY_GEN_ROOTFS_PATH, FERRY_GEN_VALUE, "PATH", "root filesystem, absolute or relative to the bundle" },
	{ "rootfs", FERRY_GEN_ROOTFS_PATH, FERRY_GEN_VALUE, "PATH", NULL },
	{ "rootfs-readonly", FERRY_GEN_ROOTFS_READONLY, FERRY_GEN_BOOL, NULL, "make the root filesystem read-only" },
	{ "read-only", FERRY_GEN_ROOTFS_READONLY, FERRY_GEN_BOOL, NULL, "the same (its older name)" },
	{ "process-uid", FERRY_GEN_UID, FERRY_GEN_VALUE, "UID", "user id of the process" },
	{ "uid", FERRY_GEN_UID, FERRY_GEN_VALUE, "UID", NULL },
	{ "process-gid", FERRY_GEN_GID, FERRY_GEN_VALUE, "GID", "group id of the process" },
	{ "gid", FERRY_GEN_GID, FERRY_GEN_VALUE, "GID", NULL },
	{ "process-username", FERRY_GEN_USERNAME, FERRY_GEN_VALUE, "NAME", "user name of the process (informational)" },
	{ "process-groups", FERRY_GEN_GROUPS, FERRY_GEN_VALUE, "GID", "add a supplementary group" },
	{ "groups", FERRY_GEN_GROUPS, FERRY_GEN_VALUE, "GID", NULL },
	{ "process-cwd", FERRY_GEN_CWD, FERRY_GEN_VALUE, "PATH", "working directory of the process" },
	{ "cwd", FERRY_GEN_CWD, FERRY_GEN_VALUE, "PATH", NULL },
	{ "process-terminal", FERRY_GEN_TERMINAL, FERRY_GEN_BOOL, NULL, "give the process a terminal" },
	{ "process-tty", FERRY_GEN_TERMINAL, FERRY_GEN_BOOL, NULL, NULL },
	{ "tty", FERRY_GEN_TERMINAL, FERRY_GEN_BOOL, NULL, NULL },
	{ "process-no-new-privileges", FERRY_GEN_NO_NEW_PRIVILEGES, FERRY_GEN_BOOL, NULL, "set no_new_privs" },
	{ "no-new-privileges", FERRY_GEN_NO_NEW_PRIVILEGES, FERRY_GEN_BOOL, NULL, NULL },
	{ "linux-apparmor", FERRY_GEN_APPARMOR, FERRY_GEN_VALUE, "PROFILE", "AppArmor profile" },
	{ "apparmor", FERRY_GEN_APPARMOR, FERRY_GEN_VALUE, "PROFILE", NULL },
	{ "linux-selinux-label", FERRY_GEN_SELINUX_LABEL, FERRY_GEN_VALUE, "LABEL", "SELinux process label" },
	{ "selinux-label", FERRY_GEN_SELINUX_LABEL, FERRY_GEN_VALUE, "LABEL", NULL },
	{ "linux-mount-label", FERRY_GEN_MOUNT_LABEL, FERRY_GEN_VALUE, "LABEL", "SELinux mount label" },
	{ "mount-label", FERRY_GEN_MOUNT_LABEL, FERRY_GEN_VALUE, "LABEL", NULL },
	{ "linux-cgroups-path", FERRY_GEN_CGROUPS_PATH, FERRY_GEN_VALUE, "PATH", "cgroup path" },
	{ "cgroups-path", FERRY_GEN_CGROUPS_PATH, FERRY_GEN_VALUE, "PATH", NULL },
	{ "linux-masked-paths", FERRY_GEN_MASKED_PATHS, FERRY_GEN_VALUE, "PATH", "add a masked path" },
	{ "masked-paths", FERRY_GEN_MASKED_PATHS, FERRY_GEN_VALUE, "PATH", NULL },
	{ "linux-readonly-paths", FERRY_GEN_READONLY_PATHS, FERRY_GEN_VALUE, "PATH", "add a read-only path" },
	{ "readonly-paths", FERRY_GEN_READONLY_PATHS, FERRY_GEN_VALUE, "PATH", NULL },
	{ "linux-sysctl", FERRY_GEN_SYSCTL, FERRY_GEN_VALUE, "KEY=VALUE", "set a sysctl" },
	{ "sysctl", FERRY_GEN_SYSCTL, FERRY_GEN_VALUE, "KEY=VALUE", NULL },
	{ "privileged", FERRY_GEN_PRIVILEGED, FERRY_GEN_BOOL, NULL, "all capabilities, no seccomp, no LSM labels" },
	{ "cap-add", FERRY_GEN_CAP_ADD, FERRY_GEN_VALUE, "CAP", "add a capability to all five sets (CAP_ optional; ALL)" },
	{ "cap-drop", FERRY_GEN_CAP_DROP, FERRY_GEN_VALUE, "CAP", "drop a capability from all five sets (ALL: every one)" },
	{ "process-cap-drop-all", FERRY_GEN_CAP_DROP_ALL, FERRY_GEN_BOOL, NULL, "drop every capability" },
	{ "linux-uidmappings", FERRY_GEN_UIDMAPPINGS, FERRY_GEN_VALUE, "HOST:CONTAINER:SIZE", "add a uid mapping (implies a user namespace)" },
	{ "uidmappings", FERRY_GEN_UIDMAPPINGS, FERRY_GEN_VALUE, "HOST:CONTAINER:SIZE", NULL },
	{ "linux-gidmappings", FERRY_GEN_GIDMAPPINGS, FERRY_GEN_VALUE, "HOST:CONTAINER:SIZE", "add a gid mapping (implies a user namespace)" },
	{ "gidmappings", FERRY_GEN_GIDMAPPINGS, FERRY_GEN_VALUE, "HOST:CONTAINER:SIZE", NULL },
	{ "network", FERRY_GEN_NS_NETWORK, FERRY_GEN_VALUE, "host|PATH|\"\"", "network namespace: host's, join PATH, or a new one" },
	{ "pid", FERRY_GEN_NS_PID, FERRY_GEN_VALUE, "host|PATH|\"\"", "pid namespace (the same)" },
	{ "mount", FERRY_GEN_NS_MOUNT, FERRY_GEN_VALUE, "host|PATH|\"\"", "mount namespace (the same)" },
	{ "ipc", FERRY_GEN_NS_IPC, FERRY_GEN_VALUE, "host|PATH|\"\"", "ipc namespace (the same)" },
	{ "uts", FERRY_GEN_NS_UTS, FERRY_GEN_VALUE, "host|PATH|\"\"", "uts namespace (the same)" },
	{ "user", FERRY_GEN_NS_USER, FERRY_GEN_VALUE, "host|PATH|\"\"", "user namespace (the same)" },
	{ "cgroup", FERRY_GEN_NS_CGROUP, FERRY_GEN_VALUE, "host|PATH|\"\"", "cgroup namespace (the same)" },
	{ "linux-namespace-remove-all", FERRY_GEN_NAMESPACE_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "use all of the host's namespaces" },
	{ "linux-namespace-add", FERRY_GEN_NAMESPACE_ADD, FERRY_GEN_VALUE, "NS[:PATH]", "create (or join PATH) namespace NS" },
	{ "linux-namespace-remove", FERRY_GEN_NAMESPACE_REMOVE, FERRY_GEN_VALUE, "NS", "use the host's namespace NS" },
	{ "tmpfs", FERRY_GEN_TMPFS, FERRY_GEN_VALUE, "PATH[:OPTIONS]", "mount a tmpfs (default options rw,noexec,nosuid,nodev,size=65536k)" },
	{ "mount-cgroups", FERRY_GEN_MOUNT_CGROUPS, FERRY_GEN_VALUE, "rw|ro|no", "mount the cgroup filesystem at /sys/fs/cgroup" },
	{ "bind", FERRY_GEN_BIND, FERRY_GEN_VALUE, "SRC:DST[:OPTIONS]", "bind mount SRC at DST (options colon-separated, default rw)" },
	{ "mount-bind", FERRY_GEN_BIND, FERRY_GEN_VALUE, "SRC:DST[:OPTIONS]", NULL },
	{ "mounts-remove-all", FERRY_GEN_MOUNTS_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "remove every mount (before the adds)" },
	{ "mounts-remove", FERRY_GEN_MOUNTS_REMOVE, FERRY_GEN_VALUE, "DEST", "remove the mount at DEST" },
	{ "mounts-add", FERRY_GEN_MOUNTS_ADD, FERRY_GEN_VALUE, "JSON", "add a mount given as an OCI mount object" },
	{ "hooks-prestart-remove-all", FERRY_GEN_HOOKS_PRESTART_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "remove the prestart hooks" },
	{ "hooks-prestart-add", FERRY_GEN_HOOKS_PRESTART_ADD, FERRY_GEN_VALUE, "JSON", "add a prestart hook given as an OCI hook object" },
	{ "hooks-poststart-remove-all", FERRY_GEN_HOOKS_POSTSTART_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "remove the poststart hooks" },
	{ "hooks-poststart-add", FERRY_GEN_HOOKS_POSTSTART_ADD, FERRY_GEN_VALUE, "JSON", "add a poststart hook" },
	{ "hooks-poststop-remove-all", FERRY_GEN_HOOKS_POSTSTOP_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "remove the poststop hooks" },
	{ "hooks-poststop-add", FERRY_GEN_HOOKS_POSTSTOP_ADD, FERRY_GEN_VALUE, "JSON", "add a poststop hook" },
	{ "linux-rootfs-propagation", FERRY_GEN_ROOTFS_PROPAGATION, FERRY_GEN_VALUE, "MODE", "rootfs propagation: private, slave, shared or unbindable" },
	{ "rootfs-propagation", FERRY_GEN_ROOTFS_PROPAGATION, FERRY_GEN_VALUE, "MODE", NULL },
	{ "linux-oom-score-adj", FERRY_GEN_OOM_SCORE_ADJ, FERRY_GEN_VALUE, "N", "oom_score_adj, -1000..1000" },
	{ "oom-score-adj", FERRY_GEN_OOM_SCORE_ADJ, FERRY_GEN_VALUE, "N", NULL },
	{ "linux-cpu-shares", FERRY_GEN_CPU_SHARES, FERRY_GEN_VALUE, "N", "relative CPU weight" },
	{ "linux-cpu-quota", FERRY_GEN_CPU_QUOTA, FERRY_GEN_VALUE, "USECS", "CPU time allowed per period" },
	{ "linux-cpu-period", FERRY_GEN_CPU_PERIOD, FERRY_GEN_VALUE, "USECS", "CPU period" },
	{ "linux-cpus", FERRY_GEN_CPUS, FERRY_GEN_VALUE, "LIST", "CPUs allowed (cpuset)" },
	{ "linux-mems", FERRY_GEN_MEMS, FERRY_GEN_VALUE, "LIST", "memory nodes allowed (cpuset)" },
	{ "linux-mem-limit", FERRY_GEN_MEM_LIMIT, FERRY_GEN_VALUE, "BYTES", "memory limit" },
	{ "linux-mem-reservation", FERRY_GEN_MEM_RESERVATION, FERRY_GEN_VALUE, "BYTES", "memory soft limit" },
	{ "linux-mem-swap", FERRY_GEN_MEM_SWAP, FERRY_GEN_VALUE, "BYTES", "memory plus swap limit" },
	{ "linux-pids-limit", FERRY_GEN_PIDS_LIMIT, FERRY_GEN_VALUE, "N", "maximum number of processes" },
	{ "process-rlimits-remove-all", FERRY_GEN_RLIMITS_REMOVE_ALL, FERRY_GEN_BOOL, NULL, "remove every rlimit (before the adds)" },
	{ "rlimits-remove-all", FERRY_GEN_RLIMITS_REMOVE_ALL, FERRY_GEN_BOOL, NULL, NULL },
	{ "process-rlimits-add", FERRY_GEN_RLIMITS_ADD, FERRY_GEN_VALUE, "TYPE:HARD:SOFT", "set an rlimit (RLIMIT_ optional)" },
	{ "rlimits-add", FERRY_GEN_RLIMITS_ADD, FERRY_GEN_VALUE, "TYPE:HARD:SOFT", NULL },
	{ "process-rlimits-remove", FERRY_GEN_RLIMITS_REMOVE, FERRY_GEN_VALUE, "TYPE", "remove an rlimit" },
	{ "rlimits-remove", FERRY_GEN_RLIMITS_REMOVE, FERRY_GEN_VALUE, "TYPE", NULL },
	{ NULL, 0, 0, NULL, NULL },
};
/* clang-format on */

void
ferry_generate_opts_add(struct ferry_generate_opts *o, enum ferry_generate_key key, const char *name,
			const char *value)
{
	o->items = xrealloc(o->items, (o->n + 1) * sizeof(*o->items));
	o->items[o->n++] = (struct ferry_generate_item) { key, name, value };
}

void
ferry_generate_opts_clear(struct ferry_generate_opts *o)
{
	free(o->items);
	o->items = NULL;
	o->n = 0;
}

const struct ferry_generate_flag *
ferry_generate_flag_find(const char *name)
{
	for (const struct ferry_generate_flag *f = ferry_generate_flags; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

