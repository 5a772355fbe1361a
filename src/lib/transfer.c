/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transfer.h"
#include "util.h"
#include "wire.h"

int
ferry_transfer_send_tree(ferry_tls_t *t, int dirfd, const char *tree, bool final, const char *const *ignore,
			 ferry_transfer_progress_fn progress, void *progress_data, struct ferry_transfer_stats *st,
			 ferry_error_t *err)
{
	_cleanup_manifest_ struct ferry_xfer_manifest m = { 0 };
	_cleanup_free_ char *buf = NULL;
	json_t *msg, *need = NULL, *files;
	size_t skipped = 0, i;
	json_t *v;
	int64_t need_bytes = 0;
	uint64_t done = 0;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (ferry_xfer_scan(dirfd, true, ignore, &m, &skipped, err) < 0)
		return ferry_error_prefix(err, "%s", tree);
	st->entries = m.n;
	st->total_bytes = m.total_bytes;
	msg = json_pack("{s:s, s:b, s:o}", "tree", tree, "final", final, "manifest", ferry_xfer_manifest_to_json(&m));
	if (msg == NULL)
		return ferry_error_set(err, ENOMEM, "%s: manifest", tree);
	ret = ferry_wire_send_json(t, FERRY_MSG_MANIFEST, msg, err);
	json_decref(msg);
	if (ret < 0)
		return -1;
	ret = -1;
	if (ferry_wire_expect(t, FERRY_MSG_NEED, "destination", &need, err) < 0)
		return ferry_error_prefix(err, "%s", tree);
	files = json_object_get(need, "files");
	if (!json_is_array(files) || ferry_wire_get_int(need, "bytes", false, 0, INT64_MAX, &need_bytes, err) < 0) {
		ferry_error_set(err, EPROTO, "%s: NEED without a file list", tree);
		goto out;
	}
	buf = malloc(FERRY_WIRE_CHUNK);
	if (buf == NULL) {
		ferry_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach (files, i, v) {
		json_int_t idx = json_is_integer(v) ? json_integer_value(v) : -1;
		const struct ferry_xfer_entry *e;
		_cleanup_close_ int fd = -1;
		uint64_t off = 0;

		if (idx < 0 || (size_t) idx >= m.n || !S_ISREG(m.v[idx].mode)) {
			ferry_error_set(err, EPROTO, "%s: the destination asked for entry %" JSON_INTEGER_FORMAT
						     ", which is not a file of the manifest",
					tree, (json_int_t) idx);
			goto out;
		}
		e = &m.v[idx];
		fd = ferry_xfer_send_open(dirfd, e, err);
		if (fd < 0) {
			ferry_error_prefix(err, "%s", tree);
			goto out;
		}
		/* A file that changed size since the scan is sent as it was
		 * scanned: the receiver checks the size, and a writable tree
		 * is synced again, frozen, before the restore. */
		do {
			size_t want = e->size - off < FERRY_WIRE_CHUNK ? (size_t) (e->size - off) : FERRY_WIRE_CHUNK;
			ssize_t n = want ? pread(fd, buf, want, (off_t) off) : 0;
			if (n < 0) {
				ferry_error_sys(err, "%s: read %s", tree, e->path);
				goto out;
			}
			if (n == 0 && want) {
				/* Shrunk meanwhile: pad, the final sync fixes it. */
				memset(buf, 0, want);
				n = (ssize_t) want;
			}
			if (ferry_wire_send_file_data(t, (uint32_t) idx, off, buf, (size_t) n, err) < 0)
				goto out;
			off += (uint64_t) n;
			done += (uint64_t) n;
			if (progress)
				progress(done, (uint64_t) need_bytes, progress_data);
		} while (off < e->size);
		st->files++;
	}
	st->bytes = done;
	msg = json_pack("{s:I, s:I}", "files", (json_int_t) st->files, "bytes", (json_int_t) done);
	ret = ferry_wire_send_json(t, FERRY_MSG_FILES_DONE, msg, err);
	json_decref(msg);
	if (ret < 0)
		goto out;
	ret = ferry_wire_expect(t, FERRY_MSG_SYNCED, "destination", NULL, err);
	if (ret < 0)
		ferry_error_prefix(err, "%s", tree);
out:
	json_decref(need);
	return ret;
}

/* The sink that writes into a directory this process opened. */
struct dir_sink {
	int dirfd;
	bool prune;
	uint64_t max_bytes;
};

static int
dir_prepare(void *data, const struct ferry_xfer_manifest *m, size_t **need, size_t *n_need, uint64_t *need_bytes,
	    ferry_error_t *err)
{
	struct dir_sink *d = data;

	if (ferry_xfer_prepare(d->dirfd, m, d->prune, need, n_need, need_bytes, err) < 0)
		return -1;
	if (d->max_bytes && *need_bytes > d->max_bytes)
		return ferry_error_set(err, ENOSPC, "the tree needs %" PRIu64 " bytes, at most %" PRIu64 " allowed",
				       *need_bytes, d->max_bytes);
	return 0;
}

static int
dir_open(void *data, const struct ferry_xfer_manifest *m, size_t idx, ferry_error_t *err)
{
	return ferry_xfer_recv_open(((struct dir_sink *) data)->dirfd, &m->v[idx], err);
}

static int
dir_finish(void *data, int fd, const struct ferry_xfer_manifest *m, size_t idx, uint64_t written, ferry_error_t *err)
{
	(void) data;
	return ferry_xfer_recv_finish(fd, &m->v[idx], written, err);
}

static int
dir_done(void *data, const struct ferry_xfer_manifest *m, ferry_error_t *err)
{
	return ferry_xfer_finish_dirs(((struct dir_sink *) data)->dirfd, m, err);
}

int
ferry_transfer_recv_tree(ferry_tls_t *t, int dirfd, const json_t *msg, bool prune, uint64_t max_bytes,
			 struct ferry_transfer_stats *st, ferry_error_t *err)
{
	struct dir_sink d = { .dirfd = dirfd, .prune = prune, .max_bytes = max_bytes };
	const struct ferry_transfer_sink sink = {
		.prepare = dir_prepare, .open = dir_open, .finish = dir_finish, .done = dir_done, .data = &d
	};

	return ferry_transfer_recv(t, msg, &sink, st, err);
}

int
ferry_transfer_recv(ferry_tls_t *t, const json_t *msg, const struct ferry_transfer_sink *sink,
		    struct ferry_transfer_stats *st, ferry_error_t *err)
{
	_cleanup_manifest_ struct ferry_xfer_manifest m = { 0 };
	_cleanup_free_ size_t *need = NULL;
	_cleanup_free_ bool *wanted = NULL;
	_cleanup_close_ int fd = -1;
	size_t n_need = 0;
	uint64_t need_bytes = 0, written = 0, total = 0;
	int64_t cur = -1;
	json_t *files, *reply;
	int ret;

	memset(st, 0, sizeof(*st));
	if (ferry_xfer_manifest_from_json(json_object_get(msg, "manifest"), &m, err) < 0)
		return ferry_error_prefix(err, "manifest");
	if (sink->prepare(sink->data, &m, &need, &n_need, &need_bytes, err) < 0)
		return -1;
	wanted = calloc(m.n ? m.n : 1, sizeof(*wanted));
	files = json_array();
	if (wanted == NULL || files == NULL) {
		json_decref(files);
		return ferry_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n_need; i++) {
		wanted[need[i]] = true;
		json_array_append_new(files, json_integer((json_int_t) need[i]));
	}
	reply = json_pack("{s:o, s:I}", "files", files, "bytes", (json_int_t) need_bytes);
	ret = ferry_wire_send_json(t, FERRY_MSG_NEED, reply, err);
	json_decref(reply);
	if (ret < 0)
		return -1;

	/* Files arrive in the order asked for, each as consecutive chunks. */
	for (;;) {
		_cleanup_free_ char *buf = NULL;
		uint32_t type, idx;
		uint64_t off;
		const void *data;
		size_t len, dlen;

		if (ferry_wire_recv(t, &type, &buf, &len, err) < 0)
			return -1;
		if (type == FERRY_MSG_FILES_DONE)
			break;
		if (type == FERRY_MSG_ERROR || type == FERRY_MSG_ABORT) {
			json_t *j = NULL;
			const char *why = NULL;
			if (ferry_wire_json_decode(type, buf, len, &j, err) == 0)
				why = json_string_value(json_object_get(j, type == FERRY_MSG_ERROR ? "error" : "reason"));
			ferry_error_set(err, ECANCELED, "the source gave up: %s", why ? why : "(no reason)");
			json_decref(j);
			return -1;
		}
		if (type != FERRY_MSG_FILE_DATA)
			return ferry_error_set(err, EPROTO, "%s in the middle of a file transfer",
					       ferry_wire_msg_name(type));
		if (ferry_wire_file_data_decode(buf, len, &idx, &off, &data, &dlen, err) < 0)
			return -1;
		if (idx >= m.n || !wanted[idx])
			return ferry_error_set(err, EPROTO, "file data for entry %" PRIu32 ", which was not asked for", idx);
		if ((int64_t) idx != cur) {
			if (fd >= 0) {
				ret = sink->finish(sink->data, fd, &m, (size_t) cur, written, err);
				close(fd);
				fd = -1;
				if (ret < 0)
					return -1;
				wanted[cur] = false; /* each file once */
			}
			if (off != 0)
				return ferry_error_set(err, EPROTO, "%s: data starts at offset %" PRIu64, m.v[idx].path, off);
			fd = sink->open(sink->data, &m, idx, err);
			if (fd < 0)
				return -1;
			cur = idx;
			written = 0;
			st->files++;
		}
		if (off != written || off + dlen > m.v[idx].size)
			return ferry_error_set(err, EPROTO, "%s: chunk at %" PRIu64 "+%zu does not follow %" PRIu64
							    " of %" PRIu64 " bytes",
					       m.v[idx].path, off, dlen, written, m.v[idx].size);
		if (dlen && ferry_write_all(fd, data, dlen) < 0)
			return ferry_error_sys(err, "write %s", m.v[idx].path);
		written += dlen;
		total += dlen;
	}
	if (fd >= 0) {
		ret = sink->finish(sink->data, fd, &m, (size_t) cur, written, err);
		close(fd);
		fd = -1;
		if (ret < 0)
			return -1;
		wanted[cur] = false;
	}
	for (size_t i = 0; i < n_need; i++)
		if (wanted[need[i]])
			return ferry_error_set(err, EPROTO, "%s: asked for, never sent", m.v[need[i]].path);
	if (sink->done(sink->data, &m, err) < 0)
		return -1;
	st->bytes = total;
	st->entries = m.n;
	st->total_bytes = m.total_bytes;
	reply = json_object();
	ret = ferry_wire_send_json(t, FERRY_MSG_SYNCED, reply, err);
	json_decref(reply);
	return ret;
}
