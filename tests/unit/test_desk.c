/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_desk.c - the table of desk parts (firmware/desk/desk.h): every
 * configuration key is owned by exactly one part and marked live or
 * restart; the scanner registry and the configuration agree on the scanner
 * keys; a reload names exactly the restart keys that changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "desk/desk.h"
#include "qrdesk/config.h"
#include "qrdesk/scanner.h"
#include "qrdesk/source_serial.h"

static void test_every_key_owned_once(void **state)
{
	(void)state;
	assert_true(config_key_count() > 0);
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *section, *name;
		config_key_at(i, &section, &name);
		size_t owners = 0;
		for (size_t p = 0; p < desk_parts_count; p++) {
			enum desk_key_when when = 0;
			const struct desk_part *part = desk_parts[p];
			bool owns = part->owns != NULL && part->owns(section, name, &when);
			for (const struct desk_key *k = part->keys; !owns && k && k->section; k++)
				if (strcmp(k->section, section) == 0 &&
				    (k->name == NULL || strcmp(k->name, name) == 0)) {
					owns = true;
					when = k->when;
				}
			if (!owns)
				continue;
			owners++;
			if (when != DESK_KEY_LIVE && when != DESK_KEY_RESTART)
				fail_msg("[%s] %s (part %s): neither live nor restart", section,
				         name, part->name);
		}
		if (owners != 1)
			fail_msg("[%s] %s: owned by %zu parts, not one", section, name, owners);
		enum desk_key_when when = 0;
		assert_non_null(desk_key_owner(section, name, &when));
	}
}

/* Every key a part lists by name is a key of the configuration (no stale entries). */
static void test_part_keys_exist(void **state)
{
	(void)state;
	for (size_t p = 0; p < desk_parts_count; p++) {
		for (const struct desk_key *k = desk_parts[p]->keys; k && k->section; k++) {
			bool found = false;
			for (size_t i = 0; i < config_key_count() && !found; i++) {
				const char *section, *name;
				config_key_at(i, &section, &name);
				found = strcmp(section, k->section) == 0 &&
				        (k->name == NULL || strcmp(name, k->name) == 0);
			}
			if (!found)
				fail_msg("part %s lists [%s] %s, which is no configuration key",
				         desk_parts[p]->name, k->section, k->name ? k->name : "*");
		}
		assert_non_null(desk_parts[p]->open);
	}
}

/* The scanners' keys (the registry rows' data config.c reads) and the registry agree: every
 * scanner key is a configuration key in a registry row's section, every row's section has
 * keys, and every configuration key in a scanner's section is a scanner key. */
static void test_scanner_rows_match_config(void **state)
{
	(void)state;
	assert_true(scanner_keys_count() > 0);
	for (size_t k = 0; k < scanner_keys_count(); k++) {
		const char *key_section = NULL;
		size_t offset;
		const struct scanner_key *key = scanner_key_at(k, &key_section, &offset);
		assert_non_null(key);
		bool found = false, row = false;
		for (size_t i = 0; i < config_key_count() && !found; i++) {
			const char *section, *name;
			config_key_at(i, &section, &name);
			found = strcmp(section, key_section) == 0 && strcmp(name, key->name) == 0;
		}
		if (!found)
			fail_msg("scanner key [%s] %s is not a configuration key", key_section,
			         key->name);
		for (size_t r = 0; r < scanner_kinds_count && !row; r++)
			row = strcmp(scanner_kinds[r].section, key_section) == 0;
		if (!row)
			fail_msg("scanner key [%s] %s: no registry row has that section",
			         key_section, key->name);
		assert_true(key->size > 0);
	}
	/* A row past the last has no constructor (every row has one: scanners.c builds both
	 * from the same rows). */
	static struct scanner_settings none;
	struct source *src = NULL;
	assert_int_equal(scanner_create(scanner_kinds_count, &none, 0, NULL, NULL, &src),
	                 QD_ERR_ARG);
	for (size_t r = 0; r < scanner_kinds_count; r++) {
		const struct scanner_kind *row = &scanner_kinds[r];
		assert_non_null(row->wanted_key);
		bool keyed = false;
		for (size_t k = 0; k < scanner_keys_count() && !keyed; k++) {
			const char *key_section = NULL;
			size_t offset;
			scanner_key_at(k, &key_section, &offset);
			keyed = strcmp(key_section, row->section) == 0;
		}
		if (!keyed)
			fail_msg("scanner %s: its section [%s] has no keys", row->name,
			         row->section);
	}
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *section, *name;
		config_key_at(i, &section, &name);
		bool scanner_section = false;
		for (size_t r = 0; r < scanner_kinds_count; r++)
			scanner_section |= strcmp(scanner_kinds[r].section, section) == 0;
		if (scanner_section && !scanner_owns_key(section, name))
			fail_msg("[%s] %s: in a scanner's section but no scanner's key", section,
			         name);
	}
}

/* A scanner is its row: the row's keys are its own (no other row has them), its defaults
 * are values config.c's own checks accept, and config.c reads each key into that row's
 * settings (its slot) and nowhere else, so the row alone asks for the source. */
static void test_scanner_row_is_the_scanner(void **state)
{
	(void)state;
	static struct config c, before;
	config_defaults(&c);
	struct config_errors errs;
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(config_validate(&c, &errs), QD_OK);
	for (size_t r = 0; r < scanner_kinds_count; r++) {
		const struct scanner_kind *row = &scanner_kinds[r];
		assert_true(row->settings_size > 0 && row->settings_size <= SCANNER_SETTINGS_MAX);
		unsigned char *mine = scanner_settings_of(&c.scanners, row->name);
		assert_ptr_equal(mine, c.scanners.kind[r].bytes);
		assert_memory_equal(mine, row->defaults, row->settings_size);
		assert_null(scanner_wanted(&c.scanners, r)); /* nothing configured by default */
		bool has_wanted = false;
		for (size_t k = 0; k < row->keys_n; k++) {
			const struct scanner_key *key = &row->keys[k];
			assert_true(key->offset + key->size <= row->settings_size);
			has_wanted |= strcmp(key->name, row->wanted_key) == 0;
			size_t owners = 0;
			for (size_t o = 0; o < scanner_kinds_count; o++)
				for (size_t j = 0; j < scanner_kinds[o].keys_n; j++)
					owners += strcmp(scanner_kinds[o].section, row->section) ==
					                  0 &&
					          strcmp(scanner_kinds[o].keys[j].name,
					                 key->name) == 0;
			if (owners != 1)
				fail_msg("[%s] %s: %zu rows have it", row->section, key->name,
				         owners);
			if (key->type == SCANNER_KEY_CHOICE || key->type == SCANNER_KEY_SET) {
				assert_non_null(key->names);
				assert_non_null(key->names[0]);
				assert_int_equal(key->size, sizeof(int));
			}
			if (key->type == SCANNER_KEY_MS || key->type == SCANNER_KEY_COUNT ||
			    key->type == SCANNER_KEY_BYTES) {
				uint32_t v;
				assert_int_equal(key->size, sizeof(v));
				memcpy(&v, mine + key->offset, sizeof(v));
				if (v < key->min || v > key->max)
					fail_msg("[%s] %s: default %u not in %u..%u", row->section,
					         key->name, (unsigned)v, (unsigned)key->min,
					         (unsigned)key->max);
			}
		}
		if (!has_wanted)
			fail_msg("scanner %s: wanted key %s is none of its keys", row->name,
			         row->wanted_key);
	}
	/* Setting a row's wanted key through config.c asks for that row's source only. */
	for (size_t r = 0; r < scanner_kinds_count; r++) {
		const struct scanner_kind *row = &scanner_kinds[r];
		config_defaults(&c);
		before = c;
		char value[64];
		snprintf(value, sizeof(value), "/dev/qrdesk-test-%s", row->name);
		bool is_bool = false;
		for (size_t k = 0; k < row->keys_n; k++)
			if (strcmp(row->keys[k].name, row->wanted_key) == 0)
				is_bool = row->keys[k].type == SCANNER_KEY_BOOL;
		struct qd_errmsg why;
		assert_int_equal(config_set(&c, row->section, row->wanted_key,
		                            is_bool ? "true" : value, &why),
		                 QD_OK);
		assert_string_equal(scanner_wanted(&c.scanners, r), is_bool ? row->name : value);
		struct config_scanner sc; /* what qrdeskctl doctor walks */
		assert_true(config_scanner_at(&c, r, &sc));
		assert_string_equal(sc.wants, is_bool ? row->name : value);
		assert_ptr_equal(sc.device_label, row->device_label);
		assert_false(config_scanner_at(&c, scanner_kinds_count, &sc));
		for (size_t o = 0; o < scanner_kinds_count; o++) {
			if (o == r)
				continue;
			assert_null(scanner_wanted(&c.scanners, o));
			assert_memory_equal(c.scanners.kind[o].bytes, before.scanners.kind[o].bytes,
			                    sizeof(c.scanners.kind[o].bytes));
		}
	}
}

struct names {
	char text[1024];
	size_t n;
};

static void collect(void *arg, const char *key)
{
	struct names *names = arg;
	size_t len = strlen(names->text);
	snprintf(names->text + len, sizeof(names->text) - len, "%s;", key);
	names->n++;
}

static void test_reload_names_restart_keys(void **state)
{
	(void)state;
	static struct config run, fresh;
	config_defaults(&run);
	config_defaults(&fresh);
	struct names names = {{0}, 0};
	desk_changed_restart_keys(&run, &fresh, collect, &names);
	assert_int_equal(names.n, 0);

	/* [usb] was once neither applied nor named on reload. */
	fresh.usb.mode = CONFIG_USB_AUTOMOUNT;
	fresh.usb.max_bundle_mb = 100;
	fresh.kiosk_port = 8081;
	snprintf(source_serial_settings(&fresh.scanners)->device,
	         sizeof(source_serial_settings(&fresh.scanners)->device), "/dev/ttyACM0");
	/* Live keys are applied, not named. */
	fresh.holdoff_ms = 10;
	fresh.timing.valid_ms = 999;
	fresh.sync.period_s = 61;
	snprintf(fresh.desk_id, sizeof(fresh.desk_id), "OTHER-1");
	desk_changed_restart_keys(&run, &fresh, collect, &names);
	assert_string_equal(names.text,
	                    "[serial] device;[kiosk] port;[usb] mode;[usb] max_bundle_mb;");

	/* A string key compares as text: bytes after the NUL are not the value. */
	static struct config a, b;
	config_defaults(&a);
	config_defaults(&b);
	snprintf(a.store, sizeof(a.store), "/var/lib/qrdesk/longer-name.db");
	snprintf(a.store, sizeof(a.store), "/var/lib/qrdesk/desk.db");
	names = (struct names){{0}, 0};
	desk_changed_restart_keys(&a, &b, collect, &names);
	assert_int_equal(names.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_key_owned_once),
	        cmocka_unit_test(test_part_keys_exist),
	        cmocka_unit_test(test_scanner_rows_match_config),
	        cmocka_unit_test(test_scanner_row_is_the_scanner),
	        cmocka_unit_test(test_reload_names_restart_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
