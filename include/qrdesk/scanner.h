/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner.h - the registry of code sources (drivers/scanners.c): one row per
 * kind of scanner, so the daemon starts, names and allows the devices of
 * every configured source by walking the rows, never by a list of its own.
 *
 * A row gives the source's name, its configuration section and keys there
 * (qrdesk.conf; config.c reads and range-checks them into struct
 * scanner_settings), whether the settings ask for it, how to create it, and
 * the systemd DeviceAllow= lines it needs (qrdeskd --unit-devices).  Adding
 * a scanner: its driver file, its settings in struct scanner_settings and
 * one row; then its keys in config.c, CMake, the example config and the
 * docs (docs/architecture.md counts them).
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

struct scanner_kind {
	const char *name;        /* the source's name in logs, status and audit rows */
	const char *section;     /* its configuration section */
	const char *const *keys; /* its keys in that section, NULL-terminated */
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

/* True if a row declares [section] key. */
bool scanner_owns_key(const char *section, const char *key);

#endif
