/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_greyread - the grey look (drivers/greyread.c) over arbitrary pixels,
 * as a camera's luma reaches it, and the symbols it draws through zxing-cpp's
 * pure-symbol reader (zxdecode_pure, the C++ shim).
 *
 * Input: a 4-byte header, then pixels.
 *   [0..1]  width - 1, little-endian (mod FUZZ_DIM_MAX)
 *   [2..3]  height - 1, little-endian (mod FUZZ_DIM_MAX)
 * The pixels fill the frame row by row, repeated from the start when fewer
 * than width x height were given (grey 128 when none).
 *
 * Properties: the look never fails (QD_OK); every symbol it hands on is
 * square, DRAW_PX-aligned, only black and white, with a white quiet zone, a
 * whole version's size (21..177 modules), and readable to its last byte; it
 * hands on no more than GREYREAD_TRIES_MAX of them, and its counts agree
 * (a grid per triple tried, a try per drawing).  zxdecode_pure never fails on
 * one, and reports as many texts as it delivered (read through).
 */
#include <string.h>

#include "fuzz.h"
#include "greyread.h"
#include "zxdecode.h"

#define FUZZ_DIM_MAX 320 /* pixels a side: bounds the frame, not the reader */
#define HEADER       4

struct seen {
	struct zxdecode *zx;
	unsigned tries, texts;
};

static void on_text(void *arg, const char *text, size_t len)
{
	FUZZ_CHECK(text != NULL);
	(void)fuzz_touch((const uint8_t *)text, len);
	((struct seen *)arg)->texts++;
}

static enum qd_err on_symbol(void *arg, const uint8_t *img, unsigned w, unsigned h, bool *done)
{
	struct seen *s = arg;
	s->tries++;
	FUZZ_CHECK(img != NULL && w == h && w % 3 == 0);
	const unsigned modules = w / 3;
	/* n modules and a quiet zone of 4 a side: n = 17 + 4 v, v in 1..40. */
	FUZZ_CHECK(modules >= 21 + 8 && modules <= 177 + 8 && (modules - 8 - 17) % 4 == 0);
	for (size_t i = 0; i < (size_t)w * h; i++)
		FUZZ_CHECK(img[i] == 0 || img[i] == 255);
	for (unsigned x = 0; x < w; x++)
		FUZZ_CHECK(img[x] == 255 && img[(size_t)(h - 1) * w + x] == 255);
	const unsigned before = s->texts;
	int found = 0;
	FUZZ_CHECK(zxdecode_pure(s->zx, img, w, h, on_text, s, &found) == QD_OK);
	FUZZ_CHECK(found >= 0 && (unsigned)found == s->texts - before);
	*done = found > 0;
	return QD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zxdecode *zx;
	if (size < HEADER)
		return 0;
	if (zx == NULL)
		FUZZ_CHECK(zxdecode_create(&zx) == QD_OK);
	const unsigned w = 1 + (unsigned)(data[0] | data[1] << 8) % FUZZ_DIM_MAX,
	               h = 1 + (unsigned)(data[2] | data[3] << 8) % FUZZ_DIM_MAX;
	const size_t n = (size_t)w * h, len = size - HEADER;
	uint8_t *px = fuzz_alloc(n); /* exactly the frame: a read past it is caught */
	for (size_t i = 0; i < n; i++)
		px[i] = len ? data[HEADER + i % len] : 128;
	struct seen s = {zx, 0, 0};
	struct greyread_stats st;
	memset(&st, 0xa5, sizeof(st)); /* must be set by the look */
	FUZZ_CHECK(greyread_look(px, w, h, on_symbol, &s, &st) == QD_OK);
	FUZZ_CHECK(st.tries == s.tries && st.tries <= GREYREAD_TRIES_MAX);
	FUZZ_CHECK(st.grids * 4 >= st.tries && st.finders <= 2 * GREYREAD_CANDIDATES_MAX);
	free(px);
	return 0;
}
