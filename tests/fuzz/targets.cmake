# SPDX-License-Identifier: Apache-2.0
# The fuzz targets and the libraries each links: shared by CMakeLists.txt
# (libFuzzer binaries, QRDESK_FUZZ=ON with clang) and replay.cmake (corpus
# replay programs, any compiler, the normal build).  A target <x> is
# fuzz_<x>.c, its seed corpus corpus/<x>/, its dictionary <x>.dict (optional).
# See README.md for what each one covers.  Keep the list on one line:
# scripts/fuzz.sh reads it from here.
set(QRDESK_FUZZ_TARGETS base45 cbor cose claims trustdoc qrtext keyfile config image control lines policy kiosk serial hid camera bundle mrz bcbp airports desks auditbatch mountd used export used_delta greyread)

set(QRDESK_FUZZ_DEPS_base45 qrdesk_base45)
set(QRDESK_FUZZ_DEPS_cbor qrdesk_cbor)
set(QRDESK_FUZZ_DEPS_cose qrdesk_core)
set(QRDESK_FUZZ_DEPS_claims qrdesk_core)
set(QRDESK_FUZZ_DEPS_trustdoc qrdesk_core)
set(QRDESK_FUZZ_DEPS_qrtext qrdesk_core)
set(QRDESK_FUZZ_DEPS_keyfile qrdesk_keyfile)
set(QRDESK_FUZZ_DEPS_config qrdesk_config)
set(QRDESK_FUZZ_DEPS_image qrdesk_sources)
set(QRDESK_FUZZ_DEPS_control qrdesk_control)
set(QRDESK_FUZZ_DEPS_lines qrdesk_sources)
set(QRDESK_FUZZ_DEPS_policy qrdesk_core)
set(QRDESK_FUZZ_DEPS_kiosk qrdesk_kiosk)
set(QRDESK_FUZZ_DEPS_serial qrdesk_sources)
set(QRDESK_FUZZ_DEPS_hid qrdesk_sources)
set(QRDESK_FUZZ_DEPS_camera qrdesk_sources)
set(QRDESK_FUZZ_DEPS_greyread qrdesk_sources)
set(QRDESK_FUZZ_DEPS_bundle qrdesk_bundle)
set(QRDESK_FUZZ_DEPS_mrz qrdesk_travel)
set(QRDESK_FUZZ_DEPS_bcbp qrdesk_travel)
set(QRDESK_FUZZ_DEPS_airports qrdesk_core)
set(QRDESK_FUZZ_DEPS_desks qrdesk_core)
set(QRDESK_FUZZ_DEPS_auditbatch qrdesk_core)
set(QRDESK_FUZZ_DEPS_used qrdesk_core)
set(QRDESK_FUZZ_DEPS_used_delta qrdesk_core)
set(QRDESK_FUZZ_DEPS_export qrdesk_core)
set(QRDESK_FUZZ_DEPS_mountd qrdesk_usb_mountd)
