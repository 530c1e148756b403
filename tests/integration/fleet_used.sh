#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet's "already used" list reaches a desk that never saw the card: from
# the back office's fleet database (rows as ingest loads them), `qrdesk-issuer
# used publish` makes used.cbor (each card's first green: pseudonym, time, desk
# DAC-T1-07), `qrdesk-issuer publish` signs it as used.cose, a desk
# (CGP-T1-02, the same deployment audit key) imports it, and the real qrdeskd
# answers that card ALREADY_USED naming DAC-T1-07 and the date, while another
# card passes; the status shows the list's version and age.  Then the next
# list comes by USB as a used-delta alone: applied on its base (the new card
# ALREADY_USED after a restart), one starting at another version refused whole.
# Usage: fleet_used.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-fleet-used-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
. "$here/checks.sh"
die() { echo "FAIL: $*" >&2; exit 1; }

"$issuer" init dom >/dev/null || die "init"
card used 2611000031
card fresh 2611000032
python3 -c 'import os; print(os.urandom(32).hex())' >bo-audit.key
chmod 600 bo-audit.key
first=$(($(date +%s) - 3 * 86400))
pseudonym() { # CLEARANCE_NO: its audit pseudonym in hex (HMAC-SHA-256 under the key, 16 bytes)
	python3 -c 'import hashlib, hmac, sys
key = bytes.fromhex(open("bo-audit.key").read().strip())
print(hmac.new(key, b"qrdesk-audit-v1:" + sys.argv[1].encode(), hashlib.sha256).hexdigest()[:32])' "$1"
}
# The back office's fleet database as ingest leaves it (include/qrdesk/fleetdb.h): the card
# green at DAC-T1-07 three days ago and again at CGP-T1-01 later, the fresh card only refused,
# an expired card green.
mkdir up
"$issuer" ingest dom up >/dev/null || die "ingest"
u=$(pseudonym 2611000031) f=$(pseudonym 2611000032) x=$(pseudonym 2611000033)
sqlite3 dom/fleet.db "INSERT INTO scan (desk, row_id, seq, time_us, verdict, reason,
	clearance_hash, latency_us, card_expires_at) VALUES
	('DAC-T1-07', 1, 1, ${first}000000, 'valid', 'OK', X'$u', 900, $((first + 90 * 86400))),
	('CGP-T1-01', 1, 1, $((first + 3600))000000, 'valid', 'OK', X'$u', 900, $((first + 90 * 86400))),
	('CGP-T1-01', 2, 1, $((first + 3700))000000, 'invalid', 'REVOKED', X'$f', 900, NULL),
	('CGP-T1-01', 3, 1, $((first + 3800))000000, 'valid', 'OK', X'$x', 900, $((first + 60)))" ||
	die "fleet.db rows"
out=$("$issuer" used publish dom 2>&1)
check '[[ $out == "used: 1 card passed"* && -s dom/used.cbor ]]' "used publish: the first greens of cards not expired: $out"
"$issuer" publish dom repo >/dev/null || die "publish"
check '[[ -s repo/used.cose ]]' "publish signs used.cbor as used.cose"
"$ctl" provision --store desk.db --root dom/root.pub --audit-key bo-audit.key \
	--desk CGP-T1-02 >/dev/null 2>&1 || die "provision"
out=$("$ctl" import --store desk.db repo/*.cose 2>&1) || die "import: $out"
check '[[ $out == *"used version 1 installed"*"1 entries"* ]]' "the desk installs the list: $out"

desk_conf CGP-T1-02
"$qrdeskd" --config desk.conf 2>daemon.log &
daemon_pid=$!
wait_for 300 '[[ -S control.sock ]] && "$ctl" status --socket control.sock >/dev/null 2>&1' ||
	die "qrdeskd did not come up"

verdict=$("$ctl" scan --socket control.sock "$(cat used.txt)")
day=$(date -u -d "@$first" +%Y-%m-%d)
check '[[ $(jq -r .reason <<<"$verdict") == ALREADY_USED ]]' "a card used at another desk: $verdict"
check '[[ $(jq -r .verdict <<<"$verdict") == review ]]' "ALREADY_USED is review"
check '[[ $(jq -r .first_use.desk <<<"$verdict") == DAC-T1-07 ]]' "the verdict names the first desk"
check '[[ $(jq -r .first_use.time_us <<<"$verdict") == "${first}000000" ]]' "the first use's time"
check '[[ $(jq -r .detail <<<"$verdict") == *"${day}T"*"DAC-T1-07"* ]]' "the detail has the date and desk"
verdict=$("$ctl" scan --socket control.sock "$(cat fresh.txt)")
check '[[ $(jq -r .reason <<<"$verdict") == OK ]]' "a card not in the list passes: $verdict"
status=$("$ctl" status --socket control.sock --json)
check '[[ $(jq -r .trust.used.version <<<"$status") == 1 ]]' "the status shows the list's version"
check '[[ $(jq -r .trust.used.age_seconds <<<"$status") -ge 0 ]]' "the status shows the list's age"

# ---- the next list by USB: a bundle carrying only used-delta.cose ----------------------------
# Another card passes at CGP-T1-01; the back office publishes again (used-delta.cose from version
# 1); a stick carries the delta alone to the desk, which applies it through the import path; a
# delta whose base the desk does not hold is refused, the bundle whole, nothing changed.
kill -TERM "$daemon_pid" && wait "$daemon_pid"
daemon_pid=""
card later 2611000034
l=$(pseudonym 2611000034)
sqlite3 dom/fleet.db "INSERT INTO scan (desk, row_id, seq, time_us, verdict, reason,
	clearance_hash, latency_us, card_expires_at) VALUES
	('CGP-T1-01', 4, 2, $((first + 7200))000000, 'valid', 'OK', X'$l', 900, $((first + 90 * 86400)))" ||
	die "fleet.db row 4"
"$issuer" used publish dom >/dev/null || die "used publish 2"
"$issuer" publish dom repo2 >/dev/null || die "publish 2"
check '[[ -s repo2/used-delta.cose ]]' "the second publish writes used-delta.cose: $(ls repo2)"
"$issuer" publish dom repo3 >/dev/null || die "publish 3"
"$issuer" publish dom repo4 >/dev/null || die "publish 4"
mkdir -p stick-old/qrdesk stick/qrdesk
"$issuer" bundle dom stick-old/qrdesk/used.qrbundle --docs repo4/used-delta.cose --desk CGP-T1-02 >/dev/null ||
	die "bundle of the delta 3 -> 4"
before=$(sqlite3 desk.db "SELECT type, version, hex(sha256) FROM documents ORDER BY type")
out=$("$ctl" usb --store desk.db --desk CGP-T1-02 stick-old 2>&1)
rc=$?
after=$(sqlite3 desk.db "SELECT type, version, hex(sha256) FROM documents ORDER BY type")
check '[[ $rc != 0 && $out == *"used-delta 3 -> 4 does not apply to installed version 1"* && $before == "$after" ]]' "a bundle whose used-delta starts at another version is refused, nothing changed ($rc: $out)"
"$issuer" bundle dom stick/qrdesk/used.qrbundle --docs repo2/used-delta.cose --desk CGP-T1-02 >/dev/null ||
	die "bundle of the delta 1 -> 2"
out=$("$ctl" usb --store desk.db --desk CGP-T1-02 stick 2>&1)
rc=$?
check '[[ $rc == 0 ]]' "the desk applies the bundle's used-delta ($rc: $out)"
check '[[ $(sqlite3 desk.db "SELECT version FROM documents WHERE type = 9") == 2 ]]' "the used list is version 2 after the stick"
"$qrdeskd" --config desk.conf 2>>daemon.log &
daemon_pid=$!
wait_for 300 '[[ -S control.sock ]] && "$ctl" status --socket control.sock >/dev/null 2>&1' ||
	die "qrdeskd did not come up again"
verdict=$("$ctl" scan --socket control.sock "$(cat later.txt)")
check '[[ $(jq -r .reason <<<"$verdict") == ALREADY_USED && $(jq -r .first_use.desk <<<"$verdict") == CGP-T1-01 ]]' "the card from the delta is ALREADY_USED naming CGP-T1-01: $verdict"
verdict=$("$ctl" scan --socket control.sock "$(cat used.txt)")
check '[[ $(jq -r .first_use.desk <<<"$verdict") == DAC-T1-07 ]]' "the first card still names DAC-T1-07: $verdict"
echo "fleet_used: $passes checks passed, $failures failed"
((failures == 0))
