# The replay index's end is the same from build to build, wherever the
# checkpoints fall. A replay-break a few instructions past the end of the
# log can still succeed (QEMU 10.0.2: the vCPU runs on 1 to 11 instructions
# before it parks), so a checkpoint interval that put the last checkpoint
# just past the end made the index build save a snapshot beyond the
# recording. Seen before the fix: ends found up to 10 instructions past the
# real one, differing from build to build (CI: e2e.recording_integrity,
# whose disk makes the recording's length vary, rebuilt an index that ended
# at its last checkpoint), verify failures, and a build that stood "stuck"
# for 30 s at the count where the vCPU parked.
#
# The demo guest without a disk records with icount sleep=off, the same
# instruction for instruction every time: its end F is measured once, then
# the same run is recorded with checkpoints every F+d instructions, d a few
# past the end, and each index is built twice from nothing.
source "$(dirname "$0")/lib/common.bash"

args="ticks=60 seed=4"
rec() { # NAME INTERVAL
  tt_record -c -k "$XENTT_GUEST" -a "$args" --device "$DEMO_DEVICE" --checkpoint-every "$2" "$1" \
    </dev/null >"$TMP/$1.rec" 2>&1 || fail "tt_record $1: $(cat "$TMP/$1.rec")"
}
final_of() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['final_icount'])" "$XENTT_STATE/$1/index.json"; }

rec ref 20000000
tt_replay -q --verify ref >"$TMP/ref.out" 2>&1 || fail "the reference recording does not verify: $(cat "$TMP/ref.out")"
F=$(final_of ref)
echo "the recording ends at icount $F"

for d in 1 4 8; do
  rec "past$d" $((F + d))
  for build in 1 2; do
    rm -f "$XENTT_STATE/past$d/index.json"
    tt_replay --verify "past$d" >"$TMP/v.out" 2>&1 ||
      fail "checkpoint $d past the end, build $build: verify failed: $(tr '\r' '\n' <"$TMP/v.out" | tail -1)"
    got=$(final_of "past$d")
    check "checkpoint $d past the end, build $build: the index ends at icount $F (found $got)" test "$got" = "$F"
    check "checkpoint $d past the end, build $build: it lists no checkpoint past the end" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if all(c <= j['final_icount'] for c in j['checkpoints']) else 1)" "$XENTT_STATE/past$d/index.json"
  done
  # The checkpoint store keeps no snapshot past the end either (QEMU's own
  # seek picks from the store, not from the index).
  snaps=$(qemu-img snapshot -l "$XENTT_STATE/past$d/recording/snapshots.qcow2")
  check "checkpoint $d past the end: the checkpoint store holds no snapshot xentt-$((F + d))" \
    bash -c "! grep -q 'xentt-$((F + d))' <<<'$snaps'"
  # And a replay stops exactly at the end, and one past it is refused.
  tt_replay -p --json --until "icount=$F" "past$d" >"$TMP/u.json" 2>"$TMP/u.err" ||
    fail "--until icount=$F: $(cat "$TMP/u.err")"
  check "checkpoint $d past the end: tt_replay --until icount=$F pauses there" \
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["icount"] != int(sys.argv[2]))' "$TMP/u.json" "$F"
  tt_replay -K "past$d" >/dev/null
  expect_exit 2 "beyond the end of the recording" tt_replay -p --until "icount=$((F + 1))" "past$d"
done
no_qemu_left || fail "a QEMU was left behind"
