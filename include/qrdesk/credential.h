/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credential.h - the clearance card: its QR text and its CWT claims.
 *
 * Text:    CREDENTIAL_PREFIX + base45(COSE_Sign1), all in QR alphanumeric mode.
 * Payload: a CBOR map of CWT claims (RFC 8392) with the clearance claims as a
 *          nested map under the private claim key CREDENTIAL_CLAIM_CLEARANCE.
 * docs/credential-format.md gives every key, type and bound.
 *
 * Decoding checks types, lengths and formats of every field (the card is
 * hostile until verified, and even a genuine card may be from an issuer bug);
 * strings are copied NUL-terminated into fixed-size fields.
 */
#ifndef QRDESK_CREDENTIAL_H
#define QRDESK_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/error.h"
#include "qrdesk/trust.h"

#define CREDENTIAL_PREFIX     "BC1:" /* BMET Clearance, format version 1 */
#define CREDENTIAL_PREFIX_LEN 4

/* CWT claim keys (RFC 8392) and our private claim (< -65536: private use). */
#define CWT_CLAIM_ISS              1
#define CWT_CLAIM_EXP              4
#define CWT_CLAIM_NBF              5
#define CWT_CLAIM_IAT              6
#define CREDENTIAL_CLAIM_CLEARANCE (-65537)

/* Keys inside the clearance map. */
enum clearance_key {
	CLEARANCE_KEY_CLEARANCE_NO = 1,
	CLEARANCE_KEY_PASSPORT_NO = 2,
	CLEARANCE_KEY_NAME = 3,
	CLEARANCE_KEY_BIRTH_DATE = 4, /* int: days since 1970-01-01 (RFC 8943) */
	CLEARANCE_KEY_SEX = 5,
	CLEARANCE_KEY_DESTINATION = 6,
	CLEARANCE_KEY_CATEGORY = 7,
	CLEARANCE_KEY_EMPLOYER = 8,
	CLEARANCE_KEY_AGENCY_LICENCE = 9,
	CLEARANCE_KEY_BMET_REG_NO = 10,
	CLEARANCE_KEY_PDO_COMPLETED = 11,
};

/* Maximum lengths in bytes (the fields hold one more for the NUL). */
#define CREDENTIAL_ISS_MAX            16
#define CREDENTIAL_CLEARANCE_NO_MAX   32
#define CREDENTIAL_PASSPORT_NO_MAX    16
#define CREDENTIAL_NAME_MAX           64
#define CREDENTIAL_CATEGORY_MAX       8
#define CREDENTIAL_EMPLOYER_MAX       96
#define CREDENTIAL_AGENCY_LICENCE_MAX 24
#define CREDENTIAL_BMET_REG_NO_MAX    32

struct clearance_claims {
	char clearance_no[CREDENTIAL_CLEARANCE_NO_MAX + 1]; /* [A-Z0-9-/], 1..32 */
	char passport_no[CREDENTIAL_PASSPORT_NO_MAX + 1];   /* [A-Z0-9], 5..16 */
	char name[CREDENTIAL_NAME_MAX + 1];                 /* Latin script, printable */
	int32_t birth_days;                                 /* days since 1970-01-01 */
	char sex;                                           /* 'M', 'F' or 'X' */
	char destination[3];                                /* ISO 3166-1 alpha-2 */
	char category[CREDENTIAL_CATEGORY_MAX + 1];         /* code, [A-Z0-9], e.g. "DW" */
	char employer[CREDENTIAL_EMPLOYER_MAX + 1];         /* printable */
	char agency_licence[CREDENTIAL_AGENCY_LICENCE_MAX + 1];
	char bmet_reg_no[CREDENTIAL_BMET_REG_NO_MAX + 1];
	bool pdo_completed; /* pre-departure orientation done */
};

struct credential {
	char iss[CREDENTIAL_ISS_MAX + 1]; /* "" when absent */
	int64_t issued_at;                /* iat, required */
	int64_t not_before;               /* nbf; equals iat when absent */
	int64_t expires_at;               /* exp, required */
	bool has_nbf;
	struct clearance_claims clearance;
};

enum credential_status {
	CREDENTIAL_OK = 0,
	CREDENTIAL_ERR_CBOR,    /* not well-formed (see the cbor_status detail) */
	CREDENTIAL_ERR_MISSING, /* a required claim is absent */
	CREDENTIAL_ERR_TYPE,    /* a claim has the wrong CBOR type */
	CREDENTIAL_ERR_VALUE,   /* a claim is out of range, too long or badly formed */
};

struct credential_error {
	enum credential_status status;
	enum cbor_status cbor; /* with CREDENTIAL_ERR_CBOR */
	const char *field;     /* the claim at fault, by its JSON name; static */
};

/* Decode and validate a CWT payload. */
enum credential_status credential_decode(const uint8_t *payload, size_t len, struct credential *out,
                                         struct credential_error *err);

/*
 * Encode cred as the CWT payload into out[0..cap).  Validates first (the
 * same rules as decoding): QD_ERR_FORMAT with a message naming the field.
 */
enum qd_err credential_encode(const struct credential *cred, uint8_t *out, size_t cap,
                              size_t *out_len, struct qd_errmsg *why);

/* Validate one credential as credential_decode would (for the issuer tool). */
enum qd_err credential_validate(const struct credential *cred, struct qd_errmsg *why);

/* The revocation-list hash: SHA-256 of the clearance number, truncated. */
/*
 * The holder of docs/credential-format.md's worked example (RAHIMA KHATUN,
 * domestic worker to Kuwait) under the given clearance number and dates: one
 * well-formed card for demos, tests and benchmarks, so they agree on it.
 */
void credential_example(struct credential *cred, const char *clearance_no, int64_t issued_at,
                        int64_t expires_at);

void credential_clearance_hash(const char *clearance_no, uint8_t hash[TRUST_HASH_LEN]);

/*
 * The audit pseudonym of a clearance number: HMAC-SHA-256 under the
 * deployment's audit key (CREDENTIAL_AUDIT_KEY_LEN bytes) of
 * "qrdesk-audit-v1:" and the number, first TRUST_HASH_LEN bytes.  Unlike the
 * revocation hash it cannot be reversed by hashing the small space of
 * clearance numbers without the key; the same key on every desk of a
 * deployment gives one card the same pseudonym everywhere.
 */
#define CREDENTIAL_AUDIT_KEY_LEN 32
void credential_pseudonym(const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN], const char *clearance_no,
                          uint8_t out[TRUST_HASH_LEN]);

/* The range of dates a card carries: 1900-01-01 .. 2100-12-31, as days since 1970-01-01. */
#define CREDENTIAL_DATE_MIN (-25567)
#define CREDENTIAL_DATE_MAX 47846

/* Days since the epoch <-> "YYYY-MM-DD" (proleptic Gregorian). */
enum qd_err credential_date_parse(const char *text, int32_t *days);
void credential_date_format(int32_t days, char out[11]);
/* Days since the epoch -> year, month (1..12), day (1..31); days clamped to the range above. */
void credential_date_civil(int32_t days, int *year, unsigned *month, unsigned *day);

/* Human name of a category code ("DW" -> "Domestic worker"), or NULL. */
const char *credential_category_name_en(const char *code);
const char *credential_category_name_bn(const char *code);

#endif
