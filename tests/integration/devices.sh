#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real qrdeskd with a serial hand scanner on a pty (tests/integration/
# pty_scanner.py) that is plugged in, pulled out and plugged back while the
# daemon runs, noticed through hot-plug: first with inotify on a private
# device folder, then through udev with a real udevd (started here if none
# runs; that part is skipped, with the reason, where udevd cannot run).
# retry_ms is 10 minutes, so only a hot-plug event can make the daemon open
# the scanner within the few seconds each step allows.
# Usage: devices.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-devices-XXXXXX")
daemon_pid=""
scanner_pid=""
udevd_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	[[ -n $scanner_pid ]] && kill "$scanner_pid" 2>/dev/null
	[[ -n $udevd_pid ]] && kill "$udevd_pid" 2>/dev/null && rm -rf /run/udev
	exec 8>&- 9<&- 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"

. "$here/checks.sh"

# --- trust data ------------------------------------------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
card() { # card NAME CLEARANCE_NO
	jq -n --arg no "$2" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' >"$1.json"
	"$issuer" sign dom "$1.json" 2>/dev/null >"$1.txt"
}
for i in 1 2 3 4 5 6; do card "c$i" "261100010$i"; done
card revoked 2611000199
"$issuer" revoke dom 2611000199 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
to_hex() { od -An -tx1 -v | tr -d ' \n'; }

# --- the scanner and the daemon ----------------------------------------------------------
mkdir dev
mkfifo scanner.in scanner.out
python3 "$here/pty_scanner.py" "$work/dev/scanner0" <scanner.in >scanner.out &
scanner_pid=$!
exec 8>scanner.in 9<scanner.out
scanner() { # scanner COMMAND...: one command, waits for its "ok"
	echo "$*" >&8
	local reply
	read -r -t 10 reply <&9 && [[ $reply == ok ]] || fail "scanner: no answer to '$*'"
}
send_card() { # send_card NAME EOL
	scanner send "$(tr -d '\n' <"$1.txt" | to_hex)" "$2"
}

write_conf() { # write_conf BACKEND
	cat >desk.conf <<CONF
[desk]
desk_id = DEV-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = info
[pipeline]
holdoff_ms = 0
already_used_check = false
[indicators]
backend = sim
[serial]
device = $work/dev/scanner0
baud = 9600
max_line = 1024
retry_ms = 600000
[hotplug]
backend = $1
dev_dir = $work/dev
[kiosk]
enabled = false
CONF
}
start_daemon() {
	: >daemon.log
	"$qrdeskd" --config desk.conf 2>>daemon.log &
	daemon_pid=$!
	wait_for 20 '[[ -S control.sock ]]' || { fail "daemon did not start"; cat daemon.log >&2; exit 1; }
}
stop_daemon() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	local rc=$?
	daemon_pid=""
	check "[[ $rc == 0 ]]" "clean exit after SIGTERM (got $rc)"
	rm -f control.sock
}
status() { "$ctl" status --socket control.sock --json; }
serial_state() { status | jq -r '.sources[] | select(.kind == "serial") | .state'; }
verdicts() { grep -E '^<[0-9]>verdict [0-9]+ ' daemon.log | sed -E 's/^<[0-9]>verdict [0-9]+ ([a-z]+) ([A-Z0-9_]+) .*/\1:\2/' | tr '\n' ' '; }
n_verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }

# One round of plug, scan, pull, plug back, scan: the same for both backends.
plug_round() { # plug_round BACKEND
	local backend=$1
	write_conf "$backend"
	start_daemon
	check '[[ $(serial_state) == absent ]]' "$backend: no scanner yet: absent ($(serial_state))"
	check '[[ $(status | jq -r .hotplug.backend) == "$backend" ]]' "$backend: status names the hot-plug backend ($(status | jq -c .hotplug))"

	scanner plug
	[[ $backend == udev ]] && udev_event
	wait_for 5 '[[ $(serial_state) == running ]]'
	check '[[ $(serial_state) == running ]]' "$backend: plugged in: opened within 5 s though retry_ms is 10 min ($(serial_state))"
	check '[[ $(status | jq .hotplug.events) -ge 1 ]]' "$backend: the event is counted ($(status | jq -c .hotplug))"
	local seen="^add .*scanner0"
	[[ $backend == udev ]] && seen="^add tty /dev/$tty"
	check 'status | jq -r .hotplug.detail | grep -q "$seen"' "$backend: the last event is shown ($(status | jq -r .hotplug.detail))"

	send_card c1 crlf
	send_card revoked lf
	send_card c2 cr
	scanner send "$(head -c 2000 /dev/zero | tr '\0' 'A' | to_hex)" crlf
	wait_for 10 '[[ $(n_verdicts) -ge 3 ]]'
	check '[[ $(verdicts) == "valid:OK invalid:CARD_REVOKED valid:OK " ]]' "$backend: verdicts for CRLF, LF and CR lines ($(verdicts))"
	wait_for 5 '[[ $(status | jq ".sources[] | select(.kind == \"serial\") | .dropped") == 1 ]]'
	check '[[ $(status | jq ".sources[] | select(.kind == \"serial\") | .dropped") == 1 ]]' "$backend: the overlong line is dropped, not verified"

	scanner unplug
	wait_for 5 '[[ $(serial_state) == absent ]]'
	check '[[ $(serial_state) == absent ]]' "$backend: pulled out: absent ($(serial_state))"
	scanner plug
	[[ $backend == udev ]] && udev_event
	wait_for 5 '[[ $(serial_state) == running ]]'
	check '[[ $(serial_state) == running ]]' "$backend: plugged back: running again without a restart ($(serial_state))"
	send_card c3 crlf
	wait_for 10 '[[ $(n_verdicts) -ge 4 ]]'
	check '[[ $(verdicts) == "valid:OK invalid:CARD_REVOKED valid:OK valid:OK " ]]' "$backend: a scan after the re-plug ($(verdicts))"
	stop_daemon
	scanner unplug
}

# --- inotify -------------------------------------------------------------------------------
plug_round inotify

# --- udev ------------------------------------------------------------------------------------
# A tty event as udev broadcasts it.  A pty has no sysfs device, so the event
# is a real one about another tty (udevadm trigger: kernel uevent -> udevd ->
# its netlink group -> our monitor); the daemon reacts to any tty event by
# letting its serial source look again, which is exactly what is under test.
udev_event() {
	udevadm trigger --action=add --subsystem-match=tty --sysname-match="$tty" 2>>udev.log
}
udevd=""
for p in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do [[ -x $p ]] && udevd=$p; done
tty=$(ls /sys/class/tty 2>/dev/null | grep -E '^(ttyS|tty)[0-9]+$' | head -n1)
skip_udev=""
if [[ -z $udevd ]]; then
	skip_udev="systemd-udevd is not installed"
elif [[ $(id -u) != 0 ]]; then
	skip_udev="udevd needs root"
elif [[ -z $tty ]]; then
	skip_udev="no tty in /sys/class/tty to trigger an event for"
elif ! udevadm control --ping 2>/dev/null; then
	# None answers (a stale /run/udev/control left by a killed udevd does not count).
	"$udevd" 2>udevd.log &
	udevd_pid=$!
	wait_for 10 'udevadm control --ping 2>/dev/null' || skip_udev="udevd did not start: $(tail -n3 udevd.log)"
fi
if [[ -n $skip_udev ]]; then
	echo "SKIP udev part: $skip_udev"
else
	plug_round udev
fi
if [[ -n $udevd_pid ]]; then
	kill "$udevd_pid" 2>/dev/null
	wait "$udevd_pid" 2>/dev/null
	udevd_pid=""
	rm -rf /run/udev # as it was: no udevd, so auto mode stays inotify for other tests
fi

echo "quit" >&8
wait "$scanner_pid" 2>/dev/null
scanner_pid=""
echo "devices: $passes checks passed, $failures failed"
((failures == 0))
