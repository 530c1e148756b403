# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/vm/run.sh: Debian 12's kernel, its modules and an
# out-of-tree gpio-sim, all from Debian packages into a cache (nothing here
# is installed on the host or committed).
#
# kernel_prepare CACHE sets KVER (e.g. 6.1.0-56-amd64), KROOT (the extracted
# image and headers packages: KROOT/boot/vmlinuz-KVER, KROOT/lib/modules/KVER
# with a modules.dep made by depmod) and GPIO_SIM_KO.  Reruns reuse the
# cache; a newer kernel in Debian's lists is downloaded next to the old one.

log() { echo "vm: $*" >&2; }

# The kernel linux-image-amd64 depends on now; the cached one when apt's
# lists cannot say (no network, no apt-get update yet).
kernel_pick_version() {
	local cache=$1 pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [[ -z $pkg && ! -s $cache/last-kernel && $(id -u) == 0 ]]; then
		log "apt has no package lists yet: apt-get update"
		apt-get update -qq >&2
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	if [[ -n $pkg ]]; then
		KVER=${pkg#linux-image-}
		KPKGVER=$(apt-cache show "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
		return 0
	fi
	if [[ -s $cache/last-kernel ]]; then
		read -r KVER KPKGVER <"$cache/last-kernel"
		log "apt-cache has no linux-image-amd64; using the cached $KVER"
		return 0
	fi
	log "cannot find Debian's kernel package: run apt-get update (scripts/install-deps.sh does)"
	return 1
}

# apt-get download into CACHE/debs, once per package version.
kernel_fetch() {
	local cache=$1 want=() p
	mkdir -p "$cache/debs"
	# linux-source and the kbuild tools must be of the image's own version.
	for p in "linux-image-$KVER" "linux-headers-$KVER" "linux-headers-${KVER%-amd64}-common" \
		linux-kbuild-6.1 linux-source-6.1; do
		compgen -G "$cache/debs/${p}_${KPKGVER}_*.deb" >/dev/null || want+=("$p=$KPKGVER")
	done
	compgen -G "$cache/debs/busybox-static_*.deb" >/dev/null || want+=(busybox-static)
	((${#want[@]} == 0)) && return 0
	log "downloading ${want[*]}"
	(cd "$cache/debs" && apt-get download -q "${want[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || return 1
	for p in "${want[@]}"; do
		compgen -G "$cache/debs/${p%%=*}_*.deb" >/dev/null || { log "apt-get download $p failed"; return 1; }
	done
}

kernel_extract() {
	local cache=$1
	KROOT=$cache/root-$KVER
	[[ -f $KROOT/.done ]] && return 0
	log "extracting $KVER"
	rm -rf "$KROOT"
	mkdir -p "$KROOT"
	local d
	for d in "$cache/debs/linux-image-${KVER}_${KPKGVER}"_*.deb "$cache/debs/linux-headers-"*"_${KPKGVER}"_*.deb \
		"$cache/debs/linux-kbuild-6.1_${KPKGVER}"_*.deb "$cache/debs/busybox-static_"*.deb; do
		dpkg-deb -x "$d" "$KROOT" || return 1
	done
	# The package ships no modules.dep (depmod runs when it is installed).
	depmod -b "$KROOT" "$KVER" || return 1
	touch "$KROOT/.done"
}

# gpio-sim for a kernel built without it: drivers/gpio/gpio-sim.c with
# kernel/irq/irq_sim.c linked into the same module (CONFIG_IRQ_SIM is off),
# irq_sim's handle_simple_irq(irq_to_desc(irq)) replaced by
# generic_handle_irq(irq) because irq_to_desc is not exported to modules.
kernel_build_gpio_sim() {
	local cache=$1 dir=$cache/gpio-sim-$KVER
	GPIO_SIM_KO=$dir/gpio-sim.ko
	[[ -f $GPIO_SIM_KO ]] && return 0
	log "building gpio-sim for $KVER out of tree"
	rm -rf "$dir"
	mkdir -p "$dir/src"
	dpkg-deb --fsys-tarfile "$cache/debs/linux-source-6.1_${KPKGVER}"_*.deb |
		tar -xO ./usr/src/linux-source-6.1.tar.xz |
		tar -xJ -C "$dir/src" --strip-components=1 linux-source-6.1/drivers/gpio/gpio-sim.c \
			linux-source-6.1/drivers/gpio/gpiolib.h linux-source-6.1/kernel/irq/irq_sim.c || return 1
	cp "$dir/src/drivers/gpio/gpio-sim.c" "$dir/gpio-sim-core.c"
	cp "$dir/src/drivers/gpio/gpiolib.h" "$dir/"
	sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
		"$dir/src/kernel/irq/irq_sim.c" >"$dir/irq_sim.c"
	grep -q 'generic_handle_irq(irqnum);' "$dir/irq_sim.c" || { log "irq_sim.c: the call to patch is not there"; return 1; }
	printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-core.o irq_sim.o\n' >"$dir/Kbuild"
	local h=$KROOT/usr/src
	# The headers package's Makefile includes /usr/src/...-common by absolute
	# path; run the common Makefile ourselves with its variables instead.
	make -s -C "$h/linux-headers-${KVER%-amd64}-common" O="$h/linux-headers-$KVER" M="$dir" \
		ARCH=x86 KERNELRELEASE="$KVER" CC=gcc-12 DEBIAN_KERNEL_NO_CC_VERSION_CHECK=y modules >"$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log" >&2; rm -f "$GPIO_SIM_KO"; return 1; }
	grep -i 'undefined!' "$dir/build.log" >&2 && { rm -f "$GPIO_SIM_KO"; return 1; }
	[[ -f $GPIO_SIM_KO ]]
}

kernel_prepare() {
	local cache=$1
	mkdir -p "$cache"
	kernel_pick_version "$cache" || return 1
	kernel_fetch "$cache" || return 1
	kernel_extract "$cache" || return 1
	kernel_build_gpio_sim "$cache" || return 1
	echo "$KVER $KPKGVER" >"$cache/last-kernel"
}
