#!/usr/bin/env python3
"""kocompare.py: check tt_symbolize on a Linux kernel module (.ko, ET_REL)
loaded at section addresses, against the test oracles.

Usage: kocompare.py TT_SYMBOLIZE MODULE.ko [--count N] [--seed S] [--min-rate R]
                    [--base ADDR] [--file FILE]

Places every allocated section of MODULE.ko one after the other from
--base up (aligned, as the kernel's module loader lays out a module: the
addresses need not be the kernel's, only distinct), samples N addresses in
sized .text functions (read with readelf, not our code), and symbolizes:
  * ours: tt_symbolize --symmap 'FILE@lo-hi{SECTION=ADDR,...}' at the
    placed addresses (FILE: --file, default MODULE.ko; a stripped module
    whose debug file tt_symbolize must find itself, e.g.);
  * binutils: addr2line -a -f -i -j .text -e MODULE.ko at the .text offsets;
  * llvm-symbolizer --inlines at the same offsets (it reads a relocatable
    file's addresses as offsets into any section: the outermost frame's
    name, which it takes from the symbol table, is often a symbol of
    another section at the same offset, e.g. __kstrtab_virtqueue_poll, so
    that name is left out of its comparison).
symbol+offset must agree with the symbol table 100%; the frames (names,
depth, innermost file:line, as symcompare.py compares them) must agree with
addr2line's on >= R (default 0.999) of the addresses where the two oracles
agree with each other (all but llvm's outermost name).
Exit 0 on success, 1 on disagreement, 77 if an oracle is missing.
"""
import argparse, os, random, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from symcompare import key, run_addr2line, run_llvm, run_ours, verdict, common_args  # noqa: E402

def sections(ko):
    out = subprocess.run(['readelf', '-SW', ko], capture_output=True, text=True, check=True).stdout
    secs = []
    for l in out.splitlines():
        l = l.strip()
        if not l.startswith('['):
            continue
        idx, rest = l[1:].split(']', 1)
        p = rest.split()
        if len(p) < 10 or not idx.strip().isdigit():
            continue
        # Name Type Address Off Size ES Flg [Lk Inf Al]: flags may be empty.
        name, size, flags, align = p[0], int(p[4], 16), p[6] if len(p) == 10 else '', int(p[-1])
        secs.append((int(idx), name, size, flags, align))
    return secs

def text_functions(ko, text_index):
    out = subprocess.run(['readelf', '-sW', ko], capture_output=True, text=True, check=True).stdout
    fns = []
    for l in out.splitlines():
        p = l.split()
        if len(p) == 8 and p[3] == 'FUNC' and p[6] == str(text_index) and int(p[2], 0) > 0:
            fns.append((int(p[1], 16), int(p[2], 0), p[7]))
    return sorted(fns)

def oracle_key(frames):
    # key() less the outermost frame's name (see above).
    names, depth, loc = key(frames)
    return (names[:-1], depth, loc)

def main():
    ap = argparse.ArgumentParser()
    common_args(ap, 'ko')
    ap.add_argument('--base', type=lambda s: int(s, 16), default=0xffffffffc0200000)
    ap.add_argument('--file', help='the file tt_symbolize is given (default: the .ko)')
    a = ap.parse_args()
    if not shutil.which('addr2line') or not (shutil.which('llvm-symbolizer-14') or shutil.which('llvm-symbolizer')):
        print('SKIP: addr2line or llvm-symbolizer-14 missing (scripts/install-deps)')
        return 77
    addr, placed, text = a.base, [], None
    for idx, name, size, flags, align in sections(a.ko):
        if 'A' not in flags or size == 0:
            continue
        align = max(align, 1)
        addr = (addr + align - 1) // align * align
        placed.append((name, addr))
        if name == '.text':
            text = (idx, addr)
        addr += size
    if text is None:
        sys.exit('%s: no .text section' % a.ko)
    fns = text_functions(a.ko, text[0])
    if not fns:
        sys.exit('%s: no sized functions in .text' % a.ko)
    spec = '%s@%x-%x{%s}' % (a.file or a.ko, a.base, addr, ','.join('%s=%x' % p for p in placed))
    rng = random.Random(a.seed)
    offs = []
    for _ in range(a.count):
        f = fns[rng.randrange(len(fns))]
        offs.append(f[0] + rng.randrange(f[1]))
    ours = run_ours(a.tool, a.ko, [text[1] + o for o in offs], files=['--symmap', spec])
    gnu = run_addr2line(a.ko, offs, extra=('-j', '.text'))
    llvm = run_llvm(a.ko, offs)
    if not (len(ours) == len(gnu) == len(llvm) == len(offs)):
        sys.exit('output counts differ: ours %d addr2line %d llvm %d addresses %d' % (len(ours), len(gnu), len(llvm), len(offs)))
    sym_bad = []
    for off, o in zip(offs, ours):
        # The innermost sized .text function containing off (functions do not nest in C).
        cands = [f for f in fns if f[0] <= off < f[0] + f[1]]
        best = max(cands, key=lambda f: (f[0], -f[1]))
        names = {f[2] for f in cands if f[0] == best[0] and f[1] == best[1]}
        name, _, got_off = (o['sym'] or '').rpartition('+')
        if not (name in names and got_off and int(got_off, 16) == off - best[0]):
            sym_bad.append((off, o['sym'], '%s+%#x' % (sorted(names)[0], off - best[0])))
    consensus = agree = shown = 0
    for off, o, g, l in zip(offs, ours, gnu, llvm):
        ko, kg = key(o['frames']), key(g)
        if oracle_key(g) == oracle_key(l):
            consensus += 1
            if ko == kg:
                agree += 1
            elif shown < a.show:
                shown += 1
                print('DIFF .text+%#x\n  ours:   %s\n  oracle: %s' % (off, o['frames'], g))
    n = len(offs)
    rate = agree / consensus if consensus else 0
    print('%s: %d addresses in %d .text functions, %d sections placed' % (os.path.basename(a.ko), n, len(fns), len(placed)))
    print('  symbol+offset vs the symbol table: %d/%d agree' % (n - len(sym_bad), n))
    print('  oracles agree with each other on %d (%.4f)' % (consensus, consensus / n))
    print('  frames vs the oracles where they agree: %.4f (need >= %.4f)' % (rate, a.min_rate))
    for b in sym_bad[:a.show]:
        print('SYMDIFF .text+%#x ours %s table %s' % b)
    return verdict(len(sym_bad), consensus, n, rate, a.min_rate, 0.9)

if __name__ == '__main__':
    sys.exit(main())
