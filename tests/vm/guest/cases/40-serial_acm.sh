# SPDX-License-Identifier: Apache-2.0
# A serial scanner on USB CDC-ACM: a configfs gadget with an acm function
# on dummy_hcd; the runner writes codes to the gadget's /dev/ttyGS0 ending
# in CR, LF and CR LF; qrdeskd reads the host side, /dev/ttyACM0, through
# cdc-acm and termios.
. /lib.sh
modprobe usb_f_acm && modprobe cdc_acm || { fail "cannot load the ACM modules"; finish; }
gadget_create serial 1209 0002 "VM serial scanner" || { fail "gadget"; finish; }
mkdir "$GADGETS/serial/functions/acm.usb0"
ln -s "$GADGETS/serial/functions/acm.usb0" "$GADGETS/serial/configs/c.1/"
gadget_plug serial || { fail "cannot bind the gadget to dummy_udc"; finish; }
wait_for 20 '[ -c /dev/ttyACM0 ] && [ -c /dev/ttyGS0 ]' || { fail "no /dev/ttyACM0 and /dev/ttyGS0"; finish; }

desk_setup
sim_indicators
cat >>desk.conf <<CONF
[serial]
device = /dev/ttyACM0
baud = 115200
CONF
start_daemon
wait_log 20 'source serial: running'
# The gadget side raw: no LF -> CR LF translation, no echo.
exec 3<>/dev/ttyGS0
stty -F /dev/ttyGS0 raw -echo
n=0
send() { # send TEXT ENDING: one code, its verdict, its pattern's end
	printf "%s$2" "$1" >&3
	n=$((n + 1))
	wait_verdicts $n 30
	wait_for 10 all_off
}
send "$(card valid)" '\r'
send "$(card revoked)" '\n'
send "$(card expired)" '\r\n'
send "$(card tampered)" '\r\n'
send "this is not a card" '\n'
check_verdicts "valid:OK invalid:CARD_REVOKED invalid:CARD_EXPIRED invalid:BAD_SIGNATURE invalid:BAD_PREFIX " serial
leds=$(led_colours)
check '[ "$leds" = GRRRR ]' "indicator colours follow the verdicts: $leds"
exec 3>&-
stop_daemon
gadget_remove serial
finish
