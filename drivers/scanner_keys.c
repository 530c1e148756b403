/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner_keys.c - every scanner's configuration keys and their defaults (see
 * scanner.h), as data: config.c reads, range-checks and defaults them from here
 * without linking a driver, and the registry (scanners.c) and the sources part
 * own them by section.  A new scanner's keys are its rows here.
 */
#include "qrdesk/scanner.h"

#include <stdio.h>
#include <string.h>

#define FIELD(f) offsetof(struct scanner_settings, f), sizeof(((struct scanner_settings *)0)->f)

const struct scanner_key scanner_keys[] = {
        /* [replay]: lines from standard input or a FIFO, QR images from a folder */
        {"replay", "stdin", SCANNER_KEY_BOOL, FIELD(replay_stdin), 0, 0},
        {"replay", "fifo", SCANNER_KEY_PATH, FIELD(replay_fifo), 0, 0},
        {"replay", "images", SCANNER_KEY_PATH, FIELD(replay_images), 0, 0},
        {"replay", "images_max_kpx", SCANNER_KEY_COUNT, FIELD(images.max_kpx), 1,
         SOURCE_IMAGES_MAX_KPX_MAX},
        {"replay", "images_budget_ms", SCANNER_KEY_MS, FIELD(images.budget_ms), 100, 60000},
        {"replay", "images_delete", SCANNER_KEY_BOOL, FIELD(images.delete_judged), 0, 0},
        /* [serial] */
        {"serial", "device", SCANNER_KEY_PATH, FIELD(serial.device), 0, 0},
        {"serial", "baud", SCANNER_KEY_BAUD, FIELD(serial.baud), 0, 0},
        {"serial", "framing", SCANNER_KEY_FRAMING, FIELD(serial.framing), 0, 0},
        {"serial", "max_line", SCANNER_KEY_BYTES, FIELD(serial.max_line), SERIAL_LINE_MIN,
         SERIAL_LINE_MAX},
        {"serial", "retry_ms", SCANNER_KEY_MS, FIELD(serial.retry_ms), 100, 600000},
        /* [hid] */
        {"hid", "device", SCANNER_KEY_INPUT, FIELD(hid.device), 0, 0},
        {"hid", "key_timeout_ms", SCANNER_KEY_MS, FIELD(hid.key_timeout_ms), HID_KEY_TIMEOUT_MIN,
         HID_KEY_TIMEOUT_MAX},
        {"hid", "grab", SCANNER_KEY_BOOL, FIELD(hid.grab), 0, 0},
        {"hid", "retry_ms", SCANNER_KEY_MS, FIELD(hid.retry_ms), 100, 600000},
        /* [camera] */
        {"camera", "device", SCANNER_KEY_PATH, FIELD(camera.capture.device), 0, 0},
        {"camera", "width", SCANNER_KEY_COUNT, FIELD(camera.capture.width), CAPTURE_DIM_MIN,
         CAPTURE_DIM_MAX},
        {"camera", "height", SCANNER_KEY_COUNT, FIELD(camera.capture.height), CAPTURE_DIM_MIN,
         CAPTURE_DIM_MAX},
        {"camera", "fps", SCANNER_KEY_COUNT, FIELD(camera.capture.fps), CAPTURE_FPS_MIN,
         CAPTURE_FPS_MAX},
        {"camera", "format", SCANNER_KEY_PIXFMT, FIELD(camera.capture.format), 0, 0},
        {"camera", "stall_ms", SCANNER_KEY_COUNT, FIELD(camera.stall_ms), CAMERA_STALL_MIN_MS,
         CAMERA_STALL_MAX_MS},
        {"camera", "decoders", SCANNER_KEY_DECODERS, FIELD(camera.decoders), 0, 0},
        {"camera", "decode_budget_kpx", SCANNER_KEY_COUNT, FIELD(camera.decode_budget_kpx), 0,
         CAMERA_DECODE_BUDGET_MAX_KPX},
};
const size_t scanner_keys_count = sizeof(scanner_keys) / sizeof(scanner_keys[0]);
_Static_assert(sizeof(scanner_keys) / sizeof(scanner_keys[0]) <= SCANNER_KEYS_MAX,
               "raise SCANNER_KEYS_MAX (config.c sizes its per-parse table by it)");

void scanner_settings_defaults(struct scanner_settings *s)
{
	memset(s, 0, sizeof(*s)); /* every path "": no scanner configured */
	s->replay_stdin = false;
	s->images.max_kpx = SOURCE_IMAGES_MAX_KPX_DEFAULT;
	s->images.budget_ms = SOURCE_IMAGES_BUDGET_MS_DEFAULT;
	s->images.delete_judged = false;
	s->serial.baud = 9600;
	snprintf(s->serial.framing, sizeof(s->serial.framing), "%s", "8N1");
	s->serial.max_line = 4296;
	s->serial.retry_ms = 5000; /* a safety net: hot-plug says at once */
	s->hid.key_timeout_ms = 100;
	s->hid.grab = true;
	s->hid.retry_ms = 5000;
	/* [camera]: VGA is plenty for a card held under the lens (docs/camera.md). */
	s->camera.capture.width = 640;
	s->camera.capture.height = 480;
	s->camera.capture.fps = 15;
	s->camera.capture.format = CAPTURE_FORMAT_AUTO;
	s->camera.stall_ms = 5000;
	s->camera.decoders = CAMERA_DECODE_ALL;
	s->camera.decode_budget_kpx = CAMERA_DECODE_BUDGET_DEFAULT_KPX;
	s->camera.formats = CAMERA_FORMAT_QR;
	s->camera.retry_ms = 0;
	s->camera.io = NULL;
}

bool scanner_owns_key(const char *section, const char *key)
{
	for (size_t i = 0; i < scanner_keys_count; i++)
		if (strcmp(scanner_keys[i].section, section) == 0 &&
		    strcmp(scanner_keys[i].name, key) == 0)
			return true;
	return false;
}
