/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control groups.
 *
 * Fake trees (FERRY_CGROUP_ROOT pointing at a directory of plain files)
 * check what ferry writes for each layout: the v2 conversions, the v1
 * files, where hugetlb goes on a hybrid host, what is refused, and that
 * a failed create leaves exactly what was there before.
 *
 * Then, as root, the same on this host's real hierarchies: a container
 * cgroup with a child process in it, its limits as the kernel reads them
 * back, freeze/thaw, stats, kill (freeze-signal-thaw and cgroup.kill),
 * the cgroup mounts seen from a new cgroup namespace, a BPF device
 * program on the cgroup2 hierarchy, and that destroy leaves nothing.
 *
 * Children _exit without freeing what they inherited; under valgrind
 * that is "still reachable", not a leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "cgroup_internal.h"
#include "log.h"
#include "tap.h"
#include "util.h"

#define MiB (1024ll * 1024)

static void
skip(const char *why)
{
	tap_n++;
	printf("ok %d # SKIP %s\n", tap_n, why);
}

static void
put(const char *dir, const char *name, const char *content)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "we");

	if (f == NULL) {
		perror(p);
		abort();
	}
	fputs(content, f);
	fclose(f);
}

static void
mkdirs(const char *path)
{
	ferry_error_t e = FERRY_ERROR_INIT;

	if (ferry_mkdir_p(path, 0755, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		abort();
	}
}

/* Content of root/rel with trailing newlines cut; NULL if missing. */
static char *
get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
get(const char *fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	char *s = NULL;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (ferry_read_file(path, 1 << 20, &s, &len, &e) < 0) {
		ferry_error_clear(&e);
		return NULL;
	}
	while (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	return s;
}

static bool
exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool
exists(const char *fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) < 0)
		abort();
	va_end(ap);
	return access(path, F_OK) == 0;
}

#define is_file(expected, ...) \
	do { \
		_cleanup_free_ char *_got = get(__VA_ARGS__); \
		_cleanup_free_ char *_name = xasprintf(__VA_ARGS__); \
		is_str(_got, expected, "%s = %s", _name, expected); \
	} while (0)

static char *
tree_new(void)
{
	char tmpl[] = "/tmp/ferry-cgtest-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		abort();
	setenv("FERRY_CGROUP_ROOT", tmpl, 1);
	return xstrdup(tmpl);
}

static void
tree_free(char *root)
{
	ferry_error_t e = FERRY_ERROR_INIT;

	if (ferry_rm_rf_at(AT_FDCWD, root, &e) < 0)
		ferry_error_clear(&e);
	unsetenv("FERRY_CGROUP_ROOT");
	free(root);
}

/* ---- pure functions ---------------------------------------------------- */

static void
test_conversions(void)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	int64_t v;
	bool set;

	ok(ferry_cgroup_shares_to_weight(0) == 0, "shares 0: cpu.weight left alone");
	ok(ferry_cgroup_shares_to_weight(2) == 1, "shares 2 -> weight 1");
	ok(ferry_cgroup_shares_to_weight(1024) == 100, "shares 1024 (v1 default) -> weight 100 (v2 default)");
	ok(ferry_cgroup_shares_to_weight(2000) == 170, "shares 2000 -> weight 170 (runc 1.4)");
	ok(ferry_cgroup_shares_to_weight(512) == 59, "shares 512 -> weight 59");
	ok(ferry_cgroup_shares_to_weight(262144) == 10000, "shares 262144 -> weight 10000");
	ok(ferry_cgroup_shares_to_weight(1u << 30) == 10000, "shares above the range clamp to 10000");
	ok(ferry_cgroup_blkio_to_io_weight(10) == 1, "blkio weight 10 -> io.weight 1");
	ok(ferry_cgroup_blkio_to_io_weight(500) == 4950, "blkio weight 500 -> io.weight 4950");
	ok(ferry_cgroup_blkio_to_io_weight(1000) == 10000, "blkio weight 1000 -> io.weight 10000");

	ok(ferry_cgroup_swap_to_v2(96 * MiB, 64 * MiB, &set, &v, &e) == 0 && set && v == 32 * MiB,
	   "OCI swap 96M with limit 64M -> memory.swap.max 32M");
	ok(ferry_cgroup_swap_to_v2(64 * MiB, 64 * MiB, &set, &v, &e) == 0 && set && v == 0,
	   "swap == limit -> memory.swap.max 0 (no swap)");
	ok(ferry_cgroup_swap_to_v2(-1, 64 * MiB, &set, &v, &e) == 0 && set && v == -1, "swap -1 -> max");
	ok(ferry_cgroup_swap_to_v2(0, -1, &set, &v, &e) == 0 && set && v == -1,
	   "unlimited memory, swap unset -> swap max too");
	ok(ferry_cgroup_swap_to_v2(0, 64 * MiB, &set, &v, &e) == 0 && !set, "swap unset -> left alone");
	ok(ferry_cgroup_swap_to_v2(32 * MiB, 64 * MiB, &set, &v, &e) < 0 && strstr(e.msg, "must be >="),
	   "swap below the memory limit refused: %s", e.msg);
	ferry_error_clear(&e);
	ok(ferry_cgroup_swap_to_v2(32 * MiB, 0, &set, &v, &e) < 0, "swap without memory limit refused: %s", e.msg);
	ferry_error_clear(&e);
}

static void
test_paths(void)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	char *p = NULL;

#define PATH_IS(in, id, want) \
	do { \
		ok(ferry_cgroup_path_for(in, id, &p, &e) == 0, "path_for(%s)", in ? in : "NULL"); \
		is_str(p, want, "  -> %s", want); \
		free(p); \
		p = NULL; \
		ferry_error_clear(&e); \
	} while (0)
#define PATH_BAD(in, id, what) \
	do { \
		ok(ferry_cgroup_path_for(in, id, &p, &e) < 0 && strstr(e.msg, what), "path_for(%s) refused: %s", \
		   in ? in : "NULL", e.msg ? e.msg : "(accepted)"); \
		free(p); \
		p = NULL; \
		ferry_error_clear(&e); \
	} while (0)

	PATH_IS(NULL, "web1", "/ferry/web1");
	PATH_IS("", "web1", "/ferry/web1");
	PATH_IS("/a//b/./c/", "x", "/a/b/c");
	PATH_IS("relative/path", "x", "/relative/path");
	PATH_IS("machine.slice:libpod:abc", "x", "/machine.slice/libpod-abc.scope");
	PATH_IS("a-b.slice:docker:abc", "x", "/a.slice/a-b.slice/docker-abc.scope");
	PATH_BAD("/a/../b", "x", "\"..\" is not allowed");
	PATH_BAD("..", "x", "\"..\" is not allowed");
	PATH_BAD("/", "x", "root cgroup");
	PATH_BAD(NULL, "../evil", "invalid container id");
	PATH_BAD("bad:slice:x", "x", ".slice");
#undef PATH_IS
#undef PATH_BAD
}

/* ---- fake v2 ----------------------------------------------------------- */

static void
fake_v2_files(const char *root)
{
	static const char *const files[] = { "cgroup.procs",	"cgroup.freeze",    "cgroup.kill",   "memory.max",
					     "memory.swap.max", "memory.low",	    "memory.high",   "cpu.weight",
					     "cpu.max",		"cpu.idle",	    "cpuset.cpus",   "cpuset.mems",
					     "pids.max",	"io.max",	    "io.weight",     "hugetlb.2MB.max",
					     "hugetlb.2MB.rsvd.max" };

	put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(root, "cgroup.subtree_control", "");
	put(root, "cgroup.events", "populated 0\nfrozen 0\n");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		put(root, files[i], "");
}

static void
test_fake_v2(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char *root = tree_new();
	enum ferry_cgroup_layout layout = 0;
	ferry_cgroup_t *cg = NULL;
	struct ferry_throttle rbps = { 8, 0, 1048576 }, wiops = { 8, 0, 100 }, rbps16 = { 8, 16, 0 };
	struct ferry_hugepage_limit huge = { "2MB", 4 * MiB };
	struct ferry_kv unified = { "memory.high", "50000000" };
	struct ferry_resources r = {
		.present = true,
		.has_mem_limit = true,
		.mem_limit = 64 * MiB,
		.has_mem_swap = true,
		.mem_swap = 96 * MiB,
		.has_mem_reservation = true,
		.mem_reservation = 32 * MiB,
		.has_cpu_shares = true,
		.cpu_shares = 1024,
		.has_cpu_quota = true,
		.cpu_quota = 50000,
		.has_cpu_period = true,
		.cpu_period = 100000,
		.cpu_cpus = "0",
		.has_pids_limit = true,
		.pids_limit = 0,
		.has_blkio_weight = true,
		.blkio_weight = 500,
		.throttle_read_bps = (struct ferry_throttle[]){ rbps, rbps16 },
		.n_throttle_read_bps = 2,
		.throttle_write_iops = &wiops,
		.n_throttle_write_iops = 1,
		.hugepage_limits = &huge,
		.n_hugepage_limits = 1,
		.unified = &unified,
		.n_unified = 1,
	};
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = true;

	fake_v2_files(root);
	{
		/* An existing parent, with its files as the kernel makes them. */
		_cleanup_free_ char *d = xasprintf("%s/ferry", root);

		mkdirs(d);
		fake_v2_files(d);
	}
	ok(ferry_cgroup_detect_layout(root, &layout, &e) == 0 && layout == FERRY_CGROUP_V2, "fake v2: layout %s",
	   ferry_cgroup_layout_name(layout));

	ok(ferry_cgroup_create("/ferry/web1", &r, 0, &cg, &e) == 0, "fake v2: create /ferry/web1 %s",
	   e.msg ? e.msg : "");
	is_file("+cpu +cpuset +io +memory +pids +hugetlb +rdma +misc", "%s/cgroup.subtree_control", root);
	is_file("+cpu +cpuset +io +memory +pids +hugetlb +rdma +misc", "%s/ferry/cgroup.subtree_control", root);
	is_file("67108864", "%s/ferry/web1/memory.max", root);
	is_file("33554432", "%s/ferry/web1/memory.swap.max", root);
	is_file("33554432", "%s/ferry/web1/memory.low", root);
	is_file("100", "%s/ferry/web1/cpu.weight", root);
	is_file("50000 100000", "%s/ferry/web1/cpu.max", root);
	is_file("0", "%s/ferry/web1/cpuset.cpus", root);
	is_file("max", "%s/ferry/web1/pids.max", root);
	is_file("4950", "%s/ferry/web1/io.weight", root);
	/* Each write replaces a plain file's content: the last device's
	 * line is what is left. */
	is_file("8:16 rbps=max", "%s/ferry/web1/io.max", root);
	is_file("4194304", "%s/ferry/web1/hugetlb.2MB.max", root);
	is_file("4194304", "%s/ferry/web1/hugetlb.2MB.rsvd.max", root);
	is_file("50000000", "%s/ferry/web1/memory.high", root);
	if (cg) {
		_cleanup_free_ char *d = ferry_cgroup_dir(cg, "memory");
		_cleanup_free_ char *want = xasprintf("%s/ferry/web1", root);

		is_str(d, want, "fake v2: every controller's dir is the one cgroup2 dir");
	}

	/* One device with several limits is one io.max line. */
	{
		struct ferry_resources r2 = { .throttle_read_bps = &rbps,
					      .n_throttle_read_bps = 1,
					      .throttle_write_iops = &wiops,
					      .n_throttle_write_iops = 1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) == 0, "fake v2: update io.max");
		is_file("8:0 rbps=1048576 wiops=100", "%s/ferry/web1/io.max", root);
	}
	/* A period alone keeps the quota (runc would reset it to max). */
	{
		struct ferry_resources r2 = { .has_cpu_period = true, .cpu_period = 200000 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) == 0, "fake v2: update the cpu period alone");
		is_file("50000 200000", "%s/ferry/web1/cpu.max", root);
	}
	{
		struct ferry_resources r2 = { .has_mem_limit = true, .mem_limit = -1, .has_pids_limit = true,
					      .pids_limit = 7, .has_cpu_quota = true, .cpu_quota = -1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) == 0, "fake v2: update to unlimited memory");
		is_file("max", "%s/ferry/web1/memory.max", root);
		is_file("max", "%s/ferry/web1/memory.swap.max", root);
		is_file("7", "%s/ferry/web1/pids.max", root);
		is_file("max", "%s/ferry/web1/cpu.max", root);
	}
	/* events: the OOM-kill counter of memory.events. */
	if (cg) {
		_cleanup_free_ char *dir = xasprintf("%s/ferry/web1", root);
		uint64_t kills = 0;

		put(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
		ok(ferry_cgroup_oom_kills(cg, &kills, &e) == 0 && kills == 2, "fake v2: oom_kill read from memory.events");
	}
	/* unified keys must be file names of this directory. */
	{
		struct ferry_kv bad[] = { { "../cgroup.procs", "1" }, { "memory/x", "1" }, { "nodot", "1" } };

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			struct ferry_resources r2 = { .unified = &bad[i], .n_unified = 1 };

			ok(cg && ferry_cgroup_update(cg, &r2, &e) < 0 && strstr(e.msg, "unified: invalid key"),
			   "fake v2: unified key \"%s\" refused: %s", bad[i].key, e.msg);
			ferry_error_clear(&e);
		}
	}

	ok(cg && ferry_cgroup_enter(cg, 4242, &e) == 0, "fake v2: enter");
	is_file("4242", "%s/ferry/web1/cgroup.procs", root);
	ok(cg && ferry_cgroup_pids(cg, &pids, &n, &e) == 0 && n == 1 && pids[0] == 4242, "fake v2: pids lists it");
	free(pids);
	{
		_cleanup_free_ char *d = xasprintf("%s/ferry/web1", root);

		put(d, "cgroup.events", "populated 1\nfrozen 1\n");
	}
	ok(cg && ferry_cgroup_freeze(cg, true, &e) == 0, "fake v2: freeze %s", e.msg ? e.msg : "");
	is_file("1", "%s/ferry/web1/cgroup.freeze", root);
	ok(cg && ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen, "fake v2: frozen per cgroup.events");
	ok(cg && ferry_cgroup_kill(cg, SIGKILL, &e) == 0, "fake v2: kill");
	is_file("1", "%s/ferry/web1/cgroup.kill", root);

	ok(cg && ferry_cgroup_destroy(cg, &e) == 0, "fake v2: destroy %s", e.msg ? e.msg : "");
	ok(!exists("%s/ferry/web1", root), "fake v2: the cgroup is gone");
	ok(exists("%s/ferry", root), "fake v2: its parent stays");
	ferry_cgroup_free(cg);
	cg = NULL;

	/* A failed create names the file and value and removes only what
	 * it made: /ferry existed, /ferry/new/deep did not. */
	{
		struct ferry_hugepage_limit gb = { "1GB", 1 << 30 };
		struct ferry_resources r2 = { .hugepage_limits = &gb, .n_hugepage_limits = 1 };

		ok(ferry_cgroup_create("/ferry/new/deep", &r2, 0, &cg, &e) < 0 && cg == NULL,
		   "fake v2: create with a missing hugetlb size fails");
		is_str(e.msg, "cgroup /ferry/new/deep: hugepageLimits: hugetlb.1GB.max: this host has no 1GB huge pages",
		       "  error names the cgroup and the file");
		ferry_error_clear(&e);
		ok(!exists("%s/ferry/new", root) && exists("%s/ferry", root), "  created dirs gone, /ferry kept");
	}
	{
		struct ferry_hugepage_limit bad = { "../../x", 1 };
		struct ferry_resources r2 = { .hugepage_limits = &bad, .n_hugepage_limits = 1 };

		ok(ferry_cgroup_create("/ferry/h", &r2, 0, &cg, &e) < 0 && strstr(e.msg, "invalid page size"),
		   "fake v2: page size with a path refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	{
		struct ferry_resources r2 = { .has_cpu_rt_runtime = true, .cpu_rt_runtime = 1000 };

		ok(ferry_cgroup_create("/ferry/rt", &r2, 0, &cg, &e) < 0 && strstr(e.msg, "realtime"),
		   "fake v2: realtime refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	tree_free(root);
}

/* The exact message of a refused write. */
static void
test_fake_write_error(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char *root = tree_new();
	ferry_cgroup_t *cg = NULL;
	struct ferry_resources r = { .has_mem_limit = true, .mem_limit = 1024 };

	fake_v2_files(root);
	/* A directory where the file should be: the child gets no such
	 * file, as when a controller is not enabled. */
	{
		_cleanup_free_ char *f = xasprintf("%s/memory.max", root);

		unlink(f);
		mkdirs(f);
	}
	ok(ferry_cgroup_create("/ferry/web1", &r, 0, &cg, &e) < 0, "fake v2: memory.max missing: create fails");
	{
		_cleanup_free_ char *s = ferry_error_string(&e);

		is_str(s, "cgroup /ferry/web1: memory.max: write \"1024\": No such file or directory",
		       "  error: cgroup <path>: <file>: write \"<value>\": <errno>");
	}
	ok(!exists("%s/ferry", root), "  nothing left, /ferry included (it made it)");
	tree_free(root);
}

/* ---- fake v1 and hybrid ------------------------------------------------ */

static void
fake_v1_tree(const char *root, bool hybrid)
{
	static const struct {
		const char *dir;
		const char *files[12];
	} h[] = {
		{ "memory",
		  { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
		    "memory.swappiness", "memory.oom_control", NULL } },
		{ "cpu,cpuacct",
		  { "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.rt_runtime_us", "cpu.rt_period_us",
		    "cpu.idle", "cpuacct.usage", NULL } },
		{ "cpuset", { NULL } },
		{ "pids", { "pids.max", NULL } },
		{ "blkio",
		  { "blkio.bfq.weight", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device",
		    "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
		    "blkio.throttle.write_iops_device", NULL } },
		{ "devices", { "devices.allow", "devices.deny", NULL } },
		{ "freezer", { "freezer.state", NULL } },
		{ "systemd", { NULL } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", root, h[i].dir);

		mkdirs(d);
		put(d, "cgroup.procs", "");
		for (size_t k = 0; h[i].files[k]; k++)
			put(d, h[i].files[k], "");
	}
	{
		_cleanup_free_ char *cs = xasprintf("%s/cpuset", root), *link = xasprintf("%s/cpu", root);

		put(cs, "cpuset.cpus", "0-1\n");
		put(cs, "cpuset.mems", "0\n");
		if (symlink("cpu,cpuacct", link) < 0)
			abort();
	}
	if (hybrid) {
		_cleanup_free_ char *u = xasprintf("%s/unified", root);

		mkdirs(u);
		put(u, "cgroup.controllers", "hugetlb\n");
		put(u, "cgroup.subtree_control", "");
		put(u, "cgroup.procs", "");
		put(u, "hugetlb.2MB.max", "");
	}
}

static void
test_fake_v1(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char *root = tree_new();
	enum ferry_cgroup_layout layout = 0;
	ferry_cgroup_t *cg = NULL;
	struct ferry_throttle rbps = { 8, 0, 1048576 };
	struct ferry_device_rule dev = { true, 'c', 1, 11, "r" };
	struct ferry_weight_device wd = { 8, 0, true, false, 300, 0 };
	struct ferry_resources r = {
		.has_mem_limit = true,
		.mem_limit = 64 * MiB,
		.has_mem_swap = true,
		.mem_swap = 96 * MiB,
		.has_mem_reservation = true,
		.mem_reservation = 32 * MiB,
		.has_mem_swappiness = true,
		.mem_swappiness = 10,
		.disable_oom_killer = true,
		.has_cpu_shares = true,
		.cpu_shares = 512,
		.has_cpu_quota = true,
		.cpu_quota = 50000,
		.has_cpu_period = true,
		.cpu_period = 100000,
		.has_pids_limit = true,
		.pids_limit = 32,
		.has_blkio_weight = true,
		.blkio_weight = 500,
		.blkio_weight_devices = &wd,
		.n_blkio_weight_devices = 1,
		.throttle_read_bps = &rbps,
		.n_throttle_read_bps = 1,
		.devices = &dev,
		.n_devices = 1,
	};

	fake_v1_tree(root, false);
	ok(ferry_cgroup_detect_layout(root, &layout, &e) == 0 && layout == FERRY_CGROUP_V1, "fake v1: layout %s",
	   ferry_cgroup_layout_name(layout));
	ok(ferry_cgroup_create("/ferry/web1", &r, 0, &cg, &e) == 0, "fake v1: create %s", e.msg ? e.msg : "");
	is_file("67108864", "%s/memory/ferry/web1/memory.limit_in_bytes", root);
	is_file("100663296", "%s/memory/ferry/web1/memory.memsw.limit_in_bytes", root);
	is_file("33554432", "%s/memory/ferry/web1/memory.soft_limit_in_bytes", root);
	is_file("10", "%s/memory/ferry/web1/memory.swappiness", root);
	is_file("1", "%s/memory/ferry/web1/memory.oom_control", root);
	is_file("512", "%s/cpu,cpuacct/ferry/web1/cpu.shares", root);
	is_file("50000", "%s/cpu,cpuacct/ferry/web1/cpu.cfs_quota_us", root);
	is_file("100000", "%s/cpu,cpuacct/ferry/web1/cpu.cfs_period_us", root);
	is_file("32", "%s/pids/ferry/web1/pids.max", root);
	is_file("500", "%s/blkio/ferry/web1/blkio.bfq.weight", root);
	is_file("8:0 300", "%s/blkio/ferry/web1/blkio.bfq.weight_device", root);
	is_file("8:0 1048576", "%s/blkio/ferry/web1/blkio.throttle.read_bps_device", root);
	/* cpuset: inherited at every new level, or no task could join. */
	is_file("0-1", "%s/cpuset/ferry/cpuset.cpus", root);
	is_file("0-1", "%s/cpuset/ferry/web1/cpuset.cpus", root);
	is_file("0", "%s/cpuset/ferry/web1/cpuset.mems", root);
	is_file("a", "%s/devices/ferry/web1/devices.deny", root);
	/* The last write: the last default rule, after the config's. */
	is_file("c 10:200 rwm", "%s/devices/ferry/web1/devices.allow", root);
	ok(exists("%s/systemd/ferry/web1", root), "fake v1: name=systemd hierarchy joined too");
	if (cg) {
		_cleanup_free_ char *d = ferry_cgroup_dir(cg, "cpuacct");
		_cleanup_free_ char *want = xasprintf("%s/cpu,cpuacct/ferry/web1", root);

		is_str(d, want, "fake v1: cpuacct is found in the co-mounted cpu,cpuacct");
		ok(ferry_cgroup_dir(cg, "") == NULL, "fake v1: no unified dir");
	}
	/* Lowering memory and swap: memory first, then memsw. */
	{
		struct ferry_resources r2 = { .has_mem_limit = true, .mem_limit = -1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) == 0, "fake v1: unlimited memory");
		is_file("-1", "%s/memory/ferry/web1/memory.limit_in_bytes", root);
		is_file("-1", "%s/memory/ferry/web1/memory.memsw.limit_in_bytes", root);
	}
	/* events: the OOM-kill counter of memory.oom_control (Linux >= 4.13),
	 * and an error, not a zero, where the kernel has none. */
	if (cg) {
		_cleanup_free_ char *dir = xasprintf("%s/memory/ferry/web1", root);
		uint64_t kills = 0;

		put(dir, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n");
		ok(ferry_cgroup_oom_kills(cg, &kills, &e) == 0 && kills == 3, "fake v1: oom_kill read from memory.oom_control");
		put(dir, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\n");
		ok(ferry_cgroup_oom_kills(cg, &kills, &e) < 0 && strstr(e.msg, "oom_kill"),
		   "fake v1: no oom_kill counter is an error");
		ferry_error_clear(&e);
	}
	{
		struct ferry_resources r2 = { .has_mem_limit = true, .mem_limit = 64 * MiB, .has_mem_swap = true,
					      .mem_swap = 32 * MiB };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) < 0 && strstr(e.msg, "must be >= memory.limit"),
		   "fake v1: memsw below memory refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	{
		struct ferry_kv kv = { "memory.high", "1" };
		struct ferry_resources r2 = { .unified = &kv, .n_unified = 1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) < 0 && strstr(e.msg, "only cgroup v1"),
		   "fake v1: unified refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	{
		struct ferry_hugepage_limit huge = { "2MB", 4 * MiB };
		struct ferry_resources r2 = { .hugepage_limits = &huge, .n_hugepage_limits = 1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) < 0 && strstr(e.msg, "no hugetlb controller"),
		   "fake v1: hugetlb without the controller refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	ok(cg && ferry_cgroup_enter(cg, 4343, &e) == 0, "fake v1: enter");
	is_file("4343", "%s/freezer/ferry/web1/cgroup.procs", root);
	is_file("4343", "%s/systemd/ferry/web1/cgroup.procs", root);
	{
		bool frozen = false;

		ok(cg && ferry_cgroup_freeze(cg, true, &e) == 0, "fake v1: freeze");
		is_file("FROZEN", "%s/freezer/ferry/web1/freezer.state", root);
		ok(cg && ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen, "fake v1: is frozen");
		ok(cg && ferry_cgroup_freeze(cg, false, &e) == 0, "fake v1: thaw");
		is_file("THAWED", "%s/freezer/ferry/web1/freezer.state", root);
	}
	ok(cg && ferry_cgroup_destroy(cg, &e) == 0, "fake v1: destroy %s", e.msg ? e.msg : "");
	ok(!exists("%s/memory/ferry/web1", root) && !exists("%s/systemd/ferry/web1", root) &&
		   !exists("%s/cpu,cpuacct/ferry/web1", root),
	   "fake v1: gone from every hierarchy");
	ferry_cgroup_free(cg);
	cg = NULL;

	/* unified on v1 at create: refused, nothing left. */
	{
		struct ferry_kv kv = { "pids.max", "1" };
		struct ferry_resources r2 = { .unified = &kv, .n_unified = 1 };

		ok(ferry_cgroup_create("/ferry/u", &r2, 0, &cg, &e) < 0 && strstr(e.msg, "unified"),
		   "fake v1: create with unified refused: %s", e.msg);
		ferry_error_clear(&e);
		ok(!exists("%s/memory/ferry/u", root) && !exists("%s/pids/ferry/u", root), "  nothing left");
	}
	tree_free(root);
}

static void
test_fake_hybrid(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char *root = tree_new();
	enum ferry_cgroup_layout layout = 0;
	ferry_cgroup_t *cg = NULL;
	struct ferry_hugepage_limit huge = { "2MB", 4 * MiB };
	struct ferry_resources r = { .has_mem_limit = true,
				     .mem_limit = 64 * MiB,
				     .hugepage_limits = &huge,
				     .n_hugepage_limits = 1 };

	fake_v1_tree(root, true);
	ok(ferry_cgroup_detect_layout(root, &layout, &e) == 0 && layout == FERRY_CGROUP_HYBRID,
	   "fake hybrid: layout %s", ferry_cgroup_layout_name(layout));
	ok(ferry_cgroup_create("/ferry/web1", &r, 0, &cg, &e) == 0, "fake hybrid: create %s", e.msg ? e.msg : "");
	is_file("67108864", "%s/memory/ferry/web1/memory.limit_in_bytes", root);
	is_file("4194304", "%s/unified/ferry/web1/hugetlb.2MB.max", root);
	is_file("+hugetlb", "%s/unified/cgroup.subtree_control", root);
	{
		struct ferry_kv kv = { "hugetlb.2MB.max", "8388608" };
		struct ferry_resources r2 = { .unified = &kv, .n_unified = 1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) == 0, "fake hybrid: unified key of a cgroup2 controller");
		is_file("8388608", "%s/unified/ferry/web1/hugetlb.2MB.max", root);
	}
	{
		struct ferry_kv kv = { "memory.high", "1" };
		struct ferry_resources r2 = { .unified = &kv, .n_unified = 1 };

		ok(cg && ferry_cgroup_update(cg, &r2, &e) < 0 && strstr(e.msg, "not on the cgroup2 hierarchy"),
		   "fake hybrid: unified key of a v1 controller refused: %s", e.msg);
		ferry_error_clear(&e);
	}
	ok(cg && ferry_cgroup_enter(cg, 4444, &e) == 0, "fake hybrid: enter");
	is_file("4444", "%s/unified/ferry/web1/cgroup.procs", root);
	is_file("4444", "%s/memory/ferry/web1/cgroup.procs", root);
	if (cg) {
		_cleanup_free_ char *d = ferry_cgroup_dir(cg, "hugetlb");
		_cleanup_free_ char *want = xasprintf("%s/unified/ferry/web1", root);

		is_str(d, want, "fake hybrid: hugetlb dir is on the unified hierarchy");
	}
	ok(cg && ferry_cgroup_destroy(cg, &e) == 0, "fake hybrid: destroy");
	ok(!exists("%s/unified/ferry/web1", root) && !exists("%s/memory/ferry/web1", root), "fake hybrid: all gone");
	ferry_cgroup_free(cg);
	tree_free(root);
}

/* ---- the real thing ---------------------------------------------------- */

static pid_t
sleeper(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static int
wait_sig(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 1000 + WEXITSTATUS(status);
}

static bool
procs_has(const char *dir, pid_t pid)
{
	_cleanup_free_ char *s = get("%s/cgroup.procs", dir);
	char want[32];

	snprintf(want, sizeof(want), "%d", (int) pid);
	for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strcmp(line, want) == 0)
			return true;
	}
	return false;
}

/* No directory named `name` left in any hierarchy under /sys/fs/cgroup. */
static bool
gone_everywhere(const char *name)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	bool gone = true;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (exists("/sys/fs/cgroup/%s/%s", de->d_name, name)) {
			printf("# left: /sys/fs/cgroup/%s/%s\n", de->d_name, name);
			gone = false;
		}
	}
	return gone;
}

/* In a child that is in the container's cgroup: a new mount namespace
 * (and cgroup namespace, or not), the cgroup mounts, and what they show:
 * the container's cgroup as the root either way.  Exit code: the number
 * of the first failed check. */
static int
mount_child(const char *target, int64_t limit, bool cgroupns)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	enum ferry_cgroup_layout layout;
	struct statfs sfs;
	_cleanup_free_ char *s = NULL;

	if (ferry_cgroup_detect_layout(ferry_cgroup_root(), &layout, &e) < 0)
		return 2;
	if (unshare(CLONE_NEWNS | (cgroupns ? CLONE_NEWCGROUP : 0)) < 0)
		return 3;
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return 4;
	if (ferry_cgroup_mount(target, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_RDONLY, &e) < 0) {
		fprintf(stderr, "# mount: %s\n", e.msg);
		return 5;
	}
	if (layout == FERRY_CGROUP_V2) {
		if (statfs(target, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
			return 6;
		if (!procs_has(target, getpid()))
			return 9;
	} else {
		_cleanup_free_ char *mem = xasprintf("%s/memory", target), *uni = xasprintf("%s/unified", target);
		_cleanup_free_ char *newdir = xasprintf("%s/new", target);
		char want[32];

		if (statfs(target, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
			return 7;
		/* The cgroup namespace makes the container's cgroup the
		 * root of every hierarchy it mounts. */
		s = get("%s/memory/memory.limit_in_bytes", target);
		snprintf(want, sizeof(want), "%lld", (long long) limit);
		if (s == NULL || strcmp(s, want) != 0)
			return 8;
		if (!procs_has(mem, getpid()))
			return 9;
		if (!exists("%s/systemd/cgroup.procs", target))
			return 10;
		if (layout == FERRY_CGROUP_HYBRID &&
		    (statfs(uni, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC))
			return 11;
		if (mkdir(newdir, 0755) == 0 || errno != EROFS)
			return 12;
	}
	return 0;
}

/* Opens path with flags in a child that is in the device-filtered
 * cgroup; bit i of the exit code set when check i failed. */
static int
device_child(int sync_fd, const bool *want_ok, const char *const *paths, const int *flags, size_t n)
{
	char c;
	int fails = 0;

	if (read(sync_fd, &c, 1) != 1)
		return 255;
	for (size_t i = 0; i < n; i++) {
		int fd = open(paths[i], flags[i] | O_CLOEXEC | O_NONBLOCK);
		bool opened = fd >= 0;

		if (fd >= 0)
			close(fd);
		if (opened != want_ok[i] || (!opened && errno != EPERM))
			fails |= 1 << i;
	}
	return fails;
}

static void
test_bpf_devices(const char *udir_root)
{
	static const char *const paths[] = { "/dev/kmsg", "/dev/kmsg", "/dev/null", "/dev/loop-control", "/dev/full" };
	static const int flags[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR, O_WRONLY };
	/* kmsg: allow rw then deny w -> r only (per-bit, as v1);
	 * full: denied, but the default rules come after and allow it. */
	static const bool want1[] = { true, false, true, false, true };
	static const bool want2[] = { true, true, true, false, true };
	struct ferry_device_rule rules1[] = { { true, 'c', 1, 11, "rw" }, { false, 'c', 1, 11, "w" },
					      { false, 'c', 1, 7, "rwm" } };
	struct ferry_device_rule rules2[] = { { true, 'c', 1, 11, "rw" } };
	struct ferry_resources r1 = { .devices = rules1, .n_devices = ARRAY_SIZE(rules1) };
	struct ferry_resources r2 = { .devices = rules2, .n_devices = ARRAY_SIZE(rules2) };
	struct ferry_cgroup fakecg = { .path = "/bpf-test", .unified = -1 };
	char dir[256];
	ferry_error_t e = FERRY_ERROR_INIT;
	const bool *wants[] = { want1, want2 };
	struct ferry_resources *rs[] = { &r1, &r2 };

	/* On the stack: the children below must not inherit heap blocks
	 * that valgrind would then count as theirs. */
	snprintf(dir, sizeof(dir), "%s/ferry-bpftest-%d", udir_root, (int) getpid());
	if (access("/dev/kmsg", F_OK) < 0 || access("/dev/loop-control", F_OK) < 0) {
		skip("no /dev/kmsg or /dev/loop-control for the BPF device test");
		return;
	}
	if (mkdir(dir, 0755) < 0) {
		ok(0, "mkdir %s: %s", dir, strerror(errno));
		return;
	}
	for (int round = 0; round < 2; round++) {
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int sync[2];
		pid_t pid;
		int status = -1;

		ok(cg_v2_set_devices(&fakecg, dfd, rs[round], &e) == 0, "bpf: %s device program %s",
		   round ? "replace the" : "attach a", e.msg ? e.msg : "");
		ferry_error_clear(&e);
		if (pipe2(sync, O_CLOEXEC) < 0)
			abort();
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(sync[1]);
			_exit(device_child(sync[0], wants[round], (const char *const *) paths, flags,
					   ARRAY_SIZE(paths)));
		}
		close(sync[0]);
		{
			_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
			char pidbuf[32];

			snprintf(pidbuf, sizeof(pidbuf), "%d", (int) pid);
			if (ferry_write_file(procs, pidbuf, &e) < 0) {
				printf("# %s\n", e.msg);
				ferry_error_clear(&e);
			}
		}
		if (write(sync[1], "x", 1) != 1)
			abort();
		close(sync[1]);
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "bpf round %d: kmsg r %s, kmsg w %s, null rw, loop-control denied, full w (failed checks mask %d)",
		   round + 1, wants[round][0] ? "ok" : "denied", wants[round][1] ? "ok" : "denied",
		   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	{
		/* The replacement detached the first program. */
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		uint32_t ids[8];
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.query.target_fd = (uint32_t) dfd;
		attr.query.attach_type = BPF_CGROUP_DEVICE;
		attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
		attr.query.prog_cnt = ARRAY_SIZE(ids);
		ok(syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) == 0 && attr.query.prog_cnt == 1,
		   "bpf: one program attached after the replacement (%u)", attr.query.prog_cnt);
	}
	if (rmdir(dir) < 0)
		ok(0, "rmdir %s: %s", dir, strerror(errno));
}

/* A fork bomb (bounded by pids.max) must not outrun kill: the cgroup is
 * frozen while its tasks are listed and signalled. */
static void
test_fork_bomb(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	char name[64], path[80];
	struct ferry_resources r = { .has_pids_limit = true, .pids_limit = 16 };
	ferry_cgroup_t *cg = NULL;
	pid_t *pids = NULL, bomb;
	size_t n = 0;
	int sync[2];
	uint64_t deadline;

	snprintf(name, sizeof(name), "ferry-unittest-%d-bomb", (int) getpid());
	snprintf(path, sizeof(path), "/%s", name);
	/* The bomb's descendants become ours to reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (ferry_cgroup_create(path, &r, 0, &cg, &e) < 0) {
		ok(0, "bomb: create: %s", e.msg);
		return;
	}
	if (pipe2(sync, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	bomb = fork();
	if (bomb == 0) {
		char c;
		struct timespec ts = { 0, 1000000 };

		close(sync[1]);
		if (read(sync[0], &c, 1) != 1)
			_exit(1);
		for (;;) {
			fork();
			nanosleep(&ts, NULL);
		}
	}
	close(sync[0]);
	ok(ferry_cgroup_enter(cg, bomb, &e) == 0, "bomb: enter");
	if (write(sync[1], "x", 1) != 1)
		abort();
	close(sync[1]);
	deadline = ferry_now_ns() + 5000000000ull;
	do {
		struct timespec ts = { 0, 10000000 };

		free(pids);
		pids = NULL;
		if (ferry_cgroup_pids(cg, &pids, &n, &e) < 0)
			break;
		nanosleep(&ts, NULL);
	} while (n < 16 && ferry_now_ns() < deadline);
	free(pids);
	pids = NULL;
	ok(n == 16, "bomb: it filled pids.max (%zu tasks)", n);
	ok(ferry_cgroup_kill(cg, SIGTERM, &e) == 0, "bomb: kill SIGTERM %s", e.msg ? e.msg : "");
	deadline = ferry_now_ns() + 5000000000ull;
	for (;;) {
		struct timespec ts = { 0, 10000000 };

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (ferry_cgroup_pids(cg, &pids, &n, &e) < 0 || n == 0 || ferry_now_ns() >= deadline)
			break;
		free(pids);
		pids = NULL;
		nanosleep(&ts, NULL);
	}
	free(pids);
	ok(n == 0, "bomb: no task survived (%zu left)", n);
	if (n > 0) {
		ferry_cgroup_kill(cg, SIGKILL, &e);
		ferry_error_clear(&e);
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	ok(ferry_cgroup_destroy(cg, &e) == 0 && gone_everywhere(name), "bomb: destroyed %s", e.msg ? e.msg : "");
	ferry_cgroup_free(cg);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* The v2 code on a real cgroup2 hierarchy: on a hybrid host, pointing
 * FERRY_CGROUP_ROOT at its cgroup2 mount makes ferry see a pure v2 host
 * (with only the controllers that live there). */
/* A child of test_real_v2, in the v2 cgroup dir: mounts the cgroups as a
 * container's init does (ferry_cgroup_mount), without or with a cgroup
 * namespace of its own, and checks that what it sees there is dir itself,
 * not the hierarchy's root: 0, or what went wrong. */
static int
v2_mount_child(int sync, const char *dir, bool cgroupns)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	char tmpl[] = "/tmp/ferry-cgv2mnt-XXXXXX", c;
	struct stat want, got;
	int code = 0;

	if (read(sync, &c, 1) != 1)
		return 20;
	if (unshare(CLONE_NEWNS | (cgroupns ? CLONE_NEWCGROUP : 0)) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 21;
	if (mkdtemp(tmpl) == NULL)
		return 22;
	if (ferry_cgroup_mount(tmpl, 0, &e) < 0)
		code = 23;
	else if (stat(dir, &want) < 0 || stat(tmpl, &got) < 0)
		code = 24;
	else if (got.st_ino != want.st_ino || got.st_dev != want.st_dev)
		code = 25; /* the whole hierarchy, or another cgroup */
	else if (!procs_has(tmpl, getpid()))
		code = 26;
	umount2(tmpl, MNT_DETACH);
	rmdir(tmpl);
	return code;
}

/* A child joining cg by itself (ferry_cgroup_clone, then
 * ferry_cgroup_join_self), with clone3's CLONE_INTO_CGROUP and without
 * it (the fallback: "0" to cgroup2's cgroup.procs): every line of its
 * /proc/PID/cgroup then names cg's path. */
static void
check_self_join(ferry_cgroup_t *cg, const char *label, bool was_killed)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	const char *path = ferry_cgroup_path(cg);

	for (int into = 1; into >= 0; into--) {
		struct ferry_cgroup_join j;
		int sync[2], lines = 0, in = 0;
		char x = 0, want;
		_cleanup_free_ char *text = NULL;
		pid_t c;

		ok(ferry_cgroup_join_prepare(cg, &j, &e) == 0, "%s: join prepared %s", label, e.msg ? e.msg : "");
		want = into && j.into_fd >= 0 ? 'i' : 'j';
		/* A cgroup once killed through cgroup.kill: clone3 into it
		 * kills the child at birth on 6.14-6.18; the join falls
		 * back to cgroup.procs. */
		if (was_killed && want == 'i')
			want = '*';
		if (!into)
			ferry_closep(&j.into_fd);
		if (pipe2(sync, O_CLOEXEC) < 0)
			abort();
		fflush(stdout);
		c = ferry_cgroup_clone(&j, 0);
		if (c < 0)
			abort();
		if (c == 0) {
			ferry_error_t ce = FERRY_ERROR_INIT;

			close(sync[0]);
			x = ferry_cgroup_join_self(&j, &ce) == 0 ? (j.into_done ? 'i' : 'j') : 'f';
			if (write(sync[1], &x, 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		close(sync[1]);
		ferry_cgroup_join_release(&j);
		if (read(sync[0], &x, 1) != 1) {
			int st = 0;

			x = '?';
			waitpid(c, &st, 0);
			printf("# %s: the child ended with status 0x%x\n", label, st);
		}
		close(sync[0]);
		text = get("/proc/%d/cgroup", (int) c);
		for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			char *p = strchr(strchr(line, ':') ? strchr(line, ':') + 1 : line, ':');

			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			/* A v2 layout: only the cgroup2 line (a hybrid host's
			 * unified hierarchy seen as a v2 host). */
			if (ferry_cgroup_get_layout(cg) == FERRY_CGROUP_V2 && strncmp(line, "0::", 3) != 0)
				continue;
			lines++;
			if (p && strcmp(p + 1, path) == 0)
				in++;
		}
		ok(want == '*' ? (x == 'i' || x == 'j') : x == want, "%s: the child joined (%c, expected %c)", label, x,
		   want);
		ok(lines > 0 && in == lines, "%s: %s clone3, in %s in %d of %d hierarchies", label,
		   into ? "with" : "without", path, in, lines);
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
	}
}

static void
test_real_v2(const char *uroot)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	enum ferry_cgroup_layout layout = 0;
	char path[64], dir[256], kmsg_ok[8];
	struct ferry_hugepage_limit huge = { "2MB", 2 * MiB };
	struct ferry_resources r = { .hugepage_limits = &huge, .n_hugepage_limits = 1 };
	ferry_cgroup_t *cg = NULL;
	bool frozen = false, has_huge;
	pid_t a, b;

	setenv("FERRY_CGROUP_ROOT", uroot, 1);
	ok(ferry_cgroup_detect_layout(ferry_cgroup_root(), &layout, &e) == 0 && layout == FERRY_CGROUP_V2,
	   "real v2: %s seen as a v2 host", uroot);
	snprintf(path, sizeof(path), "/ferry-unittest-%d-v2", (int) getpid());
	snprintf(dir, sizeof(dir), "%s%s", uroot, path);
	has_huge = access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0;
	a = sleeper();
	ok(ferry_cgroup_create(path, has_huge ? &r : NULL, a, &cg, &e) == 0, "real v2: create %s",
	   e.msg ? e.msg : "");
	if (cg == NULL) {
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		unsetenv("FERRY_CGROUP_ROOT");
		return;
	}
	if (has_huge)
		is_file("2097152", "%s/hugetlb.2MB.max", dir);
	check_self_join(cg, "real v2", false);
	ok(procs_has(dir, a), "real v2: the child is in it");
	/* The default device rules went in as a BPF program at create. */
	{
		int sync[2];
		pid_t c;
		int status = -1;

		if (pipe2(sync, O_CLOEXEC) < 0)
			abort();
		fflush(stdout);
		c = fork();
		if (c == 0) {
			static const char *const paths[] = { "/dev/null", "/dev/kmsg" };
			static const int flags[] = { O_RDWR, O_RDONLY };
			static const bool want[] = { true, false };

			close(sync[1]);
			_exit(device_child(sync[0], want, (const char *const *) paths, flags, 2));
		}
		close(sync[0]);
		ok(ferry_cgroup_enter(cg, c, &e) == 0, "real v2: enter a device-checking child");
		if (write(sync[1], "x", 1) != 1)
			abort();
		close(sync[1]);
		waitpid(c, &status, 0);
		snprintf(kmsg_ok, sizeof(kmsg_ok), "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		is_str(kmsg_ok, "0", "real v2: default device rules: /dev/null opens, /dev/kmsg is denied");
	}
	ok(ferry_cgroup_freeze(cg, true, &e) == 0, "real v2: freeze through cgroup.freeze %s", e.msg ? e.msg : "");
	is_file("1", "%s/cgroup.freeze", dir);
	ok(ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen, "real v2: cgroup.events says frozen");
	ok(ferry_cgroup_freeze(cg, false, &e) == 0 && ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && !frozen,
	   "real v2: thawed");
	b = sleeper();
	ok(ferry_cgroup_enter(cg, b, &e) == 0, "real v2: enter a second child");
	ok(ferry_cgroup_kill(cg, SIGTERM, &e) == 0 && wait_sig(a) == SIGTERM && wait_sig(b) == SIGTERM,
	   "real v2: kill SIGTERM (freeze, signal, thaw) %s", e.msg ? e.msg : "");
	a = sleeper();
	ok(ferry_cgroup_enter(cg, a, &e) == 0 && ferry_cgroup_kill(cg, SIGKILL, &e) == 0 && wait_sig(a) == SIGKILL,
	   "real v2: kill SIGKILL through cgroup.kill %s", e.msg ? e.msg : "");
	{
		char *text = NULL;

		ok(ferry_cgroup_stats_json(cg, NULL, &text, &e) == 0 && strstr(text, "\"type\":\"stats\"") &&
			   !strstr(text, "\"id\""),
		   "real v2: stats without id: %s", text ? text : e.msg);
		free(text);
	}
	/* A container without a cgroup namespace sees its own cgroup as the
	 * root of /sys/fs/cgroup (a bind of it, as runc and crun do), not
	 * the host's tree; with one, a fresh mount shows the same. */
	for (int ns = 0; ns <= 1; ns++) {
		int sync[2], status = -1;
		pid_t c;

		if (pipe2(sync, O_CLOEXEC) < 0)
			abort();
		fflush(stdout);
		c = fork();
		if (c == 0) {
			close(sync[1]);
			_exit(v2_mount_child(sync[0], dir, ns));
		}
		close(sync[0]);
		ok(ferry_cgroup_enter(cg, c, &e) == 0, "real v2: enter a mount child");
		if (write(sync[1], "x", 1) != 1)
			abort();
		close(sync[1]);
		waitpid(c, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "real v2: the cgroup mount %s a cgroup namespace shows the container's own cgroup as its root "
		   "(child exit %d)",
		   ns ? "in" : "without", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	check_self_join(cg, "real v2 (after cgroup.kill)", true);
	ok(ferry_cgroup_destroy(cg, &e) == 0 && access(dir, F_OK) < 0, "real v2: destroyed %s", e.msg ? e.msg : "");
	ferry_cgroup_free(cg);
	unsetenv("FERRY_CGROUP_ROOT");
}

static void
test_real(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	enum ferry_cgroup_layout layout = 0;
	_cleanup_free_ char *name = xasprintf("ferry-unittest-%d", (int) getpid());
	_cleanup_free_ char *path = xasprintf("/%s", name);
	_cleanup_free_ char *memdir = NULL, *pidsdir = NULL, *frzdir = NULL;
	struct ferry_resources r = {
		.has_mem_limit = true, .mem_limit = 64 * MiB, .has_pids_limit = true, .pids_limit = 32
	};
	ferry_cgroup_t *cg = NULL;
	pid_t a, b, d, *pids = NULL;
	size_t n = 0;
	bool frozen;

	if (geteuid() != 0) {
		skip("real cgroups: not root");
		return;
	}
	unsetenv("FERRY_CGROUP_ROOT");
	if (ferry_cgroup_detect_layout(ferry_cgroup_root(), &layout, &e) < 0) {
		skip("real cgroups: no cgroup hierarchy here");
		return;
	}
	printf("# host cgroup layout: %s\n", ferry_cgroup_layout_name(layout));

	a = sleeper();
	ok(ferry_cgroup_create(path, &r, a, &cg, &e) == 0, "real: create %s with the child in it %s", path,
	   e.msg ? e.msg : "");
	if (cg == NULL) {
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		return;
	}
	memdir = ferry_cgroup_dir(cg, "memory");
	pidsdir = ferry_cgroup_dir(cg, "pids");
	frzdir = ferry_cgroup_dir(cg, layout == FERRY_CGROUP_V2 ? "" : "freezer");
	if (layout == FERRY_CGROUP_V2)
		is_file("67108864", "%s/memory.max", memdir);
	else
		is_file("67108864", "%s/memory.limit_in_bytes", memdir);
	is_file("32", "%s/pids.max", pidsdir);
	ok(procs_has(memdir, a), "real: cgroup.procs lists the child");
	if (layout != FERRY_CGROUP_V2) {
		_cleanup_free_ char *cs = ferry_cgroup_dir(cg, "cpuset");
		_cleanup_free_ char *cpus = get("%s/cpuset.cpus", cs);

		ok(cpus && *cpus, "real: v1 cpuset.cpus inherited (\"%s\")", cpus ? cpus : "");
		ok(procs_has(cs, a), "real: child in the cpuset hierarchy too");
	}
	ok(ferry_cgroup_pids(cg, &pids, &n, &e) == 0 && n == 1 && pids[0] == a, "real: pids = [child]");
	free(pids);
	pids = NULL;

	ok(ferry_cgroup_freeze(cg, true, &e) == 0, "real: freeze %s", e.msg ? e.msg : "");
	if (layout == FERRY_CGROUP_V2)
		is_file("1", "%s/cgroup.freeze", frzdir);
	else
		is_file("FROZEN", "%s/freezer.state", frzdir);
	ok(ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && frozen, "real: is_frozen");
	{
		char *text = NULL;
		json_t *j = NULL;

		ok(ferry_cgroup_stats_json(cg, "unittest", &text, &e) == 0, "real: stats %s", e.msg ? e.msg : "");
		j = text ? json_loads(text, 0, NULL) : NULL;
		ok(j && strcmp(json_string_value(json_object_get(j, "type")), "stats") == 0 &&
			   strcmp(json_string_value(json_object_get(j, "id")), "unittest") == 0,
		   "real: stats type and id");
		{
			json_t *data = json_object_get(j, "data");
			json_t *mem = json_object_get(json_object_get(data, "memory"), "usage");
			json_t *p = json_object_get(data, "pids");
			json_t *cpu = json_object_get(json_object_get(data, "cpu"), "usage");

			/* The child's pages stay charged where it was before
			 * the move (v1 does not move charges): usage may be 0. */
			ok(json_integer_value(json_object_get(mem, "limit")) == 64 * MiB &&
				   json_is_integer(json_object_get(mem, "usage")),
			   "real: stats memory.usage limit 64M, usage %lld",
			   (long long) json_integer_value(json_object_get(mem, "usage")));
			ok(json_integer_value(json_object_get(p, "current")) == 1 &&
				   json_integer_value(json_object_get(p, "limit")) == 32,
			   "real: stats pids current 1, limit 32");
			ok(json_is_integer(json_object_get(cpu, "total")), "real: stats cpu.usage.total %lld ns",
			   (long long) json_integer_value(json_object_get(cpu, "total")));
		}
		json_decref(j);
		free(text);
	}
	ok(ferry_cgroup_freeze(cg, false, &e) == 0, "real: thaw");
	if (layout != FERRY_CGROUP_V2)
		is_file("THAWED", "%s/freezer.state", frzdir);
	ok(ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && !frozen, "real: not frozen");

	{
		struct ferry_resources r2 = { .has_mem_limit = true, .mem_limit = 128 * MiB, .has_pids_limit = true,
					      .pids_limit = -1 };

		ok(ferry_cgroup_update(cg, &r2, &e) == 0, "real: update %s", e.msg ? e.msg : "");
		if (layout == FERRY_CGROUP_V2)
			is_file("134217728", "%s/memory.max", memdir);
		else
			is_file("134217728", "%s/memory.limit_in_bytes", memdir);
		is_file("max", "%s/pids.max", pidsdir);
	}

	/* The freeze-signal-thaw path (SIGTERM never uses cgroup.kill). */
	b = sleeper();
	ok(ferry_cgroup_enter(cg, b, &e) == 0, "real: enter a second child");
	ok(ferry_cgroup_pids(cg, &pids, &n, &e) == 0 && n == 2, "real: pids lists 2");
	free(pids);
	pids = NULL;
	ok(ferry_cgroup_kill(cg, SIGTERM, &e) == 0, "real: kill SIGTERM %s", e.msg ? e.msg : "");
	ok(wait_sig(a) == SIGTERM && wait_sig(b) == SIGTERM, "real: both children died of SIGTERM");
	ok(ferry_cgroup_is_frozen(cg, &frozen, &e) == 0 && !frozen, "real: thawed again after the kill");

	/* The cgroup mounts, from inside a new cgroup namespace and without
	 * one (bind mounts of the container's own cgroups). */
	for (int ns = 1; ns >= 0; ns--) {
		char tmpl[] = "/tmp/ferry-cgmnt-XXXXXX";
		int sync[2];
		pid_t c;

		if (mkdtemp(tmpl) == NULL || pipe2(sync, O_CLOEXEC) < 0)
			abort();
		fflush(stdout);
		c = fork();
		if (c == 0) {
			char x;

			close(sync[1]);
			if (read(sync[0], &x, 1) != 1)
				_exit(1);
			_exit(mount_child(tmpl, 128 * MiB, ns));
		}
		close(sync[0]);
		ok(ferry_cgroup_enter(cg, c, &e) == 0, "real: enter the mount child");
		if (write(sync[1], "x", 1) != 1)
			abort();
		close(sync[1]);
		{
			int code = wait_sig(c);

			ok(code == 1000,
			   "real: cgroup mounts %s a cgroup namespace show the container's cgroup as root, read-only "
			   "(child exit %d)",
			   ns ? "in" : "without", code - 1000);
		}
		rmdir(tmpl);
	}

	check_self_join(cg, "real", false);

	d = sleeper();
	ok(ferry_cgroup_enter(cg, d, &e) == 0, "real: enter a third child");
	ok(ferry_cgroup_kill(cg, SIGKILL, &e) == 0, "real: kill SIGKILL %s", e.msg ? e.msg : "");
	ok(wait_sig(d) == SIGKILL, "real: it died of SIGKILL");

	ok(ferry_cgroup_destroy(cg, &e) == 0, "real: destroy %s", e.msg ? e.msg : "");
	ok(gone_everywhere(name), "real: nothing left in any hierarchy");
	ok(ferry_cgroup_destroy(cg, &e) == 0, "real: destroy again is fine");
	ferry_cgroup_free(cg);
	cg = NULL;

	/* Failure: a value the kernel refuses; only what create made goes.
	 * The parent exists before and must stay. */
	{
		_cleanup_free_ char *parent = xasprintf("%s-p", path), *child = xasprintf("%s-p/bad", path);
		_cleanup_free_ char *pname = xasprintf("%s-p", name);
		struct ferry_resources bad = { .cpu_cpus = "9999" };
		ferry_cgroup_t *pcg = NULL;

		ok(ferry_cgroup_create(parent, NULL, 0, &pcg, &e) == 0, "real: create a parent %s", e.msg ? e.msg : "");
		ok(ferry_cgroup_create(child, &bad, 0, &cg, &e) < 0 && cg == NULL, "real: cpuset.cpus 9999 refused");
		{
			_cleanup_free_ char *s = ferry_error_string(&e);
			_cleanup_free_ char *want = xasprintf("cgroup %s: cpuset.cpus: write \"9999\": ", child);

			/* EINVAL or ERANGE, by kernel version. */
			ok(s && strncmp(s, want, strlen(want)) == 0 && e.errno_ != 0,
			   "real: error names cgroup, file, value, errno: %s", s);
		}
		ferry_error_clear(&e);
		{
			_cleanup_free_ char *cname = xasprintf("%s/bad", pname);

			ok(gone_everywhere(cname), "real: the failed cgroup is gone everywhere");
		}
		ok(exists("/sys/fs/cgroup/memory/%s", pname) || layout == FERRY_CGROUP_V2, "real: its parent stays");
		ok(pcg && ferry_cgroup_destroy(pcg, &e) == 0 && gone_everywhere(pname), "real: parent destroyed");
		ferry_cgroup_free(pcg);
	}

	/* hugetlb: on this kind of hybrid host only on cgroup2. */
	{
		ferry_cgroup_t *hcg = NULL;
		_cleanup_free_ char *hpath = xasprintf("%s-huge", path), *hname = xasprintf("%s-huge", name);
		struct ferry_hugepage_limit huge = { "2MB", 4 * MiB };
		struct ferry_resources hr = { .hugepage_limits = &huge, .n_hugepage_limits = 1 };

		if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) < 0) {
			skip("real: no 2MB huge pages");
		} else if (ferry_cgroup_create(hpath, &hr, 0, &hcg, &e) < 0) {
			ok(0, "real: hugetlb create: %s", e.msg);
			ferry_error_clear(&e);
		} else {
			_cleanup_free_ char *hdir = ferry_cgroup_dir(hcg, "hugetlb");

			is_file("4194304", "%s/hugetlb.2MB.max", hdir);
			printf("# hugetlb dir: %s\n", hdir);
			ok(ferry_cgroup_destroy(hcg, &e) == 0 && gone_everywhere(hname), "real: hugetlb cgroup destroyed");
			ferry_cgroup_free(hcg);
		}
	}

	test_fork_bomb();

	/* The BPF device program, on the cgroup2 hierarchy. */
	{
		const char *udir = layout == FERRY_CGROUP_V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";

		if (layout == FERRY_CGROUP_V1)
			skip("real: no cgroup2 hierarchy for the BPF device program");
		else
			test_bpf_devices(udir);
		if (layout == FERRY_CGROUP_HYBRID)
			test_real_v2(udir);
		else
			skip("real v2 on a hybrid host's cgroup2 hierarchy: not hybrid");
	}
}

/* /proc/PID/cgroup lines: the cgroup2 one ("0::PATH") and a v1 one with
 * co-mounted controllers, picked by the hierarchy they belong to. */
static void
test_proc_cgroup_of(void)
{
	const char *text = "12:pids:/p\n4:cpu,cpuacct:/c/d\n1:name=systemd:/s\n0::/ferry/web1\n";
	char *v2c[] = { "memory", "pids", NULL }, *cpu[] = { "cpuacct", "cpu", NULL }, *cpuonly[] = { "cpu", NULL };
	char *sd[] = { "name=systemd", NULL };
	struct cg_hier v2 = { .name = "unified", .controllers = v2c, .v2 = true };
	struct cg_hier c = { .name = "cpu,cpuacct", .controllers = cpu };
	struct cg_hier c1 = { .name = "cpu", .controllers = cpuonly };
	struct cg_hier s = { .name = "systemd", .controllers = sd };
	char *r;

	r = cg_proc_cgroup_of(text, &v2);
	is_str(r, "/ferry/web1", "proc cgroup: the cgroup2 line \"0::PATH\" is found");
	free(r);
	r = cg_proc_cgroup_of(text, &c);
	is_str(r, "/c/d", "proc cgroup: co-mounted v1 controllers in any order");
	free(r);
	r = cg_proc_cgroup_of(text, &c1);
	ok(r == NULL, "proc cgroup: a hierarchy with only some of a line's controllers is not that line");
	free(r);
	r = cg_proc_cgroup_of(text, &s);
	is_str(r, "/s", "proc cgroup: a named hierarchy");
	free(r);
	r = cg_proc_cgroup_of("10::/x\n", &v2);
	ok(r == NULL, "proc cgroup: \"10::\" is not the cgroup2 line");
	free(r);
}

int
main(void)
{
	ferry_log_set_level(FERRY_LOG_ERROR);
	test_conversions();
	test_paths();
	test_proc_cgroup_of();
	test_fake_v2();
	test_fake_write_error();
	test_fake_v1();
	test_fake_hybrid();
	test_real();
	return tap_done();
}
