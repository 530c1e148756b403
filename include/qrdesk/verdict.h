/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verdict.h - what the desk shows: a verdict, its reason, and the messages.
 *
 * Every verdict has exactly one reason.  A reason's code string is stable
 * (logs, audit rows, the kiosk and the back office match on it), so reasons
 * are only ever appended, never renumbered or renamed.  Each reason belongs to
 * one kind; reason_kind() says which.
 */
#ifndef QRDESK_VERDICT_H
#define QRDESK_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/credential.h"
#include "qrdesk/policy.h"
#include "qrdesk/trust.h"

enum verdict_kind {
	VERDICT_VALID = 0,   /* green */
	VERDICT_INVALID = 1, /* red */
	VERDICT_REVIEW = 2,  /* amber: an officer decides */
};

enum verdict_reason {
	REASON_OK = 0,
	/* invalid: the text is not a card of ours */
	REASON_TOO_LARGE,          /* longer than any card can be */
	REASON_BAD_PREFIX,         /* not "BC1:" */
	REASON_BAD_BASE45,         /* characters or lengths that are not base45 */
	REASON_BAD_CBOR,           /* not well-formed CBOR */
	REASON_CBOR_NON_MINIMAL,   /* CBOR not in shortest form */
	REASON_CBOR_INDEFINITE,    /* indefinite lengths */
	REASON_CBOR_DUPLICATE_KEY, /* a map repeats a key */
	REASON_CBOR_TRAILING,      /* bytes after the message */
	REASON_CBOR_TOO_DEEP,      /* nested too deeply */
	REASON_NOT_COSE_SIGN1,     /* not a COSE_Sign1 message */
	REASON_BAD_HEADER,         /* COSE header breaks the rules */
	REASON_ALG_UNSUPPORTED,    /* not EdDSA or ES256 */
	REASON_NO_KID,             /* no key id */
	REASON_BAD_CLAIMS,         /* payload claims missing, mistyped or malformed */
	/* invalid: the signature or key */
	REASON_KEY_UNKNOWN,            /* no key with this kid and alg in the key set */
	REASON_BAD_SIGNATURE,          /* no candidate key verifies the signature */
	REASON_KEY_WRONG_ROLE,         /* signed by a key that may not sign cards */
	REASON_KEY_REVOKED,            /* the issuer key is revoked */
	REASON_KEY_NOT_VALID_AT_ISSUE, /* iat outside the issuer key's window */
	/* invalid: the card */
	REASON_CARD_REVOKED,
	REASON_CARD_EXPIRED,
	REASON_CARD_NOT_YET_VALID,
	/* review */
	REASON_TRUST_STALE,       /* key set or revocation list past expiry, or missing */
	REASON_CLOCK_SUSPECT,     /* the clock is behind the newest signed time */
	REASON_TRUST_UNAVAILABLE, /* the revocation list could not be read */
	REASON_POLICY_FAILED,     /* a destination rule fails (verdict.policy says which) */
	REASON_POLICY_STALE,      /* the policy is past expiry, or cannot be read */
	REASON_ALREADY_USED,      /* this card already passed a desk (daemon issue) */
	/* The traveller bound to the card (binding.h, docs/binding.md); detail names the field. */
	REASON_PASSPORT_MISMATCH,             /* invalid: a passport field differs from the card */
	REASON_PASSPORT_MRZ_INVALID,          /* review: the MRZ fails a check digit or its shape */
	REASON_PASSPORT_EXPIRES_SOON,         /* review: expires before the card does */
	REASON_BOARDING_NAME_MISMATCH,        /* review: the pass's name is not the card's */
	REASON_BOARDING_DESTINATION_MISMATCH, /* review: the last leg lands elsewhere */
	REASON_BOARDING_PASS_INVALID,         /* review: the pass's text breaks Resolution 792 */
	REASON_BINDING_INCOMPLETE,            /* review: time ran out before a required document */
	/* invalid: the card's key and iat fall in a revoked issuance window (trust.h) */
	REASON_ISSUANCE_REVOKED,
	REASON_COUNT
};

struct verdict {
	enum verdict_kind kind;
	enum verdict_reason reason;
	bool has_claims;   /* cred is filled (parsed, possibly before a later failure) */
	bool signature_ok; /* a trusted key of ours verified it */
	struct credential cred;
	uint8_t kid[TRUST_KID_MAX];
	size_t kid_len;
	int64_t alg;
	bool has_hash;
	uint8_t clearance_hash[TRUST_HASH_LEN];
	int64_t clock;        /* the device clock given to the check */
	int64_t trusted_time; /* max(clock, time floor): what expiry is judged by */
	char detail[128];     /* a technical detail for logs ("cbor: duplicate-key") */
	/* Destination rules: evaluated once the card passed the red checks. */
	struct policy_result policy;
};

enum verdict_kind reason_kind(enum verdict_reason reason);
/* "valid", "invalid", "review". */
const char *verdict_kind_name(enum verdict_kind kind);
/* Stable code, upper snake case: "CARD_REVOKED". */
const char *reason_code(enum verdict_reason reason);
/* One-line messages for the officer, in English and Bengali (UTF-8). */
const char *reason_text_en(enum verdict_reason reason);
const char *reason_text_bn(enum verdict_reason reason);
/*
 * What the officer reads for this verdict: the failed rule's own message
 * (from the policy) for POLICY_FAILED, else the reason's.
 */
const char *verdict_message_en(const struct verdict *v);
const char *verdict_message_bn(const struct verdict *v);
/* Reverse of reason_code; false if unknown. */
bool reason_from_code(const char *code, enum verdict_reason *reason);

/* Set kind and reason together (kind derived from reason). */
void verdict_set(struct verdict *v, enum verdict_reason reason);

#endif
