/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base45.h - RFC 9285 base45, the alphabet of a QR code's alphanumeric mode.
 *
 * Decoding is strict: every character must be in the 45-character alphabet,
 * a length of 3k+1 characters is an error, and a group whose value does not
 * fit (a triple above 65535, a final pair above 255) is an error.  Nothing is
 * allocated; the caller provides the output buffer.
 */
#ifndef QRDESK_BASE45_H
#define QRDESK_BASE45_H

#include <stddef.h>
#include <stdint.h>

enum base45_status {
	BASE45_OK = 0,
	BASE45_ERR_CHAR,    /* a character outside the alphabet */
	BASE45_ERR_LENGTH,  /* length % 3 == 1: a dangling character */
	BASE45_ERR_VALUE,   /* a group decodes to a value too large */
	BASE45_ERR_NOSPACE, /* the output buffer is too small */
};

/* Bytes needed to decode len characters (an upper bound, exact for valid input). */
size_t base45_decoded_max(size_t len);

/* Characters base45_encode produces for n bytes (no terminator counted). */
size_t base45_encoded_len(size_t n);

/* Decode text[0..len) into out[0..cap); *out_len gets the byte count. */
enum base45_status base45_decode(const char *text, size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len);

/*
 * Encode in[0..n) into out[0..cap); *out_len gets the character count.  A NUL
 * is written after the text when there is room for it (not required).
 */
enum base45_status base45_encode(const uint8_t *in, size_t n, char *out, size_t cap,
                                 size_t *out_len);

/* A stable name for the status ("bad-character"). */
const char *base45_status_name(enum base45_status status);

#endif
