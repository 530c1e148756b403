/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_trustdoc - trustdoc_decode over arbitrary payload bytes (the payload
 * of a keyset, revocations, policy or timestamp COSE_Sign1).
 *
 * On success: spans into the payload stay inside it; the decoded document is
 * encoded again with the issuer's encoders into exactly the bytes a counting
 * pass asks for (never more than the input: unknown fields are dropped, all
 * forms are shortest), decodes to the same document, and encoding that gives
 * the same bytes again.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/cbor.h"
#include "qrdesk/signature.h"
#include "qrdesk/trustdoc.h"

/* A decoded list of windows as structs (malloc'd; free it). */
static struct trust_range *windows(const struct trustdoc_ranges *r)
{
	struct trust_range *out = fuzz_alloc((r->count + 1) * sizeof(*out));
	trustdoc_ranges_read(r, out);
	return out;
}

static void encode(struct cbor_writer *w, const struct trustdoc *d)
{
	switch (d->header.type) {
	case TRUST_DOC_KEYSET:
		trustdoc_encode_keyset(w, &d->header, d->body.keyset.keys, d->body.keyset.count);
		return;
	case TRUST_DOC_REVOCATIONS: {
		struct trust_range *r = windows(&d->body.revocations.ranges);
		trustdoc_encode_revocations_ranges(w, &d->header, d->body.revocations.hashes,
		                                   d->body.revocations.count, r,
		                                   d->body.revocations.ranges.count);
		free(r);
		return;
	}
	case TRUST_DOC_POLICY:
		trustdoc_encode_policy(w, &d->header, d->body.policy.body, d->body.policy.body_len);
		return;
	case TRUST_DOC_AIRPORTS:
	case TRUST_DOC_DESKS:
	case TRUST_DOC_USED:
		trustdoc_encode_body(w, &d->header, d->body.blob.body, d->body.blob.body_len);
		return;
	case TRUST_DOC_TIMESTAMP:
		trustdoc_encode_timestamp(w, &d->header, &d->body.timestamp);
		return;
	case TRUST_DOC_REVOCATIONS_DELTA: {
		struct trustdoc_revocations_delta dv = d->body.delta;
		struct trust_range *added = windows(&dv.ranges_added);
		struct trust_range *removed = windows(&dv.ranges_removed);
		dv.put_ranges_added = added;
		dv.n_put_ranges_added = dv.ranges_added.count;
		dv.put_ranges_removed = removed;
		dv.n_put_ranges_removed = dv.ranges_removed.count;
		trustdoc_encode_revocations_delta(w, &d->header, &dv);
		free(added);
		free(removed);
		return;
	}
	case TRUST_DOC_USED_DELTA:
		trustdoc_encode_body_delta(w, &d->header, &d->body.body_delta);
		return;
	case TRUST_DOC_ROOT:
		trustdoc_encode_root(w, &d->header, d->body.root.keys, d->body.root.count);
		return;
	}
	abort(); /* decoded a document of no known type */
}

static uint8_t *encode_exact(const struct trustdoc *d, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	encode(&w, d);
	uint8_t *buf = fuzz_alloc(w.len);
	*len = w.len;
	cbor_writer_init(&w, buf, *len);
	encode(&w, d);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK && w.len == *len);
	return buf;
}

static void check_key(const struct trust_key *a, const struct trust_key *b)
{
	FUZZ_CHECK(a->kid_len == b->kid_len && memcmp(a->kid, b->kid, a->kid_len) == 0);
	FUZZ_CHECK(a->alg == b->alg && a->role == b->role && a->status == b->status);
	FUZZ_CHECK(a->public_len == b->public_len &&
	           memcmp(a->public_key, b->public_key, a->public_len) == 0);
	FUZZ_CHECK(a->not_before == b->not_before && a->not_after == b->not_after);
}

/* The same windows: the encoding is canonical, so the same entry bytes. */
static void check_same_ranges(const struct trustdoc_ranges *a, const struct trustdoc_ranges *b)
{
	FUZZ_CHECK(a->count == b->count && a->len == b->len);
	FUZZ_CHECK(a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
}

/* Inside the input, in order, a kid's windows disjoint, each from < to. */
static void check_ranges(const struct trustdoc_ranges *r, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(r->count <= TRUSTDOC_RANGES_MAX);
	FUZZ_CHECK(r->count == 0 || fuzz_inside(r->bytes, r->len, data, size));
	struct trust_range *w = windows(r);
	for (size_t i = 0; i < r->count; i++) {
		FUZZ_CHECK(w[i].kid_len >= 1 && w[i].kid_len <= TRUST_KID_MAX);
		FUZZ_CHECK(w[i].from >= 0 && w[i].from < w[i].to);
		if (i > 0) {
			FUZZ_CHECK(trustdoc_range_cmp(&w[i - 1], &w[i]) < 0);
			FUZZ_CHECK(w[i - 1].kid_len != w[i].kid_len ||
			           memcmp(w[i - 1].kid, w[i].kid, w[i].kid_len) != 0 ||
			           w[i - 1].to <= w[i].from);
		}
	}
	free(w);
}

static void check_same(const struct trustdoc *a, const struct trustdoc *b)
{
	FUZZ_CHECK(a->header.type == b->header.type && a->header.version == b->header.version);
	FUZZ_CHECK(a->header.issued_at == b->header.issued_at &&
	           a->header.expires_at == b->header.expires_at);
	switch (a->header.type) {
	case TRUST_DOC_KEYSET:
		FUZZ_CHECK(a->body.keyset.count == b->body.keyset.count);
		for (size_t i = 0; i < a->body.keyset.count; i++)
			check_key(&a->body.keyset.keys[i], &b->body.keyset.keys[i]);
		return;
	case TRUST_DOC_REVOCATIONS:
		FUZZ_CHECK(a->body.revocations.count == b->body.revocations.count);
		FUZZ_CHECK(a->body.revocations.count == 0 ||
		           memcmp(a->body.revocations.hashes, b->body.revocations.hashes,
		                  a->body.revocations.count * TRUST_HASH_LEN) == 0);
		check_same_ranges(&a->body.revocations.ranges, &b->body.revocations.ranges);
		return;
	case TRUST_DOC_AIRPORTS: /* kept whole, as a policy */
	case TRUST_DOC_DESKS:
	case TRUST_DOC_USED:
	case TRUST_DOC_POLICY:
		FUZZ_CHECK(a->body.policy.body_len == b->body.policy.body_len);
		FUZZ_CHECK(memcmp(a->body.policy.body, b->body.policy.body,
		                  a->body.policy.body_len) == 0);
		return;
	case TRUST_DOC_TIMESTAMP:
		FUZZ_CHECK(a->body.timestamp.count == b->body.timestamp.count);
		for (size_t i = 0; i < a->body.timestamp.count; i++) {
			const struct trustdoc_timestamp_entry *x = &a->body.timestamp.entries[i],
			                                      *y = &b->body.timestamp.entries[i];
			FUZZ_CHECK(x->type == y->type && x->version == y->version &&
			           x->length == y->length && x->base_version == y->base_version &&
			           memcmp(x->sha256, y->sha256, sizeof(x->sha256)) == 0);
		}
		return;
	case TRUST_DOC_REVOCATIONS_DELTA: {
		const struct trustdoc_revocations_delta *x = &a->body.delta, *y = &b->body.delta;
		FUZZ_CHECK(x->base_version == y->base_version);
		FUZZ_CHECK(x->n_added == y->n_added && x->n_removed == y->n_removed);
		FUZZ_CHECK(x->n_added == 0 ||
		           memcmp(x->added, y->added, x->n_added * TRUST_HASH_LEN) == 0);
		FUZZ_CHECK(x->n_removed == 0 ||
		           memcmp(x->removed, y->removed, x->n_removed * TRUST_HASH_LEN) == 0);
		check_same_ranges(&x->ranges_added, &y->ranges_added);
		check_same_ranges(&x->ranges_removed, &y->ranges_removed);
		return;
	}
	case TRUST_DOC_USED_DELTA: {
		const struct trustdoc_body_delta *x = &a->body.body_delta, *y = &b->body.body_delta;
		FUZZ_CHECK(x->base_version == y->base_version && x->changes_len == y->changes_len);
		FUZZ_CHECK(memcmp(x->changes, y->changes, x->changes_len) == 0);
		return;
	}
	case TRUST_DOC_ROOT:
		FUZZ_CHECK(a->body.root.count == b->body.root.count);
		for (size_t i = 0; i < a->body.root.count; i++)
			check_key(&a->body.root.keys[i], &b->body.root.keys[i]);
		return;
	}
}

/* Sorted, unique, inside the input. */
static void check_hash_list(const uint8_t *list, size_t n, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(n <= TRUSTDOC_REVOCATIONS_MAX);
	FUZZ_CHECK(n == 0 || fuzz_inside(list, n * TRUST_HASH_LEN, data, size));
	for (size_t i = 1; i < n; i++)
		FUZZ_CHECK(memcmp(list + (i - 1) * TRUST_HASH_LEN, list + i * TRUST_HASH_LEN,
		                  TRUST_HASH_LEN) < 0);
}

/* What a successful decode promises about the document itself. */
static void check_doc(const struct trustdoc *d, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(trust_doc_type_name(d->header.type) != NULL);
	FUZZ_CHECK(d->header.version > 0 && d->header.issued_at >= 0);
	FUZZ_CHECK(d->header.expires_at > d->header.issued_at);
	switch (d->header.type) {
	case TRUST_DOC_KEYSET:
		FUZZ_CHECK(d->body.keyset.count <= TRUST_KEYS_MAX);
		for (size_t i = 0; i < d->body.keyset.count; i++) {
			const struct trust_key *k = &d->body.keyset.keys[i];
			FUZZ_CHECK(k->kid_len >= 1 && k->kid_len <= TRUST_KID_MAX);
			FUZZ_CHECK(key_role_name(k->role) != NULL);
			FUZZ_CHECK(signature_public_check(k->alg, k->public_key, k->public_len) ==
			           QD_OK);
			FUZZ_CHECK(k->not_before <= k->not_after);
		}
		return;
	case TRUST_DOC_REVOCATIONS: {
		const struct trustdoc_revocations *rv = &d->body.revocations;
		FUZZ_CHECK(rv->count <= TRUSTDOC_REVOCATIONS_MAX);
		FUZZ_CHECK(fuzz_inside(rv->hashes, rv->count * TRUST_HASH_LEN, data, size));
		(void)fuzz_touch(rv->hashes, rv->count * TRUST_HASH_LEN);
		check_ranges(&rv->ranges, data, size);
		return;
	}
	case TRUST_DOC_AIRPORTS: /* kept whole, as a policy */
	case TRUST_DOC_DESKS:
	case TRUST_DOC_USED:
	case TRUST_DOC_POLICY: {
		const struct trustdoc_policy *p = &d->body.policy;
		FUZZ_CHECK(fuzz_inside(p->body, p->body_len, data, size));
		struct cbor_reader r;
		cbor_reader_init(&r, p->body, p->body_len);
		enum cbor_type type;
		FUZZ_CHECK(cbor_peek_type(&r, &type) == CBOR_OK && type == CBOR_TYPE_MAP);
		FUZZ_CHECK(cbor_skip(&r) == CBOR_OK && cbor_expect_end(&r) == CBOR_OK);
		return;
	}
	case TRUST_DOC_TIMESTAMP:
		FUZZ_CHECK(d->body.timestamp.count <= TRUSTDOC_TIMESTAMP_ENTRIES_MAX);
		for (size_t i = 0; i < d->body.timestamp.count; i++) {
			const struct trustdoc_timestamp_entry *e = &d->body.timestamp.entries[i];
			FUZZ_CHECK(trust_doc_type_name(e->type) != NULL);
			/* a delta (revocations-delta, used-delta) names its base, only a delta */
			FUZZ_CHECK((trust_doc_installs(e->type) != e->type) ==
			           (e->base_version != 0));
			FUZZ_CHECK(e->base_version < e->version || e->base_version == 0);
		}
		return;
	case TRUST_DOC_REVOCATIONS_DELTA: {
		const struct trustdoc_revocations_delta *dv = &d->body.delta;
		FUZZ_CHECK(dv->base_version >= 1 && dv->base_version < d->header.version);
		check_hash_list(dv->added, dv->n_added, data, size);
		check_hash_list(dv->removed, dv->n_removed, data, size);
		check_ranges(&dv->ranges_added, data, size);
		check_ranges(&dv->ranges_removed, data, size);
		/* disjoint */
		for (size_t i = 0, j = 0; i < dv->n_added && j < dv->n_removed;) {
			int c = memcmp(dv->added + i * TRUST_HASH_LEN,
			               dv->removed + j * TRUST_HASH_LEN, TRUST_HASH_LEN);
			FUZZ_CHECK(c != 0);
			if (c < 0)
				i++;
			else
				j++;
		}
		return;
	}
	case TRUST_DOC_USED_DELTA: {
		/* the changes: one well-formed item inside the input, below the version */
		const struct trustdoc_body_delta *bd = &d->body.body_delta;
		FUZZ_CHECK(bd->base_version >= 1 && bd->base_version < d->header.version);
		FUZZ_CHECK(trustdoc_delta_base(d) == bd->base_version);
		FUZZ_CHECK(fuzz_inside(bd->changes, bd->changes_len, data, size));
		struct cbor_reader r;
		cbor_reader_init(&r, bd->changes, bd->changes_len);
		FUZZ_CHECK(cbor_skip(&r) == CBOR_OK && cbor_expect_end(&r) == CBOR_OK);
		return;
	}
	case TRUST_DOC_ROOT:
		FUZZ_CHECK(d->body.root.count >= 1 && d->body.root.count <= TRUSTDOC_ROOT_KEYS_MAX);
		for (size_t i = 0; i < d->body.root.count; i++)
			FUZZ_CHECK(d->body.root.keys[i].role == KEY_ROLE_ROOT);
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		FUZZ_CHECK(signature_init() == QD_OK);
		ready = true;
	}
	static struct trustdoc doc, back, again; /* 8 KiB each: off the stack */
	struct qd_errmsg why = {{0}};
	enum qd_err rc = trustdoc_decode(data, size, &doc, &why);
	FUZZ_CHECK(qd_err_name(rc) != NULL);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(why.text[0] != '\0');
		return 0;
	}
	check_doc(&doc, data, size);

	size_t len = 0;
	uint8_t *enc = encode_exact(&doc, &len);
	FUZZ_CHECK(len <= size);
	FUZZ_CHECK(trustdoc_decode(enc, len, &back, &why) == QD_OK);
	check_same(&doc, &back);

	size_t len2 = 0;
	uint8_t *enc2 = encode_exact(&back, &len2);
	FUZZ_CHECK(len2 == len && memcmp(enc, enc2, len) == 0);
	FUZZ_CHECK(trustdoc_decode(enc2, len2, &again, &why) == QD_OK);
	check_same(&doc, &again);
	free(enc2);
	free(enc);
	return 0;
}
