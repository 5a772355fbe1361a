/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `run` and the foreground wait shared with `exec`. */
#define LOG_PREFIX "run: "
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container_internal.h"
#include "log.h"
#include "terminal.h"
#include "util.h"

struct raw_tty {
	bool active;
	struct termios saved;
};

static void
tty_raw(struct raw_tty *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	/* keep output post-processing so our own messages stay readable */
	raw.c_oflag = t->saved.c_oflag;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->active = true;
}

static void
tty_restore(struct raw_tty *t)
{
	if (t->active)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->active = false;
}

/* Copies what is readable from in to out; false on EOF or error. */
static bool
pump(int in, int out)
{
	char buf[8192];
	ssize_t r;

	do
		r = read(in, buf, sizeof(buf));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return false;
	ferry_write_all(out, buf, r);
	return true;
}

int
ferry_wait_foreground(pid_t pid, int pty_master, int *exit_status, ferry_error_t *err)
{
	_cleanup_close_ int sfd = -1;
	struct raw_tty tty = { 0 };
	sigset_t all;
	bool stdin_open = pty_master >= 0;
	bool exited = false;
	int status = 0;

	/* Signals were blocked by the caller before the child existed, so
	 * none is lost; they arrive here as data. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		return ferry_error_sys(err, "signalfd");
	if (pty_master >= 0) {
		tty_raw(&tty);
		ferry_pty_copy_winsize(STDIN_FILENO, pty_master);
	}
	while (!exited) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = pty_master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			tty_restore(&tty);
			return ferry_error_sys(err, "poll");
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					pid_t w;
					int st;

					while ((w = waitpid(-1, &st, WNOHANG)) > 0)
						if (w == pid) {
							status = st;
							exited = true;
						}
				} else if (si.ssi_signo == SIGWINCH && pty_master >= 0) {
					ferry_pty_copy_winsize(STDIN_FILENO, pty_master);
				} else {
					kill(pid, (int) si.ssi_signo);
				}
			}
		}
		if (pty_master >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* EIO once every slave fd is closed */
			if (!pump(pty_master, STDOUT_FILENO))
				p[1].fd = -1;
		}
		if (stdin_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (!pump(STDIN_FILENO, pty_master))
				stdin_open = false;
		}
	}
	/* Drain what the container wrote just before exiting. */
	if (pty_master >= 0) {
		int fl = fcntl(pty_master, F_GETFL);
		fcntl(pty_master, F_SETFL, fl | O_NONBLOCK);
		while (pump(pty_master, STDOUT_FILENO))
			;
	}
	tty_restore(&tty);
	if (WIFEXITED(status))
		*exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_status = 128 + WTERMSIG(status);
	else
		*exit_status = 255;
	return 0;
}

int
ferry_container_run(const ferry_ctx_t *ctx, const struct ferry_run_opts *o, int *exit_status, ferry_error_t *err)
{
	struct ferry_create_opts co = o->create;
	struct ferry_create_result res = { .pid = -1, .pty_master = -1 };
	sigset_t all, old;
	int ret;

	*exit_status = 0;
	co.foreground = !o->detach;
	co.stdio = o->detach ? FERRY_STDIO_DETACHED : FERRY_STDIO_INHERIT;
	sigfillset(&all);
	if (!o->detach)
		sigprocmask(SIG_BLOCK, &all, &old);
	if (ferry_container_create(ctx, &co, &res, err) < 0)
		goto fail;
	if (ferry_container_start(ctx, co.id, err) < 0) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		ferry_closep(&res.pty_master);
		ferry_container_delete(ctx, co.id, true, &e2);
		goto fail;
	}
	if (o->detach)
		return 0;
	ret = ferry_wait_foreground(res.pid, res.pty_master, exit_status, err);
	ferry_closep(&res.pty_master);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!o->keep) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_delete(ctx, co.id, true, &e2) < 0)
			pr_warn("%s", e2.msg);
	}
	return ret;
fail:
	if (!o->detach)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return -1;
}
