/* SPDX-License-Identifier: Apache-2.0 */
/* keyfile.c - the pinned root's public-key file (JSON via jansson). */
#define _GNU_SOURCE /* memmem */
#include "qrdesk/keyfile.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "qrdesk/hex.h"
#include "qrdesk/signature.h"

#include <sodium.h>

static const char *get_string(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

enum qd_err keyfile_parse_public(const char *text, size_t len, struct trust_key *key,
                                 struct qd_errmsg *why)
{
	if (len > KEYFILE_MAX) {
		qd_errmsg_set(why, "key file larger than %d bytes", KEYFILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		qd_errmsg_set(why, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return QD_ERR_FORMAT;
	}
	enum qd_err rc = QD_ERR_FORMAT;
	memset(key, 0, sizeof(*key));
	const char *format = get_string(root, "format");
	const char *role = get_string(root, "role");
	const char *alg = get_string(root, "alg");
	const char *kid = get_string(root, "kid");
	const char *pub = get_string(root, "public_key");
	const char *name;
	json_t *value;
	json_object_foreach(root, name, value)
	{
		if (strcmp(name, "format") != 0 && strcmp(name, "role") != 0 &&
		    strcmp(name, "alg") != 0 && strcmp(name, "kid") != 0 &&
		    strcmp(name, "public_key") != 0) {
			qd_errmsg_set(why, "unknown field \"%s\"", name);
			goto out;
		}
	}
	if (!json_is_object(root) || format == NULL || strcmp(format, KEYFILE_FORMAT) != 0) {
		qd_errmsg_set(why, "not a %s file", KEYFILE_FORMAT);
		goto out;
	}
	if (role == NULL || key_role_parse(role, strlen(role), &key->role) != QD_OK) {
		qd_errmsg_set(why, "role missing or unknown");
		goto out;
	}
	if (alg == NULL || signature_alg_parse(alg, &key->alg) != QD_OK) {
		qd_errmsg_set(why, "alg missing or not EdDSA/ES256");
		goto out;
	}
	size_t n = 0;
	if (pub == NULL ||
	    hex_decode(pub, strlen(pub), key->public_key, sizeof(key->public_key), &n) != QD_OK ||
	    signature_public_check(key->alg, key->public_key, n) != QD_OK) {
		qd_errmsg_set(why, "public_key missing or not a valid %s key", alg);
		goto out;
	}
	key->public_len = (uint8_t)n;
	uint8_t derived[TRUST_KID_DEFAULT_LEN];
	trust_kid_derive(key->public_key, key->public_len, derived);
	if (kid == NULL || hex_decode(kid, strlen(kid), key->kid, sizeof(key->kid), &n) != QD_OK ||
	    n == 0) {
		qd_errmsg_set(why, "kid missing or not hex");
		goto out;
	}
	key->kid_len = (uint8_t)n;
	if (n != sizeof(derived) || memcmp(derived, key->kid, n) != 0) {
		qd_errmsg_set(why, "kid does not match the public key (file damaged?)");
		goto out;
	}
	key->not_before = 0;
	key->not_after = INT64_MAX;
	key->status = KEY_STATUS_ACTIVE;
	rc = QD_OK;
out:
	json_decref(root);
	return rc;
}

char *keyfile_format_public(const struct trust_key *key)
{
	char kid[2 * TRUST_KID_MAX + 1], pub[2 * SIGNATURE_PUBLIC_MAX + 1];
	hex_encode(key->kid, key->kid_len, kid, sizeof(kid));
	hex_encode(key->public_key, key->public_len, pub, sizeof(pub));
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "format", KEYFILE_FORMAT, "role",
	                        key_role_name(key->role), "alg", signature_alg_name(key->alg),
	                        "kid", kid, "public_key", pub);
	if (obj == NULL)
		return NULL;
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (text == NULL)
		return NULL;
	size_t n = strlen(text);
	char *out = realloc(text, n + 2);
	if (out == NULL) {
		free(text);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

/* The DER SubjectPublicKeyInfo heads before the key bytes (RFC 8410, RFC 5480). */
static const uint8_t spki_ed25519[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                       0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
static const uint8_t spki_p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

static enum qd_err raw_key(const uint8_t *raw, size_t len, struct trust_key *key,
                           struct qd_errmsg *why)
{
	int64_t alg = len == SIGNATURE_ED25519_PUBLIC_LEN ? SIGNATURE_ALG_EDDSA
	              : len == SIGNATURE_P256_PUBLIC_LEN  ? SIGNATURE_ALG_ES256
	                                                  : 0;
	if (alg == 0) {
		qd_errmsg_set(why, "%zu key bytes: an Ed25519 key has 32, a P-256 key 65", len);
		return QD_ERR_FORMAT;
	}
	if (signature_public_check(alg, raw, len) != QD_OK) {
		qd_errmsg_set(why, "not a valid %s public key%s", signature_alg_name(alg),
		              alg == SIGNATURE_ALG_ES256 ? " (an uncompressed point on P-256)"
		                                         : "");
		return QD_ERR_FORMAT;
	}
	key->alg = alg;
	memcpy(key->public_key, raw, len);
	key->public_len = (uint8_t)len;
	trust_kid_derive(raw, len, key->kid);
	key->kid_len = TRUST_KID_DEFAULT_LEN;
	return QD_OK;
}

static enum qd_err pem_key(const char *text, size_t len, struct trust_key *key,
                           struct qd_errmsg *why)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----",
	                  end[] = "-----END PUBLIC KEY-----";
	const char *b = memmem(text, len, begin, sizeof(begin) - 1);
	const char *e = b ? memmem(b, len - (size_t)(b - text), end, sizeof(end) - 1) : NULL;
	if (b == NULL || e == NULL) {
		qd_errmsg_set(why, "PEM without a PUBLIC KEY block (a private key is never taken)");
		return QD_ERR_FORMAT;
	}
	const char *body = b + sizeof(begin) - 1;
	uint8_t der[128];
	size_t der_len = 0;
	const char *stop = NULL;
	if (sodium_base642bin(der, sizeof(der), body, (size_t)(e - body), " \t\r\n", &der_len,
	                      &stop, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    stop != e) {
		qd_errmsg_set(why, "PEM body is not base64 of a key");
		return QD_ERR_FORMAT;
	}
	if (der_len == sizeof(spki_ed25519) + SIGNATURE_ED25519_PUBLIC_LEN &&
	    memcmp(der, spki_ed25519, sizeof(spki_ed25519)) == 0)
		return raw_key(der + sizeof(spki_ed25519), SIGNATURE_ED25519_PUBLIC_LEN, key, why);
	if (der_len == sizeof(spki_p256) + SIGNATURE_P256_PUBLIC_LEN &&
	    memcmp(der, spki_p256, sizeof(spki_p256)) == 0)
		return raw_key(der + sizeof(spki_p256), SIGNATURE_P256_PUBLIC_LEN, key, why);
	qd_errmsg_set(why, "PEM key is neither Ed25519 nor P-256 (uncompressed)");
	return QD_ERR_FORMAT;
}

enum qd_err keyfile_parse_any(const uint8_t *data, size_t len, struct trust_key *key,
                              struct qd_errmsg *why)
{
	memset(key, 0, sizeof(*key));
	if (len > KEYFILE_MAX) {
		qd_errmsg_set(why, "key file larger than %d bytes", KEYFILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	size_t skip = 0;
	while (skip < len && (data[skip] == ' ' || data[skip] == '\t' || data[skip] == '\n' ||
	                      data[skip] == '\r'))
		skip++;
	if (skip < len && data[skip] == '{')
		return keyfile_parse_public((const char *)data, len, key, why);
	if (skip < len && data[skip] == '-')
		return pem_key((const char *)data, len, key, why);
	/* Hex text: the digits, then at most white space. */
	size_t n = skip;
	while (n < len && strchr("0123456789abcdefABCDEF", data[n]) != NULL && data[n] != '\0')
		n++;
	size_t tail = n;
	while (tail < len && strchr(" \t\r\n", data[tail]) != NULL && data[tail] != '\0')
		tail++;
	if (n > skip && tail == len) {
		uint8_t raw[SIGNATURE_PUBLIC_MAX];
		size_t raw_len = 0;
		if ((n - skip) % 2 != 0 || n - skip > 2 * sizeof(raw) ||
		    hex_decode((const char *)data + skip, n - skip, raw, sizeof(raw), &raw_len) !=
		            QD_OK) {
			qd_errmsg_set(why, "%zu hex digits: an Ed25519 key has 64, a P-256 key 130",
			              n - skip);
			return QD_ERR_FORMAT;
		}
		return raw_key(raw, raw_len, key, why);
	}
	if (len == SIGNATURE_ED25519_PUBLIC_LEN ||
	    (len == SIGNATURE_P256_PUBLIC_LEN && data[0] == 0x04))
		return raw_key(data, len, key, why);
	qd_errmsg_set(why, "not a public key (a qrdesk key file, PEM, raw or hex key)");
	return QD_ERR_FORMAT;
}
