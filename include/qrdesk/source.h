/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h - where code texts come from: one small interface (a table of
 * functions) for the replay, camera, HID and serial drivers, so the pipeline
 * never knows which it talks to.
 *
 * Each driver's constructor and settings are in its own header
 * (source_replay.h, source_serial.h, source_hid.h, source_camera.h).
 *
 * A source delivers each code text on the loop thread through on_code; a
 * driver whose device must be read whatever the loop is doing has a thread
 * of its own that hands whole codes to the loop (the camera decodes frames
 * there; the HID scanner reads its keystrokes there, since the kernel queues
 * only a few dozen of them).  Texts
 * are delivered as read, without line ends, at most SOURCE_TEXT_MAX bytes: a
 * longer input is cut to SOURCE_TEXT_MAX bytes (so the check answers
 * TOO_LARGE) and the rest up to its end is dropped.
 */
#ifndef QRDESK_SOURCE_H
#define QRDESK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"

/* One more than the largest QR code holds (4296 characters): a text that long is
 * too long for the check (pipeline.c asserts this against check.h). */
#define SOURCE_TEXT_MAX 4297
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

#endif
