/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `restore`: a new container whose process tree comes from a CRIU image
 * instead of an init.  The state directory, config copy and cgroup are made
 * as by create, and all of them go again if CRIU fails.
 */
#define LOG_PREFIX "restore: "
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "container_internal.h"
#include "criu.h"
#include "criu_stats.h"
#include "hostcheck.h"
#include "terminal.h"
#include "log.h"
#include "rootfs.h"
#include "tmpfs_carry.h"
#include "terminal.h"
#include "util.h"

#define CRIU_ROOT "criu-root"

/* runc's descriptors.json: ["stdin target","stdout target","stderr target"]. */
static int
read_descriptors(int images_fd, char *out[3], ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, n = 0;
	const char *p;

	if (ferry_read_file_at(images_fd, "descriptors.json", 65536, &text, &len, err) < 0)
		return ferry_error_prefix(err, "image");
	p = text;
	while (n < 3 && (p = strchr(p, '"')) != NULL) {
		char buf[PATH_MAX];
		size_t k = 0;

		for (p++; *p && *p != '"' && k < sizeof(buf) - 1; p++) {
			if (*p == '\\' && p[1])
				p++;
			buf[k++] = *p;
		}
		if (*p != '"')
			break;
		p++;
		buf[k] = '\0';
		out[n++] = xstrdup(buf);
	}
	if (n != 3) {
		for (size_t i = 0; i < n; i++)
			free(out[i]);
		return ferry_error_set(err, EINVAL, "image: descriptors.json is not an array of 3 strings");
	}
	return 0;
}

/* key = mount point inside the container, val = host mount point: the
 * cgroup hierarchies checkpoint declared external are bound from this
 * host's own mounts (what a fresh cgroup mount in the container showed). */
static void
add_cgroup_mounts(const ferry_spec_t *spec, struct ferry_criu_kv **ext, size_t *n, char ***owned, size_t *n_owned)
{
	const char *dest = NULL;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].type && strcmp(spec->mounts[i].type, "cgroup") == 0)
			dest = spec->mounts[i].destination;
	if (dest == NULL || (f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		struct ferry_criu_kv *t;
		char **o;

		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		if (strncmp(mp, "/sys/fs/cgroup", 14) != 0 || (mp[14] != '/' && mp[14] != '\0'))
			continue;
		t = realloc(*ext, (*n + 1) * sizeof(**ext));
		o = realloc(*owned, (*n_owned + 3) * sizeof(**owned));
		if (t)
			*ext = t;
		if (o)
			*owned = o;
		if (t == NULL || o == NULL)
			break;
		(*owned)[*n_owned] = xasprintf("%s%s", dest, mp + 14);
		(*owned)[*n_owned + 1] = xstrdup(mp);
		(*owned)[*n_owned + 2] = NULL;
		(*ext)[(*n)++] = (struct ferry_criu_kv){ (*owned)[*n_owned], (*owned)[*n_owned + 1] };
		*n_owned += 2;
	}
	free(line);
	fclose(f);
}

/* Appends a copy of s to the NULL-terminated owned list. */
static char **
append_owned(char **owned, size_t *n, const char *s)
{
	char **t = realloc(owned, (*n + 2) * sizeof(*t));
	if (t == NULL)
		abort();
	t[(*n)++] = xstrdup(s);
	t[*n] = NULL;
	return t;
}

/* True when dest is path or lies below it ("/dev/shm" is under "/dev"). */
static bool
path_is_under(const char *dest, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 1 && path[0] == '/')
		return true;
	return strncmp(dest, path, n) == 0 && (dest[n] == '/' || dest[n] == '\0');
}

/*
 * CRIU mounts every dumped mount on a mount point that must already exist
 * in the new root; it creates none itself.  A rootfs that did not run the
 * checkpointed container (podman container restore --import, a fresh copy
 * on another host) lacks the files and directories create made for bind
 * mounts (e.g. Podman's /run/.containerenv), so make them as create would,
 * inside the rootfs.  Mount points inside a tmpfs, proc, sysfs, ... are
 * skipped: CRIU rebuilds those filesystems with their contents.  runc does
 * the same (prepareCriuRestoreMounts).
 */
static int
make_mount_points(const ferry_spec_t *spec, const char *bundle, const char *rootfs, ferry_error_t *err)
{
	_cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root_fd < 0)
		return ferry_error_sys(err, "rootfs %s", rootfs);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		_cleanup_free_ char *src = NULL;
		_cleanup_close_ int fd = -1;
		bool nested = false, is_file = false;
		struct stat sst;

		if (m->destination == NULL || m->destination[0] != '/')
			continue;
		for (size_t k = 0; k < spec->n_mounts && !nested; k++)
			nested = k != i && !spec->mounts[k].bind && spec->mounts[k].destination &&
				 strcmp(spec->mounts[k].destination, m->destination) != 0 &&
				 path_is_under(m->destination, spec->mounts[k].destination);
		if (nested)
			continue;
		if (m->bind && m->source) {
			src = m->source[0] == '/' ? xstrdup(m->source) : xasprintf("%s/%s", bundle, m->source);
			if (stat(src, &sst) < 0)
				return ferry_error_sys(err, "bind mount source %s (for %s)", src, m->destination);
			is_file = !S_ISDIR(sst.st_mode);
		}
		fd = ferry_rootfs_open_inside(root_fd, m->destination, true, is_file, err);
		if (fd < 0)
			return ferry_error_prefix(err, "mount point %s", m->destination);
	}
	return 0;
}

static void
print_restore_stats(int images_fd)
{
	struct ferry_criu_stats s;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (ferry_criu_read_stats(images_fd, false, &s, &e) < 0) {
		pr_warn("--print-stats: %s", e.msg);
		return;
	}
	printf("forking time: %u us\n", s.forking_time);
	printf("restore time: %u us\n", s.restore_time);
	printf("pages restored: %llu\n", (unsigned long long) s.pages_restored);
	fflush(stdout);
}

/*
 * CRIU runs in a child that first enters the container's cgroup: with
 * cgroups left to ferry (mode ignore, the default), the restored tree is
 * forked inside it, whatever the dumped cgroup paths were and whatever
 * this host's hierarchy looks like.  rst_sibling makes the restored init
 * that child's child; once the child exits it is reparented to us (a
 * subreaper).
 *
 * cg NULL: the child stays where we are.  With any other mode CRIU places
 * the tasks itself (under the cgroup root it is given), and it must not
 * be inside the container's cgroup: full/strict write the dumped
 * freezer.state, which for a paused container's image is FROZEN and
 * would freeze CRIU along with the tree, before it can answer.
 */
/* An unlinked file of the size the init's stdio file fd had at the dump. */
static int
stdio_stand_in(int images_fd, const char *dir, int fd, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
	long long size = -1;
	unsigned mode = 0600;
	size_t len = 0;
	char *save = NULL;
	int f;

	/* "FD SIZE MODE" (octal); images of older ferry lack the mode. */
	if (ferry_read_file_at(images_fd, "ferry-stdio-sizes", 4096, &text, &len, &e2) == 0)
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			int n, k;
			long long sz;
			unsigned md = 0600;
			k = sscanf(l, "%d %lld %o", &n, &sz, &md);
			if (k >= 2 && n == fd) {
				size = sz;
				mode = k == 3 ? md & 07777 : 0600;
			}
		}
	if (size < 0)
		return ferry_error_set(err, ENOENT, "fd %d of the checkpointed init: size unknown (no ferry-stdio-sizes)",
				       fd);
	f = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f < 0)
		return ferry_error_sys(err, "stand-in for fd %d in %s", fd, dir);
	if (ftruncate(f, size) < 0 || fchmod(f, mode) < 0) {
		close(f);
		return ferry_error_sys(err, "stand-in for fd %d", fd);
	}
	return f;
}

static int
run_criu_in_cgroup(ferry_cgroup_t *cg, const struct ferry_criu_opts *copts, pid_t *pid, ferry_error_t *err)
{
	int p[2];
	pid_t child;
	char buf[4096];
	ssize_t n;
	int status;

	if (pipe2(p, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "pipe");
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return ferry_error_sys(err, "fork");
	}
	if (child == 0) {
		ferry_error_t e = FERRY_ERROR_INIT;
		struct ferry_criu_result res = { 0 };
		char msg[4096];
		int len;

		close(p[0]);
		if ((cg && ferry_cgroup_enter(cg, getpid(), &e) < 0) ||
		    ferry_criu_rpc(FERRY_CRIU_RESTORE, copts, &res, &e) < 0) {
			_cleanup_free_ char *m = ferry_error_string(&e);
			len = snprintf(msg, sizeof(msg), "E%s", m);
		} else {
			len = snprintf(msg, sizeof(msg), "P%d", res.pid);
		}
		if (ferry_write_all(p[1], msg, (size_t) len) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	n = 0;
	for (;;) {
		ssize_t r = read(p[0], buf + n, sizeof(buf) - 1 - (size_t) n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if ((size_t) n >= sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	buf[n] = '\0';
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0 && buf[0] == 'P') {
		*pid = atoi(buf + 1);
		return *pid > 0 ? 0 : ferry_error_set(err, EPROTO, "criu restore reported no pid");
	}
	if (n > 0 && buf[0] == 'E')
		return ferry_error_set(err, 0, "%s", buf + 1);
	return ferry_error_set(err, EPROTO, "the restore helper died (status 0x%x)", status);
}

struct pty_notify {
	int console_fd; /* connected --console-socket */
};

/*
 * orphan-pts-master: CRIU made a new pty for the image's terminal and
 * hands us its master before the tree resumes.  It goes to the console
 * socket under the slave's name, like a created container's.
 */
static int
restore_notify(const char *script, pid_t pid, int *fd, void *data, ferry_error_t *err)
{
	struct pty_notify *pn = data;
	char name[64] = "/dev/ptmx";
	unsigned int n;

	(void) pid;
	if (strcmp(script, "orphan-pts-master") != 0)
		return 0;
	if (*fd < 0)
		return ferry_error_set(err, EPROTO, "CRIU sent no pty master");
	if (ioctl(*fd, TIOCGPTN, &n) == 0)
		snprintf(name, sizeof(name), "/dev/pts/%u", n);
	if (ferry_fd_send(pn->console_fd, *fd, name, err) < 0)
		return ferry_error_prefix(err, "console socket");
	return 0;
}

int
ferry_container_restore(const ferry_ctx_t *ctx, const struct ferry_restore_opts *o, int *exit_status,
			ferry_error_t *err)
{
	struct ferry_container_dir d = { .root_fd = -1, .dir_fd = -1, .lock_fd = -1 };
	bool made_dir = false, mounted = false;
	_cleanup_free_ char *bundle = NULL, *config_path = NULL, *rootfs = NULL, *cg_path = NULL;
	_cleanup_free_ char *criu = NULL, *criu_root = NULL, *image_abs = NULL, *created = NULL;
	_cleanup_free_ char *masked_dir = NULL, *tmpfs_stage = NULL;
	_cleanup_strv_ char **tmpfs_keys = NULL, **tmpfs_paths = NULL;
	size_t n_tmpfs = 0;
	_cleanup_free_ struct ferry_criu_kv *ext = NULL;
	_cleanup_free_ struct ferry_criu_inherit_fd *inh = NULL;
	_cleanup_strv_ char **owned = NULL;
	_cleanup_spec_ ferry_spec_t *spec = NULL;
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_close_ int images_fd = -1;
	_cleanup_close_ int work_fd = -1;
	_cleanup_close_ int null_fd = -1;
	_cleanup_close_ int console_fd = -1;
	struct pty_notify pn = { .console_fd = -1 };
	char *desc[3] = { NULL, NULL, NULL };
	int file_fds[3] = { -1, -1, -1 };
	struct ferry_criu_opts copts = FERRY_CRIU_OPTS_INIT;
	struct ferry_criu_cg_root cg_root;
	struct ferry_criu_version v;
	struct ferry_state st = { 0 };
	const char *image_path = o->image_path ? o->image_path : "checkpoint";
	const char *work_path = o->work_path ? o->work_path : image_path;
	size_t n_ext = 0, n_owned = 0, n_inh = 0, n_masked = 0;
	char buf[PATH_MAX];
	pid_t pid = -1;

	/* Everything that can be checked is checked before anything exists. */
	if (o->no_subreaper && !o->detach) {
		ferry_error_set(err, EINVAL,
				"--no-subreaper needs --detach: in the foreground ferry waits for the restored init "
				"as its subreaper");
		goto fail;
	}
	if (realpath(o->bundle ? o->bundle : ".", buf) == NULL) {
		ferry_error_sys(err, "bundle %s", o->bundle ? o->bundle : ".");
		goto fail;
	}
	bundle = xstrdup(buf);
	config_path = xasprintf("%s/config.json", bundle);
	if (ferry_spec_load(config_path, &spec, err) < 0)
		goto fail;
	if (spec->root_path == NULL || *spec->root_path == '\0') {
		ferry_error_set(err, EINVAL, "config.json: .root.path: required");
		goto fail;
	}
	{
		_cleanup_free_ char *p = spec->root_path[0] == '/' ? xstrdup(spec->root_path)
								   : xasprintf("%s/%s", bundle, spec->root_path);
		if (realpath(p, buf) == NULL) {
			ferry_error_sys(err, "rootfs %s (config.json: .root.path)", p);
			goto fail;
		}
		rootfs = xstrdup(buf);
	}
	images_fd = open(image_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (images_fd < 0) {
		ferry_error_sys(err, "image directory %s", image_path);
		goto fail;
	}
	if (realpath(image_path, buf) == NULL) {
		ferry_error_sys(err, "image directory %s", image_path);
		goto fail;
	}
	image_abs = xstrdup(buf);
	if (faccessat(images_fd, "inventory.img", F_OK, 0) < 0) {
		ferry_error_sys(err, "image directory %s: no inventory.img (not a CRIU checkpoint)", image_path);
		goto fail;
	}
	if (read_descriptors(images_fd, desc, err) < 0)
		goto fail;
	if (o->console_socket == NULL && strncmp(desc[0], "/dev/pts/", 9) == 0) {
		ferry_error_set(err, EINVAL,
				"the checkpointed init had a terminal (%s): restore needs --console-socket "
				"for its new one",
				desc[0]);
		goto fail;
	}
	if (o->lazy_pages && !ferry_host_has_userfaultfd()) {
		ferry_error_set(err, ENOTSUP,
				"--lazy-pages: userfaultfd is not available on this host "
				"(CONFIG_USERFAULTFD, or vm.unprivileged_userfaultfd / /dev/userfaultfd access)");
		goto fail;
	}
	if (ferry_criu_require(ctx, &criu, &v, err) < 0)
		goto fail;
	if (o->cgroup_path)
		cg_path = xstrdup(o->cgroup_path);
	else if (ferry_cgroup_path_for(spec->linux_.cgroups_path, o->id, &cg_path, err) < 0)
		goto fail;

	if (o->lazy_pages) {
		/* CRIU connects to the daemon's socket in its work directory;
		 * without one it fails only after setting up the mounts. */
		_cleanup_free_ char *sk = xasprintf("%s/lazy-pages.socket", work_path);
		struct stat sb;

		if (stat(sk, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
			ferry_error_set(err, ENOENT,
					"--lazy-pages: no criu lazy-pages daemon listens in %s (no lazy-pages.socket); "
					"start `criu lazy-pages --page-server --address A --port P -D %s -W %s` first",
					work_path, image_path, work_path);
			goto fail;
		}
	}
	/* CRIU would fail deep in the restore ("slave peer index 0 without
	 * correspond master peer"): say what is missing instead. */
	if (spec->process && spec->process->terminal && o->console_socket == NULL) {
		ferry_error_set(err, EINVAL,
				"config.json: .process.terminal is true: restoring its terminal needs --console-socket");
		goto fail;
	}
	if (o->console_socket) {
		console_fd = ferry_console_socket_connect(o->console_socket, err);
		if (console_fd < 0)
			goto fail;
	}

	if (ferry_container_dir_create(ctx, o->id, &d, err) < 0)
		goto fail;
	made_dir = true;
	/* Only now: an existing id must fail before anything is made. */
	if (ferry_mkdir_p(work_path, 0700, err) < 0)
		goto fail;
	work_fd = open(work_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (work_fd < 0) {
		ferry_error_sys(err, "work directory %s", work_path);
		goto fail;
	}
	if (ferry_write_file_replace_at(d.dir_fd, "config.json", spec->raw, strlen(spec->raw), 0600, err) < 0)
		goto fail;
	if (ferry_cgroup_create(cg_path, &spec->linux_.resources, 0, &cg, err) < 0)
		goto fail;

	if (make_mount_points(spec, bundle, rootfs, err) < 0)
		goto fail;
	/* runc's trick: CRIU wants the root as a mount point of its own. */
	criu_root = xasprintf("%s/%s", d.path, CRIU_ROOT);
	if (mkdir(criu_root, 0700) < 0 && errno != EEXIST) {
		ferry_error_sys(err, "mkdir %s", criu_root);
		goto fail;
	}
	if (mount(rootfs, criu_root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		ferry_error_sys(err, "bind %s on %s", rootfs, criu_root);
		goto fail;
	}
	mounted = true;

	/* External mounts, from the restoring config: the point of migrating
	 * is that host 2's directories show up where host 1's were. */
	for (char **m = spec->linux_.masked_paths; m && *m; m++)
		n_masked++;
	ext = calloc(2 * spec->n_mounts + 2 * n_masked + 2, sizeof(*ext));
	owned = calloc(spec->n_mounts + 1, sizeof(*owned));
	if (ext == NULL || owned == NULL) {
		ferry_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		if (!m->bind)
			continue;
		owned[n_owned] = m->source[0] == '/' ? xstrdup(m->source) : xasprintf("%s/%s", bundle, m->source);
		ext[n_ext++] = (struct ferry_criu_kv){ m->destination, owned[n_owned++] };
	}
	/* Masked directories were dumped as external (checkpoint.c): an
	 * empty directory takes their place, read-only as the image says. */
	masked_dir = xasprintf("%s/masked", d.path);
	if (mkdir(masked_dir, 0555) < 0 && errno != EEXIST) {
		ferry_error_sys(err, "mkdir %s", masked_dir);
		goto fail;
	}
	for (char **m = spec->linux_.masked_paths; m && *m; m++) {
		ext[n_ext++] = (struct ferry_criu_kv){ *m, "/dev/null" };
		owned = append_owned(owned, &n_owned, "");
		free(owned[n_owned - 1]);
		owned[n_owned - 1] = xasprintf("masked-dir:%s", *m);
		ext[n_ext++] = (struct ferry_criu_kv){ owned[n_owned - 1], masked_dir };
	}
	/* runc's dumps record every masked file under the one key
	 * "/dev/null" (its ExtMountMap is mountpoint:key on dump). */
	if (n_masked)
		ext[n_ext++] = (struct ferry_criu_kv){ "/dev/null", "/dev/null" };
	/* tmpfs mounts the migration carried itself (tmpfs_carry.h): a tmpfs
	 * with the config's options, filled, for CRIU to bind in. */
	tmpfs_stage = xasprintf("%s/tmpfs", d.path);
	if (ferry_tmpfs_carry_stage(spec, images_fd, tmpfs_stage, &tmpfs_keys, &tmpfs_paths, &n_tmpfs, err) < 0)
		goto fail;
	for (size_t i = 0; i < n_tmpfs && i < spec->n_mounts; i++)
		ext[n_ext++] = (struct ferry_criu_kv){ tmpfs_keys[i], tmpfs_paths[i] };
	add_cgroup_mounts(spec, &ext, &n_ext, &owned, &n_owned);

	/* Pipes the init had as stdio are outside the image: CRIU plugs in
	 * ours (or /dev/null when detached) in their place. */
	inh = calloc(6, sizeof(*inh));
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (inh == NULL || null_fd < 0) {
		ferry_error_sys(err, "open /dev/null");
		goto fail;
	}
	for (int i = 0; i < 3; i++)
		if (strncmp(desc[i], "pipe:", 5) == 0)
			inh[n_inh++] = (struct ferry_criu_inherit_fd){ desc[i], o->detach ? null_fd : i };
	/* Host files the init had as stdio (see checkpoint.c): ours instead. */
	{
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;

		if (ferry_read_file_at(images_fd, "ferry-stdio-external", 4096, &text, &len, &e2) == 0) {
			char *save = NULL;
			for (char *l = strtok_r(text, "\n", &save); l && n_inh < 6; l = strtok_r(NULL, "\n", &save)) {
				char key[128], kind;
				int fd, off = 0;
				if (sscanf(l, "%d %c %127s %n", &fd, &kind, key, &off) != 3 || fd < 0 || fd > 2 || !off)
					continue;
				owned = append_owned(owned, &n_owned, key);
				if (o->stdio_to_null && kind == 'f') {
					/* Another host: the init's file stayed behind.  CRIU
					 * wants one of the same size: an unlinked stand-in. */
					file_fds[fd] = stdio_stand_in(images_fd, d.path, fd, err);
					if (file_fds[fd] < 0)
						goto fail;
					fd = file_fds[fd];
				} else if (o->stdio_to_null) {
					fd = null_fd;
				} else if (kind == 'f') {
					/* CRIU checks the size and restores the offset of a
					 * regular file: only that same file will do. */
					file_fds[fd] = open(l + off, O_RDWR | O_CLOEXEC);
					if (file_fds[fd] < 0) {
						ferry_error_sys(err, "fd %d of the checkpointed init was %s", fd, l + off);
						goto fail;
					}
					fd = file_fds[fd];
				} else if (o->detach || lseek(fd, 0, SEEK_CUR) < 0) {
					/* A device such as the host's /dev/null: CRIU restores
					 * its offset, which a pipe of ours cannot take. */
					fd = null_fd;
				}
				inh[n_inh++] = (struct ferry_criu_inherit_fd){ owned[n_owned - 1], fd };
			}
		}
	}

	copts.criu_path = criu;
	copts.images_dir_fd = images_fd;
	copts.work_dir_fd = work_fd;
	copts.log_file = "restore.log";
	copts.root = criu_root;
	copts.rst_sibling = true;
	copts.manage_cgroups = true;
	if (o->manage_cgroups_mode == FERRY_CRIU_CG_UNSET || o->manage_cgroups_mode == FERRY_CRIU_CG_IGNORE) {
		copts.manage_cgroups_mode = FERRY_CRIU_CG_IGNORE;
	} else {
		/* runc's way: CRIU restores the image's cgroups, with the dumped
		 * root cgroup replaced by the container's (every controller), so
		 * the tree and any sub-cgroups it made land under ours.  soft
		 * leaves the properties of our (existing) cgroup alone, i.e. the
		 * bundle's limits win; full/strict write the dumped ones. */
		cg_root = (struct ferry_criu_cg_root){ NULL, cg_path };
		copts.manage_cgroups_mode = o->manage_cgroups_mode;
		copts.cg_roots = &cg_root;
		copts.n_cg_roots = 1;
	}
	copts.ext_mnt = ext;
	copts.n_ext_mnt = n_ext;
	copts.inherit_fd = inh;
	copts.n_inherit_fd = n_inh;
	copts.tcp_established = o->tcp_established;
	copts.tcp_close = o->tcp_close;
	copts.ext_unix_sk = o->ext_unix_sk;
	copts.shell_job = o->shell_job;
	copts.file_locks = o->file_locks;
	copts.auto_dedup = o->auto_dedup;
	/* Memory comes from a `criu lazy-pages` daemon, found through its
	 * socket in the work directory; page faults are served over
	 * userfaultfd after the tree runs. */
	copts.lazy_pages = o->lazy_pages;
	if (console_fd >= 0) {
		/* notify needs the scripts switch (CRIU sends nothing else) */
		pn.console_fd = console_fd;
		copts.orphan_pts_master = true;
		copts.notify_scripts = true;
		copts.notify = restore_notify;
		copts.notify_data = &pn;
	}
	if (o->tune)
		o->tune(&copts, o->tune_data);
	/* The restored init must come back to us when the helper exits.  With
	 * --no-subreaper (containerd's shim, which is a subreaper itself and
	 * reaps the init) it goes to the nearest subreaper above us instead. */
	if (!o->no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		ferry_error_sys(err, "PR_SET_CHILD_SUBREAPER");
		goto fail;
	}
	if (run_criu_in_cgroup(copts.n_cg_roots ? NULL : cg, &copts, &pid, err) < 0)
		goto fail;
	/* CRIU's binds of them keep the file systems */
	if (n_tmpfs)
		ferry_tmpfs_carry_unstage(tmpfs_stage, tmpfs_paths);
	n_tmpfs = 0;
	umount2(criu_root, MNT_DETACH);
	rmdir(criu_root);
	mounted = false;
	if (o->print_stats)
		print_restore_stats(images_fd);

	created = ferry_now_rfc3339();
	st.id = (char *) o->id;
	st.pid = pid;
	st.start_time = ferry_proc_start_time(pid);
	st.bundle = bundle;
	st.rootfs = rootfs;
	st.created = created;
	st.owner = "";
	st.cgroup_path = cg_path;
	st.host_pid_ns = !ferry_spec_has_ns(spec, CLONE_NEWPID);
	st.restored_from = image_abs;
	st.annotations = spec->annotations;
	st.n_annotations = spec->n_annotations;
	if (ferry_state_write(&d, &st, err) < 0)
		goto fail;
	if (o->pid_file && ferry_write_pid_file(o->pid_file, pid, err) < 0)
		goto fail;
	ferry_container_dir_close(&d);
	for (int i = 0; i < 3; i++) {
		free(desc[i]);
		ferry_closep(&file_fds[i]);
	}
	if (o->detach) {
		*exit_status = 0;
		return 0;
	}
	{
		int r = ferry_wait_foreground(pid, -1, exit_status, err);
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_delete(ctx, o->id, true, &e2) < 0)
			pr_warn("restore %s: delete after exit: %s", o->id, e2.msg);
		return r < 0 ? ferry_error_prefix(err, "restore %s", o->id) : 0;
	}

fail:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (n_tmpfs)
		ferry_tmpfs_carry_unstage(tmpfs_stage, tmpfs_paths);
	if (mounted) {
		umount2(criu_root, MNT_DETACH);
		rmdir(criu_root);
	}
	if (cg) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		ferry_cgroup_kill(cg, SIGKILL, &e2);
		if (ferry_cgroup_destroy(cg, &e2) < 0)
			pr_warn("restore %s: cleanup: %s", o->id, e2.msg);
	}
	if (made_dir) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_dir_remove(&d, &e2) < 0)
			pr_warn("restore %s: cleanup: %s", o->id, e2.msg);
	}
	if (o->pid_file && pid > 0)
		unlink(o->pid_file);
	for (int i = 0; i < 3; i++) {
		free(desc[i]);
		ferry_closep(&file_fds[i]);
	}
	return ferry_error_prefix(err, "restore %s", o->id);
}
