# The debug server (tt_replay --serve) against QEMU's own gdbstub on the
# same demo recording, in one run: gdb's reverse-continue to a breakpoint
# hit 1M, 10M and 100M instructions back (idt_init, hit once, early in the
# boot), timed inside gdb (python perf_counter around the command); both
# must land on the hit. Then `monitor goto LOC` in a served replay against
# a fresh `tt_replay -p --until LOC` (QEMU started, positioned, ended) for
# a location late in the recording.
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"
bench_workspace demo
tt_record -c -k "$XENTT_GUEST" -a "ticks=200 work=8192 seed=1" demo >"$work/rec.out" 2>&1
tt_replay -q --index demo >/dev/null
kernel=$XENTT_STATE/demo/kernel

# gdb_at SOCKET CMDS...: gdb batch on SOCKET; prints what it printed.
gdb_at() {
  local sock=$1
  shift
  timeout 900 gdb -batch -nx -ex 'set pagination off' -ex "target remote $sock" "$@" "$kernel" 2>&1
}
endpoint() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([e["path"] for e in d["endpoints"] if e["name"]=="gdb"][0])' "$1"; }
timed() { echo "python import time; t0 = time.perf_counter()"; echo "$1"; echo 'python print("took %.3f" % (time.perf_counter() - t0))'; }

hit=$(tt_replay --serve --headless --json demo >"$work/s.json" && gdb_at "$(endpoint "$work/s.json")" -ex 'break idt_init' -ex c -ex 'monitor when' |
  sed -nE 's/^icount ([0-9]+),.*/\1/p')
tt_replay -K demo >/dev/null
timed reverse-continue >"$work/rc.gdb"
printf "  %-34s %10s %10s %7s\n" "reverse-continue to idt_init" "QEMU (s)" "xentt (s)" "ratio"
for back in 1000000 10000000 100000000; do
  at=$((hit + back))
  tt_replay -p --json --until "icount=$at" demo >"$work/p.json"
  q=$(gdb_at "$(endpoint "$work/p.json")" -ex 'break idt_init' -x "$work/rc.gdb" -ex 'printf "pc=%#lx\n", $pc')
  tt_replay -K demo >/dev/null
  tt_replay --serve --headless --json --until "icount=$at" demo >"$work/s.json"
  x=$(gdb_at "$(endpoint "$work/s.json")" -ex 'break idt_init' -x "$work/rc.gdb" -ex 'monitor when')
  tt_replay -K demo >/dev/null
  qs=$(sed -nE 's/^took (.*)/\1/p' <<<"$q")
  xs=$(sed -nE 's/^took (.*)/\1/p' <<<"$x")
  grep -q "^pc=0x100d20\|idt_init ()" <<<"$q" || echo "  (QEMU did not land on idt_init: $(tail -1 <<<"$q"))"
  grep -q "^icount $hit, " <<<"$x" || echo "  (xentt did not land on icount $hit: $(grep icount <<<"$x"))"
  printf "  %-34s %10s %10s %7s\n" "$((back / 1000000))M instructions back" "$qs" "$xs" \
    "$(python3 -c "print('%.2fx' % ($qs / $xs))")"
done

# goto: a location late in the recording, from the start of a served
# replay, against a fresh paused replay there.
loc=$(tt_replay --serve --headless --json demo >"$work/s.json" && gdb_at "$(endpoint "$work/s.json")" -ex 'break demo_finish' -ex c -ex 'monitor when' |
  sed -nE 's/.*\(location (0x[0-9a-f]+:[0-9]+)\)$/\1/p')
tt_replay -K demo >/dev/null
tt_replay --serve --headless --json demo >"$work/s.json"
timed "monitor goto $loc" >"$work/goto.gdb"
g=$(gdb_at "$(endpoint "$work/s.json")" -x "$work/goto.gdb")
tt_replay -K demo >/dev/null
gs=$(sed -nE 's/^took (.*)/\1/p' <<<"$g")
fs=$(python3 - "$loc" <<'PY'
import subprocess, sys, time
t = time.perf_counter()
subprocess.run(["tt_replay", "-p", "--until", sys.argv[1], "demo"], check=True, stdout=subprocess.DEVNULL)
subprocess.run(["tt_replay", "-K", "demo"], check=True, stdout=subprocess.DEVNULL)
print("%.3f" % (time.perf_counter() - t))
PY
)
printf "  %-34s %10s %10s %7s\n" "goto $loc" "fresh (s)" "goto (s)" "ratio"
printf "  %-34s %10s %10s %7s\n" "" "$fs" "$gs" "$(python3 -c "print('%.2fx' % ($fs / $gs))")"
