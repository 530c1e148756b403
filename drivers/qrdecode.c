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
 */
#include "qrdesk/qrdecode.h"

#include <stdlib.h>
#include <string.h>

#include <zbar.h>

struct qrdecode {
	zbar_image_scanner_t *scanner;
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
	*out = dec;
	return QD_OK;
}

void qrdecode_destroy(struct qrdecode *dec)
{
	if (dec == NULL)
		return;
	zbar_image_scanner_destroy(dec->scanner);
	free(dec);
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

	zbar_image_t *img = zbar_image_create();
	if (img == NULL) {
		free(copy);
		return QD_ERR_NOMEM;
	}
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, width, height);
	zbar_image_set_data(img, data, size, NULL);

	enum qd_err rc = QD_OK;
	int n = zbar_scan_image(dec->scanner, img);
	if (n < 0) {
		rc = QD_ERR_FORMAT;
	} else {
		int count = 0;
		for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym != NULL;
		     sym = zbar_symbol_next(sym)) {
			if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
				continue;
			const char *bytes = zbar_symbol_get_data(sym);
			size_t len = zbar_symbol_get_data_length(sym);
			if (bytes == NULL)
				continue;
			count++;
			if (cb != NULL)
				cb(arg, bytes, len);
		}
		if (found != NULL)
			*found = count;
	}
	/* The scanner keeps the results of the last image: release them with it. */
	zbar_image_scanner_recycle_image(dec->scanner, img);
	zbar_image_destroy(img);
	free(copy);
	return rc;
}
