/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyfile.h - the public-key file a desk pins as its root (DIR/root.pub).
 *
 * A small JSON object, readable by a technician:
 *   {"format": "qrdesk-public-key-1", "role": "root", "alg": "EdDSA",
 *    "kid": "<hex>", "public_key": "<hex>"}
 * Parsing is strict (bounded size, known fields only, key checked on the
 * curve, kid must match the key's derived id).
 */
#ifndef QRDESK_KEYFILE_H
#define QRDESK_KEYFILE_H

#include <stddef.h>

#include "qrdesk/error.h"
#include "qrdesk/trust.h"

#define KEYFILE_FORMAT "qrdesk-public-key-1"
#define KEYFILE_MAX    4096 /* bytes: a key file is a few hundred */

/* Parse text[0..len) into key (role, alg, kid, public key; window unbounded). */
enum qd_err keyfile_parse_public(const char *text, size_t len, struct trust_key *key,
                                 struct qd_errmsg *why);

/*
 * A public key in any of the forms another office may hand over, for
 * qrdesk-issuer add-key: the JSON file above (its role is kept), a PEM
 * SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----": Ed25519, OID 1.3.101.112,
 * or P-256 with an uncompressed point), the raw key (32 bytes Ed25519, 65 bytes
 * 0x04||x||y P-256) or the same as hex.  key gets alg, public key and the
 * derived kid; role 0 unless the JSON form named one.  QD_ERR_FORMAT (why says
 * what was seen) or QD_ERR_TOO_LARGE.
 */
enum qd_err keyfile_parse_any(const uint8_t *data, size_t len, struct trust_key *key,
                              struct qd_errmsg *why);

/* The JSON text for key, malloc'd, newline-terminated; NULL on failure. */
char *keyfile_format_public(const struct trust_key *key);

#endif
