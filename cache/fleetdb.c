/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleetdb.c - the back office's fleet audit database (see fleetdb.h).
 */
#include "qrdesk/fleetdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_db.h"

struct fleetdb {
	sqlite3 *db;
	char path[4096];
};

static const char *const fleet_migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE batch ("
        " desk TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"
        " hash BLOB NOT NULL,"
        " previous BLOB NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " rows INTEGER NOT NULL,"
        " file TEXT NOT NULL,"
        " ingested_at INTEGER NOT NULL,"
        " PRIMARY KEY (desk, seq)) WITHOUT ROWID;"
        "CREATE TABLE scan ("
        " desk TEXT NOT NULL,"
        " row_id INTEGER NOT NULL,"
        " seq INTEGER NOT NULL,"
        " time_us INTEGER NOT NULL,"
        " source TEXT,"
        " verdict TEXT,"
        " reason TEXT,"
        " kid BLOB,"
        " clearance_hash BLOB,"
        " latency_us INTEGER NOT NULL,"
        " card_expires_at INTEGER,"
        " PRIMARY KEY (desk, row_id)) WITHOUT ROWID;"
        "CREATE INDEX scan_by_card ON scan(clearance_hash, time_us)"
        " WHERE clearance_hash IS NOT NULL;",
};
#define FLEET_SCHEMA_VERSION ((int)(sizeof(fleet_migrations) / sizeof(fleet_migrations[0])))

static enum qd_err fail(struct fleetdb *db, struct qd_errmsg *why, const char *what)
{
	qd_errmsg_set(why, "%s: cannot %s: %s", db->path, what, sqlite3_errmsg(db->db));
	return QD_ERR_STORE;
}

enum qd_err fleetdb_open(const char *path, struct fleetdb **out, struct qd_errmsg *why)
{
	*out = NULL;
	struct fleetdb *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return QD_ERR_NOMEM;
	snprintf(db->path, sizeof(db->path), "%s", path);
	int rc = sqlite3_open_v2(path, &db->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	enum qd_err err = QD_OK;
	int version = 0;
	if (rc != SQLITE_OK) {
		qd_errmsg_set(why, "%s: cannot open: %s", path,
		              db->db != NULL ? sqlite3_errmsg(db->db) : "out of memory");
		err = QD_ERR_STORE;
	} else if (sq_read_user_version(db->db, &version) != SQLITE_OK) {
		err = fail(db, why, "read the schema version");
	} else if (version > FLEET_SCHEMA_VERSION) {
		err = sq_too_new(path, version, FLEET_SCHEMA_VERSION, why);
	} else if ((err = sq_configure(db->db, path, false, why)) == QD_OK &&
	           version < FLEET_SCHEMA_VERSION) {
		(void)sqlite3_busy_timeout(db->db, 5000);
		err = sq_migrate(db->db, path, version, fleet_migrations, FLEET_SCHEMA_VERSION,
		                 FLEET_SCHEMA_VERSION, why);
	}
	if (err != QD_OK) {
		fleetdb_close(db);
		return err;
	}
	(void)sqlite3_busy_timeout(db->db, 5000);
	*out = db;
	return QD_OK;
}

void fleetdb_close(struct fleetdb *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	free(db);
}

enum qd_err fleetdb_batch_hash(struct fleetdb *db, const char *desk, uint64_t seq, bool *found,
                               uint8_t hash[AUDITBATCH_HASH_LEN], struct qd_errmsg *why)
{
	*found = false;
	sqlite3_stmt *s = NULL;
	if (sq_prepare(db->db, "SELECT hash FROM batch WHERE desk = ?1 AND seq = ?2", &s) !=
	    SQLITE_OK)
		return fail(db, why, "read a batch");
	sqlite3_bind_text(s, 1, desk, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == AUDITBATCH_HASH_LEN) {
		memcpy(hash, sqlite3_column_blob(s, 0), AUDITBATCH_HASH_LEN);
		*found = true;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? QD_OK : fail(db, why, "read a batch");
}

/* Insert the batch's rows with s, prepared. */
static int insert_rows(sqlite3_stmt *s, const struct auditbatch *b)
{
	size_t at = 0;
	struct auditbatch_row r;
	int rc = SQLITE_DONE;
	while (rc == SQLITE_DONE && auditbatch_row_next(b, &at, &r)) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		sqlite3_bind_text(s, 1, b->desk, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, r.id);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)b->sequence);
		sqlite3_bind_int64(s, 4, r.time_us);
		if (r.source != NULL)
			sqlite3_bind_text(s, 5, r.source, (int)r.source_len, SQLITE_STATIC);
		if (r.verdict != NULL)
			sqlite3_bind_text(s, 6, r.verdict, (int)r.verdict_len, SQLITE_STATIC);
		if (r.reason != NULL)
			sqlite3_bind_text(s, 7, r.reason, (int)r.reason_len, SQLITE_STATIC);
		if (r.kid != NULL)
			sqlite3_bind_blob(s, 8, r.kid, (int)r.kid_len, SQLITE_STATIC);
		if (r.clearance_hash != NULL)
			sqlite3_bind_blob(s, 9, r.clearance_hash, TRUST_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(s, 10, r.latency_us);
		if (r.card_expires_at > 0)
			sqlite3_bind_int64(s, 11, r.card_expires_at);
		rc = sqlite3_step(s);
	}
	return rc;
}

enum qd_err fleetdb_load(struct fleetdb *db, const struct auditbatch *b, const char *file,
                         int64_t now, struct qd_errmsg *why)
{
	if (sq_exec_sql(db->db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return fail(db, why, "begin");
	sqlite3_stmt *bs = NULL, *rs = NULL;
	int rc = sq_prepare(db->db,
	                    "INSERT INTO batch (desk, seq, hash, previous, created_at, rows, file,"
	                    " ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                    &bs);
	if (rc == SQLITE_OK)
		rc = sq_prepare(
		        db->db,
		        "INSERT INTO scan (desk, row_id, seq, time_us, source, verdict, reason,"
		        " kid, clearance_hash, latency_us, card_expires_at)"
		        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		        &rs);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(bs, 1, b->desk, -1, SQLITE_STATIC);
		sqlite3_bind_int64(bs, 2, (sqlite3_int64)b->sequence);
		sqlite3_bind_blob(bs, 3, b->hash, AUDITBATCH_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(bs, 4, b->previous, AUDITBATCH_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(bs, 5, b->created_at);
		sqlite3_bind_int64(bs, 6, (sqlite3_int64)b->n_rows);
		sqlite3_bind_text(bs, 7, file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(bs, 8, now);
		rc = sqlite3_step(bs);
	}
	if (rc == SQLITE_DONE)
		rc = insert_rows(rs, b);
	enum qd_err err = QD_OK;
	if (rc == SQLITE_CONSTRAINT) {
		qd_errmsg_set(why, "desk %s batch %llu: loaded already, or a row of it is", b->desk,
		              (unsigned long long)b->sequence);
		err = QD_ERR_EXISTS;
	} else if (rc != SQLITE_DONE) {
		err = fail(db, why, "load a batch");
	}
	sqlite3_finalize(bs);
	sqlite3_finalize(rs);
	if (err == QD_OK && sq_exec_sql(db->db, "COMMIT") != SQLITE_OK)
		err = fail(db, why, "commit a batch");
	if (err != QD_OK)
		(void)sq_exec_sql(db->db, "ROLLBACK");
	return err;
}

static const char *text_or_null(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_NULL
	               ? NULL
	               : (const char *)sqlite3_column_text(s, col);
}

enum qd_err fleetdb_scans(struct fleetdb *db, const uint8_t hash[TRUST_HASH_LEN],
                          void (*fn)(void *ctx, const struct fleetdb_scan *scan), void *ctx,
                          size_t *count, struct qd_errmsg *why)
{
	*count = 0;
	sqlite3_stmt *s = NULL;
	if (sq_prepare(db->db,
	               "SELECT desk, row_id, seq, time_us, source, verdict, reason, card_expires_at"
	               " FROM scan WHERE clearance_hash = ?1 ORDER BY time_us, desk, row_id",
	               &s) != SQLITE_OK)
		return fail(db, why, "read scans");
	sqlite3_bind_blob(s, 1, hash, TRUST_HASH_LEN, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct fleetdb_scan sc = {
		        .desk = (const char *)sqlite3_column_text(s, 0),
		        .row_id = sqlite3_column_int64(s, 1),
		        .seq = (uint64_t)sqlite3_column_int64(s, 2),
		        .time_us = sqlite3_column_int64(s, 3),
		        .source = text_or_null(s, 4),
		        .verdict = text_or_null(s, 5),
		        .reason = text_or_null(s, 6),
		        .card_expires_at = sqlite3_column_int64(s, 7),
		};
		fn(ctx, &sc);
		(*count)++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : fail(db, why, "read scans");
}

enum qd_err fleetdb_first_greens(struct fleetdb *db, int64_t now,
                                 enum qd_err (*fn)(void *ctx, const uint8_t *pseudonym,
                                                   int64_t time_us, const char *desk),
                                 void *ctx, struct qd_errmsg *why)
{
	sqlite3_stmt *s = NULL;
	/* Per card: its earliest green row (k = 1) and the latest expiry any row gave it. */
	if (sq_prepare(
	            db->db,
	            "SELECT clearance_hash, time_us, desk FROM ("
	            " SELECT clearance_hash, time_us, desk, row_number() OVER card AS k,"
	            "  max(coalesce(card_expires_at, 0)) OVER (PARTITION BY clearance_hash) AS ex"
	            " FROM scan WHERE verdict = 'valid' AND length(clearance_hash) = ?2"
	            " WINDOW card AS (PARTITION BY clearance_hash ORDER BY time_us, desk, row_id))"
	            " WHERE k = 1 AND (ex = 0 OR ex > ?1) ORDER BY clearance_hash",
	            &s) != SQLITE_OK)
		return fail(db, why, "read first greens");
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, TRUST_HASH_LEN);
	int rc = SQLITE_DONE;
	enum qd_err err = QD_OK;
	while (err == QD_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = fn(ctx, sqlite3_column_blob(s, 0), sqlite3_column_int64(s, 1),
		         (const char *)sqlite3_column_text(s, 2));
	sqlite3_finalize(s);
	if (err != QD_OK)
		return err;
	return rc == SQLITE_DONE ? QD_OK : fail(db, why, "read first greens");
}

enum qd_err fleetdb_counts(struct fleetdb *db, uint64_t *batches, uint64_t *scans,
                           struct qd_errmsg *why)
{
	sqlite3_stmt *s = NULL;
	if (sq_prepare(db->db, "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM scan)",
	               &s) != SQLITE_OK)
		return fail(db, why, "count");
	int rc = sqlite3_step(s);
	*batches = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	*scans = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 1) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? QD_OK : fail(db, why, "count");
}
