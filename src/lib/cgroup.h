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
#include <stdint.h>
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
 * set.  Layouts are detected from statfs and /proc/self/mountinfo; only
 * under FERRY_CGROUP_ROOT, when nothing is mounted there, a tree of plain
 * files stands in (unit tests): cgroup.controllers at its root makes it
 * v2, else each directory is a v1 hierarchy named by its controllers
 * ("memory", "cpu,cpuacct", "systemd"), plus "unified" for hybrid. */
const char *ferry_cgroup_root(void);
int ferry_cgroup_detect_layout(const char *root, enum ferry_cgroup_layout *out, ferry_error_t *err);
const char *ferry_cgroup_layout_name(enum ferry_cgroup_layout layout);

/* Resolves the path a container uses: cgroups_path from the spec (absolute
 * or relative; ".." refused) or "/ferry/<id>". Caller frees.  A relative
 * path starts at the hierarchy root (not at ferry's own cgroup as in
 * runc), so the path alone names the cgroup wherever it is opened again;
 * systemd's "slice:prefix:name" becomes /slice/prefix-name.scope. */
int ferry_cgroup_path_for(const char *cgroups_path, const char *id, char **out, ferry_error_t *err);

/* Creates the cgroup in every hierarchy, applies res, and moves pid in
 * (pid 0: move nobody).  On failure nothing it created is left (parents
 * that existed stay), and the error names the file and value:
 *   cgroup /ferry/web1: memory.limit_in_bytes: write "1024": Invalid argument
 * Numbers follow runc: 0 leaves a limit alone, -1 is unlimited, swap is
 * memory+swap.  A controller is used where it is mounted (hugetlb on the
 * cgroup2 hierarchy of a hybrid host).  Device rules are always installed
 * at create: deny all, res->devices in order, then the standard devices
 * (null, zero, full, random, urandom, tty, ptmx, pts, tun, mknod of any);
 * v1 through devices.allow/deny, cgroup2 through a BPF device program.
 * res may be NULL. */
int ferry_cgroup_create(const char *path, const struct ferry_resources *res, pid_t pid, ferry_cgroup_t **out,
			ferry_error_t *err);
/* Opens an existing cgroup by path (from the state). */
int ferry_cgroup_open(const char *path, ferry_cgroup_t **out, ferry_error_t *err);
const char *ferry_cgroup_path(const ferry_cgroup_t *cg);
enum ferry_cgroup_layout ferry_cgroup_get_layout(const ferry_cgroup_t *cg);
/* Directory of one controller's cgroup ("memory", "freezer", "" = unified). */
char *ferry_cgroup_dir(const ferry_cgroup_t *cg, const char *controller);
/* Its directory in the hierarchy mounted at mountpoint, if it has one
 * there (NULL: none, or no such hierarchy). */
char *ferry_cgroup_dir_at_mount(const ferry_cgroup_t *cg, const char *mountpoint);

int ferry_cgroup_enter(ferry_cgroup_t *cg, pid_t pid, ferry_error_t *err);

/*
 * A new child joining the cgroup by itself, without the RCU grace period
 * (10-15 ms on a quiet host) that moving a task by its pid costs: writing
 * a pid to cgroup.procs (or tasks) takes the global threadgroup rwsem for
 * writing.  A single-threaded task writing "0" to a v1 hierarchy's
 * `tasks` moves itself without that lock, and clone3(CLONE_INTO_CGROUP)
 * starts a child in a cgroup2 cgroup without it.  The parent prepares the
 * files (so the kernel checks the parent's credentials, whatever the child
 * has become), ferry_cgroup_clone starts the child, and the child calls
 * ferry_cgroup_join_self before anything else.  Where clone3 or
 * CLONE_INTO_CGROUP is missing (kernels before 5.7), the child writes "0"
 * to cgroup2's cgroup.procs instead.  Only for a child that is single
 * threaded until it has joined.
 */
struct ferry_cgroup_join {
	int into_fd;   /* the cgroup2 directory, or -1 */
	bool into_done; /* the child: clone3 put us there */
	size_t n;
	int *fds;      /* v1 `tasks`; cgroup2's cgroup.procs last, if any */
	char **names;  /* the hierarchies, for errors */
	bool fake;     /* unit tests' tree of plain files: write our pid */
	char *path;    /* the cgroup, for errors */
};
#define FERRY_CGROUP_JOIN_INIT { .into_fd = -1 }
int ferry_cgroup_join_prepare(ferry_cgroup_t *cg, struct ferry_cgroup_join *j, ferry_error_t *err);
/* fork() (with clone flags, as a raw clone without a new stack) into the
 * cgroup2 cgroup when there is one; returns as fork does.  After a
 * failure, errno is clone3's if it was clone3 that failed (EBUSY: the
 * cgroup has controllers enabled for children, so no process may be in
 * it), and ferry_cgroup_join_where() says where the child was to go. */
pid_t ferry_cgroup_clone(struct ferry_cgroup_join *j, unsigned long flags);
/* In the child: join every hierarchy not yet joined, then close the files. */
int ferry_cgroup_join_self(struct ferry_cgroup_join *j, ferry_error_t *err);
void ferry_cgroup_join_release(struct ferry_cgroup_join *j);
/* " into cgroup PATH" or "" (j NULL or released), for messages. */
const char *ferry_cgroup_join_where(const struct ferry_cgroup_join *j, char *buf, size_t size);
/* Applies res to an existing cgroup; device rules only if res has some. */
int ferry_cgroup_update(ferry_cgroup_t *cg, const struct ferry_resources *res, ferry_error_t *err);

/* Freeze or thaw, waiting until the kernel reports the new state. */
int ferry_cgroup_freeze(ferry_cgroup_t *cg, bool freeze, ferry_error_t *err);
int ferry_cgroup_is_frozen(ferry_cgroup_t *cg, bool *frozen, ferry_error_t *err);

/* Every pid in the cgroup (and its descendants). */
int ferry_cgroup_pids(ferry_cgroup_t *cg, pid_t **pids, size_t *n, ferry_error_t *err);
/* Signals every process in it: cgroup.kill for SIGKILL where cgroup2 has
 * it (v2, and hybrid: tasks are in the cgroup2 hierarchy too); otherwise
 * freeze, signal each, thaw, so that nothing forks past the signal.  A
 * paused cgroup stays paused, unless sig is SIGKILL. */
int ferry_cgroup_kill(ferry_cgroup_t *cg, int sig, ferry_error_t *err);

/* The clean-up of a create (or restore) that failed after
 * ferry_cgroup_create: where create made the cgroup (or a parent of it)
 * it goes, with what is in it (killed); a cgroup that was there before
 * stays as it was, with its processes and children (the caller kills its
 * own).  Errors are logged. */
void ferry_cgroup_undo_create(ferry_cgroup_t *cg);

/* Removes the cgroup from every hierarchy (children first), waiting briefly
 * for dying tasks; missing is fine. */
int ferry_cgroup_destroy(ferry_cgroup_t *cg, ferry_error_t *err);
void ferry_cgroup_free(ferry_cgroup_t *cg);
void ferry_cgroup_freep(ferry_cgroup_t **cg);
#define _cleanup_cgroup_ __attribute__((cleanup(ferry_cgroup_freep)))

/* Inside the container's mount namespace, after unsharing the cgroup ns:
 * mounts the cgroup hierarchies under target (e.g. <rootfs>/sys/fs/cgroup)
 * as the layout needs: cgroup2 for v2; a tmpfs with one cgroup mount per v1
 * controller (plus "unified" for hybrid) otherwise.  Without a cgroup ns
 * (the caller's cgroup is not "/" in /proc/self/cgroup) each hierarchy is
 * a bind mount of the caller's own cgroup instead, as runc does, so the
 * container never sees the host's tree.  Co-mounted v1 controllers get
 * symlinks for
 * co-mounted controllers (cpu -> cpu,cpuacct).  flags: MS_RDONLY, MS_NOSUID,
 * MS_NODEV, MS_NOEXEC and the atime flags; with MS_RDONLY the tmpfs is
 * made read-only last.  target is opened again after the tmpfs mount, so
 * it must be a path (not /proc/self/fd/N) that leads into it. */
int ferry_cgroup_mount(const char *target, unsigned long flags, ferry_error_t *err);

/* Stats for `events --stats` as a JSON object text (runc's shape):
 * {"type":"stats","id":ID,"data":{"cpu":..,"memory":..,"pids":..}};
 * id NULL leaves "id" out.  Caller frees. */
int ferry_cgroup_stats_json(ferry_cgroup_t *cg, const char *id, char **out, ferry_error_t *err);

/* How many times the OOM killer has killed in the cgroup so far (v1:
 * memory.oom_control's oom_kill, Linux >= 4.13; v2: memory.events).
 * `events` reports an "oom" event when it grows. */
int ferry_cgroup_oom_kills(ferry_cgroup_t *cg, uint64_t *out, ferry_error_t *err);

#endif
