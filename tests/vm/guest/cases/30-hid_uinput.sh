# SPDX-License-Identifier: Apache-2.0
# Many codes quickly: a uinput keyboard with a scanner's USB id types 20
# distinct valid cards back to back; every one must come through whole.
. /lib.sh
VID=05e0 PID=1200
modprobe uinput && modprobe evdev || { fail "cannot load uinput"; finish; }
desk_setup
sim_indicators
cat >>desk.conf <<CONF
[hid]
device = $VID:$PID
key_timeout_ms = 1000
CONF
mkfifo keys.fifo
# Each code once the daemon has judged the one before (--pace: below).
vm_keytype uinput $VID:$PID 1000 0 --pace "$PWD/daemon.pid" "$PWD/daemon.log" <keys.fifo >keytype.out &
typer=$!
exec 3>keys.fifo
wait_for 10 'grep -q ready keytype.out' || fail "no uinput device"
start_daemon
echo "$daemon_pid" >daemon.pid
dropped() { qrdeskctl status --socket control.sock | sed -nE 's/^ +hid .*dropped ([0-9]+).*/\1/p'; }
wait_log 20 'source hid: running: .*\(grabbed\)'
# Type only once the daemon's loop runs: until then nothing reads the event node, whose
# kernel queue holds only a few keystrokes (64 events).
wait_log 20 'qrdeskd .* ready: '
n=0
want=""
for c in /data/cards/burst-*.txt; do
	cat "$c"
	n=$((n + 1))
	want="${want}valid:OK "
done >codes.txt
# A key every millisecond (a fast USB scanner), each code typed once the
# daemon has judged the one before: its verdict in the log and its loop back
# in epoll_wait (vm_keytype --pace), so the audit row is written too.  The
# evdev queue holds 64 events (~8 shifted keys) and is read only between the
# loop's callbacks; the fixed 0.3 s gap used before was outlasted, on a loaded
# host under TCG, by a verdict (signature, already-used lookup, audit commit):
# the next code's first keys overflowed the queue and it was dropped.  The
# runner only greps the log meanwhile (it never asks the daemon: a status
# request is built on the loop).
t0=$(uptime_ds)
cat codes.txt >&3
wait_verdicts $n 180
t1=$(uptime_ds)
audit_rows() { sqlite3 desk-audit.db "SELECT count(*) FROM audit"; }
wait_for 30 '[ "$(audit_rows)" -ge $n ]' # each row is written just after its verdict's log line
check_verdicts "$want" hid
check '[ "$(dropped)" = 0 ]' "no code dropped ($(grep "code dropped" daemon.log | head -n 3 | tr '\n' ' '))"
echo "# $CASE: verdict latency at most $(grep -o 'latency_us=[0-9]*' daemon.log | cut -d= -f2 | sort -n | tail -n 1) us"
chars=$(wc -c <codes.txt)
echo "# $CASE: $n codes ($chars characters) typed and judged in $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 10 }') s"
exec 3>&-
kill -TERM $typer
wait $typer
wait_log 20 'source hid: absent'

# Scanner speed: the same 20 codes with 20 ms between them (a key every
# millisecond), from a new uinput keyboard (the source finds it again).
# Under TCG the evdev queue may overflow; the kernel says SYN_DROPPED and
# qrdeskd must drop the code it hit, never judge a mangled one: every
# verdict is the right one (the cards were just used: ALREADY_USED), and
# the verdicts and the codes dropped add up to the codes typed.
drops_before=$(dropped)
mkfifo keys2.fifo
vm_keytype uinput $VID:$PID 1000 20000 <keys2.fifo >keytype2.out &
typer=$!
exec 3>keys2.fifo
wait_for 10 'grep -q ready keytype2.out' || fail "no second uinput device"
wait_for 20 '[ "$(grep -cE "source hid: running: .*\(grabbed\)" daemon.log)" -ge 2 ]' ||
	fail "the second uinput keyboard was not found"
t0=$(uptime_ds)
cat codes.txt >&3
exec 3>&-
# Nothing asks the daemon anything while the keys are typed (a status request is
# built on its loop and would hold the keys up): the typer says when it is done.
wait_for 180 'grep -q typed keytype2.out' || fail "the second keyboard did not finish typing"
# A drop discards up to the next Enter, which may itself have been lost:
# one drop can take a neighbouring code with it, so between n - lost and n
# codes are accounted for.  Wait for all of them, or for quiet (nothing
# new for 5 s; a code takes well under a second to type here).
accounted() { echo $(($(verdicts) - n + $(dropped) - drops_before)); }
quiet() {
	now=$(accounted)
	[ "$now" != "${last_seen:-}" ] && last_seen=$now && quiet_since=$(uptime_ds)
	[ "$now" -gt 0 ] && [ $(($(uptime_ds) - quiet_since)) -ge 50 ]
}
quiet_since=$(uptime_ds)
wait_for 180 '[ "$(accounted)" -ge $n ] || quiet' || fail "codes neither judged nor dropped: $(accounted) of $n accounted for"
t1=$(uptime_ds)
fast=$(($(verdicts) - n))
lost=$(($(dropped) - drops_before))
wrong=$(grep -E '^<[0-9]>verdict [0-9]+ ' daemon.log | tail -n +$((n + 1)) | grep -vc ' review ALREADY_USED ')
check '[ "$wrong" = 0 ] && [ "$fast" -ge 1 ] && [ $((fast + lost)) -le $n ] && [ $((fast + 2 * lost)) -ge $n ]' "at scanner speed: $fast judged (ALREADY_USED), $lost dropped for lost keys, $wrong wrong"
used_rows() { sqlite3 desk-audit.db "SELECT count(*) FROM audit WHERE verdict = 'review' AND reason = 'ALREADY_USED' AND source = 'hid'"; }
wait_for 10 '[ "$(used_rows)" -ge "$fast" ]'
rows=$(used_rows)
check '[ "$rows" = "$fast" ]' "an audit row for each code judged at scanner speed ($rows)"
echo "# $CASE: $n codes at 20 ms apart in $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 10 }') s: $fast judged, $lost dropped"
kill -TERM $typer
wait $typer
stop_daemon
finish
