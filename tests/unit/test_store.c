/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store.c - the SQLite trust store: schema and migrations, root pinning,
 * versioned applies (rollback refused, equal unchanged, failures atomic),
 * revocations at scale, the time floor, the trust view and the audit log.
 */
#include <sqlite3.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "paced_vfs.h"
#include "qrdesk/store.h"

struct fx {
	char *dir;
	char path[4096];
	struct store *store;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/trust.db", fx->dir);
	struct qd_errmsg why = {{0}};
	enum qd_err rc = store_open(fx->path, STORE_OPEN_CREATE, &fx->store, &why);
	if (rc != QD_OK)
		fail_msg("store_open: %s: %s", qd_err_name(rc), why.text);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_close(fx->store);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static struct store_doc_meta meta_of(enum trust_doc_type type, uint64_t version, int64_t signed_at)
{
	struct store_doc_meta m = {
	        .type = type,
	        .version = version,
	        .signed_at = signed_at,
	        .expires_at = signed_at + 86400,
	};
	for (size_t i = 0; i < sizeof(m.sha256); i++)
		m.sha256[i] = (uint8_t)(version + i);
	return m;
}

static struct trust_key key_of(unsigned n, enum key_role role)
{
	struct trust_key k;
	memset(&k, 0, sizeof(k));
	k.kid_len = TRUST_KID_DEFAULT_LEN;
	for (unsigned i = 0; i < k.kid_len; i++)
		k.kid[i] = (uint8_t)(n * 16 + i);
	k.alg = SIGNATURE_ALG_EDDSA;
	k.role = role;
	k.status = KEY_STATUS_ACTIVE;
	k.public_len = SIGNATURE_ED25519_PUBLIC_LEN;
	for (unsigned i = 0; i < k.public_len; i++)
		k.public_key[i] = (uint8_t)(n + i * 7);
	k.not_before = 1700000000;
	k.not_after = 1900000000 + n;
	return k;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * count ascending, unique, random-looking hashes: entry i has its first eight
 * bytes in the i-th of count equal slices of the 64-bit range.  Flipping the
 * last eight bytes of an entry gives a hash that is not in the list.
 */
static uint8_t *make_hashes(size_t count, uint64_t seed)
{
	uint8_t *h = malloc(count * TRUST_HASH_LEN + 1);
	assert_non_null(h);
	uint64_t slice = UINT64_MAX / (count ? count : 1);
	for (size_t i = 0; i < count; i++) {
		uint64_t hi = (uint64_t)i * slice + splitmix64(&seed) % slice;
		put_be64(h + i * TRUST_HASH_LEN, hi);
		put_be64(h + i * TRUST_HASH_LEN + 8, splitmix64(&seed));
	}
	return h;
}

static void absent_variant(const uint8_t *present, uint8_t *out)
{
	memcpy(out, present, TRUST_HASH_LEN);
	for (int i = 8; i < TRUST_HASH_LEN; i++)
		out[i] ^= 0xff;
}

static bool revoked(struct store *store, const uint8_t *hash)
{
	bool r = true;
	assert_int_equal(store_revocation_contains(store, hash, &r), QD_OK);
	return r;
}

static uint64_t rev_count(struct store *store)
{
	uint64_t n = 0;
	assert_int_equal(store_revocation_count(store, &n), QD_OK);
	return n;
}

/* Overwrite the user_version field of a closed database file (offset 60, big-endian). */
static void poke_user_version(const char *path, uint32_t v)
{
	char wal[4200];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	/* Closed cleanly, all is in the main file (a read-only close leaves an empty WAL). */
	struct stat st;
	assert_true(stat(wal, &st) != 0 || st.st_size == 0);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	assert_int_equal(fseek(f, 60, SEEK_SET), 0);
	assert_int_equal(fwrite(be, 1, 4, f), 4);
	assert_int_equal(fclose(f), 0);
}

/* ---- schema ------------------------------------------------------------ */

static void test_create_migrate_reopen(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_schema_version(fx->store), 8);
	uint64_t n = 99;
	assert_int_equal(store_revocation_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 0);
	int64_t floor = 99;
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, 0);
	struct trust_freshness fr;
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_KEYSET, &fr), QD_OK);
	assert_false(fr.present);

	struct store_doc_meta m = meta_of(TRUST_DOC_POLICY, 3, 1000);
	const uint8_t body[] = {0xa1, 0x01, 0x02};
	assert_int_equal(store_apply_document(fx->store, &m, body, sizeof(body), NULL, NULL),
	                 QD_OK);
	store_close(fx->store);
	fx->store = NULL;

	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &fx->store, &why), QD_OK);
	assert_int_equal(store_schema_version(fx->store), 8);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_POLICY, &fr), QD_OK);
	assert_true(fr.present);
	assert_int_equal(fr.version, 3);
	assert_int_equal(fr.signed_at, 1000);
	assert_int_equal(fr.expires_at, 1000 + 86400);
	store_close(fx->store);

	/* A read-only connection sees the same. */
	assert_int_equal(store_open(fx->path, STORE_OPEN_READONLY, &fx->store, &why), QD_OK);
	assert_int_equal(store_schema_version(fx->store), 8);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_POLICY, &fr), QD_OK);
	assert_int_equal(fr.version, 3);
	/* ...and refuses to write. */
	m.version = 4;
	bool unchanged = true;
	assert_int_equal(store_apply_document(fx->store, &m, body, sizeof(body), &unchanged, &why),
	                 QD_ERR_ARG);
	assert_non_null(strstr(why.text, "read-only"));
	struct audit_record rec = {.time_us = 1, .verdict = "pass"};
	assert_int_equal(store_audit_append(fx->store, &rec, NULL), QD_ERR_ARG);
}

static void test_refuse_newer_schema(void **state)
{
	struct fx *fx = *state;
	store_close(fx->store);
	fx->store = NULL;
	poke_user_version(fx->path, 9);

	struct qd_errmsg why = {{0}};
	struct store *s = (struct store *)&why; /* must be cleared on failure */
	assert_int_equal(store_open(fx->path, STORE_OPEN_CREATE, &s, &why), QD_ERR_UNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(why.text, "schema version 9"));
	assert_non_null(strstr(why.text, "newer"));
	assert_int_equal(store_open(fx->path, STORE_OPEN_READONLY, &s, &why), QD_ERR_UNSUPPORTED);
	assert_null(s);

	/* The file was left alone: back at 5, it opens again and migrations 6 to 8 run. */
	poke_user_version(fx->path, 5);
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &fx->store, &why), QD_OK);
	assert_int_equal(store_schema_version(fx->store), 8);
}

static void test_open_missing_or_bad_file(void **state)
{
	struct fx *fx = *state;
	char path[4200];
	struct qd_errmsg why = {{0}};
	struct store *s = NULL;

	snprintf(path, sizeof(path), "%s/missing.db", fx->dir);
	assert_int_equal(store_open(path, STORE_OPEN_READONLY, &s, &why), QD_ERR_NOT_FOUND);
	assert_null(s);
	assert_non_null(strstr(why.text, "missing.db"));
	assert_false(file_exists(path));
	assert_int_equal(store_open(path, STORE_OPEN_READWRITE, &s, &why), QD_ERR_NOT_FOUND);
	assert_false(file_exists(path));

	snprintf(path, sizeof(path), "%s/garbage.db", fx->dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc('x', f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(store_open(path, STORE_OPEN_READWRITE, &s, &why), QD_ERR_STORE);
	assert_null(s);

	assert_int_equal(store_open(NULL, STORE_OPEN_CREATE, &s, &why), QD_ERR_ARG);
	store_close(NULL); /* NULL-safe */
	assert_int_equal(store_schema_version(NULL), -1);
}

/* A read-only look at a trust store without its audit log file (qrdeskctl check on a
 * copied store): it opens, reads the log as empty, refuses to write it, and creates no
 * file beside the store. */
static void test_readonly_without_audit_file(void **state)
{
	struct fx *fx = *state;
	store_close(fx->store);
	fx->store = NULL;
	char audit[4200];
	store_audit_path(fx->path, audit, sizeof(audit));
	assert_true(file_exists(audit));
	assert_int_equal(unlink(audit), 0);

	struct qd_errmsg why = {{0}};
	struct store *s = NULL;
	enum qd_err rc = store_open(fx->path, STORE_OPEN_READONLY, &s, &why);
	if (rc != QD_OK)
		fail_msg("read-only open without the audit file: %s: %s", qd_err_name(rc),
		         why.text);
	uint64_t n = 99;
	assert_int_equal(store_audit_count(s, &n), QD_OK);
	assert_int_equal(n, 0);
	bool found = true;
	int64_t t = 0;
	assert_int_equal(store_audit_oldest(s, &found, &t), QD_OK);
	assert_false(found);
	struct audit_record rec = {
	        .time_us = 1, .source = "x", .verdict = "pass", .reason = "ok", .desk = "d"};
	assert_int_not_equal(store_audit_append(s, &rec, NULL), QD_OK);
	store_close(s);
	assert_false(file_exists(audit));

	/* Read-write still makes it. */
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &fx->store, &why), QD_OK);
	assert_true(file_exists(audit));
}

/* ---- roots and keys ---------------------------------------------------- */

static void test_root_pin(void **state)
{
	struct fx *fx = *state;
	struct trust_key roots[4];
	size_t n = 99;
	assert_int_equal(store_roots_load(fx->store, roots, 4, &n), QD_OK);
	assert_int_equal(n, 0);

	struct trust_key root = key_of(1, KEY_ROLE_ROOT);
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_root_pin(fx->store, &root, &why), QD_OK);
	assert_int_equal(store_root_pin(fx->store, &root, &why), QD_OK); /* same: no-op */
	assert_int_equal(store_roots_load(fx->store, roots, 4, &n), QD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(roots[0].role, KEY_ROLE_ROOT);
	assert_int_equal(roots[0].status, KEY_STATUS_ACTIVE);
	assert_int_equal(roots[0].alg, SIGNATURE_ALG_EDDSA);
	assert_int_equal(roots[0].kid_len, root.kid_len);
	assert_memory_equal(roots[0].kid, root.kid, root.kid_len);
	assert_int_equal(roots[0].public_len, root.public_len);
	assert_memory_equal(roots[0].public_key, root.public_key, root.public_len);

	struct trust_key other = key_of(2, KEY_ROLE_ROOT);
	assert_int_equal(store_root_pin(fx->store, &other, &why), QD_ERR_EXISTS);
	assert_non_null(strstr(why.text, "different root key is already pinned"));
	assert_int_equal(store_roots_load(fx->store, roots, 4, &n), QD_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(roots[0].public_key, root.public_key, root.public_len);

	/* Too small a buffer is reported, not overrun. */
	assert_int_equal(store_roots_load(fx->store, roots, 0, &n), QD_ERR_TOO_LARGE);
	assert_int_equal(n, 0);

	struct trust_key bad = root;
	bad.public_len = 0;
	assert_int_equal(store_root_pin(fx->store, &bad, &why), QD_ERR_ARG);
}

static void assert_keys(struct store *store, const struct trust_key *want, size_t count)
{
	struct trust_key got[TRUST_KEYS_MAX];
	size_t n = 99;
	assert_int_equal(store_keys_load(store, got, TRUST_KEYS_MAX, &n), QD_OK);
	assert_int_equal(n, count);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(got[i].kid_len, want[i].kid_len);
		assert_memory_equal(got[i].kid, want[i].kid, want[i].kid_len);
		assert_int_equal(got[i].alg, want[i].alg);
		assert_int_equal(got[i].role, want[i].role);
		assert_int_equal(got[i].status, want[i].status);
		assert_int_equal(got[i].public_len, want[i].public_len);
		assert_memory_equal(got[i].public_key, want[i].public_key, want[i].public_len);
		assert_int_equal(got[i].not_before, want[i].not_before);
		assert_int_equal(got[i].not_after, want[i].not_after);
	}
}

static void test_keyset_versions(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged = true;

	struct trust_key v1[2] = {key_of(10, KEY_ROLE_ISSUER), key_of(11, KEY_ROLE_REPOSITORY)};
	struct store_doc_meta m1 = meta_of(TRUST_DOC_KEYSET, 1, 1000);
	assert_int_equal(store_apply_keyset(fx->store, &m1, v1, 2, &unchanged, &why), QD_OK);
	assert_false(unchanged);
	assert_keys(fx->store, v1, 2);

	struct trust_key v2[3] = {key_of(20, KEY_ROLE_ISSUER), key_of(21, KEY_ROLE_UPDATE),
	                          key_of(22, KEY_ROLE_REPOSITORY)};
	v2[1].status = KEY_STATUS_REVOKED;
	v2[2].alg = SIGNATURE_ALG_ES256;
	v2[2].public_len = SIGNATURE_P256_PUBLIC_LEN;
	v2[2].kid_len = TRUST_KID_MAX;
	struct store_doc_meta m2 = meta_of(TRUST_DOC_KEYSET, 2, 2000);
	assert_int_equal(store_apply_keyset(fx->store, &m2, v2, 3, &unchanged, &why), QD_OK);
	assert_false(unchanged);
	assert_keys(fx->store, v2, 3);

	/* v1 again: a rollback, refused, nothing written. */
	assert_int_equal(store_apply_keyset(fx->store, &m1, v1, 2, &unchanged, &why),
	                 QD_ERR_ROLLBACK);
	assert_false(unchanged);
	assert_string_equal(why.text, "keyset version 1 is older than installed version 2");
	assert_keys(fx->store, v2, 3);

	/* v2 again: unchanged, even if the content passed differs. */
	assert_int_equal(store_apply_keyset(fx->store, &m2, v1, 2, &unchanged, &why), QD_OK);
	assert_true(unchanged);
	assert_keys(fx->store, v2, 3);

	struct trust_freshness fr;
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_KEYSET, &fr), QD_OK);
	assert_true(fr.present);
	assert_int_equal(fr.version, 2);
	assert_int_equal(fr.signed_at, 2000);

	/* Arguments are checked before anything is written. */
	struct store_doc_meta m3 = meta_of(TRUST_DOC_KEYSET, 3, 3000);
	struct trust_key many[TRUST_KEYS_MAX + 1];
	for (unsigned i = 0; i < TRUST_KEYS_MAX + 1; i++)
		many[i] = key_of(i, KEY_ROLE_ISSUER);
	assert_int_equal(
	        store_apply_keyset(fx->store, &m3, many, TRUST_KEYS_MAX + 1, &unchanged, &why),
	        QD_ERR_TOO_LARGE);
	struct trust_key bad = key_of(30, KEY_ROLE_ISSUER);
	bad.kid_len = TRUST_KID_MAX + 1;
	assert_int_equal(store_apply_keyset(fx->store, &m3, &bad, 1, &unchanged, &why), QD_ERR_ARG);
	struct store_doc_meta wrong = meta_of(TRUST_DOC_POLICY, 3, 3000);
	assert_int_equal(store_apply_keyset(fx->store, &wrong, v1, 2, &unchanged, &why),
	                 QD_ERR_ARG);
	assert_keys(fx->store, v2, 3);

	/* A full key set (TRUST_KEYS_MAX) fits, and an empty one clears. */
	assert_int_equal(store_apply_keyset(fx->store, &m3, many, TRUST_KEYS_MAX, &unchanged, &why),
	                 QD_OK);
	assert_keys(fx->store, many, TRUST_KEYS_MAX);
	struct store_doc_meta m4 = meta_of(TRUST_DOC_KEYSET, 4, 4000);
	assert_int_equal(store_apply_keyset(fx->store, &m4, NULL, 0, &unchanged, &why), QD_OK);
	assert_keys(fx->store, NULL, 0);
}

/* ---- revocations ------------------------------------------------------- */

static void test_revocations(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged = true;
	uint8_t absent[TRUST_HASH_LEN];

	uint8_t *a = make_hashes(100, 1);
	struct store_doc_meta m5 = meta_of(TRUST_DOC_REVOCATIONS, 5, 5000);
	assert_int_equal(store_apply_revocations(fx->store, &m5, a, 100, &unchanged, &why), QD_OK);
	assert_false(unchanged);
	assert_int_equal(rev_count(fx->store), 100);
	for (size_t i = 0; i < 100; i++) {
		assert_true(revoked(fx->store, a + i * TRUST_HASH_LEN));
		absent_variant(a + i * TRUST_HASH_LEN, absent);
		assert_false(revoked(fx->store, absent));
	}

	/* An older list is refused and the installed one kept. */
	uint8_t *b = make_hashes(50, 2);
	struct store_doc_meta m3 = meta_of(TRUST_DOC_REVOCATIONS, 3, 6000);
	assert_int_equal(store_apply_revocations(fx->store, &m3, b, 50, &unchanged, &why),
	                 QD_ERR_ROLLBACK);
	assert_string_equal(why.text, "revocations version 3 is older than installed version 5");
	assert_int_equal(rev_count(fx->store), 100);
	assert_true(revoked(fx->store, a));
	assert_false(revoked(fx->store, b));

	/* The same version: unchanged. */
	assert_int_equal(store_apply_revocations(fx->store, &m5, b, 50, &unchanged, &why), QD_OK);
	assert_true(unchanged);
	assert_int_equal(rev_count(fx->store), 100);

	/* A newer list replaces the whole set. */
	struct store_doc_meta m6 = meta_of(TRUST_DOC_REVOCATIONS, 6, 6000);
	assert_int_equal(store_apply_revocations(fx->store, &m6, b, 50, &unchanged, &why), QD_OK);
	assert_false(unchanged);
	assert_int_equal(rev_count(fx->store), 50);
	assert_false(revoked(fx->store, a));
	assert_true(revoked(fx->store, b + 49 * TRUST_HASH_LEN));

	/* An empty list is a list. */
	struct store_doc_meta m7 = meta_of(TRUST_DOC_REVOCATIONS, 7, 7000);
	assert_int_equal(store_apply_revocations(fx->store, &m7, NULL, 0, &unchanged, &why), QD_OK);
	assert_int_equal(rev_count(fx->store), 0);
	assert_false(revoked(fx->store, b));

	/* Arguments. */
	struct store_doc_meta m8 = meta_of(TRUST_DOC_REVOCATIONS, 8, 8000);
	assert_int_equal(store_apply_revocations(fx->store, &m8, NULL, 3, &unchanged, &why),
	                 QD_ERR_ARG);
	assert_int_equal(store_apply_revocations(fx->store, &m8, b, SIZE_MAX / 2, &unchanged, &why),
	                 QD_ERR_TOO_LARGE);
	bool r;
	assert_int_equal(store_revocation_contains(fx->store, NULL, &r), QD_ERR_ARG);
	assert_int_equal(store_revocation_contains(NULL, b, &r), QD_ERR_ARG);
	free(a);
	free(b);
}

static void test_apply_failure_is_atomic(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged = true;

	uint8_t *old = make_hashes(100, 3);
	struct store_doc_meta m1 = meta_of(TRUST_DOC_REVOCATIONS, 1, 1000);
	assert_int_equal(store_apply_revocations(fx->store, &m1, old, 100, &unchanged, &why),
	                 QD_OK);

	/* v2: 1000 hashes whose last repeats the one before: fails at the very end. */
	size_t n = 1000;
	uint8_t *bad = make_hashes(n, 4);
	memcpy(bad + (n - 1) * TRUST_HASH_LEN, bad + (n - 2) * TRUST_HASH_LEN, TRUST_HASH_LEN);
	struct store_doc_meta m2 = meta_of(TRUST_DOC_REVOCATIONS, 2, 9000);
	assert_int_equal(store_apply_revocations(fx->store, &m2, bad, n, &unchanged, &why),
	                 QD_ERR_STORE);
	assert_false(unchanged);
	assert_non_null(strstr(why.text, "1000 of 1000"));
	assert_non_null(strstr(why.text, "UNIQUE"));

	/* Nothing of v2 is in: the list, the version and the floor are v1's. */
	assert_int_equal(rev_count(fx->store), 100);
	for (size_t i = 0; i < 100; i++)
		assert_true(revoked(fx->store, old + i * TRUST_HASH_LEN));
	assert_false(revoked(fx->store, bad));
	struct trust_freshness fr;
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_REVOCATIONS, &fr), QD_OK);
	assert_int_equal(fr.version, 1);
	int64_t floor = 0;
	assert_int_equal(store_time_floor_get(fx->store, &floor), QD_OK);
	assert_int_equal(floor, 1000);

	/* The connection is usable afterwards: a good v2 goes in. */
	assert_int_equal(store_apply_revocations(fx->store, &m2, bad, n - 1, &unchanged, &why),
	                 QD_OK);
	assert_int_equal(rev_count(fx->store), n - 1);
	assert_false(revoked(fx->store, old));
	free(old);
	free(bad);
}

static void test_revocations_million(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged = true;
	const size_t n = 1000000;

	uint8_t *h = make_hashes(n, 5);
	struct store_doc_meta m = meta_of(TRUST_DOC_REVOCATIONS, 1, 1000);
	unsigned long paced_before = paced_vfs_syncs();
	enum qd_err rc = store_apply_revocations(fx->store, &m, h, n, &unchanged, &why);
	if (rc != QD_OK)
		fail_msg("apply: %s: %s", qd_err_name(rc), why.text);
	assert_int_equal(rev_count(fx->store), n);
	/* ~16 MiB of entries, written through the paced VFS: synced every 256 KiB, not all at
	 * the commit (paced_vfs.h), so a verdict's audit fsync never waits behind them. */
	unsigned long paced = paced_vfs_syncs() - paced_before;
	if (paced < 64)
		fail_msg("the apply synced %lu times on its way, wanted >= 64", paced);

	uint64_t seed = 6;
	uint8_t absent[TRUST_HASH_LEN];
	for (int i = 0; i < 20000; i++) {
		size_t at = (size_t)(splitmix64(&seed) % n);
		assert_true(revoked(fx->store, h + at * TRUST_HASH_LEN));
		absent_variant(h + at * TRUST_HASH_LEN, absent);
		assert_false(revoked(fx->store, absent));
	}
	assert_true(revoked(fx->store, h));
	assert_true(revoked(fx->store, h + (n - 1) * TRUST_HASH_LEN));
	free(h);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * The audit log's WAL grows in zeroed 4 MiB steps, not a few KiB at each commit
 * (paced_vfs.c: a grown file's fdatasync waits for the file system's journal).
 * The files as a power cut would leave them, the WAL longer than its frames,
 * open with exactly the committed rows.
 */
static void test_audit_wal_grows_in_steps(void **state)
{
	struct fx *fx = *state;
	struct audit_record rec = {.time_us = 1700000000000000,
	                           .source = "replay",
	                           .verdict = "pass",
	                           .reason = "ok",
	                           .desk = "desk-07",
	                           .latency_us = 5};
	char audit[4200], wal[4300];
	store_audit_path(fx->path, audit, sizeof(audit));
	snprintf(wal, sizeof(wal), "%s-wal", audit);

	unsigned long steps_before = paced_vfs_grow_steps();
	for (int i = 0; i < 200; i++) {
		rec.time_us++;
		assert_int_equal(store_audit_append(fx->store, &rec, NULL), QD_OK);
	}
	long size = file_size(wal);
	if (size != PACED_VFS_AUDIT_STEP)
		fail_msg("audit WAL %ld bytes after 200 rows, wanted one step of %d", size,
		         PACED_VFS_AUDIT_STEP);
	/* The open's schema took the first step; 200 commits (~800 frames) took none. */
	unsigned long steps = paced_vfs_grow_steps() - steps_before;
	if (steps != 0)
		fail_msg("%lu grow steps for 200 audit rows, wanted none", steps);

	/* A power cut's copy: the trust file, the audit file and its WAL, zeros and all. */
	char copy[4200], copy_audit[4300], copy_wal[4400];
	snprintf(copy, sizeof(copy), "%s/copy.db", fx->dir);
	store_audit_path(copy, copy_audit, sizeof(copy_audit));
	snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy_audit);
	char trust_wal[4300], copy_trust_wal[4300];
	snprintf(trust_wal, sizeof(trust_wal), "%s-wal", fx->path);
	snprintf(copy_trust_wal, sizeof(copy_trust_wal), "%s-wal", copy);
	tu_copy_file(fx->path, copy);
	if (file_exists(trust_wal))
		tu_copy_file(trust_wal, copy_trust_wal);
	tu_copy_file(audit, copy_audit);
	tu_copy_file(wal, copy_wal);
	struct store *s = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(copy, STORE_OPEN_READWRITE, &s, &why), QD_OK);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(s, &n), QD_OK);
	assert_int_equal(n, 200);
	rec.time_us++;
	assert_int_equal(store_audit_append(s, &rec, NULL), QD_OK);
	assert_int_equal(store_audit_count(s, &n), QD_OK);
	assert_int_equal(n, 201);
	store_close(s);
}

static sqlite3 *audit_vfs_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                                 paced_vfs_name(PACED_VFS_AUDIT)),
	                 SQLITE_OK);
	(void)sqlite3_busy_timeout(db, 60000);
	return db;
}

static void sql_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err != NULL ? err : sqlite3_errmsg(db));
}

static long long sql_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void expect_rows_intact(const char *path, long long rows)
{
	sqlite3 *db = NULL; /* the platform's VFS, as another process would read it */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	long long n = sql_count(db, "SELECT count(*) FROM t");
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char verdict[64];
	snprintf(verdict, sizeof(verdict), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (n != rows || strcmp(verdict, "ok") != 0)
		fail_msg("%s: %lld rows (wanted %lld), integrity_check: %s", path, n, rows,
		         verdict);
}

/*
 * Two writers of one audit WAL (the loop and the sync worker), a reader holding
 * its snapshot so the WAL cannot restart: the second writer's view of the
 * file's end is a step behind when the first has grown it.  Its next commit
 * must not write zeros over the first one's frames.
 */
static void test_audit_wal_two_writers(void **state)
{
	struct fx *fx = *state;
	char path[4200], wal[4300], copy[4200], copy_wal[4300];
	snprintf(path, sizeof(path), "%s/two.db", fx->dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(copy, sizeof(copy), "%s/two-copy.db", fx->dir);
	snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
	sqlite3 *a = audit_vfs_open(path);
	sql_ok(a, "PRAGMA journal_mode = WAL; CREATE TABLE t (x BLOB); INSERT INTO t VALUES (1)");
	sqlite3 *b = audit_vfs_open(path);
	sql_ok(b, "INSERT INTO t VALUES (2)"); /* b has seen the first step's end */

	sqlite3 *reader = NULL;
	assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sql_ok(reader, "BEGIN");
	assert_int_equal(sql_count(reader, "SELECT count(*) FROM t"), 2);

	/* 5 MiB in one transaction: a grows the WAL into its second step. */
	sql_ok(a,
	       "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5) "
	       "INSERT INTO t SELECT randomblob(1048576) FROM c");
	sql_ok(a, "COMMIT");
	if (file_size(wal) != 2 * PACED_VFS_AUDIT_STEP)
		fail_msg("WAL %ld bytes, wanted two steps", file_size(wal));
	sql_ok(b, "INSERT INTO t VALUES (3)");
	sql_ok(reader, "COMMIT");

	tu_copy_file(path, copy); /* as a power cut leaves them: the WAL not checkpointed */
	tu_copy_file(wal, copy_wal);
	expect_rows_intact(path, 8);
	expect_rows_intact(copy, 8);
	sqlite3_close(reader);
	sqlite3_close(b);
	sqlite3_close(a);
}

/*
 * A step that does not fit on the disk (here the file size limit, as a full
 * data partition would) is an optimisation lost, not a row: the zeros are
 * taken back and SQLite's own write goes alone.
 */
static void test_audit_wal_step_does_not_fit(void **state)
{
	struct fx *fx = *state;
	char path[4200], wal[4300];
	snprintf(path, sizeof(path), "%s/full.db", fx->dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	struct rlimit was;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	void (*was_xfsz)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG, not a signal */
	struct rlimit small = {.rlim_cur = 1024 * 1024, .rlim_max = was.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

	unsigned long steps_before = paced_vfs_grow_steps();
	sqlite3 *db = audit_vfs_open(path);
	sql_ok(db, "PRAGMA journal_mode = WAL; CREATE TABLE t (x BLOB)");
	for (int i = 0; i < 20; i++)
		sql_ok(db, "INSERT INTO t VALUES (randomblob(1000))");
	long wal_size = file_size(wal);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	(void)signal(SIGXFSZ, was_xfsz);
	assert_int_equal(paced_vfs_grow_steps(), steps_before);
	if (wal_size <= 0 || wal_size >= 1024 * 1024)
		fail_msg("WAL %ld bytes: the zeros were not taken back", wal_size);
	sqlite3_close(db);
	expect_rows_intact(path, 20);
}

/* ---- time floor, documents, view --------------------------------------- */

static int64_t floor_of(struct store *store)
{
	int64_t f = -1;
	assert_int_equal(store_time_floor_get(store, &f), QD_OK);
	return f;
}

static void test_time_floor_only_rises(void **state)
{
	struct fx *fx = *state;
	bool unchanged;
	const uint8_t body[] = {1, 2, 3};
	struct trust_key k = key_of(1, KEY_ROLE_ISSUER);

	struct store_doc_meta m = meta_of(TRUST_DOC_POLICY, 1, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 1000);

	m = meta_of(TRUST_DOC_KEYSET, 1, 500); /* signed earlier: the floor stays */
	assert_int_equal(store_apply_keyset(fx->store, &m, &k, 1, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 1000);

	m = meta_of(TRUST_DOC_REVOCATIONS, 1, 2500);
	assert_int_equal(store_apply_revocations(fx->store, &m, NULL, 0, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 2500);

	/* A refused rollback and an unchanged apply do not move it either. */
	m = meta_of(TRUST_DOC_POLICY, 0, 9000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL),
	                 QD_ERR_ROLLBACK);
	m = meta_of(TRUST_DOC_POLICY, 1, 9000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL), QD_OK);
	assert_true(unchanged);
	assert_int_equal(floor_of(fx->store), 2500);

	m = meta_of(TRUST_DOC_TIMESTAMP, 1, 2400);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 0, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 2500);
	m = meta_of(TRUST_DOC_TIMESTAMP, 2, 3000);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 0, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 3000);
}

/* A batch is all or nothing; a refused apply inside it undoes only itself. */
static void test_batch(void **state)
{
	struct fx *fx = *state;
	bool unchanged;
	const uint8_t body[] = {1, 2, 3};
	struct qd_errmsg why = {{0}};
	struct trust_freshness f;

	assert_int_equal(store_batch_begin(fx->store, &why), QD_OK);
	assert_int_equal(store_batch_begin(fx->store, &why), QD_ERR_ARG);
	struct store_doc_meta m = meta_of(TRUST_DOC_POLICY, 2, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL), QD_OK);
	m = meta_of(TRUST_DOC_TIMESTAMP, 1, 1200);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 0, &unchanged, NULL), QD_OK);
	store_batch_abort(fx->store);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_POLICY, &f), QD_OK);
	assert_false(f.present);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_TIMESTAMP, &f), QD_OK);
	assert_false(f.present);
	assert_int_equal(floor_of(fx->store), 0);

	assert_int_equal(store_batch_begin(fx->store, &why), QD_OK);
	m = meta_of(TRUST_DOC_POLICY, 2, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL), QD_OK);
	m = meta_of(TRUST_DOC_POLICY, 1, 1100); /* refused inside: the batch goes on */
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL),
	                 QD_ERR_ROLLBACK);
	m = meta_of(TRUST_DOC_TIMESTAMP, 1, 1200);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 0, &unchanged, NULL), QD_OK);
	assert_int_equal(store_batch_commit(fx->store, &why), QD_OK);
	assert_int_equal(store_batch_commit(fx->store, &why), QD_ERR_ARG);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_POLICY, &f), QD_OK);
	assert_true(f.present);
	assert_int_equal(f.version, 2);
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_TIMESTAMP, &f), QD_OK);
	assert_true(f.present);
	assert_int_equal(floor_of(fx->store), 1200);

	/* Outside a batch, applies are their own transactions again. */
	m = meta_of(TRUST_DOC_POLICY, 3, 1300);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, NULL), QD_OK);
	assert_int_equal(floor_of(fx->store), 1300);
}

static void test_document_body(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged;
	uint8_t *blob = NULL;
	size_t len = 0;

	assert_int_equal(store_document_body(fx->store, TRUST_DOC_POLICY, &blob, &len),
	                 QD_ERR_NOT_FOUND);
	assert_null(blob);

	uint8_t body[300];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 13); /* includes zero bytes */
	struct store_doc_meta m = meta_of(TRUST_DOC_POLICY, 1, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, body, sizeof(body), &unchanged, &why),
	                 QD_OK);
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_POLICY, &blob, &len), QD_OK);
	assert_int_equal(len, sizeof(body));
	assert_memory_equal(blob, body, sizeof(body));
	free(blob);

	const uint8_t body2[] = {0xa0};
	m = meta_of(TRUST_DOC_POLICY, 2, 1100);
	assert_int_equal(store_apply_document(fx->store, &m, body2, 1, &unchanged, &why), QD_OK);
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_POLICY, &blob, &len), QD_OK);
	assert_int_equal(len, 1);
	assert_int_equal(blob[0], 0xa0);
	free(blob);

	/* A timestamp without a body: an empty one, not an absent one. */
	m = meta_of(TRUST_DOC_TIMESTAMP, 1, 1200);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 0, &unchanged, &why), QD_OK);
	assert_int_equal(store_document_body(fx->store, TRUST_DOC_TIMESTAMP, &blob, &len), QD_OK);
	assert_non_null(blob);
	assert_int_equal(len, 0);
	free(blob);

	assert_int_equal(store_document_body(fx->store, TRUST_DOC_KEYSET, &blob, &len), QD_ERR_ARG);
	assert_null(blob);
	m = meta_of(TRUST_DOC_KEYSET, 1, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, &why),
	                 QD_ERR_ARG);
	m = meta_of(TRUST_DOC_POLICY, 3, 1000);
	assert_int_equal(store_apply_document(fx->store, &m, NULL, 3, &unchanged, &why),
	                 QD_ERR_ARG);
	m.version = UINT64_MAX;
	assert_int_equal(store_apply_document(fx->store, &m, body, 3, &unchanged, &why),
	                 QD_ERR_ARG);
}

static void test_trust_view(void **state)
{
	struct fx *fx = *state;
	bool unchanged;
	struct store_trust *t = malloc(sizeof(*t));
	assert_non_null(t);

	assert_int_equal(store_trust_load(fx->store, t), QD_OK);
	assert_int_equal(t->view.n_keys, 0);
	assert_false(t->view.keyset.present);
	assert_false(t->view.revocations.present);
	assert_int_equal(t->view.time_floor, 0);

	struct trust_key keys[2] = {key_of(1, KEY_ROLE_ISSUER), key_of(2, KEY_ROLE_REPOSITORY)};
	struct store_doc_meta m = meta_of(TRUST_DOC_KEYSET, 4, 1000);
	assert_int_equal(store_apply_keyset(fx->store, &m, keys, 2, &unchanged, NULL), QD_OK);
	uint8_t *h = make_hashes(10, 7);
	m = meta_of(TRUST_DOC_REVOCATIONS, 9, 2000);
	assert_int_equal(store_apply_revocations(fx->store, &m, h, 10, &unchanged, NULL), QD_OK);
	m = meta_of(TRUST_DOC_POLICY, 2, 1500);
	assert_int_equal(store_apply_document(fx->store, &m, h, 5, &unchanged, NULL), QD_OK);

	assert_int_equal(store_trust_load(fx->store, t), QD_OK);
	const struct trust_view *v = &t->view;
	assert_ptr_equal(v->keys, t->keys);
	assert_int_equal(v->n_keys, 2);
	assert_memory_equal(v->keys[1].public_key, keys[1].public_key, keys[1].public_len);
	assert_true(v->keyset.present);
	assert_int_equal(v->keyset.version, 4);
	assert_true(v->revocations.present);
	assert_int_equal(v->revocations.version, 9);
	assert_int_equal(v->revocations.expires_at, 2000 + 86400);
	assert_true(v->policy.present);
	assert_int_equal(v->policy.signed_at, 1500);
	assert_false(v->timestamp.present);
	assert_int_equal(v->time_floor, 2000);

	assert_non_null(v->revocation_contains);
	bool r = false;
	assert_int_equal(v->revocation_contains(v->revocation_ctx, h + 3 * TRUST_HASH_LEN, &r),
	                 QD_OK);
	assert_true(r);
	uint8_t absent[TRUST_HASH_LEN];
	absent_variant(h, absent);
	assert_int_equal(v->revocation_contains(v->revocation_ctx, absent, &r), QD_OK);
	assert_false(r);

	/* That policy body is not one (import refuses such): flagged, never ignored. */
	assert_true(v->policy_unreadable);
	assert_null(v->policy_rules);
	assert_true(t->policy_error.text[0] != '\0');
	/* A readable one is decoded into the view. */
	static const uint8_t no_rules[] = {0xa2, 0x01, 0x80, 0x02, 0x19, 0x01, 0x68}; /* UTC+06 */
	m = meta_of(TRUST_DOC_POLICY, 3, 2100);
	assert_int_equal(
	        store_apply_document(fx->store, &m, no_rules, sizeof(no_rules), &unchanged, NULL),
	        QD_OK);
	assert_int_equal(store_trust_load(fx->store, t), QD_OK);
	assert_false(v->policy_unreadable);
	assert_ptr_equal(v->policy_rules, &t->policy);
	assert_int_equal(v->policy_rules->n_rules, 0);
	assert_int_equal(v->policy_rules->utc_offset_minutes, 360);
	free(h);
	free(t);
}

/* A second connection (another thread's) sees each apply whole. */
static void test_second_connection(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged;
	struct store *reader = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_READONLY, &reader, &why), QD_OK);
	uint8_t *h = make_hashes(1000, 8);
	assert_false(revoked(reader, h));
	struct store_doc_meta m = meta_of(TRUST_DOC_REVOCATIONS, 1, 1000);
	assert_int_equal(store_apply_revocations(fx->store, &m, h, 1000, &unchanged, &why), QD_OK);
	assert_true(revoked(reader, h));
	assert_int_equal(rev_count(reader), 1000);
	store_close(reader);
	free(h);
}

/*
 * A held read burst reads one snapshot: another connection's apply shows only
 * after the release, a write on the holder releases it first, and its own
 * writes and trust loads see the newest state.
 */
static void test_read_burst(void **state)
{
	struct fx *fx = *state;
	struct qd_errmsg why = {{0}};
	bool unchanged;
	struct store *reader = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &reader, &why), QD_OK);
	uint8_t *h = make_hashes(200, 9);
	struct store_doc_meta m1 = meta_of(TRUST_DOC_REVOCATIONS, 1, 1000);
	assert_int_equal(store_apply_revocations(fx->store, &m1, h, 100, &unchanged, &why), QD_OK);

	store_read_hold(reader);
	store_read_hold(reader); /* a second hold inside the first changes nothing */
	assert_true(revoked(reader, h));
	assert_false(revoked(reader, h + 150 * TRUST_HASH_LEN));
	struct store_doc_meta m2 = meta_of(TRUST_DOC_REVOCATIONS, 2, 2000);
	assert_int_equal(store_apply_revocations(fx->store, &m2, h + 100 * TRUST_HASH_LEN, 100,
	                                         &unchanged, &why),
	                 QD_OK);
	/* The burst's snapshot: still the first list. */
	assert_true(revoked(reader, h));
	assert_false(revoked(reader, h + 150 * TRUST_HASH_LEN));
	store_read_release(reader);
	store_read_release(reader); /* nothing held: nothing to do */
	assert_false(revoked(reader, h));
	assert_true(revoked(reader, h + 150 * TRUST_HASH_LEN));

	/* A trust load inside a burst reads what is committed now. */
	store_read_hold(reader);
	assert_false(revoked(reader, h));
	struct store_doc_meta m3 = meta_of(TRUST_DOC_REVOCATIONS, 3, 3000);
	assert_int_equal(store_apply_revocations(fx->store, &m3, h, 50, &unchanged, &why), QD_OK);
	struct store_trust *trust = malloc(sizeof(*trust));
	assert_non_null(trust);
	assert_int_equal(store_trust_load(reader, trust), QD_OK);
	assert_int_equal(trust->view.revocations.version, 3);
	assert_true(revoked(reader, h));
	free(trust);

	/* A write on the holder releases the burst and applies on the newest state. */
	store_read_hold(reader);
	assert_true(revoked(reader, h));
	struct store_doc_meta m4 = meta_of(TRUST_DOC_REVOCATIONS, 4, 4000);
	assert_int_equal(
	        store_apply_revocations(reader, &m4, h + 60 * TRUST_HASH_LEN, 10, &unchanged, &why),
	        QD_OK);
	assert_false(revoked(fx->store, h));
	assert_true(revoked(fx->store, h + 60 * TRUST_HASH_LEN));
	assert_int_equal(rev_count(fx->store), 10);
	store_close(reader);
	free(h);
}

/* ---- audit ------------------------------------------------------------- */

static void test_audit(void **state)
{
	struct fx *fx = *state;
	uint64_t n = 99;
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 0);

	uint8_t kid[TRUST_KID_DEFAULT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t hash[TRUST_HASH_LEN] = {9};
	struct audit_record rec = {
	        .time_us = 1700000000123456,
	        .source = "replay",
	        .verdict = "pass",
	        .reason = "ok",
	        .kid = kid,
	        .kid_len = sizeof(kid),
	        .clearance_hash = hash,
	        .desk = "desk-07",
	        .latency_us = 842,
	};
	int64_t id1 = 0, id2 = 0, id3 = 0;
	assert_int_equal(store_audit_append(fx->store, &rec, &id1), QD_OK);
	assert_true(id1 > 0);

	/* An unreadable code: no kid, no hash. */
	struct audit_record bare = {.time_us = 1700000000200000,
	                            .source = "camera0",
	                            .verdict = "reject",
	                            .reason = "bad-format",
	                            .desk = "desk-07",
	                            .latency_us = 12};
	assert_int_equal(store_audit_append(fx->store, &bare, &id2), QD_OK);
	assert_true(id2 > id1);
	assert_int_equal(store_audit_append(fx->store, &rec, &id3), QD_OK);
	assert_true(id3 > id2);
	assert_int_equal(store_audit_append(fx->store, &rec, NULL), QD_OK);
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 4);

	rec.kid_len = TRUST_KID_MAX + 1;
	assert_int_equal(store_audit_append(fx->store, &rec, &id1), QD_ERR_ARG);
	assert_int_equal(store_audit_append(fx->store, NULL, &id1), QD_ERR_ARG);
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 4);

	/* "Already used": the earliest valid row for a hash, before a time. */
	uint8_t h1[TRUST_HASH_LEN], h2[TRUST_HASH_LEN];
	memset(h1, 0x11, sizeof(h1));
	memset(h2, 0x22, sizeof(h2));
	struct audit_record rv = {.time_us = 5000,
	                          .source = "replay",
	                          .verdict = "review",
	                          .reason = "TRUST_STALE",
	                          .clearance_hash = h1,
	                          .desk = "DAC-1"};
	assert_int_equal(store_audit_append(fx->store, &rv, NULL), QD_OK);
	struct audit_record ok = rv;
	ok.verdict = "valid";
	ok.reason = "OK";
	ok.time_us = 7000;
	ok.desk = "DAC-2";
	assert_int_equal(store_audit_append(fx->store, &ok, NULL), QD_OK);
	ok.time_us = 9000;
	ok.desk = "DAC-3";
	assert_int_equal(store_audit_append(fx->store, &ok, NULL), QD_OK);
	bool found = true;
	int64_t t = 0;
	char desk[32] = "";
	assert_int_equal(
	        store_audit_first_valid(fx->store, h2, 100000, &found, &t, desk, sizeof(desk)),
	        QD_OK);
	assert_false(found);
	assert_int_equal(
	        store_audit_first_valid(fx->store, h1, 7000, &found, &t, desk, sizeof(desk)),
	        QD_OK);
	assert_false(found); /* the review row does not count, and 7000 is not before 7000 */
	assert_int_equal(
	        store_audit_first_valid(fx->store, h1, 100000, &found, &t, desk, sizeof(desk)),
	        QD_OK);
	assert_true(found);
	assert_int_equal(t, 7000);
	assert_string_equal(desk, "DAC-2");
}

/*
 * A desk from before the split: its trust file (schema 5) holds the audit
 * log.  Opened read-write, the rows move to the audit file with their ids, a
 * green card stays "already used", the open upload batch and a row's detail
 * come along, and the trust file keeps its data but no longer the log.
 */
static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void test_audit_moves_from_old_layout(void **state)
{
	struct fx *fx = *state;
	struct store_doc_meta m = meta_of(TRUST_DOC_POLICY, 3, 1000);
	const uint8_t body[] = {0xa1, 0x01, 0x02};
	assert_int_equal(store_apply_document(fx->store, &m, body, sizeof(body), NULL, NULL),
	                 QD_OK);
	store_close(fx->store);
	fx->store = NULL;
	char audit_path[4200];
	store_audit_path(fx->path, audit_path, sizeof(audit_path));
	assert_non_null(strstr(audit_path, "/trust-audit.db"));
	assert_int_equal(unlink(audit_path), 0);
	/* The old layout, as firmware before the split left it. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	exec_ok(db, "CREATE TABLE audit (id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL,"
	            " source TEXT, verdict TEXT, reason TEXT, kid BLOB, clearance_hash BLOB,"
	            " desk TEXT, latency_us INTEGER NOT NULL, uploaded_at INTEGER NULL,"
	            " collected_at INTEGER NULL);"
	            "CREATE TABLE upload_batch (singleton INTEGER PRIMARY KEY, batch_id TEXT"
	            " NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, rows INTEGER"
	            " NOT NULL, created_at INTEGER NOT NULL);"
	            "CREATE TABLE audit_detail (audit_id INTEGER PRIMARY KEY REFERENCES audit(id),"
	            " event TEXT NOT NULL, detail TEXT);"
	            "INSERT INTO audit VALUES (7, 5000, 'camera0', 'valid', 'OK', NULL,"
	            " x'11111111111111111111111111111111', 'DAC-2', 900, 6, NULL);"
	            "INSERT INTO audit VALUES (8, 6000, 'camera0', 'valid', 'OK', NULL,"
	            " x'11111111111111111111111111111111', 'DAC-3', 900, NULL, NULL);"
	            "INSERT INTO audit VALUES (9, 7000, 'usb', NULL, 'applied', NULL, NULL,"
	            " 'DAC-3', 0, NULL, NULL);"
	            "INSERT INTO audit_detail VALUES (9, 'usb-update', 'bundle b1');"
	            "INSERT INTO upload_batch VALUES (1, 'b-8', 8, 9, 2, 6000);"
	            "PRAGMA user_version = 5;");
	sqlite3_close(db);

	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &fx->store, &why), QD_OK);
	assert_int_equal(store_schema_version(fx->store), 8);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_audit_pending_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 2);
	uint8_t h[TRUST_HASH_LEN];
	memset(h, 0x11, sizeof(h));
	bool found = false;
	int64_t t = 0;
	char desk[32] = "";
	assert_int_equal(
	        store_audit_first_valid(fx->store, h, INT64_MAX, &found, &t, desk, sizeof(desk)),
	        QD_OK);
	assert_true(found);
	assert_int_equal(t, 5000);
	assert_string_equal(desk, "DAC-2");
	struct store_upload_batch b;
	assert_int_equal(store_upload_batch_open(fx->store, 10, "new", 0, &b, &found, &why), QD_OK);
	assert_true(found);
	assert_string_equal(b.id, "b-8"); /* the batch in flight goes on under its id */
	assert_int_equal(b.first_id, 8);
	/* New rows continue after the old ids. */
	int64_t id = 0;
	struct audit_record rec = {.time_us = 8000, .verdict = "invalid", .desk = "DAC-3"};
	assert_int_equal(store_audit_append(fx->store, &rec, &id), QD_OK);
	assert_int_equal(id, 10);
	struct trust_freshness fr;
	assert_int_equal(store_freshness_get(fx->store, TRUST_DOC_POLICY, &fr), QD_OK);
	assert_int_equal(fr.version, 3);
	store_close(fx->store);
	fx->store = NULL;
	/* The trust file no longer holds the log; the detail came along. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT count(*) FROM sqlite_master WHERE name IN "
	                                    "('audit', 'audit_detail', 'upload_batch')",
	                                    -1, &s, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(sqlite3_open(audit_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT detail FROM audit_detail WHERE audit_id = 9",
	                                    -1, &s, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "bundle b1");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * Retention: with upload or export set up, only rows copied (uploaded or
 * collected) go; with neither, every old row; recent rows stay; an event
 * row goes with its detail; markers go at their card's expiry, in chunks.
 */
static void test_audit_retention(void **state)
{
	struct fx *fx = *state;
	const int64_t day_us = 86400LL * 1000000;
	const int64_t now = 100 * 86400;
	uint8_t h[TRUST_HASH_LEN];
	for (int i = 0; i < 4; i++) { /* ids 1-4: old, green, cards expiring at day 50 + i */
		memset(h, 0x40 + i, sizeof(h));
		struct audit_record r = {.time_us = (10 + i) * day_us,
		                         .verdict = "valid",
		                         .reason = "OK",
		                         .clearance_hash = h,
		                         .desk = "D",
		                         .card_expires_at = (50 + i) * 86400};
		assert_int_equal(store_audit_append(fx->store, &r, NULL), QD_OK);
	}
	struct audit_event ev = {.time_us = 11 * day_us,
	                         .source = "usb",
	                         .event = "usb-update",
	                         .result = "applied",
	                         .desk = "D",
	                         .detail = "b"}; /* id 5 */
	assert_int_equal(store_audit_event(fx->store, &ev, NULL), QD_OK);
	struct audit_record recent = {.time_us = 95 * day_us, .verdict = "invalid", .desk = "D"};
	assert_int_equal(store_audit_append(fx->store, &recent, NULL), QD_OK); /* id 6 */
	/* Rows 1-2 leave on a USB stick: the export marks its batch's rows collected. */
	struct store_upload_batch b;
	bool found = false;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_upload_batch_open(fx->store, 2, "usb", now, &b, &found, &why),
	                 QD_OK);
	assert_true(found);
	assert_int_equal(b.first_id, 1);
	assert_int_equal(b.last_id, 2);
	assert_int_equal(store_audit_mark_exported(fx->store, &b, now), QD_OK);

	int64_t oldest = 0;
	assert_int_equal(store_audit_oldest(fx->store, &found, &oldest), QD_OK);
	assert_true(found);
	assert_int_equal(oldest, 10 * day_us);
	/* 30 days, until copied: rows 1-2 (exported); markers of cards expired by day 52. */
	struct store_retention r = {.before_us = now * 1000000 - 30 * day_us,
	                            .keep_until_copied = true,
	                            .now = 52 * 86400 + 1,
	                            .max_rows = 2};
	struct store_retention_result res;
	assert_int_equal(store_audit_retain(fx->store, &r, &res, NULL), QD_OK);
	assert_int_equal(res.rows, 2);
	assert_int_equal(res.markers, 2);
	assert_true(res.more); /* a full chunk: call again */
	assert_int_equal(store_audit_retain(fx->store, &r, &res, NULL), QD_OK);
	assert_int_equal(res.rows, 0);
	assert_int_equal(res.markers, 1);
	assert_false(res.more);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 4);
	/* Neither set up: every old row, the event with its detail; the recent one stays. */
	r.keep_until_copied = false;
	r.max_rows = 100;
	assert_int_equal(store_audit_retain(fx->store, &r, &res, NULL), QD_OK);
	assert_int_equal(res.rows, 3);
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_oldest(fx->store, &found, &oldest), QD_OK);
	assert_int_equal(oldest, 95 * day_us);
	/* The one card not yet expired is still "already used". */
	memset(h, 0x43, sizeof(h));
	int64_t t = 0;
	assert_int_equal(store_audit_first_valid(fx->store, h, INT64_MAX, &found, &t, NULL, 0),
	                 QD_OK);
	assert_true(found);
	assert_int_equal(t, 13 * day_us);
	memset(h, 0x40, sizeof(h));
	assert_int_equal(store_audit_first_valid(fx->store, h, INT64_MAX, &found, &t, NULL, 0),
	                 QD_OK);
	assert_false(found);
}

/* A traveller transaction's row: its documents beside it, in the same row id; all or nothing. */
static void test_audit_binding(void **state)
{
	struct fx *fx = *state;
	uint8_t card[TRUST_HASH_LEN], passport[TRUST_HASH_LEN];
	memset(card, 0x31, sizeof(card));
	memset(passport, 0x32, sizeof(passport));
	struct audit_binding docs = {.card = "passed",
	                             .passport = "failed PASSPORT_MISMATCH birth_date",
	                             .boarding = "missing",
	                             .passport_pseudonym = passport};
	struct audit_record rec = {.time_us = 1700000000123456,
	                           .source = "hid0",
	                           .verdict = "invalid",
	                           .reason = "PASSPORT_MISMATCH",
	                           .clearance_hash = card,
	                           .desk = "DAC-1",
	                           .binding = &docs};
	int64_t id = 0;
	assert_int_equal(store_audit_append(fx->store, &rec, &id), QD_OK);
	assert_true(id > 0);
	/* A document without its outcome is refused, and nothing is written. */
	docs.boarding = NULL;
	assert_int_equal(store_audit_append(fx->store, &rec, NULL), QD_ERR_ARG);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(fx->store, &n), QD_OK);
	assert_int_equal(n, 1);
	store_close(fx->store);
	fx->store = NULL;

	sqlite3 *db = NULL;
	char audit_path[4200];
	store_audit_path(fx->path, audit_path, sizeof(audit_path));
	assert_int_equal(sqlite3_open_v2(audit_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT a.reason, b.card, b.passport, b.boarding,"
	                           " b.passport_pseudonym, b.boarding_pseudonym"
	                           " FROM audit a JOIN audit_binding b ON b.audit_id = a.id"
	                           " WHERE a.id = ?1",
	                           -1, &s, NULL),
	        SQLITE_OK);
	sqlite3_bind_int64(s, 1, id);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "PASSPORT_MISMATCH");
	assert_string_equal((const char *)sqlite3_column_text(s, 1), "passed");
	assert_string_equal((const char *)sqlite3_column_text(s, 2),
	                    "failed PASSPORT_MISMATCH birth_date");
	assert_string_equal((const char *)sqlite3_column_text(s, 3), "missing");
	assert_int_equal(sqlite3_column_bytes(s, 4), TRUST_HASH_LEN);
	assert_memory_equal(sqlite3_column_blob(s, 4), passport, TRUST_HASH_LEN);
	assert_int_equal(sqlite3_column_type(s, 5), SQLITE_NULL);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_create_migrate_reopen, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_binding, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refuse_newer_schema, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_missing_or_bad_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_readonly_without_audit_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_root_pin, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keyset_versions, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revocations, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_apply_failure_is_atomic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revocations_million, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_time_floor_only_rises, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_document_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_trust_view, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_second_connection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_burst, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_moves_from_old_layout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_retention, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_wal_grows_in_steps, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_wal_two_writers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_wal_step_does_not_fit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
