# VMI on a paused replay: guest-physical reads from the mapped RAM file and
# guest-virtual reads through our page walk, against the same bytes read
# through QEMU's gdbstub (gdb's dump, what users do today); a vmcore
# (tt_vmi core) against QEMU's own dump-guest-memory of the same instant;
# ps of a Linux guest against drgn's task walk on the vmcore of the same
# instant; the cost of one more --at point against a full replay. On the Linux guest
# of scripts/kernel-image (256 MiB) when it is there, else the demo guest
# (64 MiB). Figures only; nothing here passes or fails.
set -euo pipefail
: "${XENTT_BIN:?run through make bench}" "${XENTT_GUEST:?}" "${XENTT_SOURCE:?}"
source "$XENTT_SOURCE/bench/lib.bash"
bench_workspace vb
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.0f} MB/s')"; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}x')"; }

if images=$(bash "$XENTT_SOURCE/scripts/kernel-image" 2>/dev/null); then
  read -r bz vmlinux <<<"$images"
  src=$XENTT_SOURCE/tests/e2e/linux_user
  gcc -O2 -static -o "$work/init" "$src/init.c" && gcc -O2 -static -o "$work/hello" "$src/hello.c"
  python3 "$src/mkinitramfs.py" "$work/initrd" init="$work/init" hello="$work/hello"
  tt_record -c -M 256 -k "$bz" -R "$work/initrd" -a "console=ttyS0 panic=-1 nokaslr quiet" --symfile "$vmlinux" \
    --checkpoint-every 250000000 vb >/dev/null 2>&1
  stop=__x64_sys_sync stop2=__x64_sys_reboot var=jiffies
  vbase=0xffff888000000000  # the direct map (nokaslr)
  guest="Linux 6.1 guest, 256 MiB"
else
  bench_record_demo vb "ticks=200 work=8192 seed=1"
  stop=demo_finish stop2=sched_tick var=demo_ticks vbase=0  # identity-mapped
  guest="demo guest, 64 MiB"
fi
echo "guest: $guest; load: $(cut -d' ' -f1-3 /proc/loadavg)"
tt_replay -q --index vb >/dev/null
tt_replay --until $stop --json vb >"$work/attach.json"
sock=$(python3 -c "import json; print(json.load(open('$work/attach.json'))['gdb_socket'])")
mem=$(python3 -c "import json; print(json.load(open('$work/attach.json'))['memory_bytes'])")
len=$((mem < 64 << 20 ? mem : 64 << 20))
len_hex=$(printf '0x%x' "$len")

# The same bytes, three ways (the first MiB below 1 MiB is RAM on a PC too).
t_phys=$(best tt_vmi vb read -P --raw 0 "$len")
t_virt=$(best tt_vmi vb read --raw "$vbase" "$len")
gdb_read() {
  timeout 600 gdb -batch -nx -ex "target remote $sock" -ex "dump binary memory $work/gdb.bin $vbase $vbase+$len_hex" \
    -ex disconnect >/dev/null 2>&1
}
t0=$(date +%s.%N); gdb_read; t1=$(date +%s.%N)
t_gdb=$(python3 -c "print($t1 - $t0)")
echo "read $((len >> 20)) MiB: physical (mapped RAM file) $(mbps "$len" "$t_phys"), virtual (our page walk) $(mbps "$len" "$t_virt"), gdbstub (gdb dump) $(mbps "$len" "$t_gdb")"
echo "  ratio vs gdbstub: physical $(ratio "$t_gdb" "$t_phys"), virtual $(ratio "$t_gdb" "$t_virt")"
echo "  (each tt_vmi figure is a whole process: start, attach, read the registers, read, write to /dev/null)"
cr3=$(tt_vmi --json vb regs | python3 -c "import json, sys; print(json.load(sys.stdin)['cr3'])")
memfile=$(python3 -c "import json; print(json.load(open('$work/attach.json'))['memory_file'])")
read -r g_phys g_virt < <("$XENTT_BUILD/bench/vmi_read_bench" "$memfile" "$mem" "$cr3" "$vbase" "$len")
gdb_gbps=$(python3 -c "print($len / $t_gdb / 1e9)")
echo "  inside one process (64 KiB reads, best of 5): physical $g_phys GB/s, virtual $g_virt GB/s;" \
  "ratio vs gdbstub: physical $(ratio "$g_phys" "$gdb_gbps"), virtual $(ratio "$g_virt" "$gdb_gbps")"

# A vmcore of the instant against QEMU's own dump of it (HMP through the gdbstub).
t_core=$(best tt_vmi vb core -o "$work/ours.core")
t0=$(date +%s.%N)
timeout 600 gdb -batch -nx -ex "target remote $sock" -ex "monitor dump-guest-memory $work/qemu.core" -ex disconnect >/dev/null 2>&1
t1=$(date +%s.%N)
t_qemu=$(python3 -c "print($t1 - $t0)")
echo "vmcore of $((mem >> 20)) MiB: tt_vmi core $(mbps "$mem" "$t_core"), QEMU dump-guest-memory $(mbps "$mem" "$t_qemu"); ratio $(ratio "$t_qemu" "$t_core")"
if [ -n "${vmlinux:-}" ] && command -v drgn >/dev/null; then
  # ps of the Linux guest: tt_vmi on the paused replay against drgn on the
  # vmcore of the same instant (drgn's for_each_task, the same walk).
  t_ps=$(best tt_vmi vb ps)
  printf 'from drgn.helpers.linux.pid import for_each_task\nfor t in for_each_task(prog): print(t.pid.value_(), t.comm.string_().decode())\n' \
    >"$work/ps.py"
  t_drgn=$(best drgn -q -c "$work/ours.core" -s "$vmlinux" "$work/ps.py")
  echo "ps of the Linux guest: tt_vmi $(printf '%.2f' "$t_ps") s (a paused replay), drgn $(printf '%.2f' "$t_drgn") s (its vmcore); ratio $(ratio "$t_drgn" "$t_ps")"
fi
tt_replay -K vb >/dev/null

# One more --at point against a full replay.
t_one=$(best tt_vmi --at $stop vb print $var)
t_two=$(best tt_vmi --at $stop --at $stop2 vb print $var)
t_full=$(best tt_replay -q vb)
echo "--at: one point $(printf '%.2f' "$t_one") s, two points $(printf '%.2f' "$t_two") s (one more: $(python3 -c "print(f'{$t_two - $t_one:.2f}')") s), a full replay $(printf '%.2f' "$t_full") s"
