/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indicator_sim.c - the simulated indicator backend (see indicator.h).
 *
 * Every set() that changes the lines is a transition: it is kept in memory
 * with its monotonic time and, when a record file was given, appended to it
 * as one line "<t_us> <green> <red> <amber> <buzzer>\n" by a single write()
 * on an O_APPEND descriptor (no stdio buffer), so another process can follow
 * the file while the desk runs.
 *
 * The memory keeps at least the last SIM_EVENTS_KEEP transitions in one
 * contiguous array, oldest first: when the array (twice that size) is full,
 * its older half is dropped and the newer half moved to the front.  So
 * indicator_sim_events() always returns the last 1024 to 2047 transitions.
 */
#include "qrdesk/indicator.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_EVENTS_KEEP 1024
#define SIM_EVENTS_CAP  (2 * SIM_EVENTS_KEEP)

struct sim {
	bool on[INDICATOR_LINES];
	int record_fd; /* -1: no record file */
	size_t n_events;
	struct indicator_sim_event events[SIM_EVENTS_CAP];
};

static enum qd_err sim_record(struct sim *s, const struct indicator_sim_event *ev)
{
	if (s->record_fd < 0)
		return QD_OK;
	char line[64];
	int len = snprintf(line, sizeof(line), "%lld %d %d %d %d\n", (long long)ev->t_us,
	                   ev->on[INDICATOR_GREEN], ev->on[INDICATOR_RED], ev->on[INDICATOR_AMBER],
	                   ev->on[INDICATOR_BUZZER]);
	if (len < 0 || (size_t)len >= sizeof(line))
		return QD_ERR_IO;
	ssize_t n;
	do
		n = write(s->record_fd, line, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO; /* a short write on a regular file: out of space */
		return QD_ERR_IO;
	}
	return QD_OK;
}

static enum qd_err sim_set(void *ctx, const bool on[INDICATOR_LINES])
{
	struct sim *s = ctx;
	bool next[INDICATOR_LINES];
	for (size_t i = 0; i < INDICATOR_LINES; i++)
		next[i] = on[i] != false;
	if (memcmp(next, s->on, sizeof(next)) == 0)
		return QD_OK;
	memcpy(s->on, next, sizeof(next));
	if (s->n_events == SIM_EVENTS_CAP) {
		memmove(s->events, s->events + (SIM_EVENTS_CAP - SIM_EVENTS_KEEP),
		        SIM_EVENTS_KEEP * sizeof(s->events[0]));
		s->n_events = SIM_EVENTS_KEEP;
	}
	struct indicator_sim_event *ev = &s->events[s->n_events++];
	ev->t_us = loop_now_us();
	memcpy(ev->on, next, sizeof(next));
	/* The lines changed in any case; a failed record is reported (not healthy). */
	return sim_record(s, ev);
}

static void sim_all_off(void *ctx)
{
	static const bool off[INDICATOR_LINES];
	(void)sim_set(ctx, off);
}

static void sim_destroy(void *ctx)
{
	struct sim *s = ctx;
	if (s == NULL)
		return;
	sim_all_off(s);
	if (s->record_fd >= 0)
		close(s->record_fd);
	free(s);
}

static const struct indicator_backend_ops sim_ops = {
        .name = "sim",
        .set = sim_set,
        .all_off = sim_all_off,
        .destroy = sim_destroy,
};

enum qd_err indicator_sim_open(const char *record_path, struct indicator_backend *out,
                               struct qd_errmsg *why)
{
	if (out == NULL) {
		qd_errmsg_set(why, "sim: no backend to open into");
		return QD_ERR_ARG;
	}
	struct sim *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		qd_errmsg_set(why, "sim: out of memory");
		return QD_ERR_NOMEM;
	}
	s->record_fd = -1;
	if (record_path != NULL && record_path[0] != '\0') {
		s->record_fd = open(record_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->record_fd < 0) {
			qd_errmsg_set(why, "sim: cannot open the record file %s: %s", record_path,
			              strerror(errno));
			free(s);
			return QD_ERR_IO;
		}
	}
	memset(out, 0, sizeof(*out));
	out->ops = &sim_ops;
	out->ctx = s;
	out->healthy = true;
	return QD_OK;
}

size_t indicator_sim_events(const struct indicator_backend *sim,
                            const struct indicator_sim_event **events)
{
	if (events != NULL)
		*events = NULL;
	if (sim == NULL || sim->ops != &sim_ops || sim->ctx == NULL)
		return 0;
	const struct sim *s = sim->ctx;
	if (events != NULL)
		*events = s->events;
	return s->n_events;
}
