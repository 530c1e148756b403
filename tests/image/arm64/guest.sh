#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The arm64 image test's checks inside the desk image (tests/image/arm64/run.sh,
# docs/image.md), run by qrdesk-vmtest.service once per boot.  The emulated board has one
# SD card and no second serial port, so the host's files and this boot's results are on
# the data partition's vmtest/ folder (the host reads harness.txt there after qemu ends);
# PLAN says what each boot does.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
t=/data/vmtest
out=$t/harness.txt
# A slot that did not become ready is rebooting (qrdesk-slot-check.service): not a test run.
systemctl is-failed -q qrdesk-slot-check.service && exit 0
boot=$(($(cat $t/boots 2>/dev/null || echo 0) + 1))
echo $boot >$t/boots
slot=$(sed -n 's/.*rauc\.slot=\([A-Z]\).*/\1/p' /proc/cmdline)
plan=$(sed -n "${boot}p" $t/PLAN)
say() { echo "$*" >>$out; echo "vmtest: $*" >/dev/console; }
say "VMTEST BOOT $boot slot $slot plan '$plan' uptime $(cut -d' ' -f1 /proc/uptime) s"
passed=0 failed=0
ok() { say "ok - boot $boot ($slot): $*"; passed=$((passed + 1)); }
fail() { say "FAIL: boot $boot ($slot): $*"; failed=$((failed + 1)); }
check() { if eval "$1"; then ok "$2"; else fail "$2"; fi; }
wait_for() { # wait_for SECONDS CONDITION (a hang guard, not a speed limit)
	local end=$((SECONDS + $1))
	until eval "$2"; do
		((SECONDS > end)) && return 1
		sleep 1
	done
}
uenv() { fw_printenv -n "$1" 2>/dev/null; }
uenv_all() { echo "BOOT_ORDER=$(uenv BOOT_ORDER) BOOT_A_LEFT=$(uenv BOOT_A_LEFT) BOOT_B_LEFT=$(uenv BOOT_B_LEFT)"; }
finish() {
	say "VMTEST BOOT $boot DONE passed=$passed failed=$failed uptime=$(cut -d' ' -f1 /proc/uptime)"
	journalctl -b -o cat -u qrdeskd.service --no-pager | tail -n 15 | sed 's/^/# /' >>$out
	((failed == 0)) || systemctl --failed --no-legend | sed 's/^/# failed: /' >>$out
	sync
	case ${1:-poweroff} in
	reboot) systemctl reboot ;;
	*) systemctl poweroff ;;
	esac
	exit 0
}

case_system() {
	check '[ -n "$slot" ] && [ "$slot" = "${plan%% *}" ]' "U-Boot's boot.scr booted slot $slot (the plan expects ${plan%% *})"
	wait_for 900 'systemctl is-active -q qrdeskd.service' ||
		{ fail "qrdeskd did not become active (READY) in 900 s"; return 1; }
	ok "qrdeskd is active: its READY=1 reached systemd ($(cut -d' ' -f1 /proc/uptime) s after boot)"
	say "# boot: $(systemd-analyze time 2>/dev/null | head -n1)"
	local pid
	pid=$(systemctl show -p MainPID --value qrdeskd.service)
	check '[ "$(ps -o user= -p "$pid")" = qrdesk ]' "qrdeskd runs as the qrdesk user ($(ps -o user=,group= -p "$pid"))"
	check 'grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid/status && grep -q "^Seccomp:[[:space:]]*2" /proc/$pid/status &&
		grep -q "^CapEff:[[:space:]]*0*$" /proc/$pid/status' "qrdeskd runs hardened: no new privileges, a seccomp filter, no capabilities"
	check '[ "$(uname -m)" = aarch64 ] && [ "$(dpkg --print-architecture)" = arm64 ] && [ "$(dpkg-query -W -f="\${Architecture}" qrdesk)" = arm64 ]' \
		"an arm64 system with the arm64 qrdesk package ($(uname -m), $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' qrdesk))"
	check 'findmnt -n -o OPTIONS / | grep -qE "^ro(,|$)"' "the root file system is read-only ($(findmnt -n -o SOURCE,OPTIONS /))"
	check 'findmnt -n -o FSTYPE /boot/firmware | grep -qx vfat' "the FAT boot partition is mounted at /boot/firmware ($(findmnt -n -o SOURCE,FSTYPE /boot/firmware))"
	rauc status >$t/rauc-status.txt 2>&1
	# rauc's own words, without its colours: the primary slot comes from U-Boot's BOOT_ORDER
	# (fw_printenv, the uboot backend).
	sed -i 's/\x1b\[[0-9;]*m//g' $t/rauc-status.txt
	check 'grep -q "^Compatible: *qrdesk-desk-arm64" $t/rauc-status.txt && grep -q "^bootloader=uboot" /etc/rauc/system.conf &&
		grep -q "^Activated: rootfs.$(echo "${plan%% *}" | tr AB 01) (${plan%% *})" $t/rauc-status.txt' \
		"rauc status: compatible qrdesk-desk-arm64, the uboot backend's primary slot: $(grep '^Activated' $t/rauc-status.txt)"
	check '[ "$(rauc status --output-format=json 2>/dev/null | sed -n "s/.*\"booted\":\"\([A-Z]\)\".*/\1/p")" = "$slot" ]' \
		"rauc sees slot $slot booted"
	check 'grep -q "0de5c0de-02" $t/rauc-status.txt && grep -q "0de5c0de-03" $t/rauc-status.txt' \
		"rauc status shows both slots: $(grep -o '\[rootfs.*' $t/rauc-status.txt | tr '\n' ' ')"
	# U-Boot took one of the slot's attempts; slot-check gave them back once qrdeskd was ready.
	wait_for 300 '[ "$(uenv BOOT_${slot}_LEFT)" = 3 ]'
	check '[ "$(uenv BOOT_${slot}_LEFT)" = 3 ] && [ "$(uenv BOOT_ORDER)" = "${plan%% *} $(echo AB | tr -d "${plan%% *}")" ]' \
		"fw_printenv: U-Boot's counters, the slot marked good once qrdeskd was ready ($(uenv_all))"
	wait_for 300 '[ "$(systemctl list-jobs --no-legend | grep -vc qrdesk-vmtest)" = 0 ]'
	check '[ "$(systemctl list-units --failed --no-legend | wc -l)" = 0 ]' \
		"systemd: no unit failed ($(systemctl list-units --failed --no-legend | tr -s ' ' | cut -d' ' -f2 | tr '\n' ' '))"
	qrdeskctl status >$t/status.txt 2>&1
	check 'grep -q "^firmware $(cat $t/version) (qrdesk-desk-arm64)" $t/status.txt' \
		"qrdeskctl status shows the firmware: $(grep -A1 '^firmware' $t/status.txt | tr '\n' ' ')"
}

# An amd64 desk's bundle, signed by the right key: refused for its compatible.
case_wrongarch() {
	local before
	before=$(uenv_all)
	# The emulated board, like a Pi, has no real-time clock: systemd starts the clock at its
	# own build date, before the firmware certificates' start.  RAUC checks them at the
	# bundle's signing time (use-bundle-signing-time, docs/image.md#time-and-updates), so it
	# gets as far as the compatible with the clock left behind.
	check '[ "$(date +%s)" -lt "$(($(cat $t/now) - 86400))" ]' \
		"the board's clock is behind the host's (no RTC): $(date -u +%FT%TZ)"
	local rc
	rauc install $t/amd64.raucb >$t/install.txt 2>&1
	rc=$?
	check '[ $rc != 0 ] && grep -q "Compatible mismatch" $t/install.txt' \
		"rauc install refuses an amd64 bundle (exit status $rc): $(grep -i compatible $t/install.txt | tail -n1)"
	check '[ "$(uenv_all)" = "$before" ]' "U-Boot's environment is unchanged: $before"
}

# Switch slots as RAUC does after an install: the other slot primary with its attempts.
case_switch() {
	rauc status mark-active other >$t/mark.txt 2>&1
	check '[ "$(uenv BOOT_ORDER)" = "B A" ] && [ "$(uenv BOOT_B_LEFT)" = 3 ]' "rauc status mark-active other: $(uenv_all)"
}

for step in ${plan#* }; do
	case $step in
	system) case_system ;;
	wrongarch) case_wrongarch ;;
	switch) case_switch ;;
	reboot) finish reboot ;;
	*) fail "unknown step $step" ;;
	esac
done
finish
