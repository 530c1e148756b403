/* SPDX-License-Identifier: Apache-2.0 */
/* verdict_event.c - one JSON shape for a desk's verdict (see verdict_event.h). */
#include "qrdesk/verdict_event.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/country.h"
#include "qrdesk/hex.h"
#include "qrdesk/verdict_json.h"

void verdict_mask_passport(const char *passport, char out[17])
{
	static const char bullets[] = "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2";
	size_t n = strlen(passport);
	if (n <= 4)
		snprintf(out, 17, "%s", bullets);
	else
		snprintf(out, 17, "%s%.4s", bullets, passport + n - 4);
}

static json_t *named_code(const char *code, const char *en, const char *bn)
{
	return json_pack("{s:s, s:s?, s:s?}", "code", code, "en", en, "bn", bn);
}

/* What the page may show of a card: only a card our key verified has claims worth
 * showing (a forged card's name in big letters would lend it the desk's authority). */
static json_t *card_json(const struct pipeline_event *ev)
{
	const struct verdict *v = &ev->verdict;
	const struct clearance_claims *c = &v->cred.clearance;
	char masked[17];
	verdict_mask_passport(c->passport_no, masked);
	/* A passport whose MRZ matched the card is in the officer's hand: its number in full
	 * helps the comparison and tells nothing the traveller's own document does not. */
	bool full =
	        ev->bound && ev->passport_matched && strcmp(ev->passport_no, c->passport_no) == 0;
	const struct country *dest = country_find(c->destination);
	return json_pack("{s:s, s:s, s:b, s:o, s:s, s:o, s:I}", "name", c->name, "passport",
	                 full ? c->passport_no : masked, "passport_checked", full, "destination",
	                 named_code(c->destination, dest ? dest->en : NULL, dest ? dest->bn : NULL),
	                 "clearance_no", c->clearance_no, "category",
	                 named_code(c->category, credential_category_name_en(c->category),
	                            credential_category_name_bn(c->category)),
	                 "expires_at", (json_int_t)v->cred.expires_at);
}

/* The checklist: each document's outcome and the field at fault (no document's data). */
static json_t *binding_json(const struct pipeline_event *ev)
{
	json_t *docs = json_array();
	for (int d = 0; docs != NULL && d < BINDING_DOCS; d++) {
		const struct binding_part *part = &ev->parts[d];
		bool required = binding_require_includes(ev->require, (enum binding_doc)d);
		json_t *item = json_pack(
		        "{s:s, s:b, s:s}", "document", binding_doc_name((enum binding_doc)d),
		        "required", required, "state", binding_part_state_name(part, required));
		if (item != NULL && part->state == BINDING_FAILED) {
			json_object_set_new(item, "reason", json_string(reason_code(part->reason)));
			json_object_set_new(item, "field", json_string(part->field));
		}
		if (item == NULL || json_array_append_new(docs, item) != 0) {
			json_decref(docs);
			return NULL;
		}
	}
	return json_pack("{s:s, s:o, s:b}", "require", binding_require_name(ev->require),
	                 "documents", docs, "passport_matched", ev->passport_matched);
}

json_t *verdict_event_json(const struct pipeline_event *ev, const char *desk_id,
                           enum verdict_json_view view)
{
	const struct verdict *v = &ev->verdict;
	json_t *obj = verdict_to_json(v);
	if (obj == NULL)
		return NULL;
	if (view != VERDICT_JSON_FULL)
		json_object_del(obj, "claims");
	/* The keyed pseudonym, never the bare hash (docs/security.md). */
	json_object_del(obj, "clearance_hash");
	if (ev->has_pseudonym) {
		char hex[2 * TRUST_HASH_LEN + 1];
		hex_encode(ev->pseudonym, TRUST_HASH_LEN, hex, sizeof(hex));
		json_object_set_new(obj, "pseudonym", json_string(hex));
	}
	int bad = json_object_set_new(obj, "seq", json_integer((json_int_t)ev->seq));
	bad |= json_object_set_new(obj, "time_us", json_integer((json_int_t)ev->wall_us));
	bad |= json_object_set_new(obj, "time", json_integer((json_int_t)(ev->wall_us / 1000000)));
	bad |= json_object_set_new(obj, "desk", json_string(desk_id));
	bad |= json_object_set_new(obj, "source", json_string(ev->source));
	bad |= json_object_set_new(obj, "latency_us", json_integer((json_int_t)ev->latency_us));
	/* A failed destination rule speaks with its own (signed) words. */
	bad |= json_object_set_new(obj, "reason_en", json_string(verdict_message_en(v)));
	bad |= json_object_set_new(obj, "reason_bn", json_string(verdict_message_bn(v)));
	if (view == VERDICT_JSON_PAGE && v->has_claims && v->signature_ok)
		bad |= json_object_set_new(obj, "card", card_json(ev));
	if (ev->bound)
		bad |= json_object_set_new(obj, "binding", binding_json(ev));
	if (ev->already_used)
		bad |= json_object_set_new(obj, "first_use",
		                           json_pack("{s:I, s:s}", "time_us",
		                                     (json_int_t)ev->first_use_us, "desk",
		                                     ev->first_use_desk));
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
