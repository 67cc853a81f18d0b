#!/usr/bin/env bash
# Live streaming of trace logs (docs/trace-stream.md) on the demo guest:
# trace_task --stream to the save server (xentt_savelog) leaves a saved log
# equal byte for byte to the local .xtl, also with two producers at once;
# bts_extract --send of the saved log gives it back equal again; the Python
# consumer in docs/ counts what xentt_dumplog counts. Bad input: a consumer
# that closes early (trace_task exits 1 with one line, its own .xtl complete
# and .bts written), garbage, a wrong version and a cut stream (refused or
# kept as .partial, the server serves the next producer), a silent client
# (blocks nobody), a file or a live server at the socket path (untouched).
source "$(dirname "$0")/lib/common.bash"
consumer=$XENTT_SOURCE/docs/xtl_consumer.py

record_demo demo
D=$XENTT_STATE/demo
S=$TMP/save.sock
mkdir "$TMP/saved"
runtime_dirs() { find "$D/replays" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; fail "nobody listens at $1"; }

xentt_savelog --json "unix:$S" -o "$TMP/saved" >"$TMP/srv.out" 2>"$TMP/srv.err" &
srv=$!
cleanup_hooks+=("kill $srv 2>/dev/null")
wait_socket "$S"
check "the save server's socket is mode 0600" test "$(stat -c %a "$S")" = 600

# saved_as JSON: the file the consumer saved the stream as.
saved_as() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stream"]["saved_as"])' "$1"; }

# One producer: the saved log is the local log.
trace_window a "$D" idt_init demo_finish --stream "unix:$S"
a_saved=$(saved_as "$TMP/a.json")
check "streamed log saved as $(basename "$a_saved")" test -f "$a_saved"
check "saved log equals the local .xtl byte for byte" cmp "$TMP/a.xtl" "$a_saved"

# Two producers at once, each saved whole under its own name.
trace_task --json -o "$TMP/b.bts" --stream "unix:$S" "$D" idt_init demo_finish >"$TMP/b.json" 2>"$TMP/b.err" & pb=$!
trace_task --json -o "$TMP/c.bts" --stream "unix:$S" "$D" idt_init demo_finish >"$TMP/c.json" 2>"$TMP/c.err" ||
  fail "trace_task c: $(cat "$TMP/c.err")"
wait $pb || fail "trace_task b: $(cat "$TMP/b.err")"
for x in b c; do
  check "concurrent producer $x: saved log equals its local log" cmp "$TMP/$x.xtl" "$(saved_as "$TMP/$x.json")"
done
check "two producers, two saved files" test "$(saved_as "$TMP/b.json")" != "$(saved_as "$TMP/c.json")"

# bts_extract --send of the saved log: saved again, equal again.
bts_extract --send "unix:$S" "$a_saved" 2>"$TMP/send.err" || fail "bts_extract --send: $(cat "$TMP/send.err")"
resent=$(sed -nE 's/.*saved them as (.*)$/\1/p' "$TMP/send.err")
check "bts_extract --send: the resent log equals the first" cmp "$a_saved" "$resent"
expect_exit 2 "do not apply" bts_extract --send "unix:$S" -S 5 "$a_saved"
expect_exit 2 "want unix:PATH" bts_extract --send "tcp:1234" "$a_saved"
# A log damaged past its header is found frame by frame while it is sent:
# bad input (status 2) naming the offset, as in every reader (it was
# status 1 before 2026-11-27).
cp "$a_saved" "$TMP/damaged.xtl"
python3 - "$TMP/damaged.xtl" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
o = len(b) * 2 // 3
for i in range(o, o + 8): b[i] ^= 0x5a
open(p, "wb").write(b)
PY
expect_exit 2 "damaged.xtl: offset" bts_extract --send "unix:$S" "$TMP/damaged.xtl"

# Clients that are not producers, in Python: each gets a refusal with the
# reason (or, cut, a receipt for a .partial), and the server goes on.
client() {
  python3 - "$S" "$@" <<'PY'
import json, socket, struct, sys, time
path, mode = sys.argv[1], sys.argv[2]
MAGIC = b"\x89XTS\r\n\x1a\n"
def msg(version, obj):
    b = json.dumps(obj).encode()
    return MAGIC + struct.pack("<II", version, len(b)) + b
def reply(s):
    data = b""
    while True:
        got = s.recv(65536)
        if not got: break
        data += got
    last = "no message: %r" % data[:40]
    while len(data) >= 16 and data[:8] == MAGIC:  # the last message: a refusal, or the receipt
        n = struct.unpack("<I", data[12:16])[0]
        last, data = json.loads(data[16:16 + n]), data[16 + n:]
    return last
s = socket.socket(socket.AF_UNIX); s.connect(path)
hello = {"type": "hello", "producer": "test", "name": "cut.xtl", "pid": 1, "log_format_version": 1}
if mode == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
elif mode == "version":
    s.sendall(msg(2, hello))
elif mode == "silent":
    time.sleep(float(sys.argv[3])); sys.exit(0)
elif mode == "cut":
    s.sendall(msg(1, hello))
    log = open(sys.argv[3], "rb").read()
    s.sendall(log[:int(sys.argv[4])]); s.shutdown(socket.SHUT_WR)
print(json.dumps(reply(s)))
PY
}
client silent 8 & silent=$!
client garbage >"$TMP/g.out"
check "garbage: refused, saying why" grep -q '"reason": "client [0-9]*: not an xtl stream' "$TMP/g.out"
client version >"$TMP/v.out"
check "wrong version: refused, saying why" grep -q 'protocol version 2, this one 1' "$TMP/v.out"
# While the silent client holds its connection, a producer is served.
bts_extract --send "unix:$S" "$TMP/b.xtl" 2>"$TMP/send2.err" || fail "send beside a silent client: $(cat "$TMP/send2.err")"
check "a silent client blocks nobody" kill -0 $silent
wait $silent
# A stream cut in a frame: what came in whole frames is kept as .partial.
client cut "$TMP/a.xtl" 1000 >"$TMP/cut.out"
check "cut stream: the receipt says .partial" grep -q '"complete": false.*cut\.xtl\.partial' "$TMP/cut.out"
cut_file=$(ls "$TMP"/saved/cut*.partial)
whole=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$TMP/cut.out")
check "cut stream: the whole frames before the cut are kept" cmp -n "$whole" "$cut_file" "$TMP/a.xtl"
check "cut stream: they are the $whole bytes sent whole" test "$(stat -c %s "$cut_file")" = "$whole" -a "$whole" -gt 16
check "the server logged the refusals" grep -c refused "$TMP/srv.err"

# A socket path that exists: a live server is not replaced, a file never.
expect_exit 2 "a save server already listens at $S" xentt_savelog "unix:$S" -o "$TMP/saved"
echo precious >"$TMP/file.sock"
expect_exit 2 "exists and is not a socket" xentt_savelog "unix:$TMP/file.sock" -o "$TMP/saved"
check "the file at the socket path is untouched" test "$(cat "$TMP/file.sock")" = precious
# ... and a producer pointed at it, or at nothing, fails before any replay.
expect_exit 1 "no consumer listens there" trace_task -o "$TMP/n.bts" --stream "unix:$TMP/file.sock" "$D" idt_init demo_finish
expect_exit 1 "no consumer listens there" trace_task -o "$TMP/n.bts" --stream "unix:$TMP/none.sock" "$D" idt_init demo_finish
check "no replay was started for them" test "$(runtime_dirs)" = 0 -a ! -e "$TMP/n.xtl"

# The Python consumer counts what xentt_dumplog counts.
python3 "$consumer" --json -o "$TMP/py.xtl" "unix:$TMP/py.sock" >"$TMP/py.out" 2>"$TMP/py.err" & py=$!
wait_socket "$TMP/py.sock"
bts_extract --send "unix:$TMP/py.sock" "$TMP/a.xtl" 2>"$TMP/send3.err" || fail "send to Python: $(cat "$TMP/send3.err")"
wait $py || fail "xtl_consumer.py: $(cat "$TMP/py.err")"
xentt_dumplog --json "$TMP/a.xtl" >"$TMP/dump.json"
python3 - "$TMP/py.out" "$TMP/dump.json" <<'PY' || fail "xtl_consumer.py's counts differ from xentt_dumplog's"
import json, sys
py, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert py["complete"] and d["complete"], (py, d)
assert py["frames"] == d["frames"], (py["frames"], d["frames"])
assert py["branches"] == d["branches"] > 0, (py["branches"], d["branches"])
assert py["header"] == d["header"], (py["header"], d["header"])
PY
echo "ok: xtl_consumer.py counts $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["branches"])' "$TMP/py.out") branches, as xentt_dumplog"
check "xtl_consumer.py received the log byte for byte" cmp "$TMP/a.xtl" "$TMP/py.xtl"

# A consumer that closes early: trace_task says so in one line, exits 1,
# and its own log and .bts are complete.
for after in 0 3000; do
  python3 "$consumer" --close-after $after "unix:$TMP/early.sock" >/dev/null 2>&1 & py=$!
  wait_socket "$TMP/early.sock"
  rm -f "$TMP/e.bts" "$TMP/e.xtl"
  expect_exit 1 "the consumer went away after" trace_task --json -o "$TMP/e.bts" --stream "unix:$TMP/early.sock" "$D" idt_init demo_finish
  wait $py || true
  check "consumer gone after $after bytes: the local .xtl is complete" \
    python3 -c 'import json,sys; assert json.loads(sys.stdin.read())["complete"]' < <(xentt_dumplog --json "$TMP/e.xtl")
  check "consumer gone after $after bytes: the .bts is the whole window" cmp "$TMP/a.bts" "$TMP/e.bts"
done

# Ctrl-C ends the server cleanly: exit 0, its socket gone, nothing left.
kill -INT $srv
st=0
wait $srv || st=$?
check "SIGINT: the save server exits 0" test "$st" = 0
check "SIGINT: its socket is removed" test ! -e "$S"
check "no temporary file left in the save directory" test -z "$(find "$TMP/saved" -name '.*receiving')"
check "every saved line is JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/srv.out"
check "no QEMU left" no_qemu_left
