/* SPDX-License-Identifier: GPL-2.0-or-later */
#define LOG_PREFIX "state: "
#include "state.h"

#include <errno.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "log.h"
#include "util.h"

#define STATE_FILE "state.json"
#define LOCK_FILE "lock"
#define FIFO_FILE "exec.fifo"
#define STATE_MAX_SIZE (4u << 20)

static const char *const status_names[] = {
	[FERRY_STATUS_CREATING] = "creating", [FERRY_STATUS_CREATED] = "created", [FERRY_STATUS_RUNNING] = "running",
	[FERRY_STATUS_PAUSED] = "paused",     [FERRY_STATUS_STOPPED] = "stopped",
};

const char *
ferry_status_name(enum ferry_status s)
{
	return status_names[s];
}

int
ferry_state_root_open(const ferry_ctx_t *ctx, bool create, int *out, ferry_error_t *err)
{
	int fd;

	if (create) {
		if (ferry_mkdir_p(ctx->state_root, 0700, err) < 0)
			return ferry_error_prefix(err, "state root");
	}
	fd = open(ctx->state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ferry_error_sys(err, "open state root %s", ctx->state_root);
	*out = fd;
	return 0;
}

/* Only the create makes the lock file, in the directory it has just
 * made. A delete removes the lock file before the directory: another
 * command that got into the directory in between and made a new lock file
 * would hold a lock of its own, not the delete's, and leave the delete a
 * directory it cannot remove. Without the file, the container is gone. */
static int
lock_dir(struct ferry_container_dir *d, bool create, ferry_error_t *err)
{
	struct stat st;

	d->lock_fd = openat(d->dir_fd, LOCK_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0),
			    0600);
	if (d->lock_fd < 0) {
		if (errno == ENOENT)
			return ferry_error_set(err, ENOENT, "container \"%s\" does not exist", d->id);
		return ferry_error_sys(err, "lock container %s", d->id);
	}
	while (flock(d->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return ferry_error_sys(err, "lock container %s", d->id);
	}
	/* A delete that held the lock before us removed the directory:
	 * an unlinked directory has no links left. */
	if (fstat(d->dir_fd, &st) < 0)
		return ferry_error_sys(err, "stat container %s", d->id);
	if (st.st_nlink == 0)
		return ferry_error_set(err, ENOENT, "container \"%s\" does not exist", d->id);
	return 0;
}

static int
dir_init(const ferry_ctx_t *ctx, const char *id, struct ferry_container_dir *d, bool create, ferry_error_t *err)
{
	d->root_fd = d->dir_fd = d->lock_fd = -1;
	d->id = NULL;
	d->path = NULL;
	if (!ferry_id_valid(id))
		return ferry_error_set(err, EINVAL,
				       "invalid container id \"%s\" (expected letters, digits and _.+- "
				       "not starting with a punctuation mark, at most 1024 bytes)",
				       id);
	if (ferry_state_root_open(ctx, create, &d->root_fd, err) < 0)
		return -1;
	d->id = xstrdup(id);
	d->path = xasprintf("%s/%s", ctx->state_root, id);
	return 0;
}

int
ferry_container_dir_create(const ferry_ctx_t *ctx, const char *id, struct ferry_container_dir *d,
			   ferry_error_t *err)
{
	if (dir_init(ctx, id, d, true, err) < 0)
		goto fail;
	if (mkdirat(d->root_fd, id, 0700) < 0) {
		if (errno == EEXIST)
			ferry_error_set(err, EEXIST, "container \"%s\" already exists", id);
		else
			ferry_error_sys(err, "create state directory %s", d->path);
		goto fail;
	}
	d->dir_fd = openat(d->root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (d->dir_fd < 0 || lock_dir(d, true, err) < 0) {
		if (d->dir_fd < 0)
			ferry_error_sys(err, "open state directory %s", d->path);
		unlinkat(d->root_fd, id, AT_REMOVEDIR);
		goto fail;
	}
	return 0;
fail:
	ferry_container_dir_close(d);
	return -1;
}

int
ferry_container_dir_open(const ferry_ctx_t *ctx, const char *id, struct ferry_container_dir *d, ferry_error_t *err)
{
	if (dir_init(ctx, id, d, false, err) < 0) {
		if (err->errno_ == ENOENT)
			ferry_error_set(err, ENOENT, "container \"%s\" does not exist", id);
		goto fail;
	}
	d->dir_fd = openat(d->root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (d->dir_fd < 0) {
		if (errno == ENOENT)
			ferry_error_set(err, ENOENT, "container \"%s\" does not exist", id);
		else
			ferry_error_sys(err, "open state directory %s", d->path);
		goto fail;
	}
	if (lock_dir(d, false, err) < 0)
		goto fail;
	return 0;
fail:
	ferry_container_dir_close(d);
	return -1;
}

int
ferry_container_dir_remove(struct ferry_container_dir *d, ferry_error_t *err)
{
	int ret;

	/* A restore that died left its bind of the rootfs (restore.c's
	 * criu-root) here: detach it, the removal does not cross mounts. */
	if (d->path) {
		_cleanup_free_ char *cr = xasprintf("%s/criu-root", d->path);
		umount2(cr, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	ret = ferry_rm_rf_at(d->root_fd, d->id, err);

	ferry_container_dir_close(d);
	return ret;
}

void
ferry_container_dir_close(struct ferry_container_dir *d)
{
	ferry_closep(&d->lock_fd);
	ferry_closep(&d->dir_fd);
	ferry_closep(&d->root_fd);
	free(d->id);
	free(d->path);
	d->id = d->path = NULL;
}

static json_t *
annotations_json(const struct ferry_state *st)
{
	json_t *a = json_object();

	for (size_t i = 0; i < st->n_annotations; i++)
		json_object_set_new(a, st->annotations[i].key, json_string(st->annotations[i].value));
	return a;
}

int
ferry_state_write(const struct ferry_container_dir *d, const struct ferry_state *st, ferry_error_t *err)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:b}", "id", st->id, "pid", (json_int_t) st->pid,
			      "init_start_time", (json_int_t) st->start_time, "bundle", st->bundle ? st->bundle : "",
			      "rootfs", st->rootfs ? st->rootfs : "", "created", st->created ? st->created : "",
			      "owner", st->owner ? st->owner : "", "cgroup_path", st->cgroup_path ? st->cgroup_path : "",
			      "host_pid_ns", st->host_pid_ns);
	_cleanup_free_ char *text = NULL;
	int ret;

	if (j == NULL)
		return ferry_error_set(err, ENOMEM, "encode state of %s", st->id);
	if (st->restored_from)
		json_object_set_new(j, "restored_from", json_string(st->restored_from));
	json_object_set_new(j, "annotations", annotations_json(st));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return ferry_error_set(err, ENOMEM, "encode state of %s", st->id);
	ret = ferry_write_file_replace_at(d->dir_fd, STATE_FILE, text, strlen(text), 0600, err);
	if (ret < 0)
		return ferry_error_prefix(err, "write state of %s", st->id);
	return 0;
}

static char *
dup_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? xstrdup(s) : NULL;
}

int
ferry_state_read(const struct ferry_container_dir *d, struct ferry_state **out, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	struct ferry_state *st;
	json_error_t jerr;
	json_t *j, *ann;
	const char *k;
	json_t *v;

	if (ferry_read_file_at(d->dir_fd, STATE_FILE, STATE_MAX_SIZE, &text, NULL, err) < 0)
		return ferry_error_prefix(err, "container \"%s\"", d->id);
	/* Written without fsync (ferry_write_file_replace_at): after a power
	 * failure it can be empty, which says no more than a missing one. */
	if (*text == '\0')
		return ferry_error_set(err, ENOENT, "container \"%s\": %s/%s is empty", d->id, d->path, STATE_FILE);
	j = json_loads(text, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return ferry_error_set(err, EINVAL, "container \"%s\": %s/%s is corrupt: %s", d->id, d->path,
				       STATE_FILE, jerr.text);
	}
	st = xmalloc0(sizeof(*st));
	st->id = xstrdup(d->id);
	st->pid = (pid_t) json_integer_value(json_object_get(j, "pid"));
	st->start_time = (uint64_t) json_integer_value(json_object_get(j, "init_start_time"));
	st->bundle = dup_str(j, "bundle");
	st->rootfs = dup_str(j, "rootfs");
	st->created = dup_str(j, "created");
	st->owner = dup_str(j, "owner");
	st->cgroup_path = dup_str(j, "cgroup_path");
	st->restored_from = dup_str(j, "restored_from");
	st->host_pid_ns = json_is_true(json_object_get(j, "host_pid_ns"));
	ann = json_object_get(j, "annotations");
	if (json_is_object(ann)) {
		st->annotations = xmalloc0(sizeof(*st->annotations) * (json_object_size(ann) + 1));
		json_object_foreach(ann, k, v)
		{
			if (!json_is_string(v))
				continue;
			st->annotations[st->n_annotations].key = xstrdup(k);
			st->annotations[st->n_annotations].value = xstrdup(json_string_value(v));
			st->n_annotations++;
		}
	}
	json_decref(j);
	*out = st;
	return 0;
}

void
ferry_state_free(struct ferry_state *st)
{
	if (st == NULL)
		return;
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	free(st->cgroup_path);
	free(st->restored_from);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	free(st);
}

void
ferry_state_freep(struct ferry_state **st)
{
	ferry_state_free(*st);
	*st = NULL;
}

bool
ferry_state_init_alive(const struct ferry_state *st)
{
	uint64_t start = 0;
	char c = 0;

	if (st->pid <= 0 || ferry_proc_stat(st->pid, &c, &start) < 0)
		return false;
	/* The pid may have been reused by an unrelated process since; a
	 * zombie has exited, its parent just has not reaped it. */
	return start == st->start_time && c != 'Z' && c != 'X';
}

enum ferry_status
ferry_state_status(const struct ferry_container_dir *d, const struct ferry_state *st)
{
	_cleanup_cgroup_ ferry_cgroup_t *cg = NULL;
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	struct stat sb;
	bool frozen = false;

	if (!ferry_state_init_alive(st))
		return FERRY_STATUS_STOPPED;
	if (fstatat(d->dir_fd, FIFO_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return FERRY_STATUS_CREATED;
	if (st->cgroup_path && ferry_cgroup_open(st->cgroup_path, &cg, &err) == 0 &&
	    ferry_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen)
		return FERRY_STATUS_PAUSED;
	return FERRY_STATUS_RUNNING;
}

static json_t *
state_json(const struct ferry_state *st, enum ferry_status status)
{
	json_t *j = json_object();
	bool has_pid = status != FERRY_STATUS_STOPPED;

	json_object_set_new(j, "ociVersion", json_string("1.2.0"));
	json_object_set_new(j, "id", json_string(st->id));
	json_object_set_new(j, "pid", json_integer(has_pid ? st->pid : 0));
	json_object_set_new(j, "status", json_string(ferry_status_name(status)));
	json_object_set_new(j, "bundle", json_string(st->bundle ? st->bundle : ""));
	json_object_set_new(j, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
	json_object_set_new(j, "created", json_string(st->created ? st->created : ""));
	json_object_set_new(j, "owner", json_string(st->owner ? st->owner : ""));
	if (st->n_annotations)
		json_object_set_new(j, "annotations", annotations_json(st));
	return j;
}

char *
ferry_state_to_json(const struct ferry_state *st, enum ferry_status status)
{
	json_t *j = state_json(st, status);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(j);
	return s;
}

char *
ferry_state_hook_json(const struct ferry_state *st, enum ferry_status status)
{
	json_t *j = state_json(st, status);
	char *s;

	/* The OCI state for hooks has no owner/created; extra fields are
	 * allowed, but keep it to the spec's. */
	json_object_del(j, "owner");
	json_object_del(j, "created");
	json_object_set_new(j, "ociVersion", json_string("1.2.0"));
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

char *
ferry_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}
