/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verdict.c - the reason table: kind, stable code, and the officer's
 * messages in English and Bengali.  Codes are part of the audit log and the
 * back office's reports: append, never rename.
 */
#include "qrdesk/verdict.h"

#include <string.h>

struct reason_info {
	enum verdict_kind kind;
	const char *code;
	const char *en;
	const char *bn;
};

static const struct reason_info reasons[REASON_COUNT] = {
        [REASON_OK] = {VERDICT_VALID, "OK", "Valid clearance", "বৈধ ছাড়পত্র"},
        [REASON_TOO_LARGE] = {VERDICT_INVALID, "TOO_LARGE", "Code too long to be a clearance card",
                              "কোডটি ছাড়পত্রের জন্য অতিরিক্ত দীর্ঘ"},
        [REASON_BAD_PREFIX] = {VERDICT_INVALID, "BAD_PREFIX", "Not a BMET clearance code",
                               "এটি বিএমইটি ছাড়পত্রের কোড নয়"},
        [REASON_BAD_BASE45] = {VERDICT_INVALID, "BAD_BASE45", "Damaged code: unreadable characters",
                               "কোড ক্ষতিগ্রস্ত: অপঠনযোগ্য অক্ষর"},
        [REASON_BAD_CBOR] = {VERDICT_INVALID, "BAD_CBOR", "Damaged code: data cannot be read",
                             "কোড ক্ষতিগ্রস্ত: তথ্য পড়া যাচ্ছে না"},
        [REASON_CBOR_NON_MINIMAL] = {VERDICT_INVALID, "CBOR_NON_MINIMAL",
                                     "Malformed code: non-standard number encoding",
                                     "ত্রুটিপূর্ণ কোড: অপ্রমিত সংখ্যা-এনকোডিং"},
        [REASON_CBOR_INDEFINITE] = {VERDICT_INVALID, "CBOR_INDEFINITE",
                                    "Malformed code: open-ended data", "ত্রুটিপূর্ণ কোড: দৈর্ঘ্যহীন তথ্য"},
        [REASON_CBOR_DUPLICATE_KEY] = {VERDICT_INVALID, "CBOR_DUPLICATE_KEY",
                                       "Malformed code: a field appears twice",
                                       "ত্রুটিপূর্ণ কোড: একই তথ্য দুবার আছে"},
        [REASON_CBOR_TRAILING] = {VERDICT_INVALID, "CBOR_TRAILING",
                                  "Malformed code: extra data after the card",
                                  "ত্রুটিপূর্ণ কোড: কার্ডের পরে অতিরিক্ত তথ্য"},
        [REASON_CBOR_TOO_DEEP] = {VERDICT_INVALID, "CBOR_TOO_DEEP",
                                  "Malformed code: nested too deeply",
                                  "ত্রুটিপূর্ণ কোড: অতিরিক্ত স্তরবিন্যাস"},
        [REASON_NOT_COSE_SIGN1] = {VERDICT_INVALID, "NOT_COSE_SIGN1", "Not a signed clearance card",
                                   "স্বাক্ষরিত ছাড়পত্র নয়"},
        [REASON_BAD_HEADER] = {VERDICT_INVALID, "BAD_HEADER", "Malformed signature header",
                               "স্বাক্ষরের শিরোনাম ত্রুটিপূর্ণ"},
        [REASON_ALG_UNSUPPORTED] = {VERDICT_INVALID, "ALG_UNSUPPORTED",
                                    "Unsupported signature algorithm", "অসমর্থিত স্বাক্ষর পদ্ধতি"},
        [REASON_NO_KID] = {VERDICT_INVALID, "NO_KID", "Card names no signing key",
                           "কার্ডে স্বাক্ষর-চাবির পরিচয় নেই"},
        [REASON_BAD_CLAIMS] = {VERDICT_INVALID, "BAD_CLAIMS", "Card data missing or malformed",
                               "কার্ডের তথ্য অনুপস্থিত বা ত্রুটিপূর্ণ"},
        [REASON_KEY_UNKNOWN] = {VERDICT_INVALID, "KEY_UNKNOWN", "Signed by an unknown key",
                                "অজানা চাবি দিয়ে স্বাক্ষরিত"},
        [REASON_BAD_SIGNATURE] = {VERDICT_INVALID, "BAD_SIGNATURE",
                                  "Signature does not match: card altered or forged",
                                  "স্বাক্ষর মেলেনি: কার্ড পরিবর্তিত বা জাল"},
        [REASON_KEY_WRONG_ROLE] = {VERDICT_INVALID, "KEY_WRONG_ROLE",
                                   "Signed by a key not allowed to issue cards",
                                   "কার্ড ইস্যুর অনুমতি নেই এমন চাবি দিয়ে স্বাক্ষরিত"},
        [REASON_KEY_REVOKED] = {VERDICT_INVALID, "KEY_REVOKED", "Issuer key has been revoked",
                                "ইস্যুকারী চাবি বাতিল করা হয়েছে"},
        [REASON_KEY_NOT_VALID_AT_ISSUE] = {VERDICT_INVALID, "KEY_NOT_VALID_AT_ISSUE",
                                           "Issuer key was not valid when the card was issued",
                                           "কার্ড ইস্যুর সময় ইস্যুকারী চাবি বৈধ ছিল না"},
        [REASON_CARD_REVOKED] = {VERDICT_INVALID, "CARD_REVOKED", "Clearance has been revoked",
                                 "ছাড়পত্র বাতিল করা হয়েছে"},
        [REASON_CARD_EXPIRED] = {VERDICT_INVALID, "CARD_EXPIRED", "Clearance has expired",
                                 "ছাড়পত্রের মেয়াদ শেষ"},
        [REASON_CARD_NOT_YET_VALID] = {VERDICT_INVALID, "CARD_NOT_YET_VALID",
                                       "Clearance is not yet valid", "ছাড়পত্র এখনও কার্যকর হয়নি"},
        [REASON_TRUST_STALE] = {VERDICT_REVIEW, "TRUST_STALE",
                                "Trust data out of date: check manually",
                                "যাচাইয়ের তথ্য পুরনো: নিজে যাচাই করুন"},
        [REASON_CLOCK_SUSPECT] = {VERDICT_REVIEW, "CLOCK_SUSPECT",
                                  "Device clock is wrong: check manually",
                                  "যন্ত্রের ঘড়ি ভুল: নিজে যাচাই করুন"},
        [REASON_TRUST_UNAVAILABLE] = {VERDICT_REVIEW, "TRUST_UNAVAILABLE",
                                      "Revocation list unreadable: check manually",
                                      "বাতিল-তালিকা পড়া যাচ্ছে না: নিজে যাচাই করুন"},
        [REASON_POLICY_FAILED] = {VERDICT_REVIEW, "POLICY_FAILED",
                                  "Destination rule not met: officer to review",
                                  "গন্তব্য দেশের নিয়ম পূরণ হয়নি: কর্মকর্তা যাচাই করবেন"},
        [REASON_POLICY_STALE] = {VERDICT_REVIEW, "POLICY_STALE",
                                 "Destination rules out of date: check manually",
                                 "গন্তব্যের নিয়ম পুরনো: নিজে যাচাই করুন"},
        [REASON_ALREADY_USED] = {VERDICT_REVIEW, "ALREADY_USED", "Card already used for departure",
                                 "কার্ডটি আগেই বহির্গমনে ব্যবহৃত হয়েছে"},
        [REASON_PASSPORT_MISMATCH] = {VERDICT_INVALID, "PASSPORT_MISMATCH",
                                      "Passport does not match the card",
                                      "পাসপোর্ট কার্ডের সাথে মেলেনি"},
        [REASON_PASSPORT_MRZ_INVALID] = {VERDICT_REVIEW, "PASSPORT_MRZ_INVALID",
                                         "Passport machine-readable zone fails its check",
                                         "পাসপোর্টের যন্ত্রপাঠ্য অংশের যাচাই-অঙ্ক মেলেনি"},
        [REASON_PASSPORT_EXPIRES_SOON] = {VERDICT_REVIEW, "PASSPORT_EXPIRES_SOON",
                                          "Passport expires before the clearance ends",
                                          "ছাড়পত্রের মেয়াদ শেষের আগেই পাসপোর্টের মেয়াদ শেষ"},
        [REASON_BOARDING_NAME_MISMATCH] = {VERDICT_REVIEW, "BOARDING_NAME_MISMATCH",
                                           "Boarding pass name does not match the card",
                                           "বোর্ডিং পাসের নাম কার্ডের সাথে মেলেনি"},
        [REASON_BOARDING_DESTINATION_MISMATCH] = {VERDICT_REVIEW, "BOARDING_DESTINATION_MISMATCH",
                                                  "Flight does not land in the card's destination",
                                                  "ফ্লাইট কার্ডের গন্তব্য দেশে নামছে না"},
        [REASON_BOARDING_PASS_INVALID] = {VERDICT_REVIEW, "BOARDING_PASS_INVALID",
                                          "Boarding pass code is malformed",
                                          "বোর্ডিং পাসের কোড ত্রুটিপূর্ণ"},
        [REASON_BINDING_INCOMPLETE] = {VERDICT_REVIEW, "BINDING_INCOMPLETE",
                                       "Time ran out before every required document",
                                       "সব প্রয়োজনীয় কাগজ দেখানোর আগেই সময় শেষ"},
        [REASON_ISSUANCE_REVOKED] = {VERDICT_INVALID, "ISSUANCE_REVOKED",
                                     "Issued by this key in a revoked time window",
                                     "এই চাবিতে বাতিলকৃত সময়সীমার মধ্যে ইস্যু করা হয়েছে"},
};

static const struct reason_info *reason_info_get(enum verdict_reason reason)
{
	if ((unsigned)reason >= REASON_COUNT)
		return &reasons[REASON_BAD_CBOR]; /* never reached: keeps callers total */
	return &reasons[reason];
}

enum verdict_kind reason_kind(enum verdict_reason reason)
{
	if ((unsigned)reason >= REASON_COUNT)
		return VERDICT_INVALID;
	return reason_info_get(reason)->kind;
}

const char *verdict_kind_name(enum verdict_kind kind)
{
	switch (kind) {
	case VERDICT_VALID:
		return "valid";
	case VERDICT_INVALID:
		return "invalid";
	case VERDICT_REVIEW:
		return "review";
	}
	return "invalid";
}

const char *reason_code(enum verdict_reason reason)
{
	return reason_info_get(reason)->code;
}

const char *reason_text_en(enum verdict_reason reason)
{
	return reason_info_get(reason)->en;
}

const char *reason_text_bn(enum verdict_reason reason)
{
	return reason_info_get(reason)->bn;
}

const char *verdict_message_en(const struct verdict *v)
{
	if (v->reason == REASON_POLICY_FAILED && v->policy.message_en[0] != '\0')
		return v->policy.message_en;
	return reason_text_en(v->reason);
}

const char *verdict_message_bn(const struct verdict *v)
{
	if (v->reason == REASON_POLICY_FAILED && v->policy.message_bn[0] != '\0')
		return v->policy.message_bn;
	return reason_text_bn(v->reason);
}

bool reason_from_code(const char *code, enum verdict_reason *reason)
{
	for (int i = 0; i < REASON_COUNT; i++) {
		if (strcmp(reasons[i].code, code) == 0) {
			*reason = (enum verdict_reason)i;
			return true;
		}
	}
	return false;
}

void verdict_set(struct verdict *v, enum verdict_reason reason)
{
	v->reason = reason;
	v->kind = reason_kind(reason);
}
