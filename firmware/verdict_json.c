/* SPDX-License-Identifier: Apache-2.0 */
/* verdict_json.c - one JSON shape for a verdict (see verdict_json.h). */
#include "qrdesk/verdict_json.h"

#include "qrdesk/hex.h"
#include "qrdesk/signature.h"

json_t *claims_to_json(const struct credential *cred)
{
	const struct clearance_claims *c = &cred->clearance;
	char birth[11], sex[2] = {c->sex, 0};
	credential_date_format(c->birth_days, birth);
	json_t *obj =
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I}",
	                  "clearance_no", c->clearance_no, "passport_no", c->passport_no, "name",
	                  c->name, "birth_date", birth, "sex", sex, "destination", c->destination,
	                  "category", c->category, "employer", c->employer, "agency_licence",
	                  c->agency_licence, "bmet_reg_no", c->bmet_reg_no, "pdo_completed",
	                  c->pdo_completed, "issued_at", (json_int_t)cred->issued_at, "not_before",
	                  (json_int_t)cred->not_before, "expires_at", (json_int_t)cred->expires_at);
	if (obj != NULL && cred->iss[0] != '\0')
		json_object_set_new(obj, "iss", json_string(cred->iss));
	return obj;
}

/* The rules evaluated for this card: results by rule, and the failed ones by id. */
json_t *policy_result_to_json(const struct policy_result *r)
{
	char departure[11];
	credential_date_format(r->departure_day, departure);
	json_t *evaluated = json_array(), *failed = json_array(), *later = json_array();
	for (size_t i = 0; i < r->n_results; i++) {
		const struct policy_rule_result *res = &r->results[i];
		json_t *item = json_pack("{s:s, s:s}", "id", res->id, "result",
		                         policy_outcome_name(res->outcome));
		if (item != NULL && res->detail[0] != '\0')
			json_object_set_new(item, "detail", json_string(res->detail));
		if (res->outcome == POLICY_NOT_IN_EFFECT) {
			json_array_append_new(later, item);
			continue;
		}
		json_array_append_new(evaluated, item);
		if (res->outcome == POLICY_FAILED)
			json_array_append_new(failed, json_string(res->id));
	}
	/* The first failed rule is named even when more rules applied than are listed. */
	if (r->n_failed > 0 && json_array_size(failed) == 0)
		json_array_append_new(failed, json_string(r->failed_id));
	json_t *obj =
	        json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o}", "version", (json_int_t)r->version,
	                  "departure_date", departure, "rules_applicable",
	                  (json_int_t)r->n_applicable, "rules_failed", (json_int_t)r->n_failed,
	                  "evaluated", evaluated, "failed", failed, "not_in_effect", later);
	if (obj != NULL && r->n_failed > 0)
		json_object_set_new(obj, "failed_detail", json_string(r->failed_detail));
	return obj;
}

json_t *verdict_to_json(const struct verdict *v)
{
	char kid[2 * TRUST_KID_MAX + 1] = "", hash[2 * TRUST_HASH_LEN + 1] = "";
	hex_encode(v->kid, v->kid_len, kid, sizeof(kid));
	if (v->has_hash)
		hex_encode(v->clearance_hash, TRUST_HASH_LEN, hash, sizeof(hash));
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "verdict",
	                        verdict_kind_name(v->kind), "reason", reason_code(v->reason),
	                        "message_en", verdict_message_en(v), "message_bn",
	                        verdict_message_bn(v), "signature_ok", v->signature_ok, "clock",
	                        (json_int_t)v->clock, "trusted_time", (json_int_t)v->trusted_time);
	if (obj == NULL)
		return NULL;
	if (v->detail[0] != '\0')
		json_object_set_new(obj, "detail", json_string(v->detail));
	if (v->kid_len > 0)
		json_object_set_new(obj, "kid", json_string(kid));
	if (v->alg != 0 && signature_alg_name(v->alg) != NULL)
		json_object_set_new(obj, "alg", json_string(signature_alg_name(v->alg)));
	if (v->has_hash)
		json_object_set_new(obj, "clearance_hash", json_string(hash));
	if (v->has_claims)
		json_object_set_new(obj, "claims", claims_to_json(&v->cred));
	if (v->policy.evaluated)
		json_object_set_new(obj, "policy", policy_result_to_json(&v->policy));
	return obj;
}
