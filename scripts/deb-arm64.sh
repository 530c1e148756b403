#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The qrdesk package for arm64 desks (the Raspberry Pi-class image, docs/image.md), built
# on this amd64 host.  Usage: scripts/deb-arm64.sh DEB_DIR [BUILD_DIR]
#   DEB_DIR    holds qrdesk_V_amd64.deb (scripts/deb.sh); qrdesk_V_arm64.deb is written there
#   BUILD_DIR  the cross build (default build/deb-arm64; its sysroot BUILD_DIR-sysroot)
#
# Why not dpkg-buildpackage -a arm64: it needs the Build-Depends installed as :arm64
# packages, and several of them cannot be co-installed with their amd64 twins (libzbar-dev
# pulls libmagick++-dev, which is not Multi-Arch: same), nor can dpkg-shlibdeps find the
# arm64 libraries in dpkg's database without them.  So the programs are cross-built as
# scripts/arm64.sh builds them (Debian's cross compiler, a sysroot of Debian 12's arm64
# packages), with the flags dpkg-buildflags gives an arm64 package build and the options
# debian/rules gives CMake, and put in place of the amd64 package's two ELF programs
# (qrdeskd, qrdeskctl); everything else in the package (unit, rules, sysusers, tmpfiles,
# configuration, man pages, maintainer scripts) is architecture-independent and taken as
# it is.  The amd64 package's Depends (dpkg-shlibdeps) hold for arm64 only if each program
# needs the same libraries on both: checked, else this fails.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "deb-arm64: $*" >&2; }
(($# >= 1)) || { sed -n '5,7p' "$0" >&2; exit 64; }
debs=$(realpath "$1")
build=$(realpath -m "${2:-build/deb-arm64}")
amd=$(ls "$debs"/qrdesk_*_amd64.deb 2>/dev/null | tail -n1)
[[ -n $amd ]] || { log "no qrdesk_*_amd64.deb in $debs: run scripts/deb.sh $debs"; exit 2; }
version=$(dpkg-deb -f "$amd" Version)
start=$SECONDS

scripts/arm64.sh --sysroot-only "$build"
eval "$(CC=aarch64-linux-gnu-gcc DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-architecture -a arm64 -c dpkg-buildflags --export=sh)"
CFLAGS="$CFLAGS $CPPFLAGS" CXXFLAGS="$CXXFLAGS $CPPFLAGS" cmake -S . -B "$build" \
	-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" -DQRDESK_ARM64_SYSROOT="$build-sysroot" \
	-DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr -DQRDESK_WERROR=OFF -DQRDESK_TESTS=OFF -DQRDESK_MAN=OFF >/dev/null
nice -n 10 cmake --build "$build" -j"$(nproc)" --target qrdeskd qrdeskctl >"$build/build.log" 2>&1 ||
	{ tail -30 "$build/build.log" >&2; exit 1; }
log "cross-built ($((SECONDS - start)) s)"

pkg=$build/pkg
rm -rf "$pkg"
dpkg-deb -R "$amd" "$pkg"
# The dynamic loader aside (libc6's, named after the architecture).
needed() { objdump -p "$1" | awk '$1 == "NEEDED" && $2 !~ /^ld-linux/ {print $2}' | sort; }
for f in usr/sbin/qrdeskd:firmware/qrdeskd usr/bin/qrdeskctl:tools/qrdeskctl; do
	dst=$pkg/${f%%:*} src=$build/${f#*:}
	[[ -f $dst ]] || { log "the amd64 package has no /${f%%:*}"; exit 1; }
	if [[ $(needed "$dst") != "$(needed "$src")" ]]; then
		log "/${f%%:*} needs other libraries on arm64 than on amd64: the package's Depends would be wrong"
		diff <(needed "$dst") <(needed "$src") >&2
		exit 1
	fi
	aarch64-linux-gnu-strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$dst" "$src"
done
# No ELF file of the amd64 package may be left.
if find "$pkg" -path "$pkg/DEBIAN" -prune -o -type f -print0 | xargs -0 file | grep 'ELF' | grep -v 'ARM aarch64'; then
	log "amd64 programs left in the package"
	exit 1
fi
sed -i -e 's/^Architecture: amd64$/Architecture: arm64/' \
	-e "s/^Installed-Size: .*/Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)/" "$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
out=$debs/qrdesk_${version}_arm64.deb
dpkg-deb --root-owner-group -Zxz -b "$pkg" "$out" >/dev/null
rm -rf "$pkg"
log "$out ($((SECONDS - start)) s)"
