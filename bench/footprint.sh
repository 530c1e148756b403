#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Footprint figures for docs/performance.md ("Footprint"): stripped binary sizes (amd64,
# and arm64 when a cross build is given) and qrdeskd's resident memory (VmRSS, split into
# anonymous and file-backed pages, and the peak VmHWM):
#   1. at idle, after start, on a store with a small revocation list;
#   2. after 10,000 scans fed through its FIFO source (hold-off 0: each is a verdict, an
#      audit row and an indicator pattern);
#   3. at idle on a store holding a 1,000,000-entry revocation list, published and imported
#      the way a desk gets it (qrdesk-issuer revoke/publish, qrdeskctl import).
# Prints figures only; nothing is asserted.
#
# Usage: bench/footprint.sh BUILD_DIR [ARM64_BUILD_DIR]   (e.g. build/release build/arm64)
set -euo pipefail
build=$(realpath "$1")
arm64=${2:+$(realpath "$2")}
qrdeskd=$build/firmware/qrdeskd ctl=$build/tools/qrdeskctl issuer=$build/tools/qrdesk-issuer
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-footprint-XXXXXX")
pid=""
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

echo "== stripped sizes (KiB)"
sizes() { # sizes ARCH STRIP DIR
	local strip=$2 dir=$3 line="$1"
	for b in firmware/qrdeskd tools/qrdeskctl tools/qrdesk-issuer; do
		"$strip" -o "stripped" "$dir/$b"
		line+=" $(basename "$b")=$(($(stat -c %s stripped) / 1024))"
	done
	echo "$line"
}
sizes amd64 strip "$build"
[[ -n $arm64 ]] && sizes arm64 aarch64-linux-gnu-strip "$arm64"

rss() { # rss LABEL: the daemon's memory now
	awk -v l="$1" '/^(VmRSS|RssAnon|RssFile|VmHWM):/ { v[$1] = $2 }
		END { printf "%-44s VmRSS %6.1f MiB (anon %5.1f, file %5.1f), peak VmHWM %6.1f MiB\n", l,
			v["VmRSS:"] / 1024, v["RssAnon:"] / 1024, v["RssFile:"] / 1024, v["VmHWM:"] / 1024 }' \
		"/proc/$pid/status"
}
scans() { "$ctl" status --socket control.sock --json | jq '.counters.scans // 0'; }
start_daemon() { # start_daemon STORE: the shipped defaults but for the paths, no hold-off, sim
	cat >desk.conf <<CONF
[desk]
store = $work/$1
control_socket = $work/control.sock
[pipeline]
holdoff_ms = 0
[indicators]
backend = sim
[replay]
fifo = $work/codes.fifo
[kiosk]
enabled = true
port = $(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CONF
	"$qrdeskd" --config desk.conf 2>daemon.log &
	pid=$!
	for _ in $(seq 100); do
		[[ -S control.sock ]] && "$ctl" status --socket control.sock >/dev/null 2>&1 && break
		sleep 0.1
	done
	sleep 2 # settle: the kiosk's threads, the first WAL checkpoint
}
stop_daemon() {
	kill "$pid"
	wait "$pid" || true
	pid=""
	rm -f control.sock
}

echo "== qrdeskd resident memory"
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
for i in 1 2 3 4; do
	jq -n --arg no "261100000$i" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' >card$i.json
	"$issuer" sign dom card$i.json >card$i.txt
done
"$issuer" revoke dom 2611000004 >/dev/null
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store small.db --root dom/root.pub >/dev/null
"$ctl" import --store small.db repo/*.cose >/dev/null

start_daemon small.db
rss "idle, 1 revocation"
n=10000
exec 7<>codes.fifo 2>/dev/null || { mkfifo codes.fifo; exec 7<>codes.fifo; }
for ((i = 0; i < n; i++)); do cat card$((i % 4 + 1)).txt; done >&7
for _ in $(seq 600); do
	(($(scans) >= n)) && break
	sleep 0.5
done
echo "scans counted: $(scans)"
rss "after $n scans (valid, review, invalid mixed)"
exec 7>&-
stop_daemon

# 1,000,000 distinct clearance numbers, revoked in batches (xargs keeps under ARG_MAX).
seq 3000000000 3000999999 | xargs "$issuer" revoke dom >/dev/null
"$issuer" publish dom repo >/dev/null
cp small.db big.db
t0=$SECONDS
imported=$("$ctl" import --store big.db repo/revocations.cose)
echo "import in $((SECONDS - t0)) s, store $(($(stat -c %s big.db) / 1024 / 1024)) MiB: $imported"
start_daemon big.db
rss "idle, 1,000,000 revocations"
for i in 1 2 3 4; do "$ctl" scan --socket control.sock - <card$i.txt >/dev/null || true; done
rss "1,000,000 revocations, after 4 scans"
stop_daemon
