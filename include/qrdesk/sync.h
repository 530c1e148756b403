/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync.h - one sync of a desk's store from a static signed repository
 * (docs/repository.md), modelled on TUF.
 *
 * Two halves, so the checks can be tested without a network:
 *   - a fetcher: "give me file NAME, at most CAP bytes".  sync_https_* is the
 *     real one (libcurl, HTTPS only); anything with the same signature works.
 *   - sync_run: fetch timestamp.cose, then only the files it names at a newer
 *     version than installed, each within the length it announces; check
 *     length and SHA-256 against the timestamp, signature and role, versions
 *     (rollback), expiry (freeze); then apply all of them through the import
 *     path in one store batch.  Nothing is written unless every check passes.
 */
#ifndef QRDESK_SYNC_H
#define QRDESK_SYNC_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/store.h"
#include "qrdesk/trust.h"

/* The timestamp is fetched before anything says how long it is: a fixed cap. */
#define SYNC_TIMESTAMP_MAX (16u * 1024u)

/*
 * Fetch name (a file of the repository, "timestamp.cose") into *data
 * (malloc'd; the caller frees) of *len bytes.  A body longer than cap is
 * QD_ERR_TOO_LARGE; any transfer failure (connect, TLS, HTTP status other than
 * 200, timeout) is QD_ERR_NETWORK.  why says which.
 */
typedef enum qd_err (*sync_fetch_fn)(void *ctx, const char *name, size_t cap, uint8_t **data,
                                     size_t *len, struct qd_errmsg *why);

/*
 * A conditional fetch (If-None-Match): etag is the one kept from the last
 * installed timestamp ("" for none).  *not_modified: the server answered 304,
 * nothing was downloaded (*data NULL).  Otherwise as sync_fetch_fn, and
 * etag_out gets the response's ETag ("" if none).
 */
#define SYNC_ETAG_MAX 256
typedef enum qd_err (*sync_fetch_if_changed_fn)(void *ctx, const char *name, size_t cap,
                                                const char *etag, char etag_out[SYNC_ETAG_MAX],
                                                bool *not_modified, uint8_t **data, size_t *len,
                                                struct qd_errmsg *why);

struct sync_fetcher {
	sync_fetch_fn fetch;
	void *ctx;
};

/* The HTTPS fetcher. */
struct sync_https_options {
	const char *url;        /* the repository's base URL; files are URL/NAME */
	const char *ca_file;    /* PEM bundle to trust instead of the system's; NULL: system */
	bool allow_http;        /* plain http:// too (tests of the checks only; never on a desk) */
	long connect_timeout_s; /* 0: 15 */
	long low_speed_bytes;   /* abort below this many bytes/s ... (0: 64) */
	long low_speed_time_s;  /* ... for this long (0: 30) */
	const char *pinned_public_key; /* "sha256//BASE64[;sha256//...]" or a PEM/DER file; NULL:
	                                  none */
	const char *proxy; /* "http://host:port"; NULL: libcurl's environment variables; "": none */
	/* Set (by another thread) to cut a transfer short, e.g. at shutdown; NULL: never. */
	const atomic_bool *abort;
};

/* Call once before any thread uses sync_https (libcurl's global init). */
enum qd_err sync_global_init(struct qd_errmsg *why);
void sync_global_cleanup(void);

struct sync_https;
enum qd_err sync_https_open(const struct sync_https_options *opts, struct sync_https **out,
                            struct qd_errmsg *why);
void sync_https_close(struct sync_https *h);
/* The fetch function for a struct sync_https (ctx). */
enum qd_err sync_https_fetch(void *ctx, const char *name, size_t cap, uint8_t **data, size_t *len,
                             struct qd_errmsg *why);
/* The conditional fetch for a struct sync_https (ctx). */
enum qd_err sync_https_fetch_if_changed(void *ctx, const char *name, size_t cap, const char *etag,
                                        char etag_out[SYNC_ETAG_MAX], bool *not_modified,
                                        uint8_t **data, size_t *len, struct qd_errmsg *why);

/* What one sync did to one document type. */
struct sync_file {
	enum trust_doc_type type;
	uint64_t installed; /* version before the sync; 0 if none */
	uint64_t offered;   /* version the timestamp names */
	bool fetched;
	size_t bytes;
	bool delta;     /* fetched as a delta from the installed version (revocations, used) */
	unsigned steps; /* root: rotation steps fetched */
	/* Not "": the delta did not fit the installed list (why); the snapshot was taken in
	 * the same sync instead (bytes counts both). */
	char delta_refused[sizeof(((struct qd_errmsg *)0)->text)];
};

/* Root rotation steps one sync takes at most (each is one root-N.cose). */
#define SYNC_ROOT_STEPS_MAX 64
/* Cap on a root-N.cose the timestamp does not name (an intermediate step). */
#define SYNC_ROOT_FILE_MAX (64u * 1024u)

/* What, why and when: kept by the caller to show as the last sync result. */
struct sync_result {
	int64_t started_at; /* the clock the sync was judged at */
	enum qd_err status;
	struct qd_errmsg why; /* empty on success */
	bool changed;         /* something was installed */
	uint64_t timestamp_version;
	struct sync_file files[TRUST_DOC_SLOTS]; /* root (if named), the synced types, timestamp */
	size_t n_files;
	size_t bytes_fetched;
	bool not_modified; /* the server said 304 to the conditional timestamp fetch */
};

/*
 * One sync.  max_file caps every file but the timestamp (0: IMPORT_FILE_MAX);
 * the timestamp's announced length caps each download tighter.  Returns
 * result->status; result->why says why it failed.
 */
enum qd_err sync_run(struct store *store, const struct sync_fetcher *fetcher, int64_t clock_now,
                     size_t max_file, struct sync_result *result);

/*
 * The same, fetching timestamp.cose with if_changed (ctx is fetcher->ctx) and
 * the ETag kept in the store: a 304 is "up to date" (result->not_modified)
 * and nothing else is fetched or written.  sync_run does this by itself when
 * fetcher->fetch is sync_https_fetch.
 */
enum qd_err sync_run_if_changed(struct store *store, const struct sync_fetcher *fetcher,
                                sync_fetch_if_changed_fn if_changed, int64_t clock_now,
                                size_t max_file, struct sync_result *result);

#endif
