/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature.h - the two signature algorithms qrdesk accepts, by COSE id.
 *
 *   EdDSA (-8): Ed25519 (RFC 8032) through libsodium; 32-byte public keys.
 *   ES256 (-7): ECDSA P-256 with SHA-256 through mbedTLS; 65-byte uncompressed
 *               public keys (0x04 || x || y); signatures are r || s, 64 bytes
 *               (IEEE P1363, the COSE form - never DER).
 *
 * Lengths are checked before any library is called: a signature that is not
 * exactly 64 bytes is rejected outright.  ES256 signing is deterministic
 * (RFC 6979) so the issuer's output is reproducible.
 */
#ifndef QRDESK_SIGNATURE_H
#define QRDESK_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

#define SIGNATURE_ALG_EDDSA (-8)
#define SIGNATURE_ALG_ES256 (-7)
/* RFC 9864's fully-specified ids for the same two algorithms: a card may carry
 * either; keys and everything this module takes are in the ids above. */
#define SIGNATURE_ALG_ED25519 (-19)
#define SIGNATURE_ALG_ESP256  (-9)

#define SIGNATURE_LEN                64
#define SIGNATURE_ED25519_PUBLIC_LEN 32
#define SIGNATURE_P256_PUBLIC_LEN    65
#define SIGNATURE_PUBLIC_MAX         65
#define SIGNATURE_SECRET_LEN         32 /* Ed25519 seed, or the P-256 scalar d */

/* Initialise the crypto libraries once per process (sodium_init). */
enum qd_err signature_init(void);

bool signature_alg_supported(int64_t alg);

/* The id this module works in for a header's alg: -19 -> -8, -9 -> -7; any
 * other id unchanged (so an unsupported one stays unsupported). */
int64_t signature_alg_canonical(int64_t alg);

/* "EdDSA", "ES256", or NULL for an unsupported id. */
const char *signature_alg_name(int64_t alg);
/* Parse "EdDSA"/"ed25519" or "ES256"/"es256"; QD_ERR_UNSUPPORTED otherwise. */
enum qd_err signature_alg_parse(const char *name, int64_t *alg);

/* The public-key length for alg, or 0 if unsupported. */
size_t signature_public_len(int64_t alg);

/*
 * Is pub a well-formed public key for alg?  (Length; for ES256 also a point
 * on the curve.)  QD_OK, QD_ERR_FORMAT, or QD_ERR_UNSUPPORTED.
 */
enum qd_err signature_public_check(int64_t alg, const uint8_t *pub, size_t pub_len);

/*
 * Verify sig over msg.  QD_OK if it verifies; QD_ERR_SIGNATURE if it does
 * not (including a wrong-length signature or an unusable public key);
 * QD_ERR_UNSUPPORTED for an unknown alg.
 */
enum qd_err signature_verify(int64_t alg, const uint8_t *pub, size_t pub_len, const uint8_t *msg,
                             size_t msg_len, const uint8_t *sig, size_t sig_len);

struct signature_keypair {
	int64_t alg;
	uint8_t secret[SIGNATURE_SECRET_LEN];
	uint8_t pub[SIGNATURE_PUBLIC_MAX];
	size_t pub_len;
};

/* A fresh key pair from the system's random source. */
enum qd_err signature_keypair_generate(int64_t alg, struct signature_keypair *kp);
/* Rebuild a key pair (its public half) from the 32-byte secret. */
enum qd_err signature_keypair_from_secret(int64_t alg, const uint8_t *secret, size_t len,
                                          struct signature_keypair *kp);
/*
 * Sign msg with an Ed25519 key pair only.  The desk's one signer (its own key
 * over its audit batches) calls this, so the daemon links no P-256 signing.
 */
enum qd_err signature_sign_ed25519(const struct signature_keypair *kp, const uint8_t *msg,
                                   size_t msg_len, uint8_t sig[SIGNATURE_LEN]);
/* Sign msg; sig gets SIGNATURE_LEN bytes. */
enum qd_err signature_sign(const struct signature_keypair *kp, const uint8_t *msg, size_t msg_len,
                           uint8_t sig[SIGNATURE_LEN]);
/* Overwrite the secret so it does not linger in memory. */
void signature_keypair_wipe(struct signature_keypair *kp);

#endif
