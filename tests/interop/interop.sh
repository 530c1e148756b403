#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cards from another issuer's software: an independent COSE implementation from the npm registry
# (@auth0/cose with cbor-x, tests/interop/interop.mjs) follows docs/issuing.md and nothing else.
#  (a) it makes an Ed25519 and a P-256 key, the back office registers their PEM public halves with
#      `qrdesk-issuer add-key --public` (same kid as issuing.md's derivation), it issues cards with
#      both, and `qrdeskctl check` finds them valid; a card whose kid is derived another way
#      (P-256's compressed point) is KEY_UNKNOWN, so a layout disagreement fails here;
#  (b) it verifies this project's own cards (EdDSA and ES256) against the key set's public keys,
#      layout byte for byte, and refuses a tampered one;
#  (c) it signs docs/examples/issuing/'s payload with the published seed and gets card.txt exactly.
# The packages come from tests/interop/package-lock.json (`npm ci` by scripts/install-deps.sh).
# Usage: interop.sh QRDESK-ISSUER QRDESKCTL
set -uo pipefail

here=$(dirname "$(realpath "$0")")
issuer=$(realpath "$1")
ctl=$(realpath "$2")
js=$here/interop.mjs
ex=$(realpath "$here/../../docs/examples/issuing")
if ! command -v node >/dev/null || [[ ! -d $here/node_modules/@auth0/cose ]]; then
	echo "interop: node or tests/interop/node_modules missing (scripts/install-deps.sh installs them)" >&2
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-interop-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

. "$here/../integration/checks.sh"
pass() { passes=$((passes + 1)); }

NOW=1795000000 # a fixed clock, as in tests/e2e/e2e.sh
at() { echo $((NOW + $1)); }
claims() { # FILE CLEARANCE_NO
	jq -n --arg no "$2" --argjson iat "$(at -3600)" --argjson exp "$(at $((90 * 86400)))" \
		'{clearance_no: $no, passport_no: "A12345678", name: "RAHIMA KHATUN",
		  birth_date: "1994-03-12", sex: "F", destination: "KW", category: "DW",
		  employer: "AL FAHAD TRADING CO", agency_licence: "RL-1234",
		  bmet_reg_no: "BMET11223344", pdo_completed: true,
		  issued_at: $iat, expires_at: $exp}' >"$1"
}
judged() { # VERDICT/REASON CODE WHAT
	local got
	got=$("$ctl" check --store desk.db --json --now "$(at 0)" "$2" | jq -r '.verdict + "/" + .reason + " " + .kid')
	[[ ${got% *} == "$1" ]] && pass || fail "$3: wanted $1, got $got"
}

# --- (a) cards made by the other library, checked on a desk ---------------------------------
"$issuer" --now "$(at $((-400 * 86400)))" init bo >/dev/null || fail "init"
node "$js" keygen . >kids.txt || fail "keygen"
ed_kid=$(awk '$1 == "ed" {print $2}' kids.txt)
p256_kid=$(awk '$1 == "p256" {print $2}' kids.txt)
for k in ed p256; do
	"$issuer" --now "$(at -86400)" add-key bo --role issuer --public $k.pub.pem --label "office 2 $k" >add.out 2>&1 ||
		{ fail "add-key --public $k.pub.pem"; cat add.out >&2; }
done
# The back office derives the same kids from the PEM files as the other library did from its keys.
check '[[ $(jq -r --arg k "$ed_kid" ".keys[] | select(.kid == \$k) | .alg" bo/domain.json) == EdDSA ]]' \
	"the Ed25519 key is not registered under kid $ed_kid: $(jq -c '[.keys[] | [.kid, .alg]]' bo/domain.json)"
check '[[ $(jq -r --arg k "$p256_kid" ".keys[] | select(.kid == \$k) | .alg" bo/domain.json) == ES256 ]]' \
	"the P-256 key is not registered under kid $p256_kid: $(jq -c '[.keys[] | [.kid, .alg]]' bo/domain.json)"
"$issuer" --now "$(at -600)" publish bo repo >/dev/null || fail "publish"
"$ctl" provision --store desk.db --root bo/root.pub >/dev/null || fail "provision"
"$ctl" import --store desk.db --now "$(at 0)" repo/keyset.cose repo/revocations.cose repo/policy.cose \
	repo/timestamp.cose >/dev/null || fail "import"

claims c.json 2611000301
node "$js" sign ed.key.pem c.json >ed.cards || fail "sign with the Ed25519 key"
node "$js" sign p256.key.pem c.json >p256.cards || fail "sign with the P-256 key"
card() { sed -n "s/^$2 //p" "$1.cards"; }
ed_sorted=$(card ed sorted)
ed_any=$(card ed insertion)
p256_sorted=$(card p256 sorted)
p256_any=$(card p256 insertion)
p256_compressed=$(card p256 compressed)
judged valid/OK "$ed_sorted" "Ed25519 card from the other library"
judged valid/OK "$ed_any" "Ed25519 card, keys in insertion order"
judged valid/OK "$p256_sorted" "P-256 card from the other library"
judged valid/OK "$p256_any" "P-256 card, keys in insertion order"
judged invalid/KEY_UNKNOWN "$p256_compressed" "P-256 card whose kid hashes the compressed point"
check '[[ $("$ctl" check --store desk.db --json --now "$(at 0)" "$ed_sorted" | jq -r .kid) == "$ed_kid" ]]' \
	"the desk did not find the Ed25519 card under kid $ed_kid"
check '[[ $("$ctl" check --store desk.db --json --now "$(at 0)" "$p256_any" | jq -r "[.claims.name, .claims.birth_date] | join(\",\")") == "RAHIMA KHATUN,1994-03-12" ]]' \
	"the desk read other claims than the card carries"
# The same card with the desk's revocation of its clearance number: the claims are read as ours.
"$issuer" revoke bo 2611000301 >/dev/null && "$issuer" --now "$(at -300)" publish bo repo2 >/dev/null &&
	"$ctl" import --store desk.db --now "$(at 0)" repo2/keyset.cose repo2/revocations.cose repo2/policy.cose \
		repo2/timestamp.cose >/dev/null || fail "revoke and publish"
judged invalid/CARD_REVOKED "$ed_any" "the other library's card after its clearance number was revoked"

# --- (b) this project's cards, checked by the other library --------------------------------
claims ours.json 2611000302
for alg in eddsa es256; do
	code=$("$issuer" --now "$(at 0)" sign bo ours.json --alg $alg 2>/dev/null) || fail "sign --alg $alg"
	kid=$("$ctl" check --store desk.db --json --now "$(at 0)" "$code" | jq -r .kid)
	ALG=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .alg' bo/domain.json)
	pub=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .public_key' bo/domain.json)
	# With one character of the signature changed the card must be refused, or (b) proves nothing.
	body=${code#BC1:}
	pos=$(((${#body} - 45) / 3 * 3))
	new=0
	[[ ${body:pos:1} == 0 ]] && new=1
	node "$js" verify "$pub" "$ALG" ours.json "$code" "BC1:${body:0:pos}${new}${body:pos+1}" >verify.out ||
		fail "verify $ALG"
	check '[[ $(sed -n 1p verify.out) == "ok $kid" ]]' "the other library refuses our $ALG card: $(sed -n 1p verify.out)"
	check '[[ $(sed -n 2p verify.out) == refused:* ]]' "the other library accepts a tampered $ALG card"
done

# --- (c) docs/issuing.md's worked example, from the published seed ------------------------
check 'node "$js" example "$ex" >/dev/null' "the worked example does not rebuild from its seed with the other library"

echo "interop: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
