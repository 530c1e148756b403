/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zxdecode.h - the zxing-cpp decoder behind a C interface (zxdecode.cpp is
 * the thin C++ shim; backend-only, used by the decoder chain in qrdecode.c).
 *
 * zxing-cpp (Debian's libzxing 1.4) finds QR, PDF417 and Aztec symbols in a
 * grey image.  The symbol's bytes are handed back as encoded (Result::bytes,
 * never re-encoded through a character set), like ZBar's binary mode.  No
 * C++ exception crosses this interface: each is caught and returned as an
 * error code.
 */
#ifndef QRDESK_ZXDECODE_H
#define QRDESK_ZXDECODE_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdecode.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zxdecode;

enum qd_err zxdecode_create(struct zxdecode **out);
void zxdecode_destroy(struct zxdecode *zx);

/* Which symbologies to look for: a mask of enum qrdecode_format (0 means QR). */
void zxdecode_set_formats(struct zxdecode *zx, unsigned formats);

/* How to binarise (zxdecode_gray). */
enum zxdecode_binarizer {
	ZXDECODE_LOCAL,  /* the mean of the block around each pixel: shadows, glare */
	ZXDECODE_GLOBAL, /* one threshold from the histogram: soft, noisy edges */
};

/*
 * One look at a contiguous grey image (width x height).  Each symbol read
 * goes to cb; their number is added to *found.  A symbol zxing-cpp located
 * but could not read (a checksum or format error) is not delivered: it is
 * added to *unread, the chain's cue that a code is in view.  Parts of a
 * structured-append sequence are delivered only as the whole sequence, once
 * every part is in the image; a lone part is counted in *unread.
 */
enum qd_err zxdecode_gray(struct zxdecode *zx, const uint8_t *pixels, unsigned width,
                          unsigned height, enum zxdecode_binarizer binarizer, qrdecode_cb cb,
                          void *arg, int *found, int *unread);

/*
 * A clean symbol drawn by the grey look (greyread.h): black modules on white, upright, with a
 * quiet zone - zxing-cpp's pure-symbol reader (no search, a fixed threshold), QR only.  A
 * text read goes to cb and adds 1 to *found.
 */
enum qd_err zxdecode_pure(struct zxdecode *zx, const uint8_t *pixels, unsigned width,
                          unsigned height, qrdecode_cb cb, void *arg, int *found);

#ifdef __cplusplus
}
#endif

#endif
