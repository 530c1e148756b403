/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h - where code texts come from: one small interface (a table of
 * functions) for the replay, camera, HID and serial drivers, so the pipeline
 * never knows which it talks to.
 *
 * A source delivers each code text on the loop thread through on_code; a
 * driver with a thread of its own (a camera) posts to the loop first.  Texts
 * are delivered as read, without line ends, at most SOURCE_TEXT_MAX bytes: a
 * longer input is cut to SOURCE_TEXT_MAX bytes (so the check answers
 * TOO_LARGE) and the rest up to its end is dropped.
 */
#ifndef QRDESK_SOURCE_H
#define QRDESK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/check.h"
#include "qrdesk/error.h"
#include "qrdesk/loop.h"
#include "qrdesk/v4l2_capture.h"

#define SOURCE_TEXT_MAX (CHECK_TEXT_MAX + 1)
#define SOURCE_NAME_MAX 32

/* A code text from source `name`, received at monotonic time t_us. */
typedef void (*source_code_cb)(void *arg, const char *name, const char *text, size_t len,
                               int64_t t_us);

enum source_state {
	SOURCE_STOPPED = 0,
	SOURCE_RUNNING,
	SOURCE_ABSENT,  /* device not present: waiting for it */
	SOURCE_STALLED, /* present but silent past its deadline */
	SOURCE_FAILED,  /* gave up: see detail */
	SOURCE_DONE,    /* finished (end of a replay input) */
};

struct source_status {
	enum source_state state;
	uint64_t codes;   /* texts delivered */
	uint64_t dropped; /* inputs dropped (overlong tails, undecodable images...) */
	char detail[96];  /* last event, for `qrdeskctl status` */
};

struct source;

struct source_ops {
	const char *kind; /* "replay-lines", "replay-images", "camera", "hid", "serial" */
	enum qd_err (*start)(struct source *src, struct loop *loop);
	void (*stop)(struct source *src);
	void (*destroy)(struct source *src);
	/* Optional: a device may have come or gone (hotplug.h); if waiting, look now. */
	void (*rescan)(struct source *src);
};

struct source {
	const struct source_ops *ops;
	char name[SOURCE_NAME_MAX];
	source_code_cb on_code;
	void *cb_arg;
	struct source_status status;
	void *priv; /* the driver's own state */
};

const char *source_state_name(enum source_state state);

/* Ask src to look for its device now, if its driver waits for one. */
void source_rescan(struct source *src);

/*
 * The replay drivers (drivers/source_replay.c):
 *  - lines: code texts, one per line (LF or CRLF), from an fd (stdin) or a
 *    FIFO path (re-opened when its writer goes away);
 *  - images: PNG, PGM or JPEG files dropped into a folder (watched with
 *    inotify; files present at start are read too, in name order), each
 *    decoded with ZBar; every QR symbol found is delivered.
 */
enum qd_err source_replay_lines_fd(const char *name, int fd, source_code_cb cb, void *arg,
                                   struct source **out);
enum qd_err source_replay_lines_fifo(const char *name, const char *path, source_code_cb cb,
                                     void *arg, struct source **out);
enum qd_err source_replay_images(const char *name, const char *dir, source_code_cb cb, void *arg,
                                 struct source **out);

/*
 * The serial scanner (drivers/source_serial.c): a USB CDC-ACM or UART
 * scanner through termios, raw, at the configured baud and framing; lines
 * cut by serial_framer.h (CR, LF or CRLF; longer than max_line: dropped).
 * The device may be absent at start or vanish later: the source is then
 * SOURCE_ABSENT and tries to open it again every retry_ms.
 */
struct source_serial_config {
	char device[256];  /* e.g. /dev/ttyACM0 or /dev/serial/by-id/... */
	unsigned baud;     /* 1200 .. 921600, a standard rate */
	char framing[4];   /* data bits 5-8, parity N/E/O, stop bits 1-2: "8N1" */
	unsigned max_line; /* SERIAL_LINE_MIN .. SERIAL_LINE_MAX (serial_framer.h) */
	unsigned retry_ms; /* while absent: how often to look again (0: 1000) */
};

enum qd_err source_serial(const char *name, const struct source_serial_config *cfg,
                          source_code_cb cb, void *arg, struct source **out);

/*
 * The keyboard-wedge scanner (drivers/source_hid.c): an evdev input device,
 * chosen by path or by USB "vendor:product" (4 hex digits each), grabbed
 * (EVIOCGRAB) so its keystrokes reach no console or other program; key
 * events assembled into codes by hid_assembler.h.  Absent or unplugged:
 * SOURCE_ABSENT, looked for again every retry_ms.  A FIFO at the path is
 * read as a recorded stream of struct input_event records (tests, replaying
 * a recording), with no ioctls.
 */
struct source_hid_config {
	char device[256];        /* a path, or "vvvv:pppp" */
	unsigned key_timeout_ms; /* HID_KEY_TIMEOUT_MIN .. HID_KEY_TIMEOUT_MAX */
	bool grab;               /* take the device for ourselves */
	unsigned retry_ms;       /* while absent: how often to look again (0: 1000) */
};

enum qd_err source_hid(const char *name, const struct source_hid_config *cfg, source_code_cb cb,
                       void *arg, struct source **out);

/*
 * The camera (drivers/source_camera.c): a V4L2 camera read by
 * v4l2_capture.h in a thread of its own; each frame's luma goes to the
 * decoder chain (qrdecode_frame: zxing-cpp, ZBar in turns; binary mode) and
 * each text found is posted to the loop, then delivered through on_code.
 * A frame where the decoders read different texts gives no text and counts
 * as dropped (status.dropped, with the reason).  A text seen in consecutive frames
 * is delivered once while it stays in view (until it has been out of sight
 * for CAMERA_GONE_MS).  Absent or unplugged: SOURCE_ABSENT, re-opened every
 * retry_ms.  No frame for stall_ms: SOURCE_STALLED, and the device is
 * closed and opened again (it stays STALLED until a frame comes).
 */
#define CAMERA_STALL_MIN_MS 500
#define CAMERA_STALL_MAX_MS 600000
#define CAMERA_GONE_MS      500

struct source_camera_config {
	struct capture_config capture; /* device, width, height, fps, format */
	unsigned stall_ms;             /* CAMERA_STALL_MIN_MS .. CAMERA_STALL_MAX_MS */
	unsigned retry_ms;             /* while absent: how often to look again (0: 1000) */
	const struct capture_io *io;   /* NULL: the real device (tests: a fake one) */
	/* The decoder chain (qrdecode.h): enum qrdecode_decoder mask (0: the chain's defaults,
	 * budget included), ZBar's budget beside zxing-cpp in kilopixels a second, and the
	 * symbologies (enum qrdecode_format mask; QR is always read). */
	unsigned decoders;
	unsigned decode_budget_kpx;
	unsigned formats;
};

enum qd_err source_camera(const char *name, const struct source_camera_config *cfg,
                          source_code_cb cb, void *arg, struct source **out);

#endif
