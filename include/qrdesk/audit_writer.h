/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_writer.h - the verdicts' audit rows, written off the loop's turn.
 *
 * A row is committed with a device flush (its own file, synchronous=FULL:
 * store.h, "audit").  Alone that takes a millisecond or two; beside a sync
 * apply of a million revocations the flush is shared with the apply's and can
 * take ten or more, and the next code must not wait for it.  So the loop hands
 * each row to one thread with its own connection to the audit file: a copy,
 * numbered in order (its ticket); the thread commits whatever waits in one
 * transaction and tells the loop how far the rows are durable.
 *
 * What a verdict promises stays true, on the loop's side: its pattern ends and
 * a control-socket scan is answered only once its row is durable (pipeline.h,
 * control.h).  At most AUDIT_WRITER_QUEUE rows wait; with the queue full the
 * loop waits for room, so a disk that stalls shows as slower verdicts, never
 * as rows held in memory past a power cut's reach.
 */
#ifndef QRDESK_AUDIT_WRITER_H
#define QRDESK_AUDIT_WRITER_H

#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"
#include "qrdesk/store.h"

#define AUDIT_WRITER_QUEUE       64
#define AUDIT_WRITER_OUTCOME_MAX 80 /* a document's outcome text, as pipeline.c writes it */

struct audit_writer;

/*
 * On the loop thread: every row up to ticket through is done (durable, or
 * refused by the store); failed of them, since the last call, were refused
 * (the writer logged each batch once).
 */
typedef void (*audit_writer_done)(void *arg, uint64_t through, uint64_t failed);

/* Open the audit file beside the store at store_path and start the thread "qrdesk-audit". */
enum qd_err audit_writer_start(struct loop *loop, const char *store_path, audit_writer_done done,
                               void *arg, struct audit_writer **out, struct qd_errmsg *why);

/*
 * Loop thread: queue a copy of rec (nothing of it is kept) and give its ticket
 * (1, 2, ...).  QD_ERR_ARG, nothing queued, for a record whose texts do not fit
 * a copy (longer than the pipeline ever makes them).
 */
enum qd_err audit_writer_submit(struct audit_writer *w, const struct audit_record *rec,
                                uint64_t *ticket);

/* Loop thread: write what waits, stop the thread, and call done a last time. */
void audit_writer_stop(struct audit_writer *w);

#endif
