/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The spec `oci-runtime-tool generate` starts from: what runtime-tools'
 * generate.New("linux") builds (Debian's golang-github-opencontainers-
 * runtime-tools-dev 0.9.0+git20220423, runtime-spec 1.0.2-dev). It is not
 * `runc spec`: hostname "mrsdalloway", args ["sh"], TERM=xterm, terminal
 * false, fourteen capabilities in all five sets (ambient too), no
 * noNewPrivileges, RLIMIT_NOFILE 1024, no /sys/fs/cgroup mount, no masked or
 * read-only paths, a deny-all device rule, and a seccomp whitelist with
 * default action ERRNO (runc spec has none).
 *
 * The one part tied to the generating machine is the seccomp profile's
 * architecture: runtime-tools picks it from the Go toolchain's GOARCH, we
 * pick it from the architecture ferry is compiled for, so both agree on the
 * same machine. On x86-64 that is architectures [X86_64, X86, X32] and the
 * extra rules for arch_prctl and modify_ldt; arm64 and s390x get their own
 * (below); other architectures get none, as in runtime-tools.
 *
 * tests/conformance/ diffs this against the Go library's output.
 */
#include <jansson.h>

#include "generate.h"
#include "util.h"

/* The syscalls runtime-tools' default profile allows unconditionally. */
static const char *const allowed_syscalls[] = {
	"accept", "accept4", "access", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
	"chown32", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "connect", "copy_file_range",
	"creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
	"epoll_pwait", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
	"fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
	"fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futimesat", "getcpu", "getcwd", "getdents",
	"getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
	"getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
	"getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
	"getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
	"getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "ioprio_get", "ioprio_set",
	"io_setup", "io_submit", "ipc", "kill", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
	"listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
	"madvise", "memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
	"mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "nanosleep", "newfstatat", "_newselect", "open", "openat", "pause", "pipe",
	"pipe2", "poll", "ppoll", "prctl", "pread64", "preadv", "prlimit64", "pselect6", "pwrite64", "pwritev",
	"read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
	"select", "semctl", "semget", "semop", "semtimedop", "send", "sendfile", "sendfile64", "sendmmsg",
	"sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	"setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
	"setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
	"set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
	"setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "syslog", "tee",
	"tgkill", "time", "timer_create", "timer_delete", "timerfd_create", "timerfd_gettime",
	"timerfd_settime", "timer_getoverrun", "timer_gettime", "timer_settime", "times", "tkill", "truncate",
	"truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes",
	"vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};

static const char *const default_caps[] = {
	"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",	 "CAP_FOWNER",		 "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID",	   "CAP_SETUID",	 "CAP_SETFCAP",		 "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
mount_json(const char *dest, const char *type, const char *source, const char *const *opts, size_t nopts)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options",
			 strv_json(opts, nopts));
}

#define MOUNT(d, t, s, ...) \
	mount_json(d, t, s, (const char *const[]){ __VA_ARGS__ }, \
		   sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static json_t *
rule(const char *name, json_t *args)
{
	json_t *r = json_pack("{s:[s], s:s}", "names", name, "action", "SCMP_ACT_ALLOW");

	if (args)
		json_object_set_new(r, "args", args);
	return r;
}

static json_t *
arg(int index, json_int_t value, const char *op)
{
	return json_pack("{s:i, s:I, s:s}", "index", index, "value", value, "op", op);
}

/* CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
 * CLONE_NEWNET: clone() is allowed only when it creates no namespace. */
#define CLONE_NS_MASK 2080505856

static json_t *
default_seccomp(void)
{
	json_t *syscalls = json_array(), *arches = json_array();
	json_t *allow = json_pack("{s:o, s:s}", "names", strv_json(allowed_syscalls, ARRAY_SIZE(allowed_syscalls)),
				  "action", "SCMP_ACT_ALLOW");
	json_t *seccomp;

	json_array_append_new(syscalls, allow);
	/* personality(PER_LINUX), personality(UNAME26), personality(query) */
	json_array_append_new(syscalls,
			      rule("personality", json_pack("[o, o, o]", arg(0, 0, "SCMP_CMP_EQ"),
							    arg(0, 8, "SCMP_CMP_EQ"),
							    arg(0, 4294967295LL, "SCMP_CMP_EQ"))));
	/* The capability-dependent rules: of the default capabilities only
	 * CAP_SYS_CHROOT has one. runtime-tools computes this when the default
	 * is built, so --cap-add does not change it (nor here). */
	json_array_append_new(syscalls, rule("chroot", NULL));
	/* No CAP_SYS_ADMIN: clone only without namespace flags. */
	json_array_append_new(syscalls,
			      rule("clone", json_pack("[o]", arg(0, CLONE_NS_MASK, "SCMP_CMP_MASKED_EQ"))));
#if defined(__x86_64__)
	json_array_append_new(syscalls, rule("arch_prctl", NULL));
	json_array_append_new(syscalls, rule("modify_ldt", NULL));
	json_array_append_new(arches, json_string("SCMP_ARCH_X86_64"));
	json_array_append_new(arches, json_string("SCMP_ARCH_X86"));
	json_array_append_new(arches, json_string("SCMP_ARCH_X32"));
#elif defined(__aarch64__)
	json_array_append_new(syscalls, json_pack("{s:[s,s,s], s:s}", "names", "breakpoint", "cacheflush",
						  "set_tls", "action", "SCMP_ACT_ALLOW"));
	json_array_append_new(arches, json_string("SCMP_ARCH_ARM"));
	json_array_append_new(arches, json_string("SCMP_ARCH_AARCH64"));
#elif defined(__s390x__)
	json_array_append_new(syscalls,
			      json_pack("{s:[s,s,s], s:s}", "names", "s390_pci_mmio_read", "s390_pci_mmio_write",
					"s390_runtime_instr", "action", "SCMP_ACT_ALLOW"));
	/* clone's flags are its second argument on s390 */
	json_array_append_new(syscalls,
			      rule("clone", json_pack("[o]", arg(1, CLONE_NS_MASK, "SCMP_CMP_MASKED_EQ"))));
	json_array_append_new(arches, json_string("SCMP_ARCH_S390"));
	json_array_append_new(arches, json_string("SCMP_ARCH_S390X"));
#endif
	seccomp = json_pack("{s:s}", "defaultAction", "SCMP_ACT_ERRNO");
	/* Go leaves an empty architecture list out (omitempty). */
	if (json_array_size(arches) > 0)
		json_object_set_new(seccomp, "architectures", arches);
	else
		json_decref(arches);
	json_object_set_new(seccomp, "syscalls", syscalls);
	return seccomp;
}

json_t *
ferry_generate_default_spec(void)
{
	size_t ncaps = ARRAY_SIZE(default_caps);
	json_t *caps = json_pack("{s:o, s:o, s:o, s:o, s:o}", "bounding", strv_json(default_caps, ncaps), "effective",
				 strv_json(default_caps, ncaps), "inheritable", strv_json(default_caps, ncaps),
				 "permitted", strv_json(default_caps, ncaps), "ambient", strv_json(default_caps, ncaps));
	json_t *process = json_pack(
		"{s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:o, s:[{s:s, s:i, s:i}]}", "user", "uid", 0, "gid", 0, "args",
		"sh", "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd",
		"/", "capabilities", caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024);
	json_t *mounts = json_pack(
		"[o, o, o, o, o, o]", MOUNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
		MOUNT("/dev", "tmpfs", "tmpfs", "nosuid", "noexec", "strictatime", "mode=755", "size=65536k"),
		MOUNT("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
		      "gid=5"),
		MOUNT("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
		MOUNT("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
		MOUNT("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"));
	json_t *linux_ = json_pack("{s:{s:[{s:b, s:s}]}, s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}], s:o}", "resources",
				   "devices", "allow", 0, "access", "rwm", "namespaces", "type", "pid", "type",
				   "network", "type", "ipc", "type", "uts", "type", "mount", "seccomp",
				   default_seccomp());

	return json_pack("{s:s, s:o, s:{s:s}, s:s, s:o, s:o}", "ociVersion", FERRY_GENERATE_OCI_VERSION, "process",
			 process, "root", "path", "rootfs", "hostname", "mrsdalloway", "mounts", mounts, "linux",
			 linux_);
}
