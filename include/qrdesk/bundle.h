/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle.h - payloads of the two signed files a technician's USB stick
 * carries (docs/usb-bundle.md): an update bundle and an export request.
 * Each is the payload of a COSE_Sign1 signed by an update-role key (or a
 * root); this module only encodes and decodes the payload CBOR, strictly and
 * within the bounds below.  Verifying the signature is import.c's
 * import_verify_signer; what a bundle does is usb_update.c's.
 *
 * The payload is a map:
 *   1: type       tstr "bundle" | "export-request"
 *   2: id         tstr, 1..64 of [A-Za-z0-9._-]
 *   3: created_at uint, Unix seconds (the signed time)
 *   4: expires_at uint, after created_at
 *   5: desk       tstr, a desk id or "any"
 *   bundle only:
 *   6: documents  array (<= BUNDLE_DOCS_MAX) of bstr: whole signed trust
 *                 documents, the same bytes as repository files
 *   7: settings   map (<= BUNDLE_SETTINGS_MAX) tstr "section.key" -> tstr
 *                 value (the key must be on config.h's drop-in allow-list)
 *   export-request only:
 *   8: recipient  bstr(32): the back office's X25519 public key the export
 *                 is sealed to (crypto_box_seal)
 * Unknown keys are refused.  A bundle carries at least one document or
 * setting.
 */
#ifndef QRDESK_BUNDLE_H
#define QRDESK_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/error.h"

#define BUNDLE_ID_MAX        64
#define BUNDLE_DESK_MAX      31
#define BUNDLE_DOCS_MAX      16
#define BUNDLE_SETTINGS_MAX  16
#define BUNDLE_NAME_MAX      48  /* "section.key" */
#define BUNDLE_VALUE_MAX     255 /* a config value (a path or URL at most) */
#define BUNDLE_RECIPIENT_LEN 32  /* crypto_box_PUBLICKEYBYTES */

enum bundle_kind {
	BUNDLE_UPDATE = 1,         /* "bundle" */
	BUNDLE_EXPORT_REQUEST = 2, /* "export-request" */
};

struct bundle_setting {
	char name[BUNDLE_NAME_MAX + 1];   /* "section.key" */
	char value[BUNDLE_VALUE_MAX + 1]; /* as written in a config file */
};

struct bundle {
	enum bundle_kind kind;
	char id[BUNDLE_ID_MAX + 1];
	int64_t created_at;
	int64_t expires_at;
	char desk[BUNDLE_DESK_MAX + 1]; /* a desk id, or "any" */
	struct {
		const uint8_t *bytes; /* points into the payload */
		size_t len;
	} docs[BUNDLE_DOCS_MAX];
	size_t n_docs;
	struct bundle_setting settings[BUNDLE_SETTINGS_MAX];
	size_t n_settings;
	uint8_t recipient[BUNDLE_RECIPIENT_LEN];
};

/* "bundle", "export-request"; NULL if unknown. */
const char *bundle_kind_name(enum bundle_kind kind);

/* Decode a whole payload; QD_ERR_FORMAT / QD_ERR_TOO_LARGE with the field named in why. */
enum qd_err bundle_decode(const uint8_t *payload, size_t len, struct bundle *out,
                          struct qd_errmsg *why);

/* Encode (size it with a counting pass: a writer with cap 0 reports w->len). */
void bundle_encode(struct cbor_writer *w, const struct bundle *b);

/* Does b name this desk (or "any")? */
bool bundle_for_desk(const struct bundle *b, const char *desk_id);

/* Is s 1..max characters of [A-Za-z0-9._-]? (ids and desk ids) */
bool bundle_name_ok(const char *s, size_t len, size_t max);

#endif
