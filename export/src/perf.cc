// Lines as `perf script --itrace=b -F ip,sym,symoff,dso,addr,flags` prints
// an Intel PT trace's branches (perf-script(1), the flags field), so that
// scripts written for those read ours:
//   FLAGS  IP SYM+0xOFF (DSO) =>  ADDR SYM+0xOFF (DSO)
#include <fmt/format.h>

#include <cstring>
#include <unordered_map>

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

// "IP SYM+0xOFF (DSO)" of each address, formatted once: traces revisit
// the same few thousand addresses millions of times.
class Locations {
 public:
  Locations(sym::Symbolizer& s, const CodeImage& c) : symbols_(s), code_(c) {}
  void append(std::string& out, std::uint64_t addr) {
    auto it = cache_.find(addr);
    if (it == cache_.end()) {
      if (cache_.size() > (1u << 20)) cache_.clear();  // bounded on traces of many addresses
      it = cache_.emplace(addr, format(addr)).first;
    }
    out += it->second;
  }

 private:
  std::string format(std::uint64_t addr) {
    std::string out = fmt::format("{:16x} ", addr);
    symbols_.resolve(addr, {}, r_);
    if (r_.symbol.empty()) {
      out += "[unknown]";
    } else {
      out.append(r_.prefix);
      out.append(r_.symbol);
      fmt::format_to(std::back_inserter(out), "+0x{:x}", r_.offset);
    }
    int m = code_.module_of(addr);
    out += " (";
    out += m < 0 ? "[unknown]" : code_.modules()[std::size_t(m)].path;
    out += ')';
    return out;
  }
  sym::Symbolizer& symbols_;
  const CodeImage& code_;
  sym::Resolved r_;
  std::unordered_map<std::uint64_t, std::string> cache_;
};

}  // namespace

void write_perf(Context& c) {
  Walker w(c.trace, c.code, c.report);
  Buffer b(c.out);
  Locations loc(c.symbols, c.code);
  Step s;
  while (w.next(s)) {
    const char* flags = perf_flags(s);
    b.buf += "  ";
    b.buf += flags;
    b.buf.append(std::strlen(flags) < 15 ? 16 - std::strlen(flags) : 1, ' ');
    loc.append(b.buf, s.from);
    b.buf += " => ";
    loc.append(b.buf, s.to);
    b.buf += '\n';
    b.maybe_flush();
  }
  b.flush();
}

}  // namespace xentt::exports
