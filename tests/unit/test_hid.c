/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hid.c - the keyboard-wedge scanner: its key assembler
 * (hid_assembler.h) on recorded key sequences - US layout, Shift, Caps
 * Lock, a code split by a slow scanner, keys that do not belong in a code,
 * the inter-key timeout and its resync, overlong codes - and the real driver
 * (drivers/source_hid.c) reading a recorded evdev stream through a FIFO:
 * /dev/uinput is not available where these tests run (checked: no such
 * node in the build container), so the kernel device is replaced by the
 * same records it would deliver, split at awkward places, and the device
 * coming and going by the writer closing and a new one arriving.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hid_assembler.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdesk/source.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/thread.h"
#include "testutil.h"

#define WAIT_MS    20000 /* a hang guard: every wait ends on its event */
#define WATCHDOG_S 90
#define CODES_MAX  16
#define EVENTS_MAX 32768

/* ---- Recording key sequences ---------------------------------------------- */

struct rec {
	struct input_event ev[EVENTS_MAX];
	size_t n;
	int64_t t_us; /* the next event's time */
};

static void rec_ev(struct rec *r, uint16_t type, uint16_t code, int32_t value)
{
	assert_true(r->n < EVENTS_MAX);
	struct input_event *e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->input_event_sec = (time_t)(r->t_us / 1000000);
	e->input_event_usec = (suseconds_t)(r->t_us % 1000000);
	e->type = type;
	e->code = code;
	e->value = value;
}

/* A key pressed and released as a scanner does: MSC_SCAN, press, SYN, release, SYN. */
static void rec_key(struct rec *r, uint16_t code, int64_t step_us)
{
	rec_ev(r, EV_MSC, MSC_SCAN, 0x70000 + code);
	rec_ev(r, EV_KEY, code, 1);
	rec_ev(r, EV_SYN, SYN_REPORT, 0);
	rec_ev(r, EV_KEY, code, 0);
	rec_ev(r, EV_SYN, SYN_REPORT, 0);
	r->t_us += step_us;
}

/* The key and shift state that type c (not the keypad: a scanner's usual keys). */
static uint16_t key_for(char c, bool *shift)
{
	for (int s = 0; s < 2; s++)
		for (uint16_t code = 1; code < KEY_KP7; code++)
			if (hid_keymap_char(code, s == 1, false) == c) {
				*shift = s == 1;
				return code;
			}
	fail_msg("no key types '%c'", c);
	return 0;
}

/* Type text (Shift held around shifted characters), step_us between keys. */
static void rec_text(struct rec *r, const char *text, int64_t step_us)
{
	for (const char *p = text; *p; p++) {
		bool shift = false;
		uint16_t code = key_for(*p, &shift);
		if (shift)
			rec_ev(r, EV_KEY, KEY_LEFTSHIFT, 1);
		rec_key(r, code, step_us);
		if (shift)
			rec_ev(r, EV_KEY, KEY_LEFTSHIFT, 0);
	}
}

/* ---- The assembler --------------------------------------------------------- */

struct got {
	size_t n;
	char text[CODES_MAX][HID_CODE_MAX + 1];
	size_t len[CODES_MAX];
	size_t drops[HID_DROP_OVERRUN + 1];
};

static void got_code(void *arg, const char *text, size_t len, int64_t t_us)
{
	struct got *g = arg;
	(void)t_us;
	assert_true(g->n < CODES_MAX);
	assert_int_equal(text[len], '\0');
	memcpy(g->text[g->n], text, len + 1);
	g->len[g->n++] = len;
}

static void got_drop(void *arg, enum hid_drop why, size_t len)
{
	struct got *g = arg;
	(void)len;
	g->drops[why]++;
}

static const struct hid_assembler_ops got_ops = {.on_code = got_code, .on_drop = got_drop};

static struct hid_assembler as;
static struct got got;
static struct rec rec;

static void fresh(unsigned timeout_ms)
{
	memset(&got, 0, sizeof(got));
	rec.n = 0;
	rec.t_us = 5000000;
	assert_int_equal(hid_assembler_init(&as, timeout_ms, &got_ops, &got), QD_OK);
}

static void play(void)
{
	for (size_t i = 0; i < rec.n; i++) {
		const struct input_event *e = &rec.ev[i];
		hid_assembler_event(&as, e->type, e->code, e->value,
		                    (int64_t)e->input_event_sec * 1000000 + e->input_event_usec);
	}
	rec.n = 0;
}

static void test_keymap(void **state)
{
	(void)state;
	assert_int_equal(hid_keymap_char(KEY_A, false, false), 'a');
	assert_int_equal(hid_keymap_char(KEY_A, true, false), 'A');
	assert_int_equal(hid_keymap_char(KEY_A, false, true), 'A');
	assert_int_equal(hid_keymap_char(KEY_A, true, true), 'a');
	assert_int_equal(hid_keymap_char(KEY_1, false, true), '1'); /* Caps Lock: letters only */
	assert_int_equal(hid_keymap_char(KEY_1, true, false), '!');
	assert_int_equal(hid_keymap_char(KEY_SEMICOLON, true, true), ':');
	assert_int_equal(hid_keymap_char(KEY_4, true, false), '$');
	assert_int_equal(hid_keymap_char(KEY_5, true, false), '%');
	assert_int_equal(hid_keymap_char(KEY_8, true, false), '*');
	assert_int_equal(hid_keymap_char(KEY_EQUAL, true, false), '+');
	assert_int_equal(hid_keymap_char(KEY_SPACE, false, false), ' ');
	assert_int_equal(hid_keymap_char(KEY_KP7, false, false), '7');
	assert_int_equal(hid_keymap_char(KEY_KPSLASH, true, false), '/');
	assert_int_equal(hid_keymap_char(KEY_TAB, false, false), 0);
	assert_int_equal(hid_keymap_char(KEY_ENTER, false, false), 0);
	assert_int_equal(hid_keymap_char(KEY_F1, false, false), 0);
	assert_int_equal(hid_keymap_char(KEY_MAX, false, false), 0);
	/* Every printable ASCII character has a key (the whole base45 alphabet and more). */
	for (char c = ' '; c < 0x7f; c++) {
		bool shift;
		assert_int_not_equal(key_for(c, &shift), 0);
	}
}

/* A real code's shape: base45 uses upper case, digits, space and $%*+-./: */
#define CODE "BC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK G2EP4J0BGJLFX.%-"

static void test_code_with_shift_and_caps(void **state)
{
	(void)state;
	fresh(100);
	rec_text(&rec, CODE, 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 1);
	assert_string_equal(got.text[0], CODE);

	/* Caps Lock on (toggled by its press): letters flip, Shift flips them back. */
	rec_key(&rec, KEY_CAPSLOCK, 2000);
	rec_key(&rec, KEY_B, 2000);
	rec_ev(&rec, EV_KEY, KEY_RIGHTSHIFT, 1);
	rec_key(&rec, KEY_C, 2000);
	rec_key(&rec, KEY_1, 2000);
	rec_ev(&rec, EV_KEY, KEY_RIGHTSHIFT, 0);
	rec_key(&rec, KEY_1, 2000);
	rec_key(&rec, KEY_KPENTER, 2000);
	rec_key(&rec, KEY_CAPSLOCK, 2000);
	rec_key(&rec, KEY_B, 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 3);
	assert_string_equal(got.text[1], "Bc!1");
	assert_string_equal(got.text[2], "b");

	/* Caps Lock seeded from the LED; auto-repeat, SYN, MSC and lone Enters type nothing. */
	hid_assembler_set_caps(&as, true);
	rec_key(&rec, KEY_ENTER, 2000);
	rec_key(&rec, KEY_Q, 2000);
	rec_ev(&rec, EV_KEY, KEY_Q, 2);
	rec_ev(&rec, EV_KEY, KEY_Q, 2);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 4);
	assert_string_equal(got.text[3], "Q");
	assert_int_equal(as.codes, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(got.drops[i], 0);
}

static void test_slow_scanner_and_timeout(void **state)
{
	(void)state;
	/* Pauses up to the timeout inside a code: still one code. */
	fresh(100);
	rec_text(&rec, "BC1:FIRST", 2000);
	rec.t_us += 98000; /* 100 ms after the last key */
	rec_text(&rec, "HALF", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 1);
	assert_string_equal(got.text[0], "BC1:FIRSTHALF");

	/* Just over it: the first half is dropped AND the second half never comes out. */
	rec_text(&rec, "BC1:SPLIT", 2000);
	rec.t_us += 99001;
	rec_text(&rec, "TAIL", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 1);
	assert_int_equal(got.drops[HID_DROP_TIMEOUT], 1);
	/* The next scan, right after that Enter, is clean again. */
	rec_text(&rec, "BC1:NEXT", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 2);
	assert_string_equal(got.text[1], "BC1:NEXT");

	/* A half code whose Enter never comes: the timer drops it... */
	rec_text(&rec, "BC1:LOST", 2000);
	play();
	int64_t last = rec.t_us - 2000;
	assert_int_equal(hid_assembler_deadline(&as), last + 100000 + 1);
	hid_assembler_expire(&as, last + 100000); /* not yet */
	assert_int_equal(got.drops[HID_DROP_TIMEOUT], 1);
	hid_assembler_expire(&as, last + 100001);
	assert_int_equal(got.drops[HID_DROP_TIMEOUT], 2);
	/* ... keys soon after are its tail, discarded up to their Enter ... */
	assert_int_equal(hid_assembler_deadline(&as), last + HID_RESYNC_MS * 1000 + 1);
	rec.t_us = last + 500000;
	rec_text(&rec, "REST", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 2);
	assert_int_equal(hid_assembler_deadline(&as), -1);
	/* ... but after a quiet of HID_RESYNC_MS a scan is a new one, Enter or not. */
	rec_text(&rec, "BC1:GONE", 2000);
	play();
	last = rec.t_us - 2000;
	hid_assembler_expire(&as, last + 100001);
	assert_int_equal(got.drops[HID_DROP_TIMEOUT], 3);
	hid_assembler_expire(&as, last + HID_RESYNC_MS * 1000 + 1);
	assert_int_equal(hid_assembler_deadline(&as), -1);
	rec_text(&rec, "BC1:NEW", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 3);
	assert_string_equal(got.text[2], "BC1:NEW");
	/* The same found without the timer, from the keys' own times. */
	rec_text(&rec, "BC1:OLD", 2000);
	rec.t_us += HID_RESYNC_MS * 1000;
	rec_text(&rec, "BC1:FRESH", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 4);
	assert_string_equal(got.text[3], "BC1:FRESH");
	assert_int_equal(got.drops[HID_DROP_TIMEOUT], 4);
	assert_int_equal(as.timeouts, 4);
}

static void test_interleaved_keys(void **state)
{
	(void)state;
	fresh(100);
	/* A Tab (or an arrow, Backspace...) inside a code breaks it: no half is delivered. */
	rec_text(&rec, "BC1:AB", 2000);
	rec_key(&rec, KEY_TAB, 2000);
	rec_text(&rec, "CD", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	rec_text(&rec, "BC1:X", 2000);
	rec_key(&rec, KEY_BACKSPACE, 2000);
	rec_text(&rec, "Y", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	/* Ctrl held: Ctrl+V is not a 'v'. */
	rec_text(&rec, "BC1:", 2000);
	rec_ev(&rec, EV_KEY, KEY_LEFTCTRL, 1);
	rec_key(&rec, KEY_V, 2000);
	rec_ev(&rec, EV_KEY, KEY_LEFTCTRL, 0);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 0);
	assert_int_equal(got.drops[HID_DROP_UNEXPECTED], 3);
	/* Between codes such keys break nothing; Num Lock and modifiers alone never do. */
	rec_key(&rec, KEY_TAB, 2000);
	rec_key(&rec, KEY_DOWN, 2000);
	rec_text(&rec, "BC1:", 2000);
	rec_key(&rec, KEY_NUMLOCK, 2000);
	rec_ev(&rec, EV_KEY, KEY_RIGHTALT, 1);
	rec_ev(&rec, EV_KEY, KEY_RIGHTALT, 0);
	rec_text(&rec, "OK", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 1);
	assert_string_equal(got.text[0], "BC1:OK");
	assert_int_equal(got.drops[HID_DROP_UNEXPECTED], 3);
}

/* The kernel's queue overflowed (SYN_DROPPED): no code with keys missing is ever delivered. */
static void test_queue_overrun(void **state)
{
	(void)state;
	fresh(100);
	/* Lost in the middle of a code: neither half is delivered. */
	rec_text(&rec, "BC1:AB", 2000);
	rec_ev(&rec, EV_SYN, SYN_DROPPED, 0);
	rec_text(&rec, "CD", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	/* Lost between codes: what follows may be the tail of a code whose start was lost. */
	rec_ev(&rec, EV_SYN, SYN_DROPPED, 0);
	rec_text(&rec, "EF", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	/* Shift pressed, then its release lost: the next code is not typed in capitals. */
	rec_ev(&rec, EV_KEY, KEY_LEFTSHIFT, 1);
	rec_ev(&rec, EV_SYN, SYN_DROPPED, 0);
	rec_key(&rec, KEY_ENTER, 2000);
	rec_key(&rec, KEY_X, 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.drops[HID_DROP_OVERRUN], 3);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.text[0], "x");
	assert_int_equal(as.overruns, 3);
	/* After the Enter that ends the discarded code, codes come through again. */
	rec_text(&rec, "BC1:OK", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.n, 2);
	assert_string_equal(got.text[1], "BC1:OK");
	/* Two overflows in one code (a loop held up twice while it was typed): one code lost,
	 * reported once; the second overflow hit the rest of the code already dropped. */
	rec_text(&rec, "BC1:GH", 2000);
	rec_ev(&rec, EV_SYN, SYN_DROPPED, 0);
	rec_text(&rec, "IJ", 2000);
	rec_ev(&rec, EV_SYN, SYN_DROPPED, 0);
	rec_text(&rec, "KL", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	rec_text(&rec, "BC1:OK2", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	play();
	assert_int_equal(got.drops[HID_DROP_OVERRUN], 4);
	assert_int_equal(as.overruns, 5);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.text[2], "BC1:OK2");
}

static void test_overlong_and_args(void **state)
{
	(void)state;
	fresh(100);
	static char big[HID_CODE_MAX + 2];
	memset(big, 'a', HID_CODE_MAX);
	big[HID_CODE_MAX] = '\0';
	rec_text(&rec, big, 1000);
	rec_key(&rec, KEY_ENTER, 1000);
	play();
	assert_int_equal(got.n, 1);
	assert_int_equal(got.len[0], HID_CODE_MAX);
	big[HID_CODE_MAX] = 'a';
	big[HID_CODE_MAX + 1] = '\0';
	rec_text(&rec, big, 1000);
	rec_key(&rec, KEY_ENTER, 1000);
	rec_text(&rec, "BC1:AFTER", 1000);
	rec_key(&rec, KEY_ENTER, 1000);
	play();
	assert_int_equal(got.n, 2);
	assert_int_equal(got.drops[HID_DROP_OVERLONG], 1);
	assert_string_equal(got.text[1], "BC1:AFTER");
	/* Reset with a half code: reported; modifiers forgotten. */
	rec_ev(&rec, EV_KEY, KEY_LEFTSHIFT, 1);
	rec_text(&rec, "x", 1000);
	play();
	hid_assembler_reset(&as);
	assert_int_equal(got.drops[HID_DROP_RESET], 1);
	rec_text(&rec, "y", 1000);
	rec_key(&rec, KEY_ENTER, 1000);
	play();
	assert_string_equal(got.text[2], "y");

	struct hid_assembler a;
	assert_int_equal(hid_assembler_init(&a, HID_KEY_TIMEOUT_MIN - 1, &got_ops, &got),
	                 QD_ERR_ARG);
	assert_int_equal(hid_assembler_init(&a, HID_KEY_TIMEOUT_MAX + 1, &got_ops, &got),
	                 QD_ERR_ARG);
	struct hid_assembler_ops half = {.on_code = got_code};
	assert_int_equal(hid_assembler_init(&a, 100, &half, &got), QD_ERR_ARG);
}

/* ---- The driver, fed through a FIFO ---------------------------------------- */

struct harness {
	struct loop *loop;
	struct loop_timer *tick;
	struct source *src;
	size_t n;
	char text[CODES_MAX][HID_CODE_MAX + 1];
	size_t want_n;
	uint64_t want_dropped;
	int want_state;
	int64_t deadline_us;
};

static bool reached(const struct harness *h)
{
	return h->n >= h->want_n && h->src->status.dropped >= h->want_dropped &&
	       (int)h->src->status.state == h->want_state;
}

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct harness *h = arg;
	assert_string_equal(name, "wedge");
	assert_true(t_us > 0 && t_us <= loop_now_us());
	assert_true(h->n < CODES_MAX && len < sizeof(h->text[0]));
	memcpy(h->text[h->n], text, len + 1);
	h->n++;
	if (reached(h))
		loop_stop(h->loop);
}

static void tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct harness *h = arg;
	if (reached(h) || loop_now_us() >= h->deadline_us)
		loop_stop(loop);
}

static void wait_for(struct harness *h, size_t n, uint64_t dropped, enum source_state state)
{
	h->want_n = n;
	h->want_dropped = dropped;
	h->want_state = (int)state;
	h->deadline_us = loop_now_us() + WAIT_MS * 1000LL;
	if (!reached(h)) {
		loop_timer_arm(h->tick, 1, 1);
		assert_int_equal(loop_run(h->loop), QD_OK);
		loop_timer_disarm(h->tick);
	}
	if (!reached(h))
		fail_msg("after %d ms: %zu codes, %llu dropped, %s (%s); wanted %zu, %llu, %s",
		         WAIT_MS, h->n, (unsigned long long)h->src->status.dropped,
		         source_state_name(h->src->status.state), h->src->status.detail, n,
		         (unsigned long long)dropped, source_state_name(state));
	assert_int_equal(h->n, n);
	assert_int_equal(h->src->status.codes, n);
	assert_int_equal(h->src->status.dropped, dropped);
}

/* A fresh folder, and the path in it for a scanner's recorded events (not made yet). */
static char *events_path(char *path, size_t size)
{
	char *dir = tu_mkdtemp();
	assert_true((size_t)snprintf(path, size, "%s/scanner-events", dir) < size);
	return dir;
}

static struct source_hid_config hid_cfg(const char *device)
{
	struct source_hid_config c = {0};
	snprintf(c.device, sizeof(c.device), "%s", device);
	c.key_timeout_ms = 50;
	c.grab = true;
	c.retry_ms = 20;
	return c;
}

static struct harness *harness_new(const struct source_hid_config *c)
{
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(loop_create(&h->loop), QD_OK);
	assert_int_equal(loop_timer_create(h->loop, tick_cb, h, &h->tick), QD_OK);
	assert_int_equal(source_hid("wedge", c, on_code, h, &h->src), QD_OK);
	return h;
}

static void harness_free(struct harness *h)
{
	h->src->ops->destroy(h->src);
	loop_timer_destroy(h->tick);
	loop_destroy(h->loop);
	free(h);
}

static void write_bytes(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

/* The recording so far, written in two pieces cut inside a record. */
static void write_rec(int fd)
{
	size_t bytes = rec.n * sizeof(struct input_event);
	size_t cut = bytes / 2 + 5;
	if (cut > bytes)
		cut = bytes;
	write_bytes(fd, rec.ev, cut);
	write_bytes(fd, (const char *)rec.ev + cut, bytes - cut);
	rec.n = 0;
}

static void test_driver_args(void **state)
{
	(void)state;
	struct source *src = (struct source *)1;
	struct source_hid_config c = hid_cfg("05e0:1200");
	assert_int_equal(source_hid("w", &c, on_code, NULL, &src), QD_OK);
	assert_string_equal(src->ops->kind, "hid");
	src->ops->destroy(src);
	static const char *const bad[] = {"",         "05e0:12001", "05e0-1200", "zzzz:0000",
	                                  "5e0:1200", "05e0:120",   "ttyS0",     "event3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = hid_cfg(bad[i]);
		src = (struct source *)1;
		assert_int_equal(source_hid("w", &c, on_code, NULL, &src), QD_ERR_ARG);
		assert_null(src);
	}
	c = hid_cfg("/dev/input/event0");
	c.key_timeout_ms = 5;
	assert_int_equal(source_hid("w", &c, on_code, NULL, &src), QD_ERR_ARG);
	c.key_timeout_ms = 50;
	assert_int_equal(source_hid("w", &c, NULL, NULL, &src), QD_ERR_ARG);
}

static void test_driver_recorded_stream(void **state)
{
	(void)state;
	char path[200];
	char *dir = events_path(path, sizeof(path));
	struct source_hid_config c = hid_cfg(path);
	struct harness *h = harness_new(&c);

	/* Not there at start: absent, and picked up when it appears. */
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_ABSENT);
	assert_int_equal(mkfifo(path, 0600), 0);
	wait_for(h, 0, 0, SOURCE_RUNNING);
	assert_non_null(strstr(h->src->status.detail, "recorded events"));

	int w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	rec.n = 0;
	rec.t_us = 7000000;
	rec_text(&rec, "BC1:Hid-1 $%", 3000);
	rec_key(&rec, KEY_ENTER, 3000);
	rec_key(&rec, KEY_CAPSLOCK, 3000);
	rec_text(&rec, "bc1:two", 3000);
	rec_key(&rec, KEY_ENTER, 3000);
	rec_key(&rec, KEY_CAPSLOCK, 3000);
	write_rec(w);
	wait_for(h, 2, 0, SOURCE_RUNNING);
	assert_string_equal(h->text[0], "BC1:Hid-1 $%");
	assert_string_equal(h->text[1], "BC1:TWO");

	/* A half code and then silence: the driver's timer drops it (timeout 50 ms)... */
	rec_text(&rec, "BC1:HALF", 3000);
	write_rec(w);
	wait_for(h, 2, 1, SOURCE_RUNNING);
	assert_non_null(strstr(h->src->status.detail, "keys too slow"));
	/* ... and its tail, soon after, is not delivered as a code. */
	rec.t_us += 200000;
	rec_text(&rec, "TAIL", 3000);
	rec_key(&rec, KEY_ENTER, 3000);
	rec_text(&rec, "BC1:THREE", 3000);
	rec_key(&rec, KEY_ENTER, 3000);
	write_rec(w);
	wait_for(h, 3, 1, SOURCE_RUNNING);
	assert_string_equal(h->text[2], "BC1:THREE");

	/* Unplugged mid-code (the writer goes away): dropped, and the FIFO opened again. */
	rec_key(&rec, KEY_CAPSLOCK, 3000);
	rec_text(&rec, "BC1:CUT", 3000);
	write_rec(w);
	close(w);
	wait_for(h, 3, 2, SOURCE_RUNNING);
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	/* Caps Lock was forgotten with the device (a new one starts as its LED says). */
	rec_text(&rec, "BC1:back", 3000);
	rec_key(&rec, KEY_ENTER, 3000);
	write_rec(w);
	wait_for(h, 4, 2, SOURCE_RUNNING);
	assert_string_equal(h->text[3], "BC1:back");
	close(w);

	h->src->ops->stop(h->src);
	assert_int_equal(h->src->status.state, SOURCE_STOPPED);
	harness_free(h);
	unlink(path);
	tu_rmtree(dir);
	free(dir);
}

/* The reader thread runs before the desk's other work: SCHED_FIFO where the process may
 * (root here, or qrdeskd.service's LimitRTPRIO=10), else nice -10 where it may raise it
 * (LimitNICE=-10), and still reads where it may do neither (at the process's nice). */
static void test_driver_reader_priority(void **state)
{
	(void)state;
	char path[200];
	char *dir = events_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	struct source_hid_config c = hid_cfg(path);
	struct harness *h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	wait_for(h, 0, 0, SOURCE_RUNNING);

	if (tu_fifo_allowed(10)) {
		assert_int_equal(tu_thread_policy("qrdesk-hid"), SCHED_FIFO);
	} else {
		assert_int_equal(tu_thread_policy("qrdesk-hid"), SCHED_OTHER);
		assert_int_equal(tu_thread_nice("qrdesk-hid"),
		                 tu_nice_allowed(thread_nice(), -10) ? -10 : thread_nice());
	}

	int w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	rec.n = 0;
	rec.t_us = 1000000;
	rec_text(&rec, "BC1:NICE", 1000);
	rec_key(&rec, KEY_ENTER, 1000);
	write_rec(w);
	wait_for(h, 1, 0, SOURCE_RUNNING);
	assert_string_equal(h->text[0], "BC1:NICE");
	close(w);
	h->src->ops->stop(h->src);
	harness_free(h);
	unlink(path);
	tu_rmtree(dir);
	free(dir);
}

/* The loop's first code, the "slow verdict": it types a long code into a FIFO as small as
 * an evdev queue, blocking, before it returns. */
static int busy_writer = -1;

static void busy_on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct harness *h = arg;
	on_code(arg, name, text, len, t_us);
	if (h->n != 1)
		return;
	/* While this callback holds the loop, a driver that read on the loop would read
	 * nothing: the FIFO fills (one page, 170 events, as an evdev queue of 64 holds a
	 * handful of keys) and this write never ends (the watchdog fails the test). */
	int fl = fcntl(busy_writer, F_GETFL);
	assert_true(fl >= 0);
	assert_int_equal(fcntl(busy_writer, F_SETFL, fl & ~O_NONBLOCK), 0);
	write_rec(busy_writer);
}

/* The loop held busy (a slow verdict) while a long code is typed: the driver's own thread
 * reads the keys as they come, and the code arrives whole once the loop is free. */
static void test_driver_busy_loop(void **state)
{
	(void)state;
	char path[200];
	char *dir = events_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	struct source_hid_config c = hid_cfg(path);
	c.key_timeout_ms = HID_KEY_TIMEOUT_MAX; /* the writer may be slow: keys are not */
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(loop_create(&h->loop), QD_OK);
	assert_int_equal(loop_timer_create(h->loop, tick_cb, h, &h->tick), QD_OK);
	assert_int_equal(source_hid("wedge", &c, busy_on_code, h, &h->src), QD_OK);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	wait_for(h, 0, 0, SOURCE_RUNNING);
	busy_writer = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(busy_writer >= 0);
	/* One page, as small as an evdev queue; where that cannot be set (an emulator), the
	 * default 64 KiB is still less than half the code. */
	(void)fcntl(busy_writer, F_SETPIPE_SZ, 4096);

	/* The long code: 1000 characters of base45's alphabet, about 6,400 events (150 KB of
	 * records): dozens of times what the FIFO holds, twice the default 64 KiB. */
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
	static char longcode[1001];
	for (size_t i = 0; i < 1000; i++)
		longcode[i] = alphabet[(i * 7) % (sizeof(alphabet) - 1)];
	longcode[1000] = '\0';
	memcpy(longcode, "BC1:", 4);
	rec.n = 0;
	rec.t_us = 11000000;
	rec_text(&rec, "BC1:FIRST", 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	write_rec(busy_writer); /* the first code: its callback writes the long one */
	rec_text(&rec, longcode, 2000);
	rec_key(&rec, KEY_ENTER, 2000);
	/* rec now holds the long code: busy_on_code writes it from the loop's thread. */
	wait_for(h, 2, 0, SOURCE_RUNNING);
	assert_string_equal(h->text[0], "BC1:FIRST");
	assert_string_equal(h->text[1], longcode);
	close(busy_writer);
	busy_writer = -1;

	h->src->ops->stop(h->src);
	harness_free(h);
	unlink(path);
	tu_rmtree(dir);
	free(dir);
}

/* Every dropped code is logged as a warning, even one dropped just like the one before. */
static void test_driver_every_drop_logged(void **state)
{
	(void)state;
	char path[200], logpath[200];
	char *dir = events_path(path, sizeof(path));
	assert_true((size_t)snprintf(logpath, sizeof(logpath), "%s/log", dir) < sizeof(logpath));
	assert_int_equal(mkfifo(path, 0600), 0);
	struct source_hid_config c = hid_cfg(path);
	struct harness *h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	wait_for(h, 0, 0, SOURCE_RUNNING);
	int w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);

	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && logfd >= 0);
	assert_true(dup2(logfd, STDERR_FILENO) >= 0);
	log_init("test_hid", LOG_STYLE_JOURNAL, LOG_INFO);
	/* The same half code twice, each left to time out: the status detail is the same. */
	for (uint64_t i = 1; i <= 2; i++) {
		rec.n = 0;
		rec.t_us = (int64_t)i * 10000000; /* far past the resync quiet */
		rec_text(&rec, "BC1:HALF", 3000);
		write_rec(w);
		wait_for(h, 0, i, SOURCE_RUNNING);
	}
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(logfd);
	log_init("test_hid", LOG_STYLE_PLAIN, LOG_WARNING);

	FILE *f = fopen(logpath, "r");
	assert_non_null(f);
	static const char want[] = "<4>source wedge: running: code dropped after 8 characters";
	char line[256];
	int warnings = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, want, strlen(want)) == 0)
			warnings++;
	fclose(f);
	assert_int_equal(warnings, 2);

	close(w);
	harness_free(h);
	unlink(path);
	unlink(logpath);
	tu_rmtree(dir);
	free(dir);
}

static void test_driver_absent_and_wrong_kind(void **state)
{
	(void)state;
	/* No such vendor:product here (and no /dev/input at all in a container). */
	struct source_hid_config c = hid_cfg("05e0:1200");
	struct harness *h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_ABSENT);
	assert_string_equal(h->src->status.detail, "no input device 05e0:1200");
	harness_free(h);

	/* A file that is neither an input device nor a recording: failed, retried. */
	c = hid_cfg("/dev/null");
	h = harness_new(&c);
	assert_int_equal(h->src->ops->start(h->src, h->loop), QD_OK);
	assert_int_equal(h->src->status.state, SOURCE_FAILED);
	assert_string_equal(h->src->status.detail, "/dev/null: not an input device");
	harness_free(h);
}

int main(void)
{
	alarm(WATCHDOG_S);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keymap),
	        cmocka_unit_test(test_code_with_shift_and_caps),
	        cmocka_unit_test(test_slow_scanner_and_timeout),
	        cmocka_unit_test(test_interleaved_keys),
	        cmocka_unit_test(test_queue_overrun),
	        cmocka_unit_test(test_overlong_and_args),
	        cmocka_unit_test(test_driver_args),
	        cmocka_unit_test(test_driver_recorded_stream),
	        cmocka_unit_test(test_driver_reader_priority),
	        cmocka_unit_test(test_driver_busy_loop),
	        cmocka_unit_test(test_driver_every_drop_logged),
	        cmocka_unit_test(test_driver_absent_and_wrong_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
