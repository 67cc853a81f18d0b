# tt_vmi's Linux views on a real Linux guest (the Debian cloud kernel of
# scripts/kernel-image, booted into an initramfs whose /init prints its own
# view from /proc, tests/e2e/linux_vmi/init.c, then calls sync()). Paused in
# __x64_sys_sync, where /init is the running task:
#   ps      lists exactly the tasks /init printed (pid, tgid, ppid, comm,
#           kernel thread or not; pid 0, which /proc never shows, aside),
#           and marks /init as running;
#   dmesg   ends with the last kernel line the console showed before /init's
#           marker (timestamps included: the same record);
#   print   init_uts_ns.name.release is uname -r; jiffies is plausible;
#   lsmod   equals /proc/modules (empty in this initramfs);
#   core    a vmcore of the instant, which crash(8) (batch mode) and drgn
#           open with the vmlinux: crash reads the release, and crash's walk
#           of the task list and drgn's for_each_task list the tasks of
#           tt_vmi ps (pid and comm).
# Recorded twice: with nokaslr, and with KASLR on, where nothing is told
# the slide: tt_vmi finds it from the guest (and the stop at sync uses it).
# Bad input: a debug file that is not the guest's kernel's, a field that
# does not exist, a read through a NULL pointer: one line, exit 2, and no
# vmcore left for a refused one.
source "$(dirname "$0")/lib/common.bash"

images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>"$TMP/kimg.err") || skip "no Linux guest: $(cat "$TMP/kimg.err")"
read -r bz vmlinux <<<"$images"
gcc -O2 -static -o "$TMP/init" "$XENTT_SOURCE/tests/e2e/linux_vmi/init.c" 2>"$TMP/cc.err" ||
  fail "building /init: $(cat "$TMP/cc.err")"
python3 "$XENTT_SOURCE/tests/e2e/linux_user/mkinitramfs.py" "$TMP/initrd" init="$TMP/init" || fail "initramfs"

# record NAME KASLR-ARG: boot to /init's poweroff. ignore_loglevel: the
# console shows every record dmesg has.
record() {
  tt_record -c -M 256 -k "$bz" -R "$TMP/initrd" -a "console=ttyS0 panic=-1 $2 ignore_loglevel" \
    --symfile "$vmlinux" "$1" >"$TMP/rec.out" 2>"$TMP/rec.err" || fail "tt_record $1: $(cat "$TMP/rec.err")"
  tr -d '\r' <"$XENTT_STATE/$1/console.log" >"$TMP/$1.console"
  grep -q '^VMI-SYNC$' "$TMP/$1.console" || fail "$1: /init did not get to sync(): $(tail -5 "$TMP/$1.console")"
}

# vmcore_checks NAME RELEASE [CRASH OPTION...]: tt_vmi core of the paused
# replay, opened by crash and drgn, lists the tasks of tt_vmi ps
# ($TMP/NAME.ps.json). drgn reads the slide from the core's VMCOREINFO
# (KERNELOFFSET); crash 8.0.2 applies it to an ELF core when told so
# (--kaslr auto), else it reads the vmlinux's unrelocated addresses.
# crash 8.0.2's own task table (its ps) sees 2 tasks of this 6.1 kernel, in
# QEMU's dump-guest-memory core as well as in ours; its list command walks
# init_task.tasks itself (thread-group leaders: every task of this guest).
vmcore_checks() {
  local vm=$1 release=$2 core=$TMP/$1.vmcore
  shift 2
  tt_vmi "$vm" core -o "$core" >"$TMP/core.out" 2>"$TMP/err" || fail "tt_vmi core: $(cat "$TMP/err")"
  cat "$TMP/core.out"
  printf 'sys\nlist task_struct.tasks -s task_struct.pid,comm -h init_task\nquit\n' |
    timeout 300 crash -s "$@" "$vmlinux" "$core" >"$TMP/crash.out" 2>&1 || true
  grep -E '^ +(RELEASE|TASKS|DUMPFILE):' "$TMP/crash.out" || true
  check "$vm: crash read the release from the vmcore" grep -qE "^ +RELEASE: $release\$" "$TMP/crash.out"
  grep -E '^ +(pid|comm) = ' "$TMP/crash.out" | paste - - |
    sed -nE 's/^ +pid = ([0-9]+),\s+comm = "([^\\"]*).*/\1 \2/p' | sort -n >"$TMP/crash.tasks"
  timeout 300 drgn -q -c "$core" -s "$vmlinux" "$XENTT_SOURCE/tests/e2e/linux_vmi/tasks.py" 2>"$TMP/err" |
    sort -n >"$TMP/drgn.tasks" || fail "drgn: $(tail -3 "$TMP/err")"
  python3 -c "
import json
for t in sorted(json.load(open('$TMP/$vm.ps.json')), key=lambda t: t['pid']): print(t['pid'], t['comm'])" \
    >"$TMP/ps.tasks"
  echo "tasks: tt_vmi ps $(wc -l <"$TMP/ps.tasks"), crash $(wc -l <"$TMP/crash.tasks"), drgn $(wc -l <"$TMP/drgn.tasks")"
  check "$vm: crash's task list in the vmcore is tt_vmi ps's" diff "$TMP/crash.tasks" "$TMP/ps.tasks"
  check "$vm: drgn's for_each_task in the vmcore is tt_vmi ps's (pid 0 aside)" \
    diff "$TMP/drgn.tasks" <(grep -v '^0 ' "$TMP/ps.tasks")
  rm -f "$core"
}

# checks NAME: tt_vmi against /init's view, at the paused replay in sync.
checks() {
  local vm=$1 c="$TMP/$1.console"
  local t0 t1
  t0=$(date +%s.%N)
  tt_vmi --json "$vm" ps >"$TMP/$vm.ps.json" 2>"$TMP/err" || fail "tt_vmi ps: $(cat "$TMP/err")"
  t1=$(date +%s.%N)
  echo "tt_vmi ps ($vm): $(python3 -c "print(round($t1 - $t0, 2))") s"
  tt_vmi "$vm" ps >"$TMP/$vm.ps" || fail "tt_vmi ps"
  head -4 "$TMP/$vm.ps"
  grep '^>' "$TMP/$vm.ps" || true
  check "$vm: ps lists exactly the tasks /init printed, /init running" python3 - "$c" "$TMP/$vm.ps.json" <<'PY'
import json, re, sys
def comm(c):
    # /proc shows a kworker's workqueue after its comm ("kworker/0:1-events"),
    # and a kernel thread's full name where comm keeps 15 bytes.
    return re.sub(r'^(kworker/[^-+]*)[-+].*$', r'\1', c)[:15]
theirs = set()
for line in open(sys.argv[1]):
    m = re.match(r'^task (\d+) (\d+) (\d+) ([01]) (.*)$', line.rstrip('\n'))
    if m:
        theirs.add((int(m[1]), int(m[2]), int(m[3]), m[4] == '1', comm(m[5])))
ps = json.load(open(sys.argv[2]))
ours = {(t['pid'], t['tgid'], t['ppid'], t['kernel_thread'], comm(t['comm'])) for t in ps if t['pid'] != 0}
print(len(theirs), "tasks in /proc,", len(ours), "in tt_vmi ps (pid 0 aside)")
for x in sorted(theirs - ours): print("only /init saw:", x)
for x in sorted(ours - theirs): print("only tt_vmi saw:", x)
running = [t for t in ps if t['running']]
print("running:", running)
assert theirs and theirs == ours
assert len(running) == 1 and running[0]['pid'] == 1 and running[0]['comm'] == 'init' and running[0]['state'] == 'R'
assert any(t['pid'] == 0 and t['comm'] == 'swapper/0' for t in ps)
PY
  tt_vmi "$vm" dmesg >"$TMP/$vm.dmesg" 2>"$TMP/err" || fail "tt_vmi dmesg: $(cat "$TMP/err")"
  local last_console last_ours
  last_console=$(sed '/^VMI-SYNC$/,$d' "$c" | grep -E '^\[ *[0-9]+\.[0-9]{6}\] ' | tail -1)
  last_ours=$(tail -1 "$TMP/$vm.dmesg")
  echo "console: $last_console"
  echo "dmesg:   $last_ours ($(wc -l <"$TMP/$vm.dmesg") lines)"
  check "$vm: dmesg's last line is the console's last kernel line before /init's marker" \
    test -n "$last_ours" -a "$last_ours" = "$last_console"
  check "$vm: dmesg starts with the kernel's banner" grep -qE '^\[ +0\.000000\] Linux version ' "$TMP/$vm.dmesg"
  tt_vmi --json "$vm" dmesg >"$TMP/$vm.dmesg.json"
  check "$vm: dmesg --json: records with rising seq, the same text" python3 -c "
import json; r = json.load(open('$TMP/$vm.dmesg.json'))
assert len(r) > 100 and all(b['seq'] > a['seq'] for a, b in zip(r, r[1:])), len(r)
assert r[-1]['text'] in open('$TMP/$vm.dmesg').read().splitlines()[-1]"
  tt_vmi --json "$vm" print init_uts_ns.name.release >"$TMP/rel.json"
  release=$(sed -n 's/^release //p' "$c")
  check "$vm: init_uts_ns.name.release = $release, as uname -r" python3 -c "
import json; v = json.load(open('$TMP/rel.json'))
s = v if isinstance(v, str) else v.get('value', v)
assert isinstance(s, str) and s.rstrip('\0') == '$release', v"
  tt_vmi "$vm" print jiffies >"$TMP/jiffies"
  uptime=$(tail -1 "$TMP/$vm.dmesg" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
  check "$vm: jiffies $(cat "$TMP/jiffies") is the uptime ($uptime s, dmesg's last) in ticks since INITIAL_JIFFIES" \
    python3 -c "
j = int(open('$TMP/jiffies').read().split()[-1], 0)
# INITIAL_JIFFIES = (unsigned int)(-300 * HZ): 32 bits, whatever the word size.
assert any(abs(((j + 300 * hz) % 2**32) / hz - $uptime) < 1 for hz in (100, 250, 300, 1000)), j"
  if [ "$vm" = lk ]; then vmcore_checks "$vm" "$release" --kaslr auto; else vmcore_checks "$vm" "$release"; fi
  tt_vmi --json "$vm" lsmod >"$TMP/lsmod.json" 2>"$TMP/err" || fail "tt_vmi lsmod: $(cat "$TMP/err")"
  check "$vm: lsmod equals /proc/modules" python3 -c "
import json; ours = [m['name'] for m in json.load(open('$TMP/lsmod.json'))]
theirs = [l.split()[1] for l in open('$c') if l.startswith('module ')]
assert ours == theirs, (ours, theirs)"
}

record lv nokaslr
tt_replay --until __x64_sys_sync --json lv >"$TMP/attach.json" || fail "tt_replay --until __x64_sys_sync"
checks lv
check "lv: the slide found from the guest booted with nokaslr is 0" test "$(tt_vmi lv kaslr)" = 0x0

# Bad input at the same instant.
expect_exit 2 "no init_task" tt_vmi --vmlinux "$XENTT_GUEST" lv ps
expect_exit 2 "nope" tt_vmi lv print init_task.nope
expect_exit 2 "init_task.mm" tt_vmi lv print '*init_task.mm'
expect_exit 2 "not a Linux kernel" tt_vmi --vmlinux "$XENTT_GUEST" lv core -o "$TMP/bad.core"
check "no vmcore written for a refused debug file" test ! -e "$TMP/bad.core"
tt_replay -K lv >/dev/null

# KASLR on: nothing tells tt_vmi the slide. It finds it at the end of the
# recording; the stop in sync is then at __x64_sys_sync plus the slide.
record lk kaslr
[ -f "$XENTT_STATE/lk/index.json" ] || tt_replay --index -q lk >/dev/null || fail "tt_replay --index lk"
end=$(python3 -c "import json; print(json.load(open('$XENTT_STATE/lk/index.json'))['final_icount'])")
tt_replay --until "icount=$((end - 1000))" --json lk >/dev/null || fail "tt_replay --until icount=$((end - 1000))"
slide=$(tt_vmi lk kaslr) || fail "tt_vmi kaslr"
tt_replay -K lk >/dev/null
echo "KASLR slide found from the guest: $slide"
check "the KASLR slide is not 0" test "$((slide))" != 0
sync_at=$(nm "$vmlinux" | awk '$3 == "__x64_sys_sync" { print $1 }')
tt_replay --until "$(printf '%#x' $((0x$sync_at + slide)))" --json lk >/dev/null || fail "tt_replay --until sync + slide"
checks lk
# The symbol maps as the guest has them: the kernel's moved by the slide;
# bts_dump and tt_symbolize read them as a list.
tt_vmi lk symmaps >"$TMP/lk.maps" || fail "tt_vmi symmaps"
cat "$TMP/lk.maps"
check "symmaps moves the kernel's map by the slide" grep -q "@0-ffffffffffffffff+$(printf '%x' $((slide)))$" "$TMP/lk.maps"
check "tt_symbolize names sync's address plus the slide with the list" \
  test "$(printf '%#x\n' $((0x$sync_at + slide)) | tt_symbolize --symmap-list "$TMP/lk.maps")" = \
  "$(printf '%#x' $((0x$sync_at + slide))) __x64_sys_sync+0x0"
tt_replay -K lk >/dev/null
# trace_task names a KASLR guest's branches with the slide it finds:
# sync's call of ksys_sync lands on ksys_sync+0x0 (addresses as linked
# would name another function: the slide moves by 2 MiB steps).
ksys_at=$(nm "$vmlinux" | awk '$3 == "ksys_sync" { print $1 }')
trace_task -S -o "$TMP/lk.bts" "$XENTT_STATE/lk" "$(printf '%#x' $((0x$sync_at + slide)))" \
  "$(printf '%#x' $((0x$ksys_at + slide)))" >"$TMP/lk.trace" 2>"$TMP/lk.trace.err" ||
  fail "trace_task on the KASLR guest: $(cat "$TMP/lk.trace.err")"
cat "$TMP/lk.trace.err"
check "trace_task says it used the slide" grep -q "KASLR slide $slide" "$TMP/lk.trace.err"
check "the window's last branch lands on ksys_sync+0x0" sh -c "tail -1 '$TMP/lk.trace' | grep -q 'ksys_sync+0x0'"
check "no QEMU left" no_qemu_left
