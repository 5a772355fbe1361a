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
 * LINUX/LINUX32).  Errors name the setting and the value. */
int ferry_process_apply_limits(const struct ferry_process *p, const struct ferry_linux *lx, ferry_error_t *err);

/* NoNewPrivileges, bounding set drop, additional gids, setresgid/setresuid
 * keeping capabilities across the switch, then the effective, permitted,
 * inheritable and ambient sets.  Called after everything that needs
 * privilege (mounts, sysctl, hooks). */
int ferry_process_apply_identity(const struct ferry_process *p, ferry_error_t *err);

/* AppArmor profile / SELinux exec label: applied when the host has the LSM,
 * a clear error naming the LSM when asked for one the host cannot apply. */
int ferry_process_apply_lsm(const struct ferry_process *p, ferry_error_t *err);

/* Finds args[0] in the container (PATH from env, as execvp would), so that
 * create fails early with "executable file not found in $PATH". */
int ferry_process_find_executable(const char *arg0, char *const *env, char **out, ferry_error_t *err);

/* Seccomp through libseccomp: compile the filter early (errors at create
 * time), load it last. */
typedef struct ferry_seccomp_filter ferry_seccomp_filter_t;
int ferry_seccomp_compile(const struct ferry_seccomp *s, ferry_seccomp_filter_t **out, ferry_error_t *err);
int ferry_seccomp_load(ferry_seccomp_filter_t *f, ferry_error_t *err);
void ferry_seccomp_free(ferry_seccomp_filter_t *f);

#endif
