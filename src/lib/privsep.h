/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privilege separation: the framing of the messages between a root
 * monitor and the unprivileged process that talks to the network, and the
 * dropping of privileges itself.
 *
 * A message is a header (type, payload length: two little-endian u32) and
 * a payload of typed fields written and read in order: u32, u64, strings
 * (u32 length + bytes, no NUL inside; a length of 0xffffffff is "absent")
 * and byte strings.  A reader that runs past the end, finds a NUL in a
 * string or leaves bytes unread marks the message bad; the receiver then
 * treats the sender as broken (the OpenBSD rule: an unexpected message is
 * fatal for the peer).  File descriptors travel with the header
 * (SCM_RIGHTS).
 */
#ifndef FERRY_PRIVSEP_H
#define FERRY_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "xfer.h"

/* The most a payload may hold (a manifest of a large rootfs fits). */
#define FERRY_PS_MAX_PAYLOAD (256u << 20)
#define FERRY_PS_MAX_FDS 2

struct ferry_ps_msg {
	uint32_t type;
	unsigned char *p;
	size_t len, cap; /* writing */
	size_t off;      /* reading */
	bool bad;
	int fds[FERRY_PS_MAX_FDS];
	size_t nfds;
};

void ferry_ps_init(struct ferry_ps_msg *m, uint32_t type);
/* Frees the payload and closes received descriptors still held. */
void ferry_ps_free(struct ferry_ps_msg *m);
#define _cleanup_ps_msg_ __attribute__((cleanup(ferry_ps_free)))

void ferry_ps_put_u32(struct ferry_ps_msg *m, uint32_t v);
void ferry_ps_put_u64(struct ferry_ps_msg *m, uint64_t v);
void ferry_ps_put_bytes(struct ferry_ps_msg *m, const void *p, size_t len);
/* NULL is sent as "absent". */
void ferry_ps_put_str(struct ferry_ps_msg *m, const char *s);

uint32_t ferry_ps_get_u32(struct ferry_ps_msg *m);
uint64_t ferry_ps_get_u64(struct ferry_ps_msg *m);
/* A pointer into the payload, valid while m lives. */
const void *ferry_ps_get_bytes(struct ferry_ps_msg *m, size_t *len);
/* A new NUL-terminated string, or NULL when absent (or bad: check
 * ferry_ps_done). */
char *ferry_ps_get_str(struct ferry_ps_msg *m);
/* Takes the i-th received descriptor (-1 when there is none). */
int ferry_ps_take_fd(struct ferry_ps_msg *m, size_t i);
/* True when the payload was read exactly to its end with no error. */
bool ferry_ps_done(const struct ferry_ps_msg *m);

/* A manifest as fields; the reader checks it as ferry_xfer_manifest_check
 * does (entries, paths, types, order). */
void ferry_ps_put_manifest(struct ferry_ps_msg *m, const struct ferry_xfer_manifest *xm);
int ferry_ps_get_manifest(struct ferry_ps_msg *m, struct ferry_xfer_manifest *xm, ferry_error_t *err);

/* Sends m (its type, payload and the descriptors in fds). */
int ferry_ps_send(int sock, struct ferry_ps_msg *m, const int *fds, size_t nfds, ferry_error_t *err);
/* Receives one message.  0 on success, 1 at end of stream (the other side
 * closed before a header), -1 on error (a torn or oversized message
 * included). */
int ferry_ps_recv(int sock, struct ferry_ps_msg *m, ferry_error_t *err);

/*
 * Becomes an unprivileged process: every descriptor but keep[] closed,
 * the root directory an empty directory (chroot), the user and groups of
 * "nobody" (65534 if there is none), no capabilities left in any set,
 * no_new_privs, not dumpable.  empty_dir must be an empty directory owned
 * by root that nobody can write.
 */
int ferry_ps_drop_privileges(const char *empty_dir, const int *keep, size_t nkeep, ferry_error_t *err);

#endif
