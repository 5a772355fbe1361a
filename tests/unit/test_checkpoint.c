/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of checkpoint/restore's option handling: --page-server
 * ADDRESS:PORT and --manage-cgroups-mode. */
#include <errno.h>
#include <stdlib.h>

#include "checkpoint.h"
#include "tap.h"

static void
page_server_ok(const char *in, const char *addr, int port)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	char *a = NULL;
	int p = -1;

	ok(ferry_page_server_parse(in, &a, &p, &err) == 0, "page server \"%s\" parses", in);
	is_str(a, addr, "  address of \"%s\"", in);
	ok(p == port, "  port of \"%s\" is %d (got %d)", in, port, p);
	free(a);
	ferry_error_clear(&err);
}

static void
page_server_bad(const char *in)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	char *a = NULL;
	int p = -1;

	ok(ferry_page_server_parse(in, &a, &p, &err) < 0 && a == NULL && err.errno_ == EINVAL && err.msg &&
		   strstr(err.msg, "expected ADDRESS:PORT"),
	   "page server \"%s\" is refused", in);
	ferry_error_clear(&err);
}

int
main(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	enum ferry_criu_cg_mode m = FERRY_CRIU_CG_UNSET;

	page_server_ok("127.0.0.1:27000", "127.0.0.1", 27000);
	page_server_ok("host.example:1", "host.example", 1);
	page_server_ok("[::1]:65535", "::1", 65535);
	page_server_ok("fe80::1:80", "fe80::1", 80); /* last colon splits */
	page_server_bad("127.0.0.1");
	page_server_bad("127.0.0.1:");
	page_server_bad(":27000");
	page_server_bad("127.0.0.1:0");
	page_server_bad("127.0.0.1:65536");
	page_server_bad("127.0.0.1:12x");
	page_server_bad("[::1]27000");
	page_server_bad("[]:27000");

	ok(ferry_criu_cg_mode_parse("soft", &m, &err) == 0 && m == FERRY_CRIU_CG_SOFT, "cgroup mode soft");
	ok(ferry_criu_cg_mode_parse("full", &m, &err) == 0 && m == FERRY_CRIU_CG_FULL, "cgroup mode full");
	ok(ferry_criu_cg_mode_parse("strict", &m, &err) == 0 && m == FERRY_CRIU_CG_STRICT, "cgroup mode strict");
	ok(ferry_criu_cg_mode_parse("ignore", &m, &err) == 0 && m == FERRY_CRIU_CG_IGNORE, "cgroup mode ignore");
	ok(ferry_criu_cg_mode_parse("props", &m, &err) < 0 && err.msg && strstr(err.msg, "soft, full, strict or ignore"),
	   "cgroup mode props is not runc's: refused");
	ferry_error_clear(&err);
	return tap_done();
}
