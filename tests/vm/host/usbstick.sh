# Sourced by tests/vm/run.sh: the USB stick's medium, a FAT image made
# without mounting anything (mkfs.vfat, then mtools' mcopy).
#
# usbstick_image IMAGE FILE... : a 64 MiB FAT image (big enough that
# reading it whole under TCG takes seconds: the unplug lands mid-read) holding the files at its
# root.  The USB-stick case (tests/vm/guest/cases/50-usb_stick.sh) serves it
# through f_mass_storage; the update-bundle issue puts its bundle and export
# request here.

usbstick_image() {
	local image=$1
	shift
	rm -f "$image"
	mkfs.vfat -C -n QRDESK "$image" 65536 >/dev/null || return 1
	MTOOLS_SKIP_CHECK=1 mcopy -i "$image" "$@" ::/ || return 1
}
