/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sync - sync_run against a fake fetcher serving an in-memory
 * repository that the issuer's own code published (domain_publish,
 * domain_rotate_root).  The fetcher is only the seam for the network: the
 * checks, the import path and the SQLite store are the real ones.  Every
 * refusal must leave the store identical (a dump of every table, compared).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "domain.h"
#include "qrdesk/airport.h"
#include "qrdesk/desklist.h"
#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"
#include "qrdesk/digest.h"
#include "qrdesk/import.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/sync.h"
#include "qrdesk/trustdoc.h"
#include "qrdesk/usedlist.h"
#include "testutil.h"

#define NOW 1795000000LL
#define DAY 86400LL

/* ---- the in-memory repository and its fetcher --------------------------- */

struct file {
	char name[256];
	uint8_t *bytes;
	size_t len;
};

struct repo {
	struct file files[32];
	size_t n;
	char log[2048]; /* "name " per fetch, "name:304 " per 304 */
};

static void repo_clear(struct repo *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->files[i].bytes);
	r->n = 0;
}

static void repo_load(struct repo *r, const char *dir)
{
	repo_clear(r);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_true(r->n < sizeof(r->files) / sizeof(r->files[0]));
		struct file *f = &r->files[r->n++];
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(f->name, sizeof(f->name), "%s", e->d_name);
		f->bytes = tu_read_file(path, &f->len);
	}
	closedir(d);
}

static struct file *repo_find(struct repo *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->files[i].name, name) == 0)
			return &r->files[i];
	return NULL;
}

static void repo_put(struct repo *r, const char *name, const uint8_t *bytes, size_t len)
{
	struct file *f = repo_find(r, name);
	if (f == NULL) {
		f = &r->files[r->n++];
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	free(f->bytes);
	f->bytes = malloc(len + 1);
	assert_non_null(f->bytes);
	memcpy(f->bytes, bytes, len);
	f->len = len;
}

static void log_add(struct repo *r, const char *name, const char *suffix)
{
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof(r->log) - n, "%s%s ", name, suffix);
}

/* As a web server with a byte cap: 404 for an absent file, too large past the cap. */
static enum qd_err fake_fetch(void *ctx, const char *name, size_t cap, uint8_t **data, size_t *len,
                              struct qd_errmsg *why)
{
	struct repo *r = ctx;
	*data = NULL;
	*len = 0;
	log_add(r, name, "");
	struct file *f = repo_find(r, name);
	if (f == NULL) {
		qd_errmsg_set(why, "%s: HTTP status 404", name);
		return QD_ERR_NETWORK;
	}
	if (f->len > cap) {
		qd_errmsg_set(why, "%s: longer than the %zu bytes allowed", name, cap);
		return QD_ERR_TOO_LARGE;
	}
	*data = malloc(f->len + 1);
	assert_non_null(*data);
	memcpy(*data, f->bytes, f->len);
	*len = f->len;
	return QD_OK;
}

/* The ETag of a file: its length and the start of its SHA-256, as a server might. */
static void etag_of(const struct file *f, char out[SYNC_ETAG_MAX])
{
	uint8_t sha[32];
	digest_sha256(f->bytes, f->len, sha);
	snprintf(out, SYNC_ETAG_MAX, "\"%zu-%02x%02x%02x%02x\"", f->len, sha[0], sha[1], sha[2],
	         sha[3]);
}

static enum qd_err fake_fetch_if_changed(void *ctx, const char *name, size_t cap, const char *etag,
                                         char etag_out[SYNC_ETAG_MAX], bool *not_modified,
                                         uint8_t **data, size_t *len, struct qd_errmsg *why)
{
	struct repo *r = ctx;
	*not_modified = false;
	etag_out[0] = '\0';
	struct file *f = repo_find(r, name);
	if (f != NULL) {
		etag_of(f, etag_out);
		if (strcmp(etag, etag_out) == 0) {
			*not_modified = true;
			*data = NULL;
			*len = 0;
			log_add(r, name, ":304");
			return QD_OK;
		}
	}
	return fake_fetch(ctx, name, cap, data, len, why);
}

/* ---- the fixture: a back office and a desk ------------------------------ */

struct fx {
	char *dir;
	char db[4096];
	struct domain d;
	struct store *store;
	struct repo repo;
	struct sync_fetcher fetcher;
	sync_fetch_if_changed_fn if_changed; /* set: conditional syncs */
	int publications;
	char last[4096]; /* the directory of the last publication */
};

static int group_setup(void **state)
{
	(void)state;
	return signature_init() == QD_OK ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	char dom[4096];
	snprintf(dom, sizeof(dom), "%s/dom", fx->dir);
	struct qd_errmsg why = {{0}};
	if (domain_init(dom, NOW, &fx->d, &why) != QD_OK)
		fail_msg("domain_init: %s", why.text);
	snprintf(fx->db, sizeof(fx->db), "%s/desk.db", fx->dir);
	if (store_open(fx->db, STORE_OPEN_CREATE, &fx->store, &why) != QD_OK)
		fail_msg("store_open: %s", why.text);
	int root = domain_pick_key(&fx->d, KEY_ROLE_ROOT, 0, NOW);
	assert_true(root >= 0);
	assert_int_equal(store_root_pin(fx->store, &fx->d.keys[root], &why), QD_OK);
	fx->fetcher = (struct sync_fetcher){fake_fetch, &fx->repo};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_close(fx->store);
	repo_clear(&fx->repo);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Publish at now into a new directory and serve it. */
static void publish(struct fx *fx, int64_t now)
{
	snprintf(fx->last, sizeof(fx->last), "%s/pub%d", fx->dir, ++fx->publications);
	long days[DOMAIN_DOC_TYPES];
	domain_publish_days_defaults(days);
	struct domain_publication pub;
	struct qd_errmsg why = {{0}};
	if (domain_publish(&fx->d, fx->last, days, now, &pub, &why) != QD_OK)
		fail_msg("domain_publish: %s", why.text);
	repo_load(&fx->repo, fx->last);
}

static void revoke(struct fx *fx, uint8_t first_byte, size_t count)
{
	uint8_t hashes[16 * TRUST_HASH_LEN];
	assert_true(count <= 16);
	memset(hashes, 0, sizeof(hashes));
	for (size_t i = 0; i < count; i++) {
		hashes[i * TRUST_HASH_LEN] = first_byte;
		hashes[i * TRUST_HASH_LEN + 1] = (uint8_t)i;
	}
	size_t added = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_revocations_add(&fx->d, hashes, count, &added, &why), QD_OK);
	assert_int_equal(added, count);
}

static void rotate(struct fx *fx, int64_t now)
{
	uint64_t v = 0;
	struct qd_errmsg why = {{0}};
	if (domain_rotate_root(&fx->d, now, NULL, &v, &why) != QD_OK)
		fail_msg("domain_rotate_root: %s", why.text);
}

static enum qd_err sync_at(struct fx *fx, int64_t now, struct sync_result *res)
{
	fx->repo.log[0] = '\0';
	if (fx->if_changed != NULL)
		return sync_run_if_changed(fx->store, &fx->fetcher, fx->if_changed, now, 0, res);
	return sync_run(fx->store, &fx->fetcher, now, 0, res);
}

static void must_sync(struct fx *fx, int64_t now, struct sync_result *res)
{
	enum qd_err rc = sync_at(fx, now, res);
	if (rc != QD_OK)
		fail_msg("sync: %s: %s", qd_err_name(rc), res->why.text);
}

/* Every row of every table, as text: two dumps are equal iff the stores are. */
static char *dump(struct fx *fx)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	/* The audit log is its own file: attached, so "audit" is its table. */
	char audit_path[4200], attach[4300];
	store_audit_path(fx->db, audit_path, sizeof(audit_path));
	sqlite3_snprintf(sizeof(attach), attach, "ATTACH DATABASE %Q AS audit_log", audit_path);
	assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
	static const char *const tables[] = {"root_keys",   "keys", "documents",
	                                     "revocations", "meta", "audit_log.audit"};
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[t]);
		sqlite3_stmt *s = NULL;
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				const uint8_t *p = sqlite3_column_blob(s, c);
				int n = sqlite3_column_bytes(s, c);
				while (len + 2 * (size_t)n + 64 > cap) {
					cap *= 2;
					out = realloc(out, cap);
					assert_non_null(out);
				}
				len += (size_t)snprintf(out + len, cap - len,
				                        "%s%d:", c ? "," : "\n",
				                        sqlite3_column_type(s, c));
				for (int i = 0; i < n; i++)
					len += (size_t)snprintf(out + len, cap - len, "%02x", p[i]);
			}
		}
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return out;
}

static void assert_store_is(struct fx *fx, char *before);

/* A refusal: the code, a reason naming pattern, and the store exactly as it was. */
static void must_refuse(struct fx *fx, int64_t now, enum qd_err want, const char *pattern)
{
	char *before = dump(fx);
	struct sync_result res;
	enum qd_err rc = sync_at(fx, now, &res);
	if (rc != want)
		fail_msg("want %s, got %s: %s", qd_err_name(want), qd_err_name(rc), res.why.text);
	if (strstr(res.why.text, pattern) == NULL)
		fail_msg("reason \"%s\" does not name \"%s\"", res.why.text, pattern);
	assert_int_equal(res.status, want);
	assert_false(res.changed);
	assert_store_is(fx, before);
}

static bool fetched(const struct fx *fx, const char *name)
{
	char word[160];
	snprintf(word, sizeof(word), "%s ", name);
	const char *p = fx->repo.log;
	while ((p = strstr(p, word)) != NULL) {
		if (p == fx->repo.log || p[-1] == ' ')
			return true;
		p++;
	}
	return false;
}

/* The sync's line for type t. */
static const struct sync_file *file_line(const struct sync_result *res, enum trust_doc_type t)
{
	for (size_t i = 0; i < res->n_files; i++)
		if (res->files[i].type == t)
			return &res->files[i];
	fail_msg("no line for %s", trust_doc_type_name(t));
	return NULL;
}

/* Type t's delta was fetched, refused (why naming why_part), and its snapshot fetched and
 * installed in its place in the same sync. */
static void assert_snapshot_instead(const struct fx *fx, const struct sync_result *res,
                                    enum trust_doc_type t, const char *why_part)
{
	char name[128];
	snprintf(name, sizeof(name), "%s.cose", trust_doc_type_name(trust_doc_info(t)->delta));
	assert_true(fetched(fx, name));
	snprintf(name, sizeof(name), "%s.cose", trust_doc_type_name(t));
	assert_true(fetched(fx, name));
	const struct sync_file *f = file_line(res, t);
	assert_false(f->delta);
	if (strstr(f->delta_refused, why_part) == NULL)
		fail_msg("%s: delta_refused \"%s\" does not name \"%s\"", trust_doc_type_name(t),
		         f->delta_refused, why_part);
}

static uint64_t installed(struct fx *fx, enum trust_doc_type type)
{
	struct trust_freshness f;
	assert_int_equal(store_freshness_get(fx->store, type, &f), QD_OK);
	return f.present ? f.version : 0;
}

static uint64_t revocations(struct fx *fx)
{
	uint64_t n = 0;
	assert_int_equal(store_revocation_count(fx->store, &n), QD_OK);
	return n;
}

/* ---- signing helpers for forged repositories ---------------------------- */

static void sign_with(struct fx *fx, size_t key, const uint8_t *payload, size_t len, uint8_t **out,
                      size_t *out_len)
{
	struct signature_keypair kp;
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_keypair(&fx->d, key, &kp, &why), QD_OK);
	size_t cap = cose_sign1_encoded_len(fx->d.keys[key].kid_len, len);
	*out = malloc(cap);
	assert_non_null(*out);
	assert_int_equal(cose_sign1_sign(&kp, fx->d.keys[key].kid, fx->d.keys[key].kid_len, payload,
	                                 len, *out, cap, out_len),
	                 QD_OK);
	signature_keypair_wipe(&kp);
}

static struct cose_sign1 parse(const struct file *f)
{
	struct cose_sign1 msg;
	struct cose_error cerr;
	assert_int_equal(cose_sign1_parse(f->bytes, f->len, &msg, &cerr), COSE_OK);
	return msg;
}

static void entry_file(const struct trustdoc_timestamp_entry *e, char *out, size_t cap)
{
	if (e->type == TRUST_DOC_ROOT)
		snprintf(out, cap, "root-%llu.cose", (unsigned long long)e->version);
	else
		snprintf(out, cap, "%s.cose", trust_doc_type_name(e->type));
}

/*
 * Re-sign timestamp.cose (repository key) naming the files as they now are
 * in the repository, without entries of type drop (0: none); the entry of
 * type rebase (0: none) names base as its delta's base version.
 */
static void resign_timestamp_rebased(struct fx *fx, enum trust_doc_type drop,
                                     enum trust_doc_type rebase, uint64_t base)
{
	struct file *f = repo_find(&fx->repo, "timestamp.cose");
	assert_non_null(f);
	struct cose_sign1 msg = parse(f);
	static struct trustdoc doc;
	struct qd_errmsg why = {{0}};
	assert_int_equal(trustdoc_decode(msg.payload, msg.payload_len, &doc, &why), QD_OK);
	struct trustdoc_timestamp ts = {.count = 0};
	for (size_t i = 0; i < doc.body.timestamp.count; i++) {
		struct trustdoc_timestamp_entry e = doc.body.timestamp.entries[i];
		if (e.type == drop)
			continue;
		char name[64];
		entry_file(&e, name, sizeof(name));
		struct file *named = repo_find(&fx->repo, name);
		assert_non_null(named);
		e.length = named->len;
		digest_sha256(named->bytes, named->len, e.sha256);
		if (e.type == rebase)
			e.base_version = base;
		ts.entries[ts.count++] = e;
	}
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	trustdoc_encode_timestamp(&w, &doc.header, &ts);
	size_t need = w.len;
	uint8_t *payload = malloc(need);
	assert_non_null(payload);
	cbor_writer_init(&w, payload, need);
	trustdoc_encode_timestamp(&w, &doc.header, &ts);
	uint8_t *signed_ts = NULL;
	size_t len = 0;
	int repo_key = domain_pick_key(&fx->d, KEY_ROLE_REPOSITORY, 0, doc.header.issued_at);
	assert_true(repo_key >= 0);
	sign_with(fx, (size_t)repo_key, payload, need, &signed_ts, &len);
	repo_put(&fx->repo, "timestamp.cose", signed_ts, len);
	free(signed_ts);
	free(payload);
}

static void resign_timestamp(struct fx *fx, enum trust_doc_type drop)
{
	resign_timestamp_rebased(fx, drop, 0, 0);
}

/* The index of the n-th root key the domain made (0: the first). */
static size_t nth_root(const struct fx *fx, int n)
{
	for (size_t i = 0; i < fx->d.n_keys; i++)
		if (fx->d.keys[i].role == KEY_ROLE_ROOT && n-- == 0)
			return i;
	fail_msg("no root key %d", n);
	return 0;
}

/* The store must match the dump taken before (which is freed). */
static void assert_store_is(struct fx *fx, char *before)
{
	char *after = dump(fx);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

/* A desk synced to a first publication at NOW. */
static void first_sync(struct fx *fx, struct sync_result *res)
{
	publish(fx, NOW);
	must_sync(fx, NOW + 60, res);
}

/* ---- the paths that succeed --------------------------------------------- */

static void test_fresh_desk(void **state)
{
	struct fx *fx = *state;
	revoke(fx, 0x10, 3);
	struct sync_result res;
	first_sync(fx, &res);
	assert_true(res.changed);
	assert_int_equal(res.timestamp_version, 1);
	assert_int_equal(installed(fx, TRUST_DOC_KEYSET), 1);
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 1);
	assert_int_equal(installed(fx, TRUST_DOC_POLICY), 1);
	assert_int_equal(installed(fx, TRUST_DOC_TIMESTAMP), 1);
	assert_int_equal(revocations(fx), 3);
	assert_true(fetched(fx, "timestamp.cose") && fetched(fx, "keyset.cose") &&
	            fetched(fx, "revocations.cose") && fetched(fx, "policy.cose"));
	assert_false(fetched(fx, "revocations-delta.cose")); /* the first publish has none */
	int64_t floor = 0;
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, NOW);
}

/* The desk list (docs/fleet.md): none until a desk is registered; then synced like the
 * airport table; a retirement reaches desks with the next publish. */
static void test_desks(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	assert_int_equal(installed(fx, TRUST_DOC_DESKS), 0);
	assert_false(fetched(fx, "desks.cose"));

	struct signature_keypair a, b;
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &a), QD_OK);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &b), QD_OK);
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_desk_add(&fx->d, "DAC-T1-07", a.pub, a.pub_len, NOW, &why), QD_OK);
	assert_int_equal(domain_desk_add(&fx->d, "CGP-T1-01", b.pub, b.pub_len, NOW, &why), QD_OK);
	/* One id, one key: neither is taken twice; an id that cannot name a folder is refused. */
	assert_int_equal(domain_desk_add(&fx->d, "DAC-T1-07", b.pub, b.pub_len, NOW, &why),
	                 QD_ERR_EXISTS);
	assert_int_equal(domain_desk_add(&fx->d, "ZYL-1", a.pub, a.pub_len, NOW, &why),
	                 QD_ERR_EXISTS);
	assert_int_equal(domain_desk_add(&fx->d, "..", a.pub, a.pub_len, NOW, &why), QD_ERR_FORMAT);
	publish(fx, NOW + DAY);
	must_sync(fx, NOW + DAY + 60, &res);
	assert_true(fetched(fx, "desks.cose"));
	assert_int_equal(installed(fx, TRUST_DOC_DESKS), 1);

	assert_int_equal(domain_desk_retire(&fx->d, "CGP-T1-01", NOW + 2 * DAY, &why), QD_OK);
	assert_int_equal(domain_desk_retire(&fx->d, "CGP-T1-01", NOW + 2 * DAY, &why),
	                 QD_ERR_EXISTS);
	assert_int_equal(domain_desk_retire(&fx->d, "NONE", NOW, &why), QD_ERR_NOT_FOUND);
	publish(fx, NOW + 2 * DAY);
	must_sync(fx, NOW + 2 * DAY + 60, &res);
	assert_int_equal(installed(fx, TRUST_DOC_DESKS), 2);
	uint8_t *body = NULL;
	size_t len = 0;
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_DESKS, &body, &len), QD_OK);
	static struct desk_list got;
	assert_int_equal(desklist_from_body(body, len, &got, &why), QD_OK);
	free(body);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.rows[0].id, "CGP-T1-01"); /* in id order */
	assert_int_equal(got.rows[0].retired_at, NOW + 2 * DAY);
	const struct desk_entry *e = desklist_find(&got, "DAC-T1-07");
	assert_non_null(e);
	assert_int_equal(e->retired_at, 0);
	assert_memory_equal(e->public_key, a.pub, 32);
}

/* The airport table (docs/binding.md): not published until the back office sets one; then
 * synced like any document, its body stored as signed and read back as a table. */
static void test_airports(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	assert_int_equal(installed(fx, TRUST_DOC_AIRPORTS), 0);
	assert_false(fetched(fx, "airports.cose"));

	static const char table[] = "DAC BD Dhaka\nKWI KW Kuwait\nQQQ KW a new one\n";
	struct qd_errmsg why = {{0}};
	size_t n = 0;
	assert_int_equal(domain_airports_set(&fx->d, table, strlen(table), &n, &why), QD_OK);
	assert_int_equal(n, 3);
	/* One the desks would refuse is refused here, and the old one stays. */
	assert_int_equal(domain_airports_set(&fx->d, "KWI KW\nDAC BD\n", 14, &n, &why),
	                 QD_ERR_FORMAT);
	publish(fx, NOW + DAY);
	must_sync(fx, NOW + DAY + 60, &res);
	assert_true(fetched(fx, "airports.cose"));
	assert_int_equal(installed(fx, TRUST_DOC_AIRPORTS), 1);
	uint8_t *body = NULL;
	size_t len = 0;
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_AIRPORTS, &body, &len), QD_OK);
	static struct airport_table got;
	assert_int_equal(airport_table_from_body(body, len, &got, &why), QD_OK);
	free(body);
	assert_int_equal(got.n, 3);
	assert_string_equal(airport_country(&got, "QQQ"), "KW");
}

static void test_up_to_date(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	char *before = dump(fx);
	must_sync(fx, NOW + 120, &res);
	assert_false(res.changed);
	assert_false(res.not_modified);
	assert_string_equal(fx->repo.log, "timestamp.cose ");
	assert_store_is(fx, before);

	/* Conditional: the first answer's ETag is kept with the installed timestamp... */
	fx->if_changed = fake_fetch_if_changed;
	must_sync(fx, NOW + 180, &res);
	assert_false(res.changed);
	char etag[SYNC_ETAG_MAX];
	assert_int_equal(store_sync_etag_get(fx->store, etag, sizeof(etag)), QD_OK);
	assert_true(etag[0] == '"');
	/* ... and the next poll is a 304 that writes nothing. */
	before = dump(fx);
	must_sync(fx, NOW + 240, &res);
	assert_true(res.not_modified);
	assert_false(res.changed);
	assert_string_equal(fx->repo.log, "timestamp.cose:304 ");
	assert_store_is(fx, before);

	/* A new publication changes the ETag: fetched and installed. */
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_true(res.changed);
	assert_int_equal(installed(fx, TRUST_DOC_TIMESTAMP), 2);
}

static void test_delta_path(void **state)
{
	struct fx *fx = *state;
	revoke(fx, 0x20, 2);
	struct sync_result res;
	first_sync(fx, &res);
	revoke(fx, 0x30, 5);
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_true(fetched(fx, "revocations-delta.cose"));
	assert_false(fetched(fx, "revocations.cose"));
	assert_true(file_line(&res, TRUST_DOC_REVOCATIONS)->delta);
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 2);
	assert_int_equal(revocations(fx), 7);
	uint8_t h[TRUST_HASH_LEN] = {0x30, 4};
	bool revoked = false;
	assert_int_equal(store_revocation_contains(fx->store, h, &revoked), QD_OK);
	assert_true(revoked);
}

/* A desk at revocations 1; the repository two publications on, its delta 2 -> 3. */
static void two_behind(struct fx *fx, struct sync_result *res)
{
	first_sync(fx, res);
	revoke(fx, 0x40, 1);
	publish(fx, NOW + 3600);
	revoke(fx, 0x50, 1);
	publish(fx, NOW + 7200);
}

/* A desk not at the delta's base takes the snapshot; the delta itself is refused there. */
static void test_delta_base_mismatch(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	two_behind(fx, &res);
	char *before = dump(fx);
	struct import_result ir;
	struct qd_errmsg why = {{0}};
	struct file *delta = repo_find(&fx->repo, "revocations-delta.cose");
	assert_non_null(delta);
	assert_int_equal(
	        import_document(fx->store, delta->bytes, delta->len, NOW + 7300, &ir, &why),
	        QD_ERR_BASE);
	assert_non_null(strstr(why.text, "does not apply to installed version 1"));
	assert_store_is(fx, before);

	must_sync(fx, NOW + 7300, &res);
	assert_true(fetched(fx, "revocations.cose"));
	assert_false(fetched(fx, "revocations-delta.cose"));
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 3);
	assert_int_equal(revocations(fx), 2);
}

/* One bit of a served file flipped (again: restored). */
static void flip(struct fx *fx, const char *name)
{
	struct file *f = repo_find(&fx->repo, name);
	assert_non_null(f);
	f->bytes[f->len / 2] ^= 0x01;
}

/* The desk's list drifted from the one its version names: hashes {first, 0} added behind the
 * store's back (a restored or hand-edited store, or a list rebuilt under the same number). */
static void drift(struct fx *fx, const uint8_t *firsts, size_t n)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT INTO revocations(hash) VALUES (x'%02x%030d')",
		         firsts[i], 0);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(db);
}

static bool revoked(struct fx *fx, uint8_t first)
{
	uint8_t h[TRUST_HASH_LEN] = {first};
	bool yes = false;
	assert_int_equal(store_revocation_contains(fx->store, h, &yes), QD_OK);
	return yes;
}

/*
 * A delta of the right base whose content does not fit the desk's list (it adds a hash the
 * desk already holds): refused by the store, and the snapshot taken in the same sync; the
 * desk ends with the snapshot's list, its own stray hash gone.
 */
static void test_delta_not_fitting_takes_snapshot(void **state)
{
	struct fx *fx = *state;
	revoke(fx, 0x60, 2);
	struct sync_result res;
	first_sync(fx, &res);
	drift(fx, (const uint8_t[]){0x70, 0x71}, 2);
	revoke(fx, 0x70, 1);
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_snapshot_instead(fx, &res, TRUST_DOC_REVOCATIONS,
	                        "is already on the installed list");
	assert_int_equal(res.why.text[0], '\0');
	assert_true(res.changed);
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 2);
	assert_int_equal(installed(fx, TRUST_DOC_TIMESTAMP), 2);
	assert_int_equal(revocations(fx), 3);
	assert_true(revoked(fx, 0x70));
	assert_true(revoked(fx, 0x60));
	assert_false(revoked(fx, 0x71));
	/* Healed: the next publication's delta fits again. */
	revoke(fx, 0x72, 1);
	publish(fx, NOW + 7200);
	must_sync(fx, NOW + 7300, &res);
	assert_true(file_line(&res, TRUST_DOC_REVOCATIONS)->delta);
	assert_int_equal(file_line(&res, TRUST_DOC_REVOCATIONS)->delta_refused[0], '\0');
	assert_int_equal(revocations(fx), 4);
}

/* A delta that does not fit and a snapshot that fails too: the sync fails as before, the
 * store untouched; nothing unverified is installed. */
static void test_delta_not_fitting_bad_snapshot(void **state)
{
	struct fx *fx = *state;
	revoke(fx, 0x60, 2);
	struct sync_result res;
	first_sync(fx, &res);
	drift(fx, (const uint8_t[]){0x70}, 1);
	revoke(fx, 0x70, 1);
	publish(fx, NOW + 3600);
	flip(fx, "revocations.cose");
	char *before = dump(fx);
	assert_int_equal(sync_at(fx, NOW + 3700, &res), QD_ERR_SIGNATURE);
	assert_non_null(strstr(res.why.text, "revocations.cose"));
	assert_non_null(strstr(file_line(&res, TRUST_DOC_REVOCATIONS)->delta_refused,
	                       "is already on the installed list"));
	assert_false(res.changed);
	assert_store_is(fx, before);
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 1);
}

/* A delta whose own base is not the one the timestamp names: the snapshot, in the same sync. */
static void test_delta_inner_base_takes_snapshot(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	two_behind(fx, &res);
	resign_timestamp_rebased(fx, 0, TRUST_DOC_REVOCATIONS_DELTA, 1);
	must_sync(fx, NOW + 7300, &res);
	/* The store refuses it when it applies it: its base is not the installed version. */
	assert_snapshot_instead(fx, &res, TRUST_DOC_REVOCATIONS,
	                        "does not apply to installed version 1");
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 3);
	assert_int_equal(revocations(fx), 2);
}

/* ---- the fleet's used list: deltas through the same path ---------------- */

/* A used list's body: cards of these first bytes. */
static size_t used_body(const char *firsts, uint8_t body[1024])
{
	struct used_entry rows[16];
	size_t n = strlen(firsts);
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		rows[i] = (struct used_entry){.first_at = NOW - DAY};
		memset(rows[i].pseudonym, 0x44, TRUST_HASH_LEN);
		rows[i].pseudonym[0] = (uint8_t)firsts[i];
		snprintf(rows[i].desk, sizeof(rows[i].desk), "DAC-T1-%02zu", i);
	}
	struct used_list list = {n, rows};
	size_t len = usedlist_encode(&list, body, 1024);
	assert_true(len <= 1024);
	return len;
}

/* DIR/used.cbor as `qrdesk-issuer used publish` writes it: cards of these first bytes. */
static void set_used(struct fx *fx, const char *firsts)
{
	uint8_t body[1024];
	size_t len = used_body(firsts, body);
	char path[4096];
	domain_path(&fx->d, "used.cbor", path, sizeof(path));
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(body, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char *installed_used(struct fx *fx, char out[17])
{
	uint8_t *body = NULL;
	size_t len = 0;
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_USED, &body, &len), QD_OK);
	struct used_list list;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usedlist_from_body(body, len, &list, &why), QD_OK);
	assert_true(list.n < 17);
	for (size_t i = 0; i < list.n; i++)
		out[i] = (char)list.rows[i].pseudonym[0];
	out[list.n] = '\0';
	usedlist_free(&list);
	free(body);
	return out;
}

/* One version behind: the used-delta, not the snapshot; two behind: the snapshot. */
static void test_used_delta_path(void **state)
{
	struct fx *fx = *state;
	set_used(fx, "AB");
	struct sync_result res;
	first_sync(fx, &res);
	assert_true(fetched(fx, "used.cose"));
	assert_false(fetched(fx, "used-delta.cose")); /* the first publish has none */
	char got[17];
	assert_string_equal(installed_used(fx, got), "AB");

	set_used(fx, "BCD"); /* A's card expired and was purged; C and D passed */
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_true(fetched(fx, "used-delta.cose"));
	assert_false(fetched(fx, "used.cose"));
	assert_true(file_line(&res, TRUST_DOC_USED)->delta);
	assert_int_equal(installed(fx, TRUST_DOC_USED), 2);
	assert_string_equal(installed_used(fx, got), "BCD");

	/* Two publications on: the delta starts at 3, the desk holds 2: the snapshot. */
	set_used(fx, "BCDE");
	publish(fx, NOW + 7200);
	set_used(fx, "CDEF");
	publish(fx, NOW + 10800);
	char *before = dump(fx);
	struct file *delta = repo_find(&fx->repo, "used-delta.cose");
	assert_non_null(delta);
	struct import_result ir;
	struct qd_errmsg why = {{0}};
	assert_int_equal(
	        import_document(fx->store, delta->bytes, delta->len, NOW + 10900, &ir, &why),
	        QD_ERR_BASE);
	assert_non_null(
	        strstr(why.text, "used-delta 3 -> 4 does not apply to installed version 2"));
	assert_store_is(fx, before);
	must_sync(fx, NOW + 10900, &res);
	assert_true(fetched(fx, "used.cose"));
	assert_false(fetched(fx, "used-delta.cose"));
	assert_false(file_line(&res, TRUST_DOC_USED)->delta);
	assert_int_equal(installed(fx, TRUST_DOC_USED), 4);
	assert_string_equal(installed_used(fx, got), "CDEF");

	/* No change: an empty delta still moves the version. */
	publish(fx, NOW + 14400);
	must_sync(fx, NOW + 14500, &res);
	assert_true(fetched(fx, "used-delta.cose"));
	assert_int_equal(installed(fx, TRUST_DOC_USED), 5);
	assert_string_equal(installed_used(fx, got), "CDEF");
}

/* The desk's installed used list replaced behind the store's back by one of firsts. */
static void drift_used(struct fx *fx, const char *firsts)
{
	uint8_t body[1024];
	size_t len = used_body(firsts, body);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE documents SET body = ?1 WHERE type = ?2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_bind_blob(st, 1, body, (int)len, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_bind_int(st, 2, TRUST_DOC_USED), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The desk's used list drifted from the one its version stands for (a card lost): the
 * used-delta that removes that card does not fit; the snapshot in the same sync. */
static void test_used_delta_not_fitting_takes_snapshot(void **state)
{
	struct fx *fx = *state;
	set_used(fx, "AB");
	struct sync_result res;
	first_sync(fx, &res);
	drift_used(fx, "B");
	char got[17];
	assert_string_equal(installed_used(fx, got), "B");

	set_used(fx, "BC"); /* A purged, C passed: the delta removes A */
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_snapshot_instead(fx, &res, TRUST_DOC_USED, "used-delta 1 -> 2");
	assert_int_equal(installed(fx, TRUST_DOC_USED), 2);
	assert_string_equal(installed_used(fx, got), "BC");
}

/* Both lists drifted: the apply is refused twice in one sync (revocations, then the used
 * list), and each type's snapshot replaces its delta, once each. */
static void test_both_deltas_not_fitting(void **state)
{
	struct fx *fx = *state;
	set_used(fx, "AB");
	revoke(fx, 0x60, 2);
	struct sync_result res;
	first_sync(fx, &res);
	drift(fx, (const uint8_t[]){0x70}, 1);
	drift_used(fx, "B");
	revoke(fx, 0x70, 1);
	set_used(fx, "BC");
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_snapshot_instead(fx, &res, TRUST_DOC_REVOCATIONS,
	                        "is already on the installed list");
	assert_snapshot_instead(fx, &res, TRUST_DOC_USED, "used-delta 1 -> 2");
	assert_true(res.changed);
	assert_int_equal(installed(fx, TRUST_DOC_REVOCATIONS), 2);
	assert_int_equal(installed(fx, TRUST_DOC_USED), 2);
	char got[17];
	assert_string_equal(installed_used(fx, got), "BC");
	assert_int_equal(revocations(fx), 3);
}

/* A used-delta served in place of another publication's: its hash is not the timestamp's. */
static void test_used_delta_swapped_refused(void **state)
{
	struct fx *fx = *state;
	set_used(fx, "AB");
	struct sync_result res;
	first_sync(fx, &res);
	set_used(fx, "ABC");
	publish(fx, NOW + 3600);
	/* Tampered in transit: one byte of the signed file. */
	flip(fx, "used-delta.cose");
	char *before = dump(fx);
	assert_int_not_equal(sync_at(fx, NOW + 3700, &res), QD_OK);
	assert_non_null(strstr(res.why.text, "used-delta.cose"));
	assert_store_is(fx, before);
	flip(fx, "used-delta.cose");
	must_sync(fx, NOW + 3800, &res);
	assert_true(file_line(&res, TRUST_DOC_USED)->delta);
	char got[17];
	assert_string_equal(installed_used(fx, got), "ABC");
}

/* The store's own guard: a delta whose removals are not on the list is refused whole. */
static void test_delta_contents_mismatch(void **state)
{
	struct fx *fx = *state;
	revoke(fx, 0x60, 2);
	struct sync_result res;
	first_sync(fx, &res);
	char *before = dump(fx);
	uint8_t add[TRUST_HASH_LEN] = {0x70};
	uint8_t gone[TRUST_HASH_LEN] = {0x61};
	struct store_doc_meta meta = {.type = TRUST_DOC_REVOCATIONS_DELTA,
	                              .version = 2,
	                              .signed_at = NOW + 100,
	                              .expires_at = NOW + DAY};
	bool unchanged = true;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_apply_revocations_delta(fx->store, &meta, 1, add, 1, gone, 1,
	                                               &unchanged, &why),
	                 QD_ERR_BASE);
	assert_non_null(strstr(why.text, "removed hash 1 is not on"));
	assert_store_is(fx, before);
	/* An added hash already present, likewise. */
	before = dump(fx);
	uint8_t present[TRUST_HASH_LEN] = {0x60, 1};
	assert_int_equal(store_apply_revocations_delta(fx->store, &meta, 1, present, 1, NULL, 0,
	                                               &unchanged, &why),
	                 QD_ERR_BASE);
	assert_store_is(fx, before);
}

static void test_root_rotation_stepped(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	rotate(fx, NOW + 1000);
	rotate(fx, NOW + 2000);
	publish(fx, NOW + 3600);
	must_sync(fx, NOW + 3700, &res);
	assert_true(fetched(fx, "root-2.cose") && fetched(fx, "root-3.cose"));
	assert_int_equal(installed(fx, TRUST_DOC_ROOT), 3);
	assert_int_equal(installed(fx, TRUST_DOC_KEYSET), 2);
	assert_int_equal(res.files[0].type, TRUST_DOC_ROOT);
	assert_int_equal(res.files[0].steps, 2);
	/* The pinned root is now the third root key. */
	struct trust_key roots[4];
	size_t n = 0;
	assert_int_equal(store_roots_load(fx->store, roots, 4, &n), QD_OK);
	assert_int_equal(n, 1);
	size_t third = nth_root(fx, 2);
	assert_memory_equal(roots[0].public_key, fx->d.keys[third].public_key,
	                    fx->d.keys[third].public_len);
	/* Up to date afterwards: nothing fetched but the timestamp. */
	must_sync(fx, NOW + 3800, &res);
	assert_false(res.changed);
	assert_string_equal(fx->repo.log, "timestamp.cose ");
}

/* root-2 signed by one key only (the new one; or the new one twice): refused. */
static void test_rotation_one_signature_refused(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	rotate(fx, NOW + 1000);
	rotate(fx, NOW + 2000);
	publish(fx, NOW + 3600);
	struct file *r2 = repo_find(&fx->repo, "root-2.cose");
	assert_non_null(r2);
	struct cose_sign1 outer = parse(r2);
	size_t inner_len = outer.payload_len;
	uint8_t *inner = malloc(inner_len);
	assert_non_null(inner);
	memcpy(inner, outer.payload, inner_len);
	/* Only the new root's own signature. */
	repo_put(&fx->repo, "root-2.cose", inner, inner_len);
	must_refuse(fx, NOW + 3700, QD_ERR_SIGNATURE, "root-2.cose");
	/* Countersigned by the new root instead of the old one. */
	uint8_t *twice = NULL;
	size_t twice_len = 0;
	sign_with(fx, nth_root(fx, 1), inner, inner_len, &twice, &twice_len);
	repo_put(&fx->repo, "root-2.cose", twice, twice_len);
	must_refuse(fx, NOW + 3700, QD_ERR_SIGNATURE, "root-2.cose");
	free(twice);
	free(inner);
	assert_int_equal(installed(fx, TRUST_DOC_ROOT), 1);
}

/* A key set signed by a root the desk has not rotated to: refused. */
static void test_keyset_of_unrotated_root_refused(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	rotate(fx, NOW + 1000);
	publish(fx, NOW + 3600);
	resign_timestamp(fx, TRUST_DOC_ROOT); /* the chain is not named */
	must_refuse(fx, NOW + 3700, QD_ERR_SIGNATURE, "keyset.cose");
}

static void must_import(struct fx *fx, const struct file *f, struct import_result *ir)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc = import_document(fx->store, f->bytes, f->len, NOW + 3700, ir, &why);
	if (rc != QD_OK)
		fail_msg("import %s: %s: %s", f->name, qd_err_name(rc), why.text);
}

/* The import path (USB bundles, qrdeskctl import) rotates too: one step at a time. */
static void test_root_rotation_by_import(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	rotate(fx, NOW + 1000);
	rotate(fx, NOW + 2000);
	publish(fx, NOW + 3600);
	struct file *r2 = repo_find(&fx->repo, "root-2.cose"),
	            *r3 = repo_find(&fx->repo, "root-3.cose");
	assert_non_null(r2);
	assert_non_null(r3);
	struct import_result ir;
	struct qd_errmsg why = {{0}};
	/* root-3 first: signed by root 2, which is not pinned. */
	char *before = dump(fx);
	assert_int_equal(import_document(fx->store, r3->bytes, r3->len, NOW + 3700, &ir, &why),
	                 QD_ERR_SIGNATURE);
	assert_store_is(fx, before);
	/* The store itself refuses a root that skips a version. */
	struct trust_key key = fx->d.keys[nth_root(fx, 2)];
	struct store_doc_meta meta = {.type = TRUST_DOC_ROOT,
	                              .version = 3,
	                              .signed_at = NOW + 2000,
	                              .expires_at = NOW + 3650 * DAY};
	bool unchanged = false;
	before = dump(fx);
	assert_int_equal(store_apply_root(fx->store, &meta, &key, 1, &unchanged, &why),
	                 QD_ERR_BASE);
	assert_non_null(strstr(why.text, "one version at a time"));
	assert_store_is(fx, before);
	/* In order, each is taken; again is a no-op; back is a rollback. */
	must_import(fx, r2, &ir);
	must_import(fx, r3, &ir);
	assert_int_equal(installed(fx, TRUST_DOC_ROOT), 3);
	must_import(fx, r3, &ir);
	assert_true(ir.unchanged);
	meta.version = 2;
	assert_int_equal(store_apply_root(fx->store, &meta, &key, 1, &unchanged, &why),
	                 QD_ERR_ROLLBACK);
	/* The key set of root 3 now imports. */
	must_import(fx, repo_find(&fx->repo, "keyset.cose"), &ir);
}

/* ---- refusals: each leaves the store as it was --------------------------- */

static void test_rollback(void **state)
{
	struct fx *fx = *state;
	publish(fx, NOW);
	struct repo old = {.n = 0};
	repo_load(&old, fx->last);
	publish(fx, NOW + 3600);
	struct sync_result res;
	must_sync(fx, NOW + 3700, &res);
	repo_clear(&fx->repo);
	fx->repo = old;
	must_refuse(fx, NOW + 3800, QD_ERR_ROLLBACK, "older than installed");
}

static void test_mix_and_match(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	publish(fx, NOW + 3600);
	struct repo second = {.n = 0};
	repo_load(&second, fx->last);
	publish(fx, NOW + 7200);
	struct file *p = repo_find(&second, "policy.cose");
	repo_put(&fx->repo, "policy.cose", p->bytes, p->len);
	repo_clear(&second);
	must_refuse(fx, NOW + 7300, QD_ERR_SIGNATURE, "policy.cose: SHA-256 differs");
}

static void test_truncated(void **state)
{
	struct fx *fx = *state;
	publish(fx, NOW);
	struct file *k = repo_find(&fx->repo, "keyset.cose");
	k->len -= 10;
	must_refuse(fx, NOW + 60, QD_ERR_FORMAT, "keyset.cose: ");
	assert_non_null(strstr(fx->repo.log, "keyset.cose"));
}

static void test_oversized(void **state)
{
	struct fx *fx = *state;
	publish(fx, NOW);
	struct file *p = repo_find(&fx->repo, "policy.cose");
	uint8_t *longer = calloc(1, p->len + 5);
	assert_non_null(longer);
	memcpy(longer, p->bytes, p->len);
	repo_put(&fx->repo, "policy.cose", longer, p->len + 5);
	free(longer);
	must_refuse(fx, NOW + 60, QD_ERR_TOO_LARGE, "policy.cose: longer than");
	/* A timestamp over its fixed cap is cut too. */
	uint8_t *big = calloc(1, SYNC_TIMESTAMP_MAX + 1);
	assert_non_null(big);
	repo_put(&fx->repo, "timestamp.cose", big, SYNC_TIMESTAMP_MAX + 1);
	free(big);
	must_refuse(fx, NOW + 60, QD_ERR_TOO_LARGE, "timestamp.cose");
}

/* A key set signed by the repository key (and a timestamp that vouches for it). */
static void test_wrong_role(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	publish(fx, NOW + 3600);
	struct cose_sign1 msg = parse(repo_find(&fx->repo, "keyset.cose"));
	uint8_t *forged = NULL;
	size_t len = 0;
	int repo_key = domain_pick_key(&fx->d, KEY_ROLE_REPOSITORY, 0, NOW);
	assert_true(repo_key >= 0);
	sign_with(fx, (size_t)repo_key, msg.payload, msg.payload_len, &forged, &len);
	repo_put(&fx->repo, "keyset.cose", forged, len);
	free(forged);
	resign_timestamp(fx, 0);
	must_refuse(fx, NOW + 3700, QD_ERR_ROLE, "keyset must be signed by a root key");
}

static void test_expired_timestamp(void **state)
{
	struct fx *fx = *state;
	struct sync_result res;
	first_sync(fx, &res);
	publish(fx, NOW + 3600);
	must_refuse(fx, NOW + 3600 + 2 * DAY, QD_ERR_EXPIRED, "timestamp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_fresh_desk, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_airports, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_desks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_up_to_date, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delta_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delta_base_mismatch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delta_contents_mismatch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delta_not_fitting_takes_snapshot, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_delta_not_fitting_bad_snapshot, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_delta_inner_base_takes_snapshot, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_used_delta_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_used_delta_swapped_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_both_deltas_not_fitting, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_used_delta_not_fitting_takes_snapshot, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_root_rotation_stepped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotation_one_signature_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_keyset_of_unrotated_root_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_root_rotation_by_import, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mix_and_match, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_role, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expired_timestamp, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
