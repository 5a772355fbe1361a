/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tree transfer: manifest, scan, and the receiver's confined writes.
 *
 * The threat is a peer (or a compromised sender) that sends a manifest
 * crafted to make the receiver, running as root, write outside the
 * destination: "../" paths, absolute paths, or a symlink entry "a -> /"
 * followed by a file "a/x".  Two independent defences:
 *   - every path is checked lexically (ferry_xfer_path_ok) when decoded;
 *   - every path is resolved below the destination by the kernel with
 *     openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 *     for its parent directory, and the last component is handled with
 *     *at() calls that never follow it (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW,
 *     unlinkat).  A symlink the manifest itself created is therefore never
 *     traversed, whatever it points to.
 * The parent fd stays open while the last component is acted on, so a
 * concurrent rename of an ancestor cannot redirect the operation.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "xfer: "
#include "log.h"
#include "util.h"
#include "xfer.h"

#define MODE_BITS 07777u

static const char *
shown(const char *path)
{
	return path[0] ? path : ".";
}

void
ferry_xfer_manifest_free(struct ferry_xfer_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].link);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
	m->total_bytes = 0;
}

bool
ferry_xfer_path_ok(const char *p)
{
	size_t len;

	if (p == NULL)
		return false;
	len = strlen(p);
	if (len == 0)
		return true; /* the top directory itself */
	if (len > FERRY_XFER_MAX_PATH || p[0] == '/')
		return false;
	for (const char *c = p;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t) (slash - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		c = slash + 1;
	}
}

static bool
type_ok(uint32_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode);
}

/* ---- a string set (open addressing), for duplicates and lookups -------- */

struct pathset {
	const char **slot;
	size_t *idx;
	size_t cap;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ull;
	return h;
}

static void
pathset_init(struct pathset *s, size_t n)
{
	s->cap = 16;
	while (s->cap < 2 * n + 1)
		s->cap *= 2;
	s->slot = xmalloc0(s->cap * sizeof(*s->slot));
	s->idx = xmalloc0(s->cap * sizeof(*s->idx));
}

static void
pathset_free(struct pathset *s)
{
	free(s->slot);
	free(s->idx);
	s->slot = NULL;
	s->idx = NULL;
}
#define _cleanup_pathset_ __attribute__((cleanup(pathset_free)))

/* Returns the index stored for key, or SIZE_MAX. */
static size_t
pathset_get(const struct pathset *s, const char *key)
{
	for (size_t h = hash_str(key) & (s->cap - 1);; h = (h + 1) & (s->cap - 1)) {
		if (s->slot[h] == NULL)
			return SIZE_MAX;
		if (strcmp(s->slot[h], key) == 0)
			return s->idx[h];
	}
}

/* Inserts (key is borrowed, not copied); false when already present.  The
 * set is sized for all keys up front, so it never fills. */
static bool
pathset_add(struct pathset *s, const char *key, size_t idx)
{
	size_t h = hash_str(key) & (s->cap - 1);

	for (; s->slot[h] != NULL; h = (h + 1) & (s->cap - 1))
		if (strcmp(s->slot[h], key) == 0)
			return false;
	s->slot[h] = key;
	s->idx[h] = idx;
	return true;
}

static void
pathset_build(struct pathset *s, const struct ferry_xfer_manifest *m)
{
	pathset_init(s, m->n);
	for (size_t i = 0; i < m->n; i++)
		pathset_add(s, m->v[i].path, i);
}

/* ---- confined resolution ---------------------------------------------- */

/*
 * Opens the parent directory of path below dirfd and points *last at the
 * last component ("." for the top directory itself).  The kernel refuses
 * any symlink on the way (also one the peer made us create) and any
 * escape; the lexical check comes first so that the error names the rule.
 */
static int
open_parent(int dirfd, const char *path, const char **last, ferry_error_t *err)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_free_ char *parent = NULL;
	const char *slash;
	int fd;

	if (!ferry_xfer_path_ok(path))
		return ferry_error_set(err, 0, "%s: refused: not a relative path below the destination", path);
	if (path[0] == '\0') {
		*last = ".";
		parent = xstrdup(".");
	} else if ((slash = strrchr(path, '/')) == NULL) {
		*last = path;
		parent = xstrdup(".");
	} else {
		*last = slash + 1;
		parent = strndup(path, (size_t) (slash - path));
		if (parent == NULL)
			return ferry_error_sys(err, "%s", path);
	}
	fd = (int) syscall(SYS_openat2, dirfd, parent, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ELOOP || errno == EXDEV)
			return ferry_error_sys(err, "%s: refused: %s is a symlink or leads outside the destination",
					       path, parent);
		if (errno == ENOTDIR)
			return ferry_error_sys(err, "%s: refused: %s is not a directory", path, parent);
		return ferry_error_sys(err, "%s: open %s", path, parent);
	}
	return fd;
}

static int
remove_at(int parent, const char *name, const char *path, ferry_error_t *err)
{
	/* ferry_rm_rf_at never follows a symlink (unlinkat; openat with
	 * O_NOFOLLOW|O_DIRECTORY to descend), so removing "a" where a is a
	 * symlink to / removes the link, not /. */
	if (ferry_rm_rf_at(parent, name, err) < 0)
		return ferry_error_prefix(err, "%s: remove", shown(path));
	return 0;
}

/* ---- directory listing ------------------------------------------------------ */

/* The names in a directory, read completely before anything is changed or
 * descended into: removing while readdir() runs may skip entries, and the
 * directory stream need not stay open during recursion (one fd per level). */
struct names {
	char **v;
	size_t n, cap;
};

static void
names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
#define _cleanup_names_ __attribute__((cleanup(names_free)))

static int
list_dir(int dfd, const char *path, struct names *l, ferry_error_t *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_sys(err, "%s: open", shown(path));
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return ferry_error_sys(err, "%s: opendir", shown(path));
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == l->cap) {
			/* amortised growth: ferry_strv_append is quadratic */
			l->cap = l->cap ? 2 * l->cap : 32;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n++] = xstrdup(de->d_name);
	}
	if (errno != 0)
		return ferry_error_sys(err, "%s: readdir", shown(path));
	return 0;
}

/* ---- scan ---------------------------------------------------------------- */

struct scan {
	struct ferry_xfer_manifest *m;
	size_t cap;
	bool one_fs;
	dev_t dev;
	const char *const *ignore;
	size_t skipped;
};

static bool
ignored(const struct scan *s, const char *path)
{
	for (size_t i = 0; s->ignore && s->ignore[i]; i++)
		if (strcmp(s->ignore[i], path) == 0)
			return true;
	return false;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
scan_add(struct scan *s, int parent, const char *name, const char *path, const struct stat *st,
	 ferry_error_t *err)
{
	struct ferry_xfer_entry *e;
	_cleanup_free_ char *link = NULL;

	if (s->m->n >= FERRY_XFER_MAX_ENTRIES)
		return ferry_error_set(err, E2BIG, "%s: more than %u entries", shown(path), FERRY_XFER_MAX_ENTRIES);
	if (strlen(path) > FERRY_XFER_MAX_PATH)
		return ferry_error_set(err, ENAMETOOLONG, "%s: path longer than %d bytes", path, FERRY_XFER_MAX_PATH);
	if (S_ISREG(st->st_mode) && (uint64_t) st->st_size > FERRY_XFER_MAX_FILE)
		return ferry_error_set(err, EFBIG, "%s: larger than the transfer limit", path);
	if (S_ISLNK(st->st_mode)) {
		size_t cap = st->st_size > 0 && st->st_size < PATH_MAX ? (size_t) st->st_size + 1 : PATH_MAX;
		ssize_t n;

		link = xmalloc0(cap);
		n = readlinkat(parent, name, link, cap);
		if (n < 0)
			return ferry_error_sys(err, "%s: readlink", path);
		if ((size_t) n >= cap)
			return ferry_error_set(err, ENAMETOOLONG, "%s: symlink changed while read", path);
		link[n] = '\0';
	}
	if (s->m->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->m->v = xrealloc(s->m->v, s->cap * sizeof(*s->m->v));
	}
	e = &s->m->v[s->m->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->mode = (uint32_t) (st->st_mode & (S_IFMT | MODE_BITS));
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = S_ISREG(st->st_mode) ? (uint64_t) st->st_size : 0;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t) st->st_mtim.tv_nsec;
	e->link = steal_pointer(&link);
	s->m->total_bytes += e->size;
	return 0;
}

/* dfd is an open directory (owned by the caller); path its relative path. */
static int
scan_dir(struct scan *s, int dfd, const char *path, ferry_error_t *err)
{
	_cleanup_names_ struct names names = { 0 };

	if (list_dir(dfd, path, &names, err) < 0)
		return -1;
	/* sorted, so the manifest does not depend on the filesystem's order */
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), cmp_names);

	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		_cleanup_free_ char *child = path[0] ? xasprintf("%s/%s", path, name) : xstrdup(name);
		struct stat st;

		if (ignored(s, child))
			continue;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed while we walked */
			return ferry_error_sys(err, "%s: stat", child);
		}
		if (!type_ok(st.st_mode)) {
			s->skipped++;
			continue;
		}
		if (scan_add(s, dfd, name, child, &st, err) < 0)
			return -1;
		/* A mount point is listed (the receiver needs the directory to
		 * mount on) but, with one_fs, not descended into. */
		if (S_ISDIR(st.st_mode) && !(s->one_fs && st.st_dev != s->dev)) {
			_cleanup_close_ int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0)
				return ferry_error_sys(err, "%s: open", child);
			if (scan_dir(s, cfd, child, err) < 0)
				return -1;
		}
	}
	return 0;
}

int
ferry_xfer_scan(int dirfd, bool one_fs, const char *const *ignore, struct ferry_xfer_manifest *m, size_t *skipped,
		ferry_error_t *err)
{
	struct scan s = { .m = m, .one_fs = one_fs, .ignore = ignore };
	struct stat st;

	memset(m, 0, sizeof(*m));
	if (fstat(dirfd, &st) < 0)
		return ferry_error_sys(err, "scan: stat");
	if (!S_ISDIR(st.st_mode))
		return ferry_error_set(err, ENOTDIR, "scan: not a directory");
	s.dev = st.st_dev;
	if (scan_add(&s, dirfd, ".", "", &st, err) < 0 || scan_dir(&s, dirfd, "", err) < 0) {
		ferry_xfer_manifest_free(m);
		return ferry_error_prefix(err, "scan");
	}
	if (skipped)
		*skipped = s.skipped;
	return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

json_t *
ferry_xfer_manifest_to_json(const struct ferry_xfer_manifest *m)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < m->n; i++) {
		const struct ferry_xfer_entry *e = &m->v[i];
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "p", e->path, "m", (json_int_t) e->mode,
				      "u", (json_int_t) e->uid, "g", (json_int_t) e->gid, "s", (json_int_t) e->size,
				      "t", (json_int_t) e->mtime_sec, "n", (json_int_t) e->mtime_nsec);

		if (o == NULL) {
			json_decref(arr);
			return NULL;
		}
		if (e->link)
			json_object_set_new(o, "l", json_string(e->link));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:o}", "entries", arr);
}

static int
get_int(const json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t *out, const char *what,
	ferry_error_t *err)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL)
		return ferry_error_set(err, 0, "%s: missing \"%s\"", what, key);
	if (!json_is_integer(v))
		return ferry_error_set(err, 0, "%s: \"%s\" is not an integer", what, key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return ferry_error_set(err, 0, "%s: \"%s\" out of range (%lld)", what, key, (long long) *out);
	return 0;
}

static int
entry_from_json(const json_t *o, size_t i, struct ferry_xfer_entry *e, ferry_error_t *err)
{
	char what[64];
	const char *key;
	const json_t *v, *p, *l;
	json_int_t x;

	snprintf(what, sizeof(what), "entries[%zu]", i);
	if (!json_is_object(o))
		return ferry_error_set(err, 0, "%s: not an object", what);
	/* Unknown keys are refused: both ends are the same program, and a key
	 * we do not know could carry meaning we would silently drop. */
	json_object_foreach ((json_t *) o, key, v) {
		if (strcmp(key, "p") && strcmp(key, "m") && strcmp(key, "u") && strcmp(key, "g") && strcmp(key, "s") &&
		    strcmp(key, "t") && strcmp(key, "n") && strcmp(key, "l"))
			return ferry_error_set(err, 0, "%s: unknown key \"%s\"", what, key);
	}
	p = json_object_get(o, "p");
	if (!json_is_string(p))
		return ferry_error_set(err, 0, "%s: \"p\" missing or not a string", what);
	if (json_string_length(p) != strlen(json_string_value(p)) || !ferry_xfer_path_ok(json_string_value(p)))
		return ferry_error_set(err, 0, "%s: \"%.200s\": refused: not a relative path below the destination",
				       what, json_string_value(p));
	snprintf(what, sizeof(what), "%.60s", shown(json_string_value(p)));
	e->path = xstrdup(json_string_value(p));

	if (get_int(o, "m", 0, UINT32_MAX, &x, e->path, err) < 0)
		return -1;
	e->mode = (uint32_t) x;
	if (!type_ok(e->mode) || (e->mode & ~(uint32_t) (S_IFMT | MODE_BITS)) != 0)
		return ferry_error_set(err, 0, "%s: refused: mode 0%o is not a regular file, directory or symlink",
				       e->path[0] ? e->path : ".", e->mode);
	if (get_int(o, "u", 0, UINT32_MAX - 1, &x, e->path, err) < 0)
		return -1;
	e->uid = (uint32_t) x;
	if (get_int(o, "g", 0, UINT32_MAX - 1, &x, e->path, err) < 0)
		return -1;
	e->gid = (uint32_t) x;
	if (get_int(o, "s", 0, (json_int_t) FERRY_XFER_MAX_FILE, &x, e->path, err) < 0)
		return -1;
	e->size = (uint64_t) x;
	if (!S_ISREG(e->mode) && e->size != 0)
		return ferry_error_set(err, 0, "%s: size on an entry that is not a regular file", shown(e->path));
	if (get_int(o, "t", INT64_MIN, INT64_MAX, &x, e->path, err) < 0)
		return -1;
	e->mtime_sec = x;
	if (get_int(o, "n", 0, 999999999, &x, e->path, err) < 0)
		return -1;
	e->mtime_nsec = (uint32_t) x;

	l = json_object_get(o, "l");
	if (S_ISLNK(e->mode)) {
		if (!json_is_string(l))
			return ferry_error_set(err, 0, "%s: symlink without a string \"l\"", shown(e->path));
		if (json_string_length(l) == 0 || json_string_length(l) > FERRY_XFER_MAX_PATH ||
		    json_string_length(l) != strlen(json_string_value(l)))
			return ferry_error_set(err, 0, "%s: symlink target empty, too long or with a NUL", e->path);
		e->link = xstrdup(json_string_value(l));
	} else if (l != NULL) {
		return ferry_error_set(err, 0, "%s: \"l\" on an entry that is not a symlink", shown(e->path));
	}
	return 0;
}

static void
parent_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t) (slash - path) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
}

/*
 * What every manifest from a peer must be, however it arrived (JSON from the
 * network, or fields from the unprivileged process): entries within the
 * limits, each a regular file, directory or symlink with a confined path,
 * the top directory first, every other entry after its parent directory,
 * no path twice.  Recomputes total_bytes.
 */
int
ferry_xfer_manifest_check(struct ferry_xfer_manifest *m, ferry_error_t *err)
{
	_cleanup_pathset_ struct pathset set = { 0 };

	if (m->n == 0 || m->n > FERRY_XFER_MAX_ENTRIES)
		return ferry_error_set(err, E2BIG, "manifest: %zu entries (1 to %u allowed)", m->n, FERRY_XFER_MAX_ENTRIES);
	m->total_bytes = 0;
	pathset_init(&set, m->n);
	for (size_t i = 0; i < m->n; i++) {
		const struct ferry_xfer_entry *e = &m->v[i];
		char parent[FERRY_XFER_MAX_PATH + 1];
		size_t pi;

		if (e->path == NULL || !ferry_xfer_path_ok(e->path))
			return ferry_error_set(err, 0, "manifest: entries[%zu]: refused: not a relative path below the "
						       "destination", i);
		if (!type_ok(e->mode) || (e->mode & ~(uint32_t) (S_IFMT | MODE_BITS)) != 0 || e->uid == UINT32_MAX ||
		    e->gid == UINT32_MAX || e->size > FERRY_XFER_MAX_FILE || (!S_ISREG(e->mode) && e->size != 0) ||
		    e->mtime_nsec > 999999999 || (S_ISLNK(e->mode) != (e->link != NULL)) ||
		    (e->link && (e->link[0] == '\0' || strlen(e->link) > FERRY_XFER_MAX_PATH)))
			return ferry_error_set(err, 0, "manifest: %s: refused: not a valid file, directory or symlink entry",
					       shown(e->path));
		if (i == 0) {
			if (e->path[0] != '\0' || !S_ISDIR(e->mode))
				return ferry_error_set(err, 0, "manifest: %s: the first entry must be the top directory \"\"",
						       shown(e->path));
		} else {
			if (e->path[0] == '\0')
				return ferry_error_set(err, 0,
						       "manifest: entries[%zu]: refused: duplicate entry for the top directory", i);
			parent_of(e->path, parent, sizeof(parent));
			pi = pathset_get(&set, parent);
			if (pi == SIZE_MAX)
				return ferry_error_set(err, 0, "manifest: %s: refused: listed before its parent directory",
						       e->path);
			if (!S_ISDIR(m->v[pi].mode))
				return ferry_error_set(err, 0, "manifest: %s: refused: parent %s is not a directory", e->path,
						       shown(m->v[pi].path));
		}
		if (!pathset_add(&set, e->path, i))
			return ferry_error_set(err, 0, "manifest: %s: refused: duplicate entry", shown(e->path));
		m->total_bytes += e->size;
	}
	return 0;
}

int
ferry_xfer_manifest_from_json(const json_t *j, struct ferry_xfer_manifest *m, ferry_error_t *err)
{
	struct ferry_xfer_manifest out = { 0 };
	const json_t *arr;
	const char *key;
	const json_t *v;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j))
		return ferry_error_set(err, 0, "manifest: not an object");
	json_object_foreach ((json_t *) j, key, v) {
		if (strcmp(key, "entries") != 0)
			return ferry_error_set(err, 0, "manifest: unknown key \"%s\"", key);
	}
	arr = json_object_get(j, "entries");
	if (!json_is_array(arr))
		return ferry_error_set(err, 0, "manifest: \"entries\" missing or not an array");
	n = json_array_size(arr);
	/* The limit comes before any allocation sized by the peer. */
	if (n > FERRY_XFER_MAX_ENTRIES)
		return ferry_error_set(err, E2BIG, "manifest: %zu entries, more than the limit of %u", n,
				       FERRY_XFER_MAX_ENTRIES);
	if (n == 0)
		return ferry_error_set(err, 0, "manifest: no entries (the top directory must be listed)");

	out.v = xmalloc0(n * sizeof(*out.v));
	for (size_t i = 0; i < n; i++) {
		out.n = i + 1; /* so that free() sees what this entry owns */
		if (entry_from_json(json_array_get(arr, i), i, &out.v[i], err) < 0)
			goto fail;
	}
	if (ferry_xfer_manifest_check(&out, err) < 0) {
		ferry_xfer_manifest_free(&out);
		return -1;
	}
	*m = out;
	return 0;
fail:
	ferry_xfer_manifest_free(&out);
	return ferry_error_prefix(err, "manifest");
}

/* ---- receiver --------------------------------------------------------------- */

static bool
same_mtime(const struct stat *st, const struct ferry_xfer_entry *e)
{
	return st->st_mtim.tv_sec == e->mtime_sec && st->st_mtim.tv_nsec == (long) e->mtime_nsec;
}

static struct timespec
entry_time(const struct ferry_xfer_entry *e)
{
	return (struct timespec) { .tv_sec = (time_t) e->mtime_sec, .tv_nsec = (long) e->mtime_nsec };
}

/* Owner first, then mode: chown clears setuid/setgid bits. */
static int
fix_fd(int fd, const struct ferry_xfer_entry *e, ferry_error_t *err)
{
	if (fchown(fd, e->uid, e->gid) < 0)
		return ferry_error_sys(err, "%s: chown %u:%u", shown(e->path), e->uid, e->gid);
	if (fchmod(fd, e->mode & MODE_BITS) < 0)
		return ferry_error_sys(err, "%s: chmod 0%o", shown(e->path), e->mode & MODE_BITS);
	return 0;
}

/* Makes the directory entry e exist below parent as a directory with e's
 * owner and mode; returns an fd on it. */
static int
ensure_dir(int parent, const char *name, const struct ferry_xfer_entry *e, ferry_error_t *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (e->path[0] == '\0') {
		fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
			/* a symlink here is replaced, never followed */
			if (remove_at(parent, name, e->path, err) < 0)
				return -1;
		}
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
			return ferry_error_sys(err, "%s: mkdir", e->path);
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return ferry_error_sys(err, "%s: open directory", shown(e->path));
	if (fstat(fd, &st) < 0)
		return ferry_error_sys(err, "%s: stat", shown(e->path));
	if (st.st_uid != e->uid || st.st_gid != e->gid || (st.st_mode & MODE_BITS) != (e->mode & MODE_BITS))
		if (fix_fd(fd, e, err) < 0)
			return -1;
	return steal_fd(&fd);
}

static int
ensure_symlink(int parent, const char *name, const struct ferry_xfer_entry *e, ferry_error_t *err)
{
	struct timespec ts[2];
	struct stat st;
	bool make = true;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode) && (size_t) st.st_size == strlen(e->link)) {
			char buf[FERRY_XFER_MAX_PATH + 2];
			ssize_t n = readlinkat(parent, name, buf, sizeof(buf));

			make = !(n >= 0 && (size_t) n == strlen(e->link) && memcmp(buf, e->link, (size_t) n) == 0);
		}
		if (make && remove_at(parent, name, e->path, err) < 0)
			return -1;
		if (!make && st.st_uid == e->uid && st.st_gid == e->gid && same_mtime(&st, e))
			return 0;
	} else if (errno != ENOENT) {
		return ferry_error_sys(err, "%s: stat", e->path);
	}
	if (make && symlinkat(e->link, parent, name) < 0)
		return ferry_error_sys(err, "%s: symlink", e->path);
	if (fchownat(parent, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return ferry_error_sys(err, "%s: chown %u:%u", e->path, e->uid, e->gid);
	ts[0] = ts[1] = entry_time(e);
	if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return ferry_error_sys(err, "%s: set mtime", e->path);
	return 0;
}

/* Regular file: true in *need when its content must be sent.  A file whose
 * content is current but whose owner or mode differ is fixed in place. */
static int
check_file(int parent, const char *name, const struct ferry_xfer_entry *e, bool *need, ferry_error_t *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	*need = true;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return ferry_error_sys(err, "%s: stat", e->path);
	}
	if (!S_ISREG(st.st_mode))
		return remove_at(parent, name, e->path, err);
	if ((uint64_t) st.st_size != e->size || !same_mtime(&st, e))
		return 0;
	*need = false;
	if (st.st_uid == e->uid && st.st_gid == e->gid && (st.st_mode & MODE_BITS) == (e->mode & MODE_BITS))
		return 0;
	/* O_NONBLOCK|O_NOFOLLOW: it could have been swapped for a fifo or a
	 * symlink since the stat; the fstat below catches that. */
	fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_sys(err, "%s: open", e->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return ferry_error_set(err, 0, "%s: changed while being checked", e->path);
	return fix_fd(fd, e, err);
}

/* Removes the children of the directory dfd (entry path) that want does
 * not list. */
static int
prune_dir(int dfd, const char *path, const struct pathset *set, ferry_error_t *err)
{
	_cleanup_names_ struct names names = { 0 };

	if (list_dir(dfd, path, &names, err) < 0)
		return -1;
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_free_ char *child = path[0] ? xasprintf("%s/%s", path, names.v[i]) : xstrdup(names.v[i]);

		if (pathset_get(set, child) != SIZE_MAX)
			continue;
		pr_debug("prune %s", child);
		if (remove_at(dfd, names.v[i], child, err) < 0)
			return -1;
	}
	return 0;
}

int
ferry_xfer_finish_dirs(int dirfd, const struct ferry_xfer_manifest *want, ferry_error_t *err)
{
	/* Deepest first: setting a directory's times does not change its
	 * parent's, but creating anything in it does, so every creation must
	 * be over before this runs. */
	for (size_t i = want->n; i-- > 0;) {
		const struct ferry_xfer_entry *e = &want->v[i];
		_cleanup_close_ int parent = -1;
		_cleanup_close_ int fd = -1;
		struct timespec ts[2];
		const char *last;

		if (!S_ISDIR(e->mode))
			continue;
		parent = open_parent(dirfd, e->path, &last, err);
		if (parent < 0)
			return -1;
		fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ferry_error_sys(err, "%s: open directory", shown(e->path));
		ts[0] = ts[1] = entry_time(e);
		if (futimens(fd, ts) < 0)
			return ferry_error_sys(err, "%s: set mtime", shown(e->path));
	}
	return 0;
}

int
ferry_xfer_prepare(int dirfd, const struct ferry_xfer_manifest *want, bool prune, size_t **need, size_t *n_need,
		   uint64_t *need_bytes, ferry_error_t *err)
{
	_cleanup_pathset_ struct pathset set = { 0 };
	_cleanup_free_ size_t *list = NULL;
	size_t n = 0;
	uint64_t bytes = 0;

	*need = NULL;
	*n_need = 0;
	*need_bytes = 0;
	if (prune)
		pathset_build(&set, want);
	list = xmalloc0((want->n ? want->n : 1) * sizeof(*list));
	/* Pre-order: a parent is settled as a real directory before anything
	 * is made in it, and open_parent() refuses anything else. */
	for (size_t i = 0; i < want->n; i++) {
		const struct ferry_xfer_entry *e = &want->v[i];
		_cleanup_close_ int parent = -1;
		const char *last;
		bool needed;

		if (!type_ok(e->mode))
			return ferry_error_set(err, 0, "%s: refused: not a regular file, directory or symlink",
					       shown(e->path));
		/* from_json guarantees this; a hand-built manifest must not
		 * make us "replace" the destination itself by its contents */
		if (e->path[0] == '\0' && !S_ISDIR(e->mode))
			return ferry_error_set(err, 0, ".: refused: the top entry must be a directory");
		parent = open_parent(dirfd, e->path, &last, err);
		if (parent < 0)
			return -1;
		if (S_ISDIR(e->mode)) {
			_cleanup_close_ int fd = ensure_dir(parent, last, e, err);

			if (fd < 0 || (prune && prune_dir(fd, e->path, &set, err) < 0))
				return -1;
		} else if (S_ISLNK(e->mode)) {
			if (ensure_symlink(parent, last, e, err) < 0)
				return -1;
		} else {
			if (check_file(parent, last, e, &needed, err) < 0)
				return -1;
			if (needed) {
				list[n++] = i;
				bytes += e->size;
			}
		}
	}
	if (ferry_xfer_finish_dirs(dirfd, want, err) < 0)
		return -1;
	*need = steal_pointer(&list);
	*n_need = n;
	*need_bytes = bytes;
	return 0;
}

static bool
entry_equal(const struct ferry_xfer_entry *a, const struct ferry_xfer_entry *b)
{
	if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid || a->mtime_sec != b->mtime_sec ||
	    a->mtime_nsec != b->mtime_nsec)
		return false;
	if (S_ISREG(a->mode) && a->size != b->size)
		return false;
	if (S_ISLNK(a->mode) && (a->link == NULL || b->link == NULL || strcmp(a->link, b->link) != 0))
		return false;
	return true;
}

int
ferry_xfer_matches(int dirfd, const struct ferry_xfer_manifest *want, bool *matches, ferry_error_t *err)
{
	_cleanup_manifest_ struct ferry_xfer_manifest have = { 0 };
	_cleanup_pathset_ struct pathset set = { 0 };
	size_t skipped = 0;

	*matches = false;
	if (ferry_xfer_scan(dirfd, false, NULL, &have, &skipped, err) < 0)
		return -1;
	if (skipped != 0 || have.n != want->n)
		return 0;
	pathset_build(&set, want);
	for (size_t i = 0; i < have.n; i++) {
		size_t wi = pathset_get(&set, have.v[i].path);

		if (wi == SIZE_MAX || !entry_equal(&have.v[i], &want->v[wi]))
			return 0;
	}
	*matches = true;
	return 0;
}

int
ferry_xfer_recv_open(int dirfd, const struct ferry_xfer_entry *e, ferry_error_t *err)
{
	_cleanup_close_ int parent = -1;
	const char *last;
	int fd;

	if (!S_ISREG(e->mode))
		return ferry_error_set(err, 0, "%s: not a regular file", shown(e->path));
	if (e->path[0] == '\0')
		return ferry_error_set(err, 0, "the top directory cannot be a file");
	parent = open_parent(dirfd, e->path, &last, err);
	if (parent < 0)
		return -1;
	/*
	 * Whatever is there goes first, and the file is created with O_EXCL:
	 * truncating an existing file in place would write through a hard
	 * link planted in the destination into a file outside it.
	 */
	if (unlinkat(parent, last, 0) < 0 && errno != ENOENT) {
		if (errno != EISDIR && errno != EPERM)
			return ferry_error_sys(err, "%s: remove the old entry", e->path);
		if (remove_at(parent, last, e->path, err) < 0)
			return -1;
	}
	fd = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_error_sys(err, "%s: create", e->path);
	return fd;
}

int
ferry_xfer_recv_finish(int fd, const struct ferry_xfer_entry *e, uint64_t written, ferry_error_t *err)
{
	struct timespec ts[2];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ferry_error_sys(err, "%s: stat", e->path);
	if (!S_ISREG(st.st_mode))
		return ferry_error_set(err, 0, "%s: not a regular file", e->path);
	if (written != e->size || (uint64_t) st.st_size != e->size)
		return ferry_error_set(err, 0, "%s: received %" PRIu64 " bytes (file has %lld), expected %" PRIu64,
				       e->path, written, (long long) st.st_size, e->size);
	if (fix_fd(fd, e, err) < 0)
		return -1;
	ts[0] = ts[1] = entry_time(e);
	if (futimens(fd, ts) < 0)
		return ferry_error_sys(err, "%s: set mtime", e->path);
	return 0;
}

int
ferry_xfer_send_open(int dirfd, const struct ferry_xfer_entry *e, ferry_error_t *err)
{
	_cleanup_close_ int parent = -1;
	_cleanup_close_ int fd = -1;
	const char *last;
	struct stat st;

	if (!S_ISREG(e->mode) || e->path[0] == '\0')
		return ferry_error_set(err, 0, "%s: not a regular file", shown(e->path));
	parent = open_parent(dirfd, e->path, &last, err);
	if (parent < 0)
		return -1;
	/* O_NONBLOCK: opening a fifo swapped in since the scan must not hang. */
	fd = openat(parent, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_sys(err, "%s: open", e->path);
	if (fstat(fd, &st) < 0)
		return ferry_error_sys(err, "%s: stat", e->path);
	if (!S_ISREG(st.st_mode))
		return ferry_error_set(err, 0, "%s: no longer a regular file", e->path);
	if (fcntl(fd, F_SETFL, 0) < 0)
		return ferry_error_sys(err, "%s: fcntl", e->path);
	return steal_fd(&fd);
}
