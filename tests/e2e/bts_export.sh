# The exports (docs/exports.md) of a real trace of the demo guest: a traced
# window (timer interrupts, divide faults, calls and returns), exported by
# bts_dump from the .bts file (kinds and instruction counts decoded from
# the guest's code) and by trace_task from the trace log (kinds and icounts
# the tracer recorded). Each format is read by a checker written here from
# the format's description, and what it says is compared with what
# objdump and nm (not our decoder or symbolizer) say of the same records.
source "$(dirname "$0")/lib/common.bash"

record_demo demo ticks=10 work=512 seed=3
D=$XENTT_STATE/demo
ELF=$XENTT_GUEST

# The same window twice: once for the .bts, once exported from the log.
trace_window win "$D" idt_init demo_finish
trace_task -q --format folded --weight branches -o "$TMP/win2.bts" "$D" idt_init demo_finish >"$TMP/log.folded" 2>"$TMP/log.err" ||
  fail "trace_task --format folded: $(cat "$TMP/log.err")"
check "no QEMU left behind" no_qemu_left
check "two traces of the window are the same" cmp "$TMP/win.bts" "$TMP/win2.bts"

for f in folded perf drcov perfetto perfetto-proto; do
  bts_dump --format $f -e "$ELF" "$TMP/win.bts" >"$TMP/out.$f" 2>"$TMP/err.$f" ||
    fail "bts_dump --format $f: $(cat "$TMP/err.$f")"
  [ ! -s "$TMP/err.$f" ] || fail "bts_dump --format $f warned: $(cat "$TMP/err.$f")"
done
bts_dump --format folded --weight branches -e "$ELF" "$TMP/win.bts" >"$TMP/out.folded_branches"
# The maps from the state directory (its symfiles list) give the same export.
bts_dump --format drcov -s "$D" "$TMP/win.bts" >"$TMP/out.drcov_statedir"
check "-s STATEDIR exports as -e ELF does" cmp <(sed 1,5d "$TMP/out.drcov") <(sed 1,5d "$TMP/out.drcov_statedir")

objdump -d -w "$ELF" >"$TMP/objdump.txt"
nm "$ELF" >"$TMP/nm.txt"

python3 - "$TMP" >"$TMP/py.out" 2>&1 <<'PY' || fail "checks: $(cat "$TMP/py.out")"
import json, re, struct, sys
tmp = sys.argv[1]

# The records, read from the layout of docs/bts-format.md.
data = open(f"{tmp}/win.bts", "rb").read()
recs = [struct.unpack_from("<QQQ", data, o) for o in range(24, len(data), 24)]
assert len(recs) > 100000, len(recs)

# The guest's instructions as objdump decodes them: address -> (length, mnemonic, operands).
insn = {}
line_re = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(\S+)\s*(.*)$")
for l in open(f"{tmp}/objdump.txt"):
    m = line_re.match(l.rstrip("\n"))
    if m:
        insn[int(m[1], 16)] = (len(m[2]) // 3, m[3], m[4])
starts = sorted(insn)

# Kinds from objdump's mnemonics: a branch that went where it leads
# retired; anything else at `from` was interrupted (or faulted).
def kind(frm, to):
    n, mn, ops = insn[frm]
    direct = re.match(r"^([0-9a-f]+) <", ops)
    if mn.startswith("call"):
        k = "call"
    elif mn.startswith("ret"):
        k = "return"
    elif mn.startswith("iret"):
        k = "iret"
    elif mn.startswith("jmp"):
        k = "jmp"
    elif mn.startswith("j") or mn.startswith("loop"):
        k = "jcc"
    elif mn in ("int", "int3", "syscall"):
        k = "int"
    else:
        return "hw int"
    if direct and int(direct[1], 16) != to:
        return "hw int"
    return k

kinds = [kind(f, t) for f, t, _ in recs]
assert kinds.count("hw int") > 10, "no interrupts or faults in the window"

# The run before record i: previous `to` up to and including the branch
# (up to, excluding, an interrupted instruction): objdump's instructions in it.
import bisect
def run(i):
    start = recs[i - 1][1]
    frm = recs[i][0]
    end = frm + insn[frm][0] if kinds[i] != "hw int" else frm
    a, b = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
    assert starts[a] == start, hex(start)
    return start, end, b - a

runs = [run(i) for i in range(1, len(recs))]

# --- folded: "frame;frame;... weight" (flamegraph.pl's input) ---
def read_folded(path):
    stacks = {}
    for l in open(path):
        m = re.match(r"^(\S+(?:;\S+)*) (\d+)$", l.rstrip("\n"))
        assert m, l
        frames = m[1].split(";")
        assert frames[0] == "[trace]", l
        assert m[1] not in stacks, "stack twice: " + l
        stacks[m[1]] = int(m[2])
    return stacks
folded = read_folded(f"{tmp}/out.folded")
names = {l.split()[2] for l in open(f"{tmp}/nm.txt") if len(l.split()) == 3}
for s in folded:
    for fr in s.split(";")[1:]:
        assert fr in names or fr == "[unknown]", "not a symbol of the guest: " + fr
assert sum(folded.values()) == sum(n for _, _, n in runs), (sum(folded.values()), sum(n for _, _, n in runs))
assert sum(read_folded(f"{tmp}/out.folded_branches").values()) == len(recs) - 1
# The divide faults: the handler (isr_stub_0, which jumps on to the common
# handler) runs in a frame above the function that faulted.
assert any(re.search(r";checked_div;isr_\w+", s) for s in folded), [s for s in folded if "checked_div" in s][:5]
# From the trace log (kinds as the tracer recorded them): the same stacks
# with the same records in each as decoded from the .bts. (Instructions
# would differ: QEMU's icount counts every iteration of a rep string
# instruction, the decoder the instruction once.)
assert read_folded(f"{tmp}/log.folded") == read_folded(f"{tmp}/out.folded_branches"), \
    "trace_task's export differs from bts_dump's"
print("folded:", len(folded), "stacks,", sum(folded.values()), "instructions")

# --- perf: perf-script(1), -F ip,sym,symoff,dso,addr,flags with --itrace=b ---
perf_re = re.compile(r"^\s*(jcc|jmp|call|return|int|iret|syscall|sysret|async|hw int|tr strt|tr end)\s+"
                     r"([0-9a-f]+) (\S+?)(?:\+0x([0-9a-f]+))? \(([^)]+)\) =>\s+([0-9a-f]+) (\S+?)(?:\+0x([0-9a-f]+))? \(([^)]+)\)$")
lines = open(f"{tmp}/out.perf").read().splitlines()
assert len(lines) == len(recs), (len(lines), len(recs))
syms = sorted((int(l.split()[0], 16), l.split()[2]) for l in open(f"{tmp}/nm.txt")
              if len(l.split()) == 3 and l.split()[1] in "tTwW")
for i, (l, (f, t, _)) in enumerate(zip(lines, recs)):
    m = perf_re.match(l)
    assert m, l
    assert int(m[2], 16) == f and int(m[6], 16) == t, l
    want = kinds[i] if kinds[i] != "int" else m[1]  # int n vs syscall: both perf names
    assert m[1] == want, (l, kinds[i])
    if i < 2000:  # symbol+offset against nm, for a sample
        j = bisect.bisect_right(syms, (f, "\xff")) - 1
        assert m[3] is not None and int(m[4] or "0", 16) == f - syms[j][0], (l, syms[j])
print("perf:", len(lines), "lines")

# --- drcov: version 2 (header, module table, "BB Table: N bbs", 8-byte entries) ---
raw = open(f"{tmp}/out.drcov", "rb").read()
head, sep, rest = raw.partition(b"BB Table: ")
assert sep, "no BB Table"
hl = head.decode().splitlines()
assert hl[0] == "DRCOV VERSION: 2" and hl[1].startswith("DRCOV FLAVOR: "), hl[:2]
m = re.match(r"Module Table: version 2, count (\d+)$", hl[2]); assert m, hl[2]
nmod = int(m[1])
assert hl[3].startswith("Columns: id, base, end"), hl[3]
mods = {}
for row in hl[4:4 + nmod]:
    c = [x.strip() for x in row.split(",")]
    mods[int(c[0])] = int(c[1], 16)
nl = rest.index(b"\n")
m = re.match(rb"(\d+) bbs$", rest[:nl]); assert m, rest[:nl]
nbb = int(m[1])
table = rest[nl + 1:]
assert len(table) == 8 * nbb, (len(table), nbb)
blocks = set()
for k in range(nbb):
    start, size, mod = struct.unpack_from("<IHH", table, 8 * k)
    blocks.add((mods[mod] + start, size))
assert len(blocks) == nbb, "a block written twice"
want = {(s, e - s) for s, e, _ in runs if e > s}
assert blocks == want, (len(blocks), len(want), sorted(blocks - want)[:5], sorted(want - blocks)[:5])
print("drcov:", nbb, "blocks, exactly the runs between records")

# --- perfetto: Chrome trace event format ---
j = json.load(open(f"{tmp}/out.perfetto"))
depth, last, begins = 0, -1, 0
for e in j["traceEvents"]:
    assert e["ts"] >= last, e
    last = e["ts"]
    if e["ph"] == "B":
        depth += 1; begins += 1
        assert e["name"] in names or e["name"] == "[unknown]", e
    else:
        assert e["ph"] == "E", e
        depth -= 1
        assert depth >= 0, "an end without a begin"
assert depth == 0 and begins > 100, (depth, begins)
print("perfetto:", begins, "slices, balanced")

# --- perfetto-proto: protobuf wire format (varint keys, length-delimited
# fields) of perfetto/trace/trace.proto: Trace.packet = 1; TracePacket
# timestamp = 8, track_event = 11, track_descriptor = 60; TrackEvent type =
# 9 (1 begin, 2 end), track_uuid = 11, name = 23 ---
def pb(b):
    i, out = 0, []
    def varint():
        nonlocal i
        v, shift = 0, 0
        while True:
            c = b[i]; i += 1
            v |= (c & 0x7f) << shift; shift += 7
            if not c & 0x80:
                return v
    while i < len(b):
        k = varint()
        if k & 7 == 0:
            out.append((k >> 3, varint()))
        else:
            assert k & 7 == 2, k
            n = varint(); out.append((k >> 3, b[i:i + n])); i += n
    return out
proto_events = []
for field, packet in pb(open(f"{tmp}/out.perfetto-proto", "rb").read()):
    assert field == 1
    p = dict(pb(packet))
    if 60 in p:
        continue
    ev = dict(pb(p[11]))
    proto_events.append(("B", ev[23].decode(), p[8]) if ev[9] == 1 else ("E", None, p[8]))
json_events = [(e["ph"], e.get("name"), e["ts"]) for e in j["traceEvents"]]
assert proto_events == json_events, "the protobuf trace has other slices than the JSON one"
print("perfetto-proto: the same", len(proto_events), "events as the JSON trace")
PY
cat "$TMP/py.out"

# Bad input: one line, exit 2.
expect_exit 2 "the formats are folded, perf, drcov, perfetto, perfetto-proto" bts_dump --format flame -e "$ELF" "$TMP/win.bts"
expect_exit 2 "needs symbol files" bts_dump --format folded "$TMP/win.bts"
nm "$ELF" >"$TMP/System.map"
expect_exit 2 "needs the code" bts_dump --format folded -e "$TMP/System.map" "$TMP/win.bts"
expect_exit 2 "not with --symbols" bts_dump --format perf --symbols -e "$ELF" "$TMP/win.bts"
expect_exit 2 "an option of --format folded" bts_dump --weight bytes "$TMP/win.bts"
expect_exit 2 "the formats are" trace_task --format flame "$D" idt_init demo_finish
echo PASS
