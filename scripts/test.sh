#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it (README: what each pass covers and why):
#  1. gcc, warnings as errors: every test;
#  2. clang, warnings as errors: the whole tree, tests included, and the unit tests
#     (the compiler's own warnings and code generation; the scripts' tests add nothing here);
#  3. AddressSanitizer + UndefinedBehaviorSanitizer: every test but sync_crash and
#     kiosk_display (see below);
#  4. ThreadSanitizer (clang): qrdeskd through the two daemon tests, and the logger's test;
#  5. arm64 under qemu-user: unit and integration tests (scripts/arm64.sh names what it
#     leaves out, about 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# The desk image's base root file system (ctest image_boot, docs/image.md), made now in the
# background when it is not cached: mostly downloads and dpkg, it overlaps the builds below.
# image_boot (tests/image/run.sh) waits for it on $QRDESK_IMAGE_BASE_LOG.lock, held until the
# maker ends, and reads its exit status from $QRDESK_IMAGE_BASE_LOG.rc.  The maker has a
# deadline, QRDESK_IMAGE_BASE_DEADLINE seconds (a hang guard: a fresh base took 27-41 minutes
# at load 10-16; a stuck download must not hold the run until image_boot's 90-minute timeout),
# and image_boot waits no longer than that.
image_base_pid=""
if [[ ${QRDESK_IMAGE:-1} != 0 && $(id -u) -eq 0 ]]; then
	mkdir -p build
	export QRDESK_IMAGE_BASE_LOG=$PWD/build/image-base.log
	export QRDESK_IMAGE_BASE_DEADLINE=${QRDESK_IMAGE_BASE_DEADLINE:-3000}
	rm -f "$QRDESK_IMAGE_BASE_LOG.rc"
	exec {base_lock}>"$QRDESK_IMAGE_BASE_LOG.lock"
	# Held only by another scripts/test.sh's maker in this tree: not ours to wait for.
	flock -w 60 "$base_lock" || {
		echo "scripts/test.sh: another run in this tree holds $QRDESK_IMAGE_BASE_LOG.lock (its maker: $QRDESK_IMAGE_BASE_LOG)" >&2
		exit 1
	}
	echo "== the image's base root file system, in the background (log: $QRDESK_IMAGE_BASE_LOG)"
	# image.sh runs mmdebstrap under nice 10, the maker runs in the idle I/O class: the builds
	# and tests keep their share.  Job control on for this one job: its own process group, so
	# that a run that fails below stops the whole maker.  timeout makes a process group of
	# its own (mmdebstrap, apt, dpkg), which it ends at the deadline or when the subshell
	# passes it a TERM.  The maker does not keep the lock open, only this subshell does, so
	# that nothing it leaves behind can hold image_boot.
	set -m
	(
		rc=0
		timeout -k 60 "$QRDESK_IMAGE_BASE_DEADLINE" ionice -c3 scripts/image.sh --base-only \
			{base_lock}>&- </dev/null >"$QRDESK_IMAGE_BASE_LOG" 2>&1 &
		maker=$!
		stopped=0
		trap 'stopped=1; kill -TERM "$maker" 2>/dev/null' TERM
		wait "$maker" || rc=$?
		if ((stopped)); then # the TERM ended that wait: now wait for the maker's end
			rc=0
			wait "$maker" || rc=$?
		fi
		# timeout's 124, or 137 when the maker ignored its TERM and was killed 60 s later.
		((stopped || (rc != 124 && rc != 137))) ||
			echo "scripts/test.sh: stopped at the deadline, $QRDESK_IMAGE_BASE_DEADLINE s" >>"$QRDESK_IMAGE_BASE_LOG"
		echo "$rc" >"$QRDESK_IMAGE_BASE_LOG.rc"
	) &
	image_base_pid=$!
	set +m
	exec {base_lock}>&-
	trap '[[ -e $QRDESK_IMAGE_BASE_LOG.rc ]] || kill -TERM -- -"$image_base_pid" 2>/dev/null; wait' EXIT
fi

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== release build (-Werror) and tests"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_WERROR=ON -DQRDESK_TESTS=ON -DQRDESK_MAN=ON >/dev/null
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== clang build (-Werror) and the unit tests"
CC=clang cmake -S . -B build/clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_WERROR=ON >/dev/null
cmake --build build/clang -j"$jobs"
ctest --test-dir build/clang --output-on-failure -j"$jobs" -L '^unit$'

echo "== ASan+UBSan build and the same tests"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DQRDESK_SANITIZE=ON -DQRDESK_WERROR=ON >/dev/null
cmake --build build/asan -j"$jobs"
# sync_crash kills a 500,000-entry apply 50 times: what it proves (SQLite's atomic commit
# under kill -9) is no memory error of ours, and the store code it runs is run by
# test_store, test_sync and sync_integration here; under ASan it takes minutes.
# kiosk_display tests the kiosk unit's compositor and browser (cage, Chromium), not our
# memory: the daemon it talks to runs under ASan in kiosk_browser; it costs ~40 s here.
# upload_nginx is ten daemon starts around one upload round each: upload.c runs under ASan
# in test_upload (the faults the Python store makes) and fleet_e2e (against nginx).
ctest --test-dir build/asan --output-on-failure -j"$jobs" -E '^(sync_crash|kiosk_display|upload_nginx)$'

echo "== ThreadSanitizer: qrdeskd's threads through the daemon tests, the logger, the HID reader and the audit writer (tests/integration/tsan.sh)"
# Only the daemon, test_log, test_hid and test_audit_writer are built here (about a minute with the tests): the tools
# the scripts call are the release build's.
CC=clang CXX=clang++ cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_TSAN=ON -DQRDESK_WERROR=ON >/dev/null
cmake --build build/tsan -j"$jobs" --target qrdeskd test_log test_hid test_audit_writer
tests/integration/tsan.sh build/tsan build/release

echo "== arm64: cross build, unit and integration tests under qemu-user (scripts/arm64.sh)"
scripts/arm64.sh build/arm64
