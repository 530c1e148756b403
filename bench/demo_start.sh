#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How long scripts/demo.sh takes from its start to a ready daemon (the control
# socket answers `status`).  Run it twice: the first run installs and builds what
# is missing; the second, with nothing changed, is the figure in
# docs/performance.md.  Prints figures; asserts nothing.
#   bench/demo_start.sh [RUNS]     (default 3)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
for ((i = 1; i <= runs; i++)); do
	log=$(mktemp)
	t0=$(date +%s%N)
	# Standard input: a FIFO held open here, so the daemon never sees its end.
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	exec 3<>"$fifo"
	scripts/demo.sh <"$fifo" 2>"$log" &
	pid=$! # demo.sh, which becomes qrdeskd (exec)
	ready=""
	for ((w = 0; w < 6000; w++)); do
		if build/release/tools/qrdeskctl status --socket demo/control.sock >/dev/null 2>&1; then
			ready=$(date +%s%N)
			break
		fi
		sleep 0.05
	done
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	exec 3>&-
	rm -f "$fifo"
	if [[ -z $ready ]]; then
		echo "run $i: not ready within 300 s" >&2
		cat "$log" >&2
	else
		ms=$(((ready - t0) / 1000000))
		echo "run $i: ready after $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
		grep '^demo:' "$log" | sed 's/^/    /'
	fi
	rm -f "$log"
done
