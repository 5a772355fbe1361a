/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtouch: a process that holds N MiB of memory it keeps changing, for the
 * migration benchmark's "httpd + 1 GiB" workload.
 *
 *   memtouch MIB LOGFILE [INTERVAL_MS]
 *
 * It maps MIB MiB of anonymous memory, writes every page once (so every page
 * is resident and must be migrated), then rewrites the pages in order,
 * forever, with a value that changes on every pass (so no page ever becomes
 * a zero page or a copy of an older image, and a pre-copy would always find
 * it dirty).  Every INTERVAL_MS (default 100) it appends one line to LOGFILE:
 *
 *   <CLOCK_REALTIME ns> <pages written per second since the last line> <passes>
 *
 * The benchmark reads these lines to see how fast the workload ran before a
 * migration and while its pages were still arriving (post-copy). The clock is
 * CLOCK_REALTIME so the lines line up with the benchmark's phase marks; a
 * frozen interval shows up as a line whose rate is low and whose timestamp
 * comes late.
 *
 * The log is opened O_APPEND and written with one write() per line, so a
 * reader never sees half a line; it lives on the container's tmpfs, which
 * CRIU carries across the migration with the rest of the state.
 *
 * Built statically (the busybox rootfs has no libc): no dependencies beyond
 * libc, no threads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define NS_PER_S 1000000000LL
/* Look at the clock only every so many pages: a clock_gettime per page would
 * measure the vDSO, not memory. 1024 pages is well under a millisecond. */
#define CLOCK_EVERY 1024UL

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "memtouch: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t) ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static long
parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		die("bad %s", what);
	return v;
}

static void
log_line(int fd, int64_t real, double rate, uint64_t passes)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 " %.0f %" PRIu64 "\n", real, rate, passes);
	/* A failed write (tmpfs full) must not stop the workload: the rate is a
	 * measurement, the memory traffic is the point. */
	if (n > 0 && write(fd, buf, (size_t) n) < 0)
		return;
}

int
main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: memtouch MIB LOGFILE [INTERVAL_MS]\n");
		return 2;
	}
	long mib = parse_long(argv[1], 1, 1L << 20, "MIB");
	long interval_ms = argc == 4 ? parse_long(argv[3], 10, 60000, "INTERVAL_MS") : 100;
	int64_t interval_ns = (int64_t) interval_ms * 1000000;

	int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot open log: %s", strerror(errno));

	size_t len = (size_t) mib << 20;
	unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	/* No transparent huge pages: the benchmark is about 4 KiB pages moving
	 * one by one (what userfaultfd and CRIU's page server handle), and THP
	 * availability differs between machines. */
	madvise(mem, len, MADV_NOHUGEPAGE);

	size_t npages = len / PAGE;
	for (size_t i = 0; i < npages; i++)
		mem[i * PAGE] = 1;

	uint64_t passes = 0, done = 0;
	int64_t last_mono = now_ns(CLOCK_MONOTONIC);
	for (;;) {
		/* One 8-byte store per page, at an offset that moves with the pass so
		 * the whole page changes over time, with a value nobody else wrote. */
		size_t off = (passes * 64) % PAGE;
		uint64_t v = passes * 0x9e3779b97f4a7c15ULL + 1;
		for (size_t i = 0; i < npages; i++) {
			*(volatile uint64_t *) (mem + i * PAGE + off) = v ^ i;
			if (++done % CLOCK_EVERY == 0) {
				int64_t m = now_ns(CLOCK_MONOTONIC);
				if (m - last_mono >= interval_ns) {
					double rate = (double) done * NS_PER_S / (double) (m - last_mono);
					log_line(fd, now_ns(CLOCK_REALTIME), rate, passes);
					done = 0;
					last_mono = m;
				}
			}
		}
		passes++;
	}
}
