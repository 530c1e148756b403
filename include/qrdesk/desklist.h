/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desklist.h - the fleet's desk list: which desk ids exist and the public
 * key each signs its audit batches with (docs/fleet.md).
 *
 * The back office keeps it (`qrdesk-issuer desk add DESK_ID PUBKEY`, `desk
 * retire DESK_ID`) and publishes it as the signed trust document "desks"
 * (docs/trust-documents.md), so desks and the back office agree who is a
 * desk.  Its body is a CBOR map with one entry, 1: an array of desks, each a
 * map
 *
 *     {1: desk id (tstr), 2: alg (int, EdDSA -8), 3: public key (bstr, 32),
 *      4: added at (uint, seconds), 5: retired at (uint, seconds; absent: active)}
 *
 * in strictly ascending order of id (bytewise), so a lookup bisects and a
 * repeated id is an error.  A retired desk stays listed: its batches signed
 * before retired_at still verify, later ones do not.  Pure, no allocation.
 */
#ifndef QRDESK_DESKLIST_H
#define QRDESK_DESKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/signature.h"

#define DESK_ID_MAX  31 /* characters of a desk id, [A-Za-z0-9._-] (the config's desk_id) */
#define DESKLIST_MAX 4096
/* Bytes of the largest body: DESKLIST_MAX desks of at most 96 bytes each, and the head. */
#define DESKLIST_BODY_MAX (DESKLIST_MAX * 96 + 16)

struct desk_entry {
	char id[DESK_ID_MAX + 1];
	int64_t alg; /* SIGNATURE_ALG_EDDSA */
	uint8_t public_key[SIGNATURE_ED25519_PUBLIC_LEN];
	int64_t added_at;
	int64_t retired_at; /* 0: active */
};

struct desk_list {
	size_t n;
	struct desk_entry rows[DESKLIST_MAX];
};

/* Is id[0..len) a desk id: 1..DESK_ID_MAX of [A-Za-z0-9._-], not "." or ".." (it names a
 * folder on the upload's storage)? */
bool desk_id_valid(const char *id, size_t len);

/* The entry of id, or NULL. */
const struct desk_entry *desklist_find(const struct desk_list *list, const char *id);

/*
 * Add e in order.  QD_ERR_EXISTS if its id or its key is listed already (one key, one
 * desk), QD_ERR_FORMAT for a bad id or key, QD_ERR_TOO_LARGE when full.
 */
enum qd_err desklist_add(struct desk_list *list, const struct desk_entry *e, struct qd_errmsg *why);

/* Decode a body into out (left empty on failure, why says what).  An empty list is valid. */
enum qd_err desklist_from_body(const uint8_t *body, size_t len, struct desk_list *out,
                               struct qd_errmsg *why);
/* The same, judging only (the trust-document list's check_body): *entries desks. */
enum qd_err desklist_check_body(const uint8_t *body, size_t len, size_t *entries,
                                struct qd_errmsg *why);
/* Encode list as a body into buf[0..cap); returns the size it needs (more than cap: nothing
 * usable was written). */
size_t desklist_encode(const struct desk_list *list, uint8_t *buf, size_t cap);

#endif
