#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-build qrdesk for arm64 and run its unit and integration tests under qemu-user.
#
#   scripts/arm64.sh [BUILD_DIR]        (default build/arm64)
#   scripts/arm64.sh --sysroot-only BUILD_DIR   steps 1 and 2 only (scripts/deb-arm64.sh)
#
# 1. Installs what is missing on the host: Debian's cross compiler
#    (crossbuild-essential-arm64) and qemu-user-static, and registers arm64 as a foreign
#    architecture so apt can fetch arm64 packages.
# 2. Makes a sysroot BUILD_DIR-sysroot from Debian 12's arm64 packages: the libraries'
#    -dev packages and everything they depend on are downloaded (apt-get download, cached
#    in BUILD_DIR-debs) and unpacked with dpkg -x.  Nothing arm64 is installed on the host:
#    some :arm64 -dev packages cannot be co-installed with their amd64 twins (libzbar-dev
#    pulls libmagick++-dev, which is not Multi-Arch: same) and apt would remove the amd64 ones.
# 3. Cross-builds with cmake/aarch64-linux-gnu.cmake and runs ctest, every test program under
#    qemu-aarch64-static (CMAKE_CROSSCOMPILING_EMULATOR; no binfmt_misc needed).  Tests that
#    cannot run under emulation are left out, each with its reason (see `excluded` below).
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot_only=0
[[ ${1:-} == --sysroot-only ]] && { sysroot_only=1; shift; }
build=$(realpath -m "${1:-build/arm64}")
sysroot=$build-sysroot
debs=$build-debs
start=$SECONDS

# -- 1. host tools
need=()
for p in crossbuild-essential-arm64 qemu-user-static dpkg-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || need+=("$p")
done
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
update=false
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	"${sudo[@]}" dpkg --add-architecture arm64
	update=true # apt needs the arm64 package lists
fi
if $update || ((${#need[@]})); then
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if ((${#need[@]})); then
	echo "arm64: installing ${need[*]}" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
fi

# -- 2. the sysroot: the arm64 twins of scripts/install-deps.sh's libraries (and cmocka for
# the unit tests), with their dependencies.  libzbar-dev is unpacked without its own
# dependencies (ImageMagick's -dev packages, for zbar's image tools, not for libzbar).
roots=(libc6-dev libsodium-dev libmbedtls-dev libsqlite3-dev libjansson-dev libzbar0
	libqrencode-dev libpng-dev libgpiod-dev libcurl4-openssl-dev libinih-dev libmicrohttpd-dev
	libudev-dev libjpeg-dev libsystemd-dev libcmocka-dev libp11-kit-dev
	libzxing-dev libzxing2)
nodeps=(libzbar-dev)
# libelogind0 is an alternative to libsystemd0, never both.
skip='^libelogind0:arm64$'
mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${roots[@]/%/:arm64}" 2>/dev/null |
	grep -v '^ ' | grep ':arm64$' | grep -Ev "$skip" | sort -u)
closure+=("${nodeps[@]/%/:arm64}")
stamp=$sysroot/.packages
if [[ ! -f $stamp ]] || [[ $(cat "$stamp") != "${closure[*]}" ]]; then
	echo "arm64: sysroot from ${#closure[@]} Debian arm64 packages" >&2
	mkdir -p "$debs"
	missing=()
	for p in "${closure[@]}"; do
		name=${p%:arm64}
		compgen -G "$debs/${name}_*_arm64.deb" >/dev/null && continue
		if [[ " ${nodeps[*]} " == *" $name "* ]]; then # may be pinned out: the amd64 twin's version
			missing+=("$p=$(dpkg-query -W -f='${Version}' "$name:amd64")")
		else
			missing+=("$p")
		fi
	done
	if ((${#missing[@]})); then
		(cd "$debs" && apt-get download -qq "${missing[@]}")
	fi
	rm -rf "$sysroot"
	mkdir -p "$sysroot"
	for p in "${closure[@]}"; do
		dpkg -x "$(ls "$debs"/"${p%:arm64}"_*_arm64.deb | tail -1)" "$sysroot"
	done
	printf '%s' "${closure[*]}" >"$stamp"
fi
echo "arm64: sysroot ready ($((SECONDS - start)) s)" >&2
((sysroot_only)) && exit 0

# -- 3. build and test
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
	-DQRDESK_ARM64_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRDESK_WERROR=ON \
	-DQRDESK_MAN=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "arm64: built ($((SECONDS - start)) s)" >&2

# Left out under emulation, with why:
#   kiosk_browser    drives Debian's amd64 Chromium (a browser test, not an arm64 one)
#   kiosk_display    the same for cage + Chromium on the host's display stack
#   static_analysis  cppcheck/clang-tidy read the source: the same on every architecture
#   fuzz_run         libFuzzer needs clang and its amd64 runtime (the fuzz_regression_*
#                    corpus replays do run, built by gcc for arm64)
#   fuzz_regression_vectors  runs the replay programs from a script, natively only
#   daemon_valgrind  valgrind cannot run arm64 code on an amd64 host
#   deb_install      builds and installs the amd64 packages
#   sync_crash       kills an import of 500,000 entries 50 times: emulated, each apply takes
#                    minutes, and what it proves (SQLite's atomic commit under kill -9) is the
#                    kernel's and SQLite's, the same on every architecture
#   audit_crash      publishes and imports a 300,000-entry list three times, the daemon killed
#                    mid-apply: emulated, each publish and apply takes minutes, and what it
#                    proves (two files, each committed before the answer) is the same on every
#                    architecture
#   vm_appliance     boots an amd64 kernel with the amd64 binaries
#   cose_interop     what it proves (the card's bytes agree with an independent COSE library:
#                    layout, kid, signature) is the same on every architecture; node and its
#                    native modules run on the host, and the desk's check under emulation is
#                    run by e2e_tools and daemon_integration
#   pkcs11_softhsm   the token is the host's amd64 SoftHSM library, which an arm64
#                    qrdesk-issuer under emulation cannot load
#   demo_integration the host's nm and readelf read the tools' symbols and libraries, and under
#                    emulation the tools are wrapper scripts; the link is the same on every
#                    architecture
#   security_integration  its attacker is the user nobody, who cannot run the emulator
#                    wrappers in the build dir; the kiosk it attacks is the same code natively
#   inbox_integration  decodes an all-zero 2048x2048 PNG on purpose (about 2 s natively, the
#                    better part of a minute emulated) to show a scan judged meanwhile; the
#                    worker thread and its budgets are the same C code natively, and
#                    test_source_replay runs the worker here
#   fleet_e2e        two daemons, nginx and a dozen tool runs, most of its half minute natively
#                    spent waiting on the uploads' 10 s period; emulated it would take minutes
#                    for nothing architecture-specific: the sync and upload paths it drives
#                    run emulated in daemon_sync_integration
#   upload_nginx     ten daemon starts around one upload round each (half a minute natively);
#                    the upload's faults run emulated in test_upload
#   bench_decode_quality_smoke  a benchmark's smoke over the generated scenes: over two
#                    minutes emulated, the longest test here; the decoder chain itself runs
#                    emulated in test_qrdecode and test_decode_chain, and what the smoke adds
#                    (the bench runs and prints its tables) is shown natively
excluded='^(bench_decode_quality_smoke|cose_interop|kiosk_browser|kiosk_display|static_analysis|fuzz_run|fuzz_regression_vectors|daemon_valgrind|deb_install|sync_crash|audit_crash|vm_appliance|pkcs11_softhsm|demo_integration|security_integration|inbox_integration|fleet_e2e|upload_nginx)$'
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E "$excluded"
echo "arm64: tests passed ($((SECONDS - start)) s in all)" >&2
