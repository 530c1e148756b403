/* SPDX-License-Identifier: Apache-2.0 */
/* ranges.c - the domain's revoked issuance windows (see ranges.h). */
#include "ranges.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/hex.h"
#include "qrdesk/trustdoc.h"
#include "toolutil.h"

#define RANGES_FORMAT   "qrdesk-ranges-1"
#define RANGES_JSON_MAX (64u * 1024u * 1024u)

static int range_cmp(const void *a, const void *b)
{
	return trustdoc_range_cmp(&((const struct domain_range *)a)->r,
	                          &((const struct domain_range *)b)->r);
}

enum qd_err ranges_load(const struct domain *d, const char *name, struct domain_range **out,
                        size_t *count, struct qd_errmsg *why)
{
	*out = NULL;
	*count = 0;
	char path[4096];
	domain_path(d, name, path, sizeof(path));
	uint8_t *text = NULL;
	size_t len = 0;
	enum qd_err rc = tool_read_file(path, RANGES_JSON_MAX, &text, &len, why);
	if (rc == QD_ERR_NOT_FOUND)
		return QD_OK;
	if (rc != QD_OK)
		return rc;
	json_error_t jerr;
	json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	json_t *list = NULL;
	const char *format = NULL;
	if (root == NULL ||
	    json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s:o}", "format", &format, "ranges",
	                   &list) != 0 ||
	    strcmp(format, RANGES_FORMAT) != 0 || !json_is_array(list) ||
	    json_array_size(list) > TRUSTDOC_RANGES_MAX) {
		qd_errmsg_set(why, "%s: not a %s file", path, RANGES_FORMAT);
		json_decref(root);
		return QD_ERR_FORMAT;
	}
	size_t n = json_array_size(list);
	struct domain_range *all = calloc(n + 1, sizeof(*all));
	rc = all != NULL ? QD_OK : QD_ERR_NOMEM;
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *kid = NULL, *reason = "";
		json_int_t from = 0, to = 0;
		size_t kid_len = 0;
		if (rc != QD_OK)
			break;
		if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s:I, s:I, s?s}", "kid", &kid,
		                   "from", &from, "to", &to, "reason", &reason) != 0 ||
		    hex_decode(kid, strlen(kid), all[i].r.kid, TRUST_KID_MAX, &kid_len) != QD_OK ||
		    kid_len == 0 || from < 0 || to <= from) {
			qd_errmsg_set(why, "%s: window %zu is malformed", path, i + 1);
			rc = QD_ERR_FORMAT;
			break;
		}
		all[i].r.kid_len = (uint8_t)kid_len;
		all[i].r.from = from;
		all[i].r.to = to;
		snprintf(all[i].reason, sizeof(all[i].reason), "%s", reason);
	}
	json_decref(root);
	if (rc != QD_OK) {
		free(all);
		return rc;
	}
	qsort(all, n, sizeof(*all), range_cmp);
	*out = all;
	*count = n;
	return QD_OK;
}

enum qd_err ranges_save(const struct domain *d, const char *name, const struct domain_range *list,
                        size_t count, struct qd_errmsg *why)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < count; i++) {
		char kid[2 * TRUST_KID_MAX + 1];
		hex_encode(list[i].r.kid, list[i].r.kid_len, kid, sizeof(kid));
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:s}", "kid", kid, "from",
		                                     (json_int_t)list[i].r.from, "to",
		                                     (json_int_t)list[i].r.to, "reason",
		                                     list[i].reason));
	}
	json_t *root = json_pack("{s:s, s:o}", "format", RANGES_FORMAT, "ranges", arr);
	char *text = root != NULL ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (text == NULL)
		return QD_ERR_NOMEM;
	char path[4096];
	domain_path(d, name, path, sizeof(path));
	enum qd_err rc = tool_write_file_atomic(path, text, strlen(text), 0644, why);
	free(text);
	return rc;
}

enum qd_err ranges_add(const struct domain *d, const struct domain_range *add,
                       struct trust_range *result, size_t *merged, struct qd_errmsg *why)
{
	struct domain_range *all = NULL;
	size_t n = 0;
	enum qd_err rc = ranges_load(d, "ranges.json", &all, &n, why);
	if (rc != QD_OK)
		return rc;
	struct domain_range *out = calloc(n + 1, sizeof(*out));
	if (out == NULL) {
		free(all);
		return QD_ERR_NOMEM;
	}
	struct domain_range joined = *add;
	size_t kept = 0;
	*merged = 0;
	for (size_t i = 0; i < n; i++) {
		const struct trust_range *r = &all[i].r;
		bool same_kid = r->kid_len == joined.r.kid_len &&
		                memcmp(r->kid, joined.r.kid, r->kid_len) == 0;
		if (same_kid && r->from <= joined.r.to && joined.r.from <= r->to) {
			joined.r.from = r->from < joined.r.from ? r->from : joined.r.from;
			joined.r.to = r->to > joined.r.to ? r->to : joined.r.to;
			size_t used = strlen(joined.reason);
			snprintf(joined.reason + used, sizeof(joined.reason) - used, "; %s",
			         all[i].reason);
			(*merged)++;
			continue;
		}
		out[kept++] = all[i];
	}
	out[kept++] = joined;
	qsort(out, kept, sizeof(*out), range_cmp);
	free(all);
	if (kept > TRUSTDOC_RANGES_MAX) {
		free(out);
		qd_errmsg_set(why, "more than %u revoked windows", TRUSTDOC_RANGES_MAX);
		return QD_ERR_TOO_LARGE;
	}
	rc = ranges_save(d, "ranges.json", out, kept, why);
	free(out);
	*result = joined.r;
	return rc;
}
