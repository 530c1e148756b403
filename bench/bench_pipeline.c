/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdesk-bench-pipeline - latency from a decoded code text to the
 * indicators being set, through the daemon's real pipeline: de-dup,
 * check_code with the store-backed trust view, "already used" lookup,
 * the pattern player on a simulated backend.  p50/p99 over N distinct
 * valid cards (each also written to the audit log, after the indicators).
 *
 * usage: qrdesk-bench-pipeline [--scans N] [--dir DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qrdesk/base45.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/indicator.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/signature.h"

#define DAY 86400LL

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int die(const char *what)
{
	fprintf(stderr, "qrdesk-bench-pipeline: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	size_t scans = 10000;
	const char *dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scans") == 0 && i + 1 < argc)
			scans = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			return die("usage: qrdesk-bench-pipeline [--scans N] [--dir DIR]");
	}
	if (scans < 100)
		scans = 100;
	/* Verdict lines are info: printing 10,000 of them would measure the terminal. */
	log_init("qrdesk-bench-pipeline", LOG_STYLE_PLAIN, LOG_WARNING);
	if (signature_init() != QD_OK)
		return die("signature_init");
	int64_t now = loop_wall_us() / 1000000;

	struct signature_keypair kp;
	signature_keypair_generate(SIGNATURE_ALG_EDDSA, &kp);
	struct trust_key key = {.alg = SIGNATURE_ALG_EDDSA,
	                        .role = KEY_ROLE_ISSUER,
	                        .status = KEY_STATUS_ACTIVE,
	                        .public_len = (uint8_t)kp.pub_len,
	                        .kid_len = TRUST_KID_DEFAULT_LEN,
	                        .not_before = now - DAY,
	                        .not_after = now + 400 * DAY};
	memcpy(key.public_key, kp.pub, kp.pub_len);
	trust_kid_derive(kp.pub, kp.pub_len, key.kid);

	char path[4096];
	snprintf(path, sizeof(path), "%s/qrdesk-bench-pipeline.db", dir);
	unlink(path);
	struct store *store;
	if (store_open(path, STORE_OPEN_CREATE, &store, NULL) != QD_OK)
		return die("store_open");
	bool unchanged;
	struct store_doc_meta meta = {TRUST_DOC_KEYSET, 1, now - 60, now + 300 * DAY, {0}};
	store_apply_keyset(store, &meta, &key, 1, &unchanged, NULL);
	meta = (struct store_doc_meta){TRUST_DOC_REVOCATIONS, 1, now - 60, now + 6 * DAY, {0}};
	uint8_t none[TRUST_HASH_LEN] = {0};
	store_apply_revocations(store, &meta, none, 1, &unchanged, NULL);

	/* Distinct cards, made before timing starts. */
	char(*codes)[512] = malloc(scans * sizeof(*codes));
	if (codes == NULL)
		return die("out of memory");
	for (size_t i = 0; i < scans; i++) {
		char no[24];
		snprintf(no, sizeof(no), "26%08zu", i);
		struct credential cred;
		credential_example(&cred, no, now - 3600, now + 90 * DAY);
		uint8_t payload[512], cose[1024];
		size_t plen, clen, tlen;
		credential_encode(&cred, payload, sizeof(payload), &plen, NULL);
		cose_sign1_sign(&kp, key.kid, key.kid_len, payload, plen, cose, sizeof(cose),
		                &clen);
		memcpy(codes[i], CREDENTIAL_PREFIX, 4);
		base45_encode(cose, clen, codes[i] + 4, sizeof(codes[i]) - 4, &tlen);
		codes[i][4 + tlen] = '\0';
	}

	struct loop *loop;
	struct indicator_backend sim;
	struct indicator_player *player;
	struct pattern_timing timing;
	pattern_timing_defaults(&timing);
	if (loop_create(&loop) != QD_OK || indicator_sim_open(NULL, &sim, NULL) != QD_OK ||
	    indicator_player_create(loop, &sim, &timing, &player) != QD_OK)
		return die("indicators");
	struct pipeline_config cfg = {
	        .desk_id = "BENCH", .holdoff_ms = 3000, .already_used_check = true};
	struct pipeline *p;
	if (pipeline_create(&cfg, store, player, &p, NULL) != QD_OK)
		return die("pipeline");

	int64_t *lat = malloc(scans * sizeof(int64_t));
	int64_t t_start = loop_now_us();
	for (size_t i = 0; i < scans; i++) {
		const struct pipeline_event *ev =
		        pipeline_submit(p, "bench", codes[i], strlen(codes[i]), loop_now_us());
		if (ev == NULL || ev->verdict.kind != VERDICT_VALID)
			return die("a benchmark card was not valid");
		lat[i] = ev->latency_us;
	}
	double total_s = (double)(loop_now_us() - t_start) / 1e6;
	qsort(lat, scans, sizeof(int64_t), cmp_i64);
	printf("qrdesk-bench-pipeline: %zu distinct valid cards through the daemon pipeline\n",
	       scans);
	printf("  text -> indicators set   p50 %6lld us   p99 %6lld us   max %6lld us   (target "
	       "p99 <= 1000 us)\n",
	       (long long)lat[scans / 2], (long long)lat[(size_t)((double)scans * 0.99)],
	       (long long)lat[scans - 1]);
	printf("  whole submit incl. audit row: %.0f scans/s (%.1f us each)\n",
	       (double)scans / total_s, total_s * 1e6 / (double)scans);

	pipeline_destroy(p);
	indicator_player_destroy(player);
	indicator_close(&sim);
	loop_destroy(loop);
	store_close(store);
	unlink(path);
	free(lat);
	free(codes);
	return 0;
}
