# Stops through the library at 20 random instruction counts land exactly
# there, whether reached forward or by seeking backwards, with identical
# registers either way (two sessions in one process).
source "$(dirname "$0")/lib/common.bash"

record_demo demo
seed=${XENTT_TEST_SEED:-$RANDOM}
echo "seed $seed (XENTT_TEST_SEED=$seed reproduces)"
"$XENTT_BUILD/tests/stop_check" "$XENTT_STATE/demo" demo 20 "$seed" | tee "$TMP/stops.out"
check "all 20 stops matched" grep -q '^20 stops, 20 forward and backward, 0 mismatches$' "$TMP/stops.out"
check "no QEMU left behind" no_qemu_left
