/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cose.h - COSE_Sign1 (RFC 9052) parsing, signing and verification.
 *
 * COSE_Sign1 = [protected: bstr .cbor header_map, unprotected: header_map,
 *               payload: bstr, signature: bstr], optionally wrapped in tag 18.
 *
 * We accept: tag 18 or no tag; alg (label 1) only in the protected header and
 * only EdDSA (-8, or RFC 9864's Ed25519 -19) or ES256 (-7, or ESP256 -9); kid (label 4) in the
 * protected header, or in the unprotected one if absent from the protected; content type (3) and
 * other integer labels are passed over, text labels refused; crit (2) is refused since we
 * understand no extension.  A message without kid parses (kid_len 0): whether a kid is required is
 * the caller's rule.  A detached (nil) payload is refused.  The signature is checked over the
 * protected header exactly as transmitted (RFC 9052 s.4.4).
 */
#ifndef QRDESK_COSE_H
#define QRDESK_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/error.h"
#include "qrdesk/signature.h"

#define COSE_TAG_SIGN1           18
#define COSE_HEADER_ALG          1
#define COSE_HEADER_CRIT         2
#define COSE_HEADER_CONTENT_TYPE 3
#define COSE_HEADER_KID          4

struct cose_sign1 {
	const uint8_t *protected_bytes; /* contents of the protected bstr */
	size_t protected_len;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *signature;
	size_t signature_len;
	int64_t alg;        /* SIGNATURE_ALG_EDDSA or _ES256, whichever id the header used */
	int64_t alg_header; /* the id as written: -8, -19, -7 or -9 */
	const uint8_t *kid;
	size_t kid_len;
	bool tagged;
};

enum cose_status {
	COSE_OK = 0,
	COSE_ERR_CBOR,            /* not well-formed CBOR (see the cbor_status detail) */
	COSE_ERR_TAG,             /* a tag other than 18 */
	COSE_ERR_STRUCTURE,       /* not a 4-element array of the right types */
	COSE_ERR_HEADER,          /* a header map that breaks the rules (bad types, a label in
	                           * both buckets); a label repeated inside one map is
	                           * COSE_ERR_CBOR with CBOR_ERR_DUPLICATE_KEY */
	COSE_ERR_ALG_MISSING,     /* no alg in the protected header */
	COSE_ERR_ALG_UNPROTECTED, /* alg given in the unprotected header */
	COSE_ERR_ALG_UNSUPPORTED, /* alg is not EdDSA or ES256 */
	COSE_ERR_CRIT,            /* critical headers we do not understand */
	COSE_ERR_DETACHED,        /* payload is nil */
};

struct cose_error {
	enum cose_status status;
	enum cbor_status cbor; /* with COSE_ERR_CBOR */
};

/* Parse buf as one COSE_Sign1; out points into buf. */
enum cose_status cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out,
                                  struct cose_error *err);

/* Size of the Sig_structure for msg with aad_len bytes of external AAD. */
size_t cose_sign1_tbs_len(const struct cose_sign1 *msg, size_t aad_len);

/*
 * Write the Sig_structure ["Signature1", protected, external_aad, payload]
 * into out[0..cap).  QD_ERR_TOO_LARGE if it does not fit.
 */
enum qd_err cose_sign1_tbs(const struct cose_sign1 *msg, const uint8_t *aad, size_t aad_len,
                           uint8_t *out, size_t cap, size_t *out_len);

/*
 * Verify msg's signature with one public key of algorithm msg->alg.  Uses a
 * stack buffer for small messages and a heap one bounded by the message
 * size otherwise.  QD_OK, QD_ERR_SIGNATURE, QD_ERR_NOMEM, QD_ERR_UNSUPPORTED.
 */
enum qd_err cose_sign1_verify(const struct cose_sign1 *msg, const uint8_t *aad, size_t aad_len,
                              const uint8_t *pub, size_t pub_len);

/* Bytes cose_sign1_sign writes for a payload of payload_len and a kid. */
size_t cose_sign1_encoded_len(size_t kid_len, size_t payload_len);

/*
 * Sign payload with kp into a tagged COSE_Sign1 whose protected header is
 * {1: alg, 4: kid}.  QD_ERR_TOO_LARGE if out is too small.
 */
enum qd_err cose_sign1_sign(const struct signature_keypair *kp, const uint8_t *kid, size_t kid_len,
                            const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                            size_t *out_len);

/*
 * A signer: SIGNATURE_LEN bytes of signature over msg in sig, by a key that
 * lives wherever ctx says (a key pair in memory, a PKCS#11 token).
 */
typedef enum qd_err (*cose_sign_fn)(void *ctx, const uint8_t *msg, size_t msg_len,
                                    uint8_t sig[SIGNATURE_LEN]);

/*
 * The same as cose_sign1_sign, with the signature made by sign(ctx, ...) and
 * alg written into the protected header as given (-8, -7, or RFC 9864's -19, -9).
 */
enum qd_err cose_sign1_sign_by(int64_t alg, cose_sign_fn sign, void *ctx, const uint8_t *kid,
                               size_t kid_len, const uint8_t *payload, size_t payload_len,
                               uint8_t *out, size_t cap, size_t *out_len);

const char *cose_status_name(enum cose_status status);

#endif
