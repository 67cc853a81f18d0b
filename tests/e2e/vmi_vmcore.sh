# tt_vmi core: a vmcore of an instant of a recorded Linux guest (the
# Debian cloud kernel of scripts/kernel-image, in an initramfs of ours),
# which crash(8) in batch mode and drgn open with the DWARF vmlinux, and in
# which both list the same tasks; the kernel's release as crash reads it
# equals what the guest's memory says.
source "$(dirname "$0")/lib/common.bash"

images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$TMP/kimg.err") || skip "no Linux guest: $(cat "$TMP/kimg.err")"
read -r bz vmlinux <<<"$images"
command -v crash >/dev/null || skip "no crash (scripts/install-deps kernel-dbg installs it)"
command -v drgn >/dev/null || skip "no drgn (scripts/install-deps kernel-dbg installs python3-drgn)"
src=$XENTT_SOURCE/tests/e2e/linux_user
gcc -O2 -static -o "$TMP/init" "$src/init.c" 2>"$TMP/cc.err" || fail "building /init: $(cat "$TMP/cc.err")"
gcc -O2 -static -o "$TMP/hello" "$src/hello.c" 2>"$TMP/cc.err" || fail "building /hello: $(cat "$TMP/cc.err")"
python3 "$src/mkinitramfs.py" "$TMP/initrd" init="$TMP/init" hello="$TMP/hello" || fail "initramfs"
tt_record -c -M 256 -k "$bz" -R "$TMP/initrd" -a "console=ttyS0 panic=-1 nokaslr quiet" --symfile "$vmlinux" \
  --checkpoint-every 250000000 lv >"$TMP/rec.out" 2>"$TMP/rec.err" || fail "tt_record: $(cat "$TMP/rec.err")"

# At /init's sync(): init runs, the kernel threads are up.
tt_vmi --at __x64_sys_sync lv core -o "$TMP/vmcore" >"$TMP/core.out" 2>"$TMP/core.err" ||
  fail "tt_vmi core: $(cat "$TMP/core.err")"
cat "$TMP/core.out"
release=$(tt_vmi --json --at __x64_sys_sync lv print init_uts_ns.name.release |
  python3 -c "import json, sys; print(json.load(sys.stdin)['result']['value'])")
echo "release in the guest's memory: $release"

# crash 8.0.2's own task table (ps) sees 2 tasks of this 6.1 kernel in QEMU's
# own dump-guest-memory core as well as in ours; its list command walks
# the task list itself.
printf 'sys\nlist task_struct.tasks -s task_struct.pid,comm -h init_task\nquit\n' |
  timeout 300 crash -s "$vmlinux" "$TMP/vmcore" >"$TMP/crash.out" 2>&1 || true
head -20 "$TMP/crash.out"
check "crash read the kernel's release from the vmcore" grep -qE "RELEASE: $release\$" "$TMP/crash.out"
grep -E '^ +(pid|comm) = ' "$TMP/crash.out" | paste - - |
  sed -nE 's/^ +pid = ([0-9]+),\s+comm = "([^\\"]*).*/\1 \2/p' | sort -n -u >"$TMP/crash.tasks"
cat > "$TMP/tasks.py" <<'PY'
from drgn.helpers.linux.pid import for_each_task
for t in for_each_task(prog):
    print(t.pid.value_(), t.comm.string_().decode())
PY
timeout 300 drgn -q -c "$TMP/vmcore" -s "$vmlinux" "$TMP/tasks.py" >"$TMP/drgn.out" 2>"$TMP/drgn.err" ||
  fail "drgn: $(tail -3 "$TMP/drgn.err")"
sort -n -u "$TMP/drgn.out" >"$TMP/drgn.tasks"
echo "tasks: crash $(wc -l <"$TMP/crash.tasks"), drgn $(wc -l <"$TMP/drgn.tasks")"
check "drgn lists init (pid 1) and kthreadd (pid 2)" grep -qx '1 init' "$TMP/drgn.tasks"
check "crash and drgn list the same tasks (crash's list starts at init_task, pid 0)" \
  diff <(grep -v '^0 ' "$TMP/crash.tasks") "$TMP/drgn.tasks"
check "more than init and kthreadd: the kernel threads are up" test "$(wc -l <"$TMP/drgn.tasks")" -gt 20
expect_exit 2 "not a Linux kernel" tt_vmi --at __x64_sys_sync --vmlinux "$XENTT_GUEST" lv core -o "$TMP/bad.core"
check "no vmcore written for a refused debug file" test ! -e "$TMP/bad.core"
check "no QEMU left behind" no_qemu_left
