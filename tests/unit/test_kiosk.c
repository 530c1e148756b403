/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kiosk.c - the kiosk's HTTP server, for real: kiosk_start on
 * 127.0.0.1 and a free port, requests made with libcurl.  Security headers,
 * 404/405/403, the status and metrics texts, the event stream's framing and
 * resume, card text kept as text, the stream limit, technician requests,
 * start-up failures and a prompt stop with streams open.  Also the pieces
 * the server serialises: the event JSON, the passport mask, the country
 * table and the Prometheus text.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qrdesk/country.h"
#include "qrdesk/kiosk.h"
#include "qrdesk/loop.h"
#include "qrdesk/metrics.h"
#include "testutil.h"

#define XSS_NAME "<img src=x onerror=alert(1)>"

/* --- an HTTP client ------------------------------------------------------------------------ */

struct reply {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
};

static size_t append(char **buf, size_t *len, const char *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 1);
	assert_non_null(b);
	memcpy(b + *len, data, n);
	*len += n;
	b[*len] = '\0';
	*buf = b;
	return n;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	return append(&r->body, &r->len, data, size * n);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	return append(&r->headers, &r->hlen, data, size * n);
}

static CURL *easy(struct reply *r, uint16_t port, const char *method, const char *path,
                  struct curl_slist *hdrs)
{
	memset(r, 0, sizeof(*r));
	r->body = calloc(1, 1);
	r->headers = calloc(1, 1);
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	return c;
}

static void request(struct reply *r, uint16_t port, const char *method, const char *path,
                    const char *header)
{
	struct curl_slist *hdrs = header ? curl_slist_append(NULL, header) : NULL;
	CURL *c = easy(r, port, method, path, hdrs);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
}

static void reply_free(struct reply *r)
{
	free(r->body);
	free(r->headers);
}

/* The value of header name (case-insensitive), copied; "" if absent. */
static const char *header(const struct reply *r, const char *name)
{
	static char value[1024];
	value[0] = '\0';
	size_t n = strlen(name);
	for (const char *line = r->headers; line != NULL && *line != '\0';) {
		const char *end = strstr(line, "\r\n");
		if (end == NULL)
			break;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(end - v), v);
			return value;
		}
		line = end + 2;
	}
	return value;
}

static void assert_security_headers(const struct reply *r)
{
	const char *csp = header(r, "Content-Security-Policy");
	assert_non_null(strstr(csp, "default-src 'self'"));
	assert_non_null(strstr(csp, "script-src 'self'"));
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	assert_non_null(strstr(csp, "object-src 'none'"));
	assert_non_null(strstr(csp, "require-trusted-types-for 'script'"));
	assert_null(strstr(csp, "unsafe"));
	assert_string_equal(header(r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(header(r, "X-Frame-Options"), "DENY");
}

/* --- streams, through curl's multi interface (several at once) --------------------------- */

struct stream_client {
	CURL *easy;
	struct reply r;
	struct curl_slist *hdrs;
};

static void stream_open(CURLM *m, struct stream_client *s, uint16_t port, const char *header_line)
{
	s->hdrs = header_line ? curl_slist_append(NULL, header_line) : NULL;
	s->easy = easy(&s->r, port, "GET", "/events", s->hdrs);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 0L);
	curl_multi_add_handle(m, s->easy);
}

static void stream_close(CURLM *m, struct stream_client *s)
{
	curl_multi_remove_handle(m, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->hdrs);
	reply_free(&s->r);
}

/* Pump the multi handle until body of s contains needle (or 5 s pass). */
static bool pump_until(CURLM *m, struct stream_client *s, const char *needle)
{
	int64_t deadline = loop_now_us() + 5000000;
	while (loop_now_us() < deadline) {
		int running = 0;
		curl_multi_perform(m, &running);
		if (strstr(s->r.body, needle) != NULL)
			return true;
		curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	return false;
}

static void pump_for(CURLM *m, int ms)
{
	int64_t deadline = loop_now_us() + (int64_t)ms * 1000;
	while (loop_now_us() < deadline) {
		int running = 0;
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 20, NULL);
	}
}

/* --- fixtures ---------------------------------------------------------------------------- */

static int reloads;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_reload(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reload_lock);
	reloads++;
	pthread_mutex_unlock(&reload_lock);
}

static struct kiosk *start(const char *token)
{
	struct kiosk_config cfg = {.port = 0, .idle_ms = 5000, .on_reload = on_reload};
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1");
	snprintf(cfg.technician_token, sizeof(cfg.technician_token), "%s", token ? token : "");
	struct kiosk *k = NULL;
	struct qd_errmsg why = {{0}};
	if (kiosk_start(&cfg, &k, &why) != QD_OK)
		fail_msg("kiosk_start: %s", why.text);
	assert_true(kiosk_port(k) > 0);
	return k;
}

static void make_event(struct pipeline_event *ev, uint64_t seq, enum verdict_reason reason,
                       const char *name)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->wall_us = 1790000000LL * 1000000 + (int64_t)seq;
	ev->latency_us = 120;
	snprintf(ev->source, sizeof(ev->source), "fifo");
	verdict_set(&ev->verdict, reason);
	ev->verdict.has_claims = true;
	ev->verdict.signature_ok = true;
	credential_example(&ev->verdict.cred, "2611012345", 1780000000, 1800000000);
	if (name != NULL)
		snprintf(ev->verdict.cred.clearance.name, sizeof(ev->verdict.cred.clearance.name),
		         "%s", name);
}

/* --- pieces ------------------------------------------------------------------------------ */

static void test_mask_passport(void **state)
{
	(void)state;
	char out[17];
	kiosk_mask_passport("A12345678", out);
	assert_string_equal(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	                         "5678");
	kiosk_mask_passport("ABCDE", out);
	assert_string_equal(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	                         "BCDE");
	kiosk_mask_passport("ABCD", out);
	assert_string_equal(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2");
	kiosk_mask_passport("ABCDEFGHIJKLMNOP", out); /* the longest a card allows */
	assert_string_equal(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	                         "MNOP");
}

static void test_country_table(void **state)
{
	(void)state;
	size_t n = 0;
	const struct country *t = country_table(&n);
	assert_true(n >= 19);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(t[i].code), 2);
		assert_true(t[i].code[0] >= 'A' && t[i].code[0] <= 'Z');
		assert_true(t[i].code[1] >= 'A' && t[i].code[1] <= 'Z');
		assert_true(strlen(t[i].en) > 0);
		/* Bengali script: U+0980..U+09FF is E0 A6 80 .. E0 A7 BF in UTF-8. */
		assert_true(
		        (unsigned char)t[i].bn[0] == 0xE0 &&
		        ((unsigned char)t[i].bn[1] == 0xA6 || (unsigned char)t[i].bn[1] == 0xA7));
		if (i > 0)
			assert_true(strcmp(t[i - 1].code, t[i].code) <
			            0); /* sorted: bsearch works */
		assert_ptr_equal(country_find(t[i].code), &t[i]);
	}
	/* The destinations the issue names. */
	static const char *const must[] = {"SA", "AE", "KW", "QA", "OM", "BH", "MY",
	                                   "SG", "JO", "LB", "BN", "MV", "MU", "IT",
	                                   "GB", "JP", "KR", "RO", "HR"};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		assert_non_null(country_find(must[i]));
	assert_string_equal(country_find("KW")->en, "Kuwait");
	assert_string_equal(country_find("KW")->bn, "কুয়েত");
	assert_null(country_find("ZZ"));
	assert_null(country_find("kw"));
	assert_null(country_find("K"));
	assert_null(country_find("KWT"));
	assert_null(country_find(""));
	assert_null(country_find(NULL));
}

static void test_event_json(void **state)
{
	(void)state;
	struct pipeline_event ev;
	make_event(&ev, 7, REASON_OK, NULL);
	json_t *j = kiosk_event_json(&ev, "DAC-T1-03");
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "valid");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "OK");
	assert_string_equal(json_string_value(json_object_get(j, "reason_bn")), "বৈধ ছাড়পত্র");
	assert_string_equal(json_string_value(json_object_get(j, "desk")), "DAC-T1-03");
	json_t *card = json_object_get(j, "card");
	assert_string_equal(json_string_value(json_object_get(card, "name")), "RAHIMA KHATUN");
	assert_string_equal(json_string_value(json_object_get(card, "passport")),
	                    "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	                    "5678");
	json_t *dest = json_object_get(card, "destination");
	assert_string_equal(json_string_value(json_object_get(dest, "code")), "KW");
	assert_string_equal(json_string_value(json_object_get(dest, "en")), "Kuwait");
	assert_string_equal(json_string_value(json_object_get(dest, "bn")), "কুয়েত");
	json_t *cat = json_object_get(card, "category");
	assert_string_equal(json_string_value(json_object_get(cat, "en")), "Domestic worker");
	assert_string_equal(json_string_value(json_object_get(card, "clearance_no")), "2611012345");
	/* The full passport number never leaves C. */
	char *text = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(text, "A12345678"));
	assert_null(strstr(text, "12345678"));
	free(text);
	json_decref(j);

	/* An unknown destination: the code alone, names null. */
	snprintf(ev.verdict.cred.clearance.destination, 3, "ZZ");
	j = kiosk_event_json(&ev, "D");
	dest = json_object_get(json_object_get(j, "card"), "destination");
	assert_string_equal(json_string_value(json_object_get(dest, "code")), "ZZ");
	assert_true(json_is_null(json_object_get(dest, "en")));
	json_decref(j);

	/* Claims no trusted key verified are not shown at all. */
	make_event(&ev, 8, REASON_BAD_SIGNATURE, NULL);
	ev.verdict.signature_ok = false;
	j = kiosk_event_json(&ev, "D");
	assert_null(json_object_get(j, "card"));
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "invalid");
	json_decref(j);

	/* Already used: when and where first. */
	make_event(&ev, 9, REASON_ALREADY_USED, NULL);
	ev.already_used = true;
	ev.first_use_us = 1790000000LL * 1000000;
	snprintf(ev.first_use_desk, sizeof(ev.first_use_desk), "DAC-T1-01");
	j = kiosk_event_json(&ev, "D");
	json_t *first = json_object_get(j, "first_use");
	assert_string_equal(json_string_value(json_object_get(first, "desk")), "DAC-T1-01");
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "review");
	json_decref(j);
}

/* A traveller transaction's verdict: the checklist, and the whole number of a matching MRZ. */
static void test_event_json_bound(void **state)
{
	(void)state;
	struct pipeline_event ev;
	make_event(&ev, 10, REASON_PASSPORT_MISMATCH, NULL);
	ev.bound = true;
	ev.require = BINDING_REQUIRE_CARD_PASSPORT;
	ev.parts[BINDING_DOC_CARD].state = BINDING_PASSED;
	ev.parts[BINDING_DOC_PASSPORT].state = BINDING_FAILED;
	ev.parts[BINDING_DOC_PASSPORT].reason = REASON_PASSPORT_MISMATCH;
	snprintf(ev.parts[BINDING_DOC_PASSPORT].field, BINDING_FIELD_MAX, "birth_date");
	json_t *j = kiosk_event_json(&ev, "D");
	json_t *b = json_object_get(j, "binding");
	assert_string_equal(json_string_value(json_object_get(b, "require")), "card+passport");
	assert_true(json_is_false(json_object_get(b, "passport_matched")));
	json_t *docs = json_object_get(b, "documents");
	assert_int_equal(json_array_size(docs), 3);
	static const char *const want[][5] = {
	        {"card", "passed", NULL, NULL, "t"},
	        {"passport", "failed", "PASSPORT_MISMATCH", "birth_date", "t"},
	        {"boarding", "not_required", NULL, NULL, "f"},
	};
	for (size_t i = 0; i < 3; i++) {
		json_t *d = json_array_get(docs, i);
		assert_string_equal(json_string_value(json_object_get(d, "document")), want[i][0]);
		assert_string_equal(json_string_value(json_object_get(d, "state")), want[i][1]);
		if (want[i][2] != NULL) {
			assert_string_equal(json_string_value(json_object_get(d, "reason")),
			                    want[i][2]);
			assert_string_equal(json_string_value(json_object_get(d, "field")),
			                    want[i][3]);
		} else {
			assert_null(json_object_get(d, "reason"));
		}
		assert_true(json_is_true(json_object_get(d, "required")) == (want[i][4][0] == 't'));
	}
	/* Not matched: masked, as for any card. */
	json_t *card = json_object_get(j, "card");
	assert_true(json_is_false(json_object_get(card, "passport_checked")));
	char *text = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(text, "12345678"));
	free(text);
	json_decref(j);

	/* A boarding pass required but never scanned is "missing". */
	ev.require = BINDING_REQUIRE_CARD_PASSPORT_BOARDING;
	j = kiosk_event_json(&ev, "D");
	json_t *boarding =
	        json_array_get(json_object_get(json_object_get(j, "binding"), "documents"), 2);
	assert_string_equal(json_string_value(json_object_get(boarding, "state")), "missing");
	json_decref(j);

	/* The MRZ matched the card: the number in full. */
	make_event(&ev, 11, REASON_OK, NULL);
	ev.bound = true;
	ev.require = BINDING_REQUIRE_CARD_PASSPORT;
	ev.parts[BINDING_DOC_CARD].state = BINDING_PASSED;
	ev.parts[BINDING_DOC_PASSPORT].state = BINDING_PASSED;
	ev.passport_matched = true;
	memcpy(ev.passport_no, "A12345678", sizeof(ev.passport_no));
	j = kiosk_event_json(&ev, "D");
	card = json_object_get(j, "card");
	assert_string_equal(json_string_value(json_object_get(card, "passport")),
	                    ev.verdict.cred.clearance.passport_no);
	assert_true(json_is_true(json_object_get(card, "passport_checked")));
	json_decref(j);
	/* Another number than the card's is never shown, matched or not. */
	snprintf(ev.passport_no, sizeof(ev.passport_no), "B00000001");
	j = kiosk_event_json(&ev, "D");
	assert_true(json_is_false(json_object_get(json_object_get(j, "card"), "passport_checked")));
	json_decref(j);
	/* A card judged alone has no checklist. */
	ev.bound = false;
	j = kiosk_event_json(&ev, "D");
	assert_null(json_object_get(j, "binding"));
	json_decref(j);
}

/* Every line of the exposition format: "# HELP", "# TYPE", or a sample of a declared family. */
static void assert_prometheus(const char *text, size_t min_lines)
{
	regex_t sample;
	assert_int_equal(
	        regcomp(&sample,
	                "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
	                "\\\\.)*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
	                "(-?[0-9.e+-]+|\\+Inf|NaN)$",
	                REG_EXTENDED),
	        0);
	char *copy = strdup(text);
	char family[128] = "";
	size_t lines = 0;
	assert_true(text[strlen(text) - 1] == '\n');
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			continue;
		}
		regmatch_t m[2];
		if (regexec(&sample, line, 2, m, 0) != 0)
			fail_msg("not a Prometheus sample line: '%s'", line);
		/* A sample belongs to the family declared last (histograms add suffixes). */
		if (strncmp(line, family, strlen(family)) != 0)
			fail_msg("sample '%s' outside its family %s", line, family);
	}
	assert_true(lines >= min_lines);
	free(copy);
	regfree(&sample);
}

static void test_metrics_render(void **state)
{
	(void)state;
	struct pipeline_counters c = {.scans = 5, .duplicates = 1};
	c.by_kind[VERDICT_VALID] = 3;
	c.by_reason[REASON_OK] = 3;
	c.by_reason[REASON_CARD_REVOKED] = 1;
	struct metrics_latency h;
	memset(&h, 0, sizeof(h));
	metrics_latency_observe(&h, 90);
	metrics_latency_observe(&h, 100);
	metrics_latency_observe(&h, 3000);
	metrics_latency_observe(&h, 5000000);
	struct trust_view tv = {0};
	tv.keyset = (struct trust_freshness){
	        .present = true, .version = 4, .signed_at = 1000, .expires_at = 5000};
	tv.revocations = (struct trust_freshness){
	        .present = true, .version = 9, .signed_at = 1500, .expires_at = 1900};
	tv.time_floor = 1500;
	struct metrics_source src = {
	        .name = "fi\"fo", .kind = "replay-lines", .running = true, .codes = 5};
	struct metrics_snapshot s = {.desk = "DAC-T1-03",
	                             .version = "0.1.0",
	                             .now = 2000,
	                             .uptime_seconds = 42,
	                             .counters = &c,
	                             .latency = &h,
	                             .trust = &tv,
	                             .indicators_healthy = true,
	                             .sources = &src,
	                             .n_sources = 1};
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(metrics_render(&s, &text, &len), QD_OK);
	assert_int_equal(strlen(text), len);
	assert_prometheus(text, 60);
	assert_non_null(strstr(text, "\nqrdesk_verdicts_total{kind=\"valid\",reason=\"OK\"} 3\n"));
	assert_non_null(strstr(text, "{kind=\"invalid\",reason=\"CARD_REVOKED\"} 1\n"));
	assert_non_null(strstr(text, "{kind=\"review\",reason=\"ALREADY_USED\"} 0\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_bucket{le=\"0.0001\"} 2\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_bucket{le=\"0.005\"} 3\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_bucket{le=\"0.1\"} 3\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_count 4\n"));
	assert_non_null(strstr(text, "qrdesk_scan_latency_seconds_sum 5.003190\n"));
	assert_non_null(strstr(text, "qrdesk_trust_age_seconds{document=\"keyset\"} 1000\n"));
	assert_non_null(strstr(text, "qrdesk_trust_age_seconds{document=\"revocations\"} 500\n"));
	assert_non_null(strstr(text, "qrdesk_trust_expired{document=\"revocations\"} 1\n"));
	assert_null(strstr(text, "document=\"policy\"")); /* not installed: no series */
	assert_non_null(strstr(text, "qrdesk_clock_suspect 0\n"));
	assert_non_null(
	        strstr(text, "qrdesk_source_up{source=\"fi\\\"fo\",kind=\"replay-lines\"} 1"));
	free(text);
}

/* --- the server ------------------------------------------------------------------------- */

static void test_static_and_errors(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	uint16_t port = kiosk_port(k);
	struct reply r;

	request(&r, port, "GET", "/", NULL);
	assert_int_equal(r.status, 200);
	assert_security_headers(&r);
	assert_string_equal(header(&r, "Content-Type"), "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "Ready to scan"));
	assert_non_null(strstr(r.body, "স্ক্যান করুন"));
	assert_non_null(strstr(r.body, "<script src=\"/kiosk.js\""));
	assert_null(strstr(r.body, "<script>")); /* no inline script */
	assert_null(strstr(r.body, "http://"));  /* nothing fetched from elsewhere */
	assert_null(strstr(r.body, "https://"));
	reply_free(&r);

	request(&r, port, "GET", "/kiosk.js", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "text/javascript; charset=utf-8");
	assert_null(strstr(r.body, "innerHTML"));
	assert_null(strstr(r.body, "eval("));
	reply_free(&r);
	request(&r, port, "GET", "/kiosk.css", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "local(\"Noto Sans Bengali\")"));
	reply_free(&r);

	request(&r, port, "GET", "/nope", NULL);
	assert_int_equal(r.status, 404);
	assert_security_headers(&r);
	reply_free(&r);
	request(&r, port, "GET", "/../etc/passwd", NULL);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	request(&r, port, "GET", "/index.html", NULL);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	request(&r, port, "DELETE", "/", NULL);
	assert_int_equal(r.status, 405);
	assert_string_equal(header(&r, "Allow"), "GET, HEAD");
	reply_free(&r);
	request(&r, port, "POST", "/api/status", NULL);
	assert_int_equal(r.status, 405);
	reply_free(&r);
	request(&r, port, "HEAD", "/", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	reply_free(&r);

	/* Host: IP literals and localhost only (DNS rebinding arrives under a name). */
	request(&r, port, "GET", "/", "Host: evil.example:8080");
	assert_int_equal(r.status, 403);
	reply_free(&r);
	request(&r, port, "GET", "/", "Host: 127.0.0.1.evil.example");
	assert_int_equal(r.status, 403);
	reply_free(&r);
	request(&r, port, "GET", "/", "Host: localhost:8080");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	request(&r, port, "GET", "/", "Host: [::1]:8080");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	request(&r, port, "GET", "/", "Host: [::1]x");
	assert_int_equal(r.status, 403);
	reply_free(&r);

	/* /alive: readable by the start page's opaque (file://) origin, and by it only; it says
	 * nothing but that the daemon is up. */
	request(&r, port, "GET", "/alive", "Origin: null");
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Access-Control-Allow-Origin"), "null");
	assert_string_equal(r.body, "up\n");
	reply_free(&r);
	request(&r, port, "GET", "/", NULL);
	assert_string_equal(header(&r, "Access-Control-Allow-Origin"), "");
	reply_free(&r);
	kiosk_stop(k);
}

static void test_status_and_metrics(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	uint16_t port = kiosk_port(k);
	struct reply r;
	request(&r, port, "GET", "/api/status", NULL);
	assert_int_equal(r.status, 503); /* nothing published yet */
	reply_free(&r);
	request(&r, port, "GET", "/metrics", NULL);
	assert_int_equal(r.status, 503);
	reply_free(&r);

	assert_int_equal(
	        kiosk_publish_status(k, "{\"desk\":\"D\"}",
	                             "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n"),
	        QD_OK);
	assert_int_equal(kiosk_publish_status(k, "{\"a\":\n1}", "x"), QD_ERR_FORMAT);
	request(&r, port, "GET", "/api/status", NULL);
	assert_int_equal(r.status, 200);
	assert_security_headers(&r);
	assert_string_equal(header(&r, "Content-Type"), "application/json");
	assert_string_equal(header(&r, "Cache-Control"), "no-store");
	assert_string_equal(r.body, "{\"desk\":\"D\"}");
	reply_free(&r);
	request(&r, port, "GET", "/metrics", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	assert_prometheus(r.body, 12);
	assert_non_null(strstr(r.body, "\nx_total 1\n"));
	assert_non_null(strstr(r.body, "\nqrdesk_kiosk_event_streams 0\n"));
	reply_free(&r);
	kiosk_stop(k);
}

static void test_event_stream(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	uint16_t port = kiosk_port(k);
	assert_int_equal(kiosk_publish_status(k, "{\"desk\":\"D\"}", "x 1\n"), QD_OK);
	CURLM *m = curl_multi_init();
	struct stream_client s;
	stream_open(m, &s, port, NULL);
	assert_true(pump_until(m, &s, "\n\n"));
	/* The first message: the reconnection delay, then the status. */
	assert_true(strncmp(s.r.body, "retry: 1000\nevent: status\ndata: {\"desk\":\"D\"}\n\n",
	                    46) == 0);
	assert_string_equal(header(&s.r, "Content-Type"), "text/event-stream; charset=utf-8");
	assert_security_headers(&s.r);

	/* A verdict with a hostile name: one data line of JSON that decodes to the same text. */
	struct pipeline_event ev;
	make_event(&ev, 1, REASON_OK, XSS_NAME "\"\\");
	int64_t t0 = loop_now_us();
	assert_int_equal(kiosk_publish_verdict(k, &ev, "D"), QD_OK);
	assert_true(pump_until(m, &s, "event: verdict\n"));
	assert_true(pump_until(m, &s, "}\n\n"));
	int64_t delivered = loop_now_us() - t0;
	assert_true(delivered < 500000); /* pushed, not waiting for the keep-alive */
	const char *msg = strstr(s.r.body, "id: ");
	assert_non_null(msg);
	char boot[32];
	unsigned long long seq = 0;
	assert_int_equal(sscanf(msg, "id: %31[0-9a-f].%llu\nevent: verdict\n", boot, &seq), 2);
	assert_int_equal(seq, 1);
	const char *data = strstr(msg, "\ndata: ") + 7;
	const char *end = strstr(data, "\n\n");
	assert_null(memchr(data, '\n', (size_t)(end - data))); /* one line */
	json_error_t jerr;
	json_t *j = json_loadb(data, (size_t)(end - data), 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "card"), "name")),
	                    XSS_NAME "\"\\");
	json_decref(j);

	/* The keep-alive: the status again within about a second. */
	size_t before = s.r.len;
	pump_for(m, 1300);
	assert_non_null(strstr(s.r.body + before, "event: status\n"));

	/* Resume: a stream that saw #1 gets #2 and #3 published since. */
	char last_id[64];
	snprintf(last_id, sizeof(last_id), "Last-Event-ID: %s.1", boot);
	make_event(&ev, 2, REASON_CARD_REVOKED, NULL);
	kiosk_publish_verdict(k, &ev, "D");
	make_event(&ev, 3, REASON_CARD_EXPIRED, NULL);
	kiosk_publish_verdict(k, &ev, "D");
	struct stream_client resumed, stranger;
	stream_open(m, &resumed, port, last_id);
	stream_open(m, &stranger, port, "Last-Event-ID: 1234.1"); /* another daemon's id */
	char want[64];
	snprintf(want, sizeof(want), "id: %s.3\n", boot);
	assert_true(pump_until(m, &resumed, want));
	snprintf(want, sizeof(want), "id: %s.2\n", boot);
	assert_non_null(strstr(resumed.r.body, want));
	assert_true(pump_until(m, &stranger, "event: status"));
	pump_for(m, 200);
	assert_null(strstr(stranger.r.body, "event: verdict"));

	/* Stopping with streams open ends them and returns promptly. */
	int64_t t1 = loop_now_us();
	kiosk_stop(k);
	assert_true(loop_now_us() - t1 < 3000000);
	/* Each ended whole, its last chunk sent: a cut one is a broken response to the
	 * browser (curl: a partial file), an ended one is just reconnected. */
	int ended = 0, running = 1;
	for (int64_t until = loop_now_us() + 5000000; running > 0 && loop_now_us() < until;) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 20, NULL);
	}
	CURLMsg *msg_done;
	int left = 0;
	while ((msg_done = curl_multi_info_read(m, &left)) != NULL)
		if (msg_done->msg == CURLMSG_DONE) {
			assert_int_equal(msg_done->data.result, CURLE_OK);
			ended++;
		}
	assert_int_equal(ended, 3);
	stream_close(m, &resumed);
	stream_close(m, &stranger);
	stream_close(m, &s);
	curl_multi_cleanup(m);
}

/* Open this client's KIOSK_STREAMS_MAX streams on port: one more gets 503. */
static void fill_streams(CURLM *m, struct stream_client *s, uint16_t port)
{
	for (size_t i = 0; i < KIOSK_STREAMS_MAX; i++)
		stream_open(m, &s[i], port, NULL);
	for (size_t i = 0; i < KIOSK_STREAMS_MAX; i++)
		assert_true(pump_until(m, &s[i], "event: status"));
	struct reply r;
	request(&r, port, "GET", "/events", NULL);
	assert_int_equal(r.status, 503);
	assert_string_equal(header(&r, "Retry-After"), "1");
	reply_free(&r);
}

static void test_stream_limit(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	uint16_t port = kiosk_port(k);
	kiosk_publish_status(k, "{}", "x 1\n");
	CURLM *m = curl_multi_init();
	struct stream_client s[KIOSK_STREAMS_MAX];
	fill_streams(m, s, port);
	struct reply r;
	/* The other requests still work: connections are capped above the streams. */
	request(&r, port, "GET", "/metrics", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "qrdesk_kiosk_event_streams 8\n"));
	assert_non_null(strstr(r.body, "qrdesk_kiosk_streams_refused_total 1\n"));
	reply_free(&r);
	/* A closed stream gives its slot back (noticed at its next keep-alive). */
	stream_close(m, &s[0]);
	int64_t deadline = loop_now_us() + 4000000;
	long status = 0;
	while (loop_now_us() < deadline && status != 200) {
		pump_for(m, 100);
		struct curl_slist *none = NULL;
		struct reply r2;
		CURL *c = easy(&r2, port, "GET", "/events", none);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
		curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		reply_free(&r2);
	}
	assert_int_equal(status, 200);
	kiosk_stop(k);
	for (size_t i = 1; i < KIOSK_STREAMS_MAX; i++)
		stream_close(m, &s[i]);
	curl_multi_cleanup(m);
}

/* All seven headers docs/kiosk.md lists, exactly. */
static void assert_all_security_headers(const struct reply *r, const char *what)
{
	static const char *const want[][2] = {
	        {"X-Content-Type-Options", "nosniff"},
	        {"X-Frame-Options", "DENY"},
	        {"Referrer-Policy", "no-referrer"},
	        {"Cross-Origin-Opener-Policy", "same-origin"},
	        {"Cross-Origin-Resource-Policy", "same-origin"},
	        {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=()"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strcmp(header(r, want[i][0]), want[i][1]) != 0)
			fail_msg("%s (%ld): %s is '%s'", what, r->status, want[i][0],
			         header(r, want[i][0]));
	if (strstr(header(r, "Content-Security-Policy"), "trusted-types 'none'") == NULL)
		fail_msg("%s (%ld): no or a partial Content-Security-Policy", what, r->status);
	assert_security_headers(r);
}

/*
 * Every answer the daemon makes - each route, each error it sends, both
 * listeners - carries every security header.
 */
static void test_every_answer_has_the_headers(void **state)
{
	(void)state;
	if (getenv("QRDESK_TEST_EMULATED") != NULL)
		skip(); /* qemu-user: no sock_diag, so no peer uid (tests/CMakeLists.txt) */
	static const char token[] = "s3cret-token-0123456789";
	struct kiosk_config cfg = {.port = 0,
	                           .idle_ms = 5000,
	                           .on_reload = on_reload,
	                           .display = true,
	                           .display_uid = (uint32_t)getuid()};
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1");
	snprintf(cfg.technician_token, sizeof(cfg.technician_token), "%s", token);
	struct kiosk *k = NULL;
	struct qd_errmsg why = {{0}};
	if (kiosk_start(&cfg, &k, &why) != QD_OK)
		fail_msg("kiosk_start: %s", why.text);
	static const struct {
		const char *method, *path, *header;
		long status;
		bool before_status; /* asked before any status is published */
	} asks[] = {
	        {"GET", "/api/status", NULL, 503, true},
	        {"GET", "/metrics", NULL, 503, true},
	        {"GET", "/", NULL, 200, false},
	        {"HEAD", "/", NULL, 200, false},
	        {"GET", "/kiosk.js", NULL, 200, false},
	        {"GET", "/kiosk.css", NULL, 200, false},
	        {"GET", "/api/status", NULL, 200, false},
	        {"GET", "/metrics", NULL, 200, false},
	        {"GET", "/alive", NULL, 200, true},
	        {"GET", "/alive", NULL, 200, false},
	        {"GET", "/nothing-here", NULL, 404, false},
	        {"POST", "/", NULL, 405, false},
	        {"DELETE", "/api/status", NULL, 405, false},
	        {"GET", "/", "Host: attacker.example", 403, false},
	        {"GET", "/api/tech/recent", NULL, 401, false},
	        {"GET", "/api/tech/recent", "Authorization: Bearer s3cret-token-0123456789", 200,
	         false},
	        {"POST", "/api/tech/reload", "Authorization: Bearer s3cret-token-0123456789", 202,
	         false},
	        {"GET", "/api/tech/nothing", "Authorization: Bearer s3cret-token-0123456789", 404,
	         false},
	};
	for (int published = 0; published < 2; published++) {
		if (published)
			kiosk_publish_status(k, "{}", "x 1\n");
		for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
			if (asks[i].before_status != !published)
				continue;
			uint16_t ports[2] = {kiosk_port(k), kiosk_display_port(k)};
			for (size_t p = 0; p < 2; p++) {
				struct reply r;
				request(&r, ports[p], asks[i].method, asks[i].path, asks[i].header);
				char what[160];
				snprintf(what, sizeof(what), "%s %s on the %s listener",
				         asks[i].method, asks[i].path,
				         p == 0 ? "main" : "display's");
				if (r.status != asks[i].status)
					fail_msg("%s: %ld, not %ld", what, r.status,
					         asks[i].status);
				assert_all_security_headers(&r, what);
				reply_free(&r);
			}
		}
	}
	/* The event stream's 200, and its 503 when this client has its share. */
	CURLM *m = curl_multi_init();
	struct stream_client s[KIOSK_STREAMS_MAX];
	fill_streams(m, s, kiosk_port(k));
	assert_all_security_headers(&s[0].r, "GET /events");
	struct reply r;
	request(&r, kiosk_port(k), "GET", "/events", NULL);
	assert_int_equal(r.status, 503);
	assert_all_security_headers(&r, "GET /events over the limit");
	reply_free(&r);
	kiosk_stop(k);
	for (size_t i = 0; i < KIOSK_STREAMS_MAX; i++)
		stream_close(m, &s[i]);
	curl_multi_cleanup(m);
}

/* Send raw bytes, return the status line's code and whether a CSP header came (one read of
 * the whole answer: libmicrohttpd closes after these). */
static long raw_request(uint16_t port, const char *head, size_t head_len, bool *csp)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t off = 0;
	while (off < head_len) {
		ssize_t n = send(fd, head + off, head_len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer and close before reading it all */
		off += (size_t)n;
	}
	char buf[4096] = "";
	size_t got = 0;
	for (ssize_t n;
	     got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0;)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	long status = 0;
	if (sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
		fail_msg("no status line in '%.80s'", buf);
	for (size_t i = 0; i < got; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	*csp = strstr(buf, "\r\ncontent-security-policy:") != NULL;
	return status;
}

/*
 * The answers libmicrohttpd makes itself, before the daemon sees a request:
 * exactly those docs/kiosk.md lists as carrying no security headers.  If a
 * libmicrohttpd upgrade changes them, this fails: update the docs with it.
 */
static void test_library_answers(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	uint16_t port = kiosk_port(k);
	enum { BIG = 64 * 1024 }; /* past libmicrohttpd's per-connection buffer */
	static const struct {
		const char *before;
		size_t pad; /* this many 'a's between before and after */
		const char *after;
		long status;
		bool csp;
	} cases[] = {
	        /* 414: a request line larger than the connection's buffer. */
	        {"GET /", BIG, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, false},
	        /* 431: headers larger than it. */
	        {"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", BIG, "\r\n\r\n", 431, false},
	        /* 505: an HTTP version other than 1.0 and 1.1. */
	        {"GET / HTTP/2.5\r\nHost: 127.0.0.1\r\n\r\n", 0, "", 505, false},
	        /* 400: a header line without a colon. */
	        {"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n", 0, "", 400, false},
	        /* HTTP/1.1 without Host is not refused by the library: the daemon answers it. */
	        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "", 200, true},
	};
	char *req = malloc(BIG + 256);
	assert_non_null(req);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].before);
		memcpy(req, cases[i].before, n);
		memset(req + n, 'a', cases[i].pad);
		n += cases[i].pad;
		memcpy(req + n, cases[i].after, strlen(cases[i].after));
		n += strlen(cases[i].after);
		bool csp = !cases[i].csp;
		assert_int_equal(raw_request(port, req, n, &csp), cases[i].status);
		assert_int_equal(csp, cases[i].csp);
	}
	/* The same server still answers a good request with every header. */
	struct reply r;
	request(&r, port, "GET", "/", NULL);
	assert_int_equal(r.status, 200);
	assert_all_security_headers(&r, "GET / after the broken requests");
	reply_free(&r);
	free(req);
	kiosk_stop(k);
}

static struct kiosk *start_display(uint32_t display_uid)
{
	struct kiosk_config cfg = {
	        .port = 0, .idle_ms = 5000, .display = true, .display_uid = display_uid};
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1");
	struct kiosk *k = NULL;
	struct qd_errmsg why = {{0}};
	if (kiosk_start(&cfg, &k, &why) != QD_OK)
		fail_msg("kiosk_start: %s", why.text);
	return k;
}

/*
 * The display's listener: its user gets the page and streams however full
 * the main port's caps are; another user's connection is closed at accept.
 */
static void test_display_listener(void **state)
{
	(void)state;
	if (getenv("QRDESK_TEST_EMULATED") != NULL)
		skip(); /* qemu-user: no sock_diag, so no peer uid (tests/CMakeLists.txt) */
	struct kiosk *k = start(NULL);
	assert_int_equal(kiosk_display_port(k), 0); /* off unless asked for */
	kiosk_stop(k);

	k = start_display((uint32_t)getuid());
	uint16_t port = kiosk_port(k), dport = kiosk_display_port(k);
	assert_true(dport > 0 && dport != port);
	kiosk_publish_status(k, "{}", "x 1\n");
	CURLM *m = curl_multi_init();
	struct stream_client s[KIOSK_STREAMS_MAX + 3];
	fill_streams(m, s, port); /* this user's share of the main port is used up */
	struct reply r;
	/* The display's listener: the page, and more streams than the main port's caps. */
	request(&r, dport, "GET", "/", NULL);
	assert_int_equal(r.status, 200);
	assert_security_headers(&r);
	reply_free(&r);
	for (size_t i = KIOSK_STREAMS_MAX; i < KIOSK_STREAMS_MAX + 3; i++)
		stream_open(m, &s[i], dport, NULL);
	for (size_t i = KIOSK_STREAMS_MAX; i < KIOSK_STREAMS_MAX + 3; i++)
		assert_true(pump_until(m, &s[i], "event: status"));
	struct pipeline_event ev;
	make_event(&ev, 1, REASON_OK, NULL);
	kiosk_publish_verdict(k, &ev, "D");
	assert_true(pump_until(m, &s[KIOSK_STREAMS_MAX], "event: verdict"));
	kiosk_stop(k);
	for (size_t i = 0; i < KIOSK_STREAMS_MAX + 3; i++)
		stream_close(m, &s[i]);
	curl_multi_cleanup(m);

	/* Another user's display: our connection is closed before any answer, and counted. */
	k = start_display((uint32_t)getuid() + 1);
	kiosk_publish_status(k, "{}", "x 1\n");
	struct curl_slist *none = NULL;
	CURL *c = easy(&r, kiosk_display_port(k), "GET", "/", none);
	assert_int_not_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	reply_free(&r);
	request(&r, kiosk_port(k), "GET", "/metrics", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "qrdesk_kiosk_display_refused_total 1\n"));
	reply_free(&r);
	kiosk_stop(k);
}

static void test_technician(void **state)
{
	(void)state;
	/* Off: the endpoints do not exist. */
	struct kiosk *k = start(NULL);
	struct reply r;
	request(&r, kiosk_port(k), "GET", "/api/tech/recent", NULL);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	request(&r, kiosk_port(k), "POST", "/api/tech/reload", "Authorization: Bearer ");
	assert_int_equal(r.status, 404);
	reply_free(&r);
	kiosk_stop(k);

	static const char token[] = "s3cret-token-0123456789";
	k = start(token);
	uint16_t port = kiosk_port(k);
	struct pipeline_event ev;
	make_event(&ev, 1, REASON_CARD_REVOKED, NULL);
	kiosk_publish_verdict(k, &ev, "D");
	request(&r, port, "GET", "/api/tech/recent", NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(header(&r, "WWW-Authenticate"), "Bearer realm=\"qrdesk\"");
	assert_security_headers(&r);
	reply_free(&r);
	request(&r, port, "GET", "/api/tech/recent",
	        "Authorization: Bearer s3cret-token-012345678");
	assert_int_equal(r.status, 401);
	reply_free(&r);
	request(&r, port, "GET", "/api/tech/recent", "Authorization: Basic czNjcmV0");
	assert_int_equal(r.status, 401);
	reply_free(&r);
	request(&r, port, "POST", "/api/tech/reload", NULL);
	assert_int_equal(r.status, 401);
	reply_free(&r);
	assert_int_equal(reloads, 0);

	request(&r, port, "GET", "/api/tech/recent",
	        "Authorization: Bearer s3cret-token-0123456789");
	assert_int_equal(r.status, 200);
	json_t *j = json_loads(r.body, 0, NULL);
	json_t *first = json_array_get(json_object_get(j, "recent"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "reason")), "CARD_REVOKED");
	assert_null(strstr(r.body, "RAHIMA")); /* a summary, nothing personal */
	json_decref(j);
	reply_free(&r);
	request(&r, port, "POST", "/api/tech/reload",
	        "Authorization: Bearer s3cret-token-0123456789");
	assert_int_equal(r.status, 202);
	reply_free(&r);
	pthread_mutex_lock(&reload_lock);
	assert_int_equal(reloads, 1);
	pthread_mutex_unlock(&reload_lock);
	request(&r, port, "GET", "/api/tech/reload",
	        "Authorization: Bearer s3cret-token-0123456789");
	assert_int_equal(r.status, 404);
	reply_free(&r);
	request(&r, port, "GET", "/metrics", NULL);
	assert_int_equal(r.status, 503); /* no status yet; the refusals are counted regardless */
	reply_free(&r);
	kiosk_publish_status(k, "{}", "x 1\n");
	request(&r, port, "GET", "/metrics", NULL);
	assert_non_null(strstr(r.body, "qrdesk_kiosk_technician_refused_total 4\n"));
	reply_free(&r);
	kiosk_stop(k);
}

static void test_start_failures(void **state)
{
	(void)state;
	struct kiosk *k = start(NULL);
	struct kiosk_config cfg = {.port = kiosk_port(k), .idle_ms = 1000};
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1");
	struct kiosk *second = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(kiosk_start(&cfg, &second, &why), QD_ERR_IO);
	assert_null(second);
	assert_non_null(strstr(why.text, "cannot serve on 127.0.0.1:"));
	snprintf(cfg.address, sizeof(cfg.address), "localhost");
	assert_int_equal(kiosk_start(&cfg, &second, &why), QD_ERR_ARG);
	assert_non_null(strstr(why.text, "not an IPv4 or IPv6 address"));
	kiosk_stop(k);
	kiosk_stop(NULL);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_mask_passport),
	        cmocka_unit_test(test_country_table),
	        cmocka_unit_test(test_event_json),
	        cmocka_unit_test(test_event_json_bound),
	        cmocka_unit_test(test_metrics_render),
	        cmocka_unit_test(test_static_and_errors),
	        cmocka_unit_test(test_status_and_metrics),
	        cmocka_unit_test(test_event_stream),
	        cmocka_unit_test(test_stream_limit),
	        cmocka_unit_test(test_technician),
	        cmocka_unit_test(test_start_failures),
	        cmocka_unit_test(test_display_listener),
	        cmocka_unit_test(test_every_answer_has_the_headers),
	        cmocka_unit_test(test_library_answers),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
