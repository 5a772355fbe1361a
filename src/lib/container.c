/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container lifecycle, parent side: create/start/run/delete/kill/
 * pause/resume/state/list.  exec lives in exec.c.
 */
#define LOG_PREFIX "container: "
#include "container.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "container_internal.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "process.h"
#include "terminal.h"
#include "util.h"

#define FIFO_FILE "exec.fifo"
#define CONFIG_COPY "config.json"

int
ferry_write_pid_file(const char *path, pid_t pid, ferry_error_t *err)
{
	_cleanup_free_ char *abs = NULL, *dir = NULL;
	_cleanup_close_ int dfd = -1;
	char buf[32];
	const char *base;
	char *slash;

	abs = xstrdup(path);
	slash = strrchr(abs, '/');
	if (slash == NULL) {
		dir = xstrdup(".");
		base = abs;
	} else {
		dir = slash == abs ? xstrdup("/") : strndup(abs, slash - abs);
		base = slash + 1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ferry_error_sys(err, "pid file %s", path);
	/* runc writes the pid without a newline; tools parse either. */
	snprintf(buf, sizeof(buf), "%d", (int) pid);
	if (ferry_write_file_replace_at(dfd, base, buf, strlen(buf), 0644, err) < 0)
		return ferry_error_prefix(err, "pid file %s", path);
	return 0;
}

/* Reads the stored config and state of an opened container. */
int
ferry_container_load(const struct ferry_container_dir *d, struct ferry_state **st, ferry_spec_t **spec,
		     ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (ferry_state_read(d, st, err) < 0)
		return -1;
	if (spec == NULL)
		return 0;
	if (ferry_read_file_at(d->dir_fd, CONFIG_COPY, FERRY_SPEC_MAX_SIZE, &text, &len, err) < 0 ||
	    ferry_spec_parse(text, len, CONFIG_COPY, spec, err) < 0) {
		ferry_state_freep(st);
		return ferry_error_prefix(err, "container \"%s\"", d->id);
	}
	return 0;
}

static int
open_ns_joins(const ferry_spec_t *spec, struct ferry_ns_join **out, size_t *n, ferry_error_t *err)
{
	const struct ferry_linux *lx = &spec->linux_;
	struct ferry_ns_join *j = xmalloc0(sizeof(*j) * (lx->n_namespaces + 1));
	size_t k = 0;

	for (size_t i = 0; i < lx->n_namespaces; i++) {
		int fd;

		if (lx->namespaces[i].path == NULL)
			continue;
		fd = open(lx->namespaces[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ferry_error_sys(err, "%s namespace path %s", ferry_ns_name(lx->namespaces[i].type),
					lx->namespaces[i].path);
			goto fail;
		}
		j[k].type = lx->namespaces[i].type;
		j[k].fd = fd;
		k++;
	}
	*out = j;
	*n = k;
	return 0;
fail:
	for (size_t i = 0; i < k; i++)
		close(j[i].fd);
	free(j);
	return -1;
}

static void
close_ns_joins(struct ferry_ns_join *j, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(j[i].fd);
	free(j);
}

int
ferry_idmap_write(const char *proc_dir, const struct ferry_idmap *uids, size_t n_uids, const struct ferry_idmap *gids,
		  size_t n_gids, ferry_error_t *err)
{
	const struct {
		const char *file;
		const struct ferry_idmap *m;
		size_t n;
	} maps[] = { { "uid_map", uids, n_uids }, { "gid_map", gids, n_gids } };

	for (size_t k = 0; k < ARRAY_SIZE(maps); k++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", proc_dir, maps[k].file);
		char *buf = NULL;
		size_t len = 0;
		FILE *f;
		int ret;

		if (maps[k].n == 0)
			continue;
		f = open_memstream(&buf, &len);
		if (f == NULL)
			return ferry_error_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < maps[k].n; i++)
			fprintf(f, "%u %u %u\n", maps[k].m[i].container_id, maps[k].m[i].host_id, maps[k].m[i].size);
		fclose(f);
		/* The kernel takes the whole map in one write. */
		ret = ferry_write_file(path, buf, err);
		free(buf);
		if (ret < 0)
			return ferry_error_prefix(err, "user namespace %s", maps[k].file);
	}
	return 0;
}

static int
write_id_maps(pid_t pid, const struct ferry_linux *lx, ferry_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("/proc/%d", (int) pid);

	return ferry_idmap_write(dir, lx->uid_mappings, lx->n_uid_mappings, lx->gid_mappings, lx->n_gid_mappings, err);
}

/* Checks what the kernel would otherwise refuse halfway through. */
static int
validate_spec(const ferry_spec_t *spec, const struct ferry_create_opts *o, ferry_error_t *err)
{
	const struct ferry_process *p = spec->process;

	if (p == NULL)
		return ferry_error_set(err, EINVAL, "config.json: .process: required to create a container");
	if (p->args == NULL || p->args[0] == NULL)
		return ferry_error_set(err, EINVAL, "config.json: .process.args: must name the program to run");
	if (p->terminal && o->console_socket == NULL && !o->foreground)
		return ferry_error_set(err, EINVAL,
				       "config.json: .process.terminal is true: a detached container needs "
				       "--console-socket to hand the terminal to");
	if (!p->terminal && o->console_socket)
		return ferry_error_set(err, EINVAL,
				       "--console-socket given but config.json: .process.terminal is false");
	if (spec->hostname && *spec->hostname && !ferry_spec_has_ns(spec, CLONE_NEWUTS))
		return ferry_error_set(err, EINVAL,
				       "config.json: .hostname: setting a hostname needs a new uts namespace "
				       "(.linux.namespaces has none)");
	if (ferry_spec_has_ns(spec, CLONE_NEWUSER) && !ferry_spec_get_ns(spec, CLONE_NEWUSER)->path &&
	    (spec->linux_.n_uid_mappings == 0 || spec->linux_.n_gid_mappings == 0))
		return ferry_error_set(err, EINVAL,
				       "config.json: .linux.uidMappings/gidMappings: a new user namespace needs "
				       "both");
	if (!ferry_spec_has_ns(spec, CLONE_NEWNS))
		return ferry_error_set(err, EINVAL,
				       "config.json: .linux.namespaces: ferry needs a mount namespace to set up the "
				       "root filesystem");
	return 0;
}

struct create_ctx {
	pid_t pid;
	int sync_fd;
	int fifo_fd;
	int console_fd;
	struct ferry_ns_join *joins;
	size_t n_joins;
	ferry_cgroup_t *cg;
	struct ferry_cgroup_join join;
	ferry_seccomp_filter_t *seccomp;
};

static unsigned long
clone_flags_for(const ferry_spec_t *spec)
{
	const struct ferry_linux *lx = &spec->linux_;
	unsigned long flags = 0;

	for (size_t i = 0; i < lx->n_namespaces; i++) {
		int t = lx->namespaces[i].type;

		if (lx->namespaces[i].path)
			continue;
		/* cgroup: unshared by the child once it is in its cgroup.
		 * time: CLONE_NEWTIME is a CSIGNAL bit to clone(2); spawn_init
		 * unshares it for the child instead. */
		if (t == CLONE_NEWCGROUP || t == CLONE_NEWTIME)
			continue;
		flags |= t;
	}
	return flags;
}

static int
kill_and_reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/*
 * A time namespace, like a pid namespace, is entered by children: unshare
 * (or setns) here sets the one our next child gets, and the clock offsets
 * can be written only until a process is in it, so they go in before the
 * clone.  We return to our own afterwards, for the hooks we run.
 */
static int
prepare_timens(const ferry_spec_t *spec, int time_join_fd, int *own_timens, ferry_error_t *err)
{
	const struct ferry_linux *lx = &spec->linux_;
	char buf[128];
	int len;

	if (time_join_fd < 0 && !ferry_spec_has_ns(spec, CLONE_NEWTIME))
		return 0;
	*own_timens = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	if (*own_timens < 0)
		return ferry_error_sys(err, "time namespace: /proc/self/ns/time");
	if (time_join_fd >= 0) {
		if (setns(time_join_fd, CLONE_NEWTIME) < 0)
			return ferry_error_sys(err, "join time namespace");
		return 0;
	}
	if (unshare(CLONE_NEWTIME) < 0)
		return ferry_error_sys(err, "new time namespace");
	len = snprintf(buf, sizeof(buf), "monotonic %" PRId64 " %" PRIu32 "\nboottime %" PRId64 " %" PRIu32 "\n",
		       lx->time_offset_monotonic_secs, lx->time_offset_monotonic_nsecs, lx->time_offset_boottime_secs,
		       lx->time_offset_boottime_nsecs);
	{
		_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, buf, (size_t) len) != len)
			return ferry_error_sys(err, "config.json: .linux.timeOffsets: write /proc/self/timens_offsets");
	}
	return 0;
}

static int
spawn_init(const struct ferry_init_cfg *icfg, const ferry_spec_t *spec, unsigned long flags, int pid_join_fd,
	   int time_join_fd, pid_t *out, ferry_error_t *err)
{
	_cleanup_close_ int own_pidns = -1;
	_cleanup_close_ int own_timens = -1;
	pid_t pid;

	if (pid_join_fd >= 0) {
		/* setns(CLONE_NEWPID) only changes where our children go;
		 * remember our own to come back for hooks. */
		own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own_pidns < 0 || setns(pid_join_fd, CLONE_NEWPID) < 0)
			return ferry_error_sys(err, "join pid namespace");
	}
	if (prepare_timens(spec, time_join_fd, &own_timens, err) < 0) {
		if (own_pidns >= 0)
			setns(own_pidns, CLONE_NEWPID);
		if (own_timens >= 0)
			setns(own_timens, CLONE_NEWTIME);
		return -1;
	}
	/* Like fork(), with the namespaces created atomically with the child,
	 * and into the cgroup2 cgroup if there is one. */
	pid = ferry_cgroup_clone(icfg->cg_join, flags);
	if (pid == 0)
		ferry_init_child(icfg);
	if (pid < 0) {
		char where[PATH_MAX + 16];

		ferry_error_sys(err, "clone container init%s (flags 0x%lx)",
				ferry_cgroup_join_where(icfg->cg_join, where, sizeof(where)), flags);
	}
	if (own_timens >= 0 && setns(own_timens, CLONE_NEWTIME) < 0 && pid > 0) {
		ferry_error_sys(err, "return to our time namespace");
		kill_and_reap(pid);
		return -1;
	}
	if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0 && pid > 0) {
		ferry_error_sys(err, "return to our pid namespace");
		kill_and_reap(pid);
		return -1;
	}
	if (pid < 0)
		return -1;
	*out = pid;
	return 0;
}

static void
create_ctx_free(struct create_ctx *c)
{
	ferry_closep(&c->sync_fd);
	ferry_closep(&c->fifo_fd);
	ferry_closep(&c->console_fd);
	close_ns_joins(c->joins, c->n_joins);
	c->joins = NULL;
	ferry_cgroup_join_release(&c->join);
	ferry_cgroup_free(c->cg);
	c->cg = NULL;
	ferry_seccomp_free(c->seccomp);
	c->seccomp = NULL;
}

static int
resolve_bundle(const struct ferry_create_opts *o, char **bundle, char **config_path, ferry_error_t *err)
{
	char buf[PATH_MAX];

	if (realpath(o->bundle ? o->bundle : ".", buf) == NULL)
		return ferry_error_sys(err, "bundle %s", o->bundle ? o->bundle : ".");
	*bundle = xstrdup(buf);
	*config_path = o->config_path ? xstrdup(o->config_path) : xasprintf("%s/config.json", buf);
	return 0;
}

static int
resolve_rootfs(const ferry_spec_t *spec, const char *bundle, char **out, ferry_error_t *err)
{
	_cleanup_free_ char *p = NULL;
	char buf[PATH_MAX];
	struct stat st;

	if (spec->root_path == NULL || *spec->root_path == '\0')
		return ferry_error_set(err, EINVAL, "config.json: .root.path: required");
	p = spec->root_path[0] == '/' ? xstrdup(spec->root_path) : xasprintf("%s/%s", bundle, spec->root_path);
	if (realpath(p, buf) == NULL || stat(buf, &st) < 0)
		return ferry_error_sys(err, "rootfs %s (config.json: .root.path)", p);
	if (!S_ISDIR(st.st_mode))
		return ferry_error_set(err, ENOTDIR, "rootfs %s (config.json: .root.path): not a directory", p);
	*out = xstrdup(buf);
	return 0;
}

int
ferry_container_create(const ferry_ctx_t *ctx, const struct ferry_create_opts *o, struct ferry_create_result *res,
		       ferry_error_t *err)
{
	struct create_ctx c = { .pid = -1, .sync_fd = -1, .fifo_fd = -1, .console_fd = -1, .join = FERRY_CGROUP_JOIN_INIT };
	struct ferry_container_dir d = { .root_fd = -1, .dir_fd = -1, .lock_fd = -1 };
	_cleanup_free_ char *bundle = NULL, *config_path = NULL, *rootfs = NULL, *cg_path = NULL;
	_cleanup_free_ char *hook_json = NULL;
	_cleanup_free_ struct ferry_sync_msg *msg = xmalloc0(sizeof(*msg));
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	struct ferry_state st = { 0 };
	const struct ferry_namespace *pidns;
	int pid_join_fd = -1, time_join_fd = -1;
	int sp[2] = { -1, -1 };
	bool made_dir = false;

	res->pid = -1;
	res->pty_master = -1;
	if (resolve_bundle(o, &bundle, &config_path, err) < 0)
		return ferry_error_prefix(err, "create %s", o->id);
	if (ferry_spec_load(config_path, &spec, err) < 0 || validate_spec(spec, o, err) < 0 ||
	    resolve_rootfs(spec, bundle, &rootfs, err) < 0)
		return ferry_error_prefix(err, "create %s", o->id);
	if (ferry_cgroup_path_for(spec->linux_.cgroups_path, o->id, &cg_path, err) < 0)
		return ferry_error_prefix(err, "create %s", o->id);
	if (spec->linux_.seccomp && ferry_seccomp_compile(spec->linux_.seccomp, &c.seccomp, err) < 0)
		return ferry_error_prefix(err, "create %s", o->id);

	if (ferry_container_dir_create(ctx, o->id, &d, err) < 0)
		goto fail;
	made_dir = true;
	if (ferry_write_file_replace_at(d.dir_fd, CONFIG_COPY, spec->raw, strlen(spec->raw), 0600, err) < 0)
		goto fail;
	/* 0622: the init may run as any user by the time it opens the fifo. */
	if (mkfifoat(d.dir_fd, FIFO_FILE, 0622) < 0 || fchmodat(d.dir_fd, FIFO_FILE, 0622, 0) < 0) {
		ferry_error_sys(err, "create exec fifo");
		goto fail;
	}
	c.fifo_fd = openat(d.dir_fd, FIFO_FILE, O_PATH | O_CLOEXEC);
	if (c.fifo_fd < 0) {
		ferry_error_sys(err, "open exec fifo");
		goto fail;
	}
	if (o->console_socket) {
		c.console_fd = ferry_console_socket_connect(o->console_socket, err);
		if (c.console_fd < 0)
			goto fail;
	}
	if (open_ns_joins(spec, &c.joins, &c.n_joins, err) < 0)
		goto fail;
	pidns = ferry_spec_get_ns(spec, CLONE_NEWPID);
	for (size_t i = 0; i < c.n_joins; i++) {
		if (c.joins[i].type == CLONE_NEWPID)
			pid_join_fd = c.joins[i].fd;
		if (c.joins[i].type == CLONE_NEWTIME)
			time_join_fd = c.joins[i].fd;
	}
	/* Create the cgroup (with its limits) before the child exists so a
	 * bad limit fails before anything runs. */
	if (ferry_cgroup_create(cg_path, &spec->linux_.resources, 0, &c.cg, err) < 0)
		goto fail;
	if (ferry_cgroup_join_prepare(c.cg, &c.join, err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		ferry_error_sys(err, "socketpair");
		goto fail;
	}
	{
		const struct ferry_namespace *cgns = ferry_spec_get_ns(spec, CLONE_NEWCGROUP);
		const struct ferry_namespace *userns = ferry_spec_get_ns(spec, CLONE_NEWUSER);
		struct ferry_init_cfg icfg = {
			.spec = spec,
			.process = spec->process,
			.bundle = bundle,
			.rootfs = rootfs,
			.no_pivot = o->no_pivot,
			.sync_fd = sp[1],
			.fifo_fd = c.fifo_fd,
			.console_fd = c.console_fd,
			.pty_to_parent = spec->process->terminal && o->console_socket == NULL,
			.joins = c.joins,
			.n_joins = c.n_joins,
			.new_cgroup_ns = cgns && cgns->path == NULL,
			.new_user_ns = userns && userns->path == NULL,
			.detached_stdio = o->stdio == FERRY_STDIO_DETACHED,
			.preserve_fds = o->preserve_fds,
			.seccomp = c.seccomp,
			.cg_join = &c.join,
		};

		if (spawn_init(&icfg, spec, clone_flags_for(spec), pid_join_fd, time_join_fd, &c.pid, err) < 0)
			goto fail;
	}
	ferry_closep(&sp[1]);
	c.sync_fd = steal_fd(&sp[0]);
	/* The init joins the cgroup by itself (ferry_cgroup_join_self). */
	ferry_cgroup_join_release(&c.join);
	if (ferry_spec_has_ns(spec, CLONE_NEWUSER) && !ferry_spec_get_ns(spec, CLONE_NEWUSER)->path &&
	    write_id_maps(c.pid, &spec->linux_, err) < 0)
		goto fail;
	if (ferry_sync_send(c.sync_fd, SYNC_GO, err) < 0 || ferry_sync_expect(c.sync_fd, SYNC_RUN_HOOKS, msg, err) < 0)
		goto fail;

	st.id = (char *) o->id;
	st.pid = c.pid;
	st.start_time = ferry_proc_start_time(c.pid);
	st.bundle = bundle;
	st.rootfs = rootfs;
	st.created = ferry_now_rfc3339();
	st.owner = "";
	st.cgroup_path = cg_path;
	st.host_pid_ns = pidns == NULL;
	st.annotations = spec->annotations;
	st.n_annotations = spec->n_annotations;
	hook_json = ferry_state_hook_json(&st, FERRY_STATUS_CREATING);
	if (ferry_hooks_run(spec, FERRY_HOOK_PRESTART, hook_json, err) < 0 ||
	    ferry_hooks_run(spec, FERRY_HOOK_CREATE_RUNTIME, hook_json, err) < 0)
		goto fail;
	if (ferry_sync_send_text(c.sync_fd, SYNC_HOOKS_DONE, hook_json, err) < 0)
		goto fail;
	if (spec->process->terminal && o->console_socket == NULL) {
		if (ferry_sync_expect(c.sync_fd, SYNC_PTY, msg, err) < 0 ||
		    ferry_fd_recv(c.sync_fd, &res->pty_master, NULL, 0, err) < 0)
			goto fail;
	}
	if (ferry_sync_expect(c.sync_fd, SYNC_READY, msg, err) < 0)
		goto fail;
	if (ferry_state_write(&d, &st, err) < 0)
		goto fail;
	if (o->pid_file && ferry_write_pid_file(o->pid_file, c.pid, err) < 0)
		goto fail;
	if (ferry_sync_send(c.sync_fd, SYNC_COMMIT, err) < 0 ||
	    ferry_sync_expect(c.sync_fd, SYNC_COMMITTED, msg, err) < 0)
		goto fail;
	res->pid = c.pid;
	free(st.created);
	create_ctx_free(&c);
	ferry_container_dir_close(&d);
	return 0;

fail:
	/* Leave nothing: the init, its cgroup, the state directory. */
	ferry_closep(&sp[0]);
	ferry_closep(&sp[1]);
	ferry_closep(&res->pty_master);
	kill_and_reap(c.pid);
	if (c.cg)
		ferry_cgroup_undo_create(c.cg);
	if (made_dir) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_dir_remove(&d, &e2) < 0)
			pr_warn("create %s: cleanup: %s", o->id, e2.msg);
	}
	if (o->pid_file && c.pid > 0)
		unlink(o->pid_file);
	free(st.created);
	create_ctx_free(&c);
	ferry_container_dir_close(&d);
	return ferry_error_prefix(err, "create %s", o->id);
}

static const char *
status_error_word(enum ferry_status s)
{
	switch (s) {
	case FERRY_STATUS_STOPPED:
		return "stopped";
	case FERRY_STATUS_RUNNING:
		return "running";
	case FERRY_STATUS_PAUSED:
		return "paused";
	case FERRY_STATUS_CREATED:
		return "created";
	default:
		return "being created";
	}
}

int
ferry_container_start(const ferry_ctx_t *ctx, const char *id, ferry_error_t *err)
{
	struct ferry_container_dir d;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	_cleanup_close_ int fifo = -1;
	_cleanup_free_ char *hook_json = NULL;
	enum ferry_status s;
	uint64_t deadline;
	bool hup = false;
	char c;

	if (ferry_container_dir_open(ctx, id, &d, err) < 0)
		return ferry_error_prefix(err, "start");
	if (ferry_container_load(&d, &st, &spec, err) < 0)
		goto fail;
	s = ferry_state_status(&d, st);
	if (s != FERRY_STATUS_CREATED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s, not created: cannot start it", id,
				status_error_word(s));
		goto fail;
	}
	/* Non-blocking so a dead init cannot hang us; the init's blocked
	 * open(O_WRONLY) completes as soon as a reader exists. */
	fifo = openat(d.dir_fd, FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		ferry_error_sys(err, "open exec fifo");
		goto fail;
	}
	deadline = ferry_now_ns() + 10ull * 1000000000ull;
	for (;;) {
		ssize_t r = read(fifo, &c, 1);

		if (r == 1)
			break;
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			ferry_error_sys(err, "read exec fifo");
			goto fail;
		}
		/* 0: the writer has not opened yet (or died); EAGAIN: opened,
		 * byte not written yet. */
		if (!ferry_state_init_alive(st)) {
			ferry_error_set(err, ESRCH, "container \"%s\": init process exited before start", id);
			goto fail;
		}
		if (ferry_now_ns() > deadline) {
			ferry_error_set(err, ETIMEDOUT, "container \"%s\": init did not answer the start signal", id);
			goto fail;
		}
		/* Until a writer has opened the fifo since we did, poll() does
		 * not report the missing writer (POLLHUP) and waits for the
		 * init's byte, which usually follows within microseconds of our
		 * open; a writer that came and went without writing leaves
		 * POLLHUP set, and we look again after a pause instead of
		 * spinning. */
		if (!hup) {
			struct pollfd p = { .fd = fifo, .events = POLLIN };
			if (poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLIN)) == POLLHUP)
				hup = true;
		} else {
			usleep(1000);
		}
	}
	if (unlinkat(d.dir_fd, FIFO_FILE, 0) < 0) {
		ferry_error_sys(err, "remove exec fifo");
		goto fail;
	}
	hook_json = ferry_state_hook_json(st, FERRY_STATUS_RUNNING);
	{
		_cleanup_error_ ferry_error_t herr = FERRY_ERROR_INIT;
		/* The spec: a failing poststart hook is a warning only. */
		if (ferry_hooks_run(spec, FERRY_HOOK_POSTSTART, hook_json, &herr) < 0)
			pr_warn("start %s: %s", id, herr.msg);
	}
	ferry_container_dir_close(&d);
	return 0;
fail:
	ferry_container_dir_close(&d);
	return ferry_error_prefix(err, "start %s", id);
}
