/* SPDX-License-Identifier: Apache-2.0 */
/* hex.h - lower-case hex encoding of bytes, and strict decoding. */
#ifndef QRDESK_HEX_H
#define QRDESK_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"

/* Write 2*len hex digits and a NUL into out (cap >= 2*len+1), truncating if smaller. */
void hex_encode(const uint8_t *data, size_t len, char *out, size_t cap);

/*
 * Decode text[0..text_len) (upper or lower case, even length) into out;
 * QD_ERR_FORMAT on a bad digit or odd length, QD_ERR_TOO_LARGE past cap.
 */
enum qd_err hex_decode(const char *text, size_t text_len, uint8_t *out, size_t cap,
                       size_t *out_len);

#endif
