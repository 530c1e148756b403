/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_camera.h - the V4L2 camera's constructor and settings
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_CAMERA_H
#define QRDESK_SOURCE_CAMERA_H

#include "qrdesk/error.h"
#include "qrdesk/scanner.h"
#include "qrdesk/source.h"

#define CAPTURE_DIM_MIN    16
#define CAPTURE_DIM_MAX    4096 /* pixels a side, asked for or granted */
#define CAPTURE_FPS_MIN    1
#define CAPTURE_FPS_MAX    120
#define CAPTURE_DEVICE_MAX 256

/* Pixel formats we read; AUTO prefers GREY, then YUYV, then MJPEG. */
enum capture_format {
	CAPTURE_FORMAT_AUTO = 0,
	CAPTURE_FORMAT_GREY,
	CAPTURE_FORMAT_YUYV,
	CAPTURE_FORMAT_MJPEG,
};

/* "auto", "grey", "yuyv", "mjpeg" (the config's spelling), in enum order. */
#define CAPTURE_FORMAT_NAMES "auto", "grey", "yuyv", "mjpeg", NULL
const char *capture_format_name(enum capture_format fmt);

/* What to ask the device for. */
struct capture_config {
	char device[CAPTURE_DEVICE_MAX]; /* /dev/video0, /dev/v4l/by-id/... */
	unsigned width, height;          /* asked for: CAPTURE_DIM_MIN .. CAPTURE_DIM_MAX */
	unsigned fps;                    /* asked for: CAPTURE_FPS_MIN .. CAPTURE_FPS_MAX */
	enum capture_format format;      /* AUTO, or the only one to use */
};

/* The device seam (drivers/v4l2_capture.h): tests hand in a fake device. */
struct capture_io;

/*
 * The camera (drivers/source_camera.c): a V4L2 camera read by
 * drivers/v4l2_capture.c in a thread of its own; each frame's luma goes to
 * the decoder chain (drivers/qrdecode.h, qrdecode_frame: zxing-cpp, ZBar in
 * turns; binary mode) and each text found is posted to the loop, then
 * delivered through on_code.  A frame where the decoders read different
 * texts gives no text and counts as dropped (status.dropped, with the
 * reason).  A text seen in consecutive frames
 * is delivered once while it stays in view (until it has been out of sight
 * for CAMERA_GONE_MS and CAMERA_GONE_FRAMES decoded frames).  Absent or unplugged: SOURCE_ABSENT,
 * re-opened every retry_ms.  No frame for stall_ms: SOURCE_STALLED, and the device is closed and
 * opened again (it stays STALLED until a frame comes).
 */
#define CAMERA_STALL_MIN_MS 500
#define CAMERA_STALL_MAX_MS 600000
#define CAMERA_GONE_MS      500
#define CAMERA_GONE_FRAMES  3 /* decoded frames without the text */

/* The decoder chain's settings (the same bits and numbers as drivers/qrdecode.h's). */
#define CAMERA_DECODE_ZXING              1u /* zxing-cpp, every frame */
#define CAMERA_DECODE_ZBAR               2u /* ZBar and the second looks, in turns */
#define CAMERA_DECODE_ALL                3u
#define CAMERA_DECODE_BUDGET_DEFAULT_KPX 600u
#define CAMERA_DECODE_BUDGET_MAX_KPX     100000u
/* The decoders' names in [camera] decoders: bit i is the i-th. */
#define CAMERA_DECODE_NAMES "zxing", "zbar", NULL
_Static_assert(CAMERA_DECODE_ZXING == 1u << 0 && CAMERA_DECODE_ZBAR == 1u << 1 &&
                       CAMERA_DECODE_ALL == 3u,
               "CAMERA_DECODE_NAMES gives bit i to the i-th name");
#define CAMERA_FORMAT_QR     1u /* always read */
#define CAMERA_FORMAT_PDF417 2u /* boarding passes (IATA BCBP) */
#define CAMERA_FORMAT_AZTEC  4u /* boarding passes on phones */

struct source_camera_config {
	struct capture_config capture; /* device, width, height, fps, format */
	unsigned stall_ms;             /* CAMERA_STALL_MIN_MS .. CAMERA_STALL_MAX_MS */
	unsigned retry_ms;             /* while absent: how often to look again (0: 1000) */
	const struct capture_io *io;   /* NULL: the real device (tests: a fake one) */
	/* The decoder chain: CAMERA_DECODE_* decoders (0: the chain's defaults, budget
	 * included), ZBar's budget beside zxing-cpp in kilopixels a second, and the
	 * symbologies (CAMERA_FORMAT_* mask; QR is always read). */
	unsigned decoders;
	unsigned decode_budget_kpx;
	unsigned formats;
};

/* [camera]: its keys and defaults, as data for the registry (drivers/scanners.c);
 * retry_ms and io are not keys, formats is the desk's (the sources part sets it). */
#define SOURCE_CAMERA_KEYS(T)                                                                      \
	SCANNER_KEY("device", PATH, T, capture.device, 0, 0),                                      \
	        SCANNER_KEY("width", COUNT, T, capture.width, CAPTURE_DIM_MIN, CAPTURE_DIM_MAX),   \
	        SCANNER_KEY("height", COUNT, T, capture.height, CAPTURE_DIM_MIN, CAPTURE_DIM_MAX), \
	        SCANNER_KEY("fps", COUNT, T, capture.fps, CAPTURE_FPS_MIN, CAPTURE_FPS_MAX),       \
	        SCANNER_KEY_NAMED("format", CHOICE, T, capture.format, CAPTURE_FORMAT_NAMES),      \
	        SCANNER_KEY("stall_ms", COUNT, T, stall_ms, CAMERA_STALL_MIN_MS,                   \
	                    CAMERA_STALL_MAX_MS),                                                  \
	        SCANNER_KEY_NAMED("decoders", SET, T, decoders, CAMERA_DECODE_NAMES),              \
	        SCANNER_KEY("decode_budget_kpx", COUNT, T, decode_budget_kpx, 0,                   \
	                    CAMERA_DECODE_BUDGET_MAX_KPX)
/* VGA is plenty for a card held under the lens (docs/camera.md). */
#define SOURCE_CAMERA_DEFAULTS()                                                                   \
	.capture = {.width = 640, .height = 480, .fps = 15, .format = CAPTURE_FORMAT_AUTO},        \
	.stall_ms = 5000, .decoders = CAMERA_DECODE_ALL,                                           \
	.decode_budget_kpx = CAMERA_DECODE_BUDGET_DEFAULT_KPX, .formats = CAMERA_FORMAT_QR

/* The [camera] settings in a configuration's scanner settings. */
static inline struct source_camera_config *source_camera_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "camera");
}

enum qd_err source_camera(const char *name, const struct source_camera_config *cfg,
                          source_code_cb cb, void *arg, struct source **out);

#endif
