#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# No committed verdict is lost when the desk dies during a sync apply: the
# real qrdeskd judges scans (control socket) while `qrdeskctl import` applies a
# revocation list of ENTRIES hashes to the same store.  The import runs with
# WAL_SYNC_STOP (tests/support/wal_sync_stop.c) preloaded: at its commit, the rows
# written and the trust file's write lock held, it stops itself; the test waits
# for that stop (no polling race), more scans are answered, then qrdeskd is
# killed with SIGKILL (the crash test's method for a power cut), and the import
# too.  Each round: every verdict the daemon answered has its row in the audit
# file, and both files pass PRAGMA integrity_check.  ROUNDS rounds (default 3).
# Usage: audit_crash.sh QRDESKD QRDESKCTL QRDESK-ISSUER WAL_SYNC_STOP [ENTRIES] [ROUNDS]
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
wal_sync_stop=$(realpath "$4")
entries=${5:-300000}
rounds=${6:-3}
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-audit-crash-XXXXXX")
daemon_pid=""
import_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	[[ -n $import_pid ]] && kill -KILL "$import_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
. "$here/checks.sh"
die() { echo "FAIL: $*" >&2; exit 1; }

hashes() { # COUNT FILE: sorted unique random 16-byte hashes (domain.h's revocations.bin)
	python3 - "$1" "$2" <<'PY'
import os, sys
n, path = int(sys.argv[1]), sys.argv[2]
raw = os.urandom(16 * n)
open(path, "wb").write(b"".join(sorted({raw[i:i + 16] for i in range(0, len(raw), 16)})))
PY
}

now=$(date +%s)
"$issuer" --now "$((now - 600))" init dom >/dev/null || die "init"
card valid 2611000001
hashes 100 dom/revocations.bin
"$issuer" --now "$((now - 300))" publish dom old >/dev/null || die "publish old"
hashes "$entries" dom/revocations.bin
"$issuer" --now "$((now - 200))" publish dom new >/dev/null || die "publish new"
"$ctl" provision --store base.db --root dom/root.pub >/dev/null || die "provision"
"$ctl" import --store base.db old/*.cose >/dev/null || die "import old"
sqlite3 base.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

desk_conf CRASH-1

locked() { # the trust file's write lock is held by another connection
	local out
	out=$(sqlite3 desk.db "PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;" 2>&1)
	[[ $out == *"database is locked"* ]]
}
answered=0
scan() { # one scan through the daemon; counts it when a verdict came back (0-2: its kind;
	# every text is new, so 0 is never a duplicate)
	"$ctl" scan --socket control.sock "$1" >/dev/null 2>&1
	(($? <= 2)) && answered=$((answered + 1))
	return 0
}

start_daemon() { # N
	rm -f desk.db desk.db-wal desk.db-shm desk-audit.db desk-audit.db-wal desk-audit.db-shm
	cp base.db desk.db
	"$qrdeskd" --config desk.conf 2>"daemon-$1.log" &
	daemon_pid=$!
	wait_for 20 '[[ -S control.sock ]] && "$ctl" status --socket control.sock >/dev/null 2>&1' ||
		die "round $1: qrdeskd did not come up"
}

# Start the import and wait until it has stopped itself at its commit (the WAL
# past 1 MiB: the apply's, not a small transaction's), the trust file's lock held.
# Under ASan the preloaded seam comes before the sanitizer's runtime: allowed.
stopped() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]]; }
catch_apply() {
	LD_PRELOAD=$wal_sync_stop QRDESK_STOP_AT_WAL_SYNC=1048576 \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		"$ctl" import --store desk.db new/revocations.cose >/dev/null 2>&1 &
	import_pid=$!
	wait_for 120 'stopped "$import_pid" || ! kill -0 "$import_pid" 2>/dev/null'
	stopped "$import_pid" || die "round $1: the import did not stop at its commit"
	locked || die "round $1: the import stopped without the trust file's lock"
}

round() { # N
	start_daemon "$1"
	answered=0
	scan "$(cat valid.txt)" # a green row: its "already used" marker commits with it
	scan "BC1:BEFORE-$1"
	catch_apply "$1"
	local i during=0
	for i in $(seq 10); do
		scan "BC1:NOT-A-CARD-$1-$i"
		during=$((during + 1))
	done
	locked || die "round $1: the apply no longer holds the trust file"
	kill -KILL "$daemon_pid"
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=""
	kill -KILL "$import_pid" 2>/dev/null
	wait "$import_pid" 2>/dev/null
	import_pid=""
	rm -f control.sock

	local rows integrity
	rows=$(sqlite3 desk-audit.db "SELECT count(*) FROM audit")
	check '[[ $rows == "$answered" ]]' "round $1: $answered verdicts answered ($during while the apply held the trust file), $rows audit rows after kill -9"
	check '[[ $(sqlite3 desk-audit.db "SELECT count(*) FROM used_cards") == 1 ]]' "round $1: the green card's marker survived"
	for f in desk.db desk-audit.db; do
		integrity=$(sqlite3 "$f" "PRAGMA integrity_check" 2>&1)
		check '[[ $integrity == ok ]]' "round $1: $f integrity_check: $integrity"
	done
}

for r in $(seq "$rounds"); do round "$r"; done
echo "audit_crash: $rounds rounds, $passes checks passed, $failures failed"
((failures == 0))
