# Record and replay cost of engine qemu, as ratios to a plain QEMU run of the
# same guest, and the cost of stopping at locations spread over a recording
# versus replaying all of it. Figures only; nothing here passes or fails.
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"
bench_workspace bench

ticks=${BENCH_TICKS:-1000}
args="ticks=$ticks work=8192 seed=1"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }

plain() { # extra qemu args...
  qemu-system-x86_64 -nodefaults -display none -accel tcg -m 64 -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$XENTT_GUEST" -append "$args" \
    -serial "file:$work/plain.txt" "$@" || true
}

t0=$(now); plain -icount shift=0; t1=$(now)
plain_icount=$(secs "$t0" "$t1")
t0=$(now); plain; t1=$(now)
plain_free=$(secs "$t0" "$t1")

t0=$(now)
tt_record -c -k "$XENTT_GUEST" -a "$args" --device isa-debug-exit,iobase=0xf4,iosize=4 bench >/dev/null 2>&1
t1=$(now)
record=$(secs "$t0" "$t1")

t0=$(now); tt_replay -q --index bench >"$work/index.txt"; t1=$(now)
index=$(secs "$t0" "$t1")
final=$(sed -nE 's/.*ends at icount ([0-9]+).*/\1/p' "$work/index.txt")

t0=$(now); tt_replay -q bench >/dev/null; t1=$(now)
replay=$(secs "$t0" "$t1")

echo "guest: demo, $args, $final instructions"
echo "plain QEMU, -icount shift=0:          ${plain_icount} s"
echo "plain QEMU, no icount (TCG):          ${plain_free} s (not the same work: real-time ticks)"
echo "tt_record -c:                         ${record} s  ratio to plain icount run: $(ratio "$record" "$plain_icount")"
echo "first replay (index + checkpoints):   ${index} s  ratio: $(ratio "$index" "$plain_icount")"
echo "tt_replay to the end (verified):      ${replay} s  ratio: $(ratio "$replay" "$plain_icount")"

# Stops at 10%, 20%, ... 90% of the recording, each a fresh tt_replay --until
# (process start, snapshot copy, seek to the nearest checkpoint, run forward).
total=0
for pct in 10 20 30 40 50 60 70 80 90; do
  target=$((final * pct / 100))
  t0=$(now)
  tt_replay -q --until "icount=$target" bench >/dev/null
  t1=$(now)
  tt_replay -K bench >/dev/null
  s=$(secs "$t0" "$t1")
  total=$(python3 -c "print($total + $s)")
  echo "stop at ${pct}% (icount $target):    ${s} s  ratio to a full replay: $(ratio "$s" "$replay")"
done
echo "mean stop: $(python3 -c "print(f'{$total / 9:.3f}')") s, full replay ${replay} s: $(ratio "$(python3 -c "print($total / 9)")" "$replay") of a full replay"
