/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container init child and its conversation with the parent.
 *
 * Parent and child are the same binary, so the sync messages are plain
 * structs over a SOCK_SEQPACKET socketpair (one message per packet, never
 * on a network).
 */
#ifndef FERRY_INIT_H
#define FERRY_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "process.h"
#include "spec.h"

enum ferry_sync_type {
	SYNC_GO = 1,         /* parent -> child: cgroup joined, id maps written */
	SYNC_RUN_HOOKS,      /* child -> parent: namespaces and mounts ready, run createRuntime */
	SYNC_HOOKS_DONE,     /* parent -> child */
	SYNC_PTY,            /* child -> parent: pty master follows as SCM_RIGHTS */
	SYNC_READY,          /* child -> parent: about to wait on the exec fifo (or exec) */
	SYNC_ERROR,          /* either way: text says what failed */
	SYNC_COMMIT,         /* parent -> child: state written, wait for start */
	SYNC_COMMITTED,      /* child -> parent: parent-death signal cleared, the parent may exit */
};

struct ferry_sync_msg {
	uint32_t type;
	int32_t errno_;
	char text[16384];
};

int ferry_sync_send(int fd, enum ferry_sync_type type, ferry_error_t *err);
int ferry_sync_send_text(int fd, enum ferry_sync_type type, const char *text, ferry_error_t *err);
int ferry_sync_send_error(int fd, const ferry_error_t *e);
/* Waits for the expected message; an ERROR message becomes *err. */
int ferry_sync_expect(int fd, enum ferry_sync_type type, struct ferry_sync_msg *msg, ferry_error_t *err);

struct ferry_ns_join {
	int type; /* CLONE_NEW* */
	int fd;
};

struct ferry_init_cfg {
	const ferry_spec_t *spec;
	const struct ferry_process *process;
	const char *bundle;
	const char *rootfs;
	bool no_pivot;
	int sync_fd;
	int fifo_fd;        /* O_PATH fd of exec.fifo; -1 for exec */
	int console_fd;     /* connected --console-socket, or -1 */
	bool pty_to_parent; /* foreground terminal: send the master to the parent */
	struct ferry_ns_join *joins;
	size_t n_joins;
	bool new_cgroup_ns;
	bool new_user_ns;
	bool detached_stdio;
	int preserve_fds;
	ferry_seccomp_filter_t *seccomp;
	bool is_exec; /* entering an existing container: no rootfs setup */
	/* The cgroup, joined first thing (ferry_cgroup_join_self); NULL: none. */
	struct ferry_cgroup_join *cg_join;
};

/* The child side of create and exec.  Never returns. */
__attribute__((noreturn)) void ferry_init_child(const struct ferry_init_cfg *cfg);

#endif
