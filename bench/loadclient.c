/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry-loadclient: the benchmark's view of a service while it migrates.
 *
 * Two workers request http://ADDR:PORT/ at a fixed rate at the same time:
 *   fresh      a new TCP connection per request, short timeout, and an
 *              immediate retry after any failure (what a new user sees);
 *   keepalive  one HTTP/1.1 connection reused for every request (what a
 *              user with an open connection sees; it must survive).
 * Each attempt is recorded (send time, latency, outcome, answering host read
 * from the body). At the end it writes a JSON summary and an SVG timeline
 * with the migration phases, read from a marks file, as bands.
 *
 * Clock: every absolute time (send_ns, marks, split) is CLOCK_REALTIME in
 * nanoseconds, so the migration side, another process on another simulated
 * host, can write marks with `date +%s%N`. Latencies and deadlines use
 * CLOCK_MONOTONIC.
 *
 * It only talks to the numeric IPv4 address it is given and stops by itself
 * (--duration is bounded), as load tests here must.
 *
 * Standalone on purpose: libc and threads only, so it builds and runs
 * whatever state the rest of the tree is in.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ util */

static inline void
lc_closep(int *fd)
{
	/* Never retry close() on EINTR: the fd is gone either way on Linux. */
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
static inline void
lc_freep(void *p)
{
	free(*(void **) p);
}
static inline void
lc_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline FILE *
steal_file(FILE **f)
{
	FILE *r = *f;
	*f = NULL;
	return r;
}
#define _cleanup_close_ __attribute__((cleanup(lc_closep)))
#define _cleanup_free_ __attribute__((cleanup(lc_freep)))
#define _cleanup_fclose_ __attribute__((cleanup(lc_fclosep)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

static __attribute__((noreturn, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;
	fputs("ferry-loadclient: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t) ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
static int64_t
mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
static int64_t
real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* --------------------------------------------------------------- options */

enum mode { MODE_FRESH, MODE_KEEPALIVE, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = { "fresh", "keepalive" };

/* Parsed command line: the only global state besides the stop flag. */
static struct {
	struct sockaddr_in addr;
	char url[256];
	char hosthdr[64];
	char path[128];
	int64_t interval_ns;
	int64_t timeout_ns;
	int64_t ka_timeout_ns;
	int64_t retry_gap_ns;
	int64_t duration_ns;
	int64_t split_ns; /* 0: derived from the marks */
	const char *stop_file;
	const char *ready_file;
	const char *marks_file;
	const char *json_file;
	const char *svg_file;
	const char *csv_file;
	const char *label;
	bool run_mode[MODE_COUNT];
	bool quiet;
} opt;

/* Set by SIGINT/SIGTERM, the duration, or the stop file; polled by workers
 * at least every POLL_SLICE_NS. */
static atomic_int stop_flag;
#define POLL_SLICE_NS (20 * NS_PER_MS)
#define MAX_DURATION_S 3600
/* Bounds memory if a retry loop spins (refused connections answer at once). */
#define MAX_RECORDS (2 * 1000 * 1000)

static bool
stopping(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed) != 0;
}

static void
on_signal(int sig)
{
	(void) sig;
	atomic_store(&stop_flag, 1);
}

/* ------------------------------------------------------------- recording */

enum outcome {
	OUT_OK,
	OUT_TIMEOUT,
	OUT_REFUSED,
	OUT_RESET,
	/* The server closed the connection before any byte of a response: an
	 * idle keep-alive connection closed by the server, or a server that
	 * accepted and hung up. */
	OUT_CLOSED,
	OUT_HTTP, /* a response with a status other than 2xx */
	OUT_OTHER,
	OUT_COUNT
};
static const char *const outcome_names[OUT_COUNT] = {
	"ok", "timeout", "refused", "reset", "closed", "http_error", "other",
};

enum {
	REQ_RETRY = 1 << 0,	    /* immediate retry after a failure */
	REQ_NEW_CONN = 1 << 1,	    /* this attempt opened a connection */
	REQ_SERVER_CLOSE = 1 << 2, /* keepalive: server ended the connection after this response */
};

#define HOST_LEN 32

struct req {
	int64_t send_ns;    /* CLOCK_REALTIME */
	int64_t latency_ns; /* until the full response or the failure */
	uint32_t conn;	    /* connection number within the worker */
	int16_t detail;	    /* errno for failures, HTTP status for responses */
	uint8_t outcome;
	uint8_t flags;
	char host[HOST_LEN]; /* first line of the body, "" when none */
};

struct worker {
	enum mode mode;
	pthread_t thread;
	struct req *reqs;
	size_t n, cap;
	uint32_t conns;
	uint32_t server_closes; /* responses after which the server closed */
	uint32_t reused;	/* requests sent on an already used connection */
	bool overflow;
	atomic_bool answered; /* one request of this mode succeeded */
};

static struct req *
worker_push(struct worker *w)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		struct req *r = realloc(w->reqs, cap * sizeof(*r));
		if (!r)
			die("out of memory after %zu records", w->n);
		w->reqs = r;
		w->cap = cap;
	}
	struct req *r = &w->reqs[w->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* ------------------------------------------------------------------ HTTP */

#define RESP_MAX (64 * 1024)

struct http_resp {
	int status;
	bool keep_alive; /* the server lets the connection stay open */
	char host[HOST_LEN];
};

static bool
header_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*val = v;
	*vlen = (size_t) (end - v);
	return true;
}

/* The first line of the body names the host that answered (the testbed's
 * /srv/www/index.html holds the host name, as in the seed article). */
static void
take_host(const char *body, size_t len, char host[HOST_LEN])
{
	size_t i = 0, o = 0;
	while (i < len && isspace((unsigned char) body[i]))
		i++;
	for (; i < len && body[i] != '\n' && body[i] != '\r' && o < HOST_LEN - 1; i++)
		host[o++] = isprint((unsigned char) body[i]) ? body[i] : '?';
	while (o > 0 && isspace((unsigned char) host[o - 1]))
		o--;
	host[o] = '\0';
}

/*
 * Parses a response in buf[0..len). Returns 1 when complete (*used is its
 * length), 0 when more bytes are needed, -1 when malformed. eof: the peer
 * closed, which completes a body without length.
 */
static int
http_parse(const char *buf, size_t len, bool eof, struct http_resp *r, size_t *used)
{
	const char *hend = memmem(buf, len, "\r\n\r\n", 4);
	if (!hend)
		return (eof || len >= RESP_MAX) ? -1 : 0;
	size_t hlen = (size_t) (hend - buf) + 4;

	int minor;
	if (sscanf(buf, "HTTP/1.%d %3d", &minor, &r->status) != 2)
		return -1;
	r->keep_alive = minor >= 1;
	bool chunked = false;
	long long clen = -1;
	const char *line = (const char *) memchr(buf, '\n', hlen) + 1;
	while (line < hend) {
		const char *eol = memchr(line, '\r', (size_t) (hend + 2 - line));
		size_t ll = (size_t) (eol - line);
		const char *v;
		size_t vl;
		if (header_is(line, ll, "Content-Length", &v, &vl)) {
			char num[24];
			if (vl == 0 || vl >= sizeof(num))
				return -1;
			memcpy(num, v, vl);
			num[vl] = '\0';
			char *e;
			clen = strtoll(num, &e, 10);
			if (*e || clen < 0)
				return -1;
		} else if (header_is(line, ll, "Transfer-Encoding", &v, &vl)) {
			chunked = vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0;
		} else if (header_is(line, ll, "Connection", &v, &vl)) {
			if (memmem(v, vl, "close", 5) || memmem(v, vl, "Close", 5))
				r->keep_alive = false;
			else if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0)
				r->keep_alive = true;
		}
		line = eol + 2;
	}

	const char *body = buf + hlen;
	size_t avail = len - hlen;
	if (chunked) {
		/* Only the first line of the body matters: keep its first bytes
		 * and walk the chunks to the end of the message. Trailers are not
		 * supported. */
		size_t pos = 0, head_len = 0;
		char head[2 * HOST_LEN];
		for (;;) {
			const char *crlf = memmem(body + pos, avail - pos, "\r\n", 2);
			if (!crlf)
				return eof ? -1 : 0;
			char *e;
			unsigned long long sz = strtoull(body + pos, &e, 16);
			if (e == body + pos || sz > RESP_MAX)
				return -1;
			size_t data = (size_t) (crlf - body) + 2;
			if (sz == 0) {
				if (avail < data + 2)
					return eof ? -1 : 0;
				take_host(head, head_len, r->host);
				*used = hlen + data + 2;
				return 1;
			}
			if (avail < data + sz + 2)
				return eof ? -1 : 0;
			size_t take = sizeof(head) - head_len < sz ? sizeof(head) - head_len : (size_t) sz;
			memcpy(head + head_len, body + data, take);
			head_len += take;
			pos = data + (size_t) sz + 2;
		}
	}
	if (clen >= 0) {
		if ((long long) avail < clen)
			return eof ? -1 : 0;
		take_host(body, (size_t) clen, r->host);
		*used = hlen + (size_t) clen;
		return 1;
	}
	/* No length: the body ends when the server closes. */
	r->keep_alive = false;
	if (!eof)
		return len >= RESP_MAX ? -1 : 0;
	take_host(body, avail, r->host);
	*used = len;
	return 1;
}

/* ------------------------------------------------------------ networking */

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOPPED };

/* Waits for events on fd until the monotonic deadline, waking up every
 * POLL_SLICE_NS to notice a stop request. */
static enum wait_result
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		if (stopping())
			return WAIT_STOPPED;
		int64_t left = deadline - mono_ns();
		if (left <= 0)
			return WAIT_TIMEOUT;
		if (left > POLL_SLICE_NS)
			left = POLL_SLICE_NS;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = left };
		struct pollfd p = { .fd = fd, .events = events };
		int rc = ppoll(&p, 1, &ts, NULL);
		if (rc > 0)
			return WAIT_READY;
		if (rc < 0 && errno != EINTR)
			return WAIT_READY; /* let the following call report the error */
	}
}

/* Sleeps until the monotonic instant at, in slices; false when stopping. */
static bool
sleep_until(int64_t at)
{
	for (;;) {
		if (stopping())
			return false;
		int64_t now = mono_ns();
		if (now >= at)
			return true;
		int64_t t = at - now < POLL_SLICE_NS ? at : now + POLL_SLICE_NS;
		struct timespec ts = { .tv_sec = t / NS_PER_S, .tv_nsec = t % NS_PER_S };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

static enum outcome
outcome_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return OUT_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return OUT_RESET;
	case ETIMEDOUT:
		return OUT_TIMEOUT;
	default:
		return OUT_OTHER;
	}
}

/* Result of one attempt: -1 when a stop request interrupted it (the attempt
 * is then not recorded). */
struct attempt {
	enum outcome outcome;
	int detail;
	bool server_close;
	char host[HOST_LEN];
};

static int
tcp_connect(int64_t deadline, struct attempt *a, int *out_fd)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *) &opt.addr, sizeof(opt.addr)) < 0) {
		if (errno != EINPROGRESS) {
			a->detail = errno;
			a->outcome = outcome_of_errno(errno);
			return 0;
		}
		switch (wait_fd(fd, POLLOUT, deadline)) {
		case WAIT_STOPPED:
			return -1;
		case WAIT_TIMEOUT:
			a->outcome = OUT_TIMEOUT;
			a->detail = ETIMEDOUT;
			return 0;
		case WAIT_READY:
			break;
		}
		int err = 0;
		socklen_t sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err) {
			a->detail = err;
			a->outcome = outcome_of_errno(err);
			return 0;
		}
	}
	*out_fd = fd;
	fd = -1;
	return 1;
}

/* Sends one GET on a connected socket and reads the whole response. */
static int
http_exchange(int fd, bool keep_alive, int64_t deadline, struct attempt *a)
{
	char req[512];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ferry-loadclient\r\n"
			  "Connection: %s\r\n\r\n",
			  opt.path, opt.hosthdr, keep_alive ? "keep-alive" : "close");
	size_t off = 0;
	while (off < (size_t) rl) {
		ssize_t w = send(fd, req + off, (size_t) rl - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t) w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			enum wait_result wr = wait_fd(fd, POLLOUT, deadline);
			if (wr == WAIT_STOPPED)
				return -1;
			if (wr == WAIT_TIMEOUT) {
				a->outcome = OUT_TIMEOUT;
				a->detail = ETIMEDOUT;
				return 0;
			}
			continue;
		}
		a->detail = errno;
		a->outcome = outcome_of_errno(errno);
		return 0;
	}

	_cleanup_free_ char *buf = malloc(RESP_MAX);
	if (!buf)
		die("out of memory");
	size_t len = 0;
	bool eof = false;
	for (;;) {
		struct http_resp r = { 0 };
		size_t used = 0;
		int pr = http_parse(buf, len, eof, &r, &used);
		if (pr > 0) {
			a->detail = r.status;
			a->outcome = (r.status >= 200 && r.status < 300) ? OUT_OK : OUT_HTTP;
			memcpy(a->host, r.host, HOST_LEN);
			/* Anything past the response would be a protocol error for a
			 * client that sends one request at a time. */
			a->server_close = !r.keep_alive || used != len;
			return 0;
		}
		if (pr < 0) {
			a->outcome = (len == 0 && eof) ? OUT_CLOSED : OUT_OTHER;
			a->detail = 0;
			a->server_close = true;
			return 0;
		}
		enum wait_result wr = wait_fd(fd, POLLIN, deadline);
		if (wr == WAIT_STOPPED)
			return -1;
		if (wr == WAIT_TIMEOUT) {
			a->outcome = OUT_TIMEOUT;
			a->detail = ETIMEDOUT;
			return 0;
		}
		ssize_t n = recv(fd, buf + len, RESP_MAX - len, 0);
		if (n > 0) {
			len += (size_t) n;
		} else if (n == 0) {
			eof = true;
		} else if (errno != EINTR && errno != EAGAIN) {
			a->detail = errno;
			a->outcome = outcome_of_errno(errno);
			return 0;
		}
	}
}

/* --------------------------------------------------------------- workers */

static void
record(struct worker *w, const struct attempt *a, int64_t send_real, int64_t t0, int flags)
{
	if (w->n >= MAX_RECORDS) {
		w->overflow = true;
		atomic_store(&stop_flag, 1);
		return;
	}
	struct req *r = worker_push(w);
	r->send_ns = send_real;
	r->latency_ns = mono_ns() - t0;
	r->conn = w->conns;
	r->outcome = (uint8_t) a->outcome;
	r->detail = (int16_t) a->detail;
	r->flags = (uint8_t) flags;
	memcpy(r->host, a->host, HOST_LEN);
	if (a->outcome == OUT_OK)
		atomic_store(&w->answered, true);
}

/* Next tick after now on the fixed grid start + k*interval: ticks missed
 * while a request ran are skipped, not queued, so a stall never turns into
 * a burst. */
static int64_t
next_tick(int64_t start, int64_t now)
{
	int64_t k = (now - start) / opt.interval_ns + 1;
	return start + k * opt.interval_ns;
}

static void *
fresh_worker(void *arg)
{
	struct worker *w = arg;
	int64_t start = mono_ns(), tick = start;
	while (sleep_until(tick)) {
		int flags = 0;
		for (;;) {
			struct attempt a = { 0 };
			int64_t t0 = mono_ns(), real = real_ns();
			int64_t deadline = t0 + opt.timeout_ns;
			_cleanup_close_ int fd = -1;
			int rc = tcp_connect(deadline, &a, &fd);
			if (rc < 0)
				return NULL;
			w->conns++;
			if (rc > 0 && http_exchange(fd, false, deadline, &a) < 0)
				return NULL;
			record(w, &a, real, t0, flags | REQ_NEW_CONN);
			if (a.outcome == OUT_OK || stopping())
				break;
			flags = REQ_RETRY;
			if (!sleep_until(mono_ns() + opt.retry_gap_ns))
				return NULL;
		}
		tick = next_tick(start, mono_ns());
	}
	return NULL;
}

static void *
keepalive_worker(void *arg)
{
	struct worker *w = arg;
	_cleanup_close_ int fd = -1;
	bool used_before = false;
	int64_t start = mono_ns(), tick = start;
	while (sleep_until(tick)) {
		int flags = 0;
		for (;;) {
			struct attempt a = { 0 };
			int64_t t0 = mono_ns(), real = real_ns();
			int64_t deadline = t0 + opt.ka_timeout_ns;
			int rc = 1;
			if (fd < 0) {
				rc = tcp_connect(deadline, &a, &fd);
				if (rc < 0)
					return NULL;
				w->conns++;
				flags |= REQ_NEW_CONN;
				used_before = false;
			} else if (used_before) {
				w->reused++;
			}
			if (rc > 0) {
				if (http_exchange(fd, true, deadline, &a) < 0)
					return NULL;
				used_before = true;
				if (a.outcome != OUT_OK && a.outcome != OUT_HTTP)
					a.server_close = true;
				if (a.server_close) {
					if (a.outcome == OUT_OK || a.outcome == OUT_HTTP) {
						flags |= REQ_SERVER_CLOSE;
						w->server_closes++;
					}
					lc_closep(&fd);
				}
			}
			record(w, &a, real, t0, flags);
			if (a.outcome == OUT_OK || stopping())
				break;
			flags = REQ_RETRY;
			if (!sleep_until(mono_ns() + opt.retry_gap_ns))
				return NULL;
		}
		tick = next_tick(start, mono_ns());
	}
	return NULL;
}

/* ----------------------------------------------------------------- marks */

#define MAX_MARKS 64
#define MARK_NAME_LEN 48

struct mark {
	char name[MARK_NAME_LEN];
	int64_t start_ns, end_ns; /* CLOCK_REALTIME; end == start for an instant */
};

/* Lines "name start_ns [end_ns]"; '#' starts a comment. A missing file is
 * no marks: the migration side may not have written any. */
static size_t
read_marks(const char *path, struct mark *marks, size_t max)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			die("%s: %s", path, strerror(errno));
		fprintf(stderr, "ferry-loadclient: %s: no marks file\n", path);
		return 0;
	}
	char line[256];
	size_t n = 0, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char name[MARK_NAME_LEN];
		long long s, e;
		int got = sscanf(line, "%47s %lld %lld", name, &s, &e);
		if (got <= 0)
			continue;
		if (got < 2 || s <= 0 || (got == 3 && e < s)) {
			fprintf(stderr, "ferry-loadclient: %s:%zu: bad mark, skipped\n", path, lineno);
			continue;
		}
		if (n == max) {
			fprintf(stderr, "ferry-loadclient: %s: more than %zu marks, rest ignored\n", path, max);
			break;
		}
		snprintf(marks[n].name, sizeof(marks[n].name), "%s", name);
		marks[n].start_ns = s;
		marks[n].end_ns = got == 3 ? e : s;
		n++;
	}
	return n;
}

/* -------------------------------------------------------------- analysis */

struct window {
	int64_t from_ns, to_ns; /* send times in [from, to) */
};

struct lat_stats {
	size_t n;
	double p50_ms, p99_ms, max_ms;
};

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *) x, b = *(const int64_t *) y;
	return (a > b) - (a < b);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t
pct(const int64_t *v, size_t n, double p)
{
	size_t rank = (size_t) ceil(p / 100.0 * (double) n);
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static struct lat_stats
latency_stats(const struct worker *w, struct window win)
{
	struct lat_stats st = { 0 };
	_cleanup_free_ int64_t *v = malloc((w->n ? w->n : 1) * sizeof(*v));
	if (!v)
		die("out of memory");
	for (size_t i = 0; i < w->n; i++) {
		const struct req *r = &w->reqs[i];
		if (r->outcome == OUT_OK && r->send_ns >= win.from_ns && r->send_ns < win.to_ns)
			v[st.n++] = r->latency_ns;
	}
	if (!st.n)
		return st;
	qsort(v, st.n, sizeof(*v), cmp_i64);
	st.p50_ms = (double) pct(v, st.n, 50) / NS_PER_MS;
	st.p99_ms = (double) pct(v, st.n, 99) / NS_PER_MS;
	st.max_ms = (double) v[st.n - 1] / NS_PER_MS;
	return st;
}

struct gap {
	int64_t from_ns, to_ns; /* realtime; to - from is the gap */
};

/*
 * Service gap: the longest interval with no successful response, measured
 * between completion times (send + latency) of successes, counting the start
 * and the end of the run as bounds, so a service that never comes back
 * shows a gap up to the end.
 */
static struct gap
service_gap(const struct worker *w, int64_t run_start, int64_t run_end)
{
	struct gap g = { run_start, run_start };
	int64_t prev = run_start;
	for (size_t i = 0; i < w->n; i++) {
		const struct req *r = &w->reqs[i];
		if (r->outcome != OUT_OK)
			continue;
		int64_t done = r->send_ns + r->latency_ns;
		if (done - prev > g.to_ns - g.from_ns)
			g = (struct gap){ prev, done };
		if (done > prev)
			prev = done;
	}
	if (run_end - prev > g.to_ns - g.from_ns)
		g = (struct gap){ prev, run_end };
	return g;
}

/* Distinct answering hosts across both workers, in order of first answer. */
#define MAX_HOSTS 16
struct hosts {
	size_t n;
	char name[MAX_HOSTS][HOST_LEN];
};

static int
host_index(struct hosts *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			return (int) i;
	if (h->n == MAX_HOSTS)
		return -1;
	memcpy(h->name[h->n], name, HOST_LEN);
	return (int) h->n++;
}

/* ----------------------------------------------------------------- JSON */

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static double
rel_ms(int64_t t, int64_t run_start)
{
	return (double) (t - run_start) / NS_PER_MS;
}

static void
json_lat(FILE *f, const char *name, struct lat_stats st, bool last)
{
	fprintf(f, "        \"%s\": ", name);
	if (!st.n)
		fprintf(f, "{\"n\": 0, \"p50\": null, \"p99\": null, \"max\": null}");
	else
		fprintf(f, "{\"n\": %zu, \"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}", st.n, st.p50_ms,
			st.p99_ms, st.max_ms);
	fputs(last ? "\n" : ",\n", f);
}

struct summary {
	int64_t run_start, run_end;
	struct mark marks[MAX_MARKS];
	size_t nmarks;
	bool have_split;
	struct window before, after, all;
	struct gap gap[MODE_COUNT];
	struct hosts hosts;
};

static void
json_mode(FILE *f, const struct worker *w, const struct summary *s, bool last)
{
	size_t counts[OUT_COUNT] = { 0 }, per_host[MAX_HOSTS] = { 0 }, retries = 0;
	struct hosts local = s->hosts;
	for (size_t i = 0; i < w->n; i++) {
		const struct req *r = &w->reqs[i];
		counts[r->outcome]++;
		retries += (r->flags & REQ_RETRY) != 0;
		if (r->outcome == OUT_OK) {
			int hi = host_index(&local, r->host);
			if (hi >= 0)
				per_host[hi]++;
		}
	}
	const struct gap *g = &s->gap[w->mode];
	fprintf(f, "    \"%s\": {\n", mode_names[w->mode]);
	fprintf(f, "      \"requests\": %zu,\n      \"ok\": %zu,\n      \"retries\": %zu,\n", w->n,
		counts[OUT_OK], retries);
	fprintf(f, "      \"errors\": {");
	for (int o = 1; o < OUT_COUNT; o++)
		fprintf(f, "\"%s\": %zu%s", outcome_names[o], counts[o], o + 1 < OUT_COUNT ? ", " : "");
	fprintf(f, "},\n      \"connections\": %" PRIu32 ",\n", w->conns);
	fprintf(f,
		"      \"service_gap\": {\"ms\": %.3f, \"from_ms\": %.3f, \"to_ms\": %.3f, "
		"\"from_ns\": %" PRId64 ", \"to_ns\": %" PRId64 "},\n",
		(double) (g->to_ns - g->from_ns) / NS_PER_MS, rel_ms(g->from_ns, s->run_start),
		rel_ms(g->to_ns, s->run_start), g->from_ns, g->to_ns);
	fprintf(f, "      \"latency_ms\": {\n");
	json_lat(f, "all", latency_stats(w, s->all), !s->have_split);
	if (s->have_split) {
		json_lat(f, "before", latency_stats(w, s->before), false);
		json_lat(f, "after", latency_stats(w, s->after), true);
	}
	fprintf(f, "      },\n      \"hosts\": {");
	bool first = true;
	for (size_t i = 0; i < local.n; i++) {
		if (!per_host[i])
			continue;
		fprintf(f, "%s", first ? "" : ", ");
		json_str(f, local.name[i]);
		fprintf(f, ": %zu", per_host[i]);
		first = false;
	}
	fprintf(f, "},\n      \"host_changes\": [");
	const char *cur = NULL;
	first = true;
	for (size_t i = 0; i < w->n; i++) {
		const struct req *r = &w->reqs[i];
		if (r->outcome != OUT_OK)
			continue;
		if (cur && strcmp(cur, r->host) != 0) {
			fprintf(f, "%s{\"at_ms\": %.3f, \"from\": ", first ? "" : ", ",
				rel_ms(r->send_ns + r->latency_ns, s->run_start));
			json_str(f, cur);
			fprintf(f, ", \"to\": ");
			json_str(f, r->host);
			fputc('}', f);
			first = false;
		}
		cur = r->host;
	}
	fprintf(f, "]");
	if (w->mode == MODE_KEEPALIVE) {
		/* Survived: one connection carried every request, none failed. A
		 * server that closes after each response (no keep-alive support) is
		 * reported as such, not as an error. */
		size_t failed = w->n - counts[OUT_OK];
		bool supported = w->reused > 0 || (w->server_closes == 0 && counts[OUT_OK] > 0);
		bool survived = supported && w->conns == 1 && failed == 0 && !w->overflow;
		const char *why = survived	   ? ""
				  : !counts[OUT_OK] ? "no successful request"
				  : !supported	   ? "server closes the connection after each response (no keep-alive)"
				  : w->conns > 1   ? "connection re-established"
						   : "requests failed";
		fprintf(f,
			",\n      \"keepalive\": {\"survived\": %s, \"server_supports_keepalive\": %s, "
			"\"server_closes\": %" PRIu32 ", \"reused\": %" PRIu32 ", \"reason\": ",
			survived ? "true" : "false", supported ? "true" : "false", w->server_closes, w->reused);
		json_str(f, why);
		fputc('}', f);
	}
	fprintf(f, "\n    }%s\n", last ? "" : ",");
}

static void
write_json(FILE *f, struct worker *workers, size_t nworkers, const struct summary *s)
{
	int64_t worst = 0;
	for (size_t i = 0; i < nworkers; i++) {
		const struct gap *g = &s->gap[workers[i].mode];
		if (g->to_ns - g->from_ns > worst)
			worst = g->to_ns - g->from_ns;
	}
	fprintf(f, "{\n  \"tool\": \"ferry-loadclient\",\n  \"format\": 1,\n  \"label\": ");
	json_str(f, opt.label ? opt.label : "");
	fprintf(f, ",\n  \"url\": ");
	json_str(f, opt.url);
	fprintf(f,
		",\n  \"clock\": \"CLOCK_REALTIME ns for *_ns fields and marks; *_ms fields are relative to "
		"start_ns\",\n");
	fprintf(f, "  \"interval_ms\": %.3f,\n  \"timeout_ms\": %.3f,\n  \"ka_timeout_ms\": %.3f,\n",
		(double) opt.interval_ns / NS_PER_MS, (double) opt.timeout_ns / NS_PER_MS,
		(double) opt.ka_timeout_ns / NS_PER_MS);
	fprintf(f, "  \"start_ns\": %" PRId64 ",\n  \"end_ns\": %" PRId64 ",\n  \"duration_ms\": %.3f,\n",
		s->run_start, s->run_end, rel_ms(s->run_end, s->run_start));
	fprintf(f, "  \"service_gap_ms\": %.3f,\n", (double) worst / NS_PER_MS);
	fprintf(f, "  \"marks\": [");
	for (size_t i = 0; i < s->nmarks; i++) {
		const struct mark *m = &s->marks[i];
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, m->name);
		fprintf(f,
			", \"start_ns\": %" PRId64 ", \"end_ns\": %" PRId64
			", \"start_ms\": %.3f, \"end_ms\": %.3f}",
			m->start_ns, m->end_ns, rel_ms(m->start_ns, s->run_start), rel_ms(m->end_ns, s->run_start));
	}
	fprintf(f, "%s],\n", s->nmarks ? "\n  " : "");
	if (s->have_split)
		fprintf(f, "  \"split\": {\"before_until_ns\": %" PRId64 ", \"after_from_ns\": %" PRId64 "},\n",
			s->before.to_ns, s->after.from_ns);
	else
		fprintf(f, "  \"split\": null,\n");
	fprintf(f, "  \"modes\": {\n");
	for (size_t i = 0; i < nworkers; i++)
		json_mode(f, &workers[i], s, i + 1 == nworkers);
	fprintf(f, "  }\n}\n");
}

static void
write_csv(FILE *f, struct worker *workers, size_t nworkers)
{
	fprintf(f, "mode,send_ns,latency_ns,outcome,detail,host,conn,flags\n");
	for (size_t i = 0; i < nworkers; i++) {
		const struct worker *w = &workers[i];
		for (size_t j = 0; j < w->n; j++) {
			const struct req *r = &w->reqs[j];
			fprintf(f, "%s,%" PRId64 ",%" PRId64 ",%s,%d,%s,%" PRIu32 ",%s%s%s\n", mode_names[w->mode],
				r->send_ns, r->latency_ns, outcome_names[r->outcome], r->detail,
				strchr(r->host, ',') ? "?" : r->host, r->conn, (r->flags & REQ_RETRY) ? "R" : "",
				(r->flags & REQ_NEW_CONN) ? "N" : "", (r->flags & REQ_SERVER_CLOSE) ? "C" : "");
		}
	}
}

/* ------------------------------------------------------------------ SVG */

#define SVG_W 1200
#define SVG_ML 80
#define SVG_MR 30
#define SVG_TOP 96
#define SVG_PH 200   /* latency panel height */
#define SVG_STRIP 12 /* host strip under a panel */
#define SVG_PANEL_GAP 46

static const char *const host_colours[] = {
	"#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f",
};
static const char *const outcome_colours[OUT_COUNT] = {
	"#000000", "#ff7f0e", "#d62728", "#c2185b", "#6d6d6d", "#8b4513", "#111111",
};
static const char *const band_colours[] = { "#fde68a", "#bfdbfe", "#c7f9cc", "#fbcfe8", "#ddd6fe" };

static void
svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc((unsigned char) *s < 0x20 ? '?' : *s, f);
		}
	}
}

struct svg_scale {
	int64_t t0;
	double span_s;
	double lmin, lmax; /* log10 of latency range in ms */
};

static double
svg_x(const struct svg_scale *sc, int64_t t)
{
	double x = (double) (t - sc->t0) / NS_PER_S / sc->span_s;
	if (x < 0)
		x = 0;
	if (x > 1)
		x = 1;
	return SVG_ML + x * (SVG_W - SVG_ML - SVG_MR);
}

static double
svg_y(const struct svg_scale *sc, double top, int64_t lat_ns)
{
	double ms = (double) lat_ns / NS_PER_MS;
	double l = log10(ms > 0.001 ? ms : 0.001);
	double y = (l - sc->lmin) / (sc->lmax - sc->lmin);
	if (y < 0)
		y = 0;
	if (y > 1)
		y = 1;
	return top + SVG_PH - y * SVG_PH;
}

/* A round step for about eight ticks over span seconds. */
static double
nice_step(double span)
{
	double raw = span / 8, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void
svg_panel(FILE *f, const struct worker *w, const struct summary *s, const struct svg_scale *sc, double top)
{
	double x0 = SVG_ML, x1 = SVG_W - SVG_MR;
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
		x0, top, x1 - x0, SVG_PH);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"h\">%s: %s</text>\n", x0, top - 8, mode_names[w->mode],
		w->mode == MODE_FRESH ? "new connection per request, latency (log)"
				      : "one keep-alive connection, latency (log)");
	/* Latency grid at each decade. */
	for (int d = (int) ceil(sc->lmin); d <= (int) floor(sc->lmax); d++) {
		double y = svg_y(sc, top, (int64_t) (pow(10, d) * NS_PER_MS));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"g\"/>\n", x0, y, x1, y);
		double ms = pow(10, d);
		if (ms >= 1000)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%g s</text>\n", x0 - 4, y + 4, ms / 1000);
		else
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%g ms</text>\n", x0 - 4, y + 4, ms);
	}
	/* Service gap. */
	const struct gap *g = &s->gap[w->mode];
	double gx0 = svg_x(sc, g->from_ns), gx1 = svg_x(sc, g->to_ns);
	fprintf(f,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#d62728\" fill-opacity=\"0.08\" "
		"stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n",
		gx0, top, gx1 - gx0 > 1 ? gx1 - gx0 : 1, SVG_PH);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"gap\">gap %.1f ms</text>\n", gx1 + 3, top + 12,
		(double) (g->to_ns - g->from_ns) / NS_PER_MS);

	/* Requests: dots coloured by host for successes, crosses coloured by
	 * outcome for failures. */
	struct hosts hs = s->hosts;
	double strip = top + SVG_PH + 4;
	double px = (double) opt.interval_ns / NS_PER_S / sc->span_s * (x1 - x0);
	if (px < 1)
		px = 1;
	for (size_t i = 0; i < w->n; i++) {
		const struct req *r = &w->reqs[i];
		double x = svg_x(sc, r->send_ns), y = svg_y(sc, top, r->latency_ns);
		if (r->outcome == OUT_OK) {
			int hi = host_index(&hs, r->host);
			const char *c = hi < 0 ? "#000" : host_colours[(size_t) hi % ARRAY_SIZE(host_colours)];
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.7\" fill=\"%s\"/>\n", x, y, c);
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x, strip,
				px, SVG_STRIP, c);
		} else {
			const char *c = outcome_colours[r->outcome];
			fprintf(f,
				"<path d=\"M%.1f %.1fl5 5m0 -5l-5 5\" stroke=\"%s\" stroke-width=\"1.4\"><title>%s</title>"
				"</path>\n",
				x - 2.5, y - 2.5, c, outcome_names[r->outcome]);
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x, strip,
				px, SVG_STRIP, c);
		}
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">host</text>\n", x0 - 4, strip + 10);
}

static void
write_svg(FILE *f, struct worker *workers, size_t nworkers, const struct summary *s)
{
	struct svg_scale sc = { .t0 = s->run_start };
	sc.span_s = (double) (s->run_end - s->run_start) / NS_PER_S;
	if (sc.span_s <= 0)
		sc.span_s = 1;
	int64_t maxlat = opt.timeout_ns;
	for (size_t i = 0; i < nworkers; i++)
		for (size_t j = 0; j < workers[i].n; j++)
			if (workers[i].reqs[j].latency_ns > maxlat)
				maxlat = workers[i].reqs[j].latency_ns;
	sc.lmin = -2; /* 10 us */
	sc.lmax = ceil(log10((double) maxlat / NS_PER_MS));
	if (sc.lmax < 1)
		sc.lmax = 1;

	double panel = SVG_PH + SVG_STRIP + SVG_PANEL_GAP;
	double bottom = SVG_TOP + panel * (double) nworkers - SVG_PANEL_GAP + 4;
	int height = (int) bottom + 80;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n",
		SVG_W, height, SVG_W, height);
	fputs("<style>.g{stroke:#e5e5e5}.yl{text-anchor:end;fill:#555;font-size:11px}"
	      ".xl{text-anchor:middle;fill:#555;font-size:11px}.h{font-weight:bold}"
	      ".gap{fill:#d62728;font-size:11px}.band{font-size:11px;fill:#333}</style>\n",
	      f);
	fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
	fputs("<text x=\"10\" y=\"22\" font-size=\"16\" class=\"h\">", f);
	svg_text(f, opt.label ? opt.label : "ferry-loadclient");
	fputs(" \xe2\x80\x94 ", f);
	svg_text(f, opt.url);
	fputs("</text>\n", f);
	fprintf(f, "<text x=\"10\" y=\"42\">every %.2f ms, new-connection timeout %.0f ms, run %.2f s;", 
		(double) opt.interval_ns / NS_PER_MS, (double) opt.timeout_ns / NS_PER_MS, sc.span_s);
	for (size_t i = 0; i < nworkers; i++) {
		const struct gap *g = &s->gap[workers[i].mode];
		size_t bad = 0;
		for (size_t j = 0; j < workers[i].n; j++)
			bad += workers[i].reqs[j].outcome != OUT_OK;
		fprintf(f, " %s: gap %.1f ms, %zu failed of %zu;", mode_names[workers[i].mode],
			(double) (g->to_ns - g->from_ns) / NS_PER_MS, bad, workers[i].n);
	}
	fputs("</text>\n", f);

	/* Phase bands behind everything, with their names above the panels. */
	for (size_t i = 0; i < s->nmarks; i++) {
		const struct mark *m = &s->marks[i];
		double bx0 = svg_x(&sc, m->start_ns), bx1 = svg_x(&sc, m->end_ns);
		double bw = bx1 - bx0 < 2 ? 2 : bx1 - bx0;
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.6\">"
			"<title>",
			bx0, SVG_TOP - 30, bw, bottom - (SVG_TOP - 30), band_colours[i % ARRAY_SIZE(band_colours)]);
		svg_text(f, m->name);
		fprintf(f, " %.1f ms</title></rect>\n", (double) (m->end_ns - m->start_ns) / NS_PER_MS);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"band\">", bx0 + 2, SVG_TOP - 30 + 11 + (int) (i % 2) * 11);
		svg_text(f, m->name);
		fputs("</text>\n", f);
	}
	for (size_t i = 0; i < nworkers; i++)
		svg_panel(f, &workers[i], s, &sc, SVG_TOP + panel * (double) i);

	/* Time axis. */
	double step = nice_step(sc.span_s);
	for (double t = 0; t <= sc.span_s + 1e-9; t += step) {
		double x = svg_x(&sc, s->run_start + (int64_t) (t * NS_PER_S));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n", x, bottom + 2,
			x, bottom + 6);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"xl\">%g s</text>\n", x, bottom + 18, t);
	}

	/* Legend. */
	double lx = SVG_ML, ly = bottom + 44;
	for (size_t i = 0; i < s->hosts.n; i++) {
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>", lx + 5, ly - 4,
			host_colours[i % ARRAY_SIZE(host_colours)]);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">ok from ", lx + 14, ly);
		svg_text(f, s->hosts.name[i][0] ? s->hosts.name[i] : "(empty body)");
		fputs("</text>\n", f);
		lx += 140;
	}
	for (int o = 1; o < OUT_COUNT; o++) {
		fprintf(f,
			"<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.1f\" "
			"y=\"%.1f\">%s</text>\n",
			lx, ly - 8, outcome_colours[o], lx + 12, ly, outcome_names[o]);
		lx += 95;
	}
	fputs("</svg>\n", f);
}

/* ------------------------------------------------------------------ main */

static void
usage(FILE *f)
{
	fputs("usage: ferry-loadclient [options] http://A.B.C.D[:PORT][/PATH]\n"
	      "  -i, --interval MS     time between requests of each mode (default 5)\n"
	      "  -t, --timeout MS      new-connection mode: timeout of one attempt (default 50)\n"
	      "  -K, --ka-timeout MS   keep-alive mode: timeout of one request (default 5000)\n"
	      "      --retry-gap MS    pause before an immediate retry (default 1)\n"
	      "  -d, --duration S      stop after S seconds (default 10, at most 3600)\n"
	      "  -s, --stop-file PATH  stop as soon as PATH exists\n"
	      "  -R, --ready-file PATH create PATH once every mode has had an answer (start\n"
	      "                        the migration after it: the run then has a 'before')\n"
	      "  -m, --marks FILE      phase marks, lines 'name start_ns [end_ns]' (CLOCK_REALTIME ns,\n"
	      "                        e.g. date +%s%N), read at the end; drawn as bands\n"
	      "      --split-at NS     latency before/after this CLOCK_REALTIME instant (default:\n"
	      "                        before the first mark / after the last mark ends)\n"
	      "      --modes LIST      fresh,keepalive (default both)\n"
	      "  -j, --json FILE       summary (default stdout)\n"
	      "  -g, --svg FILE        timeline picture\n"
	      "  -c, --csv FILE        every request, one a line\n"
	      "  -l, --label TEXT      name of the run in the outputs\n"
	      "  -q, --quiet           no progress line on stderr\n"
	      "Stops on SIGINT/SIGTERM too. Exit status 0 when the run completed (whatever\n"
	      "the service did), 2 on bad usage.\n",
	      f);
}

static int64_t
parse_ms(const char *s, const char *what, double min, double max)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (errno || e == s || *e || !(v >= min && v <= max))
		die("%s: expected milliseconds in [%g, %g], got '%s'", what, min, max, s);
	return (int64_t) (v * NS_PER_MS);
}

static void
parse_url(const char *url)
{
	if (strncmp(url, "http://", 7) != 0)
		die("URL must start with http:// (got '%s')", url);
	snprintf(opt.url, sizeof(opt.url), "%s", url);
	const char *h = url + 7;
	const char *slash = strchr(h, '/');
	size_t hl = slash ? (size_t) (slash - h) : strlen(h);
	if (hl == 0 || hl >= sizeof(opt.hosthdr))
		die("bad host in '%s'", url);
	memcpy(opt.hosthdr, h, hl);
	opt.hosthdr[hl] = '\0';
	snprintf(opt.path, sizeof(opt.path), "%s", slash ? slash : "/");

	char ip[64];
	snprintf(ip, sizeof(ip), "%s", opt.hosthdr);
	unsigned port = 80;
	char *colon = strchr(ip, ':');
	if (colon) {
		*colon = '\0';
		char *e;
		unsigned long p = strtoul(colon + 1, &e, 10);
		if (*e || p == 0 || p > 65535)
			die("bad port in '%s'", url);
		port = (unsigned) p;
	}
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t) port);
	/* Numeric only: no resolver, so the target is exactly what was typed. */
	if (inet_pton(AF_INET, ip, &opt.addr.sin_addr) != 1)
		die("'%s' is not a numeric IPv4 address", ip);
}

static FILE *
open_out(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return NULL;
	FILE *f = fopen(path, "we");
	if (!f)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void
close_out(FILE *f, const char *path)
{
	if (ferror(f) || fclose(f) != 0)
		die("%s: write error", path);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },	{ "timeout", required_argument, NULL, 't' },
		{ "ka-timeout", required_argument, NULL, 'K' }, { "retry-gap", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },	{ "stop-file", required_argument, NULL, 's' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "marks", required_argument, NULL, 'm' },	{ "split-at", required_argument, NULL, 'S' },
		{ "modes", required_argument, NULL, 'M' },	{ "json", required_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 'g' },	{ "csv", required_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'l' },	{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },		{ NULL, 0, NULL, 0 },
	};
	opt.interval_ns = 5 * NS_PER_MS;
	opt.timeout_ns = 50 * NS_PER_MS;
	opt.ka_timeout_ns = 5000 * NS_PER_MS;
	opt.retry_gap_ns = 1 * NS_PER_MS;
	opt.duration_ns = 10 * NS_PER_S;
	opt.run_mode[MODE_FRESH] = opt.run_mode[MODE_KEEPALIVE] = true;

	int c;
	while ((c = getopt_long(argc, argv, "i:t:K:d:s:R:m:j:g:c:l:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			opt.interval_ns = parse_ms(optarg, "--interval", 0.5, 1000);
			break;
		case 't':
			opt.timeout_ns = parse_ms(optarg, "--timeout", 1, 60000);
			break;
		case 'K':
			opt.ka_timeout_ns = parse_ms(optarg, "--ka-timeout", 1, 600000);
			break;
		case 'r':
			opt.retry_gap_ns = parse_ms(optarg, "--retry-gap", 0.1, 1000);
			break;
		case 'd':
			opt.duration_ns = parse_ms(optarg, "--duration", 0.001, MAX_DURATION_S * 1000.0) * 1000;
			break;
		case 's':
			opt.stop_file = optarg;
			break;
		case 'R':
			opt.ready_file = optarg;
			break;
		case 'm':
			opt.marks_file = optarg;
			break;
		case 'S': {
			char *e;
			errno = 0;
			long long v = strtoll(optarg, &e, 10);
			if (errno || *e || v <= 0)
				die("--split-at: expected CLOCK_REALTIME nanoseconds, got '%s'", optarg);
			opt.split_ns = v;
			break;
		}
		case 'M':
			opt.run_mode[MODE_FRESH] = strstr(optarg, "fresh") != NULL;
			opt.run_mode[MODE_KEEPALIVE] = strstr(optarg, "keepalive") != NULL;
			if (!opt.run_mode[MODE_FRESH] && !opt.run_mode[MODE_KEEPALIVE])
				die("--modes: fresh, keepalive or both");
			break;
		case 'j':
			opt.json_file = optarg;
			break;
		case 'g':
			opt.svg_file = optarg;
			break;
		case 'c':
			opt.csv_file = optarg;
			break;
		case 'l':
			opt.label = optarg;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	parse_url(argv[optind]);

	/* Open outputs first: a typo in a path should fail before the run. */
	_cleanup_fclose_ FILE *json = open_out(opt.json_file);
	_cleanup_fclose_ FILE *svg = open_out(opt.svg_file);
	_cleanup_fclose_ FILE *csv = open_out(opt.csv_file);

	/* Workers get no signals: SIGINT/SIGTERM only set the flag in main. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct worker workers[MODE_COUNT] = { 0 };
	size_t nworkers = 0;
	struct summary *s = calloc(1, sizeof(*s));
	if (!s)
		die("out of memory");
	s->run_start = real_ns();
	int64_t mono_start = mono_ns();
	for (int m = 0; m < MODE_COUNT; m++) {
		if (!opt.run_mode[m])
			continue;
		struct worker *w = &workers[nworkers++];
		w->mode = (enum mode) m;
		int err = pthread_create(&w->thread, NULL, m == MODE_FRESH ? fresh_worker : keepalive_worker, w);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	int64_t last_progress = mono_start;
	bool ready = opt.ready_file == NULL;
	while (!stopping()) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * NS_PER_MS };
		nanosleep(&ts, NULL);
		int64_t now = mono_ns();
		if (now - mono_start >= opt.duration_ns)
			atomic_store(&stop_flag, 1);
		if (opt.stop_file && access(opt.stop_file, F_OK) == 0)
			atomic_store(&stop_flag, 1);
		if (!ready) {
			ready = true;
			for (size_t i = 0; i < nworkers; i++)
				ready = ready && atomic_load(&workers[i].answered);
			if (ready) {
				int fd = open(opt.ready_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
				if (fd < 0)
					die("%s: %s", opt.ready_file, strerror(errno));
				close(fd);
			}
		}
		if (!opt.quiet && isatty(STDERR_FILENO) && now - last_progress >= NS_PER_S) {
			last_progress = now;
			fprintf(stderr, "\r%.0f s", (double) (now - mono_start) / NS_PER_S);
			for (size_t i = 0; i < nworkers; i++)
				fprintf(stderr, "  %s: %zu requests", mode_names[workers[i].mode], workers[i].n);
			fflush(stderr);
		}
	}
	for (size_t i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	s->run_end = real_ns();
	if (!opt.quiet && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	for (size_t i = 0; i < nworkers; i++)
		if (workers[i].overflow)
			fprintf(stderr, "ferry-loadclient: %s: %d records reached, stopped early\n",
				mode_names[workers[i].mode], MAX_RECORDS);

	if (opt.marks_file)
		s->nmarks = read_marks(opt.marks_file, s->marks, MAX_MARKS);
	s->all = (struct window){ INT64_MIN, INT64_MAX };
	if (opt.split_ns) {
		s->have_split = true;
		s->before = (struct window){ INT64_MIN, opt.split_ns };
		s->after = (struct window){ opt.split_ns, INT64_MAX };
	} else if (s->nmarks) {
		int64_t first = INT64_MAX, last = INT64_MIN;
		for (size_t i = 0; i < s->nmarks; i++) {
			if (s->marks[i].start_ns < first)
				first = s->marks[i].start_ns;
			if (s->marks[i].end_ns > last)
				last = s->marks[i].end_ns;
		}
		s->have_split = true;
		s->before = (struct window){ INT64_MIN, first };
		s->after = (struct window){ last, INT64_MAX };
	}
	for (size_t i = 0; i < nworkers; i++) {
		s->gap[workers[i].mode] = service_gap(&workers[i], s->run_start, s->run_end);
		for (size_t j = 0; j < workers[i].n; j++)
			if (workers[i].reqs[j].outcome == OUT_OK)
				host_index(&s->hosts, workers[i].reqs[j].host);
	}

	write_json(json ? json : stdout, workers, nworkers, s);
	if (svg)
		write_svg(svg, workers, nworkers, s);
	if (csv)
		write_csv(csv, workers, nworkers);
	if (json)
		close_out(steal_file(&json), opt.json_file);
	if (svg)
		close_out(steal_file(&svg), opt.svg_file);
	if (csv)
		close_out(steal_file(&csv), opt.csv_file);
	if (fflush(stdout) != 0)
		die("stdout: write error");
	for (size_t i = 0; i < nworkers; i++)
		free(workers[i].reqs);
	free(s);
	return 0;
}
