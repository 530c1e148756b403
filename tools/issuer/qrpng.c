/* SPDX-License-Identifier: Apache-2.0 */
/* qrpng.c - QR symbol to PNG: libqrencode picks the smallest version, libpng writes it. */
#include "qrpng.h"

#include <errno.h>
#include <stdbool.h>
#include <png.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static QRcode *encode(const char *text)
{
	/* Case-sensitive 8-bit hint: libqrencode still chooses alphanumeric mode for
	 * runs of base45 characters, which is what keeps our codes small. */
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

int qrpng_version_needed(const char *text)
{
	QRcode *qr = encode(text);
	if (qr == NULL)
		return 0;
	int v = qr->version;
	QRcode_free(qr);
	return v;
}

enum qd_err qrpng_write(const char *text, const char *path, int *version, struct qd_errmsg *why)
{
	QRcode *qr = encode(text);
	if (qr == NULL) {
		qd_errmsg_set(why, "the code does not fit in a QR symbol: %s", strerror(errno));
		return QD_ERR_TOO_LARGE;
	}
	*version = qr->version;
	const int size = (qr->width + 2 * QRPNG_QUIET) * QRPNG_MODULE_PX;
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		QRcode_free(qr);
		return QD_ERR_IO;
	}
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_bytep row = malloc((size_t)size);
	enum qd_err rc = QD_ERR_IO;
	if (png == NULL || info == NULL || row == NULL) {
		qd_errmsg_set(why, "out of memory");
		rc = QD_ERR_NOMEM;
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		qd_errmsg_set(why, "%s: PNG write failed", path);
		goto out;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)size, (png_uint_32)size, 8, PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < size; y++) {
		int my = y / QRPNG_MODULE_PX - QRPNG_QUIET;
		for (int x = 0; x < size; x++) {
			int mx = x / QRPNG_MODULE_PX - QRPNG_QUIET;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
			            (qr->data[my * qr->width + mx] & 1);
			row[x] = dark ? 0 : 255;
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	rc = QD_OK;
out:
	png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
	free(row);
	if (fclose(f) != 0 && rc == QD_OK) {
		qd_errmsg_set(why, "%s: %s", path, strerror(errno));
		rc = QD_ERR_IO;
	}
	QRcode_free(qr);
	return rc;
}
