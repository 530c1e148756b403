#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak run (not part of CI): SCANS code texts (default 1,000,000) through the
# real qrdeskd's replay FIFO at full speed; prints the daemon's RSS and open
# file descriptors at the start and after every 100,000 scans.  Target: no
# growth after warm-up.  Figures go in docs/reliability.md.
# Usage: scripts/soak.sh [SCANS]        (builds build/release first)
set -euo pipefail
cd "$(dirname "$0")/.."
scans=${1:-1000000}
step=100000
((scans % step == 0)) || { echo "soak: SCANS must be a multiple of $step" >&2; exit 64; }

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target qrdeskd qrdeskctl qrdesk-issuer >/dev/null
B=$(pwd)/build/release
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-soak-XXXXXX")
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; exec 7>&- 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

# A mix like a busy day: 200 distinct valid cards (seen again: already used),
# revoked, tampered and garbage texts, repeated to 100,000 lines.
echo "soak: making cards in $work" >&2
"$B/tools/qrdesk-issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
for i in $(seq -w 1 200); do
	jq -n --arg no "26110$i" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' >c.json
	"$B/tools/qrdesk-issuer" sign dom c.json 2>/dev/null
done >valid.txt
"$B/tools/qrdesk-issuer" revoke dom 26110001 >/dev/null
"$B/tools/qrdesk-issuer" publish dom repo >/dev/null
"$B/tools/qrdeskctl" provision --store desk.db --root dom/root.pub >/dev/null
"$B/tools/qrdeskctl" import --store desk.db repo/*.cose >/dev/null
{
	cat valid.txt
	sed -E 's/(.{40})./\10/' valid.txt # tampered
	for i in $(seq 1 100); do echo "NOT A CARD $i"; done
} >mix.txt
: >chunk.txt
while (($(wc -l <chunk.txt) < step)); do cat mix.txt >>chunk.txt; done
head -n "$step" chunk.txt >chunk.100k && mv chunk.100k chunk.txt

cat >soak.conf <<CONF
[desk]
desk_id = SOAK-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = warning
[pipeline]
holdoff_ms = 0
[indicators]
backend = sim
valid_ms = 100
invalid_ms = 100
review_ms = 100
beep_ms = 10
gap_ms = 10
[replay]
fifo = $work/codes.fifo
[kiosk]
enabled = false
CONF
"$B/firmware/qrdeskd" --config soak.conf 2>daemon.log &
pid=$!
for _ in $(seq 100); do [[ -p codes.fifo && -S control.sock ]] && break; sleep 0.1; done
exec 7>codes.fifo

scanned() { "$B/tools/qrdeskctl" status --socket control.sock --json | jq .counters.scans; }
report() { # report SCANS
	local rss fds
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	fds=$(ls "/proc/$pid/fd" | wc -l)
	printf '%9d scans  RSS %6d KiB  fds %3d  %6.1f s\n' "$1" "$rss" "$fds" "$((SECONDS - start))"
}
start=$SECONDS
echo "soak: $scans scans through the replay FIFO (pid $pid)"
report 0
for ((done = step; done <= scans; done += step)); do
	cat chunk.txt >&7
	while (($(scanned) < done)); do sleep 0.2; done
	report "$done"
done
exec 7>&-
kill -TERM "$pid"
wait "$pid" && echo "soak: clean exit" || echo "soak: exit status $?"
pid=""
echo "soak: audit rows $(sqlite3 desk.db 'SELECT count(*) FROM audit'); errors logged: $(grep -c '^<3>' daemon.log || true)"
