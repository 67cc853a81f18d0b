#!/usr/bin/env bash
# bench/symbolize.sh: xentt's symbolizer (tt_symbolize, bts_dump --symbols)
# against llvm-symbolizer-14 and addr2line on a Debian kernel image with
# DWARF 5, on the same addresses in the same run. Prints each figure and
# its ratio. Throughput is N / (time for N addresses - time for 1 address),
# for every tool alike, so loading is not counted twice; loading is timed
# separately (time to the first answer). Peak RSS from GNU time.
# Env: BENCH_VMLINUX (default /usr/lib/debug/boot/vmlinux-*), BENCH_TRACE
# (1000000), BENCH_UNIFORM (100000), BENCH_BTS_RECORDS (100000000),
# BENCH_TMP (a directory with room for the .bts file and its dump).
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
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

nrec=${BENCH_BTS_RECORDS:-100000000}
# The dump (~8 GB for 100M records) goes to BENCH_OUT, by default a file in
# /dev/shm when it has room: on a VM disk the write speed (~100-200 MB/s),
# not bts_dump, would be measured.
outdir=${BENCH_OUT:-}
if [ -z "$outdir" ]; then
  if [ "$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')" -gt $((nrec * 100 / 1048576 + 1024)) ] 2>/dev/null; then
    outdir=$(mktemp -d /dev/shm/xentt-bench.XXXXXX)
  else
    outdir=$tmp
  fi
fi
trap 'rm -rf "$tmp"; [ "$outdir" != "$tmp" ] && rm -rf "$outdir"' EXIT
echo "bts_dump --symbols: $nrec-record extended .bts (trace-like addresses), output to a file in $outdir"
"$XENTT_BUILD/bench/bts_gen" "$tmp/trace.txt" "$nrec" "$tmp/big.bts"
for opt in "" "--symbols"; do
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$XENTT_BIN/bts_dump" $opt -e "$vmlinux" "$tmp/big.bts" > "$outdir/big.out"
  read -r secs rss_kb < "$tmp/time"
  printf '  bts_dump %-10s %10d records/s  (%.1f s, %d MB out, peak RSS %d MB)\n' "${opt:-(raw)}" \
    "$(python3 -c "print(int($nrec / max($secs, 0.001)))")" "$secs" "$(( $(stat -c %s "$outdir/big.out") / 1048576 ))" "$((rss_kb / 1024))"
  rm -f "$outdir/big.out"
done
echo "  (target: bts_dump --symbols >= 5M records/s)"
