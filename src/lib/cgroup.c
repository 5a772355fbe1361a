/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control groups: layout detection, cgroup paths, file access, and the
 * cgroup mounts of a container.  Creating, applying resources and
 * destroying are in cgroup_create.c, the tasks (enter, freeze, kill) in
 * cgroup_tasks.c, the resource files of each version in cgroup_v1.c,
 * cgroup_v2.c and cgroup_bpf.c, `events --stats` in cgroup_stats.c.
 *
 * A controller is used where it is mounted, not where the layout name
 * says it should be: on this kind of hybrid host hugetlb exists only on
 * the cgroup2 hierarchy, so its limits are written there with v2 file
 * names, while memory, cpu and the rest go to their v1 hierarchies.
 */
#define LOG_PREFIX "cgroup: "

#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"
#define SMALL_FILE_MAX (1u << 20)
#define PROCS_FILE_MAX (16u << 20)

/* ---- small file helpers ------------------------------------------------ */

int
cg_write(const struct ferry_cgroup *cg, int dfd, const char *file, const char *value, ferry_error_t *err)
{
	/* A real cgroup file takes one write and ignores the offset; a
	 * plain file in a fake tree must be truncated to read back what
	 * was written last. */
	int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (cg->fake ? O_TRUNC : 0);
	_cleanup_close_ int fd = openat(dfd, file, flags);
	size_t len = strlen(value);
	ssize_t w;

	if (fd < 0)
		return ferry_error_sys(err, "%s: write \"%s\"", file, value);
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return ferry_error_sys(err, "%s: write \"%s\"", file, value);
	if ((size_t) w != len)
		return ferry_error_set(err, EIO, "%s: write \"%s\": short write", file, value);
	return 0;
}

int
cg_writef(const struct ferry_cgroup *cg, int dfd, const char *file, ferry_error_t *err, const char *fmt, ...)
{
	_cleanup_free_ char *value = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		value = NULL;
	va_end(ap);
	if (value == NULL)
		return ferry_error_set(err, ENOMEM, "%s: out of memory", file);
	return cg_write(cg, dfd, file, value, err);
}

int
cg_read(int dfd, const char *file, char **out, ferry_error_t *err)
{
	char *buf = NULL;
	size_t len = 0;

	if (ferry_read_file_at(dfd, file, PROCS_FILE_MAX, &buf, &len, err) < 0)
		return -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	*out = buf;
	return 0;
}

int
cg_read_u64(int dfd, const char *file, uint64_t *out, ferry_error_t *err)
{
	_cleanup_free_ char *s = NULL;

	if (cg_read(dfd, file, &s, err) < 0)
		return -1;
	if (strcmp(s, "max") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (ferry_parse_u64(s, out) < 0)
		return ferry_error_set(err, EINVAL, "%s: expected a number, read \"%s\"", file, s);
	return 0;
}

bool
cg_exists(int dfd, const char *file)
{
	return faccessat(dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
cg_read_keyed(int dfd, const char *file, const char *key, uint64_t *out, ferry_error_t *err)
{
	_cleanup_free_ char *s = NULL;
	size_t klen = strlen(key);

	if (cg_read(dfd, file, &s, err) < 0)
		return -1;
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			if (ferry_parse_u64(line + klen + 1, out) < 0)
				return ferry_error_set(err, EINVAL, "%s: %s: expected a number, read \"%s\"", file, key,
						       line + klen + 1);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return ferry_error_set(err, ENOENT, "%s: no \"%s\" entry", file, key);
}

bool
cg_hier_has(const struct cg_hier *h, const char *controller)
{
	for (char **c = h->controllers; c && *c; c++)
		if (strcmp(*c, controller) == 0)
			return true;
	return false;
}

bool
cg_page_size_valid(const char *s)
{
	size_t i = 0;

	while (s && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 8)
		return false;
	return strcmp(s + i, "KB") == 0 || strcmp(s + i, "MB") == 0 || strcmp(s + i, "GB") == 0;
}

/* ---- layout ------------------------------------------------------------ */

const char *
ferry_cgroup_root(void)
{
	const char *r = getenv("FERRY_CGROUP_ROOT");

	return r && *r ? r : DEFAULT_ROOT;
}

const char *
ferry_cgroup_layout_name(enum ferry_cgroup_layout layout)
{
	switch (layout) {
	case FERRY_CGROUP_V1:
		return "v1";
	case FERRY_CGROUP_HYBRID:
		return "hybrid";
	case FERRY_CGROUP_V2:
		return "v2";
	}
	return "unknown";
}

static void
hier_clear(struct cg_hier *h)
{
	free(h->name);
	free(h->mountpoint);
	free(h->mount_root);
	ferry_strv_free(h->controllers);
	memset(h, 0, sizeof(*h));
}

static void
layout_clear(struct ferry_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_h; i++)
		hier_clear(&cg->h[i]);
	free(cg->h);
	cg->h = NULL;
	cg->n_h = 0;
	free(cg->root);
	cg->root = NULL;
	cg->unified = -1;
}

static struct cg_hier *
hier_add(struct ferry_cgroup *cg, const char *mountpoint, bool v2)
{
	const char *slash = strrchr(mountpoint, '/');
	struct cg_hier *h;

	/* A later mount on the same point hides the earlier one. */
	for (size_t i = 0; i < cg->n_h; i++) {
		if (strcmp(cg->h[i].mountpoint, mountpoint) == 0) {
			hier_clear(&cg->h[i]);
			memmove(&cg->h[i], &cg->h[i + 1], (cg->n_h - i - 1) * sizeof(*cg->h));
			cg->n_h--;
			break;
		}
	}
	cg->h = xrealloc(cg->h, (cg->n_h + 1) * sizeof(*cg->h));
	h = &cg->h[cg->n_h++];
	memset(h, 0, sizeof(*h));
	h->mountpoint = xstrdup(mountpoint);
	h->name = xstrdup(v2 && strcmp(mountpoint, cg->root) == 0 ? "" : (slash ? slash + 1 : mountpoint));
	h->mount_root = xstrdup("/");
	h->v2 = v2;
	h->created_depth = -1;
	return h;
}

/* Splits s at any of seps into a vector (empty items dropped). */
char **
cg_split(const char *s, const char *seps)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char **v = xmalloc0(sizeof(char *)), *save = NULL;

	for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save))
		ferry_strv_append(&v, t);
	return v;
}

static int
strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Moves src's error into dst. */
int
cg_error_move(ferry_error_t *dst, ferry_error_t *src)
{
	ferry_error_clear(dst);
	*dst = *src;
	*src = (ferry_error_t) FERRY_ERROR_INIT;
	return -1;
}

static int
v2_read_controllers(struct cg_hier *h, ferry_error_t *err)
{
	_cleanup_close_ int dfd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *s = NULL;

	if (dfd < 0)
		return ferry_error_sys(err, "open %s", h->mountpoint);
	if (cg_read(dfd, "cgroup.controllers", &s, err) < 0)
		return ferry_error_prefix(err, "%s", h->mountpoint);
	ferry_strv_free(h->controllers);
	h->controllers = cg_split(s, " \n");
	return 0;
}

/* Undoes the \ooo escapes of /proc/self/mountinfo in place. */
static void
unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The v1 controller names this kernel knows, from /proc/cgroups. */
static char **
kernel_subsystems(void)
{
	_cleanup_free_ char *s = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	char **v = cg_split("", " ");

	if (ferry_read_file("/proc/cgroups", SMALL_FILE_MAX, &s, NULL, &e) < 0) {
		static const char *const known[] = { "cpuset",  "cpu",	  "cpuacct",	"blkio",   "memory",
						     "devices", "freezer", "net_cls",	"perf_event", "net_prio",
						     "hugetlb", "pids",	  "rdma",	"misc" };

		ferry_error_clear(&e);
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			ferry_strv_append(&v, known[i]);
		return v;
	}
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		char *tab;

		if (nl)
			*nl = '\0';
		tab = strpbrk(line, " \t");
		if (line[0] != '#' && tab) {
			*tab = '\0';
			ferry_strv_append(&v, line);
		}
		line = nl ? nl + 1 : NULL;
	}
	return v;
}

static bool
strv_contains(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* Finds the cgroup mounts directly under root in /proc/self/mountinfo. */
static int
load_mountinfo(struct ferry_cgroup *cg, ferry_error_t *err)
{
	_cleanup_free_ char *mi = NULL;
	_cleanup_strv_ char **subsys = kernel_subsystems();
	size_t rootlen = strlen(cg->root);

	if (ferry_read_file("/proc/self/mountinfo", 64u << 20, &mi, NULL, err) < 0)
		return -1;
	for (char *line = mi; line && *line;) {
		char *nl = strchr(line, '\n');
		char *f[7] = { 0 }, *sep, *fstype, *superopts, *save = NULL, *rest;
		int nf = 0;

		if (nl)
			*nl = '\0';
		rest = line;
		line = nl ? nl + 1 : NULL;
		sep = strstr(rest, " - ");
		if (sep == NULL)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(rest, " ", &save); t && nf < 7; t = strtok_r(NULL, " ", &save))
			f[nf++] = t;
		if (nf < 6)
			continue;
		save = NULL;
		fstype = strtok_r(sep + 3, " ", &save);
		(void) strtok_r(NULL, " ", &save); /* source */
		superopts = strtok_r(NULL, " ", &save);
		if (fstype == NULL || superopts == NULL)
			continue;
		unescape_octal(f[3]);
		unescape_octal(f[4]);

		if (strcmp(fstype, "cgroup2") == 0 && strcmp(f[4], cg->root) == 0) {
			struct cg_hier *h = hier_add(cg, f[4], true);

			free(h->mount_root);
			h->mount_root = xstrdup(f[3]);
			continue;
		}
		/* Only hierarchies mounted directly under the root count. */
		if (strncmp(f[4], cg->root, rootlen) != 0 || f[4][rootlen] != '/' || f[4][rootlen + 1] == '\0' ||
		    strchr(f[4] + rootlen + 1, '/') != NULL)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			struct cg_hier *h = hier_add(cg, f[4], true);

			free(h->mount_root);
			h->mount_root = xstrdup(f[3]);
		} else if (strcmp(fstype, "cgroup") == 0) {
			_cleanup_strv_ char **opts = cg_split(superopts, ",");
			struct cg_hier *h = hier_add(cg, f[4], false);

			free(h->mount_root);
			h->mount_root = xstrdup(f[3]);
			h->controllers = cg_split("", ",");
			for (char **o = opts; *o; o++)
				if (strncmp(*o, "name=", 5) == 0 || strv_contains(subsys, *o))
					ferry_strv_append(&h->controllers, *o);
		}
	}
	return 0;
}

/* A tree of plain files: cgroup.controllers at the root means v2; else
 * each directory is a v1 hierarchy named by its controllers ("memory",
 * "cpu,cpuacct", "systemd" for name=systemd), "unified" a cgroup2 one. */
static int
load_fake(struct ferry_cgroup *cg, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	_cleanup_strv_ char **names = cg_split("", "");

	if (faccessat(AT_FDCWD, cg->root, F_OK, 0) < 0)
		return ferry_error_sys(err, "cgroup root %s", cg->root);
	{
		_cleanup_free_ char *marker = xasprintf("%s/cgroup.controllers", cg->root);

		if (faccessat(AT_FDCWD, marker, F_OK, 0) == 0) {
			hier_add(cg, cg->root, true);
			return 0;
		}
	}
	d = opendir(cg->root);
	if (d == NULL)
		return ferry_error_sys(err, "open cgroup root %s", cg->root);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		ferry_strv_append(&names, de->d_name);
	}
	/* readdir order is arbitrary: sort for a stable hierarchy order. */
	qsort(names, ferry_strv_len(names), sizeof(char *), strcmp_p);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *mp = xasprintf("%s/%s", cg->root, *n);
		_cleanup_free_ char *marker = xasprintf("%s/cgroup.controllers", mp);
		bool v2 = strcmp(*n, "unified") == 0 && faccessat(AT_FDCWD, marker, F_OK, 0) == 0;
		struct cg_hier *h = hier_add(cg, mp, v2);

		if (!v2) {
			if (strcmp(*n, "systemd") == 0)
				h->controllers = cg_split("name=systemd", ",");
			else
				h->controllers = cg_split(*n, ",");
		}
	}
	return 0;
}

static int
layout_load(const char *root, struct ferry_cgroup *cg, ferry_error_t *err)
{
	struct statfs sfs;
	size_t len;
	int nv1 = 0;

	cg->root = xstrdup(root);
	cg->unified = -1;
	len = strlen(cg->root);
	while (len > 1 && cg->root[len - 1] == '/')
		cg->root[--len] = '\0';

	if (statfs(cg->root, &sfs) < 0)
		return ferry_error_sys(err, "cgroup root %s", cg->root);
	if ((unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC) {
		hier_add(cg, cg->root, true);
		/* The mount root, for moving tasks back on a failed enter. */
		if (load_mountinfo(cg, err) < 0)
			return -1;
	} else if (load_mountinfo(cg, err) < 0) {
		return -1;
	}
	if (cg->n_h == 0) {
		/* Only a root the caller named may be a tree of plain files:
		 * on a host whose cgroups are simply not mounted, ferry must
		 * fail instead of writing limits nobody enforces. */
		const char *env = getenv("FERRY_CGROUP_ROOT");

		if (env == NULL || *env == '\0')
			return ferry_error_set(err, ENOENT, "no cgroup hierarchy is mounted under %s", cg->root);
		cg->fake = true;
		if (load_fake(cg, err) < 0)
			return -1;
		if (cg->n_h == 0)
			return ferry_error_set(err, ENOENT, "no cgroup hierarchy is mounted under %s", cg->root);
	}
	for (size_t i = 0; i < cg->n_h; i++) {
		if (!cg->h[i].v2) {
			nv1++;
			continue;
		}
		/* Pure v2: the single hierarchy at the root wins over any
		 * stray mount found below it. */
		if (cg->unified < 0 || strcmp(cg->h[i].mountpoint, cg->root) == 0)
			cg->unified = (int) i;
	}
	if (cg->unified >= 0 && strcmp(cg->h[cg->unified].mountpoint, cg->root) == 0) {
		/* Drop everything but the root hierarchy. */
		struct cg_hier keep = cg->h[cg->unified];

		for (size_t i = 0; i < cg->n_h; i++)
			if ((int) i != cg->unified)
				hier_clear(&cg->h[i]);
		cg->h[0] = keep;
		cg->n_h = 1;
		cg->unified = 0;
		cg->layout = FERRY_CGROUP_V2;
	} else if (nv1 == 0) {
		return ferry_error_set(err, ENOENT, "no cgroup v1 hierarchy and no cgroup2 at %s", cg->root);
	} else {
		cg->layout = cg->unified >= 0 ? FERRY_CGROUP_HYBRID : FERRY_CGROUP_V1;
	}
	if (cg->unified >= 0 && v2_read_controllers(&cg->h[cg->unified], err) < 0)
		return -1;
	return 0;
}

int
ferry_cgroup_detect_layout(const char *root, enum ferry_cgroup_layout *out, ferry_error_t *err)
{
	struct ferry_cgroup cg = { .unified = -1 };
	int r = layout_load(root, &cg, err);

	if (r == 0)
		*out = cg.layout;
	layout_clear(&cg);
	return r;
}

/* ---- paths ------------------------------------------------------------- */

/* "machine.slice:libpod:abc" (systemd's slice:prefix:name, what Podman
 * and containerd pass with a systemd cgroup manager) names the cgroup
 * /machine.slice/libpod-abc.scope; a nested slice "a-b.slice" lives in
 * /a.slice/a-b.slice.  ferry drives cgroupfs itself, so it only borrows
 * the naming. */
static int
systemd_path(const char *s, char **out, ferry_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *slice = copy, *prefix, *name, *p;
	_cleanup_free_ char *path = xstrdup("");

	prefix = strchr(slice, ':');
	*prefix++ = '\0';
	name = strchr(prefix, ':');
	*name++ = '\0';
	if (*name == '\0' || strchr(name, ':'))
		return ferry_error_set(err, EINVAL, "cgroupsPath \"%s\": expected slice:prefix:name", s);
	if (*slice == '\0')
		slice = "system.slice";
	if (strcmp(slice, "-.slice") == 0) {
		/* The root slice: the scope sits directly at the top. */
		*out = *prefix ? xasprintf("/%s-%s.scope", prefix, name) : xasprintf("/%s.scope", name);
		return 0;
	}
	if (strlen(slice) < 7 || strcmp(slice + strlen(slice) - 6, ".slice") != 0)
		return ferry_error_set(err, EINVAL, "cgroupsPath \"%s\": the slice must end in .slice", s);
	/* Every dash-separated prefix of the slice is a parent slice. */
	for (p = strchr(slice, '-'); p; p = strchr(p + 1, '-')) {
		char *tmp = xasprintf("%s/%.*s.slice", path, (int) (p - slice), slice);

		free(path);
		path = tmp;
	}
	{
		char *tmp = *prefix ? xasprintf("%s/%s/%s-%s.scope", path, slice, prefix, name)
				    : xasprintf("%s/%s/%s.scope", path, slice, name);

		free(path);
		path = tmp;
	}
	*out = steal_pointer(&path);
	return 0;
}

/* Normalises p to "/a/b": no empty or "." components, no "..". */
static int
normalise(const char *p, char **out, ferry_error_t *err)
{
	_cleanup_strv_ char **parts = cg_split(p, "/");
	_cleanup_free_ char *res = xstrdup("");

	for (char **c = parts; *c; c++) {
		char *tmp;

		if (strcmp(*c, ".") == 0)
			continue;
		if (strcmp(*c, "..") == 0)
			return ferry_error_set(err, EINVAL, "cgroupsPath \"%s\": \"..\" is not allowed", p);
		tmp = xasprintf("%s/%s", res, *c);
		free(res);
		res = tmp;
	}
	if (*res == '\0')
		return ferry_error_set(err, EINVAL, "cgroupsPath \"%s\": the root cgroup cannot be used", p);
	if (strlen(res) >= PATH_MAX / 2)
		return ferry_error_set(err, ENAMETOOLONG, "cgroupsPath \"%s\": too long", p);
	*out = steal_pointer(&res);
	return 0;
}

int
ferry_cgroup_path_for(const char *cgroups_path, const char *id, char **out, ferry_error_t *err)
{
	_cleanup_free_ char *raw = NULL;
	const char *colon;

	if (cgroups_path == NULL || *cgroups_path == '\0') {
		if (!ferry_id_valid(id))
			return ferry_error_set(err, EINVAL, "invalid container id \"%s\"", id ? id : "");
		return normalise(raw = xasprintf("/ferry/%s", id), out, err);
	}
	colon = strchr(cgroups_path, ':');
	if (colon && cgroups_path[0] != '/' && strchr(colon + 1, ':') && !strchr(cgroups_path, '/')) {
		if (systemd_path(cgroups_path, &raw, err) < 0)
			return -1;
		return normalise(raw, out, err);
	}
	/* A relative path is taken from the hierarchy root, not from
	 * ferry's own cgroup as runc does: the state keeps only this path,
	 * and it must name the same cgroup when another ferry process (or
	 * another host, after a migration) opens it. */
	return normalise(cgroups_path, out, err);
}

int
cg_new(const char *path, ferry_cgroup_t **out, ferry_error_t *err)
{
	_cleanup_cgroup_ ferry_cgroup_t *cg = xmalloc0(sizeof(*cg));

	cg->unified = -1;
	if (normalise(path, &cg->path, err) < 0)
		return -1;
	cg->components = cg_split(cg->path, "/");
	cg->n_components = ferry_strv_len(cg->components);
	if (layout_load(ferry_cgroup_root(), cg, err) < 0)
		return -1;
	*out = steal_pointer(&cg);
	return 0;
}

void
ferry_cgroup_free(ferry_cgroup_t *cg)
{
	if (cg == NULL)
		return;
	layout_clear(cg);
	free(cg->path);
	ferry_strv_free(cg->components);
	free(cg);
}

void
ferry_cgroup_freep(ferry_cgroup_t **cg)
{
	ferry_cgroup_free(*cg);
	*cg = NULL;
}

const char *
ferry_cgroup_path(const ferry_cgroup_t *cg)
{
	return cg->path;
}

enum ferry_cgroup_layout
ferry_cgroup_get_layout(const ferry_cgroup_t *cg)
{
	return cg->layout;
}

char *
cg_hier_dir(const struct ferry_cgroup *cg, const struct cg_hier *h)
{
	return xasprintf("%s%s", h->mountpoint, cg->path);
}

int
cg_hier_open(const struct ferry_cgroup *cg, const struct cg_hier *h, ferry_error_t *err)
{
	_cleanup_free_ char *dir = cg_hier_dir(cg, h);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return ferry_error_sys(err, "open %s", dir);
	return fd;
}

const struct cg_hier *
cg_find_v1(const struct ferry_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n_h; i++)
		if (!cg->h[i].v2 && !cg->h[i].skipped && cg_hier_has(&cg->h[i], controller))
			return &cg->h[i];
	return NULL;
}

const struct cg_hier *
cg_unified(const struct ferry_cgroup *cg)
{
	return cg->unified >= 0 ? &cg->h[cg->unified] : NULL;
}

/* The hierarchy of a controller: its v1 mount if there is one, else the
 * cgroup2 hierarchy if the controller is available there. */
const struct cg_hier *
cg_find_controller(const struct ferry_cgroup *cg, const char *v1name, const char *v2name, bool *v2)
{
	const struct cg_hier *h = v1name ? cg_find_v1(cg, v1name) : NULL;

	*v2 = false;
	if (h)
		return h;
	h = cg_unified(cg);
	if (h && v2name && cg_hier_has(h, v2name)) {
		*v2 = true;
		return h;
	}
	return NULL;
}

/* The pid's cgroup in hierarchy h, from /proc/<pid>/cgroup text. */
char *
cg_proc_cgroup_of(const char *text, const struct cg_hier *h)
{
	_cleanup_free_ char *copy = xstrdup(text);

	for (char *line = copy, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		char *c1, *c2;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (h->v2) {
			/* "0::PATH": hierarchy 0, no controllers */
			if (c1 == line + 1 && line[0] == '0' && c1[1] == '\0')
				return xstrdup(c2 + 1);
		} else {
			_cleanup_strv_ char **names = cg_split(c1 + 1, ",");
			size_t n = ferry_strv_len(names);
			bool same = n == ferry_strv_len(h->controllers) && n > 0;

			for (char **c = names; same && *c; c++)
				same = cg_hier_has(h, *c);
			if (same)
				return xstrdup(c2 + 1);
		}
	}
	return NULL;
}

char *
ferry_cgroup_dir(const ferry_cgroup_t *cg, const char *controller)
{
	const struct cg_hier *h;
	bool v2;

	if (controller == NULL || *controller == '\0' || strcmp(controller, "unified") == 0)
		h = cg_unified(cg);
	else if (cg->layout == FERRY_CGROUP_V2)
		h = cg_unified(cg);
	else if ((h = cg_find_v1(cg, controller)) == NULL)
		h = cg_find_controller(cg, NULL, controller, &v2);
	return h ? cg_hier_dir(cg, h) : NULL;
}

char *
ferry_cgroup_dir_at_mount(const ferry_cgroup_t *cg, const char *mountpoint)
{
	struct stat st;

	for (size_t i = 0; i < cg->n_h; i++) {
		const struct cg_hier *h = &cg->h[i];
		char *dir;

		if (h->skipped || strcmp(h->mountpoint, mountpoint) != 0)
			continue;
		dir = cg_hier_dir(cg, h);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
		free(dir);
	}
	return NULL;
}

/* ---- mounts ------------------------------------------------------------ */

static char *
join(char **v, const char *sep)
{
	char *s = xstrdup("");

	for (char **p = v; p && *p; p++) {
		char *t = xasprintf("%s%s%s", s, p == v ? "" : sep, *p);

		free(s);
		s = t;
	}
	return s;
}

/* Bind-mounts the cgroup a process is in (no cgroup namespace: a new
 * mount would show the host's whole hierarchy), as runc does. */
static int
mount_bind_own(const struct cg_hier *h, const char *own, const char *dst, unsigned long mflags,
	       ferry_error_t *err)
{
	size_t rootlen = strlen(h->mount_root);
	const char *rel = own;
	_cleanup_free_ char *src = NULL;

	/* /proc/self/cgroup paths start at the hierarchy root; the host
	 * mount may show a subtree of it. */
	if (strcmp(h->mount_root, "/") != 0) {
		if (strncmp(own, h->mount_root, rootlen) != 0 || (own[rootlen] != '/' && own[rootlen] != '\0'))
			return ferry_error_set(err, EINVAL, "cgroup %s is outside the %s mount (%s)", own, h->mountpoint,
					       h->mount_root);
		rel = own + rootlen;
	}
	src = xasprintf("%s%s", h->mountpoint, rel);
	if (mount(src, dst, "none", MS_BIND, NULL) < 0)
		return ferry_error_sys(err, "bind %s on %s", src, dst);
	/* Source and type are ignored on a remount; they are given anyway
	 * because some checkers (valgrind) read them as strings. */
	if (mflags && mount("none", dst, "none", MS_REMOUNT | MS_BIND | mflags, NULL) < 0)
		return ferry_error_sys(err, "remount %s", dst);
	return 0;
}

/* Mounts hierarchy h on dst: a new mount when the process is at the root
 * of its cgroup namespace (the container's cgroup then is the root of
 * what is mounted), else a bind mount of the process's own cgroup. */
static int
mount_hier(const struct cg_hier *h, const char *self, const char *dst, unsigned long mflags, ferry_error_t *err)
{
	_cleanup_free_ char *own = self ? cg_proc_cgroup_of(self, h) : NULL;
	_cleanup_free_ char *opts = NULL;
	size_t n_real = 0;

	if (own && strcmp(own, "/") != 0)
		return mount_bind_own(h, own, dst, mflags, err);
	if (h->v2) {
		if (mount("cgroup2", dst, "cgroup2", mflags, NULL) == 0)
			return 0;
		/* Only the user namespace that owns the cgroup namespace may
		 * mount a hierarchy: a container with a user namespace but no
		 * cgroup namespace of its own (podman --uidmap) gets EPERM. It
		 * sees the root of this hierarchy (hybrid hosts, where ferry
		 * makes no cgroup in the unified one), so bind that instead. */
		if (errno == EPERM)
			return mount_bind_own(h, own ? own : "/", dst, mflags, err);
		return ferry_error_sys(err, "mount cgroup2 on %s", dst);
	}
	for (char **c = h->controllers; *c; c++)
		if (strncmp(*c, "name=", 5) != 0)
			n_real++;
	opts = join(h->controllers, ",");
	if (n_real == 0) {
		char *t = xasprintf("none,%s", opts);

		free(opts);
		opts = t;
	}
	if (mount("cgroup", dst, "cgroup", mflags, opts) < 0) {
		if (errno == EPERM) /* as above */
			return mount_bind_own(h, own ? own : "/", dst, mflags, err);
		return ferry_error_sys(err, "mount cgroup (%s) on %s", opts, dst);
	}
	return 0;
}

/* The unified hierarchy of a hybrid host, whole.  From the host's cgroup
 * namespace (no cgroup namespace of the container's own: the process is
 * not at the root of its namespace there), a new cgroup2 mount would
 * apply its options to the whole hierarchy, clearing the host's
 * nsdelegate and memory_* mount options, and waits for an RCU grace
 * period (10 ms here); the host's own mount of the hierarchy root, bound,
 * shows the same. */
static int
mount_unified_whole(const struct cg_hier *h, const char *self, const char *dst, unsigned long mflags,
		    ferry_error_t *err)
{
	_cleanup_free_ char *own = self ? cg_proc_cgroup_of(self, h) : NULL;

	if (own && strcmp(own, "/") != 0 && strcmp(h->mount_root, "/") == 0)
		return mount_bind_own(h, "/", dst, mflags, err);
	return mount_hier(h, NULL, dst, mflags, err);
}

static int
mount_v1(const struct ferry_cgroup *layout, const char *self, const char *target, unsigned long mflags,
	 ferry_error_t *err)
{
	_cleanup_close_ int tfd = -1;

	if (mount("tmpfs", target, "tmpfs", (mflags & ~MS_RDONLY), "mode=755") < 0)
		return ferry_error_sys(err, "mount tmpfs on %s", target);
	tfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0)
		return ferry_error_sys(err, "open %s", target);
	for (size_t i = 0; i < layout->n_h; i++) {
		const struct cg_hier *h = &layout->h[i];
		_cleanup_free_ char *dst = xasprintf("%s/%s", target, h->name);
		size_t n_real = 0;

		if (mkdirat(tfd, h->name, 0755) < 0 && errno != EEXIST)
			return ferry_error_sys(err, "mkdir %s", dst);
		/* Hybrid: the unified hierarchy is shown whole, as before
		 * (what runc restores from ferry's images, and the migration,
		 * expect). */
		if (h->v2) {
			if (mount_unified_whole(h, self, dst, mflags, err) < 0)
				return -1;
			continue;
		}
		if (mount_hier(h, self, dst, mflags, err) < 0)
			return -1;
		/* Co-mounted controllers are also reachable by each name
		 * (cpu -> cpu,cpuacct), as systemd arranges on the host. */
		for (char **c = h->controllers; *c; c++)
			if (strncmp(*c, "name=", 5) != 0)
				n_real++;
		if (n_real < 2)
			continue;
		for (char **c = h->controllers; *c; c++) {
			if (strncmp(*c, "name=", 5) == 0 || strcmp(*c, h->name) == 0)
				continue;
			if (symlinkat(h->name, tfd, *c) < 0 && errno != EEXIST)
				return ferry_error_sys(err, "symlink %s/%s", target, *c);
		}
	}
	if ((mflags & MS_RDONLY) &&
	    mount("tmpfs", target, "tmpfs", MS_REMOUNT | MS_BIND | mflags, NULL) < 0)
		return ferry_error_sys(err, "remount %s read-only", target);
	return 0;
}

int
ferry_cgroup_mount(const char *target, unsigned long flags, ferry_error_t *err)
{
	/* Only these flags make sense per mount; MS_REC, propagation and
	 * the like would be rejected or mean something else here. */
	unsigned long mflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME |
					MS_STRICTATIME | MS_NODIRATIME);
	struct ferry_cgroup layout = { .unified = -1 };
	_cleanup_free_ char *self = NULL;
	ferry_error_t e = FERRY_ERROR_INIT;
	int r;

	if (layout_load(ferry_cgroup_root(), &layout, err) < 0) {
		layout_clear(&layout);
		return ferry_error_prefix(err, "mount cgroups on %s", target);
	}
	if (ferry_read_file("/proc/self/cgroup", SMALL_FILE_MAX, &self, NULL, &e) < 0) {
		pr_debug("mount cgroups: %s", e.msg);
		ferry_error_clear(&e);
	}
	if (layout.layout == FERRY_CGROUP_V2)
		r = mount_hier(&layout.h[0], self, target, mflags, err);
	else
		r = mount_v1(&layout, self, target, mflags, err);
	layout_clear(&layout);
	if (r < 0)
		return ferry_error_prefix(err, "mount cgroups");
	return 0;
}
