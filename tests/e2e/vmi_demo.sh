# tt_vmi on the demo guest, against what the guest printed and against gdb:
# counters read by name at demo_finish equal the guest's own "done" line;
# registers equal gdb's 'info registers'; virtual reads equal gdb's memory
# dump; translate agrees with QEMU's 'monitor gva2gpa'; several --at points
# give one row each; bad input gets one line and exit 2.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
done_line=$(grep 'demo: done:' "$XENTT_STATE/demo/console.log")
echo "guest: $done_line"
ticks=$(field ticks "$done_line") switches=$(field switches "$done_line") divs=$(field div_faults "$done_line")
rounds=$(sed -nE 's/.* rounds=([0-9]+)\/([0-9]+).*/{\1, \2}/p' <<<"$done_line")

# --at: a replay of our own, to demo_finish, where the guest prints the line.
for v in demo_ticks demo_switches demo_div_faults demo_rounds; do
  tt_vmi --at demo_finish demo print $v >"$TMP/$v.out" 2>"$TMP/err" || fail "tt_vmi print $v: $(cat "$TMP/err")"
done
check "demo_ticks = $ticks, as the guest printed" test "$(cat "$TMP/demo_ticks.out")" = "$ticks"
check "demo_switches = $switches" test "$(cat "$TMP/demo_switches.out")" = "$switches"
check "demo_div_faults = $divs" test "$(cat "$TMP/demo_div_faults.out")" = "$divs"
check "demo_rounds = $rounds" test "$(cat "$TMP/demo_rounds.out")" = "$rounds"
tt_vmi --at demo_finish demo print demo_params >"$TMP/params.out"
check "demo_params is the struct the command line made" \
  grep -qx '{ticks = 200, work = 4096, seed = 3, hz = 1000}' "$TMP/params.out"

# Several points: one row each, a counter through time (the first tick
# handler, then the end).
tt_vmi --json --at sched_tick --at demo_finish --at icount=1000 demo print demo_ticks >"$TMP/rows.json"
check "three rows, in the order given, with the values at each point" python3 -c "
import json; r = json.load(open('$TMP/rows.json'))
assert [x['point'] for x in r] == ['sched_tick', 'demo_finish', 'icount=1000'], r
assert r[0]['result']['value'] == 0 and r[1]['result']['value'] == $ticks and r[2]['result']['value'] == 0, r
assert r[2]['icount'] == 1000, r"

# The paused background replay, by name, against gdb through the same gdbstub
# ('disconnect', not gdb's default detach at the end: a detach resumes the
# replay, which must stay at demo_finish for the reads below).
tt_replay --until demo_finish --json demo >"$TMP/attach.json"
sock=$(python3 -c "import json; print(json.load(open('$TMP/attach.json'))['gdb_socket'])")
tt_vmi --json demo regs >"$TMP/regs.json"
params=$(nm "$XENTT_GUEST" | awk '$3=="demo_params"{print "0x" $1}')
timeout 120 gdb -batch -nx -ex "target remote $sock" -ex 'info registers' \
  -ex "dump binary memory $TMP/gdb.bin $params $params+256" -ex "monitor gva2gpa $params" \
  -ex 'monitor gva2gpa 0x200000' -ex disconnect "$XENTT_GUEST" >"$TMP/gdb.out" 2>&1 || true
cat "$TMP/gdb.out"
check "every register gdb shows equals tt_vmi's" python3 -c "
import json, re
ours = {k: int(v, 16) for k, v in json.load(open('$TMP/regs.json')).items()}
alias = {'eflags': 'rflags', 'k_gs_base': 'kernel_gs_base'}
seen = 0
for line in open('$TMP/gdb.out'):
    m = re.match(r'^(\w+)\s+(0x[0-9a-f]+)', line)
    if not m: continue
    name = alias.get(m.group(1), m.group(1))
    if name not in ours: continue
    assert ours[name] == int(m.group(2), 16), (name, hex(ours[name]), m.group(2))
    seen += 1
assert seen >= 30, seen"
finish=$(nm "$XENTT_GUEST" | awk '$3=="demo_finish"{print "0x" $1}')
check "the replay is still paused at demo_finish after gdb disconnected" python3 -c "
import json, subprocess
r = json.loads(subprocess.check_output(['tt_vmi', '--json', 'demo', 'regs']))
assert int(r['rip'], 16) == int('$finish', 16), r['rip']"
tt_vmi demo read --raw "$params" 256 >"$TMP/ours.bin"
check "tt_vmi's virtual read equals gdb's memory dump" cmp "$TMP/ours.bin" "$TMP/gdb.bin"
tt_vmi demo read --raw demo_params 256 >"$TMP/ours2.bin"
check "a symbol reads the same bytes" cmp "$TMP/ours.bin" "$TMP/ours2.bin"
tt_vmi demo read -P --raw "$params" 256 >"$TMP/phys.bin"
check "the identity-mapped demo reads the same bytes physically" cmp "$TMP/ours.bin" "$TMP/phys.bin"
# QEMU answers each 'monitor gva2gpa' with a line "gpa: 0x...", in order.
mapfile -t gpas < <(sed -nE 's/^gpa: (0x[0-9a-f]+).*/\1/p' "$TMP/gdb.out")
check "QEMU translated both addresses" test "${#gpas[@]}" = 2
i=0
for a in "$params" 0x200000; do
  tt_vmi --json demo translate "$a" >"$TMP/tr.json"
  check "translate $a = ${gpas[$i]}, as QEMU's gva2gpa says" python3 -c "
import json; t = json.load(open('$TMP/tr.json')); assert int(t['paddr'], 16) == int('${gpas[$i]}', 16), t"
  i=$((i + 1))
done
tt_vmi demo translate "$params" >"$TMP/tr.txt"
cat "$TMP/tr.txt"
check "translate shows the page size and the entries walked" grep -q 'page' "$TMP/tr.txt"

# Bad input: one line, exit 2, nothing crashes.
expect_exit 2 "no_such_symbol" tt_vmi demo print no_such_symbol
expect_exit 2 "nope" tt_vmi demo print demo_params.nope
expect_exit 2 "0x700000000000" tt_vmi demo read 0x700000000000 16
expect_exit 2 "canonical" tt_vmi demo read 0x8000000000000000 16
expect_exit 2 "outside" tt_vmi demo read -P 0x40000000 16
# (the demo maps page 0, so a NULL read succeeds here; an unmapped pointer does not)
expect_exit 2 "0x700000000000)->hz: guest-virtual address 0x700000000018: not mapped" \
  tt_vmi demo print '((struct params *)0x700000000000)->hz'
expect_exit 2 "/nonexistent" tt_vmi --vmlinux /nonexistent demo print demo_ticks
expect_exit 2 "no_such_function" tt_vmi --at no_such_function demo print demo_ticks
# A debugger that detaches resumes the replay (to the end of the
# recording): tt_vmi answers for where it is now, and says so.
timeout 120 gdb -batch -nx -ex "target remote $sock" -ex detach >/dev/null 2>&1 || true
sleep 1
tt_vmi demo regs >/dev/null 2>"$TMP/err" || fail "tt_vmi regs after gdb detached: $(cat "$TMP/err")"
check "tt_vmi warns that the replay ran on since it was paused" grep -q 'was paused at icount [0-9]* but is now at rip' "$TMP/err"
tt_replay -K demo >/dev/null
expect_exit 2 "no paused replay" tt_vmi demo regs
check "no QEMU left behind" no_qemu_left
