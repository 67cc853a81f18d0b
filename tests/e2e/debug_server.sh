# tt_replay --serve: one replay, several clients. Real gdb (batch) on the
# demo recording: two gdb clients (unix socket and loopback TCP) and
# tt_vmi on one server at once; breakpoint hits forward, reverse-continue
# back to each earlier hit at exactly the {eip, brctr} the branch trace of
# that stretch shows for it; demo_ticks read at each; reverse-stepi N then
# stepi N back to the same instant and registers; the target description
# shows control registers and segment bases. Then bad clients (garbage,
# bad checksums, an oversized packet, a client gone in the middle of a
# continue) leave the server serving; a port in use is refused in one line
# with nothing left behind; tt_replay -K ends the server.
source "$(dirname "$0")/lib/common.bash"

record_demo demo
tt_replay --serve --headless --json --listen 127.0.0.1:0 demo >"$TMP/serve.json" 2>"$TMP/serve.err" ||
  fail "tt_replay --serve --headless: $(cat "$TMP/serve.err")"
read -r sock tcp < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = {x["name"]: x["path"] for x in d["endpoints"]}
print(e["gdb"], e["gdb-tcp"])' "$TMP/serve.json")
check "the server's socket is mode 0600" test "$(stat -c %a "$sock")" = 600
check "the gdb endpoint is the server's, not QEMU's" test "$(basename "$sock")" = debug.sock
kernel=$XENTT_STATE/demo/kernel
tick=$(nm "$XENTT_GUEST" | awk '$3=="sched_tick"{print $1}' | sed 's/^0*/0x/')

# Client B (TCP) connects first and stays connected while A works; then it
# sees where A left the replay.
timeout 300 gdb -batch -nx -ex "target remote $tcp" -ex 'printf "B pc=%#lx\n", $pc' \
  -ex "shell while [ ! -e $TMP/a.done ]; do sleep 0.2; done" \
  -ex 'monitor when' -ex 'maintenance flush register-cache' -ex 'printf "B ticks=%lu\n", demo_ticks' -ex detach \
  "$kernel" >"$TMP/b.out" 2>&1 &
bpid=$!
for _ in $(seq 100); do grep -q '^B pc=' "$TMP/b.out" && break; sleep 0.1; done
check "client B is connected" grep -q '^B pc=0xfff0$' "$TMP/b.out"

when='monitor when'
timeout 300 gdb -batch -nx -ex "target remote $sock" \
  -ex 'info registers cr0 cr3 cr4 efer fs_base gs_base k_gs_base' \
  -ex 'break sched_tick' \
  -ex continue -ex "$when" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex continue -ex "$when" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex continue -ex "$when" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex reverse-continue -ex "$when" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex reverse-continue -ex "$when" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex 'delete' -ex 'info registers' -ex 'printf "---\n"' \
  -ex 'reverse-stepi 25' -ex "$when" -ex 'stepi 25' -ex "$when" -ex 'info registers' -ex detach \
  "$kernel" >"$TMP/a.out" 2>&1 || fail "gdb A: $(tail -5 "$TMP/a.out")"
touch "$TMP/a.done"
cat "$TMP/a.out"
for r in cr0 cr3 cr4 efer fs_base gs_base k_gs_base; do
  grep -qE "^$r +0x" "$TMP/a.out" || fail "info registers does not show $r"
done
echo "ok: info registers shows the control registers, efer and the segment bases"
mapfile -t hits < <(sed -nE 's/^icount ([0-9]+), rip (0x[0-9a-f]+), brctr ([0-9]+).*/\1 \2 \3/p' "$TMP/a.out")
mapfile -t ticks < <(sed -nE 's/^ticks=([0-9]+)$/\1/p' "$TMP/a.out")
[ "${#hits[@]}" = 7 ] || fail "want 7 'monitor when' answers, got ${#hits[@]}"
check "three hits forward at sched_tick ($tick), ticks 0, 1, 2" \
  test "${hits[0]#* }" != "" -a "$(echo "${hits[@]:0:3}" | grep -o "$tick" | wc -l)" = 3 -a "${ticks[*]:0:3}" = "0 1 2"
check "reverse-continue lands on the second hit, exactly (icount, rip, brctr)" test "${hits[3]}" = "${hits[1]}"
check "reverse-continue again lands on the first hit, exactly" test "${hits[4]}" = "${hits[0]}"
check "demo_ticks there reads 1, then 0" test "${ticks[*]:3:2}" = "1 0"
read -r ic0 _ _ <<<"${hits[4]}"
read -r ic5 _ _ <<<"${hits[5]}"
check "reverse-stepi 25 went back 25 instructions" test "$ic5" = $((ic0 - 25))
check "stepi 25 came back to the same instant" test "${hits[6]}" = "${hits[4]}"
python3 - "$TMP/a.out" <<'PY' || fail "registers after reverse-stepi 25 / stepi 25 differ from before"
import sys
text = open(sys.argv[1]).read()
before, after = text.split("---\n", 1)
def regs(t):
    return [l for l in t.splitlines() if l[:1].isalpha() and len(l.split()) >= 2 and l.split()[1].startswith("0x")]
b, a = regs(before.rsplit("ticks=", 1)[1]), regs(after.rsplit("icount", 1)[1])
assert b and b == a, (b[:3], a[:3])
PY
echo "ok: the registers after reverse-stepi 25 and stepi 25 equal those before"

# The branch trace of the same stretch: the calls landing on sched_tick
# carry the brctr that the stops reported.
trace_task -o "$TMP/t.bts" "$XENTT_STATE/demo" idt_init "$tick:${hits[2]##* }" >"$TMP/trace.out" 2>&1 ||
  fail "trace_task: $(cat "$TMP/trace.out")"
want=$(landings_on "$TMP/t.bts" "$tick")
got="${hits[0]##* } ${hits[1]##* }"
check "the trace's landings on sched_tick ($want) begin with the stops' brctr ($got)" test "${want#"$got"}" != "$want"

wait "$bpid" || true
cat "$TMP/b.out"
check "client B stayed connected while A ran, and sees where A left it (${hits[6]})" \
  grep -q "^icount ${hits[6]%% *}, " "$TMP/b.out"
check "client B reads demo_ticks there after flushing its register cache" grep -q '^B ticks=0$' "$TMP/b.out"
timeout 60 tt_vmi demo print demo_ticks >"$TMP/vmi.out" 2>"$TMP/vmi.err" || fail "tt_vmi: $(cat "$TMP/vmi.err")"
check "tt_vmi reads demo_ticks through the same server" grep -qx '0' "$TMP/vmi.out"

# The gdb/MI commands an editor sends (VS Code's C/C++ extension with
# "miDebuggerServerAddress": docs/debug-server.md), through gdb's MI.
{
  echo "-gdb-set pagination off"
  echo "-file-exec-and-symbols $kernel"
  echo "-target-select remote $sock"
  echo "-break-insert sched_tick"
  echo "-exec-continue"
  echo "-exec-continue"
  echo "-exec-continue --reverse"
  echo "-stack-list-frames"
  echo "-data-list-register-values x 16"
  echo "-data-evaluate-expression demo_ticks"
  echo '-interpreter-exec console "monitor when"'
  echo "-break-delete 1"
  echo "-exec-step --reverse"
  echo "-exec-next"
  echo "-target-detach"
  echo "-gdb-exit"
} | while read -r line; do
  # One command at a time, each after the previous one's answer (a stop's
  # *stopped record for the runs), as an editor sends them.
  echo "$line"
  case "$line" in -exec-*) sleep 3 ;; *) sleep 0.5 ;; esac
done | timeout 120 gdb --interpreter=mi -nx >"$TMP/mi.out" 2>&1 || fail "gdb MI: $(tail -3 "$TMP/mi.out")"
grep -E '^\*stopped|^\^(done|error)|icount' "$TMP/mi.out" | cut -c1-200
check "MI: three stops at the breakpoint, the third after -exec-continue --reverse" \
  test "$(grep -c '^\*stopped,reason="breakpoint-hit"' "$TMP/mi.out")" = 3
check "MI: the frame list names sched_tick" grep -q '^\^done,stack=\[frame={level="0",addr="[^"]*",func="sched_tick"' "$TMP/mi.out"
check "MI: rip (register 16) reads sched_tick" grep -q "number=\"16\",value=\"$tick\"" "$TMP/mi.out"
check "MI: demo_ticks is 1 at the second hit" grep -q '^\^done,value="1"' "$TMP/mi.out"
check "MI: monitor when through -interpreter-exec" grep -q 'icount [0-9]*, rip '"$tick" "$TMP/mi.out"
check "MI: reverse step and next end in stops" test "$(grep -c '^\*stopped,reason="end-stepping-range"' "$TMP/mi.out")" = 2

# monitor trace: the branch trace of a window, as trace_task's; monitor
# checkpoint: a checkpoint here, and going back near here still lands
# exactly on the previous hit.
timeout 120 gdb -batch -nx -ex "target remote $sock" \
  -ex "monitor trace idt_init $tick:${hits[2]##* } $TMP/mt.xtl" \
  -ex 'monitor checkpoint' -ex 'monitor checkpoints' -ex 'break sched_tick' -ex 'stepi' -ex continue \
  -ex reverse-continue -ex 'monitor when' -ex 'monitor trace idt_init sched_tick relative.xtl' \
  "$kernel" >"$TMP/mon.out" 2>&1 || true  # the refused monitor command is gdb's error: its status says so
cat "$TMP/mon.out"
# monitor goto: to the second hit's location from wherever the target is,
# and to an icount; a bad location is refused with the reason.
loc2=$(sed -nE "s/^icount ${hits[1]%% *}, .*\(location (0x[0-9a-f]+:[0-9]+)\)$/\1/p" "$TMP/a.out" | head -1)
timeout 120 gdb -batch -nx -ex "target remote $sock" -ex "monitor goto $loc2" -ex 'printf "ticks=%lu\n", demo_ticks' \
  -ex 'monitor goto icount=1000' -ex 'monitor goto nosuchsymbol' "$kernel" >"$TMP/goto.out" 2>&1 || true
cat "$TMP/goto.out"
check "monitor goto $loc2 lands on the second hit" grep -q "^icount ${hits[1]%% *}, rip $tick, brctr ${hits[1]##* } " "$TMP/goto.out"
check "gdb reads demo_ticks there (1)" grep -q '^ticks=1$' "$TMP/goto.out"
check "monitor goto icount=1000" grep -q '^icount 1000, ' "$TMP/goto.out"
check "monitor goto of an unknown symbol says so" grep -q "nosuchsymbol" "$TMP/goto.out"
bts_extract -x -o "$TMP/mt.bts" "$TMP/mt.xtl" >/dev/null 2>"$TMP/bx.err" || fail "bts_extract: $(cat "$TMP/bx.err")"
check "monitor trace wrote the same records as trace_task for the window" cmp "$TMP/mt.bts" "$TMP/t.bts"
check "monitor checkpoint saved one at the third hit" grep -q "^checkpoint saved at icount ${hits[2]%% *}, " "$TMP/mon.out"
check "the checkpoints list it" grep -q "^icount ${hits[2]%% *}, brctr ${hits[2]##* }$" "$TMP/mon.out"
check "reverse-continue from past the checkpoint lands on the third hit, exactly" \
  grep -q "^icount ${hits[2]%% *}, rip $tick, brctr ${hits[2]##* } " "$TMP/mon.out"
check "monitor trace refuses a relative path" grep -q "relative to the server" "$TMP/mon.out"

# Bad clients: the server says what happened and serves the next one.
python3 - "$sock" <<'PY' || fail "bad clients"
import socket, sys, time
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(30)
    return s
def frame(p):
    return b"$" + p + b"#%02x" % (sum(p) & 0xff)
def reply(s):
    buf = b""
    while b"#" not in buf[buf.find(b"$"):] or len(buf) < buf.find(b"#", buf.find(b"$")) + 3:
        d = s.recv(65536)
        if not d:
            raise SystemExit("server closed the connection")
        buf += d
    return buf
s = conn()
s.sendall(b"garbage\x00\xff$q#00")            # line noise, a bad checksum
s.sendall(b"$" + b"A" * 100000 + b"#00")     # oversized
s.sendall(b"$m0,10*\x20#%02x" % ((ord('m')+ord('0')+ord(',')+ord('1')+ord('0')+ord('*')+0x20) & 0xff))  # bad run length
s.sendall(frame(b"qRcmd," + b"when".hex().encode()))
r = reply(s)
assert b"+" in r and b"-" in r, r[:200]
s.close()
# A client that resumes and vanishes at once: the run stops, the server lives.
s = conn()
s.sendall(b"+" + frame(b"c"))
s.close()
time.sleep(1)
s = conn()
s.sendall(frame(b"qRcmd," + b"when".hex().encode()))
r = reply(s)
assert b"$O" in r, r[:200]
s.sendall(frame(b"qRcmd," + b"bogus".hex().encode()))
r = reply(s)
while b"E01" not in r:
    r += s.recv(65536)
s.sendall(frame(b"M0,1:00"))
r = reply(s)
while b"E01" not in r:
    r += s.recv(65536)
print("ok: garbage, a bad checksum, an oversized packet, a bad run length, a vanished client: still serving; monitor bogus and M refused")
PY
check "the server's log names the oversized packet" grep -q "over the limit" "$XENTT_STATE/demo/replay-supervisor.log"
check "the server's log names the bad checksum" grep -q "checksum" "$XENTT_STATE/demo/replay-supervisor.log"

# A port in use: one line, exit 2, no second QEMU left behind.
port=${tcp##*:}
expect_exit 2 "address already in use\|Address already in use" tt_replay --serve --headless --listen "127.0.0.1:$port" demo
expect_exit 2 "not a loopback address" tt_replay --serve --headless --listen 0.0.0.0:0 demo
# ... found before anything starts: no index is built for it (before
# 2026-11-27 the index was built and QEMU started first).
rm -rf "$XENTT_STATE/noidx"
cp -a "$XENTT_STATE/demo" "$XENTT_STATE/noidx"
rm -f "$XENTT_STATE/noidx/index.json"
expect_exit 2 "HOST must be an IPv4 address" tt_replay --serve --headless --listen nohost:1 noidx
check "a bad --listen is refused before the replay index is built" test ! -e "$XENTT_STATE/noidx/index.json"
expect_exit 2 "go with --serve" tt_replay -p --listen 127.0.0.1:0 demo
check "one replay still runs (the server's)" test "$(ls -d "$XENTT_STATE"/demo/replays/*/ | wc -l)" = 1

tt_replay -K demo >"$TMP/kill.out"
check "tt_replay -K ended the server" grep -q '^1 replay' "$TMP/kill.out"
check "no QEMU left behind" no_qemu_left
check "the server's socket is gone" test ! -e "$sock"
