/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control groups: v1, hybrid (v1 controllers + a v2 hierarchy at
 * /sys/fs/cgroup/unified) and pure v2, behind one interface.
 *
 * A container's cgroup is named by a path relative to each hierarchy's
 * root (linux.cgroupsPath, or "/ferry/<id>" by default).  Only that path is
 * kept in the container state; the layout is detected again each time, so
 * a state written on one host stays meaningful on another (migration).
 */
#ifndef FERRY_CGROUP_H
#define FERRY_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

enum ferry_cgroup_layout {
	FERRY_CGROUP_V1 = 1,     /* v1 controllers only */
	FERRY_CGROUP_HYBRID = 2, /* v1 controllers, plus cgroup2 at <root>/unified */
	FERRY_CGROUP_V2 = 3,     /* cgroup2 at <root> */
};

typedef struct ferry_cgroup ferry_cgroup_t;

/* Root of the cgroup mounts: "/sys/fs/cgroup" unless FERRY_CGROUP_ROOT is
 * set (unit tests point it at a fake tree). */
const char *ferry_cgroup_root(void);
int ferry_cgroup_detect_layout(const char *root, enum ferry_cgroup_layout *out, ferry_error_t *err);
const char *ferry_cgroup_layout_name(enum ferry_cgroup_layout layout);

/* Resolves the path a container uses: cgroups_path from the spec (absolute
 * or relative; ".." refused) or "/ferry/<id>". Caller frees. */
int ferry_cgroup_path_for(const char *cgroups_path, const char *id, char **out, ferry_error_t *err);

/* Creates the cgroup in every hierarchy, applies res, and moves pid in
 * (pid 0: move nobody).  On failure nothing it created is left. */
int ferry_cgroup_create(const char *path, const struct ferry_resources *res, pid_t pid, ferry_cgroup_t **out,
			ferry_error_t *err);
/* Opens an existing cgroup by path (from the state). */
int ferry_cgroup_open(const char *path, ferry_cgroup_t **out, ferry_error_t *err);
const char *ferry_cgroup_path(const ferry_cgroup_t *cg);
enum ferry_cgroup_layout ferry_cgroup_get_layout(const ferry_cgroup_t *cg);
/* Directory of one controller's cgroup ("memory", "freezer", "" = unified). */
char *ferry_cgroup_dir(const ferry_cgroup_t *cg, const char *controller);

int ferry_cgroup_enter(ferry_cgroup_t *cg, pid_t pid, ferry_error_t *err);
int ferry_cgroup_update(ferry_cgroup_t *cg, const struct ferry_resources *res, ferry_error_t *err);

/* Freeze or thaw, waiting until the kernel reports the new state. */
int ferry_cgroup_freeze(ferry_cgroup_t *cg, bool freeze, ferry_error_t *err);
int ferry_cgroup_is_frozen(ferry_cgroup_t *cg, bool *frozen, ferry_error_t *err);

/* Every pid in the cgroup (and its descendants). */
int ferry_cgroup_pids(ferry_cgroup_t *cg, pid_t **pids, size_t *n, ferry_error_t *err);
/* Signals every process in it (cgroup.kill for SIGKILL on v2). */
int ferry_cgroup_kill(ferry_cgroup_t *cg, int sig, ferry_error_t *err);

/* Removes the cgroup from every hierarchy (children first), waiting briefly
 * for dying tasks; missing is fine. */
int ferry_cgroup_destroy(ferry_cgroup_t *cg, ferry_error_t *err);
void ferry_cgroup_free(ferry_cgroup_t *cg);
void ferry_cgroup_freep(ferry_cgroup_t **cg);
#define _cleanup_cgroup_ __attribute__((cleanup(ferry_cgroup_freep)))

/* Inside the container's mount namespace, after unsharing the cgroup ns:
 * mounts the cgroup hierarchies under target (e.g. <rootfs>/sys/fs/cgroup)
 * as the layout needs: cgroup2 for v2; a tmpfs with one cgroup mount per v1
 * controller (plus "unified" for hybrid) otherwise. */
int ferry_cgroup_mount(const char *target, unsigned long flags, ferry_error_t *err);

/* Stats for `events --stats` as a JSON object text (runc's shape). */
int ferry_cgroup_stats_json(ferry_cgroup_t *cg, char **out, ferry_error_t *err);

#endif
