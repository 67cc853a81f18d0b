#!/usr/bin/env bash
# The symbolizer on real Linux kernel modules (Debian's
# linux-image-cloud-amd64-dbg: relocatable .ko files with DWARF 5 and
# .rela.debug_* sections), loaded at section addresses as a guest's module
# loader places them: symbol+offset against the symbol table, frames against
# addr2line -j .text and llvm-symbolizer on the same section offsets
# (tests/data/bts/kocompare.py); then a module as the guest loads it (the
# stripped .ko, same build-id), whose debug file tt_symbolize must find by
# build-id under /usr/lib/debug/lib/modules/ itself. Skipped when the debug
# modules are not installed.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}"
shopt -s nullglob
dirs=(/usr/lib/debug/lib/modules/*/kernel)
[ ${#dirs[@]} -gt 0 ] || { echo "SKIP: no /usr/lib/debug/lib/modules/*/kernel (scripts/install-deps kernel-dbg)"; exit 77; }
kdir=${dirs[-1]}
version=$(basename "$(dirname "$kdir")")
compare=$XENTT_SOURCE/tests/data/bts/kocompare.py
for m in drivers/net/virtio_net.ko drivers/virtio/virtio_ring.ko drivers/net/net_failover.ko fs/btrfs/btrfs.ko; do
  [ -f "$kdir/$m" ] || { echo "SKIP: no $kdir/$m"; exit 77; }
  python3 "$compare" "$XENTT_BIN/tt_symbolize" "$kdir/$m" --count 2000 --seed 5
done

# The stripped module the guest loads (scripts/shell-guest keeps them in
# ~/.cache/xentt/modules-VERSION/): its debug file is found by build-id.
stripped=${XDG_CACHE_HOME:-$HOME/.cache}/xentt/modules-$version/virtio_net.ko
if [ -f "$stripped" ]; then
  python3 "$compare" "$XENTT_BIN/tt_symbolize" "$kdir/drivers/net/virtio_net.ko" --file "$stripped" --count 500 --seed 6
else
  echo "note: no $stripped (scripts/shell-guest makes it): the stripped-module case is not run"
fi

# A section list naming a section the file lacks is fine; a malformed one
# is one line naming the spec, exit 2.
ko=$kdir/drivers/net/virtio_net.ko
out=$(echo 0xffffffffc0200010 | "$XENTT_BIN/tt_symbolize" --symmap "$ko@ffffffffc0200000-ffffffffc0300000{.text=ffffffffc0200000,.nosuch=1}:virtio_net")
case "$out" in "0xffffffffc0200010 virtio_net:"*+0x*) ;; *) echo "FAIL: module address: '$out'"; exit 1;; esac
set +e
err=$("$XENTT_BIN/tt_symbolize" --symmap "$ko{.text=zz}" </dev/null 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err == *"not a hex address"* ]] \
  || { echo "FAIL: bad section list: rc $rc: $err"; exit 1; }
echo PASS
