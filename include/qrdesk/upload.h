/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upload.h - the audit log's upload to the back office (docs/audit-upload.md).
 *
 * Rows not yet uploaded go in batches (store_upload_batch_open), each sealed
 * once as a signed batch (auditbatch.h: the desk's key, the next number of
 * its chain) and PUT over HTTPS to {url}/{desk}/{sequence}.cose - idempotent
 * by name, so any WebDAV server or object store is the endpoint.  Before the
 * PUT the object is read: the same bytes there (a lost reply) count as
 * uploaded; other bytes are reported (QD_ERR_EXISTS), never overwritten; after
 * a 2xx it is read back and must be the same bytes.  Rows are marked uploaded
 * only then, in one transaction that also moves the chain on; any failure
 * leaves the batch open, and the next attempt sends the same bytes.  No
 * redirect is followed.  Nothing is dropped while the endpoint is away:
 * retention purges only rows already uploaded.
 *
 * Runs on the sync worker's thread with the worker's own store connection.
 */
#ifndef QRDESK_UPLOAD_H
#define QRDESK_UPLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/audit_seal.h"
#include "qrdesk/error.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"

#define UPLOAD_BATCHES_PER_RUN 64 /* then yield to the sync; the rest waits a period */

struct upload_options {
	const char *url;     /* https:// endpoint */
	const char *ca_file; /* PEM bundle instead of the system's; NULL: system */
	long timeout_s;      /* one POST, connect to reply (0: 60) */
	size_t batch_rows;   /* rows per batch (0: 500) */
	const char *desk;    /* this desk's id (desk_id_valid): its folder on the storage */
	const struct signature_keypair *desk_key; /* signs the batches (desk_key.h) */
	/* A TLS client certificate and key (PEM files) for a store that authenticates at the
	 * transport; NULL or "": none. */
	const char *client_cert;
	const char *client_key;
	atomic_bool *abort; /* may be NULL; set: the transfer in progress stops at once */
	/* As the sync's (https.h): the endpoint's key pins ("sha256//BASE64[;...]"; NULL or "":
	 * none) and the proxy (NULL: libcurl's environment variables; "": none). */
	const char *pinned_public_key;
	const char *proxy;
	/* Sent as "Authorization: Bearer ..." with every request to the store (an object store
	 * or gateway that takes access tokens); NULL or "": none.  upload_token_load reads it. */
	const char *bearer_token;
};

/* The longest bearer token a token file may hold. */
#define UPLOAD_TOKEN_MAX 4096

/*
 * Read a bearer token from path into out (cap >= UPLOAD_TOKEN_MAX + 1): a regular file
 * (a symlink is not followed) that others can neither read nor write, holding one token of
 * RFC 6750's characters (A-Z a-z 0-9 - . _ ~ + / then '=' padding), optionally ended by one
 * line end.  Anything else is refused with a reason that never quotes the file's bytes.
 */
enum qd_err upload_token_load(const char *path, char *out, size_t cap, struct qd_errmsg *why);

struct upload_result {
	enum qd_err status;
	struct qd_errmsg why; /* empty on success */
	size_t batches;       /* acknowledged in this run */
	size_t rows;          /* marked uploaded in this run */
	long http_status;     /* of the last request (0: none reached the server) */
	char last_batch[64];  /* DESK/SEQUENCE.cose of the last batch sent */
};

/*
 * Upload every row waiting (at most UPLOAD_BATCHES_PER_RUN batches), batch by
 * batch, stopping at the first failure.  now_us: the time written into
 * uploaded_at.  Returns result->status.
 */
enum qd_err upload_run(struct store *store, const struct upload_options *opts, int64_t now_us,
                       struct upload_result *result);

#endif
