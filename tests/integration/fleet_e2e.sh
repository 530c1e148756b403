#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet end to end (docs/fleet.md): two real qrdeskd desks, DAC-T1-07 (A)
# and CGP-T1-02 (B), each provisioned with the deployment's audit key and its
# own enrolled key, registered in the back office's desk list, syncing from
# and uploading to one nginx (TLS, WebDAV) on 127.0.0.1.  A card passes at A;
# A's signed batches reach the storage; the back office ingests both desks'
# batches, publishes the used list; B syncs and the same card is ALREADY_USED
# at B naming desk A and the date; B's row reaches the storage too and
# `qrdesk-issuer audit query` shows the card at both desks.  A second round:
# another card passes at A, the back office publishes again, and B (one
# version behind) takes the used list as a DELTA (used-delta.cose, not the
# snapshot), after which that card too is ALREADY_USED at B naming A and the
# date.  A then exports on a USB stick while it uploads: one ingest of the
# storage and the stick loads every row of A once, its chain unbroken.  Every
# wait is on
# a file or a status, never a fixed sleep; the uploads' period (10 s, the
# least) bounds the run to a few tens of seconds.
# Usage: fleet_e2e.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-fleet-e2e-XXXXXX")
declare -A daemon_pid=()
cd "$work"
. "$here/checks.sh"
. "$here/nginx_dav.sh"
cleanup() {
	local d
	for d in "${!daemon_pid[@]}"; do
		kill -KILL "${daemon_pid[$d]}" 2>/dev/null
	done
	nginx_stop
	cd / && rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${KEEP:-} ]] && trap - EXIT
die() { echo "FAIL: $*" >&2; exit 1; }

now=$(date +%s)
"$issuer" --now "$now" init dom >/dev/null || die "init"
card used 2611000041
card other 2611000042
card second 2611000043
python3 -c 'import os; print(os.urandom(32).hex())' >bo-audit.key
chmod 600 bo-audit.key
test_ca || die "test CA"
nginx_start || exit 1
base="https://127.0.0.1:$nginx_port"

# ---- two desks, enrolled and registered -----------------------------------------------------
A=DAC-T1-07 B=CGP-T1-02
for d in "$A" "$B"; do
	mkdir "$d"
	"$ctl" provision --store "$d/desk.db" --root dom/root.pub --audit-key bo-audit.key \
		--desk "$d" >/dev/null 2>&1 || die "provision $d"
	pub=$("$ctl" enroll --store "$d/desk.db" | sed -n 's/^public key: //p')
	[[ -n $pub ]] || die "enroll $d"
	"$issuer" desk add dom "$d" "$pub" >/dev/null || die "desk add $d"
done
"$issuer" --now "$now" publish dom repo1 >/dev/null || die "publish repo1"
cp repo1/* www/repo/

for d in "$A" "$B"; do
	cat >"$d/desk.conf" <<CONF
[desk]
desk_id = $d
store = $work/$d/desk.db
control_socket = $work/$d/control.sock
[indicators]
backend = sim
[kiosk]
enabled = false
[sync]
url = $base/repo
ca_file = $work/ca.pem
period_s = 3600
jitter_s = 0
retry_s = 600
[upload]
url = $base/audit
ca_file = $work/ca.pem
period_s = 10
timeout_s = 30
CONF
	"$qrdeskd" --config "$d/desk.conf" 2>"$d/daemon.log" &
	daemon_pid[$d]=$!
done
st() { "$ctl" status --socket "$1/control.sock" --json 2>/dev/null; }
scan() { "$ctl" scan --socket "$1/control.sock" "$(cat "$2.txt")" 2>/dev/null; }
# uploaded DESK: every audit row of the desk is stored, and at least one verdict row.
uploaded() {
	[[ $(sqlite3 "$1/desk-audit.db" "SELECT count(*) = 0 FROM audit WHERE uploaded_at IS NULL;
		SELECT count(*) > 0 FROM audit WHERE verdict IS NOT NULL" 2>/dev/null | tr -d '\n') == 11 ]]
}
for d in "$A" "$B"; do
	wait_for 60 '[[ $(st "$d" | jq -r .sync.last.status) == ok ]]' ||
		{ cat "$d/daemon.log" >&2; die "desk $d: no first sync: $(st "$d" | jq -c .sync)"; }
done

# ---- the card passes at A; another card at B ----------------------------------------------------
v=$(scan "$A" used)
check '[[ $(jq -r '"'"'.verdict + ":" + .reason'"'"' <<<"$v") == valid:OK ]]' "the card passes at $A: $v"
v=$(scan "$B" other)
check '[[ $(jq -r '"'"'.verdict + ":" + .reason'"'"' <<<"$v") == valid:OK ]]' "another card passes at $B: $v"
for d in "$A" "$B"; do
	wait_for 120 'uploaded "$d"' || fail "desk $d: rows not uploaded: $(st "$d" | jq -c .sync.upload)"
done
check '[[ -s www/audit/$A/1.cose && -s www/audit/$B/1.cose ]]' "each desk's batches are under its own name: $(cd www/audit && echo */*)"

# ---- the back office: ingest, used list, publish -------------------------------------------------
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"; 0 loaded before; 0 refused"* ]]' "ingest loads both desks' batches ($rc: $out)"
out=$("$issuer" used publish dom 2>&1)
check '[[ $out == "used: 2 cards passed"* ]]' "used publish: both cards' first greens: $out"
"$issuer" --now $((now + 1)) publish dom repo2 >/dev/null || die "publish repo2"
cp repo2/* www/repo/

# ---- B syncs: the card is ALREADY_USED, naming A and the date ------------------------------------
out=$("$ctl" sync --socket "$B/control.sock" 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"used version 1 installed"* ]]' "$B syncs the used list ($rc: $out)"
check '[[ $(st "$B" | jq -r .trust.used.version) == 1 ]]' "$B's status shows the list"
v=$(scan "$B" used)
first_us=$(sqlite3 "$A/desk-audit.db" "SELECT time_us FROM audit WHERE verdict = 'valid' ORDER BY id LIMIT 1")
day=$(date -u -d "@$((first_us / 1000000))" +%Y-%m-%d)
check '[[ $(jq -r '"'"'.verdict + ":" + .reason'"'"' <<<"$v") == review:ALREADY_USED ]]' "the card at $B is ALREADY_USED: $v"
check '[[ $(jq -r .first_use.desk <<<"$v") == "$A" ]]' "the verdict names desk $A"
# The list keeps the first use to the second.
check '[[ $(jq -r .first_use.time_us <<<"$v") == $((first_us / 1000000 * 1000000)) ]]' "the first use's time is A's row's ($first_us): $(jq -c .first_use <<<"$v")"
check '[[ $(jq -r .detail <<<"$v") == *"${day}T"*"$A"* ]]' "the detail has the date and desk"
# And the other way: A syncs and the card B saw is ALREADY_USED at A, naming B.
"$ctl" sync --socket "$A/control.sock" >/dev/null 2>&1
v=$(scan "$A" other)
check '[[ $(jq -r .reason <<<"$v") == ALREADY_USED && $(jq -r .first_use.desk <<<"$v") == "$B" ]]' "the card B saw is ALREADY_USED at $A naming $B: $v"

# ---- B's row reaches the back office: the query shows the card at both desks ---------------------
wait_for 120 '[[ $(sqlite3 "$B/desk-audit.db" "SELECT count(*) FROM audit WHERE reason = '"'"'ALREADY_USED'"'"' AND uploaded_at IS NOT NULL") == 1 ]]' ||
	fail "$B's ALREADY_USED row not uploaded: $(st "$B" | jq -c .sync.upload)"
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"0 refused"* ]]' "the second ingest ($rc: $out)"
out=$("$issuer" audit query dom 2611000041 --audit-key bo-audit.key 2>&1)
rc=$?
check '[[ $rc == 0 && $(grep -c . <<<"$out") == 2 ]]' "the query finds two scans ($rc: $out)"
check '[[ $(sed -n 1p <<<"$out") == *"desk $A  valid OK"* ]]' "first: passed at $A"
check '[[ $(sed -n 2p <<<"$out") == *"desk $B  review ALREADY_USED"* ]]' "then: ALREADY_USED at $B"

# ---- a second round: B, one version behind, takes the used list as a delta -----------------------
v=$(scan "$A" second)
check '[[ $(jq -r '"'"'.verdict + ":" + .reason'"'"' <<<"$v") == valid:OK ]]' "a second card passes at $A: $v"
wait_for 120 'uploaded "$A"' || fail "desk $A: the second card's row not uploaded: $(st "$A" | jq -c .sync.upload)"
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"0 refused"* ]]' "the third ingest ($rc: $out)"
out=$("$issuer" used publish dom 2>&1)
check '[[ $out == "used: 3 cards passed"* ]]' "used publish: three cards now: $out"
"$issuer" --now $((now + 2)) publish dom repo3 >/dev/null || die "publish repo3"
check '[[ -s repo3/used-delta.cose && -s repo3/used.cose ]]' "publish writes the delta beside the snapshot: $(ls repo3)"
cp repo3/* www/repo/
seen=$(wc -l <logs/access.log)
out=$("$ctl" sync --socket "$B/control.sock" 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"used version 2 installed (was 1),"*"as a delta"* ]]' "$B takes the used list as a delta ($rc: $out)"
fetches=$(tail -n +$((seen + 1)) logs/access.log)
check '[[ $fetches == *"GET /repo/used-delta.cose "* && $fetches != *"GET /repo/used.cose "* ]]' "$B fetched the delta, not the snapshot: $(grep -o 'GET /repo/[^ ]*' <<<"$fetches" | tr '\n' ' ')"
check '[[ $(st "$B" | jq -r .trust.used.version) == 2 ]]' "$B's status shows used version 2"
check '[[ $(st "$B" | jq -c '"'"'.sync.last.files[] | select(.document == "used") | [.fetched, .delta]'"'"') == "[true,true]" ]]' "$B's status says the used list came as a delta: $(st "$B" | jq -c .sync.last.files)"
v=$(scan "$B" second)
second_us=$(sqlite3 "$A/desk-audit.db" "SELECT time_us FROM audit WHERE verdict = 'valid' ORDER BY id DESC LIMIT 1")
day=$(date -u -d "@$((second_us / 1000000))" +%Y-%m-%d)
check '[[ $(jq -r '"'"'.verdict + ":" + .reason'"'"' <<<"$v") == review:ALREADY_USED ]]' "the second card at $B is ALREADY_USED: $v"
check '[[ $(jq -r .first_use.desk <<<"$v") == "$A" && $(jq -r .first_use.time_us <<<"$v") == $((second_us / 1000000 * 1000000)) ]]' "it names desk $A and its time: $(jq -c .first_use <<<"$v")"
check '[[ $(jq -r .detail <<<"$v") == *"${day}T"*"$A"* ]]' "the detail has the date and desk: $(jq -r .detail <<<"$v")"
v=$(scan "$B" used)
check '[[ $(jq -r .reason <<<"$v") == ALREADY_USED && $(jq -r .first_use.desk <<<"$v") == "$A" ]]' "the first card is still ALREADY_USED at $B naming $A after the delta: $v"

# ---- A both uploads and exports: one chain, every row once ----------------------------------------
# A USB export at A while its upload runs (qrdeskctl usb: the daemon's own stick code, its own
# store connection): the rows waiting leave on the stick as A's next batches of the same chain
# and the upload goes on after them.  Which way takes a row is a race; a stick that found
# nothing waiting is tried again with a fresh row.  Then the stick's batches are unpacked into the
# storage's folder and one ingest loads every row of A once, its batches 1..N unbroken.
"$issuer" --now "$now" export-request dom request.cose --desk "$A" >/dev/null || die "export-request"
exported() {
	scan "$A" used >/dev/null
	rm -rf "stick-$1" && mkdir -p "stick-$1/qrdesk" && cp request.cose "stick-$1/qrdesk/export-request"
	"$ctl" usb --store "$A/desk.db" --desk "$A" "stick-$1" >"stick-$1.out" 2>&1 &&
		compgen -G "stick-$1/qrdesk/export/$A-*.qrlog" >/dev/null
}
tries=0
wait_for 120 'tries=$((tries + 1)); exported $tries' || fail "no stick export carried a batch: $(cat "stick-$tries.out")"
check 'grep -q "export .*: ok: request .* log rows in batches" "stick-$tries.out"' "the stick took A's waiting rows: $(cat "stick-$tries.out")"
wait_for 120 'uploaded "$A"' || fail "desk $A: rows not delivered after the stick: $(st "$A" | jq -c .sync.upload)"
# Every row A has delivered by now (an event row the daemon adds later may come on top).
desk_rows=$(sqlite3 "$A/desk-audit.db" "SELECT count(*) FROM audit WHERE uploaded_at IS NOT NULL")
out=$("$issuer" open-export dom stick-*/qrdesk/export/*.qrlog --batches www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *" written, 0 there already"* ]]' "the stick's batches unpacked into the storage's folder ($rc: $out)"
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == *"0 refused"* ]]' "one ingest loads stick and upload batches alike ($rc: $out)"
loaded=$(sqlite3 dom/fleet.db "SELECT count(*) || ' ' || count(DISTINCT row_id) FROM scan WHERE desk = '$A'")
check '[[ ${loaded% *} == "${loaded#* }" && ${loaded% *} -ge $desk_rows ]]' "every row of $A loaded once (rows, distinct ids: $loaded; delivered: $desk_rows)"
chain=$(sqlite3 dom/fleet.db "SELECT count(*) || ' ' || max(seq) FROM batch WHERE desk = '$A'")
check '[[ ${chain% *} == "${chain#* }" ]]' "$A's batches 1..N, unbroken: $chain"

# ---- stop --------------------------------------------------------------------------------------------
for d in "$A" "$B"; do
	kill -TERM "${daemon_pid[$d]}"
	wait "${daemon_pid[$d]}"
	rc=$?
	unset "daemon_pid[$d]"
	check '[[ $rc == 0 ]]' "desk $d: clean exit after SIGTERM (got $rc)"
done
echo "fleet_e2e: $passes checks passed, $failures failed"
if ((failures > 0)); then
	for d in "$A" "$B"; do echo "--- $d/daemon.log" >&2; tail -20 "$d/daemon.log" >&2; done
fi
((failures == 0))
