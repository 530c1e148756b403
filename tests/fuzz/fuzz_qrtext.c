/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_qrtext - the whole verification, check_code(), on the input as the
 * text of a scanned QR code, against a fixed in-memory trust view: the
 * fuzzing domain's two issuer keys (EdDSA, ES256) and its repository key
 * (which may not sign cards), fresh trust documents, the clock FUZZ_NOW and
 * a stub revocation list.  The seed cards are signed by these keys, so the
 * fuzzer starts from inputs that get past the signature.
 *
 * Properties of every verdict: a known reason of the right kind with its
 * texts; a NUL-terminated detail; the clock and trusted time as given;
 * claims only after a good signature, and then NUL-terminated and with the
 * clearance hash of their number; no claims left behind when there are none;
 * the revocation list asked at most once.  For a card that got as far as its
 * claims the check is repeated with a clock behind the signed time, a clock
 * past the revocation list's expiry, and no revocation list.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_keys.h"
#include "qrdesk/check.h"
#include "qrdesk/credential.h"
#include "qrdesk/verdict.h"

#define DAY       86400LL
#define PUBLISHED (FUZZ_NOW - 600) /* make-corpus.sh publishes at this time */

/* make-corpus.sh signs a card for each: one on the list, one whose lookup fails. */
#define REVOKED_NO "2611000002"
#define BROKEN_NO  "2611000009"

struct stub {
	uint8_t revoked[TRUST_HASH_LEN];
	uint8_t broken[TRUST_HASH_LEN];
	unsigned calls;
};

static struct stub stub;

static enum qd_err revocation_stub(void *ctx, const uint8_t hash[TRUST_HASH_LEN], bool *revoked)
{
	struct stub *s = ctx;
	FUZZ_CHECK(s == &stub);
	s->calls++;
	if (memcmp(hash, s->broken, TRUST_HASH_LEN) == 0)
		return QD_ERR_STORE;
	*revoked = memcmp(hash, s->revoked, TRUST_HASH_LEN) == 0;
	return QD_OK;
}

static struct trust_view fresh_view(void)
{
	struct trust_view v = {
	        .keys = fuzz_keys,
	        .n_keys = FUZZ_KEY_COUNT,
	        .keyset = {true, 1, PUBLISHED, PUBLISHED + 365 * DAY},
	        .revocations = {true, 1, PUBLISHED, PUBLISHED + 7 * DAY},
	        .policy = {true, 1, PUBLISHED, PUBLISHED + 30 * DAY},
	        .timestamp = {true, 1, PUBLISHED, PUBLISHED + DAY},
	        .time_floor = PUBLISHED,
	        .revocation_contains = revocation_stub,
	        .revocation_ctx = &stub,
	};
	return v;
}

static void check_field(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* Run check_code and check what every verdict promises; returns the reason. */
static enum verdict_reason check(const char *text, size_t len, const struct trust_view *view,
                                 int64_t now, struct verdict *v)
{
	stub.calls = 0;
	check_code(text, len, view, now, v);

	FUZZ_CHECK(v->reason < REASON_COUNT);
	FUZZ_CHECK(v->kind == reason_kind(v->reason));
	FUZZ_CHECK(verdict_kind_name(v->kind) != NULL);
	const char *code = reason_code(v->reason);
	FUZZ_CHECK(code != NULL && reason_text_en(v->reason) != NULL &&
	           reason_text_bn(v->reason) != NULL);
	enum verdict_reason parsed;
	FUZZ_CHECK(reason_from_code(code, &parsed) && parsed == v->reason);
	FUZZ_CHECK(memchr(v->detail, '\0', sizeof(v->detail)) != NULL);
	FUZZ_CHECK(v->clock == now);
	FUZZ_CHECK(v->trusted_time == (now > view->time_floor ? now : view->time_floor));

	const bool prefix_ok = len >= CREDENTIAL_PREFIX_LEN &&
	                       memcmp(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN) == 0;
	FUZZ_CHECK((v->reason == REASON_TOO_LARGE) == (len > CHECK_TEXT_MAX));
	FUZZ_CHECK((v->reason == REASON_BAD_PREFIX) == (len <= CHECK_TEXT_MAX && !prefix_ok));

	if (v->signature_ok) {
		/* Only a key of the view verifies, by its kid and alg. */
		bool known = false;
		for (size_t i = 0; i < view->n_keys; i++)
			known = known || (view->keys[i].kid_len == v->kid_len &&
			                  memcmp(view->keys[i].kid, v->kid, v->kid_len) == 0 &&
			                  view->keys[i].alg == v->alg);
		FUZZ_CHECK(known);
	}
	if (v->has_claims) {
		FUZZ_CHECK(v->signature_ok && v->has_hash);
		const struct credential *c = &v->cred;
		check_field(c->iss, sizeof(c->iss));
		check_field(c->clearance.clearance_no, sizeof(c->clearance.clearance_no));
		check_field(c->clearance.passport_no, sizeof(c->clearance.passport_no));
		check_field(c->clearance.name, sizeof(c->clearance.name));
		check_field(c->clearance.destination, sizeof(c->clearance.destination));
		check_field(c->clearance.category, sizeof(c->clearance.category));
		check_field(c->clearance.employer, sizeof(c->clearance.employer));
		check_field(c->clearance.agency_licence, sizeof(c->clearance.agency_licence));
		check_field(c->clearance.bmet_reg_no, sizeof(c->clearance.bmet_reg_no));
		uint8_t hash[TRUST_HASH_LEN];
		credential_clearance_hash(c->clearance.clearance_no, hash);
		FUZZ_CHECK(memcmp(hash, v->clearance_hash, TRUST_HASH_LEN) == 0);
	} else {
		FUZZ_CHECK(all_zero(&v->cred, sizeof(v->cred)));
		FUZZ_CHECK(!v->has_hash && stub.calls == 0);
	}
	FUZZ_CHECK(stub.calls <= 1);
	if (v->reason == REASON_OK)
		FUZZ_CHECK(v->kind == VERDICT_VALID && v->has_claims && v->signature_ok);
	return v->reason;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		FUZZ_CHECK(signature_init() == QD_OK);
		credential_clearance_hash(REVOKED_NO, stub.revoked);
		credential_clearance_hash(BROKEN_NO, stub.broken);
		ready = true;
	}
	const char *text = (const char *)data;
	static struct verdict v, w; /* large: off the stack */
	struct trust_view view = fresh_view();
	enum verdict_reason first = check(text, size, &view, FUZZ_NOW, &v);
	if (!v.has_claims)
		return 0;

	/* A clock behind the newest signed time: judged at that time, never valid. */
	enum verdict_reason r = check(text, size, &view, PUBLISHED - 7200, &w);
	if (first == REASON_OK)
		FUZZ_CHECK(r == REASON_CLOCK_SUSPECT || r == REASON_CARD_NOT_YET_VALID);
	FUZZ_CHECK(r != REASON_OK);

	/* Eight days on: the revocation list (7 days) has expired. */
	r = check(text, size, &view, FUZZ_NOW + 8 * DAY, &w);
	if (first == REASON_OK)
		FUZZ_CHECK(r == REASON_TRUST_STALE || r == REASON_CARD_EXPIRED);
	FUZZ_CHECK(r != REASON_OK);

	/* No revocation list installed: never valid, and never asked. */
	view.revocations.present = false;
	view.revocation_contains = NULL;
	r = check(text, size, &view, FUZZ_NOW, &w);
	if (first == REASON_OK)
		FUZZ_CHECK(r == REASON_TRUST_STALE);
	FUZZ_CHECK(r != REASON_OK && stub.calls == 0);
	return 0;
}
