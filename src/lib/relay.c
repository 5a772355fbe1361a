/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"
#include "util.h"

struct ferry_relay {
	pthread_t th;
	ferry_tls_t *t;
	int local;
	int port;
	int stop[2]; /* a pipe: abort */
	atomic_bool aborted;
	atomic_bool poke;
	atomic_bool done;
	bool hold_bye; /* the local end's EOF waits for ferry_relay_finish() */
	uint64_t from_peer, to_peer;
	int err_no;
	char err[256];
};

static int
loopback_listener(int *port, ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *) &sa, &sl) < 0) {
		ferry_error_sys(err, "loopback socket");
		if (l >= 0)
			close(l);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return l;
}

int
ferry_loopback_free_port(int *port, ferry_error_t *err)
{
	int l = loopback_listener(port, err);

	if (l < 0)
		return -1;
	close(l);
	return 0;
}

int
ferry_loopback_pair(int fds[2], ferry_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int port, l, c, a;

	l = loopback_listener(&port, err);
	if (l < 0)
		return -1;
	sa.sin_port = htons((uint16_t) port);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		ferry_error_sys(err, "loopback connect");
		close(l);
		if (c >= 0)
			close(c);
		return -1;
	}
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (a < 0) {
		close(c);
		return ferry_error_sys(err, "loopback accept");
	}
	fds[0] = c;
	fds[1] = a;
	return 0;
}

static void
fail(struct ferry_relay *r, int e, const char *what)
{
	if (r->err[0] == '\0') {
		r->err_no = e;
		snprintf(r->err, sizeof(r->err), "%s", what);
	}
}

static int
try_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t) port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
		return fd;
	close(fd);
	return -1;
}

static int
connect_local(struct ferry_relay *r)
{
	/* CRIU starts listening only once it serves: try until it does. */
	while (!atomic_load(&r->aborted)) {
		struct pollfd p = { .fd = r->stop[0], .events = POLLIN };
		int fd = try_connect(r->port);
		if (fd >= 0)
			return fd;
		poll(&p, 1, 2);
	}
	/* Aborted: a lazy dump starts its page server even after it was told
	 * to roll back, and waits for a client.  Connecting and hanging up
	 * makes it fail at once (and resume the tree); 5 s at most. */
	for (int i = 0; atomic_load(&r->poke) && i < 2500; i++) {
		int fd = try_connect(r->port);
		if (fd >= 0) {
			close(fd);
			break;
		}
		usleep(2000);
	}
	return -1;
}

static void *
relay_main(void *arg)
{
	struct ferry_relay *r = arg;
	int tfd = ferry_tls_fd(r->t);
	bool peer_eof = false, local_eof = false;
	char *buf = malloc(256 << 10);

	if (buf == NULL) {
		fail(r, ENOMEM, "out of memory");
		atomic_store(&r->done, true);
		return NULL;
	}
	if (r->local < 0) {
		r->local = connect_local(r);
		if (r->local < 0) {
			fail(r, ECANCELED, "aborted before CRIU listened");
			free(buf);
			atomic_store(&r->done, true);
			return NULL;
		}
	}
	{
		/* Closed by a process that dies (kill -9 of ferry migrate), the
		 * local end must reset, not end: a lazy dump's page server
		 * takes an end for "every page served" and kills the source
		 * tree.  The end of a good stream is a shutdown() (below),
		 * which this does not touch. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(r->local, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	{
		int one = 1;
		setsockopt(r->local, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	/* No timeouts here: post-copy lasts as long as the workload keeps
	 * some pages untouched; the peers' own ends bound it.  But a link
	 * that is cut tells neither end: keepalive probes (and a bound on
	 * unacknowledged data) turn that into an error in about 10 s, which
	 * the error path below passes on to CRIU as a reset, instead of a
	 * lazy dump that waits, frozen, for ever. */
	{
		struct timeval tv0 = { 0, 0 };
		int on = 1, idle = 5, intvl = 1, cnt = 5;
		unsigned int user_timeout = 10000;
		setsockopt(tfd, SOL_SOCKET, SO_RCVTIMEO, &tv0, sizeof(tv0));
		setsockopt(tfd, SOL_SOCKET, SO_SNDTIMEO, &tv0, sizeof(tv0));
		setsockopt(tfd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		setsockopt(tfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(tfd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(tfd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(tfd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	}
	bool bye_sent = false;

	while (!(peer_eof && local_eof && bye_sent) && !atomic_load(&r->aborted)) {
		struct pollfd p[3] = {
			{ .fd = peer_eof ? -1 : tfd, .events = POLLIN },
			{ .fd = local_eof ? -1 : r->local, .events = POLLIN },
			{ .fd = r->stop[0], .events = POLLIN },
		};
		if (!peer_eof && ferry_tls_pending(r->t)) {
			p[0].revents = POLLIN;
		} else if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(r, errno, "poll");
			break;
		}
		if (p[2].revents) {
			char c = 'x';
			if (read(r->stop[0], &c, 1) != 1 || c != 'f')
				break;
			/* finish: the owner saw its CRIU end well */
			r->hold_bye = false;
			if (local_eof && !bye_sent) {
				ferry_tls_shutdown_write(r->t);
				bye_sent = true;
			}
			continue;
		}
		if (p[0].revents) {
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			ssize_t n = ferry_tls_recv_some(r->t, buf, 256 << 10, &e);
			if (n < 0) {
				fail(r, EPROTO, e.msg);
				break;
			}
			if (n == 0) {
				peer_eof = true;
				shutdown(r->local, SHUT_WR);
				continue;
			}
			if (ferry_write_all(r->local, buf, (size_t) n) < 0) {
				/* The local side has ended and is gone: what still
				 * comes is the other CRIU's answer to its goodbye,
				 * which nobody waits for (ferry's lazy-pages daemon).
				 * Whether the local side ended well is not the
				 * relay's to judge: its owner has its exit status. */
				if (local_eof && (errno == EPIPE || errno == ECONNRESET)) {
					r->from_peer += (uint64_t) n;
					continue;
				}
				fail(r, errno, "write to CRIU");
				break;
			}
			r->from_peer += (uint64_t) n;
		}
		if (p[1].revents) {
			ssize_t n = read(r->local, buf, 256 << 10);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0) {
				fail(r, errno, "read from CRIU");
				break;
			}
			if (n == 0) {
				local_eof = true;
				/* TLS's goodbye tells the other side the stream is
				 * complete; where a CRIU that exits is not proof of that
				 * (the destination's), the owner decides. */
				if (!r->hold_bye) {
					ferry_tls_shutdown_write(r->t);
					bye_sent = true;
				}
				continue;
			}
			{
				_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
				if (ferry_tls_write_all(r->t, buf, (size_t) n, &e) < 0) {
					fail(r, EPIPE, e.msg);
					goto out;
				}
			}
			r->to_peer += (uint64_t) n;
		}
	}
out:
	free(buf);
	if (r->err[0] || (atomic_load(&r->aborted) && !(peer_eof && local_eof))) {
		/* A broken stream must not look like a finished one to CRIU: a
		 * lazy dump's page server takes a plain end of its client as
		 * "all pages served" and kills the source tree.  A reset makes
		 * it fail (and resume the tree) instead. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(r->local, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		/* A reset needs the last reference to go, and a process forked
		 * meanwhile (the destination's restore helper) may hold one: there
		 * the client side (the lazy-pages daemon, the page server) is
		 * told by an end of stream, which it cannot take for complete. */
		if (r->hold_bye)
			shutdown(r->local, SHUT_RDWR);
		close(r->local);
		r->local = -1;
	} else {
		shutdown(r->local, SHUT_RDWR);
	}
	shutdown(tfd, SHUT_RDWR);
	atomic_store(&r->done, true);
	return NULL;
}

int
ferry_relay_start(ferry_tls_t *t, int local_fd, int connect_port, bool hold_bye, ferry_relay_t **out,
		  ferry_error_t *err)
{
	struct ferry_relay *r = xmalloc0(sizeof(*r));

	r->hold_bye = hold_bye;
	r->t = t;
	r->local = local_fd;
	r->port = connect_port;
	if (pipe2(r->stop, O_CLOEXEC) < 0) {
		free(r);
		return ferry_error_sys(err, "pipe");
	}
	errno = pthread_create(&r->th, NULL, relay_main, r);
	if (errno != 0) {
		close(r->stop[0]);
		close(r->stop[1]);
		free(r);
		return ferry_error_sys(err, "relay thread");
	}
	*out = r;
	return 0;
}

void
ferry_relay_abort_poke(ferry_relay_t *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->poke, true);
	ferry_relay_abort(r);
}

void
ferry_relay_abort(ferry_relay_t *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->aborted, true);
	if (write(r->stop[1], "x", 1) < 0) {
		/* the pipe is ours and empty: cannot fail */
	}
	/* The thread resets the local side itself (see relay_main's end):
	 * a FIN here would read as a complete stream. */
	shutdown(ferry_tls_fd(r->t), SHUT_RDWR);
}

void
ferry_relay_finish(ferry_relay_t *r)
{
	if (r && write(r->stop[1], "f", 1) < 0) {
		/* the pipe is ours: cannot fail */
	}
}

bool
ferry_relay_wait(ferry_relay_t *r, int timeout_ms)
{
	for (int i = 0; r && i < timeout_ms; i++) {
		if (atomic_load(&r->done))
			return true;
		usleep(1000);
	}
	return r == NULL || atomic_load(&r->done);
}

int
ferry_relay_join(ferry_relay_t *r, uint64_t *from_peer, uint64_t *to_peer, ferry_error_t *err)
{
	int ret = 0;

	if (r == NULL)
		return 0;
	pthread_join(r->th, NULL);
	if (from_peer)
		*from_peer = r->from_peer;
	if (to_peer)
		*to_peer = r->to_peer;
	if (r->err[0] && !atomic_load(&r->aborted))
		ret = ferry_error_set(err, r->err_no, "pages connection: %s", r->err);
	if (r->local >= 0)
		close(r->local);
	close(r->stop[0]);
	close(r->stop[1]);
	ferry_tls_close(r->t);
	free(r);
	return ret;
}
