#!/usr/bin/env bash
# bench/trace_log.sh: the trace log on synthetic guest-like traces
# (tests/e2e/tools/synthetic_trace.h; no QEMU). Prints
#  - bytes per branch of each encoding (raw 32-byte records + zstd, delta
#    streams alone, delta + zstd) and their encode/decode rates;
#  - bts_extract's decode rate over a whole log (records/s, target >= 50M/s);
#  - the time bts_extract takes to reach one brctr in a ~1 GB log against a
#    full scan of it, as a ratio (target: milliseconds, not a scan).
# Env: BENCH_RLOG_RECORDS (measure, 20000000), BENCH_RLOG_DECODE (decode
# rate, 100000000), BENCH_RLOG_MB (seek log size, 1024), BENCH_TMP (/dev/shm).
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
gen=$XENTT_BUILD/tests/xtl_gen
tmp=$(mktemp -d "${BENCH_TMP:-/dev/shm}/xentt-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "$(nproc) cores"

echo "encodings (same records, 65536 per frame):"
"$gen" --measure --records "${BENCH_RLOG_RECORDS:-20000000}" | sed 's/^/  /'

source "$XENTT_SOURCE/bench/lib.bash"  # best

n=${BENCH_RLOG_DECODE:-100000000}
"$gen" --records "$n" "$tmp/d.log"
t=$(best "$XENTT_BIN/bts_extract" -x -o /dev/null "$tmp/d.log")
size=$(stat -c %s "$tmp/d.log")
python3 -c "print('bts_extract -x, whole log of %d records (%.1f MB, %.3f bytes/branch): %.2f s, %.0f M records/s (target >= 50M/s)' % ($n, $size / 1e6, $size / $n, $t, $n / $t / 1e6))"
rm -f "$tmp/d.log"

# ~1 GB: uncompressed delta frames (4.4 bytes/branch) keep the generation
# short; seeking costs the same whatever a frame's encoding.
mb=${BENCH_RLOG_MB:-1024}
records=$((mb * 1024 * 1024 * 10 / 44))
"$gen" --encoding delta --records "$records" "$tmp/big.log"
size=$(stat -c %s "$tmp/big.log")
mid=$((records / 2 + 12345))
seek=$(best "$XENTT_BIN/bts_extract" -x -S "$mid" -E "$mid" -o /dev/null "$tmp/big.log")
empty=$(best "$XENTT_BIN/bts_extract" --help)
scan=$(best "$XENTT_BIN/bts_extract" -x -o /dev/null "$tmp/big.log")
python3 -c "
size, seek, scan, empty = $size, $seek, $scan, $empty
print('seek in a %.0f MB log (%d records): one brctr %.1f ms (process start alone %.1f ms), full scan %.2f s: %.0fx faster' % (size / 1e6, $records, seek * 1e3, empty * 1e3, scan, scan / seek))"
