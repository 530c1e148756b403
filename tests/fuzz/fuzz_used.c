/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_used - usedlist_from_body over arbitrary bodies of the "used" trust
 * document (the map under key 5), then the lookups.
 *
 * On failure: an empty list and a message.  On success: at most USEDLIST_MAX
 * cards, pseudonyms strictly ascending, valid desk ids, times not negative;
 * each pseudonym looks up to its own row; the list encoded again (counting
 * pass, exact buffer) decodes to the same rows, and one byte short is
 * refused; what usedlist_check_body says agrees.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/usedlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_errmsg why = {{0}};
	struct used_list list, again;
	size_t entries = 99;
	enum qd_err rc = usedlist_from_body(data, size, &list, &why);
	FUZZ_CHECK(usedlist_check_body(data, size, &entries, &why) == rc);
	if (rc != QD_OK) {
		FUZZ_CHECK(list.n == 0 && list.rows == NULL && entries == 0 && why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(list.n <= USEDLIST_MAX && entries == list.n);
	for (size_t i = 0; i < list.n; i++) {
		const struct used_entry *e = &list.rows[i];
		FUZZ_CHECK(desk_id_valid(e->desk, strlen(e->desk)));
		FUZZ_CHECK(e->first_at >= 0);
		FUZZ_CHECK(i == 0 ||
		           memcmp(list.rows[i - 1].pseudonym, e->pseudonym, TRUST_HASH_LEN) < 0);
		FUZZ_CHECK(usedlist_find(&list, e->pseudonym) == e);
	}

	size_t need = usedlist_encode(&list, NULL, 0);
	uint8_t *body = malloc(need);
	FUZZ_CHECK(body != NULL && usedlist_encode(&list, body, need) == need);
	FUZZ_CHECK(usedlist_from_body(body, need, &again, &why) == QD_OK);
	FUZZ_CHECK(
	        again.n == list.n &&
	        (list.n == 0 || memcmp(again.rows, list.rows, list.n * sizeof(list.rows[0])) == 0));
	usedlist_free(&again);
	/* One byte short is refused, never read past. */
	FUZZ_CHECK(usedlist_from_body(body, need - 1, &again, &why) != QD_OK && again.n == 0);
	free(body);
	usedlist_free(&list);
	return 0;
}
