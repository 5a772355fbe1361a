/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `checkpoint`: dump a running container's process tree with CRIU, the way
 * runc does, so that runc/Podman tooling and `ferry restore` can use the
 * image.
 */
#define LOG_PREFIX "checkpoint: "
#include "checkpoint.h"
#include "tmpfs_carry.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "container_internal.h"
#include "criu.h"
#include "criu_stats.h"
#include "hooks.h"
#include "hostcheck.h"
#include "log.h"
#include "util.h"

int
ferry_criu_cg_mode_parse(const char *s, enum ferry_criu_cg_mode *out, ferry_error_t *err)
{
	static const struct {
		const char *name;
		enum ferry_criu_cg_mode mode;
	} modes[] = {
		{ "soft", FERRY_CRIU_CG_SOFT },
		{ "full", FERRY_CRIU_CG_FULL },
		{ "strict", FERRY_CRIU_CG_STRICT },
		{ "ignore", FERRY_CRIU_CG_IGNORE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(s, modes[i].name) == 0) {
			*out = modes[i].mode;
			return 0;
		}
	return ferry_error_set(err, EINVAL, "invalid --manage-cgroups-mode \"%s\" (soft, full, strict or ignore)", s);
}

/*
 * runc's descriptors.json: what the init's stdio pointed to at dump time.
 * On restore, pipes among them ("pipe:[ino]") are external to the image and
 * must be handed to CRIU as inherit_fd, which is why this is recorded.
 */
static int
write_descriptors(int images_fd, pid_t pid, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	json_t *a = json_array();

	for (int i = 0; i < 3; i++) {
		char link[64], target[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, i);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			n = 0; /* a closed descriptor: runc records "" too */
		target[n] = '\0';
		json_array_append_new(a, json_string(target));
	}
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return ferry_error_set(err, ENOMEM, "encode descriptors.json");
	return ferry_write_file_atomic_at(images_fd, "descriptors.json", text, strlen(text), 0600, err);
}

static bool
mount_in_container(pid_t pid, int mnt_id)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return true;
	while (!found && getline(&line, &cap, f) > 0)
		found = atoi(line) == mnt_id;
	free(line);
	fclose(f);
	return found;
}

/*
 * Stdio the init inherited from the host (a create with the caller's
 * /dev/null or log file) lives on a mount outside the container, which CRIU
 * cannot dump ("Can't lookup mount"): such files are declared external as
 * file[mnt_id:inode] and recorded, one "FD f|c KEY PATH" line each, in
 * ferry-stdio-external, so that restore can plug its own fds in (runc's
 * descriptors.json only covers pipes).  Returns the keys (caller frees).
 */
static char **
external_stdio(int images_fd, pid_t pid, size_t *n, ferry_error_t *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_free_ char *sbuf = NULL;
	size_t slen = 0;
	char **keys = calloc(4, sizeof(*keys));
	FILE *f = open_memstream(&buf, &len);
	/* CRIU checks a regular file's size and mode on restore: a restore on
	 * another host, where the file is not, stands in one like it. */
	FILE *sizes = open_memstream(&sbuf, &slen);

	*n = 0;
	if (keys == NULL || f == NULL || sizes == NULL) {
		free(keys);
		if (f)
			fclose(f);
		if (sizes)
			fclose(sizes);
		ferry_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < 3; i++) {
		char path[64], target[PATH_MAX], *line = NULL;
		size_t cap = 0;
		int mnt_id = -1;
		struct stat sb;
		ssize_t l;
		FILE *fi;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, i);
		l = readlink(path, target, sizeof(target) - 1);
		if (l <= 0 || target[0] != '/' || stat(path, &sb) < 0 || S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, i);
		if ((fi = fopen(path, "re")) == NULL)
			continue;
		while (getline(&line, &cap, fi) > 0)
			if (strncmp(line, "mnt_id:", 7) == 0)
				mnt_id = atoi(line + 7);
		free(line);
		fclose(fi);
		if (mnt_id < 0 || mount_in_container(pid, mnt_id))
			continue;
		keys[*n] = xasprintf("file[%x:%llx]", mnt_id, (unsigned long long) sb.st_ino);
		target[l] = '\0';
		fprintf(f, "%d %c %s %s\n", i, S_ISREG(sb.st_mode) ? 'f' : 'c', keys[*n], target);
		if (S_ISREG(sb.st_mode))
			fprintf(sizes, "%d %lld %o\n", i, (long long) sb.st_size, (unsigned) (sb.st_mode & 07777));
		(*n)++;
	}
	if (fclose(f) != 0 || fclose(sizes) != 0) {
		ferry_strvfreep(&keys);
		ferry_error_sys(err, "write ferry-stdio-external");
		return NULL;
	}
	if (ferry_write_file_atomic_at(images_fd, "ferry-stdio-sizes", sbuf ? sbuf : "", slen, 0600, err) < 0) {
		ferry_strvfreep(&keys);
		return NULL;
	}
	if (ferry_write_file_atomic_at(images_fd, "ferry-stdio-external", buf ? buf : "", len, 0600, err) < 0) {
		ferry_strvfreep(&keys);
		return NULL;
	}
	return keys;
}

static void
print_dump_stats(int images_fd)
{
	struct ferry_criu_stats s;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (ferry_criu_read_stats(images_fd, true, &s, &e) < 0) {
		pr_warn("--print-stats: %s", e.msg);
		return;
	}
	printf("freezing time: %u us\n", s.freezing_time);
	printf("frozen time: %u us\n", s.frozen_time);
	printf("memory dump time: %u us\n", s.memdump_time);
	printf("memory write time: %u us\n", s.memwrite_time);
	printf("pages scanned: %llu\n", (unsigned long long) s.pages_scanned);
	printf("pages written: %llu\n", (unsigned long long) s.pages_written);
	fflush(stdout);
}

static int
open_dir_p(const char *path, int *out, ferry_error_t *err)
{
	if (ferry_mkdir_p(path, 0700, err) < 0)
		return -1;
	*out = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*out < 0)
		return ferry_error_sys(err, "open %s", path);
	return 0;
}

/*
 * The cgroup hierarchies mounted in the container are host filesystems
 * whose root is often not the mount's root (in a nested host the memory
 * hierarchy starts at the parent's cgroup), which CRIU refuses to dump:
 * like runc, they are declared external (key: their mount point, as
 * runc's) and bound again on restore.  Returns the mount points (caller
 * frees each and the array).
 */
static char **
cgroup_mount_points(pid_t pid, bool whole_v2, char ***whole, size_t *n)
{
	char path[64], *line = NULL;
	size_t cap = 0, len = 0;
	char **out = NULL;
	FILE *f;

	*n = 0;
	*whole = NULL;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], root[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		char **tmp;

		if (sep == NULL || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		/* A whole cgroup2 hierarchy CRIU dumps and mounts again itself.
		 * runc mounts no cgroup2 next to v1 ones and so maps no key for
		 * it on restore: an external one would make ferry's images
		 * unrestorable by runc (whole_v2: for ferry's restore only). */
		if (!whole_v2 && strcmp(fstype, "cgroup2") == 0 && strcmp(root, "/") == 0)
			continue;
		tmp = realloc(out, (len + 2) * sizeof(*out));
		if (tmp == NULL)
			break;
		out = tmp;
		out[len++] = xstrdup(mp);
		out[len] = NULL;
		if (strcmp(root, "/") == 0)
			ferry_strv_append(whole, mp);
	}
	free(line);
	fclose(f);
	*n = len;
	return out;
}

int
ferry_page_server_parse(const char *s, char **addr, int *port, ferry_error_t *err)
{
	const char *colon = NULL, *a = s;
	size_t alen;
	int64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end && end[1] == ':') {
			a = s + 1;
			alen = (size_t) (end - a);
			colon = end + 1;
		}
	} else if ((colon = strrchr(s, ':')) != NULL) {
		alen = (size_t) (colon - s);
	}
	if (colon == NULL || alen == 0 || ferry_parse_i64(colon + 1, &p) < 0 || p <= 0 || p > 65535)
		return ferry_error_set(err, EINVAL, "--page-server \"%s\": expected ADDRESS:PORT", s);
	*addr = strndup(a, alen);
	if (*addr == NULL)
		return ferry_error_set(err, ENOMEM, "out of memory");
	*port = (int) p;
	return 0;
}

/*
 * What the host must offer before a lazy dump freezes anything.  CRIU
 * keeps the dumped pages in pipes until the restore side asks for them
 * and needs to grow those pipes beyond the default fs.pipe-max-size
 * (1 MiB), else it fails half-way with the tree frozen (what the baseline
 * saw, docs/migration-notes.md): raise it when we may.
 */
static int
check_lazy_host(ferry_error_t *err)
{
	if (!ferry_host_has_userfaultfd())
		return ferry_error_set(err, ENOTSUP,
				       "--lazy-pages: userfaultfd is not available on this host "
				       "(CONFIG_USERFAULTFD, or vm.unprivileged_userfaultfd / /dev/userfaultfd access)");
	if (ferry_host_raise_pipe_max_size() < 0)
		return ferry_error_set(err, ENOTSUP,
				       "--lazy-pages: fs.pipe-max-size is %ld, CRIU needs at least %ld; "
				       "run: sysctl -w fs.pipe-max-size=%ld",
				       ferry_host_pipe_max_size(), FERRY_LAZY_PIPE_MIN, FERRY_LAZY_PIPE_MIN);
	return 0;
}

static int
check_request(const struct ferry_checkpoint_opts *o, ferry_error_t *err)
{
	if (o->pre_dump && !ferry_host_has_soft_dirty())
		return ferry_error_set(err, ENOTSUP,
				       "--pre-dump: pre-dump needs soft-dirty memory "
				       "tracking, which this kernel lacks");
	if (o->pre_dump)
		return ferry_error_set(err, ENOTSUP, "--pre-dump is not supported yet");
	if (o->parent_path)
		return ferry_error_set(err, ENOTSUP, "--parent-path is not supported yet");
	if (o->lazy_pages && o->page_server == NULL)
		return ferry_error_set(err, EINVAL,
				       "--lazy-pages needs --page-server ADDRESS:PORT (where the dump serves the memory)");
	if (o->has_status_fd && !o->lazy_pages)
		return ferry_error_set(err, EINVAL, "--status-fd only applies to --lazy-pages");
	if (o->has_status_fd) {
		int fl = fcntl(o->status_fd, F_GETFL);
		if (fl < 0)
			return ferry_error_sys(err, "--status-fd %d", o->status_fd);
		if ((fl & O_ACCMODE) == O_RDONLY)
			return ferry_error_set(err, EBADF, "--status-fd %d is not open for writing", o->status_fd);
	}
	if (o->lazy_pages && check_lazy_host(err) < 0)
		return -1;
	return 0;
}

/* The parent of pid from /proc/PID/stat; 0 when it is gone. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (COMM) S PPID ...": COMM may hold anything, ')' included */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t) ppid;
}

int
ferry_container_check_tree(ferry_cgroup_t *cg, pid_t init, ferry_error_t *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (cg == NULL)
		return 0;
	if (ferry_cgroup_pids(cg, &pids, &n, err) < 0)
		return ferry_error_prefix(err, "the container's processes");
	for (size_t i = 0; i < n; i++) {
		pid_t p = pids[i];
		int depth = 0;

		while (p != init && p > 1 && depth++ < 4096)
			p = parent_of(p);
		if (p == init || (p == 0 && kill(pids[i], 0) < 0))
			continue; /* in the tree, or gone meanwhile */
		{
			char path[64];
			_cleanup_free_ char *comm = NULL;
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

			snprintf(path, sizeof(path), "/proc/%d/comm", (int) pids[i]);
			if (ferry_read_file(path, 256, &comm, NULL, &e) == 0)
				comm[strcspn(comm, "\n")] = '\0';
			return ferry_error_set(err, EBUSY,
					       "process %d (%s) is in the container but not below its init (%d): "
					       "started by `exec`? CRIU dumps only the init's tree, and it would be "
					       "lost; let it end first (Podman refuses the same)",
					       (int) pids[i], comm ? comm : "?", (int) init);
		}
	}
	return 0;
}

/*
 * CRIU records, as the freezer cgroup's own state, the state it found
 * before it froze the tree.  When ferry froze it first (below) that is
 * FROZEN, and a restore with --manage-cgroups-mode full or strict (runc's,
 * Podman's or ours) would bring the container back paused.  The image is
 * put right: in each freezer.state property, FROZEN becomes THAWED.  Both
 * are six bytes, so the protobuf framing around them stays valid.  cgroup2
 * records no freezer state.  Returns the number of properties changed.
 */
int
ferry_criu_image_thaw_freezer(int images_fd, ferry_error_t *err)
{
	static const char frozen[] = "\x0a\x0d" "freezer.state" "\x12\x06" "FROZEN";
	_cleanup_free_ char *img = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0, plen = sizeof(frozen) - 1;
	int n = 0;

	fd = openat(images_fd, "cgroup.img", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) /* the tree shared CRIU's cgroups */
			return 0;
		return ferry_error_sys(err, "cgroup.img");
	}
	if (ferry_read_file_at(images_fd, "cgroup.img", 64 << 20, &img, &len, err) < 0)
		return -1;
	for (char *p = img; len >= plen && (p = memmem(p, len - (size_t) (p - img), frozen, plen)) != NULL;
	     p += plen) {
		off_t off = (off_t) (p - img) + (off_t) plen - 6;
		if (pwrite(fd, "THAWED", 6, off) != 6)
			return ferry_error_sys(err, "cgroup.img: rewriting freezer.state");
		n++;
	}
	return n;
}

/* Freeze the cgroup at CRIU's pre-dump notification (CRIU has started and
 * touched nothing yet): ferry's tight poll instead of CRIU's write-FROZEN-
 * then-sleep-100-ms loop, which on cgroup v1 nearly always sleeps once. */
struct ck_freeze {
	ferry_cgroup_t *cg;
	bool froze;
};

static void
thaw_if_froze(struct ck_freeze *f)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (!f->froze)
		return;
	if (ferry_cgroup_freeze(f->cg, false, &e) < 0)
		pr_warn("%s (the container stays paused: `ferry resume` it)", e.msg);
	f->froze = false;
}

static int
ck_notify(const char *script, pid_t pid, int *fd, void *data, ferry_error_t *err)
{
	struct ck_freeze *f = data;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	(void) pid;
	(void) fd;
	(void) err;
	if (strcmp(script, "pre-dump") != 0 || f->cg == NULL || f->froze)
		return 0;
	if (ferry_cgroup_freeze(f->cg, true, &e) == 0)
		f->froze = true;
	else
		pr_debug("checkpoint: cannot freeze first (%s); CRIU freezes it", e.msg);
	return 0;
}

int
ferry_container_checkpoint(const ferry_ctx_t *ctx, const struct ferry_checkpoint_opts *o, ferry_error_t *err)
{
	struct ferry_container_dir d;
	bool dir_open = false;
	_cleanup_state_ struct ferry_state *st = NULL;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_free_ char *criu = NULL;
	_cleanup_free_ char *freezer = NULL;
	_cleanup_free_ char *ps_addr = NULL;
	_cleanup_free_ struct ferry_criu_kv *ext = NULL;
	_cleanup_strv_ char **cg_mounts = NULL, **cg_whole = NULL;
	_cleanup_strv_ char **ext_files = NULL;
	_cleanup_strv_ char **masked_keys = NULL, **carried = NULL;
	_cleanup_close_ int images_fd = -1;
	_cleanup_close_ int work_fd = -1;
	_cleanup_criu_result_ struct ferry_criu_result res = { 0 };
	struct ferry_criu_opts copts = FERRY_CRIU_OPTS_INIT;
	struct ferry_criu_version v;
	struct ck_freeze fz = { 0 };
	const char *image_path = o->image_path ? o->image_path : "checkpoint";
	const char *work_path = o->work_path ? o->work_path : image_path;
	enum ferry_status s;
	size_t n_ext = 0, n_masked = 0, n_cg = 0, n_files = 0;
	int ret = -1;

	if (check_request(o, err) < 0)
		return ferry_error_prefix(err, "checkpoint %s", o->id);
	if (o->page_server && ferry_page_server_parse(o->page_server, &ps_addr, &copts.ps_port, err) < 0)
		return ferry_error_prefix(err, "checkpoint %s", o->id);
	if (ferry_container_dir_open(ctx, o->id, &d, err) < 0)
		return ferry_error_prefix(err, "checkpoint");
	dir_open = true;
	if (ferry_container_load(&d, &st, &spec, err) < 0)
		goto out;
	s = ferry_state_status(&d, st);
	if (s != FERRY_STATUS_RUNNING && s != FERRY_STATUS_PAUSED) {
		ferry_error_set(err, EINVAL, "container \"%s\" is %s, not running", o->id, ferry_status_name(s));
		goto out;
	}
	if (ferry_criu_require(ctx, &criu, &v, err) < 0)
		goto out;
	if (st->cgroup_path && ferry_cgroup_open(st->cgroup_path, &cg, err) < 0)
		goto out;
	if (cg)
		freezer = ferry_cgroup_dir(cg, "freezer");
	if (ferry_container_check_tree(cg, st->pid, err) < 0)
		goto out;

	if (open_dir_p(image_path, &images_fd, err) < 0 || open_dir_p(work_path, &work_fd, err) < 0)
		goto out;
	if (write_descriptors(images_fd, st->pid, err) < 0)
		goto out;
	if ((ext_files = external_stdio(images_fd, st->pid, &n_files, err)) == NULL)
		goto out;

	/*
	 * Bind mounts come from the host and are not CRIU's to dump: they are
	 * declared external under their destination, which is the key the
	 * restore side maps to its own source (runc does the same).  Masked
	 * files are /dev/null bind mounts from the host, external as well;
	 * masked directories are read-only tmpfs that CRIU dumps itself.
	 */
	for (char **m = spec->linux_.masked_paths; m && *m; m++)
		n_masked++;
	cg_mounts = cgroup_mount_points(st->pid, o->cgroup2_external, &cg_whole, &n_cg);
	/* The restore binds each at the container's own cgroup, except those
	 * that showed a whole hierarchy (restore.c). */
	if (cg_whole) {
		_cleanup_free_ char *list = NULL;
		size_t llen = 0;
		FILE *lf = open_memstream(&list, &llen);

		if (lf == NULL) {
			ferry_error_sys(err, "open_memstream");
			goto out;
		}
		for (char **w = cg_whole; *w; w++)
			fprintf(lf, "%s\n", *w);
		fclose(lf);
		if (ferry_write_file_atomic_at(images_fd, FERRY_CGROUP_WHOLE, list, llen, 0600, err) < 0)
			goto out;
	}
	/* The network namespace (cr_netns.c): one joined by path is the
	 * caller's, external under runc's key; our own is left out of the
	 * image when it holds nothing a fresh one would not. */
	{
		const struct ferry_namespace *netns = ferry_spec_get_ns(spec, CLONE_NEWNET);
		if (netns && netns->path) {
			char p[64], key[96];
			struct stat sb;
			snprintf(p, sizeof(p), "/proc/%d/ns/net", (int) st->pid);
			if (stat(p, &sb) < 0) {
				ferry_error_sys(err, "%s", p);
				goto out;
			}
			snprintf(key, sizeof(key), "net[%lu]:%s", (unsigned long) sb.st_ino, FERRY_CRIU_EXT_NETNS);
			ferry_strv_append(&ext_files, key);
			n_files++;
		} else if (netns) {
			bool pristine = ferry_cr_netns_pristine(st->pid, spec);

			if (o->empty_net || pristine)
				copts.empty_ns = CLONE_NEWNET;
			/* Nor is there a network to lock when it holds only lo:
			 * all of its traffic is the container's own, frozen.
			 * CRIU records the lock method in the image, and the
			 * restore uses the dump's (4.2: "Network lock method from
			 * dump will be used in restore"): otherwise every restore
			 * locks and unlocks its fresh namespace with
			 * iptables-restore and ip6tables-restore, four execs,
			 * ~60 ms, 30-60 of them after the memory is in. */
			if (pristine)
				copts.network_lock = FERRY_CRIU_NETLOCK_SKIP;
		}
	}
	if (o->carry_tmpfs && ferry_tmpfs_carry_plan(spec, st->pid, images_fd, &carried, err) < 0)
		goto out;
	ext = calloc(2 * spec->n_mounts + n_masked + n_cg + 1, sizeof(*ext));
	if (ext == NULL) {
		ferry_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		if (!m->bind)
			continue;
		ext[n_ext++] = (struct ferry_criu_kv){ m->destination, m->destination };
	}
	for (char **m = spec->linux_.masked_paths; m && *m; m++) {
		char p[PATH_MAX];
		struct stat sb;
		snprintf(p, sizeof(p), "/proc/%d/root%s", st->pid, *m);
		if (stat(p, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			/* An empty read-only tmpfs.  For a ferry restore it can be
			 * external too, so that CRIU does not run tar on each
			 * (3-4 ms apiece, frozen); runc would not know the key,
			 * so only when asked (the migration). */
			if (o->masked_dirs_external)
				ferry_strv_append(&masked_keys, *m);
			continue;
		}
		/* dump's pairs are mountpoint:key; runc records every masked
		 * file under the key "/dev/null" and restores them so. */
		ext[n_ext++] = (struct ferry_criu_kv){ *m, "/dev/null" };
	}
	for (char **k = masked_keys; k && *k; k++) {
		char *key = xasprintf("masked-dir:%s", *k);
		free(*k);
		*k = key;
		ext[n_ext++] = (struct ferry_criu_kv){ key + strlen("masked-dir:"), key };
	}

	for (char **k = carried; k && *k; k++) {
		char *key = xasprintf("%s%s", FERRY_TMPFS_KEY_PREFIX, *k);
		free(*k);
		*k = key;
		ext[n_ext++] = (struct ferry_criu_kv){ key + strlen(FERRY_TMPFS_KEY_PREFIX), key };
	}
	for (size_t i = 0; i < n_cg; i++)
		ext[n_ext++] = (struct ferry_criu_kv){ cg_mounts[i], cg_mounts[i] };

	copts.criu_path = criu;
	copts.images_dir_fd = images_fd;
	copts.work_dir_fd = work_fd;
	copts.log_file = "dump.log";
	copts.pid = st->pid;
	copts.manage_cgroups = true;
	copts.manage_cgroups_mode = o->manage_cgroups_mode ? o->manage_cgroups_mode : FERRY_CRIU_CG_SOFT;
	copts.freeze_cgroup = freezer;
	copts.external = (const char *const *) ext_files;
	copts.n_external = n_files;
	copts.ext_mnt = ext;
	copts.n_ext_mnt = n_ext;
	copts.leave_running = o->leave_running;
	copts.tcp_established = o->tcp_established;
	copts.tcp_skip_in_flight = o->tcp_skip_in_flight;
	copts.ext_unix_sk = o->ext_unix_sk;
	copts.shell_job = o->shell_job;
	copts.file_locks = o->file_locks;
	copts.link_remap = o->link_remap;
	copts.auto_dedup = o->auto_dedup;
	/* A container with a terminal has the pty slave on its stdio and
	 * bound over /dev/console, while the master is with whoever holds
	 * the console socket: CRIU refuses such a bind mount ("Unable to find
	 * a master") unless told to leave the master out.  runc always asks
	 * so; restore gets a new master from CRIU (see restore.c). */
	copts.orphan_pts_master = true;
	/* With a page server but no lazy pages, CRIU sends the pages to a
	 * `criu page-server` there; with lazy pages it listens there itself
	 * and serves them, and writes '\0' to status_fd once it does (CRIU
	 * reopens the fd through /proc/<ferry>/fd, see criu_rpc.h). */
	copts.ps_address = ps_addr;
	copts.lazy_pages = o->lazy_pages;
	if (o->has_status_fd)
		copts.status_fd = o->status_fd;
	/* A running container is frozen by ferry at CRIU's pre-dump
	 * notification (ck_notify); a paused one stays as it is. */
	if (s == FERRY_STATUS_RUNNING && cg && freezer) {
		fz.cg = cg;
		copts.notify_scripts = true;
		copts.notify = ck_notify;
		copts.notify_data = &fz;
	}
	if (o->tune)
		o->tune(&copts, o->tune_data);
	if (copts.notify != ck_notify)
		fz.cg = NULL; /* the caller froze it (the migration) */
	if (ferry_criu_rpc(FERRY_CRIU_DUMP, &copts, &res, err) < 0) {
		/* CRIU let go of the tree and left the cgroup as it found it:
		 * frozen by us, so thawed by us. */
		thaw_if_froze(&fz);
		goto out;
	}
	if (fz.froze) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		/* The dump is done (and, unless asked otherwise, the tree is
		 * gone): a failure here only costs a full-mode restore its
		 * running state, so it is a warning. */
		if (ferry_criu_image_thaw_freezer(images_fd, &e) < 0)
			pr_warn("%s: a restore with --manage-cgroups-mode full or strict will find the container paused",
				e.msg);
		if (o->leave_running)
			thaw_if_froze(&fz);
	}
	if (o->print_stats)
		print_dump_stats(images_fd);

	if (!o->leave_running) {
		/* CRIU killed the tree: what is left is runc's delete. */
		_cleanup_free_ char *hook_json = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

		if (cg && ferry_cgroup_destroy(cg, &e) < 0) {
			pr_warn("checkpoint %s: %s", o->id, e.msg);
			ferry_error_clear(&e);
		}
		hook_json = ferry_state_hook_json(st, FERRY_STATUS_STOPPED);
		if (ferry_hooks_run(spec, FERRY_HOOK_POSTSTOP, hook_json, &e) < 0)
			pr_warn("checkpoint %s: %s", o->id, e.msg);
		dir_open = false;
		if (ferry_container_dir_remove(&d, err) < 0)
			goto out;
	}
	ret = 0;
out:
	if (dir_open)
		ferry_container_dir_close(&d);
	return ret < 0 ? ferry_error_prefix(err, "checkpoint %s", o->id) : 0;
}
