/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_seal.h - the desk's one chain of signed audit batches (auditbatch.h),
 * shared by its two ways out: the upload (upload.h) and the USB export
 * (usb_update.h).
 *
 * The store keeps one open batch and the chain's last link (store.h).  The
 * open batch is sealed once - its number is the chain's next, its signed
 * bytes are kept with it - so whichever way it leaves, and however often it
 * is tried, it is the same bytes under the same name, DESK/SEQUENCE.cose.
 * store_upload_batch_done closes it and makes it the chain's last link;
 * only then is the next batch opened and numbered.  A seal raced by the
 * other way out (the batch sealed or closed meanwhile) never signs a second
 * batch under one number: the store takes a seal only for the chain's next
 * number on a batch not sealed yet.
 */
#ifndef QRDESK_AUDIT_SEAL_H
#define QRDESK_AUDIT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"

/*
 * The signed bytes of the open batch (malloc'd) and its number: sealed now from its rows and
 * the chain (created at now_s), or as sealed before.  QD_ERR_EXISTS: the batch was closed
 * while it was sealed (the other way out took it); open the next one.
 */
enum qd_err upload_batch_seal(struct store *store, const struct store_upload_batch *batch,
                              const char *desk, const struct signature_keypair *kp, int64_t now_s,
                              uint64_t *seq, uint8_t **bytes, size_t *len, struct qd_errmsg *why);

/* One sealed batch ready to leave: the store's batch, its number and signed bytes. */
struct audit_sealed {
	struct store_upload_batch batch;
	uint64_t seq;
	uint8_t *bytes; /* malloc'd */
	size_t len;
};

/*
 * The open batch, or a new one over the oldest max_rows rows not yet delivered (at most
 * AUDITBATCH_ROWS_MAX), sealed (now_us: its time); *found false when no row waits.  The
 * caller frees out->bytes and, once the batch is delivered, calls store_upload_batch_done.
 */
enum qd_err audit_seal_next(struct store *store, size_t max_rows, const char *desk,
                            const struct signature_keypair *kp, int64_t now_us,
                            struct audit_sealed *out, bool *found, struct qd_errmsg *why);

#endif
