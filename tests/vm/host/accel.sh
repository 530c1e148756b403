# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/vm/run.sh and tests/image/run.sh: qemu's accelerator.
#
# accel_pick auto|kvm|tcg sets ACCEL (kvm or tcg) and ACCEL_ARGS (qemu's options).
# auto takes KVM when it is usable: the node opens and the CPU has VT-x or AMD-V.
# A sandbox may offer a /dev/kvm without them, where a guest hangs before its
# first line; there, and without /dev/kvm, qemu's TCG emulates the CPU.
kvm_usable() { [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; }
accel_pick() {
	if [[ $1 == kvm || ($1 == auto && $(kvm_usable && echo y) == y) ]]; then
		ACCEL=kvm
		ACCEL_ARGS=(-accel kvm)
	else
		ACCEL=tcg
		ACCEL_ARGS=(-accel tcg)
	fi
}
