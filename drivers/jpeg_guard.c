/* SPDX-License-Identifier: Apache-2.0 */
/* jpeg_guard.c - libjpeg's errors and warnings as a longjmp (see jpeg_guard.h). */
#include "jpeg_guard.h"

_Noreturn void jpeg_guard_abort(j_common_ptr cinfo)
{
	struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
	longjmp(g->env, 1);
}

static void guard_error(j_common_ptr cinfo)
{
	struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
	g->mgr.format_message(cinfo, g->message);
	jpeg_guard_abort(cinfo);
}

/* Warnings (level -1: corrupt data) end the decode too; trace messages are ignored. */
static void guard_message(j_common_ptr cinfo, int level)
{
	if (level < 0)
		guard_error(cinfo);
}

static void guard_silent(j_common_ptr cinfo)
{
	(void)cinfo;
}

void jpeg_guard_read_rows(j_decompress_ptr cinfo, unsigned char *out, size_t stride)
{
	while (cinfo->output_scanline < cinfo->output_height) {
		JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
		if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
			struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
			snprintf(g->message, sizeof(g->message), "no progress reading rows");
			jpeg_guard_abort((j_common_ptr)cinfo);
		}
	}
}

struct jpeg_error_mgr *jpeg_guard_init(struct jpeg_guard *g)
{
	struct jpeg_error_mgr *mgr = jpeg_std_error(&g->mgr);
	g->mgr.error_exit = guard_error;
	g->mgr.emit_message = guard_message;
	g->mgr.output_message = guard_silent;
	g->message[0] = '\0';
	return mgr;
}
