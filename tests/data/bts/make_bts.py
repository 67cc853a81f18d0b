#!/usr/bin/env python3
"""make_bts.py: build a .bts file from a readable text fixture, and print
what bts_dump must print for it (an independent implementation of
docs/bts-format.md, so tests do not compare our reader with itself).

Fixture syntax, one item per line ('#' starts a comment):
    format raw|extended     (default raw; extended writes the all-ones marker)
    FROM TO [FORMAT]        hex; FORMAT is the flags (raw) or the brctr (extended)
    trailing N              append N junk bytes (to make a broken file)

Usage: make_bts.py FIXTURE OUT.bts [--expect]   (--expect: expected dump on stdout)
"""
import struct, sys

def main():
    src, out = sys.argv[1], sys.argv[2]
    fmt, recs, trailing = 'raw', [], 0
    for line in open(src):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        w = line.split()
        if w[0] == 'format':
            fmt = w[1]
        elif w[0] == 'trailing':
            trailing = int(w[1])
        else:
            recs.append((int(w[0], 16), int(w[1], 16), int(w[2], 16) if len(w) > 2 else 0))
    with open(out, 'wb') as f:
        if fmt == 'extended':
            f.write(struct.pack('<3Q', 2**64 - 1, 2**64 - 1, 2**64 - 1))
        for r in recs:
            f.write(struct.pack('<3Q', *r))
        f.write(b'\xab' * trailing)
    if '--expect' in sys.argv:
        for i, (a, b, c) in enumerate(recs):
            tail = ' (brctr %d)' % c if fmt == 'extended' else ''
            print('%d: %#x -> %#x%s' % (i, a, b, tail))

if __name__ == '__main__':
    main()
