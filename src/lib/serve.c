/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry serve`: the destination side of a live migration, one session.
 *
 * The listener (serve_listen.c) forks one process per connection; a pages
 * connection is handed (SCM_RIGHTS) to its session through a unix socket
 * in the session's 0700 directory.  A control connection becomes a session of two
 * processes (serve_ps.h): a network process that drops to nobody in an
 * empty chroot before the TLS handshake and reads everything the peer
 * sends, and this monitor, root, which does only what the closed set of
 * typed requests asks: check a preflight, open the files of a transfer,
 * run CRIU (page server or lazy-pages daemon, then the restore), take the
 * service IPs on COMMIT.
 *
 * The CRIU helper processes (page server, lazy-pages daemon) and the
 * watch over the daemon during a lazy restore are in serve_criu.c; what
 * both files share, struct sess first, in serve_internal.h.
 *
 * Until COMMIT the session owns nothing it cannot undo: a failure, ABORT,
 * or the source going away makes it kill what it restored, drop the IPs it
 * added and remove what it created.  After COMMITTED the container is this
 * host's, whatever happens to the connection.
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
#include <sched.h>
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
#include "serve_internal.h"
#include "serve_ps.h"
#include "spec.h"
#include "state.h"
#include "transfer.h"
#include "util.h"
#include "wire.h"

#undef LOG_PREFIX
#define LOG_PREFIX "serve: "


/* ---------------------------------------------------------------- helpers */

/* Answers the network process. */
static int
answer(struct sess *s, struct ferry_ps_msg *m, const int *fds, size_t nfds, ferry_error_t *err)
{
	return ferry_ps_send(s->sock, m, fds, nfds, err);
}

static void
close_announcers(struct sess *s)
{
	for (size_t i = 0; i < s->n_ann; i++)
		ferry_net_announcer_close(&s->ann[i]);
	s->n_ann = 0;
}

static int
answer_simple(struct sess *s, uint32_t type, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };

	ferry_ps_init(&m, type);
	return answer(s, &m, NULL, 0, err);
}

/* Tells the network process to act on the pages connection; it answers
 * at once (it is waiting for our answer to its request, or draining). */
int
net_ctl(struct sess *s, uint32_t type, int fd, const uint32_t *arg, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ char *why = NULL;
	int r;

	if (s->sock < 0)
		return ferry_error_set(err, EPIPE, "the network process is gone");
	ferry_ps_init(&m, type);
	if (arg)
		ferry_ps_put_u32(&m, *arg);
	if (ferry_ps_send(s->sock, &m, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, err) < 0)
		return -1;
	ferry_ps_free(&m);
	r = ferry_ps_recv(s->sock, &m, err);
	if (r != 0)
		return r < 0 ? -1 : ferry_error_set(err, EPIPE, "the network process is gone");
	if (m.type == SPS_CTL_DONE && ferry_ps_done(&m))
		return 0;
	if (m.type == SPS_CTL_FAILED && (why = ferry_ps_get_str(&m)) != NULL && ferry_ps_done(&m))
		return ferry_error_set(err, EIO, "%s", why);
	return ferry_error_set(err, EPROTO, "the network process answered %u to a pages command", m.type);
}

/* Ends the pages relay in the network process: with TLS's goodbye after
 * CRIU finished (true when the stream ended well; why says otherwise),
 * or cut (finish false; a pages connection not relayed yet is cut too: its
 * goodbye would tell a lazy dump, once that serves, that every page was
 * served). */
bool
relay_end(struct sess *s, bool finish, ferry_error_t *why)
{
	uint32_t ok = finish;

	if (finish && !s->relay_on)
		return true;
	if (!finish && !s->relay_on && !s->pages_ready)
		return true;
	s->relay_on = false;
	s->pages_ready = false;
	if (net_ctl(s, finish ? SPS_CTL_RELAY_FINISH : SPS_CTL_RELAY_ABORT, -1, finish ? &ok : NULL, why) < 0)
		return false;
	return true;
}

/* Receives the pages connection the listener hands over. */
static int
accept_pages(struct sess *s, ferry_error_t *err)
{
	struct pollfd p = { .fd = s->pages_listen, .events = POLLIN };
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	_cleanup_close_ int conn = -1;

	if (poll(&p, 1, s->timeout_ms) <= 0)
		return ferry_error_set(err, ETIMEDOUT, "the source opened no pages connection");
	conn = accept4(s->pages_listen, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return ferry_error_sys(err, "accept pages connection");
	if (recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) != 1)
		return ferry_error_sys(err, "receive pages connection");
	c = CMSG_FIRSTHDR(&mh);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return ferry_error_set(err, EPROTO, "no socket with the pages connection");
	{
		_cleanup_close_ int fd = -1;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		/* The network process does the TLS handshake (mutual, too). */
		if (net_ctl(s, SPS_CTL_PAGES, fd, NULL, err) < 0)
			return -1;
	}
	s->pages_ready = true;
	return 0;
}

/* ---------------------------------------------------------------- rollback */

static void
clear_uncommitted(struct sess *s)
{
	_cleanup_close_ int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, "uncommitted", 0);
		unlinkat(dfd, "bundle-made", 0);
	}
}

static void
rollback(struct sess *s, const char *why)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	pr_warn("session %s: rolling back%s%s", s->id ? s->id : s->who, why ? ": " : "", why ? why : "");
	close_announcers(s);
	/* The pages connection first, and without TLS's goodbye: the source's
	 * CRIU must see a broken stream, not a finished one (a lazy dump
	 * would take that for "all served" and kill the source tree). */
	relay_end(s, false, &e);
	ferry_error_clear(&e);
	stop_criu(s);
	/* A restore staged and never run: its helper, cgroup, mounts and
	 * state directory. */
	ferry_restore_staged_free(s->staged);
	s->staged = NULL;
	/* What waited for the copy is dropped (its senders retransmit, and
	 * reach the source once it has its addresses back). */
	ferry_hold_drop(&s->hold);
	/* The addresses before the copy: its restored TCP sockets, closed
	 * when it dies, must not reach the peers (a RST would end the very
	 * connections the source resumes); without a local address the
	 * kernel finds no route for them. */
	for (size_t i = 0; i < s->n_ips; i++) {
		if (!s->ip_added[i])
			continue;
		if (ferry_net_addr_del(&s->ips[i], NULL, &e) < 0) {
			pr_warn("rollback: %s", e.msg);
			ferry_error_clear(&e);
		}
		s->ip_added[i] = false;
	}
	if (s->restored || (s->dir && s->id)) {
		_cleanup_close_ int dfd = s->dir ? open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		/* Also a restore that failed half-way may have left state. */
		if ((s->restored || (dfd >= 0 && faccessat(dfd, "uncommitted", F_OK, 0) == 0)) &&
		    ferry_container_delete(s->ctx, s->id, true, &e) < 0) {
			pr_warn("rollback: %s", e.msg);
			ferry_error_clear(&e);
		}
		if (dfd >= 0)
			unlinkat(dfd, "uncommitted", 0);
		s->restored = false;
	}
	if (s->bundle_made && s->bundle) {
		_cleanup_close_ int root = open(s->o->bundle_root ? s->o->bundle_root : DEFAULT_BUNDLE_ROOT,
						O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0 && ferry_rm_rf_at(root, s->id, &e) < 0)
			pr_warn("rollback: %s", e.msg);
		s->bundle_made = false;
	}
	clear_uncommitted(s);
}

/* ---------------------------------------------------------------- steps */

static int
do_hello(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ char *subject = ferry_ps_get_str(req);
	char self[256] = "?";
	struct ferry_criu_version cv = { 0 };
	_cleanup_free_ char *cvs = NULL;
	uint32_t feat = 0;

	if (!ferry_ps_done(req) || subject == NULL)
		return ferry_error_set(err, EPROTO, "HELLO: malformed");
	free(s->who);
	s->who = xasprintf("%s (%s)", s->peer, subject);
	if (ferry_criu_require(s->ctx, &s->criu, &cv, err) < 0)
		return -1;
	cvs = xasprintf("%d.%d.%d", cv.major, cv.minor, cv.sublevel);
	gethostname(self, sizeof(self) - 1);
	if (ferry_host_has_userfaultfd())
		feat |= SPS_FEATURE_LAZY;
	if (ferry_host_has_soft_dirty())
		feat |= SPS_FEATURE_MEM_TRACK;
	if (ferry_host_raise_pipe_max_size() == 0)
		feat |= SPS_FEATURE_PIPE_MAX_OK;
	if (ferry_hold_available())
		feat |= SPS_FEATURE_HOLD;
	ferry_ps_init(&m, SPS_HELLO_OK);
	ferry_ps_put_str(&m, self);
	ferry_ps_put_str(&m, cvs);
	ferry_ps_put_u32(&m, feat);
	ferry_ps_put_str(&m, s->tokenhex);
	return answer(s, &m, NULL, 0, err);
}

static bool
container_exists(struct sess *s, const char *id)
{
	struct ferry_container_dir d;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (ferry_container_dir_open(s->ctx, id, &d, &e) < 0)
		return false;
	ferry_container_dir_close(&d);
	return true;
}

static int
check_cpu(struct sess *s, const void *img, size_t len, ferry_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/cpuinfo", s->dir);
	_cleanup_close_ int fd = -1;
	struct ferry_criu_opts copts = FERRY_CRIU_OPTS_INIT;

	if (len == 0 || len > (1 << 20))
		return ferry_error_set(err, EPROTO, "cpuinfo: %zu bytes", len);
	if (ferry_mkdir_p(dir, 0700, err) < 0)
		return -1;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_sys(err, "%s", dir);
	if (ferry_write_file_atomic_at(fd, "cpuinfo.img", img, len, 0600, err) < 0)
		return -1;
	copts.criu_path = s->criu;
	copts.images_dir_fd = fd;
	copts.log_file = "cpuinfo-check.log";
	if (ferry_criu_rpc(FERRY_CRIU_CPUINFO_CHECK, &copts, NULL, err) < 0)
		return ferry_error_prefix(err, "this CPU cannot run what the source's CPU ran");
	return 0;
}

static int
do_preflight(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	_cleanup_free_ char *id = NULL, *config = NULL, *rootfs = NULL, *bundle = NULL, *shared = NULL;
	const void *cpu;
	size_t cpu_len;
	uint32_t mode;
	const char *plan;
	bool tcp;
	struct stat sb;

	if (s->id)
		return ferry_error_set(err, EPROTO, "PREFLIGHT twice");
	id = ferry_ps_get_str(req);
	mode = ferry_ps_get_u32(req);
	tcp = ferry_ps_get_u32(req) != 0;
	config = ferry_ps_get_str(req);
	rootfs = ferry_ps_get_str(req);
	bundle = ferry_ps_get_str(req);
	shared = ferry_ps_get_str(req);
	cpu = ferry_ps_get_bytes(req, &cpu_len);
	if (!ferry_ps_done(req) || !id || !config || !rootfs || !bundle || !cpu)
		return ferry_error_set(err, EPROTO, "PREFLIGHT: malformed");
	if (!ferry_id_valid(id))
		return ferry_error_set(err, EINVAL, "invalid container id \"%s\"", id);
	if (mode != FERRY_MIGRATE_LAZY && mode != FERRY_MIGRATE_STOP_COPY && mode != FERRY_MIGRATE_SHARED)
		return ferry_error_set(err, EPROTO, "PREFLIGHT: mode %u cannot be asked of a destination", mode);
	s->id = xstrdup(id);
	s->mode = (enum ferry_migrate_mode) mode;
	s->tcp_established = tcp;
	if (container_exists(s, id))
		return ferry_error_set(err, EEXIST, "a container \"%s\" already exists here", id);
	if (ferry_spec_parse(config, strlen(config), "config.json (from the source)", &s->spec, err) < 0)
		return -1;
	s->config = json_loads(config, 0, NULL);
	if (s->config == NULL)
		return ferry_error_set(err, EPROTO, "config.json: not JSON");
	/* Bind mounts are this host's: their sources must be here. */
	for (size_t i = 0; i < s->spec->n_mounts; i++) {
		const struct ferry_mount *mt = &s->spec->mounts[i];
		if (!mt->bind)
			continue;
		if (mt->source == NULL || mt->source[0] != '/')
			return ferry_error_set(err, EINVAL,
					       "bind mount %s: source \"%s\" is relative to the source's bundle; "
					       "migration needs absolute bind sources",
					       mt->destination, mt->source ? mt->source : "");
		if (stat(mt->source, &sb) < 0)
			return ferry_error_sys(err, "bind mount %s: source %s is missing on this host", mt->destination,
					       mt->source);
	}
	if (s->mode == FERRY_MIGRATE_LAZY && !(ferry_host_has_userfaultfd() && ferry_host_raise_pipe_max_size() == 0))
		return ferry_error_set(err, ENOTSUP,
				       "lazy pages do not work on this host (userfaultfd, or fs.pipe-max-size < 4 MiB "
				       "and not raisable: sysctl -w fs.pipe-max-size=4194304)");
	if (rootfs[0] != '/' || bundle[0] != '/')
		return ferry_error_set(err, EINVAL, "the source's rootfs and bundle must be absolute paths");
	if (check_cpu(s, cpu, cpu_len, err) < 0)
		return -1;
	s->src_rootfs = xstrdup(rootfs);
	s->src_bundle = xstrdup(bundle);
	if (s->mode == FERRY_MIGRATE_SHARED) {
		if (shared == NULL || shared[0] != '/')
			return ferry_error_set(err, EINVAL, "shared mode without an absolute shared directory");
		if (stat(shared, &sb) < 0 || !S_ISDIR(sb.st_mode))
			return ferry_error_sys(err, "shared directory %s is not visible on this host", shared);
		if (stat(rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode))
			return ferry_error_sys(err, "shared mode: the rootfs %s is not visible on this host", rootfs);
		{
			_cleanup_free_ char *cfg = xasprintf("%s/config.json", bundle);
			if (stat(cfg, &sb) < 0)
				return ferry_error_sys(err, "shared mode: the bundle's %s is not visible on this host", cfg);
		}
		s->shared_dir = xstrdup(shared);
		s->bundle = xstrdup(bundle);
		s->rootfs = xstrdup(rootfs);
		plan = "shared";
	} else {
		/* A read-only rootfs already here with the same content is used
		 * where it is: decided when its manifest arrives. */
		plan = s->spec->root_readonly && stat(rootfs, &sb) == 0 && S_ISDIR(sb.st_mode) ? "in-place-if-same"
											      : "copy";
	}
	if (ferry_fault("dst-preflight"))
		return ferry_error_set(err, EIO, "fault injected at dst-preflight");
	ferry_ps_init(&m, SPS_PREFLIGHT_OK);
	ferry_ps_put_str(&m, plan);
	return answer(s, &m, NULL, 0, err);
}

/* The bundle directory this host keeps for a received container. */
static int
make_bundle(struct sess *s, ferry_error_t *err)
{
	const char *root = s->o->bundle_root ? s->o->bundle_root : DEFAULT_BUNDLE_ROOT;
	_cleanup_free_ char *mark = NULL;
	struct stat sb;

	if (s->bundle)
		return 0;
	s->bundle = xasprintf("%s/%s", root, s->id);
	if (s->rootfs == NULL)
		s->rootfs = xasprintf("%s/rootfs", s->bundle);
	mark = xasprintf("%s/" OWNED_MARK, s->bundle);
	if (ferry_mkdir_p(root, 0700, err) < 0)
		return -1;
	if (mkdir(s->bundle, 0700) < 0) {
		/* One left by an earlier visit of this container is ours to
		 * reuse: only what changed is sent again. */
		if (errno != EEXIST || stat(mark, &sb) < 0)
			return ferry_error_sys(err, "bundle %s", s->bundle);
	} else {
		_cleanup_close_ int bfd = open(s->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		s->bundle_made = true;
		if (bfd < 0 || ferry_write_file_atomic_at(bfd, OWNED_MARK, "", 0, 0600, err) < 0)
			return bfd < 0 ? ferry_error_sys(err, "%s", s->bundle) : -1;
		/* For the listener, should this session die: the bundle is
		 * its to remove (serve_recover). */
		if (dfd < 0 || ferry_write_file_atomic_at(dfd, "bundle-made", s->bundle, strlen(s->bundle), 0600, err) < 0)
			return dfd < 0 ? ferry_error_sys(err, "%s", s->dir) : -1;
	}
	if (!s->in_place && mkdir(s->rootfs, 0755) < 0 && errno != EEXIST)
		return ferry_error_sys(err, "%s", s->rootfs);
	return 0;
}

static void
xfer_reset(struct sess *s)
{
	if (s->x.fd >= 0)
		close(s->x.fd);
	ferry_xfer_manifest_free(&s->x.m);
	free(s->x.need);
	free(s->x.wanted);
	memset(&s->x, 0, sizeof(s->x));
	s->x.fd = -1;
	s->x.dirfd = -1;
}

/* Where a tree goes, and which of its files to ask for (none: noop). */
static int
xfer_plan(struct sess *s, uint32_t tree, bool final, bool *prune, ferry_error_t *err)
{
	if (tree == SPS_TREE_IMAGES) {
		if (s->images == NULL || s->mode == FERRY_MIGRATE_SHARED)
			return ferry_error_set(err, EPROTO, "images before DUMP");
		if (s->images_fd < 0) {
			s->images_fd = open(s->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (s->images_fd < 0)
				return ferry_error_sys(err, "%s", s->images);
		}
		s->x.dirfd = s->images_fd;
		/* No prune: the page server already wrote the memory here. */
		*prune = false;
		return 0;
	}
	if (tree != SPS_TREE_ROOTFS)
		return ferry_error_set(err, EPROTO, "MANIFEST of tree %u", tree);
	if (s->mode == FERRY_MIGRATE_SHARED)
		return ferry_error_set(err, EPROTO, "rootfs sent in shared mode");
	if (!final && !s->bundle && s->spec->root_readonly) {
		_cleanup_close_ int fd = open(s->src_rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		bool same = false;
		if (fd >= 0 && ferry_xfer_matches(fd, &s->x.m, &same, err) == 0 && same) {
			s->in_place = true;
			s->rootfs = xstrdup(s->src_rootfs);
			pr_info("%s: rootfs %s already here, not sent", s->id, s->rootfs);
			if (make_bundle(s, err) < 0)
				return -1;
			s->x.noop = true;
			return 0;
		}
		if (ferry_error_isset(err))
			pr_info("%s: rootfs %s not usable in place: %s", s->id, s->src_rootfs, err->msg);
		else
			pr_info("%s: rootfs %s differs here: copying it", s->id, s->src_rootfs);
		ferry_error_clear(err);
	}
	if (s->in_place) {
		if (!final)
			return ferry_error_set(err, EPROTO, "rootfs sent twice");
		s->x.noop = true;
		return 0;
	}
	if (make_bundle(s, err) < 0)
		return -1;
	if (s->rootfs_fd < 0) {
		s->rootfs_fd = open(s->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->rootfs_fd < 0)
			return ferry_error_sys(err, "%s", s->rootfs);
	}
	s->x.dirfd = s->rootfs_fd;
	*prune = true;
	return 0;
}

static int
do_manifest(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	uint32_t tree = ferry_ps_get_u32(req);
	bool final = ferry_ps_get_u32(req) != 0, prune = false;
	uint64_t need_bytes = 0;

	if (s->x.active)
		return ferry_error_set(err, EPROTO, "MANIFEST inside a transfer");
	if (s->id == NULL)
		return ferry_error_set(err, EPROTO, "MANIFEST before PREFLIGHT");
	xfer_reset(s);
	if (ferry_ps_get_manifest(req, &s->x.m, err) < 0)
		return -1;
	if (!ferry_ps_done(req))
		return ferry_error_set(err, EPROTO, "MANIFEST: malformed");
	if (xfer_plan(s, tree, final, &prune, err) < 0)
		return -1;
	if (!s->x.noop &&
	    ferry_xfer_prepare(s->x.dirfd, &s->x.m, prune, &s->x.need, &s->x.n_need, &need_bytes, err) < 0)
		return -1;
	s->x.wanted = xmalloc0(s->x.m.n * sizeof(*s->x.wanted));
	s->x.active = true;
	ferry_ps_init(&m, SPS_NEED);
	ferry_ps_put_u64(&m, need_bytes);
	ferry_ps_put_u32(&m, (uint32_t) s->x.n_need);
	for (size_t i = 0; i < s->x.n_need; i++) {
		s->x.wanted[s->x.need[i]] = true;
		ferry_ps_put_u32(&m, (uint32_t) s->x.need[i]);
	}
	return answer(s, &m, NULL, 0, err);
}

/* A descriptor for one asked-for file, to be written by the network
 * process; we keep ours to check and finish the file. */
static int
do_file_open(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	uint32_t idx = ferry_ps_get_u32(req);

	if (!ferry_ps_done(req) || !s->x.active || s->x.fd >= 0 || idx >= s->x.m.n || !s->x.wanted[idx])
		return ferry_error_set(err, EPROTO, "FILE_OPEN of entry %u: not asked for, or out of order", idx);
	s->x.fd = ferry_xfer_recv_open(s->x.dirfd, &s->x.m.v[idx], err);
	if (s->x.fd < 0)
		return -1;
	s->x.cur = idx;
	ferry_ps_init(&m, SPS_FD);
	return answer(s, &m, &s->x.fd, 1, err);
}

static int
do_file_done(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	uint32_t idx = ferry_ps_get_u32(req);
	uint64_t written = ferry_ps_get_u64(req);
	int r;

	if (!ferry_ps_done(req) || !s->x.active || s->x.fd < 0 || idx != s->x.cur)
		return ferry_error_set(err, EPROTO, "FILE_DONE of entry %u: not the open one", idx);
	r = ferry_xfer_recv_finish(s->x.fd, &s->x.m.v[idx], written, err);
	close(s->x.fd);
	s->x.fd = -1;
	s->x.wanted[idx] = false; /* each file once */
	return r < 0 ? -1 : answer_simple(s, SPS_OK, err);
}

static int
do_files_end(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	if (!ferry_ps_done(req) || !s->x.active || s->x.fd >= 0)
		return ferry_error_set(err, EPROTO, "FILES_END outside a transfer");
	for (size_t i = 0; i < s->x.n_need; i++)
		if (s->x.wanted[s->x.need[i]])
			return ferry_error_set(err, EPROTO, "%s: asked for, never sent", s->x.m.v[s->x.need[i]].path);
	if (!s->x.noop && ferry_xfer_finish_dirs(s->x.dirfd, &s->x.m, err) < 0)
		return -1;
	xfer_reset(s);
	return answer_simple(s, SPS_OK, err);
}

/* config.json of the bundle: the source's, with this host's rootfs. */
static int
write_config(struct sess *s, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	json_t *root;

	if (s->mode == FERRY_MIGRATE_SHARED)
		return 0; /* the bundle is the source's own, seen through the share */
	root = json_object_get(s->config, "root");
	if (!json_is_object(root))
		return ferry_error_set(err, EINVAL, "config.json: no .root");
	json_object_set_new(root, "path", json_string(s->rootfs));
	text = json_dumps(s->config, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fd = open(s->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (text == NULL || fd < 0)
		return ferry_error_sys(err, "bundle %s", s->bundle);
	return ferry_write_file_atomic_at(fd, "config.json", text, strlen(text), 0600, err);
}

static int write_uncommitted(struct sess *s, bool all_ips, ferry_error_t *err);

/* In the host's network CRIU's restore only "unlocks" what its dump
 * locked, which was on the source host: two `iptables` runs per
 * connection here that fail (the rules are not here), with the tree
 * stopped.  The peers cannot reach this host before COMMIT announces the
 * addresses, so there is nothing to lock either. */
static void
restore_skip_lock(struct ferry_criu_opts *c, void *data)
{
	(void) data;
	c->network_lock = FERRY_CRIU_NETLOCK_SKIP;
}

/*
 * The restore's state directory, cgroup, mounts and a helper inside the
 * cgroup, made before the source freezes (restore.c): what does not need
 * the images leaves the frozen window.  The mark comes first, so that an
 * agent that dies from here on leaves nothing (serve_recover).
 */
static int
stage_restore(struct sess *s, ferry_error_t *err)
{
	struct ferry_restore_opts *ro = &s->staged_ro;

	if (write_uncommitted(s, true, err) < 0)
		return -1;
	if (s->o->cgroup_parent)
		s->staged_cg = xasprintf("%s/%s", s->o->cgroup_parent, s->id);
	memset(ro, 0, sizeof(*ro));
	ro->id = s->id;
	ro->bundle = s->bundle;
	ro->image_path = s->images;
	ro->work_path = s->work;
	ro->detach = true;
	ro->stdio_to_null = true;
	ro->cgroup_path = s->staged_cg;
	ro->lazy_pages = s->mode == FERRY_MIGRATE_LAZY;
	if (!ferry_spec_has_ns(s->spec, CLONE_NEWNET))
		ro->tune = restore_skip_lock;
	if (ferry_restore_stage(s->ctx, ro, &s->staged, err) < 0)
		return ferry_error_prefix(err, "preparing the restore");
	return 0;
}

static int
do_dump(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_free_ char *images = ferry_ps_get_str(req);

	if (!ferry_ps_done(req))
		return ferry_error_set(err, EPROTO, "DUMP: malformed");
	if (s->id == NULL)
		return ferry_error_set(err, EPROTO, "DUMP before PREFLIGHT");
	if (s->images != NULL || s->x.active)
		return ferry_error_set(err, EPROTO, "DUMP twice, or inside a transfer");
	if (s->mode == FERRY_MIGRATE_SHARED) {
		char buf[PATH_MAX];
		size_t l = strlen(s->shared_dir);
		/* The images must be where the share is, nowhere else. */
		if (images == NULL || realpath(images, buf) == NULL)
			return ferry_error_sys(err, "shared images %s are not visible here", images ? images : "(none)");
		if (strncmp(buf, s->shared_dir, l) != 0 || (buf[l] != '/' && buf[l] != '\0'))
			return ferry_error_set(err, EACCES, "images %s are outside the shared directory %s", buf,
					       s->shared_dir);
		s->images = xstrdup(buf);
		s->work = xasprintf("%s/work", s->dir);
		if (ferry_mkdir_p(s->work, 0700, err) < 0)
			return -1;
		if (s->bundle && stage_restore(s, err) < 0)
			return -1;
		return answer_simple(s, SPS_DUMP_READY, err);
	}
	if (s->bundle == NULL && make_bundle(s, err) < 0)
		return -1;
	if (write_config(s, err) < 0)
		return -1;
	s->images = xasprintf("%s/images", s->dir);
	s->work = xasprintf("%s/work", s->dir);
	if (ferry_mkdir_p(s->images, 0700, err) < 0 || ferry_mkdir_p(s->work, 0700, err) < 0)
		return -1;
	/* Before the page server and the relay: the helper starts with no
	 * thread of ours running (it closes what it inherited anyway). */
	if (stage_restore(s, err) < 0)
		return -1;
	/* The page server must listen before the dump starts; the lazy-pages
	 * daemon reads inventory.img when it starts, so it waits for the
	 * images (RESTORE). */
	if (accept_pages(s, err) < 0 || (s->mode == FERRY_MIGRATE_STOP_COPY && spawn_criu_pages(s, err) < 0))
		return -1;
	if (ferry_fault("dst-dump"))
		return ferry_error_set(err, EIO, "fault injected at dst-dump");
	return answer_simple(s, SPS_DUMP_READY, err);
}

/* "uncommitted": the container id, then each service IP added, a line each. */
/* all_ips: before the addresses are added (a session killed while adding
 * them leaves none behind); then again with only those it added. */
static int
write_uncommitted(struct sess *s, bool all_ips, ferry_error_t *err)
{
	_cleanup_close_ int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (dfd < 0 || f == NULL) {
		if (f)
			fclose(f);
		return ferry_error_sys(err, "%s", s->dir);
	}
	fprintf(f, "%s\n", s->id);
	for (size_t i = 0; i < s->n_ips; i++) {
		char a[128];
		if (all_ips || s->ip_added[i])
			fprintf(f, "%s\n", ferry_ipaddr_format(&s->ips[i], a, sizeof(a)));
	}
	fclose(f);
	return ferry_write_file_atomic_at(dfd, "uncommitted", buf, len, 0600, err);
}

/* The service addresses a request names, into the session. */
static int
parse_ips(struct sess *s, char *const *ips, uint32_t n_ips, const char *what, ferry_error_t *err)
{
	for (uint32_t i = 0; i < n_ips; i++) {
		if (ips[i] == NULL || ferry_ipaddr_parse(ips[i], &s->ips[i], err) < 0)
			return ferry_error_prefix(err, "%s: ips[%u]", what, i);
		s->n_ips = i + 1;
	}
	return 0;
}

/*
 * Adds them here, and opens their announcers (COMMIT, or HOLD, only
 * sends).  If this process dies from here to COMMIT (lazy: to the last
 * page), the listener (or the next agent to start) finds the mark and
 * undoes what the session made (serve_recover): first with every address,
 * then with those it added.
 */
static int
add_ips(struct sess *s, ferry_error_t *err)
{
	if (write_uncommitted(s, true, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_ips; i++)
		if (ferry_net_addr_add(&s->ips[i], &s->ip_added[i], err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_ips; i++) {
		if (ferry_net_announcer_open(&s->ips[i], &s->ann[i], err) < 0)
			return -1;
		s->n_ann = i + 1;
	}
	return write_uncommitted(s, false, err);
}

/* The restored tree runs (its sockets exist): what the hold kept goes on
 * to it now, before the restore's own clean-up and state are done. */
struct release_early {
	struct sess *s;
	bool called;
	int rc;
	ferry_error_t err;
};

static void
release_early(void *arg)
{
	struct release_early *r = arg;

	r->called = true;
	r->rc = ferry_hold_release(&r->s->hold, &r->err);
}

static int
restore(struct sess *s, bool tcp, char *const *ips, uint32_t n_ips, double *tp, ferry_error_t *err)
{
	struct ferry_restore_opts ro = { 0 };
	_cleanup_free_ char *cg = NULL;
	int status = 0;

	if (s->mode == FERRY_MIGRATE_STOP_COPY && wait_criu(s, s->timeout_ms, "page-server.log", err) < 0)
		return ferry_error_prefix(err, "receiving memory");
	if (s->mode == FERRY_MIGRATE_LAZY && spawn_criu_pages(s, err) < 0)
		return -1;
	if (s->held) {
		/* HOLD brought them, announced: the same list again. */
		bool same = n_ips == s->n_ips;
		for (uint32_t i = 0; same && i < n_ips; i++) {
			struct ferry_ipaddr a;
			same = ips[i] && ferry_ipaddr_parse(ips[i], &a, err) == 0 && a.family == s->ips[i].family &&
			       memcmp(a.addr, s->ips[i].addr, sizeof(a.addr)) == 0;
		}
		if (!same)
			return ferry_error_set(err, EPROTO, "RESTORE: the addresses differ from those of HOLD");
	} else if (parse_ips(s, ips, n_ips, "RESTORE", err) < 0 || add_ips(s, err) < 0) {
		/* The restored sockets bind to them: here before the restore,
		 * not announced before COMMIT. */
		return -1;
	}
	if (ferry_fault("dst-restore"))
		return ferry_error_set(err, EIO, "fault injected at dst-restore");
	if (s->o->cgroup_parent)
		cg = xasprintf("%s/%s", s->o->cgroup_parent, s->id);
	*tp = ferry_now_s();
	ro.id = s->id;
	ro.bundle = s->bundle;
	ro.image_path = s->images;
	ro.work_path = s->work;
	ro.detach = true;
	ro.stdio_to_null = true;
	ro.tcp_established = tcp;
	ro.cgroup_path = cg;
	ro.lazy_pages = s->mode == FERRY_MIGRATE_LAZY;
	{
		struct lazy_watch w = { .daemon = s->criu_pid, .ips = s->ips, .ip_added = s->ip_added, .n_ips = s->n_ips };
		struct release_early rel = { .s = s, .err = FERRY_ERROR_INIT };
		bool watching = false;
		int r;

		if (s->mode == FERRY_MIGRATE_LAZY && s->criu_pid > 0) {
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			if (cg)
				w.cg_path = xstrdup(cg);
			else if (ferry_cgroup_path_for(s->spec->linux_.cgroups_path, s->id, &w.cg_path, &e) < 0)
				w.cg_path = NULL;
			watching = pthread_create(&w.th, NULL, lazy_watch_main, &w) == 0;
		}
		if (s->staged) {
			r = ferry_restore_staged_run(s->staged, tcp, s->held ? release_early : NULL, &rel, err);
			ferry_restore_staged_free(s->staged);
			s->staged = NULL;
		} else {
			r = ferry_container_restore(s->ctx, &ro, &status, err);
		}
		if (watching) {
			atomic_store(&w.stop, true);
			pthread_join(w.th, NULL);
		}
		free(w.cg_path);
		if (w.reaped) {
			ferry_error_clear(&rel.err);
			s->criu_pid = 0;
			if (r == 0)
				s->restored = true; /* the rollback deletes it */
			ferry_error_clear(err);
			_cleanup_close_ int wfd = open(s->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
			_cleanup_free_ char *why = wfd >= 0 ? ferry_criu_log_errors(wfd, "lazy-pages.log", 2) : NULL;
			return ferry_error_set(err, EPIPE,
					       "the lazy-pages daemon died during the restore (%s; log: %s/lazy-pages.log)",
					       why ? why : "the source stopped serving pages", s->work);
		}
		if (r < 0) {
			ferry_error_clear(&rel.err);
			return -1;
		}
		s->restored = true;
		s->t_restored = ferry_now_s();
		if (rel.called && rel.rc < 0) {
			ferry_error_clear(err);
			*err = rel.err;
			return ferry_error_prefix(err, "let the held packets through");
		}
		/* The sockets exist: what waited goes on to them (if that was
		 * not done as soon as the tree ran). */
		if (s->held && !rel.called && ferry_hold_release(&s->hold, err) < 0)
			return ferry_error_prefix(err, "let the held packets through");
	}
	ferry_fault("dst-restored"); /* only as a stall: a kill here */
	if (ferry_fault("dst-restored-exit"))
		_exit(99); /* an agent dying at the worst moment (tests) */
	return 0;
}

/* The address list of HOLD and RESTORE: N then N strings, at least min and
 * at most 64, and nothing after them.  ips[] is filled (the caller frees
 * it with free_ips) even when the message turns out malformed. */
static int
read_ips(struct ferry_ps_msg *req, const char *what, uint32_t min, char *ips[64], uint32_t *n, ferry_error_t *err)
{
	*n = ferry_ps_get_u32(req);
	if (*n < min || *n > 64) {
		uint32_t bad = *n;
		*n = 0;
		if (min)
			return ferry_error_set(err, EPROTO, "%s: %u addresses, %u to 64", what, bad, min);
		return ferry_error_set(err, EPROTO, "%s: %u addresses, at most 64", what, bad);
	}
	for (uint32_t i = 0; i < *n; i++)
		ips[i] = ferry_ps_get_str(req);
	if (!ferry_ps_done(req))
		return ferry_error_set(err, EPROTO, "%s: malformed", what);
	return 0;
}

static void
free_ips(char **ips, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(ips[i]);
}

/* One gratuitous ARP (or NA) per address; a failure is only logged. */
static void
announce_once(struct sess *s)
{
	for (size_t i = 0; i < s->n_ann; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_net_announcer_send(&s->ann[i], 1, &e) < 0)
			pr_warn("%s", e.msg);
	}
}

/*
 * HOLD: the source is about to freeze.  The addresses come here now, with
 * their packets held until the restored sockets exist (nethold.h): the
 * rules first, so that nothing reaches the address before they do (it
 * would meet no socket and be answered with a RST).
 */
static int
do_hold(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	uint32_t n_ips = 0;
	char *ips[64] = { NULL };
	double t = ferry_now_s();
	int ret = -1;

	if (read_ips(req, "HOLD", 1, ips, &n_ips, err) < 0)
		goto out;
	if (s->images == NULL || s->x.active || s->restored || s->held) {
		ferry_error_set(err, EPROTO, "HOLD before DUMP, inside a transfer, after RESTORE, or twice");
		goto out;
	}
	if (parse_ips(s, ips, n_ips, "HOLD", err) < 0 || ferry_hold_start(&s->hold, s->ips, s->n_ips, err) < 0)
		goto out;
	s->held = true;
	if (add_ips(s, err) < 0)
		goto out;
	if (ferry_fault("dst-hold")) {
		ferry_error_set(err, EIO, "fault injected at dst-hold");
		goto out;
	}
	/* Once: COMMIT repeats it, when neighbours that missed this one
	 * would otherwise still send to the source. */
	announce_once(s);
	ferry_ps_init(&m, SPS_HOLDING);
	ferry_ps_put_u64(&m, (uint64_t) ((ferry_now_s() - t) * 1000.0));
	ferry_ps_put_u32(&m, s->hold.queue);
	ret = answer(s, &m, NULL, 0, err);
out:
	free_ips(ips, n_ips);
	return ret;
}

static int
do_restore(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	bool tcp = ferry_ps_get_u32(req) != 0;
	uint32_t n_ips = 0;
	char *ips[64] = { NULL };
	double t = 0;
	int ret = -1;

	if (read_ips(req, "RESTORE", 0, ips, &n_ips, err) < 0)
		goto out;
	if (s->images == NULL || s->x.active || s->restored) {
		ferry_error_set(err, EPROTO, "RESTORE before DUMP, inside a transfer, or twice");
		goto out;
	}
	ret = restore(s, tcp, ips, n_ips, &t, err);
	if (ret == 0) {
		ferry_ps_init(&m, SPS_RESTORED);
		ferry_ps_put_u64(&m, (uint64_t) ((s->t_restored - t) * 1000.0));
		ferry_ps_put_u64(&m, s->hold.waited);
		ret = answer(s, &m, NULL, 0, err);
	}

out:
	free_ips(ips, n_ips);
	return ret;
}


static int
do_commit(struct sess *s, struct ferry_ps_msg *req, ferry_error_t *err)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	double t = ferry_now_s();

	if (!ferry_ps_done(req))
		return ferry_error_set(err, EPROTO, "COMMIT: malformed");
	if (!s->restored || s->committed)
		return ferry_error_set(err, EPROTO, "COMMIT before RESTORED");
	announce_once(s);
	if (ferry_fault("dst-commit"))
		return ferry_error_set(err, EIO, "fault injected at dst-commit");
	s->committed = true;
	/* Lazy: the source resumes its tree unless this session lets the
	 * page stream end well (relay.c, hold_bye), so until then a killed
	 * session's copy must go too: the mark stays to the last page. */
	if (s->mode != FERRY_MIGRATE_LAZY)
		clear_uncommitted(s);
	ferry_ps_init(&m, SPS_COMMITTED);
	ferry_ps_put_u64(&m, (uint64_t) ((ferry_now_s() - t) * 1000.0));
	if (answer(s, &m, NULL, 0, err) < 0)
		return -1;
	/* One announcement went out before the answer; repeat it for
	 * neighbours that missed it, after, so it costs no downtime. */
	for (size_t k = 0; k < s->n_ann; k++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		ferry_net_announcer_send(&s->ann[k], 2, &e);
	}
	close_announcers(s);
	return 0;
}

/* Lazy mode, after the commit: the daemon exits once every page is in. */
static int
do_postcopy(struct sess *s, ferry_error_t *err)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
	bool ok;

	ferry_fault("dst-postcopy"); /* a stall: the daemon and the relay go on */
	ok = wait_criu(s, -1, "lazy-pages.log", &e) == 0;
	if (ok)
		clear_uncommitted(s);
	if (!ok) {
		/* Memory that never arrived cannot be made up: the copy here
		 * must not run on with holes in it. */
		pr_err("session %s: post-copy failed: %s", s->id, e.msg);
		s->committed = false;
		rollback(s, "post-copy failed");
	}
	uint64_t pages = 0;
	if (ok) {
		/* ferry's daemon says how many pages it copied in */
		_cleanup_free_ char *txt = NULL;
		_cleanup_error_ ferry_error_t re = FERRY_ERROR_INIT;
		_cleanup_close_ int wfd = open(s->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		size_t len;
		if (wfd >= 0 && ferry_read_file_at(wfd, "lazy-pages.stats", 64, &txt, &len, &re) == 0) {
			txt[strcspn(txt, "\n")] = '\0';
			if (ferry_parse_u64(txt, &pages) < 0)
				pages = 0;
		}
	}
	ferry_ps_init(&m, SPS_POSTCOPY);
	ferry_ps_put_u32(&m, ok);
	ferry_ps_put_u64(&m, (uint64_t) ((ferry_now_s() - s->t_restored) * 1000.0));
	ferry_ps_put_str(&m, ok ? NULL : e.msg);
	ferry_ps_put_u64(&m, pages);
	return answer(s, &m, NULL, 0, err);
}

static void
session_free(struct sess *s)
{
	close_announcers(s);
	stop_criu(s);
	ferry_hold_drop(&s->hold);
	ferry_restore_staged_free(s->staged);
	s->staged = NULL;
	free(s->staged_cg);
	{
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		relay_end(s, false, &e);
	}
	xfer_reset(s);
	if (s->pages_listen >= 0)
		close(s->pages_listen);
	if (s->ps_fd >= 0)
		close(s->ps_fd);
	if (s->rootfs_fd >= 0)
		close(s->rootfs_fd);
	if (s->images_fd >= 0)
		close(s->images_fd);
	free(s->who);
	ferry_spec_free(s->spec);
	json_decref(s->config);
	free(s->criu);
	free(s->id);
	free(s->src_rootfs);
	free(s->src_bundle);
	free(s->shared_dir);
	free(s->bundle);
	free(s->rootfs);
	free(s->images);
	free(s->work);
	free(s->dir);
}

/* Removes the session directory; after a failure only the CRIU logs stay. */
static void
session_cleanup_dir(struct sess *s, bool ok)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	const char *root = s->o->work_root ? s->o->work_root : DEFAULT_WORK_ROOT;
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int sfd = -1;

	if (rfd < 0)
		return;
	if (ok && !getenv("FERRY_KEEP_WORK")) {
		ferry_rm_rf_at(rfd, s->tokenhex, &e);
		return;
	}
	sfd = openat(rfd, s->tokenhex, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd >= 0) {
		/* Page images are memory (tmpfs): never keep them. */
		ferry_rm_rf_at(sfd, "images", &e);
		unlinkat(sfd, "pages.sock", 0);
	}
	/* Nothing worth keeping before CRIU ran (a peer that broke the
	 * protocol early leaves no trace). */
	if (sfd < 0 || faccessat(sfd, "work", F_OK, 0) < 0) {
		ferry_rm_rf_at(rfd, s->tokenhex, &e);
		return;
	}
	pr_warn("session %s: CRIU logs kept in %s/%s/work", s->id ? s->id : s->who, root, s->tokenhex);
}

/* Starts the network process on the control connection fd. */
static int
start_net(struct sess *s, ferry_tls_creds_t *creds, int fd, ferry_error_t *err)
{
	_cleanup_free_ char *empty = xasprintf("%s/net", s->dir);
	pid_t monitor = getpid();
	int sv[2];

	/* Its root: empty, root's, and nobody may write it. */
	if (mkdir(empty, 0555) < 0 || chmod(empty, 0555) < 0)
		return ferry_error_sys(err, "%s", empty);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return ferry_error_sys(err, "socketpair");
	s->net_pid = fork();
	if (s->net_pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ferry_error_sys(err, "fork");
	}
	if (s->net_pid == 0) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		const int keep[] = { fd, sv[1] };
		/* Nothing of the monitor's state is touched from here on. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (ferry_ps_drop_privileges(empty, keep, ARRAY_SIZE(keep), &e) < 0) {
			pr_err("%s: %s", s->peer, e.msg);
			_exit(2);
		}
		/* After the drop (a change of uid clears it): it dies with
		 * the monitor. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor)
			_exit(2);
		_exit(ferry_serve_net_main(sv[1], fd, creds, s->timeout_ms, s->peer));
	}
	close(sv[1]);
	s->sock = sv[0];
	return 0;
}

static void
stop_net(struct sess *s)
{
	int status;

	if (s->sock >= 0) {
		close(s->sock);
		s->sock = -1;
	}
	if (s->net_pid > 0) {
		/* It ends at our EOF; a stuck one does not hold the session. */
		for (int i = 0; i < 500; i++) {
			pid_t r = waitpid(s->net_pid, &status, WNOHANG);
			if (r == s->net_pid || (r < 0 && errno != EINTR)) {
				s->net_pid = 0;
				return;
			}
			usleep(2000);
		}
		kill(s->net_pid, SIGKILL);
		waitpid(s->net_pid, &status, 0);
		s->net_pid = 0;
	}
}

/* One request of the network process; *bye once the session is done. */
static int
handle(struct sess *s, struct ferry_ps_msg *req, bool *bye, ferry_error_t *err)
{
	switch (req->type) {
	case SPS_HELLO:
		if (s->hello_done)
			return ferry_error_set(err, EPROTO, "HELLO twice");
		s->hello_done = true;
		return do_hello(s, req, err);
	case SPS_PREFLIGHT:
		return do_preflight(s, req, err);
	case SPS_MANIFEST:
		return do_manifest(s, req, err);
	case SPS_FILE_OPEN:
		return do_file_open(s, req, err);
	case SPS_FILE_DONE:
		return do_file_done(s, req, err);
	case SPS_FILES_END:
		return do_files_end(s, req, err);
	case SPS_DUMP:
		return do_dump(s, req, err);
	case SPS_HOLD:
		return do_hold(s, req, err);
	case SPS_RESTORE:
		return do_restore(s, req, err);
	case SPS_COMMIT:
		if (do_commit(s, req, err) < 0)
			return -1;
		if (s->held) {
			/* After COMMITTED: the hold's rules go while what still
			 * comes is let through (a few ms of iptables-restore
			 * that the source's commit need not wait for). */
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			if (ferry_hold_finish(&s->hold, &e) < 0)
				pr_warn("session %s: %s", s->id, e.msg);
		}
		return s->mode == FERRY_MIGRATE_LAZY ? do_postcopy(s, err) : 0;
	case SPS_BYE:
		if (!ferry_ps_done(req))
			return ferry_error_set(err, EPROTO, "BYE: malformed");
		if (s->id && !s->committed && s->restored)
			return ferry_error_set(err, EPROTO, "BYE before COMMIT");
		*bye = true;
		return answer_simple(s, SPS_OK, err);
	case SPS_FAIL: {
		/* The source gave up, or broke the protocol (the network
		 * process told it so).  ECANCELED: not answered, the network
		 * process waits for nothing but our end. */
		bool by_source = ferry_ps_get_u32(req) != 0;
		_cleanup_free_ char *why = ferry_ps_get_str(req);
		if (!ferry_ps_done(req) || why == NULL)
			return ferry_error_set(err, EPROTO, "FAIL: malformed");
		return ferry_error_set(err, ECANCELED, "%s%s", by_source ? "" : "refused: ", why);
	}
	default:
		/* Not one of ours: the network process is broken or not ours. */
		return ferry_error_set(err, EPROTO, "unknown request %u from the network process", req->type);
	}
}

int
ferry_serve_session(const ferry_ctx_t *ctx, const struct ferry_serve_opts *o, ferry_tls_creds_t *creds, int fd,
		    const char *peer)
{
	struct sess ss = { .ctx = ctx, .o = o, .peer = peer, .who = xstrdup(peer), .sock = -1, .pages_listen = -1,
			   .ps_fd = -1, .rootfs_fd = -1, .images_fd = -1, .hold = FERRY_HOLD_INIT };
	struct sess *s = &ss;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	ferry_error_t *err = &e;
	unsigned char token[FERRY_WIRE_TOKEN_LEN];
	const char *root = o->work_root ? o->work_root : DEFAULT_WORK_ROOT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool ok = false, bye = false, began = false;

	s->x.fd = s->x.dirfd = -1;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	if (getrandom(token, sizeof(token), 0) != (ssize_t) sizeof(token)) {
		ferry_error_sys(err, "getrandom");
		goto out;
	}
	for (size_t i = 0; i < sizeof(token); i++)
		snprintf(s->tokenhex + 2 * i, 3, "%02x", token[i]);
	s->dir = xasprintf("%s/%s", root, s->tokenhex);
	if (ferry_mkdir_p(root, 0700, err) < 0 || mkdir(s->dir, 0700) < 0) {
		if (!ferry_error_isset(err))
			ferry_error_sys(err, "%s", s->dir);
		goto out;
	}
	{
		/* The listener finds a killed session's directory by it. */
		_cleanup_close_ int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d", (int) getpid());
		if (dfd < 0 || ferry_write_file_atomic_at(dfd, "pid", pid, (size_t) n, 0600, err) < 0) {
			if (!ferry_error_isset(err))
				ferry_error_sys(err, "%s", s->dir);
			goto out;
		}
	}
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/pages.sock", s->dir) >= (int) sizeof(sa.sun_path)) {
		ferry_error_set(err, ENAMETOOLONG, "--work-root %s: too long for a unix socket path", root);
		goto out;
	}
	s->pages_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->pages_listen < 0 || bind(s->pages_listen, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    listen(s->pages_listen, 2) < 0) {
		ferry_error_sys(err, "%s", sa.sun_path);
		goto out;
	}
	if (start_net(s, creds, fd, err) < 0)
		goto out;
	close(fd);
	fd = -1;

	for (;;) {
		_cleanup_ps_msg_ struct ferry_ps_msg req = { 0 };
		int r = ferry_ps_recv(s->sock, &req, err);

		if (r > 0) {
			/* Before HELLO: the handshake was refused, or the peer
			 * left; the network process said why. */
			if (!began)
				goto quiet;
			ferry_error_set(err, EPIPE, "the network process ended");
			goto out;
		}
		if (r < 0)
			goto out;
		began = true;
		if (handle(s, &req, &bye, err) < 0) {
			/* Say why, unless it is the network process's own news. */
			if (err->errno_ != ECANCELED) {
				_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
				_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 };
				/* The text without strerror: the network process
				 * adds it back from the number. */
				ferry_ps_init(&m, SPS_ERROR);
				ferry_ps_put_u32(&m, (uint32_t) err->errno_);
				ferry_ps_put_str(&m, err->msg);
				answer(s, &m, NULL, 0, &e2);
			}
			goto out;
		}
		if (bye)
			break;
	}
	ok = true;
out:
	if (!ok) {
		_cleanup_free_ char *m = ferry_error_string(err);
		if (s->committed)
			pr_warn("session %s: %s (after the commit: the container stays here)", s->id ? s->id : s->who, m);
		else
			rollback(s, m);
	} else {
		pr_info("session %s: migrated in (%s)", s->id, ferry_migrate_mode_name(s->mode));
	}
quiet:
	stop_net(s);
	if (s->dir)
		session_cleanup_dir(s, ok || s->committed);
	session_free(s);
	if (fd >= 0)
		close(fd);
	if (!began)
		return -1;
	return ok ? 0 : 1;
}
