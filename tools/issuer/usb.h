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
 * Open a sealed export with DIR/keys/export.key and check it: the header,
 * the row count, ids strictly ascending.  *text (malloc'd, NUL-terminated)
 * holds the header line and then one JSON line per row.
 */
enum qd_err usb_open_export(const struct domain *d, const char *path, char **text, size_t *rows,
                            struct qd_errmsg *why);

#endif
