/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Container state on disk: <root>/<id>/ (0700) holding state.json,
 * config.json (the config the container was created from), exec.fifo
 * while the container is "created", and a lock file.
 *
 * Every command on a container holds an exclusive flock on <id>/lock for
 * its whole duration, so concurrent commands on one container are
 * serialised.  The status is never trusted from the file: it is derived
 * from the real init process (pid + start time, to survive pid reuse),
 * the exec fifo and the freezer.
 */
#ifndef FERRY_STATE_H
#define FERRY_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "context.h"
#include "error.h"
#include "spec.h"

enum ferry_status {
	FERRY_STATUS_CREATING = 0,
	FERRY_STATUS_CREATED,
	FERRY_STATUS_RUNNING,
	FERRY_STATUS_PAUSED,
	FERRY_STATUS_STOPPED,
};

const char *ferry_status_name(enum ferry_status s);

struct ferry_state {
	char *id;
	pid_t pid;
	uint64_t start_time; /* /proc/<pid>/stat field 22 at create */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339, UTC, nanoseconds */
	char *owner;
	char *cgroup_path;
	bool host_pid_ns; /* no pid namespace: kill/delete must signal the whole cgroup */
	char *restored_from; /* image path when the container came from a restore */
	struct ferry_kv *annotations;
	size_t n_annotations;
};

/* An open, locked container directory. */
struct ferry_container_dir {
	int root_fd;
	int dir_fd;
	int lock_fd;
	char *id;
	char *path; /* <root>/<id> */
};

int ferry_state_root_open(const ferry_ctx_t *ctx, bool create, int *out, ferry_error_t *err);

/* Creates <root>/<id> exclusively ("container X already exists") and locks it. */
int ferry_container_dir_create(const ferry_ctx_t *ctx, const char *id, struct ferry_container_dir *d,
			       ferry_error_t *err);
/* Opens and locks an existing container ("container X does not exist"). */
int ferry_container_dir_open(const ferry_ctx_t *ctx, const char *id, struct ferry_container_dir *d,
			     ferry_error_t *err);
/* Removes the directory (while still holding the lock) and closes it. */
int ferry_container_dir_remove(struct ferry_container_dir *d, ferry_error_t *err);
void ferry_container_dir_close(struct ferry_container_dir *d);

int ferry_state_write(const struct ferry_container_dir *d, const struct ferry_state *st, ferry_error_t *err);
/* Reads state.json; a directory without one (a create that died) gives
 * ENOENT in err->errno_. */
int ferry_state_read(const struct ferry_container_dir *d, struct ferry_state **out, ferry_error_t *err);
void ferry_state_free(struct ferry_state *st);
void ferry_state_freep(struct ferry_state **st);
#define _cleanup_state_ __attribute__((cleanup(ferry_state_freep)))

/* Derives the status from the process, the fifo and the freezer. */
enum ferry_status ferry_state_status(const struct ferry_container_dir *d, const struct ferry_state *st);
/* The init is alive (same pid and start time, not a zombie). */
bool ferry_state_init_alive(const struct ferry_state *st);

/* runc's `state` JSON. Caller frees. */
char *ferry_state_to_json(const struct ferry_state *st, enum ferry_status status);
/* The OCI state given to hooks on stdin. */
char *ferry_state_hook_json(const struct ferry_state *st, enum ferry_status status);

char *ferry_now_rfc3339(void);

#endif
