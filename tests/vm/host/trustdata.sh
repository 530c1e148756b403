# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/vm/run.sh: trust data made on the host with the real
# qrdesk-issuer and qrdeskctl, as a back office and a technician would.
#
# trustdata_make WORK DATA ISSUER CTL SPECIMEN fills DATA (it becomes /data
# in the VM) with desk.db (a provisioned store with the keyset and a
# revocation list) and cards/NAME.txt, one code text each (and NAME.png, its
# QR code, for valid, valid2, revoked and expired):
#   valid valid2 revoked expired tampered   the verdict cases
#   burst-01 .. burst-20                    distinct valid cards (speed)
#   bound                                   a traveller, with bound.mrz (the
#     passport's two MRZ lines), bound.bcbp (the boarding pass) and
#     bound-other.mrz (a passport with another birth date), by qrdesk-specimen

trustdata_card() { # WORK ISSUER NAME CLEARANCE_NO [jq edits]
	local work=$1 issuer=$2 name=$3 no=$4
	shift 4
	jq -n --arg no "$no" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' | jq "${@:-.}" >"$work/$name.json" &&
		"$issuer" sign "$work/dom" "$work/$name.json" --png "$work/$name.png" 2>/dev/null >"$work/$name.txt"
}

trustdata_make() {
	local work=$1 data=$2 issuer=$3 ctl=$4 specimen=$5 now i
	now=$(date +%s)
	mkdir -p "$work" "$data/cards"
	(cd "$work" && "$issuer" --now "$((now - 86400))" init dom >/dev/null) || return 1
	trustdata_card "$work" "$issuer" valid 2611000001 || return 1
	trustdata_card "$work" "$issuer" valid2 2611000002 || return 1
	trustdata_card "$work" "$issuer" revoked 2611000003 || return 1
	trustdata_card "$work" "$issuer" expired 2611000004 \
		".issued_at = $((now - 40000)) | .expires_at = $((now - 3600))" || return 1
	trustdata_card "$work" "$issuer" bound 2611000005 \
		'.passport_no = "EC1234567" | .name = "RAHIMA KHATUN" | .birth_date = "1994-03-12" | .sex = "F" | .destination = "KW" | .category = "DW"' ||
		return 1
	"$specimen" "$work/bound.json" >"$work/bound.docs" || return 1
	jq '.birth_date = "1994-03-13"' "$work/bound.json" >"$work/bound-other.json" || return 1
	"$specimen" "$work/bound-other.json" >"$work/bound-other.docs" || return 1
	sed -n 1,2p "$work/bound.docs" >"$data/cards/bound.mrz"
	sed -n 3p "$work/bound.docs" >"$data/cards/bound.bcbp"
	sed -n 1,2p "$work/bound-other.docs" >"$data/cards/bound-other.mrz"
	for i in $(seq -w 1 20); do
		trustdata_card "$work" "$issuer" "burst-$i" "26120000$i" || return 1
	done
	(cd "$work" && "$issuer" revoke dom 2611000003 >/dev/null && "$issuer" publish dom repo >/dev/null) || return 1
	"$ctl" provision --store "$data/desk.db" --root "$work/dom/root.pub" >/dev/null || return 1
	"$ctl" import --store "$data/desk.db" "$work"/repo/*.cose >/dev/null || return 1
	# One character changed 20 from the end: the signature no longer holds.
	local valid
	valid=$(cat "$work/valid.txt")
	local tampered="${valid:0:$((${#valid} - 20))}0${valid:$((${#valid} - 19))}"
	[[ $tampered == "$valid" ]] && tampered="${valid:0:$((${#valid} - 20))}1${valid:$((${#valid} - 19))}"
	echo "$tampered" >"$work/tampered.txt"
	cp "$work"/*.txt "$data/cards/"
	cp "$work"/valid.png "$work"/valid2.png "$work"/revoked.png "$work"/expired.png "$data/cards/"
}
