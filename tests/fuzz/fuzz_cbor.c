/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cbor - the CBOR reader over arbitrary bytes.
 *
 *  1. cbor_skip item after item from the start; every item it accepts is
 *     read again with the typed readers alone (walk) and written again with
 *     the writer: the reader takes only shortest forms and the writer writes
 *     only those, so the bytes must come back identical.  An item the typed
 *     walk accepts may be refused by cbor_skip only for what skip alone
 *     checks (duplicate keys, depth, map size).
 *  2. At every offset, every reader function: on success it consumed at
 *     least one byte and stayed inside the input, returned spans lie inside
 *     it (and are read through: ASan), the type agrees with cbor_peek_type;
 *     on failure the cursor is untouched and a bad head is reported before
 *     a wrong type.
 *  3. cbor_int_keys against a plain model.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/cbor.h"

#define WALK_DEPTH_MAX  64   /* more than CBOR_MAX_DEPTH: the walk accepts a superset */
#define SWEEP_OFFSETS   4096 /* offsets probed with every reader */
#define SKIP_OFFSETS    512  /* offsets probed with cbor_skip (linear each) */
#define INT_KEYS_PROBED 48

/*
 * Read one item with the typed readers and write it again into w.  No typed
 * reader returns a negative integer below INT64_MIN: that one item is taken
 * with cbor_skip and copied.
 */
static enum cbor_status walk(struct cbor_reader *r, struct cbor_writer *w, unsigned depth)
{
	for (;;) {
		enum cbor_type type;
		enum cbor_status st = cbor_peek_type(r, &type);
		if (st != CBOR_OK)
			return st;
		const size_t start = r->pos;
		switch (type) {
		case CBOR_TYPE_UINT: {
			uint64_t v;
			st = cbor_read_uint(r, &v);
			if (st == CBOR_OK)
				cbor_put_uint(w, v);
			return st;
		}
		case CBOR_TYPE_NINT: {
			int64_t v;
			st = cbor_read_int(r, &v);
			if (st == CBOR_ERR_RANGE) {
				st = cbor_skip(r);
				if (st == CBOR_OK)
					cbor_put_raw(w, r->buf + start, r->pos - start);
				return st;
			}
			if (st == CBOR_OK) {
				FUZZ_CHECK(v < 0);
				cbor_put_int(w, v);
			}
			return st;
		}
		case CBOR_TYPE_BSTR: {
			const uint8_t *p;
			size_t n;
			st = cbor_read_bstr(r, &p, &n);
			if (st == CBOR_OK) {
				FUZZ_CHECK(fuzz_inside(p, n, r->buf, r->len));
				(void)fuzz_touch(p, n);
				cbor_put_bstr(w, p, n);
			}
			return st;
		}
		case CBOR_TYPE_TSTR: {
			const char *p;
			size_t n;
			st = cbor_read_tstr(r, &p, &n);
			if (st == CBOR_OK) {
				FUZZ_CHECK(fuzz_inside((const uint8_t *)p, n, r->buf, r->len));
				(void)fuzz_touch((const uint8_t *)p, n);
				cbor_put_tstr(w, p, n);
			}
			return st;
		}
		case CBOR_TYPE_ARRAY:
		case CBOR_TYPE_MAP: {
			const bool is_map = type == CBOR_TYPE_MAP;
			size_t count;
			st = is_map ? cbor_read_map(r, &count) : cbor_read_array(r, &count);
			if (st != CBOR_OK)
				return st;
			if (depth >= WALK_DEPTH_MAX)
				return CBOR_ERR_DEPTH;
			if (is_map)
				cbor_put_map(w, count);
			else
				cbor_put_array(w, count);
			/* count was checked against the bytes left: no overflow, no long loop. */
			const size_t items = is_map ? 2 * count : count;
			for (size_t i = 0; i < items; i++) {
				st = walk(r, w, depth + 1);
				if (st != CBOR_OK)
					return st;
			}
			return CBOR_OK;
		}
		case CBOR_TYPE_TAG: {
			uint64_t tag;
			st = cbor_read_tag(r, &tag);
			if (st != CBOR_OK)
				return st;
			FUZZ_CHECK(r->pos < r->len); /* a tag is followed by its item */
			cbor_put_tag(w, tag);
			continue; /* the tagged item */
		}
		case CBOR_TYPE_SIMPLE: {
			bool b;
			st = cbor_read_bool(r, &b);
			if (st == CBOR_OK) {
				cbor_put_bool(w, b);
				return st;
			}
			FUZZ_CHECK(st == CBOR_ERR_TYPE);
			st = cbor_read_null(r);
			FUZZ_CHECK(st == CBOR_OK); /* peek accepts only false, true, null */
			cbor_put_null(w);
			return st;
		}
		}
		abort(); /* cbor_peek_type returned a type that does not exist */
	}
}

static struct cbor_reader reader_at(const uint8_t *data, size_t size, size_t pos)
{
	struct cbor_reader r;
	cbor_reader_init(&r, data, size);
	r.pos = pos;
	return r;
}

/* cbor_skip at pos: an item it takes, the typed walk takes too and writes back identically. */
static void skip_and_walk(const uint8_t *data, size_t size, size_t pos, size_t *end)
{
	struct cbor_reader r = reader_at(data, size, pos);
	enum cbor_status st = cbor_skip(&r);
	FUZZ_CHECK(cbor_status_name(st) != NULL);

	struct cbor_reader wr = reader_at(data, size, pos);
	struct cbor_writer counter;
	cbor_writer_init(&counter, NULL, 0);
	enum cbor_status wst = walk(&wr, &counter, 0);

	*end = pos;
	if (st != CBOR_OK) {
		FUZZ_CHECK(r.pos == pos);
		if (wst == CBOR_OK)
			FUZZ_CHECK(st == CBOR_ERR_DUPLICATE_KEY || st == CBOR_ERR_DEPTH ||
			           st == CBOR_ERR_TOO_MANY);
		return;
	}
	FUZZ_CHECK(r.pos > pos && r.pos <= size);
	FUZZ_CHECK(wst == CBOR_OK && wr.pos == r.pos);
	const size_t span = r.pos - pos;
	FUZZ_CHECK(counter.len == span); /* a writer without a buffer counts */

	/* Written again into a buffer of exactly the item's size: the same bytes. */
	uint8_t *buf = fuzz_alloc(span);
	struct cbor_writer w;
	cbor_writer_init(&w, buf, span);
	wr = reader_at(data, size, pos);
	FUZZ_CHECK(walk(&wr, &w, 0) == CBOR_OK);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK && w.len == span);
	FUZZ_CHECK(memcmp(buf, data + pos, span) == 0);
	free(buf);

	/* One byte short: the overflow is reported and nothing is written past the end. */
	uint8_t *small = fuzz_alloc(span - 1);
	cbor_writer_init(&w, small, span - 1);
	wr = reader_at(data, size, pos);
	FUZZ_CHECK(walk(&wr, &w, 0) == CBOR_OK);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_ERR_NOSPACE && w.len == span);
	free(small);
	*end = r.pos;
}

/* Check a failed read: cursor untouched; a bad head reported before a wrong type. */
static void check_failed(const struct cbor_reader *r, size_t pos, enum cbor_status st,
                         enum cbor_status peek)
{
	FUZZ_CHECK(st != CBOR_OK);
	FUZZ_CHECK(r->pos == pos);
	if (peek != CBOR_OK)
		FUZZ_CHECK(st == peek);
}

static void check_taken(const struct cbor_reader *r, size_t pos, enum cbor_status peek)
{
	FUZZ_CHECK(peek == CBOR_OK);
	FUZZ_CHECK(r->pos > pos && r->pos <= r->len);
}

/* Every reader at pos. */
static void probe(const uint8_t *data, size_t size, size_t pos)
{
	const struct cbor_reader base = reader_at(data, size, pos);
	enum cbor_type type = CBOR_TYPE_UINT;
	const enum cbor_status peek = cbor_peek_type(&base, &type);
	const size_t left = size - pos; /* pos <= size */
	struct cbor_reader r;
	enum cbor_status st;

	uint64_t u = 0;
	r = base;
	st = cbor_read_uint(&r, &u);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_UINT);
	} else {
		check_failed(&r, pos, st, peek);
		FUZZ_CHECK(peek != CBOR_OK || type != CBOR_TYPE_UINT);
	}
	const enum cbor_status uint_st = st;

	int64_t i = 0;
	r = base;
	st = cbor_read_int(&r, &i);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_UINT || type == CBOR_TYPE_NINT);
		FUZZ_CHECK((type == CBOR_TYPE_UINT) == (i >= 0));
		if (uint_st == CBOR_OK)
			FUZZ_CHECK((uint64_t)i == u);
	} else {
		check_failed(&r, pos, st, peek);
		if (peek == CBOR_OK && (type == CBOR_TYPE_UINT || type == CBOR_TYPE_NINT))
			FUZZ_CHECK(st == CBOR_ERR_RANGE);
		if (st == CBOR_ERR_RANGE && uint_st == CBOR_OK)
			FUZZ_CHECK(u > (uint64_t)INT64_MAX);
	}

	const uint8_t *p = NULL;
	size_t n = 0;
	r = base;
	st = cbor_read_bstr(&r, &p, &n);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_BSTR);
		FUZZ_CHECK(fuzz_inside(p, n, data, size) && p + n == data + r.pos);
		(void)fuzz_touch(p, n);
	} else {
		check_failed(&r, pos, st, peek);
	}

	const char *t = NULL;
	r = base;
	st = cbor_read_tstr(&r, &t, &n);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_TSTR);
		FUZZ_CHECK(fuzz_inside((const uint8_t *)t, n, data, size));
		(void)fuzz_touch((const uint8_t *)t, n);
	} else {
		check_failed(&r, pos, st, peek);
		if (st == CBOR_ERR_UTF8)
			FUZZ_CHECK(type == CBOR_TYPE_TSTR);
	}

	size_t count = 0;
	r = base;
	st = cbor_read_array(&r, &count);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_ARRAY && count <= size - r.pos);
	} else {
		check_failed(&r, pos, st, peek);
	}

	r = base;
	st = cbor_read_map(&r, &count);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_MAP && count <= (size - r.pos) / 2);
	} else {
		check_failed(&r, pos, st, peek);
	}

	uint64_t tag = 0;
	r = base;
	st = cbor_read_tag(&r, &tag);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_TAG && r.pos < size);
	} else {
		check_failed(&r, pos, st, peek);
	}

	bool b = false;
	r = base;
	st = cbor_read_bool(&r, &b);
	const bool bool_ok = st == CBOR_OK;
	if (bool_ok) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_SIMPLE && r.pos == pos + 1);
	} else {
		check_failed(&r, pos, st, peek);
	}

	r = base;
	st = cbor_read_null(&r);
	if (st == CBOR_OK) {
		check_taken(&r, pos, peek);
		FUZZ_CHECK(type == CBOR_TYPE_SIMPLE && r.pos == pos + 1);
	} else {
		check_failed(&r, pos, st, peek);
	}
	if (peek == CBOR_OK && type == CBOR_TYPE_SIMPLE)
		FUZZ_CHECK(bool_ok != (st == CBOR_OK)); /* false/true or null, one of them */

	FUZZ_CHECK((cbor_expect_end(&base) == CBOR_OK) == (left == 0));
}

/* A cursor past the end (a caller's bug) is refused by every function. */
static void probe_past_end(const uint8_t *data, size_t size)
{
	struct cbor_reader r = reader_at(data, size, size + 1);
	enum cbor_type type;
	uint64_t u;
	int64_t i;
	const uint8_t *p;
	const char *t;
	size_t n;
	bool b;
	FUZZ_CHECK(cbor_peek_type(&r, &type) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_uint(&r, &u) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_int(&r, &i) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_bstr(&r, &p, &n) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_tstr(&r, &t, &n) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_array(&r, &n) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_map(&r, &n) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_tag(&r, &u) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_bool(&r, &b) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_read_null(&r) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(cbor_skip(&r) == CBOR_ERR_TRUNCATED);
	FUZZ_CHECK(r.pos == size + 1);
	FUZZ_CHECK(cbor_expect_end(&r) == CBOR_ERR_TRAILING);
}

/* The input read as 8-byte keys, against a plain list. */
static void int_keys(const uint8_t *data, size_t size)
{
	struct cbor_int_keys keys;
	int64_t model[INT_KEYS_PROBED];
	size_t n = 0;
	cbor_int_keys_init(&keys);
	for (size_t k = 0; k < INT_KEYS_PROBED && 8 * k + 8 <= size; k++) {
		uint64_t v = 0;
		for (size_t j = 0; j < 8; j++)
			v = v << 8 | data[8 * k + j];
		/*
		 * 128 distinct values (the sign bit and six low bits): repeats
		 * happen, and so do more than CBOR_MAP_KEYS_MAX distinct keys.
		 */
		const int64_t key = (int64_t)(v & 0x800000000000003fu);
		bool seen = false;
		for (size_t m = 0; m < n; m++)
			seen = seen || model[m] == key;
		enum cbor_status want = seen                     ? CBOR_ERR_DUPLICATE_KEY
		                        : n >= CBOR_MAP_KEYS_MAX ? CBOR_ERR_TOO_MANY
		                                                 : CBOR_OK;
		FUZZ_CHECK(cbor_int_keys_add(&keys, key) == want);
		if (want == CBOR_OK)
			model[n++] = key;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 1: a sequence of items from the start. */
	size_t pos = 0;
	while (pos < size) {
		size_t end;
		skip_and_walk(data, size, pos, &end);
		if (end == pos)
			break;
		pos = end;
	}
	struct cbor_reader r = reader_at(data, size, pos);
	FUZZ_CHECK((cbor_expect_end(&r) == CBOR_OK) == (pos == size));

	/* 2: every reader at every offset (and cbor_skip at the first few). */
	for (size_t off = 0; off <= size && off < SWEEP_OFFSETS; off++) {
		probe(data, size, off);
		if (off < SKIP_OFFSETS && off > 0) {
			size_t end;
			skip_and_walk(data, size, off, &end);
		}
	}
	probe_past_end(data, size);

	struct cbor_reader empty;
	cbor_reader_init(&empty, NULL, 7);
	FUZZ_CHECK(empty.len == 0 && cbor_skip(&empty) == CBOR_ERR_TRUNCATED);

	/* 3 */
	int_keys(data, size);
	return 0;
}
