/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config parser's JSON layer: loading with jansson (and the big
 * integer workaround), the JSON path kept for messages, and the typed
 * getters that check every value they hand out.  See spec_internal.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spec.h"
#include "spec_internal.h"
#include "util.h"

/*
 * jansson stores integers as long long and refuses, as a syntax error,
 * any integer literal that does not fit.  The runtime-spec has uint64
 * fields (rlimits, seccomp argument values) whose legal values go up to
 * 2^64-1, and Podman writes RLIM_INFINITY as 18446744073709551615.  So
 * before handing the text to jansson we rewrite every integer literal
 * that jansson cannot hold into the string "\u0000<digits>".  A real
 * string can never start with NUL: jansson refuses \u0000 unless told
 * otherwise, and when we do tell it (only if we rewrote something) we
 * refuse \u0000 ourselves first.  The number getters below read these
 * strings back with range checks; everything else sees "a number".
 */
#define BIGINT_EXTRA 8 /* strlen("\"\\u0000") + strlen("\"") */

struct rewrite {
	char *buf; /* NULL: the text is fine as it is */
	size_t len;
	size_t *subs; /* offsets in buf where a rewritten literal starts */
	size_t n_subs;
};

static void
rewrite_free(struct rewrite *rw)
{
	free(rw->buf);
	free(rw->subs);
}

/* Does the integer literal s[0..n) fit in a long long? */
static bool
int_literal_fits(const char *s, size_t n)
{
	bool neg = n > 0 && s[0] == '-';
	uint64_t v = 0, limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

	for (size_t i = neg; i < n; i++) {
		unsigned d = s[i] - '0';

		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	return true;
}

/* 1-based line and column (in characters, as jansson counts) of offset. */
static void
text_position(const char *s, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 0;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 0;
		} else if (((unsigned char) s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
	(*col)++;
}

static int
prescan(struct spec_parser *p, const char *s, size_t len, struct rewrite *rw)
{
	size_t *starts = NULL, *ends = NULL, n = 0, nul_at = SIZE_MAX;
	size_t out_len, o = 0, last = 0;

	for (size_t i = 0; i < len;) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] != '\\' || i + 1 >= len)
					continue;
				if (nul_at == SIZE_MAX && i + 5 < len && memcmp(s + i + 1, "u0000", 5) == 0)
					nul_at = i;
				i++;
			}
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i + (c == '-');
			bool integer = j < len && s[j] >= '0' && s[j] <= '9';

			while (j < len && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j < len && (s[j] == '.' || s[j] == 'e' || s[j] == 'E'))
				integer = false;
			if (integer && !int_literal_fits(s + i, j - i)) {
				starts = xrealloc(starts, (n + 1) * sizeof(*starts));
				ends = xrealloc(ends, (n + 1) * sizeof(*ends));
				starts[n] = i;
				ends[n] = j;
				n++;
			}
			/* skip the rest of the token; jansson judges it */
			while (j < len && strchr("0123456789+-.eE", s[j]))
				j++;
			i = j;
		} else {
			i++;
		}
	}
	if (n == 0)
		return 0;
	if (nul_at != SIZE_MAX) {
		int line, col;

		free(starts);
		free(ends);
		text_position(s, nul_at, &line, &col);
		return ferry_error_set(p->err, 0, "%s: line %d column %d: invalid JSON: \\u0000 is not allowed in a string",
				       p->name, line, col);
	}
	out_len = len + n * BIGINT_EXTRA;
	rw->buf = xmalloc0(out_len + 1);
	rw->subs = xmalloc0(n * sizeof(*rw->subs));
	for (size_t k = 0; k < n; k++) {
		memcpy(rw->buf + o, s + last, starts[k] - last);
		o += starts[k] - last;
		rw->subs[k] = o;
		memcpy(rw->buf + o, "\"\\u0000", 7);
		o += 7;
		memcpy(rw->buf + o, s + starts[k], ends[k] - starts[k]);
		o += ends[k] - starts[k];
		rw->buf[o++] = '"';
		last = ends[k];
	}
	memcpy(rw->buf + o, s + last, len - last);
	o += len - last;
	rw->len = o;
	rw->n_subs = n;
	free(starts);
	free(ends);
	return 0;
}

/* jansson's column counts the rewritten text; give the user's. */
static int
column_in_original(const struct rewrite *rw, const json_error_t *je)
{
	size_t pos = je->position, line_start = 0;
	int col = je->column;

	if (rw->buf == NULL || pos > rw->len)
		return col;
	for (size_t i = pos; i > 0; i--) {
		if (rw->buf[i - 1] == '\n') {
			line_start = i;
			break;
		}
	}
	for (size_t k = 0; k < rw->n_subs; k++)
		if (rw->subs[k] >= line_start && rw->subs[k] < pos)
			col -= BIGINT_EXTRA;
	return col > 0 ? col : 1;
}

static bool
is_bigint(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 && json_string_value(v)[0] == '\0';
}

json_t *
sp_load(struct spec_parser *p, const char *json, size_t len)
{
	struct rewrite rw = { 0 };
	json_error_t je;
	json_t *root;

	if (prescan(p, json, len, &rw) < 0)
		return NULL;
	if (rw.buf)
		root = json_loadb(rw.buf, rw.len, JSON_ALLOW_NUL, &je);
	else
		root = json_loadb(json, len, 0, &je);
	if (root == NULL) {
		const char *text = je.text;

		/* {123456789012345678901: 1} became a string key with a NUL
		 * in it; say what was wrong with the user's text instead. */
		if (rw.buf && strstr(text, "NUL byte in object key"))
			text = "an object key must be a string";
		ferry_error_set(p->err, 0, "%s: line %d column %d: invalid JSON: %s", p->name, je.line,
				column_in_original(&rw, &je), text);
		rewrite_free(&rw);
		return NULL;
	}
	rewrite_free(&rw);
	if (!json_is_object(root)) {
		sp_type_error(p, "an object", root);
		json_decref(root);
		return NULL;
	}
	return root;
}

char *
sp_dump(const json_t *root, size_t flags)
{
	/* jansson writes a big integer's stand-in as "\u0000<digits>".  No
	 * other string can contain \u0000 (sp_load refuses NUL in what the
	 * user wrote), so this exact sequence after an opening quote is
	 * always one of ours, and the quotes and marker can go. */
	static const char marker[] = "\"\\u0000";
	char *text = json_dumps(root, flags), *in, *out;

	if (text == NULL)
		return NULL;
	for (in = out = text; *in;) {
		if (strncmp(in, marker, sizeof(marker) - 1) == 0) {
			in += sizeof(marker) - 1;
			while (*in && *in != '"')
				*out++ = *in++;
			if (*in == '"')
				in++;
			continue;
		}
		*out++ = *in++;
	}
	*out = '\0';
	return text;
}

/* ---- the path ---------------------------------------------------------- */

static void
path_append(struct spec_parser *p, const char *s, size_t n)
{
	if (p->path_len + n + 1 > p->path_cap) {
		p->path_cap = (p->path_len + n + 1) * 2;
		p->path = xrealloc(p->path, p->path_cap);
	}
	memcpy(p->path + p->path_len, s, n);
	p->path_len += n;
	p->path[p->path_len] = '\0';
}

/* Quotes s for a message: escapes quotes, backslashes and control bytes,
 * and cuts very long values so that one bad field cannot flood a log. */
char *
sp_quote(const char *s)
{
	const size_t max = 256;
	size_t n = strlen(s), o = 0;
	char *q = xmalloc0(max * 4 + 8);

	q[o++] = '"';
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			q[o++] = '\\';
			q[o++] = c;
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(q + o, 5, "\\x%02x", c);
		} else {
			q[o++] = c;
		}
	}
	q[o++] = '"';
	if (n > max) {
		memcpy(q + o, "...", 3);
		o += 3;
	}
	q[o] = '\0';
	return q;
}

static bool
is_identifier(const char *k)
{
	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

/* jq's notation: .key for identifiers, ["net.ipv4.ip_forward"] otherwise. */
size_t
sp_push_key(struct spec_parser *p, const char *key)
{
	size_t mark = p->path_len;

	if (is_identifier(key)) {
		path_append(p, ".", 1);
		path_append(p, key, strlen(key));
	} else {
		_cleanup_free_ char *q = sp_quote(key);

		path_append(p, "[", 1);
		path_append(p, q, strlen(q));
		path_append(p, "]", 1);
	}
	return mark;
}

size_t
sp_push_index(struct spec_parser *p, size_t i)
{
	size_t mark = p->path_len;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "[%zu]", i);

	path_append(p, buf, n);
	return mark;
}

void
sp_pop(struct spec_parser *p, size_t mark)
{
	p->path_len = mark;
	if (p->path)
		p->path[mark] = '\0';
}

/* ---- errors ------------------------------------------------------------ */

static int __attribute__((format(printf, 2, 0)))
sp_verror(struct spec_parser *p, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	return ferry_error_set(p->err, 0, "%s: %s: %s", p->name, p->path_len ? p->path : ".",
			       msg ? msg : "out of memory");
}

int
sp_error(struct spec_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_verror(p, fmt, ap);
	va_end(ap);
	return -1;
}

int
sp_error_at(struct spec_parser *p, const char *key, const char *fmt, ...)
{
	size_t mark = sp_push_key(p, key);
	va_list ap;

	va_start(ap, fmt);
	sp_verror(p, fmt, ap);
	va_end(ap);
	sp_pop(p, mark);
	return -1;
}

const char *
sp_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return is_bigint(v) ? "a number" : "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

int
sp_type_error(struct spec_parser *p, const char *what, const json_t *v)
{
	return sp_error(p, "expected %s, got %s", what, sp_type_name(v));
}

int
sp_missing(struct spec_parser *p, const char *key, const char *what)
{
	return sp_error_at(p, key, "missing required field (expected %s)", what);
}

/* ---- converters -------------------------------------------------------- */

int
sp_str(struct spec_parser *p, const json_t *v, char **out)
{
	const char *s;

	if (!json_is_string(v) || is_bigint(v))
		return sp_type_error(p, "a string", v);
	s = json_string_value(v);
	/* Unreachable while \u0000 is refused at load; C strings would
	 * silently cut such a value, so keep the check next to the copy. */
	if (strlen(s) != json_string_length(v))
		return sp_error(p, "strings may not contain NUL characters");
	free(*out);
	*out = xstrdup(s);
	return 0;
}

int
sp_bool(struct spec_parser *p, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return sp_type_error(p, "a boolean", v);
	*out = json_is_true(v);
	return 0;
}

static int
non_integer(struct spec_parser *p, const json_t *v)
{
	if (json_is_real(v)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		if (strpbrk(buf, ".eEn") == NULL)
			strcat(buf, ".0");
		return sp_error(p, "expected an integer, got %s", buf);
	}
	return sp_type_error(p, "an integer", v);
}

int
sp_u64(struct spec_parser *p, const json_t *v, uint64_t max, uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || (uint64_t) i > max)
			return sp_error(p, "%lld is out of range (expected an integer from 0 to %llu)", (long long) i,
					(unsigned long long) max);
		*out = i;
		return 0;
	}
	if (is_bigint(v)) {
		const char *d = json_string_value(v) + 1;
		unsigned long long u;

		errno = 0;
		u = d[0] == '-' ? 0 : strtoull(d, NULL, 10);
		if (d[0] == '-' || errno == ERANGE || u > max)
			return sp_error(p, "%.64s%s is out of range (expected an integer from 0 to %llu)", d,
					strlen(d) > 64 ? "..." : "", (unsigned long long) max);
		*out = u;
		return 0;
	}
	return non_integer(p, v);
}

int
sp_i64(struct spec_parser *p, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < min || i > max)
			return sp_error(p, "%lld is out of range (expected an integer from %lld to %lld)", (long long) i,
					(long long) min, (long long) max);
		*out = i;
		return 0;
	}
	if (is_bigint(v)) {
		const char *d = json_string_value(v) + 1;

		return sp_error(p, "%.64s%s is out of range (expected an integer from %lld to %lld)", d,
				strlen(d) > 64 ? "..." : "", (long long) min, (long long) max);
	}
	return non_integer(p, v);
}

int
sp_abs_path(struct spec_parser *p, const json_t *v, char **out)
{
	_cleanup_free_ char *s = NULL;

	if (sp_str(p, v, &s) < 0)
		return -1;
	if (s[0] != '/') {
		_cleanup_free_ char *q = sp_quote(s);

		return sp_error(p, "expected an absolute path, got %s", q);
	}
	free(*out);
	*out = steal_pointer(&s);
	return 0;
}

/* ---- field getters ----------------------------------------------------- */

/* A JSON null is "unset": Go's encoding/json writes it for nil pointers
 * and slices, and runc reads it back as absent. */
json_t *
sp_field(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

int
sp_get_obj(struct spec_parser *p, const json_t *obj, const char *key, json_t **out)
{
	json_t *v = sp_field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_object(v)) {
		size_t mark = sp_push_key(p, key);

		sp_type_error(p, "an object", v);
		sp_pop(p, mark);
		return -1;
	}
	*out = v;
	return 1;
}

int
sp_get_arr(struct spec_parser *p, const json_t *obj, const char *key, json_t **out)
{
	json_t *v = sp_field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		size_t mark = sp_push_key(p, key);

		sp_type_error(p, "an array", v);
		sp_pop(p, mark);
		return -1;
	}
	*out = v;
	return 1;
}

int
sp_get_str(struct spec_parser *p, const json_t *obj, const char *key, char **out)
{
	return GET_FIELD(p, obj, key, v, sp_str(p, v, out));
}

int
sp_get_bool(struct spec_parser *p, const json_t *obj, const char *key, bool *out)
{
	return GET_FIELD(p, obj, key, v, sp_bool(p, v, out));
}

int
sp_get_u64(struct spec_parser *p, const json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
	return GET_FIELD(p, obj, key, v, sp_u64(p, v, max, out));
}

int
sp_get_i64(struct spec_parser *p, const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	return GET_FIELD(p, obj, key, v, sp_i64(p, v, min, max, out));
}

int
sp_get_u32(struct spec_parser *p, const json_t *obj, const char *key, uint32_t *out)
{
	uint64_t u;
	int r = sp_get_u64(p, obj, key, UINT32_MAX, &u);

	if (r > 0)
		*out = u;
	return r;
}

int
sp_get_strv(struct spec_parser *p, const json_t *obj, const char *key, bool abs, char ***out)
{
	_cleanup_strv_ char **vec = NULL;
	json_t *arr, *v;
	size_t i, mark;
	int r = sp_get_arr(p, obj, key, &arr);

	if (r <= 0)
		return r;
	vec = xmalloc0((json_array_size(arr) + 1) * sizeof(char *));
	mark = sp_push_key(p, key);
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);

		if ((abs ? sp_abs_path(p, v, &vec[i]) : sp_str(p, v, &vec[i])) < 0)
			return -1;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	ferry_strv_free(*out);
	*out = steal_pointer(&vec);
	return 1;
}

void
spec_kv_free(struct ferry_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int
sp_get_map(struct spec_parser *p, const json_t *obj, const char *key, struct ferry_kv **out, size_t *n)
{
	json_t *map, *v;
	const char *k;
	size_t mark, i = 0;
	int r = sp_get_obj(p, obj, key, &map);

	if (r <= 0)
		return r;
	/* Filled in place (count first): ferry_spec_free copes with a
	 * partly filled table if a value is rejected. */
	*out = xmalloc0(json_object_size(map) * sizeof(**out));
	*n = json_object_size(map);
	mark = sp_push_key(p, key);
	json_object_foreach (map, k, v) {
		size_t m = sp_push_key(p, k);

		if (sp_str(p, v, &(*out)[i].value) < 0)
			return -1;
		(*out)[i].key = xstrdup(k);
		sp_pop(p, m);
		i++;
	}
	sp_pop(p, mark);
	return 1;
}

int
sp_get_idmaps(struct spec_parser *p, const json_t *obj, const char *key, struct ferry_idmap **out, size_t *n)
{
	json_t *arr, *v;
	size_t i, mark;
	int r = sp_get_arr(p, obj, key, &arr);

	if (r <= 0)
		return r;
	*out = xmalloc0(json_array_size(arr) * sizeof(**out));
	*n = json_array_size(arr);
	mark = sp_push_key(p, key);
	json_array_foreach (arr, i, v) {
		size_t m = sp_push_index(p, i);
		struct ferry_idmap *id = &(*out)[i];

		if (!json_is_object(v))
			return sp_type_error(p, "an object", v);
		if (sp_required(p, sp_get_u32(p, v, "containerID", &id->container_id), "containerID", "an integer") < 0 ||
		    sp_required(p, sp_get_u32(p, v, "hostID", &id->host_id), "hostID", "an integer") < 0 ||
		    sp_required(p, sp_get_u32(p, v, "size", &id->size), "size", "an integer") < 0)
			return -1;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 1;
}

/* ---- merging ----------------------------------------------------------- */

static void
merge_object(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *) src, key, v) {
		json_t *cur = json_object_get(dst, key);

		if (json_is_null(v))
			continue;
		if (json_is_object(v) && json_is_object(cur))
			merge_object(cur, v);
		else
			json_object_set(dst, key, v);
	}
}

int
ferry_spec_merge_json(const char *base, size_t base_len, const char *base_name, const char *const *path,
		      const char *overlay, size_t overlay_len, const char *overlay_name, char **out,
		      ferry_error_t *err)
{
	struct spec_parser pb = { .name = base_name ? base_name : "config.json", .err = err };
	struct spec_parser po = { .name = overlay_name ? overlay_name : "resources", .err = err };
	json_t *b = NULL, *o = NULL, *at;
	int r = -1;

	*out = NULL;
	b = sp_load(&pb, base, base_len);
	if (b == NULL)
		goto out;
	o = sp_load(&po, overlay, overlay_len);
	if (o == NULL)
		goto out;
	at = b;
	for (size_t i = 0; path && path[i]; i++) {
		json_t *next = json_object_get(at, path[i]);

		sp_push_key(&pb, path[i]);
		if (next == NULL || json_is_null(next)) {
			next = json_object();
			json_object_set_new(at, path[i], next);
		} else if (!json_is_object(next)) {
			sp_type_error(&pb, "an object", next);
			goto out;
		}
		at = next;
	}
	merge_object(at, o);
	*out = sp_dump(b, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (*out == NULL) {
		ferry_error_set(err, ENOMEM, "%s: cannot encode JSON", pb.name);
		goto out;
	}
	r = 0;
out:
	json_decref(b);
	json_decref(o);
	free(pb.path);
	free(po.path);
	return r;
}
