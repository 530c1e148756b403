/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the trust store and audit log on SQLite (cache/).
 *
 * The only module that calls sqlite3_*.  Two database files per desk, both in
 * WAL mode, schemas upgraded by numbered migrations on open: the trust store
 * (the pinned root keys, the key set, the revocation hashes, the policy, the
 * freshness facts of each signed document, the newest signed time seen) and,
 * beside it, the audit log (store_audit_path), so that a sync apply on the
 * one never holds up a verdict's row on the other.  A trust store from before
 * the split hands its audit rows to the new file when first opened
 * read-write.
 *
 * Invariants: only verified data is applied (the caller - import.c - checks
 * signatures first); each apply is one transaction that re-checks the version
 * inside it, so a document is either wholly in or wholly out; versions never
 * go down; the time floor never goes down.
 *
 * A struct store is one connection: use it from one thread at a time.  Other
 * threads open their own (WAL lets readers go on during an apply).
 */
#ifndef QRDESK_STORE_H
#define QRDESK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/policy.h"
#include "qrdesk/trust.h"

struct store;

enum store_mode {
	STORE_OPEN_CREATE,    /* read-write; create and migrate if needed */
	STORE_OPEN_READWRITE, /* read-write; the file must exist */
	/* No writes; the file must exist and be migrated.  Its audit log file may be
	 * absent (a copied trust store): it then reads as empty and is not created. */
	STORE_OPEN_READONLY,
};

enum qd_err store_open(const char *path, enum store_mode mode, struct store **out,
                       struct qd_errmsg *why);
void store_close(struct store *store);

/* The schema version the file is at (PRAGMA user_version). */
int store_schema_version(struct store *store);

/*
 * Pin a root key.  The same key again is a no-op; a different root while one
 * is pinned is QD_ERR_EXISTS (rotation goes through a signed root document).
 */
enum qd_err store_root_pin(struct store *store, const struct trust_key *root,
                           struct qd_errmsg *why);
enum qd_err store_roots_load(struct store *store, struct trust_key *out, size_t cap, size_t *count);

enum qd_err store_keys_load(struct store *store, struct trust_key *out, size_t cap, size_t *count);

/* Freshness of one document type; out->present is false if never imported. */
enum qd_err store_freshness_get(struct store *store, enum trust_doc_type type,
                                struct trust_freshness *out);
enum qd_err store_time_floor_get(struct store *store, int64_t *floor);

enum qd_err store_revocation_contains(struct store *store, const uint8_t hash[TRUST_HASH_LEN],
                                      bool *revoked);
enum qd_err store_revocation_count(struct store *store, uint64_t *count);
/*
 * One read transaction across a burst of lookups (revocations, windows):
 * each lookup then skips opening its own.  Until the release, the connection
 * reads the state at the burst's first read; release when the burst ends.
 * Writes and store_trust_load release it first.  Neither call fails: without
 * the hold, lookups run each in its own transaction.
 */
void store_read_hold(struct store *store);
void store_read_release(struct store *store);
/* Does a revoked issuance window of kid cover iat?  One index seek. */
enum qd_err store_range_contains(struct store *store, const uint8_t *kid, size_t kid_len,
                                 int64_t iat, bool *revoked);

/* The stored body of a policy or timestamp document; *blob is malloc'd (free it). */
enum qd_err store_document_body(struct store *store, enum trust_doc_type type, uint8_t **blob,
                                size_t *len);

/* What an apply records about the document it stores. */
struct store_doc_meta {
	enum trust_doc_type type;
	uint64_t version;
	int64_t signed_at;
	int64_t expires_at;
	uint8_t sha256[32]; /* of the whole signed file */
};

/*
 * Apply one verified document in one transaction.  Inside it the version is
 * compared with the stored one: older is QD_ERR_ROLLBACK (nothing written);
 * equal is QD_OK with *unchanged = true (nothing written); newer replaces the
 * old content, records meta and raises the time floor to meta->signed_at.
 */
enum qd_err store_apply_keyset(struct store *store, const struct store_doc_meta *meta,
                               const struct trust_key *keys, size_t count, bool *unchanged,
                               struct qd_errmsg *why);
/* hashes: count * TRUST_HASH_LEN bytes, ascending and unique. */
enum qd_err store_apply_revocations(struct store *store, const struct store_doc_meta *meta,
                                    const uint8_t *hashes, size_t count, bool *unchanged,
                                    struct qd_errmsg *why);
/* The same with the revoked issuance windows of the list (trustdoc.h's order). */
enum qd_err store_apply_revocations_ranges(struct store *store, const struct store_doc_meta *meta,
                                           const uint8_t *hashes, size_t count,
                                           const struct trust_range *ranges, size_t n_ranges,
                                           bool *unchanged, struct qd_errmsg *why);
/* Policy and timestamp: the body is kept as bytes. */
enum qd_err store_apply_document(struct store *store, const struct store_doc_meta *meta,
                                 const uint8_t *body, size_t body_len, bool *unchanged,
                                 struct qd_errmsg *why);

/*
 * A revocations delta (meta->type TRUST_DOC_REVOCATIONS_DELTA, meta->version
 * the revocations version it produces): in one transaction, on top of exactly
 * base_version.  The same version installed: unchanged; a newer one:
 * QD_ERR_ROLLBACK; any other installed version (or none): QD_ERR_BASE, as is
 * a removed hash that is not stored or an added one that is.  Nothing is
 * written unless all of it applies.  The result is recorded as that
 * revocations version (sha256 of the delta file).  added and removed:
 * ascending, unique, disjoint.
 */
enum qd_err store_apply_revocations_delta(struct store *store, const struct store_doc_meta *meta,
                                          uint64_t base_version, const uint8_t *added,
                                          size_t n_added, const uint8_t *removed, size_t n_removed,
                                          bool *unchanged, struct qd_errmsg *why);

/*
 * A delta to a type kept whole (meta->type of kind TRUST_DOC_KIND_BODY_DELTA, e.g.
 * TRUST_DOC_USED_DELTA; meta->version the version of its delta_of it produces): in one
 * transaction, on top of exactly base_version, the installed body with the changes applied
 * (the row's apply_delta) is recorded as that version (sha256 of the delta file).  The same
 * version installed: unchanged; a newer one: QD_ERR_ROLLBACK; any other installed version
 * (or none), or changes that do not fit the installed body: QD_ERR_BASE.  All or nothing.
 */
enum qd_err store_apply_body_delta(struct store *store, const struct store_doc_meta *meta,
                                   uint64_t base_version, const uint8_t *changes,
                                   size_t changes_len, bool *unchanged, struct qd_errmsg *why);

/* A delta's windows: removed ones must be installed, added ones must not
 * overlap another window of their key once applied (else QD_ERR_BASE). */
struct store_delta_ranges {
	const struct trust_range *added;
	size_t n_added;
	const struct trust_range *removed;
	size_t n_removed;
};
enum qd_err store_apply_revocations_delta_ranges(
        struct store *store, const struct store_doc_meta *meta, uint64_t base_version,
        const uint8_t *added, size_t n_added, const uint8_t *removed, size_t n_removed,
        const struct store_delta_ranges *ranges, bool *unchanged, struct qd_errmsg *why);

/*
 * The pinned root's version: 1 for the root pinned at provisioning, 0 when
 * none is pinned.  store_apply_root replaces the pinned roots with a new root
 * version (meta->type TRUST_DOC_ROOT): exactly installed + 1 (else
 * QD_ERR_BASE; the same: unchanged; older: QD_ERR_ROLLBACK).  The caller has
 * checked it is signed by the old root and by itself.
 */
enum qd_err store_root_version(struct store *store, uint64_t *version);
enum qd_err store_apply_root(struct store *store, const struct store_doc_meta *meta,
                             const struct trust_key *keys, size_t count, bool *unchanged,
                             struct qd_errmsg *why);

/*
 * The HTTP ETag of the installed timestamp.cose ("" if none), for a
 * conditional request.  Set it with the sync's batch; "" clears it.
 */
enum qd_err store_sync_etag_get(struct store *store, char *out, size_t cap);
enum qd_err store_sync_etag_set(struct store *store, const char *etag, struct qd_errmsg *why);

/*
 * A batch: several applies in one transaction, all in or all out (sync
 * installs a key set, revocations, policy and timestamp together).  Between
 * begin and commit each apply behaves as above but only inside the batch;
 * abort undoes every apply since begin.  Commit or abort exactly once.
 */
enum qd_err store_batch_begin(struct store *store, struct qd_errmsg *why);
enum qd_err store_batch_commit(struct store *store, struct qd_errmsg *why);
void store_batch_abort(struct store *store);

/*
 * A trust view backed by this store: keys, freshness and the decoded policy
 * copied in, the revocation callback bound to this connection.  Reload after
 * an apply.  A stored policy that does not decode (import checks it, so only
 * a store written by other firmware) is not an error here: the view says
 * policy_unreadable and policy_error says why.
 */
struct store_trust {
	struct trust_key keys[TRUST_KEYS_MAX];
	struct policy policy;
	struct qd_errmsg policy_error;
	struct trust_view view;
};
enum qd_err store_trust_load(struct store *store, struct store_trust *out);

/*
 * A traveller transaction's documents (binding.h), beside its audit row:
 * each document's outcome ("passed", "failed PASSPORT_MISMATCH birth_date",
 * "missing", "not_required", "unchecked") and keyed pseudonyms of the
 * passport and the booking (credential_pseudonym), never their text.
 */
struct audit_binding {
	const char *card, *passport, *boarding;
	const uint8_t *passport_pseudonym; /* TRUST_HASH_LEN bytes, or NULL: none read */
	const uint8_t *boarding_pseudonym;
};

/* One audit row.  No name, no passport number: only the clearance hash. */
struct audit_record {
	int64_t time_us;     /* wall-clock time of the verdict, microseconds */
	const char *source;  /* "replay", "camera0", "cli"... */
	const char *verdict; /* verdict_kind_name() */
	const char *reason;  /* reason_code() */
	const uint8_t *kid;  /* may be NULL */
	size_t kid_len;
	const uint8_t *clearance_hash;       /* TRUST_HASH_LEN bytes, may be NULL */
	const char *desk;                    /* desk id from config */
	int64_t latency_us;                  /* from code text to verdict */
	const struct audit_binding *binding; /* a transaction's documents, or NULL */
	/* The card's own expiry (seconds; 0: unknown): a green row's "already
	 * used" marker is kept until then, whatever retention does to the row. */
	int64_t card_expires_at;
};

/* The audit log's file: the store's path with ".db" replaced by "-audit.db"
 * ("-audit.db" appended when it has no ".db"). */
void store_audit_path(const char *store_path, char *out, size_t cap);

enum qd_err store_audit_append(struct store *store, const struct audit_record *rec,
                               int64_t *row_id);
/* n rows in one transaction (one fsync: the rows of a burst that waited together), all or
 * none; QD_ERR_ARG before anything is written if one of them is malformed. */
enum qd_err store_audit_append_rows(struct store *store, const struct audit_record *recs, size_t n);
enum qd_err store_audit_count(struct store *store, uint64_t *count);

/*
 * The earliest valid verdict for this clearance hash before before_us:
 * *found, and its time and desk.  The pipeline's "already used" check.  It
 * reads the card's marker, not the rows: it outlives their retention.
 */
enum qd_err store_audit_first_valid(struct store *store, const uint8_t hash[TRUST_HASH_LEN],
                                    int64_t before_us, bool *found, int64_t *time_us, char *desk,
                                    size_t desk_cap);

/*
 * The audit upload (upload.h).  One batch is open at a time:
 * the not-yet-uploaded rows with first_id <= id <= last_id, under an id the
 * endpoint de-duplicates on.  It is recorded in the store, so a retry - after
 * a failure, a restart or a power cut - sends the same rows under the same
 * id; rows are marked uploaded only by store_upload_batch_done.
 */
struct store_upload_batch {
	char id[48];
	int64_t first_id, last_id;
	size_t rows;
};

/*
 * The open batch if there is one; otherwise open one over the oldest
 * max_rows rows not yet uploaded, under new_id.  *found is false when no row
 * waits.
 */
enum qd_err store_upload_batch_open(struct store *store, size_t max_rows, const char *new_id,
                                    int64_t now, struct store_upload_batch *out, bool *found,
                                    struct qd_errmsg *why);

/* One audit row as read back; its pointers are valid during the callback only. */
struct store_audit_row {
	int64_t id;
	struct audit_record rec;
};
typedef enum qd_err (*store_audit_row_fn)(void *ctx, const struct store_audit_row *row);

/* Call fn for each row of batch, in id order; fn's error stops and is returned. */
enum qd_err store_upload_batch_rows(struct store *store, const struct store_upload_batch *batch,
                                    store_audit_row_fn fn, void *ctx, struct qd_errmsg *why);

/* The endpoint took batch: its rows get uploaded_at = now and the batch is closed, in one
 * transaction. */
enum qd_err store_upload_batch_done(struct store *store, const struct store_upload_batch *batch,
                                    int64_t now, struct qd_errmsg *why);

/*
 * Signed batches (auditbatch.h).  The chain's last link: the number and SHA-256 of the last
 * batch the endpoint took (0 and zeros before the first).  An open batch is sealed once: its
 * number and signed bytes are kept with it, so every retry sends the same bytes;
 * store_upload_batch_done makes it the chain's last link in its transaction.
 */
enum qd_err store_upload_chain(struct store *store, uint64_t *last_seq, uint8_t last_hash[32],
                               struct qd_errmsg *why);
/* The open batch's sealed bytes (malloc'd; NULL when not sealed yet) and number. */
enum qd_err store_upload_batch_sealed(struct store *store, const struct store_upload_batch *batch,
                                      uint64_t *seq, uint8_t **bytes, size_t *len,
                                      struct qd_errmsg *why);
/* Seal the open batch as number seq: QD_ERR_EXISTS (nothing changed) when it is sealed already,
 * closed, or seq is not the chain's next number (audit_seal.h: the upload and the USB export). */
enum qd_err store_upload_batch_seal(struct store *store, const struct store_upload_batch *batch,
                                    uint64_t seq, const uint8_t *bytes, size_t len,
                                    struct qd_errmsg *why);

enum qd_err store_audit_pending_count(struct store *store, uint64_t *count);

/*
 * Retention, one transaction of at most max_rows rows and max_rows markers:
 * rows with time_us < before_us are deleted - with keep_until_copied only
 * those uploaded or exported (collected) - and the "already used" markers of
 * cards that expired before now (seconds).  out->more: call again.
 */
struct store_retention {
	int64_t before_us;
	bool keep_until_copied;
	int64_t now;
	size_t max_rows;
};
struct store_retention_result {
	uint64_t rows, markers;
	bool more;
};
enum qd_err store_audit_retain(struct store *store, const struct store_retention *r,
                               struct store_retention_result *out, struct qd_errmsg *why);
/* The oldest row's time (*found false: the log is empty). */
enum qd_err store_audit_oldest(struct store *store, bool *found, int64_t *time_us);

/*
 * How long a write to the trust store waits for another connection's
 * transaction (default 5000 ms).  Audit rows always wait: the audit log's
 * other writers hold it only for short transactions.
 */
void store_set_busy_timeout(struct store *store, int ms);
/* ---- USB updates and log collection (docs/usb-bundle.md) ---- */

/* The bundle applied with the newest created time (no downgrade below it). */
struct store_usb_bundle {
	char id[65];
	int64_t created_at;
	int64_t applied_at;
};
enum qd_err store_usb_bundle_last(struct store *store, struct store_usb_bundle *out, bool *found);
enum qd_err store_usb_bundle_seen(struct store *store, const char *id, bool *seen);
/* Record an applied bundle (inside the batch that applies its documents). */
enum qd_err store_usb_bundle_record(struct store *store, const char *id, int64_t created_at,
                                    int64_t applied_at, const uint8_t *kid, size_t kid_len,
                                    struct qd_errmsg *why);
/* Settings made by bundles ("section.key" = value): the config drop-in is written from these. */
enum qd_err store_usb_setting_set(struct store *store, const char *name, const char *value,
                                  const char *bundle_id, int64_t set_at, struct qd_errmsg *why);
enum qd_err store_usb_settings_list(struct store *store,
                                    void (*fn)(void *arg, const char *name, const char *value),
                                    void *arg);

/*
 * An audit row that is not a verdict: a USB update, export or firmware
 * hand-off.  Stored as an audit row (verdict NULL, reason = result) and its
 * audit_detail row (event, detail), together.
 */
struct audit_event {
	int64_t time_us;
	const char *source; /* "usb" */
	const char *event;  /* "usb-update", "usb-export", "usb-firmware" */
	const char *result; /* "applied", or the refusal's qd_err_name() */
	const uint8_t *kid; /* the signer, may be NULL */
	size_t kid_len;
	const char *desk;
	const char *detail; /* bundle id and what it did, or why it was refused */
};
enum qd_err store_audit_event(struct store *store, const struct audit_event *ev, int64_t *row_id);

/* A batch's rows still waiting went on a USB stick: collected at `at` (seconds), before
 * store_upload_batch_done delivers the batch (audit_seal.h). */
enum qd_err store_audit_mark_exported(struct store *store, const struct store_upload_batch *batch,
                                      int64_t at);

#endif
