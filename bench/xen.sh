# Engine xen on a live domU of the Xen lab (scripts/xen-lab: Xen 4.17 under
# QEMU's emulator, a 160 MiB PV domU): reading 64 MiB of its memory with
# tt_vmi's reads (tests/xen/xen_read_bench: frames mapped 64 per
# hypercall and cached; physical, and virtual through our page walk of the
# direct map) against the same frames read the way LibVMI's Xen driver
# does (xc_map_foreign_range of one page, copy, munmap). Both run in dom0
# in one run; the emulator slows both alike, so the ratio is the figure.
set -euo pipefail
: "${XENTT_BUILD:?run through make bench}" "${XENTT_SOURCE:?}"
work=$(mktemp -d "${TMPDIR:-/tmp}/xentt-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
driver=$work/driver.sh
cat >"$driver" <<'DRIVER'
B=$(cat /lab/build)
for d in pv1 pvh1; do
  grep -q XENTT-DOMU-END "/var/log/xen/console/guest-$d.log" 2>/dev/null || { echo "bench: $d did not boot"; continue; }
  echo "bench: domain $d"
  "$B/tests/xen/xen_read_bench" "$d" /lab/vmlinux 64 2>&1
done
DRIVER
if ! bash "$XENTT_SOURCE/scripts/xen-lab" --driver "$driver" --out "$work/lab" --timeout 400 "$XENTT_BUILD" \
  "$work/serial.log" 2>"$work/err"; then
  echo "xen: the lab did not run: $(cat "$work/err")"
  exit 0
fi
echo "machine load: $(cut -d' ' -f1-3 /proc/loadavg)"
tr -d '\r' <"$work/serial.log" | grep -E '^bench' | sed 's/^bench:* */  /'
