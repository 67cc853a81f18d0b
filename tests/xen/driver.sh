# tests/xen/driver.sh: what dom0 of the Xen lab runs (busybox sh) once the
# domUs printed their views: our tools against each domU by name, and
# Xen's own (xenctx, xc_translate_foreign_address). It only gathers: every
# section "==XENTT== DOMAIN WHAT" is judged on the host by
# tests/e2e/xen_lab.sh. A vmcore goes to the transfer disk (/dev/vda) for
# crash on the host.
B=$(cat /lab/build)
V=/lab/vmlinux
vmi() { "$B/bin/tt_vmi" "$@"; echo "rc=$?"; }
sec() { echo "==XENTT== $*"; }

sec all list
xl list
# The domUs that run (a PVH domU shuts down at once under QEMU's emulator
# here: see docs/xen.md; it is checked wherever it boots).
running=""
for d in pv1 pvh1; do
  if grep -q XENTT-DOMU-END "/var/log/xen/console/guest-$d.log" 2>/dev/null; then
    running="$running $d"
  else
    sec "$d" not-running
    xl list "$d" 2>&1 | tail -n 1
  fi
done
for d in $running; do
  id=$(xl domid "$d")
  sec "$d" console
  sed -n '/XENTT-DOMU-BEGIN/,/XENTT-DOMU-END/p' "/var/log/xen/console/guest-$d.log" | tr -d '\r'
  # Paused by xl for the register comparison (tt_vmi's own pause and
  # unpause nest inside: Xen counts pauses).
  xl pause "$d"
  sec "$d" xenctx
  xenctx -a "$id" 0 2>&1
  sec "$d" regs
  vmi --xen "$d" --json regs 2>&1
  sec "$d" banner
  vmi --xen --vmlinux "$V" "$d" --json print linux_banner 2>&1
  sec "$d" release
  vmi --xen --vmlinux "$V" "$d" --json print init_uts_ns.name.release 2>&1
  sec "$d" read
  vmi --xen --vmlinux "$V" "$d" --json read linux_banner 14 2>&1
  sec "$d" translate
  vmi --xen --vmlinux "$V" "$d" --json translate linux_banner 2>&1
  # The same bytes at the guest-physical address the walk gave.
  pa=$("$B/bin/tt_vmi" --xen --vmlinux "$V" "$d" --json translate linux_banner 2>/dev/null |
       sed -n 's/.*"paddr":"\(0x[0-9a-f]*\)".*/\1/p')
  sec "$d" read-physical
  vmi --xen "$d" --json read -P "${pa:-0xbad}" 14 2>&1
  sec "$d" lsmod
  vmi --xen --vmlinux "$V" "$d" --json lsmod 2>&1
  sec "$d" ps
  vmi --xen --vmlinux "$V" "$d" --json ps 2>&1
  sec "$d" dmesg
  vmi --xen --vmlinux "$V" "$d" dmesg 2>&1 | tail -n 3 | sed 's/^/dmesg: /'  # not taken for dom0's own log
  sec "$d" walk
  "$B/tests/xen/xen_walk_check" "$d" "$V" 2>&1 | tail -n 12
  sec "$d" jiffies1
  vmi --xen --vmlinux "$V" "$d" --json print jiffies 2>&1
  xl unpause "$d"
  sleep 3
  sec "$d" jiffies2
  vmi --xen --vmlinux "$V" "$d" --json print jiffies 2>&1
  # Its vmcores (ELF, and Xen's own format), copied raw onto the transfer
  # disk: pv1 at 0 and 256 MiB, pvh1 at 512 and 768 MiB.
  seek=0; [ "$d" = pvh1 ] && seek=512
  for f in elf xen; do
    sec "$d" "core-$f"
    vmi --xen --vmlinux "$V" "$d" core --format $f -o "/tmp/$d.core" >/tmp/core.out 2>&1
    cat /tmp/core.out
    if grep -q '^rc=0$' /tmp/core.out; then
      echo "core-bytes $(wc -c <"/tmp/$d.core") at $seek"
      dd if="/tmp/$d.core" of=/dev/vda bs=1M seek=$seek conv=fsync 2>/dev/null && echo "core-copied"
      rm -f "/tmp/$d.core"
    fi
    seek=$((seek + 256))
  done
done
if [ -n "${XENTT_BENCH:-}" ]; then
  for d in $running; do
    sec "$d" bench
    "$B/tests/xen/xen_read_bench" "$d" "$V" 64 2>&1
  done
fi

# Bad input: an unknown domain, dom0, not root, a domain destroyed while
# a vmcore of it is being written.
sec bad unknown
vmi --xen nosuchdomain regs 2>&1
sec bad dom0
vmi --xen Domain-0 regs 2>&1
sec bad notroot
su -s /bin/sh nobody -c "$B/bin/tt_vmi --xen pv1 regs" 2>&1; echo "rc=$?"
sec bad vmtrace-pv
vmi --xen pv1 trace -o /tmp/pv1.bts --ms 50 2>&1
ls /tmp/pv1.bts 2>/dev/null && echo "left-behind"
sec bad destroyed
("$B/bin/tt_vmi" --xen --vmlinux "$V" pv1 core -o /tmp/gone.core >/tmp/gone.out 2>&1; echo "rc=$?" >>/tmp/gone.out) &
# Destroyed once the vmcore is being written (its temporary file exists).
n=0
while [ $n -lt 600 ] && ! ls /tmp/gone.core.tmp.* >/dev/null 2>&1; do sleep 0.1; n=$((n+1)); done
ls /tmp/gone.core.tmp.* >/dev/null 2>&1 && echo "destroying while the vmcore is written"
xl destroy pv1
wait
cat /tmp/gone.out
ls /tmp/gone.core /tmp/gone.core.* 2>/dev/null && echo "left-behind"
sec bad after-destroy
vmi --xen pv1 regs 2>&1
sec end
