/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cbor.c - a small, strict, bounded CBOR reader and writer (see cbor.h).
 *
 * Every read starts by decoding the head of the next item (parse_head), which
 * enforces the accepted subset: no reserved additional information (28-30),
 * no indefinite lengths or break, shortest-form arguments only, and of the
 * major type 7 values only false, true and null.  Errors of the head come
 * before a type mismatch: a read of the wrong type over a malformed head
 * reports the malformation.  Lengths and counts are compared with the bytes
 * remaining before anything is done with them, so a declared length of
 * 2^64-1 is simply CBOR_ERR_TRUNCATED.
 *
 * Nothing here allocates.  cbor_skip() is iterative with a fixed stack of
 * CBOR_MAX_DEPTH frames (about 8.5 KiB, see struct skip_frame).
 */
#include "qrdesk/cbor.h"

#include <string.h>

struct head {
	unsigned major; /* 0..7 */
	uint64_t arg;   /* the argument: value, length, count, tag, simple value */
	size_t size;    /* bytes taken by the head itself */
};

/* The smallest argument for additional information 24..27. */
static const uint64_t arg_min[4] = {24, 0x100, 0x10000, 0x100000000u};

static enum cbor_status parse_head(const uint8_t *buf, size_t len, size_t pos, struct head *h)
{
	if (pos >= len)
		return CBOR_ERR_TRUNCATED;
	const uint8_t ib = buf[pos];
	const unsigned major = ib >> 5, ai = ib & 0x1f;
	const size_t avail = len - pos - 1; /* bytes after the initial byte */

	h->major = major;
	if (ai >= 28 && ai <= 30)
		return CBOR_ERR_UNSUPPORTED; /* reserved in RFC 8949 */
	if (ai == 31)
		/*
		 * Indefinite-length strings, arrays and maps, and the break
		 * (0xff); for majors 0, 1 and 6 it is not well-formed at all,
		 * reported the same way.
		 */
		return CBOR_ERR_INDEFINITE;
	if (major == 7) {
		switch (ai) {
		case 20: /* false */
		case 21: /* true */
		case 22: /* null */
			h->arg = ai;
			h->size = 1;
			return CBOR_OK;
		case 24:
			/* A one-byte simple value below 32 must use the short form. */
			if (avail < 1)
				return CBOR_ERR_TRUNCATED;
			return buf[pos + 1] < 32 ? CBOR_ERR_NON_MINIMAL : CBOR_ERR_UNSUPPORTED;
		default:
			/* Unassigned simple values, undefined (23), floats (25-27). */
			return CBOR_ERR_UNSUPPORTED;
		}
	}
	if (ai < 24) {
		h->arg = ai;
		h->size = 1;
		return CBOR_OK;
	}
	const size_t n = (size_t)1 << (ai - 24); /* 1, 2, 4 or 8 bytes */
	if (avail < n)
		return CBOR_ERR_TRUNCATED;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | buf[pos + 1 + i];
	if (v < arg_min[ai - 24])
		return CBOR_ERR_NON_MINIMAL;
	h->arg = v;
	h->size = 1 + n;
	return CBOR_OK;
}

/* Unicode's well-formed UTF-8 (Table 3-7): no overlongs, surrogates, or > U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t c = s[i];
		size_t more;
		uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c == 0xe0) {
			more = 2;
			lo = 0xa0; /* overlong below U+0800 */
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
			more = 2;
		} else if (c == 0xed) {
			more = 2;
			hi = 0x9f; /* U+D800..U+DFFF are surrogates */
		} else if (c == 0xf0) {
			more = 3;
			lo = 0x90; /* overlong below U+10000 */
		} else if (c >= 0xf1 && c <= 0xf3) {
			more = 3;
		} else if (c == 0xf4) {
			more = 3;
			hi = 0x8f; /* above U+10FFFF */
		} else {
			return false; /* continuation byte, 0xc0/0xc1, 0xf5..0xff */
		}
		if (n - i - 1 < more)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += 1 + more;
	}
	return true;
}

void cbor_reader_init(struct cbor_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = buf != NULL ? len : 0;
	r->pos = 0;
}

static enum cbor_status reader_head(const struct cbor_reader *r, struct head *h)
{
	if (r->pos > r->len)
		return CBOR_ERR_TRUNCATED;
	return parse_head(r->buf, r->len, r->pos, h);
}

/* Bytes left after a head at the cursor. */
static size_t remaining_after(const struct cbor_reader *r, const struct head *h)
{
	return r->len - r->pos - h->size;
}

enum cbor_status cbor_peek_type(const struct cbor_reader *r, enum cbor_type *type)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	*type = (enum cbor_type)h.major;
	return CBOR_OK;
}

enum cbor_status cbor_read_uint(struct cbor_reader *r, uint64_t *value)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 0)
		return CBOR_ERR_TYPE;
	*value = h.arg;
	r->pos += h.size;
	return CBOR_OK;
}

enum cbor_status cbor_read_int(struct cbor_reader *r, int64_t *value)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 0 && h.major != 1)
		return CBOR_ERR_TYPE;
	/* Major 0: n must be <= INT64_MAX; major 1: -1-n >= INT64_MIN, the same bound. */
	if (h.arg > (uint64_t)INT64_MAX)
		return CBOR_ERR_RANGE;
	*value = h.major == 0 ? (int64_t)h.arg : -1 - (int64_t)h.arg;
	r->pos += h.size;
	return CBOR_OK;
}

static enum cbor_status read_string(struct cbor_reader *r, unsigned major, const uint8_t **data,
                                    size_t *len)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != major)
		return CBOR_ERR_TYPE;
	if (h.arg > remaining_after(r, &h))
		return CBOR_ERR_TRUNCATED;
	const uint8_t *p = r->buf + r->pos + h.size;
	if (major == 3 && !utf8_valid(p, (size_t)h.arg))
		return CBOR_ERR_UTF8;
	*data = p;
	*len = (size_t)h.arg;
	r->pos += h.size + (size_t)h.arg;
	return CBOR_OK;
}

enum cbor_status cbor_read_bstr(struct cbor_reader *r, const uint8_t **data, size_t *len)
{
	return read_string(r, 2, data, len);
}

enum cbor_status cbor_read_tstr(struct cbor_reader *r, const char **text, size_t *len)
{
	const uint8_t *p;
	enum cbor_status st = read_string(r, 3, &p, len);
	if (st == CBOR_OK)
		*text = (const char *)p;
	return st;
}

/*
 * Every item takes at least one byte, so an array of n items needs n bytes
 * and a map of n entries 2n: a larger count is truncated input, found here
 * before any caller loops over it.
 */
enum cbor_status cbor_read_array(struct cbor_reader *r, size_t *count)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 4)
		return CBOR_ERR_TYPE;
	if (h.arg > remaining_after(r, &h))
		return CBOR_ERR_TRUNCATED;
	*count = (size_t)h.arg;
	r->pos += h.size;
	return CBOR_OK;
}

enum cbor_status cbor_read_map(struct cbor_reader *r, size_t *count)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 5)
		return CBOR_ERR_TYPE;
	if (h.arg > remaining_after(r, &h) / 2)
		return CBOR_ERR_TRUNCATED;
	*count = (size_t)h.arg;
	r->pos += h.size;
	return CBOR_OK;
}

/* A tag must be followed by its item, so a tag at the very end is truncated. */
enum cbor_status cbor_read_tag(struct cbor_reader *r, uint64_t *tag)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 6)
		return CBOR_ERR_TYPE;
	if (remaining_after(r, &h) == 0)
		return CBOR_ERR_TRUNCATED;
	*tag = h.arg;
	r->pos += h.size;
	return CBOR_OK;
}

enum cbor_status cbor_read_bool(struct cbor_reader *r, bool *value)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 7 || (h.arg != 20 && h.arg != 21))
		return CBOR_ERR_TYPE;
	*value = h.arg == 21;
	r->pos += h.size;
	return CBOR_OK;
}

enum cbor_status cbor_read_null(struct cbor_reader *r)
{
	struct head h;
	enum cbor_status st = reader_head(r, &h);
	if (st != CBOR_OK)
		return st;
	if (h.major != 7 || h.arg != 22)
		return CBOR_ERR_TYPE;
	r->pos += h.size;
	return CBOR_OK;
}

/*
 * One open container in cbor_skip.  For maps the keys read so far are kept
 * as spans of the input so that a repeated key (the same encoded bytes) is
 * found; a map inside a skipped item may therefore have at most
 * CBOR_MAP_KEYS_MAX entries, a larger one is refused with CBOR_ERR_TOO_MANY.
 * Arrays have no such limit.  16 frames of ~536 bytes: about 8.5 KiB.
 */
struct skip_frame {
	uint64_t left;    /* items still to come (a map counts keys and values) */
	size_t key_start; /* maps: where the key being read began */
	bool is_map;
	size_t nkeys;
	struct {
		size_t off;
		size_t len;
	} keys[CBOR_MAP_KEYS_MAX];
};

static enum cbor_status map_key_done(const uint8_t *buf, struct skip_frame *f, size_t end)
{
	const size_t off = f->key_start, len = end - f->key_start;

	for (size_t i = 0; i < f->nkeys; i++)
		if (f->keys[i].len == len && memcmp(buf + f->keys[i].off, buf + off, len) == 0)
			return CBOR_ERR_DUPLICATE_KEY;
	/* nkeys < CBOR_MAP_KEYS_MAX: larger maps were refused at their head. */
	f->keys[f->nkeys].off = off;
	f->keys[f->nkeys].len = len;
	f->nkeys++;
	return CBOR_OK;
}

/*
 * Skip one item.  Nesting is counted from the item skipped: it may itself be
 * a container at level 1, and containers at level CBOR_MAX_DEPTH + 1 are
 * refused.  Tags do not count as nesting (a tag and its item are one item);
 * any tag number is accepted.  The work is linear in the input: every item
 * and every tag head takes at least one byte.
 */
enum cbor_status cbor_skip(struct cbor_reader *r)
{
	struct skip_frame stack[CBOR_MAX_DEPTH];
	size_t depth = 0;
	size_t p = r->pos;
	bool after_tag = false;
	const uint8_t *buf = r->buf;
	const size_t len = r->len;

	if (p > len)
		return CBOR_ERR_TRUNCATED;
	for (;;) {
		struct skip_frame *top = depth > 0 ? &stack[depth - 1] : NULL;
		if (top != NULL && top->is_map && top->left % 2 == 0 && !after_tag)
			top->key_start = p;

		struct head h;
		enum cbor_status st = parse_head(buf, len, p, &h);
		if (st != CBOR_OK)
			return st;
		p += h.size;
		const size_t rem = len - p;
		after_tag = false;

		switch (h.major) {
		case 0:
		case 1:
		case 7:
			break;
		case 2:
		case 3:
			if (h.arg > rem)
				return CBOR_ERR_TRUNCATED;
			if (h.major == 3 && !utf8_valid(buf + p, (size_t)h.arg))
				return CBOR_ERR_UTF8;
			p += (size_t)h.arg;
			break;
		case 6:
			after_tag = true;
			continue; /* the tagged item follows */
		case 4:
		case 5: {
			const bool is_map = h.major == 5;
			if (is_map ? h.arg > rem / 2 : h.arg > rem)
				return CBOR_ERR_TRUNCATED;
			if (depth == CBOR_MAX_DEPTH)
				return CBOR_ERR_DEPTH;
			if (is_map && h.arg > CBOR_MAP_KEYS_MAX)
				return CBOR_ERR_TOO_MANY;
			if (h.arg == 0)
				break; /* an empty container is complete */
			struct skip_frame *f = &stack[depth++];
			f->left = is_map ? 2 * h.arg : h.arg;
			f->is_map = is_map;
			f->nkeys = 0;
			f->key_start = 0;
			continue;
		}
		}

		/* An item ended at p: count it in its container, closing those done. */
		while (depth > 0) {
			struct skip_frame *f = &stack[depth - 1];
			if (f->is_map && f->left % 2 == 0) {
				st = map_key_done(buf, f, p);
				if (st != CBOR_OK)
					return st;
			}
			if (--f->left > 0)
				break;
			depth--; /* the container itself is an item of the one outside */
		}
		if (depth == 0) {
			r->pos = p;
			return CBOR_OK;
		}
	}
}

enum cbor_status cbor_expect_end(const struct cbor_reader *r)
{
	return r->pos == r->len ? CBOR_OK : CBOR_ERR_TRAILING;
}

const char *cbor_status_name(enum cbor_status status)
{
	switch (status) {
	case CBOR_OK:
		return "ok";
	case CBOR_ERR_TRUNCATED:
		return "truncated";
	case CBOR_ERR_NON_MINIMAL:
		return "non-minimal";
	case CBOR_ERR_INDEFINITE:
		return "indefinite-length";
	case CBOR_ERR_TYPE:
		return "wrong-type";
	case CBOR_ERR_DEPTH:
		return "too-deep";
	case CBOR_ERR_DUPLICATE_KEY:
		return "duplicate-key";
	case CBOR_ERR_TRAILING:
		return "trailing-bytes";
	case CBOR_ERR_UNSUPPORTED:
		return "unsupported";
	case CBOR_ERR_RANGE:
		return "out-of-range";
	case CBOR_ERR_UTF8:
		return "bad-utf8";
	case CBOR_ERR_NOSPACE:
		return "no-space";
	case CBOR_ERR_TOO_MANY:
		return "too-many";
	}
	return "unknown";
}

void cbor_int_keys_init(struct cbor_int_keys *keys)
{
	keys->count = 0;
}

enum cbor_status cbor_int_keys_add(struct cbor_int_keys *keys, int64_t key)
{
	for (size_t i = 0; i < keys->count; i++)
		if (keys->seen[i] == key)
			return CBOR_ERR_DUPLICATE_KEY;
	if (keys->count >= CBOR_MAP_KEYS_MAX)
		return CBOR_ERR_TOO_MANY;
	keys->seen[keys->count++] = key;
	return CBOR_OK;
}

/* ---- writer ---- */

void cbor_writer_init(struct cbor_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf != NULL ? cap : 0;
	w->len = 0;
	w->overflow = false;
}

/* Append n bytes, or after an overflow only count them (saturating). */
static void emit(struct cbor_writer *w, const void *data, size_t n)
{
	if (n == 0)
		return;
	if (!w->overflow && n <= w->cap - w->len)
		memcpy(w->buf + w->len, data, n);
	else
		w->overflow = true;
	w->len = n > SIZE_MAX - w->len ? SIZE_MAX : w->len + n;
}

static void put_head(struct cbor_writer *w, unsigned major, uint64_t arg)
{
	uint8_t b[9];
	size_t n;
	const uint8_t mt = (uint8_t)(major << 5);

	if (arg < 24) {
		b[0] = (uint8_t)(mt | arg);
		n = 1;
	} else if (arg <= 0xff) {
		b[0] = mt | 24;
		n = 2;
	} else if (arg <= 0xffff) {
		b[0] = mt | 25;
		n = 3;
	} else if (arg <= 0xffffffffu) {
		b[0] = mt | 26;
		n = 5;
	} else {
		b[0] = mt | 27;
		n = 9;
	}
	for (size_t i = 1; i < n; i++)
		b[i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
	emit(w, b, n);
}

void cbor_put_uint(struct cbor_writer *w, uint64_t value)
{
	put_head(w, 0, value);
}

void cbor_put_int(struct cbor_writer *w, int64_t value)
{
	if (value >= 0)
		put_head(w, 0, (uint64_t)value);
	else
		put_head(w, 1, (uint64_t)(-(value + 1))); /* -1 - value, no overflow */
}

void cbor_put_bstr(struct cbor_writer *w, const uint8_t *data, size_t len)
{
	put_head(w, 2, len);
	emit(w, data, len);
}

void cbor_put_tstr(struct cbor_writer *w, const char *text, size_t len)
{
	put_head(w, 3, len);
	emit(w, text, len);
}

void cbor_put_cstr(struct cbor_writer *w, const char *text)
{
	cbor_put_tstr(w, text, strlen(text));
}

void cbor_put_array(struct cbor_writer *w, size_t count)
{
	put_head(w, 4, count);
}

void cbor_put_map(struct cbor_writer *w, size_t count)
{
	put_head(w, 5, count);
}

void cbor_put_tag(struct cbor_writer *w, uint64_t tag)
{
	put_head(w, 6, tag);
}

void cbor_put_bool(struct cbor_writer *w, bool value)
{
	const uint8_t b = value ? 0xf5 : 0xf4;
	emit(w, &b, 1);
}

void cbor_put_null(struct cbor_writer *w)
{
	const uint8_t b = 0xf6;
	emit(w, &b, 1);
}

void cbor_put_bstr_head(struct cbor_writer *w, size_t len)
{
	put_head(w, 2, len);
}

void cbor_put_raw(struct cbor_writer *w, const uint8_t *data, size_t len)
{
	emit(w, data, len);
}

enum cbor_status cbor_writer_status(const struct cbor_writer *w)
{
	return w->overflow ? CBOR_ERR_NOSPACE : CBOR_OK;
}

enum cbor_status cbor_read_int_key(struct cbor_reader *r, struct cbor_int_keys *seen, int64_t *key)
{
	enum cbor_status st = cbor_read_int(r, key);
	if (st == CBOR_OK)
		st = cbor_int_keys_add(seen, *key);
	return st;
}

enum cbor_status cbor_read_time(struct cbor_reader *r, int64_t *out)
{
	uint64_t v;
	enum cbor_status st = cbor_read_uint(r, &v);
	if (st == CBOR_OK && v > (uint64_t)INT64_MAX)
		st = CBOR_ERR_RANGE;
	if (st == CBOR_OK)
		*out = (int64_t)v;
	return st;
}

enum qd_err cbor_field_error(struct qd_errmsg *why, const char *field, enum cbor_status st)
{
	if (st != CBOR_OK)
		qd_errmsg_set(why, "%s: %s", field, cbor_status_name(st));
	else
		qd_errmsg_set(why, "%s: invalid value", field);
	return QD_ERR_FORMAT;
}
