/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.h - verify a signed trust document, then apply it to the store.
 *
 * The one path by which trust data enters a desk: `qrdeskctl import`, the
 * sync worker and USB bundles all call import_document().  Steps:
 *   parse COSE_Sign1 -> find the signer among the pinned roots and the key
 *   set by kid -> verify -> the signer's role must be the one the document
 *   type requires, its key active and the signed time inside its window ->
 *   decode the payload (a policy's rules too, policy.h) -> not expired at
 *   trusted time -> apply in one transaction (the store refuses rollback;
 *   the same version is a no-op).
 * Nothing is written unless every step passes.
 */
#ifndef QRDESK_IMPORT_H
#define QRDESK_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/store.h"
#include "qrdesk/trust.h"

struct trustdoc; /* trustdoc.h */

/* Largest signed file accepted (a 16 million-entry revocation list and change). */
#define IMPORT_FILE_MAX (300u * 1024u * 1024u)

struct import_result {
	enum trust_doc_type type;
	uint64_t version;
	uint64_t previous_version; /* 0 if none was installed */
	bool unchanged;            /* the same version was already installed */
	int64_t signed_at;
	int64_t expires_at;
	size_t entries; /* keys, revocations, destination rules or timestamp entries in it */
	uint8_t signer_kid[TRUST_KID_MAX];
	size_t signer_kid_len;
};

enum qd_err import_document(struct store *store, const uint8_t *bytes, size_t len,
                            int64_t clock_now, struct import_result *result, struct qd_errmsg *why);

/*
 * The two halves of import_document, for sync, which verifies every file of
 * a repository before it applies any (in one store batch).
 *
 * import_verify runs every check but the store's version comparison.
 * keyset/n_keyset, if keyset is not NULL, stand in for the store's key set as
 * the candidate signers: the key set verified earlier in the same sync, so a
 * timestamp signed by a newly listed repository key verifies.  The verified
 * document points into bytes: keep them until import_apply and release.
 */
struct import_verified {
	struct trustdoc *doc; /* malloc'd */
	struct store_doc_meta meta;
	struct import_result result;
};
enum qd_err import_verify(struct store *store, const uint8_t *bytes, size_t len, int64_t clock_now,
                          const struct trust_key *keyset, size_t n_keyset,
                          struct import_verified *out, struct qd_errmsg *why);
/*
 * The general form: roots/n_roots, if roots is not NULL, stand
 * in for the pinned roots (a root verified earlier in the same sync: rotation
 * steps one version at a time); keyset as above; intermediate_root: a root
 * document is judged without its expiry (an old step of a rotation chain; the
 * newest root's expiry is judged).
 */
struct import_signers {
	const struct trust_key *roots;
	size_t n_roots;
	const struct trust_key *keyset;
	size_t n_keyset;
	bool intermediate_root;
};
enum qd_err import_verify_with(struct store *store, const uint8_t *bytes, size_t len,
                               int64_t clock_now, const struct import_signers *signers,
                               struct import_verified *out, struct qd_errmsg *why);
/* Apply a verified document: its own transaction, or a savepoint in a batch. */
enum qd_err import_apply(struct store *store, struct import_verified *v, struct qd_errmsg *why);
void import_verified_release(struct import_verified *v);

/*
 * Read a whole regular file (bounded by IMPORT_FILE_MAX; file_read: a FIFO at
 * the path is refused, not waited on) and import it.
 */
enum qd_err import_file(struct store *store, const char *path, int64_t clock_now,
                        struct import_result *result, struct qd_errmsg *why);

/*
 * Signed files that are not trust documents (USB bundles, export requests):
 * parse the COSE_Sign1 in bytes, find the signer among the
 * pinned roots and the installed key set, verify, and require one of roles
 * and an active key.  keyset/n_keyset, if keyset is not NULL, stand in for
 * the installed key set (as in import_verify).  msg points into bytes.  The
 * caller checks its own payload's signed time against the signer's window.
 */
struct cose_sign1; /* cose.h */
enum qd_err import_verify_signer(struct store *store, const uint8_t *bytes, size_t len,
                                 const struct trust_key *keyset, size_t n_keyset,
                                 const enum key_role *roles, size_t n_roles, struct cose_sign1 *msg,
                                 struct trust_key *signer, struct qd_errmsg *why);

#endif
