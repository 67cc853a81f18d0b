# kill -9 of the recorder at a random moment: the state is flagged
# incomplete, no QEMU survives, tt_replay says "terminated abnormally" and
# tt_record -D cleans it. Also: two replays of one recording run at once,
# bad names and unknown VMs are refused with status 2, an old QEMU is refused.
source "$(dirname "$0")/lib/common.bash"

# A long recording, killed while it runs.
tt_record -k "$XENTT_GUEST" -a "ticks=100000" --device "$DEMO_DEVICE" crash >"$TMP/crash.out"
cat "$TMP/crash.out"
pid=$(python3 -c "import json;print(json.load(open('$XENTT_STATE/crash/INCOMPLETE'))['pid'])")
check "the recorder runs in the background (pid $pid)" kill -0 "$pid"
sleep "0.$((RANDOM % 9 + 1))"
kill -9 "$pid"
check "no QEMU survives the recorder" no_qemu_left
status=0
tt_replay crash 2>"$TMP/replay.err" || status=$?
cat "$TMP/replay.err"
check "replaying it is refused as bad input (status $status)" test "$status" -eq 2
check "the refusal says the recording terminated abnormally" grep -q 'terminated abnormally' "$TMP/replay.err"
tt_record -D crash
check "tt_record -D cleaned the state" test ! -e "$XENTT_STATE/crash"

# -S stops a background recording cleanly; the result replays.
tt_record -k "$XENTT_GUEST" -a "ticks=100000" --device "$DEMO_DEVICE" --checkpoint-every 0 stopme >/dev/null
sleep 1
tt_record -S stopme
check "a stopped recording is complete" test ! -e "$XENTT_STATE/stopme/INCOMPLETE"
check "it ended by a stop" grep -q '"ended_by": "stopped"' "$XENTT_STATE/stopme/recording.json"
tt_replay --verify stopme || fail "a stopped recording does not verify"

# Two replays of one recording at once.
record_demo demo
tt_replay --verify -q demo >"$TMP/v1.out" 2>&1 &
v1=$!
tt_replay --verify -q demo >"$TMP/v2.out" 2>&1 &
v2=$!
s1=0 s2=0
wait $v1 || s1=$?
wait $v2 || s2=$?
cat "$TMP/v1.out" "$TMP/v2.out"
check "two simultaneous replays both verify ($s1, $s2)" test "$s1" -eq 0 -a "$s2" -eq 0

# Bad input: one line, status 2.
for bad in "../x" ".hidden" "a b" ""; do
  status=0
  tt_record -k "$XENTT_GUEST" "$bad" 2>"$TMP/bad.err" || status=$?
  check "VM name '$bad' refused with status 2 ($status): $(cat "$TMP/bad.err")" test "$status" -eq 2
done
status=0
tt_replay nosuchvm 2>"$TMP/nosuch.err" || status=$?
check "an unknown VM is refused with status 2: $(cat "$TMP/nosuch.err")" test "$status" -eq 2
status=0
tt_record -k /nonexistent/kernel newvm 2>"$TMP/nokernel.err" || status=$?
check "a missing kernel is refused with status 2: $(cat "$TMP/nokernel.err")" test "$status" -eq 2
check "and leaves no state behind" test ! -e "$XENTT_STATE/newvm"
status=0
tt_record -k "$XENTT_GUEST" demo 2>"$TMP/exists.err" || status=$?
check "recording over an existing VM needs -f: $(cat "$TMP/exists.err")" test "$status" -eq 2

# An old QEMU is refused, naming the version it found.
printf '#!/bin/sh\necho "QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-7)"\n' >"$TMP/oldqemu"
chmod +x "$TMP/oldqemu"
status=0
XENTT_QEMU="$TMP/oldqemu" tt_record -k "$XENTT_GUEST" oldq 2>"$TMP/old.err" || status=$?
cat "$TMP/old.err"
check "QEMU 7.2 is refused with status 2 naming the version" test "$status" -eq 2
check "the message names 7.2.0 and the 10.0 minimum" grep -q '7.2.0.*10.0' "$TMP/old.err"
check "no QEMU left behind" no_qemu_left
