/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CRIU helper processes of a `ferry serve` session: CRIU's page server
 * (stop-copy) or the lazy-pages daemon (lazy: ferry's own, lazy_pages.c,
 * or CRIU's), on the pages connection the network process relays; and the
 * watch over that daemon while a lazy restore runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "criu.h"
#include "criu_rpc.h"
#include "lazy_pages.h"
#include "log.h"
#include "relay.h"
#include "serve_internal.h"
#include "serve_ps.h"
#include "util.h"

#undef LOG_PREFIX
#define LOG_PREFIX "serve: "

/* The lazy-pages daemon: ferry's own (lazy_pages.c) unless
 * FERRY_LAZY_DAEMON=criu asks for CRIU's. */
static bool
own_lazy_daemon(void)
{
	const char *v = getenv("FERRY_LAZY_DAEMON");

	return v == NULL || strcmp(v, "criu") != 0;
}

static uint64_t
env_kib(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	uint64_t x;

	if (v == NULL || ferry_parse_u64(v, &x) < 0 || x < 4 || x > (1u << 20))
		x = dflt;
	return x * 1024;
}

/* The child that is ferry's lazy-pages daemon: lazy-pages.socket in the
 * work directory, '\0' on status_fd once it listens (as CRIU's --status-fd),
 * its log in lazy-pages.log; exits 0 once every page is in. */
static _Noreturn void
run_own_lazy_daemon(struct sess *s, int ps_fd, int status_fd)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ferry_lazy_stats st;
	struct ferry_lazy_opts o = {
		.ps_fd = ps_fd,
		/* Measured on the testbed (docs/benchmarks.md, session 9). */
		.window = env_kib("FERRY_LAZY_WINDOW_KB", 16384),
		.chunk = env_kib("FERRY_LAZY_CHUNK_KB", 2048),
		.fault_chunk = env_kib("FERRY_LAZY_FAULT_KB", 64),
		.timeout_ms = 0, /* as CRIU's: a cut link is the keepalive's to find */
	};
	int one = 1;

	if (o.window < o.chunk)
		o.window = o.chunk;
	prctl(PR_SET_NAME, "ferry-lazy");
	if (chdir(s->work) < 0)
		_exit(126);
	o.log_fd = open("lazy-pages.log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	o.images_dir = open(s->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	memcpy(sa.sun_path, "lazy-pages.socket", sizeof("lazy-pages.socket"));
	unlink(sa.sun_path);
	o.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (o.images_dir < 0 || o.listen_fd < 0 || bind(o.listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    listen(o.listen_fd, 4) < 0) {
		ferry_error_sys(&e, "lazy-pages.socket in %s", s->work);
		goto fail;
	}
	setsockopt(ps_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (write(status_fd, "", 1) != 1)
		_exit(125);
	close(status_fd);
	if (ferry_lazy_pages_serve(&o, &st, &e) < 0)
		goto fail;
	/* One line in the agent's log too: its work directory goes. */
	dprintf(2,
		"ferry serve: lazy-pages: %" PRIu64 " pages in after %.1f ms (%.1f ms copying, %.1f ms waiting), %" PRIu64
		" faults, %" PRIu64 " requests\n",
		st.pages_copied, st.total_ms, st.copy_ms, st.poll_ms, st.faults, st.requests);
	{
		char line[64];
		int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", st.pages_copied);
		_cleanup_error_ ferry_error_t we = FERRY_ERROR_INIT;
		ferry_write_file_atomic_at(AT_FDCWD, "lazy-pages.stats", line, (size_t) n, 0600, &we);
	}
	if (o.log_fd >= 0)
		dprintf(o.log_fd,
			"done: %" PRIu64 " tasks, %" PRIu64 " pages (%" PRIu64 " copied, %" PRIu64 " zero-filled), %" PRIu64
			" faults, %" PRIu64 " requests, restore %.1f ms, all in after %.1f ms\n",
			st.tasks, st.pages_total, st.pages_copied, st.pages_zero, st.faults, st.requests, st.restore_ms,
			st.total_ms);
	_exit(0);
fail:
	if (o.log_fd >= 0)
		dprintf(o.log_fd, "Error (ferry lazy-pages): %s\n", e.msg ? e.msg : "?");
	_exit(1);
}

/* Runs CRIU's page server or lazy-pages daemon in the foreground as our
 * child, on the pages connection, with CRIU's TLS. */
int
spawn_criu_pages(struct sess *s, ferry_error_t *err)
{
	bool lazy = s->mode == FERRY_MIGRATE_LAZY;
	int status_pipe[2] = { -1, -1 }, pair[2];
	pid_t pid, parent;
	char *argv[40];
	int a = 0;

	if (!s->pages_ready)
		return ferry_error_set(err, EPROTO, "no pages connection");
	if (ferry_loopback_pair(pair, err) < 0)
		return -1;
	if (net_ctl(s, SPS_CTL_RELAY_START, pair[1], NULL, err) < 0) {
		close(pair[0]);
		close(pair[1]);
		return -1;
	}
	close(pair[1]);
	s->pages_ready = false;
	s->relay_on = true;
	s->ps_fd = pair[0];
	if (lazy && pipe2(status_pipe, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "pipe");
	argv[a++] = s->criu;
	argv[a++] = lazy ? "lazy-pages" : "page-server";
	argv[a++] = "-D";
	argv[a++] = s->images;
	argv[a++] = "-W";
	argv[a++] = s->work;
	argv[a++] = "-o";
	argv[a++] = lazy ? "lazy-pages.log" : "page-server.log";
	argv[a++] = "-v4";
	if (lazy)
		argv[a++] = "--page-server";
	argv[a++] = "--ps-socket";
	argv[a++] = "3";
	if (lazy) {
		argv[a++] = "--status-fd";
		argv[a++] = "4";
	}
	argv[a] = NULL;

	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ferry_error_sys(err, "fork");
		goto fail;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		/* Ours alone: a session that is killed takes its page server
		 * or lazy-pages daemon with it (an orphaned daemon waits for a
		 * restore forever; the recovery removes what it served). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		/* Its own process group: CRIU forks helpers (kerndat probes)
		 * that a kill of CRIU alone would orphan (stop_criu). */
		if (setpgid(0, 0) < 0)
			_exit(127);
		if (dup2(s->ps_fd, 3) < 0 || (lazy && dup2(status_pipe[1], 4) < 0))
			_exit(127);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		ferry_close_fds_from(lazy ? 5 : 4, NULL, 0);
		if (lazy && own_lazy_daemon())
			run_own_lazy_daemon(s, 3, 4);
		execv(s->criu, argv);
		_exit(127);
	}
	/* Also here: the group must exist before any kill of it. */
	setpgid(pid, pid);
	s->criu_pid = pid;
	close(s->ps_fd);
	s->ps_fd = -1;
	if (lazy) {
		struct pollfd p = { .fd = status_pipe[0], .events = POLLIN };
		char c;
		close(status_pipe[1]);
		status_pipe[1] = -1;
		/* The daemon says '\0' once its socket for the restore listens. */
		if (poll(&p, 1, s->timeout_ms) <= 0 || read(status_pipe[0], &c, 1) != 1) {
			close(status_pipe[0]);
			return ferry_error_set(err, 0, "criu lazy-pages did not start (log: %s/lazy-pages.log)",
					       s->work);
		}
		close(status_pipe[0]);
	}
	return 0;
fail:
	if (status_pipe[0] >= 0)
		close(status_pipe[0]);
	if (status_pipe[1] >= 0)
		close(status_pipe[1]);
	return -1;
}

/*
 * Ends the page server or lazy-pages daemon with whatever it forked: a
 * CRIU killed while it probes the kernel leaves its probe children
 * asleep forever otherwise (seen under load: an orphaned page server
 * child holding the session's files).
 */
void
stop_criu(struct sess *s)
{
	if (s->criu_pid <= 0)
		return;
	/* The group while its leader is unreaped: its id is still ours. */
	kill(-s->criu_pid, SIGKILL);
	kill(s->criu_pid, SIGKILL);
	while (waitpid(s->criu_pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->criu_pid = 0;
}

int
wait_criu(struct sess *s, int timeout_ms, const char *log, ferry_error_t *err)
{
	int status = 0;
	double until = ferry_now_s() + timeout_ms / 1000.0;
	_cleanup_close_ int wfd = -1;

	for (;;) {
		pid_t r = waitpid(s->criu_pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == s->criu_pid)
			break;
		if (r < 0 && errno != EINTR)
			return ferry_error_sys(err, "waitpid criu");
		if (timeout_ms >= 0 && ferry_now_s() > until)
			return ferry_error_set(err, ETIMEDOUT, "criu %s still running after %d ms", log, timeout_ms);
		usleep(2000);
	}
	s->criu_pid = 0;
	if (s->relay_on) {
		/* CRIU closed its end: the relay drains and ends with TLS's
		 * goodbye, which tells the source's CRIU the stream is complete;
		 * cut only if that does not come. */
		if (s->ps_fd >= 0) {
			close(s->ps_fd);
			s->ps_fd = -1;
		}
		_cleanup_error_ ferry_error_t why = FERRY_ERROR_INIT;
		bool stream_ok = relay_end(s, WIFEXITED(status) && WEXITSTATUS(status) == 0, &why);
		/* Lazy: the source's CRIU kills its tree only when the stream
		 * ends well, and resumes it otherwise (its ferry migrate was
		 * killed, say), even when every page is here: then this copy
		 * must go, or both would run. */
		if (!stream_ok && s->mode == FERRY_MIGRATE_LAZY && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return ferry_error_set(err, EPIPE,
					       "criu %s got every page, but the page stream did not end well (%s): the "
					       "source resumes its copy",
					       log, why.msg ? why.msg : "no goodbye from the source");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	wfd = open(s->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	{
		_cleanup_free_ char *errs = wfd >= 0 ? ferry_criu_log_errors(wfd, log, 3) : NULL;
		return ferry_error_set(err, 0, "criu %s failed (status 0x%x)%s%s (log: %s/%s)", log, status,
				       errs ? ": " : "", errs ? errs : "", s->work, log);
	}
}

void *
lazy_watch_main(void *arg)
{
	struct lazy_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		siginfo_t si = { 0 };

		/* Looked at, not reaped: a daemon that ended well has every
		 * page in (a small container's can, before CRIU's restore has
		 * returned); that one wait_criu() reaps after the restore. */
		if (waitid(P_PID, (id_t) w->daemon, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == w->daemon) {
			_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

			if (si.si_code == CLD_EXITED && si.si_status == 0)
				return NULL;
			if (waitpid(w->daemon, &w->status, 0) != w->daemon)
				return NULL;
			w->reaped = true;
			pr_warn("the lazy-pages daemon died during the restore: stopping the restore");
			/* Restored TCP sockets that die with the copy must not
			 * reset the peers the source resumes with (rollback()
			 * says why; it finds the addresses gone). */
			for (size_t i = 0; i < w->n_ips; i++) {
				if (w->ip_added[i] && ferry_net_addr_del(&w->ips[i], NULL, &e) < 0)
					pr_warn("%s", e.msg);
				ferry_error_clear(&e);
			}
			if (w->cg_path && ferry_cgroup_open(w->cg_path, &cg, &e) == 0)
				ferry_cgroup_kill(cg, SIGKILL, &e);
			return NULL;
		}
		usleep(10000);
	}
	return NULL;
}

