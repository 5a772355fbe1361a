/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CRIU's kernel-probe cache (criu.kdat) on hosts whose /run is not a tmpfs;
 * see criu_kdat.c. */
#ifndef FERRY_CRIU_KDAT_H
#define FERRY_CRIU_KDAT_H

#include <stdbool.h>
#include <stddef.h>

/* Where the cache is kept: the state root (NULL: nowhere, feature off).
 * ferry_criu_require() sets it. */
void ferry_criu_kdat_configure(const char *state_root);

struct ferry_kdat_entry {
	char *path;   /* /run/NAME */
	char *name;   /* NAME, relative to the host's /run */
	bool bind;    /* false: a symlink, recreated in the tmpfs */
};

/* One CRIU child's /run, prepared before fork(). */
struct ferry_criu_kdat {
	int mnt_fd;    /* the detached tmpfs that becomes the child's /run; -1: off */
	int ns_fd;     /* the caller's mount namespace, to fall back to */
	bool cached;   /* criu.kdat came from the cache (else CRIU saves one) */
	char *key;     /* what the cache is valid for */
	struct ferry_kdat_entry *e;
	size_t n;
};
#define FERRY_CRIU_KDAT_INIT { .mnt_fd = -1, .ns_fd = -1, .cached = false, .key = NULL, .e = NULL, .n = 0 }

/* Never fails: when anything is missing, k stays off and CRIU runs as it
 * would without ferry (probing the kernel itself). */
void ferry_criu_kdat_prepare(const char *criu_path, struct ferry_criu_kdat *k);
/* In the forked child, before exec: only system calls.  On any failure
 * the child's view of /run is left as the host's. */
void ferry_criu_kdat_child(const struct ferry_criu_kdat *k);
/* In the parent once the child runs: frees what only the child needed. */
void ferry_criu_kdat_forked(struct ferry_criu_kdat *k);
/* After CRIU has run: keeps the cache CRIU saved, if it had none; closes. */
void ferry_criu_kdat_finish(struct ferry_criu_kdat *k);

#endif
