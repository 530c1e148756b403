#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The image inbox against the real qrdeskd (docs/security.md, the bearer of a card):
#  - the pixel budget refuses an all-zero 8192x8192 PNG from its header (decoding it
#    takes about 30 s of CPU on the 2-core VM);
#  - a big image is decoded on the source's worker thread: a card scanned on the FIFO
#    while an all-zero 2048x2048 PNG is being read and decoded gets its verdict before
#    that decode ends (the order of the daemon's own log lines, not a clock);
#  - a FIFO is refused, not waited on, and a symbolic link is not followed;
#  - a judged file is moved to done/ (or deleted), so a restart does not judge it again.
# Each failed on the code before: decoding on the loop thread, files left in place.
# And a reload that turns [binding] on says the folder reads PDF417 and Aztec only after a
# restart (the folder itself reading them: binding.sh).
# Usage: inbox.sh QRDESKD QRDESKCTL QRDESK-ISSUER
set -uo pipefail

qrdeskd=$(realpath "$1")
ctl=$(realpath "$2")
issuer=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-inbox-XXXXXX")
daemon_pid=""
cleanup() {
	[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT; [[ -n ${KEEP:-} ]] && trap - EXIT
cd "$work"
. "$here/checks.sh"

"$issuer" --now "$(($(date +%s) - 86400))" init dom >/dev/null
CARD_PNG=1
for i in 0 1 2 3 4; do card "c$i" "261100010$i"; done
"$issuer" publish dom repo >/dev/null
"$ctl" provision --store desk.db --root dom/root.pub >/dev/null 2>&1
"$ctl" import --store desk.db repo/*.cose >/dev/null
mkdir inbox outside
# All-zero grey PNGs: 8192x8192 (64 MiB of pixels in about 64 KiB of file) and 2048x2048.
python3 - <<'PY' || { fail "cannot make the PNGs"; exit 1; }
import struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for name, side in (("big.png", 8192), ("mid.png", 2048)):
    z = zlib.compressobj(6)
    body = b"".join(z.compress(b"\0" * (side + 1)) for _ in range(side)) + z.flush()
    with open(name, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", body) + chunk(b"IEND", b""))
PY

start_daemon() { # start_daemon LOG [replay keys...]
	local log=$1
	shift
	{
		printf '[desk]\ndesk_id = INBOX-1\nstore = %s/desk.db\ncontrol_socket = %s/control.sock\nlog_level = debug\n' "$work" "$work"
		printf '[pipeline]\nholdoff_ms = 300\n[indicators]\nbackend = sim\nvalid_ms = 100\ninvalid_ms = 100\nreview_ms = 100\nbeep_ms = 10\ngap_ms = 10\n'
		printf '[kiosk]\nenabled = false\n[replay]\nfifo = %s/codes.fifo\nimages = %s/inbox\n' "$work" "$work"
		printf '%s\n' "$@"
	} >desk.conf
	"$qrdeskd" --config desk.conf 2>>"$log" &
	daemon_pid=$!
	wait_for 60 '[[ -S control.sock && -p codes.fifo ]] && "$ctl" status --socket control.sock >/dev/null 2>&1' ||
		{ fail "daemon did not start"; cat "$log" >&2; exit 1; }
	exec 7>codes.fifo
}
stop_daemon() { # stop_daemon LOG: it stops the worker, exits 0, no sanitizer report
	exec 7>&-
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	local rc=$? log=$1
	daemon_pid=""
	check '[[ $rc == 0 ]] && ! grep -qiE "sanitizer|runtime error" "$log"' \
		"qrdeskd exits 0 on SIGTERM, no sanitizer report (exit $rc)"
}
verdicts() { grep -cE '^<[0-9]>verdict [0-9]+ ' "$1"; }
detail() { "$ctl" status --socket control.sock --json | jq -r '.sources[] | select(.name == "images") | .detail'; }

# --- the first start: the defaults (12 Mpx budget, judged files to done/) ----------------
start_daemon daemon1.log
cp c0.png inbox/
wait_for 30 '[[ $(verdicts daemon1.log) -ge 1 && -f inbox/done/c0.png ]]'
check '[[ $(verdicts daemon1.log) == 1 && -f inbox/done/c0.png && ! -e inbox/c0.png ]]' \
	"a judged card is moved to done/ ($(ls inbox inbox/done 2>&1 | tr '\n' ' '))"
# The pixel budget: refused from the header, not decoded.
cp big.png inbox/
wait_for 30 '[[ -f inbox/done/big.png ]]'
check 'detail | grep -q "big.png: PNG of 8192x8192 pixels: over the budget of 12000000 pixels"' \
	"an image past the pixel budget is refused from its header: $(detail)"
check '! grep -q "images: big.png: decoding" daemon1.log' "... and never decoded"
# A FIFO is refused, not waited on: the next card is judged.
mkfifo outside/pipe.png && mv outside/pipe.png inbox/
wait_for 30 '[[ -p inbox/done/pipe.png ]]'
check 'detail | grep -q "pipe.png: .*not a regular file"' "a FIFO in the inbox is refused: $(detail)"
# A symbolic link is not followed (to a card, so following it would give a verdict).
ln -s "$work/c4.png" outside/link.png && mv outside/link.png inbox/
wait_for 30 '[[ -L inbox/done/link.png ]]'
check 'detail | grep -q "link.png: .*symbolic link"' "a symbolic link in the inbox is refused: $(detail)"
cp c1.png inbox/
wait_for 30 '[[ $(verdicts daemon1.log) -ge 2 ]]'
check '[[ $(verdicts daemon1.log) == 2 ]]' \
	"after the FIFO and the link, the next card is judged, the link's target never ($(verdicts daemon1.log) verdicts)"
stop_daemon daemon1.log

# --- a restart: nothing judged again; a smaller budget; judged files deleted -------------
start_daemon daemon2.log "images_max_kpx = 5000" "images_delete = true"
cp c2.png inbox/
wait_for 30 '[[ $(verdicts daemon2.log) -ge 1 ]]'
check '[[ $(verdicts daemon2.log) == 1 ]] && grep -q "images: c2.png: reading" daemon2.log && ! grep -q "images: c[01].png" daemon2.log' \
	"a restart does not judge the cards of the first run again ($(verdicts daemon2.log) verdicts)"
wait_for 10 '[[ ! -e inbox/c2.png ]]'
check '[[ ! -e inbox/c2.png && ! -e inbox/done/c2.png ]]' "images_delete: the judged file is deleted"

# A big image within the budget, decoded on the worker: a card scanned meanwhile is judged first.
cp mid.png inbox/big2.png
wait_for 30 'grep -q "images: big2.png: reading" daemon2.log' || fail "the worker did not start on big2.png"
echo "$(cat c3.txt)" >&7
wait_for 60 'grep -q "images: big2.png: decoded in" daemon2.log' || fail "big2.png was not decoded"
wait_for 30 '[[ $(verdicts daemon2.log) -ge 2 ]]'
line_of() { grep -nE "$1" daemon2.log | head -n1 | cut -d: -f1; }
reading=$(line_of 'images: big2.png: reading')
judged=$(line_of '^<[0-9]>verdict 2 ')
decoded=$(line_of 'images: big2.png: decoded in')
check '[[ -n $reading && -n $judged && -n $decoded ]] && (( reading < judged && judged < decoded ))' \
	"the FIFO card's verdict came while the 2048x2048 PNG was being read and decoded (log lines $reading < $judged < $decoded): $(grep -E 'big2.png|^<[0-9]>verdict 2 ' daemon2.log | tr '\n' '|')"
check 'grep -qE "^<[0-9]>verdict 2 valid .*source=fifo" daemon2.log' "... and it is the FIFO's card: $(grep -E '^<[0-9]>verdict 2 ' daemon2.log)"
# The folder was opened for QR only ([binding] off): a reload that turns binding on says the
# boarding passes' PDF417 and Aztec wait for a restart (docs/binding.md).
printf '[binding]\nrequire = card+passport\n' >>desk.conf
kill -HUP "$daemon_pid"
wait_for 30 'grep -q "require = card+passport: the camera and the image folder read PDF417 and Aztec (boarding passes) from the next restart" daemon2.log'
check 'grep -q "require = card+passport: the camera and the image folder read PDF417 and Aztec (boarding passes) from the next restart" daemon2.log' \
	"a reload that turns binding on names the decoders' formats: $(grep -E 'reload' daemon2.log | tail -n2 | tr '\n' '|')"
stop_daemon daemon2.log

echo "inbox: $passes passed, $failures failed"
[[ $failures == 0 ]]
