/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Name tables of the runtime-spec (capabilities, signals, namespaces,
 * rlimits, scheduler and seccomp names) and the mount option parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "spec.h"
#include "spec_internal.h"
#include "util.h"

/* Older kernel headers lack the newest ones; the numbers are ABI. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* ---- capabilities ------------------------------------------------------ */

#define CAP(n) [CAP_##n] = "CAP_" #n
static const char *const cap_names[] = {
	CAP(CHOWN),	      CAP(DAC_OVERRIDE),    CAP(DAC_READ_SEARCH), CAP(FOWNER),	    CAP(FSETID),
	CAP(KILL),	      CAP(SETGID),	    CAP(SETUID),	  CAP(SETPCAP),	    CAP(LINUX_IMMUTABLE),
	CAP(NET_BIND_SERVICE), CAP(NET_BROADCAST),  CAP(NET_ADMIN),	  CAP(NET_RAW),	    CAP(IPC_LOCK),
	CAP(IPC_OWNER),	      CAP(SYS_MODULE),	    CAP(SYS_RAWIO),	  CAP(SYS_CHROOT),  CAP(SYS_PTRACE),
	CAP(SYS_PACCT),	      CAP(SYS_ADMIN),	    CAP(SYS_BOOT),	  CAP(SYS_NICE),    CAP(SYS_RESOURCE),
	CAP(SYS_TIME),	      CAP(SYS_TTY_CONFIG),  CAP(MKNOD),		  CAP(LEASE),	    CAP(AUDIT_WRITE),
	CAP(AUDIT_CONTROL),   CAP(SETFCAP),	    CAP(MAC_OVERRIDE),	  CAP(MAC_ADMIN),   CAP(SYSLOG),
	CAP(WAKE_ALARM),      CAP(BLOCK_SUSPEND),   CAP(AUDIT_READ),	  CAP(PERFMON),	    CAP(BPF),
	CAP(CHECKPOINT_RESTORE),
};
#undef CAP

/* Case-insensitive, with or without "CAP_", for command-line use
 * ("--cap-add sys_admin"); config.json is held to the exact form by the
 * parser before it asks. */
int
ferry_cap_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(name, cap_names[i]) == 0 || strcasecmp(name, cap_names[i] + 4) == 0)
			return i;
	return -1;
}

const char *
ferry_cap_name(int cap)
{
	if (cap < 0 || (size_t) cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

/* The running kernel's last capability, which may be above the last one
 * ferry has a name for: dropping a bounding set has to go up to it. */
int
ferry_cap_last(void)
{
	_cleanup_free_ char *buf = NULL;
	int64_t v;

	if (ferry_read_file("/proc/sys/kernel/cap_last_cap", 64, &buf, NULL, NULL) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (ferry_parse_i64(buf, &v) == 0 && v >= 0 && v < 64)
			return v;
	}
	return ARRAY_SIZE(cap_names) - 1;
}

/* ---- namespaces -------------------------------------------------------- */

static const struct {
	const char *name;
	int type;
} ns_table[] = {
	{ "pid", CLONE_NEWPID },   { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },   { "uts", CLONE_NEWUTS },	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

const char *
ferry_ns_name(int type)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_table); i++)
		if (ns_table[i].type == type)
			return ns_table[i].name;
	return NULL;
}

int
ferry_ns_from_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(ns_table); i++)
		if (strcmp(ns_table[i].name, name) == 0)
			return ns_table[i].type;
	return -1;
}

/* ---- rlimits ----------------------------------------------------------- */

#define RL(n) [RLIMIT_##n] = "RLIMIT_" #n
static const char *const rlimit_names[] = {
	RL(CPU),    RL(FSIZE), RL(DATA),	 RL(STACK),    RL(CORE), RL(RSS),    RL(NPROC),	 RL(NOFILE),
	RL(MEMLOCK), RL(AS),   RL(LOCKS), RL(SIGPENDING), RL(MSGQUEUE), RL(NICE), RL(RTPRIO), RL(RTTIME),
};
#undef RL

/* Lenient like ferry_cap_from_name; the parser insists on the exact name. */
int
ferry_rlimit_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i] &&
		    (strcasecmp(name, rlimit_names[i]) == 0 || strcasecmp(name, rlimit_names[i] + 7) == 0))
			return i;
	return -1;
}

const char *
ferry_rlimit_name(int resource)
{
	if (resource < 0 || (size_t) resource >= ARRAY_SIZE(rlimit_names))
		return NULL;
	return rlimit_names[resource];
}

/* ---- signals ----------------------------------------------------------- */

static const struct {
	const char *name;
	int sig;
} signal_table[] = {
	{ "HUP", SIGHUP },     { "INT", SIGINT },	{ "QUIT", SIGQUIT },   { "ILL", SIGILL },   { "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },   { "IOT", SIGIOT },	{ "BUS", SIGBUS },     { "FPE", SIGFPE },   { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },	{ "USR2", SIGUSR2 },   { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },   { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },   { "CLD", SIGCHLD },  { "CONT", SIGCONT },
	{ "STOP", SIGSTOP },   { "TSTP", SIGTSTP },	{ "TTIN", SIGTTIN },   { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },       { "POLL", SIGPOLL },	{ "PWR", SIGPWR },     { "SYS", SIGSYS },
};

/* Decimal digits only, no sign, no spaces; -1 if not that or too big. */
static int
parse_small_uint(const char *s)
{
	int v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * "9", "KILL", "SIGKILL", "sigkill", "SIGRTMIN+3", "RTMAX-1".  RTMIN is
 * the C library's SIGRTMIN (34 with glibc, which keeps 32 and 33 for
 * threads), as in kill(1), Docker and systemd: SIGRTMIN+3 is 37.
 */
int
ferry_signal_parse(const char *s)
{
	int n;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s >= '0' && *s <= '9') {
		n = parse_small_uint(s);
		return n >= 1 && n <= SIGRTMAX ? n : -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_table); i++)
		if (strcasecmp(s, signal_table[i].name) == 0)
			return signal_table[i].sig;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		if (s[5] == '\0')
			return SIGRTMIN;
		if (s[5] != '+')
			return -1;
		n = parse_small_uint(s + 6);
		return n >= 0 && n <= SIGRTMAX - SIGRTMIN ? SIGRTMIN + n : -1;
	}
	if (strncasecmp(s, "RTMAX", 5) == 0) {
		if (s[5] == '\0')
			return SIGRTMAX;
		if (s[5] != '-')
			return -1;
		n = parse_small_uint(s + 6);
		return n >= 0 && n <= SIGRTMAX - SIGRTMIN ? SIGRTMAX - n : -1;
	}
	return -1;
}

/* ---- scheduler, I/O priority, seccomp ---------------------------------- */

int
spec_sched_policy_from_name(const char *name)
{
	/* SCHED_ISO is reserved by the kernel (4) and refused by
	 * sched_setattr; the spec lists it, so it parses and fails there. */
	static const char *const names[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",	    "SCHED_BATCH",
					     "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int
spec_sched_flag_from_name(const char *name, uint64_t *flag)
{
	/* Bit i is flag i (linux/sched.h SCHED_FLAG_*). */
	static const char *const names[] = {
		"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",	  "SCHED_FLAG_DL_OVERRUN",
		"SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS",	  "SCHED_FLAG_UTIL_CLAMP_MIN",
		"SCHED_FLAG_UTIL_CLAMP_MAX",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			*flag = 1ULL << i;
			return 0;
		}
	}
	return -1;
}

int
spec_ioprio_class_from_name(const char *name)
{
	/* IOPRIO_CLASS_RT = 1, BE = 2, IDLE = 3 (linux/ioprio.h) */
	if (strcmp(name, "IOPRIO_CLASS_RT") == 0)
		return 1;
	if (strcmp(name, "IOPRIO_CLASS_BE") == 0)
		return 2;
	if (strcmp(name, "IOPRIO_CLASS_IDLE") == 0)
		return 3;
	return -1;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
spec_seccomp_action_valid(const char *name)
{
	static const char *const names[] = {
		"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
		"SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",	   "SCMP_ACT_LOG",	   "SCMP_ACT_NOTIFY",
	};

	return in_list(name, names, ARRAY_SIZE(names));
}

bool
spec_seccomp_op_valid(const char *name)
{
	static const char *const names[] = {
		"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
	};

	return in_list(name, names, ARRAY_SIZE(names));
}

bool
spec_seccomp_flag_valid(const char *name)
{
	static const char *const names[] = {
		"SECCOMP_FILTER_FLAG_TSYNC",
		"SECCOMP_FILTER_FLAG_LOG",
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
		"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	};

	return in_list(name, names, ARRAY_SIZE(names));
}

/* ---- mount options ----------------------------------------------------- */

enum mopt_kind {
	MOPT_NOP,	  /* "defaults" */
	MOPT_FLAG,	  /* an MS_* flag set or cleared */
	MOPT_PROPAGATION, /* MS_SHARED/... [|MS_REC] */
	MOPT_REC_ATTR,	  /* a MOUNT_ATTR_* set or cleared with mount_setattr(AT_RECURSIVE) */
	MOPT_REC_ATIME,	  /* a recursive atime mode: replaces the whole _ATIME field */
	MOPT_BIND,
	MOPT_RBIND,
	MOPT_TMPCOPYUP,
	MOPT_IDMAP,
	MOPT_RIDMAP,
};

static const struct mount_opt {
	const char *name;
	enum mopt_kind kind;
	bool clear;
	unsigned long flag;
} mount_opts[] = {
	{ "defaults", MOPT_NOP, false, 0 },
	{ "ro", MOPT_FLAG, false, MS_RDONLY },
	{ "rw", MOPT_FLAG, true, MS_RDONLY },
	{ "nosuid", MOPT_FLAG, false, MS_NOSUID },
	{ "suid", MOPT_FLAG, true, MS_NOSUID },
	{ "nodev", MOPT_FLAG, false, MS_NODEV },
	{ "dev", MOPT_FLAG, true, MS_NODEV },
	{ "noexec", MOPT_FLAG, false, MS_NOEXEC },
	{ "exec", MOPT_FLAG, true, MS_NOEXEC },
	{ "sync", MOPT_FLAG, false, MS_SYNCHRONOUS },
	{ "async", MOPT_FLAG, true, MS_SYNCHRONOUS },
	{ "dirsync", MOPT_FLAG, false, MS_DIRSYNC },
	{ "remount", MOPT_FLAG, false, MS_REMOUNT },
	{ "mand", MOPT_FLAG, false, MS_MANDLOCK },
	{ "nomand", MOPT_FLAG, true, MS_MANDLOCK },
	{ "noatime", MOPT_FLAG, false, MS_NOATIME },
	{ "atime", MOPT_FLAG, true, MS_NOATIME },
	{ "nodiratime", MOPT_FLAG, false, MS_NODIRATIME },
	{ "diratime", MOPT_FLAG, true, MS_NODIRATIME },
	{ "relatime", MOPT_FLAG, false, MS_RELATIME },
	{ "norelatime", MOPT_FLAG, true, MS_RELATIME },
	{ "strictatime", MOPT_FLAG, false, MS_STRICTATIME },
	{ "nostrictatime", MOPT_FLAG, true, MS_STRICTATIME },
	{ "lazytime", MOPT_FLAG, false, MS_LAZYTIME },
	{ "nolazytime", MOPT_FLAG, true, MS_LAZYTIME },
	{ "silent", MOPT_FLAG, false, MS_SILENT },
	{ "loud", MOPT_FLAG, true, MS_SILENT },
	{ "iversion", MOPT_FLAG, false, MS_I_VERSION },
	{ "noiversion", MOPT_FLAG, true, MS_I_VERSION },
	{ "acl", MOPT_FLAG, false, MS_POSIXACL },
	{ "noacl", MOPT_FLAG, true, MS_POSIXACL },
	{ "nosymfollow", MOPT_FLAG, false, MS_NOSYMFOLLOW },
	{ "symfollow", MOPT_FLAG, true, MS_NOSYMFOLLOW },
	{ "bind", MOPT_BIND, false, 0 },
	{ "rbind", MOPT_RBIND, false, 0 },
	{ "shared", MOPT_PROPAGATION, false, MS_SHARED },
	{ "rshared", MOPT_PROPAGATION, false, MS_SHARED | MS_REC },
	{ "slave", MOPT_PROPAGATION, false, MS_SLAVE },
	{ "rslave", MOPT_PROPAGATION, false, MS_SLAVE | MS_REC },
	{ "private", MOPT_PROPAGATION, false, MS_PRIVATE },
	{ "rprivate", MOPT_PROPAGATION, false, MS_PRIVATE | MS_REC },
	{ "unbindable", MOPT_PROPAGATION, false, MS_UNBINDABLE },
	{ "runbindable", MOPT_PROPAGATION, false, MS_UNBINDABLE | MS_REC },
	/* runc's recursive variants, applied to the whole tree of an rbind
	 * with mount_setattr(2); a plain "ro" on an rbind only reaches the
	 * top mount. */
	{ "rro", MOPT_REC_ATTR, false, MOUNT_ATTR_RDONLY },
	{ "rrw", MOPT_REC_ATTR, true, MOUNT_ATTR_RDONLY },
	{ "rnosuid", MOPT_REC_ATTR, false, MOUNT_ATTR_NOSUID },
	{ "rsuid", MOPT_REC_ATTR, true, MOUNT_ATTR_NOSUID },
	{ "rnodev", MOPT_REC_ATTR, false, MOUNT_ATTR_NODEV },
	{ "rdev", MOPT_REC_ATTR, true, MOUNT_ATTR_NODEV },
	{ "rnoexec", MOPT_REC_ATTR, false, MOUNT_ATTR_NOEXEC },
	{ "rexec", MOPT_REC_ATTR, true, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", MOPT_REC_ATTR, false, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", MOPT_REC_ATTR, true, MOUNT_ATTR_NODIRATIME },
	{ "rnosymfollow", MOPT_REC_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", MOPT_REC_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW },
	/* The atime modes are one field (MOUNT_ATTR__ATIME), not bits: the
	 * kernel wants the whole field cleared when any of it changes.  The
	 * "no"/"a" forms return to the kernel's default, relatime. */
	{ "rrelatime", MOPT_REC_ATIME, false, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", MOPT_REC_ATIME, false, MOUNT_ATTR_RELATIME },
	{ "rnoatime", MOPT_REC_ATIME, false, MOUNT_ATTR_NOATIME },
	{ "ratime", MOPT_REC_ATIME, false, MOUNT_ATTR_RELATIME },
	{ "rstrictatime", MOPT_REC_ATIME, false, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", MOPT_REC_ATIME, false, MOUNT_ATTR_RELATIME },
	/* runc's extension: copy the image's files up into a new tmpfs */
	{ "tmpcopyup", MOPT_TMPCOPYUP, false, 0 },
	{ "idmap", MOPT_IDMAP, false, 0 },
	{ "ridmap", MOPT_RIDMAP, false, 0 },
};

static const struct mount_opt *
mount_opt_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
		if (strcmp(name, mount_opts[i].name) == 0)
			return &mount_opts[i];
	return NULL;
}

/*
 * Options apply in order, so a later one wins ("ro,rw" is read-write), as
 * with mount(8).  Several propagation options keep the last: one mount
 * has one propagation type.  What is not ours goes to the filesystem in
 * data, in the order given ("mode=755,size=65536k").
 */
int
ferry_spec_parse_mount_options(struct ferry_mount *m, ferry_error_t *err)
{
	size_t data_len = 0;

	(void) err; /* every option is either ours or the filesystem's */
	free(m->data);
	m->data = NULL;
	m->flags = m->clear = m->propagation = 0;
	m->rec_attr_set = m->rec_attr_clr = 0;
	m->bind = m->recursive = m->tmpcopyup = m->idmap = m->idmap_recursive = false;

	for (char **o = m->options; o && *o; o++) {
		const struct mount_opt *opt = mount_opt_find(*o);
		size_t n;

		if (opt == NULL) {
			/* Empty entries would make ",," in data, which some
			 * filesystems refuse; they mean nothing. */
			n = strlen(*o);
			if (n == 0)
				continue;
			m->data = xrealloc(m->data, data_len + n + 2);
			if (data_len)
				m->data[data_len++] = ',';
			memcpy(m->data + data_len, *o, n + 1);
			data_len += n;
			continue;
		}
		switch (opt->kind) {
		case MOPT_NOP:
			break;
		case MOPT_FLAG:
			if (opt->clear) {
				m->flags &= ~opt->flag;
				m->clear |= opt->flag;
			} else {
				m->flags |= opt->flag;
				m->clear &= ~opt->flag;
			}
			break;
		case MOPT_PROPAGATION:
			m->propagation = opt->flag;
			break;
		case MOPT_REC_ATTR:
			if (opt->clear) {
				m->rec_attr_set &= ~(uint64_t) opt->flag;
				m->rec_attr_clr |= opt->flag;
			} else {
				m->rec_attr_set |= opt->flag;
				m->rec_attr_clr &= ~(uint64_t) opt->flag;
			}
			break;
		case MOPT_REC_ATIME:
			m->rec_attr_set = (m->rec_attr_set & ~(uint64_t) MOUNT_ATTR__ATIME) | opt->flag;
			m->rec_attr_clr |= MOUNT_ATTR__ATIME;
			break;
		case MOPT_BIND:
			m->bind = true;
			m->flags |= MS_BIND;
			break;
		case MOPT_RBIND:
			m->bind = m->recursive = true;
			m->flags |= MS_BIND | MS_REC;
			break;
		case MOPT_TMPCOPYUP:
			m->tmpcopyup = true;
			break;
		case MOPT_IDMAP:
			m->idmap = true;
			break;
		case MOPT_RIDMAP:
			m->idmap = m->idmap_recursive = true;
			break;
		}
	}
	/* Type "bind" alone makes a bind mount too, as in crun: runc would
	 * hand "bind" to mount(2) as a filesystem type, which only fails. */
	if (m->type && strcmp(m->type, "bind") == 0 && !m->bind) {
		m->bind = true;
		m->flags |= MS_BIND;
	}
	/* Mappings on the mount make it idmapped (runtime-spec 1.2). */
	if (m->uid_mappings || m->gid_mappings)
		m->idmap = true;
	return 0;
}
