# SPDX-License-Identifier: Apache-2.0
# A keyboard-wedge scanner on USB: a configfs gadget with an f_hid boot
# keyboard on dummy_hcd enumerates through usbcore, usbhid and hid-generic
# into an evdev node; qrdeskd's HID source finds it by vendor:product, grabs
# it and judges what vm_keytype types into /dev/hidg0.  Then the scanner is
# unplugged and plugged back, and the next code still comes through.
. /lib.sh
VID=1209 PID=0001 # pid.codes' test id
modprobe usb_f_hid && modprobe usbhid && modprobe hid_generic && modprobe evdev ||
	{ fail "cannot load the USB HID modules"; finish; }
gadget_create scanner $VID $PID "VM barcode scanner" || { fail "gadget"; finish; }
f=$GADGETS/scanner/functions/hid.kbd
mkdir "$f"
echo 1 >"$f/protocol"    # keyboard
echo 1 >"$f/subclass"    # boot interface
echo 8 >"$f/report_length"
# The boot keyboard report descriptor (HID 1.11, appendix B.1).
printf '\005\001\011\006\241\001\005\007\031\340\051\347\025\000\045\001\165\001\225\010\201\002\225\001\165\010\201\001\225\005\165\001\005\010\031\001\051\005\221\002\225\001\165\003\221\001\225\006\165\010\025\000\045\145\005\007\031\000\051\145\201\000\300' >"$f/report_desc"
ln -s "$f" "$GADGETS/scanner/configs/c.1/"
gadget_plug scanner || { fail "cannot bind the gadget to dummy_udc"; finish; }
wait_for 20 'grep -qs "^I:.*Vendor=$VID Product=$PID" /proc/bus/input/devices' ||
	{ fail "the USB keyboard did not enumerate as an input device"; finish; }
check 'grep -A6 "Vendor=$VID Product=$PID" /proc/bus/input/devices | grep -q "Handlers=.*event"' "enumerated through usbhid with an evdev handler"

desk_setup
sim_indicators
cat >>desk.conf <<CONF
[hid]
device = $VID:$PID
key_timeout_ms = 1000
CONF
start_daemon
wait_log 20 'source hid: running: .*\(grabbed\)'
# Type only once the daemon's loop runs: until then nothing reads the event node, whose
# kernel queue holds only a few keystrokes (64 events).
wait_log 20 'qrdeskd .* ready: '

# One code at a time, each pattern left to end, so each colour shows.
n=0
for c in valid tampered revoked expired junk; do
	{ [ $c = junk ] && echo "this is not a card" || card $c; } | vm_keytype hidg /dev/hidg0 >/dev/null ||
		fail "typing into /dev/hidg0 failed"
	n=$((n + 1))
	wait_verdicts $n 60
	wait_for 10 all_off
done
check_verdicts "valid:OK invalid:BAD_SIGNATURE invalid:CARD_REVOKED invalid:CARD_EXPIRED invalid:BAD_PREFIX " hid
leds=$(led_colours)
check '[ "$leds" = GRRRR ]' "indicator colours follow the verdicts: $leds"

# Unplug (the gadget leaves the bus) and plug back.
gadget_unplug scanner
wait_log 20 'source hid: absent'
gadget_plug scanner
wait_for 20 '[ $(grep -cE "source hid: running" daemon.log) -ge 2 ]' || fail "the scanner was not taken again after a re-plug"
card valid2 | vm_keytype hidg /dev/hidg0 >/dev/null || fail "typing after the re-plug failed"
wait_verdicts 6 60
check '[ "$(verdict_seq)" = "valid:OK invalid:BAD_SIGNATURE invalid:CARD_REVOKED invalid:CARD_EXPIRED invalid:BAD_PREFIX valid:OK " ]' "a code after the re-plug: $(verdict_seq)"
stop_daemon
gadget_remove scanner
finish
