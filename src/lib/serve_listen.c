/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry serve`'s listener: one agent per work root (flock), the recovery
 * of sessions that died (at start, and of a session process killed while
 * serving), and one process per connection.  A pages connection only
 * carries the session token: its process hands the socket to the session
 * (serve.c) through the session's unix socket and exits; a control
 * connection becomes a session.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup.h"
#include "checkpoint.h"
#include "container.h"
#include "criu.h"
#include "criu_rpc.h"
#include "hostcheck.h"
#include "log.h"
#include "migrate.h"
#include "netmove.h"
#include "privsep.h"
#include "relay.h"
#include "serve_ps.h"
#include "spec.h"
#include "state.h"
#include "transfer.h"
#include "util.h"
#include "wire.h"

#include "serve_ps.h"

#undef LOG_PREFIX
#define LOG_PREFIX "serve: "

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void) sig;
	stop_requested = 1;
}

/*
 * At start: sessions of an agent that died; while serving (only = its
 * pid): a session process that was killed.  Their page images are memory
 * (tmpfs) and go; a container one of them restored but never committed
 * is killed and its IPs dropped: its
 * source kept (or took back) the container; a bundle one of them made for
 * a container that did not arrive is removed.
 */
/*
 * Kills what is left of a dead session's CRIU: its page server or
 * lazy-pages daemon dies with the session (PR_SET_PDEATHSIG), but not
 * what that forked.  They are known by the session directory in their
 * arguments (-D .../TOKEN/images): the token is random, so nothing else
 * names it.
 */
static void
kill_session_criu(const char *token)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	_cleanup_free_ char *needle = xasprintf("/%s/", token);
	struct dirent *de;

	if (proc == NULL)
		return;
	while ((de = readdir(proc)) != NULL) {
		char path[300], comm[32] = "", args[4096];
		ssize_t n;
		int fd;
		bool match = false;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0 || strncmp(comm, "criu\n", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = '\0';
		for (ssize_t i = 0; i < n && !match; i += (ssize_t) strlen(args + i) + 1)
			match = strstr(args + i, needle) != NULL;
		if (match) {
			pr_warn("recovering: killing criu (pid %s) of session %s", de->d_name, token);
			kill((pid_t) strtol(de->d_name, NULL, 10), SIGKILL);
		}
	}
}

static void
serve_recover(const ferry_ctx_t *ctx, int rfd, pid_t only)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int dup_fd = dup(rfd);

	if (dup_fd < 0 || (dir = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	/* The dup shares its offset with rfd: an earlier pass left it at
	 * the end. */
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		_cleanup_close_ int sfd = -1;
		_cleanup_free_ char *text = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		size_t len = 0;

		if (de->d_name[0] == '.' || strlen(de->d_name) != 2 * FERRY_WIRE_TOKEN_LEN)
			continue;
		sfd = openat(rfd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		if (only > 0) {
			_cleanup_free_ char *pid = NULL;
			size_t plen = 0;
			char want[32];
			snprintf(want, sizeof(want), "%d", (int) only);
			if (ferry_read_file_at(sfd, "pid", 64, &pid, &plen, &e) < 0 || strcmp(pid, want) != 0) {
				ferry_error_clear(&e);
				continue;
			}
		}
		kill_session_criu(de->d_name);
		if (ferry_read_file_at(sfd, "uncommitted", 64 << 10, &text, &len, &e) == 0) {
			char *save = NULL, *id = strtok_r(text, "\n", &save);
			/* The addresses first, as in rollback(). */
			for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				struct ferry_ipaddr a;
				if (ferry_ipaddr_parse(l, &a, &e) == 0) {
					ferry_net_addr_del(&a, NULL, &e);
					ferry_error_clear(&e);
					/* and a hold's rules (nethold.h) */
					ferry_net_criu_unlock_leftovers(&a, &e);
				}
				ferry_error_clear(&e);
			}
			if (id && ferry_id_valid(id)) {
				pr_warn("recovering: session %s restored \"%s\" and never committed: removing it",
					de->d_name, id);
				if (ferry_container_delete(ctx, id, true, &e) < 0) {
					pr_warn("recovering %s: %s", id, e.msg);
					ferry_error_clear(&e);
				}
			}
			unlinkat(sfd, "uncommitted", 0);
		}
		ferry_error_clear(&e);
		{
			_cleanup_free_ char *bundle = NULL;
			size_t blen = 0;
			if (ferry_read_file_at(sfd, "bundle-made", PATH_MAX, &bundle, &blen, &e) == 0) {
				const char *slash = strrchr(bundle, '/');
				struct ferry_container_dir d;
				/* Not if a container of that id lives here (it came
				 * in later and uses a bundle at the same path). */
				if (slash && ferry_id_valid(slash + 1) &&
				    ferry_container_dir_open(ctx, slash + 1, &d, &e) < 0) {
					pr_warn("recovering: removing the bundle %s the session made", bundle);
					ferry_remove_owned_bundle(bundle);
				} else if (slash && ferry_id_valid(slash + 1)) {
					ferry_container_dir_close(&d);
				}
				unlinkat(sfd, "bundle-made", 0);
			}
			ferry_error_clear(&e);
		}
		ferry_rm_rf_at(sfd, "images", &e);
		ferry_error_clear(&e);
		unlinkat(sfd, "pages.sock", 0);
		if (faccessat(sfd, "work", F_OK, 0) < 0)
			ferry_rm_rf_at(rfd, de->d_name, &e);
	}
}

/* ---------------------------------------------------------------- listener */

static int
hand_over_pages(const struct ferry_serve_opts *o, int fd, ferry_error_t *err)
{
	unsigned char token[FERRY_WIRE_TOKEN_LEN];
	char hex[2 * FERRY_WIRE_TOKEN_LEN + 1];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'P';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	_cleanup_close_ int us = -1;
	size_t got = 0;

	while (got < sizeof(token)) {
		ssize_t n = read(fd, token + got, sizeof(token) - got);
		if (n <= 0)
			return ferry_error_set(err, EPROTO, "pages connection: no session token");
		got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(token); i++)
		snprintf(hex + 2 * i, 3, "%02x", token[i]);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s/pages.sock", o->work_root ? o->work_root : DEFAULT_WORK_ROOT,
		 hex);
	us = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (us < 0 || connect(us, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return ferry_error_set(err, EPROTO, "pages connection for an unknown session");
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(us, &mh, 0) != 1)
		return ferry_error_sys(err, "hand over the pages connection");
	return 0;
}

static void
connection(const ferry_ctx_t *ctx, const struct ferry_serve_opts *o, ferry_tls_creds_t *creds, int fd,
	   const char *peer)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	uint8_t pre[FERRY_WIRE_PREAMBLE_LEN];
	enum ferry_conn_kind kind;
	struct timeval tv = { .tv_sec = 10 };
	size_t got = 0;

	/* A peer that connects and says nothing is dropped soon. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	{
		/* Request/answer traffic: no Nagle delay on the answers. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	while (got < sizeof(pre)) {
		ssize_t n = read(fd, pre + got, sizeof(pre) - got);
		if (n <= 0) {
			pr_warn("%s: closed before the preamble", peer);
			_exit(1);
		}
		got += (size_t) n;
	}
	if (ferry_wire_preamble_decode(pre, &kind, &e) < 0) {
		pr_warn("%s: %s", peer, e.msg);
		_exit(1);
	}
	if (kind == FERRY_CONN_PAGES) {
		if (hand_over_pages(o, fd, &e) < 0) {
			pr_warn("%s: %s", peer, e.msg);
			_exit(1);
		}
		_exit(0);
	}
	{
		int r = ferry_serve_session(ctx, o, creds, fd, peer);
		/* 10 and up: a session ended (the listener counts them for --once). */
		_exit(r < 0 ? 1 : 10 + r);
	}
}

static int
listen_on(const char *spec, ferry_error_t *err)
{
	char host[256], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
	int fd = -1, one = 1, rc;

	if (spec == NULL)
		return ferry_error_set(err, EINVAL, "--listen ADDR:PORT is required");
	snprintf(host, sizeof(host), "%s", spec[0] == '[' ? spec + 1 : spec);
	colon = strrchr(host, ':');
	if (colon == NULL)
		return ferry_error_set(err, EINVAL, "--listen %s: expected ADDR:PORT", spec);
	*colon = '\0';
	if (spec[0] == '[' && colon > host && colon[-1] == ']')
		colon[-1] = '\0';
	rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0)
		return ferry_error_set(err, EINVAL, "--listen %s: %s", spec, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		ferry_error_sys(err, "--listen %s", spec);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
ferry_serve(const ferry_ctx_t *ctx, const struct ferry_serve_opts *o, ferry_error_t *err)
{
	_cleanup_tls_creds_ ferry_tls_creds_t *creds = NULL;
	_cleanup_close_ int lfd = -1;
	_cleanup_close_ int rfd = -1;
	struct sigaction sa = { .sa_handler = on_stop };
	int max = o->max_sessions > 0 ? o->max_sessions : 4;
	int running = 0, sessions_done = 0;

	if (ferry_tls_creds_load(&o->tls, &creds, err) < 0)
		return ferry_error_prefix(err, "serve");
	if (ferry_mkdir_p(o->work_root ? o->work_root : DEFAULT_WORK_ROOT, 0700, err) < 0)
		return ferry_error_prefix(err, "serve");
	/* One agent per work root: sessions are found there by token. */
	rfd = open(o->work_root ? o->work_root : DEFAULT_WORK_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return ferry_error_sys(err, "serve: %s", o->work_root ? o->work_root : DEFAULT_WORK_ROOT);
	if (flock(rfd, LOCK_EX | LOCK_NB) < 0)
		return ferry_error_set(err, EBUSY, "serve: another ferry serve uses %s",
				       o->work_root ? o->work_root : DEFAULT_WORK_ROOT);
	serve_recover(ctx, rfd, 0);
	lfd = listen_on(o->listen, err);
	if (lfd < 0)
		return ferry_error_prefix(err, "serve");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pr_info("listening on %s", o->listen);
	/* Tests wait for this line. */
	fprintf(stderr, "ferry serve: listening on %s\n", o->listen);

	while (!stop_requested) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[INET6_ADDRSTRLEN + 8] = "?";
		int status, cfd;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			running--;
			if (WIFEXITED(status) && WEXITSTATUS(status) >= 10)
				sessions_done++;
			/* Killed: it could not undo what it made, so we do. */
			if (WIFSIGNALED(status)) {
				pr_warn("a session process (pid %d) was killed by signal %d: recovering its session",
					(int) pid, WTERMSIG(status));
				serve_recover(ctx, rfd, pid);
			}
		}
		if (o->once && sessions_done > 0)
			break;
		if (poll(&p, 1, 200) <= 0)
			continue;
		cfd = accept4(lfd, (struct sockaddr *) &ss, &sl, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		getnameinfo((struct sockaddr *) &ss, sl, peer, sizeof(peer), NULL, 0, NI_NUMERICHOST);
		if (running >= max) {
			pr_warn("%s: refused, %d sessions running", peer, running);
			close(cfd);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			lfd = -1;
			connection(ctx, o, creds, cfd, peer);
		}
		close(cfd);
		if (pid > 0)
			running++;
	}
	return 0;
}
