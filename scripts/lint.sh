#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Static checks that must pass clean: clang-format (the committed .clang-format),
# cppcheck and clang-tidy (the committed .clang-tidy) over the product code in
# firmware/, drivers/, cache/ and tools/ - the C code and the C++ zxing-cpp shim
# (drivers/zxdecode.cpp) alike.  Run by ctest as `static_analysis`.
# Usage: scripts/lint.sh [BUILD_DIR]   (a build configured with
# CMAKE_EXPORT_COMPILE_COMMANDS=ON, which the top CMakeLists.txt sets; default build/lint)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/lint}
if [[ ! -f $build/compile_commands.json ]]; then
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 1
fi
status=0

# The product code's compile commands only (tests and generated files are not linted).
db=$(mktemp -d "${TMPDIR:-/tmp}/qrdesk-lint-XXXXXX")
trap 'rm -rf "$db"' EXIT
jq --arg root "$(pwd)/" '[.[] | select(.file | ltrimstr($root) |
	test("^(firmware|drivers|cache|tools)/[^ ]*\\.(c|cpp)$"))]' \
	"$build/compile_commands.json" >"$db/compile_commands.json"
files=$(jq -r '.[].file' "$db/compile_commands.json" | sort -u)
echo "lint: $(wc -w <<<"$files") files"

echo "== clang-format"
# shellcheck disable=SC2046
if ! clang-format --dry-run -Werror $(git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null || echo $files); then
	echo "lint: clang-format: run clang-format -i on the files above" >&2
	status=1
fi

echo "== cppcheck"
if ! cppcheck --project="$db/compile_commands.json" --enable=warning,performance,portability \
	--inline-suppr --error-exitcode=1 -q -j"$(nproc)" --suppress=missingIncludeSystem; then
	status=1
fi

echo "== clang-tidy"
if ! run-clang-tidy -p "$db" -quiet -j "$(nproc)" >"$db/tidy.log" 2>&1; then
	sed 's/\x1b\[[0-9;]*m//g' "$db/tidy.log" | grep -E -A3 "(warning|error):" >&2
	status=1
fi

((status == 0)) && echo "lint: clean"
exit $status
