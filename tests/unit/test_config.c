/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - qrdeskd's configuration: defaults, a full file, the
 * packaged example, every kind of bad line with its exact line number,
 * error collection, all-or-nothing, files, config_set, config_validate,
 * hostile input.
 */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "qrdesk/config.h"
#include "qrdesk/source_camera.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/source_serial.h"
#include "testutil.h"

/* --- helpers ----------------------------------------------------------------------------- */

/* A path in the source tree, found from this file's own path (no CMake define needed). */
static const char *repo_path(const char *relative)
{
	static char path[4096];
	const char *self = __FILE__, *suffix = "tests/unit/test_config.c";
	size_t n = strlen(self), m = strlen(suffix);
	if (n < m || strcmp(self + n - m, suffix) != 0)
		fail_msg("cannot find the source tree from __FILE__ = %s", self);
	snprintf(path, sizeof(path), "%.*s%s", (int)(n - m), self, relative);
	return path;
}

static enum qd_err parse(const char *text, struct config *cfg, struct config_errors *errs)
{
	return config_parse("test.conf", text, strlen(text), cfg, errs);
}

static void dump_errors(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		print_message("  %s:%d: %s\n", errs->file, errs->items[i].line,
		              errs->items[i].message);
}

static void assert_config_equal(const struct config *a, const struct config *b)
{
	assert_string_equal(a->desk_id, b->desk_id);
	assert_string_equal(a->store, b->store);
	assert_string_equal(a->control_socket, b->control_socket);
	assert_string_equal(a->control_group, b->control_group);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->holdoff_ms, b->holdoff_ms);
	assert_int_equal(a->already_used_check, b->already_used_check);
	assert_int_equal(a->indicator_backend, b->indicator_backend);
	assert_string_equal(a->gpio.chip, b->gpio.chip);
	for (int i = 0; i < INDICATOR_LINES; i++)
		assert_int_equal(a->gpio.offsets[i], b->gpio.offsets[i]);
	assert_int_equal(a->gpio.active_low, b->gpio.active_low);
	assert_int_equal(a->timing.valid_ms, b->timing.valid_ms);
	assert_int_equal(a->timing.invalid_ms, b->timing.invalid_ms);
	assert_int_equal(a->timing.review_ms, b->timing.review_ms);
	assert_int_equal(a->timing.beep_ms, b->timing.beep_ms);
	assert_int_equal(a->timing.gap_ms, b->timing.gap_ms);
	assert_string_equal(a->sim_record, b->sim_record);
	assert_int_equal(source_replay_stdin_settings(&a->scanners)->enabled,
	                 source_replay_stdin_settings(&b->scanners)->enabled);
	assert_string_equal(source_replay_fifo_settings(&a->scanners)->path,
	                    source_replay_fifo_settings(&b->scanners)->path);
	assert_string_equal(source_replay_images_settings(&a->scanners)->dir,
	                    source_replay_images_settings(&b->scanners)->dir);
	assert_string_equal(source_serial_settings(&a->scanners)->device,
	                    source_serial_settings(&b->scanners)->device);
	assert_int_equal(source_serial_settings(&a->scanners)->baud,
	                 source_serial_settings(&b->scanners)->baud);
	assert_string_equal(source_serial_settings(&a->scanners)->framing,
	                    source_serial_settings(&b->scanners)->framing);
	assert_int_equal(source_serial_settings(&a->scanners)->max_line,
	                 source_serial_settings(&b->scanners)->max_line);
	assert_string_equal(source_hid_settings(&a->scanners)->device,
	                    source_hid_settings(&b->scanners)->device);
	assert_int_equal(source_hid_settings(&a->scanners)->key_timeout_ms,
	                 source_hid_settings(&b->scanners)->key_timeout_ms);
	assert_int_equal(source_hid_settings(&a->scanners)->grab,
	                 source_hid_settings(&b->scanners)->grab);
	/* [sync] and [upload]: both sides start from zeroed memory, so bytes compare. */
	assert_memory_equal(&a->sync, &b->sync, sizeof(a->sync));
	assert_memory_equal(&a->upload, &b->upload, sizeof(a->upload));
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Every key of the file format, as the docs and the example list them. */
/* Every key the parser knows, from its own table (config_key_count/config_key_at). */
static const char *key_name(size_t i)
{
	const char *section, *name;
	config_key_at(i, &section, &name);
	return name;
}

/* --- defaults and good files --------------------------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	assert_string_equal(c.desk_id, "DESK-1");
	assert_string_equal(c.store, "/var/lib/qrdesk/desk.db");
	assert_string_equal(c.control_socket, "/run/qrdesk/control.sock");
	assert_string_equal(c.control_group, "");
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.holdoff_ms, 3000);
	assert_true(c.already_used_check);
	assert_int_equal(c.indicator_backend, CONFIG_INDICATOR_GPIOD);
	assert_string_equal(c.gpio.chip, "gpiochip0");
	assert_int_equal(c.gpio.offsets[INDICATOR_GREEN], 17);
	assert_int_equal(c.gpio.offsets[INDICATOR_RED], 27);
	assert_int_equal(c.gpio.offsets[INDICATOR_AMBER], 22);
	assert_int_equal(c.gpio.offsets[INDICATOR_BUZZER], 23);
	assert_false(c.gpio.active_low);
	/* The numbers docs/configuration.md and firmware/dist/qrdesk.conf state. */
	assert_int_equal(c.timing.valid_ms, 2000);
	assert_int_equal(c.timing.invalid_ms, 3000);
	assert_int_equal(c.timing.review_ms, 3000);
	assert_int_equal(c.timing.beep_ms, 150);
	assert_int_equal(c.timing.gap_ms, 150);
	assert_string_equal(c.sim_record, "");
	assert_false(source_replay_stdin_settings(&c.scanners)->enabled);
	assert_string_equal(source_replay_fifo_settings(&c.scanners)->path, "");
	assert_string_equal(source_replay_images_settings(&c.scanners)->dir, "");
	assert_string_equal(source_serial_settings(&c.scanners)->device, "");
	assert_int_equal(source_serial_settings(&c.scanners)->baud, 9600);
	assert_string_equal(source_serial_settings(&c.scanners)->framing, "8N1");
	assert_int_equal(source_serial_settings(&c.scanners)->max_line, 4296);
	assert_string_equal(source_hid_settings(&c.scanners)->device, "");
	assert_int_equal(source_hid_settings(&c.scanners)->key_timeout_ms, 100);
	assert_true(source_hid_settings(&c.scanners)->grab);
	assert_true(c.kiosk_enabled);
	assert_string_equal(c.kiosk_address, "127.0.0.1");
	assert_int_equal(c.kiosk_port, 8080);
	assert_int_equal(c.kiosk_idle_ms, 5000);
	assert_string_equal(c.kiosk_technician_token, "");
	struct config_errors errs;
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	assert_int_equal(errs.count, 0);
}

/* Every key set away from its default, with every syntax the format allows. */
static const char full_file[] =
        "\xEF\xBB\xBF# a full configuration\n" /* 1: BOM */
        "; another comment style\n"            /* 2 */
        "\n"                                   /* 3 */
        "[desk]\n"                             /* 4 */
        "desk_id = DAC-T1.03_b\n"              /* 5 */
        "store = /srv/qrdesk/desk.db   ; inline comment\n"
        "control_socket=/run/q/ctl.sock\n"
        "  control_group = qrdesk-ops\n" /* indented: not a continuation */
        "log_level: debug\n"             /* inih's ':' separator */
        "\n"
        "[pipeline]\r\n" /* CRLF lines */
        "holdoff_ms = 0\r\n"
        "already_used_check = Off\r\n"
        "[ indicators ]\n" /* spaces inside the brackets */
        "backend = sim\n"
        "chip = /dev/gpiochip4\n"
        "green = 0\n"
        "red = 1023\n"
        "amber = 5\n"
        "buzzer = 6\n"
        "active_low = YES\n"
        "valid_ms = 100\n"
        "invalid_ms = 60000\n"
        "review_ms = 1500\n"
        "beep_ms = 10\n"
        "gap_ms = 5000\n"
        "sim_record = /var/tmp/indicators.log\n"
        "[replay]\n"
        "stdin = 1\n"
        "fifo = /run/qrdesk/codes fifo\n" /* a space inside a path */
        "\t# an indented comment\n"
        "[desk]\n" /* a section may come back */
        "[replay]\n"
        "images = /srv/inbox#1\n" /* '#' is only a comment at a line's start */
        "[serial]\n"
        "device = /dev/serial/by-id/usb-Scanner-if00\n"
        "baud = 115200\n"
        "framing = 7E2\n"
        "max_line = 16\n"
        "[hid]\n"
        "device = 05E0:12ab\n"
        "key_timeout_ms = 5000\n"
        "grab = no\n"
        "[kiosk]\n"
        "enabled = no\n"
        "address = ::1\n"
        "port = 65535\n"
        "idle_ms = 1000\n"
        "technician_token = abcdefghIJKLMNOP0123._~+/=-\n"
        "# no newline at the end:\n"
        "; done";

static void test_full_file(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	enum qd_err rc = parse(full_file, &c, &errs);
	dump_errors(&errs);
	assert_int_equal(rc, QD_OK);
	assert_int_equal(errs.count, 0);
	assert_string_equal(errs.file, "test.conf");
	assert_string_equal(c.desk_id, "DAC-T1.03_b");
	assert_string_equal(c.store, "/srv/qrdesk/desk.db");
	assert_string_equal(c.control_socket, "/run/q/ctl.sock");
	assert_string_equal(c.control_group, "qrdesk-ops");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.holdoff_ms, 0);
	assert_false(c.already_used_check);
	assert_int_equal(c.indicator_backend, CONFIG_INDICATOR_SIM);
	assert_string_equal(c.gpio.chip, "/dev/gpiochip4");
	assert_int_equal(c.gpio.offsets[INDICATOR_GREEN], 0);
	assert_int_equal(c.gpio.offsets[INDICATOR_RED], 1023);
	assert_int_equal(c.gpio.offsets[INDICATOR_AMBER], 5);
	assert_int_equal(c.gpio.offsets[INDICATOR_BUZZER], 6);
	assert_true(c.gpio.active_low);
	assert_int_equal(c.timing.valid_ms, 100);
	assert_int_equal(c.timing.invalid_ms, 60000);
	assert_int_equal(c.timing.review_ms, 1500);
	assert_int_equal(c.timing.beep_ms, 10);
	assert_int_equal(c.timing.gap_ms, 5000);
	assert_string_equal(c.sim_record, "/var/tmp/indicators.log");
	assert_true(source_replay_stdin_settings(&c.scanners)->enabled);
	assert_string_equal(source_replay_fifo_settings(&c.scanners)->path,
	                    "/run/qrdesk/codes fifo");
	assert_string_equal(source_replay_images_settings(&c.scanners)->dir, "/srv/inbox#1");
	assert_string_equal(source_serial_settings(&c.scanners)->device,
	                    "/dev/serial/by-id/usb-Scanner-if00");
	assert_int_equal(source_serial_settings(&c.scanners)->baud, 115200);
	assert_string_equal(source_serial_settings(&c.scanners)->framing, "7E2");
	assert_int_equal(source_serial_settings(&c.scanners)->max_line, 16);
	assert_string_equal(source_hid_settings(&c.scanners)->device, "05E0:12ab");
	assert_int_equal(source_hid_settings(&c.scanners)->key_timeout_ms, 5000);
	assert_false(source_hid_settings(&c.scanners)->grab);
	assert_false(c.kiosk_enabled);
	assert_string_equal(c.kiosk_address, "::1");
	assert_int_equal(c.kiosk_port, 65535);
	assert_int_equal(c.kiosk_idle_ms, 1000);
	assert_string_equal(c.kiosk_technician_token, "abcdefghIJKLMNOP0123._~+/=-");
	/* A file that sets nothing changes nothing. */
	struct config before = c;
	assert_int_equal(parse("# nothing\n\n[desk]\n", &c, &errs), QD_OK);
	assert_config_equal(&c, &before);
	assert_int_equal(config_parse("empty", NULL, 0, &c, &errs), QD_OK);
	assert_config_equal(&c, &before);
}

static void test_every_value_form(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		bool expect;
	} bools[] = {{"true", true}, {"false", false}, {"yes", true}, {"no", false},
	             {"on", true},   {"off", false},   {"1", true},   {"0", false},
	             {"TRUE", true}, {"No", false}};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		char text[128];
		struct config c;
		config_defaults(&c);
		c.gpio.active_low = !bools[i].expect;
		snprintf(text, sizeof(text), "[indicators]\nactive_low = %s\n", bools[i].value);
		assert_int_equal(parse(text, &c, NULL), QD_OK);
		assert_int_equal(c.gpio.active_low, bools[i].expect);
	}
	static const struct {
		const char *value;
		int level;
	} levels[] = {{"err", LOG_ERR},
	              {"warning", LOG_WARNING},
	              {"info", LOG_INFO},
	              {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		char text[128];
		struct config c;
		config_defaults(&c);
		snprintf(text, sizeof(text), "[desk]\nlog_level = %s\n", levels[i].value);
		assert_int_equal(parse(text, &c, NULL), QD_OK);
		assert_int_equal(c.log_level, levels[i].level);
	}
	/* The longest values that fit. */
	char text[1100], path[256], sock[108], id[32], group[32];
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	memset(sock, 's', sizeof(sock) - 1);
	sock[0] = '/';
	sock[sizeof(sock) - 1] = '\0';
	memset(id, 'I', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	memset(group, 'g', sizeof(group) - 1);
	group[sizeof(group) - 1] = '\0';
	snprintf(text, sizeof(text),
	         "[desk]\nstore = %s\ncontrol_socket = %s\ndesk_id = %s\ncontrol_group = %s\n",
	         path, sock, id, group);
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	enum qd_err rc = parse(text, &c, &errs);
	dump_errors(&errs);
	assert_int_equal(rc, QD_OK);
	assert_string_equal(c.store, path);
	assert_string_equal(c.control_socket, sock);
	assert_string_equal(c.desk_id, id);
	assert_string_equal(c.control_group, group);
	/* Optional paths may be emptied again. */
	assert_int_equal(parse("[replay]\nfifo = /x\n", &c, NULL), QD_OK);
	assert_string_equal(source_replay_fifo_settings(&c.scanners)->path, "/x");
	assert_int_equal(parse("[replay]\nfifo =\n", &c, NULL), QD_OK);
	assert_string_equal(source_replay_fifo_settings(&c.scanners)->path, "");
}

static void test_dist_conf_parses_clean(void **state)
{
	(void)state;
	const char *path = repo_path("firmware/dist/qrdesk.conf");
	struct config c, defaults;
	struct config_errors errs;
	config_defaults(&defaults);
	memset(&c, 0, sizeof(c));
	/* Over zeroed memory: every key must be set by the file itself. */
	enum qd_err rc = config_load(path, &c, &errs);
	dump_errors(&errs);
	assert_int_equal(rc, QD_OK);
	assert_int_equal(errs.count, 0);
	/* It states the defaults, so it parses to exactly them... */
	assert_config_equal(&c, &defaults);
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	/* ...and lists every key once, uncommented. */
	size_t len;
	char *text = (char *)tu_read_file(path, &len);
	/* Each key once per section that has it ("device" is in several). */
	size_t n_keys = config_key_count();
	assert_true(n_keys > 30);
	for (size_t i = 0; i < n_keys; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\n%s =", key_name(i));
		size_t want = 0, found = 0;
		for (size_t j = 0; j < n_keys; j++)
			want += strcmp(key_name(j), key_name(i)) == 0;
		for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
			found++;
		if (found != want)
			fail_msg("%s lists %s %zu times, not %zu", path, key_name(i), found, want);
	}
	free(text);
	/* And the docs describe every key. */
	text = (char *)tu_read_file(repo_path("docs/configuration.md"), &len);
	for (size_t i = 0; i < n_keys; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "`%s`", key_name(i));
		if (strstr(text, needle) == NULL)
			fail_msg("docs/configuration.md does not describe %s", key_name(i));
	}
	free(text);
}

/* --- bad lines ------------------------------------------------------------------------------ */

struct bad_case {
	const char *text;
	int line;
	const char *message; /* a substring of the one error's message */
};

static const struct bad_case bad_cases[] = {
        /* [desk] */
        {"[desk]\ndesk_id = has space\n", 2, "desk_id = 'has space': expected 1 to 31 characters"},
        {"[desk]\ndesk_id = ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\n", 2, "expected 1 to 31"},
        {"[desk]\ndesk_id =\n", 2, "desk_id = '': expected 1 to 31"},
        {"[desk]\ndesk_id = caf\xc3\xa9\n", 2, "desk_id = 'caf\\xc3\\xa9'"},
        {"[desk]\nstore =\n", 2, "store = '': must not be empty"},
        {"[desk]\nstore = \"/var/lib/qrdesk/desk.db\"\n", 2, "without quotes"},
        {"[desk]\ncontrol_socket =\n", 2, "must not be empty"},
        {"[desk]\ncontrol_group = Wheel\n", 2, "control_group = 'Wheel': expected a group name"},
        {"[desk]\ncontrol_group = 1ops\n", 2, "expected a group name"},
        {"[desk]\ncontrol_group = ops team\n", 2, "expected a group name"},
        {"[desk]\nlog_level = loud\n", 2,
         "log_level = 'loud': expected err, warning, info or debug"},
        {"[desk]\nlog_level = INFO\n", 2, "expected err, warning, info or debug"},
        {"[desk]\nlog_level = notice\n", 2, "expected err, warning"},
        /* [pipeline] */
        {"[pipeline]\nholdoff_ms = 600001\n", 2,
         "holdoff_ms = '600001': expected a whole number of milliseconds from 0 to 600000"},
        {"[pipeline]\nholdoff_ms = -1\n", 2, "from 0 to 600000"},
        {"[pipeline]\nholdoff_ms = +5\n", 2, "from 0 to 600000"},
        {"[pipeline]\nholdoff_ms = 12abc\n", 2, "'12abc'"},
        {"[pipeline]\nholdoff_ms = 0x10\n", 2, "'0x10'"},
        {"[pipeline]\nholdoff_ms = 3 000\n", 2, "'3 000'"},
        {"[pipeline]\nholdoff_ms = 1.5\n", 2, "'1.5'"},
        {"[pipeline]\nholdoff_ms = 99999999999999999999\n", 2, "from 0 to 600000"},
        {"[pipeline]\nholdoff_ms = 4294967296\n", 2, "from 0 to 600000"},
        {"[pipeline]\nholdoff_ms =\n", 2, "holdoff_ms = ''"},
        {"[pipeline]\nalready_used_check = maybe\n", 2,
         "already_used_check = 'maybe': expected true/false, yes/no, on/off or 1/0"},
        {"[pipeline]\nalready_used_check = 2\n", 2, "expected true/false"},
        {"[pipeline]\nalready_used_check =\n", 2, "expected true/false"},
        /* [indicators] */
        {"[indicators]\nbackend = laser\n", 2, "backend = 'laser': expected gpiod or sim"},
        {"[indicators]\nbackend = GPIOD\n", 2, "expected gpiod or sim"},
        {"[indicators]\nchip =\n", 2, "chip = '': expected a GPIO chip name"},
        {"[indicators]\nchip = gpio chip\n", 2, "no spaces"},
        {"[indicators]\ngreen = 1024\n", 2,
         "green = '1024': expected a GPIO line offset from 0 to 1023"},
        {"[indicators]\nred = -3\n", 2, "red = '-3'"},
        {"[indicators]\namber = x\n", 2, "amber = 'x'"},
        {"[indicators]\nbuzzer = 23.0\n", 2, "buzzer = '23.0'"},
        {"[indicators]\nactive_low = high\n", 2, "active_low = 'high'"},
        {"[indicators]\nvalid_ms = 99\n", 2,
         "valid_ms = '99': expected a whole number of milliseconds from 100 to 60000"},
        {"[indicators]\ninvalid_ms = 60001\n", 2, "from 100 to 60000"},
        {"[indicators]\nreview_ms = 0\n", 2, "from 100 to 60000"},
        {"[indicators]\nbeep_ms = 9\n", 2,
         "beep_ms = '9': expected a whole number of milliseconds from 10 to 5000"},
        {"[indicators]\ngap_ms = 5001\n", 2, "from 10 to 5000"},
        {"[indicators]\nsim_record = 'x'\n", 2, "without quotes"},
        /* [replay] */
        {"[replay]\nstdin = please\n", 2, "stdin = 'please'"},
        /* [serial] */
        {"[serial]\nbaud = 9601\n", 2,
         "baud = '9601': expected a baud rate: 1200, 2400, 4800, 9600, 19200, 38400, 57600, "
         "115200, 230400, 460800 or 921600"},
        {"[serial]\nbaud = 0\n", 2, "baud = '0': expected a baud rate"},
        {"[serial]\nbaud = B9600\n", 2, "expected a baud rate"},
        {"[serial]\nframing = 8n1\n", 2,
         "framing = '8n1': expected data bits (5-8), parity (N, E or O) and stop bits (1 or 2), "
         "such as 8N1"},
        {"[serial]\nframing = 9N1\n", 2, "framing = '9N1'"},
        {"[serial]\nframing = 4N1\n", 2, "framing = '4N1'"},
        {"[serial]\nframing = 8M1\n", 2, "framing = '8M1'"},
        {"[serial]\nframing = 8N3\n", 2, "framing = '8N3'"},
        {"[serial]\nframing = 8N1 x\n", 2, "framing = '8N1 x'"},
        {"[serial]\nframing = 8N\n", 2, "framing = '8N'"},
        {"[serial]\nmax_line = 15\n", 2,
         "max_line = '15': expected a whole number of bytes from 16 to 4296"},
        {"[serial]\nmax_line = 4297\n", 2, "from 16 to 4296"},
        {"[serial]\ndevice = \"/dev/ttyACM0\"\n", 2, "without quotes"},
        /* [hid] */
        {"[hid]\ndevice = event3\n", 2,
         "device = 'event3': expected an absolute path (at most 255 bytes), a USB vendor:product "
         "such as 05e0:1200, or nothing"},
        {"[hid]\ndevice = 05e0:1200a\n", 2, "device = '05e0:1200a': expected an absolute path"},
        {"[hid]\ndevice = 5e0:1200\n", 2, "expected an absolute path"},
        {"[hid]\ndevice = 05g0:1200\n", 2, "expected an absolute path"},
        {"[hid]\ndevice = 05e0-1200\n", 2, "expected an absolute path"},
        {"[hid]\ndevice = \"/dev/input/event3\"\n", 2, "without quotes"},
        {"[hid]\nkey_timeout_ms = 9\n", 2,
         "key_timeout_ms = '9': expected a whole number of milliseconds from 10 to 5000"},
        {"[hid]\nkey_timeout_ms = 5001\n", 2, "from 10 to 5000"},
        {"[hid]\ngrab = exclusive\n", 2, "grab = 'exclusive': expected true/false"},
        /* [kiosk] */
        {"[kiosk]\nenabled = sometimes\n", 2, "enabled = 'sometimes': expected true/false"},
        {"[kiosk]\naddress = localhost\n", 2,
         "address = 'localhost': expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1 (not a "
         "host name)"},
        {"[kiosk]\naddress = 127.0.0.256\n", 2, "address = '127.0.0.256': expected an IPv4"},
        {"[kiosk]\naddress = 127.0.0.1:8080\n", 2, "expected an IPv4 or IPv6 address"},
        {"[kiosk]\naddress =\n", 2, "address = '': expected an IPv4"},
        {"[kiosk]\nport = 0\n", 2, "port = '0': expected a TCP port from 1 to 65535"},
        {"[kiosk]\nport = 65536\n", 2, "port = '65536': expected a TCP port from 1 to 65535"},
        {"[kiosk]\nport = http\n", 2, "port = 'http'"},
        {"[kiosk]\nidle_ms = 999\n", 2,
         "idle_ms = '999': expected a whole number of milliseconds from 1000 to 600000"},
        {"[kiosk]\ntechnician_token = short\n", 2,
         "technician_token (not shown): expected nothing (technician requests off) or 16 to 128 "
         "characters"},
        {"[kiosk]\ntechnician_token = has space in the middle of it\n", 2,
         "technician_token (not shown)"},
        {"[kiosk]\ntechnician_token = 'quotedquotedquoted'\n", 2,
         "technician_token (not shown): write it without quotes"},
        /* structure */
        {"[desk\n", 1, "section header '[desk' has no closing ']'"},
        {"[desk] extra\n", 1, "unexpected text after ']'"},
        {"[kiosk]\nport = 8080\nbind = 0.0.0.0\n", 3, "unknown key 'bind' in [kiosk]"},
        {"[cloud]\ndevice = /dev/sda1\n", 1, "unknown section [cloud]"},
        {"[desk]\n[Desk]\n", 2, "unknown section [Desk]"},
        {"[]\n", 1, "unknown section []"},
        {"desk_id = X\n", 1, "key 'desk_id' comes before any [section]"},
        {"[desk]\njust some words\n", 2, "expected 'key = value', a [section] header or a comment"},
        {"[desk]\nstore ; = /x\n", 2, "expected 'key = value'"},
        {"[desk]\n= 5\n", 2, "no key name before '='"},
        {"[desk]\n : 5\n", 2, "no key name before ':'"},
        {"[desk]\nhold_ms = 5\n", 2, "unknown key 'hold_ms' in [desk]"},
        {"[desk]\nStore = /x\n", 2, "unknown key 'Store' in [desk]"},
        {"[pipeline]\nstore = /x\n", 2, "unknown key 'store' in [pipeline] (it belongs in [desk])"},
        {"[desk]\nstore = /a\nstore = /b\n", 3,
         "key 'store' in [desk] given twice (first on line 2)"},
        {"[desk]\nstore = /a\n[pipeline]\n[desk]\nstore = /a\n", 5,
         "given twice (first on line 2)"},
        {"[desk]\ndesk_id = a\x01z\n", 2, "control character 0x01"},
        {"[desk]\ndesk_id = a\x7fz\n", 2, "control character 0x7f"},
        {"[desk]\nstore = /a\rb\n", 2, "control character 0x0d"},
        {"[desk]\nstore = /x\n  continued\n", 3, "expected 'key = value'"},
        /* paths: absolute only; a ';' straight after '=' is not a comment */
        {"[desk]\nstore = desk.db\n", 2, "store = 'desk.db': expected an absolute path"},
        {"[replay]\n\nimages =; /srv/in\n", 3,
         "images = '; /srv/in': expected an absolute path (starting with /); a comment "
         "needs a space"},
        {"[usb]\nmount_dir = ./media\n", 2, "expected an absolute path"},
        /* line numbers through comments, blank lines, CRLF, a BOM, a last line without '\n' */
        {"# c\n\n; c\n[desk]\n\n   desk_id = bad id\n", 6, "desk_id = 'bad id'"},
        {"[desk]\r\n\r\nlog_level = loud\r\n", 3, "log_level = 'loud':"},
        {"\xEF\xBB\xBF[desk]\nlog_level = loud\n", 2, "'loud'"},
        {"\xEF\xBB\xBFlog_level = loud\n", 1, "before any [section]"},
        {"[desk]\nlog_level = loud", 2, "'loud'"},
        {"[desk]\n\n\n\n\n\n\n\n\n\nlog_level = x ; a comment\n", 11, "log_level = 'x':"},
        /* [sync] and [upload] */
        {"[sync]\nurl = http://repo.example/\n", 2, "expected an https:// URL"},
        {"[sync]\nurl = https://a b/\n", 2, "no spaces allowed"},
        {"[sync]\nproxy = ftp://p:21\n", 2, "expected a proxy URL"},
        {"[sync]\npin = sha256//short\n", 2, "expected sha256//BASE64"},
        {"[sync]\npin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;md5//x\n", 2,
         "expected sha256//BASE64"},
        {"[sync]\nperiod_s = 59\n", 2,
         "period_s = '59': expected a whole number of seconds from 60 to 86400"},
        {"[sync]\njitter_s = 3601\n", 2, "from 0 to 3600"},
        {"[sync]\nmax_file_bytes = 1023\n", 2, "bytes from 1024 to 314572800"},
        {"[sync]\nstale_grace_s = -1\n", 2, "stale_grace_s = '-1'"},
        {"[upload]\nbatch_rows = 0\n", 2,
         "batch_rows = '0': expected a whole number from 1 to 10000"},
        {"[upload]\nretention_days = 3651\n", 2, "from 1 to 3650"},
        {"[upload]\nurl = https://x/\nurl = https://y/\n", 3, "key 'url' in [upload] given twice"},
};

/* [sync] and [upload]: good values are kept; the cross-key checks. */
static void test_sync_upload_sections(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_string_equal(c.sync.url, "");
	assert_string_equal(c.upload.url, "");
	const char *text =
	        "[sync]\nurl = https://trust.example/repo\nca_file = /etc/qrdesk/ca.pem\n"
	        "pin = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
	        "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n"
	        "proxy = socks5h://10.0.0.1:1080\nperiod_s = 600\njitter_s = 0\nretry_s = 30\n"
	        "backoff_max_s = 7200\nconnect_timeout_s = 5\nlow_speed_bytes = 1000\n"
	        "low_speed_time_s = 10\nmax_file_bytes = 1048576\nstale_grace_s = 3600\n"
	        "[upload]\nurl = https://audit.example/in\nbatch_rows = 100\nperiod_s = 60\n"
	        "timeout_s = 20\nretention_days = 30\n";
	assert_int_equal(parse(text, &c, &errs), QD_OK);
	assert_string_equal(c.sync.url, "https://trust.example/repo");
	assert_string_equal(c.sync.proxy, "socks5h://10.0.0.1:1080");
	assert_int_equal(c.sync.period_s, 600);
	assert_int_equal(c.sync.jitter_s, 0);
	assert_int_equal(c.sync.retry_s, 30);
	assert_int_equal(c.sync.backoff_max_s, 7200);
	assert_int_equal(c.sync.low_speed_bytes, 1000);
	assert_int_equal(c.sync.max_file_bytes, 1048576);
	assert_int_equal(c.sync.stale_grace_s, 3600);
	assert_string_equal(c.upload.url, "https://audit.example/in");
	assert_int_equal(c.upload.batch_rows, 100);
	assert_int_equal(c.upload.retention_days, 30);
	assert_int_equal(config_validate(&c, &errs), QD_OK);

	c.sync.jitter_s = 600; /* not less than the period */
	c.sync.retry_s = 7201; /* above the cap */
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 3); /* retry_s is also out of its own range */
	dump_errors(&errs);
	bool jitter = false, retry = false;
	for (size_t i = 0; i < errs.count; i++) {
		jitter = jitter ||
		         strstr(errs.items[i].message, "jitter_s = 600 must be less") != NULL;
		retry = retry ||
		        strstr(errs.items[i].message, "retry_s = 7201 must not exceed") != NULL;
	}
	assert_true(jitter);
	assert_true(retry);
}

static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct config c, before;
		struct config_errors errs;
		config_defaults(&c);
		before = c;
		enum qd_err rc = parse(bc->text, &c, &errs);
		if (rc != QD_ERR_FORMAT || errs.count != 1 || errs.items[0].line != bc->line ||
		    strstr(errs.items[0].message, bc->message) == NULL) {
			dump_errors(&errs);
			fail_msg("case %zu (%s): rc %d, %zu errors; want line %d with \"%s\"", i,
			         bc->text, rc, errs.count, bc->line, bc->message);
		}
		assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
	}
}

static void test_bad_value_message_is_bounded(void **state)
{
	(void)state;
	/* A long bad value is cut in the message, which still names key and range. */
	char text[1100] = "[pipeline]\nholdoff_ms = ";
	size_t n = strlen(text);
	memset(text + n, '9', 900);
	text[n + 900] = '\0';
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 2);
	assert_non_null(strstr(errs.items[0].message, "holdoff_ms = '9999"));
	assert_non_null(strstr(errs.items[0].message, "...'"));
	assert_non_null(strstr(errs.items[0].message, "0 to 600000"));
	/* A path one byte too long. */
	char path[257];
	memset(path, 'p', 256);
	path[0] = '/';
	path[256] = '\0';
	snprintf(text, sizeof(text), "[desk]\nstore = %s\n", path);
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.items[0].message, "path too long (256 bytes; at most 255)"));
	/* A socket path that does not fit sun_path. */
	path[108] = '\0';
	snprintf(text, sizeof(text), "[desk]\ncontrol_socket = %s\n", path);
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_non_null(strstr(errs.items[0].message, "at most 107, the limit of a UNIX socket"));
}

static void test_multiple_errors(void **state)
{
	(void)state;
	char long_line[2001];
	memset(long_line, 'a', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	char text[4096];
	snprintf(text, sizeof(text),
	         "[desk]\n"              /* 1 */
	         "desk_id = no spaces\n" /* 2: bad */
	         "store = /ok\n"         /* 3 */
	         "%s\n"                  /* 4: too long */
	         "log_level = loud\n"    /* 5: bad */
	         "[pipeline]\n"          /* 6 */
	         "holdoff_ms = 700000\n" /* 7: bad */
	         "holdoff_ms = 1\n"      /* 8: twice */
	         "[mqtt]\n"              /* 9: unknown section */
	         "url = https://x\n"     /* 10: not reported again */
	         "[indicators]\n"        /* 11 */
	         "backend = sim\n"       /* 12 */
	         "colour = blue\n"       /* 13: unknown key */
	         "beep_ms = 5\n",        /* 14: bad */
	         long_line);
	struct config c, before;
	struct config_errors errs;
	config_defaults(&c);
	before = c;
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	dump_errors(&errs);
	static const struct {
		int line;
		const char *message;
	} want[] = {
	        {2, "desk_id = 'no spaces'"},
	        {4, "line too long (2000 bytes; at most 1022)"},
	        {5, "log_level = 'loud'"},
	        {7, "holdoff_ms = '700000'"},
	        {8, "given twice (first on line 7)"},
	        {9, "unknown section [mqtt]"},
	        {13, "unknown key 'colour' in [indicators]"},
	        {14, "beep_ms = '5'"},
	};
	assert_int_equal(errs.count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < errs.count; i++) {
		assert_int_equal(errs.items[i].line, want[i].line);
		assert_non_null(strstr(errs.items[i].message, want[i].message));
	}
	/* Nothing of the good lines was applied. */
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);

	/* More errors than fit: the first 31 and a count of the rest. */
	char *many = malloc(64 * 40 + 16);
	assert_non_null(many);
	size_t n = (size_t)snprintf(many, 64, "[desk]\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(many + n, 64, "bad%d = 1\n", i);
	assert_int_equal(config_parse("many.conf", many, n, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, CONFIG_ERRORS_MAX);
	for (int i = 0; i < CONFIG_ERRORS_MAX - 1; i++) {
		char expect[64];
		snprintf(expect, sizeof(expect), "unknown key 'bad%d' in [desk]", i);
		assert_int_equal(errs.items[i].line, i + 2);
		assert_string_equal(errs.items[i].message, expect);
	}
	assert_int_equal(errs.items[CONFIG_ERRORS_MAX - 1].line, 0);
	assert_non_null(strstr(errs.items[CONFIG_ERRORS_MAX - 1].message, "and 9 more errors"));
	free(many);
}

static void test_unchanged_after_failure(void **state)
{
	(void)state;
	struct config c, before;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "desk", "store", "/first.db", NULL), QD_OK);
	before = c;
	/* Many good keys and one bad one, last: nothing applies. */
	static const char text[] = "[desk]\ndesk_id = OTHER\nstore = /second.db\n"
	                           "[indicators]\nbackend = sim\ngreen = 1\n"
	                           "[pipeline]\nholdoff_ms = nope\n";
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 8);
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
	/* The same file fixed applies over what was there. */
	static const char fixed[] = "[desk]\ndesk_id = OTHER\n[pipeline]\nholdoff_ms = 10\n";
	assert_int_equal(parse(fixed, &c, &errs), QD_OK);
	assert_string_equal(c.desk_id, "OTHER");
	assert_string_equal(c.store, "/first.db"); /* not in the file: kept */
	assert_int_equal(c.holdoff_ms, 10);
}

static void test_duplicate_key(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(parse("[replay]\nstdin = yes\n\nstdin = yes\nstdin = no\n", &c, &errs),
	                 QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[0].line, 4);
	assert_string_equal(errs.items[0].message,
	                    "key 'stdin' in [replay] given twice (first on line 2)");
	assert_int_equal(errs.items[1].line, 5);
	assert_false(source_replay_stdin_settings(&c.scanners)->enabled);
}

static void test_unknown_section(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	/* Misspelt sections are errors, reported once at the header, naming the known ones. */
	static const char text[] = "[desk]\nstore = /x\n[cameras]\ndevice = /dev/video0\n"
	                           "width = 640\n[kisok]\n";
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[0].line, 3);
	assert_non_null(
	        strstr(errs.items[0].message,
	               "unknown section [cameras] (known: [desk], [pipeline], [indicators], "
	               "[replay], [serial], [hid], [kiosk], [hotplug]"));
	assert_int_equal(errs.items[1].line, 6);
	assert_non_null(strstr(errs.items[1].message, "unknown section [kisok]"));
	/* After an unknown section, a known one works again. */
	assert_int_equal(parse("[cameras]\nx = 1\n[desk]\nstore =\n", &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[1].line, 4);
	assert_non_null(strstr(errs.items[1].message, "must not be empty"));
}

/* A technician token is a secret: a wrong one is refused without being echoed. */
static void test_token_not_echoed(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(parse("[kiosk]\ntechnician_token = hunter2secret\n", &c, &errs),
	                 QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_null(strstr(errs.items[0].message, "hunter2"));
	struct qd_errmsg why = {{0}};
	assert_int_equal(config_set(&c, "kiosk", "technician_token", "hunter2 secret token", &why),
	                 QD_ERR_FORMAT);
	assert_null(strstr(why.text, "hunter2"));
	snprintf(c.kiosk_technician_token, sizeof(c.kiosk_technician_token), "hunter2");
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_null(strstr(errs.items[0].message, "hunter2"));
	assert_non_null(strstr(errs.items[0].message, "[kiosk] technician_token (not shown)"));
}

static void test_unknown_key(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(parse("[indicators]\nbackend = sim\nyellow = 4\n", &c, &errs),
	                 QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 3);
	assert_string_equal(errs.items[0].message, "unknown key 'yellow' in [indicators]");
	assert_int_equal(c.indicator_backend, CONFIG_INDICATOR_GPIOD);
	/* A strange name is shown escaped and cut. */
	char text[200];
	snprintf(text, sizeof(text), "[desk]\n%s\xff = 1\n",
	         "a_very_long_key_name_that_goes_on_and_on_and_on");
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].message,
	                    "unknown key 'a_very_long_key_name_that_goes_on_and_on...' in [desk]");
	assert_int_equal(parse("[desk]\nk\xe9y = 1\n", &c, &errs), QD_ERR_FORMAT);
	assert_string_equal(errs.items[0].message, "unknown key 'k\\xe9y' in [desk]");
}

/* --- files --------------------------------------------------------------------------------- */

static void test_load_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[4200];
	struct config c, before;
	struct config_errors errs;
	config_defaults(&c);
	before = c;

	/* Missing. */
	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	assert_int_equal(config_load(path, &c, &errs), QD_ERR_NOT_FOUND);
	assert_string_equal(errs.file, path);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 0);
	assert_non_null(strstr(errs.items[0].message, "cannot open it"));
	snprintf(path, sizeof(path), "%s/absent/x.conf", dir);
	assert_int_equal(config_load(path, &c, &errs), QD_ERR_NOT_FOUND);
	assert_int_equal(config_load(path, &c, NULL), QD_ERR_NOT_FOUND);

	/* Not a file. */
	assert_int_equal(config_load(dir, &c, &errs), QD_ERR_IO);
	assert_non_null(strstr(errs.items[0].message, "not a regular file"));

	/* A good one. */
	snprintf(path, sizeof(path), "%s/good.conf", dir);
	write_file(path, full_file, sizeof(full_file) - 1);
	assert_int_equal(config_load(path, &c, &errs), QD_OK);
	assert_int_equal(errs.count, 0);
	assert_string_equal(c.store, "/srv/qrdesk/desk.db");
	before = c;

	/* A bad one: errors name the file. */
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	static const char bad[] =
	        "[desk]\ndesk_id = ok\nholdoff = 5\n[indicators]\nbackend = laser\n";
	write_file(path, bad, sizeof(bad) - 1);
	assert_int_equal(config_load(path, &c, &errs), QD_ERR_FORMAT);
	assert_string_equal(errs.file, path);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[0].line, 3);
	assert_int_equal(errs.items[1].line, 5);
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);

	/* Exactly CONFIG_FILE_MAX bytes: read; one more: refused before parsing. */
	char *big = malloc(CONFIG_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '#', CONFIG_FILE_MAX + 1);
	for (size_t i = 99; i < CONFIG_FILE_MAX + 1; i += 100)
		big[i] = '\n';
	memcpy(big, "[desk]\nstore = /big\n", 20);
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	write_file(path, big, CONFIG_FILE_MAX);
	assert_int_equal(config_load(path, &c, &errs), QD_OK);
	assert_string_equal(c.store, "/big");
	memcpy(big, "[desk]\nstore = /bug\n", 20);
	write_file(path, big, CONFIG_FILE_MAX + 1);
	assert_int_equal(config_load(path, &c, &errs), QD_ERR_TOO_LARGE);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.items[0].message, "larger than 262144"));
	assert_string_equal(c.store, "/big");
	assert_int_equal(config_parse("big", big, CONFIG_FILE_MAX + 1, &c, &errs),
	                 QD_ERR_TOO_LARGE);
	assert_string_equal(c.store, "/big");
	free(big);

	/* Unreadable (skipped as root, who reads anything). */
	snprintf(path, sizeof(path), "%s/secret.conf", dir);
	write_file(path, "[desk]\n", 7);
	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0)
		assert_int_equal(config_load(path, &c, &errs), QD_ERR_IO);

	assert_int_equal(config_load(NULL, &c, &errs), QD_ERR_ARG);
	assert_int_equal(config_load(path, NULL, &errs), QD_ERR_ARG);
	tu_rmtree(dir);
	free(dir);
}

/* --- config_set ------------------------------------------------------------------------------ */

static void test_config_set(void **state)
{
	(void)state;
	struct config c, before;
	struct qd_errmsg why = {{0}};
	config_defaults(&c);
	assert_int_equal(config_set(&c, "desk", "store", "/tmp/x.db", &why), QD_OK);
	assert_string_equal(c.store, "/tmp/x.db");
	assert_int_equal(config_set(&c, "desk", "control_socket", "/run/x/ctl.sock", &why), QD_OK);
	assert_string_equal(c.control_socket, "/run/x/ctl.sock");
	/* Relative paths would depend on the daemon's working directory. */
	assert_int_equal(config_set(&c, "desk", "control_socket", "rel/ctl.sock", &why),
	                 QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "expected an absolute path"));
	assert_string_equal(c.control_socket, "/run/x/ctl.sock");
	assert_int_equal(config_set(&c, "desk", "desk_id", "DAC-T2-01", &why), QD_OK);
	assert_string_equal(c.desk_id, "DAC-T2-01");
	assert_int_equal(config_set(&c, "desk", "log_level", "debug", &why), QD_OK);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(config_set(&c, "indicators", "backend", "sim", &why), QD_OK);
	assert_int_equal(c.indicator_backend, CONFIG_INDICATOR_SIM);
	assert_int_equal(config_set(&c, "pipeline", "holdoff_ms", "600000", &why), QD_OK);
	assert_int_equal(c.holdoff_ms, 600000);
	assert_int_equal(config_set(&c, "replay", "stdin", "on", &why), QD_OK);
	assert_true(source_replay_stdin_settings(&c.scanners)->enabled);
	assert_int_equal(config_set(&c, "indicators", "buzzer", "1023", &why), QD_OK);
	assert_int_equal(c.gpio.offsets[INDICATOR_BUZZER], 1023);
	/* The same key may be set again (the last wins): it is not a file. */
	assert_int_equal(config_set(&c, "desk", "store", "/tmp/y.db", NULL), QD_OK);
	assert_string_equal(c.store, "/tmp/y.db");

	before = c;
	assert_int_equal(config_set(&c, "desk", "store", "", &why), QD_ERR_FORMAT);
	assert_string_equal(why.text, "store = '': must not be empty (expected a path)");
	assert_int_equal(config_set(&c, "desk", "desk_id", "two words", &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "desk_id = 'two words': expected 1 to 31 characters"));
	assert_int_equal(config_set(&c, "desk", "log_level", "verbose", &why), QD_ERR_FORMAT);
	assert_string_equal(why.text,
	                    "log_level = 'verbose': expected err, warning, info or debug");
	assert_int_equal(config_set(&c, "pipeline", "holdoff_ms", "600001", &why), QD_ERR_FORMAT);
	assert_int_equal(config_set(&c, "desk", "store", "/a\nb", &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "control characters"));
	assert_int_equal(config_set(&c, "desk", "storage", "/x", &why), QD_ERR_FORMAT);
	assert_string_equal(why.text, "unknown key 'storage' in [desk]");
	assert_int_equal(config_set(&c, "cloud", "device", "/dev/sda1", &why), QD_ERR_FORMAT);
	assert_string_equal(why.text, "unknown section [cloud]");
	assert_int_equal(config_set(&c, "kiosk", "port", "0", &why), QD_ERR_FORMAT);
	assert_string_equal(why.text, "port = '0': expected a TCP port from 1 to 65535");
	assert_int_equal(config_set(&c, "desk", "store", NULL, &why), QD_ERR_ARG);
	assert_int_equal(config_set(NULL, "desk", "store", "/x", &why), QD_ERR_ARG);
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);

	/* Every bad value of the file table is refused by config_set too. */
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const char *t = bad_cases[i].text;
		const char *nl = strchr(t, '\n');
		if (t[0] != '[' || nl == NULL || nl[1] == '\0' || strchr(nl + 1, '\n') == NULL ||
		    strchr(nl + 1, '\n')[1] != '\0' || strchr(bad_cases[i].message, '=') == NULL ||
		    strstr(bad_cases[i].message, "key") != NULL)
			continue; /* only the "[section]\nkey = value\n" value cases */
		char section[32], key[32], value[64];
		if (sscanf(t, "[%31[a-z]]\n%31[a-z_] = %63[^\n]", section, key, value) != 3)
			continue;
		if (strpbrk(value, "\x01\x7f\r") != NULL || value[0] == '"' || value[0] == '\'')
			continue;
		struct qd_errmsg w = {{0}};
		if (config_set(&c, section, key, value, &w) != QD_ERR_FORMAT)
			fail_msg("config_set(%s, %s, %s) accepted a bad value", section, key,
			         value);
		assert_true(w.text[0] != '\0');
	}
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
}

/* --- config_validate ---------------------------------------------------------------------------
 */

static void test_validate(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	errs.count = 99;
	snprintf(errs.file, sizeof(errs.file), "kept.conf");

	config_defaults(&c);
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	assert_int_equal(errs.count, 0);
	assert_string_equal(errs.file, "kept.conf");

	/* Two indicators on one line: an error for gpiod, fine for sim. */
	c.gpio.offsets[INDICATOR_RED] = 17;
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 0);
	assert_string_equal(errs.items[0].message,
	                    "[indicators] green and red both use line 17 of gpiochip0");
	c.gpio.offsets[INDICATOR_BUZZER] = 17;
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 3); /* green/red, green/buzzer, red/buzzer */
	c.indicator_backend = CONFIG_INDICATOR_SIM;
	assert_int_equal(config_validate(&c, &errs), QD_OK);

	/* The beeps must fit in each verdict's light. */
	config_defaults(&c);
	c.timing.beep_ms = 400;
	c.timing.gap_ms = 200;
	c.timing.valid_ms = 400;    /* one beep: 400 fits exactly */
	c.timing.invalid_ms = 1599; /* 3 x 400 + 2 x 200 = 1600 */
	c.timing.review_ms = 1000;  /* 2 x 400 + 200 = 1000 fits exactly */
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].message,
	                    "[indicators] invalid_ms = 1599 is too short for its three beeps: "
	                    "3 x beep_ms + 2 x gap_ms = 1600 ms (beep_ms = 400, gap_ms = 200)");
	c.timing.invalid_ms = 1600;
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	c.timing.review_ms = 999;
	c.timing.valid_ms = 399;
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_non_null(
	        strstr(errs.items[0].message, "valid_ms = 399 is too short for its one beep"));
	assert_non_null(strstr(
	        errs.items[1].message,
	        "review_ms = 999 is too short for its two beeps: 2 x beep_ms + gap_ms = 1000 ms"));

	/* Through the file: beeps that do not fit parse, and validate says which. */
	config_defaults(&c);
	assert_int_equal(parse("[indicators]\nbeep_ms = 5000\ngap_ms = 5000\n", &c, &errs), QD_OK);
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 3);

	/* Fields set directly (as --demo does) are checked as the file would check them. */
	config_defaults(&c);
	c.store[0] = '\0';
	c.control_socket[0] = '\0';
	snprintf(c.desk_id, sizeof(c.desk_id), "bad id");
	c.log_level = 42;
	c.holdoff_ms = 600001;
	c.indicator_backend = (enum config_indicator_backend)7;
	c.timing.gap_ms = 0;
	memset(c.gpio.chip, 'x', sizeof(c.gpio.chip)); /* not terminated */
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	dump_errors(&errs);
	static const char *const want[] = {
	        "[desk] desk_id = 'bad id': expected 1 to 31",
	        "[desk] store = '': must not be empty",
	        "[desk] control_socket = '': must not be empty",
	        "[desk] log_level = 42: expected err, warning, info or debug",
	        ("[pipeline] holdoff_ms = 600001: expected a whole number of milliseconds from 0 "
	         "to 600000"),
	        "[indicators] backend = 7: expected gpiod or sim",
	        "[indicators] chip: not terminated within 64 bytes",
	        "[indicators] gap_ms = 0: expected a whole number of milliseconds from 10 to 5000",
	};
	assert_int_equal(errs.count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < errs.count; i++) {
		assert_int_equal(errs.items[i].line, 0);
		if (strstr(errs.items[i].message, want[i]) == NULL)
			fail_msg("error %zu: \"%s\", want \"%s\"", i, errs.items[i].message,
			         want[i]);
	}
	assert_int_equal(config_validate(&c, NULL), QD_ERR_FORMAT);
	assert_int_equal(config_validate(NULL, &errs), QD_ERR_ARG);
}

/* --- printing ------------------------------------------------------------------------------- */

static char printed[8][400];
static size_t n_printed;

static void collect(const char *line)
{
	assert_true(n_printed < 8);
	snprintf(printed[n_printed++], sizeof(printed[0]), "%s", line);
}

static void test_errors_print(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(
	        config_parse("/etc/qrdesk/qrdesk.conf", "[desk]\nx = 1\n[y]\n", 17, &c, &errs),
	        QD_ERR_FORMAT);
	n_printed = 0;
	config_errors_print(&errs, collect);
	assert_int_equal(n_printed, 2);
	assert_string_equal(printed[0], "/etc/qrdesk/qrdesk.conf:2: unknown key 'x' in [desk]");
	assert_non_null(strstr(printed[1], "/etc/qrdesk/qrdesk.conf:3: unknown section [y] (known: "
	                                   "[desk], [pipeline], "));
	/* Line 0: "file: message"; no file: "configuration: message". */
	c.gpio.offsets[INDICATOR_AMBER] = c.gpio.offsets[INDICATOR_BUZZER];
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	n_printed = 0;
	config_errors_print(&errs, collect);
	assert_int_equal(n_printed, 1);
	assert_string_equal(printed[0], "/etc/qrdesk/qrdesk.conf: [indicators] amber and buzzer "
	                                "both use line 23 of gpiochip0");
	struct config_errors fresh = {0};
	assert_int_equal(config_validate(&c, &fresh), QD_ERR_FORMAT);
	n_printed = 0;
	config_errors_print(&fresh, collect);
	assert_string_equal(printed[0], "configuration: [indicators] amber and buzzer both use "
	                                "line 23 of gpiochip0");
	config_errors_print(&fresh, NULL);
	config_errors_print(NULL, collect);
}

/* --- hostile input --------------------------------------------------------------------------- */

static void expect_error_no_change(const char *what, const char *data, size_t len)
{
	struct config c, before;
	struct config_errors errs;
	config_defaults(&c);
	before = c;
	/* An exact-size heap copy: ASan catches any read past len. */
	char *copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	memcpy(copy, data, len);
	enum qd_err rc = config_parse(what, copy, len, &c, &errs);
	free(copy);
	if (rc != QD_ERR_FORMAT || errs.count == 0)
		fail_msg("%s: rc %d, %zu errors", what, rc, errs.count);
	for (size_t i = 0; i < errs.count; i++)
		assert_non_null(memchr(errs.items[i].message, '\0', sizeof(errs.items[i].message)));
	assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
}

static void test_hostile_input(void **state)
{
	(void)state;
	/* A 10 kB line: one error at its own line, the lines after it still counted. */
	size_t len = 10 * 1024;
	char *text = malloc(len + 64);
	assert_non_null(text);
	memcpy(text, "[desk]\nstore = /", 16);
	memset(text + 16, 'a', len);
	memcpy(text + 16 + len, "\nlog_level = x\n", 16);
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[0].line, 2);
	assert_non_null(strstr(errs.items[0].message, "line too long (10249 bytes; at most 1022)"));
	assert_int_equal(errs.items[1].line, 3);
	expect_error_no_change("10k line", text, strlen(text));
	/* The same without any newline at all. */
	expect_error_no_change("10k no newline", text + 7, 9 + len);
	free(text);

	/* A 1022-byte line is the longest read; 1023 is too long. */
	char edge[1100];
	memset(edge, '#', sizeof(edge));
	edge[1022] = '\n';
	assert_int_equal(config_parse("edge", edge, 1023, &c, &errs), QD_OK);
	edge[1022] = '#';
	edge[1023] = '\n';
	assert_int_equal(config_parse("edge", edge, 1024, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.items[0].line, 1);
	assert_non_null(strstr(errs.items[0].message, "1023 bytes; at most 1022"));

	/* NUL bytes inside lines. */
	static const char nul[] = "[desk]\nstore = /a\0b\nlog_level = debug\n";
	expect_error_no_change("nul", nul, sizeof(nul) - 1);
	assert_int_equal(config_parse("nul", nul, sizeof(nul) - 1, &c, &errs), QD_ERR_FORMAT);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 2);
	assert_string_equal(errs.items[0].message, "line contains a NUL byte");
	static const char lone_nul[] = "\0";
	expect_error_no_change("lone nul", lone_nul, 1);

	/* Binary bytes: a pseudo-random buffer, a buffer of 0xff, an ELF-like header. */
	uint8_t bin[4096];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof(bin); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		bin[i] = (uint8_t)x;
	}
	expect_error_no_change("random", (const char *)bin, sizeof(bin));
	memset(bin, 0xff, sizeof(bin));
	expect_error_no_change("0xff", (const char *)bin, sizeof(bin));
	expect_error_no_change("elf",
	                       "\x7f"
	                       "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
	                       16);
	expect_error_no_change("escape", "[desk]\n\x1b[31mred\n", 16);

	/* Random mutations of a good file never crash; a failed parse changes nothing. */
	size_t flen = sizeof(full_file) - 1;
	char *m = malloc(flen);
	assert_non_null(m);
	for (int round = 0; round < 3000; round++) {
		memcpy(m, full_file, flen);
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m[x % flen] = (char)(x >> 24);
		}
		struct config before;
		config_defaults(&c);
		before = c;
		enum qd_err rc = config_parse("mutant", m, flen, &c, &errs);
		assert_true(rc == QD_OK || rc == QD_ERR_FORMAT);
		assert_true(errs.count <= CONFIG_ERRORS_MAX);
		if (rc != QD_OK)
			assert_int_equal(memcmp(&c, &before, sizeof(c)), 0);
	}
	free(m);
	assert_int_equal(config_parse("x", NULL, 5, &c, &errs), QD_ERR_ARG);
	assert_int_equal(config_parse("x", "", 0, NULL, &errs), QD_ERR_ARG);
}

/* inih's process-wide knobs are put back after each parse. */
static void test_inih_knobs_restored(void **state)
{
	(void)state;
	int max_line = ini_max_line;
	bool multiline = ini_allow_multiline, use_stack = ini_use_stack;
	char *inline_prefixes = ini_inline_comment_prefixes;
	struct config c;
	config_defaults(&c);
	assert_int_equal(parse(full_file, &c, NULL), QD_OK);
	assert_int_equal(parse("[x]\n", &c, NULL), QD_ERR_FORMAT);
	assert_int_equal(ini_max_line, max_line);
	assert_int_equal(ini_allow_multiline, multiline);
	assert_int_equal(ini_use_stack, use_stack);
	assert_ptr_equal(ini_inline_comment_prefixes, inline_prefixes);
	/* And a caller's odd settings do not change how a file reads. */
	ini_allow_multiline = true;
	ini_max_line = 20;
	ini_stop_on_first_error = true;
	struct config_errors errs;
	assert_int_equal(parse("[desk]\nstore = /a/rather/long/path/to/a/store.db\n  x = 1\n"
	                       "log_level = bad\n",
	                       &c, &errs),
	                 QD_ERR_FORMAT);
	assert_int_equal(errs.count, 2);
	assert_int_equal(errs.items[0].line, 3);
	assert_int_equal(errs.items[1].line, 4);
	assert_int_equal(ini_max_line, 20);
	ini_allow_multiline = multiline;
	ini_max_line = max_line;
	ini_stop_on_first_error = false;
}

/* [camera]: every key, its range, and what the driver is given. */
static void test_camera_section(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_string_equal(source_camera_settings(&c.scanners)->capture.device, "");
	assert_int_equal(source_camera_settings(&c.scanners)->capture.width, 640);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.height, 480);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.fps, 15);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.format, CAPTURE_FORMAT_AUTO);
	assert_int_equal(source_camera_settings(&c.scanners)->stall_ms, 5000);
	assert_int_equal(parse("[camera]\ndevice = /dev/v4l/by-id/usb-Cam-video-index0\n"
	                       "width = 1280\nheight = 720\nfps = 30\nformat = mjpeg\n"
	                       "stall_ms = 500\n",
	                       &c, &errs),
	                 QD_OK);
	assert_string_equal(source_camera_settings(&c.scanners)->capture.device,
	                    "/dev/v4l/by-id/usb-Cam-video-index0");
	assert_int_equal(source_camera_settings(&c.scanners)->capture.width, 1280);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.height, 720);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.fps, 30);
	assert_int_equal(source_camera_settings(&c.scanners)->capture.format, CAPTURE_FORMAT_MJPEG);
	assert_int_equal(source_camera_settings(&c.scanners)->stall_ms, 500);
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	static const struct {
		const char *text, *message;
	} bad[] = {
	        {"[camera]\nwidth = 15\n", "width = '15': expected a whole number from 16 to 4096"},
	        {"[camera]\nheight = 4097\n", "height = '4097': expected a whole number from 16"},
	        {"[camera]\nfps = 0\n", "fps = '0': expected a whole number from 1 to 120"},
	        {"[camera]\nfps = 121\n", "fps = '121'"},
	        {"[camera]\nformat = rgb24\n",
	         "format = 'rgb24': expected auto, grey, yuyv or mjpeg"},
	        {"[camera]\nformat = MJPEG\n", "format = 'MJPEG'"},
	        {"[camera]\nstall_ms = 499\n",
	         "stall_ms = '499': expected a whole number from 500 to 600000"},
	        {"[camera]\ndevice = \"/dev/video0\"\n", "without quotes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		assert_int_equal(parse(bad[i].text, &c, &errs), QD_ERR_FORMAT);
		assert_int_equal(errs.count, 1);
		assert_int_equal(errs.items[0].line, 2);
		if (strstr(errs.items[0].message, bad[i].message) == NULL)
			fail_msg("'%s': got '%s'", bad[i].text, errs.items[0].message);
	}
	/* A value set directly out of range is caught by validation. */
	config_defaults(&c);
	source_camera_settings(&c.scanners)->capture.fps = 500;
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_non_null(strstr(errs.items[0].message, "[camera] fps = 500"));
	config_defaults(&c);
	source_camera_settings(&c.scanners)->decoders = 4;
	assert_int_equal(config_validate(&c, &errs), QD_ERR_FORMAT);
	assert_non_null(strstr(errs.items[0].message, "[camera] decoders = 4"));
}

/* [camera]'s decoder chain: which decoders, ZBar's budget, what the driver is given. */
static void test_camera_decoders(void **state)
{
	(void)state;
	struct config c;
	struct config_errors errs;
	config_defaults(&c);
	assert_int_equal(source_camera_settings(&c.scanners)->decoders,
	                 CAMERA_DECODE_ZXING | CAMERA_DECODE_ZBAR);
	assert_int_equal(source_camera_settings(&c.scanners)->decode_budget_kpx,
	                 CAMERA_DECODE_BUDGET_DEFAULT_KPX);
	assert_int_equal(source_camera_settings(&c.scanners)->formats, CAMERA_FORMAT_QR);
	static const struct {
		const char *value;
		unsigned mask;
	} good[] = {
	        {"zxing,zbar", CAMERA_DECODE_ZXING | CAMERA_DECODE_ZBAR},
	        {"zbar,zxing", CAMERA_DECODE_ZXING | CAMERA_DECODE_ZBAR},
	        {"zxing", CAMERA_DECODE_ZXING},
	        {"zbar", CAMERA_DECODE_ZBAR},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[camera]\ndecoders = %s\ndecode_budget_kpx = %zu\n",
		         good[i].value, i * 1000);
		config_defaults(&c);
		assert_int_equal(parse(text, &c, &errs), QD_OK);
		assert_int_equal(source_camera_settings(&c.scanners)->decoders, good[i].mask);
		assert_int_equal(source_camera_settings(&c.scanners)->decode_budget_kpx, i * 1000);
		assert_int_equal(config_validate(&c, &errs), QD_OK);
	}
	static const char *const bad[] = {"",     "zxing,",     ",zbar", "zxing,zxing",
	                                  "ZBar", "zxing zbar", "quirc", "zbar,zxing,zbar"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[camera]\ndecoders = %s\n", bad[i]);
		config_defaults(&c);
		assert_int_equal(parse(text, &c, &errs), QD_ERR_FORMAT);
		assert_int_equal(errs.count, 1);
		if (strstr(errs.items[0].message, "expected zxing,zbar or zxing or zbar") == NULL)
			fail_msg("'%s': got '%s'", bad[i], errs.items[0].message);
		assert_int_equal(source_camera_settings(&c.scanners)->decoders,
		                 CAMERA_DECODE_ZXING | CAMERA_DECODE_ZBAR);
	}
	config_defaults(&c);
	assert_int_equal(parse("[camera]\ndecode_budget_kpx = 100001\n", &c, &errs), QD_ERR_FORMAT);
	assert_non_null(strstr(errs.items[0].message, "expected a whole number from 0 to 100000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_camera_decoders),
	        cmocka_unit_test(test_full_file),
	        cmocka_unit_test(test_every_value_form),
	        cmocka_unit_test(test_dist_conf_parses_clean),
	        cmocka_unit_test(test_bad_lines),
	        cmocka_unit_test(test_bad_value_message_is_bounded),
	        cmocka_unit_test(test_multiple_errors),
	        cmocka_unit_test(test_unchanged_after_failure),
	        cmocka_unit_test(test_duplicate_key),
	        cmocka_unit_test(test_unknown_section),
	        cmocka_unit_test(test_token_not_echoed),
	        cmocka_unit_test(test_unknown_key),
	        cmocka_unit_test(test_load_files),
	        cmocka_unit_test(test_config_set),
	        cmocka_unit_test(test_validate),
	        cmocka_unit_test(test_errors_print),
	        cmocka_unit_test(test_hostile_input),
	        cmocka_unit_test(test_inih_knobs_restored),
	        cmocka_unit_test(test_camera_section),
	        cmocka_unit_test(test_sync_upload_sections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
