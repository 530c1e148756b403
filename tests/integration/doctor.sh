#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# qrdeskctl doctor against a real qrdeskd (replay source, simulated indicators,
# the kiosk on a free port on 127.0.0.1) and a real store: each check's line
# and the exit code by the worst line, healthy and then broken one way at a
# time.  The system probes go through their seams: timedatectl and systemctl
# are small scripts first on PATH, QRDESK_DOCTOR_SYSFS is a folder with or
# without rtc0.
# Usage: doctor.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-doctor-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	exec 7>&- 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
. "$here/checks.sh"

"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
port=$(free_port)
write_conf() { # write_conf FILE [extra lines]
	cat >"$1" <<CONF
[desk]
desk_id = DOC-1
store = $work/desk.db
control_socket = $work/control.sock
[indicators]
backend = sim
sim_record = $work/indicators.log
[replay]
fifo = $work/codes.fifo
[kiosk]
enabled = true
address = 127.0.0.1
port = $port
$2
CONF
}
write_conf desk.conf ""

# The probes' seams: a synchronised clock, a running kiosk unit, an RTC.
mkdir -p fake sys/class/rtc/rtc0
echo rtc-test >sys/class/rtc/rtc0/name
printf '#!/bin/sh\necho "${CLOCK_SYNC:-yes}"\n' >fake/timedatectl
printf '#!/bin/sh\n[ "$1" = is-active ] && echo "${KIOSK_UNIT:-active}"\n[ "$1" = show ] && echo "${KIOSK_CONDITION:-yes}"\n' >fake/systemctl
printf '#!/bin/sh\nexit 1\n' >fake/chronyc # not installed, as far as doctor can tell
chmod +x fake/*
export PATH=$work/fake:$PATH QRDESK_DOCTOR_SYSFS=$work/sys
me=$(id -un)

doctor() { # doctor ARGS...: JSON in doc.json, exit code in $rc
	"$ctl" doctor --config "$work/desk.conf" --user "$me" --json "$@" >doc.json 2>doc.err
	rc=$?
}
line() { # line CHECK: "status detail" of that check
	jq -r --arg c "$1" '.checks[] | select(.check == $c) | "\(.status) \(.detail)"' doc.json | head -1
}

# --- no daemon yet ----------------------------------------------------------------
doctor
check '[[ $rc == 2 ]]' "no daemon: exit 2 (got $rc)"
check '[[ $(line daemon) == "fail qrdeskd does not answer on $work/control.sock"* ]]' "daemon line: $(line daemon)"
check '[[ $(line kiosk) == "fail http://127.0.0.1:$port/: "* ]]' "kiosk unreachable: $(line kiosk)"
check 'jq -e ".checks[] | select(.check == \"daemon\") | .fix | test(\"systemctl start qrdeskd\")" doc.json >/dev/null' "a failed line carries its fix"

# --- the daemon running ------------------------------------------------------------
"$qrdeskd" --config desk.conf 2>daemon.log &
daemon_pid=$!
wait_for 20 '[[ -S control.sock ]] && [[ -p codes.fifo ]]' || { fail "daemon did not start"; cat daemon.log >&2; exit 1; }
exec 7>codes.fifo
doctor
check '[[ $rc == 1 ]] && [[ $(jq -r .worst doc.json) == warn ]]' "healthy but sync off and simulated lights: exit 1, worst warn (got $rc): $(jq -c '[.checks[] | select(.status != "ok") | .check]' doc.json)"
check '[[ $(line config) == "ok "* ]]' "config: $(line config)"
check '[[ $(line daemon) == "ok qrdeskd answers on $work/control.sock (desk DOC-1)" ]]' "daemon: $(line daemon)"
check '[[ $(line clock) == "ok synchronised (timedatectl)" ]]' "clock: $(line clock)"
check '[[ $(line rtc) == "ok rtc0 present (rtc-test)" ]]' "rtc: $(line rtc)"
check '[[ $(line root) == "ok root key pinned in $work/desk.db" ]]' "root: $(line root)"
for doc in keyset revocations policy timestamp; do
	check '[[ $(line "trust $doc") == "ok version 1, signed "*" h ago, expires "* ]]' "trust $doc: $(line "trust $doc")"
done
check '[[ $(line sync) == "warn off: trust data comes only by import or USB" ]]' "sync: $(line sync)"
check '[[ $(line upload) == "ok off"* ]]' "upload: $(line upload)"
check '[[ $(line gpio) == "warn indicators simulated"* ]]' "gpio: $(line gpio)"
check '[[ $(line kiosk) == "ok http://127.0.0.1:$port/ answers" ]]' "kiosk: $(line kiosk)"
check '[[ $(line "kiosk unit") == "ok qrdesk-kiosk.service is running" ]]' "kiosk unit: $(line "kiosk unit")"
check '[[ $(line disk) == "ok "*" MiB free for the store and its WAL in $work" || $(line disk) == "warn "* ]]' "disk: $(line disk)"
check '[[ $(line permissions) == "ok $me can read"* ]]' "permissions: $(line permissions)"
check '[[ $(line "source replay") == "ok running" || $(line "source fifo") == "ok running" || $(jq "[.checks[] | select(.check | startswith(\"source \")) | select(.status == \"ok\")] | length" doc.json) -ge 1 ]]' "the daemon's sources: $(jq -c '[.checks[] | select(.check | startswith("source "))]' doc.json)"

# The same as text: one line per check, ok/warn/fail first, the fix under each warning.
"$ctl" doctor --config "$work/desk.conf" --user "$me" >doc.txt 2>&1
rc=$?
check '[[ $rc == 1 ]] && grep -q "^warn  sync: off" doc.txt && grep -A1 "^warn  sync:" doc.txt | grep -q "^      fix: set \[sync\] url" && tail -1 doc.txt | grep -q "doctor: warnings"' "text output (rc $rc): $(cat doc.txt)"

# --- broken, one thing at a time ---------------------------------------------------
CLOCK_SYNC=no doctor
check '[[ $(line clock) == "warn not known to be synchronised (timedatectl: NTPSynchronized=no)" ]]' "clock not synchronised: $(line clock)"
rm -rf sys/class/rtc/rtc0
doctor
check '[[ $(line rtc) == "warn no real-time clock"* ]]' "no RTC: $(line rtc)"
KIOSK_UNIT=failed doctor
check '[[ $(line "kiosk unit") == "warn qrdesk-kiosk.service is failed"* ]]' "kiosk unit down: $(line "kiosk unit")"
KIOSK_UNIT=inactive doctor
check '[[ $(line "kiosk unit") == "warn qrdesk-kiosk.service is inactive: the page is not on the desk'"'"'s screen" ]]' "kiosk unit stopped: $(line "kiosk unit")"
# A desk without a display: the unit's condition (a DRM card) skipped it.
KIOSK_UNIT=inactive KIOSK_CONDITION=no doctor
check '[[ $(line "kiosk unit") == "warn qrdesk-kiosk.service was skipped: no screen (no DRM card in /dev/dri, or no virtual terminals)" ]] &&
	jq -e ".checks[] | select(.check == \"kiosk unit\") | .fix | test(\"connect the desk.s screen\")" doc.json >/dev/null' "kiosk unit skipped: $(line "kiosk unit")"

# Trust data near and past its expiry (the issuer's default validity is days, not hours).
exp=$(jq -r '.keyset.expires_at' <("$ctl" show --store desk.db --json))
doctor --now "$((exp - 3600))"
check '[[ $(line "trust keyset") == "warn version 1 expires soon"* ]]' "keyset expiring: $(line "trust keyset")"
doctor --now "$((exp + 60))"
check '[[ $rc == 2 ]] && [[ $(line "trust keyset") == "fail version 1 EXPIRED"* ]]' "keyset expired, exit 2 (got $rc): $(line "trust keyset")"

# The daemon's user cannot enter the folder of the store (mktemp's 0700).
"$ctl" doctor --config "$work/desk.conf" --user nobody --json >doc.json 2>/dev/null
rc=$?
check '[[ $rc == 2 ]] && [[ $(line "permissions config") == "fail nobody cannot enter $work (mode 700"* ]]' "permissions for nobody (rc $rc): $(line "permissions config")"
"$ctl" doctor --config "$work/desk.conf" --user no-such-user-here --json >doc.json 2>/dev/null
check '[[ $(line permissions) == "fail no user no-such-user-here" ]]' "a missing user: $(line permissions)"

# A configured scanner that is not there.
write_conf scanner.conf $'[serial]\ndevice = /dev/serial/by-id/usb-not-plugged-in'
"$ctl" doctor --config "$work/scanner.conf" --user "$me" --json >doc.json 2>/dev/null
rc=$?
check '[[ $rc == 2 ]] && [[ $(line "serial scanner") == "fail /dev/serial/by-id/usb-not-plugged-in: No such file or directory" ]]' "missing scanner (rc $rc): $(line "serial scanner")"

# A bad configuration file.
printf '[desk]\nstore = desk.db\n' >bad.conf
"$ctl" doctor --config "$work/bad.conf" --user "$me" --json >doc.json 2>/dev/null
check '[[ $(line config) == "fail $work/bad.conf: store = '"'"'desk.db'"'"': expected an absolute path"* ]]' "bad config: $(line config)"

# A usage error.
"$ctl" doctor --frobnicate >/dev/null 2>&1
rc=$?
check '[[ $rc == 64 ]]' "unknown option: exit 64 (got $rc)"

kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
echo "doctor: $passes checks passed, $failures failed"
((failures == 0))
