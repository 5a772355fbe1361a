/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sealed_exe.c: the test re-executes itself from the sealed copy, as
 * `ferry create/run/exec` do, and then checks from inside what a container
 * process reaching /proc/PID/exe would find.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "sealed_exe.h"
#include "tap.h"
#include "util.h"

#define REEXECED_ENV "FERRY_TEST_SEALED_EXE_REEXECED"

int
main(int argc, char **argv)
{
	_cleanup_error_ ferry_error_t err = FERRY_ERROR_INIT;
	char target[PATH_MAX] = "";
	int fd, seals;
	ssize_t n;

	(void) argc;
	if (getenv(REEXECED_ENV) == NULL) {
		ok(!ferry_sealed_exe_is_self(), "the test binary on disk is not a sealed copy");
		setenv(REEXECED_ENV, "1", 1);
		/* stdout is a pipe under tests/run-all: what is printed so far
		 * must not be printed twice by the re-executed image */
		fflush(stdout);
		ferry_sealed_exe_reexec(argv, &err);
		ok(0, "re-exec from a sealed copy: %s", err.msg ? err.msg : "returned");
		return tap_done();
	}
	/* the re-executed image: numbering goes on from the first */
	tap_n = 1;
	ok(ferry_sealed_exe_is_self(), "running from a sealed copy after the re-exec");
	n = readlink("/proc/self/exe", target, sizeof(target) - 1);
	if (n > 0)
		target[n] = '\0';
	ok(strncmp(target, "/memfd:ferry", strlen("/memfd:ferry")) == 0, "/proc/self/exe is the memfd (%s)", target);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
	ok(seals >= 0 && (seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) ==
				 (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
	   "sealed against write, grow, shrink and further changes (seals 0x%x)", seals);
	if (fd >= 0)
		close(fd);
	/* what CVE-2019-5736 does: open the exe for writing, truncating */
	fd = open("/proc/self/exe", O_WRONLY | O_TRUNC | O_CLOEXEC);
	/* ETXTBSY while it runs; once it does not, the seals refuse
	 * (EPERM: tests/cli/security.bats tries that from a container) */
	ok(fd < 0, "opening it to truncate fails (%s)", fd < 0 ? strerror(errno) : "opened");
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
	ok(fd < 0 || write(fd, "x", 1) < 0, "writing into it fails");
	if (fd >= 0)
		close(fd);
	ok(ferry_sealed_exe_reexec(argv, &err) == 0, "a second re-exec is not needed and returns at once");
	return tap_done();
}
