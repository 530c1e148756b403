/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - Prometheus text for GET /metrics (see metrics.h).
 *
 * Every family has HELP and TYPE lines; every known reason and kind is
 * listed even at zero, so a dashboard's rate() sees a series from the start
 * rather than appearing on the first red card.  Label values are escaped as
 * the format requires, though today they all come from our own tables.
 */
#include "qrdesk/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/verdict.h"

const int64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS] = {
        100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
};

void metrics_latency_observe(struct metrics_latency *h, int64_t latency_us)
{
	if (latency_us < 0)
		latency_us = 0;
	for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		if (latency_us <= metrics_latency_bounds_us[i]) {
			h->buckets[i]++;
			break;
		}
	}
	h->count++;
	h->sum_us += latency_us;
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void trust_doc(FILE *f, const char *metric, const char *doc, const struct trust_freshness *t,
                      int64_t value)
{
	if (!t->present)
		return;
	fprintf(f, "%s{document=\"%s\"} %lld\n", metric, doc, (long long)value);
}

/* The freeze, the sync worker and the audit upload. */
static void render_sync(FILE *f, const struct metrics_sync *s, const struct trust_view *t,
                        int64_t now)
{
	family(f, "qrdesk_trust_stale", "gauge",
	       "1 if the repository timestamp has expired (a freeze: no fresh trust data).");
	fprintf(f, "qrdesk_trust_stale %d\n",
	        t->timestamp.present && now >= t->timestamp.expires_at);
	family(f, "qrdesk_trust_stale_grace_seconds", "gauge",
	       "Seconds after the timestamp expires before green verdicts turn amber.");
	fprintf(f, "qrdesk_trust_stale_grace_seconds %lld\n", (long long)t->stale_grace);
	if (s == NULL)
		return;
	family(f, "qrdesk_sync_enabled", "gauge", "1 if the trust-data sync is configured.");
	fprintf(f, "qrdesk_sync_enabled %d\n", s->enabled);
	family(f, "qrdesk_syncs_total", "counter", "Syncs finished, by outcome (ok or the error).");
	for (size_t i = 0; i < s->n_outcomes; i++) {
		const char *name = qd_err_name((enum qd_err)i);
		if (strcmp(name, "unknown-error") != 0 || s->by_outcome[i] > 0)
			fprintf(f, "qrdesk_syncs_total{outcome=\"%s\"} %llu\n", name,
			        (unsigned long long)s->by_outcome[i]);
	}
	family(f, "qrdesk_sync_last_success_timestamp_seconds", "gauge",
	       "When the last sync succeeded (Unix time; 0: none since the daemon started).");
	fprintf(f, "qrdesk_sync_last_success_timestamp_seconds %lld\n",
	        (long long)s->last_success_at);
	family(f, "qrdesk_sync_consecutive_failures", "gauge",
	       "Syncs failed in a row (the back-off grows with it).");
	fprintf(f, "qrdesk_sync_consecutive_failures %u\n", s->consecutive_failures);
	family(f, "qrdesk_upload_enabled", "gauge", "1 if the audit upload is configured.");
	fprintf(f, "qrdesk_upload_enabled %d\n", s->upload_enabled);
	family(f, "qrdesk_upload_batches_total", "counter", "Audit batches the endpoint accepted.");
	fprintf(f, "qrdesk_upload_batches_total %llu\n", (unsigned long long)s->upload_batches);
	family(f, "qrdesk_upload_rows_total", "counter", "Audit rows marked uploaded.");
	fprintf(f, "qrdesk_upload_rows_total %llu\n", (unsigned long long)s->upload_rows);
	family(f, "qrdesk_upload_failures_total", "counter", "Upload rounds that failed.");
	fprintf(f, "qrdesk_upload_failures_total %llu\n", (unsigned long long)s->upload_failures);
	family(f, "qrdesk_audit_rows_pending", "gauge",
	       "Audit rows not yet uploaded (as of the last upload round).");
	fprintf(f, "qrdesk_audit_rows_pending %llu\n", (unsigned long long)s->upload_pending);
}

enum qd_err metrics_render(const struct metrics_snapshot *s, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (f == NULL)
		return QD_ERR_NOMEM;
	const struct pipeline_counters *c = s->counters;

	family(f, "qrdesk_build_info", "gauge", "The daemon's version and desk id (always 1).");
	fputs("qrdesk_build_info{version=\"", f);
	put_label(f, s->version);
	fputs("\",desk=\"", f);
	put_label(f, s->desk);
	fputs("\"} 1\n", f);
	family(f, "qrdesk_uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(f, "qrdesk_uptime_seconds %lld\n", (long long)s->uptime_seconds);

	family(f, "qrdesk_scans_total", "counter",
	       "Code texts received from all sources (including duplicates and empty ones).");
	fprintf(f, "qrdesk_scans_total %llu\n", (unsigned long long)c->scans);
	family(f, "qrdesk_scans_duplicate_total", "counter",
	       "Code texts suppressed because they were seen within the hold-off.");
	fprintf(f, "qrdesk_scans_duplicate_total %llu\n", (unsigned long long)c->duplicates);
	family(f, "qrdesk_scans_empty_total", "counter", "Empty code texts ignored.");
	fprintf(f, "qrdesk_scans_empty_total %llu\n", (unsigned long long)c->empty);

	family(f, "qrdesk_verdicts_total", "counter", "Verdicts given, by kind and reason code.");
	for (int r = 0; r < REASON_COUNT; r++) {
		enum verdict_reason reason = (enum verdict_reason)r;
		fprintf(f, "qrdesk_verdicts_total{kind=\"%s\",reason=\"%s\"} %llu\n",
		        verdict_kind_name(reason_kind(reason)), reason_code(reason),
		        (unsigned long long)c->by_reason[r]);
	}
	family(f, "qrdesk_audit_failures_total", "counter",
	       "Verdicts whose audit row could not be written.");
	fprintf(f, "qrdesk_audit_failures_total %llu\n", (unsigned long long)c->audit_failures);

	family(f, "qrdesk_scan_latency_seconds", "histogram",
	       "Time from a code text received to the indicators set.");
	uint64_t cumulative = 0;
	for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		cumulative += s->latency->buckets[i];
		fprintf(f, "qrdesk_scan_latency_seconds_bucket{le=\"%g\"} %llu\n",
		        (double)metrics_latency_bounds_us[i] / 1e6, (unsigned long long)cumulative);
	}
	fprintf(f, "qrdesk_scan_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	        (unsigned long long)s->latency->count);
	fprintf(f, "qrdesk_scan_latency_seconds_sum %.6f\n", (double)s->latency->sum_us / 1e6);
	fprintf(f, "qrdesk_scan_latency_seconds_count %llu\n",
	        (unsigned long long)s->latency->count);

	const struct trust_view *t = s->trust;
	/* The shown types of the list (trust.h), in its order. */
	struct {
		const char *name;
		const struct trust_freshness *f;
	} docs[TRUST_DOC_SLOTS];
	size_t n_docs = 0;
	for (size_t i = 0; i < trust_doc_types_count && n_docs < TRUST_DOC_SLOTS; i++)
		if (trust_doc_types[i].shown) {
			docs[n_docs].name = trust_doc_types[i].name;
			docs[n_docs++].f = trust_view_freshness(t, trust_doc_types[i].type);
		}
	family(f, "qrdesk_trust_version", "gauge", "Version of each installed trust document.");
	for (size_t i = 0; i < n_docs; i++)
		trust_doc(f, "qrdesk_trust_version", docs[i].name, docs[i].f,
		          (int64_t)docs[i].f->version);
	family(f, "qrdesk_trust_age_seconds", "gauge",
	       "Seconds since each installed trust document was signed.");
	for (size_t i = 0; i < n_docs; i++)
		trust_doc(f, "qrdesk_trust_age_seconds", docs[i].name, docs[i].f,
		          s->now - docs[i].f->signed_at);
	family(f, "qrdesk_trust_expiry_timestamp_seconds", "gauge",
	       "When each installed trust document expires (Unix time).");
	for (size_t i = 0; i < n_docs; i++)
		trust_doc(f, "qrdesk_trust_expiry_timestamp_seconds", docs[i].name, docs[i].f,
		          docs[i].f->expires_at);
	family(f, "qrdesk_trust_expired", "gauge",
	       "1 if the trust document is past its expiry (verdicts turn amber).");
	for (size_t i = 0; i < n_docs; i++)
		trust_doc(f, "qrdesk_trust_expired", docs[i].name, docs[i].f,
		          s->now >= docs[i].f->expires_at);
	family(f, "qrdesk_clock_suspect", "gauge",
	       "1 if the clock is behind the newest signed time seen (verdicts turn amber).");
	fprintf(f, "qrdesk_clock_suspect %d\n", s->now < t->time_floor);

	render_sync(f, s->sync, t, s->now);

	family(f, "qrdesk_indicators_healthy", "gauge", "1 if the LEDs and buzzer work.");
	fprintf(f, "qrdesk_indicators_healthy %d\n", s->indicators_healthy);
	family(f, "qrdesk_source_up", "gauge", "1 if the code source is running.");
	for (size_t i = 0; i < s->n_sources; i++) {
		fputs("qrdesk_source_up{source=\"", f);
		put_label(f, s->sources[i].name);
		fputs("\",kind=\"", f);
		put_label(f, s->sources[i].kind);
		fprintf(f, "\"} %d\n", s->sources[i].running);
	}
	family(f, "qrdesk_source_codes_total", "counter", "Code texts read from each source.");
	for (size_t i = 0; i < s->n_sources; i++) {
		fputs("qrdesk_source_codes_total{source=\"", f);
		put_label(f, s->sources[i].name);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->sources[i].codes);
	}
	family(f, "qrdesk_source_dropped_total", "counter",
	       "Inputs a source dropped (overlong tails, undecodable images...).");
	for (size_t i = 0; i < s->n_sources; i++) {
		fputs("qrdesk_source_dropped_total{source=\"", f);
		put_label(f, s->sources[i].name);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->sources[i].dropped);
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return QD_ERR_NOMEM;
	}
	if (fclose(f) != 0) {
		free(buf);
		return QD_ERR_NOMEM;
	}
	*out = buf;
	*len = n;
	return QD_OK;
}
