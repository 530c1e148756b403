/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_signature.c - digest.c and signature.c against the public vectors
 * (RFC 8032, Wycheproof Ed25519 and ECDSA P-256 P1363, FIPS 180-2, RFC 6979)
 * read in place from ../shared/vectors, plus round trips and edge cases.
 *
 * Every vector loop counts what it checked and compares the count with the
 * file's own total, so a loader that silently skips cannot pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "qrdesk/digest.h"
#include "qrdesk/signature.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		fail_msg("JSON field \"%s\" missing or not a string", key);
	return json_string_value(v);
}

static json_t *jarray(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_array(v))
		fail_msg("JSON field \"%s\" missing or not an array", key);
	return v;
}

static size_t jcount(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		fail_msg("JSON field \"%s\" missing or not a count", key);
	return (size_t)json_integer_value(v);
}

static void hex32(const char *hex, uint8_t out[32])
{
	assert_int_equal(tu_hex_into(hex, out, 32), 32);
}

/* Uncompressed P-256 point from hex x and y (each exactly 32 bytes). */
static void p256_point(const char *x_hex, const char *y_hex, uint8_t out[65])
{
	out[0] = 0x04;
	hex32(x_hex, out + 1);
	hex32(y_hex, out + 33);
}

static const int64_t algs[] = {SIGNATURE_ALG_EDDSA, SIGNATURE_ALG_ES256};

static int setup(void **state)
{
	(void)state;
	return signature_init() == QD_OK ? 0 : -1;
}

/* ---- SHA-256: FIPS 180-2 examples --------------------------------------- */

struct sha_case {
	const char *name;
	const char *pattern; /* repeated to fill len bytes */
	size_t len;
	const char *digest;
};

static const struct sha_case sha_cases[] = {
        {"empty", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"448-bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"million a", "a", 1000000,
         "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

static uint8_t *sha_message(const struct sha_case *c)
{
	uint8_t *m = malloc(c->len + 1);
	size_t plen = strlen(c->pattern);
	assert_non_null(m);
	for (size_t i = 0; i < c->len; i++)
		m[i] = (uint8_t)c->pattern[i % plen];
	return m;
}

static void test_sha256_oneshot(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT(sha_cases); i++) {
		const struct sha_case *c = &sha_cases[i];
		uint8_t *m = sha_message(c);
		uint8_t want[DIGEST_SHA256_LEN], got[DIGEST_SHA256_LEN];

		hex32(c->digest, want);
		memset(got, 0xAA, sizeof(got));
		digest_sha256(m, c->len, got);
		if (memcmp(got, want, sizeof(want)) != 0)
			fail_msg("SHA-256 one-shot mismatch for %s", c->name);
		free(m);
	}
	/* A NULL pointer with length 0 is the empty message. */
	uint8_t want[DIGEST_SHA256_LEN], got[DIGEST_SHA256_LEN];
	hex32(sha_cases[0].digest, want);
	digest_sha256(NULL, 0, got);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_sha256_streaming(void **state)
{
	/* Odd chunk sizes straddle the 64-byte block boundary every way. */
	static const size_t chunks[] = {1, 3, 0, 7, 13, 61, 63, 64, 65, 127, 5, 999};
	(void)state;
	for (size_t i = 0; i < COUNT(sha_cases); i++) {
		const struct sha_case *c = &sha_cases[i];
		uint8_t *m = sha_message(c);
		uint8_t want[DIGEST_SHA256_LEN], got[DIGEST_SHA256_LEN];
		struct digest_sha256_ctx ctx;
		size_t off = 0, k = 0, updates = 0;

		hex32(c->digest, want);
		memset(got, 0xAA, sizeof(got));
		digest_sha256_begin(&ctx);
		while (off < c->len) {
			size_t n = chunks[k++ % COUNT(chunks)];
			if (n > c->len - off)
				n = c->len - off;
			digest_sha256_update(&ctx, m + off, n);
			off += n;
			updates++;
		}
		digest_sha256_end(&ctx, got);
		assert_int_equal(off, c->len);
		if (c->len > 100)
			assert_true(updates > 10);
		if (memcmp(got, want, sizeof(want)) != 0)
			fail_msg("SHA-256 streaming mismatch for %s", c->name);
		free(m);
	}
}

/* ---- RFC 8032 Ed25519 ------------------------------------------------------ */

static void test_rfc8032_ed25519(void **state)
{
	(void)state;
	json_t *root = tu_load_vector_json("rfc/rfc8032_ed25519.json");
	json_t *vectors = jarray(root, "vectors");
	size_t i, checked = 0;
	json_t *v;

	json_array_foreach(vectors, i, v)
	{
		const char *name = jstr(v, "name");
		uint8_t secret[32], pub[32], sig[64], got[64];
		size_t msg_len;
		uint8_t *msg = tu_hex_decode(jstr(v, "message"), &msg_len);
		struct signature_keypair kp;

		assert_int_equal(tu_hex_into(jstr(v, "secret_key"), secret, sizeof(secret)), 32);
		assert_int_equal(tu_hex_into(jstr(v, "public_key"), pub, sizeof(pub)), 32);
		assert_int_equal(tu_hex_into(jstr(v, "signature"), sig, sizeof(sig)), 64);

		assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, secret,
		                                               sizeof(secret), &kp),
		                 QD_OK);
		assert_int_equal(kp.alg, SIGNATURE_ALG_EDDSA);
		assert_int_equal(kp.pub_len, 32);
		assert_memory_equal(kp.secret, secret, 32);
		if (memcmp(kp.pub, pub, 32) != 0)
			fail_msg("%s: derived public key differs", name);

		memset(got, 0, sizeof(got));
		assert_int_equal(signature_sign(&kp, msg, msg_len, got), QD_OK);
		if (memcmp(got, sig, 64) != 0)
			fail_msg("%s: signature differs", name);

		assert_int_equal(
		        signature_verify(SIGNATURE_ALG_EDDSA, pub, 32, msg, msg_len, sig, 64),
		        QD_OK);
		/* And not for another message. */
		assert_int_equal(signature_verify(SIGNATURE_ALG_EDDSA, pub, 32,
		                                  (const uint8_t *)"x", 1, sig, 64),
		                 QD_ERR_SIGNATURE);
		signature_keypair_wipe(&kp);
		free(msg);
		checked++;
	}
	assert_int_equal(checked, 5);
	json_decref(root);
}

/* ---- Wycheproof --------------------------------------------------------- */

struct wp_tally {
	size_t total, valid, invalid, disagree;
};

/* One Wycheproof test: valid must verify, invalid must not. */
static void wp_check(int64_t alg, const uint8_t *pub, size_t pub_len, json_t *t,
                     struct wp_tally *tally)
{
	const char *result = jstr(t, "result");
	json_int_t tc = json_integer_value(json_object_get(t, "tcId"));
	size_t msg_len, sig_len;
	uint8_t *msg = tu_hex_decode(jstr(t, "msg"), &msg_len);
	uint8_t *sig = tu_hex_decode(jstr(t, "sig"), &sig_len);
	enum qd_err rc = signature_verify(alg, pub, pub_len, msg, msg_len, sig, sig_len);
	bool want_ok = false; /* set below; fail_msg does not return */

	if (strcmp(result, "valid") == 0) {
		want_ok = true;
		tally->valid++;
	} else if (strcmp(result, "invalid") == 0) {
		want_ok = false;
		tally->invalid++;
	} else {
		fail_msg("tcId %lld: unexpected result \"%s\"", (long long)tc, result);
	}
	if (want_ok ? rc != QD_OK : rc != QD_ERR_SIGNATURE) {
		print_error("%s tcId %lld (%s): expected %s, got %s\n", signature_alg_name(alg),
		            (long long)tc, jstr(t, "comment"), result, qd_err_name(rc));
		tally->disagree++;
	}
	tally->total++;
	free(msg);
	free(sig);
}

static void test_wycheproof_ed25519(void **state)
{
	(void)state;
	json_t *root = tu_load_vector_json("wycheproof/ed25519_test.json");
	json_t *groups = jarray(root, "testGroups");
	struct wp_tally tally = {0};
	size_t gi, ti, n_groups = 0;
	json_t *g, *t;

	json_array_foreach(groups, gi, g)
	{
		uint8_t pub[SIGNATURE_PUBLIC_MAX];
		json_t *pk = json_object_get(g, "publicKey");
		size_t pub_len = tu_hex_into(jstr(pk, "pk"), pub, sizeof(pub));

		assert_int_equal(pub_len, SIGNATURE_ED25519_PUBLIC_LEN);
		assert_int_equal(signature_public_check(SIGNATURE_ALG_EDDSA, pub, pub_len), QD_OK);
		json_array_foreach(jarray(g, "tests"), ti, t)
		{
			wp_check(SIGNATURE_ALG_EDDSA, pub, pub_len, t, &tally);
		}
		n_groups++;
	}
	print_message("Wycheproof Ed25519: %zu tests (%zu valid, %zu invalid) in %zu groups, %zu "
	              "disagreements\n",
	              tally.total, tally.valid, tally.invalid, n_groups, tally.disagree);
	assert_int_equal(tally.total, jcount(root, "numberOfTests"));
	assert_int_equal(tally.total, 151);
	assert_int_equal(tally.valid, 88);
	assert_int_equal(tally.invalid, 63);
	assert_int_equal(tally.disagree, 0);
	json_decref(root);
}

/* Wycheproof wx/wy: signed big-endian hex, maybe with a leading 00 byte. */
static void wp_coord(const char *hex, uint8_t out[32])
{
	uint8_t buf[40];
	size_t n = tu_hex_into(hex, buf, sizeof(buf));
	size_t skip = 0;

	while (n - skip > 32 && buf[skip] == 0)
		skip++;
	assert_true(n - skip <= 32);
	memset(out, 0, 32);
	memcpy(out + 32 - (n - skip), buf + skip, n - skip);
}

static void test_wycheproof_p256(void **state)
{
	(void)state;
	json_t *root = tu_load_vector_json("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
	json_t *groups = jarray(root, "testGroups");
	struct wp_tally tally = {0};
	size_t gi, ti, n_groups = 0, rejected_keys = 0;
	json_t *g, *t;

	json_array_foreach(groups, gi, g)
	{
		uint8_t pub[SIGNATURE_PUBLIC_MAX], xy[SIGNATURE_P256_PUBLIC_LEN];
		json_t *pk = json_object_get(g, "publicKey");
		size_t pub_len;
		bool key_ok;

		assert_string_equal(jstr(g, "sha"), "SHA-256");
		assert_string_equal(jstr(pk, "curve"), "secp256r1");
		pub_len = tu_hex_into(jstr(pk, "uncompressed"), pub, sizeof(pub));
		/* The loader agrees with itself: uncompressed == 04 || wx || wy. */
		xy[0] = 0x04;
		wp_coord(jstr(pk, "wx"), xy + 1);
		wp_coord(jstr(pk, "wy"), xy + 33);
		assert_int_equal(pub_len, SIGNATURE_P256_PUBLIC_LEN);
		assert_memory_equal(pub, xy, sizeof(xy));

		key_ok = signature_public_check(SIGNATURE_ALG_ES256, pub, pub_len) == QD_OK;
		if (!key_ok)
			rejected_keys++;
		json_array_foreach(jarray(g, "tests"), ti, t)
		{
			if (!key_ok && strcmp(jstr(t, "result"), "invalid") != 0)
				fail_msg("group %zu: key rejected but tcId %lld is not invalid", gi,
				         (long long)json_integer_value(json_object_get(t, "tcId")));
			wp_check(SIGNATURE_ALG_ES256, pub, pub_len, t, &tally);
		}
		n_groups++;
	}
	print_message("Wycheproof P-256 P1363: %zu tests (%zu valid, %zu invalid) in %zu groups, "
	              "%zu keys rejected, %zu disagreements\n",
	              tally.total, tally.valid, tally.invalid, n_groups, rejected_keys,
	              tally.disagree);
	assert_int_equal(tally.total, jcount(root, "numberOfTests"));
	assert_int_equal(tally.total, 262);
	assert_int_equal(tally.valid, 173);
	assert_int_equal(tally.invalid, 89);
	assert_int_equal(tally.disagree, 0);
	json_decref(root);
}

/* ---- RFC 6979 A.2.5: P-256, SHA-256 -------------------------------------- */

static void test_rfc6979_p256(void **state)
{
	static const struct {
		const char *msg, *r, *s;
	} cases[] = {
	        {"sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
	         "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"},
	        {"test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
	         "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"},
	};
	uint8_t d[32], pub[65];
	struct signature_keypair kp;
	(void)state;

	hex32("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", d);
	p256_point("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6",
	           "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299", pub);
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp), QD_OK);
	assert_int_equal(kp.pub_len, 65);
	assert_memory_equal(kp.pub, pub, 65);
	for (size_t i = 0; i < COUNT(cases); i++) {
		uint8_t want[64], got[64];
		const uint8_t *m = (const uint8_t *)cases[i].msg;
		size_t mlen = strlen(cases[i].msg);

		hex32(cases[i].r, want);
		hex32(cases[i].s, want + 32);
		assert_int_equal(signature_sign(&kp, m, mlen, got), QD_OK);
		assert_memory_equal(got, want, 64);
		assert_int_equal(signature_verify(SIGNATURE_ALG_ES256, pub, 65, m, mlen, want, 64),
		                 QD_OK);
	}
	signature_keypair_wipe(&kp);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip(void **state)
{
	static const uint8_t msg0[] = "clearance QD-2024-000173 gate B12";
	(void)state;

	for (size_t a = 0; a < COUNT(algs); a++) {
		int64_t alg = algs[a];
		struct signature_keypair kp, kp2, again;
		uint8_t msg[sizeof(msg0)], sig[SIGNATURE_LEN + 1], sig2[SIGNATURE_LEN];
		size_t flips = 0;

		memcpy(msg, msg0, sizeof(msg));
		assert_int_equal(signature_keypair_generate(alg, &kp), QD_OK);
		assert_int_equal(kp.alg, alg);
		assert_int_equal(kp.pub_len, signature_public_len(alg));
		assert_int_equal(signature_public_check(alg, kp.pub, kp.pub_len), QD_OK);
		if (alg == SIGNATURE_ALG_ES256)
			assert_int_equal(kp.pub[0], 0x04);

		/* A second key is a different key. */
		assert_int_equal(signature_keypair_generate(alg, &kp2), QD_OK);
		assert_memory_not_equal(kp.secret, kp2.secret, SIGNATURE_SECRET_LEN);
		assert_memory_not_equal(kp.pub, kp2.pub, kp.pub_len);

		memset(sig, 0x5A, sizeof(sig));
		assert_int_equal(signature_sign(&kp, msg, sizeof(msg), sig), QD_OK);
		assert_int_equal(sig[SIGNATURE_LEN], 0x5A); /* wrote exactly 64 bytes */
		assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN),
		                 QD_OK);
		/* Another key does not verify it. */
		assert_int_equal(signature_verify(alg, kp2.pub, kp2.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN),
		                 QD_ERR_SIGNATURE);

		/* Deterministic (Ed25519 by design, ES256 by RFC 6979). */
		assert_int_equal(signature_sign(&kp, msg, sizeof(msg), sig2), QD_OK);
		assert_memory_equal(sig, sig2, SIGNATURE_LEN);

		/* Every single-bit change of message or signature fails. */
		for (size_t bit = 0; bit < 8 * sizeof(msg); bit++) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg),
			                                  sig, SIGNATURE_LEN),
			                 QD_ERR_SIGNATURE);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			flips++;
		}
		for (size_t bit = 0; bit < 8 * SIGNATURE_LEN; bit++) {
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg),
			                                  sig, SIGNATURE_LEN),
			                 QD_ERR_SIGNATURE);
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			flips++;
		}
		assert_int_equal(flips, 8 * sizeof(msg) + 8 * SIGNATURE_LEN);
		/* Restored: verifies again (the flips were undone exactly). */
		assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN),
		                 QD_OK);

		/* Wrong lengths, even with a valid 64-byte prefix. */
		assert_int_equal(
		        signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), sig, 0),
		        QD_ERR_SIGNATURE);
		assert_int_equal(
		        signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), NULL, 0),
		        QD_ERR_SIGNATURE);
		assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN - 1),
		                 QD_ERR_SIGNATURE);
		assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN + 1),
		                 QD_ERR_SIGNATURE);
		/* Wrong public-key length or a missing key. */
		assert_int_equal(signature_verify(alg, kp.pub, kp.pub_len - 1, msg, sizeof(msg),
		                                  sig, SIGNATURE_LEN),
		                 QD_ERR_SIGNATURE);
		assert_int_equal(signature_verify(alg, NULL, kp.pub_len, msg, sizeof(msg), sig,
		                                  SIGNATURE_LEN),
		                 QD_ERR_SIGNATURE);
		/* The other algorithm's id does not verify it. */
		assert_int_equal(signature_verify(algs[1 - a], kp.pub, kp.pub_len, msg, sizeof(msg),
		                                  sig, SIGNATURE_LEN),
		                 QD_ERR_SIGNATURE);

		/* Rebuilt from the secret: same public key, same signatures. */
		assert_int_equal(
		        signature_keypair_from_secret(alg, kp.secret, SIGNATURE_SECRET_LEN, &again),
		        QD_OK);
		assert_int_equal(again.alg, alg);
		assert_int_equal(again.pub_len, kp.pub_len);
		assert_memory_equal(again.pub, kp.pub, kp.pub_len);
		assert_memory_equal(again.secret, kp.secret, SIGNATURE_SECRET_LEN);
		assert_int_equal(signature_sign(&again, msg, sizeof(msg), sig2), QD_OK);
		assert_memory_equal(sig2, sig, SIGNATURE_LEN);

		/* In place (secret aliasing the output key pair) works too. */
		assert_int_equal(signature_keypair_from_secret(alg, again.secret,
		                                               SIGNATURE_SECRET_LEN, &again),
		                 QD_OK);
		assert_memory_equal(again.pub, kp.pub, kp.pub_len);

		/* Empty message, as NULL or as a zero-length buffer. */
		assert_int_equal(signature_sign(&kp, NULL, 0, sig2), QD_OK);
		assert_int_equal(
		        signature_verify(alg, kp.pub, kp.pub_len, msg, 0, sig2, SIGNATURE_LEN),
		        QD_OK);
		assert_int_equal(
		        signature_verify(alg, kp.pub, kp.pub_len, NULL, 0, sig2, SIGNATURE_LEN),
		        QD_OK);

		/* Secret length must be exactly 32. */
		assert_int_equal(signature_keypair_from_secret(alg, kp.secret, 31, &again),
		                 QD_ERR_FORMAT);
		assert_int_equal(signature_keypair_from_secret(alg, kp.secret, 33, &again),
		                 QD_ERR_FORMAT);
		assert_int_equal(signature_keypair_from_secret(alg, NULL, 32, &again),
		                 QD_ERR_FORMAT);

		/* Wipe clears the secret. */
		static const uint8_t zero[SIGNATURE_SECRET_LEN];
		signature_keypair_wipe(&kp);
		assert_memory_equal(kp.secret, zero, sizeof(zero));
		signature_keypair_wipe(&kp2);
		signature_keypair_wipe(&again);
		signature_keypair_wipe(NULL);
	}
}

/* ---- P-256 scalar range and known points ----------------------------------- */

#define P256_GX        "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
#define P256_GY        "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
#define P256_NEG_GY    "b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a"
#define P256_N         "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
#define P256_N_MINUS_1 "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550"

static void test_p256_secret_range(void **state)
{
	struct signature_keypair kp;
	uint8_t d[32], want[65], sig[64];
	(void)state;

	/* d = 1: Q = G. */
	memset(d, 0, sizeof(d));
	d[31] = 1;
	p256_point(P256_GX, P256_GY, want);
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp), QD_OK);
	assert_memory_equal(kp.pub, want, 65);
	assert_int_equal(signature_sign(&kp, (const uint8_t *)"m", 1, sig), QD_OK);
	assert_int_equal(
	        signature_verify(SIGNATURE_ALG_ES256, want, 65, (const uint8_t *)"m", 1, sig, 64),
	        QD_OK);

	/* d = n - 1: Q = -G. */
	hex32(P256_N_MINUS_1, d);
	p256_point(P256_GX, P256_NEG_GY, want);
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp), QD_OK);
	assert_memory_equal(kp.pub, want, 65);

	/* d = 0, d = n, d = 2^256 - 1: rejected, and the key pair left empty. */
	static const uint8_t zero[sizeof(kp)];
	memset(d, 0, sizeof(d));
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp),
	                 QD_ERR_FORMAT);
	assert_memory_equal(&kp, zero, sizeof(kp));
	hex32(P256_N, d);
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp),
	                 QD_ERR_FORMAT);
	memset(d, 0xFF, sizeof(d));
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_ES256, d, 32, &kp),
	                 QD_ERR_FORMAT);

	/* Signing with an out-of-range secret fails, and leaves no signature. */
	memset(&kp, 0, sizeof(kp));
	kp.alg = SIGNATURE_ALG_ES256;
	memset(sig, 0xAA, sizeof(sig));
	assert_int_equal(signature_sign(&kp, (const uint8_t *)"m", 1, sig), QD_ERR_FORMAT);
	assert_memory_equal(sig, zero, sizeof(sig));

	/* Ed25519 accepts any 32-byte seed, including all zeros. */
	memset(d, 0, sizeof(d));
	assert_int_equal(signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, d, 32, &kp), QD_OK);
	assert_int_equal(kp.pub_len, 32);
}

/* ---- public-key checks -------------------------------------------------------- */

static void test_public_check(void **state)
{
	uint8_t g[65], bad[66];
	uint8_t ed[33] = {0};
	(void)state;

	p256_point(P256_GX, P256_GY, g);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, g, 65), QD_OK);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, g, 64), QD_ERR_FORMAT);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, NULL, 65), QD_ERR_FORMAT);
	memcpy(bad, g, 65);
	bad[65] = 0;
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, bad, 66), QD_ERR_FORMAT);
	/* Compressed prefixes and the hybrid form are refused. */
	for (int prefix = 0; prefix < 8; prefix++) {
		if (prefix == 4)
			continue;
		bad[0] = (uint8_t)prefix;
		assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, bad, 65),
		                 QD_ERR_FORMAT);
	}
	/* Off the curve: y + 1. */
	memcpy(bad, g, 65);
	bad[64] ^= 1;
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, bad, 65), QD_ERR_FORMAT);
	/* Coordinates >= p. */
	memset(bad + 1, 0xFF, 64);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, bad, 65), QD_ERR_FORMAT);
	/* The all-zero "point". */
	memset(bad + 1, 0, 64);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_ES256, bad, 65), QD_ERR_FORMAT);

	/* Ed25519: length only. */
	assert_int_equal(signature_public_check(SIGNATURE_ALG_EDDSA, ed, 32), QD_OK);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_EDDSA, ed, 31), QD_ERR_FORMAT);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_EDDSA, ed, 33), QD_ERR_FORMAT);
	assert_int_equal(signature_public_check(SIGNATURE_ALG_EDDSA, NULL, 32), QD_ERR_FORMAT);
}

/* ---- algorithm ids ------------------------------------------------------------ */

static void test_alg_ids(void **state)
{
	static const char *const eddsa[] = {"EdDSA", "eddsa", "EDDSA", "ed25519", "Ed25519"};
	static const char *const es256[] = {"ES256", "es256", "Es256"};
	static const char *const bad[] = {"", "ES384", "EdDSA ", "ed448", "RS256", "ES", "-8"};
	int64_t alg;
	(void)state;

	assert_string_equal(signature_alg_name(SIGNATURE_ALG_EDDSA), "EdDSA");
	assert_string_equal(signature_alg_name(SIGNATURE_ALG_ES256), "ES256");
	assert_true(signature_alg_supported(SIGNATURE_ALG_EDDSA));
	assert_true(signature_alg_supported(SIGNATURE_ALG_ES256));
	assert_int_equal(signature_public_len(SIGNATURE_ALG_EDDSA), 32);
	assert_int_equal(signature_public_len(SIGNATURE_ALG_ES256), 65);
	for (size_t i = 0; i < COUNT(eddsa); i++) {
		alg = 0;
		assert_int_equal(signature_alg_parse(eddsa[i], &alg), QD_OK);
		assert_int_equal(alg, SIGNATURE_ALG_EDDSA);
	}
	for (size_t i = 0; i < COUNT(es256); i++) {
		alg = 0;
		assert_int_equal(signature_alg_parse(es256[i], &alg), QD_OK);
		assert_int_equal(alg, SIGNATURE_ALG_ES256);
	}
	for (size_t i = 0; i < COUNT(bad); i++) {
		alg = 12345;
		assert_int_equal(signature_alg_parse(bad[i], &alg), QD_ERR_UNSUPPORTED);
		assert_int_equal(alg, 12345);
	}
}

static void test_unsupported_alg(void **state)
{
	static const int64_t unsupported[] = {-35, 0, -36, -257, 1, -6, -9};
	uint8_t buf[65] = {0x04}, sig[64] = {0};
	(void)state;

	for (size_t i = 0; i < COUNT(unsupported); i++) {
		int64_t alg = unsupported[i];
		struct signature_keypair kp;

		assert_false(signature_alg_supported(alg));
		assert_null(signature_alg_name(alg));
		assert_int_equal(signature_public_len(alg), 0);
		assert_int_equal(signature_public_check(alg, buf, 65), QD_ERR_UNSUPPORTED);
		assert_int_equal(signature_public_check(alg, buf, 32), QD_ERR_UNSUPPORTED);
		assert_int_equal(signature_verify(alg, buf, 65, buf, 1, sig, 64),
		                 QD_ERR_UNSUPPORTED);
		assert_int_equal(signature_verify(alg, buf, 32, buf, 1, sig, 64),
		                 QD_ERR_UNSUPPORTED);
		assert_int_equal(signature_keypair_generate(alg, &kp), QD_ERR_UNSUPPORTED);
		assert_int_equal(signature_keypair_from_secret(alg, buf + 1, 32, &kp),
		                 QD_ERR_UNSUPPORTED);
		memset(&kp, 0, sizeof(kp));
		kp.alg = alg;
		assert_int_equal(signature_sign(&kp, buf, 1, sig), QD_ERR_UNSUPPORTED);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sha256_oneshot),  cmocka_unit_test(test_sha256_streaming),
	        cmocka_unit_test(test_rfc8032_ed25519), cmocka_unit_test(test_wycheproof_ed25519),
	        cmocka_unit_test(test_wycheproof_p256), cmocka_unit_test(test_rfc6979_p256),
	        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_p256_secret_range),
	        cmocka_unit_test(test_public_check),    cmocka_unit_test(test_alg_ids),
	        cmocka_unit_test(test_unsupported_alg),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
