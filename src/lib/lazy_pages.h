/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ferry's own lazy-pages daemon: the destination half of post-copy.
 *
 * It takes CRIU's place as `criu lazy-pages`, speaking the same two
 * protocols CRIU's restore and CRIU's lazy dump already speak:
 *
 *  - with `criu restore --lazy-pages` on `lazy-pages.socket` in the work
 *    directory: per restored task an int pid and its userfaultfd (SCM_RIGHTS
 *    on one dummy byte), a negative pid for a zombie, then the u32
 *    0x52535446 once the restore is done;
 *  - with the source's `criu dump --lazy-pages` page server: 32-byte
 *    requests {u32 cmd = PS_IOV_GET; u64 nr_pages; u64 vaddr; u64 pid},
 *    answered in order by the same header (cmd PS_IOV_ADD_F | PE_PRESENT
 *    << 16, nr_pages possibly fewer: never past the end of the dump's
 *    buffer) and the pages; PS_IOV_FORCE_CLOSE ends it and is answered
 *    by an int32 status.
 *
 * What differs from CRIU's daemon is the schedule (docs/migration.md):
 * background requests are pipelined (a window of bytes in flight, not one
 * request at a time), a fault is asked for at once with the pages after it,
 * and the background fetch continues from the last fault, so a workload
 * that walks its memory finds it arriving ahead of it; the loop sleeps in
 * poll() instead of spinning.  CRIU's pages and images are unchanged: the
 * source side is still CRIU's own lazy dump.
 */
#ifndef FERRY_LAZY_PAGES_H
#define FERRY_LAZY_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FERRY_LAZY_RESTORE_FINISHED 0x52535446u

/* The page server's wire header (criu/page-xfer.c, struct page_server_iov:
 * natural alignment, so 4 bytes of padding after cmd). */
struct ferry_ps_iov {
	uint32_t cmd;
	uint32_t pad;
	uint64_t nr_pages;
	uint64_t vaddr;
	uint64_t dst_id;
};

#define FERRY_PS_IOV_ADD_F 6u
#define FERRY_PS_IOV_GET 7u
#define FERRY_PS_IOV_FORCE_CLOSE 0x1024u
#define FERRY_PS_CMD_BITS 16
#define FERRY_PE_LAZY (1u << 1)
#define FERRY_PE_PRESENT (1u << 2)

/* One run of lazy pages of a task, as the images give it. */
struct ferry_lazy_run {
	uint64_t vaddr;
	uint64_t nr_pages;
};

/*
 * Reads pagemap-<pid>.img and mm-<pid>.img from images_dir: the task's
 * lazy pages (pagemap entries flagged PE_LAZY), split where a VMA ends
 * (UFFDIO_COPY must stay inside one VMA), sorted.  *out is malloc'd.
 */
int ferry_lazy_read_runs(int images_dir, int pid, struct ferry_lazy_run **out, size_t *n, ferry_error_t *err);

/* Decoders behind it, on whole image files (tested on their own). */
int ferry_lazy_parse_pagemap(const void *buf, size_t len, struct ferry_lazy_run **out, size_t *n,
			     ferry_error_t *err);
int ferry_lazy_parse_vma_ends(const void *buf, size_t len, uint64_t **ends, size_t *n, ferry_error_t *err);

struct ferry_lazy_opts {
	int images_dir; /* the restore's images */
	int listen_fd;	/* listening on lazy-pages.socket */
	int ps_fd;	/* connected to the source's page server */
	int log_fd;	/* lines for lazy-pages.log, or -1 */
	uint64_t window;     /* bytes in flight for the background fetch */
	uint64_t chunk;	     /* bytes per background request */
	uint64_t fault_chunk; /* bytes asked for at a fault (from the faulting page on) */
	int timeout_ms;	     /* no progress for this long: fail (<= 0: none) */
	bool wait_status;    /* wait for the page server's answer to the goodbye */
};

struct ferry_lazy_stats {
	uint64_t tasks;
	uint64_t pages_total;
	uint64_t pages_copied;
	uint64_t pages_zero;
	uint64_t faults;
	uint64_t requests;
	uint64_t bytes_in;
	double restore_ms; /* from the first uffd to the restore's end */
	double total_ms;   /* from the first uffd to the last page */
	double copy_ms;	   /* in UFFDIO_COPY */
	double poll_ms;	   /* waiting for something to do */
};

/* Serves one restore until every page is in: 0, or -1 with err set (the
 * page server is then left without its goodbye, so the source resumes). */
int ferry_lazy_pages_serve(const struct ferry_lazy_opts *o, struct ferry_lazy_stats *st, ferry_error_t *err);

#endif
