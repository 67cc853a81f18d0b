#!/usr/bin/env python3
"""symbolize_addrs.py ELF OUTDIR: the benchmark's address sets, from nm.

trace.txt: 1M trace-like addresses: 2000 hot functions drawn from the sized
  function symbols, visited with Zipf(s=1.1) frequencies, at a random
  offset inside the function (what a branch trace looks like).
uniform.txt: 100k addresses uniform over all sized function symbols.
one.txt: one address (to time loading before the first answer).
"""
import bisect, itertools, os, random, subprocess, sys

elf, out = sys.argv[1], sys.argv[2]
n_trace = int(os.environ.get('BENCH_TRACE', 1000000))
n_uniform = int(os.environ.get('BENCH_UNIFORM', 100000))
rng = random.Random(42)
syms = []
for l in subprocess.run(['nm', '-S', '--defined-only', elf], capture_output=True, text=True, check=True).stdout.splitlines():
    p = l.split()
    if len(p) == 4 and p[2] in 'tTwW' and int(p[1], 16) > 0:
        syms.append((int(p[0], 16), int(p[1], 16)))
hot = rng.sample(syms, min(2000, len(syms)))
weights = [1.0 / (k + 1) ** 1.1 for k in range(len(hot))]
cdf = list(itertools.accumulate(weights))
with open(os.path.join(out, 'trace.txt'), 'w') as f:
    for _ in range(n_trace):
        s = hot[bisect.bisect_left(cdf, rng.random() * cdf[-1])]
        f.write('%#x\n' % (s[0] + rng.randrange(s[1])))
with open(os.path.join(out, 'uniform.txt'), 'w') as f:
    for _ in range(n_uniform):
        s = syms[rng.randrange(len(syms))]
        f.write('%#x\n' % (s[0] + rng.randrange(s[1])))
with open(os.path.join(out, 'one.txt'), 'w') as f:
    f.write('%#x\n' % hot[0][0])
