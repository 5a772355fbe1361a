/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the config parser (spec.c, spec_linux.c, spec_tables.c).
 *
 * The parser walks the jansson tree with a "JSON path" that it extends on
 * the way down (".linux", ".linux.namespaces", ".linux.namespaces[2]") so
 * that every error can say exactly where it is.  The getters below share
 * one convention: they return 0 when the field is absent (or JSON null,
 * which Go-written configs use for "unset"), 1 when it is present and
 * valid, and -1 with *err filled when it is present and wrong.
 */
#ifndef FERRY_SPEC_INTERNAL_H
#define FERRY_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* glibc < 2.36 lacks it; the number is ABI (Linux 5.6). */
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct spec_parser {
	const char *name; /* "config.json" as given, for messages */
	ferry_error_t *err;
	char *path; /* the JSON path of the value being looked at */
	size_t path_len, path_cap;
};

/* Parses json (len bytes) into a tree whose top is an object, or
 * fails with "<name>: line L column C: invalid JSON: ...". */
json_t *sp_load(struct spec_parser *p, const char *json, size_t len);

/* The inverse of sp_load for a tree it produced (and edited): JSON text
 * with the big integers written back as plain literals.  flags are
 * json_dumps()'s.  Caller frees; NULL only when jansson cannot encode. */
char *sp_dump(const json_t *root, size_t flags);

/* The path.  push returns a mark for pop. */
size_t sp_push_key(struct spec_parser *p, const char *key);
size_t sp_push_index(struct spec_parser *p, size_t i);
void sp_pop(struct spec_parser *p, size_t mark);

/* "<name>: <path>: <message>"; returns -1. */
int sp_error(struct spec_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<name>: <path>.<key>: <message>"; returns -1. */
int sp_error_at(struct spec_parser *p, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "expected <what>, got <type of v>" at the current path. */
int sp_type_error(struct spec_parser *p, const char *what, const json_t *v);
/* "missing required field (expected <what>)" at path.key. */
int sp_missing(struct spec_parser *p, const char *key, const char *what);

/* For REQUIRED fields: turns a getter's 0 (absent) into the error
 * "missing required field", keeps -1, and gives 0 when present. */
static inline int
sp_required(struct spec_parser *p, int r, const char *key, const char *what)
{
	if (r > 0)
		return 0;
	return r == 0 ? sp_missing(p, key, what) : -1;
}

/* "an object", "a number", ...; big integers (see spec.c) are numbers. */
const char *sp_type_name(const json_t *v);

/* A copy of s, quoted and escaped for a message, cut after 256 bytes. */
char *sp_quote(const char *s);

/* obj[key], with JSON null read as absent. */
json_t *sp_field(const json_t *obj, const char *key);
/* Runs call with var = obj[key] and the path extended by key; 0 when
 * absent, 1 when call succeeded, -1 when it failed. */
#define GET_FIELD(p, obj, key, var, call) \
	({ \
		json_t *_v = sp_field((obj), (key)); \
		int _r = 0; \
		if (_v != NULL) { \
			size_t _mark = sp_push_key((p), (key)); \
			const json_t *var = _v; \
			_r = (call) < 0 ? -1 : 1; \
			sp_pop((p), _mark); \
		} \
		_r; \
	})

/* Converters for a value at the current path. */
int sp_str(struct spec_parser *p, const json_t *v, char **out);
int sp_bool(struct spec_parser *p, const json_t *v, bool *out);
int sp_u64(struct spec_parser *p, const json_t *v, uint64_t max, uint64_t *out);
int sp_i64(struct spec_parser *p, const json_t *v, int64_t min, int64_t max, int64_t *out);
int sp_abs_path(struct spec_parser *p, const json_t *v, char **out);

/* Fields of obj (an object).  0 absent, 1 present, -1 error. */
int sp_get_obj(struct spec_parser *p, const json_t *obj, const char *key, json_t **out);
int sp_get_arr(struct spec_parser *p, const json_t *obj, const char *key, json_t **out);
int sp_get_str(struct spec_parser *p, const json_t *obj, const char *key, char **out);
int sp_get_bool(struct spec_parser *p, const json_t *obj, const char *key, bool *out);
int sp_get_u64(struct spec_parser *p, const json_t *obj, const char *key, uint64_t max, uint64_t *out);
int sp_get_i64(struct spec_parser *p, const json_t *obj, const char *key, int64_t min, int64_t max,
	       int64_t *out);
int sp_get_u32(struct spec_parser *p, const json_t *obj, const char *key, uint32_t *out);
/* An array of strings into a NULL-terminated vector; abs: each must be an
 * absolute path. */
int sp_get_strv(struct spec_parser *p, const json_t *obj, const char *key, bool abs, char ***out);
/* An object of strings (annotations, sysctl, unified). */
int sp_get_map(struct spec_parser *p, const json_t *obj, const char *key, struct ferry_kv **out, size_t *n);
/* An array of {containerID, hostID, size}. */
int sp_get_idmaps(struct spec_parser *p, const json_t *obj, const char *key, struct ferry_idmap **out,
		  size_t *n);

/* linux: the object at the current path "…linux". */
int spec_parse_linux(struct spec_parser *p, const json_t *linux_obj, struct ferry_linux *l);
void spec_linux_free(struct ferry_linux *l);
void spec_kv_free(struct ferry_kv *kv, size_t n);

/* Tables (spec_tables.c). */
int spec_sched_policy_from_name(const char *name);
int spec_sched_flag_from_name(const char *name, uint64_t *flag);
int spec_ioprio_class_from_name(const char *name);
bool spec_seccomp_action_valid(const char *name);
bool spec_seccomp_op_valid(const char *name);
bool spec_seccomp_flag_valid(const char *name);

#endif
