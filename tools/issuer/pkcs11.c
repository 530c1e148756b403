/* SPDX-License-Identifier: Apache-2.0 */
/* pkcs11.c - issuer keys in a token through p11-kit (see pkcs11.h). */
#include "pkcs11.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/digest.h"
#include "toolutil.h"

#define PIN_MAX 256

struct pkcs11_key {
	CK_FUNCTION_LIST *module;   /* the one used */
	CK_FUNCTION_LIST **modules; /* p11-kit's registered set, or NULL */
	bool loaded_by_path;
	CK_SESSION_HANDLE session;
	bool session_open, logged_in;
	CK_OBJECT_HANDLE priv;
	int64_t alg;
	uint8_t pub[SIGNATURE_PUBLIC_MAX];
	size_t pub_len;
};

static const char *pin_file;

void pkcs11_set_pin_file(const char *path)
{
	pin_file = path;
}

/* DER of the curves we take: P-256's OID, and Ed25519 as OID or as the
 * printable string "edwards25519" (PKCS#11 3.0 allows both; SoftHSM writes
 * the string). */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t name_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                       'd',  's',  '2', '5', '5', '1', '9'};

static bool same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* The PIN, NUL-terminated, without its line end; QD_ERR_PERM if there is none. */
static enum qd_err read_pin(P11KitUri *uri, const char *text, char pin[PIN_MAX + 1],
                            struct qd_errmsg *why)
{
	const char *path = pin_file != NULL ? pin_file : p11_kit_uri_get_pin_source(uri);
	if (path != NULL && strncmp(path, "file:", 5) == 0)
		path += 5;
	if (path != NULL) {
		uint8_t *data = NULL;
		size_t len = 0;
		struct qd_errmsg inner = {{0}};
		enum qd_err rc = tool_read_file(path, PIN_MAX + 2, &data, &len, &inner);
		if (rc != QD_OK) {
			qd_errmsg_set(why, "%s: PIN file: %s", text, inner.text);
			return rc;
		}
		size_t n = strcspn((const char *)data, "\r\n");
		if (n > PIN_MAX)
			n = PIN_MAX;
		memcpy(pin, data, n);
		pin[n] = '\0';
		memset(data, 0, len);
		free(data);
		return QD_OK;
	}
	const char *env = getenv("QRDESK_PKCS11_PIN");
	if (env == NULL || strlen(env) > PIN_MAX) {
		qd_errmsg_set(why,
		              "%s: no PIN (give --pin-file FILE, pin-source in the URI, or "
		              "QRDESK_PKCS11_PIN)",
		              text);
		return QD_ERR_PERM;
	}
	snprintf(pin, PIN_MAX + 1, "%s", env);
	return QD_OK;
}

/* Load the module the URI names, or p11-kit's registered ones. */
static enum qd_err load_modules(P11KitUri *uri, const char *text, struct pkcs11_key *k,
                                struct qd_errmsg *why)
{
	const char *path = p11_kit_uri_get_module_path(uri);
	if (path != NULL) {
		k->module = p11_kit_module_load(path, 0);
		if (k->module == NULL) {
			qd_errmsg_set(why, "%s: PKCS#11 module %s cannot be loaded: %s", text, path,
			              p11_kit_message() ? p11_kit_message() : "no such module");
			return QD_ERR_NOT_FOUND;
		}
		CK_RV rv = p11_kit_module_initialize(k->module);
		if (rv != CKR_OK) {
			p11_kit_module_release(k->module);
			k->module = NULL;
			qd_errmsg_set(why, "%s: PKCS#11 module %s does not initialise (0x%lx)",
			              text, path, (unsigned long)rv);
			return QD_ERR_UNSUPPORTED;
		}
		k->loaded_by_path = true;
		return QD_OK;
	}
	k->modules = p11_kit_modules_load_and_initialize(0);
	if (k->modules == NULL || k->modules[0] == NULL) {
		qd_errmsg_set(why, "%s: no PKCS#11 module is registered with p11-kit", text);
		return QD_ERR_NOT_FOUND;
	}
	return QD_OK;
}

/* The first slot, over the candidate modules, whose module and token match. */
static enum qd_err find_token(P11KitUri *uri, const char *text, struct pkcs11_key *k,
                              CK_SLOT_ID *slot, struct qd_errmsg *why)
{
	CK_FUNCTION_LIST *single[2] = {k->module, NULL};
	CK_FUNCTION_LIST **list = k->loaded_by_path ? single : k->modules;
	const char *name = p11_kit_uri_get_module_name(uri);
	for (size_t m = 0; list[m] != NULL; m++) {
		CK_FUNCTION_LIST *f = list[m];
		if (!k->loaded_by_path && name != NULL) {
			char *got = p11_kit_module_get_name(f);
			bool match = got != NULL && strcmp(got, name) == 0;
			free(got);
			if (!match)
				continue;
		}
		CK_INFO info;
		if (f->C_GetInfo(&info) != CKR_OK || !p11_kit_uri_match_module_info(uri, &info))
			continue;
		CK_SLOT_ID slots[64];
		CK_ULONG n = 64;
		if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
			continue;
		for (CK_ULONG s = 0; s < n; s++) {
			CK_TOKEN_INFO token;
			if (f->C_GetTokenInfo(slots[s], &token) == CKR_OK &&
			    p11_kit_uri_match_token_info(uri, &token)) {
				k->module = f;
				*slot = slots[s];
				return QD_OK;
			}
		}
	}
	if (name != NULL && !k->loaded_by_path) {
		qd_errmsg_set(why,
		              "%s: no PKCS#11 module %s is registered, or it has no such token",
		              text, name);
		return QD_ERR_NOT_FOUND;
	}
	qd_errmsg_set(why, "%s: no token matches", text);
	return QD_ERR_NOT_FOUND;
}

/* One object of class cls with the URI's attributes (label, id). */
static CK_RV find_object(struct pkcs11_key *k, P11KitUri *uri, CK_OBJECT_CLASS cls,
                         CK_OBJECT_HANDLE *obj, CK_ULONG *found)
{
	CK_ULONG n_uri = 0;
	CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &n_uri);
	CK_ATTRIBUTE tmpl[8];
	CK_ULONG n = 0;
	tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	for (CK_ULONG i = 0; i < n_uri && n < 8; i++)
		if (attrs[i].type != CKA_CLASS)
			tmpl[n++] = attrs[i];
	CK_RV rv = k->module->C_FindObjectsInit(k->session, tmpl, n);
	if (rv != CKR_OK)
		return rv;
	CK_OBJECT_HANDLE handles[2];
	rv = k->module->C_FindObjects(k->session, handles, 2, found);
	k->module->C_FindObjectsFinal(k->session);
	if (rv == CKR_OK && *found > 0)
		*obj = handles[0];
	return rv;
}

/* The key's type and curve -> our alg; the public point from the public object. */
static enum qd_err read_key(struct pkcs11_key *k, P11KitUri *uri, const char *text,
                            struct qd_errmsg *why)
{
	CK_KEY_TYPE type = 0;
	uint8_t params[64];
	CK_ATTRIBUTE attrs[] = {{CKA_KEY_TYPE, &type, sizeof(type)},
	                        {CKA_EC_PARAMS, params, sizeof(params)}};
	CK_RV rv = k->module->C_GetAttributeValue(k->session, k->priv, attrs, 2);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_BUFFER_TOO_SMALL) {
		qd_errmsg_set(why, "%s: cannot read the key's type (0x%lx)", text,
		              (unsigned long)rv);
		return QD_ERR_CRYPTO;
	}
	size_t plen = attrs[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : attrs[1].ulValueLen;
	if (type == CKK_EC_EDWARDS && (same(params, plen, oid_ed25519, sizeof(oid_ed25519)) ||
	                               same(params, plen, name_ed25519, sizeof(name_ed25519))))
		k->alg = SIGNATURE_ALG_EDDSA;
	else if (type == CKK_EC && same(params, plen, oid_p256, sizeof(oid_p256)))
		k->alg = SIGNATURE_ALG_ES256;
	else {
		qd_errmsg_set(why, "%s: the key is not Ed25519 or P-256 (key type 0x%lx)", text,
		              (unsigned long)type);
		return QD_ERR_UNSUPPORTED;
	}
	CK_OBJECT_HANDLE pub_obj = 0;
	CK_ULONG found = 0;
	rv = find_object(k, uri, CKO_PUBLIC_KEY, &pub_obj, &found);
	if (rv != CKR_OK || found == 0) {
		qd_errmsg_set(why, "%s: the token has no public key beside the private one", text);
		return QD_ERR_NOT_FOUND;
	}
	uint8_t point[80];
	CK_ATTRIBUTE pa = {CKA_EC_POINT, point, sizeof(point)};
	rv = k->module->C_GetAttributeValue(k->session, pub_obj, &pa, 1);
	size_t want = signature_public_len(k->alg);
	const uint8_t *raw = point;
	size_t len = rv == CKR_OK ? pa.ulValueLen : 0;
	/* CKA_EC_POINT is a DER OCTET STRING around the point; some tokens give it bare. */
	if (len == want + 2 && point[0] == 0x04 && point[1] == want) {
		raw = point + 2;
		len = want;
	}
	if (len != want || signature_public_check(k->alg, raw, len) != QD_OK) {
		qd_errmsg_set(why, "%s: the token's public point is not a %s key", text,
		              signature_alg_name(k->alg));
		return QD_ERR_FORMAT;
	}
	memcpy(k->pub, raw, len);
	k->pub_len = len;
	return QD_OK;
}

static enum qd_err open_key(P11KitUri *uri, const char *text, struct pkcs11_key *k,
                            struct qd_errmsg *why)
{
	enum qd_err rc = load_modules(uri, text, k, why);
	CK_SLOT_ID slot = 0;
	if (rc == QD_OK)
		rc = find_token(uri, text, k, &slot, why);
	if (rc != QD_OK)
		return rc;
	CK_RV rv = k->module->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &k->session);
	if (rv != CKR_OK) {
		qd_errmsg_set(why, "%s: cannot open a session (0x%lx)", text, (unsigned long)rv);
		return QD_ERR_CRYPTO;
	}
	k->session_open = true;
	char pin[PIN_MAX + 1];
	rc = read_pin(uri, text, pin, why);
	if (rc != QD_OK)
		return rc;
	rv = k->module->C_Login(k->session, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	memset(pin, 0, sizeof(pin));
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LOCKED) {
		qd_errmsg_set(why, "%s: the PIN is %s", text,
		              rv == CKR_PIN_LOCKED ? "locked" : "wrong");
		return QD_ERR_PERM;
	}
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		qd_errmsg_set(why, "%s: login failed (0x%lx)", text, (unsigned long)rv);
		return QD_ERR_PERM;
	}
	k->logged_in = true;
	CK_ULONG found = 0;
	rv = find_object(k, uri, CKO_PRIVATE_KEY, &k->priv, &found);
	if (rv != CKR_OK || found == 0) {
		qd_errmsg_set(why, "%s: the token holds no private key of that name", text);
		return QD_ERR_NOT_FOUND;
	}
	if (found > 1) {
		qd_errmsg_set(why, "%s: names more than one private key (add id= or object=)",
		              text);
		return QD_ERR_FORMAT;
	}
	return read_key(k, uri, text, why);
}

enum qd_err pkcs11_open(const char *text, struct pkcs11_key **key, struct qd_errmsg *why)
{
	*key = NULL;
	P11KitUri *uri = p11_kit_uri_new();
	struct pkcs11_key *k = calloc(1, sizeof(*k));
	if (uri == NULL || k == NULL) {
		p11_kit_uri_free(uri);
		free(k);
		return QD_ERR_NOMEM;
	}
	enum qd_err rc = QD_OK;
	int ret = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri);
	if (ret != P11_KIT_URI_OK) {
		qd_errmsg_set(why, "%s: not a PKCS#11 URI (%s)", text, p11_kit_uri_message(ret));
		rc = QD_ERR_FORMAT;
	} else if (p11_kit_uri_get_pin_value(uri) != NULL) {
		/* Name the URI up to its PIN, never the PIN: the message reaches logs. */
		const char *pin = strstr(text, "pin-value=");
		qd_errmsg_set(why, "%.*s%s: a PIN in the URI is refused (use a PIN file)",
		              pin != NULL ? (int)(pin - text) : 0, text,
		              pin != NULL ? "pin-value=..." : "a URI with a pin-value");
		rc = QD_ERR_FORMAT;
	} else {
		rc = open_key(uri, text, k, why);
	}
	p11_kit_uri_free(uri);
	if (rc != QD_OK) {
		pkcs11_close(k);
		return rc;
	}
	*key = k;
	return QD_OK;
}

enum qd_err pkcs11_public(const struct pkcs11_key *key, int64_t *alg,
                          uint8_t pub[SIGNATURE_PUBLIC_MAX], size_t *pub_len, struct qd_errmsg *why)
{
	(void)why;
	*alg = key->alg;
	memcpy(pub, key->pub, key->pub_len);
	*pub_len = key->pub_len;
	return QD_OK;
}

enum qd_err pkcs11_sign(void *ctx, const uint8_t *msg, size_t msg_len, uint8_t sig[SIGNATURE_LEN])
{
	struct pkcs11_key *k = ctx;
	CK_MECHANISM mech = {k->alg == SIGNATURE_ALG_EDDSA ? CKM_EDDSA : CKM_ECDSA, NULL, 0};
	uint8_t digest[32];
	const uint8_t *data = msg;
	CK_ULONG data_len = msg_len;
	if (k->alg == SIGNATURE_ALG_ES256) {
		/* CKM_ECDSA signs a digest: SHA-256 is made here (CKM_ECDSA_SHA256 is
		 * not in every token). */
		digest_sha256(msg, msg_len, digest);
		data = digest;
		data_len = sizeof(digest);
	}
	CK_RV rv = k->module->C_SignInit(k->session, &mech, k->priv);
	CK_ULONG sig_len = SIGNATURE_LEN;
	if (rv == CKR_OK)
		rv = k->module->C_Sign(k->session, (CK_BYTE *)data, data_len, sig, &sig_len);
	if (rv != CKR_OK || sig_len != SIGNATURE_LEN)
		return QD_ERR_CRYPTO;
	/* A token that signs with another key than the one we read is caught here. */
	if (signature_verify(k->alg, k->pub, k->pub_len, msg, msg_len, sig, SIGNATURE_LEN) != QD_OK)
		return QD_ERR_CRYPTO;
	return QD_OK;
}

void pkcs11_close(struct pkcs11_key *k)
{
	if (k == NULL)
		return;
	if (k->logged_in)
		k->module->C_Logout(k->session);
	if (k->session_open)
		k->module->C_CloseSession(k->session);
	if (k->loaded_by_path && k->module != NULL) {
		p11_kit_module_finalize(k->module);
		p11_kit_module_release(k->module);
	}
	if (k->modules != NULL)
		p11_kit_modules_finalize_and_release(k->modules);
	free(k);
}
