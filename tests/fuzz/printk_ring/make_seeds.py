#!/usr/bin/env python3
# Writes the seeds of fuzz_printk_ring (tests/fuzz/printk_ring.cc says the
# input format) into this directory: rings laid out as the kernel's writer
# does, one with records in a row, one whose last block wraps to offset 0.
# Run: python3 tests/fuzz/printk_ring/make_seeds.py
import os
import struct

COUNT_BITS, SIZE_BITS = 3, 7
COUNT, SIZE = 1 << COUNT_BITS, 1 << SIZE_BITS
FINALIZED, REUSABLE = 2, 3


def ring(records, head, tail):
    descs, infos, data = bytearray(COUNT * 24), bytearray(COUNT * 88), bytearray(SIZE)
    for rid, state, begin, nxt, seq, ts, text in records:
        i = rid % COUNT
        struct.pack_into("<QQQ", descs, i * 24, (state << 62) | rid, begin, nxt)
        struct.pack_into("<QQH", infos, i * 88, seq, ts, len(text))
        off = begin % SIZE if begin // SIZE == nxt // SIZE else 0
        struct.pack_into("<Q", data, off, rid)
        data[off + 8:off + 8 + len(text)] = text
    return struct.pack("<BBQQ", COUNT_BITS, SIZE_BITS, head, tail) + bytes(descs + infos + data)


here = os.path.dirname(os.path.abspath(__file__))
seeds = {
    "in_a_row.bin": ring([(1, FINALIZED, 0, 24, 0, 0, b"Linux version"), (2, FINALIZED, 24, 48, 1, 1500, b"two\nlines"),
                          (3, REUSABLE, 48, 72, 2, 0, b"gone")], head=3, tail=1),
    "wrapped.bin": ring([(9, FINALIZED, 256 + 72, 256 + 104, 5, 7, b"before"),
                         (10, FINALIZED, 256 + 104, 384 + 32, 6, 8, b"wrapped!")], head=10, tail=9),
}
for name, blob in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(blob)
