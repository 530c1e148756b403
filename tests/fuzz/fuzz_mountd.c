/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mountd - the request parser of udev mode's privileged mount helper
 * (usb_mountd_request_parse): the bytes of one message on its socketpair,
 * as a daemon taken over could send them.
 *
 * Properties: a refusal zeroes the request and says why; an accepted request
 * is exactly USB_MOUNTD_REQUEST_SIZE bytes, a known op, a device name of 1 to
 * 31 of a-z 0-9 (no '/', no "..": the helper builds /dev/<name> and
 * <mount_dir>/<name> from it), a file system of vfat, exfat or ext4 for a
 * mount and none otherwise; encoded again it is the input byte for byte.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/usb_mountd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usb_mountd_request rq;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = usb_mountd_request_parse(data, size, &rq, &why);
	if (rc != QD_OK) {
		static const struct usb_mountd_request zero;
		FUZZ_CHECK(rc == QD_ERR_FORMAT);
		FUZZ_CHECK(memcmp(&rq, &zero, sizeof(rq)) == 0);
		FUZZ_CHECK(why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(size == USB_MOUNTD_REQUEST_SIZE);
	FUZZ_CHECK(rq.op >= USB_MOUNTD_MOUNT && rq.op <= USB_MOUNTD_UNMOUNT);
	size_t n = strnlen(rq.name, sizeof(rq.name));
	FUZZ_CHECK(n >= 1 && n < sizeof(rq.name));
	FUZZ_CHECK(strspn(rq.name, "abcdefghijklmnopqrstuvwxyz0123456789") == n);
	FUZZ_CHECK(strnlen(rq.fstype, sizeof(rq.fstype)) < sizeof(rq.fstype));
	if (rq.op == USB_MOUNTD_MOUNT)
		FUZZ_CHECK(usb_fstype_supported(rq.fstype));
	else
		FUZZ_CHECK(rq.fstype[0] == '\0');
	unsigned char again[USB_MOUNTD_REQUEST_SIZE];
	usb_mountd_request_encode(&rq, again);
	FUZZ_CHECK(memcmp(again, data, size) == 0);
	struct usb_mountd_request back;
	FUZZ_CHECK(usb_mountd_request_parse(again, sizeof(again), &back, &why) == QD_OK);
	FUZZ_CHECK(memcmp(&back, &rq, sizeof(rq)) == 0);
	return 0;
}
