/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trustdoc.h - payloads of the signed trust documents (key set, revocation
 * list, policy, timestamp).  Each is the payload of a COSE_Sign1; this module
 * only encodes and decodes the payload CBOR, strictly and within bounds.
 *
 * Every payload is a map:
 *   1: type (tstr: a name of the list of types in trust.h: "keyset", "revocations",
 *      "policy", "timestamp", "revocations-delta", "root", ...)
 *   2: version (uint, strictly increasing per type)
 *   3: issued_at (uint, Unix seconds: the signed time)
 *   4: expires_at (uint, Unix seconds)
 *   5: body (type-specific, below)
 * docs/trust-documents.md is the full description.
 */
#ifndef QRDESK_TRUSTDOC_H
#define QRDESK_TRUSTDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/error.h"
#include "qrdesk/trust.h"

/* Entries of one timestamp: every type of the list, with room for types to come. */
#define TRUSTDOC_TIMESTAMP_ENTRIES_MAX 16
/* Largest revocation list accepted: 16 million hashes (256 MiB). */
#define TRUSTDOC_REVOCATIONS_MAX (16u * 1024u * 1024u)

struct trustdoc_header {
	enum trust_doc_type type;
	uint64_t version;
	int64_t issued_at;
	int64_t expires_at;
};

/* body of "keyset": array of key maps {1 kid, 2 alg, 3 role, 4 public key, 5 not_before, 6
 * not_after, 7 status} */
struct trustdoc_keyset {
	struct trust_key keys[TRUST_KEYS_MAX];
	size_t count;
};

/* Most revoked issuance windows in one list (about 30 bytes each). */
#define TRUSTDOC_RANGES_MAX 100000u

/*
 * A list of revoked issuance windows: an array of [kid (bstr, 1..16), from
 * (uint), to (uint)], from < to, ordered by kid (bytewise, a shorter kid
 * first when one is a prefix of the other) then from, and the windows of one
 * kid never overlapping (one range lookup finds the only candidate).  Kept
 * as the payload bytes of the entries, checked by the decoder.
 */
struct trustdoc_ranges {
	const uint8_t *bytes; /* the entries after the array head; NULL with count 0 */
	size_t len;
	size_t count;
};

/* The checked entries of ranges into out[0..ranges->count). */
void trustdoc_ranges_read(const struct trustdoc_ranges *ranges, struct trust_range *out);

/* Order of two windows as the lists keep them: <0, 0 (same kid and from), >0. */
int trustdoc_range_cmp(const struct trust_range *a, const struct trust_range *b);

/*
 * body of "revocations": map {1: hash length (16), 2: bstr of count*16 bytes,
 * ascending, unique, 3: revoked issuance windows (optional)}
 */
struct trustdoc_revocations {
	const uint8_t *hashes; /* points into the payload */
	size_t count;
	struct trustdoc_ranges ranges;
};

/*
 * body of "revocations-delta": map {1: hash length (16), 2: base version,
 * 3: bstr of added hashes, 4: bstr of removed hashes, 5: windows added,
 * 6: windows removed (5 and 6 optional, as ranges above)}; each list
 * ascending and unique, the two disjoint.  The header's version is the
 * revocations version the delta produces, above the base.
 */
struct trustdoc_revocations_delta {
	uint64_t base_version;
	const uint8_t *added; /* point into the payload */
	size_t n_added;
	const uint8_t *removed;
	size_t n_removed;
	struct trustdoc_ranges ranges_added; /* decoded */
	struct trustdoc_ranges ranges_removed;
	/* for the encoder: windows as structs (an empty list's key is left out) */
	const struct trust_range *put_ranges_added;
	size_t n_put_ranges_added;
	const struct trust_range *put_ranges_removed;
	size_t n_put_ranges_removed;
};

/*
 * body of a delta to a type kept whole (TRUST_DOC_KIND_BODY_DELTA, "used-delta"): map
 * {1: base version, 2: changes (one CBOR item, judged and applied by the row's check_body
 * and apply_delta)}.  The header's version is the version it produces, above the base.
 */
struct trustdoc_body_delta {
	uint64_t base_version;
	const uint8_t *changes; /* points into the payload */
	size_t changes_len;
};

/* body of "root": array (1..4) of key maps as in a key set, each of role root */
#define TRUSTDOC_ROOT_KEYS_MAX 4
struct trustdoc_root {
	struct trust_key keys[TRUSTDOC_ROOT_KEYS_MAX];
	size_t count;
};

/*
 * body of "timestamp": array of {1 type, 2 version, 3 length, 4 sha256,
 * 5 base version}; 5 is present on a delta's entry (a type with delta_of) and only there.
 */
struct trustdoc_timestamp_entry {
	enum trust_doc_type type;
	uint64_t version;
	uint64_t length;
	uint8_t sha256[32];
	uint64_t base_version; /* a delta only; else 0 */
};
struct trustdoc_timestamp {
	struct trustdoc_timestamp_entry entries[TRUSTDOC_TIMESTAMP_ENTRIES_MAX];
	size_t count;
};

/*
 * body of "policy" and of every other type the list keeps whole (TRUST_DOC_KIND_BODY): one
 * CBOR item, kept as its raw bytes; the list's check_body interprets it (policy: the policy
 * module).
 */
struct trustdoc_policy {
	const uint8_t *body;
	size_t body_len;
};

struct trustdoc {
	struct trustdoc_header header;
	union {
		struct trustdoc_keyset keyset;
		struct trustdoc_revocations revocations;
		struct trustdoc_timestamp timestamp;
		struct trustdoc_policy policy;
		struct trustdoc_policy blob; /* any KIND_BODY type (policy included) */
		struct trustdoc_revocations_delta delta;
		struct trustdoc_body_delta body_delta; /* KIND_BODY_DELTA */
		struct trustdoc_root root;
	} body;
};

/* Decode a whole payload; on failure why says which field is wrong. */
enum qd_err trustdoc_decode(const uint8_t *payload, size_t len, struct trustdoc *out,
                            struct qd_errmsg *why);

/* The base version of a decoded delta of either kind; 0 for a document that is no delta. */
uint64_t trustdoc_delta_base(const struct trustdoc *doc);

/*
 * Encoders for the issuer: write the payload into w (size it with a
 * counting pass: a writer with cap 0 reports the length in w->len).
 */
void trustdoc_encode_keyset(struct cbor_writer *w, const struct trustdoc_header *h,
                            const struct trust_key *keys, size_t count);
void trustdoc_encode_revocations(struct cbor_writer *w, const struct trustdoc_header *h,
                                 const uint8_t *hashes, size_t count);
/* The same with revoked issuance windows (in the lists' order; none: as above). */
void trustdoc_encode_revocations_ranges(struct cbor_writer *w, const struct trustdoc_header *h,
                                        const uint8_t *hashes, size_t count,
                                        const struct trust_range *ranges, size_t n_ranges);
void trustdoc_encode_timestamp(struct cbor_writer *w, const struct trustdoc_header *h,
                               const struct trustdoc_timestamp *ts);
void trustdoc_encode_revocations_delta(struct cbor_writer *w, const struct trustdoc_header *h,
                                       const struct trustdoc_revocations_delta *delta);
void trustdoc_encode_root(struct cbor_writer *w, const struct trustdoc_header *h,
                          const struct trust_key *keys, size_t count);
/* A delta to a type kept whole (TRUST_DOC_KIND_BODY_DELTA); changes: one well-formed item. */
void trustdoc_encode_body_delta(struct cbor_writer *w, const struct trustdoc_header *h,
                                const struct trustdoc_body_delta *delta);
/* Any type the list keeps whole (TRUST_DOC_KIND_BODY); body must be one well-formed CBOR map. */
void trustdoc_encode_body(struct cbor_writer *w, const struct trustdoc_header *h,
                          const uint8_t *body, size_t body_len);
/* The same for a policy. */
void trustdoc_encode_policy(struct cbor_writer *w, const struct trustdoc_header *h,
                            const uint8_t *body, size_t body_len);

#endif
