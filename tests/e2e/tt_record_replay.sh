# Record the demo guest; three replays give byte-identical console output and
# the same final instruction count; --verify passes, and fails with
# coordinates when the recording file is tampered with.
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

# Tamper with the recording: a copy of the state with bytes flipped mid-log.
cp -a "$XENTT_STATE/demo" "$XENTT_STATE/bad"
sed -i 's/"name": "demo"/"name": "bad"/' "$XENTT_STATE/bad/config.json"
python3 - "$XENTT_STATE/bad/recording/replay.bin" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
mid = len(b) // 2
for i in range(mid, mid + 16): b[i] ^= 0x5a
open(p, 'wb').write(b)
PY
status=0
tt_replay --verify bad >"$TMP/bad.out" 2>"$TMP/bad.err" || status=$?
cat "$TMP/bad.err"
check "verify of a tampered recording fails with status 1 (got $status)" test "$status" -eq 1
check "the divergence names its coordinates (icount or console byte)" grep -qE 'icount [0-9]+|byte [0-9]+' "$TMP/bad.err"

check "no QEMU left behind" no_qemu_left
