/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usedlist.h - the fleet's "already used" list: the cards that passed green at
 * some desk, by audit pseudonym, with the first time and desk (docs/fleet.md).
 *
 * The back office builds it from the rows it has ingested and publishes it as
 * the signed trust document "used" (docs/trust-documents.md); a desk that has
 * it installed answers ALREADY_USED (review) for a card in it, naming that
 * desk and time, though it never saw the card itself.
 *
 * Entries are keyed by the audit pseudonym (credential_pseudonym: HMAC-SHA-256
 * under the deployment's audit key, truncated to TRUST_HASH_LEN), never by
 * a plain hash of the clearance number: those are a small number space and
 * would give every card's number away to anyone holding the list.  Its body
 * is a CBOR map with one entry, 1: an array of entries, each an array
 *
 *     [pseudonym (bstr, TRUST_HASH_LEN), first used at (uint, seconds),
 *      desk id (tstr, desk_id_valid)]
 *
 * in strictly ascending order of pseudonym (bytewise), so a lookup bisects
 * and a repeated card is an error.
 */
#ifndef QRDESK_USEDLIST_H
#define QRDESK_USEDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/desklist.h"
#include "qrdesk/error.h"
#include "qrdesk/trust.h"

#define USEDLIST_MAX 1000000
/* Bytes of the largest body: USEDLIST_MAX entries of at most 56 bytes each, and the head. */
#define USEDLIST_BODY_MAX ((size_t)USEDLIST_MAX * 56 + 16)

struct used_entry {
	uint8_t pseudonym[TRUST_HASH_LEN];
	int64_t first_at; /* seconds */
	char desk[DESK_ID_MAX + 1];
};

struct used_list {
	size_t n;
	struct used_entry *rows; /* malloc'd, n of them, ascending pseudonym */
};

/* The entry of pseudonym, or NULL. */
const struct used_entry *usedlist_find(const struct used_list *list,
                                       const uint8_t pseudonym[TRUST_HASH_LEN]);

/* Decode a body into out, overwriting it (free a list it held first; rows malloc'd: free with
 * usedlist_free).  On failure out is empty and why says what.  An empty list is valid. */
enum qd_err usedlist_from_body(const uint8_t *body, size_t len, struct used_list *out,
                               struct qd_errmsg *why);
void usedlist_free(struct used_list *list);
/* The same, judging only (the trust-document list's check_body): *entries cards. */
enum qd_err usedlist_check_body(const uint8_t *body, size_t len, size_t *entries,
                                struct qd_errmsg *why);
/* Encode list (rows ascending, each valid) as a body into buf[0..cap); returns the size it
 * needs (more than cap: nothing usable was written). */
size_t usedlist_encode(const struct used_list *list, uint8_t *buf, size_t cap);

/*
 * The changes from one published used list to the next: the changes of a "used-delta" trust
 * document (trustdoc.h, struct trustdoc_body_delta), a CBOR map
 *
 *     {1: [entry...] added, 2: [pseudonym (bstr, TRUST_HASH_LEN)...] removed}
 *
 * each array strictly ascending by pseudonym, entries as in a list, at most USEDLIST_MAX
 * each.  Applied, the removed cards come out (each must be in the list) and then the added
 * ones go in (each must not be in it then); a card whose first use changed is removed and
 * added.  A list the changes do not fit is not the delta's base (QD_ERR_BASE).
 */
struct used_delta {
	struct used_list added;             /* ascending pseudonym */
	uint8_t (*removed)[TRUST_HASH_LEN]; /* malloc'd, n_removed of them, ascending */
	size_t n_removed;
};

/* Decode changes into out (free with usedlist_delta_free); on failure out is empty. */
enum qd_err usedlist_delta_from_body(const uint8_t *body, size_t len, struct used_delta *out,
                                     struct qd_errmsg *why);
void usedlist_delta_free(struct used_delta *delta);
/* The same, judging only (the trust-document list's check_body): *entries changes. */
enum qd_err usedlist_delta_check_body(const uint8_t *body, size_t len, size_t *entries,
                                      struct qd_errmsg *why);
/* Encode changes (both lists ascending) into buf[0..cap); returns the size it needs. */
size_t usedlist_delta_encode(const struct used_delta *delta, uint8_t *buf, size_t cap);
/* The changes that turn list from into list to (both ascending, valid) into out. */
enum qd_err usedlist_delta_make(const struct used_list *from, const struct used_list *to,
                                struct used_delta *out, struct qd_errmsg *why);
/* base with delta applied into out (empty on failure); QD_ERR_BASE: base is not its base. */
enum qd_err usedlist_delta_apply(const struct used_list *base, const struct used_delta *delta,
                                 struct used_list *out, struct qd_errmsg *why);
/*
 * The same on encoded bodies (the trust-document list's apply_delta): the installed body
 * base and the changes in, the new body out (*out malloc'd, free it).
 */
enum qd_err usedlist_apply_delta_body(const uint8_t *base, size_t base_len, const uint8_t *changes,
                                      size_t changes_len, uint8_t **out, size_t *out_len,
                                      struct qd_errmsg *why);

#endif
