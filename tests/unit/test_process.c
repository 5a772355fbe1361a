/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process identity, limits, seccomp and executable lookup.
 *
 * Settings are irreversible (uid switch, bounding set, seccomp), so each
 * case forks a child that applies them and writes back what it then sees;
 * the parent checks the report.  Needs root, like the runtime itself.
 *
 * Under valgrind (--leak-check=full --error-exitcode=N), memory errors in a
 * child fail that child's report.  A child also inherits its parent's heap
 * and _exits without freeing it, so a test keeps no block of its own alive
 * across run_child(): valgrind would count it as lost in the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <seccomp.h>
#include <valgrind/valgrind.h>

#include "process.h"
#include "tap.h"
#include "util.h"

#define CAP(c) (1ULL << (c))

typedef void (*child_fn)(int fd, void *arg);

#define OUT_MAX 16384

/* Runs fn in a child and puts what it wrote in out.  out is the caller's
 * (on its stack): see the valgrind note above. */
static void
run_child(child_fn fn, void *arg, char out[OUT_MAX])
{
	int pfd[2];
	pid_t pid;
	ssize_t n;
	int status;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(pfd[0]);
		fn(pfd[1], arg);
		_exit(0);
	}
	close(pfd[1]);
	n = ferry_read_all(pfd[0], out, OUT_MAX - 64);
	close(pfd[0]);
	if (n < 0)
		n = 0;
	out[n] = '\0';
	/* A child that died or failed (under valgrind: had memory errors)
	 * spoils its report, so the comparison fails. */
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(out + n, OUT_MAX - n, "(child failed: status 0x%x)\n", status);
}

static void __attribute__((format(printf, 2, 3)))
report(int fd, const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		_exit(3);
	va_end(ap);
	ferry_write_all(fd, s, strlen(s));
	free(s);
}

static void
report_error(int fd, ferry_error_t *err)
{
	char *s = ferry_error_string(err);

	report(fd, "ERR %s\n", s);
	free(s);
	ferry_error_clear(err);
}

/* Copies the /proc/self/status lines the identity tests look at. */
static void
report_status(int fd)
{
	static const char *const keys[] = { "Uid:", "Gid:", "Groups:", "NoNewPrivs:", "CapInh:",
					    "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	_cleanup_free_ char *st = NULL;

	if (ferry_read_file("/proc/self/status", 1 << 20, &st, NULL, NULL) < 0)
		return;
	for (char *line = strtok(st, "\n"); line; line = strtok(NULL, "\n"))
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				report(fd, "%s\n", line);
}

/* The value of "key\t..." in a report, whitespace-trimmed at the end. */
static char *
field(const char *rep, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = rep; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			const char *v = p + kl + 1;
			size_t n;

			v += strspn(v, " \t");
			n = strcspn(v, "\n");
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			return strndup(v, n);
		}
	}
	return strdup("(missing)");
}

static bool
have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	syscall(SYS_capget, &hdr, d);
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

static int
last_cap(void)
{
	_cleanup_free_ char *s = NULL;

	if (ferry_read_file("/proc/sys/kernel/cap_last_cap", 64, &s, NULL, NULL) < 0)
		return 40;
	return atoi(s);
}

/* ---- limits ---- */

static void
child_rlimit(int fd, void *arg)
{
	struct ferry_rlimit *rl = arg;
	struct ferry_process p = { .rlimits = rl, .n_rlimits = 1 };
	ferry_error_t err = FERRY_ERROR_INIT;
	struct rlimit now;

	if (ferry_process_apply_limits(&p, NULL, &err) < 0)
		return report_error(fd, &err);
	getrlimit(rl->resource, &now);
	report(fd, "soft %llu hard %llu\n", (unsigned long long) now.rlim_cur, (unsigned long long) now.rlim_max);
}

static void
test_rlimit_nofile(void)
{
	struct ferry_rlimit nofile = { RLIMIT_NOFILE, 1024, 1024 };
	char r[OUT_MAX];

	/* Valgrind keeps the open-file limit for itself and refuses to
	 * change it: the kernel behaviour cannot be observed under it. */
	if (RUNNING_ON_VALGRIND) {
		printf("ok %d # SKIP RLIMIT_NOFILE is virtualised by valgrind\n", ++tap_n);
		return;
	}
	run_child(child_rlimit, &nofile, r);
	is_str(r, "soft 1024 hard 1024\n", "rlimit NOFILE 1024/1024 applied");
}

static void
test_rlimit_core(void)
{
	struct ferry_rlimit core = { RLIMIT_CORE, 0, 4096 };
	char r[OUT_MAX];

	run_child(child_rlimit, &core, r);
	is_str(r, "soft 0 hard 4096\n", "rlimit CORE 0/4096 applied");
}

static void
test_rlimit_raise_hard(void)
{
	struct rlimit cur;
	struct ferry_rlimit raise;
	_cleanup_free_ char *want = NULL, *nr_open = NULL;
	char r[OUT_MAX];
	uint64_t max;

	getrlimit(RLIMIT_NOFILE, &cur);
	if (ferry_read_file("/proc/sys/fs/nr_open", 64, &nr_open, NULL, NULL) < 0)
		abort();
	max = strtoull(nr_open, NULL, 10);
	free(steal_pointer(&nr_open));
	/* (Under valgrind the kernel never sees the call, but valgrind's
	 * refusal is EPERM too, so the message is the same.) */
	if (have_cap(CAP_SYS_RESOURCE) || cur.rlim_max + 1 > max) {
		printf("ok %d # SKIP CAP_SYS_RESOURCE held, or no headroom below fs.nr_open\n", ++tap_n);
		return;
	}
	raise = (struct ferry_rlimit) { RLIMIT_NOFILE, cur.rlim_cur, cur.rlim_max + 1 };
	run_child(child_rlimit, &raise, r);
	want = xasprintf("ERR RLIMIT_NOFILE (soft %llu, hard %llu): raising the hard limit above the current %llu "
			 "needs CAP_SYS_RESOURCE, which this process does not have: Operation not permitted\n",
			 (unsigned long long) cur.rlim_cur, (unsigned long long) cur.rlim_max + 1,
			 (unsigned long long) cur.rlim_max);
	is_str(r, want, "raising the NOFILE hard limit names CAP_SYS_RESOURCE");
}

static void
test_rlimit_soft_above_hard(void)
{
	struct ferry_rlimit bad = { RLIMIT_CORE, 2048, 1024 };
	char r[OUT_MAX];

	run_child(child_rlimit, &bad, r);
	is_str(r, "ERR RLIMIT_CORE: soft limit 2048 is above the hard limit 1024: Invalid argument\n",
	       "soft above hard is named");
}

static void
child_oom(int fd, void *arg)
{
	struct ferry_process p = { .has_oom_score_adj = true, .oom_score_adj = *(int *) arg };
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *s = NULL;

	if (ferry_process_apply_oom_score_adj(&p, &err) < 0)
		return report_error(fd, &err);
	if (ferry_read_file("/proc/self/oom_score_adj", 64, &s, NULL, NULL) == 0)
		report(fd, "adj %s", s);
}

static void
test_oom_score_adj(void)
{
	int up = 500, down = -500;
	char r1[OUT_MAX], r2[OUT_MAX];

	run_child(child_oom, &up, r1);
	is_str(r1, "adj 500\n", "oomScoreAdj 500 applied");
	if (have_cap(CAP_SYS_RESOURCE)) {
		printf("ok %d # SKIP CAP_SYS_RESOURCE held\n", ++tap_n);
		return;
	}
	run_child(child_oom, &down, r2);
	ok(strstr(r2, "ERR oomScoreAdj -500: lowering the OOM score adjustment") &&
		   strstr(r2, "needs CAP_SYS_RESOURCE, which this process does not have"),
	   "lowering oomScoreAdj without CAP_SYS_RESOURCE is a clear error");
	if (!strstr(r2, "CAP_SYS_RESOURCE"))
		printf("#   got: %s", r2);
}

static void
child_misc_limits(int fd, void *arg)
{
	struct ferry_process p = {
		.has_io_priority = true,
		.io_priority_class = IOPRIO_CLASS_BE,
		.io_priority = 6,
		.has_scheduler = true,
		.sched_policy = SCHED_BATCH,
		.sched_nice = 5,
	};
	struct ferry_linux lx = { .has_personality = true, .personality_domain = "LINUX32" };
	ferry_error_t err = FERRY_ERROR_INIT;
	long io;

	if (ferry_process_apply_limits(&p, &lx, &err) < 0)
		return report_error(fd, &err);
	io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	report(fd, "ioprio %ld/%ld policy %d nice %d personality %d\n", (long) IOPRIO_PRIO_CLASS(io),
	       (long) IOPRIO_PRIO_DATA(io), sched_getscheduler(0), getpriority(PRIO_PROCESS, 0),
	       personality(0xffffffff));
}

static void
child_bad_limits(int fd, void *arg)
{
	struct ferry_process p = { .has_io_priority = true, .io_priority_class = IOPRIO_CLASS_BE, .io_priority = 9 };
	struct ferry_linux lx = { .has_personality = true, .personality_domain = "LINUX64" };
	struct ferry_process q = { 0 };
	struct ferry_process dl = { .has_scheduler = true, .sched_policy = SCHED_DEADLINE };
	ferry_error_t err = FERRY_ERROR_INIT;

	if (ferry_process_apply_limits(&p, NULL, &err) < 0)
		report_error(fd, &err);
	if (ferry_process_apply_limits(&q, &lx, &err) < 0)
		report_error(fd, &err);
	if (ferry_process_apply_limits(&dl, NULL, &err) < 0)
		report_error(fd, &err);
}

static void
test_misc_limits(void)
{
	char r[OUT_MAX], b[OUT_MAX];

	run_child(child_misc_limits, NULL, r);
	run_child(child_bad_limits, NULL, b);
	is_str(r, "ioprio 2/6 policy 3 nice 5 personality 8\n", "ioPriority BE/6, SCHED_BATCH nice 5, LINUX32 applied");
	is_str(b,
	       "ERR ioPriority IOPRIO_CLASS_BE: priority 9 out of range 0..7: Invalid argument\n"
	       "ERR personality: unknown domain \"LINUX64\" (expected LINUX or LINUX32): Invalid argument\n"
	       "ERR scheduler: SCHED_DEADLINE needs 0 < runtime (0) <= deadline (0) <= period (0): "
	       "Invalid argument\n",
	       "bad ioPriority, personality and SCHED_DEADLINE are named");
}

/* ---- identity ---- */

static void
child_identity(int fd, void *arg)
{
	struct ferry_process *p = arg;
	ferry_error_t err = FERRY_ERROR_INIT;

	if (ferry_process_apply_identity(p, &err) < 0)
		return report_error(fd, &err);
	report_status(fd);
}

/* After execve of an unprivileged program only the ambient set is left in
 * the permitted and effective sets: that is what ambient is for. */
static void
child_identity_exec(int fd, void *arg)
{
	struct ferry_process *p = arg;
	ferry_error_t err = FERRY_ERROR_INIT;
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };

	if (ferry_process_apply_identity(p, &err) < 0)
		return report_error(fd, &err);
	if (dup2(fd, STDOUT_FILENO) < 0)
		return;
	execv(argv[0], argv);
	report(fd, "ERR execv: %s\n", strerror(errno));
}

static void
test_identity(void)
{
	gid_t gids[] = { 10, 20 };
	uint64_t two = CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_KILL);
	struct ferry_process p = {
		.uid = 65534,
		.gid = 65534,
		.additional_gids = gids,
		.n_additional_gids = 2,
		.no_new_privileges = true,
		.caps = { .present = true, .bounding = two, .effective = two, .permitted = two,
			  .inheritable = two, .ambient = CAP(CAP_NET_BIND_SERVICE) },
	};
	char r[OUT_MAX], x[OUT_MAX];
	const char *two_hex = "0000000000000420"; /* CAP_KILL 5, CAP_NET_BIND_SERVICE 10 */
	struct {
		const char *key, *want;
	} want[] = {
		{ "Uid", "65534\t65534\t65534\t65534" }, { "Gid", "65534\t65534\t65534\t65534" },
		{ "Groups", "10 20" },                   { "NoNewPrivs", "1" },
		{ "CapInh", two_hex },                   { "CapPrm", two_hex },
		{ "CapEff", two_hex },                   { "CapBnd", two_hex },
		{ "CapAmb", "0000000000000400" },
	};

	run_child(child_identity, &p, r);
	if (strncmp(r, "ERR", 3) == 0)
		printf("# %s", r);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *v = field(r, want[i].key);

		is_str(v, want[i].want, "identity: %s", want[i].key);
	}

	run_child(child_identity_exec, &p, x);
	{
		_cleanup_free_ char *eff = field(x, "CapEff"), *prm = field(x, "CapPrm"), *amb = field(x, "CapAmb");

		is_str(eff, "0000000000000400", "after execve as uid 65534: CapEff is the ambient set");
		is_str(prm, "0000000000000400", "after execve as uid 65534: CapPrm is the ambient set");
		is_str(amb, "0000000000000400", "after execve as uid 65534: CapAmb kept");
	}
}

static void
test_identity_ambient_not_inheritable(void)
{
	uint64_t two = CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_KILL);
	/* Ambient without inheritable cannot be raised: a warning, not a
	 * failure (runtime spec, runc). */
	struct ferry_process p = {
		.uid = 1000,
		.gid = 1000,
		.caps = { .present = true, .bounding = two, .effective = two, .permitted = two,
			  .ambient = CAP(CAP_NET_BIND_SERVICE) },
	};
	char r[OUT_MAX];
	_cleanup_free_ char *amb = NULL, *eff = NULL, *grp = NULL, *nnp = NULL;

	run_child(child_identity, &p, r);
	amb = field(r, "CapAmb");
	eff = field(r, "CapEff");
	grp = field(r, "Groups");
	nnp = field(r, "NoNewPrivs");
	is_str(amb, "0000000000000000", "ambient not in inheritable: not raised, no error");
	is_str(eff, "0000000000000420", "ambient not in inheritable: effective still applied");
	is_str(grp, "", "no additional gids: supplementary groups cleared");
	is_str(nnp, "0", "noNewPrivileges false: NoNewPrivs 0");
}

static void
test_identity_no_caps(void)
{
	/* No "capabilities" in the config: runc builds an empty list and the
	 * process ends with no capability at all, root or not. */
	struct ferry_process p = { .uid = 0, .gid = 0 };
	const char *keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char r[OUT_MAX];

	run_child(child_identity, &p, r);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		_cleanup_free_ char *v = field(r, keys[i]);

		is_str(v, "0000000000000000", "no capabilities section: %s empty (runc)", keys[i]);
	}
}

static void
test_identity_all_caps(void)
{
	int last = last_cap();
	uint64_t known = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	uint64_t mine, bset = 0;
	struct ferry_process p = { .uid = 65534, .gid = 65534 };
	_cleanup_free_ char *eff = NULL, *bnd = NULL, *want_eff = NULL, *want_bnd = NULL;
	char r[OUT_MAX];

	/* Everything we hold, plus a capability no kernel has yet (62):
	 * that one is warned about and left out, the rest kept across the
	 * switch to uid 65534. */
	syscall(SYS_capget, &hdr, d);
	mine = ((uint64_t) d[1].permitted << 32 | d[0].permitted) & known;
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			bset |= CAP(c);
	p.caps = (struct ferry_capabilities) { .present = true, .bounding = known | CAP(62),
					       .effective = mine | CAP(62), .permitted = mine | CAP(62) };
	run_child(child_identity, &p, r);
	eff = field(r, "CapEff");
	bnd = field(r, "CapBnd");
	want_eff = xasprintf("%016llx", (unsigned long long) mine);
	want_bnd = xasprintf("%016llx", (unsigned long long) bset);
	is_str(eff, want_eff, "every held capability kept as uid 65534; unknown cap 62 ignored");
	is_str(bnd, want_bnd, "bounding set left whole when every capability is asked");
}

/* ---- seccomp ---- */

static void
child_seccomp_mkdir(int fd, void *arg)
{
	struct ferry_seccomp *s = arg;
	ferry_seccomp_filter_t *f = NULL;
	ferry_error_t err = FERRY_ERROR_INIT;
	char dir[] = "/tmp/ferry-test-seccomp-XXXXXX";
	_cleanup_free_ char *sub = NULL;
	long r;
	int e;

	if (mkdtemp(dir) == NULL)
		return report(fd, "ERR mkdtemp\n");
	sub = xasprintf("%s/x", dir);
	if (ferry_seccomp_compile(s, &f, &err) < 0)
		return report_error(fd, &err);
	if (ferry_seccomp_load(f, &err) < 0) {
		ferry_seccomp_free(f);
		return report_error(fd, &err);
	}
	ferry_seccomp_free(f);
	r = syscall(SYS_mkdir, sub, 0700);
	e = errno;
	report(fd, "mkdir %ld %d\n", r, r < 0 ? e : 0);
	/* Other syscalls, including mkdirat, still work. */
	r = syscall(SYS_mkdirat, AT_FDCWD, sub, 0700);
	report(fd, "mkdirat %ld\n", r);
	report(fd, "getpid %d\n", getpid() > 0);
	rmdir(sub);
	rmdir(dir);
}

static void
test_seccomp(void)
{
	char *mkdir_names[] = { "mkdir", "no_such_syscall_in_any_kernel", NULL };
	char *archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	struct ferry_seccomp_rule rules[] = {
		{ .names = mkdir_names, .action = "SCMP_ACT_ERRNO" },
	};
	struct ferry_seccomp s = {
		.default_action = "SCMP_ACT_ALLOW",
		.architectures = archs,
		.rules = rules,
		.n_rules = 1,
	};
	char r[OUT_MAX];

	run_child(child_seccomp_mkdir, &s, r);
	is_str(r, "mkdir -1 1\nmkdirat 0\ngetpid 1\n", "seccomp: mkdir gets EPERM, mkdirat and getpid work");

	rules[0].has_errno = true;
	rules[0].errno_ret = ENOSPC;
	{
		char r2[OUT_MAX], want[64];

		run_child(child_seccomp_mkdir, &s, r2);
		snprintf(want, sizeof(want), "mkdir -1 %d\nmkdirat 0\ngetpid 1\n", ENOSPC);
		is_str(r2, want, "seccomp: errnoRet ENOSPC returned");
	}
}

static void
test_seccomp_args(void)
{
	/* Two conditions on one argument: runc adds a rule for each (OR).
	 * The child calls mkdir(path, 0700). */
	char *names[] = { "mkdir", NULL };
	struct ferry_seccomp_arg args[] = {
		{ .index = 1, .value = 0700, .op = "SCMP_CMP_EQ" },
		{ .index = 1, .value = 0711, .op = "SCMP_CMP_EQ" },
	};
	struct ferry_seccomp_rule rules[] = {
		{ .names = names, .action = "SCMP_ACT_ERRNO", .args = args, .n_args = 2 },
	};
	struct ferry_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .rules = rules, .n_rules = 1 };
	char r[OUT_MAX];

	run_child(child_seccomp_mkdir, &s, r);
	is_str(r, "mkdir -1 1\nmkdirat 0\ngetpid 1\n", "seccomp: same-index conditions, first one matches");
	/* 0755 or 0700: only the second matches; were they ANDed, nothing
	 * could ever match. */
	args[0].value = 0755;
	args[1].value = 0700;
	{
		char r2[OUT_MAX];

		run_child(child_seccomp_mkdir, &s, r2);
		is_str(r2, "mkdir -1 1\nmkdirat 0\ngetpid 1\n", "seccomp: same-index conditions are ORed");
	}
	/* MASKED_EQ: (mode & 0070) == 0 refuses 0700. */
	args[0] = (struct ferry_seccomp_arg) { .index = 1, .value = 0070, .value_two = 0, .op = "SCMP_CMP_MASKED_EQ" };
	rules[0].n_args = 1;
	{
		char r3[OUT_MAX];

		run_child(child_seccomp_mkdir, &s, r3);
		is_str(r3, "mkdir -1 1\nmkdirat 0\ngetpid 1\n", "seccomp: MASKED_EQ value is the mask");
	}
	args[0].value_two = 0010;
	{
		char r4[OUT_MAX];

		run_child(child_seccomp_mkdir, &s, r4);
		ok(strncmp(r4, "mkdir 0 0\n", 10) == 0, "seccomp: MASKED_EQ not matching lets mkdir through");
	}
}

static char *
compile_error(struct ferry_seccomp *s)
{
	ferry_seccomp_filter_t *f = NULL;
	ferry_error_t err = FERRY_ERROR_INIT;
	char *msg;

	if (ferry_seccomp_compile(s, &f, &err) == 0) {
		ferry_seccomp_free(f);
		return xstrdup("(compiled)");
	}
	msg = xstrdup(err.msg);
	ferry_error_clear(&err);
	return msg;
}

static void
test_seccomp_errors(void)
{
	char *names[] = { "getcwd", NULL };
	struct ferry_seccomp_rule rules[4] = {
		{ .names = names, .action = "SCMP_ACT_ERRNO" },
		{ .names = names, .action = "SCMP_ACT_KILL_THREAD" },
		{ .names = names, .action = "SCMP_ACT_TRAP" },
		{ .names = names, .action = "SCMP_ACT_FOO" },
	};
	struct ferry_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .rules = rules, .n_rules = 4 };
	char *bad_arch[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_VAX", NULL };
	char *bad_flag[] = { "SECCOMP_FILTER_FLAG_BOGUS", NULL };
	char *log_flag[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	struct ferry_seccomp_arg bad_args[] = { { .index = 6, .value = 1, .op = "SCMP_CMP_EQ" } };
	char *m;

	m = compile_error(&s);
	is_str(m, "seccomp: syscalls[3]: unknown action \"SCMP_ACT_FOO\"", "unknown action names its place");
	free(m);

	rules[3].action = "SCMP_ACT_KILL";
	rules[2].has_errno = true;
	rules[2].errno_ret = 5;
	m = compile_error(&s);
	is_str(m, "seccomp: syscalls[2]: errnoRet given for SCMP_ACT_TRAP, which returns no errno",
	       "errnoRet on an action without errno is refused");
	free(m);
	rules[2].has_errno = false;

	m = compile_error(&s);
	is_str(m, "(compiled)", "valid profile compiles");
	free(m);

	s.default_action = "SCMP_ACT_NOPE";
	m = compile_error(&s);
	is_str(m, "seccomp: defaultAction: unknown action \"SCMP_ACT_NOPE\"", "unknown default action");
	free(m);
	s.default_action = "SCMP_ACT_ERRNO";

	s.architectures = bad_arch;
	m = compile_error(&s);
	is_str(m, "seccomp: architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"", "unknown architecture");
	free(m);
	s.architectures = NULL;

	s.flags = bad_flag;
	m = compile_error(&s);
	is_str(m, "seccomp: flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"", "unknown flag");
	free(m);
	/* The kernel's LOG and SPEC_ALLOW flags need the seccomp() syscall,
	 * which valgrind 3.19 does not emulate: libseccomp then reports a
	 * lower API level and the flags are refused by name. */
	s.flags = log_flag;
	m = compile_error(&s);
	if (seccomp_api_get() >= 4)
		is_str(m, "(compiled)", "flags LOG and SPEC_ALLOW accepted");
	else
		ok(strstr(m, "seccomp: flags[0]: SECCOMP_FILTER_FLAG_LOG is not supported by this kernel") == m,
		   "flag LOG refused by name at API level %u", seccomp_api_get());
	free(m);
	s.flags = NULL;
	rules[1].action = "SCMP_ACT_LOG";
	m = compile_error(&s);
	if (seccomp_api_get() >= 3)
		is_str(m, "(compiled)", "action LOG accepted");
	else
		ok(strstr(m, "seccomp: syscalls[1]: action SCMP_ACT_LOG is not supported by this kernel") == m,
		   "action LOG refused by name at API level %u", seccomp_api_get());
	free(m);
	rules[1].action = "SCMP_ACT_KILL_THREAD";

	rules[1].args = bad_args;
	rules[1].n_args = 1;
	m = compile_error(&s);
	is_str(m, "seccomp: syscalls[1].args[0]: index 6 out of range 0..5", "argument index out of range");
	free(m);
	bad_args[0].index = 0;
	bad_args[0].op = "SCMP_CMP_ALMOST";
	m = compile_error(&s);
	is_str(m, "seccomp: syscalls[1].args[0]: unknown operator \"SCMP_CMP_ALMOST\"", "unknown operator");
	free(m);
	rules[1].n_args = 0;

	rules[0].action = "SCMP_ACT_NOTIFY";
	m = compile_error(&s);
	is_str(m, "seccomp: syscalls[0]: action SCMP_ACT_NOTIFY is not supported by ferry yet", "notify refused");
	free(m);
	rules[0].action = "SCMP_ACT_ALLOW";

	s.listener_path = "/run/agent.sock";
	m = compile_error(&s);
	is_str(m, "seccomp: listenerPath is not supported by ferry yet", "listenerPath refused");
	free(m);
	s.listener_path = NULL;

	/* The default ERRNO and a rule's ERRNO(EPERM) are the same action:
	 * skipped, not an error from libseccomp. */
	rules[0].action = "SCMP_ACT_ERRNO";
	m = compile_error(&s);
	is_str(m, "(compiled)", "rule equal to the default action is skipped");
	free(m);
}

/* ---- executable lookup ---- */

static void
test_find_executable(void)
{
	char *env_bin[] = { "HOME=/", "PATH=/bin", NULL };
	char *env_none[] = { "HOME=/", NULL };
	char *out = NULL;
	ferry_error_t err = FERRY_ERROR_INIT;
	char dir[] = "/tmp/ferry-test-exec-XXXXXX";
	_cleanup_free_ char *noexec = NULL, *script = NULL;
	int r;

	r = ferry_process_find_executable("sh", env_bin, &out, &err);
	ok(r == 0, "sh found with PATH=/bin");
	is_str(out, "/bin/sh", "sh resolves to /bin/sh");
	free(out);
	out = NULL;

	r = ferry_process_find_executable("nonexistent", env_bin, &out, &err);
	ok(r < 0 && out == NULL, "nonexistent not found");
	is_str(err.msg, "exec: \"nonexistent\": executable file not found in $PATH", "runc's wording");
	ok(err.errno_ == 0, "no errno appended to the message");
	ferry_error_clear(&err);

	r = ferry_process_find_executable("sh", env_none, &out, &err);
	ok(r == 0 && out && (strcmp(out, "/usr/bin/sh") == 0 || strcmp(out, "/bin/sh") == 0),
	   "default PATH used without PATH in env (%s)", out ? out : "-");
	free(out);
	out = NULL;

	r = ferry_process_find_executable("/bin/sh", NULL, &out, &err);
	is_str(out, "/bin/sh", "absolute path checked directly");
	free(out);
	out = NULL;

	if (mkdtemp(dir) == NULL)
		abort();
	noexec = xasprintf("%s/noexec", dir);
	script = xasprintf("%s/run", dir);
	close(open(noexec, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	close(open(script, O_WRONLY | O_CREAT | O_CLOEXEC, 0755));

	r = ferry_process_find_executable(noexec, NULL, &out, &err);
	{
		_cleanup_free_ char *want = xasprintf("exec: \"%s\": permission denied", noexec);

		is_str(err.msg, want, "not executable: permission denied");
	}
	ferry_error_clear(&err);

	r = ferry_process_find_executable(dir, NULL, &out, &err);
	{
		_cleanup_free_ char *want = xasprintf("exec: \"%s\": is a directory", dir);

		is_str(err.msg, want, "directory: is a directory");
	}
	ferry_error_clear(&err);

	{
		_cleanup_free_ char *pathvar = xasprintf("PATH=/nonexistent:%s", dir);
		char *env_dir[] = { pathvar, NULL };

		r = ferry_process_find_executable("noexec", env_dir, &out, &err);
		ok(r < 0, "a non-executable file in PATH is skipped");
		ferry_error_clear(&err);
		r = ferry_process_find_executable("run", env_dir, &out, &err);
		is_str(out, script, "found in the second PATH entry");
		free(out);
		out = NULL;
		r = ferry_process_find_executable("/nonexistent/x", env_dir, &out, &err);
		is_str(err.msg, "exec: \"/nonexistent/x\": stat /nonexistent/x: no such file or directory",
		       "missing absolute path");
		ferry_error_clear(&err);
	}
	unlink(noexec);
	unlink(script);
	rmdir(dir);
}

/* ---- LSM ---- */

static void
child_lsm(int fd, void *arg)
{
	struct ferry_process *p = arg;
	ferry_error_t err = FERRY_ERROR_INIT;

	if (ferry_process_apply_lsm(p, &err) < 0)
		return report_error(fd, &err);
	report(fd, "applied\n");
}

static void
test_lsm(void)
{
	struct ferry_process none = { .apparmor_profile = "", .selinux_label = NULL };
	struct ferry_process aa = { .apparmor_profile = "ferry-test" };
	struct ferry_process se = { .selinux_label = "system_u:system_r:container_t:s0" };
	char r1[OUT_MAX];
	struct stat st;

	run_child(child_lsm, &none, r1);
	is_str(r1, "applied\n", "no LSM asked: nothing done");
	if (stat("/sys/module/apparmor/parameters/enabled", &st) == 0) {
		printf("ok %d # SKIP AppArmor present on this host\n", ++tap_n);
	} else {
		char r2[OUT_MAX];

		run_child(child_lsm, &aa, r2);
		is_str(r2,
		       "ERR AppArmor profile ferry-test requested but AppArmor is not enabled on this host: "
		       "Operation not supported\n",
		       "AppArmor asked on a host without it");
	}
	if (stat("/sys/fs/selinux/enforce", &st) == 0) {
		printf("ok %d # SKIP SELinux present on this host\n", ++tap_n);
	} else {
		char r3[OUT_MAX];

		run_child(child_lsm, &se, r3);
		ok(strncmp(r3, "ERR SELinux label system_u:system_r:container_t:s0 requested but SELinux is not enabled",
			   80) == 0,
		   "SELinux asked on a host without it");
	}
}

int
main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	test_rlimit_nofile();
	test_rlimit_core();
	test_rlimit_raise_hard();
	test_rlimit_soft_above_hard();
	test_oom_score_adj();
	test_misc_limits();
	test_identity();
	test_identity_ambient_not_inheritable();
	test_identity_no_caps();
	test_identity_all_caps();
	test_seccomp();
	test_seccomp_args();
	test_seccomp_errors();
	test_find_executable();
	test_lsm();
	return tap_done();
}
