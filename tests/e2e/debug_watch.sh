# Watchpoints on a served replay and tt_vmi watch, on a demo recording of
# 30 timer ticks. gdb's `watch demo_ticks` stops at each increment going
# forward (30, as many as the guest printed) and at each going back (30
# again, ending at 0). tt_vmi watch lists the same 30 writes, each value one
# more than the last, written by sched_tick; the list equals the one of a
# one-instruction-per-block run (the ground truth of the plugin's icount
# and brctr); a writer's {eip, brctr} is a location tt_replay stops at, one
# instruction before the watchpoint's stop; demo_rounds (two counters)
# gets as many writes as the guest printed rounds.
source "$(dirname "$0")/lib/common.bash"

record_demo ticks "ticks=30 work=1024 seed=5"
grep -q "demo: done: ticks=30 " "$XENTT_STATE/ticks/console.log" || fail "the guest did not print ticks=30"
rounds=$(sed -nE 's/.*demo: done: .* rounds=([0-9]+)\/([0-9]+).*/\1 \2/p' "$XENTT_STATE/ticks/console.log")
kernel=$XENTT_STATE/ticks/kernel

tt_replay --serve --headless --json ticks >"$TMP/serve.json" 2>"$TMP/serve.err" || fail "serve: $(cat "$TMP/serve.err")"
sock=$(python3 -c 'import json,sys; print([e["path"] for e in json.load(open(sys.argv[1]))["endpoints"] if e["name"]=="gdb"][0])' "$TMP/serve.json")
XENTT_WATCH=demo_ticks timeout 900 gdb -batch -nx -ex "target remote $sock" -x "$XENTT_SOURCE/tests/e2e/debug/watch_count.py" \
  "$kernel" >"$TMP/gdb.out" 2>&1 || fail "gdb: $(tail -5 "$TMP/gdb.out")"
grep stops "$TMP/gdb.out"
check "watch demo_ticks: 30 stops forward, the value 30 at the end" grep -q '^forward stops 30, demo_ticks=30$' "$TMP/gdb.out"
check "watch demo_ticks: 30 stops back, the value 0 at the start" grep -q '^backward stops 30, demo_ticks=0$' "$TMP/gdb.out"
timeout 300 gdb -batch -nx -ex "target remote $sock" -ex 'watch demo_ticks' -ex continue -ex continue -ex 'monitor when' \
  "$kernel" >"$TMP/gdb2.out" 2>&1 || fail "gdb: $(tail -5 "$TMP/gdb2.out")"
read -r stop_icount stop_rip < <(sed -nE 's/^icount ([0-9]+), rip (0x[0-9a-f]+),.*/\1 \2/p' "$TMP/gdb2.out")
check "gdb shows the old and new value" grep -q "^New value = 2$" "$TMP/gdb2.out"
tt_replay -K ticks >/dev/null

tt_vmi --json ticks watch demo_ticks --from idt_init --to demo_finish >"$TMP/w.json" 2>"$TMP/w.err" ||
  fail "tt_vmi watch: $(cat "$TMP/w.err")"
tt_vmi --json ticks watch demo_ticks --from idt_init --to demo_finish --one-insn-per-tb >"$TMP/truth.json" 2>"$TMP/t.err" ||
  fail "tt_vmi watch --one-insn-per-tb: $(cat "$TMP/t.err")"
python3 - "$TMP/w.json" <<'PY' || fail "tt_vmi watch demo_ticks: $(head -c 600 "$TMP/w.json")"
import json, sys
w = json.load(open(sys.argv[1]))
a = w["accesses"]
assert w["bytes"] == 8 and w["count"] == 30 and len(a) == 30, (w["bytes"], w["count"])
for i, x in enumerate(a):
    assert x["access"] == "write" and x["old"] == hex(i) and x["new"] == hex(i + 1), x
    assert x["function"].startswith("sched_tick+") and x["line"].endswith("sched.c:48"), x
assert [x["icount"] for x in a] == sorted(x["icount"] for x in a)
PY
echo "ok: tt_vmi watch lists 30 writes of demo_ticks by sched_tick (sched.c:48), 0x0 -> 0x1 ... 0x1d -> 0x1e"
check "tt_vmi watch equals the one-instruction-per-block ground truth" cmp "$TMP/w.json" "$TMP/truth.json"
loc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accesses"][1]["location"])' "$TMP/w.json")
icount2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accesses"][1]["icount"])' "$TMP/w.json")
check "the watchpoint's second stop is one instruction after the second write (icount $icount2)" test "$stop_icount" = $((icount2 + 1))
tt_replay -p --json --until "$loc" ticks >"$TMP/p.json" || fail "tt_replay --until $loc"
check "tt_replay --until $loc (the writer's location) stops at its icount" \
  python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["icount"] != int(sys.argv[2]))' "$TMP/p.json" "$icount2"
tt_replay -K ticks >/dev/null

tt_vmi ticks watch demo_rounds --from idt_init --to demo_finish >"$TMP/rounds.txt" || fail "tt_vmi watch demo_rounds"
head -3 "$TMP/rounds.txt"
read -r r0 r1 <<<"$rounds"
check "demo_rounds: as many writes as the guest printed rounds ($r0 + $r1)" \
  grep -q "^demo_rounds at 0x[0-9a-f]*, 16 bytes, from icount [0-9]* to [0-9]*: $((r0 + r1)) writes$" "$TMP/rounds.txt"
# A reader that stops early: before 2026-11-27 tools printed "internal
# error: cannot write to file: Broken pipe" and exited 1 (fmt's write error).
tt_vmi ticks watch demo_rounds --from idt_init --to demo_finish 2>"$TMP/pipe.err" | head -1 >/dev/null
st=${PIPESTATUS[0]}
check "tt_vmi ... | head ends quietly with status 0 (status $st: $(cat "$TMP/pipe.err"))" test "$st" = 0 -a ! -s "$TMP/pipe.err"
expect_exit 2 "not an object in memory" tt_vmi ticks watch '&demo_ticks' --from idt_init --to demo_finish
expect_exit 2 "comes before" tt_vmi ticks watch demo_ticks --from demo_finish --to icount=5
check "no QEMU left behind" no_qemu_left
