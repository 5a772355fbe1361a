/* SPDX-License-Identifier: GPL-2.0-or-later */
#define LOG_PREFIX "hooks: "
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "util.h"

static const char *const kind_names[] = {
	[FERRY_HOOK_PRESTART] = "prestart",
	[FERRY_HOOK_CREATE_RUNTIME] = "createRuntime",
	[FERRY_HOOK_CREATE_CONTAINER] = "createContainer",
	[FERRY_HOOK_START_CONTAINER] = "startContainer",
	[FERRY_HOOK_POSTSTART] = "poststart",
	[FERRY_HOOK_POSTSTOP] = "poststop",
};

const char *
ferry_hook_kind_name(enum ferry_hook_kind kind)
{
	return kind_names[kind];
}

#define HOOK_OUTPUT_MAX 2048

static int
run_one(const struct ferry_hook *h, const char *what, const char *state_json, ferry_error_t *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char output[HOOK_OUTPUT_MAX + 1];
	size_t got = 0;
	uint64_t deadline = h->timeout > 0 ? ferry_now_ns() + (uint64_t) h->timeout * 1000000000ull : 0;
	bool timed_out = false;
	int status = 0;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		ferry_error_sys(err, "%s: pipe", what);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		ferry_error_sys(err, "%s: fork", what);
		goto fail;
	}
	if (pid == 0) {
		static char *empty[] = { NULL };
		char *argv0[] = { h->path, NULL };

		/* stdin: the state; stdout and stderr: captured for the error. */
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(127);
		ferry_close_fds_from(3, NULL, 0);
		signal(SIGPIPE, SIG_DFL);
		execve(h->path, h->args ? h->args : argv0, h->env ? h->env : empty);
		dprintf(2, "exec %s: %s", h->path, strerror(errno));
		_exit(127);
	}
	ferry_closep(&in[0]);
	ferry_closep(&out[1]);
	/* The hook may not read its stdin at all: a failed write is not an error. */
	{
		struct sigaction sa = { .sa_handler = SIG_IGN }, old;
		sigaction(SIGPIPE, &sa, &old);
		ferry_write_all(in[1], state_json, strlen(state_json));
		sigaction(SIGPIPE, &old, NULL);
	}
	ferry_closep(&in[1]);
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		int timeout_ms = -1;
		ssize_t r;
		char buf[512];

		if (deadline) {
			uint64_t now = ferry_now_ns();
			if (now >= deadline) {
				timed_out = true;
				kill(pid, SIGKILL);
				break;
			}
			timeout_ms = (int) ((deadline - now) / 1000000) + 1;
		}
		if (poll(&p, 1, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents == 0)
			continue;
		r = read(out[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* keep the tail: the last lines usually say why (r <= sizeof(buf) < max) */
		if (got + r > HOOK_OUTPUT_MAX) {
			size_t drop = got + r - HOOK_OUTPUT_MAX;
			memmove(output, output + drop, got - drop);
			got -= drop;
		}
		memcpy(output + got, buf, r);
		got += r;
	}
	ferry_closep(&out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	output[got] = '\0';
	while (got > 0 && (output[got - 1] == '\n' || output[got - 1] == ' '))
		output[--got] = '\0';
	if (timed_out)
		return ferry_error_set(err, ETIMEDOUT, "%s %s: timed out after %d s%s%s", what, h->path, h->timeout,
				       got ? ": " : "", output);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return ferry_error_set(err, 0, "%s %s: killed by signal %d%s%s", what, h->path, WTERMSIG(status),
				       got ? ": " : "", output);
	return ferry_error_set(err, 0, "%s %s: exit status %d%s%s", what, h->path, WEXITSTATUS(status),
			       got ? ": " : "", output);
fail:
	ferry_closep(&in[0]);
	ferry_closep(&in[1]);
	ferry_closep(&out[0]);
	ferry_closep(&out[1]);
	return -1;
}

int
ferry_hooks_run(const ferry_spec_t *spec, enum ferry_hook_kind kind, const char *state_json, ferry_error_t *err)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s hook #%zu", kind_names[kind], i);
		pr_debug("running %s: %s", what, spec->hooks[kind][i].path);
		if (run_one(&spec->hooks[kind][i], what, state_json, err) < 0)
			return -1;
	}
	return 0;
}
