/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanners.c - the registry of code sources (see scanner.h): one row per scanner.
 *
 * Compiled twice: without QRDESK_SCANNER_CODE it is the rows as data and their
 * walks (qrdesk_scanner_rows: config.c, qrdeskctl; no driver linked); with it,
 * scanner_create() over the same rows' constructors (qrdesk_scanners: the daemon).
 * A row names its settings struct, keys and defaults (the driver's header),
 * the key that asks for it, its DeviceAllow= lines, its doctor check and its
 * constructor; ROW() turns it into what each build needs.
 */
#include "qrdesk/scanner.h"

#include <string.h>
#include <unistd.h>

#include "qrdesk/source_camera.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/source_serial.h"

/* --- what a row's DeviceAllow= lines and constructor are ------------------------------------ */

#ifndef QRDESK_SCANNER_CODE
static void serial_devices(const void *settings, FILE *out)
{
	const struct source_serial_config *c = settings;
	if (strncmp(c->device, "/dev/tty", 8) == 0)
		fprintf(out, "DeviceAllow=%s rw\n", c->device);
	else /* a /dev/serial/by-id link: the node behind it may change on re-plug */
		fprintf(out, "DeviceAllow=char-ttyACM rw\nDeviceAllow=char-ttyUSB rw\n");
}

static void hid_devices(const void *settings, FILE *out)
{
	(void)settings; /* event node numbers change on re-plug */
	fprintf(out, "DeviceAllow=char-input r\n");
}

static void camera_devices(const void *settings, FILE *out)
{
	(void)settings; /* /dev/videoN changes on re-plug too */
	fprintf(out, "DeviceAllow=char-video4linux rw\n");
}
#else
static enum qd_err stdin_create(const void *settings, unsigned formats, source_code_cb cb,
                                void *arg, struct source **out)
{
	(void)settings, (void)formats;
	return source_replay_lines_fd("stdin", STDIN_FILENO, cb, arg, out);
}

static enum qd_err fifo_create(const void *settings, unsigned formats, source_code_cb cb, void *arg,
                               struct source **out)
{
	(void)formats;
	const struct source_replay_fifo_config *c = settings;
	return source_replay_lines_fifo("fifo", c->path, cb, arg, out);
}

static enum qd_err images_create(const void *settings, unsigned formats, source_code_cb cb,
                                 void *arg, struct source **out)
{
	const struct source_replay_images_config *c = settings;
	struct source_images_config images = c->images;
	images.formats = formats;
	return source_replay_images_with("images", c->dir, &images, cb, arg, out);
}

/* A serial scanner: absent is not a failure, the source waits for it. */
static enum qd_err serial_create(const void *settings, unsigned formats, source_code_cb cb,
                                 void *arg, struct source **out)
{
	(void)formats;
	return source_serial("serial", settings, cb, arg, out);
}

static enum qd_err hid_create(const void *settings, unsigned formats, source_code_cb cb, void *arg,
                              struct source **out)
{
	(void)formats;
	return source_hid("hid", settings, cb, arg, out);
}

/* The camera: absent or stalled is not a failure, its thread keeps trying. */
static enum qd_err camera_create(const void *settings, unsigned formats, source_code_cb cb,
                                 void *arg, struct source **out)
{
	struct source_camera_config c = *(const struct source_camera_config *)settings;
	c.formats = formats;
	return source_camera("camera", &c, cb, arg, out);
}
#endif

/*
 * The rows, in start-up order: ROW(name, section, settings struct, KEYS, DEFAULTS,
 * wanted key, devices, doctor's device label, access, reads cards, create).
 */
#define SCANNER_ROWS                                                                               \
	ROW(stdin, "replay", struct source_replay_stdin_config, SOURCE_REPLAY_STDIN_KEYS,          \
	    SOURCE_REPLAY_STDIN_DEFAULTS, "stdin", NULL, NULL, 0, true)                            \
	ROW(fifo, "replay", struct source_replay_fifo_config, SOURCE_REPLAY_FIFO_KEYS,             \
	    SOURCE_REPLAY_FIFO_DEFAULTS, "fifo", NULL, NULL, 0, true)                              \
	ROW(images, "replay", struct source_replay_images_config, SOURCE_REPLAY_IMAGES_KEYS,       \
	    SOURCE_REPLAY_IMAGES_DEFAULTS, "images", NULL, NULL, 0, false)                         \
	ROW(serial, "serial", struct source_serial_config, SOURCE_SERIAL_KEYS,                     \
	    SOURCE_SERIAL_DEFAULTS, "device", serial_devices, "serial scanner", R_OK | W_OK, true) \
	ROW(hid, "hid", struct source_hid_config, SOURCE_HID_KEYS, SOURCE_HID_DEFAULTS, "device",  \
	    hid_devices, "keyboard scanner", R_OK, true)                                           \
	ROW(camera, "camera", struct source_camera_config, SOURCE_CAMERA_KEYS,                     \
	    SOURCE_CAMERA_DEFAULTS, "device", camera_devices, "camera", R_OK | W_OK, true)

#ifndef QRDESK_SCANNER_CODE

/* Each row's keys and defaults as static data ... */
#define ROW(id, section, type, keys, defaults, wanted, devices, label, access, reads)              \
	static const struct scanner_key id##_keys[] = {keys(type)};                                \
	static const type id##_defaults = {defaults()};                                            \
	_Static_assert(sizeof(type) <= SCANNER_SETTINGS_MAX, "raise SCANNER_SETTINGS_MAX");        \
	_Static_assert(alignof(type) <= alignof(max_align_t), #id "'s settings: alignment");
SCANNER_ROWS
#undef ROW

/* ... and the rows. */
#define ROW(id, section, type, keys, defaults, wanted, devices, label, access, reads)              \
	{#id,          section,        id##_keys, sizeof(id##_keys) / sizeof(id##_keys[0]),        \
	 sizeof(type), &id##_defaults, wanted,    devices,                                         \
	 label,        access,         reads},
const struct scanner_kind scanner_kinds[] = {SCANNER_ROWS};
#undef ROW
const size_t scanner_kinds_count = sizeof(scanner_kinds) / sizeof(scanner_kinds[0]);
_Static_assert(sizeof(scanner_kinds) / sizeof(scanner_kinds[0]) <= SCANNER_KINDS_MAX,
               "raise SCANNER_KINDS_MAX (struct scanner_settings has a slot per row)");

void scanner_settings_defaults(struct scanner_settings *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < scanner_kinds_count; i++)
		memcpy(s->kind[i].bytes, scanner_kinds[i].defaults, scanner_kinds[i].settings_size);
}

void *scanner_settings_of(const struct scanner_settings *s, const char *name)
{
	for (size_t i = 0; i < scanner_kinds_count; i++)
		if (strcmp(scanner_kinds[i].name, name) == 0)
			return (void *)s->kind[i].bytes;
	return NULL;
}

static const struct scanner_key *find(const struct scanner_kind *row, const char *name)
{
	for (size_t k = 0; k < row->keys_n; k++)
		if (strcmp(row->keys[k].name, name) == 0)
			return &row->keys[k];
	return NULL;
}

const char *scanner_wanted(const struct scanner_settings *s, size_t i)
{
	if (i >= scanner_kinds_count)
		return NULL;
	const struct scanner_key *k = find(&scanner_kinds[i], scanner_kinds[i].wanted_key);
	if (k == NULL)
		return NULL;
	const unsigned char *field = s->kind[i].bytes + k->offset;
	if (k->type == SCANNER_KEY_BOOL)
		return *(const bool *)field ? scanner_kinds[i].name : NULL;
	return field[0] != '\0' ? (const char *)field : NULL;
}

size_t scanner_keys_count(void)
{
	size_t n = 0;
	for (size_t i = 0; i < scanner_kinds_count; i++)
		n += scanner_kinds[i].keys_n;
	return n;
}

const struct scanner_key *scanner_key_at(size_t i, const char **section, size_t *offset)
{
	for (size_t r = 0; r < scanner_kinds_count; r++) {
		if (i < scanner_kinds[r].keys_n) {
			const struct scanner_key *k = &scanner_kinds[r].keys[i];
			*section = scanner_kinds[r].section;
			*offset = offsetof(struct scanner_settings, kind) +
			          r * sizeof(((struct scanner_settings *)0)->kind[0]) + k->offset;
			return k;
		}
		i -= scanner_kinds[r].keys_n;
	}
	return NULL;
}

bool scanner_owns_key(const char *section, const char *key)
{
	for (size_t r = 0; r < scanner_kinds_count; r++)
		if (strcmp(scanner_kinds[r].section, section) == 0 &&
		    find(&scanner_kinds[r], key) != NULL)
			return true;
	return false;
}

#else /* QRDESK_SCANNER_CODE */

#define ROW(id, section, type, keys, defaults, wanted, devices, label, access, reads) id##_create,
static const scanner_create_fn creates[] = {SCANNER_ROWS};
#undef ROW

enum qd_err scanner_create(size_t i, const struct scanner_settings *s, unsigned formats,
                           source_code_cb cb, void *arg, struct source **out)
{
	if (i >= scanner_kinds_count || i >= sizeof(creates) / sizeof(creates[0]))
		return QD_ERR_ARG;
	return creates[i](s->kind[i].bytes, formats, cb, arg, out);
}

#endif
