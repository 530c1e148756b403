/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_used_delta - usedlist_delta_from_body over arbitrary changes of the
 * "used-delta" trust document, then applied to a small installed list.
 *
 * On failure: an empty delta and a message.  On success: at most USEDLIST_MAX
 * cards each way, both lists strictly ascending, valid desk ids; encoded again
 * (counting pass, exact buffer) it decodes to the same, and one byte short is
 * refused; usedlist_delta_check_body agrees.  Applied to the installed list:
 * either refused as not its base (nothing out) or a strictly ascending list
 * holding every added card as added and no removed card that was not re-added;
 * the delta made from the installed list to that result gives it again; the
 * body-level apply gives the same bytes.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/usedlist.h"

static void base_list(struct used_entry rows[3])
{
	static const uint8_t first[3] = {0x00, 0x41, 0x5a};
	for (size_t i = 0; i < 3; i++) {
		memset(&rows[i], 0, sizeof(rows[i]));
		memset(rows[i].pseudonym, first[i], TRUST_HASH_LEN);
		rows[i].first_at = 1795000000 + (int64_t)i;
		strcpy(rows[i].desk, "DAC-T1-07");
	}
}

static bool ascending(const struct used_list *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (memcmp(l->rows[i - 1].pseudonym, l->rows[i].pseudonym, TRUST_HASH_LEN) >= 0)
			return false;
	return true;
}

static void check_applied(const struct used_list *base, const struct used_delta *d)
{
	struct qd_errmsg why = {{0}};
	struct used_list out;
	enum qd_err rc = usedlist_delta_apply(base, d, &out, &why);
	size_t blen = usedlist_encode(base, NULL, 0);
	size_t dlen = usedlist_delta_encode(d, NULL, 0);
	uint8_t *bbody = malloc(blen), *dbody = malloc(dlen), *obody = NULL;
	FUZZ_CHECK(bbody != NULL && dbody != NULL);
	usedlist_encode(base, bbody, blen);
	usedlist_delta_encode(d, dbody, dlen);
	size_t olen = 0;
	FUZZ_CHECK(usedlist_apply_delta_body(bbody, blen, dbody, dlen, &obody, &olen, &why) == rc);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_BASE || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(out.n == 0 && out.rows == NULL && obody == NULL && why.text[0] != '\0');
		free(bbody);
		free(dbody);
		return;
	}
	FUZZ_CHECK(ascending(&out) && out.n == base->n + d->added.n - d->n_removed);
	for (size_t i = 0; i < d->added.n; i++) {
		const struct used_entry *e = usedlist_find(&out, d->added.rows[i].pseudonym);
		FUZZ_CHECK(e != NULL && memcmp(e, &d->added.rows[i], sizeof(*e)) == 0);
	}
	for (size_t i = 0; i < d->n_removed; i++) {
		struct used_list one = {d->added.n, d->added.rows};
		FUZZ_CHECK(usedlist_find(&out, d->removed[i]) == NULL ||
		           usedlist_find(&one, d->removed[i]) != NULL);
	}
	size_t need = usedlist_encode(&out, NULL, 0);
	uint8_t *enc = malloc(need);
	FUZZ_CHECK(enc != NULL && usedlist_encode(&out, enc, need) == need);
	FUZZ_CHECK(olen == need && memcmp(obody, enc, need) == 0);
	free(enc);
	/* What the issuer would publish for the same change applies to the same list. */
	struct used_delta made;
	struct used_list again;
	FUZZ_CHECK(usedlist_delta_make(base, &out, &made, &why) == QD_OK);
	FUZZ_CHECK(usedlist_delta_apply(base, &made, &again, &why) == QD_OK);
	FUZZ_CHECK(again.n == out.n &&
	           (out.n == 0 || memcmp(again.rows, out.rows, out.n * sizeof(out.rows[0])) == 0));
	usedlist_free(&again);
	usedlist_delta_free(&made);
	usedlist_free(&out);
	free(obody);
	free(bbody);
	free(dbody);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_errmsg why = {{0}};
	struct used_delta d, again;
	size_t entries = 99;
	enum qd_err rc = usedlist_delta_from_body(data, size, &d, &why);
	FUZZ_CHECK(usedlist_delta_check_body(data, size, &entries, &why) == rc);
	if (rc != QD_OK) {
		FUZZ_CHECK(d.added.n == 0 && d.added.rows == NULL && d.n_removed == 0 &&
		           d.removed == NULL && entries == 0 && why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(d.added.n <= USEDLIST_MAX && d.n_removed <= USEDLIST_MAX);
	FUZZ_CHECK(entries == d.added.n + d.n_removed && ascending(&d.added));
	for (size_t i = 0; i < d.added.n; i++) {
		const struct used_entry *e = &d.added.rows[i];
		FUZZ_CHECK(desk_id_valid(e->desk, strlen(e->desk)) && e->first_at >= 0);
	}
	for (size_t i = 1; i < d.n_removed; i++)
		FUZZ_CHECK(memcmp(d.removed[i - 1], d.removed[i], TRUST_HASH_LEN) < 0);

	size_t need = usedlist_delta_encode(&d, NULL, 0);
	uint8_t *body = malloc(need);
	FUZZ_CHECK(body != NULL && usedlist_delta_encode(&d, body, need) == need);
	FUZZ_CHECK(usedlist_delta_from_body(body, need, &again, &why) == QD_OK);
	FUZZ_CHECK(again.added.n == d.added.n && again.n_removed == d.n_removed);
	FUZZ_CHECK(d.added.n == 0 || memcmp(again.added.rows, d.added.rows,
	                                    d.added.n * sizeof(d.added.rows[0])) == 0);
	FUZZ_CHECK(d.n_removed == 0 ||
	           memcmp(again.removed, d.removed, d.n_removed * TRUST_HASH_LEN) == 0);
	usedlist_delta_free(&again);
	/* One byte short is refused, never read past. */
	FUZZ_CHECK(usedlist_delta_from_body(body, need - 1, &again, &why) != QD_OK &&
	           again.added.n == 0 && again.n_removed == 0);
	free(body);

	struct used_entry rows[3];
	base_list(rows);
	struct used_list base = {3, rows};
	check_applied(&base, &d);
	usedlist_delta_free(&d);
	return 0;
}
