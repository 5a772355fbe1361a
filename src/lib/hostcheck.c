/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hostcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "criu.h"
#include "util.h"

bool
ferry_host_has_userfaultfd(void)
{
	int fd = (int) syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, UFFDIO_API, &api) == 0;
	close(fd);
	return ok;
}

bool
ferry_host_has_soft_dirty(void)
{
	/* Clear the soft-dirty bits, write a page, and see whether its
	 * pagemap entry (bit 55) says so: without CONFIG_MEM_SOFT_DIRTY the
	 * write to clear_refs is refused or the bit never appears. */
	long psz = sysconf(_SC_PAGESIZE);
	volatile char *page = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;
	uint64_t entry = 0;
	bool ok = false;

	if (page == MAP_FAILED)
		return false;
	page[0] = 1;
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "4", 1) == 1) {
		page[0] = 2;
		int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pm >= 0) {
			if (pread(pm, &entry, sizeof(entry), ((uintptr_t) page / psz) * sizeof(entry)) == sizeof(entry))
				ok = (entry >> 55) & 1;
			close(pm);
		}
	}
	if (fd >= 0)
		close(fd);
	munmap((void *) page, psz);
	return ok;
}

long
ferry_host_pipe_max_size(void)
{
	char buf[32] = { 0 };
	int fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

int
ferry_host_raise_pipe_max_size(void)
{
	char buf[32];
	int fd;

	if (ferry_host_pipe_max_size() >= FERRY_LAZY_PIPE_MIN)
		return 0;
	fd = open("/proc/sys/fs/pipe-max-size", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%ld", FERRY_LAZY_PIPE_MIN);
	if (write(fd, buf, strlen(buf)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return ferry_host_pipe_max_size() >= FERRY_LAZY_PIPE_MIN ? 0 : -1;
}

static void
add(struct ferry_check_result **r, size_t *n, const char *name, enum ferry_check_level level, bool ok, char *detail,
    const char *fix)
{
	*r = xrealloc(*r, sizeof(**r) * (*n + 1));
	(*r)[*n] = (struct ferry_check_result){ name, level, ok, detail, ok || !fix ? NULL : xstrdup(fix) };
	(*n)++;
}

int
ferry_hostcheck_run(const ferry_ctx_t *ctx, struct ferry_check_result **out, size_t *n)
{
	static const char *const ns[] = { "pid", "net", "mnt", "uts", "ipc", "cgroup", "user", "time" };
	struct ferry_check_result *r = NULL;
	size_t k = 0;
	_cleanup_free_ char *missing = xstrdup("");
	enum ferry_cgroup_layout layout;
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *criu = NULL;
	struct ferry_criu_version v;
	long pms;
	int kmaj, kmin;

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		_cleanup_free_ char *p = xasprintf("/proc/self/ns/%s", ns[i]);
		if (access(p, F_OK) < 0) {
			char *m = xasprintf("%s%s%s", missing, *missing ? " " : "", ns[i]);
			free(missing);
			missing = m;
		}
	}
	add(&r, &k, "namespaces", FERRY_CHECK_REQUIRED, *missing == '\0',
	    *missing ? xasprintf("missing: %s", missing) : xstrdup("pid net mnt uts ipc cgroup user time"),
	    "use a kernel built with CONFIG_NAMESPACES and each namespace type");

	if (ferry_cgroup_detect_layout(ferry_cgroup_root(), &layout, &err) == 0)
		add(&r, &k, "cgroups", FERRY_CHECK_REQUIRED, true, xstrdup(ferry_cgroup_layout_name(layout)), NULL);
	else
		add(&r, &k, "cgroups", FERRY_CHECK_REQUIRED, false, xstrdup(err.msg ? err.msg : "unknown"),
		    "mount cgroup2 on /sys/fs/cgroup (or the v1 controllers)");
	ferry_error_clear(&err);

	ferry_kernel_version(&kmaj, &kmin);
	if (ferry_criu_require(ctx, &criu, &v, &err) == 0) {
		char *argv[] = { criu, "check", NULL };
		_cleanup_free_ char *outp = NULL;
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		/* Where /run is not a tmpfs, CRIU 4.2 leaves an empty
		 * /run/criu.kdat.tmp behind (its cache save unlinks criu.kdat
		 * instead of the .tmp it made): an empty one it made goes. */
		bool had_tmp = access("/run/criu.kdat.tmp", F_OK) == 0;
		int rc = ferry_run_capture(argv, &outp, 64 * 1024, &e2);
		bool good = rc == 0 && outp && strstr(outp, "Looks good");
		struct stat tst;

		if (!had_tmp && lstat("/run/criu.kdat.tmp", &tst) == 0 && S_ISREG(tst.st_mode) && tst.st_size == 0)
			unlink("/run/criu.kdat.tmp");

		add(&r, &k, "criu", FERRY_CHECK_REQUIRED, true,
		    xasprintf("%s, version %d.%d.%d (kernel %d.%d)", criu, v.major, v.minor, v.sublevel, kmaj, kmin),
		    NULL);
		if (!good && outp) {
			/* keep the first error line of criu's own report */
			char *line = strstr(outp, "Error");
			char *nl = line ? strchr(line, '\n') : NULL;
			if (nl)
				*nl = '\0';
			add(&r, &k, "criu check", FERRY_CHECK_REQUIRED, false,
			    xasprintf("%s check: %s", criu, line ? line : "did not say \"Looks good\""),
			    "run `criu check` by hand and see its log; scripts/install-deps provisions a working "
			    "CRIU 4.2");
		} else {
			add(&r, &k, "criu check", FERRY_CHECK_REQUIRED, good, xstrdup(good ? "Looks good" : "failed to run"),
			    "run scripts/install-deps");
		}
	} else {
		add(&r, &k, "criu", FERRY_CHECK_REQUIRED, false, xstrdup(err.msg ? err.msg : "not found"),
		    "run scripts/install-deps, or give --criu PATH / FERRY_CRIU");
	}
	ferry_error_clear(&err);

	add(&r, &k, "userfaultfd", FERRY_CHECK_FEATURE, ferry_host_has_userfaultfd(),
	    xstrdup(ferry_host_has_userfaultfd() ? "available (lazy pages / post-copy migration)" : "not available"),
	    "lazy pages need CONFIG_USERFAULTFD; migration falls back to stop-copy");
	add(&r, &k, "soft-dirty", FERRY_CHECK_FEATURE, ferry_host_has_soft_dirty(),
	    xstrdup(ferry_host_has_soft_dirty() ? "available (pre-dump / pre-copy migration)"
						: "not available: no iterative pre-copy on this kernel"),
	    "pre-copy needs CONFIG_MEM_SOFT_DIRTY; use lazy or stop-copy migration");
	pms = ferry_host_pipe_max_size();
	add(&r, &k, "fs.pipe-max-size", FERRY_CHECK_FEATURE, pms >= FERRY_LAZY_PIPE_MIN,
	    xasprintf("%ld bytes (lazy pages need >= %ld)", pms, FERRY_LAZY_PIPE_MIN),
	    "sysctl -w fs.pipe-max-size=4194304 (ferry raises it itself when allowed; CRIU's lazy page "
	    "server otherwise dies with \"splice: Bad file descriptor\")");
	{
		bool ipt = ferry_in_path("iptables-restore"), nft = ferry_in_path("nft");
		add(&r, &k, "network lock", FERRY_CHECK_FEATURE, ipt || nft,
		    xasprintf("iptables-restore %s, nft %s", ipt ? "found" : "missing", nft ? "found" : "missing"),
		    "apt-get install iptables (CRIU's network lock for TCP connections)");
	}
	{
		/* CRIU keeps what it probed of the kernel in /run/criu.kdat,
		 * but only on a tmpfs (the cache must not survive a reboot).
		 * Elsewhere ferry keeps it for its own CRIU (criu_kdat.c),
		 * which needs the new mount API to give CRIU a private /run. */
		struct statfs sfs;
		bool tmp = statfs("/run", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
		int fs = tmp ? -1 : fsopen("tmpfs", FSOPEN_CLOEXEC);
		bool ours = fs >= 0;

		if (fs >= 0)
			close(fs);
		add(&r, &k, "criu kdat cache", FERRY_CHECK_FEATURE, tmp || ours,
		    xstrdup(tmp    ? "/run is a tmpfs: CRIU caches its kernel probes in /run/criu.kdat"
			    : ours ? "/run is not a tmpfs, where CRIU keeps no cache: ferry keeps CRIU's kernel probes "
				     "in its state root (for this boot, kernel and CRIU binary) and shows them to its "
				     "own CRIU at a private /run"
				   : "/run is not a tmpfs and this kernel has no fsopen(): CRIU probes the kernel "
				     "again on every dump and restore (20-30 ms per run on ferry's benchmark machine)"),
		    "mount a tmpfs on /run, as systemd does (CRIU keeps its cache only there)");
	}
	*out = r;
	*n = k;
	return 0;
}

void
ferry_hostcheck_free(struct ferry_check_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].detail);
		free(r[i].fix);
	}
	free(r);
}
