/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrscene.h - the decode-quality test set: real card codes as a desk camera
 * sees them (test tooling for bench/decode_quality.c and
 * tests/unit/test_qrdecode.c, never linked into the firmware).
 *
 * Cards are signed by the back office's own code (domain_sign_card) with a
 * fixed test key, so the texts - and with them every image - are the same
 * on every run.  A scene is one camera frame: the card (or a phone showing
 * the code) placed, turned and tilted in front of the camera, lit, blurred,
 * noised and quantised as a sensor would, then degraded by one kind at one
 * level.  Every random choice comes from a PRNG seeded by (kind, level,
 * index, frame size), so an image is a pure function of its arguments.
 */
#ifndef QRDESK_BENCH_QRSCENE_H
#define QRDESK_BENCH_QRSCENE_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

#define QRSCENE_TEXT_MAX 1024 /* a card's code text, NUL included */
#define QRSCENE_LEVELS   5    /* levels 0 (mildest) .. 4 (worst) of each kind */

enum qrscene_kind {
	QRSCENE_ROTATION,     /* turned in the image plane, up to 45 degrees */
	QRSCENE_PERSPECTIVE,  /* card tilted towards the camera */
	QRSCENE_BLUR,         /* out of focus (Gaussian) */
	QRSCENE_MOTION,       /* moved during the exposure (line kernel) */
	QRSCENE_NOISE,        /* sensor noise in a dim room (read + shot noise) */
	QRSCENE_CONTRAST,     /* faded print, grey on grey */
	QRSCENE_SHADOW,       /* uneven light: a hand's shadow, vignetting */
	QRSCENE_GLARE,        /* a specular spot from the desk lamp on laminate */
	QRSCENE_JPEG,         /* an MJPEG camera at falling quality */
	QRSCENE_SCREEN_DARK,  /* a phone in dark mode: inverted, with moire */
	QRSCENE_SCREEN_MOIRE, /* a phone in light mode: its pixel grid beating */
	QRSCENE_CREASE,       /* a folded card: a shaded, displaced fold line */
	QRSCENE_OCCLUSION,    /* a thumb over a corner of the symbol */
	QRSCENE_DESK_MIX,     /* everything above a little at once */
	QRSCENE_STEEP,        /* close and tilted: strong perspective (a wide-angle camera) */
	QRSCENE_SMALL,        /* far away: 2 down to 1 pixel a module */
	QRSCENE_DOTS,         /* stylised: round dots for modules (finder patterns kept) */
	QRSCENE_CLOTH,        /* printed on a T-shirt: the cloth's waves bend the grid */
	QRSCENE_FAINT,        /* a low-contrast card: pale ink on white in a dim room */
	QRSCENE_KINDS
};

/* "rotation", ... (stable: the bench's and the docs' column names). */
const char *qrscene_kind_name(enum qrscene_kind kind);
/* What level means for kind, e.g. "22 deg" (static storage). */
const char *qrscene_level_label(enum qrscene_kind kind, int level);

/*
 * Write n real card texts (NUL-terminated, distinct holders and numbers),
 * signed by domain_sign_card with a fixed Ed25519 test key whose secret is
 * written under dir (an existing, empty directory).
 */
enum qd_err qrscene_cards(const char *dir, size_t n, char (*texts)[QRSCENE_TEXT_MAX],
                          struct qd_errmsg *why);

/*
 * Render text as a width x height grey frame (out: width * height bytes,
 * contiguous rows) under kind at level (0..QRSCENE_LEVELS-1); index picks
 * one of many placements.  QD_ERR_TOO_LARGE if the symbol does not fit.
 */
enum qd_err qrscene_render(const char *text, unsigned width, unsigned height,
                           enum qrscene_kind kind, int level, unsigned index, uint8_t *out,
                           struct qd_errmsg *why);

/*
 * A frame with no code in it: a desk with a card of print and a field of
 * random modules (no finder patterns), lit, blurred and noised like the
 * rest - the decoder's worst case, where every pass runs and finds nothing.
 */
void qrscene_empty(unsigned width, unsigned height, unsigned index, uint8_t *out);

#endif
