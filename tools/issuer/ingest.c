/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ingest.c - the desks' signed audit batches into the fleet database (see ingest.h).
 */
#include "ingest.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/auditbatch.h"
#include "qrdesk/desklist.h"
#include "qrdesk/fleetdb.h"
#include "toolutil.h"

#define SEQS_MAX 1000000 /* batch files of one desk read in one run */

struct run {
	const struct desk_list *desks;
	struct fleetdb *db;
	int64_t now;
	FILE *report;
	struct ingest_result *res;
};

__attribute__((format(printf, 4, 5))) static void problem(struct run *r, const char *desk,
                                                          uint64_t seq, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(r->report, "desk %s batch %llu: %s\n", desk, (unsigned long long)seq, msg);
	r->res->problems++;
}

/* "<digits>.cose" with no leading zero: its number, else 0. */
static uint64_t seq_of(const char *name)
{
	size_t n = strlen(name);
	if (n < 6 || n > 24 || strcmp(name + n - 5, ".cose") != 0 || name[0] == '0')
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n - 5; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	return v <= INT64_MAX ? v : 0;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static const uint8_t zeros[AUDITBATCH_HASH_LEN];

/* The hashes loaded before for this batch and (after the first) the one before it. */
static enum qd_err loaded_hashes(struct run *r, const char *desk, uint64_t seq, bool *found,
                                 uint8_t have[AUDITBATCH_HASH_LEN], bool *found_prev,
                                 uint8_t have_prev[AUDITBATCH_HASH_LEN], struct qd_errmsg *why)
{
	enum qd_err rc = fleetdb_batch_hash(r->db, desk, seq, found, have, why);
	if (rc == QD_OK && seq > 1)
		rc = fleetdb_batch_hash(r->db, desk, seq - 1, found_prev, have_prev, why);
	return rc;
}

/* One batch file: checked, then loaded.  A refusal is reported, never returned. */
static enum qd_err one_batch(struct run *r, const char *desk, uint64_t seq, const char *path,
                             struct qd_errmsg *why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct qd_errmsg bad = {{0}};
	enum qd_err rc = tool_read_file(path, AUDITBATCH_MAX, &buf, &len, &bad);
	struct auditbatch b;
	if (rc != QD_OK) {
		problem(r, desk, seq, "%s", bad.text);
		return QD_OK;
	}
	const struct desk_entry *e = desklist_find(r->desks, desk);
	bool found = false, found_prev = false;
	uint8_t have[AUDITBATCH_HASH_LEN], have_prev[AUDITBATCH_HASH_LEN];
	if (auditbatch_parse(buf, len, &b, &bad) != QD_OK) {
		problem(r, desk, seq, "does not parse: %s", bad.text);
	} else if (strcmp(b.desk, desk) != 0 || b.sequence != seq) {
		problem(r, desk, seq, "names desk %s batch %llu inside: not its place", b.desk,
		        (unsigned long long)b.sequence);
	} else if (e == NULL) {
		problem(r, desk, seq, "unknown desk (not in the desk list)");
	} else if (auditbatch_verify(&b, e->public_key, sizeof(e->public_key)) != QD_OK) {
		problem(r, desk, seq, "bad signature (not by the desk's key)");
	} else if (e->retired_at != 0 && b.created_at > e->retired_at) {
		problem(r, desk, seq, "retired desk: made after its retirement");
	} else if ((rc = loaded_hashes(r, desk, seq, &found, have, &found_prev, have_prev, why)) !=
	           QD_OK) {
		free(buf);
		return rc;
	} else if (found && memcmp(have, b.hash, sizeof(have)) == 0) {
		r->res->known++;
	} else if (found) {
		problem(r, desk, seq, "fork: differs from the batch %llu loaded before",
		        (unsigned long long)seq);
	} else if (seq == 1 && memcmp(b.previous, zeros, sizeof(zeros)) != 0) {
		problem(r, desk, seq, "broken chain: the first batch names a previous one");
	} else if (seq > 1 && !found_prev) {
		problem(r, desk, seq, "gap: batch %llu is missing", (unsigned long long)(seq - 1));
	} else if (seq > 1 && memcmp(have_prev, b.previous, sizeof(have_prev)) != 0) {
		problem(r, desk, seq, "fork: does not follow the batch %llu loaded",
		        (unsigned long long)(seq - 1));
	} else if ((rc = fleetdb_load(r->db, &b, path, r->now, &bad)) != QD_OK) {
		if (rc != QD_ERR_EXISTS) {
			*why = bad;
			free(buf);
			return rc;
		}
		problem(r, desk, seq, "%s", bad.text); /* a row id it repeats */
	} else {
		r->res->batches++;
		r->res->rows += b.n_rows;
	}
	free(buf);
	return QD_OK;
}

/* Every batch file in SRC/desk, in sequence order. */
static enum qd_err one_desk(struct run *r, const char *src, const char *desk, struct qd_errmsg *why)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", src, desk);
	DIR *dp = opendir(dir);
	if (dp == NULL) {
		problem(r, desk, 0, "cannot read the folder");
		return QD_OK;
	}
	size_t n = 0, cap = 64;
	uint64_t *seqs = malloc(cap * sizeof(*seqs));
	if (seqs == NULL) {
		closedir(dp);
		return QD_ERR_NOMEM;
	}
	struct dirent *de;
	while ((de = readdir(dp)) != NULL && n < SEQS_MAX) {
		uint64_t s = seq_of(de->d_name);
		if (s == 0)
			continue; /* not a batch: a temporary file of the server, a note */
		if (n == cap) {
			uint64_t *more = realloc(seqs, 2 * cap * sizeof(*seqs));
			if (more == NULL)
				break;
			seqs = more, cap *= 2;
		}
		seqs[n++] = s;
	}
	closedir(dp);
	qsort(seqs, n, sizeof(*seqs), by_value);
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < n && rc == QD_OK; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%llu.cose", dir, (unsigned long long)seqs[i]);
		rc = one_batch(r, desk, seqs[i], path, why);
	}
	free(seqs);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum qd_err ingest_run(const struct domain *d, const char *src, const char *db_path, int64_t now,
                       FILE *report, struct ingest_result *result, struct qd_errmsg *why)
{
	memset(result, 0, sizeof(*result));
	struct desk_list *desks = malloc(sizeof(*desks));
	if (desks == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = domain_desks_load(d, desks, why);
	DIR *dp = NULL;
	if (rc == QD_OK && (dp = opendir(src)) == NULL) {
		qd_errmsg_set(why, "%s: cannot read the folder", src);
		rc = QD_ERR_NOT_FOUND;
	}
	/* The desk folders, in name order (a stable report). */
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while (rc == QD_OK && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof(*names));
			if (more == NULL) {
				rc = QD_ERR_NOMEM;
				break;
			}
			names = more;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			rc = QD_ERR_NOMEM;
		else
			n++;
	}
	if (dp != NULL)
		closedir(dp);
	struct fleetdb *db = NULL;
	if (rc == QD_OK)
		rc = fleetdb_open(db_path, &db, why);
	struct run r = {.desks = desks, .db = db, .now = now, .report = report, .res = result};
	if (rc == QD_OK && n > 0) /* an empty folder: names may be NULL, which qsort may not take */
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; rc == QD_OK && i < n; i++) {
		if (!desk_id_valid(names[i], strlen(names[i]))) {
			fprintf(report, "%s/%s: not a desk's folder; passed over\n", src, names[i]);
			result->problems++;
			continue;
		}
		rc = one_desk(&r, src, names[i], why);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	fleetdb_close(db);
	free(desks);
	return rc;
}
