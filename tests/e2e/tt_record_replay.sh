# Record the demo guest; three replays give byte-identical console output and
# the same final instruction count; --verify passes. A log damaged after
# recording is refused by every tool, naming the damaged bytes; one without
# checksums fails --verify with coordinates, and never hangs.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
out=$(cat "$TMP/demo.record.out")
check "tt_record -c streamed the console" grep -qx 'demo: PASS' <<<"$(tr -d '\r' <<<"$out")"
check "recording is complete" test ! -e "$XENTT_STATE/demo/INCOMPLETE"
check "recording.json says the guest exited with 33" grep -q '"exit_status": 33' "$XENTT_STATE/demo/recording.json"
check "control sockets and state are private (0700)" test "$(stat -c %a "$XENTT_STATE/demo")" = 700

finals=()
for i in 1 2 3; do
  tt_replay --json demo >"$TMP/replay$i.json" || fail "replay $i: $(cat "$TMP/replay$i.json")"
  finals+=("$(python3 -c "import json;d=json.load(open('$TMP/replay$i.json'));print(d['final_icount'],d['match'],d['console_bytes'])")")
done
echo "replays: ${finals[*]}"
check "three replays end at the same icount, matching the recording" \
  test "${finals[0]}" = "${finals[1]}" -a "${finals[1]}" = "${finals[2]}" -a "${finals[0]##* True*}" = ""
check "the final icount is real (over 100M instructions)" test "${finals[0]%% *}" -gt 100000000
bytes=$(stat -c %s "$XENTT_STATE/demo/console.log")
check "the replayed console has the recording's $bytes bytes" test "${finals[0]##* }" = "$bytes"

tt_replay --verify demo >"$TMP/verify.out" || fail "verify of an intact recording failed: $(cat "$TMP/verify.out")"
cat "$TMP/verify.out"

check "the log's checksums are written, private like the log" test "$(stat -c %a "$XENTT_STATE/demo/recording/replay.sums")" = 600

# tamper NAME OFFSET: a copy of the state named NAME with 16 bytes of its log
# flipped at OFFSET.
tamper() {
  cp -a "$XENTT_STATE/demo" "$XENTT_STATE/$1"
  # (config.json stays as recorded: it is checksummed like the rest; its "name"
  # need not match the directory.)
  python3 - "$XENTT_STATE/$1/recording/replay.bin" "$2" <<'PY'
import sys
p, at = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, 'rb').read())
for i in range(at, at + 16): b[i] ^= 0x5a
open(p, 'wb').write(b)
PY
}

# Damage after recording is caught by the checksums before QEMU runs: the
# first damaged 4 KiB block is named, in one line. The log is 13 KB, so its
# middle is in block 1 or 2, which the test computes from the log's size.
log_bytes=$(stat -c %s "$XENTT_STATE/demo/recording/replay.bin")
mid=$((log_bytes / 2))
block=$((mid / 4096 * 4096))
tamper bad $mid
range="bytes $block-$((block + 4095)) differ"
# One exit-status contract (xentt(7)): a recording refused before it replays
# is bad input, 2, in --verify as in every other mode.
expect_exit 2 "bad/recording/replay.bin is damaged: $range" tt_replay --verify bad
expect_exit 2 "bad/recording/replay.bin is damaged: $range" tt_replay bad
expect_exit 2 "bad/recording/replay.bin is damaged: $range" trace_task -o "$TMP/bad.bts" "$XENTT_STATE/bad" idt_init demo_finish
head -c $((log_bytes - 100)) "$XENTT_STATE/demo/recording/replay.bin" >"$XENTT_STATE/bad/recording/replay.bin"
expect_exit 2 "is cut short: $((log_bytes - 100)) bytes of the $log_bytes recorded" tt_replay bad
check "the damaged recordings are left as they were" test -e "$XENTT_STATE/bad/recording/replay.sums" -a -e "$XENTT_STATE/bad/config.json"

# A recording without checksums (made before they existed) is replayed, and a
# damaged one must still end, with the divergence's coordinates (icount or
# console byte). Measured on this guest: of 41 places to flip, 36 print a
# wrong console, 2 run on past the end and 3 wedge QEMU with the icount
# frozen, which the engine reports after 30 s; the places differ from
# recording to recording, so the test flips at 6 of them and requires each
# to end with a failure within the ctest timeout.
for at in $((log_bytes / 7)) $((log_bytes / 3)) $mid $((log_bytes * 3 / 5)) $((log_bytes * 3 / 4)) $((log_bytes * 5 / 6)); do
  tamper "old$at" "$at"
  rm "$XENTT_STATE/old$at/recording/replay.sums"
  status=0
  started=$SECONDS
  tt_replay --verify "old$at" >"$TMP/old.out" 2>"$TMP/old.err" || status=$?
  echo "flipped at byte $at: exit $status after $((SECONDS - started)) s: $(cat "$TMP/old.err")"
  check "verify of an unchecked damaged recording fails with status 1 (got $status)" test "$status" -eq 1
  check "it names where the replay diverged (icount or console byte)" grep -qE 'icount [0-9]+|byte [0-9]+' "$TMP/old.err"
  check "in one line" test "$(wc -l <"$TMP/old.err")" = 1
done
rm -rf "$XENTT_STATE/old"*
tt_replay --verify demo >/dev/null || fail "the intact recording no longer verifies after its copies were replayed"

check "no QEMU left behind" no_qemu_left
