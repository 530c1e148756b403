/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11.h - issuer keys in a hardware security module, through PKCS#11.
 *
 * A key is named by a PKCS#11 URI (RFC 7512), e.g.
 *   pkcs11:token=bmet;object=issuer-2027
 * with the module given by the URI's module-path (or module-name) query
 * attribute, or else found among the modules registered with p11-kit.
 * Ed25519 keys (CKK_EC_EDWARDS) sign with CKM_EDDSA, P-256 keys (CKK_EC)
 * with CKM_ECDSA over a SHA-256 digest made here.  The private key never
 * leaves the token: only its handle is used.
 *
 * The user PIN comes from the file set by pkcs11_set_pin_file, else from
 * the URI's pin-source (a file), else from the environment variable
 * QRDESK_PKCS11_PIN; a pin-value in the URI is refused (a PIN on the command
 * line is visible to every user of the machine).
 *
 * Errors name the URI and say which step failed:
 *   QD_ERR_NOT_FOUND    the module cannot be loaded; no token, or no
 *                       private key, matches the URI
 *   QD_ERR_UNSUPPORTED  the key is not Ed25519 or P-256
 *   QD_ERR_PERM         the PIN is wrong (or none was given)
 *   QD_ERR_FORMAT       the URI does not parse, or carries a PIN
 *   QD_ERR_CRYPTO       the token failed to sign
 */
#ifndef QRDESK_ISSUER_PKCS11_H
#define QRDESK_ISSUER_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/signature.h"

struct pkcs11_key;

/* The file holding the user PIN (first line) for every later pkcs11_open. */
void pkcs11_set_pin_file(const char *path);

/* Find and log in to the key the URI names; *key is freed by pkcs11_close. */
enum qd_err pkcs11_open(const char *uri, struct pkcs11_key **key, struct qd_errmsg *why);

/* The key's algorithm (SIGNATURE_ALG_*) and public half, read from the token. */
enum qd_err pkcs11_public(const struct pkcs11_key *key, int64_t *alg,
                          uint8_t pub[SIGNATURE_PUBLIC_MAX], size_t *pub_len,
                          struct qd_errmsg *why);

/* A cose_sign_fn: SIGNATURE_LEN bytes (r || s for P-256) over msg by the token. */
enum qd_err pkcs11_sign(void *key, const uint8_t *msg, size_t msg_len, uint8_t sig[SIGNATURE_LEN]);

void pkcs11_close(struct pkcs11_key *key);

#endif
