/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verdict_json.h - a verdict as JSON (jansson), one shape for every output:
 * `qrdeskctl check --json`, the control socket's scan reply, the kiosk's
 * event stream.  Fields: verdict, reason, message_en, message_bn (a failed
 * destination rule's own message for POLICY_FAILED), signature_ok, clock,
 * trusted_time, and where known detail, kid, alg, clearance_hash, claims
 * {...}, policy {...} (docs/policy.md: the rules evaluated and failed).
 */
#ifndef QRDESK_VERDICT_JSON_H
#define QRDESK_VERDICT_JSON_H

#include <jansson.h>

#include "qrdesk/credential.h"
#include "qrdesk/verdict.h"

/* A new object (caller owns the reference), or NULL if out of memory. */
json_t *verdict_to_json(const struct verdict *v);
json_t *claims_to_json(const struct credential *cred);
json_t *policy_result_to_json(const struct policy_result *result);

#endif
