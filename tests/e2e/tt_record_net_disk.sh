# A VM with QEMU user networking (-net) and a copy-on-write disk overlay (-L)
# records and replays; the base disk image is never written.
source "$(dirname "$0")/lib/common.bash"

dd if=/dev/zero of="$TMP/base.raw" bs=1M count=8 status=none
sum_before=$(md5sum <"$TMP/base.raw")
tt_record -c -k "$XENTT_GUEST" -a "ticks=100 seed=9" --net -L "$TMP/base.raw" --device "$DEMO_DEVICE" \
  netdisk >"$TMP/rec.out" 2>&1 || { cat "$TMP/rec.out"; fail "recording with --net -L failed"; }
check "the guest passed" grep -q '^demo: PASS' "$TMP/rec.out"
check "config records the network, the overlay, real-time idle (--net implies it) and no HPET" \
  python3 -c "import json;c=json.load(open('$XENTT_STATE/netdisk/config.json'));q=c['qemu'];assert c['net'] and c['disk']=='disk.qcow2' and q['icount_sleep'] and not q['hpet']"
for i in 1 2; do
  timeout 300 tt_replay --verify netdisk >"$TMP/v$i.out" 2>&1 || { cat "$TMP/v$i.out"; fail "replay $i failed"; }
  cat "$TMP/v$i.out"
done
check "the base disk is unchanged" test "$(md5sum <"$TMP/base.raw")" = "$sum_before"
check "no QEMU left behind" no_qemu_left
