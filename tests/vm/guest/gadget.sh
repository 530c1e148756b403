# SPDX-License-Identifier: Apache-2.0
# USB gadgets through configfs on dummy_hcd: the gadget side and the host side are
# both the guest's kernel, joined by a software USB controller.  Shared by the
# appliance VM's cases (tests/vm/guest/lib.sh, busybox sh) and the desk image's
# harness (tests/image/guest/run.sh, bash): plain POSIX sh with `local`.
GADGETS=/sys/kernel/config/usb_gadget
gadget_create() { # gadget_create NAME VENDOR PRODUCT "PRODUCT STRING"
	modprobe dummy_hcd && modprobe libcomposite || return 1
	local g=$GADGETS/$1
	mkdir -p "$g/strings/0x409" "$g/configs/c.1/strings/0x409" || return 1
	echo "0x$2" >"$g/idVendor"
	echo "0x$3" >"$g/idProduct"
	echo 0x0200 >"$g/bcdUSB"
	echo "qrdesk VM test" >"$g/strings/0x409/manufacturer"
	echo "$4" >"$g/strings/0x409/product"
	echo "VM0001" >"$g/strings/0x409/serialnumber"
	echo "$1" >"$g/configs/c.1/strings/0x409/configuration"
	echo 100 >"$g/configs/c.1/MaxPower"
}
gadget_plug() { # gadget_plug NAME: bind to the dummy controller (plug in)
	ls /sys/class/udc | head -n1 >"$GADGETS/$1/UDC"
}
gadget_unplug() { echo "" >"$GADGETS/$1/UDC"; }
gadget_remove() { # gadget_remove NAME: unbind and take the configfs tree apart
	local g=$GADGETS/$1 f
	[ -n "$(cat "$g/UDC" 2>/dev/null)" ] && gadget_unplug "$1"
	for f in "$g"/configs/c.1/*.*; do [ -L "$f" ] && rm "$f"; done
	rmdir "$g/configs/c.1/strings/0x409" "$g/configs/c.1" "$g"/functions/* "$g/strings/0x409" "$g"
}
# gadget_hid_keyboard NAME VENDOR PRODUCT "PRODUCT STRING": an f_hid boot keyboard
# (a keyboard-wedge scanner), plugged in; what is written to /dev/hidgN is typed.
gadget_hid_keyboard() {
	modprobe usb_f_hid && modprobe usbhid && modprobe hid_generic && modprobe evdev || return 1
	gadget_create "$1" "$2" "$3" "$4" || return 1
	local f=$GADGETS/$1/functions/hid.kbd
	mkdir "$f" || return 1
	echo 1 >"$f/protocol" # keyboard
	echo 1 >"$f/subclass" # boot interface
	echo 8 >"$f/report_length"
	# The boot keyboard report descriptor (HID 1.11, appendix B.1).
	printf '\005\001\011\006\241\001\005\007\031\340\051\347\025\000\045\001\165\001\225\010\201\002\225\001\165\010\201\001\225\005\165\001\005\010\031\001\051\005\221\002\225\001\165\003\221\001\225\006\165\010\025\000\045\145\005\007\031\000\051\145\201\000\300' >"$f/report_desc"
	ln -s "$f" "$GADGETS/$1/configs/c.1/"
	gadget_plug "$1"
}
# gadget_stick NAME VENDOR PRODUCT IMAGE [ro]: an f_mass_storage stick backed by the
# file IMAGE, removable (read-only with "ro"), plugged in.
gadget_stick() {
	modprobe usb_f_mass_storage && modprobe usb_storage && modprobe sd_mod || return 1
	gadget_create "$1" "$2" "$3" "VM USB stick" || return 1
	local f=$GADGETS/$1/functions/mass_storage.usb0
	mkdir "$f" || return 1
	echo 1 >"$f/lun.0/removable"
	[ "${5:-}" = ro ] && echo 1 >"$f/lun.0/ro"
	echo "$4" >"$f/lun.0/file" || return 1
	ln -s "$f" "$GADGETS/$1/configs/c.1/"
	gadget_plug "$1"
}
