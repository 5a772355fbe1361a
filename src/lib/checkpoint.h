/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checkpoint and restore of a container through CRIU (runc's semantics). */
#ifndef FERRY_CHECKPOINT_H
#define FERRY_CHECKPOINT_H

#include <stdbool.h>

#include "cgroup.h"
#include "context.h"
#include "criu_rpc.h"
#include "error.h"
#include "netns.h"
#include "spec.h"

struct ferry_checkpoint_opts {
	const char *id;
	const char *image_path; /* NULL: ./checkpoint */
	const char *work_path; /* NULL: the image path */
	const char *parent_path;
	bool leave_running;
	bool tcp_established;
	bool tcp_skip_in_flight;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool link_remap;
	bool auto_dedup;
	bool pre_dump;
	/* Serve the memory from a page server at page_server instead of
	 * writing it: the call returns once a lazy restore fetched it all. */
	bool lazy_pages;
	const char *page_server; /* "ADDR:PORT" ("[v6]:PORT"); NULL: none */
	/* Where CRIU writes one '\0' when the lazy page server listens
	 * (runc's --status-fd); only looked at when has_status_fd. */
	bool has_status_fd;
	int status_fd;
	enum ferry_criu_cg_mode manage_cgroups_mode;
	bool print_stats;
	/* --empty-ns network: leave the container's own network namespace
	 * out of the image even when it holds more than lo (cr_netns.c) */
	bool empty_net;
	/* Masked directories as external mounts (key masked-dir:PATH): a
	 * shorter freeze, but only ferry restores such an image. */
	bool masked_dirs_external;
	/* The config's tmpfs mounts ferry can carry are external to CRIU and
	 * listed in the images (tmpfs_carry.h); their contents are the
	 * caller's to write while the tree is frozen (the migration). */
	bool carry_tmpfs;
	/* A whole cgroup2 hierarchy mounted in the container is external too
	 * (bound again on restore instead of CRIU mounting a new one: 15 ms
	 * frozen); runc maps no key for one, so only for a ferry restore. */
	bool cgroup2_external;
	/* Called with the CRIU request right before CRIU runs, so that a
	 * caller (the migration) can add what the CLI has no flag for: a
	 * connected page-server socket, TLS, a notification callback. */
	void (*tune)(struct ferry_criu_opts *copts, void *data);
	void *tune_data;
};

int ferry_container_checkpoint(const ferry_ctx_t *ctx, const struct ferry_checkpoint_opts *o, ferry_error_t *err);

/* In the images at images_fd, turn the v1 freezer cgroup's recorded state
 * FROZEN into THAWED (a tree ferry froze before CRIU did was running);
 * returns how many were changed, -1 on error. */
int ferry_criu_image_thaw_freezer(int images_fd, ferry_error_t *err);

struct ferry_restore_opts {
	const char *id;
	const char *bundle; /* NULL: current directory */
	const char *image_path; /* NULL: ./checkpoint */
	const char *work_path; /* NULL: the image path */
	const char *pid_file;
	/* The image's terminal: CRIU makes a new pty for the dumped slave and
	 * ferry sends its master here, as create does. */
	const char *console_socket;
	bool detach;
	bool tcp_established;
	bool tcp_close;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool auto_dedup;
	bool no_subreaper; /* needs detach: the init goes to our nearest subreaper ancestor */
	/* Fetch memory on demand from a `criu lazy-pages` daemon listening in
	 * the work directory (userfaultfd). */
	bool lazy_pages;
	/* --empty-ns network: a new, empty network namespace (lo up) even if
	 * the image holds one */
	bool empty_net;
	/* runc's --lsm-profile TYPE:NAME (apparmor or selinux) and
	 * --lsm-mount-context: handed to CRIU as they are */
	const char *lsm_profile;
	const char *lsm_mount_context;
	/* UNSET: CRIU leaves cgroups to ferry (the tree lands in the
	 * container's new cgroup).  Else CRIU restores the image's cgroups
	 * under the container's cgroup with that mode, as with runc. */
	enum ferry_criu_cg_mode manage_cgroups_mode;
	bool print_stats;
	/* The init's stdio files are another host's: give it /dev/null. */
	bool stdio_to_null;
	/* NULL: the config's cgroupsPath (or ferry's default for the id). */
	const char *cgroup_path;
	/* As for checkpoint: adjusts the CRIU request (lazy pages). */
	void (*tune)(struct ferry_criu_opts *copts, void *data);
	void *tune_data;
};

/* Restores the image as a new container o->id from the bundle's config
 * (bind mounts are bound from *this* config's sources).  Detached: returns
 * once the tree runs; otherwise waits for the init and sets *exit_status. */
int ferry_container_restore(const ferry_ctx_t *ctx, const struct ferry_restore_opts *o, int *exit_status,
			    ferry_error_t *err);

/*
 * A restore made in two steps, for a migration's destination: stage makes
 * the state directory, the cgroup, the mount points and CRIU's root, and
 * places a helper in the cgroup, all while the source still runs (o must
 * be detached, without terminal, pid file or stats, cgroups left to
 * ferry; its strings must live until free).  run, once the images are in
 * o->image_path, restores through the helper and writes the state; on
 * failure everything staged is gone.  free undoes a stage that was not
 * run (and frees either way).
 */
/* Every process in cg descends from init (CRIU dumps that tree only; one
 * started by `exec` would be lost): else an error naming it. */
int ferry_container_check_tree(ferry_cgroup_t *cg, pid_t init, ferry_error_t *err);

/* In the images: the container's cgroup mount points that showed a whole
 * hierarchy (root "/"), one a line; the others showed its own cgroup. */
#define FERRY_CGROUP_WHOLE "ferry-cgroup-whole"

typedef struct ferry_restore_staged ferry_restore_staged_t;
int ferry_restore_stage(const ferry_ctx_t *ctx, const struct ferry_restore_opts *o, ferry_restore_staged_t **out,
			ferry_error_t *err);
/* running(arg), if given, is called as soon as CRIU has the tree running
 * (its sockets exist), before the helper's clean-up and the state are
 * done: what waits for the container can go on to it. */
int ferry_restore_staged_run(ferry_restore_staged_t *s, bool tcp_established, void (*running)(void *arg), void *arg,
			     ferry_error_t *err);
void ferry_restore_staged_free(ferry_restore_staged_t *s);

/* Splits "ADDR:PORT" / "[ADDR]:PORT" into *addr (caller frees) and *port. */
int ferry_page_server_parse(const char *s, char **addr, int *port, ferry_error_t *err);

/* Parses runc's --manage-cgroups-mode value. */
int ferry_criu_cg_mode_parse(const char *s, enum ferry_criu_cg_mode *out, ferry_error_t *err);

#endif
