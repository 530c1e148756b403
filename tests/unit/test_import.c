/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_import.c - the one path by which trust data enters a desk: a tiny
 * trust domain built in-process (root, issuer, repository and update keys),
 * documents signed with COSE_Sign1, imported into a real store.  Every
 * refusal is checked for its exact code and for leaving the store as it was.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/digest.h"
#include "qrdesk/import.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/trust.h"
#include "qrdesk/trustdoc.h"
#include "qrdesk/usedlist.h"

#define NOW 1795000000
#define DAY 86400

struct actor {
	struct signature_keypair kp;
	struct trust_key key;
};

struct fx {
	char *dir;
	char path[4096];
	struct store *store;
	struct actor root, issuer, repo, update;
	struct actor repo_revoked; /* in the key set, status revoked */
	struct actor repo_window;  /* in the key set, valid NOW - DAY .. NOW + DAY only */
	struct actor stranger;     /* a repository key the desk never heard of */
};

static void make_actor(struct actor *a, int64_t alg, enum key_role role, enum key_status status,
                       int64_t not_before, int64_t not_after)
{
	assert_int_equal(signature_keypair_generate(alg, &a->kp), QD_OK);
	memset(&a->key, 0, sizeof(a->key));
	a->key.alg = alg;
	a->key.role = role;
	a->key.status = status;
	memcpy(a->key.public_key, a->kp.pub, a->kp.pub_len);
	a->key.public_len = (uint8_t)a->kp.pub_len;
	trust_kid_derive(a->kp.pub, a->kp.pub_len, a->key.kid);
	a->key.kid_len = TRUST_KID_DEFAULT_LEN;
	a->key.not_before = not_before;
	a->key.not_after = not_after;
}

static int group_setup(void **state)
{
	(void)state;
	return signature_init() == QD_OK ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	int64_t from = NOW - 365 * DAY, to = NOW + 365 * DAY;
	make_actor(&fx->root, SIGNATURE_ALG_EDDSA, KEY_ROLE_ROOT, KEY_STATUS_ACTIVE, 0, INT64_MAX);
	make_actor(&fx->issuer, SIGNATURE_ALG_ES256, KEY_ROLE_ISSUER, KEY_STATUS_ACTIVE, from, to);
	make_actor(&fx->repo, SIGNATURE_ALG_EDDSA, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE, from,
	           to);
	make_actor(&fx->update, SIGNATURE_ALG_EDDSA, KEY_ROLE_UPDATE, KEY_STATUS_ACTIVE, from, to);
	make_actor(&fx->repo_revoked, SIGNATURE_ALG_ES256, KEY_ROLE_REPOSITORY, KEY_STATUS_REVOKED,
	           from, to);
	make_actor(&fx->repo_window, SIGNATURE_ALG_EDDSA, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE,
	           NOW - DAY, NOW + DAY);
	make_actor(&fx->stranger, SIGNATURE_ALG_EDDSA, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE, from,
	           to);
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/trust.db", fx->dir);
	struct qd_errmsg why = {{0}};
	enum qd_err rc = store_open(fx->path, STORE_OPEN_CREATE, &fx->store, &why);
	if (rc != QD_OK)
		fail_msg("store_open: %s: %s", qd_err_name(rc), why.text);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_close(fx->store);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static void pin_root(struct fx *fx)
{
	struct trust_key root = fx->root.key;
	root.role = KEY_ROLE_ROOT;
	root.not_before = 0;
	root.not_after = INT64_MAX;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = store_root_pin(fx->store, &root, &why);
	if (rc != QD_OK)
		fail_msg("store_root_pin: %s: %s", qd_err_name(rc), why.text);
}

/* ---- documents --------------------------------------------------------- */

struct doc_input {
	struct trustdoc_header h;
	const struct trust_key *keys;
	size_t n_keys;
	const uint8_t *hashes;
	size_t n_hashes;
	const struct trustdoc_timestamp *ts;
	const uint8_t *body;
	size_t body_len;
	const struct trustdoc_revocations_delta *delta;
	const struct trustdoc_body_delta *body_delta;
};

static void encode_into(struct cbor_writer *w, const struct doc_input *in)
{
	switch (in->h.type) {
	case TRUST_DOC_KEYSET:
		trustdoc_encode_keyset(w, &in->h, in->keys, in->n_keys);
		break;
	case TRUST_DOC_REVOCATIONS:
		trustdoc_encode_revocations(w, &in->h, in->hashes, in->n_hashes);
		break;
	case TRUST_DOC_TIMESTAMP:
		trustdoc_encode_timestamp(w, &in->h, in->ts);
		break;
	case TRUST_DOC_POLICY:
		trustdoc_encode_policy(w, &in->h, in->body, in->body_len);
		break;
	case TRUST_DOC_AIRPORTS:
	case TRUST_DOC_DESKS:
	case TRUST_DOC_USED:
		trustdoc_encode_body(w, &in->h, in->body, in->body_len);
		break;
	case TRUST_DOC_REVOCATIONS_DELTA:
		trustdoc_encode_revocations_delta(w, &in->h, in->delta);
		break;
	case TRUST_DOC_USED_DELTA:
		trustdoc_encode_body_delta(w, &in->h, in->body_delta);
		break;
	case TRUST_DOC_ROOT:
		trustdoc_encode_root(w, &in->h, in->keys, in->n_keys);
		break;
	}
}

static uint8_t *encode_payload(const struct doc_input *in, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	encode_into(&w, in);
	size_t need = w.len;
	uint8_t *buf = malloc(need);
	assert_non_null(buf);
	cbor_writer_init(&w, buf, need);
	encode_into(&w, in);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	*len = w.len;
	return buf;
}

/* COSE_Sign1 over payload by signer, naming kid (kid_len may be 0). */
static uint8_t *sign_with_kid(const struct actor *signer, const uint8_t *kid, size_t kid_len,
                              const uint8_t *payload, size_t len, size_t *out_len)
{
	size_t cap = cose_sign1_encoded_len(kid_len, len);
	uint8_t *out = malloc(cap);
	assert_non_null(out);
	assert_int_equal(
	        cose_sign1_sign(&signer->kp, kid, kid_len, payload, len, out, cap, out_len), QD_OK);
	assert_true(*out_len <= cap);
	return out;
}

static uint8_t *sign_payload(const struct actor *signer, const uint8_t *payload, size_t len,
                             size_t *out_len)
{
	return sign_with_kid(signer, signer->key.kid, signer->key.kid_len, payload, len, out_len);
}

static uint8_t *signed_doc(const struct actor *signer, const struct doc_input *in, size_t *len)
{
	size_t plen = 0;
	uint8_t *payload = encode_payload(in, &plen);
	uint8_t *doc = sign_payload(signer, payload, plen, len);
	free(payload);
	return doc;
}

static struct trustdoc_header header(enum trust_doc_type type, uint64_t version, int64_t signed_at,
                                     int64_t expires_at)
{
	struct trustdoc_header h = {
	        .type = type, .version = version, .issued_at = signed_at, .expires_at = expires_at};
	return h;
}

#define KEYSET_KEYS 5

static void keyset_keys(const struct fx *fx, struct trust_key keys[KEYSET_KEYS])
{
	keys[0] = fx->issuer.key;
	keys[1] = fx->repo.key;
	keys[2] = fx->update.key;
	keys[3] = fx->repo_revoked.key;
	keys[4] = fx->repo_window.key;
}

static uint8_t *keyset_doc(const struct fx *fx, const struct actor *signer, uint64_t version,
                           int64_t signed_at, int64_t expires_at, size_t *len)
{
	struct trust_key keys[KEYSET_KEYS];
	keyset_keys(fx, keys);
	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, version, signed_at, expires_at),
	                       .keys = keys,
	                       .n_keys = KEYSET_KEYS};
	return signed_doc(signer, &in, len);
}

/* n sorted clearance hashes, the first of "BMET-<salt>-0". */
static uint8_t *sorted_hashes(size_t n, unsigned salt)
{
	uint8_t *h = malloc(n > 0 ? n * TRUST_HASH_LEN : 1);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++) {
		char no[48];
		snprintf(no, sizeof(no), "BMET-%u-%zu", salt, i);
		credential_clearance_hash(no, h + i * TRUST_HASH_LEN);
	}
	/* insertion sort: n is small */
	uint8_t tmp[TRUST_HASH_LEN];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && memcmp(h + (j - 1) * TRUST_HASH_LEN,
		                                   h + j * TRUST_HASH_LEN, TRUST_HASH_LEN) > 0;
		     j--) {
			memcpy(tmp, h + j * TRUST_HASH_LEN, TRUST_HASH_LEN);
			memcpy(h + j * TRUST_HASH_LEN, h + (j - 1) * TRUST_HASH_LEN,
			       TRUST_HASH_LEN);
			memcpy(h + (j - 1) * TRUST_HASH_LEN, tmp, TRUST_HASH_LEN);
		}
	return h;
}

static uint8_t *revocations_doc(const struct actor *signer, uint64_t version, int64_t signed_at,
                                int64_t expires_at, size_t n, size_t *len)
{
	uint8_t *hashes = sorted_hashes(n, (unsigned)version);
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, version, signed_at, expires_at),
	                       .hashes = hashes,
	                       .n_hashes = n};
	uint8_t *doc = signed_doc(signer, &in, len);
	free(hashes);
	return doc;
}

/* ---- store snapshots --------------------------------------------------- */

struct snapshot {
	struct trust_freshness fresh[5]; /* by enum trust_doc_type */
	uint64_t revocations;
	int64_t floor;
	struct trust_key keys[TRUST_KEYS_MAX];
	size_t n_keys;
	size_t n_roots;
};

static void take_snapshot(struct store *store, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int t = TRUST_DOC_KEYSET; t <= TRUST_DOC_TIMESTAMP; t++)
		assert_int_equal(store_freshness_get(store, (enum trust_doc_type)t, &s->fresh[t]),
		                 QD_OK);
	assert_int_equal(store_revocation_count(store, &s->revocations), QD_OK);
	assert_int_equal(store_time_floor_get(store, &s->floor), QD_OK);
	assert_int_equal(store_keys_load(store, s->keys, TRUST_KEYS_MAX, &s->n_keys), QD_OK);
	struct trust_key roots[4];
	assert_int_equal(store_roots_load(store, roots, 4, &s->n_roots), QD_OK);
}

static void assert_key_equal(const struct trust_key *want, const struct trust_key *got)
{
	assert_int_equal(got->kid_len, want->kid_len);
	assert_memory_equal(got->kid, want->kid, want->kid_len);
	assert_int_equal(got->alg, want->alg);
	assert_int_equal(got->role, want->role);
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->public_len, want->public_len);
	assert_memory_equal(got->public_key, want->public_key, want->public_len);
	assert_int_equal(got->not_before, want->not_before);
	assert_int_equal(got->not_after, want->not_after);
}

static void assert_same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
	for (int t = TRUST_DOC_KEYSET; t <= TRUST_DOC_TIMESTAMP; t++) {
		assert_int_equal(a->fresh[t].present, b->fresh[t].present);
		assert_int_equal(a->fresh[t].version, b->fresh[t].version);
		assert_int_equal(a->fresh[t].signed_at, b->fresh[t].signed_at);
		assert_int_equal(a->fresh[t].expires_at, b->fresh[t].expires_at);
	}
	assert_int_equal(a->revocations, b->revocations);
	assert_int_equal(a->floor, b->floor);
	assert_int_equal(a->n_keys, b->n_keys);
	for (size_t i = 0; i < a->n_keys; i++)
		assert_key_equal(&a->keys[i], &b->keys[i]);
	assert_int_equal(a->n_roots, b->n_roots);
}

/* ---- importing --------------------------------------------------------- */

static void import_ok(struct fx *fx, const uint8_t *doc, size_t len, int64_t clock,
                      struct import_result *res)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc = import_document(fx->store, doc, len, clock, res, &why);
	if (rc != QD_OK)
		fail_msg("import_document: %s: %s", qd_err_name(rc), why.text);
}

/* The import is refused with exactly want, says why, and the store is as it was. */
static void expect_refused(struct fx *fx, const char *label, const uint8_t *doc, size_t len,
                           int64_t clock, enum qd_err want)
{
	struct snapshot *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	assert_non_null(before);
	assert_non_null(after);
	take_snapshot(fx->store, before);
	struct import_result res;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = import_document(fx->store, doc, len, clock, &res, &why);
	if (rc != want) {
		free(before);
		free(after);
		fail_msg("%s: %s (\"%s\"), want %s", label, qd_err_name(rc), why.text,
		         qd_err_name(want));
	}
	assert_true(why.text[0] != '\0');
	take_snapshot(fx->store, after);
	assert_same_snapshot(before, after);
	free(before);
	free(after);
}

/* Pin the root and install key set version 1 (signed a week ago, for a year). */
static void provision(struct fx *fx)
{
	pin_root(fx);
	size_t len = 0;
	uint8_t *doc = keyset_doc(fx, &fx->root, 1, NOW - 7 * DAY, NOW + 365 * DAY, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
}

/* ---- tests ------------------------------------------------------------- */

static void test_not_provisioned(void **state)
{
	struct fx *fx = *state;
	size_t len = 0;
	uint8_t *doc = keyset_doc(fx, &fx->root, 1, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "keyset before provisioning", doc, len, NOW, QD_ERR_NOT_PROVISIONED);
	free(doc);
	doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 3, &len);
	expect_refused(fx, "revocations before provisioning", doc, len, NOW,
	               QD_ERR_NOT_PROVISIONED);
	free(doc);
}

static void test_keyset_by_root(void **state)
{
	struct fx *fx = *state;
	pin_root(fx);
	size_t len = 0;
	uint8_t *doc = keyset_doc(fx, &fx->root, 1, NOW - DAY, NOW + 30 * DAY, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.type, TRUST_DOC_KEYSET);
	assert_int_equal(res.version, 1);
	assert_int_equal(res.previous_version, 0);
	assert_false(res.unchanged);
	assert_int_equal(res.entries, KEYSET_KEYS);
	assert_int_equal(res.signed_at, NOW - DAY);
	assert_int_equal(res.expires_at, NOW + 30 * DAY);
	assert_int_equal(res.signer_kid_len, fx->root.key.kid_len);
	assert_memory_equal(res.signer_kid, fx->root.key.kid, fx->root.key.kid_len);

	struct snapshot *s = malloc(sizeof(*s));
	assert_non_null(s);
	take_snapshot(fx->store, s);
	assert_true(s->fresh[TRUST_DOC_KEYSET].present);
	assert_int_equal(s->fresh[TRUST_DOC_KEYSET].version, 1);
	assert_int_equal(s->fresh[TRUST_DOC_KEYSET].signed_at, NOW - DAY);
	assert_int_equal(s->fresh[TRUST_DOC_KEYSET].expires_at, NOW + 30 * DAY);
	assert_false(s->fresh[TRUST_DOC_REVOCATIONS].present);
	struct trust_key keys[KEYSET_KEYS];
	keyset_keys(fx, keys);
	assert_int_equal(s->n_keys, KEYSET_KEYS);
	for (size_t i = 0; i < KEYSET_KEYS; i++)
		assert_key_equal(&keys[i], &s->keys[i]);

	/* The same document again: accepted, nothing changes. */
	memset(&res, 0x5a, sizeof(res));
	import_ok(fx, doc, len, NOW, &res);
	assert_true(res.unchanged);
	assert_int_equal(res.type, TRUST_DOC_KEYSET);
	assert_int_equal(res.version, 1);
	assert_int_equal(res.previous_version, 1);
	struct snapshot *again = malloc(sizeof(*again));
	assert_non_null(again);
	take_snapshot(fx->store, again);
	assert_same_snapshot(s, again);
	free(doc);

	/* Version 2 replaces it and reports version 1 as the previous one. */
	doc = keyset_doc(fx, &fx->root, 2, NOW, NOW + 30 * DAY, &len);
	import_ok(fx, doc, len, NOW, &res);
	assert_false(res.unchanged);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.previous_version, 1);
	take_snapshot(fx->store, again);
	assert_int_equal(again->fresh[TRUST_DOC_KEYSET].version, 2);
	free(doc);
	free(s);
	free(again);
}

static void test_revocations_by_repository(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 3, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.type, TRUST_DOC_REVOCATIONS);
	assert_int_equal(res.version, 1);
	assert_int_equal(res.previous_version, 0);
	assert_int_equal(res.entries, 3);
	assert_false(res.unchanged);
	assert_memory_equal(res.signer_kid, fx->repo.key.kid, fx->repo.key.kid_len);
	uint64_t count = 0;
	assert_int_equal(store_revocation_count(fx->store, &count), QD_OK);
	assert_int_equal(count, 3);
	uint8_t *hashes = sorted_hashes(3, 1);
	for (size_t i = 0; i < 3; i++) {
		bool revoked = false;
		assert_int_equal(
		        store_revocation_contains(fx->store, hashes + i * TRUST_HASH_LEN, &revoked),
		        QD_OK);
		assert_true(revoked);
	}
	free(hashes);
	free(doc);

	/* Version 2 replaces the list entirely; an empty list is a list. */
	doc = revocations_doc(&fx->repo, 2, NOW, NOW + DAY, 0, &len);
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.previous_version, 1);
	assert_int_equal(res.entries, 0);
	assert_int_equal(store_revocation_count(fx->store, &count), QD_OK);
	assert_int_equal(count, 0);
	free(doc);
}

static void test_policy_and_timestamp(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	static const uint8_t body[] = {0xa1, 0x01, 0x80}; /* {1: []}: no destination rules */
	struct doc_input in = {.h = header(TRUST_DOC_POLICY, 3, NOW - DAY, NOW + DAY),
	                       .body = body,
	                       .body_len = sizeof(body)};
	size_t len = 0;
	uint8_t *doc = signed_doc(&fx->repo, &in, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.type, TRUST_DOC_POLICY);
	assert_int_equal(res.version, 3);
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_POLICY, &blob, &blob_len), QD_OK);
	assert_int_equal(blob_len, sizeof(body));
	assert_memory_equal(blob, body, sizeof(body));
	free(blob);
	free(doc);

	struct trustdoc_timestamp ts;
	memset(&ts, 0, sizeof(ts));
	ts.count = 2;
	ts.entries[0].type = TRUST_DOC_KEYSET;
	ts.entries[0].version = 1;
	ts.entries[1].type = TRUST_DOC_POLICY;
	ts.entries[1].version = 3;
	struct doc_input tin = {.h = header(TRUST_DOC_TIMESTAMP, 9, NOW, NOW + 3600), .ts = &ts};
	doc = signed_doc(&fx->repo, &tin, &len);
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.type, TRUST_DOC_TIMESTAMP);
	assert_int_equal(res.entries, 2);
	free(doc);

	/* Both need the repository role. */
	doc = signed_doc(&fx->issuer, &in, &len);
	expect_refused(fx, "policy by issuer", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	tin.h.version = 10;
	doc = signed_doc(&fx->root, &tin, &len);
	expect_refused(fx, "timestamp by root", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
}

/* A policy body with one rule: {1: [{1: id, 4: {1: age_min}, 5: en, 6: bn}]}. */
static size_t one_rule_policy(uint8_t *out, size_t cap, const char *id, unsigned age_min)
{
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, 1);
	cbor_put_array(&w, 1);
	cbor_put_map(&w, 4);
	cbor_put_uint(&w, 1);
	cbor_put_cstr(&w, id);
	cbor_put_uint(&w, 4);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, 1);
	cbor_put_uint(&w, age_min);
	cbor_put_uint(&w, 5);
	cbor_put_cstr(&w, "Too young");
	cbor_put_uint(&w, 6);
	cbor_put_cstr(&w, "বয়স কম");
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

/* A signed policy whose rules do not decode is refused; the installed one stays. */
static void test_malformed_policy_refused(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	uint8_t body[128];
	size_t body_len = one_rule_policy(body, sizeof(body), "age-floor", 21);
	struct doc_input in = {.h = header(TRUST_DOC_POLICY, 4, NOW - DAY, NOW + DAY),
	                       .body = body,
	                       .body_len = body_len};
	size_t len = 0;
	uint8_t *doc = signed_doc(&fx->repo, &in, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.entries, 1);
	free(doc);

	static const struct {
		const char *label;
		uint8_t body[16];
		size_t len;
		const char *why;
	} bad[] = {
	        {"no rules key", {0xa0}, 1, "rules (key 1) missing"},
	        {"rules not a list", {0xa1, 0x01, 0x63, 'o', 'f', 'f'}, 6, "rules"},
	        {"rule without messages", {0xa1, 0x01, 0x81, 0xa1, 0x01, 0x61, 'x'}, 7, "missing"},
	        {"unknown top-level key", {0xa2, 0x01, 0x80, 0x09, 0x00}, 5, "unknown key 9"},
	        {"UTC offset out of range",
	         {0xa2, 0x01, 0x80, 0x02, 0x19, 0x03, 0x85},
	         7,
	         "utc_offset_minutes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.h.version = 5 + i;
		in.body = bad[i].body;
		in.body_len = bad[i].len;
		doc = signed_doc(&fx->repo, &in, &len);
		expect_refused(fx, bad[i].label, doc, len, NOW, QD_ERR_FORMAT);
		/* ... and says what is wrong with the policy. */
		struct qd_errmsg why = {{0}};
		import_document(fx->store, doc, len, NOW, &res, &why);
		free(doc);
		if (strstr(why.text, "policy version") == NULL ||
		    strstr(why.text, bad[i].why) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].label, why.text,
			         bad[i].why);
	}
	/* Version 4 and its rule are what the desk still checks against. */
	struct store_trust *t = malloc(sizeof(*t));
	assert_non_null(t);
	assert_int_equal(store_trust_load(fx->store, t), QD_OK);
	assert_int_equal(t->view.policy.version, 4);
	assert_false(t->view.policy_unreadable);
	assert_non_null(t->view.policy_rules);
	assert_int_equal(t->view.policy_rules->n_rules, 1);
	assert_string_equal(t->view.policy_rules->rules[0].id, "age-floor");
	free(t);
}

/* ---- the fleet's used list and its deltas ------------------------------ */

static struct used_entry used_card(uint8_t first, const char *desk)
{
	struct used_entry e = {.first_at = NOW - DAY};
	memset(e.pseudonym, 0x33, sizeof(e.pseudonym));
	e.pseudonym[0] = first;
	snprintf(e.desk, sizeof(e.desk), "%s", desk);
	return e;
}

/* A signed used list (version v) of rows. */
static uint8_t *used_doc(const struct actor *signer, uint64_t v, struct used_entry *rows, size_t n,
                         size_t *len)
{
	struct used_list list = {n, rows};
	size_t body_len = usedlist_encode(&list, NULL, 0);
	uint8_t *body = malloc(body_len);
	assert_non_null(body);
	usedlist_encode(&list, body, body_len);
	struct doc_input in = {.h = header(TRUST_DOC_USED, v, NOW - DAY, NOW + DAY),
	                       .body = body,
	                       .body_len = body_len};
	uint8_t *doc = signed_doc(signer, &in, len);
	free(body);
	return doc;
}

/* A signed used-delta from base to v: cards added and pseudonyms removed. */
static uint8_t *used_delta_doc(const struct actor *signer, uint64_t base, uint64_t v,
                               struct used_entry *added, size_t n_added,
                               uint8_t (*removed)[TRUST_HASH_LEN], size_t n_removed, size_t *len)
{
	struct used_delta d = {{n_added, added}, removed, n_removed};
	size_t changes_len = usedlist_delta_encode(&d, NULL, 0);
	uint8_t *changes = malloc(changes_len);
	assert_non_null(changes);
	usedlist_delta_encode(&d, changes, changes_len);
	struct trustdoc_body_delta bd = {base, changes, changes_len};
	struct doc_input in = {.h = header(TRUST_DOC_USED_DELTA, v, NOW - DAY, NOW + DAY),
	                       .body_delta = &bd};
	uint8_t *doc = signed_doc(signer, &in, len);
	free(changes);
	return doc;
}

/* The installed used list's version, and its cards as first bytes of their pseudonyms. */
static void expect_used(struct fx *fx, uint64_t version, const char *firsts)
{
	struct trust_freshness f;
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_USED, &f), QD_OK);
	assert_true(f.present);
	assert_int_equal(f.version, version);
	uint8_t *body = NULL;
	size_t len = 0;
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_USED, &body, &len), QD_OK);
	struct used_list list;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usedlist_from_body(body, len, &list, &why), QD_OK);
	assert_int_equal(list.n, strlen(firsts));
	for (size_t i = 0; i < list.n; i++)
		assert_int_equal(list.rows[i].pseudonym[0], (uint8_t)firsts[i]);
	usedlist_free(&list);
	free(body);
}

/*
 * A used-delta applies only on exactly its base: the list it produces is stored as that
 * used version; a wrong base, changes that do not fit, a forged, tampered, malformed or
 * older delta are refused with a message and nothing changed.
 */
static void test_used_delta(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	struct used_entry v1[2] = {used_card('A', "DAC-T1-07"), used_card('B', "DAC-T1-07")};
	size_t len = 0;
	uint8_t *doc = used_doc(&fx->repo, 1, v1, 2, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	expect_used(fx, 1, "AB");

	/* 1 -> 2: C added at CGP, A removed (its card expired). */
	struct used_entry add_c[1] = {used_card('C', "CGP-T1-02")};
	uint8_t remove_a[1][TRUST_HASH_LEN];
	memcpy(remove_a[0], v1[0].pseudonym, TRUST_HASH_LEN);
	uint8_t *d12 = used_delta_doc(&fx->repo, 1, 2, add_c, 1, remove_a, 1, &len);
	size_t d12_len = len;
	import_ok(fx, d12, d12_len, NOW, &res);
	assert_false(res.unchanged);
	assert_int_equal(res.type, TRUST_DOC_USED_DELTA);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.previous_version, 1);
	assert_int_equal(res.entries, 2);
	expect_used(fx, 2, "BC");
	/* The same delta again: already installed. */
	import_ok(fx, d12, d12_len, NOW, &res);
	assert_true(res.unchanged);
	expect_used(fx, 2, "BC");

	struct used_entry add_d[1] = {used_card('D', "DAC-T1-07")};
	uint8_t remove_b[1][TRUST_HASH_LEN];
	memcpy(remove_b[0], v1[1].pseudonym, TRUST_HASH_LEN);
	static const struct {
		const char *label;
		uint64_t base;
		bool remove_a; /* else B */
		enum qd_err want;
	} bad[] = {
	        {"base 1, installed 2", 1, false, QD_ERR_BASE},
	        {"removes a card the list lacks", 2, true, QD_ERR_BASE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc = used_delta_doc(&fx->repo, bad[i].base, 3, add_d, 1,
		                     bad[i].remove_a ? remove_a : remove_b, 1, &len);
		expect_refused(fx, bad[i].label, doc, len, NOW, bad[i].want);
		struct qd_errmsg why = {{0}};
		import_document(fx->store, doc, len, NOW, &res, &why);
		if (strstr(why.text, "used-delta") == NULL)
			fail_msg("%s: message \"%s\" does not name the used-delta", bad[i].label,
			         why.text);
		free(doc);
		expect_used(fx, 2, "BC");
	}
	/* Adds a card the list holds already. */
	doc = used_delta_doc(&fx->repo, 2, 3, add_c, 1, remove_b, 1, &len);
	expect_refused(fx, "adds a card the list holds", doc, len, NOW, QD_ERR_BASE);
	free(doc);
	/* Signed by the issuer (wrong role), by a stranger (forged), a byte flipped. */
	doc = used_delta_doc(&fx->issuer, 2, 3, add_d, 1, remove_b, 1, &len);
	expect_refused(fx, "used-delta by the issuer", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	doc = used_delta_doc(&fx->stranger, 2, 3, add_d, 1, remove_b, 1, &len);
	expect_refused(fx, "used-delta by a stranger", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);
	doc = used_delta_doc(&fx->repo, 2, 3, add_d, 1, remove_b, 1, &len);
	doc[len - 1] ^= 0x01;
	expect_refused(fx, "used-delta signature flipped", doc, len, NOW, QD_ERR_SIGNATURE);
	doc[len - 1] ^= 0x01;
	/* Changes out of order: judged before anything is stored. */
	struct used_entry two[2] = {used_card('F', "X"), used_card('E', "X")};
	uint8_t *unordered = used_delta_doc(&fx->repo, 2, 3, two, 2, remove_b, 0, &len);
	expect_refused(fx, "changes out of order", unordered, len, NOW, QD_ERR_FORMAT);
	free(unordered);
	expect_used(fx, 2, "BC");

	/* The good 2 -> 3 applies; then the older 1 -> 2 is a rollback. */
	len = 0;
	free(doc);
	doc = used_delta_doc(&fx->repo, 2, 3, add_d, 1, remove_b, 1, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	expect_used(fx, 3, "CD");
	expect_refused(fx, "older delta", d12, d12_len, NOW, QD_ERR_ROLLBACK);
	expect_used(fx, 3, "CD");
	free(d12);
}

static void test_wrong_roles(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->root, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "revocations by root", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	doc = keyset_doc(fx, &fx->repo, 2, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "keyset by repository", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	doc = keyset_doc(fx, &fx->issuer, 2, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "keyset by issuer", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	doc = revocations_doc(&fx->issuer, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "revocations by issuer", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
	doc = revocations_doc(&fx->update, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "revocations by update", doc, len, NOW, QD_ERR_ROLE);
	free(doc);

	/* The role is checked before the key's status and window. */
	doc = keyset_doc(fx, &fx->repo_revoked, 2, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "keyset by a revoked repository key", doc, len, NOW, QD_ERR_ROLE);
	free(doc);
}

static void test_unknown_signer(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->stranger, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "unknown key", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);

	/* A stranger claiming the repository key's kid. */
	uint8_t *hashes = sorted_hashes(2, 1);
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 1, NOW - DAY, NOW + DAY),
	                       .hashes = hashes,
	                       .n_hashes = 2};
	size_t plen = 0;
	uint8_t *payload = encode_payload(&in, &plen);
	doc = sign_with_kid(&fx->stranger, fx->repo.key.kid, fx->repo.key.kid_len, payload, plen,
	                    &len);
	expect_refused(fx, "stranger with the repository kid", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);
	/* The issuer (ES256) claiming the root's kid (EdDSA): no key of that kid and alg. */
	doc = sign_with_kid(&fx->issuer, fx->root.key.kid, fx->root.key.kid_len, payload, plen,
	                    &len);
	expect_refused(fx, "issuer with the root kid", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);
	free(payload);
	free(hashes);

	/* Another domain's root signing a key set. */
	struct actor other_root;
	make_actor(&other_root, SIGNATURE_ALG_EDDSA, KEY_ROLE_ROOT, KEY_STATUS_ACTIVE, 0,
	           INT64_MAX);
	doc = keyset_doc(fx, &other_root, 2, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "another domain's root", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);
}

static void test_tampered(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 4, &len);
	/* The signature is the last 64 bytes. */
	for (size_t pos = len - SIGNATURE_LEN; pos < len; pos += 21) {
		doc[pos] ^= 0x01;
		expect_refused(fx, "signature byte flipped", doc, len, NOW, QD_ERR_SIGNATURE);
		doc[pos] ^= 0x01;
	}
	/* A hash byte of the payload (just before the signature's 2-byte head). */
	size_t pos = len - SIGNATURE_LEN - 2 - 1;
	doc[pos] ^= 0x80;
	expect_refused(fx, "payload byte flipped", doc, len, NOW, QD_ERR_SIGNATURE);
	doc[pos] ^= 0x80;
	/* Untouched, it imports. */
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	free(doc);

	/* A key set too. */
	doc = keyset_doc(fx, &fx->root, 2, NOW - DAY, NOW + DAY, &len);
	doc[len - 1] ^= 0xff;
	expect_refused(fx, "keyset signature flipped", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);
}

static void test_rollback(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	struct import_result res;
	uint8_t *doc = revocations_doc(&fx->repo, 5, NOW - DAY, NOW + DAY, 5, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);

	doc = revocations_doc(&fx->repo, 4, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "revocations version 4 after 5", doc, len, NOW, QD_ERR_ROLLBACK);
	free(doc);
	/* Even when signed later. */
	doc = revocations_doc(&fx->repo, 1, NOW, NOW + 2 * DAY, 2, &len);
	expect_refused(fx, "revocations version 1 signed later", doc, len, NOW, QD_ERR_ROLLBACK);
	free(doc);

	/* The same version with other content is a no-op, not a replacement. */
	uint8_t *hashes = sorted_hashes(2, 99);
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 5, NOW - DAY, NOW + DAY),
	                       .hashes = hashes,
	                       .n_hashes = 2};
	doc = signed_doc(&fx->repo, &in, &len);
	struct snapshot *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	assert_non_null(before);
	assert_non_null(after);
	take_snapshot(fx->store, before);
	import_ok(fx, doc, len, NOW, &res);
	assert_true(res.unchanged);
	take_snapshot(fx->store, after);
	assert_same_snapshot(before, after);
	assert_int_equal(after->revocations, 5);
	free(doc);
	free(hashes);

	/* Key sets too. */
	doc = keyset_doc(fx, &fx->root, 3, NOW - DAY, NOW + DAY, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	doc = keyset_doc(fx, &fx->root, 2, NOW - DAY, NOW + DAY, &len);
	expect_refused(fx, "keyset version 2 after 3", doc, len, NOW, QD_ERR_ROLLBACK);
	free(doc);
	free(before);
	free(after);
}

static void test_expired(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW, 2, &len);
	expect_refused(fx, "expires at the clock", doc, len, NOW, QD_ERR_EXPIRED);
	free(doc);
	doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW - 1, 2, &len);
	expect_refused(fx, "expired a second ago", doc, len, NOW, QD_ERR_EXPIRED);
	free(doc);
	doc = keyset_doc(fx, &fx->root, 2, NOW - 2 * DAY, NOW - DAY, &len);
	expect_refused(fx, "expired key set", doc, len, NOW, QD_ERR_EXPIRED);
	free(doc);
	doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + 1, 2, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
}

static void test_time_floor_counts(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	struct import_result res;
	/* A document signed at NOW raises the floor to NOW. */
	uint8_t *doc = revocations_doc(&fx->repo, 1, NOW, NOW + 30 * DAY, 1, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	int64_t floor = 0;
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW);

	/* The clock is ten days behind; a document expiring five days ago is still expired. */
	int64_t clock = NOW - 10 * DAY;
	doc = revocations_doc(&fx->repo, 2, NOW - 6 * DAY, NOW - 5 * DAY, 1, &len);
	expect_refused(fx, "expired by the floor", doc, len, clock, QD_ERR_EXPIRED);
	free(doc);
	/* Expiring exactly at the floor: expired. */
	doc = revocations_doc(&fx->repo, 2, NOW - 6 * DAY, NOW, 1, &len);
	expect_refused(fx, "expires at the floor", doc, len, clock, QD_ERR_EXPIRED);
	free(doc);
	/* Expiring after the floor: fine, whatever the clock says. */
	doc = revocations_doc(&fx->repo, 2, NOW - 6 * DAY, NOW + 1, 1, &len);
	import_ok(fx, doc, len, clock, &res);
	free(doc);
	/* A clock ahead of the floor is used as it is. */
	doc = revocations_doc(&fx->repo, 3, NOW, NOW + 2 * DAY, 1, &len);
	expect_refused(fx, "expired by a clock ahead", doc, len, NOW + 3 * DAY, QD_ERR_EXPIRED);
	free(doc);
}

static void test_signer_key_state(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->repo_revoked, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "revoked repository key", doc, len, NOW, QD_ERR_KEY);
	free(doc);

	/* repo_window is valid NOW - DAY .. NOW + DAY (inclusive). */
	doc = revocations_doc(&fx->repo_window, 1, NOW - DAY - 1, NOW + 30 * DAY, 2, &len);
	expect_refused(fx, "signed before the window", doc, len, NOW, QD_ERR_KEY);
	free(doc);
	doc = revocations_doc(&fx->repo_window, 1, NOW + DAY + 1, NOW + 30 * DAY, 2, &len);
	expect_refused(fx, "signed after the window", doc, len, NOW, QD_ERR_KEY);
	free(doc);
	doc = revocations_doc(&fx->repo_window, 1, NOW - 300 * DAY, NOW + 30 * DAY, 2, &len);
	expect_refused(fx, "signed long before the window", doc, len, NOW, QD_ERR_KEY);
	free(doc);
	struct import_result res;
	doc = revocations_doc(&fx->repo_window, 1, NOW - DAY, NOW + 30 * DAY, 2, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	doc = revocations_doc(&fx->repo_window, 2, NOW + DAY, NOW + 30 * DAY, 2, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);

	/* Once a later key set marks the repository key revoked, it signs nothing more. */
	struct trust_key keys[KEYSET_KEYS];
	keyset_keys(fx, keys);
	keys[1].status = KEY_STATUS_REVOKED;
	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, 2, NOW + DAY, NOW + 365 * DAY),
	                       .keys = keys,
	                       .n_keys = KEYSET_KEYS};
	doc = signed_doc(&fx->root, &in, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	doc = revocations_doc(&fx->repo, 3, NOW + DAY, NOW + 30 * DAY, 2, &len);
	expect_refused(fx, "repository key revoked by key set 2", doc, len, NOW, QD_ERR_KEY);
	free(doc);
}

/*
 * A root-role key listed in the key set (not pinned).  docs/trust-documents.md
 * says roots are "not listed in key sets", and that every key's window is
 * checked against the signed time of what it signs; only the pinned roots
 * have no window (store_roots_load gives them INT64_MIN..INT64_MAX).  So
 * either the key set listing it is refused, or the key is held to its window.
 */
static void test_keyset_listed_root_key_window(void **state)
{
	struct fx *fx = *state;
	pin_root(fx);
	struct actor second_root;
	make_actor(&second_root, SIGNATURE_ALG_EDDSA, KEY_ROLE_ROOT, KEY_STATUS_ACTIVE,
	           NOW - 30 * DAY, NOW - 20 * DAY);
	struct trust_key keys[KEYSET_KEYS + 1];
	keyset_keys(fx, keys);
	keys[KEYSET_KEYS] = second_root.key;
	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, 1, NOW - 25 * DAY, NOW + 365 * DAY),
	                       .keys = keys,
	                       .n_keys = KEYSET_KEYS + 1};
	size_t len = 0;
	uint8_t *doc = signed_doc(&fx->root, &in, &len);
	struct import_result res;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = import_document(fx->store, doc, len, NOW, &res, &why);
	free(doc);
	if (rc != QD_OK)
		return; /* refusing a key set that lists a root key is also correct */

	/* Signed twenty days after its window closed: refused like any key-set key. */
	in.h = header(TRUST_DOC_KEYSET, 2, NOW, NOW + 365 * DAY);
	doc = signed_doc(&second_root, &in, &len);
	expect_refused(fx, "key-set root key outside its window", doc, len, NOW, QD_ERR_KEY);
	free(doc);
}

static void test_bad_format(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	size_t len = 0;

	/* Garbage payloads with good signatures by a known key. */
	static const uint8_t garbage[] = "this is not CBOR at all";
	uint8_t *doc = sign_payload(&fx->repo, garbage, sizeof(garbage) - 1, &len);
	expect_refused(fx, "garbage payload", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	static const uint8_t array[] = {0x83, 0x01, 0x02, 0x03};
	doc = sign_payload(&fx->repo, array, sizeof(array), &len);
	expect_refused(fx, "array payload", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	doc = sign_payload(&fx->root, array, 0, &len);
	expect_refused(fx, "empty payload", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	/* A revocations document with its hashes out of order. */
	uint8_t *hashes = sorted_hashes(2, 7);
	uint8_t swapped[2 * TRUST_HASH_LEN];
	memcpy(swapped, hashes + TRUST_HASH_LEN, TRUST_HASH_LEN);
	memcpy(swapped + TRUST_HASH_LEN, hashes, TRUST_HASH_LEN);
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 1, NOW - DAY, NOW + DAY),
	                       .hashes = swapped,
	                       .n_hashes = 2};
	doc = signed_doc(&fx->repo, &in, &len);
	expect_refused(fx, "hashes out of order", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	free(hashes);

	/* Not COSE at all, empty, truncated. */
	expect_refused(fx, "not COSE", garbage, sizeof(garbage) - 1, NOW, QD_ERR_FORMAT);
	expect_refused(fx, "empty input", garbage, 0, NOW, QD_ERR_FORMAT);
	doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 2, &len);
	expect_refused(fx, "truncated", doc, len - 1, NOW, QD_ERR_FORMAT);
	free(doc);
}

/* A COSE_Sign1 whose protected header is only {1: alg}; the kid unprotected, or absent. */
static uint8_t *sign_without_protected_kid(const struct actor *signer, const uint8_t *payload,
                                           size_t plen, bool kid_unprotected, size_t *len)
{
	uint8_t prot[8];
	struct cbor_writer pw;
	cbor_writer_init(&pw, prot, sizeof(prot));
	cbor_put_map(&pw, 1);
	cbor_put_int(&pw, COSE_HEADER_ALG);
	cbor_put_int(&pw, signer->kp.alg);
	assert_int_equal(cbor_writer_status(&pw), CBOR_OK);
	struct cose_sign1 msg = {
	        .protected_bytes = prot,
	        .protected_len = pw.len,
	        .payload = payload,
	        .payload_len = plen,
	        .alg = signer->kp.alg,
	};
	size_t tbs_cap = cose_sign1_tbs_len(&msg, 0);
	uint8_t *tbs = malloc(tbs_cap);
	assert_non_null(tbs);
	size_t tbs_len = 0;
	assert_int_equal(cose_sign1_tbs(&msg, NULL, 0, tbs, tbs_cap, &tbs_len), QD_OK);
	uint8_t sig[SIGNATURE_LEN];
	assert_int_equal(signature_sign(&signer->kp, tbs, tbs_len, sig), QD_OK);
	free(tbs);

	size_t cap = plen + 128;
	uint8_t *out = malloc(cap);
	assert_non_null(out);
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_tag(&w, COSE_TAG_SIGN1);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, pw.len);
	if (kid_unprotected) {
		cbor_put_map(&w, 1);
		cbor_put_int(&w, COSE_HEADER_KID);
		cbor_put_bstr(&w, signer->key.kid, signer->key.kid_len);
	} else {
		cbor_put_map(&w, 0);
	}
	cbor_put_bstr(&w, payload, plen);
	cbor_put_bstr(&w, sig, sizeof(sig));
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	*len = w.len;
	return out;
}

static void test_kid_required(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	uint8_t *hashes = sorted_hashes(2, 3);
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 1, NOW - DAY, NOW + DAY),
	                       .hashes = hashes,
	                       .n_hashes = 2};
	size_t plen = 0;
	uint8_t *payload = encode_payload(&in, &plen);
	size_t len = 0;
	uint8_t *doc = sign_without_protected_kid(&fx->repo, payload, plen, false, &len);
	expect_refused(fx, "no kid", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	doc = sign_with_kid(&fx->repo, NULL, 0, payload, plen, &len);
	expect_refused(fx, "empty kid", doc, len, NOW, QD_ERR_FORMAT);
	free(doc);
	/* A kid in the unprotected header is allowed (cose.h) and finds the key. */
	doc = sign_without_protected_kid(&fx->repo, payload, plen, true, &len);
	struct import_result res;
	import_ok(fx, doc, len, NOW, &res);
	assert_int_equal(res.signer_kid_len, fx->repo.key.kid_len);
	free(doc);
	free(payload);
	free(hashes);
}

static void test_import_file(void **state)
{
	struct fx *fx = *state;
	provision(fx);
	struct import_result res;
	struct qd_errmsg why = {{0}};
	char path[4200];

	snprintf(path, sizeof(path), "%s/absent.cose", fx->dir);
	struct snapshot *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	assert_non_null(before);
	assert_non_null(after);
	take_snapshot(fx->store, before);
	assert_int_equal(import_file(fx->store, path, NOW, &res, &why), QD_ERR_NOT_FOUND);
	assert_non_null(strstr(why.text, "absent.cose"));

	/* A sparse file one byte over the cap: refused by its size, never read. */
	snprintf(path, sizeof(path), "%s/huge.cose", fx->dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)IMPORT_FILE_MAX + 1), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(import_file(fx->store, path, NOW, &res, &why), QD_ERR_TOO_LARGE);

	/* A directory is not a document. */
	assert_int_equal(import_file(fx->store, fx->dir, NOW, &res, &why), QD_ERR_IO);
	/* Nor is a FIFO, and no writer is waited for (a blocking open would hang here). */
	snprintf(path, sizeof(path), "%s/pipe.cose", fx->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(import_file(fx->store, path, NOW, &res, &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "not a regular file"));
	take_snapshot(fx->store, after);
	assert_same_snapshot(before, after);

	/* A real file imports, and a refusal names the file. */
	size_t len = 0;
	uint8_t *doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 3, &len);
	snprintf(path, sizeof(path), "%s/revocations.cose", fx->dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(doc, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(import_file(fx->store, path, NOW, &res, &why), QD_OK);
	assert_int_equal(res.type, TRUST_DOC_REVOCATIONS);
	assert_int_equal(res.entries, 3);
	free(doc);
	doc = revocations_doc(&fx->root, 2, NOW - DAY, NOW + DAY, 3, &len);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(doc, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(import_file(fx->store, path, NOW, &res, &why), QD_ERR_ROLE);
	assert_non_null(strstr(why.text, "revocations.cose"));
	free(doc);
	free(before);
	free(after);
}

static void test_time_floor_rises(void **state)
{
	struct fx *fx = *state;
	pin_root(fx);
	int64_t floor = -1;
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, 0);

	size_t len = 0;
	struct import_result res;
	uint8_t *doc = keyset_doc(fx, &fx->root, 1, NOW - 3 * DAY, NOW + 365 * DAY, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW - 3 * DAY);

	doc = revocations_doc(&fx->repo, 1, NOW - DAY, NOW + DAY, 1, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW - DAY);

	static const uint8_t body[] = {0xa1, 0x01, 0x80}; /* {1: []} */
	struct doc_input in = {.h = header(TRUST_DOC_POLICY, 1, NOW - 10, NOW + DAY),
	                       .body = body,
	                       .body_len = sizeof(body)};
	doc = signed_doc(&fx->repo, &in, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW - 10);

	/* A newer version signed earlier: imported, but the floor never goes down. */
	doc = revocations_doc(&fx->repo, 2, NOW - 2 * DAY, NOW + DAY, 1, &len);
	import_ok(fx, doc, len, NOW, &res);
	free(doc);
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW - 10);

	/* A refused document does not move it. */
	doc = revocations_doc(&fx->repo, 3, NOW + 100, NOW + DAY, 1, &len);
	doc[len - 1] ^= 0x01;
	expect_refused(fx, "tampered, signed later", doc, len, NOW, QD_ERR_SIGNATURE);
	free(doc);

	/* The signed time, not the clock: a clock far ahead leaves the floor at the signed time. */
	struct trustdoc_timestamp ts;
	memset(&ts, 0, sizeof(ts));
	struct doc_input tin = {.h = header(TRUST_DOC_TIMESTAMP, 1, NOW + 5, NOW + 50 * DAY),
	                        .ts = &ts};
	doc = signed_doc(&fx->repo, &tin, &len);
	import_ok(fx, doc, len, NOW + 40 * DAY, &res);
	free(doc);
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_not_provisioned, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keyset_by_root, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revocations_by_repository, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_policy_and_timestamp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_policy_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_roles, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_signer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_time_floor_counts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_signer_key_state, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keyset_listed_root_key_window, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_bad_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kid_required, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_import_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_time_floor_rises, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_used_delta, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
