/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ingest.c - the signed audit batch (firmware/core/auditbatch.c) and the
 * back office's ingest (tools/issuer/ingest.c, cache/fleetdb.c): batches
 * signed by desk keys, written as the upload storage holds them, read into
 * the fleet database.  Every refusal - bad signature, unknown or retired
 * desk, a gap, a fork, a batch in another's place, bytes that do not parse -
 * names desk and sequence, loads nothing of that batch and leaves the rest
 * loaded; a re-run adds nothing; the scans of a card are found by its
 * pseudonym.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "ingest.h"
#include "qrdesk/auditbatch.h"
#include "qrdesk/credential.h"
#include "qrdesk/desklist.h"
#include "qrdesk/fleetdb.h"
#include "testutil.h"

#define NOW 1767225600

static char *dir;
static struct domain dom;
static struct signature_keypair dac, cgp, stranger;
static uint8_t audit_key[CREDENTIAL_AUDIT_KEY_LEN] = {1, 2, 3};

struct chain {
	const char *desk;
	const struct signature_keypair *kp;
	uint64_t seq;
	uint8_t last[AUDITBATCH_HASH_LEN];
	int64_t row_id;
};

/* A batch of n rows (the first valid for clearance, the others refused), signed. */
static uint8_t *make_batch(struct chain *c, size_t n, const char *clearance, size_t *len)
{
	uint8_t hash[TRUST_HASH_LEN];
	credential_pseudonym(audit_key, clearance, hash);
	struct cbor_writer w;
	uint8_t *payload = malloc(64 * 1024);
	cbor_writer_init(&w, payload, 64 * 1024);
	c->seq++;
	auditbatch_put_head(&w, c->desk, c->seq, c->last, NOW + (int64_t)c->seq, n);
	for (size_t i = 0; i < n; i++) {
		struct auditbatch_put row = {
		        .id = ++c->row_id,
		        .time_us = (NOW + c->row_id) * 1000000LL,
		        .latency_us = 1500,
		        .card_expires_at = NOW + 86400 * 90,
		        .source = "camera0",
		        .verdict = i == 0 ? "valid" : "invalid",
		        .reason = i == 0 ? "OK"
		                         : "REVOKED\x1b[31m", /* written as the parser takes it */
		        .clearance_hash = hash,
		};
		auditbatch_put_row(&w, &row);
	}
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	uint8_t *out = NULL;
	assert_int_equal(auditbatch_sign(c->kp, payload, w.len, &out, len), QD_OK);
	free(payload);
	struct auditbatch b;
	struct qd_errmsg why = {{0}};
	assert_int_equal(auditbatch_parse(out, *len, &b, &why), QD_OK);
	memcpy(c->last, b.hash, sizeof(c->last));
	return out;
}

static void put(const char *desk, uint64_t seq, const uint8_t *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/src/%s", dir, desk);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/src/%s/%llu.cose", dir, desk, (unsigned long long)seq);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void put_next(struct chain *c, size_t n, const char *clearance)
{
	size_t len = 0;
	uint8_t *b = make_batch(c, n, clearance, &len);
	put(c->desk, c->seq, b, len);
	free(b);
}

/* One ingest; the report's text in report (static). */
static char report[8192];
static struct ingest_result ingest(void)
{
	char src[4096], db[4096];
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(db, sizeof(db), "%s/fleet.db", dir);
	FILE *f = fmemopen(report, sizeof(report) - 1, "w");
	assert_non_null(f);
	struct ingest_result res;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = ingest_run(&dom, src, db, NOW, f, &res, &why);
	long at = ftell(f);
	fclose(f);
	report[at] = '\0';
	if (rc != QD_OK)
		fail_msg("ingest_run: %s", why.text);
	return res;
}

struct seen {
	size_t n;
	char desks[8][DESK_ID_MAX + 1];
	char verdicts[8][16];
};
static void collect(void *ctx, const struct fleetdb_scan *sc)
{
	struct seen *s = ctx;
	if (s->n < 8) {
		snprintf(s->desks[s->n], sizeof(s->desks[0]), "%s", sc->desk);
		snprintf(s->verdicts[s->n], sizeof(s->verdicts[0]), "%s", sc->verdict);
	}
	s->n++;
}

static struct seen scans_of(const char *clearance)
{
	uint8_t hash[TRUST_HASH_LEN];
	credential_pseudonym(audit_key, clearance, hash);
	char path[4096];
	snprintf(path, sizeof(path), "%s/fleet.db", dir);
	struct fleetdb *db = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(fleetdb_open(path, &db, &why), QD_OK);
	struct seen s = {0};
	size_t count = 0;
	assert_int_equal(fleetdb_scans(db, hash, collect, &s, &count, &why), QD_OK);
	assert_int_equal(count, s.n);
	fleetdb_close(db);
	return s;
}

static void counts(uint64_t *batches, uint64_t *rows)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fleet.db", dir);
	struct fleetdb *db = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(fleetdb_open(path, &db, &why), QD_OK);
	assert_int_equal(fleetdb_counts(db, batches, rows, &why), QD_OK);
	fleetdb_close(db);
}

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof(path), "%s/dom", dir);
	struct qd_errmsg why = {{0}};
	if (domain_init(path, NOW - 86400, &dom, &why) != QD_OK)
		fail_msg("domain_init: %s", why.text);
	snprintf(path, sizeof(path), "%s/src", dir);
	mkdir(path, 0755);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &dac), QD_OK);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &cgp), QD_OK);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &stranger), QD_OK);
	assert_int_equal(domain_desk_add(&dom, "DAC-T1-07", dac.pub, dac.pub_len, NOW - 3600, &why),
	                 QD_OK);
	assert_int_equal(domain_desk_add(&dom, "CGP-T1-01", cgp.pub, cgp.pub_len, NOW - 3600, &why),
	                 QD_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

/* The format itself: a batch reads back as written; its bytes are bound by the signature. */
static void test_batch_round_trip(void **state)
{
	(void)state;
	struct chain c = {.desk = "DAC-T1-07", .kp = &dac};
	size_t len = 0;
	uint8_t *buf = make_batch(&c, 3, "2611012345", &len);
	struct auditbatch b;
	struct qd_errmsg why = {{0}};
	assert_int_equal(auditbatch_parse(buf, len, &b, &why), QD_OK);
	assert_string_equal(b.desk, "DAC-T1-07");
	assert_int_equal(b.sequence, 1);
	assert_int_equal(b.n_rows, 3);
	assert_int_equal(auditbatch_verify(&b, dac.pub, dac.pub_len), QD_OK);
	assert_int_equal(auditbatch_verify(&b, cgp.pub, cgp.pub_len), QD_ERR_SIGNATURE);
	size_t at = 0, n = 0;
	struct auditbatch_row row;
	while (auditbatch_row_next(&b, &at, &row)) {
		n++;
		assert_int_equal(row.id, (int64_t)n);
		assert_int_equal(row.latency_us, 1500);
		assert_non_null(row.clearance_hash);
		if (n == 2) /* the escape written as '?' */
			assert_memory_equal(row.reason, "REVOKED?[31m", row.reason_len);
	}
	assert_int_equal(n, 3);
	/* Any byte changed: it no longer parses or no longer verifies. */
	for (size_t i = 0; i < len; i += 7) {
		buf[i] ^= 0x01;
		struct auditbatch bad;
		assert_false(auditbatch_parse(buf, len, &bad, &why) == QD_OK &&
		             auditbatch_verify(&bad, dac.pub, dac.pub_len) == QD_OK);
		buf[i] ^= 0x01;
	}
	/* Every cut is refused. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(auditbatch_parse(buf, cut, &b, &why), QD_OK);
	free(buf);
}

static void test_ingest_all_and_again(void **state)
{
	(void)state;
	struct chain a = {.desk = "DAC-T1-07", .kp = &dac},
	             c = {.desk = "CGP-T1-01", .kp = &cgp, .row_id = 100}; /* scanned later */
	put_next(&a, 2, "2611000001");
	put_next(&a, 3, "2611000002");
	put_next(&c, 1, "2611000001");
	struct ingest_result r = ingest();
	assert_int_equal(r.problems, 0);
	assert_int_equal(r.batches, 3);
	assert_int_equal(r.rows, 6);
	assert_string_equal(report, "");
	r = ingest(); /* idempotent */
	assert_int_equal(r.batches, 0);
	assert_int_equal(r.rows, 0);
	assert_int_equal(r.known, 3);
	uint64_t batches = 0, rows = 0;
	counts(&batches, &rows);
	assert_int_equal(batches, 3);
	assert_int_equal(rows, 6);
	struct seen s = scans_of("2611000001");
	assert_int_equal(s.n, 3); /* two at DAC (valid, invalid), then one at CGP */
	assert_string_equal(s.desks[0], "DAC-T1-07");
	assert_string_equal(s.verdicts[0], "valid");
	assert_string_equal(s.desks[2], "CGP-T1-01");
	assert_int_equal(scans_of("2699999999").n, 0);
	/* The next batch of a chain loads on a later run. */
	put_next(&a, 1, "2611000003");
	r = ingest();
	assert_int_equal(r.batches, 1);
	assert_int_equal(r.known, 3);
}

static void test_ingest_refusals(void **state)
{
	(void)state;
	struct chain a = {.desk = "DAC-T1-07", .kp = &dac};
	put_next(&a, 1, "2611000001"); /* 1: good */
	struct chain skip = a;
	size_t unused = 0;
	free(make_batch(&skip, 1, "x", &unused)); /* 2 made but never stored: a gap */
	struct chain after = skip;
	put_next(&after, 1, "2611000004"); /* 3: follows the missing 2 */

	/* A stranger's key in a registered desk's name; an unregistered desk. */
	struct chain forged = {.desk = "CGP-T1-01", .kp = &stranger};
	put_next(&forged, 1, "2611000005");
	struct chain unknown = {.desk = "ZYL-T1-01", .kp = &stranger};
	put_next(&unknown, 1, "2611000006");
	/* Garbage under a desk's name, and a batch in another batch's place. */
	char dir2[4096];
	snprintf(dir2, sizeof(dir2), "%s/src/SYL-1", dir);
	mkdir(dir2, 0755);
	put("SYL-1", 1, (const uint8_t *)"not cbor", 8);
	struct chain moved = {.desk = "DAC-T1-07", .kp = &dac};
	size_t len = 0;
	uint8_t *b = make_batch(&moved, 1, "2611000007", &len);
	put("CGP-T1-01", 2, b, len);
	free(b);

	struct ingest_result r = ingest();
	assert_int_equal(r.batches, 1);
	assert_int_equal(r.rows, 1);
	assert_int_equal(r.problems, 5);
	static const char *const lines[] = {
	        "desk DAC-T1-07 batch 3: gap: batch 2 is missing\n",
	        "desk CGP-T1-01 batch 1: bad signature",
	        "desk ZYL-T1-01 batch 1: unknown desk",
	        "desk SYL-1 batch 1: does not parse",
	        "desk CGP-T1-01 batch 2: names desk DAC-T1-07 batch 1 inside",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (strstr(report, lines[i]) == NULL)
			fail_msg("report lacks \"%s\":\n%s", lines[i], report);
	assert_int_equal(scans_of("2611000005").n, 0); /* nothing of a refused batch */
	assert_int_equal(scans_of("2611000004").n, 0);

	/* A rewritten batch 1 (other rows, the same number): a fork, reported, never loaded. */
	struct chain rewrite = {.desk = "DAC-T1-07", .kp = &dac};
	put_next(&rewrite, 2, "2611000008");
	r = ingest();
	assert_non_null(strstr(report, "desk DAC-T1-07 batch 1: fork"));
	assert_int_equal(r.batches, 0);
	assert_int_equal(scans_of("2611000008").n, 0);
	assert_int_equal(scans_of("2611000001").n, 1); /* the first one stays */
}

/* A retired desk's batches made before its retirement load; later ones do not. */
static void test_ingest_retired(void **state)
{
	(void)state;
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_desk_retire(&dom, "CGP-T1-01", NOW + 1, &why), QD_OK);
	struct chain c = {.desk = "CGP-T1-01", .kp = &cgp};
	put_next(&c, 1, "2611000001"); /* made at NOW + 1 */
	put_next(&c, 1, "2611000002"); /* made at NOW + 2 */
	struct ingest_result r = ingest();
	assert_int_equal(r.batches, 1);
	assert_non_null(strstr(report, "desk CGP-T1-01 batch 2: retired desk"));
}

struct greens {
	size_t n;
	uint8_t pseudonym[4][TRUST_HASH_LEN];
	int64_t time_us[4];
	char desk[4][DESK_ID_MAX + 1];
};
static enum qd_err collect_green(void *ctx, const uint8_t *pseudonym, int64_t time_us,
                                 const char *desk)
{
	struct greens *g = ctx;
	if (g->n < 4) {
		memcpy(g->pseudonym[g->n], pseudonym, TRUST_HASH_LEN);
		g->time_us[g->n] = time_us;
		snprintf(g->desk[g->n], sizeof(g->desk[0]), "%s", desk);
	}
	g->n++;
	return QD_OK;
}

static struct greens first_greens(int64_t now)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fleet.db", dir);
	struct fleetdb *db = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(fleetdb_open(path, &db, &why), QD_OK);
	struct greens g = {0};
	assert_int_equal(fleetdb_first_greens(db, now, collect_green, &g, &why), QD_OK);
	fleetdb_close(db);
	return g;
}

/*
 * What the fleet's used list is made of: each card's first green, the earliest desk and time
 * however many desks saw it later, in ascending pseudonym order; the refused rows are not
 * greens; once the cards have expired, none.
 */
static void test_first_greens(void **state)
{
	(void)state;
	struct chain a = {.desk = "DAC-T1-07", .kp = &dac},
	             c = {.desk = "CGP-T1-01", .kp = &cgp, .row_id = 100}; /* scanned later */
	put_next(&a, 2, "2611000001");
	put_next(&c, 1, "2611000001");
	put_next(&c, 1, "2611000002");
	assert_int_equal(ingest().problems, 0);
	struct greens g = first_greens(NOW);
	assert_int_equal(g.n, 2);
	uint8_t one[TRUST_HASH_LEN], two[TRUST_HASH_LEN];
	credential_pseudonym(audit_key, "2611000001", one);
	credential_pseudonym(audit_key, "2611000002", two);
	assert_true(memcmp(g.pseudonym[0], g.pseudonym[1], TRUST_HASH_LEN) < 0);
	size_t i1 = memcmp(g.pseudonym[0], one, TRUST_HASH_LEN) == 0 ? 0 : 1;
	assert_memory_equal(g.pseudonym[i1], one, TRUST_HASH_LEN);
	assert_memory_equal(g.pseudonym[1 - i1], two, TRUST_HASH_LEN);
	assert_string_equal(g.desk[i1], "DAC-T1-07");
	assert_int_equal(g.time_us[i1], (NOW + 1) * 1000000LL);
	assert_string_equal(g.desk[1 - i1], "CGP-T1-01");
	assert_int_equal(g.time_us[1 - i1], (NOW + 102) * 1000000LL);
	/* The cards expire 90 days on: then their markers have served. */
	assert_int_equal(first_greens(NOW + 91 * 86400).n, 0);
}

int main(void)
{
	if (signature_init() != QD_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_batch_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ingest_all_and_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ingest_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ingest_retired, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_first_greens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
