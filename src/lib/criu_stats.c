/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoding CRIU's stats-dump / stats-restore images.
 *
 * The file is what CRIU's image layer writes for a "service" image:
 *
 *   u32 IMG_SERVICE_MAGIC   0x55105940
 *   u32 STATS_MAGIC         0x57093306
 *   u32 size                length of the message that follows
 *   StatsEntry              protobuf (images/stats.proto)
 *
 * all u32 in host byte order (CRIU images are not portable across
 * endianness, and neither is this).  Images from before the common magic
 * (CRIU 1.x) start directly with STATS_MAGIC; both are accepted.
 *
 * StatsEntry { optional DumpStatsEntry dump = 1; optional RestoreStatsEntry
 * restore = 2; }, the two entries holding varint fields numbered as in
 * struct ferry_criu_stats.  The decoder below handles exactly the wire
 * types proto2 can put there: varint (0), 64-bit (1), length-delimited
 * (2) and 32-bit (5); groups (3, 4) never appear in these messages and are
 * rejected.
 */
#define LOG_PREFIX "criu-stats: "
#include "criu_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "pb_wire.h"
#include "util.h"

/* The fields of one entry, as a table: field number -> where it goes. */
struct pb_field {
	uint32_t number;
	bool is32;
	size_t offset;
};

#define F32(n, m) { n, true, offsetof(struct ferry_criu_stats, m) }
#define F64(n, m) { n, false, offsetof(struct ferry_criu_stats, m) }

static const struct pb_field dump_fields[] = {
	F32(1, freezing_time),	      F32(2, frozen_time),   F32(3, memdump_time),
	F32(4, memwrite_time),	      F64(5, pages_scanned), F64(6, pages_skipped_parent),
	F64(7, pages_written),	      F64(9, pages_lazy),
};

static const struct pb_field restore_fields[] = {
	F64(1, pages_compared), F64(2, pages_skipped_cow), F32(3, forking_time),
	F32(4, restore_time),	F64(5, pages_restored),
};

static int
decode_entry(struct ferry_pb *r, const struct pb_field *fields, size_t nfields, struct ferry_criu_stats *out,
	     const char *what, ferry_error_t *err)
{
	while (r->p < r->end) {
		const struct pb_field *f = NULL;
		uint32_t number;
		unsigned int wt;
		uint64_t v;

		if (ferry_pb_tag(r, &number, &wt) < 0)
			return ferry_error_set(err, EINVAL, "%s entry: malformed field tag", what);
		for (size_t i = 0; i < nfields; i++)
			if (fields[i].number == number)
				f = &fields[i];
		if (f == NULL) {
			/* A newer CRIU may add fields: skip what we do not know. */
			if (ferry_pb_skip(r, wt) < 0)
				return ferry_error_set(err, EINVAL, "%s entry: field %u: truncated or bad wire type %u",
						       what, number, wt);
			continue;
		}
		if (wt != FERRY_PB_VARINT)
			return ferry_error_set(err, EINVAL, "%s entry: field %u: wire type %u, expected a varint", what,
					       number, wt);
		if (ferry_pb_varint(r, &v) < 0)
			return ferry_error_set(err, EINVAL, "%s entry: field %u: malformed varint", what, number);
		if (f->is32) {
			/* protobuf-c would truncate; a uint32 that does not fit is
			 * a corrupt image, not a time to show. */
			if (v > UINT32_MAX)
				return ferry_error_set(err, EINVAL, "%s entry: field %u: %llu does not fit 32 bits", what,
						       number, (unsigned long long) v);
			uint32_t v32 = (uint32_t) v;
			memcpy((char *) out + f->offset, &v32, sizeof(v32));
		} else {
			memcpy((char *) out + f->offset, &v, sizeof(v));
		}
	}
	return 0;
}

int
ferry_criu_stats_decode(const void *buf, size_t len, bool dump, struct ferry_criu_stats *out, ferry_error_t *err)
{
	const uint8_t *p = buf, *end = p + len;
	struct ferry_pb r;
	uint32_t size;

	memset(out, 0, sizeof(*out));
	if (len < 4)
		return ferry_error_set(err, EINVAL, "truncated header (%zu bytes)", len);
	if (ferry_get_u32(p) == FERRY_CRIU_IMG_SERVICE_MAGIC) {
		p += 4;
		if (end - p < 4)
			return ferry_error_set(err, EINVAL, "truncated header (%zu bytes)", len);
	}
	if (ferry_get_u32(p) != FERRY_CRIU_STATS_MAGIC)
		return ferry_error_set(err, EINVAL, "not a CRIU stats image (magic 0x%08x)", ferry_get_u32(p));
	p += 4;
	if (end - p < 4)
		return ferry_error_set(err, EINVAL, "truncated: no entry size");
	size = ferry_get_u32(p);
	p += 4;
	if (size > FERRY_CRIU_STATS_MAX)
		return ferry_error_set(err, EINVAL, "entry size %u exceeds %u", size, FERRY_CRIU_STATS_MAX);
	if (size > (size_t) (end - p))
		return ferry_error_set(err, EINVAL, "entry of %u bytes, only %zu left", size, (size_t) (end - p));

	r.p = p;
	r.end = p + size;
	while (r.p < r.end) {
		uint32_t number;
		unsigned int wt;
		uint64_t sub;
		struct ferry_pb s;

		if (ferry_pb_tag(&r, &number, &wt) < 0)
			return ferry_error_set(err, EINVAL, "malformed field tag");
		if ((number != 1 && number != 2) || wt != FERRY_PB_LEN) {
			if (number == 1 || number == 2)
				return ferry_error_set(err, EINVAL, "field %u: wire type %u, expected a message", number,
						       wt);
			if (ferry_pb_skip(&r, wt) < 0)
				return ferry_error_set(err, EINVAL, "field %u: truncated or bad wire type %u", number,
						       wt);
			continue;
		}
		if (ferry_pb_varint(&r, &sub) < 0 || sub > (uint64_t) (r.end - r.p))
			return ferry_error_set(err, EINVAL, "field %u: length beyond the entry", number);
		s.p = r.p;
		s.end = r.p + sub;
		r.p = s.end;
		/* A repeated optional message merges, as protobuf does. */
		if (number == 1) {
			out->has_dump = true;
			if (decode_entry(&s, dump_fields, ARRAY_SIZE(dump_fields), out, "dump", err) < 0)
				return -1;
		} else {
			out->has_restore = true;
			if (decode_entry(&s, restore_fields, ARRAY_SIZE(restore_fields), out, "restore", err) < 0)
				return -1;
		}
	}
	/* Bytes after the entry: CRIU writes one entry; ignore trailing data
	 * rather than guess at it. */
	if (dump && !out->has_dump)
		return ferry_error_set(err, EINVAL, "no dump entry");
	if (!dump && !out->has_restore)
		return ferry_error_set(err, EINVAL, "no restore entry");
	return 0;
}

int
ferry_criu_read_stats(int dir_fd, bool dump, struct ferry_criu_stats *out, ferry_error_t *err)
{
	const char *name = dump ? "stats-dump" : "stats-restore";
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	/* 12 bytes of framing + the entry. */
	if (ferry_read_file_at(dir_fd, name, FERRY_CRIU_STATS_MAX + 12, &buf, &len, err) < 0)
		return ferry_error_prefix(err, "CRIU statistics");
	if (ferry_criu_stats_decode(buf, len, dump, out, err) < 0)
		return ferry_error_prefix(err, "CRIU statistics %s", name);
	return 0;
}
