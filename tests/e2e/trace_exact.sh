# Branch tracing is exact: a traced window of the demo guest (timer
# interrupts, divide faults, rep strings) equals the one-instruction-per-block
# ground truth record for record; two traced replays write byte-identical
# logs; the plugin's instruction count equals QEMU's at every stop; 100
# random records turned into locations stop exactly there, with the
# registers single-stepping reaches.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
D=$XENTT_STATE/demo

trace_window fast "$D" idt_init demo_finish
trace_window again "$D" idt_init demo_finish
trace_window truth "$D" idt_init demo_finish --one-insn-per-tb
cat "$TMP/fast.json"

check "the fast trace equals the ground truth (from, to, brctr)" cmp "$TMP/fast.bts" "$TMP/truth.bts"
check "two traced replays write byte-identical logs" cmp "$TMP/fast.xtl" "$TMP/again.xtl"

# Independent of the code under test: the .bts layout read with Python.
python3 - "$TMP/fast.bts" "$TMP/fast.json" "$XENTT_GUEST" >"$TMP/py.out" <<'PY' || fail "trace checks: $(cat "$TMP/py.out")"
import json, struct, subprocess, sys
data = open(sys.argv[1], "rb").read()
summary = json.load(open(sys.argv[2]))
recs = [struct.unpack_from("<QQQ", data, o) for o in range(0, len(data), 24)]
assert recs[0] == (2**64 - 1,) * 3, "extended marker missing"
recs = recs[1:]
assert len(recs) == summary["records"] > 100000, (len(recs), summary["records"])
# Every transfer counted once: brctr runs start+1 .. end without gaps.
assert recs[0][2] == summary["start_brctr"] + 1 and recs[-1][2] == summary["end_brctr"], (recs[0], recs[-1], summary)
assert all(b[2] == a[2] + 1 for a, b in zip(recs, recs[1:])), "brctr has gaps"
# The divide faults raised on purpose: checked_div's div -> isr_stub_0.
syms = {}
for line in subprocess.run(["nm", sys.argv[3]], capture_output=True, text=True).stdout.splitlines():
    a, t, n = line.split()
    syms[n] = int(a, 16)
faults = [r for r in recs if r[0] == syms["checked_div_insn"] and r[1] == syms["isr_stub_0"]]
assert faults, "no divide fault recorded as checked_div_insn -> isr_stub_0"
# rep-string iterations are not branches.
assert not [r for r in recs if r[0] == r[1]], "self-loops recorded"
print("records", len(recs), "divide faults", len(faults))
PY
cat "$TMP/py.out"

seed=${XENTT_TEST_SEED:-$RANDOM}
echo "seed $seed (XENTT_TEST_SEED=$seed reproduces)"
end=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end_icount"])' "$TMP/fast.json")
"$XENTT_BUILD/tests/bt_check" icount "$D" 1 1000 $((end / 3)) $((end / 2)) $((end / 5)) $((end - 1)) 7 \
  >"$TMP/icount.out" 2>&1 || fail "plugin icount differs from QEMU's: $(cat "$TMP/icount.out")"
"$XENTT_BUILD/tests/bt_check" stops "$D" "$TMP/fast.bts" 100 "$seed" >"$TMP/stops.out" 2>&1 ||
  fail "stops at records: $(cat "$TMP/stops.out")"
check "100 record locations stop exactly" grep -q '^100 of 100 stops exact$' "$TMP/stops.out"

# Bad input: one line, exit 2, nothing left running.
expect_exit 2 no_such_symbol trace_task -o "$TMP/x.bts" "$D" no_such_symbol demo_finish
check "no QEMU left behind" no_qemu_left
