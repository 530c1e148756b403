# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/vm/run.sh: the USB stick's medium, a FAT image made
# without mounting anything (mkfs.vfat, then mtools' mcopy).
#
# usbstick_image IMAGE FILE... : a 64 MiB FAT image (big enough that
# reading it whole under TCG takes seconds: the unplug lands mid-read) holding the files at its
# root (folders copied whole, mcopy -s).  The USB-stick case
# (tests/vm/guest/cases/50-usb_stick.sh) serves it through f_mass_storage.

usbstick_image() {
	local image=$1
	shift
	rm -f "$image"
	mkfs.vfat -C -n QRDESK "$image" 65536 >/dev/null || return 1
	MTOOLS_SKIP_CHECK=1 mcopy -s -i "$image" "$@" ::/ || return 1
}

# usbstick_bundles WORK ISSUER : the back office's side of the sticks, in
# the trust domain WORK/dom (tests/vm/host/trustdata.sh), for desk VM-1:
#   WORK/stick/qrdesk/vm.qrbundle       revokes valid2 (2611000002), brings
#                                       an airport table (the built-in one,
#                                       signed), sets pipeline.holdoff_ms
#   WORK/stick/qrdesk/export-request    asks for the desk's audit log
#   WORK/stick-big/qrdesk/big.qrbundle  a newer list that also revokes
#                                       600,000 more numbers, among them the
#                                       burst cards (2612000001..): ~10 MB,
#                                       so that unplugging it mid-read under
#                                       TCG is easy to hit
usbstick_bundles() {
	local work=$1 issuer=$2 b airports
	airports=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../../../firmware/core/airports.txt")
	mkdir -p "$work/stick/qrdesk" "$work/stick-big/qrdesk"
	(
		cd "$work" || exit 1
		"$issuer" revoke dom 2611000002 &&
			"$issuer" airports dom "$airports" &&
			"$issuer" publish dom repo2 &&
			"$issuer" bundle dom stick/qrdesk/vm.qrbundle --docs repo2/keyset.cose \
				repo2/revocations.cose repo2/airports.cose --set pipeline.holdoff_ms=700 --desk VM-1 &&
			"$issuer" export-request dom stick/qrdesk/export-request --desk VM-1 || exit 1
		for b in 0 1 2 3 4 5 6 7 8 9 10 11; do
			"$issuer" revoke dom $(seq $((2612000000 + b * 50000)) $((2612049999 + b * 50000))) || exit 1
		done
		"$issuer" publish dom repo3 &&
			"$issuer" bundle dom stick-big/qrdesk/big.qrbundle --docs repo3/revocations.cose --desk VM-1
	) >/dev/null
}
