#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: install what is missing, build, and run the daemon in demo mode
# (qrdeskd --demo): demo trust data and sample cards made on first start in
# ./demo, simulated indicators (transitions in demo/indicators.log), codes from
# standard input, one per line, and from QR images dropped into demo/inbox.
#
#   scripts/demo.sh                 codes typed or piped on standard input
#   scripts/demo.sh --images DIR    also decode the images in DIR (copied to demo/inbox)
#
# While it runs, `build/release/tools/qrdeskctl status --socket demo/control.sock`
# shows its state. Ctrl-C (or Ctrl-D on an empty terminal, then Ctrl-C) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

images=""
if [[ ${1:-} == --images ]]; then
	images=$(realpath "${2:?--images needs a folder}")
fi

scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target qrdeskd qrdeskctl qrdesk-issuer >/dev/null

demo=$root/demo
if [[ -n $images ]]; then
	mkdir -p "$demo/inbox"
	shopt -s nullglob
	for f in "$images"/*.png "$images"/*.pgm "$images"/*.jpg "$images"/*.jpeg; do
		cp "$f" "$demo/inbox/"
	done
fi

if [[ -t 0 ]]; then
	cat >&2 <<HINT
qrdesk demo: sample cards (text and PNG) are in $demo/cards once the daemon has started.
  paste a code here and press Enter, or from another terminal:
    cp $demo/cards/valid.png $demo/inbox/
    build/release/tools/qrdeskctl scan --socket $demo/control.sock "\$(cat $demo/cards/revoked.txt)"
    build/release/tools/qrdeskctl status --socket $demo/control.sock
  Ctrl-C stops the daemon.
HINT
fi
exec "$root/build/release/firmware/qrdeskd" --demo --demo-dir "$demo"
