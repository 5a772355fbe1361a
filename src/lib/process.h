/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The identity and limits of a container process, applied in the container
 * init (and in exec'd processes) just before execve.
 */
#ifndef FERRY_PROCESS_H
#define FERRY_PROCESS_H

#include "error.h"
#include "spec.h"

/* rlimits, oomScoreAdj, ioPriority, scheduler, personality (domain
 * LINUX/LINUX32; lx may be NULL).  Errors name the setting and the value.
 * Call before ferry_process_apply_identity: raising a hard limit needs
 * CAP_SYS_RESOURCE, realtime classes CAP_SYS_NICE/CAP_SYS_ADMIN.
 * p->io_priority_class holds the kernel's class number from
 * <linux/ioprio.h> (IOPRIO_CLASS_RT 1, _BE 2, _IDLE 3): the parser maps the
 * OCI name to it.  p->sched_policy is a SCHED_* number, p->sched_flags
 * SCHED_FLAG_* bits; SCHED_DEADLINE is refused until struct ferry_process
 * carries runtime/deadline/period. */
/* .process.oomScoreAdj, on the calling process. Before joining a user
 * namespace: the init is not dumpable, so its /proc/self/oom_score_adj
 * belongs to the host's root, which a mapped root cannot write. */
int ferry_process_apply_oom_score_adj(const struct ferry_process *p, ferry_error_t *err);
int ferry_process_apply_limits(const struct ferry_process *p, const struct ferry_linux *lx, ferry_error_t *err);

/* NoNewPrivileges, bounding set drop, additional gids, setresgid/setresuid
 * keeping capabilities across the switch, then the effective, permitted,
 * inheritable and ambient sets.  Called after everything that needs
 * privilege (mounts, sysctl, hooks).
 * Without p->caps.present every set ends empty, as in runc (the caller
 * gives an exec'd process without capabilities the container's).
 * Capabilities unknown to the running kernel, and ambient ones the kernel
 * refuses (not permitted and inheritable), are warned about, not fatal. */
int ferry_process_apply_identity(const struct ferry_process *p, ferry_error_t *err);

/* AppArmor profile / SELinux exec label: applied when the host has the LSM,
 * a clear error naming the LSM when asked for one the host cannot apply.
 * Both take effect at the next execve only.  The LSM is detected through
 * /sys (/sys/module/apparmor, /sys/fs/selinux), so call this where those
 * show the host's state: before pivot_root, or with sysfs mounted for
 * AppArmor (selinuxfs is usually not mounted in a container). */
int ferry_process_apply_lsm(const struct ferry_process *p, ferry_error_t *err);

/* Finds args[0] in the container (PATH from env, as execvp would), so that
 * create fails early with "executable file not found in $PATH".  A name
 * with a '/' is checked as is.  *out is malloc'd.  Messages are runc's:
 *   exec: "foo": executable file not found in $PATH
 *   exec: "/bin/x": permission denied | is a directory
 * (err->errno_ is 0 for these: the text is complete). */
int ferry_process_find_executable(const char *arg0, char *const *env, char **out, ferry_error_t *err);

/* Seccomp through libseccomp: compile the filter early (errors at create
 * time, "seccomp: syscalls[3]: unknown action \"SCMP_ACT_FOO\""), load it
 * last.  The filter never sets no_new_privs itself, so loading it needs
 * either process.noNewPrivileges (set by ferry_process_apply_identity) or
 * CAP_SYS_ADMIN: with noNewPrivileges load after apply_identity, right
 * before execve; without, load before apply_identity drops capabilities
 * (runc's order).  SCMP_ACT_NOTIFY and listenerPath are refused. */
typedef struct ferry_seccomp_filter ferry_seccomp_filter_t;
int ferry_seccomp_compile(const struct ferry_seccomp *s, ferry_seccomp_filter_t **out, ferry_error_t *err);
int ferry_seccomp_load(ferry_seccomp_filter_t *f, ferry_error_t *err);
void ferry_seccomp_free(ferry_seccomp_filter_t *f);

#endif
