/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domain.h - a back office's trust domain, kept in one directory:
 *
 *   DIR/domain.json        keys (public halves, roles, windows, status) and
 *                          the version last published of each document
 *   DIR/keys/<kid>.key     each private key held in a file, 64 hex digits,
 *                          mode 0600 (a key in a PKCS#11 token, or registered
 *                          from its public half only, has none)
 *   DIR/root.pub           the root public key that desks pin
 *   DIR/revocations.bin    revoked clearance hashes, 16 bytes each, sorted
 *   DIR/policy.cbor        the destination policy body (absent: no rules),
 *                          written by domain_policy_set (docs/policy.md)
 *   DIR/airports.cbor      the airport table's body (absent: none published;
 *                          desks keep their built-in table), domain_airports_set
 *   DIR/desks.cbor         the fleet's desk list's body (desklist.h; absent: no desk
 *                          registered), domain_desk_add / domain_desk_retire
 *   DIR/published/revocations-V.bin  the hashes of revocations version V as
 *                          last published: the base of the next delta
 *   DIR/roots/root-N.cose  each root after the first, signed by the one
 *                          before and by itself (domain_rotate_root)
 *
 * Every file is replaced atomically, so an interrupted command leaves the
 * domain as it was.
 */
#ifndef QRDESK_ISSUER_DOMAIN_H
#define QRDESK_ISSUER_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/credential.h"
#include "qrdesk/error.h"
#include "qrdesk/policy.h"
#include "qrdesk/signature.h"
#include "qrdesk/trust.h"

#define DOMAIN_FORMAT    "qrdesk-domain-1"
#define DOMAIN_DOC_TYPES TRUST_DOC_SLOTS /* indexed by enum trust_doc_type */

/* Where a key's secret lives: what the tool may sign with. */
enum domain_secret {
	DOMAIN_SECRET_FILE = 0,   /* DIR/keys/<kid>.key */
	DOMAIN_SECRET_PKCS11 = 1, /* a token, named by a PKCS#11 URI (RFC 7512) */
	DOMAIN_SECRET_NONE = 2,   /* elsewhere: registered from its public half */
};

#define DOMAIN_URI_MAX   512
#define DOMAIN_LABEL_MAX 64

struct domain_key_info {
	enum domain_secret secret;
	char uri[DOMAIN_URI_MAX + 1]; /* DOMAIN_SECRET_PKCS11 */
	char label[DOMAIN_LABEL_MAX + 1];
	bool retired; /* its window was ended early by retire-key */
};

struct domain {
	char dir[2048];
	int64_t created_at;
	struct trust_key keys[TRUST_KEYS_MAX];
	struct domain_key_info info[TRUST_KEYS_MAX]; /* beside keys[i] */
	size_t n_keys;
	uint64_t versions[DOMAIN_DOC_TYPES]; /* last published version per type; root: 0 = 1 */
};

/* Create DIR (must not hold a domain yet) with a root and one key of each role. */
enum qd_err domain_init(const char *dir, int64_t now, struct domain *d, struct qd_errmsg *why);
enum qd_err domain_load(const char *dir, struct domain *d, struct qd_errmsg *why);
enum qd_err domain_save(const struct domain *d, struct qd_errmsg *why);

/* Create a key of role and alg valid [not_before, not_after]; its index in *index. */
enum qd_err domain_add_key(struct domain *d, enum key_role role, int64_t alg, int64_t not_before,
                           int64_t not_after, size_t *index, struct qd_errmsg *why);

/* The same for a given key pair (kp->alg), e.g. a fixed test key; the secret is written
 * under DIR/keys, which must exist. */
enum qd_err domain_add_keypair(struct domain *d, enum key_role role,
                               const struct signature_keypair *kp, int64_t not_before,
                               int64_t not_after, size_t *index, struct qd_errmsg *why);

/*
 * Register a key whose secret the tool does not hold in a file (info says
 * where it is: a token, or elsewhere), with its public half in k (alg, key,
 * kid).  QD_ERR_EXISTS naming the kid if the same key is there already, or if
 * its kid is another key's.
 */
enum qd_err domain_register_key(struct domain *d, const struct trust_key *k,
                                const struct domain_key_info *info, size_t *index,
                                struct qd_errmsg *why);

/* "file", "pkcs11", "elsewhere". */
const char *domain_secret_name(enum domain_secret secret);

/* A key's state at now: "active", "pending", "expired", "retired", "revoked". */
const char *domain_key_state(const struct domain *d, size_t i, int64_t now);

/*
 * A COSE_Sign1 of payload by key i, wherever its secret lives (a file, a
 * token); why names the key when it cannot sign.  QD_ERR_TOO_LARGE: out too small.
 */
enum qd_err domain_cose_sign(const struct domain *d, size_t i, const uint8_t *payload,
                             size_t payload_len, uint8_t *out, size_t cap, size_t *out_len,
                             struct qd_errmsg *why);

/*
 * Register the key in a PKCS#11 token that uri names (its public half read
 * from the token, after a login that proves the private half is there).
 */
enum qd_err domain_register_pkcs11(struct domain *d, enum key_role role, const char *uri,
                                   int64_t not_before, int64_t not_after, const char *label,
                                   size_t *index, struct qd_errmsg *why);

/* Load the private half of key i (a key held in a file only). */
enum qd_err domain_keypair(const struct domain *d, size_t i, struct signature_keypair *kp,
                           struct qd_errmsg *why);

/*
 * The key of this role to sign with now: active, window covering now, the
 * given alg (0 = any), its secret in a file or a token (never a key registered
 * without one), the newest not_before.  -1 if there is none.
 */
int domain_pick_key(const struct domain *d, enum key_role role, int64_t alg, int64_t now);

/* Find a key by kid hex; -1 if none. */
int domain_find_kid(const struct domain *d, const char *kid_hex);

/* Revocations: load all (malloc'd, sorted, unique), and add some. */
enum qd_err domain_revocations_load(const struct domain *d, uint8_t **hashes, size_t *count,
                                    struct qd_errmsg *why);
enum qd_err domain_revocations_add(const struct domain *d, const uint8_t *hashes, size_t count,
                                   size_t *added, struct qd_errmsg *why);

/*
 * Set the domain's destination policy: encode it, check the encoding with the
 * desks' own decoder (QD_ERR_FORMAT naming the rule and field), then replace
 * DIR/policy.cbor; a refused policy leaves the old one.  The next publish
 * signs it.  *body_len (may be NULL) gets the encoded size.
 */
enum qd_err domain_policy_set(const struct domain *d, const struct policy *policy, size_t *body_len,
                              struct qd_errmsg *why);

/*
 * Set the domain's airport table (docs/binding.md) from its text: parsed with the
 * desks' own parser (QD_ERR_FORMAT naming the line), then DIR/airports.cbor is
 * replaced; a refused table leaves the old one.  The next publish signs it.
 * *airports (may be NULL) gets how many it holds.
 */
enum qd_err domain_airports_set(const struct domain *d, const char *text, size_t len,
                                size_t *airports, struct qd_errmsg *why);

struct desk_list;

/* The domain's desk list (DIR/desks.cbor) into out: empty when none is registered. */
enum qd_err domain_desks_load(const struct domain *d, struct desk_list *out, struct qd_errmsg *why);

/*
 * Register a desk: its id and its Ed25519 public key (as `qrdeskctl enroll` printed it),
 * active from now.  QD_ERR_EXISTS if the id or the key is listed (a retired desk's id is
 * never reused: its old batches stay its own).  The next publish signs the list.
 */
enum qd_err domain_desk_add(const struct domain *d, const char *id, const uint8_t *pub,
                            size_t pub_len, int64_t now, struct qd_errmsg *why);

/* Retire a desk at now: its batches signed later are refused by ingest.  QD_ERR_NOT_FOUND
 * if unknown, QD_ERR_EXISTS if retired already. */
enum qd_err domain_desk_retire(const struct domain *d, const char *id, int64_t now,
                               struct qd_errmsg *why);

/* Sign a card with key index; text gets "BC1:" + base45, NUL-terminated. */
enum qd_err domain_sign_card(const struct domain *d, size_t index, const struct credential *cred,
                             char *text, size_t cap, size_t *cose_len, struct qd_errmsg *why);

/* What domain_publish wrote. */
struct domain_publication {
	struct {
		const char *name;
		uint64_t version;
		long days;
	} files[TRUST_DOC_SLOTS];
	size_t count;
};

/* Default lifetimes in days per document type: key set 365, revocations 7, policy 30, timestamp 1.
 */
void domain_publish_days_defaults(long days[DOMAIN_DOC_TYPES]);

/*
 * Sign and write OUTDIR/{keyset,revocations,policy,timestamp}.cose, each a
 * new version signed at now, and save the new versions in the domain.
 */
enum qd_err domain_publish(struct domain *d, const char *outdir, const long days[DOMAIN_DOC_TYPES],
                           int64_t now, struct domain_publication *pub, struct qd_errmsg *why);

/*
 * Make root version N+1: a new root key (made here, its secret in a file;
 * or, with pkcs11_uri, the key in a token); root-(N+1).cose signed by the
 * current root and by the new one (DIR/roots/); the old root key is retired.
 * The next publish ships the chain and signs the key set with the new root.
 */
enum qd_err domain_rotate_root(struct domain *d, int64_t now, const char *pkcs11_uri,
                               uint64_t *version, struct qd_errmsg *why);

/* Path of a file inside the domain directory (static buffer, one per call site use). */
void domain_path(const struct domain *d, const char *name, char *out, size_t cap);

#endif
