#!/usr/bin/env python3
"""symcompare.py: check xentt's tt_symbolize against the test oracles.

Usage: symcompare.py TT_SYMBOLIZE ELF [--count N] [--seed S] [--min-rate R]
                     [--oracle-elf FILE]

Samples N random addresses inside sized function symbols of ELF (read with
binutils' nm, not with our code), symbolizes them with tt_symbolize, with
`addr2line -a -f -i` (binutils) and with `llvm-symbolizer-14 --inlines`, and
compares:
  * symbol+offset: against the nm symbol table (the innermost sized symbol
    containing the address; any alias with the same start and size is
    accepted). Must agree 100%.
  * frames: the function name of every inline frame (clone suffixes such as
    .isra.0/.constprop.0/.cold/.part.0 removed: llvm-symbolizer takes the
    outermost name from the symbol table, addr2line from DWARF), the inline
    depth, and the innermost file:line. Files are compared by basename: the
    tools join DWARF 5 directory entries differently (e.g. addr2line may
    print the comp dir joined with a relative name where llvm-symbolizer
    prints the include directory), and the line number is what matters.
    Must agree on >= R (default 0.999) of the addresses where the two oracles
    agree with each other; the rate against each oracle alone is printed too.
With --gnu-misses-rnglistx-inlines (clang's DWARF 5): binutils 2.40's
addr2line does not see inlined subroutines whose DW_AT_ranges is a
DW_FORM_rnglistx index (llvm-dwarfdump --lookup shows them), so it drops
inner frames that llvm-symbolizer prints. Where addr2line's function names
are exactly llvm-symbolizer's less some innermost ones, llvm-symbolizer's
answer is taken as the consensus (counted and printed); any other
disagreement between the oracles still counts as one.
With --aliases: function names that the symbol table gives one address (a
C library's __GI_ and __libc_ aliases, versioned names: __GI___fstatat64,
fstatat64, fstatat) count as one name: llvm-symbolizer names the outermost
frame after a symbol-table alias, addr2line after DWARF, so without it the
two oracles disagree on most of libc.
With --oracle-elf FILE (a stripped ELF's debug file): tt_symbolize is given
ELF, and must find FILE itself; nm, addr2line and llvm-symbolizer read FILE.
Exit 0 on success, 1 on disagreement above the threshold, 77 if an oracle
is missing.
"""
import argparse, json, os, random, re, shutil, subprocess, sys

CLONE = re.compile(r'(\.(isra|constprop|part|cold|lto_priv|localalias|clone|llvm)(\.\d+)?|\.\d+)+$')

def norm_fn(name):
    if name is None or name in ('??', ''):
        return '??'
    return CLONE.sub('', name)

def norm_loc(file, line):
    if not file or file == '??' or not line:
        return ('??', 0)
    return (os.path.basename(file), int(line))

def nm_symbols(elf):
    out = subprocess.run(['nm', '-S', '--defined-only', elf], capture_output=True, text=True, check=True).stdout
    syms = []
    for l in out.splitlines():
        p = l.split()
        if len(p) != 4 or p[2] not in 'tTwWiI':
            continue
        start, size = int(p[0], 16), int(p[1], 16)
        if size == 0 or p[3].startswith('.L') or p[3].startswith('$'):
            continue
        syms.append((start, size, p[3]))
    return syms

def innermost(syms_sorted, starts, addr):
    import bisect
    # Candidates: symbols starting at or before addr that contain it.
    i = bisect.bisect_right(starts, addr)
    best = None
    j = i - 1
    while j >= 0 and j >= i - 64:
        s = syms_sorted[j]
        if s[0] <= addr < s[0] + s[1]:
            if best is None or s[0] > best[0] or (s[0] == best[0] and s[1] < best[1]):
                best = s
        j -= 1
    return best

def run_ours(tool, elf, addrs, files=None):
    files = files or ['-e', elf]
    p = subprocess.run([tool] + files + ['--inlines', '--json', '--no-demangle'], input=''.join('%#x\n' % a for a in addrs),
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit('tt_symbolize failed (%d): %s' % (p.returncode, p.stderr))
    res = []
    for l in p.stdout.splitlines():
        o = json.loads(l)
        frames = [(norm_fn(f['function']), norm_loc(f['file'], f['line'])) for f in o.get('inlines', [])]
        res.append({'sym': o['sym'], 'frames': frames})
    return res

def run_addr2line(elf, addrs, extra=()):
    p = subprocess.run(['addr2line', '-a', '-f', '-i', *extra, '-e', elf], input=''.join('%#x\n' % a for a in addrs),
                       capture_output=True, text=True, check=True)
    res, cur = [], None
    lines = p.stdout.splitlines()
    i = 0
    while i < len(lines):
        l = lines[i]
        if l.startswith('0x') and (i + 1 >= len(lines) or not lines[i + 1].startswith('0x')) and re.fullmatch(r'0x[0-9a-f]+', l):
            cur = []
            res.append(cur)
            i += 1
            continue
        fn, loc = l, lines[i + 1]
        m = re.match(r'(.*):(\d+|\?)( \(discriminator \d+\))?$', loc)
        file, line = (m.group(1), m.group(2)) if m else ('??', '0')
        cur.append((norm_fn(fn), norm_loc(file, 0 if line == '?' else int(line))))
        i += 2
    return res

def run_llvm(elf, addrs):
    exe = shutil.which('llvm-symbolizer-14') or shutil.which('llvm-symbolizer')
    p = subprocess.run([exe, '--inlines', '--no-demangle', '--obj=' + elf],
                       input=''.join('%#x\n' % a for a in addrs), capture_output=True, text=True, check=True)
    res = []
    for block in p.stdout.split('\n\n'):
        if not block.strip():
            continue
        ls = block.strip('\n').splitlines()
        frames = []
        for k in range(0, len(ls) - 1, 2):
            m = re.match(r'(.*):(\d+):(\d+)$', ls[k + 1])
            file, line = (m.group(1), int(m.group(2))) if m else ('??', 0)
            frames.append((norm_fn(ls[k]), norm_loc(file, line)))
        res.append(frames)
    return res

ALIAS = {}  # --aliases: normalized name -> its address, for names the symbol table gives one address

def key(frames):
    # Names of every frame, the depth, the innermost file:line.
    if not frames:
        return ((), 0, ('??', 0))
    return (tuple(ALIAS.get(f[0], f[0]) for f in frames), len(frames), frames[0][1])

def alias_map(elf):
    out = subprocess.run(['nm', '--defined-only', elf], capture_output=True, text=True, check=True).stdout
    at = {}
    for l in out.splitlines():
        p = l.split()
        if len(p) == 3 and p[1] in 'tTwWiI':
            at.setdefault(norm_fn(p[2]), set()).add(int(p[0], 16))
    return {n: 'addr:%x' % min(a) for n, a in at.items() if len(a) == 1}

def common_args(ap, file_arg):
    """The arguments every comparison takes: the tool, the file, the sample, the threshold."""
    ap.add_argument('tool')
    ap.add_argument(file_arg)
    ap.add_argument('--count', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--min-rate', type=float, default=0.999)
    ap.add_argument('--show', type=int, default=5, help='disagreements to print')

def main():
    ap = argparse.ArgumentParser()
    common_args(ap, 'elf')
    ap.add_argument('--verbose', action='store_true', help='also print every disagreement with llvm-symbolizer')
    ap.add_argument('--oracle-elf', help='the file the oracles read (default: ELF)')
    ap.add_argument('--min-consensus', type=float, default=0.9,
                    help='the share of the sample where the oracles must agree with each other')
    ap.add_argument('--aliases', action='store_true', help='symbol-table aliases count as one name (see above)')
    ap.add_argument('--gnu-misses-rnglistx-inlines', action='store_true',
                    help='addr2line missing inner inline frames is not an oracle disagreement (see above)')
    a = ap.parse_args()
    if not shutil.which('addr2line') or not (shutil.which('llvm-symbolizer-14') or shutil.which('llvm-symbolizer')):
        print('SKIP: addr2line or llvm-symbolizer-14 missing (scripts/install-deps)')
        return 77
    oracle_elf = a.oracle_elf or a.elf
    if a.aliases:
        ALIAS.update(alias_map(oracle_elf))
    syms = sorted(nm_symbols(oracle_elf))
    if not syms:
        sys.exit('%s: nm found no sized function symbols' % a.elf)
    starts = [s[0] for s in syms]
    rng = random.Random(a.seed)
    addrs = []
    for _ in range(a.count):
        s = syms[rng.randrange(len(syms))]
        addrs.append(s[0] + rng.randrange(s[1]))
    ours = run_ours(a.tool, a.elf, addrs)
    gnu = run_addr2line(oracle_elf, addrs)
    llvm = run_llvm(oracle_elf, addrs)
    if not (len(ours) == len(gnu) == len(llvm) == len(addrs)):
        sys.exit('output counts differ: ours %d addr2line %d llvm %d addresses %d' % (len(ours), len(gnu), len(llvm), len(addrs)))

    sym_bad = []
    for addr, o in zip(addrs, ours):
        s = innermost(syms, starts, addr)
        names = {x[2] for x in syms[max(0, starts.index(s[0]) - 0):] if x[0] == s[0] and x[1] == s[1]} if s else set()
        want_off = addr - s[0] if s else None
        got = o['sym']
        ok = False
        if got and s:
            name, _, off = got.rpartition('+')
            ok = name in names and int(off, 16) == want_off
        if not ok:
            sym_bad.append((addr, got, '%s+%#x' % (sorted(names)[0], want_off) if s else None))

    agree_gnu = agree_llvm = consensus = agree_cons = gnu_short = 0
    shown = 0
    for addr, o, g, l in zip(addrs, ours, gnu, llvm):
        ko, kg, kl = key(o['frames']), key(g), key(l)
        agree_gnu += ko == kg
        agree_llvm += ko == kl
        if a.gnu_misses_rnglistx_inlines and kg != kl and len(kg[0]) < len(kl[0]) and kl[0][-len(kg[0]):] == kg[0]:
            kg = kl
            gnu_short += 1
        if ko != kl and a.verbose:
            print('LLVMDIFF %#x\n  ours: %s\n  llvm: %s' % (addr, o['frames'], l))
        if kg == kl:
            consensus += 1
            if ko == kg:
                agree_cons += 1
            elif shown < a.show:
                shown += 1
                print('DIFF %#x\n  ours:   %s\n  oracle: %s' % (addr, o['frames'], g))
    n = len(addrs)
    print('%s: %d addresses in %d functions' % (os.path.basename(a.elf), n, len(syms)))
    print('  symbol+offset vs nm:        %d/%d agree' % (n - len(sym_bad), n))
    print('  frames vs addr2line -f -i:  %.4f' % (agree_gnu / n))
    print('  frames vs llvm-symbolizer:  %.4f' % (agree_llvm / n))
    if a.gnu_misses_rnglistx_inlines:
        print('  addr2line short of inner inline frames (llvm-symbolizer taken): %d' % gnu_short)
    print('  oracles agree with each other on %d (%.4f)' % (consensus, consensus / n))
    rate = agree_cons / consensus if consensus else 0
    print('  frames vs the oracles where they agree: %.4f (need >= %.4f)' % (rate, a.min_rate))
    for b in sym_bad[:a.show]:
        print('SYMDIFF %#x ours %s nm %s' % b)
    return verdict(len(sym_bad), consensus, n, rate, a.min_rate, a.min_consensus)

def verdict(sym_bad, consensus, n, rate, min_rate, min_consensus):
    """Prints what failed; the exit status."""
    fail = False
    if sym_bad:
        print('FAIL: symbol+offset disagrees with the symbol table on %d addresses' % sym_bad)
        fail = True
    if consensus < min_consensus * n:
        print('FAIL: the oracles agree on fewer than %d%% of the sample; the comparison means little' %
              round(min_consensus * 100))
        fail = True
    if rate < min_rate:
        print('FAIL: frame agreement %.4f below %.4f' % (rate, min_rate))
        fail = True
    return 1 if fail else 0

if __name__ == '__main__':
    sys.exit(main())
