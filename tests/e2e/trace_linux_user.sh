# Branch tracing of user space in a real Linux guest (the Debian cloud
# kernel of scripts/kernel-image, booted into an initramfs of ours): /init
# runs one dynamically linked PIE twice, one process after the other. ASLR
# maps the program, ld.so, libc and the vDSO at other addresses in each
# process over the same physical pages, and QEMU shares its translated
# blocks between such aliases: every user-space record of the second run
# must carry the second run's addresses, as the program itself prints them
# (dl_iterate_phdr), never the first run's. Before 2026-11-22, 29k of the
# second run's 32k libc records carried the first run's addresses. The
# window's trace also equals the one-instruction-per-block ground truth, and
# trace_task names every record of it from the guest itself (processes
# told apart, their code matched by build-id), as llvm-symbolizer does.
source "$(dirname "$0")/lib/common.bash"

images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$TMP/kimg.err") || skip "no Linux guest: $(cat "$TMP/kimg.err")"
read -r bz vmlinux <<<"$images"
src=$XENTT_SOURCE/tests/e2e/linux_user
gcc -O2 -static -o "$TMP/init" "$src/init.c" 2>"$TMP/cc.err" || fail "building /init: $(cat "$TMP/cc.err")"
gcc -O2 -fPIE -pie -Wl,-rpath,/lib -o "$TMP/hello" "$src/hello.c" 2>"$TMP/cc.err" || fail "building /hello: $(cat "$TMP/cc.err")"
lib() { ldd "$TMP/hello" | awk -v n="$1" '$1 ~ n {print ($3 != "" && $2 == "=>") ? $3 : $1}'; }
libc=$(lib '^libc[.]so') ld=$(lib 'ld-linux')
[ -f "$libc" ] && [ -f "$ld" ] || fail "no libc or ld.so for /hello: $(ldd "$TMP/hello")"
python3 "$src/mkinitramfs.py" "$TMP/initrd" init="$TMP/init" hello="$TMP/hello" lib/libc.so.6="$libc" \
  lib64/ld-linux-x86-64.so.2="$ld" || fail "initramfs"
# The same files as a tree on the host: the sysroot trace_task names user space from.
mkdir -p "$TMP/root/lib" "$TMP/root/lib64"
cp "$TMP/init" "$TMP/hello" "$TMP/root/" && cp "$libc" "$TMP/root/lib/libc.so.6" && cp "$ld" "$TMP/root/lib64/" ||
  fail "sysroot"

tt_record -c -M 256 -k "$bz" -R "$TMP/initrd" -a "console=ttyS0 panic=-1 nokaslr quiet" --symfile "$vmlinux" \
  --checkpoint-every 250000000 lu >"$TMP/rec.out" 2>"$TMP/rec.err" || fail "tt_record: $(cat "$TMP/rec.err")"
D=$XENTT_STATE/lu
grep "^code " "$D/console.log" | tr -d '\r' >"$TMP/code" || true
cat "$TMP/code"
check "both runs printed where their code is" test "$(grep -c '^code first ' "$TMP/code")" -ge 4 -a \
  "$(grep -c '^code second ' "$TMP/code")" -ge 4
check "the recording ends with the guest's poweroff" grep -q '"ended_by": "guest-poweroff"' "$D/recording.json"

# VMI of a process: at the first run's exit_group, tt_vmi maps (its VMAs,
# walked in the kernel's maple tree) must be the map the process printed
# from /proc/self/maps just before; tt_vmi symmaps --sysroot then names its
# main() as nm places it, with no file named by hand.
grep "^maps first " "$D/console.log" | tr -d '\r' | cut -d' ' -f3- >"$TMP/maps.guest"
tt_vmi --at __x64_sys_exit_group lu maps >"$TMP/maps.ours" 2>"$TMP/maps.err" || fail "tt_vmi maps: $(cat "$TMP/maps.err")"
cat "$TMP/maps.ours"
python3 - "$TMP/maps.guest" "$TMP/maps.ours" <<'PY2' || fail "tt_vmi maps differs from the guest's /proc/self/maps"
import sys
def rows(path, guest):
    out = []
    for l in open(path):
        f = l.split()
        path_ = (f[5] if len(f) > 5 else "") if guest else (f[3] if len(f) > 3 else "")
        if not (path_.startswith("/") or path_ == "[vdso]"):
            path_ = ""  # [heap], [stack], [vvar]: /proc's names, not the VMA's
        out.append((int(f[0].split("-")[0], 16), int(f[0].split("-")[1], 16), f[1], int(f[2], 16), path_))
    return out
g, o = rows(sys.argv[1], True), rows(sys.argv[2], False)
print("%d VMAs in the guest's /proc/self/maps, %d from tt_vmi" % (len(g), len(o)))
for a, b in zip(g, o):
    if a != b:
        print("differ: guest %s, ours %s" % (a, b))
sys.exit(0 if g == o and len(g) >= 10 else 1)
PY2
echo "ok: tt_vmi maps equals the process's own /proc/self/maps"
tt_vmi --at __x64_sys_exit_group lu maps 1 >"$TMP/maps1" 2>&1 || fail "tt_vmi maps 1: $(cat "$TMP/maps1")"
check "pid 1's map has /init's code" grep -q " r-xp .* /init$" "$TMP/maps1"
tt_vmi --at __x64_sys_exit_group lu symmaps --sysroot "$TMP/root" >"$TMP/symmaps" 2>"$TMP/symmaps.err" ||
  fail "tt_vmi symmaps --sysroot: $(cat "$TMP/symmaps.err")"
cat "$TMP/symmaps"
read -r hlo _ < <(awk '$2 == "first" && $5 == "/hello" {print $3; exit}' "$TMP/code")
xva=$(python3 "$src/elf_code.py" "$TMP/hello")
main=$(nm "$TMP/hello" | awk '$3 == "main" {print $1}')
addr=$(printf '%#x' $((hlo - xva + 0x$main)))
got=$(echo "$addr" | tt_symbolize --symmap-list "$TMP/symmaps")
check "symmaps --sysroot names the first run's main() ($addr): $got" test "$got" = "$addr main+0x0"

# /init's sync() starts the window, its reboot() ends it: both runs inside.
trace_window user "$D" __x64_sys_sync __x64_sys_reboot --no-processes
cat "$TMP/user.json"

PYTHONPATH=$src python3 - "$TMP/user.bts" "$TMP/code" "$TMP/init" <<'PY' || fail "user-space records of the second run carry other addresses"
import struct, sys
from elf_code import exec_segments
bts, code, init = sys.argv[1:]
ranges = []  # (lo, hi, run, object)
for line in open(code):
    _, run, lo, hi, name = line.split()
    ranges.append((int(lo, 16), int(hi, 16), run, name))
# /init is static and not PIE: its executable segments from its ELF header.
for p_vaddr, p_memsz in exec_segments(init):
    ranges.append((p_vaddr, p_vaddr + p_memsz, "init", "/init"))
b = open(bts, "rb").read()
first_of, last_of, objects, stray = {}, {}, set(), []
for i in range(1, len(b) // 24):
    frm, to, brctr = struct.unpack_from("<3Q", b, 24 * i)
    for a in (frm, to):
        if a >> 47:
            continue  # kernel
        hit = [r for r in ranges if r[0] <= a < r[1]]
        if not hit:
            stray.append((brctr, hex(frm), hex(to)))
            continue
        run = hit[0][2]
        first_of.setdefault(run, i)
        last_of[run] = i
        objects.add((run, hit[0][3]))
print("user-space records per run (first, last record):", {r: (first_of[r], last_of[r]) for r in first_of})
print("objects run:", sorted(objects))
ok = True
if stray:
    print("%d user-space addresses in no mapped code, e.g. brctr %d %s -> %s" % ((len(stray),) + stray[0]))
    ok = False
for run in ("first", "second"):
    for obj in ("/hello", "/lib/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
        if (run, obj) not in objects:
            print("no record of the %s run in %s" % (run, obj))
            ok = False
if ok and last_of["first"] >= first_of["second"]:
    print("a record at the first run's addresses (record %d) after the second run began (record %d)"
          % (last_of["first"], first_of["second"]))
    ok = False
sys.exit(0 if ok else 1)
PY
echo "ok: every user-space record lies in the code its own run mapped; the runs do not interleave"
trace_window truth "$D" __x64_sys_sync __x64_sys_reboot --one-insn-per-tb --no-processes
check "the trace equals the one-instruction-per-block ground truth" cmp "$TMP/user.bts" "$TMP/truth.bts"

# Every record named, with no --symmap: the kernel from the recording's
# vmlinux, each process's code from the guest itself (its VMAs and the
# build-ids in its memory, matched to the sysroot's files; the vDSO to the
# kernel's vdso64.so debug file by build-id), each run of a process in its
# own address space. llvm-symbolizer, given the file and the bias the
# guest's own "code" lines imply, is the reference (names_check.py).
trace_task -S --sysroot "$TMP/root" -o "$TMP/named.bts" "$D" __x64_sys_sync __x64_sys_reboot >"$TMP/named.txt" \
  2>"$TMP/named.err" || fail "trace_task -S --sysroot: $(cat "$TMP/named.err")"
cat "$TMP/named.err"
check "the named window is the same trace" cmp "$TMP/user.bts" "$TMP/named.bts"
check "the summary tells the two runs of /hello apart" grep -q "user space: .* runs of 3 processes" "$TMP/named.err"
# /init's first page is never touched by user space (not mapped): its
# build-id comes from the kernel's page cache of the file.
check "every file's build-id was read from the guest" bash -c "! grep -q 'could not be read from the guest' '$TMP/named.err'"
vdso=$(ls /usr/lib/debug/lib/modules/*/vdso/vdso64.so | head -1)
check "every record has a name, agreeing with llvm-symbolizer" python3 "$src/names_check.py" "$TMP/named.txt" \
  "$TMP/named.bts" "$TMP/code" "$TMP/root" "$vdso"
check "no QEMU left" no_qemu_left
