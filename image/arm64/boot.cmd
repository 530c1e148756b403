# SPDX-License-Identifier: Apache-2.0
# The desk's slot choice on a Raspberry Pi-class arm64 board (docs/image.md): U-Boot's
# distro boot runs this (boot.scr, made with mkimage) from the FAT partition.  RAUC's
# uboot backend keeps the slot order and each slot's attempts left in U-Boot's environment
# (uboot.env beside this file): BOOT_ORDER (primary first) and BOOT_A_LEFT, BOOT_B_LEFT.
# Each boot of a slot costs one attempt; the booted system gives them back (rauc status
# mark-good, qrdesk-slot-check.service) once qrdeskd is ready.  A slot with none left is
# skipped, so a slot that never becomes ready is left for the next in BOOT_ORDER.
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv bootpart
setenv raucslot
for BOOT_SLOT in "${BOOT_ORDER}"; do
	if test "x${bootpart}" != "x"; then
		# a slot is chosen: skip the rest
	elif test "x${BOOT_SLOT}" = "xA"; then
		if test ${BOOT_A_LEFT} -gt 0; then
			setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
			setenv bootpart 2
			setenv raucslot A
		fi
	elif test "x${BOOT_SLOT}" = "xB"; then
		if test ${BOOT_B_LEFT} -gt 0; then
			setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
			setenv bootpart 3
			setenv raucslot B
		fi
	fi
done

if test -z "${raucslot}"; then
	# No slot has an attempt left, or BOOT_ORDER names none (a bad fw_setenv): rather than
	# stop, or reset forever, give both their attempts back in the first order.
	echo "qrdesk: no slot to boot in BOOT_ORDER=${BOOT_ORDER}; resetting the order and counters"
	setenv BOOT_ORDER "A B"
	setenv BOOT_A_LEFT 3
	setenv BOOT_B_LEFT 3
	saveenv
	reset
fi
saveenv
echo "qrdesk: booting slot ${raucslot} (BOOT_ORDER=${BOOT_ORDER} BOOT_A_LEFT=${BOOT_A_LEFT} BOOT_B_LEFT=${BOOT_B_LEFT})"

# The slot's own kernel, initramfs and the board's device tree (fdtfile: U-Boot names it
# after the board it runs on).  Addresses above U-Boot's script and below its own copy at
# the top of RAM; booti moves the kernel where it must run.
setenv kernel_addr_r 0x03000000
setenv fdt_addr_r 0x02800000
setenv ramdisk_addr_r 0x06000000
setenv bootargs "root=PARTUUID=@DISKID@-0${bootpart} ro rootwait rauc.slot=${raucslot} console=tty1 console=ttyS1,115200 panic=10"
load ${devtype} ${devnum}:${bootpart} ${kernel_addr_r} /vmlinuz
load ${devtype} ${devnum}:${bootpart} ${fdt_addr_r} /boot/dtbs/${fdtfile}
load ${devtype} ${devnum}:${bootpart} ${ramdisk_addr_r} /initrd.img
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
echo "qrdesk: slot ${raucslot} did not boot"
reset
