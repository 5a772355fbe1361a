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
#include "hooks.h"
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

/* True when text (lines) has one that is exactly s. */
static bool
line_listed(const char *text, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t) (nl - p) : strlen(p);
		if (l == n && strncmp(p, s, n) == 0)
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* key = mount point inside the container, val = what to bind there: the
 * cgroup hierarchies checkpoint declared external are bound from this
 * host's mounts, at the container's own cgroup where it has one (as
 * create binds it, and runc's restore), else at the hierarchy's root
 * (what a fresh mount there shows).  A bind costs nothing; CRIU's fresh
 * cgroup2 mount took 15 ms of the frozen window. */
static void
add_cgroup_mounts(const ferry_spec_t *spec, const ferry_cgroup_t *cg, int images_fd, struct ferry_criu_kv **ext,
		  size_t *n, char ***owned, size_t *n_owned)
{
	const char *dest = NULL;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	_cleanup_free_ char *whole = NULL;
	size_t wlen = 0;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	/* Images of ferry's checkpoint name the mounts that showed a whole
	 * hierarchy; runc's bind the container's cgroup in each. */
	if (ferry_read_file_at(images_fd, FERRY_CGROUP_WHOLE, 64 << 10, &whole, &wlen, &e) < 0 ||
	    memchr(whole, '\0', wlen) != NULL) {
		free(whole);
		whole = NULL;
	}

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
		(*owned)[*n_owned + 1] = cg && !line_listed(whole, (*owned)[*n_owned]) ? ferry_cgroup_dir_at_mount(cg, mp)
										: NULL;
		if ((*owned)[*n_owned + 1] == NULL)
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

struct criu_in_cgroup {
	struct ferry_cgroup_join *join;
	const struct ferry_criu_opts *copts;
};

static pid_t
clone_into_cgroup(void *join)
{
	return ferry_cgroup_clone(join, 0);
}

/* The helper joins the cgroup by itself (no RCU grace period, see
 * ferry_cgroup_join_self), so CRIU and the tree it restores start there. */
static int
criu_in_cgroup(void *arg, ferry_error_t *err)
{
	struct criu_in_cgroup *a = arg;
	struct ferry_criu_result res = { 0 };

	if (a->join && ferry_cgroup_join_self(a->join, err) < 0)
		return -1;
	if (ferry_criu_rpc(FERRY_CRIU_RESTORE, a->copts, &res, err) < 0)
		return -1;
	return res.pid;
}

static int
run_criu_in_cgroup(ferry_cgroup_t *cg, const struct ferry_criu_opts *copts, pid_t *pid, ferry_error_t *err)
{
	struct ferry_cgroup_join join = FERRY_CGROUP_JOIN_INIT;
	struct criu_in_cgroup a = { cg ? &join : NULL, copts };
	int r;

	if (cg && ferry_cgroup_join_prepare(cg, &join, err) < 0)
		return -1;
	r = ferry_in_child_spawned(cg ? clone_into_cgroup : NULL, &join, criu_in_cgroup, &a, "the restore helper",
				   err);
	ferry_cgroup_join_release(&join);
	if (r < 0)
		return -1;
	*pid = r;
	return *pid > 0 ? 0 : ferry_error_set(err, EPROTO, "criu restore reported no pid");
}

/* What the restore's CRIU notifications need. */
struct rr_notify {
	int console_fd; /* connected --console-socket */
	/* the network namespace is restored empty: lo up and the config's
	 * net.* sysctls at setup-namespaces (netns.c) */
	const ferry_spec_t *net_spec;
	/* prestart and createRuntime hooks to run at setup-namespaces, as
	 * runc does (the restored init's pid in the state they get) */
	const ferry_spec_t *hook_spec;
	struct ferry_state hook_state;
};

/* The tree's namespaces exist, nothing in them is restored yet: what
 * create does at this point (netns.c's lo, runc's hooks). */
static int
setup_namespaces(struct rr_notify *pn, pid_t pid, ferry_error_t *err)
{
	if (pn->net_spec && ferry_cr_netns_setup(pid, pn->net_spec, err) < 0)
		return -1;
	if (pn->hook_spec) {
		_cleanup_free_ char *json = NULL;

		pn->hook_state.pid = pid;
		json = ferry_state_hook_json(&pn->hook_state, FERRY_STATUS_CREATING);
		if (ferry_hooks_run(pn->hook_spec, FERRY_HOOK_PRESTART, json, err) < 0 ||
		    ferry_hooks_run(pn->hook_spec, FERRY_HOOK_CREATE_RUNTIME, json, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * orphan-pts-master: CRIU made a new pty for the image's terminal and
 * hands us its master before the tree resumes.  It goes to the console
 * socket under the slave's name, like a created container's.
 */
static int
restore_notify(const char *script, pid_t pid, int *fd, void *data, ferry_error_t *err)
{
	struct rr_notify *pn = data;
	char name[64] = "/dev/ptmx";
	unsigned int n;

	if (strcmp(script, "setup-namespaces") == 0)
		return setup_namespaces(pn, pid, err);
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

/*
 * One restore's state, from the checks to the record.  The steps:
 * rr_check (the config and host), rr_check_images (what the image needs),
 * rr_make (state dir, cgroup, mount points, the root bind), rr_images (the
 * CRIU request: tmpfs, external mounts, stdio), CRIU, rr_record (state).
 * rr_undo takes back whatever was made.
 */
struct rr {
	const ferry_ctx_t *ctx;
	const struct ferry_restore_opts *o;
	struct ferry_container_dir d;
	bool made_dir, mounted;
	char *bundle, *rootfs, *cg_path, *criu, *criu_root, *image_abs, *masked_dir, *tmpfs_stage;
	char **tmpfs_keys, **tmpfs_paths;
	size_t n_tmpfs;
	struct ferry_criu_kv *ext;
	struct ferry_criu_inherit_fd *inh;
	char **owned;
	ferry_spec_t *spec;
	ferry_cgroup_t *cg;
	int images_fd, work_fd, null_fd, console_fd, netns_fd;
	struct rr_notify pn;
	char *desc[3];
	int file_fds[3];
	struct ferry_criu_opts copts;
	struct ferry_criu_cg_root cg_root;
	const char *image_path, *work_path;
	size_t n_ext, n_owned, n_inh;
	pid_t pid;
};

static void
rr_init(struct rr *r, const ferry_ctx_t *ctx, const struct ferry_restore_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->o = o;
	r->d = (struct ferry_container_dir){ .root_fd = -1, .dir_fd = -1, .lock_fd = -1 };
	r->images_fd = r->work_fd = r->null_fd = r->console_fd = r->netns_fd = -1;
	r->pn.console_fd = -1;
	for (int i = 0; i < 3; i++)
		r->file_fds[i] = -1;
	r->copts = (struct ferry_criu_opts) FERRY_CRIU_OPTS_INIT;
	r->image_path = o->image_path ? o->image_path : "checkpoint";
	r->work_path = o->work_path ? o->work_path : r->image_path;
	r->pid = -1;
}

/* Frees memory and closes descriptors; what was made stays (rr_undo). */
static void
rr_free(struct rr *r)
{
	free(r->bundle);
	free(r->rootfs);
	free(r->cg_path);
	free(r->criu);
	free(r->criu_root);
	free(r->image_abs);
	free(r->masked_dir);
	free(r->tmpfs_stage);
	ferry_strv_free(r->tmpfs_keys);
	ferry_strv_free(r->tmpfs_paths);
	free(r->ext);
	free(r->inh);
	ferry_strv_free(r->owned);
	ferry_spec_free(r->spec);
	ferry_cgroup_free(r->cg);
	ferry_closep(&r->images_fd);
	ferry_closep(&r->work_fd);
	ferry_closep(&r->null_fd);
	ferry_closep(&r->console_fd);
	ferry_closep(&r->netns_fd);
	for (int i = 0; i < 3; i++) {
		free(r->desc[i]);
		ferry_closep(&r->file_fds[i]);
	}
	ferry_container_dir_close(&r->d);
	memset(r, 0, sizeof(*r));
}

/* The config and the host; nothing made yet. */
static int
rr_check(struct rr *r, ferry_error_t *err)
{
	const struct ferry_restore_opts *o = r->o;
	_cleanup_free_ char *config_path = NULL;
	struct ferry_criu_version v;
	char buf[PATH_MAX];

	if (o->no_subreaper && !o->detach)
		return ferry_error_set(err, EINVAL,
				       "--no-subreaper needs --detach: in the foreground ferry waits for the restored "
				       "init as its subreaper");
	if (realpath(o->bundle ? o->bundle : ".", buf) == NULL)
		return ferry_error_sys(err, "bundle %s", o->bundle ? o->bundle : ".");
	r->bundle = xstrdup(buf);
	config_path = xasprintf("%s/config.json", r->bundle);
	if (ferry_spec_load(config_path, &r->spec, err) < 0)
		return -1;
	if (r->spec->root_path == NULL || *r->spec->root_path == '\0')
		return ferry_error_set(err, EINVAL, "config.json: .root.path: required");
	{
		_cleanup_free_ char *p = r->spec->root_path[0] == '/'
						 ? xstrdup(r->spec->root_path)
						 : xasprintf("%s/%s", r->bundle, r->spec->root_path);
		if (realpath(p, buf) == NULL)
			return ferry_error_sys(err, "rootfs %s (config.json: .root.path)", p);
		r->rootfs = xstrdup(buf);
	}
	if (o->lazy_pages && !ferry_host_has_userfaultfd())
		return ferry_error_set(err, ENOTSUP,
				       "--lazy-pages: userfaultfd is not available on this host "
				       "(CONFIG_USERFAULTFD, or vm.unprivileged_userfaultfd / /dev/userfaultfd access)");
	if (ferry_criu_require(r->ctx, &r->criu, &v, err) < 0)
		return -1;
	if (o->cgroup_path)
		r->cg_path = xstrdup(o->cgroup_path);
	else if (ferry_cgroup_path_for(r->spec->linux_.cgroups_path, o->id, &r->cg_path, err) < 0)
		return -1;
	/* CRIU would fail deep in the restore ("slave peer index 0 without
	 * correspond master peer"): say what is missing instead. */
	if (r->spec->process && r->spec->process->terminal && o->console_socket == NULL)
		return ferry_error_set(err, EINVAL,
				       "config.json: .process.terminal is true: restoring its terminal needs "
				       "--console-socket");
	return 0;
}

/* What the image and the request need: checked before CRIU is asked. */
static int
rr_check_images(struct rr *r, ferry_error_t *err)
{
	const struct ferry_restore_opts *o = r->o;
	char buf[PATH_MAX];

	r->images_fd = open(r->image_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->images_fd < 0)
		return ferry_error_sys(err, "image directory %s", r->image_path);
	if (realpath(r->image_path, buf) == NULL)
		return ferry_error_sys(err, "image directory %s", r->image_path);
	r->image_abs = xstrdup(buf);
	if (faccessat(r->images_fd, "inventory.img", F_OK, 0) < 0)
		return ferry_error_sys(err, "image directory %s: no inventory.img (not a CRIU checkpoint)",
				       r->image_path);
	if (read_descriptors(r->images_fd, r->desc, err) < 0)
		return -1;
	if (o->console_socket == NULL && strncmp(r->desc[0], "/dev/pts/", 9) == 0)
		return ferry_error_set(err, EINVAL,
				       "the checkpointed init had a terminal (%s): restore needs --console-socket "
				       "for its new one",
				       r->desc[0]);
	if (o->lazy_pages) {
		/* CRIU connects to the daemon's socket in its work directory;
		 * without one it fails only after setting up the mounts. */
		_cleanup_free_ char *sk = xasprintf("%s/lazy-pages.socket", r->work_path);
		struct stat sb;

		if (stat(sk, &sb) < 0 || !S_ISSOCK(sb.st_mode))
			return ferry_error_set(err, ENOENT,
					       "--lazy-pages: no criu lazy-pages daemon listens in %s (no "
					       "lazy-pages.socket); start `criu lazy-pages --page-server --address A "
					       "--port P -D %s -W %s` first",
					       r->work_path, r->image_path, r->work_path);
	}
	return 0;
}

/* The state directory, the cgroup, the mount points and CRIU's root. */
static int
rr_make(struct rr *r, ferry_error_t *err)
{
	const struct ferry_restore_opts *o = r->o;
	const ferry_spec_t *spec = r->spec;
	size_t n_masked = 0;

	if (o->console_socket) {
		r->console_fd = ferry_console_socket_connect(o->console_socket, err);
		if (r->console_fd < 0)
			return -1;
	}
	if (ferry_container_dir_create(r->ctx, o->id, &r->d, err) < 0)
		return -1;
	r->made_dir = true;
	/* Only now: an existing id must fail before anything is made. */
	if (ferry_mkdir_p(r->work_path, 0700, err) < 0)
		return -1;
	r->work_fd = open(r->work_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->work_fd < 0)
		return ferry_error_sys(err, "work directory %s", r->work_path);
	if (ferry_write_file_replace_at(r->d.dir_fd, "config.json", spec->raw, strlen(spec->raw), 0600, err) < 0)
		return -1;
	/* Until the state exists, this names the cgroup for a delete of the
	 * remains (an agent that died in the middle of a migration). */
	if (ferry_write_file_replace_at(r->d.dir_fd, RESTORE_CGROUP_FILE, r->cg_path, strlen(r->cg_path), 0600,
					err) < 0)
		return -1;
	if (ferry_cgroup_create(r->cg_path, &spec->linux_.resources, 0, &r->cg, err) < 0)
		return -1;
	if (make_mount_points(spec, r->bundle, r->rootfs, err) < 0)
		return -1;
	/* runc's trick: CRIU wants the root as a mount point of its own. */
	r->criu_root = xasprintf("%s/%s", r->d.path, CRIU_ROOT);
	if (mkdir(r->criu_root, 0700) < 0 && errno != EEXIST)
		return ferry_error_sys(err, "mkdir %s", r->criu_root);
	if (mount(r->rootfs, r->criu_root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return ferry_error_sys(err, "bind %s on %s", r->rootfs, r->criu_root);
	r->mounted = true;
	/* Masked directories were dumped as external (checkpoint.c): an
	 * empty directory takes their place, read-only as the image says. */
	for (char **m = spec->linux_.masked_paths; m && *m; m++)
		n_masked++;
	r->masked_dir = xasprintf("%s/masked", r->d.path);
	if (n_masked && mkdir(r->masked_dir, 0555) < 0 && errno != EEXIST)
		return ferry_error_sys(err, "mkdir %s", r->masked_dir);
	return 0;
}

/* The CRIU request: external mounts from the restoring config, carried
 * tmpfs, stdio. */
/* An image whose network namespace was left out (runc's images, and ours
 * of a pristine one: cr_netns.c) has no netdev-*.img. */
static bool
image_has_netns(int images_fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(images_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* ours is O_PATH */

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "netdev-", 7) == 0)
			return true;
	return false;
}

/* The network namespace, runc's way (cr_netns.c): one joined by path is
 * handed to CRIU as the image's external one; our own comes back empty,
 * with lo up, unless the image holds it and nobody asked otherwise. */
static int
rr_netns(struct rr *r, ferry_error_t *err)
{
	const struct ferry_namespace *netns = ferry_spec_get_ns(r->spec, CLONE_NEWNET);

	if (netns == NULL)
		return 0;
	if (netns->path) {
		r->netns_fd = open(netns->path, O_RDONLY | O_CLOEXEC);
		if (r->netns_fd < 0)
			return ferry_error_sys(err, "the config's network namespace %s", netns->path);
		r->inh[r->n_inh++] = (struct ferry_criu_inherit_fd){ FERRY_CRIU_EXT_NETNS, r->netns_fd };
		return 0;
	}
	if (r->o->empty_net || !image_has_netns(r->images_fd)) {
		r->copts.empty_ns = CLONE_NEWNET;
		r->pn.net_spec = r->spec;
	}
	return 0;
}

static int
rr_images(struct rr *r, ferry_error_t *err)
{
	const struct ferry_restore_opts *o = r->o;
	const ferry_spec_t *spec = r->spec;
	struct ferry_criu_opts *c = &r->copts;
	size_t n_masked = 0;

	/* External mounts, from the restoring config: the point of migrating
	 * is that host 2's directories show up where host 1's were. */
	for (char **m = spec->linux_.masked_paths; m && *m; m++)
		n_masked++;
	r->ext = calloc(2 * spec->n_mounts + 2 * n_masked + 2, sizeof(*r->ext));
	r->owned = calloc(spec->n_mounts + 1, sizeof(*r->owned));
	if (r->ext == NULL || r->owned == NULL)
		return ferry_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct ferry_mount *m = &spec->mounts[i];
		if (!m->bind)
			continue;
		r->owned[r->n_owned] = m->source[0] == '/' ? xstrdup(m->source)
							  : xasprintf("%s/%s", r->bundle, m->source);
		r->ext[r->n_ext++] = (struct ferry_criu_kv){ m->destination, r->owned[r->n_owned++] };
	}
	for (char **m = spec->linux_.masked_paths; m && *m; m++) {
		r->ext[r->n_ext++] = (struct ferry_criu_kv){ *m, "/dev/null" };
		r->owned = append_owned(r->owned, &r->n_owned, "");
		free(r->owned[r->n_owned - 1]);
		r->owned[r->n_owned - 1] = xasprintf("masked-dir:%s", *m);
		r->ext[r->n_ext++] = (struct ferry_criu_kv){ r->owned[r->n_owned - 1], r->masked_dir };
	}
	/* runc's dumps record every masked file under the one key
	 * "/dev/null" (its ExtMountMap is mountpoint:key on dump). */
	if (n_masked)
		r->ext[r->n_ext++] = (struct ferry_criu_kv){ "/dev/null", "/dev/null" };
	/* tmpfs mounts the migration carried itself (tmpfs_carry.h): a tmpfs
	 * with the config's options, filled, for CRIU to bind in. */
	r->tmpfs_stage = xasprintf("%s/tmpfs", r->d.path);
	if (ferry_tmpfs_carry_stage(spec, r->images_fd, r->tmpfs_stage, &r->tmpfs_keys, &r->tmpfs_paths, &r->n_tmpfs,
				    err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_tmpfs && i < spec->n_mounts; i++)
		r->ext[r->n_ext++] = (struct ferry_criu_kv){ r->tmpfs_keys[i], r->tmpfs_paths[i] };
	add_cgroup_mounts(spec, r->cg, r->images_fd, &r->ext, &r->n_ext, &r->owned, &r->n_owned);

	/* Pipes the init had as stdio are outside the image: CRIU plugs in
	 * ours (or /dev/null when detached) in their place. */
	r->inh = calloc(7, sizeof(*r->inh));
	if (r->null_fd < 0)
		r->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r->inh == NULL || r->null_fd < 0)
		return ferry_error_sys(err, "open /dev/null");
	for (int i = 0; i < 3; i++)
		if (strncmp(r->desc[i], "pipe:", 5) == 0)
			r->inh[r->n_inh++] = (struct ferry_criu_inherit_fd){ r->desc[i], o->detach ? r->null_fd : i };
	/* Host files the init had as stdio (see checkpoint.c): ours instead. */
	{
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;

		if (ferry_read_file_at(r->images_fd, "ferry-stdio-external", 4096, &text, &len, &e2) == 0) {
			char *save = NULL;
			for (char *l = strtok_r(text, "\n", &save); l && r->n_inh < 6; l = strtok_r(NULL, "\n", &save)) {
				char key[128], kind;
				int fd, off = 0;
				if (sscanf(l, "%d %c %127s %n", &fd, &kind, key, &off) != 3 || fd < 0 || fd > 2 || !off)
					continue;
				r->owned = append_owned(r->owned, &r->n_owned, key);
				if (o->stdio_to_null && kind == 'f') {
					/* Another host: the init's file stayed behind.  CRIU
					 * wants one of the same size: an unlinked stand-in. */
					r->file_fds[fd] = stdio_stand_in(r->images_fd, r->d.path, fd, err);
					if (r->file_fds[fd] < 0)
						return -1;
					fd = r->file_fds[fd];
				} else if (o->stdio_to_null) {
					fd = r->null_fd;
				} else if (kind == 'f') {
					/* CRIU checks the size and restores the offset of a
					 * regular file: only that same file will do. */
					r->file_fds[fd] = open(l + off, O_RDWR | O_CLOEXEC);
					if (r->file_fds[fd] < 0)
						return ferry_error_sys(err, "fd %d of the checkpointed init was %s", fd,
								       l + off);
					fd = r->file_fds[fd];
				} else if (o->detach || lseek(fd, 0, SEEK_CUR) < 0) {
					/* A device such as the host's /dev/null: CRIU restores
					 * its offset, which a pipe of ours cannot take. */
					fd = r->null_fd;
				}
				r->inh[r->n_inh++] = (struct ferry_criu_inherit_fd){ r->owned[r->n_owned - 1], fd };
			}
		}
	}

	if (rr_netns(r, err) < 0)
		return -1;

	c->criu_path = r->criu;
	c->images_dir_fd = r->images_fd;
	c->work_dir_fd = r->work_fd;
	c->log_file = "restore.log";
	c->root = r->criu_root;
	c->rst_sibling = true;
	c->manage_cgroups = true;
	if (o->manage_cgroups_mode == FERRY_CRIU_CG_UNSET || o->manage_cgroups_mode == FERRY_CRIU_CG_IGNORE) {
		c->manage_cgroups_mode = FERRY_CRIU_CG_IGNORE;
	} else {
		/* runc's way: CRIU restores the image's cgroups, with the dumped
		 * root cgroup replaced by the container's (every controller), so
		 * the tree and any sub-cgroups it made land under ours.  soft
		 * leaves the properties of our (existing) cgroup alone, i.e. the
		 * bundle's limits win; full/strict write the dumped ones. */
		r->cg_root = (struct ferry_criu_cg_root){ NULL, r->cg_path };
		c->manage_cgroups_mode = o->manage_cgroups_mode;
		c->cg_roots = &r->cg_root;
		c->n_cg_roots = 1;
	}
	c->ext_mnt = r->ext;
	c->n_ext_mnt = r->n_ext;
	c->inherit_fd = r->inh;
	c->n_inherit_fd = r->n_inh;
	c->tcp_established = o->tcp_established;
	c->tcp_close = o->tcp_close;
	c->ext_unix_sk = o->ext_unix_sk;
	c->shell_job = o->shell_job;
	c->file_locks = o->file_locks;
	c->auto_dedup = o->auto_dedup;
	c->lsm_profile = o->lsm_profile;
	c->lsm_mount_context = o->lsm_mount_context;
	/* Memory comes from a `criu lazy-pages` daemon, found through its
	 * socket in the work directory; page faults are served over
	 * userfaultfd after the tree runs. */
	c->lazy_pages = o->lazy_pages;
	if (r->console_fd >= 0) {
		r->pn.console_fd = r->console_fd;
		c->orphan_pts_master = true;
	}
	if (r->spec->n_hooks[FERRY_HOOK_PRESTART] || r->spec->n_hooks[FERRY_HOOK_CREATE_RUNTIME]) {
		r->pn.hook_spec = r->spec;
		r->pn.hook_state = (struct ferry_state){
			.id = (char *) o->id,
			.bundle = r->bundle,
			.rootfs = r->rootfs,
			.owner = "",
			.cgroup_path = r->cg_path,
			.annotations = r->spec->annotations,
			.n_annotations = r->spec->n_annotations,
		};
	}
	if (r->console_fd >= 0 || r->pn.net_spec || r->pn.hook_spec) {
		/* notify needs the scripts switch (CRIU sends nothing else) */
		c->notify_scripts = true;
		c->notify = restore_notify;
		c->notify_data = &r->pn;
	}
	if (o->tune)
		o->tune(c, o->tune_data);
	return 0;
}

/* The tree runs: the staged tmpfs and CRIU's root go, the state is
 * written. */
static int
rr_record(struct rr *r, ferry_error_t *err)
{
	const struct ferry_restore_opts *o = r->o;
	_cleanup_free_ char *created = NULL;
	struct ferry_state st = { 0 };

	/* CRIU's binds of them keep the file systems */
	if (r->n_tmpfs)
		ferry_tmpfs_carry_unstage(r->tmpfs_stage, r->tmpfs_paths);
	r->n_tmpfs = 0;
	umount2(r->criu_root, MNT_DETACH);
	rmdir(r->criu_root);
	r->mounted = false;
	if (o->print_stats && r->images_fd >= 0)
		print_restore_stats(r->images_fd);

	created = ferry_now_rfc3339();
	st.id = (char *) o->id;
	st.pid = r->pid;
	st.start_time = ferry_proc_start_time(r->pid);
	st.bundle = r->bundle;
	st.rootfs = r->rootfs;
	st.created = created;
	st.owner = "";
	st.cgroup_path = r->cg_path;
	st.host_pid_ns = !ferry_spec_has_ns(r->spec, CLONE_NEWPID);
	st.restored_from = r->image_abs;
	st.annotations = r->spec->annotations;
	st.n_annotations = r->spec->n_annotations;
	if (ferry_state_write(&r->d, &st, err) < 0)
		return -1;
	unlinkat(r->d.dir_fd, RESTORE_CGROUP_FILE, 0);
	if (o->pid_file && ferry_write_pid_file(o->pid_file, r->pid, err) < 0)
		return -1;
	return 0;
}

/* Takes back what was made: the tree, the staged tmpfs, CRIU's root, the
 * cgroup, the state directory. */
static void
rr_undo(struct rr *r)
{
	const struct ferry_restore_opts *o = r->o;

	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	if (r->n_tmpfs)
		ferry_tmpfs_carry_unstage(r->tmpfs_stage, r->tmpfs_paths);
	r->n_tmpfs = 0;
	if (r->mounted) {
		umount2(r->criu_root, MNT_DETACH);
		rmdir(r->criu_root);
		r->mounted = false;
	}
	if (r->cg)
		ferry_cgroup_undo_create(r->cg);
	if (r->made_dir) {
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_dir_remove(&r->d, &e2) < 0)
			pr_warn("restore %s: cleanup: %s", o->id, e2.msg);
		r->made_dir = false;
	}
	if (o->pid_file && r->pid > 0)
		unlink(o->pid_file);
}

int
ferry_container_restore(const ferry_ctx_t *ctx, const struct ferry_restore_opts *o, int *exit_status,
			ferry_error_t *err)
{
	struct rr r;
	pid_t pid;

	rr_init(&r, ctx, o);
	/* Everything that can be checked is checked before anything exists. */
	if (rr_check(&r, err) < 0 || rr_check_images(&r, err) < 0 || rr_make(&r, err) < 0 || rr_images(&r, err) < 0)
		goto fail;
	/* The restored init must come back to us when the helper exits.  With
	 * --no-subreaper (containerd's shim, which is a subreaper itself and
	 * reaps the init) it goes to the nearest subreaper above us instead. */
	if (!o->no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		ferry_error_sys(err, "PR_SET_CHILD_SUBREAPER");
		goto fail;
	}
	if (run_criu_in_cgroup(r.copts.n_cg_roots ? NULL : r.cg, &r.copts, &r.pid, err) < 0)
		goto fail;
	if (rr_record(&r, err) < 0)
		goto fail;
	pid = r.pid;
	rr_free(&r);
	if (o->detach) {
		*exit_status = 0;
		return 0;
	}
	{
		int ret = ferry_wait_foreground(pid, -1, exit_status, err);
		_cleanup_error_ ferry_error_t e2 = FERRY_ERROR_INIT;
		if (ferry_container_delete(ctx, o->id, true, &e2) < 0)
			pr_warn("restore %s: delete after exit: %s", o->id, e2.msg);
		return ret < 0 ? ferry_error_prefix(err, "restore %s", o->id) : 0;
	}

fail:
	rr_undo(&r);
	rr_free(&r);
	return ferry_error_prefix(err, "restore %s", o->id);
}

/* ------------------------------------------------------------ staged */

/*
 * A staged restore (a migration's destination): everything that needs no
 * image is made while the source still runs, and a helper waits inside
 * the container's cgroup (joined by itself, ferry_cgroup_join_self), with
 * CRIU already started.  When the images are in, the helper reads them,
 * asks CRIU, reports the pid as soon as CRIU answers, cleans up and exits (the restored init, its sibling, comes to us as the
 * subreaper).
 */
struct ferry_restore_staged {
	struct ferry_restore_opts o;
	struct rr r;
	pid_t helper;
	int go_fd;  /* ours: one byte starts the restore; EOF: give up */
	int res_fd; /* ours: "P<pid>" or "E<message>" */
	struct ferry_cgroup_join join; /* the helper's, until it is started */
};

static void
staged_kill_helper(ferry_restore_staged_t *s)
{
	ferry_cgroup_join_release(&s->join);
	ferry_closep(&s->go_fd);
	ferry_closep(&s->res_fd);
	if (s->helper > 0) {
		kill(s->helper, SIGKILL);
		while (waitpid(s->helper, NULL, 0) < 0 && errno == EINTR)
			;
		s->helper = 0;
	}
}

static _Noreturn void
staged_helper_main(ferry_restore_staged_t *s, int go, int res, pid_t parent)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	struct ferry_criu_result cres = { 0 };
	struct ferry_criu_swrk swrk = FERRY_CRIU_SWRK_INIT;
	char msg[4096], flags = 0;
	ssize_t n;
	int len, ret;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Into the cgroup first, while its files are open (single threaded:
	 * a fork of the agent). */
	if (ferry_cgroup_join_self(&s->join, &e) < 0)
		goto out;
	/* Nothing of the agent's stays open here: only the two pipes. */
	if (dup2(go, 3) < 0 || dup2(res, 4) < 0)
		_exit(1);
	go = 3;
	res = 4;
	if (ferry_close_fds_from(5, NULL, 0) < 0)
		_exit(1);
	s->r.d.dir_fd = s->r.d.root_fd = s->r.d.lock_fd = s->r.work_fd = -1;
	/* CRIU itself, started now and waiting in the cgroup: its exec and
	 * kernel probes leave the frozen window too.  A detached restore
	 * gives it /dev/null for the init's stdio (up to six entries, see
	 * rr_images); anything else and rr_images' request does not fit it,
	 * and a fresh CRIU is started instead. */
	s->r.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (s->r.null_fd < 0 || ferry_criu_swrk_start(s->r.criu, s->r.null_fd, 6, &swrk, &e) < 0) {
		pr_info("CRIU is started when the images are in: %s", e.msg ? e.msg : strerror(errno));
		ferry_error_clear(&e);
	}
	/* Ready: the parent waits for this before the freeze. */
	if (ferry_write_all(res, "R", 1) < 0)
		_exit(1);
	do
		n = read(go, &flags, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		ferry_criu_swrk_stop(&swrk);
		_exit(0);
	}
	s->o.tcp_established = flags & 1;
	s->r.work_fd = open(s->r.work_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->r.work_fd < 0) {
		ferry_error_sys(&e, "work directory %s", s->r.work_path);
		goto out;
	}
	if (rr_check_images(&s->r, &e) < 0 || rr_images(&s->r, &e) < 0)
		goto out;
	s->r.copts.swrk = &swrk;
	ret = ferry_criu_rpc(FERRY_CRIU_RESTORE, &s->r.copts, &cres, &e);
	/* The tree runs: say so first (the parent lets held packets through
	 * on it), then clean up; the parent reads on to our exit. */
	if (ret == 0) {
		len = snprintf(msg, sizeof(msg), "P%d", cres.pid);
		if (ferry_write_all(res, msg, (size_t) len) < 0)
			_exit(2);
	}
	ferry_criu_swrk_stop(&swrk); /* if the request did not fit it */
	/* CRIU's binds keep the file systems (or, failed, there is nothing
	 * to keep): the staging mounts go either way. */
	if (s->r.n_tmpfs)
		ferry_tmpfs_carry_unstage(s->r.tmpfs_stage, s->r.tmpfs_paths);
	if (ret == 0)
		_exit(0);
out:
	ferry_criu_swrk_stop(&swrk);
	{
		_cleanup_free_ char *m = ferry_error_string(&e);
		len = snprintf(msg, sizeof(msg), "E%s", m);
	}
	_exit(ferry_write_all(res, msg, (size_t) len) < 0 ? 2 : 0);
}

/* Reads the helper's word: up to EOF, or one byte when want_one. */
static ssize_t
staged_read(int fd, char *buf, size_t size, bool want_one)
{
	size_t n = 0;

	while (n < size - 1) {
		ssize_t k = read(fd, buf + n, want_one ? 1 : size - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t) k;
		if (want_one)
			break;
	}
	buf[n] = '\0';
	return (ssize_t) n;
}

int
ferry_restore_stage(const ferry_ctx_t *ctx, const struct ferry_restore_opts *o, ferry_restore_staged_t **out,
		    ferry_error_t *err)
{
	ferry_restore_staged_t *s = xmalloc0(sizeof(*s));
	int go[2] = { -1, -1 }, res[2] = { -1, -1 };
	pid_t parent = getpid();
	char buf[8];

	*out = NULL;
	s->o = *o;
	s->go_fd = s->res_fd = -1;
	s->join = (struct ferry_cgroup_join) FERRY_CGROUP_JOIN_INIT;
	if (!o->detach || o->console_socket || o->pid_file || o->print_stats) {
		free(s);
		return ferry_error_set(err, EINVAL, "a staged restore is detached, without terminal, pid file or stats");
	}
	rr_init(&s->r, ctx, &s->o);
	if (rr_check(&s->r, err) < 0 || rr_make(&s->r, err) < 0)
		goto fail;
	if (s->o.manage_cgroups_mode != FERRY_CRIU_CG_UNSET && s->o.manage_cgroups_mode != FERRY_CRIU_CG_IGNORE) {
		ferry_error_set(err, EINVAL, "a staged restore leaves cgroups to ferry");
		goto fail;
	}
	if (!o->no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		ferry_error_sys(err, "PR_SET_CHILD_SUBREAPER");
		goto fail;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		ferry_error_sys(err, "pipe");
		goto fail;
	}
	if (ferry_cgroup_join_prepare(s->r.cg, &s->join, err) < 0)
		goto fail;
	s->helper = ferry_cgroup_clone(&s->join, 0);
	if (s->helper < 0) {
		ferry_error_sys(err, "fork");
		s->helper = 0;
		goto fail;
	}
	if (s->helper == 0)
		staged_helper_main(s, go[0], res[1], parent);
	ferry_cgroup_join_release(&s->join);
	ferry_closep(&go[0]);
	ferry_closep(&res[1]);
	s->go_fd = go[1];
	s->res_fd = res[0];
	/* The helper is in the cgroup once it says R. */
	if (staged_read(s->res_fd, buf, sizeof(buf), true) != 1 || buf[0] != 'R') {
		char m[4096];
		m[0] = buf[0];
		staged_read(s->res_fd, m + 1, sizeof(m) - 1, false);
		if (buf[0] == 'E')
			ferry_error_set(err, 0, "%s", m + 1);
		else
			ferry_error_set(err, EPROTO, "the restore helper died before it was ready");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	ferry_closep(&go[0]);
	ferry_closep(&go[1]);
	ferry_closep(&res[0]);
	ferry_closep(&res[1]);
	s->go_fd = s->res_fd = -1;
	staged_kill_helper(s);
	rr_undo(&s->r);
	rr_free(&s->r);
	free(s);
	return ferry_error_prefix(err, "restore %s", o->id);
}

int
ferry_restore_staged_run(ferry_restore_staged_t *s, bool tcp_established, void (*running)(void *arg), void *arg,
			 ferry_error_t *err)
{
	char buf[4096];
	char flags = tcp_established ? 1 : 0;
	ssize_t n, k;
	int status = 0;

	if (s->helper <= 0)
		return ferry_error_set(err, EINVAL, "restore %s: staged restore already used", s->o.id);
	s->o.tcp_established = tcp_established;
	if (ferry_write_all(s->go_fd, &flags, 1) < 0) {
		ferry_error_sys(err, "restore %s: the restore helper", s->o.id);
		goto fail;
	}
	/* "P<pid>" comes in one write, before the helper cleans up. */
	do
		n = read(s->res_fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	if (n > 0 && buf[0] == 'P' && atoi(buf + 1) > 0 && running)
		running(arg);
	if (n > 0 && (size_t) n < sizeof(buf) - 1 && (k = staged_read(s->res_fd, buf + n, sizeof(buf) - (size_t) n, false)) > 0)
		n += k;
	while (waitpid(s->helper, &status, 0) < 0 && errno == EINTR)
		;
	s->helper = 0;
	ferry_closep(&s->go_fd);
	ferry_closep(&s->res_fd);
	if (n > 0 && buf[0] == 'P' && atoi(buf + 1) > 0) {
		s->r.pid = atoi(buf + 1);
	} else {
		if (n > 0 && buf[0] == 'E')
			ferry_error_set(err, 0, "%s", buf + 1);
		else
			ferry_error_set(err, EPROTO, "the restore helper died (status 0x%x)", status);
		goto fail;
	}
	/* The parent's view of what the helper did: the image path for the
	 * state, and the staged tmpfs are the helper's (already gone). */
	if (realpath(s->r.image_path, buf) == NULL) {
		ferry_error_sys(err, "image directory %s", s->r.image_path);
		goto fail;
	}
	s->r.image_abs = xstrdup(buf);
	if (rr_record(&s->r, err) < 0)
		goto fail;
	s->r.made_dir = false;
	s->r.mounted = false;
	ferry_cgroup_free(s->r.cg);
	s->r.cg = NULL;
	s->r.pid = -1;
	return 0;
fail:
	staged_kill_helper(s);
	rr_undo(&s->r);
	s->r.made_dir = s->r.mounted = false;
	ferry_cgroup_free(s->r.cg);
	s->r.cg = NULL;
	s->r.pid = -1;
	return ferry_error_prefix(err, "restore %s", s->o.id);
}

void
ferry_restore_staged_free(ferry_restore_staged_t *s)
{
	if (s == NULL)
		return;
	staged_kill_helper(s);
	rr_undo(&s->r);
	rr_free(&s->r);
	free(s);
}
