"""elf_code.py: the executable PT_LOAD segments of an ELF file, read from
its program headers with struct (not with our code), for the checks of
tests/e2e/trace_linux_user.sh. Run as a program: FILE's first executable
segment's p_vaddr, in decimal."""
import struct, sys

def exec_segments(path):
    """[(p_vaddr, p_memsz)] of the file's executable loadable segments."""
    e = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", e, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", e, 0x36)
    out = []
    for i in range(phnum):
        t, flags, _, vaddr, _, _, memsz = struct.unpack_from("<IIQQQQQ", e, phoff + i * phentsize)
        if t == 1 and flags & 1:
            out.append((vaddr, memsz))
    if not out:
        raise SystemExit("%s: no executable segment" % path)
    return out

if __name__ == "__main__":
    print(exec_segments(sys.argv[1])[0][0])
