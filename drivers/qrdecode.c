/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdecode.c - the decoder chain (see qrdecode.h, docs/decode.md): zxing-cpp
 * (zxdecode.h) first, ZBar and its second looks (zbdecode.h) beside it.
 *
 * A camera frame (qrdecode_frame) always goes through zxing-cpp: about a
 * millisecond at 640 x 480, and it reads most codes.  The second looks -
 * zxing-cpp on an inverted, stretched, globally thresholded, x0.5, x2,
 * sharpened and sharpened-x2 copy,
 * and ZBar's looks, which cost about six times as much a pixel - come in
 * rounds: each look once a round, taken by the first frame whose decoder's
 * bucket covers it (a look that does not fit is skipped for that frame,
 * never waited for).  Each decoder has its own bucket, filled by the
 * frames' own timestamps (so what is read never depends on the machine's
 * load): ZBar's at the budget's rate ([camera] decode_budget_kpx),
 * zxing-cpp's at ZX_ROUNDS_PER_S rounds a second.  A desk with nothing on
 * it thus costs zxing-cpp's first look plus both rates.  When the scene
 * changes (a card put down) a new round starts, and if zxing-cpp read
 * nothing, ZBar may also spend a second bucket, the credit, of up to two
 * whole rounds, and zxing-cpp the round an idle desk keeps in reserve: a
 * card only a second look reads meets them all within a frame or two.  The
 * credit fills at the budget's rate too, so a scene that never stops
 * changing costs at most twice the budget.
 *
 * What both decoders read is compared: if each read a text the other did
 * not, one of them misread, and nothing is reported (the conflict is
 * counted).  A text one read and the other missed is reported.  A still
 * (qrdecode_gray: the replay folder) gets every look of both.
 */
#include "qrdecode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "greyread.h"
#include "lookpass.h"
#include "zbdecode.h"
#include "zxdecode.h"

#define TEXTS_MAX 8 /* texts kept per decoder and image; more are dropped */
/* Change detection: block side, level difference of a moved block, 1 / share of blocks. */
#define BLOCK        16u
#define CHANGE_LEVEL 10
#define CHANGE_SHARE 100u
/* For CREDIT_US after a change, second looks may also spend the credit: it fills at
 * CREDIT_RATE times the budget, up to CREDIT_ROUNDS rounds of every look. */
#define CREDIT_US     500000
#define CREDIT_RATE   1.0
#define CREDIT_ROUNDS 2.0

/* zxing-cpp's idle turns: rounds of its second looks a second (its own bucket holds two). */
#define ZX_ROUNDS_PER_S 0.5

/* A round of second looks: zxing-cpp's passes, then ZBar's looks (ZB_FIRST + zbdecode_plan's
 * index), each taken once per round when its own bucket covers it. */
enum {
	ZX_INVERT,
	ZX_STRETCH,
	ZX_GLOBAL,
	ZX_HALF,
	ZX_DOUBLE,
	ZX_SHARPEN,
	ZX_SHARP_DOUBLE,
	ZX_LOOKS,
	ZB_FIRST = ZX_LOOKS,
	/* Not in the rounds (nor their bits): deconvolution costs some sixty first looks, so it
	 * is taken once a card has come to rest and nothing else read it (deblur_look). */
	ZX_DEBLUR = 64
};
/* The x2 looks (small modules) only for frames up to this size: they read four times the
 * pixels. */
#define ZX_DOUBLE_PIXELS_MAX (1280u * 720u)
/* The unsharp masks (pass_unsharp): a narrow strong one for the frame as it is, a wider milder
 * one before x2 (docs/decode.md has what each reads). */
#define ZX_SHARPEN_RADIUS      1u
#define ZX_SHARPEN_AMOUNT      4u
#define ZX_SHARP_DOUBLE_RADIUS 2u
#define ZX_SHARP_DOUBLE_AMOUNT 2u
#define ROUND_MAX              (ZX_LOOKS + ZBDECODE_LOOKS_MAX)
/* The deblur look (frames up to ZX_DOUBLE_PIXELS_MAX): Richardson-Lucy for a focus blur of
 * sigma 1.4 px at frames under 600 px high, 2.4 px above (a module grows with the frame), then
 * x2. */
#define ZX_DEBLUR_ITERATIONS 8u
#define ZX_DEBLUR_LARGE_H    600u
/* Deblur looks a second at most on a camera (its bucket holds one). */
#define ZX_DEBLUR_PER_S 1.0
/* Grey looks a second at most on a camera (its own bucket, holding one). */
#define GREY_PER_S 1.0
/* The grey look's second pass (grey_sharpened): an unsharp mask of radius 1 and amount 2, on
 * the frame as it is under GREY_HALF_H px high, on its x0.5 copy from there (modules of
 * 2.5-3.3 px either way, as a card's module grows with the frame). */
#define GREY_SHARP_RADIUS 1u
#define GREY_SHARP_AMOUNT 2u
#define GREY_HALF_H       600u

struct texts {
	char *bytes[TEXTS_MAX];
	size_t len[TEXTS_MAX];
	size_t n;
	bool overflow;
};

struct qrdecode {
	struct zxdecode *zx;
	struct zbdecode *zb;
	unsigned decoders;
	size_t budget;    /* ZBar's pixels per second beside zxing-cpp */
	double tokens;    /* ZBar's bucket: pixels its looks may spend now */
	double credit;    /* ZBar's bucket for the frames after a change */
	double zx_tokens; /* zxing-cpp's bucket for its second looks, in its own pixels */
	int64_t last_us;
	bool clocked;  /* last_us is set */
	uint8_t *copy; /* contiguous rows of a padded image */
	size_t copy_cap;
	uint8_t *work; /* a zxing-cpp second look's image */
	size_t work_cap;
	uint16_t *blur; /* pass_unsharp's two planes */
	size_t blur_cap;
	float *deconv; /* pass_deblur's planes */
	size_t deconv_cap;
	double deblur_tokens; /* the deblur look's bucket */
	bool deblur_due;      /* a new scene since the last deblur look */
	double grey_tokens;   /* the grey look's bucket */
	bool grey_due;        /* a new scene since the last grey look */
	bool read_last;       /* the last frame reported a text */
	uint8_t *blocks;      /* the last frame's block means (change detection) */
	unsigned blocks_w, blocks_h;
	int64_t credit_until_us;
	unsigned done; /* the round's looks taken so far (bit i: look i) */
	struct texts zx_texts, zb_texts;
	struct qrdecode_stats stats;
};

enum qd_err qrdecode_create(struct qrdecode **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	struct qrdecode *dec = calloc(1, sizeof(*dec));
	if (dec == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = zbdecode_create(&dec->zb);
	if (rc == QD_OK)
		rc = zxdecode_create(&dec->zx);
	if (rc != QD_OK) {
		qrdecode_destroy(dec);
		return rc;
	}
	dec->decoders = QRDECODE_DECODERS_ALL;
	dec->budget = (size_t)QRDECODE_BUDGET_DEFAULT_KPX * 1000;
	*out = dec;
	return QD_OK;
}

static void texts_clear(struct texts *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->bytes[i]);
	t->n = 0;
	t->overflow = false;
}

void qrdecode_destroy(struct qrdecode *dec)
{
	if (dec == NULL)
		return;
	zxdecode_destroy(dec->zx);
	zbdecode_destroy(dec->zb);
	texts_clear(&dec->zx_texts);
	texts_clear(&dec->zb_texts);
	free(dec->copy);
	free(dec->work);
	free(dec->blur);
	free(dec->deconv);
	free(dec->blocks);
	free(dec);
}

void qrdecode_set_passes(struct qrdecode *dec, unsigned passes, size_t budget_pixels)
{
	if (dec == NULL)
		return;
	zbdecode_set_passes(dec->zb, passes, budget_pixels);
	dec->decoders = QRDECODE_ZBAR;
}

enum qd_err qrdecode_set_chain(struct qrdecode *dec, unsigned decoders, unsigned budget_kpx)
{
	if (dec == NULL || (decoders & QRDECODE_DECODERS_ALL) == 0 ||
	    (decoders & ~QRDECODE_DECODERS_ALL) != 0 || budget_kpx > QRDECODE_BUDGET_MAX_KPX)
		return QD_ERR_ARG;
	dec->decoders = decoders;
	dec->budget = (size_t)budget_kpx * 1000;
	dec->tokens = 0;
	dec->credit = 0;
	dec->zx_tokens = 0;
	dec->deblur_tokens = 0;
	dec->deblur_due = false;
	dec->grey_tokens = 0;
	dec->grey_due = false;
	dec->done = 0;
	dec->clocked = false;
	return QD_OK;
}

void qrdecode_set_formats(struct qrdecode *dec, unsigned formats)
{
	if (dec != NULL)
		zxdecode_set_formats(dec->zx,
		                     (formats & QRDECODE_FORMATS_ALL) | QRDECODE_FORMAT_QR);
}

void qrdecode_get_stats(const struct qrdecode *dec, struct qrdecode_stats *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (dec != NULL)
		*out = dec->stats;
}

/* qrdecode_cb into a struct texts: a copy of each distinct text. */
static void collect(void *arg, const char *data, size_t len)
{
	struct texts *t = arg;
	for (size_t i = 0; i < t->n; i++)
		if (t->len[i] == len && memcmp(t->bytes[i], data, len) == 0)
			return;
	char *copy = t->n < TEXTS_MAX ? malloc(len ? len : 1) : NULL;
	if (copy == NULL) {
		t->overflow = true;
		return;
	}
	memcpy(copy, data, len);
	t->bytes[t->n] = copy;
	t->len[t->n++] = len;
}

static bool has(const struct texts *t, const char *data, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->len[i] == len && memcmp(t->bytes[i], data, len) == 0)
			return true;
	return false;
}

/* Has a text that b has not? */
static bool has_other(const struct texts *a, const struct texts *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!has(b, a->bytes[i], a->len[i]))
			return true;
	return false;
}

/* Report the union of both decoders' texts - or nothing, if they disagree. */
static int report(struct qrdecode *dec, qrdecode_cb cb, void *arg)
{
	struct texts *zx = &dec->zx_texts, *zb = &dec->zb_texts;
	if (has_other(zx, zb) && has_other(zb, zx)) {
		dec->stats.conflicts++;
		return 0;
	}
	int n = 0;
	for (size_t i = 0; i < zx->n; i++, n++)
		if (cb != NULL)
			cb(arg, zx->bytes[i], zx->len[i]);
	for (size_t i = 0; i < zb->n; i++)
		if (!has(zx, zb->bytes[i], zb->len[i])) {
			n++;
			if (cb != NULL)
				cb(arg, zb->bytes[i], zb->len[i]);
		}
	return n;
}

/*
 * The buckets at t_us, filled since the last frame: ZBar's at the budget's
 * rate up to a second's worth (never below its largest look, so every look
 * comes round), its credit at CREDIT_RATE of the budget up to CREDIT_ROUNDS
 * rounds, zxing-cpp's at ZX_ROUNDS_PER_S rounds a second up to two.
 */
static void refill(struct qrdecode *dec, int64_t t_us, double zb_round, double zb_largest,
                   double zx_round)
{
	if (dec->clocked && t_us > dec->last_us) {
		double dt = (double)(t_us - dec->last_us) / 1e6;
		dec->tokens += dt * (double)dec->budget;
		dec->credit += dt * (double)dec->budget * CREDIT_RATE;
		dec->zx_tokens += dt * zx_round * ZX_ROUNDS_PER_S;
		dec->deblur_tokens += dt * ZX_DEBLUR_PER_S;
		dec->grey_tokens += dt * GREY_PER_S;
	}
	/* A clock that jumps back (or stands still) adds nothing. */
	if (!dec->clocked || t_us > dec->last_us)
		dec->last_us = t_us;
	dec->clocked = true;
	const double cap = (double)dec->budget > zb_largest ? (double)dec->budget : zb_largest;
	if (dec->tokens > cap)
		dec->tokens = cap;
	if (dec->credit > CREDIT_ROUNDS * zb_round)
		dec->credit = CREDIT_ROUNDS * zb_round;
	if (dec->zx_tokens > 2 * zx_round)
		dec->zx_tokens = 2 * zx_round;
	if (dec->deblur_tokens > 1)
		dec->deblur_tokens = 1;
	if (dec->grey_tokens > 1)
		dec->grey_tokens = 1;
}

/*
 * Did the scene change since the last frame?  The means of 16 x 16 blocks
 * (sensor noise shrinks 16-fold in them) against the last frame's: a card
 * put down or lifted moves many by far more than CHANGE_LEVEL.
 */
static bool changed(struct qrdecode *dec, const uint8_t *data, unsigned width, unsigned height)
{
	const unsigned bw = width / BLOCK, bh = height / BLOCK;
	const size_t n = (size_t)bw * bh;
	if (n == 0)
		return false;
	bool resized = bw != dec->blocks_w || bh != dec->blocks_h;
	if (resized) {
		uint8_t *p = realloc(dec->blocks, n);
		if (p == NULL)
			return true; /* no memory to compare: take it as a change */
		dec->blocks = p;
		dec->blocks_w = bw;
		dec->blocks_h = bh;
	}
	size_t moved = 0;
	for (unsigned by = 0; by < bh; by++)
		for (unsigned bx = 0; bx < bw; bx++) {
			unsigned sum = 0;
			for (unsigned y = 0; y < BLOCK; y++) {
				const uint8_t *row = data + ((size_t)by * BLOCK + y) * width +
				                     (size_t)bx * BLOCK;
				for (unsigned x = 0; x < BLOCK; x++)
					sum += row[x];
			}
			uint8_t mean = (uint8_t)(sum / (BLOCK * BLOCK));
			uint8_t *old = &dec->blocks[(size_t)by * bw + bx];
			moved += abs((int)mean - (int)*old) > CHANGE_LEVEL;
			*old = mean;
		}
	return resized || moved * CHANGE_SHARE >= n;
}

/* One of zxing-cpp's second looks at data: its image in dec->work, then zxing-cpp. */
static enum qd_err zx_look(struct qrdecode *dec, unsigned which, const uint8_t *data,
                           unsigned width, unsigned height, int *unread)
{
	const size_t size = (size_t)width * height;
	if (!pass_grow((void **)&dec->work, &dec->work_cap, size))
		return QD_ERR_NOMEM;
	const uint8_t *img = dec->work;
	unsigned w = width, h = height;
	enum zxdecode_binarizer bin = ZXDECODE_LOCAL;
	switch (which) {
	case ZX_INVERT:
		pass_invert(data, size, dec->work);
		break;
	case ZX_STRETCH:
		if (!pass_stretch(data, size, dec->work))
			return QD_OK;
		break;
	case ZX_GLOBAL:
		img = data;
		bin = ZXDECODE_GLOBAL;
		break;
	case ZX_HALF:
		if (width < 2 || height < 2)
			return QD_OK;
		pass_half(data, width, height, dec->work, &w, &h);
		break;
	case ZX_SHARPEN:
		if (!pass_grow((void **)&dec->blur, &dec->blur_cap, 2 * size * sizeof(uint16_t)))
			return QD_ERR_NOMEM;
		pass_unsharp(data, width, height, ZX_SHARPEN_RADIUS, ZX_SHARPEN_AMOUNT, dec->blur,
		             dec->work);
		break;
	default: /* ZX_DOUBLE, ZX_SHARP_DOUBLE, ZX_DEBLUR: x2, of a sharpened or deblurred copy */
		if (size > ZX_DOUBLE_PIXELS_MAX)
			return QD_OK;
		if (!pass_grow((void **)&dec->work, &dec->work_cap, 5 * size))
			return QD_ERR_NOMEM;
		img = dec->work;
		if (which == ZX_DEBLUR) {
			if (!pass_grow((void **)&dec->deconv, &dec->deconv_cap,
			               (3 * size + width) * sizeof(float)))
				return QD_ERR_NOMEM;
			const unsigned r = height >= ZX_DEBLUR_LARGE_H ? 2 : 1;
			pass_deblur(data, width, height, r, ZX_DEBLUR_ITERATIONS, dec->deconv,
			            dec->work + 4 * size);
			data = dec->work + 4 * size;
		} else if (which == ZX_SHARP_DOUBLE) {
			if (!pass_grow((void **)&dec->blur, &dec->blur_cap,
			               2 * size * sizeof(uint16_t)))
				return QD_ERR_NOMEM;
			/* The sharpened copy after the x2 image's room. */
			pass_unsharp(data, width, height, ZX_SHARP_DOUBLE_RADIUS,
			             ZX_SHARP_DOUBLE_AMOUNT, dec->blur, dec->work + 4 * size);
			data = dec->work + 4 * size;
		}
		pass_double(data, width, height, dec->work);
		w = 2 * width;
		h = 2 * height;
		break;
	}
	int n = 0;
	return zxdecode_gray(dec->zx, img, w, h, bin, collect, &dec->zx_texts, &n, unread);
}

/* A zxing-cpp second look's cost in its own bucket: the pixels it reads (0: not taken). */
static size_t zx_cost(unsigned which, unsigned width, unsigned height)
{
	size_t px = (size_t)width * height;
	if (which == ZX_DOUBLE || which == ZX_SHARP_DOUBLE)
		return px <= ZX_DOUBLE_PIXELS_MAX ? 4 * px : 0;
	return which == ZX_HALF ? px / 4 : px;
}

/*
 * A camera frame's second looks: the round's looks not yet taken, in order,
 * each when its own decoder's bucket covers it.  A look that does not fit
 * is skipped for this frame - the next one is tried - and stays due: every
 * look comes round once a round, and a costly one (ZBar's full look at a
 * large frame) never holds up the cheap ones behind it.  A new scene starts
 * a new round.  A text from ZBar ends the frame's looks; after a text from
 * zxing-cpp only ZBar's (its second opinion) run.  cue: a card may just
 * have come, so ZBar may spend its credit and zxing-cpp its reserve (an
 * idle desk keeps a round of zxing-cpp's looks in reserve for that frame).
 */
static enum qd_err second_looks(struct qrdecode *dec, const uint8_t *data, unsigned width,
                                unsigned height, int64_t t_us, bool new_scene, int *unread,
                                int *parts)
{
	const bool zb = dec->decoders & QRDECODE_ZBAR;
	size_t cost[ROUND_MAX];
	const size_t n =
	        ZB_FIRST + (zb ? zbdecode_plan(dec->zb, width, height, cost + ZB_FIRST) : 0);
	double zx_round = 0, zb_round = 0, zb_largest = 0;
	for (size_t i = 0; i < n; i++) {
		if (i < ZB_FIRST) {
			cost[i] = zx_cost((unsigned)i, width, height);
			zx_round += (double)cost[i];
		} else {
			zb_round += (double)cost[i];
			zb_largest = (double)cost[i] > zb_largest ? (double)cost[i] : zb_largest;
		}
	}
	refill(dec, t_us, zb_round, zb_largest, zx_round);
	/* A symbol zxing-cpp located but could not read is a cue like a new scene. */
	if (new_scene || *unread > 0)
		dec->credit_until_us = t_us + CREDIT_US;
	const unsigned all = (1u << n) - 1;
	if (new_scene || (dec->done & all) == all)
		dec->done = 0; /* a new scene, or a round complete: every look is due again */
	/* Just after a change a card may have come that zxing-cpp's first look cannot read. */
	const bool cue = t_us < dec->credit_until_us && dec->zx_texts.n == 0;
	double zb_room = dec->tokens + (cue ? dec->credit : 0);
	double zx_room = cue ? dec->zx_tokens : dec->zx_tokens - zx_round;
	double zb_spent = 0, zx_spent = 0;
	bool fresh = true; /* ZBar's first look at this frame makes its x0.5 copy */
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < n && rc == QD_OK && dec->zb_texts.n == 0; i++) {
		const bool zx = i < ZB_FIRST;
		if (cost[i] == 0)
			dec->done |= 1u << i; /* not taken at this frame size */
		if ((dec->done & (1u << i)) || (zx && dec->zx_texts.n > 0))
			continue;
		double *room = zx ? &zx_room : &zb_room;
		if ((double)cost[i] > *room)
			continue; /* does not fit this frame: the next look is tried */
		*room -= (double)cost[i];
		dec->done |= 1u << i;
		if (zx) {
			zx_spent += (double)cost[i];
			dec->stats.zxing_looks++;
			rc = zx_look(dec, (unsigned)i, data, width, height, unread);
		} else {
			int found = 0;
			zb_spent += (double)cost[i];
			dec->stats.zbar_pixels += cost[i];
			dec->stats.zbar_looks++;
			rc = zbdecode_look(dec->zb, data, width, height, (unsigned)(i - ZB_FIRST),
			                   fresh, collect, &dec->zb_texts, &found, parts);
			fresh = false;
		}
	}
	dec->zx_tokens -= zx_spent;
	/* ZBar's looks are paid from its bucket first, the rest from the credit. */
	double from_tokens = dec->tokens > 0 ? dec->tokens : 0;
	if (zb_spent <= from_tokens) {
		dec->tokens -= zb_spent;
	} else {
		dec->tokens -= from_tokens;
		dec->credit -= zb_spent - from_tokens;
	}
	return rc;
}

/* greyread_try_fn: a redrawn symbol through zxing-cpp's pure reader, its text zxing-cpp's. */
static enum qd_err grey_try(void *arg, const uint8_t *img, unsigned w, unsigned h, bool *done)
{
	struct qrdecode *dec = arg;
	int n = 0;
	enum qd_err rc = zxdecode_pure(dec->zx, img, w, h, collect, &dec->zx_texts, &n);
	*done = n > 0;
	return rc;
}

/*
 * The grey look's second pass, when the frame as it is read nothing: the same look on a
 * sharpened copy (x0.5 first for a frame GREY_HALF_H px high or more) - focus blur of 0.75
 * module and motion of 2.25 that the look on the frame itself misses (docs/decode.md).
 */
static enum qd_err grey_sharpened(struct qrdecode *dec, const uint8_t *data, unsigned width,
                                  unsigned height)
{
	const size_t size = (size_t)width * height;
	if (!pass_grow((void **)&dec->work, &dec->work_cap, 2 * size) ||
	    !pass_grow((void **)&dec->blur, &dec->blur_cap, 2 * size * sizeof(uint16_t)))
		return QD_ERR_NOMEM;
	const uint8_t *img = data;
	unsigned w = width, h = height;
	if (height >= GREY_HALF_H) {
		pass_half(data, width, height, dec->work + size, &w, &h);
		img = dec->work + size;
	}
	pass_unsharp(img, w, h, GREY_SHARP_RADIUS, GREY_SHARP_AMOUNT, dec->blur, dec->work);
	return greyread_look(dec->work, w, h, grey_try, dec, NULL);
}

/*
 * The looks at a card at rest: once a new scene has come to rest (this frame like the last,
 * within CREDIT_US of the change) and nothing read it - not this frame, not the last, not the
 * frame before the change - the deblur look, then, if it read nothing, the grey look (on the
 * frame, then on a sharpened copy: grey_sharpened); each at most once a second from its own
 * bucket.  A scene that never stops changing, or an idle
 * desk, never pays for them.
 */
static enum qd_err rest_looks(struct qrdecode *dec, const uint8_t *data, unsigned width,
                              unsigned height, int64_t t_us, bool new_scene, int *unread)
{
	if (new_scene) {
		/* Not after a card that was read: it was lifted, or moved. */
		dec->deblur_due = !dec->read_last;
		dec->grey_due = !dec->read_last;
		return QD_OK;
	}
	if ((size_t)width * height > ZX_DOUBLE_PIXELS_MAX) /* not taken: nothing to count */
		return QD_OK;
	if (t_us >= dec->credit_until_us || dec->read_last || dec->zx_texts.n > 0 ||
	    dec->zb_texts.n > 0)
		return QD_OK;
	enum qd_err rc = QD_OK;
	if (dec->deblur_due && dec->deblur_tokens >= 1) {
		dec->deblur_due = false;
		dec->deblur_tokens -= 1;
		dec->stats.zxing_looks++;
		dec->stats.deblur_looks++;
		rc = zx_look(dec, ZX_DEBLUR, data, width, height, unread);
	}
	if (rc == QD_OK && dec->zx_texts.n == 0 && dec->grey_due && dec->grey_tokens >= 1) {
		dec->grey_due = false;
		dec->grey_tokens -= 1;
		dec->stats.grey_looks++;
		rc = greyread_look(data, width, height, grey_try, dec, NULL);
		if (rc == QD_OK && dec->zx_texts.n == 0) {
			rc = grey_sharpened(dec, data, width, height);
			dec->stats.sharp_reads += dec->zx_texts.n > 0;
		}
		dec->stats.grey_reads += dec->zx_texts.n > 0;
	}
	return rc;
}

static enum qd_err chain(struct qrdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                         bool still, int64_t t_us, qrdecode_cb cb, void *arg, int *found)
{
	texts_clear(&dec->zx_texts);
	texts_clear(&dec->zb_texts);
	dec->stats.images++;
	enum qd_err rc = QD_OK;
	int n = 0, unread = 0, parts = 0;
	const bool zx = dec->decoders & QRDECODE_ZXING, zb = dec->decoders & QRDECODE_ZBAR;
	if (zx) {
		rc = zxdecode_gray(dec->zx, data, width, height, ZXDECODE_LOCAL, collect,
		                   &dec->zx_texts, &n, &unread);
		if (rc != QD_OK)
			return rc;
	}
	if (still || !zx) {
		/* A still (or ZBar alone): every second look of zxing-cpp, ZBar as set. */
		for (unsigned which = 0;
		     zx && which < ZX_LOOKS && dec->zx_texts.n == 0 && rc == QD_OK; which++)
			rc = zx_look(dec, which, data, width, height, &unread);
		if (zb && rc == QD_OK) {
			size_t spent = 0;
			rc = zbdecode_gray(dec->zb, data, width, height, collect, &dec->zb_texts,
			                   &n, &parts, &spent);
			dec->stats.zbar_pixels += spent;
			dec->stats.zbar_looks++;
		}
	} else {
		/* A camera frame: second looks in turns; a new scene cues them at once. */
		const bool new_scene = changed(dec, data, width, height);
		rc = second_looks(dec, data, width, height, t_us, new_scene, &unread, &parts);
		if (rc == QD_OK)
			rc = rest_looks(dec, data, width, height, t_us, new_scene, &unread);
	}
	if (rc != QD_OK)
		return rc;
	*found = report(dec, cb, arg);
	dec->read_last = *found > 0;
	return QD_OK;
}

/* Checks the arguments; a padded image's rows copied together. */
static enum qd_err contiguous(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                              unsigned height, size_t stride, const uint8_t **data)
{
	if (dec == NULL || pixels == NULL || width == 0 || height == 0 || stride < width)
		return QD_ERR_ARG;
	size_t size = (size_t)width * height;
	if (size / width != height)
		return QD_ERR_TOO_LARGE;
	*data = pixels;
	if (stride == width)
		return QD_OK;
	if (!pass_grow((void **)&dec->copy, &dec->copy_cap, size))
		return QD_ERR_NOMEM;
	for (size_t y = 0; y < height; y++)
		memcpy(dec->copy + y * width, pixels + y * stride, width);
	*data = dec->copy;
	return QD_OK;
}

enum qd_err qrdecode_gray(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                          unsigned height, size_t stride, qrdecode_cb cb, void *arg, int *found)
{
	int n = 0;
	const uint8_t *data = NULL;
	enum qd_err rc = contiguous(dec, pixels, width, height, stride, &data);
	if (rc == QD_OK)
		rc = chain(dec, data, width, height, true, 0, cb, arg, &n);
	if (found != NULL)
		*found = rc == QD_OK ? n : 0;
	return rc;
}

enum qd_err qrdecode_frame(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                           unsigned height, size_t stride, int64_t t_us, qrdecode_cb cb, void *arg,
                           int *found)
{
	int n = 0;
	const uint8_t *data = NULL;
	enum qd_err rc = contiguous(dec, pixels, width, height, stride, &data);
	if (rc == QD_OK)
		rc = chain(dec, data, width, height, false, t_us, cb, arg, &n);
	if (found != NULL)
		*found = rc == QD_OK ? n : 0;
	return rc;
}
