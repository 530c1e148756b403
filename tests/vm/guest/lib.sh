# SPDX-License-Identifier: Apache-2.0
# Sourced by each case in the VM (busybox sh).  The same checks as the host
# integration tests (tests/integration/daemon.sh): a case counts its checks
# and exits non-zero if any failed; it prints "ok - ..." or "FAIL: ...".
# The working folder is /tmp/$CASE; /data holds the host-made trust data.

failures=0
fail() {
	echo "FAIL: $CASE: $*"
	failures=$((failures + 1))
}
check() { # check CONDITION MESSAGE
	if eval "$1"; then echo "ok - $CASE: $2"; else fail "$2"; fi
}
finish() {
	[ -n "${daemon_pid:-}" ] && kill -KILL "$daemon_pid" 2>/dev/null
	if [ "$failures" -ne 0 ]; then
		echo "# $CASE: daemon log, last lines:"
		tail -n 30 daemon.log 2>/dev/null | sed 's/^/# /'
	fi
	exit $((failures != 0))
}

uptime_ds() { # the uptime in tenths of a second
	awk '{ printf "%d", $1 * 10 }' /proc/uptime
}
wait_for() { # wait_for SECONDS CONDITION
	deadline=$(($(uptime_ds) + $1 * 10))
	while ! eval "$2"; do
		[ "$(uptime_ds)" -gt "$deadline" ] && return 1
		sleep 0.05
	done
}

# A copy of the host-made store and a configuration with the common keys;
# the case appends its own sections.
desk_setup() {
	cp /data/desk.db desk.db
	# The desk's own key (made at provisioning) signs the batches a USB export carries.
	if [ -f /data/desk.key ]; then
		cp /data/desk.key desk.key
		chmod 600 desk.key
	fi
	cat >desk.conf <<CONF
[desk]
desk_id = VM-1
store = $PWD/desk.db
control_socket = $PWD/control.sock
log_level = info
[pipeline]
holdoff_ms = 500
already_used_check = true
[kiosk]
enabled = false
CONF
}
card() { cat "/data/cards/$1.txt"; }
# Simulated indicators recording each transition (the GPIO case has real ones).
sim_indicators() {
	cat >>desk.conf <<CONF
[indicators]
backend = sim
sim_record = $PWD/indicators.log
valid_ms = 200
invalid_ms = 300
review_ms = 300
beep_ms = 20
gap_ms = 20
CONF
}

daemon_pid=""
start_daemon() {
	qrdeskd --config desk.conf 2>>daemon.log &
	daemon_pid=$!
	wait_for 30 '[ -S control.sock ]' || { fail "daemon did not start"; finish; }
}
stop_daemon() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	rc=$?
	daemon_pid=""
	check "[ $rc = 0 ]" "clean exit after SIGTERM (got $rc)"
}

# Verdict lines look like "<6>verdict 7 invalid BAD_PREFIX source=hid ...".
verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' daemon.log; }
wait_verdicts() { # wait_verdicts N [SECONDS]
	wait_for "${2:-30}" "[ \$(verdicts) -ge $1 ]" || fail "waited for $1 verdicts, have $(verdicts)"
}
verdict_seq() {
	grep -E '^<[0-9]>verdict [0-9]+ ' daemon.log |
		sed -E 's/^<[0-9]>verdict [0-9]+ ([a-z]+) ([A-Z0-9_]+) .*/\1:\2/' | tr '\n' ' '
}
audit_seq() {
	sqlite3 desk-audit.db "SELECT verdict || ':' || reason FROM audit ORDER BY id" | tr '\n' ' '
}
# Verdicts, their sources and audit rows, against "verdict:REASON ..." lists.
check_verdicts() { # check_verdicts EXPECTED SOURCE
	want=$1
	got=$(verdict_seq)
	check '[ "$got" = "$want" ]' "verdict sequence
  got:  $got
  want: $want"
	rows=$(audit_seq)
	check '[ "$rows" = "$want" ]' "audit rows match the verdicts: $rows"
	others=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE source <> '$2' OR desk <> 'VM-1'")
	check '[ "$others" = 0 ]' "every audit row is from source $2 at desk VM-1 ($others are not)"
}
wait_log() { # wait_log SECONDS EXTENDED-REGEX
	wait_for "$1" "grep -qE '$2' daemon.log" || fail "no log line matching '$2'"
}

# USB gadgets on dummy_hcd: gadget_create, gadget_plug, gadget_hid_keyboard, gadget_stick...
. /gadget.sh

# The colours lit, in order, from the sim backend's record (one letter per
# pattern when each pattern ends before the next verdict).
all_off() { [ "$(tail -n1 indicators.log | cut -d" " -f2-)" = "0 0 0 0" ]; }
led_colours() {
	awk '{ c = $2 ? "G" : $3 ? "R" : $4 ? "A" : "-"; if (c != last && c != "-") printf "%s", c; last = c }' indicators.log
}
