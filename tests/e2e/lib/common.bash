# Shared helpers for the end-to-end tests (sourced, never run as a test).
# Each test runs with XENTT_SOURCE, XENTT_BUILD, XENTT_BIN and XENTT_GUEST set
# by CTest (tests/CMakeLists.txt).
set -euo pipefail

: "${XENTT_SOURCE:?run through ctest}" "${XENTT_BUILD:?}" "${XENTT_BIN:?}" "${XENTT_GUEST:?}"

# A scratch directory removed when the test ends, whatever way it ends.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/xentt-e2e.XXXXXX")
cleanup_hooks=()
on_exit() {
  local h
  for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$TMP"
}
trap on_exit EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

skip() {
  echo "SKIP: $*"
  exit 77
}

# check DESCRIPTION COMMAND...: run a predicate; fail with the description.
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else fail "$what"; fi
}

# QEMU arguments every test uses for the demo guest: no devices but the
# serial port and isa-debug-exit; the guest exits with 33 on success.
demo_qemu_args() {
  echo -nodefaults -display none -accel tcg -m 64 -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$XENTT_GUEST"
}

# field NAME LINE: the value of NAME=VALUE in a line of the guest's output.
field() {
  sed -nE "s/.*[ :]$1=([0-9a-fx]+).*/\1/p" <<<"$2" | head -1
}

# Each test gets its own state root, so tests can run side by side.
export XENTT_STATE="$TMP/state"
export PATH="$XENTT_BIN:$PATH"
DEMO_DEVICE="isa-debug-exit,iobase=0xf4,iosize=4"

# record_demo NAME [GUEST ARGS]: record the demo guest in the foreground.
record_demo() {
  local name=$1
  shift
  tt_record -c -k "$XENTT_GUEST" -a "${*:-ticks=200 work=4096 seed=3}" --device "$DEMO_DEVICE" \
    --checkpoint-every 40000000 "$name" >"$TMP/$name.record.out" 2>"$TMP/$name.record.err" ||
    fail "tt_record $name: $(cat "$TMP/$name.record.err")"
}

# trace_window NAME STATEDIR START END [OPTION...]: trace_task --json the
# window into $TMP/NAME.bts (log NAME.xtl, summary NAME.json); a failure
# fails the test with trace_task's message.
trace_window() {
  local name=$1 dir=$2 start=$3 end=$4
  shift 4
  trace_task --json "$@" -o "$TMP/$name.bts" "$dir" "$start" "$end" >"$TMP/$name.json" 2>"$TMP/$name.err" ||
    fail "trace_task $* $start $end: $(cat "$TMP/$name.err")"
}

# expect_exit STATUS PATTERN COMMAND...: the command exits STATUS (within a
# generous bound: a hang is a failure, not a stuck CI job) with exactly one
# line on stderr, which contains PATTERN.
expect_exit() {
  local want=$1 pattern=$2 st=0
  shift 2
  timeout 300 "$@" >"$TMP/out" 2>"$TMP/err" || st=$?
  [ "$st" = "$want" ] || fail "$* exited $st, want $want: $(cat "$TMP/err")"
  grep -q -- "$pattern" "$TMP/err" || fail "$*: no '$pattern' in: $(cat "$TMP/err")"
  [ "$(wc -l <"$TMP/err")" = 1 ] || fail "$*: more than one line: $(cat "$TMP/err")"
  echo "ok: $* -> exit $st: $(cat "$TMP/err")"
}

# No QEMU may survive a test: checked at the end of every test that starts one.
qemu_of_this_test() { pgrep -f "qemu-system.*$TMP" || true; }
no_qemu_left() {
  local left
  for _ in $(seq 50); do
    left=$(qemu_of_this_test)
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "QEMU processes left: $left" >&2
  return 1
}
# Kill whatever QEMU a failed test left behind, so CI is not poisoned.
cleanup_hooks+=('for p in $(qemu_of_this_test); do kill -9 $p; done')

# landings_on BTS ADDR: the brctr of every record of an extended .bts file
# whose target is ADDR (hex), space-separated, in order.
landings_on() {
  python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
to = int(sys.argv[2], 16)
print(" ".join(str(br) for i in range(1, len(b) // 24) for frm, t, br in [struct.unpack_from("<3Q", b, 24 * i)] if t == to))
' "$1" "$2"
}
