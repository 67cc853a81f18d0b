#!/usr/bin/env bash
# Debug files from a debuginfod server ($DEBUGINFOD_URLS, through elfutils'
# libdebuginfod): a real `debuginfod -F` serving a directory that holds a
# program's debug file, on a free loopback port, killed at the end. The
# stripped program (no debuglink, nothing under the debug-file directory)
# must symbolize as the unsplit one does. Then the server gone, and a
# server that accepts but never answers ($DEBUGINFOD_TIMEOUT=2): one
# warning, the symbol table's answers, no second wait for a second file.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}" "${XENTT_BUILD:?}"
command -v debuginfod > /dev/null || { echo "SKIP: debuginfod missing (scripts/install-deps)"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -5 "$tmp/server.log"; exit 1; }
tt=$XENTT_BIN/tt_symbolize
export XENTT_DEBUG_FILE_DIRECTORY=$tmp/no-debug-here
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

g++ -O2 -g -o "$tmp/prog" "$XENTT_SOURCE/tests/data/bts/inline_prog.cc"
id=$(readelf -n "$tmp/prog" | awk '/Build ID/ {print $3}')
mkdir -p "$tmp/served"
objcopy --only-keep-debug "$tmp/prog" "$tmp/served/prog.debug"
objcopy --strip-debug "$tmp/prog" "$tmp/stripped"   # no debuglink, its symbol table kept
# Two bytes into each function.
python3 - "$tmp/prog" > "$tmp/addrs" <<'PY'
import subprocess, sys
for l in subprocess.run(['nm', '-S', '--defined-only', sys.argv[1]], capture_output=True, text=True).stdout.splitlines():
    p = l.split()
    if len(p) == 4 and p[2] in 'tT' and int(p[1], 16) > 2:
        print(hex(int(p[0], 16) + 2))
PY
unset DEBUGINFOD_URLS
"$tt" -e "$tmp/prog" --inlines < "$tmp/addrs" > "$tmp/want"
"$tt" -e "$tmp/stripped" --inlines < "$tmp/addrs" > "$tmp/want_symonly" 2> /dev/null
cmp -s "$tmp/want" "$tmp/want_symonly" && fail "the symbol table alone answers like DWARF: the check checks nothing"

# The server, on a free loopback port; ready when it serves our build-id.
port=$(free_port)
debuginfod -F -p "$port" -d "$tmp/db.sqlite" -t 0 -g 0 -c 1 "$tmp/served" > "$tmp/server.log" 2>&1 &
pids+=($!)
url=http://127.0.0.1:$port
python3 - "$url/buildid/$id/debuginfo" <<'PY' || fail "debuginfod did not serve build-id $id within 60 s"
import sys, time, urllib.request
for _ in range(120):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit(1)
PY
echo "debuginfod on $url serves build-id $id"

export DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$tmp/cache1
"$tt" -e "$tmp/stripped" --inlines < "$tmp/addrs" > "$tmp/got" 2> "$tmp/err" || fail "tt_symbolize: $(cat "$tmp/err")"
diff -u "$tmp/want" "$tmp/got" > "$tmp/diff" || fail "through debuginfod: answers differ: $(head -20 "$tmp/diff")"
[ ! -s "$tmp/err" ] || fail "through debuginfod: unexpected stderr: $(cat "$tmp/err")"
ls "$tmp/cache1/$id/debuginfo" > /dev/null || fail "nothing in the client cache for $id"
echo "ok: the debug file through debuginfod"

# A build-id the server does not have: the usual "not found", naming
# debuginfod among the places looked; the server is still asked after.
g++ -O1 -g -o "$tmp/other" "$XENTT_SOURCE/tests/data/bts/inline_prog.cc"
objcopy --strip-debug "$tmp/other" "$tmp/other_stripped"
echo 0x0 | "$tt" -e "$tmp/other_stripped" > /dev/null 2> "$tmp/err" || fail "unknown build-id: exit $?"
grep -q "debuginfod $url: not there" "$tmp/err" || fail "unknown build-id: $(cat "$tmp/err")"
echo "ok: a build-id the server lacks: $(cat "$tmp/err")"

# fallback_once NAME: with DEBUGINFOD_URLS pointing at a bad server, two
# stripped files in one run: the symbol table's answers, the server's
# failure said once, the second file not waited for again.
fallback_once() {
  local name=$1
  export DEBUGINFOD_CACHE_PATH=$tmp/cache.$name
  local t0=$SECONDS
  timeout 120 "$tt" --inlines --symmap "$tmp/stripped@0-ffffffff" --symmap "$tmp/other_stripped@100000000-1ffffffff+100000000" \
    < "$tmp/addrs" > "$tmp/got" 2> "$tmp/err" || fail "$name: exit $?: $(cat "$tmp/err")"
  local took=$((SECONDS - t0))
  diff -u "$tmp/want_symonly" "$tmp/got" > "$tmp/diff" || fail "$name: not the symbol table's answers: $(head "$tmp/diff")"
  [ "$(grep -c 'going on without debuginfod' "$tmp/err")" -eq 1 ] || fail "$name: failure not said once: $(cat "$tmp/err")"
  grep -q "$DEBUGINFOD_URLS" "$tmp/err" || fail "$name: the server not named: $(cat "$tmp/err")"
  echo "ok: $name (${took} s): $(grep 'going on' "$tmp/err")"
}

# The server gone (killed; nothing listens on its port).
kill "${pids[0]}"; wait "${pids[0]}" 2> /dev/null || true; pids=()
fallback_once down

# A server that accepts connections and never answers: $DEBUGINFOD_TIMEOUT
# bounds the wait (libdebuginfod's own default is 90 s).
port2=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
end = time.time() + 300
s.settimeout(1)
while time.time() < end:
    try:
        c, _ = s.accept(); held.append(c)
    except socket.timeout:
        pass
' "$port2" &
pids+=($!)
sleep 1
export DEBUGINFOD_URLS=http://127.0.0.1:$port2 DEBUGINFOD_TIMEOUT=2
fallback_once silent
echo PASS
