#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The attacks of docs/security.md against the real qrdeskd on 127.0.0.1, each
# one a check that failed on the code before the fix:
#  - a local user outside the control group: a clear refusal, the uid logged once;
#  - file names with newlines and escape sequences: never raw on the terminal;
#  - the audit pseudonyms: a brute force of the clearance range recovers nothing;
#  - /api/status without a token: verdict, reason and time only;
#  - qrdeskctl scan: the passport number masked unless --full;
#  - log flooding by unauthenticated requests: a count, not a line each;
#  - the security headers on libmicrohttpd's own error answers;
#  - udev mode: the daemon holds no capability; the mount helper it forks holds
#    CAP_SYS_ADMIN alone, as a user of its own that the daemon's credentials
#    cannot signal or read (as root only: the rest of the time nothing holds any).
# Run as root, the local attacker is "nobody" (setpriv); as another user those
# checks run as that user.
# Usage: security.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-security-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"
chmod 755 "$work" # the unprivileged attacker must reach the socket and the port
. "$here/checks.sh"

# The local attacker: "nobody" when we are root, else ourselves.
as_user=()
if [[ $(id -u) == 0 ]]; then
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
port=$(free_port)

# --- a back office, a desk ---------------------------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
CARD_PNG=1
numbers=(2611000001 2611000002 2611000003 2611000004 2611000005 2611004711 2611999998)
for i in "${!numbers[@]}"; do card "c$i" "${numbers[$i]}"; done
"$issuer" publish dom repo >/dev/null
openssl rand -hex 32 >deployment.key # the back office's audit key for the deployment
"$ctl" provision --store desk.db --root dom/root.pub --audit-key deployment.key >provision.out
check '[[ $(stat -c %a audit.key) == 600 ]] && cmp -s audit.key deployment.key' \
	"provisioning installs the audit key beside the store, mode 0600: $(cat provision.out)"
"$ctl" import --store desk.db repo/*.cose >/dev/null
mkdir inbox

cat >desk.conf <<CONF
[desk]
desk_id = SEC-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = info
[pipeline]
holdoff_ms = 500
[indicators]
backend = sim
valid_ms = 100
invalid_ms = 100
review_ms = 100
beep_ms = 10
gap_ms = 10
[replay]
fifo = $work/codes.fifo
images = $work/inbox
[kiosk]
enabled = true
address = 127.0.0.1
port = $port
technician_token = sekrit-token-for-the-test
CONF

"$qrdeskd" --config desk.conf 2>>daemon.log &
daemon_pid=$!
wait_for 60 '[[ -S control.sock ]] && [[ -p codes.fifo ]] && curl -fs "http://127.0.0.1:$port/api/status" >/dev/null' ||
	{ fail "daemon did not start"; cat daemon.log >&2; exit 1; }
exec 7>codes.fifo
verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }
wait_verdicts() { wait_for 60 "[[ \$(verdicts) -ge $1 ]]" || fail "waited for $1 verdicts, have $(verdicts)"; }

# --- the control socket: a user outside the group ----------------------------------
# The socket file's mode refuses first: the client names the group.
"${as_user[@]}" "$ctl" status --socket control.sock >refused.out 2>&1
rc=$?
check '[[ $rc == 77 ]] && grep -q "permission denied (not in group" refused.out' \
	"a user the socket's mode refuses: permission denied, exit 77 (got $rc: $(cat refused.out))"
# A socket anyone may open (a careless chmod): the daemon itself refuses, says why, logs who.
chmod 666 control.sock
for _ in 1 2 3 4 5; do "${as_user[@]}" "$ctl" status --socket control.sock >refused.out 2>&1; rc=$?; done
check '[[ $rc == 77 ]] && grep -q "permission denied (not root or the daemon" refused.out' \
	"the daemon refuses a peer outside the group with a reason, exit 77 (got $rc: $(cat refused.out))"
if [[ ${#as_user[@]} -gt 0 ]]; then
	nobody=$(id -u nobody)
	check 'grep -q "control: refused uid $nobody" daemon.log' "the refused uid is logged"
	# One line per 10 s: two if a loaded machine spread the five over a boundary.
	check '[[ $(grep -c "control: refused uid" daemon.log) -le 2 ]]' \
		"five refusals in a row: one log line ($(grep -c 'control: refused uid' daemon.log))"
fi

# --- file names reach the terminal escaped ------------------------------------------
evil=$'evil\n<3>verdict 99 valid OK source=forged\e[2J.png'
cp c0.png "inbox/$evil"
wait_verdicts 1
"$ctl" status --socket control.sock >status.txt
check '! grep -q "^<3>verdict" status.txt && ! grep -q $'"'"'\e'"'"' status.txt' \
	"qrdeskctl status: a file name cannot forge a line or send an escape sequence"
check '! grep -qP "\\e" daemon.log && [[ $(grep -c "^<3>verdict 99" daemon.log) == 0 ]]' \
	"the journal: no raw escape, no forged line"

# --- the inbox follows no symbolic link ------------------------------------------------------
mkdir -p outside && cp c6.png outside/card.png
ln -s "$work/outside/card.png" outside/link.png
mv outside/link.png inbox/ # renamed in, as a file copied in whole arrives
wait_for 20 '"$ctl" status --socket control.sock --json | jq -r ".sources[] | select(.name == \"images\") | .detail" | grep -q "link.png"'
"$ctl" status --socket control.sock --json >inbox-status.json
check 'jq -r ".sources[] | select(.name == \"images\") | .detail" inbox-status.json | grep -q "symbolic link"' \
	"a symbolic link in the inbox is refused, not followed: $(jq -c '.sources[1].detail' inbox-status.json)"
check '[[ $(verdicts) == 1 ]]' "no verdict from the link's target ($(verdicts) verdicts)"

# --- the pseudonyms do not reverse -------------------------------------------------------
# c0 was the image above (within the hold-off it would be a duplicate, not a verdict).
for ((i = 1; i < ${#numbers[@]}; i++)); do echo "$(cat "c$i.txt")" >&7; done
wait_verdicts ${#numbers[@]}
"$ctl" status --socket control.sock --json >status.json
curl -fsS "http://127.0.0.1:$port/api/status" >api-status.json
sqlite3 desk-audit.db "SELECT hex(clearance_hash) FROM audit WHERE clearance_hash IS NOT NULL" >audit-hashes.txt
check '[[ $(wc -l <audit-hashes.txt) == ${#numbers[@]} ]]' "the audit rows carry pseudonyms ($(wc -l <audit-hashes.txt))"
# Hash the whole range 2611000000-2611999999 the way the old code did, and look for
# every 16-byte value the desk shows anywhere: the audit log, both status outputs.
cat audit-hashes.txt status.json api-status.json | grep -oiE '[0-9a-f]{32}' | tr A-F a-f | sort -u >seen.txt
recovered=$(python3 - seen.txt <<'PY'
import hashlib, sys
seen = set(open(sys.argv[1]).read().split())
hits = [str(n) for n in range(2611000000, 2612000000)
        if hashlib.sha256(str(n).encode()).hexdigest()[:32] in seen]
print(" ".join(hits))
PY
)
check '[[ -z $recovered && -s seen.txt ]]' "a brute force of 10^6 clearance numbers recovers nothing (recovered: $recovered)"
# A stolen disk: no clearance number, passport number or name in the store or the audit log.
plain=$( (sqlite3 desk.db .dump; sqlite3 desk-audit.db .dump) | grep -oE '2611[0-9]{6}|A12345678|RAHIM|ABDUR' | sort -u | tr '\n' ' ')
check '[[ -z $plain ]] && [[ $(sqlite3 desk-audit.db "SELECT count(*) FROM audit") -ge ${#numbers[@]} ]]' \
	"the store and the audit log hold no clearance number, passport number or name (found: $plain)"
# The local user cannot read the audit key.
check '! "${as_user[@]}" cat audit.key >/dev/null 2>&1 || [[ ${#as_user[@]} == 0 ]]' "a local user cannot read the audit key"
check '[[ $(jq -r .last_verdict.pseudonym status.json) =~ ^[0-9a-f]{32}$ && $(jq -r .last_verdict.clearance_hash status.json) == null ]]' \
	"the control socket's status shows the keyed pseudonym, not the hash"

# --- /api/status without a token: verdict, reason, time only -----------------------
check '[[ $(jq -c "[.last_verdict | keys[]] - [\"seq\",\"verdict\",\"reason\",\"time\"]" api-status.json) == "[]" ]] && [[ $(jq -r .last_verdict.verdict api-status.json) == valid ]]' \
	"/api/status: the last verdict as seq, verdict, reason and time only: $(jq -c .last_verdict api-status.json)"
check '! grep -q "A12345678\|RAHIM\|2611\|pseudonym\|clearance_hash" api-status.json' "/api/status: nothing claim-derived"

# --- qrdeskctl scan masks the passport number unless --full ---------------------------
card masked 2611000100
"$ctl" scan --socket control.sock "$(cat masked.txt)" >scan.json
check '[[ $(jq -r .claims.passport_no scan.json) == "••••5678" ]] && ! grep -q A12345678 scan.json' \
	"qrdeskctl scan: the passport number masked ($(jq -r .claims.passport_no scan.json))"
card full 2611000101
"$ctl" scan --socket control.sock --full "$(cat full.txt)" >scan-full.json
check '[[ $(jq -r .claims.passport_no scan-full.json) == A12345678 ]]' "qrdeskctl scan --full: the whole number"

# --- the kiosk cannot be starved by a local user ------------------------------------------
# As "nobody": 20 connections trickling one header line a second, and 10 event streams.
"${as_user[@]}" /usr/bin/python3 "$here/kiosk_attack.py" "$port" 20 10 16 >attack.out 2>&1 &
attack=$!
wait_for 20 'grep -q ready attack.out' || fail "the attacker did not start: $(cat attack.out)"
sleep 1
page=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/")
check '[[ $page == 200 ]]' "the page loads while a local user attacks (got $page)"
# The display's stream gets in, and a verdict made now reaches it.
# Events, not times: the stream's first status, then the verdict (a hang guard of minutes).
curl -sN --max-time 300 "http://127.0.0.1:$port/events" >display.sse &
sse=$!
wait_for 120 'grep -q "^event: status" display.sse'
card during 2611000200
echo "$(cat during.txt)" >&7
wait_for 120 'grep -q "^event: verdict" display.sse'
kill "$sse" 2>/dev/null
wait "$sse"
check 'grep -q "^event: verdict" display.sse' "the display's event stream runs and carries the verdict made during the attack"
# The stream's status, like /api/status, gives the last verdict as verdict, reason and time only.
stream_keys=$(awk '/^event: status/ { s = 1; next } s && /^data: / { print substr($0, 7); s = 0 }' display.sse |
	jq -c '[.last_verdict // {} | keys[]] - ["seq", "verdict", "reason", "time"]' | sort -u | tr -d '\n')
check '[[ $stream_keys == "[]" ]]' "the event stream's status: nothing claim-derived in last_verdict (extra keys: $stream_keys)"
wait "$attack"
read -r left longest held < <(tail -n1 attack.out)
check '[[ $left == 0 ]] && (( ${longest%.*} <= 10 + 3 ))' \
	"trickled headers: every connection closed within the ${longest}s (request deadline 10 s; left open: $left)"
check 'curl -s "http://127.0.0.1:$port/metrics" | grep -qE "^qrdesk_kiosk_(deadline_closed|client_capped)_total [1-9]"' \
	"/metrics counts the connections closed"

# --- unauthenticated noise: a count, not a line each -----------------------------------
before=$(grep -c "kiosk:" daemon.log)
python3 - "$port" <<'PY'
import socket, sys
for _ in range(500):   # half-sent requests
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half")
    s.close()
PY
for _ in $(seq 300); do echo "url = \"http://127.0.0.1:$port/api/tech/recent\""; done >tech.curl
curl -s -o /dev/null -K tech.curl
sleep 1
after=$(grep -c "kiosk:" daemon.log)
check '(( after - before <= 6 ))' "500 half-sent requests and 300 refused technician requests: $((after - before)) log lines"

# --- udev mode: privileges separated (docs/security.md) -----------------------------------
# A second desk in udev mode, run as root (as systemd's drop-in would run it with
# CAP_SYS_ADMIN): the process that parses HTTP, replies and images holds no capability.
if [[ $(id -u) == 0 ]] && grep -q '^CapEff:.*[1-9a-f]' /proc/self/status; then
	sed -e "s|^control_socket = .*|control_socket = $work/udev.sock|" -e '/^\[kiosk\]/,$d' \
		-e "s|^fifo = .*|fifo = $work/udev.fifo|" -e '/^images = /d' desk.conf >udev.conf
	printf '[usb]\nmode = udev\nmount_dir = %s/usb\nmount_user = nobody\n' "$work" >>udev.conf
	"$qrdeskd" --config udev.conf 2>>udev.log &
	udev_pid=$!
	wait_for 60 'grep -q "ready: desk" udev.log' || fail "the udev-mode desk did not start: $(tail -n3 udev.log)"
	cap() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
	helper=$(cat "/proc/$udev_pid/task/$udev_pid/children" 2>/dev/null | awk '{print $1}')
	# The helper confines itself before it serves: wait for that, not for a time.
	wait_for 60 '[[ -n $helper && $(cap "$helper" CapEff) == 0000000000200000 ]]'
	check '[[ $(cap $udev_pid CapEff) == 0000000000000000 && $(cap $udev_pid CapPrm) == 0000000000000000 && $(cap $udev_pid CapBnd) == 0000000000000000 && $(cap $udev_pid NoNewPrivs) == 1 ]]' \
		"udev mode: qrdeskd holds no capability (CapEff $(cap $udev_pid CapEff), CapBnd $(cap $udev_pid CapBnd))"
	check '[[ -n $helper && $(cap "$helper" CapEff) == 0000000000200000 && $(cap "$helper" CapBnd) == 0000000000200000 ]]' \
		"udev mode: its mount helper (pid ${helper:-none}) holds CAP_SYS_ADMIN alone (CapEff $(cap "${helper:-0}" CapEff 2>/dev/null))"
	check 'grep -q "mount helper (pid $helper) mounts sticks; qrdeskd holds no capability" udev.log' \
		"udev mode: the log says so"
	# The helper is a user of its own; a process with the daemon's credentials (its uid
	# and gid, no capability) can neither signal it nor read it (ptrace's access check).
	nobody=$(id -u nobody)
	duid=$(awk '/^Uid:/ {print $2}' "/proc/$udev_pid/status")
	dgid=$(awk '/^Gid:/ {print $2}' "/proc/$udev_pid/status")
	check '[[ $(awk "/^Uid:/ {print \$2,\$3,\$4,\$5}" "/proc/$helper/status") == "$nobody $nobody $nobody $nobody" && $duid != "$nobody" ]]' \
		"udev mode: the helper runs as nobody ($(grep ^Uid: "/proc/$helper/status" | tr '\t' ' ')), qrdeskd as uid $duid"
	check '[[ $(stat -c "%u %g %a" usb) == "$nobody $dgid 750" ]]' "udev mode: the mount folder is the helper's, group qrdeskd's, 0750: $(stat -c "%U %G %a" usb)"
	as_daemon=(setpriv --reuid="$duid" --regid="$dgid" --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs --)
	check '! "${as_daemon[@]}" kill -0 "$helper" 2>as_daemon.err' "udev mode: the daemon's credentials cannot signal the helper"
	check '! "${as_daemon[@]}" cat "/proc/$helper/environ" >/dev/null 2>as_daemon.err' "udev mode: nor read its /proc environ (ptrace's access check)"
	check '"${as_daemon[@]}" kill -0 "$udev_pid"' "udev mode: (the same credentials can signal qrdeskd itself)"
	kill -TERM "$udev_pid"
	wait "$udev_pid"
	check '[[ ! -e /proc/$helper/status ]] || [[ $(cap "$helper" State) == Z* ]]' "the mount helper ends with the daemon"
else
	echo "security: not root with capabilities: the udev-mode privilege check is not run"
fi

echo "security: $passes passed, $failures failed"
[[ $failures == 0 ]]
