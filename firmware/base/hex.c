/* SPDX-License-Identifier: Apache-2.0 */
/* hex.c - hex for key ids and public keys in files and JSON. */
#include "qrdesk/hex.h"

void hex_encode(const uint8_t *data, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	if (cap == 0)
		return;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 2 < cap; i++) {
		out[o++] = digits[data[i] >> 4];
		out[o++] = digits[data[i] & 15];
	}
	out[o] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum qd_err hex_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (text_len % 2 != 0)
		return QD_ERR_FORMAT;
	if (text_len / 2 > cap)
		return QD_ERR_TOO_LARGE;
	for (size_t i = 0; i < text_len / 2; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return QD_ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = text_len / 2;
	return QD_OK;
}
