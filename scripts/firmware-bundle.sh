#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The back office's firmware side of a qrdesk trust domain (docs/image.md).
#
#   scripts/firmware-bundle.sh keyring DOMAIN OUT.pem
#       the desks' RAUC keyring: the domain's root key as a self-signed X.509 CA
#       certificate (DOMAIN/firmware/root.pem, made once and kept)
#   scripts/firmware-bundle.sh bundle DOMAIN ROOTFS.ext4 VERSION OUT.raucb
#       a signed RAUC bundle (rauc bundle, verity format) that writes ROOTFS.ext4 (a slot
#       image from scripts/image.sh --rootfs-only) into the other root slot
#
# DOMAIN is a qrdesk-issuer trust domain (qrdesk-issuer init).  The keyring is the same
# root the desks pin for trust data; bundles are signed by a firmware-update key that the
# root certifies (DOMAIN/firmware/update.pem, update role, 5 years).  That key is P-256,
# not the domain's Ed25519 update key, because RAUC 1.8's CMS signing refuses Ed25519
# keys (CMS_sign_ex: "add signer error"); an Ed25519 root may still certify it, and
# RAUC checks that chain.  Needs rauc, openssl, jq, xxd, squashfs-tools, e2fsprogs (debugfs).
set -euo pipefail
export LC_ALL=C.UTF-8
log() { echo "firmware-bundle: $*" >&2; }
usage() { sed -n '5,12p' "$0" >&2; exit 64; }
(($# >= 3)) || usage
cmd=$1 domain=$2
[[ -s $domain/domain.json ]] || { log "$domain is not a trust domain (no domain.json)"; exit 66; }
fw=$domain/firmware
mkdir -p "$fw"

# The domain's newest active root key, as PEM (PKCS#8: the Ed25519 seed after the
# fixed DER prefix of RFC 8410).
root_key() {
	local kid
	kid=$(jq -r '[.keys[] | select(.role == "root" and .status == "active")] | last | .kid' "$domain/domain.json")
	[[ -n $kid && $kid != null && -s $domain/keys/$kid.key ]] || { log "no active root key in $domain"; return 1; }
	{ printf '302e020100300506032b657004220420'; tr -d '\n' <"$domain/keys/$kid.key"; } | xxd -r -p |
		openssl pkey -inform DER -out "$1"
	chmod 0600 "$1"
	echo "$kid"
}

ensure_certs() {
	local tmp kid
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	kid=$(root_key "$tmp/root.key") || return 1
	if [[ ! -s $fw/root.pem ]] || ! openssl x509 -in "$fw/root.pem" -noout -subject | grep -q "$kid"; then
		openssl req -x509 -new -key "$tmp/root.key" -days 7300 -subj "/O=qrdesk/CN=qrdesk firmware root $kid" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			-out "$fw/root.pem" 2>/dev/null
		rm -f "$fw/update.pem"
	fi
	if [[ ! -s $fw/update.key ]]; then
		(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$fw/update.key")
		rm -f "$fw/update.pem"
	fi
	if [[ ! -s $fw/update.pem ]]; then
		openssl req -new -key "$fw/update.key" -subj "/O=qrdesk/CN=qrdesk firmware update" -out "$tmp/update.csr"
		printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
			subjectKeyIdentifier=hash authorityKeyIdentifier=keyid >"$tmp/ext"
		openssl x509 -req -in "$tmp/update.csr" -CA "$fw/root.pem" -CAkey "$tmp/root.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 1825 -extfile "$tmp/ext" -out "$fw/update.pem" 2>/dev/null
	fi
}

case $cmd in
keyring)
	(($# == 3)) || usage
	ensure_certs
	cp "$fw/root.pem" "$3"
	;;
bundle)
	(($# == 5)) || usage
	rootfs=$3 version=$4 outb=$5
	[[ -s $rootfs ]] || { log "no root file system image $rootfs"; exit 66; }
	ensure_certs
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/content"
	ln "$rootfs" "$tmp/content/rootfs.ext4" 2>/dev/null || cp --sparse=always "$rootfs" "$tmp/content/rootfs.ext4"
	# The compatible the slot image says it is for (image.sh --arch writes it in the slot's
	# /etc/qrdesk-firmware): a desk refuses a bundle for another board.  An image without
	# that file is taken for an amd64 desk's.
	compatible=$(debugfs -R 'cat /etc/qrdesk-firmware' "$rootfs" 2>/dev/null | sed -n 's/^COMPATIBLE=//p')
	cat >"$tmp/content/manifest.raucm" <<MANIFEST
[update]
compatible=${compatible:-qrdesk-desk-amd64}
version=$version
description=qrdesk desk firmware $version

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST
	rm -f "$outb"
	nice -n 19 rauc bundle --cert "$fw/update.pem" --key "$fw/update.key" --keyring "$fw/root.pem" --mksquashfs-args="-comp lz4" \
		"$tmp/content" "$outb" >"$tmp/rauc.log" 2>&1 || { cat "$tmp/rauc.log" >&2; exit 1; }
	log "$outb: ${compatible:-qrdesk-desk-amd64} version $version, $(du -h "$outb" | cut -f1), signed by $(openssl x509 -in "$fw/update.pem" -noout -subject)"
	;;
*) usage ;;
esac
