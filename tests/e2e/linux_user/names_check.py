#!/usr/bin/env python3
"""names_check.py NAMED.txt BTS CODE ROOT VDSO: every record of a window of
the Linux user-space trace has a name, and the names of its user-space
addresses agree with llvm-symbolizer's.

NAMED.txt is `trace_task -S`'s print of the window (one line a record, the
records of BTS); CODE the guest's own lines "code RUN LO HI OBJECT" (where
each run's program, ld.so, libc and vDSO put their code, from
dl_iterate_phdr in the guest); ROOT the host tree of the guest's files
(/init too); VDSO the kernel's vdso64.so debug file. For each user-space
address the object comes from CODE (not from our code), the file address
from that file's executable segment, and llvm-symbolizer-14 names it in
that file (its outermost frame: the function the code is in); ours must agree (symbol-table aliases and clone suffixes count as
one name) on >= 99.9% of the distinct addresses llvm-symbolizer names.
Addresses in PLT entries (llvm-symbolizer gives them the name of the
symbol before the PLT) must be named as objdump labels them (NAME@plt).
"""
import re, struct, subprocess, sys, collections
from elf_code import exec_segments

named, bts, code, root, vdso = sys.argv[1:]

ranges = []  # (lo, hi, host file, file address of lo)
for line in open(code):
    _, run, lo, hi, obj = line.split()
    host = vdso if obj.startswith("linux-vdso") else root + obj
    ranges.append((int(lo, 16), int(hi, 16), host, exec_segments(host)[0][0]))
init = root + "/init"  # static and not PIE: where it is linked
for vaddr, memsz in exec_segments(init):
    ranges.append((vaddr, vaddr + memsz, init, vaddr))

b = open(bts, "rb").read()
records = [struct.unpack_from("<2Q", b, 24 * i) for i in range(1, len(b) // 24)]
line_re = re.compile(r"^(\d+): (\S+) -> (\S+) \(brctr \d+\)$")
raw = re.compile(r"^0x[0-9a-f]+$")
unnamed, n, ours = [], 0, {}  # ours: (file, file address) -> our name
for line in open(named):
    m = line_re.match(line.rstrip("\n"))
    if not m:
        continue
    i = int(m.group(1))
    for addr, name in zip(records[i], (m.group(2), m.group(3))):
        hit = [r for r in ranges if r[0] <= addr < r[1]] if not addr >> 47 else []
        if raw.match(name):
            unnamed.append((i, hex(addr), (hit[0][2], addr - hit[0][0] + hit[0][3]) if hit else None))
            continue
        if hit:
            lo, _, host, fa = hit[0]
            ours[(host, addr - lo + fa)] = name.rsplit("+0x", 1)[0]
    n += 1
print("%d records printed, %d in the .bts" % (n, len(records)))
ok = n == len(records)
# An address no symbol covers (padding after a function, reached by a
# fault's record) has no name in llvm-symbolizer either: allowed, and shown.
def llvm_name(host, fa):
    out = subprocess.run(["llvm-symbolizer-14", "--obj=" + host, "--inlines", "--functions=linkage", hex(fa)],
                         capture_output=True, text=True).stdout.strip().split("\n")
    return out[-2] if len(out) >= 2 else "??"
if len(unnamed) > 50:
    print("%d addresses print without a name, e.g. record %d %s" % (len(unnamed), unnamed[0][0], unnamed[0][1]))
    ok = False
for i, a, where in unnamed[:50]:
    theirs = llvm_name(*where) if where else None
    print("record %d: %s prints without a name; llvm-symbolizer: %s" % (i, a, theirs if where else "(not user code)"))
    ok = ok and theirs == "??"

def nm_starts(path):
    out = subprocess.run(["nm", "-n", path], capture_output=True, text=True).stdout
    if "no symbols" in out or not out.strip():
        out = subprocess.run(["nm", "-n", "-D", path], capture_output=True, text=True).stdout
    starts = {}
    for l in out.splitlines():
        p = l.split()
        if len(p) == 3:
            starts.setdefault(re.sub(r"@.*", "", p[2]), int(p[0], 16))
    return starts

CLONE = re.compile(r"(\.(isra|constprop|part|cold|localalias)(\.\d+)?|\.\d+)+$")
by_file = collections.defaultdict(list)
for (host, fa) in ours:
    by_file[host].append(fa)
def plt_labels(path):
    # objdump's labels of the PLT entries (BFD's synthetic symbols: NAME@plt), by start address
    out = subprocess.run(["objdump", "-d", "-j", ".plt", "-j", ".plt.sec", "-j", ".plt.got", path],
                         capture_output=True, text=True).stdout
    return sorted((int(m.group(1), 16), m.group(2)) for m in re.finditer(r"^([0-9a-f]+) <(.+)>:$", out, re.M))

agree = named_by_llvm = plt = plt_agree = 0
bad = []
for host, addrs in by_file.items():
    addrs.sort()
    out = subprocess.run(["llvm-symbolizer-14", "--obj=" + host, "--inlines", "--functions=linkage"] +
                         [hex(a) for a in addrs], capture_output=True, text=True).stdout.split("\n\n")
    # llvm-symbolizer finds a stripped file's debug file by build-id; nm is given that file too
    dbg = subprocess.run(["readelf", "-n", host], capture_output=True, text=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", dbg)
    starts = nm_starts(host)
    if bid:
        try:
            starts.update(nm_starts("/usr/lib/debug/.build-id/%s/%s.debug" % (bid.group(1)[:2], bid.group(1)[2:])))
        except Exception:
            pass
    labels = plt_labels(host)
    for a, block in zip(addrs, out):
        if ours[(host, a)].endswith("@plt") or ours[(host, a)] == ".plt":
            # llvm-symbolizer names a PLT entry after the symbol before the PLT (_init): objdump is the reference
            lab = [l for s0, l in labels if s0 <= a]
            plt += 1
            # objdump labels the lazy PLT's first entry after the next one: <free@plt-0x10>
            same = bool(lab) and (lab[-1] == ours[(host, a)] or (ours[(host, a)] == ".plt" and lab[-1].endswith("@plt-0x10")))
            plt_agree += same
            if not same:
                bad.append((host, hex(a), ours[(host, a)], "objdump " + (lab[-1] if lab else "nothing")))
            continue
        frames = block.strip().split("\n")  # innermost first: function, file:line for each frame
        theirs = frames[-2] if len(frames) >= 2 else "??"  # the outermost: the function the code is in
        if theirs == "??":
            continue
        named_by_llvm += 1
        mine = re.sub(r"@@?GLIBC.*", "", ours[(host, a)])  # .symtab's versioned names (nm prints them so too)
        same = CLONE.sub("", mine) == CLONE.sub("", theirs) or (
            mine in starts and theirs in starts and starts[mine] == starts[theirs])
        agree += same
        if not same:
            bad.append((host, hex(a), mine, theirs))
rate = agree / named_by_llvm if named_by_llvm else 0
print("user-space addresses: %d distinct in %d files; llvm-symbolizer names %d, ours agree on %d (%.4f); "
      "%d in PLT entries, named as objdump labels them: %d" % (len(ours), len(by_file), named_by_llvm, agree, rate, plt,
                                                              plt_agree))
for x in bad[:5]:
    print("  disagree: %s %s ours %s, llvm-symbolizer %s" % x)
if named_by_llvm < 1000 or rate < 0.999 or plt == 0 or plt_agree != plt:
    ok = False
sys.exit(0 if ok else 1)
