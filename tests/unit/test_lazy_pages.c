/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's lazy-pages daemon (src/lib/lazy_pages.c).
 *
 * The image decoders on synthetic pagemap and mm images; then the daemon
 * for real: a forked child plays the restored task (a userfaultfd over two
 * VMAs, handed over on lazy-pages.socket as CRIU's restore does, then the
 * end-of-restore word), a thread plays the source's page server (answers
 * cut short where its "pipe buffers" end, the goodbye answered), and the
 * child and a child it forks read every page back.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazy_pages.h"
#include "tap.h"
#include "terminal.h"
#include "util.h"

#define PG 4096u
#define COMMON 0x54564319u
#define PAGEMAP 0x56084025u
#define MM 0x57492820u

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void
put_u32(struct buf *b, uint32_t v)
{
	memcpy(b->b + b->n, &v, 4);
	b->n += 4;
}

static void
put_varint(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		b->b[b->n++] = (uint8_t) (c | (v ? 0x80 : 0));
	} while (v);
}

static void
put_field(struct buf *b, uint32_t f, uint64_t v)
{
	put_varint(b, (uint64_t) f << 3);
	put_varint(b, v);
}

/* Appends an entry (u32 size + message) to img. */
static void
put_entry(struct buf *img, const struct buf *msg)
{
	put_u32(img, (uint32_t) msg->n);
	memcpy(img->b + img->n, msg->b, msg->n);
	img->n += msg->n;
}

static void
pagemap_img(struct buf *img, const uint64_t (*e)[3], size_t n, bool compat_only)
{
	struct buf m = { .n = 0 };

	img->n = 0;
	put_u32(img, COMMON);
	put_u32(img, PAGEMAP);
	put_field(&m, 1, 1); /* pagemap_head.pages_id */
	put_entry(img, &m);
	for (size_t i = 0; i < n; i++) {
		m.n = 0;
		put_field(&m, 1, e[i][0]);
		put_field(&m, 2, e[i][1]);
		put_field(&m, 4, e[i][2]);
		if (!compat_only)
			put_field(&m, 5, e[i][1]);
		put_entry(img, &m);
	}
}

static void
mm_img(struct buf *img, const uint64_t (*v)[2], size_t n)
{
	struct buf m = { .n = 0 }, vma;

	img->n = 0;
	put_u32(img, COMMON);
	put_u32(img, MM);
	put_field(&m, 1, 0x400000); /* mm_start_code, something before the vmas */
	for (size_t i = 0; i < n; i++) {
		vma.n = 0;
		put_field(&vma, 1, v[i][0]);
		put_field(&vma, 2, v[i][1]);
		put_field(&vma, 6, 0x22); /* flags: MAP_PRIVATE | MAP_ANONYMOUS */
		put_varint(&m, (14u << 3) | 2);
		put_varint(&m, vma.n);
		memcpy(m.b + m.n, vma.b, vma.n);
		m.n += vma.n;
	}
	put_entry(img, &m);
}

static void
test_decoders(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_lazy_run *runs = NULL;
	uint64_t *ends = NULL;
	size_t n = 0;
	struct buf img;
	const uint64_t pm[][3] = {
		{ 0x10000, 2, FERRY_PE_PRESENT },		 /* not lazy: restored by CRIU */
		{ 0x20000, 300, FERRY_PE_PRESENT | FERRY_PE_LAZY },
		{ 0x200000, 1, FERRY_PE_LAZY | FERRY_PE_PRESENT },
	};
	const uint64_t bad[][3] = {
		{ 0x20000, 4, FERRY_PE_LAZY },
		{ 0x21000, 4, FERRY_PE_LAZY }, /* overlaps the first */
	};

	pagemap_img(&img, pm, 3, false);
	ok(ferry_lazy_parse_pagemap(img.b, img.n, &runs, &n, &err) == 0 && n == 2 && runs[0].vaddr == 0x20000 &&
		   runs[0].nr_pages == 300 && runs[1].vaddr == 0x200000 && runs[1].nr_pages == 1,
	   "pagemap: only the lazy entries, with their sizes (%s)", err.msg ? err.msg : "ok");
	free(runs);
	pagemap_img(&img, pm, 3, true);
	ok(ferry_lazy_parse_pagemap(img.b, img.n, &runs, &n, &err) == 0 && n == 2 && runs[0].nr_pages == 300,
	   "pagemap: an image with only compat_nr_pages (older CRIU) reads the same");
	free(runs);
	pagemap_img(&img, bad, 2, false);
	ok(ferry_lazy_parse_pagemap(img.b, img.n, &runs, &n, &err) < 0 && err.msg && strstr(err.msg, "overlap"),
	   "pagemap: overlapping entries are refused (%s)", err.msg ? err.msg : "");
	ferry_error_clear(&err);
	pagemap_img(&img, pm, 3, false);
	ok(ferry_lazy_parse_pagemap(img.b, img.n - 3, &runs, &n, &err) < 0 && err.msg &&
		   strstr(err.msg, "truncated"),
	   "pagemap: a truncated image is refused (%s)", err.msg ? err.msg : "");
	ferry_error_clear(&err);
	img.b[4] ^= 1;
	ok(ferry_lazy_parse_pagemap(img.b, img.n, &runs, &n, &err) < 0 && err.msg && strstr(err.msg, "magic"),
	   "pagemap: another image's magic is refused");
	ferry_error_clear(&err);

	const uint64_t vmas[][2] = { { 0x20000, 0x80000 }, { 0x80000, 0x180000 }, { 0x200000, 0x201000 } };
	mm_img(&img, vmas, 3);
	ok(ferry_lazy_parse_vma_ends(img.b, img.n, &ends, &n, &err) == 0 && n == 6 && ends[0] == 0x20000 &&
		   ends[3] == 0x180000,
	   "mm: the VMAs' bounds, past the fields before them (%s)", err.msg ? err.msg : "ok");
	free(ends);
	ok(ferry_lazy_parse_vma_ends(img.b, img.n - 1, &ends, &n, &err) < 0, "mm: a truncated image is refused");
	ferry_error_clear(&err);

	/* read_runs: the run of 300 pages is cut where the first VMA ends. */
	char dir[] = "/tmp/ferry-lz-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pagemap_img(&img, pm, 3, false);
	ferry_write_file_atomic_at(dfd, "pagemap-7.img", img.b, img.n, 0600, &err);
	mm_img(&img, vmas, 3);
	ferry_write_file_atomic_at(dfd, "mm-7.img", img.b, img.n, 0600, &err);
	ok(ferry_lazy_read_runs(dfd, 7, &runs, &n, &err) == 0 && n == 3 && runs[0].vaddr == 0x20000 &&
		   runs[0].nr_pages == 0x60 && runs[1].vaddr == 0x80000 && runs[1].nr_pages == 300 - 0x60 &&
		   runs[2].vaddr == 0x200000,
	   "read_runs: a lazy run across two VMAs is split where the first ends (%s)", err.msg ? err.msg : "ok");
	free(runs);
	ok(ferry_lazy_read_runs(dfd, 8, &runs, &n, &err) < 0 && err.msg && strstr(err.msg, "pagemap-8.img"),
	   "read_runs: a missing image is named (%s)", err.msg ? err.msg : "");
	ferry_error_clear(&err);
	ferry_rm_rf_at(AT_FDCWD, dir, &err);
	close(dfd);
}

/* ---------------------------------------------------- the daemon, for real */

#define NPAGES 96u
#define LAZY_PAGES 80u /* pages [0, 80) lazy; [80, 96) registered but empty */
#define SPLIT 48u      /* the second VMA starts here */
#define PS_BUF 32u     /* the fake page server's "pipe buffers" end every 32 pages */
#define VPID 4242

static uint8_t
pattern(uint64_t addr)
{
	return (uint8_t) ((addr >> 12) * 7 + 1);
}

struct ps_arg {
	int fd;
	int gets, short_answers;
	bool goodbye;
	char error[128];
};

static void *
fake_page_server(void *arg)
{
	struct ps_arg *a = arg;
	static uint8_t page[PS_BUF * PG];

	for (;;) {
		struct ferry_ps_iov pi;
		ssize_t r = recv(a->fd, &pi, sizeof(pi), MSG_WAITALL);
		if (r != (ssize_t) sizeof(pi)) {
			snprintf(a->error, sizeof(a->error), "the client went away without a goodbye");
			return NULL;
		}
		if (pi.cmd == FERRY_PS_IOV_FORCE_CLOSE) {
			int32_t st = 0;
			a->goodbye = true;
			if (send(a->fd, &st, sizeof(st), MSG_NOSIGNAL) != sizeof(st))
				snprintf(a->error, sizeof(a->error), "goodbye answer");
			return NULL;
		}
		if (pi.cmd != FERRY_PS_IOV_GET || pi.dst_id != VPID || pi.nr_pages == 0) {
			snprintf(a->error, sizeof(a->error), "bad request cmd %u pid %llu", pi.cmd,
				 (unsigned long long) pi.dst_id);
			return NULL;
		}
		a->gets++;
		uint64_t page_no = pi.vaddr / PG, to_end = PS_BUF - page_no % PS_BUF;
		if (pi.nr_pages > to_end) {
			pi.nr_pages = to_end;
			a->short_answers++;
		}
		for (uint64_t i = 0; i < pi.nr_pages; i++)
			memset(page + i * PG, pattern(pi.vaddr + i * PG), PG);
		pi.cmd = FERRY_PS_IOV_ADD_F | (FERRY_PE_PRESENT << FERRY_PS_CMD_BITS);
		if (ferry_write_all(a->fd, &pi, sizeof(pi)) < 0 || ferry_write_all(a->fd, page, pi.nr_pages * PG) < 0) {
			snprintf(a->error, sizeof(a->error), "answer: %s", strerror(errno));
			return NULL;
		}
	}
}

/* 0 when every page reads right: lazy ones the pattern, the others 0. */
static int
check_pages(const uint8_t *base, unsigned from, unsigned to)
{
	for (unsigned p = from; p < to; p++) {
		const uint8_t *pg = base + (size_t) p * PG;
		uint8_t want = p < LAZY_PAGES ? pattern((uint64_t) (uintptr_t) pg) : 0;
		for (unsigned i = 0; i < PG; i += 512)
			if (pg[i] != want)
				return (int) p + 1;
	}
	return 0;
}

/* The restored task: registers, hands its uffd over, reads its memory. */
static int
restored_task(const char *sock, uint8_t *base)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
					      UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP };
	struct uffdio_register reg = { .range = { (uint64_t) (uintptr_t) base, NPAGES * PG },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int u = (int) syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int pid = VPID;
	uint32_t fin = FERRY_LAZY_RESTORE_FINISHED;
	ferry_error_t e = FERRY_ERROR_INIT;

	if (u < 0 || ioctl(u, UFFDIO_API, &api) < 0 || ioctl(u, UFFDIO_REGISTER, &reg) < 0)
		return 10;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return 11;
	/* as CRIU's send_uffd: the pid, then the fd on one byte */
	if (send(s, &pid, sizeof(pid), 0) != sizeof(pid) || ferry_fd_send(s, u, "x", &e) < 0)
		return 12;
	close(u);
	if (send(s, &fin, sizeof(fin), 0) != sizeof(fin))
		return 13;
	close(s);
	/* A child made now has its own userfaultfd (UFFD_EVENT_FORK) and
	 * gets the pages its parent did not have yet. */
	pid_t c = fork();
	if (c == 0)
		_exit(check_pages(base, 40, 70) ? 21 : 0);
	int st;
	int bad = check_pages(base, 0, NPAGES);
	if (bad)
		return 30 + (bad > 60 ? 60 : bad);
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 20;
	return 0;
}

static void
test_daemon(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	char dir[] = "/tmp/ferry-lz-XXXXXX", sock[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ferry_lazy_stats st;
	struct buf img;
	int sp[2], lfd, dfd, status = -1;
	pthread_t th;
	struct ps_arg pa = { 0 };

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(sock, sizeof(sock), "%s/lazy-pages.socket", dir);
	/* Two VMAs that do not merge (one is MAP_NORESERVE). */
	uint8_t *base = mmap(NULL, NPAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok(base != MAP_FAILED &&
		   mmap(base, SPLIT * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
			   base &&
		   mmap(base + SPLIT * PG, (NPAGES - SPLIT) * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == base + SPLIT * PG,
	   "two adjacent anonymous VMAs");
	const uint64_t pm[][3] = { { (uint64_t) (uintptr_t) base, LAZY_PAGES, FERRY_PE_LAZY | FERRY_PE_PRESENT } };
	const uint64_t vm[][2] = { { (uint64_t) (uintptr_t) base, (uint64_t) (uintptr_t) base + SPLIT * PG },
				   { (uint64_t) (uintptr_t) base + SPLIT * PG, (uint64_t) (uintptr_t) base + NPAGES * PG } };
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pagemap_img(&img, pm, 1, false);
	ferry_write_file_atomic_at(dfd, "pagemap-4242.img", img.b, img.n, 0600, &err);
	mm_img(&img, vm, 2);
	ferry_write_file_atomic_at(dfd, "mm-4242.img", img.b, img.n, 0600, &err);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok(lfd >= 0 && bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0,
	   "lazy-pages.socket listens");
	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "a connection to the page server");

	pid_t child = fork();
	if (child == 0) {
		close(lfd);
		close(sp[0]);
		close(sp[1]);
		_exit(restored_task(sock, base));
	}
	pa.fd = sp[1];
	pthread_create(&th, NULL, fake_page_server, &pa);

	struct ferry_lazy_opts o = {
		.images_dir = dfd,
		.listen_fd = lfd,
		.ps_fd = sp[0],
		.log_fd = -1,
		/* 12 does not divide the server's 32: some request always
		 * runs past the end of one of its buffers */
		.window = 24 * PG,
		.chunk = 12 * PG,
		.fault_chunk = 2 * PG,
		.timeout_ms = 10000,
		.wait_status = true,
	};
	int r = ferry_lazy_pages_serve(&o, &st, &err);
	ok(r == 0, "the daemon serves the restore until every page is in (%s)", err.msg ? err.msg : "ok");
	pthread_join(th, NULL);
	waitpid(child, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the task and its fork read every page right: the lazy ones, and zeros elsewhere (exit %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ok(pa.goodbye && pa.error[0] == '\0', "the page server got its goodbye (%s)", pa.error);
	ok(pa.short_answers > 0, "answers cut short where the server's buffers end were asked again (%d)",
	   pa.short_answers);
	ok(st.tasks == 1 && st.pages_copied >= LAZY_PAGES,
	   "stats: 1 task, %llu pages copied of %llu, %llu zero, %llu faults, %llu requests",
	   (unsigned long long) st.pages_copied, (unsigned long long) st.pages_total,
	   (unsigned long long) st.pages_zero, (unsigned long long) st.faults, (unsigned long long) st.requests);

	/* A page server that dies: the daemon fails and says so. */
	ferry_error_clear(&err);
	close(sp[0]);
	close(sp[1]);
	ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "a second connection");
	child = fork();
	if (child == 0) {
		close(lfd);
		close(sp[0]);
		close(sp[1]);
		_exit(restored_task(sock, base) == 0 ? 0 : 1);
	}
	close(sp[1]); /* the page server is gone before it answers */
	o.ps_fd = sp[0];
	r = ferry_lazy_pages_serve(&o, &st, &err);
	ok(r < 0 && err.msg && strstr(err.msg, "page server"), "a page server gone is an error that says so (%s)",
	   err.msg ? err.msg : "");
	/* The task waits on pages that will never come: it goes, as the
	 * session would make it go. */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(sp[0]);
	close(lfd);
	ferry_error_clear(&err);
	ferry_rm_rf_at(AT_FDCWD, dir, &err);
	ferry_error_clear(&err);
	close(dfd);
}

int
main(void)
{
	test_decoders();
	test_daemon();
	return tap_done();
}
