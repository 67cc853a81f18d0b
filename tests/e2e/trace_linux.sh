# Branch tracing on a real Linux boot (scripts/kernel-image: the Debian
# cloud kernel with its DWARF, no root disk, panics after ~1.5G
# instructions): early boot page-faults under rep movs, takes interrupts and
# exceptions through real IDTs, runs thousands of functions. The trace of
# x86_64_start_kernel -> start_kernel and of start_kernel -> rest_init
# equals the one-instruction-per-block ground truth, and a window armed in
# the middle of the latter equals its tail; the plugin's icount
# equals QEMU's at every checkpoint of the boot (the index build checks)
# and at single instructions around the first fault; random records of the
# trace stop exactly.
source "$(dirname "$0")/lib/common.bash"

images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$TMP/kimg.err") || skip "no Linux guest: $(cat "$TMP/kimg.err")"
read -r bz vmlinux <<<"$images"
echo "kernel: $bz, DWARF: $vmlinux"
# Checkpoints every 250M instructions: 6 snapshots of 256 MB instead of 30.
tt_record -c -M 256 -k "$bz" -a "console=ttyS0 panic=-1 nokaslr" --symfile "$vmlinux" \
  --checkpoint-every 250000000 linux >"$TMP/rec.out" 2>"$TMP/rec.err" || fail "tt_record: $(cat "$TMP/rec.err")"
grep -q "Kernel panic" "$XENTT_STATE/linux/console.log" || fail "the boot did not get to its panic"
D=$XENTT_STATE/linux
tt_replay -q --index linux >"$TMP/index.out" || fail "index build"
cat "$TMP/index.out"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
bad = [c for c, b in zip(j["checkpoints"], j["checkpoint_brctr"]) if b == 2**64 - 1]
assert not bad, "checkpoints without a branch count (plugin icount off there): %s" % bad
' "$D/index.json" || fail "index"

n=0
for w in "x86_64_start_kernel start_kernel" "start_kernel rest_init"; do
  set -- $w
  n=$((n + 1))
  trace_window "fast$n" "$D" "$1" "$2"
  trace_window truth "$D" "$1" "$2" --one-insn-per-tb
  cat "$TMP/fast$n.json"
  check "$1 -> $2: the trace equals the ground truth" cmp "$TMP/fast$n.bts" "$TMP/truth.bts"
  rm -f "$TMP/truth.bts" "$TMP/truth.xtl"
done

# A window armed at a record of the start_kernel -> rest_init trace, 20%
# into it, ends as that trace does: its records must be the same, to the
# byte. Armed there (a brctr location: no gdb breakpoint), QEMU still holds
# blocks first translated under the early identity map and shares them with
# the kernel text; before 2026-11-22, 1.5M of the 19.5M records carried
# identity-mapped addresses (0x1e01ef0 for __x86_return_thunk).
mid=$(python3 -c '
import struct, sys
with open(sys.argv[1], "rb") as f:
    b = f.read()
n = len(b) // 24 - 1
frm, to, brctr = struct.unpack_from("<3Q", b, 24 * (1 + n // 5))
print("%#x:%d" % (to, brctr))' "$TMP/fast2.bts")
trace_window mid "$D" "$mid" rest_init
cat "$TMP/mid.json"
check "the trace armed at $mid is the tail of the start_kernel -> rest_init trace" python3 -c '
import sys
whole, tail = (open(p, "rb").read()[24:] for p in sys.argv[1:])
sys.exit(0 if len(tail) > 24 * 1000000 and whole.endswith(tail) else 1)' "$TMP/fast2.bts" "$TMP/mid.bts"
rm -f "$TMP/mid.bts" "$TMP/mid.xtl"

# Stops after checkpoint loads, all over the boot. With an HPET and
# icount sleep=on (what tt_record gave guests before 2026-11-22), QEMU
# 10.0.2's replay livelocked after the 250M checkpoint load at 253.67M (the
# HPET timer re-armed at the current instant, waiting for a log checkpoint
# 1000 instructions ahead that the kicked vCPU never reached) and crawled
# through idle stretches: these stops took minutes each, or forever.
# The rep movs page fault of copy_bootdata: an exception record from the
# rep instruction, at the icount where its iteration was not retired. QEMU
# may pause there with the fault delivered and its handler not begun (a
# race with the stop request: CI hit it on 2026-11-21); the plugin's count
# is settled at the pause.
fault=$(xentt_dumplog --records "$TMP/fast1.xtl" | awk '$3 == "exc" {print $2; exit}')
[ -n "$fault" ] || fail "no exception record in x86_64_start_kernel -> start_kernel (the rep movs page fault)"
"$XENTT_BUILD/tests/bt_check" icount "$D" $((fault - 1)) "$fault" $((fault + 1)) $((fault + 2)) 60000000 100000000 \
  260000000 520000000 1000000000 1300000000 >"$TMP/icount.out" 2>&1 ||
  fail "plugin icount differs from QEMU's: $(cat "$TMP/icount.out")"
echo "ok: the plugin's icount equals QEMU's at single instructions around the page fault (icount $fault) and at 6 more stops up to 1.3G"
# The stop at the fault's record, the handler's entry: QEMU pauses at its
# icount before the delivery more often than not (until 2026-11-27 the stop
# then ended at the rep movs with brctr one short, 4 times in 4).
read -r exc_brctr exc_to < <(xentt_dumplog --records "$TMP/fast1.xtl" | awk '$3 == "exc" {print $1, $6; exit}')
"$XENTT_BUILD/tests/bt_check" record "$D" "$exc_brctr" "$exc_to" 3 >"$TMP/exc.out" 2>&1 ||
  fail "stops at the page fault's record: $(cat "$TMP/exc.out")"
echo "ok: the stop at the page fault's handler entry {$exc_to, $exc_brctr} is exact, 3 times in 3"
seed=${XENTT_TEST_SEED:-$RANDOM}
echo "seed $seed (XENTT_TEST_SEED=$seed reproduces)"
"$XENTT_BUILD/tests/bt_check" stops "$D" "$TMP/fast1.bts" 20 "$seed" >"$TMP/stops.out" 2>&1 ||
  fail "stops at records: $(cat "$TMP/stops.out")"
check "20 record locations of the x86_64_start_kernel trace stop exactly" grep -q '^20 of 20 stops exact$' "$TMP/stops.out"
# Records of start_kernel -> rest_init, 110M to 262M instructions, 3 of
# them after the 250M checkpoint: those stops start from its brctr, which
# the index build counted without tracing, so they land exactly only if
# the counting and the tracing plugin agree over 150M instructions. Each
# stop replays up to 250M instructions twice, so 6 in all.
brctr250=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(dict(zip(j["checkpoints"], j["checkpoint_brctr"]))[250000000])' "$D/index.json")
"$XENTT_BUILD/tests/bt_check" stops "$D" "$TMP/fast2.bts" 3 "$seed" >"$TMP/stops2.out" 2>&1 &&
  "$XENTT_BUILD/tests/bt_check" stops "$D" "$TMP/fast2.bts" 3 "$seed" $((brctr250 + 1)) >>"$TMP/stops2.out" 2>&1 ||
  fail "stops at records of start_kernel -> rest_init: $(cat "$TMP/stops2.out")"
check "6 record locations of the start_kernel -> rest_init trace stop exactly, 3 after the 250M checkpoint" \
  test "$(grep -c '^3 of 3 stops exact$' "$TMP/stops2.out")" = 2
check "no QEMU left" no_qemu_left
