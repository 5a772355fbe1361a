/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The log sink is one of the few process-wide states (CONVENTIONS.md 5). */
static ferry_log_handler_t log_handler = ferry_log_stderr_handler;
static void *log_data;
static enum ferry_log_level log_level = FERRY_LOG_WARN;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
ferry_log_set_handler(ferry_log_handler_t h, void *data)
{
	log_handler = h ? h : ferry_log_stderr_handler;
	log_data = data;
}

void
ferry_log_set_level(enum ferry_log_level level)
{
	log_level = level;
}

enum ferry_log_level
ferry_log_get_level(void)
{
	return log_level;
}

void
ferry_log(enum ferry_log_level level, int errno_, const char *prefix, const char *fmt, ...)
{
	char buf[4096];
	int n = 0;
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	if (prefix && *prefix)
		n = snprintf(buf, sizeof(buf), "%s", prefix);
	va_start(ap, fmt);
	if (n >= 0 && (size_t) n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (errno_ && n >= 0 && (size_t) n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errno_));
	log_handler(level, buf, log_data);
	errno = saved;
}

static void
json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static void
write_entry(int fd, int json, enum ferry_log_level level, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct timespec ts;
	struct tm tm;
	char tbuf[64];

	if (f == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (json == 1) {
		/* runc's --log-format json: {"level":..,"msg":..,"time":..} */
		fprintf(f, "{\"level\":\"%s\",\"msg\":\"", level_names[level]);
		json_escape(f, msg);
		fprintf(f, "\",\"time\":\"%s.%09ldZ\"}\n", tbuf, ts.tv_nsec);
	} else if (json == 0) {
		/* runc's --log-format text (logfmt) */
		fprintf(f, "time=\"%s.%09ldZ\" level=%s msg=\"", tbuf, ts.tv_nsec, level_names[level]);
		json_escape(f, msg);
		fputs("\"\n", f);
	} else if (level == FERRY_LOG_ERROR) {
		fprintf(f, "ferry: %s\n", msg);
	} else {
		fprintf(f, "ferry: %s: %s\n", level_names[level], msg);
	}
	fclose(f);
	if (buf) {
		/* One write per entry so concurrent writers do not interleave lines. */
		if (write(fd, buf, len) < 0) {
			/* nowhere left to report it */
		}
		free(buf);
	}
}

void
ferry_log_stderr_handler(enum ferry_log_level level, const char *msg, void *data)
{
	(void) data;
	write_entry(STDERR_FILENO, -1, level, msg);
}

void
ferry_log_fd_handler(enum ferry_log_level level, const char *msg, void *data)
{
	struct ferry_log_sink *sink = data;

	write_entry(sink->fd, sink->json, level, msg);
}
