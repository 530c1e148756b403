/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.c - one sync from a static signed repository; see sync.h and
 * docs/repository.md.  The fetcher only moves bytes within a cap; every
 * decision about them is made here and in import.c, before the store is
 * touched.
 */
#include "qrdesk/sync.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/https.h"
#include "qrdesk/import.h"
#include "qrdesk/trustdoc.h"

/* ---- the HTTPS fetcher -------------------------------------------------- */

struct sync_https {
	CURL *curl;
	char *base; /* the URL without a trailing slash */
	struct sync_https_options opts;
};

enum qd_err sync_global_init(struct qd_errmsg *why)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		qd_errmsg_set(why, "libcurl init failed: %s", curl_easy_strerror(rc));
		return QD_ERR_NETWORK;
	}
	return QD_OK;
}

void sync_global_cleanup(void)
{
	curl_global_cleanup();
}

enum qd_err sync_https_open(const struct sync_https_options *opts, struct sync_https **out,
                            struct qd_errmsg *why)
{
	*out = NULL;
	if (opts->url == NULL || opts->url[0] == '\0') {
		qd_errmsg_set(why, "no repository URL");
		return QD_ERR_ARG;
	}
	/* Refuse a plain-http URL up front with a clear reason, rather than as
	 * curl's "protocol not supported" on the first fetch. */
	if (strncmp(opts->url, "https://", 8) != 0 &&
	    !(opts->allow_http && strncmp(opts->url, "http://", 7) == 0)) {
		qd_errmsg_set(why, "%s: the repository URL must be https://", opts->url);
		return QD_ERR_ARG;
	}
	struct sync_https *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return QD_ERR_NOMEM;
	h->opts = *opts;
	h->base = strdup(opts->url);
	h->curl = curl_easy_init();
	if (h->base == NULL || h->curl == NULL) {
		sync_https_close(h);
		qd_errmsg_set(why, "cannot set up a transfer");
		return QD_ERR_NOMEM;
	}
	size_t n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	*out = h;
	return QD_OK;
}

void sync_https_close(struct sync_https *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h);
}

struct sink {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t cap;
	bool over; /* the server sent more than cap */
};

/* Takes bytes up to the cap; one byte past it aborts the transfer. */
static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (n > s->cap - s->len) {
		s->over = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->len + n > s->alloc) {
		size_t want = s->alloc > 0 ? s->alloc : 4096;
		while (want < s->len + n)
			want = want > s->cap / 2 ? s->cap : want * 2;
		uint8_t *p = realloc(s->data, want > 0 ? want : 1);
		if (p == NULL)
			return 0;
		s->data = p;
		s->alloc = want;
	}
	memcpy(s->data + s->len, ptr, n);
	s->len += n;
	return n;
}

/* The response's ETag into out ("" if none). */
static void response_etag(CURL *c, char out[SYNC_ETAG_MAX])
{
	struct curl_header *hdr = NULL;
	out[0] = '\0';
	if (curl_easy_header(c, "ETag", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK &&
	    hdr->value != NULL && strlen(hdr->value) < SYNC_ETAG_MAX)
		snprintf(out, SYNC_ETAG_MAX, "%s", hdr->value);
}

enum qd_err sync_https_fetch(void *ctx, const char *name, size_t cap, uint8_t **data, size_t *len,
                             struct qd_errmsg *why)
{
	char etag_out[SYNC_ETAG_MAX];
	bool not_modified = false;
	return sync_https_fetch_if_changed(ctx, name, cap, "", etag_out, &not_modified, data, len,
	                                   why);
}

enum qd_err sync_https_fetch_if_changed(void *ctx, const char *name, size_t cap, const char *etag,
                                        char etag_out[SYNC_ETAG_MAX], bool *not_modified,
                                        uint8_t **data, size_t *len, struct qd_errmsg *why)
{
	struct sync_https *h = ctx;
	*data = NULL;
	*len = 0;
	*not_modified = false;
	etag_out[0] = '\0';
	/* An ETag is a quoted string: anything that could break the header line is not sent. */
	bool conditional = etag != NULL && etag[0] != '\0' && strpbrk(etag, "\r\n") == NULL &&
	                   strlen(etag) < SYNC_ETAG_MAX;
	struct curl_slist *headers = NULL;
	if (conditional) {
		char line[SYNC_ETAG_MAX + 32];
		snprintf(line, sizeof(line), "If-None-Match: %s", etag);
		headers = curl_slist_append(NULL, line);
		if (headers == NULL)
			return QD_ERR_NOMEM;
	}
	char url[2048];
	if ((size_t)snprintf(url, sizeof(url), "%s/%s", h->base, name) >= sizeof(url)) {
		qd_errmsg_set(why, "%s: URL too long", name);
		return QD_ERR_ARG;
	}
	struct sink sink = {.cap = cap};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = h->curl;
	/* No overall timeout (a 16 million-entry list is slow on a bad line), but a transfer
	 * that stalls is dropped; redirects are followed (CDNs use them). */
	struct https_options ho = {
	        .ca_file = h->opts.ca_file,
	        .pinned_public_key = h->opts.pinned_public_key,
	        .proxy = h->opts.proxy,
	        .allow_http = h->opts.allow_http,
	        .follow_redirects = true,
	        .connect_timeout_s = h->opts.connect_timeout_s,
	        .low_speed_bytes = h->opts.low_speed_bytes,
	        .low_speed_time_s = h->opts.low_speed_time_s,
	        .abort = h->opts.abort,
	};
	CURLcode rc = https_setup(c, &ho, url, (curl_off_t)cap, errbuf);
	if (rc == CURLE_OK && headers != NULL)
		rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	if (rc != CURLE_OK) {
		qd_errmsg_set(why, "%s: cannot set up the transfer: %s", url,
		              curl_easy_strerror(rc));
		curl_slist_free_all(headers);
		return QD_ERR_NETWORK;
	}
	rc = curl_easy_perform(c);
	long status = 0;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK)
		response_etag(c, etag_out);
	/* The error buffer and header list are ours: the handle must not keep them. */
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc == CURLE_OK && status == 304 && conditional) {
		free(sink.data);
		*not_modified = true;
		return QD_OK;
	}
	enum qd_err err = QD_OK;
	if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
		qd_errmsg_set(why, "%s: longer than the %zu bytes allowed (aborted after %zu)", url,
		              cap, sink.len);
		err = QD_ERR_TOO_LARGE;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		qd_errmsg_set(why, "%s: transfer cut short (shutting down)", url);
		err = QD_ERR_NETWORK;
	} else if (rc != CURLE_OK) {
		qd_errmsg_set(why, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		err = QD_ERR_NETWORK;
	} else if (status != 200) {
		qd_errmsg_set(why, "%s: HTTP status %ld", url, status);
		err = QD_ERR_NETWORK;
	}
	if (err != QD_OK) {
		free(sink.data);
		return err;
	}
	*data = sink.data != NULL ? sink.data : malloc(1);
	if (*data == NULL)
		return QD_ERR_NOMEM;
	*len = sink.len;
	return QD_OK;
}

/* ---- the checks --------------------------------------------------------- */

static const struct trustdoc_timestamp_entry *find_entry(const struct trustdoc_timestamp *ts,
                                                         enum trust_doc_type type)
{
	for (size_t i = 0; i < ts->count; i++)
		if (ts->entries[i].type == type)
			return &ts->entries[i];
	return NULL;
}

/*
 * Decode the timestamp's payload without verifying it.  Only to learn
 * whether a new key set is named: that key set may hold the key the
 * timestamp is signed with.  Nothing read here is trusted until the same
 * bytes verify.
 */
static enum qd_err peek_timestamp(const uint8_t *bytes, size_t len, struct trustdoc *doc,
                                  struct qd_errmsg *why)
{
	struct cose_sign1 msg;
	struct cose_error cerr;
	if (cose_sign1_parse(bytes, len, &msg, &cerr) != COSE_OK) {
		qd_errmsg_set(why, "timestamp.cose: not a COSE_Sign1 (%s)",
		              cose_status_name(cerr.status));
		return QD_ERR_FORMAT;
	}
	struct qd_errmsg inner = {{0}};
	if (trustdoc_decode(msg.payload, msg.payload_len, doc, &inner) != QD_OK) {
		qd_errmsg_set(why, "timestamp.cose: %s", inner.text);
		return QD_ERR_FORMAT;
	}
	if (doc->header.type != TRUST_DOC_TIMESTAMP) {
		qd_errmsg_set(why, "timestamp.cose holds a %s, not a timestamp",
		              trust_doc_type_name(doc->header.type));
		return QD_ERR_FORMAT;
	}
	for (const struct trust_doc_info *info = trust_doc_types;
	     info < trust_doc_types + trust_doc_types_count; info++) {
		if (!info->synced)
			continue; /* the types sync takes are the list's synced rows */
		if (info->required && find_entry(&doc->body.timestamp, info->type) == NULL) {
			qd_errmsg_set(why, "the timestamp names no %s", info->name);
			return QD_ERR_FORMAT;
		}
	}
	if (find_entry(&doc->body.timestamp, TRUST_DOC_TIMESTAMP) != NULL) {
		qd_errmsg_set(why, "the timestamp names a timestamp");
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

static void file_name(enum trust_doc_type type, char *out, size_t cap)
{
	snprintf(out, cap, "%s.cose", trust_doc_type_name(type));
}

/* Fetch name within cap; if e is not NULL, of exactly its length and hash. */
static enum qd_err fetch_named(const struct sync_fetcher *f, const char *name,
                               const struct trustdoc_timestamp_entry *e, size_t cap, uint8_t **data,
                               size_t *len, struct qd_errmsg *why)
{
	if (e != NULL && (e->length == 0 || e->length > cap)) {
		qd_errmsg_set(why, "%s: the timestamp announces %llu bytes (allowed 1..%zu)", name,
		              (unsigned long long)e->length, cap);
		return QD_ERR_TOO_LARGE;
	}
	enum qd_err rc =
	        f->fetch(f->ctx, name, e != NULL ? (size_t)e->length : cap, data, len, why);
	if (rc != QD_OK || e == NULL)
		return rc;
	if (*len != e->length) {
		qd_errmsg_set(why, "%s: %zu bytes, but the timestamp announces %llu (truncated)",
		              name, *len, (unsigned long long)e->length);
		return QD_ERR_FORMAT;
	}
	uint8_t sha[32];
	digest_sha256(*data, *len, sha);
	if (memcmp(sha, e->sha256, sizeof(sha)) != 0) {
		/* The signed timestamp vouches for other bytes: a file from another
		 * publication (mix-and-match) or altered in transit or at rest. */
		qd_errmsg_set(why, "%s: SHA-256 differs from the one the timestamp names", name);
		return QD_ERR_SIGNATURE;
	}
	return QD_OK;
}

/* Index by type number (trust.h; the root slot is the newest root). */
#define SLOTS TRUST_DOC_SLOTS

struct run {
	struct store *store;
	const struct sync_fetcher *f;
	sync_fetch_if_changed_fn if_changed; /* NULL: unconditional */
	int64_t now;
	size_t max_file;
	struct sync_result *res;
	struct trust_freshness installed[SLOTS];
	uint8_t *bytes[SLOTS];
	size_t lens[SLOTS];
	struct import_verified ver[SLOTS];
	struct trustdoc *peek;
	/* Root rotation: each step verified by the one before (roots NULL: the pinned root). */
	uint8_t *root_bytes[SYNC_ROOT_STEPS_MAX];
	struct import_verified root_ver[SYNC_ROOT_STEPS_MAX];
	size_t n_steps;
	const struct trust_key *roots;
	size_t n_roots;
	/* The new key set, once verified: the signers of what follows. */
	const struct trust_key *keys;
	size_t n_keys;
	char etag[SYNC_ETAG_MAX];
	char new_etag[SYNC_ETAG_MAX];
	bool record_etag;
};

/* Verify fetched bytes as a document of the type and version expected. */
static enum qd_err verify_as(struct run *r, const char *name, const uint8_t *bytes, size_t len,
                             enum trust_doc_type type, uint64_t version, bool intermediate_root,
                             struct import_verified *v)
{
	struct qd_errmsg *why = &r->res->why;
	struct import_signers signers = {
	        .roots = r->roots,
	        .n_roots = r->n_roots,
	        .keyset = r->keys,
	        .n_keyset = r->n_keys,
	        .intermediate_root = intermediate_root,
	};
	struct qd_errmsg inner = {{0}};
	enum qd_err rc = import_verify_with(r->store, bytes, len, r->now, &signers, v, &inner);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "%s: %s", name, inner.text);
		return rc;
	}
	if (v->doc->header.type != type || v->doc->header.version != version) {
		qd_errmsg_set(why, "%s holds %s version %llu, the timestamp names %s version %llu",
		              name, trust_doc_type_name(v->doc->header.type),
		              (unsigned long long)v->doc->header.version, trust_doc_type_name(type),
		              (unsigned long long)version);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

/* Fetch, check against the entry, verify: one file the timestamp names. */
static enum qd_err take_entry(struct run *r, const struct trustdoc_timestamp_entry *e)
{
	char name[40];
	file_name(e->type, name, sizeof(name));
	enum qd_err rc = fetch_named(r->f, name, e, r->max_file, &r->bytes[e->type],
	                             &r->lens[e->type], &r->res->why);
	if (rc != QD_OK)
		return rc;
	r->res->bytes_fetched += r->lens[e->type];
	return verify_as(r, name, r->bytes[e->type], r->lens[e->type], e->type, e->version, false,
	                 &r->ver[e->type]);
}

/*
 * Step from the pinned root to the root the timestamp names, one version at
 * a time: root-N.cose must be signed by root N-1 (verified just before, or
 * pinned) and by itself.  The last one must be the file the timestamp names.
 */
static enum qd_err take_roots(struct run *r, const struct trustdoc_timestamp_entry *re,
                              struct sync_file *sf)
{
	struct qd_errmsg *why = &r->res->why;
	const struct trust_freshness *in = &r->installed[TRUST_DOC_ROOT];
	if (re->version < in->version) {
		qd_errmsg_set(why, "the timestamp names root version %llu, older than pinned %llu",
		              (unsigned long long)re->version, (unsigned long long)in->version);
		return QD_ERR_ROLLBACK;
	}
	if (re->version - in->version > SYNC_ROOT_STEPS_MAX) {
		qd_errmsg_set(why, "root version %llu is more than %d rotations past pinned %llu",
		              (unsigned long long)re->version, SYNC_ROOT_STEPS_MAX,
		              (unsigned long long)in->version);
		return QD_ERR_TOO_LARGE;
	}
	for (uint64_t v = in->version + 1; v <= re->version; v++) {
		size_t i = r->n_steps++;
		bool last = v == re->version;
		char name[40];
		snprintf(name, sizeof(name), "root-%llu.cose", (unsigned long long)v);
		size_t len = 0;
		enum qd_err rc = fetch_named(r->f, name, last ? re : NULL,
		                             last ? r->max_file : SYNC_ROOT_FILE_MAX,
		                             &r->root_bytes[i], &len, why);
		if (rc != QD_OK)
			return rc;
		r->res->bytes_fetched += len;
		sf->bytes += len;
		sf->fetched = true;
		sf->steps++;
		rc = verify_as(r, name, r->root_bytes[i], len, TRUST_DOC_ROOT, v, !last,
		               &r->root_ver[i]);
		if (rc != QD_OK)
			return rc;
		r->roots = r->root_ver[i].doc->body.root.keys;
		r->n_roots = r->root_ver[i].doc->body.root.count;
	}
	return QD_OK;
}

static enum qd_err fetch_timestamp(struct run *r, bool *not_modified)
{
	const struct sync_fetcher *f = r->f;
	uint8_t **data = &r->bytes[TRUST_DOC_TIMESTAMP];
	size_t *len = &r->lens[TRUST_DOC_TIMESTAMP];
	*not_modified = false;
	if (r->if_changed == NULL)
		return f->fetch(f->ctx, "timestamp.cose", SYNC_TIMESTAMP_MAX, data, len,
		                &r->res->why);
	if (store_sync_etag_get(r->store, r->etag, sizeof(r->etag)) != QD_OK) {
		qd_errmsg_set(&r->res->why, "cannot read the kept ETag");
		return QD_ERR_STORE;
	}
	/* Only an installed timestamp can be "not modified". */
	if (!r->installed[TRUST_DOC_TIMESTAMP].present)
		r->etag[0] = '\0';
	enum qd_err rc = r->if_changed(f->ctx, "timestamp.cose", SYNC_TIMESTAMP_MAX, r->etag,
	                               r->new_etag, not_modified, data, len, &r->res->why);
	if (rc == QD_OK && !*not_modified)
		r->record_etag = strcmp(r->etag, r->new_etag) != 0;
	return rc;
}

/* The run's line for type t (the synced types have one each). */
static struct sync_file *file_of(struct run *r, enum trust_doc_type t)
{
	for (size_t i = 0; i < r->res->n_files; i++)
		if (r->res->files[i].type == t)
			return &r->res->files[i];
	return NULL;
}

/*
 * The delta of snapshot->type was fetched and verified but does not fit the installed list
 * (r->res->why says how): drop it, keep why on the type's line, and fetch and verify the
 * snapshot instead.  Once per type: the snapshot has no fallback, so its failure fails the
 * sync.
 */
static enum qd_err take_snapshot_instead(struct run *r,
                                         const struct trustdoc_timestamp_entry *snapshot)
{
	enum trust_doc_type dt = trust_doc_info(snapshot->type)->delta;
	struct sync_file *sf = file_of(r, snapshot->type);
	if (sf == NULL)
		return QD_ERR_ARG;
	snprintf(sf->delta_refused, sizeof(sf->delta_refused), "%s", r->res->why.text);
	r->res->why.text[0] = '\0';
	import_verified_release(&r->ver[dt]);
	free(r->bytes[dt]);
	r->bytes[dt] = NULL;
	r->lens[dt] = 0;
	sf->delta = false;
	enum qd_err rc = take_entry(r, snapshot);
	if (rc == QD_OK)
		sf->bytes += r->lens[snapshot->type];
	return rc;
}

/* Which file to take for a type with deltas: the delta when it starts at the installed
 * version, else the snapshot. */
static const struct trustdoc_timestamp_entry *
delta_source(const struct run *r, const struct trustdoc_timestamp *ts,
             const struct trustdoc_timestamp_entry *snapshot)
{
	const struct trust_doc_info *info = trust_doc_info(snapshot->type);
	const struct trustdoc_timestamp_entry *de =
	        info->delta != 0 ? find_entry(ts, info->delta) : NULL;
	const struct trust_freshness *in = &r->installed[snapshot->type];
	if (de != NULL && in->present && de->base_version == in->version &&
	    de->version == snapshot->version)
		return de;
	return snapshot;
}

static enum qd_err run_checks(struct run *r)
{
	struct qd_errmsg *why = &r->res->why;
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		enum trust_doc_type t = trust_doc_types[i].type;
		if (trust_doc_types[i].delta_of != 0)
			continue; /* a delta installs a version of its delta_of, read as such */
		enum qd_err rc = store_freshness_get(r->store, t, &r->installed[t]);
		if (rc != QD_OK) {
			qd_errmsg_set(why, "cannot read the installed %s: %s",
			              trust_doc_type_name(t), qd_err_name(rc));
			return rc;
		}
	}
	bool not_modified = false;
	enum qd_err rc = fetch_timestamp(r, &not_modified);
	if (rc != QD_OK)
		return rc;
	if (not_modified) {
		r->res->not_modified = true;
		r->res->timestamp_version = r->installed[TRUST_DOC_TIMESTAMP].version;
		return QD_OK; /* the installed timestamp is the current one */
	}
	r->res->bytes_fetched += r->lens[TRUST_DOC_TIMESTAMP];
	r->peek = malloc(sizeof(*r->peek));
	if (r->peek == NULL)
		return QD_ERR_NOMEM;
	rc = peek_timestamp(r->bytes[TRUST_DOC_TIMESTAMP], r->lens[TRUST_DOC_TIMESTAMP], r->peek,
	                    why);
	if (rc != QD_OK)
		return rc;

	/* A newer root first: the key set may be signed by it. */
	const struct trustdoc_timestamp_entry *re =
	        find_entry(&r->peek->body.timestamp, TRUST_DOC_ROOT);
	if (re != NULL) {
		const struct trust_freshness *in = &r->installed[TRUST_DOC_ROOT];
		struct sync_file *sf = &r->res->files[r->res->n_files++];
		*sf = (struct sync_file){
		        .type = TRUST_DOC_ROOT, .installed = in->version, .offered = re->version};
		rc = take_roots(r, re, sf);
		if (rc != QD_OK)
			return rc;
	}

	/* A newer key set next, verified by the (new) root alone: it may list
	 * the repository key that signed the timestamp. */
	const struct trustdoc_timestamp_entry *ke =
	        find_entry(&r->peek->body.timestamp, TRUST_DOC_KEYSET);
	const struct trust_freshness *ki = &r->installed[TRUST_DOC_KEYSET];
	if (!ki->present || ke->version > ki->version) {
		rc = take_entry(r, ke);
		if (rc != QD_OK)
			return rc;
		r->keys = r->ver[TRUST_DOC_KEYSET].doc->body.keyset.keys;
		r->n_keys = r->ver[TRUST_DOC_KEYSET].doc->body.keyset.count;
	}

	struct import_verified *tv = &r->ver[TRUST_DOC_TIMESTAMP];
	const struct trust_freshness *ti = &r->installed[TRUST_DOC_TIMESTAMP];
	rc = verify_as(r, "timestamp.cose", r->bytes[TRUST_DOC_TIMESTAMP],
	               r->lens[TRUST_DOC_TIMESTAMP], TRUST_DOC_TIMESTAMP, r->peek->header.version,
	               false, tv);
	if (rc != QD_OK)
		return rc;
	/* The same bytes as the peek: every entry read above is now vouched for. */
	const struct trustdoc_timestamp *ts = &tv->doc->body.timestamp;
	uint64_t ts_version = tv->doc->header.version;
	r->res->timestamp_version = ts_version;
	if (ti->present && ts_version < ti->version) {
		qd_errmsg_set(why, "timestamp version %llu is older than installed version %llu",
		              (unsigned long long)ts_version, (unsigned long long)ti->version);
		return QD_ERR_ROLLBACK;
	}
	bool same_timestamp = ti->present && ts_version == ti->version;

	for (const struct trust_doc_info *info = trust_doc_types;
	     info < trust_doc_types + trust_doc_types_count; info++) {
		if (!info->synced)
			continue; /* the types sync takes are the list's synced rows */
		enum trust_doc_type t = info->type;
		const struct trustdoc_timestamp_entry *e = find_entry(ts, t);
		if (e == NULL)
			continue; /* an optional type this repository does not publish */
		const struct trust_freshness *in = &r->installed[t];
		struct sync_file *sf = &r->res->files[r->res->n_files++];
		*sf = (struct sync_file){.type = t,
		                         .installed = in->present ? in->version : 0,
		                         .offered = e->version};
		if (in->present && e->version < in->version) {
			qd_errmsg_set(why,
			              "the timestamp names %s version %llu, older than installed "
			              "version %llu",
			              trust_doc_type_name(t), (unsigned long long)e->version,
			              (unsigned long long)in->version);
			return QD_ERR_ROLLBACK;
		}
		if (in->present && e->version == in->version)
			continue;
		if (same_timestamp) {
			/* The installed timestamp named this version, so it is installed. */
			qd_errmsg_set(
			        why,
			        "timestamp version %llu is installed but %s version %llu is not",
			        (unsigned long long)ts_version, trust_doc_type_name(t),
			        (unsigned long long)e->version);
			return QD_ERR_STORE;
		}
		sf->fetched = true;
		if (info->kind == TRUST_DOC_KIND_KEYS) { /* fetched and verified above */
			sf->bytes = r->lens[t];
			continue;
		}
		const struct trustdoc_timestamp_entry *src = delta_source(r, ts, e);
		rc = take_entry(r, src);
		if (rc != QD_OK)
			return rc;
		sf->bytes = r->lens[src->type];
		/* Whether a delta fits (its own base is the installed version) is the store's
		 * to say when it applies it: run_apply takes the snapshot if it does not. */
		sf->delta = src->type != t;
	}
	struct sync_file *sf = &r->res->files[r->res->n_files++];
	*sf = (struct sync_file){.type = TRUST_DOC_TIMESTAMP,
	                         .installed = ti->present ? ti->version : 0,
	                         .offered = ts_version,
	                         .fetched = true,
	                         .bytes = r->lens[TRUST_DOC_TIMESTAMP]};
	if (same_timestamp)
		import_verified_release(tv); /* up to date: nothing to apply */
	return QD_OK;
}

/*
 * Everything verified: apply in one batch, roots first, the timestamp last.  *refused: the
 * delta that the store refused as not fitting the installed list (QD_ERR_BASE), the batch
 * then aborted; its snapshot is the caller's to take.
 */
static enum qd_err apply_once(struct run *r, enum trust_doc_type *refused)
{
	struct qd_errmsg *why = &r->res->why;
	*refused = 0;
	/* The list's order: roots (stepped above, kept apart), ..., the timestamp last. */
	bool any = r->n_steps > 0 || r->record_etag;
	for (size_t i = 0; i < trust_doc_types_count; i++)
		any = any || r->ver[trust_doc_types[i].type].doc != NULL;
	if (!any)
		return QD_OK;
	enum qd_err rc = store_batch_begin(r->store, why);
	if (rc != QD_OK)
		return rc;
	for (size_t i = 0; i < r->n_steps && rc == QD_OK; i++)
		rc = import_apply(r->store, &r->root_ver[i], why);
	for (size_t i = 0; i < trust_doc_types_count && rc == QD_OK; i++) {
		const struct trust_doc_info *info = &trust_doc_types[i];
		struct import_verified *v = &r->ver[info->type];
		if (info->kind != TRUST_DOC_KIND_ROOT && v->doc != NULL)
			rc = import_apply(r->store, v, why);
		if (rc == QD_ERR_BASE && info->delta_of != 0)
			*refused = info->delta_of;
	}
	if (rc == QD_OK && r->record_etag)
		rc = store_sync_etag_set(r->store, r->new_etag, why);
	if (rc != QD_OK) {
		store_batch_abort(r->store);
		return rc;
	}
	rc = store_batch_commit(r->store, why);
	if (rc == QD_OK)
		r->res->changed = r->n_steps > 0 || r->ver[TRUST_DOC_TIMESTAMP].doc != NULL;
	return rc;
}

/* Apply; a delta the store refuses is replaced by its snapshot and the batch applied again
 * (each type at most once, so at most one more try per type with deltas). */
static enum qd_err run_apply(struct run *r)
{
	for (;;) {
		enum trust_doc_type refused = 0;
		enum qd_err rc = apply_once(r, &refused);
		if (rc == QD_OK || refused == 0)
			return rc;
		const struct trustdoc *tsdoc = r->ver[TRUST_DOC_TIMESTAMP].doc;
		const struct trustdoc_timestamp_entry *e =
		        tsdoc != NULL ? find_entry(&tsdoc->body.timestamp, refused) : NULL;
		if (e == NULL)
			return rc;
		rc = take_snapshot_instead(r, e);
		if (rc != QD_OK)
			return rc;
	}
}

enum qd_err sync_run(struct store *store, const struct sync_fetcher *fetcher, int64_t clock_now,
                     size_t max_file, struct sync_result *result)
{
	/* The HTTPS fetcher can ask "only if changed": the daemon gets ETags for free. */
	sync_fetch_if_changed_fn if_changed =
	        fetcher->fetch == sync_https_fetch ? sync_https_fetch_if_changed : NULL;
	return sync_run_if_changed(store, fetcher, if_changed, clock_now, max_file, result);
}

enum qd_err sync_run_if_changed(struct store *store, const struct sync_fetcher *fetcher,
                                sync_fetch_if_changed_fn if_changed, int64_t clock_now,
                                size_t max_file, struct sync_result *result)
{
	memset(result, 0, sizeof(*result));
	result->started_at = clock_now;
	struct run *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		result->status = QD_ERR_NOMEM;
		qd_errmsg_set(&result->why, "out of memory");
		return QD_ERR_NOMEM;
	}
	r->store = store;
	r->f = fetcher;
	r->if_changed = if_changed;
	r->now = clock_now;
	r->max_file = max_file > 0 && max_file < IMPORT_FILE_MAX ? max_file : IMPORT_FILE_MAX;
	r->res = result;
	enum qd_err rc = run_checks(r);
	if (rc == QD_OK)
		rc = run_apply(r);
	for (int t = 0; t < SLOTS; t++) {
		import_verified_release(&r->ver[t]);
		free(r->bytes[t]);
	}
	for (size_t i = 0; i < r->n_steps; i++) {
		import_verified_release(&r->root_ver[i]);
		free(r->root_bytes[i]);
	}
	free(r->peek);
	free(r);
	result->status = rc;
	return rc;
}
