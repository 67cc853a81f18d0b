# The debug server on a real Linux boot (scripts/kernel-image: the Debian
# cloud kernel with its DWARF): served at start_kernel, gdb breaks on
# _printk three times; the format strings it sees are those of the lines
# the guest printed, in order (its banner, "Command line:", "BIOS-provided
# physical RAM map:"); reverse-continue goes back to the second and first
# hit at exactly their icount, rip and brctr, which the branch trace of
# start_kernel -> the third hit shows for the calls; gdb shows the control
# registers and the backtrace into start_kernel; tt_vmi reads init_task
# through the same server. tt_vmi watch finds the one write of
# saved_command_line in start_kernel -> rest_init, whose new value is what
# the guest holds at rest_init, pointing at the command line it printed.
source "$(dirname "$0")/lib/common.bash"

images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$TMP/kimg.err") || skip "no Linux guest: $(cat "$TMP/kimg.err")"
read -r bz vmlinux <<<"$images"
tt_record -c -M 256 -k "$bz" -a "console=ttyS0 panic=-1 nokaslr" --symfile "$vmlinux" \
  --checkpoint-every 250000000 linux >"$TMP/rec.out" 2>"$TMP/rec.err" || fail "tt_record: $(cat "$TMP/rec.err")"
tt_replay -q --index linux >/dev/null || fail "index build"
console=$XENTT_STATE/linux/console.log

tt_replay --serve --headless --json --until start_kernel linux >"$TMP/serve.json" 2>"$TMP/serve.err" ||
  fail "serve: $(cat "$TMP/serve.err")"
sock=$(python3 -c 'import json,sys; print([e["path"] for e in json.load(open(sys.argv[1]))["endpoints"] if e["name"]=="gdb"][0])' "$TMP/serve.json")
fmt='printf "fmt=%s\n", fmt'
timeout 600 gdb -batch -nx -ex "target remote $sock" -ex 'break _printk' \
  -ex continue -ex 'monitor when' -ex "$fmt" -ex continue -ex 'monitor when' -ex "$fmt" \
  -ex continue -ex 'monitor when' -ex "$fmt" \
  -ex reverse-continue -ex 'monitor when' -ex reverse-continue -ex 'monitor when' -ex "$fmt" \
  -ex 'bt 2' -ex 'info registers cr0 cr3 cr4 efer gs_base' "$vmlinux" >"$TMP/gdb.out" 2>&1 ||
  fail "gdb: $(tail -5 "$TMP/gdb.out")"
cat "$TMP/gdb.out"
printk=$(nm "$vmlinux" | awk '$3=="_printk"{print "0x" $1}')
mapfile -t hits < <(sed -nE 's/^icount ([0-9]+), rip (0x[0-9a-f]+), brctr ([0-9]+).*/\1 \2 \3/p' "$TMP/gdb.out")
mapfile -t fmts < <(sed -nE 's/^fmt=(.*)$/\1/p' "$TMP/gdb.out")
[ "${#hits[@]}" = 5 ] || fail "want 5 'monitor when' answers, got ${#hits[@]}"
check "three hits of _printk ($printk)" test "$(printf '%s\n' "${hits[@]:0:3}" | grep -c " $printk ")" = 3
check "the second and third format strings are the command line's and the RAM map's" \
  test "${fmts[1]}" = $'\x016Command line: %s' -a "${fmts[2]}" = $'\x016BIOS-provided physical RAM map:'
check "the guest printed those lines, in that order" python3 -c '
import sys
c = open(sys.argv[1], errors="replace").read()
a, b = c.find("Command line: console=ttyS0"), c.find("BIOS-provided physical RAM map:")
sys.exit(0 if 0 <= a < b else 1)' "$console"
check "reverse-continue lands on the second hit, exactly" test "${hits[3]}" = "${hits[1]}"
check "reverse-continue again lands on the first hit, exactly" test "${hits[4]}" = "${hits[0]}"
check "the first format string again there" test "${fmts[3]}" = "${fmts[0]}"
check "the backtrace goes into start_kernel" grep -qE '^#1 .* in start_kernel \(\) at init/main.c' "$TMP/gdb.out"
for r in cr0 cr3 cr4 efer gs_base; do grep -qE "^$r +0x" "$TMP/gdb.out" || fail "no $r in info registers"; done
echo "ok: info registers shows cr0, cr3, cr4, efer, gs_base"

trace_task -o "$TMP/t.bts" "$XENTT_STATE/linux" start_kernel "_printk:${hits[2]##* }" >"$TMP/trace.out" 2>&1 ||
  fail "trace_task: $(cat "$TMP/trace.out")"
want=$(landings_on "$TMP/t.bts" "$printk")
got="${hits[0]##* } ${hits[1]##* }"
check "the trace's calls of _printk ($want) carry the stops' brctr ($got)" test "${want#"$got"}" != "$want"

timeout 120 tt_vmi linux print init_task.comm >"$TMP/comm.out" 2>"$TMP/comm.err" || fail "tt_vmi: $(cat "$TMP/comm.err")"
check "tt_vmi reads init_task.comm through the server" grep -q '"swapper' "$TMP/comm.out"
tt_replay -K linux >/dev/null

tt_vmi --json linux watch saved_command_line --from start_kernel --to rest_init >"$TMP/w.json" 2>"$TMP/w.err" ||
  fail "tt_vmi watch: $(cat "$TMP/w.err")"
new=$(python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))
a = w["accesses"]
assert w["count"] == 1 and len(a) == 1, w
assert a[0]["function"].startswith("start_kernel+") and a[0]["old"] == "0x0", a[0]
print(a[0]["new"])' "$TMP/w.json") || fail "tt_vmi watch saved_command_line: $(cat "$TMP/w.json")"
echo "ok: one write of saved_command_line, in start_kernel: 0x0 -> $new"
tt_vmi --at rest_init linux print saved_command_line >"$TMP/scl.out" 2>"$TMP/scl.err" || fail "tt_vmi print: $(cat "$TMP/scl.err")"
cat "$TMP/scl.out"
check "the guest holds that value at rest_init, the command line it printed" \
  grep -q "^$new \"console=ttyS0 panic=-1 nokaslr\"$" "$TMP/scl.out"
check "no QEMU left behind" no_qemu_left
