/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verdict_event.h - one JSON shape for a verdict the desk made, for every
 * place it is shown: the control socket's scan reply, the kiosk's event
 * stream and the status's last_verdict.
 *
 * Every view has the same members: verdict_to_json()'s (verdict, reason,
 * message_en, message_bn, signature_ok, clock, trusted_time, and where known
 * detail, kid, alg, policy; the keyed "pseudonym" in place of clearance_hash),
 * the event's (seq, time_us,
 * time, desk, source, latency_us, first_use {time_us, desk} for
 * ALREADY_USED), and reason_en / reason_bn (the message's words under the
 * names the kiosk page reads).  A traveller transaction's verdict (binding.h)
 * adds "binding" {require, passport_matched, documents: [{document, required,
 * state (passed, failed, missing, not_required, unchecked), reason and field
 * when failed}]}: the checklist, in every view.  The views differ only in the holder's data:
 *   FULL    "claims", every claim (the control socket: root, the daemon's
 *           user or its group, on the desk itself; part_control.c masks the
 *           passport number unless the request says "full");
 *   PAGE    "card", only for a card a trusted key verified, passport masked
 *           unless a passport whose MRZ matched the card was scanned with it
 *           ("passport_checked": the number in full; the kiosk: see kiosk.h);
 *   STATUS  neither (the status is not the place for a name).
 */
#ifndef QRDESK_VERDICT_EVENT_H
#define QRDESK_VERDICT_EVENT_H

#include <jansson.h>

#include "qrdesk/pipeline.h"

enum verdict_json_view {
	VERDICT_JSON_FULL,
	VERDICT_JSON_PAGE,
	VERDICT_JSON_STATUS,
};

/* A new object (caller owns it), or NULL if out of memory. */
json_t *verdict_event_json(const struct pipeline_event *ev, const char *desk_id,
                           enum verdict_json_view view);

/*
 * A passport number as the page shows it: "••••" and the last 4 characters
 * ("••••5678"); only bullets if it has 4 or fewer.  out needs 17 bytes.
 */
void verdict_mask_passport(const char *passport, char out[17]);

#endif
