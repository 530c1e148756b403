# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the image tests (tests/image/run.sh, tests/image/arm64/run.sh); needs their log.
#
# image_debs SRC BUILD LOG: the qrdesk (amd64) and qrdesk-kiosk packages of the tree at SRC, in $debs
# (BUILD/image-debs/deb-KEY), rebuilt only when a file that goes into them changed
# (everything but the tests, the scripts, the image's own files and the prose;
# configuration.md makes qrdesk.conf(5)).  scripts/deb.sh's output goes to LOG.
image_debs() {
	local src=$1 build=$2 log_file=$3 deb_key installed
	mkdir -p "$build/image-debs"
	deb_key=$(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[[ -f $f ]] || continue
			[[ $f =~ ^(tests|scripts|image)/ || ($f =~ ^docs/[^/]*\.md$ && $f != docs/configuration.md) || $f == README.md ]] && continue
			printf '%s\0' "$f"
		done | xargs -0 sha256sum | sha256sum | cut -c1-16)
	debs=$build/image-debs/deb-$deb_key
	# deb_install (same ctest run, a fixture of this test) has just built them: take those
	# when no file that goes into the package is newer.
	installed=$build/deb-install/deb
	image_debs_have() { compgen -G "$1/qrdesk_*.deb" >/dev/null && compgen -G "$1/qrdesk-kiosk_*.deb" >/dev/null; }
	if ! image_debs_have "$debs" && image_debs_have "$installed" &&
		[[ -z $(cd "$src" && find firmware drivers cache tools include debian docs/man CMakeLists.txt cmake \
			docs/configuration.md -newer "$(ls "$installed"/qrdesk_*.deb | head -n1)" -print -quit) ]]; then
		find "$build/image-debs" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
		mkdir -p "$debs"
		cp "$installed"/qrdesk_*.deb "$installed"/qrdesk-kiosk_*.deb "$debs/"
		log "packages from deb_install's build"
	fi
	if ! image_debs_have "$debs"; then
		log "building the packages (scripts/deb.sh)"
		find "$build/image-debs" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
		nice -n 10 "$src/scripts/deb.sh" "$debs" >"$log_file" 2>&1 || { tail -30 "$log_file" >&2; return 1; }
	fi
}
