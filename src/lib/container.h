/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container lifecycle: one library call per CLI verb. */
#ifndef FERRY_CONTAINER_H
#define FERRY_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "context.h"
#include "error.h"
#include "spec.h"
#include "state.h"

enum ferry_stdio_mode {
	FERRY_STDIO_INHERIT = 0, /* create: the container gets our stdio (conmon, shims) */
	FERRY_STDIO_DETACHED,    /* run -d: never hold the caller's terminal or pipes */
};

struct ferry_create_opts {
	const char *id;
	const char *bundle;      /* NULL: current directory */
	const char *config_path; /* NULL: <bundle>/config.json */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	enum ferry_stdio_mode stdio;
	bool foreground; /* run without -d: keep a pty proxy if terminal */
};

struct ferry_create_result {
	pid_t pid;
	int pty_master; /* foreground run with terminal and no console socket, else -1 */
};

int ferry_container_create(const ferry_ctx_t *ctx, const struct ferry_create_opts *o, struct ferry_create_result *res,
			   ferry_error_t *err);
int ferry_container_start(const ferry_ctx_t *ctx, const char *id, ferry_error_t *err);

struct ferry_run_opts {
	struct ferry_create_opts create;
	bool detach;
	bool keep; /* --keep: do not delete after exit */
};
/* Create and start; in the foreground wait for the init, forwarding
 * signals, and return its exit status (128+signal when killed). */
int ferry_container_run(const ferry_ctx_t *ctx, const struct ferry_run_opts *o, int *exit_status, ferry_error_t *err);

int ferry_container_state(const ferry_ctx_t *ctx, const char *id, char **json, ferry_error_t *err);

struct ferry_container_info {
	struct ferry_state *state;
	enum ferry_status status;
};
int ferry_container_list(const ferry_ctx_t *ctx, struct ferry_container_info **out, size_t *n, ferry_error_t *err);
void ferry_container_info_free(struct ferry_container_info *l, size_t n);

int ferry_container_kill(const ferry_ctx_t *ctx, const char *id, int sig, bool all, ferry_error_t *err);
int ferry_container_delete(const ferry_ctx_t *ctx, const char *id, bool force, ferry_error_t *err);
int ferry_container_pause(const ferry_ctx_t *ctx, const char *id, bool pause, ferry_error_t *err);
int ferry_container_pids(const ferry_ctx_t *ctx, const char *id, pid_t **pids, size_t *n, ferry_error_t *err);

/* runc update: new limits for a created, running or paused container.
 * The -r object and the flags are merged (a flag wins), checked like a
 * config's .linux.resources, applied to the cgroup, then recorded in the
 * container's config copy.  A value the kernel refuses names its file. */
struct ferry_update_opts {
	const char *id;
	const char *resources_json; /* -r FILE: a LinuxResources object, or NULL */
	size_t resources_len;
	const char *resources_name; /* the file's name for messages ("stdin" for -) */
	/* The flags: memory limit/reservation/swap, cpu shares/quota/period,
	 * cpus/mems, pids limit and blkio weight, each with its has_* set. */
	struct ferry_resources flags;
};
int ferry_container_update(const ferry_ctx_t *ctx, const struct ferry_update_opts *o, ferry_error_t *err);

/* runc events --stats: one {"type":"stats","id":..,"data":..} object.
 * Caller frees. */
int ferry_container_stats(const ferry_ctx_t *ctx, const char *id, char **json, ferry_error_t *err);
/* runc events: calls fn with a stats object every interval_ms (and an
 * {"type":"oom"} object first when the OOM killer struck since the last
 * one) until the container stops or is deleted, then returns 0.  fn
 * returns < 0 with errno set to stop the stream with an error. */
typedef int (*ferry_event_fn)(const char *json, void *data);
int ferry_container_events(const ferry_ctx_t *ctx, const char *id, uint64_t interval_ms, ferry_event_fn fn, void *data,
			   ferry_error_t *err);

struct ferry_exec_opts {
	const char *id;
	const char *process_path; /* -p process.json */
	char **args;              /* when no -p */
	char **env;               /* -e, appended */
	const char *cwd;
	bool has_user;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool tty;
	bool detach;
	const char *pid_file;
	const char *console_socket;
	char **cap_add;
	bool no_new_privs;
	const char *apparmor;
	const char *process_label;
	int preserve_fds;
};
int ferry_container_exec(const ferry_ctx_t *ctx, const struct ferry_exec_opts *o, int *exit_status, ferry_error_t *err);

/* Writes a pid file atomically (runc: the file appears complete or not at all). */
int ferry_write_pid_file(const char *path, pid_t pid, ferry_error_t *err);

#endif
