#!/usr/bin/env python3
# Writes the seeds of fuzz_page_walk (tests/fuzz/page_walk.cc says the
# input format) into this directory: small page tables of every paging
# mode and page size, and queries that hit, miss and cross pages.
# Run: python3 tests/fuzz/page_walk/make_seeds.py
import os
import struct

P, W, U, PS, G, NX = 1, 2, 4, 0x80, 0x100, 1 << 63
OFF, LEGACY32, PAE, LONG4, LONG5 = range(5)
FOURG = 1 << 32


class Seed:
    def __init__(self, mode, flags, cr3, low=0x100000, high=0x10000):
        self.mode, self.flags, self.cr3, self.low, self.high = mode, flags, cr3, low, high
        self.words = {}  # 8-byte-aligned guest-physical address -> value
        self.queries = []

    def put(self, addr, value, size=8):
        base, shift = addr & ~7, (addr & 7) * 8
        mask = ((1 << (8 * size)) - 1) << shift
        self.words[base] = (self.words.get(base, 0) & ~mask) | (value << shift) & mask

    def ask(self, vaddr, length=8):
        self.queries.append((vaddr & (2**64 - 1), length))

    def bytes(self):
        out = struct.pack('<BBQIIB', self.mode, self.flags, self.cr3, self.low, self.high, len(self.queries))
        for v, n in self.queries:
            out += struct.pack('<QH', v, n)
        for a, v in sorted(self.words.items()):
            out += struct.pack('<QQ', a, v)
        return out


def wide_map(s, top, root, vaddr, paddr, leaf, flags, next_table):
    """Maps vaddr in PAE (top 3) or IA-32e (4, 5) tables; returns the next free table."""
    table = root
    for level in range(top, leaf, -1):
        shift = 12 + 9 * (level - 1)
        index = (vaddr >> shift) & (3 if top == 3 and level == 3 else 0x1ff)
        at = table + index * 8
        e = s.words.get(at, 0)
        if not e & P:
            e = next_table | (P if top == 3 and level == 3 else P | W | U)
            next_table += 0x1000
            s.put(at, e)
        table = e & 0x000ffffffffff000
    index = (vaddr >> (12 + 9 * (leaf - 1))) & 0x1ff
    s.put(table + index * 8, paddr | flags | (PS if leaf > 1 else 0))
    return next_table


def long_seed(top):
    s = Seed(LONG5 if top == 5 else LONG4, 1 | 2, 0x1000)
    nt = 0x2000
    nt = wide_map(s, top, 0x1000, 0x7f0000001000, 0x30000, 1, P | W | U | G, nt)
    nt = wide_map(s, top, 0x1000, 0x7f0000002000, 0x31000, 1, P | W | U | NX, nt)
    nt = wide_map(s, top, 0x1000, 0xffffffff80000000, 0x200000, 2, P | W | G, nt)
    nt = wide_map(s, top, 0x1000, 0xffff888000000000, 0, 3, P | W | NX, nt)
    s.put(0x30ff8, 0x1122334455667788)
    s.ask(0x7f0000001ff8, 16)  # across two 4 KiB pages
    s.ask(0xffffffff80012345, 8)
    s.ask(0xffff888000001000, 32)
    s.ask(0x7f0000003000, 8)  # not mapped
    s.ask(0x0000800000000000, 8)  # not canonical with 4 levels
    if top == 5:
        nt = wide_map(s, top, 0x1000, 0x00ab000000000000, 0x40000, 1, P | W, nt)
        s.ask(0x00ab000000000010, 8)
    return s


def pae_seed():
    s = Seed(PAE, 1, 0x1020)
    nt = 0x2000
    nt = wide_map(s, 3, 0x1020, 0xc0001000, 0x30000, 1, P | W | NX, nt)
    nt = wide_map(s, 3, 0x1020, 0x40200000, 0x400000, 2, P | U, nt)
    s.ask(0xc0001ffc, 8)
    s.ask(0x40212345, 4)
    s.ask(0x00001000, 4)  # PDPTE 0 not present
    return s


def legacy32_seed():
    s = Seed(LEGACY32, 2, 0x2000, low=0x800000)
    s.put(0x2000 + (0xc0000000 >> 22) * 4, 0x3000 | P | W, 4)
    s.put(0x3000 + 5 * 4, 0x30000 | P | U | G, 4)
    s.put(0x3000 + 6 * 4, 0x31000 | P | W | U, 4)
    s.put(0x2000 + (0x00400000 >> 22) * 4, 0x00400000 | P | PS | W, 4)
    s.ask(0xc0005ffe, 4)
    s.ask(0x00412345, 8)
    s.ask(0x80000000, 4)
    return s


def off_seed():
    s = Seed(OFF, 0, 0)
    s.put(0x1000, 0x0123456789abcdef)
    s.ask(0x1000, 8)
    s.ask(0xffffe, 8)  # runs out of low RAM
    s.ask(FOURG + 4, 4)
    return s


def loop_seed():
    # Every entry points back to the root: the walk must end after 5 levels.
    s = Seed(LONG5, 0, 0x1000)
    for i in range(4):  # the entries the query uses (index 0 at the top levels, 1 and 2 for the PTEs)
        s.put(0x1000 + i * 8, 0x1000 | P | W | U)
    s.ask(0x1234, 0x1800)
    return s


def outside_seed():
    # A PML4E pointing far outside RAM, and a page above it.
    s = Seed(LONG4, 0, 0x1000, low=0x10000, high=0x1000)
    s.put(0x1000, 0x700000000 | P | W)
    s.put(0x1008, 0x2000 | P | W)
    s.put(0x2000, FOURG | P | W | PS)  # a 1 GiB page at 4 GiB: only its first 4 KiB is RAM
    s.ask(0x1000, 8)
    s.ask(0x8000000ff8, 16)
    s.ask(0x8000001000, 8)
    return s


if __name__ == '__main__':
    here = os.path.dirname(os.path.abspath(__file__))
    seeds = {'long4': long_seed(4), 'long5': long_seed(5), 'pae': pae_seed(), 'legacy32': legacy32_seed(),
             'off': off_seed(), 'loop': loop_seed(), 'outside': outside_seed()}
    for name, s in seeds.items():
        with open(os.path.join(here, name + '.bin'), 'wb') as f:
            f.write(s.bytes())
