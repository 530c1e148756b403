#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Code texts the back office's tool will not make, for the kiosk's browser test: each one
makes the real qrdeskd give one verdict reason that only a damaged or forged code can
(docs/credential-format.md: "BC1:" + base45(COSE_Sign1)).

Usage: reason_codes.py VALID_CARD.txt ISSUER_SEED_HEX OUTDIR
  VALID_CARD.txt   a card the domain signed (its protected header: the issuer key's kid)
  ISSUER_SEED_HEX  that key's Ed25519 secret seed (64 hex digits): BAD_CLAIMS needs a
                   signature that verifies over claims that do not decode
Writes OUTDIR/<REASON>.txt for each reason below, one line each.  The signature for
BAD_CLAIMS is made by openssl (Ed25519 over the COSE Sig_structure).
"""
import os
import subprocess
import sys
import tempfile

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45encode(data):
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [B45[n % 45], B45[n // 45 % 45], B45[n // 2025]]
    if len(data) % 2:
        n = data[-1]
        out += [B45[n % 45], B45[n // 45]]
    return "".join(out)


def b45decode(text):
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = [B45.index(c) for c in text[i:i + 3]]
        n = sum(v * 45 ** k for k, v in enumerate(chunk))
        out += n.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def head(major, n):
    """A CBOR head in its shortest form."""
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def bstr(b):
    return head(2, len(b)) + b


def item(data, pos):
    """The end of the CBOR item at pos (definite lengths only: enough for a card)."""
    ib = data[pos]
    major, ai = ib >> 5, ib & 31
    pos += 1
    if ai < 24:
        n = ai
    else:
        size = 1 << (ai - 24)
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if major in (2, 3):
        return pos + n
    if major == 4:
        for _ in range(n):
            pos = item(data, pos)
    elif major == 5:
        for _ in range(2 * n):
            pos = item(data, pos)
    elif major == 6:
        pos = item(data, pos)
    return pos


def sign1_parts(cose):
    """A tagged COSE_Sign1's four items, as their encoded bytes."""
    assert cose[0] == 0xD2 and cose[1] == 0x84, "not a tagged COSE_Sign1 of four items"
    parts, pos = [], 2
    for _ in range(4):
        end = item(cose, pos)
        parts.append(cose[pos:end])
        pos = end
    assert pos == len(cose)
    return parts


def ed25519_sign(seed, message):
    # PKCS#8 for an Ed25519 private key (RFC 8410) around the 32-byte seed.
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    with tempfile.TemporaryDirectory() as tmp:
        key, msg = os.path.join(tmp, "k.der"), os.path.join(tmp, "m")
        with open(key, "wb") as f:
            f.write(der)
        with open(msg, "wb") as f:
            f.write(message)
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-keyform", "DER", "-inkey", key,
                               "-rawin", "-in", msg], check=True, capture_output=True).stdout


def main():
    card_path, seed_hex, out = sys.argv[1:4]
    text = open(card_path).read().strip()
    assert text.startswith("BC1:")
    cose = b45decode(text[4:])
    protected, unprotected, payload, signature = sign1_parts(cose)
    seed = bytes.fromhex(seed_hex)
    assert len(seed) == 32
    # Claims that decode as CBOR but not as a card: an empty map.
    bad_payload = bstr(b"\xa0")
    tbs = b"\x84" + head(3, 10) + b"Signature1" + protected + bstr(b"") + bad_payload
    bad_claims = b"\xd2\x84" + protected + unprotected + bad_payload + bstr(ed25519_sign(seed, tbs))
    eddsa = bstr(b"\xa1\x01\x27")  # {1: -8}, no kid
    codes = {
        "BAD_BASE45": "BC1:A",  # one character: not a whole base45 group
        "BAD_CBOR": b"\xd2\x84\x1c",  # additional information 28 is reserved
        "CBOR_NON_MINIMAL": b"\xd8\x12" + cose[1:],  # tag 18 in two bytes
        "CBOR_INDEFINITE": b"\xd2\x9f" + protected + unprotected + payload + signature + b"\xff",
        "CBOR_DUPLICATE_KEY": b"\xd2\x84" + protected + b"\xa2\x04\x41\x01\x04\x41\x02" + payload + signature,
        "CBOR_TRAILING": cose + b"\x00",
        "CBOR_TOO_DEEP": b"\xd2\x84" + protected + b"\xa1\x20" + b"\x81" * 40 + b"\x00" + payload + signature,
        "NOT_COSE_SIGN1": b"\xd1" + cose[1:],  # tag 17: COSE_Mac0
        "BAD_HEADER": b"\xd2\x84\x40\xa0" + payload + signature,  # no algorithm
        "ALG_UNSUPPORTED": b"\xd2\x84" + bstr(b"\xa1\x01\x39\x03\xe6") + unprotected + payload + signature,
        "NO_KID": b"\xd2\x84" + eddsa + b"\xa0" + payload + signature,
        "BAD_CLAIMS": bad_claims,
        "TOO_LARGE": "BC1:" + "0" * 4400,
    }
    for reason, code in codes.items():
        line = code if isinstance(code, str) else "BC1:" + b45encode(code)
        with open(os.path.join(out, f"{reason}.txt"), "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
