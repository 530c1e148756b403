/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_gpiod.h - what the fake libgpiod 1.6 (fake_gpiod.c) recorded, and
 * its test hooks.
 *
 * The fake simulates one chip, "gpiochip0" (label "fake", FAKE_GPIOD_LINES
 * lines; gpiod_chip_open_lookup also accepts "/dev/gpiochip0", "0" and
 * "fake").  Levels are physical: what the kernel would drive on the pin,
 * after active-low inversion.  Not thread-safe; one test at a time.
 */
#ifndef QRDESK_FAKE_GPIOD_H
#define QRDESK_FAKE_GPIOD_H

#include <stdbool.h>
#include <stddef.h>

#define FAKE_GPIOD_LINES        32
#define FAKE_GPIOD_EVENTS_MAX   4096
#define FAKE_GPIOD_REQUESTS_MAX 16
#define FAKE_GPIOD_BULK_MAX     64

struct fake_gpiod_line_state {
	bool requested;    /* held by the code under test */
	bool output;       /* requested as an output */
	bool active_low;   /* requested with GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW */
	int physical;      /* level on the pin: 0, 1, or -1 if never driven */
	unsigned writes;   /* how many times a level was written */
	char consumer[32]; /* consumer of the last request by the code under test */
	char other[32];    /* another process's consumer holding it ("" none) */
};

struct fake_gpiod_request {
	unsigned n;
	unsigned offsets[FAKE_GPIOD_BULK_MAX];
	int request_type; /* GPIOD_LINE_REQUEST_DIRECTION_OUTPUT ... */
	int flags;        /* GPIOD_LINE_REQUEST_FLAG_* */
	char consumer[32];
	int defaults[FAKE_GPIOD_BULK_MAX]; /* as passed: logical values */
	bool granted;
};

enum fake_gpiod_event_kind {
	FAKE_GPIOD_OPEN,
	FAKE_GPIOD_REQUEST, /* one per line granted */
	FAKE_GPIOD_WRITE,   /* one per line written; .physical is the new level */
	FAKE_GPIOD_RELEASE, /* one per line released */
	FAKE_GPIOD_CLOSE,
};

struct fake_gpiod_event {
	enum fake_gpiod_event_kind kind;
	unsigned offset; /* lines only */
	int physical;    /* FAKE_GPIOD_WRITE only */
};

struct fake_gpiod_stats {
	unsigned opens, closes; /* successful gpiod_chip_open_lookup / gpiod_chip_close */
	unsigned request_calls; /* gpiod_line_request_bulk, granted or not */
	unsigned release_calls; /* gpiod_line_release_bulk */
	unsigned set_calls;     /* gpiod_line_set_value_bulk, failed or not */
	unsigned failed_calls;  /* calls failed through fake_gpiod_fail_next */
};

/* Forget everything (call it with no chip open). */
void fake_gpiod_reset(void);

/* The next call to the named function ("gpiod_line_set_value_bulk") fails
 * with errno err (EIO for fake_gpiod_fail_next).  Up to 8 may be pending. */
void fake_gpiod_fail_next(const char *function);
void fake_gpiod_fail_next_errno(const char *function, int err);

/* Another consumer holds the line (NULL: nobody). */
void fake_gpiod_set_used(unsigned offset, const char *consumer);

const struct fake_gpiod_line_state *fake_gpiod_line(unsigned offset);
const struct fake_gpiod_stats *fake_gpiod_stats(void);
/* Chip handles open now. */
unsigned fake_gpiod_open_handles(void);
size_t fake_gpiod_requests(const struct fake_gpiod_request **requests);
size_t fake_gpiod_events(const struct fake_gpiod_event **events);

#endif
