/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between cgroup.c (layout, lifecycle, mounts, stats), cgroup_v1.c
 * and cgroup_v2.c (the per-version resource files).  Not for use outside
 * the cgroup module, except by its unit test.
 */
#ifndef FERRY_CGROUP_INTERNAL_H
#define FERRY_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"

/* One mounted hierarchy under the cgroup root. */
struct cg_hier {
	char *name;        /* basename of the mount point: "memory", "cpu,cpuacct", "systemd", "unified" */
	char *mountpoint;  /* absolute */
	char *mount_root;  /* the mount's root inside its hierarchy ("/" unless bind-mounted or namespaced) */
	char **controllers; /* v1: the controllers and "name=..."; v2: cgroup.controllers of the mount root */
	bool v2;
	/* Bookkeeping of ferry_cgroup_create for its rollback. */
	int created_depth; /* first component of the path mkdir created; -1: none */
	bool skipped;      /* could not be created and is not needed (e.g. a read-only name=systemd) */
};

struct ferry_cgroup {
	enum ferry_cgroup_layout layout;
	/* A tree of plain files (FERRY_CGROUP_ROOT in unit tests): written
	 * files are truncated, new cgroup directories get empty copies of
	 * their parent's files, and removal deletes those files first. */
	bool fake;
	char *root;
	char *path; /* normalised, absolute: "/ferry/web1" */
	char **components; /* path split at '/' */
	size_t n_components;
	struct cg_hier *h;
	size_t n_h;
	int unified; /* index of the cgroup2 hierarchy in h, or -1 */
};

/* Where a controller's files live for this cgroup. */
struct cg_ctl {
	const struct cg_hier *h;
	int dfd; /* the cgroup's directory in h */
	bool v2;
};

/* File access that names the file and value in errors:
 * "memory.limit_in_bytes: write \"1024\"" (+ errno). */
int cg_write(const struct ferry_cgroup *cg, int dfd, const char *file, const char *value, ferry_error_t *err);
int cg_writef(const struct ferry_cgroup *cg, int dfd, const char *file, ferry_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Reads a small file, without its trailing newline. */
int cg_read(int dfd, const char *file, char **out, ferry_error_t *err);
int cg_read_u64(int dfd, const char *file, uint64_t *out, ferry_error_t *err);
bool cg_exists(int dfd, const char *file);
/* The value of "key N" in a flat keyed file (cpu.stat, cgroup.events). */
int cg_read_keyed(int dfd, const char *file, const char *key, uint64_t *out, ferry_error_t *err);
bool cg_hier_has(const struct cg_hier *h, const char *controller);
/* "2MB", "1GB", "64KB": digits then a unit; nothing that could leave the
 * cgroup directory when pasted into a file name. */
bool cg_page_size_valid(const char *s);

/* cgroup.c */
int cg_new(const char *path, ferry_cgroup_t **out, ferry_error_t *err);
char **cg_split(const char *s, const char *seps);
int cg_error_move(ferry_error_t *dst, ferry_error_t *src);
char *cg_hier_dir(const struct ferry_cgroup *cg, const struct cg_hier *h);
int cg_hier_open(const struct ferry_cgroup *cg, const struct cg_hier *h, ferry_error_t *err);
const struct cg_hier *cg_find_v1(const struct ferry_cgroup *cg, const char *controller);
const struct cg_hier *cg_unified(const struct ferry_cgroup *cg);
/* A controller's hierarchy: its v1 mount if any, else cgroup2 if the
 * controller is available there (*v2 set). */
const struct cg_hier *cg_find_controller(const struct ferry_cgroup *cg, const char *v1name, const char *v2name,
					 bool *v2);

/* The cgroup of hierarchy h in /proc/<pid>/cgroup text; NULL if absent. */
char *cg_proc_cgroup_of(const char *text, const struct cg_hier *h);

/* cgroup_tasks.c */
int cg_enter(ferry_cgroup_t *cg, pid_t pid, ferry_error_t *err);
int cg_freeze(ferry_cgroup_t *cg, bool on, ferry_error_t *err);

/* Conversions shared with the tests. */
uint64_t ferry_cgroup_shares_to_weight(uint64_t shares);
uint64_t ferry_cgroup_blkio_to_io_weight(uint64_t weight);
/* OCI memory.swap (memory+swap) to memory.swap.max (swap alone).
 * *out: -1 = "max", 0 with *set false = leave alone. */
int ferry_cgroup_swap_to_v2(int64_t swap, int64_t limit, bool *set, int64_t *out, ferry_error_t *err);

/* cgroup_v1.c */
int cg_v1_set_memory(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_set_cpu(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_set_cpuset(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_cpuset_inherit(const struct ferry_cgroup *cg, int parent_dfd, int dfd, ferry_error_t *err);
int cg_v1_set_pids(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_set_blkio(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_set_hugetlb(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_set_devices(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v1_freeze(const struct ferry_cgroup *cg, int dfd, bool freeze, ferry_error_t *err);
int cg_v1_is_frozen(int dfd, bool *frozen, ferry_error_t *err);

/* cgroup_v2.c */
int cg_v2_enable_controllers(const struct ferry_cgroup *cg, int dfd, ferry_error_t *err);
int cg_v2_set_memory(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_cpu(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_cpuset(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_pids(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_io(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_hugetlb(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_set_unified(const struct ferry_cgroup *cg, const struct cg_hier *h, int dfd,
		      const struct ferry_resources *res, ferry_error_t *err);
int cg_v2_freeze(const struct ferry_cgroup *cg, int dfd, bool freeze, ferry_error_t *err);
int cg_v2_is_frozen(int dfd, bool *frozen, ferry_error_t *err);

/* cgroup_bpf.c: device rules on cgroup2 as a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the cgroup directory. */
int cg_v2_set_devices(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err);

/* The rules every container gets after its own (runc's and crun's list):
 * mknod of anything, /dev/null, zero, full, random, urandom, tty, ptmx,
 * /dev/pts/<any>.  Kept here so v1 and BPF enforce the same set. */
extern const struct ferry_device_rule ferry_cgroup_default_device_rules[];
extern const size_t ferry_cgroup_n_default_device_rules;

#endif
