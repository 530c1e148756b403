/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reason_table.c - qrdesk-reason-table: every verdict reason the desk can give, as one
 * JSON array of {code, kind, en, bn} from the firmware's own table (core/verdict.c), so
 * that the kiosk's browser test knows every reason the desk can give: it makes the daemon
 * give each one and checks that none was left out.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "qrdesk/verdict.h"

int main(void)
{
	json_t *all = json_array();
	if (all == NULL)
		return 1;
	for (int r = 0; r < REASON_COUNT; r++) {
		enum verdict_reason reason = (enum verdict_reason)r;
		json_t *row = json_pack("{s:s, s:s, s:s, s:s}", "code", reason_code(reason), "kind",
		                        verdict_kind_name(reason_kind(reason)), "en",
		                        reason_text_en(reason), "bn", reason_text_bn(reason));
		if (row == NULL || json_array_append_new(all, row) != 0) {
			json_decref(all);
			return 1;
		}
	}
	char *text = json_dumps(all, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(all);
	if (text == NULL)
		return 1;
	int rc = puts(text) < 0 ? 1 : 0;
	free(text);
	return rc;
}
