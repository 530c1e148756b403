#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# qrdeskctl sync --once against a real nginx with TLS on 127.0.0.1, serving
# repositories written by qrdesk-issuer publish (docs/repository.md).  A test
# CA and server certificate are made here with openssl; nginx runs as the
# current user with every path in a temporary directory, and is stopped at
# the end.  Checks: a fresh desk syncs from nothing; a second sync is a
# no-op; a new publication (a revocation) is taken; and every fault leaves
# the store byte-identical (sqlite3 .dump before and after) with a non-zero
# exit and a reason: 404, 500, server down, certificate from another CA,
# rollback, expired timestamp, file whose hash differs from the timestamp's
# (mix-and-match), truncated file, file longer than announced, tampered
# signature, key set signed by the wrong role.
# Branch sync adds: a desk one version behind takes revocations-delta.cose,
# one further behind the snapshot (both read from nginx's access log); an
# unchanged poll is answered 304 (If-None-Match with the kept ETag); a right
# public-key pin works and a wrong one is refused; a chunked response (no
# Content-Length) longer than the cap is cut while downloading; a root
# rotation 1 -> 2 -> 3 is stepped and the key set of the new root taken; a new issuer key, the
# old one retired and a window of its issuance revoked (revoke-range) reach the desk by sync;
# a desk whose list does not fit the next delta takes the snapshot in the same sync.
# Usage: sync.sh QRDESK-ISSUER QRDESKCTL
set -uo pipefail

issuer=$(realpath "$1")
ctl=$(realpath "$2")
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $nginx_bin ]]; then
	echo "FAIL: nginx not installed (scripts/install-deps.sh installs nginx-light)" >&2
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-sync-XXXXXX")
nginx_pid=
cleanup() {
	if [[ -n $nginx_pid ]]; then
		kill "$nginx_pid" 2>/dev/null
		wait "$nginx_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

NOW=1795000000
DAY=86400
at() { echo $((NOW + $1)); }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- a test CA, a server certificate for 127.0.0.1, and another CA ---------
mkca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=qrdesk test $1" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
mkca ca && mkca otherca || { echo "FAIL: openssl could not make the CAs" >&2; exit 1; }
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile server.ext -out server.crt 2>/dev/null || { echo "FAIL: server cert" >&2; exit 1; }

# ---- nginx, as this user, everything under $work ---------------------------
port=$(free_port)
down_port=$(free_port)
mkdir -p www/repo logs tmp
user_line=
if [[ $(id -u) -eq 0 ]]; then
	user_line="user $(id -un) $(id -gn);" # as root, workers would drop to nobody
fi
cat >nginx.conf <<EOF
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
		location /err500/ { return 500; }
		# SSI drops Content-Length: the body comes chunked.
		location /chunked/ { ssi on; ssi_types *; }
	}
}
EOF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
nginx_pid=$!
for _ in $(seq 50); do
	curl -s --cacert ca.pem -o /dev/null "https://127.0.0.1:$port/" && break
	sleep 0.1
done
if ! kill -0 "$nginx_pid" 2>/dev/null; then
	echo "FAIL: nginx did not start" >&2
	cat logs/error.log >&2
	exit 1
fi
url="https://127.0.0.1:$port/repo"

# Each serve gets its own mtime: nginx's ETag is mtime and size, and two
# serves in one second of a same-size timestamp would look unchanged.
served=0
serve() { # DIR: make it the served repository
	rm -rf www/repo && cp -r "$1" www/repo
	served=$((served + 1))
	find www/repo -type f -exec touch -d "@$((1600000000 + served))" {} +
}

# fetched FILE: the HTTP statuses nginx logged for FILE since the last mark
mark_log() { log_mark=$(wc -l <logs/access.log); }
fetched() {
	tail -n +$((log_mark + 1)) logs/access.log | awk -v f="/repo/$1" '$7 == f { print $9 }' | tr '\n' ' '
}
# took_delta WHAT: since the mark, the revocations delta was fetched and the full list was not
took_delta() {
	[[ $(fetched revocations-delta.cose) == "200 " && -z $(fetched revocations.cose) ]] && pass ||
		fail "$1: delta '$(fetched revocations-delta.cose)', snapshot '$(fetched revocations.cose)'"
}

# must_sync NAME WANT_EXIT PATTERN NOW [extra args]: run one sync, check exit and message
must_sync() {
	local name=$1 want=$2 pattern=$3 now=$4
	shift 4
	local out got
	out=$("$ctl" sync --once --store desk.db --url "$url" --ca ca.pem --now "$now" "$@" 2>&1)
	got=$?
	if [[ $got -ne $want ]]; then
		fail "$name: exit $got, want $want: $out"
	elif ! grep -qiE -- "$pattern" <<<"$out"; then
		fail "$name: output lacks /$pattern/: $out"
	else
		echo "ok: $name: $(tr '\n' ' ' <<<"$out" | head -c 240)"
		pass
	fi
}

# must_refuse NAME WANT_EXIT PATTERN NOW [args]: as must_sync, and the store is unchanged
must_refuse() {
	sqlite3 desk.db .dump >before.sql
	must_sync "$@"
	sqlite3 desk.db .dump >after.sql
	if cmp -s before.sql after.sql; then pass; else fail "$1: the store changed"; fi
}

# ---- the back office: a domain, a card, a first publication ----------------
"$issuer" --now "$(at 0)" init dom >/dev/null || { echo "FAIL: init" >&2; exit 1; }
cat >card.json <<'JSON'
{"clearance_no": "2611012345", "passport_no": "A12345678", "name": "RAHIMA KHATUN",
 "birth_date": "1994-03-12", "sex": "F", "destination": "KW", "category": "DW",
 "employer": "AL FAHAD TRADING CO", "agency_licence": "RL-1234", "bmet_reg_no": "BMET11223344",
 "pdo_completed": true}
JSON
code=$("$issuer" --now "$(at 0)" sign dom card.json 2>/dev/null) || fail "sign"
"$issuer" --now "$(at 0)" publish dom repo1 >/dev/null || fail "publish repo1"
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null || fail "provision"

# ---- a fresh desk syncs from nothing --------------------------------------
serve repo1
must_sync "fresh sync" 0 "keyset version 1 installed" "$(at 60)"
"$ctl" check --store desk.db --now "$(at 120)" "$code" >/dev/null
[[ $? -eq 0 ]] && pass || fail "card not valid after the first sync"
"$ctl" show --store desk.db --now "$(at 120)" --json >show.json 2>&1
[[ $(jq -r '.timestamp.version // .documents.timestamp.version // empty' show.json 2>/dev/null) == 1 ||
	$(grep -c '"version": 1' show.json) -ge 1 ]] && pass || fail "show after sync: $(cat show.json)"

# ---- a second sync is a no-op: 304 on the kept ETag -------------------------
sqlite3 desk.db .dump >before.sql
mark_log
must_sync "second sync" 0 "up to date: timestamp not modified" "$(at 90)"
sqlite3 desk.db .dump >after.sql
cmp -s before.sql after.sql && pass || fail "a no-op sync changed the store"
[[ $(fetched timestamp.cose) == "304 " ]] && pass ||
	fail "unchanged poll: timestamp.cose statuses '$(fetched timestamp.cose)', want one 304"
[[ $(tail -n +$((log_mark + 1)) logs/access.log | wc -l) -eq 1 ]] && pass ||
	fail "unchanged poll fetched more than the timestamp"

# ---- a new publication with a revocation: one version behind, the delta ----
cp desk.db desk-v1.db
"$issuer" --now "$(at 3600)" revoke dom 2611012345 >/dev/null || fail "revoke"
"$issuer" --now "$(at 3600)" publish dom repo2 >/dev/null || fail "publish repo2"
serve repo2
mark_log
must_sync "new publication" 0 "revocations version 2 installed \(was 1\).*as a delta" "$(at 3700)"
took_delta "one version behind"
"$ctl" check --store desk.db --now "$(at 3800)" "$code" >/dev/null
[[ $? -eq 1 ]] && pass || fail "card not invalid after the revocation was synced"

# A third publication, the good one the faults below are made from.
"$issuer" --now "$(at 7200)" publish dom repo3 >/dev/null || fail "publish repo3"
T=$(at 7300)

# ---- two versions behind: the snapshot, not the delta -----------------------
serve repo3
mark_log
out=$("$ctl" sync --once --store desk-v1.db --url "$url" --ca ca.pem --now "$T" 2>&1)
if [[ $? -eq 0 && $(fetched revocations.cose) == "200 " && -z $(fetched revocations-delta.cose) ]] &&
	[[ $(sqlite3 desk-v1.db "SELECT version FROM documents WHERE type = 2") == 3 ]]; then
	pass
else
	fail "two versions behind: $out; snapshot '$(fetched revocations.cose)', delta '$(fetched revocations-delta.cose)'"
fi

# ---- public-key pinning -----------------------------------------------------
pin_of() { openssl pkey -in "$1" -pubout -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64; }
right_pin="sha256//$(pin_of server.key)"
wrong_pin="sha256//$(pin_of otherca.key)"
must_refuse "pin mismatch" 69 "pinned|public key" "$T" --pin "$wrong_pin"

# ---- a chunked timestamp longer than the cap is cut while downloading ------
mkdir -p www/chunked
head -c 40000 /dev/urandom >www/chunked/timestamp.cose
headers=$(curl -s --cacert ca.pem -D - -o /dev/null "https://127.0.0.1:$port/chunked/timestamp.cose")
grep -qi '^transfer-encoding: chunked' <<<"$headers" && ! grep -qi '^content-length' <<<"$headers" &&
	pass || fail "the /chunked/ response is not chunked: $headers"
mark_log
must_refuse "chunked over the cap" 65 "longer than the 16384 bytes allowed" "$T" \
	--url "https://127.0.0.1:$port/chunked"

# ---- faults: each refused, the store unchanged -----------------------------
serve repo3
must_refuse "404" 69 "HTTP status 404" "$T" --url "https://127.0.0.1:$port/nothing"
must_refuse "500" 69 "HTTP status 500" "$T" --url "https://127.0.0.1:$port/err500"
must_refuse "server down" 69 "connect|refused" "$T" --url "https://127.0.0.1:$down_port/repo"
must_refuse "another CA" 69 "certificate" "$T" --ca otherca.pem
must_refuse "plain http" 64 "must be https" "$T" --url "http://127.0.0.1:$port/repo"

serve repo1
must_refuse "rollback" 65 "older than installed" "$T"

serve repo3
must_refuse "expired timestamp" 65 "timestamp.*expired" "$(at $((7200 + 2 * DAY)))"

# Same length, another publication.
serve repo3
cp repo2/policy.cose www/repo/policy.cose
must_refuse "mix-and-match" 65 "policy.cose: SHA-256 differs" "$T"

# The desk is one revocations version behind: it fetches the delta.
serve repo3
cp repo2/revocations-delta.cose www/repo/revocations-delta.cose
must_refuse "delta from another publication" 65 "revocations-delta.cose: longer than|SHA-256 differs" "$T"

serve repo3
head -c -10 repo3/revocations-delta.cose >www/repo/revocations-delta.cose
must_refuse "truncated" 65 "revocations-delta.cose: .*truncated" "$T"

serve repo3
{ cat repo3/policy.cose; printf 'trailing bytes'; } >www/repo/policy.cose
must_refuse "longer than announced" 65 "policy.cose: longer than" "$T"

serve repo3
cp repo3/timestamp.cose www/repo/timestamp.cose
size=$(stat -c %s www/repo/timestamp.cose)
last=$(od -An -tu1 -j $((size - 1)) -N1 www/repo/timestamp.cose | tr -d ' ')
printf "$(printf '\\%03o' $(((last + 1) % 256)))" |
	dd of=www/repo/timestamp.cose bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
must_refuse "tampered signature" 65 "bad-signature|verifies the signature" "$T"

# A key set signed by an issuer key: a copy of the domain whose issuer key is
# labelled root, so publish signs the key set with it.
cp -r dom dombad
root_kid=$(jq -r '.keys[] | select(.role == "root") | .kid' dom/domain.json)
iss_kid=$(jq -r '[.keys[] | select(.role == "issuer")][0].kid' dom/domain.json)
jq --arg r "$root_kid" --arg i "$iss_kid" \
	'.keys |= map(if .kid == $r then .role = "issuer" elif .kid == $i then .role = "root" else . end)' \
	dom/domain.json >dombad/domain.json
if "$issuer" --now "$(at 7200)" publish dombad repobad >/dev/null 2>publish-bad.err; then
	serve repobad
	must_refuse "wrong role" 65 "keyset must be signed by a root key" "$T"
else
	fail "could not publish with relabelled keys: $(cat publish-bad.err)"
fi

# After every fault, the good repository still syncs (with the right pin).
serve repo3
must_sync "sync after the faults" 0 "timestamp version 3 installed" "$T" --pin "$right_pin"

# ---- root rotation: 1 -> 2 -> 3, stepped; the new root's key set taken -----
"$issuer" --now "$(at 8000)" rotate-root dom >/dev/null || fail "rotate-root 2"
"$issuer" --now "$(at 8100)" rotate-root dom >/dev/null || fail "rotate-root 3"
"$issuer" --now "$(at 8200)" publish dom repo4 >/dev/null || fail "publish repo4"
serve repo4
mark_log
must_sync "root rotation" 0 "root version 3 installed \(was 1\)" "$(at 8300)"
[[ $(fetched root-2.cose) == "200 " && $(fetched root-3.cose) == "200 " ]] && pass ||
	fail "rotation: root-2 '$(fetched root-2.cose)', root-3 '$(fetched root-3.cose)'"
pinned=$(sqlite3 desk.db "SELECT value FROM meta WHERE name = 'root_version'")
[[ $pinned == 3 ]] && pass || fail "root_version after rotation: '$pinned'"
# A desk still at root 1 that is offered the new key set without the chain refuses it.
serve repo4
rm www/repo/root-2.cose
out=$("$ctl" sync --once --store desk-v1.db --url "$url" --ca ca.pem --now "$(at 8300)" 2>&1)
[[ $? -ne 0 ]] && grep -q "root-2.cose" <<<"$out" && pass || fail "root chain missing: $out"

# ---- key rotation and revocation by issuing key and time window, by sync ----
# A second office's key is added, the old key retired and a window of its issuance revoked;
# one publication carries all three, the desk takes it by sync (the revocations as a delta).
"$issuer" --now "$(at 8400)" init office2 >/dev/null || fail "init office2"
jq -r '.keys[] | select(.role == "issuer" and .alg == "EdDSA") | .public_key' office2/domain.json >office2.hex
old_kid=$(jq -r '[.keys[] | select(.role == "issuer" and .alg == "EdDSA")][0].kid' dom/domain.json)
"$issuer" --now "$(at 8400)" add-key dom --role issuer --public office2.hex >/dev/null || fail "add-key office2"
jq '.clearance_no = "2611012399"' card.json >card2.json
code_in=$("$issuer" --now "$(at 9000)" sign dom card2.json --key "$old_kid" 2>/dev/null) || fail "sign (in the window)"
code_out=$("$issuer" --now "$(at 9600)" sign dom card2.json --key "$old_kid" 2>/dev/null) || fail "sign (after it)"
code_late=$("$issuer" --now "$(at 9680)" sign dom card2.json --key "$old_kid" 2>/dev/null) || fail "sign (after retiring)"
code_new=$("$issuer" --now "$(at 9600)" sign office2 card2.json 2>/dev/null) || fail "sign (office 2)"
"$issuer" --now "$(at 9700)" revoke-range dom "$old_kid" "$(at 8900)" "$(at 9300)" --reason "account misused" \
	>/dev/null || fail "revoke-range"
"$issuer" --now "$(at 9700)" retire-key dom "$old_kid" --after "$(at 9650)" >/dev/null || fail "retire-key"
"$issuer" --now "$(at 9800)" publish dom repo5 >/dev/null || fail "publish repo5"
serve repo5
mark_log
must_sync "rotation and a revoked window" 0 "revocations version 5 installed \(was 4\).*as a delta" "$(at 9900)"
took_delta "the window"
judged() { # REASON CODE WHAT
	local got
	got=$("$ctl" check --store desk.db --json --now "$(at 10000)" "$2" | jq -r .reason)
	[[ $got == "$1" ]] && pass || fail "$3: wanted $1, got $got"
}
judged ISSUANCE_REVOKED "$code_in" "a card of the revoked window"
judged OK "$code_out" "the old key's card after the window, before its retirement"
judged KEY_NOT_VALID_AT_ISSUE "$code_late" "the old key's card after its retirement"
judged OK "$code_new" "the new key's card"
judged CARD_REVOKED "$code" "the card revoked by number still"

# ---- a delta that does not fit the desk's list: the snapshot, in the same sync ----
# A desk whose list drifted from the one its version number stands for (here it already holds
# the hash the next delta adds) is refused that delta by its store, takes the snapshot in the
# same sync and ends with the list the desk in step holds.
hashes() { od -An -tx1 -v -w16 "$1" | tr -d ' '; }
cp desk.db desk-drift.db
hashes dom/revocations.bin >rev-before.txt
"$issuer" --now "$(at 10800)" revoke dom 2611099999 >/dev/null || fail "revoke a second card"
hashes dom/revocations.bin >rev-after.txt
new_hash=$(comm -13 rev-before.txt rev-after.txt)
[[ ${#new_hash} -eq 32 ]] || fail "the new revocation's hash: '$new_hash'"
sqlite3 desk-drift.db "INSERT INTO revocations(hash) VALUES (x'$new_hash')" || fail "drift the desk"
"$issuer" --now "$(at 10800)" publish dom repo6 >/dev/null || fail "publish repo6"
serve repo6
mark_log
out=$("$ctl" sync --once --store desk-drift.db --url "$url" --ca ca.pem --now "$(at 10900)" 2>&1)
if [[ $? -eq 0 ]] && grep -qE "revocations version 6 installed \(was 5\).*the delta was refused \(.*already on the installed list.*\), the snapshot taken" <<<"$out" &&
	[[ $(fetched revocations-delta.cose) == "200 " && $(fetched revocations.cose) == "200 " ]]; then
	pass
else
	fail "a delta that does not fit: $out; delta '$(fetched revocations-delta.cose)', snapshot '$(fetched revocations.cose)'"
fi
must_sync "the desk in step takes the delta" 0 "revocations version 6 installed \(was 5\).*as a delta" "$(at 10900)"
list_of() { sqlite3 "$1" "SELECT hex(hash) FROM revocations ORDER BY hash"; }
[[ $(sqlite3 desk-drift.db "SELECT version FROM documents WHERE type = 2") == 6 && -n $(list_of desk.db) &&
	$(list_of desk-drift.db) == "$(list_of desk.db)" ]] && pass ||
	fail "the drifted desk's list after the snapshot differs from the desk in step's"

echo "sync: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
