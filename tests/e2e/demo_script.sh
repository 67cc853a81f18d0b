# `make demo`'s main job (scripts/demo) runs end to end on this build:
# record, verify, stop at a symbol, symbolize the stop from DWARF, trace a
# window symbolized (the divide fault in it), stop exactly at a record.
source "$(dirname "$0")/lib/common.bash"

bash "$XENTT_SOURCE/scripts/demo" "$XENTT_BUILD" >"$TMP/demo.out" 2>&1 || { cat "$TMP/demo.out"; fail "scripts/demo failed"; }
cat "$TMP/demo.out"
check "the demo recorded a passing guest" grep -q '^demo: PASS' "$TMP/demo.out"
check "the replay verified" grep -q "^replayed 'demo' to the end: .*console identical" "$TMP/demo.out"
sieve=$(nm "$XENTT_GUEST" | awk '$3=="work_sieve"{print $1}' | sed 's/^0*/0x/')
check "the replay stopped at work_sieve ($sieve)" grep -q "paused at icount [0-9]* (rip $sieve)" "$TMP/demo.out"
check "tt_vmi read the counters by name at the stop" grep -qE '^demo_ticks = [0-9]+$' "$TMP/demo.out"
check "and the parameters the command line gave" grep -qx 'demo_params = {ticks = 200, work = 8192, seed = 1, hz = 1000}' "$TMP/demo.out"
check "and translated demo_ticks with our page walk" grep -qE '^0x[0-9a-f]+ -> guest-physical 0x[0-9a-f]+$' "$TMP/demo.out"
check "the stop was symbolized as work_sieve+0x0 with its source line" grep -qE "^$sieve work_sieve\+0x0 at .*work\.c:[0-9]+" "$TMP/demo.out"
# isr_stub_0 and isr_stub_table share an address; the global name is printed.
check "the window's trace is printed symbolized: the divide fault enters the vector 0 stub" \
  grep -qE "checked_div_insn\+0x0 .*-> isr_stub_(0|table)\+0x0" "$TMP/demo.out"
check "and the handler's iretq returns to checked_div_fixup" grep -qE -- "-> checked_div_fixup\+0x0" "$TMP/demo.out"
check "the summary counts the window" grep -qE "^traced checked_div -> checked_div_fixup: [1-9][0-9]* branches" "$TMP/demo.out"
rec=$(sed -nE 's/^record: [0-9]+: (0x[0-9a-f]+) -> (0x[0-9a-f]+) \(brctr ([0-9]+)\)$/\2/p' "$TMP/demo.out")
[ -n "$rec" ] || fail "no record line from step 6"
check "the replay stopped at the record's target ($rec)" grep -q "paused at icount [0-9]* (rip $rec)" "$TMP/demo.out"
check "no QEMU left behind" no_qemu_left
