#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scanning while the sync worker applies a large revocation list.
# The real qrdeskd with [sync] pointed at nginx (TLS, a test CA made here)
# serving a publication of N revocations (default 1,000,000), already synced
# once; then a new publication of N other entries.  A Python client times
# control-socket scans (connect, {"cmd":"scan"}, reply: the loop's whole turn,
# including the scan's audit row) one after another, GAP_MS apart (default 5:
# some 300-700 scans during a 1M sync, so the p99 is not just its slowest one
# or two, as it was at 20 ms): after a second's warm-up, 5 s idle, then from
# the sync's request until the apply is done, in one probe process.  Prints
# p50/p99/max of each, idle and during, and the sync's own time (request to
# done, within 200 ms).  Nothing is asserted.
# nginx runs at nice NGINX_NICE (default 19): it stands for a server elsewhere,
# whose TLS work is not the desk's; NGINX_NICE=0 puts it on the desk's CPU.
#
# Usage: [GAP_MS=5] [SAVE=FILE] [NGINX_NICE=19] bench/sync_scan_latency.sh BUILD_DIR [ENTRIES]
# (SAVE: a copy of the probe's raw lines, in order.)
set -uo pipefail
build=$(realpath "${1:?usage: sync_scan_latency.sh BUILD_DIR [ENTRIES]}")
entries=${2:-1000000}
qrdeskd=$build/firmware/qrdeskd
ctl=$build/tools/qrdeskctl
issuer=$build/tools/qrdesk-issuer
python=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-sbench-XXXXXX")
nginx_pid= daemon_pid=
cleanup() {
	[[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
free_port() { $python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
	-keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile server.ext -out server.crt 2>/dev/null
port=$(free_port)
kiosk_port=$(free_port)
mkdir -p www logs tmp
user_line=
[[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >nginx.conf <<NGINX
$user_line
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/logs/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work/tmp/b; proxy_temp_path $work/tmp/p;
	fastcgi_temp_path $work/tmp/f; uwsgi_temp_path $work/tmp/u; scgi_temp_path $work/tmp/s;
	server { listen 127.0.0.1:$port ssl; ssl_certificate $work/server.crt;
		ssl_certificate_key $work/server.key; root $work/www; } }
NGINX
nice -n "${NGINX_NICE:-19}" nginx -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
nginx_pid=$!

revocations() { # a domain's revocation list: $entries random sorted hashes
	$python -c "
import os, sys
n = int(sys.argv[1])
hs = set()
while len(hs) < n:
    hs.add(os.urandom(16))
open('dom/revocations.bin', 'wb').write(b''.join(sorted(hs)))" "$entries"
}
"$issuer" --now $(($(date +%s) - 86400)) init dom >/dev/null
jq -n '{clearance_no: "2611000001", passport_no: "A12345678", name: "BENCH", birth_date: "1990-07-14",
	sex: "M", destination: "SA", category: "GW", employer: "X", agency_licence: "RL-1",
	bmet_reg_no: "BMET1", pdo_completed: true}' >card.json
code=$("$issuer" sign dom card.json 2>/dev/null)
revocations && "$issuer" publish dom www/repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
cat >desk.conf <<CONF
[desk]
desk_id = BENCH
store = $work/desk.db
control_socket = $work/control.sock
[pipeline]
holdoff_ms = 0
already_used_check = false
[indicators]
backend = sim
[kiosk]
port = $kiosk_port
[sync]
url = https://127.0.0.1:$port/repo
ca_file = $work/ca.pem
period_s = 86400
jitter_s = 0
CONF
"$qrdeskd" --config desk.conf 2>daemon.log &
daemon_pid=$!
until [[ $("$ctl" status --socket control.sock --json 2>/dev/null | jq -r .sync.runs) -ge 1 ]]; do sleep 0.2; done
"$ctl" status --socket control.sock --json | jq -e '.sync.last.status == "ok"' >/dev/null ||
	{ echo "the first sync failed: $(tail -3 daemon.log)" >&2; exit 1; }
revocations && rm -rf www/repo && "$issuer" publish dom www/repo >/dev/null

# One probe process from start to end, so that neither column holds its start-up: it scans for
# WARM_S seconds (not counted), IDLE_S seconds idle, then asks for a sync on the control socket
# itself (as `qrdeskctl sync` does, without starting a process: a desk's syncs start on its
# timer) and scans until the status says that run is done, asking every 200 ms as qrdeskctl
# does.  "During" runs up to 200 ms past the sync's end.
# Lines 1-2: the idle and during latencies until the lights were set (from the verdict's own
# time_us and latency_us: the daemon's clock, the probe's), 3-4 until its event arrived on the
# kiosk's stream, 5-6 until the reply (the row durable), 7-8 the judging alone (the
# verdict's latency_us: text received by the loop to lights set); sync_s.txt: the sync's
# seconds from the request until the status said done.
cat >probe.py <<'PY'
import json, socket, sys, threading, time
sock, code, gap = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
warm_s, idle_s, kiosk = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
shown, cv = {}, threading.Condition()
def events():  # the kiosk's event stream: when each verdict's event arrived
    s = socket.create_connection(("127.0.0.1", kiosk))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    f = s.makefile("rb")
    kind = None
    for line in f:
        t = time.monotonic()
        if line.startswith(b"event: "):
            kind = line[7:].strip()
        elif line.startswith(b"data: ") and kind == b"verdict":
            with cv:
                shown[json.loads(line[6:])["seq"]] = t
                cv.notify_all()
threading.Thread(target=events, daemon=True).start()
time.sleep(0.5)  # the stream is open before the first scan
def call(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf
def scan():
    t0, t0_wall = time.monotonic(), time.time()
    v = json.loads(call({"cmd": "scan", "code": code}))
    reply_ms = (time.monotonic() - t0) * 1000
    # The verdict's own times (the same clock): judged at time_us, lights set latency_us later.
    lit_ms = (v["time_us"] + v["latency_us"]) / 1000 - t0_wall * 1000
    with cv:
        cv.wait_for(lambda: v["seq"] in shown, timeout=5)
        shown_ms = (shown.pop(v["seq"]) - t0) * 1000
    time.sleep(gap)
    return lit_ms, shown_ms, reply_ms, v["latency_us"] / 1000
def scan_for(seconds):
    end, out = time.monotonic() + seconds, []
    while time.monotonic() < end:
        out.append(scan())
    return out
scan_for(warm_s)
idle = scan_for(idle_s)
run = json.loads(call({"cmd": "sync"}))["run"]
sync_t0 = time.monotonic()
during, asked, status = [], time.monotonic(), None
while True:
    during.append(scan())
    if time.monotonic() - asked >= 0.2:
        asked = time.monotonic()
        status = json.loads(call({"cmd": "status"}))
        if status["sync"]["runs"] >= run:
            break
for i in (0, 1, 2, 3):
    print(" ".join("%.3f" % x[i] for x in idle))
    print(" ".join("%.3f" % x[i] for x in during))
print("%.1f" % (time.monotonic() - sync_t0), file=open("sync_s.txt", "w"))
PY
stats() { # stats NAME "ms ms ..."
	tr ' ' '\n' <<<"$2" | sort -g | awk -v name="$1" '{a[NR]=$1} END {
		p50 = int(NR*0.5)+1; if (p50 > NR) p50 = NR
		p99 = int(NR*0.99)+1; if (p99 > NR) p99 = NR
		printf "%-22s n=%5d  p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n", name, NR, a[p50], a[p99], a[NR] }'
}
$python probe.py control.sock "$code" "${GAP_MS:-5}" 1 5 "$kiosk_port" >probe.txt ||
	echo "the probe failed" >&2
"$ctl" status --socket control.sock --json | jq -e '.sync.last.status == "ok" and .sync.last.changed' >/dev/null ||
	echo "the second sync did not install: $(tail -3 daemon.log)" >&2
echo "sync of $entries new revocations (download, verify, apply): $(cat sync_s.txt) s, from the request until the status said done (polled every 200 ms)"
stats "lights set, idle" "$(sed -n 1p probe.txt)"
stats "lights set, during" "$(sed -n 2p probe.txt)"
stats "kiosk event, idle" "$(sed -n 3p probe.txt)"
stats "kiosk event, during" "$(sed -n 4p probe.txt)"
stats "row durable, idle" "$(sed -n 5p probe.txt)"
stats "row durable, during" "$(sed -n 6p probe.txt)"
stats "of which judged, idle" "$(sed -n 7p probe.txt)"
stats "of which judged, during" "$(sed -n 8p probe.txt)"
[[ -n ${SAVE:-} ]] && cp probe.txt "$SAVE"
echo "audit failures: $("$ctl" status --socket control.sock --json | jq .counters.audit_failures)"
