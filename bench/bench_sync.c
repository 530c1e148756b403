/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdesk-bench-sync - figures for the sync's apply (docs/performance.md, "Sync"):
 *   1. apply time of a revocation snapshot of N entries (default 1,000,000)
 *      and of a delta of D changes (default 10,000: half added, half
 *      removed), each through import_file() as sync and `qrdeskctl import`
 *      apply them: verify, decode, one transaction;
 *   2. check latency (check_code on a valid card, store-backed trust view,
 *      its own connection) while idle, and while another thread applies the
 *      N-entry snapshot on its own connection;
 *   3. the fleet's used list: apply time of a snapshot of U cards (default
 *      N) and of a used-delta of D changes (half added, half
 *      removed), the file sizes, through import_file() likewise.
 * The documents are made by the issuer's own code (domain_publish).  No
 * figure is asserted.
 *
 * usage: qrdesk-bench-sync [--entries N] [--delta D] [--used U] [--dir DIR]
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "domain.h"
#include "qrdesk/check.h"
#include "qrdesk/credential.h"
#include "qrdesk/import.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/usedlist.h"
#include "toolutil.h"

#define NOW 1795000000LL
#define DAY 86400LL

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TRUST_HASH_LEN);
}

static void die(const char *what, const struct qd_errmsg *why)
{
	fprintf(stderr, "qrdesk-bench-sync: %s: %s\n", what, why ? why->text : "");
	exit(1);
}

/* Write the domain's revocation list (sorted, unique: duplicates from chance dropped). */
static size_t write_list(const struct domain *d, uint8_t *hashes, size_t n)
{
	qsort(hashes, n, TRUST_HASH_LEN, hash_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || memcmp(hashes + (m - 1) * TRUST_HASH_LEN, hashes + i * TRUST_HASH_LEN,
		                     TRUST_HASH_LEN) != 0)
			memmove(hashes + m++ * TRUST_HASH_LEN, hashes + i * TRUST_HASH_LEN,
			        TRUST_HASH_LEN);
	char path[4096];
	domain_path(d, "revocations.bin", path, sizeof(path));
	struct qd_errmsg why = {{0}};
	if (tool_write_file_atomic(path, hashes, m * TRUST_HASH_LEN, 0644, &why) != QD_OK)
		die("write revocations.bin", &why);
	return m;
}

static void publish(struct domain *d, const char *out, int64_t now)
{
	long days[DOMAIN_DOC_TYPES];
	domain_publish_days_defaults(days);
	struct domain_publication pub;
	struct qd_errmsg why = {{0}};
	if (domain_publish(d, out, days, now, &pub, &why) != QD_OK)
		die("publish", &why);
}

/* A desk: a store with the domain's root pinned and the key set of pub imported. */
static struct store *desk(const struct domain *d, const char *path, const char *pub)
{
	unlink(path);
	struct store *s;
	struct qd_errmsg why = {{0}};
	if (store_open(path, STORE_OPEN_CREATE, &s, &why) != QD_OK)
		die("store_open", &why);
	int root = domain_pick_key(d, KEY_ROLE_ROOT, 0, NOW);
	if (root < 0 || store_root_pin(s, &d->keys[root], &why) != QD_OK)
		die("pin", &why);
	char file[4096];
	snprintf(file, sizeof(file), "%s/keyset.cose", pub);
	struct import_result res;
	if (import_file(s, file, NOW, &res, &why) != QD_OK)
		die("import keyset", &why);
	return s;
}

static double timed_import(struct store *s, const char *file)
{
	struct import_result res;
	struct qd_errmsg why = {{0}};
	double t0 = bench_now_us();
	if (import_file(s, file, NOW + 600, &res, &why) != QD_OK)
		die("import", &why);
	return (bench_now_us() - t0) / 1e6;
}

/* ---- the fleet's used list: snapshot and delta --------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct used_entry *)a)->pseudonym,
	              ((const struct used_entry *)b)->pseudonym, TRUST_HASH_LEN);
}

/* DIR/used.cbor of list's n cards (sorted here; a repeat from chance is dropped). */
static void write_used(const struct domain *d, struct used_list *list)
{
	qsort(list->rows, list->n, sizeof(list->rows[0]), entry_cmp);
	size_t m = 0;
	for (size_t i = 0; i < list->n; i++)
		if (m == 0 || entry_cmp(&list->rows[m - 1], &list->rows[i]) != 0)
			list->rows[m++] = list->rows[i];
	list->n = m;
	size_t need = usedlist_encode(list, NULL, 0);
	uint8_t *body = malloc(need);
	if (body == NULL)
		die("out of memory", NULL);
	usedlist_encode(list, body, need);
	char path[4096];
	domain_path(d, "used.cbor", path, sizeof(path));
	struct qd_errmsg why = {{0}};
	if (tool_write_file_atomic(path, body, need, 0644, &why) != QD_OK)
		die("write used.cbor", &why);
	free(body);
}

static void random_cards(struct used_entry *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		randombytes_buf(rows[i].pseudonym, TRUST_HASH_LEN);
		rows[i].first_at = NOW - (int64_t)(i % 86400);
		snprintf(rows[i].desk, sizeof(rows[i].desk), "DAC-T1-%02zu", i % 40);
	}
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n = -1;
	if (f != NULL && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f != NULL)
		fclose(f);
	return n;
}

/* Section 3: a used list of u cards published, then d changes; both applied on a desk. */
static void bench_used(struct domain *d, const char *work, size_t u, size_t delta)
{
	char pub3[2100], pub4[2100], db[2100], file[2200];
	snprintf(pub3, sizeof(pub3), "%s/pub3", work);
	snprintf(pub4, sizeof(pub4), "%s/pub4", work);
	struct used_list list = {u, calloc(u + delta, sizeof(struct used_entry))};
	if (list.rows == NULL)
		die("out of memory", NULL);
	random_cards(list.rows, u);
	write_used(d, &list);
	size_t cards = list.n;
	publish(d, pub3, NOW + 120);
	/* D/2 cards expire out of the list, D/2 new ones pass. */
	size_t half = delta / 2;
	memmove(list.rows, list.rows + half, (list.n - half) * sizeof(list.rows[0]));
	list.n -= half;
	random_cards(list.rows + list.n, half);
	list.n += half;
	write_used(d, &list);
	size_t cards2 = list.n;
	publish(d, pub4, NOW + 180);
	free(list.rows);

	snprintf(db, sizeof(db), "%s/used.db", work);
	struct store *s = desk(d, db, pub3);
	snprintf(file, sizeof(file), "%s/used.cose", pub3);
	long snap_bytes = file_size(file);
	double snap_s = timed_import(s, file);
	snprintf(file, sizeof(file), "%s/used-delta.cose", pub4);
	long delta_bytes = file_size(file);
	double delta_s = timed_import(s, file);
	uint8_t *body = NULL;
	size_t len = 0;
	struct used_list got = {0};
	struct qd_errmsg why = {{0}};
	if (store_document_body(s, TRUST_DOC_USED, &body, &len) != QD_OK ||
	    usedlist_from_body(body, len, &got, &why) != QD_OK || got.n != cards2)
		die("the used delta did not give the new list", &why);
	usedlist_free(&got);
	free(body);
	store_close(s);
	printf("\nfleet used list (import_file: verify, decode, one transaction)\n");
	printf("  snapshot %9zu cards    %6.2f s  %9ld bytes\n", cards, snap_s, snap_bytes);
	printf("  delta    %9zu changes  %6.2f s  %9ld bytes\n", delta, delta_s, delta_bytes);
}

/* ---- the applier and the scanner, each on its own connection ------------- */

struct applier {
	const char *db;
	const char *file;
	double seconds;
	volatile int done;
};

static void *apply_thread(void *arg)
{
	struct applier *a = arg;
	struct store *s;
	struct qd_errmsg why = {{0}};
	if (store_open(a->db, STORE_OPEN_READWRITE, &s, &why) != QD_OK)
		die("applier store_open", &why);
	a->seconds = timed_import(s, a->file);
	store_close(s);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Scan until max scans or (if a is not NULL) until the applier is done; 1 ms apart. */
static size_t scan(struct store *s, const char *text, double *lat, size_t max, struct applier *a)
{
	static struct store_trust trust;
	if (store_trust_load(s, &trust) != QD_OK)
		die("store_trust_load", NULL);
	size_t n = 0;
	while (n < max && (a == NULL || !__atomic_load_n(&a->done, __ATOMIC_ACQUIRE))) {
		struct verdict v;
		double t0 = bench_now_us();
		check_code(text, strlen(text), &trust.view, NOW + 700, &v);
		lat[n++] = bench_now_us() - t0;
		usleep(1000); /* a busy desk scans a few codes a second, not a million */
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t entries = 1000000, delta = 10000, used = 0;
	const char *dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
			entries = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--delta") == 0 && i + 1 < argc)
			delta = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--used") == 0 && i + 1 < argc)
			used = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr,
			        "usage: qrdesk-bench-sync [--entries N] [--delta D] [--used U] "
			        "[--dir DIR]\n");
			return 64;
		}
	}
	if (used == 0)
		used = entries; /* the smoke test's small run stays small */
	if (entries < 2 * delta || used < 2 * delta || delta < 2)
		die("need entries and used >= 2 * delta >= 4", NULL);
	if (signature_init() != QD_OK)
		die("signature_init", NULL);

	char work[2048], dom[2100], pub1[2100], pub2[2100], db[2100], file[2200];
	if ((size_t)snprintf(work, sizeof(work), "%s/qrdesk-bench-sync-XXXXXX", dir) >=
	            sizeof(work) ||
	    mkdtemp(work) == NULL)
		die("mkdtemp", NULL);
	snprintf(dom, sizeof(dom), "%s/dom", work);
	snprintf(pub1, sizeof(pub1), "%s/pub1", work);
	snprintf(pub2, sizeof(pub2), "%s/pub2", work);
	static struct domain d;
	struct qd_errmsg why = {{0}};
	if (domain_init(dom, NOW - DAY, &d, &why) != QD_OK)
		die("domain_init", &why);

	/* Version 1: N random hashes.  Version 2: D/2 of them removed, D/2 new ones added. */
	uint8_t *hashes = malloc((entries + delta) * TRUST_HASH_LEN);
	if (hashes == NULL)
		die("out of memory", NULL);
	randombytes_buf(hashes, entries * TRUST_HASH_LEN);
	entries = write_list(&d, hashes, entries);
	publish(&d, pub1, NOW);
	size_t half = delta / 2, kept = entries - half;
	memmove(hashes, hashes + half * TRUST_HASH_LEN, kept * TRUST_HASH_LEN);
	randombytes_buf(hashes + kept * TRUST_HASH_LEN, half * TRUST_HASH_LEN);
	size_t v2 = write_list(&d, hashes, kept + half);
	publish(&d, pub2, NOW + 60);
	free(hashes);
	printf("qrdesk-bench-sync: snapshot %zu entries, delta to %zu entries (%zu removed, %zu "
	       "added)\n",
	       entries, v2, half, v2 - kept);

	/* 1. Apply times on an idle desk. */
	snprintf(db, sizeof(db), "%s/apply.db", work);
	struct store *s = desk(&d, db, pub1);
	snprintf(file, sizeof(file), "%s/revocations.cose", pub1);
	double snap_s = timed_import(s, file);
	snprintf(file, sizeof(file), "%s/revocations-delta.cose", pub2);
	double delta_s = timed_import(s, file);
	uint64_t count = 0;
	store_revocation_count(s, &count);
	store_close(s);
	if (count != v2)
		die("the delta did not give the new list", NULL);
	printf("\napply (import_file: verify, decode, one transaction)\n");
	printf("  snapshot %9zu entries  %6.2f s\n", entries, snap_s);
	printf("  delta    %9zu changes  %6.3f s\n", delta, delta_s);

	/* 2. Check latency idle, then while the snapshot is applied by another thread. */
	snprintf(db, sizeof(db), "%s/scan.db", work);
	store_close(desk(&d, db, pub1));
	struct credential cred;
	credential_example(&cred, "2611012345", NOW - 3600, NOW + 90 * DAY);
	int issuer = domain_pick_key(&d, KEY_ROLE_ISSUER, SIGNATURE_ALG_EDDSA, NOW);
	char text[1024];
	size_t cose_len;
	if (issuer < 0 || domain_sign_card(&d, (size_t)issuer, &cred, text, sizeof(text), &cose_len,
	                                   &why) != QD_OK)
		die("sign card", &why);
	struct store *reader;
	if (store_open(db, STORE_OPEN_READONLY, &reader, &why) != QD_OK)
		die("reader store_open", &why);
	size_t max = 200000;
	double *lat = malloc(max * sizeof(double));
	if (lat == NULL)
		die("out of memory", NULL);
	size_t n_idle = scan(reader, text, lat, 3000, NULL);
	double i50, i99;
	bench_percentiles(lat, n_idle, &i50, &i99);
	snprintf(file, sizeof(file), "%s/revocations.cose", pub1);
	struct applier a = {.db = db, .file = file};
	pthread_t th;
	if (pthread_create(&th, NULL, apply_thread, &a) != 0)
		die("pthread_create", NULL);
	size_t n_busy = scan(reader, text, lat, max, &a);
	pthread_join(th, NULL);
	double b50, b99;
	bench_percentiles(lat, n_busy, &b50, &b99);
	free(lat);
	store_close(reader);
	printf("\ncheck_code latency, own connection, 1 ms between scans\n");
	printf("  idle                   %6zu scans  p50 %7.1f us  p99 %7.1f us\n", n_idle, i50,
	       i99);
	printf("  during snapshot apply  %6zu scans  p50 %7.1f us  p99 %7.1f us  (apply %.2f s)\n",
	       n_busy, b50, b99, a.seconds);
	printf("  p99 during / idle: %.2f (target <= 2)\n", b99 / i99);

	/* 3. The fleet's used list. */
	bench_used(&d, work, used, delta);

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd) != 0)
		fprintf(stderr, "qrdesk-bench-sync: could not remove %s\n", work);
	return 0;
}
