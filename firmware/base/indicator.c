/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indicator.c - the backend wrappers, the verdict patterns and the player
 * that runs them on the loop (see indicator.h).
 *
 * A pattern is a list of steps (lines + duration).  The player sets the
 * first step synchronously inside indicator_player_play(), so the LED
 * follows the verdict after one set() call; the following steps run from
 * one loop timer, armed against the pattern's start time so that callback
 * latency does not add up.  After the last step everything goes off.
 *
 * Failure handling: a failed set() marks the backend unhealthy, records why
 * in its detail and tries all_off(); the player then abandons the pattern.
 */
#include "qrdesk/indicator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *indicator_line_name(enum indicator_line line)
{
	switch (line) {
	case INDICATOR_GREEN:
		return "green";
	case INDICATOR_RED:
		return "red";
	case INDICATOR_AMBER:
		return "amber";
	case INDICATOR_BUZZER:
		return "buzzer";
	case INDICATOR_LINES:
		break;
	}
	return "unknown";
}

/* --- backend wrappers ----------------------------------------------------------------- */

static void record_failure(struct indicator_backend *b, const char *what, enum qd_err rc, int err)
{
	b->healthy = false;
	if (err != 0)
		snprintf(b->detail, sizeof(b->detail), "%s: %s failed: %s", b->ops->name, what,
		         strerror(err));
	else
		snprintf(b->detail, sizeof(b->detail), "%s: %s failed (%s)", b->ops->name, what,
		         qd_err_name(rc));
}

enum qd_err indicator_set(struct indicator_backend *b, const bool on[INDICATOR_LINES])
{
	if (b == NULL || b->ops == NULL || on == NULL)
		return QD_ERR_ARG;
	errno = 0;
	enum qd_err rc = b->ops->set(b->ctx, on);
	if (rc == QD_OK) {
		/* The detail keeps the last error; healthy tells whether the lines obey now. */
		b->healthy = true;
		return QD_OK;
	}
	record_failure(b, "set", rc, errno);
	b->ops->all_off(b->ctx); /* whatever state the lines are in, end it */
	return rc;
}

/*
 * all_off() returns nothing, so the wrapper turns everything off through set()
 * (which reports) and falls back on the backend's best-effort all_off() only
 * when that fails: a failure is always recorded in the backend's detail.
 */
void indicator_all_off(struct indicator_backend *b)
{
	if (b == NULL || b->ops == NULL)
		return;
	static const bool off[INDICATOR_LINES];
	errno = 0;
	enum qd_err rc = b->ops->set(b->ctx, off);
	if (rc == QD_OK)
		return;
	record_failure(b, "all off", rc, errno);
	b->ops->all_off(b->ctx);
}

void indicator_close(struct indicator_backend *b)
{
	if (b == NULL || b->ops == NULL)
		return;
	b->ops->destroy(b->ctx); /* all off, release, free */
	b->ops = NULL;
	b->ctx = NULL;
}

/* --- patterns ------------------------------------------------------------------------- */

void pattern_timing_defaults(struct pattern_timing *t)
{
	t->valid_ms = 2000;
	t->invalid_ms = 3000;
	t->review_ms = 3000;
	t->beep_ms = 150;
	t->gap_ms = 150;
}

#define PATTERN_SEGMENTS_MAX 8

/* [start, end) in ms from the start of the pattern. */
struct segment {
	uint64_t start, end;
};

/* Where each line is on, over a pattern lasting total_ms. */
struct timeline {
	uint64_t total_ms;
	struct segment seg[INDICATOR_LINES][PATTERN_SEGMENTS_MAX];
	size_t n_seg[INDICATOR_LINES];
};

static void timeline_add(struct timeline *tl, enum indicator_line line, uint64_t start,
                         uint64_t len)
{
	if (tl->n_seg[line] < PATTERN_SEGMENTS_MAX)
		tl->seg[line][tl->n_seg[line]++] = (struct segment){start, start + len};
}

static bool timeline_on(const struct timeline *tl, enum indicator_line line, uint64_t at)
{
	for (size_t i = 0; i < tl->n_seg[line]; i++)
		if (tl->seg[line][i].start <= at && at < tl->seg[line][i].end)
			return true;
	return false;
}

/* n beeps of beep_ms separated by gap_ms, from the start. */
static void timeline_beeps(struct timeline *tl, unsigned n, const struct pattern_timing *t)
{
	for (unsigned i = 0; i < n; i++)
		timeline_add(tl, INDICATOR_BUZZER, (uint64_t)i * ((uint64_t)t->beep_ms + t->gap_ms),
		             t->beep_ms);
}

/* n blinks of 200 ms on, 200 ms off. */
#define BLINK_MS 200
static void timeline_blinks(struct timeline *tl, enum indicator_line line, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		timeline_add(tl, line, (uint64_t)i * 2 * BLINK_MS, BLINK_MS);
	tl->total_ms = (uint64_t)n * 2 * BLINK_MS;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/*
 * Cut the timeline at every segment boundary (clipped to the total, which
 * is how beeps longer than the pattern are cut short), one step per piece;
 * equal neighbours merge and empty pieces vanish, so the durations add up
 * to exactly total_ms.
 */
static size_t timeline_steps(const struct timeline *tl, struct pattern_step *steps)
{
	uint64_t cuts[2 + 2 * INDICATOR_LINES * PATTERN_SEGMENTS_MAX];
	size_t n_cuts = 0;
	cuts[n_cuts++] = 0;
	cuts[n_cuts++] = tl->total_ms;
	for (size_t l = 0; l < INDICATOR_LINES; l++) {
		for (size_t i = 0; i < tl->n_seg[l]; i++) {
			const struct segment *s = &tl->seg[l][i];
			cuts[n_cuts++] = s->start < tl->total_ms ? s->start : tl->total_ms;
			cuts[n_cuts++] = s->end < tl->total_ms ? s->end : tl->total_ms;
		}
	}
	qsort(cuts, n_cuts, sizeof(cuts[0]), cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i + 1 < n_cuts; i++) {
		uint64_t from = cuts[i], to = cuts[i + 1];
		if (to == from)
			continue;
		struct pattern_step s = {.duration_ms = (uint32_t)(to - from)};
		for (size_t l = 0; l < INDICATOR_LINES; l++)
			s.on[l] = timeline_on(tl, (enum indicator_line)l, from);
		if (n > 0 && memcmp(steps[n - 1].on, s.on, sizeof(s.on)) == 0) {
			steps[n - 1].duration_ms += s.duration_ms;
			continue;
		}
		if (n == PATTERN_STEPS_MAX)
			break; /* cannot happen: at most 2 * PATTERN_SEGMENTS_MAX + 1 pieces per
			          line */
		steps[n++] = s;
	}
	return n;
}

size_t pattern_build(enum indicator_pattern pattern, const struct pattern_timing *t,
                     struct pattern_step steps[PATTERN_STEPS_MAX])
{
	struct pattern_timing defaults;
	if (steps == NULL)
		return 0;
	if (t == NULL) {
		pattern_timing_defaults(&defaults);
		t = &defaults;
	}
	struct timeline tl;
	memset(&tl, 0, sizeof(tl));
	switch (pattern) {
	case PATTERN_VALID:
		tl.total_ms = t->valid_ms;
		timeline_add(&tl, INDICATOR_GREEN, 0, t->valid_ms);
		timeline_beeps(&tl, 1, t);
		break;
	case PATTERN_INVALID:
		tl.total_ms = t->invalid_ms;
		timeline_add(&tl, INDICATOR_RED, 0, t->invalid_ms);
		timeline_beeps(&tl, 3, t);
		break;
	case PATTERN_REVIEW:
		tl.total_ms = t->review_ms;
		timeline_add(&tl, INDICATOR_AMBER, 0, t->review_ms);
		timeline_beeps(&tl, 2, t);
		break;
	case PATTERN_UPDATE_OK:
		timeline_blinks(&tl, INDICATOR_GREEN, 2);
		break;
	case PATTERN_UPDATE_FAIL:
		timeline_blinks(&tl, INDICATOR_RED, 5);
		timeline_add(&tl, INDICATOR_BUZZER, 0, 3 * BLINK_MS);
		break;
	case PATTERN_ACCEPTED:
		/* Two colours at once: no verdict looks like it; short: nothing is decided. */
		tl.total_ms = 2 * BLINK_MS;
		timeline_add(&tl, INDICATOR_GREEN, 0, 2 * BLINK_MS);
		timeline_add(&tl, INDICATOR_AMBER, 0, 2 * BLINK_MS);
		timeline_beeps(&tl, 1, t);
		break;
	default:
		return 0;
	}
	return timeline_steps(&tl, steps);
}

/* --- the player ----------------------------------------------------------------------- */

struct indicator_player {
	struct loop *loop;
	struct indicator_backend *backend;
	struct pattern_timing timing;
	uint32_t min_show_ms;
	struct loop_timer *timer;
	struct loop_timer *turn; /* min_show_ms after the running pattern began, if one waits */
	enum indicator_pattern queue[INDICATOR_QUEUE_MAX]; /* a ring: head, then queued more */
	size_t head, queued;
	struct pattern_step steps[PATTERN_STEPS_MAX];
	size_t n_steps, cur;
	int64_t start_us; /* when the pattern started */
	uint64_t end_ms;  /* end of the current step, from start_us */
	bool busy;
	bool lit[INDICATOR_LINES]; /* what the player last set */
	/* indicator_player_hold: the running pattern neither ends nor gives way while held;
	 * what came due meanwhile happens at the release. */
	bool held;
	bool end_due, turn_due;
};

static void player_set_lit(struct indicator_player *p, const bool on[INDICATOR_LINES])
{
	memcpy(p->lit, on, sizeof(p->lit));
}

static void player_off(struct indicator_player *p)
{
	static const bool off[INDICATOR_LINES];
	indicator_all_off(p->backend);
	player_set_lit(p, off);
}

/* Arm the timer for the end of the current step (absolute, so no drift). */
static void player_arm(struct indicator_player *p)
{
	int64_t deadline = p->start_us + (int64_t)p->end_ms * 1000;
	int64_t left_us = deadline - loop_now_us();
	uint64_t delay_ms = left_us > 0 ? (uint64_t)(left_us + 999) / 1000 : 0;
	loop_timer_arm(p->timer, delay_ms, 0);
}

/* Set the current step; on failure the backend went all-off and the pattern ends. */
static bool player_enter_step(struct indicator_player *p)
{
	const struct pattern_step *s = &p->steps[p->cur];
	if (indicator_set(p->backend, s->on) != QD_OK) {
		static const bool off[INDICATOR_LINES];
		player_set_lit(p, off);
		p->busy = false;
		return false;
	}
	player_set_lit(p, s->on);
	p->end_ms += s->duration_ms;
	player_arm(p);
	return true;
}

static bool lines_overlap(const bool a[INDICATOR_LINES], const bool b[INDICATOR_LINES])
{
	for (size_t i = 0; i < INDICATOR_LINES; i++)
		if (a[i] && b[i])
			return true;
	return false;
}

static void player_start(struct indicator_player *p, enum indicator_pattern pattern)
{
	if (p->busy) {
		loop_timer_disarm(p->timer);
		p->busy = false;
	}
	p->n_steps = pattern_build(pattern, &p->timing, p->steps);
	if (p->n_steps == 0) {
		player_off(p);
		return;
	}
	/*
	 * A line lit by the cancelled pattern and again by the new one (the
	 * same colour twice, or a beep over a beep) goes off first, so the new
	 * pattern is a transition of its own; any other line the first step
	 * switches over in the same set() call.
	 */
	if (lines_overlap(p->lit, p->steps[0].on))
		player_off(p);
	p->cur = 0;
	p->end_ms = 0;
	p->start_us = loop_now_us();
	p->busy = true;
	player_enter_step(p);
	if (p->queued > 0)
		loop_timer_arm(p->turn, p->min_show_ms, 0);
}

/* The next waiting pattern, if any, replaces whatever plays. */
static void player_next(struct indicator_player *p)
{
	loop_timer_disarm(p->turn);
	while (p->queued > 0) {
		enum indicator_pattern next = p->queue[p->head];
		p->head = (p->head + 1) % INDICATOR_QUEUE_MAX;
		p->queued--;
		player_start(p, next);
		if (p->busy)
			return;
	}
}

static void player_on_turn(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct indicator_player *p = arg;
	if (p->held && p->busy) {
		p->turn_due = true;
		return;
	}
	player_next(p);
}

static void player_on_timer(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct indicator_player *p = arg;
	if (!p->busy)
		return;
	if (p->cur + 1 >= p->n_steps && p->held) {
		p->end_due = true; /* the last step stays until the release */
		return;
	}
	p->cur++;
	if (p->cur >= p->n_steps) {
		p->busy = false;
		player_off(p);
		player_next(p); /* a waiting pattern starts as soon as this one is over */
		return;
	}
	player_enter_step(p);
}

enum qd_err indicator_player_create(struct loop *loop, struct indicator_backend *backend,
                                    const struct pattern_timing *t, struct indicator_player **out)
{
	if (loop == NULL || backend == NULL || out == NULL)
		return QD_ERR_ARG;
	struct indicator_player *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return QD_ERR_NOMEM;
	p->loop = loop;
	p->backend = backend;
	if (t != NULL)
		p->timing = *t;
	else
		pattern_timing_defaults(&p->timing);
	enum qd_err rc = loop_timer_create(loop, player_on_timer, p, &p->timer);
	if (rc != QD_OK) {
		free(p);
		return rc;
	}
	rc = loop_timer_create(loop, player_on_turn, p, &p->turn);
	if (rc != QD_OK) {
		loop_timer_destroy(p->timer);
		free(p);
		return rc;
	}
	*out = p;
	return QD_OK;
}

void indicator_player_set_timing(struct indicator_player *p, const struct pattern_timing *t)
{
	if (p != NULL && t != NULL)
		p->timing = *t;
}

void indicator_player_play(struct indicator_player *p, enum indicator_pattern pattern)
{
	if (p == NULL)
		return;
	int64_t shown_us = loop_now_us() - p->start_us;
	bool wait = p->min_show_ms > 0 && p->busy &&
	            (p->queued > 0 || shown_us < (int64_t)p->min_show_ms * 1000);
	/* Its turn has come, but the running pattern is held: it waits for the release. */
	bool held = p->held && p->busy && !wait;
	if (!wait && !held) {
		player_start(p, pattern);
		return;
	}
	if (p->queued == INDICATOR_QUEUE_MAX) {
		p->head = (p->head + 1) % INDICATOR_QUEUE_MAX;
		p->queued--;
	}
	p->queue[(p->head + p->queued) % INDICATOR_QUEUE_MAX] = pattern;
	if (held) {
		p->queued++;
		p->turn_due = true;
	} else if (p->queued++ == 0) {
		int64_t left_us = (int64_t)p->min_show_ms * 1000 - shown_us;
		loop_timer_arm(p->turn, (uint64_t)(left_us + 999) / 1000, 0);
	}
}

void indicator_player_set_min_show(struct indicator_player *p, uint32_t min_show_ms)
{
	if (p != NULL)
		p->min_show_ms = min_show_ms;
}

void indicator_player_hold(struct indicator_player *p, bool held)
{
	if (p == NULL || p->held == held)
		return;
	p->held = held;
	if (held)
		return;
	bool end = p->end_due, turn = p->turn_due;
	p->end_due = p->turn_due = false;
	if (end && p->busy) {
		p->busy = false;
		player_off(p);
		player_next(p);
	} else if (turn && p->queued > 0) {
		player_next(p);
	}
}

size_t indicator_player_queued(const struct indicator_player *p)
{
	return p != NULL ? p->queued : 0;
}

void indicator_player_stop(struct indicator_player *p)
{
	if (p == NULL)
		return;
	p->queued = 0;
	p->end_due = p->turn_due = false;
	loop_timer_disarm(p->turn);
	if (p->busy) {
		loop_timer_disarm(p->timer);
		p->busy = false;
	}
	player_off(p);
}

bool indicator_player_busy(const struct indicator_player *p)
{
	return p != NULL && (p->busy || p->queued > 0);
}

void indicator_player_destroy(struct indicator_player *p)
{
	if (p == NULL)
		return;
	indicator_player_stop(p);
	loop_timer_destroy(p->timer);
	loop_timer_destroy(p->turn);
	free(p);
}
