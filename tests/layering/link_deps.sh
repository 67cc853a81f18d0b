# Programs and libraries link only what their layer allows (docs/architecture.md):
# the file tools (bts_dump, tt_symbolize, xentt_dumplog, xentt_savelog, bts_extract) link neither
# an engine nor the session layer, by their shared libraries (ldd) and by the
# symbols they need (nm); each library needs only the libraries below it; the
# QEMU plugin needs none of ours. A negative control (tt_record, which does run
# engines) shows the check can fail.
set -euo pipefail
: "${XENTT_BUILD:?run through ctest}"
bin=$XENTT_BUILD/bin lib=$XENTT_BUILD/lib
fail() { echo "FAIL: $*" >&2; exit 1; }
bad=0

# needs FILE: our shared libraries FILE loads, one per line (ldd: transitive).
needs() { ldd "$1" | grep -o 'libxentt-[a-z-]*[a-z]' | sort -u; }
# undefined FILE: the symbols FILE takes from elsewhere, demangled.
undefined() { nm -D --undefined-only "$1" | c++filt; }

# forbid FILE WHY LIB...: FILE must load none of LIB (libxentt-NAME) and need
# no symbol of the namespaces or classes those libraries define.
forbid() {
  local file=$1 why=$2 l
  shift 2
  for l in "$@"; do
    if needs "$file" | grep -qx "$l"; then
      echo "$(basename "$file") loads $l ($why)"
      return 1
    fi
  done
  return 0
}
# Symbols that only the session layer and engines define.
upper_symbols='xentt::qemu::|xentt::xen::|xentt::StateDir|xentt::ReplaySession|xentt::RecordSession|xentt::make_engine|xentt::Target'
forbid_symbols() {
  local file=$1 hits
  hits=$(undefined "$file" | grep -E "$upper_symbols" || true)
  if [ -n "$hits" ]; then
    echo "$(basename "$file") needs symbols of the session layer or an engine: $(head -3 <<<"$hits" | tr '\n' ' ')"
    return 1
  fi
}

for t in bts_dump tt_symbolize xentt_dumplog xentt_savelog bts_extract; do
  forbid "$bin/$t" "a file tool" libxentt-debug libxentt-session libxentt-qemu libxentt-xen libxentt-xen-pt libxentt-vm || bad=1
  forbid_symbols "$bin/$t" || bad=1
done
forbid "$lib/libxentt-base.so" "base is the bottom" libxentt-symbolize libxentt-tracefmt libxentt-vm libxentt-vmi libxentt-qemu libxentt-session || bad=1
forbid "$lib/libxentt-symbolize.so" "symbolize needs only base" libxentt-tracefmt libxentt-vm libxentt-vmi libxentt-qemu libxentt-session || bad=1
forbid "$lib/libxentt-tracefmt.so" "tracefmt needs only base" libxentt-symbolize libxentt-vm libxentt-qemu libxentt-session || bad=1
forbid "$lib/libxentt-export.so" "export needs only symbolize, tracefmt and base" libxentt-vm libxentt-vmi libxentt-qemu libxentt-session || bad=1
forbid_symbols "$lib/libxentt-export.so" || bad=1
forbid "$lib/libxentt-vm.so" "vm needs only base" libxentt-symbolize libxentt-tracefmt libxentt-qemu libxentt-vmi libxentt-session || bad=1
forbid "$lib/libxentt-qemu.so" "an engine is below the session" libxentt-session libxentt-symbolize libxentt-vmi || bad=1
forbid "$lib/libxentt-xen.so" "an engine is below the session" libxentt-session libxentt-symbolize libxentt-vmi libxentt-qemu || bad=1
forbid "$lib/libxentt-vmi.so" "vmi is below the session and never names an engine" libxentt-session libxentt-qemu libxentt-xen libxentt-xen-pt libxentt-tracefmt || bad=1
forbid "$lib/libxentt-session.so" "the session never names an engine" libxentt-qemu libxentt-xen libxentt-xen-pt || bad=1
forbid "$lib/libxentt-debug.so" "the debug server never names an engine" libxentt-qemu libxentt-xen libxentt-xen-pt || bad=1
forbid "$lib/libxentt-xen-pt.so" "engine xen is below the session" libxentt-session libxentt-symbolize libxentt-vmi libxentt-qemu || bad=1
forbid_symbols "$lib/libxentt-vm.so" || bad=1
if undefined "$lib/libxentt-session.so" | grep -qE 'xentt::(qemu|xen)::'; then
  echo "libxentt-session.so needs an engine's symbols"; bad=1
fi
if [ -n "$(needs "$lib/xentt-bt.so")" ]; then
  echo "the QEMU plugin loads our shared libraries: $(needs "$lib/xentt-bt.so" | tr '\n' ' ')"; bad=1
fi
# ... nor leaves symbols of ours for them to supply (a module may link with
# undefined symbols; QEMU's dlopen would then fail): the trace log's reader
# uses base's code, the writer the plugin takes must not.
if undefined "$lib/xentt-bt.so" | grep -q 'xentt::'; then
  echo "the QEMU plugin needs symbols of our libraries: $(undefined "$lib/xentt-bt.so" | grep 'xentt::' | head -3 | tr '\n' ' ')"; bad=1
fi

# Negative control: tt_record runs engines, so the same check must flag it.
if forbid "$bin/tt_record" "control" libxentt-session libxentt-qemu >/dev/null; then
  fail "the check does not see that tt_record links the session layer and engine qemu"
fi
# ... and unit_tests, which links engine xen's vmtrace library: the check must
# see a library whose name has a hyphen (libxentt-xen-pt).
if forbid "$XENTT_BUILD/tests/unit_tests" "control" libxentt-xen-pt >/dev/null; then
  fail "the check does not see that unit_tests links libxentt-xen-pt"
fi
[ $bad = 0 ] || fail "link dependencies against the layering (above)"
echo "ok: file tools link no engine and no session code; each library needs only those below it"
