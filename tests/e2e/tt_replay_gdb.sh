# tt_replay -p prints how to attach; real gdb attaches through the printed
# command, breaks on a demo-guest function, reads a global by name, steps
# forward and backward, reverse-continues; tt_replay -K ends the replay.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
tt_replay -p demo >"$TMP/attach.txt" || fail "tt_replay -p failed"
cat "$TMP/attach.txt"
gdbcmd=$(sed -nE "s/^ +gdb: +(gdb -ex .*)$/\1/p" "$TMP/attach.txt")
check "the attach block has a gdb command" test -n "$gdbcmd"
tt_replay -p --json demo >"$TMP/attach2.json"
check "the JSON attach block names the memory file" python3 -c "
import json,os; d=json.load(open('$TMP/attach2.json')); assert os.path.getsize(d['memory_file'])==d['memory_bytes']"

# The printed command, run as printed (plus batch commands).
eval "timeout 120 $gdbcmd -batch -nx \
  -ex 'break work_sieve' -ex continue \
  -ex 'printf \"pc=%#lx\\n\", \$pc' -ex 'printf \"ticks=%lu\\n\", demo_ticks' \
  -ex stepi -ex 'printf \"after stepi pc=%#lx\\n\", \$pc' \
  -ex reverse-stepi -ex 'printf \"after reverse-stepi pc=%#lx\\n\", \$pc' \
  -ex 'break sched_tick' -ex continue -ex 'printf \"in sched_tick ticks=%lu\\n\", demo_ticks' \
  -ex 'delete 2' -ex reverse-continue -ex 'printf \"after reverse-continue pc=%#lx\\n\", \$pc'" \
  >"$TMP/gdb.out" 2>&1 || true
cat "$TMP/gdb.out"
sieve=$(nm "$XENTT_GUEST" | awk '$3=="work_sieve"{print "0x" $1}' | sed 's/0x0*/0x/')
check "gdb stopped at work_sieve ($sieve)" grep -q "^pc=$sieve\$" "$TMP/gdb.out"
check "gdb read demo_ticks by name" grep -qE '^ticks=[0-9]+$' "$TMP/gdb.out"
after=$(sed -nE 's/^after stepi pc=(.*)/\1/p' "$TMP/gdb.out")
check "stepi moved forward ($after)" test -n "$after" -a "$after" != "$sieve"
check "reverse-stepi came back to work_sieve" grep -q "^after reverse-stepi pc=$sieve\$" "$TMP/gdb.out"
check "the timer ran before sched_tick was hit" grep -qE '^in sched_tick ticks=[0-9]+$' "$TMP/gdb.out"
check "reverse-continue went back to the work_sieve breakpoint" \
  grep -q "^after reverse-continue pc=$sieve\$" "$TMP/gdb.out"

tt_replay -K demo >"$TMP/kill.out"
cat "$TMP/kill.out"
check "tt_replay -K ended both replays" grep -q '^2 replay' "$TMP/kill.out"
check "no QEMU left behind" no_qemu_left
