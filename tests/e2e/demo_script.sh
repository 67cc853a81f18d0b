# `make demo`'s main job (scripts/demo) runs end to end on this build:
# record, verify, stop at a symbol, symbolize the stop from DWARF.
source "$(dirname "$0")/lib/common.bash"

bash "$XENTT_SOURCE/scripts/demo" "$XENTT_BUILD" >"$TMP/demo.out" 2>&1 || { cat "$TMP/demo.out"; fail "scripts/demo failed"; }
cat "$TMP/demo.out"
check "the demo recorded a passing guest" grep -q '^demo: PASS' "$TMP/demo.out"
check "the replay verified" grep -q "^replayed 'demo' to the end: .*console identical" "$TMP/demo.out"
sieve=$(nm "$XENTT_GUEST" | awk '$3=="work_sieve"{print $1}' | sed 's/^0*/0x/')
check "the replay stopped at work_sieve ($sieve)" grep -q "paused at icount [0-9]* (rip $sieve)" "$TMP/demo.out"
check "the stop was symbolized as work_sieve+0x0 with its source line" grep -qE "^$sieve work_sieve\+0x0 at .*work\.c:[0-9]+" "$TMP/demo.out"
check "no QEMU left behind" no_qemu_left
