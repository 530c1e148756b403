/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleetdb.h - the back office's fleet audit database (cache/fleetdb.c): the
 * rows of every desk's verified audit batches, loaded by `qrdesk-issuer
 * ingest` (docs/fleet.md), asked by `qrdesk-issuer audit query` and by what
 * is published from it (the fleet's "used" document).
 *
 * One SQLite file (DIR/fleet.db of the trust domain), WAL, synchronous=FULL.
 * Schema (version 1; later versions only add):
 *
 *   batch (desk TEXT, seq INTEGER, hash BLOB(32), previous BLOB(32),
 *          created_at INTEGER, rows INTEGER, file TEXT, ingested_at INTEGER,
 *          PRIMARY KEY (desk, seq))
 *       one row per loaded batch: SHA-256 of its whole COSE bytes (what the
 *       next batch's previous must be), the source file's name as read.
 *   scan  (desk TEXT, row_id INTEGER, seq INTEGER, time_us INTEGER,
 *          source TEXT, verdict TEXT, reason TEXT, kid BLOB,
 *          clearance_hash BLOB(16), latency_us INTEGER, card_expires_at INTEGER,
 *          PRIMARY KEY (desk, row_id))
 *       one row per audit row: verdict is verdict_kind_name() ("valid" is a
 *       green), NULL for an event row (a USB update...); clearance_hash the
 *       keyed pseudonym under the deployment's audit key (the same at every
 *       desk), NULL when none was read; card_expires_at seconds or NULL.
 *       Index scan_by_card (clearance_hash, time_us).
 *
 * A batch and its rows go in together in one transaction: never half-loaded.
 * Loading is idempotent: a batch loaded before (same desk, sequence and
 * hash) adds nothing.
 */
#ifndef QRDESK_FLEETDB_H
#define QRDESK_FLEETDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/error.h"
#include "qrdesk/trust.h"

struct fleetdb;

/* Open (creating and migrating) the database at path. */
enum qd_err fleetdb_open(const char *path, struct fleetdb **out, struct qd_errmsg *why);
void fleetdb_close(struct fleetdb *db);

/* The hash of batch (desk, seq) if loaded (*found). */
enum qd_err fleetdb_batch_hash(struct fleetdb *db, const char *desk, uint64_t seq, bool *found,
                               uint8_t hash[AUDITBATCH_HASH_LEN], struct qd_errmsg *why);

/* Load a parsed, verified, chained batch and all its rows, in one transaction (file: its name
 * as read, for the record).  QD_ERR_EXISTS if (desk, seq) or one of its rows is loaded. */
enum qd_err fleetdb_load(struct fleetdb *db, const struct auditbatch *b, const char *file,
                         int64_t now, struct qd_errmsg *why);

/* One scan as read back; texts NUL-terminated, NULL when absent, valid during the callback. */
struct fleetdb_scan {
	const char *desk;
	int64_t row_id;
	uint64_t seq;
	int64_t time_us;
	const char *source, *verdict, *reason;
	int64_t card_expires_at; /* 0: unknown */
};

/* Every scan of a clearance pseudonym, oldest first: where and when it was read. */
enum qd_err fleetdb_scans(struct fleetdb *db, const uint8_t hash[TRUST_HASH_LEN],
                          void (*fn)(void *ctx, const struct fleetdb_scan *scan), void *ctx,
                          size_t *count, struct qd_errmsg *why);

/*
 * Each card's first green (verdict "valid") in the fleet, in ascending order of pseudonym:
 * the pseudonym, the time and the desk of its earliest green row.  A card whose rows say it
 * expired at or before now is left out (its "already used" marker has served; docs/fleet.md).
 */
enum qd_err fleetdb_first_greens(struct fleetdb *db, int64_t now,
                                 enum qd_err (*fn)(void *ctx, const uint8_t *pseudonym,
                                                   int64_t time_us, const char *desk),
                                 void *ctx, struct qd_errmsg *why);

/* Batches and scans loaded, in all. */
enum qd_err fleetdb_counts(struct fleetdb *db, uint64_t *batches, uint64_t *scans,
                           struct qd_errmsg *why);

#endif
