# The USB stick, as far as the kernel goes: a configfs gadget with a
# mass-storage function backed by /data/stick.img (FAT, made on the host)
# enumerates on dummy_hcd through usb-storage and sd_mod as a SCSI disk; its
# files read back intact; pulled out in the middle of a read, the read fails
# and the disk goes away.  The update-bundle issue adds qrdeskd here: it
# detects the stick, applies the bundle, writes the sealed export, and on
# the mid-read unplug applies nothing.
. /lib.sh
modprobe usb_f_mass_storage && modprobe usb_storage && modprobe sd_mod && modprobe vfat &&
	modprobe nls_cp437 && modprobe nls_ascii || { fail "cannot load the mass-storage modules"; finish; }
gadget_create stick 1209 0003 "VM USB stick" || { fail "gadget"; finish; }
f=$GADGETS/stick/functions/mass_storage.usb0
mkdir "$f"
echo 1 >"$f/lun.0/removable"
echo 1 >"$f/stall"
echo /data/stick.img >"$f/lun.0/file" || { fail "the gadget does not take the image"; finish; }
ln -s "$f" "$GADGETS/stick/configs/c.1/"
gadget_plug stick || { fail "cannot bind the gadget to dummy_udc"; finish; }
disk() { for b in /sys/block/sd*; do [ -e "$b" ] && basename "$b"; done | head -n1; }
wait_for 30 '[ -n "$(disk)" ] && [ -b /dev/$(disk) ]' || { fail "no SCSI disk appeared"; finish; }
dev=/dev/$(disk)
model=$(cat /sys/block/$(disk)/device/model)
check 'echo "$model" | grep -q "File-Stor Gadget"' "the stick is $dev, a SCSI disk through usb-storage ($model)"
mkdir -p /mnt/stick
mount -t vfat -o ro "$dev" /mnt/stick || { fail "cannot mount $dev"; finish; }
check '[ "$(sha256sum </mnt/stick/big.bin | cut -d" " -f1)" = "$(cat /data/stick-big.sha256)" ]' "a 4 MiB file reads back intact"
check '[ "$(cat /mnt/stick/hello.txt)" = "qrdesk VM stick" ]' "a small file reads back"
umount /mnt/stick
sync
echo 3 >/proc/sys/vm/drop_caches

# Pulled out mid-read: read the raw disk 64 KiB at a time (1024 reads in
# all), unplug once three reads went through; a read must then fail.
(
	i=0
	while [ $i -lt 1024 ] && dd if="$dev" of=/dev/null bs=64k count=1 skip=$i iflag=direct 2>dd.err; do
		i=$((i + 1))
		echo $i >progress
	done
	echo $i >dd.done
) &
wait_for 60 '[ "$(cat progress 2>/dev/null || echo 0)" -ge 3 ]' || fail "the raw reads did not start"
gadget_unplug stick
wait_for 30 '[ -s dd.done ]' || fail "the reads did not end after the unplug"
done_at=$(cat dd.done)
check '[ "$done_at" -ge 3 ] && [ "$done_at" -lt 1024 ]' "a read failed mid-way, after $done_at of 1024 ($(grep -v records dd.err | tail -n1))"
wait_for 30 '[ -z "$(disk)" ]' || fail "the disk did not go away"
check '[ ! -b $dev ]' "$dev is gone"
gadget_remove stick
finish
