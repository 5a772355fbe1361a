/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Driving CRIU through `criu swrk` RPC.
 *
 * One call = one CRIU child: ferry forks `criu swrk 3` with one end of a
 * SOCK_SEQPACKET socketpair as fd 3, sends one CriuReq (built from CRIU's
 * own rpc.proto, see src/lib/meson.build), answers CRIU's notifications
 * through the caller's callback, reads the final response, and reaps the
 * child.  CRIU is the checkpoint engine; this module only speaks to it.
 *
 * Which fds CRIU sees, and how:
 *   - images_dir_fd, work_dir_fd, status_fd, pidfd_store_sk are numbers in
 *     the *caller's* fd table.  CRIU learns the caller's pid from
 *     SO_PEERCRED on the RPC socket (the process that called socketpair(),
 *     i.e. this one) and reopens them as /proc/<that pid>/fd/<N>
 *     (criu/cr-service.c, setup_opts_from_req(); seen with strace on 4.2.1:
 *     getsockopt(SO_PEERCRED) -> openat("/proc/<ferry>/fd/77") -> chdir
 *     there).  So they must stay open here for the whole call, need no
 *     O_CLOEXEC exception, and are not inherited by CRIU.
 *   - inherit_fd[].fd and page_server.fd are used by CRIU as fds of its own
 *     table, so they are passed into the child, renumbered to 4, 5, ...
 *     (the request carries the child's numbers).
 *   - Nothing else crosses exec: stdin/stdout go to /dev/null, stderr to a
 *     private memfd that is quoted only when CRIU died before its log
 *     said why.  CRIU writes its own log file in the work directory.
 */
#ifndef FERRY_CRIU_RPC_H
#define FERRY_CRIU_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "criu.h"
#include "criu_kdat.h"
#include "criu_stats.h"
#include "error.h"

enum ferry_criu_action {
	FERRY_CRIU_DUMP = 1,
	/* One memory pre-dump (CRIU's SINGLE_PRE_DUMP: the swrk child does
	 * not wait for a follow-up DUMP on the same socket). */
	FERRY_CRIU_PRE_DUMP,
	FERRY_CRIU_RESTORE,
	/* Starts a daemonized page server; result: its pid and port. */
	FERRY_CRIU_PAGE_SERVER,
	FERRY_CRIU_CHECK,
	/* Result: which of mem_track, lazy_pages, pidfd_store work here. */
	FERRY_CRIU_FEATURE_CHECK,
	FERRY_CRIU_VERSION,
	/* Writes cpuinfo.img into images_dir_fd / checks it against this CPU. */
	FERRY_CRIU_CPUINFO_DUMP,
	FERRY_CRIU_CPUINFO_CHECK,
};

/* "dump", "pre-dump", "restore", ... (also the default log file stem). */
const char *ferry_criu_action_name(enum ferry_criu_action action);

enum ferry_criu_cg_mode {
	FERRY_CRIU_CG_UNSET = 0, /* not sent: CRIU's default (soft) */
	FERRY_CRIU_CG_SOFT,      /* restore missing cgroups, set properties only in new ones */
	FERRY_CRIU_CG_FULL,      /* restore all properties, cgroups must not exist yet */
	FERRY_CRIU_CG_STRICT,    /* like full, and fail on any property it cannot set */
	FERRY_CRIU_CG_IGNORE,    /* leave cgroups entirely to ferry */
	FERRY_CRIU_CG_PROPS,     /* only the properties, not the membership */
	FERRY_CRIU_CG_NONE,      /* neither */
};

enum ferry_criu_net_lock {
	FERRY_CRIU_NETLOCK_UNSET = 0, /* not sent: CRIU's default (iptables) */
	FERRY_CRIU_NETLOCK_IPTABLES,
	FERRY_CRIU_NETLOCK_NFTABLES,
	/* No lock at all: only safe when ferry locks the network itself. */
	FERRY_CRIU_NETLOCK_SKIP,
};

enum ferry_criu_pre_dump_mode {
	FERRY_CRIU_PRE_DUMP_UNSET = 0,
	FERRY_CRIU_PRE_DUMP_SPLICE,  /* pages spliced into pipes while frozen */
	FERRY_CRIU_PRE_DUMP_VM_READ, /* process_vm_readv after unfreezing: shorter freeze */
};

struct ferry_criu_kv {
	const char *key;
	const char *val;
};

/* runc's key for a network namespace joined by path: external at the dump
 * ("net[INODE]:extRootNetNS"), an inherit_fd of the restoring config's. */
#define FERRY_CRIU_EXT_NETNS "extRootNetNS"

struct ferry_criu_inherit_fd {
	const char *key; /* e.g. "pipe:[1234]", "file[mnt:ino]" */
	int fd;          /* in the caller's table; passed into CRIU */
};

struct ferry_criu_cg_root {
	const char *ctrl; /* NULL: every controller */
	const char *path;
};

/*
 * A notification ("action script" in CRIU's terms).  script is CRIU's name:
 * pre-dump, post-dump, network-lock, network-unlock, pre-restore,
 * setup-namespaces, post-setup-namespaces, pre-resume, post-resume,
 * post-restore, orphan-pts-master, status-ready, query-ext-files...  pid
 * is the root task's real pid where CRIU sends one (setup-namespaces,
 * post-restore), else 0.  *fd is the descriptor that came with the message
 * as SCM_RIGHTS (the pty master for orphan-pts-master), or -1; it is
 * O_CLOEXEC, and the callback takes it by setting *fd = -1, otherwise it is
 * closed after the callback returns.
 *
 * Returning < 0 (with err filled) answers notify_success = false: CRIU then
 * aborts the operation (a dump resumes the tree, a restore kills it) and the
 * call fails with the callback's error.  CRIU waits for the answer, so the
 * callback runs while the tree is frozen (dump) or half-restored.
 */
typedef int (*ferry_criu_notify_fn)(const char *script, pid_t pid, int *fd, void *data, ferry_error_t *err);

/* Initialise with FERRY_CRIU_OPTS_INIT or ferry_criu_opts_init(): fds
 * default to -1, which zero-initialisation would not give. */
struct ferry_criu_opts {
	const char *criu_path; /* required; see ferry_criu_require() */

	/* Where images are read/written.  Needed by every action but VERSION,
	 * CHECK and FEATURE_CHECK. */
	int images_dir_fd;
	/* Where CRIU writes its log (and, with lazy pages, its socket);
	 * -1: the images directory. */
	int work_dir_fd;
	/* A file name in the work directory, no '/' (CRIU refuses subdirs).
	 * NULL: "<action>.log".  Without any directory, CRIU logs to stderr. */
	const char *log_file;
	int log_level; /* 0: 4 (debug), which is what makes failures diagnosable */

	pid_t pid;        /* dump/pre-dump: the root of the tree */
	const char *root; /* restore: the root filesystem (mount point) */

	bool leave_running;   /* dump: resume the tree afterwards instead of killing it */
	bool leave_stopped;   /* dump: leave it stopped (SIGSTOP state) */
	bool tcp_established; /* dump/restore established TCP through TCP_REPAIR */
	/* Dump connections in SYN_SENT/SYN_RECV state by skipping them: the
	 * peer retransmits after restore. */
	bool tcp_skip_in_flight;
	/* Restore: recreate established connections closed (for a host where
	 * the peers cannot follow). */
	bool tcp_close;
	bool ext_unix_sk;  /* allow unix sockets whose peer is outside the tree */
	bool shell_job;    /* tree lives in the caller's session/tty */
	bool file_locks;   /* dump and restore flock/posix locks */
	bool link_remap;   /* dump open-but-unlinked files by linking them back */
	bool auto_dedup;   /* punch pages already in the parent image out of it */
	bool lazy_pages;   /* dump: serve memory on demand; restore: fetch it lazily */
	bool orphan_pts_master; /* restore: send the pty master via orphan-pts-master */
	/* restore: the tree's root becomes a child of the caller (CLONE_PARENT),
	 * not of CRIU; the caller reaps it.  runc's "detached" restore. */
	bool rst_sibling;
	bool notify_scripts; /* send notifications; needs notify below */
	bool evasive_devices;    /* accept device files that differ on restore */
	bool weak_sysctls;       /* skip sysctls this kernel does not have */
	bool skip_file_rwx_check;
	bool auto_ext_mnt;       /* treat mounts from outside the mntns as external */
	bool ext_sharing, ext_masters;
	bool mntns_compat_mode;

	/* Cgroups: manage_cgroups is the legacy switch (soft); a set mode
	 * overrides it. */
	bool manage_cgroups;
	enum ferry_criu_cg_mode manage_cgroups_mode;
	/* dump: freeze through this cgroup's freezer instead of ptrace-seizing
	 * each task in turn (atomic for fork-heavy trees). */
	const char *freeze_cgroup;
	const struct ferry_criu_cg_root *cg_roots; /* restore: where to put the tree */
	size_t n_cg_roots;
	const char *const *cgroup_dump_controllers; /* dump only these controllers */
	size_t n_cgroup_dump_controllers;
	const char *cgroup_yard; /* an already mounted cgroup tree CRIU may use */

	/* Pre-dump chain: a path relative to the images dir ("../1"). */
	const char *parent_img;
	bool track_mem; /* reset soft-dirty bits so the next dump copies only changes */
	enum ferry_criu_pre_dump_mode pre_dump_mode;

	/* Page server: dump sends pages to ps_address:ps_port (with
	 * lazy_pages: dump *serves* them there); PAGE_SERVER listens there
	 * (port 0: any, reported back).  ps_fd: an already connected socket
	 * (passed into CRIU). */
	const char *ps_address;
	int ps_port;
	int ps_fd;

	/* TLS on the page-server connection (CRIU's own gnutls): PEM files;
	 * both ends verify the peer against tls_cacert.  no_cn_verify: the
	 * connection was handed over as ps_fd, so CRIU has no host name to
	 * check the server's certificate against. */
	bool tls;
	bool tls_no_cn_verify;
	const char *tls_cacert;
	const char *tls_cert;
	const char *tls_key;

	int status_fd;      /* CRIU writes '\0' when a lazy-pages/page-server is ready */
	int pidfd_store_sk; /* pidfds kept across pre-dumps to detect pid reuse */

	unsigned int empty_ns; /* CLONE_NEWNET only: restore into an empty netns */
	const struct ferry_criu_kv *ext_mnt; /* "mnt[key]:val" pairs */
	size_t n_ext_mnt;
	const char *const *external; /* "mnt[...]:...", "net[ino]:...", "dev[...]"... */
	size_t n_external;
	const struct ferry_criu_inherit_fd *inherit_fd;
	size_t n_inherit_fd;
	const struct ferry_criu_kv *join_ns; /* key: "net"/"uts"/..., val: ns file */
	size_t n_join_ns;
	const char *const *skip_mnt;
	size_t n_skip_mnt;
	const char *const *enable_fs;
	size_t n_enable_fs;

	const char *lsm_profile;       /* restore: "apparmor:NAME" / "selinux:CTX" */
	const char *lsm_mount_context; /* restore: SELinux context=... for new mounts */
	enum ferry_criu_net_lock network_lock;
	uint32_t ghost_limit; /* 0: CRIU's default (1 MiB) */
	uint32_t timeout;     /* seconds for the freeze; 0: CRIU's default */
	const char *config_file; /* a CRIU config file that overrides the request */

	ferry_criu_notify_fn notify;
	void *notify_data;
	/* Called with CRIU's pid right after it is forked, before the request
	 * is sent: `ferry migrate` tells its guardian which process to wait
	 * for; a restore moves CRIU into the container's cgroup while CRIU
	 * still loads.  Failing hangs up on CRIU, which then exits. */
	int (*spawned)(pid_t pid, void *data, ferry_error_t *err);
	void *spawned_data;
	/* A `criu swrk` started ahead (ferry_criu_swrk_start): used instead
	 * of a fresh one when the request fits it (every inherited fd is its
	 * /dev/null, no ps_fd), else stopped and a fresh one started. */
	struct ferry_criu_swrk *swrk;
};

/*
 * A `criu swrk` started before it is needed: its exec, dynamic loading and
 * kernel probes (about 4 ms here) are then paid ahead, e.g. before a
 * migration's freeze.  It holds null_fd (/dev/null) n_null times as its
 * inherited fds and waits for one request.
 */
struct ferry_criu_swrk {
	pid_t pid; /* 0: none (never started, used, or stopped) */
	int sk;
	int errfd;
	int null_fd;
	size_t n_null;
	struct ferry_criu_kdat kdat; /* the child's /run (criu_kdat.c) */
};
#define FERRY_CRIU_SWRK_INIT                                                                                  \
	{ .pid = 0, .sk = -1, .errfd = -1, .null_fd = -1, .n_null = 0, .kdat = FERRY_CRIU_KDAT_INIT }
int ferry_criu_swrk_start(const char *criu_path, int null_fd, size_t n_null, struct ferry_criu_swrk *w,
			  ferry_error_t *err);
/* Hangs up (CRIU exits on EOF), kills and reaps it. */
void ferry_criu_swrk_stop(struct ferry_criu_swrk *w);

#define FERRY_CRIU_OPTS_INIT \
	{ \
		.images_dir_fd = -1, .work_dir_fd = -1, .ps_fd = -1, .status_fd = -1, .pidfd_store_sk = -1, \
	}

void ferry_criu_opts_init(struct ferry_criu_opts *o);

struct ferry_criu_features {
	bool mem_track;   /* soft-dirty tracking: pre-dump works */
	bool lazy_pages;  /* userfaultfd, non-cooperative: lazy restore works */
	bool pidfd_store; /* pidfd_open + pidfd_getfd */
};

struct ferry_criu_result {
	pid_t pid;         /* RESTORE: the restored root; PAGE_SERVER: the server */
	int port;          /* PAGE_SERVER: its port */
	bool restored;     /* DUMP: CRIU reports the tree was restored in place */
	int cr_errno;      /* CRIU's errno on failure, 0 if it sent none */
	struct ferry_criu_version version; /* VERSION */
	char *gitid;                        /* VERSION, may be NULL; owned */
	struct ferry_criu_features features; /* FEATURE_CHECK */
	char *log_path;    /* full path of CRIU's log, NULL when none; owned */
};

void ferry_criu_result_free(struct ferry_criu_result *r);
#define _cleanup_criu_result_ __attribute__((cleanup(ferry_criu_result_free)))

/*
 * Runs one CRIU action and returns when CRIU has answered and exited.
 * res may be NULL; when given it is filled (and must be freed with
 * ferry_criu_result_free) whether or not the call succeeds.
 *
 * A lazy dump (lazy_pages with a page server address) returns only after
 * the restore side has fetched every page: the restore must be started
 * from the status-ready notification or from another thread/process.
 * CRIU's pid and its exit are this call's business: it reaps its child
 * with waitpid(pid), so a caller must not reap all children meanwhile.
 *
 * On failure the error reads
 *   criu dump failed: (00.012) Error (criu/cr-dump.c:...): ... (log: /path/dump.log)
 * quoting at most three of CRIU's first "Error" lines (or CRIU's own
 * cr_errmsg, or its stderr, when the log has none), or, when CRIU died, how
 * it died.  A callback's error is reported as such.  The child is always
 * reaped before returning.
 */
int ferry_criu_rpc(enum ferry_criu_action action, const struct ferry_criu_opts *opts, struct ferry_criu_result *res,
		   ferry_error_t *err);

/* VERSION, as a convenience: what the CRIU binary itself reports over RPC. */
int ferry_criu_rpc_version(const char *criu_path, struct ferry_criu_version *v, ferry_error_t *err);

/*
 * The first max_lines lines of dir_fd/log_name that contain "Error",
 * joined by "; ", without newlines; each cut at 512 bytes.  Lines CRIU
 * logs as errors although nothing failed (its RLIMIT_NOFILE raise on a host
 * without CAP_SYS_RESOURCE) are skipped.  NULL when the log cannot be read
 * or has no such line.  Caller frees.
 */
char *ferry_criu_log_errors(int dir_fd, const char *log_name, size_t max_lines);

#endif
