#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The traveller bound to the card (docs/binding.md): the real qrdeskd with
# [binding] require = card+passport+boarding, a keyboard-wedge scanner (the
# HID source reading a FIFO of key events, tests/integration/hid_type.py)
# and a serial scanner (a pty, tests/integration/pty_scanner.py).  The card,
# the passport MRZ and the boarding pass (made by qrdesk-specimen for the
# card's claims) in every order, the MRZ typed line by line and sent whole;
# each mismatch; a broken check digit; the timeout; the "accepted" pattern;
# one audit row per transaction with no MRZ or PNR text in the store; the
# boarding pass as a PDF417, an Aztec and a QR picture (qrdesk-specimen --png, as
# airlines print it) dropped in the image folder, which with binding on reads
# them as the camera does (the same decoder chain).
# Usage: binding.sh QRDESKD QRDESKCTL QRDESK-ISSUER QRDESK-SPECIMEN
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
specimen=$(realpath "$4")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-binding-XXXXXX")
daemon_pid="" scanner_pid="" hid_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	[[ -n $scanner_pid ]] && kill "$scanner_pid" 2>/dev/null
	[[ -n $hid_pid ]] && kill "$hid_pid" 2>/dev/null
	exec 4>&- 5>&- 6<&- 8>&- 9<&- 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"
. "$here/checks.sh"

# --- a card, and the documents of its holder --------------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
holder='.passport_no = "A12345678" | .name = "RAHIMA KHATUN" | .birth_date = "1994-03-12" | .sex = "F" | .destination = "KW" | .category = "DW"'
card rahima 2611012345 "$holder"
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
# docs NAME [jq edits of the claims]: NAME.mrz1, NAME.mrz2 (the MRZ's lines), NAME.bcbp
docs() {
	local name=$1
	shift
	jq "${@:-.}" rahima.json >"$name.claims.json"
	"$specimen" "$name.claims.json" --day 40 >"$name.out" || fail "qrdesk-specimen $name"
	sed -n 1p "$name.out" >"$name.mrz1"
	sed -n 2p "$name.out" >"$name.mrz2"
	sed -n 3p "$name.out" >"$name.bcbp"
}
docs good
docs otherbirth '.birth_date = "1994-03-13"'
docs othername '.name = "RAHIMA BEGUM"'
docs elsewhere '.destination = "AE"'
docs otherno '.passport_no = "A12345679"'
docs othersex '.sex = "M"'
# A passport that expires the day after tomorrow, long before the card does.
"$specimen" rahima.json --day 40 --expiry "$(date -u -d '+2 days' +%F)" >expiring.out || fail "qrdesk-specimen expiring"
sed -n 1p expiring.out >expiring.mrz1
sed -n 2p expiring.out >expiring.mrz2
check '[[ $(cat good.mrz1) == "P<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<<" ]]' "specimen MRZ line 1: $(cat good.mrz1)"
check '[[ $(cat elsewhere.bcbp) == M1KHATUN/RAHIMA*DACAAN* ]]' "specimen boarding pass to the UAE: $(cat elsewhere.bcbp)"
# A check digit broken: the composite (last character of line 2).
l2=$(cat good.mrz2)
echo "${l2:0:43}$(((${l2:43:1} + 1) % 10))" >broken.mrz2
check '! cmp -s good.mrz2 broken.mrz2' "a broken composite digit differs"
# Another nationality (columns 11-13 of line 2, outside every check digit): a valid MRZ.
cp good.mrz1 india.mrz1
echo "${l2:0:10}IND${l2:13}" >india.mrz2
check '[[ $(cut -c11-13 india.mrz2) == IND && $(wc -L <india.mrz2) == 44 ]]' "a passport of another nationality: $(cat india.mrz2)"
# The boarding passes as pictures: PDF417 (paper), Aztec and QR (phones).  qrdesk-specimen makes
# them through libzint; a build without it (the arm64 sysroot has none) skips these cases.
pictures=1
for p in good:pdf417 good:aztec good:qr othername:pdf417 elsewhere:aztec; do
	name=${p%%:*} sym=${p#*:}
	kind=()
	[[ $sym != pdf417 ]] && kind=(--"$sym")
	if ! "$specimen" "$name.claims.json" --day 40 --png "$name-$sym.png" "${kind[@]}" >/dev/null 2>png.err; then
		grep -q "built without libzint" png.err || fail "qrdesk-specimen --png $name $sym: $(cat png.err)"
		pictures=0
	fi
done
[[ $pictures == 1 ]] || echo "SKIP: boarding pass pictures: qrdesk-specimen built without libzint"

# --- the scanners and the daemon ------------------------------------------------------------
mkdir dev
mkfifo scanner.in scanner.out hid.in hid.out hid.fifo
python3 "$here/pty_scanner.py" "$work/dev/scanner0" <scanner.in >scanner.out &
scanner_pid=$!
exec 8>scanner.in 9<scanner.out
scanner() { # scanner COMMAND...: one command, waits for its "ok"
	echo "$*" >&8
	local reply
	read -r -t 10 reply <&9 && [[ $reply == ok ]] || fail "scanner: no answer to '$*'"
}
serial() { # serial FILE EOL: the file's text, one line
	scanner send "$(tr -d '\n' <"$1" | od -An -tx1 -v | tr -d ' \n')" "$2"
}
scanner plug

cat >desk.conf <<CONF
[desk]
desk_id = BIND-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = info
[pipeline]
holdoff_ms = 0
already_used_check = false
[binding]
require = card+passport+boarding
timeout_s = 10
[indicators]
backend = sim
sim_record = $work/indicators.log
valid_ms = 100
invalid_ms = 100
review_ms = 100
beep_ms = 20
gap_ms = 20
[serial]
device = $work/dev/scanner0
baud = 9600
[hid]
device = $work/hid.fifo
key_timeout_ms = 1000
grab = false
[kiosk]
enabled = false
[replay]
images = $work/inbox
[usb]
mode = automount
watch_dir = $work/media
dropin = $work/usb.conf
CONF
mkdir media inbox
"$qrdeskd" --check-config desk.conf >check.out 2>&1
check '[[ $? == 0 ]]' "--check-config with [binding]: $(cat check.out)"
printf '[binding]\nrequire = passport\ntimeout_s = 5\n' >bad.conf
"$qrdeskd" --check-config bad.conf >check.out 2>&1
check 'grep -q "bad.conf:2: .*card+passport+boarding" check.out && grep -q "bad.conf:3: .*10 to 900" check.out' "bad [binding] values named with file:line: $(cat check.out)"

"$qrdeskd" --config desk.conf 2>>daemon.log &
daemon_pid=$!
wait_for 20 '[[ -S control.sock ]]' || { fail "daemon did not start"; cat daemon.log >&2; exit 1; }
python3 "$here/hid_type.py" "$work/hid.fifo" <hid.in >hid.out &
hid_pid=$!
exec 5>hid.in 6<hid.out
hid() { # hid FILE: the file's text typed, Enter after it
	echo "type $(tr -d '\n' <"$1")" >&5
	local reply
	read -r -t 10 reply <&6 && [[ $reply == ok ]] || fail "hid: no answer for $1"
}
pictures_in=0
picture() { # picture FILE: into the image folder, under a new name each time
	pictures_in=$((pictures_in + 1))
	cp "$1" "inbox/.$pictures_in-$1" && mv "inbox/.$pictures_in-$1" "inbox/$pictures_in-$1"
}
send() { # send DEVICE FILE EOL
	case $1 in
	serial) serial "$2" "$3" ;;
	image) picture "$2" ;;
	*) hid "$2" ;;
	esac
}
status() { "$ctl" status --socket control.sock --json; }
states() { status | jq -r '[.sources[] | select(.kind == "serial" or .kind == "hid") | .state] | join(" ")'; }
wait_for 10 '[[ $(states) == "running running" ]]'
check '[[ $(states) == "running running" ]]' "both scanners run: $(status | jq -c '[.sources[] | {kind, state}]')"

n_verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }
last_verdict() { grep -E '^<[0-9]>verdict [0-9]+ ' daemon.log | tail -n1 | sed -E 's/^<[0-9]>verdict [0-9]+ ([a-z]+) ([A-Z0-9_]+) .*detail=(.*)$/\1:\2:\3/; s/^<[0-9]>verdict [0-9]+ ([a-z]+) ([A-Z0-9_]+) .*$/\1:\2:/'; }
n_accepted() { grep -c "binding: .* taken from" daemon.log; }
# transaction WANT DESCRIPTION STEP...: each step "DEVICE:DOC" (hid or serial; card, mrz (two
# lines), mrz1 (the whole MRZ in one text), bcbp or any file); the last step must close it.
transaction() {
	local want=$1 what=$2
	shift 2
	local before=$(n_verdicts) accepted=$(n_accepted) step dev doc
	for step in "$@"; do
		dev=${step%%:*} doc=${step#*:}
		case $doc in
		card) doc=rahima.txt ;;
		esac
		if [[ $doc == *.mrz ]]; then # line by line: a reader's CR (serial) or Enter (HID)
			send "$dev" "${doc%.mrz}.mrz1" cr
			send "$dev" "${doc%.mrz}.mrz2" cr
		else
			send "$dev" "$doc" crlf
		fi
	done
	wait_for 60 "[[ \$(n_verdicts) -gt $before ]]" # a hang guard: a picture is decoded first
	check '[[ $(n_verdicts) == $((before + 1)) && $(last_verdict) == "$want" ]]' "$what: $(last_verdict) (want $want)"
	local want_accepted=$(($# - 1)) got_accepted=$(($(n_accepted) - accepted))
	check '[[ $got_accepted == "$want_accepted" ]]' "$what: $want_accepted documents accepted before the verdict ($got_accepted)"
}

# --- every order, both scanners --------------------------------------------------------------
transaction "valid:OK:" "card, passport, boarding pass" serial:card hid:good.mrz serial:good.bcbp
transaction "valid:OK:" "card, boarding pass, passport" hid:card serial:good.bcbp hid:good.mrz
transaction "valid:OK:" "passport, card, boarding pass" serial:good.mrz hid:card hid:good.bcbp
transaction "valid:OK:" "passport, boarding pass, card" hid:good.mrz hid:good.bcbp serial:card
transaction "valid:OK:" "boarding pass, card, passport" serial:good.bcbp serial:card serial:good.mrz
transaction "valid:OK:" "boarding pass, passport, card" hid:good.bcbp serial:good.mrz hid:card

# --- each mismatch ---------------------------------------------------------------------------
transaction "invalid:PASSPORT_MISMATCH:passport: birth_date" "another birth date (red at once)" serial:card hid:otherbirth.mrz
transaction "invalid:PASSPORT_MISMATCH:passport: name" "another name on the passport" hid:othername.mrz serial:card
transaction "invalid:PASSPORT_MISMATCH:passport: passport_no" "another passport number" serial:card serial:otherno.mrz
transaction "invalid:PASSPORT_MISMATCH:passport: sex" "another sex on the passport" hid:othersex.mrz hid:card
transaction "invalid:PASSPORT_MISMATCH:passport: nationality" "a passport of another nationality" hid:card serial:india.mrz
cp good.mrz1 broken.mrz1
transaction "review:PASSPORT_MRZ_INVALID:passport: composite" "a broken check digit" serial:card hid:broken.mrz serial:good.bcbp
transaction "review:BOARDING_NAME_MISMATCH:boarding: name" "another name on the boarding pass" hid:othername.bcbp serial:card serial:good.mrz
transaction "review:BOARDING_DESTINATION_MISMATCH:boarding: final_arrival" "a flight to the UAE" serial:card hid:good.mrz hid:elsewhere.bcbp
transaction "review:PASSPORT_EXPIRES_SOON:passport: expiry_date" "a passport expiring before the card" hid:card serial:expiring.mrz hid:good.bcbp

# --- the timeout -----------------------------------------------------------------------------
before=$(n_verdicts)
serial rahima.txt lf
hid good.mrz1
hid good.mrz2
wait_for 3 '[[ $(n_accepted) -ge 2 ]]'
sleep 5
check '[[ $(n_verdicts) == "$before" ]]' "no verdict while the transaction is open"
wait_for 15 "[[ \$(n_verdicts) -gt $before ]]"
check '[[ $(last_verdict) == "review:BINDING_INCOMPLETE:boarding: missing" ]]' "time ran out: $(last_verdict)"
"$ctl" scan --socket control.sock "$(cat good.bcbp)" >scan.json
check '[[ $(jq -r .accepted scan.json) == true ]]' "qrdeskctl scan of a boarding pass: accepted, waiting ($(cat scan.json))"

# --- indicators, audit, privacy ----------------------------------------------------------------
# The accepted pattern: green and amber on together, which no verdict does.
both=$(awk '$2 == 1 && $4 == 1' indicators.log | wc -l)
check '[[ $both -ge 10 ]]' "the 'accepted, waiting' pattern lit green and amber together ($both times)"
transactions=$(n_verdicts)
rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
check '[[ $rows == "$transactions" ]]' "one audit row per transaction ($rows rows, $transactions verdicts)"
reasons=$(sqlite3 desk-audit.db "SELECT reason FROM audit ORDER BY id" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
check '[[ $reasons == *"OK=6 "* && $reasons == *"PASSPORT_MISMATCH=5 "* && $reasons == *"BINDING_INCOMPLETE=1 "* ]]' "audit reasons: $reasons"
check '[[ $(sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE clearance_hash IS NULL") == 0 ]]' "every row carries the card's pseudonym"
check '! cat <(sqlite3 desk.db .dump) <(sqlite3 desk-audit.db .dump) | grep -qE "KHATUN|A12345678|QDSPEC|P<BGD|DACKWI"' "no name, passport number, MRZ or PNR in the store"
# Each document's outcome beside its row, and pseudonyms of the passport and the booking.
docs_rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit a JOIN audit_binding b ON b.audit_id = a.id")
check '[[ $docs_rows == "$transactions" ]]' "each transaction's documents are in the audit ($docs_rows of $transactions)"
outcome() { sqlite3 -separator '|' desk-audit.db "SELECT b.card, b.passport, b.boarding FROM audit a JOIN audit_binding b ON b.audit_id = a.id WHERE a.reason = '$1' LIMIT 1"; }
check '[[ $(outcome PASSPORT_MRZ_INVALID) == "passed|failed PASSPORT_MRZ_INVALID composite|passed" ]]' "a broken check digit: $(outcome PASSPORT_MRZ_INVALID)"
check '[[ $(outcome BOARDING_DESTINATION_MISMATCH) == "passed|passed|failed BOARDING_DESTINATION_MISMATCH final_arrival" ]]' "a flight elsewhere: $(outcome BOARDING_DESTINATION_MISMATCH)"
check '[[ $(outcome BINDING_INCOMPLETE) == "passed|passed|missing" ]]' "time ran out: $(outcome BINDING_INCOMPLETE)"
check '[[ $(sqlite3 desk-audit.db "SELECT b.passport FROM audit a JOIN audit_binding b ON b.audit_id = a.id WHERE a.reason = '"'PASSPORT_MISMATCH'"' ORDER BY a.id LIMIT 1") == "failed PASSPORT_MISMATCH birth_date" ]]' "another birth date: the passport's field"
# The same passport and booking in all six good transactions: one pseudonym each, 16 bytes.
pseud=$(sqlite3 desk-audit.db "SELECT count(DISTINCT hex(passport_pseudonym)), count(DISTINCT hex(boarding_pseudonym)), min(length(passport_pseudonym)), min(length(boarding_pseudonym)) FROM audit a JOIN audit_binding b ON b.audit_id = a.id WHERE a.reason = 'OK'")
check '[[ $pseud == "1|1|16|16" ]]' "one passport and one booking pseudonym across the good transactions ($pseud)"
check '[[ $(sqlite3 desk-audit.db "SELECT count(*) FROM audit_binding WHERE passport_pseudonym = boarding_pseudonym") == 0 ]]' "passport and booking pseudonyms differ"

# --- the airport table refreshed by a signed document ----------------------------------------
# The same pass landing at QQQ, an airport the built-in table lacks: review, until the back
# office publishes a table that has it, the desk imports it and reloads; then green.
sed 's/^\(.\{33\}\)KWI/\1QQQ/' good.bcbp >qqq.bcbp
check '[[ $(cut -c34-36 qqq.bcbp) == QQQ ]]' "a boarding pass to QQQ: $(cat qqq.bcbp)"
# (The pass first: it replaces the one scanned above through qrdeskctl, still waiting for a card.)
transaction "review:BOARDING_DESTINATION_MISMATCH:boarding: airport not in the table" "an airport the built-in table lacks" serial:qqq.bcbp serial:card hid:good.mrz
{ grep -E '^[A-Z]{3} ' "$here/../../firmware/core/airports.txt"; echo "QQQ KW a test airport"; } | LC_ALL=C sort >airports.txt
"$issuer" airports dom airports.txt >airports.out || fail "qrdesk-issuer airports: $(cat airports.out)"
"$issuer" publish dom repo2 >/dev/null || fail "qrdesk-issuer publish with an airport table"
check '[[ -s repo2/airports.cose ]]' "the publish signs airports.cose"
"$ctl" import --store desk.db repo2/*.cose >import.out 2>&1 || fail "import of the airport table: $(cat import.out)"
kill -HUP "$daemon_pid"
wait_for 10 'grep -q "airports: the signed table version 1 ([0-9]* airports) is in use" daemon.log'
check 'grep -q "airports: the signed table version 1 ([0-9]* airports) is in use" daemon.log' "the desk uses the signed table after a reload"
transaction "valid:OK:" "the same pass with the signed table" serial:card hid:good.mrz serial:qqq.bcbp

# --- the airport table brought on a USB stick ---------------------------------------------------
# A desk without network: the next table (version 2, with QQR) in an update bundle on a stick (a
# folder appearing in the automount folder, as in usb.sh); the desk verifies it, applies it in
# one batch, reloads and uses it.  Until then a pass to QQR is review.
sed 's/^\(.\{33\}\)KWI/\1QQR/' good.bcbp >qqr.bcbp
transaction "review:BOARDING_DESTINATION_MISMATCH:boarding: airport not in the table" "an airport the signed table v1 lacks" serial:card hid:good.mrz serial:qqr.bcbp
{ cat airports.txt; echo "QQR KW another test airport"; } | LC_ALL=C sort >airports2.txt
"$issuer" airports dom airports2.txt >airports.out || fail "qrdesk-issuer airports (v2): $(cat airports.out)"
"$issuer" publish dom repo3 >/dev/null || fail "qrdesk-issuer publish with the table v2"
mkdir -p staging/stick/qrdesk
"$issuer" bundle dom staging/stick/qrdesk/airports.qrbundle --docs repo3/airports.cose --desk BIND-1 >bundle.out ||
	fail "qrdesk-issuer bundle: $(cat bundle.out)"
mv staging/stick media/
usb_stage() { status | jq -r '.usb.stage // "none"'; }
wait_for 20 '[[ $(usb_stage) == applied ]]'
check '[[ $(usb_stage) == applied ]] && "$ctl" status --socket control.sock | grep -qE "^USB: applied: .*airport[a-z ]* v2"' "the stick's bundle applied: $("$ctl" status --socket control.sock | grep USB)"
wait_for 10 'grep -q "airports: the signed table version 2 ([0-9]* airports) is in use" daemon.log'
check 'grep -q "airports: the signed table version 2 ([0-9]* airports) is in use" daemon.log' "the desk uses the table from the stick: $(grep 'airports:' daemon.log | tail -n1)"
check '[[ $(sqlite3 desk-audit.db "SELECT a.reason FROM audit a JOIN audit_detail d ON d.audit_id = a.id WHERE d.event = '"'usb-update'"' ORDER BY a.id DESC LIMIT 1") == applied ]]' "the stick's update is in the audit log"
transaction "valid:OK:" "the pass to QQR with the table from the stick" hid:card serial:good.mrz hid:qqr.bcbp

# --- the boarding pass as a picture: PDF417 and Aztec through the image folder ------------------
# The folder's worker decodes each picture (zxing-cpp reads PDF417 and Aztec once binding is on)
# and hands the text to the same pipeline: a picture first waits for its card like any pass.
if [[ $pictures == 1 ]]; then
	# A still gets every look of both decoders: under ASan on a loaded machine that can pass
	# the 10 s above, so these transactions get two minutes ([binding] timeout_s is live).
	sed -i 's/^timeout_s = 10$/timeout_s = 120/' desk.conf
	reloads=$(grep -c "reloaded configuration" daemon.log)
	kill -HUP "$daemon_pid"
	wait_for 60 "[[ \$(grep -c 'reloaded configuration' daemon.log) -gt $reloads ]]" ||
		fail "no reload after SIGHUP: $(tail -n 3 daemon.log)"
	transaction "valid:OK:" "card, passport, boarding pass as a PDF417 picture" serial:card hid:good.mrz image:good-pdf417.png
	transaction "valid:OK:" "boarding pass as an Aztec picture, card, passport" image:good-aztec.png hid:card serial:good.mrz
	transaction "valid:OK:" "card, boarding pass as a QR picture, passport" serial:card image:good-qr.png hid:good.mrz
	transaction "review:BOARDING_NAME_MISMATCH:boarding: name" "another name on a PDF417 picture" hid:card serial:good.mrz image:othername-pdf417.png
	transaction "review:BOARDING_DESTINATION_MISMATCH:boarding: final_arrival" "a flight to the UAE on an Aztec picture" image:elsewhere-aztec.png serial:card hid:good.mrz
	from_pictures=$(grep -cE "binding: .* taken from images|^<[0-9]>verdict .* source=images " daemon.log)
	check '[[ $(ls inbox/done | wc -l) == 5 && $from_pictures == 5 ]]' \
		"the five pictures were read from the folder ($from_pictures documents) and filed: $(ls inbox/done | tr '\n' ' ')"
fi

# [binding] require is live, but the camera's and the folder's decoders are set when they open:
# a reload that turns binding off says they read PDF417 and Aztec until the next restart.
sed -i 's/^require = .*/require = card/' desk.conf
kill -HUP "$daemon_pid"
wait_for 10 'grep -q "require = card: the camera and the image folder read PDF417 and Aztec until the next restart" daemon.log'
check 'grep -q "require = card: the camera and the image folder read PDF417 and Aztec until the next restart" daemon.log' "a reload that turns binding off names the decoders' formats: $(grep 'PDF417' daemon.log | tail -n1)"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=""
check '[[ $rc == 0 ]]' "clean exit (got $rc)"
check '! grep -qiE "sanitizer|runtime error" daemon.log' "no sanitizer reports"
# The database file itself, byte for byte (and a WAL if one is left): no passport number,
# no MRZ, no PNR, no name, not even on a free page.
pnr=$(cut -c24-30 good.bcbp | sed 's/ *$//')
check '[[ ${#pnr} -ge 5 ]] && ! cat desk.db* desk-audit.db* | grep -aqE "A12345678|P<BGD|<<RAHIMA|KHATUN|$pnr"' "no passport number, MRZ, name or PNR ($pnr) in the database files (the store and the audit log)"
# --- the demo's bound traveller (scripts/demo.sh --bind) -------------------------------------
printf '[binding]\nrequire = card+passport+boarding\n[kiosk]\nenabled = false\n' >demobind.conf
mkfifo demo.in
"$issuer" demo "$work/demo" >/dev/null # the demo data: made by the issuer, read by qrdeskd
"$qrdeskd" --demo --demo-dir "$work/demo" --config "$work/demobind.conf" <demo.in >/dev/null 2>demo.log &
daemon_pid=$!
exec 4>demo.in
wait_for 30 '[[ -S demo/control.sock && -s demo/cards/bound.bcbp ]]'
check '[[ -s demo/cards/bound.txt && -s demo/cards/bound.mrz && -s demo/cards/bound.bcbp ]]' "the demo writes a card, an MRZ and a boarding pass ($(ls demo/cards | tr '\n' ' '))"
cat demo/cards/bound.txt demo/cards/bound.mrz demo/cards/bound.bcbp >&4
wait_for 10 'grep -qE "^<[0-9]>verdict 1 " demo.log'
check 'grep -qE "^<[0-9]>verdict 1 valid OK " demo.log && [[ $(grep -c "binding: .* taken from" demo.log) == 2 ]]' "the demo's bound traveller: two documents taken, one green verdict ($(grep -E "verdict|binding" demo.log | tr '\n' '|'))"
exec 4>&-
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_pid=""

echo "binding: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
