# Every file a replay depends on is checked before it is trusted, and named
# when it is damaged (issue 11, finding 2): the replay index is never
# believed over the log (its final_icount set to 1 made --verify report
# "icount 1, console identical"), and the checkpoint store, the kernel and
# ramdisk copies, the disk overlay, config.json and the user's disk base
# image carry checksums taken when they were written. A damaged file is bad
# input (status 2) in every program, in one line naming it; nothing is left
# behind by the attempt.
source "$(dirname "$0")/lib/common.bash"

head -c 5000 /dev/urandom >"$TMP/initrd"
dd if=/dev/urandom of="$TMP/base.raw" bs=1M count=4 status=none
tt_record -c -k "$XENTT_GUEST" -a "ticks=100 seed=4" -R "$TMP/initrd" -L "$TMP/base.raw" --device "$DEMO_DEVICE" \
  --checkpoint-every 20000000 demo >"$TMP/rec.out" 2>&1 || fail "tt_record: $(cat "$TMP/rec.out")"
tt_replay -q --verify demo >"$TMP/v.out" || fail "the intact recording does not verify: $(cat "$TMP/v.out")"
final=$(python3 -c "import json;print(json.load(open('$XENTT_STATE/demo/index.json'))['final_icount'])")
check "the recording's files carry checksums" test -s "$XENTT_STATE/demo/sums.json" -a -s "$XENTT_STATE/demo/recording/store.sums.json"

# copy NAME: a copy of the recording to damage.
copy() { rm -rf "${XENTT_STATE:?}/$1"; cp -a "$XENTT_STATE/demo" "$XENTT_STATE/$1"; }
# flip FILE: 16 bytes flipped in the middle of a block of FILE that is not all zero.
flip() {
  python3 - "$1" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
blocks = [o for o in range(0, len(b) - 4096, 4096) if any(b[o:o + 4096])]
o = blocks[len(blocks) // 2] + 2048 if blocks else len(b) // 2
for i in range(o, min(o + 16, len(b))): b[i] ^= 0x5a
open(p, 'wb').write(b)
PY
}
# refused NAME PATTERN: every program refuses copy NAME with status 2, in one
# line containing PATTERN, and leaves no runtime directory behind.
refused() {
  local name=$1 pattern=$2
  expect_exit 2 "$pattern" tt_replay --verify "$name"
  expect_exit 2 "$pattern" tt_replay -p "$name"
  expect_exit 2 "$pattern" trace_task -o "$TMP/x.bts" "$XENTT_STATE/$name" idt_init demo_finish
  check "no runtime directory is left by the attempts on $name" test -z "$(ls -A "$XENTT_STATE/$name/replays" 2>/dev/null)"
}

# The index: derived from the log, rebuilt when it does not match itself.
copy idx
python3 - "$XENTT_STATE/idx/index.json" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); j["final_icount"] = 1
json.dump(j, open(p, "w"), indent=2)
PY
tt_replay --verify idx >"$TMP/idx.out" 2>&1 || fail "verify with a damaged index failed: $(cat "$TMP/idx.out")"
cat "$TMP/idx.out"
check "verify reports the recording's real end (icount $final), not the damaged index's" grep -q "icount $final," "$TMP/idx.out"
check "the index was rebuilt from the log" \
  test "$(python3 -c "import json;print(json.load(open('$XENTT_STATE/idx/index.json'))['final_icount'])")" = "$final"

# An index that ends too early with a checksum that matches (a wrong build,
# not damage): verify compares the console after the log runs out, so it
# passed such an index until the replay was also required to run out of log
# within a few instructions of the index's end.
copy early
python3 - "$XENTT_STATE/early/index.json" <<'PY'
import json, sys, zlib
p = sys.argv[1]; j = json.load(open(p)); j.pop("crc32")
# 2M instructions early, and no checkpoint within 1M of that end (as every
# build keeps it; an index that has one is rebuilt, not believed).
margin = 1 << 20
j["final_icount"] -= 2 * margin
keep = [i for i, c in enumerate(j["checkpoints"]) if c == 0 or c + margin <= j["final_icount"]]
j["checkpoints"] = [j["checkpoints"][i] for i in keep]
j["checkpoint_brctr"] = [j["checkpoint_brctr"][i] for i in keep]
j["crc32"] = zlib.crc32(json.dumps(j, separators=(",", ":"), sort_keys=True).encode())
json.dump(j, open(p, "w"), indent=2)
PY
expect_exit 1 "instructions past the index's end" tt_replay --verify early

copy snap
flip "$XENTT_STATE/snap/recording/snapshots.qcow2"
refused snap "snap/recording/snapshots.qcow2 is damaged"

copy kern
flip "$XENTT_STATE/kern/kernel"
refused kern "kern/kernel is damaged"
copy empty
: >"$XENTT_STATE/empty/kernel"
# (trace_task reads the kernel's symbols for the window's ends first, and
# names the file from there.)
refused empty "empty/kernel"
expect_exit 2 "empty/kernel is damaged: it has 0 bytes" tt_replay --verify empty

copy rd
flip "$XENTT_STATE/rd/initrd"
refused rd "rd/initrd is damaged"

copy ovl
flip "$XENTT_STATE/ovl/disk.qcow2"
refused ovl "ovl/disk.qcow2 is damaged"

copy cfg
sed -i 's/ticks=100 seed=4/ticks=100 seed=5/' "$XENTT_STATE/cfg/config.json"
refused cfg "cfg/config.json is damaged"
copy path
python3 - "$XENTT_STATE/path/config.json" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); j["kernel"] = "../../../../../etc/passwd"
json.dump(j, open(p, "w"), indent=2)
PY
refused path "kernel '../../../../../etc/passwd' is not a file name inside the state directory"
copy mem
sed -i 's/"memory_mb": 64/"memory_mb": -1/' "$XENTT_STATE/mem/config.json"
refused mem "mem/config.json"

copy nosnap
rm "$XENTT_STATE/nosnap/recording/snapshots.qcow2"
refused nosnap "nosnap/recording/snapshots.qcow2 is missing"
# A recording from before the checksums: the missing store is still named, and
# no attempt leaves a runtime directory behind (each used to leave one).
rm "$XENTT_STATE/nosnap/recording/store.sums.json"
for i in 1 2 3; do
  st=0
  tt_replay -p nosnap >/dev/null 2>"$TMP/err" || st=$?
  [ $st != 0 ] && grep -q "snapshots.qcow2" "$TMP/err" || fail "a missing store without checksums (exit $st): $(cat "$TMP/err")"
done
check "three failed starts left no runtime directory" test -z "$(ls -A "$XENTT_STATE/nosnap/replays" 2>/dev/null)"

# The user's disk base image: its size before every replay, its contents by --verify.
flip "$TMP/base.raw"
expect_exit 2 "base.raw is damaged: its checksum differs" tt_replay --verify demo
check "the damaged recordings and the good one are left as they were" test -s "$XENTT_STATE/snap/recording/snapshots.qcow2"
check "no QEMU left behind" no_qemu_left
