/* SPDX-License-Identifier: Apache-2.0 */
/* domain.c - the back office's trust domain directory (see domain.h). */
#include "domain.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qrdesk/airport.h"
#include "qrdesk/desklist.h"
#include "qrdesk/cbor.h"
#include "qrdesk/hex.h"
#include "qrdesk/keyfile.h"
#include "toolutil.h"

#define DOMAIN_JSON_MAX (1024 * 1024)
#define YEAR            (365LL * 24 * 3600)

void domain_path(const struct domain *d, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", d->dir, name);
}

static void key_path(const struct domain *d, const struct trust_key *k, char *out, size_t cap)
{
	char kid[2 * TRUST_KID_MAX + 1];
	hex_encode(k->kid, k->kid_len, kid, sizeof(kid));
	snprintf(out, cap, "%s/keys/%s.key", d->dir, kid);
}

const char *domain_secret_name(enum domain_secret secret)
{
	switch (secret) {
	case DOMAIN_SECRET_FILE:
		return "file";
	case DOMAIN_SECRET_PKCS11:
		return "pkcs11";
	case DOMAIN_SECRET_NONE:
		return "elsewhere";
	}
	return "?";
}

static json_t *key_to_json(const struct trust_key *k, const struct domain_key_info *info)
{
	char kid[2 * TRUST_KID_MAX + 1], pub[2 * SIGNATURE_PUBLIC_MAX + 1];
	hex_encode(k->kid, k->kid_len, kid, sizeof(kid));
	hex_encode(k->public_key, k->public_len, pub, sizeof(pub));
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "role",
	                        key_role_name(k->role), "alg", signature_alg_name(k->alg), "kid",
	                        kid, "public_key", pub, "not_before", (json_int_t)k->not_before,
	                        "not_after", (json_int_t)k->not_after, "status",
	                        k->status == KEY_STATUS_ACTIVE ? "active" : "revoked", "secret",
	                        domain_secret_name(info->secret));
	if (obj != NULL && info->uri[0] != '\0')
		json_object_set_new(obj, "pkcs11_uri", json_string(info->uri));
	if (obj != NULL && info->label[0] != '\0')
		json_object_set_new(obj, "label", json_string(info->label));
	if (obj != NULL && info->retired)
		json_object_set_new(obj, "retired", json_true());
	return obj;
}

static enum qd_err key_from_json(json_t *obj, struct trust_key *k, struct domain_key_info *info,
                                 struct qd_errmsg *why)
{
	const char *role = NULL, *alg = NULL, *kid = NULL, *pub = NULL, *status = NULL;
	const char *secret = "file", *uri = "", *label = "";
	int retired = 0;
	json_int_t nb = 0, na = 0;
	json_error_t jerr;
	memset(k, 0, sizeof(*k));
	memset(info, 0, sizeof(*info));
	/* secret, pkcs11_uri, label, retired: absent in domains made before keys could
	 * live anywhere but DIR/keys. */
	if (json_unpack_ex(obj, &jerr, JSON_STRICT,
	                   "{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s?s, s?s, s?s, s?b}", "role", &role,
	                   "alg", &alg, "kid", &kid, "public_key", &pub, "not_before", &nb,
	                   "not_after", &na, "status", &status, "secret", &secret, "pkcs11_uri",
	                   &uri, "label", &label, "retired", &retired) != 0) {
		qd_errmsg_set(why, "domain.json key: %s", jerr.text);
		return QD_ERR_FORMAT;
	}
	size_t n = 0;
	if (key_role_parse(role, strlen(role), &k->role) != QD_OK ||
	    signature_alg_parse(alg, &k->alg) != QD_OK ||
	    hex_decode(kid, strlen(kid), k->kid, sizeof(k->kid), &n) != QD_OK) {
		qd_errmsg_set(why, "domain.json key %s: bad role, alg or kid", kid);
		return QD_ERR_FORMAT;
	}
	k->kid_len = (uint8_t)n;
	if (hex_decode(pub, strlen(pub), k->public_key, sizeof(k->public_key), &n) != QD_OK ||
	    signature_public_check(k->alg, k->public_key, n) != QD_OK) {
		qd_errmsg_set(why, "domain.json key %s: bad public key", kid);
		return QD_ERR_FORMAT;
	}
	k->public_len = (uint8_t)n;
	k->not_before = nb;
	k->not_after = na;
	k->status = strcmp(status, "active") == 0 ? KEY_STATUS_ACTIVE : KEY_STATUS_REVOKED;
	bool known = false;
	for (int w = DOMAIN_SECRET_FILE; w <= DOMAIN_SECRET_NONE; w++)
		if (strcmp(secret, domain_secret_name((enum domain_secret)w)) == 0) {
			info->secret = (enum domain_secret)w;
			known = true;
		}
	if (!known || strlen(uri) > DOMAIN_URI_MAX || strlen(label) > DOMAIN_LABEL_MAX ||
	    (info->secret == DOMAIN_SECRET_PKCS11) != (uri[0] != '\0')) {
		qd_errmsg_set(why, "domain.json key %s: bad secret, pkcs11_uri or label", kid);
		return QD_ERR_FORMAT;
	}
	snprintf(info->uri, sizeof(info->uri), "%s", uri);
	snprintf(info->label, sizeof(info->label), "%s", label);
	info->retired = retired != 0;
	return QD_OK;
}

enum qd_err domain_save(const struct domain *d, struct qd_errmsg *why)
{
	json_t *keys = json_array();
	for (size_t i = 0; i < d->n_keys; i++)
		json_array_append_new(keys, key_to_json(&d->keys[i], &d->info[i]));
	json_t *versions = json_object();
	for (int t = TRUST_DOC_KEYSET; t < DOMAIN_DOC_TYPES; t++) {
		const struct trust_doc_info *info = trust_doc_info((enum trust_doc_type)t);
		/* a delta carries a version of its delta_of */
		if (info != NULL && info->delta_of == 0)
			json_object_set_new(versions, info->name,
			                    json_integer((json_int_t)d->versions[t]));
	}
	json_t *root = json_pack("{s:s, s:I, s:o, s:o}", "format", DOMAIN_FORMAT, "created_at",
	                         (json_int_t)d->created_at, "versions", versions, "keys", keys);
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (text == NULL) {
		qd_errmsg_set(why, "cannot format domain.json");
		return QD_ERR_NOMEM;
	}
	char path[4096];
	domain_path(d, "domain.json", path, sizeof(path));
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves room: we overwrite the NUL and write len+1 */
	enum qd_err rc = tool_write_file_atomic(path, text, len + 1, 0644, why);
	free(text);
	return rc;
}

enum qd_err domain_load(const char *dir, struct domain *d, struct qd_errmsg *why)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	char path[4096];
	domain_path(d, "domain.json", path, sizeof(path));
	uint8_t *text;
	size_t len;
	enum qd_err rc = tool_read_file(path, DOMAIN_JSON_MAX, &text, &len, why);
	if (rc != QD_OK)
		return rc;
	json_error_t jerr;
	json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (root == NULL) {
		qd_errmsg_set(why, "%s: line %d: %s", path, jerr.line, jerr.text);
		return QD_ERR_FORMAT;
	}
	const char *format = NULL;
	json_int_t created = 0;
	json_t *versions = NULL, *keys = NULL;
	rc = QD_ERR_FORMAT;
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:I, s:o, s:o}", "format", &format, "created_at",
	                   &created, "versions", &versions, "keys", &keys) != 0 ||
	    strcmp(format, DOMAIN_FORMAT) != 0 || !json_is_array(keys) ||
	    json_array_size(keys) > TRUST_KEYS_MAX) {
		qd_errmsg_set(why, "%s: not a %s file", path, DOMAIN_FORMAT);
		goto out;
	}
	d->created_at = created;
	for (int t = TRUST_DOC_KEYSET; t < DOMAIN_DOC_TYPES; t++) {
		const char *name = trust_doc_type_name((enum trust_doc_type)t);
		json_t *v = name != NULL ? json_object_get(versions, name) : NULL;
		d->versions[t] = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	}
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		struct qd_errmsg inner;
		if (key_from_json(k, &d->keys[i], &d->info[i], &inner) != QD_OK) {
			qd_errmsg_set(why, "%s: %s", path, inner.text);
			goto out;
		}
	}
	d->n_keys = json_array_size(keys);
	rc = QD_OK;
out:
	json_decref(root);
	return rc;
}

enum qd_err domain_add_key(struct domain *d, enum key_role role, int64_t alg, int64_t not_before,
                           int64_t not_after, size_t *index, struct qd_errmsg *why)
{
	struct signature_keypair kp;
	enum qd_err rc = signature_keypair_generate(alg, &kp);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "key generation failed");
		return rc;
	}
	rc = domain_add_keypair(d, role, &kp, not_before, not_after, index, why);
	signature_keypair_wipe(&kp);
	return rc;
}

enum qd_err domain_add_keypair(struct domain *d, enum key_role role,
                               const struct signature_keypair *kp, int64_t not_before,
                               int64_t not_after, size_t *index, struct qd_errmsg *why)
{
	if (d->n_keys >= TRUST_KEYS_MAX) {
		qd_errmsg_set(why, "the domain already has %d keys", TRUST_KEYS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct trust_key *k = &d->keys[d->n_keys];
	memset(k, 0, sizeof(*k));
	memset(&d->info[d->n_keys], 0, sizeof(d->info[0]));
	k->alg = kp->alg;
	k->role = role;
	k->status = KEY_STATUS_ACTIVE;
	memcpy(k->public_key, kp->pub, kp->pub_len);
	k->public_len = (uint8_t)kp->pub_len;
	trust_kid_derive(kp->pub, kp->pub_len, k->kid);
	k->kid_len = TRUST_KID_DEFAULT_LEN;
	k->not_before = not_before;
	k->not_after = not_after;

	char secret[2 * SIGNATURE_SECRET_LEN + 2];
	hex_encode(kp->secret, sizeof(kp->secret), secret, sizeof(secret));
	strcat(secret, "\n");
	char path[4096];
	key_path(d, k, path, sizeof(path));
	enum qd_err rc = tool_write_file_atomic(path, secret, strlen(secret), 0600, why);
	memset(secret, 0, sizeof(secret));
	if (rc != QD_OK)
		return rc;
	*index = d->n_keys++;
	return QD_OK;
}

enum qd_err domain_register_key(struct domain *d, const struct trust_key *k,
                                const struct domain_key_info *info, size_t *index,
                                struct qd_errmsg *why)
{
	char kid[2 * TRUST_KID_MAX + 1];
	hex_encode(k->kid, k->kid_len, kid, sizeof(kid));
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct trust_key *o = &d->keys[i];
		bool same_kid = o->kid_len == k->kid_len && memcmp(o->kid, k->kid, k->kid_len) == 0;
		bool same_key = o->public_len == k->public_len &&
		                memcmp(o->public_key, k->public_key, k->public_len) == 0;
		if (same_key) {
			qd_errmsg_set(why, "key %s is already in %s (role %s)", kid, d->dir,
			              key_role_name(o->role));
			return QD_ERR_EXISTS;
		}
		if (same_kid) {
			qd_errmsg_set(why, "key id %s is already another key's in %s: refused", kid,
			              d->dir);
			return QD_ERR_EXISTS;
		}
	}
	if (d->n_keys >= TRUST_KEYS_MAX) {
		qd_errmsg_set(why, "the domain already has %d keys", TRUST_KEYS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	d->keys[d->n_keys] = *k;
	d->info[d->n_keys] = *info;
	*index = d->n_keys++;
	return QD_OK;
}

const char *domain_key_state(const struct domain *d, size_t i, int64_t now)
{
	const struct trust_key *k = &d->keys[i];
	if (k->status != KEY_STATUS_ACTIVE)
		return "revoked";
	if (now < k->not_before)
		return "pending";
	if (now > k->not_after)
		return d->info[i].retired ? "retired" : "expired";
	return "active";
}

enum qd_err domain_keypair(const struct domain *d, size_t i, struct signature_keypair *kp,
                           struct qd_errmsg *why)
{
	if (d->info[i].secret != DOMAIN_SECRET_FILE) {
		char kid[2 * TRUST_KID_MAX + 1];
		hex_encode(d->keys[i].kid, d->keys[i].kid_len, kid, sizeof(kid));
		qd_errmsg_set(why, "key %s: its secret is %s, not in %s/keys", kid,
		              d->info[i].secret == DOMAIN_SECRET_PKCS11 ? "in a PKCS#11 token"
		                                                        : "held elsewhere",
		              d->dir);
		return QD_ERR_NOT_FOUND;
	}
	char path[4096];
	key_path(d, &d->keys[i], path, sizeof(path));
	uint8_t *text;
	size_t len;
	enum qd_err rc = tool_read_file(path, 256, &text, &len, why);
	if (rc != QD_OK)
		return rc;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	uint8_t secret[SIGNATURE_SECRET_LEN];
	size_t n = 0;
	rc = hex_decode((const char *)text, len, secret, sizeof(secret), &n);
	memset(text, 0, len);
	free(text);
	if (rc != QD_OK || n != sizeof(secret)) {
		qd_errmsg_set(why, "%s: not a 32-byte hex secret", path);
		return QD_ERR_FORMAT;
	}
	rc = signature_keypair_from_secret(d->keys[i].alg, secret, n, kp);
	memset(secret, 0, sizeof(secret));
	if (rc != QD_OK || kp->pub_len != d->keys[i].public_len ||
	    memcmp(kp->pub, d->keys[i].public_key, kp->pub_len) != 0) {
		signature_keypair_wipe(kp);
		qd_errmsg_set(why, "%s: secret does not match the key's public half", path);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

enum qd_err domain_init(const char *dir, int64_t now, struct domain *d, struct qd_errmsg *why)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	char path[4096];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", dir, strerror(errno));
		return QD_ERR_IO;
	}
	domain_path(d, "domain.json", path, sizeof(path));
	struct stat st;
	if (stat(path, &st) == 0) {
		qd_errmsg_set(why, "%s already holds a trust domain", dir);
		return QD_ERR_EXISTS;
	}
	domain_path(d, "keys", path, sizeof(path));
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		return QD_ERR_IO;
	}
	d->created_at = now;
	/* Windows: the root is long-lived and offline; working keys rotate sooner. */
	static const struct {
		enum key_role role;
		int64_t alg;
		int64_t years;
	} initial[] = {
	        {KEY_ROLE_ROOT, SIGNATURE_ALG_EDDSA, 20},
	        {KEY_ROLE_ISSUER, SIGNATURE_ALG_EDDSA, 5},
	        {KEY_ROLE_ISSUER, SIGNATURE_ALG_ES256, 5},
	        {KEY_ROLE_REPOSITORY, SIGNATURE_ALG_EDDSA, 5},
	        {KEY_ROLE_UPDATE, SIGNATURE_ALG_EDDSA, 5},
	};
	for (size_t i = 0; i < sizeof(initial) / sizeof(initial[0]); i++) {
		size_t index;
		enum qd_err rc = domain_add_key(d, initial[i].role, initial[i].alg, now,
		                                now + initial[i].years * YEAR, &index, why);
		if (rc != QD_OK)
			return rc;
	}
	char *pub = keyfile_format_public(&d->keys[0]);
	if (pub == NULL)
		return QD_ERR_NOMEM;
	domain_path(d, "root.pub", path, sizeof(path));
	enum qd_err rc = tool_write_file_atomic(path, pub, strlen(pub), 0644, why);
	free(pub);
	if (rc != QD_OK)
		return rc;
	return domain_save(d, why);
}

int domain_pick_key(const struct domain *d, enum key_role role, int64_t alg, int64_t now)
{
	int best = -1;
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct trust_key *k = &d->keys[i];
		if (k->role != role || k->status != KEY_STATUS_ACTIVE ||
		    (alg != 0 && k->alg != alg) || now < k->not_before || now > k->not_after ||
		    d->info[i].secret == DOMAIN_SECRET_NONE)
			continue;
		if (best < 0 || k->not_before > d->keys[best].not_before)
			best = (int)i;
	}
	return best;
}

int domain_find_kid(const struct domain *d, const char *kid_hex)
{
	uint8_t kid[TRUST_KID_MAX];
	size_t n = 0;
	if (hex_decode(kid_hex, strlen(kid_hex), kid, sizeof(kid), &n) != QD_OK)
		return -1;
	for (size_t i = 0; i < d->n_keys; i++)
		if (d->keys[i].kid_len == n && memcmp(d->keys[i].kid, kid, n) == 0)
			return (int)i;
	return -1;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TRUST_HASH_LEN);
}

enum qd_err domain_revocations_load(const struct domain *d, uint8_t **hashes, size_t *count,
                                    struct qd_errmsg *why)
{
	char path[4096];
	domain_path(d, "revocations.bin", path, sizeof(path));
	uint8_t *data = NULL;
	size_t len = 0;
	enum qd_err rc =
	        tool_read_file(path, (size_t)TRUST_HASH_LEN * 16 * 1024 * 1024, &data, &len, why);
	if (rc == QD_ERR_NOT_FOUND) {
		*hashes = NULL;
		*count = 0;
		return QD_OK;
	}
	if (rc != QD_OK)
		return rc;
	if (len % TRUST_HASH_LEN != 0) {
		free(data);
		qd_errmsg_set(why, "%s: length is not a multiple of %d", path, TRUST_HASH_LEN);
		return QD_ERR_FORMAT;
	}
	*hashes = data;
	*count = len / TRUST_HASH_LEN;
	return QD_OK;
}

enum qd_err domain_revocations_add(const struct domain *d, const uint8_t *add, size_t n_add,
                                   size_t *added, struct qd_errmsg *why)
{
	uint8_t *old;
	size_t n_old;
	enum qd_err rc = domain_revocations_load(d, &old, &n_old, why);
	if (rc != QD_OK)
		return rc;
	uint8_t *all = malloc((n_old + n_add) * TRUST_HASH_LEN + 1);
	if (all == NULL) {
		free(old);
		return QD_ERR_NOMEM;
	}
	if (n_old > 0)
		memcpy(all, old, n_old * TRUST_HASH_LEN);
	memcpy(all + n_old * TRUST_HASH_LEN, add, n_add * TRUST_HASH_LEN);
	free(old);
	size_t total = n_old + n_add;
	qsort(all, total, TRUST_HASH_LEN, hash_cmp);
	size_t unique = 0;
	for (size_t i = 0; i < total; i++) {
		if (unique > 0 && memcmp(all + (unique - 1) * TRUST_HASH_LEN,
		                         all + i * TRUST_HASH_LEN, TRUST_HASH_LEN) == 0)
			continue;
		memmove(all + unique * TRUST_HASH_LEN, all + i * TRUST_HASH_LEN, TRUST_HASH_LEN);
		unique++;
	}
	*added = unique - n_old;
	char path[4096];
	domain_path(d, "revocations.bin", path, sizeof(path));
	rc = tool_write_file_atomic(path, all, unique * TRUST_HASH_LEN, 0644, why);
	free(all);
	return rc;
}

enum qd_err domain_desks_load(const struct domain *d, struct desk_list *out, struct qd_errmsg *why)
{
	out->n = 0;
	char path[4096];
	domain_path(d, "desks.cbor", path, sizeof(path));
	uint8_t *body = NULL;
	size_t len = 0;
	enum qd_err rc = tool_read_file(path, DESKLIST_BODY_MAX, &body, &len, why);
	if (rc == QD_ERR_NOT_FOUND)
		return QD_OK;
	struct qd_errmsg bad = {{0}};
	if (rc == QD_OK && (rc = desklist_from_body(body, len, out, &bad)) != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, bad.text);
	free(body);
	return rc;
}

/* Encode list, check it as desks will, replace DIR/desks.cbor. */
static enum qd_err desks_save(const struct domain *d, const struct desk_list *list,
                              struct qd_errmsg *why)
{
	size_t need = desklist_encode(list, NULL, 0);
	uint8_t *body = malloc(need);
	if (body == NULL)
		return QD_ERR_NOMEM;
	desklist_encode(list, body, need);
	size_t n = 0;
	enum qd_err rc = desklist_check_body(body, need, &n, why);
	if (rc == QD_OK) {
		char path[4096];
		domain_path(d, "desks.cbor", path, sizeof(path));
		rc = tool_write_file_atomic(path, body, need, 0644, why);
	}
	free(body);
	return rc;
}

enum qd_err domain_desk_add(const struct domain *d, const char *id, const uint8_t *pub,
                            size_t pub_len, int64_t now, struct qd_errmsg *why)
{
	struct desk_entry e = {.alg = SIGNATURE_ALG_EDDSA, .added_at = now};
	if (!desk_id_valid(id, strlen(id))) {
		qd_errmsg_set(why, "desk id \"%s\": want 1..%d of A-Z a-z 0-9 . _ -", id,
		              DESK_ID_MAX);
		return QD_ERR_FORMAT;
	}
	if (pub_len != sizeof(e.public_key)) {
		qd_errmsg_set(why, "desk %s: a public key of %zu bytes, want an Ed25519 key (32)",
		              id, pub_len);
		return QD_ERR_FORMAT;
	}
	memcpy(e.id, id, strlen(id));
	memcpy(e.public_key, pub, pub_len);
	struct desk_list *list = malloc(sizeof(*list));
	if (list == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = domain_desks_load(d, list, why);
	if (rc == QD_OK)
		rc = desklist_add(list, &e, why);
	if (rc == QD_OK)
		rc = desks_save(d, list, why);
	free(list);
	return rc;
}

enum qd_err domain_desk_retire(const struct domain *d, const char *id, int64_t now,
                               struct qd_errmsg *why)
{
	struct desk_list *list = malloc(sizeof(*list));
	if (list == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = domain_desks_load(d, list, why);
	struct desk_entry *e = rc == QD_OK ? (struct desk_entry *)desklist_find(list, id) : NULL;
	if (rc == QD_OK && e == NULL) {
		qd_errmsg_set(why, "desk %s is not registered", id);
		rc = QD_ERR_NOT_FOUND;
	} else if (rc == QD_OK && e->retired_at != 0) {
		qd_errmsg_set(why, "desk %s was retired already", id);
		rc = QD_ERR_EXISTS;
	}
	if (rc == QD_OK) {
		e->retired_at = now > e->added_at ? now : e->added_at;
		rc = desks_save(d, list, why);
	}
	free(list);
	return rc;
}

enum qd_err domain_airports_set(const struct domain *d, const char *text, size_t len,
                                size_t *airports, struct qd_errmsg *why)
{
	size_t need = airport_body_encode(text, len, NULL, 0);
	uint8_t *body = malloc(need);
	if (body == NULL)
		return QD_ERR_NOMEM;
	airport_body_encode(text, len, body, need);
	/* What desks will refuse is refused here, with the same words. */
	size_t n = 0;
	enum qd_err rc = airport_check_body(body, need, &n, why);
	if (rc == QD_OK) {
		char path[4096];
		domain_path(d, "airports.cbor", path, sizeof(path));
		rc = tool_write_file_atomic(path, body, need, 0644, why);
	}
	if (rc == QD_OK && airports != NULL)
		*airports = n;
	free(body);
	return rc;
}

enum qd_err domain_policy_set(const struct domain *d, const struct policy *policy, size_t *body_len,
                              struct qd_errmsg *why)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	policy_encode(&w, policy);
	size_t len = w.len;
	if (len > POLICY_BODY_MAX) {
		qd_errmsg_set(why, "the policy encodes to %zu bytes, more than the %d a desk takes",
		              len, POLICY_BODY_MAX);
		return QD_ERR_TOO_LARGE;
	}
	uint8_t *body = malloc(len);
	struct policy *check = malloc(sizeof(*check));
	enum qd_err rc = body != NULL && check != NULL ? QD_OK : QD_ERR_NOMEM;
	if (rc == QD_OK) {
		cbor_writer_init(&w, body, len);
		policy_encode(&w, policy);
		/* What desks will refuse is refused here, with the same words. */
		rc = policy_decode(body, len, check, why);
	}
	if (rc == QD_OK) {
		char path[4096];
		domain_path(d, "policy.cbor", path, sizeof(path));
		rc = tool_write_file_atomic(path, body, len, 0644, why);
	}
	if (rc == QD_OK && body_len != NULL)
		*body_len = len;
	free(check);
	free(body);
	return rc;
}
