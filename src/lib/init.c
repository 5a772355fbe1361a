/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container init child (create) and the entering child (exec).
 *
 * Order matters and follows runc's, for the reasons given at each step:
 * everything that needs privilege (setns, mounts, sysctl, hooks) happens
 * before the identity switch; seccomp is loaded as late as it can be.
 */
#define LOG_PREFIX "init: "
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "netns.h"
#include "process.h"
#include "rootfs.h"
#include "terminal.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int
ferry_sync_send_text(int fd, enum ferry_sync_type type, const char *text, ferry_error_t *err)
{
	_cleanup_free_ struct ferry_sync_msg *m = xmalloc0(sizeof(*m));
	size_t len = offsetof(struct ferry_sync_msg, text) + 1;

	m->type = type;
	if (text) {
		size_t n = strlen(text);
		if (n >= sizeof(m->text))
			return ferry_error_set(err, E2BIG, "sync message too large (%zu bytes)", n);
		memcpy(m->text, text, n + 1);
		len += n;
	}
	while (send(fd, m, len, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return ferry_error_sys(err, "sync with %s", getpid() == 1 ? "parent" : "peer");
	}
	return 0;
}

int
ferry_sync_send(int fd, enum ferry_sync_type type, ferry_error_t *err)
{
	return ferry_sync_send_text(fd, type, NULL, err);
}

int
ferry_sync_send_error(int fd, const ferry_error_t *e)
{
	_cleanup_free_ struct ferry_sync_msg *m = xmalloc0(sizeof(*m));

	m->type = SYNC_ERROR;
	m->errno_ = e->errno_;
	snprintf(m->text, sizeof(m->text), "%s", e->msg ? e->msg : "unknown error");
	return send(fd, m, offsetof(struct ferry_sync_msg, text) + strlen(m->text) + 1, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int
ferry_sync_expect(int fd, enum ferry_sync_type type, struct ferry_sync_msg *msg, ferry_error_t *err)
{
	ssize_t n;

	memset(msg, 0, sizeof(*msg));
	do
		n = recv(fd, msg, sizeof(*msg) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ferry_error_sys(err, "sync");
	if (n == 0)
		return ferry_error_set(err, EPIPE, "sync: the other side exited");
	if ((size_t) n < offsetof(struct ferry_sync_msg, text))
		return ferry_error_set(err, EBADMSG, "sync: short message");
	((char *) msg)[n] = '\0';
	if (msg->type == SYNC_ERROR)
		return ferry_error_set(err, msg->errno_, "%s", msg->text);
	if (msg->type != type)
		return ferry_error_set(err, EBADMSG, "sync: expected message %d, got %u", type, msg->type);
	return 0;
}

static int
apply_sysctl(const struct ferry_linux *lx, ferry_error_t *err)
{
	for (size_t i = 0; i < lx->n_sysctl; i++)
		if (ferry_sysctl_set(lx->sysctl[i].key, lx->sysctl[i].value, err) < 0)
			return -1;
	return 0;
}

static int
setup_stdio_detached(ferry_error_t *err)
{
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return ferry_error_sys(err, "open /dev/null");
	/* A detached container must not hold the caller's terminal or pipes
	 * (the seed article had to redirect runc's stdio by hand), but output
	 * the caller sent to a regular file keeps going there. */
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;

		if (fd > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			continue;
		if (dup2(null, fd) < 0)
			return ferry_error_sys(err, "redirect fd %d to /dev/null", fd);
	}
	return 0;
}

static int
join_namespaces(const struct ferry_init_cfg *cfg, bool user_pass, ferry_error_t *err)
{
	for (size_t i = 0; i < cfg->n_joins; i++) {
		const struct ferry_ns_join *j = &cfg->joins[i];

		/* pid: the parent already set pid_for_children; time likewise. */
		if (j->type == CLONE_NEWPID || j->type == CLONE_NEWTIME)
			continue;
		if ((j->type == CLONE_NEWUSER) != user_pass)
			continue;
		if (setns(j->fd, j->type) < 0)
			return ferry_error_sys(err, "join %s namespace", ferry_ns_name(j->type));
	}
	return 0;
}

static int
setup_terminal(const struct ferry_init_cfg *cfg, ferry_error_t *err)
{
	const struct ferry_process *p = cfg->process;
	_cleanup_close_ int master = -1;
	_cleanup_free_ char *slave = NULL;
	struct stat st;

	/* runc's init always starts a session: a container whose session
	 * leader is outside its pid namespace cannot be checkpointed by CRIU
	 * ("A session leader of ... is outside of its pid namespace"). */
	if (!p->terminal) {
		if (!cfg->is_exec && setsid() < 0 && errno != EPERM)
			return ferry_error_sys(err, "setsid");
		return 0;
	}
	if (ferry_pty_open(&master, &slave, p->console_height, p->console_width, err) < 0)
		return -1;
	/* Give the console a node to be bound on, as runc does. */
	if (!cfg->is_exec && stat("/dev/console", &st) < 0) {
		int fd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	if (ferry_pty_setup_slave(slave, !cfg->is_exec, err) < 0)
		return -1;
	if (cfg->console_fd >= 0)
		return ferry_fd_send(cfg->console_fd, master, slave, err) < 0 ? ferry_error_prefix(err, "console socket")
									   : 0;
	if (cfg->pty_to_parent) {
		if (ferry_sync_send(cfg->sync_fd, SYNC_PTY, err) < 0)
			return -1;
		return ferry_fd_send(cfg->sync_fd, master, slave, err);
	}
	return 0;
}

static int
wait_for_start(const struct ferry_init_cfg *cfg, ferry_error_t *err)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	/* Blocks until `ferry start` opens the fifo for reading.  The fifo
	 * lives in the state dir on the host, reachable only through the
	 * O_PATH fd we opened before pivot_root. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", cfg->fifo_fd);
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return ferry_error_sys(err, "open exec fifo");
	if (ferry_write_all(fd, "0", 1) < 0)
		return ferry_error_sys(err, "write exec fifo");
	return 0;
}

/* GO: the parent has moved us into the container's cgroup (and written
 * the id maps).  Awaited once, wherever it is first needed. */
struct go_wait {
	const struct ferry_init_cfg *cfg;
	struct ferry_sync_msg *msg;
	bool done;
};

static int
wait_for_go(void *arg, ferry_error_t *err)
{
	struct go_wait *g = arg;

	if (g->done)
		return 0;
	if (ferry_sync_expect(g->cfg->sync_fd, SYNC_GO, g->msg, err) < 0)
		return -1;
	g->done = true;
	return 0;
}

__attribute__((noreturn)) static void
die(const struct ferry_init_cfg *cfg, ferry_error_t *err, bool parent_listening)
{
	if (parent_listening && ferry_sync_send_error(cfg->sync_fd, err) == 0)
		_exit(1);
	{
		_cleanup_free_ char *s = ferry_error_string(err);
		dprintf(2, "ferry: container init: %s\n", s ? s : "error");
	}
	_exit(127);
}

void
ferry_init_child(const struct ferry_init_cfg *cfg)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	const struct ferry_process *p = cfg->process;
	const ferry_spec_t *spec = cfg->spec;
	struct ferry_sync_msg *msg = xmalloc0(sizeof(*msg));
	_cleanup_free_ char *hook_state = NULL;
	_cleanup_free_ char *exe = NULL;
	bool nnp = p->no_new_privileges;
	struct go_wait go = { .cfg = cfg, .msg = msg };
	int keep[3 + 256];
	size_t nkeep = 0;

	/* The parent blocks signals to forward them; the container starts
	 * with none blocked and every handler at its default. */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
	}
	/* If the parent dies before handing over, do not linger. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Until it execs the container's program this process is ferry: a
	 * process inside the container (same uid, and the same capabilities
	 * once ours are dropped) could otherwise open our /proc/PID/exe, the
	 * ferry binary, and write to it once it is no longer executed
	 * (CVE-2019-5736), or reach the host's exec fifo and sync socket
	 * through /proc/PID/fd, or ptrace us.  Not dumpable, /proc/PID of
	 * this process is closed to all but the host's root; execve makes the
	 * container's program dumpable again, as for any program. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		ferry_error_sys(&err, "make the %s not dumpable", cfg->is_exec ? "exec process" : "container init");
		goto fail;
	}
	/* Into the container's cgroup before anything else runs or forks here
	 * (the cgroup mounts below show it; a new cgroup namespace has it as
	 * its root).  The parent opened the files, as the host's root. */
	if (cfg->cg_join && ferry_cgroup_join_self(cfg->cg_join, &err) < 0)
		goto fail;
	/* Still as ferry's own root (see ferry_process_apply_oom_score_adj). */
	if (ferry_process_apply_oom_score_adj(p, &err) < 0)
		goto fail;
	/* GO: the parent has written the id maps (a new user namespace) and
	 * knows our pid.  Without a user namespace, build the rootfs
	 * meanwhile and wait for GO at the latest before the hooks. */
	if ((cfg->new_user_ns || cfg->is_exec) && wait_for_go(&go, &err) < 0)
		goto fail;

	/* In a new user namespace we start as the overflow uid until we
	 * switch to the mapped root. */
	if (join_namespaces(cfg, true, &err) < 0)
		goto fail;
	if (cfg->new_user_ns || cfg->n_joins) {
		if (cfg->new_user_ns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
			ferry_error_sys(&err, "become root in the user namespace");
			goto fail;
		}
	}
	if (join_namespaces(cfg, false, &err) < 0)
		goto fail;
	/* We joined the container's cgroup first thing, so a new cgroup
	 * namespace has that cgroup as its root. */
	if (cfg->new_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
		ferry_error_sys(&err, "create cgroup namespace");
		goto fail;
	}

	if (!cfg->is_exec) {
		struct ferry_rootfs_opts ro = {
			.spec = spec,
			.bundle = cfg->bundle,
			.rootfs = cfg->rootfs,
			.no_pivot = cfg->no_pivot,
		};

		if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
			ferry_error_sys(&err, "set hostname \"%s\"", spec->hostname);
			goto fail;
		}
		if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0) {
			ferry_error_sys(&err, "set domainname \"%s\"", spec->domainname);
			goto fail;
		}
		/* A network namespace of our own starts with lo down: up, as
		 * runc and crun do, so that 127.0.0.1 and ::1 work. */
		{
			const struct ferry_namespace *netns = ferry_spec_get_ns(spec, CLONE_NEWNET);
			if (netns && !netns->path && ferry_netns_lo_up(&err) < 0) {
				ferry_error_prefix(&err, "container network namespace");
				goto fail;
			}
		}
		/* Through the host's /proc/sys, which follows our own (new)
		 * namespaces; the container's /proc/sys ends up read-only. */
		if (apply_sysctl(&spec->linux_, &err) < 0)
			goto fail;
		if (ferry_rootfs_prepare(&ro, &err) < 0)
			goto fail;
		if (wait_for_go(&go, &err) < 0)
			goto fail;
		/* prestart and createRuntime hooks run in the parent (the
		 * runtime's namespaces) now that ours exist. */
		if (ferry_sync_send(cfg->sync_fd, SYNC_RUN_HOOKS, &err) < 0 ||
		    ferry_sync_expect(cfg->sync_fd, SYNC_HOOKS_DONE, msg, &err) < 0)
			goto fail;
		hook_state = xstrdup(msg->text);
		/* createContainer: in the container's namespaces, before pivot_root. */
		if (ferry_hooks_run(spec, FERRY_HOOK_CREATE_CONTAINER, hook_state, &err) < 0)
			goto fail;
		/* The LSM label takes effect at execve; write it while the
		 * host's /sys (selinuxfs) is still visible. */
		if (ferry_process_apply_lsm(p, &err) < 0)
			goto fail;
		if (ferry_rootfs_finalize(&ro, &err) < 0)
			goto fail;
	}

	/* Done inside the new root: the container's own /dev/null is a file
	 * CRIU can dump, the host's is on a mount outside the container
	 * ("Can't lookup mount for fd=0"). */
	if (cfg->detached_stdio && setup_stdio_detached(&err) < 0)
		goto fail;
	if (setup_terminal(cfg, &err) < 0)
		goto fail;
	if (ferry_process_find_executable(p->args[0], p->env, &exe, &err) < 0)
		goto fail;
	if (ferry_process_apply_limits(p, &spec->linux_, &err) < 0)
		goto fail;
	if (p->has_umask)
		umask(p->umask);
	else if (!cfg->is_exec)
		umask(022);
	/* As root first: the cwd may be unreadable for the container user. */
	if (p->cwd && chdir(p->cwd) < 0) {
		/* an exec's cwd comes from --cwd or --process, not config.json */
		ferry_error_sys(&err, "chdir to cwd \"%s\"%s", p->cwd, cfg->is_exec ? "" : " set in config.json");
		goto fail;
	}
	if (cfg->is_exec && ferry_process_apply_lsm(p, &err) < 0)
		goto fail;

	/* Nothing of ferry's may leak into the container: close every fd but
	 * stdio, the preserved ones (LISTEN_FDS style) and our own two. */
	for (int i = 0; i < cfg->preserve_fds && nkeep < ARRAY_SIZE(keep) - 2; i++)
		keep[nkeep++] = 3 + i;
	keep[nkeep++] = cfg->sync_fd;
	if (cfg->fifo_fd >= 0)
		keep[nkeep++] = cfg->fifo_fd;
	ferry_close_fds_from(3, keep, nkeep);

	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN to install a
	 * filter, so it goes in before the capabilities are dropped. */
	if (cfg->seccomp && !nnp && ferry_seccomp_load(cfg->seccomp, &err) < 0)
		goto fail;
	if (ferry_process_apply_identity(p, &err) < 0)
		goto fail;
	/* Credential changes clear the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	if (ferry_sync_send(cfg->sync_fd, SYNC_READY, &err) < 0 ||
	    ferry_sync_expect(cfg->sync_fd, SYNC_COMMIT, msg, &err) < 0)
		goto fail;
	/* From here on the container outlives the command that made it.
	 * The parent waits for our answer before exiting: otherwise it could
	 * exit while the parent-death signal is still armed and kill us. */
	prctl(PR_SET_PDEATHSIG, 0);
	if (ferry_sync_send(cfg->sync_fd, SYNC_COMMITTED, &err) < 0)
		goto fail_late;
	close(cfg->sync_fd);

	if (!cfg->is_exec) {
		if (wait_for_start(cfg, &err) < 0)
			goto fail_late;
		close(cfg->fifo_fd);
		if (ferry_hooks_run(spec, FERRY_HOOK_START_CONTAINER, hook_state ? hook_state : "{}", &err) < 0)
			goto fail_late;
	}
	if (cfg->seccomp && nnp && ferry_seccomp_load(cfg->seccomp, &err) < 0)
		goto fail_late;
	/* Whatever was opened since the close above (startContainer hooks, a
	 * library) without O_CLOEXEC still does not cross the execve.  Best
	 * effort: before Linux 5.11 the close above is all there is. */
#ifdef SYS_close_range
	syscall(SYS_close_range, 3U + (unsigned int) cfg->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
	execve(exe, p->args, p->env ? p->env : (char *[]){ NULL });
	ferry_error_sys(&err, "exec %s", exe);
fail_late:
	die(cfg, &err, false);
fail:
	die(cfg, &err, true);
}
