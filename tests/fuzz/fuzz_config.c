/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config - config_parse over arbitrary bytes as the INI file qrdeskd
 * reads (/etc/qrdesk/qrdesk.conf: an operator's file, or whoever can write
 * it), parsed over the defaults.
 *
 * Properties:
 *  - QD_OK exactly when no error is listed; otherwise the struct is left as
 *    it was (all or nothing), and at most CONFIG_ERRORS_MAX errors are
 *    listed, each a NUL-terminated message naming a line of the input (or 0);
 *    the reader's "should not happen" fallbacks never show.
 *  - inih's process-wide knobs are put back after the parse.
 *  - config_errors_print prints one line per error.
 *  - A parsed config holds only values the file could have set:
 *    config_validate finds nothing but cross-key problems (two indicators on
 *    one line, beeps longer than their light).
 *  - Parsing the same text again over the result changes nothing, and the
 *    config written out as an INI file (every key) parses back to the same.
 */
#include <ini.h>
#include <string.h>
#include <syslog.h>

#include "fuzz.h"
#include "qrdesk/config.h"
#include "qrdesk/source_camera.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/source_serial.h"

#define NAME "fuzz.conf"

static bool same_config(const struct config *a, const struct config *b)
{
	bool same =
	        strcmp(a->desk_id, b->desk_id) == 0 && strcmp(a->store, b->store) == 0 &&
	        strcmp(a->control_socket, b->control_socket) == 0 &&
	        strcmp(a->control_group, b->control_group) == 0 && a->log_level == b->log_level &&
	        a->holdoff_ms == b->holdoff_ms && a->already_used_check == b->already_used_check &&
	        a->indicator_backend == b->indicator_backend &&
	        strcmp(a->gpio.chip, b->gpio.chip) == 0 &&
	        a->gpio.active_low == b->gpio.active_low &&
	        a->timing.valid_ms == b->timing.valid_ms &&
	        a->timing.invalid_ms == b->timing.invalid_ms &&
	        a->timing.review_ms == b->timing.review_ms &&
	        a->timing.beep_ms == b->timing.beep_ms && a->timing.gap_ms == b->timing.gap_ms &&
	        strcmp(a->sim_record, b->sim_record) == 0 &&
	        source_replay_stdin_settings(&a->scanners)->enabled ==
	                source_replay_stdin_settings(&b->scanners)->enabled &&
	        strcmp(source_replay_fifo_settings(&a->scanners)->path,
	               source_replay_fifo_settings(&b->scanners)->path) == 0 &&
	        strcmp(source_replay_images_settings(&a->scanners)->dir,
	               source_replay_images_settings(&b->scanners)->dir) == 0 &&
	        strcmp(source_serial_settings(&a->scanners)->device,
	               source_serial_settings(&b->scanners)->device) == 0 &&
	        source_serial_settings(&a->scanners)->baud ==
	                source_serial_settings(&b->scanners)->baud &&
	        strcmp(source_serial_settings(&a->scanners)->framing,
	               source_serial_settings(&b->scanners)->framing) == 0 &&
	        source_serial_settings(&a->scanners)->max_line ==
	                source_serial_settings(&b->scanners)->max_line &&
	        strcmp(source_hid_settings(&a->scanners)->device,
	               source_hid_settings(&b->scanners)->device) == 0 &&
	        source_hid_settings(&a->scanners)->key_timeout_ms ==
	                source_hid_settings(&b->scanners)->key_timeout_ms &&
	        source_hid_settings(&a->scanners)->grab ==
	                source_hid_settings(&b->scanners)->grab &&
	        strcmp(source_camera_settings(&a->scanners)->capture.device,
	               source_camera_settings(&b->scanners)->capture.device) == 0 &&
	        source_camera_settings(&a->scanners)->capture.width ==
	                source_camera_settings(&b->scanners)->capture.width &&
	        source_camera_settings(&a->scanners)->capture.height ==
	                source_camera_settings(&b->scanners)->capture.height &&
	        source_camera_settings(&a->scanners)->capture.fps ==
	                source_camera_settings(&b->scanners)->capture.fps &&
	        source_camera_settings(&a->scanners)->capture.format ==
	                source_camera_settings(&b->scanners)->capture.format &&
	        source_camera_settings(&a->scanners)->stall_ms ==
	                source_camera_settings(&b->scanners)->stall_ms;
	for (int i = 0; i < INDICATOR_LINES; i++)
		same = same && a->gpio.offsets[i] == b->gpio.offsets[i];
	return same;
}

/* Every string field terminated inside its array (strcmp above may then read it). */
static void check_terminated(const struct config *c)
{
	FUZZ_CHECK(memchr(c->desk_id, '\0', sizeof(c->desk_id)) != NULL);
	FUZZ_CHECK(memchr(c->store, '\0', sizeof(c->store)) != NULL);
	FUZZ_CHECK(memchr(c->control_socket, '\0', sizeof(c->control_socket)) != NULL);
	FUZZ_CHECK(memchr(c->control_group, '\0', sizeof(c->control_group)) != NULL);
	FUZZ_CHECK(memchr(c->gpio.chip, '\0', sizeof(c->gpio.chip)) != NULL);
	FUZZ_CHECK(memchr(c->sim_record, '\0', sizeof(c->sim_record)) != NULL);
	FUZZ_CHECK(memchr(source_serial_settings(&c->scanners)->device, '\0',
	                  sizeof(source_serial_settings(&c->scanners)->device)) != NULL);
	FUZZ_CHECK(memchr(source_serial_settings(&c->scanners)->framing, '\0',
	                  sizeof(source_serial_settings(&c->scanners)->framing)) != NULL);
	FUZZ_CHECK(memchr(source_hid_settings(&c->scanners)->device, '\0',
	                  sizeof(source_hid_settings(&c->scanners)->device)) != NULL);
	FUZZ_CHECK(memchr(source_camera_settings(&c->scanners)->capture.device, '\0',
	                  sizeof(source_camera_settings(&c->scanners)->capture.device)) != NULL);
	FUZZ_CHECK(memchr(source_replay_fifo_settings(&c->scanners)->path, '\0',
	                  sizeof(source_replay_fifo_settings(&c->scanners)->path)) != NULL);
	FUZZ_CHECK(memchr(source_replay_images_settings(&c->scanners)->dir, '\0',
	                  sizeof(source_replay_images_settings(&c->scanners)->dir)) != NULL);
}

/* Physical lines in text, as the reader counts them (a final line without '\n' counts). */
static int count_lines(const uint8_t *data, size_t size)
{
	int lines = 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (size > 0 && data[size - 1] != '\n')
		lines++;
	return lines;
}

static void check_errors(const struct config_errors *errs, int lines)
{
	FUZZ_CHECK(strcmp(errs->file, NAME) == 0);
	FUZZ_CHECK(errs->count <= CONFIG_ERRORS_MAX);
	for (size_t i = 0; i < errs->count; i++) {
		const char *msg = errs->items[i].message;
		FUZZ_CHECK(memchr(msg, '\0', sizeof(errs->items[i].message)) != NULL);
		FUZZ_CHECK(msg[0] != '\0');
		FUZZ_CHECK(errs->items[i].line >= 0 && errs->items[i].line <= lines);
		/*
		 * The reader screens every line: inih never fails on its own.
		 * (Every other message starts with fixed text, so these are the
		 * fallbacks of config_parse, not the input quoted.)
		 */
		FUZZ_CHECK(strcmp(msg, "cannot parse this line") != 0);
		FUZZ_CHECK(strncmp(msg, "inih failed (", 13) != 0);
	}
}

static size_t printed;

static void print_sink(const char *line)
{
	FUZZ_CHECK(line != NULL && strchr(line, '\n') == NULL);
	(void)fuzz_touch((const uint8_t *)line, strlen(line));
	printed++;
}

/* --- the config written back as an INI file --------------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;
};

static void put(struct text *t, const char *section, const char *key, const char *value)
{
	size_t need = strlen(section) + strlen(key) + strlen(value) + 16;
	if (t->len + need > t->cap) {
		t->cap = 2 * (t->len + need);
		char *bigger = realloc(t->buf, t->cap);
		if (bigger == NULL)
			abort();
		t->buf = bigger;
	}
	/*
	 * One header per key: a section may appear many times.  No space after
	 * '=': a value may start with ';' ("images =;x" sets ";x"), and " ;"
	 * would start a comment instead.
	 */
	t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "[%s]\n%s =%s\n", section, key,
	                           value);
}

static void put_u(struct text *t, const char *section, const char *key, unsigned v)
{
	char num[16];
	snprintf(num, sizeof(num), "%u", v);
	put(t, section, key, num);
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_ERR:
		return "err";
	case LOG_WARNING:
		return "warning";
	case LOG_INFO:
		return "info";
	case LOG_DEBUG:
		return "debug";
	}
	return "bad-level";
}

static struct text write_ini(const struct config *c)
{
	static const char *const line_keys[INDICATOR_LINES] = {"green", "red", "amber", "buzzer"};
	struct text t = {NULL, 0, 0};
	put(&t, "desk", "desk_id", c->desk_id);
	put(&t, "desk", "store", c->store);
	put(&t, "desk", "control_socket", c->control_socket);
	put(&t, "desk", "control_group", c->control_group);
	put(&t, "desk", "log_level", level_name(c->log_level));
	put_u(&t, "pipeline", "holdoff_ms", c->holdoff_ms);
	put(&t, "pipeline", "already_used_check", c->already_used_check ? "yes" : "no");
	put(&t, "indicators", "backend",
	    c->indicator_backend == CONFIG_INDICATOR_SIM ? "sim" : "gpiod");
	put(&t, "indicators", "chip", c->gpio.chip);
	for (int i = 0; i < INDICATOR_LINES; i++)
		put_u(&t, "indicators", line_keys[i], c->gpio.offsets[i]);
	put(&t, "indicators", "active_low", c->gpio.active_low ? "on" : "off");
	put_u(&t, "indicators", "valid_ms", c->timing.valid_ms);
	put_u(&t, "indicators", "invalid_ms", c->timing.invalid_ms);
	put_u(&t, "indicators", "review_ms", c->timing.review_ms);
	put_u(&t, "indicators", "beep_ms", c->timing.beep_ms);
	put_u(&t, "indicators", "gap_ms", c->timing.gap_ms);
	put(&t, "indicators", "sim_record", c->sim_record);
	put(&t, "replay", "stdin",
	    source_replay_stdin_settings(&c->scanners)->enabled ? "true" : "false");
	put(&t, "replay", "fifo", source_replay_fifo_settings(&c->scanners)->path);
	put(&t, "replay", "images", source_replay_images_settings(&c->scanners)->dir);
	put(&t, "serial", "device", source_serial_settings(&c->scanners)->device);
	put_u(&t, "serial", "baud", source_serial_settings(&c->scanners)->baud);
	put(&t, "serial", "framing", source_serial_settings(&c->scanners)->framing);
	put_u(&t, "serial", "max_line", source_serial_settings(&c->scanners)->max_line);
	put(&t, "hid", "device", source_hid_settings(&c->scanners)->device);
	put_u(&t, "hid", "key_timeout_ms", source_hid_settings(&c->scanners)->key_timeout_ms);
	put(&t, "hid", "grab", source_hid_settings(&c->scanners)->grab ? "on" : "off");
	put(&t, "camera", "device", source_camera_settings(&c->scanners)->capture.device);
	put_u(&t, "camera", "width", source_camera_settings(&c->scanners)->capture.width);
	put_u(&t, "camera", "height", source_camera_settings(&c->scanners)->capture.height);
	put_u(&t, "camera", "fps", source_camera_settings(&c->scanners)->capture.fps);
	static const char *const formats[] = {"auto", "grey", "yuyv", "mjpeg"};
	put(&t, "camera", "format", formats[source_camera_settings(&c->scanners)->capture.format]);
	put_u(&t, "camera", "stall_ms", source_camera_settings(&c->scanners)->stall_ms);
	return t;
}

/* A base unlike the defaults in every key, so that the round trip must set each one. */
static void other_base(struct config *c)
{
	config_defaults(c);
	snprintf(c->desk_id, sizeof(c->desk_id), "%s", "OTHER");
	snprintf(c->store, sizeof(c->store), "%s", "/other/store.db");
	snprintf(c->control_socket, sizeof(c->control_socket), "%s", "/other/sock");
	snprintf(c->control_group, sizeof(c->control_group), "%s", "other");
	c->log_level = LOG_DEBUG;
	c->holdoff_ms = 12345;
	c->already_used_check = !c->already_used_check;
	c->indicator_backend = CONFIG_INDICATOR_SIM;
	snprintf(c->gpio.chip, sizeof(c->gpio.chip), "%s", "otherchip");
	for (int i = 0; i < INDICATOR_LINES; i++)
		c->gpio.offsets[i] = 1000u + (unsigned)i;
	c->gpio.active_low = !c->gpio.active_low;
	c->timing.valid_ms = c->timing.invalid_ms = c->timing.review_ms = 59999;
	c->timing.beep_ms = c->timing.gap_ms = 4999;
	snprintf(c->sim_record, sizeof(c->sim_record), "%s", "/other/record");
	source_replay_stdin_settings(&c->scanners)->enabled =
	        !source_replay_stdin_settings(&c->scanners)->enabled;
	snprintf(source_replay_fifo_settings(&c->scanners)->path,
	         sizeof(source_replay_fifo_settings(&c->scanners)->path), "%s", "/other/fifo");
	snprintf(source_replay_images_settings(&c->scanners)->dir,
	         sizeof(source_replay_images_settings(&c->scanners)->dir), "%s", "/other/images");
	snprintf(source_serial_settings(&c->scanners)->device,
	         sizeof(source_serial_settings(&c->scanners)->device), "%s", "/other/tty");
	source_serial_settings(&c->scanners)->baud = 921600;
	snprintf(source_serial_settings(&c->scanners)->framing,
	         sizeof(source_serial_settings(&c->scanners)->framing), "%s", "5O2");
	source_serial_settings(&c->scanners)->max_line = 17;
	snprintf(source_hid_settings(&c->scanners)->device,
	         sizeof(source_hid_settings(&c->scanners)->device), "%s", "ffff:0001");
	source_hid_settings(&c->scanners)->key_timeout_ms = 4999;
	source_hid_settings(&c->scanners)->grab = !source_hid_settings(&c->scanners)->grab;
	snprintf(source_camera_settings(&c->scanners)->capture.device,
	         sizeof(source_camera_settings(&c->scanners)->capture.device), "%s",
	         "/other/video");
	source_camera_settings(&c->scanners)->capture.width = 4095;
	source_camera_settings(&c->scanners)->capture.height = 17;
	source_camera_settings(&c->scanners)->capture.fps = 119;
	source_camera_settings(&c->scanners)->capture.format = CAPTURE_FORMAT_MJPEG;
	source_camera_settings(&c->scanners)->stall_ms = 599999;
}

/* What config_validate may still find in a config that parsed: only cross-key problems. */
static bool cross_key_message(const char *msg)
{
	return strstr(msg, " both use line ") != NULL ||
	       strstr(msg, " is too short for its ") != NULL;
}

struct knobs {
	int max_line;
	bool use_stack, allow_realloc, multiline, bom, inline_comments, no_value, stop_first;
	char *inline_prefixes, *start_prefixes;
};

static struct knobs knobs_now(void)
{
	struct knobs k = {ini_max_line,
	                  ini_use_stack,
	                  ini_allow_realloc,
	                  ini_allow_multiline,
	                  ini_allow_bom,
	                  ini_allow_inline_comments,
	                  ini_allow_no_value,
	                  ini_stop_on_first_error,
	                  ini_inline_comment_prefixes,
	                  ini_start_comment_prefixes};
	return k;
}

static bool same_knobs(const struct knobs *a, const struct knobs *b)
{
	return a->max_line == b->max_line && a->use_stack == b->use_stack &&
	       a->allow_realloc == b->allow_realloc && a->multiline == b->multiline &&
	       a->bom == b->bom && a->inline_comments == b->inline_comments &&
	       a->no_value == b->no_value && a->stop_first == b->stop_first &&
	       a->inline_prefixes == b->inline_prefixes && a->start_prefixes == b->start_prefixes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* About 2 KiB each: off the stack. */
	static struct config defaults, cfg, again, back;
	static struct config_errors errs, errs2;
	const char *text = (const char *)data;

	config_defaults(&defaults);
	cfg = defaults;
	const struct knobs before = knobs_now();
	enum qd_err rc = config_parse(NAME, text, size, &cfg, &errs);
	const struct knobs after = knobs_now();
	FUZZ_CHECK(same_knobs(&before, &after));
	FUZZ_CHECK(rc == QD_OK || rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
	FUZZ_CHECK((rc == QD_OK) == (errs.count == 0));
	check_errors(&errs, count_lines(data, size));
	check_terminated(&cfg);

	printed = 0;
	config_errors_print(&errs, print_sink);
	FUZZ_CHECK(printed == errs.count);

	if (rc != QD_OK) {
		FUZZ_CHECK(same_config(&cfg, &defaults)); /* all or nothing */
		return 0;
	}

	/* Only values the file could have set; cross-key checks may still fail. */
	if (config_validate(&cfg, &errs2) != QD_OK) {
		FUZZ_CHECK(errs2.count > 0 && errs2.count <= CONFIG_ERRORS_MAX);
		for (size_t i = 0; i < errs2.count; i++)
			FUZZ_CHECK(cross_key_message(errs2.items[i].message) ||
			           strncmp(errs2.items[i].message, "... and ", 8) == 0);
	}

	/* The same text again, over its own result: nothing changes. */
	again = cfg;
	FUZZ_CHECK(config_parse(NAME, text, size, &again, &errs2) == QD_OK);
	FUZZ_CHECK(same_config(&again, &cfg));

	/* Written out and read back over a different base: the same config. */
	struct text ini = write_ini(&cfg);
	other_base(&back);
	rc = config_parse(NAME, ini.buf, ini.len, &back, &errs2);
	if (rc != QD_OK) {
		for (size_t i = 0; i < errs2.count; i++)
			fprintf(stderr, "round trip: line %d: %s\n", errs2.items[i].line,
			        errs2.items[i].message);
	}
	FUZZ_CHECK(rc == QD_OK);
	FUZZ_CHECK(same_config(&back, &cfg));
	free(ini.buf);
	return 0;
}
