/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditbatch.c - a desk's signed audit batch (see auditbatch.h).
 */
#include "qrdesk/auditbatch.h"

#include <stdlib.h>
#include <string.h>

#include "qrdesk/digest.h"

enum { B_DESK = 1, B_SEQUENCE = 2, B_PREVIOUS = 3, B_CREATED = 4, B_ROWS = 5 };
enum {
	R_ID = 1,
	R_TIME = 2,
	R_SOURCE = 3,
	R_VERDICT = 4,
	R_REASON = 5,
	R_KID = 6,
	R_CLEARANCE = 7,
	R_LATENCY = 8,
	R_EXPIRES = 9,
};

static bool text_ok(const char *t, size_t n)
{
	if (n == 0 || n > AUDITBATCH_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

static enum cbor_status read_u63(struct cbor_reader *r, int64_t *out)
{
	return cbor_read_time(r, out); /* an unsigned integer that fits int64_t */
}

/* One row map into row; index for messages. */
static enum qd_err read_row(struct cbor_reader *r, size_t index, struct auditbatch_row *row,
                            struct qd_errmsg *why)
{
	memset(row, 0, sizeof(*row));
	size_t count = 0;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK) {
		qd_errmsg_set(why, "row %zu: %s", index, cbor_status_name(st));
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	bool have_id = false, have_time = false, have_latency = false;
	for (size_t i = 0; i < count; i++) {
		int64_t key = 0;
		if ((st = cbor_read_int_key(r, &seen, &key)) != CBOR_OK) {
			qd_errmsg_set(why, "row %zu: key: %s", index, cbor_status_name(st));
			return QD_ERR_FORMAT;
		}
		const char **text = NULL;
		size_t *text_len = NULL;
		size_t n = 0;
		switch (key) {
		case R_ID:
			st = read_u63(r, &row->id);
			have_id = true;
			break;
		case R_TIME:
			st = read_u63(r, &row->time_us);
			have_time = true;
			break;
		case R_LATENCY:
			st = read_u63(r, &row->latency_us);
			have_latency = true;
			break;
		case R_EXPIRES:
			st = read_u63(r, &row->card_expires_at);
			break;
		case R_SOURCE:
			text = &row->source, text_len = &row->source_len;
			break;
		case R_VERDICT:
			text = &row->verdict, text_len = &row->verdict_len;
			break;
		case R_REASON:
			text = &row->reason, text_len = &row->reason_len;
			break;
		case R_KID:
			st = cbor_read_bstr(r, &row->kid, &row->kid_len);
			if (st == CBOR_OK && (row->kid_len == 0 || row->kid_len > TRUST_KID_MAX)) {
				qd_errmsg_set(why, "row %zu: kid of %zu bytes", index,
				              row->kid_len);
				return QD_ERR_FORMAT;
			}
			break;
		case R_CLEARANCE:
			st = cbor_read_bstr(r, &row->clearance_hash, &n);
			if (st == CBOR_OK && n != TRUST_HASH_LEN) {
				qd_errmsg_set(why,
				              "row %zu: clearance pseudonym of %zu bytes, want %d",
				              index, n, TRUST_HASH_LEN);
				return QD_ERR_FORMAT;
			}
			break;
		default:
			qd_errmsg_set(why, "row %zu: unknown key %lld", index, (long long)key);
			return QD_ERR_FORMAT;
		}
		if (st == CBOR_OK && text != NULL) {
			st = cbor_read_tstr(r, text, text_len);
			if (st == CBOR_OK && !text_ok(*text, *text_len)) {
				qd_errmsg_set(why, "row %zu: field %lld: not 1..%d printable ASCII",
				              index, (long long)key, AUDITBATCH_TEXT_MAX);
				return QD_ERR_FORMAT;
			}
		}
		if (st != CBOR_OK) {
			qd_errmsg_set(why, "row %zu: field %lld: %s", index, (long long)key,
			              cbor_status_name(st));
			return QD_ERR_FORMAT;
		}
	}
	if (!have_id || !have_time || !have_latency) {
		qd_errmsg_set(why, "row %zu: id, time and latency are required", index);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

static enum qd_err parse_payload(const uint8_t *p, size_t len, struct auditbatch *out,
                                 struct qd_errmsg *why)
{
	struct cbor_reader r;
	cbor_reader_init(&r, p, len);
	size_t count = 0;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "batch", st);
	if (count != 5) {
		qd_errmsg_set(why, "batch: %zu fields, want 5", count);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	for (size_t i = 0; i < count; i++) {
		int64_t key = 0;
		if ((st = cbor_read_int_key(&r, &seen, &key)) != CBOR_OK)
			return cbor_field_error(why, "batch key", st);
		const char *text = NULL;
		const uint8_t *bytes = NULL;
		size_t n = 0;
		switch (key) {
		case B_DESK:
			st = cbor_read_tstr(&r, &text, &n);
			if (st == CBOR_OK && !desk_id_valid(text, n)) {
				qd_errmsg_set(why, "batch: desk id not 1..%d of A-Z a-z 0-9 . _ -",
				              DESK_ID_MAX);
				return QD_ERR_FORMAT;
			}
			if (st == CBOR_OK)
				memcpy(out->desk, text, n);
			break;
		case B_SEQUENCE:
			st = cbor_read_uint(&r, &out->sequence);
			if (st == CBOR_OK && (out->sequence == 0 || out->sequence > INT64_MAX)) {
				qd_errmsg_set(why, "batch: sequence %llu",
				              (unsigned long long)out->sequence);
				return QD_ERR_FORMAT;
			}
			break;
		case B_PREVIOUS:
			st = cbor_read_bstr(&r, &bytes, &n);
			if (st == CBOR_OK && n != AUDITBATCH_HASH_LEN) {
				qd_errmsg_set(why, "batch: previous hash of %zu bytes", n);
				return QD_ERR_FORMAT;
			}
			if (st == CBOR_OK)
				memcpy(out->previous, bytes, n);
			break;
		case B_CREATED:
			st = cbor_read_time(&r, &out->created_at);
			break;
		case B_ROWS:
			st = cbor_read_array(&r, &out->n_rows);
			if (st == CBOR_OK && out->n_rows > AUDITBATCH_ROWS_MAX) {
				qd_errmsg_set(why, "batch: %zu rows, more than %d", out->n_rows,
				              AUDITBATCH_ROWS_MAX);
				return QD_ERR_TOO_LARGE;
			}
			if (st != CBOR_OK)
				break;
			out->rows = r.buf + r.pos;
			int64_t last = -1;
			for (size_t j = 0; j < out->n_rows; j++) {
				struct auditbatch_row row;
				enum qd_err rc = read_row(&r, j, &row, why);
				if (rc != QD_OK)
					return rc;
				if (row.id <= last) {
					qd_errmsg_set(why,
					              "row %zu: id %lld not above the one before",
					              j, (long long)row.id);
					return QD_ERR_FORMAT;
				}
				last = row.id;
			}
			out->rows_len = (size_t)(r.buf + r.pos - out->rows);
			break;
		default:
			qd_errmsg_set(why, "batch: unknown key %lld", (long long)key);
			return QD_ERR_FORMAT;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "batch field", st);
	}
	if ((st = cbor_expect_end(&r)) != CBOR_OK)
		return cbor_field_error(why, "batch", st);
	return QD_OK;
}

enum qd_err auditbatch_parse(const uint8_t *buf, size_t len, struct auditbatch *out,
                             struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	if (len > AUDITBATCH_MAX) {
		qd_errmsg_set(why, "batch: %zu bytes, more than %d", len, AUDITBATCH_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct cose_error err;
	if (cose_sign1_parse(buf, len, &out->cose, &err) != COSE_OK) {
		qd_errmsg_set(why, "batch: not a COSE_Sign1 (%d/%s)", (int)err.status,
		              cbor_status_name(err.cbor));
		return QD_ERR_FORMAT;
	}
	if (out->cose.alg != SIGNATURE_ALG_EDDSA) {
		qd_errmsg_set(why, "batch: signed with %s, desks sign with EdDSA",
		              signature_alg_name(out->cose.alg));
		return QD_ERR_FORMAT;
	}
	enum qd_err rc = parse_payload(out->cose.payload, out->cose.payload_len, out, why);
	if (rc != QD_OK) {
		struct cose_sign1 keep = out->cose;
		memset(out, 0, sizeof(*out));
		out->cose = keep;
		return rc;
	}
	digest_sha256(buf, len, out->hash);
	return QD_OK;
}

enum qd_err auditbatch_verify(const struct auditbatch *b, const uint8_t *pub, size_t pub_len)
{
	return cose_sign1_verify(&b->cose, NULL, 0, pub, pub_len) == QD_OK ? QD_OK
	                                                                   : QD_ERR_SIGNATURE;
}

bool auditbatch_row_next(const struct auditbatch *b, size_t *at, struct auditbatch_row *row)
{
	if (*at >= b->rows_len)
		return false;
	struct cbor_reader r;
	cbor_reader_init(&r, b->rows, b->rows_len);
	r.pos = *at;
	struct qd_errmsg why = {{0}};
	if (read_row(&r, 0, row, &why) != QD_OK) /* checked by the parse: cannot fail */
		return false;
	*at = r.pos;
	return true;
}

void auditbatch_put_head(struct cbor_writer *w, const char *desk, uint64_t sequence,
                         const uint8_t previous[AUDITBATCH_HASH_LEN], int64_t created_at,
                         size_t n_rows)
{
	cbor_put_map(w, 5);
	cbor_put_uint(w, B_DESK);
	cbor_put_cstr(w, desk);
	cbor_put_uint(w, B_SEQUENCE);
	cbor_put_uint(w, sequence);
	cbor_put_uint(w, B_PREVIOUS);
	cbor_put_bstr(w, previous, AUDITBATCH_HASH_LEN);
	cbor_put_uint(w, B_CREATED);
	cbor_put_uint(w, (uint64_t)(created_at > 0 ? created_at : 0));
	cbor_put_uint(w, B_ROWS);
	cbor_put_array(w, n_rows);
}

/* A text as the parser takes it, into buf; its length (0: leave the field out). */
static size_t clean_text(const char *t, char buf[AUDITBATCH_TEXT_MAX])
{
	size_t n = 0;
	for (; t != NULL && t[n] != '\0' && n < AUDITBATCH_TEXT_MAX; n++)
		buf[n] = t[n] >= 0x20 && t[n] <= 0x7e ? t[n] : '?';
	return n;
}

void auditbatch_put_row(struct cbor_writer *w, const struct auditbatch_put *row)
{
	char source[AUDITBATCH_TEXT_MAX], verdict[AUDITBATCH_TEXT_MAX], reason[AUDITBATCH_TEXT_MAX];
	size_t ns = clean_text(row->source, source), nv = clean_text(row->verdict, verdict),
	       nr = clean_text(row->reason, reason);
	bool kid = row->kid != NULL && row->kid_len > 0 && row->kid_len <= TRUST_KID_MAX;
	size_t fields = 3 + (ns > 0) + (nv > 0) + (nr > 0) + kid + (row->clearance_hash != NULL) +
	                (row->card_expires_at > 0);
	cbor_put_map(w, fields);
	cbor_put_uint(w, R_ID);
	cbor_put_uint(w, (uint64_t)(row->id > 0 ? row->id : 0));
	cbor_put_uint(w, R_TIME);
	cbor_put_uint(w, (uint64_t)(row->time_us > 0 ? row->time_us : 0));
	if (ns > 0) {
		cbor_put_uint(w, R_SOURCE);
		cbor_put_tstr(w, source, ns);
	}
	if (nv > 0) {
		cbor_put_uint(w, R_VERDICT);
		cbor_put_tstr(w, verdict, nv);
	}
	if (nr > 0) {
		cbor_put_uint(w, R_REASON);
		cbor_put_tstr(w, reason, nr);
	}
	if (kid) {
		cbor_put_uint(w, R_KID);
		cbor_put_bstr(w, row->kid, row->kid_len);
	}
	if (row->clearance_hash != NULL) {
		cbor_put_uint(w, R_CLEARANCE);
		cbor_put_bstr(w, row->clearance_hash, TRUST_HASH_LEN);
	}
	cbor_put_uint(w, R_LATENCY);
	cbor_put_uint(w, (uint64_t)(row->latency_us > 0 ? row->latency_us : 0));
	if (row->card_expires_at > 0) {
		cbor_put_uint(w, R_EXPIRES);
		cbor_put_uint(w, (uint64_t)row->card_expires_at);
	}
}

/* Ed25519 only: the daemon then links no other signing code (ctest demo_integration). */
static enum qd_err sign_ed25519(void *ctx, const uint8_t *msg, size_t msg_len,
                                uint8_t sig[SIGNATURE_LEN])
{
	return signature_sign_ed25519(ctx, msg, msg_len, sig);
}

enum qd_err auditbatch_sign(const struct signature_keypair *kp, const uint8_t *payload,
                            size_t payload_len, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (kp->alg != SIGNATURE_ALG_EDDSA)
		return QD_ERR_UNSUPPORTED; /* desks sign with EdDSA */
	uint8_t kid[TRUST_KID_DEFAULT_LEN];
	trust_kid_derive(kp->pub, kp->pub_len, kid);
	size_t cap = cose_sign1_encoded_len(sizeof(kid), payload_len);
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return QD_ERR_NOMEM;
	/* The callback only reads the key pair: the cast drops a const it keeps. */
	enum qd_err rc = cose_sign1_sign_by(SIGNATURE_ALG_EDDSA, sign_ed25519, (void *)kp, kid,
	                                    sizeof(kid), payload, payload_len, buf, cap, out_len);
	if (rc != QD_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	return QD_OK;
}
