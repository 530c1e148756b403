/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - qrdeskd's configuration file: INI read with inih, every key in
 * a table (keys[] below; the scanners' own keys are data in the scanner
 * registry's rows, scanner.h, read through key_get() as if they were rows
 * here), range-checked, errors as "file:line: message".
 *
 * Design:
 *  - A file is parsed into a copy of the caller's struct config; the copy is
 *    written back only if no line had an error.  Every line is read and up
 *    to CONFIG_ERRORS_MAX errors are collected, so one run of
 *    `qrdeskd --check-config` shows every mistake.
 *  - Nothing here logs or exits: callers print struct config_errors.
 *
 * Line numbers and inih (Debian 12, libinih 55-1):
 *  - The packaged library is built without INI_HANDLER_LINENO (the header
 *    defaults it to 0 and `pkg-config --cflags inih` adds no -D), so the
 *    handler gets (user, section, name, value) and no line.  Defining
 *    INI_HANDLER_LINENO=1 ourselves would only change our prototype, not the
 *    library's call: wrong.
 *  - inih's return value is the line of the FIRST error only.
 *  - So we feed inih through ini_parse_stream() with our own reader.  inih
 *    asks the reader for one line, handles it completely (calling the
 *    handler at most once), then asks for the next, so the reader's line
 *    count is the line of the current handler call.  The reader hands over
 *    exactly one physical line per call (never a piece of one), which keeps
 *    inih's own count equal to ours too.
 *  - The reader also checks each line's shape before inih sees it (too
 *    long, NUL or control bytes, "[section" without "]", a line that is not
 *    "key = value", an unknown section).  A bad line is reported with its
 *    number and replaced by an empty line, so inih never fails on its own
 *    and every bad line, not just the first, is reported.
 *  - Debian's libinih 55 turns inih's compile-time options into exported
 *    variables (ini_max_line, ini_allow_multiline, ...: see /usr/include/ini.h,
 *    a Debian change).  We pin them for the duration of one parse (and put
 *    them back): 1024-byte lines instead of inih's 200 (a 255-byte path plus
 *    its key must fit; with ini_use_stack the buffer is a VLA of ini_max_line
 *    bytes), no multi-line values (an indented line is an ordinary line),
 *    ';' inline comments, ';' and '#' whole-line comments.  The reader
 *    respects whatever buffer size inih passes it, so it stays safe even if
 *    a knob were not honoured.  Because those knobs are process-wide,
 *    config_parse() is not thread-safe; qrdeskd parses on its main thread.
 */
#include "qrdesk/config.h"
#include "qrdesk/file.h"

#include <arpa/inet.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* inih's line buffer while we parse: lines of up to LINE_BUF - 2 bytes. */
#define LINE_BUF 1024
/* A UNIX socket address holds at most 107 bytes of path (sun_path[108]). */
#define SOCKET_PATH_MAX 107
#define TOKEN_CHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-"

/* --- the keys ------------------------------------------------------------------------- */

enum kind {
	K_BOOL,      /* bool */
	K_MS,        /* uint32_t milliseconds, min..max */
	K_LINE,      /* unsigned GPIO line offset, min..max */
	K_PATH,      /* char[]: a path ("" allowed unless required) */
	K_SOCKET,    /* char[]: a path that must fit a UNIX socket address */
	K_DESK_ID,   /* char[]: [A-Za-z0-9._-]{1,31} */
	K_GROUP,     /* char[]: "" or a group or user name [a-z_][a-z0-9_-]* */
	K_CHIP,      /* char[]: a gpiochip name, path or label (no spaces) */
	K_LOG_LEVEL, /* int: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	K_BACKEND,   /* enum config_indicator_backend */
	K_PORT,      /* uint32_t TCP port, min..max */
	K_ADDRESS,   /* char[]: an IPv4 or IPv6 literal (no name: nothing to resolve at start) */
	K_TOKEN,     /* char[]: "" or a secret; never echoed in a message */
	K_BAUD,      /* unsigned: a standard serial rate */
	K_FRAMING,   /* char[4]: data bits 5-8, parity N/E/O, stop bits 1-2 ("8N1") */
	K_BYTES,     /* unsigned byte count, min..max */
	K_INPUT,     /* char[]: "" or an absolute path or a USB "vvvv:pppp" */
	K_HOTPLUG,   /* enum hotplug_backend */
	K_COUNT,     /* uint32_t (unsigned), min..max: pixels, frames per second, rows, days */
	K_CHOICE,    /* an int-sized enum: the index of one of names[] (a scanner's key) */
	K_SECONDS,   /* uint32_t seconds, min..max */
	K_URL,       /* char[]: "" or an https:// URL */
	K_PROXY,     /* char[]: "" or a proxy URL (http, https, socks4, socks5...) */
	K_PIN,       /* char[]: "" or sha256//BASE64, several joined by ';' */
	K_USB_MODE,  /* enum config_usb_mode */
	K_SET,       /* unsigned mask, names[i] bit i: "zxing,zbar", "zxing" (a scanner's key) */
	K_REQUIRE,   /* enum binding_require: card, card+passport, card+passport+boarding */
};

static const unsigned bauds[] = {1200,  2400,   4800,   9600,   19200, 38400,
                                 57600, 115200, 230400, 460800, 921600};
#define BAUDS_N (sizeof(bauds) / sizeof(bauds[0]))

struct key_def {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset; /* into struct config */
	size_t size;   /* of the field (for strings: the buffer) */
	uint32_t min, max;
	bool required;            /* strings: must not be empty */
	const char *const *names; /* K_CHOICE, K_SET: the spellings, NULL-terminated */
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

/* config.c's own keys, in two tables (the head, keys_tail): the scanners' come between. */
static const struct key_def keys[] = {
        {"desk", "desk_id", K_DESK_ID, FIELD(desk_id), 0, 0, true, NULL},
        {"desk", "store", K_PATH, FIELD(store), 0, 0, true, NULL},
        {"desk", "control_socket", K_SOCKET, FIELD(control_socket), 0, 0, true, NULL},
        {"desk", "control_group", K_GROUP, FIELD(control_group), 0, 0, false, NULL},
        {"desk", "audit_key", K_PATH, FIELD(audit_key), 0, 0, false, NULL},
        {"desk", "log_level", K_LOG_LEVEL, FIELD(log_level), 0, 0, false, NULL},
        {"desk", "firmware_release", K_PATH, FIELD(firmware_release), 0, 0, false, NULL},
        {"pipeline", "holdoff_ms", K_MS, FIELD(holdoff_ms), 0, 600000, false, NULL},
        {"pipeline", "already_used_check", K_BOOL, FIELD(already_used_check), 0, 0, false, NULL},
        {"binding", "require", K_REQUIRE, FIELD(binding_require), 0, 0, false, NULL},
        {"binding", "timeout_s", K_SECONDS, FIELD(binding_timeout_s), BINDING_TIMEOUT_MIN_S,
         BINDING_TIMEOUT_MAX_S, false, NULL},
        {"indicators", "backend", K_BACKEND, FIELD(indicator_backend), 0, 0, false, NULL},
        {"indicators", "chip", K_CHIP, FIELD(gpio.chip), 0, 0, true, NULL},
        {"indicators", "green", K_LINE, FIELD(gpio.offsets[INDICATOR_GREEN]), 0, 1023, false, NULL},
        {"indicators", "red", K_LINE, FIELD(gpio.offsets[INDICATOR_RED]), 0, 1023, false, NULL},
        {"indicators", "amber", K_LINE, FIELD(gpio.offsets[INDICATOR_AMBER]), 0, 1023, false, NULL},
        {"indicators", "buzzer", K_LINE, FIELD(gpio.offsets[INDICATOR_BUZZER]), 0, 1023, false,
         NULL},
        {"indicators", "active_low", K_BOOL, FIELD(gpio.active_low), 0, 0, false, NULL},
        {"indicators", "valid_ms", K_MS, FIELD(timing.valid_ms), 100, 60000, false, NULL},
        {"indicators", "invalid_ms", K_MS, FIELD(timing.invalid_ms), 100, 60000, false, NULL},
        {"indicators", "review_ms", K_MS, FIELD(timing.review_ms), 100, 60000, false, NULL},
        {"indicators", "beep_ms", K_MS, FIELD(timing.beep_ms), 10, 5000, false, NULL},
        {"indicators", "gap_ms", K_MS, FIELD(timing.gap_ms), 10, 5000, false, NULL},
        {"indicators", "min_show_ms", K_MS, FIELD(min_show_ms), 0, 60000, false, NULL},
        {"indicators", "sim_record", K_PATH, FIELD(sim_record), 0, 0, false, NULL},
};

/* The scanners' keys (scanner_key_at()) are numbered here, between the two tables. */
static const struct key_def keys_tail[] = {
        {"hotplug", "backend", K_HOTPLUG, FIELD(hotplug.backend), 0, 0, false, NULL},
        {"hotplug", "dev_dir", K_PATH, FIELD(hotplug.dev_dir), 0, 0, false, NULL},
        {"kiosk", "enabled", K_BOOL, FIELD(kiosk_enabled), 0, 0, false, NULL},
        {"kiosk", "address", K_ADDRESS, FIELD(kiosk_address), 0, 0, true, NULL},
        {"kiosk", "port", K_PORT, FIELD(kiosk_port), 1, 65535, false, NULL},
        {"kiosk", "idle_ms", K_MS, FIELD(kiosk_idle_ms), 1000, 600000, false, NULL},
        {"kiosk", "technician_token", K_TOKEN, FIELD(kiosk_technician_token), 0, 0, false, NULL},
        {"kiosk", "display_port", K_PORT, FIELD(kiosk_display_port), 0, 65535, false, NULL},
        {"kiosk", "display_user", K_GROUP, FIELD(kiosk_display_user), 0, 0, false, NULL},
        /* [sync] and [upload] */
        {"sync", "url", K_URL, FIELD(sync.url), 0, 0, false, NULL},
        {"sync", "ca_file", K_PATH, FIELD(sync.ca_file), 0, 0, false, NULL},
        {"sync", "pin", K_PIN, FIELD(sync.pin), 0, 0, false, NULL},
        {"sync", "proxy", K_PROXY, FIELD(sync.proxy), 0, 0, false, NULL},
        {"sync", "period_s", K_SECONDS, FIELD(sync.period_s), 60, 86400, false, NULL},
        {"sync", "jitter_s", K_SECONDS, FIELD(sync.jitter_s), 0, 3600, false, NULL},
        {"sync", "retry_s", K_SECONDS, FIELD(sync.retry_s), 5, 3600, false, NULL},
        {"sync", "backoff_max_s", K_SECONDS, FIELD(sync.backoff_max_s), 60, 86400, false, NULL},
        {"sync", "connect_timeout_s", K_SECONDS, FIELD(sync.connect_timeout_s), 1, 300, false,
         NULL},
        {"sync", "low_speed_bytes", K_BYTES, FIELD(sync.low_speed_bytes), 1, 1000000, false, NULL},
        {"sync", "low_speed_time_s", K_SECONDS, FIELD(sync.low_speed_time_s), 1, 600, false, NULL},
        {"sync", "max_file_bytes", K_BYTES, FIELD(sync.max_file_bytes), 1024, 300u * 1024u * 1024u,
         false, NULL},
        {"sync", "stale_grace_s", K_SECONDS, FIELD(sync.stale_grace_s), 0, 604800, false, NULL},
        {"upload", "url", K_URL, FIELD(upload.url), 0, 0, false, NULL},
        {"upload", "ca_file", K_PATH, FIELD(upload.ca_file), 0, 0, false, NULL},
        {"upload", "pin", K_PIN, FIELD(upload.pin), 0, 0, false, NULL},
        {"upload", "proxy", K_PROXY, FIELD(upload.proxy), 0, 0, false, NULL},
        {"upload", "client_cert", K_PATH, FIELD(upload.client_cert), 0, 0, false, NULL},
        {"upload", "client_key", K_PATH, FIELD(upload.client_key), 0, 0, false, NULL},
        {"upload", "token_file", K_PATH, FIELD(upload.token_file), 0, 0, false, NULL},
        {"upload", "batch_rows", K_COUNT, FIELD(upload.batch_rows), 1, 10000, false, NULL},
        {"upload", "period_s", K_SECONDS, FIELD(upload.period_s), 10, 86400, false, NULL},
        {"upload", "timeout_s", K_SECONDS, FIELD(upload.timeout_s), 1, 600, false, NULL},
        {"upload", "retention_days", K_COUNT, FIELD(upload.retention_days), 1, 3650, false, NULL},
        /* [usb]: docs/usb-bundle.md */
        {"usb", "mode", K_USB_MODE, FIELD(usb.mode), 0, 0, false, NULL},
        {"usb", "watch_dir", K_PATH, FIELD(usb.watch_dir), 0, 0, false, NULL},
        {"usb", "mount_dir", K_PATH, FIELD(usb.mount_dir), 0, 0, true, NULL},
        {"usb", "mount_user", K_GROUP, FIELD(usb.mount_user), 0, 0, false, NULL},
        {"usb", "dropin", K_PATH, FIELD(usb.dropin), 0, 0, false, NULL},
        {"usb", "max_bundle_mb", K_BYTES, FIELD(usb.max_bundle_mb), 1, 300, false, NULL},
};
#define HEAD_N     (sizeof(keys) / sizeof(keys[0]))
#define TAIL_N     (sizeof(keys_tail) / sizeof(keys_tail[0]))
#define OWN_KEYS_N (HEAD_N + TAIL_N)
/* config.c's own keys and the scanners' (scanner.h: data beside the scanners). */
#define KEYS_MAX (OWN_KEYS_N + SCANNER_KEYS_MAX)

static size_t keys_n(void)
{
	return OWN_KEYS_N + scanner_keys_count();
}

static enum kind scanner_kind_of(enum scanner_key_type type)
{
	switch (type) {
	case SCANNER_KEY_BOOL:
		return K_BOOL;
	case SCANNER_KEY_MS:
		return K_MS;
	case SCANNER_KEY_PATH:
		return K_PATH;
	case SCANNER_KEY_INPUT:
		return K_INPUT;
	case SCANNER_KEY_COUNT:
		return K_COUNT;
	case SCANNER_KEY_BAUD:
		return K_BAUD;
	case SCANNER_KEY_FRAMING:
		return K_FRAMING;
	case SCANNER_KEY_BYTES:
		return K_BYTES;
	case SCANNER_KEY_CHOICE:
		return K_CHOICE;
	case SCANNER_KEY_SET:
		return K_SET;
	}
	return K_PATH; /* not reached: every type is above */
}

/* Key i (i < keys_n()), in one shape whichever table holds it. */
static struct key_def key_get(size_t i)
{
	if (i < HEAD_N)
		return keys[i];
	size_t n = scanner_keys_count();
	if (i >= HEAD_N + n)
		return keys_tail[i - HEAD_N - n];
	const char *section = NULL;
	size_t offset = 0;
	const struct scanner_key *k = scanner_key_at(i - HEAD_N, &section, &offset);
	return (struct key_def){.section = section,
	                        .name = k->name,
	                        .kind = scanner_kind_of(k->type),
	                        .offset = offsetof(struct config, scanners) + offset,
	                        .size = k->size,
	                        .min = k->min,
	                        .max = k->max,
	                        .required = false,
	                        .names = k->names};
}

/* The sections, in the order an unknown section's error lists them; a scanner's section
 * that is not here is known from its keys (section_at). */
static const char *const sections[] = {"desk",   "pipeline", "indicators", "replay", "serial",
                                       "hid",    "kiosk",    "hotplug",    "camera", "sync",
                                       "upload", "usb",      "binding"};
#define SECTIONS_N (sizeof(sections) / sizeof(sections[0]))

size_t config_key_count(void)
{
	return keys_n();
}

void config_key_at(size_t i, const char **section, const char **name)
{
	struct key_def k = i < keys_n() ? key_get(i) : (struct key_def){0};
	*section = k.section;
	*name = k.name;
}

bool config_scanner_at(const struct config *cfg, size_t i, struct config_scanner *out)
{
	if (i >= scanner_kinds_count)
		return false;
	const struct scanner_kind *row = &scanner_kinds[i];
	*out = (struct config_scanner){.name = row->name,
	                               .wants = scanner_wanted(&cfg->scanners, i),
	                               .device_label = row->device_label,
	                               .device_access = row->device_access,
	                               .reads_cards = row->reads_cards};
	return true;
}

/* Kinds whose field is a NUL-terminated string in a buffer. */
static bool kind_is_text(enum kind kind)
{
	switch (kind) {
	case K_PATH:
	case K_SOCKET:
	case K_DESK_ID:
	case K_GROUP:
	case K_CHIP:
	case K_ADDRESS:
	case K_INPUT:
	case K_TOKEN:
	case K_URL:
	case K_PROXY:
	case K_PIN:
	case K_FRAMING:
		return true;
	default:
		return false;
	}
}

bool config_key_same(const struct config *a, const struct config *b, size_t i)
{
	if (i >= keys_n())
		return true;
	struct key_def k = key_get(i);
	const char *fa = (const char *)a + k.offset, *fb = (const char *)b + k.offset;
	if (kind_is_text(k.kind)) /* what follows the NUL is not the value */
		return strncmp(fa, fb, k.size) == 0;
	return memcmp(fa, fb, k.size) == 0;
}

void config_key_copy(struct config *dst, const struct config *src, size_t i)
{
	if (i >= keys_n())
		return;
	struct key_def k = key_get(i);
	memcpy((char *)dst + k.offset, (const char *)src + k.offset, k.size);
}

/* [section] name into *out (and its number into *index); false if there is none. */
static bool find_key(const char *section, const char *name, struct key_def *out, size_t *index)
{
	for (size_t i = 0; i < keys_n(); i++) {
		struct key_def k = key_get(i);
		if (strcmp(k.section, section) == 0 && strcmp(k.name, name) == 0) {
			*out = k;
			if (index != NULL)
				*index = i;
			return true;
		}
	}
	return false;
}

/* The section of the first key called name, whatever its section; NULL: none. */
static const char *find_key_anywhere(const char *name)
{
	for (size_t i = 0; i < keys_n(); i++) {
		struct key_def k = key_get(i);
		if (strcmp(k.name, name) == 0)
			return k.section;
	}
	return NULL;
}

/* Section i (i < sections_n()): the list above, then any other a scanner's keys use. */
static const char *section_at(size_t i)
{
	if (i < SECTIONS_N)
		return sections[i];
	i -= SECTIONS_N;
	for (size_t k = 0; k < scanner_kinds_count; k++) {
		const char *sec = scanner_kinds[k].section;
		bool listed = false;
		for (size_t j = 0; j < SECTIONS_N && !listed; j++)
			listed = strcmp(sections[j], sec) == 0;
		for (size_t j = 0; j < k && !listed; j++)
			listed = strcmp(scanner_kinds[j].section, sec) == 0;
		if (!listed && i-- == 0)
			return sec;
	}
	return NULL;
}

/* The canonical name of the section called name[0..len); NULL: no such section. */
static const char *find_section(const char *name, size_t len)
{
	const char *sec;
	for (size_t i = 0; (sec = section_at(i)) != NULL; i++)
		if (strlen(sec) == len && memcmp(sec, name, len) == 0)
			return sec;
	return NULL;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->desk_id, sizeof(cfg->desk_id), "%s", "DESK-1");
	snprintf(cfg->store, sizeof(cfg->store), "%s", "/var/lib/qrdesk/desk.db");
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
	         "/run/qrdesk/control.sock");
	cfg->control_group[0] = '\0';
	cfg->log_level = LOG_INFO;
	snprintf(cfg->firmware_release, sizeof(cfg->firmware_release), "%s",
	         "/etc/qrdesk-firmware");
	cfg->holdoff_ms = 3000;
	cfg->already_used_check = true;
	cfg->binding_require = BINDING_REQUIRE_CARD;
	cfg->binding_timeout_s = BINDING_TIMEOUT_DEFAULT;
	cfg->indicator_backend = CONFIG_INDICATOR_GPIOD;
	snprintf(cfg->gpio.chip, sizeof(cfg->gpio.chip), "%s", "gpiochip0");
	/* Raspberry Pi BCM numbering, as the desk board is wired. */
	cfg->gpio.offsets[INDICATOR_GREEN] = 17;
	cfg->gpio.offsets[INDICATOR_RED] = 27;
	cfg->gpio.offsets[INDICATOR_AMBER] = 22;
	cfg->gpio.offsets[INDICATOR_BUZZER] = 23;
	cfg->gpio.active_low = false;
	pattern_timing_defaults(&cfg->timing);
	cfg->min_show_ms = 1000;
	cfg->sim_record[0] = '\0';
	scanner_settings_defaults(&cfg->scanners); /* the registry's rows: each driver's own */
	cfg->hotplug.backend = HOTPLUG_AUTO;
	snprintf(cfg->hotplug.dev_dir, sizeof(cfg->hotplug.dev_dir), "%s", "/dev");
	/* The kiosk page is on by default, reachable from this machine only. */
	cfg->kiosk_enabled = true;
	snprintf(cfg->kiosk_address, sizeof(cfg->kiosk_address), "%s", "127.0.0.1");
	cfg->kiosk_port = 8080;
	cfg->kiosk_idle_ms = 5000;
	cfg->kiosk_technician_token[0] = '\0';
	/* Sync and upload are off until a URL is set; the rest are their defaults. */
	cfg->sync.period_s = 900;
	cfg->sync.jitter_s = 120;
	cfg->sync.retry_s = 60;
	cfg->sync.backoff_max_s = 3600;
	cfg->sync.connect_timeout_s = 15;
	cfg->sync.low_speed_bytes = 64;
	cfg->sync.low_speed_time_s = 30;
	cfg->sync.max_file_bytes = 300u * 1024u * 1024u;
	cfg->sync.stale_grace_s = 0;
	cfg->upload.batch_rows = 500;
	cfg->upload.period_s = 300;
	cfg->upload.timeout_s = 60;
	cfg->upload.retention_days = 90;
	/* USB sticks: off until a desk is set up for them. */
	cfg->usb.mode = CONFIG_USB_OFF;
	cfg->usb.watch_dir[0] = '\0';
	snprintf(cfg->usb.mount_dir, sizeof(cfg->usb.mount_dir), "%s", "/run/qrdesk/usb");
	snprintf(cfg->usb.mount_user, sizeof(cfg->usb.mount_user), "%s", "qrdesk-mount");
	snprintf(cfg->usb.dropin, sizeof(cfg->usb.dropin), "%s", "/var/lib/qrdesk/usb.conf");
	cfg->usb.max_bundle_mb = 300;
}

/* --- errors ------------------------------------------------------------------------- */

struct errlist {
	struct config_errors *e;
	size_t dropped; /* errors past CONFIG_ERRORS_MAX */
};

__attribute__((format(printf, 3, 4))) static void err_add(struct errlist *l, int line,
                                                          const char *fmt, ...)
{
	if (l->e->count >= CONFIG_ERRORS_MAX) {
		l->dropped++;
		return;
	}
	l->e->items[l->e->count].line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->e->items[l->e->count].message, sizeof(l->e->items[0].message), fmt, ap);
	va_end(ap);
	l->e->count++;
}

static bool err_at_line(const struct config_errors *e, int line)
{
	for (size_t i = 0; i < e->count; i++)
		if (e->items[i].line == line)
			return true;
	return false;
}

/* When errors were dropped, the last slot says how many are not shown. */
static void err_finish(struct errlist *l)
{
	if (l->dropped == 0)
		return;
	size_t last = CONFIG_ERRORS_MAX - 1;
	l->e->items[last].line = 0;
	snprintf(l->e->items[last].message, sizeof(l->e->items[0].message),
	         "... and %zu more errors not listed; fix these first", l->dropped + 1);
}

static void errs_reset(struct config_errors *e, const char *name)
{
	e->count = 0;
	snprintf(e->file, sizeof(e->file), "%s", name != NULL ? name : "");
}

/*
 * A value or name as it may appear in a message: at most 40 bytes, anything
 * outside printable ASCII as \xNN, "..." when cut.
 */
static const char *show(const char *s, char *out, size_t outsz)
{
	size_t o = 0, i = 0;
	for (; i < 40 && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 5 >= outsz)
			break;
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (s[i] != '\0' && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

#define SHOWN 176 /* room for show(): 40 bytes, each up to 4, and "..." */

/* --- values ------------------------------------------------------------------------- */

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Decimal digits only: no sign, no spaces, no hex. */
static bool parse_u32(const char *v, uint32_t *out)
{
	uint64_t n = 0;
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)n;
	return true;
}

static bool baud_known(uint32_t u)
{
	for (size_t i = 0; i < BAUDS_N; i++)
		if (bauds[i] == u)
			return true;
	return false;
}

/* Exactly what source_serial() accepts: "8N1", upper-case parity. */
static bool framing_ok(const char *v)
{
	return strlen(v) == 3 && v[0] >= '5' && v[0] <= '8' &&
	       (v[1] == 'N' || v[1] == 'E' || v[1] == 'O') && (v[2] == '1' || v[2] == '2');
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static bool is_quoted(const char *s)
{
	size_t n = strlen(s);
	return n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0];
}

/* Starts with one of prefixes (a NULL-terminated list)? */
static bool has_prefix(const char *v, const char *const *prefixes)
{
	for (; *prefixes != NULL; prefixes++)
		if (strncmp(v, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

/*
 * URLs and pins: no spaces (libcurl would send them), the right scheme, and
 * for a pin exactly libcurl's CURLOPT_PINNEDPUBLICKEY "sha256//" form.
 */
static bool check_url_like(const struct key_def *k, const char *v, size_t n, char *why,
                           size_t whysz)
{
	static const char *const https[] = {"https://", NULL};
	static const char *const proxies[] = {"http://",   "https://",   "socks4://", "socks4a://",
	                                      "socks5://", "socks5h://", NULL};
	if (n == 0)
		return true;
	if (n > k->size - 1) {
		snprintf(why, whysz, "too long (%zu bytes; at most %zu)", n, k->size - 1);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] == ' ' || v[i] == '\t') {
			snprintf(why, whysz, "no spaces allowed");
			return false;
		}
	if (k->kind == K_URL && !has_prefix(v, https)) {
		snprintf(why, whysz, "expected an https:// URL, or nothing (off)");
		return false;
	}
	if (k->kind == K_PROXY && !has_prefix(v, proxies)) {
		snprintf(why, whysz,
		         "expected a proxy URL (http://, https://, socks4://, socks4a://, "
		         "socks5:// or socks5h://), or nothing");
		return false;
	}
	if (k->kind == K_PIN) {
		/* sha256//<44 base64 characters>, joined by ';' */
		const char *p = v;
		for (;;) {
			size_t len = strcspn(p, ";");
			bool ok = len == 8 + 44 && strncmp(p, "sha256//", 8) == 0;
			for (size_t i = 8; ok && i < len; i++)
				ok = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				            "0123456789+/=",
				            p[i]) != NULL;
			if (!ok) {
				snprintf(why, whysz,
				         "expected sha256//BASE64 (44 characters: the SHA-256 of "
				         "the server's public key), several joined by ';'");
				return false;
			}
			if (p[len] == '\0')
				break;
			p += len + 1;
		}
	}
	return true;
}

/*
 * Check a string value for a string key; on failure write the reason
 * (after "key = 'value': ") into why.
 */
static bool check_string(const struct key_def *k, const char *v, char *why, size_t whysz)
{
	size_t n = strlen(v);
	if (k->kind == K_PATH || k->kind == K_SOCKET) {
		if (n == 0 && k->required) {
			snprintf(why, whysz, "must not be empty (expected a path)");
			return false;
		}
	}
	if (n > 0 && is_quoted(v)) {
		snprintf(why, whysz,
		         "write it without quotes (quotes would be kept as part of it)");
		return false;
	}
	if (has_control(v)) {
		snprintf(why, whysz, "control characters are not allowed");
		return false;
	}
	switch (k->kind) {
	case K_PATH:
	case K_SOCKET: {
		size_t max = k->kind == K_SOCKET ? SOCKET_PATH_MAX : k->size - 1;
		if (n > max) {
			snprintf(why, whysz, "path too long (%zu bytes; at most %zu%s)", n, max,
			         k->kind == K_SOCKET ? ", the limit of a UNIX socket address" : "");
			return false;
		}
		/* The daemon's working directory is systemd's "/", not the file's folder:
		 * a relative path would quietly mean something else. */
		if (n > 0 && v[0] != '/') {
			snprintf(why, whysz, "expected an absolute path (starting with /)%s",
			         v[0] == ';' || v[0] == '#'
			                 ? "; a comment needs a space before its ';' or a line "
			                   "of its own"
			                 : "");
			return false;
		}
		return true;
	}
	case K_INPUT: {
		/* Exactly what source_hid() accepts. */
		bool ok = n == 0 || (v[0] == '/' && n <= k->size - 1);
		if (!ok && n == 9 && v[4] == ':') {
			ok = true;
			for (size_t i = 0; ok && i < n; i++)
				ok = i == 4 || strchr("0123456789abcdefABCDEF", v[i]) != NULL;
		}
		if (!ok)
			snprintf(why, whysz,
			         "expected an absolute path (at most %zu bytes), a USB "
			         "vendor:product such as 05e0:1200, or nothing",
			         k->size - 1);
		return ok;
	}
	case K_DESK_ID: {
		bool ok = n >= 1 && n <= k->size - 1;
		for (size_t i = 0; ok && i < n; i++) {
			char c = v[i];
			ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		}
		if (!ok)
			snprintf(why, whysz, "expected 1 to %zu characters of A-Z a-z 0-9 . _ -",
			         k->size - 1);
		return ok;
	}
	case K_GROUP: {
		bool ok = n <= k->size - 1;
		for (size_t i = 0; ok && i < n; i++) {
			char c = v[i];
			ok = (c >= 'a' && c <= 'z') || c == '_' ||
			     (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
		}
		if (!ok)
			snprintf(why, whysz,
			         "expected a %s name ([a-z_][a-z0-9_-]*, at most %zu "
			         "characters) or nothing",
			         strstr(k->name, "user") != NULL ? "user" : "group", k->size - 1);
		return ok;
	}
	case K_CHIP: {
		bool ok = n >= 1 && n <= k->size - 1;
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f;
		if (!ok)
			snprintf(why, whysz,
			         "expected a GPIO chip name, path or label (1 to %zu characters, "
			         "no spaces)",
			         k->size - 1);
		return ok;
	}
	case K_ADDRESS: {
		unsigned char addr[16];
		bool ok = n >= 1 && n <= k->size - 1 &&
		          (inet_pton(AF_INET, v, addr) == 1 || inet_pton(AF_INET6, v, addr) == 1);
		if (!ok)
			snprintf(why, whysz,
			         "expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1 (not a "
			         "host name)");
		return ok;
	}
	case K_URL:
	case K_PROXY:
	case K_PIN:
		return check_url_like(k, v, n, why, whysz);
	case K_TOKEN: {
		/* Long enough not to guess; characters that survive a header and a shell. */
		bool ok = n == 0 || (n >= 16 && n <= k->size - 1);
		for (size_t i = 0; ok && i < n; i++)
			ok = strchr(TOKEN_CHARS, v[i]) != NULL;
		if (!ok)
			snprintf(why, whysz,
			         "expected nothing (technician requests off) or 16 to %zu "
			         "characters "
			         "of A-Z a-z 0-9 . _ ~ + / = -",
			         k->size - 1);
		return ok;
	}
	default:
		snprintf(why, whysz, "not a string key");
		return false;
	}
}

/* The number of k's names. */
static size_t names_n(const struct key_def *k)
{
	size_t n = 0;
	while (k->names != NULL && k->names[n] != NULL)
		n++;
	return n;
}

/* "expected a, b or c" (K_CHOICE); "expected a,b or a or b" (K_SET: all, or each). */
static const char *names_expected(const struct key_def *k, char *buf, size_t bufsz, bool set)
{
	size_t n = names_n(k), used = 0;
	int w = snprintf(buf, bufsz, "expected ");
	for (size_t i = 0; w >= 0 && (size_t)w < bufsz - used && i < n; i++) {
		used += (size_t)w;
		w = snprintf(buf + used, bufsz - used, "%s%s",
		             i == 0       ? ""
		             : set        ? ","
		             : i + 1 == n ? " or "
		                          : ", ",
		             k->names[i]);
	}
	for (size_t i = 0; set && n > 1 && w >= 0 && (size_t)w < bufsz - used && i < n; i++) {
		used += (size_t)w;
		w = snprintf(buf + used, bufsz - used, " or %s", k->names[i]);
	}
	return buf;
}

static const char *kind_expects(const struct key_def *k, char *buf, size_t bufsz)
{
	switch (k->kind) {
	case K_BOOL:
		return "expected true/false, yes/no, on/off or 1/0";
	case K_MS:
		snprintf(buf, bufsz, "expected a whole number of milliseconds from %u to %u",
		         (unsigned)k->min, (unsigned)k->max);
		return buf;
	case K_LINE:
		snprintf(buf, bufsz, "expected a GPIO line offset from %u to %u", (unsigned)k->min,
		         (unsigned)k->max);
		return buf;
	case K_LOG_LEVEL:
		return "expected err, warning, info or debug";
	case K_BACKEND:
		return "expected gpiod or sim";
	case K_HOTPLUG:
		return "expected auto, udev, inotify or off";
	case K_PORT:
		snprintf(buf, bufsz, "expected a TCP port from %u to %u", (unsigned)k->min,
		         (unsigned)k->max);
		return buf;
	case K_BAUD:
		return "expected a baud rate: 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, "
		       "230400, 460800 or 921600";
	case K_FRAMING:
		return "expected data bits (5-8), parity (N, E or O) and stop bits (1 or 2), "
		       "such as 8N1";
	case K_BYTES:
		snprintf(buf, bufsz, "expected a whole number %s from %u to %u",
		         strstr(k->name, "_mb") != NULL ? "of MiB" : "of bytes", (unsigned)k->min,
		         (unsigned)k->max);
		return buf;
	case K_SECONDS:
		snprintf(buf, bufsz, "expected a whole number of seconds from %u to %u",
		         (unsigned)k->min, (unsigned)k->max);
		return buf;
	case K_COUNT:
		snprintf(buf, bufsz, "expected a whole number from %u to %u", (unsigned)k->min,
		         (unsigned)k->max);
		return buf;
	case K_CHOICE:
		return names_expected(k, buf, bufsz, false);
	case K_SET:
		return names_expected(k, buf, bufsz, true);
	case K_USB_MODE:
		return "expected off, automount or udev";
	case K_REQUIRE:
		return "expected card, card+passport or card+passport+boarding";
	default:
		return "bad value";
	}
}

/* names[] joined ("zxing,zbar"), the first in any order, as a K_SET mask; 0 if none, a
 * name twice or an unknown name. */
static unsigned set_parse(const struct key_def *k, const char *value)
{
	unsigned mask = 0;
	const char *p = value;
	for (;;) {
		size_t len = strcspn(p, ",");
		unsigned d = 0;
		for (size_t i = 0; d == 0 && i < names_n(k); i++)
			if (strlen(k->names[i]) == len && strncmp(p, k->names[i], len) == 0)
				d = 1u << i;
		if (d == 0 || (mask & d))
			return 0;
		mask |= d;
		if (p[len] == '\0')
			return mask;
		p += len + 1;
	}
}

/*
 * Apply value to k's field of cfg.  The field is written only if the value
 * is good; otherwise msg gets "key = 'value': what is allowed".
 */
static bool set_value(const struct key_def *k, struct config *cfg, const char *value, char *msg,
                      size_t msgsz)
{
	char *field = (char *)cfg + k->offset;
	char shown[SHOWN], why[160];
	switch (k->kind) {
	case K_BOOL: {
		bool b;
		if (!parse_bool(value, &b))
			break;
		*(bool *)field = b;
		return true;
	}
	case K_MS:
	case K_PORT:
	case K_SECONDS:
	case K_COUNT:
	case K_LINE: {
		uint32_t u;
		if (!parse_u32(value, &u) || u < k->min || u > k->max)
			break;
		if (k->kind != K_LINE)
			*(uint32_t *)field = u;
		else
			*(unsigned *)field = u;
		return true;
	}
	case K_LOG_LEVEL: {
		static const struct {
			const char *name;
			int level;
		} levels[] = {{"err", LOG_ERR},
		              {"warning", LOG_WARNING},
		              {"info", LOG_INFO},
		              {"debug", LOG_DEBUG}};
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (strcmp(value, levels[i].name) == 0) {
				*(int *)field = levels[i].level;
				return true;
			}
		}
		break;
	}
	case K_BAUD: {
		uint32_t u;
		if (!parse_u32(value, &u) || !baud_known(u))
			break;
		*(unsigned *)field = u;
		return true;
	}
	case K_BYTES: {
		uint32_t u;
		if (!parse_u32(value, &u) || u < k->min || u > k->max)
			break;
		*(unsigned *)field = u;
		return true;
	}
	case K_CHOICE:
		for (size_t f = 0; f < names_n(k); f++) {
			if (strcmp(value, k->names[f]) == 0) {
				*(int *)field = (int)f;
				return true;
			}
		}
		break;
	case K_FRAMING:
		if (!framing_ok(value))
			break;
		memcpy(field, value, 4);
		return true;
	case K_SET: {
		unsigned d = set_parse(k, value);
		if (d == 0)
			break;
		*(unsigned *)field = d;
		return true;
	}
	case K_REQUIRE:
		if (binding_require_parse(value, (enum binding_require *)field))
			return true;
		break;
	case K_USB_MODE:
		for (int m = CONFIG_USB_OFF; m <= CONFIG_USB_UDEV; m++)
			if (strcmp(value, config_usb_mode_name((enum config_usb_mode)m)) == 0) {
				*(enum config_usb_mode *)field = (enum config_usb_mode)m;
				return true;
			}
		break;
	case K_BACKEND:
		if (strcmp(value, "gpiod") == 0) {
			*(enum config_indicator_backend *)field = CONFIG_INDICATOR_GPIOD;
			return true;
		}
		if (strcmp(value, "sim") == 0) {
			*(enum config_indicator_backend *)field = CONFIG_INDICATOR_SIM;
			return true;
		}
		break;
	case K_HOTPLUG:
		for (int b = HOTPLUG_AUTO; b <= HOTPLUG_OFF; b++) {
			if (strcmp(value, hotplug_backend_name((enum hotplug_backend)b)) == 0) {
				*(enum hotplug_backend *)field = (enum hotplug_backend)b;
				return true;
			}
		}
		break;
	case K_PATH:
	case K_SOCKET:
	case K_DESK_ID:
	case K_GROUP:
	case K_CHIP:
	case K_ADDRESS:
	case K_INPUT:
	case K_TOKEN:
	case K_URL:
	case K_PROXY:
	case K_PIN:
		if (!check_string(k, value, why, sizeof(why))) {
			if (k->kind == K_TOKEN) /* a secret, even a wrong one, stays out of logs */
				snprintf(msg, msgsz, "%s (not shown): %s", k->name, why);
			else
				snprintf(msg, msgsz, "%s = '%s': %s", k->name,
				         show(value, shown, sizeof(shown)), why);
			return false;
		}
		memcpy(field, value, strlen(value) + 1);
		return true;
	}
	snprintf(msg, msgsz, "%s = '%s': %s", k->name, show(value, shown, sizeof(shown)),
	         kind_expects(k, why, sizeof(why)));
	return false;
}

/* Is the field's current value one the file could have set?  (config_validate) */
static bool check_field(const struct key_def *k, const struct config *cfg, char *msg, size_t msgsz)
{
	const char *field = (const char *)cfg + k->offset;
	char why[160], shown[SHOWN];
	switch (k->kind) {
	case K_BOOL:
		return true;
	case K_MS:
	case K_PORT:
	case K_SECONDS:
	case K_COUNT:
	case K_LINE: {
		uint32_t u =
		        k->kind != K_LINE ? *(const uint32_t *)field : *(const unsigned *)field;
		if (u >= k->min && u <= k->max)
			return true;
		snprintf(msg, msgsz, "%s = %u: %s", k->name, (unsigned)u,
		         kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_LOG_LEVEL: {
		int l = *(const int *)field;
		if (l == LOG_ERR || l == LOG_WARNING || l == LOG_INFO || l == LOG_DEBUG)
			return true;
		snprintf(msg, msgsz, "log_level = %d: %s", l, kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_CHOICE: {
		int f = *(const int *)field;
		if (f >= 0 && (size_t)f < names_n(k))
			return true;
		snprintf(msg, msgsz, "%s = %d: %s", k->name, (int)f,
		         kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_BAUD:
	case K_BYTES: {
		unsigned u = *(const unsigned *)field;
		if (k->kind == K_BAUD ? baud_known(u) : (u >= k->min && u <= k->max))
			return true;
		snprintf(msg, msgsz, "%s = %u: %s", k->name, u, kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_FRAMING:
		if (memchr(field, '\0', k->size) != NULL && framing_ok(field))
			return true;
		snprintf(msg, msgsz, "%s: %s", k->name, kind_expects(k, why, sizeof(why)));
		return false;
	case K_USB_MODE:
		if (config_usb_mode_name(*(const enum config_usb_mode *)field) != NULL)
			return true;
		snprintf(msg, msgsz, "mode: %s", kind_expects(k, why, sizeof(why)));
		return false;
	case K_SET: {
		unsigned d = *(const unsigned *)field;
		if (d != 0 && (d & ~((1u << names_n(k)) - 1u)) == 0)
			return true;
		snprintf(msg, msgsz, "%s = %u: %s", k->name, d, kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_REQUIRE:
		if ((unsigned)*(const enum binding_require *)field <=
		    BINDING_REQUIRE_CARD_PASSPORT_BOARDING)
			return true;
		snprintf(msg, msgsz, "require: %s", kind_expects(k, why, sizeof(why)));
		return false;
	case K_BACKEND: {
		enum config_indicator_backend b = *(const enum config_indicator_backend *)field;
		if (b == CONFIG_INDICATOR_GPIOD || b == CONFIG_INDICATOR_SIM)
			return true;
		snprintf(msg, msgsz, "backend = %d: %s", (int)b, kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_HOTPLUG: {
		enum hotplug_backend b = *(const enum hotplug_backend *)field;
		if (b >= HOTPLUG_AUTO && b <= HOTPLUG_OFF)
			return true;
		snprintf(msg, msgsz, "backend = %d: %s", (int)b, kind_expects(k, why, sizeof(why)));
		return false;
	}
	case K_PATH:
	case K_SOCKET:
	case K_DESK_ID:
	case K_GROUP:
	case K_CHIP:
	case K_ADDRESS:
	case K_INPUT:
	case K_TOKEN:
	case K_URL:
	case K_PROXY:
	case K_PIN:
		if (memchr(field, '\0', k->size) == NULL) {
			snprintf(msg, msgsz, "%s: not terminated within %zu bytes", k->name,
			         k->size);
			return false;
		}
		if (check_string(k, field, why, sizeof(why)))
			return true;
		if (k->kind == K_TOKEN)
			snprintf(msg, msgsz, "%s (not shown): %s", k->name, why);
		else
			snprintf(msg, msgsz, "%s = '%s': %s", k->name,
			         show(field, shown, sizeof(shown)), why);
		return false;
	}
	return true;
}

/* --- parsing -------------------------------------------------------------------------- */

struct parse {
	const char *text;
	size_t len, pos;
	int lineno;         /* the physical line last handed to inih */
	bool in_section;    /* a [section] line has been seen */
	bool section_ok;    /* ... and it names a section we know */
	int seen[KEYS_MAX]; /* line each key was set on; 0: not yet */
	bool dropin;        /* a USB drop-in: only config_dropin_allowed() keys */
	struct config cfg;  /* the copy we parse into */
	struct errlist errs;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Look at one trimmed, non-empty, non-comment line.  Returns true to hand it
 * to inih (out gets what to hand over), false when it is reported as an error.
 */
static bool screen_line(struct parse *p, const char *s, size_t n, char *out, size_t outsz)
{
	char shown[SHOWN], copy[48];
	snprintf(copy, sizeof(copy), "%.*s", (int)(n < 41 ? n : 41), s);
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL) {
			err_add(&p->errs, p->lineno, "section header '%s' has no closing ']'",
			        show(copy, shown, sizeof(shown)));
			return false;
		}
		const char *rest = close + 1, *end = s + n;
		while (rest < end && is_blank(*rest))
			rest++;
		if (rest < end && *rest != ';' && *rest != '#') {
			err_add(&p->errs, p->lineno, "unexpected text after ']' in '%s'",
			        show(copy, shown, sizeof(shown)));
			return false;
		}
		const char *name = s + 1;
		size_t len = (size_t)(close - name);
		while (len > 0 && is_blank(*name))
			name++, len--;
		while (len > 0 && is_blank(name[len - 1]))
			len--;
		p->in_section = true;
		const char *canonical = find_section(name, len);
		p->section_ok = canonical != NULL;
		if (canonical == NULL) {
			char sect[48];
			snprintf(sect, sizeof(sect), "%.*s", (int)(len < 41 ? len : 41), name);
			char known[256] = "";
			const char *sec;
			for (size_t i = 0; (sec = section_at(i)) != NULL; i++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
				         "%s[%s]", i ? ", " : "", sec);
			err_add(&p->errs, p->lineno, "unknown section [%s] (known: %s)",
			        show(sect, shown, sizeof(shown)), known);
			return false;
		}
		/* inih gets the canonical header, so its section matches ours. */
		snprintf(out, outsz, "[%s]\n", canonical);
		return true;
	}
	/* "key = value" (or "key: value"), the separator before any inline comment:
	 * the same scan as inih's find_chars_or_comment() with ';' comments. */
	size_t i = 0;
	bool was_space = false;
	for (; i < n; i++) {
		if (s[i] == '=' || s[i] == ':' || (was_space && s[i] == ';'))
			break;
		was_space = is_blank(s[i]);
	}
	if (i == n || s[i] == ';') {
		err_add(&p->errs, p->lineno,
		        "expected 'key = value', a [section] header or a comment, not '%s'",
		        show(copy, shown, sizeof(shown)));
		return false;
	}
	size_t name_len = i;
	while (name_len > 0 && is_blank(s[name_len - 1]))
		name_len--;
	if (name_len == 0) {
		err_add(&p->errs, p->lineno, "no key name before '%c'", s[i]);
		return false;
	}
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	return true;
}

/* inih's reader: one physical line per call, screened (see the top of the file). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	if (p->pos >= p->len || num < 4)
		return NULL;
	const char *s = p->text + p->pos;
	size_t avail = p->len - p->pos;
	const char *nl = memchr(s, '\n', avail);
	size_t n = nl != NULL ? (size_t)(nl - s) : avail;
	p->pos += nl != NULL ? n + 1 : n;
	p->lineno++;
	str[0] = '\n'; /* what inih gets in place of a bad line */
	str[1] = '\0';
	if (p->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* a UTF-8 byte-order mark */
		n -= 3;
	}
	if (n > 0 && s[n - 1] == '\r')
		n--; /* CRLF line ends */
	size_t cap = (size_t)num - 2;
	if (n > cap) {
		err_add(&p->errs, p->lineno, "line too long (%zu bytes; at most %zu)", n, cap);
		return str;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0') {
			err_add(&p->errs, p->lineno, "line contains a NUL byte");
			return str;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			err_add(&p->errs, p->lineno, "line contains control character 0x%02x", c);
			return str;
		}
	}
	while (n > 0 && is_blank(*s))
		s++, n--;
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (n == 0 || s[0] == ';' || s[0] == '#')
		return str; /* blank or comment: nothing for inih to do */
	screen_line(p, s, n, str, (size_t)num);
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char s1[SHOWN], s2[SHOWN], msg[200];
	if (value == NULL)
		value = "";
	if (!p->in_section) {
		err_add(&p->errs, p->lineno, "key '%s' comes before any [section]",
		        show(name, s1, sizeof(s1)));
		return 1;
	}
	if (!p->section_ok)
		return 1; /* the unknown section's header line is the error */
	struct key_def kd;
	size_t i = 0;
	const struct key_def *k = find_key(section, name, &kd, &i) ? &kd : NULL;
	if (k == NULL) {
		const char *other = find_key_anywhere(name);
		if (other != NULL)
			err_add(&p->errs, p->lineno,
			        "unknown key '%s' in [%s] (it belongs in [%s])", name, section,
			        other);
		else
			err_add(&p->errs, p->lineno, "unknown key '%s' in [%s]",
			        show(name, s1, sizeof(s1)), show(section, s2, sizeof(s2)));
		return 1;
	}
	if (p->dropin && !config_dropin_allowed(k->section, k->name)) {
		err_add(&p->errs, p->lineno, "key '%s' in [%s] cannot be set by a USB drop-in",
		        k->name, k->section);
		return 1;
	}
	if (p->seen[i] != 0) {
		err_add(&p->errs, p->lineno, "key '%s' in [%s] given twice (first on line %d)",
		        k->name, k->section, p->seen[i]);
		return 1;
	}
	p->seen[i] = p->lineno;
	if (!set_value(k, &p->cfg, value, msg, sizeof(msg)))
		err_add(&p->errs, p->lineno, "%s", msg);
	return 1;
}

/* inih's process-wide knobs (a Debian 12 libinih feature), pinned while we parse. */
struct ini_knobs {
	int max_line;
	bool use_stack, allow_realloc, multiline, bom, inline_comments, no_value, stop_first;
	char *inline_prefixes, *start_prefixes;
};

static void knobs_get(struct ini_knobs *k)
{
	k->max_line = ini_max_line;
	k->use_stack = ini_use_stack;
	k->allow_realloc = ini_allow_realloc;
	k->multiline = ini_allow_multiline;
	k->bom = ini_allow_bom;
	k->inline_comments = ini_allow_inline_comments;
	k->no_value = ini_allow_no_value;
	k->stop_first = ini_stop_on_first_error;
	k->inline_prefixes = ini_inline_comment_prefixes;
	k->start_prefixes = ini_start_comment_prefixes;
}

static void knobs_set(const struct ini_knobs *k)
{
	ini_max_line = k->max_line;
	ini_use_stack = k->use_stack;
	ini_allow_realloc = k->allow_realloc;
	ini_allow_multiline = k->multiline;
	ini_allow_bom = k->bom;
	ini_allow_inline_comments = k->inline_comments;
	ini_allow_no_value = k->no_value;
	ini_stop_on_first_error = k->stop_first;
	ini_inline_comment_prefixes = k->inline_prefixes;
	ini_start_comment_prefixes = k->start_prefixes;
}

static enum qd_err parse_text(const char *name, const char *text, size_t len, struct config *cfg,
                              struct config_errors *errs, bool dropin)
{
	static char inline_prefixes[] = ";";
	static char start_prefixes[] = ";#";
	static const struct ini_knobs ours = {
	        .max_line = LINE_BUF,
	        .use_stack = true,
	        .allow_realloc = false,
	        .multiline = false,
	        .bom = false, /* the reader drops a BOM itself */
	        .inline_comments = true,
	        .no_value = false,
	        .stop_first = false,
	        .inline_prefixes = inline_prefixes,
	        .start_prefixes = start_prefixes,
	};
	struct config_errors scratch;
	if (errs == NULL)
		errs = &scratch;
	errs_reset(errs, name);
	if (cfg == NULL || (text == NULL && len > 0))
		return QD_ERR_ARG;
	if (len > CONFIG_FILE_MAX) {
		struct errlist l = {errs, 0};
		err_add(&l, 0, "larger than %d bytes: not a configuration file", CONFIG_FILE_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct parse *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return QD_ERR_NOMEM;
	p->text = text;
	p->len = len;
	p->cfg = *cfg;
	p->errs.e = errs;
	p->dropin = dropin;

	struct ini_knobs saved;
	knobs_get(&saved);
	knobs_set(&ours);
	int rc = ini_parse_stream(read_line, p, on_key, p);
	knobs_set(&saved);

	enum qd_err result = QD_OK;
	if (rc == -2) {
		result = QD_ERR_NOMEM;
	} else if (rc < 0) {
		err_add(&p->errs, 0, "inih failed (%d)", rc);
		result = QD_ERR_IO;
	} else if (rc > 0 && !err_at_line(errs, rc)) {
		/* The reader screens every line, so this should not happen. */
		err_add(&p->errs, rc, "cannot parse this line");
	}
	err_finish(&p->errs);
	if (result == QD_OK && errs->count > 0)
		result = QD_ERR_FORMAT;
	if (result == QD_OK)
		*cfg = p->cfg;
	free(p);
	return result;
}

enum qd_err config_parse(const char *name, const char *text, size_t len, struct config *cfg,
                         struct config_errors *errs)
{
	return parse_text(name, text, len, cfg, errs, false);
}

/* --- files ---------------------------------------------------------------------------- */

static enum qd_err load_file(const char *path, struct config *cfg, struct config_errors *errs,
                             bool dropin)
{
	struct config_errors scratch;
	if (errs == NULL)
		errs = &scratch;
	errs_reset(errs, path);
	if (path == NULL || cfg == NULL)
		return QD_ERR_ARG;
	struct errlist l = {errs, 0};
	uint8_t *buf = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	/* file_read: a FIFO put in its place must not hang the daemon's start. */
	enum qd_err rc = file_read(path, CONFIG_FILE_MAX, &buf, &len, &why);
	if (rc != QD_OK) {
		err_add(&l, 0, "%s", why.text);
		return rc;
	}
	rc = parse_text(path, (const char *)buf, len, cfg, errs, dropin);
	free(buf);
	return rc;
}

enum qd_err config_load(const char *path, struct config *cfg, struct config_errors *errs)
{
	return load_file(path, cfg, errs, false);
}

/* --- USB drop-in --------------------------------------------------------- */

/*
 * What a USB bundle may set (docs/usb-bundle.md): the desk's name, the sync
 * and upload endpoints and durations.  Never the store, the pinned root, the
 * control socket, the GPIO wiring, CA files or key pins, or anything that
 * runs code; nor [sync] stale_grace_s, which would stretch how long a frozen
 * repository still gives green (only the desk's own file may).
 */
static const char *const dropin_keys[] = {
        "desk.desk_id",
        "pipeline.holdoff_ms",
        "kiosk.idle_ms",
        "indicators.valid_ms",
        "indicators.invalid_ms",
        "indicators.review_ms",
        "indicators.beep_ms",
        "indicators.gap_ms",
        "indicators.min_show_ms",
        "sync.url",
        "sync.period_s",
        "sync.jitter_s",
        "sync.retry_s",
        "sync.backoff_max_s",
        "upload.url",
        "upload.period_s",
        "upload.batch_rows",
        "upload.retention_days",
};

bool config_dropin_allowed(const char *section, const char *key)
{
	char name[80];
	if ((size_t)snprintf(name, sizeof(name), "%s.%s", section, key) >= sizeof(name))
		return false;
	for (size_t i = 0; i < sizeof(dropin_keys) / sizeof(dropin_keys[0]); i++)
		if (strcmp(dropin_keys[i], name) == 0) {
			struct key_def k;
			return find_key(section, key, &k, NULL);
		}
	return false;
}

enum qd_err config_load_dropin(const char *path, struct config *cfg, struct config_errors *errs)
{
	if (path == NULL || path[0] == '\0' || access(path, F_OK) != 0) {
		if (errs != NULL)
			errs_reset(errs, path);
		return QD_OK; /* no bundle has set anything */
	}
	return load_file(path, cfg, errs, true);
}

const char *config_usb_mode_name(enum config_usb_mode mode)
{
	switch (mode) {
	case CONFIG_USB_OFF:
		return "off";
	case CONFIG_USB_AUTOMOUNT:
		return "automount";
	case CONFIG_USB_UDEV:
		return "udev";
	}
	return NULL;
}

/* --- one key, cross checks, printing ------------------------------------------------------ */

enum qd_err config_set(struct config *cfg, const char *section, const char *key, const char *value,
                       struct qd_errmsg *why)
{
	if (cfg == NULL || section == NULL || key == NULL || value == NULL) {
		qd_errmsg_set(why, "config_set: missing argument");
		return QD_ERR_ARG;
	}
	char s1[SHOWN], s2[SHOWN], msg[200];
	struct key_def kd;
	const struct key_def *k = find_key(section, key, &kd, NULL) ? &kd : NULL;
	if (k == NULL) {
		if (find_section(section, strlen(section)) == NULL)
			qd_errmsg_set(why, "unknown section [%s]", show(section, s1, sizeof(s1)));
		else
			qd_errmsg_set(why, "unknown key '%s' in [%s]", show(key, s1, sizeof(s1)),
			              show(section, s2, sizeof(s2)));
		return QD_ERR_FORMAT;
	}
	if (!set_value(k, cfg, value, msg, sizeof(msg))) {
		qd_errmsg_set(why, "%s", msg);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

enum qd_err config_validate(const struct config *cfg, struct config_errors *errs)
{
	struct config_errors scratch;
	if (errs == NULL) {
		errs = &scratch;
		errs_reset(errs, NULL);
	}
	errs->count = 0; /* errs->file is kept: the caller may have loaded that file */
	if (cfg == NULL)
		return QD_ERR_ARG;
	struct errlist l = {errs, 0};
	char msg[200];

	/* Every field as the file would have allowed it (a caller may set fields directly). */
	for (size_t i = 0; i < keys_n(); i++) {
		struct key_def k = key_get(i);
		if (!check_field(&k, cfg, msg, sizeof(msg)))
			err_add(&l, 0, "[%s] %s", k.section, msg);
	}

	/* Two indicators on one GPIO line would light together. */
	static const char *const line_keys[INDICATOR_LINES] = {
	        [INDICATOR_GREEN] = "green",
	        [INDICATOR_RED] = "red",
	        [INDICATOR_AMBER] = "amber",
	        [INDICATOR_BUZZER] = "buzzer",
	};
	if (cfg->indicator_backend == CONFIG_INDICATOR_GPIOD) {
		for (int a = 0; a < INDICATOR_LINES; a++)
			for (int b = a + 1; b < INDICATOR_LINES; b++)
				if (cfg->gpio.offsets[a] == cfg->gpio.offsets[b])
					err_add(&l, 0,
					        "[indicators] %s and %s both use line %u of %.64s",
					        line_keys[a], line_keys[b], cfg->gpio.offsets[a],
					        cfg->gpio.chip);
	}

	/* The beeps of each verdict must end before its light goes out. */
	const struct pattern_timing *t = &cfg->timing;
	uint64_t beep = t->beep_ms, gap = t->gap_ms;
	struct {
		const char *key, *what, *formula;
		uint32_t have;
		uint64_t need;
	} fits[] = {
	        {"valid_ms", "one beep", "beep_ms", t->valid_ms, beep},
	        {"invalid_ms", "three beeps", "3 x beep_ms + 2 x gap_ms", t->invalid_ms,
	         3 * beep + 2 * gap},
	        {"review_ms", "two beeps", "2 x beep_ms + gap_ms", t->review_ms, 2 * beep + gap},
	};
	for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++)
		if (fits[i].have < fits[i].need)
			err_add(&l, 0,
			        "[indicators] %s = %u is too short for its %s: %s = %llu ms "
			        "(beep_ms = %u, gap_ms = %u)",
			        fits[i].key, (unsigned)fits[i].have, fits[i].what, fits[i].formula,
			        (unsigned long long)fits[i].need, (unsigned)t->beep_ms,
			        (unsigned)t->gap_ms);

	/* [kiosk]: the display's listener serves one user, who must be named; not the main port. */
	if ((cfg->kiosk_display_port != 0) != (cfg->kiosk_display_user[0] != '\0'))
		err_add(&l, 0,
		        "[kiosk] display_port and display_user go together: set both or "
		        "neither");
	if (cfg->kiosk_display_port != 0 && cfg->kiosk_display_port == cfg->kiosk_port)
		err_add(&l, 0, "[kiosk] display_port = %u is the kiosk's port too",
		        (unsigned)cfg->kiosk_display_port);

	/* [sync]: the jitter spreads desks within a period, the back-off starts below its cap. */
	if (cfg->sync.jitter_s >= cfg->sync.period_s)
		err_add(&l, 0, "[sync] jitter_s = %u must be less than period_s = %u",
		        (unsigned)cfg->sync.jitter_s, (unsigned)cfg->sync.period_s);
	if (cfg->sync.retry_s > cfg->sync.backoff_max_s)
		err_add(&l, 0, "[sync] retry_s = %u must not exceed backoff_max_s = %u",
		        (unsigned)cfg->sync.retry_s, (unsigned)cfg->sync.backoff_max_s);

	err_finish(&l);
	return errs->count > 0 ? QD_ERR_FORMAT : QD_OK;
}

void config_errors_print(const struct config_errors *errs, void (*fn)(const char *line))
{
	if (errs == NULL || fn == NULL)
		return;
	size_t flen = strnlen(errs->file, sizeof(errs->file));
	const char *file = flen > 0 ? errs->file : "configuration";
	if (flen == 0)
		flen = strlen(file);
	size_t count = errs->count < CONFIG_ERRORS_MAX ? errs->count : CONFIG_ERRORS_MAX;
	for (size_t i = 0; i < count; i++) {
		char line[CONFIG_PATH_MAX + sizeof(errs->items[0].message) + 32];
		int mlen = (int)strnlen(errs->items[i].message, sizeof(errs->items[i].message));
		if (errs->items[i].line > 0)
			snprintf(line, sizeof(line), "%.*s:%d: %.*s", (int)flen, file,
			         errs->items[i].line, mlen, errs->items[i].message);
		else
			snprintf(line, sizeof(line), "%.*s: %.*s", (int)flen, file, mlen,
			         errs->items[i].message);
		fn(line);
	}
}
