/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdecode.c - QR symbols from grey images with ZBar (see qrdecode.h).
 *
 * One zbar_image_scanner per decoder: every symbology off, QR on, QR in
 * binary mode (bytes as encoded, never converted by iconv), and the
 * inter-image cache off so that a symbol seen in consecutive frames is
 * reported every time (de-duplication is the pipeline's job).
 *
 * The caller owns the pixels: they are handed to ZBar without a cleanup
 * handler, and copied only when rows are not contiguous (stride != width).
 *
 * When the first look finds nothing, the other looks (qrdecode.h) follow:
 * the passes make a transformed copy in the decoder's work buffer, in a
 * fixed order, until one finds a symbol or the next would overrun the
 * pixel budget.  Why these passes and this budget: docs/decode.md.
 */
#include "qrdecode.h"

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

struct qrdecode {
	zbar_image_scanner_t *scanner;
	unsigned passes;
	size_t budget_pixels;
	unsigned next; /* where the next frame's later looks start (look_order index) */
	uint8_t *work; /* a pass's image */
	size_t work_cap;
	uint32_t *sums; /* the adaptive pass's integral image */
	size_t sums_cap;
};

enum qd_err qrdecode_create(struct qrdecode **out)
{
	if (out == NULL)
		return QD_ERR_ARG;
	*out = NULL;
	struct qrdecode *dec = calloc(1, sizeof(*dec));
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

void qrdecode_destroy(struct qrdecode *dec)
{
	if (dec == NULL)
		return;
	zbar_image_scanner_destroy(dec->scanner);
	free(dec->work);
	free(dec->sums);
	free(dec);
}

void qrdecode_set_passes(struct qrdecode *dec, unsigned passes, size_t budget_pixels)
{
	if (dec == NULL)
		return;
	dec->passes = passes & QRDECODE_PASSES_ALL;
	dec->budget_pixels = budget_pixels;
	dec->next = 0;
}

/* One ZBar look at a contiguous image: symbols to cb, their number in *count. */
static enum qd_err scan(struct qrdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                        qrdecode_cb cb, void *arg, int *count)
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
			if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
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

static bool grow(void **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	void *p = realloc(*buf, need);
	if (p == NULL)
		return false;
	*buf = p;
	*cap = need;
	return true;
}

/* ---- Passes: src (w x h, contiguous) -> dst; the size of dst in *ow, *oh --- */

static void pass_half(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst, unsigned *ow,
                      unsigned *oh)
{
	*ow = w / 2;
	*oh = h / 2;
	for (unsigned y = 0; y < *oh; y++) {
		const uint8_t *a = src + (size_t)(2 * y) * w, *b = a + w;
		uint8_t *o = dst + (size_t)y * *ow;
		for (unsigned x = 0; x < *ow; x++)
			o[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) /
			                 4);
	}
}

static void pass_invert(const uint8_t *src, size_t n, uint8_t *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(255 - src[i]);
}

/* Returns false when the image is flat (nothing to stretch). */
static bool pass_stretch(const uint8_t *src, size_t n, uint8_t *dst)
{
	size_t hist[256] = {0};
	for (size_t i = 0; i < n; i++)
		hist[src[i]]++;
	size_t cut = n / 100, acc = 0;
	unsigned lo = 0, hi = 255;
	for (lo = 0; lo < 255 && acc + hist[lo] <= cut; lo++)
		acc += hist[lo];
	acc = 0;
	for (hi = 255; hi > 0 && acc + hist[hi] <= cut; hi--)
		acc += hist[hi];
	if (hi <= lo)
		return false;
	uint8_t map[256];
	for (unsigned v = 0; v < 256; v++)
		map[v] = v <= lo ? 0 : v >= hi ? 255 : (uint8_t)((v - lo) * 255 / (hi - lo));
	for (size_t i = 0; i < n; i++)
		dst[i] = map[src[i]];
	return true;
}

/*
 * Black where a pixel is darker than the mean of the square around it (a
 * side of about an eighth of the smaller dimension: a few modules at any
 * distance a code is readable from), white elsewhere; the mean comes from
 * an integral image, so the pass costs the same at any window size.
 */
static void pass_adaptive(const uint8_t *src, unsigned w, unsigned h, uint32_t *sums, uint8_t *dst)
{
	const size_t sw = (size_t)w + 1;
	memset(sums, 0, sizeof(*sums) * sw);
	for (unsigned y = 0; y < h; y++) {
		uint32_t row = 0;
		sums[(y + 1) * sw] = 0;
		for (unsigned x = 0; x < w; x++) {
			row += src[(size_t)y * w + x];
			sums[(y + 1) * sw + x + 1] = sums[y * sw + x + 1] + row;
		}
	}
	unsigned r = (w < h ? w : h) / 16;
	if (r < 4)
		r = 4;
	for (unsigned y = 0; y < h; y++) {
		unsigned y0 = y > r ? y - r : 0, y1 = y + r + 1 < h ? y + r + 1 : h;
		for (unsigned x = 0; x < w; x++) {
			unsigned x0 = x > r ? x - r : 0, x1 = x + r + 1 < w ? x + r + 1 : w;
			/* Modulo 2^32: exact, since one window sums to under 2^32. */
			uint32_t sum = sums[y1 * sw + x1] - sums[y0 * sw + x1] -
			               sums[y1 * sw + x0] + sums[y0 * sw + x0];
			uint64_t area = (uint64_t)(x1 - x0) * (y1 - y0);
			/* 3 % under the mean: flat paper with sensor noise stays white. */
			uint64_t v = (uint64_t)src[(size_t)y * w + x] * area * 100;
			dst[(size_t)y * w + x] = v < (uint64_t)sum * 97 ? 0 : 255;
		}
	}
}

/* v + (v - mean of its 3x3), clamped: edges softened by focus made steep again. */
static void pass_sharpen(const uint8_t *src, unsigned w, unsigned h, uint8_t *dst)
{
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (x == 0 || y == 0 || x + 1 == w || y + 1 == h) {
				dst[i] = src[i];
				continue;
			}
			int sum = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++)
					sum += src[i + (size_t)((long)dy * w + dx)];
			int v = 2 * src[i] - (sum + 4) / 9;
			dst[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
}

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

/* What one call works with: the frame, its x0.5 copy, the image passes transform. */
struct frame {
	const uint8_t *full, *half, *src;
	unsigned w, h, hw, hh, sw, sh;
};

static size_t look_cost(const struct frame *f, unsigned look)
{
	if (look == LOOK_FULL)
		return (size_t)f->w * f->h;
	if (look == QRDECODE_PASS_HALF)
		return (size_t)f->hw * f->hh;
	return (size_t)f->sw * f->sh;
}

/* One look: make its image in dec->work if it needs one, and scan it. */
static enum qd_err look(struct qrdecode *dec, const struct frame *f, unsigned which, qrdecode_cb cb,
                        void *arg, int *count)
{
	const size_t ssize = (size_t)f->sw * f->sh;
	switch (which) {
	case LOOK_FULL:
		return scan(dec, f->full, f->w, f->h, cb, arg, count);
	case QRDECODE_PASS_HALF:
		if (f->hw == 0 || f->hh == 0)
			return QD_OK;
		return scan(dec, f->half, f->hw, f->hh, cb, arg, count);
	case QRDECODE_PASS_INVERT:
		pass_invert(f->src, ssize, dec->work);
		break;
	case QRDECODE_PASS_STRETCH:
		if (!pass_stretch(f->src, ssize, dec->work))
			return QD_OK;
		break;
	case QRDECODE_PASS_ADAPTIVE:
		if (!grow((void **)&dec->sums, &dec->sums_cap,
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
	return scan(dec, dec->work, f->sw, f->sh, cb, arg, count);
}

/*
 * Every look at one frame, until one finds a symbol.  The first is the
 * frame as it is - or, for a large frame with HALF enabled, its x0.5 copy,
 * which costs a quarter, reads most cards (noisy ones better) and so makes
 * the usual frame with a card cheap.  The rest follow in look_order while
 * the budget lasts; when it does not cover them all, each frame starts
 * after the look the previous frame ended with, so a card held under the
 * camera for a few frames meets every look and no frame costs more than
 * the budget.  Large frames take their passes on the x0.5 copy.
 */
static enum qd_err looks(struct qrdecode *dec, const uint8_t *data, unsigned width, unsigned height,
                         qrdecode_cb cb, void *arg, int *count)
{
	const size_t size = (size_t)width * height;
	struct frame f = {
	        .full = data, .src = data, .w = width, .h = height, .sw = width, .sh = height};
	unsigned passes = size <= PASS_PIXELS_MAX ? dec->passes : 0;
	const bool large = size > HALF_SCALE_PIXELS_MIN && width >= 2 && height >= 2;
	/* dec->work: a pass's image, then the x0.5 copy. */
	if (passes != 0 && !grow((void **)&dec->work, &dec->work_cap, size + size / 4 + 1))
		return QD_ERR_NOMEM;
	if (passes != 0 && ((passes & QRDECODE_PASS_HALF) || large) && width >= 2 && height >= 2) {
		f.half = dec->work + size;
		pass_half(data, width, height, dec->work + size, &f.hw, &f.hh);
		if (large) {
			f.src = f.half;
			f.sw = f.hw;
			f.sh = f.hh;
		}
	}
	const unsigned first =
	        large && (passes & QRDECODE_PASS_HALF) ? QRDECODE_PASS_HALF : LOOK_FULL;
	enum qd_err rc = look(dec, &f, first, cb, arg, count);
	size_t spent = look_cost(&f, first), total = 0;
	for (size_t i = 0; i < LOOKS; i++)
		if (look_order[i] == LOOK_FULL || (passes & look_order[i]))
			total += look_cost(&f, look_order[i]);
	if (passes == 0)
		return rc;
	unsigned start = total <= dec->budget_pixels ? 0 : dec->next % LOOKS;
	for (size_t k = 0; k < LOOKS && rc == QD_OK && *count == 0; k++) {
		unsigned i = (unsigned)((start + k) % LOOKS), which = look_order[i];
		if (which == first || (which != LOOK_FULL && !(passes & which)))
			continue;
		size_t cost = look_cost(&f, which);
		if (spent + cost > dec->budget_pixels)
			break;
		spent += cost;
		dec->next = i + 1;
		rc = look(dec, &f, which, cb, arg, count);
	}
	return rc;
}

enum qd_err qrdecode_gray(struct qrdecode *dec, const uint8_t *pixels, unsigned width,
                          unsigned height, size_t stride, qrdecode_cb cb, void *arg, int *found)
{
	if (found != NULL)
		*found = 0;
	if (dec == NULL || pixels == NULL || width == 0 || height == 0 || stride < width)
		return QD_ERR_ARG;
	size_t size = (size_t)width * height;
	if (size / width != height)
		return QD_ERR_TOO_LARGE;

	uint8_t *copy = NULL;
	const uint8_t *data = pixels;
	if (stride != width) {
		copy = malloc(size);
		if (copy == NULL)
			return QD_ERR_NOMEM;
		for (size_t y = 0; y < height; y++)
			memcpy(copy + y * width, pixels + y * stride, width);
		data = copy;
	}

	int count = 0;
	enum qd_err rc = looks(dec, data, width, height, cb, arg, &count);
	if (found != NULL)
		*found = count;
	free(copy);
	return rc;
}
