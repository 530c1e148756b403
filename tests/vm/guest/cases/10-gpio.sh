# SPDX-License-Identifier: Apache-2.0
# The indicators on real GPIO lines: gpio-sim (built out of tree for this
# kernel) makes a 32-line chip through configfs; qrdeskd's libgpiod backend
# drives green 17, red 27, amber 22 and the buzzer 23 on it, and the runner
# samples the lines through the sim's sysfs values.  Then what happens on
# kill -9 (the daemon cannot switch anything off) and at the next start.
. /lib.sh
insmod /lib/modules/$(uname -r)/extra/gpio-sim.ko || { fail "cannot load gpio-sim"; finish; }
sim=/sys/kernel/config/gpio-sim/desk
mkdir "$sim" "$sim/bank0"
echo 32 >"$sim/bank0/num_lines"
echo desk-leds >"$sim/bank0/label"
echo 1 >"$sim/live" || { fail "cannot make the gpio-sim bank live"; finish; }
chip=$(cat "$sim/bank0/chip_name")
lines=/sys/devices/platform/$(cat "$sim/dev_name")/$chip
check '[ -c /dev/$chip ] && [ -r $lines/sim_gpio17/value ]' "gpio-sim chip /dev/$chip with its sysfs lines"
value() { cat "$lines/sim_gpio$1/value"; }
# Shell built-ins only (no fork per sample: under TCG a fork costs ~10 ms).
sample() { # sets now to "green red amber buzzer"
	read -r g <"$lines/sim_gpio17/value"
	read -r r <"$lines/sim_gpio27/value"
	read -r a <"$lines/sim_gpio22/value"
	read -r b <"$lines/sim_gpio23/value"
	now="$g $r $a $b"
}
state() {
	sample
	echo "$now"
}

desk_setup
cat >>desk.conf <<CONF
[indicators]
backend = gpiod
chip = desk-leds
green = 17
red = 27
amber = 22
buzzer = 23
valid_ms = 1500
invalid_ms = 3000
review_ms = 2000
beep_ms = 500
gap_ms = 500
[replay]
fifo = $PWD/codes.fifo
CONF

# Sample the four lines; one record per change: "green red amber buzzer".
sampler() {
	last=""
	while :; do
		sample
		[ "$now" != "$last" ] && echo "$now" >>lines.log
		last=$now
		sleep 0.02
	done
}
sampler &
sampler_pid=$!

start_daemon
wait_for 10 '[ -p codes.fifo ]' || fail "no replay FIFO"
check '[ "$(state)" = "0 0 0 0" ]' "all lines off at start-up"
check '[ "$(grep qrdeskd /sys/kernel/debug/gpio | grep -c " out ")" = 4 ]' "the four lines are outputs held by qrdeskd: $(grep qrdeskd /sys/kernel/debug/gpio | tr -s ' ' | tr '\n' ';')"
exec 7>codes.fifo
n=0
present() { # present TEXT: one code, its verdict, its pattern's end
	echo "$1" >&7
	n=$((n + 1))
	wait_verdicts $n 30
	wait_for 10 '[ "$(state)" = "0 0 0 0" ]' || fail "lines not all off after pattern $n: $(state)"
}
present "$(card valid)"
present "$(card revoked)"
sleep 0.6 # past the hold-off
present "$(card valid)"
check_verdicts "valid:OK invalid:CARD_REVOKED review:ALREADY_USED " fifo
leds=$(awk '{ c = $1 ? "G" : $2 ? "R" : $3 ? "A" : "-"; if (c != last && c != "-") printf "%s", c; last = c }' lines.log)
check '[ "$leds" = GRA ]' "lines lit in verdict order: $leds"
beeps=$(awk '$4 == 1 && prev == 0 { n++ } { prev = $4 } END { print n + 0 }' lines.log)
check '[ "$beeps" = 6 ]' "buzzer 1 + 3 + 2 beeps: $beeps"
both=$(awk '($1 + $2 + $3) > 1 { n++ } END { print n + 0 }' lines.log)
check '[ "$both" = 0 ]' "never two colours at once ($both samples)"

# kill -9 in the middle of a green pattern.  The daemon cannot switch off;
# the kernel releases the lines when the process dies, and gpio-sim then
# sets a released line to its pull (pull-down: 0).  A real chip keeps
# driving the last value: see docs/vm-tests.md.
echo "$(card valid2)" >&7
wait_for 10 '[ "$(value 17)" = 1 ]' || fail "green not lit for valid2"
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
exec 7>&-
check '! grep -q qrdeskd /sys/kernel/debug/gpio' "the kernel released the lines after kill -9"
check '[ "$(state)" = "0 0 0 0" ]' "gpio-sim returns released lines to their pull-down: $(state)"

# Lines left high (pulled up here, as a chip that kept driving them would
# be): the next start switches all four off before anything else.
for l in 17 27 22 23; do echo pull-up >"$lines/sim_gpio$l/pull"; done
check '[ "$(state)" = "1 1 1 1" ]' "lines high before the restart: $(state)"
rm -f control.sock
start_daemon
check '[ "$(state)" = "0 0 0 0" ]' "all off once restarted: $(state)"
check 'sqlite3 desk-audit.db "SELECT reason FROM audit ORDER BY id DESC LIMIT 1" | grep -qx OK' "the verdict before kill -9 was committed"
for l in 17 27 22 23; do echo pull-down >"$lines/sim_gpio$l/pull"; done
stop_daemon
kill $sampler_pid
finish
