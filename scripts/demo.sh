#!/usr/bin/env bash
# The demo: install what is missing, build, make demo trust data (once), and
# check codes the way a desk does. Codes come from standard input, one per
# line, or from QR images in a folder (--images DIR, decoded with ZBar).
#
# The daemon (qrdeskd) with its kiosk page and indicators is not built yet;
# until it is, this runs the desk's exact check path through qrdeskctl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

images=""
if [[ ${1:-} == --images ]]; then
	images=${2:?--images needs a folder}
fi

scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target qrdesk-issuer qrdeskctl >/dev/null
issuer=$root/build/release/tools/qrdesk-issuer
ctl=$root/build/release/tools/qrdeskctl

demo=$root/demo
if [[ ! -f $demo/desk.db ]]; then
	echo "demo: making a demo trust domain, cards and a desk store in $demo" >&2
	rm -rf "$demo"
	mkdir -p "$demo/cards"
	# Keys valid from 2025 so the expired demo card was signed inside its key's window.
	"$issuer" --now 2025-01-01 init "$demo/domain" >/dev/null
	card() { # card NAME CLEARANCE_NO [jq edits]
		local name=$1 no=$2
		shift 2
		jq -n --arg no "$no" '{clearance_no: $no, passport_no: "A01234567",
			name: "MD ABDUR RAHIM", birth_date: "1990-07-14", sex: "M",
			destination: "SA", category: "GW", employer: "AL MADINA CONSTRUCTION",
			agency_licence: "RL-0571", bmet_reg_no: "BMET20261122", pdo_completed: true}' |
			jq "${@:-.}" >"$demo/cards/$name.json"
		"$issuer" sign "$demo/domain" "$demo/cards/$name.json" --png "$demo/cards/$name.png" \
			2>/dev/null >"$demo/cards/$name.txt"
	}
	card valid 2611000101
	card valid-es256 2611000102
	"$issuer" sign "$demo/domain" "$demo/cards/valid-es256.json" --alg es256 \
		--png "$demo/cards/valid-es256.png" 2>/dev/null >"$demo/cards/valid-es256.txt"
	card revoked 2611000103
	card expired 2611000104 '.issued_at = "2026-01-01" | .expires_at = "2026-03-01"'
	card domestic-kw 2611000105 '.name = "RAHIMA KHATUN" | .sex = "F" | .destination = "KW" | .category = "DW" | .birth_date = "2004-02-10"'
	"$issuer" revoke "$demo/domain" 2611000103 >/dev/null
	"$issuer" publish "$demo/domain" "$demo/repo" >/dev/null
	"$ctl" provision --store "$demo/desk.db" --root "$demo/domain/root.pub" >/dev/null
	"$ctl" import --store "$demo/desk.db" "$demo"/repo/{keyset,revocations,policy,timestamp}.cose >/dev/null
fi

check() {
	"$ctl" check --store "$demo/desk.db" "$1" || true
	echo
}

if [[ -n $images ]]; then
	shopt -s nullglob
	for f in "$images"/*.png "$images"/*.pgm "$images"/*.jpg; do
		echo "== $f"
		code=$(zbarimg -q --raw "$f" 2>/dev/null | head -n 1 || true)
		if [[ -z $code ]]; then echo "no QR code found"; echo; continue; fi
		check "$code"
	done
	exit 0
fi

if [[ -t 0 ]]; then
	echo "Demo cards (text and PNG) are in $demo/cards. Try:" >&2
	echo "  cat $demo/cards/*.txt | scripts/demo.sh" >&2
	echo "  scripts/demo.sh --images $demo/cards" >&2
	echo "Paste a code and press Enter (Ctrl-D ends):" >&2
fi
while IFS= read -r line || [[ -n $line ]]; do
	line=${line%$'\r'}
	[[ -z $line ]] && continue
	check "$line"
done
