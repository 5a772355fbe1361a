/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cr-workload NAME: a zdtm-style workload for the checkpoint/restore
 * matrix (tests/cli/cr-matrix.bats).  Linked statically so it runs in the
 * busybox rootfs.
 *
 * Every 50 ms it takes one step and checks that the kernel state it set up
 * is still what it expects (the checks run after a restore as before it).
 * /tmp/progress holds the number of steps done; the first failed check
 * writes "FAIL: why" to /tmp/status and exits 1.  /tmp must be a tmpfs
 * of the container (it is dumped with the image).
 *
 *   counter   a counter in memory mirrored in a file; both must agree
 *   offset    a file written record by record through one fd without
 *             O_APPEND: its offset must be exactly where the last record
 *             ended, and the records before it intact
 *   pipe      a parent writes 1, 2, 3... into a pipe; its child checks
 *             each number follows the last
 *   socketpair  a parent sends n over a unix stream socketpair; its child
 *             answers n + 1000000 on the same socket
 *   timer     a periodic POSIX timer (50 ms, SIGALRM taken with
 *             sigwaitinfo): it must still be armed with the same interval,
 *             and expirations keep arriving.  (Not a timerfd: CRIU 4.2.1
 *             reads a periodic timerfd that expired while frozen as
 *             it_value 0 from fdinfo and restores it disarmed; see
 *             docs/migration-notes.md.)
 *   memory    64 MiB of anonymous memory, every page holding its number
 *             in its first word and the complement in its last; each step
 *             checks and writes a 16th of it, and forks a child that
 *             checks another 16th and exits 1 on a bad page.  After a lazy
 *             restore both get their pages through the lazy-pages daemon
 *             (the children through userfaultfds of their own).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEP_NS (50 * 1000 * 1000L)

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd;
	int n = snprintf(msg, sizeof(msg), "FAIL: ");

	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - (size_t) n, fmt, ap);
	va_end(ap);
	if (errno)
		n += snprintf(msg + n, sizeof(msg) - (size_t) n, " (%s)", strerror(errno));
	fd = open("/tmp/status", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0) {
			/* nowhere else to say it */
		}
		close(fd);
	}
	_exit(1);
}

static void
progress(uint64_t n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", n);
	int fd = open("/tmp/progress.new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, buf, (size_t) len) != len || close(fd) < 0 ||
	    rename("/tmp/progress.new", "/tmp/progress") < 0)
		fail("write /tmp/progress");
}

static void
step_sleep(void)
{
	struct timespec ts = { 0, STEP_NS };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
counter(void)
{
	for (uint64_t i = 1;; i++) {
		FILE *f = fopen("/tmp/progress", "re");
		uint64_t seen = 0;

		if (f) {
			if (fscanf(f, "%" SCNu64, &seen) != 1)
				seen = 0;
			fclose(f);
		}
		errno = 0;
		if (seen != i - 1)
			fail("counter: memory says %" PRIu64 ", the file %" PRIu64, i - 1, seen);
		progress(i);
		step_sleep();
	}
}

static void
offset(void)
{
	int fd = open("/tmp/data", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		fail("open /tmp/data");
	for (uint64_t i = 1;; i++) {
		uint64_t rec;
		off_t pos = lseek(fd, 0, SEEK_CUR);

		errno = 0;
		if (pos != (off_t) ((i - 1) * sizeof(rec)))
			fail("offset: fd at %lld, expected %llu", (long long) pos,
			     (unsigned long long) ((i - 1) * sizeof(rec)));
		if (i > 1 && (pread(fd, &rec, sizeof(rec), pos - (off_t) sizeof(rec)) != sizeof(rec) || rec != i - 1))
			fail("offset: record %" PRIu64 " reads %" PRIu64, i - 1, rec);
		rec = i;
		if (write(fd, &rec, sizeof(rec)) != sizeof(rec))
			fail("offset: write");
		progress(i);
		step_sleep();
	}
}

static pid_t
fork_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return pid;
}

static void
pipe_pair(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe");
	if (fork_child() == 0) {
		uint64_t last = 0, n;

		close(p[1]);
		for (;;) {
			ssize_t r = read(p[0], &n, sizeof(n));
			if (r < 0 && errno == EINTR)
				continue;
			if (r != sizeof(n))
				fail("pipe: read returned %zd", r);
			errno = 0;
			if (n != last + 1)
				fail("pipe: got %" PRIu64 " after %" PRIu64, n, last);
			last = n;
			progress(n);
		}
	}
	close(p[0]);
	for (uint64_t i = 1;; i++) {
		if (write(p[1], &i, sizeof(i)) != sizeof(i))
			fail("pipe: write");
		step_sleep();
	}
}

static void
socket_pair(void)
{
	int sk[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk) < 0)
		fail("socketpair");
	if (fork_child() == 0) {
		uint64_t n;

		close(sk[0]);
		for (;;) {
			if (read(sk[1], &n, sizeof(n)) != sizeof(n))
				fail("socketpair: child read");
			n += 1000000;
			if (write(sk[1], &n, sizeof(n)) != sizeof(n))
				fail("socketpair: child write");
		}
	}
	close(sk[1]);
	for (uint64_t i = 1;; i++) {
		uint64_t r = 0;

		if (write(sk[0], &i, sizeof(i)) != sizeof(i) || read(sk[0], &r, sizeof(r)) != sizeof(r))
			fail("socketpair: exchange %" PRIu64, i);
		errno = 0;
		if (r != i + 1000000)
			fail("socketpair: sent %" PRIu64 ", got back %" PRIu64, i, r);
		progress(i);
		step_sleep();
	}
}

static void
timer(void)
{
	struct itimerspec its = { .it_interval = { 0, STEP_NS }, .it_value = { 0, STEP_NS } };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	uint64_t total = 0;
	timer_t t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || timer_create(CLOCK_MONOTONIC, &sev, &t) < 0 ||
	    timer_settime(t, 0, &its, NULL) < 0)
		fail("timer_create");
	for (;;) {
		struct itimerspec cur;
		siginfo_t si;

		if (sigwaitinfo(&set, &si) < 0) {
			if (errno == EINTR)
				continue;
			fail("timer: sigwaitinfo");
		}
		if (timer_gettime(t, &cur) < 0)
			fail("timer: gettime");
		errno = 0;
		if (cur.it_interval.tv_sec != 0 || cur.it_interval.tv_nsec != STEP_NS)
			fail("timer: interval is now %lld.%09ld s", (long long) cur.it_interval.tv_sec,
			     cur.it_interval.tv_nsec);
		if (cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0)
			fail("timer: disarmed");
		total += 1 + (uint64_t) (si.si_overrun > 0 ? si.si_overrun : 0);
		progress(total);
	}
}

#define MEM_PAGES (64u * 256u)
#define MEM_WORDS (4096u / sizeof(uint64_t))

/* The first bad page of [from, to), or -1. */
static long
memory_check(const uint64_t *m, size_t from, size_t to)
{
	for (size_t p = from; p < to; p++) {
		const uint64_t *w = m + p * MEM_WORDS;
		if (w[0] != p || w[MEM_WORDS - 1] != ~(uint64_t) p)
			return (long) p;
	}
	return -1;
}

static void
memory(void)
{
	uint64_t *m = mmap(NULL, (size_t) MEM_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	const size_t slice = MEM_PAGES / 16;

	if (m == MAP_FAILED)
		fail("memory: mmap");
	for (size_t p = 0; p < MEM_PAGES; p++) {
		m[p * MEM_WORDS] = p;
		m[p * MEM_WORDS + MEM_WORDS - 1] = ~(uint64_t) p;
	}
	for (uint64_t i = 1;; i++) {
		size_t mine = (size_t) (i % 16) * slice, theirs = (size_t) ((i + 8) % 16) * slice;
		long bad;
		int st = 0;
		pid_t c = fork();

		errno = 0;
		if (c < 0)
			fail("memory: fork");
		if (c == 0)
			_exit(memory_check(m, theirs, theirs + slice) < 0 ? 0 : 1);
		bad = memory_check(m, mine, mine + slice);
		if (bad >= 0)
			fail("memory: page %ld reads %" PRIu64 "/%" PRIx64, bad, m[(size_t) bad * MEM_WORDS],
			     m[(size_t) bad * MEM_WORDS + MEM_WORDS - 1]);
		for (size_t p = mine; p < mine + slice; p++)
			m[p * MEM_WORDS + 1] = i; /* dirty it */
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("memory: a child found a bad page in %zu-%zu (status 0x%x)", theirs, theirs + slice, st);
		progress(i);
		step_sleep();
	}
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} workloads[] = {
		{ "counter", counter }, { "offset", offset }, { "pipe", pipe_pair },
		{ "socketpair", socket_pair }, { "timer", timer }, { "memory", memory },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: cr-workload counter|offset|pipe|socketpair|timer|memory\n");
		return 2;
	}
	unlink("/tmp/status");
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			workloads[i].run();
	fprintf(stderr, "cr-workload: unknown workload %s\n", argv[1]);
	return 2;
}
