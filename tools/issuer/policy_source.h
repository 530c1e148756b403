/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy_source.h - the readable source of a destination policy: a JSON file
 * the back office writes (docs/policy.md, "The source file"), turned into a
 * struct policy that domain_policy_set() encodes, validates and stores.
 *
 *   {"format": "qrdesk-policy-1", "note": "...", "utc_offset_minutes": 360,
 *    "rules": [{"id": "kw-dw-age",
 *               "when": {"destinations": ["KW"], "categories": ["DW"]},
 *               "effective_from": "2025-12-23",
 *               "require": {"age_min": 21, "age_max": 60},
 *               "message_en": "...", "message_bn": "..."}]}
 *
 * Shapes and sizes are checked here (with the JSON path of the field at
 * fault); the values themselves by policy_decode, the desks' own rules.
 */
#ifndef QRDESK_ISSUER_POLICY_SOURCE_H
#define QRDESK_ISSUER_POLICY_SOURCE_H

#include <stddef.h>

#include "qrdesk/error.h"
#include "qrdesk/policy.h"

#define POLICY_SOURCE_FORMAT "qrdesk-policy-1"
#define POLICY_SOURCE_MAX    (256 * 1024) /* bytes of a source file */

/* Parse JSON text; why names the line (syntax) or the field ("rules[0].require.age_min"). */
enum qd_err policy_source_parse(const char *text, size_t len, struct policy *out,
                                struct qd_errmsg *why);

/* Read and parse a source file; why starts with the path. */
enum qd_err policy_source_load(const char *path, struct policy *out, struct qd_errmsg *why);

/*
 * tools/issuer/example-policy.json, compiled in (CMake generates it from the
 * file) so qrdeskd --demo publishes exactly the repository's example.
 */
extern const char *const policy_source_example;
extern const size_t policy_source_example_len;

#endif
