#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kiosk on the desk's screen: qrdesk-kiosk.service's own command (the launcher
# firmware/dist/qrdesk-kiosk: cage with Chromium in app mode) against the real qrdeskd, on
# cage's headless backend, as an unprivileged user; grim takes the screen, and the test
# reads its pixels: the idle page's colour, then the red of the INVALID verdict the daemon
# gave for a revoked card, then the green of a valid one.  Then Chromium is killed and the
# launcher must end (Restart=always in the unit starts it again).
#
# Headless only: the environment the unit sets is taken from the unit file itself, plus
# WLR_BACKENDS=headless WLR_RENDERER=pixman (no display, no GPU here) and cage's -r -r
# (see docs/kiosk.md: on the headless backend an unrotated full-screen client is scanned
# out directly and grim copies a stale frame; a 180 degree turn makes cage composite, and
# grim turns the picture back).
#
# Usage: display.sh SOURCE_DIR QRDESKD QRDESKCTL QRDESK-ISSUER OUTDIR
#   OUTDIR/kiosk-display/ gets the screenshots (idle.png, invalid.png, valid.png).
set -uo pipefail
src=$(realpath "$1")
qrdeskd=$(realpath "$2")
ctl=$(realpath "$3")
issuer=$(realpath "$4")
out=$(realpath -m "$5")/kiosk-display
# shellcheck source=../integration/checks.sh
. "$src/tests/integration/checks.sh"

for tool in cage grim chromium Xwayland python3 curl jq; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool is missing: run scripts/install-deps.sh" >&2
		exit 1
	}
done
unit=$src/firmware/dist/qrdesk-kiosk.service
launcher=$src/firmware/dist/qrdesk-kiosk

work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-display-XXXXXX")
chmod 755 "$work"
kiosk_pid=
daemon_pid=
cleanup() {
	[[ -n $kiosk_pid ]] && kill -TERM "$kiosk_pid" 2>/dev/null && wait "$kiosk_pid" 2>/dev/null
	[[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir -p "$out"

# --- what the unit promises --------------------------------------------------------------
for line in 'User=qrdesk-kiosk' 'Restart=always' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'IPAddressAllow=localhost' 'ExecStart=/usr/libexec/qrdesk/qrdesk-kiosk'; do
	check "grep -qx '$line' '$unit'" "$unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
	# The unit as installed but for its launcher's path (not installed on this machine).
	sed "s|^ExecStart=/usr/libexec/qrdesk/qrdesk-kiosk|ExecStart=$launcher|" "$unit" \
		>"$work/qrdesk-kiosk.service"
	verify=$(systemd-analyze verify --man=no "$work/qrdesk-kiosk.service" 2>&1)
	check '[[ -z $verify ]]' "systemd-analyze verify qrdesk-kiosk.service: $verify"
	security=$(systemd-analyze security --offline=true "$work/qrdesk-kiosk.service" 2>&1)
	echo "$security" >"$out/security.txt"
	echo "display: $(grep -o 'Overall exposure level.*' <<<"$security")"
fi

# --- a desk with trust data and two cards -------------------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
card valid 2611000001
card revoked 2611000003
"$issuer" revoke dom 2611000003 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
# The browser's user: cage refuses to run as root; the unit's user is qrdesk-kiosk.
run_as=()
kuser=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
	kuser=nobody
	run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
port=$(free_port)
dport=$(free_port)
mkfifo codes.fifo
cat >desk.conf <<CONF
[desk]
desk_id = DISPLAY-1
store = $work/desk.db
control_socket = $work/control.sock
[indicators]
backend = sim
[replay]
fifo = $work/codes.fifo
[kiosk]
address = 127.0.0.1
port = $port
idle_ms = 600000
# README.Debian's set-up: the display's own listener, for the kiosk browser's user only.
display_port = $dport
display_user = $kuser
CONF
"$qrdeskd" --config desk.conf >daemon.log 2>&1 &
daemon_pid=$!
exec 3<>codes.fifo
metrics() { curl -sf "http://127.0.0.1:$port/metrics"; }
wait_for 20 'metrics >/dev/null' || {
	fail "the daemon's kiosk never answered"
	tail daemon.log >&2
	exit 1
}

check '[[ $(curl -sf "http://127.0.0.1:$port/api/status" | jq .kiosk.display_port) == "$dport" ]]' \
	"the daemon's display listener is not on port $dport"

# --- the unit's command, as its own unprivileged user -------------------------------------
# The unit's Environment= lines, then what stands in for systemd and the display.
mapfile -t unit_env < <(sed -n 's/^Environment=//p' "$unit")
mkdir -m 700 runtime state
[[ $(id -u) -eq 0 ]] && chown nobody:nogroup runtime state
kenv=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${unit_env[@]}"
	XDG_RUNTIME_DIR="$work/runtime" STATE_DIRECTORY="$work/state"
	WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1
	QRDESK_KIOSK_URL="http://127.0.0.1:$dport/" QRDESK_KIOSK_CAGE_FLAGS="-r -r"
	QRDESK_KIOSK_START="$work/start.html")
# A copy of the launcher in the work folder: the source tree may lie where the browser's
# user cannot reach (a checkout under /root).
install -m 0755 "$launcher" "$work/qrdesk-kiosk"
# Its first page, from the disk as the package installs it: the page through it.
install -m 0644 "$src/firmware/kiosk/start.html" "$work/start.html"
"${run_as[@]}" "${kenv[@]}" "$work/qrdesk-kiosk" >kiosk.log 2>&1 &
kiosk_pid=$!

# The page is up once it holds an event stream to the daemon (on the display listener).
wait_for 90 'metrics | grep -qx "qrdesk_kiosk_event_streams [1-9][0-9]*"' || {
	fail "Chromium under cage never opened the page's event stream"
	grep -v dbus kiosk.log | tail -20 >&2
	exit 1
}
socket=$(cd runtime && ls wayland-* 2>/dev/null | grep -v lock | head -1)
shot() { # shot NAME: the screen as NAME.ppm (and NAME.png for people)
	"${run_as[@]}" env XDG_RUNTIME_DIR="$work/runtime" WAYLAND_DISPLAY="$socket" grim -t ppm - >"$1.ppm" &&
		"${run_as[@]}" env XDG_RUNTIME_DIR="$work/runtime" WAYLAND_DISPLAY="$socket" grim - >"$out/$1.png"
}
# share NAME RRGGBB: the per cent of the screen's pixels within 12 of that colour.
share() {
	python3 - "$1.ppm" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
magic, dims, depth, px = data.split(b"\n", 3)
w, h = map(int, dims.split())
want = bytes.fromhex(sys.argv[2])
n = hit = 0
for i in range(0, w * h * 3, 3 * 7):
    n += 1
    if all(abs(px[i + k] - want[k]) <= 12 for k in range(3)):
        hit += 1
print(hit * 100 // n)
PY
}
# wait_colour NAME RRGGBB: screenshots until most of the screen is that colour.
wait_colour() {
	local deadline=$((SECONDS + 30)) got=0
	while ((SECONDS < deadline)); do
		shot "$1" && got=$(share "$1" "$2") && ((got >= 50)) && break
		sleep 0.2
	done
	echo "display: $1: $got% of the screen is #$2"
	((got >= 50))
}
# Colours from firmware/kiosk/kiosk.css: --bg (idle), --invalid, --valid.
check 'wait_colour idle 13202f' "the idle page is not on the screen"
check '[[ $(share idle b3131b) -lt 5 ]]' "the idle screen is already red"
echo "$(cat revoked.txt)" >&3
check 'wait_colour invalid b3131b' "the daemon's INVALID verdict is not on the screen"
echo "$(cat valid.txt)" >&3
check 'wait_colour valid 0b7a35' "the daemon's VALID verdict is not on the screen"
check 'grep -qE "verdict [0-9]+ invalid CARD_REVOKED" daemon.log' "the daemon logged no INVALID verdict"

# --- a crash: the launcher (cage) ends with its browser, for systemd to restart ----------
browser=$(pgrep -P "$kiosk_pid" -x chromium | head -1)
check '[[ -n $browser ]]' "no Chromium under cage"
if [[ -n $browser ]]; then
	kill -KILL "$browser"
	check 'wait_for 20 "! kill -0 $kiosk_pid 2>/dev/null"' "cage did not end when Chromium died"
	wait "$kiosk_pid" 2>/dev/null
	kiosk_pid=
fi

echo "display: $passes checks passed, $failures failed (user $kuser, screenshots in $out)"
((failures == 0))
