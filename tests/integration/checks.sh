# SPDX-License-Identifier: Apache-2.0
# checks.sh - what the integration scripts share: counted checks, waiting
# for a condition, a free port, a signed card.  Source it; set `slow` (a
# multiplier for every wait, e.g. 10 under valgrind) before calling wait_for
# if the daemon runs slowly.
failures=0
passes=0
slow=${slow:-1}
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() { if eval "$1"; then passes=$((passes + 1)); else fail "$2"; fi; }
wait_for() { # wait_for SECONDS CONDITION
	local deadline=$((SECONDS + $1 * slow))
	while ! eval "$2"; do
		((SECONDS > deadline)) && return 1
		sleep 0.05
	done
}
# A TCP port on 127.0.0.1 free at the moment of asking (for a server the test starts).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# card NAME CLEARANCE_NO [jq edits]: a card signed by the domain "dom" with $issuer,
# as NAME.json, NAME.txt and (CARD_PNG=1) NAME.png.
card() {
	local name=$1 no=$2
	shift 2
	jq -n --arg no "$no" '{clearance_no: $no, passport_no: "A12345678", name: "MD ABDUR RAHIM",
		birth_date: "1990-07-14", sex: "M", destination: "SA", category: "GW",
		employer: "AL MADINA GENERAL TRADING", agency_licence: "RL-0571",
		bmet_reg_no: "BMET20261122", pdo_completed: true}' | jq "${@:-.}" >"$name.json"
	local png=()
	[[ ${CARD_PNG:-0} == 1 ]] && png=(--png "$name.png")
	"$issuer" sign dom "$name.json" "${png[@]}" 2>/dev/null >"$name.txt"
}
# desk_conf DESK_ID: desk.conf for a qrdeskd on $PWD/desk.db, control socket $PWD/control.sock,
# simulated indicators, no kiosk.
desk_conf() {
	cat >desk.conf <<CONF
[desk]
desk_id = $1
store = $PWD/desk.db
control_socket = $PWD/control.sock
[indicators]
backend = sim
[kiosk]
enabled = false
CONF
}
