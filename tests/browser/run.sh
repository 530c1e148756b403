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
#   gives every verdict reason's texts, so that each reason's screen is measured.
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
"$issuer" policy dom policy.json >/dev/null || { echo "FAIL: cannot set the policy" >&2; exit 1; }
"$issuer" revoke dom 2611000003 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null

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
QRDESKD=$qrdeskd WORK=$work PORT=$port DISPLAY_PORT=$display_port \
	ATTACK=$here/../integration/kiosk_attack.py SHOTS=$out/kiosk-screenshots NODE_DIR=$node_dir \
	DOCS_SHOTS=$([[ -n ${QRDESK_UPDATE_DOCS:-} ]] && echo "$here/../../docs/screenshots") \
	timeout 180 node --test --test-reporter=spec "$here/kiosk.test.mjs"
rc=$?
if grep -qiE "sanitizer|runtime error" "$work/daemon.log" 2>/dev/null; then
	echo "FAIL: sanitizer report in the daemon's log" >&2
	rc=1
fi
[[ $rc -ne 0 && -f $work/daemon.log ]] && { echo "--- daemon log:" >&2; tail -n 40 "$work/daemon.log" >&2; }
exit $rc
