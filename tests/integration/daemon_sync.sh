#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# qrdeskd's sync worker and audit upload against real servers on 127.0.0.1:
# nginx with TLS (a test CA made here with openssl, as in sync.sh) serving
# repositories written by qrdesk-issuer publish, and taking the audit upload
# with its WebDAV module (PUT), as any object store would.
#   1. The freeze: a store whose timestamp has expired says "trust data stale
#      since ..." in qrdeskctl status and /api/status; a green card is amber
#      (TRUST_STALE) with no grace, green again after a SIGHUP sets a grace.
#   2. A SIGHUP that sets [sync] url syncs at once; the pipeline sees the new
#      data (versions in status, the freeze gone); /metrics counts it.
#   3. `qrdeskctl sync` asks the daemon: up to date; a new publication with a
#      revocation is installed and the card turns red at the next scan.
#   4. Faults - server down, wrong signature - are reported in status and
#      /api/status, leave the store exactly as it was, and scanning goes on.
#   5. Audit rows reach the storage in signed batches that qrdesk-issuer ingest
#      verifies against the desk list and loads: every row once.
#   6. SIGTERM: clean exit.
# Usage: daemon_sync.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
python=/usr/bin/python3
[[ -x $python ]] || python=python3
if [[ ! -x $nginx_bin ]]; then
	echo "FAIL: nginx not installed (scripts/install-deps.sh installs nginx-light)" >&2
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-dsync-XXXXXX")
nginx_pid= daemon_pid=
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	[[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"

failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() { if eval "$1"; then passes=$((passes + 1)); echo "ok: $2"; else fail "$2"; fi; }
wait_for() { # wait_for SECONDS CONDITION
	local deadline=$((SECONDS + $1))
	while ! eval "$2"; do
		((SECONDS > deadline)) && return 1
		sleep 0.1
	done
}
free_port() {
	$python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- a test CA, a server certificate for 127.0.0.1 ---------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=qrdesk test ca" -keyout ca.key -out ca.pem 2>/dev/null || { echo "FAIL: CA" >&2; exit 1; }
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile server.ext -out server.crt 2>/dev/null || { echo "FAIL: server cert" >&2; exit 1; }

# ---- nginx -----------------------------------------------------------------------
port=$(free_port)
mkdir -p www/repo logs tmp
user_line=
[[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >nginx.conf <<NGINX
$user_line
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 64; }
http {
	access_log $work/logs/access.log;
	client_body_temp_path $work/tmp/body;
	proxy_temp_path $work/tmp/proxy;
	fastcgi_temp_path $work/tmp/fastcgi;
	uwsgi_temp_path $work/tmp/uwsgi;
	scgi_temp_path $work/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $work/server.crt;
		ssl_certificate_key $work/server.key;
		root $work/www;
		# The audit upload's storage: WebDAV PUT (docs/audit-upload.md).
		location /audit/ {
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 8m;
		}
	}
}
NGINX
start_nginx() {
	"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
	nginx_pid=$!
	wait_for 10 'curl -s --cacert ca.pem -o /dev/null "https://127.0.0.1:$port/"' ||
		{ echo "FAIL: nginx did not start" >&2; cat logs/error.log >&2; exit 1; }
}
stop_nginx() { kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null; nginx_pid=; }
serve() { rm -rf www/repo && cp -r "$1" www/repo; }
start_nginx

# ---- the upload storage: nginx's WebDAV module, beside the repository -----------------
upload_url="https://127.0.0.1:$port/audit"

# ---- the back office: a publication two days old (its timestamp expired a day ago) -----
now=$(date +%s)
DAY=86400
"$issuer" --now $((now - 3 * DAY)) init dom >/dev/null || { echo "FAIL: init" >&2; exit 1; }
jq -n '{clearance_no: "2611000001", passport_no: "A12345678", name: "MD ABDUR RAHIM",
	birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
	employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
	bmet_reg_no: "BMET20261122", pdo_completed: true}' >card.json
code=$("$issuer" --now $((now - 2 * DAY)) sign dom card.json 2>/dev/null) || fail "sign"
"$issuer" --now $((now - 2 * DAY)) publish dom repo-old >/dev/null || fail "publish repo-old"
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null || fail "provision"
desk_pub=$("$ctl" enroll --store desk.db | sed -n 's/^public key: //p')
"$issuer" desk add dom SYNC-1 "$desk_pub" >/dev/null || fail "desk add"
"$ctl" import --store desk.db --now $((now - 2 * DAY + 60)) repo-old/*.cose >/dev/null || fail "import"
ts_expiry=$(jq -r '.timestamp.expires_at // empty' < <("$ctl" show --store desk.db --json 2>/dev/null))

kport=$(free_port)
write_conf() { # write_conf GRACE SYNC_URL
	cat >desk.conf <<CONF
[desk]
desk_id = SYNC-1
store = $work/desk.db
control_socket = $work/control.sock
[pipeline]
holdoff_ms = 0
already_used_check = false
[indicators]
backend = sim
[kiosk]
enabled = true
port = $kport
[sync]
url = $2
ca_file = $work/ca.pem
period_s = 3600
jitter_s = 0
retry_s = 600
backoff_max_s = 3600
connect_timeout_s = 5
low_speed_time_s = 5
stale_grace_s = $1
[upload]
url = $upload_url
ca_file = $work/ca.pem
batch_rows = 3
period_s = 10
timeout_s = 5
CONF
}
st() { "$ctl" status --socket control.sock --json 2>/dev/null; }
api() { curl -s "http://127.0.0.1:$kport/api/status"; }
scan() { "$ctl" scan --socket control.sock "$code" 2>/dev/null | jq -r '.verdict + ":" + .reason'; }
dump() { sqlite3 desk.db "SELECT type, version, signed_at, expires_at, hex(sha256) FROM documents ORDER BY type; SELECT count(*) FROM revocations; SELECT count(*) FROM keys;"; }

# ---- 1. the freeze -------------------------------------------------------------------------
write_conf 0 ""
"$qrdeskd" --config desk.conf 2>daemon.log &
daemon_pid=$!
wait_for 20 '[[ -S control.sock ]] && api | jq -e .trust >/dev/null 2>&1' || { fail "daemon did not start"; cat daemon.log >&2; exit 1; }
check '[[ -n $ts_expiry && $(st | jq -r .trust.stale_since) == "$ts_expiry" ]]' "status: stale since the timestamp's expiry ($ts_expiry)"
check '[[ $(api | jq -r .trust.stale_amber) == true ]]' "/api/status: stale, grace over"
check '"$ctl" status --socket control.sock | grep "TRUST DATA STALE since .*amber" >/dev/null' "qrdeskctl status says trust data stale"
check '[[ $(st | jq -r .sync.enabled) == false ]]' "sync off without a url"
check '[[ $(scan) == review:TRUST_STALE ]]' "a green card is amber in the freeze (got $(scan))"
write_conf 604800 ""
kill -HUP "$daemon_pid"
wait_for 10 '[[ $(st | jq -r .trust.stale_grace_seconds) == 604800 ]]' || fail "SIGHUP did not set the grace"
check '[[ $(scan) == valid:OK ]]' "within the grace the card is green (got $(scan))"
check '[[ $(st | jq -r .trust.stale_amber) == false && $(st | jq -r .trust.stale_since) == "$ts_expiry" ]]' "still stale, within the grace"

# ---- 2. SIGHUP sets the sync url: a sync at once ----------------------------------------------
"$issuer" --now "$now" publish dom repo1 >/dev/null || fail "publish repo1"
serve repo1
write_conf 0 "https://127.0.0.1:$port/repo"
kill -HUP "$daemon_pid"
wait_for 30 '[[ $(st | jq -r .sync.runs) -ge 1 ]]' || fail "no sync after the reload: $(st | jq -c .sync)"
check '[[ $(st | jq -r .sync.last.status) == ok && $(st | jq -r .sync.last.changed) == true ]]' "first sync ok and changed: $(st | jq -c .sync.last)"
check '[[ $(st | jq -r .trust.timestamp.version) == 2 && $(st | jq -r .trust.stale_since) == null ]]' "the pipeline sees the new data; the freeze is over"
check '[[ $(scan) == valid:OK ]]' "the card is green with fresh data"
wait_for 10 '[[ $(api | jq -r .sync.last_result) == "new trust data" ]]' 
check '[[ $(api | jq -r .sync.last.status) == ok ]]' "/api/status shows the sync: $(api | jq -c .sync.last_result)"
curl -s "http://127.0.0.1:$kport/metrics" >metrics.txt
check 'grep -qx "qrdesk_syncs_total{outcome=.ok.} 1" metrics.txt' "/metrics counts the sync: $(grep syncs_total metrics.txt | tr "\n" " ")"
check 'grep -q "^qrdesk_sync_last_success_timestamp_seconds [1-9]" metrics.txt' "/metrics has the last success time"

# ---- 3. qrdeskctl sync asks the daemon ---------------------------------------------------------
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 0 ]] && grep -q "up to date: timestamp version 2" <<<"$out"' "qrdeskctl sync: up to date ($rc: $out)"
"$issuer" --now "$now" revoke dom 2611000001 >/dev/null || fail "revoke"
"$issuer" --now "$((now + 1))" publish dom repo2 >/dev/null || fail "publish repo2"
serve repo2
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 0 ]] && grep -q "revocations version 3 installed (was 2)" <<<"$out"' "qrdeskctl sync installs the new list ($rc: $out)"
check '[[ $(scan) == invalid:CARD_REVOKED ]]' "the card is red at the next scan"
check '[[ $(st | jq -r .trust.revocations.version) == 3 ]]' "status shows the new revocation list"

# ---- 4. faults: reported, the store unchanged, scanning goes on -------------------------------
dump >before.txt
stop_nginx
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 69 ]] && grep -qiE "connect|refused" <<<"$out"' "server down: exit 69 ($rc: $out)"
check '[[ $(st | jq -r .sync.last.status) == network && $(st | jq -r .sync.consecutive_failures) == 1 ]]' "status reports the network fault: $(st | jq -c '.sync | {state, consecutive_failures}')"
check '[[ $(st | jq -r .sync.state) == failing ]]' "sync state failing"
wait_for 10 '[[ $(api | jq -r .sync.last.status) == network ]]' || fail "/api/status did not show the fault"
check '[[ $(scan) == invalid:CARD_REVOKED ]]' "scanning goes on while the server is down"
dump >after.txt
check 'cmp -s before.txt after.txt' "server down: store unchanged"
start_nginx
"$issuer" --now "$((now + 2))" publish dom repo3 >/dev/null || fail "publish repo3"
serve repo3
size=$(stat -c %s www/repo/timestamp.cose)
last=$(od -An -tu1 -j $((size - 1)) -N1 www/repo/timestamp.cose | tr -d ' ')
printf "$(printf '\\%03o' $(((last + 1) % 256)))" |
	dd of=www/repo/timestamp.cose bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 65 ]] && grep -qiE "signature" <<<"$out"' "wrong signature: exit 65 ($rc: $out)"
check '[[ $(st | jq -r .sync.last.status) == bad-signature && $(st | jq -r .sync.consecutive_failures) == 2 ]]' "status reports the bad signature: $(st | jq -c .sync.last.message)"
wait_for 10 '[[ $(api | jq -r .sync.last.status) == bad-signature ]]' || fail "/api/status did not show the bad signature"
dump >after.txt
check 'cmp -s before.txt after.txt' "wrong signature: store unchanged"
check '[[ $(scan) == invalid:CARD_REVOKED ]]' "scanning goes on after the refusal"
serve repo3
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 0 && $(st | jq -r .sync.consecutive_failures) == 0 ]]' "the good repository syncs after the faults ($rc: $out)"

# A desk whose list already holds the hash the next delta adds: the delta is refused, the
# snapshot taken in the same sync; the status says why and the log says it once.
hashes() { od -An -tx1 -v -w16 "$1" | tr -d ' '; }
hashes dom/revocations.bin >rev-before.txt
"$issuer" --now "$((now + 3))" revoke dom 2611000009 >/dev/null || fail "revoke a second card"
hashes dom/revocations.bin >rev-after.txt
new_hash=$(comm -13 rev-before.txt rev-after.txt)
[[ ${#new_hash} -eq 32 ]] || fail "the revoke added no one hash ($new_hash)"
# The daemon has the store open: wait out its short transactions rather than fail on them.
sqlite3 -cmd '.timeout 5000' desk.db "INSERT INTO revocations(hash) VALUES (x'$new_hash')" ||
	fail "drift the desk's list"
"$issuer" --now "$((now + 3))" publish dom repo4 >/dev/null && serve repo4 || fail "publish repo4"
out=$("$ctl" sync --socket control.sock 2>&1); rc=$?
check '[[ $rc == 0 ]] && grep -q "revocations version 5 installed (was 4), .* the delta was refused (.*already on the installed list.*), the snapshot taken" <<<"$out"' "a delta that does not fit: the snapshot in the same sync ($rc: $out)"
check '[[ $(st | jq -r ".sync.last.files[] | select(.document == \"revocations\") | .delta_refused") == *"already on the installed list"* ]]' "status: the delta refused and why: $(st | jq -c .sync.last.files)"
check '[[ $(grep -c "the revocations delta was refused" daemon.log) == 1 ]]' "logged once"
check '[[ $(sqlite3 desk.db "SELECT version FROM documents WHERE type = 2") == 5 && $(sqlite3 desk.db "SELECT count(*) FROM revocations") == $(wc -l <rev-after.txt) ]]' "the desk holds the snapshot's list"

# ---- 5. the audit upload -----------------------------------------------------------------------
rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
wait_for 40 '[[ $(sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE uploaded_at IS NULL") == 0 ]]' ||
	fail "audit rows not uploaded: $(st | jq -c .sync.upload)"
rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
out=$("$issuer" ingest dom www/audit 2>&1); rc=$?
check '[[ $rc == 0 ]] && grep -q " $rows rows loaded; 0 loaded before; 0 refused" <<<"$out"' \
	"every audit row arrives once, in signed chained batches the back office verifies ($rows rows: $out)"
out=$("$issuer" ingest dom www/audit 2>&1); rc=$?
check '[[ $rc == 0 ]] && grep -q "0 rows loaded" <<<"$out"' "a second ingest adds nothing ($out)"
wait_for 15 '[[ $(st | jq -r .sync.upload.pending) == 0 && $(st | jq -r .sync.upload.status) == ok ]]' || fail "status upload: $(st | jq -c .sync.upload)"

# ---- 6. stop ----------------------------------------------------------------------------------
kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
check '[[ $rc == 0 ]]' "clean exit after SIGTERM (got $rc)"
check '[[ $(sqlite3 desk.db "PRAGMA integrity_check") == ok ]]' "store integrity after the run"

echo "daemon_sync: $passes passed, $failures failed"
[[ $failures -eq 0 ]] || { echo "--- daemon.log" >&2; tail -40 daemon.log >&2; }
[[ $failures -eq 0 ]]
