/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's one error type.
 *
 * The rule (docs/errors.md): a function that can fail returns a negative
 * value (or NULL) and fills *err.  Callers that add meaning on the way up
 * wrap it with ferry_error_prefix() ("restore web1: mount /var/www/html:
 * ...").  Only the top level (main, the agent loop) prints an error.
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

typedef struct ferry_error {
	int errno_;   /* 0 when the failure is not a system call's */
	int status;   /* process exit status the CLI should use, 0 = default */
	char *msg;    /* heap, owned */
} ferry_error_t;

#define FERRY_ERROR_INIT { 0, 0, NULL }

/* All return -1 so that "return ferry_error_set(err, ...)" reads naturally. */
int ferry_error_set(ferry_error_t *err, int errno_, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ferry_error_setv(ferry_error_t *err, int errno_, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Sets from the current errno. */
int ferry_error_sys(ferry_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "<context>: " to an error already set; keeps its errno. */
int ferry_error_prefix(ferry_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ferry_error_isset(const ferry_error_t *err);
/* Full text, with strerror appended when errno_ is set.  Caller frees. */
char *ferry_error_string(const ferry_error_t *err);
void ferry_error_clear(ferry_error_t *err);

#define _cleanup_error_ __attribute__((cleanup(ferry_error_clear)))

#endif
