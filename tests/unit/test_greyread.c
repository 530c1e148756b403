/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_greyread.c - the grey look (drivers/greyread.c): bad and edge frames
 * (none, tiny, too large, flat, black, noise, a symbol cut by the border),
 * the version blocks it fits the grid to, and symbols it reads - drawn here
 * by libqrencode, soft, faint, turned (by a quarter, and 36-60 degrees: the
 * turned copy's finders) - through zxing-cpp's pure reader; at 1280 x 720, a
 * desk of fine texture that fills the list of raw finder maxima, the turned
 * copy's padding left unscanned, and candidates ranked the same whatever
 * order qsort leaves equals in (this test is linked with --wrap=qsort).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "greyread.h"
#include "testutil.h"
#include "zxdecode.h"

#define W 320
#define H 240

/*
 * qsort, wrapped (tests/CMakeLists.txt: -Wl,--wrap=qsort): with reverse_ties set, elements the
 * comparator calls equal come out in the reverse of the order they came in - qsort promises no
 * order among equals, and a libc other than glibc (musl's smoothsort) gives another one.
 */
void __real_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void __wrap_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
static bool reverse_ties;

/* Stable merge sort of [0, n) of base, tmp as large. */
static void merge_sort(uint8_t *base, uint8_t *tmp, size_t n, size_t size,
                       int (*cmp)(const void *, const void *))
{
	if (n < 2)
		return;
	const size_t half = n / 2;
	merge_sort(base, tmp, half, size, cmp);
	merge_sort(base + half * size, tmp, n - half, size, cmp);
	size_t i = 0, j = half, k = 0;
	while (i < half || j < n) {
		const bool left =
		        j == n || (i < half && cmp(base + i * size, base + j * size) <= 0);
		memcpy(tmp + k++ * size, base + (left ? i++ : j++) * size, size);
	}
	memcpy(base, tmp, n * size);
}

void __wrap_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (!reverse_ties || n < 2) {
		__real_qsort(base, n, size, cmp);
		return;
	}
	uint8_t *b = base, *tmp = malloc(n * size);
	assert_non_null(tmp);
	for (size_t i = 0, j = n - 1; i < j; i++, j--) { /* reversed, then sorted stably */
		memcpy(tmp, b + i * size, size);
		memcpy(b + i * size, b + j * size, size);
		memcpy(b + j * size, tmp, size);
	}
	merge_sort(b, tmp, n, size, cmp);
	free(tmp);
}

static const char TEXT[] =
        "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4";

struct seen {
	struct zxdecode *zx;
	const char *want;
	unsigned right, wrong, tries;
};

static void on_text(void *arg, const char *data, size_t len)
{
	struct seen *s = arg;
	if (s->want != NULL && len == strlen(s->want) && memcmp(data, s->want, len) == 0)
		s->right++;
	else
		s->wrong++;
}

static enum qd_err on_symbol(void *arg, const uint8_t *img, unsigned w, unsigned h, bool *done)
{
	struct seen *s = arg;
	int found = 0;
	s->tries++;
	enum qd_err rc = zxdecode_pure(s->zx, img, w, h, on_text, s, &found);
	*done = found > 0;
	return rc;
}

/* The look at px; what it read in *s (want: the text expected, NULL none). */
static enum qd_err look(const uint8_t *px, unsigned w, unsigned h, const char *want, struct seen *s,
                        struct greyread_stats *st)
{
	memset(s, 0, sizeof(*s));
	s->want = want;
	assert_int_equal(zxdecode_create(&s->zx), QD_OK);
	enum qd_err rc = greyread_look(px, w, h, on_symbol, s, st);
	zxdecode_destroy(s->zx);
	assert_int_equal(s->wrong, 0);
	assert_int_equal(st->tries, s->tries);
	assert_true(st->tries <= GREYREAD_TRIES_MAX);
	return rc;
}

/*
 * TEXT drawn by libqrencode (level M) on a w x h frame: module px a module, its centre at
 * (cx, cy), turned by deg, ink and paper grey levels, 4 x 4 supersampled, then blurred by
 * blur box passes of radius 1.
 */
static uint8_t *draw(unsigned w, unsigned h, double module, double cx, double cy, double deg,
                     int ink, int paper, int blur)
{
	QRcode *qr = QRcode_encodeString(TEXT, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	uint8_t *px = malloc((size_t)w * h), *tmp = malloc((size_t)w * h);
	assert_non_null(px);
	assert_non_null(tmp);
	const double c = cos(deg * 3.14159265358979323846 / 180),
	             s = sin(deg * 3.14159265358979323846 / 180), half = qr->width / 2.0;
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			int dark = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					const double dx = x + (sx + 0.5) / 4 - cx,
					             dy = y + (sy + 0.5) / 4 - cy;
					const double u = (c * dx + s * dy) / module + half,
					             v = (-s * dx + c * dy) / module + half;
					if (u >= 0 && v >= 0 && u < qr->width && v < qr->width)
						dark += qr->data[(int)v * qr->width + (int)u] & 1;
				}
			px[(size_t)y * w + x] = (uint8_t)(paper + (ink - paper) * dark / 16);
		}
	for (int b = 0; b < blur; b++) {
		for (unsigned y = 0; y < h; y++)
			for (unsigned x = 0; x < w; x++) {
				int sum = 0, n = 0;
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						const long xx = (long)x + dx, yy = (long)y + dy;
						if (xx >= 0 && yy >= 0 && xx < (long)w &&
						    yy < (long)h) {
							sum += px[(size_t)yy * w + (size_t)xx];
							n++;
						}
					}
				tmp[(size_t)y * w + x] = (uint8_t)(sum / n);
			}
		memcpy(px, tmp, (size_t)w * h);
	}
	free(tmp);
	QRcode_free(qr);
	return px;
}

static void test_version_info(void **state)
{
	(void)state;
	/* ISO/IEC 18004 table D.1. */
	assert_int_equal(greyread_version_info(7), 0x07C94);
	assert_int_equal(greyread_version_info(8), 0x085BC);
	assert_int_equal(greyread_version_info(21), 0x15683);
	assert_int_equal(greyread_version_info(40), 0x28C69);
}

static void test_bad_frames(void **state)
{
	(void)state;
	struct seen s;
	struct greyread_stats st;
	uint8_t *px = malloc((size_t)1281 * 720);
	assert_non_null(px);
	/* No pixels, no decoder, too small for a symbol, larger than the look takes. */
	memset(px, 200, (size_t)1281 * 720);
	assert_int_equal(greyread_look(NULL, W, H, on_symbol, &s, &st), QD_OK);
	assert_int_equal(st.tries, 0);
	assert_int_equal(greyread_look(px, W, H, NULL, &s, NULL), QD_OK);
	assert_int_equal(look(px, 20, 20, NULL, &s, &st), QD_OK);
	assert_int_equal(st.finders, 0);
	assert_int_equal(look(px, 1281, 720, NULL, &s, &st), QD_OK);
	assert_int_equal(st.finders, 0);
	/* Long thin frames within the pixel limit: the turned copy, (w + h)^2 / 4 pixels, would
	 * be gigabytes for 21 x 43885 (it was taken); it is skipped, and a normal frame's stays
	 * within twice the limit. */
	static const unsigned thin[][2] = {{21, 43885}, {43885, 21}, {81, 11377}, {1920, 480}};
	for (size_t i = 0; i < sizeof(thin) / sizeof(thin[0]); i++) {
		uint8_t *t = calloc((size_t)thin[i][0] * thin[i][1], 1);
		assert_non_null(t);
		assert_int_equal(look(t, thin[i][0], thin[i][1], NULL, &s, &st), QD_OK);
		assert_true(st.turned_px <= 2 * (size_t)GREYREAD_PIXELS_MAX);
		if (i < 3)
			assert_int_equal(st.turned_px, 0);
		else
			assert_true(st.turned_px > 0);
		free(t);
	}
	assert_int_equal(look(px, 1280, 720, NULL, &s, &st), QD_OK);
	assert_int_equal(st.turned_px, 1001u * 1001u);
	/* Flat white, flat grey, all black: nothing to correlate with. */
	static const uint8_t levels[] = {255, 128, 0};
	for (size_t i = 0; i < sizeof(levels); i++) {
		memset(px, levels[i], (size_t)W * H);
		assert_int_equal(look(px, W, H, NULL, &s, &st), QD_OK);
		assert_int_equal(st.finders, 0);
		assert_int_equal(st.tries, 0);
	}
	/* Noise: whatever it finds, nothing is read and no more than the tries allowed. */
	uint32_t x = 12345;
	for (size_t i = 0; i < (size_t)W * H; i++) {
		x = x * 1664525u + 1013904223u;
		px[i] = (uint8_t)(x >> 24);
	}
	assert_int_equal(look(px, W, H, NULL, &s, &st), QD_OK);
	assert_int_equal(s.right, 0);
	free(px);
}

/* A symbol drawn as draw() takes it, and whether the look must read it. */
struct drawn {
	unsigned module;
	double cx, cy, deg;
	uint8_t ink, paper;
	int blur;
	bool must_read;
};

static void look_at_each(const struct drawn *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct seen s;
		struct greyread_stats st;
		uint8_t *px = draw(W, H, d[i].module, d[i].cx, d[i].cy, d[i].deg, d[i].ink,
		                   d[i].paper, d[i].blur);
		assert_int_equal(look(px, W, H, TEXT, &s, &st), QD_OK); /* and no wrong text */
		if (d[i].must_read && s.right != 1)
			fail_msg("symbol %zu of its table not read", i);
		free(px);
	}
}

static void test_reads_soft_faint_and_turned(void **state)
{
	(void)state;
	static const struct drawn cases[] = {
	        /* Clean, 3 px a module. */
	        {3, W / 2.0, H / 2.0, 0, 30, 220, 0, true},
	        /* Faint (ink 8 % darker than the paper), soft (three box passes). */
	        {3, W / 2.0, H / 2.0, 0, 184, 200, 3, true},
	        /* Turned a quarter and a bit, 2 px a module: the finders tell the corner. */
	        {2, W / 2.0, H / 2.0, 96, 40, 210, 1, true},
	};
	look_at_each(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Turned a third of the way to diagonal and more, where the upright boxes miss the finders
 * (the look before the turned copy read none of these; it read a clean symbol at 30 degrees):
 * the copy of the frame turned 45 degrees finds them. */
static void test_reads_turned_symbols(void **state)
{
	(void)state;
	static const struct drawn cases[] = {
	        {3, W / 2.0, H / 2.0, 36, 30, 220, 0, true},
	        {3, W / 2.0, H / 2.0, 45, 40, 210, 1, true},
	        {4, W / 2.0 + 7, H / 2.0 - 5, 52, 150, 215, 2, true}, /* faint, soft */
	        {3, W / 2.0, H / 2.0, 240, 30, 220, 0, true},         /* upside down and turned */
	};
	look_at_each(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_symbol_at_the_border(void **state)
{
	(void)state;
	QRcode *qr = QRcode_encodeString(TEXT, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	const double half = qr->width * 3 / 2.0;
	QRcode_free(qr);
	const struct drawn cases[] = {
	        /* One module of quiet zone in view at two edges (a finder's correlation
	         * window, its separator included, must be in the frame): read. */
	        {3, half + 3, half + 3, 0, 30, 220, 0, true},
	        /* Cut by two edges, a finder half out of the frame: no fault and no wrong
	         * text; not expected to read. */
	        {3, half - 10, half - 10, 0, 30, 220, 0, false},
	        {3, W - half + 10, H - half + 10, 0, 30, 220, 0, false},
	};
	look_at_each(cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A 1280 x 720 desk tiled with tiny finder patterns (1 px a module, 9 px apart: over 11,000
 * raw maxima at the smallest size alone) around a symbol of 2.5 px a module: the list of raw
 * maxima fills and is cut to its better half, and the symbol's finders, scanned later, are
 * still found and read (before the cut none was: the list filled at the small sizes).
 */
static uint8_t *tiled_desk(void)
{
	QRcode *qr = QRcode_encodeString(TEXT, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	const double module = 2.5, clear = (qr->width / 2.0 + 4) * module;
	QRcode_free(qr);
	uint8_t *px = draw(1280, 720, module, 640, 360, 0, 30, 220, 0);
	for (unsigned y = 0; y < 720; y++)
		for (unsigned x = 0; x < 1280; x++) {
			if (fabs(x + 0.5 - 640) < clear && fabs(y + 0.5 - 360) < clear)
				continue;
			const int dx = abs((int)(x % 9) - 4), dy = abs((int)(y % 9) - 4);
			const int ring = dx > dy ? dx : dy;
			px[(size_t)y * 1280 + x] = ring == 3 || ring <= 1 ? 30 : 220;
		}
	return px;
}

static void test_full_list_at_1280(void **state)
{
	(void)state;
	struct seen s;
	struct greyread_stats st;
	uint8_t *px = tiled_desk();
	assert_int_equal(look(px, 1280, 720, TEXT, &s, &st), QD_OK);
	assert_true(st.halved > 0);
	assert_int_equal(s.right, 1);
	/* The turned copy (1001 x 1001 px) is about half padding, the frame's border repeated:
	 * only windows over the frame's pixels are correlated. */
	assert_int_equal(st.turned_px, 1001u * 1001u);
	assert_true(st.turned_windows > 0);
	assert_true(st.turned_windows * 2 < st.turned_grid);
	free(px);
}

/*
 * Thousands of candidates of equal weight (the tiles): which are kept, in which order, and
 * what is read must not depend on the order qsort leaves equals in.
 */
static void test_rank_whatever_qsort_does_with_equals(void **state)
{
	(void)state;
	struct seen s[2];
	struct greyread_stats st[2];
	uint8_t *px = tiled_desk();
	for (int r = 0; r < 2; r++) {
		reverse_ties = r == 1;
		assert_int_equal(look(px, 1280, 720, TEXT, &s[r], &st[r]), QD_OK);
	}
	reverse_ties = false;
	assert_int_equal(s[1].right, s[0].right);
	assert_int_equal(st[1].finders, st[0].finders);
	assert_int_equal(st[1].grids, st[0].grids);
	assert_int_equal(st[1].tries, st[0].tries);
	assert_int_equal(st[1].halved, st[0].halved);
	assert_true(st[0].finders > 3);
	for (unsigned i = 0; i < st[0].finders; i++) {
		const struct greyread_finder *a = &st[0].finder_at[i], *b = &st[1].finder_at[i];
		if (a->x != b->x || a->y != b->y || a->m != b->m || a->turned != b->turned)
			fail_msg("candidate %u: (%.2f, %.2f) %.2f px against (%.2f, %.2f) %.2f px",
			         i, a->x, a->y, a->m, b->x, b->y, b->m);
	}
	free(px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_version_info),
	        cmocka_unit_test(test_bad_frames),
	        cmocka_unit_test(test_reads_soft_faint_and_turned),
	        cmocka_unit_test(test_reads_turned_symbols),
	        cmocka_unit_test(test_symbol_at_the_border),
	        cmocka_unit_test(test_full_list_at_1280),
	        cmocka_unit_test(test_rank_whatever_qsort_does_with_equals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
