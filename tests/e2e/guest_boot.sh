# The demo guest boots under real QEMU through its PVH note, takes timer
# interrupts, switches tasks, faults on purpose, checks itself and exits with
# success; and it carries what later tools rely on (DWARF, named counters).
source "$(dirname "$0")/lib/common.bash"

[ -f "$XENTT_GUEST" ] || fail "no demo guest at $XENTT_GUEST (run make)"

# What the ELF must carry: the PVH entry note (type 0x12 owned by Xen),
# DWARF for the work functions, and the counters VMI tools read by symbol.
notes=$(readelf -nW "$XENTT_GUEST")
check "PVH entry note present" grep -qE 'Xen +0x0000000[48].*(0x00000012|PHYS32_ENTRY)' <<<"$notes"
dwarf=$(readelf --debug-dump=info "$XENTT_GUEST")
for fn in work_checksum work_sieve sched_tick isr_dispatch kmain; do
  check "DWARF describes $fn" grep -q "DW_AT_name.*: $fn\$" <<<"$dwarf"
done
syms=$(nm "$XENTT_GUEST")
for v in demo_ticks demo_switches demo_div_faults demo_rounds demo_failures; do
  check "global $v in the symbol table" grep -qE " [BDbd] $v\$" <<<"$syms"
done

# Boot it with parameters of our choosing and read its serial output.
ticks=300 work=5000 seed=42
status=0
timeout 300 qemu-system-x86_64 $(demo_qemu_args) -serial "file:$TMP/serial.txt" \
  -append "ticks=$ticks work=$work seed=$seed" || status=$?
cat "$TMP/serial.txt"
out=$(tr -d '\r' <"$TMP/serial.txt")

check "guest exits through isa-debug-exit with PASS (33), got $status" test "$status" -eq 33
check "guest says PASS" grep -qx 'demo: PASS' <<<"$out"
check "guest read its command line" grep -qx "demo: ticks=$ticks work=$work seed=$seed hz=1000" <<<"$out"

done_line=$(grep '^demo: done:' <<<"$out") || fail "no summary line"
check "ran exactly $ticks timer interrupts" test "$(field ticks "$done_line")" -eq "$ticks"
switches=$(field switches "$done_line")
check "the scheduler switched tasks ($switches)" test "$switches" -gt 0
faults=$(field div_faults "$done_line")
check "divide faults were raised and handled ($faults)" test "$faults" -gt 0
check "every raised fault was handled" test "$faults" -eq "$(field expected_div_faults "$done_line")"

# An oracle independent of the guest: the number of primes below `work`.
expected_primes=$(python3 -c "
n=$work; s=bytearray([1])*n; s[0]=s[1]=0
for i in range(2,int(n**.5)+1):
    if s[i]: s[i*i::i]=bytearray(len(s[i*i::i]))
print(sum(s))")
primes_line=$(grep '^demo: primes_below_work=' <<<"$out")
check "the guest's sieve found $expected_primes primes below $work" \
  test "$(field primes_below_work "$primes_line")" -eq "$expected_primes"

# A different seed gives different data (the seed is really read).
timeout 300 qemu-system-x86_64 $(demo_qemu_args) -serial "file:$TMP/serial2.txt" \
  -append "ticks=20 work=$work seed=$((seed + 1))" || true
c1=$(field checksum "$primes_line")
c2=$(field checksum "$(grep '^demo: primes_below_work=' "$TMP/serial2.txt")")
check "the seed changes the checksummed data ($c1 vs $c2)" test "$c1" != "$c2"
