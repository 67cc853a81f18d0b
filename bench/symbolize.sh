#!/usr/bin/env bash
# bench/symbolize.sh: xentt's symbolizer (tt_symbolize, bts_dump --symbols)
# against llvm-symbolizer-14 and addr2line on a Debian kernel image with
# DWARF 5, on the same addresses in the same run. Prints each figure and
# its ratio. Throughput is N / (time for N addresses - time for 1 address),
# for every tool alike, so loading is not counted twice; loading is timed
# separately (time to the first answer). Peak RSS from GNU time.
# End to end (issue 17): bts_dump --symbols of the trace-like set as a
# .bts file against llvm-symbolizer-14 on the same addresses, each from
# process start to exit (load, lookups, formatting, writing a file), and
# the load alone (one record: time to the first answer). The figures are
# also written to $XENTT_BUILD/bench/symbolize.txt.
# Env: BENCH_VMLINUX (default /usr/lib/debug/boot/vmlinux-*), BENCH_TRACE
# (1000000), BENCH_UNIFORM (100000), BENCH_BTS_RECORDS (100000000),
# BENCH_TMP (a directory with room for the .bts file and its dump),
# BENCH_OUT (where dumps are written), BENCH_REPEAT (3: end-to-end runs
# of each tool, the best counts), BENCH_PARTS (all; e2e: only the load,
# end-to-end and bts_dump lines).
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
parts=${BENCH_PARTS:-all}
results=$XENTT_BUILD/bench/symbolize.txt
mkdir -p "$XENTT_BUILD/bench"
# Everything printed goes to the results file too.
exec > >(tee "$results")
shopt -s nullglob
v=(/usr/lib/debug/boot/vmlinux-*)
vmlinux=${BENCH_VMLINUX:-${v[-1]:-}}
[ -n "$vmlinux" ] && [ -f "$vmlinux" ] || { echo "symbolize: no kernel image; run scripts/install-deps kernel-dbg (skipped)"; exit 0; }
llvm=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer)
tmp=$(mktemp -d "${BENCH_TMP:-/tmp}/xentt-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "kernel image: $vmlinux ($(du -m "$vmlinux" | cut -f1) MB), $(nproc) cores"
python3 "$XENTT_SOURCE/bench/symbolize_addrs.py" "$vmlinux" "$tmp"

# run NAME INPUT CMD...: sets secs and rss_mb for CMD < INPUT > /dev/null.
run() {
  local input=$1; shift
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" < "$input" > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  read -r secs rss_kb < "$tmp/time"
  rss_mb=$((rss_kb / 1024))
}
# rate NAME INPUT N CMD...: addresses per second, excluding the load.
rate() {
  local name=$1 input=$2 n=$3; shift 3
  run "$tmp/one.txt" "$@"; local t1=$secs
  run "$input" "$@"
  local tn=$secs
  r=$(python3 -c "print(int($n / max($tn - $t1, 0.001)))")
  peak=$rss_mb
  printf '  %-44s %10d addr/s  (%.2f s for %d, load %.2f s, peak RSS %d MB)\n' "$name" "$r" "$tn" "$n" "$t1" "$peak"
}
ratio() { python3 -c "print('%.1fx' % ($1 / max($2, 1)))"; }

ntrace=$(wc -l < "$tmp/trace.txt"); nuni=$(wc -l < "$tmp/uniform.txt")
tt=$XENTT_BIN/tt_symbolize

nrec=${BENCH_BTS_RECORDS:-100000000}
# The dumps (~8 GB for 100M records) go to BENCH_OUT, by default a
# directory in /dev/shm when it has room: on a VM disk the write speed
# (~100-200 MB/s), not bts_dump, would be measured.
outdir=${BENCH_OUT:-}
if [ -z "$outdir" ]; then
  if [ "$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')" -gt $((nrec * 100 / 1048576 + 1024)) ] 2>/dev/null; then
    outdir=$(mktemp -d /dev/shm/xentt-bench.XXXXXX)
  else
    outdir=$tmp
  fi
fi
trap 'rm -rf "$tmp"; [ "$outdir" != "$tmp" ] && rm -rf "$outdir"' EXIT

# wall OUT INPUT CMD...: sets secs to the best of BENCH_REPEAT runs of
# CMD < INPUT > OUT (wall clock, process start to exit, in microseconds'
# resolution) and out_mb to the size of OUT.
wall() {
  local out=$1 input=$2; shift 2
  secs=$(python3 - "$out" "$input" "${BENCH_REPEAT:-3}" "$@" <<'PY'
import subprocess, sys, time
out, inp, n, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
best = None
for _ in range(max(n, 1)):
    with open(inp, 'rb') as i, open(out, 'wb') as o:
        t = time.perf_counter()
        r = subprocess.run(cmd, stdin=i, stdout=o, stderr=subprocess.PIPE)
        t = time.perf_counter() - t
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors='replace'))
        sys.exit(1)
    best = t if best is None else min(best, t)
print('%.4f' % best)
PY
) || return 1
  out_mb=$(( $(stat -c %s "$out") / 1048576 ))
}

# End to end: everything a user waits for, load included, into a file.
"$XENTT_BUILD/bench/bts_gen" "$tmp/trace.txt" "$ntrace" "$tmp/trace.bts"
"$XENTT_BUILD/bench/bts_gen" "$tmp/trace.txt" 1 "$tmp/one.bts"
echo "end to end: process start to exit (load, lookups, formatting, writing a file in $outdir), best of ${BENCH_REPEAT:-3}"
wall "$outdir/e2e.out" /dev/null "$XENTT_BIN/bts_dump" --symbols -e "$vmlinux" "$tmp/one.bts"; e2e_load=$secs
printf '  load alone: bts_dump --symbols, one record    %8.3f s (target <= 0.1 s)\n' "$e2e_load"
wall "$outdir/e2e.out" /dev/null "$XENTT_BIN/bts_dump" --symbols -e "$vmlinux" "$tmp/trace.bts"; e2e_ours=$secs
printf '  bts_dump --symbols, %d records (trace-like)  %8.3f s  (%d MB out)\n' "$ntrace" "$e2e_ours" "$out_mb"
wall "$outdir/e2e.out" "$tmp/one.txt" "$llvm" --obj="$vmlinux" --no-inlines; e2e_llvm_load=$secs
wall "$outdir/e2e.out" "$tmp/trace.txt" "$llvm" --obj="$vmlinux" --no-inlines; e2e_llvm=$secs
printf '  llvm-symbolizer-14 --no-inlines, the same %d addresses  %8.3f s  (%d MB out; load alone %.3f s)\n' \
  "$ntrace" "$e2e_llvm" "$out_mb" "$e2e_llvm_load"
rm -f "$outdir/e2e.out"
echo "  ratio end to end: $(python3 -c "print('%.1fx' % ($e2e_llvm / max($e2e_ours, 0.0001)))") (target >= 50x)"
# llvm-symbolizer's rate without its load, for the 100M-record line.
llvm_rate=$(python3 -c "print(int($ntrace / max($e2e_llvm - $e2e_llvm_load, 0.001)))")

if [ "$parts" = all ]; then
echo "load: time to the first answer (one address, process start to exit)"
for opt in "" "--inlines"; do
  run "$tmp/one.txt" "$tt" -e "$vmlinux" $opt
  printf '  tt_symbolize %-10s %.2f s (target <= 0.5 s), RSS %d MB\n' "${opt:-(symbols)}" "$secs" "$rss_mb"
done
run "$tmp/one.txt" "$llvm" --obj="$vmlinux" --inlines
printf '  llvm-symbolizer-14 --inlines %.2f s, RSS %d MB\n' "$secs" "$rss_mb"

echo "trace-like: $ntrace addresses, 2000 hot functions, Zipf 1.1"
rate "tt_symbolize (symbol+offset)" "$tmp/trace.txt" "$ntrace" "$tt" -e "$vmlinux"; ours_sym=$r
rate "tt_symbolize --lines" "$tmp/trace.txt" "$ntrace" "$tt" -e "$vmlinux" --lines
rate "tt_symbolize --inlines" "$tmp/trace.txt" "$ntrace" "$tt" -e "$vmlinux" --inlines; ours_inl=$r; ours_inl_rss=$peak
rate "llvm-symbolizer-14 --no-inlines" "$tmp/trace.txt" "$ntrace" "$llvm" --obj="$vmlinux" --no-inlines; llvm_sym=$r
rate "llvm-symbolizer-14 --inlines" "$tmp/trace.txt" "$ntrace" "$llvm" --obj="$vmlinux" --inlines; llvm_inl=$r; llvm_inl_rss=$peak
rate "addr2line -f" "$tmp/trace.txt" "$ntrace" addr2line -f -e "$vmlinux"; gnu=$r
echo "  ratio symbol+offset vs llvm --no-inlines:   $(ratio "$ours_sym" "$llvm_sym") (target >= 30x)"
echo "  ratio --inlines vs llvm --inlines:          $(ratio "$ours_inl" "$llvm_inl") (target >= 10x)"
echo "  peak RSS --inlines: ours $ours_inl_rss MB, llvm $llvm_inl_rss MB (target <= half: $(python3 -c "print('%.2f' % ($ours_inl_rss / max($llvm_inl_rss, 1)))"))"
echo "  ratio symbol+offset vs addr2line -f:        $(ratio "$ours_sym" "$gnu")"

echo "uniform: $nuni addresses over all functions"
rate "tt_symbolize (symbol+offset)" "$tmp/uniform.txt" "$nuni" "$tt" -e "$vmlinux"; u_sym=$r
rate "tt_symbolize --inlines" "$tmp/uniform.txt" "$nuni" "$tt" -e "$vmlinux" --inlines; u_inl=$r
rate "llvm-symbolizer-14 --inlines" "$tmp/uniform.txt" "$nuni" "$llvm" --obj="$vmlinux" --inlines; u_llvm=$r
echo "  ratio --inlines vs llvm --inlines:          $(ratio "$u_inl" "$u_llvm")"

fi  # parts = all

echo "bts_dump --symbols: $nrec-record extended .bts (trace-like addresses), output to a file in $outdir"
"$XENTT_BUILD/bench/bts_gen" "$tmp/trace.txt" "$nrec" "$tmp/big.bts"
for opt in "" "--symbols"; do
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$XENTT_BIN/bts_dump" $opt -e "$vmlinux" "$tmp/big.bts" > "$outdir/big.out"
  read -r secs rss_kb < "$tmp/time"
  printf '  bts_dump %-10s %10d records/s  (%.1f s, %d MB out, peak RSS %d MB)\n' "${opt:-(raw)}" \
    "$(python3 -c "print(int($nrec / max($secs, 0.001)))")" "$secs" "$(( $(stat -c %s "$outdir/big.out") / 1048576 ))" "$((rss_kb / 1024))"
  rm -f "$outdir/big.out"
done
ours_big=$secs
# llvm-symbolizer on 100M addresses would take hours: its time is
# extrapolated from the end-to-end run above (its load, then its rate).
llvm_big=$(python3 -c "print('%.0f' % ($e2e_llvm_load + $nrec / $llvm_rate))")
printf '  llvm-symbolizer-14 --no-inlines %10d addr/s  (extrapolated from its %d-address run, not run: ~%s s for %d)\n' \
  "$llvm_rate" "$ntrace" "$llvm_big" "$nrec"
echo "  ratio $nrec records vs llvm (extrapolated): $(python3 -c "print('%.1fx' % ($llvm_big / max($ours_big, 0.001)))")"
echo "  (target: bts_dump --symbols >= 10M records/s)"
echo "figures written to $results"
