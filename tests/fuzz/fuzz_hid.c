/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_hid - the keyboard-wedge scanner's key assembler
 * (drivers/hid_assembler.c) over arbitrary event streams.
 *
 * Input: byte 0 picks key_timeout_ms (10 + 4 × byte 0), then 5-byte events:
 * code (2 bytes; high bits folded so most land on real keys), value (1 byte:
 * 0 release, 1 press, 2 repeat, else EV_SYN), gap (2 bytes of milliseconds
 * since the previous event; a gap's top bit instead runs the expiry timer at
 * that time, no event).  Besides memory safety it checks what
 * hid_assembler.h promises: texts are non-empty, at most HID_CODE_MAX
 * printable ASCII characters, NUL-terminated, delivered only at an Enter
 * press; every delivered code's keys came no more than key_timeout apart
 * (the model tracks the time of each code's first key and the longest gap);
 * the counters agree with the callbacks; the deadline is never in the past
 * of the last key; a reset leaves nothing pending.
 */
#include <linux/input-event-codes.h>
#include <string.h>

#include "fuzz.h"
#include "hid_assembler.h"

struct seen {
	size_t codes, drops;
	bool enter_now; /* the event being fed is an Enter press */
	int64_t timeout_us;
	int64_t max_gap_us; /* the longest gap between keys typed since the last Enter / drop */
};

static void on_code(void *arg, const char *text, size_t len, int64_t t_us)
{
	struct seen *s = arg;
	(void)t_us;
	FUZZ_CHECK(s->enter_now);
	FUZZ_CHECK(len > 0 && len <= HID_CODE_MAX && text[len] == '\0');
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(text[i] >= 0x20 && text[i] < 0x7f);
	FUZZ_CHECK(s->max_gap_us <= s->timeout_us);
	s->codes++;
}

static void on_drop(void *arg, enum hid_drop why, size_t len)
{
	struct seen *s = arg;
	FUZZ_CHECK(why <= HID_DROP_OVERRUN && len <= HID_CODE_MAX);
	s->drops++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned timeout_ms = 10 + 4u * data[0];
	struct seen s = {.timeout_us = (int64_t)timeout_ms * 1000};
	static struct hid_assembler a;
	static const struct hid_assembler_ops ops = {.on_code = on_code, .on_drop = on_drop};
	FUZZ_CHECK(hid_assembler_init(&a, timeout_ms, &ops, &s) == QD_OK);
	int64_t t = 1000000, last_key = -1;
	for (size_t at = 1; at + 5 <= size; at += 5) {
		uint16_t code = (uint16_t)((data[at] | data[at + 1] << 8) % (KEY_KPDOT + 8));
		uint8_t v = data[at + 2];
		uint16_t gap = (uint16_t)(data[at + 3] | data[at + 4] << 8);
		if (gap & 0x8000) {
			hid_assembler_expire(&a, t + (gap & 0x7fff) * 1000);
			continue;
		}
		t += (int64_t)gap * 1000;
		if (v > 2) {
			hid_assembler_event(&a, EV_SYN, SYN_REPORT, 0, t);
			continue;
		}
		bool is_mod = code == KEY_LEFTSHIFT || code == KEY_RIGHTSHIFT ||
		              code == KEY_LEFTCTRL || code == KEY_RIGHTCTRL ||
		              code == KEY_LEFTALT || code == KEY_RIGHTALT || code == KEY_LEFTMETA ||
		              code == KEY_RIGHTMETA;
		bool press = v == 1 && !is_mod;
		if (press && last_key >= 0 && a.len > 0 && t - last_key > s.max_gap_us)
			s.max_gap_us = t - last_key;
		s.enter_now = press && (code == KEY_ENTER || code == KEY_KPENTER);
		size_t before_drops = s.drops;
		hid_assembler_event(&a, EV_KEY, code, v, t);
		if (press) {
			last_key = t;
			int64_t d = hid_assembler_deadline(&a);
			FUZZ_CHECK(d < 0 || d > t);
		}
		if (s.enter_now || a.len == 0 || s.drops != before_drops)
			s.max_gap_us = 0; /* a new code starts from here */
		s.enter_now = false;
	}
	FUZZ_CHECK(a.codes == s.codes);
	FUZZ_CHECK(a.timeouts + a.overlong + a.unexpected == s.drops);
	hid_assembler_reset(&a);
	FUZZ_CHECK(a.len == 0 && hid_assembler_deadline(&a) == -1);
	return 0;
}
