/* SPDX-License-Identifier: Apache-2.0 */
/* keyfile.c - the pinned root's public-key file (JSON via jansson). */
#include "qrdesk/keyfile.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "qrdesk/hex.h"
#include "qrdesk/signature.h"

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
