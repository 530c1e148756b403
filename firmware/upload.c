/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upload.c - see upload.h and docs/audit-upload.md.  audit_seal.c turns
 * the open batch into signed bytes once; this file PUTs them where they
 * belong, never over other bytes.
 */
#include "qrdesk/upload.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/desklist.h"
#include "qrdesk/file.h"
#include "qrdesk/hex.h"
#include "qrdesk/https.h"
#include "qrdesk/trust.h"

#define REPLY_MAX (16 * 1024) /* an error reply is read for the log only */

/* ---- the transfers ------------------------------------------------------------------- */

struct reply {
	uint8_t *data; /* the whole body, up to max */
	size_t len, max;
	bool over;
};

static size_t reply_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	if (r->len + n > r->max) {
		r->over = true;
		return 0; /* a reply this long is not ours: stop reading */
	}
	uint8_t *more = realloc(r->data, r->len + n + 1);
	if (more == NULL)
		return 0;
	r->data = more;
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

#define QUOTE_MAX 120 /* the bytes of a reply a message shows */

static bool contains(const uint8_t *hay, size_t hlen, const char *needle, size_t nlen)
{
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return true;
	return false;
}

/* True if text carries the token, or any 8 characters of it, or the word "bearer": a
 * gateway that echoes the request's headers in its error page.  Asked about the bytes a
 * message shows and as far past them as a token or the word starting inside could reach:
 * a token that only begins in the shown part is hidden; one wholly past it is never shown. */
static bool quotes_token(const uint8_t *text, size_t len, size_t shown, const char *token)
{
	static const char word[] = "bearer";
	size_t wlen = sizeof(word) - 1;
	size_t tlen = token != NULL ? strlen(token) : 0;
	size_t reach = shown + (tlen > wlen ? tlen : wlen);
	if (len > reach)
		len = reach;
	for (size_t i = 0; i + wlen <= len; i++)
		if (strncasecmp((const char *)text + i, word, wlen) == 0)
			return true;
	size_t piece = tlen < 8 ? tlen : 8;
	for (size_t at = 0; piece > 0 && at + piece <= tlen; at++)
		if (contains(text, len, token + at, piece))
			return true;
	return false;
}

/* The first bytes of a reply, printable, for a message; never the bearer token. */
static void reply_text(const struct reply *r, const struct upload_options *o, char *out, size_t cap)
{
	if (cap == 0)
		return;
	size_t shown = r->len < QUOTE_MAX ? r->len : QUOTE_MAX;
	if (shown > cap - 1)
		shown = cap - 1;
	if (shown > 0 && o->bearer_token != NULL && o->bearer_token[0] != '\0' &&
	    quotes_token(r->data, r->len, shown, o->bearer_token)) {
		snprintf(out, cap, "(a reply that quotes the request's token: not shown)");
		return;
	}
	for (size_t i = 0; i < shown; i++)
		out[i] = r->data[i] >= 0x20 && r->data[i] < 0x7f ? (char)r->data[i] : '?';
	out[shown] = '\0';
}

/*
 * One request: GET (body NULL) or PUT of body to url.  *status the HTTP status (0: none);
 * the reply's body in *reply (the caller frees reply->data).
 */
static enum qd_err request(CURL *c, const struct upload_options *o, const char *url,
                           const uint8_t *body, size_t len, long *status, struct reply *reply,
                           struct qd_errmsg *why)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long timeout = o->timeout_s > 0 ? o->timeout_s : 60L;
	/* The same set-up as the sync's fetches (CA, pin, proxy, abort), and no redirect
	 * followed: a batch goes where its name says or nowhere.  One request has a whole time
	 * limit, and a stall is judged by it alone. */
	struct https_options ho = {
	        .ca_file = o->ca_file,
	        .pinned_public_key = o->pinned_public_key,
	        .proxy = o->proxy,
	        .connect_timeout_s = 15,
	        .timeout_s = timeout,
	        .low_speed_time_s = timeout,
	        .abort = o->abort,
	};
	struct curl_slist *headers = NULL;
	CURLcode rc = https_setup(c, &ho, url, (curl_off_t)reply->max, errbuf);
	if (rc == CURLE_OK && o->client_cert != NULL && o->client_cert[0] != '\0')
		rc = curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
	if (rc == CURLE_OK && o->client_key != NULL && o->client_key[0] != '\0')
		rc = curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
	/* libcurl sends it to this host only, and no redirect is followed anyway. */
	if (rc == CURLE_OK && o->bearer_token != NULL && o->bearer_token[0] != '\0') {
		rc = curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o->bearer_token);
	}
	if (rc == CURLE_OK && body != NULL) {
		/* If-None-Match: a store that knows it (S3, most WebDAV servers) refuses to
		 * replace an object; the GET before covers one that does not. */
		const char *lines[] = {"Content-Type: application/cose", "If-None-Match: *",
		                       "Expect:"};
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			struct curl_slist *h = curl_slist_append(headers, lines[i]);
			if (h == NULL) {
				curl_slist_free_all(headers);
				return QD_ERR_NOMEM;
			}
			headers = h;
		}
		rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		/* A new connection: libcurl would silently send a PUT again on a kept-alive one
		 * found dead; a lost reply must come back to the GET before any PUT. */
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	*status = 0;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	/* The handle must not keep pointers into this frame. */
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, NULL); /* libcurl keeps a copy */
	(void)curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
	curl_slist_free_all(headers);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		qd_errmsg_set(why, "%s: stopped (the daemon is shutting down)", url);
		return QD_ERR_NETWORK;
	}
	/* A reply announced longer than the cap is as foreign as one that runs past it: an
	 * object larger than any batch under a batch's name is "other bytes", not a fault. */
	if (rc == CURLE_FILESIZE_EXCEEDED)
		reply->over = true;
	if (rc != CURLE_OK &&
	    !((rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) && reply->over)) {
		qd_errmsg_set(why, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return QD_ERR_NETWORK;
	}
	return QD_OK;
}

/* Does url hold these bytes (*same), other bytes (*other), or nothing (both false)? */
static enum qd_err stored(CURL *c, const struct upload_options *o, const char *url,
                          const uint8_t *bytes, size_t len, bool *same, bool *other, long *status,
                          struct qd_errmsg *why)
{
	*same = *other = false;
	struct reply r = {.max = AUDITBATCH_MAX};
	enum qd_err rc = request(c, o, url, NULL, 0, status, &r, why);
	if (rc == QD_OK && *status == 200) {
		*same = !r.over && r.len == len && memcmp(r.data, bytes, len) == 0;
		*other = !*same;
	} else if (rc == QD_OK && *status != 404 && *status != 410) {
		char text[128];
		reply_text(&r, o, text, sizeof(text));
		qd_errmsg_set(why, "%s: HTTP status %ld%s%s", url, *status, text[0] ? ": " : "",
		              text);
		rc = QD_ERR_NETWORK;
	}
	free(r.data);
	return rc;
}

static enum qd_err put_batch(CURL *c, const struct upload_options *o, uint64_t seq,
                             const uint8_t *bytes, size_t len, long *status, struct qd_errmsg *why)
{
	char url[1200];
	size_t base = strlen(o->url);
	while (base > 0 && o->url[base - 1] == '/')
		base--;
	int n = snprintf(url, sizeof(url), "%.*s/%s/%llu.cose", (int)base, o->url, o->desk,
	                 (unsigned long long)seq);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		qd_errmsg_set(why, "the upload URL is too long");
		return QD_ERR_ARG;
	}
	bool same = false, other = false;
	/* Already there (a reply lost after the object was stored): done. */
	enum qd_err rc = stored(c, o, url, bytes, len, &same, &other, status, why);
	if (rc != QD_OK || same)
		return rc;
	if (other) {
		qd_errmsg_set(why,
		              "%s: the storage holds other bytes under this name; not "
		              "overwritten (a second desk with this id, or a restored desk?)",
		              url);
		return QD_ERR_EXISTS;
	}
	struct reply r = {.max = REPLY_MAX};
	rc = request(c, o, url, bytes, len, status, &r, why);
	char text[128];
	reply_text(&r, o, text, sizeof(text));
	free(r.data);
	if (rc != QD_OK)
		return rc;
	if (*status == 409 || *status == 412) {
		qd_errmsg_set(why,
		              "%s: HTTP status %ld: the storage holds another object under "
		              "this name; not overwritten",
		              url, *status);
		return QD_ERR_EXISTS;
	}
	if (*status < 200 || *status > 299) {
		qd_errmsg_set(why, "%s: HTTP status %ld%s%s", url, *status, text[0] ? ": " : "",
		              text);
		return QD_ERR_NETWORK;
	}
	/* Taken: read it back, so a store that answers 2xx and keeps something else is caught. */
	long got = 0;
	rc = stored(c, o, url, bytes, len, &same, &other, &got, why);
	if (rc == QD_OK && !same) {
		qd_errmsg_set(why, "%s: answered %ld but holds %s", url, *status,
		              other ? "other bytes" : "nothing");
		rc = other ? QD_ERR_EXISTS : QD_ERR_NETWORK;
	}
	return rc;
}

/* RFC 6750's b64token: the characters a bearer token may have, then '=' padding. */
static bool token_valid(const char *t, size_t len)
{
	size_t i = 0;
	while (i < len &&
	       (((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
	        strchr("-._~+/", t[i]) != NULL) &&
	       t[i] != '\0')
		i++;
	if (i == 0)
		return false;
	while (i < len && t[i] == '=')
		i++;
	return i == len;
}

enum qd_err upload_token_load(const char *path, char *out, size_t cap, struct qd_errmsg *why)
{
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (path == NULL || out == NULL || cap < UPLOAD_TOKEN_MAX + 1) {
		qd_errmsg_set(why, "upload_token_load: no path or a buffer under %d bytes",
		              UPLOAD_TOKEN_MAX + 1);
		return QD_ERR_ARG;
	}
	/* Room for the longest token and its CR LF; a byte more is refused as too long. */
	char buf[UPLOAD_TOKEN_MAX + 3];
	size_t len = 0;
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = file_read_secret(path, S_IROTH | S_IWOTH | S_IWGRP, "want 0600 or 0640",
	                                  buf, sizeof(buf), &len, &inner);
	if (rc == QD_ERR_TOO_LARGE) {
		qd_errmsg_set(why, "token_file %s: longer than %d bytes", path, UPLOAD_TOKEN_MAX);
		return QD_ERR_FORMAT;
	}
	if (rc != QD_OK) {
		qd_errmsg_set(why, "token_file %s: %s", path, inner.text);
		return rc;
	}
	if (len > 0 && buf[len - 1] == '\n') { /* one line end: LF or CR LF */
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > UPLOAD_TOKEN_MAX || !token_valid(buf, len)) {
		/* The reason, never the bytes: they may be most of a secret. */
		if (len > UPLOAD_TOKEN_MAX)
			qd_errmsg_set(why, "token_file %s: longer than %d bytes", path,
			              UPLOAD_TOKEN_MAX);
		else if (len == 0)
			qd_errmsg_set(why, "token_file %s: empty", path);
		else
			qd_errmsg_set(
			        why,
			        "token_file %s: not one bearer token (A-Z a-z 0-9 - . _ ~ + / "
			        "and '=' at the end, on one line)",
			        path);
		explicit_bzero(buf, sizeof(buf));
		return QD_ERR_FORMAT;
	}
	memcpy(out, buf, len);
	explicit_bzero(buf, sizeof(buf));
	out[len] = '\0';
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
	if (opts->desk == NULL || !desk_id_valid(opts->desk, strlen(opts->desk))) {
		qd_errmsg_set(why,
		              "the desk id must be 1..%d of A-Z a-z 0-9 . _ - (it names the "
		              "desk's folder on the storage)",
		              DESK_ID_MAX);
		return result->status = QD_ERR_ARG;
	}
	if (opts->desk_key == NULL) {
		qd_errmsg_set(why, "no desk key to sign batches with (qrdeskctl enroll)");
		return result->status = QD_ERR_ARG;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		qd_errmsg_set(why, "cannot set up a transfer");
		return result->status = QD_ERR_NOMEM;
	}
	size_t rows_per_batch = opts->batch_rows > 0 ? opts->batch_rows : 500;
	if (rows_per_batch > AUDITBATCH_ROWS_MAX)
		rows_per_batch = AUDITBATCH_ROWS_MAX;
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < UPLOAD_BATCHES_PER_RUN && rc == QD_OK; i++) {
		if (opts->abort != NULL && atomic_load(opts->abort))
			break;
		struct audit_sealed sb;
		bool found = false;
		rc = audit_seal_next(store, rows_per_batch, opts->desk, opts->desk_key, now_us, &sb,
		                     &found, why);
		if (rc != QD_OK || !found)
			break;
		snprintf(result->last_batch, sizeof(result->last_batch), "%s/%llu.cose", opts->desk,
		         (unsigned long long)sb.seq);
		rc = put_batch(c, opts, sb.seq, sb.bytes, sb.len, &result->http_status, why);
		free(sb.bytes);
		if (rc == QD_OK)
			rc = store_upload_batch_done(store, &sb.batch, now_us, why);
		if (rc == QD_OK) {
			result->batches++;
			result->rows += sb.batch.rows;
		}
	}
	curl_easy_cleanup(c);
	return result->status = rc;
}
