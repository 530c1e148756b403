/* SPDX-License-Identifier: Apache-2.0 */
/* qrpng.h - render a code text as a QR symbol in a PNG file (libqrencode + libpng). */
#ifndef QRDESK_ISSUER_QRPNG_H
#define QRDESK_ISSUER_QRPNG_H

#include "qrdesk/error.h"

#define QRPNG_MODULE_PX 8 /* pixels per module: prints sharply at 300 dpi */
#define QRPNG_QUIET     4 /* quiet zone in modules, as ISO/IEC 18004 asks */

/*
 * Encode text at error-correction level M (alphanumeric mode where the text
 * allows it) and write path.  *version gets the QR version used.
 */
enum qd_err qrpng_write(const char *text, const char *path, int *version, struct qd_errmsg *why);

/* The QR version text needs at level M, or 0 if it does not fit at all. */
int qrpng_version_needed(const char *text);

#endif
