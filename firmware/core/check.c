/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.c - the verification core.  One pure function, check_code(): see
 * check.h for the order of judgement.  It allocates nothing: the decoded
 * bytes and the Sig_structure live on the stack, bounded by CHECK_TEXT_MAX.
 */
#include "qrdesk/check.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/base45.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/policy.h"
#include "qrdesk/signature.h"

/* Leeway for not-before checks: a desk clock a few minutes slow must not turn a fresh card red. */
#define CHECK_CLOCK_SKEW 300

/* Room for the largest decodable text: 2 bytes per 3 characters. */
#define CHECK_BYTES_MAX ((CHECK_TEXT_MAX / 3) * 2 + 2)
/* A Sig_structure adds a fixed head and at most 3 bstr heads to the COSE bytes. */
#define CHECK_TBS_MAX (CHECK_BYTES_MAX + 32)

static enum verdict_reason reason_from_cbor(enum cbor_status st)
{
	switch (st) {
	case CBOR_ERR_NON_MINIMAL:
		return REASON_CBOR_NON_MINIMAL;
	case CBOR_ERR_INDEFINITE:
		return REASON_CBOR_INDEFINITE;
	case CBOR_ERR_DUPLICATE_KEY:
		return REASON_CBOR_DUPLICATE_KEY;
	case CBOR_ERR_TRAILING:
		return REASON_CBOR_TRAILING;
	case CBOR_ERR_DEPTH:
		return REASON_CBOR_TOO_DEEP;
	default:
		return REASON_BAD_CBOR;
	}
}

static enum verdict_reason reason_from_cose(const struct cose_error *err)
{
	switch (err->status) {
	case COSE_OK:
		return REASON_OK;
	case COSE_ERR_CBOR:
		return reason_from_cbor(err->cbor);
	case COSE_ERR_TAG:
	case COSE_ERR_STRUCTURE:
	case COSE_ERR_DETACHED:
		return REASON_NOT_COSE_SIGN1;
	case COSE_ERR_HEADER:
	case COSE_ERR_CRIT:
	case COSE_ERR_ALG_MISSING:
	case COSE_ERR_ALG_UNPROTECTED:
		return REASON_BAD_HEADER;
	case COSE_ERR_ALG_UNSUPPORTED:
		return REASON_ALG_UNSUPPORTED;
	}
	return REASON_NOT_COSE_SIGN1;
}

static const char *credential_status_text(enum credential_status st)
{
	switch (st) {
	case CREDENTIAL_OK:
		return "ok";
	case CREDENTIAL_ERR_CBOR:
		return "bad cbor";
	case CREDENTIAL_ERR_MISSING:
		return "missing";
	case CREDENTIAL_ERR_TYPE:
		return "wrong type";
	case CREDENTIAL_ERR_VALUE:
		return "bad value";
	}
	return "?";
}

/*
 * Find the key that signed msg: every key with this kid and alg is tried
 * (kids are short and may collide).  Returns NULL and sets *reason when none.
 */
static const struct trust_key *find_signer(const struct cose_sign1 *msg,
                                           const struct trust_view *trust,
                                           enum verdict_reason *reason)
{
	uint8_t tbs[CHECK_TBS_MAX];
	size_t tbs_len = 0;
	bool tbs_ready = false;
	bool any_candidate = false;
	for (size_t i = 0; i < trust->n_keys; i++) {
		const struct trust_key *k = &trust->keys[i];
		if (k->kid_len != msg->kid_len || memcmp(k->kid, msg->kid, msg->kid_len) != 0 ||
		    k->alg != msg->alg)
			continue;
		any_candidate = true;
		if (!tbs_ready) {
			if (cose_sign1_tbs(msg, NULL, 0, tbs, sizeof(tbs), &tbs_len) != QD_OK)
				break; /* cannot happen within CHECK_TEXT_MAX */
			tbs_ready = true;
		}
		if (signature_verify(msg->alg, k->public_key, k->public_len, tbs, tbs_len,
		                     msg->signature, msg->signature_len) == QD_OK)
			return k;
	}
	*reason = any_candidate ? REASON_BAD_SIGNATURE : REASON_KEY_UNKNOWN;
	return NULL;
}

static bool list_stale(const struct trust_freshness *f, int64_t trusted_time)
{
	return !f->present || trusted_time >= f->expires_at;
}

static enum verdict_reason judge(const char *text, size_t len, const struct trust_view *trust,
                                 int64_t clock_now, struct verdict *out)
{
	if (len > CHECK_TEXT_MAX) {
		snprintf(out->detail, sizeof(out->detail), "%zu characters", len);
		return REASON_TOO_LARGE;
	}
	if (len < CREDENTIAL_PREFIX_LEN ||
	    memcmp(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN) != 0)
		return REASON_BAD_PREFIX;

	uint8_t bytes[CHECK_BYTES_MAX];
	size_t n_bytes = 0;
	enum base45_status b45 =
	        base45_decode(text + CREDENTIAL_PREFIX_LEN, len - CREDENTIAL_PREFIX_LEN, bytes,
	                      sizeof(bytes), &n_bytes);
	if (b45 != BASE45_OK) {
		snprintf(out->detail, sizeof(out->detail), "base45: %s", base45_status_name(b45));
		return REASON_BAD_BASE45;
	}

	struct cose_sign1 msg;
	struct cose_error cerr;
	if (cose_sign1_parse(bytes, n_bytes, &msg, &cerr) != COSE_OK) {
		if (cerr.status == COSE_ERR_CBOR)
			snprintf(out->detail, sizeof(out->detail), "cbor: %s",
			         cbor_status_name(cerr.cbor));
		else
			snprintf(out->detail, sizeof(out->detail), "cose: %s",
			         cose_status_name(cerr.status));
		return reason_from_cose(&cerr);
	}
	out->alg = msg.alg;
	if (msg.kid_len == 0)
		return REASON_NO_KID;
	if (msg.kid_len > TRUST_KID_MAX)
		return REASON_KEY_UNKNOWN;
	memcpy(out->kid, msg.kid, msg.kid_len);
	out->kid_len = msg.kid_len;

	enum verdict_reason reason = REASON_OK;
	const struct trust_key *key = find_signer(&msg, trust, &reason);
	if (key == NULL)
		return reason;
	out->signature_ok = true;
	if (key->role != KEY_ROLE_ISSUER) {
		snprintf(out->detail, sizeof(out->detail), "signed by a %s key",
		         key_role_name(key->role) ? key_role_name(key->role) : "unknown-role");
		return REASON_KEY_WRONG_ROLE;
	}

	struct credential_error derr;
	if (credential_decode(msg.payload, msg.payload_len, &out->cred, &derr) != CREDENTIAL_OK) {
		snprintf(out->detail, sizeof(out->detail), "claims: %s (%s%s%s)",
		         derr.field ? derr.field : "?", credential_status_text(derr.status),
		         derr.status == CREDENTIAL_ERR_CBOR ? ", " : "",
		         derr.status == CREDENTIAL_ERR_CBOR ? cbor_status_name(derr.cbor) : "");
		memset(&out->cred, 0, sizeof(out->cred));
		return REASON_BAD_CLAIMS;
	}
	out->has_claims = true;
	credential_clearance_hash(out->cred.clearance.clearance_no, out->clearance_hash);
	out->has_hash = true;

	if (key->status != KEY_STATUS_ACTIVE)
		return REASON_KEY_REVOKED;
	if (out->cred.issued_at < key->not_before || out->cred.issued_at > key->not_after)
		return REASON_KEY_NOT_VALID_AT_ISSUE;

	bool revocations_unavailable = false;
	if (trust->revocations.present && trust->range_contains != NULL) {
		bool revoked = false;
		if (trust->range_contains(trust->revocation_ctx, key->kid, key->kid_len,
		                          out->cred.issued_at, &revoked) != QD_OK)
			revocations_unavailable = true;
		else if (revoked)
			return REASON_ISSUANCE_REVOKED;
	}
	if (trust->revocations.present && trust->revocation_contains != NULL) {
		bool revoked = false;
		if (trust->revocation_contains(trust->revocation_ctx, out->clearance_hash,
		                               &revoked) != QD_OK)
			revocations_unavailable = true;
		else if (revoked)
			return REASON_CARD_REVOKED;
	}

	int64_t t = out->trusted_time;
	if (t >= out->cred.expires_at)
		return REASON_CARD_EXPIRED;
	if (t + CHECK_CLOCK_SKEW < out->cred.not_before ||
	    t + CHECK_CLOCK_SKEW < out->cred.issued_at)
		return REASON_CARD_NOT_YET_VALID;

	/* Destination rules, on the departure date (the trusted time): listed in the
	 * verdict whatever amber reason wins below. */
	if (trust->policy_rules != NULL) {
		policy_evaluate(trust->policy_rules, &out->cred.clearance, t, &out->policy);
		out->policy.version = trust->policy.version;
	}

	if (revocations_unavailable)
		return REASON_TRUST_UNAVAILABLE;
	if (list_stale(&trust->keyset, t) || list_stale(&trust->revocations, t) ||
	    (trust->timestamp.present && t >= trust->timestamp.expires_at + trust->stale_grace)) {
		snprintf(out->detail, sizeof(out->detail), "%s",
		         !trust->keyset.present               ? "no key set installed"
		         : !trust->revocations.present        ? "no revocation list installed"
		         : t >= trust->keyset.expires_at      ? "key set expired"
		         : t >= trust->revocations.expires_at ? "revocation list expired"
		                                              : "repository timestamp expired");
		return REASON_TRUST_STALE;
	}
	if (clock_now < trust->time_floor) {
		snprintf(out->detail, sizeof(out->detail), "clock %lld is behind signed time %lld",
		         (long long)clock_now, (long long)trust->time_floor);
		return REASON_CLOCK_SUSPECT;
	}
	if (trust->policy_unreadable) {
		snprintf(out->detail, sizeof(out->detail), "the installed policy cannot be read");
		return REASON_POLICY_STALE;
	}
	if (trust->policy.present && t >= trust->policy.expires_at) {
		snprintf(out->detail, sizeof(out->detail), "policy version %llu expired at %lld",
		         (unsigned long long)trust->policy.version,
		         (long long)trust->policy.expires_at);
		return REASON_POLICY_STALE;
	}
	if (out->policy.n_failed > 0) {
		snprintf(out->detail, sizeof(out->detail), "rule %s: %s", out->policy.failed_id,
		         out->policy.failed_detail);
		return REASON_POLICY_FAILED;
	}
	return REASON_OK;
}

void check_code(const char *text, size_t len, const struct trust_view *trust, int64_t clock_now,
                struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->clock = clock_now;
	out->trusted_time = clock_now > trust->time_floor ? clock_now : trust->time_floor;
	verdict_set(out, judge(text, len, trust, clock_now, out));
}
