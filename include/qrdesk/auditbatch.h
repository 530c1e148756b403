/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditbatch.h - a desk's signed audit batch (docs/audit-upload.md): the
 * unit a desk uploads (`{url}/{desk_id}/{sequence}.cose`) or exports, and the
 * back office ingests.
 *
 * A batch is a COSE_Sign1 (tagged, protected header {1: EdDSA, 4: kid of the
 * desk key}) by the desk's own key (desk_key.h) over the payload map
 *
 *   1: desk id (tstr, desk_id_valid)
 *   2: sequence (uint >= 1; the desk's batches are numbered 1, 2, 3...)
 *   3: previous (bstr 32: SHA-256 of the whole COSE bytes of batch sequence-1;
 *      32 zero bytes for sequence 1) - a chain per desk, so a gap, a
 *      rewritten or a second batch of one number is visible to anyone
 *      holding the desk list
 *   4: created at (uint, seconds)
 *   5: rows (array, at most AUDITBATCH_ROWS_MAX), each a map
 *        1: row id (uint, the desk's audit row id; strictly ascending)
 *        2: time (uint, microseconds)        8: latency (uint, microseconds)
 *        3: source, 4: verdict, 5: reason (tstr, printable ASCII, 1..64; each optional)
 *        6: kid (bstr 1..16; optional)
 *        7: clearance pseudonym (bstr 16; optional)
 *        9: card expires at (uint, seconds; optional)
 *
 * Parsing is strict (every key known, no repeats, bounds, no bytes after),
 * allocates nothing and points into the input.  The signature is checked
 * separately, against the key the desk list gives for the payload's desk id.
 */
#ifndef QRDESK_AUDITBATCH_H
#define QRDESK_AUDITBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/desklist.h"
#include "qrdesk/error.h"
#include "qrdesk/signature.h"
#include "qrdesk/trust.h"

#define AUDITBATCH_ROWS_MAX 10000 /* [upload] batch_rows at most */
#define AUDITBATCH_TEXT_MAX 64
#define AUDITBATCH_HASH_LEN 32
/* The largest batch accepted: AUDITBATCH_ROWS_MAX rows of at most 300 bytes, and the rest. */
#define AUDITBATCH_MAX (AUDITBATCH_ROWS_MAX * 300 + 1024)

struct auditbatch_row {
	int64_t id;
	int64_t time_us;
	int64_t latency_us;
	int64_t card_expires_at; /* 0: not given */
	/* Texts point into the batch, not NUL-terminated; NULL (length 0) when absent. */
	const char *source, *verdict, *reason;
	size_t source_len, verdict_len, reason_len;
	const uint8_t *kid; /* NULL when absent */
	size_t kid_len;
	const uint8_t *clearance_hash; /* TRUST_HASH_LEN bytes, or NULL */
};

struct auditbatch {
	struct cose_sign1 cose;
	char desk[DESK_ID_MAX + 1];
	uint64_t sequence;
	uint8_t previous[AUDITBATCH_HASH_LEN];
	int64_t created_at;
	size_t n_rows;
	const uint8_t
	        *rows; /* the rows' encoding (after the array head), for auditbatch_row_next */
	size_t rows_len;
	uint8_t hash[AUDITBATCH_HASH_LEN]; /* SHA-256 of the whole batch: the next one's previous */
};

/*
 * Parse a batch (no signature check); out points into buf.  QD_ERR_FORMAT (why names the
 * field, and the row) or QD_ERR_TOO_LARGE.
 */
enum qd_err auditbatch_parse(const uint8_t *buf, size_t len, struct auditbatch *out,
                             struct qd_errmsg *why);

/* Does the batch's signature verify under pub (an Ed25519 key)?  QD_OK or QD_ERR_SIGNATURE. */
enum qd_err auditbatch_verify(const struct auditbatch *b, const uint8_t *pub, size_t pub_len);

/* Walk the rows of a parsed batch: start with *at = 0; false after the last. */
bool auditbatch_row_next(const struct auditbatch *b, size_t *at, struct auditbatch_row *row);

/* The payload's head; rows are then written with auditbatch_put_row, n_rows of them. */
void auditbatch_put_head(struct cbor_writer *w, const char *desk, uint64_t sequence,
                         const uint8_t previous[AUDITBATCH_HASH_LEN], int64_t created_at,
                         size_t n_rows);
/*
 * One row (texts NUL-terminated, NULL: absent; clearance_hash TRUST_HASH_LEN bytes or NULL).  A
 * text is written as the parser takes it: cut to AUDITBATCH_TEXT_MAX, anything but printable
 * ASCII as '?', an empty one left out.
 */
struct auditbatch_put {
	int64_t id, time_us, latency_us, card_expires_at;
	const char *source, *verdict, *reason;
	const uint8_t *kid;
	size_t kid_len;
	const uint8_t *clearance_hash;
};
void auditbatch_put_row(struct cbor_writer *w, const struct auditbatch_put *row);

/*
 * Sign payload with the desk key into a malloc'd COSE_Sign1 (*out, *out_len).  The kid is
 * the key's derived id (trust_kid_derive).
 */
enum qd_err auditbatch_sign(const struct signature_keypair *kp, const uint8_t *payload,
                            size_t payload_len, uint8_t **out, size_t *out_len);

#endif
