# Shared helpers for the benchmarks (sourced by bench/*.sh, never run).

# best CMD...: seconds of the fastest of 5 runs (page cache warm), stdout
# discarded.
best() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    ts.append(time.perf_counter() - t)
print("%.6f" % min(ts))
PY
}

# bench_workspace [VM]: a scratch directory $work holding the state
# directory ($XENTT_STATE), removed at exit (after ending VM's replays when
# VM is named); our programs first on PATH; $repeats (BENCH_REPEATS, 3); and
# a line with the cores and the load, which the figures are quoted with.
bench_workspace() {
  export PATH="$XENTT_BIN:$PATH"
  work=$(mktemp -d "${TMPDIR:-/tmp}/xentt-bench.XXXXXX")
  export XENTT_STATE=$work/state
  if [ -n "${1:-}" ]; then
    trap "tt_replay -K $1 >/dev/null 2>&1 || true; rm -rf '$work'" EXIT
  else
    trap "rm -rf '$work'" EXIT
  fi
  repeats=${BENCH_REPEATS:-3}
  echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_record_demo NAME GUEST-ARGS: records the demo guest (its exit
# device included) as NAME; the recorder's output goes to $work/NAME.record
# and is shown when the recording fails.
bench_record_demo() {
  tt_record -c -k "$XENTT_GUEST" -a "$2" --device isa-debug-exit,iobase=0xf4,iosize=4 "$1" >"$work/$1.record" 2>&1 ||
    { cat "$work/$1.record"; return 1; }
}
