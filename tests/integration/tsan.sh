#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The ThreadSanitizer pass of scripts/test.sh: qrdeskd built with -fsanitize=thread
# (QRDESK_TSAN=ON, clang) through the two daemon tests, side by side, and three unit tests:
#   daemon.sh       the loop, the indicator player, SIGHUP reloads, the control socket;
#   daemon_sync.sh  the kiosk's connection threads, the sync worker and the audit upload
#                   beside the loop, reloads while they log;
#   test_log        a reload rewriting the logger's settings while two threads log;
#   test_hid        the HID source's reader thread and its mailbox to the loop (codes, drops,
#                   the device going and coming, stop), and the loop held busy while it reads;
#   test_audit_writer  the audit rows' thread: the ring the loop fills and the thread
#                   empties, its reports through the loop, the stop.
# The tools (qrdeskctl, qrdesk-issuer) are the release build's: only the daemon is under test.
# Any report fails the pass: the daemon stops at the first (halt_on_error) and the report is
# printed.  About a minute.
# Usage: tsan.sh TSAN_BUILD_DIR RELEASE_BUILD_DIR
set -uo pipefail
tsan=$(realpath "$1")
release=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
reports=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-tsan-XXXXXX")
trap 'rm -rf "$reports"' EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/tsan"

tools=("$release/tools/qrdeskctl" "$release/tools/qrdesk-issuer")
bash "$here/daemon.sh" "$tsan/firmware/qrdeskd" "${tools[@]}" >"$reports/daemon.out" 2>&1 &
d1=$!
bash "$here/daemon_sync.sh" "$tsan/firmware/qrdeskd" "${tools[@]}" >"$reports/daemon_sync.out" 2>&1 &
d2=$!
"$tsan/tests/test_log" >"$reports/test_log.out" 2>&1
rc_log=$?
"$tsan/tests/test_hid" >"$reports/test_hid.out" 2>&1
rc_hid=$?
"$tsan/tests/test_audit_writer" >"$reports/test_audit_writer.out" 2>&1
rc_aw=$?
wait "$d1"
rc1=$?
wait "$d2"
rc2=$?

failed=0
for t in daemon:$rc1 daemon_sync:$rc2 test_log:$rc_log test_hid:$rc_hid test_audit_writer:$rc_aw; do
	name=${t%%:*} rc=${t##*:}
	if [[ $rc != 0 ]]; then
		echo "FAIL: $name under ThreadSanitizer (exit $rc)"
		tail -20 "$reports/$name.out"
		failed=1
	else
		echo "ok: $name under ThreadSanitizer"
	fi
done
for r in "$reports"/tsan.*; do
	[[ -e $r ]] || continue
	echo "FAIL: ThreadSanitizer report $r:"
	cat "$r"
	failed=1
done
exit $failed
