#!/usr/bin/env python3
"""The checksum of tvp's squares workload, computed without tvp.

usage: reference.py --n N [--seed S]     generated input (the documented generator)
       reference.py --in FILE            one integer per line

Prints "SUM CRC64" as 0x%016x: the sum of the output's little-endian 64-bit words mod 2^64
and its CRC-64/XZ, the two checksum columns of the record."""
import argparse
import struct
import sys

M64 = (1 << 64) - 1
POLY = 0xC96C5795D7870F42  # ECMA-182, reflected


def crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    return table


def crc64_xz(data):
    table = crc_table()
    crc = M64
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ M64


def generated(n, seed):
    """item i: top 32 bits of splitmix64(seed + (i+1)*golden), as a signed 32-bit value"""
    golden = 0x9E3779B97F4A7C15
    for i in range(n):
        z = (seed + (i + 1) * golden) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        v = z >> 32
        yield v - (1 << 32) if v >= 1 << 31 else v


def loaded(path):
    with open(path) as f:
        for line in f:
            yield int(line.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--in", dest="path")
    a = ap.parse_args()
    if (a.n is None) == (a.path is None):
        ap.error("give --n or --in")
    items = loaded(a.path) if a.path else generated(a.n, a.seed)
    squares = [x * x for x in items]
    if any(s > (1 << 63) - 1 for s in squares):
        sys.exit("reference.py: a square overflows int64")
    out = struct.pack("<%dq" % len(squares), *squares)
    total = sum(squares) & M64
    print("0x%016x 0x%016x" % (total, crc64_xz(out)))


if __name__ == "__main__":
    main()
