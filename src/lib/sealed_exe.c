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

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
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

/*
 * How much of the binary the copy needs: everything any program header
 * points at (the loaded segments hold the ELF and program headers, the
 * interpreter's name, the dynamic section, the notes).  What follows is
 * for tools only: the section headers, the symbol table and, in a build
 * with -g (meson's default debugoptimized), the debug info, which is
 * most of the file (1.9 MB against 0.5 MB here) and cost 0.7 ms of
 * copying on every create, run and exec.  The copy's ELF header is then
 * made to say that it has no section headers, as strip --strip-sections
 * would.  0 when the file does not look like an ELF file of our own
 * class: then all of it is copied.
 */
static off_t
loaded_size(int fd, off_t file_size)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	off_t end;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return 0;
	end = (off_t) (eh.e_phoff + (ElfW(Off)) eh.e_phnum * sizeof(ph));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t) (eh.e_phoff + i * sizeof(ph))) != (ssize_t) sizeof(ph))
			return 0;
		if ((off_t) (ph.p_offset + ph.p_filesz) > end)
			end = (off_t) (ph.p_offset + ph.p_filesz);
	}
	return end <= file_size ? end : 0;
}

/* The copy stops before the section headers: say there are none. */
static int
drop_section_headers(int mfd)
{
	ElfW(Ehdr) eh;

	if (pread(mfd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh))
		return -1;
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	return pwrite(mfd, &eh, sizeof(eh), 0) == (ssize_t) sizeof(eh) ? 0 : -1;
}

int
ferry_sealed_exe_reexec(char *const argv[], ferry_error_t *err)
{
	_cleanup_close_ int self = -1, mfd = -1;
	struct stat st;
	off_t done = 0, size;

	self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return ferry_error_sys(err, "protect the ferry binary: open /proc/self/exe");
	if (fd_is_sealed(self))
		return 0;
	if (fstat(self, &st) < 0)
		return ferry_error_sys(err, "protect the ferry binary: stat /proc/self/exe");
	size = loaded_size(self, st.st_size);
	if (size == 0)
		size = st.st_size;
	mfd = make_memfd(err);
	if (mfd < 0)
		return ferry_error_prefix(err, "protect the ferry binary");
	while (done < size) {
		ssize_t n = sendfile(mfd, self, NULL, (size_t) (size - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ferry_error_sys(err, "protect the ferry binary: copy it to a memfd");
		done += n;
	}
	if (size < st.st_size && drop_section_headers(mfd) < 0)
		return ferry_error_sys(err, "protect the ferry binary: write its copy's ELF header");
	/* F_SEAL_WRITE fails with EBUSY while the kernel still holds a
	 * reference to pages of the file (the copy's pages in flight): seen
	 * now and then in the test suite; it passes a moment later. */
	for (int tries = 0; fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0; tries++) {
		if (errno != EBUSY || tries >= 100)
			return ferry_error_sys(err, "protect the ferry binary: seal its copy");
		usleep(1000);
	}
	pr_debug("re-executing from a sealed copy (%lld of %lld bytes)", (long long) size, (long long) st.st_size);
	/* An ELF binary runs from a close-on-exec fd (only scripts need the
	 * fd to outlive the exec). */
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return ferry_error_sys(err, "protect the ferry binary: execute its sealed copy");
}
