/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privilege separation: the typed message framing between `ferry serve`'s
 * network process and its root monitor (what a compromised network process
 * can send), descriptor passing, the manifest checks on that side, and the
 * dropping of privileges itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privsep.h"
#include "tap.h"
#include "util.h"

static int sv[2];

/* Sends raw bytes as a message would arrive. */
static void
raw(const void *p, size_t len)
{
	if (write(sv[0], p, len) != (ssize_t) len)
		abort();
}

static void
test_round_trip(void)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 }, r = { 0 };
	ferry_error_t e = FERRY_ERROR_INIT;
	char *a, *b, *c;
	const void *bytes;
	size_t blen;

	ferry_ps_init(&m, 7);
	ferry_ps_put_u32(&m, 0xdeadbeef);
	ferry_ps_put_u64(&m, UINT64_C(0x0123456789abcdef));
	ferry_ps_put_str(&m, "hello");
	ferry_ps_put_str(&m, NULL);
	ferry_ps_put_str(&m, "");
	ferry_ps_put_bytes(&m, "\0\1\2", 3);
	ok(ferry_ps_send(sv[0], &m, NULL, 0, &e) == 0, "send");
	ok(ferry_ps_recv(sv[1], &r, &e) == 0 && r.type == 7, "receive, type kept");
	ok(ferry_ps_get_u32(&r) == 0xdeadbeef, "u32");
	ok(ferry_ps_get_u64(&r) == UINT64_C(0x0123456789abcdef), "u64");
	a = ferry_ps_get_str(&r);
	b = ferry_ps_get_str(&r);
	c = ferry_ps_get_str(&r);
	is_str(a, "hello", "string");
	ok(b == NULL, "absent string");
	is_str(c, "", "empty string");
	bytes = ferry_ps_get_bytes(&r, &blen);
	ok(blen == 3 && memcmp(bytes, "\0\1\2", 3) == 0, "bytes with NULs");
	ok(ferry_ps_done(&r), "read exactly to the end");
	ferry_ps_get_u32(&r);
	ok(!ferry_ps_done(&r), "reading past the end marks it bad");
	free(a);
	free(b);
	free(c);
}

static void
test_malformed(void)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	unsigned char nul[] = { 9, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 'a', 0, 'b' };
	unsigned char big[] = { 9, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f };
	unsigned char longstr[] = { 9, 0, 0, 0, 8, 0, 0, 0, 100, 0, 0, 0, 'a', 'b', 'c', 'd' };
	struct ferry_ps_msg r = { 0 };
	char *s;

	raw(nul, sizeof(nul));
	ok(ferry_ps_recv(sv[1], &r, &e) == 0, "a message with a NUL in a string arrives");
	s = ferry_ps_get_str(&r);
	ok(s == NULL && !ferry_ps_done(&r), "the string with a NUL is refused");
	ferry_ps_free(&r);

	raw(longstr, sizeof(longstr));
	ok(ferry_ps_recv(sv[1], &r, &e) == 0, "a string longer than its message arrives");
	s = ferry_ps_get_str(&r);
	ok(s == NULL && !ferry_ps_done(&r), "and is refused");
	ferry_ps_free(&r);

	/* Unread bytes: a sender that says more than the type carries. */
	raw((unsigned char[]) { 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0 }, 16);
	ok(ferry_ps_recv(sv[1], &r, &e) == 0 && ferry_ps_get_u32(&r) == 1 && !ferry_ps_done(&r),
	   "bytes left over are noticed");
	ferry_ps_free(&r);

	raw(big, sizeof(big));
	ok(ferry_ps_recv(sv[1], &r, &e) < 0 && e.errno_ == EMSGSIZE, "an oversized length is refused before any "
									"allocation: %s", e.msg);
	ferry_error_clear(&e);
}

static void
test_torn(void)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	struct ferry_ps_msg r = { 0 };
	int p[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
		abort();
	if (write(p[0], "\1\0\0\0\20\0\0\0abc", 11) != 11)
		abort();
	close(p[0]);
	ok(ferry_ps_recv(p[1], &r, &e) < 0 && strstr(e.msg, "torn"), "a torn message is an error: %s", e.msg);
	ferry_error_clear(&e);
	ok(ferry_ps_recv(p[1], &r, &e) == 1, "then the end of the stream");
	close(p[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
		abort();
	close(p[0]);
	ok(ferry_ps_recv(p[1], &r, &e) == 1, "an end before any header is the clean end");
	close(p[1]);
}

static void
test_fds(void)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 }, r = { 0 };
	ferry_error_t e = FERRY_ERROR_INIT;
	int p[2], fd;
	char c = 0;

	if (pipe(p) < 0)
		abort();
	ferry_ps_init(&m, 3);
	ferry_ps_put_u32(&m, 1);
	ok(ferry_ps_send(sv[0], &m, &p[1], 1, &e) == 0, "send with a descriptor");
	close(p[1]);
	ok(ferry_ps_recv(sv[1], &r, &e) == 0 && r.nfds == 1, "the descriptor arrives with the message");
	fd = ferry_ps_take_fd(&r, 0);
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "taken, close-on-exec");
	ok(ferry_ps_take_fd(&r, 0) == -1 && ferry_ps_take_fd(&r, 1) == -1, "taken once only");
	ok(write(fd, "x", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x', "it is the same pipe");
	close(fd);
	close(p[0]);
	ok(ferry_ps_get_u32(&r) == 1 && ferry_ps_done(&r), "the payload too");
}

static void
entry(struct ferry_xfer_manifest *m, const char *path, uint32_t mode, uint64_t size, const char *link)
{
	struct ferry_xfer_entry *e;

	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	e = &m->v[m->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->mode = mode;
	e->size = size;
	e->link = link ? xstrdup(link) : NULL;
}

/* A manifest through the framing: the monitor's side checks it again. */
static int
manifest_trip(struct ferry_xfer_manifest *in, struct ferry_xfer_manifest *out, ferry_error_t *e)
{
	_cleanup_ps_msg_ struct ferry_ps_msg m = { 0 }, r = { 0 };

	ferry_ps_init(&m, 3);
	ferry_ps_put_manifest(&m, in);
	if (ferry_ps_send(sv[0], &m, NULL, 0, e) < 0 || ferry_ps_recv(sv[1], &r, e) != 0)
		abort();
	if (ferry_ps_get_manifest(&r, out, e) < 0)
		return -1;
	return ferry_ps_done(&r) ? 0 : -1;
}

static void
test_manifest(void)
{
	struct ferry_xfer_manifest m = { 0 }, out = { 0 };
	ferry_error_t e = FERRY_ERROR_INIT;

	entry(&m, "", S_IFDIR | 0755, 0, NULL);
	entry(&m, "etc", S_IFDIR | 0755, 0, NULL);
	entry(&m, "etc/passwd", S_IFREG | 0644, 42, NULL);
	entry(&m, "lib", S_IFLNK | 0777, 0, "usr/lib");
	ok(manifest_trip(&m, &out, &e) == 0 && out.n == 4 && out.total_bytes == 42, "a manifest round trip");
	ok(out.n == 4 && strcmp(out.v[3].link, "usr/lib") == 0 && out.v[2].size == 42, "entries kept");
	ferry_xfer_manifest_free(&out);

	free(m.v[2].path);
	m.v[2].path = xstrdup("../etc/shadow");
	ok(manifest_trip(&m, &out, &e) < 0 && strstr(e.msg, "refused"), "a path out of the tree is refused: %s", e.msg);
	ferry_error_clear(&e);
	free(m.v[2].path);
	m.v[2].path = xstrdup("etc/passwd");

	m.v[2].mode = S_IFCHR | 0600;
	ok(manifest_trip(&m, &out, &e) < 0 && strstr(e.msg, "refused"), "a device node is refused: %s", e.msg);
	ferry_error_clear(&e);
	m.v[2].mode = S_IFREG | 0644;

	free(m.v[1].path);
	m.v[1].path = xstrdup("var");
	ok(manifest_trip(&m, &out, &e) < 0 && strstr(e.msg, "before its parent"), "a child before its parent is "
										     "refused: %s",
	   e.msg);
	ferry_error_clear(&e);
	ferry_xfer_manifest_free(&m);

	/* A count that the payload cannot hold: no allocation for it. */
	{
		_cleanup_ps_msg_ struct ferry_ps_msg r = { 0 };
		raw((unsigned char[]) { 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x10, 0 }, 12);
		if (ferry_ps_recv(sv[1], &r, &e) != 0)
			abort();
		ok(ferry_ps_get_manifest(&r, &out, &e) < 0, "1M entries in 4 bytes refused: %s", e.msg);
		ferry_error_clear(&e);
	}
}

static void
test_drop(void)
{
	char dir[] = "/tmp/ferry-privsep-XXXXXX";
	pid_t pid;
	int status = 0;

	if (geteuid() != 0) {
		ok(1, "# SKIP not root: dropping privileges needs them first");
		return;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0555) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		ferry_error_t e = FERRY_ERROR_INIT;
		const int keep[] = { 1 };
		int bad = 0;
		if (ferry_ps_drop_privileges(dir, keep, 1, &e) < 0)
			_exit(10);
		/* Each of these would be a way back. */
		bad |= (getuid() == 0 || geteuid() == 0 || getgid() == 0) << 0;
		bad |= (open("/etc/hostname", O_RDONLY) >= 0) << 1;
		bad |= (setuid(0) == 0) << 2;
		bad |= (mkdir("/x", 0700) == 0) << 3;
		bad |= (fcntl(sv[0], F_GETFD) >= 0) << 4; /* closed: not in keep */
		_exit(bad);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "dropped: not root, the host's files out of sight, no way back, other descriptors closed (status %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* A root directory the unprivileged user could write is refused. */
	chmod(dir, 0777);
	pid = fork();
	if (pid == 0) {
		ferry_error_t e = FERRY_ERROR_INIT;
		_exit(ferry_ps_drop_privileges(dir, NULL, 0, &e) < 0 && strstr(e.msg, "nobody else can write") ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a writable chroot is refused");
	rmdir(dir);
}

int
main(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	test_round_trip();
	test_malformed();
	test_torn();
	test_fds();
	test_manifest();
	test_drop();
	return tap_done();
}
