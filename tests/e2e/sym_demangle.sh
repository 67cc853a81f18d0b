#!/usr/bin/env bash
# Demangled names: a C++ program's symbols and inline frames (templates,
# std::string, operators, lambdas, GCC clones) print demangled by default,
# exactly as c++filt (binutils) prints each mangled name, in tt_symbolize's
# text and JSON and in bts_dump --symbols; --no-demangle prints the names
# as the symbol table and DWARF spell them.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
command -v c++filt > /dev/null || { echo "SKIP: c++filt missing (binutils)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tt=$XENTT_BIN/tt_symbolize
prog=$tmp/prog
g++ -O2 -g -o "$prog" "$XENTT_SOURCE/tests/data/bts/inline_prog.cc"
nm -S --defined-only "$prog" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ && $2 != "0000000000000000" {print $1, $2}' > "$tmp/funcs"
python3 - "$tmp/funcs" > "$tmp/addrs" <<'PY'
import random, sys
r = random.Random(9)
fs = [l.split() for l in open(sys.argv[1])]
for _ in range(3000):
    a, s = fs[r.randrange(len(fs))]
    print(hex(int(a, 16) + r.randrange(int(s, 16))))
PY
"$tt" -e "$prog" --inlines --json < "$tmp/addrs" > "$tmp/dem.json"
"$tt" -e "$prog" --inlines --json --no-demangle < "$tmp/addrs" > "$tmp/raw.json"
"$tt" -e "$prog" < "$tmp/addrs" > "$tmp/dem.txt"
# A branch trace through the same addresses, for bts_dump.
python3 - "$tmp/addrs" "$tmp/trace.txt" <<'PY'
import sys
a = [l.strip()[2:] for l in open(sys.argv[1])]
with open(sys.argv[2], 'w') as f:
    f.write('format extended\n')
    for i in range(len(a) - 1):
        f.write('%s %s %x\n' % (a[i], a[i + 1], i))
PY
python3 "$XENTT_SOURCE/tests/data/bts/make_bts.py" "$tmp/trace.txt" "$tmp/trace.bts"
"$XENTT_BIN/bts_dump" --symbols --json -e "$prog" "$tmp/trace.bts" > "$tmp/bts_dem.json"
"$XENTT_BIN/bts_dump" --symbols --json --no-demangle -e "$prog" "$tmp/trace.bts" > "$tmp/bts_raw.json"

python3 - "$tmp" <<'PY'
import json, subprocess, sys
tmp = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open('%s/%s' % (tmp, name))]
dem, raw = load('dem.json'), load('raw.json')
bdem, braw = load('bts_dem.json'), load('bts_raw.json')
text = open(tmp + '/dem.txt').read().splitlines()
assert len(dem) == len(raw) == len(text) > 0 and len(bdem) == len(braw) == len(dem) - 1

def sym_name(s):
    return s.rpartition('+')[0] if s else None
# (printed, spelled) pairs: every name printed by default, beside the
# same position's name printed with --no-demangle.
pairs = []
for d, r, t in zip(dem, raw, text):
    pairs.append((sym_name(d['sym']), sym_name(r['sym'])))
    # The text line: "0xADDR NAME+0xOFF" with NAME as in the JSON.
    assert t == '%s %s' % (d['address'], d['sym']), (t, d)
    assert len(d['inlines']) == len(r['inlines'])
    for fd, fr in zip(d['inlines'], r['inlines']):
        pairs.append((fd['function'], fr['function']))
        assert (fd['file'], fd['line']) == (fr['file'], fr['line'])
for d, r in zip(bdem, braw):
    for k in ('from_sym', 'to_sym'):
        pairs.append((sym_name(d[k]), sym_name(r[k])))
pairs = [p for p in pairs if p[1]]
spelled = sorted({r for _, r in pairs})
filt = subprocess.run(['c++filt'], input='\n'.join(spelled) + '\n', capture_output=True, text=True, check=True)
want = dict(zip(spelled, filt.stdout.splitlines()))
bad = [(d, r, want[r]) for d, r in pairs if d != want[r]]
mangled = sum(1 for r in spelled if want[r] != r)
print('%d names printed (%d distinct, %d of them mangled), %d differ from c++filt' %
      (len(pairs), len(spelled), mangled, len(bad)))
for b in bad[:5]:
    print('DIFF printed %r\n     spelled %r\n     c++filt %r' % b)
if bad:
    sys.exit('FAIL: names differ from c++filt')
if mangled < 50:
    sys.exit('FAIL: only %d mangled names in the sample: the check checks little' % mangled)
PY
echo PASS
