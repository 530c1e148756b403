#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end through the real tools, as a back office and a desk use them:
# init -> sign -> publish -> provision -> import -> check, for every reason
# the foundation can produce, plus rollback, wrong-domain and tampered files,
# and destination policy (the example source, bad sources, a malformed signed
# policy refused with the old one kept, an expired one).
# Usage: e2e.sh QRDESK-ISSUER QRDESKCTL
set -uo pipefail

issuer=$(realpath "$1")
ctl=$(realpath "$2")
example_policy=$(realpath "$(dirname "$0")/../../tools/issuer/example-policy.json")
ex=$(realpath "$(dirname "$0")/../../docs/examples/issuing")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-e2e-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

# A fixed clock: every command is told the time, so the run is repeatable.
NOW=1795000000                  # 2026-11-18T...Z
DAY=86400
at() { echo $((NOW + $1)); }

# expect VERDICT REASON EXIT [check options...] CODE
expect() {
	local verdict=$1 reason=$2 want_exit=$3
	shift 3
	local out got_exit
	out=$("$ctl" check --store desk.db --json "$@" 2>&1)
	got_exit=$?
	local got_verdict got_reason
	got_verdict=$(jq -r .verdict <<<"$out" 2>/dev/null)
	got_reason=$(jq -r .reason <<<"$out" 2>/dev/null)
	if [[ $got_verdict == "$verdict" && $got_reason == "$reason" && $got_exit == "$want_exit" ]]; then
		pass
	else
		local last=${*: -1:1}
		fail "expected $verdict/$reason/exit $want_exit, got $got_verdict/$got_reason/exit $got_exit for ${last:0:60}"
		echo "$out" | head -20 >&2
	fi
}

# must_fail EXIT DESCRIPTION command...: the command exits with EXIT
must_exit() {
	local want=$1 what=$2
	shift 2
	"$@" >cmd.out 2>&1
	local got=$?
	if [[ $got == "$want" ]]; then pass; else fail "$what: exit $got, wanted $want"; cat cmd.out >&2; fi
}

claims() { # claims FILE CLEARANCE_NO [extra jq assignments]
	local file=$1 no=$2
	shift 2
	jq -n --arg no "$no" --argjson iat "$(at -3600)" --argjson exp "$(at $((90 * DAY)))" \
		'{clearance_no: $no, passport_no: "A12345678", name: "RAHIMA KHATUN",
		  birth_date: "1994-03-12", sex: "F", destination: "KW", category: "DW",
		  employer: "AL FAHAD TRADING CO", agency_licence: "RL-1234",
		  bmet_reg_no: "BMET11223344", pdo_completed: true,
		  issued_at: $iat, expires_at: $exp}' | jq "${@:-.}" >"$file"
}

sign() { "$issuer" --now "$(at 0)" sign "$@" 2>/dev/null; }

# --- the back office ---------------------------------------------------------
must_exit 0 "init" "$issuer" --now "$(at $((-400 * DAY)))" init dom
must_exit 73 "init twice refused" "$issuer" init dom
[[ $(stat -c %a dom/keys/*.key | sort -u) == 600 ]] && pass || fail "private keys not 0600"
"$issuer" --now "$(at $((-400 * DAY)))" init otherdom >/dev/null

claims ok.json 2611000001
claims revoked.json 2611000002
claims expired.json 2611000003 ".issued_at = $(at $((-100 * DAY))) | .expires_at = $(at -DAY)"
claims future.json 2611000004 ".not_before = $(at $((10 * DAY)))"
claims early.json 2611000005 ".issued_at = $(at $((-500 * DAY)))"
claims xss.json 2611000006 '.name = "<img src=x onerror=alert(1)>"'

code_ok=$(sign dom ok.json --png ok.png)
code_es=$(sign dom ok.json --alg es256)
code_revoked=$(sign dom revoked.json)
code_expired=$(sign dom expired.json)
code_future=$(sign dom future.json)
code_early=$(sign dom early.json)
code_xss=$(sign dom xss.json)
repo_kid=$(jq -r '.keys[] | select(.role == "repository") | .kid' dom/domain.json)
es_kid=$(jq -r '.keys[] | select(.role == "issuer" and .alg == "ES256") | .kid' dom/domain.json)
code_role=$("$issuer" --now "$(at 0)" sign dom ok.json --key "$repo_kid" 2>/dev/null)
code_stranger=$(sign otherdom ok.json)

[[ $code_ok == BC1:* ]] && pass || fail "code text lacks the BC1: prefix"
[[ $(zbarimg -q --raw ok.png 2>/dev/null) == "$code_ok" ]] && pass || fail "PNG does not decode to the code text"
must_exit 65 "claims with a bad destination refused" "$issuer" sign dom <(jq '.destination = "kuwait"' ok.json)
must_exit 65 "claims with an unknown field refused" "$issuer" sign dom <(jq '.colour = "red"' ok.json)

must_exit 0 "revoke" "$issuer" revoke dom 2611000002
must_exit 65 "revoke of a malformed number refused" "$issuer" revoke dom "not a number"
must_exit 0 "publish v1" "$issuer" --now "$(at -600)" publish dom repo1
cp -r repo1 repo1.keep

# --- the desk ----------------------------------------------------------------
must_exit 0 "provision" "$ctl" provision --store desk.db --root dom/root.pub
must_exit 0 "provision again is a no-op" "$ctl" provision --store desk.db --root dom/root.pub
must_exit 73 "provision with another root refused" "$ctl" provision --store desk.db --root otherdom/root.pub

# Before any trust data: the key is unknown.
expect invalid KEY_UNKNOWN 1 --now "$(at 0)" "$code_ok"

must_exit 65 "revocations before a key set refused" "$ctl" import --store desk.db --now "$(at 0)" repo1/revocations.cose
must_exit 0 "import v1" "$ctl" import --store desk.db --now "$(at 0)" repo1/keyset.cose repo1/revocations.cose repo1/policy.cose repo1/timestamp.cose
must_exit 0 "same version again is a no-op" "$ctl" import --store desk.db --now "$(at 0)" repo1/keyset.cose
grep -q "already installed" cmd.out && pass || fail "re-import did not say 'already installed'"

expect valid OK 0 --now "$(at 0)" "$code_ok"
expect valid OK 0 --now "$(at 0)" "$code_es"
expect valid OK 0 --now "$(at 0)" "$code_xss"
expect invalid CARD_REVOKED 1 --now "$(at 0)" "$code_revoked"
expect invalid CARD_EXPIRED 1 --now "$(at 0)" "$code_expired"
expect invalid CARD_NOT_YET_VALID 1 --now "$(at 0)" "$code_future"
expect invalid KEY_NOT_VALID_AT_ISSUE 1 --now "$(at 0)" "$code_early"
expect invalid KEY_WRONG_ROLE 1 --now "$(at 0)" "$code_role"
expect invalid KEY_UNKNOWN 1 --now "$(at 0)" "$code_stranger"
expect invalid BAD_PREFIX 1 --now "$(at 0)" "HC1:${code_ok#BC1:}"
expect invalid BAD_PREFIX 1 --now "$(at 0)" "bc1:${code_ok#BC1:}"
expect invalid BAD_BASE45 1 --now "$(at 0)" "BC1:abc"
# Truncated on a base45 group boundary, so the bytes decode but the COSE ends early.
cut=${code_ok#BC1:}
cut=${cut:0:$((${#cut} / 3 * 3 - 9))}
expect invalid BAD_CBOR 1 --now "$(at 0)" "BC1:$cut"
expect invalid TOO_LARGE 1 --now "$(at 0)" "BC1:$(head -c 5000 /dev/zero | tr '\0' 0)"

# One character changed inside the signature (the text's tail): a bad signature.
body=${code_ok#BC1:}
pos=$(((${#body} - 45) / 3 * 3))
old=${body:pos:1}
new=0
[[ $old == 0 ]] && new=1
tampered="BC1:${body:0:pos}${new}${body:pos+1}"
expect invalid BAD_SIGNATURE 1 --now "$(at 0)" "$tampered"

# Reading the code from stdin, as a scanner pipe would.
echo "$code_ok" | "$ctl" check --store desk.db --now "$(at 0)" - >/dev/null && pass || fail "check - (stdin) failed"

# The trust store alone, without its audit log beside it (copied off a desk): check
# works read-only and creates no audit file.
mkdir -p alone
cp desk.db alone/desk.db
rm -f alone/desk-audit.db
if ! out=$("$ctl" check --store alone/desk.db --json --now "$(at 0)" "$code_ok" 2>alone/err); then
	fail "check on a store without its audit file: $(cat alone/err)"
elif [[ $(jq -r .verdict <<<"$out") != valid ]]; then
	fail "check on a store without its audit file: $out"
elif [[ -e alone/desk-audit.db ]]; then
	fail "check created the audit file"
else
	pass
fi

# The JSON carries the claims, and the name stays text.
json=$("$ctl" check --store desk.db --json --now "$(at 0)" "$code_xss")
[[ $(jq -r .claims.name <<<"$json") == "<img src=x onerror=alert(1)>" ]] && pass || fail "claims.name not carried as text"
[[ $(jq -r .claims.birth_date <<<"$json") == 1994-03-12 ]] && pass || fail "birth_date not round-tripped"
[[ $(jq -r .message_bn <<<"$json") == "বৈধ ছাড়পত্র" ]] && pass || fail "Bengali message missing"

# Stale trust data: past the revocation list's 7 days, the card is still within its own validity.
expect review TRUST_STALE 2 --now "$(at $((8 * DAY)))" "$code_ok"
# A clock behind the newest signed time: review, judged at the signed time.
expect review CLOCK_SUSPECT 2 --now "$(at -7200)" "$code_ok"

# --- a second publication: a revoked key, and rollback refused ----------------
must_exit 0 "revoke-key" "$issuer" revoke-key dom "$es_kid"
must_exit 0 "publish v2" "$issuer" --now "$(at -300)" publish dom repo2
must_exit 0 "import v2" "$ctl" import --store desk.db --now "$(at 0)" repo2/keyset.cose repo2/revocations.cose repo2/policy.cose repo2/timestamp.cose
expect invalid KEY_REVOKED 1 --now "$(at 0)" "$code_es"
expect valid OK 0 --now "$(at 0)" "$code_ok"
must_exit 65 "rollback of the key set refused" "$ctl" import --store desk.db --now "$(at 0)" repo1.keep/keyset.cose
grep -q "older than installed" cmd.out && pass || fail "rollback message does not say 'older than installed'"
must_exit 65 "rollback of the revocation list refused" "$ctl" import --store desk.db --now "$(at 0)" repo1.keep/revocations.cose
expect invalid KEY_REVOKED 1 --now "$(at 0)" "$code_es"

# --- hostile files are refused and change nothing -----------------------------
before=$("$ctl" show --store desk.db --json --now "$(at 0)")
"$issuer" --now "$(at -200)" publish otherdom otherrepo >/dev/null
must_exit 65 "key set from another domain refused" "$ctl" import --store desk.db --now "$(at 0)" otherrepo/keyset.cose
cp repo2/revocations.cose tampered.cose
printf '\x01' | dd of=tampered.cose bs=1 seek=$(($(stat -c %s tampered.cose) - 10)) conv=notrunc 2>/dev/null
must_exit 65 "tampered revocation list refused" "$ctl" import --store desk.db --now "$(at 0)" tampered.cose
head -c 100 repo2/keyset.cose >truncated.cose
must_exit 65 "truncated key set refused" "$ctl" import --store desk.db --now "$(at 0)" truncated.cose
printf 'not cbor at all' >garbage.cose
must_exit 65 "garbage refused" "$ctl" import --store desk.db --now "$(at 0)" garbage.cose
must_exit 66 "missing file" "$ctl" import --store desk.db --now "$(at 0)" nonexistent.cose
must_exit 65 "expired document refused" "$ctl" import --store desk.db --now "$(at $((400 * DAY)))" repo2/keyset.cose
after=$("$ctl" show --store desk.db --json --now "$(at 0)")
[[ $before == "$after" ]] && pass || fail "a refused import changed the store"

# --- destination policy: the repository's example ----------------------------------
# Kuwait: domestic workers 21 to 60 from 2025-12-23; single clearance with smart card for
# male workers to OM QA BH SG BN AE SA; pre-departure orientation completed.
must_exit 0 "policy from the example source" "$issuer" policy dom "$example_policy"
grep -q "3 rules" cmd.out && grep -q "EXAMPLE" cmd.out && pass || fail "policy summary: $(cat cmd.out)"
cp dom/policy.cbor policy.keep

# Sources that are wrong are refused, naming the file and the place; the domain keeps its policy.
printf '{"format": "qrdesk-policy-1",\n "rules": [,]}\n' >bad-syntax.json
must_exit 65 "policy source that is not JSON" "$issuer" policy dom bad-syntax.json
grep -q "bad-syntax.json: line 2" cmd.out && pass || fail "syntax error without its line: $(cat cmd.out)"
jq '.rules[0].when.destinations = ["kw"]' "$example_policy" >bad-country.json
must_exit 65 "policy with a lower-case country code" "$issuer" policy dom bad-country.json
grep -q 'bad-country.json: rules\[0\] (kw-dw-age): when destinations: "kw"' cmd.out && pass ||
	fail "bad country not named: $(cat cmd.out)"
jq '.rules[0].require.age_min = 61' "$example_policy" >bad-ages.json
must_exit 65 "policy with age_min above age_max" "$issuer" policy dom bad-ages.json
jq '.rules[1].colour = "red"' "$example_policy" >bad-field.json
must_exit 65 "policy with an unknown field" "$issuer" policy dom bad-field.json
grep -q 'rules\[1\]: unknown field "colour"' cmd.out && pass || fail "unknown field not named: $(cat cmd.out)"
must_exit 66 "missing policy source" "$issuer" policy dom nowhere.json
cmp -s dom/policy.cbor policy.keep && pass || fail "a refused policy source changed the domain's policy"

must_exit 0 "publish v3 with the policy" "$issuer" --now "$(at -200)" publish dom repo3
must_exit 0 "import v3" "$ctl" import --store desk.db --now "$(at 0)" repo3/keyset.cose repo3/revocations.cose repo3/policy.cose repo3/timestamp.cose
grep -q "policy version 3 installed (was 2), 3 entries" cmd.out && pass || fail "policy import: $(cat cmd.out)"
"$ctl" show --store desk.db --now "$(at 0)" >cmd.out
grep -q "3 destination rules; note: EXAMPLE" cmd.out && pass || fail "show lacks the policy: $(cat cmd.out)"

# NOW is 2026-11-18 (in Dhaka too): born 2006-02-10 is 20, born 2005-11-18 turns 21 today.
claims young.json 2611000011 '.birth_date = "2006-02-10"'
claims twentyone.json 2611000012 '.birth_date = "2005-11-18"'
claims female-sa.json 2611000013 '.destination = "SA" | .category = "GW"'
claims no-pdo.json 2611000014 '.destination = "NP" | .category = "GW" | .pdo_completed = false'
claims japan.json 2611000015 '.destination = "JP" | .category = "SK"'
code_young=$(sign dom young.json)
expect review POLICY_FAILED 2 --now "$(at 0)" "$code_young"
expect valid OK 0 --now "$(at 0)" "$(sign dom twentyone.json)"
expect review POLICY_FAILED 2 --now "$(at 0)" "$(sign dom female-sa.json)"
expect review POLICY_FAILED 2 --now "$(at 0)" "$(sign dom no-pdo.json)"
expect valid OK 0 --now "$(at 0)" "$(sign dom japan.json)"
expect valid OK 0 --now "$(at 0)" "$code_ok"

# check --json lists the rules evaluated and the failed ones, with the rule's own messages.
json=$("$ctl" check --store desk.db --json --now "$(at 0)" "$code_young")
[[ $(jq -c '[.policy.evaluated[] | [.id, .result]]' <<<"$json") == '[["kw-dw-age","failed"],["pdo-completed","passed"]]' ]] &&
	pass || fail "rules evaluated: $(jq -c .policy <<<"$json")"
[[ $(jq -c .policy.failed <<<"$json") == '["kw-dw-age"]' && $(jq .policy.version <<<"$json") == 3 ]] &&
	pass || fail "rules failed: $(jq -c .policy <<<"$json")"
[[ $(jq -r .message_en <<<"$json") == "Kuwait: domestic workers must be aged 21 to 60"* ]] && pass || fail "English rule message: $(jq -r .message_en <<<"$json")"
[[ $(jq -r .message_bn <<<"$json") == "কুয়েত: গৃহকর্মীর বয়স ২১ থেকে ৬০"* ]] && pass || fail "Bengali rule message: $(jq -r .message_bn <<<"$json")"
[[ $(jq -r .detail <<<"$json") == "rule kw-dw-age: age 20 on 2026-11-18; 21 to 60 required" ]] && pass || fail "detail: $(jq -r .detail <<<"$json")"
json=$("$ctl" check --store desk.db --json --now "$(at 0)" "$(sign dom japan.json)")
[[ $(jq -c '[.policy.evaluated[].id]' <<<"$json") == '["pdo-completed"]' && $(jq -c .policy.failed <<<"$json") == '[]' ]] &&
	pass || fail "a destination without rules: $(jq -c .policy <<<"$json")"
# Plain check prints the failed rule's English and Bengali message.
"$ctl" check --store desk.db --now "$(at 0)" "$code_young" >cmd.out
grep -q "rule kw-dw-age: Kuwait: domestic workers must be aged 21 to 60" cmd.out && grep -q "কুয়েত: গৃহকর্মীর বয়স" cmd.out &&
	pass || fail "plain check without the rule's messages: $(cat cmd.out)"

# A malformed policy (a back office that wrote policy.cbor by hand) is never signed: publish
# refuses it, so it cannot hold back the revocation list on the desks. (A desk's refusal of a
# malformed signed policy is test_import's test_malformed_policy_refused.)
printf '\xa1\x01\x81\xa1\x01\x61x' >dom/policy.cbor # {1: [{1: "x"}]}: a rule with no requirement or messages
must_exit 65 "publish refuses a malformed policy" "$issuer" --now "$(at -100)" publish dom repo4
grep -q "policy.cbor: rules\[0\] (x): require (key 4) missing" cmd.out && pass || fail "refusal message: $(cat cmd.out)"
[[ ! -e repo4/policy.cose ]] && pass || fail "a refused publish wrote files"
cp policy.keep dom/policy.cbor

# An expired policy: review POLICY_STALE, for a card that passes every rule too.
must_exit 0 "publish v5: policy for 2 days" "$issuer" --now "$(at -50)" publish dom repo5 \
	--policy-days 2 --revocations-days 30 --timestamp-days 30
must_exit 0 "import v5" "$ctl" import --store desk.db --now "$(at 0)" repo5/keyset.cose repo5/revocations.cose repo5/policy.cose repo5/timestamp.cose
expect valid OK 0 --now "$(at DAY)" "$code_ok"
expect review POLICY_STALE 2 --now "$(at $((3 * DAY)))" "$code_ok"
expect review POLICY_STALE 2 --now "$(at $((3 * DAY)))" "$code_young"

# --- key rotation drill: a new issuer key whose secret is elsewhere ----------------
# A second office (its own tool, its own key) is admitted by its public key; the old key
# is then retired: its cards issued before the retirement stay valid, later ones are refused.
"$issuer" --now "$(at $((-400 * DAY)))" init rot >/dev/null
"$issuer" --now "$(at $((-10 * DAY)))" init office2 >/dev/null
old_kid=$(jq -r '.keys[] | select(.role == "issuer" and .alg == "EdDSA") | .kid' rot/domain.json)
new_kid=$(jq -r '.keys[] | select(.role == "issuer" and .alg == "EdDSA") | .kid' office2/domain.json)
jq -r '.keys[] | select(.role == "issuer" and .alg == "EdDSA") | .public_key' office2/domain.json >new.hex
must_exit 0 "add-key --public (hex)" "$issuer" --now "$(at $((-10 * DAY)))" add-key rot \
	--role issuer --public new.hex --label "office 2"
# Refused add-keys: each names the key (file or kid), exits as documented, leaves DIR byte-identical.
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot rot)
must_exit 73 "add-key of a key already present refused" "$issuer" add-key rot --role issuer --public new.hex
grep -q "key $new_kid is already in" cmd.out && pass || fail "the refusal does not name the key: $(cat cmd.out)"
printf 'not a key\n' >notakey.pem
must_exit 65 "add-key of a file that is not a key refused" "$issuer" add-key rot --role issuer --public notakey.pem
grep -q "notakey.pem" cmd.out && pass || fail "the refusal does not name the file"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -out rsa.pem
must_exit 65 "add-key of an RSA key refused" "$issuer" add-key rot --role issuer --public rsa.pem
grep -q "rsa.pem" cmd.out && pass || fail "the RSA refusal does not name the file: $(cat cmd.out)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 2>/dev/null | openssl pkey -pubout -out p384.pem
must_exit 65 "add-key of a P-384 key refused" "$issuer" add-key rot --role issuer --public p384.pem
grep -q "p384.pem" cmd.out && pass || fail "the P-384 refusal does not name the file: $(cat cmd.out)"
printf '04%0128d\n' 1 >offcurve.hex # 65 bytes, but not a point of P-256
must_exit 65 "add-key of a point off the curve refused" "$issuer" add-key rot --role issuer --public offcurve.hex
grep -q "offcurve.hex" cmd.out && pass || fail "the off-curve refusal does not name the file: $(cat cmd.out)"
[[ $(snapshot rot) == "$before" ]] && pass || fail "a refused add-key changed the domain"
# A kid already another key's: no second key hashes to a kid in practice, so an older domain is
# made to hold a different key under the new key's kid.
cp -r rot rotc
jq --arg k "$new_kid" '(.keys[] | select(.role == "update") | .kid) = $k' rot/domain.json >rotc/domain.json
before=$(snapshot rotc)
must_exit 73 "add-key of a kid already another key's refused" "$issuer" add-key rotc --role issuer --public new.hex
grep -q "key id $new_kid is already another key's" cmd.out && pass || fail "the collision is not named: $(cat cmd.out)"
[[ $(snapshot rotc) == "$before" ]] && pass || fail "a refused add-key (colliding kid) changed the domain"
"$issuer" --now "$(at 0)" keys rot >keys.out
grep -E "^issuer +EdDSA +$new_kid .* elsewhere +active +office 2$" keys.out >/dev/null && pass || fail "keys does not list the new key: $(cat keys.out)"
claims before.json 2611000101 ".issued_at = $(at $((-2 * DAY)))"
claims after.json 2611000102
code_before=$(sign rot before.json)
code_after=$(sign rot after.json)
code_new=$(sign office2 after.json --key "$new_kid")
must_exit 66 "sign --key of a key held elsewhere refused" "$issuer" --now "$(at 0)" sign rot after.json --key "$new_kid"
grep -q "$new_kid" cmd.out && pass || fail "the refusal does not name the key"
must_exit 0 "publish the new key" "$issuer" --now "$(at -600)" publish rot rotrepo1
rm -f rot.db
must_exit 0 "provision (drill)" "$ctl" provision --store rot.db --root rot/root.pub
must_exit 0 "import (drill)" "$ctl" import --store rot.db --now "$(at 0)" rotrepo1/keyset.cose rotrepo1/revocations.cose rotrepo1/policy.cose rotrepo1/timestamp.cose
check_rot() { # VERDICT REASON CODE
	local got
	got=$("$ctl" check --store rot.db --json --now "$(at 0)" "$3" | jq -r '.verdict + "/" + .reason')
	[[ $got == "$1/$2" ]] && pass || fail "drill: wanted $1/$2, got $got"
}
check_rot valid OK "$code_before"
check_rot valid OK "$code_after"
check_rot valid OK "$code_new"
# Plain sign picked the key it holds, never the newer one registered without a secret.
[[ $("$ctl" check --store rot.db --json --now "$(at 0)" "$code_after" | jq -r .kid) == "$old_kid" ]] &&
	pass || fail "plain sign did not pick the key it holds"
must_exit 0 "retire-key" "$issuer" --now "$(at 0)" retire-key rot "$old_kid" --after "$(at -DAY)"
"$issuer" --now "$(at 0)" keys rot | grep -E "^issuer +EdDSA +$old_kid .* file +retired" >/dev/null && pass || fail "keys does not show the old key retired"
must_exit 66 "plain sign after the retirement: no key it holds" "$issuer" --now "$(at 0)" sign rot after.json
must_exit 0 "publish the retirement" "$issuer" --now "$(at -300)" publish rot rotrepo2
must_exit 0 "import (retired)" "$ctl" import --store rot.db --now "$(at 0)" rotrepo2/keyset.cose rotrepo2/revocations.cose rotrepo2/policy.cose rotrepo2/timestamp.cose
check_rot valid OK "$code_before"
check_rot invalid KEY_NOT_VALID_AT_ISSUE "$code_after"
check_rot valid OK "$code_new"

# --- revocation by issuing key and time window ----------------------------------------
# Insider mis-issuance through office 2's account between -5 h and -1 h: its cards with iat in
# that window are refused, its others stay valid; shipped as a delta and as the full list.
claims in.json 2611000201 ".issued_at = $(at $((-3 * 3600)))"
claims out.json 2611000202 ".issued_at = $(at $((-30 * 3600)))"
code_in=$(sign office2 in.json --key "$new_kid")
code_out=$(sign office2 out.json --key "$new_kid")
check_rot valid OK "$code_in"
cp rot/domain.json domain.before
must_exit 66 "revoke-range of an unknown key" "$issuer" revoke-range rot 0011223344556677 "$(at -18000)" "$(at -3600)" --reason x
must_exit 64 "revoke-range of a repository key" "$issuer" revoke-range rot "$(jq -r '.keys[] | select(.role == "repository") | .kid' rot/domain.json)" "$(at -18000)" "$(at -3600)" --reason x
must_exit 64 "revoke-range with TO before FROM" "$issuer" revoke-range rot "$new_kid" "$(at -3600)" "$(at -18000)" --reason x
must_exit 64 "revoke-range without a reason" "$issuer" revoke-range rot "$new_kid" "$(at -18000)" "$(at -3600)"
[[ ! -e rot/ranges.json ]] && cmp -s domain.before rot/domain.json && pass || fail "a refused revoke-range changed the domain"
must_exit 0 "revoke-range" "$issuer" revoke-range rot "$new_kid" "$(at -18000)" "$(at -7200)" --reason "account BO-17 misused"
must_exit 0 "revoke-range touching it: merged" "$issuer" revoke-range rot "$new_kid" "$(at -7200)" "$(at -3600)" --reason "same account"
grep -q merged cmd.out && pass || fail "the touching window was not merged"
must_exit 0 "publish the window" "$issuer" --now "$(at -200)" publish rot rotrepo3
[[ -s rotrepo3/revocations-delta.cose ]] && pass || fail "no revocations delta published"
must_exit 0 "import the delta" "$ctl" import --store rot.db --now "$(at 0)" rotrepo3/keyset.cose rotrepo3/revocations-delta.cose rotrepo3/policy.cose rotrepo3/timestamp.cose
check_rot invalid ISSUANCE_REVOKED "$code_in"
check_rot valid OK "$code_out"
check_rot valid OK "$code_before"
json=$("$ctl" check --store rot.db --json --now "$(at 0)" "$code_in")
[[ $(jq -r .message_bn <<<"$json") == *"বাতিলকৃত সময়সীমা"* ]] && pass || fail "no Bengali message for ISSUANCE_REVOKED"
rm -f fresh.db
"$ctl" provision --store fresh.db --root rot/root.pub >/dev/null
must_exit 0 "a fresh desk imports the full list" "$ctl" import --store fresh.db --now "$(at 0)" rotrepo3/keyset.cose rotrepo3/revocations.cose rotrepo3/policy.cose rotrepo3/timestamp.cose
[[ $("$ctl" check --store fresh.db --json --now "$(at 0)" "$code_in" | jq -r .reason) == ISSUANCE_REVOKED ]] && pass ||
	fail "the full list does not revoke the window"
[[ $("$ctl" check --store fresh.db --json --now "$(at 0)" "$code_out" | jq -r .reason) == OK ]] && pass ||
	fail "the full list revokes outside the window"

# --- docs/issuing.md's worked example: a card made outside this project's code ------------
# (node's crypto, from the published seed), checked with the published public key; its
# zlib-compressed form (as HC1: certificates do it) is refused.
"$issuer" --now 2026-01-01 init exdom >/dev/null
must_exit 0 "add-key of the example's published key" "$issuer" --now 2026-01-01 add-key exdom \
	--role issuer --public "$ex/public.hex" --not-before 2026-01-01
[[ $(jq -r '.keys[-1].kid' exdom/domain.json) == 56475aa75463474c ]] && pass || fail "the example's kid is not derived as issuing.md says"
"$issuer" --now 2026-11-30 publish exdom exrepo --timestamp-days 30 >/dev/null
"$ctl" provision --store ex.db --root exdom/root.pub >/dev/null
must_exit 0 "import (example)" "$ctl" import --store ex.db --now 2026-12-01 exrepo/keyset.cose exrepo/revocations.cose exrepo/policy.cose exrepo/timestamp.cose
[[ $("$ctl" check --store ex.db --now 2026-12-01 --json "$(cat "$ex/card.txt")" | jq -r '.verdict + "/" + .reason') == valid/OK ]] &&
	pass || fail "issuing.md's worked example is not valid"
[[ $("$ctl" check --store ex.db --now 2026-12-01 --json "$(cat "$ex/card-zlib.txt")" | jq -r .reason) == NOT_COSE_SIGN1 ]] &&
	pass || fail "a compressed card is not refused as NOT_COSE_SIGN1"

# --- usage errors ---------------------------------------------------------------
must_exit 64 "check without --store" "$ctl" check "$code_ok"
must_exit 64 "unknown command" "$ctl" frobnicate
must_exit 0 "qrdeskctl --help" "$ctl" --help
must_exit 0 "qrdesk-issuer --help" "$issuer" --help
must_exit 66 "check with a missing store" "$ctl" check --store nowhere.db "$code_ok"

echo "e2e: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
