/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `criu swrk` RPC: one CRIU child per call, one request, notifications
 * answered through the caller's callback, one final response.
 *
 * The protocol is CRIU's criu/cr-service.c: messages are packed CriuReq /
 * CriuResp (rpc.proto, generated at build time) on a SOCK_SEQPACKET socket,
 * one message per packet.  CRIU sizes what it receives with
 * recv(MSG_PEEK|MSG_TRUNC); this side reads into a fixed buffer and refuses
 * anything larger (CONVENTIONS.md 6: every length checked).
 */
#define LOG_PREFIX "criu-rpc: "
#include "criu_rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rpc.pb-c.h"
#include "util.h"

extern char **environ;

/* Requests must fit the socket's send buffer (a SEQPACKET message is sent
 * whole); long ext_mnt/external lists of big containers are the only thing
 * that grows one. */
#define RPC_REQ_MAX (192 * 1024)
/* CRIU's responses are a few hundred bytes (cr_errmsg is one log line). */
#define RPC_RESP_MAX (64 * 1024)
/* CRIU passes at most one fd per message; room for more only so that
 * extra ones are seen, closed and reported instead of truncated. */
#define RPC_MAX_FDS 4
/* fd numbers in the CRIU child: the socket, then inherited fds. */
#define CHILD_SK_FD 3
#define CHILD_FIRST_EXTRA_FD 4
#define MAX_PASSED_FDS 256
#define LOG_ERROR_LINES 3
#define LOG_LINE_MAX 512
#define STDERR_QUOTE_MAX 8192

struct action_info {
	const char *name;
	CriuReqType type;  /* what is sent */
	CriuReqType rtype; /* what the final answer says */
	bool needs_images; /* CRIU refuses the request without an images dir */
	bool sends_opts;   /* VERSION and FEATURE_CHECK ignore criu_opts */
};

static const struct action_info actions[] = {
	[FERRY_CRIU_DUMP] = { "dump", CRIU_REQ_TYPE__DUMP, CRIU_REQ_TYPE__DUMP, true, true },
	/* PRE_DUMP would make CRIU wait on the socket for another PRE_DUMP or
	 * the final DUMP (cr-service.c, pre_dump_loop()) and log an error when
	 * we hang up; SINGLE_PRE_DUMP is one pre-dump and done.  Each ferry
	 * pre-dump is its own CRIU process, so a chain is parent_img links. */
	[FERRY_CRIU_PRE_DUMP] = { "pre-dump", CRIU_REQ_TYPE__SINGLE_PRE_DUMP, CRIU_REQ_TYPE__SINGLE_PRE_DUMP, true,
				  true },
	[FERRY_CRIU_RESTORE] = { "restore", CRIU_REQ_TYPE__RESTORE, CRIU_REQ_TYPE__RESTORE, true, true },
	/* PAGE_SERVER (daemon mode) answers pid 0 in CRIU 4.2 (seen here):
	 * cr_page_server() returns 0, not the daemon's pid, to the process
	 * that reports it (cr-service.c start_page_server_req(), page-xfer.c).
	 * With PAGE_SERVER_CHLD the server reports its own getpid() once it
	 * listens, so the pid is right; the server is a child of the swrk
	 * process and, once that exits, of the caller (if a subreaper) or
	 * init.  It answers as PAGE_SERVER. */
	[FERRY_CRIU_PAGE_SERVER] = { "page-server", CRIU_REQ_TYPE__PAGE_SERVER_CHLD, CRIU_REQ_TYPE__PAGE_SERVER, true,
				     true },
	[FERRY_CRIU_CHECK] = { "check", CRIU_REQ_TYPE__CHECK, CRIU_REQ_TYPE__CHECK, false, true },
	[FERRY_CRIU_FEATURE_CHECK] = { "feature-check", CRIU_REQ_TYPE__FEATURE_CHECK, CRIU_REQ_TYPE__FEATURE_CHECK,
				       false, false },
	[FERRY_CRIU_VERSION] = { "version", CRIU_REQ_TYPE__VERSION, CRIU_REQ_TYPE__VERSION, false, false },
	[FERRY_CRIU_CPUINFO_DUMP] = { "cpuinfo-dump", CRIU_REQ_TYPE__CPUINFO_DUMP, CRIU_REQ_TYPE__CPUINFO_DUMP, true,
				      true },
	[FERRY_CRIU_CPUINFO_CHECK] = { "cpuinfo-check", CRIU_REQ_TYPE__CPUINFO_CHECK, CRIU_REQ_TYPE__CPUINFO_CHECK,
				       true, true },
};

static const struct action_info *
action_info(enum ferry_criu_action a)
{
	if ((size_t) a >= ARRAY_SIZE(actions) || actions[a].name == NULL)
		return NULL;
	return &actions[a];
}

const char *
ferry_criu_action_name(enum ferry_criu_action action)
{
	const struct action_info *ai = action_info(action);

	return ai ? ai->name : "unknown";
}

void
ferry_criu_opts_init(struct ferry_criu_opts *o)
{
	*o = (struct ferry_criu_opts) FERRY_CRIU_OPTS_INIT;
}

void
ferry_criu_result_free(struct ferry_criu_result *r)
{
	if (r == NULL)
		return;
	free(r->gitid);
	free(r->log_path);
	r->gitid = NULL;
	r->log_path = NULL;
}

static void
criu_resp_freep(CriuResp **r)
{
	if (*r)
		criu_resp__free_unpacked(*r, NULL);
	*r = NULL;
}
#define _cleanup_criu_resp_ __attribute__((cleanup(criu_resp_freep)))

/* --- CRIU's log ------------------------------------------------------- */

/*
 * "Error" lines CRIU logs on every run on some hosts without anything
 * having failed.  Quoting them would push the real cause out of the three
 * lines an error message shows.
 */
static const char *const benign_errors[] = {
	/* criu/util.c: CRIU raises its own RLIMIT_NOFILE to fs.nr_open; without
	 * CAP_SYS_RESOURCE that fails and CRIU goes on with the current limit. */
	"Can't setup RLIMIT_NOFILE for self",
};

static bool
is_benign(const char *line)
{
	for (size_t i = 0; i < ARRAY_SIZE(benign_errors); i++)
		if (strstr(line, benign_errors[i]))
			return true;
	return false;
}

/*
 * Appends to *acc the first lines of f that contain "Error" (or, with
 * any_line, the first non-empty ones), up to max.  Lines are read in
 * chunks so a pathological line costs no memory: only its first
 * LOG_LINE_MAX bytes are looked at and quoted.
 */
static size_t
collect_lines(FILE *f, bool any_line, size_t max, char **acc)
{
	char chunk[LOG_LINE_MAX + 1];
	size_t found = 0;
	bool line_start = true;

	while (found < max && fgets(chunk, sizeof(chunk), f) != NULL) {
		size_t len = strlen(chunk);
		bool complete = len > 0 && chunk[len - 1] == '\n';
		bool take = line_start;

		line_start = complete;
		if (!take)
			continue; /* the tail of a long line */
		while (len > 0 && (chunk[len - 1] == '\n' || chunk[len - 1] == '\r'))
			chunk[--len] = '\0';
		if (len == 0)
			continue;
		if (!any_line && (strstr(chunk, "Error") == NULL || is_benign(chunk)))
			continue;
		if (*acc == NULL) {
			*acc = xstrdup(chunk);
		} else {
			char *n = xasprintf("%s; %s", *acc, chunk);
			free(*acc);
			*acc = n;
		}
		found++;
	}
	return found;
}

char *
ferry_criu_log_errors(int dir_fd, const char *log_name, size_t max_lines)
{
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *f = NULL;
	char *acc = NULL;

	if (log_name == NULL || max_lines == 0)
		return NULL;
	fd = openat(dir_fd, log_name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "re");
	if (f == NULL)
		return NULL;
	fd = -1; /* owned by f */
	collect_lines(f, false, max_lines, &acc);
	return acc;
}

/* What CRIU wrote to stderr (before its log was set up, or when it had no
 * directory to put one in): "Error" lines, else the first lines. */
static char *
stderr_lines(int memfd)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	ssize_t n;
	char *acc = NULL;

	if (memfd < 0)
		return NULL;
	buf = xmalloc0(STDERR_QUOTE_MAX + 1);
	do
		n = pread(memfd, buf, STDERR_QUOTE_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return NULL;
	f = fmemopen(buf, n, "r");
	if (f == NULL)
		return NULL;
	if (collect_lines(f, false, LOG_ERROR_LINES, &acc) == 0) {
		rewind(f);
		collect_lines(f, true, LOG_ERROR_LINES, &acc);
	}
	return acc;
}

/* --- the request ------------------------------------------------------ */

/* Everything a packed request points into, freed together. */
struct req_build {
	CriuReq req;
	CriuOpts opts;
	CriuPageServerInfo ps;
	CriuFeatures features;
	ExtMountMap *ext_mnt;
	ExtMountMap **ext_mnt_p;
	InheritFd *inherit;
	InheritFd **inherit_p;
	CgroupRoot *cg_root;
	CgroupRoot **cg_root_p;
	JoinNamespace *join_ns;
	JoinNamespace **join_ns_p;
};

static void
req_build_free(struct req_build *b)
{
	free(b->ext_mnt);
	free(b->ext_mnt_p);
	free(b->inherit);
	free(b->inherit_p);
	free(b->cg_root);
	free(b->cg_root_p);
	free(b->join_ns);
	free(b->join_ns_p);
}

static int
validate_opts(const struct action_info *ai, const struct ferry_criu_opts *o, ferry_error_t *err)
{
	if (o->criu_path == NULL)
		return ferry_error_set(err, EINVAL, "no CRIU binary given");
	if (ai->needs_images && o->images_dir_fd < 0)
		return ferry_error_set(err, EINVAL, "criu %s needs an images directory", ai->name);
	if (o->log_file && (strchr(o->log_file, '/') || *o->log_file == '\0' || strcmp(o->log_file, ".") == 0 ||
			    strcmp(o->log_file, "..") == 0))
		return ferry_error_set(err, EINVAL, "CRIU log file '%s' must be a plain file name", o->log_file);
	if (o->empty_ns & ~(unsigned int) CLONE_NEWNET)
		return ferry_error_set(err, EINVAL, "CRIU can only create an empty network namespace (empty_ns 0x%x)",
				       o->empty_ns);
	if (o->n_inherit_fd > MAX_PASSED_FDS)
		return ferry_error_set(err, EINVAL, "%zu inherited fds for CRIU, at most %d", o->n_inherit_fd,
				       MAX_PASSED_FDS);
	for (size_t i = 0; i < o->n_inherit_fd; i++)
		if (o->inherit_fd[i].key == NULL || fcntl(o->inherit_fd[i].fd, F_GETFD) < 0)
			return ferry_error_set(err, EBADF, "CRIU inherit_fd[%zu] (%s): fd %d is not open", i,
					       o->inherit_fd[i].key ? o->inherit_fd[i].key : "no key",
					       o->inherit_fd[i].fd);
	if (o->ps_fd >= 0 && fcntl(o->ps_fd, F_GETFD) < 0)
		return ferry_error_set(err, EBADF, "CRIU page server fd %d is not open", o->ps_fd);
	for (size_t i = 0; i < o->n_ext_mnt; i++)
		if (o->ext_mnt[i].key == NULL || o->ext_mnt[i].val == NULL)
			return ferry_error_set(err, EINVAL, "CRIU ext_mnt[%zu] lacks a key or value", i);
	for (size_t i = 0; i < o->n_join_ns; i++)
		if (o->join_ns[i].key == NULL || o->join_ns[i].val == NULL)
			return ferry_error_set(err, EINVAL, "CRIU join_ns[%zu] lacks a namespace or file", i);
	for (size_t i = 0; i < o->n_cg_roots; i++)
		if (o->cg_roots[i].path == NULL)
			return ferry_error_set(err, EINVAL, "CRIU cg_root[%zu] lacks a path", i);
	return 0;
}

#define SET_BOOL(field, v) \
	do { \
		if (v) { \
			b->opts.has_##field = true; \
			b->opts.field = true; \
		} \
	} while (0)

/*
 * Fills b from o.  Booleans are sent only when true: for some fields the
 * mere presence changes CRIU's behaviour (has_manage_cgroups with false
 * means "ignore cgroups", not "default").  fd numbers for what CRIU uses in
 * its own table are the child's (CHILD_FIRST_EXTRA_FD...).
 */
static void
build_request(const struct action_info *ai, const struct ferry_criu_opts *o, const char *log_file,
	      struct req_build *b)
{
	int next_child_fd = CHILD_FIRST_EXTRA_FD;

	b->req = (CriuReq) CRIU_REQ__INIT;
	b->opts = (CriuOpts) CRIU_OPTS__INIT;
	b->ps = (CriuPageServerInfo) CRIU_PAGE_SERVER_INFO__INIT;
	b->features = (CriuFeatures) CRIU_FEATURES__INIT;
	b->req.type = ai->type;

	if (ai->type == CRIU_REQ_TYPE__FEATURE_CHECK) {
		/* CRIU dereferences req->features unconditionally here: a
		 * FEATURE_CHECK without it crashes the swrk child. */
		b->features.has_mem_track = b->features.mem_track = true;
		b->features.has_lazy_pages = b->features.lazy_pages = true;
		b->features.has_pidfd_store = b->features.pidfd_store = true;
		b->req.features = &b->features;
	}
	if (!ai->sends_opts)
		return;
	b->req.opts = &b->opts;

	b->opts.images_dir_fd = o->images_dir_fd;
	if (o->work_dir_fd >= 0) {
		b->opts.has_work_dir_fd = true;
		b->opts.work_dir_fd = o->work_dir_fd;
	}
	b->opts.log_file = (char *) log_file;
	/* CRIU's RPC default is 2 (errors only); 4 is what runc uses and what
	 * a failed dump needs to be diagnosed from its log. */
	b->opts.has_log_level = true;
	b->opts.log_level = o->log_level > 0 ? o->log_level : 4;
	{
		/* The operator's word wins (a migration's dump runs at 3). */
		const char *lv = getenv("FERRY_CRIU_LOG_LEVEL");
		if (lv && lv[0] >= '0' && lv[0] <= '4' && lv[1] == '\0')
			b->opts.log_level = lv[0] - '0';
	}
	if (o->pid > 0) {
		/* Without a pid CRIU dumps the *requesting* process, i.e. us. */
		b->opts.has_pid = true;
		b->opts.pid = o->pid;
	}
	b->opts.root = (char *) o->root;

	SET_BOOL(leave_running, o->leave_running);
	SET_BOOL(leave_stopped, o->leave_stopped);
	SET_BOOL(tcp_established, o->tcp_established);
	SET_BOOL(tcp_skip_in_flight, o->tcp_skip_in_flight);
	SET_BOOL(tcp_close, o->tcp_close);
	SET_BOOL(ext_unix_sk, o->ext_unix_sk);
	SET_BOOL(shell_job, o->shell_job);
	SET_BOOL(file_locks, o->file_locks);
	SET_BOOL(link_remap, o->link_remap);
	SET_BOOL(auto_dedup, o->auto_dedup);
	SET_BOOL(lazy_pages, o->lazy_pages);
	SET_BOOL(orphan_pts_master, o->orphan_pts_master);
	SET_BOOL(rst_sibling, o->rst_sibling);
	SET_BOOL(notify_scripts, o->notify_scripts);
	SET_BOOL(evasive_devices, o->evasive_devices);
	SET_BOOL(weak_sysctls, o->weak_sysctls);
	SET_BOOL(skip_file_rwx_check, o->skip_file_rwx_check);
	SET_BOOL(auto_ext_mnt, o->auto_ext_mnt);
	SET_BOOL(ext_sharing, o->ext_sharing);
	SET_BOOL(ext_masters, o->ext_masters);
	SET_BOOL(mntns_compat_mode, o->mntns_compat_mode);
	SET_BOOL(track_mem, o->track_mem);
	SET_BOOL(manage_cgroups, o->manage_cgroups);
	SET_BOOL(tls, o->tls);
	SET_BOOL(tls_no_cn_verify, o->tls_no_cn_verify);
	b->opts.tls_cacert = (char *) o->tls_cacert;
	b->opts.tls_cert = (char *) o->tls_cert;
	b->opts.tls_key = (char *) o->tls_key;

	if (o->manage_cgroups_mode != FERRY_CRIU_CG_UNSET) {
		static const CriuCgMode modes[] = {
			[FERRY_CRIU_CG_SOFT] = CRIU_CG_MODE__SOFT,     [FERRY_CRIU_CG_FULL] = CRIU_CG_MODE__FULL,
			[FERRY_CRIU_CG_STRICT] = CRIU_CG_MODE__STRICT, [FERRY_CRIU_CG_IGNORE] = CRIU_CG_MODE__IGNORE,
			[FERRY_CRIU_CG_PROPS] = CRIU_CG_MODE__PROPS,   [FERRY_CRIU_CG_NONE] = CRIU_CG_MODE__CG_NONE,
		};
		b->opts.has_manage_cgroups_mode = true;
		b->opts.manage_cgroups_mode = modes[o->manage_cgroups_mode];
	}
	b->opts.freeze_cgroup = (char *) o->freeze_cgroup;
	b->opts.cgroup_yard = (char *) o->cgroup_yard;
	if (o->n_cg_roots) {
		b->cg_root = xmalloc0(o->n_cg_roots * sizeof(*b->cg_root));
		b->cg_root_p = xmalloc0(o->n_cg_roots * sizeof(*b->cg_root_p));
		for (size_t i = 0; i < o->n_cg_roots; i++) {
			b->cg_root[i] = (CgroupRoot) CGROUP_ROOT__INIT;
			b->cg_root[i].ctrl = (char *) o->cg_roots[i].ctrl;
			b->cg_root[i].path = (char *) o->cg_roots[i].path;
			b->cg_root_p[i] = &b->cg_root[i];
		}
		b->opts.n_cg_root = o->n_cg_roots;
		b->opts.cg_root = b->cg_root_p;
	}
	b->opts.n_cgroup_dump_controller = o->n_cgroup_dump_controllers;
	b->opts.cgroup_dump_controller = (char **) o->cgroup_dump_controllers;

	b->opts.parent_img = (char *) o->parent_img;
	if (o->pre_dump_mode != FERRY_CRIU_PRE_DUMP_UNSET) {
		b->opts.has_pre_dump_mode = true;
		b->opts.pre_dump_mode =
			o->pre_dump_mode == FERRY_CRIU_PRE_DUMP_VM_READ ? CRIU_PRE_DUMP_MODE__VM_READ : CRIU_PRE_DUMP_MODE__SPLICE;
	}

	if (o->n_inherit_fd) {
		b->inherit = xmalloc0(o->n_inherit_fd * sizeof(*b->inherit));
		b->inherit_p = xmalloc0(o->n_inherit_fd * sizeof(*b->inherit_p));
		for (size_t i = 0; i < o->n_inherit_fd; i++) {
			b->inherit[i] = (InheritFd) INHERIT_FD__INIT;
			b->inherit[i].key = (char *) o->inherit_fd[i].key;
			b->inherit[i].fd = next_child_fd++;
			b->inherit_p[i] = &b->inherit[i];
		}
		b->opts.n_inherit_fd = o->n_inherit_fd;
		b->opts.inherit_fd = b->inherit_p;
	}

	/* A ps message switches CRIU to page-server mode (dump: send pages
	 * there; with lazy_pages: serve them there), so send it only when
	 * asked for. */
	if (o->ps_address || o->ps_port || o->ps_fd >= 0 || ai->rtype == CRIU_REQ_TYPE__PAGE_SERVER) {
		b->ps.address = (char *) o->ps_address;
		b->ps.has_port = true;
		b->ps.port = o->ps_port;
		if (o->ps_fd >= 0) {
			b->ps.has_fd = true;
			b->ps.fd = next_child_fd++;
		}
		b->opts.ps = &b->ps;
	}
	if (o->status_fd >= 0) {
		b->opts.has_status_fd = true;
		b->opts.status_fd = o->status_fd;
	}
	if (o->pidfd_store_sk >= 0) {
		b->opts.has_pidfd_store_sk = true;
		b->opts.pidfd_store_sk = o->pidfd_store_sk;
	}
	if (o->empty_ns) {
		b->opts.has_empty_ns = true;
		b->opts.empty_ns = o->empty_ns;
	}
	if (o->n_ext_mnt) {
		b->ext_mnt = xmalloc0(o->n_ext_mnt * sizeof(*b->ext_mnt));
		b->ext_mnt_p = xmalloc0(o->n_ext_mnt * sizeof(*b->ext_mnt_p));
		for (size_t i = 0; i < o->n_ext_mnt; i++) {
			b->ext_mnt[i] = (ExtMountMap) EXT_MOUNT_MAP__INIT;
			b->ext_mnt[i].key = (char *) o->ext_mnt[i].key;
			b->ext_mnt[i].val = (char *) o->ext_mnt[i].val;
			b->ext_mnt_p[i] = &b->ext_mnt[i];
		}
		b->opts.n_ext_mnt = o->n_ext_mnt;
		b->opts.ext_mnt = b->ext_mnt_p;
	}
	if (o->n_join_ns) {
		b->join_ns = xmalloc0(o->n_join_ns * sizeof(*b->join_ns));
		b->join_ns_p = xmalloc0(o->n_join_ns * sizeof(*b->join_ns_p));
		for (size_t i = 0; i < o->n_join_ns; i++) {
			b->join_ns[i] = (JoinNamespace) JOIN_NAMESPACE__INIT;
			b->join_ns[i].ns = (char *) o->join_ns[i].key;
			b->join_ns[i].ns_file = (char *) o->join_ns[i].val;
			b->join_ns_p[i] = &b->join_ns[i];
		}
		b->opts.n_join_ns = o->n_join_ns;
		b->opts.join_ns = b->join_ns_p;
	}
	b->opts.n_external = o->n_external;
	b->opts.external = (char **) o->external;
	b->opts.n_skip_mnt = o->n_skip_mnt;
	b->opts.skip_mnt = (char **) o->skip_mnt;
	b->opts.n_enable_fs = o->n_enable_fs;
	b->opts.enable_fs = (char **) o->enable_fs;

	b->opts.lsm_profile = (char *) o->lsm_profile;
	b->opts.lsm_mount_context = (char *) o->lsm_mount_context;
	if (o->network_lock != FERRY_CRIU_NETLOCK_UNSET) {
		b->opts.has_network_lock = true;
		b->opts.network_lock = o->network_lock == FERRY_CRIU_NETLOCK_NFTABLES ? CRIU_NETWORK_LOCK_METHOD__NFTABLES
				       : o->network_lock == FERRY_CRIU_NETLOCK_SKIP   ? CRIU_NETWORK_LOCK_METHOD__SKIP
										      : CRIU_NETWORK_LOCK_METHOD__IPTABLES;
	}
	if (o->ghost_limit) {
		b->opts.has_ghost_limit = true;
		b->opts.ghost_limit = o->ghost_limit;
	}
	if (o->timeout) {
		b->opts.has_timeout = true;
		b->opts.timeout = o->timeout;
	}
	b->opts.config_file = (char *) o->config_file;
}

/* --- the CRIU child --------------------------------------------------- */

/* Everything the child needs, prepared before fork(): after it only
 * async-signal-safe calls are made, since the caller may be threaded. */
struct spawn {
	const struct ferry_criu_kdat *kdat; /* NULL: the caller's /run */
	char *argv[4];
	char fdarg[16];
	int devnull;
	int errfd;
	int *src; /* fds to place at CHILD_SK_FD, CHILD_SK_FD + 1, ... */
	int *tmp;
	size_t n;
};

static void __attribute__((noreturn))
child_exec(struct spawn *sp)
{
	static const char msg[] = "ferry: cannot set up or exec criu\n";
	/* Every target (0..CHILD_SK_FD + n - 1) is below floor, so moving all
	 * sources to >= floor first means no dup2() below clobbers a source. */
	int floor = CHILD_SK_FD + (int) sp->n;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int nul, errfd;

	if (sp->kdat)
		ferry_criu_kdat_child(sp->kdat);
	for (size_t i = 0; i < sp->n; i++)
		if ((sp->tmp[i] = fcntl(sp->src[i], F_DUPFD, floor)) < 0)
			goto fail;
	if ((nul = fcntl(sp->devnull, F_DUPFD, floor)) < 0 || (errfd = fcntl(sp->errfd, F_DUPFD, floor)) < 0)
		goto fail;
	if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;
	for (size_t i = 0; i < sp->n; i++)
		if (dup2(sp->tmp[i], CHILD_SK_FD + (int) i) < 0)
			goto fail;
	/* Close everything else: CRIU would otherwise see (and, on restore,
	 * could hand to the restored tree) whatever the caller has open. */
	if (syscall(SYS_close_range, (unsigned int) floor, ~0U, 0) < 0) {
		struct rlimit rl;
		int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20) ? (int) rl.rlim_cur : 1 << 20;

		for (int fd = floor; fd < max; fd++)
			close(fd);
	}
	/* Ignored signals and the blocked mask survive exec.  CRIU relies on
	 * SIGCHLD (it waits for its helpers and the restored tree) and must
	 * not inherit a caller's SIG_IGN or blocked set. */
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* No PR_SET_PDEATHSIG: if ferry dies mid-dump, CRIU should finish
	 * or abort on its own terms (its next notification fails, it
	 * resumes the tree); a SIGKILL while the parasite is in the tasks
	 * would leave them broken. */
	execve(sp->argv[0], sp->argv, environ);
fail:
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

static void
reap(pid_t pid, int *status)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		/* ECHILD: the caller ignores SIGCHLD or reaped it itself. */
		st = -1;
		break;
	}
	if (status)
		*status = st;
}

static char *
describe_exit(int status)
{
	if (status == -1)
		return xstrdup("exit status unknown");
	if (WIFEXITED(status))
		return xasprintf("exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return xasprintf("killed by signal %d: %s%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
				 WCOREDUMP(status) ? ", core dumped" : "");
	return xasprintf("wait status 0x%x", status);
}

/* --- messages --------------------------------------------------------- */

static int
send_req(int sk, const CriuReq *req, ferry_error_t *err)
{
	size_t len = criu_req__get_packed_size(req);
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	if (len > RPC_REQ_MAX)
		return ferry_error_set(err, EMSGSIZE, "request of %zu bytes exceeds %d", len, RPC_REQ_MAX);
	buf = xmalloc0(len);
	if (criu_req__pack(req, buf) != len)
		return ferry_error_set(err, EINVAL, "packing the request failed");
	/* MSG_NOSIGNAL: CRIU dying must be an error here, not our SIGPIPE. */
	do
		n = send(sk, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ferry_error_sys(err, "send request to criu");
	if ((size_t) n != len)
		return ferry_error_set(err, EIO, "short send to criu (%zd of %zu bytes)", n, len);
	return 0;
}

/*
 * Receives one message into buf (cap bytes).  Returns its length, 0 when
 * CRIU hung up, -1 on error.  At most one passed fd is kept in *fd; any
 * other is closed and reported, so nothing leaks whatever CRIU sends.
 */
static ssize_t
recv_resp(int sk, uint8_t *buf, size_t cap, int *fd, ferry_error_t *err)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RPC_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	size_t extra = 0;
	ssize_t n;

	*fd = -1;
	/* MSG_TRUNC makes a SEQPACKET recvmsg return the real length of an
	 * oversized message, so the check below sees it. */
	do
		n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET)
		return 0; /* CRIU exited with our request unread: a hang-up too */
	if (n < 0)
		return ferry_error_sys(err, "receive from criu");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0) {
				*fd = got;
			} else {
				close(got);
				extra++;
			}
		}
	}
	if (extra || (mh.msg_flags & MSG_CTRUNC)) {
		ferry_closep(fd);
		return ferry_error_set(err, EPROTO, "criu sent more descriptors than one message carries");
	}
	if (n == 0) {
		/* A CriuResp has two required fields, so CRIU never sends an
		 * empty message: 0 is the end of the stream. */
		ferry_closep(fd);
		return 0;
	}
	if ((size_t) n > cap || (mh.msg_flags & MSG_TRUNC)) {
		ferry_closep(fd);
		return ferry_error_set(err, EMSGSIZE, "criu sent a message of %zd bytes, more than %zu", n, cap);
	}
	return n;
}

/* A send failed because CRIU closed its end (it died or exited). */
static bool
peer_gone(const ferry_error_t *err)
{
	return err && (err->errno_ == EPIPE || err->errno_ == ECONNRESET);
}

static int
answer_notify(int sk, bool ok, ferry_error_t *err)
{
	CriuReq req = CRIU_REQ__INIT;

	req.type = CRIU_REQ_TYPE__NOTIFY;
	req.has_notify_success = true;
	req.notify_success = ok;
	return send_req(sk, &req, err);
}

/* --- the call --------------------------------------------------------- */

/* Full path of dir_fd/name for error messages; NULL when unknown. */
static char *
log_full_path(int dir_fd, const char *name)
{
	char proc[64], target[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dir_fd);
	n = readlink(proc, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return xasprintf("%s%s%s", target, strcmp(target, "/") == 0 ? "" : "/", name);
}

struct call {
	const struct action_info *ai;
	const struct ferry_criu_opts *o;
	struct ferry_criu_result *res;
	int log_dir_fd;          /* -1 when CRIU logs to stderr */
	const char *log_file;
	struct stat log_before;  /* st_ino 0: there was no log before */
	int errfd;               /* memfd holding CRIU's stderr */
	pid_t child;
	bool reaped;
	int status;              /* wait status, -1 when it could not be had */
	ferry_error_t cb_err;    /* a callback's failure, reported over CRIU's */
	char *cb_script;
};

/*
 * Whether the log was written by this CRIU.  One that died before opening
 * it leaves an older log of the same name (a previous attempt) in place,
 * and quoting that one's errors would blame the wrong failure.
 */
static bool
log_is_fresh(const struct call *c)
{
	struct stat st;

	if (fstatat(c->log_dir_fd, c->log_file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return c->log_before.st_ino == 0 || st.st_ino != c->log_before.st_ino ||
	       st.st_dev != c->log_before.st_dev || st.st_size != c->log_before.st_size ||
	       st.st_mtim.tv_sec != c->log_before.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != c->log_before.st_mtim.tv_nsec;
}

/* "criu dump failed: <what> (log: <path>)" with what = the callback's
 * error, or CRIU's Error lines, or its cr_errmsg, or its stderr. */
static int
criu_failed(struct call *c, const char *how, const char *cr_errmsg, ferry_error_t *err)
{
	_cleanup_free_ char *lines = NULL;
	_cleanup_free_ char *cb = NULL;
	_cleanup_free_ char *where = NULL;
	const char *what;

	if (c->cb_script)
		cb = xasprintf("notification %s: %s", c->cb_script,
			       c->cb_err.msg ? c->cb_err.msg : "the callback failed");
	if (c->log_dir_fd >= 0 && log_is_fresh(c))
		lines = ferry_criu_log_errors(c->log_dir_fd, c->log_file, LOG_ERROR_LINES);
	if (lines == NULL && cr_errmsg && *cr_errmsg)
		lines = xstrdup(cr_errmsg);
	if (lines == NULL)
		lines = stderr_lines(c->errfd);

	if (c->res->log_path)
		where = xasprintf(" (log: %s)", c->res->log_path);
	else
		where = xstrdup(c->log_dir_fd >= 0 ? " (log: unknown path)" : "");
	what = cb ? cb : lines ? lines : "CRIU gave no error message";
	if (how)
		return ferry_error_set(err, 0, "criu %s failed: %s%s%s%s", c->ai->name, how, cb || lines ? "; " : "",
				       cb || lines ? what : "", where);
	return ferry_error_set(err, 0, "criu %s failed: %s%s", c->ai->name, what, where);
}

static int
handle_notify(struct call *c, int sk, const CriuResp *resp, int *fd, ferry_error_t *err)
{
	const char *script = resp->notify && resp->notify->script ? resp->notify->script : "";
	pid_t pid = resp->notify && resp->notify->has_pid ? resp->notify->pid : 0;
	bool ok = true;

	if (resp->notify == NULL) {
		ferry_closep(fd);
		return ferry_error_set(err, EPROTO, "criu %s: notification without a body", c->ai->name);
	}
	pr_debug("%s: notification %s (pid %d, fd %d)", c->ai->name, script, (int) pid, *fd);
	/* After a failed callback CRIU aborts; any notification still on its
	 * way (e.g. a network-unlock while it rolls back) is acknowledged
	 * so CRIU can clean up. */
	if (c->o->notify && c->cb_script == NULL) {
		ferry_error_t cb_err = FERRY_ERROR_INIT;

		if (c->o->notify(script, pid, fd, c->o->notify_data, &cb_err) < 0) {
			ok = false;
			c->cb_script = xstrdup(*script ? script : "(unnamed)");
			c->cb_err = cb_err;
		} else {
			ferry_error_clear(&cb_err);
		}
	}
	ferry_closep(fd);
	return answer_notify(sk, ok, err);
}

static int
handle_final(struct call *c, const CriuResp *resp, ferry_error_t *err)
{
	struct ferry_criu_result *res = c->res;

	if (resp->has_cr_errno)
		res->cr_errno = resp->cr_errno;
	if (!resp->success || c->cb_script)
		return criu_failed(c, NULL, resp->cr_errmsg, err);

	switch (resp->type) {
	case CRIU_REQ_TYPE__DUMP:
		res->restored = resp->dump && resp->dump->has_restored && resp->dump->restored;
		break;
	case CRIU_REQ_TYPE__RESTORE:
		if (resp->restore == NULL || resp->restore->pid <= 0)
			return ferry_error_set(err, EPROTO, "criu restore succeeded without a pid");
		res->pid = resp->restore->pid;
		break;
	case CRIU_REQ_TYPE__PAGE_SERVER:
		if (resp->ps == NULL || !resp->ps->has_pid || resp->ps->pid <= 0 || !resp->ps->has_port)
			return ferry_error_set(err, EPROTO, "criu page-server started without a pid and port");
		res->pid = resp->ps->pid;
		res->port = resp->ps->port;
		break;
	case CRIU_REQ_TYPE__VERSION:
		if (resp->version == NULL)
			return ferry_error_set(err, EPROTO, "criu version answered without a version");
		res->version.major = resp->version->major_number;
		res->version.minor = resp->version->minor_number;
		res->version.sublevel = resp->version->has_sublevel ? resp->version->sublevel : 0;
		res->gitid = xstrdup(resp->version->gitid);
		break;
	case CRIU_REQ_TYPE__FEATURE_CHECK:
		if (resp->features == NULL)
			return ferry_error_set(err, EPROTO, "criu feature-check answered without features");
		res->features.mem_track = resp->features->has_mem_track && resp->features->mem_track;
		res->features.lazy_pages = resp->features->has_lazy_pages && resp->features->lazy_pages;
		res->features.pidfd_store = resp->features->has_pidfd_store && resp->features->pidfd_store;
		break;
	default:
		break;
	}
	return 0;
}

/* Talks to CRIU on sk until the final response.  Returns 0 or -1. */
static int
converse(struct call *c, int sk, ferry_error_t *err)
{
	_cleanup_free_ uint8_t *buf = xmalloc0(RPC_RESP_MAX);

	for (;;) {
		_cleanup_criu_resp_ CriuResp *resp = NULL;
		_cleanup_close_ int fd = -1;
		ssize_t n = recv_resp(sk, buf, RPC_RESP_MAX, &fd, err);

		if (n < 0)
			return ferry_error_prefix(err, "criu %s", c->ai->name);
		if (n == 0) {
			/* CRIU went away without a final answer: a crash, a
			 * kill, or an exit before it could reply. */
			_cleanup_free_ char *how = NULL;
			_cleanup_free_ char *msg = NULL;

			reap(c->child, &c->status);
			c->reaped = true;
			how = describe_exit(c->status);
			msg = xasprintf("CRIU ended without answering (%s)", how);
			return criu_failed(c, msg, NULL, err);
		}
		resp = criu_resp__unpack(NULL, (size_t) n, buf);
		if (resp == NULL)
			return ferry_error_set(err, EPROTO, "criu %s: undecodable response of %zd bytes", c->ai->name, n);
		if (resp->type == CRIU_REQ_TYPE__NOTIFY) {
			if (handle_notify(c, sk, resp, &fd, err) < 0) {
				if (!peer_gone(err))
					return ferry_error_prefix(err, "criu %s: answer notification", c->ai->name);
				/* gone meanwhile: the next recv sees EOF */
				ferry_error_clear(err);
			}
			continue;
		}
		if (fd >= 0)
			return ferry_error_set(err, EPROTO, "criu %s: descriptor on a non-notification response",
					       c->ai->name);
		/* EMPTY + !success is CRIU's answer to a request it could not
		 * parse or did not expect (send_criu_err()). */
		if (resp->type != c->ai->rtype && !(resp->type == CRIU_REQ_TYPE__EMPTY && !resp->success))
			return ferry_error_set(err, EPROTO, "criu %s: unexpected response type %d", c->ai->name,
					       (int) resp->type);
		return handle_final(c, resp, err);
	}
}

/*
 * CRIU opens the directories it is given as /proc/<ferry>/fd/N, which
 * resolve to mounts of ferry's namespace.  A CRIU in a namespace of its
 * own (criu_kdat.c) could not mount inside them (its cgroup yard, in the
 * work dir: EINVAL), so it is given the same directory as its namespace
 * sees it, through /proc/<criu>/root.  -1 when that is not the same
 * directory (then the original is used).
 */
static int
reopen_in_ns(pid_t pid, int fd)
{
	char link[64], path[PATH_MAX], there[PATH_MAX + 64];
	struct stat a, b;
	ssize_t n;
	int nfd;

	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return -1;
	path[n] = '\0';
	snprintf(there, sizeof(there), "/proc/%d/root%s", (int) pid, path);
	nfd = open(there, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0)
		return -1;
	if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(nfd);
		return -1;
	}
	return nfd;
}

/* Every CRIU error names the log (CONVENTIONS.md 8); criu_failed() does it
 * itself, protocol errors get it here. */
static void
add_log_path(ferry_error_t *err, const char *path)
{
	if (path == NULL || err == NULL || err->msg == NULL || strstr(err->msg, "(log: ") != NULL)
		return;
	char *msg = xasprintf("%s (log: %s)", err->msg, path);
	free(err->msg);
	err->msg = msg;
}

/*
 * Forks `criu swrk`: its socket at CHILD_SK_FD, fds[0..n) after it, stdin
 * and stdout /dev/null, stderr a memfd (w->errfd, for its last words).
 */
static int
spawn_swrk(const char *criu_path, const int *fds, size_t n, bool kdat, struct ferry_criu_swrk *w,
	   ferry_error_t *err)
{
	_cleanup_free_ int *src = NULL;
	_cleanup_free_ int *tmp = NULL;
	_cleanup_close_ int devnull = -1;
	_cleanup_close_ int errfd = -1;
	_cleanup_close_ int sk = -1;
	_cleanup_close_ int child_sk = -1;
	struct spawn sp = { 0 };
	int sks[2];
	int setup_done[2] = { -1, -1 };
	pid_t child;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (devnull < 0)
		return ferry_error_sys(err, "open /dev/null");
	errfd = memfd_create("criu-stderr", MFD_CLOEXEC);
	if (errfd < 0)
		return ferry_error_sys(err, "memfd_create");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sks) < 0)
		return ferry_error_sys(err, "socketpair");
	sk = sks[0];
	child_sk = sks[1];
	sp.n = 1 + n;
	src = xmalloc0(sp.n * sizeof(int));
	tmp = xmalloc0(sp.n * sizeof(int));
	src[0] = child_sk;
	for (size_t i = 0; i < n; i++)
		src[1 + i] = fds[i];
	sp.src = src;
	sp.tmp = tmp;
	sp.devnull = devnull;
	sp.errfd = errfd;
	snprintf(sp.fdarg, sizeof(sp.fdarg), "%d", CHILD_SK_FD);
	sp.argv[0] = (char *) criu_path;
	sp.argv[1] = (char *) "swrk";
	sp.argv[2] = sp.fdarg;
	sp.argv[3] = NULL;
	if (kdat) {
		ferry_criu_kdat_prepare(criu_path, &w->kdat);
		if (w->kdat.mnt_fd >= 0 && pipe2(setup_done, O_CLOEXEC) < 0)
			ferry_criu_kdat_finish(&w->kdat);
		if (w->kdat.mnt_fd >= 0)
			sp.kdat = &w->kdat;
	}
	child = fork();
	if (child < 0) {
		ferry_closep(&setup_done[0]);
		ferry_closep(&setup_done[1]);
		ferry_criu_kdat_finish(&w->kdat);
		return ferry_error_sys(err, "fork");
	}
	if (child == 0)
		child_exec(&sp);
	ferry_criu_kdat_forked(&w->kdat);
	if (setup_done[1] >= 0) {
		/* The child's end closes once its namespace is set up (at the
		 * latest at exec): the caller may then look into it. */
		char c;

		ferry_closep(&setup_done[1]);
		while (read(setup_done[0], &c, 1) < 0 && errno == EINTR)
			;
		ferry_closep(&setup_done[0]);
	}
	/* Only CRIU keeps its end (ours closes on return): if it dies,
	 * recv() sees EOF. */
	w->pid = child;
	w->sk = sk;
	w->errfd = errfd;
	sk = errfd = -1;
	return 0;
}

int
ferry_criu_rpc(enum ferry_criu_action action, const struct ferry_criu_opts *o, struct ferry_criu_result *res,
	       ferry_error_t *err)
{
	const struct action_info *ai = action_info(action);
	struct ferry_criu_result local_res = { 0 };
	_cleanup_free_ char *default_log = NULL;
	_cleanup_free_ int *fds = NULL;
	_cleanup_close_ int errfd = -1;
	_cleanup_close_ int sk = -1;
	struct ferry_criu_swrk run = FERRY_CRIU_SWRK_INIT;
	struct req_build b = { 0 };
	struct call c = { 0 };
	struct ferry_criu_opts o_ns;
	const struct ferry_criu_opts *req_o = o;
	_cleanup_close_ int img_ns = -1;
	_cleanup_close_ int work_ns = -1;
	int ret;

	if (res == NULL)
		res = &local_res;
	memset(res, 0, sizeof(*res));
	if (ai == NULL)
		return ferry_error_set(err, EINVAL, "unknown CRIU action %d", (int) action);
	if (validate_opts(ai, o, err) < 0)
		return -1;
	if (access(o->criu_path, X_OK) < 0)
		return ferry_error_sys(err, "criu %s: %s", ai->name, o->criu_path);

	c.ai = ai;
	c.o = o;
	c.res = res;
	c.log_dir_fd = -1;
	/* CRIU writes its log into the work dir, which defaults to the images
	 * dir.  Without either there is no log file: CRIU logs to stderr. */
	if (ai->sends_opts) {
		c.log_dir_fd = o->work_dir_fd >= 0 ? o->work_dir_fd : o->images_dir_fd;
		if (c.log_dir_fd >= 0) {
			if (o->log_file == NULL)
				default_log = xasprintf("%s.log", ai->name);
			c.log_file = o->log_file ? o->log_file : default_log;
			res->log_path = log_full_path(c.log_dir_fd, c.log_file);
			if (fstatat(c.log_dir_fd, c.log_file, &c.log_before, AT_SYMLINK_NOFOLLOW) < 0)
				memset(&c.log_before, 0, sizeof(c.log_before));
		}
	}

	if (o->swrk && o->swrk->pid > 0) {
		bool fits = o->ps_fd < 0 && o->n_inherit_fd <= o->swrk->n_null;

		for (size_t i = 0; fits && i < o->n_inherit_fd; i++)
			fits = o->inherit_fd[i].fd == o->swrk->null_fd;
		/* Its inherited fds are null_fd at CHILD_SK_FD + 1 on, as
		 * build_request numbers them. */
		if (fits)
			run = *o->swrk;
		else
			ferry_criu_swrk_stop(o->swrk);
		*o->swrk = (struct ferry_criu_swrk) FERRY_CRIU_SWRK_INIT;
	}
	if (run.pid <= 0) {
		size_t n = o->n_inherit_fd + (o->ps_fd >= 0 ? 1 : 0);

		fds = xmalloc0((n + 1) * sizeof(int));
		for (size_t i = 0; i < o->n_inherit_fd; i++)
			fds[i] = o->inherit_fd[i].fd;
		if (o->ps_fd >= 0)
			fds[o->n_inherit_fd] = o->ps_fd;
		/* Spawned for this call, after everything it needs is mounted:
		 * it may run in a namespace of its own with CRIU's kernel-probe
		 * cache (criu_kdat.c). */
		if (spawn_swrk(o->criu_path, fds, n, true, &run, err) < 0)
			return ferry_error_prefix(err, "criu %s", ai->name);
	}
	c.child = run.pid;
	c.errfd = errfd = run.errfd;
	sk = run.sk;
	if (run.kdat.mnt_fd >= 0) {
		img_ns = reopen_in_ns(run.pid, o->images_dir_fd);
		work_ns = reopen_in_ns(run.pid, o->work_dir_fd);
		if (img_ns >= 0 || work_ns >= 0) {
			o_ns = *o;
			if (img_ns >= 0)
				o_ns.images_dir_fd = img_ns;
			if (work_ns >= 0)
				o_ns.work_dir_fd = work_ns;
			req_o = &o_ns;
		}
	}
	if (o->spawned && o->spawned(c.child, o->spawned_data, err) < 0) {
		ret = -1;
	} else {
		build_request(ai, req_o, c.log_dir_fd >= 0 ? c.log_file : NULL, &b);
		ret = send_req(sk, &b.req, err);
		req_build_free(&b);
		if (ret < 0 && peer_gone(err)) {
			/* CRIU died before reading the request: converse() reads
			 * the EOF and reports how it ended, with its log. */
			ferry_error_clear(err);
			ret = 0;
		}
		if (ret < 0)
			ferry_error_prefix(err, "criu %s", ai->name);
		else
			ret = converse(&c, sk, err);
	}
	/* Hang up before waiting: a CRIU still waiting for a request or an
	 * answer (after an error on this side) then sees EOF and exits. */
	ferry_closep(&sk);
	if (!c.reaped)
		reap(c.child, &c.status);
	ferry_criu_kdat_finish(&run.kdat);
	if (ret == 0 && !(c.status != -1 && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)) {
		_cleanup_free_ char *how = describe_exit(c.status);
		/* The answer is what counts; how CRIU exits after it is not. */
		pr_debug("criu %s answered success, then %s", ai->name, how);
	}
	if (ret < 0)
		add_log_path(err, res->log_path);
	ferry_error_clear(&c.cb_err);
	free(c.cb_script);
	if (res == &local_res)
		ferry_criu_result_free(&local_res);
	return ret;
}

int
ferry_criu_swrk_start(const char *criu_path, int null_fd, size_t n_null, struct ferry_criu_swrk *w,
		      ferry_error_t *err)
{
	_cleanup_free_ int *fds = NULL;

	*w = (struct ferry_criu_swrk) FERRY_CRIU_SWRK_INIT;
	if (n_null > MAX_PASSED_FDS)
		return ferry_error_set(err, EINVAL, "%zu inherited fds for CRIU, at most %d", n_null, MAX_PASSED_FDS);
	if (access(criu_path, X_OK) < 0)
		return ferry_error_sys(err, "criu: %s", criu_path);
	fds = xmalloc0((n_null + 1) * sizeof(int));
	for (size_t i = 0; i < n_null; i++)
		fds[i] = null_fd;
	/* Started ahead: it must see mounts made after it starts, so it
	 * stays in the caller's mount namespace (and probes the kernel
	 * before it is needed anyway). */
	if (spawn_swrk(criu_path, fds, n_null, false, w, err) < 0)
		return ferry_error_prefix(err, "criu swrk");
	w->null_fd = null_fd;
	w->n_null = n_null;
	return 0;
}

void
ferry_criu_swrk_stop(struct ferry_criu_swrk *w)
{
	ferry_criu_kdat_finish(&w->kdat);
	ferry_closep(&w->sk);
	ferry_closep(&w->errfd);
	if (w->pid > 0) {
		int st;
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	w->pid = 0;
}

int
ferry_criu_rpc_version(const char *criu_path, struct ferry_criu_version *v, ferry_error_t *err)
{
	struct ferry_criu_opts o = FERRY_CRIU_OPTS_INIT;
	_cleanup_criu_result_ struct ferry_criu_result res = { 0 };

	o.criu_path = criu_path;
	if (ferry_criu_rpc(FERRY_CRIU_VERSION, &o, &res, err) < 0)
		return -1;
	*v = res.version;
	return 0;
}
