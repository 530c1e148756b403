/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bcbp.h - the IATA Bar Coded Boarding Pass (Resolution 792, format M),
 * parsed strictly.  Pure: no I/O, no clock, no allocation.
 *
 * The text is the barcode's content as a hand scanner types it or the camera
 * decodes it: "M", the number of legs (1..4), then per leg the mandatory
 * items (the first leg also carries the unique ones: name and e-ticket
 * indicator) and a variable-size field whose length is given in hex.  In the
 * first leg's variable field: '>' + version, then the unique conditional
 * items (their length in hex), then the leg's repeated conditional items
 * (their length in hex); in later legs only the repeated ones.  What the
 * announced lengths leave over is the airline's own use.  After the last
 * leg, optionally '^', the type and the length (hex) of the security data,
 * then exactly that many characters.
 *
 * Strict: every length announced must be used exactly, conditional items
 * end on an item boundary, mandatory items have their documented shape
 * (airports three letters, Julian date 001..366...), nothing follows the
 * security data, and every character is printable ASCII.  One CR, LF or
 * CR LF at the end (a scanner's suffix) is allowed.
 */
#ifndef QRDESK_BCBP_H
#define QRDESK_BCBP_H

#include <stdbool.h>
#include <stddef.h>

#include "qrdesk/error.h"

#define BCBP_LEGS_MAX 4
#define BCBP_NAME_LEN 20
#define BCBP_TEXT_MAX 2048
/* The mandatory part of the first leg: 23 unique + 35 repeated + 2 for the size. */
#define BCBP_MANDATORY_LEN 60

enum bcbp_status {
	BCBP_OK = 0,
	BCBP_ERR_LENGTH,  /* shorter than its items, or a length that does not fit */
	BCBP_ERR_CHARSET, /* a byte outside printable ASCII */
	BCBP_ERR_VALUE,   /* an item badly formed */
	BCBP_ERR_TRAILING /* bytes after the end */
};

struct bcbp_error {
	enum bcbp_status status;
	const char *item; /* the item at fault ("from_airport", "field_size"...); static */
	unsigned leg;     /* 1-based; 0 outside the legs */
	size_t offset;    /* in the text */
};

struct bcbp_leg {
	char pnr[8];  /* trailing spaces removed */
	char from[4]; /* IATA airport codes */
	char to[4];
	char carrier[4];     /* operating carrier designator */
	char flight[6];      /* "0834", "0834A" */
	unsigned flight_day; /* Julian 1..366 */
	char compartment;
	char seat[5];
	char sequence[6]; /* check-in sequence number */
	char passenger_status;
	/* Repeated conditional items: n_conditional of them were present. */
	unsigned n_conditional;
	char airline_numeric[4];
	char document_serial[11];
	char selectee;
	char document_verification;
	char marketing_carrier[4];
	char frequent_flyer_airline[4];
	char frequent_flyer_number[17];
	char id_ad;
	char baggage_allowance[4];
	char fast_track;
	size_t individual_use_len; /* airline's own data after the items */
};

struct bcbp {
	unsigned n_legs;
	char name[BCBP_NAME_LEN + 1]; /* as printed, trailing spaces removed: "DESMARAIS/LUC" */
	bool name_full;               /* 20 characters used: it may be truncated */
	char eticket;                 /* 'E' or 'L' */
	/* Unique conditional items (first leg): present when has_version. */
	bool has_version;
	char version; /* '1'..'9' */
	unsigned n_unique;
	char passenger_description;
	char checkin_source;
	char issuance_source;
	char issue_date[5]; /* year digit + Julian day */
	char document_type;
	char issuer[4];
	char bag_tags[3][14];
	struct bcbp_leg legs[BCBP_LEGS_MAX];
	bool has_security;
	char security_type;
	size_t security_len;
};

/* Parse text[0..len).  On failure *out is zeroed and err says which item and where. */
enum bcbp_status bcbp_parse(const char *text, size_t len, struct bcbp *out, struct bcbp_error *err);

/*
 * Does text[0..len) look like a boarding pass ("M" + a leg count 1..4, at
 * least the mandatory length)?  The desk's shape test (binding.h).
 */
bool bcbp_is_shaped(const char *text, size_t len);

/*
 * Write the mandatory items of in (name, e-ticket indicator, each leg's
 * mandatory items, no conditional items, no security data) as a BCBP text,
 * NUL-terminated, into out[0..cap).  QD_ERR_FORMAT if an item does not fit
 * its shape, QD_ERR_TOO_LARGE if cap is too small.  For specimens: a desk
 * only reads boarding passes.
 */
enum qd_err bcbp_format(const struct bcbp *in, char *out, size_t cap);

/* The leg the traveller finally arrives by (the last). */
const struct bcbp_leg *bcbp_final_leg(const struct bcbp *pass);

#endif
