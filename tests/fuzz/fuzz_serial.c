/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_serial - the serial scanner's framer (drivers/serial_framer.c) over
 * arbitrary bytes, fed in arbitrary pieces.
 *
 * Input: byte 0 picks max_line (SERIAL_LINE_MIN + byte 0, so overlong lines
 * are cheap to reach), byte 1 seeds the piece sizes, the rest is what the
 * scanner sent.  The lines delivered and the drops reported must equal a
 * plain model of serial_framer.h over the whole stream at once: a line ends
 * at CR, LF or CR LF (one terminator); empty lines are ignored; a line over
 * max_line is dropped (reported once, with max_line + 1) and never
 * delivered; texts are NUL-terminated at their length; an unterminated tail
 * is reported by serial_framer_reset() as a partial drop of its length,
 * unless it was already overlong.  How the stream is cut must not matter.
 */
#include <string.h>

#include "fuzz.h"
#include "serial_framer.h"

struct seen {
	uint8_t *texts;
	size_t len;
	size_t lines, overlong, partial, partial_len;
	size_t max_line;
};

static void on_line(void *arg, const char *text, size_t len)
{
	struct seen *s = arg;
	FUZZ_CHECK(len > 0 && len <= s->max_line && text[len] == '\0');
	memcpy(s->texts + s->len, text, len);
	s->len += len;
	s->texts[s->len++] = 0xAA; /* a separator the model writes too */
	s->lines++;
}

static void on_drop(void *arg, enum serial_drop why, size_t len)
{
	struct seen *s = arg;
	if (why == SERIAL_DROP_OVERLONG) {
		FUZZ_CHECK(len == s->max_line + 1);
		s->overlong++;
	} else {
		FUZZ_CHECK(why == SERIAL_DROP_PARTIAL && len > 0 && len <= s->max_line);
		s->partial++;
		s->partial_len = len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t max_line = SERIAL_LINE_MIN + data[0];
	unsigned seed = data[1];
	data += 2;
	size -= 2;

	/* The model, over the whole input at once. */
	uint8_t *want = fuzz_alloc(2 * size + 1);
	size_t want_len = 0, lines = 0, overlong = 0, cur = 0;
	bool skipping = false, after_cr = false;
	const uint8_t *start = data;
	for (size_t i = 0; i < size; i++) {
		uint8_t c = data[i];
		bool was_cr = after_cr;
		after_cr = c == '\r';
		if (c == '\n' && was_cr) {
			start = data + i + 1;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (!skipping && cur > 0) {
				memcpy(want + want_len, start, cur);
				want_len += cur;
				want[want_len++] = 0xAA;
				lines++;
			}
			skipping = false;
			cur = 0;
			start = data + i + 1;
		} else if (!skipping) {
			if (cur == max_line) {
				skipping = true;
				overlong++;
			} else {
				cur++;
			}
		}
	}
	size_t tail = skipping ? 0 : cur;

	struct seen s = {.texts = fuzz_alloc(2 * size + 8),
	                 .max_line = max_line}; /* + the "Z" line below */
	struct serial_framer f;
	static const struct serial_framer_ops ops = {.on_line = on_line, .on_drop = on_drop};
	FUZZ_CHECK(serial_framer_init(&f, max_line, &ops, &s) == QD_OK);
	for (size_t at = 0; at < size;) {
		seed = seed * 1103515245u + 12345u;
		size_t piece = 1 + (seed >> 16) % 64;
		if (piece > size - at)
			piece = size - at;
		serial_framer_feed(&f, data + at, piece);
		at += piece;
	}
	serial_framer_reset(&f);
	FUZZ_CHECK(s.lines == lines && f.lines == lines);
	FUZZ_CHECK(s.overlong == overlong && f.overlong == overlong);
	FUZZ_CHECK(s.partial == (tail > 0 ? 1u : 0u));
	FUZZ_CHECK(tail == 0 || s.partial_len == tail);
	FUZZ_CHECK(s.len == want_len && memcmp(s.texts, want, want_len) == 0);
	/* After a reset the framer starts clean: a lone LF is not swallowed as a CRLF's. */
	size_t before = s.lines;
	serial_framer_feed(&f, (const uint8_t *)"\nZ\n", 3);
	FUZZ_CHECK(s.lines == before + 1);
	serial_framer_free(&f);
	free(want);
	free(s.texts);
	return 0;
}
