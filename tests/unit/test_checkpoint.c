/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of checkpoint/restore's option handling: --page-server
 * ADDRESS:PORT and --manage-cgroups-mode; and the freezer state fix-up of
 * a cgroup image. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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

/* A cgroup.img as CRIU writes it (magics, entry size, protobuf): two
 * freezer heads frozen by ferry, one thawed, and a property of another
 * name whose value happens to read FROZEN, which must stay. */
static void
thaw_freezer(void)
{
	static const char img[] = "\x54\x58\x45\x52\x01\x50\x58\x45" "\x60\x00\x00\x00"
				  "\x0a\x0d" "freezer.state" "\x12\x06" "FROZEN" "\x1a\x02\x08\x00"
				  "\x0a\x0c" "memory.other" "\x12\x06" "FROZEN"
				  "\x0a\x0d" "freezer.state" "\x12\x06" "THAWED"
				  "\x0a\x0d" "freezer.state" "\x12\x06" "FROZEN";
	char dir[] = "/tmp/ferry-test-ck.XXXXXX", path[64], back[sizeof(img)];
	ferry_error_t err = FERRY_ERROR_INIT;
	int dfd, fd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_DIRECTORY | O_RDONLY)) < 0) {
		ok(0, "scratch directory");
		return;
	}
	ok(ferry_criu_image_thaw_freezer(dfd, &err) == 0, "no cgroup.img (the tree shared CRIU's cgroups): nothing to do");
	snprintf(path, sizeof(path), "%s/cgroup.img", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ok(fd >= 0 && write(fd, img, sizeof(img) - 1) == (ssize_t) sizeof(img) - 1, "cgroup.img written");
	close(fd);
	ok(ferry_criu_image_thaw_freezer(dfd, &err) == 2, "both FROZEN freezer states are changed");
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && read(fd, back, sizeof(back)) == (ssize_t) sizeof(img) - 1, "cgroup.img read back, same size");
	close(fd);
	ok(memcmp(back, img, 12) == 0, "  header untouched");
	ok(memmem(back, sizeof(img) - 1, "freezer.state\x12\x06" "FROZEN", 21) == NULL, "  no freezer.state FROZEN left");
	ok(memmem(back, sizeof(img) - 1, "memory.other\x12\x06" "FROZEN", 20) != NULL, "  another property's value kept");
	ok(ferry_criu_image_thaw_freezer(dfd, &err) == 0, "a second pass changes nothing");
	unlink(path);
	close(dfd);
	rmdir(dir);
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
	thaw_freezer();
	return tap_done();
}
