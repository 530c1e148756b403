/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hid_assembler.h - a keyboard-wedge scanner's key events in, code texts out.
 *
 * Pure (no I/O; time comes with each event): the HID driver
 * (drivers/source_hid.c) feeds it evdev events, the unit tests and the fuzz
 * target feed it recorded ones, and all see the same codes.
 *
 * Keys.  US layout.  Letters are upper case when exactly one of Shift (left
 * or right, held) and Caps Lock (toggled by its press) is on; other keys
 * use Shift only.  Keypad digits and operators type their characters.
 * Presses (value 1) type; auto-repeats (value 2) are ignored (a scanner does
 * not hold keys; a repeat is a stuck key, not data); releases only matter
 * for Shift.  Ctrl, Alt, Meta, Num Lock and Scroll Lock are ignored
 * themselves.
 *
 * A code ends at Enter (main or keypad).  Empty codes are ignored.  A code
 * is delivered only if it was typed cleanly from start to Enter; otherwise
 * it is dropped once, with a reason, and so is the rest of it up to its
 * Enter, so a broken code is never delivered as two halves:
 *  - TIMEOUT: more than key_timeout between two keys of it (a slow or
 *    disturbed scanner, or a person who typed a few keys and walked away);
 *  - OVERLONG: more than HID_CODE_MAX characters;
 *  - UNEXPECTED: a key that types nothing in a code (Tab, Backspace, an
 *    arrow, Esc, F1...) or a character typed with Ctrl, Alt or Meta held,
 *    in the middle of a code (between codes such keys are ignored).
 * The rest of a dropped code is discarded up to its Enter or, if the Enter
 * never comes, until HID_RESYNC_MS pass without a key: what comes after
 * that long a quiet is a new scan, not the tail of the old one.
 */
#ifndef QRDESK_HID_ASSEMBLER_H
#define QRDESK_HID_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/source_hid.h" /* HID_KEY_TIMEOUT_MIN, HID_KEY_TIMEOUT_MAX */

#define HID_CODE_MAX  4296 /* the most a QR code holds: SOURCE_TEXT_MAX - 1 */
#define HID_RESYNC_MS 2000

enum hid_drop {
	HID_DROP_TIMEOUT,
	HID_DROP_OVERLONG,
	HID_DROP_UNEXPECTED,
	HID_DROP_RESET,   /* hid_assembler_reset() with a code half typed (the device went away) */
	HID_DROP_OVERRUN, /* the kernel's event queue overflowed (SYN_DROPPED): keys were lost */
};

struct hid_assembler_ops {
	/* A code: text[len] is '\0'; t_us is the Enter's time. */
	void (*on_code)(void *arg, const char *text, size_t len, int64_t t_us);
	/* A code dropped; len: its characters kept so far. */
	void (*on_drop)(void *arg, enum hid_drop why, size_t len);
};

struct hid_assembler {
	int64_t timeout_us;
	struct hid_assembler_ops ops;
	void *arg;
	bool lshift, rshift, caps, ctrl_alt_meta[6];
	bool discarding; /* the rest of a dropped code, up to Enter or a quiet */
	bool have_last;
	int64_t last_us; /* the last key press */
	size_t len;
	char buf[HID_CODE_MAX + 1];
	/* Counters since init. */
	uint64_t codes, timeouts, overlong, unexpected, overruns;
};

/* The character key `code` types (0: none), with shift / caps lock as given. */
char hid_keymap_char(uint16_t code, bool shift, bool caps);

/* QD_ERR_ARG if key_timeout_ms is outside HID_KEY_TIMEOUT_MIN..MAX or a callback is NULL. */
enum qd_err hid_assembler_init(struct hid_assembler *a, unsigned key_timeout_ms,
                               const struct hid_assembler_ops *ops, void *arg);

/* Caps Lock's state as the device's LED shows it when we start reading. */
void hid_assembler_set_caps(struct hid_assembler *a, bool on);

/*
 * One evdev event (type, code, value) at t_us (monotonic, any origin, not
 * decreasing).  EV_SYN/SYN_DROPPED (the kernel's queue for this reader
 * overflowed) drops the code in progress and the rest of whatever code the
 * lost keys belonged to, up to its Enter or a quiet: a code with keys missing
 * is never verified, and neither is the tail of one whose start was lost.  An
 * overflow in the rest of a code already dropped is not a second code dropped
 * (counted in overruns, not reported): each code reported dropped is a code
 * lost, though one whose Enter was among the lost keys takes the next with it.
 */
void hid_assembler_event(struct hid_assembler *a, uint16_t type, uint16_t code, int32_t value,
                         int64_t t_us);

/* Apply the timeouts as of now_us (same clock as the events): a timer calls this. */
void hid_assembler_expire(struct hid_assembler *a, int64_t now_us);

/* When hid_assembler_expire() has something to do; -1: nothing pending. */
int64_t hid_assembler_deadline(const struct hid_assembler *a);

/* Forget the code in progress, the modifiers and Caps Lock (the device went away). */
void hid_assembler_reset(struct hid_assembler *a);

#endif
