/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guardian of `ferry migrate`.
 *
 * ferry freezes the container's cgroup itself before CRIU dumps it, and
 * CRIU leaves a cgroup it did not freeze frozen when it rolls back: the
 * decision to thaw is ferry's.  So if `ferry migrate` dies in the middle
 * (kill -9, OOM killer, a crash) nobody would ever thaw it, and removed
 * service addresses would never come back.  SIGTERM/SIGINT/SIGHUP are
 * handled by `ferry migrate` itself (an orderly rollback); what cannot be
 * handled is what this process is for.
 *
 * It is forked before the freeze, holds the read end of a pipe whose write
 * end only `ferry migrate` holds, and learns through it how far the
 * migration got (ferry_guard_note).  EOF without FERRY_GUARD_SETTLED means
 * `ferry migrate` died.  Then:
 *
 *  1. It waits for CRIU to end (CRIU sees its RPC socket and the pages
 *     connection break and rolls back on its own: it cures the parasite,
 *     unlocks the network, detaches).  Killing CRIU first would leave the
 *     tasks with a parasite in them; only a CRIU still there after 30 s is
 *     killed.
 *  2. If the tree is dead, CRIU finished a successful dump and killed it:
 *     the destination has the container; the state here goes.
 *  3. If COMMIT had been sent (stop-copy), the destination owns the
 *     container: the frozen copy here is killed and its state removed, as
 *     the normal path after COMMITTED does.
 *  4. Otherwise (before COMMIT, or a lazy hand-off whose page transfer
 *     died with `ferry migrate`: the destination kills its copy when its
 *     pages stop coming) the container stays here: thawed, with its
 *     addresses back.
 *
 * It never enters the container (it is a child of `ferry migrate`, in its
 * cgroup and namespaces), keeps no fd but the pipe and stderr (the
 * destination must see the connections close when `ferry migrate` dies),
 * and exits as soon as `ferry migrate` says it is settled.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "log.h"
#include "migrate_guard.h"
#include "util.h"

#undef LOG_PREFIX
#define LOG_PREFIX "migrate guardian: "

/* How long CRIU gets to roll back on its own after `ferry migrate` died. */
#define CRIU_GRACE_MS 30000

struct ferry_guard {
	int wfd;
	pid_t pid;
};

struct record {
	uint8_t what;
	uint64_t value;
} __attribute__((packed));

struct seen {
	pid_t criu;
	bool froze;
	uint64_t ips_removed;
	uint64_t ips_held; /* the destination took and announced them (HOLD) */
	bool commit_sent;
	bool handed_off;
};

static void
wait_criu(pid_t pid)
{
	int pfd;
	struct pollfd p;

	if (pid <= 0)
		return;
	pfd = (int) syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return; /* gone already */
	p = (struct pollfd){ .fd = pfd, .events = POLLIN };
	if (poll(&p, 1, CRIU_GRACE_MS) == 0) {
		pr_warn("criu (pid %d) still runs %d s after ferry migrate died: killing it", (int) pid,
			CRIU_GRACE_MS / 1000);
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		poll(&p, 1, 5000);
	}
	close(pfd);
}

static void
unlock_leftovers(const struct ferry_guard_info *gi)
{
	for (size_t i = 0; i < gi->n_ips; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_net_criu_unlock_leftovers(&gi->ips[i], &e) < 0)
			pr_warn("%s", e.msg);
	}
	/* ferry's lock of the tree's other connections (migrate.c) */
	if (gi->work) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_close_ int wfd = open(gi->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (wfd >= 0 && ferry_net_lock_conns_undo_saved(wfd, &e) < 0)
			pr_warn("%s", e.msg);
	}
}

static void
put_back_ips(const struct ferry_guard_info *gi, uint64_t mask, int count)
{
	for (size_t i = 0; i < gi->n_ips && i < 64; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		if (ferry_net_addr_add(&gi->ips[i], NULL, &e) < 0 || ferry_net_announce(&gi->ips[i], count, &e) < 0)
			pr_warn("%s", e.msg);
	}
}

/* What `ferry migrate` does with its work dir after a failure. */
static void
drop_images(const struct ferry_guard_info *gi)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_close_ int wfd = gi->work ? open(gi->work, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;

	if (wfd >= 0 && ferry_rm_rf_at(wfd, "images", &e) < 0)
		pr_warn("%s", e.msg);
}

/* The cgroup itself, as it was frozen: the status `ferry resume` goes by
 * (cgroup.events) may not say frozen yet while cgroup.freeze is set, e.g.
 * with a task CRIU left in a ptrace stop. */
static void
thaw(const struct ferry_guard_info *gi)
{
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (gi->st->cgroup_path == NULL || ferry_cgroup_open(gi->st->cgroup_path, &cg, &e) < 0 ||
	    ferry_cgroup_freeze(cg, false, &e) < 0)
		pr_warn("thaw: %s", e.msg ? e.msg : "no cgroup");
}

static void
take_over(const ferry_ctx_t *ctx, const struct ferry_guard_info *gi, const struct seen *s)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	pr_warn("ferry migrate died while migrating \"%s\": taking over", gi->id);
	wait_criu(s->criu);
	drop_images(gi);
	if (!ferry_state_init_alive(gi->st) || (s->commit_sent && !gi->lazy)) {
		/* The destination has it: what the normal path does after
		 * COMMITTED (CRIU's kill, then runc's delete). */
		pr_warn("\"%s\" belongs to the destination now (%s): removing the copy here", gi->id,
			s->commit_sent && !gi->lazy ? "COMMIT was sent" : "CRIU finished the dump");
		if (ferry_container_delete(ctx, gi->id, true, &e) < 0)
			pr_warn("%s", e.msg);
		unlock_leftovers(gi);
		ferry_remove_owned_bundle(gi->st->bundle);
		return;
	}
	if (s->froze)
		thaw(gi);
	unlock_leftovers(gi);
	/* Those HOLD gave away may still be here (taken down only once
	 * frozen), but the neighbours were told they are there: announced
	 * again all the same. */
	put_back_ips(gi, s->ips_removed | s->ips_held, 2);
	if (s->ips_removed | s->ips_held) {
		/* A copy the destination restored ran with the addresses (its
		 * ARP requests point the neighbours at it) until the
		 * destination killed it, maybe after our announcement: say it
		 * again then. */
		struct timespec ts = { .tv_sec = 1 };
		nanosleep(&ts, NULL);
		put_back_ips(gi, s->ips_removed | s->ips_held, 3);
	}
	pr_warn("\"%s\" runs on here", gi->id);
}

static void __attribute__((noreturn))
guardian_main(const ferry_ctx_t *ctx, const struct ferry_guard_info *gi, int rfd)
{
	struct seen s = { 0 };
	struct record r;
	int nul;

	/* Not in the terminal's process group: a ^C there is for `ferry
	 * migrate` (which rolls back and settles), not for us. */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	prctl(PR_SET_NAME, "ferry-guard", 0, 0, 0);
	if (rfd != 3) {
		if (dup2(rfd, 3) < 0)
			_exit(1);
		rfd = 3;
	}
	/* The sockets of `ferry migrate` above all: their peers must see
	 * them close when it dies. */
	ferry_close_fds_from(4, NULL, 0);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
	}
	for (;;) {
		ssize_t n = read(rfd, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t) sizeof(r))
			break; /* EOF: ferry migrate is gone */
		switch (r.what) {
		case FERRY_GUARD_CRIU:
			s.criu = (pid_t) r.value;
			break;
		case FERRY_GUARD_FROZE:
			s.froze = true;
			break;
		case FERRY_GUARD_IPS:
			s.ips_removed = r.value;
			break;
		case FERRY_GUARD_HELD:
			s.ips_held = r.value;
			break;
		case FERRY_GUARD_COMMIT:
			s.commit_sent = true;
			break;
		case FERRY_GUARD_HANDOFF:
			s.handed_off = true;
			break;
		case FERRY_GUARD_SETTLED:
			_exit(0);
		}
	}
	take_over(ctx, gi, &s);
	_exit(0);
}

int
ferry_guard_start(const ferry_ctx_t *ctx, const struct ferry_guard_info *gi, ferry_guard_t **out, ferry_error_t *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "guardian: pipe");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ferry_error_sys(err, "guardian: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		guardian_main(ctx, gi, p[0]);
	}
	close(p[0]);
	*out = xmalloc0(sizeof(**out));
	(*out)->wfd = p[1];
	(*out)->pid = pid;
	return 0;
}

void
ferry_guard_note(ferry_guard_t *g, enum ferry_guard_note what, uint64_t value)
{
	struct record r = { .what = (uint8_t) what, .value = value };

	if (g == NULL || g->wfd < 0)
		return;
	/* Atomic: a pipe write up to PIPE_BUF is never split. */
	if (write(g->wfd, &r, sizeof(r)) != (ssize_t) sizeof(r)) {
		/* the guardian is gone; nothing better to do than go on */
	}
}

void
ferry_guard_stop(ferry_guard_t *g)
{
	if (g == NULL)
		return;
	ferry_guard_note(g, FERRY_GUARD_SETTLED, 0);
	close(g->wfd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(g);
}
