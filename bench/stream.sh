#!/usr/bin/env bash
# bench/stream.sh: what streaming a trace log costs (docs/trace-stream.md),
# in the same run on the same demo recording: trace_task of a window with
# --stream to a running xentt_savelog against trace_task writing its log
# alone (the ratio is the producer's overhead), and the time of a
# bts_extract --send of the saved log.
# Fastest of BENCH_REPEATS runs. Env: BENCH_TICKS (demo ticks, 200).
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_BUILD:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"
bench_workspace
bench_record_demo demo "ticks=${BENCH_TICKS:-200} work=4096 seed=3"
tt_replay -q --index demo >/dev/null  # built before either timing
mkdir "$work/saved"
xentt_savelog -q "unix:$work/save.sock" -o "$work/saved" 2>"$work/savelog.err" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -S "$work/save.sock" ] && break; sleep 0.1; done

# secs CMD...: wall seconds of the fastest of $repeats runs.
secs() {
  local best=
  for _ in $(seq "$repeats"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; return 1; }
    t1=$(date +%s.%N)
    best=$(python3 -c "print(min($t1 - $t0, float('${best:-inf}')))")
  done
  echo "$best"
}
plain=$(secs trace_task -q -o "$work/a.bts" "$XENTT_STATE/demo" idt_init demo_finish)
streamed=$(secs trace_task -q -o "$work/b.bts" --stream "unix:$work/save.sock" "$XENTT_STATE/demo" idt_init demo_finish)
log=$work/b.xtl
mb=$(python3 -c "print($(stat -c %s "$log") / 1048576)")
echo "window idt_init..demo_finish: $(( $(stat -c %s "$work/a.bts") / 24 - 1 )) records, log $(printf '%.1f' "$mb") MB"
printf '  trace_task alone            %8.3f s\n' "$plain"
printf '  trace_task --stream         %8.3f s   (%.2fx the time alone)\n' "$streamed" \
  "$(python3 -c "print($streamed / $plain)")"

# The saved log sent again (handshake, frames checked on both ends, saved,
# fsynced and read back by the server, receipt): mostly fixed cost, as the
# demo's log is small; no plain copy beside it, whose tool start-up would
# be all that is measured.
send=$(secs bts_extract --send "unix:$work/save.sock" "$log")
printf '  bts_extract --send          %8.3f s   (the whole exchange for a %.1f MB log)\n' "$send" "$mb"
