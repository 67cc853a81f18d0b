#!/usr/bin/env bash
# Broken symbol files: an ELF with no symbols, a truncated ELF, corrupted
# DWARF, binary garbage, a missing file. Each must give one line naming the
# file and exit 2 (or, for damage found lazily inside DWARF, answers without
# lines and one warning), never a crash.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
prog=$XENTT_BUILD/tests/data/bts/inline_prog
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
echo 0x1000 > "$tmp/addr"

# expect_error FILE WORDS...: tt_symbolize -e FILE exits 2 with one line
# naming FILE and containing WORDS.
expect_error() {
  local f=$1; shift
  set +e
  "$XENTT_BIN/tt_symbolize" -e "$f" < "$tmp/addr" > /dev/null 2> "$tmp/err"; local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "$f: exit $rc, want 2: $(cat "$tmp/err")"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$f: not one line: $(cat "$tmp/err")"
  grep -qF "$f" "$tmp/err" || fail "$f not named: $(cat "$tmp/err")"
  for w in "$@"; do grep -qi -- "$w" "$tmp/err" || fail "$f: '$w' missing: $(cat "$tmp/err")"; done
  echo "ok: $(cat "$tmp/err")"
}

# No symbols at all: a static, -nostdlib program stripped of everything.
gcc -O2 -g -nostdlib -static -o "$tmp/tiny" "$XENTT_SOURCE/tests/data/bts/tiny.c"
strip --strip-all -o "$tmp/nosyms" "$tmp/tiny"
expect_error "$tmp/nosyms" "no symbols"

# Truncated: the first 1000 bytes of a real ELF (section headers are gone).
head -c 1000 "$prog" > "$tmp/trunc"
expect_error "$tmp/trunc"

# Section headers pointing past the end of the file.
python3 - "$prog" "$tmp/badshoff" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<Q', b, 0x28, len(b) + 4096)   # e_shoff
open(sys.argv[2], 'wb').write(b)
PY
expect_error "$tmp/badshoff"

# Binary garbage and an empty file.
head -c 4096 /dev/urandom > "$tmp/garbage"; printf '\0' | dd of="$tmp/garbage" conv=notrunc 2> /dev/null
expect_error "$tmp/garbage" "neither an ELF"
: > "$tmp/empty"
expect_error "$tmp/empty" "empty"
expect_error "$tmp/missing"

# Not a regular file: a FIFO nobody writes to (opening it for reading
# would wait for a writer forever), a directory, a device. tt_symbolize -e
# and bts_dump --lines -e must refuse each at once: exit 2, one line
# naming the file and what it is. `timeout` turns a hang into a failure.
mkfifo "$tmp/fifo"
mkdir "$tmp/dir"
python3 "$XENTT_SOURCE/tests/data/bts/make_bts.py" "$XENTT_SOURCE/tests/data/bts/fixtures/raw.txt" "$tmp/one.bts"
for f in "$tmp/fifo:FIFO" "$tmp/dir:directory" "/dev/null:character device"; do
  path=${f%%:*} what=${f#*:}
  for tool in tt_symbolize bts_dump; do
    set +e
    if [ $tool = tt_symbolize ]; then
      timeout 10 "$XENTT_BIN/tt_symbolize" -e "$path" < "$tmp/addr" > /dev/null 2> "$tmp/err"
    else
      timeout 10 "$XENTT_BIN/bts_dump" --lines -e "$path" "$tmp/one.bts" > /dev/null 2> "$tmp/err"
    fi
    rc=$?
    set -e
    [ $rc -ne 124 ] || fail "$tool -e $path ($what): still waiting after 10 s"
    [ $rc -eq 2 ] || fail "$tool -e $path ($what): exit $rc, want 2: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$tool -e $path: not one line: $(cat "$tmp/err")"
    grep -qF "$path" "$tmp/err" && grep -qi "$what" "$tmp/err" ||
      fail "$tool -e $path: does not name the file and '$what': $(cat "$tmp/err")"
    echo "ok: $tool: $(cat "$tmp/err")"
  done
done

# The same through a state directory: a symfiles list that is a FIFO is
# refused at once (exit 2); a FIFO it names is reported once and its
# addresses print raw (exit 0), as a missing file is.
mkdir "$tmp/fifostate"
mkfifo "$tmp/fifostate/symfiles"
set +e
timeout 10 "$XENTT_BIN/tt_symbolize" -s "$tmp/fifostate" < "$tmp/addr" > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "fifostate/symfiles.*FIFO" "$tmp/err" ||
  fail "symfiles as a FIFO: rc=$rc $(cat "$tmp/err")"
echo "ok: $(cat "$tmp/err")"
rm "$tmp/fifostate/symfiles"
printf 'fifo.elf\n' > "$tmp/fifostate/symfiles"
mkfifo "$tmp/fifostate/fifo.elf"
set +e
timeout 10 "$XENTT_BIN/tt_symbolize" -s "$tmp/fifostate" < "$tmp/addr" > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 0 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "fifo.elf.*FIFO" "$tmp/err" ||
  fail "a listed symbol file that is a FIFO: rc=$rc $(cat "$tmp/err")"
echo 0x1000 0x1000 | diff -u - "$tmp/out" || fail "a listed FIFO: raw output"
echo "ok: $(cat "$tmp/err")"

# A text file that is not a symbol list: the line and offset are named.
printf '0000000000001000 T ok\nthis is not a symbol\n' > "$tmp/notmap"
expect_error "$tmp/notmap" "line 2" "offset 22"

# Corrupted DWARF: .debug_info overwritten with junk after the first unit
# header. Loading must not crash: either the file is refused with exit 2, or
# the symbol table still answers (exit 0) with at most a warning per unit.
python3 - "$prog" "$tmp/baddwarf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
shoff, = struct.unpack_from('<Q', b, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3a)
def sh(i):
    return struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize)
stroff = sh(shstrndx)[4]
for i in range(shnum):
    s = sh(i)
    name = b[stroff + s[0]:b.index(b'\0', stroff + s[0])]
    if name in (b'.debug_info', b'.debug_line'):
        off, size = s[4], s[5]
        for k in range(off + 12, off + size, 7):
            b[k] = (k * 131) & 0xff
open(sys.argv[2], 'wb').write(b)
PY
main=$(nm "$prog" | awk '$3 == "main" {print $1}')
set +e
printf '0x%s\n0x%s\n' "$main" "$main" | "$XENTT_BIN/tt_symbolize" --inlines -e "$tmp/baddwarf" > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
echo "corrupt DWARF: exit $rc: $(head -c 300 "$tmp/err")"
case $rc in
  0) grep -q "main+0x0" "$tmp/out" || fail "corrupt DWARF: symbol table no longer answers: $(cat "$tmp/out")"
     [ "$(wc -l < "$tmp/err")" -le 2 ] || fail "corrupt DWARF: warnings repeat: $(cat "$tmp/err")" ;;
  2) [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -qF "$tmp/baddwarf" "$tmp/err" || fail "corrupt DWARF message: $(cat "$tmp/err")" ;;
  *) fail "corrupt DWARF: exit $rc" ;;
esac

# A state directory whose symfiles names a missing file: one warning, raw
# addresses, exit 0 (the recording is still usable).
mkdir "$tmp/state"
printf 'gone.elf\n' > "$tmp/state/symfiles"
printf '0x1000\n0x2000\n0x3000\n' | "$XENTT_BIN/tt_symbolize" -s "$tmp/state" > "$tmp/out" 2> "$tmp/err"
[ "$(grep -c 'gone.elf' "$tmp/err")" -eq 1 ] || fail "missing statedir file not reported once: $(cat "$tmp/err")"
printf '0x1000 0x1000\n0x2000 0x2000\n0x3000 0x3000\n' | diff -u - "$tmp/out" || fail "raw output"

# Bad lines on stdin are reported with their line number and exit 2; the
# other lines are still answered.
set +e
printf '0x%s\nxyz\n' "$main" | "$XENTT_BIN/tt_symbolize" -e "$prog" > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "line 2" "$tmp/err" && grep -q "main+0x0" "$tmp/out" || fail "bad stdin line: rc=$rc $(cat "$tmp/err")"
echo PASS
