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
