// Helpers of xen_pt_decoder_test.cc: Intel PT packet streams made with
// libipt's own encoder for a path through real code, and the branch records
// that path must give, both computed from the demo guest's disassembly
// (objdump) and never from the decoder under test.
//
// The oracle is a small walker over objdump's listing: it starts at an
// address and steps instruction by instruction; at a conditional branch a
// policy says taken or not (a TNT bit), a direct jump or call goes where its
// operand says (no packet), an indirect branch, a far transfer or a return
// with no call of its own on the walker's stack goes to the next of a list
// of targets (a TIP packet), a return whose call it saw pops its stack (a
// compressed return: a TNT bit, or a TIP when compression is off), and an
// interrupt can be injected before any address (FUP + TIP). Every taken
// transfer is an expected record. The stream opens like a VM entry after a
// PSB+ (PSB, PSBEND, MODE.exec 64-bit, TIP.PGE), or as a PSB+ in the middle
// of running trace (PSB, MODE.exec, FUP, PSBEND), and closes like a VM exit
// (FUP, TIP.PGD).
#pragma once

#include <elf.h>
#include <intel-pt.h>
#include <stdio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xentt/tracefmt/bts_record.h"

namespace xentt::test {

// One instruction of objdump's listing, classified as the walker needs.
struct Insn {
  enum Kind { Other, Cond, Jump, Call, IndirectJump, IndirectCall, Ret, Far };
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
  Kind kind = Other;
  std::uint64_t target = 0;  // Cond, Jump, Call
  std::string text;          // as objdump prints it, for messages
  std::uint64_t next() const { return addr + len; }
};

// `objdump -d` of an ELF: its instructions by address and its function
// symbols by name. Runs objdump once (a second or less for the demo guest).
class Disasm {
 public:
  explicit Disasm(const std::string& elf) {
    FILE* p = ::popen(("objdump -d --insn-width=16 " + elf + " 2>/dev/null").c_str(), "r");
    if (!p) throw std::runtime_error("cannot run objdump");
    std::string out;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (::pclose(p) != 0 || out.empty()) throw std::runtime_error("objdump -d " + elf + " failed");
    std::istringstream in(out);
    std::string line, function;
    while (std::getline(in, line)) parse(line, function);
  }

  bool has(const std::string& name) const { return symbols_.count(name) != 0; }
  std::uint64_t sym(const std::string& name) const {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) throw std::runtime_error("no symbol " + name + " in the disassembly");
    return it->second;
  }
  const Insn& at(std::uint64_t addr) const {
    auto it = insns_.find(addr);
    if (it == insns_.end()) throw std::runtime_error(fmt::format("no instruction at {:#x}", addr));
    return it->second;
  }
  // The instructions of function `name`, in address order.
  std::vector<Insn> function(const std::string& name) const {
    std::vector<Insn> out;
    for (auto it = insns_.find(sym(name)); it != insns_.end() && owner_.at(it->first) == name; ++it) out.push_back(it->second);
    return out;
  }
  // The first instruction of `fn` that `pred` accepts.
  Insn find(const std::string& fn, const std::function<bool(const Insn&)>& pred) const {
    for (const Insn& i : function(fn))
      if (pred(i)) return i;
    throw std::runtime_error("the demo guest's " + fn + " has no such instruction (did the guest change?)");
  }
  // "function+0xoff" for messages.
  std::string name(std::uint64_t addr) const {
    auto it = insns_.upper_bound(addr);
    if (it == insns_.begin()) return fmt::format("{:#x}", addr);
    --it;
    if (addr - it->first > 16) return fmt::format("{:#x}", addr);
    const std::string& fn = owner_.at(it->first);
    return fmt::format("{:#x} <{}+{:#x}>", addr, fn, addr - symbols_.at(fn));
  }

 private:
  void parse(const std::string& line, std::string& function) {
    // "0000000000100e40 <isr_dispatch>:"
    if (line.size() > 19 && line[16] == ' ' && line[17] == '<' && line.back() == ':') {
      function = line.substr(18, line.size() - 20);
      symbols_[function] = std::stoull(line.substr(0, 16), nullptr, 16);
      return;
    }
    // "  1013cc:\t76 44                \tjbe    101412 <prime_count_reference+0x52>"
    auto colon = line.find(":\t");
    if (colon == std::string::npos || function.empty()) return;
    auto tab = line.find('\t', colon + 2);
    if (tab == std::string::npos) return;
    Insn i;
    i.addr = std::stoull(line.substr(0, colon), nullptr, 16);
    std::istringstream bytes(line.substr(colon + 2, tab - colon - 2));
    i.len = static_cast<std::uint64_t>(std::distance(std::istream_iterator<std::string>(bytes), {}));
    i.text = line.substr(tab + 1);
    classify(i);
    insns_[i.addr] = i;
    owner_[i.addr] = function;
  }

  static void classify(Insn& i) {
    static const std::set<std::string> prefixes = {"rep", "repz", "repnz", "repe", "repne", "lock", "cs", "ds",
                                                   "es", "ss", "fs", "gs", "notrack", "bnd", "data16", "addr32"};
    std::istringstream in(i.text);
    std::string m;
    while (in >> m && (prefixes.count(m) || m.starts_with("rex"))) {
    }
    std::string operand;
    in >> operand;
    auto direct = [&] {
      i.target = std::stoull(operand, nullptr, 16);
    };
    if (m == "call" || m == "callq") {
      if (operand.starts_with("*")) {
        i.kind = Insn::IndirectCall;
      } else {
        i.kind = Insn::Call;
        direct();
      }
    } else if (m == "jmp" || m == "jmpq") {
      if (operand.starts_with("*")) {
        i.kind = Insn::IndirectJump;
      } else {
        i.kind = Insn::Jump;
        direct();
      }
    } else if ((m.starts_with("j") && m != "jmp") || m.starts_with("loop")) {
      i.kind = Insn::Cond;
      direct();
    } else if (m == "ret" || m == "retq") {
      i.kind = Insn::Ret;
    } else if (m == "iretq" || m == "iret" || m == "lret" || m == "lretq" || m == "syscall" || m == "sysretq" ||
               m.starts_with("int") || m == "ljmp" || m == "lcall") {
      i.kind = Insn::Far;
    }
  }

  std::map<std::uint64_t, Insn> insns_;
  std::map<std::uint64_t, std::string> owner_;
  std::map<std::string, std::uint64_t> symbols_;
};

// The executable sections of an ELF file as guest code at their addresses:
// the code reader of the tests. Counts its calls.
class ElfCode {
 public:
  explicit ElfCode(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    file_.assign(std::istreambuf_iterator<char>(f), {});
    Elf64_Ehdr eh;
    if (file_.size() < sizeof eh) throw std::runtime_error(path + ": not an ELF file");
    std::memcpy(&eh, file_.data(), sizeof eh);
    for (unsigned k = 0; k < eh.e_shnum; k++) {
      Elf64_Shdr sh;
      std::memcpy(&sh, file_.data() + eh.e_shoff + k * sizeof sh, sizeof sh);
      if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_type == SHT_PROGBITS) sections_.push_back({sh.sh_addr, sh.sh_size, sh.sh_offset});
    }
  }
  std::size_t read(std::uint64_t vaddr, std::span<std::uint8_t> out) {
    calls++;
    for (const auto& s : sections_) {
      if (vaddr >= s.addr && vaddr - s.addr < s.size) {
        std::size_t n = std::min<std::uint64_t>(out.size(), s.addr + s.size - vaddr);
        std::memcpy(out.data(), file_.data() + s.offset + (vaddr - s.addr), n);
        return n;
      }
    }
    return 0;
  }
  std::uint64_t calls = 0;

 private:
  struct Section {
    std::uint64_t addr, size, offset;
  };
  std::vector<char> file_;
  std::vector<Section> sections_;
};

// A stream of packets written with libipt's encoder (pt_enc_next).
class PacketWriter {
 public:
  PacketWriter() : buf_(1 << 20) {
    pt_config config;
    pt_config_init(&config);
    config.begin = buf_.data();
    config.end = buf_.data() + buf_.size();
    enc_ = pt_alloc_encoder(&config);
    if (!enc_) throw std::runtime_error("pt_alloc_encoder failed");
  }
  ~PacketWriter() { pt_free_encoder(enc_); }
  PacketWriter(const PacketWriter&) = delete;
  PacketWriter& operator=(const PacketWriter&) = delete;

  // Where the next packet starts.
  std::uint64_t offset() const {
    std::uint64_t off = 0;
    pt_enc_get_offset(enc_, &off);
    return off;
  }
  void psb_plus() {
    put(ppt_psb);
    put(ppt_psbend);
  }
  void psb_plus_enabled(std::uint64_t ip) {  // a PSB+ while tracing: where it is, and the mode
    put(ppt_psb);
    pt_packet p{};
    p.type = ppt_mode;
    p.payload.mode.leaf = pt_mol_exec;
    p.payload.mode.bits.exec = pt_set_exec_mode(ptem_64bit);
    put(p);
    put_ip(ppt_fup, ip);
    put(ppt_psbend);
  }
  void enable(std::uint64_t ip) {  // a VM entry: the mode, then tracing on at ip
    pt_packet p{};
    p.type = ppt_mode;
    p.payload.mode.leaf = pt_mol_exec;
    p.payload.mode.bits.exec = pt_set_exec_mode(ptem_64bit);
    put(p);
    put_ip(ppt_tip_pge, ip);
  }
  void disable_at(std::uint64_t ip) {  // a VM exit before executing ip
    flush_tnt();
    put_ip(ppt_fup, ip);
    pt_packet p{};
    p.type = ppt_tip_pgd;
    p.payload.ip.ipc = pt_ipc_suppressed;
    put(p);
  }
  void disable_at_branch() {  // tracing off at the next branch, its target not given (TIP.PGD, IP suppressed)
    flush_tnt();
    pt_packet p{};
    p.type = ppt_tip_pgd;
    p.payload.ip.ipc = pt_ipc_suppressed;
    put(p);
  }
  void tnt(bool taken) {
    tnt_.push_back(taken);
    if (tnt_.size() == 6) flush_tnt();
  }
  void tip(std::uint64_t ip) {
    flush_tnt();
    put_ip(ppt_tip, ip);
  }
  void interrupt(std::uint64_t from, std::uint64_t to) {
    flush_tnt();
    put_ip(ppt_fup, from);
    put_ip(ppt_tip, to);
  }
  void flush_tnt() {
    if (tnt_.empty()) return;
    pt_packet p{};
    p.type = ppt_tnt_8;
    p.payload.tnt.bit_size = static_cast<std::uint8_t>(tnt_.size());
    for (bool b : tnt_) p.payload.tnt.payload = p.payload.tnt.payload << 1 | (b ? 1 : 0);  // first branch: highest bit
    tnt_.clear();
    put(p);
  }
  std::vector<std::uint8_t> bytes() const { return {buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(offset())}; }
  // Packet start offsets, in order (for a test that damages one).
  const std::vector<std::uint64_t>& packet_offsets() const { return offsets_; }

 private:
  void put(pt_packet_type t) {
    pt_packet p{};
    p.type = t;
    put(p);
  }
  void put_ip(pt_packet_type t, std::uint64_t ip) {
    pt_packet p{};
    p.type = t;
    p.payload.ip.ipc = pt_ipc_sext_48;
    p.payload.ip.ip = ip;
    put(p);
  }
  void put(const pt_packet& p) {
    offsets_.push_back(offset());
    if (int err = pt_enc_next(enc_, &p); err < 0) throw std::runtime_error(std::string("pt_enc_next: ") + pt_errstr(pt_errcode(err)));
  }

  std::vector<std::uint8_t> buf_;
  pt_encoder* enc_ = nullptr;
  std::vector<bool> tnt_;
  std::vector<std::uint64_t> offsets_;
};

// A path through the code, as the walker takes it.
struct Path {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;  // the guest stops before executing this address (a VM exit)
  // Taken or not, for the conditional branch at `insn` met for the `visit`-th time (0-based).
  std::function<bool(const Insn& insn, unsigned visit)> taken = [](const Insn&, unsigned) { return false; };
  std::vector<std::uint64_t> targets;          // indirect branches, far transfers, returns without a traced call
  std::map<std::uint64_t, std::uint64_t> interrupts;  // before executing the key: an interrupt to the value
  bool compress_returns = true;
  bool enabled_at_psb = false;  // the stream starts at a PSB+ of running trace (FUP), not at a VM entry (TIP.PGE)
  // A PSB+ of running trace whenever this many bytes were written since the
  // last (0: none), as the CPU inserts them (IA32_RTIT_CTL.PSBFreq). The
  // CPU forgets its calls for return compression there, and so do we.
  std::uint64_t psb_every = 0;
  unsigned max_steps = 200000;
};

struct Walk {
  std::vector<std::uint8_t> packets;
  std::vector<std::uint64_t> packet_offsets;
  std::vector<bts::Record> records;  // the expected ones
  unsigned taken = 0, not_taken = 0; // conditional branches met
};

inline Walk walk(const Disasm& dis, const Path& path) {
  PacketWriter w;
  Walk out;
  if (path.enabled_at_psb) {
    w.psb_plus_enabled(path.start);
  } else {
    w.psb_plus();
    w.enable(path.start);
  }
  std::vector<std::uint64_t> stack;  // return addresses of the calls seen
  std::size_t compressible = 0;      // stack entries below this were pushed before the last PSB
  std::uint64_t last_psb = 0;
  std::map<std::uint64_t, unsigned> visits;
  std::set<std::uint64_t> interrupted;
  std::size_t next_target = 0;
  auto target = [&](const Insn& i) {
    if (next_target == path.targets.size()) throw std::runtime_error("the path has no target left for " + dis.name(i.addr) + ": " + i.text);
    return path.targets[next_target++];
  };
  auto record = [&](std::uint64_t from, std::uint64_t to) { out.records.push_back(bts::Record{from, to, 0}); };
  std::uint64_t ip = path.start;
  for (unsigned step = 0;; step++) {
    if (step == path.max_steps) throw std::runtime_error("the path does not reach its stop address");
    if (ip == path.stop) {
      w.disable_at(ip);
      break;
    }
    if (path.psb_every && w.offset() - last_psb >= path.psb_every) {
      w.flush_tnt();
      last_psb = w.offset();
      w.psb_plus_enabled(ip);
      compressible = stack.size();
    }
    if (auto it = path.interrupts.find(ip); it != path.interrupts.end() && interrupted.insert(ip).second) {
      w.interrupt(ip, it->second);
      record(ip, it->second);
      ip = it->second;
      continue;
    }
    const Insn& i = dis.at(ip);
    switch (i.kind) {
      case Insn::Other:
        ip = i.next();
        break;
      case Insn::Cond: {
        const bool t = path.taken(i, visits[i.addr]++);
        w.tnt(t);
        (t ? out.taken : out.not_taken)++;
        if (t) record(i.addr, i.target);
        ip = t ? i.target : i.next();
        break;
      }
      case Insn::Jump:
        record(i.addr, i.target);
        ip = i.target;
        break;
      case Insn::Call:
        record(i.addr, i.target);
        stack.push_back(i.next());
        ip = i.target;
        break;
      case Insn::IndirectCall:
      case Insn::IndirectJump:
      case Insn::Far: {
        const std::uint64_t t = target(i);
        w.tip(t);
        record(i.addr, t);
        if (i.kind == Insn::IndirectCall) stack.push_back(i.next());
        ip = t;
        break;
      }
      case Insn::Ret: {
        std::uint64_t t;
        if (!stack.empty()) {
          t = stack.back();
          stack.pop_back();
          const bool call_seen = stack.size() >= compressible;
          compressible = std::min(compressible, stack.size());
          if (path.compress_returns && call_seen) {
            w.tnt(true);
          } else {
            w.tip(t);
          }
        } else {
          t = target(i);
          w.tip(t);
        }
        record(i.addr, t);
        ip = t;
        break;
      }
    }
  }
  out.packets = w.bytes();
  out.packet_offsets = w.packet_offsets();
  return out;
}

}  // namespace xentt::test
