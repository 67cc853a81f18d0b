#!/usr/bin/env bash
# The symbolizer on a real kernel image with DWARF 5 (Debian's
# linux-image-cloud-amd64-dbg): agreement with addr2line and llvm-symbolizer
# on random addresses inside functions, and the kernel's System.map giving
# the same symbol+offset as the ELF symbol table at function starts. When
# the image is missing it is installed (as root, as CI runs); otherwise the
# test is skipped with the reason.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}"
shopt -s nullglob
find_vmlinux() { local v=(/usr/lib/debug/boot/vmlinux-*); [ ${#v[@]} -gt 0 ] && echo "${v[-1]}"; }
vmlinux=$(find_vmlinux || true)
if [ -z "$vmlinux" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    "$XENTT_SOURCE/scripts/install-deps" kernel-dbg
    vmlinux=$(find_vmlinux || true)
  fi
  [ -n "$vmlinux" ] || { echo "SKIP: no /usr/lib/debug/boot/vmlinux-* and not root to install linux-image-cloud-amd64-dbg (scripts/install-deps kernel-dbg)"; exit 77; }
fi
echo "kernel image: $vmlinux"
python3 "$XENTT_SOURCE/tests/data/bts/symcompare.py" "$XENTT_BIN/tt_symbolize" "$vmlinux" --count 3000 --seed 11

# A user-space address below the kernel: no sized symbol covers it, and the
# unsized per-cpu labels (__per_cpu_end at 0x3xxxx) stop at the end of
# their section, so it prints raw instead of "__per_cpu_end+0x3cd000".
out=$(echo 0x401000 | "$XENTT_BIN/tt_symbolize" -e "$vmlinux")
[ "$out" = "0x401000 0x401000" ] || { echo "FAIL: user address in a kernel map: '$out'"; exit 1; }

sysmap=${vmlinux/vmlinux-/System.map-}
if [ -f "$sysmap" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Global function starts named once in System.map (aliases are ambiguous).
  awk '$2 == "T" {print $1, $3}' "$sysmap" | sort | awk '{c[$1]++; n[$1]=$2} END {for (a in c) if (c[a] == 1) print a, n[a]}' \
    | shuf -n 500 --random-source=<(yes) > "$tmp/starts"
  awk '{print $1}' "$tmp/starts" > "$tmp/addrs"
  "$XENTT_BIN/tt_symbolize" -e "$sysmap" < "$tmp/addrs" > "$tmp/map.out"
  awk '{a = $1; sub(/^0+/, "", a); printf "0x%s %s+0x0\n", a, $2}' "$tmp/starts" | diff -u - "$tmp/map.out" > "$tmp/diff" \
    || { head -20 "$tmp/diff"; echo "FAIL: System.map lookups"; exit 1; }
  echo "System.map: 500 function starts agree"
fi
echo PASS
