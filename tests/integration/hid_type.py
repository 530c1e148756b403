#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A keyboard-wedge scanner for tests: types lines into a FIFO as struct input_event records.

qrdeskd's HID source reads a FIFO at its device path as a recorded event stream
(drivers/source_hid.c).  Usage: hid_type.py FIFO, then one command per line on stdin:
  type TEXT       type TEXT (US layout, Shift for upper case and symbols) then Enter
  quit
Each command is answered with "ok" once written.  Key times advance 1 ms a key from the
monotonic clock, as a fast scanner types.
"""
import os
import struct
import sys
import time

EV_SYN, EV_KEY = 0, 1
SHIFT, ENTER, SPACE = 42, 28, 57
ROWS = {"1234567890": 2, "qwertyuiop": 16, "asdfghjkl": 30, "zxcvbnm": 44}
PLAIN = {"-": 12, "=": 13, ";": 39, "'": 40, ",": 51, ".": 52, "/": 53, " ": SPACE}
SHIFTED = {"!": 2, "@": 3, "#": 4, "$": 5, "%": 6, "^": 7, "&": 8, "*": 9, "(": 10, ")": 11,
           "_": 12, "+": 13, ":": 39, '"': 40, "<": 51, ">": 52, "?": 53}


def keycode(ch):
    """(code, shift) for one printable character."""
    for row, first in ROWS.items():
        if ch.lower() in row:
            return first + row.index(ch.lower()), ch.isupper()
    if ch in PLAIN:
        return PLAIN[ch], False
    if ch in SHIFTED:
        return SHIFTED[ch], True
    raise SystemExit(f"hid_type: cannot type {ch!r}")


fd = os.open(sys.argv[1], os.O_WRONLY)
clock = time.monotonic()


def emit(etype, code, value):
    global clock
    sec = int(clock)
    usec = int((clock - sec) * 1e6)
    data = struct.pack("@qqHHi", sec, usec, etype, code, value)
    while data:
        data = data[os.write(fd, data):]


def key(code, shift=False):
    global clock
    clock = max(clock + 0.001, time.monotonic())
    if shift:
        emit(EV_KEY, SHIFT, 1)
    emit(EV_KEY, code, 1)
    emit(EV_SYN, 0, 0)
    emit(EV_KEY, code, 0)
    if shift:
        emit(EV_KEY, SHIFT, 0)
    emit(EV_SYN, 0, 0)


for line in sys.stdin:
    cmd, _, arg = line.rstrip("\n").partition(" ")
    if cmd == "type":
        for ch in arg:
            key(*keycode(ch))
        key(ENTER)
    elif cmd == "quit":
        break
    print("ok", flush=True)
