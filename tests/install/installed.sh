# What `make install` puts in place works on its own: every installed public
# header compiles by itself (nothing it needs is left uninstalled or private),
# and a program built only with `pkg-config --cflags --libs xentt` links and
# runs, with engine qemu registered (engines are linked although nothing
# names them).
set -euo pipefail
: "${XENTT_BUILD:?run through ctest}" "${XENTT_SOURCE:?}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/xentt-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR="$TMP/root" cmake --install "$XENTT_BUILD" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install"; }
prefix=$(sed -n 's/^prefix=//p' "$XENTT_BUILD/xentt.pc")
root="$TMP/root$prefix"
inc="$root/include"
headers=$(cd "$inc" && find xentt -name '*.h' | sort)
[ -n "$headers" ] || fail "no headers installed under $inc"
n=0
for h in $headers; do
  printf '#include <%s>\n' "$h" >"$TMP/one.cc"
  g++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$TMP/one.cc" 2>"$TMP/err" ||
    fail "installed header $h does not compile on its own: $(head -3 "$TMP/err")"
  n=$((n + 1))
done
echo "ok: $n installed headers compile on their own"
for private in vm/qemu plugin_client.h dwarf_unit.h; do
  if (cd "$inc" && find . -path "*$private*" | grep -q .); then fail "a private header is installed: $private"; fi
done
echo "ok: no private header is installed"

cat >"$TMP/prog.cc" <<'CC'
#include <xentt/session/location.h>
#include <xentt/session/vm_config.h>
#include <xentt/symbolize/symbolizer.h>
#include <xentt/tracefmt/bts_record.h>
#include <xentt/vm/engine.h>

#include <cstdio>

int main() {
  auto sp = xentt::parse_stop_point("0x1000:42");
  auto spec = xentt::sym::parse_symmap("/x/vmlinux@ffffffff80000000-ffffffffffffffff:k");
  bool qemu = false;
  for (const auto& e : xentt::engine_names()) qemu |= e == "qemu";
  std::printf("%s %lu %s %d\n", xentt::format_location(*sp.location).c_str(),
              (unsigned long)xentt::bts::kExtendedMarker.from >> 60, spec.prefix.c_str(), qemu);
  return qemu ? 0 : 1;
}
CC
export PKG_CONFIG_PATH="$root/lib/pkgconfig:$root/lib/x86_64-linux-gnu/pkgconfig"
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs xentt) || fail "pkg-config does not know xentt"
g++ -std=c++20 "$TMP/prog.cc" -o "$TMP/prog" $flags 2>"$TMP/err" || fail "a program does not link with pkg-config's flags ($flags): $(head -5 "$TMP/err")"
libdir=$(pkg-config --define-variable=prefix="$root" --variable=libdir xentt)
out=$(LD_LIBRARY_PATH="$libdir" "$TMP/prog") || fail "the program built against the installed libraries fails (engine qemu not registered?): $out"
[ "$out" = "0x1000:42 15 k: 1" ] || fail "the installed libraries answer '$out'"
echo "ok: a program built with pkg-config --libs xentt links, runs, and finds engine qemu: $out"
