/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cbor.c - the strict CBOR reader and writer: a table of malformed and
 * boundary inputs with their exact statuses, round trips of every integer and
 * length boundary, RFC 8949 Appendix A examples within the accepted subset,
 * the sticky-overflow writer and the integer-key helper.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"

/* Hex with optional spaces into out; returns the byte count. */
static size_t hex(const char *text, uint8_t *out, size_t cap)
{
	char compact[1024];
	size_t n = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		assert_true(n + 1 < sizeof(compact));
		compact[n++] = *p;
	}
	compact[n] = '\0';
	return tu_hex_into(compact, out, cap);
}

enum op {
	OP_SKIP, /* cbor_skip, then cbor_expect_end */
	OP_UINT,
	OP_INT,
	OP_BSTR,
	OP_TSTR,
	OP_ARRAY,
	OP_MAP,
	OP_TAG,
	OP_BOOL,
	OP_NULL,
	OP_PEEK,
};

struct bad_case {
	const char *what;
	enum op op;
	const char *hex;
	enum cbor_status want; /* after the op and, when it succeeds, cbor_expect_end */
};

/* 16 and 17 levels of one-element arrays (and maps) around a 0. */
#define A16 "81818181818181818181818181818181"
#define M16 "a100a100a100a100a100a100a100a100a100a100a100a100a100a100a100a100"

static const struct bad_case cases[] = {
        /* truncated heads */
        {"empty input", OP_SKIP, "", CBOR_ERR_TRUNCATED},
        {"empty input, peek", OP_PEEK, "", CBOR_ERR_TRUNCATED},
        {"uint 1-byte arg missing", OP_SKIP, "18", CBOR_ERR_TRUNCATED},
        {"uint 2-byte arg short", OP_SKIP, "19 01", CBOR_ERR_TRUNCATED},
        {"uint 4-byte arg short", OP_SKIP, "1a 01 00 00", CBOR_ERR_TRUNCATED},
        {"uint 8-byte arg short", OP_SKIP, "1b 01 00 00 00 00 00 00", CBOR_ERR_TRUNCATED},
        {"nint arg short", OP_INT, "39 01", CBOR_ERR_TRUNCATED},
        {"bstr length short", OP_BSTR, "59 01", CBOR_ERR_TRUNCATED},
        {"tag arg short", OP_SKIP, "da 00 01 00", CBOR_ERR_TRUNCATED},
        {"simple arg missing", OP_SKIP, "f8", CBOR_ERR_TRUNCATED},
        /* truncated strings */
        {"bstr 1 of 0", OP_BSTR, "41", CBOR_ERR_TRUNCATED},
        {"bstr 24 of 23", OP_SKIP, "58 18 000102030405060708090a0b0c0d0e0f10111213141516",
         CBOR_ERR_TRUNCATED},
        {"tstr 2 of 1", OP_TSTR, "62 61", CBOR_ERR_TRUNCATED},
        {"tstr 256 of 1", OP_SKIP, "79 0100 61", CBOR_ERR_TRUNCATED},
        {"tstr in array short", OP_SKIP, "81 63 6161", CBOR_ERR_TRUNCATED},
        /* truncated containers */
        {"array 2 of 1", OP_SKIP, "82 00", CBOR_ERR_TRUNCATED},
        {"array 2 of 1, head", OP_ARRAY, "82 00", CBOR_ERR_TRUNCATED},
        {"array 1 of 0", OP_SKIP, "81", CBOR_ERR_TRUNCATED},
        {"map value missing", OP_SKIP, "a1 00", CBOR_ERR_TRUNCATED},
        {"map value missing, head", OP_MAP, "a1 00", CBOR_ERR_TRUNCATED},
        {"map 2 of 1.5", OP_SKIP, "a2 00 00 01", CBOR_ERR_TRUNCATED},
        {"nested array short", OP_SKIP, "82 81 00", CBOR_ERR_TRUNCATED},
        {"tag without item", OP_SKIP, "c1", CBOR_ERR_TRUNCATED},
        {"tag without item, head", OP_TAG, "c1", CBOR_ERR_TRUNCATED},
        {"tag chain without item", OP_SKIP, "c1 c2 d8 20", CBOR_ERR_TRUNCATED},
        /* huge declared lengths and counts: checked before use, never wrapped */
        {"bstr 2^64-1", OP_BSTR, "5b ffffffffffffffff 00", CBOR_ERR_TRUNCATED},
        {"bstr 2^64-1, skip", OP_SKIP, "5b ffffffffffffffff 00", CBOR_ERR_TRUNCATED},
        {"tstr 2^64-1", OP_TSTR, "7b ffffffffffffffff 61", CBOR_ERR_TRUNCATED},
        {"bstr 2^63", OP_SKIP, "5b 8000000000000000 00", CBOR_ERR_TRUNCATED},
        {"bstr 2^32-1", OP_SKIP, "5a ffffffff 0000", CBOR_ERR_TRUNCATED},
        {"array 2^64-1", OP_ARRAY, "9b ffffffffffffffff 00", CBOR_ERR_TRUNCATED},
        {"array 2^64-1, skip", OP_SKIP, "9b ffffffffffffffff 00", CBOR_ERR_TRUNCATED},
        {"array 2^32 in 10 bytes", OP_SKIP, "9b 0000000100000000 00", CBOR_ERR_TRUNCATED},
        {"array 2^32-1 in 10 bytes", OP_SKIP, "9a ffffffff 0000000000", CBOR_ERR_TRUNCATED},
        {"nested array 2^32-1", OP_SKIP, "81 9a ffffffff 00000000", CBOR_ERR_TRUNCATED},
        {"map 2^64-1", OP_MAP, "bb ffffffffffffffff 0000", CBOR_ERR_TRUNCATED},
        {"map 2^63 (2n wraps)", OP_SKIP, "bb 8000000000000000 0000", CBOR_ERR_TRUNCATED},
        {"map 2^32-1, skip", OP_SKIP, "ba ffffffff 0000", CBOR_ERR_TRUNCATED},
        /* non-minimal integers: 1-, 2-, 4- and 8-byte forms */
        {"uint 0 in 1 byte", OP_SKIP, "18 00", CBOR_ERR_NON_MINIMAL},
        {"uint 23 in 1 byte", OP_UINT, "18 17", CBOR_ERR_NON_MINIMAL},
        {"uint 255 in 2 bytes", OP_UINT, "19 00ff", CBOR_ERR_NON_MINIMAL},
        {"uint 0 in 2 bytes", OP_SKIP, "19 0000", CBOR_ERR_NON_MINIMAL},
        {"uint 65535 in 4 bytes", OP_UINT, "1a 0000ffff", CBOR_ERR_NON_MINIMAL},
        {"uint 2^32-1 in 8 bytes", OP_UINT, "1b 00000000ffffffff", CBOR_ERR_NON_MINIMAL},
        {"uint 0 in 8 bytes", OP_INT, "1b 0000000000000000", CBOR_ERR_NON_MINIMAL},
        {"nint -1 in 1 byte", OP_INT, "38 00", CBOR_ERR_NON_MINIMAL},
        {"nint -256 in 2 bytes", OP_INT, "39 00ff", CBOR_ERR_NON_MINIMAL},
        {"nint in 4 bytes", OP_INT, "3a 0000ffff", CBOR_ERR_NON_MINIMAL},
        {"nint in 8 bytes", OP_INT, "3b 00000000ffffffff", CBOR_ERR_NON_MINIMAL},
        {"uint 24 minimal", OP_UINT, "18 18", CBOR_OK},
        {"uint 256 minimal", OP_UINT, "19 0100", CBOR_OK},
        {"uint 65536 minimal", OP_UINT, "1a 00010000", CBOR_OK},
        {"uint 2^32 minimal", OP_UINT, "1b 0000000100000000", CBOR_OK},
        /* non-minimal lengths */
        {"bstr len 0 in 1 byte", OP_BSTR, "58 00", CBOR_ERR_NON_MINIMAL},
        {"bstr len 1 in 2 bytes", OP_BSTR, "59 0001 00", CBOR_ERR_NON_MINIMAL},
        {"bstr len 1 in 4 bytes", OP_SKIP, "5a 00000001 00", CBOR_ERR_NON_MINIMAL},
        {"bstr len 1 in 8 bytes", OP_SKIP, "5b 0000000000000001 00", CBOR_ERR_NON_MINIMAL},
        {"tstr len 1 in 1 byte", OP_TSTR, "78 01 61", CBOR_ERR_NON_MINIMAL},
        {"array len 0 in 1 byte", OP_ARRAY, "98 00", CBOR_ERR_NON_MINIMAL},
        {"array len 1 in 2 bytes", OP_SKIP, "99 0001 00", CBOR_ERR_NON_MINIMAL},
        {"map len 0 in 1 byte", OP_MAP, "b8 00", CBOR_ERR_NON_MINIMAL},
        {"map len 1 in 4 bytes", OP_SKIP, "ba 00000001 0000", CBOR_ERR_NON_MINIMAL},
        {"non-minimal inside array", OP_SKIP, "82 00 18 01", CBOR_ERR_NON_MINIMAL},
        {"non-minimal map key", OP_SKIP, "a1 18 01 00", CBOR_ERR_NON_MINIMAL},
        /* non-minimal tags */
        {"tag 1 in 1 byte", OP_TAG, "d8 01 00", CBOR_ERR_NON_MINIMAL},
        {"tag 18 in 1 byte", OP_SKIP, "d8 12 00", CBOR_ERR_NON_MINIMAL},
        {"tag 255 in 2 bytes", OP_TAG, "d9 00ff 00", CBOR_ERR_NON_MINIMAL},
        {"tag in 4 bytes", OP_SKIP, "da 0000ffff 00", CBOR_ERR_NON_MINIMAL},
        {"tag in 8 bytes", OP_SKIP, "db 00000000ffffffff 00", CBOR_ERR_NON_MINIMAL},
        {"tag 24 minimal", OP_SKIP, "d8 18 40", CBOR_OK},
        {"tag 2^64-1", OP_SKIP, "db ffffffffffffffff 00", CBOR_OK},
        /* simple values in two bytes: below 32 is never valid */
        {"simple false in 2 bytes", OP_BOOL, "f8 14", CBOR_ERR_NON_MINIMAL},
        {"simple null in 2 bytes", OP_NULL, "f8 16", CBOR_ERR_NON_MINIMAL},
        {"simple 0 in 2 bytes", OP_SKIP, "f8 00", CBOR_ERR_NON_MINIMAL},
        {"simple 31 in 2 bytes", OP_SKIP, "f8 1f", CBOR_ERR_NON_MINIMAL},
        {"simple 32", OP_SKIP, "f8 20", CBOR_ERR_UNSUPPORTED},
        {"simple 255", OP_SKIP, "f8 ff", CBOR_ERR_UNSUPPORTED},
        /* indefinite lengths and break */
        {"indefinite bstr", OP_SKIP, "5f 41 00 ff", CBOR_ERR_INDEFINITE},
        {"indefinite bstr, read", OP_BSTR, "5f 41 00 ff", CBOR_ERR_INDEFINITE},
        {"indefinite tstr", OP_TSTR, "7f 61 61 ff", CBOR_ERR_INDEFINITE},
        {"indefinite array", OP_ARRAY, "9f ff", CBOR_ERR_INDEFINITE},
        {"indefinite array, skip", OP_SKIP, "9f 01 ff", CBOR_ERR_INDEFINITE},
        {"indefinite map", OP_MAP, "bf ff", CBOR_ERR_INDEFINITE},
        {"indefinite map, skip", OP_SKIP, "bf 01 02 ff", CBOR_ERR_INDEFINITE},
        {"break", OP_SKIP, "ff", CBOR_ERR_INDEFINITE},
        {"break inside array", OP_SKIP, "82 00 ff", CBOR_ERR_INDEFINITE},
        {"nested indefinite", OP_SKIP, "a1 00 9f ff", CBOR_ERR_INDEFINITE},
        {"uint with ai 31", OP_SKIP, "1f", CBOR_ERR_INDEFINITE},
        {"nint with ai 31", OP_SKIP, "3f", CBOR_ERR_INDEFINITE},
        {"tag with ai 31", OP_SKIP, "df 00", CBOR_ERR_INDEFINITE},
        /* reserved additional information 28..30 */
        {"uint ai 28", OP_SKIP, "1c", CBOR_ERR_UNSUPPORTED},
        {"uint ai 29", OP_UINT, "1d", CBOR_ERR_UNSUPPORTED},
        {"uint ai 30", OP_SKIP, "1e", CBOR_ERR_UNSUPPORTED},
        {"nint ai 28", OP_INT, "3c", CBOR_ERR_UNSUPPORTED},
        {"bstr ai 29", OP_BSTR, "5d", CBOR_ERR_UNSUPPORTED},
        {"tstr ai 30", OP_SKIP, "7e", CBOR_ERR_UNSUPPORTED},
        {"array ai 28", OP_SKIP, "9c", CBOR_ERR_UNSUPPORTED},
        {"map ai 29", OP_SKIP, "bd", CBOR_ERR_UNSUPPORTED},
        {"tag ai 30", OP_TAG, "de 00", CBOR_ERR_UNSUPPORTED},
        {"simple ai 28", OP_SKIP, "fc", CBOR_ERR_UNSUPPORTED},
        {"simple ai 30", OP_PEEK, "fe", CBOR_ERR_UNSUPPORTED},
        {"reserved inside map", OP_SKIP, "a1 00 1c", CBOR_ERR_UNSUPPORTED},
        /* floats, undefined, other simple values */
        {"half float 0.0", OP_SKIP, "f9 0000", CBOR_ERR_UNSUPPORTED},
        {"half float 1.0, peek", OP_PEEK, "f9 3c00", CBOR_ERR_UNSUPPORTED},
        {"single float", OP_SKIP, "fa 47c35000", CBOR_ERR_UNSUPPORTED},
        {"double float", OP_SKIP, "fb 3ff199999999999a", CBOR_ERR_UNSUPPORTED},
        {"float read as uint", OP_UINT, "fa 00000000", CBOR_ERR_UNSUPPORTED},
        {"float in array", OP_SKIP, "81 f9 7c00", CBOR_ERR_UNSUPPORTED},
        {"undefined", OP_SKIP, "f7", CBOR_ERR_UNSUPPORTED},
        {"undefined as null", OP_NULL, "f7", CBOR_ERR_UNSUPPORTED},
        {"simple 0", OP_SKIP, "e0", CBOR_ERR_UNSUPPORTED},
        {"simple 16", OP_SKIP, "f0", CBOR_ERR_UNSUPPORTED},
        {"simple 19", OP_BOOL, "f3", CBOR_ERR_UNSUPPORTED},
        {"false", OP_SKIP, "f4", CBOR_OK},
        {"true", OP_SKIP, "f5", CBOR_OK},
        {"null", OP_SKIP, "f6", CBOR_OK},
        /* nesting: 16 levels are fine, 17 are refused; tags do not nest */
        {"16 arrays", OP_SKIP, A16 "00", CBOR_OK},
        {"17 arrays", OP_SKIP, A16 "81 00", CBOR_ERR_DEPTH},
        {"16 levels, innermost empty", OP_SKIP, "818181818181818181818181818181 80", CBOR_OK},
        {"17 levels, innermost empty", OP_SKIP, A16 "80", CBOR_ERR_DEPTH},
        {"16 maps", OP_SKIP, M16 "00", CBOR_OK},
        {"17 maps", OP_SKIP, M16 "a0", CBOR_ERR_DEPTH},
        {"17 levels in a map key", OP_SKIP, "a1" A16 "00 00", CBOR_ERR_DEPTH},
        {"16 levels with tags between", OP_SKIP,
         "c1 81 c2 81 c3 81 818181818181818181818181 81 c4 00", CBOR_OK},
        {"64 tags on one item", OP_SKIP,
         "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
         "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1 00",
         CBOR_OK},
        {"deep then wide", OP_SKIP,
         A16 "00"
             "00",
         CBOR_ERR_TRAILING},
        /* duplicate keys, compared by their encoded bytes */
        {"dup int key", OP_SKIP, "a2 01 00 01 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup nint key", OP_SKIP, "a3 20 00 01 00 20 01", CBOR_ERR_DUPLICATE_KEY},
        {"dup text key", OP_SKIP, "a2 61 61 00 61 61 01", CBOR_ERR_DUPLICATE_KEY},
        {"dup bstr key", OP_SKIP, "a2 42 0102 00 42 0102 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup key, not adjacent", OP_SKIP, "a3 00 00 01 00 00 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup key in nested map", OP_SKIP, "a1 00 a2 0a 00 0a 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup key in map in array", OP_SKIP, "82 a0 a2 63 6b6964 00 63 6b6964 01",
         CBOR_ERR_DUPLICATE_KEY},
        {"dup array key", OP_SKIP, "a2 82 01 02 00 82 01 02 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup tagged key", OP_SKIP, "a2 c1 01 00 c1 01 00", CBOR_ERR_DUPLICATE_KEY},
        {"dup key, values differ", OP_SKIP, "a2 01 61 61 01 61 62", CBOR_ERR_DUPLICATE_KEY},
        {"same key in two maps", OP_SKIP, "82 a1 01 00 a1 01 00", CBOR_OK},
        {"key 1 and key -2", OP_SKIP, "a2 01 00 21 00", CBOR_OK},
        {"key 0 and key \"\"", OP_SKIP, "a2 00 00 60 00", CBOR_OK},
        {"key \"a\" and h'61'", OP_SKIP, "a2 61 61 00 41 61 00", CBOR_OK},
        {"key \"a\" and \"aa\"", OP_SKIP, "a2 61 61 00 62 6161 00", CBOR_OK},
        {"tagged and untagged key", OP_SKIP, "a2 c1 01 00 01 00", CBOR_OK},
        {"key equal to a value", OP_SKIP, "a2 01 02 02 01", CBOR_OK},
        {"key [1,2] and [1],2", OP_SKIP, "a2 82 01 02 00 81 01 02", CBOR_OK},
        /* trailing bytes */
        {"two items", OP_SKIP, "00 00", CBOR_ERR_TRAILING},
        {"map then byte", OP_SKIP, "a0 ff", CBOR_ERR_TRAILING},
        {"uint then null", OP_UINT, "01 f6", CBOR_ERR_TRAILING},
        {"bstr then byte", OP_BSTR, "41 00 00", CBOR_ERR_TRAILING},
        {"array with one too many", OP_SKIP, "82 01 02 03", CBOR_ERR_TRAILING},
        /* bad UTF-8, several classes */
        {"lone continuation", OP_TSTR, "61 80", CBOR_ERR_UTF8},
        {"continuation after ascii", OP_TSTR, "62 61 bf", CBOR_ERR_UTF8},
        {"overlong 2-byte c0", OP_TSTR, "62 c0 80", CBOR_ERR_UTF8},
        {"overlong 2-byte c1", OP_TSTR, "62 c1 bf", CBOR_ERR_UTF8},
        {"overlong 3-byte", OP_TSTR, "63 e0 80 80", CBOR_ERR_UTF8},
        {"overlong 3-byte U+07FF", OP_TSTR, "63 e0 9f bf", CBOR_ERR_UTF8},
        {"overlong 4-byte", OP_TSTR, "64 f0 80 80 80", CBOR_ERR_UTF8},
        {"overlong 4-byte U+FFFF", OP_TSTR, "64 f0 8f bf bf", CBOR_ERR_UTF8},
        {"surrogate U+D800", OP_TSTR, "63 ed a0 80", CBOR_ERR_UTF8},
        {"surrogate U+DFFF", OP_TSTR, "63 ed bf bf", CBOR_ERR_UTF8},
        {"surrogate pair as CESU-8", OP_TSTR, "66 eda081 edb080", CBOR_ERR_UTF8},
        {"above U+10FFFF (f4 90)", OP_TSTR, "64 f4 90 80 80", CBOR_ERR_UTF8},
        {"lead f5", OP_TSTR, "64 f5 80 80 80", CBOR_ERR_UTF8},
        {"lead f8 (5-byte form)", OP_TSTR, "65 f8 88 80 80 80", CBOR_ERR_UTF8},
        {"byte fe", OP_TSTR, "61 fe", CBOR_ERR_UTF8},
        {"byte ff", OP_TSTR, "61 ff", CBOR_ERR_UTF8},
        {"2-byte cut", OP_TSTR, "61 c3", CBOR_ERR_UTF8},
        {"3-byte cut", OP_TSTR, "62 e2 82", CBOR_ERR_UTF8},
        {"4-byte cut", OP_TSTR, "63 f0 9f 98", CBOR_ERR_UTF8},
        {"cut before next char", OP_TSTR, "62 c3 61", CBOR_ERR_UTF8},
        {"bad 2nd continuation", OP_TSTR, "63 e2 82 28", CBOR_ERR_UTF8},
        {"bad 3rd continuation", OP_TSTR, "64 f0 9f 98 c0", CBOR_ERR_UTF8},
        {"bad utf8 in skip", OP_SKIP, "81 61 ff", CBOR_ERR_UTF8},
        {"bad utf8 map key", OP_SKIP, "a1 62 c0 80 00", CBOR_ERR_UTF8},
        {"text read as bstr", OP_BSTR, "62 c0 80", CBOR_ERR_TYPE},
        {"bytes c0 80 in a bstr", OP_BSTR, "42 c0 80", CBOR_OK},
        {"U+0000", OP_TSTR, "61 00", CBOR_OK},
        {"U+007F", OP_TSTR, "61 7f", CBOR_OK},
        {"U+0080", OP_TSTR, "62 c2 80", CBOR_OK},
        {"U+07FF", OP_TSTR, "62 df bf", CBOR_OK},
        {"U+0800", OP_TSTR, "63 e0 a0 80", CBOR_OK},
        {"U+D7FF", OP_TSTR, "63 ed 9f bf", CBOR_OK},
        {"U+E000", OP_TSTR, "63 ee 80 80", CBOR_OK},
        {"U+FFFF", OP_TSTR, "63 ef bf bf", CBOR_OK},
        {"U+10000", OP_TSTR, "64 f0 90 80 80", CBOR_OK},
        {"U+10FFFF", OP_TSTR, "64 f4 8f bf bf", CBOR_OK},
        {"M\u00fcller + emoji", OP_TSTR, "6b 4dc3bc6c6c6572f09f9880", CBOR_OK},
        {"emoji cut by the length", OP_TSTR, "6a 4dc3bc6c6c6572f09f98", CBOR_ERR_UTF8},
        {"length one past the end", OP_TSTR, "6c 4dc3bc6c6c6572f09f9880", CBOR_ERR_TRUNCATED},
        /* int64 range edges */
        {"INT64_MAX", OP_INT, "1b 7fffffffffffffff", CBOR_OK},
        {"INT64_MAX + 1", OP_INT, "1b 8000000000000000", CBOR_ERR_RANGE},
        {"UINT64_MAX as int", OP_INT, "1b ffffffffffffffff", CBOR_ERR_RANGE},
        {"UINT64_MAX as uint", OP_UINT, "1b ffffffffffffffff", CBOR_OK},
        {"-2^63", OP_INT, "3b 7fffffffffffffff", CBOR_OK},
        {"-2^63 - 1", OP_INT, "3b 8000000000000000", CBOR_ERR_RANGE},
        {"-2^64", OP_INT, "3b ffffffffffffffff", CBOR_ERR_RANGE},
        {"-2^64 skipped", OP_SKIP, "3b ffffffffffffffff", CBOR_OK},
        /* wrong types (a well-formed head of another type) */
        {"nint as uint", OP_UINT, "20", CBOR_ERR_TYPE},
        {"bstr as int", OP_INT, "40", CBOR_ERR_TYPE},
        {"tstr as bstr", OP_BSTR, "60", CBOR_ERR_TYPE},
        {"bstr as tstr", OP_TSTR, "40", CBOR_ERR_TYPE},
        {"map as array", OP_ARRAY, "a0", CBOR_ERR_TYPE},
        {"array as map", OP_MAP, "80", CBOR_ERR_TYPE},
        {"uint as tag", OP_TAG, "00", CBOR_ERR_TYPE},
        {"tag as uint", OP_UINT, "c1 00", CBOR_ERR_TYPE},
        {"null as bool", OP_BOOL, "f6", CBOR_ERR_TYPE},
        {"0 as bool", OP_BOOL, "00", CBOR_ERR_TYPE},
        {"false as null", OP_NULL, "f4", CBOR_ERR_TYPE},
        {"empty bstr as null", OP_NULL, "40", CBOR_ERR_TYPE},
        /* a malformed head wins over the type asked for */
        {"non-minimal nint as uint", OP_UINT, "38 05", CBOR_ERR_NON_MINIMAL},
        {"indefinite map as array", OP_ARRAY, "bf ff", CBOR_ERR_INDEFINITE},
};

static enum cbor_status run_op(struct cbor_reader *r, enum op op)
{
	uint64_t u;
	int64_t i;
	const uint8_t *b;
	const char *t;
	size_t n;
	bool v;
	enum cbor_type type;

	switch (op) {
	case OP_SKIP:
		return cbor_skip(r);
	case OP_UINT:
		return cbor_read_uint(r, &u);
	case OP_INT:
		return cbor_read_int(r, &i);
	case OP_BSTR:
		return cbor_read_bstr(r, &b, &n);
	case OP_TSTR:
		return cbor_read_tstr(r, &t, &n);
	case OP_ARRAY:
		return cbor_read_array(r, &n);
	case OP_MAP:
		return cbor_read_map(r, &n);
	case OP_TAG:
		return cbor_read_tag(r, &u);
	case OP_BOOL:
		return cbor_read_bool(r, &v);
	case OP_NULL:
		return cbor_read_null(r);
	case OP_PEEK:
		return cbor_peek_type(r, &type);
	}
	fail_msg("bad op");
	return CBOR_OK;
}

static void test_table(void **state)
{
	(void)state;
	uint8_t buf[512];
	size_t failures = 0;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct bad_case *c = &cases[k];
		size_t len = hex(c->hex, buf, sizeof(buf));
		/* the input ends exactly where the hex does: copy to a heap block of that size */
		uint8_t *in = malloc(len > 0 ? len : 1);
		assert_non_null(in);
		memcpy(in, buf, len);
		struct cbor_reader r;
		cbor_reader_init(&r, in, len);
		enum cbor_status st = run_op(&r, c->op);
		if (st != CBOR_OK) {
			if (r.pos != 0) {
				print_error("%s: failed read moved the cursor to %zu\n", c->what,
				            r.pos);
				failures++;
			}
		} else if (c->op != OP_PEEK && c->op != OP_ARRAY && c->op != OP_MAP &&
		           c->op != OP_TAG) {
			if (r.pos == 0) {
				print_error("%s: read did not move the cursor\n", c->what);
				failures++;
			}
			st = cbor_expect_end(&r);
		}
		if (st != c->want) {
			print_error("%s [%s]: got %s, want %s\n", c->what, c->hex,
			            cbor_status_name(st), cbor_status_name(c->want));
			failures++;
		}
		free(in);
	}
	assert_int_equal(failures, 0);
}

static void test_status_names(void **state)
{
	(void)state;
	static const char *const names[] = {
	        "ok",       "truncated",     "non-minimal",    "indefinite-length", "wrong-type",
	        "too-deep", "duplicate-key", "trailing-bytes", "unsupported",       "out-of-range",
	        "bad-utf8", "no-space",      "too-many",
	};
	assert_int_equal(CBOR_ERR_TOO_MANY + 1, sizeof(names) / sizeof(names[0]));
	for (int s = CBOR_OK; s <= CBOR_ERR_TOO_MANY; s++)
		assert_string_equal(cbor_status_name((enum cbor_status)s), names[s]);
	assert_string_equal(cbor_status_name(CBOR_ERR_DUPLICATE_KEY), "duplicate-key");
	assert_non_null(cbor_status_name((enum cbor_status)99));
}

static void test_peek(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		enum cbor_type type;
	} p[] = {
	        {"00", CBOR_TYPE_UINT},   {"20", CBOR_TYPE_NINT},   {"40", CBOR_TYPE_BSTR},
	        {"60", CBOR_TYPE_TSTR},   {"80", CBOR_TYPE_ARRAY},  {"a0", CBOR_TYPE_MAP},
	        {"c1 00", CBOR_TYPE_TAG}, {"f4", CBOR_TYPE_SIMPLE}, {"f5", CBOR_TYPE_SIMPLE},
	        {"f6", CBOR_TYPE_SIMPLE},
	};
	for (size_t k = 0; k < sizeof(p) / sizeof(p[0]); k++) {
		uint8_t buf[4];
		size_t len = hex(p[k].hex, buf, sizeof(buf));
		struct cbor_reader r;
		cbor_reader_init(&r, buf, len);
		enum cbor_type type = (enum cbor_type) - 1;
		assert_int_equal(cbor_peek_type(&r, &type), CBOR_OK);
		assert_int_equal(type, p[k].type);
		assert_int_equal(r.pos, 0);
	}
}

/* A sequence read item by item; a failure in the middle leaves the cursor there. */
static void test_cursor(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t len = hex("a3 01 26 04 42 abcd 63 616263 d2 83 f5 f4 f6 f9 0000", buf, sizeof(buf));
	struct cbor_reader r;
	cbor_reader_init(&r, buf, len);
	size_t n;
	int64_t i;
	const uint8_t *b;
	const char *t;
	uint64_t tag;
	bool v;

	assert_int_equal(cbor_read_array(&r, &n), CBOR_ERR_TYPE);
	assert_int_equal(r.pos, 0);
	assert_int_equal(cbor_read_map(&r, &n), CBOR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(r.pos, 1);
	assert_int_equal(cbor_read_int(&r, &i), CBOR_OK);
	assert_int_equal(i, 1);
	assert_int_equal(cbor_read_int(&r, &i), CBOR_OK);
	assert_int_equal(i, -7);
	assert_int_equal(cbor_read_uint(&r, &tag), CBOR_OK);
	assert_int_equal(tag, 4);
	assert_int_equal(cbor_read_tstr(&r, &t, &n), CBOR_ERR_TYPE);
	assert_int_equal(r.pos, 4);
	assert_int_equal(cbor_read_bstr(&r, &b, &n), CBOR_OK);
	assert_int_equal(n, 2);
	assert_ptr_equal(b, buf + 5);
	assert_int_equal(cbor_read_bstr(&r, &b, &n), CBOR_ERR_TYPE);
	assert_int_equal(cbor_read_tstr(&r, &t, &n), CBOR_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(t, "abc", 3);
	assert_ptr_equal(t, (const char *)buf + 8);
	assert_int_equal(cbor_read_tag(&r, &tag), CBOR_OK);
	assert_int_equal(tag, 18);
	assert_int_equal(cbor_read_array(&r, &n), CBOR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(cbor_read_null(&r), CBOR_ERR_TYPE);
	assert_int_equal(cbor_read_bool(&r, &v), CBOR_OK);
	assert_true(v);
	assert_int_equal(cbor_read_bool(&r, &v), CBOR_OK);
	assert_false(v);
	assert_int_equal(cbor_read_bool(&r, &v), CBOR_ERR_TYPE);
	assert_int_equal(cbor_expect_end(&r), CBOR_ERR_TRAILING);
	assert_int_equal(cbor_read_null(&r), CBOR_OK);
	size_t at = r.pos;
	assert_int_equal(at, len - 3);
	assert_int_equal(cbor_skip(&r), CBOR_ERR_UNSUPPORTED);
	assert_int_equal(cbor_read_uint(&r, &tag), CBOR_ERR_UNSUPPORTED);
	assert_int_equal(r.pos, at);
	assert_int_equal(cbor_expect_end(&r), CBOR_ERR_TRAILING);

	/* skip moves over exactly one item, tags included */
	len = hex("c1 83 01 a1 61 61 82 02 03 40 07", buf, sizeof(buf));
	cbor_reader_init(&r, buf, len);
	assert_int_equal(cbor_skip(&r), CBOR_OK);
	assert_int_equal(r.pos, len - 1);
	assert_int_equal(cbor_read_int(&r, &i), CBOR_OK);
	assert_int_equal(i, 7);
	assert_int_equal(cbor_expect_end(&r), CBOR_OK);
	assert_int_equal(cbor_skip(&r), CBOR_ERR_TRUNCATED);
	assert_int_equal(r.pos, len);

	/* an empty or NULL input */
	cbor_reader_init(&r, NULL, 0);
	assert_int_equal(cbor_expect_end(&r), CBOR_OK);
	assert_int_equal(cbor_read_uint(&r, &tag), CBOR_ERR_TRUNCATED);
	assert_int_equal(cbor_skip(&r), CBOR_ERR_TRUNCATED);
}

struct int_vec {
	int64_t value;
	const char *hex;
};

static const struct int_vec int_vecs[] = {
        {0, "00"},
        {1, "01"},
        {23, "17"},
        {24, "1818"},
        {255, "18ff"},
        {256, "190100"},
        {65535, "19ffff"},
        {65536, "1a00010000"},
        {4294967295, "1affffffff"},
        {4294967296, "1b0000000100000000"},
        {INT64_MAX, "1b7fffffffffffffff"},
        {-1, "20"},
        {-24, "37"},
        {-25, "3818"},
        {-256, "38ff"},
        {-257, "390100"},
        {-65536, "39ffff"},
        {-65537, "3a00010000"},
        {-4294967296, "3affffffff"},
        {-4294967297, "3b0000000100000000"},
        {INT64_MIN + 1, "3b7ffffffffffffffe"},
        {INT64_MIN, "3b7fffffffffffffff"},
};

static void test_int_roundtrip(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(int_vecs) / sizeof(int_vecs[0]); k++) {
		uint8_t want[9], buf[16];
		size_t wl = hex(int_vecs[k].hex, want, sizeof(want));
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_int(&w, int_vecs[k].value);
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		assert_int_equal(w.len, wl);
		assert_memory_equal(buf, want, wl);

		struct cbor_reader r;
		cbor_reader_init(&r, buf, w.len);
		int64_t v = 0;
		assert_int_equal(cbor_read_int(&r, &v), CBOR_OK);
		assert_true(v == int_vecs[k].value);
		assert_int_equal(cbor_expect_end(&r), CBOR_OK);

		cbor_reader_init(&r, buf, w.len);
		uint64_t u = 0;
		if (int_vecs[k].value >= 0) {
			assert_int_equal(cbor_read_uint(&r, &u), CBOR_OK);
			assert_true(u == (uint64_t)int_vecs[k].value);
			/* put_uint gives the same bytes */
			cbor_writer_init(&w, buf, sizeof(buf));
			cbor_put_uint(&w, u);
			assert_int_equal(w.len, wl);
			assert_memory_equal(buf, want, wl);
		} else {
			assert_int_equal(cbor_read_uint(&r, &u), CBOR_ERR_TYPE);
			assert_int_equal(r.pos, 0);
		}
		/* every shorter input is truncated and moves nothing */
		for (size_t cut = 0; cut < wl; cut++) {
			cbor_reader_init(&r, want, cut);
			assert_int_equal(cbor_read_int(&r, &v), CBOR_ERR_TRUNCATED);
			assert_int_equal(r.pos, 0);
		}
	}
	/* uint boundaries past INT64_MAX */
	static const struct {
		uint64_t value;
		const char *hex;
	} u[] = {
	        {(uint64_t)INT64_MAX + 1, "1b8000000000000000"},
	        {UINT64_MAX, "1bffffffffffffffff"},
	};
	for (size_t k = 0; k < 2; k++) {
		uint8_t want[9], buf[9];
		size_t wl = hex(u[k].hex, want, sizeof(want));
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_uint(&w, u[k].value);
		assert_int_equal(w.len, wl);
		assert_memory_equal(buf, want, wl);
		struct cbor_reader r;
		cbor_reader_init(&r, buf, wl);
		uint64_t v;
		assert_int_equal(cbor_read_uint(&r, &v), CBOR_OK);
		assert_true(v == u[k].value);
		int64_t i;
		cbor_reader_init(&r, buf, wl);
		assert_int_equal(cbor_read_int(&r, &i), CBOR_ERR_RANGE);
		assert_int_equal(r.pos, 0);
	}
}

/* Tags and container heads use the same shortest-form rule. */
static void test_head_boundaries(void **state)
{
	(void)state;
	static const uint64_t vals[] = {0,     23,    24,          255,         256,
	                                65535, 65536, 4294967295u, 4294967296u, UINT64_MAX};
	static const size_t sizes[] = {1, 1, 2, 2, 3, 3, 5, 5, 9, 9};
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		uint8_t buf[16];
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_tag(&w, vals[k]);
		cbor_put_null(&w);
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		assert_int_equal(w.len, sizes[k] + 1);
		assert_int_equal(buf[0] >> 5, 6);
		struct cbor_reader r;
		cbor_reader_init(&r, buf, w.len);
		uint64_t tag;
		assert_int_equal(cbor_read_tag(&r, &tag), CBOR_OK);
		assert_true(tag == vals[k]);
		assert_int_equal(cbor_read_null(&r), CBOR_OK);
		assert_int_equal(cbor_expect_end(&r), CBOR_OK);

		/* array and map heads: the count is checked against the input */
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_array(&w, (size_t)vals[k]);
		assert_int_equal(w.len, sizes[k]);
		assert_int_equal(buf[0] >> 5, 4);
		cbor_reader_init(&r, buf, w.len);
		size_t n;
		assert_int_equal(cbor_read_array(&r, &n),
		                 vals[k] == 0 ? CBOR_OK : CBOR_ERR_TRUNCATED);
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_map(&w, (size_t)vals[k]);
		assert_int_equal(w.len, sizes[k]);
		assert_int_equal(buf[0] >> 5, 5);
	}
}

static void test_string_roundtrip(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 1, 23, 24, 255, 256, 65535, 65536};
	static const size_t heads[] = {1, 1, 1, 2, 2, 3, 3, 5};
	const size_t max = 65536;
	uint8_t *data = malloc(max);
	char *text = malloc(max);
	uint8_t *buf = malloc(max + 16);
	uint8_t *buf2 = malloc(max + 16);
	assert_non_null(data);
	assert_non_null(text);
	assert_non_null(buf);
	assert_non_null(buf2);
	for (size_t i = 0; i < max; i++) {
		data[i] = (uint8_t)(i * 131 + 7);
		text[i] = (char)('a' + i % 26);
	}
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		const size_t n = lens[k];
		struct cbor_writer w;
		struct cbor_reader r;
		const uint8_t *b;
		const char *t;
		size_t got;

		/* bstr */
		cbor_writer_init(&w, buf, max + 16);
		cbor_put_bstr(&w, data, n);
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		assert_int_equal(w.len, heads[k] + n);
		assert_int_equal(buf[0] >> 5, 2);
		cbor_reader_init(&r, buf, w.len);
		assert_int_equal(cbor_read_bstr(&r, &b, &got), CBOR_OK);
		assert_int_equal(got, n);
		assert_ptr_equal(b, buf + heads[k]);
		if (n > 0)
			assert_memory_equal(b, data, n);
		assert_int_equal(cbor_expect_end(&r), CBOR_OK);
		/* one byte short: truncated */
		cbor_reader_init(&r, buf, w.len - 1);
		assert_int_equal(cbor_read_bstr(&r, &b, &got), CBOR_ERR_TRUNCATED);
		assert_int_equal(r.pos, 0);

		/* bstr head + raw gives the same bytes */
		struct cbor_writer w2;
		cbor_writer_init(&w2, buf2, max + 16);
		cbor_put_bstr_head(&w2, n);
		cbor_put_raw(&w2, data, n);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(buf2, buf, w.len);

		/* tstr */
		cbor_writer_init(&w, buf, max + 16);
		cbor_put_tstr(&w, text, n);
		assert_int_equal(w.len, heads[k] + n);
		assert_int_equal(buf[0] >> 5, 3);
		cbor_reader_init(&r, buf, w.len);
		assert_int_equal(cbor_read_tstr(&r, &t, &got), CBOR_OK);
		assert_int_equal(got, n);
		if (n > 0)
			assert_memory_equal(t, text, n);
		assert_int_equal(cbor_expect_end(&r), CBOR_OK);
		cbor_reader_init(&r, buf, w.len);
		assert_int_equal(cbor_skip(&r), CBOR_OK);
		assert_int_equal(r.pos, w.len);
	}
	free(data);
	free(text);
	free(buf);
	free(buf2);
}

struct rfc_vec {
	const char *hex;
	void (*write)(struct cbor_writer *w);
};

/* RFC 8949 Appendix A, Table 6: the examples inside the accepted subset. */
static void a_0(struct cbor_writer *w)
{
	cbor_put_uint(w, 0);
}
static void a_1(struct cbor_writer *w)
{
	cbor_put_uint(w, 1);
}
static void a_10(struct cbor_writer *w)
{
	cbor_put_uint(w, 10);
}
static void a_23(struct cbor_writer *w)
{
	cbor_put_uint(w, 23);
}
static void a_24(struct cbor_writer *w)
{
	cbor_put_uint(w, 24);
}
static void a_25(struct cbor_writer *w)
{
	cbor_put_uint(w, 25);
}
static void a_100(struct cbor_writer *w)
{
	cbor_put_uint(w, 100);
}
static void a_1000(struct cbor_writer *w)
{
	cbor_put_uint(w, 1000);
}
static void a_1000000(struct cbor_writer *w)
{
	cbor_put_uint(w, 1000000);
}
static void a_1e12(struct cbor_writer *w)
{
	cbor_put_uint(w, 1000000000000u);
}
static void a_u64max(struct cbor_writer *w)
{
	cbor_put_uint(w, UINT64_MAX);
}
static void a_bignum(struct cbor_writer *w)
{
	static const uint8_t b[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
	cbor_put_tag(w, 2);
	cbor_put_bstr(w, b, sizeof(b));
}
static void a_n2_64(struct cbor_writer *w)
{
	/* -18446744073709551616 is outside int64: written as its raw head */
	static const uint8_t b[] = {0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	cbor_put_raw(w, b, sizeof(b));
}
static void a_neg_bignum(struct cbor_writer *w)
{
	static const uint8_t b[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
	cbor_put_tag(w, 3);
	cbor_put_bstr(w, b, sizeof(b));
}
static void a_m1(struct cbor_writer *w)
{
	cbor_put_int(w, -1);
}
static void a_m10(struct cbor_writer *w)
{
	cbor_put_int(w, -10);
}
static void a_m100(struct cbor_writer *w)
{
	cbor_put_int(w, -100);
}
static void a_m1000(struct cbor_writer *w)
{
	cbor_put_int(w, -1000);
}
static void a_false(struct cbor_writer *w)
{
	cbor_put_bool(w, false);
}
static void a_true(struct cbor_writer *w)
{
	cbor_put_bool(w, true);
}
static void a_null(struct cbor_writer *w)
{
	cbor_put_null(w);
}
static void a_tag0(struct cbor_writer *w)
{
	cbor_put_tag(w, 0);
	cbor_put_cstr(w, "2013-03-21T20:04:00Z");
}
static void a_tag1(struct cbor_writer *w)
{
	cbor_put_tag(w, 1);
	cbor_put_uint(w, 1363896240);
}
static void a_tag23(struct cbor_writer *w)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	cbor_put_tag(w, 23);
	cbor_put_bstr(w, b, sizeof(b));
}
static void a_tag24(struct cbor_writer *w)
{
	cbor_put_tag(w, 24);
	cbor_put_bstr(w, (const uint8_t *)"dIETF", 5);
}
static void a_tag32(struct cbor_writer *w)
{
	cbor_put_tag(w, 32);
	cbor_put_cstr(w, "http://www.example.com");
}
static void a_bstr0(struct cbor_writer *w)
{
	cbor_put_bstr(w, NULL, 0);
}
static void a_bstr4(struct cbor_writer *w)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	cbor_put_bstr(w, b, sizeof(b));
}
static void a_tstr0(struct cbor_writer *w)
{
	cbor_put_cstr(w, "");
}
static void a_tstr_a(struct cbor_writer *w)
{
	cbor_put_cstr(w, "a");
}
static void a_tstr_ietf(struct cbor_writer *w)
{
	cbor_put_cstr(w, "IETF");
}
static void a_tstr_esc(struct cbor_writer *w)
{
	cbor_put_cstr(w, "\"\\");
}
static void a_tstr_u00fc(struct cbor_writer *w)
{
	cbor_put_cstr(w, "\xc3\xbc");
}
static void a_tstr_u6c34(struct cbor_writer *w)
{
	cbor_put_cstr(w, "\xe6\xb0\xb4");
}
static void a_tstr_u10151(struct cbor_writer *w)
{
	cbor_put_tstr(w, "\xf0\x90\x85\x91", 4);
}
static void a_arr0(struct cbor_writer *w)
{
	cbor_put_array(w, 0);
}
static void a_arr123(struct cbor_writer *w)
{
	cbor_put_array(w, 3);
	cbor_put_uint(w, 1);
	cbor_put_uint(w, 2);
	cbor_put_uint(w, 3);
}
static void a_arr_nested(struct cbor_writer *w)
{
	cbor_put_array(w, 3);
	cbor_put_uint(w, 1);
	cbor_put_array(w, 2);
	cbor_put_uint(w, 2);
	cbor_put_uint(w, 3);
	cbor_put_array(w, 2);
	cbor_put_uint(w, 4);
	cbor_put_uint(w, 5);
}
static void a_arr25(struct cbor_writer *w)
{
	cbor_put_array(w, 25);
	for (uint64_t i = 1; i <= 25; i++)
		cbor_put_uint(w, i);
}
static void a_map0(struct cbor_writer *w)
{
	cbor_put_map(w, 0);
}
static void a_map1234(struct cbor_writer *w)
{
	cbor_put_map(w, 2);
	cbor_put_int(w, 1);
	cbor_put_int(w, 2);
	cbor_put_int(w, 3);
	cbor_put_int(w, 4);
}
static void a_map_ab(struct cbor_writer *w)
{
	cbor_put_map(w, 2);
	cbor_put_cstr(w, "a");
	cbor_put_uint(w, 1);
	cbor_put_cstr(w, "b");
	cbor_put_array(w, 2);
	cbor_put_uint(w, 2);
	cbor_put_uint(w, 3);
}
static void a_arr_map(struct cbor_writer *w)
{
	cbor_put_array(w, 2);
	cbor_put_cstr(w, "a");
	cbor_put_map(w, 1);
	cbor_put_cstr(w, "b");
	cbor_put_cstr(w, "c");
}
static void a_map5(struct cbor_writer *w)
{
	static const char *const k[] = {"a", "b", "c", "d", "e"};
	static const char *const v[] = {"A", "B", "C", "D", "E"};
	cbor_put_map(w, 5);
	for (int i = 0; i < 5; i++) {
		cbor_put_cstr(w, k[i]);
		cbor_put_cstr(w, v[i]);
	}
}

static const struct rfc_vec rfc_vecs[] = {
        {"00", a_0},
        {"01", a_1},
        {"0a", a_10},
        {"17", a_23},
        {"1818", a_24},
        {"1819", a_25},
        {"1864", a_100},
        {"1903e8", a_1000},
        {"1a000f4240", a_1000000},
        {"1b000000e8d4a51000", a_1e12},
        {"1bffffffffffffffff", a_u64max},
        {"c249010000000000000000", a_bignum},
        {"3bffffffffffffffff", a_n2_64},
        {"c349010000000000000000", a_neg_bignum},
        {"20", a_m1},
        {"29", a_m10},
        {"3863", a_m100},
        {"3903e7", a_m1000},
        {"f4", a_false},
        {"f5", a_true},
        {"f6", a_null},
        {"c074323031332d30332d32315432303a30343a30305a", a_tag0},
        {"c11a514b67b0", a_tag1},
        {"d74401020304", a_tag23},
        {"d818456449455446", a_tag24},
        {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", a_tag32},
        {"40", a_bstr0},
        {"4401020304", a_bstr4},
        {"60", a_tstr0},
        {"6161", a_tstr_a},
        {"6449455446", a_tstr_ietf},
        {"62225c", a_tstr_esc},
        {"62c3bc", a_tstr_u00fc},
        {"63e6b0b4", a_tstr_u6c34},
        {"64f0908591", a_tstr_u10151},
        {"80", a_arr0},
        {"83010203", a_arr123},
        {"8301820203820405", a_arr_nested},
        {"98190102030405060708090a0b0c0d0e0f101112131415161718181819", a_arr25},
        {"a0", a_map0},
        {"a201020304", a_map1234},
        {"a26161016162820203", a_map_ab},
        {"826161a161626163", a_arr_map},
        {"a56161614161626142616361436164614461656145", a_map5},
};

static void test_rfc8949_examples(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(rfc_vecs) / sizeof(rfc_vecs[0]); k++) {
		uint8_t want[64], buf[64];
		size_t wl = hex(rfc_vecs[k].hex, want, sizeof(want));
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		rfc_vecs[k].write(&w);
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		if (w.len != wl || memcmp(buf, want, wl) != 0)
			fail_msg("RFC 8949 example %s: encoded differently", rfc_vecs[k].hex);
		/* measuring gives the same length */
		struct cbor_writer m;
		cbor_writer_init(&m, NULL, 0);
		rfc_vecs[k].write(&m);
		assert_int_equal(m.len, wl);
		assert_int_equal(cbor_writer_status(&m), wl == 0 ? CBOR_OK : CBOR_ERR_NOSPACE);
		/* and the reader accepts it as one complete item */
		struct cbor_reader r;
		cbor_reader_init(&r, want, wl);
		if (cbor_skip(&r) != CBOR_OK || cbor_expect_end(&r) != CBOR_OK)
			fail_msg("RFC 8949 example %s: not accepted", rfc_vecs[k].hex);
	}
	/* Appendix A examples outside the subset are refused with their reason. */
	static const struct {
		const char *hex;
		enum cbor_status want;
	} out[] = {
	        {"f90000", CBOR_ERR_UNSUPPORTED}, /* 0.0 */
	        {"f98000", CBOR_ERR_UNSUPPORTED}, /* -0.0 */
	        {"f93c00", CBOR_ERR_UNSUPPORTED}, /* 1.0 */
	        {"fb3ff199999999999a", CBOR_ERR_UNSUPPORTED},
	        {"f97c00", CBOR_ERR_UNSUPPORTED},     /* Infinity */
	        {"fa7fc00000", CBOR_ERR_UNSUPPORTED}, /* NaN */
	        {"f7", CBOR_ERR_UNSUPPORTED},         /* undefined */
	        {"f0", CBOR_ERR_UNSUPPORTED},         /* simple(16) */
	        {"f8ff", CBOR_ERR_UNSUPPORTED},       /* simple(255) */
	        {"5f42010243030405ff", CBOR_ERR_INDEFINITE},
	        {"7f657374726561646d696e67ff", CBOR_ERR_INDEFINITE},
	        {"9fff", CBOR_ERR_INDEFINITE},
	        {"9f018202039f0405ffff", CBOR_ERR_INDEFINITE},
	        {"83018202039f0405ff", CBOR_ERR_INDEFINITE},
	        {"bf61610161629f0203ffff", CBOR_ERR_INDEFINITE},
	        {"826161bf61626163ff", CBOR_ERR_INDEFINITE},
	};
	for (size_t k = 0; k < sizeof(out) / sizeof(out[0]); k++) {
		uint8_t in[32];
		size_t len = hex(out[k].hex, in, sizeof(in));
		struct cbor_reader r;
		cbor_reader_init(&r, in, len);
		assert_int_equal(cbor_skip(&r), out[k].want);
		assert_int_equal(r.pos, 0);
	}
	/* -2^64 is well-formed but outside int64 */
	uint8_t n64[9];
	size_t l = hex("3bffffffffffffffff", n64, sizeof(n64));
	struct cbor_reader r;
	cbor_reader_init(&r, n64, l);
	int64_t v;
	assert_int_equal(cbor_read_int(&r, &v), CBOR_ERR_RANGE);
}

/* Maps inside cbor_skip: up to CBOR_MAP_KEYS_MAX entries, all keys compared. */
static void test_skip_map_limits(void **state)
{
	(void)state;
	for (size_t entries = 0; entries <= CBOR_MAP_KEYS_MAX + 1; entries++) {
		uint8_t buf[256];
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cbor_put_map(&w, entries);
		for (size_t i = 0; i < entries; i++) {
			cbor_put_int(&w, (int64_t)i * 1000 - 16000);
			cbor_put_uint(&w, i);
		}
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		struct cbor_reader r;
		cbor_reader_init(&r, buf, w.len);
		enum cbor_status st = cbor_skip(&r);
		assert_int_equal(st, entries <= CBOR_MAP_KEYS_MAX ? CBOR_OK : CBOR_ERR_TOO_MANY);
		if (entries < 2)
			continue;
		/* the last key repeating any earlier one is found */
		for (size_t dup = 0; dup + 1 < entries && entries <= CBOR_MAP_KEYS_MAX; dup++) {
			cbor_writer_init(&w, buf, sizeof(buf));
			cbor_put_map(&w, entries);
			for (size_t i = 0; i < entries; i++) {
				size_t key = i + 1 == entries ? dup : i;
				cbor_put_int(&w, (int64_t)key * 1000 - 16000);
				cbor_put_uint(&w, i);
			}
			cbor_reader_init(&r, buf, w.len);
			assert_int_equal(cbor_skip(&r), CBOR_ERR_DUPLICATE_KEY);
			assert_int_equal(r.pos, 0);
		}
	}
	/* arrays have no such limit: 65535 items, and nested maps at every level */
	size_t n = 65535;
	uint8_t *big = calloc(n + 3, 1);
	assert_non_null(big);
	big[0] = 0x99;
	big[1] = 0xff;
	big[2] = 0xff;
	struct cbor_reader r;
	cbor_reader_init(&r, big, n + 3);
	assert_int_equal(cbor_skip(&r), CBOR_OK);
	assert_int_equal(r.pos, n + 3);
	size_t count;
	cbor_reader_init(&r, big, n + 3);
	assert_int_equal(cbor_read_array(&r, &count), CBOR_OK);
	assert_int_equal(count, n);
	cbor_reader_init(&r, big, n + 2);
	assert_int_equal(cbor_read_array(&r, &count), CBOR_ERR_TRUNCATED);
	free(big);

	/* 16 levels of full 32-entry maps, the innermost last value nesting on */
	uint8_t *deep = malloc(16 * 200);
	assert_non_null(deep);
	struct cbor_writer w;
	cbor_writer_init(&w, deep, 16 * 200);
	for (int level = 0; level < 16; level++) {
		cbor_put_map(&w, CBOR_MAP_KEYS_MAX);
		for (int i = 0; i < CBOR_MAP_KEYS_MAX; i++) {
			char key[8];
			snprintf(key, sizeof(key), "k%d", i);
			cbor_put_cstr(&w, key);
			if (i + 1 < CBOR_MAP_KEYS_MAX)
				cbor_put_int(&w, -level);
		}
	}
	cbor_put_null(&w);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	cbor_reader_init(&r, deep, w.len);
	assert_int_equal(cbor_skip(&r), CBOR_OK);
	assert_int_equal(r.pos, w.len);
	free(deep);
}

/* A huge declared count in a short input fails at once, not after 2^32 steps. */
static void test_skip_huge_counts(void **state)
{
	(void)state;
	static const char *const hx[] = {
	        "9a ffffffff 00 00 00 00 00",    "9b 0000000100000000 00",
	        "81 81 9b ffffffffffffffff 00",  "a1 00 ba 80000000 00 00",
	        "82 9a 7fffffff 9a 7fffffff 00", "5b fffffffffffffff0 00",
	        "a1 7b ffffffffffffffff 61 00",
	};
	for (size_t k = 0; k < sizeof(hx) / sizeof(hx[0]); k++) {
		uint8_t in[32];
		size_t len = hex(hx[k], in, sizeof(in));
		struct cbor_reader r;
		cbor_reader_init(&r, in, len);
		assert_int_equal(cbor_skip(&r), CBOR_ERR_TRUNCATED);
		assert_int_equal(r.pos, 0);
	}
}

static void test_writer_overflow(void **state)
{
	(void)state;
	uint8_t mem[16];
	struct cbor_writer w;

	/* fits exactly */
	memset(mem, 0xee, sizeof(mem));
	cbor_writer_init(&w, mem, 4);
	cbor_put_uint(&w, 1000); /* 19 03e8 */
	cbor_put_null(&w);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	assert_int_equal(w.len, 4);
	assert_false(w.overflow);
	assert_int_equal(mem[4], 0xee);

	/* one byte more: sticky, counted, nothing past cap */
	cbor_put_bool(&w, true);
	assert_int_equal(cbor_writer_status(&w), CBOR_ERR_NOSPACE);
	assert_true(w.overflow);
	assert_int_equal(w.len, 5);
	assert_int_equal(mem[4], 0xee);

	/* an item that does not fit whole is not written in part */
	memset(mem, 0xee, sizeof(mem));
	cbor_writer_init(&w, mem, 6);
	cbor_put_uint(&w, 1);            /* 1 byte */
	cbor_put_uint(&w, 0x100000000u); /* 9 bytes: does not fit */
	assert_int_equal(w.len, 10);
	assert_int_equal(mem[1], 0xee);
	cbor_put_uint(&w, 2); /* would fit, but the overflow is sticky */
	cbor_put_cstr(&w, "ab");
	assert_int_equal(w.len, 14);
	for (size_t i = 1; i < sizeof(mem); i++)
		assert_int_equal(mem[i], 0xee);
	assert_int_equal(mem[0], 0x01);
	assert_int_equal(cbor_writer_status(&w), CBOR_ERR_NOSPACE);

	/* a string whose head fits but whose body does not */
	memset(mem, 0xee, sizeof(mem));
	cbor_writer_init(&w, mem, 3);
	cbor_put_bstr(&w, (const uint8_t *)"abcd", 4);
	assert_int_equal(w.len, 5);
	assert_int_equal(mem[0], 0x44);
	assert_int_equal(mem[3], 0xee);
	assert_int_equal(cbor_writer_status(&w), CBOR_ERR_NOSPACE);

	/* cap 0 with a NULL buffer measures */
	cbor_writer_init(&w, NULL, 0);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	cbor_put_tag(&w, 18);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, mem, 3);
	cbor_put_map(&w, 1);
	cbor_put_int(&w, 4);
	cbor_put_bstr_head(&w, 300);
	cbor_put_raw(&w, NULL, 0);
	cbor_put_tstr(&w, "xyz", 3);
	cbor_put_null(&w);
	assert_int_equal(w.len, 1 + 1 + 4 + 1 + 1 + 3 + 4 + 1);
	assert_int_equal(cbor_writer_status(&w), CBOR_ERR_NOSPACE);

	/* nothing written: no overflow, even with no buffer */
	cbor_writer_init(&w, NULL, 0);
	cbor_put_raw(&w, NULL, 0);
	assert_int_equal(w.len, 0);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
}

/* Negative ints are major type 1, -1-n; cstr is tstr of strlen. */
static void test_writer_forms(void **state)
{
	(void)state;
	uint8_t buf[32], want[32];
	struct cbor_writer w;
	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_put_int(&w, -7);
	cbor_put_int(&w, 7);
	cbor_put_cstr(&w, "Sign1");
	cbor_put_bool(&w, false);
	cbor_put_bool(&w, true);
	cbor_put_null(&w);
	cbor_put_raw(&w, (const uint8_t *)"\x01\x02", 2);
	size_t wl = hex("26 07 655369676e31 f4 f5 f6 0102", want, sizeof(want));
	assert_int_equal(w.len, wl);
	assert_memory_equal(buf, want, wl);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
}

static void test_int_keys(void **state)
{
	(void)state;
	struct cbor_int_keys keys;
	cbor_int_keys_init(&keys);
	assert_int_equal(keys.count, 0);
	assert_int_equal(cbor_int_keys_add(&keys, 1), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, -1), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, 1), CBOR_ERR_DUPLICATE_KEY);
	assert_int_equal(cbor_int_keys_add(&keys, -1), CBOR_ERR_DUPLICATE_KEY);
	assert_int_equal(keys.count, 2);
	assert_int_equal(cbor_int_keys_add(&keys, INT64_MIN), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, INT64_MAX), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, 0), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, INT64_MIN), CBOR_ERR_DUPLICATE_KEY);
	for (int64_t k = 100; keys.count < CBOR_MAP_KEYS_MAX; k++)
		assert_int_equal(cbor_int_keys_add(&keys, k), CBOR_OK);
	assert_int_equal(keys.count, CBOR_MAP_KEYS_MAX);
	/* full: a new key is too many, a repeated one is still a duplicate */
	assert_int_equal(cbor_int_keys_add(&keys, 99), CBOR_ERR_TOO_MANY);
	assert_int_equal(cbor_int_keys_add(&keys, 100 + 26), CBOR_ERR_DUPLICATE_KEY);
	assert_int_equal(cbor_int_keys_add(&keys, 0), CBOR_ERR_DUPLICATE_KEY);
	assert_int_equal(keys.count, CBOR_MAP_KEYS_MAX);
	/* init starts over */
	cbor_int_keys_init(&keys);
	assert_int_equal(keys.count, 0);
	assert_int_equal(cbor_int_keys_add(&keys, 1), CBOR_OK);
	assert_int_equal(cbor_int_keys_add(&keys, 99), CBOR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_status_names),
	        cmocka_unit_test(test_peek),
	        cmocka_unit_test(test_cursor),
	        cmocka_unit_test(test_int_roundtrip),
	        cmocka_unit_test(test_head_boundaries),
	        cmocka_unit_test(test_string_roundtrip),
	        cmocka_unit_test(test_rfc8949_examples),
	        cmocka_unit_test(test_skip_map_limits),
	        cmocka_unit_test(test_skip_huge_counts),
	        cmocka_unit_test(test_writer_overflow),
	        cmocka_unit_test(test_writer_forms),
	        cmocka_unit_test(test_int_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
