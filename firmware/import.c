/*
 * import.c - the single way trust data enters a desk: verify, then apply.
 * See import.h for the steps.  Nothing reaches the store before the
 * signature, the signer's role and window, and the payload all check out.
 */
#include "qrdesk/hex.h"
#include "qrdesk/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/policy.h"
#include "qrdesk/signature.h"
#include "qrdesk/trustdoc.h"

/* Pinned roots and key-set keys, the candidates for a document's signer. */
struct signer_pool {
	struct trust_key keys[TRUST_KEYS_MAX * 2];
	size_t count;
};

static enum qd_err load_pool(struct store *store, const struct trust_key *keyset, size_t n_keyset,
                             struct signer_pool *pool, struct qd_errmsg *why)
{
	size_t roots = 0, keys = 0;
	enum qd_err rc = store_roots_load(store, pool->keys, TRUST_KEYS_MAX, &roots);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot read pinned roots: %s", qd_err_name(rc));
		return rc;
	}
	if (roots == 0) {
		qd_errmsg_set(why,
		              "the store has no pinned root key: run qrdeskctl provision first");
		return QD_ERR_NOT_PROVISIONED;
	}
	for (size_t i = 0; i < roots; i++)
		pool->keys[i].role = KEY_ROLE_ROOT;
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

/* The first pool key with msg's kid and alg that verifies it, or NULL. */
static const struct trust_key *find_signer(const struct cose_sign1 *msg,
                                           const struct signer_pool *pool)
{
	for (size_t i = 0; i < pool->count; i++) {
		const struct trust_key *k = &pool->keys[i];
		if (k->kid_len != msg->kid_len || memcmp(k->kid, msg->kid, msg->kid_len) != 0 ||
		    k->alg != msg->alg)
			continue;
		if (cose_sign1_verify(msg, NULL, 0, k->public_key, k->public_len) == QD_OK)
			return k;
	}
	return NULL;
}

/*
 * A policy body must decode as destination rules before it is stored: a
 * malformed one is refused here, so the desk keeps the policy it has.
 */
static enum qd_err check_policy_body(const struct trustdoc *doc, size_t *rules,
                                     struct qd_errmsg *why)
{
	struct policy *policy = malloc(sizeof(*policy));
	if (policy == NULL)
		return QD_ERR_NOMEM;
	struct qd_errmsg inner = {{0}};
	enum qd_err rc =
	        policy_decode(doc->body.policy.body, doc->body.policy.body_len, policy, &inner);
	*rules = policy->n_rules;
	free(policy);
	if (rc != QD_OK)
		qd_errmsg_set(why, "policy version %llu: %s",
		              (unsigned long long)doc->header.version, inner.text);
	return rc;
}

static enum qd_err apply(struct store *store, const struct trustdoc *doc,
                         const struct store_doc_meta *meta, struct import_result *res,
                         struct qd_errmsg *why)
{
	switch (doc->header.type) {
	case TRUST_DOC_KEYSET:
		res->entries = doc->body.keyset.count;
		return store_apply_keyset(store, meta, doc->body.keyset.keys,
		                          doc->body.keyset.count, &res->unchanged, why);
	case TRUST_DOC_REVOCATIONS:
		res->entries = doc->body.revocations.count;
		return store_apply_revocations(store, meta, doc->body.revocations.hashes,
		                               doc->body.revocations.count, &res->unchanged, why);
	case TRUST_DOC_POLICY:
		return store_apply_document(store, meta, doc->body.policy.body,
		                            doc->body.policy.body_len, &res->unchanged, why);
	case TRUST_DOC_TIMESTAMP:
		res->entries = doc->body.timestamp.count;
		/* The timestamp's own bytes are its body: sync compares against them. */
		return store_apply_document(store, meta, NULL, 0, &res->unchanged, why);
	}
	qd_errmsg_set(why, "unknown document type");
	return QD_ERR_FORMAT;
}

enum qd_err import_verify(struct store *store, const uint8_t *bytes, size_t len, int64_t clock_now,
                          const struct trust_key *keyset, size_t n_keyset,
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
	enum qd_err rc = load_pool(store, keyset, n_keyset, pool, why);
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
	rc = trustdoc_decode(msg.payload, msg.payload_len, doc, why);
	if (rc != QD_OK)
		goto out_doc;
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
	if (doc->header.expires_at <= trusted) {
		qd_errmsg_set(why, "%s version %llu expired at %lld (trusted time %lld)", type_name,
		              (unsigned long long)doc->header.version,
		              (long long)doc->header.expires_at, (long long)trusted);
		rc = QD_ERR_EXPIRED;
		goto out_doc;
	}
	/* The body is judged only once its signer, role and dates are known good. */
	if (doc->header.type == TRUST_DOC_POLICY) {
		rc = check_policy_body(doc, &result->entries, why);
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int saved = errno;
		qd_errmsg_set(why, "%s: %s", path, strerror(saved));
		return saved == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		qd_errmsg_set(why, "%s: not a regular file", path);
		close(fd);
		return QD_ERR_IO;
	}
	if ((uint64_t)st.st_size > IMPORT_FILE_MAX) {
		qd_errmsg_set(why, "%s: %lld bytes, more than the %u allowed", path,
		              (long long)st.st_size, IMPORT_FILE_MAX);
		close(fd);
		return QD_ERR_TOO_LARGE;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		close(fd);
		return QD_ERR_NOMEM;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			qd_errmsg_set(why, "%s: read failed after %zu bytes: %s", path, got,
			              n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return QD_ERR_IO;
		}
		got += (size_t)n;
	}
	close(fd);
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = import_document(store, buf, size, clock_now, result, &inner);
	free(buf);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, inner.text);
	return rc;
}

/* ---- signed things that are not trust documents (branch usb) ------------ */

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
	enum qd_err rc = load_pool(store, keyset, n_keyset, pool, why);
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
