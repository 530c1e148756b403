#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo as README's quick start runs it, and what the desk daemon links:
#   - `qrdesk-issuer demo DIR` makes the demo trust data (scripts/demo.sh runs it), a second
#     run changes nothing; `qrdeskd --demo` reads it and judges the sample cards as the README
#     says (valid, valid-es256: green; revoked, expired: red; domestic-kw: amber by the example
#     policy's Kuwait age rule); without the data it refuses, naming the command that makes it;
#   - qrdeskd holds no back-office signing code: no P-256 signing, no key generation, nothing
#     that signs cards or trust documents; its one signer is its own desk key's Ed25519 seal
#     over its audit batches (docs/audit-upload.md);
#   - qrdeskctl needs neither libgpiod nor libudev (reading a config pulls in no driver).
# Usage: demo.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-demo-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
. "$here/checks.sh"

# --- what the programs link (the binaries as built; readelf works for any architecture) ---
# A symbol a program defines or needs; both show in the dynamic and the full symbol table.
syms() { { nm "$1" 2>/dev/null; nm -D "$1" 2>/dev/null; } | awk '{print $NF}' | sort -u; }
signing='^(crypto_sign|crypto_sign_keypair|mbedtls_ecdsa_write_signature|mbedtls_ecdsa_sign|mbedtls_ecdsa_sign_det|mbedtls_ecdsa_sign_det_ext|signature_sign|signature_keypair_generate|cose_sign1_sign|domain_sign_card|domain_publish)$'
daemon_syms=$(syms "$qrdeskd")
check '[[ -n $daemon_syms ]] && grep -q "^crypto_sign_verify_detached$" <<<"$daemon_syms"' \
	"nm reads qrdeskd's symbols (it verifies with libsodium)"
check '! grep -E "$signing" <<<"$daemon_syms"' "qrdeskd holds no back-office signing function"
check 'grep -q "^auditbatch_sign$" <<<"$daemon_syms" && grep -q "^signature_sign_ed25519$" <<<"$daemon_syms"' \
	"qrdeskd's one signer: the desk key's Ed25519 seal over its audit batches"
check 'grep -Eq "$signing" < <(syms "$issuer")' "the same look finds the issuer's signing functions"
needed=$(readelf -d "$ctl" | grep NEEDED)
check '[[ -n $needed ]] && ! grep -Eq "libgpiod|libudev" <<<"$needed"' \
	"qrdeskctl needs neither libgpiod nor libudev: $needed"
check 'readelf -d "$qrdeskd" | grep NEEDED | grep -q libgpiod' "the same look finds qrdeskd's libgpiod"

# --- no demo data: a clear refusal ---------------------------------------------------
"$qrdeskd" --demo --demo-dir "$work/empty" </dev/null >refuse.log 2>&1
rc=$?
check '[[ $rc -ne 0 ]] && grep -q "qrdesk-issuer demo" refuse.log' "qrdeskd --demo without demo data: $(cat refuse.log)"

# --- the demo data, made once -------------------------------------------------------------
check '"$issuer" demo "$work/demo" >made.txt && [[ -s demo/desk.db ]]' "qrdesk-issuer demo makes the data"
sum=$(sha256sum demo/desk.db demo/cards/*.txt | sha256sum)
check '"$issuer" demo "$work/demo" >again.txt && grep -q "already" again.txt' "a second run says it is there"
check '[[ $(sha256sum demo/desk.db demo/cards/*.txt | sha256sum) == "$sum" ]]' "a second run changes nothing"

# --- the daemon in demo mode, on a free kiosk port --------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[kiosk]\nport = %s\n' "$port" >kiosk.conf
"$qrdeskd" --demo --demo-dir "$work/demo" --config "$work/kiosk.conf" </dev/null >daemon.log 2>&1 &
daemon_pid=$!
wait_for 20 '[[ -S demo/control.sock ]]' || fail "the demo daemon did not open its socket: $(cat daemon.log)"
while read -r name want; do
	"$ctl" scan --socket demo/control.sock "$(cat "demo/cards/$name.txt")" >"$name.json"
	got=$(jq -r .verdict "$name.json")
	check '[[ $got == "$want" ]]' "demo card $name: $want, got $got ($(cat "$name.json"))"
done <<'CARDS'
valid valid
valid-es256 valid
revoked invalid
expired invalid
domestic-kw review
CARDS
kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=""
check '[[ $rc -eq 0 ]]' "the demo daemon stops cleanly on SIGTERM (exit $rc)"

echo "demo: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
