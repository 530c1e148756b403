#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issuer keys in a token, through PKCS#11, against SoftHSMv2: a token made in this test's own
# folder (SOFTHSM2_CONF), keys generated inside it by OpenSC's pkcs11-tool (never exported),
# registered with `qrdesk-issuer add-key --pkcs11`, cards signed through it (EdDSA and ES256) and
# accepted by `qrdeskctl check`; the repository key in the token signing what publish writes; the
# update key in the token signing a USB bundle the desk applies; the
# root rotating from a file into the token, back to a file, and into the token again, each step
# imported by a desk that pinned the first root.  Bad input: a missing module, a wrong PIN, no PIN,
# a PIN in the URI, a token without the object, a key of the wrong type, another token: each a
# clear error naming the key, with its documented exit code, and DIR unchanged.
# Usage: pkcs11.sh QRDESK-ISSUER QRDESKCTL
set -uo pipefail

# Under ASan: the token module's own leaks are not ours (pkcs11.lsan says why).
here=$(dirname "$(realpath "$0")")
export LSAN_OPTIONS="suppressions=$here/pkcs11.lsan:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

issuer=$(realpath "$1")
ctl=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-pkcs11-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

. "$here/checks.sh"
pass() { passes=$((passes + 1)); }
must_exit() { # EXIT DESCRIPTION command...
	local want=$1 what=$2
	shift 2
	"$@" >cmd.out 2>&1
	local got=$?
	if [[ $got == "$want" ]]; then pass; else fail "$what: exit $got, wanted $want"; cat cmd.out >&2; fi
}
said() { grep -qF -- "$1" cmd.out && pass || { fail "$2: output lacks '$1'"; cat cmd.out >&2; }; }

module=$(sed -n 's/^module: *//p' /usr/share/p11-kit/modules/softhsm2.module 2>/dev/null)
if [[ -z $module || ! -e $module ]] || ! command -v pkcs11-tool >/dev/null; then
	echo "pkcs11: SoftHSMv2 or pkcs11-tool missing (scripts/install-deps.sh installs them)" >&2
	exit 1
fi

# The token lives here only: SoftHSM reads SOFTHSM2_CONF, p11-kit loads SoftHSM as registered.
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$work" >softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf
unset QRDESK_PKCS11_PIN
softhsm2-util --init-token --free --label bmet --so-pin 87654321 --pin 123456 >/dev/null ||
	{ echo "pkcs11: cannot make a SoftHSM token" >&2; exit 1; }
softhsm2-util --init-token --free --label spare --so-pin 87654321 --pin 123456 >/dev/null
keygen() { # LABEL ID TYPE: a key pair made inside the token, never extractable
	pkcs11-tool --module "$module" --token-label bmet --login --pin 123456 --keypairgen \
		--key-type "$3" --label "$1" --id "$2" >/dev/null 2>&1 || fail "keygen $1 ($3)"
}
keygen issuer-ed 01 EC:edwards25519
keygen issuer-p256 02 EC:prime256v1
keygen repo-ed 03 EC:edwards25519
keygen root-ed 04 EC:edwards25519
keygen root-p256 05 EC:prime256v1
keygen update-ed 07 EC:edwards25519
keygen old-rsa 06 rsa:1024
# Made inside the token, the private keys can never leave it: the token says so for each.
pkcs11-tool --module "$module" --token-label bmet --login --pin 123456 --list-objects --type privkey \
	2>/dev/null >privkeys.txt
[[ $(grep -c 'Access:' privkeys.txt) == 7 && $(grep -c 'Access:.*sensitive.*never extractable' privkeys.txt) == 7 ]] &&
	pass || fail "the token's private keys are not all sensitive and never extractable: $(cat privkeys.txt)"
printf '123456\n' >pin
printf '000000\n' >badpin
tok="pkcs11:token=bmet;object="

claims() { # FILE CLEARANCE_NO
	jq -n --arg no "$2" '{clearance_no: $no, passport_no: "A12345678", name: "RAHIMA KHATUN",
		birth_date: "1994-03-12", sex: "F", destination: "KW", category: "DW",
		employer: "AL FAHAD TRADING CO", agency_licence: "RL-1234", bmet_reg_no: "BMET11223344",
		pdo_completed: true}' >"$1"
}
judged() { # VERDICT/REASON CODE: qrdeskctl check gives it
	local got
	got=$("$ctl" check --store desk.db --json "$2" | jq -r '.verdict + "/" + .reason')
	[[ $got == "$1" ]] && pass || fail "wanted $1, got $got"
}
import_all() { # REPO
	# the newest root only: the desk stepped through the earlier ones already
	local files=($(ls -v "$1"/root-*.cose 2>/dev/null | tail -1) "$1"/keyset.cose "$1"/revocations.cose
		"$1"/policy.cose "$1"/timestamp.cose)
	must_exit 0 "import $1" "$ctl" import --store desk.db "${files[@]}"
}

# A domain made a day ago, so keys registered now are the newest.
"$issuer" --now "$(($(date +%s) - 86400))" init bo >/dev/null
must_exit 0 "provision" "$ctl" provision --store desk.db --root bo/root.pub

# --- bad input: each refused, naming the key, DIR unchanged -----------------------------
snapshot() { (cd bo && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)
must_exit 66 "a module that is missing" "$issuer" --pin-file pin add-key bo --role issuer \
	--pkcs11 "${tok}issuer-ed?module-path=$work/no-such-module.so"
said "${tok}issuer-ed?module-path=$work/no-such-module.so: PKCS#11 module $work/no-such-module.so cannot be loaded" "missing module"
must_exit 77 "a wrong PIN" "$issuer" --pin-file badpin add-key bo --role issuer --pkcs11 "${tok}issuer-ed"
said "${tok}issuer-ed: the PIN is wrong" "wrong PIN"
must_exit 77 "no PIN at all" "$issuer" add-key bo --role issuer --pkcs11 "${tok}issuer-ed"
said "no PIN" "no PIN"
must_exit 65 "a PIN in the URI" "$issuer" add-key bo --role issuer --pkcs11 "${tok}issuer-ed?pin-value=123456"
said "${tok}issuer-ed?pin-value=...: a PIN in the URI is refused" "pin-value"
grep -q 123456 cmd.out && fail "the refusal shows the PIN: $(cat cmd.out)" || pass
must_exit 66 "a token without the object" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "${tok}nothing-here"
said "${tok}nothing-here: the token holds no private key" "missing object"
must_exit 66 "no such token" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "pkcs11:token=elsewhere;object=issuer-ed"
said "pkcs11:token=elsewhere;object=issuer-ed: no token matches" "missing token"
must_exit 66 "the right object in another token" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "pkcs11:token=spare;object=issuer-ed"
said "pkcs11:token=spare;object=issuer-ed: the token holds no private key" "object in another token"
must_exit 65 "a key of the wrong type (RSA)" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "${tok}old-rsa"
said "${tok}old-rsa: the key is not Ed25519 or P-256" "wrong type"
must_exit 65 "not a PKCS#11 URI" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "file:///etc/passwd"
said "file:///etc/passwd: not a PKCS#11 URI" "not a URI"
[[ $(snapshot) == "$before" ]] && pass || fail "a refused add-key changed DIR"

# --- issuer keys in the token ------------------------------------------------------------
must_exit 0 "add-key EdDSA in the token" "$issuer" --pin-file pin add-key bo --role issuer \
	--pkcs11 "${tok}issuer-ed" --label "HSM 2027"
ed_kid=$(jq -r --arg u "${tok}issuer-ed" '.keys[] | select(.pkcs11_uri == $u) | .kid' bo/domain.json)
must_exit 0 "add-key ES256 in the token" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "${tok}issuer-p256"
p256_kid=$(jq -r --arg u "${tok}issuer-p256" '.keys[] | select(.pkcs11_uri == $u) | .kid' bo/domain.json)
[[ $(jq -r --arg k "$p256_kid" '.keys[] | select(.kid == $k) | .alg' bo/domain.json) == ES256 ]] && pass ||
	fail "the P-256 key is not ES256"
[[ ! -e bo/keys/$ed_kid.key && ! -e bo/keys/$p256_kid.key ]] && pass || fail "a token key has a key file"
must_exit 73 "the same token key again" "$issuer" --pin-file pin add-key bo --role issuer --pkcs11 "${tok}issuer-ed"
said "$ed_kid" "duplicate names the kid"
"$issuer" keys bo >keys.out
grep -E "^issuer +EdDSA +$ed_kid .* pkcs11 +active +HSM 2027" keys.out >/dev/null && pass || fail "keys: $(cat keys.out)"

# The repository key in the token too: publish signs revocations, policy, timestamp with it.
must_exit 0 "add-key repository in the token" "$issuer" --pin-file pin add-key bo --role repository --pkcs11 "${tok}repo-ed"
# And the update key: it signs a USB bundle through the token.
must_exit 0 "add-key update in the token" "$issuer" --pin-file pin add-key bo --role update --pkcs11 "${tok}update-ed"
upd_kid=$(jq -r --arg u "${tok}update-ed" '.keys[] | select(.pkcs11_uri == $u) | .kid' bo/domain.json)
must_exit 0 "publish (repository key in the token)" "$issuer" --pin-file pin publish bo repo1
import_all repo1
mkdir -p stick/qrdesk
must_exit 0 "bundle signed by the update key in the token" "$issuer" --pin-file pin bundle bo \
	stick/qrdesk/u.qrbundle --set pipeline.holdoff_ms=4000 --key "$upd_kid"
printf '[desk]\ndesk_id = DESK-1\n' >"$work/desk.conf"
must_exit 0 "the desk applies the token-signed bundle" "$ctl" usb --store desk.db \
	--config "$work/desk.conf" --desk DESK-1 --dropin "$work/usb.conf" "$work/stick"
said "USB: applied" "bundle applied"
grep -qx 'holdoff_ms = 4000' usb.conf && pass || fail "the bundle's setting is not in the drop-in: $(cat usb.conf)"

claims c1.json 2611000001
must_exit 0 "plain sign picks the newest key: the token's" "$issuer" --pin-file pin sign bo c1.json
code_plain=$(grep '^BC1:' cmd.out)
[[ $("$ctl" check --store desk.db --json "$code_plain" | jq -r .kid) == "$ed_kid" ]] && pass ||
	fail "plain sign did not use the token key"
code_ed=$("$issuer" --pin-file pin sign bo c1.json --key "$ed_kid" 2>/dev/null)
code_p256=$("$issuer" --pin-file pin sign bo c1.json --key "$p256_kid" 2>/dev/null)
QRDESK_PKCS11_PIN=123456 "$issuer" sign bo c1.json --key "$p256_kid" >env.out 2>/dev/null && pass ||
	fail "the PIN from the environment"
judged valid/OK "$code_plain"
judged valid/OK "$code_ed"
judged valid/OK "$code_p256"
judged valid/OK "$(grep '^BC1:' env.out)"
must_exit 77 "sign with a wrong PIN" "$issuer" --pin-file badpin sign bo c1.json --key "$ed_kid"
said "the PIN is wrong" "sign wrong PIN"

# --- the root: file -> token -> file -> token ---------------------------------------------
must_exit 0 "rotate-root into the token" "$issuer" --pin-file pin rotate-root bo --pkcs11 "${tok}root-ed"
must_exit 0 "publish (root 2, in the token)" "$issuer" --pin-file pin publish bo repo2
import_all repo2
must_exit 0 "rotate-root back to a file" "$issuer" --pin-file pin rotate-root bo
must_exit 0 "publish (root 3, a file)" "$issuer" --pin-file pin publish bo repo3
import_all repo3
must_exit 0 "rotate-root into the token again (P-256)" "$issuer" --pin-file pin rotate-root bo --pkcs11 "${tok}root-p256"
must_exit 0 "publish (root 4, in the token)" "$issuer" --pin-file pin publish bo repo4
import_all repo4
judged valid/OK "$code_ed"
judged valid/OK "$code_p256"
[[ $(jq '[.keys[] | select(.role == "root" and .status == "active")] | length' bo/domain.json) == 1 ]] && pass ||
	fail "more than one active root"
[[ $(jq -r '.keys[] | select(.role == "root" and .status == "active") | .secret' bo/domain.json) == pkcs11 ]] && pass ||
	fail "the active root is not the token's"

echo "pkcs11: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
