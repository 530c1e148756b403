/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - the daemon's numbers in the Prometheus text exposition format
 * (version 0.0.4), for the kiosk server's GET /metrics.
 *
 * The loop thread owns the numbers: it records each scan's latency in a
 * struct metrics_latency and renders a snapshot into text, which the kiosk
 * publishes; no HTTP thread ever reads the pipeline.  The metric names and
 * their labels are listed in docs/kiosk.md.
 */
#ifndef QRDESK_METRICS_H
#define QRDESK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/trust.h"

/* Upper bounds of the latency buckets, in microseconds (+Inf is implied). */
#define METRICS_LATENCY_BUCKETS 10
extern const int64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS];

/* Text received -> indicators set, per verdict (a Prometheus histogram). */
struct metrics_latency {
	uint64_t buckets[METRICS_LATENCY_BUCKETS]; /* not cumulative: one count per range */
	uint64_t count;
	int64_t sum_us;
};

void metrics_latency_observe(struct metrics_latency *h, int64_t latency_us);

struct metrics_source {
	const char *name; /* "fifo" */
	const char *kind; /* "replay-lines" */
	bool running;
	uint64_t codes, dropped;
};

/* The sync worker's numbers; the snapshot's sync NULL: not rendered. */
struct metrics_sync {
	bool enabled;
	const uint64_t *by_outcome; /* syncs finished, indexed by enum qd_err (QD_OK: success) */
	size_t n_outcomes;
	int64_t last_success_at; /* Unix time; 0: none since start */
	unsigned consecutive_failures;
	bool upload_enabled;
	uint64_t upload_batches, upload_rows, upload_failures, upload_pending;
};

/* What one rendering shows; every pointer is read during metrics_render only. */
struct metrics_snapshot {
	const char *desk;
	const char *version;
	int64_t now;            /* wall clock, seconds since the epoch (ages are from it) */
	int64_t uptime_seconds; /* since the daemon started */
	const struct pipeline_counters *counters;
	const struct metrics_latency *latency;
	const struct trust_view *trust;
	bool indicators_healthy;
	const struct metrics_source *sources;
	size_t n_sources;
	const struct metrics_sync *sync; /* may be NULL */
};

/*
 * Render s as Prometheus text into a new NUL-terminated buffer (*out, free()
 * it; *len without the NUL).  QD_ERR_NOMEM if memory runs out.
 */
enum qd_err metrics_render(const struct metrics_snapshot *s, char **out, size_t *len);

#endif
