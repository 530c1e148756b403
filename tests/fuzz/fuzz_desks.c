/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_desks - desklist_from_body over arbitrary bodies of the "desks" trust
 * document (the map under key 5), then the lookups.
 *
 * On failure: an empty list and a message.  On success: at most DESKLIST_MAX
 * desks, valid ids strictly ascending, Ed25519 keys, no key twice; each id
 * looks up to its own row; the list encoded again (counting pass, exact
 * buffer) decodes to the same rows, and one byte short is refused; what
 * desklist_check_body says agrees.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/desklist.h"

/* Large: off the stack, and kept between inputs (contents are reset by each call). */
static struct desk_list list, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_errmsg why = {{0}};
	size_t entries = 99;
	enum qd_err rc = desklist_from_body(data, size, &list, &why);
	FUZZ_CHECK(desklist_check_body(data, size, &entries, &why) == rc);
	if (rc != QD_OK) {
		FUZZ_CHECK(list.n == 0 && entries == 0 && why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(list.n <= DESKLIST_MAX && entries == list.n);
	for (size_t i = 0; i < list.n; i++) {
		const struct desk_entry *e = &list.rows[i];
		FUZZ_CHECK(desk_id_valid(e->id, strlen(e->id)));
		FUZZ_CHECK(e->alg == SIGNATURE_ALG_EDDSA);
		FUZZ_CHECK(e->retired_at == 0 || e->retired_at >= e->added_at);
		FUZZ_CHECK(i == 0 || strcmp(list.rows[i - 1].id, e->id) < 0);
		FUZZ_CHECK(desklist_find(&list, e->id) == e);
	}
	FUZZ_CHECK(desklist_find(&list, "") == NULL);

	size_t need = desklist_encode(&list, NULL, 0);
	uint8_t *body = malloc(need);
	FUZZ_CHECK(body != NULL && desklist_encode(&list, body, need) == need);
	FUZZ_CHECK(desklist_from_body(body, need, &again, &why) == QD_OK);
	FUZZ_CHECK(again.n == list.n &&
	           memcmp(again.rows, list.rows, list.n * sizeof(list.rows[0])) == 0);
	/* One byte short is refused, never read past. */
	FUZZ_CHECK(desklist_from_body(body, need - 1, &again, &why) != QD_OK && again.n == 0);
	free(body);
	return 0;
}
