/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdecode.h - QR symbols from 8-bit grey images, through ZBar.
 *
 * The scanner is set for QR only and binary mode (ZBAR_CFG_BINARY), so ZBar
 * hands back the symbol's bytes as they are and never re-encodes them as
 * text: our codes are base45, and a conversion could only corrupt them.
 * The same decoder serves image files (replay) and camera frames.
 */
#ifndef QRDESK_QRDECODE_H
#define QRDESK_QRDECODE_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

struct qrdecode;

enum qd_err qrdecode_create(struct qrdecode **out);
void qrdecode_destroy(struct qrdecode *dec);

/* Called once per symbol found, with its bytes (not NUL-terminated). */
typedef void (*qrdecode_cb)(void *arg, const char *data, size_t len);

/*
 * Decode one grey image (width x height, rows stride bytes apart).  Returns
 * the number of symbols found (>= 0) in *found.  The image is not kept.
 */
enum qd_err qrdecode_gray(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                          unsigned height, size_t stride, qrdecode_cb cb, void *arg, int *found);

/*
 * Looks and passes (docs/decode.md has what each buys).  ZBar first looks
 * at the frame as it is - or, for a frame over 640 x 480 with HALF on, at
 * its x0.5 copy, a quarter of the cost.  When that finds nothing, the
 * other looks follow (the frame as it is, then the passes below, in this
 * order; frames over 640 x 480 take the passes on the x0.5 copy) until one
 * finds a symbol or the next would take ZBar over the pixel budget, so a
 * frame without a code - the usual camera frame - costs a bounded amount.
 * The budget is in pixels, not time, so the result never depends on the
 * machine's load.  A decoder serves one thread at a time.
 */
enum qrdecode_pass {
	QRDECODE_PASS_HALF = 1u << 0,     /* x0.5 (2x2 mean): big, blurry or noisy frames */
	QRDECODE_PASS_INVERT = 1u << 1,   /* 255 - v: light modules on dark (phone dark mode) */
	QRDECODE_PASS_STRETCH = 1u << 2,  /* 1st..99th percentile to 0..255: faint print */
	QRDECODE_PASS_ADAPTIVE = 1u << 3, /* local-mean threshold: shadows, glare, low contrast */
	QRDECODE_PASS_SHARPEN = 1u << 4,  /* unsharp mask: soft focus */
};
#define QRDECODE_PASSES_ALL 0x1fu

/*
 * Choose the passes (a mask of enum qrdecode_pass) and the budget: pixels
 * through ZBar per call, the first look included (0: the first look only).
 * When the budget does not cover every look, each call runs those that fit,
 * starting after the look the previous call ended with, so consecutive
 * camera frames of one card meet every look in turn.  qrdecode_create sets
 * the defaults docs/decode.md gives.
 */
void qrdecode_set_passes(struct qrdecode *dec, unsigned passes, size_t budget_pixels);

/* Image files as 8-bit grey (PNG, binary PGM "P5", JPEG); *pixels is malloc'd.
 * Regular files only, a symbolic link not followed: QD_ERR_FORMAT for either. */
#define IMAGE_DIM_MAX 8192 /* pixels a side: bigger files are refused */
enum qd_err image_load_gray(const char *path, uint8_t **pixels, unsigned *width, unsigned *height,
                            struct qd_errmsg *why);
/* The same from memory (the fuzz target's entry). */
enum qd_err image_decode_gray(const uint8_t *data, size_t len, uint8_t **pixels, unsigned *width,
                              unsigned *height, struct qd_errmsg *why);

#endif
