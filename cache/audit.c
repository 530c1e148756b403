/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c - the audit log in its own SQLite file beside the trust store (see
 * qrdesk/store.h, "audit").
 *
 * Why its own file: SQLite has one writer per file.  In the trust file, a
 * verdict's row had to wait for (or be kept in memory past) a sync apply of
 * a million revocations; here it waits at most for another short audit
 * transaction (an upload mark, a purge chunk), and is on disk before the
 * pipeline goes on.  The file is WAL with synchronous=FULL like the trust
 * file (sq_configure).
 *
 * Schema (user_version 1)
 *   audit        (id INTEGER PRIMARY KEY, time_us, source, verdict, reason, kid,
 *                 clearance_hash, desk, latency_us, uploaded_at NULL,
 *                 collected_at NULL)  one row per verdict or event; ids are
 *                 those of the old layout for the rows it brought
 *   audit_detail (audit_id -> audit.id, event, detail)  rows that are not verdicts
 *   audit_binding (audit_id -> audit.id, card, passport, boarding,
 *                 passport_pseudonym, boarding_pseudonym)  a traveller
 *                 transaction's documents (binding.h)
 *   upload_batch (singleton 1, batch_id, first_id, last_id, rows, created_at,
 *                 seq NULL, bytes NULL)  the open batch; seq and bytes once sealed
 *                 (upload.h: a retry sends the same signed bytes)
 *   batch_chain  (singleton 1, seq, hash)  the last batch the storage took:
 *                its number and the SHA-256 of its bytes (the next one's previous)
 *   used_cards   (hash PRIMARY KEY, first_us, desk, expires_at NULL) WITHOUT ROWID
 *                the "already used" marker of each card that passed green: its
 *                first pass, kept until the card's own expiry (NULL: unknown,
 *                kept), independent of the rows retention deletes.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qrdesk/digest.h"
#include "paced_vfs.h"
#include "qrdesk/store.h"
#include "store_db.h"

static const char *const audit_migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE IF NOT EXISTS audit ("
        " id INTEGER PRIMARY KEY,"
        " time_us INTEGER NOT NULL,"
        " source TEXT,"
        " verdict TEXT,"
        " reason TEXT,"
        " kid BLOB,"
        " clearance_hash BLOB,"
        " desk TEXT,"
        " latency_us INTEGER NOT NULL,"
        " uploaded_at INTEGER NULL,"
        " collected_at INTEGER NULL);"
        "CREATE INDEX IF NOT EXISTS audit_not_uploaded ON audit(id) WHERE uploaded_at IS NULL;"
        "CREATE INDEX IF NOT EXISTS audit_uncollected ON audit(id) WHERE collected_at IS NULL;"
        "CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time_us);"
        "CREATE TABLE IF NOT EXISTS audit_detail ("
        " audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
        " event TEXT NOT NULL,"
        " detail TEXT);"
        "CREATE TABLE IF NOT EXISTS audit_binding ("
        " audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
        " card TEXT NOT NULL,"
        " passport TEXT NOT NULL,"
        " boarding TEXT NOT NULL,"
        " passport_pseudonym BLOB,"
        " boarding_pseudonym BLOB);"
        "CREATE TABLE IF NOT EXISTS upload_batch ("
        " singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
        " batch_id TEXT NOT NULL,"
        " first_id INTEGER NOT NULL,"
        " last_id INTEGER NOT NULL,"
        " rows INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS used_cards ("
        " hash BLOB PRIMARY KEY,"
        " first_us INTEGER NOT NULL,"
        " desk TEXT,"
        " expires_at INTEGER NULL) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS used_by_expiry ON used_cards(expires_at)"
        " WHERE expires_at IS NOT NULL;",
        /* 1 -> 2: signed batches (auditbatch.h): the open batch's number and signed bytes,
         * so a retry sends the very same bytes, and the chain's last link. */
        "ALTER TABLE upload_batch ADD COLUMN seq INTEGER;"
        "ALTER TABLE upload_batch ADD COLUMN bytes BLOB;"
        "CREATE TABLE IF NOT EXISTS batch_chain ("
        " singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
        " seq INTEGER NOT NULL,"
        " hash BLOB NOT NULL);",
};
#define AUDIT_SCHEMA_VERSION ((int)(sizeof(audit_migrations) / sizeof(audit_migrations[0])))

static const char *const audit_sql[AST_COUNT] = {
        [AST_BEGIN] = "BEGIN IMMEDIATE",
        [AST_COMMIT] = "COMMIT",
        [AST_ROLLBACK] = "ROLLBACK",
        [AST_INSERT] = "INSERT INTO audit (time_us, source, verdict, reason, kid, "
                       "clearance_hash, desk, latency_us) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        /* The earliest pass wins (a clock set back still finds the first one);
         * the latest expiry is kept. */
        [AST_USED_UPSERT] = "INSERT INTO used_cards (hash, first_us, desk, expires_at) "
                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (hash) DO UPDATE SET "
                            "first_us = min(first_us, excluded.first_us), "
                            "desk = CASE WHEN excluded.first_us < first_us "
                            "THEN excluded.desk ELSE desk END, "
                            "expires_at = CASE WHEN expires_at IS NULL OR excluded.expires_at "
                            "IS NULL THEN NULL ELSE max(expires_at, excluded.expires_at) END",
        [AST_BINDING_INSERT] = "INSERT INTO audit_binding (audit_id, card, passport, boarding, "
                               "passport_pseudonym, boarding_pseudonym) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [AST_COUNT_ROWS] = "SELECT count(*) FROM audit",
        [AST_FIRST_VALID] = ("SELECT first_us, desk FROM used_cards WHERE hash = ?1 AND "
                             "first_us < ?2"),
        [AST_OLDEST] = "SELECT min(time_us) FROM audit",
};

void store_audit_path(const char *store_path, char *out, size_t cap)
{
	size_t n = strlen(store_path);
	if (n > 3 && strcmp(store_path + n - 3, ".db") == 0)
		n -= 3;
	snprintf(out, cap, "%.*s-audit.db", (int)n, store_path);
}

static enum qd_err asql_fail(struct store *store, struct qd_errmsg *why, const char *what)
{
	qd_errmsg_set(why, "%s: %s", what, sqlite3_errmsg(store->adb));
	return QD_ERR_STORE;
}

/* Roll back if a transaction is still open (an I/O error may have done it already). */
static void atx_rollback(struct store *store)
{
	if (!sqlite3_get_autocommit(store->adb))
		(void)sq_step_done(store->ast[AST_ROLLBACK]);
}

static enum qd_err atx_fail(struct store *store, struct qd_errmsg *why, const char *what)
{
	enum qd_err err = asql_fail(store, why, what);
	atx_rollback(store);
	return err;
}

/* Copy the rows of the old single-file layout: ids kept, so a second run
 * (after a power cut before the trust file dropped them) adds nothing. */
static const char *const legacy_copy =
        "INSERT OR IGNORE INTO main.audit SELECT id, time_us, source, verdict, reason, kid,"
        " clearance_hash, desk, latency_us, uploaded_at, collected_at FROM legacy.audit;"
        "INSERT OR IGNORE INTO main.audit_detail SELECT audit_id, event, detail"
        " FROM legacy.audit_detail;"
        "INSERT OR IGNORE INTO main.audit_binding SELECT audit_id, card, passport, boarding,"
        " passport_pseudonym, boarding_pseudonym FROM legacy.audit_binding;"
        "INSERT OR IGNORE INTO main.upload_batch (singleton, batch_id, first_id, last_id,"
        " rows, created_at) SELECT singleton, batch_id, first_id,"
        " last_id, rows, created_at FROM legacy.upload_batch;"
        /* min() makes the bare desk column that of the earliest row. */
        "INSERT OR IGNORE INTO main.used_cards (hash, first_us, desk, expires_at)"
        " SELECT clearance_hash, min(time_us), desk, NULL FROM legacy.audit"
        " WHERE verdict = 'valid' AND length(clearance_hash) = 16 GROUP BY clearance_hash;";

static enum qd_err take_legacy_rows(struct store *store, const char *trust_path,
                                    struct qd_errmsg *why)
{
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb, "ATTACH DATABASE ?1 AS legacy", &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, trust_path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return asql_fail(store, why, "attach the old audit log");
	/* A file whose version was set back after the split has no rows to give. */
	int64_t has = 0;
	bool present = false;
	rc = sq_prepare(store->adb,
	                "SELECT count(*) FROM legacy.sqlite_master WHERE type = 'table' AND "
	                "name IN ('audit', 'audit_detail', 'audit_binding', 'upload_batch')",
	                &s);
	if (rc == SQLITE_OK)
		rc = sq_step_int(s, &has, &present);
	sqlite3_finalize(s);
	enum qd_err err = QD_OK;
	if (rc != SQLITE_OK)
		err = asql_fail(store, why, "read the old audit log");
	else if (has == 4 && (sq_exec_sql(store->adb, "BEGIN IMMEDIATE") != SQLITE_OK ||
	                      sq_exec_sql(store->adb, legacy_copy) != SQLITE_OK ||
	                      sq_exec_sql(store->adb, "COMMIT") != SQLITE_OK))
		err = atx_fail(store, why, "move the audit rows to their own file");
	if (sq_exec_sql(store->adb, "DETACH DATABASE legacy") != SQLITE_OK && err == QD_OK)
		err = asql_fail(store, why, "detach the old audit log");
	return err;
}

enum qd_err audit_db_open(struct store *store, const char *trust_path, bool take_legacy,
                          struct qd_errmsg *why)
{
	char path[4096];
	store_audit_path(trust_path, path, sizeof(path));
	/* A read-only look at a store whose audit log was never written (a copied trust
	 * store, a desk never started): an empty log in memory, read-only too, so the
	 * reads see no rows and nothing is created beside the store. */
	bool absent = store->readonly && access(path, F_OK) != 0 && errno == ENOENT;
	int flags = SQLITE_OPEN_NOMUTEX |
	            (store->readonly && !absent ? SQLITE_OPEN_READONLY
	                                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	/* Its WAL grows in zeroed steps, so a row's fdatasync seldom waits for the
	 * file system's journal, which a trust apply keeps busy (paced_vfs.h). */
	int rc = sqlite3_open_v2(absent ? ":memory:" : path, &store->adb, flags,
	                         store->readonly ? NULL : paced_vfs_name(PACED_VFS_AUDIT));
	if (rc != SQLITE_OK) {
		qd_errmsg_set(why, "%s: cannot open the audit log: %s", path,
		              store->adb != NULL ? sqlite3_errmsg(store->adb) : "out of memory");
		return (rc & 0xff) == SQLITE_CANTOPEN ? QD_ERR_NOT_FOUND : QD_ERR_STORE;
	}
	/* Other audit writers hold it for a short transaction only: wait, never drop a row. */
	(void)sqlite3_busy_timeout(store->adb, 5000); /* cannot fail on an open handle */
	int version = 0;
	if (sq_read_user_version(store->adb, &version) != SQLITE_OK)
		return asql_fail(store, why, "read the audit log's schema version");
	if (version > AUDIT_SCHEMA_VERSION)
		return sq_too_new(path, version, AUDIT_SCHEMA_VERSION, why);
	/* In memory there is no WAL: configured as a read-only file is. */
	enum qd_err err = sq_configure(store->adb, path, store->readonly, why);
	if (err != QD_OK)
		return err;
	if (version < AUDIT_SCHEMA_VERSION) {
		if (store->readonly && !absent) {
			qd_errmsg_set(why, "%s is not set up: open the store read-write once",
			              path);
			return QD_ERR_STORE;
		}
		err = sq_migrate(store->adb, path, version, audit_migrations, AUDIT_SCHEMA_VERSION,
		                 AUDIT_SCHEMA_VERSION, why);
		if (err != QD_OK)
			return err;
	}
	if (absent && sq_exec_sql(store->adb, "PRAGMA query_only = ON") != SQLITE_OK)
		return asql_fail(store, why, "make the empty audit log read-only");
	if (take_legacy && !store->readonly) {
		err = take_legacy_rows(store, trust_path, why);
		if (err != QD_OK)
			return err;
	}
	for (int i = 0; i < AST_COUNT; i++) {
		rc = sqlite3_prepare_v3(store->adb, audit_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &store->ast[i], NULL);
		if (rc != SQLITE_OK) {
			qd_errmsg_set(why, "%s: cannot prepare \"%s\": %s", path, audit_sql[i],
			              sqlite3_errmsg(store->adb));
			return QD_ERR_STORE;
		}
	}
	return QD_OK;
}

void audit_db_close(struct store *store)
{
	for (int i = 0; i < AST_COUNT; i++) {
		(void)sqlite3_finalize(store->ast[i]); /* errors were judged at each step */
		store->ast[i] = NULL;
	}
	if (store->adb != NULL)
		(void)sqlite3_close(store->adb); /* every statement is finalized: not busy */
	store->adb = NULL;
}

/* ---- rows -------------------------------------------------------------- */

static int bind_record(sqlite3_stmt *s, const struct audit_record *rec)
{
	int rc = sqlite3_bind_int64(s, 1, rec->time_us);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 2, rec->source);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 3, rec->verdict);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 4, rec->reason);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 5, rec->kid, rec->kid_len);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 6, rec->clearance_hash,
		                          rec->clearance_hash != NULL ? TRUST_HASH_LEN : 0);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 7, rec->desk);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 8, rec->latency_us);
	return rc;
}

static int mark_used(struct store *store, const struct audit_record *rec)
{
	sqlite3_stmt *s = store->ast[AST_USED_UPSERT];
	int rc = sqlite3_bind_blob(s, 1, rec->clearance_hash, TRUST_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, rec->time_us);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 3, rec->desk);
	if (rc == SQLITE_OK)
		rc = rec->card_expires_at > 0 ? sqlite3_bind_int64(s, 4, rec->card_expires_at)
		                              : sqlite3_bind_null(s, 4);
	if (rc == SQLITE_OK)
		rc = sq_step_done(s);
	if (sqlite3_clear_bindings(s) != SQLITE_OK && rc == SQLITE_OK)
		rc = SQLITE_ERROR;
	return rc;
}

static int audit_binding_insert(struct store *store, int64_t id, const struct audit_binding *b)
{
	sqlite3_stmt *s = store->ast[AST_BINDING_INSERT];
	int rc = sqlite3_bind_int64(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 2, b->card);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 3, b->passport);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 4, b->boarding);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 5, b->passport_pseudonym,
		                          b->passport_pseudonym != NULL ? TRUST_HASH_LEN : 0);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 6, b->boarding_pseudonym,
		                          b->boarding_pseudonym != NULL ? TRUST_HASH_LEN : 0);
	if (rc == SQLITE_OK)
		rc = sq_step_done(s);
	if (sqlite3_clear_bindings(s) != SQLITE_OK && rc == SQLITE_OK)
		rc = SQLITE_ERROR;
	return rc;
}

static bool record_ok(const struct audit_record *rec)
{
	const struct audit_binding *b = rec != NULL ? rec->binding : NULL;
	return rec != NULL && (rec->kid == NULL || rec->kid_len <= TRUST_KID_MAX) &&
	       (b == NULL || (b->card != NULL && b->passport != NULL && b->boarding != NULL));
}

/* A green row marks its card (the "already used" marker) in the same transaction. */
static bool record_marks(const struct audit_record *rec)
{
	return rec->clearance_hash != NULL && rec->verdict != NULL &&
	       strcmp(rec->verdict, "valid") == 0;
}

/* One row, its documents and its card's marker, inside the caller's transaction (or as one
 * statement when it is a lone row). */
static int append_one(struct store *store, const struct audit_record *rec, int64_t *row_id)
{
	sqlite3_stmt *s = store->ast[AST_INSERT];
	int rc = bind_record(s, rec);
	if (rc == SQLITE_OK)
		rc = sq_step_done(s);
	/* The pointers bound above belong to the caller: do not keep them. */
	if (sqlite3_clear_bindings(s) != SQLITE_OK && rc == SQLITE_OK)
		rc = SQLITE_ERROR;
	int64_t id = sqlite3_last_insert_rowid(store->adb);
	if (rec->binding != NULL && rc == SQLITE_OK)
		rc = audit_binding_insert(store, id, rec->binding);
	if (record_marks(rec) && rc == SQLITE_OK)
		rc = mark_used(store, rec);
	if (row_id != NULL)
		*row_id = rc == SQLITE_OK ? id : 0;
	return rc;
}

enum qd_err store_audit_append(struct store *store, const struct audit_record *rec, int64_t *row_id)
{
	if (row_id != NULL)
		*row_id = 0;
	if (store == NULL || !record_ok(rec) || store->readonly)
		return QD_ERR_ARG;
	/* A green row and its card's marker, a transaction's row and its documents: each
	 * commit together (one fsync).  A lone row is one statement. */
	bool tx = record_marks(rec) || rec->binding != NULL;
	if (tx && sq_step_done(store->ast[AST_BEGIN]) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = append_one(store, rec, row_id);
	if (tx && rc == SQLITE_OK)
		rc = sq_step_done(store->ast[AST_COMMIT]);
	if (rc != SQLITE_OK) {
		atx_rollback(store);
		if (row_id != NULL)
			*row_id = 0;
		return QD_ERR_STORE;
	}
	return QD_OK;
}

enum qd_err store_audit_append_rows(struct store *store, const struct audit_record *recs, size_t n)
{
	if (store == NULL || (recs == NULL && n > 0) || store->readonly)
		return QD_ERR_ARG;
	for (size_t i = 0; i < n; i++)
		if (!record_ok(&recs[i]))
			return QD_ERR_ARG;
	if (n == 0)
		return QD_OK;
	if (n == 1)
		return store_audit_append(store, &recs[0], NULL);
	if (sq_step_done(store->ast[AST_BEGIN]) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = SQLITE_OK;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
		rc = append_one(store, &recs[i], NULL);
	if (rc == SQLITE_OK)
		rc = sq_step_done(store->ast[AST_COMMIT]);
	if (rc != SQLITE_OK) {
		atx_rollback(store);
		return QD_ERR_STORE;
	}
	return QD_OK;
}

enum qd_err store_audit_count(struct store *store, uint64_t *count)
{
	if (count != NULL)
		*count = 0;
	if (store == NULL || count == NULL)
		return QD_ERR_ARG;
	int64_t n = 0;
	bool present = false;
	if (sq_step_int(store->ast[AST_COUNT_ROWS], &n, &present) != SQLITE_OK || !present)
		return QD_ERR_STORE;
	*count = n > 0 ? (uint64_t)n : 0;
	return QD_OK;
}

enum qd_err store_audit_first_valid(struct store *store, const uint8_t hash[TRUST_HASH_LEN],
                                    int64_t before_us, bool *found, int64_t *time_us, char *desk,
                                    size_t desk_cap)
{
	if (store == NULL || hash == NULL || found == NULL || time_us == NULL)
		return QD_ERR_ARG;
	*found = false;
	sqlite3_stmt *s = store->ast[AST_FIRST_VALID];
	int rc = sqlite3_bind_blob(s, 1, hash, TRUST_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, before_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = true;
		*time_us = sqlite3_column_int64(s, 0);
		const unsigned char *d = sqlite3_column_text(s, 1);
		if (desk != NULL && desk_cap > 0)
			snprintf(desk, desk_cap, "%s", d != NULL ? (const char *)d : "");
		rc = SQLITE_DONE;
	}
	sq_stmt_done(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

enum qd_err store_audit_oldest(struct store *store, bool *found, int64_t *time_us)
{
	if (store == NULL || found == NULL || time_us == NULL)
		return QD_ERR_ARG;
	*found = false;
	*time_us = 0;
	sqlite3_stmt *s = store->ast[AST_OLDEST];
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = sqlite3_column_type(s, 0) != SQLITE_NULL;
		*time_us = sqlite3_column_int64(s, 0);
		rc = SQLITE_DONE;
	}
	sq_stmt_done(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

/* ---- retention ---------------------------------------------------------- */

/* One statement binding ?1 and ?2; the rows it changed. */
static int exec_chunk(struct store *store, const char *sql, int64_t a, int64_t b, uint64_t *changed)
{
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb, sql, &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, a);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, b);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc == SQLITE_OK && changed != NULL)
		*changed = (uint64_t)sqlite3_changes64(store->adb);
	return rc;
}

/* The rows retention may take: the same ids for both statements of one transaction. */
#define RETAIN_COPIED                                                                              \
	"SELECT id FROM audit WHERE time_us < ?1 AND (uploaded_at IS NOT NULL OR "                 \
	"collected_at IS NOT NULL) ORDER BY id LIMIT ?2"
#define RETAIN_ANY "SELECT id FROM audit WHERE time_us < ?1 ORDER BY id LIMIT ?2"

enum qd_err store_audit_retain(struct store *store, const struct store_retention *r,
                               struct store_retention_result *out, struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	if (store == NULL || r == NULL || store->readonly || r->max_rows == 0 ||
	    r->max_rows > INT32_MAX)
		return QD_ERR_ARG;
	int64_t limit = (int64_t)r->max_rows;
	const char *detail_sql =
	        r->keep_until_copied
	                ? "DELETE FROM audit_detail WHERE audit_id IN (" RETAIN_COPIED ")"
	                : "DELETE FROM audit_detail WHERE audit_id IN (" RETAIN_ANY ")";
	const char *rows_sql = r->keep_until_copied
	                               ? "DELETE FROM audit WHERE id IN (" RETAIN_COPIED ")"
	                               : "DELETE FROM audit WHERE id IN (" RETAIN_ANY ")";
	if (sq_step_done(store->ast[AST_BEGIN]) != SQLITE_OK)
		return asql_fail(store, why, "begin the audit purge");
	/* Details first: they refer to their rows. */
	int rc = exec_chunk(store, detail_sql, r->before_us, limit, NULL);
	if (rc == SQLITE_OK)
		rc = exec_chunk(store, rows_sql, r->before_us, limit, &out->rows);
	if (rc == SQLITE_OK)
		rc = exec_chunk(store,
		                "DELETE FROM used_cards WHERE hash IN (SELECT hash FROM used_cards "
		                "WHERE expires_at < ?1 LIMIT ?2)",
		                r->now, limit, &out->markers);
	if (rc == SQLITE_OK)
		rc = sq_step_done(store->ast[AST_COMMIT]);
	if (rc != SQLITE_OK)
		return atx_fail(store, why, "purge the audit log");
	out->more = out->rows == (uint64_t)limit || out->markers == (uint64_t)limit;
	return QD_OK;
}

/* ---- audit upload ----------------------------------------- */

static enum qd_err upload_batch_read(struct store *store, struct store_upload_batch *out,
                                     bool *found)
{
	sqlite3_stmt *s = NULL;
	*found = false;
	int rc = sq_prepare(store->adb,
	                    "SELECT batch_id, first_id, last_id, rows FROM upload_batch "
	                    "WHERE singleton = 1",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(s, 0);
		snprintf(out->id, sizeof(out->id), "%s", id != NULL ? (const char *)id : "");
		out->first_id = sqlite3_column_int64(s, 1);
		out->last_id = sqlite3_column_int64(s, 2);
		out->rows = (size_t)sqlite3_column_int64(s, 3);
		*found = true;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

enum qd_err store_upload_batch_open(struct store *store, size_t max_rows, const char *new_id,
                                    int64_t now, struct store_upload_batch *out, bool *found,
                                    struct qd_errmsg *why)
{
	if (store == NULL || out == NULL || found == NULL || new_id == NULL || max_rows == 0 ||
	    strlen(new_id) >= sizeof(out->id) || store->readonly)
		return QD_ERR_ARG;
	memset(out, 0, sizeof(*out));
	*found = false;
	if (sq_step_done(store->ast[AST_BEGIN]) != SQLITE_OK)
		return asql_fail(store, why, "begin the upload batch");
	enum qd_err err = upload_batch_read(store, out, found);
	if (err != QD_OK)
		return atx_fail(store, why, "read the upload batch");
	if (*found) { /* a retry: the same rows under the same id */
		if (sq_step_done(store->ast[AST_COMMIT]) != SQLITE_OK)
			return atx_fail(store, why, "read the upload batch");
		return QD_OK;
	}
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb,
	                    "SELECT min(id), max(id), count(*) FROM (SELECT id FROM audit "
	                    "WHERE uploaded_at IS NULL ORDER BY id LIMIT ?1)",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, (sqlite3_int64)max_rows);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int64_t first = 0, last = 0, rows = 0;
	if (rc == SQLITE_ROW) {
		first = sqlite3_column_int64(s, 0);
		last = sqlite3_column_int64(s, 1);
		rows = sqlite3_column_int64(s, 2);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return atx_fail(store, why, "find audit rows to upload");
	if (rows == 0) {
		atx_rollback(store);
		return QD_OK;
	}
	rc = sq_prepare(store->adb,
	                "INSERT INTO upload_batch (singleton, batch_id, first_id, last_id, rows, "
	                "created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
	                &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, new_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, first);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, last);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, rows);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 5, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return atx_fail(store, why, "record the upload batch");
	if (sq_step_done(store->ast[AST_COMMIT]) != SQLITE_OK)
		return atx_fail(store, why, "record the upload batch");
	snprintf(out->id, sizeof(out->id), "%s", new_id);
	out->first_id = first;
	out->last_id = last;
	out->rows = (size_t)rows;
	*found = true;
	return QD_OK;
}

enum qd_err store_upload_batch_rows(struct store *store, const struct store_upload_batch *batch,
                                    store_audit_row_fn fn, void *ctx, struct qd_errmsg *why)
{
	if (store == NULL || batch == NULL || fn == NULL)
		return QD_ERR_ARG;
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb,
	                    "SELECT id, time_us, source, verdict, reason, kid, clearance_hash, "
	                    "desk, latency_us, (SELECT expires_at FROM used_cards u WHERE "
	                    "u.hash = audit.clearance_hash) FROM audit WHERE id BETWEEN ?1 AND ?2 "
	                    "AND uploaded_at IS NULL ORDER BY id",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, batch->first_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, batch->last_id);
	enum qd_err err = QD_OK;
	while (rc == SQLITE_OK && err == QD_OK) {
		int step = sqlite3_step(s);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = step;
			break;
		}
		struct store_audit_row row = {0};
		row.id = sqlite3_column_int64(s, 0);
		row.rec.time_us = sqlite3_column_int64(s, 1);
		row.rec.source = (const char *)sqlite3_column_text(s, 2);
		row.rec.verdict = (const char *)sqlite3_column_text(s, 3);
		row.rec.reason = (const char *)sqlite3_column_text(s, 4);
		row.rec.kid = sqlite3_column_blob(s, 5);
		row.rec.kid_len = (size_t)sqlite3_column_bytes(s, 5);
		row.rec.clearance_hash = sqlite3_column_blob(s, 6);
		if (row.rec.clearance_hash != NULL && sqlite3_column_bytes(s, 6) != TRUST_HASH_LEN)
			row.rec.clearance_hash = NULL;
		row.rec.desk = (const char *)sqlite3_column_text(s, 7);
		row.rec.latency_us = sqlite3_column_int64(s, 8);
		row.rec.card_expires_at = sqlite3_column_int64(s, 9);
		err = fn(ctx, &row);
	}
	if (rc != SQLITE_OK)
		err = asql_fail(store, why, "read the audit rows to upload");
	sqlite3_finalize(s);
	return err;
}

/* A sealed batch becomes the chain's last link (inside store_upload_batch_done's
 * transaction): its number and the SHA-256 of its bytes. */
static int chain_advance(struct store *store, const char *batch_id)
{
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb, "SELECT seq, bytes FROM upload_batch WHERE batch_id = ?1",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, batch_id, -1, SQLITE_STATIC);
	int step = rc == SQLITE_OK ? sqlite3_step(s) : rc;
	int64_t seq = 0;
	uint8_t hash[DIGEST_SHA256_LEN];
	bool sealed = false;
	if (step == SQLITE_ROW && sqlite3_column_type(s, 1) == SQLITE_BLOB) {
		seq = sqlite3_column_int64(s, 0);
		digest_sha256(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), hash);
		sealed = true;
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? SQLITE_OK : step;
	sqlite3_finalize(s);
	if (rc != SQLITE_OK || !sealed)
		return rc;
	/* Forward only: a late acknowledgement of an older batch never moves the chain back. */
	rc = sq_prepare(store->adb,
	                "INSERT INTO batch_chain (singleton, seq, hash) VALUES (1, ?1, ?2) "
	                "ON CONFLICT (singleton) DO UPDATE SET seq = excluded.seq, "
	                "hash = excluded.hash WHERE excluded.seq > batch_chain.seq",
	                &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 2, hash, sizeof(hash), SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc;
}

enum qd_err store_upload_chain(struct store *store, uint64_t *last_seq,
                               uint8_t last_hash[DIGEST_SHA256_LEN], struct qd_errmsg *why)
{
	*last_seq = 0;
	memset(last_hash, 0, DIGEST_SHA256_LEN);
	sqlite3_stmt *s = NULL;
	int rc =
	        sq_prepare(store->adb, "SELECT seq, hash FROM batch_chain WHERE singleton = 1", &s);
	int step = rc == SQLITE_OK ? sqlite3_step(s) : rc;
	if (step == SQLITE_ROW && sqlite3_column_bytes(s, 1) == DIGEST_SHA256_LEN) {
		*last_seq = (uint64_t)sqlite3_column_int64(s, 0);
		memcpy(last_hash, sqlite3_column_blob(s, 1), DIGEST_SHA256_LEN);
	}
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return asql_fail(store, why, "read the batch chain");
	return QD_OK;
}

enum qd_err store_upload_batch_sealed(struct store *store, const struct store_upload_batch *batch,
                                      uint64_t *seq, uint8_t **bytes, size_t *len,
                                      struct qd_errmsg *why)
{
	*seq = 0;
	*bytes = NULL;
	*len = 0;
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb, "SELECT seq, bytes FROM upload_batch WHERE batch_id = ?1",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, batch->id, -1, SQLITE_STATIC);
	int step = rc == SQLITE_OK ? sqlite3_step(s) : rc;
	enum qd_err err = QD_OK;
	if (step == SQLITE_ROW && sqlite3_column_type(s, 1) == SQLITE_BLOB) {
		size_t n = (size_t)sqlite3_column_bytes(s, 1);
		*bytes = malloc(n);
		if (*bytes == NULL) {
			err = QD_ERR_NOMEM;
		} else {
			memcpy(*bytes, sqlite3_column_blob(s, 1), n);
			*len = n;
			*seq = (uint64_t)sqlite3_column_int64(s, 0);
		}
	} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
		err = asql_fail(store, why, "read the upload batch");
	}
	sqlite3_finalize(s);
	return err;
}

enum qd_err store_upload_batch_seal(struct store *store, const struct store_upload_batch *batch,
                                    uint64_t seq, const uint8_t *bytes, size_t len,
                                    struct qd_errmsg *why)
{
	sqlite3_stmt *s = NULL;
	/* One statement, so one check: the batch is still open, not sealed, and seq is the
	 * chain's next number.  The upload and the USB export seal on their own connections. */
	int rc = sq_prepare(store->adb,
	                    "UPDATE upload_batch SET seq = ?1, bytes = ?2 WHERE batch_id = ?3 "
	                    "AND bytes IS NULL AND ?1 = 1 + coalesce((SELECT seq FROM "
	                    "batch_chain WHERE singleton = 1), 0)",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 2, bytes, (int)len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 3, batch->id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return asql_fail(store, why, "seal the upload batch");
	if (sqlite3_changes(store->adb) == 0) {
		qd_errmsg_set(why, "batch %s: sealed or closed meanwhile", batch->id);
		return QD_ERR_EXISTS;
	}
	return QD_OK;
}

enum qd_err store_upload_batch_done(struct store *store, const struct store_upload_batch *batch,
                                    int64_t now, struct qd_errmsg *why)
{
	if (store == NULL || batch == NULL || store->readonly)
		return QD_ERR_ARG;
	if (sq_step_done(store->ast[AST_BEGIN]) != SQLITE_OK)
		return asql_fail(store, why, "begin marking the batch uploaded");
	sqlite3_stmt *s = NULL;
	/* Only the batch still recorded: a second acknowledgement changes nothing. */
	int rc = sq_prepare(store->adb,
	                    "UPDATE audit SET uploaded_at = ?1 WHERE id BETWEEN ?2 AND ?3 "
	                    "AND uploaded_at IS NULL AND EXISTS (SELECT 1 FROM upload_batch "
	                    "WHERE batch_id = ?4)",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, batch->first_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, batch->last_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 4, batch->id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc == SQLITE_OK)
		rc = chain_advance(store, batch->id);
	if (rc == SQLITE_OK)
		rc = sq_prepare(store->adb, "DELETE FROM upload_batch WHERE batch_id = ?1", &s);
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(s, 1, batch->id, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK)
		return atx_fail(store, why, "mark the batch uploaded");
	if (sq_step_done(store->ast[AST_COMMIT]) != SQLITE_OK)
		return atx_fail(store, why, "mark the batch uploaded");
	return QD_OK;
}

/* Run one statement binding ?1 = a, and count the rows it changed. */
static enum qd_err exec_changes(struct store *store, const char *sql, int64_t a, uint64_t *changes)
{
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb, sql, &s);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) > 0)
		rc = sqlite3_bind_int64(s, 1, a);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int64_t n = 0;
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_int64(s, 0);
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE) {
		n = sqlite3_changes64(store->adb);
	}
	sqlite3_finalize(s);
	if (changes != NULL)
		*changes = n > 0 ? (uint64_t)n : 0;
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

enum qd_err store_audit_pending_count(struct store *store, uint64_t *count)
{
	if (store == NULL || count == NULL)
		return QD_ERR_ARG;
	return exec_changes(store, "SELECT count(*) FROM audit WHERE uploaded_at IS NULL", 0,
	                    count);
}

/* ---- events and the USB export ---------------------------------------- */

enum qd_err store_audit_event(struct store *store, const struct audit_event *ev, int64_t *row_id)
{
	if (row_id != NULL)
		*row_id = 0;
	if (store == NULL || ev == NULL || ev->event == NULL || store->readonly ||
	    (ev->kid != NULL && ev->kid_len > TRUST_KID_MAX))
		return QD_ERR_ARG;
	/* The row and its detail together: a savepoint works inside a batch or alone. */
	if (sq_exec_sql(store->adb, "SAVEPOINT audit_event") != SQLITE_OK)
		return QD_ERR_STORE;
	sqlite3_stmt *s = NULL;
	int rc = sq_prepare(store->adb,
	                    "INSERT INTO audit (time_us, source, reason, kid, desk, latency_us)"
	                    " VALUES (?1, ?2, ?3, ?4, ?5, 0)",
	                    &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, ev->time_us);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 2, ev->source);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 3, ev->result);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 4, ev->kid, ev->kid_len);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 5, ev->desk);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	int64_t id = sqlite3_last_insert_rowid(store->adb);
	s = NULL;
	if (rc == SQLITE_DONE)
		rc = sq_prepare(
		        store->adb,
		        "INSERT INTO audit_detail (audit_id, event, detail) VALUES (?1, ?2, ?3)",
		        &s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 2, ev->event);
	if (rc == SQLITE_OK)
		rc = sq_bind_text_or_null(s, 3, ev->detail);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		(void)sq_exec_sql(store->adb, "ROLLBACK TO audit_event");
		(void)sq_exec_sql(store->adb, "RELEASE audit_event");
		return QD_ERR_STORE;
	}
	if (sq_exec_sql(store->adb, "RELEASE audit_event") != SQLITE_OK)
		return QD_ERR_STORE;
	if (row_id != NULL)
		*row_id = id;
	return QD_OK;
}

enum qd_err store_audit_mark_exported(struct store *store, const struct store_upload_batch *batch,
                                      int64_t at)
{
	if (store == NULL || batch == NULL || store->readonly)
		return QD_ERR_ARG;
	sqlite3_stmt *s = NULL;
	if (sq_prepare(store->adb,
	               "UPDATE audit SET collected_at = ?3 WHERE id BETWEEN ?1 AND ?2 "
	               "AND uploaded_at IS NULL AND collected_at IS NULL",
	               &s) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_bind_int64(s, 1, batch->first_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, batch->last_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, at);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}
