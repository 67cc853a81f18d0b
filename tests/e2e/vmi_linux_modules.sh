# A Linux guest's loaded modules symbolized from the guest itself, with no
# symbol file named for them: the shell guest (scripts/shell-guest: the
# Debian cloud kernel, KASLR on, its 8 virtio modules loaded, DHCP over
# virtio-net-pci) prints its own truth (tests/e2e/linux_modules/truth.sh:
# /sys/module/*/sections/.text, /proc/modules, /proc/kallsyms' virtnet_poll)
# and powers off. At the end of the recording:
#   tt_vmi symmaps  has one map per module /proc/modules lists, whose .text
#                   is the guest's /sys/module/NAME/sections/.text, whose
#                   file is the module's debug .ko under /usr/lib/debug
#                   (matched by the build-id read from guest memory), and
#                   whose range starts at /proc/modules' address;
#   tt_symbolize --symmap-list names kallsyms' virtnet_poll address
#                   virtio_net:virtnet_poll+0x0;
#   trace_task      a window from virtnet_poll (the DHCP answer arriving) to
#                   napi_complete_done (plus the KASLR slide) names every
#                   record in module code:
#                   virtio_net's and virtio_ring's functions by name.
source "$(dirname "$0")/lib/common.bash"

images=$(SHELL_GUEST_RUN="mods=$XENTT_SOURCE/tests/e2e/linux_modules/truth.sh" \
  bash "$XENTT_SOURCE/scripts/shell-guest" "$TMP/initrd" 2>"$TMP/sg.err") || skip "no shell guest: $(cat "$TMP/sg.err")"
read -r bz vmlinux initrd <<<"$images"
ver=${vmlinux##*/vmlinux-}
[ -f "/usr/lib/debug/lib/modules/$ver/kernel/drivers/net/virtio_net.ko" ] ||
  skip "no /usr/lib/debug/lib/modules/$ver (the kernel's -dbg package: scripts/install-deps kernel-dbg)"

tt_record -c -M 256 -k "$bz" -R "$initrd" --nic virtio-net-pci --symfile "$vmlinux" \
  -a "console=ttyS0 panic=-1 shellguest.dhcp=1 shellguest.run=mods" mods >"$TMP/rec.out" 2>"$TMP/rec.err" ||
  fail "tt_record: $(cat "$TMP/rec.err")"
tr -d '\r' <"$XENTT_STATE/mods/console.log" >"$TMP/console"
grep -q '^MODS-DONE$' "$TMP/console" || fail "the guest did not print its modules: $(tail -5 "$TMP/console")"
grep -E '^(MOD-TEXT|KSYM|shell-guest)' "$TMP/console"
check "the guest got an address by DHCP (virtio_net ran)" grep -q '^shell-guest: eth0 10\.0\.2\.15' "$TMP/console"

tt_replay --index -q mods >/dev/null 2>&1 || true
end=$(python3 -c "import json; print(json.load(open('$XENTT_STATE/mods/index.json'))['final_icount'])")
tt_replay --until "icount=$((end - 1000))" --json mods >/dev/null || fail "tt_replay --until icount=$((end - 1000))"
tt_vmi mods symmaps >"$TMP/maps" 2>"$TMP/maps.err" || fail "tt_vmi symmaps: $(cat "$TMP/maps.err")"
tt_vmi --json mods symmaps >"$TMP/maps.json" 2>/dev/null || fail "tt_vmi --json symmaps"
cat "$TMP/maps.err"
cut -c1-200 "$TMP/maps"
check "symmaps warns about nothing" test ! -s "$TMP/maps.err"
check "every module of /proc/modules has its map, at the guest's own section addresses" python3 -c "
import json, re
truth = {}
for l in open('$TMP/console'):
    p = l.split()
    if l.startswith('MOD-TEXT '): truth.setdefault(p[1], {})['text'] = int(p[2], 16)
    if l.startswith('MOD-LINE '): truth.setdefault(p[1], {})['base'] = int(p[-1], 16)
maps = [m for m in json.load(open('$TMP/maps.json')) if m['sections']]
assert len(truth) == 8, truth
for name, t in truth.items():
    ms = [m for m in maps if m['prefix'] == name + ':']
    assert ms, ('no map for', name)
    for m in ms:
        assert int(m['sections']['.text'], 16) == t['text'], (name, m['sections']['.text'], hex(t['text']))
        assert m['file'].startswith('/usr/lib/debug/lib/modules/') and m['file'].endswith('/' + name + '.ko'), m['file']
    assert int(ms[0]['lo'], 16) == t['base'], (name, ms[0]['lo'], hex(t['base']))
print(len(truth), 'modules agree')"

poll=$(awk '$1 == "KSYM" && $4 == "virtnet_poll" { print $2 }' "$TMP/console")
[ -n "$poll" ] || fail "the guest printed no virtnet_poll in /proc/kallsyms"
check "tt_symbolize --symmap-list names kallsyms' virtnet_poll" \
  test "$(echo "0x$poll" | tt_symbolize --symmap-list "$TMP/maps")" = "0x$poll virtio_net:virtnet_poll+0x0"
slide=$(tt_vmi mods kaslr) || fail "tt_vmi kaslr"
tt_replay -K mods >/dev/null

# A window of module code: virtnet_poll's first run (the DHCP answer) to
# napi_complete_done, which it calls when it is done.
napi=$(nm "$vmlinux" | awk '$3 == "napi_complete_done" { print $1 }')
trace_task -S -o "$TMP/w.bts" "$XENTT_STATE/mods" "0x$poll" "$(printf '%#x' $((0x$napi + slide)))" >"$TMP/w.trace" \
  2>"$TMP/w.err" || fail "trace_task: $(cat "$TMP/w.err")"
cat "$TMP/w.err"
head -5 "$TMP/w.trace"
check "trace_task warns about nothing module-related" sh -c "! grep -qi module '$TMP/w.err'"
check "the window names virtio_net's functions" grep -q 'virtio_net:virtnet_poll' "$TMP/w.trace"
check "the window names virtio_ring's functions" grep -q 'virtio_ring:virtqueue_get_buf_ctx' "$TMP/w.trace"
check "no record in module memory prints raw" python3 -c "
import json, re
maps = [m for m in json.load(open('$TMP/maps.json')) if m['sections']]
ranges = [(int(m['lo'], 16), int(m['hi'], 16)) for m in maps]
raw = 0
for l in open('$TMP/w.trace'):
    for a in re.findall(r'(?<![+\w])0x([0-9a-f]{8,16})(?![+\w])', l):
        if any(lo <= int(a, 16) < hi for lo, hi in ranges): raw += 1
assert raw == 0, raw"
check "no QEMU left" no_qemu_left
echo PASS
