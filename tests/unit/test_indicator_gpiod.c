/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_indicator_gpiod.c - the libgpiod backend against the fake libgpiod
 * (tests/fakes/fake_gpiod.c): what is requested, the physical levels on the
 * pins, failures, and whole patterns played through the player on a loop.
 */
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <string.h>

#include "../fakes/fake_gpiod.h"
#include "qrdesk/indicator.h"
#include "qrdesk/loop.h"
#include "testutil.h"

/* green, red, amber, buzzer */
static const unsigned OFFSETS[INDICATOR_LINES] = {17, 18, 27, 22};

static struct indicator_gpiod_config config(bool active_low)
{
	struct indicator_gpiod_config c;
	memset(&c, 0, sizeof(c));
	snprintf(c.chip, sizeof(c.chip), "gpiochip0");
	memcpy(c.offsets, OFFSETS, sizeof(c.offsets));
	c.active_low = active_low;
	return c;
}

static int setup(void **state)
{
	(void)state;
	fake_gpiod_reset();
	return 0;
}

/* The level on the pin of an indicator line. */
static int pin(enum indicator_line l)
{
	return fake_gpiod_line(OFFSETS[l])->physical;
}

static void assert_pins_off(bool active_low)
{
	for (size_t l = 0; l < INDICATOR_LINES; l++)
		assert_int_equal(pin((enum indicator_line)l), active_low ? 1 : 0);
}

static void assert_nothing_requested(void)
{
	for (unsigned i = 0; i < FAKE_GPIOD_LINES; i++)
		assert_false(fake_gpiod_line(i)->requested);
	assert_int_equal(fake_gpiod_open_handles(), 0);
}

/* --- opening -------------------------------------------------------------------------- */

static void test_open_requests_outputs(void **state)
{
	(void)state;
	for (int active_low = 0; active_low <= 1; active_low++) {
		fake_gpiod_reset();
		struct indicator_gpiod_config cfg = config(active_low);
		struct indicator_backend b;
		struct qd_errmsg why = {{0}};
		assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_OK);
		assert_string_equal(b.ops->name, "gpiod");
		assert_true(b.healthy);

		/* One bulk request: the four offsets in order, outputs, our consumer,
		 * logical defaults off, ACTIVE_LOW exactly when configured. */
		const struct fake_gpiod_request *req;
		assert_int_equal(fake_gpiod_requests(&req), 1);
		assert_true(req[0].granted);
		assert_int_equal(req[0].n, INDICATOR_LINES);
		for (size_t l = 0; l < INDICATOR_LINES; l++) {
			assert_int_equal(req[0].offsets[l], OFFSETS[l]);
			assert_int_equal(req[0].defaults[l], 0);
		}
		assert_int_equal(req[0].request_type, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT);
		assert_int_equal(req[0].flags, active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0);
		assert_string_equal(req[0].consumer, INDICATOR_CONSUMER);

		/* Every pin starts physically off: 0 V, or high for common-anode wiring. */
		for (size_t l = 0; l < INDICATOR_LINES; l++) {
			const struct fake_gpiod_line_state *s = fake_gpiod_line(OFFSETS[l]);
			assert_true(s->requested);
			assert_true(s->output);
			assert_int_equal(s->active_low, active_low);
			assert_string_equal(s->consumer, "qrdeskd");
		}
		assert_pins_off(active_low);
		/* No other line touched. */
		assert_int_equal(fake_gpiod_line(0)->physical, -1);
		assert_false(fake_gpiod_line(0)->requested);
		assert_int_equal(fake_gpiod_stats()->opens, 1);
		indicator_close(&b);
		assert_nothing_requested();
	}
}

/* The chip by path, number or label, as gpiod_chip_open_lookup accepts. */
static void test_open_lookup_forms(void **state)
{
	(void)state;
	static const char *forms[] = {"gpiochip0", "/dev/gpiochip0", "0", "fake"};
	for (size_t i = 0; i < 4; i++) {
		fake_gpiod_reset();
		struct indicator_gpiod_config cfg = config(false);
		snprintf(cfg.chip, sizeof(cfg.chip), "%s", forms[i]);
		struct indicator_backend b;
		assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
		indicator_close(&b);
		assert_nothing_requested();
	}
}

/* --- values --------------------------------------------------------------------------- */

static void test_set_physical_values(void **state)
{
	(void)state;
	for (int active_low = 0; active_low <= 1; active_low++) {
		fake_gpiod_reset();
		struct indicator_gpiod_config cfg = config(active_low);
		struct indicator_backend b;
		assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
		for (unsigned v = 0; v < 16; v++) {
			bool on[INDICATOR_LINES];
			for (size_t l = 0; l < INDICATOR_LINES; l++)
				on[l] = (v >> l) & 1;
			assert_int_equal(indicator_set(&b, on), QD_OK);
			/* Lit is high on the pin, or low when active-low: the kernel inverts. */
			for (size_t l = 0; l < INDICATOR_LINES; l++)
				assert_int_equal(pin((enum indicator_line)l), on[l] ^ active_low);
		}
		indicator_all_off(&b);
		assert_pins_off(active_low);
		assert_true(b.healthy);
		indicator_close(&b);
	}
}

static void test_failed_set(void **state)
{
	(void)state;
	struct indicator_gpiod_config cfg = config(true);
	struct indicator_backend b;
	assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
	const bool green[INDICATOR_LINES] = {true, false, false, false};
	const bool red[INDICATOR_LINES] = {false, true, false, true};
	assert_int_equal(indicator_set(&b, green), QD_OK);
	assert_int_equal(pin(INDICATOR_GREEN), 0); /* lit, active low */

	/* The write fails: the backend is unhealthy, says why, and goes all off. */
	unsigned calls = fake_gpiod_stats()->set_calls;
	fake_gpiod_fail_next("gpiod_line_set_value_bulk");
	assert_int_equal(indicator_set(&b, red), QD_ERR_IO);
	assert_false(b.healthy);
	assert_non_null(strstr(b.detail, "gpiod"));
	assert_non_null(strstr(b.detail, strerror(EIO)));
	assert_int_equal(fake_gpiod_stats()->set_calls, calls + 2);
	assert_pins_off(true);

	/* A failed all-off is recorded too, and retried. */
	assert_int_equal(indicator_set(&b, green), QD_OK);
	assert_true(b.healthy);
	fake_gpiod_fail_next_errno("gpiod_line_set_value_bulk", ENODEV);
	indicator_all_off(&b);
	assert_false(b.healthy);
	assert_non_null(strstr(b.detail, strerror(ENODEV)));
	assert_pins_off(true);
	indicator_close(&b);
	assert_nothing_requested();
}

/* --- refusals ------------------------------------------------------------------------- */

static void test_line_in_use(void **state)
{
	(void)state;
	fake_gpiod_set_used(27, "foo");
	struct indicator_gpiod_config cfg = config(false);
	struct indicator_backend b;
	struct qd_errmsg why = {{0}};
	assert_int_not_equal(indicator_gpiod_open(&cfg, &b, &why), QD_OK);
	assert_non_null(strstr(why.text, "gpiochip0: line 27 (amber) is in use by 'foo'"));
	assert_int_equal(fake_gpiod_stats()->request_calls, 0);
	assert_nothing_requested();
	assert_int_equal(fake_gpiod_line(27)->physical, -1);

	/* The request itself refused (taken between the check and the request). */
	fake_gpiod_reset();
	fake_gpiod_fail_next_errno("gpiod_line_request_bulk", EBUSY);
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "gpiochip0"));
	assert_non_null(strstr(why.text, strerror(EBUSY)));
	assert_nothing_requested();
	for (size_t l = 0; l < INDICATOR_LINES; l++)
		assert_int_equal(pin((enum indicator_line)l), -1); /* never driven */
}

static void test_bad_config(void **state)
{
	(void)state;
	struct indicator_backend b;
	struct qd_errmsg why = {{0}};

	/* Two lines on one offset: refused before the chip is even opened. */
	struct indicator_gpiod_config cfg = config(false);
	cfg.offsets[INDICATOR_BUZZER] = cfg.offsets[INDICATOR_RED];
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_ARG);
	assert_non_null(strstr(why.text, "gpiochip0"));
	assert_non_null(strstr(why.text, "line 18"));
	assert_int_equal(fake_gpiod_stats()->opens, 0);
	assert_int_equal(fake_gpiod_stats()->request_calls, 0);

	/* An offset the chip does not have. */
	cfg = config(false);
	cfg.offsets[INDICATOR_AMBER] = 32;
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_ARG);
	assert_non_null(strstr(why.text, "gpiochip0: line 32"));
	assert_non_null(strstr(why.text, "32 lines"));
	assert_int_equal(fake_gpiod_stats()->request_calls, 0);
	assert_nothing_requested();

	/* A chip that does not exist. */
	cfg = config(false);
	snprintf(cfg.chip, sizeof(cfg.chip), "gpiochip7");
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_NOT_FOUND);
	assert_non_null(strstr(why.text, "gpiochip7"));
	assert_int_equal(fake_gpiod_stats()->request_calls, 0);
	assert_nothing_requested();

	/* No chip named; no config. */
	cfg = config(false);
	cfg.chip[0] = '\0';
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_ARG);
	assert_int_equal(indicator_gpiod_open(NULL, &b, &why), QD_ERR_ARG);

	/* Getting the lines fails: the chip is closed again. */
	fake_gpiod_reset();
	cfg = config(false);
	fake_gpiod_fail_next("gpiod_chip_get_lines");
	assert_int_equal(indicator_gpiod_open(&cfg, &b, &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, "gpiochip0"));
	assert_int_equal(fake_gpiod_stats()->request_calls, 0);
	assert_nothing_requested();
	assert_int_equal(fake_gpiod_stats()->opens, 1);
	assert_int_equal(fake_gpiod_stats()->closes, 1);
}

/* --- closing -------------------------------------------------------------------------- */

static void test_destroy_off_released_closed(void **state)
{
	(void)state;
	for (int active_low = 0; active_low <= 1; active_low++) {
		fake_gpiod_reset();
		struct indicator_gpiod_config cfg = config(active_low);
		struct indicator_backend b;
		assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
		const bool all[INDICATOR_LINES] = {true, true, true, true};
		assert_int_equal(indicator_set(&b, all), QD_OK);
		indicator_close(&b);
		assert_null(b.ops);

		/* Per line: the last write before the release drives it off; then the chip closes.
		 */
		const struct fake_gpiod_event *ev;
		size_t n = fake_gpiod_events(&ev);
		assert_true(n > 0);
		assert_int_equal(ev[n - 1].kind, FAKE_GPIOD_CLOSE);
		for (size_t l = 0; l < INDICATOR_LINES; l++) {
			int last_level = -1;
			bool released = false;
			for (size_t i = 0; i < n; i++) {
				if (ev[i].offset != OFFSETS[l] || ev[i].kind == FAKE_GPIOD_CLOSE ||
				    ev[i].kind == FAKE_GPIOD_OPEN)
					continue;
				if (ev[i].kind == FAKE_GPIOD_WRITE) {
					assert_false(released);
					last_level = ev[i].physical;
				} else if (ev[i].kind == FAKE_GPIOD_RELEASE) {
					assert_false(released);
					released = true;
					assert_int_equal(last_level, active_low ? 1 : 0);
				}
			}
			assert_true(released);
		}
		assert_int_equal(fake_gpiod_stats()->release_calls, 1);
		assert_int_equal(fake_gpiod_open_handles(), 0);
		assert_nothing_requested();
		assert_pins_off(active_low);
	}
}

/* --- the player through the real backend code, on a real loop ------------------------- */

struct run {
	struct indicator_player *player;
	struct loop_timer *poll, *deadline;
	bool timed_out;
	bool (*on_tick)(struct run *r); /* until it returns true */
	bool active_low;
};

static void poll_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	struct run *r = arg;
	if (r->on_tick != NULL) {
		if (r->on_tick(r))
			r->on_tick = NULL;
		return;
	}
	if (!indicator_player_busy(r->player))
		loop_stop(loop);
}

static void deadline_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	((struct run *)arg)->timed_out = true;
	loop_stop(loop);
}

static void run_loop(struct loop *loop, struct run *r)
{
	assert_int_equal(loop_timer_create(loop, poll_cb, r, &r->poll), QD_OK);
	assert_int_equal(loop_timer_create(loop, deadline_cb, r, &r->deadline), QD_OK);
	loop_timer_arm(r->poll, 1, 1);
	loop_timer_arm(r->deadline, 30000, 0);
	assert_int_equal(loop_run(loop), QD_OK);
	assert_false(r->timed_out);
	loop_timer_destroy(r->poll);
	loop_timer_destroy(r->deadline);
}

/* How many times a line was driven to "lit" (physical level lit) in the log. */
static unsigned times_lit(enum indicator_line l, bool active_low)
{
	const struct fake_gpiod_event *ev;
	size_t n = fake_gpiod_events(&ev);
	unsigned count = 0;
	int prev = -1;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind != FAKE_GPIOD_WRITE || ev[i].offset != OFFSETS[l])
			continue;
		int lit = ev[i].physical ^ active_low;
		if (lit && prev != 1)
			count++;
		prev = lit;
	}
	return count;
}

static void test_player_pattern_ends_off(void **state)
{
	(void)state;
	for (int active_low = 0; active_low <= 1; active_low++) {
		fake_gpiod_reset();
		struct loop *loop;
		assert_int_equal(loop_create(&loop), QD_OK);
		struct indicator_gpiod_config cfg = config(active_low);
		struct indicator_backend b;
		assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
		const struct pattern_timing t = {60, 90, 80, 10, 10};
		struct run r = {.active_low = active_low};
		assert_int_equal(indicator_player_create(loop, &b, &t, &r.player), QD_OK);

		indicator_player_play(r.player, PATTERN_INVALID);
		/* Synchronously lit: red and the buzzer are on the pins before the loop runs. */
		assert_int_equal(pin(INDICATOR_RED), !active_low);
		assert_int_equal(pin(INDICATOR_BUZZER), !active_low);
		run_loop(loop, &r);
		assert_pins_off(active_low);
		assert_int_equal(times_lit(INDICATOR_RED, active_low), 1);
		assert_int_equal(times_lit(INDICATOR_BUZZER, active_low), 3);
		assert_int_equal(times_lit(INDICATOR_GREEN, active_low), 0);
		assert_true(b.healthy);

		indicator_player_destroy(r.player);
		indicator_close(&b);
		assert_nothing_requested();
		assert_pins_off(active_low);
		loop_destroy(loop);
	}
}

/* On the first tick (mid-pattern): a new verdict; red must be off when play() returns. */
static bool new_verdict(struct run *r)
{
	assert_int_equal(pin(INDICATOR_RED), !r->active_low); /* still red */
	indicator_player_play(r->player, PATTERN_VALID);
	assert_int_equal(pin(INDICATOR_RED), r->active_low);    /* off at once */
	assert_int_equal(pin(INDICATOR_GREEN), !r->active_low); /* green at once */
	assert_int_equal(pin(INDICATOR_BUZZER), !r->active_low);
	return true;
}

static void test_player_cancel(void **state)
{
	(void)state;
	for (int active_low = 0; active_low <= 1; active_low++) {
		fake_gpiod_reset();
		struct loop *loop;
		assert_int_equal(loop_create(&loop), QD_OK);
		struct indicator_gpiod_config cfg = config(active_low);
		struct indicator_backend b;
		assert_int_equal(indicator_gpiod_open(&cfg, &b, NULL), QD_OK);
		/* A red long enough that the tick surely comes before its end. */
		const struct pattern_timing t = {60, 20000, 80, 10, 10};
		struct run r = {.active_low = active_low, .on_tick = new_verdict};
		assert_int_equal(indicator_player_create(loop, &b, &t, &r.player), QD_OK);
		indicator_player_play(r.player, PATTERN_INVALID);
		run_loop(loop, &r);
		assert_pins_off(active_low);
		assert_int_equal(times_lit(INDICATOR_RED, active_low), 1);
		assert_int_equal(times_lit(INDICATOR_GREEN, active_low), 1);
		/* Red never came back after green went on. */
		const struct fake_gpiod_event *ev;
		size_t n = fake_gpiod_events(&ev);
		bool green_seen = false;
		for (size_t i = 0; i < n; i++) {
			if (ev[i].kind != FAKE_GPIOD_WRITE)
				continue;
			int lit = ev[i].physical ^ active_low;
			if (ev[i].offset == OFFSETS[INDICATOR_GREEN] && lit)
				green_seen = true;
			if (ev[i].offset == OFFSETS[INDICATOR_RED] && green_seen)
				assert_false(lit);
		}
		assert_true(green_seen);

		/* stop() mid-pattern: all off at once. */
		indicator_player_play(r.player, PATTERN_REVIEW);
		assert_int_equal(pin(INDICATOR_AMBER), !active_low);
		indicator_player_stop(r.player);
		assert_pins_off(active_low);

		indicator_player_destroy(r.player);
		indicator_close(&b);
		assert_nothing_requested();
		loop_destroy(loop);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_open_requests_outputs, setup),
	        cmocka_unit_test_setup(test_open_lookup_forms, setup),
	        cmocka_unit_test_setup(test_set_physical_values, setup),
	        cmocka_unit_test_setup(test_failed_set, setup),
	        cmocka_unit_test_setup(test_line_in_use, setup),
	        cmocka_unit_test_setup(test_bad_config, setup),
	        cmocka_unit_test_setup(test_destroy_off_released_closed, setup),
	        cmocka_unit_test_setup(test_player_pattern_ends_off, setup),
	        cmocka_unit_test_setup(test_player_cancel, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
