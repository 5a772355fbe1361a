/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * criu_kdat: the /run that ferry's CRIU children see on hosts whose /run
 * is not a tmpfs.  A forked child plays CRIU: it enters the prepared
 * namespace, checks that /run is a tmpfs holding the host's entries (the
 * same inodes) and saves a kdat file as CRIU would; the parent keeps it,
 * and the next child finds it.  The host's /run and mount table must not
 * change.
 *
 * Needs root (mount namespaces); skipped where /run is a tmpfs (CRIU keeps
 * its cache there itself and ferry stays out of the way).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu_kdat.h"
#include "tap.h"
#include "util.h"

static const char fake_kdat[] = "kdat: a stand-in for CRIU's kerndat struct";

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (f == NULL)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* The child: 0 when everything holds, else the number of the first check
 * that failed. */
static int
play_criu(const struct ferry_criu_kdat *k, const struct stat *host_entry, const char *entry, bool expect_cached)
{
	struct statfs sf;
	struct stat sb;
	char buf[256];
	ssize_t n;
	int fd;

	ferry_criu_kdat_child(k);
	if (statfs("/run", &sf) < 0 || sf.f_type != TMPFS_MAGIC)
		return 2;
	if (entry) {
		char p[4096];
		snprintf(p, sizeof(p), "/run/%s", entry);
		if (lstat(p, &sb) < 0 || sb.st_ino != host_entry->st_ino || sb.st_dev != host_entry->st_dev)
			return 3;
	}
	fd = open("/run/criu.kdat", O_RDONLY);
	if (expect_cached) {
		if (fd < 0)
			return 4;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n != (ssize_t) sizeof(fake_kdat) || memcmp(buf, fake_kdat, sizeof(fake_kdat)) != 0)
			return 5;
		return 0;
	}
	if (fd >= 0)
		return 6;
	/* what CRIU does when it found no cache and /run is a tmpfs */
	fd = open("/run/criu.kdat.tmp", O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0 || write(fd, fake_kdat, sizeof(fake_kdat)) != (ssize_t) sizeof(fake_kdat))
		return 7;
	close(fd);
	if (rename("/run/criu.kdat.tmp", "/run/criu.kdat") < 0)
		return 8;
	return 0;
}

static int
run_child(struct ferry_criu_kdat *k, const struct stat *host_entry, const char *entry, bool expect_cached)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		_exit(play_criu(k, host_entry, entry, expect_cached));
	ferry_criu_kdat_forked(k);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int
main(void)
{
	struct ferry_criu_kdat k = FERRY_CRIU_KDAT_INIT;
	char dir[] = "/tmp/ferry-kdat.XXXXXX";
	struct statfs sf;
	struct stat host_entry = { 0 };
	char *entry = NULL;
	int mounts_before, rc;
	bool had_host_kdat = access("/run/criu.kdat", F_OK) == 0;
	_cleanup_free_ char *blob = NULL;
	_cleanup_free_ char *key = NULL;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	size_t len = 0;

	ferry_criu_kdat_configure(NULL);
	ferry_criu_kdat_prepare("/bin/true", &k);
	ok(k.mnt_fd < 0, "without a state root there is no private /run");
	ferry_criu_kdat_finish(&k);

	if (statfs("/run", &sf) == 0 && sf.f_type == TMPFS_MAGIC) {
		printf("ok %d # SKIP /run is a tmpfs here: CRIU keeps its own cache\n", ++tap_n);
		return tap_done();
	}
	if (geteuid() != 0) {
		printf("ok %d # SKIP needs root (mount namespaces)\n", ++tap_n);
		return tap_done();
	}
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	mounts_before = count_lines("/proc/self/mountinfo");
	ferry_criu_kdat_configure(dir);

	ferry_criu_kdat_prepare("/bin/true", &k);
	ok(k.mnt_fd >= 0, "with a state root and /run on disk, a tmpfs is prepared");
	ok(!k.cached, "no cache yet");
	ok(k.n > 0, "the host's /run entries are listed (%zu)", k.n);
	for (size_t i = 0; i < k.n; i++)
		if (k.e[i].bind) {
			char p[4096];
			snprintf(p, sizeof(p), "/run/%s", k.e[i].name);
			if (lstat(p, &host_entry) == 0) {
				entry = xstrdup(k.e[i].name);
				break;
			}
		}
	rc = run_child(&k, &host_entry, entry, false);
	ok(rc == 0, "the child's /run is a tmpfs with the host's entries bound, and CRIU can save there (check %d)",
	   rc);
	ferry_criu_kdat_finish(&k);
	ok(had_host_kdat || access("/run/criu.kdat", F_OK) != 0, "the host's /run got no criu.kdat");
	ok(count_lines("/proc/self/mountinfo") == mounts_before, "the host's mount table is unchanged");

	{
		int dfd = open(dir, O_PATH | O_DIRECTORY);
		ok(dfd >= 0 && ferry_read_file_at(dfd, ".criu-kdat", 4096, &blob, &len, &e) == 0 &&
			   len == sizeof(fake_kdat) && memcmp(blob, fake_kdat, len) == 0,
		   "what CRIU saved is kept in the state root");
		ok(dfd >= 0 && ferry_read_file_at(dfd, ".criu-kdat.key", 4096, &key, &len, &e) == 0 &&
			   strstr(key, "boot ") == key && strstr(key, "/bin/true") != NULL,
		   "with its key: the boot, the kernel and the CRIU binary");
		if (dfd >= 0)
			close(dfd);
	}

	ferry_criu_kdat_prepare("/bin/true", &k);
	ok(k.cached, "the next CRIU child gets the cache");
	rc = run_child(&k, &host_entry, entry, true);
	ok(rc == 0, "and finds it at /run/criu.kdat (check %d)", rc);
	ferry_criu_kdat_finish(&k);

	ferry_criu_kdat_prepare("/bin/sh", &k);
	ok(k.mnt_fd >= 0 && !k.cached, "another CRIU binary does not get this one's cache");
	ferry_criu_kdat_finish(&k);
	ok(count_lines("/proc/self/mountinfo") == mounts_before, "the host's mount table is still unchanged");

	free(entry);
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			ok(0, "cleanup of %s", dir);
	}
	return tap_done();
}
