#!/usr/bin/env bash
# bts_extract and xentt_dumplog on logs written by xtl_gen (a synthetic
# trace, no QEMU): the extended .bts of a brctr range must equal, byte for
# byte, what an independent Python computation makes from xtl_gen's list
# of the records it wrote; xentt_dumplog's counts must match that list; a
# log cut by a crash reads up to its last whole frame; bad input exits 2
# naming the file and the offset.
source "$(dirname "$0")/lib/common.bash"
gen=$XENTT_BUILD/tests/xtl_gen

"$gen" --records 150000 --vcpus 2 --gaps --seed 7 --text "$TMP/recs.txt" "$TMP/t.log"

# expect VCPU LO HI EXTENDED OUT: the .bts docs/bts-format.md describes
# for the records of $recs (xtl_gen --text) in that range.
recs=$TMP/recs.txt
expect() {
  python3 - "$recs" "$@" <<'PY'
import struct, sys
recs, vcpu, lo, hi, ext, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
with open(out, "wb") as o:
    if ext:
        o.write(b"\xff" * 24)
    for line in open(recs):
        v, br, ic, kind, frm, to = map(int, line.split())
        if v == vcpu and lo <= br <= hi:
            o.write(struct.pack("<QQQ", frm, to, br if ext else 0))
PY
}

# Ranges: inside one frame, across frames and a gap, radii, defaults.
first1=$(awk '$1 == 1 {print $2; exit}' "$TMP/recs.txt")
last1=$(awk '$1 == 1 {b = $2} END {print b}' "$TMP/recs.txt")
while read -r vcpu s e lo hi; do
  args=(-x --vcpu "$vcpu")
  [ "$s" != - ] && args+=(-S "$s")
  [ "$e" != - ] && args+=(-E "$e")
  bts_extract "${args[@]}" -o "$TMP/got.bts" "$TMP/t.log"
  expect "$vcpu" "$lo" "$hi" 1 "$TMP/want.bts"
  cmp "$TMP/want.bts" "$TMP/got.bts" || fail "bts_extract ${args[*]}: differs from the Python oracle"
  echo "ok: bts_extract ${args[*]} ($(( ($(stat -c %s "$TMP/got.bts") / 24) - 1 )) records)"
done <<RANGES
0 1000 1010 1000 1010
0 50000:100 120000:7 49900 120007
1 - - $first1 $last1
1 3:10 0x100 0 256
0 1 1 1 1
RANGES

# Raw format (no -x), to standard output: format field 0, no marker.
bts_extract -S 2000 -E 2999 "$TMP/t.log" > "$TMP/got.bts"
expect 0 2000 2999 0 "$TMP/want.bts"
check "raw .bts to stdout" cmp "$TMP/want.bts" "$TMP/got.bts"

# -d says what was read, on stderr.
bts_extract -d -S 1000 -E 1010 -o /dev/null "$TMP/t.log" 2> "$TMP/err"
check "-d names the range and counts" grep -q "range \[1000, 1010\]: decoded 1 frames.*wrote 11 records" "$TMP/err"

# xentt_dumplog's counts against the record list.
xentt_dumplog --json "$TMP/t.log" > "$TMP/sum.json"
python3 - "$TMP/recs.txt" "$TMP/sum.json" <<'PY' || fail "xentt_dumplog --json counts"
import json, sys, collections
names = {1: "cond", 2: "jump", 3: "call", 4: "ret", 5: "ijump", 6: "icall", 7: "intr", 8: "exc", 9: "softint", 10: "iret", 11: "other"}
per = collections.Counter(); kinds = collections.Counter()
for line in open(sys.argv[1]):
    v, br, ic, k, f, t = map(int, line.split())
    per[v] += 1; kinds[names[k]] += 1
s = json.load(open(sys.argv[2]))
assert s["complete"] is True, s
assert s["branches"] == sum(per.values()), s
assert {v["vcpu"]: v["branches"] for v in s["vcpus"]} == dict(per), s["vcpus"]
assert s["kinds"] == dict(kinds), (s["kinds"], kinds)
assert s["frames"]["header"] == 1 and s["frames"]["index"] == 1 and s["frames"]["end"] == 1, s["frames"]
assert s["bytes_per_branch"] < 2, s
PY
echo "ok: xentt_dumplog --json counts"
n=$(xentt_dumplog --records "$TMP/t.log" | wc -l)
[ "$n" -eq 300000 ] || fail "--records printed $n lines"
xentt_dumplog --records --json "$TMP/t.log" > "$TMP/recs.json"
head -1 "$TMP/recs.json" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert set(r) == {"vcpu","brctr","icount","kind","from","to"}, r' ||
  fail "--records --json"
nf=$(xentt_dumplog --frames --json "$TMP/t.log" | wc -l)
[ "$nf" -eq "$(python3 -c "import json; print(sum(json.load(open('$TMP/sum.json'))['frames'].values()))")" ] ||
  fail "--frames lines"
echo "ok: --records and --frames line counts"

# A tracer that died: no trailer; everything up to the last whole frame
# reads, and the dumper says it is truncated. Cut in the middle of a frame.
"$gen" --records 100000 --seed 3 --crash --text "$TMP/c.txt" "$TMP/c.log"
size=$(stat -c %s "$TMP/c.log")
head -c $((size - 1000)) "$TMP/c.log" > "$TMP/cut.log"
xentt_dumplog "$TMP/cut.log" > "$TMP/cut.out"
check "a cut log reads as truncated" grep -q "truncated: no trailer" "$TMP/cut.out"
bts_extract -x -o "$TMP/cut.bts" "$TMP/cut.log"
last=$(python3 -c "import struct; d=open('$TMP/cut.bts','rb').read(); print(struct.unpack('<Q', d[-8:])[0])")
recs=$TMP/c.txt expect 0 1 "$last" 1 "$TMP/want.bts"
check "a cut log's records are a prefix of what was written" cmp "$TMP/want.bts" "$TMP/cut.bts"

# Bad input: exit 2, one line naming the file and the offset.
printf 'not a log at all' > "$TMP/bad.log"
set +e
bts_extract "$TMP/bad.log" > /dev/null 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "bad.log: offset 0: not a trace log" "$TMP/err" || fail "bad signature: rc=$rc $(cat "$TMP/err")"
cp "$TMP/t.log" "$TMP/flip.log"
printf '\x55' | dd of="$TMP/flip.log" bs=1 seek=5000 conv=notrunc status=none
set +e
xentt_dumplog "$TMP/flip.log" > /dev/null 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "flip.log: offset [0-9]*: damaged" "$TMP/err" || fail "bit flip: rc=$rc $(cat "$TMP/err")"
set +e
bts_extract -S 10 -E 5 "$TMP/t.log" > /dev/null 2> "$TMP/err"; rc=$?
bts_extract --vcpu 9 "$TMP/t.log" > /dev/null 2> "$TMP/err2"; rc2=$?
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && grep -q "vcpu 9" "$TMP/err2" || fail "bad range/vcpu: $rc $rc2"
echo "ok: bad input exits 2 with file and offset"

# A FIFO given as the log is refused at once (a log is mapped, so it must
# be a regular file), never waited on for a writer.
mkfifo "$TMP/fifo.log"
for prog in xentt_dumplog bts_extract; do
  set +e
  timeout 10 "$prog" "$TMP/fifo.log" > /dev/null 2> "$TMP/err"; rc=$?
  set -e
  [ $rc -eq 2 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q "fifo.log: .*FIFO" "$TMP/err" ||
    fail "$prog on a FIFO: rc=$rc $(cat "$TMP/err")"
  echo "ok: $(cat "$TMP/err")"
done

# Damage every reader must agree on. damage KIND OUT writes a copy of
# t.log with one kind of damage (CRCs recomputed with Python's zlib where
# the patch is meant to pass them) and prints the offset and the reason the
# readers must name. Every mode of xentt_dumplog and bts_extract must exit 2
# with exactly one line on stderr naming the file, that offset and that
# reason; a dump mode still prints what it can (the rest of the log).
xentt_dumplog --frames --json "$TMP/t.log" > "$TMP/frames.json"
damage() {
  python3 - "$TMP/t.log" "$TMP/frames.json" "$1" "$2" <<'PY'
import json, struct, sys, zlib
src, frames_json, kind, out = sys.argv[1:]
b = bytearray(open(src, 'rb').read())
frames = [json.loads(l) for l in open(frames_json)]
def reseal(off):
    n, = struct.unpack_from('<I', b, off + 4)
    struct.pack_into('<I', b, off + 8, zlib.crc32(bytes(b[off + 16:off + 16 + n]), zlib.crc32(bytes(b[off:off + 8]))))
    struct.pack_into('<I', b, off + 12, zlib.crc32(bytes(b[off:off + 12])))
marker = next(f for f in frames if f['type'] == 'marker')
br = [f for f in frames if f['type'] == 'branches' and f['vcpu'] == 0]
index = next(f for f in frames if f['type'] == 'index')
entry = lambda f: index['offset'] + 16 + 40 * f['frame']
if kind == 'markhdr':      # a marker's header: its vcpu no longer matches the header CRC
    b[marker['offset'] + 2] ^= 1
    where, why = marker['offset'], 'damaged frame header'
elif kind == 'markjson':   # a marker whose JSON is an array, CRCs right
    o = marker['offset'] + 16
    assert b[o:o + 14] == b'{"what":"arm"}', b[o:o + 14]
    b[o:o + 14] = b'["what","arm"]'
    reseal(marker['offset'])
    where, why = marker['offset'], 'marker frame is not a JSON object'
elif kind == 'brpay':      # a byte inside vcpu 0's second batch
    f = br[1]
    b[f['offset'] + 16 + f['stored_bytes'] // 2] ^= 0x10
    where, why = f['offset'], 'damaged frame [(]CRC mismatch[)]'
elif kind == 'idxcount':   # the index gives a marker frame 2^32-1 records
    struct.pack_into('<I', b, entry(marker) + 32, 0xffffffff)
    reseal(index['offset'])
    where, why = entry(marker), 'index entry %d.* count 4294967295' % marker['frame']
elif kind == 'overlap':    # the index moves vcpu 0's third batch back into the second
    struct.pack_into('<Q', b, entry(br[2]) + 16, br[1]['first_brctr'])
    reseal(index['offset'])
    where, why = br[2]['offset'], 'vcpu 0 batch at brctr %d overlaps' % br[1]['first_brctr']
open(out, 'wb').write(b)
print(where, why)
PY
}
# one_line PROG RC WANT_RC FILE OFFSET WHY: the verdict of one run.
one_line() {
  local what=$1 rc=$2 want=$3 f=$4 off=$5 why=$6
  [ "$rc" -eq "$want" ] || fail "$what: exit $rc, want $want: $(cat "$TMP/err")"
  [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "$what: not one line on stderr: $(cat "$TMP/err")"
  grep -qE -- "^[a-z_]+: $f: offset $off: $why" "$TMP/err" || fail "$what: want '$f: offset $off: $why': $(cat "$TMP/err")"
}
total=300000
for kind in markhdr markjson brpay idxcount overlap; do
  read -r off why < <(damage $kind "$TMP/$kind.log")
  f=$TMP/$kind.log
  for mode in "" --json --frames "--frames --json" --records "--records --json"; do
    set +e
    # shellcheck disable=SC2086
    xentt_dumplog $mode "$f" > "$TMP/out" 2> "$TMP/err"; rc=$?
    set -e
    one_line "xentt_dumplog $mode ($kind)" $rc 2 "$f" "$off" "$why"
    # What a dump still shows: everything but the damaged frame.
    lost=0
    [ $kind = brpay ] || [ $kind = overlap ] && lost=$(python3 -c "
import json; fr = [json.loads(l) for l in open('$TMP/frames.json')]
print([f for f in fr if f['type'] == 'branches' and f['vcpu'] == 0][1 if '$kind' == 'brpay' else 2]['count'])")
    case "$kind:$mode" in
      idxcount:*) [ ! -s "$TMP/out" ] || fail "xentt_dumplog $mode ($kind): printed a log whose index is wrong" ;;
      *:--json) python3 -c "
import json, sys; s = json.load(open('$TMP/out'))
assert s['complete'] is True and s['damaged_frames'] == 1 and s['branches'] == $total - $lost, s" ||
                  fail "xentt_dumplog --json ($kind): summary" ;;
      *:--records*) [ "$(wc -l < "$TMP/out")" -eq $((total - lost)) ] ||
                      fail "xentt_dumplog $mode ($kind): $(wc -l < "$TMP/out") records, want $((total - lost))" ;;
      *:--frames*) [ "$(wc -l < "$TMP/out")" -eq "$(wc -l < "$TMP/frames.json")" ] ||
                     fail "xentt_dumplog $mode ($kind): not every frame listed" ;;
    esac
  done
  set +e
  bts_extract -x -o "$TMP/x.bts" "$f" 2> "$TMP/err"; rc=$?
  set -e
  one_line "bts_extract ($kind)" $rc 2 "$f" "$off" "$why"
  echo "ok: $kind: every mode and bts_extract exit 2: $(cat "$TMP/err")"
done
# Two modes at once read each frame twice; a damaged one is still one line.
set +e
xentt_dumplog --frames --records "$TMP/brpay.log" > /dev/null 2> "$TMP/err"; rc=$?
set -e
read -r off why < <(damage brpay "$TMP/brpay.log")
one_line "xentt_dumplog --frames --records (brpay)" $rc 2 "$TMP/brpay.log" "$off" "$why"

# bts_extract checks what it reads: a range that does not reach the
# damaged batch extracts as from the intact log.
first0=$(awk '$1 == 0 {print $2; exit}' "$TMP/recs.txt")
bts_extract -x -S "$first0" -E $((first0 + 10)) -o "$TMP/got.bts" "$TMP/brpay.log"
expect 0 "$first0" $((first0 + 10)) 1 "$TMP/want.bts"
check "bts_extract of a range before the damaged batch" cmp "$TMP/want.bts" "$TMP/got.bts"

# A log without an index (the tracer died) with a damaged frame header
# inside: a dump reports it, one line, resynchronises at the next intact
# frame header and shows the rest; bts_extract stops there. Both exit 2.
"$gen" --records 60000 --batch 8192 --seed 5 --crash --text "$TMP/r.txt" "$TMP/r.log"
xentt_dumplog --frames --json "$TMP/r.log" > "$TMP/rframes.json"
read -r off next lost < <(python3 - "$TMP/r.log" "$TMP/rframes.json" "$TMP/resync.log" <<'PY'
import json, sys
src, frames_json, out = sys.argv[1:]
b = bytearray(open(src, 'rb').read())
fr = [json.loads(l) for l in open(frames_json)]
f = [f for f in fr if f['type'] == 'branches'][2]
b[f['offset'] + 5] ^= 0x40    # its length: the header CRC fails
open(out, 'wb').write(b)
print(f['offset'], fr[f['frame'] + 1]['offset'], f['count'])
PY
)
want=$(($(wc -l < "$TMP/r.txt") - lost))
for mode in "" --json --frames --records; do
  set +e
  # shellcheck disable=SC2086
  xentt_dumplog $mode "$TMP/resync.log" > "$TMP/out" 2> "$TMP/err"; rc=$?
  set -e
  one_line "xentt_dumplog $mode (resync)" $rc 2 "$TMP/resync.log" "$off" \
    "damaged frame header .*next intact frame at offset $next"
done
[ "$(wc -l < "$TMP/out")" -eq "$want" ] || fail "resync: --records printed $(wc -l < "$TMP/out") records, want $want"
set +e
bts_extract -x -o "$TMP/x.bts" "$TMP/resync.log" 2> "$TMP/err"; rc=$?
set -e
one_line "bts_extract (resync)" $rc 2 "$TMP/resync.log" "$off" "damaged frame header"
echo "ok: a dump resynchronises after a damaged frame header: $(cat "$TMP/err")"
