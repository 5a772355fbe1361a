/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging.  The library logs through a handler the caller installs
 * (the CLI writes text or JSON to --log or stderr; the agent adds its own).
 * Each .c file may define LOG_PREFIX before including this header.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdarg.h>

enum ferry_log_level {
	FERRY_LOG_ERROR = 0,
	FERRY_LOG_WARN,
	FERRY_LOG_INFO,
	FERRY_LOG_DEBUG,
};

typedef void (*ferry_log_handler_t)(enum ferry_log_level level, const char *msg, void *data);

void ferry_log_set_handler(ferry_log_handler_t h, void *data);
void ferry_log_set_level(enum ferry_log_level level);
enum ferry_log_level ferry_log_get_level(void);
void ferry_log(enum ferry_log_level level, int errno_, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The default handler: "level msg" to stderr, or JSON lines when json != 0. */
void ferry_log_stderr_handler(enum ferry_log_level level, const char *msg, void *data);
/* A handler writing to fd (opened by the caller) in text or runc's JSON format. */
struct ferry_log_sink {
	int fd;
	int json;
};
void ferry_log_fd_handler(enum ferry_log_level level, const char *msg, void *data);

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

#define pr_err(fmt, ...) ferry_log(FERRY_LOG_ERROR, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_perror(fmt, ...) ferry_log(FERRY_LOG_ERROR, errno, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) ferry_log(FERRY_LOG_WARN, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_pwarn(fmt, ...) ferry_log(FERRY_LOG_WARN, errno, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) ferry_log(FERRY_LOG_INFO, 0, LOG_PREFIX, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) \
	do { \
		if (ferry_log_get_level() >= FERRY_LOG_DEBUG) \
			ferry_log(FERRY_LOG_DEBUG, 0, LOG_PREFIX, fmt, ##__VA_ARGS__); \
	} while (0)

#endif
