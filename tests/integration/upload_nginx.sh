#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The audit upload's failures against the storage the docs set up: Debian's
# nginx with its WebDAV module behind TLS (tests/integration/nginx_dav.sh),
# driven by the real qrdeskd.  The daemon runs an upload round as it starts,
# so each case is one start, one round (waited for in the status), one stop:
#   1. an unreachable server, a server that never answers (past timeout_s),
#      a 503 and a redirect: reported, every row pending, the sealed batch
#      kept byte for byte;
#   2. the same bytes already stored (a PUT whose reply was lost): taken as
#      done, with no second PUT;
#   3. a 412 to the PUT (a store honouring If-None-Match that found the name
#      taken after the desk's GET), other bytes under the batch's name, and an object larger than any
#      batch: reported "not overwritten", the stored object untouched, the
#      rows pending; once it is gone the batch is stored;
#   4. ingest: every row exactly once, in batches 1 and 2.
#   5. TLS client certificates ([upload] client_cert, client_key): nginx
#      with ssl_verify_client against a test CA made here.  No certificate,
#      or one from another CA: refused, rows pending; the CA's certificate
#      (key in its own file, or in the certificate's file): stored.
#   6. a bearer token ([upload] token_file), for an object store or gateway
#      that takes access tokens: nginx wants "Authorization: Bearer <token>".
#      The file missing, readable by others, or not a token: refused, rows
#      pending, the token never in the status or the log; the wrong token:
#      401, pending, and the 401 page, which echoes it, not quoted; the right
#      one: stored.
# Usage: upload_nginx.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-upload-nginx-XXXXXX")
daemon_pid= hang_pid=
cd "$work"
. "$here/checks.sh"
. "$here/nginx_dav.sh"
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	[[ -n $hang_pid ]] && kill "$hang_pid" 2>/dev/null
	nginx_stop
	cd / && rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${KEEP:-} ]] && trap - EXIT
die() { echo "FAIL: $*" >&2; exit 1; }

"$issuer" init dom >/dev/null || die "init"
card c1 2611000051
card c2 2611000052
card c3 2611000053
test_ca || die "test CA"
nginx_start "location /broken/ { return 503; }
		location /moved/ { return 307 https://127.0.0.2:\$server_port/audit/; }
		# A store that honours If-None-Match and found the name taken between the desk's GET
		# and its PUT (nginx's own PUT does not: it replaces the file).
		location /race/ { if (\$request_method = PUT) { return 412; } return 404; }" || exit 1
base="https://127.0.0.1:$nginx_port"
"$issuer" publish dom repo >/dev/null || die "publish"
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null 2>&1 || die "provision"
"$ctl" import --store desk.db repo/*.cose >/dev/null || die "import"
pub=$("$ctl" enroll --store desk.db | sed -n 's/^public key: //p')
"$issuer" desk add dom UP-1 "$pub" >/dev/null || die "desk add"

# start URL [TIMEOUT_S]: qrdeskd uploading to URL (empty: no upload), its first round done.
start() {
	desk_conf UP-1
	cat >>desk.conf <<CONF
[upload]
url = $1
ca_file = $work/ca.pem
period_s = 3600
timeout_s = ${2:-30}
${upload_extra:-}
CONF
	"$qrdeskd" --config desk.conf 2>>daemon.log &
	daemon_pid=$!
	wait_for 60 '[[ -S control.sock ]] && "$ctl" status --socket control.sock >/dev/null 2>&1' ||
		die "qrdeskd did not come up: $(tail -5 daemon.log)"
	[[ -z $1 ]] && return 0
	wait_for 120 '[[ $(up .status) != none ]]' || die "no upload round: $(up "")"
}
stop() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	local rc=$?
	daemon_pid=
	((rc == 0)) || fail "qrdeskd exited $rc after SIGTERM: $(tail -5 daemon.log)"
}
up() { "$ctl" status --socket control.sock --json 2>/dev/null | jq -r ".sync.upload$1"; }
pending() { sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE uploaded_at IS NULL"; }
sealed() { sqlite3 desk-audit.db "SELECT seq || ':' || hex(bytes) FROM upload_batch"; }
scan() { "$ctl" scan --socket control.sock "$(cat "$1.txt")" >/dev/null 2>&1; }
puts() { grep -c "\"PUT /audit/UP-1/$1.cose " logs/access.log; }

# ---- rows to upload: three verdicts, the upload off --------------------------------------------
start ""
scan c1 && scan c2 && scan c3 || die "scans"
stop
rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
check '[[ $rows -ge 3 && $(pending) == "$rows" ]]' "$rows rows, none uploaded"

# ---- 1. unreachable, silent, 503, redirect: reported, rows pending, the batch kept -----------------
dead=$(free_port)
start "https://127.0.0.1:$dead/audit"
check '[[ $(up .status) == network && $(up .message) == *"onnect"* ]]' "an unreachable server: $(up .message)"
stop
check '[[ $(pending) == "$rows" ]]' "unreachable: every row pending"
batch=$(sealed)
check '[[ $batch == 1:* ]]' "batch 1 is sealed in the store before it is sent"

# A server that takes the connection and never answers: the round ends at timeout_s.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(600)' >hang.port &
hang_pid=$!
wait_for 30 '[[ -s hang.port ]]' || die "the silent server did not start"
start "https://127.0.0.1:$(cat hang.port)/audit" 2
check '[[ $(up .status) == network && ( $(up .message) == *"imeout"* || $(up .message) == *"timed out"* ) ]]' "a server that never answers: $(up .message)"
stop
kill "$hang_pid" && wait "$hang_pid" 2>/dev/null
hang_pid=

start "$base/broken"
check '[[ $(up .status) == network && $(up .message) == *"HTTP status 503"* ]]' "a 503: $(up .message)"
stop
start "$base/moved"
check '[[ $(up .status) == network && $(up .message) == *"HTTP status 307"* ]]' "a redirect is not followed: $(up .message)"
stop
check '[[ $(pending) == "$rows" && $(sealed) == "$batch" ]]' "after each fault: every row pending, the very same sealed batch"
check '[[ ! -e www/audit/UP-1 ]]' "nothing reached the storage"

# ---- 2. the same bytes already stored (the reply was lost): done, no second PUT -------------------
mkdir -p www/audit/UP-1
sqlite3 desk-audit.db "SELECT writefile('www/audit/UP-1/1.cose', bytes) FROM upload_batch" >/dev/null
start "$base/audit"
check '[[ $(up .status) == ok && $(pending) == 0 ]]' "the same bytes stored: taken as done ($(up .status): $(up .message))"
check '[[ $(puts 1) == 0 ]]' "no PUT over the stored batch"
stop

# ---- 3. other bytes under the name, an object larger than any batch: never overwritten ----------
start "$base/audit"
scan c1 # ALREADY_USED now: a row all the same
scan c2
stop
more=$(pending)
check '[[ $more == 2 ]]' "two more rows to upload: $more"
start "$base/race"
check '[[ $(up .status) == exists && $(up .message) == *"HTTP status 412"*"not overwritten"* && $(pending) == "$more" ]]' "a 412 to the PUT: reported, rows pending: $(up .message)"
stop
printf 'not the desk batch' >www/audit/UP-1/2.cose
cp www/audit/UP-1/2.cose other.bin
start "$base/audit"
check '[[ $(up .status) == exists && $(up .message) == *"not overwritten"* ]]' "other bytes under the name: $(up .message)"
stop
check 'cmp -s other.bin www/audit/UP-1/2.cose && [[ $(puts 2) == 0 && $(pending) == "$more" ]]' "the object untouched, no PUT, $more rows pending"
head -c $((4 * 1024 * 1024)) /dev/urandom >www/audit/UP-1/2.cose
cp www/audit/UP-1/2.cose other.bin
start "$base/audit"
check '[[ $(up .status) == exists && $(up .message) == *"not overwritten"* ]]' "an object larger than any batch: $(up .message)"
stop
check 'cmp -s other.bin www/audit/UP-1/2.cose && [[ $(puts 2) == 0 && $(pending) == "$more" ]]' "the large object untouched, no PUT, rows pending"
rm www/audit/UP-1/2.cose
start "$base/audit"
wait_for 60 '[[ $(puts 2) == 1 ]]' # nginx logs a request after its reply has gone
check '[[ $(up .status) == ok && $(pending) == 0 && $(puts 2) == 1 ]]' "once the name is free, batch 2 is stored ($(up .status): $(up .message))"
stop

# ---- 4. every row exactly once --------------------------------------------------------------------
total=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == "ingest: 2 batches, $total rows loaded; 0 loaded before; 0 refused"* ]]' "ingest: every row once ($rc: $out)"
check '[[ $(cd www/audit && echo */*) == "UP-1/1.cose UP-1/2.cose" ]]' "batches 1 and 2 alone: $(cd www/audit && echo */*)"

# ---- 5. TLS client certificates ----------------------------------------------------------------
client_cert() { # NAME CA_PEM CA_KEY: NAME.key and NAME.crt (clientAuth), issued by the CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$1.key" -out "$1.csr" 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in "$1.csr" -CA "$2" -CAkey "$3" -CAcreateserial -days 30 \
			-extfile client.ext -out "$1.crt" 2>/dev/null
}
client_cert UP-1 ca.pem ca.key || die "client certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=another ca" -keyout other-ca.key -out other-ca.pem 2>/dev/null || die "other CA"
client_cert stranger other-ca.pem other-ca.key || die "the stranger's certificate"
cat UP-1.crt UP-1.key >UP-1.pem
nginx_stop
nginx_start "ssl_client_certificate $work/ca.pem;
		ssl_verify_client on;" || exit 1
start "$base/audit"
scan c3
stop
check '[[ $(pending) == 1 ]]' "a row to upload"
start "$base/audit"
check '[[ $(up .status) == network && $(up .message) == *"HTTP status 400"* && $(pending) == 1 ]]' "no client certificate: refused, the row pending: $(up .message)"
stop
upload_extra="client_cert = $work/stranger.crt
client_key = $work/stranger.key"
start "$base/audit"
check '[[ $(up .status) == network && $(up .message) == *"HTTP status 400"* && $(pending) == 1 ]]' "a certificate from another CA: refused, the row pending: $(up .message)"
stop
check '[[ ! -e www/audit/UP-1/3.cose ]]' "nothing stored without the desk's certificate"
upload_extra="client_cert = $work/UP-1.crt
client_key = $work/UP-1.key"
start "$base/audit"
check '[[ $(up .status) == ok && $(pending) == 0 && -s www/audit/UP-1/3.cose ]]' "the CA's certificate: batch 3 stored ($(up .status): $(up .message))"
scan c2
stop
upload_extra="client_cert = $work/UP-1.pem"
start "$base/audit"
check '[[ $(up .status) == ok && $(pending) == 0 && -s www/audit/UP-1/4.cose ]]' "certificate and key in one file: batch 4 stored ($(up .status): $(up .message))"
stop
out=$("$issuer" ingest dom www/audit 2>&1)
rc=$?
check '[[ $rc == 0 && $out == "ingest: 2 batches, 2 rows loaded; 2 loaded before; 0 refused"* ]]' "ingest: the two rows sent with a client certificate ($rc: $out)"

# ---- 6. a bearer token -------------------------------------------------------------------------
token='qd-T0ken_1.2~3+4/5=='
nginx_stop
nginx_start "location /tok/ {
			# A gateway that echoes the request's credentials in its error page.
			if (\$http_authorization != 'Bearer $token') { return 401 'denied: \$http_authorization'; }
			dav_methods PUT;
			create_full_put_path on;
		}" || exit 1
start ""
scan c1
stop
check '[[ $(pending) == 1 ]]' "a row to upload with a token"
upload_extra="token_file = $work/token"
start "$base/tok"
check '[[ $(up .status) != ok && $(up .message) == *"token_file $work/token: No such file"* && $(pending) == 1 ]]' "no token file: not sent, the row pending: $(up .message)"
stop
printf '%s\n' "$token" >token
chmod 0644 token
start "$base/tok"
check '[[ $(up .message) == *"mode 0644 lets others read or change it"* && $(pending) == 1 ]]' "a token file others can read: refused: $(up .message)"
stop
printf 'qd T0ken\n' >token
chmod 0600 token
start "$base/tok"
check '[[ $(up .message) == *"not one bearer token"* && $(up .message) != *T0ken* && $(pending) == 1 ]]' "not a token: refused without quoting it: $(up .message)"
stop
printf 'qd-wrong-token\n' >token
start "$base/tok"
check '[[ $(up .status) == network && $(up .message) == *"HTTP status 401"* && $(pending) == 1 ]]' "the wrong token: 401, the row pending: $(up .message)"
check '[[ $(up .message) == *"quotes the request'"'"'s token: not shown"* && $(up .message) != *wrong-token* ]]' "a 401 page that echoes the token is not quoted: $(up .message)"
stop
printf '%s\r\n' "$token" >token
start "$base/tok"
check '[[ $(up .status) == ok && $(pending) == 0 && -n $(echo www/tok/UP-1/*.cose) ]]' "the right token (CR LF ended): stored ($(up .status): $(up .message); $(cd www && echo tok/UP-1/*))"
stop
check '! grep -qF -- "$token" daemon.log && ! grep -q "qd-wrong-token" daemon.log' "the token never in the log"

echo "upload_nginx: $passes checks passed, $failures failed"
((failures == 0)) || tail -30 daemon.log >&2
((failures == 0))
