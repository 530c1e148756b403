/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature.c - EdDSA (Ed25519, libsodium 1.0.18) and ES256 (ECDSA P-256 with
 * SHA-256, mbedTLS 2.28).
 *
 * Lengths are checked here, before either library sees the bytes.  The
 * Ed25519 verify path allocates nothing (it is the hot path of a key scan);
 * the ES256 paths allocate only what mbedTLS' bignums need and free every
 * object on every path.  Secrets (the 64-byte sodium key, the P-256 scalar,
 * the DRBG state) are wiped before return: sodium_memzero for our buffers,
 * mbedtls_*_free (which zeroises) for mbedTLS objects.
 *
 * ES256 randomness (key generation, blinding in the scalar multiplications)
 * comes from libsodium's randombytes_buf - getrandom(2) - either directly
 * (the key scalar) or through a CTR_DRBG seeded from it (blinding), so no
 * /dev/hwrng or mbedtls_entropy source is needed.  ES256 signatures
 * themselves are deterministic (RFC 6979); the RNG only blinds.
 *
 * Error mapping: an mbedTLS allocation failure is QD_ERR_NOMEM everywhere;
 * otherwise a failing verify is QD_ERR_SIGNATURE, a bad key QD_ERR_FORMAT,
 * and a library failure while signing or deriving keys QD_ERR_CRYPTO.
 */
#include "qrdesk/signature.h"

#include <string.h>
#include <strings.h>

#include <sodium.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>

#include "qrdesk/digest.h"

#define P256_SCALAR_LEN   32
#define P256_KEYGEN_TRIES 64 /* each try fails with probability < 2^-32 */

_Static_assert(crypto_sign_BYTES == SIGNATURE_LEN, "Ed25519 signature length");
_Static_assert(crypto_sign_PUBLICKEYBYTES == SIGNATURE_ED25519_PUBLIC_LEN, "Ed25519 key length");
_Static_assert(crypto_sign_SEEDBYTES == SIGNATURE_SECRET_LEN, "Ed25519 seed length");
_Static_assert(SIGNATURE_LEN == 2 * P256_SCALAR_LEN, "P1363 signature length");
_Static_assert(SIGNATURE_P256_PUBLIC_LEN == 1 + 2 * P256_SCALAR_LEN, "P-256 point length");

/* Stand-in for a NULL message of length 0 (no NULL reaches a library). */
static const uint8_t empty_msg[1];

enum qd_err signature_init(void)
{
	/* 0: initialised now; 1: already initialised; -1: failure. */
	return sodium_init() < 0 ? QD_ERR_CRYPTO : QD_OK;
}

bool signature_alg_supported(int64_t alg)
{
	return alg == SIGNATURE_ALG_EDDSA || alg == SIGNATURE_ALG_ES256;
}

int64_t signature_alg_canonical(int64_t alg)
{
	return alg == SIGNATURE_ALG_ED25519  ? SIGNATURE_ALG_EDDSA
	       : alg == SIGNATURE_ALG_ESP256 ? SIGNATURE_ALG_ES256
	                                     : alg;
}

const char *signature_alg_name(int64_t alg)
{
	switch (alg) {
	case SIGNATURE_ALG_EDDSA:
		return "EdDSA";
	case SIGNATURE_ALG_ES256:
		return "ES256";
	default:
		return NULL;
	}
}

enum qd_err signature_alg_parse(const char *name, int64_t *alg)
{
	if (name == NULL || alg == NULL)
		return QD_ERR_ARG;
	if (strcasecmp(name, "EdDSA") == 0 || strcasecmp(name, "ed25519") == 0) {
		*alg = SIGNATURE_ALG_EDDSA;
		return QD_OK;
	}
	if (strcasecmp(name, "ES256") == 0) {
		*alg = SIGNATURE_ALG_ES256;
		return QD_OK;
	}
	return QD_ERR_UNSUPPORTED;
}

size_t signature_public_len(int64_t alg)
{
	switch (alg) {
	case SIGNATURE_ALG_EDDSA:
		return SIGNATURE_ED25519_PUBLIC_LEN;
	case SIGNATURE_ALG_ES256:
		return SIGNATURE_P256_PUBLIC_LEN;
	default:
		return 0;
	}
}

static bool mbed_alloc_failed(int ret)
{
	return ret == MBEDTLS_ERR_MPI_ALLOC_FAILED || ret == MBEDTLS_ERR_ECP_ALLOC_FAILED;
}

/* ---- P-256 helpers ---------------------------------------------------- */

static int p256_group(mbedtls_ecp_group *grp)
{
	mbedtls_ecp_group_init(grp);
	return mbedtls_ecp_group_load(grp, MBEDTLS_ECP_DP_SECP256R1);
}

/* f_entropy for the blinding DRBG: the OS generator through libsodium. */
static int sodium_entropy(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	randombytes_buf(out, len);
	return 0;
}

/* Seed an initialised DRBG (the caller frees it on every path). */
static int blind_rng_seed(mbedtls_ctr_drbg_context *drbg)
{
	static const unsigned char pers[] = "qrdesk signature blinding";

	return mbedtls_ctr_drbg_seed(drbg, sodium_entropy, NULL, pers, sizeof(pers) - 1);
}

/* Is the untrusted uncompressed point pub (65 bytes, checked) on P-256? */
static int p256_read_public(const mbedtls_ecp_group *grp, mbedtls_ecp_point *q, const uint8_t *pub)
{
	int ret = mbedtls_ecp_point_read_binary(grp, q, pub, SIGNATURE_P256_PUBLIC_LEN);
	if (ret == 0)
		ret = mbedtls_ecp_check_pubkey(grp, q);
	return ret;
}

static bool p256_public_shape_ok(const uint8_t *pub, size_t pub_len)
{
	return pub != NULL && pub_len == SIGNATURE_P256_PUBLIC_LEN && pub[0] == 0x04;
}

/* Load the secret scalar d; QD_ERR_FORMAT unless 1 <= d <= n-1. */
static enum qd_err p256_read_secret(const mbedtls_ecp_group *grp, mbedtls_mpi *d,
                                    const uint8_t secret[SIGNATURE_SECRET_LEN])
{
	int ret = mbedtls_mpi_read_binary(d, secret, SIGNATURE_SECRET_LEN);
	if (ret != 0)
		return mbed_alloc_failed(ret) ? QD_ERR_NOMEM : QD_ERR_CRYPTO;
	if (mbedtls_mpi_cmp_int(d, 1) < 0 || mbedtls_mpi_cmp_mpi(d, &grp->N) >= 0)
		return QD_ERR_FORMAT;
	return QD_OK;
}

/* pub = uncompressed d*G. */
static enum qd_err p256_public_from_secret(const uint8_t secret[SIGNATURE_SECRET_LEN],
                                           uint8_t pub[SIGNATURE_P256_PUBLIC_LEN])
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d;
	mbedtls_ecp_point q;
	mbedtls_ctr_drbg_context drbg;
	size_t olen = 0;
	enum qd_err rc = QD_ERR_CRYPTO;
	int ret;

	mbedtls_mpi_init(&d);
	mbedtls_ecp_point_init(&q);
	mbedtls_ctr_drbg_init(&drbg);
	ret = p256_group(&grp);
	if (ret != 0)
		goto out;
	rc = p256_read_secret(&grp, &d, secret);
	if (rc != QD_OK)
		goto done;
	rc = QD_ERR_CRYPTO;
	ret = blind_rng_seed(&drbg);
	if (ret == 0)
		ret = mbedtls_ecp_mul(&grp, &q, &d, &grp.G, mbedtls_ctr_drbg_random, &drbg);
	if (ret == 0)
		ret = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
		                                     pub, SIGNATURE_P256_PUBLIC_LEN);
	if (ret == 0 && olen == SIGNATURE_P256_PUBLIC_LEN)
		rc = QD_OK;
out:
	if (mbed_alloc_failed(ret))
		rc = QD_ERR_NOMEM;
done:
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_ecp_point_free(&q);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

static enum qd_err es256_verify(const uint8_t *pub, const uint8_t *msg, size_t msg_len,
                                const uint8_t *sig)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	uint8_t hash[DIGEST_SHA256_LEN];
	int ret;

	digest_sha256(msg, msg_len, hash);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = p256_group(&grp);
	if (ret == 0)
		ret = p256_read_public(&grp, &q, pub);
	if (ret == 0)
		ret = mbedtls_mpi_read_binary(&r, sig, P256_SCALAR_LEN);
	if (ret == 0)
		ret = mbedtls_mpi_read_binary(&s, sig + P256_SCALAR_LEN, P256_SCALAR_LEN);
	/* Rejects r or s outside [1, n-1]. */
	if (ret == 0)
		ret = mbedtls_ecdsa_verify(&grp, hash, sizeof(hash), &q, &r, &s);
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	if (ret == 0)
		return QD_OK;
	return mbed_alloc_failed(ret) ? QD_ERR_NOMEM : QD_ERR_SIGNATURE;
}

static enum qd_err es256_sign(const uint8_t secret[SIGNATURE_SECRET_LEN], const uint8_t *msg,
                              size_t msg_len, uint8_t sig[SIGNATURE_LEN])
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d, r, s;
	mbedtls_ctr_drbg_context drbg;
	uint8_t hash[DIGEST_SHA256_LEN];
	enum qd_err rc = QD_ERR_CRYPTO;
	int ret;

	digest_sha256(msg, msg_len, hash);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	mbedtls_ctr_drbg_init(&drbg);
	ret = p256_group(&grp);
	if (ret != 0)
		goto out;
	rc = p256_read_secret(&grp, &d, secret);
	if (rc != QD_OK)
		goto done;
	rc = QD_ERR_CRYPTO;
	ret = blind_rng_seed(&drbg);
	if (ret == 0)
		ret = mbedtls_ecdsa_sign_det_ext(&grp, &r, &s, &d, hash, sizeof(hash),
		                                 MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &drbg);
	if (ret == 0)
		ret = mbedtls_mpi_write_binary(&r, sig, P256_SCALAR_LEN);
	if (ret == 0)
		ret = mbedtls_mpi_write_binary(&s, sig + P256_SCALAR_LEN, P256_SCALAR_LEN);
	if (ret == 0)
		rc = QD_OK;
out:
	if (mbed_alloc_failed(ret))
		rc = QD_ERR_NOMEM;
done:
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

/* ---- public API -------------------------------------------------------- */

enum qd_err signature_public_check(int64_t alg, const uint8_t *pub, size_t pub_len)
{
	switch (alg) {
	case SIGNATURE_ALG_EDDSA:
		/*
		 * Length only.  libsodium 1.0.18's one point check,
		 * crypto_core_ed25519_is_valid_point, costs a scalar
		 * multiplication (about a verify); and verify itself rejects
		 * non-canonical, off-curve and small-order keys, so such a key
		 * passes here but never verifies anything.
		 */
		if (pub == NULL || pub_len != SIGNATURE_ED25519_PUBLIC_LEN)
			return QD_ERR_FORMAT;
		return QD_OK;
	case SIGNATURE_ALG_ES256: {
		mbedtls_ecp_group grp;
		mbedtls_ecp_point q;
		int ret;

		if (!p256_public_shape_ok(pub, pub_len))
			return QD_ERR_FORMAT;
		mbedtls_ecp_point_init(&q);
		ret = p256_group(&grp);
		if (ret == 0)
			ret = p256_read_public(&grp, &q, pub);
		mbedtls_ecp_point_free(&q);
		mbedtls_ecp_group_free(&grp);
		if (ret == 0)
			return QD_OK;
		return mbed_alloc_failed(ret) ? QD_ERR_NOMEM : QD_ERR_FORMAT;
	}
	default:
		return QD_ERR_UNSUPPORTED;
	}
}

enum qd_err signature_verify(int64_t alg, const uint8_t *pub, size_t pub_len, const uint8_t *msg,
                             size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	if (!signature_alg_supported(alg))
		return QD_ERR_UNSUPPORTED;
	if (sig == NULL || sig_len != SIGNATURE_LEN)
		return QD_ERR_SIGNATURE;
	if (msg == NULL) {
		if (msg_len != 0)
			return QD_ERR_ARG;
		msg = empty_msg;
	}
	if (alg == SIGNATURE_ALG_EDDSA) {
		if (pub == NULL || pub_len != SIGNATURE_ED25519_PUBLIC_LEN)
			return QD_ERR_SIGNATURE;
		return crypto_sign_verify_detached(sig, msg, msg_len, pub) == 0 ? QD_OK
		                                                                : QD_ERR_SIGNATURE;
	}
	if (!p256_public_shape_ok(pub, pub_len))
		return QD_ERR_SIGNATURE;
	return es256_verify(pub, msg, msg_len, sig);
}

enum qd_err signature_keypair_from_secret(int64_t alg, const uint8_t *secret, size_t len,
                                          struct signature_keypair *kp)
{
	uint8_t seed[SIGNATURE_SECRET_LEN];
	enum qd_err rc;

	if (kp == NULL)
		return QD_ERR_ARG;
	if (!signature_alg_supported(alg))
		return QD_ERR_UNSUPPORTED;
	if (secret == NULL || len != SIGNATURE_SECRET_LEN)
		return QD_ERR_FORMAT;
	/* secret may alias kp->secret: work from a copy. */
	memcpy(seed, secret, sizeof(seed));
	sodium_memzero(kp, sizeof(*kp));
	kp->alg = alg;
	if (alg == SIGNATURE_ALG_EDDSA) {
		unsigned char sk[crypto_sign_SECRETKEYBYTES];

		if (crypto_sign_seed_keypair(kp->pub, sk, seed) != 0) {
			rc = QD_ERR_CRYPTO;
		} else {
			kp->pub_len = SIGNATURE_ED25519_PUBLIC_LEN;
			rc = QD_OK;
		}
		sodium_memzero(sk, sizeof(sk));
	} else {
		rc = p256_public_from_secret(seed, kp->pub);
		if (rc == QD_OK)
			kp->pub_len = SIGNATURE_P256_PUBLIC_LEN;
	}
	if (rc == QD_OK)
		memcpy(kp->secret, seed, sizeof(seed));
	else
		sodium_memzero(kp, sizeof(*kp));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

enum qd_err signature_keypair_generate(int64_t alg, struct signature_keypair *kp)
{
	uint8_t secret[SIGNATURE_SECRET_LEN];
	enum qd_err rc = QD_ERR_CRYPTO;

	if (kp == NULL)
		return QD_ERR_ARG;
	if (!signature_alg_supported(alg))
		return QD_ERR_UNSUPPORTED;
	/*
	 * Ed25519: any 32-byte seed.  P-256: a uniform scalar by rejection
	 * sampling - from_secret refuses d == 0 and d >= n with QD_ERR_FORMAT,
	 * and we draw again (n is within 2^-32 of 2^256, so this is rare).
	 */
	for (int i = 0; i < P256_KEYGEN_TRIES; i++) {
		randombytes_buf(secret, sizeof(secret));
		rc = signature_keypair_from_secret(alg, secret, sizeof(secret), kp);
		if (rc != QD_ERR_FORMAT)
			break;
	}
	sodium_memzero(secret, sizeof(secret));
	if (rc == QD_ERR_FORMAT)
		rc = QD_ERR_CRYPTO; /* the random source is broken */
	return rc;
}

enum qd_err signature_sign_ed25519(const struct signature_keypair *kp, const uint8_t *msg,
                                   size_t msg_len, uint8_t sig[SIGNATURE_LEN])
{
	if (kp == NULL || sig == NULL || kp->alg != SIGNATURE_ALG_EDDSA)
		return QD_ERR_ARG;
	if (msg == NULL) {
		if (msg_len != 0)
			return QD_ERR_ARG;
		msg = empty_msg;
	}
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	enum qd_err rc = QD_OK;

	/* The 64-byte libsodium key lives only here, on the stack. */
	if (crypto_sign_seed_keypair(pk, sk, kp->secret) != 0 ||
	    crypto_sign_detached(sig, NULL, msg, msg_len, sk) != 0) {
		rc = QD_ERR_CRYPTO;
		memset(sig, 0, SIGNATURE_LEN);
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

enum qd_err signature_sign(const struct signature_keypair *kp, const uint8_t *msg, size_t msg_len,
                           uint8_t sig[SIGNATURE_LEN])
{
	if (kp == NULL || sig == NULL)
		return QD_ERR_ARG;
	if (!signature_alg_supported(kp->alg))
		return QD_ERR_UNSUPPORTED;
	if (kp->alg == SIGNATURE_ALG_EDDSA)
		return signature_sign_ed25519(kp, msg, msg_len, sig);
	if (msg == NULL) {
		if (msg_len != 0)
			return QD_ERR_ARG;
		msg = empty_msg;
	}
	enum qd_err rc = es256_sign(kp->secret, msg, msg_len, sig);
	if (rc != QD_OK)
		memset(sig, 0, SIGNATURE_LEN);
	return rc;
}

void signature_keypair_wipe(struct signature_keypair *kp)
{
	if (kp != NULL)
		sodium_memzero(kp->secret, sizeof(kp->secret));
}
