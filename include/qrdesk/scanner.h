/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner.h - the registry of code sources (drivers/scanners.c): one row per
 * kind of scanner, so the daemon starts, names and allows the devices of
 * every configured source by walking the rows, never by a list of its own.
 *
 * A row gives the source's name, its configuration section, whether the
 * settings ask for it, how to create it, and the systemd DeviceAllow= lines
 * it needs (qrdeskd --unit-devices).  Its keys are data in scanner_keys[]
 * (drivers/scanner_keys.c: type, field, range; defaults beside them), which
 * config.c reads, range-checks and defaults without linking a driver.
 * Adding a scanner: its driver file, its settings in struct
 * scanner_settings, its row, its keys; then CMake, the example config and
 * the docs (docs/architecture.md counts them).
 */
#ifndef QRDESK_SCANNER_H
#define QRDESK_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "qrdesk/error.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/source_serial.h"

#define SCANNER_PATH_MAX 256

/* Every scanner's settings ([replay], [serial], [hid], [camera]); "" or false: not used. */
struct scanner_settings {
	bool replay_stdin;
	char replay_fifo[SCANNER_PATH_MAX];
	char replay_images[SCANNER_PATH_MAX];
	struct source_images_config images; /* the folder's budgets, done/ or delete */
	struct source_serial_config serial; /* device "": no serial scanner */
	struct source_hid_config hid;       /* device "": no keyboard-wedge scanner */
	struct source_camera_config
	        camera; /* capture.device "": no camera (retry_ms, io: not keys) */
};

/* How config.c reads a scanner key's value (its checks are config.c's). */
enum scanner_key_type {
	SCANNER_KEY_BOOL,     /* bool */
	SCANNER_KEY_MS,       /* uint32_t milliseconds, min..max */
	SCANNER_KEY_PATH,     /* char[]: a path, "" allowed */
	SCANNER_KEY_INPUT,    /* char[]: "", an absolute path or a USB "vvvv:pppp" */
	SCANNER_KEY_COUNT,    /* uint32_t, min..max */
	SCANNER_KEY_BAUD,     /* unsigned: a standard serial rate */
	SCANNER_KEY_FRAMING,  /* char[4]: "8N1" and the like */
	SCANNER_KEY_BYTES,    /* unsigned byte count, min..max */
	SCANNER_KEY_PIXFMT,   /* enum capture_format */
	SCANNER_KEY_DECODERS, /* unsigned CAMERA_DECODE_* mask */
};

/* One key of a scanner's section: its field in struct scanner_settings. */
struct scanner_key {
	const char *section;
	const char *name;
	enum scanner_key_type type;
	size_t offset, size;
	uint32_t min, max;
};

#define SCANNER_KEYS_MAX 64

/* Every scanner's keys (drivers/scanner_keys.c), grouped by section. */
extern const struct scanner_key scanner_keys[];
extern const size_t scanner_keys_count;

/* Every scanner's defaults: none configured, each with its settings' defaults. */
void scanner_settings_defaults(struct scanner_settings *s);

struct scanner_kind {
	const char *name;    /* the source's name in logs, status and audit rows */
	const char *section; /* its configuration section (its keys: scanner_keys[]) */
	/* What it reads (a device, a folder) if the settings ask for it; NULL: not configured. */
	const char *(*wanted)(const struct scanner_settings *s);
	enum qd_err (*create)(const struct scanner_settings *s, source_code_cb cb, void *arg,
	                      struct source **out);
	/* Optional: DeviceAllow= lines for a configured source. */
	void (*devices)(const struct scanner_settings *s, FILE *out);
};

/* The rows, in start-up order. */
extern const struct scanner_kind scanner_kinds[];
extern const size_t scanner_kinds_count;

/* True if [section] key is a scanner's key (scanner_keys[]). */
bool scanner_owns_key(const char *section, const char *key);

#endif
