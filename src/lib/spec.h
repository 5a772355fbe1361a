/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OCI runtime configuration (config.json), parsed and checked once.
 *
 * Every error names the file, the JSON path and what was expected:
 *   config.json: .process.args[1]: expected a string, got a number
 * Fields are kept in plain C types so the rest of ferry never touches JSON.
 */
#ifndef FERRY_SPEC_H
#define FERRY_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define FERRY_SPEC_MAX_SIZE (16u << 20) /* config.json larger than this is refused */

struct ferry_kv {
	char *key;
	char *value;
};

struct ferry_mount {
	char *destination;
	char *type;
	char *source;
	char **options; /* as written, NULL-terminated */
	/* derived from options by ferry_spec_parse_mount_options() */
	unsigned long flags;      /* MS_* to set */
	unsigned long clear;      /* MS_* explicitly cleared (rw, suid, ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [|MS_REC] */
	char *data;               /* filesystem-specific options, comma-joined */
	bool bind;
	bool recursive;
	bool tmpcopyup;
	bool idmap;
	bool idmap_recursive;  /* "ridmap" (idmap is set too) */
	uint64_t rec_attr_set; /* MOUNT_ATTR_* from "rro", "rnosuid", ... (mount_setattr AT_RECURSIVE) */
	uint64_t rec_attr_clr; /* MOUNT_ATTR_* from "rrw", "rsuid", ...; includes MOUNT_ATTR__ATIME for atime changes */
	struct ferry_idmap *uid_mappings, *gid_mappings; /* mounts[].uidMappings/gidMappings (idmapped mounts) */
	size_t n_uid_mappings, n_gid_mappings;
};

struct ferry_hook {
	char *path;
	char **args;
	char **env;
	int timeout; /* seconds, 0 = none */
};

enum ferry_hook_kind {
	FERRY_HOOK_PRESTART = 0,
	FERRY_HOOK_CREATE_RUNTIME,
	FERRY_HOOK_CREATE_CONTAINER,
	FERRY_HOOK_START_CONTAINER,
	FERRY_HOOK_POSTSTART,
	FERRY_HOOK_POSTSTOP,
	FERRY_HOOK__COUNT,
};

struct ferry_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft;
	uint64_t hard;
};

struct ferry_capabilities {
	bool present; /* "capabilities" given at all */
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct ferry_process {
	bool terminal;
	unsigned int console_height, console_width;
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **args;
	char **env;
	char *cwd;
	struct ferry_capabilities caps;
	struct ferry_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	bool has_oom_score_adj;
	int oom_score_adj;
	bool has_io_priority;
	int io_priority_class; /* IOPRIO_CLASS_* */
	int io_priority;
	bool has_scheduler;
	int sched_policy;
	int sched_nice;
	int sched_priority;
	uint64_t sched_flags; /* SCHED_FLAG_* */
	uint64_t sched_runtime, sched_deadline, sched_period; /* SCHED_DEADLINE, nanoseconds */
};

struct ferry_namespace {
	int type; /* CLONE_NEW* */
	char *path; /* NULL: create a new one */
};

struct ferry_idmap {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct ferry_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_mode;
	mode_t file_mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

struct ferry_device_rule {
	bool allow;
	char type; /* 'a', 'c', 'b' */
	int64_t major, minor; /* -1 = wildcard */
	char access[4];       /* subset of "rwm" */
};

struct ferry_throttle {
	int64_t major, minor;
	uint64_t rate;
};
struct ferry_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};
struct ferry_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

/* Optional numbers carry has_* flags: absent means "leave as is". */
struct ferry_resources {
	bool present;
	/* memory */
	bool has_mem_limit, has_mem_reservation, has_mem_swap, has_mem_swappiness;
	int64_t mem_limit, mem_reservation, mem_swap; /* -1 = unlimited */
	uint64_t mem_swappiness;
	bool disable_oom_killer;
	/* cpu */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_cpu_rt_runtime, has_cpu_rt_period, has_cpu_idle;
	uint64_t cpu_shares, cpu_period, cpu_rt_period;
	int64_t cpu_quota, cpu_rt_runtime, cpu_idle;
	bool has_cpu_burst;
	uint64_t cpu_burst;
	char *cpu_cpus, *cpu_mems;
	/* pids */
	bool has_pids_limit;
	int64_t pids_limit;
	/* blockIO */
	bool has_blkio_weight, has_blkio_leaf_weight;
	uint16_t blkio_weight, blkio_leaf_weight;
	struct ferry_weight_device *blkio_weight_devices;
	size_t n_blkio_weight_devices;
	struct ferry_throttle *throttle_read_bps, *throttle_write_bps, *throttle_read_iops, *throttle_write_iops;
	size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
	/* hugepages */
	struct ferry_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	/* devices cgroup */
	struct ferry_device_rule *devices;
	size_t n_devices;
	/* cgroup v2 raw keys */
	struct ferry_kv *unified;
	size_t n_unified;
};

struct ferry_seccomp_arg {
	unsigned int index;
	uint64_t value;
	uint64_t value_two;
	char *op; /* SCMP_CMP_* name */
};

struct ferry_seccomp_rule {
	char **names;
	char *action;
	bool has_errno;
	unsigned int errno_ret;
	struct ferry_seccomp_arg *args;
	size_t n_args;
};

struct ferry_seccomp {
	char *default_action;
	bool has_default_errno;
	unsigned int default_errno;
	char **architectures;
	char **flags;
	char *listener_path;
	char *listener_metadata;
	struct ferry_seccomp_rule *rules;
	size_t n_rules;
};

struct ferry_linux {
	struct ferry_namespace *namespaces;
	size_t n_namespaces;
	struct ferry_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct ferry_kv *sysctl;
	size_t n_sysctl;
	struct ferry_resources resources;
	char *cgroups_path;
	char *rootfs_propagation;
	struct ferry_seccomp *seccomp; /* NULL = none */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	struct ferry_device *devices;
	size_t n_devices;
	bool has_personality;
	char *personality_domain; /* "LINUX" or "LINUX32" */
	char **personality_flags;
	int64_t time_offset_monotonic_secs, time_offset_boottime_secs;
	uint32_t time_offset_monotonic_nsecs, time_offset_boottime_nsecs;
};

struct ferry_spec {
	char *oci_version;
	char *root_path; /* as written (may be relative to the bundle) */
	bool root_readonly;
	struct ferry_mount *mounts;
	size_t n_mounts;
	struct ferry_process *process; /* NULL allowed by the spec for create-less use; we require it */
	char *hostname;
	char *domainname;
	struct ferry_hook *hooks[FERRY_HOOK__COUNT];
	size_t n_hooks[FERRY_HOOK__COUNT];
	struct ferry_kv *annotations;
	size_t n_annotations;
	struct ferry_linux linux_;
	char *raw; /* the exact JSON read, for the state and checkpoint images */
};

typedef struct ferry_spec ferry_spec_t;

/* name is used in messages only ("config.json", "process.json"). */
int ferry_spec_parse(const char *json, size_t len, const char *name, ferry_spec_t **out, ferry_error_t *err);
int ferry_spec_load(const char *path, ferry_spec_t **out, ferry_error_t *err);
void ferry_spec_free(ferry_spec_t *spec);
/* Writes uid_map and gid_map under proc_dir (/proc/PID of a process in a
 * new user namespace), each in the single write the kernel takes. */
int ferry_idmap_write(const char *proc_dir, const struct ferry_idmap *uids, size_t n_uids,
		      const struct ferry_idmap *gids, size_t n_gids, ferry_error_t *err);
#define _cleanup_spec_ __attribute__((cleanup(ferry_spec_freep)))
void ferry_spec_freep(ferry_spec_t **spec);

/* A process object alone (exec -p process.json). */
int ferry_spec_parse_process(const char *json, size_t len, const char *name, struct ferry_process **out,
			     ferry_error_t *err);
void ferry_process_free(struct ferry_process *p);

/* A LinuxResources object alone (`update -r FILE`), checked exactly as
 * .linux.resources of a config is; errors name the file and JSON path. */
int ferry_spec_parse_resources(const char *json, size_t len, const char *name, struct ferry_resources *out,
			       ferry_error_t *err);
void ferry_resources_free(struct ferry_resources *r);

/* Lays the JSON object overlay over the object at path (NULL-terminated
 * keys, created when missing) inside the JSON object base, and returns the
 * new text (caller frees).  Objects are merged key by key, other values
 * replaced, and nulls in overlay (Go's "unset") skipped.  Integers beyond
 * jansson's range (uint64 rlimits, seccomp values) come out as written.
 * `update` keeps a container's config copy in step with its cgroup this
 * way: { "linux", "resources", NULL }. */
int ferry_spec_merge_json(const char *base, size_t base_len, const char *base_name, const char *const *path,
			  const char *overlay, size_t overlay_len, const char *overlay_name, char **out,
			  ferry_error_t *err);

/* Splits mount options into flags/propagation/data. */
int ferry_spec_parse_mount_options(struct ferry_mount *m, ferry_error_t *err);

/* Namespaces */
const char *ferry_ns_name(int type); /* "pid", "network", ... (OCI names) */
int ferry_ns_from_name(const char *name); /* CLONE_NEW*; -1 if unknown */
bool ferry_spec_has_ns(const ferry_spec_t *spec, int type);
const struct ferry_namespace *ferry_spec_get_ns(const ferry_spec_t *spec, int type);

/* Capabilities by name ("CAP_SYS_ADMIN"; case-insensitive, "CAP_" optional,
 * for command lines); -1 if unknown.  ferry knows 0..CAP_CHECKPOINT_RESTORE
 * (40); ferry_cap_last() is the running kernel's last, which may be higher. */
int ferry_cap_from_name(const char *name);
const char *ferry_cap_name(int cap);
int ferry_cap_last(void);

/* Resource limits by name ("RLIMIT_NOFILE"; case-insensitive, "RLIMIT_"
 * optional); -1 if unknown. */
int ferry_rlimit_from_name(const char *name);
const char *ferry_rlimit_name(int resource);

/* Signals by name ("KILL", "SIGKILL", "9", "SIGRTMIN+3"; case-insensitive);
 * -1 if unknown or outside 1..SIGRTMAX. */
int ferry_signal_parse(const char *s);

/* The default config `ferry spec` writes (runc's, for the given args). */
char *ferry_spec_default_json(bool rootless);

#endif
