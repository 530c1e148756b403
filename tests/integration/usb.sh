#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# USB sticks simulated by folders (the automount case): qrdeskctl usb runs the
# daemon's own usb_process_stick() on them (docs/usb-bundle.md).  Checks: a
# good bundle is applied (documents and the settings drop-in), and one carrying
# a revoked issuance window (revoke-range) refuses that window's cards; a tampered,
# truncated, wrong-role, older (documents and bundle), oversized, unknown
# document type, wrong-desk, forbidden-setting, expired and two-at-once
# bundle are each refused with the store unchanged (sqlite3 .dump without the
# audit rows, which record the refusal) and the reason in the audit log;
# macOS ._* files and a stick with no qrdesk/ folder are handled; an export
# is written as the desk's signed batches (one chain: a second export continues
# it), opened by the issuer, unpacked as DESK/SEQUENCE.cose and ingested with
# every row once (and not exported twice; other bytes under a name refused); RAUC bundles go to a fake `rauc` on PATH that records its
# arguments, and a missing rauc is reported with nothing else done.
# With QRDESKD: the daemon in automount mode notices a stick (a folder moved
# into its watch folder), applies it, reloads, plays the update pattern and
# shows the result in `qrdeskctl status`; a refused stick plays the failure
# pattern.  A stick with a large firmware bundle (338 MB, sparse, made here)
# whose `rauc install` is held until the test lets it go: meanwhile the loop
# keeps sending systemd's watchdog pings (a notify socket of the test's own),
# answers `qrdeskctl status` (showing the stick being read) and judges a scan.
# Usage: usb.sh QRDESK-ISSUER QRDESKCTL [QRDESKD]
set -uo pipefail

issuer=$(realpath "$1")
ctl=$(realpath "$2")
qrdeskd=${3:+$(realpath "$3")}
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-usb-XXXXXX")
daemon_pid=
notify_pid=
cleanup() {
	if [[ -n $daemon_pid ]]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	if [[ -n $notify_pid ]]; then
		kill "$notify_pid" 2>/dev/null
		wait "$notify_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

# The desk's configuration: its id is the one its batches carry (qrdeskctl usb reads it).
printf '[desk]\ndesk_id = DESK-7\n' >desk.conf
NOW=1795000000
DAY=86400
at() { echo $((NOW + $1)); }
iss() { "$issuer" --now "$(at 0)" "$@" >/dev/null || fail "issuer $*"; }
# usb DIR [options]: process a stick; output in out.txt, exit code in $rc
usb() {
	local dir=$1
	shift
	"$ctl" usb --now "$(at 0)" --store desk.db --config "$work/desk.conf" --desk DESK-7 --dropin "$work/usb.conf" "$@" \
		"$work/$dir" >out.txt 2>err.txt
	rc=$?
}
dump() { sqlite3 desk.db .dump | grep -v '^INSERT INTO audit'; }
last_audit() { sqlite3 desk-audit.db "SELECT coalesce(d.event, 'verdict') || ' ' || a.reason FROM audit a LEFT JOIN audit_detail d ON d.audit_id = a.id ORDER BY a.id DESC LIMIT 1"; }
stick() { # NAME: an empty stick with a qrdesk/ folder
	rm -rf "$1"
	mkdir -p "$1/qrdesk"
}

# ---- a back office, a provisioned desk at key set v1 ------------------------
# made 60 days ago, so its keys can sign bundles dated in the past
"$issuer" --now "$(at -60*DAY)" init bo >/dev/null || fail init
iss publish bo repo1
"$ctl" provision --store desk.db --root bo/root.pub >/dev/null || fail provision
"$ctl" import --now "$(at 0)" --store desk.db repo1/*.cose >/dev/null || fail "import v1"
iss revoke bo 2600000999
iss publish bo repo2

# ---- refusals: each leaves the store as it was -------------------------------
# refuse NAME EXPECTED-REASON: process stick NAME, expect a refusal naming the reason
refuse() {
	local name=$1 reason=$2
	shift 2
	local before after conf_before conf_after
	before=$(dump)
	conf_before=$(cat usb.conf 2>/dev/null)
	usb "$name" "$@"
	after=$(dump)
	conf_after=$(cat usb.conf 2>/dev/null)
	if [[ $rc -eq 0 ]]; then
		fail "$name: accepted ($(cat out.txt))"
	elif [[ "$before" != "$after" ]]; then
		fail "$name: the store changed"
	elif ! grep -q "USB: rejected" out.txt; then
		fail "$name: no 'rejected' headline: $(cat out.txt)"
	elif [[ "$(last_audit)" != *"$reason" ]]; then
		fail "$name: audit says '$(last_audit)', expected $reason"
	elif [[ "$conf_before" != "$conf_after" ]]; then
		fail "$name: the drop-in changed"
	else
		pass
	fi
}

good_bundle() { # OUT [extra issuer options]
	local out=$1
	shift
	iss bundle bo "$out" --docs repo2/keyset.cose repo2/revocations.cose repo2/policy.cose \
		--set pipeline.holdoff_ms=5000 --desk DESK-7 "$@"
}

stick tampered
good_bundle tampered/qrdesk/u.qrbundle
python3 - tampered/qrdesk/u.qrbundle <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-10] ^= 0x01  # inside the signature
open(p, 'wb').write(b)
PY
refuse tampered bad-signature

stick truncated
good_bundle truncated/qrdesk/u.qrbundle
truncate -s -40 truncated/qrdesk/u.qrbundle
refuse truncated bad-format

stick wrongrole
repo_kid=$(jq -r '.keys[] | select(.role == "repository") | .kid' bo/domain.json | head -1)
good_bundle wrongrole/qrdesk/u.qrbundle --key "$repo_kid"
refuse wrongrole wrong-role

stick wrongdesk
iss bundle bo wrongdesk/qrdesk/u.qrbundle --docs repo2/revocations.cose --desk DESK-8
refuse wrongdesk wrong-desk

stick oversized
head -c $((2 * 1024 * 1024)) /dev/urandom >oversized/qrdesk/big.qrbundle
refuse oversized too-large --max-mb 1

stick unknowntype
# a properly signed file that is not a trust document: an export request
iss export-request bo inner.cose --desk DESK-7
iss bundle bo unknowntype/qrdesk/u.qrbundle --docs repo2/revocations.cose inner.cose
refuse unknowntype bad-format

stick forbidden
iss bundle bo forbidden/qrdesk/u.qrbundle --set desk.store=/tmp/evil.db
refuse forbidden wrong-role

stick badvalue
iss bundle bo badvalue/qrdesk/u.qrbundle --set pipeline.holdoff_ms=lots
refuse badvalue bad-format

stick expired
"$issuer" --now "$(at -40*DAY)" bundle bo expired/qrdesk/u.qrbundle --docs repo2/revocations.cose \
	--days 30 >/dev/null || fail "expired bundle"
refuse expired expired

stick two
good_bundle two/qrdesk/a.qrbundle --id a
good_bundle two/qrdesk/b.qrbundle --id b
refuse two bad-argument

# ---- no qrdesk/ folder; only ._* files ---------------------------------------
mkdir -p empty/DCIM
usb empty
if [[ $rc -eq 0 ]] && grep -q "no qrdesk folder" out.txt; then pass; else fail "no folder: $(cat out.txt)"; fi
stick mac
printf 'AppleDouble' >mac/qrdesk/._u.qrbundle
touch mac/qrdesk/.DS_Store
before=$(dump)
usb mac
if [[ $rc -eq 0 ]] && grep -q "2 other files ignored" out.txt && [[ "$(dump)" == "$before" ]]; then
	pass
else
	fail "._* files: $(cat out.txt)"
fi

# ---- the good bundle ----------------------------------------------------------
stick good
good_bundle good/qrdesk/u.qrbundle --id good-1
printf 'AppleDouble' >good/qrdesk/._u.qrbundle
usb good
if [[ $rc -ne 0 ]]; then
	fail "good bundle refused: $(cat out.txt err.txt)"
elif ! grep -q "USB: applied key set v2, revocations v2, policy v2, 1 setting" out.txt; then
	fail "good bundle headline: $(cat out.txt)"
elif [[ "$(sqlite3 desk.db 'SELECT version FROM documents WHERE type = 2')" != 2 ]]; then
	fail "revocations v2 not installed"
elif ! grep -qx 'holdoff_ms = 5000' usb.conf || ! grep -qx '\[pipeline\]' usb.conf; then
	fail "drop-in: $(cat usb.conf)"
elif [[ "$(last_audit)" != "usb-update applied" ]]; then
	fail "audit: $(last_audit)"
else
	pass
fi
# the same stick again: nothing to do
before=$(dump)
usb good
if [[ $rc -eq 0 ]] && grep -q "nothing to do" out.txt && [[ "$(dump)" == "$before" ]]; then pass; else fail "replay: $(cat out.txt)"; fi

# older documents than installed (repo1 after repo2): refused
stick olderdocs
iss bundle bo olderdocs/qrdesk/u.qrbundle --docs repo1/revocations.cose --id older-docs
refuse olderdocs rollback
# an older bundle (made before the applied one) carrying only settings: refused
stick olderbundle
"$issuer" --now "$(at -DAY)" bundle bo olderbundle/qrdesk/u.qrbundle \
	--set pipeline.holdoff_ms=1000 --id older-bundle >/dev/null || fail "older bundle"
refuse olderbundle rollback

# a freshly provisioned desk (root only) takes a bundle whose own key set, verified
# against the root, introduces the update key that signed it
"$ctl" provision --store fresh.db --root bo/root.pub >/dev/null || fail "provision fresh"
if "$ctl" usb --now "$(at 0)" --store fresh.db --config "$work/desk.conf" --dropin "$work/fresh.conf" "$work/good" >out.txt 2>&1 &&
	grep -q "USB: applied key set v2, revocations v2" out.txt; then
	pass
else
	fail "fresh desk: $(cat out.txt)"
fi
# ...but not when that key set is not the root's (a tampered inner key set)
stick freshbad
python3 - repo2/keyset.cose <<'PY' >freshbad-keyset.cose
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-5] ^= 0x01
sys.stdout.buffer.write(b)
PY
iss bundle bo freshbad/qrdesk/u.qrbundle --docs freshbad-keyset.cose repo2/revocations.cose
"$ctl" provision --store fresh2.db --root bo/root.pub >/dev/null
if ! "$ctl" usb --now "$(at 0)" --store fresh2.db --config "$work/desk.conf" "$work/freshbad" >out.txt 2>&1 &&
	grep -q "rejected: no pinned root or key-set key verifies" out.txt; then
	pass
else
	fail "fresh desk, tampered key set: $(cat out.txt)"
fi

# ---- a revoked issuance window (revoke-range) reaches the desk on a stick -------------
# On copies of the back office and the desk, so the versions below stay as they are.
cp -r bo bowin
cp desk.db win.db
iss_kid=$(jq -r '[.keys[] | select(.role == "issuer" and .alg == "EdDSA")][0].kid' bowin/domain.json)
jq -n '{clearance_no: "2611000777", passport_no: "A12345678", name: "RAHIMA KHATUN",
	birth_date: "1994-03-12", sex: "F", destination: "KW", category: "DW",
	employer: "AL FAHAD TRADING CO", agency_licence: "RL-1234", bmet_reg_no: "BMET11223344",
	pdo_completed: true}' >window.json
code_in=$("$issuer" --now "$(at -3600)" sign bowin window.json --key "$iss_kid" 2>/dev/null) || fail "sign (window)"
code_out=$("$issuer" --now "$(at -600)" sign bowin window.json --key "$iss_kid" 2>/dev/null) || fail "sign (after)"
iss revoke-range bowin "$iss_kid" "$(at -7200)" "$(at -1800)" --reason "account misused"
iss publish bowin repowin
stick window
iss bundle bowin window/qrdesk/u.qrbundle --docs repowin/revocations.cose --desk DESK-7 --id window-1
"$ctl" usb --now "$(at 0)" --store win.db --config "$work/desk.conf" --dropin "$work/win.conf" "$work/window" >out.txt 2>&1
rc=$?
reason_of() { "$ctl" check --store win.db --json --now "$(at 0)" "$1" | jq -r .reason; }
if [[ $rc -ne 0 ]] || ! grep -q "USB: applied revocations v3" out.txt; then
	fail "the window's bundle: $(cat out.txt)"
elif [[ $(reason_of "$code_in") != ISSUANCE_REVOKED || $(reason_of "$code_out") != OK ]]; then
	fail "after the window's bundle: $(reason_of "$code_in"), $(reason_of "$code_out")"
else
	pass
fi

# ---- export ---------------------------------------------------------------------
# The rows not yet delivered, as the desk's signed batches (the upload's format).
stick export
iss export-request bo export/qrdesk/export-request --desk DESK-7
uncollected=$(sqlite3 desk-audit.db 'SELECT count(*) FROM audit WHERE uploaded_at IS NULL')
usb export
files=(export/qrdesk/export/*.qrlog)
if [[ $rc -ne 0 || ${#files[@]} -ne 1 || ! -s ${files[0]} || ${files[0]} != */DESK-7-1.qrlog ]]; then
	fail "export not written: $(cat out.txt err.txt)"
elif ! "$issuer" open-export bo "${files[0]}" >rows.jsonl 2>head.json; then
	fail "open-export: $(cat head.json)"
elif [[ $(wc -l <rows.jsonl) -ne $uncollected ]]; then
	fail "export holds $(wc -l <rows.jsonl) rows, $uncollected were uncollected"
elif [[ "$(jq -r .desk head.json)" != DESK-7 || "$(jq -c .batches head.json)" != "[1]" ]] || ! jq -s -e 'any(.[]; .source == "usb" and .reason == "applied")' rows.jsonl >/dev/null; then
	fail "export content: $(cat head.json)"
elif [[ $(sqlite3 desk-audit.db 'SELECT count(*) FROM audit WHERE uploaded_at IS NULL OR collected_at IS NULL') -ne 1 ]]; then
	# only the export's own audit row, written after the export, is left
	fail "rows not marked delivered"
elif ls export/qrdesk/export/.*.tmp >/dev/null 2>&1; then
	fail "a temporary file was left"
else
	pass
fi
# The back office unpacks the batches under the upload's names and ingests them: the desk
# registered with its own key (made at provisioning), every row loaded once.
pub=$("$ctl" enroll --store desk.db | sed -n 's/^public key: //p')
"$issuer" desk add bo DESK-7 "$pub" >/dev/null || fail "desk add"
out=$("$issuer" open-export bo "${files[0]}" --batches sticks 2>&1)
if [[ $? -ne 0 || ! -s sticks/DESK-7/1.cose || $out != *"1 written, 0 there already"* ]]; then
	fail "open-export --batches: $out"
else
	pass
fi
out=$("$issuer" ingest bo sticks 2>&1)
if [[ $? -ne 0 || $out != *"1 batch, $uncollected rows loaded; 0 loaded before; 0 refused"* ]]; then fail "ingest the stick: $out"; else pass; fi
# A second export continues the chain (batch 2 names batch 1); unpacked twice and ingested
# twice, nothing is loaded twice.
stick export1b
iss export-request bo export1b/qrdesk/export-request --desk DESK-7
usb export1b
"$issuer" open-export bo export1b/qrdesk/export/*.qrlog --batches sticks >/dev/null 2>&1
out=$("$issuer" open-export bo export1b/qrdesk/export/*.qrlog --batches sticks 2>&1)
if [[ $rc -ne 0 || ! -s export1b/qrdesk/export/DESK-7-2.qrlog || $out != *"0 written, 1 there already"* ]]; then
	fail "second export: $(cat out.txt) / $out"
else
	pass
fi
out=$("$issuer" ingest bo sticks 2>&1)
if [[ $? -ne 0 || $out != *"1 batch, 1 row loaded; 1 loaded before; 0 refused"* ]]; then fail "ingest the second stick: $out"; else pass; fi
delivered=$(sqlite3 desk-audit.db 'SELECT count(*) FROM audit WHERE uploaded_at IS NOT NULL')
loaded=$(sqlite3 bo/fleet.db "SELECT count(*) || ' ' || count(DISTINCT row_id) FROM scan WHERE desk = 'DESK-7'")
if [[ $loaded != "$delivered $delivered" ]]; then fail "fleet rows $loaded, desk delivered $delivered"; else pass; fi
# Other bytes under a batch's name: refused, not overwritten.
printf 'x' >>sticks/DESK-7/2.cose
out=$("$issuer" open-export bo export1b/qrdesk/export/*.qrlog --batches sticks 2>&1)
if [[ $? -eq 0 || $out != *"other bytes"* ]]; then fail "a fork overwritten: $out"; else pass; fi
# tampered export: refused by the tool
cp "${files[0]}" bad.qrlog && printf 'x' >>bad.qrlog
if "$issuer" open-export bo bad.qrlog >/dev/null 2>&1; then fail "tampered export opened"; else pass; fi
# an export request for another desk: refused, nothing written or marked
stick export2
iss export-request bo export2/qrdesk/export-request --desk DESK-8
usb export2
if [[ $rc -ne 0 && ! -e export2/qrdesk/export ]] && [[ "$(last_audit)" == "usb-export wrong-desk" ]]; then
	pass
else
	fail "export for another desk: $(cat out.txt)"
fi
# An export request for "any" desk with a mistyped --desk: refused, nothing written or
# marked (the batches go into DESK-7's one chain); without --desk: the configured id.
stick export4
iss export-request bo export4/qrdesk/export-request --desk any
waiting=$(sqlite3 desk-audit.db 'SELECT count(*) FROM audit WHERE uploaded_at IS NULL')
"$ctl" usb --now "$(at 0)" --store desk.db --config "$work/desk.conf" --desk DESK-8 "$work/export4" >out.txt 2>err.txt
rc=$?
if [[ $rc -ne 78 || -e export4/qrdesk/export || $(cat err.txt) != *"this desk is DESK-7"* ]] ||
	[[ $(sqlite3 desk-audit.db 'SELECT count(*) FROM audit WHERE uploaded_at IS NULL') -ne $waiting ]]; then
	fail "a mistyped --desk: rc $rc $(cat out.txt err.txt)"
else
	pass
fi
"$ctl" usb --now "$(at 0)" --store desk.db --config "$work/desk.conf" "$work/export4" >out.txt 2>err.txt
rc=$?
files4=(export4/qrdesk/export/DESK-7-*.qrlog)
if [[ $rc -ne 0 || ! -s ${files4[0]} ]] || ! "$issuer" open-export bo "${files4[0]}" >/dev/null 2>head.json ||
	[[ "$(jq -r .desk head.json)" != DESK-7 ]]; then
	fail "an export for any desk: $(cat out.txt err.txt) / $(cat head.json 2>/dev/null)"
else
	pass
fi
"$ctl" usb --store desk.db --config "$work/nothere.conf" "$work/export4" >out.txt 2>err.txt
rc=$?
if [[ $rc -ne 78 || $(cat err.txt) != *"nothere.conf"* ]]; then fail "no configuration: rc $rc $(cat err.txt)"; else pass; fi
# a request signed by the repository key: refused
stick export3
"$issuer" --now "$(at 0)" bundle bo x.qrbundle --docs repo2/revocations.cose --key "$repo_kid" >/dev/null
iss export-request bo export3/qrdesk/export-request --desk any
# swap in a request signed by the wrong role: reuse the wrong-role bundle bytes
cp wrongrole/qrdesk/u.qrbundle export3/qrdesk/export-request
usb export3
if [[ $rc -ne 0 && ! -e export3/qrdesk/export ]] && [[ "$(last_audit)" == "usb-export wrong-role" ]]; then pass; else fail "wrong-role export: $(cat out.txt) / $(last_audit)"; fi

# ---- RAUC ---------------------------------------------------------------------------
mkdir -p fakebin
cat >fakebin/rauc <<SH
#!/bin/sh
printf '%s\n' "\$@" >"$work/rauc-args"
echo "  0% Installing"
echo "100% Installing done."
exit 0
SH
chmod +x fakebin/rauc
stick fw
printf 'not really a bundle' >fw/qrdesk/update-1.2.raucb
PATH="$work/fakebin:$PATH" usb fw --firmware
if [[ $rc -eq 0 ]] && [[ "$(cat rauc-args 2>/dev/null)" == "$(printf 'install\n%s' "$work/fw/qrdesk/update-1.2.raucb")" ]] && grep -q "Installing done" err.txt; then
	pass
else
	fail "rauc hand-off: $(cat out.txt err.txt rauc-args 2>/dev/null)"
fi
rm -f rauc-args
# rauc absent: a clear message, nothing run (a PATH of an empty folder: the machine
# running the test may have the real rauc installed, for the image test)
mkdir -p norauc
PATH="$work/norauc" usb fw --firmware
if [[ $rc -ne 0 ]] && grep -q "rauc is not installed" out.txt && [[ ! -e rauc-args ]]; then pass; else fail "no rauc: $(cat out.txt)"; fi
# rauc failing: its last line is reported
printf '#!/bin/sh\necho "Failed to verify bundle"\nexit 1\n' >fakebin/rauc
PATH="$work/fakebin:$PATH" usb fw --firmware
if [[ $rc -ne 0 ]] && grep -q "Failed to verify bundle" out.txt; then pass; else fail "rauc failure: $(cat out.txt)"; fi

# ---- the daemon, automount mode ------------------------------------------------------
wait_for() { # wait_for SECONDS CONDITION
	local deadline=$((SECONDS + $1))
	while ! eval "$2"; do
		((SECONDS > deadline)) && return 1
		sleep 0.1
	done
}
if [[ -n $qrdeskd ]]; then
	real=$(date +%s)
	"$issuer" --now "$real" publish bo repo3 >/dev/null || fail "publish repo3"
	rm -f usb.conf
	mkdir -p media
	cat >d.conf <<CONF
[desk]
desk_id = DESK-7
store = $work/desk.db
control_socket = $work/control.sock
[indicators]
backend = sim
sim_record = $work/indicators.log
[kiosk]
enabled = false
[usb]
mode = automount
watch_dir = $work/media
dropin = $work/usb.conf
CONF
	# the drop-in takes only allowed keys, checked by --check-config as at start
	printf '[desk]\nstore = /tmp/evil.db\n' >usb.conf
	if "$qrdeskd" --check-config d.conf 2>check.txt; then
		fail "a forbidden key in the drop-in was accepted"
	elif grep -q "usb.conf:2: key 'store' in \[desk\] cannot be set by a USB drop-in" check.txt; then
		pass
	else
		fail "drop-in check: $(cat check.txt)"
	fi
	rm -f usb.conf
	# The daemon's systemd: a notify socket recording what it is told, with the watchdog
	# on (a ping each half second); and a `rauc` that installs only when let go.
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$work/notify.sock" "$work/notify.log" &
	notify_pid=$!
	wait_for 10 '[[ -S notify.sock ]]' || fail "no notify socket"
	mkdir -p slowbin
	mkfifo rauc-go
	cat >slowbin/rauc <<SH
#!/bin/sh
echo "  0% Installing"
: >"$work/rauc-started"
read go <"$work/rauc-go"
echo "100% Installing done."
SH
	chmod +x slowbin/rauc
	PATH="$work/slowbin:$PATH" NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=1000000 \
		"$qrdeskd" --config d.conf 2>daemon.log &
	daemon_pid=$!
	wait_for 20 '[[ -S control.sock ]]' || fail "daemon did not start: $(cat daemon.log)"
	usb_stage() { "$ctl" status --socket control.sock --json 2>/dev/null | jq -r '.usb.stage // "none"'; }
	# a good stick: made elsewhere, then moved in (as an automounter's folder appears)
	mkdir -p staging/stick1/qrdesk
	"$issuer" --now "$real" bundle bo staging/stick1/qrdesk/u.qrbundle --id daemon-1 \
		--docs repo3/keyset.cose repo3/revocations.cose --set pipeline.holdoff_ms=4000 >/dev/null
	mv staging/stick1 media/
	if wait_for 20 '[[ $(usb_stage) == applied ]]'; then
		if ! "$ctl" status --socket control.sock | grep -q "^USB: applied: applied key set v3, revocations v3, 1 setting"; then
			fail "status: $("$ctl" status --socket control.sock | grep USB)"
		elif ! grep -q "reloaded configuration and trust data" daemon.log; then
			fail "no reload after the bundle"
		elif [[ "$("$ctl" status --socket control.sock --json | jq .trust.revocations.version)" != 3 ]]; then
			fail "the daemon's trust view was not reloaded"
		else
			pass
		fi
	else
		fail "the daemon did not apply the stick: $(cat daemon.log)"
	fi
	# the update pattern: green blinks (green on, red off, buzzer off) after the bundle
	lines_before=$(wc -l <indicators.log)
	rm -rf media/stick1
	wait_for 10 '[[ $(usb_stage) == removed ]]' && pass || fail "removal not shown"
	# a refused stick (another desk's bundle): the failure pattern (red, buzzer)
	mkdir -p staging/stick2/qrdesk
	"$issuer" --now "$real" bundle bo staging/stick2/qrdesk/u.qrbundle --id daemon-2 \
		--docs repo3/policy.cose --desk DESK-9 >/dev/null
	mv staging/stick2 media/
	if wait_for 20 '[[ $(usb_stage) == rejected ]]' &&
		wait_for 10 "[[ \$(tail -n +$((lines_before + 1)) indicators.log | awk '\$3 == 1' | wc -l) -ge 1 ]]"; then
		pass
	else
		fail "refused stick: stage $(usb_stage), indicators: $(tail -n 5 indicators.log)"
	fi
	# A large firmware bundle, held in `rauc install` by the test: the loop stays alive.
	rm -rf media/stick2
	wait_for 10 '[[ $(usb_stage) == removed ]]' || fail "stick2 removal not shown"
	mkdir -p staging/stick3/qrdesk
	truncate -s 338M staging/stick3/qrdesk/firmware-9.9.raucb
	mv staging/stick3 media/
	pings() { grep -c '^WATCHDOG=1' notify.log; }
	if ! wait_for 30 '[[ -e rauc-started ]]'; then
		fail "rauc was not started for the large bundle: $(tail -n 3 daemon.log)"
	else
		before=$(pings)
		if ! wait_for 20 '(( $(pings) >= before + 3 ))'; then
			fail "no watchdog pings while the stick was processed ($(pings) after $before)"
		elif [[ $(usb_stage) != reading ]] || ! "$ctl" status --socket control.sock | grep -q "^USB: reading: .*Installing"; then
			fail "status while rauc runs: $("$ctl" status --socket control.sock | grep USB)"
		elif "$ctl" scan --socket control.sock "BC1:not base45" >scan.txt 2>&1; [[ $? -ne 1 ]] || [[ $(jq -r .reason scan.txt) != BAD_BASE45 ]]; then
			fail "a scan while the stick was processed: $(cat scan.txt)"
		else
			pass
		fi
	fi
	timeout 10 sh -c "echo go >'$work/rauc-go'" || fail "rauc could not be let go"
	if wait_for 20 '[[ $(usb_stage) == applied ]]' &&
		"$ctl" status --socket control.sock | grep -q "firmware-9.9.raucb installed"; then
		pass
	else
		fail "large firmware bundle: stage $(usb_stage): $("$ctl" status --socket control.sock | grep USB)"
	fi
	kill "$daemon_pid"
	wait "$daemon_pid" && pass || fail "the daemon exited with status $? (see daemon.log)"
	daemon_pid=
	kill "$notify_pid" 2>/dev/null
	wait "$notify_pid" 2>/dev/null
	notify_pid=
fi

echo "usb: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
