/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ingest.h - the back office reads the desks' signed audit batches from a
 * folder (the upload storage's root, or a synced copy of a bucket):
 * SRC/<desk id>/<sequence>.cose.  Each batch is checked against the domain's
 * desk list (a known desk, retired no earlier than the batch was made, its
 * signature), its name (desk and sequence as in the payload) and its desk's
 * chain (sequence 1 starts at zeros; every other one names the hash of the
 * batch before it, which must be loaded); then it and all its rows are
 * loaded into the fleet database (fleetdb.h) in one transaction.  A batch
 * loaded before with the same bytes is passed over (a re-run adds nothing);
 * one that fails a check is reported on its own line naming desk and
 * sequence and left out, and the rest are loaded.
 */
#ifndef QRDESK_ISSUER_INGEST_H
#define QRDESK_ISSUER_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "domain.h"
#include "qrdesk/error.h"

struct ingest_result {
	size_t batches, rows; /* loaded now */
	size_t known;         /* loaded before, the same bytes: passed over */
	size_t problems;      /* batches refused, each reported */
};

/* Ingest SRC into the fleet database at db_path; problems are written to report, one line
 * each.  QD_OK even with problems (see result); an error only when the run itself failed. */
enum qd_err ingest_run(const struct domain *d, const char *src, const char *db_path, int64_t now,
                       FILE *report, struct ingest_result *result, struct qd_errmsg *why);

#endif
