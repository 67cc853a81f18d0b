#!/usr/bin/env python3
"""check_layers.py: no library includes a header of a library above it.

The layers (docs/architecture.md), each a folder, and what each may include:

    base       nothing of ours
    symbolize  base
    tracefmt   base
    export     symbolize, tracefmt, base    (trace exports: never the session or an engine)
    vm         base
    vm/qemu    vm, tracefmt, base          (engine qemu, its plugin included)
    vm/xen     vm, tracefmt, base          (engine xen, its vmtrace/PT part included)
    vmi        vm, symbolize, base         (never an engine)
    session    vmi, vm, symbolize, tracefmt, base   (never an engine)
    debug      session, vmi, vm, symbolize, tracefmt, base   (the gdb server; never an engine)
    tools, tests, bench: anything

A header's layer is read off how it is included: "xentt/LAYER/..." is a
public header of LAYER, "LAYER/src/..." or an engine's "vm/qemu/...",
"vm/xen/..." a private one (only its own layer may include those), a bare
name one of the includer's own folder. Prints one line per violation, FILE:LINE and both layers, and
exits 1 if there is any.

Usage: check_layers.py [SOURCE_DIR]      check the tree
       check_layers.py --self-test        check that violations are caught
"""
import os
import re
import sys
import tempfile

ALLOWED = {
    "base": set(),
    "symbolize": {"base"},
    "tracefmt": {"base"},
    "export": {"symbolize", "tracefmt", "base"},
    "vm": {"base"},
    "vm/qemu": {"vm", "tracefmt", "base"},
    "vm/xen": {"vm", "tracefmt", "base"},
    "vmi": {"vm", "symbolize", "base"},
    "session": {"vmi", "vm", "symbolize", "tracefmt", "base"},
    "debug": {"session", "vmi", "vm", "symbolize", "tracefmt", "base"},
}
LIBRARY_DIRS = ["vm/qemu", "vm/xen", "base", "symbolize", "tracefmt", "export", "vmi", "vm", "session", "debug"]  # longest prefix first
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of_file(rel):
    for d in LIBRARY_DIRS:
        if rel.startswith(d + "/"):
            return d
    return None


def layer_of_header(spelled, includer_layer):
    """(layer, private) of an included header, or (None, False) if not ours."""
    m = re.match(r"xentt/(base|symbolize|tracefmt|export|vmi|vm|session|debug)/", spelled)
    if m:
        return m.group(1), False
    for engine in ("vm/qemu", "vm/xen"):
        if spelled.startswith(engine + "/"):
            return engine, True
    m = re.match(r"(base|symbolize|tracefmt|export|vmi|vm|session|debug)/src/", spelled)
    if m:
        return m.group(1), True
    if "/" not in spelled:
        return includer_layer, True  # beside the includer
    return None, False


def check(root):
    problems = []
    for d in LIBRARY_DIRS:
        top = os.path.join(root, d)
        for dirpath, _, files in os.walk(top):
            for f in files:
                if not f.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                me = layer_of_file(rel)
                if me != d:
                    continue  # engine files are walked under "vm" too
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        other, private = layer_of_header(m.group(1), me)
                        if other is None or other == me:
                            continue
                        if private:
                            problems.append(f"{rel}:{n}: {me} includes {m.group(1)}, a private header of {other}")
                        elif other not in ALLOWED[me]:
                            problems.append(f"{rel}:{n}: {me} includes {m.group(1)} of {other}, "
                                            f"which is not below it ({me} may use: {', '.join(sorted(ALLOWED[me])) or 'nothing'})")
    return problems


def self_test():
    """A tree with one violation of each kind must give exactly those."""
    cases = {
        "base/src/a.cc": '#include "xentt/session/state_dir.h"\n',       # upward
        "symbolize/src/b.cc": '#include "xentt/tracefmt/trace_log.h"\n',  # sideways
        "session/src/c.cc": '#include "vm/qemu/qemu_files.h"\n',          # an engine's private header
        "tracefmt/src/d.cc": '#include "symbolize/src/dwarf_unit.h"\n',   # another layer's private header
        "export/src/f.cc": '#include "xentt/vm/target.h"\n',              # sideways: exports read files, not VMs
        "vm/qemu/e.cc": '#include "xentt/session/location.h"\n',          # upward: an engine includes the session
        "vm/xen/f.cc": '#include "vm/qemu/qemu_files.h"\n',               # sideways: one engine's private header in another
        "session/src/g.cc": '#include "vm/xen/pt_decoder.h"\n',            # the session names engine xen
        "session/src/ok.cc": '#include "xentt/vm/engine.h"\n#include "xentt/base/error.h"\n#include "own.h"\n',
        "vm/qemu/plugin/ok.cc": '#include "protocol.h"\n#include "xentt/tracefmt/trace_log.h"\n',
        "vm/xen/ok.cc": '#include "pt_decoder.h"\n#include "xentt/tracefmt/bts_record.h"\n#include "xentt/vm/target.h"\n',
    }
    with tempfile.TemporaryDirectory() as t:
        for rel, text in cases.items():
            os.makedirs(os.path.dirname(os.path.join(t, rel)), exist_ok=True)
            with open(os.path.join(t, rel), "w") as fh:
                fh.write(text)
        found = sorted(p.split(":")[0] for p in check(t))
    want = sorted(["base/src/a.cc", "symbolize/src/b.cc", "session/src/c.cc", "tracefmt/src/d.cc", "vm/qemu/e.cc",
                   "vm/xen/f.cc", "session/src/g.cc", "export/src/f.cc"])
    if found != want:
        print(f"self-test: found violations in {found}, want {want}")
        return 1
    print(f"self-test: {len(want)} planted violations caught, the clean files passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) against the layering (docs/architecture.md)")
        return 1
    print("layering: every include points downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
