/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ferry_error_setv(ferry_error_t *err, int errno_, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (err == NULL)
		return -1;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	free(err->msg);
	err->msg = msg;
	err->errno_ = errno_;
	return -1;
}

int
ferry_error_set(ferry_error_t *err, int errno_, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_error_setv(err, errno_, fmt, ap);
	va_end(ap);
	return -1;
}

int
ferry_error_sys(ferry_error_t *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	ferry_error_setv(err, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int
ferry_error_prefix(ferry_error_t *err, const char *fmt, ...)
{
	char *ctx = NULL, *msg = NULL;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx == NULL)
		return -1;
	if (asprintf(&msg, "%s: %s", ctx, err->msg ? err->msg : "unknown error") < 0)
		msg = NULL;
	free(ctx);
	if (msg != NULL) {
		free(err->msg);
		err->msg = msg;
	}
	return -1;
}

bool
ferry_error_isset(const ferry_error_t *err)
{
	return err != NULL && (err->msg != NULL || err->errno_ != 0);
}

char *
ferry_error_string(const ferry_error_t *err)
{
	char *s = NULL;
	const char *m = err->msg ? err->msg : "unknown error";

	if (err->errno_ != 0) {
		if (asprintf(&s, "%s: %s", m, strerror(err->errno_)) < 0)
			s = NULL;
	} else {
		s = strdup(m);
	}
	return s;
}

void
ferry_error_clear(ferry_error_t *err)
{
	if (err == NULL)
		return;
	free(err->msg);
	err->msg = NULL;
	err->errno_ = 0;
	err->status = 0;
}
