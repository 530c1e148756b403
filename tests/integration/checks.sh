# SPDX-License-Identifier: Apache-2.0
# checks.sh - what the integration scripts share: counted checks and waiting
# for a condition.  Source it; set `slow` (a multiplier for every wait, e.g.
# 10 under valgrind) before calling wait_for if the daemon runs slowly.
failures=0
passes=0
slow=${slow:-1}
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() { if eval "$1"; then passes=$((passes + 1)); else fail "$2"; fi; }
wait_for() { # wait_for SECONDS CONDITION
	local deadline=$((SECONDS + $1 * slow))
	while ! eval "$2"; do
		((SECONDS > deadline)) && return 1
		sleep 0.05
	done
}
