/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zbdecode.c - QR symbols from grey images with ZBar and its second looks
 * (see zbdecode.h; the decoder chain in qrdecode.c calls it).
 *
 * One zbar_image_scanner per decoder: every symbology off, QR on, QR in
 * binary mode (bytes as encoded, never converted by iconv), and the
 * inter-image cache off so that a symbol seen in consecutive frames is
 * reported every time (de-duplication is the pipeline's job).
 *
 * The caller owns the pixels (contiguous rows): they are handed to ZBar
 * without a cleanup handler.
 *
 * When the first look finds nothing, the other looks (qrdecode.h) follow:
 * the passes make a transformed copy in the decoder's work buffer, in a
 * fixed order, until one finds a symbol or the next would overrun the
 * pixel budget.  Why these passes and this budget: docs/decode.md.
 */
#include "zbdecode.h"

#include "lookpass.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zbar.h>

/* Measured in bench/decode_quality.c; see docs/decode.md. */
#define PASSES_DEFAULT (QRDECODE_PASS_HALF | QRDECODE_PASS_INVERT | QRDECODE_PASS_ADAPTIVE)
/* Pixels through ZBar per frame, every look included: at 640 x 480 every default look; at
 * 1280 x 720 the x0.5 look and then, in turn, the full frame or both quarter-size passes
 * (no-code frames: mean 21.5 ms, max 31.6 ms on the bench VM; 30 fps allows 33 ms). */
#define BUDGET_DEFAULT (1200u * 1000u)
/* Frames over this look first, and take their passes, at half size (the x0.5 image's modules
 * are still 2.5 px and more at the module sizes such frames see a card at). */
#define HALF_SCALE_PIXELS_MIN (640u * 480u)
/* Bigger images (photos in the replay folder) get the first look only: the work buffers
 * would pass 40 MB, and no camera mode we use comes near (4K UHD is 8.3 Mpx). */
#define PASS_PIXELS_MAX (3840u * 2160u)

/*
 * The looks in the order they run.  LOOK_FULL, the frame as it is, is not
 * a pass anyone switches off; the others are enum qrdecode_pass bits.
 */
#define LOOK_FULL 0u
static const unsigned look_order[] = {
        LOOK_FULL,
        QRDECODE_PASS_HALF,
        QRDECODE_PASS_INVERT,
        QRDECODE_PASS_ADAPTIVE,
        QRDECODE_PASS_STRETCH,
        QRDECODE_PASS_SHARPEN,
};
#define LOOKS (sizeof(look_order) / sizeof(look_order[0]))
_Static_assert(LOOKS == ZBDECODE_LOOKS_MAX, "zbdecode.h's bound on the looks");

/* What one call works with: the frame, its x0.5 copy, the image passes transform. */
struct frame {
	const uint8_t *full, *half, *src;
	unsigned w, h, hw, hh, sw, sh;
	unsigned passes; /* the passes this frame takes */
};

struct zbdecode {
	zbar_image_scanner_t *scanner;
	unsigned passes;
	size_t budget_pixels;
	unsigned next; /* where the next frame's later looks start (zbdecode_gray) */
	/* zbdecode_look's frame: its plan, and its x0.5 copy made once for all its looks. */
	struct frame cur;
	unsigned cur_seq[LOOKS];
	size_t cur_n;
	bool cur_ready;
	uint8_t *work; /* a pass's image */
	size_t work_cap;
	uint32_t *sums; /* the adaptive pass's integral image */
	size_t sums_cap;
};

enum qd_err zbdecode_create(struct zbdecode **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	struct zbdecode *dec = calloc(1, sizeof(*dec));
	if (dec == NULL)
		return QD_ERR_NOMEM;
	dec->scanner = zbar_image_scanner_create();
	if (dec->scanner == NULL) {
		free(dec);
		return QD_ERR_NOMEM;
	}
	if (zbar_image_scanner_set_config(dec->scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0) != 0 ||
	    zbar_image_scanner_set_config(dec->scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) != 0 ||
	    zbar_image_scanner_set_config(dec->scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1) != 0) {
		zbar_image_scanner_destroy(dec->scanner);
		free(dec);
		return QD_ERR_UNSUPPORTED;
	}
	zbar_image_scanner_enable_cache(dec->scanner, 0);
	dec->passes = PASSES_DEFAULT;
	dec->budget_pixels = BUDGET_DEFAULT;
	*out = dec;
	return QD_OK;
}

void zbdecode_destroy(struct zbdecode *dec)
{
	if (dec == NULL)
		return;
	zbar_image_scanner_destroy(dec->scanner);
	free(dec->work);
	free(dec->sums);
	free(dec);
}

void zbdecode_set_passes(struct zbdecode *dec, unsigned passes, size_t budget_pixels)
{
	if (dec == NULL)
		return;
	dec->passes = passes & QRDECODE_PASSES_ALL;
	dec->budget_pixels = budget_pixels;
	dec->next = 0;
	dec->cur_ready = false;
}

/*
 * One ZBar look at a contiguous image: symbols to cb, their number in
 * *count.  A structured-append sequence comes back from ZBar as one
 * ZBAR_QRCODE symbol (the parts' data joined, in order) once every part is
 * in the image; parts without the rest come back as a ZBAR_PARTIAL symbol,
 * which is not a text: it is counted in *parts, never delivered.
 */
static enum qd_err scan(struct zbdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                        qrdecode_cb cb, void *arg, int *count, int *parts)
{
	*count = 0;
	zbar_image_t *img = zbar_image_create();
	if (img == NULL)
		return QD_ERR_NOMEM;
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, width, height);
	zbar_image_set_data(img, data, (unsigned long)width * height, NULL);

	enum qd_err rc = QD_OK;
	if (zbar_scan_image(dec->scanner, img) < 0) {
		rc = QD_ERR_FORMAT;
	} else {
		for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym != NULL;
		     sym = zbar_symbol_next(sym)) {
			zbar_symbol_type_t type = zbar_symbol_get_type(sym);
			if (type == ZBAR_PARTIAL)
				(*parts)++;
			if (type != ZBAR_QRCODE)
				continue;
			const char *bytes = zbar_symbol_get_data(sym);
			size_t len = zbar_symbol_get_data_length(sym);
			if (bytes == NULL)
				continue;
			(*count)++;
			if (cb != NULL)
				cb(arg, bytes, len);
		}
	}
	/* The scanner keeps the results of the last image: release them with it. */
	zbar_image_scanner_recycle_image(dec->scanner, img);
	zbar_image_destroy(img);
	return rc;
}

static size_t look_cost(const struct frame *f, unsigned look)
{
	if (look == LOOK_FULL)
		return (size_t)f->w * f->h;
	if (look == QRDECODE_PASS_HALF)
		return (size_t)f->hw * f->hh;
	return (size_t)f->sw * f->sh;
}

/* One look: make its image in dec->work if it needs one, and scan it. */
static enum qd_err look(struct zbdecode *dec, const struct frame *f, unsigned which, qrdecode_cb cb,
                        void *arg, int *count, int *parts)
{
	const size_t ssize = (size_t)f->sw * f->sh;
	switch (which) {
	case LOOK_FULL:
		return scan(dec, f->full, f->w, f->h, cb, arg, count, parts);
	case QRDECODE_PASS_HALF:
		if (f->hw == 0 || f->hh == 0)
			return QD_OK;
		return scan(dec, f->half, f->hw, f->hh, cb, arg, count, parts);
	case QRDECODE_PASS_INVERT:
		pass_invert(f->src, ssize, dec->work);
		break;
	case QRDECODE_PASS_STRETCH:
		if (!pass_stretch(f->src, ssize, dec->work))
			return QD_OK;
		break;
	case QRDECODE_PASS_ADAPTIVE:
		if (!pass_grow((void **)&dec->sums, &dec->sums_cap,
		               sizeof(uint32_t) * ((size_t)f->sw + 1) * ((size_t)f->sh + 1)))
			return QD_ERR_NOMEM;
		pass_adaptive(f->src, f->sw, f->sh, dec->sums, dec->work);
		break;
	case QRDECODE_PASS_SHARPEN:
		pass_sharpen(f->src, f->sw, f->sh, dec->work);
		break;
	default:
		return QD_OK;
	}
	return scan(dec, dec->work, f->sw, f->sh, cb, arg, count, parts);
}

/*
 * This frame's looks in the order they run: the first (the frame as it is -
 * or, for a large frame with HALF enabled, its x0.5 copy, which costs a
 * quarter, reads most cards, noisy ones better, and so makes the usual
 * frame with a card cheap), then the rest of look_order that is enabled.
 * Fills f's sizes and seq (no pixel is touched: prepare() makes the
 * images); returns how many looks.
 */
static size_t plan(const struct zbdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                   struct frame *f, unsigned seq[LOOKS])
{
	const size_t size = (size_t)width * height;
	*f = (struct frame){
	        .full = data, .src = data, .w = width, .h = height, .sw = width, .sh = height};
	f->passes = size <= PASS_PIXELS_MAX ? dec->passes : 0;
	const bool large = size > HALF_SCALE_PIXELS_MIN && width >= 2 && height >= 2;
	if (f->passes != 0 && ((f->passes & QRDECODE_PASS_HALF) || large) && width >= 2 &&
	    height >= 2) {
		f->hw = width / 2;
		f->hh = height / 2;
		if (large) {
			f->sw = f->hw;
			f->sh = f->hh;
		}
	}
	size_t n = 0;
	seq[n++] = large && (f->passes & QRDECODE_PASS_HALF) ? QRDECODE_PASS_HALF : LOOK_FULL;
	for (size_t i = 0; i < LOOKS; i++)
		if (look_order[i] != seq[0] &&
		    (look_order[i] == LOOK_FULL || (f->passes & look_order[i])))
			seq[n++] = look_order[i];
	return n;
}

/* The work buffer and the x0.5 copy (in it, after a pass's image) that f's looks need. */
static enum qd_err prepare(struct zbdecode *dec, struct frame *f)
{
	const size_t size = (size_t)f->w * f->h;
	if (f->passes == 0)
		return QD_OK;
	if (!pass_grow((void **)&dec->work, &dec->work_cap, size + size / 4 + 1))
		return QD_ERR_NOMEM;
	if (f->hw != 0) {
		unsigned hw, hh;
		pass_half(f->full, f->w, f->h, dec->work + size, &hw, &hh);
		f->half = dec->work + size;
		if (f->sw == f->hw)
			f->src = f->half;
	}
	return QD_OK;
}

/*
 * Every look at one frame, until one finds a symbol: the first, then the
 * others while the budget lasts.  When the budget does not cover them all,
 * each frame starts after the look the previous frame ended with, so a
 * card held under the camera for a few frames meets every look and no
 * frame costs more than the budget.  A look that could never fit beside
 * the first (the full frame at 1280 x 960 and over) is passed over, not
 * waited for: waiting for it kept every later look from ever running.
 */
static enum qd_err looks(struct zbdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                         qrdecode_cb cb, void *arg, int *count, int *parts, size_t *spent_out)
{
	struct frame f;
	unsigned seq[LOOKS];
	const size_t n = plan(dec, data, width, height, &f, seq);
	enum qd_err rc = prepare(dec, &f);
	if (rc != QD_OK)
		return rc;
	rc = look(dec, &f, seq[0], cb, arg, count, parts);
	const size_t first = look_cost(&f, seq[0]);
	size_t spent = first, total = 0;
	*spent_out = spent;
	for (size_t i = 0; i < n; i++)
		total += look_cost(&f, seq[i]);
	if (n == 1)
		return rc;
	const size_t later = n - 1;
	unsigned start = total <= dec->budget_pixels ? 0 : dec->next % later;
	for (size_t k = 0; k < later && rc == QD_OK && *count == 0; k++) {
		unsigned i = (unsigned)((start + k) % later);
		size_t cost = look_cost(&f, seq[1 + i]);
		if (spent + cost > dec->budget_pixels) {
			if (first + cost > dec->budget_pixels)
				continue; /* never fits beside the first look */
			break;
		}
		spent += cost;
		*spent_out = spent;
		dec->next = i + 1;
		rc = look(dec, &f, seq[1 + i], cb, arg, count, parts);
	}
	return rc;
}

enum qd_err zbdecode_gray(struct zbdecode *dec, const uint8_t *data, unsigned width,
                          unsigned height, qrdecode_cb cb, void *arg, int *found, int *parts,
                          size_t *spent)
{
	if (dec == NULL || data == NULL || width == 0 || height == 0 || found == NULL ||
	    parts == NULL || spent == NULL)
		return QD_ERR_ARG;
	*found = 0;
	*spent = 0;
	dec->cur_ready = false; /* the work buffer is about to be reused */
	return looks(dec, data, width, height, cb, arg, found, parts, spent);
}

enum qd_err zbdecode_look(struct zbdecode *dec, const uint8_t *data, unsigned width,
                          unsigned height, unsigned i, bool fresh, qrdecode_cb cb, void *arg,
                          int *found, int *parts)
{
	if (dec == NULL || data == NULL || width == 0 || height == 0 || found == NULL ||
	    parts == NULL)
		return QD_ERR_ARG;
	*found = 0;
	if (fresh || !dec->cur_ready || dec->cur.full != data || dec->cur.w != width ||
	    dec->cur.h != height) {
		dec->cur_ready = false;
		dec->cur_n = plan(dec, data, width, height, &dec->cur, dec->cur_seq);
		enum qd_err rc = prepare(dec, &dec->cur);
		if (rc != QD_OK)
			return rc;
		dec->cur_ready = true;
	}
	if (i >= dec->cur_n)
		return QD_ERR_ARG;
	return look(dec, &dec->cur, dec->cur_seq[i], cb, arg, found, parts);
}

size_t zbdecode_plan(struct zbdecode *dec, unsigned width, unsigned height,
                     size_t cost[ZBDECODE_LOOKS_MAX])
{
	struct frame f;
	unsigned seq[LOOKS];
	const size_t n = plan(dec, NULL, width, height, &f, seq);
	for (size_t i = 0; i < n; i++)
		cost[i] = look_cost(&f, seq[i]);
	return n;
}
