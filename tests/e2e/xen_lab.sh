# Engine xen against a real Xen 4.17 booted under QEMU's emulator
# (scripts/xen-lab): dom0 runs tests/xen/driver.sh against a PV and a PVH
# domU by name, and this judges what it gathered (tests/xen/judge.py):
#   regs     tt_vmi regs equals what Xen's xenctx prints for vCPU 0;
#   print    linux_banner is the banner the domU printed (/proc/version),
#            init_uts_ns.name.release its uname -r;
#   ps       lists every task the domU printed (pid, comm);
#   jiffies  advances across an unpause;
#   walk     our page walk equals xc_translate_foreign_address across the
#            kernel image, the direct map and every task's stack;
#   core     each domU's ELF vmcore opens in drgn here, on the host (its
#            task list = tt_vmi ps), and an HVM/PVH domU's in crash (its
#            release, its task list); a PV domU's ELF vmcore is in its
#            kernel's pseudo-physical numbering with canonical page tables,
#            which crash does not read (it takes a PV kernel's memory only
#            from Xen's own format): its core --format xen opens in crash;
#   errors   an unknown domain, dom0, not root, a domain destroyed while its
#            vmcore is written: one line, exit 2 / 1, no file left.
# A PVH domU shuts down at once under QEMU's emulator here (docs/xen.md):
# the judge says so ("NOT VERIFIED") and checks it wherever it boots.
# The lab boots, runs this and powers off by itself (limit 300 s).
# XENLAB_KEEP=DIR keeps the serial log, the vmcores and their crash and drgn
# outputs there.
source "$(dirname "$0")/lib/common.bash"

out=$TMP/lab
set +e
bash "$XENTT_SOURCE/scripts/xen-lab" --driver "$XENTT_SOURCE/tests/xen/driver.sh" --out "$out" --timeout 300 \
  "$XENTT_BUILD" "$TMP/serial.log" 2>"$TMP/lab.err"
rc=$?
set -e
[ $rc = 77 ] && skip "$(cat "$TMP/lab.err")"
tr -d '\r' <"$TMP/serial.log" >"$TMP/serial.txt"
[ -n "${XENLAB_KEEP:-}" ] && mkdir -p "$XENLAB_KEEP" && cp "$TMP/serial.txt" "$XENLAB_KEEP/"
[ $rc = 0 ] || { tail -n 60 "$TMP/serial.txt"; fail "the Xen lab: $(cat "$TMP/lab.err")"; }
read -r _ vmlinux < <(bash "$XENTT_SOURCE/scripts/kernel-image")

# Each domU's vmcore, from the transfer disk, opened by crash.
cores=()
while read -r dom bytes seek; do
  dd if="$out/xfer.img" of="$TMP/$dom.core" bs=1M skip="$seek" count=$(((bytes + 1048575) >> 20)) 2>/dev/null
  truncate -s "$bytes" "$TMP/$dom.core"
  printf 'sys\nlist task_struct.tasks -s task_struct.pid,comm -h init_task\nquit\n' |
    timeout 300 crash -s "$vmlinux" "$TMP/$dom.core" >"$TMP/$dom.crash" 2>&1 || true
  grep -E '^ +(RELEASE|TASKS|DUMPFILE):' "$TMP/$dom.crash" || true
  timeout 300 drgn -q -c "$TMP/$dom.core" -s "$vmlinux" "$XENTT_SOURCE/tests/e2e/linux_vmi/tasks.py" \
    >"$TMP/$dom.drgn" 2>&1 || true
  cores+=("$dom=$TMP/$dom")
  [ -n "${XENLAB_KEEP:-}" ] && mkdir -p "$XENLAB_KEEP" && cp "$TMP/$dom.core" "$TMP/$dom.crash" "$TMP/$dom.drgn" "$XENLAB_KEEP/"
  rm -f "$TMP/$dom.core"
done < <(awk '/^==XENTT== /{d=$2; w=$3} /^core-bytes /{print d "." w, $2, $4}' "$TMP/serial.txt")
check "the lab's results" python3 "$XENTT_SOURCE/tests/xen/judge.py" "$TMP/serial.txt" "${cores[@]}"
