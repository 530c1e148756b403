/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_hid.h - the keyboard-wedge (HID) scanner's constructor and settings
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_HID_H
#define QRDESK_SOURCE_HID_H

#include <stdbool.h>

#include "qrdesk/error.h"
#include "qrdesk/scanner.h"
#include "qrdesk/source.h"

#define HID_KEY_TIMEOUT_MIN 10   /* ms */
#define HID_KEY_TIMEOUT_MAX 5000 /* ms */

/*
 * The keyboard-wedge scanner (drivers/source_hid.c): an evdev input device,
 * chosen by path or by USB "vendor:product" (4 hex digits each), grabbed
 * (EVIOCGRAB) so its keystrokes reach no console or other program; key
 * events assembled into codes by drivers/hid_assembler.h.  Absent or unplugged:
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

/* [hid]: its keys and defaults, as data for the registry (drivers/scanners.c). */
#define SOURCE_HID_KEYS(T)                                                                         \
	SCANNER_KEY("device", INPUT, T, device, 0, 0),                                             \
	        SCANNER_KEY("key_timeout_ms", MS, T, key_timeout_ms, HID_KEY_TIMEOUT_MIN,          \
	                    HID_KEY_TIMEOUT_MAX),                                                  \
	        SCANNER_KEY("grab", BOOL, T, grab, 0, 0),                                          \
	        SCANNER_KEY("retry_ms", MS, T, retry_ms, 100, 600000)
#define SOURCE_HID_DEFAULTS() .key_timeout_ms = 100, .grab = true, .retry_ms = 5000

/* The [hid] settings in a configuration's scanner settings. */
static inline struct source_hid_config *source_hid_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "hid");
}

enum qd_err source_hid(const char *name, const struct source_hid_config *cfg, source_code_cb cb,
                       void *arg, struct source **out);

#endif
