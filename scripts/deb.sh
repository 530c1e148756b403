#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the Debian packages (qrdesk, qrdesk-issuer) in a copy of this tree, so nothing is
# written beside it, then run lintian on them.  Usage: scripts/deb.sh [OUTDIR]
# (default build/deb).  The .deb files, the .changes, the build log and lintian's report
# (lintian.txt) end up in OUTDIR.  Needs debhelper, dpkg-dev, lintian and the
# Build-Depends of debian/control (scripts/install-deps.sh installs them all).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/deb}")
version=$(dpkg-parsechangelog -S Version)

rm -rf "$out"
mkdir -p "$out/qrdesk-$version"
# The tracked and new (not ignored) files: what would be committed, without build dirs.
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$out/qrdesk-$version"

(cd "$out/qrdesk-$version" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
rm -rf "$out/qrdesk-$version"
changes=$(ls "$out"/qrdesk_"$version"_*.changes)
# lintian's exit status is non-zero on errors (--fail-on error, its default).
lintian --info --display-info --fail-on error "$changes" | tee "$out/lintian.txt"
ls "$out"/*.deb
