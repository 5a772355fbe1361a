/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xfer: scan a tree, send its manifest through JSON, bring a second tree in
 * line with it, and check that hostile manifests are refused without
 * anything being created outside the destination.  Works in mkdtemp
 * directories under /tmp, removed at the end.  Ownership is kept as the
 * test's own uid, so it also runs unprivileged.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"
#include "xfer.h"

static char top[64]; /* holds A, B and the "outside" witness directory */
static int fd_a = -1, fd_b = -1;

static void
die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
put(int dfd, const char *path, const char *data, time_t mtime)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

	if (fd < 0 || ferry_write_all(fd, data, strlen(data)) < 0 || futimens(fd, ts) < 0)
		die(path);
	close(fd);
}

static void
mkd(int dfd, const char *path)
{
	if (mkdirat(dfd, path, 0755) < 0)
		die(path);
}

/* Receives the files prepare said are needed, reading them from A. */
static int
copy_needed(const struct ferry_xfer_manifest *m, const size_t *need, size_t n, ferry_error_t *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct ferry_xfer_entry *e = &m->v[need[i]];
		_cleanup_close_ int in = ferry_xfer_send_open(fd_a, e, err);
		_cleanup_close_ int out = -1;
		char buf[4096];
		uint64_t total = 0;
		ssize_t r;

		if (in < 0)
			return -1;
		out = ferry_xfer_recv_open(fd_b, e, err);
		if (out < 0)
			return -1;
		while ((r = read(in, buf, sizeof(buf))) > 0) {
			if (ferry_write_all(out, buf, (size_t) r) < 0)
				return ferry_error_sys(err, "write");
			total += (uint64_t) r;
		}
		if (ferry_xfer_recv_finish(out, e, total, err) < 0)
			return -1;
	}
	return ferry_xfer_finish_dirs(fd_b, m, err);
}

static bool
exists_at(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
show_err(ferry_error_t *err)
{
	_cleanup_free_ char *s = ferry_error_string(err);

	printf("#   error: %s\n", s ? s : "(none)");
}

/* Loads a manifest from JSON text; 0 or -1 with err set. */
static int
load(const char *text, struct ferry_xfer_manifest *m, ferry_error_t *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
	int r;

	if (j == NULL)
		return ferry_error_set(err, 0, "bad test JSON: %s", jerr.text);
	r = ferry_xfer_manifest_from_json(j, m, err);
	json_decref(j);
	return r;
}

#define TOPDIR "{\"p\":\"\",\"m\":16877,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}"
#define DIR(p) "{\"p\":\"" p "\",\"m\":16877,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}"
#define REG(p) "{\"p\":\"" p "\",\"m\":33188,\"u\":0,\"g\":0,\"s\":3,\"t\":0,\"n\":0}"

static void
refused(const char *name, const char *json, const char *expect)
{
	struct ferry_xfer_manifest m = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;
	int r = load(json, &m, &err);

	ok(r < 0 && err.msg && strstr(err.msg, expect), "refused: %s (error mentions \"%s\")", name, expect);
	if (!(r < 0 && err.msg && strstr(err.msg, expect)))
		show_err(&err);
	ferry_xfer_manifest_free(&m);
	ferry_error_clear(&err);
}

static void
test_path_ok(void)
{
	static const char *good[] = { "", "a", "a/b", "a.b/..c", "...", ".a/b." };
	static const char *bad[] = { "/etc/x", "../x", "a/../../x", "a//b", "./a", "a/.", "a/", ".", "..", "/" };
	char longp[FERRY_XFER_MAX_PATH + 2];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok(ferry_xfer_path_ok(good[i]), "path_ok(\"%s\")", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(!ferry_xfer_path_ok(bad[i]), "!path_ok(\"%s\")", bad[i]);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ok(!ferry_xfer_path_ok(longp), "!path_ok(%zu bytes)", strlen(longp));
}

static void
test_attacks(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;

	refused("../x", "{\"entries\":[" TOPDIR "," REG("../x") "]}", "refused");
	refused("/etc/x", "{\"entries\":[" TOPDIR "," REG("/etc/x") "]}", "not a relative path");
	refused("a/../../x", "{\"entries\":[" TOPDIR "," DIR("a") "," REG("a/../../x") "]}", "refused");
	refused("a//b", "{\"entries\":[" TOPDIR "," DIR("a") "," REG("a//b") "]}", "refused");
	refused("./a", "{\"entries\":[" TOPDIR "," REG("./a") "]}", "refused");
	refused("symlink a -> / then a/pwned",
		"{\"entries\":[" TOPDIR ",{\"p\":\"a\",\"m\":41471,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0,\"l\":\"/\"},"
		REG("a/pwned") "]}",
		"parent a is not a directory");
	refused("symlink a -> .. then a/pwned",
		"{\"entries\":[" TOPDIR ",{\"p\":\"a\",\"m\":41471,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0,\"l\":\"..\"},"
		REG("a/pwned") "]}",
		"parent a is not a directory");
	refused("device node (S_IFCHR)",
		"{\"entries\":[" TOPDIR ",{\"p\":\"null\",\"m\":8630,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}]}",
		"not a regular file, directory or symlink");
	refused("fifo", "{\"entries\":[" TOPDIR ",{\"p\":\"f\",\"m\":4516,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}]}",
		"not a regular file, directory or symlink");
	refused("mode bits above the type (0300644)",
		"{\"entries\":[" TOPDIR ",{\"p\":\"f\",\"m\":98724,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}]}",
		"refused: mode 0300644");
	refused("duplicate", "{\"entries\":[" TOPDIR "," REG("a") "," REG("a") "]}", "duplicate");
	refused("duplicate top", "{\"entries\":[" TOPDIR "," TOPDIR "]}", "duplicate");
	refused("child before parent", "{\"entries\":[" TOPDIR "," REG("d/f") "," DIR("d") "]}",
		"before its parent");
	refused("no top directory first", "{\"entries\":[" REG("a") "]}", "top directory");
	refused("oversized size",
		"{\"entries\":[" TOPDIR ",{\"p\":\"big\",\"m\":33188,\"u\":0,\"g\":0,\"s\":1099511627777,\"t\":0,\"n\":0}]}",
		"out of range");
	refused("negative size",
		"{\"entries\":[" TOPDIR ",{\"p\":\"x\",\"m\":33188,\"u\":0,\"g\":0,\"s\":-1,\"t\":0,\"n\":0}]}",
		"out of range");
	refused("size as a string",
		"{\"entries\":[" TOPDIR ",{\"p\":\"x\",\"m\":33188,\"u\":0,\"g\":0,\"s\":\"3\",\"t\":0,\"n\":0}]}",
		"not an integer");
	refused("unknown key",
		"{\"entries\":[" TOPDIR ",{\"p\":\"x\",\"m\":33188,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0,\"z\":1}]}",
		"unknown key");
	refused("NUL in a path",
		"{\"entries\":[" TOPDIR ",{\"p\":\"a\\u0000b\",\"m\":33188,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0}]}",
		"refused");
	refused("link on a file",
		"{\"entries\":[" TOPDIR ",{\"p\":\"x\",\"m\":33188,\"u\":0,\"g\":0,\"s\":0,\"t\":0,\"n\":0,\"l\":\"y\"}]}",
		"not a symlink");

	/* too many entries: refused from the array size, before allocating */
	{
		json_t *arr = json_array(), *j;
		struct ferry_xfer_manifest m = { 0 };
		json_t *one = json_object();

		for (size_t i = 0; i < (size_t) FERRY_XFER_MAX_ENTRIES + 1; i++)
			json_array_append(arr, one);
		json_decref(one);
		j = json_pack("{s:o}", "entries", arr);
		ok(ferry_xfer_manifest_from_json(j, &m, &err) < 0 && err.msg && strstr(err.msg, "more than the limit"),
		   "refused: %u entries", FERRY_XFER_MAX_ENTRIES + 1);
		json_decref(j);
		ferry_error_clear(&err);
	}

	/*
	 * The same symlink escape, but with the manifest built by hand so that
	 * from_json's checks are bypassed: the confinement in prepare and
	 * recv_open must hold on its own.
	 */
	{
		struct ferry_xfer_entry v[3] = {
			{ .path = (char *) "", .mode = S_IFDIR | 0755, .uid = getuid(), .gid = getgid() },
			{ .path = (char *) "a", .mode = S_IFLNK | 0777, .uid = getuid(), .gid = getgid(), .link = NULL },
			{ .path = (char *) "a/pwned", .mode = S_IFREG | 0644, .uid = getuid(), .gid = getgid(), .size = 0 },
		};
		struct ferry_xfer_manifest m = { .v = v, .n = 3 };
		_cleanup_free_ char *outside = xasprintf("%s/outside", top);
		_cleanup_close_ int fd_out = -1;
		_cleanup_free_ size_t *need = NULL;
		size_t n_need = 0;
		uint64_t bytes;
		int fd;

		if (mkdir(outside, 0755) < 0)
			die(outside);
		fd_out = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		v[1].link = xstrdup(outside);
		ok(ferry_xfer_prepare(fd_b, &m, false, &need, &n_need, &bytes, &err) < 0 || n_need == 1,
		   "hand-made manifest with a -> outside: prepare fails or only asks for a/pwned");
		ferry_error_clear(&err);
		fd = ferry_xfer_recv_open(fd_b, &v[2], &err);
		ok(fd < 0 && err.msg && strstr(err.msg, "a/pwned: refused"), "recv_open a/pwned through the symlink refused");
		if (fd >= 0)
			close(fd);
		ferry_error_clear(&err);
		ok(!exists_at(fd_out, "pwned"), "nothing created outside the destination");
		free(v[1].link);
		v[1].link = xstrdup("..");
		fd = ferry_xfer_recv_open(fd_b, &v[2], &err);
		ok(fd < 0, "recv_open a/pwned with a -> .. refused");
		if (fd >= 0)
			close(fd);
		ferry_error_clear(&err);
		free(v[1].link);
		ok(!exists_at(fd_out, "pwned") && !exists_at(fd_b, "../pwned"), "still nothing outside");
		unlinkat(fd_b, "a", 0);
	}
}

static void
test_tree(void)
{
	_cleanup_manifest_ struct ferry_xfer_manifest m = { 0 };
	_cleanup_manifest_ struct ferry_xfer_manifest back = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ size_t *need = NULL;
	_cleanup_free_ char *text = NULL;
	size_t n_need = 0, skipped = 99;
	uint64_t bytes = 0;
	bool same = false;
	json_t *j;
	int r;

	mkd(fd_a, "etc");
	mkd(fd_a, "usr");
	mkd(fd_a, "usr/bin");
	mkd(fd_a, "empty");
	put(fd_a, "etc/hostname", "web1\n", 1000000);
	put(fd_a, "usr/bin/tool", "#!/bin/sh\necho hi\n", 1000001);
	put(fd_a, "zz", "", 1000002);
	if (symlinkat("usr/bin", fd_a, "bin") < 0 || symlinkat("/etc/passwd", fd_a, "etc/abs") < 0 ||
	    mkfifoat(fd_a, "fifo", 0600) < 0)
		die("symlink/fifo");
	if (fchmodat(fd_a, "usr/bin/tool", 04755, 0) < 0)
		die("chmod");

	r = ferry_xfer_scan(fd_a, true, NULL, &m, &skipped, &err);
	ok(r == 0, "scan A");
	ok(m.n == 10 && skipped == 1, "10 entries, the fifo skipped (got %zu, %zu)", m.n, skipped);
	ok(m.n > 0 && strcmp(m.v[0].path, "") == 0 && S_ISDIR(m.v[0].mode), "first entry is the top directory");
	{
		static const char *order[] = { "", "bin", "empty", "etc", "etc/abs", "etc/hostname", "usr", "usr/bin",
					       "usr/bin/tool", "zz" };
		bool good = m.n >= ARRAY_SIZE(order);

		for (size_t i = 0; good && i < ARRAY_SIZE(order); i++)
			good = strcmp(m.v[i].path, order[i]) == 0;
		ok(good, "pre-order, sorted by name");
	}
	ok(m.total_bytes == 5 + 18, "total_bytes %" PRIu64, m.total_bytes);

	j = ferry_xfer_manifest_to_json(&m);
	text = json_dumps(j, JSON_COMPACT);
	r = ferry_xfer_manifest_from_json(j, &back, &err);
	json_decref(j);
	ok(r == 0 && back.n == m.n && back.total_bytes == m.total_bytes, "to_json -> from_json");
	{
		bool eq = back.n == m.n;

		for (size_t i = 0; eq && i < m.n; i++) {
			const struct ferry_xfer_entry *a = &m.v[i], *b = &back.v[i];

			eq = strcmp(a->path, b->path) == 0 && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
			     a->size == b->size && a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
			     ((a->link == NULL && b->link == NULL) || (a->link && b->link && !strcmp(a->link, b->link)));
		}
		ok(eq, "round trip keeps every field");
	}

	r = ferry_xfer_prepare(fd_b, &back, false, &need, &n_need, &bytes, &err);
	ok(r == 0, "prepare on an empty B");
	if (r < 0)
		show_err(&err);
	ok(n_need == 3 && bytes == 23, "every file needed (%zu files, %" PRIu64 " bytes)", n_need, bytes);
	ok(exists_at(fd_b, "usr/bin") && exists_at(fd_b, "empty") && exists_at(fd_b, "bin"),
	   "directories and symlinks made by prepare");
	{
		char buf[64];
		ssize_t n = readlinkat(fd_b, "etc/abs", buf, sizeof(buf) - 1);

		ok(n == 11 && memcmp(buf, "/etc/passwd", 11) == 0, "absolute symlink target stored as given");
	}
	r = ferry_xfer_matches(fd_b, &back, &same, &err);
	ok(r == 0 && !same, "B does not match yet");

	r = copy_needed(&back, need, n_need, &err);
	ok(r == 0, "files copied with recv_open/recv_finish");
	if (r < 0)
		show_err(&err);
	{
		struct stat st;

		ok(fstatat(fd_b, "usr/bin/tool", &st, 0) == 0 && (st.st_mode & 07777) == 04755,
		   "setuid bit survives recv_finish");
	}
	free(need);
	need = NULL;
	r = ferry_xfer_prepare(fd_b, &back, false, &need, &n_need, &bytes, &err);
	ok(r == 0 && n_need == 0 && bytes == 0, "prepare again: nothing needed (%zu)", n_need);
	r = ferry_xfer_matches(fd_b, &back, &same, &err);
	ok(r == 0 && same, "B matches A");

	/* one changed file */
	put(fd_a, "etc/hostname", "web2!\n", 2000000);
	ferry_xfer_manifest_free(&m);
	ferry_xfer_scan(fd_a, true, NULL, &m, NULL, &err);
	free(need);
	need = NULL;
	r = ferry_xfer_prepare(fd_b, &m, false, &need, &n_need, &bytes, &err);
	ok(r == 0 && n_need == 1 && strcmp(m.v[need[0]].path, "etc/hostname") == 0 && bytes == 6,
	   "changed file: exactly etc/hostname needed");
	r = copy_needed(&m, need, n_need, &err);
	ok(r == 0 && ferry_xfer_matches(fd_b, &m, &same, &err) == 0 && same, "matches after copying it");

	/* extra entries: kept without prune, removed with it */
	mkd(fd_b, "usr/extra");
	put(fd_b, "usr/extra/f", "x", 5);
	put(fd_b, "stray", "x", 5);
	free(need);
	need = NULL;
	r = ferry_xfer_prepare(fd_b, &m, false, &need, &n_need, &bytes, &err);
	ok(r == 0 && exists_at(fd_b, "stray") && ferry_xfer_matches(fd_b, &m, &same, &err) == 0 && !same,
	   "without prune extra entries stay and B does not match");
	free(need);
	need = NULL;
	r = ferry_xfer_prepare(fd_b, &m, true, &need, &n_need, &bytes, &err);
	ok(r == 0 && n_need == 0 && !exists_at(fd_b, "stray") && !exists_at(fd_b, "usr/extra"),
	   "prune removes the extra file and directory");
	ok(ferry_xfer_matches(fd_b, &m, &same, &err) == 0 && same, "matches after prune");

	/* a symlink where a directory belongs is replaced, not followed */
	{
		_cleanup_free_ char *outside = xasprintf("%s/outside2", top);
		_cleanup_close_ int fd_out = -1;
		struct stat st;

		if (mkdir(outside, 0700) < 0)
			die(outside);
		fd_out = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ferry_rm_rf_at(fd_b, "usr", &err) < 0 || symlinkat(outside, fd_b, "usr") < 0)
			die("replace usr");
		free(need);
		need = NULL;
		r = ferry_xfer_prepare(fd_b, &m, true, &need, &n_need, &bytes, &err);
		ok(r == 0 && fstatat(fd_b, "usr", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode),
		   "pre-existing symlink usr -> outside replaced by a directory");
		ok(n_need == 1 && strcmp(m.v[need[0]].path, "usr/bin/tool") == 0, "usr/bin/tool needed again");
		r = copy_needed(&m, need, n_need, &err);
		ok(r == 0 && !exists_at(fd_out, "bin") && !exists_at(fd_out, "bin/tool"),
		   "nothing written through the old symlink");
		ok(fstat(fd_out, &st) == 0 && (st.st_mode & 07777) == 0700, "outside directory's mode untouched");
	}
	/* a file where a directory belongs, a directory where a file belongs */
	{
		if (ferry_rm_rf_at(fd_b, "empty", &err) < 0 || ferry_rm_rf_at(fd_b, "zz", &err) < 0)
			die("rm");
		put(fd_b, "empty", "not a dir", 1);
		mkd(fd_b, "zz");
		put(fd_b, "zz/inside", "x", 1);
		free(need);
		need = NULL;
		r = ferry_xfer_prepare(fd_b, &m, false, &need, &n_need, &bytes, &err);
		ok(r == 0 && n_need == 1 && strcmp(m.v[need[0]].path, "zz") == 0, "wrong types replaced, zz needed");
		r = copy_needed(&m, need, n_need, &err);
		ok(r == 0 && ferry_xfer_matches(fd_b, &m, &same, &err) == 0 && same, "matches again");
	}
	/* a hard link planted in B to a file outside it is replaced, not written through */
	{
		_cleanup_free_ char *victim = xasprintf("%s/victim", top);
		_cleanup_free_ char *linkp = xasprintf("%s/B/etc/hostname", top);
		_cleanup_free_ char *content = NULL;
		int tfd = open(victim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (tfd < 0 || ferry_write_all(tfd, "precious", 8) < 0)
			die(victim);
		close(tfd);
		if (unlink(linkp) < 0 || link(victim, linkp) < 0)
			die("link");
		put(fd_a, "etc/hostname", "web3\n", 3000000);
		ferry_xfer_manifest_free(&m);
		ferry_xfer_scan(fd_a, true, NULL, &m, NULL, &err);
		free(need);
		need = NULL;
		r = ferry_xfer_prepare(fd_b, &m, false, &need, &n_need, &bytes, &err);
		r = r == 0 ? copy_needed(&m, need, n_need, &err) : r;
		ok(r == 0 && n_need == 1 && ferry_read_file(victim, 64, &content, NULL, &err) == 0 &&
		   strcmp(content, "precious") == 0,
		   "hard link to a file outside B: the outside file is untouched");
		ok(ferry_xfer_matches(fd_b, &m, &same, &err) == 0 && same, "and B matches A");
	}

	/* ignore: neither listed nor descended into */
	{
		static const char *const ign[] = { "usr/bin", "etc/abs", NULL };
		_cleanup_manifest_ struct ferry_xfer_manifest mi = { 0 };
		bool listed = false;

		r = ferry_xfer_scan(fd_a, true, ign, &mi, NULL, &err);
		for (size_t i = 0; r == 0 && i < mi.n; i++)
			listed |= strncmp(mi.v[i].path, "usr/bin", 7) == 0 || strcmp(mi.v[i].path, "etc/abs") == 0;
		ok(r == 0 && mi.n == 7 && !listed, "scan with ignore skips usr/bin (and below) and etc/abs (%zu)", mi.n);
	}
	/* a hand-built manifest whose top entry is not a directory */
	{
		struct ferry_xfer_entry v[1] = { { .path = (char *) "", .mode = S_IFREG | 0644 } };
		struct ferry_xfer_manifest bad = { .v = v, .n = 1 };

		free(need);
		need = NULL;
		r = ferry_xfer_prepare(fd_b, &bad, true, &need, &n_need, &bytes, &err);
		ok(r < 0 && exists_at(fd_b, "etc/hostname"), "top entry as a file refused, B left alone");
		ferry_error_clear(&err);
	}
	(void) text;
	ferry_error_clear(&err);
}

static void
test_send_open(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_xfer_entry e = { .path = (char *) "bin", .mode = S_IFREG | 0644 };
	int fd = ferry_xfer_send_open(fd_a, &e, &err);

	ok(fd < 0, "send_open refuses a symlink where a file was listed");
	if (fd >= 0)
		close(fd);
	ferry_error_clear(&err);
	e.path = (char *) "bin/tool";
	fd = ferry_xfer_send_open(fd_a, &e, &err);
	ok(fd < 0 && err.msg && strstr(err.msg, "refused"), "send_open refuses a path through a symlink");
	if (fd >= 0)
		close(fd);
	ferry_error_clear(&err);
}

int
main(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	_cleanup_free_ char *a = NULL, *b = NULL;

	snprintf(top, sizeof(top), "/tmp/ferry-xfer-XXXXXX");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	a = xasprintf("%s/A", top);
	b = xasprintf("%s/B", top);
	if (mkdir(a, 0755) < 0 || mkdir(b, 0755) < 0)
		die("mkdir");
	fd_a = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd_b = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_a < 0 || fd_b < 0)
		die("open");

	test_path_ok();
	test_attacks();
	test_tree();
	test_send_open();

	close(fd_a);
	close(fd_b);
	{
		int tfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (tfd < 0 || ferry_rm_rf_at(tfd, top + strlen("/tmp/"), &err) < 0)
			printf("# cleanup of %s failed\n", top);
		if (tfd >= 0)
			close(tfd);
	}
	ferry_error_clear(&err);
	return tap_done();
}
