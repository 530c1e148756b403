/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_gpiod.c - a fake libgpiod 1.6: the functions drivers/indicator_gpiod.c
 * calls, with the signatures of /usr/include/gpiod.h, over one simulated
 * chip.  Everything is recorded (see fake_gpiod.h); the line state lives in
 * this file, so it outlives the chip handles, as the kernel's does.
 */
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gpiod.h"

#define FAKE_CHIP_NAME  "gpiochip0"
#define FAKE_CHIP_LABEL "fake"
#define FAKE_FAILS_MAX  8

/* The header leaves these opaque; this is the fake's own layout. */
struct gpiod_line {
	struct gpiod_chip *chip;
	unsigned offset;
};

struct gpiod_chip {
	struct gpiod_line lines[FAKE_GPIOD_LINES];
};

static struct {
	struct fake_gpiod_line_state lines[FAKE_GPIOD_LINES];
	const struct gpiod_chip *owner[FAKE_GPIOD_LINES]; /* the handle holding the line */
	struct fake_gpiod_stats stats;
	struct fake_gpiod_request requests[FAKE_GPIOD_REQUESTS_MAX];
	size_t n_requests;
	struct fake_gpiod_event events[FAKE_GPIOD_EVENTS_MAX];
	size_t n_events;
	struct {
		char function[64];
		int err;
	} fails[FAKE_FAILS_MAX];
	size_t n_fails;
	bool initialised;
} fake;

static void fake_init(void)
{
	if (fake.initialised)
		return;
	memset(&fake, 0, sizeof(fake));
	for (size_t i = 0; i < FAKE_GPIOD_LINES; i++)
		fake.lines[i].physical = -1;
	fake.initialised = true;
}

void fake_gpiod_reset(void)
{
	fake.initialised = false;
	fake_init();
}

void fake_gpiod_fail_next_errno(const char *function, int err)
{
	fake_init();
	if (fake.n_fails == FAKE_FAILS_MAX)
		abort();
	strncpy(fake.fails[fake.n_fails].function, function, sizeof(fake.fails[0].function) - 1);
	fake.fails[fake.n_fails].err = err;
	fake.n_fails++;
}

void fake_gpiod_fail_next(const char *function)
{
	fake_gpiod_fail_next_errno(function, EIO);
}

void fake_gpiod_set_used(unsigned offset, const char *consumer)
{
	fake_init();
	if (offset >= FAKE_GPIOD_LINES)
		abort();
	memset(fake.lines[offset].other, 0, sizeof(fake.lines[offset].other));
	if (consumer != NULL)
		strncpy(fake.lines[offset].other, consumer, sizeof(fake.lines[offset].other) - 1);
}

const struct fake_gpiod_line_state *fake_gpiod_line(unsigned offset)
{
	fake_init();
	return offset < FAKE_GPIOD_LINES ? &fake.lines[offset] : NULL;
}

const struct fake_gpiod_stats *fake_gpiod_stats(void)
{
	fake_init();
	return &fake.stats;
}

unsigned fake_gpiod_open_handles(void)
{
	fake_init();
	return fake.stats.opens - fake.stats.closes;
}

size_t fake_gpiod_requests(const struct fake_gpiod_request **requests)
{
	fake_init();
	*requests = fake.requests;
	return fake.n_requests;
}

size_t fake_gpiod_events(const struct fake_gpiod_event **events)
{
	fake_init();
	*events = fake.events;
	return fake.n_events;
}

/* --- internals ------------------------------------------------------------------------ */

/* Consume a pending failure of `function`: sets errno and returns true. */
static bool should_fail(const char *function)
{
	fake_init();
	for (size_t i = 0; i < fake.n_fails; i++) {
		if (strcmp(fake.fails[i].function, function) == 0) {
			errno = fake.fails[i].err;
			memmove(&fake.fails[i], &fake.fails[i + 1],
			        (fake.n_fails - i - 1) * sizeof(fake.fails[0]));
			fake.n_fails--;
			fake.stats.failed_calls++;
			return true;
		}
	}
	return false;
}

static void log_event(enum fake_gpiod_event_kind kind, unsigned offset, int physical)
{
	if (fake.n_events == FAKE_GPIOD_EVENTS_MAX)
		abort(); /* a test that writes this much is broken */
	fake.events[fake.n_events++] = (struct fake_gpiod_event){kind, offset, physical};
}

static void drive(unsigned offset, int logical)
{
	struct fake_gpiod_line_state *s = &fake.lines[offset];
	s->physical = (logical != 0) ^ s->active_low;
	s->writes++;
	log_event(FAKE_GPIOD_WRITE, offset, s->physical);
}

static void release_line(unsigned offset)
{
	struct fake_gpiod_line_state *s = &fake.lines[offset];
	s->requested = false;
	s->output = false;
	fake.owner[offset] = NULL;
	log_event(FAKE_GPIOD_RELEASE, offset, s->physical);
}

/* --- libgpiod 1.6 --------------------------------------------------------------------- */

struct gpiod_chip *gpiod_chip_open_lookup(const char *descr)
{
	if (should_fail("gpiod_chip_open_lookup"))
		return NULL;
	if (descr == NULL ||
	    (strcmp(descr, FAKE_CHIP_NAME) != 0 && strcmp(descr, "/dev/" FAKE_CHIP_NAME) != 0 &&
	     strcmp(descr, "0") != 0 && strcmp(descr, FAKE_CHIP_LABEL) != 0)) {
		errno = ENOENT;
		return NULL;
	}
	struct gpiod_chip *chip = calloc(1, sizeof(*chip));
	if (chip == NULL)
		return NULL;
	for (unsigned i = 0; i < FAKE_GPIOD_LINES; i++)
		chip->lines[i] = (struct gpiod_line){chip, i};
	fake.stats.opens++;
	log_event(FAKE_GPIOD_OPEN, 0, 0);
	return chip;
}

void gpiod_chip_close(struct gpiod_chip *chip)
{
	fake_init();
	if (chip == NULL)
		return;
	/* libgpiod releases what the handle still holds. */
	for (unsigned i = 0; i < FAKE_GPIOD_LINES; i++)
		if (fake.lines[i].requested && fake.owner[i] == chip)
			release_line(i);
	fake.stats.closes++;
	log_event(FAKE_GPIOD_CLOSE, 0, 0);
	free(chip);
}

const char *gpiod_chip_name(struct gpiod_chip *chip)
{
	(void)chip;
	return FAKE_CHIP_NAME;
}

unsigned int gpiod_chip_num_lines(struct gpiod_chip *chip)
{
	(void)chip;
	return FAKE_GPIOD_LINES;
}

int gpiod_chip_get_lines(struct gpiod_chip *chip, unsigned int *offsets, unsigned int num_offsets,
                         struct gpiod_line_bulk *bulk)
{
	if (should_fail("gpiod_chip_get_lines"))
		return -1;
	if (chip == NULL || bulk == NULL || num_offsets > GPIOD_LINE_BULK_MAX_LINES) {
		errno = EINVAL;
		return -1;
	}
	gpiod_line_bulk_init(bulk);
	for (unsigned i = 0; i < num_offsets; i++) {
		if (offsets[i] >= FAKE_GPIOD_LINES) {
			errno = EINVAL;
			return -1;
		}
		gpiod_line_bulk_add(bulk, &chip->lines[offsets[i]]);
	}
	return 0;
}

int gpiod_line_update(struct gpiod_line *line)
{
	(void)line;
	return should_fail("gpiod_line_update") ? -1 : 0;
}

bool gpiod_line_is_used(struct gpiod_line *line)
{
	fake_init();
	const struct fake_gpiod_line_state *s = &fake.lines[line->offset];
	return s->requested || s->other[0] != '\0';
}

const char *gpiod_line_consumer(struct gpiod_line *line)
{
	fake_init();
	const struct fake_gpiod_line_state *s = &fake.lines[line->offset];
	if (s->other[0] != '\0')
		return s->other;
	return s->requested ? s->consumer : NULL;
}

bool gpiod_line_is_requested(struct gpiod_line *line)
{
	fake_init();
	return fake.lines[line->offset].requested && fake.owner[line->offset] == line->chip;
}

int gpiod_line_request_bulk(struct gpiod_line_bulk *bulk,
                            const struct gpiod_line_request_config *config, const int *default_vals)
{
	fake_init();
	fake.stats.request_calls++;
	if (bulk == NULL || config == NULL || bulk->num_lines == 0 ||
	    bulk->num_lines > FAKE_GPIOD_BULK_MAX) {
		errno = EINVAL;
		return -1;
	}
	struct fake_gpiod_request *r = NULL;
	if (fake.n_requests < FAKE_GPIOD_REQUESTS_MAX) {
		r = &fake.requests[fake.n_requests++];
		memset(r, 0, sizeof(*r));
		r->n = bulk->num_lines;
		r->request_type = config->request_type;
		r->flags = config->flags;
		if (config->consumer != NULL)
			strncpy(r->consumer, config->consumer, sizeof(r->consumer) - 1);
		for (unsigned i = 0; i < bulk->num_lines; i++) {
			r->offsets[i] = bulk->lines[i]->offset;
			r->defaults[i] = default_vals != NULL ? default_vals[i] : 0;
		}
	}
	if (should_fail("gpiod_line_request_bulk"))
		return -1;
	/* One chip, distinct lines, all free: else the kernel refuses the lot. */
	for (unsigned i = 0; i < bulk->num_lines; i++) {
		const struct gpiod_line *line = bulk->lines[i];
		if (line->chip != bulk->lines[0]->chip) {
			errno = EINVAL;
			return -1;
		}
		for (unsigned j = 0; j < i; j++) {
			if (bulk->lines[j]->offset == line->offset) {
				errno = EBUSY;
				return -1;
			}
		}
		if (fake.lines[line->offset].requested || fake.lines[line->offset].other[0]) {
			errno = EBUSY;
			return -1;
		}
	}
	for (unsigned i = 0; i < bulk->num_lines; i++) {
		unsigned off = bulk->lines[i]->offset;
		struct fake_gpiod_line_state *s = &fake.lines[off];
		s->requested = true;
		s->output = config->request_type == GPIOD_LINE_REQUEST_DIRECTION_OUTPUT;
		s->active_low = (config->flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0;
		memset(s->consumer, 0, sizeof(s->consumer));
		if (config->consumer != NULL)
			strncpy(s->consumer, config->consumer, sizeof(s->consumer) - 1);
		fake.owner[off] = bulk->lines[i]->chip;
		log_event(FAKE_GPIOD_REQUEST, off, 0);
		if (s->output)
			drive(off, default_vals != NULL ? default_vals[i] : 0);
	}
	if (r != NULL)
		r->granted = true;
	return 0;
}

int gpiod_line_set_value_bulk(struct gpiod_line_bulk *bulk, const int *values)
{
	fake_init();
	fake.stats.set_calls++;
	if (should_fail("gpiod_line_set_value_bulk"))
		return -1;
	if (bulk == NULL || bulk->num_lines == 0) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned i = 0; i < bulk->num_lines; i++) {
		if (!gpiod_line_is_requested(bulk->lines[i]) ||
		    !fake.lines[bulk->lines[i]->offset].output) {
			errno = EPERM;
			return -1;
		}
	}
	for (unsigned i = 0; i < bulk->num_lines; i++)
		drive(bulk->lines[i]->offset, values != NULL ? values[i] : 0);
	return 0;
}

void gpiod_line_release_bulk(struct gpiod_line_bulk *bulk)
{
	fake_init();
	fake.stats.release_calls++;
	if (bulk == NULL)
		return;
	for (unsigned i = 0; i < bulk->num_lines; i++)
		if (gpiod_line_is_requested(bulk->lines[i]))
			release_line(bulk->lines[i]->offset);
}
