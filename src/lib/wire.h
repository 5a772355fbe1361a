/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration wire protocol (docs/wire.md is the reference).
 *
 * Every TCP connection to `ferry serve` opens with a 16-byte plaintext
 * preamble: "FERRYMIG", u16 version, u16 kind, u32 zero (network byte
 * order).  A control connection then runs TLS and carries records
 *
 *     u32 type | u32 length | payload[length]
 *
 * in network byte order.  Payloads are JSON objects except FILE_DATA,
 * which is  u32 file index | u64 offset | bytes.  Each type has a maximum
 * length, checked before anything is allocated; an unknown type or an
 * oversized record ends the connection.  A pages connection carries the
 * 16-byte session token after the preamble and is then handed to CRIU,
 * which runs its own TLS over it.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "tls.h"

#define FERRY_WIRE_MAGIC "FERRYMIG"
#define FERRY_WIRE_VERSION 1
#define FERRY_WIRE_PREAMBLE_LEN 16
#define FERRY_WIRE_TOKEN_LEN 16
#define FERRY_WIRE_HEADER_LEN 8
/* FILE_DATA carries at most this much file content per record. */
#define FERRY_WIRE_CHUNK (1u << 20)
#define FERRY_WIRE_MAX_JSON (64u << 20)

enum ferry_conn_kind {
	FERRY_CONN_CONTROL = 1,
	FERRY_CONN_PAGES = 2,
};

enum ferry_msg {
	FERRY_MSG_ERROR = 1,     /* {"error": text} either way; ends the session */
	FERRY_MSG_HELLO,         /* src: {"version", "host", "features"} */
	FERRY_MSG_HELLO_OK,      /* dst: {"version", "host", "token", "features", "criu"} */
	FERRY_MSG_PREFLIGHT,     /* src: {"id", "config", "rootfs", "bundle", "mode", "shared_dir"?, "cpuinfo"} */
	FERRY_MSG_PREFLIGHT_OK,  /* dst: {"rootfs": "in-place"|"copy"|"shared"} */
	FERRY_MSG_MANIFEST,      /* src: {"tree": "rootfs"|"images", "final": bool, "manifest": {...}} */
	FERRY_MSG_NEED,          /* dst: {"files": [index...], "bytes": n} */
	FERRY_MSG_FILE_DATA,     /* src: binary, see above */
	FERRY_MSG_FILES_DONE,    /* src: {"files": n, "bytes": n} */
	FERRY_MSG_SYNCED,        /* dst: {} */
	FERRY_MSG_DUMP,          /* src: {"mode": "stop-copy"|"lazy"|"shared", "images"?} */
	FERRY_MSG_DUMP_READY,    /* dst: {} once its CRIU listens on the pages connection */
	FERRY_MSG_RESTORE,       /* src: {"tcp_established": bool} */
	FERRY_MSG_RESTORED,      /* dst: {"pid", "restore_ms"} */
	FERRY_MSG_COMMIT,        /* src: {"ips": ["a/p@dev"...]} */
	FERRY_MSG_COMMITTED,     /* dst: {"ip_ms"} the container is the destination's now */
	FERRY_MSG_ABORT,         /* src: {"reason"} */
	FERRY_MSG_POSTCOPY_DONE, /* dst: {"ok", "ms", "error"?} lazy mode, after the last page */
	FERRY_MSG_BYE,           /* src: {} */
	FERRY_MSG_HOLD,          /* src: {"ips": ["a/p@dev"...]} take them now, hold their packets till restored */
	FERRY_MSG_HOLDING,       /* dst: {"ms", "queue"} they are here and announced; their packets wait */
	FERRY_MSG__MAX,
};

const char *ferry_wire_msg_name(uint32_t type);

void ferry_wire_preamble_encode(uint8_t out[FERRY_WIRE_PREAMBLE_LEN], enum ferry_conn_kind kind);
int ferry_wire_preamble_decode(const uint8_t in[FERRY_WIRE_PREAMBLE_LEN], enum ferry_conn_kind *kind,
			       ferry_error_t *err);

/* Pure decoders (fuzzed: tests/fuzz/fuzz_wire.c). */
int ferry_wire_header_decode(const uint8_t in[FERRY_WIRE_HEADER_LEN], uint32_t *type, uint32_t *len,
			     ferry_error_t *err);
int ferry_wire_json_decode(uint32_t type, const void *buf, size_t len, json_t **out, ferry_error_t *err);
int ferry_wire_file_data_decode(const void *buf, size_t len, uint32_t *index, uint64_t *offset, const void **data,
				size_t *data_len, ferry_error_t *err);

/* Over a TLS session. */
int ferry_wire_send(ferry_tls_t *t, uint32_t type, const void *payload, size_t len, ferry_error_t *err);
int ferry_wire_send_json(ferry_tls_t *t, uint32_t type, json_t *j, ferry_error_t *err);
int ferry_wire_send_file_data(ferry_tls_t *t, uint32_t index, uint64_t offset, const void *data, size_t len,
			      ferry_error_t *err);
/* Best effort: tells the peer why we stop. */
void ferry_wire_send_error(ferry_tls_t *t, const char *msg);

/* Receives one record; *buf is malloc'd (NUL-terminated for convenience). */
int ferry_wire_recv(ferry_tls_t *t, uint32_t *type, char **buf, size_t *len, ferry_error_t *err);
/* Receives a JSON record of the expected type.  An ERROR record becomes
 * "<who>: <its text>" and returns -2 (the peer is alive and said why);
 * anything else that goes wrong returns -1. */
int ferry_wire_expect(ferry_tls_t *t, uint32_t type, const char *who, json_t **out, ferry_error_t *err);

/* Typed getters for decoded messages: errors name the field. */
int ferry_wire_get_str(const json_t *o, const char *key, bool required, const char **out, ferry_error_t *err);
int ferry_wire_get_int(const json_t *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
		       ferry_error_t *err);
int ferry_wire_get_bool(const json_t *o, const char *key, bool *out, ferry_error_t *err);

#endif
