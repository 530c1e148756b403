/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_camera - capture_luma (drivers/v4l2_capture.c) over arbitrary frame
 * bytes, as a camera (or anything posing as one) fills its buffers.
 *
 * Input: a 6-byte header, then the frame bytes.
 *   [0]     pixel format: 0 GREY, 1 YUYV, 2 MJPEG (mod 3)
 *   [1..2]  width - 1, little-endian (mod FUZZ_DIM_MAX)
 *   [3..4]  height - 1, little-endian (mod FUZZ_DIM_MAX)
 *   [5]     extra bytes per row beyond the packed stride (mod 64)
 *
 * Properties: a failure returns nothing (NULL luma, stride 0), a known code
 * and a non-empty reason; a success gives a stride >= width and width x
 * height readable bytes (read through: ASan), and for GREY and YUYV exactly
 * the model's luma (GREY in place, inside the frame; YUYV every even
 * byte); MJPEG decodes the same way twice (no uninitialised memory shows),
 * and only when the JPEG's own size is the stream's.
 *
 * Then the luma goes where a camera's goes: the decoder chain
 * (qrdecode_frame: zxing-cpp through its C++ shim, its second looks and
 * ZBar's in turns), every symbology on (QR, PDF417, Aztec), frames 66 ms
 * apart and of changing sizes.  It never fails on a frame it was given, and
 * reports as many texts as it delivered (read through).
 */
#include <string.h>

#include "fuzz.h"
#include "qrdecode.h"
#include "v4l2_capture.h"

#define FUZZ_DIM_MAX 512 /* pixels a side: bounds the scratch buffer, not the parser */
#define HEADER       6

static void on_text(void *arg, const char *text, size_t len)
{
	FUZZ_CHECK(text != NULL);
	(void)fuzz_touch((const uint8_t *)text, len);
	(*(unsigned *)arg)++;
}

/* The camera's decoder on this frame; its clock runs on across inputs. */
static void decode(const uint8_t *luma, unsigned width, unsigned height, size_t stride)
{
	static struct qrdecode *dec;
	static int64_t t_us;
	if (dec == NULL) {
		FUZZ_CHECK(qrdecode_create(&dec) == QD_OK);
		qrdecode_set_formats(dec, QRDECODE_FORMATS_ALL);
	}
	t_us += 66667;
	unsigned texts = 0;
	int found = -1;
	enum qd_err rc =
	        qrdecode_frame(dec, luma, width, height, stride, t_us, on_text, &texts, &found);
	FUZZ_CHECK(rc == QD_OK || rc == QD_ERR_FORMAT);
	FUZZ_CHECK(rc != QD_OK || (found >= 0 && (unsigned)found == texts));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER)
		return 0;
	struct capture_info in = {
	        .format = (enum capture_format)(CAPTURE_FORMAT_GREY + data[0] % 3),
	        .width = 1 + (unsigned)(data[1] | data[2] << 8) % FUZZ_DIM_MAX,
	        .height = 1 + (unsigned)(data[3] | data[4] << 8) % FUZZ_DIM_MAX,
	};
	size_t bpp = in.format == CAPTURE_FORMAT_YUYV ? 2 : 1;
	in.bytesperline =
	        (size_t)in.width * bpp + (in.format == CAPTURE_FORMAT_MJPEG ? 0 : data[5] % 64);
	const uint8_t *frame = data + HEADER;
	size_t len = size - HEADER;
	/* A copy of exactly len bytes: a read past the frame is caught. */
	uint8_t *bytes = fuzz_alloc(len);
	memcpy(bytes, frame, len);
	const size_t n = (size_t)in.width * in.height;
	uint8_t *scratch = fuzz_alloc(n);

	const uint8_t *luma = (const uint8_t *)&in; /* anything but NULL: must be reset */
	size_t stride = 99;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = capture_luma(&in, bytes, len, scratch, &luma, &stride, &why);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(luma == NULL && stride == 0);
		FUZZ_CHECK(why.text[0] != '\0');
		free(scratch);
		free(bytes);
		return 0;
	}
	FUZZ_CHECK(luma != NULL && stride >= in.width);
	for (size_t y = 0; y < in.height; y++)
		(void)fuzz_touch(luma + y * stride, in.width);

	switch (in.format) {
	case CAPTURE_FORMAT_GREY:
		FUZZ_CHECK(luma == bytes && stride == in.bytesperline);
		FUZZ_CHECK(fuzz_inside(luma + (in.height - 1) * stride, in.width, bytes, len));
		break;
	case CAPTURE_FORMAT_YUYV:
		FUZZ_CHECK(luma == scratch && stride == in.width);
		for (size_t y = 0; y < in.height; y++)
			for (size_t x = 0; x < in.width; x++)
				FUZZ_CHECK(luma[y * in.width + x] ==
				           bytes[y * in.bytesperline + 2 * x]);
		break;
	case CAPTURE_FORMAT_MJPEG: {
		FUZZ_CHECK(luma == scratch && stride == in.width);
		FUZZ_CHECK(len >= 4 && bytes[0] == 0xff && bytes[1] == 0xd8);
		uint8_t *first = fuzz_alloc(n), *again = fuzz_alloc(n);
		memcpy(first, scratch, n);
		memset(scratch, 0xa5, n);
		FUZZ_CHECK(capture_luma(&in, bytes, len, scratch, &luma, &stride, &why) == QD_OK);
		memcpy(again, scratch, n);
		FUZZ_CHECK(memcmp(first, again, n) == 0);
		free(first);
		free(again);
		break;
	}
	case CAPTURE_FORMAT_AUTO:
		FUZZ_CHECK(0);
	}
	decode(luma, in.width, in.height, stride);
	free(scratch);
	free(bytes);
	return 0;
}
