/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cose.c - COSE_Sign1: parse (strictly, pointing into the input), build the
 * Sig_structure, verify, sign.  See cose.h for what is accepted.
 */
#include "qrdesk/cose.h"

#include <stdlib.h>
#include <string.h>

#include "qrdesk/signature.h"

/* Sig_structures up to this size are built on the stack (every card is). */
#define COSE_TBS_STACK 2048

static enum cose_status fail_cbor(struct cose_error *err, enum cbor_status st)
{
	if (err != NULL)
		err->cbor = st;
	/* A wrong type where the structure wants another is a structure error. */
	return st == CBOR_ERR_TYPE ? COSE_ERR_STRUCTURE : COSE_ERR_CBOR;
}

struct header_state {
	bool has_alg;
	int64_t alg;
	bool alg_unsupported_type; /* alg given as text: no algorithm of ours */
	const uint8_t *kid;
	size_t kid_len;
	bool has_kid;
	bool has_crit;
};

/*
 * Read one header map from r into h.  Labels must be integers; values of
 * labels we do not use are checked by cbor_skip and passed over.
 */
static enum cose_status parse_header_map(struct cbor_reader *r, struct header_state *h,
                                         struct cose_error *err)
{
	size_t count;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st == CBOR_ERR_TYPE)
		return COSE_ERR_HEADER;
	if (st != CBOR_OK)
		return fail_cbor(err, st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	for (size_t i = 0; i < count; i++) {
		int64_t label;
		st = cbor_read_int(r, &label);
		if (st == CBOR_ERR_TYPE || st == CBOR_ERR_RANGE)
			return COSE_ERR_HEADER;
		if (st != CBOR_OK)
			return fail_cbor(err, st);
		st = cbor_int_keys_add(&seen, label);
		if (st == CBOR_ERR_TOO_MANY)
			return COSE_ERR_HEADER;
		if (st != CBOR_OK)
			return fail_cbor(err, st);
		switch (label) {
		case COSE_HEADER_ALG: {
			enum cbor_type type;
			st = cbor_peek_type(r, &type);
			if (st != CBOR_OK)
				return fail_cbor(err, st);
			if (type == CBOR_TYPE_TSTR) {
				h->alg_unsupported_type = true;
				st = cbor_skip(r);
			} else {
				st = cbor_read_int(r, &h->alg);
				if (st == CBOR_ERR_TYPE || st == CBOR_ERR_RANGE)
					return COSE_ERR_HEADER;
			}
			if (st != CBOR_OK)
				return fail_cbor(err, st);
			h->has_alg = true;
			break;
		}
		case COSE_HEADER_KID:
			st = cbor_read_bstr(r, &h->kid, &h->kid_len);
			if (st == CBOR_ERR_TYPE)
				return COSE_ERR_HEADER;
			if (st != CBOR_OK)
				return fail_cbor(err, st);
			h->has_kid = true;
			break;
		case COSE_HEADER_CRIT:
			h->has_crit = true;
			/* checked for well-formedness like any value */
			__attribute__((fallthrough));
		default:
			st = cbor_skip(r);
			if (st != CBOR_OK)
				return fail_cbor(err, st);
			break;
		}
	}
	return COSE_OK;
}

enum cose_status cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out,
                                  struct cose_error *err)
{
	struct cose_error local;
	if (err == NULL)
		err = &local;
	err->status = COSE_OK;
	err->cbor = CBOR_OK;
	memset(out, 0, sizeof(*out));

	struct cbor_reader r;
	cbor_reader_init(&r, buf, len);
	enum cbor_type type;
	enum cbor_status st = cbor_peek_type(&r, &type);
	enum cose_status cs;
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	if (type == CBOR_TYPE_TAG) {
		uint64_t tag;
		st = cbor_read_tag(&r, &tag);
		if (st != CBOR_OK)
			return err->status = fail_cbor(err, st);
		if (tag != COSE_TAG_SIGN1)
			return err->status = COSE_ERR_TAG;
		out->tagged = true;
	}
	size_t count;
	st = cbor_read_array(&r, &count);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	if (count != 4)
		return err->status = COSE_ERR_STRUCTURE;

	st = cbor_read_bstr(&r, &out->protected_bytes, &out->protected_len);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	struct header_state prot = {0};
	if (out->protected_len > 0) {
		/* The protected header is its own CBOR item, wholly inside the bstr. */
		struct cbor_reader pr;
		cbor_reader_init(&pr, out->protected_bytes, out->protected_len);
		cs = parse_header_map(&pr, &prot, err);
		if (cs != COSE_OK)
			return err->status = cs;
		st = cbor_expect_end(&pr);
		if (st != CBOR_OK)
			return err->status = fail_cbor(err, st);
	}

	struct header_state unprot = {0};
	cs = parse_header_map(&r, &unprot, err);
	if (cs != COSE_OK)
		return err->status = cs;

	st = cbor_peek_type(&r, &type);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	if (type == CBOR_TYPE_SIMPLE && cbor_read_null(&r) == CBOR_OK)
		return err->status = COSE_ERR_DETACHED;
	st = cbor_read_bstr(&r, &out->payload, &out->payload_len);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	st = cbor_read_bstr(&r, &out->signature, &out->signature_len);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);
	st = cbor_expect_end(&r);
	if (st != CBOR_OK)
		return err->status = fail_cbor(err, st);

	/* crit must be protected, and we understand no critical extension. */
	if (prot.has_crit || unprot.has_crit)
		return err->status = COSE_ERR_CRIT;
	if (unprot.has_alg)
		return err->status = COSE_ERR_ALG_UNPROTECTED;
	if (!prot.has_alg)
		return err->status = COSE_ERR_ALG_MISSING;
	if (prot.alg_unsupported_type ||
	    !signature_alg_supported(signature_alg_canonical(prot.alg)))
		return err->status = COSE_ERR_ALG_UNSUPPORTED;
	/* A label may not stand in both buckets (RFC 9052 s.3). */
	if (prot.has_kid && unprot.has_kid)
		return err->status = COSE_ERR_HEADER;
	out->alg = signature_alg_canonical(prot.alg);
	out->alg_header = prot.alg;
	if (prot.has_kid) {
		out->kid = prot.kid;
		out->kid_len = prot.kid_len;
	} else if (unprot.has_kid) {
		out->kid = unprot.kid;
		out->kid_len = unprot.kid_len;
	}
	return COSE_OK;
}

static void write_tbs(struct cbor_writer *w, const struct cose_sign1 *msg, const uint8_t *aad,
                      size_t aad_len)
{
	static const char context[] = "Signature1";
	cbor_put_array(w, 4);
	cbor_put_tstr(w, context, sizeof(context) - 1);
	cbor_put_bstr(w, msg->protected_bytes, msg->protected_len);
	cbor_put_bstr(w, aad, aad_len);
	cbor_put_bstr(w, msg->payload, msg->payload_len);
}

size_t cose_sign1_tbs_len(const struct cose_sign1 *msg, size_t aad_len)
{
	/* A writer without a buffer only counts (cbor.h); aad is not read. */
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	write_tbs(&w, msg, NULL, aad_len);
	return w.len;
}

enum qd_err cose_sign1_tbs(const struct cose_sign1 *msg, const uint8_t *aad, size_t aad_len,
                           uint8_t *out, size_t cap, size_t *out_len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	write_tbs(&w, msg, aad, aad_len);
	if (cbor_writer_status(&w) != CBOR_OK)
		return QD_ERR_TOO_LARGE;
	*out_len = w.len;
	return QD_OK;
}

enum qd_err cose_sign1_verify(const struct cose_sign1 *msg, const uint8_t *aad, size_t aad_len,
                              const uint8_t *pub, size_t pub_len)
{
	if (!signature_alg_supported(msg->alg))
		return QD_ERR_UNSUPPORTED;
	/* Cheap rejection before building anything. */
	if (msg->signature_len != SIGNATURE_LEN || pub_len != signature_public_len(msg->alg))
		return QD_ERR_SIGNATURE;
	uint8_t stack_buf[COSE_TBS_STACK];
	uint8_t *buf = stack_buf;
	size_t need = cose_sign1_tbs_len(msg, aad_len);
	if (need > sizeof(stack_buf)) {
		buf = malloc(need); /* bounded by the message's own size */
		if (buf == NULL)
			return QD_ERR_NOMEM;
	}
	size_t tbs_len = 0;
	enum qd_err rc = cose_sign1_tbs(msg, aad, aad_len, buf, need, &tbs_len);
	if (rc == QD_OK)
		rc = signature_verify(msg->alg, pub, pub_len, buf, tbs_len, msg->signature,
		                      msg->signature_len);
	if (buf != stack_buf)
		free(buf);
	return rc;
}

/* The protected header we write: {1: alg, 4: kid}. */
static void write_protected(struct cbor_writer *w, int64_t alg, const uint8_t *kid, size_t kid_len)
{
	cbor_put_map(w, 2);
	cbor_put_int(w, COSE_HEADER_ALG);
	cbor_put_int(w, alg);
	cbor_put_int(w, COSE_HEADER_KID);
	cbor_put_bstr(w, kid, kid_len);
}

size_t cose_sign1_encoded_len(size_t kid_len, size_t payload_len)
{
	/* Counting writers: no bytes are read or written, only lengths add up. */
	struct cbor_writer pw;
	cbor_writer_init(&pw, NULL, 0);
	write_protected(&pw, SIGNATURE_ALG_EDDSA, NULL, kid_len);
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	cbor_put_tag(&w, COSE_TAG_SIGN1);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, NULL, pw.len);
	cbor_put_map(&w, 0);
	cbor_put_bstr(&w, NULL, payload_len);
	cbor_put_bstr(&w, NULL, SIGNATURE_LEN);
	return w.len;
}

enum qd_err cose_sign1_sign_by(int64_t alg, cose_sign_fn sign, void *ctx, const uint8_t *kid,
                               size_t kid_len, const uint8_t *payload, size_t payload_len,
                               uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t prot[128];
	struct cbor_writer pw;
	cbor_writer_init(&pw, prot, sizeof(prot));
	write_protected(&pw, alg, kid, kid_len);
	if (cbor_writer_status(&pw) != CBOR_OK)
		return QD_ERR_ARG;

	struct cose_sign1 msg = {
	        .protected_bytes = prot,
	        .protected_len = pw.len,
	        .payload = payload,
	        .payload_len = payload_len,
	        .alg = signature_alg_canonical(alg),
	};
	size_t tbs_cap = cose_sign1_tbs_len(&msg, 0);
	uint8_t *tbs = malloc(tbs_cap);
	if (tbs == NULL)
		return QD_ERR_NOMEM;
	size_t tbs_len = 0;
	uint8_t sig[SIGNATURE_LEN];
	enum qd_err rc = cose_sign1_tbs(&msg, NULL, 0, tbs, tbs_cap, &tbs_len);
	if (rc == QD_OK)
		rc = sign(ctx, tbs, tbs_len, sig);
	free(tbs);
	if (rc != QD_OK)
		return rc;

	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_tag(&w, COSE_TAG_SIGN1);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, pw.len);
	cbor_put_map(&w, 0);
	cbor_put_bstr(&w, payload, payload_len);
	cbor_put_bstr(&w, sig, sizeof(sig));
	if (cbor_writer_status(&w) != CBOR_OK) {
		*out_len = w.len; /* tells the caller what it needs */
		return QD_ERR_TOO_LARGE;
	}
	*out_len = w.len;
	return QD_OK;
}

static enum qd_err sign_with_keypair(void *ctx, const uint8_t *msg, size_t msg_len,
                                     uint8_t sig[SIGNATURE_LEN])
{
	return signature_sign(ctx, msg, msg_len, sig);
}

enum qd_err cose_sign1_sign(const struct signature_keypair *kp, const uint8_t *kid, size_t kid_len,
                            const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
	/* The callback only reads the key pair: the cast drops a const it keeps. */
	return cose_sign1_sign_by(kp->alg, sign_with_keypair, (void *)kp, kid, kid_len, payload,
	                          payload_len, out, cap, out_len);
}

const char *cose_status_name(enum cose_status status)
{
	switch (status) {
	case COSE_OK:
		return "ok";
	case COSE_ERR_CBOR:
		return "bad-cbor";
	case COSE_ERR_TAG:
		return "wrong-tag";
	case COSE_ERR_STRUCTURE:
		return "not-sign1";
	case COSE_ERR_HEADER:
		return "bad-header";
	case COSE_ERR_ALG_MISSING:
		return "alg-missing";
	case COSE_ERR_ALG_UNPROTECTED:
		return "alg-unprotected";
	case COSE_ERR_ALG_UNSUPPORTED:
		return "alg-unsupported";
	case COSE_ERR_CRIT:
		return "crit-unsupported";
	case COSE_ERR_DETACHED:
		return "detached-payload";
	}
	return "unknown";
}
