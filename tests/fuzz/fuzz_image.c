/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_image - image_decode_gray over arbitrary bytes as an image file
 * dropped into the replay folder (PNG through libpng, binary PGM parsed by
 * drivers/image.c, JPEG through libjpeg; the format told by the first
 * bytes), then, for images of at most QR_PIXELS_MAX pixels, the QR decoder
 * (qrdecode_gray, ZBar) on the pixels, as the images source does.
 *
 * Properties: on failure nothing is returned (NULL, 0 x 0) and the reason is
 * a NUL-terminated, non-empty message; on success the size is within
 * 1..IMAGE_DIM_MAX a side and the buffer holds width x height bytes (read
 * through: ASan), and decoding again gives the same pixels (no dependence
 * on uninitialised memory that shows).  The QR decoder finds the same
 * symbols whether the rows are contiguous or strided, hands over spans it
 * owns (read through), and reports as many as it delivered.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdecode.h"

#define QR_PIXELS_MAX (512u * 512u) /* ZBar on larger images is slow and tests ZBar, not us */
#define STRIDE_PAD    5

struct symbols {
	unsigned count;
	uint64_t digest; /* of every symbol's bytes, in order */
};

static void on_symbol(void *arg, const char *data, size_t len)
{
	struct symbols *s = arg;
	FUZZ_CHECK(data != NULL);
	(void)fuzz_touch((const uint8_t *)data, len);
	uint64_t h = s->digest ^ (len * 0x9e3779b97f4a7c15u);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)data[i]) * 0x100000001b3u;
	s->digest = h;
	s->count++;
}

static void scan(struct qrdecode *dec, const uint8_t *pixels, unsigned w, unsigned h)
{
	struct symbols a = {0, 0}, b = {0, 0};
	int found = -1;
	enum qd_err rc = qrdecode_gray(dec, pixels, w, h, w, on_symbol, &a, &found);
	FUZZ_CHECK(rc == QD_OK || rc == QD_ERR_FORMAT);
	if (rc != QD_OK)
		return;
	FUZZ_CHECK(found >= 0 && (unsigned)found == a.count);

	/* The same image with padded rows: copied by qrdecode, the same symbols. */
	const size_t stride = (size_t)w + STRIDE_PAD;
	uint8_t *padded = fuzz_alloc(stride * h);
	memset(padded, 0xa5, stride * h);
	for (size_t y = 0; y < h; y++)
		memcpy(padded + y * stride, pixels + y * w, w);
	found = -1;
	rc = qrdecode_gray(dec, padded, w, h, stride, on_symbol, &b, &found);
	free(padded);
	FUZZ_CHECK(rc == QD_OK && (unsigned)found == b.count);
	FUZZ_CHECK(a.count == b.count && a.digest == b.digest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qrdecode *dec;
	if (dec == NULL)
		FUZZ_CHECK(qrdecode_create(&dec) == QD_OK);

	uint8_t *pixels = (uint8_t *)&dec; /* anything but NULL: must be reset */
	unsigned w = 7, h = 7;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = image_decode_gray(data, size, &pixels, &w, &h, &why);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE ||
		           rc == QD_ERR_UNSUPPORTED);
		FUZZ_CHECK(pixels == NULL && w == 0 && h == 0);
		FUZZ_CHECK(why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(pixels != NULL);
	FUZZ_CHECK(w >= 1 && w <= IMAGE_DIM_MAX && h >= 1 && h <= IMAGE_DIM_MAX);
	const size_t n = (size_t)w * h;
	(void)fuzz_touch(pixels, n);

	uint8_t *again = NULL;
	unsigned w2 = 0, h2 = 0;
	FUZZ_CHECK(image_decode_gray(data, size, &again, &w2, &h2, &why) == QD_OK);
	FUZZ_CHECK(w2 == w && h2 == h && memcmp(pixels, again, n) == 0);
	free(again);

	if (n <= QR_PIXELS_MAX)
		scan(dec, pixels, w, h);
	free(pixels);
	return 0;
}
