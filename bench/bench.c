/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdesk-bench - prints the foundation's figures in one run:
 *   1. check latency (p50/p99) of a valid card through check_code() with a
 *      store-backed trust view, next to a bare libsodium verify of the same
 *      bytes: the overhead ratio of everything that is not the signature;
 *   2. revocation lookup latency in the SQLite store with 1 and 10 million
 *      entries (half the probes present, half absent), each probe alone and
 *      in bursts inside one held read transaction (store_read_hold).
 * The store also holds --ranges revoked issuance windows (10,000 by default),
 * 100 of them of the card's own key (none covering its iat), so every check
 * pays the window lookup it pays on a desk.
 * No figure is asserted here; docs/performance.md records them.
 *
 * usage: qrdesk-bench [--scans N] [--sizes N,N,...] [--dir DIR] [--ranges N]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "qrdesk/base45.h"
#include "qrdesk/check.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"

#define NOW 1795000000LL
#define DAY 86400LL

static int die(const char *what, const struct qd_errmsg *why)
{
	fprintf(stderr, "qrdesk-bench: %s: %s\n", what, why ? why->text : "");
	return 1;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TRUST_HASH_LEN);
}

/* Probes per held read transaction in the burst run. */
#define BURST 64

/*
 * probes lookups into lat, alternating a present hash (of the n in hashes) and an absent
 * one; with burst > 1, each run of burst probes inside one store_read_hold, its hold and
 * release counted in the first and last probe's time.  Nonzero if a lookup answered wrongly.
 */
static int lookups(struct store *store, const uint8_t *hashes, size_t n, size_t probes,
                   size_t burst, double *lat)
{
	uint8_t absent[TRUST_HASH_LEN];
	for (size_t i = 0; i < probes; i++) {
		const uint8_t *h =
		        hashes + (randombytes_uniform((uint32_t)n) * (size_t)TRUST_HASH_LEN);
		if (i % 2) {
			randombytes_buf(absent, sizeof(absent));
			h = absent;
		}
		bool revoked;
		double t0 = bench_now_us();
		if (burst > 1 && i % burst == 0)
			store_read_hold(store);
		store_revocation_contains(store, h, &revoked);
		if (burst > 1 && (i % burst == burst - 1 || i == probes - 1))
			store_read_release(store);
		lat[i] = bench_now_us() - t0;
		if ((i % 2 == 0) != revoked)
			return 1;
	}
	return 0;
}

/* n_ranges windows: 100 of key's before its card's iat, the rest of random kids. */
static struct trust_range *make_ranges(const struct trust_key *key, size_t n_ranges)
{
	struct trust_range *r = calloc(n_ranges + 1, sizeof(*r));
	for (size_t i = 0; r != NULL && i < n_ranges; i++) {
		if (i < 100) {
			memcpy(r[i].kid, key->kid, key->kid_len);
			r[i].kid_len = key->kid_len;
			r[i].from = NOW - 2 * DAY + (int64_t)i * 600;
		} else {
			randombytes_buf(r[i].kid, TRUST_KID_DEFAULT_LEN);
			r[i].kid_len = TRUST_KID_DEFAULT_LEN;
			r[i].from = NOW - 1000 * DAY + (int64_t)i * 60;
		}
		r[i].to = r[i].from + 300;
	}
	return r;
}

/* A store at path with the key set {key}, n random revocations (sorted) and n_ranges windows. */
static int make_store(const char *path, const struct trust_key *key, size_t n, size_t n_ranges,
                      uint8_t **hashes_out, struct store **out, double *apply_s)
{
	struct qd_errmsg why = {{0}};
	unlink(path);
	if (store_open(path, STORE_OPEN_CREATE, out, &why) != QD_OK)
		return die("store_open", &why);
	struct store_doc_meta meta = {TRUST_DOC_KEYSET, 1, NOW - DAY, NOW + 300 * DAY, {0}};
	bool unchanged;
	if (store_apply_keyset(*out, &meta, key, 1, &unchanged, &why) != QD_OK)
		return die("apply keyset", &why);
	uint8_t *hashes = malloc(n * TRUST_HASH_LEN + 1);
	if (hashes == NULL)
		return die("out of memory", NULL);
	randombytes_buf(hashes, n * TRUST_HASH_LEN);
	qsort(hashes, n, TRUST_HASH_LEN, hash_cmp);
	meta = (struct store_doc_meta){TRUST_DOC_REVOCATIONS, 1, NOW - 3600, NOW + 6 * DAY, {0}};
	double t0 = bench_now_us();
	struct trust_range *ranges = make_ranges(key, n_ranges);
	if (ranges == NULL)
		return die("out of memory", NULL);
	if (store_apply_revocations_ranges(*out, &meta, hashes, n, ranges, n_ranges, &unchanged,
	                                   &why) != QD_OK)
		return die("apply revocations", &why);
	free(ranges);
	*apply_s = (bench_now_us() - t0) / 1e6;
	*hashes_out = hashes;
	return 0;
}

int main(int argc, char **argv)
{
	size_t scans = 10000;
	size_t sizes[8] = {1000000, 10000000};
	size_t n_sizes = 2, n_ranges = 10000;
	const char *dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scans") == 0 && i + 1 < argc) {
			scans = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
			n_sizes = 0;
			for (char *tok = strtok(argv[++i], ","); tok && n_sizes < 8;
			     tok = strtok(NULL, ","))
				sizes[n_sizes++] = strtoul(tok, NULL, 10);
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--ranges") == 0 && i + 1 < argc) {
			n_ranges = strtoul(argv[++i], NULL, 10);
			if (n_ranges < 100)
				n_ranges = 100;
		} else {
			fprintf(stderr, "usage: qrdesk-bench [--scans N] [--sizes N,N] [--dir DIR] "
			                "[--ranges N]\n");
			return 64;
		}
	}
	if (scans < 100)
		scans = 100;
	if (signature_init() != QD_OK)
		return die("signature_init", NULL);

	/* One issuer key and one valid card. */
	struct signature_keypair kp;
	signature_keypair_generate(SIGNATURE_ALG_EDDSA, &kp);
	struct trust_key key = {.alg = SIGNATURE_ALG_EDDSA,
	                        .role = KEY_ROLE_ISSUER,
	                        .status = KEY_STATUS_ACTIVE,
	                        .public_len = (uint8_t)kp.pub_len,
	                        .kid_len = TRUST_KID_DEFAULT_LEN,
	                        .not_before = NOW - 400 * DAY,
	                        .not_after = NOW + 400 * DAY};
	memcpy(key.public_key, kp.pub, kp.pub_len);
	trust_kid_derive(kp.pub, kp.pub_len, key.kid);
	struct credential cred;
	credential_example(&cred, "2611012345", NOW - 3600, NOW + 90 * DAY);
	uint8_t payload[512], cose[1024];
	size_t payload_len, cose_len, text_len;
	credential_encode(&cred, payload, sizeof(payload), &payload_len, NULL);
	cose_sign1_sign(&kp, key.kid, key.kid_len, payload, payload_len, cose, sizeof(cose),
	                &cose_len);
	char text[1024] = CREDENTIAL_PREFIX;
	base45_encode(cose, cose_len, text + 4, sizeof(text) - 4, &text_len);
	text_len += 4;
	struct cose_sign1 msg;
	cose_sign1_parse(cose, cose_len, &msg, NULL);
	uint8_t tbs[1024];
	size_t tbs_len;
	cose_sign1_tbs(&msg, NULL, 0, tbs, sizeof(tbs), &tbs_len);

	printf("qrdesk-bench: %zu scans, card %zu characters (%zu bytes COSE)\n", scans, text_len,
	       cose_len);
	double *lat = malloc(scans * sizeof(double));
	double *lat2 = malloc(scans * sizeof(double));
	if (lat == NULL || lat2 == NULL)
		return die("out of memory", NULL);

	for (size_t s = 0; s < n_sizes; s++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/qrdesk-bench-%zu.db", dir, sizes[s]);
		struct store *store;
		uint8_t *hashes;
		double apply_s;
		if (make_store(path, &key, sizes[s], n_ranges, &hashes, &store, &apply_s) != 0)
			return 1;
		struct store_trust *trust = malloc(sizeof(*trust));
		if (trust == NULL || store_trust_load(store, trust) != QD_OK)
			return die("store_trust_load", NULL);

		/* Check vs bare verify, interleaved so both see the same machine state. */
		struct verdict v;
		for (size_t i = 0; i < scans; i++) {
			double t0 = bench_now_us();
			check_code(text, text_len, &trust->view, NOW, &v);
			double t1 = bench_now_us();
			int bad = crypto_sign_verify_detached(msg.signature, tbs, tbs_len, kp.pub);
			double t2 = bench_now_us();
			if (v.kind != VERDICT_VALID || bad)
				return die("the benchmark card did not verify", NULL);
			lat[i] = t1 - t0;
			lat2[i] = t2 - t1;
		}
		double c50, c99, b50, b99;
		bench_percentiles(lat, scans, &c50, &c99);
		bench_percentiles(lat2, scans, &b50, &b99);

		/*
		 * Lookups: alternate a present hash and a random (absent) one, first each in
		 * its own read transaction, then in bursts of BURST inside one held read
		 * transaction (the first probe of a burst pays its BEGIN, the last its end).
		 */
		size_t probes = scans * 10;
		double *lk = malloc(probes * sizeof(double));
		double *lkb = malloc(probes * sizeof(double));
		if (lk == NULL || lkb == NULL)
			return die("out of memory", NULL);
		if (lookups(store, hashes, sizes[s], probes, 1, lk) != 0 ||
		    lookups(store, hashes, sizes[s], probes, BURST, lkb) != 0)
			return die("lookup answered wrongly", NULL);
		double l50, l99, lb50, lb99;
		bench_percentiles(lk, probes, &l50, &l99);
		bench_percentiles(lkb, probes, &lb50, &lb99);
		printf("\nrevocation list: %zu entries, %zu revoked windows (applied in %.1f s)\n",
		       sizes[s], n_ranges, apply_s);
		printf("  check_code      p50 %7.1f us  p99 %7.1f us\n", c50, c99);
		printf("  bare verify     p50 %7.1f us  p99 %7.1f us\n", b50, b99);
		printf("  overhead ratio  p50 %7.3f x   p99 %7.3f x   (target <= 1.3)\n", c50 / b50,
		       c99 / b99);
		printf("  lookup alone    p50 %7.2f us  p99 %7.2f us\n", l50, l99);
		printf("  lookup, burst of %d in one read transaction: p50 %5.2f us  p99 %5.2f us  "
		       "(target <= 10 us)\n",
		       BURST, lb50, lb99);
		free(lkb);
		free(lk);
		free(trust);
		free(hashes);
		store_close(store);
		unlink(path);
		char side[4200];
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
	}
	free(lat);
	free(lat2);
	signature_keypair_wipe(&kp);
	return 0;
}
