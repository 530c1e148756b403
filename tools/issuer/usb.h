/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb.h - the back office's side of USB sticks (docs/usb-bundle.md):
 * sign update bundles and export requests, and open sealed exports.
 *
 *   DIR/keys/export.key   the X25519 secret exports are sealed to (hex, 0600),
 *                         made by the first export request
 *   DIR/export.pub        its public half (hex)
 */
#ifndef QRDESK_ISSUER_USB_H
#define QRDESK_ISSUER_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "qrdesk/auditexport.h"
#include "qrdesk/bundle.h"

/*
 * Sign b (an update bundle or an export request) with the domain's update
 * key (or its root: use_root; or the key kid_hex, whatever its role: the
 * desk judges the role) and write it atomically to out.  For an export
 * request, b->recipient is filled from DIR/export.pub (made if absent).
 */
enum qd_err usb_sign_bundle(const struct domain *d, struct bundle *b, bool use_root,
                            const char *kid_hex, int64_t now, const char *out,
                            struct qd_errmsg *why);

/*
 * An opened export (DIR/keys/export.key): the signed batches of the current format
 * (auditexport.h, checked: each a batch of the export's desk, sequences ascending), or the
 * first format's JSON lines (lines: the header line, then one line per row).  Untrusted
 * bytes until ingest has checked the batches' signatures and chain.
 */
struct usb_export {
	uint8_t *plain; /* the unsealed bytes, NUL after them */
	size_t len;
	bool lines;                 /* the first format (qrdesk-export-1) */
	struct auditexport batches; /* !lines: points into plain */
	size_t rows;
};
enum qd_err usb_open_export(const struct domain *d, const char *path, struct usb_export *out,
                            struct qd_errmsg *why);
void usb_export_free(struct usb_export *e);

/*
 * Write the export's batches as outdir/<desk>/<sequence>.cose, the upload's names, for
 * `ingest`.  A batch already there with the same bytes is counted in *same; one with other
 * bytes refuses the whole export (QD_ERR_EXISTS) before anything is written.
 */
enum qd_err usb_export_unpack(const struct usb_export *e, const char *outdir, size_t *written,
                              size_t *same, struct qd_errmsg *why);

#endif
