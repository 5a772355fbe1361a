/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's init and exec children are forks of the ferry command, not new
 * programs: until they execve the container's process they run the ferry
 * binary, and /proc/PID/exe inside the container leads to it. Two ways in
 * from a container (both runc's CVE-2019-5736):
 *
 *  - open /proc/PID/exe of the init or of an entering child while it still
 *    runs ferry, hold the fd, and write through /proc/self/fd/N as soon as
 *    no process executes the binary any more (ETXTBSY is gone);
 *  - make the program `ferry exec` is asked to run a script starting with
 *    "#!/proc/self/exe": execve resolves it in the entering child, which is
 *    ferry, so the container ends up running the host's ferry binary as an
 *    ordinary (dumpable) container process, and the first way applies.
 *
 * init.c makes the children non-dumpable until execve, which closes the
 * first way; only this closes the second. As runc and crun do, every
 * command that puts a process into a container re-executes itself from a
 * memfd copy sealed against writing, growing and shrinking: what a
 * container can reach is then that copy, which nothing can change, never
 * the file on the host.
 */
#define LOG_PREFIX "sealed-exe: "
#include "sealed_exe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool
fd_is_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

bool
ferry_sealed_exe_is_self(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	return fd >= 0 && fd_is_sealed(fd);
}

static int
make_memfd(ferry_error_t *err)
{
	int fd;

	/* Since Linux 6.3 a memfd may be created non-executable (and
	 * vm.memfd_noexec may make that the default): ask for exec rights,
	 * and fall back to the old call on kernels that do not know the flag. */
	fd = memfd_create("ferry", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("ferry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return ferry_error_sys(err, "memfd_create");
	return fd;
}

int
ferry_sealed_exe_reexec(char *const argv[], ferry_error_t *err)
{
	_cleanup_close_ int self = -1, mfd = -1;
	struct stat st;
	off_t done = 0;

	self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return ferry_error_sys(err, "protect the ferry binary: open /proc/self/exe");
	if (fd_is_sealed(self))
		return 0;
	if (fstat(self, &st) < 0)
		return ferry_error_sys(err, "protect the ferry binary: stat /proc/self/exe");
	mfd = make_memfd(err);
	if (mfd < 0)
		return ferry_error_prefix(err, "protect the ferry binary");
	while (done < st.st_size) {
		ssize_t n = sendfile(mfd, self, NULL, (size_t) (st.st_size - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ferry_error_sys(err, "protect the ferry binary: copy it to a memfd");
		done += n;
	}
	/* F_SEAL_WRITE fails with EBUSY while the kernel still holds a
	 * reference to pages of the file (the copy's pages in flight): seen
	 * now and then in the test suite; it passes a moment later. */
	for (int tries = 0; fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0; tries++) {
		if (errno != EBUSY || tries >= 100)
			return ferry_error_sys(err, "protect the ferry binary: seal its copy");
		usleep(1000);
	}
	pr_debug("re-executing from a sealed copy (%lld bytes)", (long long) st.st_size);
	/* An ELF binary runs from a close-on-exec fd (only scripts need the
	 * fd to outlive the exec). */
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return ferry_error_sys(err, "protect the ferry binary: execute its sealed copy");
}
