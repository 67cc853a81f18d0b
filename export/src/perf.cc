// Lines as `perf script --itrace=b -F ip,sym,symoff,dso,addr,flags` prints
// an Intel PT trace's branches (perf-script(1), the flags field), so that
// scripts written for those read ours:
//   FLAGS  IP SYM+0xOFF (DSO) =>  ADDR SYM+0xOFF (DSO)
#include <fmt/format.h>

#include "writers.h"

namespace xentt::exports {
namespace {

using xtl::BranchKind;

// perf's names for its flag combinations (perf-script(1), -F flags).
const char* perf_flags(const Step& s) {
  switch (s.kind) {
    case BranchKind::CondJump: return "jcc";
    case BranchKind::Call: case BranchKind::IndirectCall: return "call";
    case BranchKind::Return: return "return";
    case BranchKind::Interrupt: return "hw int";
    case BranchKind::Exception: return "int";
    case BranchKind::SoftInterrupt: return s.system ? "syscall" : "int";
    case BranchKind::EventReturn: return s.system ? "sysret" : "iret";
    default: return "jmp";
  }
}

void append_location(std::string& out, std::uint64_t addr, sym::Symbolizer& symbols, const CodeImage& code,
                     sym::Resolved& r) {
  symbols.resolve(addr, {}, r);
  fmt::format_to(std::back_inserter(out), "{:16x} ", addr);
  if (r.symbol.empty()) {
    out += "[unknown]";
  } else {
    out.append(r.prefix);
    out.append(r.symbol);
    fmt::format_to(std::back_inserter(out), "+0x{:x}", r.offset);
  }
  int m = code.module_of(addr);
  out += " (";
  out += m < 0 ? "[unknown]" : code.modules()[std::size_t(m)].path;
  out += ')';
}

}  // namespace

void write_perf(Context& c) {
  Walker w(c.trace, c.code, c.report);
  Buffer b(c.out);
  sym::Resolved r;
  Step s;
  while (w.next(s)) {
    fmt::format_to(std::back_inserter(b.buf), "  {:<15} ", perf_flags(s));
    append_location(b.buf, s.from, c.symbols, c.code, r);
    b.buf += " => ";
    append_location(b.buf, s.to, c.symbols, c.code, r);
    b.buf += '\n';
    b.maybe_flush();
  }
  b.flush();
}

}  // namespace xentt::exports
