# trace_task on windows that cannot be traced, and trace_task interrupted:
# a start or end never reached, or a stop at a brctr beyond the end, is one
# line naming it and exit 2 (not a hang at the end of the log); SIGTERM quits QEMU and removes the replay's files,
# exit 1; after SIGKILL, QEMU dies with its parent and the next replay
# removes the orphaned files. Also: a stop inside a rep-string instruction
# by {eip, brctr, rcx} lands where stepping its iterations does.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
D=$XENTT_STATE/demo
runtime_dirs() { find "$D/replays" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

expect_exit 2 "start 0x0: eip 0x0 is not reached" trace_task -o "$TMP/a.bts" "$D" 0x0 demo_finish
expect_exit 2 "end 0x0: eip 0x0 is not reached" trace_task -o "$TMP/b.bts" "$D" idt_init 0x0
expect_exit 2 "end idt_init" trace_task -o "$TMP/c.bts" "$D" demo_finish idt_init
expect_exit 2 "brctr 999999999 is beyond the end of the recording" tt_replay -q --until demo_finish:999999999 demo
check "no QEMU left after the errors" no_qemu_left
check "no runtime directory left after the errors" test "$(runtime_dirs)" = 0

# SIGTERM while tracing (the ground-truth mode is slow enough to be caught
# in the middle).
trace_task -q --one-insn-per-tb -o "$TMP/t.bts" "$D" idt_init demo_finish 2>"$TMP/term.err" &
pid=$!
for _ in $(seq 100); do [ "$(runtime_dirs)" -gt 0 ] && break; sleep 0.1; done
sleep 1
kill -TERM $pid
st=0
wait $pid || st=$?
check "SIGTERM: exit 1" test "$st" = 1
check "SIGTERM: says so" grep -q "interrupted by SIGTERM" "$TMP/term.err"
check "SIGTERM: no QEMU left" no_qemu_left
check "SIGTERM: no runtime directory left" test "$(runtime_dirs)" = 0

# SIGKILL: nothing can clean up in the process itself.
trace_task -q --one-insn-per-tb -o "$TMP/k.bts" "$D" idt_init demo_finish 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ "$(runtime_dirs)" -gt 0 ] && break; sleep 0.1; done
sleep 1
kill -KILL $pid
wait $pid || true
check "SIGKILL: QEMU dies with its parent" no_qemu_left
check "SIGKILL: the orphaned runtime directory is still there" test "$(runtime_dirs)" = 1
tt_replay -q --verify demo >/dev/null || fail "tt_replay --verify after SIGKILL"
check "the next replay removes it" test "$(runtime_dirs)" = 0

# rep strings: memset and memcpy of the demo guest (lib.c) are rep stos/movs.
for fn in memset memcpy; do
  addr=$(objdump -d "$XENTT_GUEST" | awk -v f="<$fn>:" '$2 == f {on = 1; next} on && /rep/ {print $1; exit}')
  addr=0x${addr%:}
  [ "$addr" != 0x ] || fail "no rep instruction in $fn"
  "$XENTT_BUILD/tests/bt_check" rep "$D" "$addr" 5 >"$TMP/rep.out" 2>&1 || fail "rep stop in $fn: $(cat "$TMP/rep.out")"
  cat "$TMP/rep.out"
done
check "no QEMU left" no_qemu_left
