#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it: install what is missing, build with
# warnings as errors, run every test; then build again with AddressSanitizer
# and UndefinedBehaviorSanitizer and run the same tests; then cross-build for arm64 and
# run the tests again under qemu-user (about 10 minutes more, see README).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== release build (-Werror) and tests"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== ASan+UBSan build and the same tests"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DQRDESK_SANITIZE=ON -DQRDESK_WERROR=ON >/dev/null
cmake --build build/asan -j"$jobs"
ctest --test-dir build/asan --output-on-failure -j"$jobs"

echo "== arm64: cross build, unit and integration tests under qemu-user (scripts/arm64.sh)"
scripts/arm64.sh build/arm64
