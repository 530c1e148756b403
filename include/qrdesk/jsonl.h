/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonl.h - JSON lines out: audit rows as the back office reads them, for the
 * upload (upload.c) and the USB export (usb_update.c).  One growing text
 * buffer, one object per line, and the column helpers both need.
 */
#ifndef QRDESK_JSONL_H
#define QRDESK_JSONL_H

#include <jansson.h>
#include <stddef.h>

#include "qrdesk/error.h"

struct jsonl {
	char *text; /* NUL-terminated; malloc'd: the caller frees */
	size_t len, cap;
};

/* Append obj (its reference is taken, NULL is NOMEM) as one line, dumped with flags. */
enum qd_err jsonl_add(struct jsonl *out, json_t *obj, size_t flags);
/* Make sure out->text exists (an empty text for no line). */
enum qd_err jsonl_ensure(struct jsonl *out);

/* A text column: null for NULL; "?" for text that is not UTF-8 (never written by qrdesk),
 * so one bad row neither stops the batch nor silently loses its field. */
json_t *jsonl_text_or_null(const char *s);
/* A binary column as lower-case hex: null for NULL, empty or longer than 32 bytes. */
json_t *jsonl_hex_or_null(const void *p, size_t n);

#endif
