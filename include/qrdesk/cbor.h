/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cbor.h - a small, strict, bounded CBOR (RFC 8949) reader and writer.
 *
 * The reader accepts exactly the deterministic shapes qrdesk uses and nothing
 * else: definite lengths only, shortest-form heads only, no floats, no simple
 * values but false/true/null, valid UTF-8 in text strings, a nesting depth of
 * at most CBOR_MAX_DEPTH.  It never allocates: strings are returned as
 * pointers into the input.  Every rejection has its own status, so a caller
 * can turn it into a specific reason.
 *
 * Reading is cursor-based: each cbor_read_* call consumes one item (or one
 * container head) on success and leaves the cursor untouched on failure.
 *
 * The writer appends to a caller-provided buffer; an overflow is sticky and
 * reported once by cbor_writer_status(), so call sites need no checks.
 */
#ifndef QRDESK_CBOR_H
#define QRDESK_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

#define CBOR_MAX_DEPTH    16 /* containers nested deeper are refused */
#define CBOR_MAP_KEYS_MAX 32 /* entries per map when checking duplicate keys */

enum cbor_status {
	CBOR_OK = 0,
	CBOR_ERR_TRUNCATED,     /* the input ends inside an item */
	CBOR_ERR_NON_MINIMAL,   /* a head not in its shortest form */
	CBOR_ERR_INDEFINITE,    /* an indefinite-length item */
	CBOR_ERR_TYPE,          /* the item is not of the type asked for */
	CBOR_ERR_DEPTH,         /* nested deeper than CBOR_MAX_DEPTH */
	CBOR_ERR_DUPLICATE_KEY, /* a map repeats a key */
	CBOR_ERR_TRAILING,      /* bytes follow the top-level item */
	CBOR_ERR_UNSUPPORTED,   /* floats, undefined, other simple values, reserved heads */
	CBOR_ERR_RANGE,         /* an integer that does not fit the asked type */
	CBOR_ERR_UTF8,          /* a text string that is not valid UTF-8 */
	CBOR_ERR_NOSPACE,       /* the writer's buffer is full */
	CBOR_ERR_TOO_MANY,      /* a map or array larger than the caller allows */
};

enum cbor_type {
	CBOR_TYPE_UINT,   /* major 0 */
	CBOR_TYPE_NINT,   /* major 1 */
	CBOR_TYPE_BSTR,   /* major 2 */
	CBOR_TYPE_TSTR,   /* major 3 */
	CBOR_TYPE_ARRAY,  /* major 4 */
	CBOR_TYPE_MAP,    /* major 5 */
	CBOR_TYPE_TAG,    /* major 6 */
	CBOR_TYPE_SIMPLE, /* major 7: false, true, null (others are unsupported) */
};

struct cbor_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

void cbor_reader_init(struct cbor_reader *r, const uint8_t *buf, size_t len);

/* The type of the next item, without consuming it. */
enum cbor_status cbor_peek_type(const struct cbor_reader *r, enum cbor_type *type);

enum cbor_status cbor_read_uint(struct cbor_reader *r, uint64_t *value);
/* Major type 0 or 1 whose value fits int64_t (else CBOR_ERR_RANGE). */
enum cbor_status cbor_read_int(struct cbor_reader *r, int64_t *value);
enum cbor_status cbor_read_bstr(struct cbor_reader *r, const uint8_t **data, size_t *len);
/* Text is validated as UTF-8; it is not NUL-terminated. */
enum cbor_status cbor_read_tstr(struct cbor_reader *r, const char **text, size_t *len);
/* Heads of containers: the caller then reads *count items (maps: 2 * *count). */
enum cbor_status cbor_read_array(struct cbor_reader *r, size_t *count);
enum cbor_status cbor_read_map(struct cbor_reader *r, size_t *count);
enum cbor_status cbor_read_tag(struct cbor_reader *r, uint64_t *tag);
enum cbor_status cbor_read_bool(struct cbor_reader *r, bool *value);
enum cbor_status cbor_read_null(struct cbor_reader *r);

/*
 * Consume one complete item of any supported type, checking it fully (heads,
 * lengths, UTF-8, depth, and duplicate keys in every map inside it, compared
 * by their encoded bytes).  Used to pass over fields we do not interpret.
 */
enum cbor_status cbor_skip(struct cbor_reader *r);

/* CBOR_ERR_TRAILING unless the cursor is at the end of the input. */
enum cbor_status cbor_expect_end(const struct cbor_reader *r);

/* Stable name for a status ("duplicate-key"). */
const char *cbor_status_name(enum cbor_status status);

/* Duplicate detection for maps with integer keys, which the callers decode. */
struct cbor_int_keys {
	int64_t seen[CBOR_MAP_KEYS_MAX];
	size_t count;
};

void cbor_int_keys_init(struct cbor_int_keys *keys);
/* CBOR_ERR_DUPLICATE_KEY if key was added before; CBOR_ERR_TOO_MANY past the cap. */
enum cbor_status cbor_int_keys_add(struct cbor_int_keys *keys, int64_t key);

/* Helpers of the signed payloads' decoders (trust documents, USB bundles). */

/* An integer map key, refused if it came before in this map (seen). */
enum cbor_status cbor_read_int_key(struct cbor_reader *r, struct cbor_int_keys *seen, int64_t *key);
/* A time in seconds: an unsigned integer that fits int64_t (else CBOR_ERR_RANGE). */
enum cbor_status cbor_read_time(struct cbor_reader *r, int64_t *out);
/*
 * Name the faulty field in why ("expires: wrong-type", or "expires: invalid
 * value" when the CBOR was fine, st == CBOR_OK) and return QD_ERR_FORMAT.
 */
enum qd_err cbor_field_error(struct qd_errmsg *why, const char *field, enum cbor_status st);

struct cbor_writer {
	uint8_t *buf;
	size_t cap;
	size_t len; /* bytes written (or that would have been, on overflow) */
	bool overflow;
};

void cbor_writer_init(struct cbor_writer *w, uint8_t *buf, size_t cap);
void cbor_put_uint(struct cbor_writer *w, uint64_t value);
void cbor_put_int(struct cbor_writer *w, int64_t value);
void cbor_put_bstr(struct cbor_writer *w, const uint8_t *data, size_t len);
void cbor_put_tstr(struct cbor_writer *w, const char *text, size_t len);
void cbor_put_cstr(struct cbor_writer *w, const char *text); /* NUL-terminated */
void cbor_put_array(struct cbor_writer *w, size_t count);
void cbor_put_map(struct cbor_writer *w, size_t count);
void cbor_put_tag(struct cbor_writer *w, uint64_t tag);
void cbor_put_bool(struct cbor_writer *w, bool value);
void cbor_put_null(struct cbor_writer *w);
/* Write the head of a byte string only; the caller appends len raw bytes. */
void cbor_put_bstr_head(struct cbor_writer *w, size_t len);
void cbor_put_raw(struct cbor_writer *w, const uint8_t *data, size_t len);
/* CBOR_OK, or CBOR_ERR_NOSPACE if anything did not fit. */
enum cbor_status cbor_writer_status(const struct cbor_writer *w);

#endif
