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
vm_keytype uinput $VID:$PID 1000 300000 <keys.fifo >keytype.out &
typer=$!
exec 3>keys.fifo
wait_for 10 'grep -q ready keytype.out' || fail "no uinput device"
start_daemon
wait_log 20 'source hid: running: .*\(grabbed\)'
n=0
want=""
for c in /data/cards/burst-*.txt; do
	cat "$c"
	n=$((n + 1))
	want="${want}valid:OK "
done >codes.txt
# A key every millisecond (a fast USB scanner) and 0.3 s between codes,
# with the runner idle meanwhile: the evdev queue holds 64 events (~16
# keys), and under TCG a reader that waits behind a forking shell for
# 16 ms would see it overflow.
t0=$(uptime_ds)
cat codes.txt >&3
wait_verdicts $n 180
t1=$(uptime_ds)
check_verdicts "$want" hid
chars=$(wc -c <codes.txt)
echo "# $CASE: $n codes ($chars characters) typed and judged in $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 10 }') s"
exec 3>&-
kill -TERM $typer
wait $typer
stop_daemon
finish
