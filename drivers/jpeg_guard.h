/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jpeg_guard.h - libjpeg without exit(): an error manager that longjmps
 * back to the caller and treats warnings (corrupt data, a premature end) as
 * errors too.  Shared by the image files (drivers/image.c) and the camera's
 * MJPEG frames (drivers/v4l2_capture.c), both untrusted bytes.
 *
 *   struct jpeg_guard g;
 *   cinfo.err = jpeg_guard_init(&g);
 *   if (setjmp(g.env) != 0) { ... g.message says why; jpeg_destroy_*(&cinfo) ... }
 *   jpeg_create_decompress(&cinfo);
 */
#ifndef QRDESK_JPEG_GUARD_H
#define QRDESK_JPEG_GUARD_H

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */

#include <jpeglib.h>

struct jpeg_guard {
	struct jpeg_error_mgr mgr; /* first: libjpeg hands back a pointer to it */
	jmp_buf env;
	char message[JMSG_LENGTH_MAX];
};

/* Set g up (message empty) and return the manager for cinfo.err. */
struct jpeg_error_mgr *jpeg_guard_init(struct jpeg_guard *g);

/* End the decode now with g's message as it is (for checks of our own). */
_Noreturn void jpeg_guard_abort(j_common_ptr cinfo);

/*
 * After jpeg_start_decompress: read every output row into out, rows stride
 * bytes apart.  A decoder that stops giving rows ends the decode (longjmp).
 */
void jpeg_guard_read_rows(j_decompress_ptr cinfo, unsigned char *out, size_t stride);

#endif
