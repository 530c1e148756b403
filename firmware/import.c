/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.c - the single way trust data enters a desk: verify, then apply.
 * See import.h for the steps.  Nothing reaches the store before the
 * signature, the signer's role and window, and the payload all check out.
 */
#include "qrdesk/hex.h"
#include "qrdesk/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/file.h"
#include "qrdesk/signature.h"
#include "qrdesk/trustdoc.h"

/* Pinned roots and key-set keys, the candidates for a document's signer. */
struct signer_pool {
	struct trust_key keys[TRUST_KEYS_MAX * 2];
	size_t count;
	size_t n_roots; /* keys[0..n_roots) are the pinned roots */
};

static enum qd_err load_pool(struct store *store, const struct import_signers *signers,
                             struct signer_pool *pool, struct qd_errmsg *why)
{
	const struct trust_key *keyset = signers->keyset;
	size_t n_keyset = signers->n_keyset;
	size_t roots = 0, keys = 0;
	enum qd_err rc = QD_OK;
	if (signers->roots != NULL) {
		roots = signers->n_roots > TRUST_KEYS_MAX ? TRUST_KEYS_MAX : signers->n_roots;
		memcpy(pool->keys, signers->roots, roots * sizeof(*signers->roots));
	} else {
		rc = store_roots_load(store, pool->keys, TRUST_KEYS_MAX, &roots);
	}
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot read pinned roots: %s", qd_err_name(rc));
		return rc;
	}
	pool->n_roots = roots;
	if (roots == 0) {
		qd_errmsg_set(why,
		              "the store has no pinned root key: run qrdeskctl provision first");
		return QD_ERR_NOT_PROVISIONED;
	}
	/* A pinned root has no window, whether it is stored or just rotated to. */
	for (size_t i = 0; i < roots; i++) {
		pool->keys[i].role = KEY_ROLE_ROOT;
		pool->keys[i].status = KEY_STATUS_ACTIVE;
		pool->keys[i].not_before = INT64_MIN;
		pool->keys[i].not_after = INT64_MAX;
	}
	if (keyset != NULL) {
		if (n_keyset > TRUST_KEYS_MAX) {
			qd_errmsg_set(why, "%zu keys, more than the %d allowed", n_keyset,
			              TRUST_KEYS_MAX);
			return QD_ERR_TOO_LARGE;
		}
		memcpy(pool->keys + roots, keyset, n_keyset * sizeof(*keyset));
		pool->count = roots + n_keyset;
		return QD_OK;
	}
	rc = store_keys_load(store, pool->keys + roots, TRUST_KEYS_MAX, &keys);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot read the key set: %s", qd_err_name(rc));
		return rc;
	}
	pool->count = roots + keys;
	return QD_OK;
}

/* The first of keys[0..n) with msg's kid and alg that verifies it, or NULL. */
static const struct trust_key *find_key(const struct cose_sign1 *msg, const struct trust_key *keys,
                                        size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct trust_key *k = &keys[i];
		if (k->kid_len != msg->kid_len || memcmp(k->kid, msg->kid, msg->kid_len) != 0 ||
		    k->alg != msg->alg)
			continue;
		if (cose_sign1_verify(msg, NULL, 0, k->public_key, k->public_len) == QD_OK)
			return k;
	}
	return NULL;
}

static const struct trust_key *find_signer(const struct cose_sign1 *msg,
                                           const struct signer_pool *pool)
{
	return find_key(msg, pool->keys, pool->count);
}

/* A root verified by its own pinned key only: it must be the pinned version (a no-op). */
static enum qd_err check_root_again(struct store *store, const struct trustdoc *doc,
                                    struct qd_errmsg *why)
{
	uint64_t pinned = 0;
	if (store_root_version(store, &pinned) != QD_OK) {
		qd_errmsg_set(why, "cannot read the pinned root's version");
		return QD_ERR_STORE;
	}
	if (doc->header.type != TRUST_DOC_ROOT || doc->header.version != pinned) {
		qd_errmsg_set(why,
		              "a %s version %llu signed by the pinned root's own key only (pinned "
		              "root version %llu)",
		              trust_doc_type_name(doc->header.type),
		              (unsigned long long)doc->header.version, (unsigned long long)pinned);
		return QD_ERR_SIGNATURE;
	}
	return QD_OK;
}

/*
 * A new root is a COSE_Sign1 by a pinned root whose payload is a COSE_Sign1
 * by a key of the new root over the root document: the old and the new key
 * both vouch for it (docs/repository.md).  outer is verified by the caller;
 * here the inner signature, by a key the decoded root lists.
 */
static enum qd_err check_root_signatures(const struct cose_sign1 *inner, const struct trustdoc *doc,
                                         const struct trust_key *outer_signer,
                                         const struct signer_pool *pool, struct qd_errmsg *why)
{
	if (doc->header.type != TRUST_DOC_ROOT) {
		qd_errmsg_set(why, "a countersigned document must be a root, not a %s",
		              trust_doc_type_name(doc->header.type));
		return QD_ERR_FORMAT;
	}
	/* The outer signer must be a pinned root, not a root-role key of a key set. */
	if (outer_signer < pool->keys || outer_signer >= pool->keys + pool->n_roots) {
		qd_errmsg_set(why, "root version %llu is not signed by the pinned root",
		              (unsigned long long)doc->header.version);
		return QD_ERR_SIGNATURE;
	}
	if (find_key(inner, doc->body.root.keys, doc->body.root.count) == NULL) {
		qd_errmsg_set(why, "root version %llu is not signed by a key of its own",
		              (unsigned long long)doc->header.version);
		return QD_ERR_SIGNATURE;
	}
	return QD_OK;
}

/*
 * A body the list of types keeps whole must pass its row's check before it is stored (a
 * policy: it decodes as destination rules); a malformed one is refused here, so the desk
 * keeps the one it has.
 */
static enum qd_err check_body(const struct trust_doc_info *info, const struct trustdoc *doc,
                              size_t *entries, struct qd_errmsg *why)
{
	struct qd_errmsg inner = {{0}};
	bool delta = info->kind == TRUST_DOC_KIND_BODY_DELTA; /* its changes alone */
	enum qd_err rc =
	        info->check_body(delta ? doc->body.body_delta.changes : doc->body.blob.body,
	                         delta ? doc->body.body_delta.changes_len : doc->body.blob.body_len,
	                         entries, &inner);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s version %llu: %s", info->name,
		              (unsigned long long)doc->header.version, inner.text);
	return rc;
}

static enum qd_err apply(struct store *store, const struct trustdoc *doc,
                         const struct store_doc_meta *meta, struct import_result *res,
                         struct qd_errmsg *why)
{
	const struct trust_doc_info *info = trust_doc_info(doc->header.type);
	switch (info != NULL ? info->kind : (enum trust_doc_kind)0) {
	case TRUST_DOC_KIND_KEYS:
		res->entries = doc->body.keyset.count;
		return store_apply_keyset(store, meta, doc->body.keyset.keys,
		                          doc->body.keyset.count, &res->unchanged, why);
	case TRUST_DOC_KIND_REVOCATIONS: {
		const struct trustdoc_revocations *rv = &doc->body.revocations;
		res->entries = rv->count + rv->ranges.count;
		struct trust_range *ranges = malloc((rv->ranges.count + 1) * sizeof(*ranges));
		if (ranges == NULL)
			return QD_ERR_NOMEM;
		trustdoc_ranges_read(&rv->ranges, ranges);
		enum qd_err rc =
		        store_apply_revocations_ranges(store, meta, rv->hashes, rv->count, ranges,
		                                       rv->ranges.count, &res->unchanged, why);
		free(ranges);
		return rc;
	}
	case TRUST_DOC_KIND_BODY:
		return store_apply_document(store, meta, doc->body.blob.body,
		                            doc->body.blob.body_len, &res->unchanged, why);
	case TRUST_DOC_KIND_TIMESTAMP:
		res->entries = doc->body.timestamp.count;
		/* The timestamp's own bytes are its body: sync compares against them. */
		return store_apply_document(store, meta, NULL, 0, &res->unchanged, why);
	case TRUST_DOC_KIND_DELTA: {
		const struct trustdoc_revocations_delta *dv = &doc->body.delta;
		res->entries = dv->n_added + dv->n_removed + dv->ranges_added.count +
		               dv->ranges_removed.count;
		struct store_delta_ranges r = {
		        .n_added = dv->ranges_added.count,
		        .n_removed = dv->ranges_removed.count,
		};
		struct trust_range *lists = malloc((r.n_added + r.n_removed + 1) * sizeof(*lists));
		if (lists == NULL)
			return QD_ERR_NOMEM;
		trustdoc_ranges_read(&dv->ranges_added, lists);
		trustdoc_ranges_read(&dv->ranges_removed, lists + r.n_added);
		r.added = lists;
		r.removed = lists + r.n_added;
		enum qd_err rc = store_apply_revocations_delta_ranges(
		        store, meta, dv->base_version, dv->added, dv->n_added, dv->removed,
		        dv->n_removed, &r, &res->unchanged, why);
		free(lists);
		return rc;
	}
	case TRUST_DOC_KIND_BODY_DELTA:
		return store_apply_body_delta(store, meta, doc->body.body_delta.base_version,
		                              doc->body.body_delta.changes,
		                              doc->body.body_delta.changes_len, &res->unchanged,
		                              why);
	case TRUST_DOC_KIND_ROOT:
		res->entries = doc->body.root.count;
		return store_apply_root(store, meta, doc->body.root.keys, doc->body.root.count,
		                        &res->unchanged, why);
	}
	qd_errmsg_set(why, "unknown document type");
	return QD_ERR_FORMAT;
}

enum qd_err import_verify(struct store *store, const uint8_t *bytes, size_t len, int64_t clock_now,
                          const struct trust_key *keyset, size_t n_keyset,
                          struct import_verified *out, struct qd_errmsg *why)
{
	struct import_signers signers = {.keyset = keyset, .n_keyset = n_keyset};
	return import_verify_with(store, bytes, len, clock_now, &signers, out, why);
}

enum qd_err import_verify_with(struct store *store, const uint8_t *bytes, size_t len,
                               int64_t clock_now, const struct import_signers *signers,
                               struct import_verified *out, struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	struct import_result *result = &out->result;
	if (len > IMPORT_FILE_MAX) {
		qd_errmsg_set(why, "%zu bytes, more than the %u allowed", len, IMPORT_FILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct cose_sign1 msg;
	struct cose_error cerr;
	if (cose_sign1_parse(bytes, len, &msg, &cerr) != COSE_OK) {
		qd_errmsg_set(why, "not a signed qrdesk document (COSE_Sign1: %s%s%s)",
		              cose_status_name(cerr.status),
		              cerr.status == COSE_ERR_CBOR ? ", " : "",
		              cerr.status == COSE_ERR_CBOR ? cbor_status_name(cerr.cbor) : "");
		return QD_ERR_FORMAT;
	}
	if (msg.kid_len == 0) {
		qd_errmsg_set(why, "the document names no signing key (kid)");
		return QD_ERR_FORMAT;
	}

	struct signer_pool *pool = malloc(sizeof(*pool));
	if (pool == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = load_pool(store, signers, pool, why);
	if (rc != QD_OK)
		goto out;
	int64_t floor = 0;
	rc = store_time_floor_get(store, &floor);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot read the time floor: %s", qd_err_name(rc));
		goto out;
	}
	int64_t trusted = clock_now > floor ? clock_now : floor;

	char kid[2 * TRUST_KID_MAX + 1];
	hex_encode(msg.kid, msg.kid_len, kid, sizeof(kid));
	const struct trust_key *signer = find_signer(&msg, pool);
	/* A root offered again after the desk rotated to it (a bundle applied
	 * twice): its outer signer is no longer pinned, but its own key is. */
	struct cose_sign1 inner;
	bool nested = cose_sign1_parse(msg.payload, msg.payload_len, &inner, &cerr) == COSE_OK;
	bool again = false;
	if (signer == NULL && nested) {
		signer = find_key(&inner, pool->keys, pool->n_roots);
		again = signer != NULL;
	}
	if (signer == NULL) {
		qd_errmsg_set(why, "no pinned root or key-set key verifies the signature (kid %s)",
		              kid);
		rc = QD_ERR_SIGNATURE;
		goto out;
	}

	struct trustdoc *doc = malloc(sizeof(*doc));
	if (doc == NULL) {
		rc = QD_ERR_NOMEM;
		goto out;
	}
	/* A payload that is itself a COSE_Sign1: a root countersigned by its predecessor. */
	const struct cose_sign1 *body = nested ? &inner : &msg;
	rc = trustdoc_decode(body->payload, body->payload_len, doc, why);
	if (rc != QD_OK)
		goto out_doc;
	if (again) {
		rc = check_root_again(store, doc, why);
		if (rc != QD_OK)
			goto out_doc;
	} else if (nested) {
		rc = check_root_signatures(&inner, doc, signer, pool, why);
		if (rc != QD_OK)
			goto out_doc;
	} else if (doc->header.type == TRUST_DOC_ROOT) {
		qd_errmsg_set(why,
		              "root version %llu is signed by one key, not by the old and the "
		              "new root",
		              (unsigned long long)doc->header.version);
		rc = QD_ERR_SIGNATURE;
		goto out_doc;
	}
	const char *type_name = trust_doc_type_name(doc->header.type);
	enum key_role need = trust_doc_signer_role(doc->header.type);
	if (signer->role != need) {
		qd_errmsg_set(why, "a %s must be signed by a %s key, but key %s is a %s key",
		              type_name, key_role_name(need), kid, key_role_name(signer->role));
		rc = QD_ERR_ROLE;
		goto out_doc;
	}
	if (signer->status != KEY_STATUS_ACTIVE) {
		qd_errmsg_set(why, "signing key %s is revoked", kid);
		rc = QD_ERR_KEY;
		goto out_doc;
	}
	/* Pinned roots carry an unbounded window (the store gives them one); every
	 * other key, root-role or not, signs only inside its own window. */
	if (doc->header.issued_at < signer->not_before ||
	    doc->header.issued_at > signer->not_after) {
		qd_errmsg_set(why, "signing key %s was not valid at the signed time %lld", kid,
		              (long long)doc->header.issued_at);
		rc = QD_ERR_KEY;
		goto out_doc;
	}
	/* An intermediate root on the way to the newest may have expired (TUF 5.3). */
	bool judge_expiry = !(signers->intermediate_root && doc->header.type == TRUST_DOC_ROOT);
	if (judge_expiry && doc->header.expires_at <= trusted) {
		qd_errmsg_set(why, "%s version %llu expired at %lld (trusted time %lld)", type_name,
		              (unsigned long long)doc->header.version,
		              (long long)doc->header.expires_at, (long long)trusted);
		rc = QD_ERR_EXPIRED;
		goto out_doc;
	}
	/* The body is judged only once its signer, role and dates are known good. */
	const struct trust_doc_info *info = trust_doc_info(doc->header.type);
	if ((info->kind == TRUST_DOC_KIND_BODY || info->kind == TRUST_DOC_KIND_BODY_DELTA) &&
	    info->check_body != NULL) {
		rc = check_body(info, doc, &result->entries, why);
		if (rc != QD_OK)
			goto out_doc;
	}

	struct trust_freshness before;
	rc = store_freshness_get(store, doc->header.type, &before);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot read the installed %s: %s", type_name, qd_err_name(rc));
		goto out_doc;
	}
	out->meta = (struct store_doc_meta){
	        .type = doc->header.type,
	        .version = doc->header.version,
	        .signed_at = doc->header.issued_at,
	        .expires_at = doc->header.expires_at,
	};
	digest_sha256(bytes, len, out->meta.sha256);
	result->type = doc->header.type;
	result->version = doc->header.version;
	result->previous_version = before.present ? before.version : 0;
	result->signed_at = doc->header.issued_at;
	result->expires_at = doc->header.expires_at;
	memcpy(result->signer_kid, msg.kid, msg.kid_len);
	result->signer_kid_len = msg.kid_len;
	out->doc = doc;
	doc = NULL;
out_doc:
	free(doc);
out:
	free(pool);
	return rc;
}

enum qd_err import_apply(struct store *store, struct import_verified *v, struct qd_errmsg *why)
{
	if (v->doc == NULL) {
		qd_errmsg_set(why, "import_apply: nothing verified");
		return QD_ERR_ARG;
	}
	return apply(store, v->doc, &v->meta, &v->result, why);
}

void import_verified_release(struct import_verified *v)
{
	free(v->doc);
	v->doc = NULL;
}

enum qd_err import_document(struct store *store, const uint8_t *bytes, size_t len,
                            int64_t clock_now, struct import_result *result, struct qd_errmsg *why)
{
	struct import_verified v;
	enum qd_err rc = import_verify(store, bytes, len, clock_now, NULL, 0, &v, why);
	if (rc == QD_OK)
		rc = import_apply(store, &v, why);
	*result = v.result;
	import_verified_release(&v);
	return rc;
}

enum qd_err import_file(struct store *store, const char *path, int64_t clock_now,
                        struct import_result *result, struct qd_errmsg *why)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = file_read(path, IMPORT_FILE_MAX, &buf, &size, &inner);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "%s: %s", path, inner.text);
		return rc;
	}
	rc = import_document(store, buf, size, clock_now, result, &inner);
	free(buf);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, inner.text);
	return rc;
}

/* ---- signed things that are not trust documents ------------------------ */

enum qd_err import_verify_signer(struct store *store, const uint8_t *bytes, size_t len,
                                 const struct trust_key *keyset, size_t n_keyset,
                                 const enum key_role *roles, size_t n_roles, struct cose_sign1 *msg,
                                 struct trust_key *signer, struct qd_errmsg *why)
{
	memset(signer, 0, sizeof(*signer));
	if (len > IMPORT_FILE_MAX) {
		qd_errmsg_set(why, "%zu bytes, more than the %u allowed", len, IMPORT_FILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct cose_error cerr;
	if (cose_sign1_parse(bytes, len, msg, &cerr) != COSE_OK) {
		qd_errmsg_set(why, "not a signed qrdesk file (COSE_Sign1: %s%s%s)",
		              cose_status_name(cerr.status),
		              cerr.status == COSE_ERR_CBOR ? ", " : "",
		              cerr.status == COSE_ERR_CBOR ? cbor_status_name(cerr.cbor) : "");
		return QD_ERR_FORMAT;
	}
	if (msg->kid_len == 0) {
		qd_errmsg_set(why, "the file names no signing key (kid)");
		return QD_ERR_FORMAT;
	}
	struct signer_pool *pool = malloc(sizeof(*pool));
	if (pool == NULL)
		return QD_ERR_NOMEM;
	const struct import_signers signers = {.keyset = keyset, .n_keyset = n_keyset};
	enum qd_err rc = load_pool(store, &signers, pool, why);
	char kid[2 * TRUST_KID_MAX + 1];
	hex_encode(msg->kid, msg->kid_len, kid, sizeof(kid));
	const struct trust_key *found = rc == QD_OK ? find_signer(msg, pool) : NULL;
	if (rc == QD_OK && found == NULL) {
		qd_errmsg_set(why, "no pinned root or key-set key verifies the signature (kid %s)",
		              kid);
		rc = QD_ERR_SIGNATURE;
	}
	if (rc == QD_OK) {
		bool role_ok = false;
		for (size_t i = 0; i < n_roles; i++)
			role_ok = role_ok || found->role == roles[i];
		if (!role_ok) {
			qd_errmsg_set(why, "signed by key %s, a %s key: not allowed to sign this",
			              kid, key_role_name(found->role));
			rc = QD_ERR_ROLE;
		} else if (found->status != KEY_STATUS_ACTIVE) {
			qd_errmsg_set(why, "signing key %s is revoked", kid);
			rc = QD_ERR_KEY;
		} else {
			*signer = *found;
		}
	}
	free(pool);
	return rc;
}
