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

# The traveller bound to the card (docs/binding.md): a document reader in keyboard mode types
# the passport's MRZ, Enter after each line, on the same USB keyboard as the card and the pass.
printf '[binding]\nrequire = card+passport+boarding\n' >>desk.conf
lines=$(wc -l <daemon.log)
new_log() { tail -n +$((lines + 1)) daemon.log; } # the restarted daemon's lines (verdicts from 1)
start_daemon
wait_for 20 'new_log | grep -qE "source hid: running: .*\(grabbed\)"' ||
	fail "the restarted daemon did not grab the scanner"
wait_for 20 'new_log | grep -qE "qrdeskd .* ready: "' || fail "the restarted daemon is not ready"
# One document after another, as an officer hands them over (typed back to back, the MRZ's
# lines would overflow the kernel's 64-event queue while the card is judged under TCG); the
# MRZ's two lines back to back, as the reader sends them.
taken() { new_log | grep -c "binding: .* taken from hid"; }
card bound | vm_keytype hidg /dev/hidg0 >/dev/null || fail "typing the card failed"
wait_for 30 '[ "$(taken)" -ge 1 ]' || fail "the card was not taken"
vm_keytype hidg /dev/hidg0 </data/cards/bound.mrz >/dev/null || fail "typing the MRZ failed"
wait_for 30 '[ "$(taken)" -ge 2 ]' || fail "the passport was not taken"
vm_keytype hidg /dev/hidg0 </data/cards/bound.bcbp >/dev/null || fail "typing the boarding pass failed"
wait_verdicts 7 60
check '[ "$(new_log | grep -c "binding: .* taken from hid")" = 2 ]' "card and passport taken from the keyboard, waiting for the next: $(new_log | grep "binding: " | tr '\n' '|')"
check 'new_log | grep -qE "^<[0-9]>verdict 1 valid OK source=hid"' "card, typed MRZ and boarding pass: one green verdict"
# The same traveller with a passport of another birth date: red at once, naming the field.
wait_for 10 all_off
card bound | vm_keytype hidg /dev/hidg0 >/dev/null || fail "typing the card again failed"
wait_for 30 '[ "$(taken)" -ge 3 ]' || fail "the card was not taken again"
vm_keytype hidg /dev/hidg0 </data/cards/bound-other.mrz >/dev/null || fail "typing the other passport failed"
wait_verdicts 8 60
check 'new_log | grep -qE "^<[0-9]>verdict 2 invalid PASSPORT_MISMATCH source=hid .*detail=passport: birth_date"' "another birth date in the typed MRZ: $(new_log | grep -E "^<[0-9]>verdict 2 ")"
docs=$(sqlite3 desk-audit.db "SELECT b.passport FROM audit a JOIN audit_binding b ON b.audit_id = a.id ORDER BY a.id" | tr '\n' '|')
check '[ "$docs" = "passed|failed PASSPORT_MISMATCH birth_date|" ]' "each transaction's passport in the audit: $docs"
stop_daemon
gadget_remove scanner
finish
