/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry migrate`: the source side of a live migration.
 *
 * The commit rule.  CRIU dumps with the tree frozen and, before it kills
 * the tree, asks through its post-dump notification whether it may (CRIU's
 * own comment: "it might be a migration case").  ferry answers only after
 * the destination has restored the container and taken the service IPs:
 *
 *   freeze -> dump -> [post-dump: send images, RESTORE, COMMIT] -> kill
 *
 * Any failure before COMMITTED arrives answers "no": CRIU then unlocks the
 * network and lets go of the tree, ferry thaws it and puts the IPs back, so
 * the container runs on where it was.  The destination discards what it
 * made when the session ends without COMMIT.  Once COMMITTED is in, the
 * container is the destination's.  If the link fails between sending
 * COMMIT and reading COMMITTED nobody can know which side has it: ferry
 * then leaves the source frozen (paused), never running twice, and says so.
 *
 * ferry freezes the cgroup itself before CRIU starts: CRIU then finds it
 * frozen (no 100 ms FREEZING retry loop), keeps it frozen on a rollback so
 * that the decision to thaw stays ferry's, and kills it on success.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup.h"
#include "checkpoint.h"
#include "config.h"
#include "container.h"
#include "container_internal.h"
#include "criu.h"
#include "criu_rpc.h"
#include "criu_stats.h"
#include "hostcheck.h"
#include "log.h"
#include "migrate.h"
#include "migrate_internal.h"
#include "tmpfs_carry.h"
#include "migrate_guard.h"
#include "netmove.h"
#include "relay.h"
#include "state.h"
#include "transfer.h"
#include "util.h"
#include "wire.h"

#undef LOG_PREFIX
#define LOG_PREFIX "migrate: "

#define DEFAULT_WORK_DIR "/run/ferry-migrate"

/*
 * SIGTERM, SIGINT and SIGHUP roll back in order: until COMMIT is sent the
 * handler shuts the connections down, so whatever waits on them fails
 * and the usual rollback runs (CRIU is answered "no" or sees its pages
 * stream break, the tree is thawed, the IPs come back, the destination
 * sees the session end without COMMIT).  After COMMIT the migration is
 * finished instead: stopping half-way there is what would lose it.
 * Signal flags and the fds they act on are this file's only globals.
 */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t commit_sent;
static volatile int stop_fds[2] = { -1, -1 };

static void
on_stop_signal(int sig)
{
	stop_signal = sig;
	if (commit_sent)
		return;
	for (int i = 0; i < 2; i++)
		if (stop_fds[i] >= 0)
			shutdown(stop_fds[i], SHUT_RDWR);
}

static int
check_stop(ferry_error_t *err)
{
	if (stop_signal && !commit_sent)
		return ferry_error_set(err, EINTR, "interrupted by %s", strsignal(stop_signal));
	return 0;
}

/* From here the destination may own the container. */
static void
mark_commit(struct mig *m)
{
	commit_sent = 1;
	ferry_guard_note(m->guard, m->mode == FERRY_MIGRATE_LAZY ? FERRY_GUARD_HANDOFF : FERRY_GUARD_COMMIT, 0);
}

static double
ms_since(const struct mig *m, double t)
{
	return (t - m->t0) * 1000.0;
}

const char *
ferry_migrate_mode_name(enum ferry_migrate_mode mode)
{
	switch (mode) {
	case FERRY_MIGRATE_AUTO:
		return "auto";
	case FERRY_MIGRATE_LAZY:
		return "lazy";
	case FERRY_MIGRATE_STOP_COPY:
		return "stop-copy";
	case FERRY_MIGRATE_SHARED:
		return "shared";
	case FERRY_MIGRATE_PRE_COPY:
		return "pre-copy";
	}
	return "?";
}

int
ferry_migrate_mode_parse(const char *s, enum ferry_migrate_mode *out, ferry_error_t *err)
{
	for (int i = FERRY_MIGRATE_AUTO; i <= FERRY_MIGRATE_PRE_COPY; i++)
		if (strcmp(s, ferry_migrate_mode_name((enum ferry_migrate_mode) i)) == 0) {
			*out = (enum ferry_migrate_mode) i;
			return 0;
		}
	return ferry_error_set(err, EINVAL, "--mode %s: not one of auto, lazy, stop-copy, shared, pre-copy", s);
}

#if FERRY_FAULT_INJECTION
static volatile sig_atomic_t fault_resumed;

static void
on_fault_resume(int sig)
{
	(void) sig;
	fault_resumed = 1;
}

/* POINT:stall: says so on stderr (tests wait for the line, then kill
 * something at exactly this point) and sleeps until a signal comes:
 * SIGUSR1 goes on as if nothing happened; SIGTERM and friends run their
 * handler, and then go on too (which then fails). */
static void
fault_stall(const char *point)
{
	struct sigaction sa = { .sa_handler = on_fault_resume }, old;

	sigaction(SIGUSR1, &sa, &old);
	fprintf(stderr, "ferry: fault: stalled at %s (pid %d)\n", point, (int) getpid());
	fflush(stderr);
	for (int i = 0; i < 600 && !fault_resumed; i++) {
		struct timespec ts = { .tv_sec = 1 };
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			break;
	}
	sigaction(SIGUSR1, &old, NULL);
	fault_resumed = 0;
	pr_warn("fault: going on from %s", point);
}
#endif

bool
ferry_fault(const char *point)
{
#if FERRY_FAULT_INJECTION
	const char *f = getenv("FERRY_FAULT");
	size_t n = strlen(point);

	if (f == NULL || strncmp(f, point, n) != 0)
		return false;
	if (f[n] == '\0') {
		pr_warn("fault injected at %s", point);
		return true;
	}
	if (strcmp(f + n, ":stall") == 0)
		fault_stall(point);
#else
	(void) point;
#endif
	return false;
}

#define FAULT(point, err) \
	(ferry_fault(point) ? ferry_error_set(err, EIO, "fault injected at %s", point) : 0)

/* ---------------------------------------------------------------- events */

static void
event(struct mig *m, const char *kind, json_t *fields)
{
	if (m->o->json) {
		json_t *e = fields ? fields : json_object();
		json_object_set_new(e, "event", json_string(kind));
		json_object_set_new(e, "t_ms", json_real(ms_since(m, ferry_now_s())));
		char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s) {
			printf("%s\n", s);
			fflush(stdout);
			free(s);
		}
		json_decref(e);
		return;
	}
	json_decref(fields);
}

static void
phase_begin(struct mig *m, const char *name)
{
	if (m->n_phases < MAX_PHASES) {
		m->phases[m->n_phases].name = name;
		m->phases[m->n_phases].start = ferry_now_s();
		m->phases[m->n_phases].end = 0;
		m->n_phases++;
	}
	event(m, "phase-start", json_pack("{s:s}", "phase", name));
	if (m->o->progress && !m->o->json) {
		fprintf(stderr, "\r\033[K%-10s ...", name);
		fflush(stderr);
	}
}

static void
phase_end(struct mig *m)
{
	struct phase *p;

	if (m->n_phases == 0)
		return;
	p = &m->phases[m->n_phases - 1];
	if (p->end != 0)
		return;
	p->end = ferry_now_s();
	event(m, "phase-end", json_pack("{s:s, s:f}", "phase", p->name, "ms", (p->end - p->start) * 1000.0));
}

static void
progress(uint64_t done, uint64_t total, void *data)
{
	struct mig *m = data;
	static double last;
	double t = ferry_now_s();

	if (!m->o->progress || m->o->json || (t - last < 0.1 && done < total))
		return;
	last = t;
	fprintf(stderr, "\r\033[K%-10s %6.1f / %.1f MiB", m->n_phases ? m->phases[m->n_phases - 1].name : "",
		(double) done / 1048576.0, (double) total / 1048576.0);
	fflush(stderr);
}

/* ---------------------------------------------------------------- network */

static int
split_host_port(const char *to, char *host, size_t hl, char *port, size_t pl, ferry_error_t *err)
{
	const char *colon;

	if (to == NULL || *to == '\0')
		return ferry_error_set(err, EINVAL, "--to: missing (HOST[:PORT])");
	if (to[0] == '[') {
		const char *end = strchr(to, ']');
		if (end == NULL || (size_t) (end - to - 1) >= hl)
			return ferry_error_set(err, EINVAL, "--to %s: bad [IPv6]:PORT", to);
		snprintf(host, hl, "%.*s", (int) (end - to - 1), to + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return ferry_error_set(err, EINVAL, "--to %s: bad [IPv6]:PORT", to);
	} else {
		colon = strrchr(to, ':');
		if (colon && strchr(to, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		if ((size_t) (colon ? colon - to : (ptrdiff_t) strlen(to)) >= hl)
			return ferry_error_set(err, EINVAL, "--to %s: host name too long", to);
		snprintf(host, hl, "%.*s", (int) (colon ? colon - to : (ptrdiff_t) strlen(to)), to);
	}
	if (colon) {
		uint64_t p;
		if (ferry_parse_u64(colon + 1, &p) < 0 || p == 0 || p > 65535)
			return ferry_error_set(err, EINVAL, "--to %s: bad port \"%s\"", to, colon + 1);
		snprintf(port, pl, "%" PRIu64, p);
	} else {
		snprintf(port, pl, "%d", FERRY_MIGRATE_PORT);
	}
	if (*host == '\0')
		return ferry_error_set(err, EINVAL, "--to %s: no host", to);
	return 0;
}

/* A TCP connection with a bounded connect, then the preamble of kind. */
static int
dial(struct mig *m, enum ferry_conn_kind kind, ferry_error_t *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	uint8_t pre[FERRY_WIRE_PREAMBLE_LEN];
	int rc, fd = -1, last_errno = 0;

	rc = getaddrinfo(m->host, m->port, &hints, &res);
	if (rc != 0)
		return ferry_error_set(err, EHOSTUNREACH, "%s: %s", m->host, gai_strerror(rc));
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_errno = errno;
			close(fd);
			fd = -1;
			continue;
		}
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, m->timeout_ms) <= 0) {
			last_errno = ETIMEDOUT;
			close(fd);
			fd = -1;
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			last_errno = soerr;
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = last_errno ? last_errno : ECONNREFUSED;
		return ferry_error_sys(err, "connect to %s port %s", m->host, m->port);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	{
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	ferry_wire_preamble_encode(pre, kind);
	if (ferry_write_all(fd, pre, sizeof(pre)) < 0 ||
	    (kind == FERRY_CONN_PAGES && ferry_write_all(fd, m->token, sizeof(m->token)) < 0)) {
		ferry_error_sys(err, "%s: send preamble", m->host);
		close(fd);
		return -1;
	}
	return fd;
}

static int
hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char) b;
	}
	return 0;
}

static json_t *
local_features(void)
{
	return json_pack("{s:b, s:b, s:b}", "lazy_pages", ferry_host_has_userfaultfd(), "mem_track",
			 ferry_host_has_soft_dirty(), "pipe_max_ok", ferry_host_raise_pipe_max_size() == 0);
}

/* ---------------------------------------------------------------- phases */

static int
connect_and_hello(struct mig *m, json_t **dest_features, ferry_error_t *err)
{
	char self[256] = "?";
	json_t *hello, *ok = NULL;
	const char *token = NULL, *name = NULL;
	int fd, ret;

	fd = dial(m, FERRY_CONN_CONTROL, err);
	if (fd < 0)
		return -1;
	if (ferry_tls_client(fd, m->creds, m->host, m->timeout_ms, &m->t, err) < 0)
		return ferry_error_prefix(err, "%s", m->host);
	gethostname(self, sizeof(self) - 1);
	hello = json_pack("{s:i, s:s, s:o}", "version", FERRY_WIRE_VERSION, "host", self, "features",
			  local_features());
	ret = ferry_wire_send_json(m->t, FERRY_MSG_HELLO, hello, err);
	json_decref(hello);
	if (ret < 0 || ferry_wire_expect(m->t, FERRY_MSG_HELLO_OK, "destination", &ok, err) < 0)
		return -1;
	if (ferry_wire_get_str(ok, "token", true, &token, err) < 0 ||
	    hex_decode(token, m->token, sizeof(m->token)) < 0) {
		json_decref(ok);
		return ferry_error_set(err, EPROTO, "destination: HELLO_OK without a valid session token");
	}
	if (ferry_wire_get_str(ok, "host", false, &name, err) == 0 && name)
		snprintf(m->dest_name, sizeof(m->dest_name), "%s", name);
	*dest_features = json_incref(json_object_get(ok, "features"));
	json_decref(ok);
	return 0;
}

static bool
feature(json_t *f, const char *k)
{
	return json_is_true(json_object_get(f, k));
}

/*
 * Below this much private memory auto streams it while frozen (stop-copy)
 * rather than serve it lazily.  Measured here (testbed, 2 runs each):
 * stop-copy's downtime was 59-69 ms with 0.3 MiB, 104-118 with 16, 144-150
 * with 38.5, 263-278 with 96 (about 64 ms + 2.1 ms/MiB through the TLS
 * relay); lazy's 81-98 ms whatever the size.  They meet near 10 MiB.
 */
#define AUTO_STOP_COPY_MAX_MIB 8
#define AUTO_STOP_COPY_MAX_BYTES ((int64_t) AUTO_STOP_COPY_MAX_MIB << 20)

/* The anonymous memory of the container's tasks (smaps_rollup), what a
 * dump copies; -1 when it cannot be read.  Pages shared after a fork
 * count once per task: an overestimate, which errs towards lazy. */
static int64_t
private_bytes(const struct mig *m)
{
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_free_ pid_t *pids = NULL;
	pid_t one;
	size_t n = 0;
	int64_t total = 0;

	if (m->st->cgroup_path == NULL || ferry_cgroup_open(m->st->cgroup_path, &cg, &e) < 0 ||
	    ferry_cgroup_pids(cg, &pids, &n, &e) < 0 || n == 0) {
		one = m->st->pid;
		free(steal_pointer(&pids));
		pids = xmalloc0(sizeof(*pids));
		pids[0] = one;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64], line[128];
		long long kb;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int) pids[i]);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		if (f == NULL)
			return -1;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Anonymous: %lld kB", &kb) == 1)
				total += kb * 1024;
	}
	return total;
}

static int
choose_mode(struct mig *m, json_t *dest, ferry_error_t *err)
{
	json_t *src = local_features();
	bool lazy_src = feature(src, "lazy_pages") && feature(src, "pipe_max_ok");
	bool lazy_dst = feature(dest, "lazy_pages") && feature(dest, "pipe_max_ok");
	bool track = feature(src, "mem_track") && feature(dest, "mem_track");
	int64_t priv = -1;
	int ret = 0;

	switch (m->o->mode) {
	case FERRY_MIGRATE_AUTO:
		if (m->o->shared_dir) {
			m->mode = FERRY_MIGRATE_SHARED;
			snprintf(m->mode_why, sizeof(m->mode_why), "--shared-dir given: images go through %s",
				 m->o->shared_dir);
		} else if (lazy_src && lazy_dst && (priv = private_bytes(m)) >= 0 && priv < AUTO_STOP_COPY_MAX_BYTES) {
			m->mode = FERRY_MIGRATE_STOP_COPY;
			snprintf(m->mode_why, sizeof(m->mode_why),
				 "%.1f MiB of private memory: streamed while frozen it costs less downtime than "
				 "lazy pages' set-up (lazy from %d MiB)",
				 (double) priv / 1048576.0, AUTO_STOP_COPY_MAX_MIB);
		} else if (lazy_src && lazy_dst) {
			m->mode = FERRY_MIGRATE_LAZY;
			if (priv >= 0)
				snprintf(m->mode_why, sizeof(m->mode_why),
					 "%.1f MiB of private memory and userfaultfd on both hosts: memory follows "
					 "after the restore, so the freeze does not grow with it",
					 (double) priv / 1048576.0);
			else
				snprintf(m->mode_why, sizeof(m->mode_why),
					 "userfaultfd works on both hosts: memory follows after the restore, so the "
					 "freeze does not grow with memory size");
		} else {
			m->mode = FERRY_MIGRATE_STOP_COPY;
			snprintf(m->mode_why, sizeof(m->mode_why), "no lazy pages on the %s (%s)",
				 lazy_src ? "destination" : "source",
				 feature(lazy_src ? dest : src, "lazy_pages") ? "fs.pipe-max-size below 4 MiB"
									     : "no userfaultfd");
		}
		break;
	case FERRY_MIGRATE_LAZY:
		if (!lazy_src || !lazy_dst) {
			ret = ferry_error_set(err, ENOTSUP,
					      "--mode lazy: the %s cannot serve lazy pages (needs userfaultfd and "
					      "fs.pipe-max-size >= 4 MiB; `ferry check` there says which)",
					      lazy_src ? "destination" : "source");
			break;
		}
		m->mode = FERRY_MIGRATE_LAZY;
		snprintf(m->mode_why, sizeof(m->mode_why), "asked for");
		break;
	case FERRY_MIGRATE_PRE_COPY:
		if (!track) {
			ret = ferry_error_set(err, ENOTSUP,
					      "--mode pre-copy: the %s has no soft-dirty memory tracking, so "
					      "CRIU cannot pre-dump; use lazy or stop-copy",
					      feature(src, "mem_track") ? "destination" : "source");
			break;
		}
		ret = ferry_error_set(err, ENOTSUP,
				      "--mode pre-copy: not implemented yet (no host here has soft-dirty tracking "
				      "to test it on)");
		break;
	case FERRY_MIGRATE_SHARED:
		if (m->o->shared_dir == NULL) {
			ret = ferry_error_set(err, EINVAL, "--mode shared needs --shared-dir");
			break;
		}
		m->mode = FERRY_MIGRATE_SHARED;
		snprintf(m->mode_why, sizeof(m->mode_why), "asked for");
		break;
	case FERRY_MIGRATE_STOP_COPY:
		m->mode = FERRY_MIGRATE_STOP_COPY;
		snprintf(m->mode_why, sizeof(m->mode_why), "asked for");
		break;
	}
	json_decref(src);
	return ret;
}

static char *
b64(const unsigned char *p, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc0(4 * ((n + 2) / 3) + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	return out;
}

static int
preflight(struct mig *m, ferry_error_t *err)
{
	_cleanup_close_ int cpu_fd = -1;
	_cleanup_free_ char *cpu = NULL, *cpu64 = NULL;
	_cleanup_free_ char *cpu_dir = xasprintf("%s/cpuinfo", m->work);
	struct ferry_criu_opts copts = FERRY_CRIU_OPTS_INIT;
	size_t cpu_len = 0;
	json_t *req, *ok = NULL;
	const char *plan = NULL;
	int ret;

	/* CPU compatibility: CRIU's own check of this CPU's features against
	 * the destination's (xsave layout, instruction set). */
	if (ferry_mkdir_p(cpu_dir, 0700, err) < 0)
		return -1;
	cpu_fd = open(cpu_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cpu_fd < 0)
		return ferry_error_sys(err, "%s", cpu_dir);
	copts.criu_path = m->criu;
	copts.images_dir_fd = cpu_fd;
	copts.log_file = "cpuinfo-dump.log";
	if (ferry_criu_rpc(FERRY_CRIU_CPUINFO_DUMP, &copts, NULL, err) < 0)
		return ferry_error_prefix(err, "cpuinfo dump");
	if (ferry_read_file_at(cpu_fd, "cpuinfo.img", 1 << 20, &cpu, &cpu_len, err) < 0)
		return -1;
	cpu64 = b64((unsigned char *) cpu, cpu_len);

	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s, s:b}", "id", m->o->id, "config", m->spec->raw, "rootfs",
			m->st->rootfs, "bundle", m->st->bundle, "mode", ferry_migrate_mode_name(m->mode), "shared_dir",
			m->o->shared_dir, "cpuinfo", cpu64, "tcp_established", m->tcp_established);
	if (req == NULL)
		return ferry_error_set(err, ENOMEM, "preflight request");
	ret = ferry_wire_send_json(m->t, FERRY_MSG_PREFLIGHT, req, err);
	json_decref(req);
	if (ret < 0 || ferry_wire_expect(m->t, FERRY_MSG_PREFLIGHT_OK, "destination", &ok, err) < 0)
		return -1;
	ferry_wire_get_str(ok, "rootfs", false, &plan, err);
	event(m, "preflight", json_pack("{s:s, s:s, s:s}", "mode", ferry_migrate_mode_name(m->mode), "why",
					m->mode_why, "rootfs", plan ? plan : "?"));
	json_decref(ok);
	return FAULT("src-preflight", err);
}

static int
presync(struct mig *m, ferry_error_t *err)
{
	if (m->mode == FERRY_MIGRATE_SHARED)
		return 0;
	if (ferry_transfer_send_tree(m->t, m->rootfs_fd, "rootfs", false, NULL, progress, m, &m->presync, err) < 0)
		return -1;
	event(m, "presync", json_pack("{s:I, s:I, s:I}", "files", (json_int_t) m->presync.files, "bytes",
				      (json_int_t) m->presync.bytes, "tree_bytes", (json_int_t) m->presync.total_bytes));
	return FAULT("src-presync", err);
}

/*
 * Lazy mode cannot wait for RESTORED here: CRIU's restore itself touches
 * lazy pages (the restorer builds each task's signal frame on its stack),
 * and this dump serves them only after we answer.  So the answer is yes
 * once the destination has the images, RESTORE and COMMIT; from then on
 * a failure of the restore or of the transfer makes CRIU's page server
 * fail, CRIU resumes the tree here, and ferry takes the IPs back (the
 * container runs on here, but its established connections stay locked
 * by CRIU: they are lost).
 */
static int
lazy_handoff(struct mig *m, ferry_error_t *err)
{
	json_t *req, *ips;
	int ret;

	if ((ips = mig_release_ips(m, err)) == NULL)
		return -1;
	req = json_pack("{s:b, s:o}", "tcp_established", m->tcp_established, "ips", ips);
	m->restore_sent = true;
	ret = ferry_wire_send_json(m->t, FERRY_MSG_RESTORE, req, err);
	json_decref(req);
	if (ret < 0)
		return -1;
	if (FAULT("src-commit", err) < 0 || check_stop(err) < 0)
		return -1;
	mark_commit(m);
	req = json_object();
	ret = ferry_wire_send_json(m->t, FERRY_MSG_COMMIT, req, err);
	json_decref(req);
	if (ret < 0)
		return -1;
	ferry_fault("src-commit-sent");
	m->handed_off = true;
	m->t_handoff = ferry_now_s();
	phase_begin(m, "post-copy");
	return 0;
}

/* The commit window: CRIU has the tree frozen and dumped and waits for
 * our answer. */
static int
post_dump(struct mig *m, ferry_error_t *err)
{
	json_t *req, *ok = NULL;
	int64_t v = 0;
	int ret;

	/* The tmpfs contents CRIU left to us, while the tree is frozen. */
	if (ferry_tmpfs_carry_dump(m->images_fd, m->st->pid, err) < 0)
		return -1;
	phase_end(m); /* dump */
	if (FAULT("src-dump", err) < 0)
		return -1;

	if (m->mode != FERRY_MIGRATE_SHARED) {
		phase_begin(m, "images");
		if (ferry_transfer_send_tree(m->t, m->images_fd, "images", true, NULL, progress, m, &m->images, err) < 0)
			return -1;
		if (m->sync_rootfs &&
		    ferry_transfer_send_tree(m->t, m->rootfs_fd, "rootfs", true, NULL, progress, m, &m->final_sync, err) < 0)
			return -1;
		phase_end(m);
		if (FAULT("src-images", err) < 0)
			return -1;
	}

	if (m->mode == FERRY_MIGRATE_LAZY)
		return lazy_handoff(m, err);

	/* The restored sockets bind to the service addresses, so they move
	 * first: gone from here (peers' packets now die quietly: the address
	 * is not ours, and CRIU's lock drops the rest), added there without
	 * an announcement; COMMIT announces them once the sockets exist. */
	phase_begin(m, "restore");
	{
		json_t *ips = mig_release_ips(m, err);
		if (ips == NULL)
			return -1;
		req = json_pack("{s:b, s:o}", "tcp_established", m->tcp_established, "ips", ips);
	}
	m->restore_sent = true;
	ret = ferry_wire_send_json(m->t, FERRY_MSG_RESTORE, req, err);
	json_decref(req);
	/* A restore of a big tree takes a while; its own bound. */
	ferry_tls_set_timeout(m->t, m->timeout_ms * 4);
	if (ret < 0 || ferry_wire_expect(m->t, FERRY_MSG_RESTORED, "destination", &ok, err) < 0)
		return -1;
	ferry_tls_set_timeout(m->t, m->timeout_ms);
	ferry_wire_get_int(ok, "restore_ms", false, 0, INT64_MAX, &m->restore_ms, err);
	ferry_wire_get_int(ok, "held", false, 0, INT64_MAX, &m->held_packets, err);
	json_decref(ok);
	phase_end(m);
	if (FAULT("src-restore", err) < 0)
		return -1;

	/* Network: the restored sockets exist now, so the destination can
	 * take the address without answering the peers with RSTs. */
	phase_begin(m, "network");
	if (FAULT("src-commit", err) < 0 || check_stop(err) < 0)
		return -1;
	mark_commit(m);
	req = json_object();
	ret = ferry_wire_send_json(m->t, FERRY_MSG_COMMIT, req, err);
	json_decref(req);
	if (ret < 0)
		return -1;
	ferry_fault("src-commit-sent");
	/* From here the outcome is not ours alone to know. */
	ret = ferry_wire_expect(m->t, FERRY_MSG_COMMITTED, "destination", &ok, err);
	if (ret < 0) {
		/* -2: the destination answered that it failed, so it did not
		 * commit; anything else leaves us not knowing. */
		if (ret == -1)
			m->uncertain = true;
		return -1;
	}
	ferry_wire_get_int(ok, "ip_ms", false, 0, INT64_MAX, &v, err);
	m->ip_ms = v;
	json_decref(ok);
	m->committed = true;
	m->t_committed = ferry_now_s();
	phase_end(m);
	event(m, "committed", json_pack("{s:f}", "downtime_ms", (m->t_committed - m->t_freeze) * 1000.0));
	return 0;
}

/*
 * Downtime starts here, at CRIU's pre-dump notification: CRIU has started
 * and answers nothing before it freezes.  ferry freezes the cgroup itself
 * (a tight poll, not CRIU's 100 ms FREEZING retry step); CRIU then finds it
 * frozen, keeps it so on a rollback (thawing is then ours to decide) and
 * kills it on success.  If this fails, CRIU freezes it.
 */
/*
 * The addresses go to the destination just before the freeze (nethold.h):
 * it holds their packets, adds and announces them; then they go from
 * here once the container is frozen.  From the announcement on, a
 * client's packet waits there for the restore instead of being dropped
 * here, which would cost it a retransmission (a SYN: 1 s).  Until the
 * freeze the container still runs here and its answers still go out (the
 * address is still here: taken down before, an answer would stay in its
 * socket until the restored copy's retransmission timer, 200 ms on).
 */
static int
hand_over_ips(struct mig *m, ferry_error_t *err)
{
	json_t *ips = json_array(), *req, *ok = NULL;
	int ret;

	for (size_t i = 0; i < m->o->n_ips; i++) {
		char buf[128];
		json_array_append_new(ips, json_string(ferry_ipaddr_format(&m->o->ips[i], buf, sizeof(buf))));
	}
	req = json_pack("{s:o}", "ips", ips);
	{
		uint64_t mask = 0;
		for (size_t i = 0; i < m->o->n_ips && i < 64; i++)
			mask |= UINT64_C(1) << i;
		ferry_guard_note(m->guard, FERRY_GUARD_HELD, mask);
		m->ips_moved |= mask; /* announced there: here again on a rollback */
	}
	ret = ferry_wire_send_json(m->t, FERRY_MSG_HOLD, req, err);
	json_decref(req);
	/* From here the destination may have announced them: a rollback
	 * announces them here again once its session has ended. */
	m->held = true;
	if (ret < 0 || ferry_wire_expect(m->t, FERRY_MSG_HOLDING, "destination", &ok, err) < 0)
		return -1;
	ferry_wire_get_int(ok, "ms", false, 0, INT64_MAX, &m->hold_ms, err);
	json_decref(ok);
	return FAULT("src-hold", err);
}

static int
freeze_first(struct mig *m, ferry_error_t *err)
{
	m->t_freeze = ferry_now_s();
	if (m->can_hold && !m->held) {
		/* No gate then: the addresses are not here any more. */
		if (hand_over_ips(m, err) < 0)
			return -1;
	} else if (!m->gated) {
		mig_gate_new_conns(m, true);
		m->t_freeze = ferry_now_s();
	}
	if (!m->was_paused && m->cg && !m->froze) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		/* Told before the freeze: a guardian that thaws a cgroup
		 * nobody froze does no harm, one that misses a freeze does. */
		ferry_guard_note(m->guard, FERRY_GUARD_FROZE, 0);
		if (ferry_cgroup_freeze(m->cg, true, &e) == 0)
			m->froze = true;
		else if (m->own_lock)
			return ferry_error_set(err, e.errno_, "cannot freeze the container to lock its network: %s",
					       e.msg);
		else
			pr_warn("cannot freeze first (%s); CRIU freezes it", e.msg);
	}
	if (m->held) {
		/* Frozen: nothing goes out any more.  A straggler still sent
		 * here (a SYN on its way before the announcement) finds no
		 * address, as the gate would have dropped it, rather than a
		 * frozen listener whose kernel would complete its handshake:
		 * at once, before the lock. */
		json_t *ips = mig_release_ips(m, err);
		if (ips == NULL)
			return -1;
		json_decref(ips);
	}
	if (m->own_lock && mig_lock_network(m, err) < 0)
		return -1;
	return 0;
}

static int
on_notify(const char *script, pid_t pid, int *fd, void *data, ferry_error_t *err)
{
	struct mig *m = data;

	(void) pid;
	(void) fd;
	if (strcmp(script, "pre-dump") == 0)
		return freeze_first(m, err);
	if (strcmp(script, "post-dump") != 0)
		return 0;
	if (post_dump(m, err) == 0)
		return 0;
	/* Rollback (or, uncertain, hold): CRIU resumes the tree unless we
	 * answer yes; the cgroup stays frozen because we froze it. */
	if (!m->uncertain) {
		_cleanup_free_ char *why = ferry_error_string(err);
		json_t *a = json_pack("{s:s}", "reason", why);
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		ferry_wire_send_json(m->t, FERRY_MSG_ABORT, a, &e);
		json_decref(a);
		mig_restore_ips(m);
	}
	/* In lazy mode CRIU goes on to serve pages even after a "no": the
	 * relay then connects and hangs up, so that it fails at once and
	 * resumes the tree. */
	ferry_relay_abort_poke(m->relay);
	return -1;
}

struct tune_data {
	struct mig *m;
};

static int
criu_spawned(pid_t pid, void *data, ferry_error_t *err)
{
	struct mig *m = data;
	ferry_guard_note(m->guard, FERRY_GUARD_CRIU, (uint64_t) pid);
	/* CRIU has its copy of the pages socket now.  Ours must go: CRIU
	 * closes its own once the pages are written (before its post-dump
	 * notification), and only then does the relay see the end and send
	 * TLS's goodbye, which the destination waits for before it restores.
	 * Kept open, that wait ran into its 3 s bound. */
	(void) err;
	if (m->ps_fd >= 0) {
		close(m->ps_fd);
		m->ps_fd = -1;
	}
	return 0;
}

static void
tune_dump(struct ferry_criu_opts *c, void *data)
{
	struct mig *m = data;

	/* The freeze waits for CRIU's pre-dump notification (freeze_first):
	 * CRIU's start (exec, kernel feature probes) is not downtime. */
	c->notify_scripts = true;
	c->notify = on_notify;
	c->notify_data = m;
	c->spawned = criu_spawned;
	c->spawned_data = m;
	/* Connections may be mid-handshake while frozen: their peers retry
	 * the SYN and reach the restored listener. */
	c->tcp_skip_in_flight = true;
	/* Info, not debug: at debug CRIU writes a log line per page-pipe
	 * step (4,900 lines, a write() each, for 1 GiB), all while frozen;
	 * 3 took 10-15 ms off a 1 GiB lazy dump (docs/benchmarks.md, session
	 * 9). Errors and the steps are still there; FERRY_CRIU_LOG_LEVEL=4
	 * brings the rest back. */
	c->log_level = 3;
	if (m->own_lock)
		c->network_lock = FERRY_CRIU_NETLOCK_SKIP;
	if (m->mode == FERRY_MIGRATE_SHARED)
		return;
	c->lazy_pages = m->mode == FERRY_MIGRATE_LAZY;
	if (c->lazy_pages) {
		/* A lazy dump serves from a port of its own (it ignores a
		 * given socket): loopback only, the relay carries it. */
		c->ps_address = "127.0.0.1";
		c->ps_port = m->ps_port;
	} else {
		c->ps_fd = m->ps_fd;
	}
}

static int
dump(struct mig *m, ferry_error_t *err)
{
	struct ferry_checkpoint_opts co = { 0 };
	_cleanup_free_ char *images = NULL, *work = xasprintf("%s/work", m->work);
	json_t *req, *ok = NULL;
	int ret;

	if (m->mode == FERRY_MIGRATE_SHARED) {
		char stamp[32];
		snprintf(stamp, sizeof(stamp), "%ld", (long) time(NULL));
		images = xasprintf("%s/%s-%s", m->o->shared_dir, m->o->id, stamp);
	} else {
		images = xasprintf("%s/images", m->work);
	}
	if (ferry_mkdir_p(images, 0700, err) < 0 || ferry_mkdir_p(work, 0700, err) < 0)
		return -1;
	if (!m->o->preflight_only) {
		/* Before the relay's threads exist (the guardian goes on with the
		 * library after fork) and before anything it would undo. */
		struct ferry_guard_info gi = { .id = m->o->id, .work = m->work, .st = m->st, .ips = m->o->ips,
					       .n_ips = m->o->n_ips, .lazy = m->mode == FERRY_MIGRATE_LAZY };
		if (ferry_guard_start(m->ctx, &gi, &m->guard, err) < 0)
			return -1;
	}
	m->images_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->images_fd < 0)
		return ferry_error_sys(err, "%s", images);

	phase_begin(m, "prepare");
	req = json_pack("{s:s, s:s}", "mode", ferry_migrate_mode_name(m->mode), "images", images);
	ret = ferry_wire_send_json(m->t, FERRY_MSG_DUMP, req, err);
	json_decref(req);
	if (ret < 0)
		return -1;
	if (m->mode != FERRY_MIGRATE_SHARED) {
		ferry_tls_t *pt = NULL;
		int fd = dial(m, FERRY_CONN_PAGES, err), pair[2];
		if (fd < 0 || ferry_tls_client(fd, m->creds, m->host, m->timeout_ms, &pt, err) < 0)
			return ferry_error_prefix(err, "pages connection");
		stop_fds[1] = fd;
		if (stop_signal)
			shutdown(fd, SHUT_RDWR);
		if (m->mode == FERRY_MIGRATE_LAZY) {
			if (ferry_loopback_free_port(&m->ps_port, err) < 0 ||
			    ferry_relay_start(pt, -1, m->ps_port, false, &m->relay, err) < 0) {
				ferry_tls_close(pt);
				return -1;
			}
		} else {
			/* A UNIX pair, not TCP: CRIU corks its page-server socket
			 * and does not uncork it for its last command, so on TCP
			 * the last pages and the close waited for the cork's
			 * 200 ms timer with the tree frozen (TCP_CORK fails here,
			 * CRIU warns and goes on). */
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
				ferry_tls_close(pt);
				return ferry_error_sys(err, "socketpair");
			}
			m->ps_fd = pair[0];
			if (ferry_relay_start(pt, pair[1], 0, false, &m->relay, err) < 0) {
				close(pair[1]);
				ferry_tls_close(pt);
				return -1;
			}
		}
	}
	if (ferry_wire_expect(m->t, FERRY_MSG_DUMP_READY, "destination", &ok, err) < 0)
		return -1;
	json_decref(ok);
	phase_end(m);
	if (m->o->preflight_only)
		return 0;

	phase_begin(m, "dump");
	if (m->st->cgroup_path && !m->was_paused) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_cgroup_open(m->st->cgroup_path, &m->cg, &e) < 0)
			pr_warn("%s; CRIU freezes it", e.msg);
	}
	co.id = m->o->id;
	co.image_path = images;
	co.work_path = work;
	co.tcp_established = m->tcp_established;
	co.tcp_skip_in_flight = true;
	/* ferry's lock where it can lock everything: moved addresses, the
	 * host's network (a netns of its own CRIU locks inside it), the
	 * cgroup to find the tree's sockets, both restore tools. */
	m->own_lock = m->tcp_established && m->o->n_ips > 0 && m->cg != NULL &&
		      !ferry_spec_has_ns(m->spec, CLONE_NEWNET) && ferry_net_lock_available(AF_INET) &&
		      ferry_net_lock_available(AF_INET6);
	/* The destination makes the cgroup from the config (CRIU restores
	 * with cgroups ignored): dumping this host's cgroup tree and values
	 * would only lengthen the freeze. */
	if (m->own_lock) {
		/* its exec before the freeze; the rules at the freeze */
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_net_lock_prep_start(m->o->ips[0].family, &m->lock_prep, &e) < 0)
			pr_debug("%s; the lock starts its tool when frozen", e.msg);
	}
	co.manage_cgroups_mode = FERRY_CRIU_CG_IGNORE;
	co.masked_dirs_external = true;
	co.carry_tmpfs = true;
	co.cgroup2_external = true;
	co.tune = tune_dump;
	co.tune_data = m;
	ret = ferry_container_checkpoint(m->ctx, &co, err);
	ferry_net_lock_prep_cancel(&m->lock_prep); /* unused if CRIU failed before the freeze */
	/* CRIU is done with the pages socket: the relay ends with it. */
	if (m->ps_fd >= 0) {
		close(m->ps_fd);
		m->ps_fd = -1;
	}
	if (ret < 0)
		ferry_relay_abort(m->relay);
	{
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_relay_join(m->relay, NULL, &m->page_bytes, &e) < 0 && ret == 0)
			pr_warn("%s", e.msg);
		m->relay = NULL;
		stop_fds[1] = -1; /* closed with the relay */
	}
	if (ret == 0) {
		_cleanup_close_ int wfd = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (wfd >= 0)
			ferry_criu_read_stats(wfd, true, &m->dump_stats, &e);
		if (m->dump_stats.frozen_time == 0 && ferry_criu_read_stats(m->images_fd, true, &m->dump_stats, &e) < 0)
			pr_debug("no dump stats: %s", e.msg);
	}
	return ret;
}

/* CRIU's frozen time is meaningless when it neither froze nor thawed
 * (ferry froze it, the lazy dump ends by killing: the start it subtracts
 * was never taken): only a value shorter than the whole run is shown. */
static bool
criu_frozen_plausible(const struct mig *m)
{
	return m->dump_stats.frozen_time && m->dump_stats.frozen_time / 1e6 < m->t_end - m->t0;
}

/* Pages moved: CRIU's count, except in lazy mode, where CRIU's stats-dump
 * says nothing useful and the destination's lazy-pages daemon counts. */
static uint64_t
moved_pages(const struct mig *m)
{
	if (m->mode == FERRY_MIGRATE_LAZY && m->postcopy_pages > 0)
		return (uint64_t) m->postcopy_pages;
	return m->dump_stats.pages_written + m->dump_stats.pages_lazy;
}

static void
report_text(struct mig *m, int ok, const ferry_error_t *err)
{
	FILE *out = stdout;
	double downtime = m->committed ? (m->t_committed - m->t_freeze) * 1000.0 : 0;
	uint64_t pages = moved_pages(m);

	if (m->o->progress)
		fprintf(stderr, "\r\033[K");
	fprintf(out, "migration of %s to %s (%s): %s\n", m->o->id, m->dest_name[0] ? m->dest_name : m->host,
		m->host, ok == 0 ? "done" : "FAILED");
	if (m->mode_why[0])
		fprintf(out, "  mode          %s (%s)\n", ferry_migrate_mode_name(m->mode), m->mode_why);
	else /* it failed before a mode was chosen */
		fprintf(out, "  mode          %s (not chosen yet)\n", ferry_migrate_mode_name(m->mode));
	for (size_t i = 0; i < m->n_phases; i++) {
		const struct phase *p = &m->phases[i];
		fprintf(out, "  %-13s %8.1f ms\n", p->name, ((p->end ? p->end : m->t_end) - p->start) * 1000.0);
	}
	if (m->committed)
		fprintf(out, "  downtime      %8.1f ms (freeze to the destination owning the container and its IPs)\n",
			downtime);
	if (criu_frozen_plausible(m))
		fprintf(out, "  criu          freezing %.1f ms, frozen %.1f ms, memdump %.1f ms, memwrite %.1f ms\n",
			m->dump_stats.freezing_time / 1000.0, m->dump_stats.frozen_time / 1000.0,
			m->dump_stats.memdump_time / 1000.0, m->dump_stats.memwrite_time / 1000.0);
	fprintf(out, "  sent          rootfs %" PRIu64 " B in %" PRIu64 " files (of %" PRIu64 " B), images %" PRIu64
		     " B, final sync %" PRIu64 " B\n",
		m->presync.bytes, m->presync.files, m->presync.total_bytes, m->images.bytes, m->final_sync.bytes);
	fprintf(out, "  memory        %" PRIu64 " pages (%.1f MiB)%s, %.1f MiB over the pages connection\n", pages,
		(double) pages * 4096 / 1048576.0, m->mode == FERRY_MIGRATE_LAZY ? " served lazily" : "",
		(double) m->page_bytes / 1048576.0);
	if (m->held)
		fprintf(out, "  addresses     handed over before the freeze (%" PRId64 " ms): %" PRId64
			     " packet(s) waited for the restore on the destination\n",
			m->hold_ms, m->held_packets);
	if (m->restore_ms)
		fprintf(out, "  restore       %" PRId64 " ms on the destination\n", m->restore_ms);
	if (m->mode == FERRY_MIGRATE_LAZY && m->committed)
		fprintf(out, "  post-copy     %" PRId64 " ms until the last page\n", m->postcopy_ms);
	if (ok != 0 && err && err->msg)
		fprintf(out, "  error         %s\n", err->msg);
	fflush(out);
}

static void
report(struct mig *m, int ok, const ferry_error_t *err)
{
	json_t *ph, *r;

	if (!m->o->json) {
		report_text(m, ok, err);
		return;
	}
	ph = json_array();
	for (size_t i = 0; i < m->n_phases; i++) {
		const struct phase *p = &m->phases[i];
		json_array_append_new(ph, json_pack("{s:s, s:f}", "phase", p->name, "ms",
						    ((p->end ? p->end : m->t_end) - p->start) * 1000.0));
	}
	r = json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "result",
		      ok == 0 ? "ok" : (m->uncertain ? "uncertain" : "rolled-back"), "id", m->o->id, "mode",
		      ferry_migrate_mode_name(m->mode), "why", m->mode_why, "phases", ph, "downtime_ms",
		      m->committed ? (m->t_committed - m->t_freeze) * 1000.0 : 0.0, "frozen_criu_us",
		      criu_frozen_plausible(m) ? json_integer((json_int_t) m->dump_stats.frozen_time) : json_null(),
		      "rootfs_bytes", (json_int_t) m->presync.bytes,
		      "images_bytes", (json_int_t) m->images.bytes, "final_sync_bytes", (json_int_t) m->final_sync.bytes,
		      "pages", (json_int_t) moved_pages(m), "page_bytes", (json_int_t) m->page_bytes, "restore_ms",
		      (json_int_t) m->restore_ms, "postcopy_ms", (json_int_t) m->postcopy_ms, "ip_ms",
		      (json_int_t) m->ip_ms, "committed", m->committed);
	json_object_set_new(r, "hold_ms", m->held ? json_integer((json_int_t) m->hold_ms) : json_null());
	json_object_set_new(r, "held_packets", m->held ? json_integer((json_int_t) m->held_packets) : json_null());
	if (ok != 0 && err && err->msg)
		json_object_set_new(r, "error", json_string(err->msg));
	event(m, "result", r);
}

/* After a commit: what the source still owes. */
static void
finish_source(struct mig *m)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	/* CRIU's network lock leaves DROP rules for the moved connections in
	 * a netns it does not own (the host's): only a restore here would
	 * lift them, and the next container with that address needs them
	 * gone. */
	for (size_t i = 0; i < m->o->n_ips; i++) {
		int n = ferry_net_criu_unlock_leftovers(&m->o->ips[i], &e);
		if (n < 0) {
			pr_warn("%s", e.msg);
			ferry_error_clear(&e);
		}
	}
	m->gated = false;
	if (m->own_lock)
		mig_unlock_network(m);
	/* A bundle `ferry serve` made when the container arrived here goes
	 * with it. */
	ferry_remove_owned_bundle(m->st->bundle);
}

int
ferry_migrate(const ferry_ctx_t *ctx, const struct ferry_migrate_opts *o, ferry_error_t *err)
{
	struct mig mm = { .ctx = ctx, .o = o, .ps_fd = -1, .images_fd = -1, .rootfs_fd = -1,
			  .lock_prep = FERRY_NET_LOCK_PREP_INIT };
	static const int stop_sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction old_sa[3];
	struct mig *m = &mm;
	struct ferry_container_dir d;
	bool dir_open = false;
	json_t *dest_features = NULL;
	enum ferry_status s;
	int ret = -1;

	m->t0 = ferry_now_s();
	/* A destination that hangs up must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	m->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	if (!ferry_id_valid(o->id))
		return ferry_error_set(err, EINVAL, "invalid container id \"%s\"", o->id ? o->id : "");
	if (o->n_ips > 64)
		return ferry_error_set(err, EINVAL, "--move-ip: at most 64 addresses");
	if (split_host_port(o->to, m->host, sizeof(m->host), m->port, sizeof(m->port), err) < 0)
		return -1;
	if (o->mode == FERRY_MIGRATE_SHARED && o->shared_dir == NULL)
		return ferry_error_set(err, EINVAL, "--mode shared needs --shared-dir");
	if (o->shared_dir && o->shared_dir[0] != '/')
		return ferry_error_set(err, EINVAL, "--shared-dir %s: must be an absolute path", o->shared_dir);
	if (ferry_tls_creds_load(&o->tls, &m->creds, err) < 0)
		return -1;

	stop_signal = 0;
	commit_sent = 0;
	{
		/* SA_RESTART: CRIU's RPC and the file transfers go on; it is the
		 * shut-down connections that make them fail. */
		struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < 3; i++)
			sigaction(stop_sigs[i], &sa, &old_sa[i]);
	}
	phase_begin(m, "preflight");
	if (ferry_container_dir_open(ctx, o->id, &d, err) < 0)
		goto out;
	dir_open = true;
	if (ferry_container_load(&d, &m->st, &m->spec, err) < 0)
		goto out;
	s = ferry_state_status(&d, m->st);
	/* The lock is not ours to hold through the dump: checkpoint takes it. */
	ferry_container_dir_close(&d);
	dir_open = false;
	if (s != FERRY_STATUS_RUNNING && s != FERRY_STATUS_PAUSED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s, not running", o->id, ferry_status_name(s));
		goto out;
	}
	m->was_paused = s == FERRY_STATUS_PAUSED;
	/* Before anything is sent: a process CRIU would leave behind. */
	if (m->st->cgroup_path) {
		_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

		if (ferry_cgroup_open(m->st->cgroup_path, &cg, &e) == 0 &&
		    ferry_container_check_tree(cg, m->st->pid, err) < 0)
			goto out;
	}
	if (ferry_criu_require(ctx, &m->criu, &(struct ferry_criu_version){ 0 }, err) < 0)
		goto out;
	/* On unless told otherwise: it costs nothing without connections, and
	 * with the host's network the netns' table cannot tell the
	 * container's connections from anyone else's. */
	m->tcp_established = o->tcp_established != 0;
	m->rootfs_fd = open(m->st->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->rootfs_fd < 0) {
		ferry_error_sys(err, "rootfs %s", m->st->rootfs);
		goto out;
	}
	{
		char stamp[64];
		snprintf(stamp, sizeof(stamp), "%s-%ld-%d", o->id, (long) time(NULL), (int) getpid());
		m->work = xasprintf("%s/%s", o->work_dir ? o->work_dir : DEFAULT_WORK_DIR, stamp);
		if (ferry_mkdir_p(m->work, 0700, err) < 0)
			goto out;
	}
	if (connect_and_hello(m, &dest_features, err) < 0)
		goto out;
	stop_fds[0] = ferry_tls_fd(m->t);
	if (stop_signal)
		shutdown(stop_fds[0], SHUT_RDWR);
	if (choose_mode(m, dest_features, err) < 0)
		goto out;
	/* FERRY_NO_HOLD=1: the addresses move at the commit, their packets
	 * dropped here meanwhile (comparisons; ferry(8)). */
	{
		const char *no = getenv("FERRY_NO_HOLD");
		m->can_hold = o->n_ips > 0 && feature(dest_features, "hold") && !(no && *no && strcmp(no, "0") != 0);
	}
	m->sync_rootfs = m->mode != FERRY_MIGRATE_SHARED && !m->spec->root_readonly;
	if (preflight(m, err) < 0)
		goto out;
	phase_end(m);

	phase_begin(m, "presync");
	if (presync(m, err) < 0)
		goto out;
	phase_end(m);

	if (dump(m, err) < 0) {
		if (m->committed && m->mode != FERRY_MIGRATE_LAZY) {
			/* COMMITTED came, then CRIU could not be told "yes" (it
			 * died): the destination owns the container whatever
			 * CRIU did, so the copy here goes, as after a dump. */
			_cleanup_free_ char *why = ferry_error_string(err);
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			pr_warn("after the commit: %s; removing the copy here", why);
			if (ferry_container_delete(ctx, o->id, true, &e) < 0)
				pr_warn("%s", e.msg);
			ferry_error_clear(err);
			goto bye;
		}
		/* CRIU has let go of the tree: thaw it unless nobody can say
		 * where the container lives now. */
		if (m->froze && !m->uncertain) {
			/* The cgroup as it was frozen (`ferry resume` goes by
			 * cgroup.events, which a task CRIU left in a ptrace stop
			 * can keep from saying frozen). */
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			if (ferry_cgroup_freeze(m->cg, false, &e) < 0)
				pr_warn("rollback: %s", e.msg);
		}
		mig_restore_ips(m);
		if (m->own_lock)
			mig_unlock_network(m);
		else if (m->gated)
			mig_gate_new_conns(m, false);
		if (m->handed_off) {
			/* CRIU resumed the tree but left its connections locked. */
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			for (size_t i = 0; i < o->n_ips; i++)
				if (ferry_net_criu_unlock_leftovers(&o->ips[i], &e) < 0)
					ferry_error_clear(&e);
			/* Why: what the destination said is waiting on the control
			 * connection (CRIU only saw the pages connection break). */
			ferry_tls_set_timeout(m->t, 2000);
			if (ferry_wire_expect(m->t, FERRY_MSG_RESTORED, "destination", NULL, &e) == -2) {
				ferry_error_clear(err);
				ferry_error_set(err, 0, "%s", e.msg);
			}
			ferry_error_prefix(err, "the lazy restore failed on the destination; \"%s\" runs on here "
						"(its established TCP connections were lost)",
					   o->id);
		} else if (m->uncertain)
			ferry_error_prefix(err, "the destination may or may not have committed; \"%s\" stays paused "
						"here: check `ferry list` on %s, then `ferry delete -f %s` or `ferry "
						"resume %s` here",
					   o->id, m->host, o->id, o->id);
		else if (m->committed)
			ferry_error_prefix(err, "post-copy failed after the commit; the destination kills its copy "
						"and \"%s\" runs on here",
					   o->id);
		else if (m->t_freeze != 0)
			ferry_error_prefix(err, "rolled back, \"%s\" runs on here", o->id);
		if ((m->restore_sent || m->held) && !m->uncertain && m->ips_moved)
			mig_announce_again(m);
		goto out;
	}
	if (o->preflight_only) {
		json_t *a = json_pack("{s:s}", "reason", "preflight only");
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		ferry_wire_send_json(m->t, FERRY_MSG_ABORT, a, &e);
		json_decref(a);
		if (!o->json)
			printf("preflight of %s to %s: ok (mode %s: %s)\n", o->id, m->host, ferry_migrate_mode_name(m->mode),
			       m->mode_why);
		ret = 0;
		goto out_quiet;
	}
	if (m->mode == FERRY_MIGRATE_LAZY) {
		json_t *pc = NULL;
		bool pc_ok = false;
		int64_t v = 0;
		/* CRIU returned: every page was served.  What the destination
		 * said meanwhile is waiting on the control connection. */
		if (ferry_wire_expect(m->t, FERRY_MSG_RESTORED, "destination", &pc, err) < 0)
			goto committed_out;
		ferry_wire_get_int(pc, "restore_ms", false, 0, INT64_MAX, &m->restore_ms, err);
		ferry_wire_get_int(pc, "held", false, 0, INT64_MAX, &m->held_packets, err);
		json_decref(pc);
		if (ferry_wire_expect(m->t, FERRY_MSG_COMMITTED, "destination", &pc, err) < 0)
			goto committed_out;
		ferry_wire_get_int(pc, "ip_ms", false, 0, INT64_MAX, &v, err);
		m->ip_ms = v;
		json_decref(pc);
		m->committed = true;
		/* Both clocks are not ours to compare: the service was back
		 * after the freeze, the hand-off, the restore and the IP move. */
		m->t_committed = m->t_handoff + (double) (m->restore_ms + m->ip_ms) / 1000.0;
		if (ferry_wire_expect(m->t, FERRY_MSG_POSTCOPY_DONE, "destination", &pc, err) < 0)
			goto committed_out;
		ferry_wire_get_int(pc, "ms", false, 0, INT64_MAX, &m->postcopy_ms, err);
		ferry_wire_get_int(pc, "pages", false, 0, INT64_MAX, &m->postcopy_pages, err);
		ferry_wire_get_bool(pc, "ok", &pc_ok, err);
		json_decref(pc);
		phase_end(m);
		if (!pc_ok) {
			ferry_error_set(err, EIO, "post-copy failed on the destination");
			goto committed_out;
		}
	}
bye:
	{
		json_t *bye = json_object();
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		ferry_wire_send_json(m->t, FERRY_MSG_BYE, bye, &e);
		json_decref(bye);
	}
	finish_source(m);
	ret = 0;
	goto out;
committed_out:
	/* The container was committed to the destination: the source copy
	 * is gone whatever happens next; report what we know. */
	finish_source(m);
out:
	m->t_end = ferry_now_s();
	phase_end(m);
	if (ret < 0 && stop_signal && err->errno_ != EINTR)
		ferry_error_prefix(err, "interrupted by %s", strsignal(stop_signal));
	report(m, ret, err);
out_quiet:
	if (dir_open)
		ferry_container_dir_close(&d);
	if (m->work && !getenv("FERRY_KEEP_WORK")) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_free_ char *parent = xstrdup(m->work);
		char *slash = strrchr(parent, '/');
		_cleanup_close_ int pfd = -1;
		if (slash) {
			*slash = '\0';
			pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
			/* Logs of a failed migration stay (their path is in the
			 * error); its images are memory (tmpfs) and go. */
			if (pfd >= 0 && ret == 0) {
				ferry_rm_rf_at(pfd, slash + 1, &e);
			} else if (pfd >= 0) {
				_cleanup_close_ int wfd = openat(pfd, slash + 1, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (wfd >= 0 && m->mode != FERRY_MIGRATE_SHARED)
					ferry_rm_rf_at(wfd, "images", &e);
			}
		}
	}
	if (m->images_fd >= 0)
		close(m->images_fd);
	if (m->rootfs_fd >= 0)
		close(m->rootfs_fd);
	if (m->ps_fd >= 0)
		close(m->ps_fd);
	if (m->relay) {
		ferry_relay_abort(m->relay);
		ferry_relay_join(m->relay, NULL, NULL, &(ferry_error_t) FERRY_ERROR_INIT);
	}
	json_decref(dest_features);
	/* Whatever had to be undone or finished is: the guardian goes. */
	ferry_guard_stop(m->guard);
	stop_fds[0] = stop_fds[1] = -1;
	for (size_t i = 0; i < 3; i++)
		sigaction(stop_sigs[i], &old_sa[i], NULL);
	ferry_tls_close(m->t);
	ferry_tls_creds_free(m->creds);
	ferry_cgroup_free(m->cg);
	ferry_state_free(m->st);
	ferry_spec_free(m->spec);
	free(m->extra);
	free(m->criu);
	free(m->work);
	return ret < 0 ? ferry_error_prefix(err, "migrate %s to %s", o->id, m->host) : 0;
}
