/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base45.c - RFC 9285 base45 (see base45.h).
 *
 * Decoding runs on every scanned code, so characters are mapped through a
 * 256-entry table and groups are decoded three characters at a time.  The
 * table holds value + 1 for the 45 alphabet characters and 0 for every other
 * byte (lowercase letters included), so it can be built with designated
 * initializers and an invalid character is a zero.
 */
#include "qrdesk/base45.h"

static const char b45_alphabet[46] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#define V(ch, val) [(unsigned char)(ch)] = (uint8_t)((val) + 1)
static const uint8_t b45_table[256] = {
        V('0', 0),  V('1', 1),  V('2', 2),  V('3', 3),  V('4', 4),  V('5', 5),  V('6', 6),
        V('7', 7),  V('8', 8),  V('9', 9),  V('A', 10), V('B', 11), V('C', 12), V('D', 13),
        V('E', 14), V('F', 15), V('G', 16), V('H', 17), V('I', 18), V('J', 19), V('K', 20),
        V('L', 21), V('M', 22), V('N', 23), V('O', 24), V('P', 25), V('Q', 26), V('R', 27),
        V('S', 28), V('T', 29), V('U', 30), V('V', 31), V('W', 32), V('X', 33), V('Y', 34),
        V('Z', 35), V(' ', 36), V('$', 37), V('%', 38), V('*', 39), V('+', 40), V('-', 41),
        V('.', 42), V('/', 43), V(':', 44),
};
#undef V

size_t base45_decoded_max(size_t len)
{
	/* 3 characters -> 2 bytes; a final pair -> 1 byte; a lone one is an error. */
	return len / 3 * 2 + (len % 3 == 2 ? 1 : 0);
}

size_t base45_encoded_len(size_t n)
{
	return n / 2 * 3 + (n % 2) * 2;
}

/*
 * Decode (len % 3 != 1 already checked) into out, which has room for
 * base45_decoded_max(len) bytes; with out == NULL only validate.
 */
static enum base45_status decode_groups(const unsigned char *s, size_t len, uint8_t *out)
{
	size_t i = 0;

	for (; len - i >= 3; i += 3) {
		uint32_t c = b45_table[s[i]], d = b45_table[s[i + 1]], e = b45_table[s[i + 2]];
		if (c == 0 || d == 0 || e == 0)
			return BASE45_ERR_CHAR;
		uint32_t v = (c - 1) + (d - 1) * 45 + (e - 1) * (45 * 45);
		if (v > 0xffff)
			return BASE45_ERR_VALUE;
		if (out != NULL) {
			*out++ = (uint8_t)(v >> 8);
			*out++ = (uint8_t)v;
		}
	}
	if (len - i == 2) {
		uint32_t c = b45_table[s[i]], d = b45_table[s[i + 1]];
		if (c == 0 || d == 0)
			return BASE45_ERR_CHAR;
		uint32_t v = (c - 1) + (d - 1) * 45;
		if (v > 0xff)
			return BASE45_ERR_VALUE;
		if (out != NULL)
			*out = (uint8_t)v;
	}
	return BASE45_OK;
}

/*
 * A fault in the text is reported before a fault of the caller's: a bad
 * character before a dangling one (length), and either before "no space".
 * The first faulty group decides between a bad character and a bad value.
 */
enum base45_status base45_decode(const char *text, size_t len, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)text;
	enum base45_status st;

	if (out_len != NULL)
		*out_len = 0;
	if (len % 3 == 1) {
		for (size_t k = 0; k < len; k++)
			if (b45_table[s[k]] == 0)
				return BASE45_ERR_CHAR;
		return BASE45_ERR_LENGTH;
	}
	size_t need = base45_decoded_max(len);
	if (out == NULL)
		cap = 0;
	if (need > cap) {
		st = decode_groups(s, len, NULL);
		return st != BASE45_OK ? st : BASE45_ERR_NOSPACE;
	}
	st = decode_groups(s, len, out);
	if (st == BASE45_OK && out_len != NULL)
		*out_len = need;
	return st;
}

enum base45_status base45_encode(const uint8_t *in, size_t n, char *out, size_t cap,
                                 size_t *out_len)
{
	size_t need = base45_encoded_len(n), o = 0, i = 0;

	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL)
		cap = 0;
	if (need > cap)
		return BASE45_ERR_NOSPACE;
	if (out == NULL) /* so need == 0: nothing to write */
		return BASE45_OK;
	for (; n - i >= 2; i += 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = b45_alphabet[v % 45];
		v /= 45;
		out[o++] = b45_alphabet[v % 45];
		out[o++] = b45_alphabet[v / 45];
	}
	if (n - i == 1) {
		uint32_t v = in[i];
		out[o++] = b45_alphabet[v % 45];
		out[o++] = b45_alphabet[v / 45];
	}
	if (o < cap)
		out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return BASE45_OK;
}

const char *base45_status_name(enum base45_status status)
{
	switch (status) {
	case BASE45_OK:
		return "ok";
	case BASE45_ERR_CHAR:
		return "bad-character";
	case BASE45_ERR_LENGTH:
		return "bad-length";
	case BASE45_ERR_VALUE:
		return "bad-value";
	case BASE45_ERR_NOSPACE:
		return "no-space";
	}
	return "unknown";
}
