# Recordings end: a guest that halts for good (the demo guest without its
# exit device: hlt with interrupts off after its last line, which grew the
# log by 600 MB in 12 minutes) ends its recording by itself; size, time and
# instruction limits end runaway ones; each such recording replays to its
# end. SIGTERM or SIGINT to a foreground `tt_record -c` stop the recording
# cleanly (it used to return while the recorder went on in the background);
# only the escape key (Ctrl-]) detaches on purpose.
source "$(dirname "$0")/lib/common.bash"

# ended NAME WANT: the recording of NAME is complete, ended by WANT, and
# replays to its end.
ended() {
  local name=$1 want=$2
  check "$name is complete" test ! -e "$XENTT_STATE/$name/INCOMPLETE"
  check "$name ended by $want" grep -q "\"ended_by\": \"$want\"" "$XENTT_STATE/$name/recording.json"
  tt_replay -q --verify "$name" >"$TMP/$name.verify" 2>&1 || fail "$name does not replay to its end: $(cat "$TMP/$name.verify")"
  echo "ok: $name replays: $(cat "$TMP/$name.verify")"
}
no_recorder() { ! pgrep -f "tt_record .*$1\$" >/dev/null; }

# A guest that halts for good: no exit device.
timeout 120 tt_record -c -k "$XENTT_GUEST" -a "ticks=50" halted >"$TMP/h.out" 2>&1 ||
  fail "tt_record of a halting guest: $(cat "$TMP/h.out")"
ended halted guest-halted

# A size cap ends the same runaway guest first.
timeout 120 tt_record -c -k "$XENTT_GUEST" -a "ticks=50" --max-size 1M capped >"$TMP/c.out" 2>&1 ||
  fail "tt_record --max-size: $(cat "$TMP/c.out")"
ended capped max-size
size=$(stat -c %s "$XENTT_STATE/capped/recording/replay.bin")
check "the capped log passed 1 MiB and stopped soon after ($size bytes)" test "$size" -ge 1048576 -a "$size" -lt 8388608

# Instruction and time limits, on a guest that would run for minutes.
long=(-k "$XENTT_GUEST" -a "ticks=1000000" --device "$DEMO_DEVICE")
timeout 120 tt_record -c "${long[@]}" --max-instructions 30000000 insns >"$TMP/i.out" 2>&1 ||
  fail "tt_record --max-instructions: $(cat "$TMP/i.out")"
ended insns max-instructions
final=$(python3 -c "import json;print(json.load(open('$XENTT_STATE/insns/index.json'))['final_icount'])")
check "it holds at least 30M instructions and stopped soon after ($final)" test "$final" -ge 30000000 -a "$final" -lt 60000000
timeout 120 tt_record -c "${long[@]}" --max-time 2 timed >"$TMP/t.out" 2>&1 || fail "tt_record --max-time: $(cat "$TMP/t.out")"
ended timed max-time

# Signals to the foreground program stop the recording cleanly.
for sig in TERM INT HUP; do
  name=sig$sig
  tt_record -c "${long[@]}" "$name" >"$TMP/$name.out" 2>&1 &
  fg=$!
  for _ in $(seq 100); do grep -q "demo:" "$XENTT_STATE/$name/console.log" 2>/dev/null && break; sleep 0.1; done
  kill -"$sig" "$fg"
  st=0
  wait "$fg" || st=$?
  check "SIG$sig: tt_record -c ends with status 0 once the recording is complete (got $st)" test "$st" = 0
  check "SIG$sig: it says so" grep -q "stopping the recording of '$name'" "$TMP/$name.out"
  check "SIG$sig: no recorder goes on in the background" no_recorder "$name"
  ended "$name" stopped
done

# The escape key, at a terminal (script(1) gives tt_record a pty), detaches
# on purpose: the recording goes on until tt_record -S.
(sleep 2; printf '\035'; sleep 2) | script -qfec "tt_record -c ${long[*]} detached" /dev/null >"$TMP/d.out" 2>&1 ||
  fail "tt_record -c at a terminal: $(cat "$TMP/d.out")"
check "Ctrl-] detached" grep -q "detached; 'detached' is still recording" "$TMP/d.out"
check "the recording goes on after the detach" test -e "$XENTT_STATE/detached/INCOMPLETE"
tt_record -S detached >/dev/null || fail "tt_record -S after the detach"
ended detached stopped
check "no QEMU left behind" no_qemu_left
