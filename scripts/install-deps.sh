#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages qrdesk needs.  Idempotent and non-interactive:
# installs only what is missing, and says what it installs.
#
#   scripts/install-deps.sh          everything: build, run and the whole test suite
#   scripts/install-deps.sh --demo   only what scripts/demo.sh needs to build and run
#                                    qrdeskd, qrdeskctl and qrdesk-issuer
set -euo pipefail

# The demo's set: a compiler and the libraries the three programs link.
demo_packages=(
	build-essential cmake pkg-config
	# libraries (see the README's dependency table for why each)
	libsodium-dev libmbedtls-dev libsqlite3-dev libjansson-dev libzbar-dev libzxing-dev
	libqrencode-dev libpng-dev libgpiod-dev libcurl4-openssl-dev libinih-dev
	libmicrohttpd-dev libudev-dev libjpeg-dev libsystemd-dev libp11-kit-dev
)
# The rest: what the test command (scripts/test.sh) needs as well.
test_packages=(
	clang-format
	# tests
	libcmocka-dev zbar-tools jq sqlite3 python3
	# qrdesk-specimen's boarding pass as a PDF417 / Aztec picture (tests/support/specimen.c)
	libzint-dev
	# the hot-plug test runs a real udevd
	udev
	# the sync test: a real HTTPS server and a test CA
	nginx-light openssl
	# the kiosk's browser test: Chromium, the page's Bengali font, a Prometheus text parser
	chromium fonts-noto-core python3-prometheus-client
	# the kiosk on the desk's screen (qrdesk-kiosk.service): cage, which needs Xwayland, and
	# grim for the test's screenshot on cage's headless backend (tests/browser/display.sh)
	cage xwayland grim
	# issuer keys in a token: p11-kit's module registry, SoftHSMv2 as the token, OpenSC's
	# pkcs11-tool to make keys inside it (tests/integration/pkcs11.sh)
	p11-kit softhsm2 opensc
	# the USB test: a FAT image on a loop device
	dosfstools
	# quality gates: leak check, static analysis, libFuzzer
	valgrind cppcheck clang-tidy clang libclang-rt-14-dev
	# Debian packages, man pages and their install test (scripts/deb.sh, docs/man/)
	debhelper dpkg-dev fakeroot lintian scdoc debootstrap
	# the VM tests (tests/vm/): qemu, the initramfs, the USB stick's FAT image; the kernel
	# and busybox-static are fetched by tests/vm/run.sh with apt-get download, not installed
	qemu-system-x86 cpio kmod mtools
	# the desk image and its VM test (scripts/image.sh, scripts/firmware-bundle.sh,
	# tests/image/): partitions and file systems made from folders, RAUC bundles (rauc,
	# mksquashfs), the firmware keys (xxd); the image's own packages come from mmdebstrap
	fdisk e2fsprogs rauc squashfs-tools xxd mmdebstrap
	# the arm64 (Raspberry Pi-class) image and its test (scripts/image.sh --arch arm64,
	# scripts/deb-arm64.sh, tests/image/arm64/): U-Boot's boot.scr (mkimage), the FAT boot
	# partition (dosfstools, mtools: above), the board under emulation (qemu-system-arm:
	# qemu-system-aarch64's raspi3b); arm64 programs run through qemu-user-static
	# (scripts/arm64.sh installs it with the cross compiler; mmdebstrap checks it with arch-test)
	u-boot-tools qemu-system-arm arch-test
	# the COSE interop test (tests/interop/): Node.js runs an independent COSE library,
	# installed from tests/interop/package-lock.json by `npm ci` below
	nodejs
)

case ${1:-} in
--demo) packages=("${demo_packages[@]}") ;;
"") packages=("${demo_packages[@]}" "${test_packages[@]}") ;;
*)
	echo "usage: scripts/install-deps.sh [--demo]" >&2
	exit 64
	;;
esac

# One dpkg-query for all of them (one per package costs seconds on a slow board).
# Prints the packages of "$@" that are not installed.
not_installed() {
	local -A ok=()
	local status name p
	while read -r status name; do
		[[ $status == ii ]] && ok[${name%%:*}]=1
	done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null || true)
	for p in "$@"; do
		[[ -n ${ok[$p]:-} ]] || echo "$p"
	done
}
mapfile -t missing < <(not_installed "${packages[@]}")

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi

# The interop test's npm packages, exactly as tests/interop/package-lock.json pins them, into
# tests/interop/node_modules (never at build time, never for the demo).  Install scripts are
# not run and optional native parts are left out: cbor-x then works in plain JavaScript.
# Skipped when node_modules was made from this very lock file.
npm_packages() {
	[[ $1 == --demo ]] && return 0
	local dir lock stamp
	dir=$(cd "$(dirname "$0")/../tests/interop" && pwd)
	lock=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	stamp=$dir/node_modules/.qrdesk-lock-sha256
	[[ -f $stamp && $(cat "$stamp") == "$lock" ]] && return 0
	if ! command -v npm >/dev/null; then
		# Debian's nodejs comes without npm (NodeSource's includes it).
		echo "install-deps: apt-get install npm" >&2
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
			install -y -q --no-install-recommends npm >/dev/null
	fi
	echo "install-deps: npm ci in tests/interop (the COSE interop test's packages)" >&2
	(cd "$dir" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error >&2)
	echo "$lock" >"$stamp"
}

if ((${#missing[@]} == 0)); then
	npm_packages "${1:-}"
	exit 0
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}" >&2
echo "install-deps: apt-get update" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
echo "install-deps: apt-get install (download and unpack; this is the slow part)" >&2
# -q (not -qq): apt's own lines show what is being fetched and set up.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
	--no-install-recommends "${missing[@]}" |
	grep --line-buffered -E '^(Get:|Setting up|Unpacking)' | sed -u 's/^/install-deps:   /' >&2 || true
# The pipe hides apt's own status: check the result instead.
mapfile -t still < <(not_installed "${missing[@]}")
if ((${#still[@]} > 0)); then
	echo "install-deps: not installed: ${still[*]} (see apt-get's messages above)" >&2
	exit 1
fi
npm_packages "${1:-}"
echo "install-deps: done" >&2
