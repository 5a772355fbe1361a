/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal TAP producer for ferry's C unit tests (meson test --protocol tap). */
#ifndef FERRY_TAP_H
#define FERRY_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) \
	do { \
		int _c = !!(cond); \
		tap_n++; \
		if (!_c) \
			tap_failed++; \
		printf("%sok %d - ", _c ? "" : "not ", tap_n); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!_c) \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define is_str(a, b, ...) \
	do { \
		const char *_a = (a), *_b = (b); \
		int _eq = (_a && _b) ? strcmp(_a, _b) == 0 : _a == _b; \
		ok(_eq, __VA_ARGS__); \
		if (!_eq) \
			printf("#   got '%s', expected '%s'\n", _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
