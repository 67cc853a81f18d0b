#!/usr/bin/env bash
# A distribution's library and its -dbg package: the system's libc.so.6
# (stripped: .dynsym only, no DWARF) and Debian's libc6-dbg, whose debug
# file lives under /usr/lib/debug/.build-id/ by build-id, with compressed
# DWARF 5 sections. tt_symbolize is given libc.so.6 alone and must find the
# debug file; on 2000 addresses sampled from the debug file's symbol table
# it must agree with llvm-symbolizer-14 and addr2line (given the debug file
# itself) on >= 99.9% of the addresses where those two agree, and with nm
# on every symbol+offset (tests/data/bts/symcompare.py).
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2> /dev/null || true)
[ -f "$libc" ] || { echo "SKIP: no /lib/x86_64-linux-gnu/libc.so.6 (not Debian x86-64)"; exit 77; }
id=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
[ -n "$id" ] && [ -f "$dbg" ] || { echo "FAIL: no libc6-dbg debug file $dbg for build-id $id: run scripts/install-deps"; exit 1; }
readelf -S "$libc" | grep -c '\.debug_info' > /dev/null && { echo "FAIL: $libc has DWARF of its own: nothing to find"; exit 1; }
unset DEBUGINFOD_URLS XENTT_DEBUG_FILE_DIRECTORY
echo "libc: $libc, build-id $id, debug file $dbg"

# No word on stderr: the debug file was found, by build-id.
err=$(echo 0x0 | "$XENTT_BIN/tt_symbolize" -e "$libc" 2>&1 > /dev/null) || { echo "FAIL: tt_symbolize: $err"; exit 1; }
[ -z "$err" ] || { echo "FAIL: tt_symbolize warns on libc: $err"; exit 1; }

python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$libc" --oracle-elf "$dbg" \
  --count 2000 --seed 11 --min-rate 0.999 --aliases --min-consensus 0.8
echo PASS
