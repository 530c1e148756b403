/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trust.h - the trust state as the check sees it: a read-only view.
 *
 * The check never knows where trust comes from.  The key set and the
 * freshness facts are small and copied into the view; the revocation set may
 * hold ten million entries, so it is reached through one callback (the store
 * answers it from an index).
 */
#ifndef QRDESK_TRUST_H
#define QRDESK_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/signature.h"

#define TRUST_KID_MAX  16 /* bytes of a key id */
#define TRUST_HASH_LEN 16 /* truncated SHA-256 of a clearance number */
#define TRUST_KEYS_MAX 64 /* keys in one key set */

/* A key's role says what it may sign (TUF's lesson: one key, one job). */
enum key_role {
	KEY_ROLE_ROOT = 1,       /* signs key sets and new roots; offline, pinned */
	KEY_ROLE_ISSUER = 2,     /* signs clearance cards */
	KEY_ROLE_REPOSITORY = 3, /* signs revocation lists, policy, timestamps */
	KEY_ROLE_UPDATE = 4,     /* signs USB update bundles and export requests */
};

enum key_status {
	KEY_STATUS_ACTIVE = 0,
	KEY_STATUS_REVOKED = 1,
};

struct trust_key {
	uint8_t kid[TRUST_KID_MAX];
	uint8_t kid_len;
	int64_t alg; /* SIGNATURE_ALG_* */
	enum key_role role;
	enum key_status status;
	uint8_t public_key[SIGNATURE_PUBLIC_MAX];
	uint8_t public_len;
	int64_t not_before; /* validity window, seconds since the epoch (inclusive) */
	int64_t not_after;
};

/*
 * A revoked issuance window: every card signed by the key kid with iat in
 * [from, to) is refused (ISSUANCE_REVOKED), against insider mis-issuance
 * through one compromised account; the key's other cards stay valid.
 */
struct trust_range {
	uint8_t kid[TRUST_KID_MAX];
	uint8_t kid_len;
	int64_t from; /* inclusive */
	int64_t to;   /* exclusive */
};

/* The kinds of signed trust document a desk imports. */
enum trust_doc_type {
	TRUST_DOC_KEYSET = 1,      /* signed by root */
	TRUST_DOC_REVOCATIONS = 2, /* signed by repository */
	TRUST_DOC_POLICY = 3,      /* signed by repository */
	TRUST_DOC_TIMESTAMP = 4,   /* signed by repository */
	/* Changes from one revocations version to the next; applied on top of
	 * exactly its base version and then stored as that revocations version. */
	TRUST_DOC_REVOCATIONS_DELTA = 5, /* signed by repository */
	/* A new root: signed by the previous root and by itself (docs/repository.md). */
	TRUST_DOC_ROOT = 6,
	/* The airport-to-country table boarding passes are matched with (airport.h). */
	TRUST_DOC_AIRPORTS = 7, /* signed by repository */
	/* The fleet's desks and their batch-signing keys (desklist.h). */
	TRUST_DOC_DESKS = 8, /* signed by repository */
	/* The cards that passed green at some desk of the fleet (usedlist.h). */
	TRUST_DOC_USED = 9, /* signed by repository */
	/* Changes from one used version to the next; applied on top of exactly its base version
	 * and then stored as that used version (usedlist.h). */
	TRUST_DOC_USED_DELTA = 10, /* signed by repository */
};

/*
 * The one list of trust-document types (firmware/core/trust.c, trust_doc_types[]).  Trust,
 * the store, sync, import, a USB stick, the issuer's publish, the status, the metrics and
 * qrdeskctl all read their names, signers and handling from it; docs/architecture.md says
 * how to add a type.  Type numbers are kept in the store: append, never renumber.
 */
#define TRUST_DOC_SLOTS 16 /* one past the largest type number */

/* How the store keeps a type; cache/store.c has one handler per kind. */
enum trust_doc_kind {
	TRUST_DOC_KIND_ROOT = 1,    /* the pinned-root chain */
	TRUST_DOC_KIND_KEYS,        /* the key table */
	TRUST_DOC_KIND_REVOCATIONS, /* the hash index and the revoked windows */
	TRUST_DOC_KIND_DELTA,     /* applied onto the revocations; installs a revocations version */
	TRUST_DOC_KIND_TIMESTAMP, /* the repository's timestamp: its version only */
	TRUST_DOC_KIND_BODY,      /* its signed body kept whole (trustdoc's blob), read by type */
	/* Changes to a type kept whole (trustdoc's body_delta); installs a version of delta_of. */
	TRUST_DOC_KIND_BODY_DELTA,
};

struct trust_doc_info {
	enum trust_doc_type type;
	const char *name;  /* the payload's type string, the file stem (NAME.cose), logs, JSON */
	const char *label; /* for people: the kiosk's USB report */
	enum key_role signer;
	enum trust_doc_kind kind;
	/* Sync takes a newer version when the timestamp names one; required: a timestamp that
	 * names none is refused (an optional type is skipped when not named). */
	bool synced;
	bool required;
	/* Shown: its freshness is in the status, /metrics and qrdeskctl; needed: doctor fails
	 * when it is not installed (else warns). */
	bool shown;
	bool needed;
	int publish_days; /* the issuer's default validity in days */
	/*
	 * Deltas: on a type a delta is published for, that delta's type (0: none); on a delta
	 * (KIND_DELTA, KIND_BODY_DELTA), the type whose version it installs.  Sync takes the
	 * delta when it starts at exactly the installed version, else the snapshot.
	 */
	enum trust_doc_type delta;
	enum trust_doc_type delta_of;
	/*
	 * KIND_BODY only: judge the body (the bytes of payload key 5) before it is stored; NULL
	 * takes any well-formed CBOR item.  KIND_BODY_DELTA: judge the changes alone.  *entries:
	 * how many entries it holds (for the import's report).  Called once the signer, role and
	 * dates are known good.
	 */
	enum qd_err (*check_body)(const uint8_t *body, size_t len, size_t *entries,
	                          struct qd_errmsg *why);
	/*
	 * KIND_BODY_DELTA only: the installed body of delta_of with the changes applied, into
	 * *out (malloc'd).  QD_ERR_BASE: the installed body is not the one the changes were made
	 * from.  The store calls it inside the transaction that writes the result.
	 */
	enum qd_err (*apply_delta)(const uint8_t *base, size_t base_len, const uint8_t *changes,
	                           size_t changes_len, uint8_t **out, size_t *out_len,
	                           struct qd_errmsg *why);
};

/* The rows, in the order sync applies them (the root first, the timestamp last). */
extern const struct trust_doc_info trust_doc_types[];
extern const size_t trust_doc_types_count;

/* The row of a type; NULL if unknown. */
const struct trust_doc_info *trust_doc_info(enum trust_doc_type type);
/* The row's name; NULL if unknown. */
const char *trust_doc_type_name(enum trust_doc_type type);
enum qd_err trust_doc_type_parse(const char *name, size_t len, enum trust_doc_type *type);
/* The role whose key must sign a document of this type. */
enum key_role trust_doc_signer_role(enum trust_doc_type type);
/* The type whose version a document installs (a delta: its delta_of; else itself). */
enum trust_doc_type trust_doc_installs(enum trust_doc_type type);

/* What we know of one signed list: which version, when signed, until when. */
struct trust_freshness {
	bool present;
	uint64_t version;
	int64_t signed_at;
	int64_t expires_at;
};

struct policy; /* policy.h */

struct trust_view {
	const struct trust_key *keys;
	size_t n_keys;
	struct trust_freshness keyset;
	struct trust_freshness revocations;
	struct trust_freshness policy;
	struct trust_freshness timestamp;
	/*
	 * The installed policy's destination rules; NULL when none is installed
	 * (no rules: every card passes them).  policy_unreadable: one is
	 * installed but cannot be decoded, which turns verdicts amber.
	 */
	const struct policy *policy_rules;
	bool policy_unreadable;
	int64_t time_floor; /* newest signed time seen; the clock is never trusted below it */
	/*
	 * Seconds after the repository timestamp expires (a freeze: the desk
	 * cannot reach a fresh one) during which a verdict may still be green;
	 * past it, TRUST_STALE.  0: amber at once.  The key set's and the
	 * revocation list's own expiry have no grace.
	 */
	int64_t stale_grace;
	/*
	 * Is hash on the revocation list?  QD_OK with *revoked set, or an error
	 * (the store failed) - which the check turns into a review verdict.
	 */
	enum qd_err (*revocation_contains)(void *ctx, const uint8_t hash[TRUST_HASH_LEN],
	                                   bool *revoked);
	/*
	 * Does a revoked issuance window of key kid cover iat?  One range lookup
	 * (windows of a kid never overlap), asked with revocation_ctx; NULL: none.
	 */
	enum qd_err (*range_contains)(void *ctx, const uint8_t *kid, size_t kid_len, int64_t iat,
	                              bool *revoked);
	void *revocation_ctx;
	/* The freshness of every other shown type of the list, by type number. */
	struct trust_freshness more[TRUST_DOC_SLOTS];
};

/* The freshness of a shown type: the fields above for the first four, else more[type]. */
const struct trust_freshness *trust_view_freshness(const struct trust_view *v,
                                                   enum trust_doc_type type);

/* "root", "issuer", "repository", "update"; NULL for an unknown value. */
const char *key_role_name(enum key_role role);
enum qd_err key_role_parse(const char *name, size_t len, enum key_role *role);

/*
 * The key id qrdesk derives for a public key: the first TRUST_KID_DEFAULT_LEN
 * bytes of its SHA-256 (as the EU DCC does).  Any kid in a key set is
 * accepted; this is only what our own tools assign.
 */
#define TRUST_KID_DEFAULT_LEN 8
void trust_kid_derive(const uint8_t *pub, size_t pub_len, uint8_t kid[TRUST_KID_DEFAULT_LEN]);

#endif
