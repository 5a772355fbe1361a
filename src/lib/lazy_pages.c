/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's lazy-pages daemon (see lazy_pages.h for the protocols).
 *
 * Every restored task has a page space: its lazy runs in image order, page
 * k of the task being page (k - first) of the run holding it.  Two bitmaps
 * over that space say which pages are in ("have": copied, or not wanted any
 * more because the task unmapped them) and which are asked for and on
 * their way.  A task made by fork() during the post-copy gets a copy of
 * both and its own userfaultfd; an answer of the page server is copied into
 * every task of that image pid still missing the page.  mremap() moves a
 * run's run-time address, never its page numbers or its image address.
 */
#define LOG_PREFIX "lazy-pages: "
#include "lazy_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pb_wire.h"
#include "terminal.h"
#include "util.h"

#define PAGE 4096u
#define IMG_COMMON_MAGIC 0x54564319u
#define PAGEMAP_MAGIC 0x56084025u
#define MM_MAGIC 0x57492820u
#define IMG_MAX (64u << 20)

/* ------------------------------------------------------------ images */

static int
read_image(int dir, const char *name, uint32_t magic, uint8_t **buf, size_t *len, ferry_error_t *err)
{
	if (ferry_read_file_at(dir, name, IMG_MAX, (char **) buf, len, err) < 0)
		return -1;
	if (*len < 8 || ferry_get_u32(*buf) != IMG_COMMON_MAGIC || ferry_get_u32(*buf + 4) != magic) {
		free(*buf);
		*buf = NULL;
		return ferry_error_set(err, EINVAL, "%s: not a CRIU image of this kind (magic)", name);
	}
	return 0;
}

/* The next entry of an image: u32 size, then the message. 0 at the end. */
static int
next_entry(const uint8_t **p, const uint8_t *end, struct ferry_pb *e)
{
	uint32_t size;

	if (*p == end)
		return 0;
	if (end - *p < 4)
		return -1;
	size = ferry_get_u32(*p);
	*p += 4;
	if (size > (size_t) (end - *p))
		return -1;
	e->p = *p;
	e->end = *p + size;
	*p += size;
	return 1;
}

int
ferry_lazy_parse_pagemap(const void *buf, size_t len, struct ferry_lazy_run **out, size_t *n, ferry_error_t *err)
{
	const uint8_t *p = buf, *end = p + len;
	struct ferry_lazy_run *runs = NULL;
	size_t nr = 0, cap = 0;
	struct ferry_pb e;
	int r;
	bool head = true;

	*out = NULL;
	*n = 0;
	if (len < 8 || ferry_get_u32(p) != IMG_COMMON_MAGIC || ferry_get_u32(p + 4) != PAGEMAP_MAGIC)
		return ferry_error_set(err, EINVAL, "pagemap: bad magic");
	p += 8;
	while ((r = next_entry(&p, end, &e)) > 0) {
		uint64_t vaddr = 0, nr_pages = 0, compat = 0, flags = 0;
		bool has_vaddr = false;

		if (head) { /* pagemap_head { pages_id }: nothing for us */
			head = false;
			continue;
		}
		while (e.p < e.end) {
			uint32_t f;
			unsigned int wt;
			uint64_t v;

			if (ferry_pb_tag(&e, &f, &wt) < 0)
				goto bad;
			if (f >= 1 && f <= 5 && wt == FERRY_PB_VARINT) {
				if (ferry_pb_varint(&e, &v) < 0)
					goto bad;
				if (f == 1) {
					vaddr = v;
					has_vaddr = true;
				} else if (f == 2) {
					compat = v;
				} else if (f == 4) {
					flags = v;
				} else if (f == 5) {
					nr_pages = v;
				}
			} else if (ferry_pb_skip(&e, wt) < 0) {
				goto bad;
			}
		}
		if (!has_vaddr || (vaddr % PAGE) != 0)
			goto bad;
		if (nr_pages == 0)
			nr_pages = compat;
		if (!(flags & FERRY_PE_LAZY) || nr_pages == 0)
			continue;
		if (nr_pages > (UINT64_MAX - vaddr) / PAGE)
			goto bad;
		if (nr > 0 && vaddr < runs[nr - 1].vaddr + runs[nr - 1].nr_pages * PAGE) {
			free(runs);
			return ferry_error_set(err, EINVAL, "pagemap: entries overlap or are not sorted at 0x%" PRIx64,
					       vaddr);
		}
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			runs = xrealloc(runs, cap * sizeof(*runs));
		}
		runs[nr++] = (struct ferry_lazy_run) { vaddr, nr_pages };
	}
	if (r < 0)
		goto bad;
	*out = runs;
	*n = nr;
	return 0;
bad:
	free(runs);
	return ferry_error_set(err, EINVAL, "pagemap: truncated or malformed entry");
}

int
ferry_lazy_parse_vma_ends(const void *buf, size_t len, uint64_t **ends, size_t *n, ferry_error_t *err)
{
	const uint8_t *p = buf, *end = p + len;
	struct ferry_pb e;
	uint64_t *v = NULL;
	size_t nr = 0, cap = 0;

	*ends = NULL;
	*n = 0;
	if (len < 8 || ferry_get_u32(p) != IMG_COMMON_MAGIC || ferry_get_u32(p + 4) != MM_MAGIC)
		return ferry_error_set(err, EINVAL, "mm: bad magic");
	p += 8;
	if (next_entry(&p, end, &e) <= 0)
		return ferry_error_set(err, EINVAL, "mm: no entry");
	while (e.p < e.end) {
		uint32_t f;
		unsigned int wt;
		struct ferry_pb vma;
		uint64_t start = 0, stop = 0;

		if (ferry_pb_tag(&e, &f, &wt) < 0)
			goto bad;
		if (f != 14 || wt != FERRY_PB_LEN) { /* mm_entry.vmas = 14 */
			if (ferry_pb_skip(&e, wt) < 0)
				goto bad;
			continue;
		}
		if (ferry_pb_sub(&e, &vma) < 0)
			goto bad;
		while (vma.p < vma.end) {
			uint32_t vf;
			unsigned int vwt;
			uint64_t x;

			if (ferry_pb_tag(&vma, &vf, &vwt) < 0)
				goto bad;
			if ((vf == 1 || vf == 2) && vwt == FERRY_PB_VARINT) {
				if (ferry_pb_varint(&vma, &x) < 0)
					goto bad;
				if (vf == 1)
					start = x;
				else
					stop = x;
			} else if (ferry_pb_skip(&vma, vwt) < 0) {
				goto bad;
			}
		}
		if (stop <= start)
			goto bad;
		if (nr + 2 > cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[nr++] = start;
		v[nr++] = stop;
	}
	*ends = v;
	*n = nr;
	return 0;
bad:
	free(v);
	return ferry_error_set(err, EINVAL, "mm: truncated or malformed entry");
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

int
ferry_lazy_read_runs(int images_dir, int pid, struct ferry_lazy_run **out, size_t *n, ferry_error_t *err)
{
	_cleanup_free_ uint8_t *pm = NULL, *mm = NULL;
	_cleanup_free_ uint64_t *ends = NULL;
	struct ferry_lazy_run *runs = NULL, *split = NULL;
	size_t pm_len, mm_len, nruns, nends, ns = 0, cap;
	char name[64];

	*out = NULL;
	*n = 0;
	snprintf(name, sizeof(name), "pagemap-%d.img", pid);
	if (read_image(images_dir, name, PAGEMAP_MAGIC, &pm, &pm_len, err) < 0)
		return -1;
	if (ferry_lazy_parse_pagemap(pm, pm_len, &runs, &nruns, err) < 0)
		return ferry_error_prefix(err, "%s", name);
	snprintf(name, sizeof(name), "mm-%d.img", pid);
	if (read_image(images_dir, name, MM_MAGIC, &mm, &mm_len, err) < 0 ||
	    ferry_lazy_parse_vma_ends(mm, mm_len, &ends, &nends, err) < 0) {
		free(runs);
		return ferry_error_prefix(err, "%s", name);
	}
	qsort(ends, nends, sizeof(*ends), cmp_u64);
	/* Cut every run where a VMA starts or ends inside it. */
	cap = nruns + nends + 1;
	split = xmalloc0(cap * sizeof(*split));
	for (size_t i = 0, j = 0; i < nruns; i++) {
		uint64_t a = runs[i].vaddr, b = a + runs[i].nr_pages * PAGE;

		while (j < nends && ends[j] <= a)
			j++;
		while (a < b) {
			uint64_t cut = b;

			while (j < nends && ends[j] <= a)
				j++;
			if (j < nends && ends[j] < b)
				cut = ends[j];
			if (ns == cap) {
				cap *= 2;
				split = xrealloc(split, cap * sizeof(*split));
			}
			split[ns++] = (struct ferry_lazy_run) { a, (cut - a) / PAGE };
			a = cut;
		}
	}
	free(runs);
	*out = split;
	*n = ns;
	return 0;
}

/* ------------------------------------------------------------ the daemon */

struct range {
	uint64_t addr;	/* at run time (mremap moves it) */
	uint64_t img;	/* at dump time: what the page server knows */
	uint64_t pages;
	uint64_t first; /* its first page in the task's page space */
};

struct task {
	int pid; /* in the image */
	int uffd;
	struct range *r;
	size_t nr;
	bool remapped; /* addr order may differ from img order */
	uint64_t total, in;
	uint64_t *have, *asked;
	uint64_t cursor; /* where the background fetch goes on */
	bool wanted_done; /* every page is in or asked */
};

struct req {
	int pid;
	uint64_t img, pages;
};

struct lz {
	const struct ferry_lazy_opts *o;
	struct ferry_lazy_stats *st;
	struct task *t;
	size_t nt;
	int sk; /* the restore's connection */
	bool finished; /* the restore said it is done */
	/* requests in flight, in order: a ring */
	struct req *q;
	size_t qcap, qhead, qlen;
	uint64_t inflight;
	/* the answer being read */
	struct ferry_ps_iov hdr;
	size_t hdr_got;
	uint8_t *buf;
	size_t buf_got, buf_want;
	bool in_body;
	/* requests not yet written */
	struct ferry_ps_iov *out;
	size_t out_cap, out_len, out_off; /* out_off: bytes of out[0..] written */
	struct timespec t0;
	bool started;
};

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) (t.tv_sec - t0->tv_sec) * 1e3 + (double) (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void __attribute__((format(printf, 2, 3)))
lz_log(struct lz *z, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (z->o->log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "(%9.3f ms) ", z->started ? ms_since(&z->t0) : 0.0);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
	va_end(ap);
	if (n >= (int) sizeof(line) - 1)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	if (write(z->o->log_fd, line, (size_t) n) < 0) {
		/* the log is a courtesy */
	}
}

static inline bool
bit(const uint64_t *m, uint64_t k)
{
	return (m[k / 64] >> (k % 64)) & 1;
}

static inline void
set_bit(uint64_t *m, uint64_t k)
{
	m[k / 64] |= 1ull << (k % 64);
}

static inline void
clear_bit(uint64_t *m, uint64_t k)
{
	m[k / 64] &= ~(1ull << (k % 64));
}

static void
task_gone(struct lz *z, struct task *t)
{
	if (t->uffd >= 0) {
		close(t->uffd);
		t->uffd = -1;
	}
	lz_log(z, "task %d gone with %" PRIu64 " of %" PRIu64 " pages in", t->pid, t->in, t->total);
	t->in = t->total;
}

static void
mark_in(struct task *t, uint64_t k)
{
	if (!bit(t->have, k)) {
		set_bit(t->have, k);
		t->in++;
	}
}

/*
 * The range holding key, by binary search on one of the ranges' starts:
 * `first` (a page number; a range spans `pages` of them), `img` or `addr`
 * (addresses; a range spans pages * PAGE bytes).  The ranges are sorted by
 * all three, except by `addr` once mremap has moved one.
 */
static struct range *
range_by(struct task *t, size_t start_off, uint64_t unit, uint64_t key)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint64_t start;

		memcpy(&start, (const char *) &t->r[mid] + start_off, sizeof(start));
		if (key < start)
			hi = mid;
		else if (key >= start + t->r[mid].pages * unit)
			lo = mid + 1;
		else
			return &t->r[mid];
	}
	return NULL;
}

static struct range *
range_of_page(struct task *t, uint64_t k)
{
	return range_by(t, offsetof(struct range, first), 1, k);
}

static struct range *
range_of_img(struct task *t, uint64_t img)
{
	return range_by(t, offsetof(struct range, img), PAGE, img);
}

static struct range *
range_of_addr(struct task *t, uint64_t addr)
{
	if (t->remapped) {
		for (size_t i = 0; i < t->nr; i++)
			if (addr >= t->r[i].addr && addr < t->r[i].addr + t->r[i].pages * PAGE)
				return &t->r[i];
		return NULL;
	}
	return range_by(t, offsetof(struct range, addr), PAGE, addr);
}

/* Splits the range holding run-time address addr there (no-op at an end). */
static void
split_at(struct task *t, uint64_t addr)
{
	struct range *r = range_of_addr(t, addr);
	size_t i;
	uint64_t off;

	if (r == NULL || r->addr == addr)
		return;
	i = (size_t) (r - t->r);
	off = (addr - r->addr) / PAGE;
	t->r = xrealloc(t->r, (t->nr + 1) * sizeof(*t->r));
	memmove(&t->r[i + 2], &t->r[i + 1], (t->nr - i - 1) * sizeof(*t->r));
	t->nr++;
	t->r[i + 1] = (struct range) { t->r[i].addr + off * PAGE, t->r[i].img + off * PAGE, t->r[i].pages - off,
				       t->r[i].first + off };
	t->r[i].pages = off;
}

/* ---- requests out */

static void
queue_req(struct lz *z, int pid, uint64_t img, uint64_t pages)
{
	if (z->qlen == z->qcap) {
		size_t ncap = z->qcap ? z->qcap * 2 : 64;
		struct req *nq = xmalloc0(ncap * sizeof(*nq));
		for (size_t i = 0; i < z->qlen; i++)
			nq[i] = z->q[(z->qhead + i) % z->qcap];
		free(z->q);
		z->q = nq;
		z->qcap = ncap;
		z->qhead = 0;
	}
	z->q[(z->qhead + z->qlen) % z->qcap] = (struct req) { pid, img, pages };
	z->qlen++;
	z->inflight += pages * PAGE;
	if (z->out_len == z->out_cap) {
		z->out_cap = z->out_cap ? z->out_cap * 2 : 64;
		z->out = xrealloc(z->out, z->out_cap * sizeof(*z->out));
	}
	z->out[z->out_len++] = (struct ferry_ps_iov) { .cmd = FERRY_PS_IOV_GET, .nr_pages = pages, .vaddr = img,
						       .dst_id = (uint64_t) pid };
	z->st->requests++;
}

static int
flush_out(struct lz *z, ferry_error_t *err)
{
	while (z->out_len > 0) {
		size_t total = z->out_len * sizeof(*z->out);
		ssize_t w = send(z->o->ps_fd, (char *) z->out + z->out_off, total - z->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return ferry_error_sys(err, "sending to the page server");
		}
		z->out_off += (size_t) w;
		if (z->out_off == total)
			z->out_len = z->out_off = 0;
	}
	return 0;
}

/* Asks for up to max pages from page k on: those neither in nor asked,
 * inside k's range. Returns how many were asked. */
static uint64_t
ask_from(struct lz *z, struct task *t, uint64_t k, uint64_t max)
{
	struct range *r = range_of_page(t, k);
	uint64_t n = 0;

	if (r == NULL)
		return 0;
	while (n < max && k + n < r->first + r->pages && !bit(t->have, k + n) && !bit(t->asked, k + n)) {
		set_bit(t->asked, k + n);
		n++;
	}
	if (n > 0)
		queue_req(z, t->pid, r->img + (k - r->first) * PAGE, n);
	return n;
}

/* The next page from k on (wrapping once) neither in nor asked. */
static bool
next_wanted(struct task *t, uint64_t k, uint64_t *out)
{
	uint64_t words = (t->total + 63) / 64;

	for (uint64_t pass = 0; pass < 2; pass++) {
		uint64_t from = pass == 0 ? k : 0, to = pass == 0 ? t->total : k;
		for (uint64_t w = from / 64; w < words && w * 64 < to; w++) {
			uint64_t free_bits = ~(t->have[w] | t->asked[w]);
			if (w == from / 64)
				free_bits &= ~0ull << (from % 64);
			while (free_bits) {
				uint64_t p = w * 64 + (uint64_t) __builtin_ctzll(free_bits);
				if (p >= to)
					break;
				*out = p;
				return true;
			}
		}
	}
	return false;
}

/*
 * Keeps the window full.  The smallest task first: a server's small
 * processes (httpd beside a process holding a GiB) get all of their memory
 * in the first milliseconds, instead of each of their faults waiting
 * behind a window of the big one's pages.  Within a task, from its cursor:
 * where its last fault was.
 */
static void
background(struct lz *z)
{
	uint64_t chunk = z->o->chunk / PAGE;

	if (!z->finished)
		return; /* CRIU's rule: the VMAs are registered once the restore is done */
	while (z->inflight < z->o->window) {
		struct task *best = NULL;
		uint64_t k = 0;

		for (size_t i = 0; i < z->nt; i++) {
			struct task *t = &z->t[i];
			uint64_t c;
			if (t->uffd < 0 || t->wanted_done || (best && t->total >= best->total))
				continue;
			if (!next_wanted(t, t->cursor, &c)) {
				t->wanted_done = true; /* until a short answer clears a bit */
				continue;
			}
			best = t;
			k = c;
		}
		if (best == NULL)
			return;
		best->cursor = k + ask_from(z, best, k, chunk);
	}
}

/* ---- copying in */

/* The pages [k, k + n) of t, all in one range, from src. */
static int
copy_in(struct lz *z, struct task *t, uint64_t k, uint64_t n, const uint8_t *src, ferry_error_t *err);

static int read_events(struct lz *z, size_t ti, ferry_error_t *err);

/* Copies go in slices of this many pages, with the faults seen to in
 * between: a big answer never keeps a faulting thread waiting long. */
#define SLICE 64

/* The userfaultfds that have something, without waiting. */
static int
service(struct lz *z, ferry_error_t *err)
{
	struct pollfd pf[64];
	size_t base = 0;

	while (base < z->nt) {
		size_t n = 0;
		for (size_t i = base; i < z->nt && n < ARRAY_SIZE(pf); i++)
			pf[n++] = (struct pollfd) { .fd = z->t[i].uffd, .events = POLLIN };
		if (poll(pf, n, 0) > 0) {
			for (size_t i = 0; i < n; i++)
				if ((pf[i].revents & POLLIN) && read_events(z, base + i, err) < 0)
					return -1;
		}
		base += n;
	}
	return flush_out(z, err);
}

static int
copy_run(struct lz *z, size_t ti, uint64_t k, uint64_t n, const uint8_t *src, ferry_error_t *err)
{
	while (n > 0) {
		struct task *t = &z->t[ti];
		struct range *r;
		uint64_t m;

		if (t->uffd < 0)
			return 0;
		r = range_of_page(t, k);
		if (r == NULL)
			return 0;
		m = r->first + r->pages - k;
		if (m > n)
			m = n;
		/* skip what is in already */
		while (m > 0 && bit(t->have, k)) {
			k++;
			n--;
			m--;
			src += PAGE;
		}
		if (m == 0)
			continue;
		{
			uint64_t run = 0;
			while (run < m && run < SLICE && !bit(t->have, k + run))
				run++;
			int rc = copy_in(z, t, k, run, src, err);
			if (rc < 0)
				return -1;
			if (rc == 1) { /* events first (mmap changing): then again */
				if (read_events(z, ti, err) < 0)
					return -1;
				continue;
			}
			k += run;
			n -= run;
			src += run * PAGE;
		}
		/* Between slices: a thread may wait on a fault, or on its
		 * fork() (the kernel holds it until the event is read). */
		if (n > 0 && service(z, err) < 0)
			return -1;
	}
	return 0;
}

/* 0: done (pages in, or not wanted any more); 1: retry after the events. */
static int
copy_in(struct lz *z, struct task *t, uint64_t k, uint64_t n, const uint8_t *src, ferry_error_t *err)
{
	struct range *r = range_of_page(t, k);
	uint64_t done = 0;

	while (done < n) {
		struct uffdio_copy c = {
			.dst = r->addr + (k + done - r->first) * PAGE,
			.src = (uint64_t) (uintptr_t) (src + done * PAGE),
			.len = (n - done) * PAGE,
			.mode = 0,
		};
		struct timespec c0;
		clock_gettime(CLOCK_MONOTONIC, &c0);
		int crc = ioctl(t->uffd, UFFDIO_COPY, &c);
		z->st->copy_ms += ms_since(&c0);
		if (crc == 0) {
			for (uint64_t i = done; i < n; i++)
				mark_in(t, k + i);
			z->st->pages_copied += n - done;
			return 0;
		}
		if (c.copy > 0) { /* partly: the pages up to there are in */
			uint64_t got = (uint64_t) c.copy / PAGE;
			for (uint64_t i = 0; i < got; i++)
				mark_in(t, k + done + i);
			z->st->pages_copied += got;
			done += got;
			continue;
		}
		int e = c.copy < 0 ? (int) -c.copy : errno;
		switch (e) {
		case EEXIST: /* there already (zero-filled at a fault, say) */
		case ENOENT: /* not mapped any more: the event is on its way */
		case EFAULT:
			mark_in(t, k + done);
			done++;
			break;
		case EAGAIN:
			return 1;
		case ESRCH:
		case ENOSPC:
			task_gone(z, t);
			return 0;
		default:
			errno = e;
			return ferry_error_sys(err, "UFFDIO_COPY into task %d at 0x%llx", t->pid,
					       (unsigned long long) c.dst);
		}
	}
	return 0;
}

static int
zero_page(struct lz *z, struct task *t, uint64_t addr, ferry_error_t *err)
{
	struct uffdio_zeropage zp = { .range = { .start = addr, .len = PAGE } };

	if (ioctl(t->uffd, UFFDIO_ZEROPAGE, &zp) == 0) {
		z->st->pages_zero++;
		return 0;
	}
	int e = zp.zeropage < 0 ? (int) -zp.zeropage : errno;
	if (e == EEXIST) {
		struct uffdio_range w = { .start = addr, .len = PAGE };
		ioctl(t->uffd, UFFDIO_WAKE, &w);
		return 0;
	}
	if (e == ENOENT || e == EFAULT || e == EAGAIN)
		return 0; /* gone or changing: the thread faults again if it must */
	if (e == ESRCH || e == ENOSPC) {
		task_gone(z, t);
		return 0;
	}
	errno = e;
	return ferry_error_sys(err, "UFFDIO_ZEROPAGE in task %d at 0x%llx", t->pid, (unsigned long long) addr);
}

/* An answer of the page server: into every task of that pid. */
static int
answer_in(struct lz *z, ferry_error_t *err)
{
	struct req q = z->q[z->qhead];
	uint64_t got = z->hdr.nr_pages;

	z->qhead = (z->qhead + 1) % z->qcap;
	z->qlen--;
	z->inflight -= q.pages * PAGE;
	for (size_t ti = 0; ti < z->nt; ti++) {
		struct task *t = &z->t[ti];
		struct range *r;
		uint64_t k;

		if (t->pid != q.pid)
			continue;
		r = range_of_img(t, q.img);
		if (r == NULL)
			continue;
		k = r->first + (q.img - r->img) / PAGE;
		/* What did not come (the dump's buffer ended first) is asked
		 * again later. */
		for (uint64_t i = got; i < q.pages; i++)
			clear_bit(t->asked, k + i);
		if (got < q.pages)
			t->wanted_done = false;
		if (copy_run(z, ti, k, got, z->buf, err) < 0)
			return -1;
		for (uint64_t i = 0; i < got; i++)
			clear_bit(z->t[ti].asked, k + i);
	}
	z->st->bytes_in += got * PAGE;
	return 0;
}

static int
read_answers(struct lz *z, ferry_error_t *err)
{
	for (;;) {
		ssize_t r;

		if (!z->in_body) {
			r = recv(z->o->ps_fd, (char *) &z->hdr + z->hdr_got, sizeof(z->hdr) - z->hdr_got,
				 MSG_DONTWAIT);
		} else {
			r = recv(z->o->ps_fd, z->buf + z->buf_got, z->buf_want - z->buf_got, MSG_DONTWAIT);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return ferry_error_sys(err, "reading from the page server");
		}
		if (r == 0)
			return ferry_error_set(err, EPIPE, "the page server closed the connection with %zu requests open",
					       z->qlen);
		if (!z->in_body) {
			z->hdr_got += (size_t) r;
			if (z->hdr_got < sizeof(z->hdr))
				continue;
			z->hdr_got = 0;
			if (z->qlen == 0)
				return ferry_error_set(err, EPROTO, "the page server answered a request never made");
			struct req *q = &z->q[z->qhead];
			if ((z->hdr.cmd & 0xffff) != FERRY_PS_IOV_ADD_F || z->hdr.nr_pages == 0 ||
			    z->hdr.nr_pages > q->pages || z->hdr.vaddr != q->img || z->hdr.dst_id != (uint64_t) q->pid)
				return ferry_error_set(err, EPROTO,
						       "the page server answered {cmd 0x%x, %" PRIu64 " pages at 0x%" PRIx64
						       ", pid %" PRIu64 "} to a request for %" PRIu64 " at 0x%" PRIx64
						       " of pid %d",
						       z->hdr.cmd, z->hdr.nr_pages, z->hdr.vaddr, z->hdr.dst_id, q->pages,
						       q->img, q->pid);
			z->in_body = true;
			z->buf_got = 0;
			z->buf_want = z->hdr.nr_pages * PAGE;
			continue;
		}
		z->buf_got += (size_t) r;
		if (z->buf_got < z->buf_want)
			continue;
		z->in_body = false;
		if (answer_in(z, err) < 0)
			return -1;
	}
}

/* ---- userfaultfd events */

static int handle_fault(struct lz *z, size_t ti, uint64_t addr, ferry_error_t *err);

static void
drop_range(struct task *t, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct range *r = &t->r[i];
		uint64_t a = r->addr, b = r->addr + r->pages * PAGE;
		if (b <= start || a >= end)
			continue;
		for (uint64_t x = a > start ? a : start; x < b && x < end; x += PAGE)
			mark_in(t, r->first + (x - a) / PAGE);
	}
}

static void
remap_range(struct task *t, uint64_t from, uint64_t to, uint64_t len)
{
	split_at(t, from);
	split_at(t, from + len);
	for (size_t i = 0; i < t->nr; i++) {
		struct range *r = &t->r[i];
		if (r->addr >= from && r->addr < from + len) {
			r->addr = r->addr - from + to;
			t->remapped = true;
		}
	}
}

static int
add_fork(struct lz *z, size_t ti, int uffd)
{
	struct task *p, *c;

	z->t = xrealloc(z->t, (z->nt + 1) * sizeof(*z->t));
	p = &z->t[ti];
	c = &z->t[z->nt++];
	*c = *p;
	c->uffd = uffd;
	fcntl(uffd, F_SETFL, O_NONBLOCK); /* as its parent's (the kernel copies the flags) */
	c->r = xmalloc0((p->nr ? p->nr : 1) * sizeof(*p->r));
	memcpy(c->r, p->r, p->nr * sizeof(*p->r));
	size_t bytes = ((p->total + 63) / 64) * sizeof(uint64_t);
	c->have = xmalloc0(bytes ? bytes : 1);
	c->asked = xmalloc0(bytes ? bytes : 1);
	memcpy(c->have, p->have, bytes);
	memcpy(c->asked, p->asked, bytes);
	z->st->pages_total += c->total - c->in;
	lz_log(z, "task %d forked: a child with %" PRIu64 " pages still to come", p->pid, c->total - c->in);
	return 0;
}

static int
read_events(struct lz *z, size_t ti, ferry_error_t *err)
{
	for (;;) {
		struct uffd_msg m[16];
		ssize_t r;

		if (z->t[ti].uffd < 0)
			return 0;
		r = read(z->t[ti].uffd, m, sizeof(m));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return ferry_error_sys(err, "reading the userfaultfd of task %d", z->t[ti].pid);
		}
		if (r == 0) {
			task_gone(z, &z->t[ti]);
			return 0;
		}
		for (size_t i = 0; i < (size_t) r / sizeof(m[0]); i++) {
			switch (m[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				if (handle_fault(z, ti, m[i].arg.pagefault.address & ~(uint64_t) (PAGE - 1), err) < 0)
					return -1;
				break;
			case UFFD_EVENT_FORK:
				add_fork(z, ti, (int) m[i].arg.fork.ufd);
				break;
			case UFFD_EVENT_REMAP:
				remap_range(&z->t[ti], m[i].arg.remap.from, m[i].arg.remap.to, m[i].arg.remap.len);
				break;
			case UFFD_EVENT_REMOVE:
			case UFFD_EVENT_UNMAP:
				/* Gone from the task: nothing to copy there any
				 * more; a later fault gets a zero page. */
				drop_range(&z->t[ti], m[i].arg.remove.start, m[i].arg.remove.end);
				break;
			default:
				return ferry_error_set(err, EPROTO, "task %d: unexpected userfaultfd event %u",
						       z->t[ti].pid, m[i].event);
			}
		}
	}
}

static int
handle_fault(struct lz *z, size_t ti, uint64_t addr, ferry_error_t *err)
{
	struct task *t = &z->t[ti];
	struct range *r = range_of_addr(t, addr);
	uint64_t k;

	z->st->faults++;
	if (r == NULL) /* registered, but nothing was there at the dump */
		return zero_page(z, t, addr, err);
	k = r->first + (addr - r->addr) / PAGE;
	if (bit(t->have, k))
		return zero_page(z, t, addr, err); /* dropped (or in: then it only wakes) */
	if (bit(t->asked, k))
		return 0; /* on its way: the copy wakes the thread */
	/* This page and the ones after it, and the background follows. */
	t->cursor = k + ask_from(z, t, k, z->o->fault_chunk / PAGE);
	return 0;
}

/* ---- the restore's connection */

/* The uffd comes on the dummy byte CRIU sends with it (send_fd). */
static int
recv_uffd(int sk, int *fd, ferry_error_t *err)
{
	char one[2];

	if (ferry_fd_recv(sk, fd, one, sizeof(one), err) < 0)
		return ferry_error_prefix(err, "the restore, after a pid");
	return 0;
}

static int
add_task(struct lz *z, int pid, int uffd, ferry_error_t *err)
{
	_cleanup_free_ struct ferry_lazy_run *runs = NULL;
	size_t n;
	struct task t = { .pid = pid, .uffd = uffd };
	uint64_t first = 0;

	/* CRIU opens it non-blocking; the loop depends on that. */
	if (fcntl(uffd, F_SETFL, O_NONBLOCK) < 0) {
		close(uffd);
		return ferry_error_sys(err, "userfaultfd of task %d", pid);
	}
	if (ferry_lazy_read_runs(z->o->images_dir, pid, &runs, &n, err) < 0) {
		close(uffd);
		return -1;
	}
	t.r = xmalloc0((n ? n : 1) * sizeof(*t.r));
	t.nr = n;
	for (size_t i = 0; i < n; i++) {
		t.r[i] = (struct range) { runs[i].vaddr, runs[i].vaddr, runs[i].nr_pages, first };
		first += runs[i].nr_pages;
	}
	t.total = first;
	size_t bytes = ((first + 63) / 64) * sizeof(uint64_t);
	t.have = xmalloc0(bytes ? bytes : 1);
	t.asked = xmalloc0(bytes ? bytes : 1);
	z->t = xrealloc(z->t, (z->nt + 1) * sizeof(*z->t));
	z->t[z->nt++] = t;
	z->st->tasks++;
	z->st->pages_total += first;
	lz_log(z, "task %d: %" PRIu64 " lazy pages in %zu runs", pid, first, n);
	return 0;
}

/* One message of the restore: a pid (+ uffd), or the end of the restore. */
static int
read_restore(struct lz *z, ferry_error_t *err)
{
	uint32_t v;
	ssize_t r;

	do
		r = recv(z->sk, &v, sizeof(v), MSG_WAITALL);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		if (!z->finished)
			return ferry_error_set(err, EPIPE, "the restore closed its connection before it was done");
		close(z->sk);
		z->sk = -1;
		return 0;
	}
	if (r != (ssize_t) sizeof(v))
		return r < 0 ? ferry_error_sys(err, "reading from the restore")
			     : ferry_error_set(err, EPROTO, "short message from the restore");
	if (v == FERRY_LAZY_RESTORE_FINISHED) {
		z->finished = true;
		z->st->restore_ms = ms_since(&z->t0);
		lz_log(z, "restore finished: %zu tasks, %" PRIu64 " pages to come", z->nt, z->st->pages_total);
		return 0;
	}
	int pid = (int) v;
	if (pid < 0)
		return 0; /* a zombie: no memory */
	if (pid == 0)
		return ferry_error_set(err, EPROTO, "the restore sent pid 0");
	int fd = -1;
	if (recv_uffd(z->sk, &fd, err) < 0)
		return -1;
	if (!z->started) {
		clock_gettime(CLOCK_MONOTONIC, &z->t0);
		z->started = true;
	}
	return add_task(z, pid, fd, err);
}

static bool
all_in(struct lz *z)
{
	if (!z->finished || z->qlen > 0)
		return false;
	for (size_t i = 0; i < z->nt; i++)
		if (z->t[i].uffd >= 0 && z->t[i].in < z->t[i].total)
			return false;
	return true;
}

/*
 * The goodbye: PS_IOV_FORCE_CLOSE, after which the source's CRIU answers a
 * status and ends its dump well (it kills the frozen copy).  The answer is
 * not waited for: CRIU corks that socket and sends the status without a
 * push, so it would sit in the source's kernel for the cork's 200 ms; the
 * status carries nothing (it is 0 once the command is read).  Whether the
 * stream ended well is the relays' TLS goodbye, which follows CRIU's close.
 */
static int
goodbye(struct lz *z, ferry_error_t *err)
{
	struct ferry_ps_iov bye = { .cmd = FERRY_PS_IOV_FORCE_CLOSE };
	int fl = fcntl(z->o->ps_fd, F_GETFL);

	if (fl >= 0)
		fcntl(z->o->ps_fd, F_SETFL, fl & ~O_NONBLOCK);
	if (ferry_write_all(z->o->ps_fd, &bye, sizeof(bye)) < 0)
		return ferry_error_sys(err, "saying goodbye to the page server");
	if (z->o->wait_status) {
		int32_t status = -1;
		ssize_t r;
		do
			r = recv(z->o->ps_fd, &status, sizeof(status), MSG_WAITALL);
		while (r < 0 && errno == EINTR);
		if (r != (ssize_t) sizeof(status))
			return ferry_error_set(err, EPIPE, "the page server did not answer the goodbye");
		if (status != 0)
			return ferry_error_set(err, EPROTO, "the page server ended with status %d", status);
	}
	return 0;
}

int
ferry_lazy_pages_serve(const struct ferry_lazy_opts *o, struct ferry_lazy_stats *st, ferry_error_t *err)
{
	struct lz z = { .o = o, .st = st, .sk = -1 };
	struct pollfd *pf = NULL;
	size_t max_req = o->chunk > o->fault_chunk ? o->chunk : o->fault_chunk;
	int ret = -1;
	int idle_ms = 0;

	memset(st, 0, sizeof(*st));
	if (o->chunk < PAGE || o->fault_chunk < PAGE || o->window < o->chunk)
		return ferry_error_set(err, EINVAL, "lazy pages: chunk, fault chunk and window must hold a page");
	z.buf = mmap(NULL, max_req, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (z.buf == MAP_FAILED)
		return ferry_error_sys(err, "buffer of %zu bytes", max_req);
	{
		int fl = fcntl(o->ps_fd, F_GETFL);
		if (fl < 0 || fcntl(o->ps_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			ferry_error_sys(err, "page server socket");
			goto out;
		}
	}
	do
		z.sk = accept4(o->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (z.sk < 0 && errno == EINTR);
	if (z.sk < 0) {
		ferry_error_sys(err, "accepting the restore");
		goto out;
	}
	lz_log(&z, "restore connected");
	for (;;) {
		size_t n = 0;
		int pr;

		if (all_in(&z))
			break;
		background(&z);
		if (flush_out(&z, err) < 0)
			goto out;
		pf = xrealloc(pf, (z.nt + 2) * sizeof(*pf));
		pf[n++] = (struct pollfd) { .fd = z.sk, .events = POLLIN };
		pf[n++] = (struct pollfd) { .fd = o->ps_fd, .events = (short) (POLLIN | (z.out_len ? POLLOUT : 0)) };
		for (size_t i = 0; i < z.nt; i++)
			pf[n++] = (struct pollfd) { .fd = z.t[i].uffd, .events = POLLIN };
		struct timespec p0;
		clock_gettime(CLOCK_MONOTONIC, &p0);
		pr = poll(pf, n, 100);
		st->poll_ms += ms_since(&p0);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			ferry_error_sys(err, "poll");
			goto out;
		}
		if (pr == 0) {
			idle_ms += 100;
			if (o->timeout_ms > 0 && idle_ms >= o->timeout_ms) {
				ferry_error_set(err, ETIMEDOUT, "no page for %d ms (%zu requests open)", idle_ms, z.qlen);
				goto out;
			}
			continue;
		}
		idle_ms = 0;
		/* Faults first: a thread waits on each. */
		size_t nt = z.nt;
		for (size_t i = 0; i < nt; i++) {
			if (pf[2 + i].revents & POLLIN) {
				if (read_events(&z, i, err) < 0)
					goto out;
			} else if (pf[2 + i].revents & (POLLHUP | POLLERR)) {
				task_gone(&z, &z.t[i]);
			}
		}
		if (flush_out(&z, err) < 0)
			goto out;
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (read_answers(&z, err) < 0)
				goto out;
		}
		if (z.sk >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (read_restore(&z, err) < 0)
				goto out;
		}
	}
	st->total_ms = z.started ? ms_since(&z.t0) : 0;
	for (size_t i = 0; i < z.nt; i++)
		if (z.t[i].uffd >= 0) {
			close(z.t[i].uffd);
			z.t[i].uffd = -1;
		}
	lz_log(&z, "copying took %.1f ms, waiting in poll %.1f ms", st->copy_ms, st->poll_ms);
	lz_log(&z, "every page in: %" PRIu64 " copied, %" PRIu64 " zero, %" PRIu64 " faults, %" PRIu64
		   " requests, %" PRIu64 " bytes",
	       st->pages_copied, st->pages_zero, st->faults, st->requests, st->bytes_in);
	if (goodbye(&z, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		lz_log(&z, "Error: %s", err->msg ? err->msg : "?");
	for (size_t i = 0; i < z.nt; i++) {
		if (z.t[i].uffd >= 0)
			close(z.t[i].uffd);
		free(z.t[i].r);
		free(z.t[i].have);
		free(z.t[i].asked);
	}
	free(z.t);
	free(z.q);
	free(z.out);
	free(pf);
	if (z.sk >= 0)
		close(z.sk);
	munmap(z.buf, max_req);
	return ret;
}
