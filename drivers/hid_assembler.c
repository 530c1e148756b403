/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hid_assembler.c - key events cut into code texts (see hid_assembler.h for
 * the rules; this file only follows them).
 */
#include "hid_assembler.h"

#include <linux/input-event-codes.h>
#include <string.h>

/* US layout: [code] = {unshifted, shifted}; letters are handled with Caps Lock. */
static const char keymap[KEY_KPDOT + 1][2] = {
        [KEY_1] = {'1', '!'},           [KEY_2] = {'2', '@'},
        [KEY_3] = {'3', '#'},           [KEY_4] = {'4', '$'},
        [KEY_5] = {'5', '%'},           [KEY_6] = {'6', '^'},
        [KEY_7] = {'7', '&'},           [KEY_8] = {'8', '*'},
        [KEY_9] = {'9', '('},           [KEY_0] = {'0', ')'},
        [KEY_MINUS] = {'-', '_'},       [KEY_EQUAL] = {'=', '+'},
        [KEY_Q] = {'q', 'Q'},           [KEY_W] = {'w', 'W'},
        [KEY_E] = {'e', 'E'},           [KEY_R] = {'r', 'R'},
        [KEY_T] = {'t', 'T'},           [KEY_Y] = {'y', 'Y'},
        [KEY_U] = {'u', 'U'},           [KEY_I] = {'i', 'I'},
        [KEY_O] = {'o', 'O'},           [KEY_P] = {'p', 'P'},
        [KEY_LEFTBRACE] = {'[', '{'},   [KEY_RIGHTBRACE] = {']', '}'},
        [KEY_A] = {'a', 'A'},           [KEY_S] = {'s', 'S'},
        [KEY_D] = {'d', 'D'},           [KEY_F] = {'f', 'F'},
        [KEY_G] = {'g', 'G'},           [KEY_H] = {'h', 'H'},
        [KEY_J] = {'j', 'J'},           [KEY_K] = {'k', 'K'},
        [KEY_L] = {'l', 'L'},           [KEY_SEMICOLON] = {';', ':'},
        [KEY_APOSTROPHE] = {'\'', '"'}, [KEY_GRAVE] = {'`', '~'},
        [KEY_BACKSLASH] = {'\\', '|'},  [KEY_Z] = {'z', 'Z'},
        [KEY_X] = {'x', 'X'},           [KEY_C] = {'c', 'C'},
        [KEY_V] = {'v', 'V'},           [KEY_B] = {'b', 'B'},
        [KEY_N] = {'n', 'N'},           [KEY_M] = {'m', 'M'},
        [KEY_COMMA] = {',', '<'},       [KEY_DOT] = {'.', '>'},
        [KEY_SLASH] = {'/', '?'},       [KEY_KPASTERISK] = {'*', '*'},
        [KEY_SPACE] = {' ', ' '},       [KEY_KP7] = {'7', '7'},
        [KEY_KP8] = {'8', '8'},         [KEY_KP9] = {'9', '9'},
        [KEY_KPMINUS] = {'-', '-'},     [KEY_KP4] = {'4', '4'},
        [KEY_KP5] = {'5', '5'},         [KEY_KP6] = {'6', '6'},
        [KEY_KPPLUS] = {'+', '+'},      [KEY_KP1] = {'1', '1'},
        [KEY_KP2] = {'2', '2'},         [KEY_KP3] = {'3', '3'},
        [KEY_KP0] = {'0', '0'},         [KEY_KPDOT] = {'.', '.'},
};

char hid_keymap_char(uint16_t code, bool shift, bool caps)
{
	if (code == KEY_KPSLASH)
		return '/';
	if (code >= sizeof(keymap) / sizeof(keymap[0]))
		return 0;
	char c = keymap[code][0];
	if (c >= 'a' && c <= 'z')
		return keymap[code][shift != caps];
	return keymap[code][shift];
}

enum qd_err hid_assembler_init(struct hid_assembler *a, unsigned key_timeout_ms,
                               const struct hid_assembler_ops *ops, void *arg)
{
	if (a == NULL || ops == NULL || ops->on_code == NULL || ops->on_drop == NULL ||
	    key_timeout_ms < HID_KEY_TIMEOUT_MIN || key_timeout_ms > HID_KEY_TIMEOUT_MAX)
		return QD_ERR_ARG;
	memset(a, 0, sizeof(*a));
	a->timeout_us = (int64_t)key_timeout_ms * 1000;
	a->ops = *ops;
	a->arg = arg;
	return QD_OK;
}

void hid_assembler_set_caps(struct hid_assembler *a, bool on)
{
	a->caps = on;
}

/* Drop the code in progress (counted by the caller's reason) and discard its rest. */
static void drop(struct hid_assembler *a, enum hid_drop why)
{
	size_t len = a->len;
	a->len = 0;
	a->discarding = true;
	a->ops.on_drop(a->arg, why, len);
}

/* The quiet before a key press at t_us: timeouts and resync. */
static void gap(struct hid_assembler *a, int64_t t_us)
{
	if (!a->have_last)
		return;
	int64_t quiet = t_us - a->last_us;
	if (a->len > 0 && quiet > a->timeout_us) {
		a->timeouts++;
		drop(a, HID_DROP_TIMEOUT);
	}
	if (a->discarding && quiet > (int64_t)HID_RESYNC_MS * 1000)
		a->discarding = false;
}

static int modifier_index(uint16_t code)
{
	switch (code) {
	case KEY_LEFTCTRL:
		return 0;
	case KEY_RIGHTCTRL:
		return 1;
	case KEY_LEFTALT:
		return 2;
	case KEY_RIGHTALT:
		return 3;
	case KEY_LEFTMETA:
		return 4;
	case KEY_RIGHTMETA:
		return 5;
	default:
		return -1;
	}
}

static bool chord_held(const struct hid_assembler *a)
{
	for (size_t i = 0; i < sizeof(a->ctrl_alt_meta); i++)
		if (a->ctrl_alt_meta[i])
			return true;
	return false;
}

void hid_assembler_event(struct hid_assembler *a, uint16_t type, uint16_t code, int32_t value,
                         int64_t t_us)
{
	if (type == EV_SYN && code == SYN_DROPPED) {
		/* Keys were lost, maybe mid-code, maybe a Shift release among them. */
		a->overruns++;
		a->lshift = a->rshift = false;
		memset(a->ctrl_alt_meta, 0, sizeof(a->ctrl_alt_meta));
		/* Dropped even if empty: its start may be lost.  But in the rest of a code already
		 * dropped, the lost keys are more of that code: counted once, not again. */
		if (!a->discarding)
			drop(a, HID_DROP_OVERRUN);
		a->have_last = true;
		a->last_us = t_us; /* the resync quiet counts from here */
		return;
	}
	if (type != EV_KEY)
		return; /* EV_SYN reports, EV_MSC scan codes, EV_LED echoes: nothing typed */
	int mod = modifier_index(code);
	if (code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT || mod >= 0) {
		bool down = value != 0;
		if (code == KEY_LEFTSHIFT)
			a->lshift = down;
		else if (code == KEY_RIGHTSHIFT)
			a->rshift = down;
		else
			a->ctrl_alt_meta[mod] = down;
		return;
	}
	if (value != 1)
		return; /* releases and auto-repeats type nothing */
	gap(a, t_us);
	a->have_last = true;
	a->last_us = t_us;
	if (code == KEY_CAPSLOCK) {
		a->caps = !a->caps;
		return;
	}
	if (code == KEY_NUMLOCK || code == KEY_SCROLLLOCK)
		return;
	if (code == KEY_ENTER || code == KEY_KPENTER) {
		size_t len = a->len;
		bool discarded = a->discarding;
		a->len = 0;
		a->discarding = false;
		if (discarded || len == 0)
			return; /* the end of a dropped code, or nothing typed */
		a->buf[len] = '\0';
		a->codes++;
		a->ops.on_code(a->arg, a->buf, len, t_us);
		return;
	}
	char c = hid_keymap_char(code, a->lshift || a->rshift, a->caps);
	if (a->discarding)
		return;
	if (c == 0 || chord_held(a)) {
		if (a->len == 0)
			return; /* between codes: breaks nothing */
		a->unexpected++;
		drop(a, HID_DROP_UNEXPECTED);
		return;
	}
	if (a->len == HID_CODE_MAX) {
		a->overlong++;
		drop(a, HID_DROP_OVERLONG);
		return;
	}
	a->buf[a->len++] = c;
}

void hid_assembler_expire(struct hid_assembler *a, int64_t now_us)
{
	gap(a, now_us);
}

int64_t hid_assembler_deadline(const struct hid_assembler *a)
{
	if (!a->have_last)
		return -1;
	if (a->len > 0)
		return a->last_us + a->timeout_us + 1;
	if (a->discarding)
		return a->last_us + (int64_t)HID_RESYNC_MS * 1000 + 1;
	return -1;
}

void hid_assembler_reset(struct hid_assembler *a)
{
	size_t len = a->len;
	a->len = 0;
	a->discarding = false;
	a->have_last = false;
	a->lshift = a->rshift = a->caps = false; /* a device's LED seeds caps again */
	memset(a->ctrl_alt_meta, 0, sizeof(a->ctrl_alt_meta));
	if (len > 0)
		a->ops.on_drop(a->arg, HID_DROP_RESET, len);
}
