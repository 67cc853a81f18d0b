#!/usr/bin/env bash
# Debug files the way distributions ship them. One C++ -O2 -g program
# (tests/data/bts/inline_prog.cc, built here with a build-id) is split,
# stripped, compressed and dwz'ed in every way the symbolizer must follow;
# each variant must symbolize the same sample of addresses exactly as the
# unsplit program does (with --inlines: names, inline frames, file:line),
# and each broken variant must be said once on stderr and fall back to the
# symbol table:
#   debuglink: objcopy --only-keep-debug + --add-gnu-debuglink + strip,
#     beside the file, in .debug/, under DIR/<its directory>; a corrupted
#     debug file is refused (CRC-32 named), once, symbol table only
#   build-id: DIR/.build-id/xx/rest.debug; another program's debug file
#     there is refused (both build-ids named); none there: the build-id
#     and every place looked are named
#   compressed: objcopy --compress-debug-sections (SHF_COMPRESSED and the
#     older .zdebug), in the program and in its debug file
#   dwz -m: names and inline frames kept in the supplementary file
#     (DW_FORM_GNU_strp_alt, GNU_ref_alt; -5: .debug_sup, strp_sup,
#     ref_sup4); the supplementary file missing is said once
# Debug-file directories are given through XENTT_DEBUG_FILE_DIRECTORY
# (never /usr/lib/debug), and once through --debug-file-directory.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
command -v dwz > /dev/null || { echo "SKIP: dwz missing (scripts/install-deps)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tt=$XENTT_BIN/tt_symbolize
src=$XENTT_SOURCE/tests/data/bts/inline_prog.cc
unset DEBUGINFOD_URLS
export XENTT_DEBUG_FILE_DIRECTORY=$tmp/no-debug-here

mkdir -p "$tmp/full"
g++ -O2 -g -Wl,--build-id -o "$tmp/full/prog" "$src"
# A sample of addresses inside the program's functions.
nm -S --defined-only "$tmp/full/prog" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ && $2 != "0000000000000000" {print $1, $2}' \
  > "$tmp/funcs"
python3 - "$tmp/funcs" > "$tmp/addrs" <<'PY'
import random, sys
r = random.Random(5)
fs = [l.split() for l in open(sys.argv[1])]
for _ in range(2000):
    a, s = fs[r.randrange(len(fs))]
    print(hex(int(a, 16) + r.randrange(int(s, 16))))
PY
"$tt" -e "$tmp/full/prog" --inlines < "$tmp/addrs" > "$tmp/want" 2> "$tmp/err"
[ ! -s "$tmp/err" ] || fail "the unsplit program warns: $(cat "$tmp/err")"
grep -q ' at .*inline_prog.cc:[0-9]' "$tmp/want" || fail "the unsplit program gives no file:line"
# The answers of the symbol table alone (what a refused debug file leaves).
strip -o "$tmp/symonly" --strip-debug "$tmp/full/prog"
"$tt" -e "$tmp/symonly" --inlines < "$tmp/addrs" > "$tmp/want_symonly" 2> /dev/null
cmp -s "$tmp/want" "$tmp/want_symonly" && fail "symbol table alone answers like DWARF: the sample checks nothing"

# same NAME FILE [OPTION...]: FILE answers the sample as the unsplit
# program does, with nothing on stderr.
same() {
  local name=$1 file=$2; shift 2
  "$tt" -e "$file" --inlines "$@" < "$tmp/addrs" > "$tmp/got" 2> "$tmp/err" || fail "$name: exit $?: $(cat "$tmp/err")"
  diff -u "$tmp/want" "$tmp/got" > "$tmp/diff" || fail "$name: answers differ from the unsplit program: $(head -20 "$tmp/diff")"
  [ ! -s "$tmp/err" ] || fail "$name: unexpected stderr: $(cat "$tmp/err")"
  echo "ok: $name"
}
# fallback NAME FILE PATTERN...: FILE answers from its symbol table only,
# with exactly one warning line, containing every PATTERN.
fallback() {
  local name=$1 file=$2; shift 2
  "$tt" -e "$file" --inlines < "$tmp/addrs" > "$tmp/got" 2> "$tmp/err" || fail "$name: exit $?: $(cat "$tmp/err")"
  diff -u "$tmp/want_symonly" "$tmp/got" > "$tmp/diff" || fail "$name: not the symbol table's answers: $(head -20 "$tmp/diff")"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$name: want one warning line: $(cat "$tmp/err")"
  local p
  for p in "$@"; do grep -qF -- "$p" "$tmp/err" || fail "$name: '$p' not in: $(cat "$tmp/err")"; done
  echo "ok: $name: $(cat "$tmp/err")"
}

# --- .gnu_debuglink: the debug file apart, the program stripped of
# everything (its symbols too: they come from the debug file).
mkdir -p "$tmp/link/bin"
objcopy --only-keep-debug "$tmp/full/prog" "$tmp/link/prog.debug"
objcopy --strip-all --remove-section=.note.gnu.build-id --add-gnu-debuglink="$tmp/link/prog.debug" \
  "$tmp/full/prog" "$tmp/link/bin/prog"
[ -z "$(readelf -S "$tmp/link/bin/prog" | grep -E '\.debug_info|\.symtab')" ] || fail "strip left DWARF or .symtab"
prog=$tmp/link/bin/prog
# The same linked to the same debug file, its own symbol table kept: what a
# refused debug file falls back to.
objcopy --strip-debug --add-gnu-debuglink="$tmp/link/prog.debug" "$tmp/full/prog" "$tmp/link/bin/prog_keepsyms"
cp "$tmp/link/prog.debug" "$tmp/link/bin/prog.debug"
same "debuglink beside the file" "$prog"
mkdir -p "$tmp/link/bin/.debug"
mv "$tmp/link/bin/prog.debug" "$tmp/link/bin/.debug/prog.debug"
same "debuglink in .debug/" "$prog"
rm -r "$tmp/link/bin/.debug"
mkdir -p "$tmp/dbgdir$tmp/link/bin"
cp "$tmp/link/prog.debug" "$tmp/dbgdir$tmp/link/bin/prog.debug"
XENTT_DEBUG_FILE_DIRECTORY=$tmp/dbgdir same "debuglink under DEBUGDIR/<its directory>" "$prog"
same "debuglink under --debug-file-directory" "$prog" --debug-file-directory "$tmp/nowhere" --debug-file-directory "$tmp/dbgdir"
# A corrupted debug file: one byte changed, so its CRC-32 no longer matches.
cp "$tmp/link/prog.debug" "$tmp/link/bin/prog.debug"
python3 - "$tmp/link/bin/prog.debug" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[len(b) // 2] ^= 0xff
open(sys.argv[1], 'wb').write(b)
PY
want_crc=$(python3 -c "import zlib,sys; print('%#010x' % zlib.crc32(open(sys.argv[1],'rb').read()))" "$tmp/link/prog.debug")
got_crc=$(python3 -c "import zlib,sys; print('%#010x' % zlib.crc32(open(sys.argv[1],'rb').read()))" "$tmp/link/bin/prog.debug")
rm -r "$tmp/dbgdir"
fallback "corrupted debug file refused" "$tmp/link/bin/prog_keepsyms" "$tmp/link/bin/prog.debug" "expects $want_crc" "CRC-32 $got_crc" \
  "symbol table only"
# Said once for the whole run, however many addresses: bts_dump over a trace too.
python3 - "$tmp/addrs" "$tmp/trace.txt" <<'PY'
import sys
a = [l.strip() for l in open(sys.argv[1])]
with open(sys.argv[2], 'w') as f:
    f.write('format extended\n')
    for i in range(len(a) - 1):
        f.write('%s %s %x\n' % (a[i][2:], a[i + 1][2:], i))
PY
python3 "$XENTT_SOURCE/tests/data/bts/make_bts.py" "$tmp/trace.txt" "$tmp/trace.bts"
"$XENTT_BIN/bts_dump" --inlines -e "$tmp/link/bin/prog_keepsyms" "$tmp/trace.bts" > /dev/null 2> "$tmp/err"
[ "$(grep -c 'refused' "$tmp/err")" -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] \
  || fail "bts_dump: the refusal not said exactly once: $(cat "$tmp/err")"
echo "ok: bts_dump says the refusal once"
rm "$tmp/link/bin/prog.debug"

# --- build-id: DIR/.build-id/xx/rest.debug (no debuglink).
id=$(readelf -n "$tmp/full/prog" | awk '/Build ID/ {print $3}')
[ -n "$id" ] || fail "no build-id in the program"
objcopy --strip-all "$tmp/full/prog" "$tmp/byid_prog"
mkdir -p "$tmp/dbg/.build-id/${id:0:2}"
cp "$tmp/link/prog.debug" "$tmp/dbg/.build-id/${id:0:2}/${id:2}.debug"
XENTT_DEBUG_FILE_DIRECTORY=$tmp/dbg same "build-id" "$tmp/byid_prog"
# Another program's debug file at that path: refused, both ids named (the
# program keeps its symbol table here, to fall back to).
objcopy --strip-debug "$tmp/full/prog" "$tmp/byid_keepsyms"
g++ -O1 -g -o "$tmp/other" "$src"
other_id=$(readelf -n "$tmp/other" | awk '/Build ID/ {print $3}')
objcopy --only-keep-debug "$tmp/other" "$tmp/dbg/.build-id/${id:0:2}/${id:2}.debug"
XENTT_DEBUG_FILE_DIRECTORY=$tmp/dbg fallback "build-id mismatch refused" "$tmp/byid_keepsyms" \
  "$tmp/dbg/.build-id/${id:0:2}/${id:2}.debug" "build-id $other_id" "expected $id" "symbol table only"
rm -r "$tmp/dbg"
# Nothing anywhere: the build-id and the places looked are named.
XENTT_DEBUG_FILE_DIRECTORY=$tmp/dbg fallback "no debug file anywhere" "$tmp/byid_keepsyms" \
  "build-id $id" "$tmp/dbg/.build-id/${id:0:2}/${id:2}.debug" "DEBUGINFOD_URLS not set"

# --- compressed DWARF.
objcopy --compress-debug-sections=zlib-gabi "$tmp/full/prog" "$tmp/gabi_prog"
readelf -SW "$tmp/gabi_prog" | grep -E '\.debug_info .* C ' > /dev/null || fail "no SHF_COMPRESSED .debug_info"
same "SHF_COMPRESSED sections" "$tmp/gabi_prog"
objcopy --compress-debug-sections=zlib-gnu "$tmp/full/prog" "$tmp/gnu_prog"
readelf -SW "$tmp/gnu_prog" | grep -c '\.zdebug_info' > /dev/null || fail "no .zdebug_info"
same ".zdebug sections" "$tmp/gnu_prog"
mkdir -p "$tmp/zlink"
objcopy --only-keep-debug --compress-debug-sections=zlib "$tmp/full/prog" "$tmp/zlink/prog.debug"
objcopy --strip-all --add-gnu-debuglink="$tmp/zlink/prog.debug" "$tmp/full/prog" "$tmp/zlink/prog"
same "compressed debug file through debuglink" "$tmp/zlink/prog"

# --- dwz: two programs sharing most of their DWARF; -m moves what they
# share (types, abstract instances of inlined functions and their names)
# into one supplementary file, referred to with DW_FORM_GNU_ref_alt and
# DW_FORM_GNU_strp_alt. Every inline frame's name comes from there.
for v in gnu 5; do
  d=$tmp/dwz$v
  mkdir -p "$d"
  cp "$tmp/full/prog" "$d/prog"
  g++ -O2 -g -o "$d/prog2" "$src"
  opt=(); [ $v = 5 ] && opt=(-5)
  (cd "$d" && dwz "${opt[@]}" -m common.debug -M common.debug prog prog2)
  if [ $v = gnu ]; then
    readelf -wi "$d/prog" 2> /dev/null | grep -c 'alt indirect string' > /dev/null || fail "dwz made no GNU_strp_alt"
    readelf -S "$d/prog" | grep -c gnu_debugaltlink > /dev/null || fail "dwz made no .gnu_debugaltlink"
  else
    readelf -S "$d/prog" | grep -c debug_sup > /dev/null || fail "dwz -5 made no .debug_sup"
  fi
  same "dwz ($v) supplementary file beside the program" "$d/prog"
  (cd "$tmp" && same "dwz ($v) run from elsewhere, the program named by a relative path" "${d#"$tmp"/}/prog")
  # The dwz'ed program's DWARF apart, found by debuglink; its
  # supplementary file found relative to the debug file.
  mkdir -p "$d/split"
  objcopy --only-keep-debug "$d/prog" "$d/prog.debug"
  objcopy --strip-all --add-gnu-debuglink="$d/prog.debug" "$d/prog" "$d/split/prog"
  cp "$d/prog.debug" "$d/split/prog.debug"
  cp "$d/common.debug" "$d/split/common.debug"
  same "dwz ($v): debug file by debuglink, its supplementary file beside it" "$d/split/prog"
  # The supplementary file missing: said once; the names kept there are lost.
  mv "$d/common.debug" "$d/common.away"
  "$tt" -e "$d/prog" --inlines < "$tmp/addrs" > "$tmp/got" 2> "$tmp/err" || fail "dwz ($v) without alt file: exit $?"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "common.debug" "$tmp/err" && grep -q "not found" "$tmp/err" \
    || fail "dwz ($v): the missing supplementary file not said once: $(cat "$tmp/err")"
  cmp -s "$tmp/want" "$tmp/got" && fail "dwz ($v): answers unchanged without the supplementary file: the check checks nothing"
  echo "ok: dwz ($v) supplementary file missing: $(cat "$tmp/err")"
  mv "$d/common.away" "$d/common.debug"
done
echo PASS
