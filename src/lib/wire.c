/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wire.h"

static const char *const names[FERRY_MSG__MAX] = {
	[FERRY_MSG_ERROR] = "ERROR",
	[FERRY_MSG_HELLO] = "HELLO",
	[FERRY_MSG_HELLO_OK] = "HELLO_OK",
	[FERRY_MSG_PREFLIGHT] = "PREFLIGHT",
	[FERRY_MSG_PREFLIGHT_OK] = "PREFLIGHT_OK",
	[FERRY_MSG_MANIFEST] = "MANIFEST",
	[FERRY_MSG_NEED] = "NEED",
	[FERRY_MSG_FILE_DATA] = "FILE_DATA",
	[FERRY_MSG_FILES_DONE] = "FILES_DONE",
	[FERRY_MSG_SYNCED] = "SYNCED",
	[FERRY_MSG_DUMP] = "DUMP",
	[FERRY_MSG_DUMP_READY] = "DUMP_READY",
	[FERRY_MSG_RESTORE] = "RESTORE",
	[FERRY_MSG_RESTORED] = "RESTORED",
	[FERRY_MSG_COMMIT] = "COMMIT",
	[FERRY_MSG_COMMITTED] = "COMMITTED",
	[FERRY_MSG_ABORT] = "ABORT",
	[FERRY_MSG_POSTCOPY_DONE] = "POSTCOPY_DONE",
	[FERRY_MSG_BYE] = "BYE",
	[FERRY_MSG_HOLD] = "HOLD",
	[FERRY_MSG_HOLDING] = "HOLDING",
};

const char *
ferry_wire_msg_name(uint32_t type)
{
	return type > 0 && type < FERRY_MSG__MAX && names[type] ? names[type] : "unknown";
}

/* The largest payload each type may have: a manifest can list a whole
 * rootfs; everything else is a few fields. */
static uint32_t
max_len(uint32_t type)
{
	switch (type) {
	case FERRY_MSG_FILE_DATA:
		return 12 + FERRY_WIRE_CHUNK;
	case FERRY_MSG_MANIFEST:
	case FERRY_MSG_NEED:
		return FERRY_WIRE_MAX_JSON;
	case FERRY_MSG_PREFLIGHT:
		return 4u << 20; /* config.json and cpuinfo.img */
	default:
		return 64u << 10;
	}
}

void
ferry_wire_preamble_encode(uint8_t out[FERRY_WIRE_PREAMBLE_LEN], enum ferry_conn_kind kind)
{
	uint16_t v = htobe16(FERRY_WIRE_VERSION), k = htobe16((uint16_t) kind);
	uint32_t z = 0;

	memcpy(out, FERRY_WIRE_MAGIC, 8);
	memcpy(out + 8, &v, 2);
	memcpy(out + 10, &k, 2);
	memcpy(out + 12, &z, 4);
}

int
ferry_wire_preamble_decode(const uint8_t in[FERRY_WIRE_PREAMBLE_LEN], enum ferry_conn_kind *kind, ferry_error_t *err)
{
	uint16_t v, k;
	uint32_t z;

	if (memcmp(in, FERRY_WIRE_MAGIC, 8) != 0)
		return ferry_error_set(err, EPROTO, "not a ferry migration connection (bad magic)");
	memcpy(&v, in + 8, 2);
	memcpy(&k, in + 10, 2);
	memcpy(&z, in + 12, 4);
	v = be16toh(v);
	k = be16toh(k);
	if (v != FERRY_WIRE_VERSION)
		return ferry_error_set(err, EPROTO, "protocol version %u, this ferry speaks %u", v, FERRY_WIRE_VERSION);
	if (k != FERRY_CONN_CONTROL && k != FERRY_CONN_PAGES)
		return ferry_error_set(err, EPROTO, "unknown connection kind %u", k);
	if (z != 0)
		return ferry_error_set(err, EPROTO, "reserved preamble bytes are not zero");
	*kind = k;
	return 0;
}

int
ferry_wire_header_decode(const uint8_t in[FERRY_WIRE_HEADER_LEN], uint32_t *type, uint32_t *len, ferry_error_t *err)
{
	uint32_t t, l;

	memcpy(&t, in, 4);
	memcpy(&l, in + 4, 4);
	t = be32toh(t);
	l = be32toh(l);
	if (t == 0 || t >= FERRY_MSG__MAX)
		return ferry_error_set(err, EPROTO, "unknown record type %" PRIu32, t);
	if (l > max_len(t))
		return ferry_error_set(err, EPROTO, "%s record of %" PRIu32 " bytes (at most %" PRIu32 ")",
				       ferry_wire_msg_name(t), l, max_len(t));
	*type = t;
	*len = l;
	return 0;
}

int
ferry_wire_json_decode(uint32_t type, const void *buf, size_t len, json_t **out, ferry_error_t *err)
{
	json_error_t je;
	json_t *j;

	if (type == FERRY_MSG_FILE_DATA)
		return ferry_error_set(err, EPROTO, "FILE_DATA is not JSON");
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return ferry_error_set(err, EPROTO, "%s record: bad JSON at %d: %s", ferry_wire_msg_name(type),
				       je.position, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return ferry_error_set(err, EPROTO, "%s record: not a JSON object", ferry_wire_msg_name(type));
	}
	*out = j;
	return 0;
}

int
ferry_wire_file_data_decode(const void *buf, size_t len, uint32_t *index, uint64_t *offset, const void **data,
			    size_t *data_len, ferry_error_t *err)
{
	const uint8_t *p = buf;
	uint32_t i;
	uint64_t o;

	if (len < 12)
		return ferry_error_set(err, EPROTO, "FILE_DATA record of %zu bytes (at least 12)", len);
	if (len - 12 > FERRY_WIRE_CHUNK)
		return ferry_error_set(err, EPROTO, "FILE_DATA record of %zu bytes (at most %u)", len,
				       12 + FERRY_WIRE_CHUNK);
	memcpy(&i, p, 4);
	memcpy(&o, p + 4, 8);
	*index = be32toh(i);
	*offset = be64toh(o);
	*data = p + 12;
	*data_len = len - 12;
	return 0;
}

int
ferry_wire_send(ferry_tls_t *t, uint32_t type, const void *payload, size_t len, ferry_error_t *err)
{
	uint8_t hdr[FERRY_WIRE_HEADER_LEN];
	uint32_t be_t = htobe32(type), be_l = htobe32((uint32_t) len);

	if (len > max_len(type))
		return ferry_error_set(err, EMSGSIZE, "%s record of %zu bytes is too large", ferry_wire_msg_name(type),
				       len);
	memcpy(hdr, &be_t, 4);
	memcpy(hdr + 4, &be_l, 4);
	/* Small records go out as one TLS record: two writes would wait for
	 * the peer's delayed ACK in between. */
	if (len <= 16384) {
		uint8_t buf[FERRY_WIRE_HEADER_LEN + 16384];
		memcpy(buf, hdr, sizeof(hdr));
		if (len)
			memcpy(buf + sizeof(hdr), payload, len);
		if (ferry_tls_write_all(t, buf, sizeof(hdr) + len, err) < 0)
			return ferry_error_prefix(err, "send %s", ferry_wire_msg_name(type));
		return 0;
	}
	if (ferry_tls_write_all(t, hdr, sizeof(hdr), err) < 0 || (len && ferry_tls_write_all(t, payload, len, err) < 0))
		return ferry_error_prefix(err, "send %s", ferry_wire_msg_name(type));
	return 0;
}

int
ferry_wire_send_json(ferry_tls_t *t, uint32_t type, json_t *j, ferry_error_t *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

	if (s == NULL)
		return ferry_error_set(err, ENOMEM, "encode %s", ferry_wire_msg_name(type));
	return ferry_wire_send(t, type, s, strlen(s), err);
}

int
ferry_wire_send_file_data(ferry_tls_t *t, uint32_t index, uint64_t offset, const void *data, size_t len,
			  ferry_error_t *err)
{
	uint8_t hdr[FERRY_WIRE_HEADER_LEN + 12];
	uint32_t be_t = htobe32(FERRY_MSG_FILE_DATA), be_l = htobe32((uint32_t) (len + 12)), be_i = htobe32(index);
	uint64_t be_o = htobe64(offset);

	if (len > FERRY_WIRE_CHUNK)
		return ferry_error_set(err, EMSGSIZE, "FILE_DATA chunk of %zu bytes", len);
	memcpy(hdr, &be_t, 4);
	memcpy(hdr + 4, &be_l, 4);
	memcpy(hdr + 8, &be_i, 4);
	memcpy(hdr + 12, &be_o, 8);
	if (ferry_tls_write_all(t, hdr, sizeof(hdr), err) < 0 || (len && ferry_tls_write_all(t, data, len, err) < 0))
		return ferry_error_prefix(err, "send file data");
	return 0;
}

void
ferry_wire_send_error(ferry_tls_t *t, const char *msg)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	json_t *j = json_pack("{s:s}", "error", msg ? msg : "unknown error");

	if (j) {
		ferry_wire_send_json(t, FERRY_MSG_ERROR, j, &e);
		json_decref(j);
	}
}

int
ferry_wire_recv(ferry_tls_t *t, uint32_t *type, char **buf, size_t *len, ferry_error_t *err)
{
	uint8_t hdr[FERRY_WIRE_HEADER_LEN];
	uint32_t l;
	char *b;

	if (ferry_tls_read_full(t, hdr, sizeof(hdr), err) < 0)
		return -1;
	if (ferry_wire_header_decode(hdr, type, &l, err) < 0)
		return -1;
	b = malloc((size_t) l + 1);
	if (b == NULL)
		return ferry_error_set(err, ENOMEM, "%s record of %" PRIu32 " bytes", ferry_wire_msg_name(*type), l);
	if (l && ferry_tls_read_full(t, b, l, err) < 0) {
		free(b);
		return ferry_error_prefix(err, "%s record", ferry_wire_msg_name(*type));
	}
	b[l] = '\0';
	*buf = b;
	*len = l;
	return 0;
}

int
ferry_wire_expect(ferry_tls_t *t, uint32_t type, const char *who, json_t **out, ferry_error_t *err)
{
	_cleanup_free_ char *buf = NULL;
	uint32_t got;
	size_t len;
	json_t *j = NULL;

	if (ferry_wire_recv(t, &got, &buf, &len, err) < 0)
		return ferry_error_prefix(err, "waiting for %s from the %s", ferry_wire_msg_name(type), who);
	if (got == FERRY_MSG_FILE_DATA)
		return ferry_error_set(err, EPROTO, "the %s sent file data where %s was due", who,
				       ferry_wire_msg_name(type));
	if (ferry_wire_json_decode(got, buf, len, &j, err) < 0)
		return ferry_error_prefix(err, "from the %s", who);
	if (got == FERRY_MSG_ERROR) {
		const char *m = json_string_value(json_object_get(j, "error"));
		ferry_error_set(err, 0, "%s: %s", who, m ? m : "(no reason given)");
		json_decref(j);
		return -2;
	}
	if (got != type) {
		json_decref(j);
		return ferry_error_set(err, EPROTO, "the %s sent %s where %s was due", who, ferry_wire_msg_name(got),
				       ferry_wire_msg_name(type));
	}
	if (out)
		*out = j;
	else
		json_decref(j);
	return 0;
}

int
ferry_wire_get_str(const json_t *o, const char *key, bool required, const char **out, ferry_error_t *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? ferry_error_set(err, EPROTO, "\"%s\": missing", key) : 0;
	if (!json_is_string(v))
		return ferry_error_set(err, EPROTO, "\"%s\": not a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ferry_error_set(err, EPROTO, "\"%s\": contains a NUL byte", key);
	*out = json_string_value(v);
	return 0;
}

int
ferry_wire_get_int(const json_t *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
		   ferry_error_t *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return required ? ferry_error_set(err, EPROTO, "\"%s\": missing", key) : 0;
	if (!json_is_integer(v))
		return ferry_error_set(err, EPROTO, "\"%s\": not an integer", key);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return ferry_error_set(err, EPROTO, "\"%s\": %" JSON_INTEGER_FORMAT " out of range", key,
				       json_integer_value(v));
	*out = json_integer_value(v);
	return 0;
}

int
ferry_wire_get_bool(const json_t *o, const char *key, bool *out, ferry_error_t *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return ferry_error_set(err, EPROTO, "\"%s\": not a boolean", key);
	*out = json_is_true(v);
	return 0;
}
