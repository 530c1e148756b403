/*
 * publish.c - signing for the back office: cards (domain_sign_card) and the
 * four trust documents desks import (domain_publish).  Shared by
 * qrdesk-issuer and by qrdeskd --demo, so demo data is made exactly as the
 * back office makes real data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "qrdesk/policy.h"
#include "qrdesk/base45.h"
#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/trustdoc.h"
#include "toolutil.h"

#define DAY (24LL * 3600)

void domain_publish_days_defaults(long days[DOMAIN_DOC_TYPES])
{
	days[0] = 0;
	days[TRUST_DOC_KEYSET] = 365;
	days[TRUST_DOC_REVOCATIONS] = 7;
	days[TRUST_DOC_POLICY] = 30;
	days[TRUST_DOC_TIMESTAMP] = 1;
}

enum qd_err domain_sign_card(const struct domain *d, size_t index, const struct credential *cred,
                             char *text, size_t cap, size_t *cose_len, struct qd_errmsg *why)
{
	uint8_t payload[1024];
	size_t payload_len;
	enum qd_err rc = credential_encode(cred, payload, sizeof(payload), &payload_len, why);
	if (rc != QD_OK)
		return rc;
	struct signature_keypair kp;
	rc = domain_keypair(d, index, &kp, why);
	if (rc != QD_OK)
		return rc;
	uint8_t cose[1200];
	rc = cose_sign1_sign(&kp, d->keys[index].kid, d->keys[index].kid_len, payload, payload_len,
	                     cose, sizeof(cose), cose_len);
	signature_keypair_wipe(&kp);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "signing failed: %s", qd_err_name(rc));
		return rc;
	}
	size_t text_len;
	if (cap < CREDENTIAL_PREFIX_LEN + base45_encoded_len(*cose_len) + 1) {
		qd_errmsg_set(why, "code text needs more room");
		return QD_ERR_TOO_LARGE;
	}
	memcpy(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN);
	base45_encode(cose, *cose_len, text + CREDENTIAL_PREFIX_LEN, cap - CREDENTIAL_PREFIX_LEN,
	              &text_len);
	text[CREDENTIAL_PREFIX_LEN + text_len] = '\0';
	return QD_OK;
}

/* Sign payload with the domain's key of role and write OUTDIR/name atomically. */
static enum qd_err sign_and_write(const struct domain *d, enum key_role role, int64_t now,
                                  const char *outdir, const char *name, const uint8_t *payload,
                                  size_t payload_len, struct trustdoc_timestamp_entry *entry,
                                  struct qd_errmsg *why)
{
	int index = domain_pick_key(d, role, 0, now);
	if (index < 0) {
		qd_errmsg_set(why, "no active %s key to sign %s", key_role_name(role), name);
		return QD_ERR_NOT_FOUND;
	}
	struct signature_keypair kp;
	enum qd_err rc = domain_keypair(d, (size_t)index, &kp, why);
	if (rc != QD_OK)
		return rc;
	size_t cap = cose_sign1_encoded_len(d->keys[index].kid_len, payload_len);
	uint8_t *cose = malloc(cap);
	size_t len = 0;
	rc = cose == NULL ? QD_ERR_NOMEM
	                  : cose_sign1_sign(&kp, d->keys[index].kid, d->keys[index].kid_len,
	                                    payload, payload_len, cose, cap, &len);
	signature_keypair_wipe(&kp);
	if (rc == QD_OK) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", outdir, name);
		rc = tool_write_file_atomic(path, cose, len, 0644, why);
		if (entry != NULL) {
			entry->length = len;
			digest_sha256(cose, len, entry->sha256);
		}
	} else {
		qd_errmsg_set(why, "signing %s failed: %s", name, qd_err_name(rc));
	}
	free(cose);
	return rc;
}

/* Encode with a counting pass, then for real. */
typedef void (*encode_fn)(struct cbor_writer *w, const void *arg);

static uint8_t *encode_alloc(encode_fn fn, const void *arg, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	fn(&w, arg);
	uint8_t *buf = malloc(w.len > 0 ? w.len : 1);
	if (buf == NULL)
		return NULL;
	size_t need = w.len;
	cbor_writer_init(&w, buf, need);
	fn(&w, arg);
	*len = w.len;
	return buf;
}

struct publish_ctx {
	struct trustdoc_header header;
	const struct domain *d;
	const uint8_t *hashes;
	size_t n_hashes;
	const uint8_t *policy;
	size_t policy_len;
	struct trustdoc_timestamp ts;
};

static void enc_keyset(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	/* Desks get every key but the roots: roots are pinned, not listed. */
	struct trust_key keys[TRUST_KEYS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < p->d->n_keys; i++)
		if (p->d->keys[i].role != KEY_ROLE_ROOT)
			keys[n++] = p->d->keys[i];
	trustdoc_encode_keyset(w, &p->header, keys, n);
}

static void enc_revocations(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_revocations(w, &p->header, p->hashes, p->n_hashes);
}

static void enc_policy(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_policy(w, &p->header, p->policy, p->policy_len);
}

static void enc_timestamp(struct cbor_writer *w, const void *arg)
{
	const struct publish_ctx *p = arg;
	trustdoc_encode_timestamp(w, &p->header, &p->ts);
}

enum qd_err domain_publish(struct domain *d, const char *outdir, const long days[DOMAIN_DOC_TYPES],
                           int64_t now, struct domain_publication *pub, struct qd_errmsg *why)
{
	memset(pub, 0, sizeof(*pub));
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		qd_errmsg_set(why, "%s: %s", outdir, strerror(errno));
		return QD_ERR_IO;
	}
	struct publish_ctx *p = calloc(1, sizeof(*p));
	uint8_t *hashes = NULL, *policy = NULL;
	size_t policy_len = 0;
	enum qd_err rc = p ? domain_revocations_load(d, &hashes, &p->n_hashes, why) : QD_ERR_NOMEM;
	if (rc == QD_OK) {
		char path[4096];
		domain_path(d, "policy.cbor", path, sizeof(path));
		rc = tool_read_file(path, POLICY_BODY_MAX, &policy, &policy_len, why);
		if (rc == QD_OK) {
			/* Never sign what desks will refuse: a refused policy would hold back
			 * the revocation list published with it on every desk. */
			struct policy *check = malloc(sizeof(*check));
			struct qd_errmsg bad = {{0}};
			rc = check ? policy_decode(policy, policy_len, check, &bad) : QD_ERR_NOMEM;
			if (rc != QD_OK && rc != QD_ERR_NOMEM)
				qd_errmsg_set(why,
				              "%s: %s (set the policy with `qrdesk-issuer policy`)",
				              path, bad.text);
			free(check);
		} else if (rc == QD_ERR_NOT_FOUND) {
			/* No policy yet: publish "no destination rules", {1: []}. */
			static const uint8_t empty_rules[] = {0xa1, 0x01, 0x80};
			policy = malloc(sizeof(empty_rules));
			rc = policy ? QD_OK : QD_ERR_NOMEM;
			if (policy)
				memcpy(policy, empty_rules, sizeof(empty_rules));
			policy_len = sizeof(empty_rules);
		}
	}
	if (rc != QD_OK)
		goto out;
	p->d = d;
	p->hashes = hashes;
	p->policy = policy;
	p->policy_len = policy_len;

	static const struct {
		enum trust_doc_type type;
		const char *file;
		encode_fn fn;
	} docs[] = {
	        {TRUST_DOC_KEYSET, "keyset.cose", enc_keyset},
	        {TRUST_DOC_REVOCATIONS, "revocations.cose", enc_revocations},
	        {TRUST_DOC_POLICY, "policy.cose", enc_policy},
	        {TRUST_DOC_TIMESTAMP, "timestamp.cose", enc_timestamp},
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		enum trust_doc_type type = docs[i].type;
		/* Every publish is a new version of everything: a re-signed file with a
		 * later expiry must be installable, and versions only go up. */
		d->versions[type]++;
		p->header = (struct trustdoc_header){type, d->versions[type], now,
		                                     now + days[type] * DAY};
		size_t len = 0;
		uint8_t *payload = encode_alloc(docs[i].fn, p, &len);
		if (payload == NULL) {
			rc = QD_ERR_NOMEM;
			goto out;
		}
		struct trustdoc_timestamp_entry *entry = NULL;
		if (type != TRUST_DOC_TIMESTAMP) {
			entry = &p->ts.entries[p->ts.count++];
			entry->type = type;
			entry->version = d->versions[type];
		}
		rc = sign_and_write(d, trust_doc_signer_role(type), now, outdir, docs[i].file,
		                    payload, len, entry, why);
		free(payload);
		if (rc != QD_OK)
			goto out;
		pub->files[pub->count].name = docs[i].file;
		pub->files[pub->count].version = d->versions[type];
		pub->files[pub->count].days = days[type];
		pub->count++;
	}
	rc = domain_save(d, why);
out:
	free(hashes);
	free(policy);
	free(p);
	return rc;
}
