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
 * When the first look finds nothing, the enabled passes (qrdecode.h) each
 * make a transformed copy in the decoder's work buffer and look again, in
 * a fixed order, until one finds a symbol or the next would overrun the
 * pixel budget.  Why these passes and this budget: docs/decode.md.
 */
#include "qrdesk/qrdecode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zbar.h>

/* Measured in bench/decode_quality.c; see docs/decode.md. */
#define PASSES_DEFAULT (QRDECODE_PASS_HALF | QRDECODE_PASS_INVERT | QRDECODE_PASS_ADAPTIVE)
/* Pixels through ZBar per frame, first look included: at 1280 x 720 the first look and one
 * quarter-size pass (~31 ms on the bench VM, under the 33 ms of 30 fps); at 640 x 480 the first
 * look and the three default passes at full size. */
#define BUDGET_DEFAULT (1200u * 1000u)
/* Frames over this look again at half size only (the x0.5 image's modules are still 2.5 px
 * and more at the module sizes such frames see a card at), so each pass costs a quarter. */
#define HALF_SCALE_PIXELS_MIN (640u * 480u)
/* Bigger images (photos in the replay folder) get the first look only: the work buffers
 * would pass 40 MB, and no camera mode we use comes near (4K UHD is 8.3 Mpx). */
#define PASS_PIXELS_MAX (3840u * 2160u)

struct qrdecode {
	zbar_image_scanner_t *scanner;
	unsigned passes;
	size_t budget_pixels;
	unsigned next; /* where the next frame's second looks start (pass_order index) */
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

/* The passes in the order they run. */
static const enum qrdecode_pass pass_order[] = {
        QRDECODE_PASS_HALF,    QRDECODE_PASS_INVERT,  QRDECODE_PASS_ADAPTIVE,
        QRDECODE_PASS_STRETCH, QRDECODE_PASS_SHARPEN,
};
#define PASSES (sizeof(pass_order) / sizeof(pass_order[0]))

/*
 * The second looks at a frame where the first found nothing.  A large frame
 * is looked at in its x0.5 copy (dec->work's second half).  When the budget
 * does not cover every enabled pass, each frame runs the passes that fit
 * starting where the last frame stopped: a card held under the camera for a
 * few frames meets every pass, and no frame costs more than the budget.
 */
static enum qd_err second_looks(struct qrdecode *dec, const uint8_t *data, unsigned width,
                                unsigned height, qrdecode_cb cb, void *arg, int *count)
{
	size_t size = (size_t)width * height;
	if (!grow((void **)&dec->work, &dec->work_cap, size + size / 4 + 1))
		return QD_ERR_NOMEM;
	uint8_t *half = dec->work + size;
	unsigned hw = 0, hh = 0;
	if (width >= 2 && height >= 2 &&
	    ((dec->passes & QRDECODE_PASS_HALF) || size > HALF_SCALE_PIXELS_MIN))
		pass_half(data, width, height, half, &hw, &hh);
	const bool small = size <= HALF_SCALE_PIXELS_MIN || hw == 0 || hh == 0;
	/* The image the passes after HALF transform: the frame, or its half. */
	const uint8_t *src = small ? data : half;
	const unsigned sw = small ? width : hw, sh = small ? height : hh;
	const size_t ssize = (size_t)sw * sh;

	size_t spent = size, total = size;
	for (size_t i = 0; i < PASSES; i++)
		if (dec->passes & pass_order[i])
			total += pass_order[i] == QRDECODE_PASS_HALF ? (size_t)hw * hh : ssize;
	unsigned start = total <= dec->budget_pixels ? 0 : dec->next % PASSES;
	for (size_t k = 0; k < PASSES && *count == 0; k++) {
		unsigned i = (unsigned)((start + k) % PASSES);
		enum qrdecode_pass pass = pass_order[i];
		if (!(dec->passes & pass))
			continue;
		size_t cost = pass == QRDECODE_PASS_HALF ? (size_t)hw * hh : ssize;
		if (spent + cost > dec->budget_pixels)
			break;
		spent += cost;
		dec->next = i + 1;
		const uint8_t *img = dec->work;
		unsigned w = sw, h = sh;
		switch (pass) {
		case QRDECODE_PASS_HALF:
			if (hw == 0 || hh == 0)
				continue;
			img = half;
			w = hw;
			h = hh;
			break;
		case QRDECODE_PASS_INVERT:
			pass_invert(src, ssize, dec->work);
			break;
		case QRDECODE_PASS_STRETCH:
			if (!pass_stretch(src, ssize, dec->work))
				continue;
			break;
		case QRDECODE_PASS_ADAPTIVE:
			if (!grow((void **)&dec->sums, &dec->sums_cap,
			          sizeof(uint32_t) * ((size_t)sw + 1) * ((size_t)sh + 1)))
				return QD_ERR_NOMEM;
			pass_adaptive(src, sw, sh, dec->sums, dec->work);
			break;
		case QRDECODE_PASS_SHARPEN:
			pass_sharpen(src, sw, sh, dec->work);
			break;
		}
		enum qd_err rc = scan(dec, img, w, h, cb, arg, count);
		if (rc != QD_OK)
			return rc;
	}
	return QD_OK;
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
	enum qd_err rc = scan(dec, data, width, height, cb, arg, &count);
	if (rc == QD_OK && count == 0 && dec->passes != 0 && size <= PASS_PIXELS_MAX)
		rc = second_looks(dec, data, width, height, cb, arg, &count);
	if (found != NULL)
		*found = count;
	free(copy);
	return rc;
}
