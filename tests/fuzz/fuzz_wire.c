/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the migration wire decoders: everything a peer of
 * `ferry serve` or `ferry migrate` sends goes through these before any
 * other code sees it.  Input: a preamble, then records as on the wire.
 *
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Isrc/lib -Ibuild \
 *     tests/fuzz/fuzz_wire.c src/lib/{wire,tls,util,error,log}.c -ljansson -lgnutls -o fuzz_wire
 *   ./fuzz_wire -max_total_time=30 tests/fuzz/corpus/wire
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ferry_error_t e = FERRY_ERROR_INIT;
	enum ferry_conn_kind kind;

	if (size < FERRY_WIRE_PREAMBLE_LEN)
		return 0;
	ferry_wire_preamble_decode(data, &kind, &e);
	ferry_error_clear(&e);
	data += FERRY_WIRE_PREAMBLE_LEN;
	size -= FERRY_WIRE_PREAMBLE_LEN;
	while (size >= FERRY_WIRE_HEADER_LEN) {
		uint32_t type, len;
		json_t *j = NULL;

		if (ferry_wire_header_decode(data, &type, &len, &e) < 0) {
			ferry_error_clear(&e);
			return 0;
		}
		data += FERRY_WIRE_HEADER_LEN;
		size -= FERRY_WIRE_HEADER_LEN;
		if (len > size)
			return 0;
		if (type == FERRY_MSG_FILE_DATA) {
			uint32_t idx;
			uint64_t off;
			const void *d;
			size_t dl;
			if (ferry_wire_file_data_decode(data, len, &idx, &off, &d, &dl, &e) == 0 && dl)
				/* the decoded slice must be inside the record */
				if ((const uint8_t *) d + dl > data + len)
					__builtin_trap();
		} else if (ferry_wire_json_decode(type, data, len, &j, &e) == 0) {
			const char *s;
			int64_t i;
			bool b;
			ferry_wire_get_str(j, "id", true, &s, &e);
			ferry_error_clear(&e);
			ferry_wire_get_int(j, "bytes", false, 0, INT64_MAX, &i, &e);
			ferry_error_clear(&e);
			ferry_wire_get_bool(j, "final", &b, &e);
			json_decref(j);
		}
		ferry_error_clear(&e);
		data += len;
		size -= len;
	}
	return 0;
}
