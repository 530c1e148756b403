/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditexport.h - what a USB export carries (docs/usb-bundle.md): the desk's
 * signed audit batches (auditbatch.h), the very bytes the upload would PUT,
 * in one CBOR map that the desk seals to the back office's export key
 * (crypto_box_seal) as qrdesk/export/<desk>-<sequence>.qrlog:
 *
 *   1: format (tstr "qrdesk-export-2")
 *   2: desk id (tstr, desk_id_valid)
 *   3: the export request's id (tstr, 1..64 printable ASCII)
 *   4: created at (uint, seconds)
 *   5: batches (array of 1..AUDITEXPORT_BATCHES_MAX bstr), each a signed batch of this desk,
 *      sequences strictly ascending
 *
 * Parsing is strict (every key known, no repeats, no bytes after; every
 * batch parses as a batch of the named desk), allocates nothing and points
 * into the input.  Signatures and the chain are ingest's to judge
 * (qrdesk-issuer ingest), against the desk list.
 */
#ifndef QRDESK_AUDITEXPORT_H
#define QRDESK_AUDITEXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/cbor.h"
#include "qrdesk/error.h"

#define AUDITEXPORT_FORMAT      "qrdesk-export-2"
#define AUDITEXPORT_BATCHES_MAX 16
#define AUDITEXPORT_REQUEST_MAX 64
/* The largest export accepted (before sealing). */
#define AUDITEXPORT_MAX (AUDITEXPORT_BATCHES_MAX * (AUDITBATCH_MAX + 16) + 1024)

struct auditexport_batch {
	const uint8_t *bytes; /* the signed batch, inside the input */
	size_t len;
	uint64_t sequence;
	size_t rows;
};

struct auditexport {
	char desk[DESK_ID_MAX + 1];
	char request[AUDITEXPORT_REQUEST_MAX + 1];
	int64_t created_at;
	size_t n_batches;
	struct auditexport_batch batches[AUDITEXPORT_BATCHES_MAX];
};

/* Parse buf (the unsealed bytes).  On failure *out is empty and why names the field or batch. */
enum qd_err auditexport_parse(const uint8_t *buf, size_t len, struct auditexport *out,
                              struct qd_errmsg *why);

/* Write an export of n signed batches (a counting pass with a NULL buffer gives the size). */
void auditexport_put(struct cbor_writer *w, const char *desk, const char *request,
                     int64_t created_at, const uint8_t *const *batches, const size_t *lens,
                     size_t n);

#endif
