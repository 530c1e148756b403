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

/* Image files as 8-bit grey (PNG, binary PGM "P5", JPEG); *pixels is malloc'd. */
#define IMAGE_DIM_MAX 8192 /* pixels a side: bigger files are refused */
enum qd_err image_load_gray(const char *path, uint8_t **pixels, unsigned *width, unsigned *height,
                            struct qd_errmsg *why);
/* The same from memory (the fuzz target's entry). */
enum qd_err image_decode_gray(const uint8_t *data, size_t len, uint8_t **pixels, unsigned *width,
                              unsigned *height, struct qd_errmsg *why);

#endif
