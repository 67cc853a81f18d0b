#!/usr/bin/env bash
# bench/export.sh: the rate of each bts_dump export (docs/exports.md) on a
# real trace of the demo guest (trace_task idt_init..demo_finish), beside
# the plain and --symbols print of the same file in the same run, records/s
# (fastest of BENCH_REPEATS runs, output to /dev/null, page cache warm).
# Exports decode the guest's code between records and rebuild stacks, so
# they are not expected to reach the plain print's rate.
# Env: BENCH_TICKS (demo guest ticks, 200: ~25M records), BENCH_REPEATS (3).
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_BUILD:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"
bench_workspace

bench_record_demo demo "ticks=${BENCH_TICKS:-200} work=4096 seed=3"
trace_task -q -o "$work/win.bts" "$XENTT_STATE/demo" idt_init demo_finish
n=$(( $(stat -c %s "$work/win.bts") / 24 - 1 ))
echo "trace: $n records ($(( $(stat -c %s "$work/win.bts") / 1048576 )) MB .bts), demo guest"

# rate NAME ARGS...: records/s of bts_dump ARGS on the trace, best of $repeats.
rate() {
  local name=$1 best=
  shift
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f '%e %M' -o "$work/time" bts_dump "$@" -e "$XENTT_GUEST" "$work/win.bts" >/dev/null 2>"$work/err" ||
      { cat "$work/err"; return 1; }
    read -r secs rss_kb <"$work/time"
    best=$(python3 -c "print(min(float('$secs'), float('${best:-inf}')))")
  done
  printf '  %-34s %10d records/s  (%.2f s, peak RSS %d MB)\n' "$name" \
    "$(python3 -c "print(int($n / max($best, 0.001)))")" "$best" "$((rss_kb / 1024))"
}
rate "bts_dump (raw)"
rate "bts_dump --symbols" --symbols
for f in folded perf drcov perfetto perfetto-proto; do rate "bts_dump --format $f" --format "$f"; done
rate "bts_dump --format folded --weight branches" --format folded --weight branches
