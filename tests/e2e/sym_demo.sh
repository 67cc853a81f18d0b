#!/usr/bin/env bash
# The symbolizer on the demo guest kernel (guest/, -g -O2): agreement with
# addr2line and llvm-symbolizer. The guest is built on main; on a branch
# without it the test is skipped.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
elf=$XENTT_BUILD/guest/demo.elf
[ -f "$elf" ] || { echo "SKIP: $elf is absent (the demo guest is not built in this tree)"; exit 77; }
python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$elf" --count 2000 --seed 5
echo PASS
