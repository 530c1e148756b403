/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mrz.h - the machine-readable zone of a passport (ICAO Doc 9303 Part 4,
 * TD3: two lines of 44 characters), parsed strictly.
 *
 * Pure: no I/O, no clock, no allocation.  The text is what a document reader
 * sends: the two lines separated by CR, LF or CR LF, optionally ended by one
 * more terminator, or the 88 characters run together.  Nothing else is
 * accepted: no spaces, no lower case, no third line.
 *
 * Line 1: P, a type letter or '<', issuing state (3), name (39: primary
 *         identifier, "<<", secondary identifier; components split by one
 *         '<'; '<' fillers to the end).
 * Line 2: document number (9) + check digit, nationality (3), birth date
 *         YYMMDD + check digit, sex (M, F, '<'; X accepted), expiry date
 *         YYMMDD + check digit, optional data (14) + check digit ('<' allowed
 *         when the optional data is all fillers), composite check digit.
 * Every check digit (weights 7, 3, 1; '<' counts 0, A..Z 10..35) is verified;
 * the first one that fails is named.
 */
#ifndef QRDESK_MRZ_H
#define QRDESK_MRZ_H

#include <stdbool.h>
#include <stddef.h>

#include "qrdesk/error.h"

#define MRZ_TD3_LINE 44
#define MRZ_TD3_NAME 39
/* The longest text that can be a TD3 MRZ: two lines, CR LF after each. */
#define MRZ_TEXT_MAX     (2 * MRZ_TD3_LINE + 4)
#define MRZ_DOC_NO_LEN   9
#define MRZ_OPTIONAL_LEN 14

/* What a failure names (docs/binding.md lists them). */
enum mrz_field {
	MRZ_FIELD_NONE = 0,
	MRZ_FIELD_LAYOUT,          /* number or length of lines, separators */
	MRZ_FIELD_CHARSET,         /* a character outside A-Z, 0-9 and '<' */
	MRZ_FIELD_DOCUMENT_CODE,   /* not a passport (P) */
	MRZ_FIELD_ISSUING_STATE,   /* not a letter code */
	MRZ_FIELD_NAME,            /* empty, or fillers in the wrong places */
	MRZ_FIELD_DOCUMENT_NUMBER, /* its check digit */
	MRZ_FIELD_NATIONALITY,
	MRZ_FIELD_BIRTH_DATE,  /* not a date, or its check digit */
	MRZ_FIELD_SEX,         /* not M, F, X or '<' */
	MRZ_FIELD_EXPIRY_DATE, /* not a date, or its check digit */
	MRZ_FIELD_OPTIONAL_DATA,
	MRZ_FIELD_COMPOSITE, /* the composite check digit */
};

enum mrz_status {
	MRZ_OK = 0,
	MRZ_ERR_LAYOUT,      /* not two lines of 44 */
	MRZ_ERR_CHARSET,     /* a character outside the MRZ set */
	MRZ_ERR_VALUE,       /* a field badly formed */
	MRZ_ERR_CHECK_DIGIT, /* a check digit does not match its field */
};

struct mrz_error {
	enum mrz_status status;
	enum mrz_field field;
	unsigned line;   /* 1 or 2; 0 for the layout */
	unsigned column; /* 1-based within the line; 0 for the layout */
};

struct mrz_date {
	unsigned yy, mm, dd; /* as printed: two-digit year */
};

struct mrz_td3 {
	char type;                        /* the second character: a letter or '<' */
	char issuing_state[4];            /* fillers removed: "UTO", "D" */
	char primary[MRZ_TD3_NAME + 1];   /* components joined by one space */
	char secondary[MRZ_TD3_NAME + 1]; /* "" when absent */
	bool name_full;                   /* the name uses all 39 positions: it may be truncated */
	char document_number[MRZ_DOC_NO_LEN + 1]; /* fillers removed */
	char nationality[4];
	struct mrz_date birth;
	char sex; /* 'M', 'F' or 'X' (a '<' in the zone) */
	struct mrz_date expiry;
	char optional_data[MRZ_OPTIONAL_LEN + 1]; /* fillers removed */
};

/*
 * The ICAO 9303 check digit of s[0..n): '0'..'9', or -1 if a character is
 * outside A-Z, 0-9 and '<'.
 */
int mrz_check_digit(const char *s, size_t n);

/* Parse text[0..len).  On failure *out is zeroed and err says what and where. */
enum mrz_status mrz_parse_td3(const char *text, size_t len, struct mrz_td3 *out,
                              struct mrz_error *err);

/* The field's stable name ("document_number", "composite"...), for reasons and logs. */
const char *mrz_field_name(enum mrz_field field);

/*
 * Does text[0..len) look like one TD3 line (44 characters of the MRZ set,
 * no terminator)?  Line 1 also starts with 'P'.  The desk tells a passport
 * typed line by line by this shape (binding.h).
 */
bool mrz_is_td3_line1(const char *text, size_t len);
bool mrz_is_td3_line2(const char *text, size_t len);

/*
 * Write a TD3 MRZ for in (type, states, names, number, dates, sex, optional
 * data) into out: line 1, LF, line 2, NUL.  The check digits are computed;
 * names are written PRIMARY<<SECONDARY with spaces as '<' and cut at 39
 * characters (9303's truncation by cutting).  in->name_full is ignored.
 * QD_ERR_FORMAT if a field has characters outside A-Z, 0-9 and space or
 * does not fit.  For specimens (tests, the demo, the issuer's test
 * documents): a desk only reads MRZs.
 */
enum qd_err mrz_format_td3(const struct mrz_td3 *in, char out[MRZ_TEXT_MAX + 1]);

/* The expiry as days since 1970-01-01 (20YY: a passport in use expires after 2000). */
int mrz_expiry_days(const struct mrz_td3 *mrz);

#endif
