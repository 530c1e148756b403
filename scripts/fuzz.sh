#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer targets (tests/fuzz, see tests/fuzz/README.md) with
# clang in build-fuzz/ and run each for SECONDS (default 60) on its seed
# corpus and dictionary; print executions and coverage per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 10; scripts/fuzz.sh 300 config image
#
# The seeds (tests/fuzz/corpus/<x>/) are only read: what the fuzzer finds goes
# to build-fuzz/fuzz/corpus/<x>/, kept between runs, and crashing inputs to
# build-fuzz/fuzz/artifacts/<x>/.  Exit status 1 if any target crashed, leaked,
# timed out or ran out of memory (the input and its log are named); 2 on a
# usage or build problem.  CC (default clang) and CXX (default clang++) must be clang; FUZZ_BUILD_DIR
# overrides build-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
secs=${1:-60}
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || usage
(($# > 0)) && shift

cc=${CC:-clang}
cxx=${CXX:-clang++} # the zxing-cpp shim (drivers/zxdecode.cpp) is C++
if ! "$cc" --version 2>/dev/null | grep -qi clang || ! "$cxx" --version 2>/dev/null | grep -qi clang; then
	echo "fuzz.sh: libFuzzer needs clang; CC=$cc or CXX=$cxx is not (try CC=clang CXX=clang++)" >&2
	exit 2
fi
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

# The targets, as tests/fuzz/targets.cmake lists them.
mapfile -t known < <(sed -n 's/^set(QRDESK_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/targets.cmake | tr ' ' '\n')
((${#known[@]} > 0)) || { echo "fuzz.sh: no targets in tests/fuzz/targets.cmake" >&2; exit 2; }
targets=("$@")
((${#targets[@]} > 0)) || targets=("${known[@]}")
for t in "${targets[@]}"; do
	[[ " ${known[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (have: ${known[*]})" >&2; exit 2; }
done

echo "== building the fuzz targets in $build (CC=$cc CXX=$cxx)"
mkdir -p "$build"
if ! CC=$cc CXX=$cxx cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_FUZZ=ON \
	-DQRDESK_TESTS=OFF -DQRDESK_WERROR=OFF >"$build/fuzz-configure.log" 2>&1; then
	tail -20 "$build/fuzz-configure.log" >&2
	echo "fuzz.sh: configuring failed (a $build made with another compiler? remove it)" >&2
	exit 2
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
if ! cmake --build "$build" -j"$(nproc)" "${build_targets[@]}" >"$build/fuzz-build.log" 2>&1; then
	tail -40 "$build/fuzz-build.log" >&2
	echo "fuzz.sh: build failed (whole log: $build/fuzz-build.log)" >&2
	exit 2
fi

# Leaks are reported by libFuzzer itself; a sanitizer report stops the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Seeds from the public vectors, read in place (tests/fuzz/vector-seeds.sh).
tests/fuzz/vector-seeds.sh "$root/../shared/vectors" "$build/fuzz/vector-seeds"

echo "== running each target for ${secs}s"
printf '%-9s %10s %9s %6s %7s %6s  %s\n' target execs exec/s cov ft corpus result
failed=0
for t in "${targets[@]}"; do
	work=$build/fuzz/corpus/$t
	art=$build/fuzz/artifacts/$t
	log=$build/fuzz/$t.log
	mkdir -p "$work" "$art"
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$art/")
	[[ -f tests/fuzz/$t.dict ]] && opts+=(-dict="tests/fuzz/$t.dict")
	case $t in
	control) opts+=(-max_len=20480) ;; # past CONTROL_REQUEST_MAX (16384)
	lines) opts+=(-max_len=12288) ;;   # past SOURCE_TEXT_MAX (4297), twice
	qrtext) opts+=(-max_len=4608) ;;   # past CHECK_TEXT_MAX (4296)
	config | image) opts+=(-max_len=16384) ;;
	camera) opts+=(-max_len=32768) ;; # a few small frames' worth (corpus: 96x72)
	esac
	before=$(find "$art" -type f | wc -l)
	set +e
	seeds=("tests/fuzz/corpus/$t")
	[[ -d $build/fuzz/vector-seeds/$t ]] && seeds+=("$build/fuzz/vector-seeds/$t")
	"$build/tests/fuzz/fuzz_$t" "${opts[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	found=$(find "$art" -type f | wc -l)
	result=ok
	if ((rc != 0 || found > before)); then
		result="FAILED (exit $rc)"
		failed=1
	fi
	printf '%-9s %10s %9s %6s %7s %6s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "$result"
	if [[ $result != ok ]]; then
		grep -E 'ERROR: |SUMMARY: |property violated|Test unit written to' "$log" | head -8 | sed 's/^/    /'
		echo "    log: $log"
		echo "    replay: $build/tests/fuzz/fuzz_$t <input>   (see tests/fuzz/README.md)"
	fi
done
exit $failed
