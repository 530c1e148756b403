/* SPDX-License-Identifier: Apache-2.0 */
/*
 * greyread.h - the grey look (backend-only; the decoder chain in qrdecode.c
 * uses it): a QR symbol's modules read from the grey image itself, never
 * from a binarised copy, and drawn again as a clean black-and-white symbol
 * for zxing-cpp's pure-symbol reader, whose Reed-Solomon corrects what is
 * left (docs/decode.md, "The grey look").
 *
 * Blur, faint ink and a module of a pixel or so take a symbol's contrast,
 * not its modules' places: the three finder patterns are found by their
 * correlation with the pattern on the grey image, the grid is fitted to
 * every module whose colour the standard fixes (finders, timing, alignment
 * and version patterns), each module is sampled at its centre and decided
 * against its neighbourhood, with a 3 x 3 blur estimated on the known
 * modules taken out.
 *
 * The pixels are untrusted: any size and content is read without fault
 * (tests/fuzz/fuzz_greyread.c).
 */
#ifndef QRDESK_GREYREAD_H
#define QRDESK_GREYREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

/* Redrawn symbols handed to try in one look at most, and finder candidates kept in each of
 * its two pools (the frame's, and its copy turned 45 degrees). */
#define GREYREAD_TRIES_MAX      16
#define GREYREAD_CANDIDATES_MAX 20

/* Frames larger than this are not looked at (the look's cost grows with the pixels). */
#define GREYREAD_PIXELS_MAX (1280u * 720u)

/*
 * Hands a redrawn symbol (w x h grey, black modules on white with a quiet zone) to a
 * decoder; *done set to true ends the look (a text was read).  An error ends it too.
 */
typedef enum qd_err (*greyread_try_fn)(void *arg, const uint8_t *img, unsigned w, unsigned h,
                                       bool *done);

/* A finder-pattern candidate kept: its centre and module in the frame's pixels. */
struct greyread_finder {
	double x, y, m;
	bool turned; /* found in the copy turned 45 degrees */
};

struct greyread_stats {
	unsigned finders; /* finder-pattern candidates kept, both pools */
	unsigned grids;   /* grids fitted (three finders and a version) */
	unsigned tries;   /* symbols redrawn and handed to try */
	size_t turned_px; /* pixels of the turned copy; 0: not taken (a frame too thin) */
	size_t windows;   /* windows correlated with a finder pattern, every size, in the frame */
	size_t turned_windows; /* the same in the turned copy: only those over the frame's pixels */
	size_t turned_grid;    /* the turned copy's windows, those over its padding included */
	unsigned halved;       /* times a full list of raw maxima was cut to its better half */
	/* The candidates kept, in rank order: the frame's pool, then the turned copy's. */
	struct greyread_finder finder_at[2 * GREYREAD_CANDIDATES_MAX];
};

/*
 * One look at src (width x height, contiguous rows): up to a bounded number of redrawn
 * symbols go to try, until it sets *done.  QD_OK whether or not anything was read;
 * QD_ERR_NOMEM, or try's error.  stats may be NULL.
 */
enum qd_err greyread_look(const uint8_t *src, unsigned width, unsigned height,
                          greyread_try_fn try_fn, void *arg, struct greyread_stats *stats);

/* The 18-bit version information block of a version (7..40): the version and its BCH(18, 6)
 * check bits (ISO/IEC 18004, annex D). */
unsigned greyread_version_info(unsigned version);

#endif
