/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.c - image files as 8-bit grey pixels: PNG (libpng's simplified API),
 * binary PGM "P5" (parsed here) and JPEG (libjpeg).  See qrdecode.h.
 *
 * These bytes come from whoever can drop a file into the replay folder, so
 * every path is bounded: the file size (IMAGE_FILE_MAX) before reading, the
 * dimensions (IMAGE_DIM_MAX a side) before any pixel buffer is allocated,
 * libjpeg's working memory and its number of progressive scans.  The format
 * is told by the first bytes, never by the file name.  libjpeg's default
 * error handler calls exit(): ours longjmps back here instead, and its
 * warnings (corrupt data) are errors too.
 */
#include "qrdecode.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "qrdesk/file.h"
#include "jpeg_guard.h"

#define IMAGE_FILE_MAX   (32u * 1024 * 1024)  /* bytes: bigger files are refused unread */
#define JPEG_MEMORY_MAX  (256L * 1024 * 1024) /* libjpeg's working memory */
#define JPEG_SCANS_MAX   256                  /* progressive scans (a real file has ~10) */
#define PGM_HEADER_TOKEN 16                   /* digits in a PGM number, at most */

/* Past the caller's pixel budget (checked from the header, before any pixel is decoded)? */
static bool over_budget(const char *kind, size_t w, size_t h, size_t max_pixels,
                        struct qd_errmsg *why)
{
	if ((uint64_t)w * h <= max_pixels)
		return false;
	qd_errmsg_set(why, "%s of %zux%zu pixels: over the budget of %zu pixels", kind, w, h,
	              max_pixels);
	return true;
}

/* ---- PNG ---------------------------------------------------------------- */

static enum qd_err decode_png(const uint8_t *data, size_t len, size_t max_pixels, uint8_t **pixels,
                              unsigned *width, unsigned *height, struct qd_errmsg *why)
{
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, data, len)) {
		qd_errmsg_set(why, "bad PNG: %s", img.message);
		png_image_free(&img);
		return QD_ERR_FORMAT;
	}
	if (img.width == 0 || img.height == 0 || img.width > IMAGE_DIM_MAX ||
	    img.height > IMAGE_DIM_MAX) {
		qd_errmsg_set(why, "PNG of %ux%u pixels (at most %u a side)", (unsigned)img.width,
		              (unsigned)img.height, (unsigned)IMAGE_DIM_MAX);
		png_image_free(&img);
		return QD_ERR_TOO_LARGE;
	}
	if (over_budget("PNG", img.width, img.height, max_pixels, why)) {
		png_image_free(&img);
		return QD_ERR_TOO_LARGE;
	}
	img.format = PNG_FORMAT_GRAY;
	uint8_t *buf = malloc(PNG_IMAGE_SIZE(img));
	if (buf == NULL) {
		png_image_free(&img);
		return QD_ERR_NOMEM;
	}
	/* Transparent parts are composed onto white, as printed on paper. */
	const png_color white = {255, 255, 255};
	if (!png_image_finish_read(&img, &white, buf, 0, NULL)) {
		qd_errmsg_set(why, "bad PNG: %s", img.message);
		png_image_free(&img);
		free(buf);
		return QD_ERR_FORMAT;
	}
	*pixels = buf;
	*width = img.width;
	*height = img.height;
	return QD_OK;
}

/* ---- PGM (binary, "P5") ------------------------------------------------- */

/* Skip whitespace and '#' comments (to the end of their line) from *pos. */
static void pgm_skip_space(const uint8_t *data, size_t len, size_t *pos)
{
	while (*pos < len) {
		uint8_t c = data[*pos];
		if (c == '#') {
			while (*pos < len && data[*pos] != '\n' && data[*pos] != '\r')
				(*pos)++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		           c == '\f') {
			(*pos)++;
		} else {
			return;
		}
	}
}

/* A decimal number after optional whitespace/comments; false if none or too long. */
static bool pgm_number(const uint8_t *data, size_t len, size_t *pos, unsigned long *out)
{
	pgm_skip_space(data, len, pos);
	unsigned long v = 0;
	size_t digits = 0;
	while (*pos < len && data[*pos] >= '0' && data[*pos] <= '9') {
		if (++digits > PGM_HEADER_TOKEN)
			return false;
		v = v * 10 + (unsigned long)(data[*pos] - '0');
		(*pos)++;
	}
	*out = v;
	return digits > 0;
}

static enum qd_err decode_pgm(const uint8_t *data, size_t len, size_t max_pixels, uint8_t **pixels,
                              unsigned *width, unsigned *height, struct qd_errmsg *why)
{
	size_t pos = 2; /* after "P5" */
	unsigned long w, h, maxval;
	if (pos >= len ||
	    !(data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\n' || data[pos] == '\r' ||
	      data[pos] == '\v' || data[pos] == '\f' || data[pos] == '#')) {
		qd_errmsg_set(why, "bad PGM: no whitespace after P5");
		return QD_ERR_FORMAT;
	}
	if (!pgm_number(data, len, &pos, &w) || !pgm_number(data, len, &pos, &h) ||
	    !pgm_number(data, len, &pos, &maxval)) {
		qd_errmsg_set(why, "bad PGM: header is not P5 width height maxval");
		return QD_ERR_FORMAT;
	}
	if (w == 0 || h == 0 || w > IMAGE_DIM_MAX || h > IMAGE_DIM_MAX) {
		qd_errmsg_set(why, "PGM of %lux%lu pixels (1 to %u a side)", w, h,
		              (unsigned)IMAGE_DIM_MAX);
		return w == 0 || h == 0 ? QD_ERR_FORMAT : QD_ERR_TOO_LARGE;
	}
	if (over_budget("PGM", w, h, max_pixels, why))
		return QD_ERR_TOO_LARGE;
	if (maxval == 0 || maxval > 255) {
		qd_errmsg_set(why, "PGM maxval %lu unsupported (1 to 255)", maxval);
		return maxval == 0 ? QD_ERR_FORMAT : QD_ERR_UNSUPPORTED;
	}
	/* Exactly one whitespace character separates the header from the pixels. */
	if (pos >= len || !(data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\n' ||
	                    data[pos] == '\r' || data[pos] == '\v' || data[pos] == '\f')) {
		qd_errmsg_set(why, "bad PGM: no whitespace after maxval");
		return QD_ERR_FORMAT;
	}
	pos++;
	size_t n = (size_t)w * (size_t)h;
	if (len - pos != n) {
		qd_errmsg_set(why, "bad PGM: %zu bytes of pixels for %lux%lu", len - pos, w, h);
		return QD_ERR_FORMAT;
	}
	uint8_t *buf = malloc(n);
	if (buf == NULL)
		return QD_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned v = data[pos + i];
		if (v > maxval) {
			free(buf);
			qd_errmsg_set(why, "bad PGM: pixel value %u above maxval %lu", v, maxval);
			return QD_ERR_FORMAT;
		}
		buf[i] = (uint8_t)(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
	}
	*pixels = buf;
	*width = (unsigned)w;
	*height = (unsigned)h;
	return QD_OK;
}

/* ---- JPEG --------------------------------------------------------------- */

/* Called between scans: a progressive file with endless scans is refused. */
static void jpeg_progress(j_common_ptr cinfo)
{
	if (cinfo->is_decompressor &&
	    ((j_decompress_ptr)cinfo)->input_scan_number > JPEG_SCANS_MAX) {
		struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
		snprintf(g->message, sizeof(g->message), "more than %d scans", JPEG_SCANS_MAX);
		jpeg_guard_abort(cinfo);
	}
}

static enum qd_err decode_jpeg(const uint8_t *data, size_t len, size_t max_pixels, uint8_t **pixels,
                               unsigned *width, unsigned *height, struct qd_errmsg *why)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_guard guard;
	struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_progress};
	uint8_t *volatile buf = NULL;

	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_guard_init(&guard);
	if (setjmp(guard.env) != 0) {
		qd_errmsg_set(why, "bad JPEG: %s", guard.message);
		jpeg_destroy_decompress(&cinfo);
		free(buf);
		return QD_ERR_FORMAT;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.mem->max_memory_to_use = JPEG_MEMORY_MAX;
	cinfo.progress = &progress;
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
	    cinfo.image_width > IMAGE_DIM_MAX || cinfo.image_height > IMAGE_DIM_MAX) {
		qd_errmsg_set(why, "JPEG of %ux%u pixels (at most %u a side)",
		              (unsigned)cinfo.image_width, (unsigned)cinfo.image_height,
		              (unsigned)IMAGE_DIM_MAX);
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_TOO_LARGE;
	}
	if (over_budget("JPEG", cinfo.image_width, cinfo.image_height, max_pixels, why)) {
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_TOO_LARGE;
	}
	cinfo.out_color_space = JCS_GRAYSCALE;
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_components != 1 || cinfo.output_width != cinfo.image_width ||
	    cinfo.output_height != cinfo.image_height) {
		qd_errmsg_set(why, "bad JPEG: unexpected output format");
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_FORMAT;
	}
	size_t w = cinfo.output_width, h = cinfo.output_height;
	buf = malloc(w * h);
	if (buf == NULL) {
		jpeg_destroy_decompress(&cinfo);
		return QD_ERR_NOMEM;
	}
	jpeg_guard_read_rows(&cinfo, buf, w);
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	*pixels = buf;
	*width = (unsigned)w;
	*height = (unsigned)h;
	return QD_OK;
}

/* ---- Entry points ------------------------------------------------------- */

enum qd_err image_decode_gray(const uint8_t *data, size_t len, uint8_t **pixels, unsigned *width,
                              unsigned *height, struct qd_errmsg *why)
{
	return image_decode_gray_max(data, len, IMAGE_PIXELS_MAX, pixels, width, height, why);
}

enum qd_err image_decode_gray_max(const uint8_t *data, size_t len, size_t max_pixels,
                                  uint8_t **pixels, unsigned *width, unsigned *height,
                                  struct qd_errmsg *why)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if ((data == NULL && len > 0) || pixels == NULL || width == NULL || height == NULL) {
		qd_errmsg_set(why, "bad argument");
		return QD_ERR_ARG;
	}
	*pixels = NULL;
	*width = *height = 0;
	if (len > IMAGE_FILE_MAX) {
		qd_errmsg_set(why, "image of %zu bytes (at most %u)", len, IMAGE_FILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	if (len >= sizeof(png_sig) && memcmp(data, png_sig, sizeof(png_sig)) == 0)
		return decode_png(data, len, max_pixels, pixels, width, height, why);
	if (len >= 2 && data[0] == 'P' && data[1] == '5')
		return decode_pgm(data, len, max_pixels, pixels, width, height, why);
	if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
		return decode_jpeg(data, len, max_pixels, pixels, width, height, why);
	qd_errmsg_set(why, "not a PNG, binary PGM (P5) or JPEG image");
	return QD_ERR_FORMAT;
}

enum qd_err image_load_gray(const char *path, uint8_t **pixels, unsigned *width, unsigned *height,
                            struct qd_errmsg *why)
{
	return image_load_gray_at(AT_FDCWD, path, IMAGE_PIXELS_MAX, pixels, width, height, why);
}

enum qd_err image_load_gray_at(int dir, const char *path, size_t max_pixels, uint8_t **pixels,
                               unsigned *width, unsigned *height, struct qd_errmsg *why)
{
	if (path == NULL || pixels == NULL || width == NULL || height == NULL) {
		qd_errmsg_set(why, "bad argument");
		return QD_ERR_ARG;
	}
	*pixels = NULL;
	*width = *height = 0;
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg inner = {{0}};
	/* A FIFO dropped in the folder is refused, not waited on; nor is it an image.
	 * Nor is a symbolic link followed: a link to /etc/shadow must not be read as root. */
	static const struct file_read_options opt = {.flags = FILE_READ_NOFOLLOW,
	                                             .not_regular = QD_ERR_FORMAT};
	enum qd_err rc = file_read_at(dir, path, IMAGE_FILE_MAX, &opt, &data, &len, &inner);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "%s: %s", path, inner.text);
		return rc;
	}
	rc = image_decode_gray_max(data, len, max_pixels, pixels, width, height, &inner);
	free(data);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, inner.text);
	return rc;
}
