/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_firmware.c - the firmware the desk runs and what became of its last
 * update (docs/image.md).  A desk image's slot names its version in
 * [desk] firmware_release (KEY=VALUE lines: VERSION=, COMPATIBLE=).  The
 * image's boot-time recorder leaves "firmware-event" beside the store when a
 * boot follows an update or a rollback: one line "SECONDS RESULT TEXT", RESULT
 * "updated" or "rolled-back".  At open and at each reload the part takes that
 * file: one audit row (event "firmware"), then it is renamed
 * "firmware-event.done", which keeps the last update for the status across
 * restarts.  A crash between the row and the rename repeats the row at the
 * next start; it never loses it.  Without a release file (a desk installed
 * from the package alone) the status has no firmware member.
 */
#include "desk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk_status.h"
#include "qrdesk/file.h"
#include "qrdesk/log.h"
#include "qrdesk/store.h"

#define RELEASE_MAX 4096
#define EVENT_MAX   1024

static const struct desk_key keys[] = {
        {"desk", "firmware_release", DESK_KEY_RESTART},
        {NULL, NULL, 0},
};

/* n bytes of src as printable ASCII (anything else shown as '?'). */
static void copy_printable(char *dst, size_t size, const char *src, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[j] = '\0';
}

static void read_release(struct desk *d)
{
	d->fw_version[0] = d->fw_compatible[0] = '\0';
	const char *path = d->cfg.firmware_release;
	if (path[0] == '\0')
		return;
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = file_read(path, RELEASE_MAX, &data, &len, &why);
	if (rc == QD_ERR_NOT_FOUND)
		return; /* not a desk image: nothing to show */
	if (rc != QD_OK) {
		log_warn("firmware: %s: %s", path, why.text);
		return;
	}
	const char *p = (const char *)data, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 8 && strncmp(p, "VERSION=", 8) == 0)
			copy_printable(d->fw_version, sizeof(d->fw_version), p + 8, n - 8);
		else if (n > 11 && strncmp(p, "COMPATIBLE=", 11) == 0)
			copy_printable(d->fw_compatible, sizeof(d->fw_compatible), p + 11, n - 11);
		p += n + (nl != NULL);
	}
	free(data);
	if (d->fw_version[0] == '\0')
		log_warn("firmware: %s has no VERSION= line", path);
}

/* The recorder's file beside the store, with suffix ("" or ".done"). */
static void event_path(const struct desk *d, const char *suffix, char *out, size_t size)
{
	const char *slash = strrchr(d->cfg.store, '/');
	int dirlen = slash != NULL ? (int)(slash - d->cfg.store) : 0;
	snprintf(out, size, "%.*s%sfirmware-event%s", dirlen, d->cfg.store,
	         slash != NULL ? "/" : "", suffix);
}

/* "SECONDS RESULT TEXT": true and d's last update set, or false (malformed). */
static bool parse_event(struct desk *d, const char *text, size_t len)
{
	char *end = NULL;
	errno = 0;
	long long t = strtoll(text, &end, 10);
	if (errno != 0 || end == text || t <= 0 || *end != ' ')
		return false;
	const char *result = end + 1;
	const char *sp = memchr(result, ' ', len - (size_t)(result - text));
	if (sp == NULL)
		return false;
	size_t rlen = (size_t)(sp - result);
	if (!(rlen == 7 && strncmp(result, "updated", 7) == 0) &&
	    !(rlen == 11 && strncmp(result, "rolled-back", 11) == 0))
		return false;
	size_t tlen = len - (size_t)(sp + 1 - text);
	while (tlen > 0 && (sp[tlen] == '\n' || sp[tlen] == '\r'))
		tlen--;
	d->fw_event_time = (int64_t)t;
	copy_printable(d->fw_event_result, sizeof(d->fw_event_result), result, rlen);
	copy_printable(d->fw_event_text, sizeof(d->fw_event_text), sp + 1, tlen);
	return true;
}

static bool read_event(struct desk *d, const char *path, bool *found)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	*found = false;
	enum qd_err rc = file_read(path, EVENT_MAX, &data, &len, &why);
	if (rc == QD_ERR_NOT_FOUND)
		return true;
	if (rc != QD_OK) {
		log_warn("firmware: %s: %s", path, why.text);
		return false;
	}
	*found = true;
	bool ok = parse_event(d, (const char *)data, len);
	free(data);
	if (!ok)
		log_warn("firmware: %s is not one line \"SECONDS updated|rolled-back TEXT\"", path);
	return ok;
}

/* A new event from the recorder: audit it, then keep it as the last update. */
static void take_event(struct desk *d)
{
	char path[CONFIG_PATH_MAX + 32], done[CONFIG_PATH_MAX + 32];
	event_path(d, "", path, sizeof(path));
	event_path(d, ".done", done, sizeof(done));
	bool found = false;
	if (!read_event(d, path, &found) || !found) {
		if (!found && d->fw_event_time == 0)
			(void)read_event(d, done, &found); /* the last one, already audited */
		return;
	}
	struct audit_event ev = {
	        .time_us = d->fw_event_time * 1000000,
	        .source = "boot",
	        .event = "firmware",
	        .result = d->fw_event_result,
	        .desk = d->cfg.desk_id,
	        .detail = d->fw_event_text,
	};
	if (store_audit_event(d->store, &ev, NULL) != QD_OK) {
		log_err("firmware: the audit row for %s could not be written; kept for the next "
		        "start",
		        path);
		return;
	}
	if (rename(path, done) != 0)
		log_warn("firmware: rename %s: %s (its audit row may repeat at the next start)",
		         path, strerror(errno));
	if (strcmp(d->fw_event_result, "rolled-back") == 0)
		log_err("firmware update failed and was rolled back: %s", d->fw_event_text);
	else
		log_info("firmware updated: %s", d->fw_event_text);
	if (d->status != NULL)
		desk_status_dirty(d->status);
}

static int open_firmware(struct desk *d)
{
	read_release(d);
	take_event(d);
	return 0; /* the desk scans without knowing its firmware */
}

static void reload_firmware(struct desk *d)
{
	take_event(d);
}

static void status_firmware(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	if (d->fw_version[0] == '\0')
		return;
	json_t *fw =
	        json_pack("{s:s, s:s}", "version", d->fw_version, "compatible", d->fw_compatible);
	if (fw != NULL && d->fw_event_time != 0)
		json_object_set_new(fw, "last_update",
		                    json_pack("{s:I, s:s, s:s}", "time",
		                              (json_int_t)d->fw_event_time, "result",
		                              d->fw_event_result, "text", d->fw_event_text));
	json_object_set_new(obj, "firmware", fw);
}

const struct desk_part desk_part_firmware = {
        .name = "firmware",
        .keys = keys,
        .open = open_firmware,
        .reload = reload_firmware,
        .status = status_firmware,
};
