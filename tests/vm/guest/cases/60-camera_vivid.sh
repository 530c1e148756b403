# Card images through the kernel's V4L2 video path: vivid with its HDMI
# output looped to its HDMI capture; vm_framefeed writes a card's QR code
# (rendered by qrdesk-issuer on the host) to the output node and grabs a
# frame from the capture node; the frame goes to qrdeskd's image folder,
# where ZBar decodes it.  Degraded frames: a light blur still reads, a heavy
# one is dropped (no verdict).  The camera issue replaces the grab and the
# folder with qrdeskd's own V4L2 source on the capture node (its source
# name then replaces "images" below).
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
vm_framefeed setup "$cap" "$out" 1280 720 || { fail "cannot set up the vivid loop"; finish; }

mkdir inbox
desk_setup
sim_indicators
cat >>desk.conf <<CONF
[replay]
images = $PWD/inbox
CONF
start_daemon
n=0
show() { # show CARD BLUR: the card's code in front of the "camera"
	rm -f feed.out
	vm_framefeed feed "$out" "/data/cards/$1.png" 100000 "$2" >feed.out &
	feeder=$!
	wait_for 30 'grep -q streaming feed.out' || fail "feeding $1 did not start"
	vm_framefeed grab "$cap" frame.pgm 3 || fail "no frame grabbed for $1"
	kill $feeder
	wait $feeder
	n=$((n + 1))
	mv frame.pgm "inbox/$n-$1.pgm"
}
show valid 0
wait_verdicts 1 60
show revoked 0
wait_verdicts 2 60
show expired 1
wait_verdicts 3 60
show valid2 40 # too blurred to read: dropped, no verdict
sleep 3
check '[ "$(verdicts)" = 3 ]' "a frame too blurred to read gives no verdict ($(verdicts) verdicts)"
check_verdicts "valid:OK invalid:CARD_REVOKED invalid:CARD_EXPIRED " images
stop_daemon
finish
