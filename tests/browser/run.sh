#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kiosk page in a real browser: Debian's Chromium (headless), driven by
# playwright-core, against the real qrdeskd on 127.0.0.1 with the replay FIFO
# and simulated indicators.  See kiosk.test.mjs for what is checked.
#
# Usage: run.sh QRDESKD QRDESKCTL QRDESK-ISSUER OUTDIR QRDESK-SPECIMEN [REASON-TABLE]
#   OUTDIR gets node_modules (npm ci, from the committed package-lock.json) and
#   the screenshots (OUTDIR/kiosk-screenshots/).  QRDESK_UPDATE_DOCS=1 also
#   copies them to docs/screenshots/ for the README.  qrdesk-specimen makes
#   the bound travellers' passport MRZ and boarding pass.  REASON-TABLE (qrdesk-reason-table)
#   lists every verdict reason: the test makes the daemon give each (the codes for them are
#   made here) and checks that none was left out.
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
out=$(realpath -m "$4")
specimen=$(realpath "$5")
reason_table=${6:+$(realpath "$6")}
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (Node.js 20 or later)" >&2; exit 1; }
done
[[ -x /usr/bin/chromium ]] || { echo "FAIL: /usr/bin/chromium missing (scripts/install-deps.sh installs Debian's chromium)" >&2; exit 1; }

# playwright-core only (it downloads no browser), pinned by the lock file, kept per build tree.
node_dir=$out/browser-node
mkdir -p "$node_dir"
if ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" || [[ ! -d $node_dir/node_modules/playwright-core ]]; then
	cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
	(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL: npm ci in $node_dir" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-browser-XXXXXX")
cleanup() {
	# The test stops its daemon; if node itself was killed (timeout), do it here.
	[[ -f $work/daemon.pid ]] && kill -TERM "$(cat "$work/daemon.pid")" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# --- trust data and cards, made by the back office's own tool ------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
card() { # card NAME CLEARANCE_NO [jq edits]
	local name=$1 no=$2
	shift 2
	jq -n --arg no "$no" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' | jq "${@:-.}" >"$name.json"
	"$issuer" sign dom "$name.json" 2>/dev/null >"$name.txt" || { echo "FAIL: cannot sign $name" >&2; exit 1; }
}
card valid 2611000001
card valid2 2611000002 '.name = "RAHIMA KHATUN" | .destination = "KW" | .category = "DW" | .passport_no = "EB0981234"'
card revoked 2611000003 '.destination = "MY"'
card xss 2611000004 '.name = "<img src=x onerror=window.__xss=1>" | .destination = "ZZ"'
# The longest a screen gets: a 64-character name, the destination and category with the
# longest names, and a policy rule whose messages are as long as a policy may carry
# (320 bytes of English, 640 of Bengali) that this card fails.
card longest 2611000005 '.name = "MOHAMMAD ABDULLAH AL MAMUN CHOWDHURY BHUIYAN TALUKDER SIDDIQUEEE" | .destination = "US" | .category = "SS" | .birth_date = "2004-01-01"'
python3 - <<'PY' >policy.json || { echo "FAIL: policy source" >&2; exit 1; }
import json
en = ("United States, semi-skilled workers: the employer's sponsorship letter, the attested "
      "contract and the agency's licence must be checked against the originals before departure; ")
bn = "যুক্তরাষ্ট্র, আধা-দক্ষ কর্মী: নিয়োগকর্তার স্পনসরশিপ পত্র ও সত্যায়িত চুক্তি মূল কপির সাথে মিলিয়ে দেখুন; "
def cut(text, limit):
    while len(text.encode()) < limit:
        text += text
    b = text.encode()[:limit]
    return b.decode(errors="ignore").rstrip()
print(json.dumps({"format": "qrdesk-policy-1", "note": "browser test: the longest messages",
                  "utc_offset_minutes": 360,
                  "rules": [{"id": "us-ss-longest", "when": {"destinations": ["US"], "categories": ["SS"]},
                             "require": {"age_min": 30},
                             "message_en": cut(en, 320), "message_bn": cut(bn, 640)}]}))
PY
if [[ -n $reason_table ]]; then
	"$reason_table" >reasons.json || { echo "FAIL: $reason_table" >&2; exit 1; }
fi
# Travellers for the checklist ([binding] require = card+passport+boarding, the last test):
# one whose passport and boarding pass match, one whose passport has another birth date.
card bound 2611000006 '.name = "RAHIMA KHATUN" | .destination = "AE" | .passport_no = "EC1234567" | .birth_date = "1995-03-02" | .sex = "F"'
card bound2 2611000007 '.name = "RAHIMA KHATUN" | .destination = "AE" | .passport_no = "EC7654321" | .birth_date = "1995-03-02" | .sex = "F"'
jq '.birth_date = "1995-03-12"' bound2.json >bound2-other.json
for who in bound bound2-other; do
	"$specimen" "$who.json" >"$who.docs" || { echo "FAIL: qrdesk-specimen $who" >&2; exit 1; }
done
# One traveller for each other binding reason, each with a card of their own (a card that
# passed once is ALREADY_USED, which would decide the verdict): travellers/REASON.scan holds the
# texts scanned for it, in order.  BINDING_INCOMPLETE: a card alone, closed by the next
# traveller's card (the PASSPORT_MRZ_INVALID traveller's, which the test scans next).
mkdir travellers
bound_edit='.name = "RAHIMA KHATUN" | .destination = "AE" | .birth_date = "1995-03-02" | .sex = "F"'
i=0
for reason in PASSPORT_MRZ_INVALID PASSPORT_EXPIRES_SOON BOARDING_NAME_MISMATCH BOARDING_DESTINATION_MISMATCH \
	BOARDING_PASS_INVALID BINDING_INCOMPLETE PASSPORT_MISMATCH; do
	i=$((i + 1))
	card "$reason" "26110002$(printf %02d $i)" "$bound_edit | .passport_no = \"EC00000$(printf %02d $i)\""
	mv "$reason.json" "$reason.txt" travellers/
	"$specimen" "travellers/$reason.json" >"travellers/$reason.docs" || { echo "FAIL: qrdesk-specimen $reason" >&2; exit 1; }
done
spec() { "$specimen" "$@" || echo "FAIL: qrdesk-specimen $*" >&2; }
r=travellers
# A broken composite check digit (the last of line 2).
l2=$(sed -n 2p $r/PASSPORT_MRZ_INVALID.docs)
echo "${l2:0:43}$(((${l2:43:1} + 1) % 10))" >mrz2
{ sed -n 1p $r/PASSPORT_MRZ_INVALID.docs; cat mrz2; sed -n 3p $r/PASSPORT_MRZ_INVALID.docs; } >$r/PASSPORT_MRZ_INVALID.scan
{ cat $r/PASSPORT_EXPIRES_SOON.txt; spec $r/PASSPORT_EXPIRES_SOON.json --expiry "$(date -u -d '+2 days' +%F)"; } >$r/PASSPORT_EXPIRES_SOON.scan
jq '.name = "RAHIMA BEGUM"' $r/BOARDING_NAME_MISMATCH.json >other-name.json
{ cat $r/BOARDING_NAME_MISMATCH.txt; sed -n 1,2p $r/BOARDING_NAME_MISMATCH.docs; spec other-name.json | sed -n 3p; } >$r/BOARDING_NAME_MISMATCH.scan
jq '.destination = "KW"' $r/BOARDING_DESTINATION_MISMATCH.json >other-dest.json
{ cat $r/BOARDING_DESTINATION_MISMATCH.txt; sed -n 1,2p $r/BOARDING_DESTINATION_MISMATCH.docs; spec other-dest.json | sed -n 3p; } >$r/BOARDING_DESTINATION_MISMATCH.scan
# The flight's Julian date (characters 45-47) 000: no such day.
{ cat $r/BOARDING_PASS_INVALID.txt; sed -n 1,2p $r/BOARDING_PASS_INVALID.docs; sed -n 3p $r/BOARDING_PASS_INVALID.docs | sed -E 's/^(.{44})[0-9]{3}/\1000/'; } >$r/BOARDING_PASS_INVALID.scan
cp $r/BINDING_INCOMPLETE.txt $r/BINDING_INCOMPLETE.scan
# Another sex in the passport: red at once, nothing more to scan.
jq '.sex = "M"' $r/PASSPORT_MISMATCH.json >other-sex.json
{ cat $r/PASSPORT_MISMATCH.txt; spec other-sex.json | sed -n 1,2p; } >$r/PASSPORT_MISMATCH.scan
# --- a code for each verdict reason, given by the daemon itself ---------------------------------
# reasons/REASON.txt: what makes qrdeskd give that reason.  Cards with claims carry the longest
# texts (the longest card's claims); the codes only a forger or a damaged print makes (bad
# base45, CBOR, COSE, claims that do not decode under a good signature) come from
# reason_codes.py.  Travellers' documents (reasons/REASON.docs, the binding test) below.
mkdir reasons
now=$(date +%s)
iso() { date -u -d "@$1" +%FT%TZ; }
kid_of() { jq -r --arg r "$1" --arg a "$2" '.keys[] | select(.role == $r and .alg == $a) | .kid' dom/domain.json | head -1; }
issuer_kid=$(kid_of issuer EdDSA)
es256_kid=$(kid_of issuer ES256)
rcard() { # rcard REASON JQ-EDIT [sign options]: the longest card's claims, edited, signed
	local reason=$1 edit=$2
	shift 2
	jq "$edit" longest.json >"reasons/$reason.json"
	"$issuer" sign dom "reasons/$reason.json" "$@" 2>/dev/null >"reasons/$reason.txt" ||
		{ echo "FAIL: cannot sign the card for $reason" >&2; exit 1; }
}
rcard OK '.clearance_no = "2611000100" | .destination = "SA" | .category = "GW"' # no rule for it
rcard KEY_WRONG_ROLE '.clearance_no = "2611000101"' --key "$(kid_of repository EdDSA)"
rcard KEY_REVOKED '.clearance_no = "2611000102"' --alg es256 # its key revoked below
rcard KEY_NOT_VALID_AT_ISSUE ".clearance_no = \"2611000103\" | .issued_at = \"$(iso $((now - 2 * 86400)))\""
rcard CARD_EXPIRED ".clearance_no = \"2611000104\" | .issued_at = \"$(iso $((now - 3 * 3600)))\" | .expires_at = \"$(iso $((now - 3600)))\""
rcard CARD_NOT_YET_VALID ".clearance_no = \"2611000105\" | .not_before = \"$(iso $((now + 2 * 86400)))\""
rcard ISSUANCE_REVOKED ".clearance_no = \"2611000106\" | .issued_at = \"$(iso $((now - 12 * 3600)))\""
"$issuer" revoke-range dom "$issuer_kid" "$(iso $((now - 13 * 3600)))" "$(iso $((now - 11 * 3600)))" \
	--reason "browser test" >/dev/null || { echo "FAIL: revoke-range" >&2; exit 1; }
"$issuer" revoke-key dom "$es256_kid" >/dev/null || { echo "FAIL: revoke-key" >&2; exit 1; }
# Another back office's card: its key is not in this desk's key set.
"$issuer" --now "$((now - 86400))" init other >/dev/null
"$issuer" sign other longest.json 2>/dev/null >reasons/KEY_UNKNOWN.txt || { echo "FAIL: sign KEY_UNKNOWN" >&2; exit 1; }
python3 "$here/reason_codes.py" valid.txt "$(cat "dom/keys/$issuer_kid.key")" reasons ||
	{ echo "FAIL: reason_codes.py" >&2; exit 1; }
"$issuer" policy dom policy.json >/dev/null || { echo "FAIL: cannot set the policy" >&2; exit 1; }
"$issuer" revoke dom 2611000003 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null

# A second desk whose trust data ages (the test imports each step and reloads the daemon):
# aged1, published ten days ago, its revocation list expired (TRUST_STALE); aged2, three days
# ago with a one-day policy (POLICY_STALE); aged3, signed two days ahead of the desk's clock
# (CLOCK_SUSPECT).  Each imported as of its own time, as a desk would have when it came.
"$issuer" --now "$((now - 30 * 86400))" init aged >/dev/null
"$issuer" sign aged longest.json 2>/dev/null >aged.txt || { echo "FAIL: sign the aged card" >&2; exit 1; }
"$issuer" policy aged policy.json >/dev/null
"$issuer" --now "$((now - 10 * 86400))" publish aged aged1 >/dev/null &&
	"$issuer" --now "$((now - 3 * 86400))" publish aged aged2 --policy-days 1 --timestamp-days 7 >/dev/null &&
	"$issuer" --now "$((now + 2 * 86400))" publish aged aged3 >/dev/null || { echo "FAIL: publish aged" >&2; exit 1; }
"$ctl" provision --store aged.db --root aged/root.pub >/dev/null
"$ctl" import --now "$((now - 10 * 86400 + 60))" --store aged.db aged1/*.cose >/dev/null ||
	{ echo "FAIL: import aged1" >&2; exit 1; }
echo "$((now - 3 * 86400 + 60)) $((now + 2 * 86400 + 60))" >aged.times

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
display_port=$(free_port)
while [[ $display_port == "$port" ]]; do display_port=$(free_port); done
cat >desk.conf <<CONF
[desk]
desk_id = BROWSER-1
store = $work/desk.db
control_socket = $work/control.sock
[pipeline]
holdoff_ms = 500
[indicators]
backend = sim
sim_record = $work/indicators.log
valid_ms = 200
invalid_ms = 300
review_ms = 300
beep_ms = 20
gap_ms = 20
[replay]
fifo = $work/codes.fifo
[kiosk]
address = 127.0.0.1
port = $port
idle_ms = 1500
# The display's own listener: this test's user is the kiosk browser's.
display_port = $display_port
display_user = $(id -un)
CONF

mkdir -p "$out/kiosk-screenshots"
QRDESKD=$qrdeskd QRDESKCTL=$ctl WORK=$work PORT=$port DISPLAY_PORT=$display_port \
	ATTACK=$here/../integration/kiosk_attack.py SHOTS=$out/kiosk-screenshots NODE_DIR=$node_dir \
	DOCS_SHOTS=$([[ -n ${QRDESK_UPDATE_DOCS:-} ]] && echo "$here/../../docs/screenshots") \
	timeout 300 node --test --test-reporter=spec "$here/kiosk.test.mjs"
rc=$?
if grep -qiE "sanitizer|runtime error" "$work/daemon.log" 2>/dev/null; then
	echo "FAIL: sanitizer report in the daemon's log" >&2
	rc=1
fi
[[ $rc -ne 0 && -f $work/daemon.log ]] && { echo "--- daemon log:" >&2; tail -n 40 "$work/daemon.log" >&2; }
exit $rc
