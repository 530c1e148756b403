/* SPDX-License-Identifier: Apache-2.0 */
/* jsonl.c - JSON lines out (jsonl.h). */
#include "qrdesk/jsonl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/hex.h"

#define JSONL_FIRST_CAP 4096
#define JSONL_HEX_MAX   32 /* bytes: a key id or a clearance hash */

static enum qd_err append(struct jsonl *out, const char *s, size_t n)
{
	if (out->text == NULL || out->len + n + 1 > out->cap) {
		size_t cap = out->cap > 0 ? out->cap : JSONL_FIRST_CAP;
		while (cap < out->len + n + 1)
			cap *= 2;
		char *p = realloc(out->text, cap);
		if (p == NULL)
			return QD_ERR_NOMEM;
		out->text = p;
		out->cap = cap;
	}
	memcpy(out->text + out->len, s, n);
	out->len += n;
	out->text[out->len] = '\0';
	return QD_OK;
}

enum qd_err jsonl_ensure(struct jsonl *out)
{
	return append(out, "", 0);
}

enum qd_err jsonl_add(struct jsonl *out, json_t *obj, size_t flags)
{
	char *line = obj != NULL ? json_dumps(obj, flags | JSON_COMPACT) : NULL;
	json_decref(obj);
	if (line == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = append(out, line, strlen(line));
	if (rc == QD_OK)
		rc = append(out, "\n", 1);
	free(line);
	return rc;
}

json_t *jsonl_text_or_null(const char *s)
{
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);
	return j != NULL ? j : json_string("?");
}

json_t *jsonl_hex_or_null(const void *p, size_t n)
{
	if (p == NULL || n == 0 || n > JSONL_HEX_MAX)
		return json_null();
	char hex[2 * JSONL_HEX_MAX + 1];
	hex_encode(p, n, hex, sizeof(hex));
	return json_string(hex);
}
