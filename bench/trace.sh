#!/usr/bin/env bash
# bench/trace.sh: the cost of branch tracing in replay and the size of its
# log, on the demo guest and on a Linux boot, against the untraced replay of
# the same recording and window in the same run (bench/trace_bench.cc):
#  - plain QEMU replay (no plugin), our plugin counting only, traced
#    (every taken branch recorded, compressed, written); ratios;
#  - stored bytes per branch (raw .bts: 24; raw .bts through zstd -3 as the
#    everyday alternative, measured on the same records);
#  - bts_extract's decode rate on the real log (records/s).
# Env: BENCH_TICKS (demo guest ticks, 200), BENCH_REPEATS (3),
#      BENCH_LINUX=0 skips the Linux boot; BENCH_LINUX_WINDOW ("0 500000000":
#      the icount window traced: early boot, calibration loops, idle waits).
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_BUILD:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"  # best, bench_workspace
bench_workspace

# report NAME STATEDIR [START END]: trace_bench, then the log's figures.
report() {
  local name=$1 dir=$2 log=$work/$1.xtl
  shift 2
  "$XENTT_BUILD/bench/trace_bench" "$dir" "$log" "$repeats" "$@" >"$work/$name.fig"
  bts_extract -x -o "$work/$name.bts" "$log"
  local zsize extract
  zsize=$(zstd -3 -T1 -c "$work/$name.bts" | wc -c)
  extract=$(best bts_extract -x -o /dev/null "$log")
  python3 - "$work/$name.fig" "$name" "$zsize" "$extract" <<'PY'
import sys
f = {}
for line in open(sys.argv[1]):
    k, *v = line.split()
    f[k] = [float(x) for x in v]
name, zsize, extract = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
n, size = f["records"][0], f["log_bytes"][0]
a, b = f["window_icount"]
print(f"{name}: icount {a:.0f}..{b:.0f} ({(b - a) / 1e6:.0f}M instructions), {n:.0f} branches")
p, c, t = f["plain_best"][0], f["counting_best"][0], f["traced_best"][0]
print(f"  plain QEMU replay (no plugin):  {p:8.3f} s (median {f['plain_median'][0]:.3f})")
print(f"  our plugin, counting only:      {c:8.3f} s (median {f['counting_median'][0]:.3f})  ratio to plain {c / p:.2f}x")
print(f"  traced (records written):       {t:8.3f} s (median {f['traced_median'][0]:.3f})  ratio to plain {t / p:.2f}x"
      f" (target <= 1.5x), {(t - p) / n * 1e9:.1f} ns per branch over plain")
print(f"  trace log: {size / n:.3f} bytes/branch (target <= 2; raw .bts 24, raw .bts | zstd -3 {zsize / n:.3f})")
print(f"  bts_extract -x, whole log: {extract:.3f} s, {n / extract / 1e6:.0f}M records/s (target >= 50M/s)")
PY
}

ticks=${BENCH_TICKS:-200}
bench_record_demo demo "ticks=$ticks work=8192 seed=1"
tt_replay -q --index demo >/dev/null
report demo "$XENTT_STATE/demo"

if [ "${BENCH_LINUX:-1}" = 0 ]; then echo "linux: skipped (BENCH_LINUX=0)"; exit 0; fi
# A real Linux boot (scripts/kernel-image: the Debian cloud kernel, no root
# disk, panics after about 1.5G instructions).
images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$work/kimg.err") ||
  { echo "linux: skipped: $(cat "$work/kimg.err")"; exit 0; }
read -r bz vmlinux <<<"$images"
tt_record -c -M 256 -k "$bz" -a "console=ttyS0 panic=-1 nokaslr" --symfile "$vmlinux" linux >/dev/null 2>&1
tt_replay -q --index linux >/dev/null
# shellcheck disable=SC2086
report linux "$XENTT_STATE/linux" ${BENCH_LINUX_WINDOW:-0 500000000}
