/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The identity and limits of a container process.
 *
 * Everything here runs in the process that is about to execve the
 * container's program (the init, or an exec'd process), after the
 * namespaces and mounts are in place.  Raw syscalls (capset, prctl,
 * ioprio_set, sched_setattr) are used instead of libcap and friends: they
 * are few, stable, and keep the init free of extra dependencies.
 */
#define LOG_PREFIX "process: "

#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#ifndef IOPRIO_NR_LEVELS
#define IOPRIO_NR_LEVELS 8 /* uapi headers before 6.1 */
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- limits ------------------------------------------------------------ */

static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",
	[RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",
	[RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",
	[RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",
	[RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
	[RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",
	[RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
	[RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
	[RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static const char *
rlimit_name(int resource, char *buf, size_t len)
{
	if (resource >= 0 && (size_t) resource < ARRAY_SIZE(rlimit_names) && rlimit_names[resource])
		return rlimit_names[resource];
	snprintf(buf, len, "rlimit %d", resource);
	return buf;
}

static const char *
rlim_str(uint64_t v, char *buf, size_t len)
{
	if (v == (uint64_t) RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* Whether CAP_SYS_RESOURCE (or any cap) is in our effective set: used only
 * to word errors precisely, never to decide what to attempt. */
static bool
have_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int
apply_rlimit(const struct ferry_rlimit *rl, ferry_error_t *err)
{
	struct rlimit new = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
	struct rlimit cur;
	char nb[32], sb[32], hb[32], cb[32];
	const char *name = rlimit_name(rl->resource, nb, sizeof(nb));
	int saved;

	if (setrlimit(rl->resource, &new) == 0)
		return 0;
	saved = errno;
	if (saved == EINVAL && rl->soft > rl->hard && rl->hard != (uint64_t) RLIM_INFINITY)
		return ferry_error_set(err, EINVAL, "%s: soft limit %s is above the hard limit %s", name,
				       rlim_str(rl->soft, sb, sizeof(sb)), rlim_str(rl->hard, hb, sizeof(hb)));
	if (saved == EPERM && getrlimit(rl->resource, &cur) == 0) {
		/* The kernel refuses two things with EPERM: a hard limit above
		 * the current one without CAP_SYS_RESOURCE, and an open-file
		 * limit above fs.nr_open even with it. */
		if (rl->resource == RLIMIT_NOFILE) {
			_cleanup_free_ char *nr = NULL;
			uint64_t nr_open;

			if (ferry_read_file("/proc/sys/fs/nr_open", 64, &nr, NULL, NULL) == 0) {
				nr[strcspn(nr, "\n")] = '\0';
				if (ferry_parse_u64(nr, &nr_open) == 0 && rl->hard > nr_open)
					return ferry_error_set(err, EPERM,
							       "%s (soft %s, hard %s): the hard limit is above "
							       "fs.nr_open (%" PRIu64 ")",
							       name, rlim_str(rl->soft, sb, sizeof(sb)),
							       rlim_str(rl->hard, hb, sizeof(hb)), nr_open);
			}
		}
		if (rl->hard > (uint64_t) cur.rlim_max && !have_effective_cap(CAP_SYS_RESOURCE))
			return ferry_error_set(err, EPERM,
					       "%s (soft %s, hard %s): raising the hard limit above the current "
					       "%s needs CAP_SYS_RESOURCE, which this process does not have",
					       name, rlim_str(rl->soft, sb, sizeof(sb)), rlim_str(rl->hard, hb, sizeof(hb)),
					       rlim_str(cur.rlim_max, cb, sizeof(cb)));
	}
	return ferry_error_set(err, saved, "setrlimit %s (soft %s, hard %s)", name, rlim_str(rl->soft, sb, sizeof(sb)),
			       rlim_str(rl->hard, hb, sizeof(hb)));
}

static int
apply_oom_score_adj(int adj, ferry_error_t *err)
{
	char val[16];
	ferry_error_t werr = FERRY_ERROR_INIT;
	int saved;

	snprintf(val, sizeof(val), "%d", adj);
	if (ferry_write_file("/proc/self/oom_score_adj", val, &werr) == 0)
		return 0;
	saved = werr.errno_;
	ferry_error_clear(&werr);
	/* The kernel answers EACCES when the value is below the lowest one
	 * set by a privileged writer (oom_score_adj_min) and the caller lacks
	 * CAP_SYS_RESOURCE: name the capability rather than "permission
	 * denied" on a file root can write. */
	if (saved == EACCES && !have_effective_cap(CAP_SYS_RESOURCE)) {
		_cleanup_free_ char *cur = NULL;

		if (ferry_read_file("/proc/self/oom_score_adj", 64, &cur, NULL, NULL) == 0)
			cur[strcspn(cur, "\n")] = '\0';
		return ferry_error_set(err, saved,
				       "oomScoreAdj %d: lowering the OOM score adjustment (now %s) needs "
				       "CAP_SYS_RESOURCE, which this process does not have",
				       adj, cur ? cur : "unknown");
	}
	return ferry_error_set(err, saved, "oomScoreAdj %d: write /proc/self/oom_score_adj", adj);
}

static const char *const ioprio_class_names[] = {
	[IOPRIO_CLASS_RT] = "IOPRIO_CLASS_RT",
	[IOPRIO_CLASS_BE] = "IOPRIO_CLASS_BE",
	[IOPRIO_CLASS_IDLE] = "IOPRIO_CLASS_IDLE",
};

static int
apply_io_priority(int klass, int prio, ferry_error_t *err)
{
	const char *name;

	if (klass < IOPRIO_CLASS_RT || klass > IOPRIO_CLASS_IDLE)
		return ferry_error_set(err, EINVAL, "ioPriority: unknown class %d", klass);
	name = ioprio_class_names[klass];
	/* The kernel has 8 levels per class (0 highest); a larger value would
	 * silently spill into the class bits. */
	if (prio < 0 || prio >= IOPRIO_NR_LEVELS)
		return ferry_error_set(err, EINVAL, "ioPriority %s: priority %d out of range 0..%d", name, prio,
				       IOPRIO_NR_LEVELS - 1);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(klass, prio)) < 0)
		return ferry_error_sys(err, "ioPriority %s priority %d: ioprio_set%s", name, prio,
				       errno == EPERM ? " (the realtime class needs CAP_SYS_ADMIN or CAP_SYS_NICE)" : "");
	return 0;
}

/* The first published layout (SCHED_ATTR_SIZE_VER0): every kernel with
 * sched_setattr accepts it.  Defined here because <linux/sched/types.h>
 * clashes with newer glibc's own definition. */
struct ferry_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

static const char *const sched_policy_names[] = {
	"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE",
};

static int
apply_scheduler(const struct ferry_process *p, ferry_error_t *err)
{
	struct ferry_sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = p->sched_policy,
		.sched_flags = p->sched_flags,
		.sched_nice = p->sched_nice,
		.sched_priority = p->sched_priority,
	};
	const char *name;

	if (p->sched_policy < 0 || (size_t) p->sched_policy >= ARRAY_SIZE(sched_policy_names))
		return ferry_error_set(err, EINVAL, "scheduler: unknown policy %d", p->sched_policy);
	name = sched_policy_names[p->sched_policy];
	if (p->sched_policy == SCHED_DEADLINE) {
		/* The kernel's own rule (sched_dl_overflow aside): 0 < runtime
		 * <= deadline <= period (period 0: the deadline).  Checked here
		 * so that the error names the fields, not a bare EINVAL. */
		uint64_t period = p->sched_period ? p->sched_period : p->sched_deadline;
		if (p->sched_runtime == 0 || p->sched_deadline < p->sched_runtime || period < p->sched_deadline)
			return ferry_error_set(err, EINVAL,
					       "scheduler: SCHED_DEADLINE needs 0 < runtime (%" PRIu64 ") <= deadline (%" PRIu64
					       ") <= period (%" PRIu64 ")",
					       p->sched_runtime, p->sched_deadline, p->sched_period);
		attr.sched_runtime = p->sched_runtime;
		attr.sched_deadline = p->sched_deadline;
		attr.sched_period = p->sched_period;
	}
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return ferry_error_sys(err, "scheduler: sched_setattr policy %s nice %d priority %d flags 0x%" PRIx64
					    "%s",
				       name, p->sched_nice, p->sched_priority, p->sched_flags,
				       p->sched_policy == SCHED_DEADLINE && errno == EBUSY
					       ? " (deadline bandwidth not available: admission control refused it)"
					       : "");
	return 0;
}

static int
apply_personality(const char *domain, ferry_error_t *err)
{
	unsigned long persona;

	/* runc supports the two domains only; flags are not applied. */
	if (domain == NULL || strcmp(domain, "LINUX") == 0)
		persona = PER_LINUX;
	else if (strcmp(domain, "LINUX32") == 0)
		persona = PER_LINUX32;
	else
		return ferry_error_set(err, EINVAL, "personality: unknown domain \"%s\" (expected LINUX or LINUX32)",
				       domain);
	if (personality(persona) < 0)
		return ferry_error_sys(err, "personality %s", domain ? domain : "LINUX");
	return 0;
}

int
ferry_process_apply_oom_score_adj(const struct ferry_process *p, ferry_error_t *err)
{
	return p->has_oom_score_adj ? apply_oom_score_adj(p->oom_score_adj, err) : 0;
}

int
ferry_process_apply_limits(const struct ferry_process *p, const struct ferry_linux *lx, ferry_error_t *err)
{
	/* Limits first, while still privileged: raising a hard limit or the
	 * realtime scheduling classes need capabilities the process may not
	 * keep. */
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (apply_rlimit(&p->rlimits[i], err) < 0)
			return -1;
	if (p->has_io_priority && apply_io_priority(p->io_priority_class, p->io_priority, err) < 0)
		return -1;
	if (p->has_scheduler && apply_scheduler(p, err) < 0)
		return -1;
	if (lx && lx->has_personality && apply_personality(lx->personality_domain, err) < 0)
		return -1;
	return 0;
}

/* ---- identity ---------------------------------------------------------- */

/* The running kernel's last capability: the config may name capabilities
 * this kernel does not know, and the bounding-set loop must cover those it
 * knows that ferry's tables may not. */
static int
cap_last_cap(void)
{
	_cleanup_free_ char *s = NULL;
	uint64_t v;
	int lo = 0, hi = 63;

	if (ferry_read_file("/proc/sys/kernel/cap_last_cap", 64, &s, NULL, NULL) == 0) {
		s[strcspn(s, "\n")] = '\0';
		if (ferry_parse_u64(s, &v) == 0 && v < 64)
			return (int) v;
	}
	/* No /proc (or a fake one): PR_CAPBSET_READ answers EINVAL past the
	 * last valid capability, so search for the boundary. */
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (prctl(PR_CAPBSET_READ, (unsigned long) mid, 0, 0, 0) >= 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static bool
setgroups_denied(void)
{
	_cleanup_free_ char *s = NULL;

	/* "deny" is only ever found in a user namespace whose gid map was
	 * written without setgroups permission; a missing file (no /proc, old
	 * kernel) means setgroups is governed by CAP_SETGID alone. */
	if (ferry_read_file("/proc/self/setgroups", 64, &s, NULL, NULL) < 0)
		return false;
	return strncmp(s, "deny", 4) == 0;
}

static int
drop_bounding(uint64_t keep, int last, ferry_error_t *err)
{
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ULL << cap))
			continue;
		/* Skip what is already gone so that a process without
		 * CAP_SETPCAP can still run a config that drops nothing new. */
		if (prctl(PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0)
			return ferry_error_sys(err, "drop capability %d from the bounding set%s", cap,
					       errno == EPERM ? " (needs CAP_SETPCAP)" : "");
	}
	return 0;
}

static int
set_ids(const struct ferry_process *p, ferry_error_t *err)
{
	if (p->n_additional_gids > 0) {
		if (setgroups_denied())
			return ferry_error_set(err, EPERM,
					       "additionalGids: setgroups is denied in this user namespace "
					       "(/proc/self/setgroups is \"deny\")");
		if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
			return ferry_error_sys(err, "setgroups (%zu additional gids)", p->n_additional_gids);
	} else if (!setgroups_denied()) {
		/* Drop the runtime's own supplementary groups: they must not
		 * leak into the container. */
		if (setgroups(0, NULL) < 0)
			return ferry_error_sys(err, "setgroups (clear)");
	}
	/* gid before uid: changing the gid needs CAP_SETGID, which the uid
	 * switch may take away. */
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return ferry_error_sys(err, "setresgid %u", (unsigned) p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return ferry_error_sys(err, "setresuid %u", (unsigned) p->uid);
	return 0;
}

static int
set_caps(const struct ferry_capabilities *c, ferry_error_t *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t) (c->effective >> (32 * i));
		data[i].permitted = (uint32_t) (c->permitted >> (32 * i));
		data[i].inheritable = (uint32_t) (c->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return ferry_error_sys(err,
				       "capset effective 0x%016" PRIx64 " permitted 0x%016" PRIx64
				       " inheritable 0x%016" PRIx64 "%s",
				       c->effective, c->permitted, c->inheritable,
				       (c->effective & ~c->permitted) ? " (effective is not within permitted)" : "");
	return 0;
}

static int
set_ambient(uint64_t ambient, int last, ferry_error_t *err)
{
	/* Ambient capabilities survive execve of an unprivileged program;
	 * start from an empty set so nothing of the runtime's leaks in. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (errno != EINVAL || ambient != 0)
			return ferry_error_sys(err, "clear the ambient capabilities");
		return 0; /* kernel < 4.3: no ambient set, nothing asked */
	}
	for (int cap = 0; cap <= last; cap++) {
		if (!(ambient & (1ULL << cap)))
			continue;
		/* The kernel refuses a capability that is not in both the
		 * permitted and inheritable sets.  The runtime spec says such a
		 * request is warned about, not fatal; runc and crun agree. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long) cap, 0, 0) < 0)
			pr_debug("cannot raise ambient capability %d (it must be permitted and inheritable): %s", cap, strerror(errno));
	}
	return 0;
}

int
ferry_process_apply_identity(const struct ferry_process *p, ferry_error_t *err)
{
	/* A config without "capabilities" gets none, like runc: it builds an
	 * empty capability list when neither the process nor the container
	 * config has one.  (exec without capabilities in process.json must be
	 * given the container's by the caller.) */
	struct ferry_capabilities caps = { 0 };
	int last = cap_last_cap();
	uint64_t known = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;

	if (p->caps.present)
		caps = p->caps;
	/* Capabilities this kernel does not have cannot be granted: warn and
	 * leave them out (runtime spec), rather than let capset or the ambient
	 * prctl fail on them. */
	if ((caps.bounding | caps.effective | caps.permitted | caps.inheritable | caps.ambient) & ~known)
		pr_warn("ignoring capabilities above %d, unknown to this kernel", last);
	caps.bounding &= known;
	caps.effective &= known;
	caps.permitted &= known;
	caps.inheritable &= known;
	caps.ambient &= known;

	/* runc's order.  NO_NEW_PRIVS first: it cannot be undone, needs no
	 * privilege, and is what lets an unprivileged seccomp load later. */
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return ferry_error_sys(err, "set no_new_privs");
	/* The bounding set needs CAP_SETPCAP to shrink: do it while still
	 * fully privileged. */
	if (drop_bounding(caps.bounding, last, err) < 0)
		return -1;
	/* Without KEEPCAPS the switch away from uid 0 empties the permitted
	 * set, and capset below can only ever lower it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return ferry_error_sys(err, "set keepcaps");
	if (set_ids(p, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return ferry_error_sys(err, "clear keepcaps");
	if (set_caps(&caps, err) < 0)
		return -1;
	/* After capset: raising an ambient capability needs it permitted and
	 * inheritable already. */
	return set_ambient(caps.ambient, last, err);
}

/* ---- LSM --------------------------------------------------------------- */

/* Writes an LSM attribute, refusing anything that is not procfs: a
 * container image or volume mounted over /proc must not be able to make
 * the label write land in an ordinary file and silently run the process
 * unconfined (CVE-2019-16884). */
static int
write_proc_attr(const char *path, const char *value, ferry_error_t *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct statfs sfs;
	size_t len = strlen(value);
	ssize_t w;

	if (fd < 0)
		return ferry_error_sys(err, "open %s", path);
	if (fstatfs(fd, &sfs) < 0)
		return ferry_error_sys(err, "statfs %s", path);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return ferry_error_set(err, EINVAL, "%s is not on procfs: refusing to write the label there", path);
	/* One write: the kernel parses the attribute from a single buffer. */
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return ferry_error_sys(err, "write '%s' to %s", value, path);
	return 0;
}

static bool
apparmor_enabled(void)
{
	_cleanup_free_ char *s = NULL;

	if (ferry_read_file("/sys/module/apparmor/parameters/enabled", 64, &s, NULL, NULL) < 0)
		return false;
	return s[0] == 'Y';
}

static int
apply_apparmor(const char *profile, ferry_error_t *err)
{
	_cleanup_free_ char *value = NULL;
	const char *attr;

	if (!apparmor_enabled())
		return ferry_error_set(err, EOPNOTSUPP,
				       "AppArmor profile %s requested but AppArmor is not enabled on this host", profile);
	/* "exec" changes the profile at the next execve, not now, so the rest
	 * of the set-up still runs under the runtime's profile. */
	value = xasprintf("exec %s", profile);
	/* Kernels with LSM stacking (5.1+) have a per-LSM directory; the
	 * shared attr/exec is the fallback for older ones. */
	attr = access("/proc/self/attr/apparmor/exec", F_OK) == 0 ? "/proc/self/attr/apparmor/exec"
								   : "/proc/self/attr/exec";
	if (write_proc_attr(attr, value, err) < 0)
		return ferry_error_prefix(err, "AppArmor profile %s", profile);
	return 0;
}

static int
apply_selinux(const char *label, ferry_error_t *err)
{
	if (access("/sys/fs/selinux/enforce", F_OK) < 0)
		return ferry_error_set(err, EOPNOTSUPP,
				       "SELinux label %s requested but SELinux is not enabled on this host "
				       "(selinuxfs is not mounted on /sys/fs/selinux)",
				       label);
	if (write_proc_attr("/proc/self/attr/exec", label, err) < 0)
		return ferry_error_prefix(err, "SELinux label %s", label);
	return 0;
}

int
ferry_process_apply_lsm(const struct ferry_process *p, ferry_error_t *err)
{
	if (p->apparmor_profile && p->apparmor_profile[0] && apply_apparmor(p->apparmor_profile, err) < 0)
		return -1;
	if (p->selinux_label && p->selinux_label[0] && apply_selinux(p->selinux_label, err) < 0)
		return -1;
	return 0;
}

/* ---- executable lookup -------------------------------------------------- */

/* 0 when path is a regular file we may execute, else an errno. */
static int
check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	/* execve refuses anything but a regular file; root passes access(X_OK)
	 * as soon as one exec bit is set, so test the bits as well. */
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return EACCES;
	/* eaccess also catches noexec mounts and non-root identities. */
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return errno;
	return 0;
}

static const char *
env_path(char *const *env)
{
	const char *path = NULL;

	/* The last PATH wins, as when the entries are applied in order. */
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			path = env[i] + 5;
	return path ? path : DEFAULT_PATH;
}

int
ferry_process_find_executable(const char *arg0, char *const *env, char **out, ferry_error_t *err)
{
	const char *path;

	if (arg0 == NULL)
		return ferry_error_set(err, EINVAL, "process.args is empty: no program to run");
	/* The wording is runc's (Go's exec.LookPath): tools and users match
	 * on it. */
	if (strchr(arg0, '/')) {
		int e = check_executable(arg0);

		if (e == ENOENT || e == ENOTDIR)
			return ferry_error_set(err, 0, "exec: \"%s\": stat %s: %s", arg0, arg0,
					       e == ENOENT ? "no such file or directory" : "not a directory");
		if (e == EISDIR)
			return ferry_error_set(err, 0, "exec: \"%s\": is a directory", arg0);
		if (e == EACCES)
			return ferry_error_set(err, 0, "exec: \"%s\": permission denied", arg0);
		if (e != 0)
			return ferry_error_set(err, e, "exec: \"%s\"", arg0);
		*out = xstrdup(arg0);
		return 0;
	}
	path = env_path(env);
	/* An empty PATH searches nowhere (Go's rule); an empty entry inside
	 * one is the current directory (execvp's and Go's). */
	for (const char *seg = path; arg0[0] && path[0];) {
		const char *end = strchrnul(seg, ':');
		_cleanup_free_ char *cand = NULL;

		if (end == seg)
			cand = xasprintf("./%s", arg0);
		else
			cand = xasprintf("%.*s/%s", (int) (end - seg), seg, arg0);
		if (check_executable(cand) == 0) {
			*out = steal_pointer(&cand);
			return 0;
		}
		if (*end == '\0')
			break;
		seg = end + 1;
	}
	return ferry_error_set(err, 0, "exec: \"%s\": executable file not found in $PATH", arg0);
}
