/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upload.c - see upload.h and docs/audit-upload.md.  The store keeps the
 * open batch; this file only turns it into bytes and POSTs them.
 */
#include "qrdesk/upload.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "qrdesk/hex.h"
#include "qrdesk/https.h"
#include "qrdesk/jsonl.h"
#include "qrdesk/trust.h"

#define REPLY_MAX (16 * 1024) /* the endpoint's reply is read for the log only */

struct body {
	struct jsonl lines;
	const char *batch_id;
	const char *desk;
};

/* One row: one line of JSON. */
static enum qd_err add_row(void *ctx, const struct store_audit_row *row)
{
	struct body *b = ctx;
	const struct audit_record *r = &row->rec;
	/* The desk id the row was written under (it may have been renamed since). */
	const char *desk = r->desk != NULL ? r->desk : b->desk;
	json_t *o = json_pack(
	        "{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I}", "batch", b->batch_id, "desk",
	        desk, "id", (json_int_t)row->id, "time_us", (json_int_t)r->time_us, "source",
	        jsonl_text_or_null(r->source), "verdict", jsonl_text_or_null(r->verdict), "reason",
	        jsonl_text_or_null(r->reason), "kid", jsonl_hex_or_null(r->kid, r->kid_len),
	        "clearance_hash", jsonl_hex_or_null(r->clearance_hash, TRUST_HASH_LEN),
	        "latency_us", (json_int_t)r->latency_us);
	return jsonl_add(&b->lines, o, JSON_ENSURE_ASCII);
}

enum qd_err upload_batch_body(struct store *store, const struct store_upload_batch *batch,
                              const char *desk, char **body, size_t *len, struct qd_errmsg *why)
{
	struct body b = {.batch_id = batch->id, .desk = desk != NULL ? desk : ""};
	*body = NULL;
	*len = 0;
	enum qd_err rc = store_upload_batch_rows(store, batch, add_row, &b, why);
	if (rc == QD_OK)
		rc = jsonl_ensure(&b.lines); /* every row purged meanwhile: an empty batch */
	if (rc != QD_OK) {
		if (rc == QD_ERR_NOMEM)
			qd_errmsg_set(why, "batch %s: out of memory", batch->id);
		free(b.lines.text);
		return rc;
	}
	*body = b.lines.text;
	*len = b.lines.len;
	return QD_OK;
}

/* ---- the POST ---------------------------------------------------------------------- */

struct reply {
	char text[256]; /* the first bytes, for the log */
	size_t len, total;
};

static size_t reply_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	if (r->total + n > REPLY_MAX)
		return 0; /* a reply this long is not ours: stop reading */
	size_t room = sizeof(r->text) - 1 - r->len;
	size_t take = n < room ? n : room;
	/* Only for the log: anything but printable ASCII becomes '?' (no forged log lines). */
	for (size_t i = 0; i < take; i++)
		r->text[r->len + i] = ptr[i] >= 0x20 && ptr[i] < 0x7f ? ptr[i] : '?';
	r->len += take;
	r->text[r->len] = '\0';
	r->total += n;
	return n;
}

static enum qd_err post_batch(CURL *c, const struct upload_options *o, const char *batch_id,
                              size_t rows, const char *body, size_t len, long *status,
                              struct qd_errmsg *why)
{
	char h_key[96], h_desk[96], h_rows[64];
	snprintf(h_key, sizeof(h_key), "Idempotency-Key: %s", batch_id);
	snprintf(h_desk, sizeof(h_desk), "X-Qrdesk-Desk: %s", o->desk != NULL ? o->desk : "");
	snprintf(h_rows, sizeof(h_rows), "X-Qrdesk-Rows: %zu", rows);
	struct curl_slist *headers = NULL, *h;
	const char *lines[] = {"Content-Type: application/x-ndjson", h_key, h_desk, h_rows,
	                       "Expect:"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		h = curl_slist_append(headers, lines[i]);
		if (h == NULL) {
			curl_slist_free_all(headers);
			return QD_ERR_NOMEM;
		}
		headers = h;
	}
	struct reply reply = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	long timeout = o->timeout_s > 0 ? o->timeout_s : 60L;
	/* The same set-up as the sync's fetches (CA, pin, proxy, abort); one POST has a whole
	 * time limit, and a stall is judged by it alone. */
	struct https_options ho = {
	        .ca_file = o->ca_file,
	        .pinned_public_key = o->pinned_public_key,
	        .proxy = o->proxy,
	        .connect_timeout_s = 15,
	        .timeout_s = timeout,
	        .low_speed_time_s = timeout,
	        .abort = o->abort,
	};
	CURLcode rc = https_setup(c, &ho, o->url, REPLY_MAX, errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	*status = 0;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	/* The handle must not keep pointers into this frame. */
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		qd_errmsg_set(why, "batch %s: stopped (the daemon is shutting down)", batch_id);
		return QD_ERR_NETWORK;
	}
	if (rc != CURLE_OK) {
		qd_errmsg_set(why, "batch %s: %s: %s", batch_id, o->url,
		              errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return QD_ERR_NETWORK;
	}
	if (*status < 200 || *status > 299) {
		qd_errmsg_set(why, "batch %s: %s: HTTP status %ld%s%.120s", batch_id, o->url,
		              *status, reply.len > 0 ? ": " : "", reply.text);
		return QD_ERR_NETWORK;
	}
	return QD_OK;
}

/* A new batch id: 128 random bits in hex (the same bits never come twice). */
static enum qd_err new_batch_id(char *out, size_t cap)
{
	uint8_t raw[16];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0)
			return QD_ERR_IO;
		got += (size_t)n;
	}
	hex_encode(raw, sizeof(raw), out, cap);
	return QD_OK;
}

enum qd_err upload_run(struct store *store, const struct upload_options *opts, int64_t now_us,
                       struct upload_result *result)
{
	memset(result, 0, sizeof(*result));
	struct qd_errmsg *why = &result->why;
	if (opts->url == NULL || strncmp(opts->url, "https://", 8) != 0) {
		qd_errmsg_set(why, "the upload URL must be https://");
		return result->status = QD_ERR_ARG;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		qd_errmsg_set(why, "cannot set up a transfer");
		return result->status = QD_ERR_NOMEM;
	}
	size_t rows_per_batch = opts->batch_rows > 0 ? opts->batch_rows : 500;
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < UPLOAD_BATCHES_PER_RUN && rc == QD_OK; i++) {
		if (opts->abort != NULL && atomic_load(opts->abort))
			break;
		char id[sizeof(((struct store_upload_batch *)0)->id)];
		rc = new_batch_id(id, sizeof(id));
		if (rc != QD_OK) {
			qd_errmsg_set(why, "cannot make a batch id: no randomness");
			break;
		}
		struct store_upload_batch batch;
		bool found = false;
		rc = store_upload_batch_open(store, rows_per_batch, id, now_us, &batch, &found,
		                             why);
		if (rc != QD_OK || !found)
			break;
		snprintf(result->last_batch, sizeof(result->last_batch), "%s", batch.id);
		char *body = NULL;
		size_t len = 0;
		rc = upload_batch_body(store, &batch, opts->desk, &body, &len, why);
		if (rc != QD_OK)
			break;
		rc = post_batch(c, opts, batch.id, batch.rows, body, len, &result->http_status,
		                why);
		free(body);
		if (rc == QD_OK)
			rc = store_upload_batch_done(store, &batch, now_us, why);
		if (rc == QD_OK) {
			result->batches++;
			result->rows += batch.rows;
		}
	}
	curl_easy_cleanup(c);
	return result->status = rc;
}
