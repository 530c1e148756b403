#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: install what is missing, build, and run the daemon in demo mode
# (qrdeskd --demo): demo trust data and sample cards made by qrdesk-issuer demo
# on the first run in ./demo, simulated indicators (transitions in demo/indicators.log), codes from
# standard input, one per line, and from QR images dropped into demo/inbox.
#
#   scripts/demo.sh                 codes typed or piped on standard input
#   scripts/demo.sh --images DIR    also decode the images in DIR (copied to demo/inbox)
#   scripts/demo.sh --bind          [binding] require = card+passport+boarding: a card, its
#                                   passport MRZ and boarding pass give one verdict
#                                   (cat demo/cards/bound.txt demo/cards/bound.mrz
#                                    demo/cards/bound.bcbp | scripts/demo.sh --bind)
#
# While it runs, `build/release/tools/qrdeskctl status --socket demo/control.sock`
# shows its state. Ctrl-C (or Ctrl-D on an empty terminal, then Ctrl-C) stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

images=""
bind=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--images) images=$(realpath "${2:?--images needs a folder}"); shift 2 ;;
	--bind) bind=1; shift ;;
	*) echo "usage: scripts/demo.sh [--images DIR] [--bind]" >&2; exit 64 ;;
	esac
done

# Each step says what it does and how long it took, on standard error.  When
# nothing changed since the last start, no step runs a tool but dpkg-query.
t0=$(date +%s%N)
step_start=$t0
step() { # step "what was done": print it with the time since the previous step
	local now
	now=$(date +%s%N)
	printf 'demo: %s (%d.%01d s)\n' "$1" $(((now - step_start) / 1000000000)) \
		$(((now - step_start) / 100000000 % 10)) >&2
	step_start=$now
}
echo "demo: checking the packages the demo needs (scripts/install-deps.sh --demo)" >&2
scripts/install-deps.sh --demo
step "packages ready"

build=build/release
programs=("$build/firmware/qrdeskd" "$build/tools/qrdeskctl" "$build/tools/qrdesk-issuer")
stamp=$build/.demo-built
if [[ ! -f $build/CMakeCache.txt ]]; then
	# The demo's own first configuration: no test suite and no man pages, so it needs
	# neither cmocka nor scdoc (scripts/test.sh turns both back on in this folder).
	echo "demo: configuring $build (first time)" >&2
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_TESTS=OFF \
		-DQRDESK_MAN=OFF >/dev/null
	step "configured"
fi
# Rebuild only when a source is newer than the last build (asking make costs seconds
# on a slow board: it re-checks every object's dependencies).
if [[ ! -f $stamp ]] || [[ -n $(find CMakeLists.txt cmake firmware drivers cache tools include \
	-newer "$stamp" -print -quit) ]] || ! ls "${programs[@]}" >/dev/null 2>&1; then
	echo "demo: building qrdeskd, qrdeskctl and qrdesk-issuer in $build" >&2
	# Progress lines on the terminal, the whole output in a log shown if it fails.
	log=$build/demo-build.log
	if ! cmake --build "$build" -j"$(nproc)" --target qrdeskd qrdeskctl qrdesk-issuer 2>&1 |
		tee "$log" | {
		grep --line-buffered -E '^\[ *[0-9]+%\] (Building|Linking)' |
			sed -u 's/^/demo:   /' >&2
		true
	}; then
		tail -n 40 "$log" >&2
		echo "demo: the build failed (whole output: $log)" >&2
		exit 1
	fi
	touch "$stamp"
	step "built"
else
	step "programs up to date (no source changed since the last build)"
fi

demo=$root/demo
# The demo trust data, made once by the back office's tool (the desk daemon signs nothing).
"$build/tools/qrdesk-issuer" demo "$demo" >&2
step "demo trust data ready"
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
now=$(date +%s%N)
printf 'demo: starting qrdeskd --demo (%d.%01d s since the script started)\n' \
	$(((now - t0) / 1000000000)) $(((now - t0) / 100000000 % 10)) >&2
config=()
if ((bind)); then
	# The traveller bound to the card (docs/binding.md): card, passport MRZ, boarding pass.
	mkdir -p "$demo"
	printf '[binding]\nrequire = card+passport+boarding\n' >"$demo/bind.conf"
	config=(--config "$demo/bind.conf")
fi
exec "$root/build/release/firmware/qrdeskd" --demo --demo-dir "$demo" "${config[@]}"
