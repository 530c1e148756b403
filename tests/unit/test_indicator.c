/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_indicator.c - the verdict patterns (pure tables), the backend
 * wrappers, the simulated backend and the player on a real loop.
 *
 * Timing: assertions are on the order of transitions and the final state;
 * durations only get lower bounds (a timer never fires early) and very
 * loose upper bounds.  Cancellations are triggered from the observed state,
 * not from a clock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/indicator.h"
#include "qrdesk/loop.h"
#include "testutil.h"

/* "GB:150 G:1850": the lit lines of each step (G R A B, "-" for none) and its duration. */
static void steps_string(const struct pattern_step *steps, size_t n, char *out, size_t cap)
{
	static const char letters[INDICATOR_LINES] = {'G', 'R', 'A', 'B'};
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char lit[INDICATOR_LINES + 1];
		size_t k = 0;
		for (size_t l = 0; l < INDICATOR_LINES; l++)
			if (steps[i].on[l])
				lit[k++] = letters[l];
		if (k == 0)
			lit[k++] = '-';
		lit[k] = '\0';
		int w = snprintf(out + len, cap - len, "%s%s:%u", i ? " " : "", lit,
		                 (unsigned)steps[i].duration_ms);
		assert_true(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
	}
}

static void lines_string(const bool on[INDICATOR_LINES], char *out)
{
	static const char letters[INDICATOR_LINES] = {'G', 'R', 'A', 'B'};
	size_t k = 0;
	for (size_t l = 0; l < INDICATOR_LINES; l++)
		if (on[l])
			out[k++] = letters[l];
	if (k == 0)
		out[k++] = '-';
	out[k] = '\0';
}

/* The sim's transitions as "GB G -". */
static void sim_trace(const struct indicator_backend *b, char *out, size_t cap)
{
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(b, &ev);
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char lit[INDICATOR_LINES + 1];
		lines_string(ev[i].on, lit);
		int w = snprintf(out + len, cap - len, "%s%s", i ? " " : "", lit);
		assert_true(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
	}
}

static uint64_t steps_sum(const struct pattern_step *steps, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(steps[i].duration_ms > 0);
		sum += steps[i].duration_ms;
	}
	return sum;
}

/* --- names and defaults --------------------------------------------------------------- */

static void test_names_and_defaults(void **state)
{
	(void)state;
	assert_string_equal(indicator_line_name(INDICATOR_GREEN), "green");
	assert_string_equal(indicator_line_name(INDICATOR_RED), "red");
	assert_string_equal(indicator_line_name(INDICATOR_AMBER), "amber");
	assert_string_equal(indicator_line_name(INDICATOR_BUZZER), "buzzer");
	assert_non_null(indicator_line_name(INDICATOR_LINES));
	struct pattern_timing t;
	pattern_timing_defaults(&t);
	assert_int_equal(t.valid_ms, 2000);
	assert_int_equal(t.invalid_ms, 3000);
	assert_int_equal(t.review_ms, 3000);
	assert_int_equal(t.beep_ms, 150);
	assert_int_equal(t.gap_ms, 150);
}

/* --- pattern_build -------------------------------------------------------------------- */

struct pattern_case {
	const char *name;
	enum indicator_pattern pattern;
	struct pattern_timing t;
	const char *steps;
	uint32_t total_ms;
};

#define DEFAULTS                                                                                   \
	{                                                                                          \
		2000, 3000, 3000, 150, 150                                                         \
	}

static const struct pattern_case pattern_cases[] = {
        /* The defaults. */
        {"valid", PATTERN_VALID, DEFAULTS, "GB:150 G:1850", 2000},
        {"invalid", PATTERN_INVALID, DEFAULTS, "RB:150 R:150 RB:150 R:150 RB:150 R:2250", 3000},
        {"review", PATTERN_REVIEW, DEFAULTS, "AB:150 A:150 AB:150 A:2550", 3000},
        {"update ok", PATTERN_UPDATE_OK, DEFAULTS, "G:200 -:200 G:200 -:200", 800},
        {"update fail", PATTERN_UPDATE_FAIL, DEFAULTS,
         "RB:200 B:200 RB:200 -:200 R:200 -:200 R:200 -:200 R:200 -:200", 2000},
        {"accepted", PATTERN_ACCEPTED, DEFAULTS, "GAB:150 GA:250", 400},
        /* Other timings. */
        {"valid short", PATTERN_VALID, {60, 90, 80, 10, 10}, "GB:10 G:50", 60},
        {"invalid short",
         PATTERN_INVALID,
         {60, 90, 80, 10, 10},
         "RB:10 R:10 RB:10 R:10 RB:10 R:40",
         90},
        {"review short", PATTERN_REVIEW, {60, 90, 80, 10, 10}, "AB:10 A:10 AB:10 A:50", 80},
        {"unequal beep and gap",
         PATTERN_INVALID,
         {2000, 1000, 3000, 100, 50},
         "RB:100 R:50 RB:100 R:50 RB:100 R:600",
         1000},
        /* The update patterns do not depend on the verdict timings. */
        {"update ok short",
         PATTERN_UPDATE_OK,
         {60, 90, 80, 10, 10},
         "G:200 -:200 G:200 -:200",
         800},
        /* Clipping: beeps longer than the pattern are cut at its end. */
        {"valid beep clipped", PATTERN_VALID, {100, 3000, 3000, 150, 150}, "GB:100", 100},
        {"valid beep exact", PATTERN_VALID, {150, 3000, 3000, 150, 150}, "GB:150", 150},
        {"invalid third beep cut",
         PATTERN_INVALID,
         {2000, 700, 3000, 150, 150},
         "RB:150 R:150 RB:150 R:150 RB:100",
         700},
        {"invalid third beep gone",
         PATTERN_INVALID,
         {2000, 600, 3000, 150, 150},
         "RB:150 R:150 RB:150 R:150",
         600},
        {"invalid in a gap", PATTERN_INVALID, {2000, 200, 3000, 150, 150}, "RB:150 R:50", 200},
        {"review clipped", PATTERN_REVIEW, {2000, 3000, 350, 150, 150}, "AB:150 A:150 AB:50", 350},
        /* Degenerate timings stay well-formed. */
        {"no beep", PATTERN_INVALID, {2000, 3000, 3000, 0, 150}, "R:3000", 3000},
        {"no gap", PATTERN_REVIEW, {2000, 3000, 3000, 150, 0}, "AB:300 A:2700", 3000},
        {"zero duration", PATTERN_VALID, {0, 3000, 3000, 150, 150}, "", 0},
        {"huge",
         PATTERN_INVALID,
         {1, UINT32_MAX, 1, UINT32_MAX / 2, UINT32_MAX / 2},
         "RB:2147483647 R:2147483647 RB:1",
         UINT32_MAX},
};

static void test_pattern_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pattern_cases) / sizeof(pattern_cases[0]); i++) {
		const struct pattern_case *c = &pattern_cases[i];
		struct pattern_step steps[PATTERN_STEPS_MAX];
		memset(steps, 0xA5, sizeof(steps));
		size_t n = pattern_build(c->pattern, &c->t, steps);
		assert_true(n <= PATTERN_STEPS_MAX);
		char got[512];
		steps_string(steps, n, got, sizeof(got));
		if (strcmp(got, c->steps) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->name, got, c->steps);
		if (steps_sum(steps, n) != c->total_ms)
			fail_msg("%s: the steps last %llu ms, want %u", c->name,
			         (unsigned long long)steps_sum(steps, n), c->total_ms);
		/* Neighbouring steps always differ (equal ones are merged). */
		for (size_t k = 1; k < n; k++)
			assert_memory_not_equal(steps[k - 1].on, steps[k].on, sizeof(steps[k].on));
	}
}

/* Verdict patterns: the LED lasts exactly the configured time, whatever the beeps. */
static void test_pattern_sums(void **state)
{
	(void)state;
	static const uint32_t durations[] = {1,   7,   10,  149, 150,  151,
	                                     300, 449, 450, 751, 2000, 3000};
	static const uint32_t beeps[] = {0, 1, 10, 150, 400};
	for (size_t d = 0; d < sizeof(durations) / sizeof(durations[0]); d++) {
		for (size_t b = 0; b < sizeof(beeps) / sizeof(beeps[0]); b++) {
			for (size_t g = 0; g < sizeof(beeps) / sizeof(beeps[0]); g++) {
				struct pattern_timing t = {durations[d], durations[d], durations[d],
				                           beeps[b], beeps[g]};
				static const struct {
					enum indicator_pattern p;
					enum indicator_line led;
				} verdicts[] = {{PATTERN_VALID, INDICATOR_GREEN},
				                {PATTERN_INVALID, INDICATOR_RED},
				                {PATTERN_REVIEW, INDICATOR_AMBER}};
				for (size_t v = 0; v < 3; v++) {
					struct pattern_step steps[PATTERN_STEPS_MAX];
					size_t n = pattern_build(verdicts[v].p, &t, steps);
					assert_true(n >= 1);
					assert_int_equal(steps_sum(steps, n), durations[d]);
					for (size_t k = 0; k < n; k++) {
						/* The LED is lit throughout; no other LED ever. */
						for (size_t l = 0; l < INDICATOR_BUZZER; l++)
							assert_int_equal(steps[k].on[l],
							                 l == verdicts[v].led);
					}
					/* The buzzer sounds at the start when there is a beep. */
					assert_int_equal(steps[0].on[INDICATOR_BUZZER],
					                 beeps[b] > 0);
				}
			}
		}
	}
	/* NULL timing means the defaults; an unknown pattern has no steps. */
	struct pattern_step steps[PATTERN_STEPS_MAX];
	assert_int_equal(steps_sum(steps, pattern_build(PATTERN_VALID, NULL, steps)), 2000);
	assert_int_equal(pattern_build((enum indicator_pattern)99, NULL, steps), 0);
}

/* --- backend wrappers, over a backend that fails on request ---------------------------- */

struct flaky {
	int fail_sets; /* fail this many set() calls */
	int sets, all_offs, destroys;
	bool on[INDICATOR_LINES];
};

static enum qd_err flaky_set(void *ctx, const bool on[INDICATOR_LINES])
{
	struct flaky *f = ctx;
	f->sets++;
	if (f->fail_sets > 0) {
		f->fail_sets--;
		errno = EIO;
		return QD_ERR_IO;
	}
	memcpy(f->on, on, sizeof(f->on));
	return QD_OK;
}

static void flaky_all_off(void *ctx)
{
	struct flaky *f = ctx;
	f->all_offs++;
	memset(f->on, 0, sizeof(f->on));
}

static void flaky_destroy(void *ctx)
{
	struct flaky *f = ctx;
	f->destroys++;
	memset(f->on, 0, sizeof(f->on));
}

static const struct indicator_backend_ops flaky_ops = {"flaky", flaky_set, flaky_all_off,
                                                       flaky_destroy};

static void test_wrappers(void **state)
{
	(void)state;
	struct flaky f = {0};
	struct indicator_backend b = {.ops = &flaky_ops, .ctx = &f, .healthy = true};
	const bool green[INDICATOR_LINES] = {true, false, false, false};

	assert_int_equal(indicator_set(&b, green), QD_OK);
	assert_true(f.on[INDICATOR_GREEN]);
	assert_true(b.healthy);

	/* A failed set: unhealthy, the reason recorded, and everything off. */
	f.fail_sets = 1;
	const bool red[INDICATOR_LINES] = {false, true, false, false};
	assert_int_equal(indicator_set(&b, red), QD_ERR_IO);
	assert_false(b.healthy);
	assert_non_null(strstr(b.detail, "flaky"));
	assert_non_null(strstr(b.detail, strerror(EIO)));
	assert_int_equal(f.all_offs, 1);
	assert_false(f.on[INDICATOR_GREEN] || f.on[INDICATOR_RED]);

	/* A later good set makes it healthy again; the detail keeps the last error. */
	assert_int_equal(indicator_set(&b, green), QD_OK);
	assert_true(b.healthy);
	assert_non_null(strstr(b.detail, "flaky"));

	/* all_off goes through set (which reports) and falls back on the backend's all_off. */
	b.detail[0] = '\0';
	indicator_all_off(&b);
	assert_true(b.healthy);
	assert_false(f.on[INDICATOR_GREEN]);
	assert_int_equal(f.all_offs, 1);
	assert_int_equal(indicator_set(&b, green), QD_OK);
	f.fail_sets = 1;
	indicator_all_off(&b);
	assert_false(b.healthy);
	assert_non_null(strstr(b.detail, "all off"));
	assert_int_equal(f.all_offs, 2);
	assert_false(f.on[INDICATOR_GREEN]);

	indicator_close(&b);
	assert_int_equal(f.destroys, 1);
	assert_null(b.ops);
	indicator_close(&b); /* twice: nothing */
	assert_int_equal(f.destroys, 1);
	assert_int_equal(indicator_set(&b, green), QD_ERR_ARG);
	indicator_all_off(&b);
}

/* --- the sim backend ------------------------------------------------------------------ */

static void test_sim_transitions(void **state)
{
	(void)state;
	struct indicator_backend b;
	struct qd_errmsg why = {{0}};
	assert_int_equal(indicator_sim_open(NULL, &b, &why), QD_OK);
	assert_true(b.healthy);
	assert_string_equal(b.ops->name, "sim");
	const struct indicator_sim_event *ev;
	assert_int_equal(indicator_sim_events(&b, &ev), 0);

	const bool g[INDICATOR_LINES] = {true, false, false, false};
	const bool gb[INDICATOR_LINES] = {true, false, false, true};
	indicator_all_off(&b); /* already off: no transition */
	assert_int_equal(indicator_set(&b, gb), QD_OK);
	assert_int_equal(indicator_set(&b, gb), QD_OK); /* no change */
	assert_int_equal(indicator_set(&b, g), QD_OK);
	indicator_all_off(&b);
	indicator_all_off(&b);
	char trace[256];
	sim_trace(&b, trace, sizeof(trace));
	assert_string_equal(trace, "GB G -");
	size_t n = indicator_sim_events(&b, &ev);
	assert_int_equal(n, 3);
	for (size_t i = 1; i < n; i++)
		assert_true(ev[i].t_us >= ev[i - 1].t_us);
	assert_true(ev[0].t_us > 0 && ev[0].t_us <= loop_now_us());

	/* Not a sim: no events. */
	struct indicator_backend other = {.ops = &flaky_ops};
	assert_int_equal(indicator_sim_events(&other, &ev), 0);
	assert_null(ev);
	assert_int_equal(indicator_sim_events(NULL, &ev), 0);
	indicator_close(&b);
}

/* The memory keeps at least the last 1024 transitions, in order. */
static void test_sim_keeps_the_last(void **state)
{
	(void)state;
	struct indicator_backend b;
	assert_int_equal(indicator_sim_open(NULL, &b, NULL), QD_OK);
	const size_t total = 5000;
	for (size_t i = 0; i < total; i++) {
		/* Count in binary on three lines: every step is a change. */
		size_t v = i % 7 + 1;
		const bool on[INDICATOR_LINES] = {v & 1, v & 2, v & 4, false};
		assert_int_equal(indicator_set(&b, on), QD_OK);
	}
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&b, &ev);
	assert_true(n >= 1024 && n <= 2048);
	for (size_t k = 0; k < n; k++) {
		size_t i = total - n + k; /* the transition this must be */
		size_t v = i % 7 + 1;
		assert_int_equal(ev[k].on[INDICATOR_GREEN], (v & 1) != 0);
		assert_int_equal(ev[k].on[INDICATOR_RED], (v & 2) != 0);
		assert_int_equal(ev[k].on[INDICATOR_AMBER], (v & 4) != 0);
		if (k > 0)
			assert_true(ev[k].t_us >= ev[k - 1].t_us);
	}
	indicator_close(&b);
}

static void test_sim_record_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[512];
	snprintf(path, sizeof(path), "%s/indicators.log", dir);
	struct indicator_backend b;
	struct qd_errmsg why = {{0}};
	assert_int_equal(indicator_sim_open(path, &b, &why), QD_OK);

	const bool rb[INDICATOR_LINES] = {false, true, false, true};
	const bool a[INDICATOR_LINES] = {false, false, true, false};
	assert_int_equal(indicator_set(&b, rb), QD_OK);
	/* Written at once: readable before anything else happens. */
	size_t len;
	char *text = (char *)tu_read_file(path, &len);
	assert_int_equal(strchr(text, '\n') - text + 1, (long)len);
	free(text);
	assert_int_equal(indicator_set(&b, rb), QD_OK);
	assert_int_equal(indicator_set(&b, a), QD_OK);
	indicator_close(&b); /* destroy: all off is a transition too */

	const struct {
		int g, r, a, b;
	} want[] = {{0, 1, 0, 1}, {0, 0, 1, 0}, {0, 0, 0, 0}};
	text = (char *)tu_read_file(path, &len);
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	long long last = 0;
	size_t lines = 0;
	for (; line != NULL; line = strtok_r(NULL, "\n", &save), lines++) {
		long long t;
		int vg, vr, va, vb, end = 0;
		assert_int_equal(sscanf(line, "%lld %d %d %d %d%n", &t, &vg, &vr, &va, &vb, &end),
		                 5);
		assert_int_equal((size_t)end, strlen(line));
		assert_true(lines < 3);
		assert_int_equal(vg, want[lines].g);
		assert_int_equal(vr, want[lines].r);
		assert_int_equal(va, want[lines].a);
		assert_int_equal(vb, want[lines].b);
		assert_true(t > 0 && t >= last && t <= loop_now_us());
		last = t;
	}
	assert_int_equal(lines, 3);
	free(text);

	/* A second backend appends to the same file. */
	assert_int_equal(indicator_sim_open(path, &b, &why), QD_OK);
	assert_int_equal(indicator_set(&b, a), QD_OK);
	indicator_close(&b);
	text = (char *)tu_read_file(path, &len);
	size_t newlines = 0;
	for (size_t i = 0; i < len; i++)
		newlines += text[i] == '\n';
	assert_int_equal(newlines, 5);
	assert_int_equal(text[len - 1], '\n');
	free(text);

	/* An unwritable record path: open fails and says where. */
	snprintf(path, sizeof(path), "%s/missing/indicators.log", dir);
	assert_int_equal(indicator_sim_open(path, &b, &why), QD_ERR_IO);
	assert_non_null(strstr(why.text, path));
	tu_rmtree(dir);
	free(dir);
}

/* --- the player ----------------------------------------------------------------------- */

struct rig {
	struct loop *loop;
	struct indicator_backend sim;
	struct indicator_player *player;
	struct pattern_timing t;
	struct loop_timer *poll, *deadline;
	bool timed_out;
	/* Called on every poll tick (every 1 ms) until it returns true; then the rig
	 * waits for the player to go idle. */
	bool (*on_tick)(struct rig *r);
	int step;
	uint32_t min_show_ms;
};

static void rig_poll(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	struct rig *r = arg;
	if (r->on_tick != NULL) {
		if (r->on_tick(r))
			r->on_tick = NULL;
		return;
	}
	if (!indicator_player_busy(r->player))
		loop_stop(loop);
}

static void rig_deadline(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	struct rig *r = arg;
	r->timed_out = true;
	loop_stop(loop);
}

static void rig_setup(struct rig *r, const char *record)
{
	memset(r, 0, sizeof(*r));
	r->t = (struct pattern_timing){60, 90, 80, 10, 10};
	assert_int_equal(loop_create(&r->loop), QD_OK);
	assert_int_equal(indicator_sim_open(record, &r->sim, NULL), QD_OK);
	assert_int_equal(indicator_player_create(r->loop, &r->sim, &r->t, &r->player), QD_OK);
	assert_int_equal(loop_timer_create(r->loop, rig_poll, r, &r->poll), QD_OK);
	assert_int_equal(loop_timer_create(r->loop, rig_deadline, r, &r->deadline), QD_OK);
}

/* Run until the tick hook is done and the player is idle (30 s at most). */
static void rig_run(struct rig *r)
{
	loop_timer_arm(r->poll, 1, 1);
	loop_timer_arm(r->deadline, 30000, 0);
	assert_int_equal(loop_run(r->loop), QD_OK);
	loop_timer_disarm(r->poll);
	loop_timer_disarm(r->deadline);
	assert_false(r->timed_out);
	assert_false(indicator_player_busy(r->player));
}

static void rig_teardown(struct rig *r)
{
	indicator_player_destroy(r->player);
	indicator_close(&r->sim);
	loop_timer_destroy(r->poll);
	loop_timer_destroy(r->deadline);
	loop_destroy(r->loop);
}

static const struct indicator_sim_event *last_event(const struct rig *r)
{
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&r->sim, &ev);
	return n > 0 ? &ev[n - 1] : NULL;
}

static bool is_lit(const struct indicator_sim_event *e, const char *want)
{
	char s[INDICATOR_LINES + 1];
	if (e == NULL)
		return false;
	lines_string(e->on, s);
	return strcmp(s, want) == 0;
}

static void assert_all_off(const struct rig *r)
{
	const struct indicator_sim_event *e = last_event(r);
	assert_non_null(e);
	for (size_t l = 0; l < INDICATOR_LINES; l++)
		assert_false(e->on[l]);
}

static void test_player_patterns(void **state)
{
	(void)state;
	static const struct {
		enum indicator_pattern pattern;
		const char *trace;
		int64_t min_us; /* the pattern's length: a timer never fires early */
	} cases[] = {
	        {PATTERN_VALID, "GB G -", 60000},
	        {PATTERN_INVALID, "RB R RB R RB R -", 90000},
	        {PATTERN_REVIEW, "AB A AB A -", 80000},
	        {PATTERN_UPDATE_OK, "G - G -", 600000}, /* the last off step adds no transition */
	        {PATTERN_UPDATE_FAIL, "RB B RB - R - R - R -", 1800000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig r;
		rig_setup(&r, NULL);
		int64_t before = loop_now_us();
		indicator_player_play(r.player, cases[i].pattern);
		/* The first step is set inside play(), before the loop runs. */
		const struct indicator_sim_event *ev;
		assert_int_equal(indicator_sim_events(&r.sim, &ev), 1);
		assert_true(indicator_player_busy(r.player));
		rig_run(&r);
		char trace[256];
		sim_trace(&r.sim, trace, sizeof(trace));
		if (strcmp(trace, cases[i].trace) != 0)
			fail_msg("pattern %zu: got \"%s\", want \"%s\"", i, trace, cases[i].trace);
		assert_all_off(&r);
		size_t n = indicator_sim_events(&r.sim, &ev);
		assert_true(ev[0].t_us >= before);
		int64_t lasted = ev[n - 1].t_us - before;
		if (lasted < cases[i].min_us - 1000 || lasted > 50 * cases[i].min_us)
			fail_msg("pattern %zu lasted %lld us", i, (long long)lasted);
		rig_teardown(&r);
	}
}

/* Step timing: each step lasts at least its duration (ms resolution), in a loose window. */
static void test_player_step_durations(void **state)
{
	(void)state;
	struct rig r;
	rig_setup(&r, NULL);
	r.t = (struct pattern_timing){60, 200, 80, 30, 20};
	indicator_player_destroy(r.player);
	assert_int_equal(indicator_player_create(r.loop, &r.sim, &r.t, &r.player), QD_OK);
	indicator_player_play(r.player, PATTERN_INVALID);
	rig_run(&r);
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&r.sim, &ev);
	assert_int_equal(n, 7);
	/* Ends of steps from the start: 30 50 80 100 130 200 ms (absolute deadlines, no drift). */
	static const int64_t ends_ms[] = {30, 50, 80, 100, 130, 200};
	for (size_t i = 1; i < n; i++) {
		int64_t at = ev[i].t_us - ev[0].t_us;
		if (at < ends_ms[i - 1] * 1000 - 1000 || at > ends_ms[i - 1] * 1000 * 50)
			fail_msg("transition %zu at %lld us, want ~%lld ms", i, (long long)at,
			         (long long)ends_ms[i - 1]);
	}
	rig_teardown(&r);
}

/* A new verdict while the buzzer still sounds: off first, then the new pattern. */
static bool cancel_in_beep(struct rig *r)
{
	if (!is_lit(last_event(r), "RB"))
		return false;
	indicator_player_play(r->player, PATTERN_REVIEW);
	/* Synchronously: the red went off and the amber came on. */
	assert_true(is_lit(last_event(r), "AB"));
	return true;
}

/* A new verdict after the beeps: the old colour goes off in the same set(). */
static bool cancel_after_beeps(struct rig *r)
{
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&r->sim, &ev);
	if (n < 6)
		return false;
	assert_true(is_lit(&ev[n - 1], "R"));
	indicator_player_play(r->player, PATTERN_VALID);
	assert_true(is_lit(last_event(r), "GB"));
	return true;
}

static void test_player_cancel(void **state)
{
	(void)state;
	char trace[256];
	struct rig r;

	/* Back to back, before the loop runs: both set synchronously. */
	rig_setup(&r, NULL);
	indicator_player_play(r.player, PATTERN_INVALID);
	indicator_player_play(r.player, PATTERN_VALID);
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB - GB G -");
	rig_teardown(&r);

	/* The same verdict twice is two patterns: an off transition between them. */
	rig_setup(&r, NULL);
	indicator_player_play(r.player, PATTERN_INVALID);
	indicator_player_play(r.player, PATTERN_INVALID);
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB - RB R RB R RB R -");
	rig_teardown(&r);

	/* Mid-pattern, from the loop, during a beep: long beeps and a long red, so that
	 * a tick lands in a beep however slow the machine. */
	rig_setup(&r, NULL);
	r.t = (struct pattern_timing){60, 20000, 700, 300, 10};
	indicator_player_destroy(r.player);
	assert_int_equal(indicator_player_create(r.loop, &r.sim, &r.t, &r.player), QD_OK);
	indicator_player_play(r.player, PATTERN_INVALID);
	r.on_tick = cancel_in_beep;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB - AB A AB A -");
	rig_teardown(&r);

	/* Mid-pattern, after the three beeps. */
	rig_setup(&r, NULL);
	r.t.invalid_ms = 20000;
	indicator_player_destroy(r.player);
	assert_int_equal(indicator_player_create(r.loop, &r.sim, &r.t, &r.player), QD_OK);
	indicator_player_play(r.player, PATTERN_INVALID);
	r.on_tick = cancel_after_beeps;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB R RB R RB R GB G -");
	rig_teardown(&r);
}

/* --- min_show_ms: a burst of verdicts, each shown in turn ------------------------------ */

static void rig_timing(struct rig *r, struct pattern_timing t, uint32_t min_show_ms)
{
	r->t = t;
	indicator_player_destroy(r->player);
	assert_int_equal(indicator_player_create(r->loop, &r->sim, &r->t, &r->player), QD_OK);
	indicator_player_set_min_show(r->player, min_show_ms);
	r->min_show_ms = min_show_ms;
}

/* The first event at or after index from whose lines are exactly want. */
static const struct indicator_sim_event *find_lit(const struct rig *r, size_t from,
                                                  const char *want, size_t *at)
{
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&r->sim, &ev);
	for (size_t i = from; i < n; i++)
		if (is_lit(&ev[i], want)) {
			*at = i;
			return &ev[i];
		}
	fail_msg("no \"%s\" transition after event %zu", want, from);
	return NULL;
}

static bool replace_after_min_show(struct rig *r)
{
	const struct indicator_sim_event *ev;
	indicator_sim_events(&r->sim, &ev);
	if (loop_now_us() - ev[0].t_us < (int64_t)r->min_show_ms * 1000 + 1000)
		return false;
	/* Shown long enough: the next verdict replaces it at once, nothing waits. */
	indicator_player_play(r->player, PATTERN_REVIEW);
	assert_true(is_lit(last_event(r), "AB"));
	assert_int_equal(indicator_player_queued(r->player), 0);
	return true;
}

static void test_player_min_show(void **state)
{
	(void)state;
	char trace[256];
	struct rig r;
	size_t i, j;

	/* A burst of three while the first one shows: the second and third wait; each long
	 * pattern is cut after min_show_ms, the last plays to its end. */
	rig_setup(&r, NULL);
	rig_timing(&r, (struct pattern_timing){20000, 20000, 200, 10, 10}, 150);
	indicator_player_play(r.player, PATTERN_INVALID);
	indicator_player_play(r.player, PATTERN_VALID);
	indicator_player_play(r.player, PATTERN_REVIEW);
	assert_int_equal(indicator_player_queued(r.player), 2);
	assert_true(is_lit(last_event(&r), "RB")); /* the first is not disturbed */
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB R RB R RB R GB G AB A AB A -");
	const struct indicator_sim_event *ev;
	indicator_sim_events(&r.sim, &ev);
	const struct indicator_sim_event *green = find_lit(&r, 0, "GB", &i);
	const struct indicator_sim_event *amber = find_lit(&r, i, "AB", &j);
	assert_true(green->t_us - ev[0].t_us >= 150000 - 1000);
	assert_true(amber->t_us - green->t_us >= 150000 - 1000);
	rig_teardown(&r);

	/* A pattern shorter than min_show_ms: the waiting one starts when it ends. */
	rig_setup(&r, NULL);
	rig_timing(&r, (struct pattern_timing){60, 90, 80, 10, 10}, 20000);
	indicator_player_play(r.player, PATTERN_VALID);
	indicator_player_play(r.player, PATTERN_INVALID);
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G - RB R RB R RB R -");
	indicator_sim_events(&r.sim, &ev);
	assert_true(find_lit(&r, 0, "RB", &i)->t_us - ev[0].t_us >= 60000 - 1000);
	rig_teardown(&r);

	/* Past min_show_ms, nothing waits: the new verdict replaces the old at once. */
	rig_setup(&r, NULL);
	rig_timing(&r, (struct pattern_timing){20000, 90, 80, 10, 10}, 50);
	indicator_player_play(r.player, PATTERN_VALID);
	r.on_tick = replace_after_min_show;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G AB A AB A -");
	rig_teardown(&r);

	/* At most INDICATOR_QUEUE_MAX wait (the oldest waiting is dropped); stop() clears them. */
	rig_setup(&r, NULL);
	rig_timing(&r, (struct pattern_timing){60, 90, 80, 10, 10}, 20000);
	indicator_player_play(r.player, PATTERN_VALID);
	for (int k = 0; k < INDICATOR_QUEUE_MAX + 3; k++)
		indicator_player_play(r.player, PATTERN_INVALID);
	assert_int_equal(indicator_player_queued(r.player), INDICATOR_QUEUE_MAX);
	indicator_player_stop(r.player);
	assert_int_equal(indicator_player_queued(r.player), 0);
	assert_false(indicator_player_busy(r.player));
	assert_all_off(&r);
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB -");
	rig_teardown(&r);
}

/* --- hold: a pattern does not end, nor give way, before its audit row is durable -------- */

static bool release_after_200ms(struct rig *r)
{
	const struct indicator_sim_event *ev;
	indicator_sim_events(&r->sim, &ev);
	if (loop_now_us() - ev[0].t_us < 200000)
		return false;
	/* Its 60 ms are long over: held on its last step, still busy. */
	assert_true(is_lit(last_event(r), "G"));
	assert_true(indicator_player_busy(r->player));
	indicator_player_hold(r->player, false);
	assert_all_off(r);
	return true;
}

static bool release_with_one_waiting(struct rig *r)
{
	const struct indicator_sim_event *ev;
	indicator_sim_events(&r->sim, &ev);
	if (loop_now_us() - ev[0].t_us < 100000)
		return false;
	/* The green came while the red was held: it waits, the red still shows. */
	assert_int_equal(indicator_player_queued(r->player), 1);
	assert_true(is_lit(last_event(r), "R"));
	indicator_player_hold(r->player, false);
	assert_true(is_lit(last_event(r), "GB"));
	return true;
}

static void test_player_hold(void **state)
{
	(void)state;
	char trace[256];
	struct rig r;

	/* Held past its end: the last step stays until the release, then all off. */
	rig_setup(&r, NULL);
	indicator_player_play(r.player, PATTERN_VALID);
	indicator_player_hold(r.player, true);
	r.on_tick = release_after_200ms;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G -");
	const struct indicator_sim_event *ev;
	size_t n = indicator_sim_events(&r.sim, &ev);
	assert_true(ev[n - 1].t_us - ev[0].t_us >= 200000);
	rig_teardown(&r);

	/* A new verdict while held (no min_show: it would replace at once) waits for the
	 * release, then replaces the running one. */
	rig_setup(&r, NULL);
	rig_timing(&r, (struct pattern_timing){60, 20000, 80, 10, 10}, 0);
	indicator_player_play(r.player, PATTERN_INVALID);
	indicator_player_hold(r.player, true);
	indicator_player_play(r.player, PATTERN_VALID);
	r.on_tick = release_with_one_waiting;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB R RB R RB R GB G -");
	rig_teardown(&r);

	/* Held with nothing playing: a play starts at once; released unplayed, nothing. */
	rig_setup(&r, NULL);
	indicator_player_hold(r.player, true);
	indicator_player_play(r.player, PATTERN_VALID);
	assert_true(is_lit(last_event(&r), "GB"));
	indicator_player_hold(r.player, false);
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G -");
	/* stop() while held forgets what came due. */
	indicator_player_play(r.player, PATTERN_REVIEW);
	indicator_player_hold(r.player, true);
	indicator_player_play(r.player, PATTERN_VALID);
	indicator_player_stop(r.player);
	indicator_player_hold(r.player, false);
	assert_false(indicator_player_busy(r.player));
	assert_all_off(&r);
	rig_teardown(&r);
}

static bool stop_when_green(struct rig *r)
{
	if (!is_lit(last_event(r), "G"))
		return false;
	indicator_player_stop(r->player);
	assert_false(indicator_player_busy(r->player));
	assert_all_off(r);
	return true;
}

static void test_player_stop_and_destroy(void **state)
{
	(void)state;
	char trace[256];
	struct rig r;

	/* stop() before the loop runs: off at once, and the timer never fires. */
	rig_setup(&r, NULL);
	r.t.valid_ms = 20000;
	indicator_player_destroy(r.player);
	assert_int_equal(indicator_player_create(r.loop, &r.sim, &r.t, &r.player), QD_OK);
	indicator_player_play(r.player, PATTERN_VALID);
	assert_true(indicator_player_busy(r.player));
	indicator_player_stop(r.player);
	assert_false(indicator_player_busy(r.player));
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB -");
	indicator_player_stop(r.player); /* idle: nothing changes */
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB -");
	rig_teardown(&r);

	/* stop() from the loop mid-pattern; then more loop time: nothing else happens. */
	rig_setup(&r, NULL);
	r.t.valid_ms = 20000;
	indicator_player_destroy(r.player);
	assert_int_equal(indicator_player_create(r.loop, &r.sim, &r.t, &r.player), QD_OK);
	indicator_player_play(r.player, PATTERN_VALID);
	r.on_tick = stop_when_green;
	rig_run(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G -");
	/* The player is idle and its timer disarmed: run the loop a little longer. */
	loop_timer_arm(r.deadline, 50, 0);
	assert_int_equal(loop_run(r.loop), QD_OK);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "GB G -");
	/* It plays again after a stop. */
	r.timed_out = false;
	indicator_player_play(r.player, PATTERN_REVIEW);
	assert_true(is_lit(last_event(&r), "AB"));
	indicator_player_stop(r.player);
	rig_teardown(&r);

	/* destroy() mid-pattern ends all off; the backend stays open for its owner. */
	rig_setup(&r, NULL);
	indicator_player_play(r.player, PATTERN_INVALID);
	indicator_player_destroy(r.player);
	r.player = NULL;
	assert_all_off(&r);
	sim_trace(&r.sim, trace, sizeof(trace));
	assert_string_equal(trace, "RB -");
	const bool a[INDICATOR_LINES] = {false, false, true, false};
	assert_int_equal(indicator_set(&r.sim, a), QD_OK);
	/* The loop holds no timer of the player any more. */
	loop_timer_arm(r.deadline, 30, 0);
	assert_int_equal(loop_run(r.loop), QD_OK);
	indicator_player_destroy(NULL);
	indicator_player_play(NULL, PATTERN_VALID);
	assert_false(indicator_player_busy(NULL));
	indicator_close(&r.sim);
	loop_timer_destroy(r.poll);
	loop_timer_destroy(r.deadline);
	loop_destroy(r.loop);
}

/* A backend that fails: the player abandons the pattern, all off, backend not healthy. */
static void test_player_backend_failure(void **state)
{
	(void)state;
	struct loop *loop;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct flaky f = {0};
	struct indicator_backend b = {.ops = &flaky_ops, .ctx = &f, .healthy = true};
	struct indicator_player *p;
	assert_int_equal(indicator_player_create(loop, &b, NULL, &p), QD_OK);
	f.fail_sets = 1;
	indicator_player_play(p, PATTERN_VALID);
	assert_false(indicator_player_busy(p));
	assert_false(b.healthy);
	assert_int_equal(f.all_offs, 1);
	for (size_t l = 0; l < INDICATOR_LINES; l++)
		assert_false(f.on[l]);
	/* The next verdict tries again and succeeds. */
	indicator_player_play(p, PATTERN_VALID);
	assert_true(indicator_player_busy(p));
	assert_true(b.healthy);
	assert_true(f.on[INDICATOR_GREEN]);
	indicator_player_destroy(p);
	assert_false(f.on[INDICATOR_GREEN]);
	assert_int_equal(indicator_player_create(NULL, &b, NULL, &p), QD_ERR_ARG);
	assert_int_equal(indicator_player_create(loop, NULL, NULL, &p), QD_ERR_ARG);
	loop_destroy(loop);
}

/* The record file follows the player: what another process would read. */
static void test_player_record_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[512];
	snprintf(path, sizeof(path), "%s/leds.log", dir);
	struct rig r;
	rig_setup(&r, path);
	indicator_player_play(r.player, PATTERN_REVIEW);
	rig_run(&r);
	size_t len;
	char *text = (char *)tu_read_file(path, &len);
	/* Drop the times: "<t> g r a b" -> "g r a b". */
	char got[256] = "";
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		assert_non_null(sp);
		strncat(got, sp + 1, sizeof(got) - strlen(got) - 2);
		strcat(got, "|");
	}
	assert_string_equal(got, "0 0 1 1|0 0 1 0|0 0 1 1|0 0 1 0|0 0 0 0|");
	free(text);
	rig_teardown(&r);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names_and_defaults),
	        cmocka_unit_test(test_pattern_table),
	        cmocka_unit_test(test_pattern_sums),
	        cmocka_unit_test(test_wrappers),
	        cmocka_unit_test(test_sim_transitions),
	        cmocka_unit_test(test_sim_keeps_the_last),
	        cmocka_unit_test(test_sim_record_file),
	        cmocka_unit_test(test_player_patterns),
	        cmocka_unit_test(test_player_step_durations),
	        cmocka_unit_test(test_player_cancel),
	        cmocka_unit_test(test_player_min_show),
	        cmocka_unit_test(test_player_hold),
	        cmocka_unit_test(test_player_stop_and_destroy),
	        cmocka_unit_test(test_player_backend_failure),
	        cmocka_unit_test(test_player_record_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
