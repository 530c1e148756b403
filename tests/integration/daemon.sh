#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real qrdeskd with the replay source (a FIFO), simulated indicators and
# a temporary store: a script of cards in, and the verdicts, indicator
# transitions and audit rows checked; SIGHUP with a new revocation list;
# SIGTERM in the middle of a burst loses no audit row; the control socket.
# Usage: daemon.sh QRDESKD QRDESKCTL QRDESK-ISSUER [WRAPPER...]
# (WRAPPER, e.g. "valgrind --error-exitcode=99 ...", runs the daemon under it.)
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
shift 3
wrapper=("$@")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-daemon-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	exec 7>&- 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"

# Slow machines (valgrind) get more time for everything.
slow=1
[[ ${#wrapper[@]} -gt 0 ]] && slow=10
# The hold-off must outlast the time between two reads of one burst even on a loaded
# machine under valgrind, or a repeated card is judged twice ("already used").
holdoff_s=$((2 * slow))
. "$here/checks.sh"

# --- trust data: a back office, a desk store -------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
card valid 2611000001
card valid2 2611000002
card revoked 2611000003
card expired 2611000004 ".issued_at = $(($(date +%s) - 40000)) | .expires_at = $(($(date +%s) - 3600))"
card burst 2611000005
"$issuer" revoke dom 2611000003 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
valid=$(cat valid.txt)
tampered="${valid:0:$((${#valid} - 20))}0${valid:$((${#valid} - 19))}"
[[ $tampered == "$valid" ]] && tampered="${valid:0:$((${#valid} - 20))}1${valid:$((${#valid} - 19))}"

cat >desk.conf <<CONF
[desk]
desk_id = TEST-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = info
firmware_release = $work/firmware-release
[pipeline]
holdoff_ms = $((holdoff_s * 1000))
already_used_check = true
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
enabled = false
CONF

# --- configuration checks -------------------------------------------------------------
"$qrdeskd" --check-config desk.conf >/dev/null 2>&1
check '[[ $? == 0 ]]' "--check-config of a good file"
printf '[desk]\ndesk_id = ok\nholdoff = 5\n[indicators]\nbackend = laser\n' >bad.conf
"$qrdeskd" --check-config bad.conf >check.out 2>&1
rc=$?
check '[[ $rc == 78 ]]' "--check-config of a bad file exits 78 (got $rc)"
check 'grep -q "bad.conf:3:" check.out && grep -q "bad.conf:5:" check.out' "--check-config names file:line for each bad line: $(cat check.out)"

# A relative path in the file is an error with its line; the command-line overrides
# count as at a start (a relative --store is taken from the working directory).
printf '[desk]\nstore = desk.db\n' >relative.conf
"$qrdeskd" --check-config relative.conf >check.out 2>&1
rc=$?
check '[[ $rc == 78 ]] && grep -q "relative.conf:2: store = .desk.db.: expected an absolute path" check.out' "--check-config refuses a relative path with file:line (rc $rc): $(cat check.out)"
"$qrdeskd" --check-config desk.conf --store other.db >check.out 2>&1
rc=$?
check '[[ $rc == 0 ]]' "--check-config applies --store as a start would (rc $rc): $(cat check.out)"
"$qrdeskd" --check-config desk.conf --desk 'no spaces' >check.out 2>&1
rc=$?
check '[[ $rc == 64 ]] && grep -q -- "--desk" check.out' "--check-config checks --desk too (rc $rc): $(cat check.out)"
"$qrdeskd" --unit-devices desk.conf --store other.db --log-level loud >check.out 2>&1
rc=$?
check '[[ $rc == 64 ]] && grep -q -- "--log-level" check.out' "--unit-devices checks the overrides too (rc $rc): $(cat check.out)"

printf '[indicators]\nbackend = gpiod\nchip = gpiochip3\n' >gpio.conf
"$qrdeskd" --unit-devices gpio.conf >dropin.conf
check '[[ $? == 0 ]] && grep -qx "DeviceAllow=/dev/gpiochip3 rw" dropin.conf && [[ $(grep -c "^DeviceAllow=" dropin.conf) == 2 ]]' "--unit-devices allows the configured chip only: $(cat dropin.conf)"

# --- start ------------------------------------------------------------------------------
start_daemon() {
	"${wrapper[@]}" "$qrdeskd" --config desk.conf 2>>daemon.log &
	daemon_pid=$!
	wait_for 20 '[[ -S control.sock ]] && [[ -p codes.fifo ]]' || { fail "daemon did not start"; cat daemon.log >&2; exit 1; }
	exec 7>codes.fifo
}
# Verdict lines look like "<6>verdict 7 invalid BAD_PREFIX source=fifo ...".
verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }
wait_verdicts() { wait_for 20 "[[ \$(verdicts) -ge $1 ]]" || fail "waited for $1 verdicts, have $(verdicts)"; }
# Every stop must be clean: exit 0 (a valgrind wrapper exits 99 on any error or leak).
stop_daemon() { # stop_daemon WHAT
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	local rc=$?
	daemon_pid=""
	check "[[ $rc == 0 ]]" "$1: clean exit after SIGTERM (got $rc)"
}
start_daemon

# --- the script of cards ---------------------------------------------------------------
{
	echo "$valid"
	echo "$tampered"
	cat revoked.txt
	cat expired.txt
	echo "$valid"                # the same card again within the hold-off: no second verdict
	echo "this is not a card"
	head -c 10240 /dev/zero | tr '\0' 'A'; echo
	printf 'BC1:\x01\x02\xff\xfe binary\n'
	echo ""                      # an empty line: ignored
} >&7
wait_verdicts 7
sleep $holdoff_s.2                     # past the hold-off
echo "$valid" >&7                      # a second presentation: already used
wait_verdicts 8

seq=$(grep -E '^<[0-9]>verdict [0-9]+ ' daemon.log | sed -E 's/^<[0-9]>verdict [0-9]+ ([a-z]+) ([A-Z0-9_]+) .*/\1:\2/' | tr '\n' ' ')
expected="valid:OK invalid:BAD_SIGNATURE invalid:CARD_REVOKED invalid:CARD_EXPIRED invalid:BAD_PREFIX invalid:TOO_LARGE invalid:BAD_BASE45 review:ALREADY_USED "
check '[[ $seq == "$expected" ]]' "verdict sequence
  got:  $seq
  want: $expected"

check 'grep "ALREADY_USED" daemon.log | grep -qE "detail=first passed at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z at desk TEST-1"' "the log gives the first use in ISO 8601: $(grep ALREADY_USED daemon.log | head -1)"
rows=$(sqlite3 desk-audit.db "SELECT verdict || ':' || reason FROM audit ORDER BY id" | tr '\n' ' ')
check '[[ $rows == "$expected" ]]' "audit rows match the verdicts: $rows"
check '[[ $(sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE desk <> '"'"'TEST-1'"'"' OR latency_us < 0") == 0 ]]' "audit rows carry desk and latency"
check '! cat <(sqlite3 desk.db .dump) <(sqlite3 desk-audit.db .dump) | grep -q "MD ABDUR RAHIM\|A12345678"' "no name or passport number in the store"
hash=$(sqlite3 desk-audit.db "SELECT hex(clearance_hash) FROM audit WHERE id = 1")
want_hash=$(printf 'qrdesk-audit-v1:%s' 2611000001 | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(cat audit.key)" | sed 's/.*= //' | cut -c1-32 | tr a-f A-F)
check '[[ $hash == "$want_hash" && $(stat -c %a audit.key) == 600 ]]' "audit row holds the keyed pseudonym (HMAC-SHA-256 under the desk's audit key, made mode 0600 at first start) of the clearance number"

# Indicators: which LED lit, in order (the sim records every transition).
wait_for 10 '[[ $(tail -n1 indicators.log | cut -d" " -f2-) == "0 0 0 0" ]]'
leds=$(awk '{ c = $2 ? "G" : $3 ? "R" : $4 ? "A" : "-"; if (c != last && c != "-") printf "%s", c; last = c }' indicators.log)
check '[[ $leds == GRRRRRRA ]]' "indicator colours in order: $leds (want GRRRRRRA)"
beeps=$(awk 'NR > 1 && $5 == 1 && prev == 0 { n++ } { prev = $5 } END { print n + 0 }' indicators.log)
check '[[ $beeps -ge 3 ]]' "the buzzer sounded ($beeps beeps)"
check '[[ $(tail -n1 indicators.log | cut -d" " -f2-) == "0 0 0 0" ]]' "all off after the last pattern"

# --- the control socket -------------------------------------------------------------------
"$ctl" status --socket control.sock --json >status.json
check '[[ $(jq -r .desk status.json) == TEST-1 ]]' "status: desk id"
check '[[ $(jq .counters.valid status.json) == 1 && $(jq .counters.invalid status.json) == 6 && $(jq .counters.review status.json) == 1 ]]' "status: counters $(jq -c .counters status.json)"
check '[[ $(jq .counters.duplicates status.json) == 1 && $(jq .counters.empty status.json) == 1 ]]' "status: duplicate and empty counted"
check '[[ $(jq -r .sources[0].state status.json) == running ]]' "status: the FIFO source runs"
check '[[ $(jq .trust.revocations.version status.json) == 1 ]]' "status: revocation list version"
check '[[ $(jq -r .indicators.backend status.json) == sim ]]' "status: indicator backend"
check '[[ $(jq .firmware status.json) == null ]]' "status: no firmware member without a release file (not a desk image)"
"$ctl" status --socket control.sock >status.txt
check 'grep -q "revocations  v1" status.txt' "status (text) shows trust-data versions"
"$ctl" scan --socket control.sock "$(cat valid2.txt)" >scan.json
check '[[ $? == 0 && $(jq -r .reason scan.json) == OK ]]' "qrdeskctl scan through the daemon"

# --- SIGHUP with a new revocation list: the next scan sees it ----------------------------
"$issuer" revoke dom 2611000002 >/dev/null
"$issuer" publish dom repo2 >/dev/null
"$ctl" import --store desk.db repo2/*.cose >/dev/null
check '[[ $? == 0 ]]' "import while the daemon runs"
kill -HUP "$daemon_pid"
wait_for 10 'grep -q "reloaded configuration and trust data" daemon.log'
sleep $holdoff_s.2
"$ctl" scan --socket control.sock "$(cat valid2.txt)" >scan2.json
check '[[ $(jq -r .reason scan2.json) == CARD_REVOKED ]]' "after SIGHUP the new revocation list applies ($(jq -r .reason scan2.json))"
"$ctl" status --socket control.sock --json >status2.json
check '[[ $(jq .trust.revocations.version status2.json) == 2 ]]' "status shows the new list version"

# A broken file on SIGHUP is refused whole; the daemon keeps running as it was.
cp desk.conf desk.conf.good
printf '[pipeline]\nholdoff_ms = soon\n' >>desk.conf
kill -HUP "$daemon_pid"
# The refusal is logged first, then each file:line error: wait for the last of them.
wait_for 10 'grep -q "reloaded trust data (configuration unchanged)" daemon.log'
check 'grep -q "keeping the running one" daemon.log' "a bad reload is refused"
check 'grep -qE "desk.conf:[0-9]+: .*holdoff_ms" daemon.log' "a bad reload names file:line"
"$ctl" status --socket control.sock --json >status3.json
check '[[ $(jq -r .desk status3.json) == TEST-1 ]]' "still serving after a refused reload"
"$ctl" reload --socket control.sock >reload.out
rc=$?
check '[[ $rc == 78 ]] && grep -q "configuration: REFUSED.*desk.conf:[0-9]*: .*holdoff_ms" reload.out && grep -q "trust data: reloaded" reload.out' "qrdeskctl reload says the file was refused (exit $rc: $(cat reload.out))"
mv desk.conf.good desk.conf

# A key that takes effect only at a restart is named on reload, [usb]'s as every other.
cp desk.conf desk.conf.good
printf '[usb]\nmax_bundle_mb = 100\n' >>desk.conf
reloads=$(grep -c "reloaded configuration and trust data" daemon.log)
kill -HUP "$daemon_pid"
wait_for 10 "[[ \$(grep -c 'reloaded configuration and trust data' daemon.log) -gt $reloads ]]" || fail "no reload after SIGHUP"
check 'grep -q "reload: \[usb\] max_bundle_mb changed: it takes effect at the next restart" daemon.log' "a reload names a changed [usb] key"
mv desk.conf.good desk.conf

# --- SIGTERM in the middle of a burst loses no audit row ----------------------------------
# 3000 texts take the daemon over half a second (each verdict commits its row), so the
# signal lands while it is still working through them: checked, not assumed.
burst=3000
before=$(verdicts)
for i in $(seq 1 $burst); do echo "BURST-$i"; done >&7
wait_for 10 "[[ \$(verdicts) -ge $((before + 20)) ]]" || fail "the burst did not start"
at_kill=$(verdicts)
kill -TERM "$daemon_pid"
check "[[ $at_kill -lt $((before + burst)) ]]" "SIGTERM came mid-burst ($((at_kill - before)) of $burst done)"
wait "$daemon_pid"
rc=$?
daemon_pid=""
exec 7>&-
check '[[ $rc == 0 ]]' "exit status 0 after SIGTERM (got $rc)"
logged=$(verdicts)
stored=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
check '[[ $logged == "$stored" ]]' "every verdict has its audit row ($logged logged, $stored stored)"
check '[[ $(tail -n1 indicators.log | cut -d" " -f2-) == "0 0 0 0" ]]' "indicators off after exit"
check 'grep -q "stopped" daemon.log' "clean shutdown logged"
check '! grep -qiE "sanitizer|runtime error|^==[0-9]+==" daemon.log' "no sanitizer or valgrind reports"

# --- a restart finds everything where it was ----------------------------------------------
# The desk image's firmware (docs/image.md): its release file, and the boot-time recorder's
# event beside the store, as a boot after a rolled-back update leaves them.
printf 'VERSION=1.0.0\nCOMPATIBLE=qrdesk-desk-amd64\n' >firmware-release
printf '%s rolled-back slot B did not become ready; slot A runs 1.0.0\n' "$(date +%s)" >firmware-event
fw_rows() { sqlite3 desk-audit.db "SELECT a.reason FROM audit a JOIN audit_detail d ON d.audit_id = a.id WHERE d.event = 'firmware' ORDER BY a.id" | tr '\n' ' '; }
start_daemon
echo "$valid" >&7
wait_for 10 "[[ \$(grep -c '^<[0-9]>verdict 1 ' daemon.log) == 2 ]]"
check 'grep "^<[0-9]>verdict 1 " daemon.log | tail -n1 | grep -q ALREADY_USED' "after a restart the card is still known as used"
"$ctl" status --socket control.sock --json >status4.json
check '[[ $(jq -r .firmware.version status4.json) == 1.0.0 && $(jq -r .firmware.compatible status4.json) == qrdesk-desk-amd64 ]]' "status: the firmware's version $(jq -c .firmware status4.json)"
check '[[ $(jq -r .firmware.last_update.result status4.json) == rolled-back ]] && jq -r .firmware.last_update.text status4.json | grep -q "slot B did not become ready"' "status: the rolled-back update"
check '[[ $(fw_rows) == "rolled-back " && ! -e firmware-event && -s firmware-event.done ]]' "one audit row for the rollback ($(fw_rows)); the event taken"
"$ctl" status --socket control.sock >status4.txt
check 'grep -q "^firmware 1.0.0 (qrdesk-desk-amd64)" status4.txt && grep -q "last update .*: rolled-back: slot B" status4.txt' "status (text) shows the firmware: $(grep -A1 ^firmware status4.txt | tr '\n' ' ')"
# A later event (here taken by a reload rather than a boot) replaces it.
printf '%s updated firmware 2.0.0 on slot B (was 1.0.0 on slot A)\n' "$(date +%s)" >firmware-event
"$ctl" reload --socket control.sock >/dev/null
check '[[ $(fw_rows) == "rolled-back updated " ]] && [[ $("$ctl" status --socket control.sock --json | jq -r .firmware.last_update.result) == updated ]]' "a new event: its own audit row and the status ($(fw_rows))"
stop_daemon "restart"

# --- systemd notification: READY, STATUS, WATCHDOG, RELOADING, STOPPING ----------------------
# A datagram socket stands in for systemd's NOTIFY_SOCKET.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
        out.flush()
' "$work/notify.sock" "$work/notify.log" &
notify_pid=$!
wait_for 10 '[[ -e notify.sock.bound ]]'
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=400000 start_daemon
echo "$(cat valid2.txt)" >&7
wait_for 10 'grep -q "^STATUS=last: #1 " notify.log'
wait_for 5 'grep -q "^WATCHDOG=1" notify.log'
kill -HUP "$daemon_pid"
wait_for 10 'grep -q "^RELOADING=1" notify.log'
stop_daemon "notify"
exec 7>&-
wait_for 5 'grep -q "^STOPPING=1" notify.log'
kill "$notify_pid" 2>/dev/null
for m in READY=1 "STATUS=last: #1 invalid CARD_REVOKED" WATCHDOG=1 RELOADING=1 STOPPING=1; do
	check 'grep -q "^$m" notify.log' "sd_notify sent $m: $(tr '\n' '|' <notify.log)"
done

check '[[ $(fw_rows) == "rolled-back updated " ]]' "restarts audit a firmware event once: $(fw_rows)"
check '! grep -qiE "sanitizer|runtime error|^==[0-9]+==" daemon.log' "no sanitizer or valgrind reports in the whole run"
echo "daemon: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
