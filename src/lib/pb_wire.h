/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading protobuf's wire format, for the few CRIU images ferry reads
 * itself (stats, pagemap, mm): CRIU ships only rpc.proto, so these are
 * decoded by field number, skipping what a newer CRIU may add.
 */
#ifndef FERRY_PB_WIRE_H
#define FERRY_PB_WIRE_H

#include <stdint.h>
#include <string.h>

enum ferry_pb_wire_type {
	FERRY_PB_VARINT = 0,
	FERRY_PB_FIXED64 = 1,
	FERRY_PB_LEN = 2,
	FERRY_PB_FIXED32 = 5,
};

struct ferry_pb {
	const uint8_t *p;
	const uint8_t *end;
};

/* A varint is at most 10 bytes; the 10th may only carry the top bit. */
static inline int
ferry_pb_varint(struct ferry_pb *r, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 10; i++) {
		uint8_t b;

		if (r->p >= r->end)
			return -1;
		b = *r->p++;
		if (i == 9 && (b & 0x7e))
			return -1;
		v |= (uint64_t) (b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* Groups (wire types 3, 4) never appear in CRIU's images: rejected. */
static inline int
ferry_pb_skip(struct ferry_pb *r, unsigned int wt)
{
	uint64_t v;

	switch (wt) {
	case FERRY_PB_VARINT:
		return ferry_pb_varint(r, &v);
	case FERRY_PB_FIXED64:
		if (r->end - r->p < 8)
			return -1;
		r->p += 8;
		return 0;
	case FERRY_PB_FIXED32:
		if (r->end - r->p < 4)
			return -1;
		r->p += 4;
		return 0;
	case FERRY_PB_LEN:
		if (ferry_pb_varint(r, &v) < 0 || v > (uint64_t) (r->end - r->p))
			return -1;
		r->p += v;
		return 0;
	default:
		return -1;
	}
}

/* Reads a tag; field number 0 is invalid in protobuf. */
static inline int
ferry_pb_tag(struct ferry_pb *r, uint32_t *field, unsigned int *wt)
{
	uint64_t tag;

	if (ferry_pb_varint(r, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return -1;
	*field = (uint32_t) (tag >> 3);
	*wt = (unsigned int) (tag & 7);
	return 0;
}

/* A length-delimited field's bytes as a reader of their own. */
static inline int
ferry_pb_sub(struct ferry_pb *r, struct ferry_pb *sub)
{
	uint64_t n;

	if (ferry_pb_varint(r, &n) < 0 || n > (uint64_t) (r->end - r->p))
		return -1;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

static inline uint32_t
ferry_get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
