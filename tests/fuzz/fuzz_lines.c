/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_lines - the replay source's line splitter (drivers/source_replay.c)
 * over arbitrary bytes: what a scanner in keyboard mode, a pipe or a FIFO
 * writer feeds qrdeskd.  The splitter (lines_feed) is static and reached
 * only through a source, so each input is written to a pipe that a
 * source_replay_lines_fd() source reads on a real loop, to the end.
 *
 * The texts delivered must be exactly those of a plain model of source.h
 * and source_replay.c: the input cut at '\n'; one '\r' before the cut
 * removed; a final piece without '\n' delivered if not empty; a text longer
 * than SOURCE_TEXT_MAX delivered cut to its first SOURCE_TEXT_MAX bytes and
 * counted as dropped; NUL bytes kept; each text NUL-terminated at its
 * length.  A text "STOP" makes the callback stop the source (allowed by
 * source.h): nothing is delivered after it.  At the end the source is DONE
 * (or STOPPED), with codes and dropped as counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "qrdesk/source.h"
#include "qrdesk/source_replay.h"

#define INPUT_MAX (60 * 1024) /* a pipe holds 64 KiB: written at once, before reading */
#define STOP_TEXT "STOP"

struct seen {
	struct source *src;
	uint8_t *texts; /* the texts delivered, one after the other */
	size_t len, cap;
	size_t *lens;
	size_t count, lens_cap;
};

static struct loop *loop;
static struct seen seen;

static bool is_stop(const char *text, size_t len)
{
	return len == sizeof(STOP_TEXT) - 1 && memcmp(text, STOP_TEXT, len) == 0;
}

static void on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	struct seen *s = arg;
	FUZZ_CHECK(s == &seen && strcmp(name, "fuzz") == 0 && t_us > 0);
	FUZZ_CHECK(len <= SOURCE_TEXT_MAX && text[len] == '\0');
	FUZZ_CHECK(s->src->status.state == SOURCE_RUNNING);
	if (s->texts == NULL || s->len + len > s->cap) { /* NULL + 0 is UB too */
		s->cap = 2 * (s->len + len) + 64;
		uint8_t *bigger = realloc(s->texts, s->cap);
		FUZZ_CHECK(bigger != NULL);
		s->texts = bigger;
	}
	memcpy(s->texts + s->len, text, len);
	s->len += len;
	if (s->count == s->lens_cap) {
		s->lens_cap = s->lens_cap ? 2 * s->lens_cap : 64;
		size_t *bigger = realloc(s->lens, s->lens_cap * sizeof(*bigger));
		FUZZ_CHECK(bigger != NULL);
		s->lens = bigger;
	}
	s->lens[s->count++] = len;
	if (is_stop(text, len))
		s->src->ops->stop(s->src);
}

/* Posted work: stop the loop once the source has finished (re-posted until then). */
static void watch(struct loop *l, void *arg)
{
	struct source *src = arg;
	if (src->status.state == SOURCE_RUNNING)
		FUZZ_CHECK(loop_post(l, watch, src) == QD_OK);
	else
		loop_stop(l);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		FUZZ_CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* The model: check the texts delivered against the input. */
static void check(const uint8_t *data, size_t size, const struct source *src)
{
	size_t at = 0, pos = 0, k = 0, dropped = 0;
	bool stopped = false;
	while (pos < size && !stopped) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t n = end - pos;
		if (n > 0 && data[pos + n - 1] == '\r')
			n--;
		if (n > SOURCE_TEXT_MAX) {
			n = SOURCE_TEXT_MAX;
			dropped++;
		}
		FUZZ_CHECK(k < seen.count);
		FUZZ_CHECK(seen.lens[k] == n);
		FUZZ_CHECK(n == 0 || memcmp(seen.texts + at, data + pos, n) == 0);
		stopped = is_stop((const char *)data + pos, n);
		at += n;
		k++;
		pos = nl != NULL ? end + 1 : size;
	}
	FUZZ_CHECK(k == seen.count && at == seen.len);
	FUZZ_CHECK(src->status.codes == k && src->status.dropped == dropped);
	FUZZ_CHECK(src->status.state == (stopped ? SOURCE_STOPPED : SOURCE_DONE));
	FUZZ_CHECK(memchr(src->status.detail, '\0', sizeof(src->status.detail)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (loop == NULL)
		FUZZ_CHECK(loop_create(&loop) == QD_OK);
	if (size > INPUT_MAX)
		size = INPUT_MAX;

	int fds[2];
	FUZZ_CHECK(pipe(fds) == 0);
	write_all(fds[1], data, size);
	close(fds[1]);

	struct source *src = NULL;
	FUZZ_CHECK(source_replay_lines_fd("fuzz", fds[0], on_code, &seen, &src) == QD_OK);
	seen.src = src;
	seen.len = seen.count = 0;
	FUZZ_CHECK(src->ops->start(src, loop) == QD_OK);
	FUZZ_CHECK(loop_post(loop, watch, src) == QD_OK);
	FUZZ_CHECK(loop_run(loop) == QD_OK);
	check(data, size, src);

	/* Let go of: the caller's fd is left open, and blocking as it was. */
	src->ops->destroy(src);
	int flags = fcntl(fds[0], F_GETFL);
	FUZZ_CHECK(flags >= 0 && (flags & O_NONBLOCK) == 0);
	close(fds[0]);
	return 0;
}
