/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_db.h - inside the store module (cache/): the connection pair a
 * struct store is, and the SQLite helpers store.c and audit.c share.  Not a
 * public interface: include/qrdesk/store.h is.
 */
#ifndef QRDESK_STORE_DB_H
#define QRDESK_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "qrdesk/error.h"

/* The audit log's statements, prepared once (audit.c). */
enum audit_stmt_id {
	AST_BEGIN,
	AST_COMMIT,
	AST_ROLLBACK,
	AST_INSERT,
	AST_USED_UPSERT,
	AST_BINDING_INSERT,
	AST_COUNT_ROWS,
	AST_FIRST_VALID,
	AST_OLDEST,
	AST_COUNT
};

/* store.c's statements: it alone uses them. */
#define STORE_STMTS_MAX 32

/*
 * One struct store is two connections: the trust data (db) and the audit
 * log's own file (adb), so a long apply on one never holds up a verdict's row
 * on the other.
 */
struct store {
	sqlite3 *db;
	bool readonly;
	bool in_batch; /* store_batch_begin: each apply is a savepoint inside it */
	bool in_read;  /* store_read_hold: one read transaction across a burst of lookups */
	sqlite3_stmt *st[STORE_STMTS_MAX];
	sqlite3 *adb;
	sqlite3_stmt *ast[AST_COUNT];
};

/* Open (creating and migrating unless read-only) the audit file beside the
 * trust store at trust_path; with take_legacy, first copy the rows the trust
 * file still holds (the layout before the split).  audit.c. */
enum qd_err audit_db_open(struct store *store, const char *trust_path, bool take_legacy,
                          struct qd_errmsg *why);
void audit_db_close(struct store *store);

/* Helpers (store.c): SQLite result codes in, SQLite result codes out. */
void sq_stmt_done(sqlite3_stmt *s);
int sq_step_done(sqlite3_stmt *s);
int sq_step_int(sqlite3_stmt *s, int64_t *value, bool *present);
int sq_bind_blob_or_null(sqlite3_stmt *s, int i, const void *p, size_t len);
int sq_bind_text_or_null(sqlite3_stmt *s, int i, const char *text);
int sq_exec_sql(sqlite3 *db, const char *sql);
int sq_read_user_version(sqlite3 *db, int *version);
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* WAL, synchronous=FULL, foreign keys, mmap: every file of the store alike. */
enum qd_err sq_configure(sqlite3 *db, const char *path, bool readonly, struct qd_errmsg *why);
enum qd_err sq_too_new(const char *path, int version, int known, struct qd_errmsg *why);
/* Run steps[version .. upto-1], each in its own transaction; known: the newest there is. */
enum qd_err sq_migrate(sqlite3 *db, const char *path, int version, const char *const *steps,
                       int upto, int known, struct qd_errmsg *why);

#endif
