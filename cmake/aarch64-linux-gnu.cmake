# SPDX-License-Identifier: Apache-2.0
# Cross-compile for 64-bit ARM desks (Raspberry Pi 4/5 class) with Debian's cross compiler
# (crossbuild-essential-arm64) against a sysroot of Debian 12's arm64 packages, extracted
# under the build dir by scripts/arm64.sh (never installed system-wide: several :arm64 -dev
# packages are not co-installable with their amd64 twins).  Tests run under qemu-user.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DQRDESK_ARM64_SYSROOT=$PWD/build-arm64-sysroot
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++) # the zxing-cpp shim

# try_compile projects read this file again: hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES QRDESK_ARM64_SYSROOT)
if(NOT QRDESK_ARM64_SYSROOT)
  message(FATAL_ERROR "set -DQRDESK_ARM64_SYSROOT=DIR (scripts/arm64.sh makes it)")
endif()
set(CMAKE_SYSROOT ${QRDESK_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${QRDESK_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Debian's multiarch dirs inside the sysroot (the linker follows the libraries' own
# dependencies there too).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
foreach(dir lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${QRDESK_ARM64_SYSROOT}/${dir}")
endforeach()

# pkg-config reads only the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${QRDESK_ARM64_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
    "${QRDESK_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${QRDESK_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest runs every test program under qemu-user, with the sysroot's loader and libraries
# (no binfmt_misc needed).  Script tests get wrappers that do the same (tests/CMakeLists.txt).
find_program(QRDESK_QEMU_AARCH64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${QRDESK_QEMU_AARCH64} -L ${QRDESK_ARM64_SYSROOT}
    -E LD_LIBRARY_PATH=/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu)
