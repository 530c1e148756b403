/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_rauc.h - firmware from a USB stick: a RAUC bundle (*.raucb) handed to
 * `rauc install` (docs/usb-bundle.md).
 */
#ifndef QRDESK_USB_RAUC_H
#define QRDESK_USB_RAUC_H

#include <stdbool.h>
#include <stdint.h>

#include "qrdesk/error.h"

struct usb_hooks; /* usb_update.h: progress gets each line rauc prints */

/*
 * Hand one RAUC bundle to `rauc install PATH` (posix_spawnp, no shell); each
 * line rauc prints goes to progress.  QD_ERR_UNSUPPORTED if rauc is not
 * installed; QD_ERR_IO with rauc's last line if it fails.
 */
enum qd_err usb_rauc_install(const char *rauc, const char *path, const struct usb_hooks *hooks,
                             struct qd_errmsg *why);

#endif
