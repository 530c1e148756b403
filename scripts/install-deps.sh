#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages qrdesk needs to build, run and test.
# Idempotent and non-interactive: installs only what is missing.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config clang-format
	# libraries (see the README's dependency table for why each)
	libsodium-dev libmbedtls-dev libsqlite3-dev libjansson-dev libzbar-dev libzxing-dev
	libqrencode-dev libpng-dev libgpiod-dev libcurl4-openssl-dev libinih-dev
	libmicrohttpd-dev libudev-dev libjpeg-dev libsystemd-dev
	# tests
	libcmocka-dev zbar-tools jq sqlite3 python3
	# the hot-plug test runs a real udevd
	udev
	# the sync test: a real HTTPS server and a test CA
	nginx-light openssl
	# the kiosk's browser test: Chromium, the page's Bengali font, a Prometheus text parser
	chromium fonts-noto-core python3-prometheus-client
	# the USB test: a FAT image on a loop device
	dosfstools
	# quality gates: leak check, static analysis, libFuzzer
	valgrind cppcheck clang-tidy clang libclang-rt-14-dev
	# Debian packages, man pages and their install test (scripts/deb.sh, docs/man/)
	debhelper dpkg-dev fakeroot lintian scdoc debootstrap
	# the VM tests (tests/vm/): qemu, the initramfs, the USB stick's FAT image; the kernel
	# and busybox-static are fetched by tests/vm/run.sh with apt-get download, not installed
	qemu-system-x86 cpio kmod mtools
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
