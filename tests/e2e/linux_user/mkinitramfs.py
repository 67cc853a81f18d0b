#!/usr/bin/env python3
"""mkinitramfs.py OUT [DEST=SRC]...: an uncompressed newc cpio for the
user-space Linux guest, with /dev/console (so /init has a stdout) and the
files given as DEST=SRC (mode taken from SRC), their directories created."""
import os
import stat
import sys

ino = 0


def entry(out, name, mode, data=b"", rdev=(0, 0)):
    global ino
    ino += 1
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    out.write(hdr + name.encode() + b"\0")
    out.write(b"\0" * (-(len(hdr) + len(name) + 1) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    dirs = {"dev"}
    for spec in specs:
        dest = spec.split("=", 1)[0].strip("/")
        parts = dest.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with open(out_path, "wb") as out:
        for d in sorted(dirs):
            entry(out, d, stat.S_IFDIR | 0o755)
        entry(out, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        for spec in specs:
            dest, src = spec.split("=", 1)
            with open(src, "rb") as f:
                data = f.read()
            entry(out, dest.strip("/"), stat.S_IFREG | (os.stat(src).st_mode & 0o777), data)
        entry(out, "TRAILER!!!", 0)


main()
