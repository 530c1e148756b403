/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the trust store and audit log on SQLite (see qrdesk/store.h).
 *
 * The only file in qrdesk that calls sqlite3_*.
 *
 * Invariants
 *   - One struct store is one connection, used from one thread at a time
 *     (opened SQLITE_OPEN_NOMUTEX).  Every statement is prepared once in
 *     store_open, reset after each use and finalized in store_close.
 *   - The file is in WAL mode with synchronous=FULL: a desk loses power
 *     without warning, and a commit must survive that.  foreign_keys=ON,
 *     busy_timeout 5000 ms.
 *   - The schema is built by numbered migrations: migrations[i] brings
 *     user_version from i to i+1, in its own BEGIN IMMEDIATE transaction that
 *     also sets user_version.  A file newer than the code is never opened.
 *   - Each apply is one BEGIN IMMEDIATE transaction that reads the installed
 *     version inside it: older is refused (QD_ERR_ROLLBACK), equal writes
 *     nothing, newer replaces the whole content.  A document is wholly in or
 *     wholly out; versions never go down.
 *   - meta.time_floor only ever rises (max(old, signed_at)), in the same
 *     transaction as the apply that raises it.
 *   - meta.revocation_count equals the row count of revocations: both are
 *     written only by store_apply_revocations, in one transaction.
 *   - The store holds no names and no passport numbers: revocations and the
 *     audit log hold only truncated hashes of clearance numbers.
 *   - No function logs or exits: each returns enum qd_err and, where it has
 *     one, fills struct qd_errmsg.
 *
 * Schema (user_version 1)
 *   root_keys   (kid BLOB, alg INT, public_key BLOB UNIQUE, pinned_at INT)
 *               the pinned root(s); one in practice.
 *   keys        (kid BLOB, alg INT, role INT, public_key BLOB, not_before INT,
 *                not_after INT, status INT), index keys_kid on kid
 *               the key set, in document order (rowid).
 *   documents   (type INTEGER PRIMARY KEY (1..15 since user_version 8), version INT, signed_at INT,
 *                expires_at INT, sha256 BLOB, body BLOB)
 *               one row per enum trust_doc_type: its freshness facts; body
 *               holds the bytes of a policy or timestamp document.
 *   revocations (hash BLOB PRIMARY KEY) WITHOUT ROWID
 *               TRUST_HASH_LEN-byte hashes; a B-tree keyed on the hash.
 *   meta        (name TEXT PRIMARY KEY, value)
 *               "time_floor" (newest signed time seen, seconds),
 *               "revocation_count", "root_version" (absent: 1, the root
 *               pinned at provisioning) and "sync_etag" (the ETag of the
 *               installed timestamp.cose, for If-None-Match).
 *   audit       (id INTEGER PRIMARY KEY, time_us INT, source TEXT,
 *                verdict TEXT, reason TEXT, kid BLOB, clearance_hash BLOB,
 *                desk TEXT, latency_us INT, uploaded_at INT NULL,
 *                collected_at INT NULL)
 *   upload_batch (singleton 1, batch_id TEXT, first_id INT, last_id INT,
 *                rows INT, created_at INT)   (user_version 3)
 *               the audit upload's batch in flight: the not-yet-uploaded
 *               rows with first_id <= id <= last_id, under batch_id.
 *   (user_version 4)
 *   usb_bundles  (id TEXT PRIMARY KEY, created_at INT, applied_at INT,
 *                 signer_kid BLOB)  USB bundles applied: no replay, no downgrade
 *   usb_settings (name TEXT PRIMARY KEY, value TEXT, bundle TEXT, set_at INT)
 *                 settings bundles made; the config drop-in is rendered from it
 *   audit_detail (audit_id INTEGER PRIMARY KEY -> audit.id, event TEXT,
 *                 detail TEXT)  what an audit row that is not a verdict was
 *   (user_version 6)
 *   audit_binding (audit_id INTEGER PRIMARY KEY -> audit.id, card TEXT,
 *                  passport TEXT, boarding TEXT, passport_pseudonym BLOB,
 *                  boarding_pseudonym BLOB)  a traveller transaction's documents
 * Enum values (alg, role, status, type) are stored as their integers.
 */
#include "qrdesk/store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "paced_vfs.h"
#include "store_db.h"

#define BUSY_TIMEOUT_MS 5000
/* Truncate the WAL back to 64 MiB once a big apply has been checkpointed. */
#define JOURNAL_SIZE_LIMIT_SQL "PRAGMA journal_size_limit = 67108864"

/* migrations[i] brings user_version from i to i + 1. */
static const char *const migrations[] = {
        /* 0 -> 1: the first schema. */
        "CREATE TABLE root_keys ("
        " kid BLOB NOT NULL,"
        " alg INTEGER NOT NULL,"
        " public_key BLOB NOT NULL UNIQUE,"
        " pinned_at INTEGER NOT NULL);"
        "CREATE TABLE keys ("
        " kid BLOB NOT NULL,"
        " alg INTEGER NOT NULL,"
        " role INTEGER NOT NULL,"
        " public_key BLOB NOT NULL,"
        " not_before INTEGER NOT NULL,"
        " not_after INTEGER NOT NULL,"
        " status INTEGER NOT NULL);"
        "CREATE INDEX keys_kid ON keys(kid);"
        "CREATE TABLE documents ("
        " type INTEGER PRIMARY KEY CHECK (type BETWEEN 1 AND 4),"
        " version INTEGER NOT NULL,"
        " signed_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL,"
        " sha256 BLOB NOT NULL,"
        " body BLOB);"
        "CREATE TABLE revocations (hash BLOB PRIMARY KEY) WITHOUT ROWID;"
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value);"
        "CREATE TABLE audit ("
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
        " collected_at INTEGER NULL);",
        /* 1 -> 2: "already used" asks for the first valid scan of a clearance. */
        "CREATE INDEX IF NOT EXISTS audit_valid_by_hash ON audit(clearance_hash, time_us)"
        " WHERE verdict = 'valid';",
        /* 2 -> 3: the audit upload's open batch, kept until the endpoint
         * acknowledges it so a retry resends the same rows under the same id; and the
         * rows not yet uploaded, found without a scan of the whole log. */
        "CREATE TABLE IF NOT EXISTS upload_batch ("
        " singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
        " batch_id TEXT NOT NULL,"
        " first_id INTEGER NOT NULL,"
        " last_id INTEGER NOT NULL,"
        " rows INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS audit_not_uploaded ON audit(id) WHERE uploaded_at IS NULL;",
        /* 3 -> 4: USB bundles applied (no replay, no downgrade), the
         * settings they made (the config drop-in is written from these), and what
         * audit rows that are not verdicts were (event, detail).  Idempotent, as
         * migration 2 is: a file whose version was reset re-runs it safely. */
        "CREATE TABLE IF NOT EXISTS usb_bundles ("
        " id TEXT PRIMARY KEY,"
        " created_at INTEGER NOT NULL,"
        " applied_at INTEGER NOT NULL,"
        " signer_kid BLOB);"
        "CREATE TABLE IF NOT EXISTS usb_settings ("
        " name TEXT PRIMARY KEY,"
        " value TEXT NOT NULL,"
        " bundle TEXT NOT NULL,"
        " set_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS audit_detail ("
        " audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
        " event TEXT NOT NULL,"
        " detail TEXT);"
        "CREATE INDEX IF NOT EXISTS audit_uncollected ON audit(id) WHERE collected_at IS NULL;",
        /* 4 -> 5: revoked issuance windows (a kid's never overlap: one seek finds the
         * only one that can cover a time). */
        "CREATE TABLE IF NOT EXISTS revoked_ranges ("
        " kid BLOB NOT NULL,"
        " from_t INTEGER NOT NULL,"
        " to_t INTEGER NOT NULL,"
        " PRIMARY KEY (kid, from_t)) WITHOUT ROWID;",
        /* 5 -> 6: a traveller transaction's documents beside its audit row (binding.h):
         * each one's outcome and keyed pseudonyms, never an MRZ or a PNR. */
        "CREATE TABLE IF NOT EXISTS audit_binding ("
        " audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
        " card TEXT NOT NULL,"
        " passport TEXT NOT NULL,"
        " boarding TEXT NOT NULL,"
        " passport_pseudonym BLOB,"
        " boarding_pseudonym BLOB);",
        /* 6 -> 7: the audit log moved to its own file (cache/audit.c), which took
         * these rows before this step runs (store_open). */
        "DROP TABLE IF EXISTS audit_binding;"
        "DROP TABLE IF EXISTS audit_detail;"
        "DROP TABLE IF EXISTS upload_batch;"
        "DROP TABLE IF EXISTS audit;",
        /* 7 -> 8: documents of every type of the list (trust.h: numbers below
         * TRUST_DOC_SLOTS), not only the first four: the airport table is type 7.  SQLite
         * cannot change a CHECK, so the table is copied into a new one. */
        "CREATE TABLE documents_v8 ("
        " type INTEGER PRIMARY KEY CHECK (type BETWEEN 1 AND 15),"
        " version INTEGER NOT NULL,"
        " signed_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL,"
        " sha256 BLOB NOT NULL,"
        " body BLOB);"
        "INSERT INTO documents_v8 (type, version, signed_at, expires_at, sha256, body)"
        " SELECT type, version, signed_at, expires_at, sha256, body FROM documents;"
        "DROP TABLE documents;"
        "ALTER TABLE documents_v8 RENAME TO documents;",
};

/* The last version whose file still holds the audit log. */
#define LEGACY_AUDIT_VERSION 6

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The statements, prepared once in store_open. */
enum stmt_id {
	ST_BEGIN,
	ST_READ_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_USER_VERSION,
	ST_ROOTS_LOAD,
	ST_ROOT_INSERT,
	ST_KEYS_LOAD,
	ST_KEYS_DELETE,
	ST_KEYS_INSERT,
	ST_DOC_GET,
	ST_DOC_BODY,
	ST_DOC_UPSERT,
	ST_META_GET,
	ST_META_SET,
	ST_FLOOR_RAISE,
	ST_REV_CONTAINS,
	ST_REV_DELETE,
	ST_REV_INSERT,
	ST_REV_REMOVE,
	ST_RANGE_LOOKUP,
	ST_RANGE_DELETE,
	ST_RANGE_INSERT,
	ST_RANGE_REMOVE,
	ST_RANGE_NEXT,
	ST_ROOTS_DELETE,
	ST_COUNT
};
_Static_assert(ST_COUNT <= STORE_STMTS_MAX, "store_db.h: raise STORE_STMTS_MAX");

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_READ_BEGIN] = "BEGIN",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_USER_VERSION] = "PRAGMA user_version",
        [ST_ROOTS_LOAD] = "SELECT kid, alg, public_key FROM root_keys ORDER BY rowid",
        [ST_ROOT_INSERT] = "INSERT INTO root_keys (kid, alg, public_key, pinned_at) "
                           "VALUES (?1, ?2, ?3, ?4)",
        [ST_KEYS_LOAD] = "SELECT kid, alg, role, public_key, not_before, not_after, status "
                         "FROM keys ORDER BY rowid",
        [ST_KEYS_DELETE] = "DELETE FROM keys",
        [ST_KEYS_INSERT] = "INSERT INTO keys (kid, alg, role, public_key, not_before, not_after, "
                           "status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_DOC_GET] = "SELECT version, signed_at, expires_at FROM documents WHERE type = ?1",
        [ST_DOC_BODY] = "SELECT body FROM documents WHERE type = ?1",
        [ST_DOC_UPSERT] = "INSERT INTO documents (type, version, signed_at, expires_at, sha256, "
                          "body) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                          "ON CONFLICT (type) DO UPDATE SET version = excluded.version, "
                          "signed_at = excluded.signed_at, expires_at = excluded.expires_at, "
                          "sha256 = excluded.sha256, body = excluded.body",
        [ST_META_GET] = "SELECT value FROM meta WHERE name = ?1",
        [ST_META_SET] = "INSERT INTO meta (name, value) VALUES (?1, ?2) "
                        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [ST_FLOOR_RAISE] = "INSERT INTO meta (name, value) VALUES ('time_floor', ?1) "
                           "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
        [ST_REV_CONTAINS] = "SELECT 1 FROM revocations WHERE hash = ?1",
        [ST_REV_DELETE] = "DELETE FROM revocations",
        [ST_REV_INSERT] = "INSERT INTO revocations (hash) VALUES (?1)",
        [ST_REV_REMOVE] = "DELETE FROM revocations WHERE hash = ?1",
        [ST_RANGE_LOOKUP] = "SELECT to_t FROM revoked_ranges WHERE kid = ?1 AND from_t <= ?2 "
                            "ORDER BY from_t DESC LIMIT 1",
        [ST_RANGE_DELETE] = "DELETE FROM revoked_ranges",
        [ST_RANGE_INSERT] = "INSERT INTO revoked_ranges (kid, from_t, to_t) VALUES (?1, ?2, ?3)",
        [ST_RANGE_REMOVE] = "DELETE FROM revoked_ranges WHERE kid = ?1 AND from_t = ?2 AND "
                            "to_t = ?3",
        [ST_RANGE_NEXT] = "SELECT from_t FROM revoked_ranges WHERE kid = ?1 AND from_t > ?2 "
                          "ORDER BY from_t LIMIT 1",
        [ST_ROOTS_DELETE] = "DELETE FROM root_keys",
};

/* The kind of a type, from the list of document types (trust.h); 0 if unknown. */
static enum trust_doc_kind doc_kind(enum trust_doc_type type)
{
	const struct trust_doc_info *info = trust_doc_info(type);
	return info != NULL ? info->kind : (enum trust_doc_kind)0;
}

static const char *doc_name(enum trust_doc_type type)
{
	const char *name = trust_doc_type_name(type);
	return name != NULL ? name : "document";
}

/* Kept as a row of the documents table (a root and a delta are not). */
static bool doc_type_valid(enum trust_doc_type type)
{
	enum trust_doc_kind k = doc_kind(type);
	return k == TRUST_DOC_KIND_KEYS || k == TRUST_DOC_KIND_REVOCATIONS ||
	       k == TRUST_DOC_KIND_TIMESTAMP || k == TRUST_DOC_KIND_BODY;
}

/* Kept with its body: read back by store_document_body. */
static bool is_body_doc(enum trust_doc_type t)
{
	enum trust_doc_kind k = doc_kind(t);
	return k == TRUST_DOC_KIND_TIMESTAMP || k == TRUST_DOC_KIND_BODY;
}

/* ---- small helpers ------------------------------------------------------ */

/* Reset a statement whose outcome has already been judged. */
void sq_stmt_done(sqlite3_stmt *s)
{
	/* sqlite3_reset repeats the error of the last step, already handled. */
	(void)sqlite3_reset(s);
}

/* Fill why with what SQLite said and return QD_ERR_STORE. */
static enum qd_err sql_fail(struct store *store, struct qd_errmsg *why, const char *what)
{
	qd_errmsg_set(why, "%s: %s", what, sqlite3_errmsg(store->db));
	return QD_ERR_STORE;
}

/* Run a statement that returns no row. */
int sq_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sq_stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run a statement returning one integer (or none: *present = false). */
int sq_step_int(sqlite3_stmt *s, int64_t *value, bool *present)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int64(s, 0);
		*present = true;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*present = false;
		rc = SQLITE_OK;
	}
	sq_stmt_done(s);
	return rc;
}

int sq_bind_blob_or_null(sqlite3_stmt *s, int i, const void *p, size_t len)
{
	if (p == NULL)
		return sqlite3_bind_null(s, i);
	if (len == 0)
		return sqlite3_bind_zeroblob(s, i, 0);
	if (len > INT_MAX)
		return SQLITE_TOOBIG;
	return sqlite3_bind_blob(s, i, p, (int)len, SQLITE_STATIC);
}

int sq_bind_text_or_null(sqlite3_stmt *s, int i, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
}

/*
 * Inside a batch an apply is a savepoint, so a refused document undoes only
 * itself and the batch's commit or abort decides for all of them.
 */
static int tx_begin(struct store *store)
{
	store_read_release(store); /* a write starts from the newest state */
	if (store->in_batch)
		return sq_exec_sql(store->db, "SAVEPOINT apply");
	return sq_step_done(store->st[ST_BEGIN]);
}

static int tx_commit(struct store *store)
{
	if (store->in_batch)
		return sq_exec_sql(store->db, "RELEASE apply");
	return sq_step_done(store->st[ST_COMMIT]);
}

/*
 * Roll back if a transaction is still open.  Some errors (SQLITE_FULL,
 * SQLITE_IOERR...) have already rolled it back; ROLLBACK would then fail.
 */
static void tx_rollback(struct store *store)
{
	if (sqlite3_get_autocommit(store->db))
		return;
	if (store->in_batch) {
		/* ROLLBACK TO keeps the savepoint open: release it too. */
		(void)sq_exec_sql(store->db, "ROLLBACK TO apply");
		(void)sq_exec_sql(store->db, "RELEASE apply");
		return;
	}
	(void)sq_step_done(store->st[ST_ROLLBACK]); /* nothing more we can do */
}

/* Report the SQLite error, then roll back (which would overwrite it). */
static enum qd_err tx_fail(struct store *store, struct qd_errmsg *why, const char *what)
{
	enum qd_err err = sql_fail(store, why, what);
	tx_rollback(store);
	return err;
}

int sq_exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Prepare sql for one use (what runs rarely keeps no cached statement). */
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	return sqlite3_prepare_v2(db, sql, -1, out, NULL);
}

/* ---- open, migrate, close ---------------------------------------------- */

int sq_read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	int frc = sqlite3_finalize(s);
	return rc != SQLITE_OK ? rc : frc;
}

enum qd_err sq_too_new(const char *path, int version, int known, struct qd_errmsg *why)
{
	qd_errmsg_set(why,
	              "%s has schema version %d, newer than this firmware knows (%d): "
	              "refusing to open it (update the firmware)",
	              path, version, known);
	return QD_ERR_UNSUPPORTED;
}

enum qd_err sq_migrate(sqlite3 *db, const char *path, int version, const char *const *steps,
                       int upto, int known, struct qd_errmsg *why)
{
	while (version < upto) {
		const char *what = "begin";
		int rc = sq_exec_sql(db, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK)
			goto fail;
		/* Another connection may have migrated while we waited. */
		what = "read user_version";
		int now = 0;
		rc = sq_read_user_version(db, &now);
		if (rc != SQLITE_OK)
			goto fail;
		if (now != version) {
			what = "commit";
			rc = sq_exec_sql(db, "COMMIT");
			if (rc != SQLITE_OK)
				goto fail;
			if (now > known)
				return sq_too_new(path, now, known, why);
			version = now;
			continue;
		}
		what = "apply";
		rc = sq_exec_sql(db, steps[version]);
		if (rc != SQLITE_OK)
			goto fail;
		char set[64];
		snprintf(set, sizeof(set), "PRAGMA user_version = %d", version + 1);
		what = "set user_version";
		rc = sq_exec_sql(db, set);
		if (rc != SQLITE_OK)
			goto fail;
		what = "commit";
		rc = sq_exec_sql(db, "COMMIT");
		if (rc != SQLITE_OK)
			goto fail;
		version++;
		continue;
	fail:
		qd_errmsg_set(why, "%s: migration %d -> %d failed (%s): %s", path, version,
		              version + 1, what, sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			(void)sq_exec_sql(db, "ROLLBACK"); /* the error is already reported */
		return QD_ERR_STORE;
	}
	return QD_OK;
}

/* A PRAGMA that answers one row: run it and return the text of that row. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	out[0] = '\0';
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		if (t != NULL)
			snprintf(out, cap, "%s", (const char *)t);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	int frc = sqlite3_finalize(s);
	return rc != SQLITE_OK ? rc : frc;
}

enum qd_err sq_configure(sqlite3 *db, const char *path, bool readonly, struct qd_errmsg *why)
{
	int rc;
	if (!readonly) {
		char mode[32];
		rc = pragma_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
		if (rc != SQLITE_OK)
			goto fail;
		if (strcmp(mode, "wal") != 0) {
			qd_errmsg_set(why, "%s: cannot switch to WAL journal mode (still %s)", path,
			              mode);
			return QD_ERR_STORE;
		}
		char ignored[32];
		rc = pragma_text(db, JOURNAL_SIZE_LIMIT_SQL, ignored, sizeof(ignored));
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = sq_exec_sql(db, "PRAGMA synchronous = FULL");
	if (rc != SQLITE_OK)
		goto fail;
	rc = sq_exec_sql(db, "PRAGMA foreign_keys = ON");
	if (rc != SQLITE_OK)
		goto fail;
	/*
	 * Map the file for reads: a revocation probe then costs no read() call
	 * (10M entries: p50 7.6 -> 5.3 us).  The price: an I/O error on the SD
	 * card surfaces as SIGBUS rather than SQLITE_IOERR; systemd restarts the
	 * daemon and the officer scans again.  docs/performance.md has figures.
	 */
	char mapped[32];
	rc = pragma_text(db, "PRAGMA mmap_size = 1073741824", mapped, sizeof(mapped));
	if (rc != SQLITE_OK)
		goto fail;
	return QD_OK;
fail:
	qd_errmsg_set(why, "%s: %s", path, sqlite3_errmsg(db));
	return QD_ERR_STORE;
}

enum qd_err store_open(const char *path, enum store_mode mode, struct store **out,
                       struct qd_errmsg *why)
{
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL) {
		qd_errmsg_set(why, "store_open: no path or no result pointer");
		return QD_ERR_ARG;
	}
	int flags = SQLITE_OPEN_NOMUTEX;
	switch (mode) {
	case STORE_OPEN_CREATE:
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		break;
	case STORE_OPEN_READWRITE:
		flags |= SQLITE_OPEN_READWRITE;
		break;
	case STORE_OPEN_READONLY:
		flags |= SQLITE_OPEN_READONLY;
		break;
	default:
		qd_errmsg_set(why, "store_open: unknown mode %d", (int)mode);
		return QD_ERR_ARG;
	}
	struct store *store = calloc(1, sizeof(*store));
	if (store == NULL) {
		qd_errmsg_set(why, "store_open: out of memory");
		return QD_ERR_NOMEM;
	}
	store->readonly = mode == STORE_OPEN_READONLY;

	enum qd_err err;
	/* Paced: an apply's writes reach the disk in steps (paced_vfs.h); NULL: the default. */
	int rc = sqlite3_open_v2(path, &store->db, flags,
	                         store->readonly ? NULL : paced_vfs_name(PACED_VFS_TRUST));
	if (rc != SQLITE_OK) {
		if (store->db == NULL) {
			qd_errmsg_set(why, "%s: cannot open: out of memory", path);
			err = QD_ERR_NOMEM;
		} else if ((rc & 0xff) == SQLITE_CANTOPEN) {
			int sys = sqlite3_system_errno(store->db);
			qd_errmsg_set(why, "%s: cannot open: %s%s%s", path,
			              sqlite3_errmsg(store->db), sys != 0 ? ": " : "",
			              sys != 0 ? strerror(sys) : "");
			err = sys == ENOENT ? QD_ERR_NOT_FOUND : QD_ERR_IO;
		} else {
			qd_errmsg_set(why, "%s: cannot open: %s", path, sqlite3_errmsg(store->db));
			err = QD_ERR_STORE;
		}
		goto fail;
	}
	rc = sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK) {
		qd_errmsg_set(why, "%s: %s", path, sqlite3_errmsg(store->db));
		err = QD_ERR_STORE;
		goto fail;
	}

	/* The version first: a file from newer firmware is left untouched. */
	int version = 0;
	rc = sq_read_user_version(store->db, &version);
	if (rc != SQLITE_OK) {
		qd_errmsg_set(why, "%s: cannot read the schema version: %s", path,
		              sqlite3_errmsg(store->db));
		err = QD_ERR_STORE;
		goto fail;
	}
	if (version > SCHEMA_VERSION) {
		err = sq_too_new(path, version, SCHEMA_VERSION, why);
		goto fail;
	}
	err = sq_configure(store->db, path, store->readonly, why);
	if (err != QD_OK)
		goto fail;
	if (version < SCHEMA_VERSION) {
		if (store->readonly) {
			qd_errmsg_set(why,
			              "%s is at schema version %d, this firmware needs %d: "
			              "open it read-write once to migrate it",
			              path, version, SCHEMA_VERSION);
			err = QD_ERR_STORE;
			goto fail;
		}
		err = sq_migrate(store->db, path, version, migrations, LEGACY_AUDIT_VERSION,
		                 SCHEMA_VERSION, why);
		if (err != QD_OK)
			goto fail;
	}
	/* The audit log's own file; a file still at the old layout hands it its rows first. */
	int now_at = version;
	if (version < SCHEMA_VERSION && sq_read_user_version(store->db, &now_at) != SQLITE_OK) {
		qd_errmsg_set(why, "%s: cannot read the schema version: %s", path,
		              sqlite3_errmsg(store->db));
		err = QD_ERR_STORE;
		goto fail;
	}
	err = audit_db_open(store, path, now_at == LEGACY_AUDIT_VERSION, why);
	if (err != QD_OK)
		goto fail;
	if (now_at < SCHEMA_VERSION) {
		err = sq_migrate(store->db, path, now_at, migrations, SCHEMA_VERSION,
		                 SCHEMA_VERSION, why);
		if (err != QD_OK)
			goto fail;
	}

	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(store->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &store->st[i], NULL);
		if (rc != SQLITE_OK) {
			qd_errmsg_set(why, "%s: cannot prepare \"%s\": %s", path, stmt_sql[i],
			              sqlite3_errmsg(store->db));
			err = QD_ERR_STORE;
			goto fail;
		}
	}
	*out = store;
	return QD_OK;
fail:
	store_close(store);
	return err;
}

void store_close(struct store *store)
{
	if (store == NULL)
		return;
	store_read_release(store);
	audit_db_close(store);
	for (int i = 0; i < ST_COUNT; i++) {
		/* finalize returns the last step's error, judged when it happened */
		(void)sqlite3_finalize(store->st[i]);
		store->st[i] = NULL;
	}
	if (store->db != NULL) {
		/*
		 * All statements are finalized, so close cannot be SQLITE_BUSY;
		 * any other failure leaves nothing for us to do but let go.
		 */
		(void)sqlite3_close(store->db);
	}
	free(store);
}

int store_schema_version(struct store *store)
{
	if (store == NULL)
		return -1;
	int64_t v = 0;
	bool present = false;
	if (sq_step_int(store->st[ST_USER_VERSION], &v, &present) != SQLITE_OK || !present)
		return -1;
	return (int)v;
}

/* ---- keys -------------------------------------------------------------- */

static bool key_shape_ok(const struct trust_key *k)
{
	return k->kid_len <= TRUST_KID_MAX && k->public_len >= 1 &&
	       k->public_len <= SIGNATURE_PUBLIC_MAX;
}

/* Copy a blob column into out (cap bytes); false if it does not fit. */
static bool column_blob(sqlite3_stmt *s, int col, uint8_t *out, size_t cap, uint8_t *len)
{
	int n = sqlite3_column_bytes(s, col);
	const void *p = sqlite3_column_blob(s, col);
	if (n < 0 || (size_t)n > cap || n > UINT8_MAX)
		return false;
	if (n > 0 && p == NULL)
		return false; /* out of memory while reading */
	if (n > 0)
		memcpy(out, p, (size_t)n);
	*len = (uint8_t)n;
	return true;
}

enum qd_err store_root_pin(struct store *store, const struct trust_key *root, struct qd_errmsg *why)
{
	if (store == NULL || root == NULL || !key_shape_ok(root)) {
		qd_errmsg_set(why, "store_root_pin: missing store or malformed root key");
		return QD_ERR_ARG;
	}
	if (store->readonly) {
		qd_errmsg_set(why, "the store is open read-only");
		return QD_ERR_ARG;
	}
	if (tx_begin(store) != SQLITE_OK)
		return sql_fail(store, why, "cannot begin the root pin");

	sqlite3_stmt *s = store->st[ST_ROOTS_LOAD];
	bool same = false, other = false;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 2);
		const void *p = sqlite3_column_blob(s, 2);
		if (sqlite3_column_int64(s, 1) == root->alg && n == root->public_len && p != NULL &&
		    memcmp(p, root->public_key, root->public_len) == 0)
			same = true;
		else
			other = true;
	}
	sq_stmt_done(s);
	if (rc != SQLITE_DONE)
		return tx_fail(store, why, "cannot read the pinned roots");
	if (same || other) {
		tx_rollback(store);
		if (same && !other)
			return QD_OK;
		qd_errmsg_set(why, "a different root key is already pinned; rotate it with a "
		                   "signed root document");
		return QD_ERR_EXISTS;
	}

	s = store->st[ST_ROOT_INSERT];
	if (sq_bind_blob_or_null(s, 1, root->kid, root->kid_len) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, root->alg) != SQLITE_OK ||
	    sq_bind_blob_or_null(s, 3, root->public_key, root->public_len) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) != SQLITE_OK ||
	    sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot pin the root key");
	if (tx_commit(store) != SQLITE_OK)
		return tx_fail(store, why, "cannot commit the root pin");
	return QD_OK;
}

enum qd_err store_roots_load(struct store *store, struct trust_key *out, size_t cap, size_t *count)
{
	if (count != NULL)
		*count = 0;
	if (store == NULL || count == NULL || (out == NULL && cap > 0))
		return QD_ERR_ARG;
	sqlite3_stmt *s = store->st[ST_ROOTS_LOAD];
	enum qd_err err = QD_OK;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			err = QD_ERR_TOO_LARGE;
			break;
		}
		struct trust_key *k = &out[n];
		memset(k, 0, sizeof(*k));
		k->alg = sqlite3_column_int64(s, 1);
		k->role = KEY_ROLE_ROOT;
		k->status = KEY_STATUS_ACTIVE;
		k->not_before = INT64_MIN; /* a pinned root has no window */
		k->not_after = INT64_MAX;
		if (!column_blob(s, 0, k->kid, sizeof(k->kid), &k->kid_len) ||
		    !column_blob(s, 2, k->public_key, sizeof(k->public_key), &k->public_len)) {
			err = QD_ERR_STORE;
			break;
		}
		n++;
	}
	if (err == QD_OK && rc != SQLITE_DONE)
		err = QD_ERR_STORE;
	sq_stmt_done(s);
	*count = n;
	return err;
}

enum qd_err store_keys_load(struct store *store, struct trust_key *out, size_t cap, size_t *count)
{
	if (count != NULL)
		*count = 0;
	if (store == NULL || count == NULL || (out == NULL && cap > 0))
		return QD_ERR_ARG;
	sqlite3_stmt *s = store->st[ST_KEYS_LOAD];
	enum qd_err err = QD_OK;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			err = QD_ERR_TOO_LARGE;
			break;
		}
		struct trust_key *k = &out[n];
		memset(k, 0, sizeof(*k));
		k->alg = sqlite3_column_int64(s, 1);
		k->role = (enum key_role)sqlite3_column_int(s, 2);
		k->not_before = sqlite3_column_int64(s, 4);
		k->not_after = sqlite3_column_int64(s, 5);
		k->status = (enum key_status)sqlite3_column_int(s, 6);
		if (!column_blob(s, 0, k->kid, sizeof(k->kid), &k->kid_len) ||
		    !column_blob(s, 3, k->public_key, sizeof(k->public_key), &k->public_len)) {
			err = QD_ERR_STORE;
			break;
		}
		n++;
	}
	if (err == QD_OK && rc != SQLITE_DONE)
		err = QD_ERR_STORE;
	sq_stmt_done(s);
	*count = n;
	return err;
}

/* ---- freshness, time floor, bodies ------------------------------------- */

enum qd_err store_freshness_get(struct store *store, enum trust_doc_type type,
                                struct trust_freshness *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (store == NULL || out == NULL)
		return QD_ERR_ARG;
	/* A delta installs a revocations version. */
	type = trust_doc_installs(type);
	if (doc_kind(type) == TRUST_DOC_KIND_ROOT) {
		uint64_t version = 0;
		enum qd_err err = store_root_version(store, &version);
		out->present = err == QD_OK && version > 0;
		out->version = version;
		return err;
	}
	if (!doc_type_valid(type))
		return QD_ERR_ARG;
	sqlite3_stmt *s = store->st[ST_DOC_GET];
	if (sqlite3_bind_int(s, 1, (int)type) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->present = true;
		out->version = (uint64_t)sqlite3_column_int64(s, 0);
		out->signed_at = sqlite3_column_int64(s, 1);
		out->expires_at = sqlite3_column_int64(s, 2);
	}
	sq_stmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

static int meta_get(struct store *store, const char *name, int64_t *value, bool *present)
{
	sqlite3_stmt *s = store->st[ST_META_GET];
	int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return rc;
	return sq_step_int(s, value, present);
}

enum qd_err store_time_floor_get(struct store *store, int64_t *floor)
{
	if (floor != NULL)
		*floor = 0;
	if (store == NULL || floor == NULL)
		return QD_ERR_ARG;
	bool present = false;
	if (meta_get(store, "time_floor", floor, &present) != SQLITE_OK)
		return QD_ERR_STORE;
	if (!present)
		*floor = 0;
	return QD_OK;
}

enum qd_err store_document_body(struct store *store, enum trust_doc_type type, uint8_t **blob,
                                size_t *len)
{
	if (blob != NULL)
		*blob = NULL;
	if (len != NULL)
		*len = 0;
	if (store == NULL || blob == NULL || len == NULL || !is_body_doc(type))
		return QD_ERR_ARG;
	sqlite3_stmt *s = store->st[ST_DOC_BODY];
	if (sqlite3_bind_int(s, 1, (int)type) != SQLITE_OK)
		return QD_ERR_STORE;
	enum qd_err err = QD_OK;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = QD_ERR_NOT_FOUND;
	} else if (rc != SQLITE_ROW) {
		err = QD_ERR_STORE;
	} else {
		const void *p = sqlite3_column_blob(s, 0);
		int n = sqlite3_column_bytes(s, 0);
		if (n > 0 && p == NULL) {
			err = QD_ERR_NOMEM;
		} else {
			uint8_t *copy = malloc(n > 0 ? (size_t)n : 1);
			if (copy == NULL) {
				err = QD_ERR_NOMEM;
			} else {
				if (n > 0)
					memcpy(copy, p, (size_t)n);
				*blob = copy;
				*len = (size_t)n;
			}
		}
	}
	sq_stmt_done(s);
	return err;
}

/* ---- revocations ------------------------------------------------------- */

enum qd_err store_revocation_contains(struct store *store, const uint8_t hash[TRUST_HASH_LEN],
                                      bool *revoked)
{
	if (revoked != NULL)
		*revoked = false;
	if (store == NULL || hash == NULL || revoked == NULL)
		return QD_ERR_ARG;
	sqlite3_stmt *s = store->st[ST_REV_CONTAINS];
	if (sqlite3_bind_blob(s, 1, hash, TRUST_HASH_LEN, SQLITE_STATIC) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_step(s);
	(void)sqlite3_reset(s); /* rc below says how the step went */
	if (rc == SQLITE_ROW)
		*revoked = true;
	else if (rc != SQLITE_DONE)
		return QD_ERR_STORE;
	return QD_OK;
}

/* The to_t of the window of kid with the largest from_t <= t (lookup) or the
 * from_t of the first window after t (next); *found false if none. */
static int range_probe(sqlite3_stmt *s, const uint8_t *kid, size_t kid_len, int64_t t,
                       int64_t *value, bool *found)
{
	*found = false;
	int rc = sqlite3_bind_blob(s, 1, kid, (int)kid_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, t);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int64(s, 0);
		*found = true;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	(void)sqlite3_reset(s);
	return rc;
}

enum qd_err store_range_contains(struct store *store, const uint8_t *kid, size_t kid_len,
                                 int64_t iat, bool *revoked)
{
	if (revoked != NULL)
		*revoked = false;
	if (store == NULL || kid == NULL || revoked == NULL || kid_len == 0 ||
	    kid_len > TRUST_KID_MAX)
		return QD_ERR_ARG;
	int64_t to = 0;
	bool found = false;
	if (range_probe(store->st[ST_RANGE_LOOKUP], kid, kid_len, iat, &to, &found) != SQLITE_OK)
		return QD_ERR_STORE;
	*revoked = found && iat < to;
	return QD_OK;
}

enum qd_err store_revocation_count(struct store *store, uint64_t *count)
{
	if (count != NULL)
		*count = 0;
	if (store == NULL || count == NULL)
		return QD_ERR_ARG;
	int64_t n = 0;
	bool present = false;
	if (meta_get(store, "revocation_count", &n, &present) != SQLITE_OK)
		return QD_ERR_STORE;
	*count = present && n > 0 ? (uint64_t)n : 0;
	return QD_OK;
}

/* ---- applies ----------------------------------------------------------- */

static enum qd_err check_meta(struct store *store, const struct store_doc_meta *meta,
                              bool (*type_ok)(enum trust_doc_type), const char *fn,
                              struct qd_errmsg *why)
{
	if (store == NULL || meta == NULL) {
		qd_errmsg_set(why, "%s: missing store or document meta", fn);
		return QD_ERR_ARG;
	}
	if (!type_ok(meta->type)) {
		qd_errmsg_set(why, "%s: cannot apply a document of type %d here", fn,
		              (int)meta->type);
		return QD_ERR_ARG;
	}
	if (meta->version > (uint64_t)INT64_MAX) {
		qd_errmsg_set(why, "%s version %" PRIu64 " is beyond what the store can hold",
		              doc_name(meta->type), meta->version);
		return QD_ERR_ARG;
	}
	if (store->readonly) {
		qd_errmsg_set(why, "cannot apply the %s: the store is open read-only",
		              doc_name(meta->type));
		return QD_ERR_ARG;
	}
	return QD_OK;
}

/*
 * Begin the apply and compare versions.  QD_OK with *proceed = true: the
 * transaction is open and the content is to be replaced.  Otherwise the
 * transaction is closed and the return value is the apply's result.
 */
static enum qd_err apply_begin(struct store *store, const struct store_doc_meta *meta,
                               bool *unchanged, bool *proceed, struct qd_errmsg *why)
{
	*proceed = false;
	*unchanged = false;
	if (tx_begin(store) != SQLITE_OK)
		return sql_fail(store, why, "cannot begin the apply");
	sqlite3_stmt *s = store->st[ST_DOC_GET];
	if (sqlite3_bind_int(s, 1, (int)meta->type) != SQLITE_OK)
		return tx_fail(store, why, "cannot read the installed version");
	int64_t installed = 0;
	bool present = false;
	if (sq_step_int(s, &installed, &present) != SQLITE_OK)
		return tx_fail(store, why, "cannot read the installed version");
	if (present && (uint64_t)installed > meta->version) {
		tx_rollback(store);
		qd_errmsg_set(why,
		              "%s version %" PRIu64 " is older than installed version %" PRId64,
		              doc_name(meta->type), meta->version, installed);
		return QD_ERR_ROLLBACK;
	}
	if (present && (uint64_t)installed == meta->version) {
		tx_rollback(store);
		*unchanged = true;
		return QD_OK;
	}
	*proceed = true;
	return QD_OK;
}

/* Record the document row, raise the time floor, commit. */
static enum qd_err apply_finish(struct store *store, const struct store_doc_meta *meta,
                                const uint8_t *body, size_t body_len, bool has_body,
                                struct qd_errmsg *why)
{
	sqlite3_stmt *s = store->st[ST_DOC_UPSERT];
	int rc = sqlite3_bind_int(s, 1, (int)meta->type);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (int64_t)meta->version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, meta->signed_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, meta->expires_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 5, meta->sha256, (int)sizeof(meta->sha256),
		                       SQLITE_STATIC);
	if (rc == SQLITE_OK) {
		if (!has_body)
			rc = sqlite3_bind_null(s, 6);
		else if (body_len == 0)
			rc = sqlite3_bind_zeroblob(s, 6, 0);
		else
			rc = sqlite3_bind_blob(s, 6, body, (int)body_len, SQLITE_STATIC);
	}
	if (rc == SQLITE_OK)
		rc = sq_step_done(s);
	if (rc != SQLITE_OK)
		return tx_fail(store, why, "cannot record the document");

	s = store->st[ST_FLOOR_RAISE];
	if (sqlite3_bind_int64(s, 1, meta->signed_at) != SQLITE_OK || sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot raise the time floor");
	if (tx_commit(store) != SQLITE_OK)
		return tx_fail(store, why, "cannot commit the apply");
	return QD_OK;
}

static bool is_keyset(enum trust_doc_type t)
{
	return doc_kind(t) == TRUST_DOC_KIND_KEYS;
}

static bool is_revocations(enum trust_doc_type t)
{
	return doc_kind(t) == TRUST_DOC_KIND_REVOCATIONS;
}

enum qd_err store_apply_keyset(struct store *store, const struct store_doc_meta *meta,
                               const struct trust_key *keys, size_t count, bool *unchanged,
                               struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_keyset, "store_apply_keyset", why);
	if (err != QD_OK)
		return err;
	if (count > TRUST_KEYS_MAX) {
		qd_errmsg_set(why,
		              "keyset version %" PRIu64 " has %zu keys, more than the %d allowed",
		              meta->version, count, TRUST_KEYS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	if (keys == NULL && count > 0) {
		qd_errmsg_set(why, "store_apply_keyset: no keys array");
		return QD_ERR_ARG;
	}
	for (size_t i = 0; i < count; i++) {
		const struct trust_key *k = &keys[i];
		if (!key_shape_ok(k) || k->role < KEY_ROLE_ROOT || k->role > KEY_ROLE_UPDATE ||
		    (k->status != KEY_STATUS_ACTIVE && k->status != KEY_STATUS_REVOKED)) {
			qd_errmsg_set(why, "keyset version %" PRIu64 ": key %zu is malformed",
			              meta->version, i);
			return QD_ERR_ARG;
		}
	}

	bool proceed;
	err = apply_begin(store, meta, unchanged, &proceed, why);
	if (err != QD_OK || !proceed)
		return err;

	if (sq_step_done(store->st[ST_KEYS_DELETE]) != SQLITE_OK)
		return tx_fail(store, why, "cannot clear the old key set");
	sqlite3_stmt *s = store->st[ST_KEYS_INSERT];
	for (size_t i = 0; i < count; i++) {
		const struct trust_key *k = &keys[i];
		int rc = sq_bind_blob_or_null(s, 1, k->kid, k->kid_len);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 2, k->alg);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(s, 3, (int)k->role);
		if (rc == SQLITE_OK)
			rc = sq_bind_blob_or_null(s, 4, k->public_key, k->public_len);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 5, k->not_before);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(s, 6, k->not_after);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(s, 7, (int)k->status);
		if (rc == SQLITE_OK)
			rc = sq_step_done(s);
		if (rc != SQLITE_OK)
			return tx_fail(store, why, "cannot store the key set");
	}
	return apply_finish(store, meta, NULL, 0, false, why);
}

/* Insert (or remove) one window; *hit: it changed exactly one row. */
static int range_step(struct store *store, sqlite3_stmt *s, const struct trust_range *r, bool *hit)
{
	int rc = sqlite3_bind_blob(s, 1, r->kid, r->kid_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, r->from);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, r->to);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	(void)sqlite3_reset(s);
	*hit = rc == SQLITE_DONE && sqlite3_changes(store->db) == 1;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		*hit = false;
		return SQLITE_OK;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Does window r overlap a neighbour of its kid (r itself stored)? */
static int range_overlaps(struct store *store, const struct trust_range *r, bool *overlap)
{
	int64_t v = 0;
	bool found = false;
	*overlap = false;
	int rc = range_probe(store->st[ST_RANGE_LOOKUP], r->kid, r->kid_len, r->from - 1, &v,
	                     &found);
	if (rc == SQLITE_OK && found && v > r->from)
		*overlap = true;
	if (rc == SQLITE_OK)
		rc = range_probe(store->st[ST_RANGE_NEXT], r->kid, r->kid_len, r->from, &v, &found);
	if (rc == SQLITE_OK && found && v < r->to)
		*overlap = true;
	return rc;
}

enum qd_err store_apply_revocations(struct store *store, const struct store_doc_meta *meta,
                                    const uint8_t *hashes, size_t count, bool *unchanged,
                                    struct qd_errmsg *why)
{
	return store_apply_revocations_ranges(store, meta, hashes, count, NULL, 0, unchanged, why);
}

enum qd_err store_apply_revocations_ranges(struct store *store, const struct store_doc_meta *meta,
                                           const uint8_t *hashes, size_t count,
                                           const struct trust_range *ranges, size_t n_ranges,
                                           bool *unchanged, struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_revocations, "store_apply_revocations", why);
	if (err != QD_OK)
		return err;
	if (count > SIZE_MAX / TRUST_HASH_LEN || (uint64_t)count > (uint64_t)INT64_MAX) {
		qd_errmsg_set(why, "revocations version %" PRIu64 ": %zu hashes is too many",
		              meta->version, count);
		return QD_ERR_TOO_LARGE;
	}
	if (hashes == NULL && count > 0) {
		qd_errmsg_set(why, "store_apply_revocations: no hashes");
		return QD_ERR_ARG;
	}

	bool proceed;
	err = apply_begin(store, meta, unchanged, &proceed, why);
	if (err != QD_OK || !proceed)
		return err;

	if (sq_step_done(store->st[ST_REV_DELETE]) != SQLITE_OK)
		return tx_fail(store, why, "cannot clear the old revocation list");
	sqlite3_stmt *s = store->st[ST_REV_INSERT];
	for (size_t i = 0; i < count; i++) {
		int rc = sqlite3_bind_blob(s, 1, hashes + i * TRUST_HASH_LEN, TRUST_HASH_LEN,
		                           SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		(void)sqlite3_reset(s); /* rc says how the step went */
		if (rc != SQLITE_DONE) {
			char what[80];
			snprintf(what, sizeof(what), "cannot store revocation %zu of %zu", i + 1,
			         count);
			return tx_fail(store, why, what);
		}
	}
	if (sq_step_done(store->st[ST_RANGE_DELETE]) != SQLITE_OK)
		return tx_fail(store, why, "cannot clear the old revoked windows");
	for (size_t i = 0; i < n_ranges; i++) {
		bool hit = false;
		if (range_step(store, store->st[ST_RANGE_INSERT], &ranges[i], &hit) != SQLITE_OK ||
		    !hit)
			return tx_fail(store, why, "cannot store a revoked window");
	}
	s = store->st[ST_META_SET];
	if (sqlite3_bind_text(s, 1, "revocation_count", -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (int64_t)count) != SQLITE_OK || sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot record the revocation count");
	return apply_finish(store, meta, NULL, 0, false, why);
}

enum qd_err store_apply_document(struct store *store, const struct store_doc_meta *meta,
                                 const uint8_t *body, size_t body_len, bool *unchanged,
                                 struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_body_doc, "store_apply_document", why);
	if (err != QD_OK)
		return err;
	if (body == NULL && body_len > 0) {
		qd_errmsg_set(why, "store_apply_document: no body but a length of %zu", body_len);
		return QD_ERR_ARG;
	}
	if (body_len > INT_MAX) {
		qd_errmsg_set(why, "%s version %" PRIu64 ": a body of %zu bytes is too large",
		              doc_name(meta->type), meta->version, body_len);
		return QD_ERR_TOO_LARGE;
	}
	bool proceed;
	err = apply_begin(store, meta, unchanged, &proceed, why);
	if (err != QD_OK || !proceed)
		return err;
	return apply_finish(store, meta, body, body_len, true, why);
}

/* ---- deltas, root rotation, ETag (sync) -------------------------------- */

static bool is_delta(enum trust_doc_type t)
{
	return doc_kind(t) == TRUST_DOC_KIND_DELTA;
}

static bool is_root(enum trust_doc_type t)
{
	return doc_kind(t) == TRUST_DOC_KIND_ROOT;
}

/* Run one add or remove of a delta; *hit: exactly one row changed. */
static int delta_step(struct store *store, sqlite3_stmt *s, const uint8_t *hash, bool *hit)
{
	int rc = sqlite3_bind_blob(s, 1, hash, TRUST_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	(void)sqlite3_reset(s); /* rc says how the step went */
	*hit = rc == SQLITE_DONE && sqlite3_changes(store->db) == 1;
	/* An added hash already stored: the base is not what the delta says. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		*hit = false;
		return SQLITE_OK;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static enum qd_err delta_lists(struct store *store, const struct store_doc_meta *m,
                               const uint8_t *list, size_t n, bool adding, struct qd_errmsg *why)
{
	sqlite3_stmt *s = store->st[adding ? ST_REV_INSERT : ST_REV_REMOVE];
	for (size_t i = 0; i < n; i++) {
		bool hit = false;
		if (delta_step(store, s, list + i * TRUST_HASH_LEN, &hit) != SQLITE_OK)
			return tx_fail(store, why, "cannot apply the revocations delta");
		if (!hit) {
			tx_rollback(store);
			qd_errmsg_set(why,
			              "revocations-delta to version %" PRIu64
			              ": %s hash %zu %s the "
			              "installed list: it is not the delta's base",
			              m->version, adding ? "added" : "removed", i + 1,
			              adding ? "is already on" : "is not on");
			return QD_ERR_BASE;
		}
	}
	return QD_OK;
}

enum qd_err store_apply_revocations_delta(struct store *store, const struct store_doc_meta *meta,
                                          uint64_t base_version, const uint8_t *added,
                                          size_t n_added, const uint8_t *removed, size_t n_removed,
                                          bool *unchanged, struct qd_errmsg *why)
{
	struct store_delta_ranges none = {0};
	return store_apply_revocations_delta_ranges(store, meta, base_version, added, n_added,
	                                            removed, n_removed, &none, unchanged, why);
}

/* The windows of a delta: removed ones must be stored, added ones must fit. */
static enum qd_err delta_ranges(struct store *store, const struct store_doc_meta *m,
                                const struct store_delta_ranges *r, struct qd_errmsg *why)
{
	for (int adding = 0; adding < 2; adding++) {
		const struct trust_range *list = adding ? r->added : r->removed;
		size_t n = adding ? r->n_added : r->n_removed;
		for (size_t i = 0; i < n; i++) {
			bool hit = false;
			if (range_step(store, store->st[adding ? ST_RANGE_INSERT : ST_RANGE_REMOVE],
			               &list[i], &hit) != SQLITE_OK)
				return tx_fail(store, why, "cannot apply the revoked windows");
			if (!hit) {
				tx_rollback(store);
				qd_errmsg_set(why,
				              "revocations-delta to version %" PRIu64
				              ": %s window %zu %s: it is not the delta's base",
				              m->version, adding ? "added" : "removed", i + 1,
				              adding ? "is already installed" : "is not installed");
				return QD_ERR_BASE;
			}
		}
	}
	for (size_t i = 0; i < r->n_added; i++) {
		bool overlap = false;
		if (range_overlaps(store, &r->added[i], &overlap) != SQLITE_OK)
			return tx_fail(store, why, "cannot check the revoked windows");
		if (overlap) {
			tx_rollback(store);
			qd_errmsg_set(why,
			              "revocations-delta to version %" PRIu64
			              ": added window %zu overlaps an installed one of its key",
			              m->version, i + 1);
			return QD_ERR_BASE;
		}
	}
	return QD_OK;
}

static bool is_body_delta(enum trust_doc_type t)
{
	return doc_kind(t) == TRUST_DOC_KIND_BODY_DELTA;
}

/* Inside the apply: the installed version of m->type must be exactly base. */
static enum qd_err check_base(struct store *store, const struct store_doc_meta *m, const char *name,
                              uint64_t base, struct qd_errmsg *why)
{
	sqlite3_stmt *s = store->st[ST_DOC_GET];
	int64_t installed = 0;
	bool present = false;
	if (sqlite3_bind_int(s, 1, (int)m->type) != SQLITE_OK ||
	    sq_step_int(s, &installed, &present) != SQLITE_OK)
		return tx_fail(store, why, "cannot read the installed version");
	if (present && (uint64_t)installed == base)
		return QD_OK;
	tx_rollback(store);
	if (present)
		qd_errmsg_set(why,
		              "%s %" PRIu64 " -> %" PRIu64
		              " does not apply to installed version %" PRId64,
		              name, base, m->version, installed);
	else
		qd_errmsg_set(why, "%s %" PRIu64 " -> %" PRIu64 ": no %s installed", name, base,
		              m->version, doc_name(m->type));
	return QD_ERR_BASE;
}

enum qd_err store_apply_revocations_delta_ranges(
        struct store *store, const struct store_doc_meta *meta, uint64_t base_version,
        const uint8_t *added, size_t n_added, const uint8_t *removed, size_t n_removed,
        const struct store_delta_ranges *ranges, bool *unchanged, struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_delta, "store_apply_revocations_delta", why);
	if (err != QD_OK)
		return err;
	if ((added == NULL && n_added > 0) || (removed == NULL && n_removed > 0) ||
	    n_added > (size_t)INT32_MAX || n_removed > (size_t)INT32_MAX ||
	    base_version >= meta->version) {
		qd_errmsg_set(why, "store_apply_revocations_delta: malformed delta");
		return QD_ERR_ARG;
	}
	/* Recorded as the revocations version it produces. */
	struct store_doc_meta m = *meta;
	m.type = TRUST_DOC_REVOCATIONS;
	bool proceed;
	err = apply_begin(store, &m, unchanged, &proceed, why);
	if (err != QD_OK || !proceed)
		return err;
	err = check_base(store, &m, "revocations-delta", base_version, why);
	if (err != QD_OK)
		return err;
	bool present = false;
	sqlite3_stmt *s = NULL;
	int64_t count = 0;
	if (meta_get(store, "revocation_count", &count, &present) != SQLITE_OK)
		return tx_fail(store, why, "cannot read the revocation count");
	err = delta_lists(store, &m, removed, n_removed, false, why);
	if (err == QD_OK)
		err = delta_lists(store, &m, added, n_added, true, why);
	if (err == QD_OK)
		err = delta_ranges(store, &m, ranges, why);
	if (err != QD_OK)
		return err;
	count = (present ? count : 0) + (int64_t)n_added - (int64_t)n_removed;
	s = store->st[ST_META_SET];
	if (sqlite3_bind_text(s, 1, "revocation_count", -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, count) != SQLITE_OK || sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot record the revocation count");
	return apply_finish(store, &m, NULL, 0, false, why);
}

enum qd_err store_apply_body_delta(struct store *store, const struct store_doc_meta *meta,
                                   uint64_t base_version, const uint8_t *changes,
                                   size_t changes_len, bool *unchanged, struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_body_delta, "store_apply_body_delta", why);
	if (err != QD_OK)
		return err;
	const struct trust_doc_info *info = trust_doc_info(meta->type);
	if (changes == NULL || base_version >= meta->version || info->apply_delta == NULL) {
		qd_errmsg_set(why, "store_apply_body_delta: malformed %s", info->name);
		return QD_ERR_ARG;
	}
	/* Recorded as the version of the type it produces. */
	struct store_doc_meta m = *meta;
	m.type = info->delta_of;
	bool proceed;
	err = apply_begin(store, &m, unchanged, &proceed, why);
	if (err != QD_OK || !proceed)
		return err;
	err = check_base(store, &m, info->name, base_version, why);
	if (err != QD_OK)
		return err;
	uint8_t *base = NULL, *body = NULL;
	size_t base_len = 0, body_len = 0;
	err = store_document_body(store, m.type, &base, &base_len);
	if (err != QD_OK)
		return tx_fail(store, why, "cannot read the installed body");
	struct qd_errmsg bad = {{0}};
	err = info->apply_delta(base, base_len, changes, changes_len, &body, &body_len, &bad);
	free(base);
	if (err == QD_OK && body_len > INT_MAX) {
		snprintf(bad.text, sizeof(bad.text), "a body of %zu bytes is too large", body_len);
		err = QD_ERR_TOO_LARGE;
	}
	if (err != QD_OK) {
		free(body);
		tx_rollback(store);
		qd_errmsg_set(why, "%s %" PRIu64 " -> %" PRIu64 ": %s", info->name, base_version,
		              m.version, bad.text);
		return err;
	}
	err = apply_finish(store, &m, body, body_len, true, why);
	free(body);
	return err;
}

enum qd_err store_root_version(struct store *store, uint64_t *version)
{
	if (version != NULL)
		*version = 0;
	if (store == NULL || version == NULL)
		return QD_ERR_ARG;
	size_t roots = 0;
	struct trust_key one[TRUST_KEYS_MAX];
	enum qd_err err = store_roots_load(store, one, TRUST_KEYS_MAX, &roots);
	if (err != QD_OK || roots == 0)
		return err;
	int64_t v = 0;
	bool present = false;
	if (meta_get(store, "root_version", &v, &present) != SQLITE_OK)
		return QD_ERR_STORE;
	*version = present && v > 0 ? (uint64_t)v : 1;
	return QD_OK;
}

enum qd_err store_apply_root(struct store *store, const struct store_doc_meta *meta,
                             const struct trust_key *keys, size_t count, bool *unchanged,
                             struct qd_errmsg *why)
{
	bool dummy;
	if (unchanged == NULL)
		unchanged = &dummy;
	*unchanged = false;
	enum qd_err err = check_meta(store, meta, is_root, "store_apply_root", why);
	if (err != QD_OK)
		return err;
	if (keys == NULL || count == 0 || count > TRUST_KEYS_MAX) {
		qd_errmsg_set(why, "root version %" PRIu64 ": %zu keys", meta->version, count);
		return QD_ERR_ARG;
	}
	for (size_t i = 0; i < count; i++)
		if (!key_shape_ok(&keys[i])) {
			qd_errmsg_set(why, "root version %" PRIu64 ": key %zu is malformed",
			              meta->version, i);
			return QD_ERR_ARG;
		}
	if (tx_begin(store) != SQLITE_OK)
		return sql_fail(store, why, "cannot begin the root rotation");
	uint64_t installed = 0;
	if (store_root_version(store, &installed) != QD_OK)
		return tx_fail(store, why, "cannot read the root version");
	if (installed == 0) {
		tx_rollback(store);
		qd_errmsg_set(why, "no root is pinned: provision the desk first");
		return QD_ERR_NOT_PROVISIONED;
	}
	if (meta->version <= installed) {
		tx_rollback(store);
		if (meta->version == installed) {
			*unchanged = true;
			return QD_OK;
		}
		qd_errmsg_set(why,
		              "root version %" PRIu64 " is older than installed version %" PRIu64,
		              meta->version, installed);
		return QD_ERR_ROLLBACK;
	}
	if (meta->version != installed + 1) {
		tx_rollback(store);
		qd_errmsg_set(why,
		              "root version %" PRIu64 " does not follow installed version %" PRIu64
		              " (rotation goes one version at a time)",
		              meta->version, installed);
		return QD_ERR_BASE;
	}
	if (sq_step_done(store->st[ST_ROOTS_DELETE]) != SQLITE_OK)
		return tx_fail(store, why, "cannot unpin the old root");
	sqlite3_stmt *s = store->st[ST_ROOT_INSERT];
	for (size_t i = 0; i < count; i++) {
		const struct trust_key *k = &keys[i];
		if (sq_bind_blob_or_null(s, 1, k->kid, k->kid_len) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 2, k->alg) != SQLITE_OK ||
		    sq_bind_blob_or_null(s, 3, k->public_key, k->public_len) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 4, meta->signed_at) != SQLITE_OK ||
		    sq_step_done(s) != SQLITE_OK)
			return tx_fail(store, why, "cannot pin the new root");
	}
	s = store->st[ST_META_SET];
	if (sqlite3_bind_text(s, 1, "root_version", -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (int64_t)meta->version) != SQLITE_OK ||
	    sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot record the root version");
	s = store->st[ST_FLOOR_RAISE];
	if (sqlite3_bind_int64(s, 1, meta->signed_at) != SQLITE_OK || sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot raise the time floor");
	if (tx_commit(store) != SQLITE_OK)
		return tx_fail(store, why, "cannot commit the root rotation");
	return QD_OK;
}

enum qd_err store_sync_etag_get(struct store *store, char *out, size_t cap)
{
	if (store == NULL || out == NULL || cap == 0)
		return QD_ERR_ARG;
	out[0] = '\0';
	sqlite3_stmt *s = store->st[ST_META_GET];
	if (sqlite3_bind_text(s, 1, "sync_etag", -1, SQLITE_STATIC) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		/* One that does not fit is as good as none: the fetch is unconditional. */
		if (t != NULL && strlen((const char *)t) < cap)
			snprintf(out, cap, "%s", (const char *)t);
	}
	sq_stmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

enum qd_err store_sync_etag_set(struct store *store, const char *etag, struct qd_errmsg *why)
{
	if (store == NULL || etag == NULL || store->readonly) {
		qd_errmsg_set(why, "store_sync_etag_set: no store, no ETag or read-only");
		return QD_ERR_ARG;
	}
	if (tx_begin(store) != SQLITE_OK)
		return sql_fail(store, why, "cannot begin recording the ETag");
	sqlite3_stmt *s = store->st[ST_META_SET];
	if (sqlite3_bind_text(s, 1, "sync_etag", -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, etag, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sq_step_done(s) != SQLITE_OK)
		return tx_fail(store, why, "cannot record the ETag");
	if (sqlite3_clear_bindings(s) != SQLITE_OK || tx_commit(store) != SQLITE_OK)
		return tx_fail(store, why, "cannot commit the ETag");
	return QD_OK;
}

/* ---- batches ------------------------------------------------------------ */

enum qd_err store_batch_begin(struct store *store, struct qd_errmsg *why)
{
	if (store->in_batch) {
		qd_errmsg_set(why, "store_batch_begin: a batch is already open");
		return QD_ERR_ARG;
	}
	if (store->readonly) {
		qd_errmsg_set(why, "the store is open read-only");
		return QD_ERR_ARG;
	}
	store_read_release(store);
	if (sq_step_done(store->st[ST_BEGIN]) != SQLITE_OK)
		return sql_fail(store, why, "cannot begin the batch");
	store->in_batch = true;
	return QD_OK;
}

enum qd_err store_batch_commit(struct store *store, struct qd_errmsg *why)
{
	if (!store->in_batch) {
		qd_errmsg_set(why, "store_batch_commit: no batch is open");
		return QD_ERR_ARG;
	}
	store->in_batch = false;
	/* An I/O error inside may have rolled everything back already: then
	 * there is nothing to commit, and saying so is the truth. */
	if (sqlite3_get_autocommit(store->db)) {
		qd_errmsg_set(why, "the batch was rolled back by an earlier error");
		return QD_ERR_STORE;
	}
	if (sq_step_done(store->st[ST_COMMIT]) != SQLITE_OK)
		return tx_fail(store, why, "cannot commit the batch");
	return QD_OK;
}

void store_batch_abort(struct store *store)
{
	if (!store->in_batch)
		return;
	store->in_batch = false;
	tx_rollback(store);
}

/* ---- read bursts -------------------------------------------------------- */

/*
 * Without a transaction of its own, every SELECT opens and closes a read
 * transaction (two fcntl and an fstat: ~3.4 us of a ~5 us probe at 10M
 * entries).  A held one pays that once for the burst.  Deferred BEGIN: the
 * snapshot starts at the first read.  While held, this connection sees the
 * state of that first read; a WAL checkpoint cannot pass it, so the holder
 * releases it when the burst ends (docs/performance.md).
 */
void store_read_hold(struct store *store)
{
	if (store == NULL || store->in_read || store->in_batch ||
	    !sqlite3_get_autocommit(store->db))
		return; /* already inside a transaction: its snapshot serves */
	/* If BEGIN fails, each lookup runs in its own transaction as without the hold. */
	if (sq_step_done(store->st[ST_READ_BEGIN]) == SQLITE_OK)
		store->in_read = true;
}

void store_read_release(struct store *store)
{
	if (store == NULL || !store->in_read)
		return;
	store->in_read = false;
	/* A read-only transaction commits nothing: a failed COMMIT leaves no change behind. */
	if (!sqlite3_get_autocommit(store->db) && sq_step_done(store->st[ST_COMMIT]) != SQLITE_OK)
		(void)sq_step_done(store->st[ST_ROLLBACK]);
}

/* ---- the trust view ---------------------------------------------------- */

static enum qd_err view_revocation_contains(void *ctx, const uint8_t hash[TRUST_HASH_LEN],
                                            bool *revoked)
{
	return store_revocation_contains(ctx, hash, revoked);
}

static enum qd_err view_range_contains(void *ctx, const uint8_t *kid, size_t kid_len, int64_t iat,
                                       bool *revoked)
{
	return store_range_contains(ctx, kid, kid_len, iat, revoked);
}

enum qd_err store_trust_load(struct store *store, struct store_trust *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (store == NULL || out == NULL)
		return QD_ERR_ARG;
	store_read_release(store); /* load what is committed now, not a burst's snapshot */
	size_t n = 0;
	enum qd_err err = store_keys_load(store, out->keys, TRUST_KEYS_MAX, &n);
	if (err != QD_OK)
		return err;
	struct trust_view *v = &out->view;
	v->keys = out->keys;
	v->n_keys = n;
	if ((err = store_freshness_get(store, TRUST_DOC_KEYSET, &v->keyset)) != QD_OK ||
	    (err = store_freshness_get(store, TRUST_DOC_REVOCATIONS, &v->revocations)) != QD_OK ||
	    (err = store_freshness_get(store, TRUST_DOC_POLICY, &v->policy)) != QD_OK ||
	    (err = store_freshness_get(store, TRUST_DOC_TIMESTAMP, &v->timestamp)) != QD_OK ||
	    (err = store_time_floor_get(store, &v->time_floor)) != QD_OK)
		return err;
	/* Every other type the list shows: its freshness for the status and metrics. */
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		enum trust_doc_type t = trust_doc_types[i].type;
		if (trust_doc_types[i].shown && trust_view_freshness(v, t) == &v->more[t] &&
		    (err = store_freshness_get(store, t, &v->more[t])) != QD_OK)
			return err;
	}
	if (v->policy.present) {
		uint8_t *body = NULL;
		size_t len = 0;
		if ((err = store_document_body(store, TRUST_DOC_POLICY, &body, &len)) != QD_OK)
			return err;
		if (policy_decode(body, len, &out->policy, &out->policy_error) == QD_OK)
			v->policy_rules = &out->policy;
		else
			v->policy_unreadable = true;
		free(body);
	}
	v->revocation_contains = view_revocation_contains;
	v->range_contains = view_range_contains;
	v->revocation_ctx = store;
	return QD_OK;
}

void store_set_busy_timeout(struct store *store, int ms)
{
	if (store != NULL)
		(void)sqlite3_busy_timeout(store->db, ms); /* cannot fail on an open handle */
}

/* ---- USB updates and log collection ------------------------------------- */

/*
 * These run once per stick, so their statements are prepared when used
 * rather than kept with the hot ones above.  Each writes inside the caller's
 * batch when one is open (a bundle's record commits with its documents).
 */

enum qd_err store_usb_bundle_last(struct store *store, struct store_usb_bundle *out, bool *found)
{
	memset(out, 0, sizeof(*out));
	*found = false;
	sqlite3_stmt *s = NULL;
	if (sq_prepare(store->db,
	               "SELECT id, created_at, applied_at FROM usb_bundles"
	               " ORDER BY created_at DESC, applied_at DESC LIMIT 1",
	               &s) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(s, 0);
		snprintf(out->id, sizeof(out->id), "%s", id != NULL ? (const char *)id : "");
		out->created_at = sqlite3_column_int64(s, 1);
		out->applied_at = sqlite3_column_int64(s, 2);
		*found = true;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

enum qd_err store_usb_bundle_seen(struct store *store, const char *id, bool *seen)
{
	*seen = false;
	sqlite3_stmt *s = NULL;
	if (sq_prepare(store->db, "SELECT 1 FROM usb_bundles WHERE id = ?1", &s) != SQLITE_OK)
		return QD_ERR_STORE;
	int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seen = true;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}

/* Run one prepared write and finalize it; QD_OK or QD_ERR_STORE with why. */
static enum qd_err write_once(struct store *store, sqlite3_stmt *s, int bind_rc,
                              struct qd_errmsg *why, const char *what)
{
	int rc = bind_rc == SQLITE_OK ? sqlite3_step(s) : bind_rc;
	enum qd_err err = QD_OK;
	if (rc != SQLITE_DONE)
		err = sql_fail(store, why, what);
	sqlite3_finalize(s);
	return err;
}

enum qd_err store_usb_bundle_record(struct store *store, const char *id, int64_t created_at,
                                    int64_t applied_at, const uint8_t *kid, size_t kid_len,
                                    struct qd_errmsg *why)
{
	if (store->readonly) {
		qd_errmsg_set(why, "the store is open read-only");
		return QD_ERR_ARG;
	}
	sqlite3_stmt *s = NULL;
	if (sq_prepare(store->db,
	               "INSERT INTO usb_bundles (id, created_at, applied_at, signer_kid)"
	               " VALUES (?1, ?2, ?3, ?4)",
	               &s) != SQLITE_OK)
		return sql_fail(store, why, "cannot record the bundle");
	int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, created_at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, applied_at);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob_or_null(s, 4, kid, kid_len);
	return write_once(store, s, rc, why, "cannot record the bundle");
}

enum qd_err store_usb_setting_set(struct store *store, const char *name, const char *value,
                                  const char *bundle_id, int64_t set_at, struct qd_errmsg *why)
{
	if (store->readonly) {
		qd_errmsg_set(why, "the store is open read-only");
		return QD_ERR_ARG;
	}
	sqlite3_stmt *s = NULL;
	if (sq_prepare(
	            store->db,
	            "INSERT INTO usb_settings (name, value, bundle, set_at) VALUES (?1, ?2, ?3, ?4)"
	            " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
	            " bundle = excluded.bundle, set_at = excluded.set_at",
	            &s) != SQLITE_OK)
		return sql_fail(store, why, "cannot record a setting");
	int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 3, bundle_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, set_at);
	return write_once(store, s, rc, why, "cannot record a setting");
}

enum qd_err store_usb_settings_list(struct store *store,
                                    void (*fn)(void *arg, const char *name, const char *value),
                                    void *arg)
{
	sqlite3_stmt *s = NULL;
	if (sq_prepare(store->db, "SELECT name, value FROM usb_settings ORDER BY name", &s) !=
	    SQLITE_OK)
		return QD_ERR_STORE;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(s, 0), *v = sqlite3_column_text(s, 1);
		if (n != NULL && v != NULL)
			fn(arg, (const char *)n, (const char *)v);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? QD_OK : QD_ERR_STORE;
}
