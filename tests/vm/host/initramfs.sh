# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/vm/run.sh: the initramfs the VM boots (cpio newc, gzip).
#
# initramfs_build STAGE OUT BIN... : STAGE is an empty folder that gets
# busybox (static, from the cached package), the given programs with every
# shared library ldd lists and the loader, the kernel modules below with
# their dependencies (from modules.dep) plus gpio-sim, and whatever the
# caller already put in STAGE (the runner, the cases, the trust data).

# What the cases load.  A new case adds its modules here; dependencies come
# by themselves.
VM_MODULES=(
	configfs libcomposite dummy_hcd udc_core usb_f_hid usb_f_acm usb_f_mass_storage
	usbhid hid_generic evdev uinput cdc_acm usb_storage sd_mod vfat nls_cp437 nls_ascii
	vivid
)

# Copy a program and the libraries it loads, at the same paths.
initramfs_add_program() {
	local stage=$1 prog=$2 dest=${3:-/bin/$(basename "$2")} lib
	install -D -m 0755 "$prog" "$stage$dest"
	for lib in $(ldd "$prog" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }'); do
		[[ -e $stage$lib ]] || install -D -m 0755 "$(realpath "$lib")" "$stage$lib"
	done
}

initramfs_add_modules() {
	local stage=$1 mod path dest
	local mdir=/lib/modules/$KVER
	for mod in "${VM_MODULES[@]}"; do
		modprobe -d "$KROOT" -S "$KVER" --show-depends "$mod" >"$stage/.deps" || return 1
		while read -r _ path _; do
			dest=$stage${path#"$KROOT"}
			[[ -e $dest ]] || install -D -m 0644 "$path" "$dest"
		done <"$stage/.deps"
	done
	rm -f "$stage/.deps"
	install -D -m 0644 "$GPIO_SIM_KO" "$stage$mdir/extra/gpio-sim.ko"
	cp "$KROOT$mdir/modules.builtin" "$KROOT$mdir/modules.builtin.modinfo" "$KROOT$mdir/modules.order" "$stage$mdir/"
	# A modules.dep for exactly these files, for busybox modprobe.
	depmod -b "$stage" "$KVER"
}

initramfs_build() {
	local stage=$1 out=$2
	shift 2
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root}
	install -m 0755 "$KROOT/bin/busybox" "$stage/bin/busybox"
	local prog
	for prog in "$@"; do
		initramfs_add_program "$stage" "$prog" || return 1
	done
	initramfs_add_modules "$stage" || return 1
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$out"
}
