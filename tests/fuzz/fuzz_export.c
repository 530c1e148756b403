/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_export - auditexport_parse over arbitrary bytes: a USB export as the
 * back office has it once unsealed (qrdesk-issuer open-export), before its
 * batches are written out as DESK/SEQUENCE.cose for ingest.
 *
 * On failure: a message, no desk, no batches.  On success: a valid desk id
 * (never "." or ".." or a '/': it names a folder), a printable request id,
 * 1..AUDITEXPORT_BATCHES_MAX batches inside the input, each a batch of that
 * desk with strictly ascending sequences and its row count; written back
 * (counting pass, exact buffer) it parses to the same, and one byte short is
 * refused by the writer.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/auditexport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auditexport x, again;
	struct qd_errmsg why = {{0}};
	if (auditexport_parse(data, size, &x, &why) != QD_OK) {
		FUZZ_CHECK(why.text[0] != '\0' && x.desk[0] == '\0' && x.n_batches == 0);
		return 0;
	}
	size_t desk_len = strlen(x.desk);
	FUZZ_CHECK(desk_id_valid(x.desk, desk_len) && strchr(x.desk, '/') == NULL);
	FUZZ_CHECK(strcmp(x.desk, ".") != 0 && strcmp(x.desk, "..") != 0);
	size_t req_len = strlen(x.request);
	FUZZ_CHECK(req_len >= 1 && req_len <= AUDITEXPORT_REQUEST_MAX);
	for (size_t i = 0; i < req_len; i++)
		FUZZ_CHECK(x.request[i] >= 0x20 && x.request[i] <= 0x7e);
	FUZZ_CHECK(x.n_batches >= 1 && x.n_batches <= AUDITEXPORT_BATCHES_MAX);
	const uint8_t *batches[AUDITEXPORT_BATCHES_MAX];
	size_t lens[AUDITEXPORT_BATCHES_MAX];
	uint64_t last = 0;
	for (size_t i = 0; i < x.n_batches; i++) {
		const struct auditexport_batch *e = &x.batches[i];
		FUZZ_CHECK(fuzz_inside(e->bytes, e->len, data, size));
		FUZZ_CHECK(e->sequence > last);
		last = e->sequence;
		struct auditbatch b;
		FUZZ_CHECK(auditbatch_parse(e->bytes, e->len, &b, &why) == QD_OK);
		FUZZ_CHECK(strcmp(b.desk, x.desk) == 0 && b.sequence == e->sequence &&
		           b.n_rows == e->rows);
		batches[i] = e->bytes;
		lens[i] = e->len;
	}
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	auditexport_put(&w, x.desk, x.request, x.created_at, batches, lens, x.n_batches);
	size_t cap = w.len;
	uint8_t *out = malloc(cap);
	FUZZ_CHECK(out != NULL);
	cbor_writer_init(&w, out, cap - 1);
	auditexport_put(&w, x.desk, x.request, x.created_at, batches, lens, x.n_batches);
	FUZZ_CHECK(cbor_writer_status(&w) != CBOR_OK);
	cbor_writer_init(&w, out, cap);
	auditexport_put(&w, x.desk, x.request, x.created_at, batches, lens, x.n_batches);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK && w.len == cap);
	FUZZ_CHECK(auditexport_parse(out, cap, &again, &why) == QD_OK);
	FUZZ_CHECK(strcmp(again.desk, x.desk) == 0 && strcmp(again.request, x.request) == 0 &&
	           again.created_at == x.created_at && again.n_batches == x.n_batches);
	for (size_t i = 0; i < x.n_batches; i++)
		FUZZ_CHECK(again.batches[i].len == x.batches[i].len &&
		           memcmp(again.batches[i].bytes, x.batches[i].bytes, x.batches[i].len) ==
		                   0);
	free(out);
	return 0;
}
