# SPDX-License-Identifier: Apache-2.0
# qrdeskd's own V4L2 camera source on vivid's capture node.  vivid loops its
# HDMI output to its HDMI capture; vm_framefeed streams a card's QR code
# (rendered by qrdesk-issuer on the host) to the output node, and qrdeskd's
# [camera] source reads the capture node with mmap streaming I/O and the
# decoder chain (zxing-cpp, then ZBar in turns; docs/decode.md).
# vivid loops only when both sides have the same size and format, so each
# pass sets both: GREY with `format = auto` (the first qrdeskd takes), then
# YUYV asked for by name.  Degraded frames: a light blur still reads, a
# heavy one gives no verdict.
. /lib.sh
modprobe vivid n_devs=1 node_types=0x101 input_types=0x3 output_types=0x1 ||
	{ fail "cannot load vivid"; finish; }
node() { # node NAME: the /dev path of the video node with that name
	for n in /sys/class/video4linux/video*; do
		[ "$(cat "$n/name")" = "$1" ] && echo "/dev/$(basename "$n")"
	done
}
wait_for 10 '[ -n "$(node vivid-000-vid-cap)" ] && [ -n "$(node vivid-000-vid-out)" ]' ||
	{ fail "no vivid nodes"; finish; }
cap=$(node vivid-000-vid-cap)
out=$(node vivid-000-vid-out)
formats=$(vm_framefeed formats "$cap" | tr '\n' ' ')
check 'echo " $formats" | grep -q " GREY " && echo " $formats" | grep -q " YUYV "' \
	"vivid's capture offers GREY and YUYV (no MJPEG): $(echo "$formats" | cut -c1-60)..."

desk_setup
sim_indicators
cp desk.conf desk.common
camera_conf() { # camera_conf FORMAT: the common keys and a [camera] section
	cp desk.common desk.conf
	cat >>desk.conf <<CONF
[camera]
device = $cap
width = 800
height = 600
fps = 15
format = $1
stall_ms = 20000
CONF
}
show() { # show CARD BLUR VERDICTS: the card's code in front of the camera
	rm -f feed.out
	vm_framefeed feed "$out" "/data/cards/$1.png" 1000000 "$2" >feed.out 2>&1 &
	feeder=$!
	wait_for 120 'grep -q streaming feed.out' || fail "feeding $1 did not start: $(cat feed.out)"
	[ "$3" = none ] || wait_verdicts "$3" 60
	[ "$3" = none ] && sleep 6
	kill $feeder
	wait $feeder
	wait_for 10 all_off
}

# Pass 1: GREY, negotiated by format = auto.
vm_framefeed setup "$cap" "$out" 800 600 GREY || { fail "cannot set up the vivid loop in GREY"; finish; }
camera_conf auto
start_daemon
wait_log 60 'source camera: running: .* 800x600 grey '
show valid 0 1
show revoked 0 2
stop_daemon
# Pass 2: YUYV by name; a light blur reads, a heavy one does not.
vm_framefeed setup "$cap" "$out" 800 600 YUYV || { fail "cannot set up the vivid loop in YUYV"; finish; }
camera_conf yuyv
start_daemon
wait_log 60 'source camera: running: .* 800x600 yuyv '
show expired 1 3
# 100 passes of a 3x3 box: a Gaussian of sigma about 8 px, one module of this 8 px-a-module card,
# past what any look reads (the grey look reads 0.6 module, not 0.75: docs/decode.md); at 40
# passes (0.65 module) the grey look read it.
show valid2 100 none # too blurred to read: dropped, no verdict
check '[ "$(verdicts)" = 3 ]' "a frame too blurred to read gives no verdict ($(verdicts) verdicts)"
status=$(qrdeskctl status --socket control.sock 2>&1 | grep -E '^ +camera ')
check 'echo "$status" | grep -q "running"' "qrdeskctl status shows the camera running: $status"
check_verdicts "valid:OK invalid:CARD_REVOKED invalid:CARD_EXPIRED " camera
leds=$(led_colours)
check '[ "$leds" = GRR ]' "indicator colours follow the verdicts: $leds"
stop_daemon
finish
