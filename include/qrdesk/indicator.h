/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indicator.h - the desk's LEDs and buzzer: backends behind one small
 * interface, the verdict patterns, and a player that runs them on the loop.
 *
 * Backends: "gpiod" drives real lines through libgpiod 1.6 (Debian 12);
 * "sim" records every transition with its time (demo, kiosk, tests).
 *
 * Safety: every backend starts with all lines off, goes all-off on
 * destroy and on every error path, and the player ends each pattern
 * all-off.  Nothing may ever leave green on.
 */
#ifndef QRDESK_INDICATOR_H
#define QRDESK_INDICATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"

enum indicator_line {
	INDICATOR_GREEN = 0,
	INDICATOR_RED,
	INDICATOR_AMBER,
	INDICATOR_BUZZER,
	INDICATOR_LINES
};

/* "green", "red", "amber", "buzzer". */
const char *indicator_line_name(enum indicator_line line);

struct indicator_backend_ops {
	const char *name;
	/* Set every line at once (logical values: true = lit / sounding). */
	enum qd_err (*set)(void *ctx, const bool on[INDICATOR_LINES]);
	/* All lines off; best effort, never fails silently (records the failure). */
	void (*all_off)(void *ctx);
	/* All off, release the lines, free ctx. */
	void (*destroy)(void *ctx);
};

struct indicator_backend {
	const struct indicator_backend_ops *ops;
	void *ctx;
	bool healthy;    /* false after a failed set; `qrdeskctl status` shows it */
	char detail[96]; /* the last error, if any */
};

/* libgpiod backend. */
struct indicator_gpiod_config {
	char chip[64];                     /* "gpiochip0", a path, or a label */
	unsigned offsets[INDICATOR_LINES]; /* line offsets on that chip */
	bool active_low;                   /* lines lit at 0 V (common-anode wiring) */
};
#define INDICATOR_CONSUMER "qrdeskd"
enum qd_err indicator_gpiod_open(const struct indicator_gpiod_config *cfg,
                                 struct indicator_backend *out, struct qd_errmsg *why);

/* Simulated backend.  record_path: if not NULL, each transition is also
 * appended there as one line "<monotonic us> <green> <red> <amber> <buzzer>"
 * (0/1), flushed at once, so a test in another process can follow it. */
struct indicator_sim_event {
	int64_t t_us;
	bool on[INDICATOR_LINES];
};
enum qd_err indicator_sim_open(const char *record_path, struct indicator_backend *out,
                               struct qd_errmsg *why);
/* The transitions recorded so far (the sim keeps the last 1024). */
size_t indicator_sim_events(const struct indicator_backend *sim,
                            const struct indicator_sim_event **events);

/* Set through the backend, keeping healthy/detail up to date. */
enum qd_err indicator_set(struct indicator_backend *b, const bool on[INDICATOR_LINES]);
void indicator_all_off(struct indicator_backend *b);
void indicator_close(struct indicator_backend *b);

/* Patterns. */
enum indicator_pattern {
	PATTERN_VALID = 0,   /* green + one short beep */
	PATTERN_INVALID,     /* red + three beeps */
	PATTERN_REVIEW,      /* amber + two beeps */
	PATTERN_UPDATE_OK,   /* green blinks twice (USB update applied) */
	PATTERN_UPDATE_FAIL, /* red blinks five times with a long beep */
	PATTERN_ACCEPTED,    /* green and amber together, briefly, one beep: a document of the
	                        traveller's taken, the next awaited (docs/binding.md) */
};

struct pattern_timing {
	uint32_t valid_ms;   /* how long green stays (default 2000) */
	uint32_t invalid_ms; /* red (default 3000) */
	uint32_t review_ms;  /* amber (default 3000) */
	uint32_t beep_ms;    /* one beep (default 150) */
	uint32_t gap_ms;     /* between beeps (default 150) */
};
void pattern_timing_defaults(struct pattern_timing *t);

#define PATTERN_STEPS_MAX 24
struct pattern_step {
	bool on[INDICATOR_LINES];
	uint32_t duration_ms;
};

/*
 * The steps of a pattern (pure: tests check them).  The LED stays lit for
 * the whole pattern while the buzzer toggles at its start; after the last
 * step the player turns everything off.  Returns the number of steps.
 */
size_t pattern_build(enum indicator_pattern pattern, const struct pattern_timing *t,
                     struct pattern_step steps[PATTERN_STEPS_MAX]);

struct indicator_player;
enum qd_err indicator_player_create(struct loop *loop, struct indicator_backend *backend,
                                    const struct pattern_timing *t, struct indicator_player **out);
/*
 * Start a pattern: now if nothing plays or the running pattern has played min_show_ms
 * (it is cut short); otherwise it waits its turn behind the running one and those
 * already waiting.  A waiting pattern starts when the one before it ends or has played
 * min_show_ms, whichever comes first.  At most INDICATOR_QUEUE_MAX wait; past that the
 * oldest waiting one is dropped (the kiosk page and the audit log still have it).
 */
#define INDICATOR_QUEUE_MAX 16
void indicator_player_play(struct indicator_player *player, enum indicator_pattern pattern);
/* The least time a pattern plays before a waiting one replaces it, so that in a burst of
 * scans the officer sees every verdict ([indicators] min_show_ms; a new player has 0: the
 * next pattern replaces the running one at once).  Applies from the next play() on. */
void indicator_player_set_min_show(struct indicator_player *player, uint32_t min_show_ms);
/*
 * Hold the running pattern: while held it does not end (its last step stays) and no
 * waiting pattern replaces it; released, what came due meanwhile happens at once.  The
 * pipeline holds while a verdict's audit row is not yet durable (audit_writer.h), so a
 * pattern never ends before its row is on disk.
 */
void indicator_player_hold(struct indicator_player *player, bool held);
/* How many patterns wait behind the running one. */
size_t indicator_player_queued(const struct indicator_player *player);
/* New durations (a reload): they apply from the next pattern on. */
void indicator_player_set_timing(struct indicator_player *player, const struct pattern_timing *t);
/* Cancel whatever runs or waits and turn everything off. */
void indicator_player_stop(struct indicator_player *player);
bool indicator_player_busy(const struct indicator_player *player);
/* Stop, then free (the backend is not closed: its owner closes it). */
void indicator_player_destroy(struct indicator_player *player);

#endif
