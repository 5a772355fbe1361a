/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: a new process inside a running container's namespaces and cgroup. */
#define LOG_PREFIX "exec: "
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "container_internal.h"
#include "init.h"
#include "log.h"
#include "process.h"
#include "terminal.h"
#include "util.h"

static const struct {
	int type;
	const char *file;
} ns_files[] = {
	/* user first: the others are owned by it */
	{ CLONE_NEWUSER, "user" }, { CLONE_NEWIPC, "ipc" },	  { CLONE_NEWUTS, "uts" },
	{ CLONE_NEWNET, "net" },   { CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWPID, "pid" },
	{ CLONE_NEWNS, "mnt" },	   { CLONE_NEWTIME, "time" },
};

static int
open_container_ns(pid_t pid, struct ferry_ns_join **out, size_t *n, ferry_error_t *err)
{
	struct ferry_ns_join *j = xmalloc0(sizeof(*j) * ARRAY_SIZE(ns_files));
	size_t k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ns_files); i++) {
		_cleanup_free_ char *path = xasprintf("/proc/%d/ns/%s", (int) pid, ns_files[i].file);
		_cleanup_free_ char *self = xasprintf("/proc/self/ns/%s", ns_files[i].file);
		struct stat a, b;
		int fd;

		/* Joining the namespace we are already in is pointless, and
		 * refused for user namespaces. */
		if (stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			ferry_error_sys(err, "open %s", path);
			for (size_t m = 0; m < k; m++)
				close(j[m].fd);
			free(j);
			return -1;
		}
		j[k].type = ns_files[i].type;
		j[k].fd = fd;
		k++;
	}
	*out = j;
	*n = k;
	return 0;
}

static int
cap_add(struct ferry_process *p, char **caps, ferry_error_t *err)
{
	for (char **c = caps; c && *c; c++) {
		int v = ferry_cap_from_name(*c);

		if (v < 0)
			return ferry_error_set(err, EINVAL, "--cap: unknown capability \"%s\"", *c);
		p->caps.bounding |= 1ull << v;
		p->caps.effective |= 1ull << v;
		p->caps.permitted |= 1ull << v;
	}
	return 0;
}

/* The process to run: process.json, or the container's own process with
 * the command line's overrides (runc's rules). */
static int
build_process(const struct ferry_exec_opts *o, ferry_spec_t *spec, struct ferry_process **out, ferry_error_t *err)
{
	struct ferry_process *p;

	if (o->process_path) {
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (ferry_read_file(o->process_path, FERRY_SPEC_MAX_SIZE, &text, &len, err) < 0 ||
		    ferry_spec_parse_process(text, len, o->process_path, out, err) < 0)
			return -1;
		return 0;
	}
	if (o->args == NULL || o->args[0] == NULL)
		return ferry_error_set(err, EINVAL, "no command given to run (and no --process)");
	p = steal_pointer(&spec->process);
	ferry_strv_free(p->args);
	p->args = NULL;
	for (char **a = o->args; *a; a++)
		ferry_strv_append(&p->args, *a);
	for (char **e = o->env; e && *e; e++)
		ferry_strv_append(&p->env, *e);
	if (o->cwd) {
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	if (o->has_user) {
		p->uid = o->uid;
		p->gid = o->gid;
	}
	if (o->n_additional_gids) {
		free(p->additional_gids);
		p->additional_gids = xmalloc0(sizeof(gid_t) * o->n_additional_gids);
		memcpy(p->additional_gids, o->additional_gids, sizeof(gid_t) * o->n_additional_gids);
		p->n_additional_gids = o->n_additional_gids;
	}
	p->terminal = o->tty;
	if (o->no_new_privs)
		p->no_new_privileges = true;
	if (o->apparmor) {
		free(p->apparmor_profile);
		p->apparmor_profile = xstrdup(o->apparmor);
	}
	if (o->process_label) {
		free(p->selinux_label);
		p->selinux_label = xstrdup(o->process_label);
	}
	*out = p;
	if (cap_add(p, o->cap_add, err) < 0)
		return -1;
	return 0;
}

int
ferry_container_exec(const ferry_ctx_t *ctx, const struct ferry_exec_opts *o, int *exit_status, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_free_ struct ferry_sync_msg *msg = xmalloc0(sizeof(*msg));
	struct ferry_process *proc = NULL;
	ferry_seccomp_filter_t *seccomp = NULL;
	struct ferry_ns_join *joins = NULL;
	struct ferry_cgroup_join join = FERRY_CGROUP_JOIN_INIT;
	size_t n_joins = 0;
	_cleanup_close_ int console_fd = -1, pty_master = -1, sync_fd = -1, own_pidns = -1, own_timens = -1;
	int sp[2] = { -1, -1 };
	enum ferry_status s;
	sigset_t all, old;
	bool blocked = false;
	pid_t pid = -1;
	int ret = -1;

	*exit_status = 0;
	if (ferry_container_dir_open(ctx, o->id, &d, err) < 0)
		return ferry_error_prefix(err, "exec");
	if (ferry_container_load(&d, &st, &spec, err) < 0)
		goto out;
	s = ferry_state_status(&d, st);
	if (s != FERRY_STATUS_RUNNING && s != FERRY_STATUS_CREATED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s: cannot exec in it", o->id, ferry_status_name(s));
		goto out;
	}
	if (build_process(o, spec, &proc, err) < 0)
		goto out;
	if (proc->terminal && o->detach && o->console_socket == NULL) {
		ferry_error_set(err, EINVAL, "a detached exec with a terminal needs --console-socket");
		goto out;
	}
	if (spec->linux_.seccomp && ferry_seccomp_compile(spec->linux_.seccomp, &seccomp, err) < 0)
		goto out;
	if (o->console_socket && (console_fd = ferry_console_socket_connect(o->console_socket, err)) < 0)
		goto out;
	if (open_container_ns(st->pid, &joins, &n_joins, err) < 0)
		goto out;
	if (st->cgroup_path &&
	    (ferry_cgroup_open(st->cgroup_path, &cg, err) < 0 || ferry_cgroup_join_prepare(cg, &join, err) < 0))
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		ferry_error_sys(err, "socketpair");
		goto out;
	}
	if (!o->detach) {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		blocked = true;
	}
	{
		struct ferry_init_cfg icfg = {
			.spec = spec,
			.process = proc,
			.sync_fd = sp[1],
			.fifo_fd = -1,
			.console_fd = console_fd,
			.pty_to_parent = proc->terminal && o->console_socket == NULL,
			.joins = joins,
			.n_joins = n_joins,
			/* runc's exec --detach hands the caller's stdio to the
			 * process: conmon and containerd's shim pass pipes they
			 * read the output from, so /dev/null would lose it. */
			.detached_stdio = false,
			.preserve_fds = o->preserve_fds,
			.seccomp = seccomp,
			.is_exec = true,
			.cg_join = cg ? &join : NULL,
		};

		/* pid and time namespaces apply to children only: set ours
		 * for the child, and back afterwards. */
		for (size_t i = 0; i < n_joins; i++) {
			int *own = joins[i].type == CLONE_NEWPID ? &own_pidns : joins[i].type == CLONE_NEWTIME ? &own_timens : NULL;
			if (own == NULL)
				continue;
			*own = open(joins[i].type == CLONE_NEWPID ? "/proc/self/ns/pid" : "/proc/self/ns/time",
				    O_RDONLY | O_CLOEXEC);
			if (*own < 0 || setns(joins[i].fd, joins[i].type) < 0) {
				ferry_error_sys(err, "join the %s namespace of %s", ferry_ns_name(joins[i].type), o->id);
				goto out;
			}
		}
		pid = ferry_cgroup_clone(icfg.cg_join, 0);
		if (pid == 0)
			ferry_init_child(&icfg);
		if (own_pidns >= 0)
			setns(own_pidns, CLONE_NEWPID);
		if (own_timens >= 0)
			setns(own_timens, CLONE_NEWTIME);
		if (pid < 0) {
			char where[PATH_MAX + 16];

			ferry_error_sys(err, "start the process%s", ferry_cgroup_join_where(&join, where, sizeof(where)));
			goto out;
		}
	}
	ferry_closep(&sp[1]);
	sync_fd = steal_fd(&sp[0]);
	/* The process joins the cgroup by itself (ferry_cgroup_join_self). */
	ferry_cgroup_join_release(&join);
	if (ferry_sync_send(sync_fd, SYNC_GO, err) < 0)
		goto kill;
	if (proc->terminal && o->console_socket == NULL) {
		if (ferry_sync_expect(sync_fd, SYNC_PTY, msg, err) < 0 ||
		    ferry_fd_recv(sync_fd, &pty_master, NULL, 0, err) < 0)
			goto kill;
	}
	if (ferry_sync_expect(sync_fd, SYNC_READY, msg, err) < 0)
		goto kill;
	if (o->pid_file && ferry_write_pid_file(o->pid_file, pid, err) < 0)
		goto kill;
	if (ferry_sync_send(sync_fd, SYNC_COMMIT, err) < 0 || ferry_sync_expect(sync_fd, SYNC_COMMITTED, msg, err) < 0)
		goto kill;
	/* The container lock is not held while the process runs. */
	ferry_container_dir_close(&d);
	if (o->detach) {
		ret = 0;
		goto out_unlocked;
	}
	ret = ferry_wait_foreground(pid, pty_master, exit_status, err);
	goto out_unlocked;
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	ferry_container_dir_close(&d);
out_unlocked:
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	ferry_closep(&sp[0]);
	ferry_closep(&sp[1]);
	for (size_t i = 0; i < n_joins; i++)
		close(joins[i].fd);
	free(joins);
	ferry_cgroup_join_release(&join);
	ferry_seccomp_free(seccomp);
	ferry_process_free(proc);
	return ret < 0 ? ferry_error_prefix(err, "exec %s", o->id) : 0;
}
