#!/usr/bin/env bash
# The symbolizer on a C++ -O2 -g program with inlining and GCC clones
# (tests/data/bts/inline_prog.cc, built by CMake, and built here by g++ and
# clang++-14 with DWARF 4 and 5): agreement with addr2line and
# llvm-symbolizer on random addresses (tests/data/bts/symcompare.py),
# bts_dump --symbols against nm, and symbol maps: ranges, prefixes, load
# bias, a state directory's symfiles, a System.map text file, name lookup.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
prog=$XENTT_BUILD/tests/data/bts/inline_prog
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$prog" --count 3000 --seed 7

# The same program from both compilers, DWARF 4 and 5: the forms differ
# (GCC's DWARF 4 .debug_ranges and DW_FORM_strp, Clang's DWARF 5 strx,
# addrx and rnglistx indexes, its own inlining). Each variant is checked the
# same way. binutils 2.40's addr2line misses Clang's DWARF 5 inline frames
# whose ranges are rnglistx indexes (symcompare.py explains the option).
for cxx in g++ clang++-14; do
  command -v "$cxx" > /dev/null || fail "$cxx missing: run scripts/install-deps"
  for v in 4 5; do
    bin=$tmp/inline_prog.$cxx.dwarf$v
    "$cxx" -O2 -gdwarf-$v -o "$bin" "$XENTT_SOURCE/tests/data/bts/inline_prog.cc"
    got=$(readelf --debug-dump=info "$bin" 2> /dev/null | awk '/Version:/ && !n++ {print $2}')
    [ "$got" = "$v" ] || fail "$cxx -gdwarf-$v produced DWARF version '$got'"
    extra=()
    [ "$cxx" = clang++-14 ] && [ $v = 5 ] && extra=(--gnu-misses-rnglistx-inlines)
    echo "== $cxx -O2 -gdwarf-$v"
    python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$bin" --count 3000 --seed 7 "${extra[@]}" \
      || fail "$cxx -gdwarf-$v: disagreement with the oracles"
  done
done

# GNU C nested functions: DIEs inside another function's body, code
# elsewhere (the symbolizer reads bodies on demand and must still find them).
gcc -O2 -g -o "$tmp/nested_prog" "$XENTT_SOURCE/tests/data/bts/nested_prog.c"
echo "== gcc nested functions"
python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$tmp/nested_prog" --count 3000 --seed 3 \
  || fail "nested functions: disagreement with the oracles"

# Function starts from nm (the oracle), as a branch trace: each record
# jumps from one function's start to the next one's start + 1.
nm -S --defined-only "$prog" | awk '$3 ~ /^[tT]$/ && $2 != "0000000000000000" {print $1, $4}' | sort -u > "$tmp/funcs"
python3 - "$tmp/funcs" "$tmp/trace.txt" <<'PY'
import sys
funcs = [l.split() for l in open(sys.argv[1])]
with open(sys.argv[2], 'w') as f:
    f.write('format extended\n')
    for i in range(len(funcs) - 1):
        f.write('%s %x %x\n' % (funcs[i][0], int(funcs[i + 1][0], 16) + 1, 1000 + i))  # brctr in hex
PY
python3 "$XENTT_SOURCE/tests/data/bts/make_bts.py" "$tmp/trace.txt" "$tmp/trace.bts"
"$XENTT_BIN/bts_dump" --symbols --json --no-demangle -e "$prog" "$tmp/trace.bts" > "$tmp/trace.json"
python3 - "$tmp/funcs" "$tmp/trace.json" <<'PY'
import json, sys, collections
at = collections.defaultdict(set)
for a, n in (l.split() for l in open(sys.argv[1])):
    at[int(a, 16)].add(n)
starts = sorted(at)
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == len(starts) - 1, (len(rows), len(starts))
for i, r in enumerate(rows):
    assert r['brctr'] == 1000 + i, r
    fs, _, fo = r['from_sym'].rpartition('+')
    ts, _, to = r['to_sym'].rpartition('+')
    assert fs in at[starts[i]] and fo == '0x0', (r, at[starts[i]])
    assert ts in at[starts[i + 1]] and to == '0x1', (r, at[starts[i + 1]])
print('bts_dump --symbols: %d records agree with nm' % len(rows))
PY

# Text mode with lines: "N: sym+0x0 at FILE:LINE -> ..." for the first record.
"$XENTT_BIN/bts_dump" --lines --no-demangle -e "$prog" "$tmp/trace.bts" > "$tmp/lines.txt"
head -1 "$tmp/lines.txt" | grep -Eq '^0: [^ ]+\+0x0 at [^ ]+:[0-9?]+ -> [^ ]+\+0x1 at .* \(brctr 1000\)$' \
  || fail "text --lines format: $(head -1 "$tmp/lines.txt")"

# Symbol maps (names demangled, as by default): the program's code seen at a load bias of 0x10000000 with a
# prefix, and a second, empty-handed range; an address outside both prints
# raw with one warning for many addresses.
main=$(awk '$2 == "main" {print $1}' "$tmp/funcs")
walk=$(awk '$2 == "_Z4walkii" {print $1}' "$tmp/funcs")
printf '%x\n%x\n%x\n%x\n' $((0x10000000 + 0x$main)) $((0x10000000 + 0x$walk + 2)) 0x5 0x6 > "$tmp/addrs"
"$XENTT_BIN/tt_symbolize" --symmap "$prog@10000000-20000000+10000000:User" < "$tmp/addrs" > "$tmp/out" 2> "$tmp/err"
printf '0x%x User:main+0x0\n0x%x User:walk(int, int)+0x2\n0x5 0x5\n0x6 0x6\n' $((0x10000000 + 0x$main)) $((0x10000000 + 0x$walk + 2)) | diff -u - "$tmp/out" || fail "symmap with bias and prefix"
[ "$(grep -c 'outside every symbol map' "$tmp/err")" -eq 1 ] || fail "unmapped warning not exactly once: $(cat "$tmp/err")"

# The same through a state directory's symfiles (relative path, comments).
mkdir -p "$tmp/state/syms"
cp "$prog" "$tmp/state/syms/prog"
printf '# symbol maps of this recording\n\nsyms/prog@10000000-20000000+10000000:User\n' > "$tmp/state/symfiles"
"$XENTT_BIN/tt_symbolize" -s "$tmp/state" < "$tmp/addrs" 2> /dev/null | diff -u "$tmp/out" - || fail "statedir symfiles"

# A System.map-style text file: names from nm, sizes up to the next symbol.
nm "$prog" | awk '$2 ~ /^[tT]$/' > "$tmp/prog.map"
printf '%x\n%x\n' 0x$main $((0x$walk + 3)) | "$XENTT_BIN/tt_symbolize" -e "$tmp/prog.map" > "$tmp/out"
printf '0x%x main+0x0\n0x%x walk(int, int)+0x3\n' 0x$main $((0x$walk + 3)) | diff -u - "$tmp/out" || fail "System.map"

# A bad --symmap spec is a usage error naming it.
set +e
"$XENTT_BIN/tt_symbolize" --symmap "$prog@zz-10" < /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "zz" "$tmp/err" || fail "bad symmap: rc=$rc $(cat "$tmp/err")"
echo PASS
