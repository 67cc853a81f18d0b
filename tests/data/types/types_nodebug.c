/* types_nodebug.c: linked into the types fixture without -g, so its DWARF
 * knows `unsized_text` only from types_fixture.c's `extern const char
 * unsized_text[]` (no length), as a vmlinux knows linux_banner; the ELF
 * symbol's size (12) gives the length. */
const char unsized_text[] = "eleven char";
