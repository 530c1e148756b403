/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdecode.h - QR (and, when asked, PDF417 and Aztec) symbols from 8-bit
 * grey images, through a chain of two decoders: zxing-cpp first, ZBar and
 * its second looks beside it (docs/decode.md).
 *
 * Both hand back the symbol's bytes as they are and never re-encode them
 * as text: our codes are base45, and a conversion could only corrupt them.
 * The same decoder serves image files (replay) and camera frames.
 *
 * Never a wrong text: when the two decoders read different texts from one
 * image, neither is reported, and the conflict is counted
 * (qrdecode_get_stats).  Parts of a structured-append sequence are
 * reported only as the whole sequence, joined, once every part is in the
 * image; a lone part is never a text.
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
 * Decode one grey image (width x height, rows stride bytes apart) as a
 * still: zxing-cpp, then ZBar with its looks within its budget per call
 * (qrdecode_set_passes).  Returns the number of texts reported (>= 0) in
 * *found.  The image is not kept.
 */
enum qd_err qrdecode_gray(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                          unsigned height, size_t stride, qrdecode_cb cb, void *arg, int *found);

/*
 * Decode one camera frame taken at t_us (a monotonic clock): zxing-cpp on
 * every frame; ZBar's looks in turns, paid from a budget of pixels per
 * second of frame time (qrdecode_set_chain), so a desk with nothing on it
 * costs little - and at once, within a bounded debt, when zxing-cpp
 * located a symbol it could not read.
 */
enum qd_err qrdecode_frame(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                           unsigned height, size_t stride, int64_t t_us, qrdecode_cb cb, void *arg,
                           int *found);

/* The decoders of the chain (qrdecode_set_chain). */
enum qrdecode_decoder {
	QRDECODE_ZXING = 1u << 0, /* zxing-cpp: every frame */
	QRDECODE_ZBAR = 1u << 1,  /* ZBar and its second looks: in turns beside zxing-cpp */
};
#define QRDECODE_DECODERS_ALL 0x3u
/* ZBar's pixels per second of frame time beside zxing-cpp, by default: docs/decode.md. */
#define QRDECODE_BUDGET_DEFAULT_KPX 600u
#define QRDECODE_BUDGET_MAX_KPX     100000u

/*
 * Choose the decoders (a non-empty mask of enum qrdecode_decoder) and
 * ZBar's budget in kilopixels per second of frame time when zxing-cpp is
 * in the chain (qrdecode_frame).  ZBar alone runs as qrdecode_set_passes
 * says, every frame.  The budget is in pixels, not time, so what is read
 * never depends on the machine's load.
 */
enum qd_err qrdecode_set_chain(struct qrdecode *dec, unsigned decoders, unsigned budget_kpx);

/* Symbologies (qrdecode_set_formats); PDF417 and Aztec are read by zxing-cpp only. */
enum qrdecode_format {
	QRDECODE_FORMAT_QR = 1u << 0,     /* always on */
	QRDECODE_FORMAT_PDF417 = 1u << 1, /* boarding passes (IATA BCBP) */
	QRDECODE_FORMAT_AZTEC = 1u << 2,  /* boarding passes on phones */
};
#define QRDECODE_FORMATS_ALL 0x7u
void qrdecode_set_formats(struct qrdecode *dec, unsigned formats);

/* What the chain did since qrdecode_create. */
struct qrdecode_stats {
	uint64_t images;       /* qrdecode_gray and qrdecode_frame calls */
	uint64_t zbar_looks;   /* ZBar's looks (a still's: one per call) */
	uint64_t zxing_looks;  /* zxing-cpp's second looks on camera frames */
	uint64_t deblur_looks; /* of them, the deblur look (deconvolution, the dearest) */
	uint64_t grey_looks;   /* the grey look (modules read from the grey image; greyread.h) */
	uint64_t grey_reads;   /* of them, those that read a text */
	uint64_t sharp_reads;  /* of those, read by its second pass (a sharpened copy) */
	uint64_t zbar_pixels;  /* pixels through ZBar, every look */
	uint64_t conflicts;    /* images where the decoders read different texts: none reported */
};
void qrdecode_get_stats(const struct qrdecode *dec, struct qrdecode_stats *out);

/*
 * ZBar's looks and passes (docs/decode.md has what each buys).  ZBar first looks
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
 * Choose ZBar's passes (a mask of enum qrdecode_pass) and its budget:
 * pixels through ZBar per call, the first look included (0: the first look
 * only), for qrdecode_gray and for ZBar alone.  When the budget does not
 * cover every look, each call runs those that fit, starting after the look
 * the previous call ended with, so consecutive camera frames of one card
 * meet every look in turn; a look that could never fit beside the first is
 * passed over.  Also takes zxing-cpp out of the chain: ZBar alone, the
 * decoder as it was before the chain (the benchmark compares with it).
 * qrdecode_create sets the defaults docs/decode.md gives.
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
/* Every size IMAGE_DIM_MAX allows. */
#define IMAGE_PIXELS_MAX ((size_t)IMAGE_DIM_MAX * IMAGE_DIM_MAX)
/* With a budget: an image of more than max_pixels is refused (QD_ERR_TOO_LARGE) from its
 * header, before its pixels are decoded. */
enum qd_err image_decode_gray_max(const uint8_t *data, size_t len, size_t max_pixels,
                                  uint8_t **pixels, unsigned *width, unsigned *height,
                                  struct qd_errmsg *why);
/* image_load_gray of path relative to the directory dir (or AT_FDCWD), with a budget. */
enum qd_err image_load_gray_at(int dir, const char *path, size_t max_pixels, uint8_t **pixels,
                               unsigned *width, unsigned *height, struct qd_errmsg *why);

#endif
