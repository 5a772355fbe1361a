/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what `ferry serve`'s root monitor decodes from its
 * unprivileged network process (src/lib/privsep.c): typed fields and the
 * manifest of a transfer.  The network process is the part a hostile peer
 * could take over, so these bytes are the monitor's attack surface.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_ps_msg m, again, back;
	struct ferry_xfer_manifest xm = { 0 }, xm2 = { 0 };
	ferry_error_t err = FERRY_ERROR_INIT;

	if (size < 1)
		return 0;
	/* The first byte picks what the monitor would read; the rest is the
	 * payload as it arrives. */
	ferry_ps_init(&m, data[0]);
	m.p = size > 1 ? xmalloc0(size - 1) : NULL;
	if (m.p)
		memcpy(m.p, data + 1, size - 1);
	m.len = m.cap = size - 1;
	if (data[0] & 1) {
		if (ferry_ps_get_manifest(&m, &xm, &err) < 0) {
			if (err.msg == NULL || xm.v != NULL || xm.n != 0)
				abort();
			ferry_error_clear(&err);
		} else {
			/* A manifest that passed comes back the same. */
			ferry_ps_init(&again, 0);
			ferry_ps_put_manifest(&again, &xm);
			back = again;
			back.off = 0;
			if (ferry_ps_get_manifest(&back, &xm2, &err) < 0 || xm2.n != xm.n ||
			    xm2.total_bytes != xm.total_bytes)
				abort();
			ferry_xfer_manifest_free(&xm2);
			ferry_xfer_manifest_free(&xm);
			free(again.p);
		}
	} else {
		/* A request of strings and numbers, read until it runs out. */
		while (!m.bad && m.off < m.len) {
			size_t blen;
			char *s;
			switch (m.off % 3) {
			case 0:
				s = ferry_ps_get_str(&m);
				if (s && strlen(s) > m.len)
					abort();
				free(s);
				break;
			case 1:
				ferry_ps_get_u64(&m);
				break;
			default:
				if (ferry_ps_get_bytes(&m, &blen) && blen > m.len)
					abort();
				break;
			}
		}
		if (m.off > m.len)
			abort();
	}
	ferry_ps_free(&m);
	return 0;
}
