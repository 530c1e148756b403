/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner.h - the registry of code sources (drivers/scanners.c): one row per
 * kind of scanner, so the daemon, the configuration and qrdeskctl start,
 * read, default, name and check every configured source by walking the rows,
 * never by a list of their own.
 *
 * A row gives the source's name, its configuration section, its keys (type,
 * field, range, as data), its settings' size and defaults, the key that asks
 * for it, the systemd DeviceAllow= lines it needs (qrdeskd --unit-devices),
 * what qrdeskctl doctor checks of its device, and how to create it.  The
 * settings struct, keys and defaults are the driver's own, in its header
 * (include/qrdesk/source_<x>.h); this header names no driver.
 *
 * drivers/scanners.c is compiled twice: as qrdesk_scanner_rows, the rows as
 * data (config.c and qrdeskctl read them without linking a driver), and as
 * qrdesk_scanners, the rows' constructors (scanner_create(), the daemon).
 * Adding a scanner: its driver file and header, its row in scanners.c; then
 * CMake, the example config and the docs (docs/architecture.md).
 */
#ifndef QRDESK_SCANNER_H
#define QRDESK_SCANNER_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qrdesk/error.h"
#include "qrdesk/source.h"

#define SCANNER_PATH_MAX 256

/* How config.c reads a scanner key's value (its checks are config.c's). */
enum scanner_key_type {
	SCANNER_KEY_BOOL,    /* bool */
	SCANNER_KEY_MS,      /* uint32_t milliseconds, min..max */
	SCANNER_KEY_PATH,    /* char[]: a path, "" allowed */
	SCANNER_KEY_INPUT,   /* char[]: "", an absolute path or a USB "vvvv:pppp" */
	SCANNER_KEY_COUNT,   /* uint32_t, min..max */
	SCANNER_KEY_BAUD,    /* unsigned: a standard serial rate */
	SCANNER_KEY_FRAMING, /* char[4]: "8N1" and the like */
	SCANNER_KEY_BYTES,   /* unsigned byte count, min..max */
	SCANNER_KEY_CHOICE,  /* an int-sized enum: the index of one of names[] */
	SCANNER_KEY_SET,     /* unsigned mask: names[i] is bit i, one or more, ','-joined */
};

/* One key of a scanner's section: its field in the row's settings struct. */
struct scanner_key {
	const char *name;
	enum scanner_key_type type;
	size_t offset, size;
	uint32_t min, max;
	const char *const *names; /* CHOICE and SET: the spellings, NULL-terminated */
};

/* A key's offset and size in settings struct T. */
#define SCANNER_FIELD(T, f) offsetof(T, f), sizeof(((T *)0)->f)
/* A driver's key rows (its header's SOURCE_<X>_KEYS(T)): name, SCANNER_KEY_<type>, field
 * of settings struct T, range; for CHOICE and SET, the spellings instead of a range. */
#define SCANNER_KEY(name, type, T, f, min, max)                                                    \
	{                                                                                          \
		(name), SCANNER_KEY_##type, SCANNER_FIELD(T, f), (min), (max), NULL                \
	}
#define SCANNER_KEY_NAMED(name, type, T, f, ...)                                                   \
	{                                                                                          \
		(name), SCANNER_KEY_##type, SCANNER_FIELD(T, f), 0, 0, (const char *const[])       \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

/* Every row's keys together, at most (config.c sizes a per-parse table by it). */
#define SCANNER_KEYS_MAX 64

/* Every row's settings, each in its own slot (scanner_settings_of() finds it). */
#define SCANNER_KINDS_MAX    8
#define SCANNER_SETTINGS_MAX 640 /* bytes of one row's settings struct */
struct scanner_settings {
	struct {
		alignas(max_align_t) unsigned char bytes[SCANNER_SETTINGS_MAX];
	} kind[SCANNER_KINDS_MAX];
};

/* A row's constructor: settings is the row's struct; formats the CAMERA_FORMAT_* symbologies
 * the desk reads (for sources that decode pictures). */
typedef enum qd_err (*scanner_create_fn)(const void *settings, unsigned formats, source_code_cb cb,
                                         void *arg, struct source **out);

struct scanner_kind {
	const char *name;    /* the source's name in logs, status and audit rows */
	const char *section; /* its configuration section */
	const struct scanner_key *keys;
	size_t keys_n;
	size_t settings_size;
	const void *defaults; /* settings_size bytes */
	/* The key (a path, or a bool) that asks for this source: "" or false, not configured. */
	const char *wanted_key;
	/* Optional: DeviceAllow= lines for a configured source. */
	void (*devices)(const void *settings, FILE *out);
	/* qrdeskctl doctor: the device's name in its report and the access(2) it needs
	 * (NULL: no device to check); reads_cards: counts as a way to read a card. */
	const char *device_label;
	int device_access;
	bool reads_cards;
};

/* The rows, in start-up order; row i's settings are in slot i of struct scanner_settings. */
extern const struct scanner_kind scanner_kinds[];
extern const size_t scanner_kinds_count;

/* Every row's defaults, each in its slot. */
void scanner_settings_defaults(struct scanner_settings *s);

/* Row name's settings in s; NULL if there is no such row.  Like strchr(), it takes a
 * const and gives back a writable pointer: the caller knows which it passed. */
void *scanner_settings_of(const struct scanner_settings *s, const char *name);

/* What row i reads if the settings ask for it (a path, or the row's name); NULL: not. */
const char *scanner_wanted(const struct scanner_settings *s, size_t i);

/* Every row's keys in one numbering: key i, its section and its offset in struct
 * scanner_settings.  NULL past the last. */
size_t scanner_keys_count(void);
const struct scanner_key *scanner_key_at(size_t i, const char **section, size_t *offset);

/* True if [section] key is a scanner's key. */
bool scanner_owns_key(const char *section, const char *key);

/* Row i's source (qrdesk_scanners, the daemon's library: it links the drivers). */
enum qd_err scanner_create(size_t i, const struct scanner_settings *s, unsigned formats,
                           source_code_cb cb, void *arg, struct source **out);

#endif
