#include "xentt/vmi/register_view.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace xentt::vmi {
namespace {

using Bits = std::vector<std::pair<int, const char*>>;

// Intel SDM vol. 3, 2.3 (cr0, cr4), 2.2.1 (efer), vol. 1, 3.4.3 (rflags).
const Bits& bits_of(Reg r) {
  static const Bits none, rflags{{0, "CF"},  {2, "PF"},  {4, "AF"},  {6, "ZF"},  {7, "SF"},  {8, "TF"}, {9, "IF"},
                                 {10, "DF"}, {11, "OF"}, {14, "NT"}, {16, "RF"}, {17, "VM"}, {18, "AC"},
                                 {19, "VIF"}, {20, "VIP"}, {21, "ID"}},
      cr0{{0, "PE"}, {1, "MP"}, {2, "EM"}, {3, "TS"}, {4, "ET"}, {5, "NE"}, {16, "WP"}, {18, "AM"}, {29, "NW"},
          {30, "CD"}, {31, "PG"}},
      cr4{{0, "VME"},  {1, "PVI"},         {2, "TSD"},  {3, "DE"},   {4, "PSE"},  {5, "PAE"},  {6, "MCE"},
          {7, "PGE"},  {8, "PCE"},         {9, "OSFXSR"}, {10, "OSXMMEXCPT"}, {11, "UMIP"}, {12, "LA57"},
          {13, "VMXE"}, {14, "SMXE"},      {16, "FSGSBASE"}, {17, "PCIDE"}, {18, "OSXSAVE"}, {20, "SMEP"},
          {21, "SMAP"}, {22, "PKE"}},
      efer{{0, "SCE"}, {8, "LME"}, {10, "LMA"}, {11, "NXE"}, {12, "SVME"}, {14, "FFXSR"}};
  switch (r) {
    case Reg::rflags: return rflags;
    case Reg::cr0: return cr0;
    case Reg::cr4: return cr4;
    case Reg::efer: return efer;
    default: return none;
  }
}

}  // namespace

std::string flag_names(Reg r, std::uint64_t value) {
  std::string out;
  for (const auto& [bit, name] : bits_of(r))
    if (value >> bit & 1) out += (out.empty() ? "" : " ") + std::string(name);
  return out;
}

std::string registers_text(const Registers& regs) {
  std::string out;
  for (Reg r : all_regs()) {
    auto v = regs.get(r);
    if (!v) continue;
    std::string meaning = bits_of(r).empty() ? fmt::format("{}", *v) : "[ " + flag_names(r, *v) + " ]";
    if (r == Reg::rip || r == Reg::rsp || r == Reg::rbp || r == Reg::cr3 || r == Reg::cr2 || r == Reg::fs_base ||
        r == Reg::gs_base || r == Reg::kernel_gs_base || r == Reg::idtr_base || r == Reg::gdtr_base)
      meaning = fmt::format("{:#x}", *v);  // addresses: decimal says nothing
    out += fmt::format("{:<15}{:<19}{}\n", reg_name(r), fmt::format("{:#x}", *v), meaning);
  }
  return out;
}

nlohmann::json registers_json(const Registers& regs) {
  nlohmann::json j = nlohmann::json::object();
  for (Reg r : all_regs())
    if (auto v = regs.get(r)) j[std::string(reg_name(r))] = fmt::format("{:#x}", *v);
  return j;
}

}  // namespace xentt::vmi
