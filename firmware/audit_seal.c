/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_seal.c - see audit_seal.h and docs/audit-upload.md.  The store keeps
 * the open batch and the chain; this file turns a batch into signed bytes
 * once (auditbatch.h).
 */
#include "qrdesk/audit_seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/hex.h"

/* The rows of a batch into a writer (a counting pass first, then the real one). */
struct rows_ctx {
	struct cbor_writer *w;
	size_t n;
};

static enum qd_err put_row(void *ctx, const struct store_audit_row *row)
{
	struct rows_ctx *c = ctx;
	const struct audit_record *r = &row->rec;
	struct auditbatch_put put = {
	        .id = row->id,
	        .time_us = r->time_us,
	        .latency_us = r->latency_us,
	        .card_expires_at = r->card_expires_at,
	        .source = r->source,
	        .verdict = r->verdict,
	        .reason = r->reason,
	        .kid = r->kid,
	        .kid_len = r->kid_len,
	        .clearance_hash = r->clearance_hash,
	};
	auditbatch_put_row(c->w, &put);
	c->n++;
	return QD_OK;
}

/* Whether the other way out sealed or delivered batch since the chain's last link was last. */
static bool taken_meanwhile(struct store *store, const struct store_upload_batch *batch,
                            uint64_t last, struct qd_errmsg *why)
{
	uint64_t seq = 0, now_last = 0;
	uint8_t *bytes = NULL, previous[AUDITBATCH_HASH_LEN];
	size_t len = 0;
	bool sealed = store_upload_batch_sealed(store, batch, &seq, &bytes, &len, why) == QD_OK &&
	              bytes != NULL;
	free(bytes);
	return sealed ||
	       (store_upload_chain(store, &now_last, previous, why) == QD_OK && now_last != last);
}

enum qd_err upload_batch_seal(struct store *store, const struct store_upload_batch *batch,
                              const char *desk, const struct signature_keypair *kp, int64_t now_s,
                              uint64_t *seq, uint8_t **bytes, size_t *len, struct qd_errmsg *why)
{
	*bytes = NULL;
	*len = 0;
	enum qd_err rc = store_upload_batch_sealed(store, batch, seq, bytes, len, why);
	if (rc != QD_OK || *bytes != NULL)
		return rc; /* sealed before: the very same bytes again */
	uint8_t previous[AUDITBATCH_HASH_LEN];
	uint64_t last = 0;
	rc = store_upload_chain(store, &last, previous, why);
	if (rc != QD_OK)
		return rc;
	/* Rows first, counted, so the head can say how many. */
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	struct rows_ctx c = {.w = &w};
	rc = store_upload_batch_rows(store, batch, put_row, &c, why);
	size_t rows_len = w.len, n = c.n;
	uint8_t *payload = NULL;
	if (rc == QD_OK) {
		cbor_writer_init(&w, NULL, 0);
		auditbatch_put_head(&w, desk, last + 1, previous, now_s, n);
		size_t cap = w.len + rows_len;
		payload = malloc(cap);
		if (payload == NULL)
			rc = QD_ERR_NOMEM;
		else {
			cbor_writer_init(&w, payload, cap);
			auditbatch_put_head(&w, desk, last + 1, previous, now_s, n);
			c = (struct rows_ctx){.w = &w};
			rc = store_upload_batch_rows(store, batch, put_row, &c, why);
			/* Rows changed between the passes would leave a short payload: never sign
			 * it.  The other way out delivering this batch meanwhile changes them too
			 * (and moves the chain): that is its batch now, not a fault. */
			if (rc == QD_OK && (c.n != n || cbor_writer_status(&w) != CBOR_OK)) {
				rc = taken_meanwhile(store, batch, last, why) ? QD_ERR_EXISTS
				                                              : QD_ERR_STORE;
				if (rc == QD_ERR_STORE)
					qd_errmsg_set(
					        why,
					        "batch %s: its rows changed while it was sealed",
					        batch->id);
			}
		}
	}
	if (rc == QD_OK)
		rc = auditbatch_sign(kp, payload, w.len, bytes, len);
	free(payload);
	if (rc == QD_OK)
		rc = store_upload_batch_seal(store, batch, last + 1, *bytes, *len, why);
	if (rc == QD_ERR_EXISTS) {
		/* The other way out sealed it first: its bytes are the batch's bytes.  Or it
		 * delivered it and closed it: there is nothing to send under this batch. */
		free(*bytes);
		*bytes = NULL;
		*len = 0;
		rc = store_upload_batch_sealed(store, batch, seq, bytes, len, why);
		if (rc == QD_OK && *bytes != NULL)
			return QD_OK;
		if (rc == QD_OK) {
			qd_errmsg_set(why, "batch %s was delivered while it was sealed", batch->id);
			rc = QD_ERR_EXISTS;
		}
	}
	if (rc != QD_OK) {
		free(*bytes);
		*bytes = NULL;
		*len = 0;
		return rc;
	}
	*seq = last + 1;
	return QD_OK;
}

/* A new batch id: 128 random bits in hex (the same bits never come twice). */
static enum qd_err new_batch_id(char *out, size_t cap)
{
	uint8_t raw[16];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0)
			return QD_ERR_IO;
		got += (size_t)n;
	}
	hex_encode(raw, sizeof(raw), out, cap);
	return QD_OK;
}

/* A batch closed by the other way out while this one sealed it: at most this many
 * reopenings (each one means that way delivered a batch, so the next is a new one). */
#define SEAL_TRIES 4

enum qd_err audit_seal_next(struct store *store, size_t max_rows, const char *desk,
                            const struct signature_keypair *kp, int64_t now_us,
                            struct audit_sealed *out, bool *found, struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	*found = false;
	if (max_rows == 0 || max_rows > AUDITBATCH_ROWS_MAX)
		max_rows = AUDITBATCH_ROWS_MAX;
	enum qd_err rc = QD_ERR_EXISTS;
	for (int i = 0; i < SEAL_TRIES && rc == QD_ERR_EXISTS; i++) {
		char id[sizeof(out->batch.id)];
		if (new_batch_id(id, sizeof(id)) != QD_OK) {
			qd_errmsg_set(why, "cannot make a batch id: no randomness");
			return QD_ERR_IO;
		}
		bool open = false;
		rc = store_upload_batch_open(store, max_rows, id, now_us, &out->batch, &open, why);
		if (rc != QD_OK || !open)
			return rc;
		rc = upload_batch_seal(store, &out->batch, desk, kp, now_us / 1000000, &out->seq,
		                       &out->bytes, &out->len, why);
	}
	if (rc == QD_ERR_EXISTS)
		/* Not a fork (the storage's 409): the other way out kept taking the batches. */
		qd_errmsg_set(why,
		              "the other way out delivered %d batches while this one sealed them: "
		              "nothing sent, try again",
		              SEAL_TRIES);
	if (rc == QD_OK)
		*found = true;
	return rc;
}
